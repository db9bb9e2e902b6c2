//! Content-Transfer-Encoding (RFC 2045 §6) decoding, streamed to a writer.
//!
//! We decode attachment bytes ourselves instead of using mail-parser's
//! `contents()`: for `text/*` parts that returns charset-converted text, and
//! saving it would corrupt a windows-1252 CSV or a log with NUL bytes. The
//! decoders are lenient in the way mail readers must be (junk characters are
//! skipped, broken escapes are kept as they are) and report whether they met
//! anything malformed.

use std::io::{self, Write};

use base64::Engine as _;

/// The transfer encoding of a part body, as declared in its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEncoding {
    /// `7bit` (also the default when the header is missing).
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `quoted-printable` (RFC 2045 §6.7).
    QuotedPrintable,
    /// `base64` (RFC 2045 §6.8).
    Base64,
    /// Anything else (`x-uuencode`…): the body is passed through unchanged.
    Other(String),
}

impl TransferEncoding {
    /// Parses a `Content-Transfer-Encoding` header value.
    pub fn from_header(value: Option<&str>) -> Self {
        let Some(value) = value else {
            return Self::SevenBit;
        };
        let value = value.trim().to_ascii_lowercase();
        match value.as_str() {
            "" | "7bit" => Self::SevenBit,
            "8bit" => Self::EightBit,
            "binary" => Self::Binary,
            "quoted-printable" => Self::QuotedPrintable,
            "base64" => Self::Base64,
            _ => Self::Other(crate::text::neutralize_line(&value)),
        }
    }

    /// The lowercase token, as it would appear in a header.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SevenBit => "7bit",
            Self::EightBit => "8bit",
            Self::Binary => "binary",
            Self::QuotedPrintable => "quoted-printable",
            Self::Base64 => "base64",
            Self::Other(token) => token,
        }
    }
}

/// What a decode produced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeOutcome {
    /// Number of decoded bytes written.
    pub size_bytes: u64,
    /// True when the input had something a strict decoder would refuse.
    pub had_problems: bool,
}

const CHUNK_BYTES: usize = 64 * 1024;

/// Decodes `input` according to `encoding` and writes the bytes to `out` in
/// chunks, so memory does not grow with the size of the part.
pub fn decode_to(
    encoding: &TransferEncoding,
    input: &[u8],
    out: &mut dyn Write,
) -> io::Result<DecodeOutcome> {
    match encoding {
        TransferEncoding::Base64 => decode_base64(input, out),
        TransferEncoding::QuotedPrintable => decode_quoted_printable(input, out),
        _ => {
            for chunk in input.chunks(CHUNK_BYTES) {
                out.write_all(chunk)?;
            }
            Ok(DecodeOutcome {
                size_bytes: input.len() as u64,
                had_problems: false,
            })
        }
    }
}

/// Decodes into a new vector (for small parts and tests).
pub fn decode_to_vec(encoding: &TransferEncoding, input: &[u8]) -> (Vec<u8>, DecodeOutcome) {
    let mut out = Vec::with_capacity(input.len());
    // Writing into a Vec cannot fail.
    let outcome = decode_to(encoding, input, &mut out).unwrap_or_default();
    (out, outcome)
}

