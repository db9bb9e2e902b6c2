//! The POP3 client over a [`Connection`]: connecting (implicit TLS or STLS),
//! logging in, and the commands of the transaction state, pipelined when the
//! server allows it.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;

use base64::Engine as _;

use crate::account::{Pop3Security, Pop3Server};
use crate::credentials::Password;
use crate::net::tls::{CertificateDetails, TlsConfig};
use crate::net::{self, CancelToken, Connection, Deadline, Limits, LineReader, NetError};

use super::codec::{
    Capabilities, DataLineTooLong, ListingLine, MAX_DATA_LINE, MAX_DISPLAY_CHARS, MAX_LISTING_LINE,
    MAX_STATUS_LINE, MessageCommand, ResponseCode, Status, Unstuffer, check_argument, display_text,
    listing_line, parse_drop_listing, parse_scan_line, parse_status, parse_uidl_line,
    strip_line_ending,
};
use super::error::{MessageRefused, Pop3Error};

/// At most this many commands are sent ahead of their replies when the
/// server offers PIPELINING (RFC 2449 §6.6). Enough that the server never
/// runs out of work while we are busy: with 32, Dovecot sat idle between
/// refills and a 5,000-message download took 1.57x the pipelined floor;
/// with 512, 1.26x (`bench/pop3_sync.py`).
pub const PIPELINE_MAX_COMMANDS: usize = 512;

/// At most this many bytes of commands are sent ahead of their replies
/// (512 RETRs of up to 12 bytes). Less than the kernel always holds for us
/// without blocking even when the server has stopped reading (our socket's
/// send buffer, at least ~4.6 KB on Linux and 16 KB by default, plus the
/// server's receive buffer, at least 4 KB): a write never blocks, so we
/// never deadlock with a server that waits for us to read while we wait
/// for it to read.
pub const PIPELINE_MAX_BYTES: usize = 6144;

/// [`Pop3Session::top`] collects at most this many bytes of a message.
pub const TOP_MAX_BYTES: usize = 256 * 1024;

/// A RETR or TOP reply may exceed the message's LIST size by a factor of
/// two plus this much before it counts as a reply that never ends. LIST
/// sizes are only as exact as the server makes them (some count LF line
/// endings, which become CRLF on the wire, and none count the stuffing
/// dots), so the rule is loose enough for any honest server and still
/// stops an endless reply after a bounded amount of data.
const REPLY_SLACK_BYTES: u64 = 64 * 1024;

/// The limit for a message that the server did not list (it should have
/// answered `-ERR`): small, since we have nothing to expect.
const UNLISTED_REPLY_LIMIT: u64 = 64 * 1024;

/// CAPA replies have a dozen lines; more than this is not a capability list.
const MAX_CAPA_LINES: usize = 256;

/// LIST and UIDL replies have one line per message. A million messages is
/// beyond any real POP3 mailbox; an endless listing stops here.
const MAX_LISTING_ENTRIES: usize = 1_000_000;

/// RFC 5034 §4: AUTH with an initial response must fit in 255 octets.
const MAX_AUTH_LINE: usize = 255;

/// The buffer [`Pop3Session::retrieve`] copies through.
pub(crate) const COPY_BUFFER_BYTES: usize = 64 * 1024;

/// A UIDL reply: each message's number and unique-id, as raw bytes, in the
/// server's order.
pub type UidlListing = Vec<(u32, Vec<u8>)>;

/// The protocol state shared by [`Pop3Client`] and [`Pop3Session`].
struct Wire {
    reader: LineReader<Connection>,
    greeting: String,
    capabilities: Capabilities,
    /// False while an exchange is under way, and for good once one failed
    /// half-way: then we no longer know which reply belongs to which
    /// command, and nothing more may be sent.
    in_step: bool,
    /// When the last status line arrived: how long the server has been idle.
    last_reply: std::time::Instant,
}

impl Wire {
    fn new(connection: Connection) -> Wire {
        Wire {
            last_reply: std::time::Instant::now(),
            reader: LineReader::new(connection),
            greeting: String::new(),
            capabilities: Capabilities::default(),
            in_step: false,
        }
    }

    /// Starts an exchange. Any error before [`Wire::end`] leaves the wire
    /// out of step (a `-ERR` reply does not: callers end before returning it).
    fn begin(&mut self) -> Result<(), Pop3Error> {
        if !self.in_step {
            return Err(Pop3Error::SessionBroken);
        }
        self.in_step = false;
        Ok(())
    }

    /// Ends an exchange: every reply was read and nothing else arrived.
    fn end(&mut self) -> Result<(), Pop3Error> {
        self.check_nothing_unsolicited("it sent data nobody asked for")?;
        self.in_step = true;
        Ok(())
    }

