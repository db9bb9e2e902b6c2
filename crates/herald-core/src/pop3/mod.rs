//! Our own POP3 client (RFC 1939, with RFC 2449 CAPA/PIPELINING/response
//! codes, RFC 2595 STLS, RFC 3206 login response codes, RFC 5034 AUTH
//! PLAIN), over [`crate::net`]. No POP3 crate on the registry keeps message
//! bytes intact, so this one is written to:
//!
//! - **keep bytes exact**: message data is never converted to text; one
//!   leading dot is removed per line, the reply ends at a line that is
//!   exactly `.` CRLF, and CR, LF and 8-bit bytes pass through as received
//!   (a bare LF is not "fixed");
//! - **bound everything**: status lines to 512 octets, listing lines to
//!   1 KiB, message lines to [`MAX_DATA_LINE`] (1 MiB), a message reply to
//!   twice its LIST size plus 64 KiB, TOP into memory to [`TOP_MAX_BYTES`],
//!   and every wait by [`crate::net::Limits`], an optional
//!   [`crate::net::Deadline`] and a [`crate::net::CancelToken`];
//! - **stream** messages to the caller through a reader
//!   ([`Pop3Session::retrieve_many`]), so memory does not grow with message
//!   size;
//! - **pipeline** RETR, TOP and DELE when the server offers PIPELINING, with
//!   at most [`PIPELINE_MAX_COMMANDS`] commands and [`PIPELINE_MAX_BYTES`]
//!   bytes unanswered, so a server that stops reading cannot deadlock us;
//! - **never leak credentials**: TLS always (implicit, or STLS with the
//!   plain-text injection check), nothing sent after a `-ERR` greeting,
//!   no retry after a refused login, arguments with CR/LF refused;
//! - **keep replies matched to commands**: POP3 replies carry no tags, so
//!   any byte that arrives while no command is outstanding is a protocol
//!   error rather than something to skip.
//!
//! [`Pop3Client::connect`] greets and lists capabilities;
//! [`Pop3Client::login`] gives a [`Pop3Session`]; its commands map to
//! RFC 1939's. Deletions happen only at a successful [`Pop3Session::quit`].

mod client;
mod codec;
mod error;

pub use client::{
    PIPELINE_MAX_BYTES, PIPELINE_MAX_COMMANDS, Pop3Client, Pop3Session, TOP_MAX_BYTES, UidlListing,
};
pub use codec::{Capabilities, Expire, LoginDelay, MAX_DATA_LINE};
pub use error::{MessageRefused, Pop3Error};

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
