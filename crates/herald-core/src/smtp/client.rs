//! The SMTP session: connect (implicit TLS or STARTTLS), EHLO, AUTH, send,
//! QUIT, over a [`Connection`] that enforces limits, deadlines and cancel.

use std::fmt::{self, Write as _};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::account::{SmtpSecurity, SmtpServer};
use crate::credentials::Password;
use crate::net::tls::{CertificateDetails, TlsConfig};
use crate::net::{CancelToken, Connection, Deadline, Limits, LineError, LineReader, NetError};

use super::capabilities::Capabilities;
use super::data::{self, DataWriter};
use super::error::{Refusal, SmtpError, Stage};
use super::reply::{MAX_REPLY_LINE_BYTES, Reply, ReplyAssembler, ServerReply, shown};

/// Time for connecting, TLS, greeting and EHLO (twice with STARTTLS).
/// Generous because some servers delay their greeting on purpose (Postfix's
/// postscreen waits several seconds to catch clients that talk too early).
const SETUP_TIME: Duration = Duration::from_secs(120);

/// Time for one short exchange: AUTH, RSET, NOOP, QUIT.
const COMMAND_TIME: Duration = Duration::from_secs(60);

/// A send may take this long plus [`size / SEND_MIN_BYTES_PER_SECOND`]:
/// 60 s for a small message, ~9 minutes for 10 MB on a slow uplink.
const SEND_BASE_TIME: Duration = Duration::from_secs(60);

/// The slowest upload we wait for (20 KB/s).
const SEND_MIN_BYTES_PER_SECOND: u64 = 20 * 1000;

/// With PIPELINING, MAIL and RCPT commands go out in groups of at most this
/// many bytes before their replies are read, so a server that stops reading
/// cannot make both sides wait on full buffers (RFC 2920 §3.1 asks clients
/// not to exceed the TCP window).
const PIPELINE_BATCH_BYTES: usize = 8 * 1024;

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, angle brackets
/// included.
const MAX_ADDRESS_BYTES: usize = 254;

/// A session with an SMTP submission server: connected, encrypted, greeted.
///
/// One client can send several messages, one after the other
/// ([`SmtpClient::send`]). After a failure that leaves the session in an
/// unknown state (network, timeout, protocol violation, the server closing
/// with 421), further calls return [`SmtpError::Unusable`]: connect again.
pub struct SmtpClient {
    wire: Wire,
    host: String,
    greeting: ServerReply,
    capabilities: Capabilities,
    client_name: String,
    authenticated: bool,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No mail transaction is open.
    Ready,
    /// A transaction may be open (MAIL was sent, the message was not
    /// completed): RSET before the next one.
    NeedsReset,
    /// The session cannot be trusted any more.
    Broken,
}

