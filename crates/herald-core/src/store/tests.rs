use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;
use crate::error::{Classify, ErrorKind};

/// Test hooks: failure injection on this thread, crashes by environment.
pub(crate) mod hooks {
    use std::cell::RefCell;
    use std::io;

    use super::super::Step;

    /// Exit code of a child process that reached its crash point.
    pub(crate) const CRASH_EXIT_CODE: i32 = 86;
    /// Names the step (`{:?}` of [`Step`]) at which the process exits.
    pub(crate) const CRASH_ENV: &str = "HERALD_STORE_TEST_CRASH_AT";

    thread_local! {
        static FAIL_AT: RefCell<Vec<(Step, io::ErrorKind)>> = const { RefCell::new(Vec::new()) };
        static FAIL_WRITE: RefCell<Option<(u32, io::ErrorKind)>> = const { RefCell::new(None) };
    }

    /// Makes the next `checkpoint(step)` on this thread fail with `kind`
    /// (several steps can be armed at once).
    pub(crate) fn fail_at(step: Step, kind: io::ErrorKind) {
        FAIL_AT.with(|armed| armed.borrow_mut().push((step, kind)));
    }

    /// Makes a staged-file write on this thread fail with `kind` after
    /// `successful` writes.
    pub(crate) fn fail_write_after(successful: u32, kind: io::ErrorKind) {
        FAIL_WRITE.with(|slot| *slot.borrow_mut() = Some((successful, kind)));
    }

    pub(crate) fn checkpoint(step: Step) -> io::Result<()> {
        if std::env::var(CRASH_ENV).is_ok_and(|name| name == format!("{step:?}")) {
            // A crash: no destructor, no clean-up, no undo.
            std::process::exit(CRASH_EXIT_CODE);
        }
        FAIL_AT.with(|armed| {
            let mut armed = armed.borrow_mut();
            match armed.iter().position(|(at, _)| *at == step) {
                Some(index) => Err(io::Error::from(armed.remove(index).1)),
                None => Ok(()),
            }
        })
    }

    /// The write failure armed on this thread (disarmed here), for
    /// [`arm_write`] on a thread that writes the staged files for it.
    pub(crate) fn take_armed_write() -> Option<(u32, io::ErrorKind)> {
        FAIL_WRITE.with(|slot| slot.borrow_mut().take())
    }

    /// Arms what [`take_armed_write`] took on another thread.
    pub(crate) fn arm_write(armed: Option<(u32, io::ErrorKind)>) {
        FAIL_WRITE.with(|slot| *slot.borrow_mut() = armed);
    }

    pub(crate) fn write_checkpoint() -> io::Result<()> {
        FAIL_WRITE.with(|slot| {
            let mut slot = slot.borrow_mut();
            match *slot {
                Some((0, kind)) => {
                    *slot = None;
                    Err(io::Error::from(kind))
                }
                Some((n, kind)) => {
                    *slot = Some((n - 1, kind));
                    Ok(())
                }
                None => Ok(()),
            }
        })
    }
}

// ----- helpers ---------------------------------------------------------------

fn raw_message(n: u32) -> Vec<u8> {
    format!(
        "From: Sender {n} <s{n}@example.com>\r\nTo: me@example.com\r\nSubject: message {n}\r\n\
         Message-ID: <{n}@example.com>\r\n\r\nbody of message {n}\r\n.. dot line\r\n"
    )
    .into_bytes()
}

fn summary(n: u32) -> MessageSummary {
    MessageSummary {
        from_name: Some(format!("Sender {n}")),
        from_addr: Some(format!("s{n}@example.com")),
        to: vec!["me@example.com".to_owned()],
        cc: vec![],
        subject: Some(format!("message {n}")),
        date: Some(1_700_000_000 + i64::from(n)),
        message_id: Some(format!("<{n}@example.com>")),
        has_attachments: false,
    }
}

fn download(uidl: &str, n: u32) -> NewMessage {
    NewMessage {
        uidl: Some(uidl.to_owned()),
        server_size: Some(raw_message(n).len() as u64),
        summary: summary(n),
        flags: Flags::default(),
        received_at: 1_800_000_000,
    }
}

