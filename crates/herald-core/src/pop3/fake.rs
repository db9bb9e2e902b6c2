//! A small POP3 server for tests of the sync engine and the worker: a
//! mailbox of messages over implicit TLS (the test PKI) on 127.0.0.1, with
//! the misbehaviours real servers rarely show switched on per message or per
//! server. It records every byte and command it received, which DELEs it
//! accepted and what a successful QUIT really deleted, so tests can check
//! both sides of "nothing half-stored, nothing lost".
//!
//! Each connection gets its own thread (a connection test opens a second
//! connection while the first is open). The mailbox is shared and can be
//! changed between sessions ("the server relents"); each session works on
//! the mailbox as it was at login, like a real maildrop lock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use native_tls::TlsStream;

use crate::account::{Pop3Security, Pop3Server};
use crate::net::testing::TestPki;

/// How the server answers `RETR` of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Retr {
    /// The message, dot-stuffed and terminated.
    Normal,
    /// `-ERR`.
    Refuse,
    /// `+OK`, the first `n` bytes of the dot-stuffed message, then the
    /// connection is cut (no TLS close, no terminator).
    DropAfter(usize),
    /// `+OK` and lines forever: a multi-line reply that never ends.
    Endless,
    /// `+OK` and one line of this many bytes with no line end.
    LongLine(usize),
    /// `+OK`, then the message one byte per interval.
    Trickle(Duration),
    /// `+OK`, the first `n` bytes, then silence until the client hangs up
    /// (or 20 s pass).
    StallAfter(usize),
}

/// One message in the fake mailbox.
#[derive(Debug, Clone)]
pub(crate) struct FakeMessage {
    /// What UIDL lists for it (anything, even hostile or duplicated).
    pub uidl: String,
    /// Its bytes as stored on the server.
    pub bytes: Vec<u8>,
    /// How RETR of it behaves.
    pub retr: Retr,
    /// TOP of it gets `-ERR`.
    pub top_refused: bool,
    /// DELE of it gets `-ERR`.
    pub dele_refused: bool,
    /// Server-internal identity (UIDLs may repeat).
    key: u64,
}

impl FakeMessage {
    pub(crate) fn new(uidl: &str, bytes: Vec<u8>) -> FakeMessage {
        static KEYS: AtomicU64 = AtomicU64::new(1);
        FakeMessage {
            uidl: uidl.to_string(),
            bytes,
            retr: Retr::Normal,
            top_refused: false,
            dele_refused: false,
            key: KEYS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// Server-wide behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    /// The login name and password it accepts.
    pub user: String,
    pub password: String,
    /// Lists UIDL in CAPA and answers it.
    pub uidl: bool,
    /// Lists PIPELINING in CAPA.
    pub pipelining: bool,
    /// Sent in the same write as the greeting, before anything is asked.
    pub after_greeting: Option<Vec<u8>>,
    /// Answers QUIT with `-ERR` and deletes nothing.
    pub quit_refused: bool,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            user: "alice".to_string(),
            password: "secret".to_string(),
            uidl: true,
            pipelining: true,
            after_greeting: None,
            quit_refused: false,
        }
    }
}

/// What the server saw, over all connections.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record {
    /// TCP connections accepted (TLS handshake or not).
    pub connections: usize,
    /// Every byte received after the TLS handshake, in order.
    pub received: Vec<u8>,
    /// Every command line received, without CRLF.
    pub commands: Vec<String>,
    /// UIDLs of messages whose DELE was answered `+OK`.
    pub marked: Vec<String>,
    /// UIDLs of messages a successful QUIT removed from the mailbox.
    pub deleted: Vec<String>,
    /// QUITs answered (`true`: `+OK`, deletions committed).
    pub quits: Vec<bool>,
}

impl Record {
    /// How many commands start with `prefix`.
    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.commands
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
}

#[derive(Debug, Default)]
struct State {
    messages: Vec<FakeMessage>,
    behaviour: Behaviour,
    record: Record,
}

/// A running fake POP3 server; stops accepting when dropped.
pub(crate) struct FakePop3 {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakePop3 {
    /// Starts a server with these messages and the default behaviour.
    pub(crate) fn start(messages: Vec<FakeMessage>) -> FakePop3 {
        FakePop3::start_with(messages, Behaviour::default())
    }

    /// Starts a server presenting the `localhost`/`127.0.0.1` test
    /// certificate.
    pub(crate) fn start_with(messages: Vec<FakeMessage>, behaviour: Behaviour) -> FakePop3 {
        FakePop3::start_with_identity(messages, behaviour, &TestPki::get().leaf)
    }