    /// POP3 has no unsolicited replies and no tags to match replies with
    /// commands, so bytes that arrive while no command is outstanding would
    /// be taken for the reply to the next command. Refuse them.
    fn check_nothing_unsolicited(&mut self, what: &str) -> Result<(), Pop3Error> {
        if self.reader.buffered() == 0 {
            return Ok(());
        }
        // Buffered bytes are handed out without reading.
        let shown = self
            .reader
            .fill_buf()
            .map(|pending| {
                let line = memchr::memchr(b'\n', pending).map_or(pending, |at| &pending[..at]);
                display_text(strip_line_ending(line), MAX_DISPLAY_CHARS)
            })
            .unwrap_or_default();
        Err(Pop3Error::Protocol {
            detail: format!("{what}: \"{shown}\""),
        })
    }

    fn connection(&self) -> &Connection {
        self.reader.get_ref()
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Pop3Error> {
        let connection = self.reader.get_mut();
        connection
            .write_all(bytes)
            .and_then(|()| connection.flush())
            .map_err(|error| Pop3Error::Net(NetError::from(error)))
    }

    fn read_status(&mut self) -> Result<Status, Pop3Error> {
        let line = self
            .reader
            .read_line(MAX_STATUS_LINE)
            .map_err(|error| Pop3Error::from_line(error, "reading a reply"))?;
        let status = parse_status(line);
        self.last_reply = std::time::Instant::now();
        status
    }

    /// The `+OK` text, or the `-ERR` text as the inner error.
    fn read_reply(&mut self) -> Result<Result<Vec<u8>, Vec<u8>>, Pop3Error> {
        match self.read_status()? {
            Status::Ok(text) => Ok(Ok(text)),
            Status::Err(text) => Ok(Err(text)),
            Status::Continue(_) => Err(Pop3Error::Protocol {
                detail: "it sent an authentication prompt (\"+\") where a reply was expected"
                    .to_string(),
            }),
        }
    }

    /// Reads the lines of a short multi-line reply up to its `.` line.
    fn read_listing(
        &mut self,
        command: &'static str,
        max_lines: usize,
        mut each: impl FnMut(&[u8]) -> Result<(), Pop3Error>,
    ) -> Result<(), Pop3Error> {
        let mut count = 0usize;
        loop {
            let line = self
                .reader
                .read_line(MAX_LISTING_LINE)
                .map_err(|error| Pop3Error::from_line(error, command))?;
            match listing_line(line) {
                ListingLine::End => return Ok(()),
                ListingLine::Content(content) => {
                    count += 1;
                    if count > max_lines {
                        return Err(Pop3Error::Protocol {
                            detail: format!("its {command} reply has more than {max_lines} lines"),
                        });
                    }
                    each(content)?;
                }
            }
        }
    }

    fn read_greeting(&mut self) -> Result<(), Pop3Error> {
        match self.read_status()? {
            Status::Ok(text) => self.greeting = display_text(&text, MAX_DISPLAY_CHARS),
            Status::Err(text) => {
                let code = ResponseCode::parse(&text);
                return Err(Pop3Error::GreetingRefused {
                    server_text: display_text(&text, MAX_DISPLAY_CHARS),
                    transient: !matches!(code, Some(ResponseCode::SysPerm | ResponseCode::Auth)),
                });
            }
            Status::Continue(_) => {
                return Err(Pop3Error::Protocol {
                    detail: "it does not greet like a POP3 server".to_string(),
                });
            }
        }
        self.check_nothing_unsolicited("it sent more than its greeting before being asked anything")
    }

    /// RFC 2449 §5 CAPA; `None` if the server answers `-ERR` (an RFC 1939
    /// server without capabilities).
    fn capa(&mut self) -> Result<Option<Capabilities>, Pop3Error> {
        self.send(b"CAPA\r\n")?;
        if self.read_reply()?.is_err() {
            return Ok(None);
        }
        let mut lines = Vec::new();
        self.read_listing("CAPA", MAX_CAPA_LINES, |line| {
            // A status line inside a capability list means replies are out
            // of step (an unsolicited line shifted them).
            if line.starts_with(b"+OK") || line.starts_with(b"-ERR") {
                return Err(Pop3Error::Protocol {
                    detail: format!(
                        "its capability list contains a reply line (\"{}\"): its replies are out of step",
                        display_text(line, MAX_DISPLAY_CHARS)
                    ),
                });
            }
            lines.push(line.to_vec());
            Ok(())
        })?;
        Ok(Some(Capabilities::parse(&lines)))
    }

    /// RFC 5034 AUTH PLAIN: `\0user\0password` in base64, as an initial
    /// response when the command fits in 255 octets, else after the `+`
    /// prompt.
    fn auth_plain(&mut self, user: &str, password: &Password) -> Result<(), Pop3Error> {
        let secret = password.expose().as_bytes();
        let mut blob = Vec::with_capacity(user.len() + secret.len() + 2);
        blob.push(0);
        blob.extend_from_slice(user.as_bytes());
        blob.push(0);
        blob.extend_from_slice(secret);
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(&blob)
            .into_bytes();
        wipe(blob);
        let mut line = Vec::with_capacity(encoded.len() + 13);
        line.extend_from_slice(b"AUTH PLAIN ");
        line.extend_from_slice(&encoded);
        line.extend_from_slice(b"\r\n");
        let outcome = if line.len() <= MAX_AUTH_LINE {
            self.send(&line).and_then(|()| self.read_status())
        } else {
            self.send(b"AUTH PLAIN\r\n")
                .and_then(|()| self.read_status())
                .and_then(|status| match status {
                    Status::Continue(_) => {
                        let response = line[b"AUTH PLAIN ".len()..].to_vec();
                        let sent = self.send(&response);
                        wipe(response);
                        sent.and_then(|()| self.read_status())
                    }
                    other => Ok(other),
                })
        };
        wipe(line);
        wipe(encoded);
        match outcome? {
            Status::Ok(_) => Ok(()),
            Status::Err(text) => Err(Pop3Error::login_refused(&text)),
            Status::Continue(_) => Err(Pop3Error::Protocol {
                detail: "it asked for more after the AUTH PLAIN response".to_string(),
            }),
        }
    }

    /// RFC 1939 §7 USER and PASS.
    fn user_pass(&mut self, user: &str, password: &Password) -> Result<(), Pop3Error> {
        self.send(format!("USER {user}\r\n").as_bytes())?;
        if let Err(text) = self.read_reply()? {
            return Err(Pop3Error::login_refused(&text));
        }
        let secret = password.expose().as_bytes();
        let mut line = Vec::with_capacity(secret.len() + 7);
        line.extend_from_slice(b"PASS ");
        line.extend_from_slice(secret);
        line.extend_from_slice(b"\r\n");
        let sent = self.send(&line);
        wipe(line);
        sent?;
        match self.read_reply()? {
            Ok(_) => Ok(()),
            Err(text) => Err(Pop3Error::login_refused(&text)),
        }
    }

    /// One command with a one-line reply.
    fn single(&mut self, command: &'static str, line: &[u8]) -> Result<Vec<u8>, Pop3Error> {
        self.begin()?;
        self.send(line)?;
        let reply = self.read_reply()?;
        self.end()?;
        reply.map_err(|text| Pop3Error::command_refused(command, &text))
    }

    /// One command with a multi-line reply of short lines; the `-ERR` text
    /// as the inner error.
    fn multi(
        &mut self,
        command: &'static str,
        max_lines: usize,
        each: impl FnMut(&[u8]) -> Result<(), Pop3Error>,
    ) -> Result<Result<(), Vec<u8>>, Pop3Error> {
        self.begin()?;
        self.send(format!("{command}\r\n").as_bytes())?;
        let reply = self.read_reply()?;
        if reply.is_ok() {
            self.read_listing(command, max_lines, each)?;
        }
        self.end()?;
        Ok(reply.map(|_| ()))
    }

    /// Sends one command per message and reads the replies in order,
    /// keeping at most [`PIPELINE_MAX_COMMANDS`] commands and
    /// [`PIPELINE_MAX_BYTES`] bytes unanswered when the server offers
    /// PIPELINING, and one at a time otherwise. Each reply belongs to the
    /// oldest unanswered command. `on_ok` reads what follows a `+OK`; a
    /// `-ERR` is collected and the rest goes on.
    fn pipeline<E: From<Pop3Error>>(
        &mut self,
        command: MessageCommand,
        msg_nums: &[u32],
        on_ok: &mut dyn FnMut(&mut Wire, u32) -> Result<(), E>,
    ) -> Result<Vec<MessageRefused>, E> {
        check_msg_nums(msg_nums)?;
        self.begin()?;
        let window = if self.capabilities.pipelining {
            PIPELINE_MAX_COMMANDS
        } else {
            1
        };
        let mut next = 0;
        let mut unanswered: VecDeque<(u32, usize)> = VecDeque::with_capacity(window);
        let mut unanswered_bytes = 0;
        let mut batch = Vec::with_capacity(PIPELINE_MAX_BYTES);
        let mut refused = Vec::new();
        while next < msg_nums.len() || !unanswered.is_empty() {
            // Refill when half the window is free, in one write, so the
            // server always has work queued and we make few small writes.
            if next < msg_nums.len() && unanswered.len() <= window / 2 {
                batch.clear();
                while next < msg_nums.len() && unanswered.len() < window {
                    let line = command.line(msg_nums[next]);
                    if !unanswered.is_empty() && unanswered_bytes + line.len() > PIPELINE_MAX_BYTES
                    {
                        break;
                    }
                    batch.extend_from_slice(&line);
                    unanswered_bytes += line.len();
                    unanswered.push_back((msg_nums[next], line.len()));
                    next += 1;
                }
                self.send(&batch)?;
            }
            let Some(&(msg_num, length)) = unanswered.front() else {
                break;
            };
            match self.read_reply()? {
                Ok(_) => on_ok(self, msg_num)?,
                Err(text) => refused.push(MessageRefused::new(msg_num, command.name(), &text)),
            }
            unanswered.pop_front();
            unanswered_bytes -= length;
        }
        self.end()?;
        Ok(refused)
    }
}

/// Overwrites a buffer that held a secret before freeing it.
fn wipe(mut bytes: Vec<u8>) {
    let capacity = bytes.capacity();
    bytes.clear();
    bytes.resize(capacity, 0);
    std::hint::black_box(&bytes);
}

fn check_msg_nums(msg_nums: &[u32]) -> Result<(), Pop3Error> {
    if msg_nums.contains(&0) {
        Err(Pop3Error::InvalidArgument {
            what: "a message number",
            problem: "is 0 (message numbers start at 1)",
        })
    } else {
        Ok(())
    }
}

/// A second plain connection brought to the point of the TLS handshake
/// (greeting, STLS, `+OK`), only for reading a refused certificate: nothing
/// else is sent over it.
fn stls_probe(
    host: &str,
    port: u16,
    limits: &Limits,
    cancel: &CancelToken,
) -> Result<TcpStream, NetError> {
    let tcp = net::connect_tcp(host, port, limits, cancel)?;
    let mut reader = LineReader::new(tcp);
    let refused = || NetError::Io(io::Error::other("the second connection did not reach STLS"));
    if !reader.read_line(MAX_STATUS_LINE)?.starts_with(b"+OK") {
        return Err(refused());
    }
    reader.get_mut().write_all(b"STLS\r\n")?;
    if !reader.read_line(MAX_STATUS_LINE)?.starts_with(b"+OK") || reader.buffered() != 0 {
        return Err(refused());
    }
    Ok(reader.into_inner())
}

/// A connection to a POP3 server that has greeted us and listed its
/// capabilities, over TLS, before login (RFC 1939 AUTHORIZATION state).
///
/// ```no_run
/// # fn sync(
/// #     account: &herald_core::account::Account,
/// #     password: &herald_core::credentials::Password,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// use herald_core::net::{CancelToken, Limits, tls::TlsConfig};
/// use herald_core::pop3::Pop3Client;
///
/// let tls = TlsConfig::for_account(account)?;
/// let client = Pop3Client::connect(&account.pop3, &tls, &Limits::default(), &CancelToken::new())?;
/// let mut session = client.login(account.login_name(), password)?;
/// let uidls = session.uidl()?;
/// let refused = session.retrieve_many(&[1, 2, 3], |msg_num, body| {
///     let mut file = std::fs::File::create(format!("{msg_num}.eml"))?;
///     std::io::copy(body, &mut file)?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
/// session.quit()?;
/// # Ok(()) }
/// ```
pub struct Pop3Client {
    wire: Wire,
}

impl Pop3Client {
    /// Connects to the account's POP3 server, reads the greeting and the
    /// capabilities.
    ///
    /// - [`Pop3Security::ImplicitTls`] (port 995): TLS from the first byte.
    /// - [`Pop3Security::Stls`] (port 110, RFC 2595 §4): greeting and CAPA in
    ///   plain text; if CAPA does not list STLS, [`Pop3Error::StlsNotOffered`]
    ///   (nothing else was sent); then `STLS`, and if any byte follows its
    ///   `+OK` before the handshake, [`Pop3Error::StlsInjection`]. After the
    ///   handshake the plain-text capabilities are forgotten and CAPA is
    ///   asked again. The greeting shown is the plain-text one.
    ///
    /// A `-ERR` greeting is [`Pop3Error::GreetingRefused`], and nothing is
    /// sent. Bytes after the greeting, before we sent anything, are a
    /// protocol error: POP3 replies carry no tag, so a stray line cannot be
    /// told from a reply, and skipping "extra" lines would shift every later
    /// reply onto the wrong command. The certificate is verified
    /// as [`TlsConfig`] says; a refused one is reported with its details
    /// ([`NetError::Certificate`]). `limits` bounds every wait; `cancel`
    /// stops it from another thread.
    pub fn connect(
        server: &Pop3Server,
        tls: &TlsConfig,
        limits: &Limits,
        cancel: &CancelToken,
    ) -> Result<Pop3Client, Pop3Error> {
        let host = server.host.as_str();
        let port = server.port;
        let mut wire = match server.security {
            Pop3Security::ImplicitTls => {
                let connection = Connection::connect_tls(host, port, tls, limits, cancel)?;
                let mut wire = Wire::new(connection);
                wire.read_greeting()?;
                wire
            }
            Pop3Security::Stls => Pop3Client::start_tls(host, port, tls, limits, cancel)?,
        };
        wire.capabilities = wire.capa()?.unwrap_or_default();
        wire.end()?;
        Ok(Pop3Client { wire })
    }

