use super::*;

fn parse(text: &str) -> Message {
    let raw = text.replace('\n', "\r\n").into_bytes();
    match Message::parse(raw) {
        Ok(message) => message,
        Err(err) => panic!("parse failed: {err}"),
    }
}

fn paths(message: &Message) -> Vec<(&str, &str)> {
    message
        .parts
        .iter()
        .map(|p| (p.path.as_str(), p.content_type.as_str()))
        .collect()
}

fn codes(message: &Message) -> Vec<WarningCode> {
    message.warnings.iter().map(|w| w.code).collect()
}

const RELATED: &str = "From: \"Ann\" <ann@example.com>
To: bob@example.com
Subject: =?UTF-8?B?5oql5ZGK?=
Date: Tue, 5 Mar 2024 10:15:00 +0100
Message-ID: <abc@example.com>
MIME-Version: 1.0
Content-Type: multipart/related; boundary=\"rel\"

--rel
Content-Type: text/html; charset=utf-8

<p>Look: <img src=\"cid:image001.png@01DA\"></p>
--rel
Content-Type: image/png; name=\"image001.png\"
Content-ID: <image001.png@01DA>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel
Content-Type: image/png; name=\"unused.png\"
Content-ID: <unused@01DA>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
";

#[test]
fn headers_are_decoded_and_dated() {
    let message = parse(RELATED);
    assert_eq!(message.headers.subject.as_deref(), Some("报告"));
    assert_eq!(
        message.headers.from,
        vec![Address {
            name: Some("Ann".into()),
            email: "ann@example.com".into()
        }]
    );
    assert_eq!(
        message.headers.date_rfc3339.as_deref(),
        Some("2024-03-05T10:15:00+01:00")
    );
    assert_eq!(
        message.headers.message_id.as_deref(),
        Some("abc@example.com")
    );
}

#[test]
fn image_is_inline_only_when_html_references_its_cid() {
    let message = parse(RELATED);
    assert_eq!(
        paths(&message),
        vec![
            ("1", "multipart/related"),
            ("1.1", "text/html"),
            ("1.2", "image/png"),
            ("1.3", "image/png")
        ]
    );
    let inline: Vec<(&str, bool)> = message
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.inline))
        .collect();
    assert_eq!(inline, vec![("image001.png", true), ("unused.png", false)]);
    assert!(message.html.is_some());
    assert!(
        message.text.contains("Look:"),
        "text derived from HTML: {}",
        message.text
    );
    assert_eq!(
        message.decoded_body(message.attachments[0].part_index),
        b"\x89PNG\r\n\x1a\n"
    );
}

#[test]
fn text_attachment_bytes_are_not_charset_converted() {
    let message = parse(
        "From: a@example.com
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

body
--b
Content-Type: text/csv; charset=windows-1252; name=prices.csv
Content-Disposition: attachment; filename=prices.csv
Content-Transfer-Encoding: quoted-printable

caf=E9;1=80
na=EFve;=00
--b
Content-Type: text/plain; name=app.log
Content-Disposition: attachment; filename=app.log
Content-Transfer-Encoding: base64

AGxvZwD/
--b--
",
    );
    assert_eq!(message.text.trim(), "body");
    assert_eq!(message.attachments.len(), 2);
    let csv = message.decoded_body(message.attachments[0].part_index);
    assert_eq!(csv, b"caf\xe9;1\x80\r\nna\xefve;\x00");
    let log = message.decoded_body(message.attachments[1].part_index);
    assert_eq!(log, b"\0log\0\xff");
    assert_eq!(message.attachments[1].size_bytes, 6);
    assert!(message.warnings.is_empty(), "{:?}", message.warnings);
}

#[test]
fn forwarded_message_is_walked_into() {
    let message = parse(
        "From: a@example.com
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain

see below
--outer
Content-Type: message/rfc822

From: b@example.com
Subject: inner
Content-Type: multipart/mixed; boundary=inner

--inner
Content-Type: text/plain

inner body
--inner
Content-Type: application/pdf; name=doc.pdf
Content-Transfer-Encoding: base64

JVBERg==
--inner--
--outer--
",
    );
    assert_eq!(
        paths(&message),
        vec![
            ("1", "multipart/mixed"),
            ("1.1", "text/plain"),
            ("1.2", "message/rfc822"),
            ("1.2.1", "multipart/mixed"),
            ("1.2.1.1", "text/plain"),
            ("1.2.1.2", "application/pdf"),
        ]
    );
    let names: Vec<&str> = message
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, vec!["inner.eml", "doc.pdf"]);
    assert_eq!(
        message.decoded_body(message.attachments[1].part_index),
        b"%PDF"
    );
    let eml = message.decoded_body(message.attachments[0].part_index);
    assert!(eml.starts_with(b"From: b@example.com"));
    assert!(message.text.contains("see below"));
    assert!(!message.text.contains("inner body"));
}

fn nested_multiparts(levels: usize) -> String {
    let mut text =
        String::from("From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n");
    for level in 1..levels {
        text.push_str(&format!(
            "--b{}\nContent-Type: multipart/mixed; boundary=b{level}\n\n",
            level - 1
        ));
    }
    text.push_str(&format!(
        "--b{}\nContent-Type: text/plain\n\ndeep\n",
        levels - 1
    ));
    for level in (0..levels).rev() {
        text.push_str(&format!("--b{level}--\n"));
    }
    text
}

