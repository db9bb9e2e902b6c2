//! The left side and the middle of the main window: accounts with their
//! folders (and a unified inbox), and the message list.

pub mod list;
pub mod text_search;

use herald_core::store::Folder;

use crate::app::accounts::AccountSlot;

/// Which mailbox the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxChoice {
    /// Every account together.
    Unified,
    /// One account, by index.
    Account(usize),
}

/// Which mailbox and folder the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// Unified or one account.
    pub mailbox: MailboxChoice,
    /// The folder.
    pub folder: Folder,
}

/// A folder's name for people.
pub fn folder_label(folder: Folder) -> &'static str {
    match folder {
        Folder::Inbox => "Inbox",
        Folder::Sent => "Sent",
        Folder::Drafts => "Drafts",
        Folder::Outbox => "Outbox",
        Folder::Trash => "Trash",
    }
}

fn folder_icon(folder: Folder) -> &'static str {
    match folder {
        Folder::Inbox => "📥",
        Folder::Sent => "📤",
        Folder::Drafts => "📝",
        Folder::Outbox => "⏳",
        Folder::Trash => "🗑",
    }
}

fn folder_index(folder: Folder) -> usize {
    Folder::ALL
        .iter()
        .position(|candidate| *candidate == folder)
        .unwrap_or(0)
}

/// The count shown next to a folder: unread for Inbox/Trash/Sent, total
/// for Drafts and Outbox (where "unread" means nothing).
fn badge(folder: Folder, (unread, total): (u64, u64)) -> u64 {
    match folder {
        Folder::Drafts | Folder::Outbox => total,
        _ => unread,
    }
}

/// Draws accounts and folders; returns a new selection when clicked.
pub fn sidebar_ui(
    ui: &mut egui::Ui,
    accounts: &[AccountSlot],
    selection: Selection,
) -> Option<Selection> {
    let mut chosen = None;
    egui::ScrollArea::vertical()
        .id_salt("sidebar")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_space(4.0);
            if accounts.len() > 1 {
                let unread: u64 = accounts
                    .iter()
                    .map(|slot| slot.counts[folder_index(Folder::Inbox)].0)
                    .sum();
                let selected = selection.mailbox == MailboxChoice::Unified;
                if folder_button(ui, "📬", "All inboxes", unread, selected).clicked() {
                    chosen = Some(Selection {
                        mailbox: MailboxChoice::Unified,
                        folder: Folder::Inbox,
                    });
                }
                ui.add_space(6.0);
            }
            for (index, slot) in accounts.iter().enumerate() {
                let heading = slot
                    .account
                    .display_name
                    .as_deref()
                    .filter(|name| !name.is_empty())
                    .map_or_else(
                        || slot.account.name.clone(),
                        |name| format!("{} — {}", slot.account.name, name),
                    );
                ui.label(egui::RichText::new(heading).strong())
                    .on_hover_text(&slot.account.email_addr);
                ui.label(egui::RichText::new(&slot.account.email_addr).small().weak());
                for folder in Folder::ALL {
                    let selected = selection.mailbox == MailboxChoice::Account(index)
                        && selection.folder == folder;
                    let count = badge(folder, slot.counts[folder_index(folder)]);
                    let response = folder_button(
                        ui,
                        folder_icon(folder),
                        folder_label(folder),
                        count,
                        selected,
                    );
                    if response.clicked() {
                        chosen = Some(Selection {
                            mailbox: MailboxChoice::Account(index),
                            folder,
                        });
                    }
                }
                ui.add_space(8.0);
            }
        });
    chosen
}

fn folder_button(
    ui: &mut egui::Ui,
    icon: &str,
    label: &str,
    count: u64,
    selected: bool,
) -> egui::Response {
    let text = if count > 0 {
        format!("{icon} {label}  ({count})")
    } else {
        format!("{icon} {label}")
    };
    let response = ui
        .with_layout(egui::Layout::top_down_justified(egui::Align::LEFT), |ui| {
            ui.selectable_label(selected, text)
        })
        .inner;
    let spoken = if count > 0 {
        format!("{label}, {count}")
    } else {
        label.to_owned()
    };
    response
        .widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, selected, &spoken));
    response
}
