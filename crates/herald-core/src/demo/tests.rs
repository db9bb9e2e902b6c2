//! The sandbox through the real engine: the account worker with the
//! profile's own password command downloads the seeded inbox into a
//! `MailStore`, sends through the demo SMTP server and gets the message
//! back; wrong passwords and the system roots are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use super::*;
use crate::compose::{Draft, DraftBody};
use crate::credentials::PasswordStore;
use crate::engine::{AccountContext, AccountWorker, Command, Event, EventKind};
use crate::message::{Address, Message};
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Limits};
use crate::session::Session;
use crate::store::{Folder, ListQuery, MailStore};
use crate::sync::SyncReport;

/// How many messages the seed writes.
const SEEDED: usize = 19;

struct Running {
    _dir: tempfile::TempDir,
    sandbox: DemoSandbox,
    worker: AccountWorker,
    events: Receiver<Event>,
}

impl Running {
    fn start() -> Running {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = DemoSandbox::start(dir.path()).unwrap();
        // What the window does: load the profile and start a worker; the
        // password comes from the account's password command.
        let accounts = AccountList::load(sandbox.profile()).unwrap();
        let account = accounts.get(DEMO_ACCOUNT_NAME).unwrap().clone();
        assert_eq!(&account, sandbox.account());
        let passwords = Arc::new(PasswordStore::session_only("herald-demo-test", "tests"));
        let (sender, events) = mpsc::channel();
        let context = AccountContext {
            mailbox_dir: sandbox.profile().mailbox_dir(&account.name),
            account,
            passwords,
            limits: Limits::default(),
        };
        let worker = AccountWorker::spawn(context, sender, Arc::new(|| {}));
        Running {
            _dir: dir,
            sandbox,
            worker,
            events,
        }
    }

    /// Runs a command and returns its result event.
    fn run(&self, command: Command) -> EventKind {
        assert!(self.worker.submit(command));
        loop {
            let event = self
                .events
                .recv_timeout(Duration::from_secs(30))
                .expect("an event within 30 s");
            match event.kind {
                EventKind::Started(_)
                | EventKind::Progress(_)
                | EventKind::SmtpLimits(_)
                | EventKind::Idle => {}
                other => return other,
            }
        }
    }

    fn get_mail(&self) -> SyncReport {
        match self.run(Command::GetMail) {
            EventKind::MailFetched(Ok(report)) => report,
            other => panic!("get mail failed: {other:?}"),
        }
    }

    fn inbox(&self) -> Vec<Message> {
        let store =
            MailStore::open_read_only(&self.sandbox.profile().mailbox_dir(DEMO_ACCOUNT_NAME))
                .unwrap();
        store
            .list(Folder::Inbox, &ListQuery::default())
            .unwrap()
            .into_iter()
            .map(|stored| Message::from_file(&stored.path.unwrap()).unwrap())
            .collect()
    }
}

fn subjects(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m.headers.subject.clone().unwrap_or_default())
        .collect()
}

