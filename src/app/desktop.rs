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

use herald_core::sync::Arrived;

/// A desktop notification, in plain text (the desktop may show it with
/// markup: [`SystemDesktop`] escapes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The title line ("New mail in Work").
    pub summary: String,
    /// The text ("Ann Lee: Quarterly report").
    pub body: String,
}

/// Longest sender name or subject in a notification, in characters: the
/// desktop shows a few lines at most.
const NOTIFICATION_PART_CHARS: usize = 80;

impl Notification {
    /// `count` new messages in `account`, of which `arrived` are the first
    /// (from the sync report): one names its sender and subject ("Ann Lee:
    /// Quarterly report"); several, the count and the first one or two
    /// senders ("3 new messages from Ann Lee, Bob Stone and others").
    pub fn new_mail(account: &str, count: u32, arrived: &[Arrived]) -> Notification {
        let summary = format!("New mail in {account}");
        let senders = {
            let mut names: Vec<String> = Vec::new();
            for message in arrived {
                let name = sender(message);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        };
        let body = match (count, arrived, senders.as_slice()) {
            (1, [message], _) => format!(
                "{}: {}",
                sender(message),
                shorten(
                    message
                        .subject
                        .as_deref()
                        .filter(|subject| !subject.trim().is_empty())
                        .unwrap_or("(no subject)")
                )
            ),
            (1, _, _) => "1 new message".to_owned(),
            (_, _, []) => format!("{count} new messages"),
            // Every message is known, and from at most two senders.
            (_, _, [one]) if arrived.len() == count as usize => {
                format!("{count} new messages from {one}")
            }
            (_, _, [one, two]) if arrived.len() == count as usize => {
                format!("{count} new messages from {one} and {two}")
            }
            (_, _, [one]) => format!("{count} new messages from {one} and others"),
            (_, _, [one, two, ..]) => {
                format!("{count} new messages from {one}, {two} and others")
            }
        };
        Notification { summary, body }
    }
}

/// The sender's name, else the address.
fn sender(message: &Arrived) -> String {
    let name = [&message.from_name, &message.from_addr]
        .into_iter()
        .flatten()
        .map(|text| text.trim())
        .find(|text| !text.is_empty())
        .unwrap_or("Unknown sender");
    shorten(name)
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(NOTIFICATION_PART_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// `text` with the characters that start markup escaped: notification
/// services may read the body as markup (bold, links), and sender names and
/// subjects must never become a link or hide part of the text.
fn escape_markup(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
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
                &escape_markup(&notification.body),
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
            summary: "New mail in Work".into(),
            body: "1 new message".into(),
        }
    }

    fn arrived(name: Option<&str>, addr: &str, subject: Option<&str>) -> Arrived {
        Arrived {
            from_name: name.map(str::to_owned),
            from_addr: Some(addr.to_owned()),
            subject: subject.map(str::to_owned),
        }
    }

    #[test]
    fn new_mail_names_one_message_and_the_first_senders_of_several() {
        let ann = arrived(Some("Ann Lee"), "ann@example.org", Some("Quarterly report"));
        let bob = arrived(None, "bob@example.org", Some("Lunch?"));
        let cy = arrived(Some("Cy"), "cy@example.org", None);
        let body = |count, arrived: &[Arrived]| Notification::new_mail("Work", count, arrived).body;
        assert_eq!(
            Notification::new_mail("Work", 1, std::slice::from_ref(&ann)),
            Notification {
                summary: "New mail in Work".into(),
                body: "Ann Lee: Quarterly report".into(),
            }
        );
        assert_eq!(body(1, std::slice::from_ref(&cy)), "Cy: (no subject)");
        assert_eq!(
            body(2, &[ann.clone(), bob.clone()]),
            "2 new messages from Ann Lee and bob@example.org"
        );
        assert_eq!(
            body(2, &[ann.clone(), ann.clone()]),
            "2 new messages from Ann Lee"
        );
        assert_eq!(
            body(3, &[ann.clone(), bob.clone(), cy.clone()]),
            "3 new messages from Ann Lee, bob@example.org and others"
        );
        // Only the first three are in the report: the rest may be anyone.
        assert_eq!(
            body(40, &[ann.clone(), ann.clone(), ann.clone()]),
            "40 new messages from Ann Lee and others"
        );
        assert_eq!(body(4, &[]), "4 new messages");
        let long = arrived(None, "x@example.org", Some(&"word ".repeat(100)));
        let text = body(1, &[long]);
        assert!(text.chars().count() < 100 && text.ends_with('…'), "{text}");
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
            summary: "New mail in Work".into(),
            // A body starting with a dash must not be taken for an option;
            // markup in it (from a subject) stays text.
            body: "--Ann: <a href=\"https://example.org\">Q&A</a>".into(),
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
                "New mail in Work",
                "--Ann: &lt;a href=\"https://example.org\"&gt;Q&amp;A&lt;/a&gt;"
            ]
        );
    }
}
