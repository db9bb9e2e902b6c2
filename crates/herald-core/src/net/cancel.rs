//! Cancelling network work from another thread.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::NetError;

/// Cancels the operation it was given to. Cloning shares the same state.
///
/// [`CancelToken::cancel`] sets a flag that every read and write checks and
/// shuts down the sockets currently registered, so a read blocked on a
/// silent server returns at once instead of after its timeout.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    sockets: Mutex<Vec<(u64, TcpStream)>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl CancelToken {
    /// A token that has not been cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: current and future operations using this token fail with
    /// [`NetError::Cancelled`].
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        let sockets = self
            .inner
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (_, socket) in sockets.iter() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Clears the cancelled state, so the token can be used for the next
    /// operation.
    pub fn reset(&self) {
        self.inner.cancelled.store(false, Ordering::SeqCst);
    }

    /// `Err(Cancelled)` once cancelled.
    pub fn check(&self) -> Result<(), NetError> {
        if self.is_cancelled() {
            Err(NetError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Registers a socket to shut down on cancel, until the returned guard
    /// is dropped.
    pub(crate) fn register(&self, socket: &TcpStream) -> Registration {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = socket.try_clone() {
            let mut sockets = self
                .inner
                .sockets
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if self.is_cancelled() {
                let _ = clone.shutdown(Shutdown::Both);
            }
            sockets.push((id, clone));
        }
        Registration {
            token: self.clone(),
            id,
        }
    }
}

/// Keeps a socket registered with a [`CancelToken`] while alive.
#[derive(Debug)]
pub(crate) struct Registration {
    token: CancelToken,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut sockets = self
            .token
            .inner
            .sockets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sockets.retain(|(id, _)| *id != self.id);
    }
}
