//! The per-account local mailbox: a Maildir++ tree plus an SQLite index.
//!
//! # Layout
//!
//! ```text
//! <dir>/Maildir/{cur,new,tmp}            Inbox
//! <dir>/Maildir/.Sent/{cur,new,tmp}      Sent (and .Drafts .Outbox .Trash),
//!                                        each with a `maildirfolder` file
//! <dir>/index.sqlite                     the index (WAL)
//! <dir>/store.lock                       held by the one writer
//! ```
//!
//! The message files are plain Maildir: mutt, Dovecot or a backup script can
//! read them, byte for byte as they came from the server. File names are
//! `<secs>.M<micros>P<pid>Q<counter>.herald`, with `:2,<FLAGS>` in `cur/`;
//! they never contain the host name or anything from the server (a UIDL is
//! never a path). The index holds what the message list shows (so a
//! 100,000-message folder is listed without opening a file), the flags, the
//! UIDL tracking the sync engine needs, the server-deletion queue and the
//! Outbox envelopes.
//!
//! # Durability
//!
//! A download is durable when [`Batch::commit`] returns, and a crash (the
//! process killed, the power cut) at any moment leaves each message of the
//! batch either fully recorded or not recorded and not visible at all. The
//! steps:
//!
//! 1. every file was written to `tmp/` and flushed to the OS by
//!    [`Batch::add`]; one transaction records the rows as *pending*, with
//!    their final names;
//! 2. the files' data and that transaction are made durable together with
//!    one `syncfs(2)` on Linux (one `fsync` per file and one for the
//!    index's write-ahead log elsewhere, or for small batches);
//! 3. the files are renamed `tmp/` → `new/` (or `cur/`) and the folders are
//!    fsynced;
//! 4. a second transaction marks the rows stored and counts the UIDLs as
//!    downloaded.
//!
//! So a batch costs two waits for the disk (steps 2 and 3), however many
//! messages it holds; the two transactions have no fsync of their own.
//! Only step 4 makes a message visible to [`MailStore::list`] and a UIDL
//! count as downloaded, and it happens only once the file is durable under
//! its final name, so step 4 itself needs no fsync: if a crash loses it,
//! recovery redoes it. [`MailStore::open`] finishes whatever a crash
//! interrupted: a pending row whose file is in its final place is
//! completed; a pending row whose file is still in `tmp/` (its data may not
//! have reached the disk) or gone is dropped, or, for a download that was
//! replacing a headers-only entry, restored to it, and the download
//! repeats; leftover files of ours in `tmp/` are removed. Each message of a
//! batch is settled on its own: a crash during the renames keeps the
//! messages already renamed. Moves, flag changes and deletions follow the
//! same pattern (intent recorded, file renamed or removed, folders fsynced,
//! row settled), so recovery can always finish them.
//!
//! On an error (rather than a crash) an operation undoes itself: files are
//! removed and pending rows dropped, so nothing is recorded. If even that
//! clean-up fails (a disk failing under us), the store finishes the
//! operation forwards before its next write, exactly as after a crash: the
//! state stays consistent and a message is never counted twice.
//!
//! # Concurrency
//!
//! One [`MailStore`] per account writes ([`MailStore::open`] takes an exclusive lock
//! on `store.lock`; a second writer gets [`StoreError::InUse`]). Any number
//! of [`MailStore::open_read_only`] readers may look at the same time (WAL).
//! `MailStore` is `Send` but not `Sync`: the account's worker thread owns it.

mod batch;
mod error;
mod index;
mod maildir;
mod uidl;

#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

pub(crate) use batch::Stager;
pub use batch::{Batch, StagedFile};
pub use error::{IndexCause, StoreError};
pub use uidl::{MAX_UIDL_CHARS, is_valid_uidl};

use error::{index_error, io_error, io_kind};
use index::state;
use maildir::Subdir;

/// One of the account's five folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Folder {
    /// Downloaded mail: the Maildir root itself.
    Inbox,
    /// Copies of sent messages (`.Sent`).
    Sent,
    /// Unfinished messages (`.Drafts`).
    Drafts,
    /// Messages waiting to be sent (`.Outbox`).
    Outbox,
    /// Deleted messages (`.Trash`); deleting from here removes for good.
    Trash,
}

impl Folder {
    /// Every folder, in the order a folder list shows them.
    pub const ALL: [Folder; 5] = [
        Folder::Inbox,
        Folder::Sent,
        Folder::Drafts,
        Folder::Outbox,
        Folder::Trash,
    ];

    /// The stable name used in the index, the CLI and JSON: `inbox`,
    /// `sent`, `drafts`, `outbox`, `trash`.
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Sent => "sent",
            Folder::Drafts => "drafts",
            Folder::Outbox => "outbox",
            Folder::Trash => "trash",
        }
    }

    /// The folder with this stable name ([`Folder::as_str`]), if any.
    pub fn parse(name: &str) -> Option<Folder> {
        Folder::ALL
            .into_iter()
            .find(|folder| folder.as_str() == name)
    }

    /// The Maildir++ sub-folder name (`.Sent`…); `None` for the Inbox, which
    /// is the Maildir root.
    pub fn maildir_name(self) -> Option<&'static str> {
        match self {
            Folder::Inbox => None,
            Folder::Sent => Some(".Sent"),
            Folder::Drafts => Some(".Drafts"),
            Folder::Outbox => Some(".Outbox"),
            Folder::Trash => Some(".Trash"),
        }
    }
}

/// The flags Herald keeps per message, mirrored in Maildir names
/// (`S`, `R`, `F`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Flags {
    /// The user has read it (Maildir `S`).
    pub seen: bool,
    /// The user has replied to it (Maildir `R`).
    pub answered: bool,
    /// The user marked it as important (Maildir `F`).
    pub flagged: bool,
}

/// Where one downloaded message's file is ([`MailStore::message_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFile {
    /// The message's local id (never reused).
    pub id: i64,
    /// Its folder.
    pub folder: Folder,
    /// The file, `cur/` or `new/` of the folder; its name changes with its
    /// flags (`:2,S`), the part before the `:` never does.
    pub path: PathBuf,
}

/// What the message list shows about a message, taken from its headers by
/// the caller. All text is stored exactly as given (neutralise it for
/// display, not here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageSummary {
    /// The display name of the first From address.
    pub from_name: Option<String>,
    /// The first From address (`user@example.com`).
    pub from_addr: Option<String>,
    /// The To addresses, kept for search.
    pub to: Vec<String>,
    /// The Cc addresses, kept for search.
    pub cc: Vec<String>,
    /// The decoded Subject.
    pub subject: Option<String>,
    /// The Date header, as Unix seconds.
    pub date: Option<i64>,
    /// The Message-ID header.
    pub message_id: Option<String>,
    /// True if the message has attachments (for the paper-clip column).
    pub has_attachments: bool,
}

