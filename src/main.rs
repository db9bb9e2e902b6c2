//! `herald`: with no arguments, opens the window; with a subcommand, runs the CLI.

mod app;
mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
