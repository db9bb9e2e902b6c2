//! Image bytes to pixels for egui textures, for every view that shows
//! pictures: the reader (`cid:`, `data:` and remote images) and the composer
//! (thumbnails and preview pictures). Runs in jobs, never on the UI thread;
//! makes no textures (those are made on the UI thread); never panics.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// What the formats Herald decodes are called in file name extensions and
/// `image/…` types (the `image` crate is built with only these decoders).
pub const TYPE_NAMES: &[&str] = &["png", "jpeg", "jpg", "gif", "webp", "bmp"];
/// Images in mail with more pixels than this are not decoded.
pub const MAX_MAIL_PIXELS: u64 = 40_000_000;
/// The user's own images (attached while composing) may be larger: phone
/// cameras make 108-megapixel JPEGs.
pub const MAX_OWN_PIXELS: u64 = 120_000_000;
/// Pictures are scaled down to fit this side (any GPU takes it).
pub const MAX_TEXTURE_SIDE: u32 = 2048;

/// Decodes PNG, JPEG, GIF (first frame), WebP or BMP bytes. Refuses other
/// formats and images over `max_pixels` (by their header, before decoding);
/// a decoder panic is an error.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    std::panic::catch_unwind(|| decode_inner(bytes, max_pixels))
        .unwrap_or_else(|_| Err("the image decoder failed".to_owned()))
}

fn decode_inner(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, String> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| format!("unreadable image: {err}"))?;
    let format = reader.format().ok_or("not an image Herald can show")?;
    if !matches!(
        format,
        ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp
    ) {
        return Err(format!("{format:?} images are not shown"));
    }
    let (width, height) = reader
        .into_dimensions()
        .map_err(|err| format!("unreadable image: {err}"))?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(format!("the image is too large to show ({width}×{height})"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| format!("unreadable image: {err}"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(max_pixels * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|err| format!("the image could not be decoded: {err}"))
}

/// The picture scaled down (never up) to fit `max_width` × `max_height`.
pub fn fit(image: &DynamicImage, max_width: u32, max_height: u32) -> egui::ColorImage {
    let rgba = if image.width() > max_width || image.height() > max_height {
        image.thumbnail(max_width, max_height).to_rgba8()
    } else {
        image.to_rgba8()
    };
    let size = [rgba.width() as usize, rgba.height() as usize];
    egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw())
}

/// An image from mail, decoded and scaled to fit [`MAX_TEXTURE_SIDE`].
pub fn decode_mail_image(bytes: &[u8]) -> Result<egui::ColorImage, String> {
    let image = decode(bytes, MAX_MAIL_PIXELS)?;
    Ok(fit(&image, MAX_TEXTURE_SIDE, MAX_TEXTURE_SIDE))
}

/// True when `name` ends in an extension of a format Herald decodes (for
/// files not read yet).
pub fn has_image_extension(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            TYPE_NAMES
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbaImage::from_pixel(width, height, image::Rgba([10, 20, 30, 255]))
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode png");
        out
    }

    #[test]
    fn mail_images_decode_and_big_ones_are_scaled_down() {
        let image = decode_mail_image(&png(3, 2)).expect("decode");
        assert_eq!(image.size, [3, 2]);
        let image = decode_mail_image(&png(4000, 10)).expect("decode");
        assert_eq!(image.size[0], MAX_TEXTURE_SIDE as usize);
    }

    #[test]
    fn pictures_fit_their_box_and_are_never_blown_up() {
        let image = decode(&png(1200, 300), MAX_OWN_PIXELS).expect("decode");
        assert_eq!(fit(&image, 600, 2048).size, [600, 150]);
        assert_eq!(fit(&image, 96, 96).size, [96, 24]);
        let image = decode(&png(40, 20), MAX_OWN_PIXELS).expect("decode");
        assert_eq!(fit(&image, 96, 96).size, [40, 20]);
    }

    #[test]
    fn garbage_and_other_formats_are_refused_without_panicking() {
        assert!(decode_mail_image(b"").is_err());
        assert!(decode_mail_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert!(decode_mail_image(&truncated).is_err());
    }

    #[test]
    fn a_decompression_bomb_is_refused_by_its_header() {
        // A BMP header (no checksum to keep valid) claiming 30000 × 30000
        // pixels, with no pixels behind it.
        let mut bomb = b"BM".to_vec();
        for field in [54u32, 0, 54, 40, 30_000, 30_000] {
            bomb.extend_from_slice(&field.to_le_bytes());
        }
        bomb.extend_from_slice(&1u16.to_le_bytes()); // planes
        bomb.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
        bomb.extend_from_slice(&[0; 24]); // no compression, default sizes
        let err = decode(&bomb, MAX_OWN_PIXELS).expect_err("must refuse");
        assert!(err.contains("too large to show (30000×30000)"), "{err}");
    }

    #[test]
    fn image_extensions_are_recognised_in_any_case() {
        assert!(has_image_extension("Photo.JPG"));
        assert!(has_image_extension("/tmp/a b/chart.webp"));
        assert!(!has_image_extension("report.pdf"));
        assert!(!has_image_extension("png"));
    }
}
