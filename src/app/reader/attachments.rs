//! Attachment helpers for the reader: how an attachment is described, which
//! ones are dangerous to open, and the disk work (run in background jobs)
//! that saves or opens them through the core's create-new saving.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald_core::attachment::{SavedFile, sanitize_filename, save_new_file};

use crate::app::desktop::Desktop;
use crate::app::open_folders::{self, OpenFolders};
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

/// One kind of attachment, found by its MIME type or its name.
struct Kind {
    icon: &'static str,
    name: &'static str,
    /// `major/` matches a type's start; anything else a part of it.
    types: &'static [&'static str],
    extensions: &'static [&'static str],
}

/// The kinds, most specific first (`text/csv` is a spreadsheet, not text).
/// Every icon is in egui's emoji fonts (a unit test checks).
const KINDS: &[Kind] = &[
    Kind {
        icon: "📅",
        name: "Calendar invitation",
        types: &["calendar"],
        extensions: &["ics", "ical"],
    },
    Kind {
        icon: "👤",
        name: "Contact card",
        types: &["vcard"],
        extensions: &["vcf", "vcard"],
    },
    Kind {
        icon: "📊",
        name: "Spreadsheet",
        types: &["spreadsheet", "excel", "csv"],
        extensions: &["csv", "xls", "xlsx", "xlsm", "ods", "numbers"],
    },
    Kind {
        icon: "📽",
        name: "Presentation",
        types: &["presentation", "powerpoint"],
        extensions: &["ppt", "pptx", "pptm", "odp"],
    },
    Kind {
        icon: "📦",
        name: "Archive",
        types: &[
            "zip",
            "compressed",
            "x-tar",
            "gzip",
            "x-rar",
            "x-7z",
            "x-bzip",
            "x-xz",
        ],
        extensions: &["zip", "7z", "rar", "tar", "gz", "tgz", "bz2", "xz"],
    },
    Kind {
        icon: "✉",
        name: "Email message",
        types: &["message/"],
        extensions: &["eml", "msg"],
    },
    Kind {
        icon: "🖼",
        name: "Image",
        types: &["image/"],
        extensions: &[
            "png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "heic", "svg",
        ],
    },
    Kind {
        icon: "🎵",
        name: "Audio",
        types: &["audio/"],
        extensions: &["mp3", "wav", "ogg", "oga", "flac", "m4a", "aac", "opus"],
    },
    Kind {
        icon: "🎞",
        name: "Video",
        types: &["video/"],
        extensions: &["mp4", "mov", "mkv", "webm", "avi", "m4v"],
    },
    Kind {
        icon: "📄",
        name: "Document",
        types: &[
            "pdf",
            "msword",
            "wordprocessing",
            "opendocument.text",
            "rtf",
            "text/",
        ],
        extensions: &["pdf", "doc", "docx", "odt", "rtf", "txt", "md"],
    },
];

/// The icon for an attachment and what kind of file it is (for the hover
/// text): by its type, else by its name's extension (mail often says
/// `application/octet-stream`).
pub fn icon(content_type: &str, filename: &str) -> (&'static str, &'static str) {
    let content_type = content_type.to_ascii_lowercase();
    let extension = Path::new(filename)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let by_type = |kind: &&Kind| {
        kind.types.iter().any(|pattern| {
            if pattern.ends_with('/') {
                content_type.starts_with(pattern)
            } else {
                content_type.contains(pattern)
            }
        })
    };
    KINDS
        .iter()
        .find(by_type)
        .or_else(|| {
            KINDS
                .iter()
                .find(|kind| kind.extensions.contains(&extension.as_str()))
        })
        .map_or(("📎", "File"), |kind| (kind.icon, kind.name))
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

/// Saves the attachment into a new private temporary folder (one of
/// `folders`, removed when the window closes), makes it read-only and opens
/// it with the system's program for its type. Returns the file opened.
pub fn open_with_system(
    message: &Arc<Message>,
    attachment: &Attachment,
    folders: &OpenFolders,
    desktop: &dyn Desktop,
) -> Result<PathBuf, String> {
    let folder = folders
        .create()
        .map_err(|err| format!("could not make a temporary folder: {err}"))?;
    let saved = match message.save_attachment(attachment, &folder) {
        Ok(saved) => saved,
        Err(err) => {
            folders.discard(&folder);
            return Err(describe(&err));
        }
    };
    open_folders::make_read_only(&saved.path);
    // The program we hand the file to may read it after we return, so the
    // folder stays until the window closes; unless nothing opened it.
    desktop.open_file(&saved.path).map_err(|err| {
        folders.discard(&folder);
        format!("no program could open {}: {err}", saved.path.display())
    })?;
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
    fn attachment_icons_follow_the_type_then_the_name() {
        assert_eq!(icon("application/pdf", "a.bin").1, "Document");
        assert_eq!(icon("text/csv", "data.txt").1, "Spreadsheet");
        assert_eq!(icon("text/calendar", "invite.ics").1, "Calendar invitation");
        assert_eq!(icon("IMAGE/PNG", "x").1, "Image");
        assert_eq!(
            icon(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "q1.xlsx"
            )
            .1,
            "Spreadsheet"
        );
        assert_eq!(icon("application/x-7z-compressed", "a.7z").1, "Archive");
        // The type says nothing: the extension decides.
        assert_eq!(icon("application/octet-stream", "Song.MP3").1, "Audio");
        assert_eq!(icon("application/octet-stream", "clip.mov").1, "Video");
        assert_eq!(icon("application/octet-stream", "setup"), ("📎", "File"));
    }

    #[test]
    fn every_attachment_icon_has_a_glyph_in_egui_fonts() {
        let ctx = egui::Context::default();
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
        let font = egui::FontId::proportional(14.0);
        for icon in KINDS.iter().map(|kind| kind.icon).chain(["📎"]) {
            assert!(
                ctx.fonts_mut(|fonts| fonts.has_glyphs(&font, icon)),
                "no glyph for {icon}"
            );
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
