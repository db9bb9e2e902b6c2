//! SMTP errors, worded for the person who has to act on them.

use std::fmt;

use crate::error::{Classify, ErrorKind};
use crate::net::NetError;
use crate::net::tls::CertificateProblem;

use super::reply::{EnhancedStatus, ServerReply};

/// What the client was doing when the server said no; names the refusal in
/// [`SmtpError::Rejected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The server's greeting (RFC 5321 §4.3.1; 554 = no service here).
    Greeting,
    /// EHLO.
    Ehlo,
    /// STARTTLS (RFC 3207).
    StartTls,
    /// AUTH (RFC 4954), other than a refused password.
    Auth,
    /// DATA, before the message is sent.
    Data,
    /// The reply to the message itself, after `CRLF.CRLF`.
    Message,
    /// RSET, NOOP or QUIT.
    Session,
}

impl Stage {
    fn refused(self) -> &'static str {
        match self {
            Stage::Greeting => "the server refused the connection",
            Stage::Ehlo => "the server refused the EHLO greeting",
            Stage::StartTls => "the server refused to start TLS",
            Stage::Auth => "the server refused to sign in",
            Stage::Data => "the server refused to receive the message",
            Stage::Message => "the server refused the message",
            Stage::Session => "the server refused a command",
        }
    }
}

/// One recipient the server refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The address as given (made safe to show).
    pub address: String,
    /// The reply code (4xx: try later, 5xx: permanent).
    pub code: u16,
    /// The enhanced status code, when the server sent one (5.1.1 = no such
    /// mailbox).
    pub enhanced: Option<EnhancedStatus>,
    /// The server's explanation, neutralised and shortened.
    pub text: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}", self.address, self.code)?;
        if let Some(enhanced) = self.enhanced {
            write!(f, " {enhanced}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        f.write_str(")")
    }
}

/// A failure to send mail, or to set up the session.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// Reaching the server or talking to it failed: cannot reach, refused
    /// certificate, TLS, timeout, closed connection, cancelled.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The server sent something SMTP does not allow.
    #[error("the server broke the SMTP protocol: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
    /// STARTTLS was configured but the server does not offer it.
    #[error(
        "{host} does not offer STARTTLS, so the connection cannot be secured and nothing was sent; use implicit TLS (usually port 465) if the server supports it"
    )]
    StartTlsNotOffered {
        /// The server.
        host: String,
    },
    /// Bytes arrived after the server's `220` to STARTTLS and before the TLS
    /// handshake: they were sent in plain text and may have been injected.
    #[error(
        "the server sent unexpected data before the secure connection began (possibly injected by an attacker), so the connection was closed"
    )]
    DataBeforeTls,
    /// The server offers no sign-in mechanism we can use.
    #[error("{}", no_auth_text(.offered))]
    NoAuthMechanism {
        /// The mechanisms it did offer (possibly none).
        offered: Vec<String>,
    },
    /// The server refused the user name or password (535, or 534 for a
    /// provider that wants an app password).
    #[error("the server refused the user name or password (server said \"{reply}\")")]
    AuthRejected {
        /// The server's reply.
        reply: ServerReply,
    },
    /// The user name or password contains a character SMTP cannot carry.
    #[error("the user name or password contains a NUL character, which cannot be sent")]
    UnsendableCredentials,
    /// The server refused the envelope sender.
    #[error("the server refused the sender address {address} (server said \"{reply}\")")]
    SenderRefused {
        /// The sender address.
        address: String,
        /// The server's reply.
        reply: ServerReply,
    },
    /// The server refused some recipients; nothing was sent to anyone.
    #[error("{}", recipients_refused_text(.refusals, *.recipients))]
    RecipientsRefused {
        /// Every refused recipient, in the order given.
        refusals: Vec<Refusal>,
        /// How many recipients the message had.
        recipients: usize,
    },
    /// The message is larger than the server accepts: known before sending
    /// from the SIZE extension, or said by the server (552).
    #[error("{}", too_big_text(*.size_bytes, *.limit_bytes, .reply.as_ref()))]
    MessageTooBig {
        /// The message's size as sent, in bytes.
        size_bytes: u64,
        /// The server's advertised limit, in bytes, when known.
        limit_bytes: Option<u64>,
        /// The server's reply, when it refused (none when we refused first).
        reply: Option<ServerReply>,
    },
    /// The server refused a command: 4xx (busy, try later) or 5xx.
    #[error("{}", rejected_text(*.stage, .reply))]
    Rejected {
        /// What was refused.
        stage: Stage,
        /// The server's reply.
        reply: ServerReply,
    },
    /// The message has 8-bit bytes and the server did not offer 8BITMIME.
    #[error(
        "the message contains 8-bit data, which this server does not accept (it does not offer 8BITMIME)"
    )]
    EightBitNotSupported,
    /// An address is not ASCII and the server did not offer SMTPUTF8.
    #[error(
        "the address {address} contains non-ASCII characters, which this server does not accept (it does not offer SMTPUTF8)"
    )]
    Utf8AddressNotSupported {
        /// The address.
        address: String,
    },
    /// An address cannot be put in an SMTP command.
    #[error("the {role} address \"{address}\" cannot be used: {reason}")]
    InvalidAddress {
        /// `sender` or `recipient`.
        role: &'static str,
        /// The address, made safe to show.
        address: String,
        /// Why.
        reason: &'static str,
    },
    /// `send` was called without recipients.
    #[error("the message has no recipients")]
    NoRecipients,
    /// The whole message was sent but the server's answer never came: it
    /// may or may not have been accepted.
    #[error(
        "the server did not confirm the message after receiving it, so it may have been sent anyway; check before sending it again"
    )]
    Unconfirmed {
        /// Why the answer did not come.
        #[source]
        source: NetError,
    },
    /// An earlier failure left the session in an unknown state.
    #[error("this connection cannot be used after an earlier error; connect again")]
    Unusable,
}

