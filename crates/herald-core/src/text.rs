//! Text hygiene for strings that come from mail or go into headers.
//!
//! Decoded headers from hostile mail can carry CR/LF (header injection when
//! re-used in a reply, RUSTSEC-2026-0564 in lettre 0.11.23), other control
//! characters, bidirectional overrides that make `exe.pdf` look like
//! `fdp.exe`, and zero-width characters that hide text. These helpers are the
//! one place that decides what is dangerous.

/// True for characters that change text direction (Unicode bidi controls).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// True for invisible characters that can hide or join text.
pub fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'
    )
}

/// True for any character that must not appear in a one-line display string
/// or a header value: C0/C1 controls (including CR, LF, TAB), bidi controls,
/// zero-width characters, and the Unicode line/paragraph separators.
pub fn is_unsafe_in_line(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_zero_width(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// True for the zero-width joiner and non-joiner, which emoji sequences
/// (👨‍👩‍👧) and Persian and Indic scripts need in display text.
pub fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Makes a decoded header value safe to show on one line: every unsafe
/// character (except the joiners, see [`is_joiner`]) becomes a space, runs of
/// whitespace collapse to one space, and the ends are trimmed.
pub fn neutralize_line(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        if (is_unsafe_in_line(c) && !is_joiner(c)) || c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    out
}

/// Makes body text safe to show: keeps `\n` and `\t`, turns `\r\n` and lone
/// `\r` into `\n`, drops other controls, bidi overrides and zero-width
/// characters.
pub fn neutralize_multiline(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\t' => out.push(c),
            c if is_unsafe_in_line(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Normalises line endings to CRLF: lone CR and lone LF both become CRLF.
///
/// Every body goes through this before lettre sees it, which mitigates
/// RUSTSEC-2026-0561 (no dot-stuffing after a bare CR or LF in 0.11.23).
pub fn normalize_crlf(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 16);
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_injection_in_header_becomes_one_line() {
        assert_eq!(
            neutralize_line("Hello\r\nBcc: victim@example.com"),
            "Hello Bcc: victim@example.com"
        );
    }

    #[test]
    fn bidi_override_is_removed_from_display_line() {
        assert_eq!(neutralize_line("invoice\u{202E}fdp.exe"), "invoice fdp.exe");
        assert_eq!(neutralize_line("a\u{200B}b"), "a b");
        assert_eq!(
            neutralize_line("👨\u{200D}👩\u{200D}👧"),
            "👨\u{200D}👩\u{200D}👧"
        );
    }

    #[test]
    fn multiline_keeps_newlines_and_drops_controls() {
        assert_eq!(
            neutralize_multiline("a\r\nb\rc\u{0007}d\u{202E}"),
            "a\nb\ncd"
        );
    }

    #[test]
    fn crlf_normalisation_handles_lone_cr_and_lf() {
        assert_eq!(normalize_crlf("a\rb\nc\r\nd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(normalize_crlf(".\n.\r"), ".\r\n.\r\n");
    }
}
