//! The `Password` type: a secret that does not print.

use std::fmt;

/// A password. `Debug` and `Display` print `[redacted]`, so it can sit in
/// structs that are logged or shown in errors without leaking; the only way
/// to the text is the explicit [`Password::expose`].
///
/// The buffer is overwritten with zeros when dropped, a cheap measure that
/// keeps the secret out of freed memory (copies made by the OS credential
/// store or by the TLS stack are out of our hands). It is deliberately not
/// `Serialize`: it must never reach a file.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps `secret` (taking ownership, so no copy is left behind).
    pub fn new(secret: String) -> Password {
        Password(secret)
    }

    /// The secret text. Call only where it is really needed (AUTH, storing).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True if the password is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Password {
    fn from(secret: String) -> Password {
        Password(secret)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0).into_bytes());
    }
}

/// Overwrites a buffer that held a secret (its whole capacity) before freeing
/// it.
pub(crate) fn wipe(mut bytes: Vec<u8>) {
    let capacity = bytes.capacity();
    bytes.clear();
    bytes.resize(capacity, 0);
    // Keep the compiler from treating the zeroing as a dead store.
    std::hint::black_box(&bytes);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let password = Password::new("hunter2".to_string());
        assert_eq!(format!("{password:?}"), "[redacted]");
        assert_eq!(format!("{password}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&password)), "Some([redacted])");
        assert_eq!(password.expose(), "hunter2");
    }

    #[test]
    fn struct_containing_password_does_not_leak() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: String,
            password: Password,
        }
        let login = Login {
            user: "me".to_string(),
            password: Password::from("s3cret".to_string()),
        };
        let text = format!("{login:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn wipe_accepts_any_buffer() {
        wipe(Vec::new());
        wipe(Vec::with_capacity(100));
        wipe(b"secret".to_vec());
    }
}
