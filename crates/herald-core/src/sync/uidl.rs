//! UIDLs: the server's permanent ids for messages (RFC 1939 §7).

use std::collections::HashMap;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::pop3::{Pop3Error, Pop3Session};

/// A validated UIDL: 1 to 70 characters from 0x21 to 0x7E. It is only ever
/// used as a key in the index, never as a path or file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uidl(String);

/// Why a UIDL from the server was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UidlProblem {
    /// Empty.
    #[error("the server sent an empty UIDL")]
    Empty,
    /// Longer than RFC 1939 allows.
    #[error("the server sent a UIDL longer than 70 characters")]
    TooLong,
    /// Outside printable ASCII.
    #[error("the server sent a UIDL with a character that is not printable ASCII")]
    NotPrintable,
}

impl Uidl {
    /// Validates a UIDL as received.
    pub fn parse(raw: &[u8]) -> Result<Uidl, UidlProblem> {
        if raw.is_empty() {
            return Err(UidlProblem::Empty);
        }
        if raw.len() > 70 {
            return Err(UidlProblem::TooLong);
        }
        if !raw.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(UidlProblem::NotPrintable);
        }
        Ok(Uidl(String::from_utf8_lossy(raw).into_owned()))
    }

    /// The UIDL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Uidl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Stable ids for a server without UIDL: a hash of each message's header
/// section (`TOP n 0`) and its size. The same message gets the same id on
/// every sync; two identical messages get the same id and are then left on
/// the server with a warning, like any duplicate UIDL.
pub(super) fn pseudo_uidls(
    client: &mut Pop3Session,
    sizes: &HashMap<u32, u64>,
    warnings: &mut Vec<String>,
) -> Result<Vec<(u32, Vec<u8>)>, Pop3Error> {
    let mut numbers: Vec<u32> = sizes.keys().copied().collect();
    numbers.sort_unstable();
    let mut ids = Vec::with_capacity(numbers.len());
    let refused = client.top_many(&numbers, 0, |number, headers: &mut dyn Read| {
        let bytes = super::read_header_section(headers)?;
        let mut hasher = Sha256::new();
        hasher.update(&bytes);
        hasher.update(sizes.get(&number).copied().unwrap_or(0).to_le_bytes());
        let digest = crate::digest::hex(&hasher.finalize());
        ids.push((number, format!("x-herald-{}", &digest[..40]).into_bytes()));
        Ok::<(), Pop3Error>(())
    })?;
    for refusal in refused {
        warnings.push(format!("{refusal}; it was left on the server"));
    }
    Ok(ids)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn uidls_are_validated_as_rfc_1939_says() {
        assert_eq!(
            Uidl::parse(b"whqtswO00WBw418f9t5JxYwZ").unwrap().as_str(),
            "whqtswO00WBw418f9t5JxYwZ"
        );
        assert_eq!(Uidl::parse(&[b'a'; 70]).unwrap().as_str().len(), 70);
        assert_eq!(Uidl::parse(&[b'a'; 71]), Err(UidlProblem::TooLong));
        assert_eq!(Uidl::parse(b""), Err(UidlProblem::Empty));
        assert_eq!(Uidl::parse(b"a b"), Err(UidlProblem::NotPrintable));
        assert_eq!(Uidl::parse(b"a\0b"), Err(UidlProblem::NotPrintable));
        assert_eq!(Uidl::parse("é".as_bytes()), Err(UidlProblem::NotPrintable));
        // Printable but path-like UIDLs are valid ids: they are never paths.
        assert_eq!(
            Uidl::parse(b"../../etc/passwd").unwrap().as_str(),
            "../../etc/passwd"
        );
    }
}
