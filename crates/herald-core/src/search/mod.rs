//! Searching mail: the words of a query, what each word is matched against
//! in the list columns (subject, names, addresses), and a full-text index of
//! message text so a search also finds words in the body.
//!
//! # The text index
//!
//! One SQLite file per account beside its mailbox (`<dir>/search.sqlite`),
//! an FTS5 table keyed by the store's message id, with the `unicode61`
//! tokenizer (Unicode case folding, diacritics removed, so `uber` finds
//! `Über` and `привет` finds `Привет`). Chinese, Japanese and Korean have
//! no spaces between words, so each of their characters is indexed as its
//! own token and a query word written in them is matched as a phrase of
//! characters: `发票` finds `请查收发票。`. A query word matches the start of
//! a word in the text (`invo` finds `invoice`).
//!
//! The index is a cache: it can be deleted at any time and is rebuilt from
//! the message files by [`SearchIndex::update`], which indexes what the
//! store has and the index lacks (newest first) and forgets what the store
//! no longer has. It runs beside the account's worker (it only reads the
//! store) and never blocks it; one updater at a time holds `search.lock`.
//! Commits are not fsynced: a crash loses at most the last batch, which the
//! next update redoes.

mod text;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use crate::error::{Classify, ErrorKind};
use crate::store::{MailStore, MessageFile, MessageSummary, StoreError};

pub use text::{searchable_text, to_index_text};

/// The index file's name inside an account's mailbox folder.
pub const INDEX_FILE_NAME: &str = "search.sqlite";

/// At most this much of a message file is read for its text: the text
/// parts come first in nearly every message; a large attachment after them
/// is not read.
pub const MAX_FILE_BYTES_READ: u64 = 8 * 1024 * 1024;

/// At most this much text (bytes of UTF-8) of one message is indexed.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Messages indexed per transaction (and between progress reports).
const BATCH: usize = 200;

/// Marks the file as Herald's search index (`PRAGMA application_id`, "HRLS").
const APPLICATION_ID: i32 = 0x4852_4C53;

/// The format this build writes (`PRAGMA user_version`); another value
/// means the file is rebuilt.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE indexed (
    id INTEGER PRIMARY KEY,
    -- the message file's name before ':' (stable across flag changes and
    -- moves): a store rebuilt from scratch reuses ids for other messages
    base_name TEXT NOT NULL
);
CREATE VIRTUAL TABLE bodies USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
";

/// Why the search index could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The index file could not be opened, created or queried.
    #[error("the search index {path} could not be used")]
    Index {
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
        /// The index file.
        path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error("the search index lock {path} could not be taken")]
    Lock {
        /// The I/O error.
        #[source]
        source: std::io::Error,
        /// The lock file.
        path: PathBuf,
    },
    /// The mailbox could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for SearchError {
    fn kind(&self) -> ErrorKind {
        match self {
            SearchError::Index { .. } | SearchError::Lock { .. } => ErrorKind::Storage,
            SearchError::Store(error) => error.kind(),
        }
    }
}

/// How much of a mailbox the index covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Messages whose text is in the index.
    pub indexed: u64,
    /// Downloaded messages in the mailbox.
    pub total: u64,
}

impl Coverage {
    /// True when every downloaded message is indexed.
    pub fn complete(&self) -> bool {
        self.indexed >= self.total
    }
}

/// The words of a search: split at white space, lowercased. A message
/// matches when it matches every word.
pub fn query_words(query: &str) -> Vec<String> {
    query.split_whitespace().map(str::to_lowercase).collect()
}

/// The text a query word is looked for in, besides the message text: the
/// subject, the sender's name and address, To and Cc, lowercased, one per
/// line. A word matches it when it is contained in it anywhere.
pub fn header_haystack(summary: &MessageSummary) -> String {
    let mut haystack = String::new();
    for part in [&summary.subject, &summary.from_name, &summary.from_addr]
        .into_iter()
        .flatten()
        .chain(summary.to.iter())
        .chain(summary.cc.iter())
    {
        haystack.push_str(&part.to_lowercase());
        haystack.push('\n');
    }
    haystack
}

/// True when every word is in the message's `haystack`
/// ([`header_haystack`]) or, per `text_hits`, in its text: what the window's
/// search box and `herald list --search` show.
pub fn matches(words: &[String], haystack: &str, text_hits: Option<&TextHits>, id: i64) -> bool {
    words.iter().enumerate().all(|(n, word)| {
        haystack.contains(word.as_str()) || text_hits.is_some_and(|hits| hits.contains(n, id))
    })
}

