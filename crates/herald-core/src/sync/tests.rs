//! The sync engine against the fake POP3 server ([`crate::pop3::fake`]):
//! what real servers rarely do, and "nothing half-stored, nothing lost"
//! after each of it. Every failure is followed by checks of the store (no
//! file in `tmp/`, no file without a row, UIDL states) and, where it
//! matters, by a good sync that must fetch exactly what is missing.
//!
//! The helpers at the top are shared with the engine and outgoing tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;
use crate::account::{Account, DeletionPolicy, Pop3Server, SmtpSecurity, SmtpServer};
use crate::credentials::Password;
use crate::error::{Classify, ErrorKind};
use crate::net::testing::TestPki;
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Limits};
use crate::pop3::fake::{Behaviour, FakeMessage, FakePop3, Retr};
use crate::store::{Folder, ListQuery, MailStore, StoredMessage, hooks};

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Short limits, so every misbehaviour ends within a second or so: 1 s of
/// silence, at least 1000 B/s over each 300 ms of waiting.
pub(crate) fn short_limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(2),
        io_timeout: Duration::from_secs(1),
        min_bytes_per_second: 1000,
        throughput_window: Duration::from_millis(300),
    }
}

pub(crate) fn trusting_test_ca() -> TlsConfig {
    TlsConfig::system().with_extra_ca_pem(TestPki::get().ca_pem.clone())
}

/// An account for the fake servers, logging in as alice.
pub(crate) fn test_account(pop3: Pop3Server, smtp: Option<SmtpServer>) -> Account {
    Account {
        name: "test".to_string(),
        email_addr: "alice@example.com".to_string(),
        display_name: Some("Alice".to_string()),
        username: Some("alice".to_string()),
        smtp: smtp.unwrap_or(SmtpServer {
            host: "127.0.0.1".to_string(),
            port: 9,
            security: SmtpSecurity::ImplicitTls,
        }),
        pop3,
        extra_ca_file: None,
        deletion_policy: DeletionPolicy::LeaveOnServer,
        max_message_size_bytes: None,
        password_command: None,
        trusted_certificates: Vec::new(),
        signature: None,
        check_interval_minutes: None,
    }
}

/// The Date of [`sample_message`] `n`, as Unix seconds.
pub(crate) fn sample_date(n: u32) -> i64 {
    // Tue, 14 Nov 2023 22:13:20 +0000, plus n minutes.
    1_700_000_000 + i64::from(n % 40) * 60
}

/// A message whose bytes test the byte-exact path: lines starting with
/// dots, a lone dot line, a bare LF, a lone CR, 8-bit bytes. Every third
/// one has an attachment.
pub(crate) fn sample_message(n: u32) -> Vec<u8> {
    let mut bytes = format!(
        "From: Sender {n} <s{n}@example.com>\r\nTo: alice@example.com\r\n\
         Subject: message {n}\r\nDate: Tue, 14 Nov 2023 22:{:02}:20 +0000\r\n\
         Message-ID: <{n}@example.com>\r\nMIME-Version: 1.0\r\n",
        13 + n % 40
    )
    .into_bytes();
    if n.is_multiple_of(3) {
        bytes.extend_from_slice(
            b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
              --b\r\nContent-Type: text/plain\r\n\r\n.see the attachment\r\n\
              --b\r\nContent-Type: application/pdf; name=r.pdf\r\n\
              Content-Disposition: attachment; filename=r.pdf\r\n\
              Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n",
        );
    } else {
        bytes.extend_from_slice(
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
              .leading dot\r\n..two dots\r\n.\r\nbare\nLF inside\n.\nafter a dot-LF line\r\n\
              \xe2\x82\xac euro \xff\xfe raw 8-bit\r\nlone CR \r in the middle\r\n",
        );
        bytes.extend_from_slice(format!("end of message {n}\r\n").as_bytes());
    }
    bytes
}

/// A plain message of about `size` bytes.
pub(crate) fn large_message(n: u32, size: usize) -> Vec<u8> {
    let mut bytes = sample_message(n);
    let line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n";
    while bytes.len() + line.len() <= size {
        bytes.extend_from_slice(line);
    }
    bytes
}

/// `count` sample messages with UIDLs `uid-1`…
pub(crate) fn mailbox(count: u32) -> Vec<FakeMessage> {
    (1..=count)
        .map(|n| FakeMessage::new(&format!("uid-{n}"), sample_message(n)))
        .collect()
}

/// `MailStore::open`, waiting out a lock held for a moment by a child
/// process another test forked (it holds copies of our descriptors until
/// it execs).
pub(crate) fn open_store(dir: &Path) -> MailStore {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match MailStore::open(dir) {
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return result.unwrap(),
        }
    }
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect()
}

/// Every message of every folder.
pub(crate) fn all_messages(store: &MailStore) -> Vec<StoredMessage> {
    Folder::ALL
        .into_iter()
        .flat_map(|folder| store.list(folder, &ListQuery::default()).unwrap())
        .collect()
}

