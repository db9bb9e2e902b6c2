//! What a message list needs about a message, read once when it is stored.

use super::{Headers, parse};

/// Messages up to this size are parsed completely to find attachments;
/// larger ones are judged from their top-level content type.
pub const FULL_PARSE_LIMIT_BYTES: usize = 1024 * 1024;

/// The header fields and attachment mark of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Decoded, display-safe header fields.
    pub headers: Headers,
    /// True if the message has at least one attachment that is not an
    /// inline image of its HTML body.
    pub has_attachments: bool,
}

impl Summary {
    /// Summarises a message from its first bytes. `complete` says whether
    /// `prefix` is the whole message; a complete message of at most
    /// [`FULL_PARSE_LIMIT_BYTES`] is parsed fully, otherwise only its header
    /// section is read and a top-level `multipart/mixed` counts as having
    /// attachments.
    pub fn from_prefix(prefix: &[u8], complete: bool) -> Summary {
        if complete && !prefix.is_empty() && prefix.len() <= FULL_PARSE_LIMIT_BYTES {
            // The same answer as `Message::parse` (tests/mutated_corpus.rs
            // checks), for about half the work; under the same safety net.
            let summarized = std::panic::catch_unwind(|| {
                parse::summarize(prefix, &super::ParseLimits::default())
            });
            if let Ok(Some((headers, has_attachments))) = summarized {
                return Summary {
                    headers,
                    has_attachments,
                };
            }
        }
        match parse::parse_header_section(prefix) {
            Some((headers, mixed)) => Summary {
                headers,
                has_attachments: mixed,
            },
            None => Summary::default(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const WITH_ATTACHMENT: &[u8] = b"From: =?UTF-8?B?5byg5LiJ?= <zhang@example.cn>\r\n\
Subject: =?UTF-8?B?5bm05bqm5oql5ZGK?=\r\n\
Date: Sat, 21 Nov 2026 10:00:00 +0800\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--b\r\nContent-Type: application/pdf; name=r.pdf\r\nContent-Disposition: attachment; filename=r.pdf\r\n\r\n%PDF\r\n\
--b--\r\n";

    #[test]
    fn a_complete_small_message_is_parsed_fully() {
        let summary = Summary::from_prefix(WITH_ATTACHMENT, true);
        assert!(summary.has_attachments);
        assert_eq!(summary.headers.subject.as_deref(), Some("年度报告"));
        assert_eq!(summary.headers.from[0].name.as_deref(), Some("张三"));
        assert_eq!(summary.headers.date_unix, Some(1_795_226_400));
    }

    #[test]
    fn a_prefix_is_judged_by_its_headers() {
        let cut = &WITH_ATTACHMENT[..WITH_ATTACHMENT.len() - 40];
        let summary = Summary::from_prefix(cut, false);
        assert!(summary.has_attachments);
        assert_eq!(summary.headers.from[0].email, "zhang@example.cn");
    }

    #[test]
    fn multipart_alternative_has_no_attachments() {
        let message = b"From: a@b.c\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n";
        assert!(!Summary::from_prefix(message, true).has_attachments);
        assert!(!Summary::from_prefix(message, false).has_attachments);
    }

    #[test]
    fn garbage_gives_an_empty_summary_without_panicking() {
        let summary = Summary::from_prefix(b"\xff\xfe\x00garbage", false);
        assert!(summary.headers.subject.is_none());
    }
}