    /// Starts a server presenting `identity` (for certificate tests).
    pub(crate) fn start_with_identity(
        messages: Vec<FakeMessage>,
        behaviour: Behaviour,
        identity: &(Vec<u8>, Vec<u8>),
    ) -> FakePop3 {
        let state = Arc::new(Mutex::new(State {
            messages,
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
                    let stop = Arc::clone(&stop);
                    let acceptor = Arc::clone(&acceptor);
                    std::thread::spawn(move || {
                        let _ = tcp.set_write_timeout(Some(Duration::from_secs(20)));
                        if let Ok(stream) = acceptor.accept(tcp) {
                            Connection {
                                stream,
                                pending: Vec::new(),
                                state,
                                stop,
                            }
                            .serve();
                        }
                    });
                }
            })
        };
        FakePop3 {
            port,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// The account setting that reaches this server.
    pub(crate) fn server(&self) -> Pop3Server {
        Pop3Server {
            host: "127.0.0.1".to_string(),
            port: self.port,
            security: Pop3Security::ImplicitTls,
        }
    }

    /// A copy of what the server saw so far.
    pub(crate) fn record(&self) -> Record {
        lock(&self.state).record.clone()
    }

    /// The UIDLs in the mailbox now, in order.
    pub(crate) fn uidls(&self) -> Vec<String> {
        lock(&self.state)
            .messages
            .iter()
            .map(|m| m.uidl.clone())
            .collect()
    }

    /// Changes the mailbox (for the next session).
    pub(crate) fn messages(&self, change: impl FnOnce(&mut Vec<FakeMessage>)) {
        change(&mut lock(&self.state).messages);
    }

    /// Changes the behaviour (for the next session).
    pub(crate) fn behaviour(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut lock(&self.state).behaviour);
    }

    /// Sets how RETR of the message with this UIDL behaves.
    pub(crate) fn set_retr(&self, uidl: &str, retr: Retr) {
        self.messages(|messages| {
            for message in messages.iter_mut().filter(|m| m.uidl == uidl) {
                message.retr = retr.clone();
            }
        });
    }
}

impl Drop for FakePop3 {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The message as a server sends it after `+OK`: dot-stuffed, terminated.
pub(crate) fn on_the_wire(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut line_start = true;
    for &byte in message {
        if line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        line_start = byte == b'\n';
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The header section and the blank line after it (`TOP n 0`).
fn header_section(message: &[u8]) -> &[u8] {
    let crlf = memchr::memmem::find(message, b"\r\n\r\n").map(|at| at + 4);
    let lf = memchr::memmem::find(message, b"\n\n").map(|at| at + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => message.len(),
    };
    &message[..end]
}

struct Connection {
    stream: TlsStream<TcpStream>,
    pending: Vec<u8>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

/// What a session knows: the mailbox at login and what it marked.
struct Session {
    messages: Vec<FakeMessage>,
    marked: Vec<bool>,
}

enum Flow {
    Continue,
    End,
}

impl Connection {
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .write_all(bytes)
            .and_then(|()| self.stream.flush())
            .is_ok()
    }

    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(at) = memchr::memchr(b'\n', &self.pending) {
                let line: Vec<u8> = self.pending.drain(..=at).collect();
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let text = String::from_utf8_lossy(line).into_owned();
                lock(&self.state).record.commands.push(text.clone());
                return Some(text);
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(count) => {
                    lock(&self.state)
                        .record
                        .received
                        .extend_from_slice(&buf[..count]);
                    self.pending.extend_from_slice(&buf[..count]);
                }
            }
        }
    }

    fn serve(mut self) {
        let behaviour = lock(&self.state).behaviour.clone();
        let mut greeting = b"+OK Fake POP3 ready <1.2@fake>\r\n".to_vec();
        if let Some(extra) = &behaviour.after_greeting {
            greeting.extend_from_slice(extra);
        }
        if !self.send(&greeting) {
            return;
        }
        let mut session: Option<Session> = None;
        let mut user: Option<String> = None;
        while let Some(line) = self.line() {
            let flow = match session.as_mut() {
                None => self.authorization(&line, &behaviour, &mut user, &mut session),
                Some(session) => self.transaction(&line, &behaviour, session),
            };
            if let Flow::End = flow {
                return;
            }
        }
    }

    fn capa(&mut self, behaviour: &Behaviour, logged_in: bool) -> Flow {
        let mut capa = String::from("+OK\r\nTOP\r\nRESP-CODES\r\nUSER\r\n");
        if behaviour.uidl {
            capa.push_str("UIDL\r\n");
        }
        if behaviour.pipelining {
            capa.push_str("PIPELINING\r\n");
        }
        if !logged_in {
            capa.push_str("SASL PLAIN\r\n");
        }
        capa.push_str(".\r\n");
        self.reply(&capa)
    }

    /// RFC 1939 AUTHORIZATION state.
    fn authorization(
        &mut self,
        line: &str,
        behaviour: &Behaviour,
        user: &mut Option<String>,
        session: &mut Option<Session>,
    ) -> Flow {
        let mut words = line.split(' ');
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "CAPA" => self.capa(behaviour, false),
            "AUTH" if line.to_ascii_uppercase().starts_with("AUTH PLAIN ") => {
                let blob = base64::engine::general_purpose::STANDARD
                    .decode(line["AUTH PLAIN ".len()..].trim())
                    .unwrap_or_default();
                let expected = format!("\0{}\0{}", behaviour.user, behaviour.password).into_bytes();
                self.login(blob == expected, session)
            }
            "USER" => {
                *user = words.next().map(str::to_string);
                self.reply("+OK\r\n")
            }
            "PASS" => {
                let password = line.get("PASS ".len()..).unwrap_or("");
                let ok = user.as_deref() == Some(behaviour.user.as_str())
                    && password == behaviour.password;
                self.login(ok, session)
            }
            "QUIT" => {
                self.send(b"+OK bye\r\n");
                Flow::End
            }
            _ => self.reply("-ERR [AUTH] log in first\r\n"),
        }
    }

