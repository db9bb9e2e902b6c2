//! The engine: one worker thread per account, commands in, events out.
//!
//! The window (and the CLI) never touches sockets, files or the keyring
//! itself. It sends a [`Command`] to an account's [`AccountWorker`]; the
//! worker does the blocking work on its own thread and reports with
//! [`Event`]s on a channel, calling the [`Waker`] after each one so that a
//! window can repaint (the app passes `ctx.request_repaint()`; the core never
//! names egui). [`AccountWorker::cancel`] stops the command in progress at
//! once by closing its socket.
//!
//! Failures cross the channel as [`Failure`]: the error's [`ErrorKind`]
//! (what to offer: retry, fix the password, trust the certificate), its
//! words (from [`crate::error::describe`], the one place errors become
//! text), and the refused certificate when there is one.

mod check;
mod failure;
mod worker;

pub use check::{ConnectionReport, ServerCheck, test_connection};
pub use failure::Failure;
pub use worker::{AccountContext, AccountWorker};

pub use crate::smtp::SmtpLimits;

use std::sync::Arc;

use crate::compose::ComposedMessage;
use crate::outgoing::{FlushedEntry, Sent};
use crate::store::Folder;
use crate::sync::{Progress, ServerMessage, SyncReport};

/// The outcome of an Outbox flush: each entry tried, by Outbox id.
pub type FlushResults = Vec<(i64, Result<Sent, Failure>)>;

/// Called after each event is sent, from the worker thread.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// What an account worker can be asked to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Download new mail and apply the deletion policy.
    GetMail,
    /// Put a message in the Outbox and send it.
    Send(Box<ComposedMessage>),
    /// Retry what waits in the Outbox.
    FlushOutbox,
    /// Check both servers and report TLS, capabilities and errors.
    TestConnection,
    /// List what is on the server, downloading nothing.
    ListServer,
    /// Download these messages (by UIDL) whatever the size limit.
    DownloadFromServer(Vec<String>),
    /// Delete these messages (by UIDL) on the server.
    DeleteFromServer(Vec<String>),
    /// Change the local mailbox: flags, moves, deletions, drafts. These go
    /// through the worker because it holds the mailbox open for writing;
    /// they touch no network and are never cancelled by
    /// [`AccountWorker::cancel`].
    Edit(LocalEdit),
}

/// A change to the local mailbox, by local message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalEdit {
    /// Mark messages as read or unread.
    SetSeen {
        /// The messages.
        ids: Vec<i64>,
        /// Read (true) or unread.
        seen: bool,
    },
    /// Move messages to another folder.
    Move {
        /// The messages.
        ids: Vec<i64>,
        /// Where to.
        folder: Folder,
    },
    /// Delete messages: to Trash, or for good when already in Trash.
    Delete {
        /// The messages.
        ids: Vec<i64>,
    },
    /// Keep a draft (its local copy, Bcc included) in Drafts, replacing the
    /// previous version if there is one.
    SaveDraft {
        /// The message bytes.
        local_copy: Vec<u8>,
        /// The draft this one replaces.
        replaces: Option<i64>,
    },
}

/// What a [`LocalEdit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalEditDone {
    /// Flags or folders changed, or messages were deleted.
    Changed {
        /// The messages changed.
        ids: Vec<i64>,
    },
    /// A draft was stored under a new id.
    DraftSaved {
        /// Its new local id.
        id: i64,
        /// The draft it replaced (now gone).
        replaced: Option<i64>,
    },
}

/// A report from an account worker.
#[derive(Debug, Clone)]
pub struct Event {
    /// The account's name.
    pub account: String,
    /// What happened.
    pub kind: EventKind,
    /// With a [`EventKind::MailFetched`] failure of Get mail: what the sync
    /// had done before it failed (messages stored durably, bytes,
    /// warnings), once it had read the server's list. `None` otherwise.
    pub partial_sync: Option<SyncReport>,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// A command started.
    Started(Activity),
    /// Progress of the current download.
    Progress(Progress),
    /// Get mail (or a download from the server view) finished.
    MailFetched(Result<SyncReport, Failure>),
    /// A send finished. On failure the message is in the Outbox.
    Sent {
        /// The Message-ID of the message.
        message_id: String,
        /// What happened.
        result: Result<Sent, Failure>,
    },
    /// An Outbox flush finished: one result per entry tried.
    OutboxFlushed(Result<FlushResults, Failure>),
    /// A connection test finished.
    ConnectionTested(Box<ConnectionReport>),
    /// The account's SMTP server was reached (by a connection test, a send
    /// or an Outbox flush) and this is what it advertised. Sent before that
    /// command's result, and only when it differs from what this worker
    /// reported before, so a window can remember it and warn before a
    /// message is too large for the server.
    SmtpLimits(SmtpLimits),
    /// The server list is ready (with warnings).
    ServerListed(Result<(Vec<ServerMessage>, Vec<String>), Failure>),
    /// A delete-on-server finished.
    DeletedOnServer(Result<SyncReport, Failure>),
    /// A local edit finished.
    Edited(Result<LocalEditDone, Failure>),
    /// The worker is idle again: nothing running, nothing queued.
    Idle,
}

/// Which command is running, for a status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Getting mail.
    GettingMail,
    /// Sending.
    Sending,
    /// Flushing the Outbox.
    FlushingOutbox,
    /// Testing the connection.
    TestingConnection,
    /// Listing the server.
    ListingServer,
    /// Downloading chosen messages.
    Downloading,
    /// Deleting on the server.
    DeletingOnServer,
    /// Changing the local mailbox.
    Editing,
}

pub(crate) fn flushed_to_event(entries: Vec<FlushedEntry>) -> FlushResults {
    entries
        .into_iter()
        .map(|entry| {
            (
                entry.outbox_id,
                entry.result.map_err(|error| Failure::from_error(&error)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
