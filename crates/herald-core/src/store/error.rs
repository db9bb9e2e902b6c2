//! Why a store operation failed.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Classify, ErrorKind};

/// The cause of an index failure, without naming the SQLite binding in our
/// public API (the UI only ever sees its text through `source()`).
pub type IndexCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
///
/// Every failure of an operation that writes leaves nothing of it behind: no
/// message file, no row, no UIDL counted as downloaded (see the module docs
/// for the one exception, when even the clean-up fails and the next start
/// completes the operation instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A UIDL is not 1–70 printable ASCII characters (RFC 1939 §7). It is
    /// shown escaped and cut to 80 characters.
    #[error("invalid UIDL from the server: {uidl}")]
    InvalidUidl {
        /// The refused UIDL, escaped (`{:?}`) and shortened.
        uidl: String,
    },
    /// The message with this UIDL is already stored (or is being stored, or
    /// appears twice in one batch): storing it again would duplicate it.
    #[error("message {uidl:?} is already downloaded")]
    AlreadyDownloaded {
        /// The UIDL.
        uidl: String,
    },
    /// A staged file was added to a batch other than the one that created
    /// it (it would land in another folder or another account's store).
    #[error("the staged message file belongs to another batch")]
    StagedElsewhere,
    /// No message has this id (it may have been deleted).
    #[error("no message with id {id}")]
    NotFound {
        /// The id asked for.
        id: i64,
    },
    /// The message is not waiting in the Outbox (already sent, moved away,
    /// or never added with `outbox_add`).
    #[error("message {id} is not waiting in the outbox")]
    NotInOutbox {
        /// The id asked for.
        id: i64,
    },
    /// The envelope of an outgoing message is unusable.
    #[error("invalid envelope for an outgoing message: {problem}")]
    InvalidEnvelope {
        /// What is wrong, in a few words.
        problem: &'static str,
    },
    /// The store was opened with `open_read_only` and cannot change.
    #[error("the mailbox was opened read-only: {}", path.display())]
    ReadOnly {
        /// The account's store folder.
        path: PathBuf,
    },
    /// Another Herald window or command has this mailbox open for writing.
    #[error("the mailbox is in use by another Herald window or command: {}", path.display())]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
    /// The disk (or the user's quota) is full. Nothing of the operation was
    /// kept. Its own variant so the UI can say "free some space and try
    /// again" instead of showing an errno.
    #[error("could not store mail because the disk is full (free some space and try again): {}", path.display())]
    DiskFull {
        /// ENOSPC, EDQUOT, SQLite's "database or disk is full", or the
        /// platform's equivalent (kind `StorageFull` or `QuotaExceeded`).
        #[source]
        source: io::Error,
        /// The file or folder being written.
        path: PathBuf,
    },
    /// A mail folder could not be created or read.
    #[error("could not open the mail folder: {}", path.display())]
    Folder {
        /// What the OS said.
        #[source]
        source: io::Error,
        /// The folder.
        path: PathBuf,
    },
    /// The exclusive lock on the store could not be taken for a reason other
    /// than another Herald holding it.
    #[error("could not lock the mailbox: {}", path.display())]
    Lock {
        /// What the OS said.
        #[source]
        source: io::Error,
        /// The lock file.
        path: PathBuf,
    },
    /// Writing a message file failed (the partial file was removed).
    #[error("could not write the message file: {}", path.display())]
    WriteMessage {
        /// What the OS said.
        #[source]
        source: io::Error,
        /// The file (already removed).
        path: PathBuf,
    },
    /// Flushing files or folders to the disk failed, so they cannot be
    /// trusted to survive a power cut; the operation was undone.
    #[error("could not flush mail to the disk: {}", path.display())]
    Sync {
        /// What the OS said.
        #[source]
        source: io::Error,
        /// The file or folder being flushed.
        path: PathBuf,
    },
    /// Moving (renaming) a message file failed.
    #[error("could not move the message file: {}", path.display())]
    MoveFile {
        /// What the OS said.
        #[source]
        source: io::Error,
        /// Where the file was going.
        path: PathBuf,
    },
    /// Removing a message file failed.
    #[error("could not remove the message file: {}", path.display())]
    RemoveFile {
        /// What the OS said.
        #[source]
        source: io::Error,
        /// The file.
        path: PathBuf,
    },
    /// Reading or updating the index failed.
    #[error("could not read or update the mail index: {}", path.display())]
    Index {
        /// What SQLite said.
        #[source]
        source: IndexCause,
        /// The index file.
        path: PathBuf,
    },
    /// The index file is damaged or not a database at all. Moving it away
    /// lets Herald start a new one (the messages themselves are in the
    /// Maildir folders next to it).
    #[error("the mail index is damaged or not a database: {}", path.display())]
    CorruptIndex {
        /// What SQLite said.
        #[source]
        source: IndexCause,
        /// The index file.
        path: PathBuf,
    },
    /// The index file is an SQLite database of some other program.
    #[error("the mail index file belongs to another program: {}", path.display())]
    ForeignIndex {
        /// The index file.
        path: PathBuf,
    },
    /// The index was written by a newer Herald, whose format this one does
    /// not know.
    #[error(
        "the mail index was written by a newer Herald (format {found}, this one reads up to {supported}): {}",
        path.display()
    )]
    NewerIndex {
        /// The format version found in the file.
        found: i64,
        /// The newest format this build understands.
        supported: i64,
        /// The index file.
        path: PathBuf,
    },
}

