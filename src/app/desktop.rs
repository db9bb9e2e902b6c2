//! What the window asks of the desktop session: open a file or a link with
//! the user's programs, show a notification. Behind the [`Desktop`] trait so
//! that tests (and scripted runs) record the requests instead of launching
//! programs; [`SystemDesktop`] is the real one.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// A desktop notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The title line ("Herald").
    pub summary: String,
    /// The text ("3 new messages in Work").
    pub body: String,
}

/// The desktop session's services.
pub trait Desktop: Send + Sync {
    /// Opens `path` with the program the system associates with its type,
    /// without waiting for that program. Called in a job, never on the UI
    /// thread.
    fn open_file(&self, path: &Path) -> io::Result<()>;

    /// Opens `url` (already confirmed by the user) in the browser or mail
    /// program, without waiting. Called in a job.
    fn open_url(&self, url: &str) -> io::Result<()>;

    /// Shows `notification`. Called on the UI thread, so it must return at
    /// once, and a missing notification service is no error to report.
    fn notify(&self, notification: &Notification);
}

/// The real desktop: the `open` crate (xdg-open, `open`, `start`) for files
/// and links, `notify-send` (libnotify, on Linux and the BSDs) for
/// notifications.
#[derive(Debug)]
pub struct SystemDesktop {
    /// The notification program and any arguments before ours.
    notify_command: Vec<OsString>,
    /// The notification program was not found: it is not tried again this
    /// session (no notifications, and no thread per new message).
    notify_missing: Arc<AtomicBool>,
}

impl Default for SystemDesktop {
    fn default() -> Self {
        SystemDesktop::with_notify_command(["notify-send"])
    }
}

impl SystemDesktop {
    /// The system desktop with `notify-send` for notifications.
    pub fn new() -> SystemDesktop {
        SystemDesktop::default()
    }

    /// The system desktop with `command` (a program and its first
    /// arguments) run for notifications, followed by `notify-send`'s
    /// arguments.
    pub fn with_notify_command(
        command: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> SystemDesktop {
        SystemDesktop {
            notify_command: command.into_iter().map(Into::into).collect(),
            notify_missing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True once the notification program turned out not to exist.
    pub fn notifications_unavailable(&self) -> bool {
        self.notify_missing.load(Ordering::Relaxed)
    }
}

impl Desktop for SystemDesktop {
    fn open_file(&self, path: &Path) -> io::Result<()> {
        open::that_detached(path)
    }

    fn open_url(&self, url: &str) -> io::Result<()> {
        open::that_detached(url)
    }

    fn notify(&self, notification: &Notification) {
        let Some((program, first_args)) = self.notify_command.split_first() else {
            return;
        };
        if self.notifications_unavailable() {
            return;
        }
        let mut command = Command::new(program);
        command
            .args(first_args)
            .args([
                "--app-name=Herald",
                "--icon=mail-unread",
                "--",
                &notification.summary,
                &notification.body,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let missing = Arc::clone(&self.notify_missing);
        // A notification daemon may be slow or absent (notify-send waits for
        // D-Bus): never on the UI thread.
        let spawned = std::thread::Builder::new()
            .name("herald-notify".into())
            .spawn(move || {
                if let Err(error) = command.status()
                    && error.kind() == io::ErrorKind::NotFound
                {
                    missing.store(true, Ordering::Relaxed);
                }
            });
        drop(spawned);
    }
}

/// What a [`RecordingDesktop`] was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesktopRequest {
    /// [`Desktop::open_file`].
    OpenFile(std::path::PathBuf),
    /// [`Desktop::open_url`].
    OpenUrl(String),
    /// [`Desktop::notify`].
    Notify(Notification),
}

/// Records what the window asked for instead of doing it: for tests and
/// scripted runs (screenshots) that must not launch programs or show
/// notifications. Opening succeeds.
#[derive(Debug, Default)]
pub struct RecordingDesktop {
    requests: Mutex<Vec<DesktopRequest>>,
}

impl RecordingDesktop {
    /// Everything asked for so far, oldest first.
    pub fn requests(&self) -> Vec<DesktopRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The notifications asked for so far, oldest first.
    pub fn notifications(&self) -> Vec<Notification> {
        self.requests()
            .into_iter()
            .filter_map(|request| match request {
                DesktopRequest::Notify(notification) => Some(notification),
                _ => None,
            })
            .collect()
    }

    fn record(&self, request: DesktopRequest) {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request);
    }
}

impl Desktop for RecordingDesktop {
    fn open_file(&self, path: &Path) -> io::Result<()> {
        self.record(DesktopRequest::OpenFile(path.to_path_buf()));
        Ok(())
    }

    fn open_url(&self, url: &str) -> io::Result<()> {
        self.record(DesktopRequest::OpenUrl(url.to_owned()));
        Ok(())
    }

    fn notify(&self, notification: &Notification) {
        self.record(DesktopRequest::Notify(notification.clone()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed step should fail the test")]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn note() -> Notification {
        Notification {
            summary: "Herald".into(),
            body: "1 new message in Work".into(),
        }
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_missing_notify_send_is_quiet_and_not_tried_again() {
        let desktop = SystemDesktop::with_notify_command(["/nonexistent/herald/notify-send"]);
        let started = Instant::now();
        desktop.notify(&note());
        assert!(started.elapsed() < Duration::from_millis(500));
        wait_for("the missing program to be noticed", || {
            desktop.notifications_unavailable()
        });
        // Later notifications return at once without starting anything.
        desktop.notify(&note());
        assert!(desktop.notifications_unavailable());
    }

    #[cfg(unix)]
    #[test]
    fn a_hanging_notification_service_never_blocks_the_caller() {
        let desktop = SystemDesktop::with_notify_command(["sh", "-c", "sleep 5", "notify"]);
        let started = Instant::now();
        desktop.notify(&note());
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "notify waited {:?}",
            started.elapsed()
        );
        assert!(!desktop.notifications_unavailable());
    }

    #[cfg(unix)]
    #[test]
    fn notify_send_gets_the_summary_and_body_after_its_options() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        let script = format!("printf '%s\\n' \"$@\" > '{}'", out.display());
        let desktop = SystemDesktop::with_notify_command(["sh", "-c", &script, "notify"]);
        desktop.notify(&Notification {
            summary: "Herald".into(),
            // A body starting with a dash must not be taken for an option.
            body: "--1 new message".into(),
        });
        wait_for("the arguments", || {
            std::fs::read_to_string(&out).is_ok_and(|text| text.lines().count() == 5)
        });
        let args = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            args.lines().collect::<Vec<_>>(),
            [
                "--app-name=Herald",
                "--icon=mail-unread",
                "--",
                "Herald",
                "--1 new message"
            ]
        );
    }
}
