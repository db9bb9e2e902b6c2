//! Driving the real window headless (egui_kittest): a harness around
//! [`HeraldApp`], bounded waits for background work, and seeded mailboxes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use herald::app::desktop::RecordingDesktop;
use herald::app::file_dialog::FileDialogs;
use herald::app::{AppSetup, HeraldApp};
use herald_core::account::Profile;
use herald_core::credentials::PasswordStore;
use herald_core::message::Summary;
use herald_core::store::{Flags, Folder, MailStore, MessageSummary, NewMessage};

/// The app on a harness of `size`. The first frame is empty so Herald's
/// fonts are installed before any text is laid out (kittest panics on a
/// missing glyph).
pub fn app_harness(setup: AppSetup, size: egui::Vec2) -> Harness<'static, Option<HeraldApp>> {
    let mut harness = Harness::builder().with_size(size).build_ui_state(
        |ui, app: &mut Option<HeraldApp>| {
            if let Some(app) = app {
                app.ui(ui);
            }
        },
        None,
    );
    herald::app::setup_context(&harness.ctx);
    harness.step();
    let app = HeraldApp::new(setup, &harness.ctx);
    *harness.state_mut() = Some(app);
    harness.step();
    harness
}

/// A setup for `profile` with a session-only password store holding
/// `passwords`, in-app file prompts (no native dialog in tests), a desktop
/// that records instead of launching programs or notifying, and the folders
/// of opened attachments inside the profile (never the system's `/tmp`).
pub fn setup(profile: &Profile, passwords: &[(&str, &str)]) -> AppSetup {
    let store = PasswordStore::session_only("herald-ui-test", "tests use no keyring");
    for (account, password) in passwords {
        store
            .set(
                account,
                &herald_core::credentials::Password::new((*password).to_owned()),
            )
            .expect("session password");
    }
    let mut setup = AppSetup::new(profile.clone());
    setup.passwords = Some(Arc::new(store));
    setup.dialogs = Some(FileDialogs::in_app_only(Arc::new(|| {})));
    setup.desktop = Some(Arc::new(RecordingDesktop::default()));
    setup.temp_dir = profile.root().map(|root| root.join("tmp"));
    setup
}

/// Steps frames until `done` holds, failing the test after `timeout`
/// (background jobs and workers answer in their own time).
pub fn step_until(
    harness: &mut Harness<'static, Option<HeraldApp>>,
    timeout: Duration,
    what: &str,
    mut done: impl FnMut(&Harness<'static, Option<HeraldApp>>) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "timed out waiting for: {what}\nthe window shows:\n{}",
                visible_labels(harness).join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Steps until a node whose label contains `text` exists.
pub fn wait_for_label(
    harness: &mut Harness<'static, Option<HeraldApp>>,
    text: &str,
    timeout: Duration,
) {
    use egui_kittest::kittest::Queryable;
    step_until(
        harness,
        timeout,
        &format!("label containing {text:?}"),
        |h| h.query_all_by_label_contains(text).next().is_some(),
    );
}

/// Stores `messages` in `folder` of the account's mailbox, the way a sync
/// would; returns their ids.
pub fn seed(
    profile: &Profile,
    account: &str,
    folder: Folder,
    messages: &[Vec<u8>],
    seen: bool,
) -> Vec<i64> {
    let store = MailStore::open(&profile.mailbox_dir(account)).expect("open store");
    messages
        .iter()
        .map(|bytes| {
            let summary = Summary::from_prefix(bytes, true);
            store
                .add_message(
                    folder,
                    bytes,
                    NewMessage {
                        summary: MessageSummary::from(&summary),
                        flags: Flags {
                            seen,
                            ..Default::default()
                        },
                        received_at: herald_core::store::unix_now(),
                        ..Default::default()
                    },
                )
                .expect("add message")
        })
        .collect()
}

/// A small plain-text message.
pub fn plain_message(from: &str, subject: &str, date: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: you@example.org\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        subject.len() * 7919 + date.len() * 31 + body.len()
    )
    .into_bytes()
}

/// Replaces the text of the field labelled `label` with `text`, as a person
/// would: click into it, select all, type.
pub fn fill(harness: &mut Harness<'static, Option<HeraldApp>>, label: &str, text: &str) {
    use egui::accesskit::Role;
    use egui_kittest::kittest::{By, Queryable};
    let role = [
        Role::TextInput,
        Role::PasswordInput,
        Role::MultilineTextInput,
    ]
    .into_iter()
    .find(|role| harness.query(By::new().role(*role).label(label)).is_some())
    .unwrap_or_else(|| panic!("no text field labelled {label:?}"));
    let by = || By::new().role(role).label(label);
    harness.get(by()).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    harness.get(by()).type_text(text);
    harness.step();
    if role != Role::PasswordInput {
        assert_eq!(
            harness.get(by()).value().as_deref(),
            Some(text),
            "typing into {label:?}"
        );
    }
}

/// Clicks the button whose label is exactly `label`.
pub fn click_button(harness: &mut Harness<'static, Option<HeraldApp>>, label: &str) {
    use egui_kittest::kittest::{By, Queryable};
    let by = || By::new().role(egui::accesskit::Role::Button).label(label);
    // Scrolled into view first, as a person would.
    harness.get(by()).scroll_to_me();
    harness.step();
    harness.get(by()).click();
    harness.step();
}

/// Every label in the window's accessibility tree, for failure messages.
pub fn visible_labels(harness: &Harness<'static, Option<HeraldApp>>) -> Vec<String> {
    use egui_kittest::kittest::NodeT;
    let root = harness.root();
    std::iter::once(root)
        .chain(root.children_recursive())
        .filter_map(|node| {
            let node = node.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .filter(|label| !label.is_empty())
        .collect()
}

/// The text of every galley painted in the last frame (what is on screen,
/// where accessible labels say what is meant).
pub fn painted_texts(harness: &Harness<'static, Option<HeraldApp>>) -> Vec<String> {
    fn collect(shape: &egui::Shape, out: &mut Vec<String>) {
        match shape {
            egui::Shape::Text(text) => out.push(text.galley.text().to_owned()),
            egui::Shape::Vec(shapes) => shapes.iter().for_each(|shape| collect(shape, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &harness.output().shapes {
        collect(&clipped.shape, &mut out);
    }
    out
}