    fn start_tls(
        host: &str,
        port: u16,
        tls: &TlsConfig,
        limits: &Limits,
        cancel: &CancelToken,
    ) -> Result<Wire, Pop3Error> {
        let connection = Connection::connect_plain(host, port, limits, cancel)?;
        let mut wire = Wire::new(connection);
        wire.read_greeting()?;
        let offered = wire.capa()?.is_some_and(|capabilities| capabilities.stls);
        wire.check_nothing_unsolicited("it sent data nobody asked for")?;
        if !offered {
            return Err(Pop3Error::StlsNotOffered);
        }
        wire.send(b"STLS\r\n")?;
        if let Err(text) = wire.read_reply()? {
            return Err(Pop3Error::StlsRefused {
                server_text: display_text(&text, MAX_DISPLAY_CHARS),
            });
        }
        // Anything after the +OK arrived in plain text and would be read as
        // if it came through TLS.
        if wire.reader.buffered() != 0 {
            return Err(Pop3Error::StlsInjection);
        }
        let greeting = std::mem::take(&mut wire.greeting);
        let plain = wire.reader.into_inner();
        let mut reconnect = || stls_probe(host, port, limits, cancel);
        let encrypted = plain.upgrade_to_tls(host, tls, &mut reconnect)?;
        let mut wire = Wire::new(encrypted);
        wire.greeting = greeting;
        Ok(wire)
    }

