//! The list summary without decoding any text ([`skim`]).
//!
//! mail-parser decodes and charset-converts every text part of a message
//! while it finds the structure, which is most of the cost of summarising a
//! download. Here mail-parser reads only header sections (each part's, cut
//! at its blank line) and a walk of the MIME structure follows mail-parser's
//! own rules for what it needs: where each part ends (the first `--boundary`
//! after its body starts), which text parts are bodies, and whether a
//! transfer encoding is damaged (which turns a body into an attachment).
//! It answers only for the shapes where those rules are simple — one part,
//! or `multipart/mixed` (and other non-special multiparts) holding leaves,
//! nested multiparts and `multipart/alternative`s of leaves — and returns
//! `None` for anything else (a nested message, `multipart/related` or
//! `digest`, a non-body part with a Content-ID, a boundary string in the
//! middle of a line, a header section it cannot delimit, a multipart
//! without its closing delimiter, more than [`MAX_PARTS`] parts or
//! [`MAX_DEPTH`] levels), which [`super::summarize`] then answers with the
//! full parse. Tests compare the two on the corpus and on thousands of
//! mutations of it.
//!
//! Cost: one pass of `memmem` per boundary over the message, a branch-free
//! scan of each quoted-printable or base64 body (64 bytes a step), and the
//! header sections.

use mail_parser::{
    ContentType, GetHeader, HeaderName, HeaderValue, Message as MpMessage, MessageParser,
};
use memchr::memmem;

use super::super::Headers;
use super::read_headers;

/// More parts than this: left to the full parse.
const MAX_PARTS: usize = 64;
/// Multiparts nested deeper than this: left to the full parse.
const MAX_DEPTH: usize = 8;
/// A longer header section (of any part): left to the full parse.
const MAX_HEADER_BYTES: usize = 256 * 1024;

/// The header fields and whether the message has an attachment (as
/// [`super::summarize`] says), or `None` when the message is not of a shape
/// this walk answers for.
pub(super) fn skim(raw: &[u8]) -> Option<(Headers, bool)> {
    let parser = MessageParser::default();
    let root = Section::read(raw, 0)?;
    let fields = root.fields(&parser, raw)?;
    let mut walk = Skim {
        raw,
        root_body_start: root.body_start,
        parts: 1,
        boundaries: Vec::new(),
        found_attachment: false,
    };
    let content_type = fields.content_type();
    match classify(content_type) {
        Class::Multipart(kind) => {
            let boundary = boundary_of(content_type)?;
            walk.container(&parser, kind, boundary, root.body_start, 1)?;
        }
        Class::Leaf(mime) => {
            walk.note_boundary(content_type);
            walk.leaf(
                &fields,
                mime,
                Parent::Message,
                1,
                root.body_start,
                raw.len(),
            )?;
        }
        Class::Unsupported => return None,
    }
    walk.boundaries_only_at_line_starts()?;
    // The message's own fields, as the full parse reads them (last: when the
    // walk gives up, the full parse does this again).
    let headers = read_headers(fields.0.as_ref()?);
    Some((headers, walk.found_attachment))
}

/// How mail-parser sees a part's content type (its `mime_type`, for the
/// types this walk handles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mime {
    TextPlain,
    TextHtml,
    TextOther,
    /// image, audio or video.
    Inline,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alternative,
    /// `mixed` and every other subtype mail-parser gives no special role.
    Mixed,
}

enum Class {
    Multipart(Kind),
    Leaf(Mime),
    /// A nested message, `multipart/related` or `digest`.
    Unsupported,
}

/// mail-parser's `mime_type`, case-sensitive as it is; a part without a
/// content type is text/plain (the parent is never a digest here).
fn classify(content_type: Option<&ContentType<'_>>) -> Class {
    let Some(content_type) = content_type else {
        return Class::Leaf(Mime::TextPlain);
    };
    match content_type.ctype() {
        "multipart" => match content_type.subtype() {
            Some("alternative") => Class::Multipart(Kind::Alternative),
            Some("related" | "digest") => Class::Unsupported,
            _ => Class::Multipart(Kind::Mixed),
        },
        "text" => Class::Leaf(match content_type.subtype() {
            Some("plain") => Mime::TextPlain,
            Some("html") => Mime::TextHtml,
            _ => Mime::TextOther,
        }),
        "image" | "audio" | "video" => Class::Leaf(Mime::Inline),
        "message" if matches!(content_type.subtype(), Some("rfc822" | "global")) => {
            Class::Unsupported
        }
        _ => Class::Leaf(Mime::Other),
    }
}

