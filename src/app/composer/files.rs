//! Attached and embedded files: reading them and their thumbnails off the
//! UI thread, and the Content-IDs that tie inline images to the body.

use std::path::PathBuf;
use std::sync::Arc;

use herald_core::compose::DraftFile;

use crate::app::html_view::images;

/// Thumbnails are at most this many pixels wide and high.
pub const THUMBNAIL_PX: u32 = 96;
/// Images in the body preview are at most this many pixels wide.
pub const PREVIEW_WIDTH_PX: u32 = 600;

/// A file of the message: attached, or shown inline in the body.
pub struct FileItem {
    /// The file (shared with compose jobs, never copied on the UI thread).
    pub file: Arc<DraftFile>,
    /// `Some` while the file is an inline image referenced by `cid:`.
    pub content_id: Option<String>,
    /// True when the bytes decode as an image (it may then be inline).
    pub is_image: bool,
    /// The small picture in the file list.
    pub thumbnail: Picture,
    /// The picture the body preview draws where the body shows the image.
    pub preview: Picture,
}

/// A picture decoded in a job, uploaded as a texture when first drawn.
pub enum Picture {
    /// Not an image, or it could not be decoded.
    None,
    /// Decoded in a job, not yet a texture.
    Decoded(egui::ColorImage),
    /// Ready to draw.
    Texture(egui::TextureHandle),
}

impl Picture {
    fn new(image: Option<egui::ColorImage>) -> Picture {
        image.map_or(Picture::None, Picture::Decoded)
    }

    /// The texture, uploading the decoded pixels on first use.
    pub fn texture(&mut self, ctx: &egui::Context, name: &str) -> Option<&egui::TextureHandle> {
        if let Picture::Decoded(image) = self {
            let image = std::mem::take(image);
            *self = Picture::Texture(ctx.load_texture(name, image, egui::TextureOptions::LINEAR));
        }
        match self {
            Picture::Texture(handle) => Some(handle),
            _ => None,
        }
    }
}

impl FileItem {
    /// A file read by [`load`] (or from a message), not inline yet.
    pub fn new(loaded: Loaded) -> FileItem {
        let (thumbnail, preview) = match loaded.pictures {
            Some(pictures) => (Some(pictures.thumbnail), Some(pictures.preview)),
            None => (None, None),
        };
        FileItem {
            file: Arc::new(loaded.file),
            content_id: None,
            is_image: thumbnail.is_some(),
            thumbnail: Picture::new(thumbnail),
            preview: Picture::new(preview),
        }
    }

    /// Size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.file.bytes.len() as u64
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

/// A file read by a job: the file and, for an image, its pictures.
pub struct Loaded {
    /// The file.
    pub file: DraftFile,
    /// Its pictures, when it decodes as an image.
    pub pictures: Option<Pictures>,
}

impl Loaded {
    /// `file` with its pictures decoded (runs in a job).
    pub fn new(file: DraftFile) -> Loaded {
        let pictures = pictures(&file.bytes);
        Loaded { file, pictures }
    }
}

/// The two sizes an image is shown at while composing.
pub struct Pictures {
    /// At most [`THUMBNAIL_PX`] wide and high.
    pub thumbnail: egui::ColorImage,
    /// At most [`PREVIEW_WIDTH_PX`] wide (and a texture's largest side high).
    pub preview: egui::ColorImage,
}

/// Reads one file and decodes its pictures (runs in a job).
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
    Ok(Loaded::new(file))
}

/// The thumbnail and preview of image bytes; `None` when they do not decode
/// (or are implausibly large).
pub fn pictures(bytes: &[u8]) -> Option<Pictures> {
    let image = images::decode(bytes, images::MAX_OWN_PIXELS).ok()?;
    Some(Pictures {
        thumbnail: images::fit(&image, THUMBNAIL_PX, THUMBNAIL_PX),
        preview: images::fit(&image, PREVIEW_WIDTH_PX, images::MAX_TEXTURE_SIDE),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_gets_a_thumbnail_and_a_preview_picture() {
        let image = image::RgbaImage::from_pixel(1200, 300, image::Rgba([200, 10, 10, 255]));
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encode");
        let made = pictures(&png).expect("decodes");
        assert_eq!(made.thumbnail.size, [96, 24]);
        assert_eq!(made.preview.size, [600, 150]);
        assert!(pictures(b"not an image").is_none());
    }
}
