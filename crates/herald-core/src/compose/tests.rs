use super::*;
use crate::message::Message;

fn addr(name: Option<&str>, email: &str) -> Address {
    Address {
        name: name.map(str::to_owned),
        email: email.to_owned(),
    }
}

fn file(name: &str, bytes: &[u8]) -> DraftFile {
    DraftFile {
        filename: name.to_owned(),
        content_type: None,
        bytes: bytes.to_vec(),
    }
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn draft() -> Draft {
    Draft {
        from: addr(Some("Ann"), "ann@example.org"),
        to: vec![addr(None, "bob@example.com")],
        cc: vec![],
        bcc: vec![addr(Some("Secret"), "hidden@example.net")],
        subject: "Hello".into(),
        body: DraftBody::Plain("Hi Bob".into()),
        inline_images: vec![],
        attachments: vec![],
        in_reply_to: None,
        references: vec![],
    }
}

fn header_section(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
}

#[test]
fn bcc_is_in_envelope_and_local_copy_but_never_in_sent_bytes() {
    let composed = draft().compose().expect("composes");
    assert!(!String::from_utf8_lossy(&composed.sendable).contains("hidden@example.net"));
    assert!(header_section(&composed.local_copy).contains("hidden@example.net"));
    assert!(
        composed
            .envelope_recipients
            .contains(&"hidden@example.net".to_owned())
    );
    assert_eq!(composed.envelope_from, "ann@example.org");
}

#[test]
fn message_id_uses_sender_domain() {
    let composed = draft().compose().expect("composes");
    assert!(
        composed.message_id.ends_with("@example.org"),
        "{}",
        composed.message_id
    );
    let parsed = Message::parse(composed.sendable).expect("parses");
    assert_eq!(parsed.headers.message_id, Some(composed.message_id));
}

#[test]
fn crlf_in_display_names_and_subject_cannot_inject_headers() {
    let mut d = draft();
    d.from = addr(Some("Ann\r\nBcc: victim@evil.test"), "ann@example.org");
    d.to = vec![addr(Some("Bob\n\u{202E}X"), "bob@example.com")];
    d.subject = "Hi\r\nX-Injected: yes".into();
    let composed = d.compose().expect("composes without panicking");
    let headers = header_section(&composed.sendable);
    assert!(!headers.contains("\r\nBcc:"), "{headers}");
    assert!(!headers.contains("\r\nX-Injected:"), "{headers}");
    let parsed = Message::parse(composed.sendable).expect("parses");
    assert_eq!(
        parsed.headers.subject.as_deref(),
        Some("Hi X-Injected: yes")
    );
    assert_eq!(
        parsed.headers.from[0].name.as_deref(),
        Some("Ann Bcc: victim@evil.test")
    );
}

#[test]
fn address_with_control_characters_is_refused() {
    let mut d = draft();
    d.to = vec![addr(None, "bob@example.com\r\nBcc: x@y")];
    assert!(matches!(
        d.compose(),
        Err(ComposeError::InvalidAddress { field: "to", .. })
    ));
}

#[test]
fn bare_line_endings_are_normalised_before_lettre() {
    let mut d = draft();
    d.body = DraftBody::Plain("line one\n.\nline three\rend".into());
    let composed = d.compose().expect("composes");
    let body = String::from_utf8_lossy(&composed.sendable);
    let body = body.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert!(
        !body.replace("\r\n", "").contains('\n'),
        "bare LF left: {body:?}"
    );
    assert!(
        !body.replace("\r\n", "").contains('\r'),
        "bare CR left: {body:?}"
    );
}

#[test]
fn html_with_inline_images_and_attachments_has_the_documented_tree() {
    let mut d = draft();
    d.body = DraftBody::Html {
        html: "<p>Logo: <img src=\"logo.png\"></p>".into(),
        text: None,
    };
    d.inline_images = vec![
        InlineImage {
            file: file("logo.png", PNG),
            content_id: None,
        },
        InlineImage {
            file: file("chart.png", PNG),
            content_id: Some("chart@x".into()),
        },
    ];
    d.attachments = vec![
        file("报告.pdf", b"%PDF-1.4 test"),
        file("Отчёт.txt", b"plain\0bytes"),
    ];
    let composed = d.compose().expect("composes");
    let parsed = Message::parse(composed.sendable).expect("parses");
    let types: Vec<(&str, &str)> = parsed
        .parts
        .iter()
        .map(|p| (p.path.as_str(), p.content_type.as_str()))
        .collect();
    assert_eq!(
        types,
        vec![
            ("1", "multipart/mixed"),
            ("1.1", "multipart/alternative"),
            ("1.1.1", "text/plain"),
            ("1.1.2", "multipart/related"),
            ("1.1.2.1", "text/html"),
            ("1.1.2.2", "image/png"),
            ("1.1.2.3", "image/png"),
            ("1.2", "application/pdf"),
            ("1.3", "text/plain"),
        ]
    );
    let names: Vec<(&str, bool)> = parsed
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.inline))
        .collect();
    assert_eq!(
        names,
        vec![
            ("logo.png", true),
            ("chart.png", true),
            ("报告.pdf", false),
            ("Отчёт.txt", false)
        ]
    );
    assert_eq!(
        parsed.decoded_body(parsed.attachments[3].part_index),
        b"plain\0bytes"
    );
    let html = parsed.html.expect("has html");
    assert!(html.contains("cid:logo.png."), "{html}");
    assert!(html.contains("cid:chart@x"), "appended reference: {html}");
    assert!(
        parsed.text.contains("Logo:"),
        "plain alternative derived: {}",
        parsed.text
    );
}