/// A multipart's boundary; `None` (unsupported) when it has none, since
/// mail-parser then reads it as a text leaf.
fn boundary_of<'c>(content_type: Option<&'c ContentType<'_>>) -> Option<&'c str> {
    content_type?
        .attribute("boundary")
        .filter(|b| !b.is_empty())
}

/// The container a part is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// The message itself (a single-part message).
    Message,
    Multipart(Kind),
}

/// A header section: where it starts, where its body starts, and the start
/// of each field line.
struct Section {
    start: usize,
    body_start: usize,
    field_starts: Vec<usize>,
}

impl Section {
    /// Delimits the header section starting at `start`, accepting only
    /// lines whose reading by mail-parser is certain: fields (a name, then
    /// a colon), folded lines with some text, and a blank line (`\r\n` or
    /// `\n`) at the end.
    fn read(raw: &[u8], start: usize) -> Option<Section> {
        let mut field_starts = Vec::new();
        let mut at = start;
        loop {
            let rest = raw.get(at..)?;
            let end = at + memchr::memchr(b'\n', rest)?;
            let line = &raw[at..end];
            if line.is_empty() || line == b"\r" {
                return Some(Section {
                    start,
                    body_start: end + 1,
                    field_starts,
                });
            }
            match line[0] {
                b' ' | b'\t' => {
                    // A folded line: never the first, never blank (mail-parser
                    // would take a blank one for the end at a field's start).
                    if field_starts.is_empty() || line.iter().all(u8::is_ascii_whitespace) {
                        return None;
                    }
                }
                first if first.is_ascii_whitespace() || first == b':' => return None,
                _ => {
                    memchr::memchr(b':', line)?;
                    field_starts.push(at);
                }
            }
            at = end + 1;
            if at - start > MAX_HEADER_BYTES {
                return None;
            }
        }
    }

    /// mail-parser's reading of the fields, checked against the lines: one
    /// field per field line, each starting where the line does and none
    /// reaching past the blank line.
    fn fields<'r>(&self, parser: &MessageParser, raw: &'r [u8]) -> Option<Fields<'r>> {
        if self.field_starts.is_empty() {
            return Some(Fields(None));
        }
        let section = &raw[self.start..self.body_start];
        let parsed = parser.parse_headers(section)?;
        let blank_line = self.body_start - self.start - 1;
        let [part] = &parsed.parts[..] else {
            return None;
        };
        let consistent = part.headers.len() == self.field_starts.len()
            && part
                .headers
                .iter()
                .zip(&self.field_starts)
                .all(|(header, &at)| {
                    header.offset_field as usize == at - self.start
                        && header.offset_end as usize <= blank_line
                });
        consistent.then_some(Fields(Some(parsed)))
    }
}

/// A part's header fields as mail-parser reads them (`None`: no fields),
/// as a message of one part.
struct Fields<'r>(Option<MpMessage<'r>>);

impl<'r> Fields<'r> {
    fn value(&self, name: &HeaderName<'_>) -> Option<&HeaderValue<'r>> {
        self.0.as_ref()?.parts.first()?.headers.header_value(name)
    }

    fn content_type(&self) -> Option<&ContentType<'r>> {
        self.value(&HeaderName::ContentType)
            .and_then(HeaderValue::as_content_type)
    }

    fn is_attachment(&self) -> bool {
        self.value(&HeaderName::ContentDisposition)
            .and_then(HeaderValue::as_content_type)
            .is_some_and(ContentType::is_attachment)
    }

    fn has_content_id(&self) -> bool {
        self.value(&HeaderName::ContentId).is_some()
    }

