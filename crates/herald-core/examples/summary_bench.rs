//! Benchmark of the list summary a download records for each message
//! (`Summary::from_prefix`): prints the time per message, asserts nothing.
//!
//! ```text
//! cargo run --release -p herald-core --example summary_bench -- DIR [ROUNDS]
//! ```
//!
//! Reads every file of `DIR` into memory (for example the mailbox A messages
//! of `bench/pop3_sync.py`, or `tests/corpus`) and summarises each of them
//! `ROUNDS` times (default 5), printing the median round.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use herald_core::message::Summary;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: summary_bench DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args
        .next()
        .and_then(|rounds| rounds.to_str()?.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut messages = Vec::new();
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(error) => {
            eprintln!("cannot read {}: {error}", dir.display());
            std::process::exit(1);
        }
    };
    entries.sort();
    for path in entries {
        if let Ok(bytes) = std::fs::read(&path)
            && path.is_file()
        {
            messages.push(bytes);
        }
    }
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let mut times: Vec<Duration> = Vec::new();
    let mut attachments = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        attachments = 0;
        for message in &messages {
            let summary = Summary::from_prefix(std::hint::black_box(message), true);
            attachments += usize::from(summary.has_attachments);
        }
        times.push(started.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{} messages, {:.1} MB, {attachments} with attachments: median of {rounds} rounds {:.3} s, {:.1} µs per message, {:.0} MB/s",
        messages.len(),
        bytes as f64 / 1e6,
        median.as_secs_f64(),
        median.as_secs_f64() * 1e6 / messages.len().max(1) as f64,
        bytes as f64 / 1e6 / median.as_secs_f64()
    );
}
