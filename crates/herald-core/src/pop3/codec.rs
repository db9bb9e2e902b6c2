//! The POP3 wire format without I/O: status lines and RFC 2449 response
//! codes, capability lists, drop/scan/unique-id listings, command lines, and
//! the byte-exact dot-unstuffing of multi-line replies. Pure functions over
//! bytes, so they can be tested (and fuzzed) without a server.

use std::fmt;

use super::Pop3Error;

/// RFC 2449 §4: a status line (the first line of a reply, the greeting
/// included) is at most 512 octets with its CRLF.
pub(crate) const MAX_STATUS_LINE: usize = 512;

/// The longest line accepted inside a CAPA, LIST or UIDL reply, CRLF
/// included. A scan listing or unique-id line is under 100 octets (RFC 1939
/// §7: a unique-id is at most 70 characters); this leaves room for servers
/// that append information after the size, and for long SASL lists.
pub(crate) const MAX_LISTING_LINE: usize = 1024;

/// The longest line accepted inside a message (RETR and TOP replies): 1 MiB,
/// line ending and stuffing dot included. RFC 5322 allows 998 octets; real
/// mail has longer lines (unwrapped HTML, base64 without line breaks), so
/// the limit is generous, but a server sending an endless line is stopped
/// here rather than filling memory or a disk.
pub const MAX_DATA_LINE: usize = 1 << 20;

/// Server text shown to a person is cut to this many characters.
pub(crate) const MAX_DISPLAY_CHARS: usize = 200;

/// The first line of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// `+OK`, with the text after it.
    Ok(Vec<u8>),
    /// `-ERR`, with the text after it.
    Err(Vec<u8>),
    /// `+` alone or `+ ` and a base64 challenge: an AUTH continuation
    /// (RFC 5034 §4). Only valid while authenticating.
    Continue(Vec<u8>),
}

/// The line without its ending: LF, CRLF, or nothing at the end of input.
pub(crate) fn strip_line_ending(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses a status line (RFC 1939 §3): `+OK` or `-ERR`, then a space and
/// text or the end of the line. The indicators are upper case; anything else
/// is not a POP3 reply.
pub(crate) fn parse_status(line: &[u8]) -> Result<Status, Pop3Error> {
    let line = strip_line_ending(line);
    let after = |rest: &[u8]| -> Option<Vec<u8>> {
        match rest.split_first() {
            None => Some(Vec::new()),
            Some((b' ', text)) => Some(text.to_vec()),
            Some(_) => None,
        }
    };
    let parsed = if let Some(rest) = line.strip_prefix(b"+OK") {
        after(rest).map(Status::Ok)
    } else if let Some(rest) = line.strip_prefix(b"-ERR") {
        after(rest).map(Status::Err)
    } else if let Some(rest) = line.strip_prefix(b"+") {
        after(rest).map(Status::Continue)
    } else {
        None
    };
    parsed.ok_or_else(|| Pop3Error::Protocol {
        detail: format!(
            "expected +OK or -ERR, got \"{}\"",
            display_text(line, MAX_DISPLAY_CHARS)
        ),
    })
}

/// An RFC 2449 §8 / RFC 3206 response code, at the start of `-ERR` text in
/// brackets: `-ERR [IN-USE] mailbox locked`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseCode {
    /// `[IN-USE]`: another session holds the mailbox lock.
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently (RFC 2449 §8.1.2).
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary server problem (RFC 3206 §4).
    SysTemp,
    /// `[SYS/PERM]`: a permanent server problem (RFC 3206 §4).
    SysPerm,
    /// `[AUTH]`: the credentials were wrong (RFC 3206 §5).
    Auth,
}

