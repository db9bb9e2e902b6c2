//! The `herald` binary end to end against real servers: Postfix (SMTPS) and
//! Dovecot (POP3S) on loopback with a per-run CA (tests/support/servers.rs).
//! Every check that matters has an oracle independent of Herald: Python's
//! poplib for what is on the server (`server_stat`), Python's `email`
//! package for the MIME tree, openssl for certificate fingerprints, the
//! servers' own Maildir files and Postfix's log. Each test starts its own
//! servers, so they run in parallel; nothing skips (missing Dovecot, Postfix,
//! python3 or openssl fails the test).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::servers::{MailServerOptions, MailServers};
use support::{files_under, herald, run_with_deadline, sha256_hex};

/// For one `herald` command: a hang is a bug, not a slow test.
const DEADLINE: Duration = Duration::from_secs(60);
/// No test may touch a real keyring: passwords come from
/// `--password-command`, and the session bus points nowhere.
const NO_BUS: &str = "unix:path=/nonexistent/herald-test-bus";

// ----------------------------------------------------------------- helpers

/// A throw-away profile and the `herald` commands run in it.
struct Herald {
    profile: tempfile::TempDir,
}

impl Herald {
    fn new() -> Herald {
        Herald {
            profile: tempfile::tempdir().expect("profile dir"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = herald();
        command
            .arg("--profile")
            .arg(self.profile.path())
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
            .env("HERALD_IO_TIMEOUT_SECS", "10")
            .env_remove("HERALD_HOME");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        run_with_deadline(&mut self.command(args), DEADLINE)
    }

    /// Runs and insists on exit status 0.
    fn ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "herald {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Runs and insists on exit status 1 (the documented failure status).
    fn fails(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "herald {args:?} should fail with status 1:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn json(&self, args: &[&str]) -> Value {
        parse_json(&self.ok(args))
    }

    /// `account add` for the mailbox `user` (the account is named after
    /// it), trusting the per-run CA.
    fn add_account(&self, servers: &MailServers, user: &str, extra: &[&str]) {
        let password = servers.user(user).password.clone();
        let ca = Some(servers.ca_pem.as_path());
        self.add_account_to(servers, user, &servers.host, &password, ca, extra);
    }

    /// `account add` with the servers reached at `host`, this password and
    /// this extra CA (`None`: only the system's).
    fn add_account_to(
        &self,
        servers: &MailServers,
        user: &str,
        host: &str,
        password: &str,
        ca: Option<&Path>,
        extra: &[&str],
    ) {
        let address = servers.user(user).address.clone();
        let smtp = format!("{host}:{}", servers.smtp_port);
        let pop3 = format!("{host}:{}", servers.pop3_port);
        let command = format!("printf '%s' '{password}'");
        let mut args = vec![
            "account",
            "add",
            "--name",
            user,
            "--email",
            &address,
            "--smtp",
            &smtp,
            "--pop3",
            &pop3,
            "--password-command",
            &command,
        ];
        if let Some(ca) = ca {
            args.extend(["--ca-file", arg(ca)]);
        }
        args.extend(extra);
        self.ok(&args);
    }

    /// `fetch --account NAME --json`, which must succeed; its one summary.
    fn fetch(&self, account: &str) -> Value {
        let summaries = self.json(&["fetch", "--account", account, "--json"]);
        let summaries = summaries.as_array().expect("fetch --json prints an array");
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        let summary = summaries[0].clone();
        assert_eq!(summary["account"], account);
        assert!(summary["error"].is_null(), "{summary}");
        assert_eq!(summary["warnings"], Value::Array(vec![]), "{summary}");
        summary
    }

    fn list(&self, account: &str, folder: &str) -> Vec<Value> {
        let entries = self.json(&["list", "--account", account, "--folder", folder, "--json"]);
        entries
            .as_array()
            .expect("list --json prints an array")
            .clone()
    }

    /// `data/mail/<name>-<hash>` (names used here need no sanitising).
    fn mailbox_dir(&self, account: &str) -> PathBuf {
        let hash = sha256_hex(account.as_bytes());
        self.profile
            .path()
            .join("data/mail")
            .join(format!("{account}-{}", &hash[..8]))
    }

    /// Every file of the account's Inbox (`Maildir/{new,cur}`), path → SHA-256.
    fn inbox_files(&self, account: &str) -> BTreeMap<PathBuf, String> {
        let maildir = self.mailbox_dir(account).join("Maildir");
        ["new", "cur"]
            .iter()
            .flat_map(|sub| files_under(&maildir.join(sub)))
            .map(|path| {
                let digest = sha256_hex(&read(&path));
                (path, digest)
            })
            .collect()
    }
}

fn parse_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write input file");
    path
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Deterministic bytes that do not compress (xorshift).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A message file with LF line ends as a mail server stores it: `body_len`
/// bytes of printable lines, some starting with dots (which POP3 must
/// dot-stuff and Herald must unstuff), one of them a lone dot.
fn message(subject: &str, message_id: &str, body_len: usize) -> Vec<u8> {
    let mut eml = format!(
        "From: Sender <sender@example.org>\nTo: <someone@herald.test>\nSubject: {subject}\n\
         Date: Mon, 4 Mar 2024 10:00:00 +0000\nMessage-ID: <{message_id}>\n\n\
         .\n..two dots\n.leading dot\n"
    )
    .into_bytes();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let seed = message_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let mut line = 0;
    for byte in noise(seed, body_len) {
        eml.push(alphabet[usize::from(byte) % alphabet.len()]);
        line += 1;
        if line == 76 {
            eml.push(b'\n');
            line = 0;
        }
    }
    eml.extend_from_slice(b"\n");
    eml
}

/// What POP3 serves for a file with LF line ends (RFC 1939: CRLF lines).
fn served(lf_file: &[u8]) -> Vec<u8> {
    assert!(!lf_file.contains(&b'\r'), "LF-only input expected");
    let mut out = Vec::with_capacity(lf_file.len() + lf_file.len() / 50);
    for &byte in lf_file {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    out
}

/// The header section of a message (up to the first empty line).
fn header_section(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    let end = text
        .find("\r\n\r\n")
        .or_else(|| text.find("\n\n"))
        .unwrap_or(text.len());
    text[..end].to_string()
}

fn has_header(message: &[u8], name: &str) -> bool {
    header_section(message)
        .lines()
        .any(|line| line.to_ascii_lowercase().starts_with(&format!("{name}:")))
}

/// `delivered` is exactly `sent` behind the trace fields Postfix adds on
/// delivery (Return-Path, X-Original-To, Delivered-To, Received).
fn assert_delivered_as_sent(delivered: &[u8], sent: &[u8], what: &str) {
    assert!(
        delivered.ends_with(sent),
        "{what}: the delivered bytes are not the bytes sent:\n{}",
        header_section(delivered)
    );
    let trace = String::from_utf8_lossy(&delivered[..delivered.len() - sent.len()]).into_owned();
    for line in trace.split("\r\n").filter(|line| !line.is_empty()) {
        let added_by_postfix = [
            "Return-Path:",
            "X-Original-To:",
            "Delivered-To:",
            "Received:",
        ]
        .iter()
        .any(|name| line.starts_with(name))
            || line.starts_with([' ', '\t']);
        assert!(
            added_by_postfix,
            "{what}: unexpected line before the message: {line:?}"
        );
    }
}

/// `message` without its `Bcc:` field (one line here).
fn without_bcc(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(message.to_vec()).expect("utf-8 message");
    let start = text.find("\nBcc: ").expect("a Bcc field") + 1;
    let end = start + text[start..].find('\n').expect("line end") + 1;
    [&message[..start], &message[end..]].concat()
}

fn python_mime_tree(eml: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/py_mime_tree.py");
    let output = run_with_deadline(Command::new("python3").arg(script).arg(eml), DEADLINE);
    assert!(
        output.status.success(),
        "py_mime_tree.py: {}",
        stderr(&output)
    );
    parse_json(&output)
}

/// SHA-256 fingerprint of a PEM certificate as openssl prints it
/// (`AB:CD:…`), computed without Herald.
fn openssl_fingerprint(pem: &Path) -> String {
    let output = run_with_deadline(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(pem),
        DEADLINE,
    );
    assert!(output.status.success(), "openssl: {}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let (_, fingerprint) = text
        .trim()
        .split_once('=')
        .expect("openssl prints X=fingerprint");
    assert_eq!(fingerprint.len(), 95, "{text}");
    fingerprint.to_ascii_uppercase()
}

/// The certificates the harness serves (next to its CA).
fn leaf_certificate(servers: &MailServers, file: &str) -> PathBuf {
    let path = servers.ca_pem.with_file_name(file);
    assert!(path.is_file(), "no {}", path.display());
    path
}

/// Every message file in a server-side Maildir, keyed by Message-ID.
fn server_files_by_message_id(maildir: &Path) -> BTreeMap<String, Vec<u8>> {
    ["new", "cur"]
        .iter()
        .flat_map(|sub| files_under(&maildir.join(sub)))
        .map(|path| {
            let bytes = read(&path);
            (message_id(&bytes), bytes)
        })
        .collect()
}

fn message_id(message: &[u8]) -> String {
    header_section(message)
        .lines()
        .find_map(|line| {
            let lower = line.to_ascii_lowercase();
            lower
                .starts_with("message-id:")
                .then(|| line["message-id:".len()..].trim().to_string())
        })
        .unwrap_or_else(|| panic!("no Message-ID in {}", header_section(message)))
}

/// The `disconnect` lines of Postfix's SMTPS listener (one per session, with
/// its command counts, e.g. `ehlo=1 auth=1 mail=1 rcpt=1/2 rset=1`).
fn smtp_sessions(servers: &MailServers) -> Vec<String> {
    let log = std::fs::read_to_string(&servers.logs["postfix"]).unwrap_or_default();
    log.lines()
        .filter(|line| line.contains("/smtps/smtpd[") && line.contains("disconnect from"))
        .map(str::to_owned)
        .collect()
}

/// How many SMTPS sessions Postfix has logged once the harness's own have
/// all been logged: its last one (after greeting probes) is an AUTH check,
/// `ehlo=1 auth=1 quit=1`. Postfix logs asynchronously, so wait for it.
fn smtp_sessions_after_start(servers: &MailServers) -> usize {
    let started = Instant::now();
    loop {
        let sessions = smtp_sessions(servers);
        if sessions.iter().any(|line| line.contains(" auth=1 ")) {
            return sessions.len();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the harness's AUTH check is not in Postfix's log: {sessions:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (Postfix logs asynchronously) for the session after the first
/// `before` ones and returns its `disconnect` line.
fn next_smtp_session(servers: &MailServers, before: usize) -> String {
    let started = Instant::now();
    loop {
        if let Some(line) = smtp_sessions(servers).get(before) {
            return line.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "Postfix logged no new session; log: {}",
            std::fs::read_to_string(&servers.logs["postfix"]).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Sets `uidls.first_seen` for one UIDL in an account's index with Python's
/// sqlite3 (Herald is not running, so nothing holds the database).
fn backdate_first_seen(index: &Path, uidl: &str, first_seen: i64) {
    const SCRIPT: &str = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1])\n\
        changed = db.execute('UPDATE uidls SET first_seen = ? WHERE uidl = ?', (int(sys.argv[3]), sys.argv[2])).rowcount\n\
        db.commit()\n\
        db.close()\n\
        print(changed)\n";
    let output = run_with_deadline(
        Command::new("python3")
            .args(["-c", SCRIPT])
            .arg(index)
            .arg(uidl)
            .arg(first_seen.to_string()),
        DEADLINE,
    );
    assert!(output.status.success(), "sqlite3: {}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "1",
        "uidl {uidl} tracked in {}",
        index.display()
    );
}

fn servers_with(users: &[&str], size_limit_bytes: u64) -> MailServers {
    MailServers::start(MailServerOptions {
        users: users
            .iter()
            .map(|user| (user.to_string(), format!("{user}-secret")))
            .collect(),
        size_limit_bytes,
    })
}

fn default_servers() -> MailServers {
    servers_with(&["alice", "bob"], 20 * 1024 * 1024)
}

/// Delivers one message per entry of `sizes` (its body length) to `user`,
/// in order; returns their files' bytes (LF line ends), in POP3 order.
fn deliver_messages(
    servers: &MailServers,
    dir: &Path,
    user: &str,
    prefix: &str,
    sizes: &[usize],
) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut messages = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let bytes = message(
            &format!("{prefix} {i}"),
            &format!("{prefix}-{i}@example.org"),
            *size,
        );
        paths.push(write(dir, &format!("{prefix}-{i}.eml"), &bytes));
        messages.push(bytes);
    }
    servers.deliver_all(user, &paths);
    messages
}

/// Each listed entry's file holds exactly what the server served for the
/// delivered message with the same subject.
fn assert_stored_as_served(entries: &[Value], delivered: &[Vec<u8>]) {
    for entry in entries {
        assert_eq!(entry["downloaded"], true, "{entry}");
        // Mon, 4 Mar 2024 10:00:00 +0000, read from the headers at download.
        assert_eq!(entry["date"], 1_709_546_400, "{entry}");
        let subject = entry["subject"].as_str().expect("subject");
        let original = delivered
            .iter()
            .find(|bytes| header_section(bytes).contains(&format!("Subject: {subject}\n")))
            .unwrap_or_else(|| panic!("no delivered message {subject:?}"));
        let path = PathBuf::from(
            entry["path"]
                .as_str()
                .expect("a downloaded entry has a path"),
        );
        assert!(
            read(&path) == served(original),
            "{subject}: the stored file differs from what the server served"
        );
    }
}

fn uidls_of(entries: &[Value]) -> BTreeSet<String> {
    entries
        .iter()
        .map(|entry| entry["uidl"].as_str().expect("uidl").to_owned())
        .collect()
}

// ------------------------------------------------------------------- tests

/// Compose with two inline images, two attachments with non-ASCII names
/// and a Bcc → Postfix → Dovecot → fetch: Herald's reading, Python's
/// reading and the saved bytes all match what was sent; Bcc is delivered
/// but hidden; a second fetch downloads nothing and changes no file.
#[test]
fn round_trip_through_postfix_and_dovecot_keeps_names_ids_and_bytes() {
    let servers = servers_with(&["alice", "bob", "carol"], 20 * 1024 * 1024);
    let herald = Herald::new();
    for user in ["alice", "bob", "carol"] {
        herald.add_account(&servers, user, &[]);
    }
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();

    let html = write(
        dir,
        "body.html",
        "<html><body><h1>Отчёт / 报告</h1><p>Chart: <img src=\"chart.png\"></p>\
         <p>Logo: <img src=\"cid:logo@herald.test\"></p></body></html>"
            .as_bytes(),
    );
    let mut chart = b"\x89PNG\r\n\x1a\n".to_vec();
    chart.extend(noise(1, 3000));
    let mut logo = b"\x89PNG\r\n\x1a\n".to_vec();
    logo.extend(noise(2, 900));
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    pdf.extend(noise(3, 300 * 1024));
    // windows-1252: é, €, ï, a NUL and a bare LF must survive byte for byte.
    let csv = b"name;price\r\ncaf\xe9;3\x80\r\nna\xefve;\x00\nend\r\n".repeat(40);
    let originals: BTreeMap<&str, &[u8]> = [
        ("chart.png", chart.as_slice()),
        ("logo.png", logo.as_slice()),
        ("年度报告 2024.pdf", pdf.as_slice()),
        ("Отчёт за март (итог).csv", csv.as_slice()),
    ]
    .into_iter()
    .collect();
    for (name, bytes) in &originals {
        write(dir, name, bytes);
    }
    let subject = "Quarterly 报告: round trip";
    let logo_arg = format!("{}=logo@herald.test", arg(&dir.join("logo.png")));
    let sent = herald.json(&[
        "send",
        "--account",
        "alice",
        "--to",
        "Bob <bob@herald.test>",
        "--bcc",
        "carol@herald.test",
        "--subject",
        subject,
        "--html",
        arg(&html),
        "--inline-image",
        arg(&dir.join("chart.png")),
        "--inline-image",
        &logo_arg,
        "--attach",
        arg(&dir.join("年度报告 2024.pdf")),
        "--attach",
        arg(&dir.join("Отчёт за март (итог).csv")),
        "--json",
    ]);
    assert_eq!(sent["recipients"], 2, "{sent}");
    let message_id = sent["message_id"].as_str().expect("message_id").to_owned();
    assert!(message_id.ends_with("@herald.test"), "{message_id}");

    let bob_on_server = servers.wait_for_count("bob", 1, Duration::from_secs(10));
    servers.wait_for_count("carol", 1, Duration::from_secs(10));
    assert_eq!(
        servers.server_stat("alice").0,
        0,
        "nothing went to the sender"
    );

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["on_server"], 1, "{fetched}");
    assert_eq!(fetched["downloaded"], 1, "{fetched}");
    let inbox = herald.list("bob", "inbox");
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let entry = &inbox[0];
    assert_eq!(entry["subject"], subject);
    assert_eq!(entry["from"], "alice@herald.test");
    assert_eq!(entry["has_attachments"], true);
    assert_eq!(
        entry["uidl"].as_str(),
        Some(bob_on_server.uidls[0].as_str())
    );
    let bob_file = PathBuf::from(entry["path"].as_str().expect("path"));
    let bob_bytes = read(&bob_file);
    assert_eq!(entry["size"], bob_bytes.len(), "listed size is the file's");

    // Herald's reading.
    let shown = herald.json(&["show", "--json", arg(&bob_file)]);
    assert_eq!(shown["subject"], subject);
    assert_eq!(shown["from"][0]["email"], "alice@herald.test");
    assert_eq!(shown["to"][0]["email"], "bob@herald.test");
    assert_eq!(shown["message_id"].as_str(), Some(message_id.as_str()));
    assert_eq!(shown["html"], true);
    assert_eq!(shown["warnings"], Value::Array(vec![]), "{shown}");
    let attachments = shown["attachments"].as_array().expect("attachments");
    let by_name: BTreeMap<&str, &Value> = attachments
        .iter()
        .map(|a| (a["raw_filename"].as_str().expect("name"), a))
        .collect();
    assert_eq!(
        by_name.keys().copied().collect::<BTreeSet<_>>(),
        originals.keys().copied().collect::<BTreeSet<_>>(),
        "attachment names"
    );
    for (name, bytes) in &originals {
        let attachment = by_name[name];
        assert_eq!(attachment["sha256"], sha256_hex(bytes), "{name}");
        assert_eq!(attachment["size"], bytes.len(), "{name}");
        let inline = name.ends_with(".png");
        assert_eq!(attachment["inline"], inline, "{name}");
        assert_eq!(attachment["content_id"].is_string(), inline, "{name}");
    }
    assert_eq!(by_name["logo.png"]["content_id"], "logo@herald.test");
    let chart_cid = by_name["chart.png"]["content_id"].as_str().expect("cid");
    assert!(
        shown["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .all(|p| p["content_id"].is_null() || p["content_type"] == "image/png"),
        "only the images have content-ids"
    );

    // Python's reading of the same file agrees part by part.
    let python = python_mime_tree(&bob_file);
    assert_eq!(python["subject"], subject);
    let ours = shown["parts"].as_array().expect("parts");
    let theirs = python["parts"].as_array().expect("parts");
    assert_eq!(ours.len(), theirs.len(), "part count");
    for (our, their) in ours.iter().zip(theirs) {
        assert_eq!(our["path"], their["path"]);
        assert_eq!(
            our["content_type"], their["content_type"],
            "{}",
            our["path"]
        );
        assert_eq!(our["raw_filename"], their["filename"], "{}", our["path"]);
        assert_eq!(our["content_id"], their["content_id"], "{}", our["path"]);
        if our["kind"] == "leaf" {
            assert_eq!(our["size"], their["size"], "{}", our["path"]);
        }
    }
    for attachment in attachments {
        let their = theirs
            .iter()
            .find(|p| p["path"] == attachment["part_path"])
            .expect("python sees the same part");
        assert_eq!(their["sha256"], attachment["sha256"], "{attachment}");
    }
    assert!(theirs.iter().any(|p| p["content_id"] == chart_cid));

    // The bytes saved are the files attached.
    let saved_dir = dir.join("saved");
    let saved = herald.json(&[
        "save-attachments",
        arg(&bob_file),
        "--to",
        arg(&saved_dir),
        "--include-inline",
    ]);
    let saved = saved.as_array().expect("saved array");
    assert_eq!(saved.len(), originals.len(), "{saved:?}");
    for item in saved {
        let path = PathBuf::from(item["path"].as_str().expect("path"));
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let original = originals
            .get(name)
            .unwrap_or_else(|| panic!("saved under an unexpected name {name:?}"));
        assert_eq!(sha256_hex(&read(&path)), sha256_hex(original), "{name}");
        assert_eq!(item["sha256"], sha256_hex(original), "{name}");
    }

    // Bcc: carol got it, nobody's copy shows her, alice's Sent copy does.
    assert!(
        !has_header(&bob_bytes, "bcc"),
        "bob's copy has a Bcc header"
    );
    assert!(
        !header_section(&bob_bytes).contains("carol"),
        "bob's copy names the Bcc recipient: {}",
        header_section(&bob_bytes)
    );
    let fetched = herald.fetch("carol");
    assert_eq!(fetched["downloaded"], 1, "{fetched}");
    let carol = herald.list("carol", "inbox");
    assert_eq!(carol.len(), 1);
    let carol_bytes = read(Path::new(carol[0]["path"].as_str().expect("path")));
    assert_eq!(message_id_of(&carol_bytes), message_id);
    assert!(
        !has_header(&carol_bytes, "bcc"),
        "carol's copy has a Bcc header"
    );
    let sent_folder = herald.list("alice", "sent");
    assert_eq!(sent_folder.len(), 1, "{sent_folder:?}");
    assert_eq!(sent_folder[0]["subject"], subject);
    assert_eq!(sent_folder[0]["id"], sent["sent_id"]);
    let sent_copy = read(Path::new(sent_folder[0]["path"].as_str().expect("path")));
    assert_eq!(message_id_of(&sent_copy), message_id);
    let bcc_line = header_section(&sent_copy)
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("bcc:"))
        .map(str::to_owned);
    assert_eq!(bcc_line.as_deref(), Some("Bcc: carol@herald.test"));
    let sendable = without_bcc(&sent_copy);
    assert_eq!(sent["bytes"], sendable.len(), "{sent}");
    assert_delivered_as_sent(&bob_bytes, &sendable, "bob");
    assert_delivered_as_sent(&carol_bytes, &sendable, "carol");
    assert!(
        herald.list("alice", "outbox").is_empty(),
        "nothing left in Outbox"
    );

    // A second fetch downloads nothing and leaves every file as it was.
    let before = herald.inbox_files("bob");
    let again = herald.fetch("bob");
    assert_eq!(again["downloaded"], 0, "{again}");
    assert_eq!(again["skipped"], 1, "{again}");
    assert_eq!(again["headers_only"], 0, "{again}");
    assert_eq!(again["bytes"], 0, "{again}");
    assert_eq!(herald.inbox_files("bob"), before);
    assert_eq!(herald.list("bob", "inbox").len(), 1);
    assert_eq!(servers.server_stat("bob"), (1, bob_on_server.uidls));
}

/// `send FILE.eml` sends the file's bytes (minus Bcc, line ends made CRLF,
/// dot-stuffed on the wire and unstuffed by the server) to every
/// recipient, Bcc included, and keeps the file unchanged as the Sent copy.
#[test]
fn a_message_file_is_sent_as_it_is_without_its_bcc_field() {
    let servers = servers_with(&["alice", "bob", "carol"], 20 * 1024 * 1024);
    let herald = Herald::new();
    for user in ["alice", "bob", "carol"] {
        herald.add_account(&servers, user, &[]);
    }
    let work = tempfile::tempdir().expect("work dir");
    let dir = work.path();

    // Composed by Herald (CRLF) with dot lines in the text.
    let text = write(
        dir,
        "body.txt",
        ".\n..two dots\n.leading dot\nПривет, 你好\n".as_bytes(),
    );
    let composed = dir.join("composed.eml");
    herald.ok(&[
        "compose",
        "--from",
        "Alice <alice@herald.test>",
        "--to",
        "bob@herald.test",
        "--bcc",
        "carol@herald.test",
        "--subject",
        "from a file",
        "--text",
        arg(&text),
        "--out",
        arg(&composed),
    ]);
    // Written by hand with LF line ends, as another program might (with a
    // Date: Postfix would add one to a message without).
    let by_hand = write(
        dir,
        "by-hand.eml",
        b"From: alice@herald.test\nTo: bob@herald.test\nBcc: carol@herald.test\n\
          Subject: by hand\nDate: Mon, 4 Mar 2024 10:00:00 +0000\n\
          Message-ID: <by-hand@herald.test>\n\n.\n..x\nbody\n",
    );
    for (file, count) in [(&composed, 1), (&by_hand, 2)] {
        let sent = herald.json(&["send", "--account", "alice", arg(file), "--json"]);
        assert_eq!(sent["recipients"], 2, "{sent}");
        servers.wait_for_count("bob", count, Duration::from_secs(10));
        servers.wait_for_count("carol", count, Duration::from_secs(10));
    }
    herald.fetch("bob");
    herald.fetch("carol");

    let sent_folder = herald.list("alice", "sent");
    assert_eq!(sent_folder.len(), 2);
    for (file, subject) in [(&composed, "from a file"), (&by_hand, "by hand")] {
        let original = read(file);
        let sent_copy = sent_folder
            .iter()
            .find(|entry| entry["subject"] == subject)
            .expect("in Sent");
        assert!(
            read(Path::new(sent_copy["path"].as_str().expect("path"))) == original,
            "{subject}: the Sent copy is the file as it was"
        );
        let sendable = if original.contains(&b'\r') {
            without_bcc(&original)
        } else {
            served(&without_bcc(&original))
        };
        for user in ["bob", "carol"] {
            let inbox = herald.list(user, "inbox");
            let entry = inbox
                .iter()
                .find(|entry| entry["subject"] == subject)
                .unwrap_or_else(|| panic!("{user} got no {subject:?}"));
            let delivered = read(Path::new(entry["path"].as_str().expect("path")));
            assert!(!has_header(&delivered, "bcc"), "{user}: {subject}");
            assert_delivered_as_sent(&delivered, &sendable, &format!("{user}: {subject}"));
        }
    }
    assert!(herald.list("alice", "outbox").is_empty());
}

fn message_id_of(message: &[u8]) -> String {
    message_id(message)
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// The default policy: everything stays on the server.
#[test]
fn leave_on_server_deletes_nothing() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(&servers, "bob", &["--leave-on-server"]);
    let work = tempfile::tempdir().expect("work dir");
    let delivered = deliver_messages(&servers, work.path(), "bob", "keep", &[2_000, 30_000, 500]);
    let (_, uidls) = servers.server_stat("bob");

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 3, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 0, "{fetched}");
    let inbox = herald.list("bob", "inbox");
    assert_stored_as_served(&inbox, &delivered);
    assert_eq!(uidls_of(&inbox), uidls.iter().cloned().collect());
    assert_eq!(servers.server_stat("bob"), (3, uidls));
}

/// Delete after download: the server is emptied, and each deleted message
/// is stored locally, byte for byte.
#[test]
fn delete_after_download_deletes_exactly_what_is_stored() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(&servers, "bob", &["--delete-after-download"]);
    let work = tempfile::tempdir().expect("work dir");
    let delivered = deliver_messages(&servers, work.path(), "bob", "gone", &[2_000, 30_000, 500]);
    let (_, uidls) = servers.server_stat("bob");

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 3, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 3, "{fetched}");
    assert_eq!(servers.server_stat("bob"), (0, vec![]));
    let inbox = herald.list("bob", "inbox");
    assert_eq!(uidls_of(&inbox), uidls.iter().cloned().collect());
    assert_stored_as_served(&inbox, &delivered);

    // New mail after that: only it is downloaded (and deleted).
    let later = deliver_messages(&servers, work.path(), "bob", "later", &[1_000]);
    let fetched = herald.fetch("bob");
    assert_eq!(fetched["on_server"], 1, "{fetched}");
    assert_eq!(fetched["downloaded"], 1, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 1, "{fetched}");
    assert_eq!(servers.server_stat("bob").0, 0);
    let inbox = herald.list("bob", "inbox");
    assert_eq!(inbox.len(), 4);
    assert_stored_as_served(&inbox, &[delivered, later].concat());
}

/// Delete after N days: nothing goes on the first fetch; once a message's
/// first-seen time is N days back, the next fetch deletes exactly it.
#[test]
fn delete_after_days_deletes_only_messages_old_enough() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(&servers, "bob", &["--delete-after-days", "3"]);
    let work = tempfile::tempdir().expect("work dir");
    let delivered = deliver_messages(
        &servers,
        work.path(),
        "bob",
        "aging",
        &[1_000, 2_000, 3_000],
    );
    let (_, uidls) = servers.server_stat("bob");

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 3, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 0, "{fetched}");
    assert_eq!(servers.server_stat("bob"), (3, uidls.clone()));
    assert_stored_as_served(&herald.list("bob", "inbox"), &delivered);

    // Herald is not running: make the first message 3 days + 1 h old and
    // the second 3 days − 1 h old.
    let index = herald.mailbox_dir("bob").join("index.sqlite");
    assert!(index.is_file(), "no index at {}", index.display());
    let now = unix_now();
    backdate_first_seen(&index, &uidls[0], now - 3 * 86_400 - 3_600);
    backdate_first_seen(&index, &uidls[1], now - 3 * 86_400 + 3_600);

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 0, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 1, "{fetched}");
    assert_eq!(
        servers.server_stat("bob"),
        (2, uidls[1..].to_vec()),
        "only the message first seen over 3 days ago is deleted"
    );
    // The local copy stays.
    let inbox = herald.list("bob", "inbox");
    assert_eq!(uidls_of(&inbox), uidls.iter().cloned().collect());
}

