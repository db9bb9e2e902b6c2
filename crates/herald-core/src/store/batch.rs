//! Durable, batched storing of messages: the sync engine's download path.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::mem;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension, params};

use super::error::{io_error, io_kind};
use super::index::{self, state};
use super::maildir::{self, Subdir};
use super::{
    Envelope, Folder, Location, MailStore, NewMessage, Step, StoreError, SyncMode, TxnError,
    checkpoint, finish_pending, insert_row, uidl, uidl_row, undo_pending, write_summary,
};

/// Size of the write buffer between the caller's chunks (POP3 lines) and the
/// file: few system calls, and memory that does not grow with the message.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// From this many files on, one `syncfs` beats one `fsync` per file. Not
/// fewer: `syncfs` also waits for every other program's unwritten data on
/// that file system (a download, a build), which can take a second, while
/// a few `fsync`s cost milliseconds; the typical sync brings a few messages.
const SYNCFS_MIN_FILES: usize = 32;

/// Gives each batch its own number, so a staged file cannot be added to a
/// batch that did not create it.
static BATCH_SERIAL: AtomicU64 = AtomicU64::new(0);

/// A group of messages made durable together by one [`Batch::commit`]:
/// one flush of the files, two transactions and one fsync per folder,
/// however many messages.
///
/// ```no_run
/// # use herald_core::store::{NewMessage, MailStore};
/// # fn download(
/// #     store: &MailStore,
/// #     mut body: impl std::io::Read,
/// #     uidl: &str,
/// # ) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
/// let mut batch = store.batch();
/// let mut staged = batch.create_file()?;
/// if let Err(error) = std::io::copy(&mut body, &mut staged) {
///     // A full disk and a dropped connection call for different actions.
///     return Err(match staged.write_error() {
///         Some(disk) => disk.into(),
///         None => error.into(),
///     });
/// }
/// let message = NewMessage { uidl: Some(uidl.to_owned()), ..NewMessage::default() };
/// batch.add(staged, message)?;
/// // ... more messages ...
/// let ids = batch.commit()?; // durable now: safe to delete on the server
/// # Ok(ids)
/// # }
/// ```
///
/// Dropping a batch without committing removes its files and records
/// nothing.
#[derive(Debug)]
pub struct Batch<'s> {
    store: &'s MailStore,
    folder: Folder,
    serial: u64,
    entries: Vec<Entry>,
    uidls: HashSet<String>,
    size_bytes: u64,
}

/// Creates staged files for one batch without touching the index: `Send`,
/// unlike the store, for a thread that writes files while the batch's
/// thread commits. Files it creates go through [`Batch::add`] like any.
#[derive(Debug, Clone)]
pub(crate) struct Stager {
    tmp: PathBuf,
    batch_serial: u64,
}

impl Stager {
    /// [`Batch::create_file`].
    pub(crate) fn create_file(&self) -> Result<StagedFile, StoreError> {
        let (base, path, file) = maildir::create_unique(&self.tmp)
            .map_err(|source| io_error(io_kind::write, source, &self.tmp))?;
        Ok(StagedFile {
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file)),
            path,
            base,
            batch_serial: self.batch_serial,
            size_bytes: 0,
            failure: None,
            kept: false,
        })
    }
}

/// A message file being written in `tmp/`, for [`Batch::add`].
///
/// Writes are buffered; memory use does not depend on the message size.
/// Dropping it without adding it removes the file. If a write fails, the
/// file refuses further writes and [`Batch::add`], and
/// [`StagedFile::write_error`] says what went wrong.
#[derive(Debug)]
pub struct StagedFile {
    writer: Option<BufWriter<File>>,
    path: PathBuf,
    base: String,
    batch_serial: u64,
    size_bytes: u64,
    failure: Option<(io::ErrorKind, String)>,
    kept: bool,
}

/// A failed write into a [`StagedFile`], carried inside the `io::Error` the
/// writer returns.
#[derive(Debug)]
pub(crate) struct StagedWriteFailure {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

impl std::fmt::Display for StagedWriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "could not write the message file: {}",
            self.path.display()
        )
    }
}

impl std::error::Error for StagedWriteFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A staged file that was flushed and closed, waiting for commit.
#[derive(Debug)]
struct Staged {
    base: String,
    tmp_path: PathBuf,
    size_bytes: u64,
}