impl ResponseCode {
    /// The code at the start of `text`, if it is one we act on. Codes are
    /// compared without regard to case; unknown codes are ignored (RFC 2449
    /// §8: clients must ignore codes they do not understand).
    pub(crate) fn parse(text: &[u8]) -> Option<ResponseCode> {
        let rest = text.strip_prefix(b"[")?;
        let end = memchr::memchr(b']', rest)?;
        let code = String::from_utf8_lossy(&rest[..end]).to_ascii_uppercase();
        let mut levels = code.split('/');
        match (levels.next(), levels.next()) {
            (Some("IN-USE"), _) => Some(ResponseCode::InUse),
            (Some("LOGIN-DELAY"), _) => Some(ResponseCode::LoginDelay),
            (Some("SYS"), Some("TEMP")) => Some(ResponseCode::SysTemp),
            (Some("SYS"), Some("PERM")) => Some(ResponseCode::SysPerm),
            (Some("AUTH"), _) => Some(ResponseCode::Auth),
            _ => None,
        }
    }

    /// True when trying again later may succeed.
    pub(crate) fn is_transient(code: Option<ResponseCode>) -> bool {
        matches!(
            code,
            Some(ResponseCode::InUse | ResponseCode::LoginDelay | ResponseCode::SysTemp)
        )
    }
}

/// Bytes from a server made safe to show on one line: lossy UTF-8, control
/// and bidi characters neutralised ([`crate::text::neutralize_line`]), and
/// cut to `max_chars` characters with an ellipsis.
pub(crate) fn display_text(bytes: &[u8], max_chars: usize) -> String {
    // Neutralising never lengthens the text, so cutting the input first
    // (with room for the ellipsis decision) bounds the work too.
    let cut = &bytes[..bytes.len().min(max_chars.saturating_mul(4) + 4)];
    let text = crate::text::neutralize_line(&String::from_utf8_lossy(cut));
    if text.chars().count() > max_chars || cut.len() < bytes.len() {
        let mut shortened: String = text.chars().take(max_chars).collect();
        shortened.push('…');
        shortened
    } else {
        text
    }
}

/// How long the server keeps messages (RFC 2449 §6.7, `EXPIRE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Expire {
    /// Days a retrieved message stays on the server; `None` for `NEVER`.
    /// `Some(0)` means the server deletes retrieved messages at the end of
    /// the session whatever the client asks: "leave on server" is
    /// impossible.
    pub days: Option<u32>,
    /// `USER`: the value differs between users; the value after login is
    /// the one that applies.
    pub per_user: bool,
}

/// How often the user may log in (RFC 2449 §6.8, `LOGIN-DELAY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LoginDelay {
    /// Minimum seconds between logins.
    pub seconds: u32,
    /// `USER`: the value differs between users.
    pub per_user: bool,
}

/// What the server said it supports in reply to `CAPA` (RFC 2449 §5, §6).
///
/// Capability names are compared without regard to case. Lines we do not
/// understand are ignored but kept in [`Capabilities::raw`] for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// True if the server answered `CAPA` with `+OK`; when false, every flag
    /// is false and the server is assumed to speak only RFC 1939.
    pub advertised: bool,
    /// `TOP`: the TOP command (headers and the first lines of a message).
    pub top: bool,
    /// `USER`: USER/PASS login.
    pub user: bool,
    /// `UIDL`: unique ids that persist between sessions.
    pub uidl: bool,
    /// `PIPELINING` (RFC 2449 §6.6): commands may be sent without waiting.
    pub pipelining: bool,
    /// `STLS` (RFC 2595 §4): the plain connection can be upgraded to TLS.
    pub stls: bool,
    /// `RESP-CODES` (RFC 2449 §6.4): `-ERR` replies may carry codes.
    pub resp_codes: bool,
    /// `AUTH-RESP-CODE` (RFC 3206 §6): login failures carry `[AUTH]` or
    /// `[SYS/…]`.
    pub auth_resp_code: bool,
    /// `SASL` mechanisms (RFC 2449 §6.3), upper case, in the server's order.
    pub sasl_mechanisms: Vec<String>,
    /// `EXPIRE`, when given and well formed.
    pub expire: Option<Expire>,
    /// `LOGIN-DELAY`, when given and well formed.
    pub login_delay: Option<LoginDelay>,
    /// `IMPLEMENTATION` text (server software), neutralised for display.
    pub implementation: Option<String>,
    /// Every capability line as received, for display: neutralised
    /// ([`crate::text::neutralize_line`]) and shortened, otherwise raw.
    pub raw: Vec<String>,
}

