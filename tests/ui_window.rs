//! The main window, driven headless through its accessibility tree
//! (egui_kittest): accounts, folders, the message list, the reader pane.

mod support;

use std::time::Duration;

use egui_kittest::kittest::{NodeT, Queryable};
use herald_core::account::{AccountList, Profile};
use herald_core::store::{Folder, MailStore};
use support::ui::{app_harness, plain_message, seed, setup, step_until, wait_for_label};

const WAIT: Duration = Duration::from_secs(10);

fn add_account(profile: &Profile, name: &str, email: &str, pop3: &str) {
    let status = support::herald()
        .arg("--profile")
        .arg(profile.root().expect("explicit profile"))
        .args(["account", "add", "--name", name, "--email", email])
        .args(["--smtp", "127.0.0.1:9", "--pop3", pop3])
        .args(["--password-command", "printf secret"])
        .status()
        .expect("run herald");
    assert!(status.success());
}

#[test]
fn welcome_screen_shows_when_there_is_no_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let harness = app_harness(setup(&profile, &[]), egui::vec2(960.0, 640.0));
    harness.get_by_label("Welcome to Herald");
    harness.get_by_label("No account is set up yet.");
    assert!(harness.query_by_label_contains("Inbox").is_none());
}

#[test]
fn unreadable_accounts_file_is_reported_not_hidden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    std::fs::create_dir_all(profile.config_dir()).expect("mkdir");
    std::fs::write(profile.accounts_file(), "this is = = not toml").expect("write");
    let harness = app_harness(setup(&profile, &[]), egui::vec2(960.0, 640.0));
    harness.get_by_label("Your accounts could not be read");
    harness.get_by_label_contains("accounts.toml");
}

#[test]
fn two_accounts_get_a_unified_inbox_with_both_accounts_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    add_account(&profile, "work", "ann@example.org", "127.0.0.1:9");
    add_account(&profile, "家", "李@例子.中国", "127.0.0.1:9");
    assert_eq!(AccountList::load(&profile).expect("load").len(), 2);
    seed(
        &profile,
        "work",
        Folder::Inbox,
        &[plain_message(
            "Bob <bob@example.org>",
            "Budget review",
            "Mon, 2 Nov 2026 10:00:00 +0000",
            "numbers",
        )],
        false,
    );
    seed(
        &profile,
        "家",
        Folder::Inbox,
        &[plain_message(
            "王芳 <wang@example.cn>",
            "周末聚会",
            "Tue, 3 Nov 2026 10:00:00 +0000",
            "好的",
        )],
        false,
    );
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 700.0));
    wait_for_label(&mut harness, "Budget review", WAIT);
    wait_for_label(&mut harness, "周末聚会", WAIT);
    harness.get_by_label_contains("All inboxes");
    // The unified inbox counts both accounts' unread messages.
    harness.get_by_label("All inboxes, 2");
    // One account's Sent folder: empty.
    let sent: Vec<_> = harness.query_all_by_label("Sent").collect();
    assert_eq!(sent.len(), 2, "one Sent per account");
    sent[0].click();
    wait_for_label(&mut harness, "This folder is empty.", WAIT);
    assert!(harness.query_by_label_contains("Budget review").is_none());
}

