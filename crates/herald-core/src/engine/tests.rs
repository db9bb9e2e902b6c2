//! The account worker against the fake POP3 and SMTP servers, with a
//! session-only password store: event order, the waker, cancel, dropping
//! the worker mid-download, and the connection test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;
use crate::compose::{Draft, DraftBody};
use crate::credentials::{Password, PasswordStore};
use crate::error::ErrorKind;
use crate::message::Address;
use crate::net::Limits;
use crate::net::testing::TestPki;
use crate::pop3::fake::{Behaviour, FakePop3, Retr};
use crate::smtp::fake::{self, FakeSmtp};
use crate::store::{Folder, MailStore};
use crate::sync;
use crate::sync::tests::{assert_consistent, mailbox, open_store, short_limits, test_account};

/// A worker for an account on the fake servers, with its event channel.
struct Harness {
    root: TempDir,
    pop3: FakePop3,
    smtp: FakeSmtp,
    passwords: Arc<PasswordStore>,
    events: Receiver<Event>,
    wakes: Arc<AtomicUsize>,
    worker: Option<AccountWorker>,
}

impl Harness {
    fn start(pop3: FakePop3, limits: Limits) -> Harness {
        Harness::start_with(pop3, FakeSmtp::start(fake::Behaviour::default()), limits)
    }

    fn start_with(pop3: FakePop3, smtp: FakeSmtp, limits: Limits) -> Harness {
        let root = tempfile::tempdir().unwrap();
        let ca = root.path().join("test-ca.pem");
        std::fs::write(&ca, &TestPki::get().ca_pem).unwrap();
        let mut account = test_account(pop3.server(), Some(smtp.server()));
        account.extra_ca_file = Some(ca);
        let passwords = Arc::new(PasswordStore::session_only("herald-test", "tests"));
        passwords
            .set(&account.name, &Password::new("secret".to_string()))
            .unwrap();
        let (sender, events) = mpsc::channel();
        let wakes = Arc::new(AtomicUsize::new(0));
        let waker: Waker = {
            let wakes = Arc::clone(&wakes);
            Arc::new(move || {
                wakes.fetch_add(1, Ordering::SeqCst);
            })
        };
        let context = AccountContext {
            account,
            mailbox_dir: root.path().join("account"),
            passwords: Arc::clone(&passwords),
            limits,
        };
        let worker = AccountWorker::spawn(context, sender, waker);
        Harness {
            root,
            pop3,
            smtp,
            passwords,
            events,
            wakes,
            worker: Some(worker),
        }
    }

    fn worker(&self) -> &AccountWorker {
        self.worker.as_ref().unwrap()
    }

    fn submit(&self, command: Command) {
        assert!(self.worker().submit(command));
    }

    /// The next event, within 10 s.
    fn next(&self) -> EventKind {
        let event = self
            .events
            .recv_timeout(Duration::from_secs(10))
            .expect("an event within 10 s");
        assert_eq!(event.account, "test");
        event.kind
    }

    /// Events up to and including the `results`-th result event and the
    /// `Idle` after it.
    fn until_idle_after(&self, results: usize) -> Vec<EventKind> {
        let mut events = Vec::new();
        let mut seen = 0;
        loop {
            let event = self.next();
            let is_result = !matches!(
                event,
                EventKind::Started(_)
                    | EventKind::Progress(_)
                    | EventKind::SmtpLimits(_)
                    | EventKind::Idle
            );
            let idle = matches!(event, EventKind::Idle);
            seen += usize::from(is_result);
            events.push(event);
            if idle && seen >= results {
                return events;
            }
        }
    }

    /// Waits until the waker has been called `count` times (it runs just
    /// after each send), then checks it is not called again.
    fn assert_woken(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.wakes.load(Ordering::SeqCst) < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            self.wakes.load(Ordering::SeqCst),
            count,
            "one wake per event"
        );
    }

    fn store_dir(&self) -> std::path::PathBuf {
        self.root.path().join("account")
    }

    /// A read-only look at the store beside the worker.
    fn look(&self) -> MailStore {
        MailStore::open_read_only(&self.store_dir()).unwrap()
    }
}

