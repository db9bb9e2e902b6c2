#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use super::capabilities::Capabilities;
use super::client::address_literal;
use super::data::{self, DataWriter};
use super::reply::{self, ReplyAssembler, parse_line};
use super::*;
use crate::account::{SmtpSecurity, SmtpServer};
use crate::credentials::Password;
use crate::error::{Classify, ErrorKind};
use crate::net::testing::{TestPki, serve_plain, serve_tls};
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Limits, NetError};

// ---------------------------------------------------------------------------
// A scripted SMTP server
// ---------------------------------------------------------------------------

/// What the fake server does in answer to one command.
enum Answer {
    /// The usual positive reply.
    Default,
    /// These exact bytes.
    Send(Vec<u8>),
    /// Nothing more: read until the client hangs up.
    Silent,
    /// These bytes, then stop reading (so the client's writes block) until
    /// the test releases the server.
    SendThenStall(Vec<u8>),
}

fn send(text: &str) -> Answer {
    Answer::Send(text.as_bytes().to_vec())
}

type Hook = dyn Fn(&str) -> Answer + Send + Sync;

/// What the server saw.
#[derive(Debug, Default)]
struct Seen {
    /// Command lines, without CRLF (AUTH LOGIN data lines included).
    commands: Vec<String>,
    /// DATA contents, each up to and including the terminating `.CRLF`.
    data: Vec<Vec<u8>>,
    /// Every chunk as read from the socket: over TLS one chunk is one TLS
    /// record, so this shows how the client grouped its writes.
    reads: Vec<Vec<u8>>,
    connections: usize,
}

impl Seen {
    fn has_command(&self, prefix: &str) -> bool {
        self.commands
            .iter()
            .any(|command| command.starts_with(prefix))
    }

    fn count(&self, prefix: &str) -> usize {
        self.commands
            .iter()
            .filter(|command| command.starts_with(prefix))
            .count()
    }
}

#[derive(Clone)]
struct Fake {
    /// EHLO extensions over TLS.
    capabilities: Vec<String>,
    /// EHLO extensions before STARTTLS.
    plain_capabilities: Vec<String>,
    hook: Arc<Hook>,
    seen: Arc<Mutex<Seen>>,
    release: Arc<AtomicBool>,
}

impl Fake {
    fn new(capabilities: &[&str]) -> Fake {
        Fake {
            capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
            plain_capabilities: vec!["STARTTLS".to_string()],
            hook: Arc::new(|_| Answer::Default),
            seen: Arc::default(),
            release: Arc::default(),
        }
    }

