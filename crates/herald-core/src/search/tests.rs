#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use super::*;
use crate::store::{Flags, Folder, NewMessage};

fn message(subject: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Ann <ann@example.org>\r\nTo: bob@example.com\r\nSubject: {subject}\r\n\
         MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn add(store: &MailStore, folder: Folder, raw: &[u8]) -> i64 {
    store
        .add_message(folder, raw, NewMessage::default())
        .unwrap()
}

fn ids(list: &[i64]) -> HashSet<i64> {
    list.iter().copied().collect()
}

fn find(index: &SearchIndex, query: &str) -> Vec<HashSet<i64>> {
    index.find(&query_words(query)).unwrap()
}

fn update(index: &mut SearchIndex, store: &MailStore) -> Coverage {
    index.update(store, &mut |_| true).unwrap()
}

#[test]
fn finds_words_in_plain_and_html_bodies_by_prefix_case_and_accents() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let plain = add(
        &store,
        Folder::Inbox,
        &message(
            "hello",
            "text/plain",
            "Please pay the INVOICE for Über-Straße by Friday.",
        ),
    );
    let html = add(
        &store,
        Folder::Sent,
        &message(
            "news",
            "text/html",
            "<html><body><p>Встреча <b>перенесена</b> на завтра</p><script>hidden()</script></body></html>",
        ),
    );
    let mut index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(
        update(&mut index, &store),
        Coverage {
            indexed: 2,
            total: 2
        }
    );

    assert_eq!(find(&index, "invoice"), vec![ids(&[plain])]);
    assert_eq!(find(&index, "invo"), vec![ids(&[plain])], "word prefix");
    assert_eq!(find(&index, "voice"), vec![ids(&[])], "not inside a word");
    assert_eq!(find(&index, "uber strasse"), vec![ids(&[plain]), ids(&[])]);
    assert_eq!(find(&index, "über"), vec![ids(&[plain])]);
    assert_eq!(
        find(&index, "ПЕРЕНЕСЕНА"),
        vec![ids(&[html])],
        "Cyrillic case"
    );
    assert_eq!(find(&index, "встреч"), vec![ids(&[html])]);
    assert_eq!(find(&index, "hidden"), vec![ids(&[])], "script is not text");
    assert_eq!(find(&index, "@ --"), vec![ids(&[]), ids(&[])]);
}

#[test]
fn chinese_and_japanese_match_runs_of_characters() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let chinese = add(
        &store,
        Folder::Inbox,
        &message("报告", "text/plain", "您好，请查收本月发票。谢谢！"),
    );
    let japanese = add(
        &store,
        Folder::Inbox,
        &message("会議", "text/plain", "明日の会議は十時からです。"),
    );
    let mut index = SearchIndex::open(dir.path()).unwrap();
    update(&mut index, &store);
    assert_eq!(find(&index, "发票"), vec![ids(&[chinese])]);
    assert_eq!(find(&index, "票"), vec![ids(&[chinese])]);
    assert_eq!(
        find(&index, "发谢"),
        vec![ids(&[])],
        "characters must be adjacent"
    );
    assert_eq!(find(&index, "会議は"), vec![ids(&[japanese])]);
    assert_eq!(find(&index, "議会"), vec![ids(&[])]);
}

#[test]
fn attachment_names_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let raw = b"From: a@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''Jahresbericht%202026.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n";
    let id = add(&store, Folder::Inbox, raw);
    let mut index = SearchIndex::open(dir.path()).unwrap();
    update(&mut index, &store);
    assert_eq!(find(&index, "jahresbericht"), vec![ids(&[id])]);
}

#[test]
fn update_indexes_only_what_is_new_and_forgets_what_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let first = add(&store, Folder::Inbox, &message("a", "text/plain", "alpha"));
    let second = add(
        &store,
        Folder::Inbox,
        &message("b", "text/plain", "alphabet"),
    );
    let mut index = SearchIndex::open(dir.path()).unwrap();
    update(&mut index, &store);

    // A flag change renames the file; a move changes its folder: neither
    // needs indexing again.
    store
        .set_flags(
            first,
            Flags {
                seen: true,
                ..Flags::default()
            },
        )
        .unwrap();
    store.move_to(second, Folder::Trash).unwrap();
    let third = add(
        &store,
        Folder::Inbox,
        &message("c", "text/plain", "gamma alpha"),
    );
    let mut reports = Vec::new();
    let coverage = index
        .update(&store, &mut |coverage| {
            reports.push(coverage);
            true
        })
        .unwrap();
    assert_eq!(
        coverage,
        Coverage {
            indexed: 3,
            total: 3
        }
    );
    assert_eq!(
        reports,
        vec![Coverage {
            indexed: 3,
            total: 3
        }],
        "one new message, one batch"
    );
    assert_eq!(find(&index, "alpha"), vec![ids(&[first, second, third])]);

    store.delete(first).unwrap(); // to Trash
    let trashed = store.get(first).unwrap().map(|message| message.id);
    if let Some(id) = trashed {
        store.delete(id).unwrap(); // for good
    }
    store.delete(second).unwrap(); // already in Trash: gone
    update(&mut index, &store);
    assert_eq!(find(&index, "alpha"), vec![ids(&[third])]);
    assert_eq!(
        index.coverage(&store).unwrap(),
        Coverage {
            indexed: 1,
            total: 1
        }
    );
}

