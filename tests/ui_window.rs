//! The window, driven headless through its accessibility tree (egui_kittest).

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use herald::app::{AccountsState, HeraldApp};
use herald_core::account::{AccountList, Profile};

/// A harness whose first frame is empty, so Herald's fonts are installed
/// before any of its text is laid out (kittest panics on a missing glyph).
fn harness(app: HeraldApp) -> Harness<'static, Option<HeraldApp>> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(960.0, 640.0))
        .build_ui_state(
            |ui, app: &mut Option<HeraldApp>| {
                if let Some(app) = app {
                    app.ui(ui);
                }
            },
            None,
        );
    herald::app::setup_context(&harness.ctx);
    harness.run();
    *harness.state_mut() = Some(app);
    harness.run();
    harness
}

#[test]
fn welcome_screen_shows_when_there_is_no_account() {
    let harness = harness(HeraldApp::with_accounts(AccountsState::Loaded(vec![])));
    harness.get_by_label("Welcome to Herald");
    harness.get_by_label("No account is set up yet.");
    assert!(harness.query_by_label("Accounts").is_none());
}

#[test]
fn accounts_added_with_the_cli_are_listed_and_selectable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, email, pop3) in [
        ("work", "ann@example.org", "pop.example.org:995"),
        ("家", "李@例子.中国", "pop.qq.com"),
    ] {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(["--profile"])
            .arg(dir.path())
            .args([
                "account",
                "add",
                "--name",
                name,
                "--email",
                email,
                "--smtp",
                "smtp.example.org",
            ])
            .args(["--pop3", pop3, "--password-command", "printf secret"])
            .status()
            .expect("run herald");
        assert!(status.success());
    }
    let profile = Profile::at(dir.path());
    assert_eq!(AccountList::load(&profile).expect("load").len(), 2);

    let mut harness = harness(HeraldApp::load(&profile));
    harness.get_by_label("Accounts");
    // The first account is selected: its servers are shown.
    harness.get_by_label_contains("pop.example.org:995");
    harness.get_by_label_contains("李@例子.中国").click();
    harness.run();
    harness.get_by_label_contains("pop.qq.com:995");
    assert!(
        harness
            .query_by_label_contains("pop.example.org:995")
            .is_none()
    );
}

#[test]
fn unreadable_accounts_file_is_reported_not_hidden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    std::fs::create_dir_all(profile.config_dir()).expect("mkdir");
    std::fs::write(profile.accounts_file(), "this is = = not toml").expect("write");
    let harness = harness(HeraldApp::load(&profile));
    harness.get_by_label("Your accounts could not be read");
    harness.get_by_label_contains("accounts.toml");
}