    fn plain_capabilities(mut self, capabilities: &[&str]) -> Fake {
        self.plain_capabilities = capabilities.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Answers chosen by the test; `<greeting>` and `<end of data>` stand
    /// for the greeting and the reply after the message.
    fn hook(mut self, hook: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Fake {
        self.hook = Arc::new(hook);
        self
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    fn serve_tls(&self, connections: usize) -> (u16, JoinHandle<()>) {
        let fake = self.clone();
        serve_tls(connections, &TestPki::get().leaf, move |mut stream| {
            fake.run(&mut stream, &mut Session::default(), true);
        })
    }

    fn serve_starttls(&self, connections: usize) -> (u16, JoinHandle<()>) {
        let fake = self.clone();
        serve_plain(connections, move |mut tcp| {
            let mut session = Session::default();
            if fake.run(&mut tcp, &mut session, false) {
                assert!(session.pending.is_empty(), "client spoke before TLS");
                let acceptor = TestPki::acceptor(&TestPki::get().leaf);
                if let Ok(mut stream) = acceptor.accept(tcp) {
                    session.tls = true;
                    fake.run(&mut stream, &mut session, true);
                }
            }
        })
    }

    /// Runs the session; returns true when STARTTLS was accepted.
    fn run<S: Read + Write>(&self, stream: &mut S, session: &mut Session, tls: bool) -> bool {
        session.tls = tls;
        if !session.greeted {
            session.greeted = true;
            self.seen().connections += 1;
            let greeting = b"220 fake.example ESMTP ready\r\n".to_vec();
            if !self.answer(stream, "<greeting>", greeting) {
                return false;
            }
        }
        loop {
            let Some(line) = self.read_line(stream, session) else {
                return false;
            };
            let command = String::from_utf8_lossy(&line).into_owned();
            self.seen().commands.push(command.clone());
            let upper = command.to_ascii_uppercase();
            let default = self.default_reply(session, &upper);
            let reply = match (self.hook)(&command) {
                Answer::Default => default,
                Answer::Send(bytes) => bytes,
                Answer::Silent => return self.drain(stream),
                Answer::SendThenStall(bytes) => {
                    let _ = stream.write_all(&bytes);
                    let _ = stream.flush();
                    return self.stall();
                }
            };
            if stream.write_all(&reply).is_err() {
                return false;
            }
            let _ = stream.flush();
            if upper == "QUIT" {
                return false;
            }
            if upper == "STARTTLS" && reply.starts_with(b"220") {
                return true;
            }
            if upper == "DATA" && reply.starts_with(b"354") {
                let Some(data) = self.read_data(stream, session) else {
                    return false;
                };
                self.seen().data.push(data);
                let queued = b"250 2.0.0 Ok: queued as 4BXyz1\r\n".to_vec();
                if !self.answer(stream, "<end of data>", queued) {
                    return false;
                }
            }
        }
    }

    /// Sends the hook's answer for a pseudo-command (or `default`); false
    /// when the session is over.
    fn answer<S: Read + Write>(&self, stream: &mut S, what: &str, default: Vec<u8>) -> bool {
        let bytes = match (self.hook)(what) {
            Answer::Default => default,
            Answer::Send(bytes) => bytes,
            Answer::Silent => return self.drain(stream),
            Answer::SendThenStall(bytes) => {
                let _ = stream.write_all(&bytes);
                return self.stall();
            }
        };
        stream.write_all(&bytes).is_ok() && stream.flush().is_ok()
    }

    fn default_reply(&self, session: &mut Session, upper: &str) -> Vec<u8> {
        match session.login_step {
            1 => {
                session.login_step = 2;
                return b"334 UGFzc3dvcmQ6\r\n".to_vec();
            }
            2 => {
                session.login_step = 0;
                return b"235 2.7.0 Authentication successful\r\n".to_vec();
            }
            _ => {}
        }
        let verb = upper.split(' ').next().unwrap_or("");
        let text = match verb {
            "EHLO" => {
                let capabilities = if session.tls {
                    &self.capabilities
                } else {
                    &self.plain_capabilities
                };
                let mut reply = String::from("250");
                reply.push(if capabilities.is_empty() { ' ' } else { '-' });
                reply.push_str("fake.example\r\n");
                for (index, capability) in capabilities.iter().enumerate() {
                    let last = index + 1 == capabilities.len();
                    reply.push_str(&format!(
                        "250{}{capability}\r\n",
                        if last { ' ' } else { '-' }
                    ));
                }
                return reply.into_bytes();
            }
            "AUTH" if upper.starts_with("AUTH LOGIN") => {
                session.login_step = 1;
                "334 VXNlcm5hbWU6"
            }
            "AUTH" => "235 2.7.0 Authentication successful",
            "MAIL" | "RCPT" | "RSET" | "NOOP" => "250 2.1.0 Ok",
            "DATA" => "354 End data with <CR><LF>.<CR><LF>",
            "STARTTLS" => "220 2.0.0 Ready to start TLS",
            "QUIT" => "221 2.0.0 Bye",
            _ => "500 5.5.2 Error: command not recognized",
        };
        format!("{text}\r\n").into_bytes()
    }

    fn fill<S: Read>(&self, stream: &mut S, session: &mut Session) -> bool {
        let mut buf = vec![0u8; 64 * 1024];
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(count) => {
                self.seen().reads.push(buf[..count].to_vec());
                session.pending.extend_from_slice(&buf[..count]);
                true
            }
        }
    }

    fn read_line<S: Read>(&self, stream: &mut S, session: &mut Session) -> Option<Vec<u8>> {
        loop {
            if let Some(at) = session.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = session.pending.drain(..=at).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(line);
            }
            if !self.fill(stream, session) {
                return None;
            }
        }
    }

    fn read_data<S: Read>(&self, stream: &mut S, session: &mut Session) -> Option<Vec<u8>> {
        let mut searched = 0;
        loop {
            let end = if session.pending.starts_with(b".\r\n") {
                Some(3)
            } else {
                memchr::memmem::find(&session.pending[searched..], b"\r\n.\r\n")
                    .map(|at| searched + at + 5)
            };
            if let Some(end) = end {
                return Some(session.pending.drain(..end).collect());
            }
            searched = session.pending.len().saturating_sub(4);
            if !self.fill(stream, session) {
                return None;
            }
        }
    }

    fn drain<S: Read>(&self, stream: &mut S) -> bool {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink), Ok(count) if count > 0) {}
        false
    }

    fn stall(&self) -> bool {
        let started = Instant::now();
        while !self.release.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

#[derive(Default)]
struct Session {
    pending: Vec<u8>,
    login_step: u8,
    tls: bool,
    greeted: bool,
}

// ---------------------------------------------------------------------------
// Client helpers
// ---------------------------------------------------------------------------

fn limits(io_timeout: Duration) -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(5),
        io_timeout,
        min_bytes_per_second: 0,
        throughput_window: Duration::from_secs(30),
    }
}

fn trusting_test_ca() -> TlsConfig {
    TlsConfig::system().with_extra_ca_pem(TestPki::get().ca_pem.clone())
}

fn smtp_server(port: u16, security: SmtpSecurity) -> SmtpServer {
    SmtpServer {
        host: "127.0.0.1".to_string(),
        port,
        security,
    }
}

fn connect(port: u16, security: SmtpSecurity) -> Result<SmtpClient, SmtpError> {
    SmtpClient::connect(
        &smtp_server(port, security),
        &trusting_test_ca(),
        &limits(Duration::from_secs(3)),
        &CancelToken::new(),
    )
}

fn password(text: &str) -> Password {
    Password::new(text.to_string())
}

fn rcpts(addresses: &[&str]) -> Vec<String> {
    addresses.iter().map(|a| a.to_string()).collect()
}

const USUAL: &[&str] = &[
    "PIPELINING",
    "SIZE 10240000",
    "ETRN",
    "AUTH PLAIN LOGIN",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
    "CHUNKING",
];

const SIMPLE_MESSAGE: &[u8] = b"Subject: hi\r\n\r\nhello\r\n";

// ---------------------------------------------------------------------------
// Sessions against the scripted server
// ---------------------------------------------------------------------------