/// For each query word, the ids of the messages whose text contains it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextHits {
    /// One set per query word ([`query_words`]), in the same order.
    pub ids: Vec<HashSet<i64>>,
}

impl TextHits {
    /// True if the message's text contains word number `word`.
    pub fn contains(&self, word: usize, id: i64) -> bool {
        self.ids.get(word).is_some_and(|ids| ids.contains(&id))
    }
}

/// One account's search index.
pub struct SearchIndex {
    conn: Connection,
    dir: PathBuf,
    path: PathBuf,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .finish()
    }
}

impl SearchIndex {
    /// Opens the index of the mailbox in `mailbox_dir`, creating it (and
    /// the folder) if needed. A damaged file, another program's file or
    /// another format is replaced by a new, empty index: it is only a cache.
    pub fn open(mailbox_dir: &Path) -> Result<SearchIndex, SearchError> {
        let path = mailbox_dir.join(INDEX_FILE_NAME);
        let ix = |source| SearchError::Index {
            source,
            path: path.clone(),
        };
        std::fs::create_dir_all(mailbox_dir).map_err(|source| SearchError::Lock {
            source,
            path: mailbox_dir.to_owned(),
        })?;
        let conn = match open_checked(&path) {
            Ok(conn) => conn,
            Err(_) => {
                // Rebuildable: start again rather than fail every search.
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(name));
                }
                open_checked(&path).map_err(ix)?
            }
        };
        Ok(SearchIndex {
            conn,
            dir: mailbox_dir.to_owned(),
            path,
        })
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Brings the index up to date with `store` (the same mailbox, usually
    /// opened read-only): forgets messages the store no longer has and
    /// indexes the ones it lacks, newest first, [`BATCH`] per transaction.
    /// After each batch `progress` is told the coverage so far; returning
    /// `false` stops there (what was committed stays). Waits while another
    /// process updates the same index.
    pub fn update(
        &mut self,
        store: &MailStore,
        progress: &mut dyn FnMut(Coverage) -> bool,
    ) -> Result<Coverage, SearchError> {
        let _lock = self.lock()?;
        let files = store.message_files()?;
        let total = files.len() as u64;
        let known = self.indexed_names()?;

        let mut wanted: HashMap<i64, &MessageFile> = HashMap::with_capacity(files.len());
        for file in &files {
            wanted.insert(file.id, file);
        }
        let stale: HashSet<i64> = known
            .iter()
            .filter(|(id, base)| {
                wanted
                    .get(id)
                    .is_none_or(|file| base_name(&file.path) != base.as_str())
            })
            .map(|(id, _)| *id)
            .collect();
        if !stale.is_empty() {
            let ix = self.ix();
            let tx = self.conn.transaction().map_err(&ix)?;
            for id in &stale {
                tx.execute("DELETE FROM bodies WHERE rowid = ?1", [id])
                    .map_err(&ix)?;
                tx.execute("DELETE FROM indexed WHERE id = ?1", [id])
                    .map_err(&ix)?;
            }
            tx.commit().map_err(&ix)?;
        }

        let mut todo: Vec<&MessageFile> = files
            .iter()
            .filter(|file| !known.contains_key(&file.id) || stale.contains(&file.id))
            .collect();
        // Newest first: recent mail is what people search most.
        todo.sort_by_key(|file| std::cmp::Reverse(file.id));
        let mut indexed = total - todo.len() as u64;
        for chunk in todo.chunks(BATCH) {
            let texts: Vec<(i64, String, String)> = chunk
                .iter()
                .filter_map(|file| {
                    // A file renamed meanwhile (flags changed) is picked up
                    // by the next update.
                    let raw = read_prefix(&file.path, MAX_FILE_BYTES_READ).ok()?;
                    Some((
                        file.id,
                        base_name(&file.path).to_owned(),
                        searchable_text(raw),
                    ))
                })
                .collect();
            let ix = self.ix();
            let tx = self.conn.transaction().map_err(&ix)?;
            for (id, base, text) in &texts {
                tx.execute(
                    "INSERT INTO bodies (rowid, text) VALUES (?1, ?2)",
                    params![id, to_index_text(text)],
                )
                .map_err(&ix)?;
                tx.execute(
                    "INSERT INTO indexed (id, base_name) VALUES (?1, ?2)",
                    params![id, base],
                )
                .map_err(&ix)?;
            }
            tx.commit().map_err(&ix)?;
            indexed += texts.len() as u64;
            if !progress(Coverage { indexed, total }) {
                break;
            }
        }
        Ok(Coverage {
            indexed: indexed.min(total),
            total,
        })
    }

    /// How many of `store`'s downloaded messages are indexed.
    pub fn coverage(&self, store: &MailStore) -> Result<Coverage, SearchError> {
        let files = store.message_files()?;
        let known = self.indexed_names()?;
        let indexed = files
            .iter()
            .filter(|file| {
                known
                    .get(&file.id)
                    .is_some_and(|base| base == base_name(&file.path))
            })
            .count() as u64;
        Ok(Coverage {
            indexed,
            total: files.len() as u64,
        })
    }

    /// For each of `words` ([`query_words`]), the ids of the indexed
    /// messages whose text has a word starting with it (a word in Chinese,
    /// Japanese or Korean: containing it). A word without letters or digits
    /// matches no text.
    pub fn find(&self, words: &[String]) -> Result<Vec<HashSet<i64>>, SearchError> {
        let ix = self.ix();
        let mut statement = self
            .conn
            .prepare_cached("SELECT rowid FROM bodies WHERE bodies MATCH ?1")
            .map_err(&ix)?;
        let mut found = Vec::with_capacity(words.len());
        for word in words {
            let mut ids = HashSet::new();
            if let Some(expression) = text::match_expression(word) {
                // A word the tokenizer reduces to nothing is a syntax error
                // for FTS5: it matches no text, like a word without letters.
                if let Ok(rows) = statement.query_map([expression], |row| row.get::<_, i64>(0)) {
                    for id in rows.flatten() {
                        ids.insert(id);
                    }
                }
            }
            found.push(ids);
        }
        Ok(found)
    }

    fn indexed_names(&self) -> Result<HashMap<i64, String>, SearchError> {
        let ix = self.ix();
        let mut statement = self
            .conn
            .prepare_cached("SELECT id, base_name FROM indexed")
            .map_err(&ix)?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(&ix)?;
        rows.collect::<Result<_, _>>().map_err(ix)
    }

    fn lock(&self) -> Result<File, SearchError> {
        let path = self.dir.join("search.lock");
        let lock_error = |source| SearchError::Lock {
            source,
            path: path.clone(),
        };
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(lock_error)?;
        file.lock().map_err(lock_error)?;
        Ok(file)
    }

    fn ix(&self) -> impl Fn(rusqlite::Error) -> SearchError + use<> {
        let path = self.path.clone();
        move |source| SearchError::Index {
            source,
            path: path.clone(),
        }
    }
}