/// A writer that only counts, for sizes without keeping bytes.
#[derive(Debug, Default)]
pub struct CountingSink {
    /// Bytes written so far.
    pub size_bytes: u64,
}

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.size_bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn base64_value(byte: u8) -> Option<u32> {
    match byte {
        b'A'..=b'Z' => Some(u32::from(byte - b'A')),
        b'a'..=b'z' => Some(u32::from(byte - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(byte - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// RFC 2045 §6.8: characters outside the alphabet are ignored; `=` ends a
/// quantum (so concatenated padded blocks decode as a reader expects).
fn decode_base64(input: &[u8], out: &mut dyn Write) -> io::Result<DecodeOutcome> {
    let mut buffer = Vec::with_capacity(CHUNK_BYTES.min(input.len()) + 3);
    let mut outcome = DecodeOutcome::default();
    let mut state = Base64State::default();
    for line in input.split_inclusive(|&b| b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        // Fast path: a whole well-formed line (the usual 76 characters) at a
        // quantum boundary decodes in one call. Anything else (padding, junk,
        // odd lengths) takes the lenient byte-by-byte path.
        let mut done = false;
        if state.sextets == 0
            && !content.is_empty()
            && content.len() % 4 == 0
            && !content.contains(&b'=')
        {
            let start = buffer.len();
            buffer.resize(start + content.len() / 4 * 3, 0);
            match BASE64_STRICT.decode_slice_unchecked(content, &mut buffer[start..]) {
                Ok(written) => {
                    buffer.truncate(start + written);
                    done = true;
                }
                Err(_) => buffer.truncate(start),
            }
        }
        if !done {
            state.decode_lenient(line, &mut buffer, &mut outcome);
        }
        if buffer.len() >= CHUNK_BYTES {
            out.write_all(&buffer)?;
            outcome.size_bytes += buffer.len() as u64;
            buffer.clear();
        }
    }
    if state.sextets != 0 {
        // Missing padding: decode what is there, but note it.
        flush_partial_quantum(&mut buffer, state.quantum, state.sextets, &mut outcome);
        outcome.had_problems = true;
    }
    out.write_all(&buffer)?;
    outcome.size_bytes += buffer.len() as u64;
    Ok(outcome)
}

/// The standard alphabet, used only on lines with no padding and no junk.
const BASE64_STRICT: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A partial quantum carried between lines by the lenient decoder.
#[derive(Default)]
struct Base64State {
    quantum: u32,
    sextets: u8,
}

impl Base64State {
    fn decode_lenient(&mut self, input: &[u8], buffer: &mut Vec<u8>, outcome: &mut DecodeOutcome) {
        for &byte in input {
            if let Some(value) = base64_value(byte) {
                self.quantum = (self.quantum << 6) | value;
                self.sextets += 1;
                if self.sextets == 4 {
                    let q = self.quantum;
                    buffer.extend_from_slice(&[(q >> 16) as u8, (q >> 8) as u8, q as u8]);
                    self.quantum = 0;
                    self.sextets = 0;
                }
            } else if byte == b'=' {
                flush_partial_quantum(buffer, self.quantum, self.sextets, outcome);
                self.quantum = 0;
                self.sextets = 0;
            } else if !matches!(byte, b'\r' | b'\n' | b' ' | b'\t') {
                outcome.had_problems = true;
            }
        }
    }
}

fn flush_partial_quantum(
    buffer: &mut Vec<u8>,
    quantum: u32,
    sextets: u8,
    outcome: &mut DecodeOutcome,
) {
    match sextets {
        2 => buffer.push((quantum >> 4) as u8),
        3 => buffer.extend_from_slice(&[(quantum >> 10) as u8, (quantum >> 2) as u8]),
        1 => outcome.had_problems = true,
        _ => {}
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// RFC 2045 §6.7: `=XY` is a byte, `=` at the end of a line is a soft line
/// break, trailing spaces and tabs before a line break were added in transit
/// and are removed, a broken `=` escape is kept literally. Hard line breaks are
/// kept exactly as they appear (CRLF stays CRLF).
fn decode_quoted_printable(input: &[u8], out: &mut dyn Write) -> io::Result<DecodeOutcome> {
    let mut buffer = Vec::with_capacity(CHUNK_BYTES.min(input.len()) + 3);
    let mut outcome = DecodeOutcome::default();
    let mut lines = input.split_inclusive(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let (content, line_break) = split_line_break(line);
        let content = trim_trailing_blanks(content);
        let mut i = 0;
        let mut soft_break = false;
        while i < content.len() {
            let byte = content[i];
            if byte != b'=' {
                buffer.push(byte);
                i += 1;
                continue;
            }
            if i + 1 == content.len() {
                soft_break = true;
                i += 1;
                continue;
            }
            match (
                content.get(i + 1).copied().and_then(hex_value),
                content.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(high), Some(low)) => {
                    buffer.push(high << 4 | low);
                    i += 3;
                }
                _ => {
                    outcome.had_problems = true;
                    buffer.push(b'=');
                    i += 1;
                }
            }
        }
        if !soft_break {
            buffer.extend_from_slice(line_break);
        } else if line_break.is_empty() && lines.peek().is_none() {
            // A trailing `=` with nothing after it: the body was cut short.
            outcome.had_problems = true;
        }
        if buffer.len() >= CHUNK_BYTES {
            out.write_all(&buffer)?;
            outcome.size_bytes += buffer.len() as u64;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
    outcome.size_bytes += buffer.len() as u64;
    Ok(outcome)
}

fn split_line_break(line: &[u8]) -> (&[u8], &[u8]) {
    if let Some(content) = line.strip_suffix(b"\r\n") {
        (content, &line[content.len()..])
    } else if let Some(content) = line.strip_suffix(b"\n") {
        (content, &line[content.len()..])
    } else {
        (line, &[])
    }
}

fn trim_trailing_blanks(mut content: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = content {
        content = rest;
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(input: &str) -> (Vec<u8>, bool) {
        let (bytes, outcome) = decode_to_vec(&TransferEncoding::Base64, input.as_bytes());
        assert_eq!(outcome.size_bytes, bytes.len() as u64);
        (bytes, outcome.had_problems)
    }

    fn qp(input: &str) -> (Vec<u8>, bool) {
        let (bytes, outcome) = decode_to_vec(&TransferEncoding::QuotedPrintable, input.as_bytes());
        assert_eq!(outcome.size_bytes, bytes.len() as u64);
        (bytes, outcome.had_problems)
    }

    #[test]
    fn base64_decodes_across_line_breaks_and_padding() {
        assert_eq!(b64("SGVs\r\nbG8=\r\n"), (b"Hello".to_vec(), false));
        assert_eq!(b64("SGk="), (b"Hi".to_vec(), false));
        assert_eq!(b64("QQ==QQ=="), (b"AA".to_vec(), false));
    }

    #[test]
    fn base64_quantum_split_across_lines_is_carried() {
        // "SGV" leaves a partial quantum; the next line must not take the fast path.
        assert_eq!(
            b64("SGV\r\nsbG8g\r\nd29y\r\nbGQ=\r\n"),
            (b"Hello world".to_vec(), false)
        );
    }

    #[test]
    fn base64_skips_junk_and_flags_it() {
        let (bytes, problems) = b64("SG!Vs*bG8=");
        assert_eq!(bytes, b"Hello");
        assert!(problems);
        let (bytes, problems) = b64("SGk");
        assert_eq!(bytes, b"Hi");
        assert!(problems, "missing padding is a problem");
    }

    #[test]
    fn base64_matches_reference_encoder_on_all_byte_values() {
        use base64::Engine;
        let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
        let wrapped: String = encoded
            .as_bytes()
            .chunks(76)
            .map(|line| format!("{}\r\n", String::from_utf8_lossy(line)))
            .collect();
        assert_eq!(b64(&wrapped), (data, false));
    }

    #[test]
    fn quoted_printable_keeps_hard_crlf_and_removes_soft_breaks() {
        assert_eq!(
            qp("a=3Db\r\nc=\r\nd\r\n"),
            (b"a=b\r\ncd\r\n".to_vec(), false)
        );
        assert_eq!(qp("caf=E9;x \t\r\n"), (b"caf\xe9;x\r\n".to_vec(), false));
    }

    #[test]
    fn quoted_printable_keeps_broken_escapes_literally() {
        assert_eq!(qp("100=%\r\n"), (b"100=%\r\n".to_vec(), true));
        assert_eq!(qp("a==41"), (b"a=A".to_vec(), true));
    }

    #[test]
    fn quoted_printable_decodes_nul_bytes() {
        assert_eq!(qp("x=00y"), (b"x\0y".to_vec(), false));
    }

    #[test]
    fn identity_encodings_pass_bytes_through() {
        let raw = b"\0\xff\r\n.";
        for encoding in [TransferEncoding::SevenBit, TransferEncoding::Binary] {
            assert_eq!(decode_to_vec(&encoding, raw).0, raw);
        }
    }

    #[test]
    fn encoding_header_is_parsed_case_insensitively() {
        assert_eq!(
            TransferEncoding::from_header(Some(" BASE64 ")),
            TransferEncoding::Base64
        );
        assert_eq!(
            TransferEncoding::from_header(None),
            TransferEncoding::SevenBit
        );
        assert_eq!(
            TransferEncoding::from_header(Some("x-uuencode")).as_str(),
            "x-uuencode"
        );
    }
}
