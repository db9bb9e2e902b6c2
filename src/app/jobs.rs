//! Background jobs: how a view gets disk or CPU work done without making the
//! UI thread wait.
//!
//! A view starts a [`Job`] with a closure that calls the core (open a
//! message, save an attachment, read a file to attach, decode an image); the
//! closure runs on its own thread, and the view polls [`Job::try_take`] each
//! frame. The waker repaints the window when the result is ready, so nothing
//! polls on a timer. Network work does not go here: it belongs to the
//! account's engine worker.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, TryRecvError};

/// Repaints the window; called from the job's thread when it is done.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A result that is being computed on another thread.
#[derive(Debug)]
pub struct Job<T> {
    result: Receiver<T>,
    taken: bool,
}

/// Why a job gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobLost {
    /// The thread could not be started or panicked.
    Failed,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a new thread named `herald-<name>`, then calls `waker`.
    pub fn spawn(name: &str, waker: &Waker, work: impl FnOnce() -> T + Send + 'static) -> Job<T> {
        let (sender, result) = mpsc::sync_channel(1);
        let waker = Arc::clone(waker);
        let spawned = std::thread::Builder::new()
            .name(format!("herald-{name}"))
            .spawn(move || {
                let _ = sender.send(work());
                waker();
            });
        if let Err(err) = spawned {
            eprintln!("herald: cannot start background work ({name}): {err}");
        }
        Job {
            result,
            taken: false,
        }
    }

    /// The result, once: `None` while running (and after it was taken),
    /// `Some(Err(JobLost))` if the thread died without answering.
    pub fn try_take(&mut self) -> Option<Result<T, JobLost>> {
        if self.taken {
            return None;
        }
        match self.result.try_recv() {
            Ok(value) => {
                self.taken = true;
                Some(Ok(value))
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.taken = true;
                Some(Err(JobLost::Failed))
            }
        }
    }

    /// True until the result has been taken.
    pub fn is_running(&self) -> bool {
        !self.taken
    }

    /// Waits for the result (tests and benchmarks only: never on the UI thread).
    pub fn wait(mut self) -> Result<T, JobLost> {
        if self.taken {
            return Err(JobLost::Failed);
        }
        self.taken = true;
        self.result.recv().map_err(|_| JobLost::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn result_arrives_once_and_wakes_the_window() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&wakes);
        let waker: Waker = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let mut job = Job::spawn("test", &waker, || 6 * 7);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let value = loop {
            if let Some(value) = job.try_take() {
                break value;
            }
            assert!(std::time::Instant::now() < deadline, "job never finished");
            std::thread::yield_now();
        };
        assert_eq!(value, Ok(42));
        assert_eq!(job.try_take(), None);
        assert!(!job.is_running());
        // The wake comes after the send; give the thread a moment to call it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while wakes.load(Ordering::SeqCst) == 0 {
            assert!(std::time::Instant::now() < deadline, "no wake");
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_panicking_job_reports_lost_instead_of_hanging() {
        let waker: Waker = Arc::new(|| {});
        let job: Job<u8> = Job::spawn("panics", &waker, || panic!("boom"));
        assert_eq!(job.wait(), Err(JobLost::Failed));
    }
}