impl Capabilities {
    /// Parses the lines of a `CAPA` reply (unstuffed, without line endings).
    pub(crate) fn parse(lines: &[Vec<u8>]) -> Capabilities {
        let mut capabilities = Capabilities {
            advertised: true,
            ..Capabilities::default()
        };
        for line in lines {
            capabilities.raw.push(display_text(line, MAX_DISPLAY_CHARS));
            let text = String::from_utf8_lossy(line);
            let mut words = text.split(' ').filter(|word| !word.is_empty());
            let Some(tag) = words.next() else { continue };
            let args: Vec<&str> = words.collect();
            match tag.to_ascii_uppercase().as_str() {
                "TOP" => capabilities.top = true,
                "USER" => capabilities.user = true,
                "UIDL" => capabilities.uidl = true,
                "PIPELINING" => capabilities.pipelining = true,
                "STLS" => capabilities.stls = true,
                "RESP-CODES" => capabilities.resp_codes = true,
                "AUTH-RESP-CODE" => capabilities.auth_resp_code = true,
                "SASL" => capabilities.sasl_mechanisms.extend(
                    args.iter()
                        .map(|mechanism| display_text(mechanism.as_bytes(), 40))
                        .map(|mechanism| mechanism.to_ascii_uppercase()),
                ),
                "EXPIRE" => capabilities.expire = parse_expire(&args),
                "LOGIN-DELAY" => capabilities.login_delay = parse_login_delay(&args),
                "IMPLEMENTATION" => {
                    let rest = text
                        .trim_start_matches(' ')
                        .split_once(' ')
                        .map_or("", |(_, rest)| rest);
                    capabilities.implementation =
                        Some(display_text(rest.as_bytes(), MAX_DISPLAY_CHARS));
                }
                _ => {}
            }
        }
        capabilities
    }

    /// True if `SASL` lists `mechanism` (case-insensitive).
    pub fn has_sasl(&self, mechanism: &str) -> bool {
        self.sasl_mechanisms
            .iter()
            .any(|offered| offered.eq_ignore_ascii_case(mechanism))
    }
}

fn parse_per_user(rest: &[&str]) -> Option<bool> {
    match rest {
        [] => Some(false),
        [user] if user.eq_ignore_ascii_case("USER") => Some(true),
        _ => None,
    }
}

fn parse_expire(args: &[&str]) -> Option<Expire> {
    let (first, rest) = args.split_first()?;
    let days = if first.eq_ignore_ascii_case("NEVER") {
        None
    } else {
        Some(parse_decimal::<u32>(first.as_bytes())?)
    };
    Some(Expire {
        days,
        per_user: parse_per_user(rest)?,
    })
}

fn parse_login_delay(args: &[&str]) -> Option<LoginDelay> {
    let (first, rest) = args.split_first()?;
    Some(LoginDelay {
        seconds: parse_decimal::<u32>(first.as_bytes())?,
        per_user: parse_per_user(rest)?,
    })
}

