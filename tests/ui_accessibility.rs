//! Every control has an accessible name a screen reader can say: walks the
//! AccessKit tree of each screen of the real window (welcome, account form,
//! inbox, reader with attachments, composer, settings, server view, help)
//! and lists the controls whose name is missing or has no letter (an icon
//! alone, like "🔍" or "×", says nothing to a person who cannot see it).

mod support;

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use herald::app::HeraldApp;
use herald_core::account::Profile;
use support::ui::{app_harness, setup, wait_for_label};

const WAIT: Duration = Duration::from_secs(30);

/// Roles a person operates (as opposed to text and containers).
fn is_control(role: Role) -> bool {
    matches!(
        role,
        Role::Button
            | Role::DefaultButton
            | Role::CheckBox
            | Role::RadioButton
            | Role::Switch
            | Role::ComboBox
            | Role::TextInput
            | Role::MultilineTextInput
            | Role::SearchInput
            | Role::EmailInput
            | Role::PasswordInput
            | Role::NumberInput
            | Role::SpinButton
            | Role::Slider
            | Role::Link
            | Role::MenuItem
            | Role::Tab
    )
}

/// The controls on screen without a name in words, described for the
/// failure message.
fn unnamed_controls(harness: &Harness<'static, Option<HeraldApp>>) -> Vec<String> {
    harness
        .query_all(By::new().predicate(|node| {
            if !is_control(node.role()) || node.is_hidden() {
                return false;
            }
            let name = node.label().unwrap_or_default();
            !name.chars().any(char::is_alphabetic)
        }))
        .map(|node| {
            let node = node.accesskit_node();
            format!(
                "{:?} label={:?} value={:?} at {:?}",
                node.role(),
                node.label(),
                node.value(),
                node.bounding_box()
            )
        })
        .collect()
}

fn audit(
    harness: &mut Harness<'static, Option<HeraldApp>>,
    screen: &str,
    problems: &mut Vec<String>,
) {
    harness.step();
    for control in unnamed_controls(harness) {
        problems.push(format!("{screen}: {control}"));
    }
}

/// Clicks the list row whose label contains `subject` until the reader
/// shows `expect` (a click can land while rows are still being arranged).
fn open_message(harness: &mut Harness<'static, Option<HeraldApp>>, subject: &str, expect: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        harness
            .query_all_by_label_contains(subject)
            .find(|node| {
                node.accesskit_node()
                    .label()
                    .is_some_and(|l| l.contains(" — "))
            })
            .unwrap_or_else(|| panic!("no list row for {subject}"))
            .click();
        for _ in 0..20 {
            harness.step();
            if harness.query_by_label_contains(expect).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{subject} did not open"
        );
    }
}

#[test]
fn every_control_on_every_screen_has_a_name_in_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1280.0, 800.0));
    let mut problems = Vec::new();

    harness.get_by_label("Welcome to Herald");
    audit(&mut harness, "welcome", &mut problems);

    harness.get_by_label("➕ Add account").click();
    wait_for_label(&mut harness, "Test connection", WAIT);
    audit(&mut harness, "account form", &mut problems);
    harness.get_by_label("Cancel").click();
    harness.step();

    // The demo mailbox: real engine, HTML with inline images, attachments.
    harness.get_by_label("✉ Try the demo mailbox").click();
    wait_for_label(&mut harness, "Welcome to Herald!", WAIT);
    wait_for_label(&mut harness, "new messages.", WAIT);
    audit(&mut harness, "inbox", &mut problems);

    open_message(
        &mut harness,
        "Annual report 2024 and the sales figures",
        "Save all",
    );
    audit(&mut harness, "reader with attachments", &mut problems);

    open_message(&mut harness, "Welcome to Herald!", "Herald logo");
    audit(&mut harness, "reader with inline images", &mut problems);

    harness.get_by_label("⚙ Settings").click();
    wait_for_label(&mut harness, "Appearance", WAIT);
    audit(&mut harness, "settings", &mut problems);
    harness.get_by_label("⚙ Settings").click();
    harness.step();

    harness.get_by_label("🖧 Server").click();
    wait_for_label(&mut harness, "19 message(s)", WAIT);
    audit(&mut harness, "server view", &mut problems);
    harness.get_by_label("🖧 Server").click();
    harness.step();

    harness.key_press(egui::Key::F1);
    wait_for_label(&mut harness, "Keyboard shortcuts", WAIT);
    audit(&mut harness, "help", &mut problems);
    harness.key_press(egui::Key::F1);
    harness.step();

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    wait_for_label(&mut harness, "New message", WAIT);
    audit(&mut harness, "composer", &mut problems);

    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "controls without a name in words:\n{}",
        problems.join("\n")
    );
}
