//! Turning an attachment name from hostile mail into one safe file name.
//!
//! The rules are deliberately exact (other code and tests predict the output
//! from them), and they are applied in this order:
//!
//! 1. keep only the basename, treating both `/` and `\` as separators;
//! 2. replace control, bidi, zero-width and line-separator characters and
//!    the characters Windows forbids (`<>:"|?*`) with `_`;
//! 3. trim whitespace, then trailing `.`/space (Windows drops them), then
//!    leading `.` (no hidden files, no `.` or `..`);
//! 4. an empty result becomes `attachment.<ext>` from the MIME type;
//! 5. Windows device names (`CON`, `nul.txt`, `COM1.tar.gz`…) get a `_` prefix;
//! 6. the result is cut to [`MAX_FILENAME_BYTES`] bytes, keeping a short
//!    extension and never splitting a character.

use crate::text::is_unsafe_in_line;

/// Longest file name [`sanitize_filename`] returns, in UTF-8 bytes.
///
/// Most file systems allow 255 bytes (ext4, APFS) or 255 UTF-16 units (NTFS);
/// 200 leaves room for the ` (9999)` that [`super::save_new_file`] may add to
/// avoid overwriting, and for the OS to append its own suffixes.
pub const MAX_FILENAME_BYTES: usize = 200;

/// Longest suffix (including the dot) that truncation keeps as an extension.
///
/// Longer "extensions" are usually just a sentence with a dot in it, and
/// keeping them would leave too little of the stem.
const MAX_KEPT_EXTENSION_BYTES: usize = 16;

/// Characters Windows refuses in file names (besides controls and separators).
const WINDOWS_FORBIDDEN: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

/// Returns a file name that is safe to create inside a folder the user chose.
///
/// `raw_name` is the decoded attachment name from the message (`None` when
/// the part has none); `content_type` is the part's MIME type and is only
/// used to pick an extension when no usable name is left. The result is
/// never empty, is a single path component on every platform, contains no
/// control, bidi or zero-width characters, does not start with `.` or end
/// with `.` or a space, is not a Windows device name, and is at most
/// [`MAX_FILENAME_BYTES`] bytes long.
///
/// This never fails: a name that sanitises to nothing becomes
/// `attachment.<ext>`, so the user can still save the part.
pub fn sanitize_filename(raw_name: Option<&str>, content_type: &str) -> String {
    // Rule 1: basename over both separators. Everything before the last
    // separator is the sender's idea of a location, which we never honour.
    let unified = raw_name.unwrap_or("").replace('\\', "/");
    let basename = unified.rsplit('/').next().unwrap_or("");

    // Rule 2: one `_` per dangerous character, so the visible shape stays.
    let replaced: String = basename
        .chars()
        .map(|c| {
            if is_unsafe_in_line(c) || WINDOWS_FORBIDDEN.contains(&c) {
                '_'
            } else {
                c
            }
        })
        .collect();

    // Rule 3: Windows silently drops trailing dots and spaces, so
    // `evil.exe.` would be saved as `evil.exe`; strip them ourselves so what
    // we show is what gets saved. Leading dots would hide the file on Unix.
    let trimmed = replaced
        .trim()
        .trim_end_matches(['.', ' '])
        .trim_start_matches('.');

    // Rule 4: nothing usable left.
    if trimmed.is_empty() {
        return fallback_name(content_type);
    }

    // Rule 5: Windows device names open the device, whatever the extension.
    let mut name = String::with_capacity(trimmed.len() + 1);
    let before_first_dot = trimmed.split('.').next().unwrap_or("");
    if is_windows_device_name(before_first_dot) {
        name.push('_');
    }
    name.push_str(trimmed);

    // Rule 6: bound the length.
    truncate_keeping_extension(name, content_type)
}

