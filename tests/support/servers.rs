//! Real mail servers for integration tests: a private Dovecot (POP3S) and
//! Postfix (SMTPS) on loopback with a per-run CA, started in a fresh temporary
//! directory by `tests/support/mailservers.py` (its docstring says what runs
//! where). Every `MailServers` is an independent instance on its own ports,
//! so tests using them can run in parallel.
//!
//! ```ignore
//! let servers = MailServers::start(MailServerOptions::default());
//! let alice = servers.user("alice");
//! // connect to servers.host:servers.pop3_port, trusting only servers.ca_pem,
//! // log in with alice.login / alice.password ...
//! ```
//!
//! A server that fails to start fails the test with the script's stderr
//! (tails of the server logs); nothing is ever skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use super::run_with_deadline;

/// The script bounds its own waits (start gives up after 25 s); this is a
/// backstop against a hung interpreter.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(90);

/// What to start.
#[derive(Debug, Clone)]
pub struct MailServerOptions {
    /// Local part and password of each mailbox in `herald.test`. Names:
    /// `[a-z0-9._-]`; passwords: no `:`, `,` or whitespace.
    pub users: Vec<(String, String)>,
    /// Postfix's `message_size_limit`, advertised by EHLO as `SIZE n`.
    pub size_limit_bytes: u64,
}

impl Default for MailServerOptions {
    /// alice and bob, 20 MiB limit.
    fn default() -> Self {
        Self {
            users: vec![
                ("alice".into(), "alice-secret".into()),
                ("bob".into(), "bob-secret".into()),
            ],
            size_limit_bytes: 20 * 1024 * 1024,
        }
    }
}

/// One mailbox.
#[derive(Debug, Clone, Deserialize)]
pub struct MailUser {
    /// `name@herald.test`.
    pub address: String,
    /// What POP3 `USER` and SMTP `AUTH` take (the full address).
    pub login: String,
    pub password: String,
    /// Owned by the `herald-mail` user; add messages with
    /// [`MailServers::deliver`], never by writing files as root.
    pub maildir: PathBuf,
}

/// What POP3 `UIDL` and `LIST` show for one mailbox, in message-number order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerListing {
    pub count: usize,
    pub uidls: Vec<String>,
    /// RFC 1939 sizes: bytes on the wire, CRLF line endings.
    pub sizes: Vec<u64>,
}

#[derive(Deserialize)]
struct Started {
    host: String,
    pop3_port: u16,
    smtp_port: u16,
    wrong_name_host: String,
    wrong_name: String,
    ca_pem: PathBuf,
    domain: String,
    users: BTreeMap<String, MailUser>,
    size_limit: u64,
    logs: BTreeMap<String, PathBuf>,
}

/// A running Dovecot + Postfix pair. Dropping it stops both and deletes the
/// directory; if the test process dies without dropping it (Ctrl-C), a
/// watchdog started with it does the same.
pub struct MailServers {
    /// `127.0.0.1` (connect to the address: `localhost` may resolve to ::1).
    pub host: String,
    /// POP3 over TLS from the first byte (port-995 style).
    pub pop3_port: u16,
    /// SMTP over TLS from the first byte (port-465 style), AUTH PLAIN/LOGIN.
    pub smtp_port: u16,
    /// `127.0.0.2`: the same two ports, but with a certificate from the same
    /// CA for [`Self::wrong_name`] only, so verifying against the address
    /// (or `localhost`) fails with a host-name mismatch.
    pub wrong_name_host: String,
    /// `wrong-name.example`.
    pub wrong_name: String,
    /// The per-run CA (PEM): the only certificate a client should trust.
    pub ca_pem: PathBuf,
    /// `herald.test`.
    pub domain: String,
    pub users: BTreeMap<String, MailUser>,
    pub size_limit_bytes: u64,
    /// Log files by name (`dovecot_pop3`, `dovecot_auth`, `postfix`).
    pub logs: BTreeMap<String, PathBuf>,
    instance: Instance,
}

impl MailServers {
    /// Starts both servers and returns once both accept verified TLS
    /// handshakes and SMTP AUTH works (about half a second). Panics with the
    /// servers' log tails if anything is missing or fails.
    pub fn start(options: MailServerOptions) -> Self {
        let instance = Instance::new();
        let users = options
            .users
            .iter()
            .map(|(name, password)| format!("{name}:{password}"))
            .collect::<Vec<_>>()
            .join(",");
        let stdout = instance.run(&[
            "start",
            &instance.dir_arg(),
            "--users",
            &users,
            "--size-limit",
            &options.size_limit_bytes.to_string(),
            "--owner-pid",
            &std::process::id().to_string(),
        ]);
        let started: Started = serde_json::from_slice(&stdout).unwrap_or_else(|e| {
            panic!(
                "mailservers.py start printed unexpected output ({e}): {}",
                String::from_utf8_lossy(&stdout)
            )
        });
        Self {
            host: started.host,
            pop3_port: started.pop3_port,
            smtp_port: started.smtp_port,
            wrong_name_host: started.wrong_name_host,
            wrong_name: started.wrong_name,
            ca_pem: started.ca_pem,
            domain: started.domain,
            users: started.users,
            size_limit_bytes: started.size_limit,
            logs: started.logs,
            instance,
        }
    }

