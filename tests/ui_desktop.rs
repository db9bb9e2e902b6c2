//! The window and the desktop around it, driven headless (egui_kittest):
//! an unusable OS credential store, appearance settings that survive a
//! restart, new-mail notifications, and the temporary folders of attachments
//! opened with the system's program.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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

    // Add the account as a new user would.
    click_button(&mut harness, "➕ Add account");
    wait_for_label(&mut harness, "Email address", WAIT);
    fill(&mut harness, "Email address", DEMO_EMAIL_ADDR);
    fill(&mut harness, "Password", DEMO_PASSWORD);
    harness.get_by_label("Servers").click();
    harness.step();
    fill(&mut harness, "Incoming (POP3)", "127.0.0.1");
    fill_port(&mut harness, 0, &sandbox.pop3_port().to_string());
    fill(&mut harness, "Outgoing (SMTP)", "127.0.0.1");
    fill_port(&mut harness, 1, &sandbox.smtp_port().to_string());
    click_button(&mut harness, "Test connection");
    wait_for_label(&mut harness, "Server certificate not trusted", WAIT);
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
    wait_for_label(&mut harness, "Both servers accepted the login", WAIT);
    click_button(&mut harness, "Add account");

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
    // the handle (100 %: a quarter along 80–160 %) and move to 60 % along
    // (128 %, so 130 % after the 10 % steps), then hold still.
    assert_eq!(zoom(&harness), 1.0);
    let start_px = rect.left() + rect.width() * 0.25;
    let end_px = rect.left() + rect.width() * 0.6;
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
        (chosen - 1.3).abs() < 0.01,
        "the size ended at {chosen}, not where the pointer was let go; on the way: {seen:?}"
    );
    assert!(
        (zoom(&harness) - 1.3).abs() < 0.01,
        "zoom {}",
        zoom(&harness)
    );
}

/// Puts a new message on the demo server, as if someone had sent it.
fn deliver_to_demo_server(sandbox: &DemoSandbox, uidl: &str, subject: &str) {
    let maildir = sandbox.dir().join("demo-server").join("Maildir");
    let bytes = format!(
        "From: Zoe <zoe@example.org>\r\nTo: {DEMO_EMAIL_ADDR}\r\nSubject: {subject}\r\n\
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

    // In the background: one new message, one notification.
    set_focused(&mut harness, false);
    deliver_to_demo_server(&sandbox, "4000000000.T1.demo", "Lunch tomorrow?");
    get_mail(&mut harness, "1 new message.");
    let notifications = desktop.notifications();
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    assert_eq!(notifications[0].summary, "Herald");
    assert_eq!(
        notifications[0].body,
        format!("1 new message in {DEMO_ACCOUNT_NAME}")
    );
    // Nothing new: nothing to say.
    get_mail(&mut harness, "No new mail.");
    assert_eq!(desktop.notifications().len(), 1);

    // Back in front: mail arrives quietly.
    set_focused(&mut harness, true);
    deliver_to_demo_server(&sandbox, "4000000001.T2.demo", "Re: Lunch tomorrow?");
    get_mail(&mut harness, "1 new message.");
    assert_eq!(desktop.notifications().len(), 1);
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
