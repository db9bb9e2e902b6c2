//! `herald compose … --out FILE.eml`: writes a message without sending it.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use herald_core::compose::{
    ComposedMessage, Draft, DraftBody, DraftFile, InlineImage, parse_address_list,
};
use herald_core::message::Address;
use serde::Serialize;

use super::{CliError, CliResult};

/// What a message is made of; shared by `compose` and (later) `send`.
#[derive(Debug, Args)]
pub struct DraftArgs {
    /// Sender: `ADDR` or `"Name <ADDR>"`.
    #[arg(long, value_name = "ADDR")]
    pub from: String,
    /// Recipient; repeatable, or a comma-separated list.
    #[arg(long, value_name = "ADDR")]
    pub to: Vec<String>,
    /// Copy recipient; repeatable.
    #[arg(long, value_name = "ADDR")]
    pub cc: Vec<String>,
    /// Blind-copy recipient; repeatable. Never appears in the bytes sent.
    #[arg(long, value_name = "ADDR")]
    pub bcc: Vec<String>,
    /// Subject line.
    #[arg(long, default_value = "")]
    pub subject: String,
    /// Plain-text body (UTF-8 file); with --html, the plain-text alternative.
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,
    /// HTML body (UTF-8 file). A plain-text alternative is always added.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Image shown in the HTML body: `PATH` or `PATH=CID`; repeatable. The HTML
    /// may reference it as `cid:CID` or by its file name (`src="logo.png"`).
    #[arg(long = "inline-image", value_name = "PATH[=CID]")]
    pub inline_images: Vec<String>,
    /// File to attach; repeatable.
    #[arg(long = "attach", value_name = "PATH")]
    pub attachments: Vec<PathBuf>,
    /// Message-ID this replies to.
    #[arg(long, value_name = "ID")]
    pub in_reply_to: Option<String>,
    /// Message-IDs of the thread (oldest first); repeatable.
    #[arg(long = "references", value_name = "ID")]
    pub references: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeArgs {
    #[command(flatten)]
    pub draft: DraftArgs,
    /// Where to write the message (.eml, with its Bcc header, as a local copy).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct ComposedJson<'a> {
    path: &'a Path,
    message_id: &'a str,
    size: usize,
}

pub fn run(args: ComposeArgs) -> CliResult {
    let composed = compose(&args.draft)?;
    write_atomically(&args.out, &composed.local_copy)?;
    let json = ComposedJson {
        path: &args.out,
        message_id: &composed.message_id,
        size: composed.local_copy.len(),
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// Builds and renders the draft described by the options.
pub fn compose(args: &DraftArgs) -> Result<ComposedMessage, CliError> {
    Ok(draft(args)?.compose()?)
}

fn draft(args: &DraftArgs) -> Result<Draft, CliError> {
    let from = parse_address_list(&args.from)?
        .into_iter()
        .next()
        .ok_or_else(|| CliError("--from needs an address".into()))?;
    let body = match (&args.html, &args.text) {
        (Some(html), text) => DraftBody::Html {
            html: read_text(html, "--html")?,
            text: text
                .as_deref()
                .map(|t| read_text(t, "--text"))
                .transpose()?,
        },
        (None, Some(text)) => DraftBody::Plain(read_text(text, "--text")?),
        (None, None) => {
            return Err(CliError(
                "give a body with --text FILE or --html FILE".into(),
            ));
        }
    };
    let inline_images = args
        .inline_images
        .iter()
        .map(|spec| {
            let (path, content_id) = match spec.rsplit_once('=') {
                Some((path, cid)) if !cid.contains(['/', '\\']) => (path, Some(cid.to_owned())),
                _ => (spec.as_str(), None),
            };
            Ok(InlineImage {
                file: DraftFile::from_path(Path::new(path))?,
                content_id,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let attachments = args
        .attachments
        .iter()
        .map(|path| DraftFile::from_path(path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Draft {
        from,
        to: addresses(&args.to)?,
        cc: addresses(&args.cc)?,
        bcc: addresses(&args.bcc)?,
        subject: args.subject.clone(),
        body,
        inline_images,
        attachments,
        in_reply_to: args.in_reply_to.clone(),
        references: args.references.clone(),
    })
}

fn addresses(values: &[String]) -> Result<Vec<Address>, CliError> {
    let mut all = Vec::new();
    for value in values {
        all.extend(parse_address_list(value)?);
    }
    Ok(all)
}

fn read_text(path: &Path, option: &str) -> Result<String, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|err| CliError(format!("cannot read {option} {}: {err}", path.display())))?;
    String::from_utf8(bytes)
        .map_err(|_| CliError(format!("{option} {} is not UTF-8 text", path.display())))
}

/// Writes to a temporary file beside `path`, then renames it into place, so
/// a crash never leaves a half-written message.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let fail = |err: std::io::Error| CliError(format!("cannot write {}: {err}", path.display()));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|err| fail(err.error))?;
    Ok(())
}