#[test]
fn happy_path_sends_the_exact_bytes_with_auth_plain_size_and_8bitmime() {
    let fake = Fake::new(USUAL);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();

    let capabilities = client.capabilities().clone();
    assert!(capabilities.size && capabilities.pipelining && capabilities.eight_bit_mime);
    assert!(capabilities.smtputf8 && capabilities.enhanced_status_codes);
    assert!(!capabilities.starttls);
    assert_eq!(capabilities.max_message_size_bytes, Some(10_240_000));
    assert_eq!(capabilities.auth_mechanisms, ["PLAIN", "LOGIN"]);
    // The EHLO reply's first line is the server's name, not an extension.
    assert_eq!(capabilities.raw[0], "PIPELINING");
    assert_eq!(capabilities.raw.len(), USUAL.len());
    assert_eq!(client.greeting().code, 220);
    assert_eq!(client.greeting().text, "fake.example ESMTP ready");
    let certificate = client.tls_certificate().unwrap();
    assert_eq!(
        certificate.sha256_hex,
        crate::digest::hex(&Sha256::digest(&TestPki::get().leaf_der))
    );

    client
        .login("alice@example.com", &password("pässwörd 1"))
        .unwrap();
    assert!(client.is_authenticated());

    let message: &[u8] = b"From: alice@example.com\r\nSubject: hi\r\n\r\n.leading dot\nbare lf\rbare cr\r\n..two\r\n\xc3\xa9t\xc3\xa9\n.\nlast";
    let expected: &[u8] = b"From: alice@example.com\r\nSubject: hi\r\n\r\n..leading dot\r\nbare lf\r\nbare cr\r\n...two\r\n\xc3\xa9t\xc3\xa9\r\n..\r\nlast\r\n.\r\n";
    // SIZE counts neither the three doubled dots nor the terminator.
    let size = expected.len() - 3 - 3;
    let report = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org", "carol@example.net"]),
            message,
        )
        .unwrap();
    assert_eq!(report.recipients, 2);
    assert_eq!(report.size_bytes, size as u64);
    assert_eq!(report.wire_bytes, expected.len() as u64);
    assert_eq!(report.data_writes, 1);
    assert!(report.pipelined);
    assert_eq!(report.reply.code, 250);
    assert_eq!(report.reply.enhanced.unwrap().to_string(), "2.0.0");
    assert_eq!(report.reply.text, "Ok: queued as 4BXyz1");
    client.quit();
    server.join().unwrap();

    let seen = fake.seen();
    let plain = BASE64.encode(b"\0alice@example.com\0p\xc3\xa4ssw\xc3\xb6rd 1");
    assert_eq!(
        seen.commands,
        [
            "EHLO [127.0.0.1]".to_string(),
            format!("AUTH PLAIN {plain}"),
            format!("MAIL FROM:<alice@example.com> SIZE={size} BODY=8BITMIME"),
            "RCPT TO:<bob@example.org>".to_string(),
            "RCPT TO:<carol@example.net>".to_string(),
            "DATA".to_string(),
            "QUIT".to_string(),
        ]
    );
    assert_eq!(seen.data, [expected.to_vec()]);
    // PIPELINING: MAIL and both RCPTs arrived in one TLS record.
    let envelope = seen
        .reads
        .iter()
        .find(|read| read.starts_with(b"MAIL FROM"))
        .expect("a read starting with MAIL");
    assert!(
        envelope.ends_with(b"RCPT TO:<carol@example.net>\r\n"),
        "{:?}",
        String::from_utf8_lossy(envelope)
    );
}

