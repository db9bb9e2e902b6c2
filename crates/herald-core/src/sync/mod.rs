//! Getting mail: one POP3 session that brings the local mailbox up to date.
//!
//! CAPA → login → STAT → UIDL (+ LIST sizes) → download only new UIDLs →
//! apply the deletion policy → QUIT.
//!
//! **Nothing is lost.** A message counts as downloaded only once its file is
//! durable and its UIDL committed in the index ([`crate::store`] batches
//! this); DELE is sent only for messages whose local copy is durable, and
//! deletions take effect only at a successful QUIT. If the connection drops
//! or the process dies anywhere, the next sync resumes: it downloads what is
//! missing, never twice, and deletes nothing that is not stored.

#[cfg(test)]
mod pipeline_tests;
mod server_view;
#[cfg(test)]
pub(crate) mod tests;
mod uidl;

pub use server_view::{ServerMessage, delete_from_server, download_from_server, list_server};
pub use uidl::{Uidl, UidlProblem};

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};
use std::time::Instant;

use crate::account::{Account, DeletionPolicy};
use crate::error::{Classify, ErrorKind};
use crate::message::Summary;
use crate::net::{CancelToken, NetError};
use crate::pop3::{MessageRefused, Pop3Error, Pop3Session};
use crate::store::{self, MailStore, StoreError};

/// A batch is committed (made durable) after this many messages…
const BATCH_MESSAGES: usize = 250;
/// …or this many bytes, whichever comes first.
const BATCH_BYTES: u64 = 16 * 1024 * 1024;
/// Idle time after which a NOOP keeps the POP3 session alive (servers
/// must wait at least 10 minutes; some wait less).
const KEEPALIVE_AFTER: std::time::Duration = std::time::Duration::from_secs(30);
/// The first bytes of each message are kept in memory to summarise it.
const SUMMARY_PREFIX_BYTES: usize = crate::message::FULL_PARSE_LIMIT_BYTES;
/// How many of the messages that arrived a [`SyncReport`] describes.
pub const ARRIVED_LIMIT: usize = 3;

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// Messages on the server when the sync started.
    pub on_server: u32,
    /// Messages downloaded in full.
    pub downloaded: u32,
    /// Messages over the size limit, recorded from their headers only.
    pub headers_only: u32,
    /// Messages already stored locally.
    pub skipped: u32,
    /// Messages deleted on the server by the deletion policy.
    pub deleted_on_server: u32,
    /// Message bytes downloaded.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Things the user should know that did not stop the sync (a message
    /// the server would not send, a server without UIDL, a hostile UIDL…).
    pub warnings: Vec<String>,
    /// The first of the messages downloaded in full (at most
    /// [`ARRIVED_LIMIT`], in the server's order, each only once its copy is
    /// durable), so a notification can say who wrote and about what without
    /// reading the mailbox. Not part of `herald fetch --json`.
    #[serde(skip)]
    pub arrived: Vec<Arrived>,
}

/// Who sent a message that has just arrived, and its subject (from the
/// summary made while downloading; neutralised for display).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrived {
    /// The display name of the first From address.
    pub from_name: Option<String>,
    /// The first From address (`user@example.com`).
    pub from_addr: Option<String>,
    /// The decoded Subject.
    pub subject: Option<String>,
}

