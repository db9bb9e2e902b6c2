//! The mail model: a parsed message with display-safe headers, the body to
//! show, the full MIME tree as a flat walk, and the attachments a user may save.
//!
//! Parsing is done by mail-parser behind [`Message::parse`]; nothing outside
//! the `parse` module (`parse.rs` and `parse/skim.rs`) names mail-parser
//! types, so moving to mail-parser 1.x touches one module. A [`Message`] owns its raw bytes and locates each part body by
//! offsets, so attachment bytes are decoded on demand and streamed to disk.

mod parse;
mod summary;
pub mod transfer;

use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use serde::Serialize;

use crate::attachment::{SaveError, SavedFile, save_new_file};
use crate::digest::HashingWriter;
use crate::error::{Classify, ErrorKind};
pub use summary::{FULL_PARSE_LIMIT_BYTES, Summary};
pub use transfer::TransferEncoding;

/// Caps that keep a hostile message from exhausting the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Parts nested deeper than this are not walked (a warning is added).
    pub max_depth: usize,
    /// At most this many parts are listed (a warning is added).
    pub max_parts: usize,
    /// A larger message is shown by its headers only (a warning is added).
    pub max_message_bytes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_depth: 100,
            max_parts: 10_000,
            max_message_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A mailbox: a display name (may be absent) and an email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// Display name, neutralised for display (no controls, CR/LF or bidi).
    pub name: Option<String>,
    /// The email address, neutralised the same way.
    pub email: String,
}

impl std::fmt::Display for Address {
    /// `Name <address>`, or the bare address when there is no name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => f.write_str(&self.email),
        }
    }
}