impl From<&crate::message::Summary> for MessageSummary {
    /// The list columns of a parsed message: the first From address (name
    /// and address apart), To and Cc as `Name <address>` (or the bare
    /// address), and the rest as parsed.
    fn from(summary: &crate::message::Summary) -> MessageSummary {
        let headers = &summary.headers;
        let from = headers.from.first();
        let addresses = |list: &[crate::message::Address]| -> Vec<String> {
            list.iter().map(ToString::to_string).collect()
        };
        MessageSummary {
            from_name: from.and_then(|address| address.name.clone()),
            from_addr: from.map(|address| address.email.clone()),
            to: addresses(&headers.to),
            cc: addresses(&headers.cc),
            subject: headers.subject.clone(),
            date: headers.date_unix,
            message_id: headers.message_id.clone(),
            has_attachments: summary.has_attachments,
        }
    }
}

/// A message about to be stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// The server's UIDL for a download (validated, see [`is_valid_uidl`]);
    /// `None` for a message made here (Sent, Drafts, Outbox).
    pub uidl: Option<String>,
    /// The size in bytes the server announced (LIST), if it came from a
    /// server.
    pub server_size: Option<u64>,
    /// The list columns.
    pub summary: MessageSummary,
    /// Initial flags. A message with no flag goes to `new/`, otherwise to
    /// `cur/` with its flags in the name.
    pub flags: Flags,
    /// When it arrived here, as Unix seconds (sorts messages without a
    /// Date header).
    pub received_at: i64,
}

/// A message as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The local id: stable for the life of the message, never reused.
    pub id: i64,
    /// The folder it is in.
    pub folder: Folder,
    /// The UIDL it was downloaded under, if it came from the server.
    pub uidl: Option<String>,
    /// The list columns.
    pub summary: MessageSummary,
    /// The size in bytes of the local file, or the server's size for a
    /// headers-only entry.
    pub size: u64,
    /// Seen, answered, flagged.
    pub flags: Flags,
    /// False for a headers-only entry (over the size limit, not downloaded).
    pub downloaded: bool,
    /// The absolute path of the message file; `None` when not downloaded.
    pub path: Option<PathBuf>,
    /// When it arrived here, as Unix seconds.
    pub received_at: i64,
}

/// The column a list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortColumn {
    /// The Date header, or the arrival time when there is none.
    #[default]
    Date,
    /// The sender's display name, else address, ignoring case.
    From,
    /// The subject, ignoring case and leading `Re:`/`Fwd:` prefixes.
    Subject,
    /// The message size.
    Size,
}

/// Which page of a folder to list, and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery {
    /// The sort column; ties are broken by id, so pages never overlap.
    pub sort: SortColumn,
    /// Largest (newest, last) first.
    pub descending: bool,
    /// Messages to skip.
    pub offset: usize,
    /// At most this many messages.
    pub limit: usize,
}

impl Default for ListQuery {
    /// Newest first, everything.
    fn default() -> Self {
        ListQuery {
            sort: SortColumn::Date,
            descending: true,
            offset: 0,
            limit: usize::MAX,
        }
    }
}

/// What the store knows about one UIDL, for the sync engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UidlState {
    /// The full message is stored durably (it may since have been deleted
    /// locally): do not download it again.
    pub downloaded: bool,
    /// When the engine first saw the UIDL on the server (Unix seconds), for
    /// "delete after N days".
    pub first_seen: i64,
    /// The user deleted the local copy (moved it to Trash, or removed it
    /// from there): do not download or list it again.
    pub deleted_locally: bool,
    /// The local message's id ([`StoredMessage::id`]) while it exists;
    /// for a headers-only entry too.
    pub message_id: Option<i64>,
}

/// The SMTP envelope of an outgoing message, stored because the local copy
/// keeps its Bcc header (the envelope is what decides who receives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path (MAIL FROM).
    pub from: String,
    /// The recipients (RCPT TO), Bcc included.
    pub recipients: Vec<String>,
}

/// A message waiting in the Outbox, with its sending history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The local id of the message.
    pub id: i64,
    /// The message file (the local copy, Bcc header included).
    pub path: PathBuf,
    /// Whom to send it to.
    pub envelope: Envelope,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last failure, as recorded by the engine.
    pub last_error: Option<String>,
    /// The last failure was permanent (a 5xx): do not retry on its own.
    pub permanent: bool,
    /// When the last attempt failed (Unix seconds).
    pub last_attempt_at: Option<i64>,
}

/// How [`Batch::commit`] makes a batch's files durable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// One `syncfs(2)` for a batch of several files on Linux; one `fsync`
    /// per file for a single file and on other systems. The default.
    #[default]
    Batched,
    /// One `fsync` per file, always. Useful when the mail shares a file
    /// system with heavy unrelated writes, which `syncfs` would wait for.
    PerFile,
}

/// The local mailbox of one account. See the module documentation.
#[derive(Debug)]
pub struct MailStore {
    dir: PathBuf,
    maildir_root: PathBuf,
    index_path: PathBuf,
    conn: Connection,
    writable: bool,
    /// The index is in WAL mode, so a commit can be left to a later flush
    /// of the whole file system (see [`MailStore::write_txn_unsynced`]).
    wal: bool,
    sync_mode: SyncMode,
    /// Set when an undo failed: pending rows must be settled (as at start-up)
    /// before the next write.
    needs_recovery: Cell<bool>,
    /// The exclusive lock of the one writer, held while this is open.
    _lock: Option<File>,
}

/// An error inside a transaction: either SQLite's or one of ours.
pub(crate) enum TxnError {
    Sql(rusqlite::Error),
    MailStore(StoreError),
}

impl From<rusqlite::Error> for TxnError {
    fn from(error: rusqlite::Error) -> Self {
        TxnError::Sql(error)
    }
}

impl From<StoreError> for TxnError {
    fn from(error: StoreError) -> Self {
        TxnError::MailStore(error)
    }
}

/// The current time as Unix seconds, as the store records times
/// (`received_at`, `first_seen`).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| index::to_i64(elapsed.as_secs()))
}

/// Where a message file is (or is going).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) folder: Folder,
    pub(crate) subdir: Subdir,
    pub(crate) file_name: String,
}

/// The parts of a row that moves, flag changes and deletions need.
struct RowState {
    folder: Folder,
    state: i64,
    location: Option<Location>,
    flags: Flags,
}

impl MailStore {
    /// Opens the store in `dir` (the account's data folder) for writing,
    /// creating the Maildir tree and the index on first use, and finishes
    /// whatever a crash interrupted (see the module docs).
    ///
    /// Fails with [`StoreError::InUse`] while another `MailStore` (in this or
    /// another process) has the same folder open for writing.
    pub fn open(dir: &Path) -> Result<MailStore, StoreError> {
        // Absolute, so that every path handed out is too.
        let dir =
            &std::path::absolute(dir).map_err(|source| io_error(io_kind::folder, source, dir))?;
        maildir::create_private_dir(dir)
            .map_err(|source| io_error(io_kind::folder, source, dir))?;
        let lock = lock_exclusive(&dir.join("store.lock"))?;
        let maildir_root = dir.join("Maildir");
        let created = maildir::create_tree(&maildir_root)
            .map_err(|source| io_error(io_kind::folder, source, &maildir_root))?;
        let index_path = dir.join("index.sqlite");
        let conn = index::open(&index_path, true)?;
        let wal = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
            .map_err(|error| index_error(error, &index_path))?
            .eq_ignore_ascii_case("wal");
        if created {
            // New folders (and the new index) must survive a power cut
            // before we record files in them.
            for folder in Folder::ALL {
                let path = maildir::folder_dir(&maildir_root, folder);
                maildir::sync_dir(&path)
                    .map_err(|source| io_error(io_kind::sync, source, &path))?;
            }
            maildir::sync_dir(dir).map_err(|source| io_error(io_kind::sync, source, dir))?;
        }
        let store = MailStore {
            dir: dir.to_owned(),
            maildir_root,
            index_path,
            conn,
            writable: true,
            wal,
            sync_mode: SyncMode::default(),
            needs_recovery: Cell::new(false),
            _lock: Some(lock),
        };
        store.recover_rows()?;
        store.remove_leftover_tmp_files();
        Ok(store)
    }