#[test]
fn a_store_rebuilt_from_scratch_is_not_confused_with_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = MailStore::open(dir.path()).unwrap();
        add(
            &store,
            Folder::Inbox,
            &message("old", "text/plain", "obsolete words"),
        );
        let mut index = SearchIndex::open(dir.path()).unwrap();
        update(&mut index, &store);
    }
    // The mailbox is deleted and downloaded again; the index file stays.
    std::fs::remove_dir_all(dir.path().join("Maildir")).unwrap();
    for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let store = MailStore::open(dir.path()).unwrap();
    let id = add(
        &store,
        Folder::Inbox,
        &message("new", "text/plain", "fresh words"),
    );
    let mut index = SearchIndex::open(dir.path()).unwrap();
    update(&mut index, &store);
    assert_eq!(find(&index, "obsolete fresh"), vec![ids(&[]), ids(&[id])]);
}

#[test]
fn stopping_keeps_what_was_committed_and_the_next_update_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let mut batch = store.batch();
    for n in 0..(BATCH + 10) {
        let raw = message(&format!("m{n}"), "text/plain", &format!("common word{n}"));
        batch
            .add_bytes(
                &raw,
                NewMessage {
                    uidl: Some(format!("u{n}")),
                    ..NewMessage::default()
                },
                None,
            )
            .unwrap();
    }
    batch.commit().unwrap();
    let mut index = SearchIndex::open(dir.path()).unwrap();
    let first = index.update(&store, &mut |_| false).unwrap();
    assert_eq!(first.indexed, BATCH as u64);
    assert!(!first.complete());
    // Newest first: the last message added is already searchable.
    let newest = format!("word{}", BATCH + 9);
    assert_eq!(find(&index, &newest)[0].len(), 1);
    assert_eq!(find(&index, "word0")[0].len(), 0);
    let second = update(&mut index, &store);
    assert!(second.complete());
    assert_eq!(find(&index, "common")[0].len(), BATCH + 10);
}

#[test]
fn a_damaged_or_foreign_index_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let id = add(&store, Folder::Inbox, &message("x", "text/plain", "needle"));
    std::fs::write(
        dir.path().join(INDEX_FILE_NAME),
        b"this is not sqlite at all",
    )
    .unwrap();
    let mut index = SearchIndex::open(dir.path()).unwrap();
    update(&mut index, &store);
    assert_eq!(find(&index, "needle"), vec![ids(&[id])]);
}

#[test]
fn find_in_mailbox_answers_from_what_update_mailbox_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let store = MailStore::open(dir.path()).unwrap();
    let id = add(
        &store,
        Folder::Inbox,
        &message("x", "text/plain", "haystack needle"),
    );
    add(&store, Folder::Inbox, &message("y", "text/plain", "other"));
    let before = find_in_mailbox(dir.path(), &query_words("needle")).unwrap();
    assert_eq!(
        SearchIndex::open(dir.path())
            .unwrap()
            .coverage(&store)
            .unwrap(),
        Coverage {
            indexed: 0,
            total: 2
        }
    );
    assert!(!before.contains(0, id));
    update_mailbox(dir.path(), &mut |_| true).unwrap();
    let after = find_in_mailbox(dir.path(), &query_words("needle")).unwrap();
    assert_eq!(
        SearchIndex::open(dir.path())
            .unwrap()
            .coverage(&store)
            .unwrap(),
        Coverage {
            indexed: 2,
            total: 2
        }
    );
    assert!(after.contains(0, id));
}

#[test]
fn header_haystack_holds_subject_people_and_addresses() {
    let summary = MessageSummary {
        from_name: Some("Zhang San".into()),
        from_addr: Some("zhang@example.cn".into()),
        to: vec!["Bob <Bob@Example.com>".into()],
        cc: vec!["carol@example.net".into()],
        subject: Some("Quarterly REPORT".into()),
        ..MessageSummary::default()
    };
    let haystack = header_haystack(&summary);
    for word in query_words("report ZHANG bob@example carol") {
        assert!(haystack.contains(&word), "{word}");
    }
    assert!(!haystack.contains("dave"));
}

#[test]
fn index_text_sets_unspaced_scripts_apart() {
    assert_eq!(to_index_text("ab发票cd"), "ab 发  票 cd");
    assert_eq!(to_index_text("Привет"), "Привет");
    assert_eq!(text::match_expression("e-mail").unwrap(), "\"e-mail\" *");
    assert_eq!(text::match_expression("a\"b").unwrap(), "\"a\"\"b\" *");
    assert_eq!(text::match_expression("!!"), None);
}