/// Delete when deleted locally: `herald delete` (to Trash) one message, and
/// the next fetch deletes exactly that one on the server.
#[test]
fn delete_when_deleted_locally_deletes_exactly_the_deleted_message() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(&servers, "bob", &["--delete-when-deleted-locally"]);
    let work = tempfile::tempdir().expect("work dir");
    deliver_messages(
        &servers,
        work.path(),
        "bob",
        "local",
        &[1_000, 2_000, 3_000],
    );
    let (_, uidls) = servers.server_stat("bob");

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 3, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 0, "{fetched}");
    assert_eq!(servers.server_stat("bob"), (3, uidls.clone()));

    let inbox = herald.list("bob", "inbox");
    let victim = inbox
        .iter()
        .find(|entry| entry["uidl"] == uidls[1].as_str())
        .expect("the second message is listed");
    let id = victim["id"].to_string();
    herald.ok(&["delete", "--account", "bob", &id]);
    let trash = herald.list("bob", "trash");
    assert_eq!(trash.len(), 1, "{trash:?}");
    assert_eq!(trash[0]["uidl"], uidls[1].as_str());
    assert!(Path::new(trash[0]["path"].as_str().expect("path")).is_file());
    assert_eq!(
        servers.server_stat("bob").0,
        3,
        "nothing happens before a fetch"
    );

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 0, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 1, "{fetched}");
    assert_eq!(
        servers.server_stat("bob"),
        (2, vec![uidls[0].clone(), uidls[2].clone()])
    );
    // And it is not downloaded again, nor is anything else deleted.
    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 0, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 0, "{fetched}");
    assert_eq!(servers.server_stat("bob").0, 2);
    assert_eq!(herald.list("bob", "inbox").len(), 2);
}