/// A decimal number of ASCII digits only (no sign, no spaces), at most 20
/// of them, that fits in `T`.
fn parse_decimal<T: std::str::FromStr>(digits: &[u8]) -> Option<T> {
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn malformed(what: &str, line: &[u8]) -> Pop3Error {
    Pop3Error::Protocol {
        detail: format!(
            "malformed {what}: \"{}\"",
            display_text(line, MAX_DISPLAY_CHARS)
        ),
    }
}

/// `count SP octets` with optional text after another space (RFC 1939 §5:
/// "this memo makes no requirement on what follows"). Used for the STAT
/// reply (a drop listing) and LIST lines (scan listings).
fn parse_two_numbers(text: &[u8]) -> Option<(u64, u64)> {
    let mut fields = text.splitn(3, |&byte| byte == b' ');
    let first = parse_decimal::<u64>(fields.next()?)?;
    let second = parse_decimal::<u64>(fields.next()?)?;
    Some((first, second))
}

/// The text of a `+OK` reply to STAT: `count octets` (RFC 1939 §5).
pub(crate) fn parse_drop_listing(text: &[u8]) -> Result<(u32, u64), Pop3Error> {
    parse_two_numbers(text)
        .and_then(|(count, octets)| Some((u32::try_from(count).ok()?, octets)))
        .ok_or_else(|| malformed("STAT reply", text))
}

/// One line of a LIST reply: `msg_num octets` (RFC 1939 §5). Message
/// numbers start at 1.
pub(crate) fn parse_scan_line(line: &[u8]) -> Result<(u32, u64), Pop3Error> {
    parse_two_numbers(line)
        .and_then(|(msg_num, octets)| Some((message_number(msg_num)?, octets)))
        .ok_or_else(|| malformed("LIST line", line))
}

fn message_number(value: u64) -> Option<u32> {
    u32::try_from(value).ok().filter(|&msg_num| msg_num >= 1)
}

/// One line of a UIDL reply (RFC 1939 §7): a message number, exactly one
/// space, and the unique-id: everything after that space, returned as raw
/// bytes.
///
/// The structure is strict (digits, one space, a non-empty rest): a line
/// that breaks it is a protocol error, because skipping it would silently
/// leave a message without its id. The id's content is not judged here:
/// RFC 1939 allows 1–70 characters from 0x21 to 0x7E, but validating that,
/// and handling duplicates, belongs to the sync engine, which sees the whole
/// list; so a "hostile" id (8-bit bytes, controls, spaces, 500 octets) comes
/// back exactly as sent.
pub(crate) fn parse_uidl_line(line: &[u8]) -> Result<(u32, Vec<u8>), Pop3Error> {
    let parsed = (|| {
        let space = memchr::memchr(b' ', line)?;
        let msg_num = message_number(parse_decimal::<u64>(&line[..space])?)?;
        let uidl = &line[space + 1..];
        (!uidl.is_empty()).then(|| (msg_num, uidl.to_vec()))
    })();
    parsed.ok_or_else(|| malformed("UIDL line", line))
}

/// Checks that a command argument can be sent: no CR, LF or NUL, which
/// would end the command early or smuggle a second one (RFC 1939 §3).
pub(crate) fn check_argument(argument: &[u8], what: &'static str) -> Result<(), Pop3Error> {
    if argument
        .iter()
        .any(|&byte| matches!(byte, b'\r' | b'\n' | 0))
    {
        Err(Pop3Error::InvalidArgument {
            what,
            problem: "contains a line break or a NUL character",
        })
    } else {
        Ok(())
    }
}

/// A command about one message, as pipelined by the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MessageCommand {
    /// RFC 1939 §7 RETR: the whole message.
    Retr,
    /// RFC 1939 §7 TOP: the headers and this many body lines.
    Top(u32),
    /// RFC 1939 §6 DELE: mark for deletion at QUIT.
    Dele,
}

impl MessageCommand {
    /// The command's name, for error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MessageCommand::Retr => "RETR",
            MessageCommand::Top(_) => "TOP",
            MessageCommand::Dele => "DELE",
        }
    }

    /// The command line, CRLF included. Numbers cannot contain CR or LF.
    pub(crate) fn line(self, msg_num: u32) -> Vec<u8> {
        match self {
            MessageCommand::Top(lines) => format!("TOP {msg_num} {lines}\r\n"),
            other => format!("{} {msg_num}\r\n", other.name()),
        }
        .into_bytes()
    }
}

impl fmt::Display for MessageCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of a listing line (CAPA, LIST, UIDL) once unstuffed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ListingLine<'a> {
    /// A line of content, without its ending.
    Content(&'a [u8]),
    /// The `.` line that ends the reply.
    End,
}

/// Unstuffs one line of a short multi-line reply (RFC 1939 §3): a line that
/// is exactly `.` CRLF ends it; otherwise one leading `.` is removed.
pub(crate) fn listing_line(line: &[u8]) -> ListingLine<'_> {
    if line == b".\r\n" {
        return ListingLine::End;
    }
    let line = line.strip_prefix(b".").unwrap_or(line);
    ListingLine::Content(strip_line_ending(line))
}

