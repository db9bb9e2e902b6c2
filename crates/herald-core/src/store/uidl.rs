//! UIDL validation (RFC 1939 §7).
//!
//! A UIDL comes from the server, so it is hostile until checked. The store
//! only ever uses it as a key in the index, never in a path; checking it
//! still keeps garbage (NUL, newlines, megabytes) out of the index and the
//! UI.

use super::StoreError;

/// The longest UIDL RFC 1939 allows, in characters.
pub const MAX_UIDL_CHARS: usize = 70;

/// True for a valid UIDL: 1 to 70 characters, each printable ASCII
/// (0x21–0x7E), as RFC 1939 §7 requires.
pub fn is_valid_uidl(uidl: &str) -> bool {
    (1..=MAX_UIDL_CHARS).contains(&uidl.len()) && uidl.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

/// [`is_valid_uidl`] as an error naming the UIDL (escaped, shortened).
pub(crate) fn check(uidl: &str) -> Result<(), StoreError> {
    if is_valid_uidl(uidl) {
        return Ok(());
    }
    const SHOWN_CHARS: usize = 80;
    let escaped = format!("{uidl:?}");
    let mut shown: String = escaped.chars().take(SHOWN_CHARS).collect();
    if shown.len() < escaped.len() {
        shown.push('…');
    }
    Err(StoreError::InvalidUidl { uidl: shown })
}
