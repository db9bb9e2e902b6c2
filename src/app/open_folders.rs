//! Temporary folders for attachments opened with the system's program.
//!
//! "Open" saves the attachment into a fresh private folder
//! (`herald-open-XXXXXX` in the system's temporary folder) and hands the file
//! to the program the system picks. That program may read the file after we
//! return, so the folder cannot go when the job ends: [`OpenFolders`]
//! remembers this session's folders and removes them when the window closes
//! ([`OpenFolders::remove_at_exit`]). Folders left by a session that crashed
//! or was killed are removed at the next start-up once they are a day old
//! and owned by this user ([`OpenFolders::remove_stale_in_background`]).
//! Both run off the UI thread. The saved file is made read-only, so an
//! editor warns before someone edits a copy that will be removed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// How every such folder's name starts.
pub const FOLDER_PREFIX: &str = "herald-open-";

/// A folder from an earlier session is removed once it is this old.
pub const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How long closing the window waits for this session's folders to go (a
/// hung network file system must not keep the process alive).
pub const EXIT_WAIT: Duration = Duration::from_secs(2);

/// This session's folders for opened attachments. Cheap to clone: clones
/// share the list.
#[derive(Debug, Clone)]
pub struct OpenFolders {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    session: Mutex<Vec<PathBuf>>,
}

