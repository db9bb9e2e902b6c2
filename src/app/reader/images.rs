//! Image work for the reader, run in background jobs: decoding message
//! parts and `data:` bytes, and fetching remote images once the user allowed
//! it. Nothing here touches egui textures (those are made on the UI thread).

use std::io::{Cursor, Read};
use std::time::Duration;

use image::{ImageFormat, ImageReader, Limits};

/// Images with more pixels than this are not decoded.
pub const MAX_DECODED_PIXELS: u64 = 40_000_000;
/// Decoded images are scaled down to fit this side (any GPU takes it).
pub const MAX_TEXTURE_SIDE: u32 = 2048;
/// A remote image larger than this is not downloaded further.
pub const MAX_REMOTE_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// At most this many remote images are fetched for one message.
pub const MAX_REMOTE_IMAGES: usize = 50;
/// Each remote fetch (connect, redirects, body) must end within this.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(10);

/// Decodes PNG, JPEG, GIF (first frame), WebP or BMP bytes into pixels,
/// scaled down to [`MAX_TEXTURE_SIDE`]. Refuses other formats and images
/// over [`MAX_DECODED_PIXELS`]; never panics (a decoder panic is an error).
pub fn decode_image(bytes: &[u8]) -> Result<egui::ColorImage, String> {
    std::panic::catch_unwind(|| decode_inner(bytes))
        .unwrap_or_else(|_| Err("the image decoder failed".to_owned()))
}

fn decode_inner(bytes: &[u8]) -> Result<egui::ColorImage, String> {
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
    if u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS {
        return Err(format!("the image is too large to show ({width}×{height})"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| format!("unreadable image: {err}"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_DECODED_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoded = reader
        .decode()
        .map_err(|err| format!("the image could not be decoded: {err}"))?;
    if decoded.width() > MAX_TEXTURE_SIDE || decoded.height() > MAX_TEXTURE_SIDE {
        decoded = decoded.thumbnail(MAX_TEXTURE_SIDE, MAX_TEXTURE_SIDE);
    }
    let rgba = decoded.to_rgba8();
    let size = [rgba.width() as usize, rgba.height() as usize];
    Ok(egui::ColorImage::from_rgba_unmultiplied(
        size,
        rgba.as_raw(),
    ))
}

/// An HTTP client for remote images: plain GET, no cookies, no `Referer`,
/// system TLS roots through native-tls, 10 s overall, at most 3 redirects.
pub fn remote_agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::NativeTls)
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .timeout_global(Some(REMOTE_TIMEOUT))
        .max_redirects(3)
        .user_agent("Herald")
        .accept("image/png, image/jpeg, image/gif, image/webp, image/bmp")
        .tls_config(tls)
        .build()
        .into()
}

/// Fetches one remote image (http/https only, image content only, at most
/// [`MAX_REMOTE_IMAGE_BYTES`]) and decodes it.
pub fn fetch_image(agent: &ureq::Agent, url: &str) -> Result<egui::ColorImage, String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err("only http and https images are loaded".to_owned());
    }
    let response = agent
        .get(url)
        .call()
        .map_err(|err| format!("could not load: {err}"))?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.is_empty() && !content_type.starts_with("image/") {
        return Err(format!("not an image ({content_type})"));
    }
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_REMOTE_IMAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("could not load: {err}"))?;
    if bytes.len() as u64 > MAX_REMOTE_IMAGE_BYTES {
        return Err("the image is larger than 5 MB".to_owned());
    }
    decode_image(&bytes)
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
    fn reader_decodes_a_png_and_scales_big_ones_down() {
        let image = decode_image(&png(3, 2)).expect("decode");
        assert_eq!(image.size, [3, 2]);
        let image = decode_image(&png(4000, 10)).expect("decode");
        assert_eq!(image.size[0], MAX_TEXTURE_SIDE as usize);
    }

    #[test]
    fn reader_refuses_garbage_and_other_formats_without_panicking() {
        assert!(decode_image(b"").is_err());
        assert!(decode_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        let mut truncated = png(50, 50);
        truncated.truncate(60);
        assert!(decode_image(&truncated).is_err());
        assert!(fetch_image(&remote_agent(), "file:///etc/passwd").is_err());
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffff_u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn reader_refuses_a_decompression_bomb_by_its_header() {
        // A PNG header claiming 100000 × 100000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        // Keep the IHDR checksum valid so the header itself is believed.
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = decode_image(&bomb).expect_err("must refuse");
        assert!(err.contains("too large"), "{err}");
    }
}
