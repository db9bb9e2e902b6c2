//! The SQLite index: schema, opening and checking the file, and turning
//! rows into [`StoredMessage`]s.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};

use super::error::index_error;
use super::maildir::{self, Subdir};
use super::{Flags, Folder, MessageSummary, StoreError, StoredMessage};

/// Marks the file as Herald's (`PRAGMA application_id`, "HRLD"), so another
/// program's database is refused instead of being written into.
pub(crate) const APPLICATION_ID: i32 = 0x4852_4C44;

/// The index format this build writes (`PRAGMA user_version`). A later
/// format adds a migration from each older one in [`open`].
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Row states. Only [`STORED`] and [`HEADERS_ONLY`] are ever shown; the
/// others exist between the steps of a durable operation and are settled by
/// recovery when the store is opened.
pub(crate) mod state {
    /// The message file is in `new/` or `cur/` and the row is final.
    pub(crate) const STORED: i64 = 1;
    /// Only the headers are known (over the size limit); no file.
    pub(crate) const HEADERS_ONLY: i64 = 2;
    /// A download or local add whose file is in `tmp/` (synced) or already
    /// renamed to its final name; not yet counted.
    pub(crate) const PENDING_NEW: i64 = 3;
    /// Like [`PENDING_NEW`], replacing a headers-only row in place: undoing
    /// it restores the headers-only row.
    pub(crate) const PENDING_UPGRADE: i64 = 4;
    /// Being deleted for good: the file may or may not be gone yet.
    pub(crate) const REMOVING: i64 = 5;
}

const SCHEMA: &str = "
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder TEXT NOT NULL,
    state INTEGER NOT NULL,
    -- where the file is: folder's sub-folder ('new' or 'cur') and name
    subdir TEXT,
    file_name TEXT,
    -- while pending: the folder whose tmp/ held the file
    staged_folder TEXT,
    -- while moving or renaming (flags): where the file is going
    dest_folder TEXT,
    dest_subdir TEXT,
    dest_file_name TEXT,
    uidl TEXT,
    server_size INTEGER,
    size INTEGER NOT NULL,
    from_name TEXT,
    from_addr TEXT,
    to_addrs TEXT NOT NULL,
    cc_addrs TEXT NOT NULL,
    subject TEXT,
    date INTEGER,
    message_id TEXT,
    has_attachments INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    sort_date INTEGER NOT NULL,
    from_sort TEXT NOT NULL,
    subject_sort TEXT NOT NULL
);
CREATE INDEX messages_by_date ON messages(folder, sort_date) WHERE state IN (1, 2);
CREATE INDEX messages_by_from ON messages(folder, from_sort) WHERE state IN (1, 2);
CREATE INDEX messages_by_subject ON messages(folder, subject_sort) WHERE state IN (1, 2);
CREATE INDEX messages_by_size ON messages(folder, size) WHERE state IN (1, 2);
-- counts (all, unread) from the index alone
CREATE INDEX messages_counts ON messages(folder, state, seen);
CREATE INDEX messages_unsettled ON messages(state) WHERE state >= 3;
CREATE INDEX messages_moving ON messages(dest_folder) WHERE dest_folder IS NOT NULL;

