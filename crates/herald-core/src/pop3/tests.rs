//! The client against scripted fake servers on 127.0.0.1 (TLS with the test
//! PKI, or plain before STLS). Each server records every byte it received,
//! so tests can assert what was, and was not, sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use native_tls::TlsStream;
use sha2::{Digest, Sha256};

use super::client::COPY_BUFFER_BYTES;
use super::*;
use crate::account::{Pop3Security, Pop3Server};
use crate::credentials::Password;
use crate::error::{Classify, ErrorKind};
use crate::net::testing::{TestPki, serve_plain, serve_tls};
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Deadline, Limits, NetError};

// ---------------------------------------------------------------------------
// The fake server side
// ---------------------------------------------------------------------------

type Log = Arc<Mutex<Vec<u8>>>;

trait Tcp {
    fn tcp(&self) -> &TcpStream;
}

impl Tcp for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Tcp for TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref()
    }
}

/// The server end of a scripted session.
struct Peer<S> {
    stream: S,
    pending: Vec<u8>,
    log: Log,
}

impl<S: Read + Write + Tcp> Peer<S> {
    fn new(stream: S, log: &Log) -> Peer<S> {
        Peer {
            stream,
            pending: Vec::new(),
            log: log.clone(),
        }
    }

    /// Sends bytes; false once the client is gone.
    fn send(&mut self, bytes: impl AsRef<[u8]>) -> bool {
        self.stream
            .write_all(bytes.as_ref())
            .and_then(|()| self.stream.flush())
            .is_ok()
    }

