//! SHA-256 digests of what we save and show, computed while the bytes stream.

use std::io::{self, Write};

use sha2::{Digest, Sha256};

/// Passes writes through to the file, hashing and counting exactly the bytes
/// the file accepted.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size_bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size_bytes: 0,
        }
    }

    /// The byte count and lowercase hex SHA-256; closes the inner writer.
    pub fn finish(self) -> (u64, String) {
        (self.size_bytes, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        let accepted = buf.get(..written).unwrap_or(buf);
        self.hasher.update(accepted);
        self.size_bytes += accepted.len() as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