/// The store is consistent: nothing in any `tmp/`, exactly one row for
/// each file in `new/` and `cur/` (and a file for each downloaded row),
/// every UIDL counted as downloaded has its row, and no UIDL is stored
/// twice.
pub(crate) fn assert_consistent(store: &MailStore) {
    let mut on_disk = BTreeSet::new();
    for folder in Folder::ALL {
        let path = store.folder_path(folder);
        let tmp = files_in(&path.join("tmp"));
        assert!(tmp.is_empty(), "files left in {folder:?} tmp/: {tmp:?}");
        on_disk.extend(files_in(&path.join("new")));
        on_disk.extend(files_in(&path.join("cur")));
    }
    let messages = all_messages(store);
    let in_index: BTreeSet<PathBuf> = messages.iter().filter_map(|m| m.path.clone()).collect();
    assert_eq!(on_disk, in_index, "files and rows differ");
    for message in &messages {
        assert_eq!(message.downloaded, message.path.is_some(), "{message:?}");
    }
    let mut uidls = BTreeSet::new();
    for message in messages.iter().filter(|m| m.folder != Folder::Outbox) {
        if let Some(uidl) = &message.uidl {
            assert!(uidls.insert(uidl.clone()), "UIDL {uidl} stored twice");
        }
    }
    let by_id: HashMap<i64, &StoredMessage> = messages.iter().map(|m| (m.id, m)).collect();
    for (uidl, state) in store.uidl_states().unwrap() {
        if state.downloaded && !state.deleted_locally {
            let id = state.message_id.unwrap_or_else(|| panic!("{uidl}: no row"));
            let row = by_id
                .get(&id)
                .unwrap_or_else(|| panic!("{uidl}: row {id} gone"));
            assert!(row.downloaded, "{uidl}: row not downloaded");
            assert_eq!(row.uidl.as_deref(), Some(uidl.as_str()));
        }
    }
}

/// The Inbox, oldest id first.
pub(crate) fn inbox(store: &MailStore) -> Vec<StoredMessage> {
    let mut messages = store.list(Folder::Inbox, &ListQuery::default()).unwrap();
    messages.sort_by_key(|m| m.id);
    messages
}

/// UIDL → file bytes of every downloaded Inbox message.
pub(crate) fn inbox_bytes(store: &MailStore) -> HashMap<String, Vec<u8>> {
    inbox(store)
        .into_iter()
        .filter(|m| m.downloaded)
        .map(|m| {
            (
                m.uidl.clone().unwrap(),
                std::fs::read(m.path.as_ref().unwrap()).unwrap(),
            )
        })
        .collect()
}

/// Downloaded UIDLs, sorted.
pub(crate) fn downloaded_uidls(store: &MailStore) -> Vec<String> {
    let mut uidls: Vec<String> = store
        .uidl_states()
        .unwrap()
        .into_iter()
        .filter(|(_, state)| state.downloaded)
        .map(|(uidl, _)| uidl)
        .collect();
    uidls.sort();
    uidls
}

/// A temporary account folder and everything a sync needs.
pub(crate) struct Fixture {
    pub root: TempDir,
    pub dir: PathBuf,
    pub store: MailStore,
    pub account: Account,
    pub tls: TlsConfig,
    pub limits: Limits,
    pub cancel: CancelToken,
    pub password: Password,
}

