//! `herald save-attachments FILE.eml --to DIR [--index N]... [--include-inline]`.

use std::path::PathBuf;

use clap::Args;
use herald_core::message::Message;
use serde::Serialize;

use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The message file (.eml).
    pub file: PathBuf,
    /// The folder to save into (created if missing). Nothing is written outside it.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Save only attachment N (as numbered by `herald show`); repeatable.
    #[arg(long = "index", value_name = "N")]
    pub indexes: Vec<usize>,
    /// Also save images shown inside the HTML body.
    #[arg(long)]
    pub include_inline: bool,
}

#[derive(Serialize)]
struct SavedJson {
    index: usize,
    path: PathBuf,
    size: u64,
    sha256: String,
}

pub fn run(args: SaveArgs) -> CliResult {
    let message = Message::from_file(&args.file)?;
    for &index in &args.indexes {
        if index == 0 || index > message.attachments.len() {
            return Err(CliError(format!(
                "there is no attachment {index} (the message has {})",
                message.attachments.len()
            )));
        }
    }
    let chosen = message.attachments.iter().filter(|attachment| {
        if args.indexes.is_empty() {
            args.include_inline || !attachment.inline
        } else {
            args.indexes.contains(&attachment.index)
        }
    });
    let mut saved = Vec::new();
    for attachment in chosen {
        let file = message.save_attachment(attachment, &args.to)?;
        saved.push(SavedJson {
            index: attachment.index,
            path: file.path,
            size: file.size_bytes,
            sha256: file.sha256_hex,
        });
    }
    println!("{}", serde_json::to_string_pretty(&saved)?);
    Ok(())
}
