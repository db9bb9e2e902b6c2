//! Small, dependency-free URL helpers for untrusted mail HTML: what kind of
//! reference a `src`/`href` is, which host it names, and whether a link's
//! visible text pretends to go somewhere else.
//!
//! These are deliberately conservative: they decide what to *show*, never
//! what to fetch on their own (fetching happens only after the user asks).

/// What an image or resource reference points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind {
    /// `cid:` — a part of the same message (the content id, unescaped).
    Cid(String),
    /// `data:` — bytes inside the document.
    Data,
    /// A fragment (`#id`) or nothing: no resource at all.
    Local,
    /// Anything else: would leave the machine. `fetchable` holds the URL
    /// to GET when it is plain `http`/`https` (protocol-relative `//` is
    /// read as `https:`); other schemes are never fetched.
    Remote {
        /// The URL as written.
        url: String,
        /// The URL Herald may GET after the user allowed remote content.
        fetchable: Option<String>,
    },
}

/// Removes what browsers ignore inside URLs (ASCII whitespace and controls),
/// so `java\nscript:` is seen as `javascript:`.
pub fn clean(raw: &str) -> String {
    raw.trim()
        .chars()
        .filter(|c| !c.is_ascii_control() && !matches!(c, ' ' | '\u{a0}'))
        .collect()
}

/// The lowercase scheme of `url` (`https`, `mailto`…), if it has one.
pub fn scheme(url: &str) -> Option<String> {
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let valid = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// Classifies a `src`, `background`, CSS `url()` or `<link href>` value.
pub fn classify(raw: &str) -> RefKind {
    let url = clean(raw);
    if url.is_empty() || url.starts_with('#') {
        return RefKind::Local;
    }
    if url.starts_with("//") {
        return RefKind::Remote {
            fetchable: Some(format!("https:{url}")),
            url,
        };
    }
    match scheme(&url).as_deref() {
        Some("cid") => RefKind::Cid(percent_decode(&url[4..])),
        Some("data") => RefKind::Data,
        Some("http" | "https") => RefKind::Remote {
            fetchable: Some(url.clone()),
            url,
        },
        _ => RefKind::Remote {
            url,
            fetchable: None,
        },
    }
}

/// Undoes `%XX` escapes (content ids in `cid:` URLs, paths in `file:`
/// URIs); a `%` without two hex digits stays as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The host of an `http(s)://` or `//` URL, lowercase, without user info,
/// port or a leading `www.`; the domain of a `mailto:` address.
pub fn host(url: &str) -> Option<String> {
    let url = clean(url);
    let lower = url.to_ascii_lowercase();
    if let Some(address) = lower.strip_prefix("mailto:") {
        let address = address.split(['?', ',']).next().unwrap_or("");
        return address
            .rsplit_once('@')
            .map(|(_, domain)| normalize_host(domain));
    }
    let rest = match lower.find("://") {
        Some(pos) => &lower[pos + 3..],
        None => lower.strip_prefix("//")?,
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| format!("{h}]"))?
    } else {
        host_port.split(':').next().unwrap_or("").to_owned()
    };
    (!host.is_empty()).then(|| normalize_host(&host))
}

fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    host.strip_prefix("www.")
        .map_or(host.clone(), str::to_owned)
}

/// The host a link's *visible text* claims, when the text looks like a URL,
/// a bare domain (`www.bank.com`, `bank.com/login`) or an email address.
fn claimed_host(text: &str) -> Option<String> {
    let text = text.trim().trim_end_matches(['.', ',', ';', ':', '!', ')']);
    if text.is_empty() || text.chars().any(char::is_whitespace) || text.len() > 2048 {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//") {
        return host(&lower);
    }
    if lower.starts_with("mailto:") {
        return host(&lower);
    }
    if let Some((local, domain)) = lower.rsplit_once('@')
        && !local.is_empty()
        && looks_like_domain(domain)
    {
        return Some(normalize_host(domain));
    }
    let candidate = lower.split(['/', '?', '#']).next().unwrap_or("");
    looks_like_domain(candidate).then(|| normalize_host(candidate))
}

