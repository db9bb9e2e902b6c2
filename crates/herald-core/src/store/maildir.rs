//! The Maildir++ side of the store: folder layout, file names, flags in
//! names, and the file-system calls that make files durable.
//!
//! Layout (what mutt, Dovecot and Courier expect): `Maildir/{cur,new,tmp}`
//! is the Inbox; each other folder is `Maildir/.<Name>/{cur,new,tmp}` with an
//! empty `maildirfolder` file.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Flags, Folder};

/// Separates a Maildir file's unique name from its info (`:2,FLAGS`).
///
/// `:` cannot appear in Windows file names; `;` is what isync and other
/// Windows Maildir readers use there.
#[cfg(not(windows))]
pub(crate) const INFO_SEPARATOR: char = ':';
#[cfg(windows)]
pub(crate) const INFO_SEPARATOR: char = ';';

/// The "host" part of our file names. Not the machine's host name, which
/// would leak into backups and shared folders; it also lets us recognise our
/// own leftovers in `tmp/`.
pub(crate) const NAME_SUFFIX: &str = ".herald";

/// The three sub-folders of a Maildir folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subdir {
    /// Being written; never read by mail programs.
    Tmp,
    /// Delivered, not yet seen by any mail program; names carry no flags.
    New,
    /// Seen by a mail program; names carry `:2,FLAGS`.
    Cur,
}

impl Subdir {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Subdir::Tmp => "tmp",
            Subdir::New => "new",
            Subdir::Cur => "cur",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Subdir> {
        match name {
            "tmp" => Some(Subdir::Tmp),
            "new" => Some(Subdir::New),
            "cur" => Some(Subdir::Cur),
            _ => None,
        }
    }
}

/// The Maildir folder (the one holding `cur/new/tmp`) of `folder` under the
/// Maildir root.
pub(crate) fn folder_dir(maildir_root: &Path, folder: Folder) -> PathBuf {
    match folder.maildir_name() {
        None => maildir_root.to_owned(),
        Some(name) => maildir_root.join(name),
    }
}

/// `folder_dir/subdir`.
pub(crate) fn subdir_path(maildir_root: &Path, folder: Folder, subdir: Subdir) -> PathBuf {
    folder_dir(maildir_root, folder).join(subdir.as_str())
}

/// The Maildir info for `flags`: `:2,` followed by the flag letters in ASCII
/// order, as the Maildir specification requires (F flagged, R replied,
/// S seen).
pub(crate) fn info(flags: Flags) -> String {
    let mut info = String::with_capacity(6);
    info.push(INFO_SEPARATOR);
    info.push_str("2,");
    if flags.flagged {
        info.push('F');
    }
    if flags.answered {
        info.push('R');
    }
    if flags.seen {
        info.push('S');
    }
    info
}

/// Where a message with `flags` lives and under which name: a message with
/// no flag can stay in `new/` under its bare unique name; any flag needs
/// `cur/` and the info suffix.
pub(crate) fn placement(base: &str, flags: Flags) -> (Subdir, String) {
    if flags == Flags::default() {
        (Subdir::New, base.to_owned())
    } else {
        (Subdir::Cur, cur_name(base, flags))
    }
}

/// The name in `cur/` for `flags` (always with an info suffix, even `:2,`).
pub(crate) fn cur_name(base: &str, flags: Flags) -> String {
    format!("{base}{}", info(flags))
}

/// The unique part of a Maildir file name (before the info separator).
pub(crate) fn base_of(name: &str) -> &str {
    name.split_once(INFO_SEPARATOR)
        .map_or(name, |(base, _)| base)
}

/// The flags a Maildir file name carries (none for a name without info).
#[cfg(test)]
pub(crate) fn flags_of(name: &str) -> Flags {
    let letters = name
        .split_once(INFO_SEPARATOR)
        .and_then(|(_, info)| info.strip_prefix("2,"))
        .unwrap_or("");
    Flags {
        seen: letters.contains('S'),
        answered: letters.contains('R'),
        flagged: letters.contains('F'),
    }
}

