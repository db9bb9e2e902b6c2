//! The per-account worker thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use super::{
    Activity, Command, Event, EventKind, Failure, LocalEdit, LocalEditDone, SmtpLimits, Waker,
    flushed_to_event,
};
use crate::account::Account;
use crate::credentials::{Password, PasswordStore};
use crate::error::Classify;
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Limits, NetError};
use crate::session::Session;
use crate::store::{Folder, MailStore, MessageSummary, NewMessage, unix_now};
use crate::sync::{Progress, SyncReport};
use crate::{outgoing, sync};

/// What a worker needs to know about its account.
#[derive(Debug, Clone)]
pub struct AccountContext {
    /// The account's settings.
    pub account: Account,
    /// The folder of its local mailbox (Maildir and index).
    pub mailbox_dir: PathBuf,
    /// Where its password is.
    pub passwords: Arc<PasswordStore>,
    /// Timeouts and minimum throughput for its connections.
    pub limits: Limits,
}

/// A thread that runs one account's commands, one at a time, in order.
#[derive(Debug)]
pub struct AccountWorker {
    account: String,
    commands: Option<Sender<(u64, Command)>>,
    cancel: CancelToken,
    submitted: Arc<AtomicU64>,
    cancelled_up_to: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl AccountWorker {
    /// Starts the worker thread. Events go to `events`; `waker` is called
    /// after each.
    pub fn spawn(context: AccountContext, events: Sender<Event>, waker: Waker) -> AccountWorker {
        let (sender, receiver) = mpsc::channel();
        let cancel = CancelToken::new();
        let cancelled_up_to = Arc::new(AtomicU64::new(0));
        let submitted = Arc::new(AtomicU64::new(0));
        let account = context.account.name.clone();
        let thread = {
            let cancel = cancel.clone();
            let cancelled_up_to = Arc::clone(&cancelled_up_to);
            let submitted = Arc::clone(&submitted);
            std::thread::Builder::new()
                .name(format!("herald-account-{}", context.account.name))
                .spawn(move || {
                    let mut worker = Worker {
                        context,
                        events,
                        waker,
                        cancel,
                        cancelled_up_to,
                        submitted,
                        store: None,
                        reported_smtp_limits: None,
                        partial_sync: None,
                    };
                    worker.run(receiver);
                })
                .ok()
        };
        AccountWorker {
            account,
            commands: Some(sender),
            cancel,
            submitted,
            cancelled_up_to,
            thread,
        }
    }

    /// The account's name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Queues a command. Returns false if the worker has stopped.
    pub fn submit(&self, command: Command) -> bool {
        let sequence = self.submitted.fetch_add(1, Ordering::SeqCst) + 1;
        self.commands
            .as_ref()
            .is_some_and(|sender| sender.send((sequence, command)).is_ok())
    }

    /// Cancels the running command and everything queued before this call.
    pub fn cancel(&self) {
        self.cancelled_up_to
            .store(self.submitted.load(Ordering::SeqCst), Ordering::SeqCst);
        self.cancel.cancel();
    }
}

impl Drop for AccountWorker {
    /// Cancels what is running and waits for the thread to end.
    fn drop(&mut self) {
        self.cancel();
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Worker {
    context: AccountContext,
    events: Sender<Event>,
    waker: Waker,
    cancel: CancelToken,
    cancelled_up_to: Arc<AtomicU64>,
    submitted: Arc<AtomicU64>,
    store: Option<MailStore>,
    /// What the last [`EventKind::SmtpLimits`] said.
    reported_smtp_limits: Option<SmtpLimits>,
    /// What a failed Get mail did, for its result's event.
    partial_sync: Option<SyncReport>,
}

impl Worker {
    fn run(&mut self, receiver: Receiver<(u64, Command)>) {
        while let Ok((sequence, command)) = receiver.recv() {
            self.cancel.reset();
            if sequence <= self.cancelled_up_to.load(Ordering::SeqCst) {
                self.cancel.cancel();
            }
            self.emit(EventKind::Started(activity(&command)));
            let outcome = self.execute(command);
            let partial_sync = self.partial_sync.take();
            self.emit_with(outcome, partial_sync);
            // Idle only when nothing else is queued: the window keeps its
            // status bar until all the work is done.
            if self.submitted.load(Ordering::SeqCst) == sequence {
                self.emit(EventKind::Idle);
            }
        }
    }

    fn emit(&self, kind: EventKind) {
        self.emit_with(kind, None);
    }

    fn emit_with(&self, kind: EventKind, partial_sync: Option<SyncReport>) {
        let event = Event {
            account: self.context.account.name.clone(),
            kind,
            partial_sync,
        };
        if self.events.send(event).is_ok() {
            (self.waker)();
        }
    }

    fn execute(&mut self, command: Command) -> EventKind {
        // What the SMTP server advertised, reported before the result.
        let mut learnt = None;
        let outcome = match command {
            Command::GetMail => {
                let mut partial = None;
                let result = self.with_session(|session, store, progress| {
                    sync::get_mail_or_partial(session, store, progress).map_err(|stopped| {
                        partial = stopped.partial;
                        stopped.error
                    })
                });
                self.partial_sync = partial;
                EventKind::MailFetched(result)
            }
            Command::Send(message) => EventKind::Sent {
                message_id: message.message_id.clone(),
                result: self.with_session(|session, store, _| {
                    outgoing::send(session, store, &message, &mut |limits| {
                        learnt = Some(limits)
                    })
                }),
            },
            Command::FlushOutbox => EventKind::OutboxFlushed(
                self.with_session(|session, store, _| {
                    outgoing::flush_outbox(session, store, &mut |limits| learnt = Some(limits))
                })
                .map(flushed_to_event),
            ),
            Command::TestConnection => {
                let report = self.test();
                learnt = report.smtp.smtp_limits;
                EventKind::ConnectionTested(Box::new(report))
            }
            Command::ListServer => EventKind::ServerListed(
                self.with_session(|session, store, _| sync::list_server(session, store)),
            ),
            Command::DownloadFromServer(uidls) => {
                EventKind::MailFetched(self.with_session(|session, store, progress| {
                    sync::download_from_server(session, store, &uidls, progress)
                }))
            }
            Command::DeleteFromServer(uidls) => {
                EventKind::DeletedOnServer(self.with_session(|session, store, _| {
                    sync::delete_from_server(session, store, &uidls)
                }))
            }
            Command::Edit(edit) => EventKind::Edited(self.edit(edit)),
        };
        if let Some(limits) = learnt
            && self.reported_smtp_limits != Some(limits)
        {
            self.reported_smtp_limits = Some(limits);
            self.emit(EventKind::SmtpLimits(limits));
        }
        outcome
    }

    fn open_store(&mut self) -> Result<&mut MailStore, Failure> {
        if self.store.is_none() {
            let store = MailStore::open(&self.context.mailbox_dir)
                .map_err(|error| Failure::from_error(&error))?;
            self.store = Some(store);
        }
        self.store.as_mut().ok_or_else(no_store)
    }

    fn edit(&mut self, edit: LocalEdit) -> Result<LocalEditDone, Failure> {
        let store = self.open_store()?;
        let failed = |error: crate::store::StoreError| Failure::from_error(&error);
        match edit {
            LocalEdit::SetSeen { ids, seen } => {
                for &id in &ids {
                    if let Some(message) = store.get(id).map_err(failed)? {
                        let mut flags = message.flags;
                        flags.seen = seen;
                        store.set_flags(id, flags).map_err(failed)?;
                    }
                }
                Ok(LocalEditDone::Changed { ids })
            }
            LocalEdit::Move { ids, folder } => {
                for &id in &ids {
                    store.move_to(id, folder).map_err(failed)?;
                }
                Ok(LocalEditDone::Changed { ids })
            }
            LocalEdit::Delete { ids } => {
                for &id in &ids {
                    store.delete(id).map_err(failed)?;
                }
                Ok(LocalEditDone::Changed { ids })
            }
            LocalEdit::SaveDraft {
                local_copy,
                replaces,
            } => {
                let summary = crate::message::Summary::from_prefix(&local_copy, true);
                let new = NewMessage {
                    summary: MessageSummary::from(&summary),
                    flags: crate::store::Flags {
                        seen: true,
                        ..Default::default()
                    },
                    received_at: unix_now(),
                    ..Default::default()
                };
                let id = store
                    .add_message(Folder::Drafts, &local_copy, new)
                    .map_err(failed)?;
                // The new version is durable before the old one goes.
                if let Some(old) = replaces
                    && store.get(old).map_err(failed)?.is_some()
                {
                    store.move_to(old, Folder::Trash).map_err(failed)?;
                    store.delete(old).map_err(failed)?;
                }
                Ok(LocalEditDone::DraftSaved {
                    id,
                    replaced: replaces,
                })
            }
        }
    }

    fn prerequisites(&mut self) -> Result<(Password, TlsConfig), Failure> {
        self.cancel
            .check()
            .map_err(|error: NetError| Failure::from_error(&error))?;
        let tls = TlsConfig::for_account(&self.context.account)
            .map_err(|error| Failure::from_error(&error))?;
        // The system's roots load while the password is fetched.
        tls.prepare();
        let password = self
            .context
            .passwords
            .get(&self.context.account)
            .map_err(|error| Failure::from_error(&error))?;
        self.open_store()?;
        Ok((password, tls))
    }

    /// Runs `work` with a session for the account, its mailbox, and a
    /// progress callback that sends events; any error becomes a [`Failure`].
    fn with_session<T, E: std::error::Error + Classify>(
        &mut self,
        work: impl FnOnce(&Session<'_>, &mut MailStore, &mut dyn FnMut(Progress)) -> Result<T, E>,
    ) -> Result<T, Failure> {
        let (password, tls) = self.prerequisites()?;
        let Worker {
            context,
            events,
            waker,
            cancel,
            store,
            ..
        } = self;
        let session = Session {
            account: &context.account,
            password: &password,
            tls: &tls,
            limits: &context.limits,
            cancel,
        };
        let store = store.as_mut().ok_or_else(no_store)?;
        let account = &context.account.name;
        let mut progress = |progress| {
            let event = Event {
                account: account.clone(),
                kind: EventKind::Progress(progress),
                partial_sync: None,
            };
            if events.send(event).is_ok() {
                waker();
            }
        };
        work(&session, store, &mut progress).map_err(|error| Failure::from_error(&error))
    }

    fn test(&mut self) -> super::ConnectionReport {
        let account = &self.context.account;
        let password = self.context.passwords.get(account);
        super::test_connection(account, password, &self.context.limits, &self.cancel)
    }
}

fn no_store() -> Failure {
    Failure {
        kind: crate::ErrorKind::Storage,
        message: "the local mailbox is not open".to_string(),
        certificate: None,
    }
}

fn activity(command: &Command) -> Activity {
    match command {
        Command::GetMail => Activity::GettingMail,
        Command::Send(_) => Activity::Sending,
        Command::FlushOutbox => Activity::FlushingOutbox,
        Command::TestConnection => Activity::TestingConnection,
        Command::ListServer => Activity::ListingServer,
        Command::DownloadFromServer(_) => Activity::Downloading,
        Command::DeleteFromServer(_) => Activity::DeletingOnServer,
        Command::Edit(_) => Activity::Editing,
    }
}
