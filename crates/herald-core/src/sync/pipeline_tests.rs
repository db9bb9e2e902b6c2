//! The download pipeline (network, summarizer and storing threads): messages
//! whose sizes fall around the piece size, summaries of messages that come
//! in several pieces, and a transfer cut inside a message of several pieces.

use super::tests::{Fixture, assert_consistent, inbox, inbox_bytes, large_message};
use super::*;
use crate::error::{Classify, ErrorKind};
use crate::pop3::fake::{FakeMessage, FakePop3, Retr};

/// Message `n` (with an attachment when `n` is a multiple of 3), exactly
/// `size` bytes long (at least 1 KB).
fn message_of(n: u32, size: usize) -> Vec<u8> {
    let mut bytes = large_message(n, size.saturating_sub(100));
    let fill = size - bytes.len() - 2;
    bytes.extend(std::iter::repeat_n(b'x', fill));
    bytes.extend_from_slice(b"\r\n");
    assert_eq!(bytes.len(), size);
    bytes
}

/// What the download must record for `bytes`: the summary of its first
/// bytes, parsed fully when they are the whole message.
fn expected_summary(bytes: &[u8]) -> store::MessageSummary {
    let complete = bytes.len() <= SUMMARY_PREFIX_BYTES;
    let prefix = &bytes[..bytes.len().min(SUMMARY_PREFIX_BYTES)];
    crate::store::MessageSummary::from(&Summary::from_prefix(prefix, complete))
}

#[test]
fn messages_around_the_piece_size_are_stored_byte_exact_with_their_summaries() {
    let sizes = [
        PIECE_BYTES - 1,
        PIECE_BYTES,
        PIECE_BYTES + 1,
        2 * PIECE_BYTES,
        600_000,
        SUMMARY_PREFIX_BYTES,
        SUMMARY_PREFIX_BYTES + 1,
        3_000_000,
    ];
    let messages: Vec<FakeMessage> = sizes
        .iter()
        .enumerate()
        .flat_map(|(i, &size)| {
            // Each size with and without an attachment, and a small message
            // after each (a piece that mixes two messages' ends).
            let n = 10 * i as u32;
            [
                FakeMessage::new(&format!("a-{i}"), message_of(n + 3, size)),
                FakeMessage::new(&format!("b-{i}"), message_of(n + 4, size)),
                FakeMessage::new(&format!("c-{i}"), message_of(n + 5, 2000)),
            ]
        })
        .collect();
    let server = FakePop3::start(messages.clone());
    let mut fixture = Fixture::new(&server);
    let report = fixture.sync().unwrap();
    assert_eq!(report.downloaded as usize, messages.len());
    let total: u64 = messages.iter().map(|m| m.bytes.len() as u64).sum();
    assert_eq!(report.bytes, total);

    let stored = inbox_bytes(&fixture.store);
    let listed = inbox(&fixture.store);
    for message in &messages {
        assert!(
            stored.get(&message.uidl) == Some(&message.bytes),
            "{} ({} bytes) differs",
            message.uidl,
            message.bytes.len()
        );
        let row = listed
            .iter()
            .find(|m| m.uidl.as_deref() == Some(message.uidl.as_str()))
            .unwrap();
        assert_eq!(
            row.summary,
            expected_summary(&message.bytes),
            "{}",
            message.uidl
        );
    }
    // Both answers occur, or the test tests little.
    assert!(listed.iter().any(|m| m.summary.has_attachments));
    assert!(listed.iter().any(|m| !m.summary.has_attachments));
    assert_consistent(&fixture.store);
}

#[test]
fn a_transfer_cut_inside_a_message_of_several_pieces_keeps_what_was_complete() {
    let messages = vec![
        FakeMessage::new("uid-1", message_of(1, 3 * PIECE_BYTES)),
        FakeMessage::new("uid-2", message_of(3, 2000)),
        FakeMessage::new("uid-3", message_of(6, 5 * PIECE_BYTES)),
        FakeMessage::new("uid-4", message_of(7, 2000)),
    ];
    let server = FakePop3::start(messages.clone());
    server.set_retr("uid-3", Retr::DropAfter(2 * PIECE_BYTES + 1000));
    let mut fixture = Fixture::new(&server);
    let error = fixture.sync().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network, "{error:?}");
    assert!(server.record().quits.is_empty());

    fixture.reopen();
    assert_consistent(&fixture.store);
    let stored = inbox_bytes(&fixture.store);
    assert_eq!(stored.len(), 2, "{:?}", stored.keys());
    assert!(stored.get("uid-1") == Some(&messages[0].bytes));
    assert!(stored.get("uid-2") == Some(&messages[1].bytes));

    server.set_retr("uid-3", Retr::Normal);
    let report = fixture.sync().unwrap();
    assert_eq!((report.downloaded, report.skipped), (2, 2));
    let stored = inbox_bytes(&fixture.store);
    for message in &messages {
        assert!(stored.get(&message.uidl) == Some(&message.bytes));
    }
    assert_consistent(&fixture.store);
}