#[test]
fn seeded_inbox_downloads_through_the_engine_and_parses() {
    let running = Running::start();
    assert_eq!(running.sandbox.inbox_count(), SEEDED);
    let report = running.get_mail();
    assert_eq!(report.downloaded as usize, SEEDED, "{report:?}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    let inbox = running.inbox();
    assert_eq!(inbox.len(), SEEDED);
    for message in &inbox {
        assert!(message.warnings.is_empty(), "{:?}", message.warnings);
        assert!(message.headers.date_unix.is_some());
    }
    let subjects = subjects(&inbox);
    for expected in [
        seed::CHINESE_SUBJECT,
        "Привет из Санкт-Петербурга",
        "来週の打ち合わせについて",
        "Grüße aus München",
        "🎂 Cake for Chen on Friday",
        "Welcome to Herald!",
    ] {
        assert!(
            subjects.iter().any(|s| s == expected),
            "{expected} in {subjects:?}"
        );
    }
    let by_subject = |subject: &str| {
        inbox
            .iter()
            .find(|m| m.headers.subject.as_deref() == Some(subject))
            .unwrap()
    };

    let chinese = by_subject(seed::CHINESE_SUBJECT);
    assert!(chinese.text.contains("香山"), "{}", chinese.text);
    assert_eq!(chinese.headers.from[0].name.as_deref(), Some("李娜"));
    assert!(
        by_subject("Привет из Санкт-Петербурга")
            .text
            .contains("Белые ночи")
    );
    let japanese = by_subject("来週の打ち合わせについて");
    assert!(japanese.text.contains("会議室"), "{}", japanese.text);
    assert_eq!(japanese.headers.from[0].name.as_deref(), Some("田中 花子"));

    let welcome = by_subject("Welcome to Herald!");
    assert!(
        welcome
            .html
            .as_deref()
            .unwrap()
            .contains("cid:logo@demo.herald.invalid")
    );
    let inline: Vec<_> = welcome.attachments.iter().filter(|a| a.inline).collect();
    assert_eq!(inline.len(), 2);
    for attachment in inline {
        let png = welcome.decoded_body(attachment.part_index);
        image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
    }

    let report = by_subject("Annual report 2024 and the sales figures");
    let names: Vec<_> = report
        .attachments
        .iter()
        .map(|a| a.raw_filename.clone().unwrap())
        .collect();
    assert_eq!(names, [seed::PDF_NAME, seed::CSV_NAME]);
    let pdf = report.decoded_body(report.attachments[0].part_index);
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));

    let newsletter = by_subject("The Weekly Byte #42: five tips for a calmer inbox");
    let html = newsletter.html.as_deref().unwrap();
    assert!(html.contains("https://images.newsletter.example.com/"));
    assert!(html.contains("width=\"1\" height=\"1\""));

    let parcel = by_subject("Your parcel is on its way");
    assert_eq!(parcel.headers.reply_to[0].email, "care@support.example.net");
    assert_ne!(
        parcel.headers.from[0].email,
        parcel.headers.reply_to[0].email
    );

    let thread: Vec<_> = inbox
        .iter()
        .filter(|m| {
            m.headers
                .subject
                .as_deref()
                .is_some_and(|s| s.ends_with("Team picnic on Saturday?"))
        })
        .collect();
    assert_eq!(thread.len(), 8);
    assert!(thread.iter().any(|m| m.headers.references.len() == 7));

    // Nothing new the second time: UIDLs are stable.
    let again = running.get_mail();
    assert_eq!((again.downloaded, again.skipped as usize), (0, SEEDED));
}