    fn encoding(&self) -> Encoding {
        match self.value(&HeaderName::ContentTransferEncoding) {
            Some(HeaderValue::Text(encoding)) if encoding.eq_ignore_ascii_case("base64") => {
                Encoding::Base64
            }
            Some(HeaderValue::Text(encoding))
                if encoding.eq_ignore_ascii_case("quoted-printable") =>
            {
                Encoding::QuotedPrintable
            }
            _ => Encoding::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Base64,
    QuotedPrintable,
    None,
}

struct Skim<'r> {
    raw: &'r [u8],
    root_body_start: usize,
    parts: usize,
    /// Every boundary parameter seen, for the mid-line check.
    boundaries: Vec<String>,
    found_attachment: bool,
}

impl Skim<'_> {
    fn note_boundary(&mut self, content_type: Option<&ContentType<'_>>) {
        if let Some(boundary) = content_type.and_then(|ct| ct.attribute("boundary"))
            && !boundary.is_empty()
            && !self.boundaries.iter().any(|known| known == boundary)
        {
            self.boundaries.push(boundary.to_owned());
        }
    }

    /// The first `--boundary` at or after `from`, which must start a line.
    fn delimiter(&self, delimiter: &[u8], from: usize) -> Option<usize> {
        let at = from + memmem::find(self.raw.get(from..)?, delimiter)?;
        (at > 0 && self.raw[at - 1] == b'\n').then_some(at)
    }

    /// A multipart whose body starts at `body_start`: its parts in turn,
    /// up to its closing delimiter. Returns the offset after `--boundary--`.
    fn container(
        &mut self,
        parser: &MessageParser,
        kind: Kind,
        boundary: &str,
        body_start: usize,
        depth: usize,
    ) -> Option<usize> {
        if depth > MAX_DEPTH {
            return None;
        }
        if !self.boundaries.iter().any(|known| known == boundary) {
            self.boundaries.push(boundary.to_owned());
        }
        let delimiter = [b"--", boundary.as_bytes()].concat();
        let mut at = self.delimiter(&delimiter, body_start)?;
        let mut first = true;
        let mut parts_here = 0;
        loop {
            let after = at + delimiter.len();
            let rest = &self.raw[after..];
            let part_start = if rest.starts_with(b"\r\n") {
                after + 2
            } else if rest.starts_with(b"\n") {
                after + 1
            } else if rest.starts_with(b"--") && !first {
                return Some(after + 2);
            } else {
                return None;
            };
            first = false;
            parts_here += 1;
            self.parts += 1;
            if self.parts > MAX_PARTS {
                return None;
            }
            let section = Section::read(self.raw, part_start)?;
            let fields = section.fields(parser, self.raw)?;
            let content_type = fields.content_type();
            let next_from = match classify(content_type) {
                Class::Multipart(inner) => {
                    // mail-parser's rules for bodies get subtle inside an
                    // alternative: leave those to it.
                    if kind == Kind::Alternative {
                        return None;
                    }
                    let inner_boundary = boundary_of(content_type)?;
                    self.container(parser, inner, inner_boundary, section.body_start, depth + 1)?
                }
                Class::Leaf(mime) => {
                    self.note_boundary(content_type);
                    let end = self.delimiter(&delimiter, section.body_start)?;
                    self.leaf(
                        &fields,
                        mime,
                        Parent::Multipart(kind),
                        parts_here,
                        section.body_start,
                        end,
                    )?;
                    end
                }
                Class::Unsupported => return None,
            };
            at = self.delimiter(&delimiter, next_from)?;
        }
    }

    /// One leaf part, its encoded body from `body_start` to `body_end`: a
    /// body part (then nothing), or an attachment? `position` is its place
    /// in its parent, from 1.
    fn leaf(
        &mut self,
        fields: &Fields<'_>,
        mime: Mime,
        parent: Parent,
        position: usize,
        body_start: usize,
        body_end: usize,
    ) -> Option<()> {
        let body = self.raw.get(body_start..body_end)?;
        let problem = match fields.encoding() {
            Encoding::QuotedPrintable => quoted_printable_problem(body),
            Encoding::Base64 => base64_problem(body),
            Encoding::None => false,
        };
        let (mut mime, mut is_inline, mut is_text) = match mime {
            Mime::TextPlain | Mime::TextHtml => (mime, true, true),
            Mime::TextOther => (mime, false, true),
            Mime::Inline => (mime, true, false),
            Mime::Other => (mime, false, false),
        };
        if problem {
            if mime != Mime::TextPlain {
                mime = Mime::TextOther;
            }
            is_inline = false;
            is_text = true;
        }
        // mail-parser's rules, for a part outside any alternative (where
        // nothing has been chosen as the body yet) or directly in one.
        let content_type = fields.content_type();
        let is_inline = is_inline
            && !fields.is_attachment()
            && (position == 1
                || mime == Mime::Inline
                || content_type.is_none_or(|ct| !ct.has_attribute("name")));
        let is_inline = is_inline
            || position == 1 && parent == Parent::Message && mime == Mime::TextPlain && problem;
        let is_body = is_text
            && match parent {
                Parent::Multipart(Kind::Alternative) => {
                    matches!(mime, Mime::TextPlain | Mime::TextHtml)
                }
                Parent::Multipart(Kind::Mixed) | Parent::Message => is_inline,
            };
        if !is_body {
            // An image referenced from the HTML is not an attachment: that
            // needs the decoded HTML, so the full parse decides.
            if fields.has_content_id() {
                return None;
            }
            self.found_attachment = true;
        }
        Some(())
    }

