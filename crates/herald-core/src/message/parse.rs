//! The adapter from mail-parser to our model: the only file that names
//! mail-parser types.
//!
//! The walk is iterative (an explicit stack) and capped by [`ParseLimits`], so
//! a message nested 10,000 levels deep costs a warning, not a stack overflow.
//! [`skim`] (a submodule, so still here) answers the list summary of common
//! messages without decoding their text.

mod skim;

use std::collections::HashSet;

use mail_parser::{
    Address as MpAddress, Encoding, HeaderName, HeaderValue, Message as MpMessage, MessageParser,
    MimeHeaders, PartType,
};

use super::transfer::{self, CountingSink, TransferEncoding};
use super::{
    Address, Attachment, BodyLocation, Headers, Message, ParseError, ParseLimits, Part, PartKind,
    Warning, WarningCode,
};
use crate::attachment::sanitize_filename;
use crate::text::{neutralize_line, neutralize_multiline};

/// How far past the last child of a multipart we look for its closing
/// delimiter (transport padding and a short epilogue fit in this).
const CLOSE_DELIMITER_SLACK_BYTES: usize = 1024;

pub(super) fn parse(raw: Vec<u8>, limits: &ParseLimits) -> Result<Message, ParseError> {
    let parser = MessageParser::default();
    if raw.len() > limits.max_message_bytes {
        let headers = parser
            .parse_headers(&raw)
            .map(|parsed| read_headers(&parsed))
            .ok_or(ParseError::NotAMessage)?;
        let warning = Warning {
            code: WarningCode::SizeLimit,
            message: format!(
                "the message is {} bytes, over the {} byte limit: only its headers were read",
                raw.len(),
                limits.max_message_bytes
            ),
            part_path: None,
        };
        return Ok(Message {
            buffers: vec![raw],
            headers,
            text: String::new(),
            html: None,
            parts: Vec::new(),
            attachments: Vec::new(),
            warnings: vec![warning],
        });
    }

    let analysis = {
        let Some(parsed) = parser.parse(&raw) else {
            return Ok(headerless(raw));
        };
        if mid_line_boundaries(&raw, &parsed).is_empty() {
            analyse(&raw, &parsed, &[], limits)
        } else {
            drop(parsed);
            match reparse_with_masked_boundaries(&parser, &raw, limits) {
                Some(analysis) => analysis,
                None => return Ok(headerless(raw)),
            }
        }
    };
    let Analysis {
        headers,
        text,
        html,
        walk:
            WalkOutput {
                extra_buffers,
                parts,
                attachments,
                warnings,
            },
    } = analysis;
    let mut buffers = Vec::with_capacity(1 + extra_buffers.len());
    buffers.push(raw);
    buffers.extend(extra_buffers);
    Ok(Message {
        buffers,
        headers,
        text,
        html,
        parts,
        attachments,
        warnings,
    })
}

/// What a message list needs (see [`super::Summary`]): the header fields and
/// whether the message has an attachment other than an inline image of its
/// HTML body. It runs once for every downloaded message, so: [`skim`] first
/// (no text decoded at all; about a third of the full parse's time on
/// typical mail, see `examples/summary_bench.rs`), and for what it does not
/// answer the same parse and the same walk as [`parse`], so the same answer,
/// but no part is transfer-decoded, no text is built and no file is named,
/// and the walk stops at the first attachment. `None` where [`parse`] fails.
pub(super) fn summarize(raw: &[u8], limits: &ParseLimits) -> Option<(Headers, bool)> {
    let parser = MessageParser::default();
    if raw.len() > limits.max_message_bytes {
        // Like `parse`: headers only, no attachments listed.
        return parser
            .parse_headers(raw)
            .map(|parsed| (read_headers(&parsed), false));
    }
    // Most messages: the same answer without decoding any text.
    if let Some(summary) = skim::skim(raw) {
        return Some(summary);
    }
    full_summary(raw, limits)
}

/// [`summarize`] by the full parse, without [`skim`].
fn full_summary(raw: &[u8], limits: &ParseLimits) -> Option<(Headers, bool)> {
    let parser = MessageParser::default();
    let Some(parsed) = parser.parse(raw) else {
        return Some((Headers::default(), false)); // `headerless`
    };
    if mid_line_boundaries(raw, &parsed).is_empty() {
        return Some(summarize_parsed(raw, &parsed, limits));
    }
    drop(parsed);
    let summary = mask_mid_line_boundaries(&parser, raw).and_then(|(masked, _)| {
        parser
            .parse(&masked)
            .map(|parsed| summarize_parsed(raw, &parsed, limits))
    });
    Some(summary.unwrap_or_else(|| (Headers::default(), false)))
}

