//! `herald account …` as a user runs it: the real binary, a throw-away
//! `--profile`, and no keyring (passwords come from `--password-command`, and
//! the session bus is pointed nowhere so no test can touch a real keyring).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const NO_BUS: &str = "unix:path=/nonexistent/herald-test-bus";

fn herald(profile: &Path, args: &[&str]) -> Output {
    herald_with_stdin(profile, args, None)
}

fn herald_with_stdin(profile: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("--profile")
        .arg(profile)
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .env_remove("HERALD_HOME")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run herald");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("wait for herald")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "herald failed: {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
}

fn list_json(profile: &Path) -> Vec<Value> {
    let output = herald(profile, &["account", "list", "--json"]);
    assert_ok(&output);
    let value: Value = serde_json::from_slice(&output.stdout).expect("list --json is JSON");
    value.as_array().expect("a JSON array").clone()
}

/// A password command whose text does not contain the password, so grepping
/// the settings file for the password proves something.
fn password_file(dir: &Path, password: &str) -> String {
    let file = dir.join("password.txt");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    format!("cat '{}'", file.display())
}

fn add_work(profile: &Path, command: &str) -> Output {
    herald(
        profile,
        &[
            "account",
            "add",
            "--name",
            "work",
            "--email",
            "me@example.com",
            "--smtp",
            "smtp.example.com:2465",
            "--pop3",
            "pop.example.com",
            "--display-name",
            "Me Myself",
            "--delete-after-days",
            "30",
            "--password-command",
            command,
        ],
    )
}

#[test]
fn add_list_remove_round_trip_with_password_command() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let command = password_file(dir.path(), "correct horse battery");

    assert_ok(&add_work(&profile, &command));

    let accounts = list_json(&profile);
    assert_eq!(accounts.len(), 1);
    let work = &accounts[0];
    assert_eq!(work["name"], "work");
    assert_eq!(work["email"], "me@example.com");
    assert_eq!(work["display_name"], "Me Myself");
    assert_eq!(work["username"], "me@example.com");
    assert_eq!(work["smtp"]["host"], "smtp.example.com");
    assert_eq!(work["smtp"]["port"], 2465);
    assert_eq!(work["smtp"]["security"], "implicit-tls");
    assert_eq!(work["pop3"]["host"], "pop.example.com");
    assert_eq!(work["pop3"]["port"], 995);
    assert_eq!(work["pop3"]["security"], "implicit-tls");
    assert_eq!(work["ca_file"], Value::Null);
    assert_eq!(work["deletion_policy"]["policy"], "delete-after-days");
    assert_eq!(work["deletion_policy"]["days"], 30);
    assert_eq!(work["password"], "command");

    let table = herald(&profile, &["account", "list"]);
    assert_ok(&table);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("work") && table.contains("command"),
        "{table}"
    );

    let removed = herald(&profile, &["account", "remove", "work"]);
    assert_ok(&removed);
    // A password-command account has nothing in the keyring: no warning.
    assert!(
        !stderr(&removed).contains("warning"),
        "{}",
        stderr(&removed)
    );
    assert!(list_json(&profile).is_empty());
}