/// Returns the usual file extension (without a dot) for a MIME type.
///
/// Used to name attachments that arrive without a usable name, so the saved
/// file still opens in the right program. `content_type` may carry
/// parameters (`text/plain; charset=utf-8`); they are ignored, and case does
/// not matter. Common mail types come from a small explicit table (the
/// `mime_guess` reverse table lists extensions alphabetically, so its first
/// entry for `text/plain` or `application/octet-stream` is an odd one);
/// other types fall back to `mime_guess`, and anything unknown or odd-looking
/// becomes `bin`.
pub fn extension_for_mime_type(content_type: &str) -> &'static str {
    let essence = content_type
        .split_once(';')
        .map_or(content_type, |(essence, _params)| essence)
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/calendar" => "ics",
        "application/zip" => "zip",
        "message/rfc822" => "eml",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.ms-powerpoint" => "ppt",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        "application/json" => "json",
        "application/xml" | "text/xml" => "xml",
        "application/octet-stream" => "bin",
        // `type/*` and `*/*` make mime_guess return whole ranges of
        // extensions; the first of those means nothing.
        other if other.contains('*') => "bin",
        other => mime_guess::get_mime_extensions_str(other)
            .and_then(|extensions| extensions.first().copied())
            .filter(|ext| is_plain_extension(ext))
            .unwrap_or("bin"),
    }
}

/// `attachment.<ext>`, for parts whose name sanitises to nothing.
fn fallback_name(content_type: &str) -> String {
    format!("attachment.{}", extension_for_mime_type(content_type))
}

