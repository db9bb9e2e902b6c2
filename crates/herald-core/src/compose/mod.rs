//! Composing messages: the [`Draft`] a person writes, rendered to MIME bytes.
//!
//! lettre 0.11.23 builds the MIME tree; this module is the only one that
//! names lettre's message types. Until lettre 0.11.24 is on the registry we
//! mitigate its open advisories here (see FACTS.md):
//! - RUSTSEC-2026-0564 (a display name with CR/LF panics when formatted): every
//!   display name, the subject and the message ids are neutralised first;
//! - RUSTSEC-2026-0561 (no dot-stuffing after a bare CR or LF): every text body
//!   has its line endings normalised to CRLF before lettre sees it.
//!
//! The tree is `mixed(alternative(text/plain, related(text/html, images…)),
//! attachments…)`, with empty levels collapsed.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};

use crate::digest::hex;
use crate::error::{Classify, ErrorKind};
use crate::message::Address;
use crate::text::{neutralize_line, normalize_crlf};

/// The body a person wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftBody {
    /// Plain text only.
    Plain(String),
    /// HTML, always sent with a plain-text alternative: `text` if given,
    /// otherwise derived from the HTML.
    Html {
        /// The HTML document or fragment.
        html: String,
        /// The plain-text alternative, if the person wrote one.
        text: Option<String>,
    },
}

/// A file to attach or embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftFile {
    /// The name recipients see (any script; non-ASCII is RFC 2231 encoded).
    pub filename: String,
    /// The MIME type; when `None` it is guessed from the content, then the name.
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl DraftFile {
    /// Reads a file from disk, named after its last path component.
    pub fn from_path(path: &Path) -> Result<DraftFile, ComposeError> {
        let bytes = std::fs::read(path).map_err(|source| ComposeError::ReadFile {
            source,
            path: path.to_owned(),
        })?;
        let filename = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".to_owned());
        Ok(DraftFile {
            filename,
            content_type: None,
            bytes,
        })
    }

    /// The MIME type: as given, else sniffed from the bytes, else from the
    /// extension, else `application/octet-stream`.
    pub fn mime_type(&self) -> String {
        if let Some(given) = &self.content_type {
            return given.clone();
        }
        if let Some(kind) = infer::get(&self.bytes) {
            return kind.mime_type().to_owned();
        }
        mime_guess::from_path(&self.filename)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_owned()
    }
}

/// An image shown inside the HTML body through `cid:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// The image file.
    pub file: DraftFile,
    /// The Content-ID (without angle brackets); generated when `None`.
    pub content_id: Option<String>,
}

/// A message being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The sender.
    pub from: Address,
    /// Primary recipients.
    pub to: Vec<Address>,
    /// Copy recipients.
    pub cc: Vec<Address>,
    /// Blind-copy recipients: in the envelope and the local copy, never in the sent bytes.
    pub bcc: Vec<Address>,
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: DraftBody,
    /// Images shown inside the HTML body.
    pub inline_images: Vec<InlineImage>,
    /// Ordinary attachments.
    pub attachments: Vec<DraftFile>,
    /// Message-ID this replies to (without angle brackets).
    pub in_reply_to: Option<String>,
    /// The thread's message ids, oldest first (without angle brackets).
    pub references: Vec<String>,
}

/// A rendered message, ready to send and to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposedMessage {
    /// The generated Message-ID (without angle brackets).
    pub message_id: String,
    /// The bytes to send: no `Bcc` header.
    pub sendable: Vec<u8>,
    /// The same message with its `Bcc` header, for Sent and Outbox.
    pub local_copy: Vec<u8>,
    /// SMTP envelope sender.
    pub envelope_from: String,
    /// SMTP envelope recipients: To, Cc and Bcc.
    pub envelope_recipients: Vec<String>,
}