    /// Logs in: `AUTH PLAIN` (RFC 5034) when CAPA's SASL lists PLAIN, else
    /// USER and PASS (RFC 1939 §7), always over TLS. Then asks CAPA again,
    /// as capabilities may differ after login (RFC 2449 §5: EXPIRE and
    /// LOGIN-DELAY per user).
    ///
    /// A refusal consumes the client: there is no retry on the same
    /// connection, and callers must not loop (servers lock accounts after a
    /// few failures). A wrong password is [`Pop3Error::LoginRefused`]
    /// ([`crate::ErrorKind::AuthRejected`]); `[IN-USE]`, `[LOGIN-DELAY]` and
    /// `[SYS/TEMP]` are transient errors of their own.
    pub fn login(mut self, user: &str, password: &Password) -> Result<Pop3Session, Pop3Error> {
        if user.is_empty() {
            return Err(Pop3Error::InvalidArgument {
                what: "the user name",
                problem: "is empty",
            });
        }
        check_argument(user.as_bytes(), "the user name")?;
        check_argument(password.expose().as_bytes(), "the password")?;
        if !self.wire.connection().is_tls() {
            return Err(Pop3Error::NotEncrypted);
        }
        let wire = &mut self.wire;
        wire.begin()?;
        if wire.capabilities.has_sasl("PLAIN") {
            wire.auth_plain(user, password)?;
        } else {
            wire.user_pass(user, password)?;
        }
        if wire.capabilities.advertised
            && let Some(capabilities) = wire.capa()?
        {
            wire.capabilities = capabilities;
        }
        wire.end()?;
        Ok(Pop3Session {
            wire: self.wire,
            sizes: None,
        })
    }