#[test]
fn settings_file_never_contains_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let command = password_file(dir.path(), "command-secret-7731");
    assert_ok(&add_work(&profile, &command));

    // Also a password typed on stdin (kept for the session only here).
    let added = herald_with_stdin(
        &profile,
        &[
            "account",
            "add",
            "--name",
            "home",
            "--email",
            "home@example.com",
            "--smtp",
            "smtp.example.com",
            "--pop3",
            "pop.example.com",
            "--password-stdin",
        ],
        Some("stdin-secret-4242\n"),
    );
    assert_ok(&added);

    let text = std::fs::read_to_string(profile.join("config/accounts.toml")).unwrap();
    assert!(!text.contains("command-secret-7731"), "{text}");
    assert!(!text.contains("stdin-secret-4242"), "{text}");
    // And nothing else in the profile holds it either.
    for entry in walk(&profile) {
        let bytes = std::fs::read(&entry).unwrap();
        let content = String::from_utf8_lossy(&bytes);
        assert!(
            !content.contains("stdin-secret-4242"),
            "{}",
            entry.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(profile.join("config/accounts.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn duplicate_add_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let command = password_file(dir.path(), "pw");
    assert_ok(&add_work(&profile, &command));
    let before = std::fs::read(profile.join("config/accounts.toml")).unwrap();

    let again = add_work(&profile, &command);
    assert_eq!(again.status.code(), Some(1));
    let message = stderr(&again);
    assert_eq!(
        message.trim_end(),
        "herald: an account named \"work\" already exists"
    );
    assert_eq!(
        std::fs::read(profile.join("config/accounts.toml")).unwrap(),
        before
    );
}

#[test]
fn removing_an_unknown_account_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = herald(dir.path(), &["account", "remove", "nobody"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "herald: no account named \"nobody\"\n");
}

#[test]
fn invalid_settings_are_refused_before_anything_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let base = |email: &str, smtp: &str| {
        vec![
            "account".to_string(),
            "add".to_string(),
            "--name".to_string(),
            "work".to_string(),
            "--email".to_string(),
            email.to_string(),
            "--smtp".to_string(),
            smtp.to_string(),
            "--pop3".to_string(),
            "pop.example.com".to_string(),
            "--password-command".to_string(),
            "printf secret".to_string(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        herald(&profile, &args)
    };

    let bad_email = run(base("not-an-address", "smtp.example.com"));
    assert_eq!(bad_email.status.code(), Some(1));
    assert!(
        stderr(&bad_email).contains("invalid email_addr"),
        "{}",
        stderr(&bad_email)
    );

    // Rejected by the argument parser (exit 2, clap's usage error).
    let bad_port = run(base("me@example.com", "smtp.example.com:0"));
    assert_eq!(bad_port.status.code(), Some(2));
    assert!(
        stderr(&bad_port).contains("1 to 65535"),
        "{}",
        stderr(&bad_port)
    );

    let mut missing_ca = base("me@example.com", "smtp.example.com");
    missing_ca.extend(["--ca-file".to_string(), "/nonexistent/ca.pem".to_string()]);
    let missing_ca = run(missing_ca);
    assert_eq!(missing_ca.status.code(), Some(1));
    assert!(
        stderr(&missing_ca).contains("CA certificate"),
        "{}",
        stderr(&missing_ca)
    );

    let mut two_policies = base("me@example.com", "smtp.example.com");
    two_policies.extend([
        "--leave-on-server".to_string(),
        "--delete-after-download".to_string(),
    ]);
    assert_eq!(run(two_policies).status.code(), Some(2));

    let no_password = herald(
        &profile,
        &[
            "account", "add", "--name", "w", "--email", "a@b", "--smtp", "s", "--pop3", "p",
        ],
    );
    assert_eq!(no_password.status.code(), Some(2));

    assert!(!profile.join("config/accounts.toml").exists());
}

#[test]
fn empty_stdin_password_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = herald_with_stdin(
        dir.path(),
        &[
            "account",
            "add",
            "--name",
            "work",
            "--email",
            "me@example.com",
            "--smtp",
            "smtp.example.com",
            "--pop3",
            "pop.example.com",
            "--password-stdin",
        ],
        Some("\n"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is empty"), "{}", stderr(&output));
    assert!(!dir.path().join("config/accounts.toml").exists());
}

#[test]
fn ca_file_and_security_options_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile");
    let ca = dir.path().join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let output = herald(
        &profile,
        &[
            "account",
            "add",
            "--name",
            "self-hosted",
            "--email",
            "me@example.org",
            "--username",
            "me",
            "--smtp",
            "mail.example.org",
            "--smtp-security",
            "starttls",
            "--pop3",
            "[::1]",
            "--pop3-security",
            "stls",
            "--ca-file",
            ca.to_str().unwrap(),
            "--delete-when-deleted-locally",
            "--password-command",
            "printf secret",
        ],
    );
    assert_ok(&output);
    let accounts = list_json(&profile);
    let account = &accounts[0];
    assert_eq!(account["username"], "me");
    assert_eq!(account["smtp"]["port"], 587);
    assert_eq!(account["smtp"]["security"], "starttls");
    assert_eq!(account["pop3"]["host"], "::1");
    assert_eq!(account["pop3"]["port"], 110);
    assert_eq!(account["pop3"]["security"], "stls");
    assert_eq!(account["ca_file"], ca.to_str().unwrap());
    assert_eq!(
        account["deletion_policy"]["policy"],
        "delete-when-deleted-locally"
    );
}

#[test]
fn herald_home_isolates_like_profile() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "account",
            "add",
            "--name",
            "work",
            "--email",
            "me@example.com",
            "--smtp",
            "s.example.com",
            "--pop3",
            "p.example.com",
            "--password-command",
            "printf secret",
        ])
        .env("HERALD_HOME", dir.path())
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ok(&output);
    assert!(dir.path().join("config/accounts.toml").exists());
    // --profile wins over HERALD_HOME.
    let other = tempfile::tempdir().unwrap();
    let listed = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--profile"])
        .arg(other.path())
        .args(["account", "list", "--json"])
        .env("HERALD_HOME", dir.path())
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .output()
        .unwrap();
    assert_ok(&listed);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}

#[test]
fn unknown_key_in_settings_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/accounts.toml"),
        "[[account]]\nname = \"work\"\nemail_addr = \"a@b\"\nsmtp_host = \"x\"\n",
    )
    .unwrap();
    let output = herald(dir.path(), &["account", "list"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("line 4"), "{message}");
    assert!(message.contains("smtp_host"), "{message}");
    assert!(
        message.trim_end().ends_with("config/accounts.toml"),
        "{message}"
    );
}