#[test]
fn list_sorts_searches_and_opens_with_the_keyboard_and_marks_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    add_account(&profile, "work", "ann@example.org", "127.0.0.1:9");
    let ids = seed(
        &profile,
        "work",
        Folder::Inbox,
        &[
            plain_message(
                "Ann <ann@example.org>",
                "Alpha plans",
                "Mon, 2 Nov 2026 10:00:00 +0000",
                "first body",
            ),
            plain_message(
                "Мария <maria@example.ru>",
                "Встреча",
                "Wed, 4 Nov 2026 10:00:00 +0000",
                "второе",
            ),
            plain_message(
                "Carl <carl@example.org>",
                "Zulu report",
                "Tue, 3 Nov 2026 10:00:00 +0000",
                "third body",
            ),
        ],
        false,
    );
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 700.0));
    wait_for_label(&mut harness, "Zulu report", WAIT);
    harness.get_by_label("Inbox, 3");
    let order = |harness: &egui_kittest::Harness<'static, Option<herald::app::HeraldApp>>| {
        let mut rows: Vec<(f32, String)> = harness
            .query_all_by_label_contains(" — ")
            .map(|node| {
                (
                    node.rect().min.y,
                    node.accesskit_node().label().unwrap_or_default(),
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.into_iter().map(|(_, label)| label).collect::<Vec<_>>()
    };
    // Newest first by default.
    let rows = order(&harness);
    assert!(
        rows[0].contains("Встреча") && rows[2].contains("Alpha"),
        "{rows:?}"
    );
    // Sort by subject, ascending.
    harness.get_by_label_contains("Subject").click();
    step_until(&mut harness, WAIT, "sorted by subject", |h| {
        order(h).first().is_some_and(|row| row.contains("Alpha"))
    });
    let rows = order(&harness);
    assert!(
        rows[1].contains("Zulu") && rows[2].contains("Встреча"),
        "{rows:?}"
    );

    // Search filters as you type (addresses too).
    harness.get_by_label("🔍 Search").click();
    harness.get_by_label("🔍 Search");
    let search = harness.get_by_role(egui::accesskit::Role::TextInput);
    search.type_text("maria@");
    step_until(&mut harness, WAIT, "search applied", |h| {
        order(h).len() == 1
    });
    assert!(order(&harness)[0].contains("Встреча"));
    search_clear(&mut harness);
    step_until(&mut harness, WAIT, "search cleared", |h| {
        order(h).len() == 3
    });

    // The message text is searched too (through the search index, built in
    // the background): a word only in a body, any case, any script; each
    // word may match the headers or the text.
    for (query, subject) in [
        ("third", "Zulu report"),
        ("ВТОРОЕ", "Встреча"),
        ("carl bod", "Zulu report"),
    ] {
        harness.get_by_label("🔍 Search").click();
        harness
            .get_by_role(egui::accesskit::Role::TextInput)
            .type_text(query);
        step_until(
            &mut harness,
            WAIT,
            &format!("text search for {query}"),
            |h| {
                let rows = order(h);
                rows.len() == 1 && rows[0].contains(subject)
            },
        );
        search_clear(&mut harness);
        step_until(&mut harness, WAIT, "search cleared", |h| {
            order(h).len() == 3
        });
    }

    // Keyboard: Down selects the first row and opens it in the reader.
    harness.key_press(egui::Key::ArrowDown);
    wait_for_label(&mut harness, "first body", WAIT);
    harness.key_press(egui::Key::ArrowDown);
    wait_for_label(&mut harness, "third body", WAIT);
    // Opening marked both read, in the store too (through the worker).
    let store = MailStore::open_read_only(&profile.mailbox_dir("work")).expect("store");
    step_until(&mut harness, WAIT, "flags stored", |_| {
        store.unread_count(Folder::Inbox).ok() == Some(1)
    });
    assert!(store.get(ids[0]).expect("get").expect("row").flags.seen);
    assert!(!store.get(ids[1]).expect("get").expect("row").flags.seen);

    // Delete moves the selected message to Trash and selects the next.
    harness.key_press(egui::Key::Delete);
    step_until(&mut harness, WAIT, "moved to Trash", |_| {
        store.count(Folder::Trash).ok() == Some(1)
    });
    assert_eq!(
        store.get(ids[2]).expect("get").expect("row").folder,
        Folder::Trash
    );
    wait_for_label(&mut harness, "второе", WAIT);
}

fn search_clear(harness: &mut egui_kittest::Harness<'static, Option<herald::app::HeraldApp>>) {
    harness.key_press(egui::Key::Escape);
    harness.step();
}

#[test]
fn shortcuts_open_the_composer_and_the_help() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    add_account(&profile, "work", "ann@example.org", "127.0.0.1:9");
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 700.0));
    wait_for_label(&mut harness, "No messages yet", WAIT);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    wait_for_label(&mut harness, "New message", WAIT);
    harness.key_press(egui::Key::F1);
    wait_for_label(&mut harness, "Keyboard shortcuts", WAIT);
    for (keys, _) in herald::app::SHORTCUTS {
        assert!(
            harness.query_all_by_label(keys).next().is_some(),
            "{keys} is listed in the help"
        );
    }
}

#[test]
fn keys_typed_in_an_embedded_composer_do_not_reach_the_message_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    add_account(&profile, "work", "ann@example.org", "127.0.0.1:9");
    seed(
        &profile,
        "work",
        Folder::Inbox,
        &[plain_message(
            "Bob <bob@example.org>",
            "Budget review",
            "Mon, 2 Nov 2026 10:00:00 +0000",
            "numbers inside",
        )],
        false,
    );
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 700.0));
    wait_for_label(&mut harness, "Budget review", WAIT);
    harness.key_press(egui::Key::ArrowDown);
    wait_for_label(&mut harness, "numbers inside", WAIT);
    // (The harness embeds viewports: the composer is a window inside.)
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::N);
    wait_for_label(&mut harness, "New message", WAIT);
    let subject = || {
        egui_kittest::kittest::By::new()
            .role(egui::accesskit::Role::TextInput)
            .label("Subject")
    };
    harness.get(subject()).focus();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::L);
    harness.key_press(egui::Key::Delete);
    for _ in 0..20 {
        harness.step();
    }
    assert_eq!(harness.query_all(subject()).count(), 1, "no reply opened");
    assert!(
        harness
            .query_by_label_contains("Re: Budget review")
            .is_none()
    );
    harness.get_by_label_contains("numbers inside");
    let store = MailStore::open_read_only(&profile.mailbox_dir("work")).expect("store");
    assert_eq!(store.count(Folder::Trash).expect("count"), 0);
}

