//! The egui window.

use std::path::PathBuf;
use std::process::ExitCode;

/// Opens the window.
pub fn run(_profile: Option<PathBuf>) -> ExitCode {
    ExitCode::SUCCESS
}