#[test]
fn ehlo_name_is_an_address_literal_never_the_host_name() {
    let fake = Fake::new(USUAL);
    let (port, server) = fake.serve_tls(1);
    let client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    assert_eq!(client.client_name(), "[127.0.0.1]");
    client.quit();
    server.join().unwrap();

    let mut host_names = Vec::new();
    if let Ok(output) = std::process::Command::new("hostname").output() {
        host_names.push(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    if let Ok(text) = std::fs::read_to_string("/etc/hostname") {
        host_names.push(text.trim().to_string());
    }
    let seen = fake.seen();
    let ehlo = seen
        .commands
        .iter()
        .find(|c| c.starts_with("EHLO"))
        .unwrap();
    assert_eq!(ehlo, "EHLO [127.0.0.1]");
    for host_name in host_names.iter().filter(|name| !name.is_empty()) {
        // The name is only digits, dots and brackets, so no host name fits.
        assert!(
            !ehlo.contains(host_name.as_str()),
            "{ehlo} reveals {host_name}"
        );
    }
}

#[test]
fn address_literals_follow_rfc_5321() {
    let v4: SocketAddr = "192.0.2.7:5000".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
    let mapped: SocketAddr = "[::ffff:192.0.2.9]:5000".parse().unwrap();
    assert_eq!(address_literal(v4), "[192.0.2.7]");
    assert_eq!(address_literal(v6), "[IPv6:2001:db8::1]");
    assert_eq!(address_literal(mapped), "[192.0.2.9]");
}

#[test]
fn auth_login_is_used_when_plain_is_not_offered() {
    let fake = Fake::new(&["AUTH LOGIN CRAM-MD5", "SIZE"]);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    client.login("alice", &password("secret")).unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(
        seen.commands[1..4],
        [
            "AUTH LOGIN".to_string(),
            BASE64.encode("alice"),
            BASE64.encode("secret")
        ]
    );
}

#[test]
fn a_wrong_password_is_auth_rejected_and_tried_only_once() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command.starts_with("AUTH") {
            send("535 5.7.8 Error: authentication failed: UGFzc3dvcmQ6\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client.login("alice", &password("wrong")).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthRejected, "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with("the server refused the user name or password"),
        "{text}"
    );
    assert!(text.contains("535 5.7.8"), "{text}");
    assert!(!client.is_authenticated());
    // The session is still usable (the user may be asked again).
    client.quit();
    server.join().unwrap();
    assert_eq!(fake.seen().count("AUTH"), 1);
}

#[test]
fn a_temporary_auth_failure_is_transient() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command.starts_with("AUTH") {
            send("454 4.7.0 Temporary authentication failure\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client.login("alice", &password("pw")).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::ServerRejected { transient: true },
        "{error:?}"
    );
    assert!(error.to_string().contains("try again later"), "{error}");
    drop(client);
    server.join().unwrap();
    assert_eq!(fake.seen().count("AUTH"), 1);
}

#[test]
fn starttls_upgrades_and_forgets_what_was_said_in_plain_text() {
    let fake = Fake::new(&["AUTH PLAIN", "SIZE 5000", "8BITMIME"]).plain_capabilities(&[
        "STARTTLS",
        "SIZE 100",
        "AUTH LOGIN",
        "PIPELINING",
    ]);
    let (port, server) = fake.serve_starttls(1);
    let mut client = connect(port, SmtpSecurity::StartTls).unwrap();
    let capabilities = client.capabilities();
    assert_eq!(capabilities.max_message_size_bytes, Some(5000));
    assert_eq!(capabilities.auth_mechanisms, ["PLAIN"]);
    assert!(!capabilities.starttls && !capabilities.pipelining);
    assert!(client.tls_certificate().is_some());
    client.login("alice", &password("pw")).unwrap();
    client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(
        seen.commands[..4],
        [
            "EHLO [127.0.0.1]".to_string(),
            "STARTTLS".to_string(),
            "EHLO [127.0.0.1]".to_string(),
            format!("AUTH PLAIN {}", BASE64.encode("\0alice\0pw")),
        ]
    );
    assert_eq!(seen.data, [b"Subject: hi\r\n\r\nhello\r\n.\r\n".to_vec()]);
}

#[test]
fn starttls_not_offered_fails_before_auth() {
    let fake = Fake::new(USUAL).plain_capabilities(&["AUTH PLAIN LOGIN", "SIZE 1000"]);
    let (port, server) = fake.serve_starttls(1);
    let error = connect(port, SmtpSecurity::StartTls).unwrap_err();
    assert!(
        matches!(error, SmtpError::StartTlsNotOffered { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Tls);
    assert!(error.to_string().contains("STARTTLS"), "{error}");
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.commands, ["EHLO [127.0.0.1]"]);
    assert!(!seen.has_command("AUTH"));
}

#[test]
fn bytes_injected_after_the_starttls_220_are_refused() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command == "STARTTLS" {
            send("220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_starttls(1);
    let error = connect(port, SmtpSecurity::StartTls).unwrap_err();
    assert!(matches!(error, SmtpError::DataBeforeTls), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Tls);
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.commands, ["EHLO [127.0.0.1]", "STARTTLS"]);
}

#[test]
fn starttls_with_an_untrusted_certificate_shows_the_certificate() {
    let fake = Fake::new(USUAL);
    // The refused handshake and the probe that reads the certificate.
    let (port, server) = fake.serve_starttls(2);
    let error = SmtpClient::connect(
        &smtp_server(port, SmtpSecurity::StartTls),
        &TlsConfig::system(),
        &limits(Duration::from_secs(3)),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Certificate, "{error:?}");
    let SmtpError::Net(NetError::Certificate(problem)) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        problem.certificate.sha256_hex,
        crate::digest::hex(&Sha256::digest(&TestPki::get().leaf_der))
    );
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.connections, 2);
    assert!(!seen.has_command("AUTH"));
}

#[test]
fn starttls_with_a_pinned_certificate_goes_on_over_the_second_connection() {
    let fake = Fake::new(&["AUTH PLAIN", "PIPELINING"]);
    let (port, server) = fake.serve_starttls(2);
    let fingerprint = crate::digest::hex(&Sha256::digest(&TestPki::get().leaf_der));
    let mut client = SmtpClient::connect(
        &smtp_server(port, SmtpSecurity::StartTls),
        &TlsConfig::system().with_pinned_certificate(&fingerprint),
        &limits(Duration::from_secs(3)),
        &CancelToken::new(),
    )
    .unwrap();
    client.login("alice", &password("pw")).unwrap();
    client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.connections, 2);
    assert_eq!(seen.count("STARTTLS"), 2);
    assert_eq!(seen.count("AUTH"), 1);
    assert_eq!(seen.data.len(), 1);
}

#[test]
fn a_message_over_the_size_limit_is_refused_before_mail() {
    let fake = Fake::new(&["SIZE 1000000", "AUTH PLAIN", "PIPELINING"]);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    while message.len() < 1_500_000 {
        message.extend_from_slice(&[b'a'; 998]);
        message.extend_from_slice(b"\r\n");
    }
    let error = client
        .send("alice@example.com", &rcpts(&["bob@example.org"]), &message)
        .unwrap_err();
    let SmtpError::MessageTooBig {
        size_bytes,
        limit_bytes,
        reply,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*size_bytes, message.len() as u64);
    assert_eq!(*limit_bytes, Some(1_000_000));
    assert!(reply.is_none());
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: false });
    let text = error.to_string();
    assert!(
        text.contains("(1.5 MB)") && text.contains("(1.0 MB)"),
        "{text}"
    );
    // The session is fine: a small message still goes.
    client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.count("MAIL"), 1, "{:?}", seen.commands);
    assert_eq!(seen.data.len(), 1);
}

