//! Creating a new file for an attachment without ever overwriting anything.
//!
//! This is a user's "save as", like a browser download. What matters here is
//! that a hostile name (or a symlink planted by someone else in the download
//! folder) cannot make us write anywhere but a fresh file inside the folder
//! the user chose, and that no half-written file ever carries the final name.
//!
//! The body goes into a hidden temporary file (`.herald-XXXXXXXXXX.part`)
//! created exclusively inside the target folder, is flushed and fsynced, and
//! only then renamed to the final name, without replacing anything: a
//! no-replace rename (`renameat2(RENAME_NOREPLACE)` on Linux) or, where the
//! file system lacks it, a hard link plus unlink (both through `tempfile`'s
//! `persist_noclobber`). A name created by someone else while we were writing
//! makes us try the next numbered name. The fsync comes before the rename so
//! that a crash cannot leave an empty file under the final name (delayed
//! allocation). On any failure, and on a panic in the caller's closure, the
//! temporary file is removed.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Classify, ErrorKind};

/// Size of the write buffer between the caller's chunks and the file.
///
/// Attachments are often tens of megabytes and bodies are decoded in small
/// chunks (base64 lines); a large buffer turns those into few system calls.
pub const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// How many numbered alternatives (` (1)` … ` (9999)`) are tried when the
/// name is taken, before giving up.
///
/// Bounded so that a folder full of same-named files cannot make a save loop
/// for ever; 9999 copies of one name is already far beyond real use.
pub const MAX_DUPLICATE_ATTEMPTS: u32 = 9999;

/// Where a saved attachment went, and what was written.
///
/// The size and hash are of the bytes that reached the file, so the UI can
/// show them and tests (or a cautious user) can check the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFile {
    /// The file that was created: the canonical target folder joined with
    /// the name actually used (which may carry a ` (n)` suffix).
    pub path: PathBuf,
    /// Number of bytes written.
    pub size_bytes: u64,
    /// SHA-256 of the bytes written, as 64 lowercase hex digits.
    pub sha256_hex: String,
}

/// Why an attachment could not be saved.
///
/// Every variant except [`SaveError::InvalidName`] means nothing is left on
/// disk from this attempt (the temporary file is removed), apart from a
/// folder that `create_dir_all` may have created.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The name given is not a single plain file name (it has a separator,
    /// is `.`/`..`, is empty or contains NUL). Callers must run
    /// [`super::sanitize_filename`] first; this is a second line of defence.
    #[error("attachment name is not a plain file name: {name:?}")]
    InvalidName {
        /// The refused name, exactly as given.
        name: String,
    },
    /// The target folder could not be created or resolved.
    #[error("could not open the folder to save into: {}", path.display())]
    TargetDir {
        /// The underlying I/O failure.
        #[source]
        source: io::Error,
        /// The folder as given by the caller.
        path: PathBuf,
    },
    /// Creating the temporary file, or giving it its final name, failed for
    /// a reason other than the name being taken (permissions, read-only file
    /// system, name too long…).
    #[error("could not create the file: {}", path.display())]
    Create {
        /// The underlying I/O failure.
        #[source]
        source: io::Error,
        /// The file we tried to create.
        path: PathBuf,
    },
    /// The name and all its numbered alternatives are taken.
    #[error(
        "could not find a free file name for {name:?} after {attempts} numbered attempts in {}",
        dir.display()
    )]
    NoFreeName {
        /// The name the numbered alternatives were derived from.
        name: String,
        /// How many numbered alternatives were tried.
        attempts: u32,
        /// The canonical target folder.
        dir: PathBuf,
    },
    /// The created file did not resolve to a file directly inside the target
    /// folder (the folder was swapped for a symlink while saving); the file
    /// was removed.
    #[error("the new file was not inside the folder {}: {}", dir.display(), path.display())]
    OutsideTargetDir {
        /// The canonical target folder.
        dir: PathBuf,
        /// Where the file actually resolved to, or the path created if it
        /// could not be resolved.
        path: PathBuf,
    },
    /// The disk (or the user's quota) is full; the temporary file was removed.
    /// Its own variant so the UI can say "free some space" instead of
    /// showing an errno.
    #[error("could not save the attachment because the disk is full: {}", path.display())]
    DiskFull {
        /// The underlying I/O failure (ENOSPC, EDQUOT or the platform's
        /// equivalent).
        #[source]
        source: io::Error,
        /// The file the body was meant for (nothing was left under any name).
        path: PathBuf,
    },
    /// Writing the body failed, either in the file or in the caller's
    /// closure (e.g. decoding the part); the temporary file was removed.
    #[error("could not write the attachment to {}", path.display())]
    Write {
        /// The underlying I/O failure.
        #[source]
        source: io::Error,
        /// The file the body was meant for (nothing was left under any name).
        path: PathBuf,
    },
}