impl Classify for StoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            StoreError::InvalidUidl { .. }
            | StoreError::AlreadyDownloaded { .. }
            | StoreError::StagedElsewhere
            | StoreError::NotFound { .. }
            | StoreError::NotInOutbox { .. }
            | StoreError::InvalidEnvelope { .. }
            | StoreError::ReadOnly { .. } => ErrorKind::Input,
            StoreError::InUse { .. }
            | StoreError::DiskFull { .. }
            | StoreError::Folder { .. }
            | StoreError::Lock { .. }
            | StoreError::WriteMessage { .. }
            | StoreError::Sync { .. }
            | StoreError::MoveFile { .. }
            | StoreError::RemoveFile { .. }
            | StoreError::Index { .. }
            | StoreError::CorruptIndex { .. }
            | StoreError::ForeignIndex { .. }
            | StoreError::NewerIndex { .. } => ErrorKind::Storage,
        }
    }
}

impl StoreError {
    /// The store's error for a failed write into a [`super::StagedFile`]
    /// (as returned by `io::copy` into it): [`StoreError::DiskFull`] for a
    /// full disk, else [`StoreError::WriteMessage`], naming the file.
    pub fn from_write(error: io::Error) -> StoreError {
        let ours = error
            .get_ref()
            .is_some_and(|inner| inner.is::<super::batch::StagedWriteFailure>());
        if ours {
            let kind = error.kind();
            match error
                .into_inner()
                .map(|inner| inner.downcast::<super::batch::StagedWriteFailure>())
            {
                Some(Ok(failure)) => {
                    return io_error(io_kind::write, failure.source, &failure.path);
                }
                // Unreachable (checked above), but keep whatever it was.
                Some(Err(other)) => {
                    return io_error(io_kind::write, io::Error::new(kind, other), Path::new(""));
                }
                None => return io_error(io_kind::write, io::Error::from(kind), Path::new("")),
            }
        }
        // Not from a staged file (the caller's own error): no path to name.
        io_error(io_kind::write, error, Path::new(""))
    }

    /// True when freeing disk space is what the user should do.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::DiskFull { .. })
    }
}

/// True for "no space left" errors, which the user can fix by freeing space.
pub(crate) fn is_disk_full(error: &io::Error) -> bool {
    // std maps ENOSPC and Windows' ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL
    // to StorageFull, and EDQUOT to QuotaExceeded.
    matches!(
        error.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// Builds an I/O variant with `make`, or [`StoreError::DiskFull`] when the
/// cause is a full disk.
pub(crate) fn io_error(
    make: fn(io::Error, PathBuf) -> StoreError,
    source: io::Error,
    path: &Path,
) -> StoreError {
    let path = path.to_owned();
    if is_disk_full(&source) {
        StoreError::DiskFull { source, path }
    } else {
        make(source, path)
    }
}

/// Constructors for [`io_error`], one per I/O variant.
pub(crate) mod io_kind {
    use super::*;

    pub(crate) fn folder(source: io::Error, path: PathBuf) -> StoreError {
        StoreError::Folder { source, path }
    }
    pub(crate) fn write(source: io::Error, path: PathBuf) -> StoreError {
        StoreError::WriteMessage { source, path }
    }
    pub(crate) fn sync(source: io::Error, path: PathBuf) -> StoreError {
        StoreError::Sync { source, path }
    }
    pub(crate) fn rename(source: io::Error, path: PathBuf) -> StoreError {
        StoreError::MoveFile { source, path }
    }
    pub(crate) fn remove(source: io::Error, path: PathBuf) -> StoreError {
        StoreError::RemoveFile { source, path }
    }
    pub(crate) fn lock(source: io::Error, path: PathBuf) -> StoreError {
        StoreError::Lock { source, path }
    }
}

/// Classifies an SQLite failure on the index at `path`.
pub(crate) fn index_error(source: rusqlite::Error, path: &Path) -> StoreError {
    use rusqlite::ErrorCode;
    let path = path.to_owned();
    match source.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull {
            source: io::Error::new(io::ErrorKind::StorageFull, source),
            path,
        },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::CorruptIndex {
            source: Box::new(source),
            path,
        },
        _ => StoreError::Index {
            source: Box::new(source),
            path,
        },
    }
}