impl fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the buffers: they may hold message bytes or, briefly, AUTH data.
        f.debug_struct("SmtpClient")
            .field("host", &self.host)
            .field("client_name", &self.client_name)
            .field("authenticated", &self.authenticated)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What a successful [`SmtpClient::send`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SendReport {
    /// How many recipients the server accepted (all of them).
    pub recipients: usize,
    /// The message size declared with `SIZE=` (line endings normalised; no
    /// doubled dots, no terminator), in bytes.
    pub size_bytes: u64,
    /// The DATA content as written (with doubled dots and terminator).
    pub wire_bytes: u64,
    /// Write calls the message content took (each one TLS write).
    pub data_writes: u64,
    /// True if MAIL and RCPT went out together (PIPELINING).
    pub pipelined: bool,
    /// The server's acceptance, often with a queue id.
    pub reply: ServerReply,
}

impl Drop for SmtpClient {
    fn drop(&mut self) {
        self.say_goodbye();
    }
}

impl SmtpClient {
    /// Connects to `server`, secures the connection as configured, reads the
    /// greeting and says EHLO.
    ///
    /// With [`SmtpSecurity::StartTls`] the plain-text phase is greeting,
    /// EHLO and STARTTLS only; a server that does not offer STARTTLS is
    /// refused before anything else is said, bytes that arrive between the
    /// `220` and the handshake are refused (RFC 3207 §5 plaintext injection),
    /// and everything learnt before TLS is forgotten (§4.2).
    ///
    /// The minimum-throughput rule of `limits` is turned off for SMTP: its
    /// reads are only short replies, and the time before them is the
    /// server's thinking (spam checks, greeting delays), not a slow link.
    /// The per-read timeout and the deadlines below bound every wait.
    pub fn connect(
        server: &SmtpServer,
        tls: &TlsConfig,
        limits: &Limits,
        cancel: &CancelToken,
    ) -> Result<SmtpClient, SmtpError> {
        let limits = Limits {
            min_bytes_per_second: 0,
            ..*limits
        };
        let host = server.host.as_str();
        let port = server.port;
        let (mut wire, greeting, client_name) = match server.security {
            SmtpSecurity::ImplicitTls => {
                let connection = Connection::connect_tls(host, port, tls, &limits, cancel)?;
                let mut wire = Wire::new(connection);
                wire.set_deadline(Deadline::after(SETUP_TIME));
                let greeting = read_greeting(&mut wire)?;
                let client_name = wire.client_name()?;
                (wire, greeting, client_name)
            }
            SmtpSecurity::StartTls => {
                let (wire, greeting, client_name) = starttls_prelude(host, port, &limits, cancel)?;
                let connection = wire.into_connection()?;
                // Used only if the certificate is refused: the same plain
                // exchange on a fresh socket, whose handshake reads the
                // certificate for the error. If the user pinned exactly that
                // certificate, the session goes on over this socket, which
                // is why it must be at the same point of the exchange.
                let mut reconnect = || {
                    starttls_prelude(host, port, &limits, cancel)
                        .and_then(|(wire, _, _)| wire.into_connection())
                        .map_err(|error| match error {
                            SmtpError::Net(error) => error,
                            _ => NetError::Closed,
                        })
                        .and_then(|connection| connection.into_plain_tcp().ok_or(NetError::Closed))
                };
                let connection = connection.upgrade_to_tls(host, tls, &mut reconnect)?;
                (Wire::new(connection), greeting, client_name)
            }
        };
        let capabilities = ehlo(&mut wire, &client_name)?;
        wire.set_deadline(Deadline::none());
        Ok(SmtpClient {
            wire,
            host: host.to_string(),
            greeting,
            capabilities,
            client_name,
            authenticated: false,
            state: State::Ready,
        })
    }

    /// Signs in with AUTH PLAIN, or LOGIN if the server offers only that
    /// (RFC 4954). One attempt, no retry: a refused password (535) is
    /// [`SmtpError::AuthRejected`]; a 4xx is transient.
    pub fn login(&mut self, user: &str, password: &Password) -> Result<(), SmtpError> {
        self.usable()?;
        self.wire.set_deadline(Deadline::after(COMMAND_TIME));
        let result = self.login_inner(user, password);
        self.wire.wipe_output();
        self.wire.set_deadline(Deadline::none());
        self.settle(result)
    }

    fn login_inner(&mut self, user: &str, password: &Password) -> Result<(), SmtpError> {
        if !self.wire.reader.get_ref().is_tls() {
            // `connect` never returns a plain session; never send a password
            // in clear text even if that changes.
            return Err(SmtpError::Unusable);
        }
        if user.contains('\0') || password.expose().contains('\0') {
            return Err(SmtpError::UnsendableCredentials);
        }
        if self.capabilities.offers_auth("PLAIN") {
            // RFC 4616: authorization id (empty), NUL, user, NUL, password;
            // sent as the initial response (RFC 4954 §4), one write.
            let mut raw = Vec::with_capacity(user.len() + password.expose().len() + 2);
            raw.push(0);
            raw.extend_from_slice(user.as_bytes());
            raw.push(0);
            raw.extend_from_slice(password.expose().as_bytes());
            let encoded = BASE64.encode(&raw);
            wipe(raw);
            self.wire.queue(&[b"AUTH PLAIN ", encoded.as_bytes()]);
            wipe(encoded.into_bytes());
            self.wire.flush()?;
            let reply = self.wire.read_reply()?;
            self.auth_outcome(&reply)
        } else if self.capabilities.offers_auth("LOGIN") {
            let reply = self.wire.command(&[b"AUTH LOGIN"])?;
            if reply.code != 334 {
                return self.auth_outcome(&reply);
            }
            let encoded = BASE64.encode(user.as_bytes());
            self.wire.queue(&[encoded.as_bytes()]);
            self.wire.flush()?;
            let reply = self.wire.read_reply()?;
            if reply.code != 334 {
                return self.auth_outcome(&reply);
            }
            let encoded = BASE64.encode(password.expose().as_bytes());
            self.wire.queue(&[encoded.as_bytes()]);
            wipe(encoded.into_bytes());
            self.wire.flush()?;
            let reply = self.wire.read_reply()?;
            self.auth_outcome(&reply)
        } else {
            Err(SmtpError::NoAuthMechanism {
                offered: self.capabilities.auth_mechanisms.clone(),
            })
        }
    }

    fn auth_outcome(&mut self, reply: &Reply) -> Result<(), SmtpError> {
        match reply.code {
            235 => {
                self.authenticated = true;
                Ok(())
            }
            // 535: credentials invalid. 534: the provider wants another
            // kind of password (an app password, a web sign-in first).
            534 | 535 => Err(SmtpError::AuthRejected {
                reply: reply.shown(),
            }),
            _ => Err(refused(Stage::Auth, reply, "AUTH")),
        }
    }

    /// Sends one message to `recipients`.
    ///
    /// Nothing is sent when the message cannot go to every recipient:
    /// an address with CR/LF or `<>`, a non-ASCII address without SMTPUTF8,
    /// 8-bit content without 8BITMIME, or a message over the server's SIZE
    /// limit is refused before the first command; if the server refuses any
    /// recipient, the transaction is reset (RSET) and the error names every
    /// refused address. The message is dot-stuffed with every line ending
    /// made CRLF and streamed in 64 KiB writes.
    ///
    /// The whole send must finish within 60 s plus 1 s per 20 KB, on top
    /// of the per-read and per-write timeouts.
    pub fn send(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        message: &[u8],
    ) -> Result<SendReport, SmtpError> {
        self.usable()?;
        let result = self.send_inner(envelope_from, recipients, message);
        self.wire.set_deadline(Deadline::none());
        self.settle(result)
    }

    fn send_inner(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        message: &[u8],
    ) -> Result<SendReport, SmtpError> {
        check_address("sender", envelope_from)?;
        if recipients.is_empty() {
            return Err(SmtpError::NoRecipients);
        }
        for recipient in recipients {
            check_address("recipient", recipient)?;
        }
        let non_ascii = std::iter::once(envelope_from)
            .chain(recipients.iter().map(String::as_str))
            .find(|address| !address.is_ascii());
        if let Some(address) = non_ascii
            && !self.capabilities.smtputf8
        {
            return Err(SmtpError::Utf8AddressNotSupported {
                address: shown(address),
            });
        }
        let scan = data::scan(message);
        if scan.has_8bit && !self.capabilities.eight_bit_mime {
            return Err(SmtpError::EightBitNotSupported);
        }
        if let Some(limit) = self.capabilities.max_message_size_bytes
            && scan.size_bytes > limit
        {
            return Err(SmtpError::MessageTooBig {
                size_bytes: scan.size_bytes,
                limit_bytes: Some(limit),
                reply: None,
            });
        }

        self.wire
            .set_deadline(Deadline::after(send_time(scan.size_bytes)));
        if self.state == State::NeedsReset {
            self.reset_transaction()?;
        }

        // RFC 5321 §4.1.1.2 MAIL, with RFC 1870 SIZE, RFC 6152 BODY and
        // RFC 6531 SMTPUTF8 parameters.
        let mut mail = format!("MAIL FROM:<{envelope_from}>");
        if self.capabilities.size {
            let _ = write!(mail, " SIZE={}", scan.size_bytes);
        }
        if scan.has_8bit {
            mail.push_str(" BODY=8BITMIME");
        }
        if non_ascii.is_some() {
            mail.push_str(" SMTPUTF8");
        }
        let mut commands = Vec::with_capacity(recipients.len() + 1);
        commands.push(mail);
        commands.extend(
            recipients
                .iter()
                .map(|recipient| format!("RCPT TO:<{recipient}>")),
        );
        self.state = State::NeedsReset;
        let replies = self.envelope(&commands)?;

        let Some(mail_reply) = replies.first() else {
            return Err(protocol("no reply to MAIL FROM"));
        };
        if !mail_reply.is_positive() {
            if is_too_big(mail_reply) {
                return Err(SmtpError::MessageTooBig {
                    size_bytes: scan.size_bytes,
                    limit_bytes: self.capabilities.max_message_size_bytes,
                    reply: Some(mail_reply.shown()),
                });
            }
            return Err(match mail_reply.code {
                400..=599 => SmtpError::SenderRefused {
                    address: shown(envelope_from),
                    reply: mail_reply.shown(),
                },
                code => protocol(&format!("unexpected reply {code} to MAIL FROM")),
            });
        }
        let mut refusals = Vec::new();
        for (recipient, reply) in recipients.iter().zip(&replies[1..]) {
            match reply.code {
                200..=299 => {}
                400..=599 => {
                    let reply = reply.shown();
                    refusals.push(Refusal {
                        address: shown(recipient),
                        code: reply.code,
                        enhanced: reply.enhanced,
                        text: reply.text,
                    });
                }
                code => return Err(protocol(&format!("unexpected reply {code} to RCPT TO"))),
            }
        }
        if !refusals.is_empty() {
            let error = SmtpError::RecipientsRefused {
                refusals,
                recipients: recipients.len(),
            };
            // A mature client sends to everyone or to no one: end the
            // transaction so the accepted recipients get nothing either.
            if !error.breaks_session() {
                let _ = self.reset_transaction();
            }
            return Err(error);
        }

        // RFC 5321 §4.1.1.4 DATA. Not pipelined: had a recipient been
        // refused, a pipelined DATA could already have been accepted.
        let reply = self.wire.command(&[b"DATA"])?;
        if reply.code != 354 {
            return Err(refused(Stage::Data, &reply, "DATA"));
        }
        let (wire_bytes, data_writes) = {
            let mut writer = DataWriter::new(self.wire.reader.get_mut());
            writer
                .write_message(message)
                .and_then(|()| writer.finish())
                .map_err(NetError::from)?
        };
        // From here the server has the whole message: if its answer does not
        // come, it may have been accepted (RFC 5321 §6.1).
        let reply = self.wire.read_reply().map_err(|error| match error {
            SmtpError::Net(source) => SmtpError::Unconfirmed { source },
            other => other,
        })?;
        self.state = State::Ready;
        if !reply.is_positive() {
            if is_too_big(&reply) {
                return Err(SmtpError::MessageTooBig {
                    size_bytes: scan.size_bytes,
                    limit_bytes: self.capabilities.max_message_size_bytes,
                    reply: Some(reply.shown()),
                });
            }
            return Err(refused(Stage::Message, &reply, "the message"));
        }
        Ok(SendReport {
            recipients: recipients.len(),
            size_bytes: scan.size_bytes,
            wire_bytes,
            data_writes,
            pipelined: self.capabilities.pipelining,
            reply: reply.shown(),
        })
    }

    /// Sends MAIL and the RCPTs (grouped when the server offers PIPELINING,
    /// RFC 2920) and returns their replies in order. Stops after a refused
    /// MAIL; a 421 ends the session at once.
    fn envelope(&mut self, commands: &[String]) -> Result<Vec<Reply>, SmtpError> {
        let pipelining = self.capabilities.pipelining;
        let mut replies = Vec::with_capacity(commands.len());
        let mut next = 0;
        while next < commands.len() {
            let first = next;
            loop {
                self.wire.queue(&[commands[next].as_bytes()]);
                next += 1;
                let full = commands.get(next).is_none_or(|command| {
                    self.wire.out.len() + command.len() + 2 > PIPELINE_BATCH_BYTES
                });
                if !pipelining || full {
                    break;
                }
            }
            self.wire.flush()?;
            for _ in first..next {
                let reply = self.wire.read_reply()?;
                if reply.code == 421 {
                    return Err(refused(Stage::Session, &reply, "MAIL or RCPT"));
                }
                replies.push(reply);
            }
            if replies.first().is_some_and(|mail| !mail.is_positive()) {
                break;
            }
        }
        Ok(replies)
    }

    /// RSET (RFC 5321 §4.1.1.5): ends an open transaction.
    fn reset_transaction(&mut self) -> Result<(), SmtpError> {
        let result = self.wire.command(&[b"RSET"]).and_then(|reply| {
            if reply.code == 250 {
                Ok(())
            } else {
                Err(refused(Stage::Session, &reply, "RSET"))
            }
        });
        // A transaction we could not reset must not carry into the next send.
        self.state = if result.is_ok() {
            State::Ready
        } else {
            State::Broken
        };
        result
    }

    /// NOOP: checks that the session is still alive (for reusing an idle
    /// connection).
    pub fn noop(&mut self) -> Result<(), SmtpError> {
        self.usable()?;
        self.wire.set_deadline(Deadline::after(COMMAND_TIME));
        let result = self.wire.command(&[b"NOOP"]).and_then(|reply| {
            if reply.code == 250 {
                Ok(())
            } else {
                Err(refused(Stage::Session, &reply, "NOOP"))
            }
        });
        self.wire.set_deadline(Deadline::none());
        self.settle(result)
    }

    /// Ends the session politely (QUIT, RFC 5321 §4.1.1.10) and closes the
    /// connection. Best effort: once a message was accepted, nothing the
    /// server says to QUIT changes anything, so there is no error to act
    /// on. A session broken by an earlier error is just closed.
    pub fn quit(mut self) {
        self.say_goodbye();
    }

    /// QUIT, once, unless the session is broken. RFC 5321 §4.1.1.10 wants
    /// it before every close, also after a refusal; dropping a client does
    /// it too, so no error path can forget it.
    fn say_goodbye(&mut self) {
        if self.state == State::Broken {
            return;
        }
        self.state = State::Broken;
        self.wire.set_deadline(Deadline::after(COMMAND_TIME));
        let _ = self.wire.command(&[b"QUIT"]);
    }

    /// What the server advertised in its EHLO reply (after TLS).
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The server's greeting. With STARTTLS it was received before TLS, so
    /// it is informative only.
    pub fn greeting(&self) -> &ServerReply {
        &self.greeting
    }

    /// The server's certificate.
    pub fn tls_certificate(&self) -> Option<CertificateDetails> {
        self.wire.reader.get_ref().peer_certificate()
    }

    /// The name we gave in EHLO: an address literal of our end of the
    /// connection (`[192.0.2.1]`, `[IPv6:2001:db8::1]`), never the machine's
    /// host name.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    /// True after a successful [`SmtpClient::login`].
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// False once an error left the session in an unknown state (see
    /// [`SmtpError::Unusable`]): connect again. Errors that leave it usable
    /// (a refused recipient, a message too big, an invalid address) do not
    /// need a new connection for the next message.
    pub fn is_usable(&self) -> bool {
        self.state != State::Broken
    }

    fn usable(&self) -> Result<(), SmtpError> {
        if self.state == State::Broken {
            Err(SmtpError::Unusable)
        } else {
            Ok(())
        }
    }

    /// Marks the session broken after an error that leaves it in an
    /// unknown state.
    fn settle<T>(&mut self, result: Result<T, SmtpError>) -> Result<T, SmtpError> {
        if let Err(error) = &result
            && error.breaks_session()
        {
            self.state = State::Broken;
            self.wire.reader.get_ref().shutdown();
        }
        result
    }
}

/// The bytes on the wire. Commands are collected in `out` and written with
/// one call each (one TLS record, one TCP segment), or several at once when
/// pipelining.
struct Wire {
    reader: LineReader<Connection>,
    out: Vec<u8>,
}

impl Wire {
    fn new(connection: Connection) -> Wire {
        Wire {
            reader: LineReader::new(connection),
            out: Vec::with_capacity(1024),
        }
    }

    fn set_deadline(&mut self, deadline: Deadline) {
        self.reader.get_mut().set_deadline(deadline);
    }

    /// Adds a command line (CRLF appended) to what [`Wire::flush`] writes.
    fn queue(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.out.extend_from_slice(part);
        }
        self.out.extend_from_slice(b"\r\n");
    }

    fn flush(&mut self) -> Result<(), SmtpError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = self.reader.get_mut().write_all(&self.out);
        self.out.clear();
        result.map_err(|error| SmtpError::Net(NetError::from(error)))
    }

    fn command(&mut self, parts: &[&[u8]]) -> Result<Reply, SmtpError> {
        self.queue(parts);
        self.flush()?;
        self.read_reply()
    }

    /// Reads one complete reply (RFC 5321 §4.2): lines of at most
    /// [`MAX_REPLY_LINE_BYTES`], all with the same code.
    fn read_reply(&mut self) -> Result<Reply, SmtpError> {
        let mut assembler = ReplyAssembler::default();
        loop {
            let line =
                self.reader
                    .read_line(MAX_REPLY_LINE_BYTES)
                    .map_err(|error| match error {
                        LineError::TooLong { max } => {
                            protocol(&format!("a reply line is longer than {max} bytes"))
                        }
                        other => SmtpError::Net(NetError::from(other)),
                    })?;
            if let Some(reply) = assembler
                .push(line)
                .map_err(|detail| SmtpError::Protocol { detail })?
            {
                return Ok(reply);
            }
        }
    }

    /// The EHLO name: an address literal of the local end (RFC 5321
    /// §4.1.3), so the machine's host name is never revealed.
    fn client_name(&self) -> Result<String, SmtpError> {
        let local = self
            .reader
            .get_ref()
            .local_addr()
            .map_err(|error| SmtpError::Net(NetError::Io(error)))?;
        Ok(address_literal(local))
    }

    /// The connection, for the TLS handshake after STARTTLS. Refused if
    /// anything arrived after the `220`: it came in plain text, possibly
    /// from an attacker, and would otherwise be read as if from the server.
    fn into_connection(self) -> Result<Connection, SmtpError> {
        if self.reader.buffered() != 0 {
            return Err(SmtpError::DataBeforeTls);
        }
        Ok(self.reader.into_inner())
    }

    /// Overwrites the command buffer, which held AUTH data.
    fn wipe_output(&mut self) {
        let capacity = self.out.capacity();
        self.out.clear();
        self.out.resize(capacity, 0);
        std::hint::black_box(&self.out);
        self.out.clear();
    }
}