impl Fixture {
    pub(crate) fn new(server: &FakePop3) -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("account");
        let store = open_store(&dir);
        Fixture {
            root,
            dir,
            store,
            account: test_account(server.server(), None),
            tls: trusting_test_ca(),
            limits: short_limits(),
            cancel: CancelToken::new(),
            password: Password::new("secret".to_string()),
        }
    }

    fn session(&self) -> Session<'_> {
        Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        }
    }

    pub(crate) fn sync(&mut self) -> Result<SyncReport, SyncError> {
        self.sync_with(&mut |_| {})
    }

    pub(crate) fn sync_with(
        &mut self,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<SyncReport, SyncError> {
        let session = Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        };
        get_mail(&session, &mut self.store, progress)
    }

    /// [`get_mail_or_partial`].
    pub(crate) fn sync_or_partial(&mut self) -> Result<SyncReport, Box<SyncStopped>> {
        let session = Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        };
        get_mail_or_partial(&session, &mut self.store, &mut |_| {})
    }

    fn list_server(&self) -> Result<(Vec<ServerMessage>, Vec<String>), SyncError> {
        list_server(&self.session(), &self.store)
    }

    fn download(&mut self, uidls: &[&str]) -> Result<SyncReport, SyncError> {
        let session = Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        };
        let uidls: Vec<String> = uidls.iter().map(|u| u.to_string()).collect();
        download_from_server(&session, &mut self.store, &uidls, &mut |_| {})
    }

    fn delete_on_server(&mut self, uidls: &[&str]) -> Result<SyncReport, SyncError> {
        let session = Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        };
        let uidls: Vec<String> = uidls.iter().map(|u| u.to_string()).collect();
        delete_from_server(&session, &mut self.store, &uidls)
    }

    /// Closes and reopens the store: what was committed must still be there.
    pub(crate) fn reopen(&mut self) {
        let placeholder = tempfile::tempdir().unwrap();
        let old = std::mem::replace(&mut self.store, open_store(placeholder.path()));
        drop(old);
        self.store = open_store(&self.dir);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// After a failure: the store is consistent and holds exactly `uidls`,
/// byte for byte as on the server.
fn assert_holds(fixture: &Fixture, server: &[FakeMessage], uidls: &[&str]) {
    assert_consistent(&fixture.store);
    let bytes = inbox_bytes(&fixture.store);
    let mut stored: Vec<&str> = bytes.keys().map(String::as_str).collect();
    stored.sort_unstable();
    let mut wanted = uidls.to_vec();
    wanted.sort_unstable();
    assert_eq!(stored, wanted);
    for uidl in uidls {
        let original = server.iter().find(|m| m.uidl == *uidl).unwrap();
        assert_eq!(bytes[*uidl], original.bytes, "{uidl} differs");
    }
    assert_eq!(
        fixture.store.count(Folder::Inbox).unwrap(),
        uidls.len() as u64,
        "rows in the Inbox"
    );
}

// ---------------------------------------------------------------------------
// The happy path
// ---------------------------------------------------------------------------

#[test]
fn a_pipelined_sync_over_tls_is_byte_exact_fills_the_list_and_is_idempotent() {
    let messages = mailbox(6);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    let mut progress = Vec::new();
    let report = fixture.sync_with(&mut |p| progress.push(p)).unwrap();
    assert_eq!(report.on_server, 6);
    assert_eq!(report.downloaded, 6);
    assert_eq!(report.skipped, 0);
    assert_eq!(report.headers_only, 0);
    assert_eq!(report.deleted_on_server, 0);
    let total: u64 = messages.iter().map(|m| m.bytes.len() as u64).sum();
    assert_eq!(report.bytes, total);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(progress.first(), Some(&Progress::Connecting));
    assert_eq!(progress.get(1), Some(&Progress::Listing));
    assert_eq!(
        progress.last(),
        Some(&Progress::Downloading {
            done: 6,
            total: 6,
            bytes: total,
            total_bytes: total,
        })
    );

    // Pipelined: the RETRs went out in one write, before any reply.
    let record = server.record();
    assert!(
        contains(
            &record.received,
            b"RETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\nRETR 5\r\nRETR 6\r\n"
        ),
        "not pipelined"
    );
    assert_eq!(record.quits, vec![true]);
    assert_eq!(record.count("DELE"), 0);

    assert_holds(
        &fixture,
        &messages,
        &["uid-1", "uid-2", "uid-3", "uid-4", "uid-5", "uid-6"],
    );
    for message in inbox(&fixture.store) {
        let n: u32 = message.uidl.as_ref().unwrap()["uid-".len()..]
            .parse()
            .unwrap();
        let summary = &message.summary;
        assert_eq!(
            summary.from_name.as_deref(),
            Some(format!("Sender {n}").as_str())
        );
        assert_eq!(summary.from_addr, Some(format!("s{n}@example.com")));
        assert_eq!(summary.subject, Some(format!("message {n}")));
        assert_eq!(summary.date, Some(sample_date(n)));
        assert_eq!(
            summary.message_id.as_deref(),
            Some(format!("{n}@example.com").as_str())
        );
        assert_eq!(summary.has_attachments, n.is_multiple_of(3), "message {n}");
        assert_eq!(summary.to, vec!["alice@example.com".to_string()]);
        assert_eq!(message.size, sample_message(n).len() as u64);
        assert!(message.downloaded);
    }

    // Again: nothing to download.
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 6));
    assert_eq!(server.record().count("RETR"), 6);

    // Another client deletes two messages on the server: their UIDLs are
    // forgotten, the local copies stay.
    server.messages(|messages| messages.retain(|m| m.uidl != "uid-2" && m.uidl != "uid-5"));
    let report = fixture.sync().unwrap();
    assert_eq!(
        (report.on_server, report.downloaded, report.skipped),
        (4, 0, 4)
    );
    let mut tracked: Vec<String> = fixture.store.uidl_states().unwrap().into_keys().collect();
    tracked.sort();
    assert_eq!(tracked, ["uid-1", "uid-3", "uid-4", "uid-6"]);
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 6);
    assert_consistent(&fixture.store);
}

#[test]
fn an_empty_mailbox_downloads_nothing_and_forgets_everything() {
    let server = FakePop3::start(mailbox(2));
    let mut fixture = Fixture::new(&server);
    assert_eq!(fixture.sync().unwrap().downloaded, 2);
    server.messages(Vec::clear);
    let report = fixture.sync().unwrap();
    assert_eq!((report.on_server, report.downloaded), (0, 0));
    assert!(fixture.store.uidl_states().unwrap().is_empty());
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 2);
    assert_consistent(&fixture.store);
}

// ---------------------------------------------------------------------------
// A message the server will not send
// ---------------------------------------------------------------------------

#[test]
fn an_err_to_one_retr_leaves_that_message_for_the_next_sync() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    server.set_retr("uid-2", Retr::Refuse);
    let mut fixture = Fixture::new(&server);
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded, 2);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    let warning = &report.warnings[0];
    assert!(
        warning.contains("message 2") && warning.contains("RETR"),
        "{warning}"
    );
    assert!(warning.contains("message locked"), "{warning}");
    assert_holds(&fixture, &messages, &["uid-1", "uid-3"]);
    let state = fixture.store.uidl_states().unwrap()["uid-2"];
    assert!(!state.downloaded && state.message_id.is_none());

    // Refused again: still not stored, nothing else fetched twice.
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 2));

    // The server relents.
    server.set_retr("uid-2", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (1, 2));
    assert!(report.warnings.is_empty());
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
    assert_eq!(server.record().count("RETR 1"), 1);
}

#[test]
fn the_report_names_the_first_messages_that_arrived() {
    let server = FakePop3::start(mailbox(5));
    server.set_retr("uid-2", Retr::Refuse);
    let mut fixture = Fixture::new(&server);
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded, 4);
    // Message 2 did not arrive; of the rest, the first three are named.
    let arrived: Vec<Arrived> = [1, 3, 4]
        .into_iter()
        .map(|n| Arrived {
            from_name: Some(format!("Sender {n}")),
            from_addr: Some(format!("s{n}@example.com")),
            subject: Some(format!("message {n}")),
        })
        .collect();
    assert_eq!(report.arrived, arrived);

    // Only what arrives in this sync: message 2, now.
    server.set_retr("uid-2", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded, 1);
    assert_eq!(report.arrived.len(), 1);
    assert_eq!(report.arrived[0].subject.as_deref(), Some("message 2"));
    let report = fixture.sync().unwrap();
    assert!(report.arrived.is_empty());
}

