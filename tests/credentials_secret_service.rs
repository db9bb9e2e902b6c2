//! Passwords against a REAL Secret Service (gnome-keyring) in a private D-Bus
//! session, with `secret-tool` (libsecret) as an independent reader.
//!
//! Each test starts `dbus-run-session` with HOME and the XDG folders in a
//! temporary folder, so the user's own keyring is never touched. These tests
//! FAIL, never skip, when `dbus-run-session`, `dbus-send`,
//! `gnome-keyring-daemon` or `secret-tool` are missing: install the Debian
//! packages `dbus gnome-keyring libsecret-tools`.
//!
//! Run them single-threaded (`-- --test-threads=1`), like all keyring tests.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HERALD: &str = env!("CARGO_BIN_EXE_herald");
const KEYRING_PASSWORD: &str = "keyring-unlock-pw";
/// Spaces, quotes, a dollar sign and non-ASCII: stored and read back exactly.
const ACCOUNT_PASSWORD: &str = "pä ss'wörd \"$HOME\" ✓";
/// Generous: a session normally takes well under a second.
const SESSION_DEADLINE: Duration = Duration::from_secs(60);

/// Shell helpers available to every session script. `step NAME CMD…` runs a
/// command with its stdout, stderr, exit code and run time saved in `$OUT`.
const PRELUDE: &str = r#"
set -u
step() {
    name=$1; shift
    start=$(date +%s%N)
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    echo $? >"$OUT/$name.rc"
    echo $(( ($(date +%s%N) - start) / 1000000 )) >"$OUT/$name.ms"
}
# Start gnome-keyring in the foreground (so it can be stopped by its pid),
# unlocked with $KEYRING_PASSWORD if the argument is "unlocked", and wait until
# it owns the Secret Service name on this session bus. (The redirection must be
# on the background command itself: sh gives background jobs /dev/null.)
start_keyring() {
    if [ "$1" = unlocked ]; then
        printf '%s' "$KEYRING_PASSWORD" >"$OUT/keyring.pw"
        gnome-keyring-daemon --foreground --unlock --components=secrets \
            <"$OUT/keyring.pw" >"$OUT/keyring.log" 2>&1 &
    else
        gnome-keyring-daemon --foreground --components=secrets \
            </dev/null >"$OUT/keyring.log" 2>&1 &
    fi
    KEYRING_PID=$!
    trap 'kill $KEYRING_PID 2>/dev/null; wait $KEYRING_PID 2>/dev/null' EXIT
    i=0
    until dbus-send --session --print-reply --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
        string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
    do
        i=$((i + 1))
        if [ $i -gt 1000 ]; then echo "gnome-keyring did not start" >&2; exit 97; fi
        sleep 0.01
    done
}
"#;

/// Fails the test (it does not skip) if a needed program is not installed.
fn require_tools() {
    for tool in [
        "dbus-run-session",
        "dbus-send",
        "gnome-keyring-daemon",
        "secret-tool",
    ] {
        let found = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
            .unwrap_or(false);
        assert!(
            found,
            "{tool} is not installed: these tests need a real Secret Service \
             (Debian packages: dbus gnome-keyring libsecret-tools)"
        );
    }
}

/// A private home, XDG folders, Herald profile and output folder.
struct Sandbox {
    dir: tempfile::TempDir,
}

/// What one step of a session script did.
struct Step {
    stdout: String,
    stderr: String,
    code: i32,
    elapsed: Duration,
}

impl Sandbox {
    fn new() -> Sandbox {
        require_tools();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "data", "config", "cache", "out", "profile"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        Sandbox { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn profile(&self) -> PathBuf {
        self.path("profile")
    }

    /// The credential-store service Herald uses for this explicit profile.
    fn service(&self) -> String {
        format!("herald:{}", self.profile().display())
    }

    /// Runs `script` in a new private session bus (`dbus-run-session`), or
    /// under `bus_config` if given, and returns its steps by name.
    fn session(&self, script: &str, bus_config: Option<&Path>) -> HashMap<String, Step> {
        let mut command = Command::new("dbus-run-session");
        if let Some(config) = bus_config {
            command.arg(format!("--config-file={}", config.display()));
        }
        command
            .arg("--")
            .arg("sh")
            .arg("-c")
            .arg(format!("{PRELUDE}\n{script}"));
        self.run(command)
    }

    /// Runs `script` with no usable session bus at all.
    fn without_bus(&self, script: &str, bus_address: Option<&str>) -> HashMap<String, Step> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!("{PRELUDE}\n{script}"));
        match bus_address {
            Some(address) => command.env("DBUS_SESSION_BUS_ADDRESS", address),
            None => command.env_remove("DBUS_SESSION_BUS_ADDRESS"),
        };
        self.run(command)
    }