/// Greeting, EHLO and STARTTLS over a plain connection, up to the server's
/// `220` (RFC 3207 §4). Returns the session before the TLS handshake.
fn starttls_prelude(
    host: &str,
    port: u16,
    limits: &Limits,
    cancel: &CancelToken,
) -> Result<(Wire, ServerReply, String), SmtpError> {
    let connection = Connection::connect_plain(host, port, limits, cancel)?;
    let mut wire = Wire::new(connection);
    wire.set_deadline(Deadline::after(SETUP_TIME));
    let greeting = read_greeting(&mut wire)?;
    let client_name = wire.client_name()?;
    let capabilities = ehlo(&mut wire, &client_name)?;
    if !capabilities.starttls {
        return Err(SmtpError::StartTlsNotOffered {
            host: host.to_string(),
        });
    }
    let reply = wire.command(&[b"STARTTLS"])?;
    if reply.code != 220 {
        return Err(refused(Stage::StartTls, &reply, "STARTTLS"));
    }
    Ok((wire, greeting, client_name))
}

/// RFC 5321 §4.3.1: 220 is a welcome; 554 (or 421) means no service.
fn read_greeting(wire: &mut Wire) -> Result<ServerReply, SmtpError> {
    let reply = wire.read_reply()?;
    if reply.code == 220 {
        Ok(reply.shown())
    } else {
        Err(refused(Stage::Greeting, &reply, "the connection"))
    }
}