/// A data line longer than [`MAX_DATA_LINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataLineTooLong;

/// Removes dot-stuffing from a multi-line reply as bytes stream through,
/// and finds its end, without ever holding a whole line (RFC 1939 §3).
///
/// - A line is what ends with LF, so a bare LF inside a message starts a new
///   line for stuffing purposes, as servers that stuff after any LF expect.
/// - The reply ends at a line that is exactly `.` CR LF. `.` LF alone is not
///   an end: following RFC 1939 §3 literally, its dot is removed as
///   stuffing and the LF is data. Being strict here means a server that ends
///   replies with a bare LF times out instead of a message being cut short
///   and its remaining lines taken for replies (which mail content could
///   then forge).
/// - Otherwise exactly one leading dot is removed, and every other byte,
///   CR and LF included, is passed through unchanged.
#[derive(Debug, Clone)]
pub(crate) struct Unstuffer {
    state: UnstuffState,
    line_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnstuffState {
    /// At the start of a line.
    LineStart,
    /// After a leading dot.
    Dot,
    /// After a leading dot and CR.
    DotCr,
    /// Inside a line.
    InLine,
    /// The terminating line was read.
    Done,
}

impl Default for Unstuffer {
    fn default() -> Self {
        Unstuffer::new()
    }
}

impl Unstuffer {
    /// At the start of a reply body.
    pub(crate) fn new() -> Unstuffer {
        Unstuffer {
            state: UnstuffState::LineStart,
            line_len: 0,
        }
    }

    /// True once the terminating `.` line was consumed.
    pub(crate) fn is_done(&self) -> bool {
        self.state == UnstuffState::Done
    }

    /// Moves bytes from `input` to `output`, unstuffing. Returns how many
    /// bytes of `input` were consumed and how many of `output` were
    /// written. Stops at the end of the reply (nothing after the terminator
    /// is consumed), when `input` is used up or when `output` is full.
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize), DataLineTooLong> {
        let mut consumed = 0;
        let mut produced = 0;
        while consumed < input.len() && produced < output.len() {
            let byte = input[consumed];
            match self.state {
                UnstuffState::Done => break,
                UnstuffState::LineStart => {
                    self.line_len = 0;
                    if byte == b'.' {
                        consumed += 1;
                        self.grow_line(1)?;
                        self.state = UnstuffState::Dot;
                    } else {
                        self.state = UnstuffState::InLine;
                    }
                }
                UnstuffState::Dot => {
                    if byte == b'\r' {
                        consumed += 1;
                        self.grow_line(1)?;
                        self.state = UnstuffState::DotCr;
                    } else {
                        // The dot was stuffing; this byte is data.
                        self.state = UnstuffState::InLine;
                    }
                }
                UnstuffState::DotCr => {
                    if byte == b'\n' {
                        consumed += 1;
                        self.state = UnstuffState::Done;
                    } else {
                        // `.` CR then something else: the CR is data.
                        output[produced] = b'\r';
                        produced += 1;
                        self.state = UnstuffState::InLine;
                    }
                }
                UnstuffState::InLine => {
                    // Only a line that starts with a dot needs the states
                    // above: everything up to the next one is copied at
                    // once, however many lines that is. At most a line's
                    // limit at a time, so that a whole line inside the
                    // stretch is always within it.
                    let room = (input.len() - consumed)
                        .min(output.len() - produced)
                        .min(MAX_DATA_LINE);
                    let available = &input[consumed..consumed + room];
                    let (count, line_ends) = match memchr::memmem::find(available, b"\n.") {
                        Some(at) => (at + 1, true),
                        None => (room, available.last() == Some(&b'\n')),
                    };
                    let stretch = &available[..count];
                    match memchr::memchr(b'\n', stretch) {
                        None => self.grow_line(count)?,
                        Some(first) => {
                            // The line under way ends here; the last one
                            // in the stretch may go on in the next input.
                            self.grow_line(first + 1)?;
                            let last = memchr::memrchr(b'\n', stretch).unwrap_or(first);
                            self.line_len = 0;
                            self.grow_line(count - last - 1)?;
                        }
                    }
                    output[produced..produced + count].copy_from_slice(stretch);
                    consumed += count;
                    produced += count;
                    if line_ends {
                        self.state = UnstuffState::LineStart;
                    }
                }
            }
        }
        Ok((consumed, produced))
    }

