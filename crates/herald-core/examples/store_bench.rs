//! Benchmark of the local store: prints tables, asserts nothing.
//!
//! ```text
//! cargo run --release -p herald-core --example store_bench [-- DIR...]
//! ```
//!
//! Without arguments it measures in the system temp folder (a real disk on
//! most machines) and in `/dev/shm` (tmpfs) when it exists.
//!
//! 1. Downloads: 5,000 messages of 20 KB streamed into batches of 200, with
//!    the default `syncfs` flush and with one fsync per file; next to a
//!    baseline that only writes the files (no durability, no index), so the
//!    difference is what durability and the index cost; and next to
//!    the per-message Maildir way (write, fsync, rename, fsync folder) that
//!    getmail6 uses.
//! 2. A 100,000-message Inbox: `uidl_states`, `list` pages, counts, and
//!    opening the store.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use herald_core::store::{
    Flags, Folder, ListQuery, MailStore, MessageSummary, NewMessage, SortColumn, SyncMode,
};

const MESSAGES: u32 = 5_000;
const MESSAGE_BYTES: usize = 20 * 1024;
const BATCH: u32 = 200;
const BIG_FOLDER: u32 = 100_000;
const ROUNDS: usize = 3;

fn main() {
    let dirs: Vec<PathBuf> = {
        let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
        if args.is_empty() {
            let mut dirs = vec![std::env::temp_dir()];
            if Path::new("/dev/shm").is_dir() {
                dirs.push(PathBuf::from("/dev/shm"));
            }
            dirs
        } else {
            args
        }
    };

    println!(
        "## Downloads: {MESSAGES} x {} KB in batches of {BATCH}\n",
        MESSAGE_BYTES / 1024
    );
    println!(
        "Each method runs {ROUNDS} times, interleaved (the disk is shared with other work); \
         min / median.\n"
    );
    println!(
        "| where | method | total | per message (median) | of which commit | \
         median minus baseline |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for dir in &dirs {
        let methods = [
            "write files only (baseline)",
            "store, syncfs per batch",
            "store, fsync per file",
            "maildir, fsync per message (getmail6 style)",
        ];
        let mut runs: Vec<Vec<(Duration, Option<Duration>)>> = vec![Vec::new(); methods.len()];
        for _ in 0..ROUNDS {
            runs[0].push((write_only(dir), None));
            let (total, commit) = store_downloads(dir, SyncMode::Batched);
            runs[1].push((total, Some(commit)));
            let (total, commit) = store_downloads(dir, SyncMode::PerFile);
            runs[2].push((total, Some(commit)));
            runs[3].push((maildir_fsync_each(dir), None));
        }
        let baseline = min_median(runs[0].iter().map(|r| r.0)).1;
        for (method, runs) in methods.iter().zip(&runs) {
            let total = min_median(runs.iter().map(|r| r.0));
            let commit = runs
                .iter()
                .map(|r| r.1)
                .collect::<Option<Vec<_>>>()
                .map(|commits| min_median(commits.into_iter()));
            let ms = |d: Duration| format!("{:.0}", d.as_secs_f64() * 1000.0);
            let pair =
                |(min, median): (Duration, Duration)| format!("{} / {} ms", ms(min), ms(median));
            println!(
                "| {} | {method} | {} | {:.1} µs | {} | {} |",
                dir.display(),
                pair(total),
                total.1.as_secs_f64() * 1e6 / f64::from(MESSAGES),
                commit.map_or("-".to_owned(), pair),
                if *method == methods[0] {
                    "-".to_owned()
                } else {
                    format!("{} ms", ms(total.1.saturating_sub(baseline)))
                },
            );
        }
    }

    let big_dir = dirs.last().map_or_else(std::env::temp_dir, Clone::clone);
    println!(
        "\n## A {BIG_FOLDER}-message Inbox (in {})\n",
        big_dir.display()
    );
    big_folder(&big_dir);
}

