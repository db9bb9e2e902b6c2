//! A failure as it crosses from a worker to the window.

use crate::error::{Classify, ErrorKind, describe};
use crate::net::tls::CertificateProblem;

/// A classified error in words, cheap to clone and send between threads.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    /// What kind of failure: decides what the window offers.
    pub kind: ErrorKind,
    /// The error and its causes in words a person can act on.
    pub message: String,
    /// The refused certificate, for [`ErrorKind::Certificate`].
    pub certificate: Option<Box<CertificateProblem>>,
}

impl Failure {
    /// Turns any core error into a failure.
    pub fn from_error<E: std::error::Error + Classify>(error: &E) -> Failure {
        Failure {
            kind: error.kind(),
            message: describe(error),
            certificate: error.certificate().cloned().map(Box::new),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