fn fetched(event: &EventKind) -> &Result<crate::sync::SyncReport, Failure> {
    match event {
        EventKind::MailFetched(result) => result,
        other => panic!("expected MailFetched, got {other:?}"),
    }
}

/// Limits under which only a cancel ends a stalled download.
fn patient_limits() -> Limits {
    Limits {
        io_timeout: Duration::from_secs(15),
        min_bytes_per_second: 0,
        ..short_limits()
    }
}

#[test]
fn get_mail_reports_started_progress_fetched_idle_and_wakes_once_per_event() {
    let harness = Harness::start(FakePop3::start(mailbox(3)), short_limits());
    harness.submit(Command::GetMail);
    let events = harness.until_idle_after(1);
    assert!(
        matches!(events[0], EventKind::Started(Activity::GettingMail)),
        "{events:?}"
    );
    assert!(matches!(
        events[1],
        EventKind::Progress(sync::Progress::Connecting)
    ));
    assert!(matches!(
        events[2],
        EventKind::Progress(sync::Progress::Listing)
    ));
    let downloading: Vec<u32> = events
        .iter()
        .filter_map(|event| match event {
            EventKind::Progress(sync::Progress::Downloading { done, total: 3, .. }) => Some(*done),
            _ => None,
        })
        .collect();
    // From 0 to 3, in order; reports closer than 25 ms apart may be held
    // back, but never the first message's nor the last.
    assert_eq!(downloading.first(), Some(&0), "{downloading:?}");
    assert_eq!(downloading.get(1), Some(&1), "{downloading:?}");
    assert_eq!(downloading.last(), Some(&3), "{downloading:?}");
    assert!(
        downloading.windows(2).all(|w| w[0] < w[1]),
        "{downloading:?}"
    );
    let n = events.len();
    assert_eq!(n, 3 + downloading.len() + 2, "{events:?}");
    let report = fetched(&events[n - 2]).as_ref().unwrap();
    assert_eq!(report.downloaded, 3);
    assert!(matches!(events[n - 1], EventKind::Idle));
    harness.assert_woken(n);

    // The worker keeps the store open; a reader sees the mail.
    let store = harness.look();
    assert_eq!(store.count(Folder::Inbox).unwrap(), 3);
    assert_consistent(&store);

    // A second command: the same shape, nothing new.
    harness.submit(Command::GetMail);
    let events = harness.until_idle_after(1);
    let report = fetched(&events[events.len() - 2]).as_ref().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 3));
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, EventKind::Progress(sync::Progress::Downloading { .. })))
    );
    harness.assert_woken(n + events.len());
}

#[test]
fn a_get_mail_that_fails_midway_reports_what_it_stored_with_the_failure() {
    let pop3 = FakePop3::start(mailbox(4));
    pop3.set_retr("uid-3", Retr::DropAfter(100));
    let harness = Harness::start(pop3, short_limits());
    harness.submit(Command::GetMail);
    let result = loop {
        let event = harness
            .events
            .recv_timeout(Duration::from_secs(10))
            .expect("an event within 10 s");
        match event.kind {
            EventKind::MailFetched(result) => break (result, event.partial_sync),
            // Only the result of a failed Get mail carries a report.
            _ => assert!(event.partial_sync.is_none(), "{event:?}"),
        }
    };
    let (Err(failure), Some(partial)) = result else {
        panic!("expected a failure with a partial report: {result:?}")
    };
    assert_eq!(failure.kind, ErrorKind::Network, "{failure:?}");
    assert_eq!(
        (partial.on_server, partial.downloaded),
        (4, 2),
        "{partial:?}"
    );
    assert_eq!(harness.look().count(Folder::Inbox).unwrap(), 2);

    // A good sync afterwards: no partial report.
    harness.pop3.set_retr("uid-3", Retr::Normal);
    harness.submit(Command::GetMail);
    let event = loop {
        let event = harness
            .events
            .recv_timeout(Duration::from_secs(10))
            .expect("an event within 10 s");
        if matches!(event.kind, EventKind::MailFetched(_)) {
            break event;
        }
    };
    assert!(event.partial_sync.is_none());
    assert_eq!(fetched(&event.kind).as_ref().unwrap().downloaded, 2);
}

