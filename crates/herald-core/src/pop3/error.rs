//! POP3 errors, worded for the person who has to act on them.

use crate::error::{Classify, ErrorKind};
use crate::net::tls::CertificateProblem;
use crate::net::{LineError, NetError};

use super::codec::{MAX_DISPLAY_CHARS, ResponseCode, display_text};

/// A failure of a POP3 session.
///
/// Server text in these errors has been neutralised
/// ([`crate::text::neutralize_line`]) and shortened; it never contains the
/// password.
#[derive(Debug, thiserror::Error)]
pub enum Pop3Error {
    /// The server answered the connection with `-ERR` (often: too many
    /// connections). Nothing was sent to it.
    #[error("the server refused the connection: \"{server_text}\"")]
    GreetingRefused {
        /// What the server said.
        server_text: String,
        /// False only when the server said the problem is permanent.
        transient: bool,
    },
    /// STLS was asked for but the server does not list it in CAPA, so the
    /// connection cannot be encrypted (or someone removed it on the way).
    #[error(
        "the server does not offer STLS, so the connection cannot be encrypted; \
         use implicit TLS (usually port 995) if the server supports it"
    )]
    StlsNotOffered,
    /// The server answered `STLS` with `-ERR`.
    #[error("the server refused to start encryption (STLS): \"{server_text}\"")]
    StlsRefused {
        /// What the server said.
        server_text: String,
    },
    /// More bytes followed the server's `+OK` to STLS before encryption
    /// began: they were sent in plain text and may have been injected by an
    /// attacker (the "STARTTLS command injection" attack).
    #[error(
        "the server sent unexpected data right before encryption started; \
         the connection was closed because this can be an attack"
    )]
    StlsInjection,
    /// A refusal to send credentials over an unencrypted connection (cannot
    /// happen through [`super::Pop3Client::connect`]; a second safeguard).
    #[error("refusing to send the password over an unencrypted connection")]
    NotEncrypted,
    /// The server refused the user name or password (`-ERR [AUTH]`, or a
    /// plain `-ERR` to PASS or AUTH). Not retried: a retry loop would lock
    /// accounts.
    #[error("the server refused the user name or password: \"{server_text}\"")]
    LoginRefused {
        /// What the server said.
        server_text: String,
    },
    /// `[IN-USE]` (RFC 2449 §8.1.1): another client holds the mailbox.
    #[error(
        "the mailbox is in use by another program; try again in a minute \
         (the server said \"{server_text}\")"
    )]
    MailboxInUse {
        /// What the server said.
        server_text: String,
    },
    /// `[LOGIN-DELAY]` (RFC 2449 §8.1.2): logged in too recently.
    #[error(
        "the server allows logging in only every few minutes; try again later \
         (the server said \"{server_text}\")"
    )]
    LoginTooSoon {
        /// What the server said.
        server_text: String,
    },
    /// `[SYS/TEMP]` at login (RFC 3206 §4): a temporary server problem.
    #[error(
        "the server has a temporary problem; try again later (the server said \"{server_text}\")"
    )]
    ServerBusy {
        /// What the server said.
        server_text: String,
    },
    /// `[SYS/PERM]` at login (RFC 3206 §4): the server cannot open the
    /// mailbox and says retrying will not help.
    #[error(
        "the server cannot open the mailbox (a problem on the server that retrying will not fix): \"{server_text}\""
    )]
    ServerFailure {
        /// What the server said.
        server_text: String,
    },
    /// A command about one message was refused; see [`MessageRefused`].
    #[error(transparent)]
    MessageRefused(#[from] MessageRefused),
    /// A command not about one message (STAT, LIST, UIDL, NOOP, RSET) was
    /// refused.
    #[error("the server refused {command}: \"{server_text}\"")]
    CommandRefused {
        /// The command.
        command: &'static str,
        /// What the server said.
        server_text: String,
        /// True when the server gave a temporary response code.
        transient: bool,
    },
    /// The server answered QUIT with `-ERR`: the messages marked for
    /// deletion may not have been deleted (RFC 1939 §6).
    #[error("the server could not delete the messages marked for deletion: \"{server_text}\"")]
    QuitFailed {
        /// What the server said.
        server_text: String,
    },
    /// The server broke the protocol; `detail` says how.
    #[error("the server broke the POP3 protocol: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
    /// A line longer than allowed (512 octets for a status line, 1 KiB in a
    /// listing, [`super::MAX_DATA_LINE`] in a message).
    #[error("{during}: the server sent a line longer than {max} bytes")]
    LineTooLong {
        /// What was being read ("a reply", "LIST", "message 3 (RETR)").
        during: String,
        /// The limit.
        max: usize,
    },
    /// A multi-line reply went on far past its expected size (a message's
    /// listed size) or past a fixed cap: a reply that never ends.
    #[error(
        "{during}: the server sent more than {limit} bytes, far more than expected; stopped reading"
    )]
    ReplyTooLong {
        /// What was being read.
        during: String,
        /// The limit that was passed.
        limit: u64,
    },
    /// [`super::Pop3Session::top`]: the headers are larger than the buffer
    /// it fills.
    #[error("message {msg_num}: the header part is larger than {limit} bytes")]
    TopTooLarge {
        /// The message.
        msg_num: u32,
        /// The limit.
        limit: usize,
    },
    /// An argument cannot be sent (a line break or NUL, or an empty value).
    #[error("{what} {problem}, so it cannot be sent to the POP3 server")]
    InvalidArgument {
        /// The argument ("the user name", "the password", "a message number").
        what: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Writing a retrieved message to its destination failed; the session
    /// is still usable (the rest of the message was read and discarded).
    #[error("cannot write message {msg_num}")]
    Write {
        /// The message.
        msg_num: u32,
        /// The writer's error.
        #[source]
        source: std::io::Error,
    },
    /// An earlier error left the session out of step with the server (for
    /// example a dropped connection, or a handler that stopped in the middle
    /// of a message); nothing more is sent, and nothing marked for deletion
    /// is deleted.
    #[error("the connection to the server was stopped by an earlier error; connect again")]
    SessionBroken,
    /// The connection failed: dropped, timed out, too slow, deadline
    /// passed, certificate refused, cancelled.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// The server refused a command about one message (`-ERR` to RETR, TOP or
/// DELE). The session goes on: other messages are not affected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message {msg_num}: the server refused {command}: \"{server_text}\"")]
pub struct MessageRefused {
    /// The message number in this session.
    pub msg_num: u32,
    /// RETR, TOP or DELE.
    pub command: &'static str,
    /// What the server said.
    pub server_text: String,
    /// True when the server gave a temporary response code
    /// (`[SYS/TEMP]`, `[IN-USE]`).
    pub transient: bool,
}

impl MessageRefused {
    pub(crate) fn new(msg_num: u32, command: &'static str, text: &[u8]) -> MessageRefused {
        MessageRefused {
            msg_num,
            command,
            server_text: display_text(text, MAX_DISPLAY_CHARS),
            transient: ResponseCode::is_transient(ResponseCode::parse(text)),
        }
    }
}

impl Pop3Error {
    /// The error for a `-ERR` to USER, PASS or AUTH (RFC 3206): the
    /// response code tells a wrong password from a busy or broken server.
    pub(crate) fn login_refused(text: &[u8]) -> Pop3Error {
        let server_text = display_text(text, MAX_DISPLAY_CHARS);
        match ResponseCode::parse(text) {
            Some(ResponseCode::InUse) => Pop3Error::MailboxInUse { server_text },
            Some(ResponseCode::LoginDelay) => Pop3Error::LoginTooSoon { server_text },
            Some(ResponseCode::SysTemp) => Pop3Error::ServerBusy { server_text },
            Some(ResponseCode::SysPerm) => Pop3Error::ServerFailure { server_text },
            Some(ResponseCode::Auth) | None => Pop3Error::LoginRefused { server_text },
        }
    }

    /// The error for a `-ERR` to a command not about one message.
    pub(crate) fn command_refused(command: &'static str, text: &[u8]) -> Pop3Error {
        Pop3Error::CommandRefused {
            command,
            server_text: display_text(text, MAX_DISPLAY_CHARS),
            transient: ResponseCode::is_transient(ResponseCode::parse(text)),
        }
    }

    /// Converts a failure to read a line while reading `during`.
    pub(crate) fn from_line(error: LineError, during: impl Into<String>) -> Pop3Error {
        match error {
            LineError::TooLong { max } => Pop3Error::LineTooLong {
                during: during.into(),
                max,
            },
            LineError::Closed => Pop3Error::Net(NetError::Closed),
            LineError::Io(error) => Pop3Error::Net(NetError::from(error)),
        }
    }
}

impl Classify for MessageRefused {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ServerRejected {
            transient: self.transient,
        }
    }
}

