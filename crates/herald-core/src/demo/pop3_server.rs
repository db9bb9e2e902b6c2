//! The demo POP3 server (RFC 1939, CAPA and response codes from RFC 2449,
//! AUTH from RFC 5034, `[AUTH]` from RFC 3206), over implicit TLS.
//!
//! One user. A session works on the mailbox as listed at login (a real
//! maildrop lock would refuse a second session; the demo lets both read
//! and removes a file only once). Deletions happen at QUIT only.

use std::io::{self, Read, Write};

use super::maildrop::{Entry, Maildrop};
use super::server::{Conn, Credentials, Line, split_command, trim_line_end};

/// RFC 2449 §4 allows 255 octets per command; AUTH's initial response can
/// be longer for a long password, so allow a little more.
const MAX_COMMAND_BYTES: usize = 1024;

/// Failed logins before the server hangs up.
const MAX_AUTH_FAILURES: u32 = 3;

const CAPABILITIES: &[u8] = b"+OK Capability list follows\r\n\
USER\r\n\
UIDL\r\n\
TOP\r\n\
PIPELINING\r\n\
RESP-CODES\r\n\
AUTH-RESP-CODE\r\n\
SASL PLAIN\r\n\
IMPLEMENTATION Herald-demo\r\n\
.\r\n";

/// The session's view of the mailbox once logged in.
struct Transaction {
    entries: Vec<Entry>,
    deleted: Vec<bool>,
}

impl Transaction {
    /// The message with this 1-based number, if it exists and is not
    /// marked deleted.
    fn message(&self, arg: &[u8]) -> Option<(usize, &Entry)> {
        let number: usize = std::str::from_utf8(arg).ok()?.trim().parse().ok()?;
        let index = number.checked_sub(1)?;
        let entry = self.entries.get(index)?;
        (!self.deleted[index]).then_some((number, entry))
    }

    fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(index, _)| !self.deleted[*index])
            .map(|(index, entry)| (index + 1, entry))
    }
}