/// Why a draft could not be turned into a message.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// An address is not a valid email address.
    #[error("{field} address {value:?} is not a valid email address")]
    InvalidAddress {
        /// Which field: from, to, cc, bcc.
        field: &'static str,
        /// What was given.
        value: String,
    },
    /// No recipient at all.
    #[error("the message has no recipient (To, Cc or Bcc)")]
    NoRecipient,
    /// An existing message to send has no `From` address.
    #[error("the message has no sender (From)")]
    NoSender,
    /// Inline images need an HTML body to appear in.
    #[error("inline images need an HTML body; attach the image instead or write the body in HTML")]
    InlineImagesNeedHtml,
    /// A Content-ID is not usable.
    #[error("content-id {0:?} is not valid (use letters, digits and . - _ @ only)")]
    InvalidContentId(String),
    /// A MIME type is not usable.
    #[error("MIME type {0:?} is not valid")]
    InvalidMimeType(String),
    /// A file could not be read.
    #[error("cannot read {path}")]
    ReadFile {
        /// The I/O failure.
        #[source]
        source: std::io::Error,
        /// The file.
        path: std::path::PathBuf,
    },
    /// lettre refused to build the message.
    #[error("the message could not be built")]
    Build(#[source] lettre::error::Error),
}

impl Classify for ComposeError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::ReadFile { .. } => ErrorKind::Storage,
            _ => ErrorKind::Input,
        }
    }
}

impl Draft {
    /// Renders the draft to MIME bytes.
    pub fn compose(&self) -> Result<ComposedMessage, ComposeError> {
        self.compose_at(SystemTime::now())
    }

    /// Renders the draft with a given `Date` (tests and resends).
    pub fn compose_at(&self, date: SystemTime) -> Result<ComposedMessage, ComposeError> {
        if self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty() {
            return Err(ComposeError::NoRecipient);
        }
        let from = mailbox("from", &self.from)?;
        let domain = from.email.domain().to_owned();
        let message_id = format!("{}@{}", unique_token(), domain);

        let mut builder = lettre::Message::builder()
            .from(from.clone())
            .subject(neutralize_line(&self.subject))
            .date(date)
            .message_id(Some(format!("<{message_id}>")))
            .user_agent(format!("Herald/{}", env!("CARGO_PKG_VERSION")))
            .keep_bcc();
        for address in &self.to {
            builder = builder.to(mailbox("to", address)?);
        }
        for address in &self.cc {
            builder = builder.cc(mailbox("cc", address)?);
        }
        for address in &self.bcc {
            builder = builder.bcc(mailbox("bcc", address)?);
        }
        if let Some(id) = self.in_reply_to.as_deref().and_then(message_id_header) {
            builder = builder.in_reply_to(id);
        }
        let references: Vec<String> = self
            .references
            .iter()
            .filter_map(|id| message_id_header(id))
            .collect();
        if !references.is_empty() {
            builder = builder.references(references.join(" "));
        }

        let message = match self.mime_body(&domain)? {
            Body::Single(part) => builder.singlepart(part),
            Body::Multi(part) => builder.multipart(part),
        }
        .map_err(ComposeError::Build)?;

        let local_copy = message.formatted();
        let sendable = remove_header_field(&local_copy, b"bcc");
        let envelope_recipients = self
            .to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .map(|address| address.email.trim().to_owned())
            .collect();
        Ok(ComposedMessage {
            message_id,
            sendable,
            local_copy,
            envelope_from: from.email.to_string(),
            envelope_recipients,
        })
    }

