//! The golden corpus: every `tests/corpus/*.eml` through the real `herald`
//! binary (`show --json`, `save-attachments`), compared with its
//! `.expected.json`. Expected values were written by the generator from what
//! it put into each message, never from Herald's output.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::{files_under, herald, run_with_deadline};

const DEADLINE: Duration = Duration::from_secs(30);

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort();
    files
}

fn name_of(eml: &Path) -> String {
    eml.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn is_empty_file(eml: &Path) -> bool {
    std::fs::metadata(eml).map(|m| m.len()).unwrap_or(0) == 0
}

fn expected_for(eml: &Path) -> Value {
    let path = eml.with_extension("expected.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).expect("expected json parses")
}

/// Compares the keys present in `expected` with `actual`; returns problems.
fn compare(name: &str, expected: &Value, actual: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: String, want: &Value, got: &Value| {
        if want != got {
            problems.push(format!("{name}: {what}: expected {want}, got {got}"));
        }
    };
    for key in ["subject", "from", "to", "cc", "date", "message_id", "html"] {
        if let Some(want) = expected.get(key) {
            check(key.to_owned(), want, &actual[key]);
        }
    }
    if let Some(phrases) = expected.get("text_contains").and_then(Value::as_array) {
        let text = actual["text"].as_str().unwrap_or_default();
        for phrase in phrases {
            let phrase = phrase.as_str().unwrap_or_default();
            if !text.contains(phrase) {
                check(
                    format!("text contains {phrase:?}"),
                    &Value::Bool(true),
                    &Value::Bool(false),
                );
            }
        }
    }
    if let Some(parts) = expected.get("parts").and_then(Value::as_array) {
        let got = actual["parts"].as_array().cloned().unwrap_or_default();
        check(
            "number of parts".into(),
            &parts.len().into(),
            &got.len().into(),
        );
        for (want, got) in parts.iter().zip(&got) {
            let path = want["path"].as_str().unwrap_or_default();
            check(format!("part {path} path"), &want["path"], &got["path"]);
            check(
                format!("part {path} content_type"),
                &want["content_type"],
                &got["content_type"],
            );
            if let Some(filename) = want.get("filename") {
                check(
                    format!("part {path} raw_filename"),
                    filename,
                    &got["raw_filename"],
                );
            }
            if let Some(content_id) = want.get("content_id") {
                check(
                    format!("part {path} content_id"),
                    content_id,
                    &got["content_id"],
                );
            }
        }
    }
    if let Some(attachments) = expected.get("attachments").and_then(Value::as_array) {
        let got = actual["attachments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        check(
            "number of attachments".into(),
            &attachments.len().into(),
            &got.len().into(),
        );
        for (i, (want, got)) in attachments.iter().zip(&got).enumerate() {
            for (key, value) in want.as_object().into_iter().flatten() {
                check(format!("attachment {} {key}", i + 1), value, &got[key]);
            }
        }
    }
    let actual_codes: Vec<&str> = actual["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["code"].as_str())
        .collect();
    match expected.get("warning_codes").and_then(Value::as_array) {
        Some(codes) => {
            for code in codes.iter().filter_map(Value::as_str) {
                if !actual_codes.contains(&code) {
                    problems.push(format!(
                        "{name}: warning {code} expected, got {actual_codes:?}"
                    ));
                }
            }
        }
        // A well-formed message must not warn.
        None if !name.starts_with("malformed-")
            && !name.starts_with("hostile-")
            && !actual_codes.is_empty() =>
        {
            problems.push(format!("{name}: unexpected warnings {actual_codes:?}"));
        }
        None => {}
    }
    problems
}

#[test]
fn corpus_has_at_least_30_messages() {
    assert!(corpus_files().len() >= 30, "{}", corpus_files().len());
}

#[test]
fn show_json_matches_expected_for_every_corpus_file() {
    let mut problems = Vec::new();
    for eml in corpus_files() {
        let name = name_of(&eml);
        let output = run_with_deadline(herald().arg("show").arg("--json").arg(&eml), DEADLINE);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{name}: show panicked: {stderr}"
        );
        if is_empty_file(&eml) {
            // An empty file is an error: one line, non-zero exit.
            assert!(!output.status.success(), "{name}: empty file accepted");
            assert_eq!(stderr.trim().lines().count(), 1, "{name}: {stderr}");
            continue;
        }
        if !output.status.success() {
            problems.push(format!("{name}: show failed: {stderr}"));
            continue;
        }
        let actual: Value = serde_json::from_slice(&output.stdout).expect("show prints JSON");
        problems.extend(compare(&name, &expected_for(&eml), &actual));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn save_attachments_writes_only_inside_target_and_bytes_match() {
    let mut problems = Vec::new();
    for eml in corpus_files() {
        let name = name_of(&eml);
        if is_empty_file(&eml) {
            continue;
        }
        let sandbox = tempfile::tempdir().expect("tempdir");
        let target = sandbox.path().join("out");
        let output = run_with_deadline(
            herald()
                .arg("save-attachments")
                .arg(&eml)
                .arg("--to")
                .arg(&target)
                .arg("--include-inline")
                .current_dir(sandbox.path()),
            DEADLINE,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("panicked"),
            "{name}: save panicked: {stderr}"
        );
        if !output.status.success() {
            problems.push(format!("{name}: save failed: {stderr}"));
            continue;
        }
        let saved: Vec<Value> = serde_json::from_slice(&output.stdout).expect("save prints JSON");
        let expected = expected_for(&eml);
        if let Some(attachments) = expected.get("attachments").and_then(Value::as_array)
            && attachments.len() != saved.len()
        {
            problems.push(format!(
                "{name}: saved {} files, expected {}",
                saved.len(),
                attachments.len()
            ));
        }
        let canonical_target = target.canonicalize().unwrap_or(target.clone());
        for entry in &saved {
            let path = PathBuf::from(entry["path"].as_str().unwrap_or_default());
            if path.parent() != Some(canonical_target.as_path()) {
                problems.push(format!(
                    "{name}: {} is not directly inside {}",
                    path.display(),
                    canonical_target.display()
                ));
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_default();
            let index = entry["index"].as_u64().unwrap_or(0) as usize;
            if bytes.len() as u64 != entry["size"].as_u64().unwrap_or(u64::MAX) {
                problems.push(format!(
                    "{name}: {} size differs from report",
                    path.display()
                ));
            }
            if let Some(want) = expected["attachments"]
                .get(index.wrapping_sub(1))
                .and_then(|a| a.get("sha256"))
            {
                let got = Value::String(support::sha256_hex(&bytes));
                if *want != got {
                    problems.push(format!(
                        "{name}: attachment {index} bytes differ: expected {want}, got {got}"
                    ));
                }
            }
        }
        // Nothing may appear anywhere but the target folder.
        for file in files_under(sandbox.path()) {
            if !file.starts_with(&target) {
                problems.push(format!("{name}: wrote outside --to: {}", file.display()));
            }
        }
        if files_under(&target).len() != saved.len() {
            problems.push(format!("{name}: files on disk differ from the report"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