/// Downloads `(uidl, n)` pairs in one batch, streaming like the engine.
fn download_batch(store: &MailStore, messages: &[(&str, u32)]) -> Result<Vec<i64>, StoreError> {
    let mut batch = store.batch();
    for &(uidl, n) in messages {
        let mut staged = batch.create_file()?;
        io::copy(&mut raw_message(n).as_slice(), &mut staged).unwrap();
        batch.add(staged, download(uidl, n))?;
    }
    batch.commit()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A plain Maildir reader, knowing nothing of the index: every message file
/// in `new/` and `cur/` of every folder, with its bytes.
fn maildir_messages(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let root = dir.join("Maildir");
    let mut folders = vec![root.clone()];
    for entry in fs::read_dir(&root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().starts_with('.') {
            folders.push(entry.path());
        }
    }
    let mut messages = BTreeMap::new();
    for folder in folders {
        for sub in ["new", "cur"] {
            for entry in fs::read_dir(folder.join(sub)).unwrap() {
                let path = entry.unwrap().path();
                messages.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    messages
}

fn tmp_files(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for folder in Folder::ALL {
        let tmp = maildir::subdir_path(&dir.join("Maildir"), folder, Subdir::Tmp);
        names.extend(names_in(&tmp));
    }
    names
}

/// `MailStore::open`, waiting out a lock held for a moment by another test's
/// child process: between fork and exec a child holds copies of all our
/// descriptors, the store's lock included.
fn open_when_free(dir: &Path) -> Result<MailStore, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match MailStore::open(dir) {
            Err(StoreError::InUse { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

fn all(store: &MailStore, folder: Folder) -> Vec<StoredMessage> {
    store.list(folder, &ListQuery::default()).unwrap()
}

// ----- layout and round trip -------------------------------------------------

#[test]
fn open_creates_a_maildir_plus_plus_tree_that_other_tools_recognise() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let root = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        assert!(root.join(sub).is_dir());
        for folder in [".Sent", ".Drafts", ".Outbox", ".Trash"] {
            assert!(root.join(folder).join(sub).is_dir(), "{folder}/{sub}");
            assert!(root.join(folder).join("maildirfolder").is_file());
        }
    }
    assert!(dir.path().join("index.sqlite").is_file());
    assert_eq!(store.folder_path(Folder::Trash), root.join(".Trash"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(root.join("new")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "mail folders are private");
    }
}

#[test]
fn folder_names_are_stable() {
    let names: Vec<&str> = Folder::ALL.iter().map(|f| f.as_str()).collect();
    assert_eq!(names, ["inbox", "sent", "drafts", "outbox", "trash"]);
    for folder in Folder::ALL {
        assert_eq!(Folder::parse(folder.as_str()), Some(folder));
    }
    assert_eq!(Folder::parse("Inbox"), None);
    assert_eq!(serde_json::to_string(&Folder::Sent).unwrap(), "\"sent\"");
}

#[test]
fn downloaded_messages_round_trip_through_index_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let ids = download_batch(&store, &[("uidl-1", 1), ("uidl-2", 2), ("uidl-3", 3)]).unwrap();
    assert_eq!(ids.len(), 3);

    let listed = all(&store, Folder::Inbox);
    // Newest Date first.
    assert_eq!(
        listed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1], ids[0]]
    );
    let first = store.get(ids[0]).unwrap().unwrap();
    assert_eq!(first.folder, Folder::Inbox);
    assert_eq!(first.uidl.as_deref(), Some("uidl-1"));
    assert_eq!(first.summary, summary(1));
    assert_eq!(first.size, raw_message(1).len() as u64);
    assert!(first.downloaded);
    assert_eq!(first.flags, Flags::default());
    assert_eq!(first.received_at, 1_800_000_000);
    let path = first.path.unwrap();
    assert!(path.is_absolute());
    assert_eq!(
        path.parent().unwrap(),
        dir.path().join("Maildir").join("new")
    );
    assert_eq!(fs::read(&path).unwrap(), raw_message(1));

    assert_eq!(store.count(Folder::Inbox).unwrap(), 3);
    assert_eq!(store.unread_count(Folder::Inbox).unwrap(), 3);
    assert_eq!(store.count(Folder::Sent).unwrap(), 0);
    assert!(tmp_files(dir.path()).is_empty());

    let states = store.uidl_states().unwrap();
    assert_eq!(states.len(), 3);
    let state = states["uidl-2"];
    assert!(state.downloaded && !state.deleted_locally);
    assert_eq!(state.message_id, Some(ids[1]));
    assert!(store.get(9999).unwrap().is_none());
}

#[test]
fn text_is_stored_exactly_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let hostile = MessageSummary {
        from_name: Some("Mallory\r\n\u{202e}evil\0".to_owned()),
        from_addr: Some("m@[127.0.0.1]".to_owned()),
        to: vec![
            "a, b".to_owned(),
            "\"quoted\" <c@d>".to_owned(),
            String::new(),
        ],
        cc: vec!["日本語@例え.jp".to_owned()],
        subject: Some("'; DROP TABLE messages; --".to_owned()),
        date: Some(-5),
        message_id: None,
        has_attachments: true,
    };
    let id = store
        .add_message(
            Folder::Drafts,
            b"Subject: x\r\n\r\n",
            NewMessage {
                summary: hostile.clone(),
                ..NewMessage::default()
            },
        )
        .unwrap();
    assert_eq!(store.get(id).unwrap().unwrap().summary, hostile);
}

#[test]
fn a_plain_maildir_reader_sees_exactly_the_stored_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    download_batch(&store, &[("a", 1), ("b", 2)]).unwrap();
    let sent = store
        .add_message(
            Folder::Sent,
            &raw_message(3),
            NewMessage {
                flags: Flags {
                    seen: true,
                    ..Flags::default()
                },
                ..NewMessage::default()
            },
        )
        .unwrap();
    let files = maildir_messages(dir.path());
    let mut bytes: Vec<&Vec<u8>> = files.values().collect();
    bytes.sort();
    let mut expected = [raw_message(1), raw_message(2), raw_message(3)];
    expected.sort();
    assert_eq!(bytes, expected.iter().collect::<Vec<_>>());

    let sent_path = store.get(sent).unwrap().unwrap().path.unwrap();
    assert_eq!(
        sent_path.parent().unwrap(),
        dir.path().join("Maildir/.Sent/cur")
    );
    for path in files.keys() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let base = maildir::base_of(name);
        assert!(maildir::is_our_name(base), "{name}");
        // <secs>.M<micros>P<pid>Q<n>.herald: nothing about the machine.
        assert!(
            base.contains(&format!("P{}Q", std::process::id())),
            "{name}"
        );
        if path.parent().unwrap().ends_with("cur") {
            assert!(name.contains(":2,"), "{name}");
        } else {
            assert!(!name.contains(':'), "{name}");
        }
    }
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let ids = {
        let store = open_when_free(dir.path()).unwrap();
        let ids = download_batch(&store, &[("a", 1), ("b", 2)]).unwrap();
        store
            .set_flags(
                ids[0],
                Flags {
                    seen: true,
                    flagged: true,
                    answered: false,
                },
            )
            .unwrap();
        store.note_seen_on_server(&["c"], 42).unwrap();
        ids
    };
    let store = open_when_free(dir.path()).unwrap();
    let first = store.get(ids[0]).unwrap().unwrap();
    assert!(first.flags.seen && first.flags.flagged);
    assert_eq!(fs::read(first.path.unwrap()).unwrap(), raw_message(1));
    assert_eq!(store.count(Folder::Inbox).unwrap(), 2);
    assert_eq!(store.unread_count(Folder::Inbox).unwrap(), 1);
    let states = store.uidl_states().unwrap();
    assert_eq!(states["c"].first_seen, 42);
    assert!(!states["c"].downloaded);
    assert!(states["a"].downloaded);
    // Ids are never reused, even after the newest message is gone.
    store.delete(ids[1]).unwrap();
    store.delete(ids[1]).unwrap();
    let next = download_batch(&store, &[("d", 4)]).unwrap();
    assert!(next[0] > ids[1]);
}

// ----- flags -----------------------------------------------------------------

#[test]
fn flags_are_mirrored_in_maildir_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
    let path = |store: &MailStore| store.get(id).unwrap().unwrap().path.unwrap();
    let name = |path: &Path| path.file_name().unwrap().to_str().unwrap().to_owned();

    let original = path(&store);
    assert!(original.parent().unwrap().ends_with("Maildir/new"));
    let base = name(&original);

    let cases = [
        (
            Flags {
                seen: true,
                answered: false,
                flagged: false,
            },
            ":2,S",
        ),
        (
            Flags {
                seen: true,
                answered: true,
                flagged: true,
            },
            ":2,FRS",
        ),
        (
            Flags {
                seen: false,
                answered: true,
                flagged: false,
            },
            ":2,R",
        ),
        (
            Flags {
                seen: false,
                answered: false,
                flagged: true,
            },
            ":2,F",
        ),
        (Flags::default(), ":2,"),
    ];
    for (flags, info) in cases {
        store.set_flags(id, flags).unwrap();
        let current = path(&store);
        assert!(
            current.parent().unwrap().ends_with("Maildir/cur"),
            "{current:?}"
        );
        assert_eq!(name(&current), format!("{base}{info}"));
        assert_eq!(maildir::flags_of(&name(&current)), flags);
        assert_eq!(fs::read(&current).unwrap(), raw_message(1));
        assert_eq!(store.get(id).unwrap().unwrap().flags, flags);
        // Exactly one file for the message.
        assert_eq!(maildir_messages(dir.path()).len(), 1);
    }
    assert_eq!(store.unread_count(Folder::Inbox).unwrap(), 1);
    store
        .set_flags(
            id,
            Flags {
                seen: true,
                ..Flags::default()
            },
        )
        .unwrap();
    assert_eq!(store.unread_count(Folder::Inbox).unwrap(), 0);
    assert!(matches!(
        store.set_flags(12345, Flags::default()),
        Err(StoreError::NotFound { id: 12345 })
    ));
}