    fn mime_body(&self, domain: &str) -> Result<Body, ComposeError> {
        let text_part = |text: &str| SinglePart::plain(normalize_crlf(text));
        let content = match &self.body {
            DraftBody::Plain(text) => {
                if !self.inline_images.is_empty() {
                    return Err(ComposeError::InlineImagesNeedHtml);
                }
                Body::Single(text_part(text))
            }
            DraftBody::Html { html, text } => {
                let mut html = html.clone();
                let mut images = Vec::with_capacity(self.inline_images.len());
                for image in &self.inline_images {
                    let content_id = match &image.content_id {
                        Some(id) => valid_content_id(id)?,
                        None => generated_content_id(&image.file.filename, domain),
                    };
                    html = reference_inline_image(&html, &image.file.filename, &content_id);
                    images.push(
                        LettreAttachment::new_inline_with_name(
                            content_id,
                            neutralize_line(&image.file.filename),
                        )
                        .body(image.file.bytes.clone(), content_type(&image.file)?),
                    );
                }
                let plain = match text {
                    Some(text) => text.clone(),
                    None => plain_text_from_html(&html),
                };
                let html_part = SinglePart::html(normalize_crlf(&html));
                let html_level = if images.is_empty() {
                    Body::Single(html_part)
                } else {
                    let mut related = MultiPart::related().singlepart(html_part);
                    for image in images {
                        related = related.singlepart(image);
                    }
                    Body::Multi(related)
                };
                let alternative = MultiPart::alternative().singlepart(text_part(&plain));
                Body::Multi(match html_level {
                    Body::Single(part) => alternative.singlepart(part),
                    Body::Multi(part) => alternative.multipart(part),
                })
            }
        };
        if self.attachments.is_empty() {
            return Ok(content);
        }
        let mut mixed = match content {
            Body::Single(part) => MultiPart::mixed().singlepart(part),
            Body::Multi(part) => MultiPart::mixed().multipart(part),
        };
        for file in &self.attachments {
            mixed = mixed.singlepart(
                LettreAttachment::new(neutralize_line(&file.filename))
                    .body(file.bytes.clone(), content_type(file)?),
            );
        }
        Ok(Body::Multi(mixed))
    }
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

fn mailbox(field: &'static str, address: &Address) -> Result<Mailbox, ComposeError> {
    let email_addr = address.email.trim();
    let invalid = || ComposeError::InvalidAddress {
        field,
        value: neutralize_line(email_addr),
    };
    if email_addr.chars().any(crate::text::is_unsafe_in_line) {
        return Err(invalid());
    }
    let email = email_addr.parse().map_err(|_| invalid())?;
    let name = address
        .name
        .as_deref()
        .map(neutralize_line)
        .filter(|name| !name.is_empty());
    Ok(Mailbox::new(name, email))
}

/// Parses `Name <a@b>`, `a@b`, or a comma-separated list of them.
pub fn parse_address_list(input: &str) -> Result<Vec<Address>, ComposeError> {
    let mailboxes: lettre::message::Mailboxes =
        input.parse().map_err(|_| ComposeError::InvalidAddress {
            field: "recipient",
            value: neutralize_line(input),
        })?;
    Ok(mailboxes
        .into_iter()
        .map(|mailbox| Address {
            name: mailbox.name.map(|name| neutralize_line(&name)),
            email: mailbox.email.to_string(),
        })
        .collect())
}

fn content_type(file: &DraftFile) -> Result<ContentType, ComposeError> {
    let mime = file.mime_type();
    ContentType::parse(&mime).map_err(|_| ComposeError::InvalidMimeType(neutralize_line(&mime)))
}

fn valid_content_id(id: &str) -> Result<String, ComposeError> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '$' | '+'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ComposeError::InvalidContentId(neutralize_line(id)))
    }
}

/// A fresh Content-ID for an image named `filename` sent by
/// `sender_email`: `stem.token@domain`, with only characters that
/// [`Draft::compose`] accepts (for a composer that must reference the image
/// before the message is built).
pub fn new_content_id(filename: &str, sender_email: &str) -> String {
    let domain: String = sender_email
        .rsplit_once('@')
        .map_or("herald.invalid", |(_, domain)| domain)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    if domain.is_empty() {
        generated_content_id(filename, "herald.invalid")
    } else {
        generated_content_id(filename, &domain)
    }
}

