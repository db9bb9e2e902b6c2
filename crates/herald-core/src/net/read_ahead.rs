//! [`ReadAhead`]: the socket under TLS, read through a buffer.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Bytes fetched by one `recv` at most.
const READ_AHEAD_BYTES: usize = 64 * 1024;

/// A TCP socket read through a buffer, for the TLS layer above it.
///
/// OpenSSL reads each TLS record with two `recv` calls (its 5-byte header,
/// then its body), and servers such as Dovecot send records of 4 KiB: a
/// download of 100 MB made about 50,000 system calls. Here one `recv`
/// fetches whatever has arrived, up to 64 KiB, and the records in it are
/// handed out from memory. A read still waits only when nothing is
/// buffered, and for no more than one `recv` (so the socket's timeouts and
/// a cancel's shutdown act as before). Writes go straight to the socket.
#[derive(Debug)]
pub struct ReadAhead {
    tcp: TcpStream,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
}

impl ReadAhead {
    /// Wraps a connected socket (nothing read from it yet).
    pub fn new(tcp: TcpStream) -> ReadAhead {
        ReadAhead {
            tcp,
            buffer: vec![0; READ_AHEAD_BYTES].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.tcp
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            if out.len() >= self.buffer.len() {
                return self.tcp.read(out);
            }
            self.start = 0;
            self.end = self.tcp.read(&mut self.buffer)?;
        }
        let count = out.len().min(self.end - self.start);
        out[..count].copy_from_slice(&self.buffer[self.start..self.start + count]);
        self.start += count;
        Ok(count)
    }
}

impl Write for ReadAhead {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.tcp.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A connected pair: (ours, the peer's).
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (theirs, _) = listener.accept().unwrap();
        (ours, theirs)
    }

    #[test]
    fn small_reads_come_from_one_buffer_and_every_byte_arrives_in_order() {
        let (ours, mut theirs) = pair();
        let sent: Vec<u8> = (0..300_000u32).map(|n| (n % 251) as u8).collect();
        let writer = {
            let sent = sent.clone();
            std::thread::spawn(move || {
                theirs.write_all(&sent).unwrap();
                let mut echo = [0u8; 4];
                theirs.read_exact(&mut echo).unwrap();
                echo
            })
        };
        let mut reader = ReadAhead::new(ours);
        let mut received = Vec::new();
        // Header-sized and odd-sized reads, as a TLS layer does, and some
        // larger than the buffer (read straight from the socket).
        let sizes = [5, 4113, 1, 70_000, 17];
        let mut n = 0;
        while received.len() < sent.len() {
            let mut chunk = vec![0u8; sizes[n % sizes.len()]];
            n += 1;
            let count = reader.read(&mut chunk).unwrap();
            assert!(count > 0);
            received.extend_from_slice(&chunk[..count]);
        }
        assert_eq!(received, sent);
        reader.write_all(b"done").unwrap();
        assert_eq!(&writer.join().unwrap(), b"done");
    }

    #[test]
    fn the_end_of_the_stream_reads_as_zero() {
        let (ours, mut theirs) = pair();
        theirs.write_all(b"last").unwrap();
        drop(theirs);
        let mut reader = ReadAhead::new(ours);
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"last");
        assert_eq!(reader.read(&mut [0u8; 8]).unwrap(), 0);
    }
}