    /// Opens the store in `dir` for reading only, alongside a writer (the
    /// window while a CLI command looks, or the reverse). Takes no lock,
    /// creates nothing and recovers nothing; every method that would change
    /// something returns [`StoreError::ReadOnly`]. Rows an interrupted
    /// operation left unsettled are not shown.
    pub fn open_read_only(dir: &Path) -> Result<MailStore, StoreError> {
        let dir =
            &std::path::absolute(dir).map_err(|source| io_error(io_kind::folder, source, dir))?;
        let index_path = dir.join("index.sqlite");
        if !index_path.is_file() {
            return Err(StoreError::Folder {
                source: io::Error::from(io::ErrorKind::NotFound),
                path: dir.to_owned(),
            });
        }
        let conn = index::open(&index_path, false)?;
        Ok(MailStore {
            dir: dir.to_owned(),
            maildir_root: dir.join("Maildir"),
            index_path,
            conn,
            writable: false,
            wal: false,
            sync_mode: SyncMode::default(),
            needs_recovery: Cell::new(false),
            _lock: None,
        })
    }

    /// The account's store folder, as given to `open`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Maildir folder (holding `cur/ new/ tmp/`) of `folder`.
    pub fn folder_path(&self, folder: Folder) -> PathBuf {
        maildir::folder_dir(&self.maildir_root, folder)
    }

    /// Chooses how batches are flushed to disk (see [`SyncMode`]).
    pub fn set_sync_mode(&mut self, mode: SyncMode) {
        self.sync_mode = mode;
    }

