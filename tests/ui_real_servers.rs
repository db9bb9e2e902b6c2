//! The window against real Dovecot (POP3S) and Postfix (SMTPS) on
//! loopback, started with a per-run CA that the system does not trust:
//! adding an account as a new user would, with the failures a new user
//! meets on the way (untrusted certificate, wrong password), then getting
//! mail.

mod support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use herald_core::account::{AccountList, LearntSmtpLimits, Profile};
use support::servers::{MailServerOptions, MailServers};
use support::ui::{app_harness, click_button, fill, setup, step_until, wait_for_label};

const WAIT: Duration = Duration::from_secs(30);

fn servers() -> MailServers {
    MailServers::start(MailServerOptions {
        users: vec![("ann".into(), "correct-horse-7".into())],
        ..Default::default()
    })
}

#[test]
fn add_account_meets_untrusted_certificate_and_wrong_password_then_gets_mail() {
    let servers = servers();
    let user = servers.user("ann").clone();
    servers.deliver_bytes(
        "ann",
        b"From: Bob <bob@herald.test>\r\nTo: ann@herald.test\r\nSubject: Hello from Dovecot\r\n\
          Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMessage-ID: <hello-1@herald.test>\r\n\r\nIt works.\r\n",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 760.0));
    click_button(&mut harness, "➕ Add account");
    wait_for_label(&mut harness, "Email address", WAIT);
    fill(&mut harness, "Email address", &user.address);
    fill(&mut harness, "Password", "wrong password");
    harness.get_by_label("Servers").click();
    harness.step();
    fill(&mut harness, "Incoming (POP3)", &servers.host);
    let ports: Vec<_> = harness
        .query_all(
            egui_kittest::kittest::By::new()
                .role(egui::accesskit::Role::TextInput)
                .label("port"),
        )
        .collect();
    assert_eq!(ports.len(), 2);
    drop(ports);
    fill_nth_port(&mut harness, 0, &servers.pop3_port.to_string());
    fill(&mut harness, "Outgoing (SMTP)", &servers.host);
    fill_nth_port(&mut harness, 1, &servers.smtp_port.to_string());

    // 1. The per-run CA is not trusted: the certificate is shown, once per
    // server, with a way to trust exactly it.
    click_button(&mut harness, "Test connection");
    wait_for_label(&mut harness, "Server certificate not trusted", WAIT);
    assert_eq!(
        harness
            .query_all_by_label("Trust this certificate for this account")
            .count(),
        2
    );
    assert!(
        harness
            .query_all_by_label_contains("Herald test CA")
            .next()
            .is_some()
    );
    click_button_first(&mut harness, "Trust this certificate for this account");

    // 2. Trusted now, the wrong password is reported as such.
    wait_for_label(&mut harness, "Wrong user name or password", WAIT);
    assert!(
        harness
            .query_by_label("Server certificate not trusted")
            .is_none()
    );

    // 3. The right password: both servers accept.
    fill(&mut harness, "Password", &user.password);
    click_button(&mut harness, "Test connection");
    wait_for_label(&mut harness, "Both servers accepted the login", WAIT);
    click_button(&mut harness, "Add account");

    // The account is saved with its pinned certificate, and mail arrives.
    wait_for_label(&mut harness, "Hello from Dovecot", WAIT);
    let list = AccountList::load(&profile).expect("accounts");
    let account = list.get(&user.address).expect("saved under its address");
    assert_eq!(account.pop3.port, servers.pop3_port);
    assert_eq!(
        account.trusted_certificates.len(),
        1,
        "exactly one certificate pinned"
    );
    assert!(account.password_command.is_none());
    // The connection test read the SMTP server's SIZE: the window keeps it
    // for the composer's warning (getting mail never talks to SMTP).
    let learnt = || {
        LearntSmtpLimits::load(&profile)
            .ok()
            .and_then(|learnt| learnt.get(account))
    };
    step_until(&mut harness, WAIT, "the server's SIZE remembered", |_| {
        learnt().is_some()
    });
    assert_eq!(
        learnt().and_then(|limits| limits.max_message_size_bytes),
        Some(servers.size_limit_bytes)
    );
}