    /// RFC 1939 TRANSACTION state (and UPDATE at QUIT).
    fn transaction(&mut self, line: &str, behaviour: &Behaviour, s: &mut Session) -> Flow {
        let mut words = line.split(' ');
        let verb = words.next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "CAPA" => self.capa(behaviour, true),
            "STAT" => {
                let (count, octets) = s
                    .live()
                    .fold((0, 0), |(c, o), (_, m)| (c + 1, o + m.bytes.len()));
                self.reply(format!("+OK {count} {octets}\r\n"))
            }
            "LIST" => {
                let mut reply = String::from("+OK\r\n");
                for (number, message) in s.live() {
                    reply.push_str(&format!("{number} {}\r\n", message.bytes.len()));
                }
                reply.push_str(".\r\n");
                self.reply(reply)
            }
            "UIDL" if !behaviour.uidl => self.reply("-ERR command not supported\r\n"),
            "UIDL" => {
                let mut reply = String::from("+OK\r\n");
                for (number, message) in s.live() {
                    reply.push_str(&format!("{number} {}\r\n", message.uidl));
                }
                reply.push_str(".\r\n");
                self.reply(reply)
            }
            "RETR" => match s.get(words.next()) {
                Some(message) => {
                    let message = message.clone();
                    self.retr(&message)
                }
                None => self.reply("-ERR no such message\r\n"),
            },
            "TOP" => match s.get(words.next()) {
                Some(message) if message.top_refused => {
                    self.reply("-ERR [SYS/TEMP] cannot read the message now\r\n")
                }
                Some(message) => {
                    let mut reply = b"+OK\r\n".to_vec();
                    reply.extend_from_slice(&on_the_wire(header_section(&message.bytes)));
                    self.reply(reply)
                }
                None => self.reply("-ERR no such message\r\n"),
            },
            "DELE" => {
                let number = words.next().and_then(|n| n.parse::<usize>().ok());
                match number.filter(|n| (1..=s.messages.len()).contains(n)) {
                    Some(n) if s.marked[n - 1] => self.reply("-ERR message already deleted\r\n"),
                    Some(n) if s.messages[n - 1].dele_refused => {
                        self.reply("-ERR permission denied\r\n")
                    }
                    Some(n) => {
                        s.marked[n - 1] = true;
                        let uidl = s.messages[n - 1].uidl.clone();
                        lock(&self.state).record.marked.push(uidl);
                        self.reply("+OK marked\r\n")
                    }
                    None => self.reply("-ERR no such message\r\n"),
                }
            }
            "NOOP" => self.reply("+OK\r\n"),
            "RSET" => {
                s.marked.iter_mut().for_each(|m| *m = false);
                self.reply("+OK\r\n")
            }
            "QUIT" => {
                self.quit(s);
                Flow::End
            }
            _ => self.reply("-ERR unknown command\r\n"),
        }
    }