    /// The server's greeting text (after `+OK`), neutralised for display.
    pub fn greeting(&self) -> &str {
        &self.wire.greeting
    }

    /// What the server said it supports (over TLS).
    pub fn capabilities(&self) -> &Capabilities {
        &self.wire.capabilities
    }

    /// The server's certificate.
    pub fn tls_certificate(&self) -> Option<CertificateDetails> {
        self.wire.connection().peer_certificate()
    }

    /// Sets an overall deadline for what follows (see [`Deadline`]).
    pub fn set_deadline(&mut self, deadline: Deadline) {
        self.wire.reader.get_mut().set_deadline(deadline);
    }
}

impl fmt::Debug for Pop3Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pop3Client")
            .field("greeting", &self.wire.greeting)
            .field("capabilities", &self.wire.capabilities)
            .finish_non_exhaustive()
    }
}

/// A logged-in POP3 session (RFC 1939 TRANSACTION state).
///
/// Message numbers (`msg_num`) are valid for this session only; key
/// anything durable by UIDL. Deletions ([`Pop3Session::delete`]) take
/// effect only when [`Pop3Session::quit`] succeeds: dropping the session
/// without `quit` just closes the connection, and the server deletes
/// nothing (RFC 1939 §6). After an error that leaves the session out of
/// step with the server (a dropped connection, a protocol violation, a
/// handler error in the middle of a message), every further call fails with
/// [`Pop3Error::SessionBroken`] and QUIT is never sent, so nothing is
/// deleted. A `-ERR` to a command does not break the session.
pub struct Pop3Session {
    wire: Wire,
    /// Message sizes from the last LIST (RFC 1939 §5), to bound replies.
    sizes: Option<HashMap<u32, u64>>,
}