#[test]
fn messages_stored_with_flags_go_to_cur() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let mut message = download("a", 1);
    message.flags.seen = true;
    let id = store
        .add_message(Folder::Inbox, &raw_message(1), message)
        .unwrap();
    let path = store.get(id).unwrap().unwrap().path.unwrap();
    assert!(path.parent().unwrap().ends_with("Maildir/cur"));
    assert!(path.to_str().unwrap().ends_with(":2,S"));
}

// ----- batches ---------------------------------------------------------------

#[test]
fn a_dropped_batch_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    {
        let mut batch = store.batch();
        for n in 0..3 {
            let mut staged = batch.create_file().unwrap();
            staged.write_all(&raw_message(n)).unwrap();
            batch.add(staged, download(&format!("u{n}"), n)).unwrap();
        }
        // One staged but never added.
        let mut loose = batch.create_file().unwrap();
        loose.write_all(b"partial").unwrap();
        assert_eq!(tmp_files(dir.path()).len(), 4);
        assert_eq!(batch.len(), 3);
        assert_eq!(
            batch.size_bytes(),
            (0..3).map(|n| raw_message(n).len() as u64).sum::<u64>()
        );
    }
    assert!(tmp_files(dir.path()).is_empty());
    assert!(maildir_messages(dir.path()).is_empty());
    assert_eq!(store.count(Folder::Inbox).unwrap(), 0);
    assert!(store.uidl_states().unwrap().is_empty());
    // The same UIDLs can be downloaded afterwards.
    download_batch(&store, &[("u0", 0), ("u1", 1), ("u2", 2)]).unwrap();
}

#[test]
fn a_batch_can_commit_as_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let mut batch = store.batch();
    let mut ids = Vec::new();
    for n in 0..5u32 {
        let mut staged = batch.create_file().unwrap();
        staged.write_all(&raw_message(n)).unwrap();
        batch.add(staged, download(&format!("u{n}"), n)).unwrap();
        if batch.len() == 2 {
            ids.extend(batch.commit_staged().unwrap());
            assert!(batch.is_empty());
            assert_eq!(batch.size_bytes(), 0);
            assert_eq!(store.count(Folder::Inbox).unwrap(), ids.len() as u64);
        }
    }
    ids.extend(batch.commit().unwrap());
    assert_eq!(ids.len(), 5);
    assert_eq!(store.count(Folder::Inbox).unwrap(), 5);
    assert!(tmp_files(dir.path()).is_empty());
}

#[test]
fn an_empty_batch_commits_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    assert!(store.batch().is_empty());
    assert_eq!(store.batch().commit().unwrap(), Vec::<i64>::new());
}

#[test]
fn a_uidl_is_never_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    download_batch(&store, &[("dup", 1)]).unwrap();
    let error = download_batch(&store, &[("dup", 1)]).unwrap_err();
    assert!(
        matches!(error, StoreError::AlreadyDownloaded { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Input);

    let error = download_batch(&store, &[("x", 2), ("x", 3)]).unwrap_err();
    assert!(
        matches!(error, StoreError::AlreadyDownloaded { .. }),
        "{error:?}"
    );

    // Two open batches racing for one UIDL: the second commit is refused
    // as a whole and leaves nothing.
    let mut first = store.batch();
    let mut second = store.batch();
    for batch in [&mut first, &mut second] {
        let mut staged = batch.create_file().unwrap();
        staged.write_all(&raw_message(5)).unwrap();
        batch.add(staged, download("race", 5)).unwrap();
    }
    first.commit().unwrap();
    let error = second.commit().unwrap_err();
    assert!(
        matches!(error, StoreError::AlreadyDownloaded { .. }),
        "{error:?}"
    );
    assert_eq!(store.count(Folder::Inbox).unwrap(), 2);
    assert_eq!(maildir_messages(dir.path()).len(), 2);
    assert!(tmp_files(dir.path()).is_empty());
}

#[test]
fn a_staged_file_belongs_to_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let mut first = store.batch();
    let mut second = store.batch();
    let staged = first.create_file().unwrap();
    let error = second.add(staged, download("a", 1)).unwrap_err();
    assert!(matches!(error, StoreError::StagedElsewhere), "{error:?}");
    assert!(tmp_files(dir.path()).is_empty());
}

#[test]
fn a_full_disk_while_streaming_is_reported_as_such_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let mut batch = store.batch();
    let mut staged = batch.create_file().unwrap();
    hooks::fail_write_after(3, io::ErrorKind::StorageFull);
    let body = vec![b'x'; 200_000];
    let mut reader = io::Cursor::new(&body).take_chunks(1000);
    let copy_error = io::copy(&mut reader, &mut staged).unwrap_err();
    assert_eq!(copy_error.kind(), io::ErrorKind::StorageFull);
    let error = staged.write_error().unwrap();
    assert!(error.is_disk_full(), "{error:?}");
    assert!(error.to_string().contains("the disk is full"), "{error}");
    assert_eq!(error.kind(), ErrorKind::Storage);
    // The error io::copy returned says the same, and names the file.
    let from_copy = StoreError::from_write(copy_error);
    assert!(from_copy.is_disk_full(), "{from_copy:?}");
    assert!(from_copy.to_string().ends_with(".herald"), "{from_copy}");
    // The engine may still try to add it: refused, file removed.
    let error = batch.add(staged, download("a", 1)).unwrap_err();
    assert!(error.is_disk_full(), "{error:?}");
    assert!(tmp_files(dir.path()).is_empty());
    assert_eq!(batch.commit().unwrap(), Vec::<i64>::new());
    assert!(store.uidl_states().unwrap().is_empty());
}

/// Feeds a reader's bytes in small chunks, like lines from a POP3 server.
trait TakeChunks: io::Read + Sized {
    fn take_chunks(self, size: usize) -> Chunked<Self> {
        Chunked { inner: self, size }
    }
}
impl<R: io::Read> TakeChunks for R {}
struct Chunked<R> {
    inner: R,
    size: usize,
}
impl<R: io::Read> io::Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len().min(self.size);
        self.inner.read(&mut buf[..len])
    }
}

#[test]
fn a_large_message_streams_through_a_small_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let body: Vec<u8> = (0u32..3_000_000).map(|i| (i % 251) as u8).collect();
    let mut batch = store.batch();
    let mut staged = batch.create_file().unwrap();
    io::copy(&mut body.as_slice().take_chunks(77), &mut staged).unwrap();
    assert_eq!(staged.size_bytes(), body.len() as u64);
    batch.add(staged, download("big", 1)).unwrap();
    let id = batch.commit().unwrap()[0];
    let message = store.get(id).unwrap().unwrap();
    assert_eq!(message.size, body.len() as u64);
    assert_eq!(fs::read(message.path.unwrap()).unwrap(), body);
}