impl Classify for SaveError {
    fn kind(&self) -> ErrorKind {
        match self {
            SaveError::InvalidName { .. } => ErrorKind::Input,
            SaveError::TargetDir { .. }
            | SaveError::Create { .. }
            | SaveError::NoFreeName { .. }
            | SaveError::OutsideTargetDir { .. }
            | SaveError::DiskFull { .. }
            | SaveError::Write { .. } => ErrorKind::Storage,
        }
    }
}

/// Saves an attachment as a new file named `sanitized_name` in `target_dir`,
/// streaming the body from `write_body`.
///
/// - `target_dir` is created if missing and canonicalised, so the returned
///   path is absolute and free of symlinks in the folder part.
/// - `sanitized_name` must be one plain file name (use
///   [`super::sanitize_filename`]); anything else is refused with
///   [`SaveError::InvalidName`] before touching the disk.
/// - The body is written to a hidden temporary file in `target_dir`, created
///   with create-new semantics (`O_CREAT | O_EXCL`, which never follows a
///   symlink), flushed and fsynced, then renamed to the final name without
///   replacing anything. The final name is never visible before the file is
///   complete.
/// - Nothing is ever overwritten: if the name is taken (before or while the
///   body is written), ` (1)`, ` (2)`… up to [`MAX_DUPLICATE_ATTEMPTS`] are
///   tried before the last extension (`report (1).pdf`, `archive.tar (1).gz`,
///   `README (1)`).
/// - `write_body` receives a buffered writer and may write in chunks of any
///   size. If it (or a write, the fsync or the rename) fails, or it panics,
///   the temporary file is removed and the error names the file the body
///   was meant for.
pub fn save_new_file(
    target_dir: &Path,
    sanitized_name: &str,
    write_body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<SavedFile, SaveError> {
    save_with_attempt_limit(
        target_dir,
        sanitized_name,
        MAX_DUPLICATE_ATTEMPTS,
        write_body,
    )
}

/// [`save_new_file`] for a body that is already in memory.
pub fn save_new_file_bytes(
    target_dir: &Path,
    sanitized_name: &str,
    bytes: &[u8],
) -> Result<SavedFile, SaveError> {
    save_new_file(target_dir, sanitized_name, &mut |writer| {
        writer.write_all(bytes)
    })
}

/// The start of the temporary file's name: hidden on Unix, and recognisable
/// as ours if a crash ever leaves one behind.
const TEMP_PREFIX: &str = ".herald-";

/// The end of the temporary file's name.
const TEMP_SUFFIX: &str = ".part";

/// [`save_new_file`] with the number of numbered alternatives as a
/// parameter, so tests can exhaust it cheaply.
fn save_with_attempt_limit(
    target_dir: &Path,
    sanitized_name: &str,
    max_attempts: u32,
    write_body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<SavedFile, SaveError> {
    if !is_single_plain_name(sanitized_name) {
        return Err(SaveError::InvalidName {
            name: sanitized_name.to_owned(),
        });
    }
    let dir = fs::create_dir_all(target_dir)
        .and_then(|()| fs::canonicalize(target_dir))
        .map_err(|source| SaveError::TargetDir {
            source,
            path: target_dir.to_owned(),
        })?;
    let names = Candidates::new(sanitized_name, max_attempts);
    // The name the file will most likely get, for errors before the rename:
    // the first one free now (the rename decides, without replacing).
    let Some(first_free) = names.first_free(&dir) else {
        return Err(names.exhausted(&dir));
    };
    let intended = dir.join(names.name(first_free));

    // From here on we own a temporary file: dropping `temp` (an early
    // return, or a panic in `write_body`) removes it.
    let mut temp = create_temp(&dir, &intended)?;
    check_inside(&dir, temp.path())?;
    let (size_bytes, sha256_hex) = fill_file(&mut temp, &intended, write_body)?;

    for attempt in first_free..=max_attempts {
        let path = dir.join(names.name(attempt));
        match temp.persist_noclobber(&path) {
            Ok(_file) => {
                if let Err(error) = check_inside(&dir, &path) {
                    // The rename did not replace anything, so this is ours.
                    let _ = fs::remove_file(&path);
                    return Err(error);
                }
                sync_dir(&dir);
                return Ok(SavedFile {
                    path,
                    size_bytes,
                    sha256_hex,
                });
            }
            Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => {
                // Taken meanwhile: try the next name.
                temp = error.file;
            }
            Err(error) => {
                let source = error.error;
                // `error.file` is dropped here, which removes it.
                return Err(if is_disk_full(&source) {
                    SaveError::DiskFull { source, path }
                } else {
                    SaveError::Create { source, path }
                });
            }
        }
    }
    Err(names.exhausted(&dir))
}

/// True if `name` is exactly one normal path component on this platform and
/// contains neither separator on any platform.
fn is_single_plain_name(name: &str) -> bool {
    // `\` is a separator on Windows only; refuse it everywhere so a name
    // accepted here is accepted on every platform. NUL would make the OS call
    // fail with a confusing error.
    if name.contains(['/', '\\', '\0']) {
        return false;
    }
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(only)), None) if only == OsStr::new(name)
    )
}