impl Pop3Session {
    /// RFC 1939 §5 STAT: the number of messages and their total size in
    /// octets.
    pub fn stat(&mut self) -> Result<(u32, u64), Pop3Error> {
        let text = self.wire.single("STAT", b"STAT\r\n")?;
        parse_drop_listing(&text)
    }

    /// RFC 1939 §5 LIST: each message's number and size in octets, in the
    /// server's order. Also remembered, to bound RETR and TOP replies.
    pub fn list(&mut self) -> Result<Vec<(u32, u64)>, Pop3Error> {
        let mut listing = Vec::new();
        self.wire
            .multi("LIST", MAX_LISTING_ENTRIES, |line| {
                listing.push(parse_scan_line(line)?);
                Ok(())
            })?
            .map_err(|text| Pop3Error::command_refused("LIST", &text))?;
        self.sizes = Some(listing.iter().copied().collect());
        Ok(listing)
    }

    /// RFC 1939 §7 UIDL: each message's number and unique-id, the id as the
    /// raw bytes the server sent, in the server's order. `None` when the
    /// server does not support UIDL (CAPA lacks it, or `UIDL` gets a
    /// `-ERR` without a temporary response code).
    ///
    /// Each line must be a message number, one space and a non-empty id, or
    /// the whole reply is a protocol error (skipping a line would hide a
    /// message). The ids are not validated, deduplicated or sorted here:
    /// that is the sync engine's job, as it sees the whole list (RFC 1939:
    /// 1–70 characters from 0x21 to 0x7E, unique in the mailbox).
    pub fn uidl(&mut self) -> Result<Option<UidlListing>, Pop3Error> {
        let capabilities = &self.wire.capabilities;
        if capabilities.advertised && !capabilities.uidl {
            return Ok(None);
        }
        let mut listing = Vec::new();
        let reply = self.wire.multi("UIDL", MAX_LISTING_ENTRIES, |line| {
            listing.push(parse_uidl_line(line)?);
            Ok(())
        })?;
        match reply {
            Ok(()) => Ok(Some(listing)),
            Err(text) if ResponseCode::is_transient(ResponseCode::parse(&text)) => {
                Err(Pop3Error::command_refused("UIDL", &text))
            }
            Err(_) => Ok(None),
        }
    }

    /// RFC 1939 §7 RETR of one message, streamed into `out` exactly as the
    /// server sent it (dot-stuffing removed, nothing else changed). Returns
    /// the number of bytes written; `out` is not flushed.
    ///
    /// A failing `out` gives [`Pop3Error::Write`] and leaves the session
    /// usable (the rest of the message is read and discarded). Memory use
    /// does not depend on the message size.
    pub fn retrieve(&mut self, msg_num: u32, out: &mut dyn Write) -> Result<u64, Pop3Error> {
        let mut written = 0u64;
        let mut write_error = None;
        let mut buffer = vec![0u8; COPY_BUFFER_BYTES];
        let refused = self.messages(MessageCommand::Retr, &[msg_num], &mut |_, body| {
            loop {
                let count = match body.read(&mut buffer) {
                    Ok(0) => return Ok(()),
                    Ok(count) => count,
                    // The body reader keeps the real error and it is returned
                    // in place of this one.
                    Err(_) => return Ok(()),
                };
                if let Err(error) = out.write_all(&buffer[..count]) {
                    write_error = Some(error);
                    return Ok::<(), Pop3Error>(());
                }
                written += count as u64;
            }
        })?;
        if let Some(refused) = refused.into_iter().next() {
            return Err(refused.into());
        }
        match write_error {
            Some(source) => Err(Pop3Error::Write { msg_num, source }),
            None => Ok(written),
        }
    }