// ---------------------------------------------------------------------------
// Connections that fail half-way
// ---------------------------------------------------------------------------

#[test]
fn a_connection_dropped_mid_retr_keeps_what_was_complete_and_deletes_nothing() {
    let messages: Vec<FakeMessage> = (1..=4)
        .map(|n| FakeMessage::new(&format!("uid-{n}"), large_message(n, 20_000)))
        .collect();
    let server = FakePop3::start(messages.clone());
    server.set_retr("uid-3", Retr::DropAfter(9_000));
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;
    let mut done = 0;
    let error = fixture
        .sync_with(&mut |p| {
            if let Progress::Downloading { done: d, .. } = p {
                done = d;
            }
        })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network, "{error:?}");
    assert!(
        matches!(error, SyncError::Pop3(Pop3Error::Net(_))),
        "{error:?}"
    );
    assert_eq!(done, 2, "two messages were complete");
    // Nothing was marked for deletion, and there was no QUIT to commit it.
    let record = server.record();
    assert_eq!(record.count("DELE"), 0);
    assert!(record.quits.is_empty());
    assert_eq!(server.uidls().len(), 4);

    // Durable: still there after closing and reopening the store; the
    // partial message is not.
    fixture.reopen();
    assert_holds(&fixture, &messages, &["uid-1", "uid-2"]);
    assert_eq!(downloaded_uidls(&fixture.store), ["uid-1", "uid-2"]);

    // The next sync fetches exactly the missing two, then deletes all four.
    server.set_retr("uid-3", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (2, 2));
    assert_eq!(report.deleted_on_server, 4);
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3", "uid-4"]);
    assert_eq!(server.record().count("RETR 1"), 1);
    assert!(server.uidls().is_empty());
    assert!(fixture.store.uidl_states().unwrap().is_empty());
}

#[test]
fn progress_is_reported_at_most_every_25_ms_and_always_at_the_end() {
    let messages = mailbox(300);
    let server = FakePop3::start(messages);
    let mut fixture = Fixture::new(&server);
    let mut reports = Vec::new();
    let started = Instant::now();
    let report = fixture
        .sync_with(&mut |p| {
            if let Progress::Downloading { done, .. } = p {
                reports.push((done, started.elapsed()));
            }
        })
        .unwrap();
    assert_eq!(report.downloaded, 300);
    let done: Vec<u32> = reports.iter().map(|(done, _)| *done).collect();
    assert_eq!(done.first(), Some(&0));
    assert_eq!(done.last(), Some(&300), "{done:?}");
    assert!(done.windows(2).all(|w| w[0] < w[1]), "{done:?}");
    // Held back while messages keep coming: never two reports within
    // 25 ms between the first message's and the final one (timer
    // granularity aside).
    for pair in reports[1..reports.len() - 1].windows(2) {
        let (earlier, later) = (pair[0].1, pair[1].1);
        assert!(later - earlier >= Duration::from_millis(24), "{reports:?}");
    }
    let elapsed = started.elapsed().as_millis() as usize;
    assert!(
        reports.len() <= 3 + elapsed / 24,
        "{} reports in {elapsed} ms",
        reports.len()
    );
}

#[test]
fn batches_committed_before_a_failure_stay_committed() {
    // More than one batch (250 messages): the first is committed in the
    // middle of the download, the second when the connection drops.
    let messages = mailbox(262);
    let server = FakePop3::start(messages.clone());
    server.set_retr("uid-256", Retr::DropAfter(100));
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;
    let SyncStopped { error, partial } = *fixture.sync_or_partial().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network, "{error:?}");
    assert_eq!(server.record().count("DELE"), 0);
    // The report of what was done before the drop: both batches' messages,
    // exactly their bytes, nothing deleted.
    let partial = partial.expect("a report of the work done before the drop");
    let stored_bytes: u64 = messages[..255].iter().map(|m| m.bytes.len() as u64).sum();
    assert_eq!(
        (partial.on_server, partial.downloaded, partial.skipped),
        (262, 255, 0)
    );
    assert_eq!(partial.bytes, stored_bytes);
    assert_eq!(partial.deleted_on_server, 0);
    assert!(partial.seconds > 0.0);
    fixture.reopen();
    let stored: Vec<String> = (1..=255).map(|n| format!("uid-{n}")).collect();
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
    assert_holds(&fixture, &messages, &stored);

    server.set_retr("uid-256", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (7, 255));
    assert_eq!(report.deleted_on_server, 262);
    assert_eq!(server.record().count("RETR"), 256 + 7);
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 262);
    assert_consistent(&fixture.store);
}

/// Runs a sync against a server whose RETR of message 2 misbehaves as
/// `retr`; checks it fails with `kind` and a message containing `words`
/// within `within`, that only message 1 is stored, and that a good sync
/// then fetches the rest.
fn stopped_within(retr: Retr, kind: ErrorKind, words: &str, within: Duration) {
    stopped_within_sized(sample_message(2), retr, kind, words, within);
}

