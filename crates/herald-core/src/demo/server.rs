//! What both demo servers share: the accept loop on 127.0.0.1, one thread
//! per connection, socket timeouts, a connection limit, stopping, and
//! reading bounded lines.

use std::collections::HashMap;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use native_tls::{TlsAcceptor, TlsStream};

use super::DemoError;

/// How long a read or write may wait: a client that stops talking loses
/// its thread after this.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections served at once per server; more are closed at once.
const MAX_CONNECTIONS: usize = 32;

/// The one user both servers accept.
#[derive(Debug)]
pub(super) struct Credentials {
    /// The login name (the demo address).
    pub login: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// Whether `login` and `password` are the demo user's. The login is an
    /// address, so its case does not matter.
    pub fn accepts(&self, login: &[u8], password: &[u8]) -> bool {
        login.eq_ignore_ascii_case(self.login.as_bytes()) && password == self.password.as_bytes()
    }

    /// Checks an RFC 4616 PLAIN message (`authzid NUL authcid NUL passwd`,
    /// base64); an authorisation identity must be empty or the user.
    pub fn accepts_plain(&self, base64_text: &[u8]) -> bool {
        use base64::Engine as _;
        let Ok(decoded) =
            base64::engine::general_purpose::STANDARD.decode(base64_text.trim_ascii())
        else {
            return false;
        };
        let fields: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
        match fields.as_slice() {
            [authzid, authcid, password] => {
                (authzid.is_empty() || authzid.eq_ignore_ascii_case(authcid))
                    && self.accepts(authcid, password)
            }
            _ => false,
        }
    }
}

/// Live connections, so stopping can close them at once.
#[derive(Debug, Default)]
struct Shared {
    stopping: AtomicBool,
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, TcpStream>>,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One listening server. Dropping it stops accepting, closes every
/// connection and waits for the accept thread.
#[derive(Debug)]
pub(super) struct Server {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `127.0.0.1:0` and serves each connection, after the TLS
    /// handshake, with `serve` on a thread of its own.
    pub fn start<F>(
        name: &'static str,
        acceptor: Arc<TlsAcceptor>,
        serve: F,
    ) -> Result<Server, DemoError>
    where
        F: Fn(TlsStream<TcpStream>) -> io::Result<()> + Send + Sync + 'static,
    {
        let listen_error = |source| DemoError::Listen {
            server: name,
            source,
        };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(listen_error)?;
        let local_addr = listener.local_addr().map_err(listen_error)?;
        let shared = Arc::new(Shared::default());
        let serve = Arc::new(serve);
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("herald-demo-{}", name.to_ascii_lowercase()))
                .spawn(move || accept_loop(&listener, &shared, &acceptor, &serve))
                .map_err(listen_error)?
        };
        Ok(Server {
            local_addr,
            shared,
            thread: Some(thread),
        })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocked `accept` with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.local_addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for (_, stream) in self.shared.connections().drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop<F>(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    acceptor: &Arc<TlsAcceptor>,
    serve: &Arc<F>,
) where
    F: Fn(TlsStream<TcpStream>) -> io::Result<()> + Send + Sync + 'static,
{
    for tcp in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(tcp) = tcp else { continue };
        if tcp.set_read_timeout(Some(IO_TIMEOUT)).is_err()
            || tcp.set_write_timeout(Some(IO_TIMEOUT)).is_err()
        {
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut connections = shared.connections();
            if connections.len() >= MAX_CONNECTIONS {
                continue;
            }
            let Ok(handle) = tcp.try_clone() else {
                continue;
            };
            connections.insert(id, handle);
        }
        let shared_for_thread = Arc::clone(shared);
        let acceptor = Arc::clone(acceptor);
        let serve = Arc::clone(serve);
        let spawned = std::thread::Builder::new()
            .name("herald-demo-connection".to_string())
            .spawn(move || {
                if let Ok(stream) = acceptor.accept(tcp) {
                    let _ = serve(stream);
                }
                if let Some(stream) = shared_for_thread.connections().remove(&id) {
                    let _ = stream.shutdown(Shutdown::Both);
                }
            });
        if spawned.is_err() {
            shared.connections().remove(&id);
        }
    }
}

