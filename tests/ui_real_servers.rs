//! The window against real Dovecot (POP3S) and Postfix (SMTPS) on
//! loopback, started with a per-run CA that the system does not trust:
//! adding an account as a new user would, with the failures a new user
//! meets on the way (untrusted certificate, wrong password), then getting
//! mail.

mod support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use herald_core::account::{AccountList, Profile};
use support::servers::{MailServerOptions, MailServers};
use support::ui::{app_harness, click_button, fill, setup, wait_for_label};

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
