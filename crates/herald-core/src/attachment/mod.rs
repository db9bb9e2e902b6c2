//! Saving attachments safely: file-name sanitising and create-new saving.
//!
//! Attachment names come from hostile mail. A name may try to leave the
//! folder the user picked (`../../.bashrc`, `C:\Windows\x.dll`,
//! `\\server\share\x`), hide its real extension behind a bidi override
//! (`invoice\u{202E}gpj.exe`), name a Windows device (`CON.txt`), or be long
//! enough to fail on every file system. Saving is done in two steps so that
//! each can be tested on its own:
//!
//! 1. [`sanitize_filename`] turns whatever the message says into one plain,
//!    bounded file name (it never fails: a useless name becomes
//!    `attachment.<ext>`);
//! 2. [`save_new_file`] streams the body (computing its size and SHA-256)
//!    into a temporary file created exclusively inside the target folder,
//!    fsyncs it and renames it to that name without replacing anything, so it
//!    never overwrites, never follows a symlink planted at the final path, and
//!    never shows a half-written file under the final name.

mod filename;
mod save;

pub use filename::{MAX_FILENAME_BYTES, extension_for_mime_type, sanitize_filename};
pub use save::{
    MAX_DUPLICATE_ATTEMPTS, SaveError, SavedFile, WRITE_BUFFER_BYTES, save_new_file,
    save_new_file_bytes,
};