#[derive(Debug)]
struct Entry {
    staged: Staged,
    message: NewMessage,
    envelope: Option<Envelope>,
}

/// A recorded pending row and where its file goes.
struct Planned {
    id: i64,
    tmp_path: PathBuf,
    final_path: PathBuf,
}

impl<'s> Batch<'s> {
    pub(crate) fn new(store: &'s MailStore, folder: Folder) -> Batch<'s> {
        Batch {
            store,
            folder,
            serial: BATCH_SERIAL.fetch_add(1, Ordering::Relaxed),
            entries: Vec::new(),
            uidls: HashSet::new(),
            size_bytes: 0,
        }
    }

    /// Creates a new private file in the folder's `tmp/` to stream one
    /// message into.
    pub fn create_file(&mut self) -> Result<StagedFile, StoreError> {
        self.stager()?.create_file()
    }

    /// A [`Stager`] creating this batch's files from another thread, so
    /// that the next messages are written while this thread commits.
    pub(crate) fn stager(&self) -> Result<Stager, StoreError> {
        self.store.writer()?;
        Ok(Stager {
            tmp: self.store.subdir_path(self.folder, Subdir::Tmp),
            batch_serial: self.serial,
        })
    }

    /// Adds a fully written file to the batch. Nothing is recorded until
    /// [`Batch::commit`].
    ///
    /// Refused (and the file removed) when a write to it failed, when
    /// `message.uidl` is invalid, already downloaded, or already in this
    /// batch, or when `staged` came from another batch.
    pub fn add(&mut self, staged: StagedFile, message: NewMessage) -> Result<(), StoreError> {
        self.add_entry(staged, message, None)
    }

    /// How many messages the batch holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bytes of all messages added so far, for batching by size.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Makes every message of the batch durable and recorded, and returns
    /// their ids in the order they were added. When this returns `Ok`, the
    /// messages survive a crash or power cut and their UIDLs count as
    /// downloaded (after a crash, once [`MailStore::open`] has finished the
    /// last step again); on `Err`, nothing of the batch is recorded or left on
    /// disk (see the module docs for the one exception).
    pub fn commit(mut self) -> Result<Vec<i64>, StoreError> {
        self.commit_staged()
    }

    /// [`Batch::commit`] for the messages added so far, keeping the batch
    /// open for more: for a download loop that commits every N messages or
    /// bytes from inside a closure that borrows the batch. On `Err` the
    /// messages added so far are gone (nothing recorded, files removed) and
    /// the batch is empty.
    pub fn commit_staged(&mut self) -> Result<Vec<i64>, StoreError> {
        let entries = mem::take(&mut self.entries);
        self.uidls.clear();
        self.size_bytes = 0;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        commit_entries(self.store, self.folder, entries)
    }

    /// Writes `bytes` as one staged file and adds it (with an envelope for
    /// the Outbox).
    pub(crate) fn add_bytes(
        &mut self,
        bytes: &[u8],
        message: NewMessage,
        envelope: Option<Envelope>,
    ) -> Result<(), StoreError> {
        let mut staged = self.create_file()?;
        if let Err(source) = staged.write_all(bytes) {
            return Err(staged
                .write_error()
                .unwrap_or_else(|| io_error(io_kind::write, source, &staged.path)));
        }
        self.add_entry(staged, message, envelope)
    }

    fn add_entry(
        &mut self,
        staged: StagedFile,
        message: NewMessage,
        envelope: Option<Envelope>,
    ) -> Result<(), StoreError> {
        if staged.batch_serial != self.serial {
            // Dropping it removes the file: whoever made it cannot add it
            // anywhere else either, as it is moved in here.
            return Err(StoreError::StagedElsewhere);
        }
        if let Some(uidl) = &message.uidl {
            uidl::check(uidl)?;
            let downloaded = uidl_row(&self.store.conn, uidl)
                .map_err(|error| super::index_error(error, &self.store.index_path))?
                .is_some_and(|(downloaded, _)| downloaded);
            if downloaded || self.uidls.contains(uidl) {
                return Err(StoreError::AlreadyDownloaded { uidl: uidl.clone() });
            }
        }
        let staged = staged.finish()?;
        if let Some(uidl) = &message.uidl {
            self.uidls.insert(uidl.clone());
        }
        self.size_bytes += staged.size_bytes;
        self.entries.push(Entry {
            staged,
            message,
            envelope,
        });
        Ok(())
    }
}

impl Drop for Batch<'_> {
    /// An uncommitted batch leaves nothing: its files are removed.
    fn drop(&mut self) {
        for entry in &self.entries {
            let _ = maildir::remove_if_present(&entry.staged.tmp_path);
        }
    }
}

