//! The window and the desktop around it, driven headless (egui_kittest):
//! an unusable OS credential store, appearance settings that survive a
//! restart, new-mail notifications, and the temporary folders of attachments
//! opened with the system's program.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable};
use herald::app::HeraldApp;
use herald::app::desktop::{DesktopRequest, RecordingDesktop};
use herald_core::account::{AccountList, Profile};
use herald_core::credentials::{PasswordStore, service_name};
use herald_core::demo::{DEMO_ACCOUNT_NAME, DEMO_EMAIL_ADDR, DEMO_PASSWORD, DemoSandbox};
use herald_core::store::Folder;
use keyring_core::api::CredentialStoreApi;
use support::ui::{app_harness, click_button, fill, seed, setup, step_until, wait_for_label};

type AppHarness = Harness<'static, Option<HeraldApp>>;

const WAIT: Duration = Duration::from_secs(30);
const BANNER: &str = "The system credential store is not available";

fn app(harness: &mut AppHarness) -> &mut HeraldApp {
    harness.state_mut().as_mut().expect("the app")
}

/// An OS credential store that answers but refuses access to everything,
/// like a locked keyring; counts how often it was asked.
#[derive(Debug, Default)]
struct LockedStore {
    asked: AtomicUsize,
}

impl CredentialStoreApi for LockedStore {
    fn vendor(&self) -> String {
        "locked".into()
    }

    fn id(&self) -> String {
        "locked".into()
    }

    fn build(
        &self,
        _service: &str,
        _user: &str,
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> keyring_core::Result<keyring_core::Entry> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Err(keyring_core::Error::NoStorageAccess(Box::new(
            std::io::Error::other("the keyring is locked"),
        )))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Types into the `index`th field labelled "port" (the form has two).
fn fill_port(harness: &mut AppHarness, index: usize, text: &str) {
    let by = || By::new().role(Role::TextInput).label("port");
    harness.query_all(by()).nth(index).expect("port").click();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    harness
        .query_all(by())
        .nth(index)
        .expect("port")
        .type_text(text);
    harness.step();
}

/// Adds the demo server's account as a new user would, from the welcome
/// screen: address, password, servers, Test connection, trust its
/// certificate, "Add account".
fn add_demo_account(harness: &mut AppHarness, sandbox: &DemoSandbox) {
    click_button(harness, "➕ Add account");
    wait_for_label(harness, "Email address", WAIT);
    fill(harness, "Email address", DEMO_EMAIL_ADDR);
    fill(harness, "Password", DEMO_PASSWORD);
    harness.get_by_label("Servers").click();
    harness.step();
    fill(harness, "Incoming (POP3)", "127.0.0.1");
    fill_port(harness, 0, &sandbox.pop3_port().to_string());
    fill(harness, "Outgoing (SMTP)", "127.0.0.1");
    fill_port(harness, 1, &sandbox.smtp_port().to_string());
    click_button(harness, "Test connection");
    wait_for_label(harness, "Server certificate not trusted", WAIT);
    let trust = "Trust this certificate for this account";
    harness
        .query_all_by_label(trust)
        .next()
        .expect("trust button")
        .scroll_to_me();
    harness.step();
    harness
        .query_all_by_label(trust)
        .next()
        .expect("trust button")
        .click();
    harness.step();
    wait_for_label(harness, "Both servers accepted the login", WAIT);
    click_button(harness, "Add account");
}

fn banner_shown(harness: &AppHarness) -> bool {
    harness.query_all_by_label_contains(BANNER).next().is_some()
}

#[test]
fn unusable_credential_store_is_said_and_the_password_kept_for_this_session() {
    let server_dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(server_dir.path()).expect("demo servers");
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let locked = Arc::new(LockedStore::default());
    let mut app_setup = setup(&profile, &[]);
    app_setup.passwords = Some(Arc::new(PasswordStore::with_store(
        locked.clone(),
        service_name(&profile),
    )));
    let mut harness = app_harness(app_setup, egui::vec2(1100.0, 760.0));
    // The store answered the start-up probe: nothing to say yet.
    assert!(!banner_shown(&harness));

    add_demo_account(&mut harness, &sandbox);

    // Saving the password met the locked store: the window says so, once
    // in the banner and once about this account.
    wait_for_label(&mut harness, "kept for this session only", WAIT);
    step_until(
        &mut harness,
        WAIT,
        "the credential-store banner",
        banner_shown,
    );
    assert!(
        harness
            .query_all_by_label_contains("the keyring is locked")
            .next()
            .is_some(),
        "the banner says why"
    );
    assert!(
        locked.asked.load(Ordering::SeqCst) > 0,
        "the OS store was tried"
    );

    // Getting mail works in this session, with the password from memory.
    wait_for_label(
        &mut harness,
        "Annual report 2024 and the sales figures",
        WAIT,
    );
    wait_for_label(&mut harness, "new messages.", WAIT);

    // The password was written nowhere in the profile.
    let list = AccountList::load(&profile).expect("accounts");
    let account = list.get(DEMO_EMAIL_ADDR).expect("saved under its address");
    assert!(account.password_command.is_none());
    assert!(
        std::fs::read_to_string(profile.accounts_file())
            .expect("accounts.toml")
            .contains(DEMO_EMAIL_ADDR)
    );
    for file in support::files_under(dir.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes
                .windows(DEMO_PASSWORD.len())
                .any(|window| window == DEMO_PASSWORD.as_bytes()),
            "the password is in {}",
            file.display()
        );
    }
}

/// An OS credential store that works, but refuses to save passwords while
/// `refusing` is set (as one does with a value too long for it): every
/// entry it hands out fails its next operation that way.
#[derive(Debug)]
struct RefusingStore {
    inner: Arc<keyring_core::mock::Store>,
    refusing: AtomicBool,
}

impl CredentialStoreApi for RefusingStore {
    fn vendor(&self) -> String {
        "refusing".into()
    }

