//! The message as SMTP DATA content (RFC 5321 §4.1.4 and §4.5.2): every
//! line ending made CRLF, a leading dot doubled, `CRLF.CRLF` at the end.

use std::io::{self, Write};

/// What we need to know about a message before offering it to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessageScan {
    /// Size after line-ending normalisation, including a final CRLF if one
    /// has to be added, but not the doubled dots or the terminating dot:
    /// the size RFC 1870 §3 asks for in `SIZE=`.
    pub size_bytes: u64,
    /// A byte ≥ 0x80 occurs (the message needs 8BITMIME).
    pub has_8bit: bool,
}

/// Measures `message` as it will be sent.
pub(crate) fn scan(message: &[u8]) -> MessageScan {
    let mut size = message.len() as u64;
    let mut rest = message;
    // Each bare CR or bare LF becomes two bytes.
    while let Some(at) = memchr::memchr2(b'\r', b'\n', rest) {
        if rest[at] == b'\r' && rest.get(at + 1) == Some(&b'\n') {
            rest = &rest[at + 2..];
        } else {
            size += 1;
            rest = &rest[at + 1..];
        }
    }
    if !message.is_empty() && !matches!(message.last(), Some(b'\n' | b'\r')) {
        size += 2;
    }
    MessageScan {
        size_bytes: size,
        has_8bit: !message.is_ascii(),
    }
}

/// Bytes handed to the connection per write: large enough that a big
/// message costs few system calls and TLS records of full size, small
/// enough not to matter for memory.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;

/// Writes message bytes as DATA content through a fixed buffer, so the
/// message is never copied whole: bare CR and bare LF become CRLF (the
/// lesson of RUSTSEC-2026-0561, where a dot after a bare LF was not
/// doubled), a line that starts with `.` gets a second one (§4.5.2), and
/// [`DataWriter::finish`] adds a missing final CRLF and the terminator.
pub(crate) struct DataWriter<'a, W: Write> {
    inner: &'a mut W,
    buf: Vec<u8>,
    at_line_start: bool,
    after_cr: bool,
    written: u64,
    writes: u64,
}

impl<'a, W: Write> DataWriter<'a, W> {
    pub fn new(inner: &'a mut W) -> DataWriter<'a, W> {
        DataWriter {
            inner,
            buf: Vec::with_capacity(CHUNK_BYTES),
            at_line_start: true,
            after_cr: false,
            written: 0,
            writes: 0,
        }
    }

    /// Encodes the next part of the message (parts may split a CRLF).
    pub fn write_message(&mut self, mut input: &[u8]) -> io::Result<()> {
        while let Some(&first) = input.first() {
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    // The LF of a CRLF whose CR was already written as CRLF.
                    input = &input[1..];
                    continue;
                }
            }
            if self.at_line_start && first == b'.' {
                self.put(b".")?;
            }
            self.at_line_start = false;
            match memchr::memchr2(b'\r', b'\n', input) {
                Some(at) => {
                    self.put(&input[..at])?;
                    self.put(b"\r\n")?;
                    self.at_line_start = true;
                    self.after_cr = input[at] == b'\r';
                    input = &input[at + 1..];
                }
                None => {
                    self.put(input)?;
                    input = &[];
                }
            }
        }
        Ok(())
    }

    /// Ends the content (`CRLF.CRLF`), writes what is buffered, and returns
    /// the bytes written and the number of write calls made.
    pub fn finish(mut self) -> io::Result<(u64, u64)> {
        if !self.at_line_start {
            self.put(b"\r\n")?;
        }
        self.put(b".\r\n")?;
        self.flush_buffer()?;
        self.inner.flush()?;
        Ok((self.written, self.writes))
    }

    fn put(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = CHUNK_BYTES - self.buf.len();
            let take = room.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buf.len() == CHUNK_BYTES {
                self.flush_buffer()?;
            }
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.inner.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.writes += 1;
        self.buf.clear();
        Ok(())
    }
}
