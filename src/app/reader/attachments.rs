//! Attachment helpers for the reader: how an attachment is described, which
//! ones are dangerous to open, and the disk work (run in background jobs)
//! that saves or opens them through the core's create-new saving.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald_core::attachment::{SavedFile, sanitize_filename, save_new_file};
use herald_core::error::describe;
use herald_core::message::{Attachment, Message};

/// File name extensions that run code (or can) when opened.
const RISKY_EXTENSIONS: &[&str] = &[
    "exe",
    "msi",
    "msix",
    "msp",
    "appx",
    "bat",
    "cmd",
    "com",
    "scr",
    "pif",
    "cpl",
    "msc",
    "ps1",
    "psm1",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "hta",
    "jar",
    "sh",
    "bash",
    "zsh",
    "csh",
    "command",
    "tool",
    "app",
    "dmg",
    "pkg",
    "desktop",
    "appimage",
    "deb",
    "rpm",
    "apk",
    "lnk",
    "url",
    "reg",
    "inf",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "html",
    "htm",
    "xhtml",
    "shtml",
    "svg",
    "mht",
    "mhtml",
    "py",
    "pyw",
    "pl",
    "rb",
    "php",
    "docm",
    "xlsm",
    "pptm",
    "dotm",
    "xlam",
    "ppam",
    "scf",
    "chm",
    "gadget",
    "library-ms",
    "settingcontent-ms",
];

/// MIME types that run code (or can) when opened.
const RISKY_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-msi",
    "application/x-ms-installer",
    "application/x-sh",
    "application/x-shellscript",
    "application/x-executable",
    "application/x-elf",
    "application/x-mach-binary",
    "application/x-apple-diskimage",
    "application/java-archive",
    "application/javascript",
    "text/javascript",
    "application/x-bat",
    "application/hta",
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "application/vnd.debian.binary-package",
    "application/x-rpm",
    "application/vnd.android.package-archive",
    "application/x-desktop",
];

/// Why opening this attachment needs a confirmation, if it does.
pub fn open_risk(attachment: &Attachment) -> Option<String> {
    let name = attachment.filename.to_ascii_lowercase();
    let extension = Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let risky_name = RISKY_EXTENSIONS.contains(&extension);
    let risky_type = RISKY_TYPES.contains(&attachment.content_type.as_str());
    (risky_name || risky_type).then(|| {
        format!(
            "“{}” is a program, script or web page ({}). Opening it can run code \
             on this computer. Open it only if you trust the sender and expected this file.",
            attachment.filename, attachment.content_type
        )
    })
}

/// A short tag for the attachment's kind (`PDF`, `IMG`, `ZIP`…), shown
/// where other programs show an icon; plain letters render in every font.
pub fn icon(content_type: &str) -> &'static str {
    let (major, minor) = content_type.split_once('/').unwrap_or((content_type, ""));
    match major {
        "image" => "IMG",
        "audio" => "AUD",
        "video" => "VID",
        "text" => "TXT",
        "message" => "MSG",
        _ if minor.contains("zip")
            || minor.contains("compressed")
            || minor.contains("tar")
            || minor.contains("gzip") =>
        {
            "ZIP"
        }
        _ if minor == "pdf" => "PDF",
        _ => "FILE",
    }
}

/// The result of saving several files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SaveReport {
    /// Where each saved file went.
    pub saved: Vec<SavedFile>,
    /// One sentence per attachment that could not be saved.
    pub failed: Vec<String>,
}

/// Saves one attachment as `chosen` (a path from a save dialog or the
/// in-app prompt): into `chosen`'s folder, under `chosen`'s file name made
/// safe, never overwriting (a ` (1)` suffix is added instead).
pub fn save_as(message: &Message, attachment: &Attachment, chosen: &Path) -> SaveReport {
    let folder = chosen
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = chosen
        .file_name()
        .map(|n| sanitize_filename(Some(&n.to_string_lossy()), &attachment.content_type))
        .unwrap_or_else(|| attachment.filename.clone());
    let result = save_new_file(&folder, &name, &mut |out| {
        message
            .write_decoded_body(attachment.part_index, out)
            .map(|_| ())
    });
    report([(attachment, result)])
}

/// Saves every attachment in `list` into `folder`.
pub fn save_all(message: &Message, list: &[Attachment], folder: &Path) -> SaveReport {
    report(
        list.iter()
            .map(|attachment| (attachment, message.save_attachment(attachment, folder))),
    )
}

fn report<'a>(
    results: impl IntoIterator<
        Item = (
            &'a Attachment,
            Result<SavedFile, herald_core::attachment::SaveError>,
        ),
    >,
) -> SaveReport {
    let mut out = SaveReport::default();
    for (attachment, result) in results {
        match result {
            Ok(saved) => out.saved.push(saved),
            Err(err) => out
                .failed
                .push(format!("{}: {}", attachment.filename, describe(&err))),
        }
    }
    out
}

/// Saves the attachment into a new private temporary folder and opens it
/// with the system's program for its type. Returns the file opened.
pub fn open_with_system(
    message: &Arc<Message>,
    attachment: &Attachment,
) -> Result<PathBuf, String> {
    let folder = tempfile::Builder::new()
        .prefix("herald-open-")
        .tempdir()
        .map_err(|err| format!("could not make a temporary folder: {err}"))?
        // The program we hand the file to may read it after we return.
        .keep();
    let saved = message
        .save_attachment(attachment, &folder)
        .map_err(|err| describe(&err))?;
    open::that_detached(&saved.path)
        .map_err(|err| format!("no program could open {}: {err}", saved.path.display()))?;
    Ok(saved.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(name: &str, content_type: &str) -> Attachment {
        Attachment {
            index: 1,
            part_index: 0,
            filename: name.to_owned(),
            raw_filename: None,
            content_type: content_type.to_owned(),
            size_bytes: 1,
            content_id: None,
            inline: false,
        }
    }

    #[test]
    fn reader_flags_programs_and_scripts_before_opening() {
        assert!(open_risk(&attachment("setup.EXE", "application/octet-stream")).is_some());
        assert!(open_risk(&attachment("run.sh", "text/plain")).is_some());
        assert!(open_risk(&attachment("invoice", "application/x-msdownload")).is_some());
        assert!(open_risk(&attachment("page.html", "text/html")).is_some());
        assert!(open_risk(&attachment("report.pdf", "application/pdf")).is_none());
        assert!(open_risk(&attachment("photo.jpg", "image/jpeg")).is_none());
    }
}
