//! A connection that enforces [`Limits`], a [`Deadline`] and cancellation on
//! every read and write.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use native_tls::TlsStream;

use super::cancel::Registration;
use super::error::StreamFailure;
use super::tls::{self, CertificateDetails, TlsConfig};
use super::{CancelToken, Deadline, Limits, NetError, ReadAhead};

/// The byte stream under a [`Connection`]: plain TCP (before STARTTLS/STLS)
/// or TLS.
#[derive(Debug)]
pub enum Transport {
    /// Plain TCP; only ever used to send `STLS`/`STARTTLS`.
    Plain(TcpStream),
    /// TLS over TCP (read through [`ReadAhead`]).
    Tls(Box<TlsStream<ReadAhead>>),
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(stream) => stream,
            Transport::Tls(stream) => stream.get_ref().get_ref(),
        }
    }
}

/// One connection to a server, with limits.
///
/// Reads and writes fail with an [`io::Error`] that converts into the
/// precise [`NetError`] (`NetError::from(io_error)`): cancelled, timed out,
/// too slow, deadline passed, closed.
#[derive(Debug)]
pub struct Connection {
    transport: Transport,
    limits: Limits,
    deadline: Deadline,
    cancel: CancelToken,
    _registration: Registration,
    window_waited: Duration,
    window_bytes: u64,
    bytes_read: u64,
    bytes_written: u64,
}

impl Connection {
    /// Connects to `host:port` and completes a TLS handshake (implicit TLS,
    /// ports 995 and 465).
    pub fn connect_tls(
        host: &str,
        port: u16,
        config: &TlsConfig,
        limits: &Limits,
        cancel: &CancelToken,
    ) -> Result<Connection, NetError> {
        let tcp = super::connect_tcp(host, port, limits, cancel)?;
        // Cancel reaches the socket during the handshake…
        let _handshake_registration = cancel.register(&tcp);
        let mut reconnect = || super::connect_tcp(host, port, limits, cancel);
        let stream = tls::handshake(tcp, host, config, &mut reconnect)?;
        super::renew_quickack(stream.get_ref().get_ref());
        // …and then the socket in use, which is the one from `reconnect`
        // when the user pinned the certificate.
        let registration = cancel.register(stream.get_ref().get_ref());
        Ok(Connection::new(
            Transport::Tls(Box::new(stream)),
            registration,
            limits,
            cancel,
        ))
    }

    /// Connects to `host:port` without TLS, for a protocol that upgrades
    /// with STLS or STARTTLS before anything else is said.
    pub fn connect_plain(
        host: &str,
        port: u16,
        limits: &Limits,
        cancel: &CancelToken,
    ) -> Result<Connection, NetError> {
        let tcp = super::connect_tcp(host, port, limits, cancel)?;
        let registration = cancel.register(&tcp);
        Ok(Connection::new(
            Transport::Plain(tcp),
            registration,
            limits,
            cancel,
        ))
    }