fn stopped_within_sized(
    second: Vec<u8>,
    retr: Retr,
    kind: ErrorKind,
    words: &str,
    within: Duration,
) {
    let mut messages = mailbox(3);
    messages[1].bytes = second;
    let server = FakePop3::start(messages.clone());
    server.set_retr("uid-2", retr.clone());
    let mut fixture = Fixture::new(&server);
    let started = Instant::now();
    let error = fixture.sync().unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(error.kind(), kind, "{retr:?}: {error:?}");
    let text = crate::error::describe(&error);
    assert!(text.contains(words), "{retr:?}: {text}");
    assert!(elapsed < within, "{retr:?}: took {elapsed:?}");
    assert_holds(&fixture, &messages, &["uid-1"]);
    assert!(server.record().quits.is_empty());

    server.set_retr("uid-2", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (2, 1));
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
}

#[test]
fn a_multi_line_reply_that_never_ends_is_stopped() {
    stopped_within(
        Retr::Endless,
        ErrorKind::Protocol,
        "far more than expected",
        Duration::from_secs(3),
    );
}

#[test]
fn a_ten_megabyte_line_is_refused_without_reading_it() {
    // Listed at 600 KB, so the reply may run to 1.2 MB: the 1 MiB line
    // limit is what stops it.
    stopped_within_sized(
        large_message(2, 600_000),
        Retr::LongLine(10 * 1024 * 1024),
        ErrorKind::Protocol,
        "line longer than 1048576 bytes",
        Duration::from_secs(3),
    );
    // Listed small, the reply limit (twice the size plus 64 KiB) comes
    // first.
    stopped_within(
        Retr::LongLine(10 * 1024 * 1024),
        ErrorKind::Protocol,
        "far more than expected",
        Duration::from_secs(3),
    );
}

#[test]
fn a_trickle_is_stopped_by_the_throughput_rule() {
    // 10 bytes/s: too slow after one 300 ms window.
    stopped_within(
        Retr::Trickle(Duration::from_millis(100)),
        ErrorKind::Timeout,
        "sending too slowly",
        Duration::from_millis(1500),
    );
}

#[test]
fn a_one_byte_per_second_trickle_ends_within_the_read_timeout() {
    // Each read waits a whole second: the 1 s read timeout or the
    // throughput rule ends it, whichever comes first.
    stopped_within(
        Retr::Trickle(Duration::from_secs(1)),
        ErrorKind::Timeout,
        "the server",
        Duration::from_millis(2500),
    );
}

#[test]
fn a_silent_server_ends_at_the_read_timeout() {
    stopped_within(
        Retr::StallAfter(0),
        ErrorKind::Timeout,
        "stopped responding",
        Duration::from_millis(2500),
    );
}

// ---------------------------------------------------------------------------
// Protocol violations and hostile listings
// ---------------------------------------------------------------------------

#[test]
fn unsolicited_lines_after_the_greeting_stop_before_anything_is_sent() {
    let server = FakePop3::start_with(
        mailbox(2),
        Behaviour {
            after_greeting: Some(b"+OK I am talking out of turn\r\n".to_vec()),
            ..Behaviour::default()
        },
    );
    let mut fixture = Fixture::new(&server);
    let error = fixture.sync().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error:?}");
    assert!(error.to_string().contains("talking out of turn"), "{error}");
    // Not even CAPA, let alone the password.
    let record = server.record();
    assert!(
        record.received.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&record.received)
    );
    assert!(fixture.store.uidl_states().unwrap().is_empty());
    assert_consistent(&fixture.store);

    server.behaviour(|b| b.after_greeting = None);
    assert_eq!(fixture.sync().unwrap().downloaded, 2);
    assert_consistent(&fixture.store);
}

#[test]
fn duplicate_and_hostile_uidls_are_left_on_the_server_and_nothing_escapes() {
    let long = "x".repeat(71);
    let uidls = [
        "good-1",
        "dup",
        "dup",
        "../../x",
        long.as_str(),
        "a b",
        "good-2",
    ];
    let messages: Vec<FakeMessage> = uidls
        .iter()
        .zip(1..)
        .map(|(uidl, n)| FakeMessage::new(uidl, sample_message(n)))
        .collect();
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;
    let report = fixture.sync().unwrap();
    assert_eq!(report.on_server, 7);
    assert_eq!(report.downloaded, 3);
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains(
            "messages [2, 3] were left on the server: the server gave them the same UIDL"
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "message 5 was left on the server: the server sent a UIDL longer than 70 characters"
        ),
        "{warnings}"
    );
    assert!(warnings.contains("message 6 was left on the server: the server sent a UIDL with a character that is not printable ASCII"), "{warnings}");
    assert_eq!(report.warnings.len(), 3, "{warnings}");

    // The valid ones were stored (a path-like UIDL is only a key) and
    // deleted on the server; the others are untouched there.
    assert_holds(&fixture, &messages, &["good-1", "../../x", "good-2"]);
    let record = server.record();
    let mut deleted = record.deleted.clone();
    deleted.sort();
    assert_eq!(deleted, ["../../x", "good-1", "good-2"]);
    assert_eq!(server.uidls(), ["dup", "dup", long.as_str(), "a b"]);

    // Nothing was written outside the account folder, and inside it only
    // the store's own files.
    let outside: Vec<_> = files_in(fixture.root.path()).into_iter().collect();
    assert_eq!(outside, [fixture.dir.clone()]);
    let mut names: Vec<String> = files_in(&fixture.dir)
        .into_iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.retain(|name| !name.starts_with("index.sqlite"));
    names.sort();
    assert_eq!(names, ["Maildir", "store.lock"]);

    // Again: the same warnings, nothing fetched or deleted twice.
    let report = fixture.sync().unwrap();
    assert_eq!((report.on_server, report.downloaded), (4, 0));
    assert_eq!(report.warnings.len(), 3);
    assert_eq!(server.record().count("RETR"), 3);
    assert_consistent(&fixture.store);
}

