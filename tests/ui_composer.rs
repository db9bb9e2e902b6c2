//! The composer window, driven headless through its accessibility tree.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use herald::app::composer::{Composer, ComposerAction, ComposerContext, SenderAccount};
use herald::app::file_dialog::FileDialogs;
use herald::app::jobs::Waker;
use herald_core::engine::Failure;
use herald_core::error::ErrorKind;
use herald_core::message::{Address, Message};

struct State {
    composer: Composer,
    actions: Vec<ComposerAction>,
}

fn context(undo_send_secs: u32, autosave_after: Duration) -> ComposerContext {
    let waker: Waker = Arc::new(|| {});
    let dialogs = FileDialogs::in_app_only(Arc::clone(&waker));
    let mut ctx = ComposerContext::new(
        vec![SenderAccount {
            name: "work".into(),
            sender: Address {
                name: Some("Ann Smith".into()),
                email: "ann@example.org".into(),
            },
            signature: Some("Ann".into()),
            max_message_size_bytes: None,
        }],
        waker,
        dialogs,
    );
    ctx.undo_send_secs = undo_send_secs;
    ctx.autosave_after = autosave_after;
    ctx.known_addresses = Arc::new(vec![Address {
        name: Some("Bob Jones".into()),
        email: "bob@example.net".into(),
    }]);
    ctx
}

fn harness(composer: Composer) -> Harness<'static, State> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1100.0, 900.0))
        .with_context_setup(herald::app::setup_context)
        .build_ui_state(
            |ui, state: &mut State| {
                let actions = state.composer.show(ui.ctx());
                state.actions.extend(actions);
            },
            State {
                composer,
                actions: Vec::new(),
            },
        );
    harness.run_ok();
    harness
}

/// Steps (letting background jobs finish) until `done` holds, for at most 10 s.
fn step_until(
    harness: &mut Harness<'static, State>,
    what: &str,
    done: impl Fn(&mut Harness<'static, State>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(harness) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
    harness.run_ok();
}

/// The role of a labelled text field: the body is multiline.
fn role(label: &str) -> Role {
    if label == "Message" {
        Role::MultilineTextInput
    } else {
        Role::TextInput
    }
}

fn type_into(harness: &mut Harness<'static, State>, label: &str, text: &str) {
    harness.get_by_role_and_label(role(label), label).focus();
    harness.run_ok();
    harness
        .get_by_role_and_label(role(label), label)
        .type_text(text);
    harness.run_ok();
}

/// Picks a file through the in-app path prompt (no native dialog in tests).
fn choose_file(harness: &mut Harness<'static, State>, button: &str, path: &std::path::Path) {
    harness.get_by_label(button).click();
    harness.run_ok();
    let field = harness.get_by_role_and_label(Role::TextInput, "Path");
    field.focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::TextInput, "Path")
        .type_text(&path.display().to_string());
    harness.run_ok();
    harness.get_by_label("OK").click();
    harness.run_ok();
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_pixel(width, height, image::Rgba([10, 120, 200, 255]));
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encode png");
    bytes
}

fn sent_message(state: &State) -> Option<Message> {
    state.actions.iter().find_map(|action| match action {
        ComposerAction::Send { message, .. } => {
            Some(Message::parse(message.sendable.clone()).expect("parses"))
        }
        _ => None,
    })
}