    /// QUIT: removes the marked messages from the mailbox, unless told to
    /// refuse.
    fn quit(&mut self, s: &Session) {
        let mut state = lock(&self.state);
        if state.behaviour.quit_refused {
            state.record.quits.push(false);
            drop(state);
            self.send(b"-ERR [SYS/TEMP] could not delete the marked messages\r\n");
            return;
        }
        let gone: Vec<u64> = s
            .messages
            .iter()
            .zip(&s.marked)
            .filter(|(_, marked)| **marked)
            .map(|(m, _)| m.key)
            .collect();
        let mut deleted = Vec::new();
        state.messages.retain(|m| {
            let keep = !gone.contains(&m.key);
            if !keep {
                deleted.push(m.uidl.clone());
            }
            keep
        });
        state.record.deleted.extend(deleted);
        state.record.quits.push(true);
        drop(state);
        self.send(b"+OK bye\r\n");
    }

    fn reply(&mut self, bytes: impl AsRef<[u8]>) -> Flow {
        if self.send(bytes.as_ref()) {
            Flow::Continue
        } else {
            Flow::End
        }
    }

    fn login(&mut self, ok: bool, session: &mut Option<Session>) -> Flow {
        if !ok {
            self.send(b"-ERR [AUTH] Authentication failed.\r\n");
            return Flow::End;
        }
        let messages = lock(&self.state).messages.clone();
        *session = Some(Session {
            marked: vec![false; messages.len()],
            messages,
        });
        self.reply("+OK Logged in.\r\n")
    }

    fn retr(&mut self, message: &FakeMessage) -> Flow {
        let wire = on_the_wire(&message.bytes);
        match &message.retr {
            Retr::Normal => {
                let mut reply = format!("+OK {} octets\r\n", message.bytes.len()).into_bytes();
                reply.extend_from_slice(&wire);
                self.reply(reply)
            }
            Retr::Refuse => self.reply("-ERR [SYS/TEMP] message locked, try later\r\n"),
            Retr::DropAfter(n) => {
                let mut reply = b"+OK\r\n".to_vec();
                reply.extend_from_slice(&wire[..(*n).min(wire.len())]);
                self.send(&reply);
                let _ = self.stream.get_ref().shutdown(Shutdown::Both);
                Flow::End
            }
            Retr::Endless => {
                if !self.send(b"+OK\r\n") {
                    return Flow::End;
                }
                let chunk = b"this reply never ends\r\n".repeat(2048);
                while !self.stop.load(Ordering::SeqCst) && self.send(&chunk) {}
                Flow::End
            }
            Retr::LongLine(length) => {
                if !self.send(b"+OK\r\n") {
                    return Flow::End;
                }
                let chunk = vec![b'a'; 64 * 1024];
                let mut sent = 0;
                while sent < *length && self.send(&chunk[..chunk.len().min(length - sent)]) {
                    sent += chunk.len();
                }
                Flow::End
            }
            Retr::Trickle(interval) => {
                if !self.send(b"+OK\r\n") {
                    return Flow::End;
                }
                for byte in &wire {
                    if self.stop.load(Ordering::SeqCst) || !self.send(&[*byte]) {
                        return Flow::End;
                    }
                    std::thread::sleep(*interval);
                }
                Flow::Continue
            }
            Retr::StallAfter(n) => {
                let mut reply = b"+OK\r\n".to_vec();
                reply.extend_from_slice(&wire[..(*n).min(wire.len())]);
                if self.send(&reply) {
                    self.stall();
                }
                Flow::End
            }
        }
    }

    /// Reads (and records) until the client hangs up, the server is
    /// dropped or 20 s pass, answering nothing.
    fn stall(&mut self) {
        let started = Instant::now();
        let _ = self
            .stream
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(50)));
        let mut buf = [0u8; 4096];
        while !self.stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(20) {
            match self.stream.read(&mut buf) {
                Ok(0) => return,
                Ok(count) => lock(&self.state)
                    .record
                    .received
                    .extend_from_slice(&buf[..count]),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    }
}

impl Session {
    /// Messages not marked for deletion, with their numbers.
    fn live(&self) -> impl Iterator<Item = (usize, &FakeMessage)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(index, _)| !self.marked[*index])
            .map(|(index, message)| (index + 1, message))
    }

    fn get(&self, number: Option<&str>) -> Option<&FakeMessage> {
        let n = number?.parse::<usize>().ok()?;
        (1..=self.messages.len())
            .contains(&n)
            .then(|| &self.messages[n - 1])
            .filter(|_| !self.marked[n - 1])
    }
}