/// Searches every word in one mailbox's index ([`SearchIndex::find`]);
/// indexes nothing and does not read the store (how much the index covers
/// is what [`SearchIndex::update`] reports).
pub fn find_in_mailbox(mailbox_dir: &Path, words: &[String]) -> Result<TextHits, SearchError> {
    Ok(TextHits {
        ids: SearchIndex::open(mailbox_dir)?.find(words)?,
    })
}

/// Updates one mailbox's index ([`SearchIndex::update`]), opening the store
/// read-only beside its writer. A mailbox that has no index yet (nothing
/// downloaded) is empty, not an error.
pub fn update_mailbox(
    mailbox_dir: &Path,
    progress: &mut dyn FnMut(Coverage) -> bool,
) -> Result<Coverage, SearchError> {
    if !mailbox_dir.join("index.sqlite").is_file() {
        return Ok(Coverage::default());
    }
    let store = MailStore::open_read_only(mailbox_dir)?;
    SearchIndex::open(mailbox_dir)?.update(&store, progress)
}

/// Opens the index and checks it is ours and current, creating it when
/// the file is new.
fn open_checked(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let application_id: i32 = conn.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
        row.get::<_, String>(0)
    })?;
    // A cache: a crash may lose the last batch, which the next update redoes.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    if tables == 0 {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;
             {SCHEMA}
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};
             COMMIT;"
        ))?;
    } else if application_id != APPLICATION_ID || version != SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidQuery);
    }
    Ok(conn)
}

/// Reads at most `limit` bytes of a file.
fn read_prefix(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    File::open(path)?.take(limit).read_to_end(&mut raw)?;
    Ok(raw)
}

/// A Maildir file name without its `:2,FLAGS` info.
fn base_name(path: &Path) -> &str {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    name.split(':').next().unwrap_or(name)
}