/// A line read with [`read_line`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A line, with its line ending.
    Complete(Vec<u8>),
    /// The peer closed the connection (a partial last line is dropped).
    Closed,
    /// The line was longer than allowed; the connection should be closed.
    TooLong,
}

/// Reads one line (ending at LF) of at most `max_bytes`, never more into
/// memory.
pub(super) fn read_line(reader: &mut impl BufRead, max_bytes: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(Line::Closed);
        }
        let (taken, done) = match memchr::memchr(b'\n', available) {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > max_bytes {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            return Ok(Line::Complete(line));
        }
    }
}

/// `line` without its CRLF or LF.
pub(super) fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits a command line into its upper-cased keyword and the rest.
pub(super) fn split_command(line: &[u8]) -> (String, &[u8]) {
    let line = trim_line_end(line);
    let (keyword, rest) = match memchr::memchr(b' ', line) {
        Some(space) => (&line[..space], &line[space + 1..]),
        None => (line, &b""[..]),
    };
    (String::from_utf8_lossy(keyword).to_ascii_uppercase(), rest)
}

/// A buffered connection: reads through a `BufReader`, collects replies and
/// sends them when the client has nothing more pipelined (or on
/// [`Conn::flush`]), so a pipelined batch is answered in one write.
pub(super) struct Conn<S: Read + Write> {
    reader: io::BufReader<S>,
    out: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    /// Wraps a stream.
    pub fn new(stream: S) -> Conn<S> {
        Conn {
            reader: io::BufReader::with_capacity(16 * 1024, stream),
            out: Vec::new(),
        }
    }

    /// Reads one bounded line, first sending the queued replies if no
    /// further command is already buffered.
    pub fn read_line(&mut self, max_bytes: usize) -> io::Result<Line> {
        if self.reader.buffer().is_empty() {
            self.flush()?;
        }
        read_line(&mut self.reader, max_bytes)
    }

    /// Queues reply bytes.
    pub fn queue(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        // Keep memory bounded on long multi-line replies.
        if self.out.len() >= 256 * 1024 {
            let _ = self.flush();
        }
    }

    /// Sends the queued replies.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let stream = self.reader.get_mut();
            stream.write_all(&self.out)?;
            stream.flush()?;
            self.out.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn read_line_is_bounded_and_keeps_line_ends() {
        let mut input = io::Cursor::new(b"NOOP\r\nSTAT\nXXXXXXXXXX".to_vec());
        assert_eq!(
            read_line(&mut input, 10).unwrap(),
            Line::Complete(b"NOOP\r\n".to_vec())
        );
        assert_eq!(
            read_line(&mut input, 10).unwrap(),
            Line::Complete(b"STAT\n".to_vec())
        );
        assert_eq!(read_line(&mut input, 5).unwrap(), Line::TooLong);
        let mut rest = io::Cursor::new(b"abc".to_vec());
        assert_eq!(read_line(&mut rest, 10).unwrap(), Line::Closed);
    }

    #[test]
    fn plain_credentials_need_the_user_and_password() {
        use base64::Engine as _;
        let credentials = Credentials {
            login: "you@demo.herald.invalid".to_string(),
            password: "pw".to_string(),
        };
        let encode = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(credentials.accepts_plain(encode(b"\0YOU@demo.herald.invalid\0pw").as_bytes()));
        assert!(!credentials.accepts_plain(encode(b"\0you@demo.herald.invalid\0PW").as_bytes()));
        assert!(
            !credentials.accepts_plain(encode(b"other\0you@demo.herald.invalid\0pw").as_bytes())
        );
        assert!(!credentials.accepts_plain(b"not base64!"));
    }
}