impl StagedFile {
    /// Bytes written so far.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// If a write to this file failed, that failure as a [`StoreError`]
    /// ([`StoreError::DiskFull`] for a full disk). The sync engine calls it
    /// when `io::copy` fails, to tell a disk problem from a network one.
    pub fn write_error(&self) -> Option<StoreError> {
        self.failure.as_ref().map(|(kind, text)| {
            io_error(
                io_kind::write,
                io::Error::new(*kind, text.clone()),
                &self.path,
            )
        })
    }

    fn note(&mut self, error: &io::Error) {
        if error.kind() != io::ErrorKind::Interrupted && self.failure.is_none() {
            self.failure = Some((error.kind(), error.to_string()));
        }
    }

    fn refuse_after_failure(&self) -> io::Result<()> {
        match &self.failure {
            Some((kind, _)) => Err(self.with_path(io::Error::new(
                *kind,
                "an earlier write to this message file failed",
            ))),
            None => Ok(()),
        }
    }

    /// Keeps the file's path inside the `io::Error` (same kind), so that
    /// [`StoreError::from_write`] can name it after an `io::copy`.
    fn with_path(&self, source: io::Error) -> io::Error {
        io::Error::new(
            source.kind(),
            StagedWriteFailure {
                path: self.path.clone(),
                source,
            },
        )
    }

    /// Flushes and closes the file (no buffer or descriptor held while it
    /// waits for [`Batch::add`]). A failure is kept: further writes and
    /// [`Batch::add`] are refused, and the file is removed when dropped.
    pub(crate) fn close(&mut self) -> Result<(), StoreError> {
        if let Some(error) = self.write_error() {
            return Err(error);
        }
        if let Some(writer) = self.writer.take() {
            match writer.into_inner() {
                Ok(file) => drop(file),
                Err(error) => {
                    let source = io::Error::new(error.error().kind(), error.error().to_string());
                    self.note(&source);
                    // Drop the buffer without retrying the flush.
                    drop(error.into_inner().into_parts());
                    return Err(io_error(io_kind::write, source, &self.path));
                }
            }
        }
        Ok(())
    }

