//! The demo SMTP submission server (RFC 5321, AUTH PLAIN and LOGIN from
//! RFC 4954, SIZE from RFC 1870, 8BITMIME from RFC 6152, PIPELINING from
//! RFC 2920), over implicit TLS (RFC 8314).
//!
//! A message with the demo address among its recipients is added to the
//! demo mailbox, with `Return-Path`, `Delivered-To` and `Received` fields
//! in front as a real server would. Mail to other recipients is accepted
//! and discarded: nothing leaves the computer.

use std::io::{self, Read, Write};

use base64::Engine as _;

use super::maildrop::Maildrop;
use super::server::{Conn, Credentials, Line, split_command, trim_line_end};

/// The largest message accepted, advertised with SIZE: 35 MiB.
pub(super) const MAX_MESSAGE_BYTES: u64 = 35 * 1024 * 1024;

/// RFC 5321 §4.5.3.1.4 allows 512 octets per command line; AUTH lines
/// (RFC 4954 §4) may be longer, 12,288 at most.
const MAX_COMMAND_BYTES: usize = 12_288;

/// RFC 5321 §4.5.3.1.6 says 1,000 octets per text line; be lenient with
/// clients that send longer ones, but bounded.
const MAX_DATA_LINE_BYTES: usize = 1024 * 1024;

/// RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted.
const MAX_RECIPIENTS: usize = 100;

/// Failed logins before the server hangs up.
const MAX_AUTH_FAILURES: u32 = 3;

/// One mail transaction (RFC 5321 §3.3).
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    recipients: Vec<String>,
}