    fn id(&self) -> String {
        "refusing".into()
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        modifiers: Option<&HashMap<&str, &str>>,
    ) -> keyring_core::Result<keyring_core::Entry> {
        let entry = self.inner.build(service, user, modifiers)?;
        if self.refusing.load(Ordering::SeqCst) {
            let credential: &keyring_core::mock::Cred =
                entry.as_any().downcast_ref().expect("a mock credential");
            credential.set_error(keyring_core::Error::TooLong("password".into(), 8));
        }
        Ok(entry)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn a_password_the_store_refuses_is_kept_for_the_session_and_can_be_saved_later() {
    let server_dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(server_dir.path()).expect("demo servers");
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let store = Arc::new(RefusingStore {
        inner: keyring_core::mock::Store::new().expect("mock store"),
        refusing: AtomicBool::new(true),
    });
    let service = service_name(&profile);
    let stored = |store: &RefusingStore| {
        store
            .inner
            .build(&service, DEMO_EMAIL_ADDR, None)
            .expect("entry")
            .get_password()
            .ok()
    };
    let mut app_setup = setup(&profile, &[]);
    app_setup.passwords = Some(Arc::new(PasswordStore::with_store(
        store.clone(),
        service.clone(),
    )));
    let mut harness = app_harness(app_setup, egui::vec2(1100.0, 760.0));
    add_demo_account(&mut harness, &sandbox);

    // The account is added all the same; the window says the password lasts
    // until Herald quits, why, and what to do then.
    let note = "The system credential store did not take the password for you@demo.herald.invalid";
    wait_for_label(&mut harness, note, WAIT);
    harness.get_by_label_contains("longer than the credential store allows");
    harness.get_by_label_contains("enter it again in ⚙ Settings → Edit…");
    assert!(
        harness
            .query_all_by_label_contains("already exists")
            .next()
            .is_none()
    );
    assert!(!banner_shown(&harness), "the store itself still works");
    // Getting mail works with the password from memory.
    wait_for_label(
        &mut harness,
        "Annual report 2024 and the sales figures",
        WAIT,
    );
    wait_for_label(&mut harness, "new messages.", WAIT);
    assert!(
        AccountList::load(&profile)
            .expect("accounts")
            .get(DEMO_EMAIL_ADDR)
            .is_some()
    );
    store.refusing.store(false, Ordering::SeqCst);
    assert_eq!(stored(&store), None);

    // Later the store takes it: entering the password again in the
    // account's settings saves it there, and the note goes.
    click_button(&mut harness, "⚙ Settings");
    wait_for_label(&mut harness, "Appearance", WAIT);
    click_button(&mut harness, "Edit…");
    wait_for_label(&mut harness, "Account settings", WAIT);
    fill(&mut harness, "Password", DEMO_PASSWORD);
    click_button(&mut harness, "Save");
    step_until(&mut harness, WAIT, "the note to go", |h| {
        h.query_all_by_label_contains(note).next().is_none()
            && h.query_all_by_label_contains("Account settings")
                .next()
                .is_none()
    });
    assert_eq!(stored(&store).as_deref(), Some(DEMO_PASSWORD));
}

#[test]
fn credential_store_missing_at_start_up_is_said_on_the_welcome_screen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let mut app_setup = setup(&profile, &[]);
    app_setup.passwords = Some(Arc::new(PasswordStore::unavailable(
        service_name(&profile),
        "no session bus",
    )));
    let harness = app_harness(app_setup, egui::vec2(960.0, 640.0));
    harness.get_by_label("Welcome to Herald");
    harness.get_by_label_contains(BANNER);
    harness.get_by_label_contains("no session bus");
    drop(harness);

    // A store that is session-only by choice (the demo, these tests) is no
    // problem to report.
    let harness = app_harness(setup(&profile, &[]), egui::vec2(960.0, 640.0));
    harness.get_by_label("Welcome to Herald");
    assert!(!banner_shown(&harness));
}

/// eframe's storage, in memory.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

fn set_system_theme(harness: &mut AppHarness, theme: egui::Theme) {
    harness.input_mut().system_theme = Some(theme);
    harness.step();
    harness.step();
}

fn dark(harness: &AppHarness) -> bool {
    harness.ctx.global_style().visuals.dark_mode
}

fn zoom(harness: &AppHarness) -> f32 {
    harness.ctx.zoom_factor()
}

#[test]
fn theme_and_text_size_change_the_window_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(dir.path()).expect("demo");
    let profile = sandbox.profile().clone();
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 760.0));
    click_button(&mut harness, "⚙ Settings");
    wait_for_label(&mut harness, "Appearance", WAIT);

    // Follow system (the default) follows the system's theme both ways.
    set_system_theme(&mut harness, egui::Theme::Light);
    assert!(!dark(&harness));
    set_system_theme(&mut harness, egui::Theme::Dark);
    assert!(dark(&harness));
    // Light and Dark hold whatever the system says.
    click_button(&mut harness, "Light");
    harness.step();
    assert!(!dark(&harness));
    click_button(&mut harness, "Dark");
    harness.step();
    set_system_theme(&mut harness, egui::Theme::Light);
    assert!(dark(&harness));
    click_button(&mut harness, "Follow system");
    harness.step();
    assert!(!dark(&harness));
    click_button(&mut harness, "Light");
    set_system_theme(&mut harness, egui::Theme::Dark);
    assert!(!dark(&harness));

    // Text size zooms the whole window.
    assert_eq!(zoom(&harness), 1.0);
    let slider_height = |harness: &AppHarness| {
        harness
            .get_by_role_and_label(Role::Slider, "Text size")
            .rect()
            .height()
    };
    let slider_before = slider_height(&harness);
    harness
        .get_by_role_and_label(Role::Slider, "Text size")
        .set_value_accesskit(1.4);
    harness.step();
    harness.step();
    assert!(
        (zoom(&harness) - 1.4).abs() < 0.01,
        "zoom {}",
        zoom(&harness)
    );
    // Sizes in points stay; in pixels everything is 1.4 times larger.
    assert!((slider_height(&harness) - slider_before).abs() < 0.5);
    assert!((harness.ctx.pixels_per_point() - 1.4).abs() < 0.01);

    // eframe saves on exit; the next start reads the same storage.
    let mut storage = MemoryStorage::default();
    eframe::App::save(app(&mut harness), &mut storage);
    drop(harness);
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 760.0));
    set_system_theme(&mut harness, egui::Theme::Dark);
    assert!(dark(&harness), "a new window follows the system");
    assert_eq!(zoom(&harness), 1.0);
    let ctx = harness.ctx.clone();
    app(&mut harness).restore_preferences(Some(&storage), &ctx);
    harness.step();
    assert!(!dark(&harness), "Light was kept");
    assert!(
        (zoom(&harness) - 1.4).abs() < 0.01,
        "zoom {}",
        zoom(&harness)
    );
    assert!((app(&mut harness).preferences.text_scale - 1.4).abs() < 0.01);
}