/// `name`, then its numbered alternatives.
struct Candidates<'a> {
    name: &'a str,
    stem: &'a str,
    extension: &'a str,
    max_attempts: u32,
}

impl<'a> Candidates<'a> {
    fn new(name: &'a str, max_attempts: u32) -> Self {
        let (stem, extension) = split_last_extension(name);
        Candidates {
            name,
            stem,
            extension,
            max_attempts,
        }
    }

    /// The name for `attempt` (0 is the name itself).
    fn name(&self, attempt: u32) -> String {
        if attempt == 0 {
            self.name.to_owned()
        } else {
            format!("{} ({attempt}){}", self.stem, self.extension)
        }
    }

    /// The first attempt whose name has no entry in `dir` (of any kind,
    /// including a dangling symlink) right now.
    fn first_free(&self, dir: &Path) -> Option<u32> {
        (0..=self.max_attempts).find(|attempt| {
            matches!(
                fs::symlink_metadata(dir.join(self.name(*attempt))),
                Err(error) if error.kind() == io::ErrorKind::NotFound
            )
        })
    }

    fn exhausted(&self, dir: &Path) -> SaveError {
        SaveError::NoFreeName {
            name: self.name.to_owned(),
            attempts: self.max_attempts,
            dir: dir.to_owned(),
        }
    }
}

/// Creates the temporary file in `dir` (exclusively, with a random name);
/// errors name `intended`, the file the user is waiting for.
fn create_temp(dir: &Path, intended: &Path) -> Result<NamedTempFile, SaveError> {
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .rand_bytes(10);
    // tempfile makes files private (0600); a saved attachment gets the
    // permissions any new file gets (0666 less the umask), as before.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir).map_err(|source| {
        let path = intended.to_owned();
        if is_disk_full(&source) {
            SaveError::DiskFull { source, path }
        } else {
            SaveError::Create { source, path }
        }
    })
}

/// Checks that `path` resolves to an entry directly inside the canonical
/// folder `dir`. `path` is `dir` joined with a single normal name, so this
/// only fails if the folder was replaced (by a symlink) while saving.
fn check_inside(dir: &Path, path: &Path) -> Result<(), SaveError> {
    let resolved = fs::canonicalize(path).map_err(|_| SaveError::OutsideTargetDir {
        dir: dir.to_owned(),
        path: path.to_owned(),
    })?;
    if resolved.parent() != Some(dir) {
        return Err(SaveError::OutsideTargetDir {
            dir: dir.to_owned(),
            path: resolved,
        });
    }
    Ok(())
}