    /// RFC 1939 §7 RETR of several messages, pipelined when the server
    /// offers PIPELINING. `handler` is called once per message the server
    /// sends, in order, with a reader of that message's bytes exactly as
    /// sent (one stuffing dot removed per line, nothing else changed) that
    /// ends at the terminating `.` line: copy it to a file and memory does
    /// not grow with the message.
    ///
    /// Returns the messages the server refused (`-ERR`), in order; the
    /// others are still delivered. The first call lists the mailbox (LIST)
    /// unless [`Pop3Session::list`] was called, so that each reply can be
    /// bounded by its message's size: a reply longer than twice the listed
    /// size plus 64 KiB, or with a line over [`super::MAX_DATA_LINE`], is an
    /// error.
    ///
    /// When reading from the server fails (connection dropped, timeout,
    /// endless reply), the reader returns an error, never a clean end, and
    /// `retrieve_many` returns that [`Pop3Error`] even if the handler
    /// swallowed it: an incomplete message is never reported as delivered.
    ///
    /// If the handler returns `Ok` without reading to the end, the rest of
    /// that message is read and discarded and the next message follows: to
    /// skip one message and keep the session (its file could not be
    /// created, say), record the failure yourself and return `Ok`. If the
    /// handler returns `Err`, that error is returned at once and the session
    /// is broken ([`Pop3Error::SessionBroken`] from then on; nothing is
    /// deleted), because up to [`PIPELINE_MAX_COMMANDS`] replies, possibly
    /// large, are still on their way.
    pub fn retrieve_many<E: From<Pop3Error>>(
        &mut self,
        msg_nums: &[u32],
        mut handler: impl FnMut(u32, &mut dyn Read) -> Result<(), E>,
    ) -> Result<Vec<MessageRefused>, E> {
        self.messages(MessageCommand::Retr, msg_nums, &mut handler)
    }

    /// RFC 1939 §7 TOP: the headers, the blank line and the first `lines`
    /// lines of the body, collected up to [`TOP_MAX_BYTES`] (more is
    /// [`Pop3Error::TopTooLarge`], and the session stays usable).
    pub fn top(&mut self, msg_num: u32, lines: u32) -> Result<Vec<u8>, Pop3Error> {
        let mut head = Vec::new();
        let refused = self.messages(MessageCommand::Top(lines), &[msg_num], &mut |_, body| {
            // On a read error the body reader keeps the real error, which is
            // returned in place of this Ok.
            let _ = body.take(TOP_MAX_BYTES as u64 + 1).read_to_end(&mut head);
            Ok::<(), Pop3Error>(())
        })?;
        if let Some(refused) = refused.into_iter().next() {
            return Err(refused.into());
        }
        if head.len() > TOP_MAX_BYTES {
            return Err(Pop3Error::TopTooLarge {
                msg_num,
                limit: TOP_MAX_BYTES,
            });
        }
        Ok(head)
    }

    /// RFC 1939 §7 TOP for several messages, pipelined like
    /// [`Pop3Session::retrieve_many`] and with the same handler rules.
    pub fn top_many<E: From<Pop3Error>>(
        &mut self,
        msg_nums: &[u32],
        lines: u32,
        mut handler: impl FnMut(u32, &mut dyn Read) -> Result<(), E>,
    ) -> Result<Vec<MessageRefused>, E> {
        self.messages(MessageCommand::Top(lines), msg_nums, &mut handler)
    }

    /// RFC 1939 §6 DELE: marks one message for deletion when the session
    /// ends with a successful [`Pop3Session::quit`].
    pub fn delete(&mut self, msg_num: u32) -> Result<(), Pop3Error> {
        match self.delete_many(&[msg_num])?.into_iter().next() {
            Some(refused) => Err(refused.into()),
            None => Ok(()),
        }
    }

    /// DELE for several messages, pipelined when the server allows it.
    /// Returns the messages the server refused to mark: those will not be
    /// deleted at QUIT, so they must not be recorded as deleted.
    pub fn delete_many(&mut self, msg_nums: &[u32]) -> Result<Vec<MessageRefused>, Pop3Error> {
        self.wire
            .pipeline(MessageCommand::Dele, msg_nums, &mut |_, _| Ok(()))
    }

    /// RFC 1939 §6 RSET: unmarks every message marked for deletion.
    pub fn reset(&mut self) -> Result<(), Pop3Error> {
        self.wire.single("RSET", b"RSET\r\n")?;
        // Messages deleted before a LIST reappear: list again when needed.
        self.sizes = None;
        Ok(())
    }

    /// RFC 1939 §6 NOOP: keeps the connection alive during long local work
    /// (servers drop idle sessions after 10 minutes or less).
    pub fn noop(&mut self) -> Result<(), Pop3Error> {
        self.wire.single("NOOP", b"NOOP\r\n").map(|_| ())
    }

    /// Sends NOOP if the server has not answered anything for `idle`, so a
    /// server's inactivity timer (RFC 1939 §3: at least 10 minutes; some
    /// are shorter) does not end the session during long local work.
    /// Returns whether a NOOP was sent.
    pub fn keep_alive(&mut self, idle: std::time::Duration) -> Result<bool, Pop3Error> {
        if self.wire.last_reply.elapsed() < idle {
            return Ok(false);
        }
        self.noop().map(|()| true)
    }

    /// RFC 1939 §6 QUIT: ends the session, which is when the server deletes
    /// the messages marked with DELE. A `-ERR` reply is
    /// [`Pop3Error::QuitFailed`]: some may not have been deleted. A broken
    /// session is not quit (and so nothing is deleted).
    pub fn quit(mut self) -> Result<(), Pop3Error> {
        self.wire.begin()?;
        self.wire.send(b"QUIT\r\n")?;
        match self.wire.read_reply()? {
            Ok(_) => Ok(()),
            Err(text) => Err(Pop3Error::QuitFailed {
                server_text: display_text(&text, MAX_DISPLAY_CHARS),
            }),
        }
    }