/// A message over the account's size limit is recorded from its headers
/// only, shown as not downloaded on the server list, and never deleted by
/// delete-after-download.
#[test]
fn a_message_over_the_size_limit_is_headers_only_and_stays_on_the_server() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(
        &servers,
        "bob",
        &["--delete-after-download", "--max-message-size", "50000"],
    );
    let accounts = herald.json(&["account", "list", "--json"]);
    assert_eq!(accounts[0]["max_message_size"], 50_000, "{accounts}");
    let work = tempfile::tempdir().expect("work dir");
    let delivered = deliver_messages(
        &servers,
        work.path(),
        "bob",
        "sized",
        &[1_000, 120_000, 2_000],
    );
    let (_, uidls) = servers.server_stat("bob");
    let big_uidl = uidls[1].clone();

    let fetched = herald.fetch("bob");
    assert_eq!(fetched["on_server"], 3, "{fetched}");
    assert_eq!(fetched["downloaded"], 2, "{fetched}");
    assert_eq!(fetched["headers_only"], 1, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 2, "{fetched}");
    assert_eq!(servers.server_stat("bob"), (1, vec![big_uidl.clone()]));

    let inbox = herald.list("bob", "inbox");
    assert_eq!(inbox.len(), 3, "{inbox:?}");
    let (big, small): (Vec<Value>, Vec<Value>) = inbox
        .into_iter()
        .partition(|entry| entry["uidl"] == big_uidl.as_str());
    assert_stored_as_served(&small, &delivered);
    let big = &big[0];
    assert_eq!(big["downloaded"], false, "{big}");
    assert!(big["path"].is_null(), "{big}");
    assert_eq!(big["subject"], "sized 1");
    assert_eq!(big["from"], "sender@example.org");
    assert_eq!(big["from_name"], "Sender");
    assert_eq!(big["size"], served(&delivered[1]).len());

    let on_server = herald.json(&["server-list", "--account", "bob", "--json"]);
    let on_server = on_server.as_array().expect("array");
    assert_eq!(on_server.len(), 1, "{on_server:?}");
    assert_eq!(on_server[0]["uidl"], big_uidl.as_str());
    assert_eq!(on_server[0]["downloaded"], false);
    assert_eq!(on_server[0]["subject"], "sized 1");
    assert_eq!(on_server[0]["size"], served(&delivered[1]).len());

    // Fetching again changes nothing: still headers only, still there.
    let fetched = herald.fetch("bob");
    assert_eq!(fetched["downloaded"], 0, "{fetched}");
    assert_eq!(fetched["headers_only"], 0, "{fetched}");
    assert_eq!(fetched["skipped"], 1, "{fetched}");
    assert_eq!(fetched["deleted_on_server"], 0, "{fetched}");
    assert_eq!(servers.server_stat("bob"), (1, vec![big_uidl]));
    assert_eq!(herald.list("bob", "inbox").len(), 3);
}