#[test]
fn composed_message_carries_inline_image_and_attachment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let report: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let report_path = dir.path().join("report.bin");
    std::fs::write(&report_path, &report).expect("write");
    let photo = png(300, 200);
    let photo_path = dir.path().join("photo.png");
    std::fs::write(&photo_path, &photo).expect("write");

    let mut harness = harness(Composer::new(
        1,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net");
    type_into(&mut harness, "Subject", "Quarterly numbers");
    type_into(&mut harness, "Message", "Hello **Bob**, the chart:\n");

    choose_file(&mut harness, "Attach files…", &report_path);
    step_until(&mut harness, "the attachment", |h| {
        h.query_by_label("Remove report.bin").is_some()
    });
    choose_file(&mut harness, "Insert image…", &photo_path);
    step_until(&mut harness, "the inline image", |h| {
        h.query_by_label("Make photo.png an attachment").is_some()
    });
    // The body now references the image by cid, at the cursor.
    let body = harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .value()
        .unwrap_or_default();
    assert!(body.contains("![photo.png](cid:"), "{body}");

    harness.get_by_label("Send").click();
    step_until(&mut harness, "the Send action", |h| {
        sent_message(h.state()).is_some()
    });
    let message = sent_message(harness.state()).expect("sent");
    assert_eq!(
        message.headers.subject.as_deref(),
        Some("Quarterly numbers")
    );
    assert_eq!(message.headers.to[0].email, "bob@example.net");
    let html = message.html.clone().expect("html part");
    assert!(html.contains("<strong>Bob</strong>"), "{html}");
    let image = message
        .attachments
        .iter()
        .find(|a| a.filename == "photo.png")
        .expect("image part");
    let cid = image.content_id.clone().expect("content id");
    assert!(html.contains(&format!("cid:{cid}")), "{html} lacks {cid}");
    assert!(image.inline, "the image is referenced from the HTML");
    assert_eq!(message.decoded_body(image.part_index), photo);
    let attachment = message
        .attachments
        .iter()
        .find(|a| a.filename == "report.bin")
        .expect("attachment");
    assert_eq!(message.decoded_body(attachment.part_index), report);
    // The plain alternative is the Markdown as written.
    assert!(message.text.contains("Hello **Bob**"), "{}", message.text);
    // Sending shows progress until the engine answers.
    harness.get_by_label("Sending…");
}

#[test]
fn preview_shows_the_formatted_text_and_the_inline_image() {
    use herald::app::html_view::Block;
    let dir = tempfile::tempdir().expect("tempdir");
    let photo_path = dir.path().join("photo.png");
    std::fs::write(&photo_path, png(300, 200)).expect("write");

    let mut harness = harness(Composer::new(
        13,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "Message", "Hello **Bob**, the chart:\n");
    choose_file(&mut harness, "Insert image…", &photo_path);
    step_until(&mut harness, "the image in the preview", |h| {
        h.state().composer.preview_images_drawn() == 1
    });
    // The image is drawn from its texture (its alt text is the file name)…
    harness.get_by_role_and_label(Role::Image, "photo.png");
    // …next to the text, with the Markdown turned into formatting.
    assert!(
        harness
            .query_all_by_label_contains("Hello Bob, the chart:")
            .next()
            .is_some(),
        "the formatted text is not in the preview"
    );
    let doc = harness
        .state()
        .composer
        .preview_document()
        .expect("the preview is parsed");
    let bold: Vec<&str> = doc
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(text) => Some(text),
            _ => None,
        })
        .flat_map(|text| &text.runs)
        .filter(|run| run.style.bold)
        .map(|run| run.text.as_str())
        .collect();
    assert_eq!(bold, ["Bob"]);

    // HTML source with a remote image: the preview never loads it.
    // (The photo, no longer referenced, is still sent: appended at the end.)
    harness.get_by_label("HTML source").click();
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_ok();
    harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .type_text("<p><img src=\"https://tracker.example/a.png\" alt=\"Remote\"></p>");
    step_until(&mut harness, "the remote placeholder", |h| {
        h.query_by_label("Remote (remote image blocked)").is_some()
    });
    assert_eq!(harness.state().composer.preview_images_drawn(), 1);
    harness.get_by_role_and_label(Role::Image, "photo.png");
}

