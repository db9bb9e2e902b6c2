//! Sending against the fake SMTP server ([`crate::smtp::fake`]): the
//! message is in the Outbox before anything is sent, moves to Sent only on
//! acceptance, and otherwise stays with its error; only retryable failures
//! are retried by a flush.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use tempfile::TempDir;

use super::*;
use crate::account::Account;
use crate::compose::{Draft, DraftBody};
use crate::credentials::Password;
use crate::message::Address;
use crate::net::testing::TestPki;
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Limits};
use crate::smtp::fake::{AfterData, Behaviour, FakeSmtp};
use crate::store::Folder;
use crate::sync::tests::{
    all_messages, assert_consistent, open_store, short_limits, test_account, trusting_test_ca,
};

struct Fixture {
    _root: TempDir,
    store: MailStore,
    account: Account,
    tls: TlsConfig,
    limits: Limits,
    cancel: CancelToken,
    password: Password,
}

impl Fixture {
    fn new(server: &FakeSmtp) -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let store = open_store(&root.path().join("account"));
        // The POP3 side is never contacted here.
        let pop3 = crate::account::Pop3Server {
            host: "127.0.0.1".to_string(),
            port: 9,
            security: crate::account::Pop3Security::ImplicitTls,
        };
        Fixture {
            _root: root,
            store,
            account: test_account(pop3, Some(server.server())),
            tls: trusting_test_ca(),
            limits: short_limits(),
            cancel: CancelToken::new(),
            password: Password::new("secret".to_string()),
        }
    }

    fn send(&mut self, message: &ComposedMessage) -> Result<Sent, SendError> {
        let session = Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        };
        send(&session, &mut self.store, message, &mut |_| {})
    }

    fn flush(&mut self) -> Result<Vec<FlushedEntry>, SendError> {
        let session = Session {
            account: &self.account,
            password: &self.password,
            tls: &self.tls,
            limits: &self.limits,
            cancel: &self.cancel,
        };
        flush_outbox(&session, &mut self.store, &mut |_| {})
    }

    fn file_of(&self, folder: Folder, id: i64) -> Vec<u8> {
        let message = self.store.get(id).unwrap().unwrap();
        assert_eq!(message.folder, folder);
        std::fs::read(message.path.unwrap()).unwrap()
    }
}

fn address(name: Option<&str>, email: &str) -> Address {
    Address {
        name: name.map(str::to_string),
        email: email.to_string(),
    }
}

fn composed(subject: &str) -> ComposedMessage {
    Draft {
        from: address(Some("Alice"), "alice@example.com"),
        to: vec![address(Some("Bob"), "bob@example.com")],
        cc: vec![address(None, "carol@example.com")],
        bcc: vec![address(Some("Hidden"), "hidden@example.net")],
        subject: subject.to_string(),
        body: DraftBody::Plain("Hello Bob,\n.a line with a leading dot\nbye\n".to_string()),
        inline_images: vec![],
        attachments: vec![],
        in_reply_to: None,
        references: vec![],
    }
    .compose()
    .unwrap()
}

const RECIPIENTS: [&str; 3] = ["bob@example.com", "carol@example.com", "hidden@example.net"];

