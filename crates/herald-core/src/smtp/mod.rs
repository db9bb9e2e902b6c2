//! Sending mail: an SMTP submission client (RFC 5321, RFC 6409) over
//! [`crate::net`], with the same TLS policy, certificate errors, limits and
//! cancellation as POP3.
//!
//! # Why not lettre's transport
//!
//! lettre builds our MIME ([`crate::compose`]), but its SMTP transport
//! (0.11.23; 0.11.24 is not on the registry) is not fit to send with:
//! - `SmtpConnection` never sets `TCP_NODELAY` and gives no access to the
//!   socket, so every command waits on Nagle and delayed ACKs (FACTS.md:
//!   10 s instead of 0.6 s for 200 messages);
//! - it panics on an EHLO line of only whitespace (RUSTSEC-2026-0562) and
//!   does not dot-stuff after a bare CR or LF (RUSTSEC-2026-0561);
//! - it ignores SIZE, and it stops at the first refused recipient, so it
//!   cannot tell the user which recipients were refused.
//!
//! # What this client does
//!
//! - Implicit TLS (port 465, the default) or STARTTLS (587): STARTTLS must be
//!   offered, bytes injected before the handshake are refused, and what was
//!   learnt in plain text is forgotten. Never plain text, never
//!   opportunistic.
//! - EHLO names the client by an address literal (`[192.0.2.1]`), never the
//!   machine's host name. Replies are parsed as bytes with bounded lines and
//!   line counts; odd EHLO lines are skipped, never a panic.
//! - AUTH PLAIN, or LOGIN, only over TLS, one attempt.
//! - [`SmtpClient::send`] checks everything it can before the first command
//!   (addresses, SMTPUTF8, 8BITMIME, the SIZE limit), pipelines MAIL and
//!   RCPT when offered, sends to all recipients or to none, and streams the
//!   message dot-stuffed with every line ending made CRLF.
//! - Every error is classified ([`crate::error::Classify`]) and worded for
//!   a person; server text is neutralised and shortened before it is shown.
//!
//! ```no_run
//! # use herald_core::smtp::SmtpClient;
//! # use herald_core::net::{CancelToken, Limits, tls::TlsConfig};
//! # fn run(account: &herald_core::account::Account, password: &herald_core::credentials::Password,
//! #        message: &herald_core::compose::ComposedMessage) -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsConfig::for_account(account)?;
//! let mut client = SmtpClient::connect(&account.smtp, &tls, &Limits::default(), &CancelToken::new())?;
//! client.login(account.login_name(), password)?;
//! client.send(&message.envelope_from, &message.envelope_recipients, &message.sendable)?;
//! client.quit();
//! # Ok(()) }
//! ```

mod capabilities;
mod client;
mod data;
mod error;
mod reply;

pub use capabilities::{Capabilities, SmtpLimits};
pub use client::{SendReport, SmtpClient};
pub use error::{Refusal, SmtpError, Stage};
pub use reply::{EnhancedStatus, ServerReply};

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
