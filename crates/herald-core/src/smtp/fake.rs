//! A small SMTP submission server for tests of sending and of the worker:
//! implicit TLS (the test PKI) on 127.0.0.1, AUTH PLAIN, pipelining, and a
//! few scripted refusals. It records the commands and every message it
//! received, so tests can check what was (and was not) sent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use native_tls::TlsStream;

use crate::account::{SmtpSecurity, SmtpServer};
use crate::net::testing::TestPki;

/// What the server does once it has the whole message (after `CRLF.CRLF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterData {
    /// `250 Ok: queued`.
    Accept,
    /// This reply line (with CRLF added).
    Reply(String),
    /// Cut the connection without a reply.
    Drop,
}

/// Server-wide behaviour; change it between sessions with
/// [`FakeSmtp::behaviour`].
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub user: String,
    pub password: String,
    /// Recipients answered `550 5.1.1`.
    pub refused_recipients: Vec<String>,
    pub after_data: AfterData,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            user: "alice".to_string(),
            password: "secret".to_string(),
            refused_recipients: Vec::new(),
            after_data: AfterData::Accept,
        }
    }
}

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    pub mail_from: String,
    pub recipients: Vec<String>,
    /// The DATA bytes, dot-stuffed, without the terminating `.CRLF`.
    pub data: Vec<u8>,
    /// Whether the server said 250 to it.
    pub accepted: bool,
}

/// What the server saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    pub connections: usize,
    pub commands: Vec<String>,
    pub messages: Vec<Received>,
}

#[derive(Debug, Default)]
struct State {
    behaviour: Behaviour,
    record: Record,
}

/// A running fake SMTP server; stops accepting when dropped.
pub(crate) struct FakeSmtp {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeSmtp {
    /// Starts a server presenting the `localhost`/`127.0.0.1` test
    /// certificate.
    pub(crate) fn start(behaviour: Behaviour) -> FakeSmtp {
        FakeSmtp::start_with_identity(behaviour, &TestPki::get().leaf)
    }

    /// Starts a server presenting `identity` (for certificate tests).
    pub(crate) fn start_with_identity(
        behaviour: Behaviour,
        identity: &(Vec<u8>, Vec<u8>),
    ) -> FakeSmtp {
        let state = Arc::new(Mutex::new(State {
            behaviour,
            record: Record::default(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor = Arc::new(TestPki::acceptor(identity));
        let accept = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(tcp) = tcp else { return };
                    lock(&state).record.connections += 1;
                    let state = Arc::clone(&state);
                    let acceptor = Arc::clone(&acceptor);
                    std::thread::spawn(move || {
                        let _ = tcp.set_read_timeout(Some(Duration::from_secs(20)));
                        let _ = tcp.set_write_timeout(Some(Duration::from_secs(20)));
                        if let Ok(stream) = acceptor.accept(tcp) {
                            Session {
                                stream,
                                pending: Vec::new(),
                                state,
                            }
                            .serve();
                        }
                    });
                }
            })
        };
        FakeSmtp {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// The account setting that reaches this server.
    pub(crate) fn server(&self) -> SmtpServer {
        SmtpServer {
            host: "127.0.0.1".to_string(),
            port: self.port,
            security: SmtpSecurity::ImplicitTls,
        }
    }

    pub(crate) fn record(&self) -> Record {
        lock(&self.state).record.clone()
    }

    pub(crate) fn behaviour(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut lock(&self.state).behaviour);
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

struct Session {
    stream: TlsStream<TcpStream>,
    pending: Vec<u8>,
    state: Arc<Mutex<State>>,
}

impl Session {
    fn send(&mut self, text: &str) -> bool {
        self.stream
            .write_all(text.as_bytes())
            .and_then(|()| self.stream.flush())
            .is_ok()
    }

    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(count) => {
                self.pending.extend_from_slice(&buf[..count]);
                true
            }
        }
    }

    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.pending) {
                let line: Vec<u8> = self.pending.drain(..=at).collect();
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                lock(&self.state).record.commands.push(text.clone());
                return Some(text);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// The DATA bytes up to `CRLF.CRLF` (the data starts at a line start).
    fn data(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.pending.starts_with(b".\r\n") {
                self.pending.drain(..3);
                return Some(Vec::new());
            }
            if let Some(at) = memchr::memmem::find(&self.pending, b"\r\n.\r\n") {
                let data: Vec<u8> = self.pending.drain(..at + 5).take(at + 2).collect();
                return Some(data);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn serve(mut self) {
        let behaviour = lock(&self.state).behaviour.clone();
        if !self.send("220 fake.example ESMTP ready\r\n") {
            return;
        }
        let mut mail_from = None;
        let mut recipients = Vec::new();
        while let Some(line) = self.line() {
            let upper = line.to_ascii_uppercase();
            let reply = if upper.starts_with("EHLO") {
                "250-fake.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SIZE 10000000\r\n250 AUTH PLAIN LOGIN\r\n".to_string()
            } else if let Some(blob) = upper.strip_prefix("AUTH PLAIN ").map(|_| &line[11..]) {
                let blob = base64::engine::general_purpose::STANDARD
                    .decode(blob.trim())
                    .unwrap_or_default();
                let expected = format!("\0{}\0{}", behaviour.user, behaviour.password);
                if blob == expected.as_bytes() {
                    "235 2.7.0 Authentication successful\r\n".to_string()
                } else {
                    "535 5.7.8 Error: authentication failed\r\n".to_string()
                }
            } else if upper.starts_with("MAIL FROM:") {
                mail_from = Some(address(&line));
                recipients.clear();
                "250 2.1.0 Ok\r\n".to_string()
            } else if upper.starts_with("RCPT TO:") {
                let recipient = address(&line);
                if behaviour.refused_recipients.contains(&recipient) {
                    format!("550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n")
                } else {
                    recipients.push(recipient);
                    "250 2.1.5 Ok\r\n".to_string()
                }
            } else if upper == "DATA" {
                if !self.send("354 End data with <CR><LF>.<CR><LF>\r\n") {
                    return;
                }
                let Some(data) = self.data() else { return };
                let accepted = behaviour.after_data == AfterData::Accept;
                lock(&self.state).record.messages.push(Received {
                    mail_from: mail_from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut recipients),
                    data,
                    accepted,
                });
                match &behaviour.after_data {
                    AfterData::Accept => "250 2.0.0 Ok: queued as 4BXyz1\r\n".to_string(),
                    AfterData::Reply(text) => format!("{text}\r\n"),
                    AfterData::Drop => {
                        let _ = self.stream.get_ref().shutdown(Shutdown::Both);
                        return;
                    }
                }
            } else if upper == "RSET" {
                mail_from = None;
                recipients.clear();
                "250 2.0.0 Ok\r\n".to_string()
            } else if upper == "NOOP" {
                "250 2.0.0 Ok\r\n".to_string()
            } else if upper == "QUIT" {
                self.send("221 2.0.0 Bye\r\n");
                return;
            } else {
                "502 5.5.2 Error: command not recognized\r\n".to_string()
            };
            if !self.send(&reply) {
                return;
            }
        }
    }
}

/// The address inside `<…>` of a MAIL or RCPT line.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |at| at + 1);
    let end = line[start..].find('>').map_or(line.len(), |at| start + at);
    line[start..end].to_string()
}