fn fill_nth_port(
    harness: &mut egui_kittest::Harness<'static, Option<herald::app::HeraldApp>>,
    index: usize,
    text: &str,
) {
    let by = || {
        egui_kittest::kittest::By::new()
            .role(egui::accesskit::Role::TextInput)
            .label("port")
    };
    harness
        .query_all(by())
        .nth(index)
        .expect("port field")
        .click();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.step();
    harness
        .query_all(by())
        .nth(index)
        .expect("port field")
        .type_text(text);
    harness.step();
}

fn click_button_first(
    harness: &mut egui_kittest::Harness<'static, Option<herald::app::HeraldApp>>,
    label: &str,
) {
    harness
        .query_all_by_label(label)
        .next()
        .expect("button")
        .scroll_to_me();
    harness.step();
    let node = harness.query_all_by_label(label).next().expect("button");
    node.click();
    harness.step();
}

/// A PNG that decodes (the reader decodes inline images before drawing them).
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x * 3) as u8, (y * 5) as u8, 160, 255])
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("encode png");
    bytes
}

fn choose_path(
    harness: &mut egui_kittest::Harness<'static, Option<herald::app::HeraldApp>>,
    button: &str,
    path: &std::path::Path,
) {
    click_button(harness, button);
    step_until(harness, WAIT, "the path prompt", |h| {
        h.query_all(
            egui_kittest::kittest::By::new()
                .role(egui::accesskit::Role::TextInput)
                .label("Path"),
        )
        .next()
        .is_some()
    });
    fill(harness, "Path", &path.display().to_string());
    click_button(harness, "OK");
}

/// Adds the servers' `ann` as account `ann` (trusting the per-run CA, the
/// password from a command), as `herald account add` does.
fn add_account_with_cli(profile: &Profile, servers: &MailServers) {
    let user = servers.user("ann");
    let status = support::herald()
        .arg("--profile")
        .arg(profile.root().expect("explicit"))
        .args(["account", "add", "--name", "ann", "--email", &user.address])
        .args(["--smtp", &format!("{}:{}", servers.host, servers.smtp_port)])
        .args(["--pop3", &format!("{}:{}", servers.host, servers.pop3_port)])
        .arg("--ca-file")
        .arg(&servers.ca_pem)
        .args([
            "--password-command",
            &format!("printf '%s' '{}'", user.password),
        ])
        .status()
        .expect("account add");
    assert!(status.success());
}

#[test]
fn composer_warns_over_the_size_limit_the_smtp_server_advertised() {
    // Postfix advertises `SIZE 300000` in its EHLO.
    let servers = MailServers::start(MailServerOptions {
        users: vec![("ann".into(), "correct-horse-7".into())],
        size_limit_bytes: 300_000,
    });
    let user = servers.user("ann").clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path().join("profile"));
    add_account_with_cli(&profile, &servers);
    // 250,000 bytes are about 330 KB once encoded: over the server's limit,
    // far under the common 25 MB.
    let scan_path = dir.path().join("scan.bin");
    std::fs::write(&scan_path, vec![7u8; 250_000]).expect("write");
    let limit_words = "over the server's limit of 293 KB";

    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1280.0, 900.0));
    harness
        .state_mut()
        .as_mut()
        .expect("app")
        .preferences
        .undo_send_secs = 0;
    wait_for_label(&mut harness, "No messages yet", WAIT);
    click_button(&mut harness, "✏ Compose");
    wait_for_label(&mut harness, "New message", WAIT);
    fill(&mut harness, "To", &user.address);
    fill(&mut harness, "Subject", "The scan");
    fill(&mut harness, "Message", "Here it is.");
    choose_path(&mut harness, "Attach files…", &scan_path);
    wait_for_label(&mut harness, "Remove scan.bin", WAIT);
    // Nothing is known about the server yet: no warning, and Send sends.
    assert!(
        harness.query_by_label_contains(limit_words).is_none(),
        "a limit nobody announced"
    );
    click_button(&mut harness, "Send");
    // The engine's words for the refusal, and the limit it learnt on the
    // way, now in the open composer.
    wait_for_label(&mut harness, "larger than the server accepts", WAIT);
    wait_for_label(&mut harness, limit_words, WAIT);
    // Sending again asks first.
    click_button(&mut harness, "Send");
    wait_for_label(&mut harness, "Send anyway", WAIT);

    // A later run knows the limit before connecting to anything.
    drop(harness);
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1280.0, 900.0));
    wait_for_label(&mut harness, "No messages yet", WAIT);
    click_button(&mut harness, "✏ Compose");
    wait_for_label(&mut harness, "New message", WAIT);
    choose_path(&mut harness, "Attach files…", &scan_path);
    wait_for_label(&mut harness, "Remove scan.bin", WAIT);
    wait_for_label(&mut harness, limit_words, WAIT);
}