    /// Starts a batch of downloads into the Inbox. See [`Batch`].
    pub fn batch(&self) -> Batch<'_> {
        Batch::new(self, Folder::Inbox)
    }

    /// Stores one message durably in `folder` and returns its id: a copy of
    /// a sent message, a draft, a message to send (prefer
    /// [`MailStore::outbox_add`], which also stores the envelope), or a single
    /// download (`message.uidl` set).
    ///
    /// Costs a few fsyncs; for many downloads use [`MailStore::batch`].
    pub fn add_message(
        &self,
        folder: Folder,
        bytes: &[u8],
        message: NewMessage,
    ) -> Result<i64, StoreError> {
        let mut batch = Batch::new(self, folder);
        batch.add_bytes(bytes, message, None)?;
        let ids = batch.commit()?;
        ids.first().copied().ok_or(StoreError::NotFound { id: 0 })
    }

    /// Records a message that is too large to download: a list row with
    /// `downloaded == false` and no file, and its UIDL tracked (not counted
    /// as downloaded). Calling it again for the same UIDL updates that row.
    /// A later full download of the UIDL through a [`Batch`] fills in the
    /// same row (same id).
    ///
    /// The caller skips UIDLs whose [`UidlState::deleted_locally`] is set.
    pub fn record_headers_only(
        &self,
        uidl: &str,
        server_size: u64,
        summary: &MessageSummary,
    ) -> Result<i64, StoreError> {
        uidl::check(uidl)?;
        self.writer()?;
        let now = unix_now();
        self.write_txn(|tx| {
            let existing = uidl_row(tx, uidl)?;
            if let Some((downloaded, _)) = existing
                && downloaded
            {
                return Err(StoreError::AlreadyDownloaded {
                    uidl: uidl.to_owned(),
                }
                .into());
            }
            let headers_row = match existing {
                Some((_, Some(id))) => tx
                    .query_row(
                        "SELECT id FROM messages WHERE id = ?1 AND state = ?2",
                        params![id, state::HEADERS_ONLY],
                        |row| row.get::<_, i64>(0),
                    )
                    .optional()?,
                _ => None,
            };
            let size = index::to_i64(server_size);
            let id = match headers_row {
                Some(id) => {
                    write_summary(tx, id, summary)?;
                    tx.execute(
                        "UPDATE messages SET server_size = ?2, size = ?2 WHERE id = ?1",
                        params![id, size],
                    )?;
                    id
                }
                None => {
                    let message = NewMessage {
                        uidl: Some(uidl.to_owned()),
                        server_size: Some(server_size),
                        summary: summary.clone(),
                        flags: Flags::default(),
                        received_at: now,
                    };
                    insert_row(
                        tx,
                        Folder::Inbox,
                        state::HEADERS_ONLY,
                        None,
                        None,
                        &message,
                        server_size,
                    )?
                }
            };
            if headers_row.is_none() {
                tx.execute(
                    "INSERT INTO uidls (uidl, first_seen, message_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (uidl) DO UPDATE SET message_id = ?3, deleted_locally = 0,
                         delete_on_server = 0",
                    params![uidl, now, id],
                )?;
            }
            Ok(id)
        })
    }

    /// One page of `folder`, in the order `query` asks for. Headers-only
    /// entries are included (`downloaded == false`).
    pub fn list(
        &self,
        folder: Folder,
        query: &ListQuery,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let column = match query.sort {
            SortColumn::Date => "sort_date",
            SortColumn::From => "from_sort",
            SortColumn::Subject => "subject_sort",
            SortColumn::Size => "size",
        };
        let direction = if query.descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {} FROM messages WHERE folder = ?1 AND state IN (1, 2)
             ORDER BY {column} {direction}, id {direction} LIMIT ?2 OFFSET ?3",
            index::MESSAGE_COLUMNS
        );
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement.query_map(
                params![
                    folder.as_str(),
                    i64::try_from(query.limit).unwrap_or(i64::MAX),
                    i64::try_from(query.offset).unwrap_or(i64::MAX)
                ],
                |row| index::message_from_row(row, &self.maildir_root),
            )?;
            rows.collect()
        })
    }

    /// Every downloaded message's file, in every folder, by id. For work
    /// that reads each message once (the search index).
    pub fn message_files(&self) -> Result<Vec<MessageFile>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, folder, subdir, file_name FROM messages
                 WHERE state = 1 ORDER BY id",
            )?;
            let rows = statement.query_map([], |row| {
                let folder = index::folder_at(row, 1)?;
                let subdir: Option<String> = row.get(2)?;
                let file_name: Option<String> = row.get(3)?;
                let path = match (subdir.as_deref().and_then(Subdir::from_name), file_name) {
                    (Some(subdir), Some(name)) => {
                        Some(maildir::subdir_path(&self.maildir_root, folder, subdir).join(name))
                    }
                    _ => None,
                };
                let id: i64 = row.get(0)?;
                Ok(path.map(|path| MessageFile { id, folder, path }))
            })?;
            rows.filter_map(Result::transpose).collect()
        })
    }

    /// How many messages `folder` shows (headers-only entries included).
    pub fn count(&self, folder: Folder) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT count(*) FROM messages WHERE folder = ?1 AND state IN (1, 2)",
            )?
            .query_row([folder.as_str()], |row| row.get::<_, i64>(0))
        })
        .map(index::to_u64)
    }

    /// How many messages in `folder` are not seen.
    pub fn unread_count(&self, folder: Folder) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT count(*) FROM messages WHERE folder = ?1 AND state IN (1, 2) AND seen = 0",
            )?
            .query_row([folder.as_str()], |row| row.get::<_, i64>(0))
        })
        .map(index::to_u64)
    }

    /// The message with this id, or `None` if there is none (any more).
    pub fn get(&self, id: i64) -> Result<Option<StoredMessage>, StoreError> {
        let sql = format!(
            "SELECT {} FROM messages WHERE id = ?1 AND state IN (1, 2)",
            index::MESSAGE_COLUMNS
        );
        self.read(|conn| {
            conn.prepare_cached(&sql)?
                .query_row([id], |row| index::message_from_row(row, &self.maildir_root))
                .optional()
        })
    }

    /// Everything the store knows about every tracked UIDL, for one sync.
    pub fn uidl_states(&self) -> Result<HashMap<String, UidlState>, StoreError> {
        self.read(|conn| {
            let count: i64 = conn.query_row("SELECT count(*) FROM uidls", [], |row| row.get(0))?;
            let mut states = HashMap::with_capacity(usize::try_from(count).unwrap_or(0));
            let mut statement = conn.prepare_cached(
                "SELECT uidl, downloaded, first_seen, deleted_locally, message_id FROM uidls",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                states.insert(
                    row.get(0)?,
                    UidlState {
                        downloaded: row.get(1)?,
                        first_seen: row.get(2)?,
                        deleted_locally: row.get(3)?,
                        message_id: row.get(4)?,
                    },
                );
            }
            Ok(states)
        })
    }

    /// Records that these UIDLs are on the server, with `now` (Unix
    /// seconds) as the first-seen time of those not tracked yet. Every UIDL
    /// is validated first; one invalid UIDL records nothing.
    pub fn note_seen_on_server<S: AsRef<str>>(
        &self,
        uidls: &[S],
        now: i64,
    ) -> Result<(), StoreError> {
        for uidl in uidls {
            uidl::check(uidl.as_ref())?;
        }
        self.writer()?;
        self.write_txn(|tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO uidls (uidl, first_seen) VALUES (?1, ?2) ON CONFLICT (uidl) DO NOTHING",
            )?;
            for uidl in uidls {
                insert.execute(params![uidl.as_ref(), now])?;
            }
            Ok(())
        })
    }

    /// Stops tracking UIDLs that are no longer on the server. Local
    /// messages stay (keeping their [`StoredMessage::uidl`] for reference);
    /// any queued server deletion of them is dropped.
    pub fn forget_uidls<S: AsRef<str>>(&self, uidls: &[S]) -> Result<(), StoreError> {
        self.writer()?;
        self.write_txn(|tx| {
            let mut delete = tx.prepare_cached("DELETE FROM uidls WHERE uidl = ?1")?;
            for uidl in uidls {
                delete.execute([uidl.as_ref()])?;
            }
            Ok(())
        })
    }

    /// Changes a message's flags. For a downloaded message the file is
    /// renamed to match (moved from `new/` to `cur/`, `:2,` info set), so
    /// other Maildir readers see the same flags.
    pub fn set_flags(&self, id: i64, flags: Flags) -> Result<(), StoreError> {
        self.writer()?;
        let row = self.row_state(id)?;
        self.relocate(id, &row, row.folder, flags, true)
    }

    /// Moves a message to another folder.
    ///
    /// Moving a message that came from the server into Trash queues its
    /// UIDL for deletion on the server (see
    /// [`MailStore::pending_server_deletions`]); moving it out of Trash before
    /// that happened takes it off the queue again. Moving a message out of
    /// the Outbox cancels sending it (its envelope is dropped); moving one
    /// into the Outbox does not send it (only [`MailStore::outbox_add`] gives a
    /// message an envelope).
    pub fn move_to(&self, id: i64, folder: Folder) -> Result<(), StoreError> {
        self.writer()?;
        let row = self.row_state(id)?;
        self.relocate(id, &row, folder, row.flags, false)
    }

    /// Deletes a message: moves it to Trash (see [`MailStore::move_to`]), or,
    /// when it is already in Trash, removes its file and row for good. Its
    /// UIDL stays tracked as deleted locally, so it is not downloaded again.
    pub fn delete(&self, id: i64) -> Result<(), StoreError> {
        self.writer()?;
        let row = self.row_state(id)?;
        if row.folder != Folder::Trash {
            return self.relocate(id, &row, Folder::Trash, row.flags, false);
        }
        let Some(location) = row.location else {
            return self.write_txn(|tx| forget_row(tx, id).map_err(TxnError::from));
        };
        let path = self.location_path(&location);
        self.db_step(Step::BeforeRemoveRecord)?;
        self.write_txn(|tx| {
            tx.execute(
                "UPDATE messages SET state = ?2 WHERE id = ?1",
                params![id, state::REMOVING],
            )?;
            Ok(())
        })?;
        let removed = checkpoint(Step::BeforeUnlink)
            .and_then(|()| maildir::remove_if_present(&path))
            .map_err(|source| io_error(io_kind::remove, source, &path))
            .and_then(|()| self.sync_dir_of(&path));
        if let Err(error) = removed {
            // The file may still be there: keep the message.
            let restored = self.write_txn(|tx| {
                tx.execute(
                    "UPDATE messages SET state = ?2 WHERE id = ?1 AND state = ?3",
                    params![id, state::STORED, state::REMOVING],
                )?;
                Ok(())
            });
            if restored.is_err() {
                self.needs_recovery.set(true);
            }
            return Err(error);
        }
        self.db_step(Step::BeforeRemoveFinish)?;
        let result = self.write_txn(|tx| forget_row(tx, id).map_err(TxnError::from));
        if result.is_err() {
            self.needs_recovery.set(true);
        }
        result
    }

    /// UIDLs the user deleted locally (moved to Trash) that are still on the
    /// server, in UIDL order. Whether to delete them there is the account's
    /// deletion policy, decided by the sync engine.
    pub fn pending_server_deletions(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT uidl FROM uidls WHERE delete_on_server = 1 ORDER BY uidl",
            )?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
    }

    /// Records that these UIDLs were deleted on the server (after a
    /// successful QUIT): they leave the queue and are no longer tracked.
    /// Local messages stay.
    pub fn mark_deleted_on_server<S: AsRef<str>>(&self, uidls: &[S]) -> Result<(), StoreError> {
        self.forget_uidls(uidls)
    }

    /// Puts a message to send in the Outbox, durably: `local_copy` is the
    /// message as the user's copy (Bcc header included), `envelope` whom to
    /// send it to. Its list columns are read from `local_copy`'s headers.
    /// Returns its id.
    pub fn outbox_add(&self, local_copy: &[u8], envelope: Envelope) -> Result<i64, StoreError> {
        check_envelope(&envelope)?;
        let message = NewMessage {
            uidl: None,
            server_size: None,
            summary: MessageSummary::from(&crate::message::Summary::from_prefix(local_copy, true)),
            flags: Flags {
                seen: true,
                ..Flags::default()
            },
            received_at: unix_now(),
        };
        let mut batch = Batch::new(self, Folder::Outbox);
        batch.add_bytes(local_copy, message, Some(envelope))?;
        let ids = batch.commit()?;
        ids.first().copied().ok_or(StoreError::NotFound { id: 0 })
    }

    /// The messages waiting in the Outbox, oldest first.
    pub fn outbox_entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT m.id, m.subdir, m.file_name, o.envelope_from, o.recipients, o.attempts,
                        o.last_error, o.permanent, o.last_attempt_at
                 FROM outbox o JOIN messages m ON m.id = o.message_id
                 WHERE m.folder = 'outbox' AND m.state = 1
                 ORDER BY m.id",
            )?;
            let rows = statement.query_map([], |row| {
                let subdir: String = row.get(1)?;
                let file_name: String = row.get(2)?;
                let subdir = Subdir::from_name(&subdir).unwrap_or(Subdir::Cur);
                Ok(OutboxEntry {
                    id: row.get(0)?,
                    path: maildir::subdir_path(&self.maildir_root, Folder::Outbox, subdir)
                        .join(file_name),
                    envelope: Envelope {
                        from: row.get(3)?,
                        recipients: index::json_list(row, 4)?,
                    },
                    attempts: u32::try_from(row.get::<_, i64>(5)?).unwrap_or(u32::MAX),
                    last_error: row.get(6)?,
                    permanent: row.get(7)?,
                    last_attempt_at: row.get(8)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Records a failed attempt to send an Outbox message: one more attempt,
    /// the error text as given, whether it was permanent, and the time.
    pub fn outbox_record_failure(
        &self,
        id: i64,
        error_text: &str,
        permanent: bool,
    ) -> Result<(), StoreError> {
        self.writer()?;
        let now = unix_now();
        self.write_txn(|tx| {
            let changed = tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, permanent = ?3,
                     last_attempt_at = ?4
                 WHERE message_id = ?1
                   AND EXISTS (SELECT 1 FROM messages
                               WHERE id = ?1 AND folder = 'outbox' AND state = 1)",
                params![id, error_text, permanent, now],
            )?;
            if changed == 0 {
                return Err(StoreError::NotInOutbox { id }.into());
            }
            Ok(())
        })
    }

    /// Records that an Outbox message was sent: durably moves it to Sent
    /// (marked seen) and drops its envelope. Returns its id in Sent (the
    /// same id today; callers should use the returned one).
    pub fn outbox_mark_sent(&self, id: i64) -> Result<i64, StoreError> {
        self.writer()?;
        let waiting: bool = self.read(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox o JOIN messages m ON m.id = o.message_id
                                WHERE o.message_id = ?1 AND m.folder = 'outbox' AND m.state = 1)",
                [id],
                |row| row.get(0),
            )
        })?;
        if !waiting {
            return Err(StoreError::NotInOutbox { id });
        }
        let row = self.row_state(id)?;
        let flags = Flags {
            seen: true,
            ..row.flags
        };
        self.relocate(id, &row, Folder::Sent, flags, true)?;
        Ok(id)
    }

    // ----- internals -------------------------------------------------------

    /// The connection for a write: refuses on a read-only store, and first
    /// settles what a failed undo left (see `needs_recovery`).
    fn writer(&self) -> Result<&Connection, StoreError> {
        if !self.writable {
            return Err(StoreError::ReadOnly {
                path: self.dir.clone(),
            });
        }
        if self.needs_recovery.get() {
            self.recover_rows()?;
        }
        Ok(&self.conn)
    }

    /// Runs `f` in an immediate write transaction and commits it (fsynced:
    /// `synchronous=FULL`). Any error rolls it back.
    fn write_txn<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, TxnError>,
    ) -> Result<T, StoreError> {
        let ix = |error| index_error(error, &self.index_path);
        let tx =
            Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(ix)?;
        let value = f(&tx).map_err(|error| match error {
            TxnError::Sql(error) => ix(error),
            TxnError::MailStore(error) => error,
        })?;
        tx.commit().map_err(ix)?;
        Ok(value)
    }

    /// [`MailStore::write_txn`] without the fsync of its own (WAL with
    /// `synchronous=NORMAL` for this one commit): for a commit that a later
    /// flush makes durable ([`MailStore::sync_index_log`], or the
    /// `syncfs` of a batch), or whose loss recovery repairs. Without WAL
    /// (a file system that cannot share memory) it is an ordinary
    /// [`MailStore::write_txn`].
    pub(crate) fn write_txn_unsynced<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, TxnError>,
    ) -> Result<T, StoreError> {
        if !self.wal {
            return self.write_txn(f);
        }
        let ix = |error| index_error(error, &self.index_path);
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(ix)?;
        let value = self.write_txn(f);
        let restored = self
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(ix);
        let value = value?;
        restored?;
        Ok(value)
    }

    /// Makes every commit so far durable after
    /// [`MailStore::write_txn_unsynced`]: fsyncs the index's write-ahead
    /// log (what a `syncfs` of the file system also does).
    pub(crate) fn sync_index_log(&self) -> Result<(), StoreError> {
        if !self.wal {
            return Ok(()); // every commit was synced
        }
        let mut log = self.index_path.clone().into_os_string();
        log.push("-wal");
        let log = PathBuf::from(log);
        match maildir::sync_file(&log) {
            // Checkpointed away: SQLite synced the database file then.
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(|source| io_error(io_kind::sync, source, &log)),
        }
    }

    /// Runs a read, classifying its errors.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|error| index_error(error, &self.index_path))
    }

    /// A test hook before a database step: an injected failure looks like
    /// the index failing.
    fn db_step(&self, step: Step) -> Result<(), StoreError> {
        checkpoint(step).map_err(|source| {
            if error::is_disk_full(&source) {
                StoreError::DiskFull {
                    source,
                    path: self.index_path.clone(),
                }
            } else {
                StoreError::Index {
                    source: Box::new(source),
                    path: self.index_path.clone(),
                }
            }
        })
    }

    /// The absolute path of a location.
    fn location_path(&self, location: &Location) -> PathBuf {
        maildir::subdir_path(&self.maildir_root, location.folder, location.subdir)
            .join(&location.file_name)
    }

    /// The path of `folder`'s `subdir`.
    fn subdir_path(&self, folder: Folder, subdir: Subdir) -> PathBuf {
        maildir::subdir_path(&self.maildir_root, folder, subdir)
    }

    /// Fsyncs the folder holding `path`.
    fn sync_dir_of(&self, path: &Path) -> Result<(), StoreError> {
        let dir = path.parent().unwrap_or(path);
        checkpoint(Step::BeforeDirSync)
            .and_then(|()| maildir::sync_dir(dir))
            .map_err(|source| io_error(io_kind::sync, source, dir))
    }

    /// The state of a visible row, or [`StoreError::NotFound`].
    fn row_state(&self, id: i64) -> Result<RowState, StoreError> {
        let row = self.read(|conn| {
            conn.query_row(
                "SELECT folder, state, subdir, file_name, seen, answered, flagged
                 FROM messages WHERE id = ?1 AND state IN (1, 2)",
                [id],
                |row| {
                    let folder = index::folder_at(row, 0)?;
                    let subdir: Option<String> = row.get(2)?;
                    let file_name: Option<String> = row.get(3)?;
                    let location = match (subdir.as_deref().and_then(Subdir::from_name), file_name)
                    {
                        (Some(subdir), Some(file_name)) => Some(Location {
                            folder,
                            subdir,
                            file_name,
                        }),
                        _ => None,
                    };
                    Ok(RowState {
                        folder,
                        state: row.get(1)?,
                        location,
                        flags: Flags {
                            seen: row.get(4)?,
                            answered: row.get(5)?,
                            flagged: row.get(6)?,
                        },
                    })
                },
            )
            .optional()
        })?;
        row.ok_or(StoreError::NotFound { id })
    }

    /// Moves a message to `folder` with `flags`, renaming its file to match.
    /// `to_cur`: the message has been looked at, so it belongs in `cur/`
    /// (a flag change); a plain move keeps `new/` as it is.
    ///
    /// Steps: record the destination (and the new flags) → rename → fsync
    /// the folders → settle the row and apply the folder change's side
    /// effects (Trash queue, Outbox envelope). A crash after the first step
    /// is finished by recovery; an error undoes it (and if the undo fails
    /// too, recovery finishes it before the next write).
    fn relocate(
        &self,
        id: i64,
        row: &RowState,
        folder: Folder,
        flags: Flags,
        to_cur: bool,
    ) -> Result<(), StoreError> {
        let Some(current) = row.location.as_ref().filter(|_| row.state == state::STORED) else {
            // No file: the row is all there is.
            if folder == row.folder && flags == row.flags {
                return Ok(());
            }
            return self.write_txn(|tx| {
                set_flags_columns(tx, id, flags)?;
                if folder != row.folder {
                    tx.execute(
                        "UPDATE messages SET folder = ?2 WHERE id = ?1",
                        params![id, folder.as_str()],
                    )?;
                    folder_change_effects(tx, id, row.folder, folder)?;
                }
                Ok(())
            });
        };
        let base = maildir::base_of(&current.file_name);
        let destination = if to_cur || current.subdir == Subdir::Cur {
            Location {
                folder,
                subdir: Subdir::Cur,
                file_name: maildir::cur_name(base, flags),
            }
        } else {
            Location {
                folder,
                subdir: current.subdir,
                file_name: current.file_name.clone(),
            }
        };
        if destination == *current {
            if flags != row.flags {
                self.write_txn(|tx| set_flags_columns(tx, id, flags).map_err(TxnError::from))?;
            }
            return Ok(());
        }

        self.db_step(Step::BeforeMoveRecord)?;
        self.write_txn(|tx| {
            set_flags_columns(tx, id, flags)?;
            tx.execute(
                "UPDATE messages SET dest_folder = ?2, dest_subdir = ?3, dest_file_name = ?4
                 WHERE id = ?1",
                params![
                    id,
                    destination.folder.as_str(),
                    destination.subdir.as_str(),
                    destination.file_name
                ],
            )?;
            Ok(())
        })?;

        let from = self.location_path(current);
        let to = self.location_path(&destination);
        let moved = checkpoint(Step::BeforeMoveRename)
            .and_then(|()| fs::rename(&from, &to))
            .map_err(|source| io_error(io_kind::rename, source, &to));
        if let Err(error) = moved {
            self.undo_move(id, row.flags, None);
            return Err(error);
        }
        let finished = self
            .sync_dir_of(&to)
            .and_then(|()| {
                if from.parent() == to.parent() {
                    Ok(())
                } else {
                    self.sync_dir_of(&from)
                }
            })
            .and_then(|()| self.db_step(Step::BeforeMoveFinish))
            .and_then(|()| self.write_txn(|tx| finish_move(tx, id).map_err(TxnError::from)));
        if let Err(error) = finished {
            self.undo_move(id, row.flags, Some((&to, &from)));
            return Err(error);
        }
        Ok(())
    }

    /// Undoes a move whose destination was recorded: renames the file back
    /// (`renamed`: from where to where) and restores the row. If that fails
    /// too, recovery finishes the move instead, before the next write.
    fn undo_move(&self, id: i64, old_flags: Flags, renamed: Option<(&Path, &Path)>) {
        if let Some((now_at, back_to)) = renamed {
            let back = checkpoint(Step::BeforeUndoRename)
                .and_then(|()| fs::rename(now_at, back_to))
                .and_then(|()| maildir::sync_dir(back_to.parent().unwrap_or(back_to)));
            if back.is_err() {
                self.needs_recovery.set(true);
                return;
            }
        }
        let undone = self.write_txn(|tx| {
            set_flags_columns(tx, id, old_flags)?;
            clear_destination(tx, id)?;
            Ok(())
        });
        if undone.is_err() {
            self.needs_recovery.set(true);
        }
    }

    /// Settles every row an interrupted operation left unsettled (see the
    /// module docs). Safe at any time: it touches only rows of operations
    /// that already returned, never the files of an open [`Batch`].
    fn recover_rows(&self) -> Result<(), StoreError> {
        let ix = |error| index_error(error, &self.index_path);
        // Pending downloads and local adds, and removals.
        let unsettled: Vec<(i64, i64, Option<Location>, Option<Folder>)> = self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT id, state, folder, subdir, file_name, staged_folder
                     FROM messages WHERE state >= 3",
            )?;
            let rows = statement.query_map([], |row| {
                let folder = index::folder_at(row, 2)?;
                let subdir: Option<String> = row.get(3)?;
                let file_name: Option<String> = row.get(4)?;
                let staged: Option<String> = row.get(5)?;
                let location = match (subdir.as_deref().and_then(Subdir::from_name), file_name) {
                    (Some(subdir), Some(file_name)) => Some(Location {
                        folder,
                        subdir,
                        file_name,
                    }),
                    _ => None,
                };
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    location,
                    staged.as_deref().and_then(Folder::parse),
                ))
            })?;
            rows.collect()
        })?;

        let mut finish = Vec::new();
        let mut undo = Vec::new();
        let mut forget = Vec::new();
        let mut dirs = HashSet::new();
        for (id, row_state, location, staged_folder) in unsettled {
            let Some(location) = location else {
                // No file was ever recorded: nothing to finish.
                if row_state == state::REMOVING {
                    forget.push(id);
                } else {
                    undo.push(id);
                }
                continue;
            };
            let final_path = self.location_path(&location);
            if row_state == state::REMOVING {
                maildir::remove_if_present(&final_path)
                    .map_err(|source| io_error(io_kind::remove, source, &final_path))?;
                dirs.insert(self.subdir_path(location.folder, location.subdir));
                forget.push(id);
                continue;
            }
            if maildir::exists(&final_path)
                .map_err(|source| io_error(io_kind::folder, source, &final_path))?
            {
                dirs.insert(self.subdir_path(location.folder, location.subdir));
                finish.push(id);
                continue;
            }
            let tmp_path = self
                .subdir_path(staged_folder.unwrap_or(location.folder), Subdir::Tmp)
                .join(maildir::base_of(&location.file_name));
            // Still in `tmp/` (or gone): the commit stopped before this
            // file's rename, perhaps before its data was synced, so the
            // file cannot be trusted. Not stored; the download repeats.
            maildir::remove_if_present(&tmp_path)
                .map_err(|source| io_error(io_kind::remove, source, &tmp_path))?;
            undo.push(id);
        }

        // Interrupted moves and flag changes: always forwards.
        let moving: Vec<(i64, Option<Location>, Location)> = self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT id, folder, subdir, file_name, dest_folder, dest_subdir, dest_file_name
                 FROM messages WHERE dest_folder IS NOT NULL",
            )?;
            let rows = statement.query_map([], |row| {
                let folder = index::folder_at(row, 1)?;
                let subdir: Option<String> = row.get(2)?;
                let file_name: Option<String> = row.get(3)?;
                let dest_folder = index::folder_at(row, 4)?;
                let dest_subdir: Option<String> = row.get(5)?;
                let dest_file_name: Option<String> = row.get(6)?;
                let current = match (subdir.as_deref().and_then(Subdir::from_name), file_name) {
                    (Some(subdir), Some(file_name)) => Some(Location {
                        folder,
                        subdir,
                        file_name,
                    }),
                    _ => None,
                };
                Ok((
                    row.get(0)?,
                    current,
                    Location {
                        folder: dest_folder,
                        subdir: dest_subdir
                            .as_deref()
                            .and_then(Subdir::from_name)
                            .unwrap_or(Subdir::Cur),
                        file_name: dest_file_name.unwrap_or_default(),
                    },
                ))
            })?;
            rows.collect()
        })?;
        let mut moved = Vec::new();
        let mut lost = Vec::new();
        for (id, current, destination) in moving {
            let to = self.location_path(&destination);
            if maildir::exists(&to).map_err(|source| io_error(io_kind::folder, source, &to))? {
                dirs.insert(self.subdir_path(destination.folder, destination.subdir));
                moved.push(id);
                continue;
            }
            let from = current.as_ref().map(|current| self.location_path(current));
            match from {
                Some(from)
                    if maildir::exists(&from)
                        .map_err(|source| io_error(io_kind::folder, source, &from))? =>
                {
                    fs::rename(&from, &to)
                        .map_err(|source| io_error(io_kind::rename, source, &to))?;
                    if let Some(parent) = from.parent() {
                        dirs.insert(parent.to_owned());
                    }
                    dirs.insert(self.subdir_path(destination.folder, destination.subdir));
                    moved.push(id);
                }
                // The file is in neither place (removed by another program):
                // leave the row where it was.
                _ => lost.push(id),
            }
        }

        if finish.is_empty()
            && undo.is_empty()
            && forget.is_empty()
            && moved.is_empty()
            && lost.is_empty()
        {
            self.needs_recovery.set(false);
            return Ok(());
        }
        for dir in &dirs {
            maildir::sync_dir(dir).map_err(|source| io_error(io_kind::sync, source, dir))?;
        }
        let tx =
            Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(ix)?;
        for id in &finish {
            finish_pending(&tx, *id).map_err(ix)?;
        }
        for id in &undo {
            undo_pending(&tx, *id).map_err(ix)?;
        }
        for id in &forget {
            forget_row(&tx, *id).map_err(ix)?;
        }
        for id in &moved {
            finish_move(&tx, *id).map_err(ix)?;
        }
        for id in &lost {
            clear_destination(&tx, *id).map_err(ix)?;
        }
        tx.commit().map_err(ix)?;
        self.needs_recovery.set(false);
        Ok(())
    }

    /// Removes files of ours left in any `tmp/` (a batch dropped by a
    /// crash). Only at open, when no batch of this store can be open, and
    /// only names we make: another program's files are not ours to delete.
    ///
    /// Best effort: a leftover that cannot be removed is harmless (nothing
    /// refers to it, no mail program reads `tmp/`) and must not keep the
    /// user out of their mailbox.
    fn remove_leftover_tmp_files(&self) {
        for folder in Folder::ALL {
            let Ok(entries) = fs::read_dir(self.subdir_path(folder, Subdir::Tmp)) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_name().to_str().is_some_and(maildir::is_our_name) {
                    let _ = maildir::remove_if_present(&entry.path());
                }
            }
        }
    }
}