/// Serves one connection until QUIT, EOF, a timeout or an error.
pub(super) fn serve<S: Read + Write>(
    stream: S,
    maildrop: &Maildrop,
    credentials: &Credentials,
) -> io::Result<()> {
    let mut conn = Conn::new(stream);
    conn.queue(b"+OK Herald demo POP3 server ready\r\n");
    let mut user: Option<Vec<u8>> = None;
    let mut failures = 0;
    let mut transaction: Option<Transaction> = None;
    loop {
        let line = match conn.read_line(MAX_COMMAND_BYTES)? {
            Line::Complete(line) => line,
            Line::Closed => return Ok(()),
            Line::TooLong => {
                conn.queue(b"-ERR line too long\r\n");
                return conn.flush();
            }
        };
        let (keyword, arg) = split_command(&line);
        match (keyword.as_str(), &mut transaction) {
            ("CAPA", _) => conn.queue(CAPABILITIES),
            ("NOOP", _) => conn.queue(b"+OK\r\n"),
            ("QUIT", None) => {
                conn.queue(b"+OK Bye\r\n");
                return conn.flush();
            }
            ("QUIT", Some(session)) => {
                // RFC 1939 §6: the UPDATE state.
                let marked: Vec<&Entry> = session
                    .entries
                    .iter()
                    .zip(&session.deleted)
                    .filter(|(_, deleted)| **deleted)
                    .map(|(entry, _)| entry)
                    .collect();
                match maildrop.remove(&marked) {
                    Ok(()) => conn.queue(b"+OK Bye\r\n"),
                    Err(_) => conn.queue(b"-ERR [SYS/TEMP] some messages were not removed\r\n"),
                }
                return conn.flush();
            }
            ("USER", None) => {
                if arg.is_empty() {
                    conn.queue(b"-ERR USER needs a name\r\n");
                } else {
                    user = Some(arg.to_vec());
                    conn.queue(b"+OK\r\n");
                }
            }
            ("PASS", None) => {
                let accepted = user
                    .take()
                    .is_some_and(|user| credentials.accepts(&user, trim_line_end(arg)));
                if accepted {
                    transaction = Some(login(maildrop, &mut conn));
                } else if refuse_login(&mut conn, &mut failures) {
                    return conn.flush();
                }
            }
            ("AUTH", None) => {
                let (mechanism, initial) = split_command(arg);
                if mechanism.is_empty() {
                    // RFC 1734 style: list the mechanisms.
                    conn.queue(b"+OK\r\nPLAIN\r\n.\r\n");
                    continue;
                }
                if mechanism != "PLAIN" {
                    conn.queue(b"-ERR unsupported SASL mechanism\r\n");
                    continue;
                }
                // RFC 5034 §4: `=` is an empty initial response.
                let response = if initial.is_empty() {
                    conn.queue(b"+ \r\n");
                    match conn.read_line(MAX_COMMAND_BYTES)? {
                        Line::Complete(line) => trim_line_end(&line).to_vec(),
                        Line::Closed => return Ok(()),
                        Line::TooLong => {
                            conn.queue(b"-ERR line too long\r\n");
                            return conn.flush();
                        }
                    }
                } else {
                    initial.to_vec()
                };
                if response == b"*" {
                    conn.queue(b"-ERR authentication cancelled\r\n");
                } else if credentials.accepts_plain(&response) {
                    transaction = Some(login(maildrop, &mut conn));
                } else if refuse_login(&mut conn, &mut failures) {
                    return conn.flush();
                }
            }
            ("STAT", Some(session)) => {
                let (count, size) = session.live().fold((0, 0), |(count, size), (_, e)| {
                    (count + 1, size + e.size_bytes)
                });
                conn.queue(format!("+OK {count} {size}\r\n").as_bytes());
            }
            ("LIST" | "UIDL", Some(session)) => {
                let uidl = keyword == "UIDL";
                let value = |entry: &Entry| {
                    if uidl {
                        entry.uidl.clone()
                    } else {
                        entry.size_bytes.to_string()
                    }
                };
                if arg.is_empty() {
                    conn.queue(b"+OK\r\n");
                    for (number, entry) in session.live() {
                        conn.queue(format!("{number} {}\r\n", value(entry)).as_bytes());
                    }
                    conn.queue(b".\r\n");
                } else {
                    match session.message(arg) {
                        Some((number, entry)) => {
                            conn.queue(format!("+OK {number} {}\r\n", value(entry)).as_bytes());
                        }
                        None => conn.queue(b"-ERR no such message\r\n"),
                    }
                }
            }
            ("RETR" | "TOP", Some(session)) => {
                let (number_arg, lines_arg) = match keyword.as_str() {
                    "TOP" => {
                        let (number, lines) = split_command(arg);
                        let Ok(lines) = std::str::from_utf8(lines).unwrap_or("").trim().parse()
                        else {
                            conn.queue(b"-ERR TOP needs a message number and a line count\r\n");
                            continue;
                        };
                        (number.into_bytes(), Some(lines))
                    }
                    _ => (arg.to_vec(), None),
                };
                let Some((_, entry)) = session.message(&number_arg) else {
                    conn.queue(b"-ERR no such message\r\n");
                    continue;
                };
                match std::fs::read(&entry.path) {
                    Ok(bytes) => {
                        let bytes = match lines_arg {
                            Some(lines) => top(&bytes, lines),
                            None => bytes,
                        };
                        conn.queue(format!("+OK {} octets\r\n", entry.size_bytes).as_bytes());
                        conn.queue(&dot_stuff(&bytes));
                        conn.queue(b".\r\n");
                    }
                    Err(_) => conn.queue(b"-ERR [SYS/PERM] message is gone\r\n"),
                }
            }
            ("DELE", Some(session)) => match session.message(arg) {
                Some((number, _)) => {
                    session.deleted[number - 1] = true;
                    conn.queue(format!("+OK message {number} deleted\r\n").as_bytes());
                }
                None => conn.queue(b"-ERR no such message\r\n"),
            },
            ("RSET", Some(session)) => {
                session
                    .deleted
                    .iter_mut()
                    .for_each(|deleted| *deleted = false);
                conn.queue(b"+OK\r\n");
            }
            ("USER" | "PASS" | "AUTH", Some(_)) => conn.queue(b"-ERR already logged in\r\n"),
            ("STAT" | "LIST" | "UIDL" | "RETR" | "TOP" | "DELE" | "RSET", None) => {
                conn.queue(b"-ERR log in first\r\n")
            }
            _ => conn.queue(b"-ERR unknown command\r\n"),
        }
    }
}

/// Takes the session's view of the mailbox and says `+OK`.
fn login<S: Read + Write>(maildrop: &Maildrop, conn: &mut Conn<S>) -> Transaction {
    let entries = maildrop.list().unwrap_or_default();
    let deleted = vec![false; entries.len()];
    conn.queue(format!("+OK Logged in, {} messages\r\n", entries.len()).as_bytes());
    Transaction { entries, deleted }
}

/// Refuses a login (RFC 3206 §5 `[AUTH]`); true when the client has used
/// up its tries and the server should hang up.
fn refuse_login<S: Read + Write>(conn: &mut Conn<S>, failures: &mut u32) -> bool {
    *failures += 1;
    conn.queue(b"-ERR [AUTH] Authentication failed\r\n");
    *failures >= MAX_AUTH_FAILURES
}

/// RFC 1939 §11 TOP: the header, the blank line and `lines` lines of the
/// body.
fn top(bytes: &[u8], lines: usize) -> Vec<u8> {
    let Some(header_end) = memchr::memmem::find(bytes, b"\r\n\r\n").map(|at| at + 4) else {
        return bytes.to_vec();
    };
    let mut end = header_end;
    for _ in 0..lines {
        match memchr::memchr(b'\n', &bytes[end..]) {
            Some(at) => end += at + 1,
            None => {
                end = bytes.len();
                break;
            }
        }
    }
    bytes[..end].to_vec()
}

/// RFC 1939 §3: a line starting with `.` gets another one. The bytes are
/// stored with CRLF and end with it.
fn dot_stuff(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dot_stuffing_and_top() {
        assert_eq!(dot_stuff(b"a\r\n.b\r\n..\r\n"), b"a\r\n..b\r\n...\r\n");
        let message = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        assert_eq!(top(message, 0), b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(top(message, 2), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
        assert_eq!(top(message, 10), message);
    }
}
