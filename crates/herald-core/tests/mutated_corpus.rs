//! Hostile variations of the golden corpus: truncated, bit-flipped and
//! spliced messages must parse (or fail cleanly) and every attachment must
//! decode and get a safe name, without a panic; and the summary a download
//! records (`Summary::from_prefix`, a lighter walk) must say what the full
//! parse says. Deterministic (fixed seed), so a failure reproduces.

use std::path::Path;

use herald_core::message::{FULL_PARSE_LIMIT_BYTES, Message, ParseError, Summary};

/// xorshift64*: a tiny deterministic generator, enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SPLICES: &[&[u8]] = &[
    b"\r\n--",
    b"\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
    b"\r\nContent-Type: message/rfc822\r\n\r\n",
    b"\r\nContent-Transfer-Encoding: base64\r\n\r\n=====",
    b"=?UTF-8?B?Li4vLi4v?=",
    b"\r\nContent-Disposition: attachment; filename*0*=UTF-8''%2E%2E; filename*1=%2Fx\r\n",
    b"\0\xff\xfe\r",
    b"=\r\n=\r\n=",
];

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(4) {
            0 => bytes.truncate(rng.below(bytes.len() + 1)),
            1 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            2 => {
                let at = rng.below(bytes.len() + 1);
                let splice = SPLICES[rng.below(SPLICES.len())];
                bytes.splice(at..at, splice.iter().copied());
            }
            _ if !bytes.is_empty() => {
                let start = rng.below(bytes.len());
                let end = (start + rng.below(4096)).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                let at = rng.below(bytes.len() + 1);
                bytes.splice(at..at, copy);
            }
            _ => {}
        }
    }
    bytes
}

#[test]
fn mutated_corpus_messages_never_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for file in files {
        let original = std::fs::read(&file).expect("read");
        let rounds = if original.len() > 50_000 { 5 } else { 40 };
        for round in 0..=rounds {
            let bytes = if round == 0 {
                original.clone()
            } else {
                mutate(&mut rng, &original)
            };
            let summary = Summary::from_prefix(&bytes, true);
            let message = match Message::parse(bytes.clone()) {
                Ok(message) => message,
                // Caught by the catch_unwind safety net: still a bug to fix.
                Err(ParseError::ParserFailed) => {
                    panic!("parser panicked on a mutation of {}", file.display())
                }
                Err(_) => continue,
            };
            parsed += 1;
            if bytes.len() <= FULL_PARSE_LIMIT_BYTES {
                let what = format!("{} (round {round})", file.display());
                assert_eq!(summary.headers, message.headers, "{what}");
                let has_attachments = message.attachments.iter().any(|a| !a.inline);
                assert_eq!(summary.has_attachments, has_attachments, "{what}");
            }
            for attachment in &message.attachments {
                let (size, _) = message.attachment_digest(attachment);
                assert_eq!(size, attachment.size_bytes, "{}", file.display());
                assert!(!attachment.filename.is_empty());
                assert!(!attachment.filename.contains(['/', '\\', '\0']));
                assert!(attachment.filename.len() <= 200);
            }
        }
    }
    assert!(parsed > 1000, "only {parsed} mutated messages parsed");
}