/// The DATA as the server got it, dot-stuffing removed.
fn unstuffed(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut line_start = true;
    for (index, &byte) in data.iter().enumerate() {
        if !(line_start && byte == b'.' && data.get(index + 1) == Some(&b'.')) {
            out.push(byte);
        }
        line_start = byte == b'\n';
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The server got exactly the sendable bytes (no Bcc) for every recipient.
fn assert_delivered(received: &crate::smtp::fake::Received, message: &ComposedMessage) {
    assert_eq!(received.mail_from, "alice@example.com");
    assert_eq!(received.recipients, RECIPIENTS);
    let data = unstuffed(&received.data);
    assert_eq!(data, message.sendable);
    assert!(!contains(&data, b"hidden@example.net"));
    assert!(!contains(&data, b"Bcc:"));
    assert!(contains(
        &received.data,
        b"\r\n..a line with a leading dot\r\n"
    ));
}

fn outbox_paths(fixture: &Fixture) -> Vec<PathBuf> {
    fixture
        .store
        .outbox_entries()
        .unwrap()
        .into_iter()
        .map(|entry| entry.path)
        .collect()
}

#[test]
fn a_sent_message_moves_to_sent_with_its_bcc_and_leaves_the_outbox_empty() {
    let server = FakeSmtp::start(Behaviour::default());
    let mut fixture = Fixture::new(&server);
    let message = composed("hello");
    let sent = fixture.send(&message).unwrap();
    assert_eq!(sent.message_id, message.message_id);
    assert_eq!(sent.recipients, 3);
    assert_eq!(sent.bytes, message.sendable.len() as u64);

    assert_eq!(fixture.store.count(Folder::Outbox).unwrap(), 0);
    assert!(fixture.store.outbox_entries().unwrap().is_empty());
    assert_eq!(fixture.store.count(Folder::Sent).unwrap(), 1);
    let copy = fixture.file_of(Folder::Sent, sent.sent_id);
    assert_eq!(copy, message.local_copy);
    assert!(
        contains(&copy, b"hidden@example.net"),
        "the Bcc is kept locally"
    );
    let row = fixture.store.get(sent.sent_id).unwrap().unwrap();
    assert!(row.flags.seen);
    assert_eq!(row.summary.subject.as_deref(), Some("hello"));

    let record = server.record();
    assert_eq!(record.messages.len(), 1);
    assert_delivered(&record.messages[0], &message);
    assert!(record.commands.iter().any(|c| c == "QUIT"));
    assert_consistent(&fixture.store);
}

#[test]
fn a_transient_refusal_keeps_the_message_in_the_outbox_and_a_flush_sends_it() {
    let server = FakeSmtp::start(Behaviour {
        after_data: AfterData::Reply("451 4.3.0 Try again later".to_string()),
        ..Behaviour::default()
    });
    let mut fixture = Fixture::new(&server);
    let message = composed("busy server");
    let error = fixture.send(&message).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    let SendError::Smtp { outbox_id, .. } = &error else {
        panic!("{error:?}")
    };
    let entries = fixture.store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.id, *outbox_id);
    assert!(!entry.permanent);
    assert_eq!(entry.attempts, 1);
    let last_error = entry.last_error.as_deref().unwrap();
    assert!(last_error.contains("Try again later"), "{last_error}");
    assert_eq!(entry.envelope.recipients, RECIPIENTS);
    assert_eq!(std::fs::read(&entry.path).unwrap(), message.local_copy);
    assert_eq!(fixture.store.count(Folder::Sent).unwrap(), 0);
    assert_consistent(&fixture.store);

    // The server recovers; the flush sends it with the stored envelope.
    server.behaviour(|b| b.after_data = AfterData::Accept);
    let flushed = fixture.flush().unwrap();
    assert_eq!(flushed.len(), 1);
    assert_eq!(flushed[0].outbox_id, *outbox_id);
    let sent = flushed[0].result.as_ref().unwrap();
    assert!(fixture.store.outbox_entries().unwrap().is_empty());
    assert_eq!(fixture.store.count(Folder::Sent).unwrap(), 1);
    assert_eq!(
        fixture.file_of(Folder::Sent, sent.sent_id),
        message.local_copy
    );
    let record = server.record();
    assert_eq!(record.messages.len(), 2);
    assert_delivered(&record.messages[1], &message);

    // Nothing left to flush: no connection at all.
    let connections = server.record().connections;
    assert!(fixture.flush().unwrap().is_empty());
    assert_eq!(server.record().connections, connections);
    assert_consistent(&fixture.store);
}

#[test]
fn a_refused_recipient_is_permanent_and_a_flush_skips_it() {
    let server = FakeSmtp::start(Behaviour {
        refused_recipients: vec!["carol@example.com".to_string()],
        ..Behaviour::default()
    });
    let mut fixture = Fixture::new(&server);
    let message = composed("to a typo");
    let error = fixture.send(&message).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: false });
    let text = crate::error::describe(&error);
    assert!(text.contains("carol@example.com"), "{text}");
    assert!(text.contains("kept in the Outbox"), "{text}");
    // Sent to nobody: no DATA, the transaction reset.
    let record = server.record();
    assert!(record.messages.is_empty());
    assert!(record.commands.iter().any(|c| c == "RSET"));
    let entries = fixture.store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].permanent);
    assert!(
        entries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("carol@example.com")
    );
    assert_eq!(std::fs::read(&entries[0].path).unwrap(), message.local_copy);

    // A flush does not retry it (not even a connection).
    server.behaviour(|b| b.refused_recipients.clear());
    let connections = server.record().connections;
    assert!(fixture.flush().unwrap().is_empty());
    assert_eq!(server.record().connections, connections);
    assert_eq!(outbox_paths(&fixture).len(), 1);
    assert_eq!(fixture.store.count(Folder::Sent).unwrap(), 0);
    assert_consistent(&fixture.store);
}