    /// The next line from the client without its CRLF; `None` at the end.
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.pending) {
                let line: Vec<u8> = self.pending.drain(..=at).collect();
                let line = codec::strip_line_ending(&line);
                return Some(String::from_utf8_lossy(line).into_owned());
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(count) => {
                    self.log.lock().unwrap().extend_from_slice(&buf[..count]);
                    self.pending.extend_from_slice(&buf[..count]);
                }
            }
        }
    }

    fn expect(&mut self, want: &str) {
        assert_eq!(self.line().as_deref(), Some(want));
    }

    /// Reads (and logs) until the client closes the connection.
    fn until_closed(&mut self) {
        while self.line().is_some() {}
    }

    /// True if the client sends nothing for `duration`.
    fn quiet_for(&mut self, duration: Duration) -> bool {
        if !self.pending.is_empty() {
            return false;
        }
        self.stream.tcp().set_read_timeout(Some(duration)).unwrap();
        let mut byte = [0u8; 1];
        let quiet = match self.stream.read(&mut byte) {
            Ok(count) => {
                self.pending.extend_from_slice(&byte[..count]);
                self.log.lock().unwrap().extend_from_slice(&byte[..count]);
                false
            }
            Err(error) => matches!(
                error.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        };
        self.stream.tcp().set_read_timeout(None).unwrap();
        quiet
    }

    /// Sleeps until `stop` is set (or 20 s pass), reading nothing.
    fn stall(&mut self, stop: &AtomicBool) {
        let started = Instant::now();
        while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

type TlsPeer = Peer<TlsStream<TcpStream>>;

struct FakeServer {
    port: u16,
    handle: JoinHandle<()>,
    log: Log,
}

impl FakeServer {
    /// Joins the server thread (failing the test if its script failed) and
    /// returns what it received.
    fn received(self) -> Vec<u8> {
        self.handle.join().expect("the fake server's script failed");
        self.log.lock().unwrap().clone()
    }
}

/// A TLS server running `script` on each of `connections` connections.
fn tls_server(
    connections: usize,
    script: impl Fn(&mut TlsPeer) + Send + Sync + 'static,
) -> FakeServer {
    let log = Log::default();
    let server_log = log.clone();
    let (port, handle) = serve_tls(connections, &TestPki::get().leaf, move |stream| {
        script(&mut Peer::new(stream, &server_log));
    });
    FakeServer { port, handle, log }
}

/// A plain server (for STLS) running `script` on each connection.
fn plain_server(
    connections: usize,
    script: impl Fn(&mut Peer<TcpStream>) + Send + Sync + 'static,
) -> FakeServer {
    let log = Log::default();
    let server_log = log.clone();
    let (port, handle) = serve_plain(connections, move |stream| {
        script(&mut Peer::new(stream, &server_log));
    });
    FakeServer { port, handle, log }
}

/// What Dovecot 2.3 lists.
const CAPA_DOVECOT: &str = "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n";
/// No PIPELINING.
const CAPA_SERIAL: &str = "+OK\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nUSER\r\nSASL PLAIN\r\n.\r\n";

fn auth_plain_line(user: &str, password: &str) -> String {
    let blob = format!("\0{user}\0{password}");
    format!(
        "AUTH PLAIN {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// Greeting, CAPA, AUTH PLAIN as alice/secret, CAPA again.
fn log_in<S: Read + Write + Tcp>(peer: &mut Peer<S>, capa: &str) {
    peer.send("+OK Test POP3 ready <1.2@test>\r\n");
    peer.expect("CAPA");
    peer.send(capa);
    peer.expect(&auth_plain_line("alice", "secret"));
    peer.send("+OK Logged in.\r\n");
    peer.expect("CAPA");
    peer.send(capa);
}

/// The message as a server sends it after `+OK`: dot-stuffed, terminated.
fn on_the_wire(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut line_start = true;
    for &byte in message {
        if line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        line_start = byte == b'\n';
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn retr_reply(message: &[u8]) -> Vec<u8> {
    let mut reply = format!("+OK {} octets\r\n", message.len()).into_bytes();
    reply.extend_from_slice(&on_the_wire(message));
    reply
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

// ---------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------

type BoxError = Box<dyn std::error::Error>;

/// Messages as handed to a handler: number and bytes.
type Delivered = Vec<(u32, Vec<u8>)>;

fn quick_limits() -> Limits {
    Limits {
        connect_timeout: Duration::from_secs(5),
        io_timeout: Duration::from_secs(5),
        min_bytes_per_second: 0,
        throughput_window: Duration::from_secs(30),
    }
}

fn trusting_test_ca() -> TlsConfig {
    TlsConfig::system().with_extra_ca_pem(TestPki::get().ca_pem.clone())
}

fn server_at(port: u16, security: Pop3Security) -> Pop3Server {
    Pop3Server {
        host: "127.0.0.1".to_string(),
        port,
        security,
    }
}

fn connect_with(port: u16, limits: &Limits) -> Result<Pop3Client, Pop3Error> {
    Pop3Client::connect(
        &server_at(port, Pop3Security::ImplicitTls),
        &trusting_test_ca(),
        limits,
        &CancelToken::new(),
    )
}

fn connect(port: u16) -> Result<Pop3Client, Pop3Error> {
    connect_with(port, &quick_limits())
}

fn password() -> Password {
    Password::new("secret".to_string())
}

fn log_in_as_alice(port: u16, limits: &Limits) -> Pop3Session {
    connect_with(port, limits)
        .unwrap()
        .login("alice", &password())
        .unwrap()
}

/// Collects each message a handler is given.
fn collect_all(
    session: &mut Pop3Session,
    msg_nums: &[u32],
) -> Result<(Delivered, Vec<MessageRefused>), BoxError> {
    let mut delivered = Vec::new();
    let refused = session.retrieve_many(msg_nums, |msg_num, body| {
        let mut bytes = Vec::new();
        body.read_to_end(&mut bytes)?;
        delivered.push((msg_num, bytes));
        Ok::<(), BoxError>(())
    })?;
    Ok((delivered, refused))
}

fn pop3_error(error: &BoxError) -> &Pop3Error {
    error
        .downcast_ref::<Pop3Error>()
        .unwrap_or_else(|| panic!("not a Pop3Error: {error:?}"))
}

const MESSAGE_1: &[u8] = b"Subject: one\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n\xff\xfe\x80 8-bit \xe2\x82\xac\r\nbare\nLF inside\n.\nafter a dot-LF line\r\nend\r\n";
const MESSAGE_2: &[u8] = b"Subject: two\r\n\r\nNUL \x00 and lone CR \r in the middle\r\n";
const MESSAGE_3: &[u8] = b"Subject: three\r\n\r\n";

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn a_whole_session_is_byte_exact_and_pipelined() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("STAT");
        let total = MESSAGE_1.len() + MESSAGE_2.len() + MESSAGE_3.len();
        peer.send(format!("+OK 3 {total}\r\n"));
        peer.expect("LIST");
        peer.send(format!(
            "+OK 3 messages\r\n1 {}\r\n2 {}\r\n3 {}\r\n.\r\n",
            MESSAGE_1.len(),
            MESSAGE_2.len(),
            MESSAGE_3.len()
        ));
        peer.expect("UIDL");
        peer.send("+OK\r\n1 uid-one\r\n2 uid-two\r\n3 uid-three\r\n.\r\n");
        // All three commands arrive before any reply is sent: pipelined.
        peer.expect("RETR 1");
        peer.expect("RETR 2");
        peer.expect("RETR 3");
        let mut replies = retr_reply(MESSAGE_1);
        replies.extend_from_slice(&retr_reply(MESSAGE_2));
        replies.extend_from_slice(&retr_reply(MESSAGE_3));
        peer.send(replies);
        peer.expect("DELE 1");
        peer.send("+OK Marked to be deleted.\r\n");
        peer.expect("QUIT");
        peer.send("+OK Logging out, messages deleted.\r\n");
    });
    let client = connect(server.port).unwrap();
    assert_eq!(client.greeting(), "Test POP3 ready <1.2@test>");
    let certificate = client.tls_certificate().unwrap();
    assert_eq!(
        certificate.sha256_hex,
        crate::digest::hex(&Sha256::digest(&TestPki::get().leaf_der))
    );
    let mut session = client.login("alice", &password()).unwrap();
    let capabilities = session.capabilities();
    assert!(capabilities.pipelining && capabilities.uidl && capabilities.top);
    assert!(capabilities.has_sasl("PLAIN") && capabilities.resp_codes);
    assert_eq!(capabilities.raw.len(), 8);

    let total = (MESSAGE_1.len() + MESSAGE_2.len() + MESSAGE_3.len()) as u64;
    assert_eq!(session.stat().unwrap(), (3, total));
    assert_eq!(
        session.list().unwrap(),
        vec![
            (1, MESSAGE_1.len() as u64),
            (2, MESSAGE_2.len() as u64),
            (3, MESSAGE_3.len() as u64)
        ]
    );
    assert_eq!(
        session.uidl().unwrap().unwrap(),
        vec![
            (1, b"uid-one".to_vec()),
            (2, b"uid-two".to_vec()),
            (3, b"uid-three".to_vec())
        ]
    );
    let (delivered, refused) = collect_all(&mut session, &[1, 2, 3]).unwrap();
    assert!(refused.is_empty());
    assert_eq!(
        delivered,
        vec![
            (1, MESSAGE_1.to_vec()),
            (2, MESSAGE_2.to_vec()),
            (3, MESSAGE_3.to_vec())
        ]
    );
    session.delete(1).unwrap();
    session.quit().unwrap();
    let received = server.received();
    assert!(contains(&received, b"RETR 1\r\nRETR 2\r\nRETR 3\r\n"));
    assert!(!contains(&received, b"PASS"));
}

#[test]
fn user_and_pass_are_used_when_sasl_plain_is_not_offered() {
    let server = tls_server(1, |peer| {
        let capa = "+OK\r\nUSER\r\nSASL CRAM-MD5 GSSAPI\r\nUIDL\r\n.\r\n";
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send(capa);
        peer.expect("USER alice");
        peer.send("+OK\r\n");
        peer.expect("PASS pass with spaces");
        peer.send("+OK Logged in\r\n");
        peer.expect("CAPA");
        peer.send(capa);
        peer.expect("QUIT");
        peer.send("+OK\r\n");
    });
    let session = connect(server.port)
        .unwrap()
        .login("alice", &Password::new("pass with spaces".to_string()))
        .unwrap();
    session.quit().unwrap();
    let received = server.received();
    assert!(!contains(&received, b"AUTH"));
}

#[test]
fn nothing_is_sent_after_an_err_greeting() {
    let server = tls_server(1, |peer| {
        peer.send("-ERR [SYS/TEMP] too many connections from your address\r\n");
        peer.until_closed();
    });
    let error = connect(server.port).unwrap_err();
    assert!(
        matches!(error, Pop3Error::GreetingRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    assert!(
        error.to_string().contains("too many connections"),
        "{error}"
    );
    drop(error);
    assert_eq!(server.received(), b"");
}

#[test]
fn a_wrong_password_is_auth_rejected_and_not_retried() {
    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send(CAPA_DOVECOT);
        peer.expect(&auth_plain_line("alice", "secret"));
        peer.send("-ERR [AUTH] Authentication failed.\r\n");
        peer.until_closed();
    });
    let error = connect(server.port)
        .unwrap()
        .login("alice", &password())
        .unwrap_err();
    assert!(matches!(error, Pop3Error::LoginRefused { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::AuthRejected);
    assert!(
        error
            .to_string()
            .starts_with("the server refused the user name or password"),
        "{error}"
    );
    assert!(!error.to_string().contains("secret"));
    let received = server.received();
    assert_eq!(count(&received, b"AUTH"), 1);
    assert!(!contains(&received, b"USER") && !contains(&received, b"PASS"));
}

#[test]
fn a_plain_err_to_pass_is_a_wrong_password() {
    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send("-ERR what is CAPA\r\n");
        peer.expect("USER alice");
        peer.send("+OK\r\n");
        peer.expect("PASS secret");
        peer.send("-ERR invalid login\r\n");
        peer.until_closed();
    });
    let error = connect(server.port)
        .unwrap()
        .login("alice", &password())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AuthRejected, "{error:?}");
    assert_eq!(count(&server.received(), b"PASS"), 1);
}

#[test]
fn a_mailbox_in_use_is_a_transient_refusal_not_a_wrong_password() {
    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send(CAPA_DOVECOT);
        peer.expect(&auth_plain_line("alice", "secret"));
        peer.send("-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n");
        peer.until_closed();
    });
    let error = connect(server.port)
        .unwrap()
        .login("alice", &password())
        .unwrap_err();
    assert!(matches!(error, Pop3Error::MailboxInUse { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    let text = error.to_string();
    assert!(
        text.contains("the mailbox is in use by another program; try again in a minute"),
        "{text}"
    );
    assert!(text.contains("locked by another POP3 session"), "{text}");
    drop(error);
    server.received();
}

#[test]
fn sys_temp_at_login_is_transient_and_sys_perm_is_not() {
    for (reply, transient) in [
        ("-ERR [SYS/TEMP] backend down\r\n", true),
        ("-ERR [SYS/PERM] mailbox corrupt\r\n", false),
    ] {
        let server = tls_server(1, move |peer| {
            peer.send("+OK ready\r\n");
            peer.expect("CAPA");
            peer.send(CAPA_DOVECOT);
            peer.line();
            peer.send(reply);
            peer.until_closed();
        });
        let error = connect(server.port)
            .unwrap()
            .login("alice", &password())
            .unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::ServerRejected { transient },
            "{error:?}"
        );
        drop(error);
        server.received();
    }
}

/// A plain-text server that offers STLS and then speaks TLS with the test
/// leaf; the script after the handshake is `after`.
fn stls_server(
    connections: usize,
    capa_before: &'static str,
    after: impl Fn(&mut TlsPeer) + Send + Sync + 'static,
) -> FakeServer {
    let log = Log::default();
    let server_log = log.clone();
    let (port, handle) = serve_plain(connections, move |stream| {
        let mut peer = Peer::new(stream, &server_log);
        peer.send("+OK plain-text greeting\r\n");
        while let Some(line) = peer.line() {
            match line.as_str() {
                "CAPA" => {
                    peer.send(capa_before);
                }
                "STLS" => {
                    peer.send("+OK Begin TLS negotiation now.\r\n");
                    assert!(peer.pending.is_empty());
                    let acceptor = TestPki::acceptor(&TestPki::get().leaf);
                    if let Ok(tls) = acceptor.accept(peer.stream) {
                        after(&mut Peer::new(tls, &server_log));
                    }
                    return;
                }
                other => panic!("unexpected {other}"),
            }
        }
    });
    FakeServer { port, handle, log }
}

#[test]
fn stls_upgrades_and_forgets_the_plain_text_capabilities() {
    let server = stls_server(1, "+OK\r\nSTLS\r\nX-BEFORE-TLS\r\n.\r\n", |peer| {
        peer.expect("CAPA");
        peer.send("+OK\r\nSASL PLAIN\r\nUIDL\r\nX-AFTER-TLS\r\n.\r\n");
        peer.expect(&auth_plain_line("alice", "secret"));
        peer.send("+OK\r\n");
        peer.expect("CAPA");
        peer.send("+OK\r\nUIDL\r\nX-AFTER-LOGIN\r\n.\r\n");
        peer.expect("QUIT");
        peer.send("+OK\r\n");
    });
    let client = Pop3Client::connect(
        &server_at(server.port, Pop3Security::Stls),
        &trusting_test_ca(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(client.greeting(), "plain-text greeting");
    assert!(client.tls_certificate().is_some());
    assert_eq!(
        client.capabilities().raw,
        ["SASL PLAIN", "UIDL", "X-AFTER-TLS"]
    );
    let session = client.login("alice", &password()).unwrap();
    assert_eq!(session.capabilities().raw, ["UIDL", "X-AFTER-LOGIN"]);
    session.quit().unwrap();
    server.received();
}

#[test]
fn bytes_injected_after_the_stls_ok_are_refused() {
    let server = plain_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send("+OK\r\nSTLS\r\nSASL PLAIN\r\n.\r\n");
        peer.expect("STLS");
        // One write: the injected line is in the client's buffer with the +OK.
        peer.send("+OK Begin TLS\r\n+OK Logged in as attacker\r\n");
        peer.until_closed();
    });
    let error = Pop3Client::connect(
        &server_at(server.port, Pop3Security::Stls),
        &trusting_test_ca(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(error, Pop3Error::StlsInjection), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(server.received(), b"CAPA\r\nSTLS\r\n");
}

#[test]
fn stls_not_offered_is_refused_before_anything_sensitive() {
    let server = plain_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n");
        peer.until_closed();
    });
    let error = Pop3Client::connect(
        &server_at(server.port, Pop3Security::Stls),
        &trusting_test_ca(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(error, Pop3Error::StlsNotOffered), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Tls);
    assert!(error.to_string().contains("does not offer STLS"));
    assert_eq!(server.received(), b"CAPA\r\n");
}

#[test]
fn a_refused_certificate_after_stls_is_shown_with_its_details() {
    // Two connections: the refused handshake, and the probe that redoes
    // greeting and STLS to read the certificate.
    let server = stls_server(2, "+OK\r\nSTLS\r\n.\r\n", |_| {});
    let error = Pop3Client::connect(
        &server_at(server.port, Pop3Security::Stls),
        &TlsConfig::system(),
        &quick_limits(),
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Certificate, "{error:?}");
    assert!(error.certificate().is_some());
    let Pop3Error::Net(NetError::Certificate(problem)) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        problem.certificate.sha256_hex,
        crate::digest::hex(&Sha256::digest(&TestPki::get().leaf_der))
    );
    drop(error);
    let received = server.received();
    assert_eq!(count(&received, b"STLS\r\n"), 2);
}

#[test]
fn an_err_to_one_retr_in_a_pipeline_is_reported_for_that_message_only() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n2 100\r\n3 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.expect("RETR 2");
        peer.expect("RETR 3");
        let mut replies = retr_reply(MESSAGE_1);
        replies.extend_from_slice(b"-ERR [SYS/TEMP] Message 2 is being repaired\r\n");
        replies.extend_from_slice(&retr_reply(MESSAGE_3));
        peer.send(replies);
        peer.expect("NOOP");
        peer.send("+OK\r\n");
        peer.expect("QUIT");
        peer.send("+OK\r\n");
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let (delivered, refused) = collect_all(&mut session, &[1, 2, 3]).unwrap();
    assert_eq!(
        delivered,
        vec![(1, MESSAGE_1.to_vec()), (3, MESSAGE_3.to_vec())]
    );
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].msg_num, 2);
    assert_eq!(refused[0].command, "RETR");
    assert!(refused[0].transient);
    let text = refused[0].to_string();
    assert!(
        text.starts_with("message 2: the server refused RETR"),
        "{text}"
    );
    assert!(text.contains("being repaired"), "{text}");
    session.noop().unwrap();
    session.quit().unwrap();
    server.received();
}

