//! Interoperability: every message Herald composes here is read back by
//! Python's standard `email` package (`BytesParser(policy=default)` and
//! `walk()`, see tests/support/py_mime_tree.py) and must agree with Herald's
//! own reading on the tree, content-ids, file names and bytes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{herald, run_with_deadline, sha256_hex};

const DEADLINE: Duration = Duration::from_secs(30);

struct Case {
    name: &'static str,
    args: Vec<String>,
    /// (file name as attached, its bytes, inline?)
    files: Vec<(String, Vec<u8>, bool)>,
}

fn png_like(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write input");
    path
}

fn cases(dir: &Path) -> Vec<Case> {
    let html = write(
        dir,
        "body.html",
        "<html><body><h1>Отчёт / 报告</h1><p>Chart: <img src=\"chart.png\"></p><p>Logo: <img src=\"cid:logo@example.org\"></p></body></html>".as_bytes(),
    );
    let text = write(
        dir,
        "body.txt",
        "Привет, 你好, こんにちは.\nLine two.\n.\nDot line above.\n".as_bytes(),
    );
    let chart = png_like(1, 3000);
    let logo = png_like(7, 900);
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".repeat(50);
    let csv = b"name;price\r\ncaf\xe9;3\x80\r\nna\xefve;\x00\r\n".to_vec();
    let chart_path = write(dir, "chart.png", &chart);
    let logo_path = write(dir, "logo.png", &logo);
    let pdf_path = write(dir, "年度报告 2024.pdf", &pdf);
    let csv_path = write(dir, "Отчёт за март (итог).csv", &csv);
    let arg = |s: &Path| s.to_string_lossy().into_owned();
    let common = |subject: &str| {
        vec![
            "--from".into(),
            "Ann Example <ann@example.org>".into(),
            "--to".into(),
            "Bob <bob@example.com>, carol@example.net".into(),
            "--bcc".into(),
            "hidden@example.net".into(),
            "--subject".into(),
            subject.into(),
        ]
    };
    let mut full = common("Two inline images, two attachments: 报告");
    full.extend([
        "--html".into(),
        arg(&html),
        "--inline-image".into(),
        arg(&chart_path),
        "--inline-image".into(),
        format!("{}=logo@example.org", arg(&logo_path)),
        "--attach".into(),
        arg(&pdf_path),
        "--attach".into(),
        arg(&csv_path),
    ]);
    let mut plain = common("Plain text with attachments");
    plain.extend([
        "--text".into(),
        arg(&text),
        "--attach".into(),
        arg(&csv_path),
        "--attach".into(),
        arg(&pdf_path),
    ]);
    let mut html_and_text = common("HTML with its own text alternative");
    html_and_text.extend(["--html".into(), arg(&html), "--text".into(), arg(&text)]);
    let mut text_only = common("Только текст");
    text_only.extend(["--text".into(), arg(&text)]);
    vec![
        Case {
            name: "html+2 inline+2 attachments",
            args: full,
            files: vec![
                ("chart.png".into(), chart.clone(), true),
                ("logo.png".into(), logo.clone(), true),
                ("年度报告 2024.pdf".into(), pdf.clone(), false),
                ("Отчёт за март (итог).csv".into(), csv.clone(), false),
            ],
        },
        Case {
            name: "plain+attachments",
            args: plain,
            files: vec![
                ("Отчёт за март (итог).csv".into(), csv, false),
                ("年度报告 2024.pdf".into(), pdf, false),
            ],
        },
        Case {
            name: "html+text",
            args: html_and_text,
            files: vec![],
        },
        Case {
            name: "text only",
            args: text_only,
            files: vec![],
        },
    ]
}

fn python_reading(eml: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/py_mime_tree.py");
    let output = run_with_deadline(Command::new("python3").arg(script).arg(eml), DEADLINE);
    assert!(
        output.status.success(),
        "python3 failed (is python3 installed?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python prints JSON")
}

fn herald_reading(eml: &Path) -> Value {
    let output = run_with_deadline(herald().arg("show").arg("--json").arg(eml), DEADLINE);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("herald prints JSON")
}

#[test]
fn python_email_package_reads_what_herald_composes_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    for case in cases(dir.path()) {
        let eml = dir
            .path()
            .join(format!("{}.eml", case.name.replace(['+', ' '], "_")));
        let output = run_with_deadline(
            herald()
                .arg("compose")
                .args(&case.args)
                .arg("--out")
                .arg(&eml),
            DEADLINE,
        );
        assert!(
            output.status.success(),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&output.stderr)
        );

        let ours = herald_reading(&eml);
        let theirs = python_reading(&eml);
        assert_eq!(ours["subject"], theirs["subject"], "{}: subject", case.name);

        let our_parts = ours["parts"].as_array().expect("parts");
        let their_parts = theirs["parts"].as_array().expect("parts");
        let tree = |parts: &[Value]| -> Vec<(String, String)> {
            parts
                .iter()
                .map(|p| {
                    (
                        p["path"].as_str().unwrap_or("").to_owned(),
                        p["content_type"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        };
        assert_eq!(tree(our_parts), tree(their_parts), "{}: tree", case.name);
        for (our, their) in our_parts.iter().zip(their_parts) {
            let path = our["path"].as_str().unwrap_or("");
            assert_eq!(
                our["raw_filename"], their["filename"],
                "{}: part {path} filename",
                case.name
            );
            assert_eq!(
                our["content_id"], their["content_id"],
                "{}: part {path} content-id",
                case.name
            );
            if our["kind"] == "leaf" {
                assert_eq!(
                    our["size"], their["size"],
                    "{}: part {path} size",
                    case.name
                );
            }
        }

        // Every attached file: both readers see the exact bytes that were attached.
        let attachments = ours["attachments"].as_array().expect("attachments");
        assert_eq!(
            attachments.len(),
            case.files.len(),
            "{}: attachment count",
            case.name
        );
        for (attachment, (name, bytes, inline)) in attachments.iter().zip(&case.files) {
            let want = Value::String(sha256_hex(bytes));
            assert_eq!(
                attachment["raw_filename"],
                Value::String(name.clone()),
                "{}",
                case.name
            );
            assert_eq!(
                attachment["sha256"], want,
                "{}: {name} bytes (herald)",
                case.name
            );
            assert_eq!(
                attachment["inline"],
                Value::Bool(*inline),
                "{}: {name} inline",
                case.name
            );
            let path = &attachment["part_path"];
            let theirs = their_parts
                .iter()
                .find(|p| p["path"] == *path)
                .expect("same path in python");
            assert_eq!(
                theirs["sha256"], want,
                "{}: {name} bytes (python)",
                case.name
            );
            if *inline {
                assert!(
                    theirs["content_id"].is_string(),
                    "{}: {name} has a content-id",
                    case.name
                );
            }
        }

        // The file is the local copy (it keeps Bcc); the text survived intact.
        let raw = String::from_utf8_lossy(&std::fs::read(&eml).expect("read eml")).into_owned();
        assert!(
            raw.contains("hidden@example.net"),
            "{}: local copy keeps Bcc",
            case.name
        );
        let text = ours["text"].as_str().unwrap_or("");
        assert!(
            text.contains("Привет") || text.contains("Отчёт"),
            "{}: text {text:?}",
            case.name
        );
    }
}