/// Takes the exclusive writer lock, or reports who holds it.
fn lock_exclusive(path: &Path) -> Result<File, StoreError> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .map_err(|source| io_error(io_kind::lock, source, path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: path.to_owned(),
        }),
        Err(fs::TryLockError::Error(source)) => Err(io_error(io_kind::lock, source, path)),
    }
}

/// Refuses an envelope SMTP could not carry: empty, or with control
/// characters (a CR/LF would inject SMTP commands), spaces or angle
/// brackets in an address.
fn check_envelope(envelope: &Envelope) -> Result<(), StoreError> {
    let bad = |address: &str| {
        address
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
    };
    if envelope.recipients.is_empty() {
        return Err(StoreError::InvalidEnvelope {
            problem: "no recipients",
        });
    }
    if envelope.recipients.iter().any(|r| r.is_empty() || bad(r)) {
        return Err(StoreError::InvalidEnvelope {
            problem: "a recipient address is empty or has spaces, brackets or control characters",
        });
    }
    // An empty reverse path (`MAIL FROM:<>`) is legal SMTP but never what a
    // person sending mail means.
    if envelope.from.is_empty() || bad(&envelope.from) {
        return Err(StoreError::InvalidEnvelope {
            problem: "the sender address is empty or has spaces, brackets or control characters",
        });
    }
    Ok(())
}