/// A wrong password: fetch and `account test` say the server refused the
/// user name or password; nothing is stored, nothing leaves the server.
#[test]
fn a_wrong_password_is_refused_and_nothing_is_stored() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account_to(
        &servers,
        "bob",
        &servers.host,
        "not-the-password",
        Some(&servers.ca_pem),
        &["--delete-after-download"],
    );
    let work = tempfile::tempdir().expect("work dir");
    deliver_messages(&servers, work.path(), "bob", "waiting", &[1_000]);

    let output = herald.fails(&["fetch", "--account", "bob"]);
    assert!(
        stderr(&output).contains("the server refused the user name or password"),
        "{}",
        stderr(&output)
    );
    let output = herald.fails(&["fetch", "--account", "bob", "--json"]);
    let summary = &parse_json(&output)[0];
    assert_eq!(summary["error"]["kind"], "auth_rejected", "{summary}");
    assert!(summary["downloaded"].is_null(), "{summary}");

    let output = herald.fails(&["account", "test", "bob", "--json"]);
    let report = parse_json(&output);
    for server in ["pop3", "smtp"] {
        let check = &report[server];
        assert_eq!(check["logged_in"], false, "{check}");
        assert_eq!(check["failure"]["kind"], "auth_rejected", "{check}");
        assert!(
            check["failure"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("refused the user name or password"),
            "{check}"
        );
        // Connecting and TLS worked; only the login failed.
        assert!(check["certificate"]["sha256_hex"].is_string(), "{check}");
    }
    assert!(
        stderr(&output).contains("refused the user name or password"),
        "{}",
        stderr(&output)
    );
    // The SMTP session of the refused login still ended with QUIT.
    let started = Instant::now();
    let refused_login = loop {
        let sessions = smtp_sessions(&servers);
        if let Some(line) = sessions.iter().find(|line| line.contains(" auth=0/1 ")) {
            break line.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{sessions:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(refused_login.contains("quit=1"), "{refused_login}");

    assert!(herald.list("bob", "inbox").is_empty());
    let stored: Vec<PathBuf> = files_under(&herald.mailbox_dir("bob").join("Maildir"))
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|n| n != "maildirfolder"))
        .collect();
    assert!(stored.is_empty(), "{stored:?}");
    assert_eq!(
        servers.server_stat("bob").0,
        1,
        "the message is still there"
    );
}

/// A certificate from a CA the account does not trust: every command says
/// so with the certificate's SHA-256 fingerprint, which matches openssl's,
/// and carries the certificate for the window's "trust it?" question.
#[test]
fn an_untrusted_certificate_is_refused_with_its_fingerprint() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account_to(&servers, "bob", &servers.host, "bob-secret", None, &[]);
    let fingerprint = openssl_fingerprint(&leaf_certificate(&servers, "server.pem"));
    let hex = fingerprint.replace(':', "").to_ascii_lowercase();
    let work = tempfile::tempdir().expect("work dir");
    deliver_messages(&servers, work.path(), "bob", "unseen", &[1_000]);

    let output = herald.fails(&["fetch", "--account", "bob", "--json"]);
    let error = &parse_json(&output)[0]["error"];
    assert_eq!(error["kind"], "certificate", "{error}");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("not signed by a certificate authority you trust"),
        "{message}"
    );
    assert!(
        message.contains(&fingerprint),
        "{message} lacks {fingerprint}"
    );
    assert_eq!(error["certificate"]["reason"], "untrusted", "{error}");
    assert_eq!(
        error["certificate"]["certificate"]["sha256_hex"],
        hex.as_str()
    );

    let output = herald.fails(&["account", "test", "bob", "--json"]);
    let report = parse_json(&output);
    for server in ["pop3", "smtp"] {
        let failure = &report[server]["failure"];
        assert_eq!(failure["kind"], "certificate", "{failure}");
        assert_eq!(
            failure["certificate"]["certificate"]["sha256_hex"],
            hex.as_str()
        );
        assert!(
            failure["message"]
                .as_str()
                .unwrap_or_default()
                .contains(&fingerprint)
        );
    }

    let output = herald.fails(&[
        "send",
        "--account",
        "bob",
        "--to",
        "alice@herald.test",
        "--subject",
        "never sent",
        "--text",
        arg(&write(work.path(), "body.txt", b"hello\n")),
    ]);
    let text = stderr(&output);
    assert!(
        text.contains("not signed by a certificate authority you trust"),
        "{text}"
    );
    assert!(text.contains(&fingerprint), "{text}");
    assert!(text.contains("kept in the Outbox"), "{text}");
    let outbox = herald.list("bob", "outbox");
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["subject"], "never sent");

    assert!(herald.list("bob", "inbox").is_empty());
    assert_eq!(servers.server_stat("bob").0, 1);
    assert_eq!(servers.server_stat("alice").0, 0);
}