fn min_median(times: impl Iterator<Item = Duration>) -> (Duration, Duration) {
    let mut times: Vec<Duration> = times.collect();
    times.sort();
    (times[0], times[times.len() / 2])
}

fn message_bytes(n: u32) -> Vec<u8> {
    let mut bytes = format!(
        "From: Sender {n} <sender{n}@example.com>\r\nTo: me@example.com\r\n\
         Subject: benchmark message {n}\r\nMessage-ID: <{n}@bench.example>\r\n\r\n"
    )
    .into_bytes();
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
    while bytes.len() + line.len() <= MESSAGE_BYTES {
        bytes.extend_from_slice(line);
    }
    bytes.resize(MESSAGE_BYTES, b'.');
    bytes
}

fn new_message(n: u32, size: usize) -> NewMessage {
    NewMessage {
        uidl: Some(format!("UID{n:08}")),
        server_size: Some(size as u64),
        summary: MessageSummary {
            from_name: Some(format!("Sender {}", n % 977)),
            from_addr: Some(format!("sender{}@example.com", n % 977)),
            to: vec!["me@example.com".to_owned()],
            cc: vec![],
            subject: Some(format!(
                "Re: benchmark message {}",
                n.wrapping_mul(7919) % 100_003
            )),
            date: Some(1_600_000_000 + i64::from(n.wrapping_mul(104_729) % 50_000_000)),
            message_id: Some(format!("<{n}@bench.example>")),
            has_attachments: n.is_multiple_of(10),
        },
        flags: Flags {
            seen: !n.is_multiple_of(3),
            ..Flags::default()
        },
        received_at: 1_700_000_000 + i64::from(n),
    }
}

/// Writes the files in 4 KB chunks (as lines arrive from POP3), closes
/// them, nothing else.
fn write_only(base: &Path) -> Duration {
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let messages: Vec<Vec<u8>> = (0..MESSAGES).map(message_bytes).collect();
    let start = Instant::now();
    for (n, bytes) in messages.iter().enumerate() {
        let mut file = File::create(dir.path().join(n.to_string())).expect("create");
        for chunk in bytes.chunks(4096) {
            file.write_all(chunk).expect("write");
        }
    }
    start.elapsed()
}

/// The sync engine's path: stream each message into a staged file, add,
/// commit every `BATCH` messages. Returns (total, time inside commit).
fn store_downloads(base: &Path, mode: SyncMode) -> (Duration, Duration) {
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let mut store = MailStore::open(dir.path()).expect("open");
    store.set_sync_mode(mode);
    let messages: Vec<Vec<u8>> = (0..MESSAGES).map(message_bytes).collect();
    let mut in_commit = Duration::ZERO;
    let start = Instant::now();
    let mut batch = store.batch();
    for (n, bytes) in (0..MESSAGES).zip(&messages) {
        let mut staged = batch.create_file().expect("staged");
        for chunk in bytes.chunks(4096) {
            staged.write_all(chunk).expect("write");
        }
        batch.add(staged, new_message(n, bytes.len())).expect("add");
        if batch.len() == BATCH as usize {
            let commit = Instant::now();
            batch.commit().expect("commit");
            in_commit += commit.elapsed();
            batch = store.batch();
        }
    }
    let commit = Instant::now();
    batch.commit().expect("commit");
    in_commit += commit.elapsed();
    let total = start.elapsed();
    assert_eq!(
        store.count(Folder::Inbox).expect("count"),
        u64::from(MESSAGES)
    );
    (total, in_commit)
}