#[test]
fn no_reply_after_the_final_dot_keeps_the_message_for_the_user_to_decide() {
    let server = FakeSmtp::start(Behaviour {
        after_data: AfterData::Drop,
        ..Behaviour::default()
    });
    let mut fixture = Fixture::new(&server);
    let message = composed("did it go?");
    let error = fixture.send(&message).unwrap_err();
    let SendError::Smtp { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(source.may_have_been_sent(), "{source:?}");
    let text = crate::error::describe(&error);
    assert!(text.contains("may have been sent"), "{text}");
    // The server has the whole message.
    assert_eq!(server.record().messages.len(), 1);
    let entries = fixture.store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].permanent, "must not be retried automatically");
    assert!(
        entries[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("may have been sent")
    );

    server.behaviour(|b| b.after_data = AfterData::Accept);
    assert!(fixture.flush().unwrap().is_empty());
    assert_eq!(server.record().messages.len(), 1, "not sent twice");
    assert_eq!(fixture.store.count(Folder::Outbox).unwrap(), 1);
    assert_eq!(fixture.store.count(Folder::Sent).unwrap(), 0);
    assert_consistent(&fixture.store);
}

#[test]
fn a_flush_that_cannot_log_in_keeps_every_message_retryable() {
    let server = FakeSmtp::start(Behaviour {
        after_data: AfterData::Reply("451 4.3.0 Try again later".to_string()),
        ..Behaviour::default()
    });
    let mut fixture = Fixture::new(&server);
    fixture.send(&composed("one")).unwrap_err();
    fixture.send(&composed("two")).unwrap_err();
    fixture.password = Password::new("wrong".to_string());
    let error = fixture.flush().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthRejected);
    let entries = fixture.store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| !e.permanent && e.attempts == 2));

    fixture.password = Password::new("secret".to_string());
    server.behaviour(|b| b.after_data = AfterData::Accept);
    let connections = server.record().connections;
    let flushed = fixture.flush().unwrap();
    assert_eq!(flushed.len(), 2);
    assert!(flushed.iter().all(|f| f.result.is_ok()));
    assert_eq!(fixture.store.count(Folder::Sent).unwrap(), 2);
    assert_eq!(fixture.store.count(Folder::Outbox).unwrap(), 0);
    // One connection for both.
    let record = server.record();
    assert_eq!(record.connections, connections + 1);
    assert_eq!(record.messages.iter().filter(|m| m.accepted).count(), 2);
    assert_eq!(all_messages(&fixture.store).len(), 2);
    assert_consistent(&fixture.store);
}

#[test]
fn a_refused_certificate_reaches_the_caller_with_its_details() {
    let server = FakeSmtp::start_with_identity(Behaviour::default(), &TestPki::get().wrong_name);
    let mut fixture = Fixture::new(&server);
    let error = fixture.send(&composed("hello")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Certificate, "{error:?}");
    assert!(
        error.certificate().is_some(),
        "the certificate travels with the error"
    );
    assert_eq!(fixture.store.outbox_entries().unwrap().len(), 1);
}

#[test]
fn a_sent_message_that_cannot_be_filed_in_sent_is_never_sent_again() {
    let server = FakeSmtp::start(Behaviour::default());
    let mut fixture = Fixture::new(&server);
    let message = composed("accepted, then the disk filled");
    // The server accepts it; moving it from Outbox to Sent fails.
    crate::store::hooks::fail_at(
        crate::store::Step::BeforeMoveRecord,
        std::io::ErrorKind::StorageFull,
    );
    let error = fixture.send(&message).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Storage, "{error:?}");
    assert_eq!(server.record().messages.len(), 1);
    // Still in the Outbox (nothing lost), marked so that no flush sends it
    // a second time, and saying why.
    let entries = fixture.store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].permanent);
    let last_error = entries[0].last_error.as_deref().unwrap();
    assert!(last_error.contains("was sent"), "{last_error}");
    assert!(fixture.flush().unwrap().is_empty());
    assert_eq!(server.record().messages.len(), 1, "delivered twice");
    assert_consistent(&fixture.store);
}

// From the real-server work: the certificate and the wording of a send error.

fn refused_send_error() -> SendError {
    use crate::net::NetError;
    use crate::net::tls::{CertificateDetails, CertificateProblem, CertificateReason};
    SendError::Smtp {
        source: SmtpError::Net(NetError::Certificate(Box::new(CertificateProblem {
            host: "127.0.0.1".into(),
            reason: CertificateReason::Untrusted,
            library_detail: "unable to get local issuer certificate".into(),
            certificate: CertificateDetails::from_der(b"not really DER"),
        }))),
        outbox_id: 7,
    }
}

/// The window offers to trust exactly the refused certificate: a send
/// failure must carry it like the SMTP error it wraps.
#[test]
fn a_refused_certificate_survives_the_send_error() {
    let failure = crate::engine::Failure::from_error(&refused_send_error());
    assert_eq!(failure.kind, ErrorKind::Certificate);
    assert!(failure.certificate.is_some());
}

/// The cause is told once: `describe` appends the source.
#[test]
fn a_send_error_names_its_cause_once() {
    let text = describe(&refused_send_error());
    assert!(text.starts_with("sending failed; the message is kept in the Outbox: "));
    assert_eq!(text.matches("was refused").count(), 1, "{text}");
}