    /// Flushes and closes the file; on any failure the file is removed.
    fn finish(mut self) -> Result<Staged, StoreError> {
        self.close()?;
        self.kept = true;
        Ok(Staged {
            base: mem::take(&mut self.base),
            tmp_path: self.path.clone(),
            size_bytes: self.size_bytes,
        })
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.refuse_after_failure()?;
        let Some(writer) = self.writer.as_mut() else {
            return Err(io::Error::other("the message file is closed"));
        };
        match checkpoint_write().and_then(|()| writer.write(buf)) {
            Ok(written) => {
                self.size_bytes += written as u64;
                Ok(written)
            }
            Err(error) => {
                self.note(&error);
                Err(self.with_path(error))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.refuse_after_failure()?;
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        match writer.flush() {
            Ok(()) => Ok(()),
            Err(error) => {
                self.note(&error);
                Err(self.with_path(error))
            }
        }
    }
}

impl Drop for StagedFile {
    /// A staged file that was not added leaves nothing behind.
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if let Some(writer) = self.writer.take() {
            // Close without the flush BufWriter's drop would attempt.
            drop(writer.into_parts());
        }
        let _ = fs::remove_file(&self.path);
    }
}

/// Test hook for writes into a staged file (a full disk half-way).
#[cfg(test)]
fn checkpoint_write() -> io::Result<()> {
    super::tests::hooks::write_checkpoint()
}

#[cfg(not(test))]
#[inline(always)]
fn checkpoint_write() -> io::Result<()> {
    Ok(())
}

/// The commit protocol (see the module docs). Owns the clean-up of
/// `entries`' files on every error path.
fn commit_entries(
    store: &MailStore,
    folder: Folder,
    entries: Vec<Entry>,
) -> Result<Vec<i64>, StoreError> {
    let tmp_paths: Vec<PathBuf> = entries.iter().map(|e| e.staged.tmp_path.clone()).collect();
    let remove_staged = || {
        for path in &tmp_paths {
            let _ = maildir::remove_if_present(path);
        }
    };

    // 1. Rows recorded as pending, with their final names (the commit is
    // not synced on its own: step 2 does that). A failure here leaves no
    // row (or, if the commit of the rows failed in a way that still reached
    // the disk, pending rows whose files are in tmp/, which recovery
    // drops): removing the files is always right.
    let planned = store
        .writer()
        .and_then(|_| store.db_step(Step::BeforeRecord))
        .and_then(|()| store.write_txn_unsynced(|tx| record_pending(store, tx, folder, &entries)));
    let planned = match planned {
        Ok(planned) => planned,
        Err(error) => {
            remove_staged();
            return Err(error);
        }
    };

    // 2. The files' data and those rows durable; 3. final names, folders
    // fsynced; 4. rows stored, UIDLs counted.
    match sync_staged(store, folder, &entries).and_then(|()| place_and_finish(store, &planned)) {
        Ok(()) => {
            let _ = checkpoint(Step::AfterFinish);
            Ok(planned.iter().map(|p| p.id).collect())
        }
        Err(error) => {
            undo_planned(store, &planned);
            Err(error)
        }
    }
}

/// Makes the staged files' data and the pending rows durable: one `syncfs`
/// for the file system when that pays off and works (it flushes the
/// index's log too), otherwise one `fsync` per file and one for the log.
///
/// The `tmp/` folder itself is not fsynced: a file there is never trusted
/// after a crash (recovery drops its row), and the renames that follow are
/// made durable by fsyncing the folders they land in.
fn sync_staged(store: &MailStore, folder: Folder, entries: &[Entry]) -> Result<(), StoreError> {
    let tmp = store.subdir_path(folder, Subdir::Tmp);
    checkpoint(Step::BeforeSync).map_err(|source| io_error(io_kind::sync, source, &tmp))?;
    if store.sync_mode == SyncMode::Batched
        && entries.len() >= SYNCFS_MIN_FILES
        && maildir::sync_file_system(&tmp)
            .map_err(|source| io_error(io_kind::sync, source, &tmp))?
    {
        return Ok(());
    }
    for entry in entries {
        let path = &entry.staged.tmp_path;
        maildir::sync_file(path).map_err(|source| io_error(io_kind::sync, source, path))?;
    }
    store.sync_index_log()
}

/// Step 2: one transaction recording every message as pending, with its
/// final name. Re-checks each UIDL inside the transaction, so two batches
/// of the same store can never both store one UIDL.
fn record_pending(
    store: &MailStore,
    tx: &Connection,
    folder: Folder,
    entries: &[Entry],
) -> Result<Vec<Planned>, TxnError> {
    let mut planned = Vec::with_capacity(entries.len());
    let mut in_batch = HashSet::new();
    // UIDLs of rows some other commit left half done (normally none): read
    // once, not once per entry (a query per entry over the batch's own
    // pending rows cost ~10% of a download's storing time); the rows this
    // loop adds are in `in_batch`.
    let in_progress: HashSet<String> = if entries.iter().any(|e| e.message.uidl.is_some()) {
        tx.prepare_cached(
            "SELECT uidl FROM messages WHERE state >= 3 AND state <= 4 AND uidl IS NOT NULL",
        )?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?
    } else {
        HashSet::new()
    };
    for entry in entries {
        let message = &entry.message;
        let mut row_folder = folder;
        let mut upgrade = None;
        if let Some(uidl) = &message.uidl {
            let duplicate = || StoreError::AlreadyDownloaded { uidl: uidl.clone() };
            if !in_batch.insert(uidl.as_str()) {
                return Err(duplicate().into());
            }
            match uidl_row(tx, uidl)? {
                Some((true, _)) => return Err(duplicate().into()),
                Some((false, Some(id))) => {
                    let headers_only = tx
                        .prepare_cached("SELECT folder FROM messages WHERE id = ?1 AND state = ?2")?
                        .query_row(params![id, state::HEADERS_ONLY], |row| {
                            index::folder_at(row, 0)
                        })
                        .optional()?;
                    if let Some(existing_folder) = headers_only {
                        // Fill in the headers-only entry where it is.
                        row_folder = existing_folder;
                        upgrade = Some(id);
                    }
                }
                _ => {}
            }
            if in_progress.contains(uidl.as_str()) {
                return Err(duplicate().into());
            }
        }

        let (subdir, file_name) = maildir::placement(&entry.staged.base, message.flags);
        let location = Location {
            folder: row_folder,
            subdir,
            file_name,
        };
        let id = match upgrade {
            Some(id) => {
                tx.prepare_cached(
                    "UPDATE messages SET state = ?2, subdir = ?3, file_name = ?4,
                         staged_folder = ?5, size = ?6, server_size = coalesce(?7, server_size),
                         seen = ?8, answered = ?9, flagged = ?10
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    state::PENDING_UPGRADE,
                    location.subdir.as_str(),
                    location.file_name,
                    folder.as_str(),
                    index::to_i64(entry.staged.size_bytes),
                    message.server_size.map(index::to_i64),
                    message.flags.seen,
                    message.flags.answered,
                    message.flags.flagged,
                ])?;
                write_summary(tx, id, &message.summary)?;
                id
            }
            None => insert_row(
                tx,
                row_folder,
                state::PENDING_NEW,
                Some(&location),
                Some(folder),
                message,
                entry.staged.size_bytes,
            )?,
        };
        if let Some(envelope) = &entry.envelope {
            tx.prepare_cached(
                "INSERT INTO outbox (message_id, envelope_from, recipients) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                id,
                envelope.from,
                index::to_json(&envelope.recipients)
            ])?;
        }
        planned.push(Planned {
            id,
            tmp_path: entry.staged.tmp_path.clone(),
            final_path: store.location_path(&location),
        });
    }
    Ok(planned)
}

