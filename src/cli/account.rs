//! `herald account add | list | remove`.

use std::path::PathBuf;

use clap::Subcommand;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List configured accounts.
    List,
}

pub fn run(_profile: Option<PathBuf>, _cmd: AccountCommand) -> CliResult {
    Ok(())
}
