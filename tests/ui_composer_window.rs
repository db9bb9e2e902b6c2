//! The composer in its own OS window, as eframe opens it: the real window
//! with multi-viewport rendering (tests/support/os_windows.rs stands in for
//! eframe's), driven through each window's own input and accessibility tree.

mod support;

use std::time::{Duration, Instant};

use egui::{Key, Modifiers, ViewportId};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use herald::app::HeraldApp;
use herald_core::account::Profile;
use herald_core::store::{Folder, MailStore};
use support::os_windows::OsWindows;
use support::ui::{app_harness, plain_message, seed, setup, step_until, wait_for_label};

const WAIT: Duration = Duration::from_secs(10);

type AppHarness = Harness<'static, Option<HeraldApp>>;

/// A profile with one account whose servers refuse connections (port 9), so
/// that a send fails in the engine's words and stays in the Outbox.
fn profile_with_account(dir: &std::path::Path) -> Profile {
    let profile = Profile::at(dir);
    let status = support::herald()
        .arg("--profile")
        .arg(profile.root().expect("explicit profile"))
        .args([
            "account",
            "add",
            "--name",
            "work",
            "--email",
            "ann@example.org",
        ])
        .args(["--smtp", "127.0.0.1:9", "--pop3", "127.0.0.1:9"])
        .args(["--password-command", "printf secret"])
        .status()
        .expect("run herald");
    assert!(status.success());
    profile
}

/// The window on `profile` with composers in OS windows and no undo delay.
fn window(profile: &Profile) -> (AppHarness, OsWindows) {
    let mut harness = app_harness(setup(profile, &[]), egui::vec2(1100.0, 700.0));
    let windows = OsWindows::install(&harness.ctx);
    harness
        .state_mut()
        .as_mut()
        .expect("app")
        .preferences
        .undo_send_secs = 0;
    (harness, windows)
}

/// Steps until `window` has taken its queued input, and a few frames more.
fn deliver(harness: &mut AppHarness, windows: &OsWindows, window: ViewportId) {
    let deadline = Instant::now() + WAIT;
    while windows.busy(window) {
        assert!(Instant::now() < deadline, "the window takes no input");
        harness.step();
    }
    for _ in 0..3 {
        harness.step();
    }
}

/// Steps until `done` holds for the composer windows, failing after 10 s.
fn wait_for_window(
    harness: &mut AppHarness,
    windows: &OsWindows,
    window: ViewportId,
    what: &str,
    done: impl Fn(&AppHarness, &OsWindows) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(harness, windows) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; the composer shows:\n{}",
            windows.labels(window).join("\n")
        );
        std::thread::sleep(Duration::from_millis(10));
        harness.step();
    }
}

fn open_composer(harness: &mut AppHarness) -> ViewportId {
    harness.key_press_modifiers(Modifiers::COMMAND, Key::N);
    harness.step();
    harness.step();
    OsWindows::find(harness.output(), "New message").expect("an OS window for the composer")
}

fn count(profile: &Profile, folder: Folder) -> u64 {
    MailStore::open_read_only(&profile.mailbox_dir("work"))
        .and_then(|store| store.count(folder))
        .unwrap_or(0)
}

