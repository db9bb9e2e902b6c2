//! Reading a line-based protocol as bytes, with a bound on line length.

use std::io::{self, Read};

/// A failure to read one line.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The line did not end within the allowed length.
    #[error("the server sent a line longer than {max} bytes")]
    TooLong {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The connection ended (before a complete line).
    #[error("the server closed the connection")]
    Closed,
    /// The underlying stream failed (see [`super::NetError`]'s `From`).
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<LineError> for super::NetError {
    fn from(error: LineError) -> super::NetError {
        match error {
            LineError::Closed => super::NetError::Closed,
            LineError::Io(error) => super::NetError::from(error),
            LineError::TooLong { .. } => super::NetError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                error.to_string(),
            )),
        }
    }
}

/// A buffered reader that hands out whole lines (up to and including the
/// LF) as byte slices, never converting them to text.
///
/// The buffer grows only as far as the longest line allowed, so memory is
/// bounded by the caller's `max`, not by what the server sends.
#[derive(Debug)]
pub struct LineReader<S> {
    inner: S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

const INITIAL_CAPACITY: usize = 64 * 1024;

impl<S: Read> LineReader<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> LineReader<S> {
        LineReader {
            inner,
            buf: vec![0; INITIAL_CAPACITY],
            start: 0,
            end: 0,
        }
    }

    /// The next line, including its terminating LF (and CR, if any). A line
    /// longer than `max` bytes (terminator included) is an error; so is the
    /// end of the stream, even after a partial line.
    pub fn read_line(&mut self, max: usize) -> Result<&[u8], LineError> {
        let mut searched = 0;
        loop {
            let pending = &self.buf[self.start + searched..self.end];
            if let Some(at) = memchr::memchr(b'\n', pending) {
                let line_end = self.start + searched + at + 1;
                if line_end - self.start > max {
                    return Err(LineError::TooLong { max });
                }
                let line_start = self.start;
                self.start = line_end;
                return Ok(&self.buf[line_start..line_end]);
            }
            searched = self.end - self.start;
            if searched >= max {
                return Err(LineError::TooLong { max });
            }
            self.fill(max)?;
        }
    }

    /// Reads more bytes after the pending ones, making room as needed.
    fn fill(&mut self, max: usize) -> Result<(), LineError> {
        if self.start > 0 && self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let wanted = (self.buf.len() * 2)
                .min(max.saturating_add(1))
                .max(self.buf.len() + 1);
            self.buf.resize(wanted, 0);
        }
        let count = loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(count) => break count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(LineError::Io(error)),
            }
        };
        if count == 0 {
            return Err(LineError::Closed);
        }
        self.end += count;
        Ok(())
    }

    /// The bytes received but not yet handed out, reading more first when
    /// there are none (like [`std::io::BufRead::fill_buf`], but the end of
    /// the stream is [`LineError::Closed`]). Never grows the buffer: for
    /// streaming a body in fixed-size chunks, with [`LineReader::consume`].
    pub fn fill_buf(&mut self) -> Result<&[u8], LineError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.fill(self.buf.len())?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Marks `count` bytes of [`LineReader::fill_buf`]'s slice as handed out.
    pub fn consume(&mut self, count: usize) {
        self.start = (self.start + count).min(self.end);
    }

    /// The size of the read buffer: it grows only up to the longest line
    /// asked for, so tests can check that memory stays bounded.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Bytes received but not yet handed out. Must be zero when switching to
    /// TLS: anything buffered before the handshake was sent in plain text
    /// and could have been injected by an attacker.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The stream, for writing commands.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream; buffered bytes are dropped (check [`LineReader::buffered`]).
    pub fn into_inner(self) -> S {
        self.inner
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Hands out its bytes a few at a time, as a network would.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let count = self.0.len().min(self.1).min(buf.len());
            buf[..count].copy_from_slice(&self.0[..count]);
            self.0 = &self.0[count..];
            Ok(count)
        }
    }

    #[test]
    fn lines_come_back_byte_exact_with_their_terminators() {
        let input = b"+OK hi\r\n\xff\xfe bytes\n.\r\n";
        let mut reader = LineReader::new(Chunked(input, 3));
        assert_eq!(reader.read_line(512).unwrap(), b"+OK hi\r\n");
        assert_eq!(reader.read_line(512).unwrap(), b"\xff\xfe bytes\n");
        assert_eq!(reader.read_line(512).unwrap(), b".\r\n");
        assert!(matches!(reader.read_line(512), Err(LineError::Closed)));
    }

    #[test]
    fn a_line_over_the_limit_is_refused_without_reading_it_all() {
        let mut input = vec![b'a'; 10 * 1024 * 1024];
        input.extend_from_slice(b"\r\n");
        let mut reader = LineReader::new(Chunked(&input, 100_000));
        assert!(matches!(
            reader.read_line(512),
            Err(LineError::TooLong { max: 512 })
        ));
        assert!(reader.buf.len() <= INITIAL_CAPACITY);
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_accepted() {
        let mut input = vec![b'a'; 510];
        input.extend_from_slice(b"\r\n");
        let mut reader = LineReader::new(Chunked(&input, 7));
        assert_eq!(reader.read_line(512).unwrap().len(), 512);
    }

    #[test]
    fn long_lines_grow_the_buffer_up_to_the_limit() {
        let mut input = vec![b'x'; 300_000];
        input.extend_from_slice(b"\r\nnext\r\n");
        let mut reader = LineReader::new(Chunked(&input, 65_536));
        assert_eq!(reader.read_line(1 << 20).unwrap().len(), 300_002);
        assert_eq!(reader.read_line(1 << 20).unwrap(), b"next\r\n");
    }

    #[test]
    fn end_of_stream_in_the_middle_of_a_line_is_closed() {
        let mut reader = LineReader::new(Chunked(b"+OK partial", 4));
        assert!(matches!(reader.read_line(512), Err(LineError::Closed)));
    }

    #[test]
    fn fill_buf_and_consume_stream_without_growing() {
        let input = vec![b'z'; 200_000];
        let mut reader = LineReader::new(Chunked(&input, 100_000));
        let mut total = 0;
        while total < input.len() {
            let count = reader.fill_buf().unwrap().len();
            assert!(count > 0);
            reader.consume(count);
            total += count;
        }
        assert_eq!(total, input.len());
        assert_eq!(reader.capacity(), INITIAL_CAPACITY);
        assert!(matches!(reader.fill_buf(), Err(LineError::Closed)));
    }

    #[test]
    fn buffered_counts_bytes_not_yet_handed_out() {
        let mut reader = LineReader::new(Chunked(b"+OK go\r\ninjected\r\n", 64));
        reader.read_line(512).unwrap();
        assert_eq!(reader.buffered(), b"injected\r\n".len());
    }
}