impl OpenFolders {
    /// Folders made under `root` (normally [`std::env::temp_dir`]).
    pub fn new(root: PathBuf) -> OpenFolders {
        OpenFolders {
            inner: Arc::new(Inner {
                root,
                session: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Where the folders are made.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Makes a new private folder (mode 0700 on Unix) and remembers it for
    /// removal at exit. Called in a job.
    pub fn create(&self) -> io::Result<PathBuf> {
        std::fs::create_dir_all(&self.inner.root)?;
        let folder = tempfile::Builder::new()
            .prefix(FOLDER_PREFIX)
            .tempdir_in(&self.inner.root)?
            .keep();
        self.session().push(folder.clone());
        Ok(folder)
    }

    /// Removes `folder` now (nothing could open its file) and forgets it.
    pub fn discard(&self, folder: &Path) {
        self.session().retain(|known| known != folder);
        remove_folder(folder);
    }

    /// This session's folders that still exist.
    pub fn session_folders(&self) -> Vec<PathBuf> {
        self.session()
            .iter()
            .filter(|folder| folder.exists())
            .cloned()
            .collect()
    }

    /// Removes this session's folders on another thread, waiting at most
    /// [`EXIT_WAIT`]: for when the window closes.
    pub fn remove_at_exit(&self) {
        let folders = std::mem::take(&mut *self.session());
        if folders.is_empty() {
            return;
        }
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("herald-open-cleanup".into())
            .spawn(move || {
                for folder in &folders {
                    remove_folder(folder);
                }
                let _ = done.send(());
            });
        if spawned.is_ok() {
            let _ = wait.recv_timeout(EXIT_WAIT);
        }
    }

    /// Removes, on another thread, folders of earlier sessions under the
    /// root that are older than `older_than` and owned by this user.
    pub fn remove_stale_in_background(&self, older_than: Duration) {
        let root = self.inner.root.clone();
        let spawned = std::thread::Builder::new()
            .name("herald-open-stale".into())
            .spawn(move || remove_stale(&root, older_than, SystemTime::now()));
        drop(spawned);
    }

    fn session(&self) -> MutexGuard<'_, Vec<PathBuf>> {
        self.inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes the `herald-open-*` folders directly under `root` that were last
/// modified more than `older_than` before `now` and are owned by this user.
/// Symlinks and files with that name are left alone. Returns how many went.
pub fn remove_stale(root: &Path, older_than: Duration, now: SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(FOLDER_PREFIX))
        {
            continue;
        }
        // `DirEntry::metadata` does not follow symlinks.
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let old_enough = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > older_than);
        if metadata.is_dir() && old_enough && owned_by_us(&metadata) {
            remove_folder(&entry.path());
            removed += 1;
        }
    }
    removed
}

#[cfg(unix)]
fn owned_by_us(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    metadata.uid() == rustix::process::geteuid().as_raw()
}

/// Elsewhere the temporary folder is the user's own (`%LOCALAPPDATA%\Temp`).
#[cfg(not(unix))]
fn owned_by_us(_metadata: &std::fs::Metadata) -> bool {
    true
}

/// Removes a folder and what is in it (never following symlinks inside);
/// files made read-only are made writable first where that matters.
fn remove_folder(folder: &Path) {
    if std::fs::remove_dir_all(folder).is_ok() {
        return;
    }
    // Windows refuses to delete read-only files.
    if let Ok(entries) = std::fs::read_dir(folder) {
        for entry in entries.flatten() {
            if let Ok(metadata) = entry.metadata()
                && metadata.is_file()
            {
                let mut permissions = metadata.permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                permissions.set_readonly(false);
                let _ = std::fs::set_permissions(entry.path(), permissions);
            }
        }
    }
    let _ = std::fs::remove_dir_all(folder);
}

/// Makes a saved file read-only, so that an editor warns before changes
/// are made to a copy that goes away when Herald closes.
pub fn make_read_only(path: &Path) {
    if let Ok(metadata) = std::fs::metadata(path) {
        let mut permissions = metadata.permissions();
        permissions.set_readonly(true);
        let _ = std::fs::set_permissions(path, permissions);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed step should fail the test")]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 60 * 60);

    fn age(path: &Path, by: Duration) {
        let when = SystemTime::now() - by;
        std::fs::File::open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }

    #[test]
    fn session_folders_are_removed_at_exit_and_others_kept() {
        let root = tempfile::tempdir().unwrap();
        let folders = OpenFolders::new(root.path().to_path_buf());
        let a = folders.create().unwrap();
        let file = a.join("report.pdf");
        std::fs::write(&file, b"pdf").unwrap();
        make_read_only(&file);
        let b = folders.create().unwrap();
        let other = root.path().join("herald-open-other-session");
        std::fs::create_dir(&other).unwrap();
        assert!(a.starts_with(root.path()) && b.starts_with(root.path()));
        assert_eq!(
            folders.clone().session_folders(),
            vec![a.clone(), b.clone()]
        );

        folders.remove_at_exit();
        assert!(!a.exists() && !b.exists());
        assert!(
            other.exists(),
            "another session's folder is not ours to remove"
        );
        assert!(folders.session_folders().is_empty());
    }

    #[test]
    fn a_discarded_folder_goes_at_once() {
        let root = tempfile::tempdir().unwrap();
        let folders = OpenFolders::new(root.path().to_path_buf());
        let a = folders.create().unwrap();
        std::fs::write(a.join("x.txt"), b"x").unwrap();
        folders.discard(&a);
        assert!(!a.exists());
        assert!(folders.session_folders().is_empty());
    }

    #[test]
    fn only_old_herald_open_folders_are_stale() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("herald-open-old");
        let fresh = root.path().join("herald-open-fresh");
        let unrelated = root.path().join("someone-else-old");
        for dir in [&old, &fresh, &unrelated] {
            std::fs::create_dir(dir).unwrap();
        }
        std::fs::write(old.join("a.pdf"), b"a").unwrap();
        make_read_only(&old.join("a.pdf"));
        let old_file = root.path().join("herald-open-a-file");
        std::fs::write(&old_file, b"f").unwrap();
        age(&old, 2 * DAY);
        age(&unrelated, 2 * DAY);
        age(&old_file, 2 * DAY);
        age(&fresh, DAY / 2);

        let removed = remove_stale(root.path(), DAY, SystemTime::now());
        assert_eq!(removed, 1);
        assert!(!old.exists());
        assert!(fresh.exists() && unrelated.exists() && old_file.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_named_like_a_folder_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let precious = root.path().join("precious");
        std::fs::create_dir(&precious).unwrap();
        std::fs::write(precious.join("keep.txt"), b"keep").unwrap();
        age(&precious, 2 * DAY);
        let link = root.path().join("herald-open-link");
        std::os::unix::fs::symlink(&precious, &link).unwrap();
        assert_eq!(remove_stale(root.path(), DAY, SystemTime::now()), 0);
        assert!(precious.join("keep.txt").exists());
    }
}