    fn new(
        transport: Transport,
        registration: Registration,
        limits: &Limits,
        cancel: &CancelToken,
    ) -> Connection {
        Connection {
            transport,
            limits: *limits,
            deadline: Deadline::none(),
            cancel: cancel.clone(),
            _registration: registration,
            window_waited: Duration::ZERO,
            window_bytes: 0,
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Upgrades a plain connection to TLS after the server accepted
    /// STLS/STARTTLS. `reconnect` must return a fresh plain socket that has
    /// gone through the same exchange up to the handshake; it is used only
    /// to read a refused certificate (nothing is sent over that connection).
    pub fn upgrade_to_tls(
        self,
        host: &str,
        config: &TlsConfig,
        reconnect: &mut dyn FnMut() -> Result<TcpStream, NetError>,
    ) -> Result<Connection, NetError> {
        if self.is_tls() {
            return Ok(self);
        }
        let tcp = match self.transport {
            Transport::Plain(tcp) => tcp,
            Transport::Tls(_) => return Err(NetError::Closed),
        };
        let stream = tls::handshake(tcp, host, config, reconnect)?;
        super::renew_quickack(stream.get_ref().get_ref());
        let registration = self.cancel.register(stream.get_ref().get_ref());
        Ok(Connection {
            transport: Transport::Tls(Box::new(stream)),
            _registration: registration,
            ..self
        })
    }

    /// Sets the overall deadline for what follows.
    pub fn set_deadline(&mut self, deadline: Deadline) {
        self.deadline = deadline;
    }

    /// True once the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self.transport, Transport::Tls(_))
    }

    /// The plain socket, when not (yet) encrypted: the STLS/STARTTLS
    /// exchange is done over it.
    pub fn into_plain_tcp(self) -> Option<TcpStream> {
        match self.transport {
            Transport::Plain(tcp) => Some(tcp),
            Transport::Tls(_) => None,
        }
    }

    /// The server's certificate, once encrypted.
    pub fn peer_certificate(&self) -> Option<CertificateDetails> {
        match &self.transport {
            Transport::Tls(stream) => stream
                .peer_certificate()
                .ok()
                .flatten()
                .and_then(|certificate| certificate.to_der().ok())
                .map(|der| CertificateDetails::from_der(&der)),
            Transport::Plain(_) => None,
        }
    }

    /// The local address of the socket (SMTP's EHLO names the client by its
    /// address literal rather than by the machine's host name).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.transport.tcp().local_addr()
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Closes the socket in both directions without waiting.
    pub fn shutdown(&self) {
        let _ = self.transport.tcp().shutdown(std::net::Shutdown::Both);
    }

    fn before_io(&self) -> io::Result<()> {
        if self.cancel.is_cancelled() {
            return Err(StreamFailure::Cancelled.into_io());
        }
        if self.deadline.has_passed() {
            return Err(StreamFailure::DeadlinePassed.into_io());
        }
        Ok(())
    }

    fn map_io_error(&self, error: io::Error) -> io::Error {
        if self.cancel.is_cancelled() {
            return StreamFailure::Cancelled.into_io();
        }
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                StreamFailure::Timeout(self.limits.io_timeout).into_io()
            }
            _ => error,
        }
    }

    /// Applies the minimum-throughput rule after a read that waited
    /// `waited` and returned `count` bytes.
    fn meter(&mut self, waited: Duration, count: usize) -> io::Result<()> {
        self.window_waited += waited;
        self.window_bytes += count as u64;
        let window = self.limits.throughput_window;
        if self.window_waited >= window && !window.is_zero() {
            let seconds = self.window_waited.as_secs_f64();
            let rate = (self.window_bytes as f64 / seconds) as u64;
            self.window_waited = Duration::ZERO;
            self.window_bytes = 0;
            if rate < self.limits.min_bytes_per_second {
                return Err(StreamFailure::TooSlow {
                    bytes_per_second: rate,
                    minimum: self.limits.min_bytes_per_second,
                }
                .into_io());
            }
        }
        Ok(())
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.before_io()?;
        let started = Instant::now();
        let result = match &mut self.transport {
            Transport::Plain(stream) => stream.read(buf),
            Transport::Tls(stream) => stream.read(buf),
        };
        let count = result.map_err(|error| self.map_io_error(error))?;
        if self.cancel.is_cancelled() {
            // Cancelling shuts the socket down, which reads as end of file.
            return Err(StreamFailure::Cancelled.into_io());
        }
        self.bytes_read += count as u64;
        self.meter(started.elapsed(), count)?;
        Ok(count)
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.before_io()?;
        let result = match &mut self.transport {
            Transport::Plain(stream) => stream.write(buf),
            Transport::Tls(stream) => stream.write(buf),
        };
        let count = result.map_err(|error| self.map_io_error(error))?;
        self.bytes_written += count as u64;
        Ok(count)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.before_io()?;
        let result = match &mut self.transport {
            Transport::Plain(stream) => stream.flush(),
            Transport::Tls(stream) => stream.flush(),
        };
        result.map_err(|error| self.map_io_error(error))
    }
}