#[test]
fn a_connection_dropped_mid_retr_is_an_error_never_a_success() {
    let server = tls_server(2, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 5000\r\n.\r\n");
        peer.expect("RETR 1");
        peer.send("+OK\r\nSubject: cut\r\n\r\nfirst line\r\nsecond li");
        // Dropping the peer closes the connection mid-message.
    });
    // A handler that passes the read error on.
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let mut completed = Vec::new();
    let error = session
        .retrieve_many(&[1], |msg_num, body| {
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes)?;
            completed.push(msg_num);
            Ok::<(), BoxError>(())
        })
        .unwrap_err();
    assert!(completed.is_empty());
    assert!(
        matches!(pop3_error(&error), Pop3Error::Net(NetError::Closed)),
        "{error:?}"
    );
    assert!(matches!(session.noop(), Err(Pop3Error::SessionBroken)));
    assert!(matches!(session.quit(), Err(Pop3Error::SessionBroken)));

    // A handler that swallows the read error still does not make it a
    // success.
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let mut seen = Vec::new();
    let error = session
        .retrieve_many(&[1], |_, body| {
            let mut bytes = Vec::new();
            let outcome = body.read_to_end(&mut bytes);
            seen.push((bytes, outcome.is_err()));
            Ok::<(), Pop3Error>(())
        })
        .unwrap_err();
    assert!(
        matches!(error, Pop3Error::Net(NetError::Closed)),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Network);
    assert_eq!(seen.len(), 1);
    assert!(seen[0].1, "the body reader must fail, not end");
    assert!(b"Subject: cut\r\n\r\nfirst line\r\nsecond li".starts_with(&seen[0].0));
    drop(session);
    server.received();
}

