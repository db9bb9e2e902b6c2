//! SMTP replies (RFC 5321 §4.2) and enhanced status codes (RFC 3463), parsed
//! from bytes without I/O so the rules can be tested on their own.

use std::fmt;

use crate::text::neutralize_line;

/// Longest reply line we accept, CRLF included. RFC 5321 §4.5.3.1.5 allows
/// 512 octets; real servers stay well under it, but some send longer
/// explanations, so we allow 2 KB and call anything longer a protocol
/// violation rather than buffer it.
pub(crate) const MAX_REPLY_LINE_BYTES: usize = 2048;

/// Most lines one reply may have (an EHLO reply has one per extension).
pub(crate) const MAX_REPLY_LINES: usize = 100;

/// Longest server text we show a person, in characters.
const MAX_SHOWN_CHARS: usize = 300;

/// An enhanced mail system status code (RFC 3463), such as `5.7.8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct EnhancedStatus {
    /// 2 (success), 4 (persistent transient failure) or 5 (permanent).
    pub class: u8,
    /// What the status is about (1 addressing, 3 mail system, 7 security…).
    pub subject: u16,
    /// The detail within the subject.
    pub detail: u16,
}

impl EnhancedStatus {
    /// Parses `class.subject.detail` at the start of `text` (RFC 3463 §2:
    /// class is one digit, subject and detail one to three digits) and
    /// returns it with the rest of the text.
    fn parse_prefix(text: &str) -> Option<(EnhancedStatus, &str)> {
        let (token, rest) = match text.split_once(' ') {
            Some((token, rest)) => (token, rest),
            None => (text, ""),
        };
        let mut parts = token.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let digits = |part: &str, max: usize| {
            !part.is_empty() && part.len() <= max && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !(digits(class, 1) && digits(subject, 3) && digits(detail, 3)) {
            return None;
        }
        let class: u8 = class.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some((
            EnhancedStatus {
                class,
                subject: subject.parse().ok()?,
                detail: detail.parse().ok()?,
            },
            rest,
        ))
    }
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One parsed reply line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReplyLine<'a> {
    pub code: u16,
    /// False for `250-…` (more lines follow), true for `250 …` or `250`.
    pub last: bool,
    /// The text after the separator, without the line ending.
    pub text: &'a [u8],
}

/// Parses one reply line (RFC 5321 §4.2: `Reply-code [ SP / "-" textstring ]
/// CRLF`). A bare LF ending is tolerated; anything else that does not start
/// with a valid three-digit code and a separator is an error.
pub(crate) fn parse_line(line: &[u8]) -> Result<ReplyLine<'_>, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let valid_code = line.len() >= 3
        && (b'2'..=b'5').contains(&line[0])
        && (b'0'..=b'5').contains(&line[1])
        && line[2].is_ascii_digit();
    if !valid_code {
        return Err(format!(
            "a reply line does not start with a reply code: \"{}\"",
            shown(&String::from_utf8_lossy(&line[..line.len().min(40)]))
        ));
    }
    let code = u16::from(line[0] - b'0') * 100
        + u16::from(line[1] - b'0') * 10
        + u16::from(line[2] - b'0');
    match line.get(3) {
        None => Ok(ReplyLine {
            code,
            last: true,
            text: &[],
        }),
        Some(b' ') => Ok(ReplyLine {
            code,
            last: true,
            text: &line[4..],
        }),
        Some(b'-') => Ok(ReplyLine {
            code,
            last: false,
            text: &line[4..],
        }),
        Some(_) => Err(format!(
            "a reply line has no separator after its code: \"{}\"",
            shown(&String::from_utf8_lossy(&line[..line.len().min(40)]))
        )),
    }
}

/// A complete reply: its code and the text of each line, as received
/// (invalid UTF-8 replaced, not yet made safe for display).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The reply as shown to a person.
    pub fn shown(&self) -> ServerReply {
        ServerReply::from_reply(self)
    }
}

/// Collects reply lines until the last one; checks that every line carries
/// the same code and that the reply stays within [`MAX_REPLY_LINES`].
#[derive(Debug, Default)]
pub(crate) struct ReplyAssembler {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyAssembler {
    /// Adds one line; returns the reply once its last line has arrived.
    pub fn push(&mut self, raw: &[u8]) -> Result<Option<Reply>, String> {
        let line = parse_line(raw)?;
        if let Some(code) = self.code
            && code != line.code
        {
            return Err(format!(
                "a multi-line reply changed its code from {code} to {}",
                line.code
            ));
        }
        self.code = Some(line.code);
        if self.lines.len() >= MAX_REPLY_LINES {
            return Err(format!("a reply has more than {MAX_REPLY_LINES} lines"));
        }
        self.lines
            .push(String::from_utf8_lossy(line.text).into_owned());
        if line.last {
            Ok(Some(Reply {
                code: line.code,
                lines: std::mem::take(&mut self.lines),
            }))
        } else {
            Ok(None)
        }
    }
}

/// A server reply as shown to people: the code, the enhanced status code
/// when the server sent one, and the text made safe for one line
/// ([`neutralize_line`]) and cut to a few hundred characters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerReply {
    /// The three-digit reply code (RFC 5321 §4.2).
    pub code: u16,
    /// The enhanced status code (RFC 3463), when present.
    pub enhanced: Option<EnhancedStatus>,
    /// The text of all lines, joined with spaces, without the enhanced code.
    pub text: String,
}

impl ServerReply {
    /// True for a 4xx reply: the same command may succeed later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    fn from_reply(reply: &Reply) -> ServerReply {
        let first_digit = (reply.code / 100) as u8;
        let mut enhanced = None;
        let mut text = String::new();
        for (index, line) in reply.lines.iter().enumerate() {
            let mut line = line.as_str();
            // RFC 3463 §3: the enhanced code starts each line's text.
            if let Some((status, rest)) = EnhancedStatus::parse_prefix(line)
                && status.class == first_digit
                && (index == 0 || enhanced == Some(status))
            {
                enhanced = Some(status);
                line = rest;
            }
            let line = neutralize_line(line);
            if line.is_empty() {
                continue;
            }
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&line);
            if text.chars().count() > MAX_SHOWN_CHARS {
                break;
            }
        }
        ServerReply {
            code: reply.code,
            enhanced,
            text: shown(&text),
        }
    }
}

impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(enhanced) = self.enhanced {
            write!(f, " {enhanced}")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// Server text made safe and short enough to show.
pub(crate) fn shown(text: &str) -> String {
    let text = neutralize_line(text);
    if text.chars().count() <= MAX_SHOWN_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_SHOWN_CHARS).collect();
    cut.push('…');
    cut
}
