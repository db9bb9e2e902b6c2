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

mod server_view;
#[cfg(test)]
pub(crate) mod tests;
mod uidl;

pub use server_view::{ServerMessage, delete_from_server, download_from_server, list_server};
pub use uidl::{Uidl, UidlProblem};

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::time::Instant;

use crate::account::{Account, DeletionPolicy};
use crate::error::{Classify, ErrorKind};
use crate::message::Summary;
use crate::net::{CancelToken, NetError};
use crate::pop3::{Pop3Error, Pop3Session};
use crate::store::{self, MailStore, StoreError};

/// A batch is committed (made durable) after this many messages…
const BATCH_MESSAGES: usize = 250;
/// …or this many bytes, whichever comes first.
const BATCH_BYTES: u64 = 16 * 1024 * 1024;
/// The first bytes of each message are kept in memory to summarise it.
const SUMMARY_PREFIX_BYTES: usize = crate::message::FULL_PARSE_LIMIT_BYTES;

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
    let started = Instant::now();
    let mut report = SyncReport::default();
    progress(Progress::Connecting);
    let mut client = session.open_pop3()?;
    progress(Progress::Listing);
    let Listing {
        messages: listed,
        present,
    } = list_all(&mut client, &mut report)?;
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

    record_headers_only(&mut client, store, &headers_only, &mut report)?;
    download(
        &mut client,
        store,
        &to_download,
        &mut report,
        session.cancel,
        progress,
    )?;

    let deletions = deletion_candidates(session.account, store, &listed, now)?;
    if !deletions.is_empty() {
        progress(Progress::Deleting {
            count: deletions.len() as u32,
        });
    }
    let deleted = delete_and_quit(client, &deletions, &mut report)?;
    store.mark_deleted_on_server(&deleted)?;
    report.deleted_on_server = deleted.len() as u32;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
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
            &store_summary(&summary),
        )?;
        report.headers_only += 1;
    }
    Ok(())
}

/// Downloads `messages` (pipelined when the server allows), committing
/// durable batches as it goes. On an error, the messages received in full so
/// far are still committed before the error is returned.
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
    let by_number: HashMap<u32, &Listed> = messages.iter().map(|m| (m.number, m)).collect();
    let numbers: Vec<u32> = messages.iter().map(|m| m.number).collect();
    progress(Progress::Downloading {
        done: 0,
        total,
        bytes: 0,
        total_bytes,
    });

    let mut batch = store.batch();
    let mut batch_count = 0usize;
    let mut batch_bytes = 0u64;
    let mut done = 0u32;
    let mut bytes_done = 0u64;
    let received_at = store::unix_now();
    let result = client.retrieve_many(&numbers, |number, body: &mut dyn Read| {
        let Some(listed) = by_number.get(&number) else {
            // Not one we asked for: the client never does this; returning
            // without reading skips it.
            return Ok(());
        };
        let mut staged = batch.create_file()?;
        let mut prefix = PrefixWriter::new(SUMMARY_PREFIX_BYTES);
        let size = copy_message(body, &mut staged, &mut prefix).map_err(|error| {
            // A read error is the server's (the client reports the precise
            // one); a write error is the disk's.
            match error {
                CopyError::Read(error) => SyncError::Pop3(NetError::from(error).into()),
                CopyError::Write(error) => SyncError::Store(StoreError::from_write(error)),
            }
        })?;
        let summary = Summary::from_prefix(prefix.bytes(), !prefix.truncated());
        batch.add(
            staged,
            store::NewMessage {
                uidl: Some(listed.uidl.to_string()),
                server_size: Some(listed.size),
                summary: store_summary(&summary),
                flags: store::Flags::default(),
                received_at,
            },
        )?;
        batch_count += 1;
        batch_bytes += size;
        done += 1;
        bytes_done += size;
        if batch_count >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
            batch.commit_staged()?;
            report.downloaded += batch_count as u32;
            report.bytes += batch_bytes;
            batch_count = 0;
            batch_bytes = 0;
        }
        progress(Progress::Downloading {
            done,
            total,
            bytes: bytes_done,
            total_bytes,
        });
        cancel
            .check()
            .map_err(|error| SyncError::Pop3(error.into()))?;
        Ok(())
    });
    let result = result.map(|refused| {
        for refusal in refused {
            report.warnings.push(refusal.to_string());
        }
    });
    // Whatever was received in full is made durable, even after an error.
    let committed = batch.commit();
    report.downloaded += batch_count as u32;
    report.bytes += batch_bytes;
    match (result, committed) {
        (Err(error), _) => Err(error),
        (Ok(()), Err(error)) => Err(error.into()),
        (Ok(()), Ok(_)) => Ok(()),
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

pub(crate) fn store_summary(summary: &Summary) -> store::MessageSummary {
    let headers = &summary.headers;
    let from = headers.from.first();
    let emails = |addresses: &[crate::message::Address]| {
        addresses
            .iter()
            .map(|address| match &address.name {
                Some(name) => format!("{name} <{}>", address.email),
                None => address.email.clone(),
            })
            .collect::<Vec<_>>()
    };
    store::MessageSummary {
        from_name: from.and_then(|address| address.name.clone()),
        from_addr: from.map(|address| address.email.clone()),
        to: emails(&headers.to),
        cc: emails(&headers.cc),
        subject: headers.subject.clone(),
        date: headers.date_unix,
        message_id: headers.message_id.clone(),
        has_attachments: summary.has_attachments,
    }
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Copies a message body to its file, keeping its first bytes for the
/// summary; memory stays bounded whatever the message size.
fn copy_message(
    body: &mut dyn Read,
    file: &mut dyn Write,
    prefix: &mut PrefixWriter,
) -> Result<u64, CopyError> {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let count = match body.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CopyError::Read(error)),
        };
        file.write_all(&buffer[..count]).map_err(CopyError::Write)?;
        prefix.push(&buffer[..count]);
        total += count as u64;
    }
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