    fn grow_line(&mut self, count: usize) -> Result<(), DataLineTooLong> {
        self.line_len += count;
        if self.line_len > MAX_DATA_LINE {
            Err(DataLineTooLong)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Unstuffs `input` fed in pieces of `in_step` bytes into an output of
    /// `out_step` bytes at a time; returns the body and how much input was
    /// consumed.
    fn unstuff(input: &[u8], in_step: usize, out_step: usize) -> (Vec<u8>, usize) {
        let mut unstuffer = Unstuffer::new();
        let mut body = Vec::new();
        let mut at = 0;
        let mut output = vec![0u8; out_step];
        while !unstuffer.is_done() && at < input.len() {
            let end = (at + in_step).min(input.len());
            let (consumed, produced) = unstuffer.step(&input[at..end], &mut output).unwrap();
            body.extend_from_slice(&output[..produced]);
            at += consumed;
        }
        (body, at)
    }

    #[test]
    fn unstuffing_is_byte_exact_for_every_split() {
        let input: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\n...two dots\r\n\xff\xfe 8-bit\r\nbare\nLF\n.\nafter dot-LF\r\n.\rX\r\n.x\r\n\r\n.\r\nNEXT";
        let expected: &[u8] = b"Subject: x\r\n\r\n.leading dot\r\n..two dots\r\n\xff\xfe 8-bit\r\nbare\nLF\n\nafter dot-LF\r\n\rX\r\nx\r\n\r\n";
        for in_step in 1..=input.len() {
            for out_step in [1, 2, 3, 7, 64] {
                let (body, consumed) = unstuff(input, in_step, out_step);
                assert_eq!(body, expected, "in {in_step} out {out_step}");
                assert_eq!(&input[consumed..], b"NEXT", "in {in_step} out {out_step}");
            }
        }
    }

    /// The rules applied line by line to a whole reply: the reference for
    /// the streaming unstuffer.
    fn reference_unstuff(input: &[u8]) -> Option<(Vec<u8>, usize)> {
        let mut body = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let end = memchr::memchr(b'\n', &input[at..]).map_or(input.len(), |n| at + n + 1);
            let line = &input[at..end];
            if line.len() > MAX_DATA_LINE {
                return None;
            }
            if line == b".\r\n" {
                return Some((body, end));
            }
            body.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
            at = end;
        }
        Some((body, at))
    }

    #[test]
    fn unstuffing_in_any_pieces_gives_the_line_by_line_result() {
        // Lines of every kind (dot-stuffed, a lone dot with a bare LF or a
        // CR alone, empty, bare LF, 8-bit), in random orders, fed in random
        // pieces into random output sizes.
        let kinds: [&[u8]; 9] = [
            b"plain text line\r\n",
            b"..stuffed\r\n",
            b".\n",
            b".\rX\r\n",
            b"\r\n",
            b"bare\n",
            b".x\r\n",
            b"\xff\xfe\x00 8-bit\r\n",
            b"...\r\n",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        for _ in 0..400 {
            let mut input = Vec::new();
            for _ in 0..next(60) {
                input.extend_from_slice(kinds[next(kinds.len())]);
            }
            input.extend_from_slice(b".\r\nNEXT");
            let (expected, expected_end) = reference_unstuff(&input).unwrap();
            let in_step = 1 + next(70);
            let out_step = 1 + next(90);
            let (body, consumed) = unstuff(&input, in_step, out_step);
            assert_eq!(body, expected, "in {in_step} out {out_step}");
            assert_eq!(consumed, expected_end, "in {in_step} out {out_step}");
        }
    }

    #[test]
    fn a_long_line_is_refused_wherever_the_pieces_fall() {
        // A short line, then one over the limit after many short ones: in
        // one piece or several, the long one is refused.
        let mut input = b"short\r\n".repeat(1000);
        input.extend(vec![b'z'; MAX_DATA_LINE + 5]);
        input.extend_from_slice(b"\r\n.\r\n");
        assert!(reference_unstuff(&input).is_none());
        for piece in [MAX_DATA_LINE * 2, 65_536, 4_096, 1_000_003] {
            let mut unstuffer = Unstuffer::new();
            let mut output = vec![0u8; piece];
            let mut at = 0;
            let refused = loop {
                let end = (at + piece).min(input.len());
                match unstuffer.step(&input[at..end], &mut output) {
                    Err(DataLineTooLong) => break true,
                    Ok((consumed, _)) if unstuffer.is_done() || consumed == 0 => break false,
                    Ok((consumed, _)) => at += consumed,
                }
            };
            assert!(refused, "piece {piece}");
        }
    }

    #[test]
    fn an_empty_body_ends_at_once() {
        let (body, consumed) = unstuff(b".\r\n+OK", 10, 10);
        assert!(body.is_empty());
        assert_eq!(consumed, 3);
    }

    #[test]
    fn a_line_over_one_mebibyte_is_refused_and_one_at_the_limit_is_not() {
        let mut exact = vec![b'a'; MAX_DATA_LINE - 2];
        exact.extend_from_slice(b"\r\n.\r\n");
        let (body, _) = unstuff(&exact, 65536, 65536);
        assert_eq!(body.len(), MAX_DATA_LINE);

        let mut stuffed = vec![b'.'; MAX_DATA_LINE - 1];
        stuffed.extend_from_slice(b"\r\n");
        let mut unstuffer = Unstuffer::new();
        let mut output = vec![0u8; stuffed.len()];
        assert_eq!(unstuffer.step(&stuffed, &mut output), Err(DataLineTooLong));

        let endless = vec![b'b'; MAX_DATA_LINE + 1];
        let mut unstuffer = Unstuffer::new();
        let mut output = vec![0u8; endless.len()];
        assert_eq!(unstuffer.step(&endless, &mut output), Err(DataLineTooLong));
    }

    #[test]
    fn status_lines_need_exact_indicators() {
        assert_eq!(
            parse_status(b"+OK ready\r\n").unwrap(),
            Status::Ok(b"ready".to_vec())
        );
        assert_eq!(parse_status(b"+OK\r\n").unwrap(), Status::Ok(Vec::new()));
        assert_eq!(
            parse_status(b"-ERR [IN-USE] locked\r\n").unwrap(),
            Status::Err(b"[IN-USE] locked".to_vec())
        );
        assert_eq!(
            parse_status(b"+ \r\n").unwrap(),
            Status::Continue(Vec::new())
        );
        for bad in [
            &b"+OKAY\r\n"[..],
            b"ok\r\n",
            b"-ERROR x\r\n",
            b"\r\n",
            b"* OK",
        ] {
            assert!(
                matches!(parse_status(bad), Err(Pop3Error::Protocol { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn response_codes_are_recognised_without_regard_to_case() {
        assert_eq!(
            ResponseCode::parse(b"[IN-USE] busy"),
            Some(ResponseCode::InUse)
        );
        assert_eq!(
            ResponseCode::parse(b"[sys/temp] later"),
            Some(ResponseCode::SysTemp)
        );
        assert_eq!(
            ResponseCode::parse(b"[SYS/PERM/EXTRA]"),
            Some(ResponseCode::SysPerm)
        );
        assert_eq!(ResponseCode::parse(b"[AUTH] no"), Some(ResponseCode::Auth));
        assert_eq!(ResponseCode::parse(b"[UNKNOWN] x"), None);
        assert_eq!(ResponseCode::parse(b"no code [IN-USE]"), None);
        assert_eq!(ResponseCode::parse(b"[IN-USE"), None);
    }

    #[test]
    fn capabilities_are_parsed_and_kept_for_display() {
        let lines: Vec<Vec<u8>> = [
            "TOP",
            "uidl",
            "RESP-CODES",
            "PIPELINING",
            "AUTH-RESP-CODE",
            "USER",
            "SASL PLAIN login",
            "EXPIRE 30 USER",
            "LOGIN-DELAY 900",
            "IMPLEMENTATION Example\u{202E}Server 1.0",
            "X-UNKNOWN whatever",
        ]
        .iter()
        .map(|line| line.as_bytes().to_vec())
        .collect();
        let capabilities = Capabilities::parse(&lines);
        assert!(capabilities.advertised && capabilities.top && capabilities.uidl);
        assert!(capabilities.pipelining && capabilities.user && capabilities.resp_codes);
        assert!(capabilities.auth_resp_code && !capabilities.stls);
        assert!(capabilities.has_sasl("plain") && capabilities.has_sasl("LOGIN"));
        assert_eq!(
            capabilities.expire,
            Some(Expire {
                days: Some(30),
                per_user: true
            })
        );
        assert_eq!(
            capabilities.login_delay,
            Some(LoginDelay {
                seconds: 900,
                per_user: false
            })
        );
        assert_eq!(
            capabilities.implementation.as_deref(),
            Some("Example Server 1.0")
        );
        assert_eq!(capabilities.raw.len(), 11);
        let never = Capabilities::parse(&[b"EXPIRE NEVER".to_vec()]);
        assert_eq!(never.expire.map(|expire| expire.days), Some(None));
        let broken = Capabilities::parse(&[b"EXPIRE soon".to_vec()]);
        assert_eq!(broken.expire, None);
    }

    #[test]
    fn listings_are_parsed_strictly() {
        assert_eq!(parse_drop_listing(b"2 320").unwrap(), (2, 320));
        assert_eq!(parse_drop_listing(b"2 320 extra").unwrap(), (2, 320));
        assert!(parse_drop_listing(b"two 320").is_err());
        assert!(parse_drop_listing(b"99999999999 1").is_err());
        assert_eq!(parse_scan_line(b"1 120").unwrap(), (1, 120));
        assert_eq!(parse_scan_line(b"1 120 more info").unwrap(), (1, 120));
        for bad in [
            &b"0 10"[..],
            b"1",
            b"1  10",
            b"-1 10",
            b"+1 10",
            b"1 1e3",
            b"",
        ] {
            assert!(parse_scan_line(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_uidl_line(b"7 abc").unwrap(), (7, b"abc".to_vec()));
        assert_eq!(
            parse_uidl_line(b"7  two spaces\xff").unwrap(),
            (7, b" two spaces\xff".to_vec())
        );
        for bad in [
            &b"7"[..],
            b"7 ",
            b"x abc",
            b"0 abc",
            b"4294967296 abc",
            b" 7 abc",
        ] {
            assert!(parse_uidl_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn listing_lines_unstuff_one_dot_and_end_at_a_lone_dot() {
        assert_eq!(listing_line(b".\r\n"), ListingLine::End);
        assert_eq!(listing_line(b"..x\r\n"), ListingLine::Content(b".x"));
        assert_eq!(listing_line(b"TOP\r\n"), ListingLine::Content(b"TOP"));
        assert_eq!(listing_line(b".\n"), ListingLine::Content(b""));
    }

    #[test]
    fn arguments_with_line_breaks_are_refused() {
        assert!(check_argument(b"user", "the user name").is_ok());
        for bad in [&b"a\r\nDELE 1"[..], b"a\nb", b"a\rb", b"a\0b"] {
            assert!(matches!(
                check_argument(bad, "the user name"),
                Err(Pop3Error::InvalidArgument { .. })
            ));
        }
    }

    #[test]
    fn server_text_is_neutralised_and_bounded() {
        assert_eq!(
            display_text(b"bad\r\nBcc: x\x1b[31m", 200),
            "bad Bcc: x [31m"
        );
        let long = vec![b'x'; 10_000];
        let shown = display_text(&long, 200);
        assert_eq!(shown.chars().count(), 201);
        assert!(shown.ends_with('…'));
        assert_eq!(display_text(b"\xff\xfe", 200), "\u{FFFD}\u{FFFD}");
    }
}
