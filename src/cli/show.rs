//! `herald show FILE.eml [--json]`: what a reader would see.

use std::path::PathBuf;

use clap::Args;
use herald_core::message::{Address, Message, PartKind};
use serde::Serialize;

use super::CliResult;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The message file (.eml).
    pub file: PathBuf,
    /// Print one JSON object (schema in docs/cli.md) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The stable JSON shape of `herald show --json` (documented in docs/cli.md).
#[derive(Serialize)]
struct ShowJson<'a> {
    subject: Option<&'a str>,
    from: &'a [Address],
    to: &'a [Address],
    cc: &'a [Address],
    reply_to: &'a [Address],
    date: Option<&'a str>,
    message_id: Option<&'a str>,
    in_reply_to: &'a [String],
    references: &'a [String],
    text: &'a str,
    html: bool,
    parts: Vec<PartJson<'a>>,
    attachments: Vec<AttachmentJson<'a>>,
    warnings: Vec<WarningJson<'a>>,
}

#[derive(Serialize)]
struct PartJson<'a> {
    path: &'a str,
    kind: PartKind,
    content_type: &'a str,
    charset: Option<&'a str>,
    transfer_encoding: &'a str,
    size: u64,
    filename: Option<&'a str>,
    raw_filename: Option<&'a str>,
    content_id: Option<&'a str>,
    disposition: Option<&'a str>,
    is_body: bool,
}

#[derive(Serialize)]
struct AttachmentJson<'a> {
    index: usize,
    part_path: &'a str,
    filename: &'a str,
    raw_filename: Option<&'a str>,
    content_type: &'a str,
    size: u64,
    sha256: String,
    content_id: Option<&'a str>,
    inline: bool,
}

#[derive(Serialize)]
struct WarningJson<'a> {
    code: &'static str,
    message: &'a str,
    part_path: Option<&'a str>,
}

pub fn run(args: ShowArgs) -> CliResult {
    let message = Message::from_file(&args.file)?;
    if args.json {
        let json = serde_json::to_string_pretty(&show_json(&message))?;
        println!("{json}");
    } else {
        print_human(&message);
    }
    Ok(())
}

fn show_json(message: &Message) -> ShowJson<'_> {
    let headers = &message.headers;
    ShowJson {
        subject: headers.subject.as_deref(),
        from: &headers.from,
        to: &headers.to,
        cc: &headers.cc,
        reply_to: &headers.reply_to,
        date: headers.date_rfc3339.as_deref(),
        message_id: headers.message_id.as_deref(),
        in_reply_to: &headers.in_reply_to,
        references: &headers.references,
        text: &message.text,
        html: message.html.is_some(),
        parts: message
            .parts
            .iter()
            .map(|part| PartJson {
                path: &part.path,
                kind: part.kind,
                content_type: &part.content_type,
                charset: part.charset.as_deref(),
                transfer_encoding: part.transfer_encoding.as_str(),
                size: part.size_bytes,
                filename: part.filename.as_deref(),
                raw_filename: part.raw_filename.as_deref(),
                content_id: part.content_id.as_deref(),
                disposition: part.disposition.as_deref(),
                is_body: part.is_body,
            })
            .collect(),
        attachments: message
            .attachments
            .iter()
            .map(|attachment| {
                let (size, sha256) = message.attachment_digest(attachment);
                AttachmentJson {
                    index: attachment.index,
                    part_path: message
                        .parts
                        .get(attachment.part_index)
                        .map_or("", |part| part.path.as_str()),
                    filename: &attachment.filename,
                    raw_filename: attachment.raw_filename.as_deref(),
                    content_type: &attachment.content_type,
                    size,
                    sha256,
                    content_id: attachment.content_id.as_deref(),
                    inline: attachment.inline,
                }
            })
            .collect(),
        warnings: message
            .warnings
            .iter()
            .map(|warning| WarningJson {
                code: warning.code.as_str(),
                message: &warning.message,
                part_path: warning.part_path.as_deref(),
            })
            .collect(),
    }
}

fn format_addresses(addresses: &[Address]) -> String {
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_human(message: &Message) {
    let headers = &message.headers;
    let field = |label: &str, value: &str| {
        if !value.is_empty() {
            println!("{label:<9}{value}");
        }
    };
    field("From:", &format_addresses(&headers.from));
    if !headers.reply_to.is_empty() && headers.reply_to != headers.from {
        field("Reply-To:", &format_addresses(&headers.reply_to));
    }
    field("To:", &format_addresses(&headers.to));
    field("Cc:", &format_addresses(&headers.cc));
    field("Date:", headers.date_rfc3339.as_deref().unwrap_or(""));
    field(
        "Subject:",
        headers.subject.as_deref().unwrap_or("(no subject)"),
    );
    println!();
    println!("{}", message.text.trim_end());
    if !message.attachments.is_empty() {
        println!();
        println!("Attachments:");
        for attachment in &message.attachments {
            let inline = if attachment.inline { "  (inline)" } else { "" };
            println!(
                "  [{}] {}  {}  {} bytes{inline}",
                attachment.index,
                attachment.filename,
                attachment.content_type,
                attachment.size_bytes
            );
        }
    }
    if !message.parts.is_empty() {
        println!();
        println!("Structure:");
        for part in &message.parts {
            let indent = "  ".repeat(part.depth.min(20) + 1);
            let name = part
                .filename
                .as_deref()
                .map(|n| format!("  \"{n}\""))
                .unwrap_or_default();
            println!(
                "{indent}{} {}  {} bytes{name}",
                part.path, part.content_type, part.size_bytes
            );
        }
    }
    for warning in &message.warnings {
        eprintln!("warning: {}", warning.message);
    }
}