#[test]
fn ctrl_enter_in_the_composer_sends() {
    let mut harness = harness(Composer::new(
        14,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net");
    type_into(&mut harness, "Subject", "Sent with the keyboard");
    type_into(&mut harness, "Message", "Hello Bob");
    // Only keys meant for the composer: with nothing focused (Escape) the
    // main window's keys are not its business.
    harness.key_press(egui::Key::Escape);
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    for _ in 0..10 {
        harness.step();
    }
    assert!(harness.state().actions.is_empty(), "sent without the focus");

    harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .focus();
    harness.run_ok();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    step_until(&mut harness, "the Send action", |h| {
        sent_message(h.state()).is_some()
    });
    let message = sent_message(harness.state()).expect("sent");
    assert_eq!(
        message.headers.subject.as_deref(),
        Some("Sent with the keyboard")
    );
    assert_eq!(message.headers.to[0].email, "bob@example.net");
    // The keys sent the message; they did not go into the body.
    assert!(
        message.text.starts_with("Hello Bob\n\n-- "),
        "{:?}",
        message.text
    );
    harness.get_by_label("Sending…");
}

#[test]
fn attachment_reminder_asks_before_sending() {
    let mut harness = harness(Composer::new(
        2,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net");
    type_into(&mut harness, "Subject", "Report");
    type_into(&mut harness, "Message", "Hi, see attached.");
    harness.get_by_label("Send").click();
    harness.run_ok();
    harness.get_by_label_contains("Forgot an attachment?");
    assert!(harness.state().actions.is_empty());
    harness.get_by_label("Cancel").click();
    harness.run_ok();
    assert!(
        harness
            .query_by_label_contains("Forgot an attachment?")
            .is_none()
    );
    // "Send anyway" sends.
    harness.get_by_label("Send").click();
    harness.run_ok();
    harness.get_by_label("Send anyway").click();
    step_until(&mut harness, "the Send action", |h| {
        sent_message(h.state()).is_some()
    });
}

#[test]
fn empty_subject_warns_and_no_recipient_blocks() {
    let mut harness = harness(Composer::new(
        3,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "Message", "Hello");
    harness.get_by_label("Send").click();
    harness.run_ok();
    harness.get_by_label("Add at least one recipient (To, Cc or Bcc).");
    type_into(&mut harness, "To", "bob@example.net");
    harness.get_by_label("Send").click();
    harness.run_ok();
    harness.get_by_label("The subject is empty.");
    assert!(harness.state().actions.is_empty());
}

#[test]
fn invalid_address_blocks_sending_with_a_visible_error() {
    let mut harness = harness(Composer::new(
        4,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net, not an address, ");
    type_into(&mut harness, "Subject", "Hi");
    // Shown under the field as soon as the entry is finished.
    harness.get_by_label("“not an address” is not a valid email address");
    harness.get_by_label("Send").click();
    harness.run_ok();
    harness.get_by_label_contains("Fix the recipients first");
    for _ in 0..20 {
        harness.step();
    }
    assert!(harness.state().actions.is_empty(), "nothing may be sent");
}

#[test]
fn completion_fills_the_last_entry() {
    let mut harness = harness(Composer::new(
        5,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "carol@example.org, bo");
    harness.get_by_label("Bob Jones <bob@example.net>");
    harness.key_press(egui::Key::Tab);
    harness.run_ok();
    let to = harness
        .get_by_role_and_label(Role::TextInput, "To")
        .value()
        .unwrap_or_default();
    assert_eq!(to, "carol@example.org, Bob Jones <bob@example.net>, ");
}

#[test]
fn send_failure_keeps_the_text_and_shows_the_reason() {
    let mut harness = harness(Composer::new(
        6,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net");
    type_into(&mut harness, "Subject", "Hi");
    type_into(&mut harness, "Message", "Keep me");
    harness.get_by_label("Send").click();
    step_until(&mut harness, "the Send action", |h| {
        sent_message(h.state()).is_some()
    });
    harness.state_mut().composer.send_finished(Err(Failure {
        kind: ErrorKind::Network,
        message: "smtp.example.org refused the connection".into(),
        certificate: None,
    }));
    harness.run_ok();
    harness.get_by_label("smtp.example.org refused the connection");
    harness.get_by_label_contains("kept in the Outbox");
    let body = harness
        .get_by_role_and_label(Role::MultilineTextInput, "Message")
        .value()
        .unwrap_or_default();
    assert!(body.starts_with("Keep me"), "{body}");
    // It can be sent again, replacing the failed copy in the Outbox.
    harness.state_mut().actions.clear();
    harness.get_by_label("Send").click();
    step_until(&mut harness, "the second Send", |h| {
        sent_message(h.state()).is_some()
    });
    let replaces = harness
        .state()
        .actions
        .iter()
        .find_map(|action| match action {
            ComposerAction::Send {
                replaces_outbox, ..
            } => Some(replaces_outbox.clone()),
            _ => None,
        });
    assert!(matches!(replaces, Some(Some(_))), "{replaces:?}");
    harness.state_mut().composer.send_finished(Ok(()));
    harness.run_ok();
    assert!(
        harness
            .state()
            .actions
            .iter()
            .any(|action| matches!(action, ComposerAction::Closed { id: 6 }))
    );
}

#[test]
fn undo_send_counts_down_and_can_be_undone() {
    let mut harness = harness(Composer::new(
        7,
        context(30, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net");
    type_into(&mut harness, "Subject", "Hi");
    harness.get_by_label("Send").click();
    step_until(&mut harness, "the countdown", |h| {
        h.query_by_label_contains("Sending in").is_some()
    });
    harness.get_by_label("Undo").click();
    harness.run_ok();
    assert!(harness.query_by_label_contains("Sending in").is_none());
    assert!(harness.state().actions.is_empty());
}

#[test]
fn autosave_emits_save_draft_after_edits_and_the_draft_reopens() {
    let mut harness = harness(Composer::new(
        8,
        context(0, Duration::from_millis(200)),
        None,
    ));
    type_into(&mut harness, "To", "bob@example.net");
    type_into(&mut harness, "Subject", "Draft subject");
    type_into(&mut harness, "Message", "Draft *body*");
    let saved = |state: &State| {
        state.actions.iter().find_map(|action| match action {
            ComposerAction::SaveDraft {
                local_copy,
                replaces_draft,
                ..
            } => Some((local_copy.clone(), *replaces_draft)),
            _ => None,
        })
    };
    step_until(&mut harness, "an autosave", |h| saved(h.state()).is_some());
    let (bytes, replaces) = saved(harness.state()).expect("saved");
    assert_eq!(replaces, None);
    harness.state_mut().composer.draft_saved(41);
    harness.state_mut().actions.clear();

    // A later edit replaces draft 41.
    type_into(&mut harness, "Subject", " v2");
    step_until(&mut harness, "a second autosave", |h| {
        saved(h.state()).is_some()
    });
    assert_eq!(saved(harness.state()).map(|s| s.1), Some(Some(41)));

    // The first draft reopens with the same fields and Markdown.
    let mut reopened = self::harness(Composer::from_draft(
        9,
        context(0, Duration::from_secs(3600)),
        None,
        41,
        bytes,
    ));
    step_until(&mut reopened, "the draft to open", |h| {
        h.query_by_role_and_label(Role::MultilineTextInput, "Message")
            .is_some()
    });
    let value = |label: &str| {
        reopened
            .get_by_role_and_label(role(label), label)
            .value()
            .unwrap_or_default()
    };
    assert_eq!(value("Subject"), "Draft subject");
    assert_eq!(value("To"), "bob@example.net");
    assert!(
        value("Message").starts_with("Draft *body*"),
        "{}",
        value("Message")
    );
}

#[test]
fn closing_with_text_saves_the_draft_first() {
    let mut harness = harness(Composer::new(
        10,
        context(0, Duration::from_secs(3600)),
        None,
    ));
    type_into(&mut harness, "Message", "Unsaved words");
    harness.get_by_label("Close window").click();
    step_until(&mut harness, "Closed", |h| {
        h.state()
            .actions
            .iter()
            .any(|action| matches!(action, ComposerAction::Closed { .. }))
    });
    let kinds: Vec<&str> = harness
        .state()
        .actions
        .iter()
        .map(|action| match action {
            ComposerAction::SaveDraft { .. } => "save",
            ComposerAction::Closed { .. } => "closed",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["save", "closed"]);
}

#[test]
fn reply_all_and_forward_fill_recipients_quote_and_carry_attachments() {
    let raw = b"From: Bob Jones <bob@example.net>\r\nTo: ann@example.org, carol@example.org\r\n\
Cc: dave@example.org\r\nSubject: Plans\r\nMessage-ID: <m1@example.net>\r\n\
Date: Fri, 01 Mar 2024 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Line one\r\nLine two\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAwQ=\r\n--b--\r\n";
    let original = Message::parse(raw.to_vec()).expect("parse");

    let ctx = context(0, Duration::from_secs(3600));
    let mut harness = harness(Composer::reply(
        11,
        ctx.clone(),
        &original,
        herald::app::composer::ReplyMode::ReplyAll,
        None,
    ));
    let value = |h: &Harness<'static, State>, label: &str| {
        h.get_by_role_and_label(role(label), label)
            .value()
            .unwrap_or_default()
    };
    assert_eq!(
        value(&harness, "To"),
        "Bob Jones <bob@example.net>, carol@example.org"
    );
    assert_eq!(value(&harness, "Cc"), "dave@example.org");
    assert_eq!(value(&harness, "Subject"), "Re: Plans");
    let body = value(&harness, "Message");
    assert!(
        body.contains("On 2024-03-01 10:00 +01:00, Bob Jones wrote:\n> Line one\n> Line two"),
        "{body}"
    );
    harness.get_by_label("Send").click();
    step_until(&mut harness, "the reply", |h| {
        sent_message(h.state()).is_some()
    });
    let reply = sent_message(harness.state()).expect("sent");
    assert_eq!(reply.headers.in_reply_to, ["m1@example.net"]);
    assert_eq!(reply.headers.references, ["m1@example.net"]);

    let mut harness = self::harness(Composer::reply(
        12,
        ctx,
        &original,
        herald::app::composer::ReplyMode::Forward,
        None,
    ));
    step_until(&mut harness, "the forwarded attachment", |h| {
        h.query_by_label("Remove data.bin").is_some()
    });
    assert_eq!(value(&harness, "Subject"), "Fwd: Plans");
    assert!(value(&harness, "Message").contains("Forwarded message"));
    type_into(&mut harness, "To", "erin@example.org");
    harness.get_by_label("Send").click();
    step_until(&mut harness, "the forward", |h| {
        sent_message(h.state()).is_some()
    });
    let forward = sent_message(harness.state()).expect("sent");
    let part = forward
        .attachments
        .iter()
        .find(|a| a.filename == "data.bin")
        .expect("forwarded attachment");
    assert_eq!(forward.decoded_body(part.part_index), [0, 1, 2, 3, 4]);
}