fn generated_content_id(filename: &str, domain: &str) -> String {
    let stem: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(40)
        .collect();
    let stem = if stem.is_empty() {
        "image".to_owned()
    } else {
        stem
    };
    format!("{stem}.{}@{domain}", &unique_token()[..12])
}

/// Points the HTML at `cid:content_id`: an `src` that names the file is
/// rewritten; if nothing references the image, an `<img>` is appended so
/// every inline image is shown.
fn reference_inline_image(html: &str, filename: &str, content_id: &str) -> String {
    let cid_url = format!("cid:{content_id}");
    if html.contains(&cid_url) {
        return html.to_owned();
    }
    let mut rewritten = html.to_owned();
    for quote in ['"', '\''] {
        let by_name = format!("src={quote}{filename}{quote}");
        rewritten = rewritten.replace(&by_name, &format!("src={quote}{cid_url}{quote}"));
    }
    if rewritten.contains(&cid_url) {
        return rewritten;
    }
    let alt = neutralize_line(filename).replace(['"', '<', '>', '&'], "_");
    let tag = format!("<img src=\"{cid_url}\" alt=\"{alt}\">");
    match rewritten.rfind("</body>") {
        Some(at) => {
            rewritten.insert_str(at, &tag);
            rewritten
        }
        None => rewritten + &tag,
    }
}

/// The plain-text alternative for an HTML body.
pub fn plain_text_from_html(html: &str) -> String {
    html2text::from_read(html.as_bytes(), 78).unwrap_or_else(|_| html.to_owned())
}

fn message_id_header(id: &str) -> Option<String> {
    let id = neutralize_line(id);
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = !id.is_empty() && !id.contains(['<', '>', ' ']);
    ok.then(|| format!("<{id}>"))
}

/// A token unique across processes and calls: hashes time, process id and a
/// counter (no host name, so nothing about the machine leaks).
fn unique_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hasher = Sha256::new();
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hex(&hasher.finalize()[..16])
}

/// Removes every field named `name` (case-insensitive) from the header
/// section, with its folded continuation lines; the body is untouched.
impl ComposedMessage {
    /// Prepares an existing message (a `.eml` file, an Outbox entry) for
    /// sending: the envelope comes from its `From`, `To`, `Cc` and `Bcc`
    /// fields, and the sendable bytes are the message without its `Bcc`
    /// field. The local copy is `message` unchanged.
    pub fn from_existing(message: Vec<u8>) -> Result<ComposedMessage, ComposeError> {
        let headers = crate::message::Summary::from_prefix(&message, false).headers;
        let Some(from) = headers.from.first() else {
            return Err(ComposeError::NoSender);
        };
        let envelope_recipients: Vec<String> = headers
            .to
            .iter()
            .chain(&headers.cc)
            .chain(&headers.bcc)
            .map(|address| address.email.clone())
            .filter(|email| !email.is_empty())
            .collect();
        if envelope_recipients.is_empty() {
            return Err(ComposeError::NoRecipient);
        }
        for email in std::iter::once(&from.email).chain(&envelope_recipients) {
            if email.parse::<lettre::Address>().is_err() {
                return Err(ComposeError::InvalidAddress {
                    field: "envelope",
                    value: email.clone(),
                });
            }
        }
        Ok(ComposedMessage {
            message_id: headers.message_id.unwrap_or_default(),
            sendable: remove_header_field(&message, b"bcc"),
            envelope_from: from.email.clone(),
            envelope_recipients,
            local_copy: message,
        })
    }
}

/// `message` without the header field `name` (any case, with its folded
/// lines); the body is left alone.
pub fn remove_header_field(message: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len());
    let mut rest = message;
    let mut skipping = false;
    while !rest.is_empty() {
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(line_len);
        if line == b"\r\n" || line == b"\n" {
            out.extend_from_slice(rest);
            return out;
        }
        let is_continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !is_continuation {
            skipping = line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name)
                && line[name.len()] == b':';
        }
        if !skipping {
            out.extend_from_slice(line);
        }
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests;