    /// The server's greeting text, neutralised for display.
    pub fn greeting(&self) -> &str {
        &self.wire.greeting
    }

    /// What the server said it supports, as listed after login.
    pub fn capabilities(&self) -> &Capabilities {
        &self.wire.capabilities
    }

    /// The server's certificate.
    pub fn tls_certificate(&self) -> Option<CertificateDetails> {
        self.wire.connection().peer_certificate()
    }

    /// Sets an overall deadline for what follows (see [`Deadline`]).
    pub fn set_deadline(&mut self, deadline: Deadline) {
        self.wire.reader.get_mut().set_deadline(deadline);
    }

    fn messages<E: From<Pop3Error>>(
        &mut self,
        command: MessageCommand,
        msg_nums: &[u32],
        handler: &mut dyn FnMut(u32, &mut dyn Read) -> Result<(), E>,
    ) -> Result<Vec<MessageRefused>, E> {
        check_msg_nums(msg_nums)?;
        if msg_nums.is_empty() {
            return Ok(Vec::new());
        }
        if self.sizes.is_none() {
            self.list()?;
        }
        let Pop3Session { wire, sizes } = self;
        let sizes = sizes.as_ref();
        wire.pipeline(command, msg_nums, &mut |wire, msg_num| {
            let limit = sizes
                .and_then(|sizes| sizes.get(&msg_num))
                .map_or(UNLISTED_REPLY_LIMIT, |&size| {
                    size.saturating_mul(2).saturating_add(REPLY_SLACK_BYTES)
                });
            let mut body = BodyReader {
                reader: &mut wire.reader,
                unstuffer: Unstuffer::new(),
                received: 0,
                limit,
                msg_num,
                command,
                failure: None,
                failed: false,
            };
            let outcome = handler(msg_num, &mut body);
            if let Some(failure) = body.failure.take() {
                return Err(E::from(failure));
            }
            outcome?;
            body.drain()?;
            Ok(())
        })
    }

    #[cfg(test)]
    pub(super) fn connection(&self) -> &Connection {
        self.wire.connection()
    }

    #[cfg(test)]
    pub(super) fn read_buffer_capacity(&self) -> usize {
        self.wire.reader.capacity()
    }
}

impl fmt::Debug for Pop3Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pop3Session")
            .field("greeting", &self.wire.greeting)
            .field("capabilities", &self.wire.capabilities)
            .field("in_step", &self.wire.in_step)
            .finish_non_exhaustive()
    }
}

/// A message body as it streams in: unstuffed, ending at the terminator,
/// failing (never ending cleanly) when the reply is cut or too long. Holds
/// no buffer of its own: it reads the connection's fixed-size buffer.
struct BodyReader<'a> {
    reader: &'a mut LineReader<Connection>,
    unstuffer: Unstuffer,
    received: u64,
    limit: u64,
    msg_num: u32,
    command: MessageCommand,
    /// The error that stopped reading, kept so the caller gets it rather
    /// than whatever the handler made of the `io::Error`.
    failure: Option<Pop3Error>,
    failed: bool,
}

impl BodyReader<'_> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Pop3Error> {
        let during =
            |msg_num: u32, command: MessageCommand| format!("message {msg_num} ({command})");
        let (msg_num, command) = (self.msg_num, self.command);
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .map_err(|error| Pop3Error::from_line(error, during(msg_num, command)))?;
            let (consumed, produced) =
                self.unstuffer.step(chunk, buf).map_err(|DataLineTooLong| {
                    Pop3Error::LineTooLong {
                        during: during(msg_num, command),
                        max: MAX_DATA_LINE,
                    }
                })?;
            self.reader.consume(consumed);
            self.received += consumed as u64;
            if self.received > self.limit {
                return Err(Pop3Error::ReplyTooLong {
                    during: during(msg_num, command),
                    limit: self.limit,
                });
            }
            if produced > 0 || self.unstuffer.is_done() {
                return Ok(produced);
            }
        }
    }

    /// Reads and discards the rest of the message.
    fn drain(&mut self) -> Result<(), Pop3Error> {
        let mut scratch = [0u8; 8192];
        while !self.unstuffer.is_done() {
            self.fill(&mut scratch)?;
        }
        Ok(())
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other(
                "reading this message from the server failed earlier",
            ));
        }
        if buf.is_empty() || self.unstuffer.is_done() {
            return Ok(0);
        }
        self.fill(buf).map_err(|error| {
            let io_error = io::Error::other(error.to_string());
            self.failure = Some(error);
            self.failed = true;
            io_error
        })
    }
}
