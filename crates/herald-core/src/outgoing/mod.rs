//! Sending mail: Outbox first, then SMTP, then Sent.
//!
//! A message is written durably to the local **Outbox** (with its Bcc
//! header and its envelope) before anything is sent. Only after the server
//! accepted it does it move to **Sent**. A transient failure (server busy,
//! network down) leaves it in Outbox to be retried; a permanent one (a
//! refused recipient, a message too large) keeps it there with the error, so
//! the user can fix it. Nothing is lost either way.

use std::time::Instant;

use crate::compose::ComposedMessage;
use crate::error::{Classify, ErrorKind, describe};
use crate::smtp::{SmtpError, SmtpLimits};
use crate::store::{Envelope, MailStore, OutboxEntry, StoreError};

pub use crate::session::Session;

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sent {
    /// Its Message-ID.
    pub message_id: String,
    /// How many envelope recipients.
    pub recipients: usize,
    /// Bytes sent.
    pub bytes: u64,
    /// Its id in the local Sent folder.
    pub sent_id: i64,
    /// Seconds from connecting to the server's acceptance.
    pub seconds: f64,
}

/// Why a message was not sent. It is in the Outbox in every case except
/// [`SendError::Store`] before it could be written there.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The SMTP session failed; the message is kept in Outbox.
    /// (The cause is `source`, which `describe` appends: naming it here too
    /// printed it twice.)
    #[error("sending failed; the message is kept in the Outbox")]
    Smtp {
        /// What failed.
        #[source]
        source: SmtpError,
        /// Its Outbox id.
        outbox_id: i64,
    },
    /// The local mailbox failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Account settings (for example the extra CA file) are unusable.
    #[error(transparent)]
    Account(#[from] crate::account::AccountError),
}

impl Classify for SendError {
    fn kind(&self) -> ErrorKind {
        match self {
            SendError::Smtp { source, .. } => source.kind(),
            SendError::Store(error) => error.kind(),
            SendError::Account(error) => error.kind(),
        }
    }

    fn certificate(&self) -> Option<&crate::net::tls::CertificateProblem> {
        match self {
            SendError::Smtp { source, .. } => source.certificate(),
            SendError::Store(_) | SendError::Account(_) => None,
        }
    }
}

/// Puts `message` in the Outbox durably and sends it. `learnt` is called
/// with what the server advertised once it accepted the login (the engine
/// reports it to the window).
pub fn send(
    session: &Session<'_>,
    store: &mut MailStore,
    message: &ComposedMessage,
    learnt: &mut dyn FnMut(SmtpLimits),
) -> Result<Sent, SendError> {
    let outbox_id = store.outbox_add(
        &message.local_copy,
        Envelope {
            from: message.envelope_from.clone(),
            recipients: message.envelope_recipients.clone(),
        },
    )?;
    let started = Instant::now();
    let result = session.open_smtp().and_then(|mut client| {
        learnt(client.capabilities().limits());
        let sent = client.send(
            &message.envelope_from,
            &message.envelope_recipients,
            &message.sendable,
        );
        client.quit();
        sent.map(drop)
    });
    finish(store, outbox_id, message, result, started)
}

fn finish(
    store: &mut MailStore,
    outbox_id: i64,
    message: &ComposedMessage,
    result: Result<(), SmtpError>,
    started: Instant,
) -> Result<Sent, SendError> {
    match result {
        Ok(()) => {
            let sent_id = store.outbox_mark_sent(outbox_id).inspect_err(|error| {
                // The server has it: it stays in the Outbox (nothing is
                // lost) but must never be sent again on our own. Best
                // effort: the store just failed.
                let text = format!(
                    "the message was sent, but could not be moved to Sent: {}",
                    describe(error)
                );
                let _ = store.outbox_record_failure(outbox_id, &text, true);
            })?;
            Ok(Sent {
                message_id: message.message_id.clone(),
                recipients: message.envelope_recipients.len(),
                bytes: message.sendable.len() as u64,
                sent_id,
                seconds: started.elapsed().as_secs_f64(),
            })
        }
        Err(source) => {
            let permanent = is_permanent(&source);
            store.outbox_record_failure(outbox_id, &describe(&source), permanent)?;
            Err(SendError::Smtp { source, outbox_id })
        }
    }
}

/// Permanent failures wait for the user; everything else is retried. A
/// message the server may have accepted without confirming (the line
/// dropped after the final dot) also waits for the user: retrying it on our
/// own could deliver it twice.
fn is_permanent(error: &SmtpError) -> bool {
    error.may_have_been_sent()
        || matches!(
            error.kind(),
            ErrorKind::ServerRejected { transient: false } | ErrorKind::Input
        )
}

/// The outcome of retrying one Outbox entry.
#[derive(Debug)]
pub struct FlushedEntry {
    /// The Outbox entry.
    pub outbox_id: i64,
    /// Sent, or why not.
    pub result: Result<Sent, SendError>,
}

/// Retries every Outbox entry that did not fail permanently, on one
/// connection. Entries that fail again stay in Outbox with the new error.
/// `learnt` is called as for [`send`] (not at all when there is nothing to
/// send).
pub fn flush_outbox(
    session: &Session<'_>,
    store: &mut MailStore,
    learnt: &mut dyn FnMut(SmtpLimits),
) -> Result<Vec<FlushedEntry>, SendError> {
    let entries: Vec<OutboxEntry> = store
        .outbox_entries()?
        .into_iter()
        .filter(|entry| !entry.permanent)
        .collect();
    let mut flushed = Vec::new();
    if entries.is_empty() {
        return Ok(flushed);
    }
    let mut client = match session.open_smtp() {
        Ok(client) => {
            learnt(client.capabilities().limits());
            client
        }
        Err(error) => {
            // Not the messages' fault (network, password): they stay
            // retryable, each with the reason.
            let text = describe(&error);
            for entry in &entries {
                store.outbox_record_failure(entry.id, &text, false)?;
            }
            return Err(SendError::Smtp {
                source: error,
                outbox_id: entries[0].id,
            });
        }
    };
    for entry in entries {
        let started = Instant::now();
        let message = match std::fs::read(&entry.path) {
            Ok(bytes) => match ComposedMessage::from_existing(bytes) {
                Ok(message) => message,
                Err(error) => {
                    store.outbox_record_failure(entry.id, &describe(&error), true)?;
                    continue;
                }
            },
            Err(error) => {
                store.outbox_record_failure(entry.id, &describe(&error), false)?;
                continue;
            }
        };
        // The stored envelope is authoritative (it has the Bcc recipients
        // as they were when the message was queued).
        let result = client
            .send(
                &entry.envelope.from,
                &entry.envelope.recipients,
                &message.sendable,
            )
            .map(drop);
        let connection_lost = !client.is_usable();
        flushed.push(FlushedEntry {
            outbox_id: entry.id,
            result: finish(store, entry.id, &message, result, started),
        });
        if connection_lost {
            return Ok(flushed);
        }
    }
    client.quit();
    Ok(flushed)
}

#[cfg(test)]
mod tests;