fn summarize_parsed(raw: &[u8], parsed: &MpMessage<'_>, limits: &ParseLimits) -> (Headers, bool) {
    let mut walk = Walk::new(raw, limits);
    walk.summary_only = true;
    walk.run(parsed);
    (read_headers(parsed), walk.found_attachment)
}

/// Everything read from one parse, before the raw bytes move into the [`Message`].
struct Analysis {
    headers: Headers,
    text: String,
    html: Option<String>,
    walk: WalkOutput,
}

struct WalkOutput {
    extra_buffers: Vec<Vec<u8>>,
    parts: Vec<Part>,
    attachments: Vec<Attachment>,
    warnings: Vec<Warning>,
}

/// `raw` is the original message: part offsets index into it even when
/// mail-parser read a masked copy (masking keeps every length).
fn analyse(
    raw: &[u8],
    parsed: &MpMessage<'_>,
    masked: &[String],
    limits: &ParseLimits,
) -> Analysis {
    let headers = read_headers(parsed);
    let (mut text, mut html) = read_bodies(parsed);
    for boundary in masked {
        let (marker, original) = (format!("{MASK}{boundary}"), format!("--{boundary}"));
        text = text.replace(&marker, &original);
        html = html.map(|html| html.replace(&marker, &original));
    }
    let mut walk = Walk::new(raw, limits);
    walk.run(parsed);
    Analysis {
        headers,
        text: neutralize_multiline(&text),
        html,
        walk: WalkOutput {
            extra_buffers: walk
                .extra_buffers
                .into_iter()
                .map(|(_, bytes)| bytes)
                .collect(),
            parts: walk.parts,
            attachments: walk.attachments,
            warnings: walk.warnings,
        },
    }
}

/// What replaces the `--` of a boundary string found in the middle of a line.
/// Same length as `--`, so offsets are unchanged; ASCII controls survive any
/// ASCII-compatible charset decoder, so the text can be restored.
const MASK: &str = "\u{1}\u{2}";

/// mail-parser 0.11.9 takes `--boundary` anywhere in a line for a delimiter
/// and silently cuts the part there; RFC 2046 §5.1.1 only allows it at the
/// start of a line. Returns the positions of such mid-line occurrences.
fn mid_line_boundaries(raw: &[u8], parsed: &MpMessage<'_>) -> Vec<(usize, String)> {
    let body_start = parsed
        .parts
        .first()
        .map_or(0, |root| root.offset_body as usize);
    let mut found = Vec::new();
    for boundary in declared_boundaries(parsed) {
        let delimiter = format!("--{boundary}");
        for position in memchr::memmem::find_iter(raw, delimiter.as_bytes()) {
            let at_line_start = position == 0 || raw[position - 1] == b'\n';
            if position >= body_start && !at_line_start {
                found.push((position, boundary.clone()));
            }
        }
    }
    found
}

/// Every `boundary` parameter of every multipart, in nested messages too.
fn declared_boundaries(parsed: &MpMessage<'_>) -> Vec<String> {
    const MAX_BOUNDARIES: usize = 1_000;
    let mut boundaries: Vec<String> = Vec::new();
    let mut pending = vec![parsed];
    while let Some(message) = pending.pop() {
        for part in &message.parts {
            if let PartType::Message(inner) = &part.body {
                pending.push(inner);
            }
            let boundary = part.content_type().and_then(|ct| ct.attribute("boundary"));
            if let Some(boundary) = boundary.filter(|b| !b.is_empty())
                && !boundaries.iter().any(|known| known == boundary)
                && boundaries.len() < MAX_BOUNDARIES
            {
                boundaries.push(boundary.to_owned());
            }
        }
    }
    boundaries
}