#[test]
fn without_uidl_messages_get_stable_ids_from_their_headers() {
    let messages = mailbox(3);
    let server = FakePop3::start_with(
        messages.clone(),
        Behaviour {
            uidl: false,
            ..Behaviour::default()
        },
    );
    let mut fixture = Fixture::new(&server);
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded, 3);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("does not support UIDL")),
        "{:?}",
        report.warnings
    );
    let record = server.record();
    assert_eq!(record.count("UIDL"), 0, "CAPA does not list UIDL");
    assert_eq!(record.count("TOP 1 0"), 1);
    let first = downloaded_uidls(&fixture.store);
    assert_eq!(first.len(), 3);
    assert!(
        first
            .iter()
            .all(|id| id.starts_with("x-herald-") && id.len() <= 70)
    );

    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 3));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("does not support UIDL"))
    );
    assert_eq!(downloaded_uidls(&fixture.store), first);
    assert_eq!(server.record().count("RETR"), 3);
    assert_consistent(&fixture.store);
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 3);
}

// ---------------------------------------------------------------------------
// Deletion policies
// ---------------------------------------------------------------------------

#[test]
fn delete_after_download_deletes_after_storing_and_only_at_quit() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (3, 3));
    let record = server.record();
    // Every DELE comes after every RETR (the messages were committed
    // first), and QUIT committed them.
    let last_retr = record
        .commands
        .iter()
        .rposition(|c| c.starts_with("RETR"))
        .unwrap();
    let first_dele = record
        .commands
        .iter()
        .position(|c| c.starts_with("DELE"))
        .unwrap();
    assert!(last_retr < first_dele, "{:?}", record.commands);
    assert_eq!(record.marked, ["uid-1", "uid-2", "uid-3"]);
    assert_eq!(record.deleted, ["uid-1", "uid-2", "uid-3"]);
    assert_eq!(record.quits, [true]);
    assert!(server.uidls().is_empty());
    assert!(fixture.store.uidl_states().unwrap().is_empty());
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
}

#[test]
fn a_refused_quit_marks_nothing_deleted_and_the_next_sync_retries() {
    let messages = mailbox(3);
    let server = FakePop3::start_with(
        messages.clone(),
        Behaviour {
            quit_refused: true,
            ..Behaviour::default()
        },
    );
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;
    let error = fixture.sync().unwrap_err();
    assert!(
        matches!(error, SyncError::Pop3(Pop3Error::QuitFailed { .. })),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    assert_eq!(server.record().marked.len(), 3);
    assert!(server.record().deleted.is_empty());
    assert_eq!(server.uidls().len(), 3);
    // The downloads stand; the UIDLs are still tracked, not "deleted".
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
    assert_eq!(downloaded_uidls(&fixture.store).len(), 3);

    server.behaviour(|b| b.quit_refused = false);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (0, 3));
    assert!(server.uidls().is_empty());
    assert!(fixture.store.uidl_states().unwrap().is_empty());
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
}

#[test]
fn a_refused_dele_is_not_marked_deleted() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    server.messages(|messages| messages[1].dele_refused = true);
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (3, 2));
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("message 2") && warnings.contains("DELE"),
        "{warnings}"
    );
    assert_eq!(server.uidls(), ["uid-2"]);
    let states = fixture.store.uidl_states().unwrap();
    assert_eq!(states.keys().collect::<Vec<_>>(), ["uid-2"]);
    assert!(states["uid-2"].downloaded);

    server.messages(|messages| messages[0].dele_refused = false);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (0, 1));
    assert!(server.uidls().is_empty());
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
}

#[test]
fn delete_when_deleted_locally_deletes_what_the_user_deleted() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteWhenDeletedLocally;
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (3, 0));
    assert_eq!(server.record().count("DELE"), 0);

    let id = inbox(&fixture.store)
        .into_iter()
        .find(|m| m.uidl.as_deref() == Some("uid-2"))
        .unwrap()
        .id;
    fixture.store.delete(id).unwrap();
    assert_eq!(fixture.store.pending_server_deletions().unwrap(), ["uid-2"]);

    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (0, 1));
    assert_eq!(server.record().deleted, ["uid-2"]);
    assert_eq!(server.uidls(), ["uid-1", "uid-3"]);
    assert!(fixture.store.pending_server_deletions().unwrap().is_empty());
    // The local copy is in Trash; nothing comes back.
    assert_eq!(fixture.store.count(Folder::Trash).unwrap(), 1);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (0, 0));
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 2);
    assert_consistent(&fixture.store);
}

#[test]
fn delete_after_days_counts_from_when_a_message_was_first_seen() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDays { days: 7 };
    let now = crate::store::unix_now();
    // uid-1 was first seen 8 days ago, uid-2 6 days ago (a sync that did
    // not download them, say); uid-3 is new.
    fixture
        .store
        .note_seen_on_server(&["uid-1"], now - 8 * 86_400)
        .unwrap();
    fixture
        .store
        .note_seen_on_server(&["uid-2"], now - 6 * 86_400)
        .unwrap();
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (3, 1));
    assert_eq!(server.record().deleted, ["uid-1"]);
    let states = fixture.store.uidl_states().unwrap();
    assert!(states["uid-2"].first_seen <= now - 6 * 86_400);
    assert!(states["uid-3"].first_seen >= now);

    assert_eq!(server.uidls(), ["uid-2", "uid-3"]);
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
}

