//! Remote images for the reader, fetched in background jobs once the user
//! allowed it, and decoded there by [`crate::app::html_view::images`]. Nothing here
//! touches egui textures (those are made on the UI thread).

use std::io::Read;
use std::time::Duration;

use crate::app::html_view::images::decode_mail_image;
/// A remote image larger than this is not downloaded further.
pub const MAX_REMOTE_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// At most this many remote images are fetched for one message.
pub const MAX_REMOTE_IMAGES: usize = 50;
/// Each remote fetch (connect, redirects, body) must end within this.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(10);

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
    decode_mail_image(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_fetches_only_http_and_https_images() {
        assert!(fetch_image(&remote_agent(), "file:///etc/passwd").is_err());
        assert!(fetch_image(&remote_agent(), "ftp://example.org/a.png").is_err());
    }
}