/// A certificate from the trusted CA but for another name: the error says
/// whom it is for.
#[test]
fn a_certificate_for_another_host_name_is_refused() {
    let servers = default_servers();
    let herald = Herald::new();
    let ca = Some(servers.ca_pem.as_path());
    herald.add_account_to(
        &servers,
        "bob",
        &servers.wrong_name_host,
        "bob-secret",
        ca,
        &[],
    );
    let fingerprint = openssl_fingerprint(&leaf_certificate(&servers, "wrong-name.pem"));
    let expected = format!(
        "it is for {}, not for {}",
        servers.wrong_name, servers.wrong_name_host
    );

    let output = herald.fails(&["fetch", "--account", "bob", "--json"]);
    let error = &parse_json(&output)[0]["error"];
    assert_eq!(error["kind"], "certificate", "{error}");
    assert_eq!(
        error["certificate"]["reason"], "host_name_mismatch",
        "{error}"
    );
    let message = error["message"].as_str().expect("message");
    assert!(message.contains(&expected), "{message}");
    assert!(
        message.contains(&fingerprint),
        "{message} lacks {fingerprint}"
    );

    let work = tempfile::tempdir().expect("work dir");
    let output = herald.fails(&[
        "send",
        "--account",
        "bob",
        "--to",
        "alice@herald.test",
        "--subject",
        "wrong name",
        "--text",
        arg(&write(work.path(), "body.txt", b"hello\n")),
    ]);
    assert!(stderr(&output).contains(&expected), "{}", stderr(&output));
    assert_eq!(herald.list("bob", "outbox").len(), 1);
    assert_eq!(servers.server_stat("alice").0, 0);
}

