//! The status bar: what each account's worker is doing (with progress and
//! Cancel), and how its last command ended, in the words of
//! [`crate::app::words`].

use herald_core::engine::Activity;
use herald_core::sync::Progress;

use crate::app::accounts::{AccountSlot, Outcome};
use crate::app::text::format_size;
use crate::app::words;

/// A sentence for a running activity.
pub fn activity_text(activity: Activity, progress: Option<&Progress>) -> String {
    let base = match activity {
        Activity::GettingMail => "Getting mail",
        Activity::Sending => "Sending",
        Activity::FlushingOutbox => "Sending the Outbox",
        Activity::TestingConnection => "Testing the connection",
        Activity::ListingServer => "Listing the server",
        Activity::Downloading => "Downloading",
        Activity::DeletingOnServer => "Deleting on the server",
        Activity::Editing => "Saving changes",
    };
    match progress {
        Some(Progress::Connecting) => format!("{base}: connecting…"),
        Some(Progress::Listing) => format!("{base}: reading the server's list…"),
        Some(Progress::Downloading {
            done,
            total,
            bytes,
            total_bytes,
        }) => format!(
            "{base}: {done} of {total} messages, {} of {}",
            format_size(*bytes),
            format_size(*total_bytes)
        ),
        Some(Progress::Deleting { count }) => format!("{base}: deleting {count} on the server…"),
        None => format!("{base}…"),
    }
}

/// Draws the status bar; true when Cancel was pressed.
pub fn status_bar_ui(ui: &mut egui::Ui, accounts: &[AccountSlot], note: &Option<String>) -> bool {
    let mut cancel = false;
    ui.horizontal(|ui| {
        let mut any_running = false;
        for slot in accounts {
            if let Some(activity) = slot.activity {
                any_running = true;
                ui.spinner();
                let text = activity_text(activity, slot.progress.as_ref());
                let prefix = if accounts.len() > 1 {
                    format!("{}: ", slot.account.name)
                } else {
                    String::new()
                };
                ui.label(format!("{prefix}{text}"));
                if let Some(Progress::Downloading { done, total, .. }) = slot.progress
                    && total > 0
                {
                    ui.add(
                        egui::ProgressBar::new(done as f32 / total as f32)
                            .desired_width(120.0)
                            .show_percentage(),
                    );
                }
            }
        }
        if any_running {
            if ui
                .button("Cancel")
                .on_hover_text("Stop now; nothing is lost")
                .clicked()
            {
                cancel = true;
            }
            return;
        }
        let mut shown = false;
        for slot in accounts {
            match &slot.outcome {
                Some(Outcome::Done(sentence)) => {
                    let prefix = if accounts.len() > 1 {
                        format!("{}: ", slot.account.name)
                    } else {
                        String::new()
                    };
                    ui.label(format!("{prefix}{sentence}"));
                    shown = true;
                }
                Some(Outcome::Failed { what, failure }) => {
                    let advice = words::advise(failure);
                    let response = ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!("{} — {what} failed: {}", slot.account.name, advice.title),
                    );
                    response.on_hover_ui(|ui| words::advice_ui(ui, &advice));
                    ui.label(egui::RichText::new(advice.detail).weak());
                    shown = true;
                }
                None => {}
            }
        }
        if let Some(text) = note.as_deref() {
            if shown {
                ui.separator();
            }
            ui.label(text);
        }
    });
    cancel
}