/// Where a sync is, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Connecting and logging in.
    Connecting,
    /// Reading the list of messages on the server.
    Listing,
    /// Downloading: `done` of `total` messages, `bytes` of `total_bytes`.
    Downloading {
        /// Messages finished.
        done: u32,
        /// Messages to download in this sync.
        total: u32,
        /// Bytes received for those messages.
        bytes: u64,
        /// Their total size as listed by the server.
        total_bytes: u64,
    },
    /// Deleting `count` messages on the server.
    Deleting {
        /// How many.
        count: u32,
    },
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The POP3 session failed.
    #[error(transparent)]
    Pop3(#[from] Pop3Error),
    /// The local mailbox failed (disk full, permissions).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Account settings (for example the extra CA file) are unusable.
    #[error(transparent)]
    Account(#[from] crate::account::AccountError),
}

impl Classify for SyncError {
    fn kind(&self) -> ErrorKind {
        match self {
            SyncError::Pop3(error) => error.kind(),
            SyncError::Store(error) => error.kind(),
            SyncError::Account(error) => error.kind(),
        }
    }

    fn certificate(&self) -> Option<&crate::net::tls::CertificateProblem> {
        match self {
            SyncError::Pop3(error) => error.certificate(),
            SyncError::Store(_) | SyncError::Account(_) => None,
        }
    }
}

pub use crate::session::Session;

/// One message on the server as this sync sees it.
#[derive(Debug, Clone)]
struct Listed {
    number: u32,
    uidl: Uidl,
    size: u64,
}

/// Brings `store` up to date with the account's POP3 mailbox.
pub fn get_mail(
    session: &Session<'_>,
    store: &mut MailStore,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    get_mail_or_partial(session, store, progress).map_err(|stopped| stopped.error)
}

/// A sync that failed, and what it had done before.
#[derive(Debug)]
pub struct SyncStopped {
    /// Why it stopped.
    pub error: SyncError,
    /// What it did before it stopped, once it had read the server's list
    /// (`None` when it failed before: connecting, logging in, listing).
    /// `downloaded` and `bytes` count only messages made durable; nothing
    /// was deleted on the server unless `deleted_on_server` says so.
    pub partial: Option<SyncReport>,
}

/// [`get_mail`], keeping the report of a sync that fails midway.
pub fn get_mail_or_partial(
    session: &Session<'_>,
    store: &mut MailStore,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, Box<SyncStopped>> {
    let started = Instant::now();
    let mut report = SyncReport::default();
    let mut listed = false;
    let outcome = sync_into(session, store, progress, &mut report, &mut listed);
    report.seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => Ok(report),
        Err(error) => Err(Box::new(SyncStopped {
            error,
            partial: listed.then_some(report),
        })),
    }
}

/// The sync itself, filling `report` as it goes; `listed_yet` is set once
/// the server's list was read.
fn sync_into(
    session: &Session<'_>,
    store: &mut MailStore,
    progress: &mut dyn FnMut(Progress),
    report: &mut SyncReport,
    listed_yet: &mut bool,
) -> Result<(), SyncError> {
    progress(Progress::Connecting);
    let mut client = session.open_pop3()?;
    progress(Progress::Listing);
    let Listing {
        messages: listed,
        present,
    } = list_all(&mut client, report)?;
    *listed_yet = true;
    let now = store::unix_now();

    let states = store.uidl_states()?;
    // Only a UIDL the server no longer lists at all is forgotten: one that
    // is merely left alone this time (listed twice) or a listing with a
    // message we could not name must not make a stored message look new.
    let vanished: Vec<String> = match &present {
        Some(present) => states
            .keys()
            .filter(|uidl| !present.contains(uidl.as_str()))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    store.forget_uidls(&vanished)?;
    let seen: Vec<&str> = listed.iter().map(|m| m.uidl.as_str()).collect();
    store.note_seen_on_server(&seen, now)?;

    let size_limit = session.account.max_message_size_bytes;
    let mut to_download = Vec::new();
    let mut headers_only = Vec::new();
    for message in &listed {
        match states.get(message.uidl.as_str()) {
            Some(state) if state.downloaded || state.deleted_locally => report.skipped += 1,
            Some(state)
                if state.message_id.is_some()
                    && size_limit.is_some_and(|limit| message.size > limit) =>
            {
                // Already recorded from its headers; waits for the user.
                report.skipped += 1;
            }
            _ if size_limit.is_some_and(|limit| message.size > limit) => {
                headers_only.push(message.clone());
            }
            _ => to_download.push(message.clone()),
        }
    }

    record_headers_only(&mut client, store, &headers_only, report)?;
    download(
        &mut client,
        store,
        &to_download,
        report,
        session.cancel,
        progress,
    )?;
    // The last batch commit is local work with the session open: if it (or
    // anything else) kept the server waiting, show it we are still here
    // before the DELEs.
    client.keep_alive(KEEPALIVE_AFTER)?;

    let deletions = deletion_candidates(session.account, store, &listed, now)?;
    if !deletions.is_empty() {
        progress(Progress::Deleting {
            count: deletions.len() as u32,
        });
    }
    let deleted = delete_and_quit(client, &deletions, report)?;
    // Done on the server, whatever happens to the index now.
    report.deleted_on_server = deleted.len() as u32;
    store.mark_deleted_on_server(&deleted)?;
    Ok(())
}

/// Sends DELE for `messages`, then QUIT, which is what makes deletions
/// happen. Returns the UIDLs actually deleted: none if QUIT failed, and never
/// one whose DELE the server refused.
fn delete_and_quit(
    mut client: Pop3Session,
    messages: &[Listed],
    report: &mut SyncReport,
) -> Result<Vec<String>, SyncError> {
    let numbers: Vec<u32> = messages.iter().map(|m| m.number).collect();
    let refused = if numbers.is_empty() {
        Vec::new()
    } else {
        client.delete_many(&numbers)?
    };
    client.quit()?;
    for refusal in &refused {
        report.warnings.push(refusal.to_string());
    }
    Ok(messages
        .iter()
        .filter(|m| !refused.iter().any(|r| r.msg_num == m.number))
        .map(|m| m.uidl.to_string())
        .collect())
}

/// What one listing of the server found.
struct Listing {
    /// The messages this session can act on, by number.
    messages: Vec<Listed>,
    /// Every valid UIDL the server listed, duplicates included; `None` when
    /// some message got no id at all (a server without UIDL refused its
    /// TOP), so that nobody can tell which UIDLs have gone.
    present: Option<HashSet<String>>,
}

/// STAT, UIDL and LIST, with UIDLs validated: a message with an invalid or
/// duplicated UIDL is left alone (never downloaded, never deleted) with a
/// warning. A server without UIDL gets stable ids from its headers.
fn list_messages(
    client: &mut Pop3Session,
    report: &mut SyncReport,
) -> Result<Vec<Listed>, SyncError> {
    list_all(client, report).map(|listing| listing.messages)
}

/// [`list_messages`], with what the server listed besides.
fn list_all(client: &mut Pop3Session, report: &mut SyncReport) -> Result<Listing, SyncError> {
    let (count, _octets) = client.stat()?;
    report.on_server = count;
    if count == 0 {
        return Ok(Listing {
            messages: Vec::new(),
            present: Some(HashSet::new()),
        });
    }
    let sizes: HashMap<u32, u64> = client.list()?.into_iter().collect();
    let raw_uidls = match client.uidl()? {
        Some(uidls) => uidls,
        None => {
            report.warnings.push(
                "the server does not support UIDL: messages are recognised by their headers instead"
                    .to_string(),
            );
            uidl::pseudo_uidls(client, &sizes, &mut report.warnings)?
        }
    };
    let named: HashSet<u32> = raw_uidls.iter().map(|(number, _)| *number).collect();
    let complete = sizes.keys().all(|number| named.contains(number));
    let mut by_uidl: HashMap<Uidl, Vec<u32>> = HashMap::new();
    for (number, raw) in raw_uidls {
        match Uidl::parse(&raw) {
            Ok(uidl) => by_uidl.entry(uidl).or_default().push(number),
            Err(problem) => report.warnings.push(format!(
                "message {number} was left on the server: {problem}"
            )),
        }
    }
    let present = complete.then(|| by_uidl.keys().map(Uidl::to_string).collect());
    let mut listed = Vec::with_capacity(by_uidl.len());
    for (uidl, numbers) in by_uidl {
        if let [number] = numbers[..] {
            let size = sizes.get(&number).copied().unwrap_or(0);
            listed.push(Listed { number, uidl, size });
        } else {
            report.warnings.push(format!(
                "messages {numbers:?} were left on the server: the server gave them the same UIDL"
            ));
        }
    }
    listed.sort_by_key(|m| m.number);
    Ok(Listing {
        messages: listed,
        present,
    })
}

fn record_headers_only(
    client: &mut Pop3Session,
    store: &mut MailStore,
    messages: &[Listed],
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    if messages.is_empty() {
        return Ok(());
    }
    let numbers: Vec<u32> = messages.iter().map(|m| m.number).collect();
    let by_number: HashMap<u32, &Listed> = messages.iter().map(|m| (m.number, m)).collect();
    let mut headers = Vec::new();
    let refused = client.top_many(&numbers, 0, |number, body: &mut dyn Read| {
        headers.push((number, read_header_section(body)?));
        Ok::<(), Pop3Error>(())
    })?;
    for refusal in refused {
        report.warnings.push(refusal.to_string());
    }
    for (number, bytes) in headers {
        let Some(message) = by_number.get(&number) else {
            continue;
        };
        let summary = Summary::from_prefix(&bytes, false);
        store.record_headers_only(
            message.uidl.as_str(),
            message.size,
            &store::MessageSummary::from(&summary),
        )?;
        report.headers_only += 1;
    }
    Ok(())
}

/// Downloads `messages` (pipelined when the server allows), committing
/// durable batches as it goes. On an error, the messages received in full so
/// far are still committed before the error is returned.
///
/// Four threads, so that neither the network nor the disk waits for the
/// other: a scoped thread reads the replies (TLS, unstuffing) and hands the
/// messages on in pieces, a second one summarises each message (the MIME
/// parse, the costliest step), a third writes each into its file in `tmp/`,
/// and this one adds them to the batch and commits it (index, durable
/// commits, progress). At most [`IN_FLIGHT_BYTES`] are between the first
/// and the writer, and at most [`BATCH_MESSAGES`] written files wait for
/// this thread, so memory stays bounded; a commit that waits for the disk
/// overlaps with the transfer and with writing the next batch's files
/// instead of stopping them. Commits stay in order, on this thread, and the
/// files written meanwhile are only in `tmp/` (removed on an error, and by
/// recovery after a crash) until a later commit.
fn download(
    client: &mut Pop3Session,
    store: &mut MailStore,
    messages: &[Listed],
    report: &mut SyncReport,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SyncError> {
    if messages.is_empty() {
        return Ok(());
    }
    let total = messages.len() as u32;
    let total_bytes: u64 = messages.iter().map(|m| m.size).sum();
    let numbers: Vec<u32> = messages.iter().map(|m| m.number).collect();
    let sizes: HashMap<u32, u64> = messages.iter().map(|m| (m.number, m.size)).collect();
    progress(Progress::Downloading {
        done: 0,
        total,
        bytes: 0,
        total_bytes,
    });

    let mut storing = Storing::new(store, total, total_bytes);
    let mut writing = match storing.batch.stager() {
        Ok(stager) => Writing::new(stager, messages),
        Err(error) => return Err(error.into()),
    };
    let budget = Budget::new(IN_FLIGHT_BYTES);
    #[cfg(test)]
    let armed_write = store::hooks::take_armed_write();
    let threaded = std::thread::scope(|scope| {
        let (received_sender, received) = mpsc::channel::<Piece>();
        let (summarized_sender, summarized) = mpsc::channel::<Piece>();
        let (written_sender, written) = mpsc::sync_channel::<Written<'_>>(BATCH_MESSAGES);
        let summarizer = std::thread::Builder::new()
            .name("herald-summarize".to_owned())
            .spawn_scoped(scope, move || {
                let mut summarizer = Summarizer::default();
                for mut piece in received {
                    summarizer.add(&mut piece);
                    if summarized_sender.send(piece).is_err() {
                        break; // storing stopped
                    }
                }
            })
            .ok()?;
        let budget = &budget;
        let writing = &mut writing;
        let writer = std::thread::Builder::new()
            .name("herald-write".to_owned())
            .spawn_scoped(scope, move || {
                #[cfg(test)]
                store::hooks::arm_write(armed_write);
                // A failed write stops the network side too.
                let _closing = CloseOnDrop(budget);
                for piece in summarized {
                    let length = piece.bytes.len();
                    let outcome = writing.take(piece);
                    budget.give_back(length);
                    if let Some(message) = outcome?
                        && written_sender.send(message).is_err()
                    {
                        break; // storing stopped
                    }
                }
                Ok::<(), StoreError>(())
            });
        let Ok(writer) = writer else {
            // Its receiver is gone with it, and without a network thread
            // nothing sends: the summarizer ends.
            drop(received_sender);
            let _ = summarizer.join();
            return None;
        };
        let network = std::thread::Builder::new()
            .name("herald-pop3-receive".to_owned())
            .spawn_scoped(scope, || {
                let result = receive(client, &numbers, &sizes, cancel, &mut |piece| {
                    if !budget.take(piece.bytes.len()) {
                        return Err(Received::StoreStopped);
                    }
                    received_sender
                        .send(piece)
                        .map_err(|_| Received::StoreStopped)
                });
                drop(received_sender);
                result
            });
        let Ok(network) = network else {
            // Its sender is gone with it, so the summarizer and the writer
            // end.
            let _ = summarizer.join();
            let _ = writer.join();
            return None;
        };
        // Closing the budget stops the network thread if storing fails,
        // also by a panic (the scope could not be left while it waits).
        let closing = CloseOnDrop(budget);
        let stored = storing.run(&written, report, progress);
        drop(closing);
        // Messages written but not added are removed with the channel.
        drop(written);
        let received = network
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let wrote = writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Err(panic) = summarizer.join() {
            std::panic::resume_unwind(panic);
        }
        // Storing failed first, or else the writing side did.
        Some((stored.and(wrote.map_err(SyncError::from)), received))
    });
    let (stored, received) = match threaded {
        Some(outcome) => outcome,
        // No threads to spare: receive, summarise, write and store in turn
        // here.
        None => {
            #[cfg(test)]
            store::hooks::arm_write(armed_write);
            let mut stored = Ok(());
            let mut summarizer = Summarizer::default();
            let received = receive(client, &numbers, &sizes, cancel, &mut |mut piece| {
                summarizer.add(&mut piece);
                let outcome = match writing.take(piece) {
                    Ok(Some(message)) => storing.add(message, report, progress),
                    Ok(None) => Ok(()),
                    Err(error) => Err(error.into()),
                };
                outcome.map_err(|error| {
                    stored = Err(error);
                    Received::StoreStopped
                })
            });
            storing.flush_progress(progress);
            (stored, received)
        }
    };
    // A message cut short by a failed connection is not stored: its staged
    // file is removed. Whatever was received in full is made durable, even
    // after an error.
    drop(writing);
    let committed = storing.finish(report);
    match (stored, received, committed) {
        // Storing failed first: the network side only stopped for it.
        (Err(error), _, _) => Err(error),
        (Ok(()), Err(Received::Pop3(error)), _) => Err(SyncError::Pop3(error)),
        // Only a failed storing side stops the network side this way.
        (Ok(()), Err(Received::StoreStopped), committed) => Err(committed
            .err()
            .unwrap_or_else(|| StoreError::from_write(std::io::Error::other("storing stopped")))
            .into()),
        (Ok(()), Ok(_), Err(error)) => Err(error.into()),
        (Ok(()), Ok(refused), Ok(())) => {
            for refusal in refused {
                report.warnings.push(refusal.to_string());
            }
            Ok(())
        }
    }
}

/// How far the network thread may read ahead of the storing one: enough to
/// cover a commit's wait for the disk at a fast server's pace, and a fixed
/// amount of memory whatever the message sizes.
const IN_FLIGHT_BYTES: usize = 16 * 1024 * 1024;

/// Progress is reported at most this often while messages keep coming
/// (and this long after the last one at the latest).
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(25);

/// Messages are handed over in pieces of at most this many bytes.
const PIECE_BYTES: usize = 256 * 1024;

/// Part of a message, on its way from the network to the disk.
struct Piece {
    number: u32,
    bytes: Vec<u8>,
    /// The message ended cleanly with this piece. A message whose last
    /// piece never comes (the connection failed) is not stored.
    last: bool,
    /// With the last piece: the message's summary.
    summary: Option<store::MessageSummary>,
}

/// Summarises each message from its pieces, in order.
#[derive(Default)]
struct Summarizer {
    /// The first bytes of a message of several pieces, and its number.
    prefix: Option<(u32, PrefixWriter)>,
}

impl Summarizer {
    fn add(&mut self, piece: &mut Piece) {
        if self
            .prefix
            .as_ref()
            .is_some_and(|(number, _)| *number != piece.number)
        {
            self.prefix = None; // a message cut short
        }
        let summary = match (piece.last, self.prefix.take()) {
            // A message in one piece is summarised from it, uncopied.
            (true, None) => Summary::from_prefix(&piece.bytes, true),
            (true, Some((_, mut prefix))) => {
                prefix.push(&piece.bytes);
                Summary::from_prefix(prefix.bytes(), !prefix.truncated())
            }
            (false, prefix) => {
                let (_, mut prefix) = prefix
                    .unwrap_or_else(|| (piece.number, PrefixWriter::new(SUMMARY_PREFIX_BYTES)));
                prefix.push(&piece.bytes);
                self.prefix = Some((piece.number, prefix));
                return;
            }
        };
        piece.summary = Some(store::MessageSummary::from(&summary));
    }
}

/// Why the network thread stopped early.
enum Received {
    /// The server, the connection or a cancel.
    Pop3(Pop3Error),
    /// The storing thread failed and stopped taking messages.
    StoreStopped,
}

impl From<Pop3Error> for Received {
    fn from(error: Pop3Error) -> Received {
        Received::Pop3(error)
    }
}

/// Bytes handed over but not yet stored, bounded: the network thread waits
/// for room, and stops once the storing side closes it.
struct Budget {
    state: Mutex<BudgetState>,
    room: Condvar,
    limit: usize,
}

#[derive(Default)]
struct BudgetState {
    in_flight: usize,
    /// The network thread is waiting for room (so only then is a wake-up
    /// worth a system call).
    waiting: bool,
    closed: bool,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget {
            state: Mutex::new(BudgetState::default()),
            room: Condvar::new(),
            limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `bytes` more fit (always, when nothing is in flight);
    /// false once closed.
    fn take(&self, bytes: usize) -> bool {
        let mut state = self.lock();
        loop {
            if state.closed {
                return false;
            }
            if state.in_flight == 0 || state.in_flight + bytes <= self.limit {
                state.in_flight += bytes;
                return true;
            }
            state.waiting = true;
            state = self
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, bytes: usize) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(bytes);
        if state.waiting {
            state.waiting = false;
            self.room.notify_all();
        }
    }

    fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        self.room.notify_all();
    }
}

/// Closes a [`Budget`] when dropped.
struct CloseOnDrop<'b>(&'b Budget);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The network side: RETR every message (pipelined) and hand each one over
/// in pieces as it arrives. A read error is returned by `retrieve_many`
/// itself (the precise one), never taken for a clean end.
fn receive(
    client: &mut Pop3Session,
    numbers: &[u32],
    sizes: &HashMap<u32, u64>,
    cancel: &CancelToken,
    deliver: &mut dyn FnMut(Piece) -> Result<(), Received>,
) -> Result<Vec<MessageRefused>, Received> {
    client.retrieve_many(numbers, |number, body: &mut dyn Read| {
        // The listed size is a good guess: most messages fit one piece.
        let expected = sizes.get(&number).copied().unwrap_or(0);
        let mut capacity = usize::try_from(expected)
            .unwrap_or(PIECE_BYTES)
            .saturating_add(1024)
            .min(PIECE_BYTES);
        loop {
            let mut bytes = Vec::with_capacity(capacity);
            capacity = PIECE_BYTES;
            let count = body
                .take(PIECE_BYTES as u64)
                .read_to_end(&mut bytes)
                // The body reader keeps the real error; retrieve_many
                // returns it in place of this one.
                .map_err(|error| Pop3Error::from(NetError::from(error)))?;
            // A message that ends exactly at a piece boundary gets an empty
            // last piece.
            let last = count < PIECE_BYTES;
            deliver(Piece {
                number,
                bytes,
                last,
                summary: None,
            })?;
            if last {
                break;
            }
        }
        cancel.check().map_err(Pop3Error::from)?;
        Ok(())
    })
}

/// A message written in full into its (closed) staged file.
struct Written<'m> {
    listed: &'m Listed,
    staged: store::StagedFile,
    size: u64,
    summary: store::MessageSummary,
}

/// The writing side of [`download`]: each message into its file in `tmp/`,
/// one at a time, in order.
struct Writing<'m> {
    stager: store::Stager,
    by_number: HashMap<u32, &'m Listed>,
    /// The message being written.
    current: Option<Current<'m>>,
    /// A message we did not ask for, whose pieces are dropped.
    skipping: Option<u32>,
}