/// Postfix refuses a recipient, and a message over its size limit: each
/// error says what and why, the messages stay in the Outbox, nothing is
/// delivered (not even to the valid recipient), the oversize one is refused
/// before MAIL FROM, and a flush keeps both with their errors.
#[test]
fn refused_recipients_and_oversize_messages_stay_in_the_outbox() {
    let servers = servers_with(&["alice", "bob"], 200_000);
    let herald = Herald::new();
    herald.add_account(&servers, "alice", &[]);
    herald.add_account(&servers, "bob", &[]);
    let work = tempfile::tempdir().expect("work dir");
    let body = write(work.path(), "body.txt", "Привет.\n".as_bytes());

    let sessions = smtp_sessions_after_start(&servers);
    let output = herald.fails(&[
        "send",
        "--account",
        "alice",
        "--to",
        "bob@herald.test, nobody@herald.test",
        "--subject",
        "to a stranger",
        "--text",
        arg(&body),
    ]);
    let text = stderr(&output);
    assert!(text.contains("refused a recipient"), "{text}");
    assert!(text.contains("nobody@herald.test"), "{text}");
    assert!(
        !text.contains("bob@herald.test"),
        "only the refused address is named: {text}"
    );
    assert!(text.contains("kept in the Outbox"), "{text}");
    assert_eq!(
        text.matches("refused a recipient").count(),
        1,
        "the cause is told once: {text}"
    );
    let session = next_smtp_session(&servers, sessions);
    assert!(session.contains("rcpt=1/2"), "{session}");
    assert!(!session.contains("data="), "DATA was sent: {session}");
    assert!(session.contains("quit=1"), "RFC 5321 wants QUIT: {session}");

    let big = write(work.path(), "big.bin", &noise(9, 400 * 1024));
    let sessions = smtp_sessions(&servers).len();
    let output = herald.fails(&[
        "send",
        "--account",
        "alice",
        "--to",
        "bob@herald.test",
        "--subject",
        "too big",
        "--text",
        arg(&body),
        "--attach",
        arg(&big),
    ]);
    let text = stderr(&output);
    assert!(
        text.contains("larger than the server accepts (0.2 MB)"),
        "{text}"
    );
    assert!(text.contains("nothing was sent"), "{text}");
    assert!(text.contains("kept in the Outbox"), "{text}");
    let session = next_smtp_session(&servers, sessions);
    assert!(
        session.contains(" auth=1 ") && !session.contains("mail=") && !session.contains("data="),
        "refused before MAIL FROM: {session}"
    );
    assert!(session.contains("quit=1"), "RFC 5321 wants QUIT: {session}");

    let outbox = herald.list("alice", "outbox");
    let subjects: BTreeSet<&str> = outbox
        .iter()
        .filter_map(|e| e["subject"].as_str())
        .collect();
    assert_eq!(subjects, BTreeSet::from(["to a stranger", "too big"]));

    // A good message still goes through, and it is the only one bob gets.
    herald.ok(&[
        "send",
        "--account",
        "alice",
        "--to",
        "bob@herald.test",
        "--subject",
        "this one is fine",
        "--text",
        arg(&body),
    ]);
    servers.wait_for_count("bob", 1, Duration::from_secs(10));
    herald.fetch("bob");
    let inbox = herald.list("bob", "inbox");
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["subject"], "this one is fine");

    // Flushing retries nothing that failed permanently and says why each
    // one waits.
    let output = herald.fails(&["outbox", "flush", "--json"]);
    let rows = parse_json(&output);
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in rows {
        assert_eq!(row["held"], true, "{row}");
        assert!(row["sent"].is_null(), "{row}");
    }
    let errors: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["last_error"].as_str())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("nobody@herald.test")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("larger than the server accepts")),
        "{errors:?}"
    );
    let output = herald.fails(&["outbox", "flush"]);
    assert!(
        stderr(&output).contains("nobody@herald.test"),
        "{}",
        stderr(&output)
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("empty"));
    assert_eq!(herald.list("alice", "outbox").len(), 2);
    assert_eq!(servers.server_stat("bob").0, 1);
}