/// The tracking row of `uidl`: (downloaded, local message id).
fn uidl_row(tx: &Connection, uidl: &str) -> rusqlite::Result<Option<(bool, Option<i64>)>> {
    tx.prepare_cached("SELECT downloaded, message_id FROM uidls WHERE uidl = ?1")?
        .query_row([uidl], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

/// Inserts a message row; returns its id.
fn insert_row(
    tx: &Connection,
    folder: Folder,
    row_state: i64,
    location: Option<&Location>,
    staged_folder: Option<Folder>,
    message: &NewMessage,
    size_bytes: u64,
) -> rusqlite::Result<i64> {
    let summary = &message.summary;
    tx.prepare_cached(
        "INSERT INTO messages (folder, state, subdir, file_name, staged_folder, uidl,
             server_size, size, from_name, from_addr, to_addrs, cc_addrs, subject, date,
             message_id, has_attachments, seen, answered, flagged, received_at, sort_date,
             from_sort, subject_sort)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20, ?21, ?22, ?23)",
    )?
    .execute(params![
        folder.as_str(),
        row_state,
        location.map(|l| l.subdir.as_str()),
        location.map(|l| l.file_name.as_str()),
        staged_folder.map(Folder::as_str),
        message.uidl,
        message.server_size.map(index::to_i64),
        index::to_i64(size_bytes),
        summary.from_name,
        summary.from_addr,
        index::to_json(&summary.to),
        index::to_json(&summary.cc),
        summary.subject,
        summary.date,
        summary.message_id,
        summary.has_attachments,
        message.flags.seen,
        message.flags.answered,
        message.flags.flagged,
        message.received_at,
        summary.date.unwrap_or(message.received_at),
        index::from_sort_key(summary),
        index::subject_sort_key(summary.subject.as_deref()),
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Replaces the list columns of a row.
fn write_summary(tx: &Connection, id: i64, summary: &MessageSummary) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET from_name = ?2, from_addr = ?3, to_addrs = ?4, cc_addrs = ?5,
             subject = ?6, date = ?7, message_id = ?8, has_attachments = ?9,
             sort_date = coalesce(?7, received_at), from_sort = ?10, subject_sort = ?11
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        summary.from_name,
        summary.from_addr,
        index::to_json(&summary.to),
        index::to_json(&summary.cc),
        summary.subject,
        summary.date,
        summary.message_id,
        summary.has_attachments,
        index::from_sort_key(summary),
        index::subject_sort_key(summary.subject.as_deref()),
    ])?;
    Ok(())
}