impl Classify for Pop3Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Pop3Error::GreetingRefused { transient, .. }
            | Pop3Error::CommandRefused { transient, .. } => ErrorKind::ServerRejected {
                transient: *transient,
            },
            Pop3Error::StlsNotOffered | Pop3Error::StlsRefused { .. } | Pop3Error::NotEncrypted => {
                ErrorKind::Tls
            }
            Pop3Error::LoginRefused { .. } => ErrorKind::AuthRejected,
            Pop3Error::MailboxInUse { .. }
            | Pop3Error::LoginTooSoon { .. }
            | Pop3Error::ServerBusy { .. }
            | Pop3Error::QuitFailed { .. } => ErrorKind::ServerRejected { transient: true },
            Pop3Error::ServerFailure { .. } => ErrorKind::ServerRejected { transient: false },
            Pop3Error::MessageRefused(refused) => refused.kind(),
            Pop3Error::StlsInjection
            | Pop3Error::Protocol { .. }
            | Pop3Error::LineTooLong { .. }
            | Pop3Error::ReplyTooLong { .. }
            | Pop3Error::TopTooLarge { .. } => ErrorKind::Protocol,
            Pop3Error::InvalidArgument { .. } => ErrorKind::Input,
            Pop3Error::Write { .. } => ErrorKind::Storage,
            Pop3Error::SessionBroken => ErrorKind::Network,
            Pop3Error::Net(error) => error.kind(),
        }
    }

    fn certificate(&self) -> Option<&CertificateProblem> {
        match self {
            Pop3Error::Net(error) => error.certificate(),
            _ => None,
        }
    }
}