/// Masks mid-line boundary strings and parses again, a few rounds, since a
/// part that was cut may hide a nested multipart's own boundary.
fn reparse_with_masked_boundaries(
    parser: &MessageParser,
    raw: &[u8],
    limits: &ParseLimits,
) -> Option<Analysis> {
    let (masked, masked_boundaries) = mask_mid_line_boundaries(parser, raw)?;
    let parsed = parser.parse(&masked)?;
    Some(analyse(raw, &parsed, &masked_boundaries, limits))
}

/// A copy of `raw` with the `--` of every mid-line boundary string masked
/// (same length), and the boundaries masked; `None` if a parse fails.
fn mask_mid_line_boundaries(parser: &MessageParser, raw: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    const MAX_ROUNDS: usize = 4;
    let mut masked = raw.to_vec();
    let mut masked_boundaries: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let found = mid_line_boundaries(&masked, &parser.parse(&masked)?);
        if found.is_empty() {
            break;
        }
        for (position, boundary) in found {
            masked[position..position + 2].copy_from_slice(MASK.as_bytes());
            if !masked_boundaries.contains(&boundary) {
                masked_boundaries.push(boundary);
            }
        }
    }
    Some((masked, masked_boundaries))
}

/// mail-parser finds no message in a file without a header section; a
/// reader still wants to see what is in it, so the whole file is shown as a
/// plain-text body (as Python's `email` package does), with a warning.
fn headerless(raw: Vec<u8>) -> Message {
    let text = neutralize_multiline(&String::from_utf8_lossy(&raw));
    let part = Part {
        path: "1".to_owned(),
        depth: 0,
        kind: PartKind::Leaf,
        content_type: "text/plain".to_owned(),
        charset: None,
        transfer_encoding: TransferEncoding::SevenBit,
        size_bytes: raw.len() as u64,
        raw_filename: None,
        filename: None,
        content_id: None,
        disposition: None,
        is_body: true,
        body: BodyLocation {
            buffer: 0,
            range: 0..raw.len(),
        },
    };
    Message {
        buffers: vec![raw],
        headers: Headers::default(),
        text,
        html: None,
        parts: vec![part],
        attachments: Vec::new(),
        warnings: vec![Warning {
            code: WarningCode::MissingHeaders,
            message: "the file has no header section: it is shown as plain text".to_owned(),
            part_path: None,
        }],
    }
}

/// Reads only the header section of `raw` (which may be just the start of a
/// message); `None` if there is no header section. Also returns whether the
/// top-level content type is `multipart/mixed` (attachments likely).
pub(super) fn parse_header_section(raw: &[u8]) -> Option<(Headers, bool)> {
    let parsed = MessageParser::default().parse_headers(raw)?;
    let mixed = parsed.content_type().is_some_and(|content_type| {
        content_type.ctype().eq_ignore_ascii_case("multipart")
            && content_type
                .subtype()
                .is_some_and(|subtype| subtype.eq_ignore_ascii_case("mixed"))
    });
    Some((read_headers(&parsed), mixed))
}

fn read_headers(parsed: &MpMessage<'_>) -> Headers {
    let valid_date = parsed.date().filter(|date| date.is_valid());
    Headers {
        subject: parsed.subject().map(neutralize_line),
        from: addresses(parsed.from()),
        from_header_count: parsed
            .headers()
            .iter()
            .filter(|header| header.name == HeaderName::From)
            .count(),
        to: addresses(parsed.to()),
        cc: addresses(parsed.cc()),
        bcc: addresses(parsed.bcc()),
        reply_to: addresses(parsed.reply_to()),
        date_rfc3339: valid_date.map(|date| date.to_rfc3339()),
        date_unix: valid_date.map(|date| date.to_timestamp()),
        message_id: parsed.message_id().map(neutralize_line),
        in_reply_to: id_list(parsed.in_reply_to()),
        references: id_list(parsed.references()),
    }
}

fn addresses(value: Option<&MpAddress<'_>>) -> Vec<Address> {
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .iter()
        .filter_map(|addr| {
            let name = addr
                .name
                .as_deref()
                .map(neutralize_line)
                .filter(|name| !name.is_empty());
            let email = addr
                .address
                .as_deref()
                .map(neutralize_line)
                .unwrap_or_default();
            (name.is_some() || !email.is_empty()).then_some(Address { name, email })
        })
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![neutralize_line(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| neutralize_line(id)).collect(),
        _ => Vec::new(),
    }
}

