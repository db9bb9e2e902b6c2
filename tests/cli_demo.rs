//! `herald demo --serve` as a script uses it: start it, read its JSON
//! line, run `fetch`, `list` and `send` against the printed profile from
//! other processes, then close its stdin and see it exit. No keyring: the
//! demo account's password comes from its password command.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const NO_BUS: &str = "unix:path=/nonexistent/herald-test-bus";

/// How many messages the demo inbox starts with.
const SEEDED: usize = 19;

fn herald() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .env_remove("HERALD_HOME");
    command
}

fn run(profile: &Path, args: &[&str]) -> Output {
    let output = herald()
        .arg("--profile")
        .arg(profile)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "herald {args:?} failed: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

fn inbox(profile: &Path) -> Vec<Value> {
    json(&run(profile, &["list", "--json"]))
        .as_array()
        .unwrap()
        .clone()
}

/// The subjects `list --search WORDS` shows.
fn search_subjects(profile: &Path, words: &str) -> Vec<String> {
    json(&run(profile, &["list", "--search", words, "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Kills the server if the test fails half-way.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_serve_hosts_a_profile_that_fetch_list_and_send_use() {
    let child = herald()
        .args(["demo", "--serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let profile = Path::new(info["profile"].as_str().unwrap()).to_path_buf();
    let email_addr = info["email_addr"].as_str().unwrap().to_string();
    assert_eq!(info["account"], "Demo");
    assert!(info["pop3_port"].as_u64().unwrap() > 0);
    assert!(info["smtp_port"].as_u64().unwrap() > 0);
    assert!(profile.join("config/accounts.toml").is_file());

    let fetched = json(&run(&profile, &["fetch", "--json"]));
    assert_eq!(fetched[0]["account"], "Demo");
    assert_eq!(fetched[0]["downloaded"], SEEDED, "{fetched}");
    assert!(fetched[0]["error"].is_null(), "{fetched}");

    let messages = inbox(&profile);
    assert_eq!(messages.len(), SEEDED);
    let subjects: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .collect();
    for expected in [
        "周末一起去爬山吗？",
        "Привет из Санкт-Петербурга",
        "来週の打ち合わせについて",
        "Welcome to Herald!",
    ] {
        assert!(subjects.contains(&expected), "{expected} in {subjects:?}");
    }

    // `list --search` looks in the message text too, in any charset the
    // messages came in (the search index is built on first use).
    for (words, subject) in [
        ("会議室", "来週の打ち合わせについて"),
        ("БЕЛЫЕ ночи", "Привет из Санкт-Петербурга"),
        ("biergarten grüße", "Grüße aus München"),
        ("爬山", "周末一起去爬山吗？"),
    ] {
        assert_eq!(search_subjects(&profile, words), vec![subject], "{words}");
    }
    assert!(search_subjects(&profile, "CLI test").is_empty());

    let text = profile.join("note.txt");
    std::fs::write(&text, "Sent from the CLI test.\n").unwrap();
    let sent = json(&run(
        &profile,
        &[
            "send",
            "--account",
            "Demo",
            "--to",
            &email_addr,
            "--subject",
            "Note to self 📝",
            "--text",
            text.to_str().unwrap(),
            "--json",
        ],
    ));
    assert!(sent["message_id"].is_string(), "{sent}");

    let fetched = json(&run(&profile, &["fetch", "--json"]));
    assert_eq!(fetched[0]["downloaded"], 1, "{fetched}");
    let messages = inbox(&profile);
    assert_eq!(messages.len(), SEEDED + 1);
    assert!(messages.iter().any(|m| m["subject"] == "Note to self 📝"));
    // The new message's text joined the index.
    assert_eq!(
        search_subjects(&profile, "cli test"),
        vec!["Note to self 📝"]
    );

    // Closing stdin stops the servers and the process.
    drop(server.0.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "herald demo --serve did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Its temporary folder is gone with it.
    assert!(!profile.exists());
}