/// Sets the three flag columns.
fn set_flags_columns(tx: &Connection, id: i64, flags: Flags) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE messages SET seen = ?2, answered = ?3, flagged = ?4 WHERE id = ?1")?
        .execute(params![id, flags.seen, flags.answered, flags.flagged])?;
    Ok(())
}

/// The last step of a download or local add: the row becomes visible and
/// its UIDL (if any) counts as downloaded.
fn finish_pending(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET state = ?2, staged_folder = NULL WHERE id = ?1 AND state IN (?3, ?4)",
    )?
    .execute(params![
        id,
        state::STORED,
        state::PENDING_NEW,
        state::PENDING_UPGRADE
    ])?;
    tx.prepare_cached(
        "INSERT INTO uidls (uidl, first_seen, downloaded, message_id)
         SELECT uidl, received_at, 1, id FROM messages WHERE id = ?1 AND uidl IS NOT NULL
         ON CONFLICT (uidl) DO UPDATE SET downloaded = 1, message_id = excluded.message_id,
             deleted_locally = 0, delete_on_server = 0",
    )?
    .execute([id])?;
    Ok(())
}

/// Undoes a pending row whose file is gone: a new row disappears (with its
/// Outbox envelope), a replaced headers-only row comes back as it was.
fn undo_pending(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM outbox WHERE message_id = ?1 AND EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND state = ?2)")?
        .execute(params![id, state::PENDING_NEW])?;
    tx.prepare_cached("DELETE FROM messages WHERE id = ?1 AND state = ?2")?
        .execute(params![id, state::PENDING_NEW])?;
    tx.prepare_cached(
        "UPDATE messages SET state = ?2, subdir = NULL, file_name = NULL, staged_folder = NULL,
             size = coalesce(server_size, size)
         WHERE id = ?1 AND state = ?3",
    )?
    .execute(params![id, state::HEADERS_ONLY, state::PENDING_UPGRADE])?;
    Ok(())
}