#[test]
fn composer_is_an_os_window_with_its_own_keys_drops_pastes_and_close_button() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = profile_with_account(dir.path());
    seed(
        &profile,
        "work",
        Folder::Inbox,
        &[
            plain_message(
                "Bob <bob@example.org>",
                "Budget review",
                "Mon, 2 Nov 2026 10:00:00 +0000",
                "numbers inside",
            ),
            plain_message(
                "Carl <carl@example.org>",
                "Older note",
                "Sun, 1 Nov 2026 10:00:00 +0000",
                "older body",
            ),
        ],
        false,
    );
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("mkdir");
    let notes = files.join("notes.txt");
    std::fs::write(&notes, "dropped on the composer").expect("write");

    let (mut harness, windows) = window(&profile);
    wait_for_label(&mut harness, "Budget review", WAIT);
    // The newest message is open in the main window.
    harness.key_press(Key::ArrowDown);
    wait_for_label(&mut harness, "numbers inside", WAIT);

    let composer = open_composer(&mut harness);
    // Its fields are in its own window, not in the main one.
    assert!(
        harness
            .query_by_role_and_label(egui::accesskit::Role::TextInput, "Subject")
            .is_none(),
        "the composer is drawn inside the main window"
    );
    wait_for_window(&mut harness, &windows, composer, "the fields", |_, w| {
        w.value(composer, "Subject").is_some()
    });

    windows.focus(composer, "To");
    windows.type_text(composer, "bob@example.org, ");
    windows.focus(composer, "Subject");
    windows.type_text(composer, "Quarterly numbers");
    deliver(&mut harness, &windows, composer);
    assert_eq!(
        windows.value(composer, "Subject").as_deref(),
        Some("Quarterly numbers")
    );
    // The OS window's title is the subject.
    assert_eq!(OsWindows::titles(harness.output()), ["Quarterly numbers"]);

    // Keys typed in the composer's window are the composer's: the main
    // window's shortcuts (Delete, reply, forward, search, J/K) do nothing.
    windows.focus(composer, "Message");
    for (modifiers, key) in [
        (Modifiers::NONE, Key::Delete),
        (Modifiers::COMMAND, Key::R),
        (Modifiers::COMMAND, Key::L),
        (Modifiers::COMMAND, Key::F),
        (Modifiers::NONE, Key::J),
        (Modifiers::NONE, Key::ArrowDown),
    ] {
        windows.key(composer, modifiers, key);
    }
    deliver(&mut harness, &windows, composer);
    for _ in 0..20 {
        harness.step();
    }
    assert_eq!(
        OsWindows::titles(harness.output()).len(),
        1,
        "no reply opened"
    );
    harness.get_by_label_contains("numbers inside");
    assert_eq!(count(&profile, Folder::Trash), 0, "nothing was deleted");
    assert_eq!(count(&profile, Folder::Inbox), 2);

    // A file dropped on the window is attached; a pasted image goes into
    // the body.
    windows.drop_file(composer, &notes);
    wait_for_window(
        &mut harness,
        &windows,
        composer,
        "the dropped file",
        |_, w| w.shows(composer, "Remove notes.txt"),
    );
    windows.focus(composer, "Message");
    windows.paste_image(
        composer,
        egui::ColorImage::filled([40, 30], egui::Color32::from_rgb(200, 60, 20)),
    );
    wait_for_window(
        &mut harness,
        &windows,
        composer,
        "the pasted image",
        |_, w| w.shows(composer, "Make pasted-image.png an attachment"),
    );
    let body = windows.value(composer, "Message").unwrap_or_default();
    assert!(body.contains("![pasted-image.png](cid:"), "{body}");

    // Several at once: a second composer gets a second window.
    let second = open_composer(&mut harness);
    assert_ne!(second, composer);
    assert_eq!(OsWindows::titles(harness.output()).len(), 2);

    // The first window's close button: its draft is saved, then it goes.
    windows.close(composer);
    wait_for_window(
        &mut harness,
        &windows,
        composer,
        "the window to close",
        |h, _| OsWindows::find(h.output(), "Quarterly numbers").is_none(),
    );
    step_until(&mut harness, WAIT, "the draft stored", |_| {
        count(&profile, Folder::Drafts) == 1
    });
    assert_eq!(OsWindows::titles(harness.output()), ["New message"]);

    // Ctrl+Enter in the second window sends: through the engine, which
    // cannot reach the server and keeps the message in the Outbox.
    windows.focus(second, "To");
    windows.type_text(second, "carl@example.org, ");
    windows.focus(second, "Subject");
    windows.type_text(second, "Sent with the keyboard");
    windows.focus(second, "Message");
    windows.type_text(second, "Hello");
    windows.key(second, Modifiers::COMMAND, Key::Enter);
    wait_for_window(
        &mut harness,
        &windows,
        second,
        "the engine's answer",
        |_, w| w.shows(second, "The message was not sent"),
    );
    assert_eq!(count(&profile, Folder::Outbox), 1);
}

#[test]
fn closing_the_main_window_saves_open_composers_drafts_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = profile_with_account(dir.path());
    let (mut harness, windows) = window(&profile);
    wait_for_label(&mut harness, "No messages yet", WAIT);
    let composer = open_composer(&mut harness);
    wait_for_window(&mut harness, &windows, composer, "the fields", |_, w| {
        w.value(composer, "Message").is_some()
    });
    windows.focus(composer, "Message");
    windows.type_text(composer, "Words typed just before quitting");
    deliver(&mut harness, &windows, composer);

    // The window manager asks the main window to close.
    harness
        .input_mut()
        .viewports
        .entry(ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    harness.step();
    let commands = |h: &AppHarness| {
        h.output()
            .viewport_output
            .get(&ViewportId::ROOT)
            .map(|output| output.commands.clone())
            .unwrap_or_default()
    };
    assert!(
        commands(&harness).contains(&egui::ViewportCommand::CancelClose),
        "the window must wait for the composer"
    );
    // The composer saves its draft and closes; then the window closes.
    step_until(&mut harness, WAIT, "the main window to close", |h| {
        commands(h).contains(&egui::ViewportCommand::Close)
    });
    harness.step();
    assert!(OsWindows::titles(harness.output()).is_empty());
    // The window closes and the app ends: its workers finish what they were
    // given (the draft) before they stop.
    drop(harness);
    assert_eq!(count(&profile, Folder::Drafts), 1);
    let store = MailStore::open_read_only(&profile.mailbox_dir("work")).expect("store");
    let draft = store
        .list(Folder::Drafts, &Default::default())
        .expect("list")
        .remove(0);
    let bytes = std::fs::read(draft.path.expect("stored")).expect("read");
    assert!(
        String::from_utf8_lossy(&bytes).contains("Words typed just before quitting"),
        "the draft holds the last words"
    );
}