/// Dovecot stops in the middle of a download and comes back: the cut fetch
/// fails with a network error having stored only whole messages, the next
/// one completes the mailbox exactly (no duplicates, every byte as served),
/// and a third finds nothing to do.
#[test]
fn a_sync_cut_by_a_server_stop_resumes_without_loss_or_duplicates() {
    // Large enough (~143 MB) that the transfer is still under way when the
    // server stops. The stop starts as soon as the first message file
    // appears (in `tmp/` or `new/`) and takes a moment to cut the session:
    // at loopback speed (up to ~150 MB/s with the pipeline 512 deep) that
    // is tens of MB more, not the whole mailbox.
    const COUNT: usize = 1_500;
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(&servers, "bob", &[]);
    let work = tempfile::tempdir().expect("work dir");
    let sizes: Vec<usize> = (0..COUNT).map(|i| 95_000 + (i % 7) * 1_000).collect();
    deliver_messages(&servers, work.path(), "bob", "bulk", &sizes);
    let on_server = servers.server_listing("bob");
    assert_eq!(on_server.count, COUNT);

    let maildir = herald.mailbox_dir("bob").join("Maildir");
    let files_in = |sub: &str| {
        std::fs::read_dir(maildir.join(sub))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let stdout = std::fs::File::create(work.path().join("fetch.out")).expect("out file");
    let stderr_file = std::fs::File::create(work.path().join("fetch.err")).expect("err file");
    let mut child = herald
        .command(&["fetch", "--account", "bob", "--json"])
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr_file))
        .spawn()
        .expect("spawn herald fetch");
    let started = Instant::now();
    let landed = loop {
        let landed = files_in("tmp") + files_in("new");
        if landed > 0 {
            break landed;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("fetch ended ({status}) before any message landed");
        }
        assert!(started.elapsed() < DEADLINE, "no message landed");
        std::thread::sleep(Duration::from_millis(2));
    };
    servers.stop_pop3();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("fetch did not end after the server stopped");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = std::fs::read_to_string(work.path().join("fetch.out")).expect("fetch.out");
    let err = std::fs::read_to_string(work.path().join("fetch.err")).expect("fetch.err");
    assert_eq!(
        status.code(),
        Some(1),
        "the cut fetch must fail (it finished after {landed} landed?): {out} {err}"
    );
    let summary: Value = serde_json::from_str(&out).expect("fetch --json output");
    let error = &summary[0]["error"];
    assert_eq!(error["kind"], "network", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("connection"),
        "{error}"
    );
    assert!(err.contains("getting mail failed"), "{err}");

    // Only whole messages were kept, each exactly as served.
    let server_files = server_files_by_message_id(&servers.user("bob").maildir);
    assert_eq!(server_files.len(), COUNT);
    let check_local = |expect_all: bool| -> BTreeSet<String> {
        let inbox = herald.list("bob", "inbox");
        let mut ids = BTreeSet::new();
        for entry in &inbox {
            let bytes = read(Path::new(entry["path"].as_str().expect("path")));
            let id = message_id(&bytes);
            assert!(ids.insert(id.clone()), "{id} stored twice");
            assert!(
                bytes == served(&server_files[&id]),
                "{id} differs from the server's file"
            );
            assert_eq!(entry["size"], bytes.len());
        }
        let uidls = uidls_of(&inbox);
        assert_eq!(uidls.len(), inbox.len(), "duplicate UIDLs");
        assert!(uidls.iter().all(|u| on_server.uidls.contains(u)));
        if expect_all {
            assert_eq!(uidls, on_server.uidls.iter().cloned().collect());
        }
        let tmp = files_under(&herald.mailbox_dir("bob").join("Maildir/tmp"));
        assert!(tmp.is_empty(), "left in tmp/: {tmp:?}");
        ids
    };
    let partial = check_local(false).len();
    assert!(
        partial > 0 && partial < COUNT,
        "{partial} of {COUNT} stored after the cut"
    );
    // The cut fetch's JSON still says what it stored before the error.
    let cut = &summary[0];
    assert_eq!(cut["on_server"], COUNT, "{cut}");
    assert_eq!(cut["downloaded"], partial, "{cut}");
    assert_eq!(cut["skipped"], 0, "{cut}");
    assert_eq!(cut["deleted_on_server"], 0, "{cut}");
    let stored_bytes: u64 = herald
        .list("bob", "inbox")
        .iter()
        .map(|entry| entry["size"].as_u64().expect("size"))
        .sum();
    assert_eq!(cut["bytes"], stored_bytes, "{cut}");

    servers.start_pop3();
    let fetched = herald.fetch("bob");
    assert_eq!(fetched["on_server"], COUNT, "{fetched}");
    assert_eq!(fetched["skipped"], partial, "{fetched}");
    assert_eq!(fetched["downloaded"], COUNT - partial, "{fetched}");
    assert_eq!(check_local(true).len(), COUNT);

    let again = herald.fetch("bob");
    assert_eq!(again["downloaded"], 0, "{again}");
    assert_eq!(again["skipped"], COUNT, "{again}");
    assert_eq!(herald.list("bob", "inbox").len(), COUNT);
    assert_eq!(servers.server_listing("bob"), on_server, "nothing deleted");
    println!("cut after {partial} of {COUNT} messages stored");
}