fn read_bodies(parsed: &MpMessage<'_>) -> (String, Option<String>) {
    let texts: Vec<String> = (0..parsed.text_body_count())
        .filter_map(|pos| parsed.body_text(pos))
        .filter(|text| !text.trim().is_empty())
        .map(|text| text.into_owned())
        .collect();
    let htmls: Vec<&str> = parsed
        .html_body
        .iter()
        .filter_map(|&id| match &parsed.parts.get(id as usize)?.body {
            PartType::Html(html) => Some(html.as_ref()),
            _ => None,
        })
        .collect();
    let html = (!htmls.is_empty()).then(|| htmls.join("\n"));
    (texts.join("\n\n"), html)
}

/// Per encapsulated message: what the walk needs to know about it.
struct Context<'m, 'x> {
    message: &'m MpMessage<'x>,
    buffer: usize,
    body_part_ids: HashSet<u32>,
    html_content_ids: HashSet<String>,
}

struct Walk<'r> {
    raw: &'r [u8],
    limits: ParseLimits,
    /// (address and length of mail-parser's buffer, our copy).
    extra_buffers: Vec<((usize, usize), Vec<u8>)>,
    parts: Vec<Part>,
    attachments: Vec<Attachment>,
    warnings: Vec<Warning>,
    /// Parts walked so far (what [`ParseLimits::max_parts`] counts).
    walked: usize,
    /// Only find out whether there is an attachment that is not inline
    /// ([`summarize`]): nothing is decoded or recorded, and the walk stops
    /// at the first one.
    summary_only: bool,
    found_attachment: bool,
}

struct Pending {
    context: usize,
    part_id: u32,
    path: String,
    depth: usize,
}

impl<'r> Walk<'r> {
    fn new(raw: &'r [u8], limits: &ParseLimits) -> Self {
        Self {
            raw,
            limits: *limits,
            extra_buffers: Vec::new(),
            parts: Vec::new(),
            attachments: Vec::new(),
            warnings: Vec::new(),
            walked: 0,
            summary_only: false,
            found_attachment: false,
        }
    }

    fn run(&mut self, top: &MpMessage<'_>) {
        let mut contexts = vec![self.context_for(top, 0)];
        let mut stack = vec![Pending {
            context: 0,
            part_id: 0,
            path: "1".to_owned(),
            depth: 0,
        }];
        let mut depth_warned = false;
        while let Some(pending) = stack.pop() {
            if self.walked >= self.limits.max_parts {
                self.warn(
                    WarningCode::PartLimit,
                    format!(
                        "the message has more than {} parts: the rest are not listed",
                        self.limits.max_parts
                    ),
                    None,
                );
                break;
            }
            let message: &MpMessage<'_> = contexts[pending.context].message;
            let Some(mp_part) = message.parts.get(pending.part_id as usize) else {
                continue;
            };
            let child_depth = pending.depth + 1;
            let children_allowed = child_depth <= self.limits.max_depth;
            match &mp_part.body {
                PartType::Multipart(children) if !children.is_empty() => {
                    if children_allowed {
                        for (k, &child) in children.iter().enumerate().rev() {
                            stack.push(Pending {
                                context: pending.context,
                                part_id: child,
                                path: format!("{}.{}", pending.path, k + 1),
                                depth: child_depth,
                            });
                        }
                    } else if !depth_warned {
                        depth_warned = true;
                        self.warn_depth(&pending.path);
                    }
                }
                PartType::Message(inner) => {
                    if children_allowed {
                        // An rfc822 part sent as-is is parsed in place: its
                        // offsets are in the parent's buffer. One that was
                        // base64/QP encoded is parsed from its decoded bytes.
                        let buffer = if mp_part.encoding == Encoding::None || self.summary_only {
                            contexts[pending.context].buffer
                        } else {
                            self.buffer_for_decoded(inner)
                        };
                        let inner_context = self.context_for(inner, buffer);
                        contexts.push(inner_context);
                        stack.push(Pending {
                            context: contexts.len() - 1,
                            part_id: 0,
                            path: format!("{}.1", pending.path),
                            depth: child_depth,
                        });
                    } else if !depth_warned {
                        depth_warned = true;
                        self.warn_depth(&pending.path);
                    }
                }
                _ => {}
            }
            let context = &contexts[pending.context];
            self.add_part(context, pending);
            if self.found_attachment {
                break;
            }
        }
    }

