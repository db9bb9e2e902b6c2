//! Fills a profile with a large generated inbox, for the frame-time
//! benchmark (`bench/ui_frames.py`) and for looking at a full list.
//!
//! `cargo run --release --example make_inbox -- PROFILE_DIR COUNT`
//!
//! Adds an account named `bench` (servers on 127.0.0.1:9, which nothing
//! answers) unless it exists, then COUNT messages to its Inbox: varied
//! senders in several scripts, subjects, dates over two years, one in five
//! with an attachment, one in three unread.

use std::io::Write;
use std::path::PathBuf;

use herald_core::account::{
    Account, AccountList, HostPort, Pop3Security, Pop3Server, Profile, SmtpSecurity, SmtpServer,
};
use herald_core::message::Summary;
use herald_core::store::{Flags, MailStore, MessageSummary, NewMessage};

const NAMES: &[(&str, &str)] = &[
    ("Ann Lee", "ann@example.org"),
    ("李伟", "li.wei@example.cn"),
    ("Мария Иванова", "maria@example.ru"),
    ("田中 花子", "hanako@example.jp"),
    ("Bob Stone", "bob@example.com"),
    ("Zoë Martin", "zoe@example.fr"),
    ("", "noreply@shop.example"),
    ("김민준", "minjun@example.kr"),
];

const SUBJECTS: &[&str] = &[
    "Quarterly report",
    "季度报告 第{n}期",
    "Встреча в четверг",
    "会議の議事録",
    "Re: Lunch on Friday?",
    "Your order #{n} has shipped",
    "Invoice {n}",
    "Fwd: photos from the trip",
];

fn message(n: usize, now: i64) -> (Vec<u8>, i64) {
    let (name, email) = NAMES[n % NAMES.len()];
    let subject = SUBJECTS[(n / 3) % SUBJECTS.len()].replace("{n}", &n.to_string());
    let date = now - (n as i64 * 617) % (730 * 86_400);
    let from = if name.is_empty() {
        email.to_owned()
    } else {
        format!("=?UTF-8?B?{}?= <{email}>", base64(name.as_bytes()))
    };
    let attachment = n.is_multiple_of(5);
    let body = format!(
        "Hello,\r\n\r\nThis is generated message number {n}. It has a few lines of text so\r\nthat search and the reader have something to work with.\r\n\r\nRegards,\r\n{name}\r\n"
    );
    let mut text = format!(
        "From: {from}\r\nTo: you@example.org\r\nSubject: =?UTF-8?B?{}?=\r\nDate: {}\r\nMessage-ID: <gen-{n}@example.org>\r\nMIME-Version: 1.0\r\n",
        base64(subject.as_bytes()),
        rfc2822(date)
    );
    if attachment {
        text.push_str("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
        text.push_str(&body);
        text.push_str("--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcTl8uXrp/Og0MTGCg==\r\n--b--\r\n");
    } else {
        text.push_str("Content-Type: text/plain; charset=utf-8\r\n\r\n");
        text.push_str(&body);
    }
    (text.into_bytes(), date)
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn rfc2822(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc2822()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: make_inbox PROFILE_DIR COUNT")?);
    let count: usize = args
        .next()
        .ok_or("usage: make_inbox PROFILE_DIR COUNT")?
        .parse()?;
    let profile = Profile::at(&dir);
    let mut list = AccountList::load(&profile)?;
    if list.get("bench").is_none() {
        let unreachable = |port| HostPort {
            host: "127.0.0.1".into(),
            port: Some(port),
        };
        list.add(Account {
            name: "bench".into(),
            email_addr: "you@example.org".into(),
            display_name: Some("You".into()),
            username: None,
            smtp: SmtpServer::new(unreachable(9), SmtpSecurity::ImplicitTls),
            pop3: Pop3Server::new(unreachable(9), Pop3Security::ImplicitTls),
            extra_ca_file: None,
            deletion_policy: Default::default(),
            max_message_size_bytes: None,
            password_command: Some("printf unused".into()),
            trusted_certificates: Vec::new(),
            signature: None,
            check_interval_minutes: None,
        })?;
        list.save(&profile)?;
    }
    let store = MailStore::open(&profile.mailbox_dir("bench"))?;
    let now = herald_core::store::unix_now();
    let started = std::time::Instant::now();
    let mut batch = store.batch();
    for n in 0..count {
        let (bytes, _date) = message(n, now);
        let summary = Summary::from_prefix(&bytes, true);
        let mut file = batch.create_file()?;
        file.write_all(&bytes)?;
        batch.add(
            file,
            NewMessage {
                uidl: Some(format!("gen-{n}")),
                server_size: Some(bytes.len() as u64),
                summary: MessageSummary::from(&summary),
                flags: Flags {
                    seen: !n.is_multiple_of(3),
                    ..Default::default()
                },
                received_at: now,
            },
        )?;
        if batch.len() == 5000 {
            batch.commit()?;
            batch = store.batch();
        }
    }
    batch.commit()?;
    println!(
        "{count} messages in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        profile.mailbox_dir("bench").display()
    );
    Ok(())
}