/// Removes a row for good. Its UIDL, if still tracked, stays as "deleted
/// locally" so it is never downloaded again.
fn forget_row(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE uidls SET message_id = NULL, deleted_locally = 1 WHERE message_id = ?1",
    )?
    .execute([id])?;
    tx.prepare_cached("DELETE FROM outbox WHERE message_id = ?1")?
        .execute([id])?;
    tx.prepare_cached("DELETE FROM messages WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// The last step of a move: the destination becomes the location, and the
/// folder change takes effect.
fn finish_move(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    let folders = tx
        .query_row(
            "SELECT folder, dest_folder FROM messages WHERE id = ?1 AND dest_folder IS NOT NULL",
            [id],
            |row| Ok((index::folder_at(row, 0)?, index::folder_at(row, 1)?)),
        )
        .optional()?;
    let Some((from, to)) = folders else {
        return Ok(());
    };
    tx.prepare_cached(
        "UPDATE messages SET folder = dest_folder, subdir = dest_subdir, file_name = dest_file_name,
             dest_folder = NULL, dest_subdir = NULL, dest_file_name = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    if from != to {
        folder_change_effects(tx, id, from, to)?;
    }
    Ok(())
}

/// Forgets a destination that will not be reached.
fn clear_destination(tx: &Connection, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE messages SET dest_folder = NULL, dest_subdir = NULL, dest_file_name = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}

/// What moving a message from one folder to another means beyond its
/// place: into Trash queues its server copy for deletion, out of Trash
/// cancels that, out of the Outbox cancels sending.
fn folder_change_effects(
    tx: &Connection,
    id: i64,
    from: Folder,
    to: Folder,
) -> rusqlite::Result<()> {
    if to == Folder::Trash {
        tx.prepare_cached(
            "UPDATE uidls SET delete_on_server = 1, deleted_locally = 1 WHERE message_id = ?1",
        )?
        .execute([id])?;
    } else if from == Folder::Trash {
        tx.prepare_cached(
            "UPDATE uidls SET delete_on_server = 0, deleted_locally = 0 WHERE message_id = ?1",
        )?
        .execute([id])?;
    }
    if from == Folder::Outbox {
        tx.prepare_cached("DELETE FROM outbox WHERE message_id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// The points where tests can inject a failure or a crash: each is just
/// before the operation it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Commit: before the batch's files are flushed.
    BeforeSync,
    /// Commit: before the pending rows are recorded.
    BeforeRecord,
    /// Commit: before the n-th rename (0-based).
    BeforeRename(usize),
    /// Any operation: before a folder is fsynced.
    BeforeDirSync,
    /// Commit: before the rows are marked stored.
    BeforeFinish,
    /// Commit: after everything, before returning.
    AfterFinish,
    /// Move: before the destination is recorded.
    BeforeMoveRecord,
    /// Move: before the rename.
    BeforeMoveRename,
    /// Move: before the row is settled.
    BeforeMoveFinish,
    /// Move failing after its rename: before the file is renamed back.
    BeforeUndoRename,
    /// Delete from Trash: before the row is marked as being removed.
    BeforeRemoveRecord,
    /// Delete from Trash: before the file is removed.
    BeforeUnlink,
    /// Delete from Trash: before the row is removed.
    BeforeRemoveFinish,
}

/// Test hook: in test builds, ends the process at `step` when
/// `HERALD_STORE_TEST_CRASH_AT` names it (a crash: no destructor, no
/// clean-up), or fails with an injected error set by `hooks::fail_at` on
/// this thread. A no-op otherwise.
#[cfg(not(test))]
#[inline(always)]
pub(crate) fn checkpoint(_step: Step) -> io::Result<()> {
    Ok(())
}

/// Failure injection for tests of the layers above (sync, outgoing).
#[cfg(test)]
pub(crate) use tests::hooks;
#[cfg(test)]
pub(crate) use tests::hooks::checkpoint;
