//! Saving attachments safely: file-name sanitising and create-new saving.
//! (Temporary stub; the real module lands from the `attach` branch.)

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a file went.
pub struct SavedFile {
    /// Final path.
    pub path: PathBuf,
    /// Bytes written.
    pub size_bytes: u64,
    /// SHA-256 hex.
    pub sha256_hex: String,
}

/// Saving failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot save")]
pub struct SaveError;

/// Stub.
pub fn sanitize_filename(raw_name: Option<&str>, _content_type: &str) -> String {
    raw_name.unwrap_or("attachment.bin").to_owned()
}

/// Stub.
pub fn save_new_file(
    _target_dir: &Path,
    _name: &str,
    _write_body: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<SavedFile, SaveError> {
    Err(SaveError)
}
