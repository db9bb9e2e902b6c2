//! The egui window.
//!
//! For now: the configured accounts, or a welcome screen when there are none.
//! Views only read state prepared before the first frame; nothing here touches
//! sockets, files or the keyring while drawing.

pub mod file_dialog;
mod fonts;
pub mod html_view;
pub mod jobs;
pub mod reader;

use std::path::PathBuf;
use std::process::ExitCode;

use herald_core::account::{Account, AccountList, Profile};

/// Opens the window for the profile given on the command line (or the default one).
pub fn run(profile_dir: Option<PathBuf>) -> ExitCode {
    let profile = match Profile::resolve(profile_dir.as_deref()) {
        Ok(profile) => profile,
        Err(err) => {
            eprintln!("herald: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Read once, before the first frame: the UI thread never reads files while drawing.
    let app = HeraldApp::load(&profile);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Herald")
            .with_app_id("herald")
            .with_inner_size([960.0, 640.0])
            .with_min_inner_size([480.0, 320.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Herald",
        options,
        Box::new(move |creation| {
            setup_context(&creation.egui_ctx);
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herald: cannot open the window: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Prepares an egui context for Herald: fonts for every script. Called by
/// [`run`] and by the UI tests, so both draw with the same fonts.
pub fn setup_context(ctx: &egui::Context) {
    if fonts::install_fallback_fonts(ctx).is_none() {
        eprintln!(
            "herald: no font with Chinese/Japanese/Korean glyphs was found; \
             such text will show as boxes (install fonts-noto-cjk)"
        );
    }
}

/// What the window shows about accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsState {
    /// The accounts file was read.
    Loaded(Vec<Account>),
    /// It could not be read; the sentence says why.
    Failed(String),
}

/// The application state and its top-level view.
pub struct HeraldApp {
    accounts: AccountsState,
    selected: Option<usize>,
}

impl HeraldApp {
    /// Reads the profile's accounts.
    pub fn load(profile: &Profile) -> HeraldApp {
        let accounts = match AccountList::load(profile) {
            Ok(list) => AccountsState::Loaded(list.iter().cloned().collect()),
            Err(err) => AccountsState::Failed(herald_core::error::describe(&err)),
        };
        HeraldApp::with_accounts(accounts)
    }

    /// An app showing the given accounts (tests and previews).
    pub fn with_accounts(accounts: AccountsState) -> HeraldApp {
        let selected = match &accounts {
            AccountsState::Loaded(list) if !list.is_empty() => Some(0),
            _ => None,
        };
        HeraldApp { accounts, selected }
    }

    /// Draws the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Herald");
            });
        });
        match &self.accounts {
            AccountsState::Failed(reason) => {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.heading("Your accounts could not be read");
                    ui.label(reason.as_str());
                });
            }
            AccountsState::Loaded(list) if list.is_empty() => {
                egui::CentralPanel::default().show(ui, welcome_ui);
            }
            AccountsState::Loaded(list) => {
                let selected = &mut self.selected;
                egui::Panel::left("accounts")
                    .resizable(true)
                    .default_size(220.0)
                    .show(ui, |ui| account_list_ui(ui, list, selected));
                egui::CentralPanel::default().show(ui, |ui| {
                    if let Some(account) = selected.and_then(|i| list.get(i)) {
                        account_details_ui(ui, account);
                    }
                });
            }
        }
    }
}

fn account_list_ui(ui: &mut egui::Ui, accounts: &[Account], selected: &mut Option<usize>) {
    ui.add_space(4.0);
    ui.strong("Accounts");
    ui.separator();
    for (index, account) in accounts.iter().enumerate() {
        let label = format!("{}\n{}", account.name, account.email_addr);
        if ui
            .selectable_label(*selected == Some(index), label)
            .clicked()
        {
            *selected = Some(index);
        }
    }
}

impl eframe::App for HeraldApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        HeraldApp::ui(self, ui);
    }
}

fn welcome_ui(ui: &mut egui::Ui) {
    ui.vertical_centered(|ui| {
        ui.add_space(48.0);
        ui.heading("Welcome to Herald");
        ui.add_space(8.0);
        ui.label("No account is set up yet.");
        ui.add_space(8.0);
        ui.label("Add one from a terminal, for example:");
        ui.code("herald account add --name work --email you@example.org \\\n  --smtp smtp.example.org --pop3 pop.example.org --password-stdin");
    });
}

fn account_details_ui(ui: &mut egui::Ui, account: &Account) {
    ui.heading(&account.name);
    ui.label(account.sender());
    ui.add_space(8.0);
    egui::Grid::new("account_servers")
        .num_columns(2)
        .spacing([16.0, 6.0])
        .show(ui, |ui| {
            ui.label("Incoming (POP3)");
            ui.label(format!(
                "{}:{}  ({})",
                account.pop3.host,
                account.pop3.port,
                account.pop3.security.as_str()
            ));
            ui.end_row();
            ui.label("Outgoing (SMTP)");
            ui.label(format!(
                "{}:{}  ({})",
                account.smtp.host,
                account.smtp.port,
                account.smtp.security.as_str()
            ));
            ui.end_row();
            ui.label("User name");
            ui.label(account.login_name());
            ui.end_row();
            ui.label("On the server");
            ui.label(account.deletion_policy.as_str());
            ui.end_row();
        });
}