struct Current<'m> {
    listed: &'m Listed,
    staged: store::StagedFile,
    size: u64,
}

impl<'m> Writing<'m> {
    fn new(stager: store::Stager, messages: &'m [Listed]) -> Writing<'m> {
        Writing {
            stager,
            by_number: messages.iter().map(|m| (m.number, m)).collect(),
            current: None,
            skipping: None,
        }
    }

    /// One piece: the start of a message creates its file, its last piece
    /// closes it and returns the message. A message cut short (its last
    /// piece never comes) is not returned; its file is removed.
    fn take(&mut self, piece: Piece) -> Result<Option<Written<'m>>, StoreError> {
        if self.skipping == Some(piece.number) {
            return Ok(None);
        }
        if self
            .current
            .as_ref()
            .is_none_or(|current| current.listed.number != piece.number)
        {
            // A new message. (One left unfinished cannot be followed by
            // another: a failed read ends the network side.)
            self.current = None;
            let Some(listed) = self.by_number.get(&piece.number).copied() else {
                // Not one we asked for: the client never does this.
                self.skipping = Some(piece.number);
                return Ok(None);
            };
            self.current = Some(Current {
                listed,
                staged: self.stager.create_file()?,
                size: 0,
            });
        }
        let Some(current) = self.current.as_mut() else {
            return Ok(None);
        };
        current
            .staged
            .write_all(&piece.bytes)
            .map_err(StoreError::from_write)?;
        current.size += piece.bytes.len() as u64;
        if !piece.last {
            return Ok(None);
        }
        let Some(Current {
            listed,
            mut staged,
            size,
        }) = self.current.take()
        else {
            return Ok(None);
        };
        staged.close()?;
        Ok(Some(Written {
            listed,
            staged,
            size,
            // Always there: the summarizer saw the last piece first.
            summary: piece.summary.unwrap_or_default(),
        }))
    }
}