/// Every failure of a commit step leaves nothing and a usable store.
#[test]
fn a_failed_commit_step_records_nothing_and_removes_its_files() {
    let steps = [
        Step::BeforeSync,
        Step::BeforeRecord,
        Step::BeforeRename(0),
        Step::BeforeRename(3),
        Step::BeforeDirSync,
        Step::BeforeFinish,
    ];
    let messages = [("a", 1), ("b", 2), ("c", 3), ("d", 4)];
    for step in steps {
        for kind in [io::ErrorKind::StorageFull, io::ErrorKind::Other] {
            let dir = tempfile::tempdir().unwrap();
            let store = open_when_free(dir.path()).unwrap();
            hooks::fail_at(step, kind);
            let error = download_batch(&store, &messages).unwrap_err();
            assert_eq!(
                error.is_disk_full(),
                kind == io::ErrorKind::StorageFull,
                "{step:?}"
            );
            assert_eq!(error.kind(), ErrorKind::Storage);
            assert_eq!(store.count(Folder::Inbox).unwrap(), 0, "{step:?}");
            assert!(store.uidl_states().unwrap().is_empty(), "{step:?}");
            assert!(maildir_messages(dir.path()).is_empty(), "{step:?}");
            assert!(tmp_files(dir.path()).is_empty(), "{step:?}");
            // And the next try works.
            download_batch(&store, &messages).unwrap();
            assert_eq!(store.count(Folder::Inbox).unwrap(), 4);
        }
    }
}

// ----- crash recovery ----------------------------------------------------------

/// Run by [`crash_at`] in a child process; does nothing when run directly.
#[test]
#[ignore = "run in a child process by the crash tests"]
fn crash_child() {
    let (Ok(dir), Ok(scenario)) = (
        std::env::var("HERALD_STORE_TEST_DIR"),
        std::env::var("HERALD_STORE_TEST_SCENARIO"),
    ) else {
        return;
    };
    let store = open_when_free(Path::new(&dir)).unwrap();
    let id = || all(&store, Folder::ALL[0]).first().map(|m| m.id);
    match scenario.as_str() {
        "batch" => {
            download_batch(&store, &[("a", 1), ("b", 2), ("c", 3), ("d", 4)]).unwrap();
        }
        "upgrade" => {
            download_batch(&store, &[("big", 1), ("small", 2)]).unwrap();
        }
        "add-sent" => {
            store
                .add_message(Folder::Sent, &raw_message(7), NewMessage::default())
                .unwrap();
        }
        "set-flags" => {
            store
                .set_flags(
                    id().unwrap(),
                    Flags {
                        seen: true,
                        ..Flags::default()
                    },
                )
                .unwrap();
        }
        "to-trash" => store.delete(id().unwrap()).unwrap(),
        "remove" => {
            let id = all(&store, Folder::Trash)[0].id;
            store.delete(id).unwrap();
        }
        "forever" => {
            for round in 0u32.. {
                let uidls: Vec<String> = (0..20).map(|i| format!("r{round}-{i}")).collect();
                let messages: Vec<(&str, u32)> = uidls
                    .iter()
                    .enumerate()
                    .map(|(i, uidl)| (uidl.as_str(), round * 20 + i as u32))
                    .collect();
                download_batch(&store, &messages).unwrap();
                if let Some(first) = all(&store, Folder::Inbox).last() {
                    store.delete(first.id).unwrap();
                }
            }
        }
        "outbox-sent" => {
            let id = store.outbox_entries().unwrap()[0].id;
            store.outbox_mark_sent(id).unwrap();
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Runs `scenario` on the store in `dir` in a child process that dies at
/// `step`, as if killed: nothing after that point runs.
fn crash_at(dir: &Path, scenario: &str, step: Step) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::crash_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("HERALD_STORE_TEST_DIR", dir)
        .env("HERALD_STORE_TEST_SCENARIO", scenario)
        .env(hooks::CRASH_ENV, format!("{step:?}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(hooks::CRASH_EXIT_CODE),
        "{scenario} never reached {step:?}"
    );
}

/// A crash at each step of a commit of a, b, c, d keeps the messages
/// already renamed into place (in order), whole and counted, and nothing of
/// the others, which download again.
#[test]
fn a_crash_at_any_step_of_a_batch_keeps_each_message_whole_or_not_at_all() {
    const BATCH: [(&str, u32); 4] = [("a", 1), ("b", 2), ("c", 3), ("d", 4)];
    let steps = [
        (Step::BeforeRecord, 0),
        (Step::BeforeSync, 0),
        (Step::BeforeRename(0), 0),
        (Step::BeforeRename(1), 1),
        (Step::BeforeRename(3), 3),
        (Step::BeforeDirSync, 4),
        (Step::BeforeFinish, 4),
        (Step::AfterFinish, 4),
    ];
    for (step, kept) in steps {
        let dir = tempfile::tempdir().unwrap();
        drop(open_when_free(dir.path()).unwrap());
        crash_at(dir.path(), "batch", step);
        if matches!(step, Step::BeforeSync | Step::BeforeRename(_)) {
            // The crash really left files in tmp/ for recovery.
            assert!(!tmp_files(dir.path()).is_empty(), "{step:?}");
        }

        let store = open_when_free(dir.path()).unwrap();
        assert!(tmp_files(dir.path()).is_empty(), "{step:?}");
        let files = maildir_messages(dir.path());
        let states = store.uidl_states().unwrap();
        let listed = all(&store, Folder::Inbox);
        assert_eq!(listed.len(), kept, "{step:?}");
        assert_eq!(files.len(), kept, "{step:?}");
        let mut uidls: Vec<&str> = listed
            .iter()
            .map(|message| message.uidl.as_deref().unwrap())
            .collect();
        uidls.sort_unstable();
        let expected: Vec<&str> = BATCH[..kept].iter().map(|(uidl, _)| *uidl).collect();
        assert_eq!(uidls, expected, "{step:?}");
        for message in &listed {
            let n: u32 = message.summary.subject.as_ref().unwrap()[8..]
                .parse()
                .unwrap();
            assert_eq!(
                fs::read(message.path.as_ref().unwrap()).unwrap(),
                raw_message(n)
            );
        }
        assert_eq!(
            states.len(),
            kept,
            "only the kept UIDLs are known ({step:?})"
        );
        assert!(states.values().all(|state| state.downloaded), "{step:?}");
        // Nothing blocks downloading the others again.
        download_batch(&store, &BATCH[kept..]).unwrap();
        // Never a duplicate: every UIDL now counts as downloaded once.
        assert!(download_batch(&store, &[("a", 1)]).is_err());
        assert_eq!(store.count(Folder::Inbox).unwrap(), 4);
    }
}

/// Kills a child that downloads batches (and deletes) in a loop, at
/// arbitrary moments, and checks what survives is consistent.
#[test]
fn a_store_killed_at_random_moments_is_consistent_when_reopened() {
    for delay_ms in [40, 170, 420] {
        let dir = tempfile::tempdir().unwrap();
        drop(open_when_free(dir.path()).unwrap());
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::crash_child",
                "--ignored",
                "--test-threads=1",
            ])
            .env("HERALD_STORE_TEST_DIR", dir.path())
            .env("HERALD_STORE_TEST_SCENARIO", "forever")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();

        let store = open_when_free(dir.path()).unwrap();
        assert!(tmp_files(dir.path()).is_empty());
        let mut listed = all(&store, Folder::Inbox);
        listed.extend(all(&store, Folder::Trash));
        let files = maildir_messages(dir.path());
        assert_eq!(files.len(), listed.len(), "files and rows agree");
        let states = store.uidl_states().unwrap();
        for message in &listed {
            let n: u32 = message.summary.subject.as_ref().unwrap()[8..]
                .parse()
                .unwrap();
            assert_eq!(files[message.path.as_ref().unwrap()], raw_message(n));
            assert!(states[message.uidl.as_ref().unwrap()].downloaded);
        }
        assert_eq!(
            states.values().filter(|s| s.downloaded).count(),
            listed.len(),
            "a UIDL counts as downloaded exactly when its message is there"
        );
    }
}

#[test]
fn a_crash_while_replacing_a_headers_only_entry_keeps_one_of_the_two() {
    // "big" is the first message of the batch, renamed before "small":
    // (step, big downloaded, small downloaded).
    for (step, kept, small_kept) in [
        (Step::BeforeRecord, false, false),
        (Step::BeforeSync, false, false),
        (Step::BeforeRename(0), false, false),
        (Step::BeforeRename(1), true, false),
        (Step::BeforeFinish, true, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let headers_id = {
            let store = open_when_free(dir.path()).unwrap();
            store
                .record_headers_only("big", 9_000_000, &summary(1))
                .unwrap()
        };
        crash_at(dir.path(), "upgrade", step);
        let store = open_when_free(dir.path()).unwrap();
        let message = store.get(headers_id).unwrap().unwrap();
        assert_eq!(message.downloaded, kept, "{step:?}");
        assert_eq!(message.path.is_some(), kept, "{step:?}");
        assert_eq!(store.uidl_states().unwrap()["big"].downloaded, kept);
        if !kept {
            // The headers-only entry as it was, with the size the server
            // last reported (the download's, once its row was recorded).
            let server_size = if matches!(step, Step::BeforeRecord) {
                9_000_000
            } else {
                raw_message(1).len() as u64
            };
            assert_eq!(message.size, server_size, "{step:?}");
        }
        // The headers-only entry is there either way, "small" only if kept.
        assert_eq!(
            store.count(Folder::Inbox).unwrap(),
            1 + u64::from(small_kept),
            "{step:?}"
        );
        assert_eq!(
            maildir_messages(dir.path()).len(),
            usize::from(kept) + usize::from(small_kept),
            "{step:?}"
        );
        assert!(tmp_files(dir.path()).is_empty());
    }
}

#[test]
fn a_crash_while_adding_a_sent_copy_leaves_all_or_nothing() {
    for (step, kept) in [
        (Step::BeforeRecord, false),
        (Step::BeforeSync, false),
        (Step::BeforeRename(0), false),
        (Step::BeforeDirSync, true),
        (Step::BeforeFinish, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        drop(open_when_free(dir.path()).unwrap());
        crash_at(dir.path(), "add-sent", step);
        let store = open_when_free(dir.path()).unwrap();
        assert_eq!(
            store.count(Folder::Sent).unwrap(),
            u64::from(kept),
            "{step:?}"
        );
        assert_eq!(maildir_messages(dir.path()).len(), usize::from(kept));
        assert!(tmp_files(dir.path()).is_empty());
    }
}

#[test]
fn a_crash_during_a_flag_change_is_finished_on_open() {
    for step in [
        Step::BeforeMoveRename,
        Step::BeforeDirSync,
        Step::BeforeMoveFinish,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = open_when_free(dir.path()).unwrap();
            download_batch(&store, &[("a", 1)]).unwrap()[0]
        };
        crash_at(dir.path(), "set-flags", step);
        let store = open_when_free(dir.path()).unwrap();
        let message = store.get(id).unwrap().unwrap();
        assert!(message.flags.seen, "{step:?}");
        let path = message.path.unwrap();
        assert!(path.to_str().unwrap().ends_with(":2,S"), "{step:?}");
        assert_eq!(fs::read(&path).unwrap(), raw_message(1));
        assert_eq!(maildir_messages(dir.path()).len(), 1);
    }
}

#[test]
fn a_crash_during_a_move_to_trash_is_finished_on_open() {
    for step in [Step::BeforeMoveRename, Step::BeforeMoveFinish] {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = open_when_free(dir.path()).unwrap();
            download_batch(&store, &[("a", 1)]).unwrap()[0]
        };
        crash_at(dir.path(), "to-trash", step);
        let store = open_when_free(dir.path()).unwrap();
        let message = store.get(id).unwrap().unwrap();
        assert_eq!(message.folder, Folder::Trash, "{step:?}");
        assert_eq!(fs::read(message.path.unwrap()).unwrap(), raw_message(1));
        assert_eq!(store.pending_server_deletions().unwrap(), ["a"]);
        assert_eq!(maildir_messages(dir.path()).len(), 1);
    }
}

#[test]
fn a_crash_during_a_removal_from_trash_is_finished_on_open() {
    for step in [Step::BeforeUnlink, Step::BeforeRemoveFinish] {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let store = open_when_free(dir.path()).unwrap();
            let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
            store.delete(id).unwrap();
            id
        };
        crash_at(dir.path(), "remove", step);
        let store = open_when_free(dir.path()).unwrap();
        assert!(store.get(id).unwrap().is_none(), "{step:?}");
        assert!(maildir_messages(dir.path()).is_empty(), "{step:?}");
        let state = store.uidl_states().unwrap()["a"];
        assert!(state.deleted_locally && state.downloaded);
        assert_eq!(state.message_id, None);
    }
}