    /// The script, for tests and benchmarks that drive it directly.
    pub fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mailservers.py")
    }

    /// The instance's directory (configuration, logs, Maildirs).
    pub fn dir(&self) -> &Path {
        self.instance.dir.path()
    }

    /// The mailbox called `name` (local part); panics if there is none.
    pub fn user(&self, name: &str) -> &MailUser {
        self.users
            .get(name)
            .unwrap_or_else(|| panic!("no mail user {name:?}"))
    }

    /// The per-run CA certificate, PEM bytes.
    pub fn ca_pem_bytes(&self) -> Vec<u8> {
        std::fs::read(&self.ca_pem).expect("read the per-run CA")
    }

    /// Stops Dovecot's POP3 side: the port refuses connections and open
    /// sessions are cut. SMTP keeps working (including AUTH: Postfix asks a
    /// separate, auth-only Dovecot).
    pub fn stop_pop3(&self) {
        self.instance.run(&["stop-pop3", &self.instance.dir_arg()]);
    }

    /// Starts POP3 again on the same port, with the same mailboxes.
    pub fn start_pop3(&self) {
        self.instance.run(&["start-pop3", &self.instance.dir_arg()]);
    }

    /// Drops the message file into `user`'s Maildir/new unchanged (no SMTP,
    /// no added headers). Files with LF line ends are served with CRLF.
    pub fn deliver(&self, user: &str, eml: &Path) {
        self.deliver_all(user, &[eml]);
    }

    /// Delivers many files in one go, in order: their POP3 message numbers
    /// follow the order of `emls` (5,000 files take about a second).
    pub fn deliver_all<P: AsRef<Path>>(&self, user: &str, emls: &[P]) {
        for chunk in emls.chunks(1000) {
            let mut args = vec![
                "deliver".to_string(),
                self.instance.dir_arg(),
                user.to_string(),
            ];
            args.extend(
                chunk
                    .iter()
                    .map(|p| p.as_ref().to_string_lossy().into_owned()),
            );
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.instance.run(&args);
        }
    }

    /// Writes `bytes` to a file in the instance directory and delivers it.
    pub fn deliver_bytes(&self, user: &str, bytes: &[u8]) {
        let file = tempfile::NamedTempFile::new_in(self.dir()).expect("create message file");
        std::fs::write(file.path(), bytes).expect("write message file");
        self.deliver(user, file.path());
    }

    /// `(count, UIDLs)` of `user`'s mailbox as seen over real POP3S by
    /// Python's poplib: an oracle independent of Herald.
    pub fn server_stat(&self, user: &str) -> (usize, Vec<String>) {
        let listing = self.server_listing(user);
        (listing.count, listing.uidls)
    }

    /// UIDLs and sizes of `user`'s mailbox over real POP3S.
    pub fn server_listing(&self, user: &str) -> ServerListing {
        self.stat(&["stat", &self.instance.dir_arg(), user])
    }

    /// Polls over POP3S until `user` has exactly `count` messages (mail sent
    /// over SMTP arrives asynchronously); panics after `timeout`.
    pub fn wait_for_count(&self, user: &str, count: usize, timeout: Duration) -> ServerListing {
        self.stat(&[
            "stat",
            &self.instance.dir_arg(),
            user,
            "--wait-count",
            &count.to_string(),
            "--timeout",
            &timeout.as_secs_f64().to_string(),
        ])
    }

    fn stat(&self, args: &[&str]) -> ServerListing {
        let stdout = self.instance.run(args);
        serde_json::from_slice(&stdout).unwrap_or_else(|e| {
            panic!(
                "mailservers.py stat printed unexpected output ({e}): {}",
                String::from_utf8_lossy(&stdout)
            )
        })
    }

    /// Stops both servers now (dropping does it too); panics on failure.
    pub fn stop(&mut self) {
        self.instance.run(&["stop", &self.instance.dir_arg()]);
        self.instance.stopped = true;
    }
}

/// The directory and the duty to stop what runs in it. Kept apart from
/// `MailServers` so that a panic while starting still stops the servers.
struct Instance {
    dir: tempfile::TempDir,
    stopped: bool,
}

impl Instance {
    fn new() -> Self {
        // Short and under /tmp: socket paths are limited to 108 bytes, and the
        // servers' unprivileged users must be able to traverse every parent.
        let dir = tempfile::Builder::new()
            .prefix("herald-mail.")
            .tempdir_in("/tmp")
            .expect("create a directory for the mail servers");
        Self {
            dir,
            stopped: false,
        }
    }

    fn dir_arg(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    /// Runs a subcommand; panics with its stderr unless it succeeds.
    fn run(&self, args: &[&str]) -> Vec<u8> {
        let output = run_with_deadline(
            Command::new("python3")
                .arg(MailServers::script())
                .args(args),
            SCRIPT_DEADLINE,
        );
        assert!(
            output.status.success(),
            "mailservers.py {} failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

impl Drop for Instance {
    /// Never panics: a failure to stop is reported on stderr.
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let result = Command::new("python3")
            .arg(MailServers::script())
            .arg("stop")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match result {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "warning: stopping the mail servers in {} failed: {}",
                self.dir.path().display(),
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(e) => eprintln!("warning: cannot run mailservers.py stop: {e}"),
        }
    }
}