    /// mail-parser treats `--boundary` anywhere in a line as a delimiter
    /// (and the full parse then masks those): only messages where every
    /// occurrence starts a line are answered here.
    fn boundaries_only_at_line_starts(&self) -> Option<()> {
        let body = self.raw.get(self.root_body_start..)?;
        for boundary in &self.boundaries {
            let delimiter = [b"--", boundary.as_bytes()].concat();
            for at in memmem::find_iter(body, &delimiter) {
                let at = self.root_body_start + at;
                if at == 0 || self.raw[at - 1] != b'\n' {
                    return None;
                }
            }
        }
        Some(())
    }
}

/// Bytes per step of the two scans below. A step's test has no branch
/// inside, so the compiler makes it vector instructions; the scans stop
/// between steps.
const CHUNK: usize = 64;

/// Whether mail-parser's quoted-printable decoder gives up on `body`: it
/// does at an `=` that follows an `=` (and at most one hex digit, line
/// breaks and white space) without a line end or another character between.
fn quoted_printable_problem(body: &[u8]) -> bool {
    // Each `=` is judged on its own (`escape_problem`); a single pass would
    // skip what the decoder reads after an `=`, but that is never an `=`
    // (else it is the problem), so the answer is the same. The two bytes
    // after an `=` settle nearly every one, so a chunk is first checked
    // whole (`escapes_settled`) and walked `=` by `=` only when that fails.
    // About 7 GB/s on English and on dense UTF-8 CJK (every third byte an
    // `=`), 4x the plain loop this replaced; `memchr` from `=` to `=` is a
    // little faster on English but 18x slower on CJK (measured).
    let mut start = 0;
    while let Some(window) = body
        .get(start..)
        .and_then(<[u8]>::first_chunk::<{ CHUNK + 2 }>)
    {
        if !escapes_settled(window)
            && (start..start + CHUNK).any(|at| body[at] == b'=' && escape_problem(&body[at + 1..]))
        {
            return true;
        }
        start += CHUNK;
    }
    (start..body.len()).any(|at| body[at] == b'=' && escape_problem(&body[at + 1..]))
}

/// Whether every `=` among the first [`CHUNK`] bytes of `window` is, by the
/// two bytes after it, no problem: a soft line break (`=\n`, `=\r\n`; the
/// decoder stops at the `\n`) or an escape `=XX` (it stops at the second
/// digit). Anything else (`==`, `=A=`, white space, `=A\r`…) is `false`,
/// for [`escape_problem`] to decide.
fn escapes_settled(window: &[u8; CHUNK + 2]) -> bool {
    let hex = |byte: u8| (byte.wrapping_sub(b'0') < 10) | ((byte | 0x20).wrapping_sub(b'a') < 6);
    let mut unsettled = false;
    for at in 0..CHUNK {
        let (byte, next, after) = (window[at], window[at + 1], window[at + 2]);
        let settled =
            (next == b'\n') | ((next == b'\r') & (after == b'\n')) | (hex(next) & hex(after));
        unsettled |= (byte == b'=') & !settled;
    }
    !unsettled
}

/// Whether the decoder gives up in `rest`, what follows an `=`.
fn escape_problem(rest: &[u8]) -> bool {
    // After `=`; `digit` once a hex digit followed it.
    let mut digit = false;
    for &byte in rest {
        if byte == b'=' {
            return true;
        }
        if digit {
            if byte == b'\n' || byte == b'\r' {
                continue;
            }
            return false;
        }
        match byte {
            b'\n' => return false,
            b'\r' => {}
            _ if byte.is_ascii_hexdigit() => digit = true,
            _ if byte.is_ascii_whitespace() => {}
            _ => return false,
        }
    }
    false
}

