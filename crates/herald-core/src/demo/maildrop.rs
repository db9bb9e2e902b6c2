//! The demo server's mail: a Maildir-like folder (`new/` and `tmp/`) that
//! the POP3 server serves and the SMTP server delivers into.
//!
//! Each file's name is its UIDL (RFC 1939 §7: printable ASCII, at most 70
//! characters), so UIDLs are stable across sessions and restarts. Names
//! start with a ten-digit Unix time, so sorting by name lists the mailbox
//! oldest first, like a real maildrop. Files are stored with CRLF line
//! endings, so a file's length is the octet count POP3 reports.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One message on the demo server.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Its UIDL (the file name).
    pub uidl: String,
    /// Its file.
    pub path: PathBuf,
    /// Its size in octets, as POP3 counts them.
    pub size_bytes: u64,
}

/// The folder. Safe to share between connection threads: delivery writes
/// into `tmp/` and renames, removal ignores files already gone.
#[derive(Debug)]
pub(super) struct Maildrop {
    dir: PathBuf,
    created: bool,
    counter: AtomicU64,
}

impl Maildrop {
    /// Opens (creating if needed) the folder at `dir`.
    pub fn open(dir: &Path) -> io::Result<Maildrop> {
        let created = !dir.join("new").is_dir();
        std::fs::create_dir_all(dir.join("new"))?;
        std::fs::create_dir_all(dir.join("tmp"))?;
        Ok(Maildrop {
            dir: dir.to_path_buf(),
            created,
            counter: AtomicU64::new(0),
        })
    }

    /// Whether [`Maildrop::open`] created the folder (so it wants seeding).
    pub fn is_new(&self) -> bool {
        self.created
    }

    /// The messages, oldest first.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for dirent in std::fs::read_dir(self.dir.join("new"))? {
            let dirent = dirent?;
            let Some(uidl) = dirent.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !is_valid_uidl(&uidl) {
                continue;
            }
            let metadata = dirent.metadata()?;
            if metadata.is_file() {
                entries.push(Entry {
                    uidl,
                    path: dirent.path(),
                    size_bytes: metadata.len(),
                });
            }
        }
        entries.sort_by(|a, b| a.uidl.cmp(&b.uidl));
        Ok(entries)
    }

    /// Stores a seeded message, named after its date and place in the seed.
    pub fn seed(&self, index: usize, date_unix: i64, bytes: &[u8]) -> io::Result<String> {
        self.store(&format!("{:010}.S{index:03}.demo", date_unix.max(0)), bytes)
    }

    /// Delivers a message received now.
    pub fn deliver(&self, bytes: &[u8]) -> io::Result<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{:010}.M{:06}P{}Q{counter}.demo",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id()
        );
        self.store(&name, bytes)
    }

    /// Writes into `tmp/`, flushes, renames into `new/`.
    fn store(&self, name: &str, bytes: &[u8]) -> io::Result<String> {
        let tmp = self.dir.join("tmp").join(name);
        {
            let mut file = std::fs::File::create_new(&tmp)?;
            file.write_all(&crlf(bytes))?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join("new").join(name))?;
        Ok(name.to_string())
    }

    /// Removes these messages (RFC 1939 §6: at QUIT). A message another
    /// session already removed is skipped.
    pub fn remove(&self, entries: &[&Entry]) -> io::Result<()> {
        for entry in entries {
            match std::fs::remove_file(&entry.path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// RFC 1939 §7: 1–70 characters from 0x21 to 0x7E.
fn is_valid_uidl(name: &str) -> bool {
    (1..=70).contains(&name.len()) && name.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Every line ending made CRLF (a bare CR or LF too), ending with one.
pub(super) fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32 + 2);
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if bytes.get(index + 1) == Some(&b'\n') {
                    index += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            byte => out.push(byte),
        }
        index += 1;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn line_endings_become_crlf() {
        assert_eq!(crlf(b"a\nb\r\nc\rd"), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(crlf(b"x\r\n"), b"x\r\n");
    }

    #[test]
    fn delivered_and_seeded_messages_list_oldest_first_with_stable_uidls() {
        let dir = tempfile::tempdir().unwrap();
        let maildrop = Maildrop::open(&dir.path().join("Maildir")).unwrap();
        assert!(maildrop.is_new());
        let delivered = maildrop.deliver(b"Subject: new\n\nhi\n").unwrap();
        let seeded = maildrop
            .seed(0, 1_000_000_000, b"Subject: old\n\nhi\n")
            .unwrap();
        let listed = maildrop.list().unwrap();
        let uidls: Vec<&str> = listed.iter().map(|e| e.uidl.as_str()).collect();
        assert_eq!(uidls, [seeded.as_str(), delivered.as_str()]);
        assert!(uidls.iter().all(|uidl| is_valid_uidl(uidl)));
        assert_eq!(
            listed[0].size_bytes,
            b"Subject: old\r\n\r\nhi\r\n".len() as u64
        );
        assert!(
            !Maildrop::open(&dir.path().join("Maildir"))
                .unwrap()
                .is_new()
        );
    }
}