/// Counts TCP connections to a loopback port: the canary for any fetch.
struct Canary {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Canary {
    fn start() -> Canary {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        Canary { port, connections }
    }

    fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn hostile_html_opens_in_the_window_with_zero_network_connections() {
    let canary = Canary::start();
    let base = format!("http://127.0.0.1:{}", canary.port);
    let html = format!(
        "<html><head><link rel=stylesheet href=\"{base}/style.css\">\
         <style>body {{ background: url({base}/bg.png) }}</style>\
         <script src=\"{base}/evil.js\"></script></head>\
         <body background=\"{base}/body.png\"><h1>Account notice</h1>\
         <p>Dear customer, <a href=\"{base}/phish\">https://www.mybank.example/login</a></p>\
         <img src=\"{base}/photo.png\" alt=\"Product photo\" width=\"300\">\
         <img src=\"{base}/pixel.gif\" width=\"1\" height=\"1\">\
         <img src=\"//127.0.0.1:{}/protocol-relative.png\">\
         <iframe src=\"{base}/frame\"></iframe>\
         <video poster=\"{base}/poster.png\"></video></body></html>",
        canary.port
    );
    let raw = format!(
        "From: Bank <service@mybank.example>\r\nTo: you@example.org\r\nSubject: Hostile newsletter\r\n\
         Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <hostile@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    add_account(&profile, "work", "ann@example.org", "127.0.0.1:9");
    seed(&profile, "work", Folder::Inbox, &[raw.into_bytes()], false);
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1280.0, 800.0));
    wait_for_label(&mut harness, "Hostile newsletter", WAIT);
    harness.key_press(egui::Key::ArrowDown);
    wait_for_label(&mut harness, "Dear customer", WAIT);
    wait_for_label(&mut harness, "Herald blocked", WAIT);
    // Hover the link (its real target shows) and let frames go by.
    harness
        .query_all_by_label_contains("https://www.mybank.example/login")
        .next()
        .expect("link")
        .hover();
    for _ in 0..30 {
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        canary.connections(),
        0,
        "opening a message fetched something"
    );
}

#[test]
fn after_a_mouse_click_the_keys_still_drive_the_list_and_enter_opens_a_draft() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    add_account(&profile, "work", "ann@example.org", "127.0.0.1:9");
    seed(
        &profile,
        "work",
        Folder::Inbox,
        &[
            plain_message(
                "Ann <ann@example.org>",
                "Newer one",
                "Tue, 3 Nov 2026 10:00:00 +0000",
                "the newer body",
            ),
            plain_message(
                "Bob <bob@example.org>",
                "Older one",
                "Mon, 2 Nov 2026 10:00:00 +0000",
                "the older body",
            ),
        ],
        true,
    );
    seed(
        &profile,
        "work",
        Folder::Drafts,
        &[plain_message(
            "Ann <ann@example.org>",
            "Unfinished plan",
            "Mon, 2 Nov 2026 11:00:00 +0000",
            "half a thought",
        )],
        true,
    );
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 700.0));
    wait_for_label(&mut harness, "Newer one", WAIT);
    harness.get_by_label_contains("Ann — Newer one").click();
    wait_for_label(&mut harness, "the newer body", WAIT);
    // The clicked row has the keyboard focus now; Down still moves on.
    harness.key_press(egui::Key::ArrowDown);
    wait_for_label(&mut harness, "the older body", WAIT);

    harness.get_by_label_contains("Drafts").click();
    wait_for_label(&mut harness, "Unfinished plan", WAIT);
    harness
        .get_by_label_contains("Ann — Unfinished plan")
        .click();
    wait_for_label(&mut harness, "half a thought", WAIT);
    assert!(harness.query_by_label("Send").is_none());
    // Enter on the selected draft opens it for editing, as double-click does.
    harness.key_press(egui::Key::Enter);
    wait_for_label(&mut harness, "Send", WAIT);
}