#[test]
fn dragging_the_text_size_slider_ends_where_the_pointer_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(dir.path()).expect("demo");
    let mut harness = app_harness(setup(sandbox.profile(), &[]), egui::vec2(1100.0, 760.0));
    click_button(&mut harness, "⚙ Settings");
    wait_for_label(&mut harness, "Appearance", WAIT);
    let rect = harness
        .get_by_role_and_label(Role::Slider, "Text size")
        .rect();
    // The mouse moves in physical pixels, as the windowing system reports
    // it; egui turns pixels into points with the zoom of the moment. Grab
    // the handle (100 %: a fifth along 50–300 %) and move to 43 % along
    // (157.5 %, so 160 % after the 10 % steps), then hold still.
    assert_eq!(zoom(&harness), 1.0);
    let start_px = rect.left() + rect.width() * 0.2;
    let end_px = rect.left() + rect.width() * 0.43;
    let y_px = rect.center().y;
    let at = |harness: &AppHarness, x_px: f32| {
        let ppp = harness.ctx.pixels_per_point();
        egui::pos2(x_px / ppp, y_px / ppp)
    };
    harness.hover_at(at(&harness, start_px));
    harness.step();
    harness.drag_at(at(&harness, start_px));
    harness.step();
    let mut seen = Vec::new();
    for step in 1..=20 {
        let x_px = start_px + (end_px - start_px) * step as f32 / 20.0;
        harness.hover_at(at(&harness, x_px));
        harness.step();
        seen.push(app(&mut harness).preferences.text_scale);
    }
    for _ in 0..5 {
        harness.hover_at(at(&harness, end_px));
        harness.step();
    }
    harness.drop_at(at(&harness, end_px));
    harness.step();
    harness.step();
    let chosen = app(&mut harness).preferences.text_scale;
    assert!(
        (chosen - 1.6).abs() < 0.01,
        "the size ended at {chosen}, not where the pointer was let go; on the way: {seen:?}"
    );
    assert!(
        (zoom(&harness) - 1.6).abs() < 0.01,
        "zoom {}",
        zoom(&harness)
    );
}