#[test]
fn a_multi_line_reply_that_never_ends_is_stopped() {
    let stop = Arc::new(AtomicBool::new(false));
    let server_stop = stop.clone();
    let server = tls_server(1, move |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.send("+OK\r\n");
        let lines = "and on and on\r\n".repeat(1000);
        while !server_stop.load(Ordering::SeqCst) && peer.send(&lines) {}
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let started = Instant::now();
    let error = session.retrieve(1, &mut io::sink()).unwrap_err();
    stop.store(true, Ordering::SeqCst);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let Pop3Error::ReplyTooLong { limit, during } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*limit, 2 * 100 + 64 * 1024);
    assert_eq!(during, "message 1 (RETR)");
    assert_eq!(error.kind(), ErrorKind::Protocol);
    drop(session);
    server.received();
}

#[test]
fn listings_that_never_end_are_stopped() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n");
        let lines = "1 100\r\n".repeat(10_000);
        while peer.send(&lines) {}
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let started = Instant::now();
    let error = session.list().unwrap_err();
    assert!(matches!(error, Pop3Error::Protocol { .. }), "{error:?}");
    assert!(
        error.to_string().contains("more than 1000000 lines"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(session);
    server.received();

    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send("+OK\r\n");
        let lines = "X-CAPABILITY\r\n".repeat(100);
        while peer.send(&lines) {}
    });
    let error = connect(server.port).unwrap_err();
    assert!(
        error.to_string().contains("CAPA reply has more than"),
        "{error}"
    );
    server.received();
}

