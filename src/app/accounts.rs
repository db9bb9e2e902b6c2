//! Each account as the window knows it: its settings, its engine worker,
//! and what that worker is doing (for the status bar and the sidebar).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use herald_core::account::{Account, Profile};
use herald_core::credentials::PasswordStore;
use herald_core::engine::{
    AccountContext, AccountWorker, Activity, Command, Event, Failure, LocalEdit, SmtpLimits,
};
use herald_core::net::Limits;
use herald_core::sync::Progress;

/// How the last command of an account ended, for the status bar.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A sentence about what went well.
    Done(String),
    /// What failed.
    Failed {
        /// What was being done ("Getting mail").
        what: &'static str,
        /// The engine's failure.
        failure: Failure,
    },
}

/// Who asked for a local edit, so its result reaches them (the worker
/// answers edits in the order they were sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOrigin {
    /// The main window (read flags, delete, moves).
    Window,
    /// A composer saving its draft, by composer id.
    Draft(u64),
}

/// One account in the window.
pub struct AccountSlot {
    /// Its settings.
    pub account: Account,
    /// Its local mailbox folder.
    pub mailbox_dir: PathBuf,
    worker: Option<AccountWorker>,
    /// What the worker is doing now.
    pub activity: Option<Activity>,
    /// Progress of the current download.
    pub progress: Option<Progress>,
    /// How the last command ended.
    pub outcome: Option<Outcome>,
    /// When to get mail on its own next.
    pub next_check: Option<Instant>,
    /// Unread and total counts per folder (Folder::ALL order).
    pub counts: [(u64, u64); 5],
    /// Edits sent to the worker and not answered yet, oldest first.
    pub pending_edits: VecDeque<EditOrigin>,
    /// What its SMTP server advertised (SIZE), once learnt.
    pub smtp_limits: Option<SmtpLimits>,
}

impl AccountSlot {
    /// An account whose worker is not started yet.
    pub fn new(account: Account, profile: &Profile) -> AccountSlot {
        let mailbox_dir = profile.mailbox_dir(&account.name);
        AccountSlot {
            account,
            mailbox_dir,
            worker: None,
            activity: None,
            progress: None,
            outcome: None,
            next_check: None,
            counts: [(0, 0); 5],
            pending_edits: VecDeque::new(),
            smtp_limits: None,
        }
    }

    /// Starts the account's worker thread.
    pub fn start(
        &mut self,
        passwords: &Arc<PasswordStore>,
        events: &Sender<Event>,
        waker: &herald_core::engine::Waker,
    ) {
        if self.worker.is_some() {
            return;
        }
        let context = AccountContext {
            account: self.account.clone(),
            mailbox_dir: self.mailbox_dir.clone(),
            passwords: Arc::clone(passwords),
            limits: Limits::default(),
        };
        self.worker = Some(AccountWorker::spawn(
            context,
            events.clone(),
            Arc::clone(waker),
        ));
        self.schedule_next_check();
    }

    /// True once the worker runs.
    pub fn started(&self) -> bool {
        self.worker.is_some()
    }

    /// Sends a command to the worker; false if it is not running.
    pub fn submit(&self, command: Command) -> bool {
        self.worker
            .as_ref()
            .is_some_and(|worker| worker.submit(command))
    }

    /// Sends a local edit to the worker, remembering who asked.
    pub fn edit(&mut self, edit: LocalEdit, origin: EditOrigin) -> bool {
        let sent = self.submit(Command::Edit(edit));
        if sent {
            self.pending_edits.push_back(origin);
        }
        sent
    }

    /// Stops what the worker is doing (and what is queued before now).
    pub fn cancel(&self) {
        if let Some(worker) = &self.worker {
            worker.cancel();
        }
    }

    /// True while a command runs or waits.
    pub fn busy(&self) -> bool {
        self.activity.is_some()
    }

    /// Sets the next automatic check from the account's interval.
    pub fn schedule_next_check(&mut self) {
        self.schedule_next_check_after(Instant::now());
    }

    fn schedule_next_check_after(&mut self, now: Instant) {
        self.next_check = self
            .account
            .check_interval_minutes
            .filter(|minutes| *minutes > 0)
            .map(|minutes| now + Duration::from_secs(u64::from(minutes) * 60));
    }

    /// If an automatic check is due, starts it; returns the time until the
    /// next one (for a repaint), if any.
    pub fn check_if_due(&mut self, now: Instant) -> Option<Duration> {
        let due = self.next_check?;
        if now >= due {
            if !self.busy() {
                self.submit(Command::GetMail);
            }
            self.schedule_next_check_after(now);
        }
        self.next_check
            .map(|next| next.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::account::{HostPort, Pop3Security, Pop3Server, SmtpSecurity, SmtpServer};

    fn slot(check_interval_minutes: Option<u32>) -> AccountSlot {
        let server = || HostPort {
            host: "127.0.0.1".into(),
            port: Some(9),
        };
        let account = Account {
            name: "work".into(),
            email_addr: "ann@example.org".into(),
            display_name: None,
            username: None,
            smtp: SmtpServer::new(server(), SmtpSecurity::ImplicitTls),
            pop3: Pop3Server::new(server(), Pop3Security::ImplicitTls),
            extra_ca_file: None,
            deletion_policy: Default::default(),
            max_message_size_bytes: None,
            password_command: None,
            trusted_certificates: Vec::new(),
            signature: None,
            check_interval_minutes,
        };
        AccountSlot::new(account, &Profile::at("/nonexistent"))
    }

    #[test]
    fn periodic_checks_follow_the_interval_and_reschedule_when_due() {
        let mut slot = slot(Some(10));
        slot.schedule_next_check();
        let now = Instant::now();
        let wait = slot.check_if_due(now).expect("scheduled");
        assert!(wait > Duration::from_secs(590) && wait <= Duration::from_secs(600));
        // Due: it is rescheduled a full interval later.
        let later = now + Duration::from_secs(601);
        let wait = slot.check_if_due(later).expect("rescheduled");
        assert!(wait > Duration::from_secs(590), "{wait:?}");
        // No interval: never on its own.
        let mut manual = slot_without_interval();
        manual.schedule_next_check();
        assert_eq!(manual.check_if_due(Instant::now()), None);
    }

    fn slot_without_interval() -> AccountSlot {
        slot(None)
    }
}