/// EHLO (RFC 5321 §4.1.1.1) and the capabilities it reveals.
fn ehlo(wire: &mut Wire, client_name: &str) -> Result<Capabilities, SmtpError> {
    let reply = wire.command(&[b"EHLO ", client_name.as_bytes()])?;
    if reply.code == 250 {
        Ok(Capabilities::from_ehlo(&reply))
    } else {
        Err(refused(Stage::Ehlo, &reply, "EHLO"))
    }
}

/// RFC 5321 §4.1.3 address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
pub(crate) fn address_literal(address: SocketAddr) -> String {
    match address.ip() {
        IpAddr::V4(ip) => format!("[{ip}]"),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(ip) => format!("[{ip}]"),
            None => format!("[IPv6:{ip}]"),
        },
    }
}

/// The error for a reply that is not the one expected: 4xx/5xx are the
/// server refusing at `stage`; anything else breaks the protocol.
fn refused(stage: Stage, reply: &Reply, what: &str) -> SmtpError {
    match reply.code {
        400..=599 => SmtpError::Rejected {
            stage,
            reply: reply.shown(),
        },
        code => protocol(&format!("unexpected reply {code} to {what}")),
    }
}

fn protocol(detail: &str) -> SmtpError {
    SmtpError::Protocol {
        detail: detail.to_string(),
    }
}