#[test]
fn compose_send_get_mail_open_and_save_round_trip_through_postfix_and_dovecot() {
    let servers = servers();
    let user = servers.user("ann").clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path().join("profile"));
    add_account_with_cli(&profile, &servers);
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).expect("mkdir");
    let report: Vec<u8> = (0..200_000u32).map(|n| (n * 7 % 251) as u8).collect();
    let report_path = files.join("Отчёт 年度.bin");
    std::fs::write(&report_path, &report).expect("write");
    let photo = png(320, 180);
    let photo_path = files.join("chart.png");
    std::fs::write(&photo_path, &photo).expect("write");

    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1280.0, 900.0));
    harness
        .state_mut()
        .as_mut()
        .expect("app")
        .preferences
        .undo_send_secs = 0;
    wait_for_label(&mut harness, "No messages yet", WAIT);

    // 2. Compose with an inline image and an attachment, send.
    click_button(&mut harness, "✏ Compose");
    wait_for_label(&mut harness, "New message", WAIT);
    fill(&mut harness, "To", &user.address);
    fill(&mut harness, "Subject", "Round trip through real servers");
    fill(&mut harness, "Message", "Hello **Ann**, the chart:\n");
    choose_path(&mut harness, "Attach files…", &report_path);
    wait_for_label(&mut harness, "Remove Отчёт 年度.bin", WAIT);
    choose_path(&mut harness, "Insert image…", &photo_path);
    wait_for_label(&mut harness, "Make chart.png an attachment", WAIT);
    click_button(&mut harness, "Send");
    wait_for_label(&mut harness, "Message sent.", WAIT);
    servers.wait_for_count("ann", 1, WAIT);

    // 3. Get mail, open the message, see the inline image and the
    // attachment, save it and compare bytes.
    click_button(&mut harness, "📥 Get mail");
    wait_for_label(&mut harness, "Round trip through real servers", WAIT);
    harness
        .query_all_by_label_contains("Round trip through real servers")
        .next()
        .expect("row")
        .click();
    step_until(&mut harness, WAIT, "the inline image drawn", |h| {
        h.state()
            .as_ref()
            .and_then(|app| app.reader_images_drawn())
            .is_some_and(|drawn| drawn >= 1)
    });
    wait_for_label(&mut harness, "Отчёт 年度.bin", WAIT);
    assert!(
        harness.query_all_by_label("chart.png").next().is_none()
            || harness
                .query_all_by_label_contains("1 attachment")
                .next()
                .is_some(),
        "the inline image is not listed as an attachment"
    );
    let saved = dir.path().join("saved");
    std::fs::create_dir_all(&saved).expect("mkdir");
    choose_path(&mut harness, "Save all", &saved);
    let saved_file = saved.join("Отчёт 年度.bin");
    // The file exists as soon as saving starts; the reader reports when
    // it is complete.
    wait_for_label(&mut harness, "Saved 1 file to", WAIT);
    assert_eq!(std::fs::read(&saved_file).expect("read"), report);
}