CREATE TABLE uidls (
    uidl TEXT PRIMARY KEY NOT NULL,
    first_seen INTEGER NOT NULL,
    downloaded INTEGER NOT NULL DEFAULT 0,
    deleted_locally INTEGER NOT NULL DEFAULT 0,
    message_id INTEGER,
    delete_on_server INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX uidls_by_message ON uidls(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX uidls_to_delete ON uidls(delete_on_server) WHERE delete_on_server = 1;

CREATE TABLE outbox (
    message_id INTEGER PRIMARY KEY,
    envelope_from TEXT NOT NULL,
    recipients TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    permanent INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER
);
";

/// Opens (and on first use creates) the index at `path`.
///
/// Refuses a file that is not an SQLite database or is damaged
/// ([`StoreError::CorruptIndex`]), another program's database
/// ([`StoreError::ForeignIndex`]) and a newer Herald's format
/// ([`StoreError::NewerIndex`]).
///
/// Writable connections use WAL with `synchronous=FULL`: every commit is
/// fsynced before it returns, unless the store asks for one commit without
/// (`MailStore::write_txn_unsynced`) because it makes that commit durable
/// itself or recovery repairs its loss. That is what lets the sync engine
/// delete a message on the server right after a batch commit.
pub(crate) fn open(path: &Path, writable: bool) -> Result<Connection, StoreError> {
    let ix = |error| index_error(error, path);
    let flags = if writable {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        // Read-write without create, then query_only: a read-only open of a
        // WAL database fails when its -shm file has to be created.
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(ix)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(ix)?;
    if !writable {
        conn.pragma_update(None, "query_only", true).map_err(ix)?;
    }

    // The first read of a file that is not a database fails here with
    // "file is not a database", which index_error classifies as corrupt.
    let application_id: i32 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(ix)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(ix)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(ix)?;

    let fresh = application_id == 0 && version == 0 && tables == 0;
    if !fresh {
        if application_id != APPLICATION_ID {
            return Err(StoreError::ForeignIndex {
                path: path.to_owned(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerIndex {
                found: version,
                supported: SCHEMA_VERSION,
                path: path.to_owned(),
            });
        }
        if version < 1 {
            // Our id but no format: a creation that never committed cannot
            // leave this (it is one transaction), so something else wrote it.
            return Err(StoreError::ForeignIndex {
                path: path.to_owned(),
            });
        }
    }

    if writable {
        // WAL: readers (the window, a CLI command) never block the writer,
        // and a commit is one append + fsync.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(ix)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(ix)?;
        // macOS: a plain fsync does not reach the platter; F_FULLFSYNC does
        // (and std's sync_all already uses it for our files). Ignored
        // elsewhere.
        conn.pragma_update(None, "fullfsync", true).map_err(ix)?;
        conn.pragma_update(None, "checkpoint_fullfsync", true)
            .map_err(ix)?;
        if fresh {
            let create = format!(
                "BEGIN IMMEDIATE;
                 {SCHEMA}
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = {SCHEMA_VERSION};
                 COMMIT;"
            );
            if let Err(error) = conn.execute_batch(&create) {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(ix(error));
            }
        }
    } else if fresh {
        return Err(StoreError::Index {
            source: "the index has not been created yet".into(),
            path: path.to_owned(),
        });
    }
    Ok(conn)
}

/// The columns [`message_from_row`] reads, in order.
pub(crate) const MESSAGE_COLUMNS: &str = "id, folder, state, subdir, file_name, uidl, size, \
     from_name, from_addr, to_addrs, cc_addrs, subject, date, message_id, has_attachments, \
     seen, answered, flagged, received_at";

/// Builds a [`StoredMessage`] from a row selected with [`MESSAGE_COLUMNS`].
pub(crate) fn message_from_row(
    row: &Row<'_>,
    maildir_root: &Path,
) -> rusqlite::Result<StoredMessage> {
    let folder = folder_at(row, 1)?;
    let state: i64 = row.get(2)?;
    let subdir: Option<String> = row.get(3)?;
    let file_name: Option<String> = row.get(4)?;
    let downloaded = state == state::STORED;
    let path = match (
        downloaded,
        subdir.as_deref().and_then(Subdir::from_name),
        file_name,
    ) {
        (true, Some(subdir), Some(name)) => {
            Some(maildir::subdir_path(maildir_root, folder, subdir).join(name))
        }
        _ => None,
    };
    Ok(StoredMessage {
        id: row.get(0)?,
        folder,
        uidl: row.get(5)?,
        size: to_u64(row.get(6)?),
        summary: MessageSummary {
            from_name: row.get(7)?,
            from_addr: row.get(8)?,
            to: json_list(row, 9)?,
            cc: json_list(row, 10)?,
            subject: row.get(11)?,
            date: row.get(12)?,
            message_id: row.get(13)?,
            has_attachments: row.get(14)?,
        },
        flags: Flags {
            seen: row.get(15)?,
            answered: row.get(16)?,
            flagged: row.get(17)?,
        },
        downloaded,
        path,
        received_at: row.get(18)?,
    })
}

/// Reads a folder name column.
pub(crate) fn folder_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Folder> {
    let name: String = row.get(index)?;
    Folder::parse(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown folder {name:?}").into(),
        )
    })
}

/// Reads a JSON list of strings (To, Cc, envelope recipients).
pub(crate) fn json_list(row: &Row<'_>, index: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, error.into())
    })
}

/// Encodes a list of strings as JSON: any text (even with newlines or
/// commas) round-trips, and a later search can still `LIKE` into it.
pub(crate) fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

/// Sizes are `u64` in Rust and `INTEGER` (i64) in SQLite.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The reverse of [`to_i64`]; a negative value (never written) reads as 0.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The key the "From" column sorts by: the display name, else the address,
/// lowercased (Unicode), so "alice" and "Bob" sort as a person expects.
pub(crate) fn from_sort_key(summary: &MessageSummary) -> String {
    summary
        .from_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .or(summary.from_addr.as_deref())
        .unwrap_or("")
        .trim()
        .to_lowercase()
}

/// The key the "Subject" column sorts by: lowercased, without leading
/// reply/forward prefixes (`Re:`, `Fwd:`, `Fw:`, `Aw:`, `Sv:`, repeated),
/// so a reply sorts next to the message it answers.
pub(crate) fn subject_sort_key(subject: Option<&str>) -> String {
    let mut rest = subject.unwrap_or("").trim().to_lowercase();
    loop {
        let stripped = ["re:", "fwd:", "fw:", "aw:", "sv:"]
            .iter()
            .find_map(|prefix| rest.strip_prefix(prefix))
            .map(|tail| tail.trim_start().to_owned());
        match stripped {
            Some(tail) => rest = tail,
            None => return rest,
        }
    }
}
