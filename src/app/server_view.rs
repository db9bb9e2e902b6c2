//! The server view: what is on an account's POP3 server right now (headers
//! and sizes, from `TOP n 0`), whether each message is downloaded, and
//! per-message Download / Delete from server. All of it runs on the
//! account's engine worker; this window only shows results.

use std::collections::BTreeSet;

use herald_core::engine::{Command, Failure};
use herald_core::sync::ServerMessage;

use crate::app::accounts::AccountSlot;
use crate::app::text::{format_size, local_date_short};
use crate::app::words;

/// The server view of one account.
pub struct ServerView {
    /// Index of the account.
    pub account: usize,
    messages: Option<Result<Vec<ServerMessage>, Failure>>,
    warnings: Vec<String>,
    checked: BTreeSet<String>,
    confirm_delete: bool,
    note: Option<String>,
    /// Cleared when the user closes the window.
    pub open: bool,
}

impl ServerView {
    /// Opens the view and asks the worker for the list.
    pub fn open(account: usize, slot: &AccountSlot) -> ServerView {
        slot.submit(Command::ListServer);
        ServerView {
            account,
            messages: None,
            warnings: Vec::new(),
            checked: BTreeSet::new(),
            confirm_delete: false,
            note: None,
            open: true,
        }
    }

    /// The worker's list arrived.
    pub fn listed(&mut self, result: Result<(Vec<ServerMessage>, Vec<String>), Failure>) {
        match result {
            Ok((messages, warnings)) => {
                self.checked
                    .retain(|uidl| messages.iter().any(|message| &message.uidl == uidl));
                self.messages = Some(Ok(messages));
                self.warnings = warnings;
            }
            Err(failure) => self.messages = Some(Err(failure)),
        }
    }

    /// A download or deletion finished: say so and list again.
    pub fn changed(&mut self, slot: &AccountSlot, note: String) {
        self.note = Some(note);
        self.messages = None;
        slot.submit(Command::ListServer);
    }

    /// Draws the window.
    pub fn show(&mut self, ctx: &egui::Context, slot: &AccountSlot) {
        let mut open = self.open;
        egui::Window::new(format!("On the server — {}", slot.account.name))
            .id(egui::Id::unique("server_view"))
            .open(&mut open)
            .default_size([720.0, 420.0])
            .show(ctx, |ui| self.contents_ui(ui, slot));
        self.open = open;
    }

    fn contents_ui(&mut self, ui: &mut egui::Ui, slot: &AccountSlot) {
        ui.horizontal(|ui| {
            let busy = slot.busy();
            if ui
                .add_enabled(!busy, egui::Button::new("⟳ Refresh"))
                .clicked()
            {
                self.messages = None;
                slot.submit(Command::ListServer);
            }
            let any = !self.checked.is_empty();
            let chosen: Vec<String> = self.checked.iter().cloned().collect();
            if ui
                .add_enabled(any && !busy, egui::Button::new("⬇ Download"))
                .on_hover_text("Download the checked messages, whatever their size")
                .clicked()
            {
                slot.submit(Command::DownloadFromServer(chosen.clone()));
                self.note = Some(format!("Downloading {} message(s)…", chosen.len()));
            }
            if self.confirm_delete {
                ui.label(format!(
                    "Delete {} message(s) from the server for good?",
                    chosen.len()
                ));
                if ui
                    .button(egui::RichText::new("Delete").color(ui.visuals().error_fg_color))
                    .clicked()
                {
                    slot.submit(Command::DeleteFromServer(chosen));
                    self.checked.clear();
                    self.confirm_delete = false;
                }
                if ui.button("Keep them").clicked() {
                    self.confirm_delete = false;
                }
            } else if ui
                .add_enabled(any && !busy, egui::Button::new("🗑 Delete from server…"))
                .clicked()
            {
                self.confirm_delete = true;
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(note) = &self.note {
            ui.label(note);
        }
        for warning in &self.warnings {
            ui.colored_label(ui.visuals().warn_fg_color, warning);
        }
        ui.separator();
        match &self.messages {
            None => {
                ui.spinner();
            }
            Some(Err(failure)) => words::advice_ui(ui, &words::advise(failure)),
            Some(Ok(messages)) if messages.is_empty() => {
                ui.label("The server holds no messages for this account.");
            }
            Some(Ok(messages)) => {
                ui.label(format!(
                    "{} message(s), {} on the server",
                    messages.len(),
                    format_size(messages.iter().map(|message| message.size).sum())
                ));
                let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show_rows(ui, row_height, messages.len(), |ui, range| {
                        egui::Grid::new("server_rows")
                            .num_columns(5)
                            .striped(true)
                            .min_row_height(row_height)
                            .start_row(range.start)
                            .show(ui, |ui| {
                                for message in &messages[range] {
                                    let mut checked = self.checked.contains(&message.uidl);
                                    let subject =
                                        message.subject.as_deref().unwrap_or("(no subject)");
                                    if ui
                                        .checkbox(&mut checked, "")
                                        .on_hover_text(format!("Choose {subject}"))
                                        .changed()
                                    {
                                        if checked {
                                            self.checked.insert(message.uidl.clone());
                                        } else {
                                            self.checked.remove(&message.uidl);
                                        }
                                    }
                                    ui.label(message.from.as_deref().unwrap_or(""));
                                    ui.label(subject);
                                    ui.label(
                                        message.date.map(local_date_short).unwrap_or_default(),
                                    );
                                    ui.label(format!(
                                        "{}{}",
                                        format_size(message.size),
                                        if message.downloaded {
                                            "  ✔ downloaded"
                                        } else {
                                            "  not downloaded"
                                        }
                                    ));
                                    ui.end_row();
                                }
                            });
                    });
            }
        }
    }
}
