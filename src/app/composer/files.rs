//! Attached and embedded files: reading them and their thumbnails off the
//! UI thread, and the Content-IDs that tie inline images to the body.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use herald_core::compose::DraftFile;

/// Thumbnails are at most this many pixels wide and high.
pub const THUMBNAIL_PX: u32 = 96;

/// A file of the message: attached, or shown inline in the body.
pub struct FileItem {
    /// The file (shared with compose jobs, never copied on the UI thread).
    pub file: Arc<DraftFile>,
    /// `Some` while the file is an inline image referenced by `cid:`.
    pub content_id: Option<String>,
    /// True when the bytes decode as an image (it may then be inline).
    pub is_image: bool,
    /// A decoded thumbnail waiting to be uploaded, then the texture.
    pub thumbnail: Thumbnail,
}

/// A thumbnail's state.
pub enum Thumbnail {
    /// Not an image, or it could not be decoded.
    None,
    /// Decoded in a job, not yet a texture.
    Decoded(egui::ColorImage),
    /// Ready to draw.
    Texture(egui::TextureHandle),
}

impl FileItem {
    /// Size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.file.bytes.len() as u64
    }

    /// The texture, uploading the decoded thumbnail on first use.
    pub fn texture(&mut self, ctx: &egui::Context, key: &str) -> Option<&egui::TextureHandle> {
        if let Thumbnail::Decoded(image) = &self.thumbnail {
            let handle = ctx.load_texture(key, image.clone(), egui::TextureOptions::LINEAR);
            self.thumbnail = Thumbnail::Texture(handle);
        }
        match &self.thumbnail {
            Thumbnail::Texture(handle) => Some(handle),
            _ => None,
        }
    }
}

/// Where a file to add comes from.
pub enum Source {
    /// A path (dialog, prompt, drop).
    Path(PathBuf),
    /// A file dropped on the window (read in the job).
    Dropped(egui::DroppedFileHandle),
    /// An image pasted from the clipboard, encoded to PNG in the job.
    Pasted(Arc<egui::ColorImage>),
}

/// A file read by a job: the file and, for an image, its thumbnail.
pub struct Loaded {
    /// The file.
    pub file: DraftFile,
    /// Its thumbnail, when it decodes as an image.
    pub thumbnail: Option<egui::ColorImage>,
}

/// Reads one file and decodes its thumbnail (runs in a job).
pub fn load(source: Source) -> Result<Loaded, String> {
    let file = match source {
        Source::Path(path) => {
            DraftFile::from_path(&path).map_err(|err| herald_core::error::describe(&err))?
        }
        Source::Dropped(handle) => DraftFile {
            filename: handle.path().file_name().map_or_else(
                || "attachment".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            ),
            content_type: None,
            bytes: handle.bytes()?,
        },
        Source::Pasted(image) => DraftFile {
            filename: "pasted-image.png".to_owned(),
            content_type: Some("image/png".to_owned()),
            bytes: encode_png(&image)?,
        },
    };
    let thumbnail = thumbnail(&file.bytes);
    Ok(Loaded { file, thumbnail })
}

/// A thumbnail of at most [`THUMBNAIL_PX`] for image bytes; `None` when they
/// do not decode (or are implausibly large).
pub fn thumbnail(bytes: &[u8]) -> Option<egui::ColorImage> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().ok()?;
    let small = image.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX).to_rgba8();
    let size = [small.width() as usize, small.height() as usize];
    Some(egui::ColorImage::from_rgba_unmultiplied(
        size,
        small.as_raw(),
    ))
}

fn encode_png(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [width, height] = image.size;
    let pixels: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|pixel| pixel.to_srgba_unmultiplied())
        .collect();
    let width = u32::try_from(width).map_err(|_| "the pasted image is too large".to_owned())?;
    let height = u32::try_from(height).map_err(|_| "the pasted image is too large".to_owned())?;
    let buffer = image::RgbaImage::from_raw(width, height, pixels)
        .ok_or_else(|| "the pasted image could not be read".to_owned())?;
    let mut png = Vec::new();
    buffer
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|err| format!("the pasted image could not be encoded: {err}"))?;
    Ok(png)
}

/// A fresh Content-ID for `filename`: `stem.random@domain`, using only the
/// characters the core accepts.
pub fn new_content_id(filename: &str, sender_email: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
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
    let domain: String = sender_email
        .rsplit_once('@')
        .map_or("herald.invalid", |(_, domain)| domain)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let domain = if domain.is_empty() {
        "herald.invalid".to_owned()
    } else {
        domain
    };
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{stem}.{:016x}@{domain}", hasher.finish())
}

/// True when `name` looks like an image by its extension (for drops, before
/// the bytes are read).
pub fn looks_like_image(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_unique_and_valid() {
        let a = new_content_id("Photo été (1).png", "ann@example.org");
        let b = new_content_id("Photo été (1).png", "ann@example.org");
        assert_ne!(a, b);
        assert!(a.starts_with("Phot1.png.") || a.starts_with("Phot"), "{a}");
        assert!(a.ends_with("@example.org"), "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c)),
            "{a}"
        );
    }

    #[test]
    fn thumbnails_fit_the_box() {
        let image = image::RgbaImage::from_pixel(400, 100, image::Rgba([200, 10, 10, 255]));
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode");
        let thumb = thumbnail(&png).expect("decodes");
        assert_eq!(thumb.size, [96, 24]);
        assert!(thumbnail(b"not an image").is_none());
    }
}