#[test]
fn cancel_stops_the_running_command_and_those_queued_before_it_but_not_later_ones() {
    let pop3 = FakePop3::start(mailbox(3));
    pop3.set_retr("uid-2", Retr::StallAfter(50));
    let harness = Harness::start(pop3, patient_limits());
    harness.submit(Command::GetMail); // A: stalls on message 2
    harness.submit(Command::ListServer); // B: queued before the cancel
    // Wait until A has stored message 1 and is waiting for message 2.
    loop {
        if let EventKind::Progress(sync::Progress::Downloading { done: 1, .. }) = harness.next() {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    harness.pop3.set_retr("uid-2", Retr::Normal);
    // A's connection; C will make one more.
    let connections = harness.pop3.record().connections;
    let cancelled_at = Instant::now();
    harness.worker().cancel();
    harness.submit(Command::GetMail); // C: after the cancel, runs

    // A ends at once, cancelled.
    let a = loop {
        match harness.next() {
            EventKind::Progress(_) => {}
            other => break other,
        }
    };
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        cancelled_at.elapsed()
    );
    let failure = fetched(&a).as_ref().unwrap_err();
    assert_eq!(failure.kind, ErrorKind::Cancelled, "{failure:?}");

    // B starts and reports cancelled without touching the server.
    let rest = harness.until_idle_after(2);
    let kinds: Vec<&EventKind> = rest
        .iter()
        .filter(|e| !matches!(e, EventKind::Progress(_) | EventKind::Idle))
        .collect();
    assert!(
        matches!(kinds[0], EventKind::Started(Activity::ListingServer)),
        "{kinds:?}"
    );
    match kinds[1] {
        EventKind::ServerListed(Err(failure)) => assert_eq!(failure.kind, ErrorKind::Cancelled),
        other => panic!("{other:?}"),
    }
    // C runs and fetches exactly what A did not commit.
    assert!(
        matches!(kinds[2], EventKind::Started(Activity::GettingMail)),
        "{kinds:?}"
    );
    let report = fetched(kinds[3]).as_ref().unwrap();
    assert_eq!((report.downloaded, report.skipped), (2, 1));
    assert!(matches!(rest.last(), Some(EventKind::Idle)));
    assert_eq!(
        harness.pop3.record().connections,
        connections + 1,
        "B never connected"
    );

    let store = harness.look();
    assert_eq!(store.count(Folder::Inbox).unwrap(), 3);
    assert_consistent(&store);
}

#[test]
fn dropping_the_worker_mid_download_joins_its_thread_promptly() {
    let pop3 = FakePop3::start(mailbox(3));
    pop3.set_retr("uid-2", Retr::StallAfter(50));
    let harness = Harness::start(pop3, patient_limits());
    harness.submit(Command::GetMail);
    harness.submit(Command::GetMail);
    loop {
        if let EventKind::Progress(sync::Progress::Downloading { done: 1, .. }) = harness.next() {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut harness = harness;
    let started = Instant::now();
    drop(harness.worker.take());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Both commands reported cancelled; the thread is gone (the channel
    // is closed after the last event).
    let mut results = Vec::new();
    while let Ok(event) = harness.events.recv_timeout(Duration::from_secs(1)) {
        if let EventKind::MailFetched(result) = event.kind {
            results.push(result);
        }
    }
    assert_eq!(results.len(), 2);
    for result in results {
        assert_eq!(result.unwrap_err().kind, ErrorKind::Cancelled);
    }
    // Message 1 was committed, nothing partial; the store is free again.
    let store = open_store(&harness.store_dir());
    assert_eq!(store.count(Folder::Inbox).unwrap(), 1);
    assert_consistent(&store);
}

#[test]
fn test_connection_reports_both_servers_and_a_wrong_password_in_words() {
    let harness = Harness::start(FakePop3::start(mailbox(1)), short_limits());
    harness.submit(Command::TestConnection);
    let events = harness.until_idle_after(1);
    assert!(matches!(
        events[0],
        EventKind::Started(Activity::TestingConnection)
    ));
    // What the SMTP server advertised comes first, for the window to keep.
    let fake_limits = SmtpLimits {
        max_message_size_bytes: Some(10_000_000),
    };
    assert!(
        matches!(events[1], EventKind::SmtpLimits(limits) if limits == fake_limits),
        "{events:?}"
    );
    let EventKind::ConnectionTested(report) = &events[2] else {
        panic!("{events:?}")
    };
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.smtp.smtp_limits, Some(fake_limits));
    assert_eq!(report.pop3.smtp_limits, None);
    for check in [&report.pop3, &report.smtp] {
        assert!(check.logged_in, "{check:?}");
        assert_eq!(check.host, "127.0.0.1");
        assert_eq!(check.security, "implicit-tls");
        assert!(check.tls_version.is_some());
        assert!(check.certificate.is_some());
        assert!(!check.capabilities.is_empty());
    }
    assert!(report.pop3.capabilities.iter().any(|c| c == "UIDL"));
    assert!(
        report
            .smtp
            .capabilities
            .iter()
            .any(|c| c.starts_with("AUTH"))
    );
    assert!(matches!(events[3], EventKind::Idle));

    // A wrong password: both servers say so, once each.
    harness
        .passwords
        .set("test", &Password::new("wrong".to_string()))
        .unwrap();
    let pop3_auths = harness.pop3.record().count("AUTH PLAIN");
    let smtp_auths = harness
        .smtp
        .record()
        .commands
        .iter()
        .filter(|c| c.starts_with("AUTH"))
        .count();
    harness.submit(Command::TestConnection);
    let events = harness.until_idle_after(1);
    // The same limits again: not reported twice.
    let EventKind::ConnectionTested(report) = &events[1] else {
        panic!("{events:?}")
    };
    assert!(!report.ok());
    assert_eq!(
        report.smtp.smtp_limits,
        Some(fake_limits),
        "EHLO came before AUTH"
    );
    for check in [&report.pop3, &report.smtp] {
        assert!(!check.logged_in);
        assert!(
            check.certificate.is_some(),
            "connected before the login failed"
        );
        let failure = check.failure.as_ref().unwrap();
        assert_eq!(failure.kind, ErrorKind::AuthRejected, "{failure:?}");
        assert!(
            failure
                .message
                .contains("refused the user name or password"),
            "{}",
            failure.message
        );
    }
    assert_eq!(harness.pop3.record().count("AUTH PLAIN"), pop3_auths + 1);
    let smtp_now = harness
        .smtp
        .record()
        .commands
        .iter()
        .filter(|c| c.starts_with("AUTH"))
        .count();
    assert_eq!(smtp_now, smtp_auths + 1);
}

#[test]
fn a_refused_certificate_reaches_the_window_with_its_details() {
    let pop3 =
        FakePop3::start_with_identity(mailbox(1), Behaviour::default(), &TestPki::get().wrong_name);
    let harness = Harness::start(pop3, short_limits());
    harness.submit(Command::GetMail);
    let events = harness.until_idle_after(1);
    let failure = fetched(&events[events.len() - 2]).as_ref().unwrap_err();
    assert_eq!(failure.kind, ErrorKind::Certificate);
    let problem = failure
        .certificate
        .as_ref()
        .expect("the certificate to show");
    assert!(
        problem
            .certificate
            .names
            .iter()
            .any(|n| n.contains("wrong-name.example")),
        "{problem:?}"
    );
}

#[test]
fn send_through_the_worker_files_the_message_in_sent() {
    let harness = Harness::start(FakePop3::start(Vec::new()), short_limits());
    let draft = Draft {
        from: Address {
            name: None,
            email: "alice@example.com".to_string(),
        },
        to: vec![Address {
            name: None,
            email: "bob@example.com".to_string(),
        }],
        cc: vec![],
        bcc: vec![],
        subject: "via the worker".to_string(),
        body: DraftBody::Plain("hi".to_string()),
        inline_images: vec![],
        attachments: vec![],
        in_reply_to: None,
        references: vec![],
    };
    let message = draft.compose().unwrap();
    harness.submit(Command::Send(Box::new(message.clone())));
    let events = harness.until_idle_after(1);
    assert!(matches!(events[0], EventKind::Started(Activity::Sending)));
    // The server's SIZE (fake.rs advertises 10,000,000), before the result.
    assert!(
        matches!(
            events[1],
            EventKind::SmtpLimits(SmtpLimits {
                max_message_size_bytes: Some(10_000_000)
            })
        ),
        "{events:?}"
    );
    match &events[2] {
        EventKind::Sent { message_id, result } => {
            assert_eq!(message_id, &message.message_id);
            result.as_ref().unwrap();
        }
        other => panic!("{other:?}"),
    }
    harness.assert_woken(events.len());
    // A second send learns nothing new: no second report.
    harness.submit(Command::Send(Box::new(draft.compose().unwrap())));
    let events = harness.until_idle_after(1);
    assert!(
        !events.iter().any(|e| matches!(e, EventKind::SmtpLimits(_))),
        "{events:?}"
    );
    assert_eq!(harness.smtp.record().messages.len(), 2);
    let store = harness.look();
    assert_eq!(store.count(Folder::Sent).unwrap(), 2);
    assert_eq!(store.count(Folder::Outbox).unwrap(), 0);
}

fn edited(event: &EventKind) -> &Result<LocalEditDone, Failure> {
    match event {
        EventKind::Edited(result) => result,
        other => panic!("expected Edited, got {other:?}"),
    }
}

#[test]
fn local_edits_mark_seen_delete_and_replace_drafts_through_the_worker() {
    let harness = Harness::start(FakePop3::start(mailbox(2)), short_limits());
    harness.submit(Command::GetMail);
    harness.until_idle_after(1);
    let inbox = harness
        .look()
        .list(Folder::Inbox, &Default::default())
        .unwrap();
    assert_eq!(inbox.len(), 2);
    assert!(inbox.iter().all(|message| !message.flags.seen));
    let first = inbox[0].id;

    harness.submit(Command::Edit(LocalEdit::SetSeen {
        ids: vec![first],
        seen: true,
    }));
    let events = harness.until_idle_after(1);
    assert!(matches!(events[0], EventKind::Started(Activity::Editing)));
    assert_eq!(
        edited(&events[1]).as_ref().unwrap(),
        &LocalEditDone::Changed { ids: vec![first] }
    );
    assert!(harness.look().get(first).unwrap().unwrap().flags.seen);
    assert_eq!(harness.look().unread_count(Folder::Inbox).unwrap(), 1);

    harness.submit(Command::Edit(LocalEdit::Delete { ids: vec![first] }));
    harness.until_idle_after(1);
    let moved = harness.look().get(first).unwrap().unwrap();
    assert_eq!(moved.folder, Folder::Trash);

    let draft = |subject: &str| {
        format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n").into_bytes()
    };
    harness.submit(Command::Edit(LocalEdit::SaveDraft {
        local_copy: draft("first version"),
        replaces: None,
    }));
    let events = harness.until_idle_after(1);
    let LocalEditDone::DraftSaved { id: v1, .. } = edited(&events[1]).clone().unwrap() else {
        panic!("{events:?}");
    };
    harness.submit(Command::Edit(LocalEdit::SaveDraft {
        local_copy: draft("second version"),
        replaces: Some(v1),
    }));
    let events = harness.until_idle_after(1);
    let LocalEditDone::DraftSaved { id: v2, replaced } = edited(&events[1]).clone().unwrap() else {
        panic!("{events:?}");
    };
    assert_eq!(replaced, Some(v1));
    let drafts = harness
        .look()
        .list(Folder::Drafts, &Default::default())
        .unwrap();
    assert_eq!(drafts.len(), 1, "the old version is gone");
    assert_eq!(drafts[0].id, v2);
    assert_eq!(drafts[0].summary.subject.as_deref(), Some("second version"));
    assert!(harness.look().get(v1).unwrap().is_none());
    assert_eq!(harness.look().count(Folder::Trash).unwrap(), 1);
}