/// True for a short ASCII alphanumeric extension, the only kind we accept
/// from the `mime_guess` fallback.
fn is_plain_extension(ext: &str) -> bool {
    (1..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// True if Windows would open a device instead of a file for a name whose
/// part before the first dot is `stem`.
///
/// Windows ignores trailing spaces here (`AUX  .txt` is `AUX`) and also
/// treats the superscript digits ¹²³ as digits for `COM` and `LPT`.
fn is_windows_device_name(stem: &str) -> bool {
    const DEVICES: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"];
    let stem = stem.trim_end_matches(' ');
    if DEVICES
        .iter()
        .any(|device| stem.eq_ignore_ascii_case(device))
    {
        return true;
    }
    let Some((prefix, rest)) = stem.split_at_checked(3) else {
        return false;
    };
    let mut rest_chars = rest.chars();
    let (Some(digit), None) = (rest_chars.next(), rest_chars.next()) else {
        return false;
    };
    (prefix.eq_ignore_ascii_case("COM") || prefix.eq_ignore_ascii_case("LPT"))
        && matches!(digit, '0'..='9' | '¹' | '²' | '³')
}

/// Cuts `name` to [`MAX_FILENAME_BYTES`], keeping a short extension so the
/// file still opens in the right program.
///
/// When no extension is kept, trailing dots and spaces uncovered by the cut
/// are stripped again, so the result still meets rule 3 (Windows would drop
/// them and save under a different name).
fn truncate_keeping_extension(name: String, content_type: &str) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name;
    }
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_KEPT_EXTENSION_BYTES => name.split_at(dot),
        _ => (name.as_str(), ""),
    };
    let stem_budget = MAX_FILENAME_BYTES - extension.len();
    let mut cut = stem_budget.min(stem.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut kept_stem = &stem[..cut];
    if extension.is_empty() {
        kept_stem = kept_stem.trim_end_matches(['.', ' ']);
    }
    if kept_stem.is_empty() {
        return fallback_name(content_type);
    }
    let mut out = String::with_capacity(kept_stem.len() + extension.len());
    out.push_str(kept_stem);
    out.push_str(extension);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OCTET: &str = "application/octet-stream";

    fn sanitize(raw: &str) -> String {
        sanitize_filename(Some(raw), OCTET)
    }

    /// Everything the module doc promises about any output.
    fn assert_safe(raw: &str, out: &str) {
        let why = format!("input {raw:?} gave {out:?}");
        assert!(!out.is_empty(), "{why}");
        assert!(out.len() <= MAX_FILENAME_BYTES, "{why}");
        assert!(!out.contains(['/', '\\']), "{why}");
        assert!(!out.contains(WINDOWS_FORBIDDEN), "{why}");
        assert!(!out.chars().any(is_unsafe_in_line), "{why}");
        assert!(!out.starts_with('.'), "{why}");
        assert!(!out.ends_with(['.', ' ']), "{why}");
        assert!(out != "." && out != "..", "{why}");
        assert!(
            !is_windows_device_name(out.split('.').next().unwrap_or("")),
            "{why}"
        );
        let components: Vec<_> = std::path::Path::new(out).components().collect();
        assert!(
            matches!(components.as_slice(), [std::path::Component::Normal(c)] if *c == out),
            "{why}"
        );
    }

    // ---- the examples from the specification ----

    #[test]
    fn relative_traversal_keeps_only_the_basename() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
    }

    #[test]
    fn windows_absolute_path_keeps_only_the_basename() {
        assert_eq!(sanitize("C:\\Windows\\System32\\evil.dll"), "evil.dll");
    }

    #[test]
    fn drive_relative_name_loses_its_colon() {
        assert_eq!(sanitize("C:evil.exe"), "C_evil.exe");
    }

    #[test]
    fn unc_path_keeps_only_the_basename() {
        assert_eq!(sanitize("\\\\server\\share\\x.txt"), "x.txt");
    }

    #[test]
    fn unix_absolute_path_keeps_only_the_basename() {
        assert_eq!(sanitize("/etc/shadow"), "shadow");
    }

    #[test]
    fn bidi_override_cannot_disguise_the_extension() {
        assert_eq!(sanitize("invoice\u{202E}gpj.exe"), "invoice_gpj.exe");
    }

    #[test]
    fn nul_byte_is_replaced() {
        assert_eq!(sanitize("a\0b.txt"), "a_b.txt");
    }

    #[test]
    fn dot_dot_becomes_generic_name_from_mime_type() {
        assert_eq!(sanitize(".."), "attachment.bin");
    }

    #[test]
    fn empty_name_becomes_generic_name_from_mime_type() {
        assert_eq!(sanitize_filename(Some(""), "image/png"), "attachment.png");
    }

    #[test]
    fn missing_name_becomes_generic_name_from_mime_type() {
        assert_eq!(sanitize_filename(None, "application/pdf"), "attachment.pdf");
        assert_eq!(sanitize_filename(None, OCTET), "attachment.bin");
    }

    #[test]
    fn device_name_with_extension_is_prefixed() {
        assert_eq!(sanitize("CON.txt"), "_CON.txt");
    }

    #[test]
    fn trailing_dot_is_stripped_like_windows_would() {
        assert_eq!(sanitize("report.pdf."), "report.pdf");
        assert_eq!(sanitize("evil.exe."), "evil.exe");
        assert_eq!(sanitize("evil.exe . . "), "evil.exe");
    }

    #[test]
    fn leading_dot_cannot_make_a_hidden_file() {
        assert_eq!(sanitize(".bashrc"), "bashrc");
        assert_eq!(sanitize("...profile"), "profile");
    }

    #[test]
    fn long_cjk_name_is_cut_on_a_char_boundary_and_keeps_pdf() {
        let raw = format!("{}.pdf", "报告".repeat(50)); // 300 + 4 bytes
        assert!(raw.len() > 300);
        let out = sanitize(&raw);
        assert!(out.len() <= MAX_FILENAME_BYTES, "{} bytes", out.len());
        assert!(out.ends_with(".pdf"));
        assert!(out.starts_with("报告报告"));
        // Each CJK char is 3 bytes: 196 bytes of stem budget hold 65 chars.
        assert_eq!(out.chars().count(), 65 + 4);
        assert_eq!(out.len(), 65 * 3 + 4);
        assert_safe(&raw, &out);
    }

    #[test]
    fn windows_forbidden_question_mark_is_replaced() {
        assert_eq!(sanitize("what?.txt"), "what_.txt");
    }

    // ---- traversal strings as they look after MIME decoding ----

    #[test]
    fn decoded_traversal_strings_stay_inside() {
        let cases = [
            ("..\\..\\..\\windows\\win.ini", "win.ini"),
            (
                "../../../../../../root/.ssh/authorized_keys",
                "authorized_keys",
            ),
            ("..%2f..%2fetc%2fpasswd", "%2f..%2fetc%2fpasswd"),
            ("foo/../../bar.txt", "bar.txt"),
            ("a/b/", "attachment.bin"),
            ("/", "attachment.bin"),
            ("\\", "attachment.bin"),
            ("./.", "attachment.bin"),
            ("...", "attachment.bin"),
            ("\\\\?\\C:\\x.txt", "x.txt"),
            ("\\\\.\\PhysicalDrive0", "PhysicalDrive0"),
            ("\\attacker\\x.lnk", "x.lnk"),
            ("C:WindowsSystem32evil.dll", "C_WindowsSystem32evil.dll"),
            ("file.txt:Zone.Identifier", "file.txt_Zone.Identifier"),
            ("~/.bashrc", "bashrc"),
        ];
        for (raw, expected) in cases {
            let out = sanitize(raw);
            assert_eq!(out, expected, "input {raw:?}");
            assert_safe(raw, &out);
        }
    }

    #[test]
    fn leading_dots_after_the_basename_step_are_stripped_too() {
        // `..%2f` is not decoded by us (MIME decoding already happened), but
        // its leading dots must still go.
        assert_eq!(sanitize("..%2fx"), "%2fx");
    }

    // ---- character classes ----

    #[test]
    fn control_characters_each_become_one_underscore() {
        assert_eq!(sanitize("a\tb\r\nc\u{7F}d\u{85}e.txt"), "a_b__c_d_e.txt");
        assert_eq!(sanitize("bell\u{7}.wav"), "bell_.wav");
    }

    #[test]
    fn bidi_controls_of_every_kind_are_replaced() {
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            let raw = format!("x{c}y.pdf");
            assert_eq!(sanitize(&raw), "x_y.pdf", "bidi {:04X}", c as u32);
        }
    }

    #[test]
    fn zero_width_and_line_separators_are_replaced() {
        assert_eq!(sanitize("pay\u{200B}pal.html"), "pay_pal.html");
        assert_eq!(sanitize("a\u{200D}b\u{FEFF}c\u{2060}d.txt"), "a_b_c_d.txt");
        assert_eq!(sanitize("a\u{2028}b\u{2029}c.txt"), "a_b_c.txt");
        assert_eq!(sanitize("soft\u{AD}hyphen.txt"), "soft_hyphen.txt");
    }

    #[test]
    fn every_windows_forbidden_character_is_replaced() {
        assert_eq!(sanitize("a<b>c:d\"e|f?g*h.txt"), "a_b_c_d_e_f_g_h.txt");
    }

    #[test]
    fn only_control_characters_trim_to_underscores_not_to_nothing() {
        // Replaced characters are `_`, which rule 3 does not trim.
        assert_eq!(sanitize("\u{202E}\u{200B}"), "__");
    }

    #[test]
    fn whitespace_is_trimmed_at_both_ends() {
        assert_eq!(sanitize("  report.pdf  "), "report.pdf");
        assert_eq!(sanitize("\u{3000}report.pdf\u{A0}"), "report.pdf");
        assert_eq!(sanitize("   "), "attachment.bin");
    }

    #[test]
    fn whitespace_uncovered_by_stripping_leading_dots_is_kept() {
        // Rule 3 trims whitespace first, then dots; that order is the spec.
        assert_eq!(sanitize(". x.txt"), " x.txt");
    }

    // ---- Windows device names ----

    #[test]
    fn device_names_are_prefixed_whatever_the_case_or_extension() {
        let cases = [
            ("nul", "_nul"),
            ("NUL", "_NUL"),
            ("prn.pdf", "_prn.pdf"),
            ("Aux.txt", "_Aux.txt"),
            ("com1.tar.gz", "_com1.tar.gz"),
            ("COM0", "_COM0"),
            ("LPT9", "_LPT9"),
            ("lpt1.log", "_lpt1.log"),
            ("Aux  .txt", "_Aux  .txt"),
            ("con .txt", "_con .txt"),
            ("COM\u{B9}.txt", "_COM\u{B9}.txt"),
            ("lpt\u{B2}", "_lpt\u{B2}"),
            ("COM\u{B3}", "_COM\u{B3}"),
            ("CONIN$", "_CONIN$"),
            ("conout$.txt", "_conout$.txt"),
            ("CON.", "_CON"),
            ("CON:", "CON_"),
        ];
        for (raw, expected) in cases {
            let out = sanitize(raw);
            assert_eq!(out, expected, "input {raw:?}");
            assert_safe(raw, &out);
        }
    }

    #[test]
    fn names_that_only_resemble_devices_are_left_alone() {
        for raw in [
            "CONSOLE.txt",
            "icon.png",
            "COM10",
            "LPT",
            "COM",
            "COM\u{2074}.txt",
            "nul_file",
            "auxiliary.doc",
            "x.CON",
            "CONIN",
        ] {
            assert_eq!(sanitize(raw), raw, "input {raw:?}");
        }
    }

    // ---- length ----

    #[test]
    fn long_ascii_name_keeps_its_extension_and_fits() {
        let raw = format!("{}.docx", "a".repeat(400));
        let out = sanitize(&raw);
        assert_eq!(out.len(), MAX_FILENAME_BYTES);
        assert_eq!(out, format!("{}.docx", "a".repeat(195)));
    }

    #[test]
    fn name_at_exactly_the_limit_is_unchanged() {
        let raw = format!("{}.txt", "b".repeat(MAX_FILENAME_BYTES - 4));
        assert_eq!(sanitize(&raw), raw);
        let raw = format!("{}.txt", "b".repeat(MAX_FILENAME_BYTES - 3));
        assert_eq!(sanitize(&raw).len(), MAX_FILENAME_BYTES);
    }

    #[test]
    fn long_extension_is_not_kept_when_truncating() {
        // The suffix after the last dot is 17 bytes: not an extension.
        let raw = format!("{}.{}", "s".repeat(300), "e".repeat(16));
        let out = sanitize(&raw);
        assert_eq!(out, "s".repeat(MAX_FILENAME_BYTES));
    }

    #[test]
    fn sixteen_byte_extension_is_kept_when_truncating() {
        let ext = format!(".{}", "e".repeat(15));
        let raw = format!("{}{ext}", "s".repeat(300));
        let out = sanitize(&raw);
        assert_eq!(out.len(), MAX_FILENAME_BYTES);
        assert!(out.ends_with(&ext));
    }

    #[test]
    fn long_name_without_dot_is_cut_on_a_char_boundary() {
        let raw = "é".repeat(150); // 300 bytes of 2-byte chars
        let out = sanitize(&raw);
        assert_eq!(out, "é".repeat(100));
        let raw = format!("x{}", "€".repeat(100)); // 1 + 300 bytes, 3-byte chars
        let out = sanitize(&raw);
        assert_eq!(out.len(), 199);
        assert_safe(&raw, &out);
    }

    #[test]
    fn long_emoji_name_is_cut_between_characters() {
        let raw = format!("{}.png", "😀".repeat(80)); // 4-byte chars
        let out = sanitize(&raw);
        assert!(out.ends_with(".png"));
        assert_eq!(out.len(), 49 * 4 + 4);
        assert_safe(&raw, &out);
    }

    #[test]
    fn device_prefix_is_counted_in_the_length_limit() {
        let raw = format!("CON.{}", "x".repeat(250));
        let out = sanitize(&raw);
        assert!(out.starts_with("_CON."));
        assert_eq!(out.len(), MAX_FILENAME_BYTES);
    }

    #[test]
    fn truncation_does_not_leave_a_trailing_dot_or_space() {
        let raw = format!("{}. {}", "a".repeat(198), "b".repeat(100));
        let out = sanitize(&raw);
        assert_eq!(out, "a".repeat(198));
    }

    #[test]
    fn long_traversal_name_is_still_reduced_to_its_basename_first() {
        let raw = format!("{}/{}.pdf", "../".repeat(200), "報".repeat(100));
        let out = sanitize(&raw);
        assert!(out.ends_with(".pdf") && out.starts_with('報'));
        assert_safe(&raw, &out);
    }

    // ---- mixed and international names ----

    #[test]
    fn international_and_emoji_names_are_kept() {
        for raw in [
            "Рахунок №5.pdf",
            "請求書 2024年.xlsx",
            "Ünïcödé façade.txt",
            "🎉 party 🎂.jpg",
            "👨‍👩‍👧.png",
            "שלום.docx",
        ] {
            let out = sanitize(raw);
            assert_safe(raw, &out);
            if !raw.contains('\u{200D}') {
                assert_eq!(out, raw);
            }
        }
        // The zero-width joiner inside a family emoji is replaced too: it is
        // also how hidden text is smuggled, and the name stays readable.
        assert_eq!(sanitize("👨\u{200D}👩.png"), "👨_👩.png");
    }

    #[test]
    fn mixed_attack_is_fully_neutralised() {
        let raw = "..\\..\\C:\\Users\\Public\\ .\u{202E}\u{200B}COM1 .exe. . ";
        let out = sanitize(raw);
        assert_eq!(out, "__COM1 .exe");
        assert_safe(raw, &out);
    }

    #[test]
    fn pseudo_random_hostile_names_always_come_out_safe() {
        const ALPHABET: &[&str] = &[
            "a",
            "Z",
            "0",
            ".",
            "..",
            " ",
            "/",
            "\\",
            ":",
            "*",
            "?",
            "\"",
            "<",
            ">",
            "|",
            "\0",
            "\r\n",
            "\t",
            "\u{85}",
            "\u{202E}",
            "\u{2066}",
            "\u{200B}",
            "\u{FEFF}",
            "\u{2028}",
            "\u{3000}",
            "\u{A0}",
            "CON",
            "nul",
            "com1",
            "LPT\u{B9}",
            "conin$",
            "报",
            "😀",
            "é",
            ".exe",
            "~",
            "$",
            "%2f",
        ];
        // A fixed linear congruential generator: reproducible, no dependency.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for _ in 0..20_000 {
            let len = next() % 12 + if next() % 50 == 0 { 150 } else { 0 };
            let raw: String = (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect();
            let out = sanitize(&raw);
            assert_safe(&raw, &out);
        }
    }

    // ---- MIME type to extension ----

    #[test]
    fn common_mime_types_map_to_their_usual_extension() {
        let cases = [
            ("image/png", "png"),
            ("image/jpeg", "jpg"),
            ("image/gif", "gif"),
            ("image/webp", "webp"),
            ("image/svg+xml", "svg"),
            ("application/pdf", "pdf"),
            ("text/plain", "txt"),
            ("text/html", "html"),
            ("text/csv", "csv"),
            ("text/calendar", "ics"),
            ("application/zip", "zip"),
            ("message/rfc822", "eml"),
            ("application/msword", "doc"),
            (
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "docx",
            ),
            (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            (
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "pptx",
            ),
            ("application/vnd.ms-excel", "xls"),
            ("audio/mpeg", "mp3"),
            ("video/mp4", "mp4"),
            ("application/json", "json"),
            ("application/xml", "xml"),
            ("text/xml", "xml"),
            ("application/octet-stream", "bin"),
        ];
        for (mime, ext) in cases {
            assert_eq!(extension_for_mime_type(mime), ext, "{mime}");
        }
    }

    #[test]
    fn mime_type_parameters_and_case_are_ignored() {
        assert_eq!(
            extension_for_mime_type("Text/Plain; charset=\"utf-8\""),
            "txt"
        );
        assert_eq!(extension_for_mime_type("  IMAGE/PNG ;name=x.exe"), "png");
        assert_eq!(
            sanitize_filename(Some(".."), "text/calendar; method=REQUEST"),
            "attachment.ics"
        );
    }

    #[test]
    fn uncommon_mime_types_fall_back_to_mime_guess() {
        assert_eq!(extension_for_mime_type("application/rtf"), "rtf");
        assert_eq!(extension_for_mime_type("application/x-7z-compressed"), "7z");
    }

    #[test]
    fn unknown_or_malformed_mime_types_give_bin() {
        for mime in [
            "",
            "garbage",
            "x-unknown/x-unknown",
            "image/*",
            "*/*",
            "/",
            "application/",
            "\u{202E}/\u{0}",
        ] {
            assert_eq!(extension_for_mime_type(mime), "bin", "{mime:?}");
        }
    }
}
