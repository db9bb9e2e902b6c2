//! The Settings window: accounts (edit, remove, add) and the window's
//! preferences (theme, text size, undo-send delay, notifications).

use crate::app::accounts::AccountSlot;
use crate::app::prefs::{Preferences, TEXT_SCALES, ThemeChoice};

/// What the user asked for in Settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsAction {
    /// Open the account form for this account (by index).
    EditAccount(usize),
    /// Remove this account (by index), after confirmation.
    RemoveAccount(usize),
    /// Open the form for a new account.
    AddAccount,
}

/// The Settings window's own state.
#[derive(Debug, Default)]
pub struct SettingsWindow {
    confirm_remove: Option<usize>,
    /// The text-size slider is being dragged: the new size applies when it
    /// is let go (zooming under the pointer would move the slider and feed
    /// back into its value).
    dragging_text_size: bool,
}

impl SettingsWindow {
    /// Draws the window and applies the theme and text size to `ctx`;
    /// `open` is cleared when the user closes it.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        open: &mut bool,
        accounts: &[AccountSlot],
        preferences: &mut Preferences,
    ) -> Option<SettingsAction> {
        let mut action = None;
        egui::Window::new("Settings")
            .id(egui::Id::unique("settings_window"))
            .open(open)
            .collapsible(false)
            .default_width(460.0)
            .show(ctx, |ui| {
                ui.heading("Accounts");
                for (index, slot) in accounts.iter().enumerate() {
                    ui.horizontal(|ui| {
                        ui.label(format!(
                            "{} — {}",
                            slot.account.name, slot.account.email_addr
                        ));
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if self.confirm_remove == Some(index) {
                                if ui.button("Cancel").clicked() {
                                    self.confirm_remove = None;
                                }
                                if ui
                                    .button(
                                        egui::RichText::new("Remove")
                                            .color(ui.visuals().error_fg_color),
                                    )
                                    .clicked()
                                {
                                    self.confirm_remove = None;
                                    action = Some(SettingsAction::RemoveAccount(index));
                                }
                                ui.label("Remove? Downloaded mail stays on disk.");
                            } else {
                                if ui.button("Remove…").clicked() {
                                    self.confirm_remove = Some(index);
                                }
                                if ui.button("Edit…").clicked() {
                                    action = Some(SettingsAction::EditAccount(index));
                                }
                            }
                        });
                    });
                }
                if ui.button("➕ Add account…").clicked() {
                    action = Some(SettingsAction::AddAccount);
                }
                ui.separator();
                ui.heading("Appearance");
                ui.horizontal(|ui| {
                    ui.label("Theme");
                    ui.selectable_value(
                        &mut preferences.theme,
                        ThemeChoice::System,
                        "Follow system",
                    );
                    ui.selectable_value(&mut preferences.theme, ThemeChoice::Light, "Light");
                    ui.selectable_value(&mut preferences.theme, ThemeChoice::Dark, "Dark");
                });
                ui.horizontal(|ui| {
                    let label = ui.label("Text size");
                    let slider = ui
                        .add(
                            egui::Slider::new(&mut preferences.text_scale, TEXT_SCALES)
                                .step_by(0.1)
                                .custom_formatter(|value, _| format!("{:.0} %", value * 100.0)),
                        )
                        .labelled_by(label.id);
                    self.dragging_text_size = slider.dragged();
                });
                ui.separator();
                ui.heading("Sending and new mail");
                ui.horizontal(|ui| {
                    let label = ui.label("Undo send for");
                    ui.add(egui::Slider::new(&mut preferences.undo_send_secs, 0..=30).suffix(" s"))
                        .labelled_by(label.id);
                });
                ui.checkbox(
                    &mut preferences.notify_new_mail,
                    "Notify me of new mail when Herald is in the background",
                );
                if !preferences.remote_content_senders.is_empty() {
                    ui.separator();
                    ui.heading("Remote content allowed from");
                    let mut forget = None;
                    for sender in &preferences.remote_content_senders {
                        ui.horizontal(|ui| {
                            ui.label(sender);
                            if ui.small_button("Forget").clicked() {
                                forget = Some(sender.clone());
                            }
                        });
                    }
                    if let Some(sender) = forget {
                        preferences.remote_content_senders.remove(&sender);
                    }
                }
            });
        preferences.apply_theme(ctx);
        if !self.dragging_text_size {
            preferences.apply_text_scale(ctx);
        }
        action
    }
}