/// Serves one connection until QUIT, EOF, a timeout or an error.
pub(super) fn serve<S: Read + Write>(
    stream: S,
    maildrop: &Maildrop,
    credentials: &Credentials,
) -> io::Result<()> {
    let mut conn = Conn::new(stream);
    let server_name = super::SERVER_NAME;
    conn.queue(format!("220 {server_name} ESMTP Herald demo\r\n").as_bytes());
    let mut greeted = false;
    let mut authenticated = false;
    let mut failures = 0;
    let mut envelope = Envelope::default();
    loop {
        let Some(line) = next_line(&mut conn, MAX_COMMAND_BYTES)? else {
            return conn.flush();
        };
        let (keyword, arg) = split_command(&line);
        match keyword.as_str() {
            "EHLO" => {
                greeted = true;
                envelope = Envelope::default();
                conn.queue(
                    format!(
                        "250-{server_name} Hello\r\n\
                         250-PIPELINING\r\n\
                         250-SIZE {MAX_MESSAGE_BYTES}\r\n\
                         250-8BITMIME\r\n\
                         250-ENHANCEDSTATUSCODES\r\n\
                         250-AUTH PLAIN LOGIN\r\n\
                         250 SMTPUTF8\r\n"
                    )
                    .as_bytes(),
                );
            }
            "HELO" => {
                greeted = true;
                envelope = Envelope::default();
                conn.queue(format!("250 {server_name}\r\n").as_bytes());
            }
            "AUTH" if !greeted => conn.queue(b"503 5.5.1 Say EHLO first\r\n"),
            "AUTH" if authenticated => conn.queue(b"503 5.5.1 Already authenticated\r\n"),
            "AUTH" => {
                let Some(accepted) = authenticate(&mut conn, arg, credentials)? else {
                    return conn.flush();
                };
                if accepted {
                    authenticated = true;
                    conn.queue(b"235 2.7.0 Authentication successful\r\n");
                } else {
                    failures += 1;
                    conn.queue(b"535 5.7.8 Authentication credentials invalid\r\n");
                    if failures >= MAX_AUTH_FAILURES {
                        conn.queue(b"421 4.7.0 Too many failed logins, closing\r\n");
                        return conn.flush();
                    }
                }
            }
            "MAIL" if !authenticated => conn.queue(b"530 5.7.0 Authentication required\r\n"),
            "MAIL" if envelope.from.is_some() => {
                conn.queue(b"503 5.5.1 Nested MAIL command\r\n");
            }
            "MAIL" => match path_argument(arg, "FROM:") {
                Some((from, params)) => {
                    if declared_size(params).is_some_and(|size| size > MAX_MESSAGE_BYTES) {
                        conn.queue(b"552 5.3.4 Message size exceeds fixed limit\r\n");
                    } else {
                        envelope.from = Some(from);
                        conn.queue(b"250 2.1.0 Ok\r\n");
                    }
                }
                None => conn.queue(b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n"),
            },
            "RCPT" if envelope.from.is_none() => conn.queue(b"503 5.5.1 Need MAIL first\r\n"),
            "RCPT" => match path_argument(arg, "TO:") {
                Some((to, _)) if to.is_empty() => {
                    conn.queue(b"501 5.1.3 Empty recipient\r\n");
                }
                Some(_) if envelope.recipients.len() >= MAX_RECIPIENTS => {
                    conn.queue(b"452 4.5.3 Too many recipients\r\n");
                }
                Some((to, _)) => {
                    envelope.recipients.push(to);
                    conn.queue(b"250 2.1.5 Ok\r\n");
                }
                None => conn.queue(b"501 5.5.4 Syntax: RCPT TO:<address>\r\n"),
            },
            "DATA" if envelope.recipients.is_empty() => {
                conn.queue(b"503 5.5.1 Need RCPT first\r\n");
            }
            "DATA" => {
                conn.queue(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                conn.flush()?;
                let Some(body) = read_data(&mut conn)? else {
                    return conn.flush();
                };
                let from = envelope.from.take().unwrap_or_default();
                let recipients = std::mem::take(&mut envelope.recipients);
                match body {
                    None => conn.queue(b"552 5.3.4 Message size exceeds fixed limit\r\n"),
                    Some(body) => match deliver(maildrop, &from, &recipients, &body) {
                        Ok(queue_id) => {
                            conn.queue(
                                format!("250 2.0.0 Ok: queued as {queue_id}\r\n").as_bytes(),
                            );
                        }
                        Err(_) => conn.queue(b"451 4.3.0 Could not store the message\r\n"),
                    },
                }
            }
            "RSET" => {
                envelope = Envelope::default();
                conn.queue(b"250 2.0.0 Ok\r\n");
            }
            "NOOP" => conn.queue(b"250 2.0.0 Ok\r\n"),
            "VRFY" => conn.queue(b"252 2.5.0 Cannot VRFY, send some mail\r\n"),
            "QUIT" => {
                conn.queue(b"221 2.0.0 Bye\r\n");
                return conn.flush();
            }
            "STARTTLS" => conn.queue(b"503 5.5.1 Already using TLS\r\n"),
            _ => conn.queue(b"502 5.5.2 Command not recognized\r\n"),
        }
    }
}

/// The next line, or `None` when the connection is over (closed, or a
/// line too long, which was answered).
fn next_line<S: Read + Write>(conn: &mut Conn<S>, max_bytes: usize) -> io::Result<Option<Vec<u8>>> {
    match conn.read_line(max_bytes)? {
        Line::Complete(line) => Ok(Some(line)),
        Line::Closed => Ok(None),
        Line::TooLong => {
            conn.queue(b"500 5.5.6 Line too long\r\n");
            Ok(None)
        }
    }
}

/// RFC 4954 AUTH PLAIN / LOGIN. `Some(accepted)`, or `None` when the
/// connection is over.
fn authenticate<S: Read + Write>(
    conn: &mut Conn<S>,
    arg: &[u8],
    credentials: &Credentials,
) -> io::Result<Option<bool>> {
    let (mechanism, initial) = split_command(arg);
    let ask = |conn: &mut Conn<S>, challenge: &[u8]| -> io::Result<Option<Vec<u8>>> {
        conn.queue(b"334 ");
        conn.queue(challenge);
        conn.queue(b"\r\n");
        Ok(next_line(conn, MAX_COMMAND_BYTES)?.map(|line| trim_line_end(&line).to_vec()))
    };
    match mechanism.as_str() {
        "PLAIN" => {
            let response = if initial.is_empty() {
                match ask(conn, b"")? {
                    Some(response) => response,
                    None => return Ok(None),
                }
            } else {
                initial.to_vec()
            };
            Ok(Some(
                response != b"*" && credentials.accepts_plain(&response),
            ))
        }
        "LOGIN" => {
            let decode = |text: &[u8]| {
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim_ascii())
                    .ok()
            };
            let user = if initial.is_empty() {
                match ask(conn, b"VXNlcm5hbWU6")? {
                    Some(response) => response,
                    None => return Ok(None),
                }
            } else {
                initial.to_vec()
            };
            let Some(password) = ask(conn, b"UGFzc3dvcmQ6")? else {
                return Ok(None);
            };
            Ok(Some(match (decode(&user), decode(&password)) {
                (Some(user), Some(password)) => credentials.accepts(&user, &password),
                _ => false,
            }))
        }
        _ => {
            conn.queue(b"504 5.5.4 Unrecognized authentication type\r\n");
            Ok(Some(false))
        }
    }
}

/// `FROM:<path> params` (or `TO:`): the address and the parameters.
fn path_argument<'a>(arg: &'a [u8], prefix: &str) -> Option<(String, &'a [u8])> {
    let text = std::str::from_utf8(arg).ok()?;
    if !text.get(..prefix.len())?.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = text[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let path = &rest[..end];
    if path.chars().any(char::is_control) {
        return None;
    }
    let params_start = arg.len() - (rest.len() - end - 1);
    Some((path.to_string(), &arg[params_start..]))
}

/// The `SIZE=` parameter of MAIL (RFC 1870 §5).
fn declared_size(params: &[u8]) -> Option<u64> {
    std::str::from_utf8(params)
        .ok()?
        .split_ascii_whitespace()
        .find_map(|param| {
            let (key, value) = param.split_once('=')?;
            key.eq_ignore_ascii_case("SIZE")
                .then(|| value.parse().ok())?
        })
}

/// Reads DATA up to the lone dot, removing one stuffing dot per line (RFC
/// 5321 §4.5.2). `Some(None)` when it was too large (read and dropped);
/// `None` when the connection ended first.
fn read_data<S: Read + Write>(conn: &mut Conn<S>) -> io::Result<Option<Option<Vec<u8>>>> {
    let mut body = Vec::new();
    let mut too_large = false;
    loop {
        let line = match conn.read_line(MAX_DATA_LINE_BYTES)? {
            Line::Complete(line) => line,
            Line::Closed => return Ok(None),
            Line::TooLong => {
                conn.queue(b"500 5.5.6 Line too long\r\n");
                return Ok(None);
            }
        };
        if trim_line_end(&line) == b"." {
            return Ok(Some((!too_large).then_some(body)));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if body.len() as u64 + line.len() as u64 > MAX_MESSAGE_BYTES {
            too_large = true;
            body = Vec::new();
        }
        if !too_large {
            body.extend_from_slice(line);
        }
    }
}

/// Adds the message to the demo mailbox if it is for the demo address;
/// returns a queue id either way.
fn deliver(
    maildrop: &Maildrop,
    from: &str,
    recipients: &[String],
    body: &[u8],
) -> io::Result<String> {
    let for_demo = recipients
        .iter()
        .any(|to| to.eq_ignore_ascii_case(super::DEMO_EMAIL_ADDR));
    if !for_demo {
        return Ok("discarded".to_string());
    }
    let now = crate::store::unix_now();
    let date = super::seed::rfc5322_date(now, 0);
    let server_name = super::SERVER_NAME;
    let demo_addr = super::DEMO_EMAIL_ADDR;
    let trace = format!(
        "Return-Path: <{from}>\r\n\
         Delivered-To: {demo_addr}\r\n\
         Received: from [127.0.0.1] by {server_name} (Herald demo)\r\n\
         \twith ESMTPSA for <{demo_addr}>; {date}\r\n"
    );
    let mut message = trace.into_bytes();
    message.extend_from_slice(body);
    maildrop.deliver(&message)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn mail_and_rcpt_arguments() {
        let (from, params) =
            path_argument(b"FROM:<a@b.example> SIZE=12 BODY=8BITMIME", "FROM:").unwrap();
        assert_eq!(from, "a@b.example");
        assert_eq!(declared_size(params), Some(12));
        let (to, _) = path_argument(b"to: <x@y.example>", "TO:").unwrap();
        assert_eq!(to, "x@y.example");
        assert_eq!(path_argument(b"FROM:a@b", "FROM:"), None);
        assert_eq!(declared_size(b" BODY=7BIT"), None);
    }
}