/// Splits `report.pdf` into (`report`, `.pdf`); a name without a dot, or
/// whose only dot is the first character, has no extension.
fn split_last_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    }
}

/// Streams the body into the temporary file, flushes and fsyncs it. Returns
/// the size and SHA-256 (hex) of what was written; errors name `intended`.
fn fill_file(
    temp: &mut NamedTempFile,
    intended: &Path,
    write_body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<(u64, String), SaveError> {
    let mut writer = BufWriter::with_capacity(
        WRITE_BUFFER_BYTES,
        crate::digest::HashingWriter::new(temp.as_file_mut()),
    );
    let written = write_body(&mut writer).and_then(|()| writer.flush());
    let result = match written {
        Ok(()) => {
            // The buffer is empty after a successful flush.
            let (hashing, _empty_buffer) = writer.into_parts();
            Ok(hashing.finish())
        }
        Err(source) => {
            // Drop the buffer without the flush `BufWriter::drop` would try:
            // the file is about to be removed anyway.
            drop(writer.into_parts());
            Err(source)
        }
    };
    result
        .and_then(|digest| temp.as_file().sync_all().map(|()| digest))
        .map_err(|source| {
            let path = intended.to_owned();
            if is_disk_full(&source) {
                SaveError::DiskFull { source, path }
            } else {
                SaveError::Write { source, path }
            }
        })
}

/// Makes the new name durable too (best effort: the file's own data is
/// already synced, and not every system can sync a folder).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(folder) = fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// True for "no space left" errors, which the user can fix by freeing space.
fn is_disk_full(error: &io::Error) -> bool {
    // std maps ENOSPC and Windows' ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL
    // to StorageFull, and EDQUOT to QuotaExceeded.
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed step should fail the test")]
mod tests {
    use super::*;
    use crate::attachment::sanitize_filename;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn independent_sha256_hex(bytes: &[u8]) -> String {
        crate::digest::sha256_hex(bytes)
    }

    #[test]
    fn attachment_name_cannot_leave_target_dir() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("downloads");
        let hostile = [
            "../../etc/passwd",
            "..\\..\\escape.txt",
            "/etc/shadow",
            "C:\\Windows\\System32\\evil.dll",
            "\\\\server\\share\\x.txt",
            "..",
            ".",
            "",
            "../",
            "sub/../../../up.txt",
        ];
        for raw in hostile {
            let name = sanitize_filename(Some(raw), "application/octet-stream");
            let saved = save_new_file_bytes(&target, &name, raw.as_bytes()).unwrap();
            assert_eq!(
                saved.path.parent(),
                Some(fs::canonicalize(&target).unwrap().as_path()),
                "{raw:?} went to {}",
                saved.path.display()
            );
        }
        assert_eq!(names_in(root.path()), vec!["downloads"]);
        assert_eq!(names_in(&target).len(), hostile.len());
    }

    #[test]
    fn duplicate_names_get_numbered_suffixes_instead_of_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let first = save_new_file_bytes(dir.path(), "report.pdf", b"first").unwrap();
        let second = save_new_file_bytes(dir.path(), "report.pdf", b"second").unwrap();
        let third = save_new_file_bytes(dir.path(), "report.pdf", b"third").unwrap();
        assert!(first.path.ends_with("report.pdf"));
        assert!(second.path.ends_with("report (1).pdf"));
        assert!(third.path.ends_with("report (2).pdf"));
        assert_eq!(fs::read(&first.path).unwrap(), b"first");
        assert_eq!(fs::read(&second.path).unwrap(), b"second");
        assert_eq!(fs::read(&third.path).unwrap(), b"third");
    }

    #[test]
    fn duplicate_suffix_goes_before_the_last_extension_or_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["archive.tar.gz", "README", "_CON.txt"] {
            save_new_file_bytes(dir.path(), name, b"x").unwrap();
            save_new_file_bytes(dir.path(), name, b"x").unwrap();
        }
        assert_eq!(
            names_in(dir.path()),
            vec![
                "README",
                "README (1)",
                "_CON (1).txt",
                "_CON.txt",
                "archive.tar (1).gz",
                "archive.tar.gz",
            ]
        );
    }

    #[test]
    fn existing_directory_with_the_same_name_is_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("photos.zip")).unwrap();
        let saved = save_new_file_bytes(dir.path(), "photos.zip", b"zip").unwrap();
        assert!(saved.path.ends_with("photos (1).zip"));
        assert!(dir.path().join("photos.zip").is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn planted_symlink_is_not_followed_and_not_overwritten() {
        let root = tempfile::tempdir().unwrap();
        let outside = root.path().join("outside");
        let target = root.path().join("downloads");
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(&target).unwrap();
        let victim = outside.join("authorized_keys");
        fs::write(&victim, b"original").unwrap();
        std::os::unix::fs::symlink(&victim, target.join("notes.txt")).unwrap();
        // A dangling link would make a plain `create` write a new file
        // outside the folder.
        let dangling = outside.join("not-yet-there");
        std::os::unix::fs::symlink(&dangling, target.join("run.sh")).unwrap();

        let saved = save_new_file_bytes(&target, "notes.txt", b"attack").unwrap();
        assert!(saved.path.ends_with("notes (1).txt"));
        assert_eq!(fs::read(&saved.path).unwrap(), b"attack");
        assert_eq!(fs::read(&victim).unwrap(), b"original");
        assert!(
            fs::symlink_metadata(target.join("notes.txt"))
                .unwrap()
                .file_type()
                .is_symlink()
        );

        let saved = save_new_file_bytes(&target, "run.sh", b"#!/bin/sh").unwrap();
        assert!(saved.path.ends_with("run (1).sh"));
        assert!(!dangling.exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_target_dir_is_resolved_and_saved_path_is_canonical() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let saved = save_new_file_bytes(&link, "a.txt", b"a").unwrap();
        assert_eq!(saved.path, fs::canonicalize(&real).unwrap().join("a.txt"));
    }

    #[test]
    fn failing_writer_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut calls = 0;
        let error = save_new_file(dir.path(), "big.iso", &mut |writer| {
            // More than the buffer, so part of it really reached the file.
            for _ in 0..5 {
                writer.write_all(&[7u8; 100_000])?;
                calls += 1;
            }
            Err(io::Error::other("base64 decoding failed"))
        })
        .unwrap_err();
        assert_eq!(calls, 5);
        assert!(matches!(error, SaveError::Write { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Storage);
        let message = error.to_string();
        assert!(message.ends_with("big.iso"), "{message}");
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn failing_writer_on_a_numbered_name_removes_only_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        save_new_file_bytes(dir.path(), "a.txt", b"keep me").unwrap();
        let error = save_new_file(dir.path(), "a.txt", &mut |writer| {
            writer.write_all(b"partial")?;
            Err(io::Error::other("connection lost"))
        })
        .unwrap_err();
        assert!(error.to_string().ends_with("a (1).txt"), "{error}");
        assert_eq!(names_in(dir.path()), vec!["a.txt"]);
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"keep me");
    }

    #[test]
    fn panicking_writer_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            save_new_file(dir.path(), "x.bin", &mut |writer| {
                writer.write_all(b"some bytes")?;
                panic!("decoder bug");
            })
        }));
        assert!(result.is_err());
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn full_disk_is_reported_as_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = save_new_file(dir.path(), "video.mp4", &mut |writer| {
            writer.write_all(b"frames")?;
            Err(io::Error::from(io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        assert!(matches!(error, SaveError::DiskFull { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Storage);
        assert!(error.to_string().contains("the disk is full"), "{error}");
        assert!(error.to_string().ends_with("video.mp4"), "{error}");
        assert!(names_in(dir.path()).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn enospc_from_the_os_counts_as_a_full_disk() {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        assert!(is_disk_full(&io::Error::from_raw_os_error(ENOSPC)));
        assert!(is_disk_full(&io::Error::from_raw_os_error(EDQUOT)));
        assert!(!is_disk_full(&io::Error::from_raw_os_error(5))); // EIO
    }

    #[test]
    fn bytes_and_sha256_round_trip_through_chunked_writes() {
        let dir = tempfile::tempdir().unwrap();
        // 3 MiB + a bit of non-repeating data, written in uneven chunks that
        // straddle the 256 KiB buffer.
        let body: Vec<u8> = (0u32..3 * 1024 * 1024 + 12_345)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let chunk_sizes = [1usize, 76, 4096, 300_000, 262_144, 7, 1_000_000];
        let saved = save_new_file(dir.path(), "data.bin", &mut |writer| {
            let mut rest = body.as_slice();
            for size in chunk_sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                writer.write_all(chunk)?;
                rest = tail;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(fs::read(&saved.path).unwrap(), body);
        assert_eq!(saved.size_bytes, body.len() as u64);
        assert_eq!(saved.sha256_hex, independent_sha256_hex(&body));
    }

    #[test]
    fn empty_body_saves_an_empty_file_with_the_empty_hash() {
        let dir = tempfile::tempdir().unwrap();
        let saved = save_new_file_bytes(dir.path(), "empty.txt", b"").unwrap();
        assert_eq!(saved.size_bytes, 0);
        assert_eq!(
            saved.sha256_hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(fs::read(&saved.path).unwrap(), b"");
    }

    #[test]
    fn names_that_are_not_one_plain_component_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("not-created");
        for name in [
            "a/b", "../x", "/abs", "x/", "", ".", "..", "a\0b", "a\\b", "./a", "//",
        ] {
            let error = save_new_file_bytes(&target, name, b"x").unwrap_err();
            assert!(
                matches!(&error, SaveError::InvalidName { name: refused } if refused == name),
                "{name:?}: {error:?}"
            );
            assert_eq!(error.kind(), ErrorKind::Input);
        }
        // Refused before touching the disk.
        assert!(!target.exists());
    }

    #[test]
    fn missing_target_dir_is_created() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("a").join("b").join("c");
        let saved = save_new_file_bytes(&target, "x.txt", b"hello").unwrap();
        assert!(target.is_dir());
        assert_eq!(fs::read(saved.path).unwrap(), b"hello");
    }

    #[test]
    fn target_dir_that_is_a_file_is_a_storage_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        let not_a_dir = root.path().join("file");
        fs::write(&not_a_dir, b"").unwrap();
        let error = save_new_file_bytes(&not_a_dir, "x.txt", b"x").unwrap_err();
        assert!(matches!(error, SaveError::TargetDir { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Storage);
        assert!(error.to_string().ends_with("file"), "{error}");
        assert!(std::error::Error::source(&error).is_some());
    }

    #[test]
    fn running_out_of_numbered_names_is_an_error_not_an_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..4 {
            save_with_attempt_limit(dir.path(), "x.txt", 3, &mut |w| w.write_all(b"old")).unwrap();
        }
        let error = save_with_attempt_limit(dir.path(), "x.txt", 3, &mut |w| w.write_all(b"new"))
            .unwrap_err();
        assert!(
            matches!(error, SaveError::NoFreeName { attempts: 3, .. }),
            "{error:?}"
        );
        assert_eq!(
            names_in(dir.path()),
            vec!["x (1).txt", "x (2).txt", "x (3).txt", "x.txt"]
        );
        for name in names_in(dir.path()) {
            assert_eq!(fs::read(dir.path().join(name)).unwrap(), b"old");
        }
    }

    #[test]
    fn the_final_name_appears_only_when_the_file_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen_while_writing = Vec::new();
        let saved = save_new_file(dir.path(), "big.iso", &mut |writer| {
            writer.write_all(&[1u8; 300_000])?;
            writer.flush()?;
            seen_while_writing = names_in(dir.path());
            writer.write_all(&[2u8; 300_000])
        })
        .unwrap();
        // While writing, only a hidden temporary file exists, with bytes in it.
        assert_eq!(seen_while_writing.len(), 1, "{seen_while_writing:?}");
        let temp = &seen_while_writing[0];
        assert!(
            temp.starts_with(TEMP_PREFIX) && temp.ends_with(TEMP_SUFFIX),
            "{temp}"
        );
        assert_ne!(temp, "big.iso");
        // After: the final name only, complete; no temporary file left.
        assert_eq!(names_in(dir.path()), vec!["big.iso"]);
        assert_eq!(fs::metadata(&saved.path).unwrap().len(), 600_000);
        assert_eq!(saved.size_bytes, 600_000);
    }

    #[test]
    fn a_file_created_under_the_name_while_writing_is_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let saved = save_new_file(dir.path(), "report.pdf", &mut |writer| {
            // Another program (or a second save) takes the name meanwhile.
            fs::File::create_new(dir.path().join("report.pdf"))?.write_all(b"theirs")?;
            writer.write_all(b"ours")
        })
        .unwrap();
        assert!(saved.path.ends_with("report (1).pdf"), "{saved:?}");
        assert_eq!(fs::read(dir.path().join("report.pdf")).unwrap(), b"theirs");
        assert_eq!(fs::read(&saved.path).unwrap(), b"ours");
        assert_eq!(names_in(dir.path()), vec!["report (1).pdf", "report.pdf"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_the_name_while_writing_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("downloads");
        fs::create_dir(&target).unwrap();
        let victim = root.path().join("victim");
        fs::write(&victim, b"original").unwrap();
        let saved = save_new_file(&target, "notes.txt", &mut |writer| {
            std::os::unix::fs::symlink(&victim, target.join("notes.txt"))?;
            writer.write_all(b"attack")
        })
        .unwrap();
        assert!(saved.path.ends_with("notes (1).txt"));
        assert_eq!(fs::read(&victim).unwrap(), b"original");
        assert!(
            fs::symlink_metadata(target.join("notes.txt"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn names_all_taken_while_writing_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let error = save_with_attempt_limit(dir.path(), "x.txt", 2, &mut |writer| {
            for name in ["x.txt", "x (1).txt", "x (2).txt"] {
                fs::write(dir.path().join(name), b"theirs")?;
            }
            writer.write_all(b"ours")
        })
        .unwrap_err();
        assert!(
            matches!(error, SaveError::NoFreeName { attempts: 2, .. }),
            "{error:?}"
        );
        assert_eq!(
            names_in(dir.path()),
            vec!["x (1).txt", "x (2).txt", "x.txt"]
        );
        for name in names_in(dir.path()) {
            assert_eq!(fs::read(dir.path().join(name)).unwrap(), b"theirs");
        }
    }

    #[test]
    fn a_full_disk_midway_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("keep.bin"), b"keep").unwrap();
        let error = save_new_file(dir.path(), "video.mp4", &mut |writer| {
            // Past the buffer, so the temporary file really holds bytes.
            writer.write_all(&[0u8; WRITE_BUFFER_BYTES + 1])?;
            writer.flush()?;
            Err(io::Error::from(io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        assert!(matches!(error, SaveError::DiskFull { .. }), "{error:?}");
        assert_eq!(names_in(dir.path()), vec!["keep.bin"]);
    }

    #[test]
    fn the_saved_file_gets_ordinary_permissions_not_private_temp_ones() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let saved = save_new_file_bytes(dir.path(), "a.txt", b"a").unwrap();
            let mode = fs::metadata(&saved.path).unwrap().permissions().mode() & 0o777;
            // What `File::create` gives under this process's umask.
            let probe = dir.path().join("probe");
            fs::File::create(&probe).unwrap();
            let expected = fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, expected);
        }
    }

    #[test]
    fn error_messages_are_lowercase_without_period_and_end_with_the_path() {
        let path = PathBuf::from("/home/u/Downloads/x.pdf");
        let errors = [
            SaveError::Write {
                source: io::Error::other("boom"),
                path: path.clone(),
            },
            SaveError::DiskFull {
                source: io::Error::from(io::ErrorKind::StorageFull),
                path: path.clone(),
            },
            SaveError::Create {
                source: io::Error::from(io::ErrorKind::PermissionDenied),
                path: path.clone(),
            },
            SaveError::OutsideTargetDir {
                dir: PathBuf::from("/home/u/Downloads"),
                path: path.clone(),
            },
        ];
        for error in errors {
            let message = error.to_string();
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(message.ends_with("/home/u/Downloads/x.pdf"), "{message}");
            assert!(!message.contains("boom"), "cause repeated: {message}");
        }
    }
}
