//! What a server offers, read from its EHLO reply (RFC 5321 §4.1.1.1).

use super::reply::{Reply, shown};

/// The extensions a server advertised in its EHLO reply.
///
/// Parsing is forgiving: a line we do not understand (empty, only
/// whitespace, odd characters) is skipped, never a reason to fail or panic
/// (lettre 0.11.23 panics on a whitespace-only line, RUSTSEC-2026-0562).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// The reply's lines for display (neutralised, shortened, empty ones
    /// dropped): one extension per line, without the server's name line.
    pub raw: Vec<String>,
    /// SIZE (RFC 1870) was advertised: we declare the size in MAIL FROM.
    pub size: bool,
    /// The largest message the server accepts, in bytes, when it said so
    /// (`SIZE 0` or a bare `SIZE` means no fixed limit).
    pub max_message_size_bytes: Option<u64>,
    /// SASL mechanisms offered with AUTH (RFC 4954), upper case.
    pub auth_mechanisms: Vec<String>,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531): addresses may be non-ASCII.
    pub smtputf8: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
}

/// Longest list of AUTH mechanisms we keep (a hostile server could send a
/// hundred long lines of them).
const MAX_MECHANISMS: usize = 32;

impl Capabilities {
    /// Reads the extensions from a positive EHLO reply. The first line is
    /// the server's name and greeting; each further line is one extension:
    /// a keyword and space-separated parameters.
    pub(crate) fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut capabilities = Capabilities {
            raw: reply
                .lines
                .iter()
                .skip(1)
                .map(|line| shown(line))
                .filter(|line| !line.is_empty())
                .collect(),
            ..Capabilities::default()
        };
        for line in reply.lines.iter().skip(1) {
            capabilities.read_line(line);
        }
        capabilities
    }

    fn read_line(&mut self, line: &str) {
        let mut words = line.split_ascii_whitespace();
        let Some(keyword) = words.next() else {
            return;
        };
        // Some old servers write `AUTH=LOGIN PLAIN`.
        let (keyword, first_parameter) = match keyword.split_once('=') {
            Some((keyword, parameter)) => (keyword, Some(parameter)),
            None => (keyword, None),
        };
        let mut parameters = first_parameter
            .into_iter()
            .filter(|parameter| !parameter.is_empty())
            .chain(words);
        match keyword.to_ascii_uppercase().as_str() {
            "SIZE" => {
                self.size = true;
                // RFC 1870 §4: 0 (or no number) means no fixed maximum.
                self.max_message_size_bytes = parameters
                    .next()
                    .and_then(|value| value.parse::<u64>().ok())
                    .filter(|limit| *limit > 0);
            }
            "AUTH" => {
                for mechanism in parameters {
                    let mechanism = mechanism.to_ascii_uppercase();
                    let valid = !mechanism.is_empty()
                        && mechanism.len() <= 20
                        && mechanism
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    if valid
                        && self.auth_mechanisms.len() < MAX_MECHANISMS
                        && !self.auth_mechanisms.contains(&mechanism)
                    {
                        self.auth_mechanisms.push(mechanism);
                    }
                }
            }
            "STARTTLS" => self.starttls = true,
            "PIPELINING" => self.pipelining = true,
            "8BITMIME" => self.eight_bit_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            _ => {}
        }
    }

    /// What the server said about message size, for a window to warn
    /// before sending.
    pub fn limits(&self) -> SmtpLimits {
        SmtpLimits {
            max_message_size_bytes: self.max_message_size_bytes,
        }
    }

    /// True if the server offers this SASL mechanism.
    pub fn offers_auth(&self, mechanism: &str) -> bool {
        self.auth_mechanisms
            .iter()
            .any(|offered| offered.eq_ignore_ascii_case(mechanism))
    }
}

/// What an SMTP server advertised that matters before a message is written:
/// its size limit (RFC 1870 SIZE). Learnt from EHLO (connection tests, sends,
/// Outbox flushes) and remembered per account
/// ([`crate::account::LearntSmtpLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmtpLimits {
    /// The largest message the server accepts, in bytes; `None` when it set
    /// no fixed limit (no SIZE, `SIZE 0` or a bare `SIZE`).
    pub max_message_size_bytes: Option<u64>,
}