#[test]
fn a_refused_recipient_is_named_and_nobody_gets_the_message() {
    for pipelining in [true, false] {
        let capabilities: &[&str] = if pipelining {
            &["PIPELINING", "AUTH PLAIN"]
        } else {
            &["AUTH PLAIN"]
        };
        let fake = Fake::new(capabilities).hook(|command| {
            if command == "RCPT TO:<nobody@example.org>" {
                send("550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n")
            } else {
                Answer::Default
            }
        });
        let (port, server) = fake.serve_tls(1);
        let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
        let recipients = rcpts(&["bob@example.org", "nobody@example.org", "carol@example.net"]);
        let error = client
            .send("alice@example.com", &recipients, SIMPLE_MESSAGE)
            .unwrap_err();
        let SmtpError::RecipientsRefused {
            refusals,
            recipients: count,
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(*count, 3);
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].address, "nobody@example.org");
        assert_eq!(refusals[0].code, 550);
        assert_eq!(refusals[0].enhanced.unwrap().to_string(), "5.1.1");
        assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: false });
        let text = error.to_string();
        assert!(text.contains("nobody@example.org (550 5.1.1"), "{text}");
        assert!(text.contains("not sent to anyone"), "{text}");
        assert!(!text.contains("bob@"), "{text}");
        assert!(client.is_usable());

        // The next message on the same connection goes normally.
        client
            .send(
                "alice@example.com",
                &rcpts(&["bob@example.org"]),
                SIMPLE_MESSAGE,
            )
            .unwrap();
        client.quit();
        server.join().unwrap();
        let seen = fake.seen();
        let commands: Vec<&str> = seen.commands.iter().map(String::as_str).collect();
        assert_eq!(
            commands,
            [
                "EHLO [127.0.0.1]",
                "MAIL FROM:<alice@example.com>",
                "RCPT TO:<bob@example.org>",
                "RCPT TO:<nobody@example.org>",
                "RCPT TO:<carol@example.net>",
                "RSET",
                "MAIL FROM:<alice@example.com>",
                "RCPT TO:<bob@example.org>",
                "DATA",
                "QUIT",
            ],
            "pipelining: {pipelining}"
        );
        assert_eq!(seen.data.len(), 1);
    }
}