fn text_size(harness: &mut AppHarness) -> f32 {
    app(harness).preferences.text_scale
}

/// The value the Settings slider shows.
fn slider_value(harness: &AppHarness) -> f64 {
    use egui_kittest::kittest::NodeT;
    harness
        .get_by_role_and_label(Role::Slider, "Text size")
        .accesskit_node()
        .numeric_value()
        .expect("a value")
}

fn zoom_key(harness: &mut AppHarness, key: egui::Key) {
    harness.key_press_modifiers(egui::Modifiers::COMMAND, key);
    harness.step();
    harness.step();
}

fn assert_size(harness: &mut AppHarness, expected: f32) {
    let (zoom, size) = (zoom(harness), text_size(harness));
    assert!(
        (zoom - expected).abs() < 0.01 && (size - expected).abs() < 0.01,
        "expected {expected}: zoom {zoom}, text size setting {size}"
    );
}

#[test]
fn zoom_keys_and_the_text_size_setting_are_one_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(dir.path()).expect("demo");
    let profile = sandbox.profile().clone();
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 760.0));
    assert_size(&mut harness, 1.0);

    // Ctrl + (and Ctrl =, as in browsers) is the setting's next step.
    zoom_key(&mut harness, egui::Key::Plus);
    assert_size(&mut harness, 1.1);
    zoom_key(&mut harness, egui::Key::Equals);
    assert_size(&mut harness, 1.2);

    // Settings shows it and keeps it.
    click_button(&mut harness, "⚙ Settings");
    wait_for_label(&mut harness, "Appearance", WAIT);
    harness.step();
    assert_size(&mut harness, 1.2);
    assert!((slider_value(&harness) - 1.2).abs() < 0.01);
    // With Settings open, the keys move the slider.
    zoom_key(&mut harness, egui::Key::Minus);
    assert_size(&mut harness, 1.1);
    assert!((slider_value(&harness) - 1.1).abs() < 0.01);
    // No further than the slider goes (300 %): it would clamp the size.
    for _ in 0..25 {
        zoom_key(&mut harness, egui::Key::Plus);
    }
    assert_size(&mut harness, 3.0);
    assert!((slider_value(&harness) - 3.0).abs() < 0.01);

    // It is saved with the window, like a size chosen in Settings.
    let mut storage = MemoryStorage::default();
    eframe::App::save(app(&mut harness), &mut storage);
    drop(harness);
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 760.0));
    let ctx = harness.ctx.clone();
    app(&mut harness).restore_preferences(Some(&storage), &ctx);
    harness.step();
    assert_size(&mut harness, 3.0);
    // Ctrl 0 is the normal size.
    zoom_key(&mut harness, egui::Key::Num0);
    assert_size(&mut harness, 1.0);
    // And no smaller than half.
    for _ in 0..10 {
        zoom_key(&mut harness, egui::Key::Minus);
    }
    assert_size(&mut harness, 0.5);
    // Ctrl 0 is the normal size.
    zoom_key(&mut harness, egui::Key::Num0);
    assert_size(&mut harness, 1.0);
}