#[test]
fn a_ten_megabyte_line_is_refused_without_reading_it_all() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 20000000\r\n.\r\n");
        peer.expect("RETR 1");
        peer.send("+OK\r\n");
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..10 {
            if !peer.send(&chunk) {
                return;
            }
        }
        peer.send("\r\n.\r\n");
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let before = session.connection().bytes_read();
    let error = session.retrieve(1, &mut io::sink()).unwrap_err();
    let Pop3Error::LineTooLong { max, during } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*max, MAX_DATA_LINE);
    assert_eq!(during, "message 1 (RETR)");
    assert!(session.connection().bytes_read() - before < 2 * MAX_DATA_LINE as u64);
    assert_eq!(session.read_buffer_capacity(), 64 * 1024);
    drop(session);
    server.received();
}

#[test]
fn a_ten_megabyte_status_line_is_refused() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("STAT");
        let mut line = b"+OK ".to_vec();
        line.resize(10 << 20, b'9');
        line.extend_from_slice(b"\r\n");
        peer.send(line);
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let error = session.stat().unwrap_err();
    assert!(
        matches!(error, Pop3Error::LineTooLong { max: 512, .. }),
        "{error:?}"
    );
    assert_eq!(session.read_buffer_capacity(), 64 * 1024);
    drop(session);
    server.received();
}

/// A server that answers RETR 1 with `+OK` and then one byte a second until
/// `stop` is set.
fn trickling_server(stop: Arc<AtomicBool>) -> FakeServer {
    tls_server(1, move |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.send("+OK\r\n");
        let started = Instant::now();
        let mut next = Duration::ZERO;
        while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(20) {
            if started.elapsed() >= next {
                if !peer.send("x") {
                    return;
                }
                next += Duration::from_secs(1);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[test]
fn a_one_byte_per_second_trickle_is_stopped_by_the_throughput_rule() {
    let stop = Arc::new(AtomicBool::new(false));
    let server = trickling_server(stop.clone());
    let limits = Limits {
        min_bytes_per_second: 100,
        throughput_window: Duration::from_millis(500),
        ..quick_limits()
    };
    let mut session = log_in_as_alice(server.port, &limits);
    let started = Instant::now();
    let error = session.retrieve(1, &mut io::sink()).unwrap_err();
    stop.store(true, Ordering::SeqCst);
    assert!(
        matches!(error, Pop3Error::Net(NetError::TooSlow { .. })),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    drop(session);
    server.received();
}

#[test]
fn an_overall_deadline_stops_a_trickle() {
    let stop = Arc::new(AtomicBool::new(false));
    let server = trickling_server(stop.clone());
    let mut session = log_in_as_alice(server.port, &quick_limits());
    session.set_deadline(Deadline::after(Duration::from_millis(1500)));
    let started = Instant::now();
    let error = session.retrieve(1, &mut io::sink()).unwrap_err();
    stop.store(true, Ordering::SeqCst);
    assert!(
        matches!(error, Pop3Error::Net(NetError::DeadlinePassed)),
        "{error:?}"
    );
    // The deadline is checked between reads; a read waits at most for the
    // next byte (1 s here).
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "{:?}",
        started.elapsed()
    );
    drop(session);
    server.received();
}

#[test]
fn cancel_stops_a_retrieve_at_once() {
    let stop = Arc::new(AtomicBool::new(false));
    let server_stop = stop.clone();
    let server = tls_server(1, move |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.send("+OK\r\nSubject: x\r\n");
        peer.stall(&server_stop);
    });
    let cancel = CancelToken::new();
    let mut session = Pop3Client::connect(
        &server_at(server.port, Pop3Security::ImplicitTls),
        &trusting_test_ca(),
        &quick_limits(),
        &cancel,
    )
    .unwrap()
    .login("alice", &password())
    .unwrap();
    let canceller = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        canceller.cancel();
    });
    let started = Instant::now();
    let error = session.retrieve(1, &mut io::sink()).unwrap_err();
    stop.store(true, Ordering::SeqCst);
    assert!(
        matches!(error, Pop3Error::Net(NetError::Cancelled)),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    drop(session);
    server.received();
}

#[test]
fn unsolicited_lines_after_the_greeting_are_a_protocol_error() {
    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n+OK\r\n.\r\n");
        peer.until_closed();
    });
    let error = connect(server.port).unwrap_err();
    assert!(matches!(error, Pop3Error::Protocol { .. }), "{error:?}");
    assert!(
        error.to_string().contains("before being asked anything"),
        "{error}"
    );
    drop(error);
    assert_eq!(server.received(), b"", "not even CAPA may be sent");
}