    fn run(&self, mut command: Command) -> HashMap<String, Step> {
        let out = self.path("out");
        for entry in std::fs::read_dir(&out).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        command
            .env("HOME", self.path("home"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env_remove("HERALD_HOME")
            .env("HERALD", HERALD)
            .env("PROFILE", self.profile())
            .env("SERVICE", self.service())
            .env("NAME", "work")
            .env("ACCOUNT_PASSWORD", ACCOUNT_PASSWORD)
            .env("KEYRING_PASSWORD", KEYRING_PASSWORD)
            .env("OUT", &out)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the session");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > SESSION_DEADLINE {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the session did not finish within {SESSION_DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut log = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        assert!(
            status.success(),
            "the session script failed: {status:?}\n{log}"
        );

        let mut steps = HashMap::new();
        for entry in std::fs::read_dir(&out).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "rc") {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                let read = |ext: &str| {
                    std::fs::read_to_string(out.join(format!("{name}.{ext}"))).unwrap_or_default()
                };
                let step = Step {
                    stdout: read("out"),
                    stderr: read("err"),
                    code: read("rc").trim().parse().unwrap(),
                    elapsed: Duration::from_millis(read("ms").trim().parse().unwrap()),
                };
                steps.insert(name, step);
            }
        }
        steps
    }
}

fn step<'a>(steps: &'a HashMap<String, Step>, name: &str) -> &'a Step {
    steps
        .get(name)
        .unwrap_or_else(|| panic!("step {name} did not run"))
}

fn assert_success(step: &Step, what: &str) {
    assert_eq!(
        step.code, 0,
        "{what} failed\nstdout: {}\nstderr: {}",
        step.stdout, step.stderr
    );
}