// ---------------------------------------------------------------------------
// The size limit
// ---------------------------------------------------------------------------

#[test]
fn messages_over_the_size_limit_are_recorded_from_their_headers_and_downloaded_on_request() {
    let messages = vec![
        FakeMessage::new("small-1", sample_message(1)),
        FakeMessage::new("big", large_message(3, 50_000)),
        FakeMessage::new("small-2", sample_message(2)),
    ];
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.max_message_size_bytes = Some(10_000);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.headers_only), (2, 1));
    let record = server.record();
    assert_eq!(record.count("RETR 2"), 0, "{:?}", record.commands);
    assert_eq!(record.count("TOP 2 0"), 1);
    let big = inbox(&fixture.store)
        .into_iter()
        .find(|m| m.uidl.as_deref() == Some("big"))
        .unwrap();
    assert!(!big.downloaded && big.path.is_none());
    assert_eq!(big.size, messages[1].bytes.len() as u64);
    assert_eq!(big.summary.subject.as_deref(), Some("message 3"));
    // A multipart/mixed top level is all the headers say.
    assert!(big.summary.has_attachments);
    assert_consistent(&fixture.store);

    // Later syncs leave it alone.
    let report = fixture.sync().unwrap();
    assert_eq!(
        (report.downloaded, report.headers_only, report.skipped),
        (0, 0, 3)
    );

    // The server view lists all three, with what is downloaded.
    let (listed, warnings) = fixture.list_server().unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let flags: Vec<(&str, bool)> = listed
        .iter()
        .map(|m| (m.uidl.as_str(), m.downloaded))
        .collect();
    assert_eq!(
        flags,
        [("small-1", true), ("big", false), ("small-2", true)]
    );
    assert_eq!(listed[1].subject.as_deref(), Some("message 3"));
    assert_eq!(listed[1].from.as_deref(), Some("Sender 3 <s3@example.com>"));
    assert_eq!(listed[1].date, Some(sample_date(3)));

    // Downloading it on request fills the same row in place.
    let report = fixture.download(&["big"]).unwrap();
    assert_eq!(report.downloaded, 1);
    let after = fixture.store.get(big.id).unwrap().unwrap();
    assert!(after.downloaded);
    assert_eq!(
        std::fs::read(after.path.unwrap()).unwrap(),
        messages[1].bytes
    );
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 3);
    assert_holds(&fixture, &messages, &["small-1", "big", "small-2"]);
    let (listed, _) = fixture.list_server().unwrap();
    assert!(listed.iter().all(|m| m.downloaded));

    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 3));
}

#[test]
fn a_large_message_whose_headers_could_not_be_read_is_recorded_by_a_later_sync() {
    let messages = vec![
        FakeMessage::new("small", sample_message(1)),
        FakeMessage::new("big", large_message(2, 50_000)),
    ];
    let server = FakePop3::start(messages.clone());
    server.messages(|messages| messages[1].top_refused = true);
    let mut fixture = Fixture::new(&server);
    fixture.account.max_message_size_bytes = Some(10_000);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.headers_only), (1, 0));
    assert!(
        report.warnings.join("\n").contains("TOP"),
        "{:?}",
        report.warnings
    );

    // The server relents: the big message must now appear in the list.
    server.messages(|messages| messages[1].top_refused = false);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.headers_only), (0, 1));
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 2);
    assert_consistent(&fixture.store);
}

#[test]
fn downloading_from_the_server_view_skips_what_is_already_here() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.max_message_size_bytes = Some(1);
    let report = fixture.sync().unwrap();
    assert_eq!(report.headers_only, 3);
    fixture.download(&["uid-2"]).unwrap();
    // uid-2 again, with uid-3 and one that has gone.
    let report = fixture.download(&["uid-2", "uid-3", "uid-9"]).unwrap();
    assert_eq!(report.downloaded, 1);
    assert!(
        report.warnings.join("\n").contains("uid-9"),
        "{:?}",
        report.warnings
    );
    assert_eq!(server.record().count("RETR 2"), 1);
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 3);
    assert_eq!(downloaded_uidls(&fixture.store), ["uid-2", "uid-3"]);
    assert_consistent(&fixture.store);
}

#[test]
fn deleting_from_the_server_view_keeps_the_local_copy() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.sync().unwrap();
    let report = fixture.delete_on_server(&["uid-1", "uid-7"]).unwrap();
    assert_eq!(report.deleted_on_server, 1);
    assert!(report.warnings.join("\n").contains("uid-7"));
    assert_eq!(server.uidls(), ["uid-2", "uid-3"]);
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
    assert!(!fixture.store.uidl_states().unwrap().contains_key("uid-1"));
}

// ---------------------------------------------------------------------------
// Cancel, a full disk, a refused certificate
// ---------------------------------------------------------------------------