#[test]
fn recipients_refused_only_for_now_is_transient() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command.starts_with("RCPT") {
            send("450 4.2.0 Greylisted, try again in 5 minutes\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org", "carol@example.net"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    assert!(error.to_string().contains("refused 2 of 2"), "{error}");
    client.quit();
    server.join().unwrap();
    assert!(!fake.seen().has_command("DATA"));
}

#[test]
fn a_451_to_data_is_transient_and_the_next_send_resets_first() {
    let refuse_data = Arc::new(AtomicBool::new(true));
    let refuse = refuse_data.clone();
    let fake = Fake::new(USUAL).hook(move |command| {
        if command == "DATA" && refuse.swap(false, Ordering::SeqCst) {
            send("451 4.3.0 Error: queue file write error\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            SmtpError::Rejected {
                stage: Stage::Data,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    assert!(error.to_string().contains("try again later"), "{error}");
    client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    let data_at = seen.commands.iter().position(|c| c == "DATA").unwrap();
    assert_eq!(seen.commands[data_at + 1], "RSET");
    assert_eq!(seen.data.len(), 1);
}

#[test]
fn a_554_after_the_message_is_permanent() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command == "<end of data>" {
            send("554 5.7.1 Rejected: message looks like spam\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert!(
        matches!(
            error,
            SmtpError::Rejected {
                stage: Stage::Message,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: false });
    assert_eq!(
        error.to_string(),
        "the server refused the message (server said \"554 5.7.1 Rejected: message looks like spam\")"
    );
    // The transaction is over; no RSET needed.
    client.quit();
    server.join().unwrap();
    assert!(!fake.seen().has_command("RSET"));
}

#[test]
fn a_552_after_the_message_is_too_big() {
    let fake = Fake::new(&["AUTH PLAIN"]).hook(|command| {
        if command == "<end of data>" {
            send("552 5.3.4 Message size exceeds fixed limit\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    let SmtpError::MessageTooBig {
        limit_bytes: None,
        reply: Some(reply),
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(reply.code, 552);
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: false });
    assert!(error.to_string().contains("too large"), "{error}");
    drop(client);
    server.join().unwrap();
}

#[test]
fn a_refused_sender_is_reported_and_no_recipient_is_sent() {
    let fake = Fake::new(&["AUTH PLAIN"]).hook(|command| {
        if command.starts_with("MAIL") {
            send("553 5.7.1 <mallory@example.com>: Sender address rejected: not owned by user alice\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client
        .send(
            "mallory@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert!(
        matches!(error, SmtpError::SenderRefused { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("mallory@example.com"), "{error}");
    client.quit();
    server.join().unwrap();
    assert!(!fake.seen().has_command("RCPT"));
}

#[test]
fn a_refused_greeting_says_so() {
    for (greeting, transient) in [
        ("554 5.7.1 No SMTP service here\r\n", false),
        ("421 4.3.2 Too many connections, try later\r\n", true),
    ] {
        let fake = Fake::new(USUAL).hook(move |command| {
            if command == "<greeting>" {
                send(greeting)
            } else {
                Answer::Default
            }
        });
        let (port, server) = fake.serve_tls(1);
        let error = connect(port, SmtpSecurity::ImplicitTls).unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::ServerRejected { transient },
            "{error:?}"
        );
        assert!(
            matches!(
                error,
                SmtpError::Rejected {
                    stage: Stage::Greeting,
                    ..
                }
            ),
            "{error:?}"
        );
        server.join().unwrap();
        assert!(fake.seen().commands.is_empty());
    }
}

#[test]
fn whitespace_only_ehlo_lines_do_not_panic() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command.starts_with("EHLO") {
            send("250-fake.example\r\n250-   \r\n250-\r\n250-\t\r\n250-AUTH\r\n250-SIZE\r\n250- \x01\r\n250 \r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let capabilities = client.capabilities();
    assert!(capabilities.size);
    assert_eq!(capabilities.max_message_size_bytes, None);
    assert!(capabilities.auth_mechanisms.is_empty());
    assert_eq!(capabilities.raw, ["AUTH", "SIZE"]);
    let error = client.login("alice", &password("pw")).unwrap_err();
    assert!(
        matches!(error, SmtpError::NoAuthMechanism { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Config);
    client.quit();
    server.join().unwrap();
    assert!(!fake.seen().has_command("AUTH"));
}

#[test]
fn unsupported_auth_mechanisms_are_named() {
    let fake = Fake::new(&["AUTH CRAM-MD5 XOAUTH2"]);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client.login("alice", &password("pw")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the server offers no sign-in method Herald supports (it offers CRAM-MD5, XOAUTH2; Herald supports PLAIN and LOGIN)"
    );
    client.quit();
    server.join().unwrap();
}

#[test]
fn a_reply_line_of_10_kb_is_a_protocol_error() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command == "<greeting>" {
            Answer::Send(format!("220 {}\r\n", "x".repeat(10 * 1024)).into_bytes())
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let error = connect(port, SmtpSecurity::ImplicitTls).unwrap_err();
    assert!(matches!(error, SmtpError::Protocol { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert!(error.to_string().contains("longer than 2048"), "{error}");
    server.join().unwrap();
}

#[test]
fn a_server_silent_after_data_times_out() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command == "DATA" {
            Answer::Silent
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = SmtpClient::connect(
        &smtp_server(port, SmtpSecurity::ImplicitTls),
        &trusting_test_ca(),
        &limits(Duration::from_millis(400)),
        &CancelToken::new(),
    )
    .unwrap();
    let started = Instant::now();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, SmtpError::Net(NetError::Timeout { .. })),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Timeout);
    // The session is out of step now: no further use.
    assert!(!error.may_have_been_sent());
    assert!(!client.is_usable());
    let again = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert!(matches!(again, SmtpError::Unusable), "{again:?}");
    drop(client);
    server.join().unwrap();
}

#[test]
fn a_server_silent_after_the_message_leaves_the_outcome_unknown() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command == "<end of data>" {
            Answer::Silent
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = SmtpClient::connect(
        &smtp_server(port, SmtpSecurity::ImplicitTls),
        &trusting_test_ca(),
        &limits(Duration::from_millis(400)),
        &CancelToken::new(),
    )
    .unwrap();
    let started = Instant::now();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            error,
            SmtpError::Unconfirmed {
                source: NetError::Timeout { .. }
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.to_string().contains("may have been sent"), "{error}");
    assert!(error.may_have_been_sent());
    assert!(!client.is_usable());
    drop(client);
    server.join().unwrap();
    assert_eq!(fake.seen().data.len(), 1);
}

#[test]
fn cancel_during_data_stops_at_once() {
    let fake = Fake::new(&["PIPELINING", "SIZE"]).hook(|command| {
        if command == "DATA" {
            // Accept DATA, then read nothing: the client's writes block.
            Answer::SendThenStall(b"354 go ahead\r\n".to_vec())
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let cancel = CancelToken::new();
    let mut client = SmtpClient::connect(
        &smtp_server(port, SmtpSecurity::ImplicitTls),
        &trusting_test_ca(),
        &limits(Duration::from_secs(5)),
        &cancel,
    )
    .unwrap();
    // Far more than loopback socket buffers hold.
    let line = [b"x".repeat(998), b"\r\n".to_vec()].concat();
    let message: Vec<u8> = line.repeat(32 * 1024);
    let canceller = cancel.clone();
    let cancelled_at = Arc::new(Mutex::new(None));
    let cancelled = cancelled_at.clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        *cancelled.lock().unwrap() = Some(Instant::now());
        canceller.cancel();
    });
    let error = client
        .send("alice@example.com", &rcpts(&["bob@example.org"]), &message)
        .unwrap_err();
    let returned = Instant::now();
    timer.join().unwrap();
    let cancelled = cancelled_at.lock().unwrap().expect("cancelled");
    assert!(
        returned.duration_since(cancelled) < Duration::from_secs(1),
        "{:?}",
        returned.duration_since(cancelled)
    );
    assert!(
        matches!(error, SmtpError::Net(NetError::Cancelled)),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Cancelled);
    fake.release.store(true, Ordering::SeqCst);
    drop(client);
    server.join().unwrap();
    assert!(fake.seen().data.is_empty());
}

#[test]
fn cancel_reaches_a_connection_accepted_by_its_pinned_certificate() {
    // With a pinned certificate the session goes on over the second socket
    // (the one that read the certificate); cancel must shut that one.
    let fake = Fake::new(USUAL).hook(|command| {
        if command == "<greeting>" {
            Answer::Silent
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(2);
    let fingerprint = crate::digest::hex(&Sha256::digest(&TestPki::get().leaf_der));
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        canceller.cancel();
    });
    let started = Instant::now();
    let error = SmtpClient::connect(
        &smtp_server(port, SmtpSecurity::ImplicitTls),
        &TlsConfig::system().with_pinned_certificate(&fingerprint),
        &limits(Duration::from_secs(5)),
        &cancel,
    )
    .unwrap_err();
    assert!(
        matches!(error, SmtpError::Net(NetError::Cancelled)),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    timer.join().unwrap();
    server.join().unwrap();
}

#[test]
fn addresses_that_could_inject_commands_are_refused_before_sending() {
    let fake = Fake::new(USUAL);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    for (from, to) in [
        ("alice@example.com\r\nRCPT TO:<x@evil>", "bob@example.org"),
        ("alice@example.com", "bob@example.org>\nDATA"),
        ("alice@example.com", "bob@example.org> NOTIFY=NEVER"),
        ("", "bob@example.org"),
        ("alice@example.com", ""),
    ] {
        let error = client
            .send(from, &rcpts(&[to]), SIMPLE_MESSAGE)
            .unwrap_err();
        assert!(
            matches!(error, SmtpError::InvalidAddress { .. }),
            "{error:?}"
        );
        assert_eq!(error.kind(), ErrorKind::Input);
        assert!(!error.to_string().contains('\n'), "{error}");
    }
    let error = client
        .send("alice@example.com", &[], SIMPLE_MESSAGE)
        .unwrap_err();
    assert!(matches!(error, SmtpError::NoRecipients), "{error:?}");
    client.quit();
    server.join().unwrap();
    assert!(!fake.seen().has_command("MAIL"));
}

#[test]
fn non_ascii_addresses_need_smtputf8() {
    for offered in [true, false] {
        let capabilities: &[&str] = if offered {
            &["SMTPUTF8", "8BITMIME"]
        } else {
            &["8BITMIME"]
        };
        let fake = Fake::new(capabilities);
        let (port, server) = fake.serve_tls(1);
        let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
        let result = client.send(
            "alice@example.com",
            &rcpts(&["josé@exämple.org"]),
            SIMPLE_MESSAGE,
        );
        client.quit();
        server.join().unwrap();
        let seen = fake.seen();
        if offered {
            result.unwrap();
            assert!(seen.has_command("MAIL FROM:<alice@example.com> SMTPUTF8"));
            assert!(seen.has_command("RCPT TO:<josé@exämple.org>"));
        } else {
            let error = result.unwrap_err();
            assert!(
                matches!(error, SmtpError::Utf8AddressNotSupported { .. }),
                "{error:?}"
            );
            assert!(!seen.has_command("MAIL"));
        }
    }
}

#[test]
fn eight_bit_content_needs_8bitmime() {
    let fake = Fake::new(&["SIZE 0"]);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    assert_eq!(client.capabilities().max_message_size_bytes, None);
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            "Subject: é\r\n\r\né\r\n".as_bytes(),
        )
        .unwrap_err();
    assert!(
        matches!(error, SmtpError::EightBitNotSupported),
        "{error:?}"
    );
    // 7-bit content goes, with SIZE= but without BODY=.
    client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.count("MAIL"), 1);
    assert!(seen.has_command(&format!(
        "MAIL FROM:<alice@example.com> SIZE={}",
        SIMPLE_MESSAGE.len()
    )));
}

#[test]
fn a_421_in_the_middle_ends_the_session() {
    let fake = Fake::new(USUAL).hook(|command| {
        if command.starts_with("RCPT") {
            send("421 4.3.2 Service shutting down\r\n")
        } else {
            Answer::Default
        }
    });
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let error = client
        .send(
            "alice@example.com",
            &rcpts(&["bob@example.org"]),
            SIMPLE_MESSAGE,
        )
        .unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::ServerRejected { transient: true },
        "{error:?}"
    );
    assert!(error.to_string().contains("try again later"), "{error}");
    let again = client.noop().unwrap_err();
    assert!(matches!(again, SmtpError::Unusable), "{again:?}");
    drop(client);
    server.join().unwrap();
}

#[test]
fn several_messages_go_over_one_connection() {
    let fake = Fake::new(USUAL);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    client.login("alice", &password("pw")).unwrap();
    for index in 0..5 {
        let message = format!("Subject: {index}\r\n\r\nbody {index}\r\n");
        client
            .send(
                "alice@example.com",
                &rcpts(&["bob@example.org"]),
                message.as_bytes(),
            )
            .unwrap();
    }
    client.noop().unwrap();
    client.quit();
    server.join().unwrap();
    let seen = fake.seen();
    assert_eq!(seen.data.len(), 5);
    assert_eq!(seen.count("RSET"), 0);
    assert_eq!(seen.connections, 1);
}

#[test]
fn a_large_message_goes_in_64_kib_writes() {
    let fake = Fake::new(USUAL);
    let (port, server) = fake.serve_tls(1);
    let mut client = connect(port, SmtpSecurity::ImplicitTls).unwrap();
    let line = [b".x".repeat(38), b"\n".to_vec()].concat();
    let message: Vec<u8> = line.repeat(20_000);
    let report = client
        .send("alice@example.com", &rcpts(&["bob@example.org"]), &message)
        .unwrap();
    client.quit();
    server.join().unwrap();
    // Each line: one doubled dot, LF became CRLF.
    let expected_len = message.len() + 2 * 20_000 + 3;
    assert_eq!(report.wire_bytes, expected_len as u64);
    assert_eq!(report.data_writes, expected_len.div_ceil(64 * 1024) as u64);
    let seen = fake.seen();
    assert_eq!(seen.data[0].len(), expected_len);
    assert!(seen.data[0].starts_with(b"..x.x"));
}

// ---------------------------------------------------------------------------
// Pure parts
// ---------------------------------------------------------------------------

fn encode(chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = DataWriter::new(&mut out);
    for chunk in chunks {
        writer.write_message(chunk).unwrap();
    }
    writer.finish().unwrap();
    out
}

#[test]
fn data_is_dot_stuffed_and_crlf_normalised_across_any_split() {
    let message: &[u8] = b".a\r\n.\r.b\n\n\r\r\n..c\r";
    let expected: &[u8] = b"..a\r\n..\r\n..b\r\n\r\n\r\n\r\n...c\r\n.\r\n";
    assert_eq!(encode(&[message]), expected);
    for split in 0..=message.len() {
        let (a, b) = message.split_at(split);
        assert_eq!(encode(&[a, b]), expected, "split at {split}");
    }
    let bytes: Vec<&[u8]> = message.chunks(1).collect();
    assert_eq!(encode(&bytes), expected);
    // SIZE: normalised, without doubled dots and terminator.
    assert_eq!(
        data::scan(message).size_bytes,
        (expected.len() - 4 - 3) as u64
    );
}

#[test]
fn data_endings() {
    assert_eq!(encode(&[b""]), b".\r\n");
    assert_eq!(encode(&[b"a"]), b"a\r\n.\r\n");
    assert_eq!(encode(&[b"a\r\n"]), b"a\r\n.\r\n");
    assert_eq!(encode(&[b"a\n"]), b"a\r\n.\r\n");
    assert_eq!(encode(&[b"a\r"]), b"a\r\n.\r\n");
    assert_eq!(encode(&[b"."]), b"..\r\n.\r\n");
    assert_eq!(data::scan(b"").size_bytes, 0);
    assert_eq!(data::scan(b"a").size_bytes, 3);
    assert_eq!(data::scan(b"a\r").size_bytes, 3);
    assert_eq!(data::scan(b"a\r\n").size_bytes, 3);
    assert!(data::scan("é".as_bytes()).has_8bit);
    assert!(!data::scan(b"plain").has_8bit);
}

fn assemble(lines: &[&[u8]]) -> Result<Option<reply::Reply>, String> {
    let mut assembler = ReplyAssembler::default();
    let mut reply = None;
    for line in lines {
        reply = assembler.push(line)?;
    }
    Ok(reply)
}

#[test]
fn reply_lines_are_parsed_strictly() {
    let line = parse_line(b"250-SIZE 100\r\n").unwrap();
    assert_eq!(
        (line.code, line.last, line.text),
        (250, false, &b"SIZE 100"[..])
    );
    let line = parse_line(b"250\r\n").unwrap();
    assert_eq!((line.code, line.last, line.text), (250, true, &b""[..]));
    let line = parse_line(b"354 go\n").unwrap();
    assert_eq!((line.code, line.last), (354, true));
    for bad in [
        &b"\r\n"[..],
        b"   \r\n",
        b"25\r\n",
        b"2500 x\r\n",
        b"abc def\r\n",
        b"650 x\r\n",
        b"190 x\r\n",
        b"\xff\xfe\r\n",
    ] {
        assert!(parse_line(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn multi_line_replies_keep_one_code_and_stay_bounded() {
    let reply = assemble(&[b"250-a\r\n", b"250-b\r\n", b"250 c\r\n"])
        .unwrap()
        .unwrap();
    assert_eq!(reply.code, 250);
    assert_eq!(reply.lines, ["a", "b", "c"]);
    assert!(assemble(&[b"250-a\r\n", b"550 b\r\n"]).is_err());
    let many: Vec<&[u8]> = std::iter::repeat_n(&b"250-x\r\n"[..], 200).collect();
    let error = assemble(&many).unwrap_err();
    assert!(error.contains("more than 100 lines"), "{error}");
}

#[test]
fn server_text_is_neutralised_and_shortened() {
    let long = format!("550 5.1.1 {}\r\n", "y".repeat(1000));
    let evil = "550-5.7.1 you\u{202E}txt.exe\x1b[31m\r\n".as_bytes();
    let reply = assemble(&[evil, long.as_bytes()]).unwrap().unwrap();
    let shown = reply.shown();
    assert_eq!(shown.enhanced.unwrap().to_string(), "5.7.1");
    assert!(!shown.text.contains('\u{202E}') && !shown.text.contains('\x1b'));
    assert!(shown.text.chars().count() <= 301, "{}", shown.text.len());
    assert!(shown.text.ends_with('…'));
    // An enhanced code of another class is text, not a status.
    let reply = assemble(&[b"250 5.1.1 odd\r\n"]).unwrap().unwrap();
    assert_eq!(reply.shown().enhanced, None);
    assert_eq!(reply.shown().to_string(), "250 5.1.1 odd");
}

#[test]
fn capabilities_cope_with_odd_ehlo_replies() {
    let reply = assemble(&[
        b"250-mx.example Hello [192.0.2.1]\r\n",
        b"250-AUTH=LOGIN PLAIN\r\n",
        b"250-auth plain xoauth2\r\n",
        b"250-size 52428800\r\n",
        b"250-SIZE nonsense\r\n",
        b"250- \r\n",
        b"250-8bitmime\r\n",
        b"250 STARTTLS\r\n",
    ])
    .unwrap()
    .unwrap();
    let capabilities = Capabilities::from_ehlo(&reply);
    assert_eq!(capabilities.auth_mechanisms, ["LOGIN", "PLAIN", "XOAUTH2"]);
    assert!(capabilities.offers_auth("plain"));
    // The last SIZE line wins; an unreadable value means no known limit.
    assert!(capabilities.size);
    assert_eq!(capabilities.max_message_size_bytes, None);
    assert!(capabilities.eight_bit_mime && capabilities.starttls);
    assert!(!capabilities.pipelining);
}
