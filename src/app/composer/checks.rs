//! What is checked before sending: a forgotten attachment, the size.

use crate::app::text::format_size;

/// Words that say "there is an attachment", lowercase. Latin and Cyrillic
/// stems must start a word; CJK words are matched anywhere.
const ATTACHMENT_WORDS: &[&str] = &[
    // English
    "attach",
    "enclosed",
    // French
    "pièce jointe",
    "pièces jointes",
    "piece jointe",
    "ci-joint",
    "ci-inclus",
    // German
    "anhang",
    "angehängt",
    "anbei",
    // Spanish
    "adjunt",
    // Portuguese
    "anexo",
    "anexad",
    "anexei",
    "em anexo",
    // Italian
    "allegat",
    "allego",
    // Dutch
    "bijlage",
    "bijgevoegd",
    // Swedish, Danish, Norwegian
    "bilaga",
    "bilag",
    "vedlagt",
    // Polish
    "załącz",
    "w załączeniu",
    // Czech
    "příloh",
    // Russian, Ukrainian
    "вложени",
    "прикреп",
    "вкладен",
    // Chinese, Japanese, Korean
    "附件",
    "附上",
    "添付",
    "첨부",
];

/// The attachment word the person wrote, if any, ignoring quoted lines
/// (`>`), the signature (after `-- `) and a forwarded message's text.
pub fn mentions_attachment(text: &str) -> Option<&'static str> {
    let own = own_text(text);
    let lower = own.to_lowercase();
    ATTACHMENT_WORDS
        .iter()
        .copied()
        .find(|word| contains_word_start(&lower, word))
}

/// The lines the person wrote in this message.
fn own_text(text: &str) -> String {
    let mut own = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_end_matches('\r');
        if trimmed == "-- " || trimmed.starts_with(super::reply::FORWARD_MARKER) {
            break;
        }
        if trimmed.trim_start().starts_with('>') {
            continue;
        }
        own.push_str(trimmed);
        own.push('\n');
    }
    own
}

fn contains_word_start(haystack: &str, word: &str) -> bool {
    let cjk = word.chars().next().is_some_and(is_cjk);
    haystack.match_indices(word).any(|(at, _)| {
        cjk || haystack[..at]
            .chars()
            .next_back()
            .is_none_or(|before| !before.is_alphanumeric())
    })
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Many providers refuse messages over this, whatever their SIZE says.
pub const COMMON_LIMIT_BYTES: u64 = 25 * 1000 * 1000;

/// The size of `bytes` once base64-encoded in 76-character lines with CRLF.
pub fn base64_size(bytes: u64) -> u64 {
    let encoded = bytes.div_ceil(3) * 4;
    encoded + encoded.div_ceil(76) * 2
}

/// A warning when a message of about `encoded_bytes` is over the SMTP
/// server's SIZE limit (when the window has learnt it) or over the common
/// 25 MB that many receiving servers enforce whatever the sender's allows.
pub fn size_warning(encoded_bytes: u64, server_limit: Option<u64>) -> Option<String> {
    let size = format_size(encoded_bytes);
    if let Some(limit) = server_limit.filter(|&limit| limit > 0)
        && encoded_bytes > limit
    {
        return Some(format!(
            "This message is about {size} once encoded, over the server's limit of {}: \
             the server will refuse it.",
            format_size(limit)
        ));
    }
    (encoded_bytes > COMMON_LIMIT_BYTES).then(|| {
        format!("This message is about {size} once encoded; many mail servers refuse messages over 25 MB.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_reminder_in_many_languages() {
        for (text, word) in [
            ("Please see attached.", "attach"),
            ("I attach the report", "attach"),
            ("The attachment has the numbers", "attach"),
            ("Enclosed is my CV", "enclosed"),
            ("Voir la pièce jointe.", "pièce jointe"),
            ("Ci-joint le devis", "ci-joint"),
            ("Im Anhang findest du", "anhang"),
            ("Ich habe es angehängt", "angehängt"),
            ("Te envío el archivo adjunto", "adjunt"),
            ("Segue em anexo", "anexo"),
            ("In allegato il file", "allegat"),
            ("Zie de bijlage", "bijlage"),
            ("Во вложении отчёт", "вложени"),
            ("Я прикрепил файл", "прикреп"),
            ("请查看附件", "附件"),
            ("ファイルを添付します", "添付"),
            ("파일을 첨부합니다", "첨부"),
            ("W załączniku przesyłam", "załącz"),
            ("Załączam fakturę", "załącz"),
        ] {
            assert_eq!(mentions_attachment(text), Some(word), "{text}");
        }
    }

    #[test]
    fn no_reminder_for_ordinary_text() {
        for text in [
            "Hello, lunch tomorrow at noon?",
            "The alleged attack was reattached… no: detached.",
            "Allegedly fine.",
            "Il a joint le groupe.",
            "Hanging out later",
            "",
        ] {
            assert_eq!(mentions_attachment(text), None, "{text}");
        }
    }

    #[test]
    fn quoted_text_and_signature_do_not_count() {
        let text = "Thanks, will do.\n\nOn Monday, Ann wrote:\n> see attached file\n-- \nAnn\nAttachments welcome";
        assert_eq!(mentions_attachment(text), None);
    }

    #[test]
    fn size_math() {
        assert_eq!(base64_size(0), 0);
        assert_eq!(base64_size(3), 4 + 2);
        assert_eq!(base64_size(57), 76 + 2);
        assert_eq!(base64_size(58), 80 + 4);
        // 18 MB of files is ~24.3 MB encoded: under 25 MB, over a 20 MB server.
        let encoded = base64_size(18_000_000);
        assert!((24_000_000..25_000_000).contains(&encoded), "{encoded}");
        assert_eq!(size_warning(encoded, None), None);
        let warning = size_warning(encoded, Some(20_000_000)).expect("over SIZE");
        assert!(
            warning.contains(&format!(
                "over the server's limit of {}",
                format_size(20_000_000)
            )),
            "{warning}"
        );
        // 19 MB -> 25.6 MB encoded: over the common limit even with a big SIZE…
        let big = base64_size(19_000_000);
        let warning = size_warning(big, Some(50_000_000)).expect("over 25 MB");
        assert!(
            warning.contains("many mail servers refuse messages over 25 MB"),
            "{warning}"
        );
        assert_eq!(size_warning(big, None), Some(warning));
        // …and a server that allows less says so, not the common limit.
        let warning = size_warning(big, Some(10_240_000)).expect("over SIZE");
        assert!(
            warning.contains("the server's limit of 9.8 MB"),
            "{warning}"
        );
        assert_eq!(size_warning(10, Some(0)), None);
    }
}
