//! Running an account's `password_command`.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::password::wipe;
use super::{CredentialError, Password};

/// The most stdout or stderr we keep; a password is far shorter, and this
/// bounds memory if the command prints something huge by mistake. The rest is
/// read and thrown away so the command never blocks on a full pipe.
const MAX_OUTPUT_BYTES: u64 = 64 * 1024;

/// The longest stderr line quoted in an error.
const MAX_QUOTED_CHARS: usize = 200;

/// Runs `command` through the shell (`sh -c` on Unix, `cmd /C` on Windows)
/// with stdin closed, and returns its stdout less one trailing newline.
///
/// The command gets `timeout` to finish; then it (and on Unix its whole
/// process group) is killed. A non-zero exit is an error that quotes the first
/// line of stderr; stdout is never quoted, since it may hold the secret.
pub(crate) fn run(
    account: &str,
    command: &str,
    timeout: Duration,
) -> Result<Password, CredentialError> {
    let deadline = Instant::now() + timeout;
    let mut child = shell(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CredentialError::CommandSpawn {
            account: account.to_string(),
            source,
        })?;
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);

    let timed_out = || CredentialError::CommandTimedOut {
        account: account.to_string(),
        timeout_secs: timeout.as_secs(),
    };
    let status = match wait_until(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill(&mut child);
            return Err(timed_out());
        }
        Err(source) => {
            kill(&mut child);
            return Err(CredentialError::CommandSpawn {
                account: account.to_string(),
                source,
            });
        }
    };
    // A background process left behind by the command may still hold the
    // pipes open; give the readers until the deadline, then give up.
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let stderr = stderr
        .and_then(|rx| rx.recv_timeout(remaining()).ok())
        .map(|(bytes, _)| bytes)
        .unwrap_or_default();
    let (stdout, truncated) = match stdout.map(|rx| rx.recv_timeout(remaining())) {
        Some(Ok(output)) => output,
        Some(Err(_)) => {
            kill(&mut child);
            return Err(timed_out());
        }
        None => (Vec::new(), false),
    };

    if !status.success() {
        wipe(stdout);
        return Err(CredentialError::CommandFailed {
            account: account.to_string(),
            status: describe(status),
            stderr_line: first_line(&stderr),
        });
    }
    if truncated {
        wipe(stdout);
        return Err(CredentialError::CommandOutput {
            account: account.to_string(),
            problem: "printed more than 64 KiB",
        });
    }
    password_from_stdout(account, stdout)
}

fn password_from_stdout(account: &str, stdout: Vec<u8>) -> Result<Password, CredentialError> {
    let mut text = match String::from_utf8(stdout) {
        Ok(text) => text,
        Err(err) => {
            wipe(err.into_bytes());
            return Err(CredentialError::CommandOutput {
                account: account.to_string(),
                problem: "is not valid UTF-8",
            });
        }
    };
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    let password = Password::new(text);
    if password.is_empty() {
        return Err(CredentialError::CommandOutput {
            account: account.to_string(),
            problem: "printed no password",
        });
    }
    Ok(password)
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(command);
    // Its own process group, so a timeout can kill what it started too.
    shell.process_group(0);
    shell
}

#[cfg(windows)]
fn shell(command: &str) -> Command {
    use std::os::windows::process::CommandExt;
    let mut shell = Command::new("cmd");
    // raw_arg: cmd.exe does its own parsing; Rust's quoting would change it.
    shell.arg("/C").raw_arg(command);
    shell
}

/// Reads a pipe to its end on a helper thread, keeping the first
/// [`MAX_OUTPUT_BYTES`]; the flag says whether there was more.
fn collect(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<(Vec<u8>, bool)> {
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("herald-password-command".to_string())
        .spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut pipe).take(MAX_OUTPUT_BYTES).read_to_end(&mut kept);
            let more = std::io::copy(&mut pipe, &mut std::io::sink()).unwrap_or(0) > 0;
            if let Err(unsent) = tx.send((kept, more)) {
                wipe(unsent.0.0);
            }
        });
    // If no thread could be started the receiver reports a disconnect,
    // which the caller treats as "no output".
    drop(spawned);
    rx
}