/// `account test --json` on a good account: TLS version, the certificate
/// (fingerprint as openssl computes it) and capabilities of both servers.
#[test]
fn account_test_reports_tls_certificate_and_capabilities() {
    let servers = default_servers();
    let herald = Herald::new();
    herald.add_account(&servers, "alice", &[]);
    let fingerprint = openssl_fingerprint(&leaf_certificate(&servers, "server.pem"));
    let hex = fingerprint.replace(':', "").to_ascii_lowercase();

    let report = herald.json(&["account", "test", "alice", "--json"]);
    for (server, port) in [("pop3", servers.pop3_port), ("smtp", servers.smtp_port)] {
        let check = &report[server];
        assert_eq!(check["host"], servers.host.as_str(), "{check}");
        assert_eq!(check["port"], port, "{check}");
        assert_eq!(check["security"], "implicit-tls", "{check}");
        assert!(
            matches!(check["tls_version"].as_str(), Some("TLS 1.2" | "TLS 1.3")),
            "{check}"
        );
        assert_eq!(check["certificate"]["sha256_hex"], hex.as_str(), "{check}");
        assert_eq!(check["certificate"]["subject"], "CN=localhost", "{check}");
        assert!(
            check["certificate"]["names"]
                .as_array()
                .is_some_and(|names| names.iter().any(|n| n == "127.0.0.1")),
            "{check}"
        );
        assert_eq!(check["logged_in"], true, "{check}");
        assert!(check["failure"].is_null(), "{check}");
    }
    let capabilities = |server: &str| -> Vec<String> {
        report[server]["capabilities"]
            .as_array()
            .expect("capabilities")
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect()
    };
    let pop3 = capabilities("pop3");
    for wanted in ["UIDL", "TOP", "PIPELINING", "USER"] {
        assert!(pop3.iter().any(|c| c == wanted), "{wanted} in {pop3:?}");
    }
    let smtp = capabilities("smtp");
    assert!(smtp.iter().any(|c| c == "SIZE 20971520"), "{smtp:?}");
    assert!(
        smtp.iter()
            .any(|c| c.starts_with("AUTH ") && c.contains("PLAIN")),
        "{smtp:?}"
    );
    assert!(smtp.iter().any(|c| c == "8BITMIME"), "{smtp:?}");
    // SIZE as read, for the SMTP server only.
    assert_eq!(
        report["smtp"]["smtp_limits"]["max_message_size_bytes"],
        20_971_520
    );
    assert!(report["pop3"].get("smtp_limits").is_none(), "{report}");

    // The human-readable form says the same, with openssl's fingerprint.
    let output = herald.ok(&["account", "test", "alice"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.matches(&fingerprint).count(), 2, "{text}");
    assert_eq!(text.matches("login: accepted").count(), 2, "{text}");
    assert!(
        text.contains("largest message accepted: 20971520 bytes"),
        "{text}"
    );
}