#[test]
fn walk_stops_at_depth_cap_with_a_warning() {
    let message = parse(&nested_multiparts(150));
    assert_eq!(message.parts.iter().map(|p| p.depth).max(), Some(100));
    assert_eq!(codes(&message), vec![WarningCode::DepthLimit]);
}

#[test]
fn walk_within_depth_cap_has_no_warning() {
    let message = parse(&nested_multiparts(20));
    assert_eq!(message.parts.len(), 21);
    assert!(message.warnings.is_empty(), "{:?}", message.warnings);
}

#[test]
fn walk_stops_at_part_cap_with_a_warning() {
    let mut text =
        String::from("From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n");
    for i in 0..50 {
        text.push_str(&format!(
            "--b\nContent-Type: application/octet-stream; name=f{i}\n\nx\n"
        ));
    }
    text.push_str("--b--\n");
    let raw = text.replace('\n', "\r\n").into_bytes();
    let limits = ParseLimits {
        max_parts: 10,
        ..ParseLimits::default()
    };
    let message = Message::parse_with_limits(raw, &limits).expect("parses");
    assert_eq!(message.parts.len(), 10);
    assert_eq!(codes(&message), vec![WarningCode::PartLimit]);
}

#[test]
fn oversized_message_shows_headers_only_with_a_warning() {
    let raw = b"Subject: big\r\n\r\n0123456789012345678901234567890123456789".to_vec();
    let limits = ParseLimits {
        max_message_bytes: 16,
        ..ParseLimits::default()
    };
    let message = Message::parse_with_limits(raw, &limits).expect("parses");
    assert_eq!(message.headers.subject.as_deref(), Some("big"));
    assert!(message.parts.is_empty());
    assert_eq!(codes(&message), vec![WarningCode::SizeLimit]);
}

#[test]
fn unterminated_multipart_is_a_warning() {
    let message = parse(
        "From: a@example.com
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

cut short
--b
Content-Type: application/pdf; name=a.pdf
Content-Transfer-Encoding: base64

JVBE",
    );
    assert!(codes(&message).contains(&WarningCode::UnterminatedMultipart));
    assert_eq!(message.attachments.len(), 1);
}

#[test]
fn injected_header_text_is_neutralised() {
    let message = parse(
        "From: =?UTF-8?B?RXZlIOKArmdwai5leGU=?= <eve@example.com>
Subject: =?UTF-8?B?SGkNCkJjYzogeEB5?=

x
",
    );
    assert_eq!(message.headers.subject.as_deref(), Some("Hi Bcc: x@y"));
    assert_eq!(message.headers.from[0].name.as_deref(), Some("Eve gpj.exe"));
}

#[test]
fn empty_input_is_an_error_not_a_panic() {
    assert!(matches!(Message::parse(Vec::new()), Err(ParseError::Empty)));
}

#[test]
fn garbage_never_panics() {
    let inputs: Vec<Vec<u8>> = vec![
        b"\r\n".to_vec(),
        b"\x00\x01\x02".to_vec(),
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--\r\n".to_vec(),
        b"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n".to_vec(),
        vec![b'='; 10_000],
        b"Content-Transfer-Encoding: base64\r\n\r\n====".to_vec(),
    ];
    for raw in inputs {
        let _ = Message::parse(raw);
    }
}

#[test]
fn base64_encoded_forward_is_walked_from_its_decoded_bytes() {
    use base64::Engine;
    let inner = "From: b@example.com\r\nSubject: encoded inner\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nhello\r\n--i\r\nContent-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--i--\r\n";
    let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
    let message = parse(&format!(
        "From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n\nfwd\n--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{encoded}\n--o--\n"
    ));
    let names: Vec<&str> = message
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, vec!["encoded inner.eml", "x.bin"]);
    assert_eq!(
        message.decoded_body(message.attachments[1].part_index),
        b"\0\x01\x02"
    );
    assert_eq!(
        message.decoded_body(message.attachments[0].part_index),
        inner.as_bytes()
    );
}

#[test]
fn boundary_string_in_the_middle_of_a_line_does_not_cut_the_part() {
    // mail-parser 0.11.9 alone cuts part 1.1 at "x--sep" (RFC 2046 §5.1.1:
    // a delimiter must start a line).
    let message = parse(
        "From: a@example.com
Content-Type: multipart/mixed; boundary=sep

--sep
Content-Type: text/plain

records end with x--sep and go on
--sep
Content-Type: text/plain; name=r.conf
Content-Disposition: attachment; filename=r.conf

a--sep--b
--sep--
",
    );
    assert!(
        message.text.contains("records end with x--sep and go on"),
        "{:?}",
        message.text
    );
    assert_eq!(message.parts.len(), 3);
    assert_eq!(
        message.decoded_body(message.attachments[0].part_index),
        b"a--sep--b"
    );
    assert!(message.warnings.is_empty(), "{:?}", message.warnings);
}