/// Polls until the child exits or `deadline` passes (`Ok(None)`).
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn kill(child: &mut Child) {
    #[cfg(unix)]
    {
        // The shell's builtin `kill` reaches the whole group; std only
        // offers killing the direct child.
        let _ = Command::new("sh")
            .arg("-c")
            .arg("kill -s KILL -- \"-$1\" 2>/dev/null")
            .arg("sh")
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    status.to_string()
}

/// The first non-blank stderr line, without control characters, shortened.
fn first_line(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    let mut quoted: String = line
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED_CHARS)
        .collect();
    if line.chars().count() > MAX_QUOTED_CHARS {
        quoted.push('…');
    }
    Some(quoted)
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorKind};

    const LONG: Duration = Duration::from_secs(30);

    #[test]
    fn stdout_is_the_password_less_one_newline() {
        let password = run("work", "printf 'se cret\\n'", LONG).unwrap();
        assert_eq!(password.expose(), "se cret");
        let password = run("work", "printf 'two\\n\\n'", LONG).unwrap();
        assert_eq!(password.expose(), "two\n");
        let password = run("work", "printf 'crlf\\r\\n'", LONG).unwrap();
        assert_eq!(password.expose(), "crlf");
        let password = run("work", "printf secret", LONG).unwrap();
        assert_eq!(password.expose(), "secret");
    }

    #[test]
    fn stdin_is_closed() {
        // `cat` would wait forever on an inherited terminal.
        let err = run("work", "cat", LONG).unwrap_err();
        assert!(
            matches!(err, CredentialError::CommandOutput { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn failure_quotes_first_stderr_line_not_stdout() {
        let err = run(
            "work",
            "echo leaked-secret; echo 'gpg: decryption failed' >&2; echo second >&2; exit 2",
            LONG,
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(
            text,
            "password command of account \"work\" failed (exit status 2): gpg: decryption failed"
        );
        assert!(!format!("{err:?}").contains("leaked-secret"));
        assert_eq!(err.kind(), ErrorKind::Credentials);
    }

    #[test]
    fn failure_without_stderr() {
        let err = run("work", "exit 3", LONG).unwrap_err();
        assert_eq!(
            err.to_string(),
            "password command of account \"work\" failed (exit status 3)"
        );
    }

    #[test]
    fn empty_output_is_an_error() {
        let err = run("work", "true", LONG).unwrap_err();
        assert!(
            matches!(err, CredentialError::CommandOutput { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn hanging_command_times_out_and_is_killed() {
        let started = Instant::now();
        let err = run("work", "sleep 30", Duration::from_millis(300)).unwrap_err();
        assert!(
            matches!(err, CredentialError::CommandTimedOut { .. }),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn background_child_holding_stdout_does_not_hang() {
        let started = Instant::now();
        let err = run("work", "printf pw; sleep 30 &", Duration::from_millis(500)).unwrap_err();
        assert!(
            matches!(err, CredentialError::CommandTimedOut { .. }),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn huge_output_is_refused_without_blocking() {
        let err = run("work", "head -c 1000000 /dev/zero | tr '\\0' a", LONG).unwrap_err();
        assert!(
            matches!(err, CredentialError::CommandOutput { .. }),
            "{err:?}"
        );
        let password = run("work", "head -c 65536 /dev/zero | tr '\\0' a", LONG).unwrap();
        assert_eq!(password.expose().len(), 65536);
    }

    #[test]
    fn missing_program_reports_stderr() {
        let err = run("work", "definitely-not-a-program-herald", LONG).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exit status 127"), "{text}");
        assert!(text.contains("not found"), "{text}");
    }
}