/// `label.label…tld` with a letter-only top-level domain of 2+ letters.
fn looks_like_domain(text: &str) -> bool {
    let mut labels = text.split('.').collect::<Vec<_>>();
    if labels.len() < 2 {
        return false;
    }
    let Some(tld) = labels.pop() else {
        return false;
    };
    tld.len() >= 2
        && tld.chars().all(|c| c.is_alphabetic())
        && labels.iter().all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

/// Why a link deserves a warning before it is opened, if it does: its text
/// shows another domain than the target, its target hides the real host
/// behind user info (`https://bank.com@evil.io/`), or uses punycode.
pub fn link_warning(visible_text: &str, target: &str) -> Option<String> {
    let target_host = host(target);
    let cleaned = clean(target);
    if let Some(pos) = cleaned.find("://") {
        let authority = cleaned[pos + 3..]
            .split(['/', '?', '#', '\\'])
            .next()
            .unwrap_or("");
        if authority.contains('@') {
            return Some(format!(
                "The address hides its real destination: it goes to {}",
                target_host.as_deref().unwrap_or("an unknown host")
            ));
        }
    }
    if let Some(shown) = claimed_host(visible_text) {
        let matches = target_host
            .as_deref()
            .is_some_and(|real| real == shown || real.ends_with(&format!(".{shown}")));
        if !matches {
            return Some(format!(
                "The text shows {shown}, but the link goes to {}",
                target_host.as_deref().unwrap_or("somewhere else")
            ));
        }
    }
    if let Some(real) = &target_host
        && real.split('.').any(|label| label.starts_with("xn--"))
    {
        return Some(format!(
            "The link goes to {real}, a name written with look-alike characters"
        ));
    }
    None
}

/// True for the only link schemes Herald will hand to the system: web and mail.
pub fn is_openable(url: &str) -> bool {
    matches!(
        scheme(&clean(url)).as_deref(),
        Some("http" | "https" | "mailto")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_are_undone_and_broken_ones_kept() {
        assert_eq!(percent_decode("My%20Photo%C3%A9.png"), "My Photoé.png");
        assert_eq!(percent_decode("100%zz%4"), "100%zz%4");
        assert_eq!(percent_decode("%41"), "A");
    }

    #[test]
    fn references_are_classified() {
        assert_eq!(classify("cid:logo%40x"), RefKind::Cid("logo@x".into()));
        assert_eq!(classify(" data:image/png;base64,AA"), RefKind::Data);
        assert_eq!(classify("#grad"), RefKind::Local);
        assert_eq!(
            classify("//cdn.example/x.png"),
            RefKind::Remote {
                url: "//cdn.example/x.png".into(),
                fetchable: Some("https://cdn.example/x.png".into())
            }
        );
        assert!(matches!(
            classify("images/a.png"),
            RefKind::Remote {
                fetchable: None,
                ..
            }
        ));
        assert!(matches!(
            classify("file:///etc/passwd"),
            RefKind::Remote {
                fetchable: None,
                ..
            }
        ));
    }

    #[test]
    fn hosts_ignore_user_info_ports_and_www() {
        assert_eq!(
            host("https://bank.com@evil.io:8080/x").as_deref(),
            Some("evil.io")
        );
        assert_eq!(
            host("http://WWW.Example.org/").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            host("mailto:ann@Example.org?subject=x").as_deref(),
            Some("example.org")
        );
    }

    #[test]
    fn deceptive_links_are_flagged() {
        assert!(link_warning("https://www.mybank.example/login", "http://127.0.0.1:9/p").is_some());
        assert!(link_warning("mybank.example", "https://evil.example/").is_some());
        assert!(link_warning("Click here", "https://bank.com@evil.io/").is_some());
        assert!(link_warning("paypal.com", "https://paypal.com.evil.io/").is_some());
        assert_eq!(
            link_warning("example.org", "https://www.example.org/a"),
            None
        );
        assert_eq!(
            link_warning("example.org", "https://news.example.org/a"),
            None
        );
        assert_eq!(link_warning("Read more", "https://example.org/a"), None);
        assert!(is_openable("mailto:a@b.c"));
        assert!(!is_openable("java\nscript:alert(1)"));
    }
}