/// Steps 3 and 4: rename every file to its final name, fsync the folders
/// that received them, then mark the rows stored in one transaction. That
/// transaction is not synced on its own: if a crash loses it, recovery
/// finds each file in its final place and marks the row stored just the
/// same, so the messages are durable once the folders are synced.
fn place_and_finish(store: &MailStore, planned: &[Planned]) -> Result<(), StoreError> {
    for (n, plan) in planned.iter().enumerate() {
        checkpoint(Step::BeforeRename(n))
            .and_then(|()| fs::rename(&plan.tmp_path, &plan.final_path))
            .map_err(|source| io_error(io_kind::rename, source, &plan.final_path))?;
    }
    let mut synced = HashSet::new();
    for plan in planned {
        if synced.insert(plan.final_path.parent()) {
            store.sync_dir_of(&plan.final_path)?;
        }
    }
    store.db_step(Step::BeforeFinish)?;
    store.write_txn_unsynced(|tx| {
        for plan in planned {
            finish_pending(tx, plan.id)?;
        }
        Ok(())
    })
}

/// Undoes a commit that failed after its rows were recorded: removes the
/// files of rows still pending (final and tmp names), then drops those rows.
/// If any of that fails, leaves the rest to recovery (`needs_recovery`),
/// which finishes what has a file and drops what has none.
fn undo_planned(store: &MailStore, planned: &[Planned]) {
    let still_pending = |id: i64| -> rusqlite::Result<bool> {
        store.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND state IN (?2, ?3))",
            params![id, state::PENDING_NEW, state::PENDING_UPGRADE],
            |row| row.get(0),
        )
    };
    let mut undo = Vec::new();
    for plan in planned {
        match still_pending(plan.id) {
            Ok(true) => undo.push(plan),
            Ok(false) => {}
            Err(_) => {
                store.needs_recovery.set(true);
                return;
            }
        }
    }
    let mut dirs = HashSet::new();
    for plan in &undo {
        let removed = maildir::remove_if_present(&plan.final_path)
            .and_then(|()| maildir::remove_if_present(&plan.tmp_path));
        if removed.is_err() {
            store.needs_recovery.set(true);
            return;
        }
        dirs.insert(plan.final_path.parent());
    }
    for dir in dirs.into_iter().flatten() {
        // Best effort: the removal is what matters, and recovery copes with
        // a file that comes back.
        let _ = maildir::sync_dir(dir);
    }
    let undone = store.write_txn(|tx| {
        for plan in &undo {
            undo_pending(tx, plan.id)?;
        }
        Ok(())
    });
    if undone.is_err() {
        store.needs_recovery.set(true);
    }
}