/// Puts a new message on the demo server, as if `from` had sent it.
fn deliver_to_demo_server(sandbox: &DemoSandbox, uidl: &str, from: &str, subject: &str) {
    let maildir = sandbox.dir().join("demo-server").join("Maildir");
    let bytes = format!(
        "From: {from}\r\nTo: {DEMO_EMAIL_ADDR}\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{uidl}@example.org>\r\n\r\nHi!\r\n"
    );
    let temp = maildir.join("tmp").join(uidl);
    std::fs::write(&temp, bytes).expect("write");
    std::fs::rename(&temp, maildir.join("new").join(uidl)).expect("deliver");
}

fn set_focused(harness: &mut AppHarness, focused: bool) {
    harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(focused);
    harness.step();
}

/// Presses F5 and waits until the status bar says `outcome`.
fn get_mail(harness: &mut AppHarness, outcome: &str) {
    harness.key_press(egui::Key::F5);
    harness.step();
    step_until(harness, WAIT, outcome, |h| {
        h.query_all_by_label(outcome).next().is_some()
            && h.query_all_by_label_contains("Getting mail")
                .next()
                .is_none()
    });
}

#[test]
fn new_mail_while_unfocused_gives_one_notification_and_none_while_focused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(dir.path()).expect("demo");
    let desktop = Arc::new(RecordingDesktop::default());
    let mut app_setup = setup(sandbox.profile(), &[]);
    app_setup.desktop = Some(desktop.clone());
    let mut harness = app_harness(app_setup, egui::vec2(1100.0, 760.0));

    // Focused: the seeded inbox arrives without a notification.
    set_focused(&mut harness, true);
    get_mail(
        &mut harness,
        &format!("{} new messages.", sandbox.inbox_count()),
    );
    assert_eq!(desktop.notifications(), []);

    // In the background: one new message, one notification naming its
    // sender and subject.
    set_focused(&mut harness, false);
    deliver_to_demo_server(
        &sandbox,
        "4000000000.T1.demo",
        "Ann Lee <ann@example.org>",
        "Quarterly report",
    );
    get_mail(&mut harness, "1 new message.");
    let notifications = desktop.notifications();
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    assert_eq!(
        notifications[0].summary,
        format!("New mail in {DEMO_ACCOUNT_NAME}")
    );
    assert_eq!(notifications[0].body, "Ann Lee: Quarterly report");
    // Nothing new: nothing to say.
    get_mail(&mut harness, "No new mail.");
    assert_eq!(desktop.notifications().len(), 1);

    // Several: how many, and from whom (the first two senders).
    for (uidl, from, subject) in [
        (
            "4000000001.T2.demo",
            "Bob Stone <bob@example.org>",
            "Lunch tomorrow?",
        ),
        (
            "4000000002.T3.demo",
            "zoe@example.org",
            "Re: Lunch tomorrow?",
        ),
        (
            "4000000003.T4.demo",
            "Bob Stone <bob@example.org>",
            "Re: Lunch",
        ),
    ] {
        deliver_to_demo_server(&sandbox, uidl, from, subject);
    }
    get_mail(&mut harness, "3 new messages.");
    let notifications = desktop.notifications();
    assert_eq!(notifications.len(), 2, "{notifications:?}");
    assert_eq!(
        notifications[1].body,
        "3 new messages from Bob Stone and zoe@example.org"
    );

    // Back in front: mail arrives quietly.
    set_focused(&mut harness, true);
    deliver_to_demo_server(
        &sandbox,
        "4000000004.T5.demo",
        "Ann Lee <ann@example.org>",
        "Re: Quarterly report",
    );
    get_mail(&mut harness, "1 new message.");
    assert_eq!(desktop.notifications().len(), 2);
}