#[test]
fn a_crash_while_marking_sent_never_leaves_the_message_to_be_sent_twice() {
    for (step, moved) in [
        (Step::BeforeMoveRecord, false),
        (Step::BeforeMoveRename, true),
        (Step::BeforeMoveFinish, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open_when_free(dir.path()).unwrap();
            store.outbox_add(&raw_message(1), envelope()).unwrap();
        }
        crash_at(dir.path(), "outbox-sent", step);
        let store = open_when_free(dir.path()).unwrap();
        assert_eq!(
            store.outbox_entries().unwrap().is_empty(),
            moved,
            "{step:?}"
        );
        assert_eq!(store.count(Folder::Sent).unwrap(), u64::from(moved));
        assert_eq!(store.count(Folder::Outbox).unwrap(), u64::from(!moved));
        assert_eq!(maildir_messages(dir.path()).len(), 1);
    }
}

#[test]
fn leftover_tmp_files_of_ours_are_removed_at_open_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_when_free(dir.path()).unwrap());
    let tmp = dir.path().join("Maildir/tmp");
    fs::write(tmp.join("1700000000.M12P34Q5.herald"), b"ours").unwrap();
    fs::write(tmp.join("1700000000.M12P34Q5.mailhost"), b"someone else's").unwrap();
    drop(open_when_free(dir.path()).unwrap());
    assert_eq!(names_in(&tmp), ["1700000000.M12P34Q5.mailhost"]);
}

// ----- headers only ------------------------------------------------------------

