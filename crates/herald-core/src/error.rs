//! Error classification shared by every module.
//!
//! Each module has its own `thiserror` enum; each implements [`Classify`] so
//! that the UI can pick an action ("retry", "check your password", "trust this
//! certificate?") from the kind, never from the message text.

/// What kind of failure an error is, so a caller can decide what to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The host could not be reached or the connection dropped.
    Network,
    /// A connect, read, write or overall deadline passed.
    Timeout,
    /// TLS failed: handshake or protocol version (not the certificate).
    Tls,
    /// The server's certificate was not accepted (untrusted issuer, wrong
    /// host name, expired). The error carries the certificate so the user
    /// can inspect it and choose to trust exactly that certificate.
    Certificate,
    /// The server refused the user name or password.
    AuthRejected,
    /// The server refused a command; `transient` failures may be retried.
    ServerRejected {
        /// True for 4xx-style failures that may succeed later.
        transient: bool,
    },
    /// The server broke the protocol.
    Protocol,
    /// Reading or writing local files failed (disk full, permissions…).
    Storage,
    /// The credential store or password command failed.
    Credentials,
    /// Account settings are missing or invalid.
    Config,
    /// An input given by the user (a file, an address, an option) is invalid.
    Input,
    /// The user cancelled the operation.
    Cancelled,
}

/// Implemented by every error type of the core.
pub trait Classify {
    /// The kind of this error.
    fn kind(&self) -> ErrorKind;

    /// For [`ErrorKind::Certificate`]: the refused certificate, so the user
    /// can inspect it and choose to trust exactly it. Wrapping errors
    /// delegate to the error they wrap.
    fn certificate(&self) -> Option<&crate::net::tls::CertificateProblem> {
        None
    }
}

/// One line for a person: the error and its causes, joined with `: `.
pub fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