fn password_field(list: &Step) -> String {
    let value: serde_json::Value = serde_json::from_str(&list.stdout)
        .unwrap_or_else(|err| panic!("list --json is not JSON ({err}): {}", list.stdout));
    value[0]["password"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const ADD_WITH_STDIN: &str = r#"printf '%s\n' "$ACCOUNT_PASSWORD" >"$OUT/password.in"
step add "$HERALD" --profile "$PROFILE" account add --name "$NAME" \
    --email me@example.com --smtp smtp.example.com --pop3 pop.example.com \
    --password-stdin <"$OUT/password.in"
rm -f "$OUT/password.in"
"#;

#[test]
fn password_stored_by_one_process_is_read_by_secret_tool_and_a_new_process() {
    let sandbox = Sandbox::new();
    let steps = sandbox.session(
        &format!(
            r#"start_keyring unlocked
{ADD_WITH_STDIN}
step lookup secret-tool lookup service "$SERVICE" username "$NAME"
step search secret-tool search --all service "$SERVICE"
step list "$HERALD" --profile "$PROFILE" account list --json
step remove "$HERALD" --profile "$PROFILE" account remove "$NAME"
step lookup_after secret-tool lookup service "$SERVICE" username "$NAME"
step list_after "$HERALD" --profile "$PROFILE" account list --json
"#
        ),
        None,
    );

    // (a) process 1 stored it in the keyring, with no warning.
    let add = step(&steps, "add");
    assert_success(add, "account add");
    assert!(!add.stderr.contains("NOT saved"), "{}", add.stderr);
    assert!(add.stdout.contains("OS keyring"), "{}", add.stdout);

    // (b) an independent reader finds exactly that password under the
    // documented attributes.
    let lookup = step(&steps, "lookup");
    assert_success(lookup, "secret-tool lookup");
    assert_eq!(lookup.stdout, ACCOUNT_PASSWORD);
    let search = step(&steps, "search");
    let attributes = format!("{}{}", search.stdout, search.stderr);
    assert!(
        attributes.contains(&format!("attribute.service = {}", sandbox.service())),
        "{attributes}"
    );
    assert!(
        attributes.contains("attribute.username = work"),
        "{attributes}"
    );
    assert!(attributes.contains("label = Herald: work"), "{attributes}");

    // (c) a new process reads it back from the store.
    let list = step(&steps, "list");
    assert_success(list, "account list");
    assert_eq!(password_field(list), "os_store");

    // (d) removing the account removes the keyring item.
    let remove = step(&steps, "remove");
    assert_success(remove, "account remove");
    assert!(!remove.stderr.contains("warning"), "{}", remove.stderr);
    let lookup_after = step(&steps, "lookup_after");
    assert_ne!(lookup_after.code, 0, "the item is still there");
    assert_eq!(lookup_after.stdout, "");
    assert_eq!(step(&steps, "list_after").stdout.trim(), "[]");

    // The password never reached the profile folder.
    let settings = std::fs::read_to_string(sandbox.profile().join("config/accounts.toml")).unwrap();
    assert!(!settings.contains("wörd"), "{settings}");
}

#[test]
fn set_password_replaces_the_stored_password() {
    let sandbox = Sandbox::new();
    let steps = sandbox.session(
        &format!(
            r#"start_keyring unlocked
{ADD_WITH_STDIN}
printf 'second-password\n' >"$OUT/second.in"
step set "$HERALD" --profile "$PROFILE" account set-password "$NAME" --password-stdin <"$OUT/second.in"
step lookup secret-tool lookup service "$SERVICE" username "$NAME"
step count secret-tool search --all service "$SERVICE"
"#
        ),
        None,
    );
    assert_success(step(&steps, "add"), "account add");
    assert_success(step(&steps, "set"), "set-password");
    assert_eq!(step(&steps, "lookup").stdout, "second-password");
    let search = step(&steps, "count");
    let items = format!("{}{}", search.stdout, search.stderr)
        .matches("attribute.username = work")
        .count();
    assert_eq!(items, 1, "set-password must replace, not add, the item");
}

fn assert_fast_add_with_warning(steps: &HashMap<String, Step>, reason: &str) {
    let add = step(steps, "add");
    assert_success(add, "account add");
    assert!(
        add.elapsed < Duration::from_secs(5),
        "account add took {:?}",
        add.elapsed
    );
    assert!(add.stderr.contains("NOT saved"), "{}", add.stderr);
    assert!(
        add.stderr.contains(reason),
        "expected {reason:?} in: {}",
        add.stderr
    );
    assert!(add.stderr.contains("--password-command"), "{}", add.stderr);
    assert!(
        add.stderr
            .contains("account set-password work --password-stdin"),
        "{}",
        add.stderr
    );
    // The account was kept.
    let list = step(steps, "list");
    assert_success(list, "account list");
    assert_eq!(password_field(list), "store_unavailable");
}

const ADD_AND_LIST: &str = r#"printf '%s\n' "$ACCOUNT_PASSWORD" >"$OUT/password.in"
step add "$HERALD" --profile "$PROFILE" account add --name "$NAME" \
    --email me@example.com --smtp smtp.example.com --pop3 pop.example.com \
    --password-stdin <"$OUT/password.in"
step list "$HERALD" --profile "$PROFILE" account list --json
"#;

#[test]
fn no_session_bus_add_is_fast_keeps_account_and_warns() {
    let sandbox = Sandbox::new();
    let steps = sandbox.without_bus(ADD_AND_LIST, Some("unix:path=/nonexistent"));
    assert_fast_add_with_warning(&steps, "no session bus");
}

#[test]
fn unset_bus_address_add_is_fast_keeps_account_and_warns() {
    // zbus then tries $XDG_RUNTIME_DIR/bus, which the sandbox leaves empty.
    let sandbox = Sandbox::new();
    let steps = sandbox.without_bus(ADD_AND_LIST, None);
    assert_fast_add_with_warning(&steps, "no session bus");
}

#[test]
fn locked_keyring_add_is_fast_keeps_account_and_warns() {
    let sandbox = Sandbox::new();
    // First session: create the login keyring with a password.
    sandbox.session(
        r#"start_keyring unlocked
step probe secret-tool search --all service nothing"#,
        None,
    );
    assert!(sandbox.path("data/keyrings/login.keyring").exists());
    // Second session: the daemon starts without the password, so locked.
    let steps = sandbox.session(&format!("start_keyring locked\n{ADD_AND_LIST}"), None);
    assert_fast_add_with_warning(&steps, "the keyring is locked");
}

#[test]
fn bus_without_secret_service_add_is_fast_keeps_account_and_warns() {
    let sandbox = Sandbox::new();
    // A session bus that can start no services (no service folders), so
    // nothing answers for org.freedesktop.secrets.
    let config = sandbox.path("bus.conf");
    std::fs::write(
        &config,
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
    )
    .unwrap();
    let steps = sandbox.session(ADD_AND_LIST, Some(&config));
    assert_fast_add_with_warning(&steps, "no Secret Service is running");
}

#[cfg(unix)]
#[test]
fn bus_that_never_answers_cannot_hang_add() {
    use std::os::unix::net::UnixListener;
    let sandbox = Sandbox::new();
    let socket = sandbox.path("silent-bus");
    let listener = UnixListener::bind(&socket).unwrap();
    // Accept connections and never say a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => held.push(stream),
                Err(_) => break,
            }
        }
    });
    let address = format!("unix:path={}", socket.display());
    let steps = sandbox.without_bus(ADD_AND_LIST, Some(&address));
    assert_fast_add_with_warning(&steps, "did not answer");
}