#[test]
fn a_headers_only_entry_is_filled_in_place_by_a_later_download() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = store
        .record_headers_only("big", 50_000_000, &summary(1))
        .unwrap();
    let entry = store.get(id).unwrap().unwrap();
    assert!(!entry.downloaded);
    assert_eq!(entry.path, None);
    assert_eq!(entry.size, 50_000_000);
    assert_eq!(store.count(Folder::Inbox).unwrap(), 1);
    let state = store.uidl_states().unwrap()["big"];
    assert!(!state.downloaded);
    assert_eq!(state.message_id, Some(id));
    assert!(maildir_messages(dir.path()).is_empty());

    // Recording again updates the same row.
    assert_eq!(
        store
            .record_headers_only("big", 50_000_001, &summary(1))
            .unwrap(),
        id
    );

    let ids = download_batch(&store, &[("big", 1)]).unwrap();
    assert_eq!(ids, [id]);
    let full = store.get(id).unwrap().unwrap();
    assert!(full.downloaded);
    assert_eq!(full.size, raw_message(1).len() as u64);
    assert_eq!(fs::read(full.path.unwrap()).unwrap(), raw_message(1));
    assert_eq!(store.count(Folder::Inbox).unwrap(), 1);
    assert!(store.uidl_states().unwrap()["big"].downloaded);

    let error = store
        .record_headers_only("big", 1, &summary(1))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::AlreadyDownloaded { .. }),
        "{error:?}"
    );
}

// ----- UIDLs -------------------------------------------------------------------

#[test]
fn hostile_uidls_are_refused_everywhere_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let long = "a".repeat(71);
    let hostile = [
        long.as_str(),
        "",
        "has space",
        " ",
        "nul\0byte",
        "tab\t",
        "new\nline",
        "ünïcode",
        "\u{7f}",
        "\u{202e}rtl",
    ];
    for uidl in hostile {
        assert!(!is_valid_uidl(uidl), "{uidl:?}");
        let mut batch = store.batch();
        let mut staged = batch.create_file().unwrap();
        staged.write_all(b"x").unwrap();
        let error = batch.add(staged, download(uidl, 1)).unwrap_err();
        assert!(matches!(error, StoreError::InvalidUidl { .. }), "{error:?}");
        assert_eq!(error.kind(), ErrorKind::Input);
        assert!(!error.to_string().contains('\0'));
        assert!(error.to_string().chars().count() < 130, "{error}");
        let error = store.record_headers_only(uidl, 1, &summary(1)).unwrap_err();
        assert!(matches!(error, StoreError::InvalidUidl { .. }), "{error:?}");
        let error = store.note_seen_on_server(&["fine", uidl], 1).unwrap_err();
        assert!(matches!(error, StoreError::InvalidUidl { .. }), "{error:?}");
    }
    assert!(tmp_files(dir.path()).is_empty());
    assert!(store.uidl_states().unwrap().is_empty());
    assert!(is_valid_uidl(&"~".repeat(70)));
    assert!(is_valid_uidl("!"));
    // RFC 1939 allows any printable ASCII, so these are valid keys; they are
    // never used as paths (see `path_like_uidls_never_become_paths`).
    assert!(is_valid_uidl("../x") && is_valid_uidl("a/b") && is_valid_uidl("C:\\x"));
}

#[test]
fn path_like_uidls_never_become_paths() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path().join("account").as_path()).unwrap();
    download_batch(
        &store,
        &[("../../escape", 1), ("/etc/passwd", 2), ("..", 3)],
    )
    .unwrap();
    let files = maildir_messages(&dir.path().join("account"));
    assert_eq!(files.len(), 3);
    assert_eq!(names_in(dir.path()), ["account"]);
    let states = store.uidl_states().unwrap();
    assert!(states["../../escape"].downloaded && states["/etc/passwd"].downloaded);
}

#[test]
fn server_tracking_records_first_sight_and_forgets_without_touching_mail() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    store.note_seen_on_server(&["a", "b"], 100).unwrap();
    store
        .note_seen_on_server(&["a".to_owned(), "c".to_owned()], 200)
        .unwrap();
    let states = store.uidl_states().unwrap();
    assert_eq!(states["a"].first_seen, 100);
    assert_eq!(states["c"].first_seen, 200);
    let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
    assert_eq!(store.uidl_states().unwrap()["a"].first_seen, 100);

    store
        .forget_uidls(&["a".to_owned(), "b".to_owned()])
        .unwrap();
    let states = store.uidl_states().unwrap();
    assert_eq!(states.keys().collect::<Vec<_>>(), ["c"]);
    let message = store.get(id).unwrap().unwrap();
    assert_eq!(message.uidl.as_deref(), Some("a"));
    assert!(message.path.unwrap().is_file());
}

// ----- deleting ----------------------------------------------------------------

#[test]
fn deleting_moves_to_trash_and_queues_the_server_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let ids = download_batch(&store, &[("a", 1), ("b", 2)]).unwrap();
    let local = store
        .add_message(Folder::Drafts, &raw_message(3), NewMessage::default())
        .unwrap();

    store.delete(ids[0]).unwrap();
    let trashed = store.get(ids[0]).unwrap().unwrap();
    assert_eq!(trashed.folder, Folder::Trash);
    assert!(
        trashed
            .path
            .unwrap()
            .starts_with(dir.path().join("Maildir/.Trash/new"))
    );
    assert_eq!(store.pending_server_deletions().unwrap(), ["a"]);
    assert!(store.uidl_states().unwrap()["a"].deleted_locally);
    assert_eq!(store.count(Folder::Inbox).unwrap(), 1);
    assert_eq!(store.count(Folder::Trash).unwrap(), 1);

    // Restoring before the next sync takes it off the queue.
    store.move_to(ids[0], Folder::Inbox).unwrap();
    assert!(store.pending_server_deletions().unwrap().is_empty());
    assert!(!store.uidl_states().unwrap()["a"].deleted_locally);

    // Deleting twice removes it for good; the UIDL stays known.
    store.delete(ids[0]).unwrap();
    store.delete(ids[0]).unwrap();
    assert!(store.get(ids[0]).unwrap().is_none());
    assert_eq!(maildir_messages(dir.path()).len(), 2);
    let state = store.uidl_states().unwrap()["a"];
    assert!(state.downloaded && state.deleted_locally);
    assert_eq!(state.message_id, None);
    assert_eq!(store.pending_server_deletions().unwrap(), ["a"]);
    assert!(matches!(
        store.delete(ids[0]),
        Err(StoreError::NotFound { .. })
    ));

    // A local message has nothing on the server.
    store.delete(local).unwrap();
    store.delete(local).unwrap();
    assert_eq!(store.pending_server_deletions().unwrap(), ["a"]);

    store.mark_deleted_on_server(&["a"]).unwrap();
    assert!(store.pending_server_deletions().unwrap().is_empty());
    assert!(!store.uidl_states().unwrap().contains_key("a"));
    assert!(store.uidl_states().unwrap()["b"].downloaded);
}

#[test]
fn deleting_a_headers_only_entry_keeps_it_from_coming_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = store.record_headers_only("big", 10, &summary(1)).unwrap();
    store.delete(id).unwrap();
    assert_eq!(store.get(id).unwrap().unwrap().folder, Folder::Trash);
    store.delete(id).unwrap();
    assert!(store.get(id).unwrap().is_none());
    let state = store.uidl_states().unwrap()["big"];
    assert!(state.deleted_locally && !state.downloaded);
    assert_eq!(store.pending_server_deletions().unwrap(), ["big"]);
}