/// Whether mail-parser's base64 decoder gives up on `body`: a character
/// outside the alphabet, padding and white space, or `--` (which ends the
/// part only when its boundary follows, and `body` stops before that).
fn base64_problem(body: &[u8]) -> bool {
    // About 8 GB/s, 5x the byte-by-byte loop this replaced (measured).
    let (chunks, rest) = body.as_chunks::<CHUNK>();
    let mut dash = false;
    for chunk in chunks {
        let (unknown, dashes) = base64_scan(chunk);
        if unknown {
            return true;
        }
        dash |= dashes;
    }
    let (unknown, dashes) = base64_scan(rest);
    // A single `-` is allowed; `--` is rare enough for a second pass.
    unknown || ((dash || dashes) && memmem::find(body, b"--").is_some())
}

/// Whether `bytes` has a character the base64 decoder does not know, and
/// whether it has a `-`.
fn base64_scan(bytes: &[u8]) -> (bool, bool) {
    let (mut unknown, mut dash) = (false, false);
    for &byte in bytes {
        unknown |= !base64_known(byte);
        dash |= byte == b'-';
    }
    (unknown, dash)
}

/// A character of the alphabet, padding, white space or `-` (branch-free).
fn base64_known(byte: u8) -> bool {
    (byte.wrapping_sub(b'0') < 10)
        | ((byte | 0x20).wrapping_sub(b'a') < 26)
        | (byte == b'+')
        | (byte == b'/')
        | (byte == b'=')
        | (byte == b'\n')
        | (byte == b' ')
        | (byte == b'\t')
        | (byte == b'\r')
        | (byte == b'-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::super::{ParseLimits, full_summary};
    use super::*;

    /// Both answers; the skim must have answered.
    fn both(raw: &[u8]) -> ((Headers, bool), (Headers, bool)) {
        let skimmed = skim(raw).unwrap_or_else(|| {
            panic!(
                "not skimmed:\n{}",
                String::from_utf8_lossy(&raw[..raw.len().min(600)])
            )
        });
        let full = full_summary(raw, &ParseLimits::default()).unwrap();
        (skimmed, full)
    }

    fn assert_same(raw: &[u8]) -> bool {
        let (skimmed, full) = both(raw);
        assert_eq!(skimmed, full, "{}", String::from_utf8_lossy(raw));
        skimmed.1
    }

    const HEAD: &str = "From: =?UTF-8?B?5byg5LiJ?= <zhang@example.cn>\r\nTo: b@example.org\r\n\
Subject: Weekly\r\n update\r\nDate: Mon, 01 Sep 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\n";

    fn alternative(boundary: &str, text: &str, html: &str) -> String {
        format!(
            "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n{text}\r\n\
--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n{html}\r\n--{boundary}--\r\n"
        )
    }

    fn message(content_type: &str, body: &str) -> Vec<u8> {
        format!("{HEAD}Content-Type: {content_type}\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn an_alternative_has_no_attachment_and_the_same_headers() {
        let body = alternative("a", "caf=C3=A9 soft=\r\nbreak", "<p>caf=C3=A9</p>");
        let raw = message("multipart/alternative; boundary=a", &body);
        assert!(!assert_same(&raw));
        let (skimmed, _) = both(&raw);
        assert_eq!(skimmed.0.subject.as_deref(), Some("Weekly update"));
        assert_eq!(skimmed.0.from[0].name.as_deref(), Some("张三"));
        assert_eq!(skimmed.0.date_unix, Some(1_756_720_800));
    }

    #[test]
    fn a_mixed_message_with_a_file_has_an_attachment() {
        let body = format!(
            "preamble\r\n--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n{}\r\n\
--m\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename*=UTF-8''donn%C3%A9es.csv\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\nAwQ=\r\n--m--\r\nepilogue\r\n",
            alternative("a", "hi", "<b>hi</b>")
        );
        assert!(assert_same(&message("multipart/mixed; boundary=m", &body)));
    }

    #[test]
    fn damaged_encodings_and_attachment_marks_decide_as_mail_parser_does() {
        let cases = [
            // `==` stops mail-parser's QP decoder: the HTML becomes an attachment.
            alternative("a", "fine", "<p>bad == sign</p>"),
            alternative("a", "bad =A= sign", "<p>fine</p>"),
            alternative("a", "fine", "= \t=0"),
            alternative("a", "=\r\n=20 soft break then escape", "x=\r\n\r\n=3D"),
        ];
        for body in &cases {
            assert_same(&message("multipart/alternative; boundary=a", body));
        }
        let leaves = [
            "Content-Type: text/plain\r\n\r\nfirst\r\n",
            "Content-Type: text/plain; name=notes.txt\r\n\r\nnamed\r\n",
            "Content-Type: text/html\r\nContent-Disposition: attachment\r\n\r\n<p>x</p>\r\n",
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk*\r\n",
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n",
            "Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\n",
            "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
            "\r\nno header at all\r\n",
            "Content-Type: Text/Plain\r\n\r\ncase matters to mail-parser\r\n",
        ];
        for first in 0..leaves.len() {
            for second in 0..leaves.len() {
                let body = format!("--m\r\n{}--m\r\n{}--m--\r\n", leaves[first], leaves[second]);
                assert_same(&message("multipart/mixed; boundary=m", &body));
            }
        }
        // Each leaf as a whole message (but the one without fields).
        for leaf in leaves {
            if let Some((fields, body)) = leaf.split_once("\r\n\r\n") {
                assert_same(&format!("{HEAD}{fields}\r\n\r\n{body}").into_bytes());
            }
        }
    }

    #[test]
    fn what_it_does_not_answer_is_left_to_the_full_parse() {
        let related = "--r\r\nContent-Type: text/html\r\n\r\n<img src=\"cid:x\">\r\n\
--r\r\nContent-Type: image/png\r\nContent-ID: <x>\r\n\r\npng\r\n--r--\r\n";
        let nested =
            "--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n--m--\r\n";
        let mid_line = "--m\r\nContent-Type: text/plain\r\n\r\nsee --m here\r\n--m--\r\n";
        let unclosed = "--m\r\nContent-Type: text/plain\r\n\r\ncut short\r\n";
        let alternative_of_mixed = "--a\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\nx\r\n--m--\r\n--a--\r\n";
        for (content_type, body) in [
            ("multipart/related; boundary=r", related),
            ("multipart/mixed; boundary=m", nested),
            ("multipart/mixed; boundary=m", mid_line),
            ("multipart/mixed; boundary=m", unclosed),
            ("multipart/alternative; boundary=a", alternative_of_mixed),
            ("multipart/mixed", "no boundary\r\n"),
        ] {
            assert!(skim(&message(content_type, body)).is_none(), "{body}");
        }
        // A folded line that is blank, a line without a colon.
        assert!(skim(b"Subject: a\r\n \r\nFrom: b@c.d\r\n\r\nbody").is_none());
        assert!(skim(b"Subject: a\r\nno colon here\r\n\r\nbody").is_none());
        assert!(skim(b"Subject: no body at all\r\n").is_none());
    }

    #[test]
    fn deep_or_wide_messages_are_left_to_the_full_parse() {
        let mut body = String::from("x\r\n");
        for depth in (0..=MAX_DEPTH).rev() {
            body = format!(
                "--b{depth}\r\nContent-Type: multipart/mixed; boundary=b{}\r\n\r\n{body}--b{depth}--\r\n",
                depth + 1
            );
        }
        assert!(skim(&message("multipart/mixed; boundary=b0", &body)).is_none());
        let wide: String = (0..MAX_PARTS)
            .map(|n| format!("--w\r\nContent-Type: text/plain\r\n\r\npart {n}\r\n"))
            .collect::<String>()
            + "--w--\r\n";
        assert!(skim(&message("multipart/mixed; boundary=w", &wide)).is_none());
    }

    /// xorshift64*, as in tests/mutated_corpus.rs.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let next = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
            if n == 0 {
                0
            } else {
                (next % n as u64) as usize
            }
        }
    }

    /// The one-pass loop `quoted_printable_problem` replaced (the reference).
    fn reference_quoted_printable_problem(body: &[u8]) -> bool {
        let mut at = 0;
        while at < body.len() {
            if body[at] != b'=' {
                at += 1;
                continue;
            }
            at += 1;
            let mut digit = false;
            while let Some(&byte) = body.get(at) {
                at += 1;
                if byte == b'=' {
                    return true;
                }
                if digit {
                    if byte == b'\n' || byte == b'\r' {
                        continue;
                    }
                    break;
                }
                match byte {
                    b'\n' => break,
                    b'\r' => {}
                    _ if byte.is_ascii_hexdigit() => digit = true,
                    _ if byte.is_ascii_whitespace() => {}
                    _ => break,
                }
            }
        }
        false
    }

    /// The one-pass loop `base64_problem` replaced (the reference).
    fn reference_base64_problem(body: &[u8]) -> bool {
        let mut last = b'\n';
        for &byte in body {
            let known = byte.is_ascii_alphanumeric()
                || matches!(
                    byte,
                    b'+' | b'/' | b'=' | b'\n' | b' ' | b'\t' | b'\r' | b'-'
                );
            if !known || byte == b'-' && last == b'-' {
                return true;
            }
            last = byte;
        }
        false
    }

    /// Both scans against their references on `body`; counts the bodies and
    /// the problems found in `counts` (bodies, quoted-printable, base64).
    fn assert_scans_agree(body: &[u8], counts: &mut (usize, usize, usize)) {
        let qp = quoted_printable_problem(body);
        assert_eq!(
            qp,
            reference_quoted_printable_problem(body),
            "quoted-printable {:?}",
            String::from_utf8_lossy(body)
        );
        let base64 = base64_problem(body);
        assert_eq!(
            base64,
            reference_base64_problem(body),
            "base64 {:?}",
            String::from_utf8_lossy(body)
        );
        counts.0 += 1;
        counts.1 += usize::from(qp);
        counts.2 += usize::from(base64);
    }

    /// Quoted-printable as an encoder writes it: `=XX` for all but printable
    /// ASCII, soft line breaks (`=` and `line_end`) before 76 columns.
    fn encode_quoted_printable(text: &[u8], line_end: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut column = 0;
        for &byte in text {
            let escaped = !(b' '..=b'~').contains(&byte) || byte == b'=';
            let width = if escaped { 3 } else { 1 };
            if column + width > 75 {
                out.push(b'=');
                out.extend_from_slice(line_end);
                column = 0;
            }
            if escaped {
                out.extend_from_slice(format!("={byte:02X}").as_bytes());
            } else {
                out.push(byte);
            }
            column += width;
        }
        out
    }

    /// The fast scans give the references' answer: on random bytes from
    /// small alphabets that stress their rules, on every placement of the
    /// tricky sequences across the chunk boundaries, and on real-looking
    /// dense quoted-printable and base64 with single-byte damage.
    #[test]
    fn the_encoding_scans_agree_with_the_one_pass_loops() {
        use base64::Engine as _;

        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut counts = (0, 0, 0);
        let alphabets: &[&[u8]] = &[
            b"=0aF9 \t\r\n\x0c\x0bgZ",
            b"====A3\r\n",
            b"=A \r\n-x",
            b"AZaz09+/=-\r\n \t",
            b"QUJDabc0+/=\r\n",
            b"QUJD-\r\n=*.\0\xff_",
            b"=E4B8AD\r\n",
        ];
        for round in 0..40_000 {
            let alphabet = alphabets[round % alphabets.len()];
            let len = rng.below(300);
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            assert_scans_agree(&body, &mut counts);
        }
        // Each sequence at every offset of a clean background, so across
        // the chunk boundaries (31/32, 63/64, 65/66, 127/128) and the tail.
        let sequences: &[&[u8]] = &[
            b"==",
            b"=A=",
            b"=a\r\n=",
            b"= \t\x0c\r=",
            b"=\r=",
            b"=\r\n=",
            b"=\n=",
            b"=\r\n",
            b"=A",
            b"=",
            b"=AB=",
            b"--",
            b"-",
            b"-A-",
            b"*",
            b"\xff",
        ];
        let backgrounds: &[&[u8]] = &[b"QUJD", b"=E4=B8=AD", b"ab c=\r\nd", b"A\r\n"];
        for background in backgrounds {
            for len in [129, 131, 200] {
                let clean: Vec<u8> = background.iter().copied().cycle().take(len).collect();
                for sequence in sequences {
                    for at in 0..=len {
                        let mut body = clean.clone();
                        body.splice(at..at, sequence.iter().copied());
                        assert_scans_agree(&body, &mut counts);
                        body.truncate(at + sequence.len());
                        assert_scans_agree(&body, &mut counts);
                    }
                }
            }
        }
        // Real-looking bodies: UTF-8 Chinese in quoted-printable (an `=`
        // every third byte), English with a few escapes, base64 lines; whole
        // (no problem), then with bytes changed.
        let chinese = "本周项目进度报告会议纪要请查收附件谢谢北京上海";
        let chinese: Vec<char> = chinese.chars().collect();
        let english = "Meeting notes for the café in Zürich, see the résumé. ";
        for round in 0..400 {
            let text: String = if round % 2 == 0 {
                (0..rng.below(2000))
                    .map(|_| chinese[rng.below(chinese.len())])
                    .collect()
            } else {
                english.repeat(rng.below(60))
            };
            let line_end: &[u8] = if round % 3 == 0 { b"\n" } else { b"\r\n" };
            let quoted = encode_quoted_printable(text.as_bytes(), line_end);
            let mut binary = vec![0; rng.below(3000)];
            binary
                .iter_mut()
                .for_each(|byte| *byte = rng.below(256) as u8);
            let base64 = base64::engine::general_purpose::STANDARD.encode(&binary);
            let mut lines = Vec::new();
            for line in base64.as_bytes().chunks(76) {
                lines.extend_from_slice(line);
                lines.extend_from_slice(line_end);
            }
            assert!(!quoted_printable_problem(&quoted));
            assert!(!base64_problem(&lines));
            for body in [quoted, lines] {
                assert_scans_agree(&body, &mut counts);
                for _ in 0..20 {
                    if body.is_empty() {
                        break;
                    }
                    let mut damaged = body.clone();
                    let at = rng.below(body.len());
                    damaged[at] = b"=-*\r\n A\t"[rng.below(8)];
                    assert_scans_agree(&damaged, &mut counts);
                }
            }
        }
        // Both answers are common, or the comparison would prove little.
        let (bodies, qp, base64) = counts;
        println!("{bodies} bodies: {qp} quoted-printable and {base64} base64 problems");
        for problems in [qp, base64] {
            assert!(
                problems > 20_000 && bodies - problems > 20_000,
                "{counts:?}"
            );
        }
    }

    const SPLICES: &[&[u8]] = &[
        b"==",
        b"=A=",
        b"--",
        b"\r\n",
        b"\n",
        b"\r\n\r\n",
        b"\r\nContent-Disposition: attachment\r\n",
        b"; name=x.txt",
        b"Content-ID: <x>\r\n",
        b"\r\nContent-Transfer-Encoding: base64\r\n",
        b"*",
        b" ",
        b"\0\xff",
    ];

    /// Every corpus message and thousands of mutations of it: wherever the
    /// skim answers, it says what the full parse says; and it answers for
    /// most of the corpus (else this test would prove nothing).
    #[test]
    fn the_skim_agrees_with_the_full_parse_on_the_corpus_and_its_mutations() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
        let mut files: Vec<_> = std::fs::read_dir(&corpus)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let (mut originals, mut skimmed_originals, mut skimmed_mutations) = (0, 0, 0);
        for file in &files {
            let original = std::fs::read(file).unwrap();
            originals += 1;
            for round in 0..=60 {
                let mut bytes = original.clone();
                if round > 0 {
                    for _ in 0..=rng.below(2) {
                        let at = rng.below(bytes.len() + 1);
                        match rng.below(3) {
                            0 => bytes.truncate(at),
                            1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
                            _ => {
                                let splice = SPLICES[rng.below(SPLICES.len())];
                                bytes.splice(at..at, splice.iter().copied());
                            }
                        }
                    }
                }
                let Some(skimmed) = skim(&bytes) else {
                    continue;
                };
                let full = full_summary(&bytes, &ParseLimits::default());
                assert_eq!(
                    Some(&skimmed),
                    full.as_ref(),
                    "{} round {round}:\n{}",
                    file.display(),
                    String::from_utf8_lossy(&bytes)
                );
                if round == 0 {
                    skimmed_originals += 1;
                } else {
                    skimmed_mutations += 1;
                }
            }
        }
        println!(
            "skimmed {skimmed_originals} of {originals} originals, {skimmed_mutations} mutations"
        );
        assert!(
            skimmed_originals * 2 >= originals,
            "{skimmed_originals} of {originals}"
        );
        assert!(skimmed_mutations >= 1000, "{skimmed_mutations}");
    }
}