    fn warn_depth(&mut self, path: &str) {
        self.warn(
            WarningCode::DepthLimit,
            format!(
                "parts are nested more than {} levels deep: the deeper ones are not shown",
                self.limits.max_depth
            ),
            Some(path.to_owned()),
        );
    }

    fn warn(&mut self, code: WarningCode, message: String, part_path: Option<String>) {
        self.warnings.push(Warning {
            code,
            message,
            part_path,
        });
    }

    /// The buffer holding an encapsulated message that mail-parser decoded
    /// from base64/QP before parsing (its offsets are relative to it).
    fn buffer_for_decoded(&mut self, message: &MpMessage<'_>) -> usize {
        let bytes = message.raw_message();
        let key = (bytes.as_ptr() as usize, bytes.len());
        if let Some(found) = self.extra_buffers.iter().position(|(k, _)| *k == key) {
            return found + 1;
        }
        self.extra_buffers.push((key, bytes.to_vec()));
        self.extra_buffers.len()
    }

    fn context_for<'m, 'x>(
        &mut self,
        message: &'m MpMessage<'x>,
        buffer: usize,
    ) -> Context<'m, 'x> {
        let is_text_or_html = |id: &&u32| {
            matches!(
                message.parts.get(**id as usize).map(|part| &part.body),
                Some(PartType::Text(_) | PartType::Html(_))
            )
        };
        let body_part_ids = message
            .text_body
            .iter()
            .chain(message.html_body.iter())
            .filter(is_text_or_html)
            .copied()
            .collect();
        let mut html_content_ids = HashSet::new();
        for &id in &message.html_body {
            if let Some(PartType::Html(html)) = message.parts.get(id as usize).map(|p| &p.body) {
                collect_cid_references(html, &mut html_content_ids);
            }
        }
        Context {
            message,
            buffer,
            body_part_ids,
            html_content_ids,
        }
    }

    fn add_part(&mut self, context: &Context<'_, '_>, pending: Pending) {
        let Some(mp_part) = context.message.parts.get(pending.part_id as usize) else {
            return;
        };
        let kind = match &mp_part.body {
            PartType::Multipart(_) => PartKind::Multipart,
            PartType::Message(_) => PartKind::Message,
            _ => PartKind::Leaf,
        };
        let content_type = match mp_part.content_type() {
            Some(ct) => match ct.subtype() {
                Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
                None => ct.ctype().to_owned(),
            }
            .to_ascii_lowercase(),
            None if kind == PartKind::Message => "message/rfc822".to_owned(),
            None => "text/plain".to_owned(),
        };
        let content_type = neutralize_line(&content_type);
        let content_id = mp_part
            .content_id()
            .map(|id| neutralize_line(id.trim_start_matches('<').trim_end_matches('>')))
            .filter(|id| !id.is_empty());
        self.walked += 1;
        let is_body = context.body_part_ids.contains(&pending.part_id);
        let is_attachment = !is_body && kind != PartKind::Multipart;
        let inline = content_type.starts_with("image/")
            && content_id
                .as_ref()
                .is_some_and(|id| context.html_content_ids.contains(id));
        if self.summary_only {
            self.found_attachment |= is_attachment && !inline;
            return;
        }
        let charset = mp_part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(|charset| neutralize_line(charset).to_ascii_lowercase());
        let transfer_encoding = TransferEncoding::from_header(mp_part.content_transfer_encoding());
        let raw_filename = mp_part.attachment_name().map(str::to_owned);
        let disposition = mp_part
            .content_disposition()
            .map(|cd| neutralize_line(cd.ctype()).to_ascii_lowercase());

        let buffer_len = self.buffer(context.buffer).len();
        let body_range = if kind == PartKind::Multipart {
            0..0
        } else {
            let start = (mp_part.offset_body as usize).min(buffer_len);
            let end = (mp_part.offset_end as usize).clamp(start, buffer_len);
            start..end
        };

        let mut encoding_problem = mp_part.is_encoding_problem;
        let size_bytes = if kind == PartKind::Multipart {
            0
        } else {
            let mut sink = CountingSink::default();
            let body = &self.buffer(context.buffer)[body_range.clone()];
            let outcome =
                transfer::decode_to(&transfer_encoding, body, &mut sink).unwrap_or_default();
            encoding_problem |= outcome.had_problems;
            outcome.size_bytes
        };
        if encoding_problem {
            self.warn(
                WarningCode::EncodingProblem,
                format!(
                    "part {} ({content_type}) could not be decoded cleanly: it may look damaged",
                    pending.path
                ),
                Some(pending.path.clone()),
            );
        }
        if kind == PartKind::Multipart {
            self.check_multipart_closed(context, pending.part_id, &pending.path);
        } else if content_type.starts_with("multipart/") {
            self.warn(
                WarningCode::MissingBoundary,
                format!(
                    "part {} is {content_type} without a usable boundary: it is shown as text",
                    pending.path
                ),
                Some(pending.path.clone()),
            );
        }

        let part_index = self.parts.len();
        if is_attachment {
            // A forwarded message without a file name is named after its
            // subject, as mail clients do.
            let name_to_save = raw_filename.clone().or_else(|| match &mp_part.body {
                PartType::Message(inner) => inner
                    .subject()
                    .map(|subject| format!("{}.eml", neutralize_line(subject))),
                _ => None,
            });
            self.attachments.push(Attachment {
                index: self.attachments.len() + 1,
                part_index,
                filename: sanitize_filename(name_to_save.as_deref(), &content_type),
                raw_filename: raw_filename.clone(),
                content_type: content_type.clone(),
                size_bytes,
                content_id: content_id.clone(),
                inline,
            });
        }
        self.parts.push(Part {
            path: pending.path,
            depth: pending.depth,
            kind,
            filename: raw_filename
                .as_deref()
                .map(|name| sanitize_filename(Some(name), &content_type)),
            content_type,
            charset,
            transfer_encoding,
            size_bytes,
            raw_filename,
            content_id,
            disposition,
            is_body,
            body: BodyLocation {
                buffer: context.buffer,
                range: body_range,
            },
        });
    }