/// The storing side of [`download`]: adds the written messages to the
/// batch, in order, and commits it every [`BATCH_MESSAGES`] or
/// [`BATCH_BYTES`].
struct Storing<'s> {
    batch: store::Batch<'s>,
    received_at: i64,
    total: u32,
    total_bytes: u64,
    batch_count: usize,
    batch_bytes: u64,
    done: u32,
    bytes_done: u64,
    /// Who sent the first messages of the batch (as many as the report
    /// still has room for); they join the report when the batch is durable.
    arrived: Vec<Arrived>,
    /// When progress was last reported.
    last_progress: Option<Instant>,
    /// Progress was made since the last report.
    progress_held: bool,
}

impl<'s> Storing<'s> {
    fn new(store: &'s MailStore, total: u32, total_bytes: u64) -> Storing<'s> {
        Storing {
            batch: store.batch(),
            received_at: store::unix_now(),
            total,
            total_bytes,
            batch_count: 0,
            batch_bytes: 0,
            done: 0,
            bytes_done: 0,
            arrived: Vec::new(),
            last_progress: None,
            progress_held: false,
        }
    }

    /// Stores messages as they are written, until the other threads are
    /// done (the channel closes) or storing fails.
    fn run(
        &mut self,
        receiver: &mpsc::Receiver<Written<'_>>,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SyncError> {
        loop {
            // A progress report held back is sent once nothing more comes
            // for a while.
            let written = if self.progress_held {
                match receiver.recv_timeout(PROGRESS_INTERVAL) {
                    Ok(written) => written,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.report_progress(progress);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match receiver.recv() {
                    Ok(written) => written,
                    Err(_) => break,
                }
            };
            self.add(written, report, progress)?;
        }
        self.flush_progress(progress);
        Ok(())
    }

    /// Reports progress now, or holds it back when the last report is
    /// younger than [`PROGRESS_INTERVAL`] (each report wakes the window or
    /// the terminal: once per message was thousands of wake-ups a sync).
    fn note_progress(&mut self, progress: &mut dyn FnMut(Progress)) {
        self.progress_held = true;
        if self
            .last_progress
            .is_none_or(|last| last.elapsed() >= PROGRESS_INTERVAL)
        {
            self.report_progress(progress);
        }
    }

    /// Sends a report held back, if any.
    fn flush_progress(&mut self, progress: &mut dyn FnMut(Progress)) {
        if self.progress_held {
            self.report_progress(progress);
        }
    }

    fn report_progress(&mut self, progress: &mut dyn FnMut(Progress)) {
        self.progress_held = false;
        self.last_progress = Some(Instant::now());
        progress(Progress::Downloading {
            done: self.done,
            total: self.total,
            bytes: self.bytes_done,
            total_bytes: self.total_bytes,
        });
    }

    /// Adds a written message to the batch, committing the batch when full.
    fn add(
        &mut self,
        written: Written<'_>,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), SyncError> {
        let Written {
            listed,
            staged,
            size,
            summary,
        } = written;
        if report.arrived.len() + self.arrived.len() < ARRIVED_LIMIT {
            self.arrived.push(Arrived {
                from_name: summary.from_name.clone(),
                from_addr: summary.from_addr.clone(),
                subject: summary.subject.clone(),
            });
        }
        self.batch.add(
            staged,
            store::NewMessage {
                uidl: Some(listed.uidl.to_string()),
                server_size: Some(listed.size),
                summary,
                flags: store::Flags::default(),
                received_at: self.received_at,
            },
        )?;
        self.batch_count += 1;
        self.batch_bytes += size;
        self.done += 1;
        self.bytes_done += size;
        if self.batch_count >= BATCH_MESSAGES || self.batch_bytes >= BATCH_BYTES {
            self.batch.commit_staged()?;
            report.downloaded += self.batch_count as u32;
            report.bytes += self.batch_bytes;
            report.arrived.append(&mut self.arrived);
            self.batch_count = 0;
            self.batch_bytes = 0;
        }
        self.note_progress(progress);
        Ok(())
    }

    /// Commits what is left. (A message cut short by a failed connection
    /// was never added: the writing side removed its staged file.)
    fn finish(mut self, report: &mut SyncReport) -> Result<(), StoreError> {
        let committed = self.batch.commit();
        if committed.is_ok() {
            report.downloaded += self.batch_count as u32;
            report.bytes += self.batch_bytes;
            report.arrived.append(&mut self.arrived);
        }
        committed.map(|_| ())
    }
}

/// Messages the account's deletion policy says to delete now: only ever
/// messages whose local copy is durable (or that the user deleted).
fn deletion_candidates(
    account: &Account,
    store: &MailStore,
    listed: &[Listed],
    now: i64,
) -> Result<Vec<Listed>, SyncError> {
    let states = store.uidl_states()?;
    let downloaded = |m: &&Listed| {
        states
            .get(m.uidl.as_str())
            .is_some_and(|state| state.downloaded)
    };
    let chosen: Vec<Listed> = match account.deletion_policy {
        DeletionPolicy::LeaveOnServer => Vec::new(),
        DeletionPolicy::DeleteAfterDownload => listed.iter().filter(downloaded).cloned().collect(),
        DeletionPolicy::DeleteAfterDays { days } => {
            let cutoff = now - i64::from(days) * 86_400;
            listed
                .iter()
                .filter(downloaded)
                .filter(|m| {
                    states
                        .get(m.uidl.as_str())
                        .is_some_and(|state| state.first_seen <= cutoff)
                })
                .cloned()
                .collect()
        }
        DeletionPolicy::DeleteWhenDeletedLocally => {
            let pending: HashSet<String> = store.pending_server_deletions()?.into_iter().collect();
            listed
                .iter()
                .filter(|m| pending.contains(m.uidl.as_str()))
                .cloned()
                .collect()
        }
    };
    Ok(chosen)
}

/// Reads a `TOP n 0` reply: the header section, bounded.
pub(crate) fn read_header_section(body: &mut dyn Read) -> Result<Vec<u8>, Pop3Error> {
    let mut bytes = Vec::new();
    body.take(crate::pop3::TOP_MAX_BYTES as u64)
        .read_to_end(&mut bytes)
        .map_err(|error| Pop3Error::from(NetError::from(error)))?;
    Ok(bytes)
}

/// Keeps the first `limit` bytes written.
struct PrefixWriter {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl PrefixWriter {
    fn new(limit: usize) -> PrefixWriter {
        PrefixWriter {
            bytes: Vec::new(),
            limit,
            truncated: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.limit - self.bytes.len();
        if chunk.len() > room {
            self.truncated = true;
        }
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn truncated(&self) -> bool {
        self.truncated
    }
}