/// Decoded, display-safe header fields of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Subject, on one line, with dangerous characters neutralised.
    pub subject: Option<String>,
    /// `From` mailboxes.
    pub from: Vec<Address>,
    /// How many `From` header fields the message has (more than one is suspicious).
    pub from_header_count: usize,
    /// `To` mailboxes.
    pub to: Vec<Address>,
    /// `Cc` mailboxes.
    pub cc: Vec<Address>,
    /// `Bcc` mailboxes (present only in local copies of sent mail).
    pub bcc: Vec<Address>,
    /// `Reply-To` mailboxes.
    pub reply_to: Vec<Address>,
    /// `Date` in RFC 3339 with the sender's own offset; `None` if missing or invalid.
    pub date_rfc3339: Option<String>,
    /// `Date` as seconds since the Unix epoch, for sorting.
    pub date_unix: Option<i64>,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` message ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// `References` message ids, without angle brackets.
    pub references: Vec<String>,
}

/// What a part is in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartKind {
    /// A `multipart/*` container.
    Multipart,
    /// A `message/rfc822` part: the encapsulated message is walked into.
    Message,
    /// Any other part: a body or an attachment.
    Leaf,
}

/// One node of the MIME tree, in depth-first walk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Position in the tree: the root is `1`, child k of `P` is `P.k`, and the
    /// root of a message encapsulated at `P` is `P.1`.
    pub path: String,
    /// Nesting depth (the root is 0).
    pub depth: usize,
    /// What kind of node this is.
    pub kind: PartKind,
    /// Lowercase `type/subtype`.
    pub content_type: String,
    /// The `charset` parameter, if any.
    pub charset: Option<String>,
    /// The declared transfer encoding.
    pub transfer_encoding: TransferEncoding,
    /// Size of the transfer-decoded body in bytes (0 for multiparts).
    pub size_bytes: u64,
    /// File name as the sender wrote it (RFC 2231/2047 decoded, NOT safe).
    pub raw_filename: Option<String>,
    /// File name made safe to create on any OS (see [`crate::attachment::sanitize_filename`]).
    pub filename: Option<String>,
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
    /// `Content-Disposition` type, lowercase (`inline`, `attachment`…).
    pub disposition: Option<String>,
    /// True when this part is (part of) the body shown to the reader.
    pub is_body: bool,
    /// Where the encoded body bytes are.
    body: BodyLocation,
}

/// Which buffer and byte range hold a part's encoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BodyLocation {
    buffer: usize,
    range: Range<usize>,
}

/// A part a user may want to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// 1-based position in [`Message::attachments`], as shown to users.
    pub index: usize,
    /// Index of the part in [`Message::parts`].
    pub part_index: usize,
    /// Safe file name (never empty).
    pub filename: String,
    /// File name as the sender wrote it.
    pub raw_filename: Option<String>,
    /// Lowercase `type/subtype`.
    pub content_type: String,
    /// Size of the decoded bytes.
    pub size_bytes: u64,
    /// `Content-ID` without angle brackets.
    pub content_id: Option<String>,
    /// True for an image the HTML body shows through a `cid:` reference.
    pub inline: bool,
}

/// What kind of problem a [`Warning`] reports; stable codes for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// Parts nested deeper than [`ParseLimits::max_depth`] were not walked.
    DepthLimit,
    /// More than [`ParseLimits::max_parts`] parts; the rest were not listed.
    PartLimit,
    /// The message is larger than [`ParseLimits::max_message_bytes`]; only headers were read.
    SizeLimit,
    /// A part could not be decoded cleanly (bad base64, broken QP, bad charset).
    EncodingProblem,
    /// A multipart has no closing boundary: the message may be cut short.
    UnterminatedMultipart,
    /// A multipart declares no boundary, so its parts cannot be separated.
    MissingBoundary,
    /// The file has no header section; it is shown as plain text.
    MissingHeaders,
}

impl WarningCode {
    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DepthLimit => "depth_limit",
            Self::PartLimit => "part_limit",
            Self::SizeLimit => "size_limit",
            Self::EncodingProblem => "encoding_problem",
            Self::UnterminatedMultipart => "unterminated_multipart",
            Self::MissingBoundary => "missing_boundary",
            Self::MissingHeaders => "missing_headers",
        }
    }
}

/// A problem found while reading a message; the message is still shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What kind of problem.
    pub code: WarningCode,
    /// A sentence for a person.
    pub message: String,
    /// The part concerned, if any.
    pub part_path: Option<String>,
}

/// Why a message could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Zero bytes.
    #[error("the message is empty")]
    Empty,
    /// No header could be found.
    #[error("this is not an email message (no header found)")]
    NotAMessage,
    /// The parser failed internally; caught so one bad message cannot crash the app.
    #[error("the message could not be parsed (internal parser failure)")]
    ParserFailed,
}

impl Classify for ParseError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// A parsed message. Owns its raw bytes; part bodies are decoded on demand.
#[derive(Debug, Clone)]
pub struct Message {
    /// `buffers[0]` is the raw message; later buffers hold encapsulated
    /// messages that were themselves transfer-encoded.
    buffers: Vec<Vec<u8>>,
    /// Display-safe headers.
    pub headers: Headers,
    /// The plain text to show (derived from the HTML when there is no text part).
    pub text: String,
    /// The HTML body, if the message has one. Untrusted: never render it with
    /// an engine that runs scripts or fetches.
    pub html: Option<String>,
    /// Every part, in depth-first order.
    pub parts: Vec<Part>,
    /// The parts a user may save, in walk order.
    pub attachments: Vec<Attachment>,
    /// Problems found while reading.
    pub warnings: Vec<Warning>,
}

impl Message {
    /// Parses a message with the default [`ParseLimits`].
    pub fn parse(raw: Vec<u8>) -> Result<Message, ParseError> {
        Self::parse_with_limits(raw, &ParseLimits::default())
    }

    /// Parses a message; going over a limit is a warning, not an error.
    pub fn parse_with_limits(raw: Vec<u8>, limits: &ParseLimits) -> Result<Message, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::Empty);
        }
        // mail-parser has not been seen to panic, but a hostile message must
        // never take the app down: this is the second line of defence.
        std::panic::catch_unwind(move || parse::parse(raw, limits))
            .unwrap_or(Err(ParseError::ParserFailed))
    }

    /// Reads and parses a `.eml` file.
    pub fn from_file(path: &Path) -> Result<Message, ReadMessageError> {
        let raw = std::fs::read(path).map_err(|source| ReadMessageError::Io {
            source,
            path: path.to_owned(),
        })?;
        Message::parse(raw).map_err(|source| ReadMessageError::Parse {
            source,
            path: path.to_owned(),
        })
    }

    /// The raw bytes of the whole message.
    pub fn raw(&self) -> &[u8] {
        &self.buffers[0]
    }

    /// The encoded (as transmitted) body bytes of a part.
    pub fn encoded_body(&self, part_index: usize) -> &[u8] {
        let Some(part) = self.parts.get(part_index) else {
            return &[];
        };
        self.buffers
            .get(part.body.buffer)
            .and_then(|buffer| buffer.get(part.body.range.clone()))
            .unwrap_or(&[])
    }

    /// Streams the transfer-decoded bytes of a part to `out`; returns the size.
    ///
    /// These are the bytes as the sender attached them: base64/QP undone, no
    /// charset conversion.
    pub fn write_decoded_body(&self, part_index: usize, out: &mut dyn Write) -> io::Result<u64> {
        let encoding = self
            .parts
            .get(part_index)
            .map_or(TransferEncoding::Binary, |part| {
                part.transfer_encoding.clone()
            });
        transfer::decode_to(&encoding, self.encoded_body(part_index), out).map(|o| o.size_bytes)
    }

    /// The transfer-decoded bytes of a part, in memory.
    pub fn decoded_body(&self, part_index: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_decoded_body(part_index, &mut bytes);
        bytes
    }

    /// Size and SHA-256 (lowercase hex) of an attachment's decoded bytes.
    pub fn attachment_digest(&self, attachment: &Attachment) -> (u64, String) {
        let mut hasher = HashingWriter::new(io::sink());
        let _ = self.write_decoded_body(attachment.part_index, &mut hasher);
        hasher.finish()
    }

    /// Saves an attachment into `target_dir` under its safe name, never
    /// overwriting and never leaving the folder.
    pub fn save_attachment(
        &self,
        attachment: &Attachment,
        target_dir: &Path,
    ) -> Result<SavedFile, SaveError> {
        save_new_file(target_dir, &attachment.filename, &mut |out| {
            self.write_decoded_body(attachment.part_index, out)
                .map(|_| ())
        })
    }
}

/// Why a message file could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum ReadMessageError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The I/O failure.
        #[source]
        source: io::Error,
        /// The file.
        path: std::path::PathBuf,
    },
    /// The file is not a readable message.
    #[error("cannot read the message in {path}")]
    Parse {
        /// Why.
        #[source]
        source: ParseError,
        /// The file.
        path: std::path::PathBuf,
    },
}

impl Classify for ReadMessageError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. } => ErrorKind::Storage,
            Self::Parse { .. } => ErrorKind::Input,
        }
    }
}

#[cfg(test)]
mod tests;