#[test]
fn plain_text_with_inline_image_is_refused() {
    let mut d = draft();
    d.inline_images = vec![InlineImage {
        file: file("a.png", PNG),
        content_id: None,
    }];
    assert!(matches!(
        d.compose(),
        Err(ComposeError::InlineImagesNeedHtml)
    ));
}

#[test]
fn draft_without_recipients_is_refused() {
    let mut d = draft();
    d.to.clear();
    d.bcc.clear();
    assert!(matches!(d.compose(), Err(ComposeError::NoRecipient)));
}

#[test]
fn reply_headers_are_set() {
    let mut d = draft();
    d.in_reply_to = Some("<orig@example.com>".into());
    d.references = vec!["root@example.com".into(), "orig@example.com".into()];
    let parsed = Message::parse(d.compose().expect("composes").sendable).expect("parses");
    assert_eq!(
        parsed.headers.in_reply_to,
        vec!["orig@example.com".to_owned()]
    );
    assert_eq!(
        parsed.headers.references,
        vec!["root@example.com".to_owned(), "orig@example.com".to_owned()]
    );
}

#[test]
fn header_removal_keeps_folded_lines_of_other_fields() {
    let input = b"To: a@b\r\nBcc: x@y,\r\n z@w\r\nSubject: s\r\n\r\nBcc: body stays\r\n";
    assert_eq!(
        remove_header_field(input, b"bcc"),
        b"To: a@b\r\nSubject: s\r\n\r\nBcc: body stays\r\n".to_vec()
    );
}

#[test]
fn address_lists_parse_names_and_addresses() {
    let parsed = parse_address_list("Ann <ann@example.org>, bob@example.com").expect("parses");
    assert_eq!(
        parsed,
        vec![
            addr(Some("Ann"), "ann@example.org"),
            addr(None, "bob@example.com")
        ]
    );
    assert!(parse_address_list("not an address").is_err());
}

#[test]
fn an_existing_message_is_prepared_with_bcc_only_in_the_envelope() {
    let eml = b"From: Ann <ann@example.org>\r\nTo: bob@example.org, \"C\" <carol@example.org>\r\nCc: dan@example.org\r\nBcc: secret@example.org,\r\n  other@example.org\r\nMessage-ID: <x@example.org>\r\nSubject: hi\r\n\r\nBcc: this line is body text\r\n";
    let prepared = ComposedMessage::from_existing(eml.to_vec()).unwrap();
    assert_eq!(prepared.envelope_from, "ann@example.org");
    assert_eq!(
        prepared.envelope_recipients,
        [
            "bob@example.org",
            "carol@example.org",
            "dan@example.org",
            "secret@example.org",
            "other@example.org"
        ]
    );
    let sendable = String::from_utf8(prepared.sendable).unwrap();
    assert!(!sendable.contains("secret@"), "{sendable}");
    assert!(!sendable.contains("other@"), "{sendable}");
    assert!(sendable.ends_with("\r\n\r\nBcc: this line is body text\r\n"));
    assert_eq!(prepared.local_copy, eml);
    assert_eq!(prepared.message_id, "x@example.org");
}

#[test]
fn an_existing_message_needs_a_sender_and_a_recipient() {
    assert!(matches!(
        ComposedMessage::from_existing(b"To: a@b.c\r\n\r\nx".to_vec()),
        Err(ComposeError::NoSender)
    ));
    assert!(matches!(
        ComposedMessage::from_existing(b"From: a@b.c\r\n\r\nx".to_vec()),
        Err(ComposeError::NoRecipient)
    ));
}

#[test]
fn content_ids_are_unique_and_valid() {
    let a = new_content_id("Photo été (1).png", "ann@example.org");
    let b = new_content_id("Photo été (1).png", "ann@example.org");
    assert_ne!(a, b);
    assert!(a.starts_with("Phot1.png.") || a.starts_with("Phot"), "{a}");
    assert!(a.ends_with("@example.org"), "{a}");
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c)),
        "{a}"
    );
}