fn herald_open_folders(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| name.starts_with("herald-open-"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn message_with_attachment(subject: &str, name: &str, content: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    format!(
        "From: Ann <ann@example.org>\r\nTo: {DEMO_EMAIL_ADDR}\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <open-test@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe notes.\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
    )
    .into_bytes()
}

#[test]
fn opened_attachments_go_when_the_window_closes_and_stale_folders_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = DemoSandbox::start(dir.path()).expect("demo");
    let profile = sandbox.profile().clone();
    let subject = "Minutes of the meeting";
    seed(
        &profile,
        DEMO_ACCOUNT_NAME,
        Folder::Inbox,
        &[message_with_attachment(
            subject,
            "minutes.txt",
            b"1. Coffee\n",
        )],
        false,
    );
    let desktop = Arc::new(RecordingDesktop::default());
    let mut app_setup = setup(&profile, &[]);
    app_setup.desktop = Some(desktop.clone());
    let temp_root = app_setup.temp_dir.clone().expect("a temporary folder");
    // Left by earlier sessions: one two days old, one from an hour ago.
    let stale = temp_root.join("herald-open-stale");
    let recent = temp_root.join("herald-open-recent");
    for folder in [&stale, &recent] {
        std::fs::create_dir_all(folder).expect("mkdir");
        std::fs::write(folder.join("old.pdf"), b"old").expect("write");
    }
    let age = |folder: &Path, by: Duration| {
        std::fs::File::open(folder)
            .and_then(|file| file.set_modified(SystemTime::now() - by))
            .expect("set mtime");
    };
    age(&stale, Duration::from_secs(2 * 24 * 3600));
    age(&recent, Duration::from_secs(3600));

    let mut harness = app_harness(app_setup, egui::vec2(1100.0, 760.0));
    // Start-up removes the stale one, off the UI thread.
    step_until(&mut harness, WAIT, "the stale folder to go", |_| {
        !stale.exists()
    });
    assert!(recent.exists());

    wait_for_label(&mut harness, subject, WAIT);
    harness
        .query_all_by_label_contains(subject)
        .next()
        .expect("the row")
        .click();
    harness.step();
    wait_for_label(&mut harness, "minutes.txt", WAIT);
    click_button(&mut harness, "Open");
    step_until(&mut harness, WAIT, "the file to be handed over", |_| {
        !desktop.requests().is_empty()
    });
    let requests = desktop.requests();
    let [DesktopRequest::OpenFile(opened)] = requests.as_slice() else {
        panic!("expected one file opened: {requests:?}");
    };
    let folder = opened.parent().expect("its folder").to_path_buf();
    assert_eq!(std::fs::read(opened).expect("read"), b"1. Coffee\n");
    assert!(
        std::fs::metadata(opened)
            .expect("metadata")
            .permissions()
            .readonly(),
        "an editor must warn before changing a copy that will go"
    );
    let mut expected = vec![folder.clone(), recent.clone()];
    expected.sort();
    assert_eq!(herald_open_folders(&temp_root), expected);
    wait_for_label(&mut harness, "Opened", WAIT);

    // Closing the window removes this session's folder, and only it.
    drop(harness);
    assert!(!folder.exists(), "{} was left behind", folder.display());
    assert_eq!(herald_open_folders(&temp_root), vec![recent]);
}