#[test]
fn cancel_from_another_thread_stops_a_slow_download_at_once() {
    let messages = mailbox(4);
    let server = FakePop3::start(messages.clone());
    server.set_retr("uid-3", Retr::StallAfter(100));
    let mut fixture = Fixture::new(&server);
    // Only the cancel may end this: no read timeout, no throughput rule.
    fixture.limits.io_timeout = Duration::from_secs(15);
    fixture.limits.min_bytes_per_second = 0;
    let cancel = fixture.cancel.clone();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let canceller = std::thread::spawn(move || {
        rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let at = Instant::now();
        cancel.cancel();
        at
    });
    let started = Instant::now();
    let error = fixture
        .sync_with(&mut |p| {
            if let Progress::Downloading { done: 2, .. } = p {
                let _ = tx.send(());
            }
        })
        .unwrap_err();
    let ended = Instant::now();
    let cancelled_at = canceller.join().unwrap();
    assert_eq!(error.kind(), ErrorKind::Cancelled, "{error:?}");
    assert!(ended.duration_since(cancelled_at) < Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(server.record().quits.is_empty());
    fixture.reopen();
    assert_holds(&fixture, &messages, &["uid-1", "uid-2"]);

    fixture.cancel.reset();
    server.set_retr("uid-3", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (2, 2));
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3", "uid-4"]);
}

#[test]
fn a_full_disk_is_a_storage_error_and_nothing_is_deleted_on_the_server() {
    let messages = mailbox(3);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    fixture.account.deletion_policy = DeletionPolicy::DeleteAfterDownload;

    // The disk fills while the first message is written.
    hooks::fail_write_after(0, std::io::ErrorKind::StorageFull);
    let error = fixture.sync().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Storage, "{error:?}");
    assert!(error.to_string().contains("disk is full"), "{error}");
    assert_eq!(server.record().count("DELE"), 0);
    assert!(server.record().quits.is_empty());
    assert_holds(&fixture, &messages, &[]);

    // The disk fills when the batch is made durable.
    hooks::fail_at(
        crate::store::Step::BeforeSync,
        std::io::ErrorKind::StorageFull,
    );
    let error = fixture.sync().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Storage, "{error:?}");
    assert!(error.to_string().contains("disk is full"), "{error}");
    assert_eq!(server.record().count("DELE"), 0);
    assert!(server.record().quits.is_empty());
    assert_holds(&fixture, &messages, &[]);

    // ... or when the rows are settled, after the renames.
    hooks::fail_at(
        crate::store::Step::BeforeFinish,
        std::io::ErrorKind::StorageFull,
    );
    let error = fixture.sync().unwrap_err();
    assert!(error.to_string().contains("disk is full"), "{error}");
    assert_eq!(server.record().count("DELE"), 0);
    assert_holds(&fixture, &messages, &[]);

    // Space again: everything once, then deleted.
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.deleted_on_server), (3, 3));
    assert_holds(&fixture, &messages, &["uid-1", "uid-2", "uid-3"]);
    assert!(server.uidls().is_empty());
}

#[test]
fn a_refused_certificate_reaches_the_caller_with_its_details() {
    let server =
        FakePop3::start_with_identity(mailbox(1), Behaviour::default(), &TestPki::get().wrong_name);
    let mut fixture = Fixture::new(&server);
    let error = fixture.sync().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Certificate, "{error:?}");
    let problem = error
        .certificate()
        .expect("the certificate travels with the error");
    assert!(!problem.certificate.sha256_hex.is_empty());
    assert!(server.record().received.is_empty());
}

#[test]
fn a_wrong_password_is_auth_rejected_and_stores_nothing() {
    let server = FakePop3::start(mailbox(2));
    let mut fixture = Fixture::new(&server);
    fixture.password = Password::new("wrong".to_string());
    let SyncStopped { error, partial } = *fixture.sync_or_partial().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthRejected, "{error:?}");
    assert!(
        partial.is_none(),
        "nothing to report before the list: {partial:?}"
    );
    assert_eq!(server.record().count("AUTH PLAIN"), 1, "no retry");
    assert!(fixture.store.uidl_states().unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Listings that leave messages out must not make the store forget them
// ---------------------------------------------------------------------------

#[test]
fn a_message_whose_pseudo_id_cannot_be_made_once_is_not_downloaded_twice() {
    let messages = mailbox(3);
    let server = FakePop3::start_with(
        messages.clone(),
        Behaviour {
            uidl: false,
            ..Behaviour::default()
        },
    );
    let mut fixture = Fixture::new(&server);
    assert_eq!(fixture.sync().unwrap().downloaded, 3);
    // One sync where TOP of message 2 fails: it has no id this time.
    server.messages(|messages| messages[1].top_refused = true);
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded, 0);
    assert!(
        report.warnings.join("\n").contains("TOP"),
        "{:?}",
        report.warnings
    );
    server.messages(|messages| messages[1].top_refused = false);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 3));
    assert_eq!(server.record().count("RETR"), 3);
    assert_eq!(fixture.store.count(Folder::Inbox).unwrap(), 3);
    assert_consistent(&fixture.store);
}

#[test]
fn a_downloaded_uidl_that_is_duplicated_for_a_while_is_not_downloaded_again() {
    let messages = mailbox(2);
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    assert_eq!(fixture.sync().unwrap().downloaded, 2);
    // A broken server lists a second message under uid-1.
    server.messages(|messages| messages.push(FakeMessage::new("uid-1", sample_message(9))));
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded, 0);
    assert!(report.warnings.join("\n").contains("same UIDL"));
    // Fixed again: uid-1 is the message we already have.
    server.messages(|messages| {
        messages.pop();
    });
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (0, 2));
    assert_eq!(server.record().count("RETR 1"), 1);
    assert_holds(&fixture, &messages, &["uid-1", "uid-2"]);
}
