//! Connections to mail servers: TCP with timeouts, TLS policy, limits on
//! slow or stalled servers, and cancellation. Shared by [`crate::pop3`] and
//! [`crate::smtp`], so that both protocols get the same rules:
//!
//! - every socket has `TCP_NODELAY` (and `TCP_QUICKACK` on Linux): a mail
//!   client alternates short commands and replies, which is where Nagle's
//!   algorithm and delayed ACKs cost 40 ms a round;
//! - TLS 1.2 at least, certificates and host names always verified against
//!   the system roots plus the account's extra CA, with one narrow exception:
//!   a certificate the user pinned by its SHA-256 fingerprint ([`tls`]);
//! - a connect timeout, a per-read/-write timeout, an optional overall
//!   deadline and a minimum throughput ([`Limits`]), so a server that trickles
//!   one byte a second cannot hold a sync forever;
//! - a [`CancelToken`] that closes the socket, so a blocked read returns at
//!   once.

mod cancel;
mod error;
pub mod line_reader;
mod read_ahead;
mod stream;
pub mod tls;

pub use cancel::CancelToken;
pub use error::NetError;
pub use line_reader::{LineError, LineReader};
pub use read_ahead::ReadAhead;
pub use stream::{Connection, Transport};

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Time limits for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long to wait for the TCP connection (per address tried).
    pub connect_timeout: Duration,
    /// How long one read or write may wait with no progress.
    pub io_timeout: Duration,
    /// Minimum average throughput, in bytes per second, while waiting for
    /// data; checked over each [`Limits::throughput_window`] of time spent
    /// waiting in reads (time spent on local work does not count).
    pub min_bytes_per_second: u64,
    /// The window over which [`Limits::min_bytes_per_second`] is checked.
    pub throughput_window: Duration,
}

impl Default for Limits {
    /// 20 s to connect, 60 s of silence, and at least 2 KB/s over any 30 s
    /// of waiting: generous for a slow mobile link, fatal to a trickle.
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(20),
            io_timeout: Duration::from_secs(60),
            min_bytes_per_second: 2048,
            throughput_window: Duration::from_secs(30),
        }
    }
}

/// An overall deadline for an operation, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No overall deadline (the per-read timeout and throughput rule still
    /// apply).
    pub fn none() -> Deadline {
        Deadline(None)
    }

    /// A deadline `duration` from now.
    pub fn after(duration: Duration) -> Deadline {
        Deadline(Instant::now().checked_add(duration))
    }

    /// True once the deadline has passed.
    pub fn has_passed(&self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }
}

/// Opens a TCP connection to `host:port` with `TCP_NODELAY` set, trying each
/// resolved address in turn.
pub fn connect_tcp(
    host: &str,
    port: u16,
    limits: &Limits,
    cancel: &CancelToken,
) -> Result<TcpStream, NetError> {
    let addresses: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| NetError::Resolve {
            host: host.to_string(),
            source,
        })?
        .collect();
    if addresses.is_empty() {
        return Err(NetError::Resolve {
            host: host.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address"),
        });
    }
    let mut last_error = None;
    for address in addresses {
        cancel.check()?;
        match connect_one(address, limits.connect_timeout) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(limits.io_timeout))
                    .and_then(|()| stream.set_write_timeout(Some(limits.io_timeout)))
                    .map_err(|source| NetError::Connect {
                        host: host.to_string(),
                        port,
                        source,
                    })?;
                return Ok(stream);
            }
            Err(error) => last_error = Some(error),
        }
    }
    let source = last_error.unwrap_or_else(|| std::io::Error::other("no address"));
    if source.kind() == std::io::ErrorKind::TimedOut {
        Err(NetError::ConnectTimeout {
            host: host.to_string(),
            port,
            after: limits.connect_timeout,
        })
    } else {
        Err(NetError::Connect {
            host: host.to_string(),
            port,
            source,
        })
    }
}

fn connect_one(address: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_tcp_nodelay(true)?;
    socket.connect_timeout(&SockAddr::from(address), timeout)?;
    set_quickack(&socket);
    Ok(socket.into())
}

/// Asks Linux to acknowledge at once rather than delay ACKs: some servers
/// (Postfix after a TLS handshake) wait for our ACK before greeting. Best
/// effort; the kernel may fall back to delayed ACKs later in the connection.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_quickack(socket: &Socket) {
    let _ = socket.set_tcp_quickack(true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_quickack(_socket: &Socket) {}

/// Renews `TCP_QUICKACK` on a connected stream (Linux clears it after a
/// while); called after the TLS handshake.
pub(crate) fn renew_quickack(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let socket = socket2::SockRef::from(stream);
        let _ = socket.set_tcp_quickack(true);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