#[test]
fn mail_to_the_demo_address_arrives_at_the_next_get_mail() {
    let running = Running::start();
    running.get_mail();
    let draft = Draft {
        from: Address {
            name: Some("Demo User".to_string()),
            email: DEMO_EMAIL_ADDR.to_string(),
        },
        to: vec![Address {
            name: None,
            email: DEMO_EMAIL_ADDR.to_string(),
        }],
        cc: vec![Address {
            name: None,
            email: "someone@example.com".to_string(),
        }],
        subject: "Hello from the test ✓".to_string(),
        body: DraftBody::Plain("A line\n.a line starting with a dot\n".to_string()),
        bcc: Vec::new(),
        inline_images: Vec::new(),
        attachments: Vec::new(),
        in_reply_to: None,
        references: Vec::new(),
    };
    let composed = draft.compose().unwrap();
    match running.run(Command::Send(Box::new(composed))) {
        EventKind::Sent { result, .. } => {
            result.unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(running.sandbox.inbox_count(), SEEDED + 1);
    let report = running.get_mail();
    assert_eq!(report.downloaded, 1);
    let inbox = running.inbox();
    let sent = inbox
        .iter()
        .find(|m| m.headers.subject.as_deref() == Some("Hello from the test ✓"))
        .unwrap();
    assert!(
        sent.text.contains("\n.a line starting with a dot"),
        "{}",
        sent.text
    );

    // Only to another address: accepted, nothing arrives.
    let other = Draft {
        to: vec![Address {
            name: None,
            email: "friend@example.net".to_string(),
        }],
        cc: Vec::new(),
        ..draft
    };
    match running.run(Command::Send(Box::new(other.compose().unwrap()))) {
        EventKind::Sent { result, .. } => {
            result.unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(running.sandbox.inbox_count(), SEEDED + 1);
}

#[test]
fn wrong_password_is_refused_as_auth_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = DemoSandbox::start(dir.path()).unwrap();
    let account = sandbox.account();
    let tls = TlsConfig::for_account(account).unwrap();
    let limits = Limits::default();
    let cancel = CancelToken::new();
    let wrong = Password::new("not-the-password".to_string());
    let session = Session {
        account,
        password: &wrong,
        tls: &tls,
        limits: &limits,
        cancel: &cancel,
    };
    let pop3 = session.open_pop3().err().unwrap();
    assert_eq!(pop3.kind(), ErrorKind::AuthRejected, "{pop3}");
    let smtp = session.open_smtp().err().unwrap();
    assert_eq!(smtp.kind(), ErrorKind::AuthRejected, "{smtp}");

    let right = sandbox.password();
    let session = Session {
        password: &right,
        ..session
    };
    session.open_pop3().unwrap();
    session.open_smtp().unwrap();
}

#[test]
fn demo_ca_is_trusted_only_through_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = DemoSandbox::start(dir.path()).unwrap();
    assert!(sandbox.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        sandbox.account().extra_ca_file.as_deref(),
        Some(dir.path().join("demo-ca.pem").as_path())
    );
    let system = TlsConfig::system();
    let limits = Limits::default();
    let cancel = CancelToken::new();
    let password = sandbox.password();
    let session = Session {
        account: sandbox.account(),
        password: &password,
        tls: &system,
        limits: &limits,
        cancel: &cancel,
    };
    let pop3 = session.open_pop3().err().unwrap();
    assert_eq!(pop3.kind(), ErrorKind::Certificate, "{pop3}");
    let smtp = session.open_smtp().err().unwrap();
    assert_eq!(smtp.kind(), ErrorKind::Certificate, "{smtp}");
}

/// A raw TLS client trusting the demo CA.
fn raw_client(sandbox: &DemoSandbox, port: u16) -> native_tls::TlsStream<TcpStream> {
    let ca = native_tls::Certificate::from_pem(sandbox.ca_pem().as_bytes()).unwrap();
    let connector = native_tls::TlsConnector::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    connector.connect("localhost", tcp).unwrap()
}

#[test]
fn pipelined_pop3_commands_are_answered_in_order_and_dele_waits_for_quit() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = DemoSandbox::start(dir.path()).unwrap();
    let mut stream = raw_client(&sandbox, sandbox.pop3_port());
    stream
        .write_all(
            format!(
                "CAPA\r\nUSER {DEMO_EMAIL_ADDR}\r\nPASS {DEMO_PASSWORD}\r\nSTAT\r\nUIDL 1\r\n\
                 TOP 1 0\r\nDELE 1\r\nRETR 1\r\nRSET\r\nDELE 2\r\nNOOP\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    // Drop the connection without QUIT: nothing may be deleted.
    let mut transcript = Vec::new();
    let mut buffer = [0; 65536];
    while !String::from_utf8_lossy(&transcript).ends_with("+OK\r\n+OK message 2 deleted\r\n+OK\r\n")
    {
        let n = stream.read(&mut buffer).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&transcript));
        transcript.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&transcript);
    let statuses: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("+OK") || l.starts_with("-ERR"))
        .collect();
    assert_eq!(statuses[0], "+OK Herald demo POP3 server ready");
    assert!(
        statuses[4].starts_with(&format!("+OK {SEEDED} ")),
        "{statuses:?}"
    );
    assert!(statuses[5].starts_with("+OK 1 "), "{statuses:?}");
    assert_eq!(statuses[8], "-ERR no such message", "{statuses:?}");
    drop(stream);
    assert_eq!(sandbox.inbox_count(), SEEDED);

    // With QUIT, DELE counts.
    let mut stream = raw_client(&sandbox, sandbox.pop3_port());
    stream
        .write_all(
            format!("USER {DEMO_EMAIL_ADDR}\r\nPASS {DEMO_PASSWORD}\r\nDELE 1\r\nQUIT\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).ok();
    assert!(text.ends_with("+OK Bye\r\n"), "{text}");
    assert_eq!(sandbox.inbox_count(), SEEDED - 1);
}

#[test]
fn dropping_the_sandbox_stops_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = DemoSandbox::start(dir.path()).unwrap();
    let (pop3, smtp) = (sandbox.pop3_port(), sandbox.smtp_port());
    // An idle connection must not keep the server alive.
    let idle = TcpStream::connect(("127.0.0.1", pop3)).unwrap();
    drop(sandbox);
    assert!(TcpStream::connect(("127.0.0.1", pop3)).is_err());
    assert!(TcpStream::connect(("127.0.0.1", smtp)).is_err());
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut byte = [0];
    assert!(matches!((&idle).read(&mut byte), Ok(0) | Err(_)));
}

#[test]
fn restarting_on_the_same_folder_keeps_the_server_mail() {
    let dir = tempfile::tempdir().unwrap();
    let first = DemoSandbox::start(dir.path()).unwrap();
    first
        .maildrop
        .deliver(b"Subject: kept\r\n\r\nstill here\r\n")
        .unwrap();
    drop(first);
    let second = DemoSandbox::start(dir.path()).unwrap();
    assert_eq!(second.inbox_count(), SEEDED + 1);
    let accounts = AccountList::load(second.profile()).unwrap();
    assert_eq!(
        accounts.get(DEMO_ACCOUNT_NAME).unwrap().pop3.port,
        second.pop3_port()
    );
}