/// 552 (RFC 1870 §6: over the size limit) or an enhanced x.3.4 ("message
/// too big for system", RFC 3463).
fn is_too_big(reply: &Reply) -> bool {
    let shown = reply.shown();
    reply.code == 552
        || shown
            .enhanced
            .is_some_and(|status| status.subject == 3 && status.detail == 4)
}

/// Refuses an address that cannot go into `MAIL FROM:<…>` / `RCPT TO:<…>`
/// as it is: a CR or LF would end the command and start another one.
fn check_address(role: &'static str, address: &str) -> Result<(), SmtpError> {
    let reason = if address.is_empty() {
        Some("it is empty")
    } else if address.chars().any(char::is_control) {
        Some("it contains a line break or another control character")
    } else if address.contains(['<', '>']) {
        Some("it contains < or >")
    } else if address.len() > MAX_ADDRESS_BYTES {
        Some("it is longer than 254 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SmtpError::InvalidAddress {
            role,
            address: shown(address),
            reason,
        }),
        None => Ok(()),
    }
}

/// The overall time a send of `size_bytes` may take.
fn send_time(size_bytes: u64) -> Duration {
    SEND_BASE_TIME
        + Duration::from_millis(size_bytes.saturating_mul(1000) / SEND_MIN_BYTES_PER_SECOND)
}

/// Overwrites a buffer that held a secret before freeing it (the same
/// measure as `credentials::Password`).
fn wipe(mut bytes: Vec<u8>) {
    let capacity = bytes.capacity();
    bytes.clear();
    bytes.resize(capacity, 0);
    std::hint::black_box(&bytes);
}