/// The classic durable Maildir delivery, one message at a time.
fn maildir_fsync_each(base: &Path) -> Duration {
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let tmp = dir.path().join("tmp");
    let new = dir.path().join("new");
    fs::create_dir_all(&tmp).expect("tmp");
    fs::create_dir_all(&new).expect("new");
    let messages: Vec<Vec<u8>> = (0..MESSAGES).map(message_bytes).collect();
    let start = Instant::now();
    for (n, bytes) in messages.iter().enumerate() {
        let name = n.to_string();
        let mut file = File::create(tmp.join(&name)).expect("create");
        for chunk in bytes.chunks(4096) {
            file.write_all(chunk).expect("write");
        }
        file.sync_all().expect("fsync");
        fs::rename(tmp.join(&name), new.join(&name)).expect("rename");
        File::open(&new)
            .and_then(|d| d.sync_all())
            .expect("fsync dir");
    }
    start.elapsed()
}

fn big_folder(base: &Path) {
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let store = MailStore::open(dir.path()).expect("open");
    let small = |n: u32| format!("Subject: {n}\r\n\r\nbody {n}\r\n").into_bytes();
    let start = Instant::now();
    let mut n = 0;
    while n < BIG_FOLDER {
        let mut batch = store.batch();
        for _ in 0..1000 {
            let bytes = small(n);
            let mut staged = batch.create_file().expect("staged");
            staged.write_all(&bytes).expect("write");
            batch.add(staged, new_message(n, bytes.len())).expect("add");
            n += 1;
        }
        batch.commit().expect("commit");
    }
    let build = start.elapsed();
    drop(store);

    let (open, store) = timed(|| MailStore::open(dir.path()).expect("reopen"));
    println!("| operation | time |");
    println!("|---|---:|");
    println!(
        "| build: {BIG_FOLDER} small messages in batches of 1000 | {} |",
        fmt(build)
    );
    println!("| MailStore::open (with recovery check) | {} |", fmt(open));
    let (first, states) = timed(|| store.uidl_states().expect("states"));
    assert_eq!(states.len(), BIG_FOLDER as usize);
    let again = median(|| {
        store.uidl_states().expect("states");
    });
    println!(
        "| uidl_states() -> {} entries (first / median of 5) | {} / {} |",
        states.len(),
        fmt(first),
        fmt(again)
    );
    for (label, sort, offset) in [
        ("list(Inbox, date desc, limit 100)", SortColumn::Date, 0),
        ("list(Inbox, from asc, limit 100)", SortColumn::From, 0),
        (
            "list(Inbox, subject asc, limit 100)",
            SortColumn::Subject,
            0,
        ),
        ("list(Inbox, size desc, limit 100)", SortColumn::Size, 0),
        (
            "list(Inbox, date desc, offset 99,900, limit 100)",
            SortColumn::Date,
            99_900,
        ),
    ] {
        let query = ListQuery {
            sort,
            descending: sort != SortColumn::From && sort != SortColumn::Subject,
            offset,
            limit: 100,
        };
        let page = store.list(Folder::Inbox, &query).expect("list");
        assert_eq!(page.len(), 100);
        println!(
            "| {label} | {} |",
            fmt(median(|| {
                store.list(Folder::Inbox, &query).expect("list");
            }))
        );
    }
    println!(
        "| count(Inbox) | {} |",
        fmt(median(|| {
            store.count(Folder::Inbox).expect("count");
        }))
    );
    println!(
        "| unread_count(Inbox) | {} |",
        fmt(median(|| {
            store.unread_count(Folder::Inbox).expect("unread");
        }))
    );
    let id = store
        .list(
            Folder::Inbox,
            &ListQuery {
                limit: 1,
                ..ListQuery::default()
            },
        )
        .expect("list")[0]
        .id;
    println!(
        "| set_flags(one message) (rename + 2 commits) | {} |",
        fmt(median(|| {
            store
                .set_flags(
                    id,
                    Flags {
                        seen: true,
                        flagged: true,
                        answered: false,
                    },
                )
                .expect("flags");
            store.set_flags(id, Flags::default()).expect("flags");
        }) / 2)
    );
}

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed(), value)
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..5).map(|_| timed(&mut f).0).collect();
    times.sort();
    times[2]
}

fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    }
}