impl SmtpError {
    /// True when the message may have been accepted although this error
    /// says otherwise ([`SmtpError::Unconfirmed`]): sending it again
    /// automatically could deliver it twice, so ask the user instead.
    pub fn may_have_been_sent(&self) -> bool {
        matches!(self, SmtpError::Unconfirmed { .. })
    }

    /// True when the session cannot continue after this error (the reply
    /// stream may be out of step, or the server is closing).
    pub(crate) fn breaks_session(&self) -> bool {
        match self {
            SmtpError::Net(_)
            | SmtpError::Protocol { .. }
            | SmtpError::DataBeforeTls
            | SmtpError::Unconfirmed { .. }
            | SmtpError::Unusable => true,
            // 421: the server is closing the channel (RFC 5321 §3.8).
            SmtpError::Rejected { reply, .. }
            | SmtpError::SenderRefused { reply, .. }
            | SmtpError::AuthRejected { reply } => reply.code == 421,
            SmtpError::MessageTooBig { reply, .. } => reply.as_ref().is_some_and(|r| r.code == 421),
            SmtpError::RecipientsRefused { refusals, .. } => {
                refusals.iter().any(|refusal| refusal.code == 421)
            }
            _ => false,
        }
    }
}

impl Classify for SmtpError {
    fn kind(&self) -> ErrorKind {
        match self {
            SmtpError::Net(error) => error.kind(),
            SmtpError::Unconfirmed { source } => source.kind(),
            SmtpError::Protocol { .. } => ErrorKind::Protocol,
            SmtpError::StartTlsNotOffered { .. } | SmtpError::DataBeforeTls => ErrorKind::Tls,
            SmtpError::NoAuthMechanism { .. } => ErrorKind::Config,
            SmtpError::AuthRejected { .. } => ErrorKind::AuthRejected,
            SmtpError::SenderRefused { reply, .. } | SmtpError::Rejected { reply, .. } => {
                ErrorKind::ServerRejected {
                    transient: reply.is_transient(),
                }
            }
            SmtpError::RecipientsRefused { refusals, .. } => ErrorKind::ServerRejected {
                transient: !refusals.is_empty()
                    && refusals
                        .iter()
                        .all(|refusal| (400..500).contains(&refusal.code)),
            },
            SmtpError::MessageTooBig { reply, .. } => ErrorKind::ServerRejected {
                transient: reply.as_ref().is_some_and(ServerReply::is_transient),
            },
            SmtpError::EightBitNotSupported | SmtpError::Utf8AddressNotSupported { .. } => {
                ErrorKind::ServerRejected { transient: false }
            }
            SmtpError::InvalidAddress { .. }
            | SmtpError::NoRecipients
            | SmtpError::UnsendableCredentials => ErrorKind::Input,
            SmtpError::Unusable => ErrorKind::Network,
        }
    }

    fn certificate(&self) -> Option<&CertificateProblem> {
        match self {
            SmtpError::Net(error) | SmtpError::Unconfirmed { source: error } => error.certificate(),
            _ => None,
        }
    }
}

fn no_auth_text(offered: &[String]) -> String {
    if offered.is_empty() {
        "the server does not offer sign-in (AUTH) on this connection; check the server and port"
            .to_string()
    } else {
        format!(
            "the server offers no sign-in method Herald supports (it offers {}; Herald supports PLAIN and LOGIN)",
            offered.join(", ")
        )
    }
}

/// How many refused recipients an error message lists before "and N more".
const LISTED_REFUSALS: usize = 10;

fn recipients_refused_text(refusals: &[Refusal], recipients: usize) -> String {
    let listed: Vec<String> = refusals
        .iter()
        .take(LISTED_REFUSALS)
        .map(Refusal::to_string)
        .collect();
    let mut text = if refusals.len() == 1 {
        format!(
            "the server refused a recipient, so the message was not sent to anyone: {}",
            listed.join(", ")
        )
    } else {
        format!(
            "the server refused {} of {recipients} recipients, so the message was not sent to anyone: {}",
            refusals.len(),
            listed.join(", ")
        )
    };
    if refusals.len() > LISTED_REFUSALS {
        text.push_str(&format!(" and {} more", refusals.len() - LISTED_REFUSALS));
    }
    text
}

/// A size for people: megabytes (10^6 bytes) with one decimal.
pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn too_big_text(size_bytes: u64, limit_bytes: Option<u64>, reply: Option<&ServerReply>) -> String {
    let mut text = match limit_bytes {
        Some(limit) => {
            let (size_shown, limit_shown) = (megabytes(size_bytes), megabytes(limit));
            if size_shown == limit_shown {
                format!(
                    "the message ({size_bytes} bytes) is larger than the server accepts ({limit} bytes)"
                )
            } else {
                format!(
                    "the message ({size_shown}) is larger than the server accepts ({limit_shown})"
                )
            }
        }
        None => format!(
            "the server refused the message as too large ({})",
            megabytes(size_bytes)
        ),
    };
    match reply {
        Some(reply) => text.push_str(&format!(" (server said \"{reply}\")")),
        None => text.push_str("; nothing was sent"),
    }
    text
}

fn rejected_text(stage: Stage, reply: &ServerReply) -> String {
    if reply.code == 421 {
        format!(
            "the server is not available right now and closed the connection; try again later (server said \"{reply}\")"
        )
    } else if reply.is_transient() {
        format!(
            "{} for now; try again later (server said \"{reply}\")",
            stage.refused()
        )
    } else {
        format!("{} (server said \"{reply}\")", stage.refused())
    }
}
