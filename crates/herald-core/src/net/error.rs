//! Network errors, worded for the person who has to act on them.

use std::time::Duration;

use crate::error::{Classify, ErrorKind};

use super::tls::CertificateProblem;

/// A failure to reach a server or to keep talking to it.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The host name did not resolve.
    #[error(
        "cannot find the server \"{host}\": check the server name and your internet connection"
    )]
    Resolve {
        /// The host name as configured.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection was refused or the network is unreachable.
    #[error("cannot reach {host} on port {port}: check the server name and port")]
    Connect {
        /// The host name as configured.
        host: String,
        /// The port.
        port: u16,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection did not complete in time.
    #[error("{host} did not answer on port {port} within {} s", .after.as_secs())]
    ConnectTimeout {
        /// The host name as configured.
        host: String,
        /// The port.
        port: u16,
        /// The connect timeout that passed.
        after: Duration,
    },
    /// The server's certificate was refused; the problem carries the
    /// certificate so the user can inspect it and decide to trust it.
    #[error("{0}")]
    Certificate(Box<CertificateProblem>),
    /// The TLS handshake failed for another reason (no common protocol
    /// version or cipher, a server that does not speak TLS on this port).
    #[error("cannot set up a secure (TLS 1.2 or newer) connection with {host}: {detail}")]
    Tls {
        /// The host name as configured.
        host: String,
        /// What the TLS library said.
        detail: String,
    },
    /// The server closed the connection.
    #[error("the server closed the connection unexpectedly")]
    Closed,
    /// The server sent nothing (or accepted nothing) for too long.
    #[error("the server stopped responding (nothing for {} s)", .after.as_secs())]
    Timeout {
        /// The read or write timeout that passed.
        after: Duration,
    },
    /// The server kept sending, but far too slowly.
    #[error(
        "the server is sending too slowly ({bytes_per_second} bytes/s, at least {minimum} bytes/s needed)"
    )]
    TooSlow {
        /// The rate measured over the last window.
        bytes_per_second: u64,
        /// The configured minimum.
        minimum: u64,
    },
    /// The overall deadline of the operation passed.
    #[error("the operation took too long and was stopped")]
    DeadlinePassed,
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Another I/O failure on an established connection.
    #[error("the connection to the server failed")]
    Io(#[source] std::io::Error),
}

impl Classify for NetError {
    fn kind(&self) -> ErrorKind {
        match self {
            NetError::Resolve { .. } | NetError::Connect { .. } | NetError::Closed => {
                ErrorKind::Network
            }
            NetError::Io(_) => ErrorKind::Network,
            NetError::ConnectTimeout { .. }
            | NetError::Timeout { .. }
            | NetError::TooSlow { .. }
            | NetError::DeadlinePassed => ErrorKind::Timeout,
            NetError::Certificate(_) => ErrorKind::Certificate,
            NetError::Tls { .. } => ErrorKind::Tls,
            NetError::Cancelled => ErrorKind::Cancelled,
        }
    }

    fn certificate(&self) -> Option<&CertificateProblem> {
        match self {
            NetError::Certificate(problem) => Some(problem),
            _ => None,
        }
    }
}

/// Carried inside an [`std::io::Error`] by [`super::Connection`], so that
/// protocol code using `Read`/`Write` gets the precise [`NetError`] back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamFailure {
    #[error("cancelled")]
    Cancelled,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("too slow")]
    TooSlow { bytes_per_second: u64, minimum: u64 },
    #[error("deadline passed")]
    DeadlinePassed,
}

impl StreamFailure {
    pub(crate) fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

impl From<std::io::Error> for NetError {
    fn from(error: std::io::Error) -> NetError {
        use std::io::ErrorKind as Io;
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<StreamFailure>())
        {
            let failure = error
                .into_inner()
                .and_then(|inner| inner.downcast::<StreamFailure>().ok());
            return match failure.map(|failure| *failure) {
                Some(StreamFailure::Cancelled) => NetError::Cancelled,
                Some(StreamFailure::Timeout(after)) => NetError::Timeout { after },
                Some(StreamFailure::TooSlow {
                    bytes_per_second,
                    minimum,
                }) => NetError::TooSlow {
                    bytes_per_second,
                    minimum,
                },
                Some(StreamFailure::DeadlinePassed) => NetError::DeadlinePassed,
                None => NetError::Io(std::io::Error::other("connection failed")),
            };
        }
        match error.kind() {
            Io::UnexpectedEof | Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => {
                NetError::Closed
            }
            _ => NetError::Io(error),
        }
    }
}
