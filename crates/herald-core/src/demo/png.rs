//! A minimal PNG encoder (RGBA, 8 bits, stored deflate blocks) and the two
//! small pictures of the welcome message, drawn in code so the repository
//! holds no binary files for them.

/// Encodes `rgba` (`width * height * 4` bytes) as a PNG (ISO/IEC 15948):
/// signature, IHDR, one IDAT with an uncompressed zlib stream, IEND.
pub(super) fn encode_rgba(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    let row_bytes = width as usize * 4;
    let mut raw = Vec::with_capacity((row_bytes + 1) * height as usize);
    for row in rgba.chunks(row_bytes.max(1)).take(height as usize) {
        raw.push(0); // filter type None
        raw.extend_from_slice(row);
    }

    // zlib (RFC 1950) around stored deflate blocks (RFC 1951 §3.2.4).
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        zlib.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        zlib.push(u8::from(last));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, no interlace

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    png.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
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

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in bytes {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// Side of both pictures, in pixels.
const SIDE: u32 = 64;

/// Draws a `SIDE`×`SIDE` picture from a colour function of (x, y) in 0..1.
fn draw(paint: impl Fn(f32, f32) -> [u8; 4]) -> Vec<u8> {
    let mut rgba = Vec::with_capacity((SIDE * SIDE * 4) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let fx = (x as f32 + 0.5) / SIDE as f32;
            let fy = (y as f32 + 0.5) / SIDE as f32;
            rgba.extend_from_slice(&paint(fx, fy));
        }
    }
    encode_rgba(SIDE, SIDE, &rgba)
}

/// Distance from `p` to the segment `a`–`b`.
fn distance_to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length_squared = dx * dx + dy * dy;
    let t = if length_squared == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length_squared).clamp(0.0, 1.0)
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

const TRANSPARENT: [u8; 4] = [0, 0, 0, 0];
const WHITE: [u8; 4] = [255, 255, 255, 255];

/// Herald's envelope: a white envelope on a blue rounded square.
pub(super) fn envelope_logo() -> Vec<u8> {
    draw(|x, y| {
        // Rounded square: distance outside the inner square, vs the radius.
        let (qx, qy) = ((x - 0.5).abs() - 0.32, (y - 0.5).abs() - 0.32);
        let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
        if outside > 0.16 {
            return TRANSPARENT;
        }
        let in_envelope = (0.2..=0.8).contains(&x) && (0.3..=0.7).contains(&y);
        let on_flap = distance_to_segment((x, y), (0.2, 0.3), (0.5, 0.52)) < 0.03
            || distance_to_segment((x, y), (0.8, 0.3), (0.5, 0.52)) < 0.03;
        if in_envelope && !on_flap {
            WHITE
        } else if in_envelope {
            [160, 190, 240, 255]
        } else {
            // A gentle vertical gradient of blue.
            let shade = (40.0 + 40.0 * y) as u8;
            [shade, 100 + shade / 2, 220, 255]
        }
    })
}

/// A green disc with a white check mark: "it works".
pub(super) fn check_mark() -> Vec<u8> {
    draw(|x, y| {
        let radius = ((x - 0.5).powi(2) + (y - 0.5).powi(2)).sqrt();
        if radius > 0.47 {
            return TRANSPARENT;
        }
        let on_check = distance_to_segment((x, y), (0.27, 0.52), (0.43, 0.68)) < 0.055
            || distance_to_segment((x, y), (0.43, 0.68), (0.74, 0.34)) < 0.055;
        if on_check { WHITE } else { [46, 160, 90, 255] }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn generated_pngs_decode_with_the_image_crate() {
        for png in [envelope_logo(), check_mark()] {
            let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
                .unwrap()
                .to_rgba8();
            assert_eq!(image.dimensions(), (SIDE, SIDE));
            // The centre is opaque, the corner transparent.
            assert_eq!(image.get_pixel(SIDE / 2, SIDE / 2).0[3], 255);
            assert_eq!(image.get_pixel(0, 0).0[3], 0);
        }
        // More than one stored block.
        let big = encode_rgba(200, 100, &vec![7; 200 * 100 * 4]);
        let image = image::load_from_memory(&big).unwrap().to_rgba8();
        assert_eq!(image.get_pixel(199, 99).0, [7, 7, 7, 7]);
    }

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }
}