/// Deliveries by this process, the `Q` part of new names.
static DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// A fresh unique name, `<secs>.M<micros>P<pid>Q<counter>.herald`
/// (the Maildir convention of time, process and per-process counter).
fn unique_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let counter = DELIVERIES.fetch_add(1, Ordering::Relaxed) + 1;
    format!(
        "{}.M{}P{}Q{}{NAME_SUFFIX}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        counter
    )
}

/// True for a name this module could have made with [`unique_name`]: only
/// such files are removed from `tmp/` at start-up, never another program's.
pub(crate) fn is_our_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(NAME_SUFFIX) else {
        return false;
    };
    let Some((secs, rest)) = stem.split_once(".M") else {
        return false;
    };
    let Some((micros, rest)) = rest.split_once('P') else {
        return false;
    };
    let Some((pid, counter)) = rest.split_once('Q') else {
        return false;
    };
    [secs, micros, pid, counter]
        .iter()
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

/// Creates a new, empty, private file in `tmp_dir` under a fresh unique name.
///
/// `create_new` never follows or reuses an existing entry; a name taken
/// (another process with a recycled pid in the same microsecond) just moves
/// on to the next counter value.
pub(crate) fn create_unique(tmp_dir: &Path) -> io::Result<(String, PathBuf, File)> {
    const ATTEMPTS: u32 = 100;
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        let name = unique_name();
        let path = tmp_dir.join(&name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => return Ok((name, path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Creates the whole tree for every folder (private to the user on Unix),
/// including Maildir++'s `maildirfolder` marker in each sub-folder.
///
/// Returns true if anything was created, so the caller can flush the
/// parent folders once.
pub(crate) fn create_tree(maildir_root: &Path) -> io::Result<bool> {
    let mut created = false;
    for folder in Folder::ALL {
        for subdir in [Subdir::Tmp, Subdir::New, Subdir::Cur] {
            created |= create_private_dir(&subdir_path(maildir_root, folder, subdir))?;
        }
        if folder.maildir_name().is_some() {
            let marker = folder_dir(maildir_root, folder).join("maildirfolder");
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&marker)
            {
                Ok(_) => created = true,
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(created)
}

/// `create_dir_all` with mode 0700 on Unix; true if `path` did not exist.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<bool> {
    if path.is_dir() {
        return Ok(false);
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)?;
    Ok(true)
}

/// Makes the entries of a folder (creations, renames, removals) durable.
///
/// On Unix a folder is flushed with `fsync` on a read-only handle. Windows
/// cannot open a folder this way and NTFS journals its metadata, so this is
/// a no-op there.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Flushes every file of the file system holding `path` in one call
/// (`syncfs(2)`), which for a batch of messages is far cheaper than one
/// `fsync` each. `Ok(false)` when the platform has no such call; the caller
/// then syncs file by file.
///
/// `syncfs` reports write-back errors only since Linux 5.8 (Debian 12 has
/// 6.1); on older kernels a failed write-back would go unnoticed, as it
/// would with `close`.
pub(crate) fn sync_file_system(path: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        let dir = File::open(path)?;
        match rustix::fs::syncfs(&dir) {
            Ok(()) => Ok(true),
            // Not supported by this file system or kernel: fall back.
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL) => Ok(false),
            Err(errno) => Err(io::Error::from(errno)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Ok(false)
    }
}

/// Opens an existing file for writing (never creating or truncating it) and
/// flushes its data and metadata.
pub(crate) fn sync_file(path: &Path) -> io::Result<()> {
    // Write access: Windows' FlushFileBuffers refuses read-only handles.
    OpenOptions::new().write(true).open(path)?.sync_all()
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// True if `path` names an existing entry (following no symlink).
pub(crate) fn exists(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}