#[test]
fn an_unsolicited_line_mid_session_breaks_the_session() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("NOOP");
        peer.send("+OK\r\n-ERR [SYS/TEMP] surprise\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let error = session.noop().unwrap_err();
    assert!(matches!(error, Pop3Error::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("nobody asked for"), "{error}");
    assert!(matches!(session.noop(), Err(Pop3Error::SessionBroken)));
    drop(session);
    let received = server.received();
    assert_eq!(count(&received, b"NOOP"), 1);
}

#[test]
fn uidl_lines_come_back_raw_even_when_duplicate_or_hostile() {
    let long_id = "x".repeat(300);
    let listing = format!(
        "+OK\r\n1 same\r\n2 same\r\n2 same\r\n3 \u{202E}bidi\r\n4  leading space\r\n5 -ERR looks like a reply\r\n6 {long_id}\r\n"
    );
    let server = tls_server(1, move |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("UIDL");
        let mut reply = listing.clone().into_bytes();
        reply.extend_from_slice(b"7 \xff\xfe\x01\x7f8-bit and controls\r\n.\r\n");
        peer.send(reply);
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let uidls = session.uidl().unwrap().unwrap();
    let expected: Vec<(u32, Vec<u8>)> = vec![
        (1, b"same".to_vec()),
        (2, b"same".to_vec()),
        (2, b"same".to_vec()),
        (3, "\u{202E}bidi".as_bytes().to_vec()),
        (4, b" leading space".to_vec()),
        (5, b"-ERR looks like a reply".to_vec()),
        (6, "x".repeat(300).into_bytes()),
        (7, b"\xff\xfe\x01\x7f8-bit and controls".to_vec()),
    ];
    assert_eq!(uidls, expected);
    drop(session);
    server.received();
}

#[test]
fn a_malformed_uidl_line_is_a_protocol_error() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("UIDL");
        peer.send("+OK\r\n1 good\r\nnot-a-number id\r\n.\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let error = session.uidl().unwrap_err();
    assert!(matches!(error, Pop3Error::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("malformed UIDL line"), "{error}");
    drop(session);
    server.received();
}

#[test]
fn uidl_unsupported_is_none() {
    // CAPA without UIDL: not even asked.
    let server = tls_server(1, |peer| {
        log_in(peer, "+OK\r\nSASL PLAIN\r\nTOP\r\n.\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    assert_eq!(session.uidl().unwrap(), None);
    drop(session);
    assert!(!contains(&server.received(), b"UIDL"));

    // An RFC 1939 server without CAPA that refuses UIDL.
    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send("-ERR unknown command\r\n");
        peer.expect("USER alice");
        peer.send("+OK\r\n");
        peer.expect("PASS secret");
        peer.send("+OK\r\n");
        peer.expect("UIDL");
        peer.send("-ERR unknown command\r\n");
        peer.expect("NOOP");
        peer.send("+OK\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    assert!(!session.capabilities().advertised);
    assert_eq!(session.uidl().unwrap(), None);
    session.noop().unwrap();
    drop(session);
    server.received();
}

#[test]
fn a_server_that_stops_reading_cannot_deadlock_the_pipeline() {
    const ANSWERED: usize = 20;
    let stop = Arc::new(AtomicBool::new(false));
    let server_stop = stop.clone();
    let server = tls_server(1, move |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 10\r\n.\r\n");
        for _ in 0..ANSWERED {
            peer.line();
            peer.send("-ERR no such message\r\n");
        }
        // Stop reading and answering.
        peer.stall(&server_stop);
    });
    let limits = Limits {
        io_timeout: Duration::from_millis(500),
        ..quick_limits()
    };
    let mut session = log_in_as_alice(server.port, &limits);
    session.list().unwrap();
    let before = session.connection().bytes_written();
    let msg_nums: Vec<u32> = (1..=200_000).collect();
    let started = Instant::now();
    let error = collect_all(&mut session, &msg_nums).unwrap_err();
    stop.store(true, Ordering::SeqCst);
    assert!(
        matches!(pop3_error(&error), Pop3Error::Net(NetError::Timeout { .. })),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Never more than the window went unanswered.
    let written = session.connection().bytes_written() - before;
    let longest_command = "RETR 200000\r\n".len();
    assert!(
        written as usize <= ANSWERED * longest_command + PIPELINE_MAX_BYTES,
        "{written}"
    );
    drop(session);
    server.received();
}

#[test]
fn without_pipelining_commands_go_one_at_a_time() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_SERIAL);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n2 100\r\n.\r\n");
        for (command, reply) in [
            ("RETR 1", retr_reply(MESSAGE_2)),
            ("RETR 2", retr_reply(MESSAGE_3)),
            ("DELE 1", b"+OK\r\n".to_vec()),
            ("DELE 2", b"-ERR [SYS/TEMP] try later\r\n".to_vec()),
        ] {
            peer.expect(command);
            assert!(
                peer.quiet_for(Duration::from_millis(150)),
                "after {command}"
            );
            peer.send(reply);
        }
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let (delivered, refused) = collect_all(&mut session, &[1, 2]).unwrap();
    assert!(refused.is_empty());
    assert_eq!(
        delivered,
        vec![(1, MESSAGE_2.to_vec()), (2, MESSAGE_3.to_vec())]
    );
    let refused = session.delete_many(&[1, 2]).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].msg_num, 2);
    assert_eq!(
        Pop3Error::from(refused[0].clone()).kind(),
        ErrorKind::ServerRejected { transient: true }
    );
    drop(session);
    server.received();
}

#[test]
fn quit_err_is_reported() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("DELE 1");
        peer.send("+OK\r\n");
        peer.expect("QUIT");
        peer.send("-ERR some deleted messages not removed\r\n");
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    session.delete(1).unwrap();
    let error = session.quit().unwrap_err();
    assert!(matches!(error, Pop3Error::QuitFailed { .. }), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::ServerRejected { transient: true });
    assert!(error.to_string().contains("could not delete"), "{error}");
    server.received();
}

#[test]
fn dele_is_rolled_back_without_quit() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("DELE 1");
        peer.send("+OK\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    session.delete(1).unwrap();
    drop(session);
    let received = server.received();
    assert!(contains(&received, b"DELE 1\r\n"));
    assert!(!contains(&received, b"QUIT"));
}

#[test]
fn a_handler_that_stops_early_with_ok_keeps_the_session() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n2 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.expect("RETR 2");
        let mut replies = retr_reply(MESSAGE_1);
        replies.extend_from_slice(&retr_reply(MESSAGE_2));
        peer.send(replies);
        peer.expect("NOOP");
        peer.send("+OK\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let mut firsts = Vec::new();
    let refused = session
        .retrieve_many(&[1, 2], |msg_num, body| {
            let mut first = [0u8; 9];
            body.read_exact(&mut first)
                .map_err(|_| Pop3Error::SessionBroken)?;
            firsts.push((msg_num, first));
            Ok::<(), Pop3Error>(())
        })
        .unwrap();
    assert!(refused.is_empty());
    assert_eq!(firsts, vec![(1, *b"Subject: "), (2, *b"Subject: ")]);
    session.noop().unwrap();
    drop(session);
    server.received();
}

#[test]
fn a_handler_error_is_returned_and_breaks_the_session() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n2 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.expect("RETR 2");
        let mut replies = retr_reply(MESSAGE_1);
        replies.extend_from_slice(&retr_reply(MESSAGE_2));
        peer.send(replies);
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let error = session
        .retrieve_many(&[1, 2], |_, _| Err::<(), BoxError>("disk full".into()))
        .unwrap_err();
    assert_eq!(error.to_string(), "disk full");
    assert!(matches!(session.quit(), Err(Pop3Error::SessionBroken)));
    let received = server.received();
    assert!(!contains(&received, b"QUIT"));
}

#[test]
fn a_failing_writer_keeps_the_session() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n.\r\n");
        peer.expect("RETR 1");
        peer.send(retr_reply(MESSAGE_1));
        peer.expect("NOOP");
        peer.send("+OK\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let error = session.retrieve(1, &mut Full).unwrap_err();
    assert!(
        matches!(error, Pop3Error::Write { msg_num: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Storage);
    session.noop().unwrap();
    drop(session);
    server.received();
}

#[test]
fn top_returns_the_head_and_refuses_an_oversized_one_without_breaking() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send("+OK\r\n1 100\r\n2 400000\r\n.\r\n");
        peer.expect("TOP 1 0");
        let mut reply = b"+OK\r\n".to_vec();
        reply.extend_from_slice(&on_the_wire(b"Subject: one\r\n..dotted: header\r\n\r\n"));
        peer.send(reply);
        peer.expect("TOP 2 0");
        let mut head = format!("X-Big: {}\r\n\r\n", "h".repeat(300 * 1024)).into_bytes();
        head.splice(0..0, b"Subject: two\r\n".iter().copied());
        let mut reply = b"+OK\r\n".to_vec();
        reply.extend_from_slice(&on_the_wire(&head));
        peer.send(reply);
        peer.expect("NOOP");
        peer.send("+OK\r\n");
        peer.until_closed();
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    assert_eq!(
        session.top(1, 0).unwrap(),
        b"Subject: one\r\n..dotted: header\r\n\r\n"
    );
    let error = session.top(2, 0).unwrap_err();
    assert!(
        matches!(
            error,
            Pop3Error::TopTooLarge {
                msg_num: 2,
                limit: TOP_MAX_BYTES
            }
        ),
        "{error:?}"
    );
    // The rest of the oversized reply was read and discarded.
    session.noop().unwrap();
    drop(session);
    server.received();
}

#[test]
fn fifty_megabytes_stream_through_fixed_buffers() {
    // 64 KiB of base64-like lines, some starting with a dot.
    let mut block = Vec::new();
    let mut line_number = 0u32;
    while block.len() < 64 * 1024 - 80 {
        if line_number.is_multiple_of(7) {
            block.push(b'.');
        }
        block.extend_from_slice(format!("{line_number:08}").as_bytes());
        block.extend_from_slice(&[b'Q'; 66]);
        block.extend_from_slice(b"\r\n");
        line_number += 1;
    }
    const REPEATS: usize = 800;
    let total = (block.len() * REPEATS) as u64;
    let wire_block = {
        let mut stuffed = on_the_wire(&block);
        stuffed.truncate(stuffed.len() - 3);
        stuffed
    };
    let server = tls_server(1, move |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("LIST");
        peer.send(format!("+OK\r\n1 {total}\r\n.\r\n"));
        peer.expect("RETR 1");
        peer.send("+OK\r\n");
        for _ in 0..REPEATS {
            if !peer.send(&wire_block) {
                return;
            }
        }
        peer.send(".\r\n");
        peer.until_closed();
    });

    /// Compares what it is given with `block` repeated, remembering the
    /// largest single write.
    struct Checker {
        block: Vec<u8>,
        at: usize,
        largest_write: usize,
        mismatch: bool,
    }
    impl Write for Checker {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.largest_write = self.largest_write.max(buf.len());
            let mut rest = buf;
            while !rest.is_empty() {
                let offset = self.at % self.block.len();
                let take = rest.len().min(self.block.len() - offset);
                if rest[..take] != self.block[offset..offset + take] {
                    self.mismatch = true;
                }
                self.at += take;
                rest = &rest[take..];
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut checker = Checker {
        block: block.clone(),
        at: 0,
        largest_write: 0,
        mismatch: false,
    };
    let mut session = log_in_as_alice(server.port, &quick_limits());
    let started = Instant::now();
    let written = session.retrieve(1, &mut checker).unwrap();
    assert_eq!(written, total);
    assert_eq!(checker.at as u64, total);
    assert!(!checker.mismatch);
    // Fixed buffers only: the connection's 64 KiB read buffer never grew,
    // and the copy went through one 64 KiB buffer.
    assert_eq!(session.read_buffer_capacity(), 64 * 1024);
    assert!(checker.largest_write <= COPY_BUFFER_BYTES);
    eprintln!("50 MB retrieve took {:?}", started.elapsed());
    drop(session);
    server.received();
}

#[test]
fn arguments_with_line_breaks_are_refused_before_sending() {
    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send(CAPA_DOVECOT);
        peer.until_closed();
    });
    let error = connect(server.port)
        .unwrap()
        .login("alice\r\nDELE 1", &password())
        .unwrap_err();
    assert!(
        matches!(error, Pop3Error::InvalidArgument { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(server.received(), b"CAPA\r\n");

    let server = tls_server(1, |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send("+OK\r\nUSER\r\n.\r\n");
        peer.until_closed();
    });
    let error = connect(server.port)
        .unwrap()
        .login("alice", &Password::new("pw\nQUIT".to_string()))
        .unwrap_err();
    assert!(
        matches!(error, Pop3Error::InvalidArgument { .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains("QUIT"));
    assert_eq!(server.received(), b"CAPA\r\n");
}

#[test]
fn a_long_auth_plain_waits_for_the_prompt() {
    let long_password = "p".repeat(250);
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{long_password}"));
    let server = tls_server(1, move |peer| {
        peer.send("+OK ready\r\n");
        peer.expect("CAPA");
        peer.send(CAPA_DOVECOT);
        peer.expect("AUTH PLAIN");
        peer.send("+ \r\n");
        peer.expect(&expected);
        peer.send("+OK\r\n");
        peer.expect("CAPA");
        peer.send(CAPA_DOVECOT);
        peer.until_closed();
    });
    let session = connect(server.port)
        .unwrap()
        .login("alice", &Password::new(long_password))
        .unwrap();
    drop(session);
    server.received();
}

#[test]
fn sessions_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Pop3Client>();
    assert_send::<Pop3Session>();
    assert_send::<Pop3Error>();
}

#[test]
fn keep_alive_sends_noop_only_after_the_server_was_idle() {
    let server = tls_server(1, |peer| {
        log_in(peer, CAPA_DOVECOT);
        peer.expect("NOOP");
        peer.send("+OK\r\n");
        peer.expect("QUIT");
        peer.send("+OK\r\n");
    });
    let mut session = log_in_as_alice(server.port, &quick_limits());
    // The server just answered the login: not idle for an hour.
    assert!(!session.keep_alive(Duration::from_secs(3600)).unwrap());
    std::thread::sleep(Duration::from_millis(50));
    assert!(session.keep_alive(Duration::from_millis(20)).unwrap());
    // The NOOP's reply resets the idle time.
    assert!(!session.keep_alive(Duration::from_secs(3600)).unwrap());
    session.quit().unwrap();
    let received = server.received();
    assert_eq!(count(&received, b"NOOP\r\n"), 1);
}
