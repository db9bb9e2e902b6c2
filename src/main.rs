//! `herald`: with no arguments, opens the window; with a subcommand, runs the CLI.

use std::process::ExitCode;

fn main() -> ExitCode {
    herald::cli::main()
}