    fn buffer(&self, index: usize) -> &[u8] {
        if index == 0 {
            self.raw
        } else {
            self.extra_buffers
                .get(index - 1)
                .map_or(&[][..], |(_, bytes)| bytes.as_slice())
        }
    }

    /// A multipart is closed by `--boundary--` right after its last child
    /// (RFC 2046 §5.1.1). mail-parser recovers silently when it is missing;
    /// we say so, because the message was probably cut short.
    fn check_multipart_closed(&mut self, context: &Context<'_, '_>, part_id: u32, path: &str) {
        let Some(mp_part) = context.message.parts.get(part_id as usize) else {
            return;
        };
        let Some(boundary) = mp_part
            .content_type()
            .and_then(|ct| ct.attribute("boundary"))
        else {
            return;
        };
        let PartType::Multipart(children) = &mp_part.body else {
            return;
        };
        let search_from = children
            .last()
            .and_then(|&last| context.message.parts.get(last as usize))
            .map_or(mp_part.offset_body, |last| last.offset_end) as usize;
        let buffer = self.buffer(context.buffer);
        let delimiter = format!("--{boundary}--");
        let search_end = search_from
            .saturating_add(delimiter.len() + CLOSE_DELIMITER_SLACK_BYTES)
            .min(buffer.len());
        let window = buffer.get(search_from..search_end).unwrap_or(&[]);
        let closed = window
            .windows(delimiter.len())
            .any(|candidate| candidate == delimiter.as_bytes());
        if !closed {
            self.warn(
                WarningCode::UnterminatedMultipart,
                format!("part {path} has no closing boundary: the message may be incomplete"),
                Some(path.to_owned()),
            );
        }
    }
}

/// Collects the targets of `cid:` URLs (RFC 2392) found in an HTML body.
fn collect_cid_references(html: &str, found: &mut HashSet<String>) {
    let bytes = html.as_bytes();
    let mut start = 0;
    while let Some(offset) = find_ascii_case_insensitive(&bytes[start..], b"cid:") {
        let from = start + offset + 4;
        let end = bytes[from..]
            .iter()
            .position(|&b| {
                matches!(b, b'"' | b'\'' | b'<' | b'>' | b'(' | b')' | b'&')
                    || b.is_ascii_whitespace()
            })
            .map_or(bytes.len(), |len| from + len);
        if end > from {
            found.insert(percent_decode(&html[from..end]));
        }
        start = end.max(from);
    }
}

fn find_ascii_case_insensitive(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