#[test]
fn a_failed_move_or_removal_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
    let before = store.get(id).unwrap().unwrap();

    hooks::fail_at(Step::BeforeMoveRename, io::ErrorKind::PermissionDenied);
    let error = store.delete(id).unwrap_err();
    assert!(matches!(error, StoreError::MoveFile { .. }), "{error:?}");
    assert_eq!(store.get(id).unwrap().unwrap(), before);
    assert!(store.pending_server_deletions().unwrap().is_empty());

    hooks::fail_at(Step::BeforeMoveRename, io::ErrorKind::StorageFull);
    let error = store
        .set_flags(
            id,
            Flags {
                seen: true,
                ..Flags::default()
            },
        )
        .unwrap_err();
    assert!(error.is_disk_full());
    assert_eq!(store.get(id).unwrap().unwrap(), before);
    assert!(fs::read(before.path.as_ref().unwrap()).is_ok());

    store.delete(id).unwrap();
    hooks::fail_at(Step::BeforeUnlink, io::ErrorKind::PermissionDenied);
    assert!(matches!(
        store.delete(id),
        Err(StoreError::RemoveFile { .. })
    ));
    assert_eq!(store.get(id).unwrap().unwrap().folder, Folder::Trash);
    store.delete(id).unwrap();
    assert!(store.get(id).unwrap().is_none());
    assert!(maildir_messages(dir.path()).is_empty());
}

#[test]
fn a_failure_after_a_rename_puts_the_file_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
    let before = store.get(id).unwrap().unwrap();
    for step in [Step::BeforeDirSync, Step::BeforeMoveFinish] {
        hooks::fail_at(step, io::ErrorKind::StorageFull);
        assert!(store.delete(id).unwrap_err().is_disk_full(), "{step:?}");
        assert_eq!(store.get(id).unwrap().unwrap(), before, "{step:?}");
        assert_eq!(
            fs::read(before.path.as_ref().unwrap()).unwrap(),
            raw_message(1)
        );
        assert!(store.pending_server_deletions().unwrap().is_empty());
        assert_eq!(maildir_messages(dir.path()).len(), 1);
    }
}

#[test]
fn when_even_the_undo_fails_the_next_write_finishes_the_operation() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
    hooks::fail_at(Step::BeforeMoveFinish, io::ErrorKind::Other);
    hooks::fail_at(Step::BeforeUndoRename, io::ErrorKind::Other);
    assert!(store.delete(id).is_err());
    // Any write settles it first, forwards, as recovery after a crash would.
    store.note_seen_on_server(&["b"], 1).unwrap();
    let message = store.get(id).unwrap().unwrap();
    assert_eq!(message.folder, Folder::Trash);
    assert_eq!(fs::read(message.path.unwrap()).unwrap(), raw_message(1));
    assert_eq!(store.pending_server_deletions().unwrap(), ["a"]);
}

#[test]
fn a_relative_folder_still_gives_absolute_paths() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    let relative = pathdiff(dir.path(), &cwd);
    let store = open_when_free(&relative).unwrap();
    assert!(store.dir().is_absolute());
    let id = download_batch(&store, &[("a", 1)]).unwrap()[0];
    assert!(store.get(id).unwrap().unwrap().path.unwrap().is_absolute());
}

/// `target` relative to `base` (both absolute), with `..` as needed.
fn pathdiff(target: &Path, base: &Path) -> PathBuf {
    let target: Vec<_> = target.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = target.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for component in &target[common..] {
        relative.push(component);
    }
    relative
}

// ----- outbox ------------------------------------------------------------------

fn envelope() -> Envelope {
    Envelope {
        from: "me@example.com".to_owned(),
        recipients: vec![
            "to@example.com".to_owned(),
            "secret-bcc@example.com".to_owned(),
        ],
    }
}

#[test]
fn outbox_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let local_copy =
        b"From: me@example.com\r\nTo: to@example.com\r\nBcc: secret-bcc@example.com\r\n\
                       Subject: hi\r\n\r\nhello\r\n";
    let id = store.outbox_add(local_copy, envelope()).unwrap();

    let listed = store.get(id).unwrap().unwrap();
    assert_eq!(listed.summary.subject.as_deref(), Some("hi"));
    assert_eq!(listed.summary.from_addr.as_deref(), Some("me@example.com"));
    assert_eq!(listed.summary.to, ["to@example.com"]);

    let entries = store.outbox_entries().unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.id, id);
    assert_eq!(entry.envelope, envelope());
    assert_eq!((entry.attempts, entry.permanent), (0, false));
    assert_eq!(entry.last_error, None);
    assert!(
        entry
            .path
            .starts_with(dir.path().join("Maildir/.Outbox/cur"))
    );
    assert_eq!(fs::read(&entry.path).unwrap(), local_copy);
    assert_eq!(store.count(Folder::Outbox).unwrap(), 1);

    store
        .outbox_record_failure(id, "421 try later", false)
        .unwrap();
    store
        .outbox_record_failure(id, "550 mailbox unavailable", true)
        .unwrap();
    let entry = &store.outbox_entries().unwrap()[0];
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.last_error.as_deref(), Some("550 mailbox unavailable"));
    assert!(entry.permanent);
    assert!(entry.last_attempt_at.unwrap() > 1_600_000_000);

    let sent_id = store.outbox_mark_sent(id).unwrap();
    assert!(store.outbox_entries().unwrap().is_empty());
    let sent = store.get(sent_id).unwrap().unwrap();
    assert_eq!(sent.folder, Folder::Sent);
    assert!(sent.flags.seen);
    let path = sent.path.unwrap();
    assert!(path.starts_with(dir.path().join("Maildir/.Sent/cur")));
    assert!(path.to_str().unwrap().ends_with(":2,S"));
    assert_eq!(fs::read(&path).unwrap(), local_copy);
    assert_eq!(store.count(Folder::Outbox).unwrap(), 0);
    assert_eq!(maildir_messages(dir.path()).len(), 1);

    assert!(matches!(
        store.outbox_mark_sent(id),
        Err(StoreError::NotInOutbox { .. })
    ));
    assert!(matches!(
        store.outbox_record_failure(id, "x", false),
        Err(StoreError::NotInOutbox { .. })
    ));
}

#[test]
fn moving_a_message_out_of_the_outbox_cancels_sending() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let id = store.outbox_add(b"x", envelope()).unwrap();
    store.move_to(id, Folder::Drafts).unwrap();
    assert!(store.outbox_entries().unwrap().is_empty());
    store.move_to(id, Folder::Outbox).unwrap();
    assert!(
        store.outbox_entries().unwrap().is_empty(),
        "no envelope any more"
    );
}

#[test]
fn envelopes_that_could_inject_smtp_commands_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let bad = [
        Envelope {
            from: "me@example.com".to_owned(),
            recipients: vec![],
        },
        Envelope {
            from: "me@example.com".to_owned(),
            recipients: vec!["a@b\r\nRCPT TO:<evil@x>".to_owned()],
        },
        Envelope {
            from: "me@example.com>".to_owned(),
            recipients: vec!["a@b".to_owned()],
        },
        Envelope {
            from: String::new(),
            recipients: vec!["a@b".to_owned()],
        },
    ];
    for envelope in bad {
        let error = store.outbox_add(b"x", envelope).unwrap_err();
        assert!(
            matches!(error, StoreError::InvalidEnvelope { .. }),
            "{error:?}"
        );
        assert_eq!(error.kind(), ErrorKind::Input);
    }
    assert_eq!(store.count(Folder::Outbox).unwrap(), 0);
    assert!(tmp_files(dir.path()).is_empty());
}

