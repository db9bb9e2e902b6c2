//! The demo mailbox from the welcome screen: the real engine against the
//! in-process POP3S/SMTPS sandbox, driven through the window.

mod support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use herald_core::account::Profile;
use support::ui::{app_harness, painted_texts, setup, wait_for_label};

#[test]
fn try_the_demo_mailbox_downloads_the_seeded_inbox_in_every_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = Profile::at(dir.path());
    let mut harness = app_harness(setup(&profile, &[]), egui::vec2(1100.0, 700.0));
    harness.get_by_label("Welcome to Herald");
    harness.get_by_label("✉ Try the demo mailbox").click();
    let wait = Duration::from_secs(30);
    wait_for_label(&mut harness, "Welcome to Herald!", wait);
    for subject in [
        "周末一起去爬山吗？",
        "Привет из Санкт-Петербурга",
        "来週の打ち合わせについて",
        "Grüße aus München",
        "🎂 Cake for Chen on Friday",
        "موعد الاجتماع: الأحد 10:00",
    ] {
        wait_for_label(&mut harness, subject, wait);
    }
    // The Arabic row is drawn in visual order: egui is given the words
    // right to left (it reverses the letters of each word itself).
    let painted = painted_texts(&harness);
    for shown in ["حداد ليلى", "10:00 الأحد :الاجتماع موعد"] {
        assert!(
            painted.iter().any(|text| text == shown),
            "{shown:?} is not drawn: {painted:#?}"
        );
    }
    wait_for_label(&mut harness, "new messages.", wait);

    // The server view lists what is on the demo server, all downloaded.
    harness.get_by_label("🖧 Server").click();
    wait_for_label(&mut harness, "19 message(s)", wait);
    // (Rows are virtualised: only those in view exist.)
    assert!(harness.query_all_by_label_contains("✔ downloaded").count() >= 10);
    assert_eq!(
        harness
            .query_all_by_label_contains("not downloaded")
            .count(),
        0
    );
    // Settings opens from the toolbar and lists the demo account.
    harness.get_by_label("⚙ Settings").click();
    wait_for_label(&mut harness, "Appearance", wait);
    wait_for_label(&mut harness, "Demo — you@demo.herald.invalid", wait);
    // The demo profile, not the one the window started with, holds the mail.
    assert!(
        !profile.mailbox_dir("Demo").exists(),
        "the demo must not write into the user's profile"
    );
}
