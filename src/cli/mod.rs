//! The command-line interface, on the same core as the window.

mod account;
mod compose;
mod demo;
mod mail;
mod save;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Herald: a fast, safe POP3/SMTP mail client.
///
/// With no subcommand, opens the window.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about, long_about = None)]
pub struct Cli {
    /// Keep all configuration and data under DIR (overrides HERALD_HOME).
    #[arg(long, global = true, value_name = "DIR")]
    pub profile: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a message file as a reader would see it.
    Show(show::ShowArgs),
    /// Save a message's attachments into a folder.
    SaveAttachments(save::SaveArgs),
    /// Write a new message to a file (without sending it).
    Compose(Box<compose::ComposeArgs>),
    /// Manage accounts: add, list, remove, test.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Send a message file, or compose and send one.
    Send(Box<mail::SendArgs>),
    /// Get new mail from the POP3 server(s).
    Fetch(mail::FetchArgs),
    /// List the messages stored locally.
    List(mail::ListArgs),
    /// Move stored messages to Trash (from Trash: delete them for good).
    Delete(mail::DeleteArgs),
    /// List what is on an account's POP3 server, downloading nothing.
    ServerList(mail::ServerListArgs),
    /// Work with messages waiting to be sent.
    #[command(subcommand)]
    Outbox(mail::OutboxCommand),
    /// Try Herald on a demo mailbox (servers on this computer, no account).
    Demo(demo::DemoArgs),
}

/// Parses the command line and runs it; errors print one line on stderr.
pub fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return crate::app::run(cli.profile);
    };
    let result = match command {
        Command::Show(args) => show::run(args),
        Command::SaveAttachments(args) => save::run(args),
        Command::Compose(args) => compose::run(*args),
        Command::Account(cmd) => account::run(cli.profile, cmd),
        Command::Send(args) => mail::send(cli.profile, *args),
        Command::Fetch(args) => mail::fetch(cli.profile, args),
        Command::List(args) => mail::list(cli.profile, args),
        Command::ServerList(args) => mail::server_list(cli.profile, args),
        Command::Delete(args) => mail::delete(cli.profile, args),
        Command::Outbox(cmd) => mail::outbox(cli.profile, cmd),
        Command::Demo(args) => match demo::run(cli.profile, args) {
            Ok(code) => return code,
            Err(err) => Err(err),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herald: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `herald list | head` closes our stdout early; `println!` then panics.
/// Like any Unix tool, stop quietly instead (status 141 = killed by SIGPIPE).
fn exit_quietly_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
}

/// An error for the CLI: one line, already in words for a person.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(err: E) -> Self {
        CliError(herald_core::error::describe(&err))
    }
}

pub type CliResult = Result<(), CliError>;