// ----- listing -----------------------------------------------------------------

#[test]
fn lists_sort_and_page_without_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let subjects = [
        "Re: banana",
        "apple",
        "RE: Fwd: cherry",
        "Banana split",
        "date",
    ];
    let mut batch = store.batch();
    for (n, subject) in subjects.iter().enumerate() {
        let mut staged = batch.create_file().unwrap();
        staged.write_all(&vec![b'x'; 100 * (5 - n)]).unwrap();
        let mut message = download(&format!("u{n}"), n as u32);
        message.summary.subject = Some((*subject).to_owned());
        message.summary.from_name = if n == 2 {
            None
        } else {
            Some(format!("Zed {n}"))
        };
        message.summary.from_addr = Some(format!("{}@example.com", ["b", "c", "a", "e", "d"][n]));
        message.summary.date = if n == 4 { None } else { Some(1000 + n as i64) };
        batch.add(staged, message).unwrap();
    }
    batch.commit().unwrap();

    let subjects_in = |sort, descending| -> Vec<String> {
        store
            .list(
                Folder::Inbox,
                &ListQuery {
                    sort,
                    descending,
                    offset: 0,
                    limit: 10,
                },
            )
            .unwrap()
            .into_iter()
            .map(|m| m.summary.subject.unwrap())
            .collect()
    };
    assert_eq!(
        subjects_in(SortColumn::Subject, false),
        [
            "apple",
            "Re: banana",
            "Banana split",
            "RE: Fwd: cherry",
            "date"
        ]
    );
    // No Date header: sorted by arrival (1_800_000_000, newest here).
    assert_eq!(subjects_in(SortColumn::Date, true)[0], "date");
    assert_eq!(subjects_in(SortColumn::Size, true)[0], "Re: banana");
    // Display name first, else the address.
    assert_eq!(subjects_in(SortColumn::From, false)[0], "RE: Fwd: cherry");

    let mut seen = Vec::new();
    for page in 0..3 {
        let query = ListQuery {
            sort: SortColumn::Date,
            descending: true,
            offset: page * 2,
            limit: 2,
        };
        seen.extend(
            store
                .list(Folder::Inbox, &query)
                .unwrap()
                .into_iter()
                .map(|m| m.id),
        );
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5));
}

#[test]
fn list_queries_use_the_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    for (sort, column) in [
        ("sort_date", "messages_by_date"),
        ("from_sort", "messages_by_from"),
        ("subject_sort", "messages_by_subject"),
        ("size", "messages_by_size"),
    ] {
        for direction in ["ASC", "DESC"] {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE folder = 'inbox'
                 AND state IN (1, 2) ORDER BY {sort} {direction}, id {direction} LIMIT 100"
            );
            let plan: Vec<String> = store
                .conn
                .prepare(&sql)
                .unwrap()
                .query_map([], |row| row.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains(column), "{sort}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sort} {direction}: {plan}");
        }
    }
    for sql in [
        "EXPLAIN QUERY PLAN SELECT count(*) FROM messages WHERE folder = 'inbox' AND state IN (1, 2)",
        "EXPLAIN QUERY PLAN SELECT count(*) FROM messages WHERE folder = 'inbox' AND state IN (1, 2) AND seen = 0",
    ] {
        let plan: String = store.conn.query_row(sql, [], |row| row.get(3)).unwrap();
        assert!(plan.contains("COVERING INDEX"), "{sql}: {plan}");
    }
}

// ----- opening -----------------------------------------------------------------

#[test]
fn a_second_writer_is_refused_but_readers_are_welcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    download_batch(&store, &[("a", 1)]).unwrap();
    let error = MailStore::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::InUse { .. }), "{error:?}");
    assert!(error.to_string().contains("in use"), "{error}");

    let reader = MailStore::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.count(Folder::Inbox).unwrap(), 1);
    let id = all(&reader, Folder::Inbox)[0].id;
    let error = reader.delete(id).unwrap_err();
    assert!(matches!(error, StoreError::ReadOnly { .. }), "{error:?}");
    assert!(matches!(
        reader.batch().create_file(),
        Err(StoreError::ReadOnly { .. })
    ));

    // The reader sees the writer's later commits.
    download_batch(&store, &[("b", 2)]).unwrap();
    assert_eq!(reader.count(Folder::Inbox).unwrap(), 2);

    drop(store);
    drop(open_when_free(dir.path()).unwrap());
    assert!(MailStore::open_read_only(&dir.path().join("nothing-here")).is_err());
}

#[test]
fn a_damaged_index_is_reported_clearly() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_when_free(dir.path()).unwrap());
    let index = dir.path().join("index.sqlite");
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(dir.path().join(format!("index.sqlite{suffix}")));
    }
    fs::write(&index, vec![0x5a; 8192]).unwrap();
    let error = open_when_free(dir.path()).unwrap_err();
    assert!(
        matches!(error, StoreError::CorruptIndex { .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Storage);
    assert!(error.to_string().ends_with("index.sqlite"), "{error}");
}

#[test]
fn another_programs_database_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.sqlite");
    {
        let conn = Connection::open(&index).unwrap();
        conn.execute_batch("CREATE TABLE notes (x); INSERT INTO notes VALUES (1);")
            .unwrap();
    }
    let error = open_when_free(dir.path()).unwrap_err();
    assert!(
        matches!(error, StoreError::ForeignIndex { .. }),
        "{error:?}"
    );
    let conn = Connection::open(&index).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn a_newer_index_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open_when_free(dir.path()).unwrap());
    {
        let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
    }
    let error = open_when_free(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::NewerIndex {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("newer Herald"), "{error}");
}

#[test]
fn the_index_uses_wal_and_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    let synchronous: i64 = store
        .conn
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(synchronous, 2, "FULL");
}

#[test]
fn error_messages_are_lowercase_and_end_with_the_path() {
    let path = PathBuf::from("/home/u/.local/share/herald/acct/index.sqlite");
    let errors = [
        StoreError::DiskFull {
            source: io::Error::from(io::ErrorKind::StorageFull),
            path: path.clone(),
        },
        StoreError::CorruptIndex {
            source: "boom".into(),
            path: path.clone(),
        },
        StoreError::ForeignIndex { path: path.clone() },
        StoreError::InUse { path: path.clone() },
        StoreError::Sync {
            source: io::Error::other("boom"),
            path: path.clone(),
        },
    ];
    for error in errors {
        let message = error.to_string();
        assert!(message.starts_with(char::is_lowercase), "{message}");
        assert!(message.ends_with("index.sqlite"), "{message}");
        assert!(!message.contains("boom"), "cause repeated: {message}");
        assert_eq!(error.kind(), ErrorKind::Storage);
    }
}

#[test]
fn a_store_can_move_to_the_account_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<MailStore>();
    assert_send::<StagedFile>();
    assert_send::<StoreError>();
    let dir = tempfile::tempdir().unwrap();
    let store = open_when_free(dir.path()).unwrap();
    let count = std::thread::spawn(move || {
        download_batch(&store, &[("a", 1)]).unwrap();
        store.count(Folder::Inbox).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(count, 1);
}
