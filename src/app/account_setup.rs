//! Adding and editing an account: email and password first, servers filled
//! in from the built-in provider table (or typed by hand), "Test connection"
//! through a throwaway engine worker, trusting exactly one refused
//! certificate, and saving (settings file and credential store in a job).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};

use herald_core::account::providers::{self, Provider};
use herald_core::account::{
    Account, AccountError, AccountList, DeletionPolicy, HostPort, Pop3Security, Pop3Server,
    Profile, SmtpSecurity, SmtpServer,
};
use herald_core::credentials::{CredentialError, Password, PasswordLocation, PasswordStore};
use herald_core::engine::{
    AccountContext, AccountWorker, Command, ConnectionReport, Event, EventKind, ServerCheck,
    SmtpLimits,
};
use herald_core::net::Limits;

use crate::app::jobs::{Job, Waker};
use crate::app::words;

/// Adding a new account, or editing one (by its name before the edit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupMode {
    /// A new account.
    Add,
    /// An existing account.
    Edit(String),
}

/// The result of a save, for the window.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The account as saved.
    pub account: Account,
    /// Its name before the edit (for [`SetupMode::Edit`]).
    pub previous_name: Option<String>,
    /// Where the password went (`None`: unchanged).
    pub password_location: Option<PasswordLocation>,
    /// Why the OS store, though working, refused the password, which is
    /// then kept for this session only.
    pub password_refused: Option<String>,
    /// What the SMTP server advertised in the last connection test, when
    /// that test was of the server saved.
    pub smtp_limits: Option<SmtpLimits>,
}

impl Saved {
    /// What to tell the person when the OS store refused the password: that
    /// it lasts until Herald quits, and what to do then.
    pub fn password_refused_note(&self) -> Option<String> {
        let reason = self.password_refused.as_deref()?;
        Some(format!(
            "The system credential store did not take the password for {}: {reason}. Herald keeps it only until you quit; next time, enter it again in ⚙ Settings → Edit….",
            self.account.name
        ))
    }
}

struct ConnectionTest {
    _worker: AccountWorker,
    events: Receiver<Event>,
    _mailbox: tempfile::TempDir,
}

/// The account form.
pub struct AccountSetup {
    mode: SetupMode,
    name: String,
    display_name: String,
    email: String,
    password: String,
    username: String,
    provider: Option<&'static Provider>,
    pop3_host: String,
    pop3_port: String,
    pop3_security: Pop3Security,
    smtp_host: String,
    smtp_port: String,
    smtp_security: SmtpSecurity,
    manual: bool,
    signature: String,
    deletion: DeletionChoice,
    delete_after_days: String,
    size_limit_mb: String,
    check_minutes: String,
    base: Option<Account>,
    trusted_certificates: Vec<String>,
    test: Option<ConnectionTest>,
    report: Option<ConnectionReport>,
    /// Scroll the report into view on the next frame (it just arrived).
    reveal_report: bool,
    saving: Option<Job<Result<Saved, String>>>,
    problem: Option<String>,
    /// Set when the form should close.
    pub closed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeletionChoice {
    Leave,
    AfterDays,
    WhenDeletedHere,
    AfterDownload,
}

impl AccountSetup {
    /// An empty form for a new account.
    pub fn add() -> AccountSetup {
        AccountSetup {
            mode: SetupMode::Add,
            name: String::new(),
            display_name: String::new(),
            email: String::new(),
            password: String::new(),
            username: String::new(),
            provider: None,
            pop3_host: String::new(),
            pop3_port: "995".into(),
            pop3_security: Pop3Security::ImplicitTls,
            smtp_host: String::new(),
            smtp_port: "465".into(),
            smtp_security: SmtpSecurity::ImplicitTls,
            manual: false,
            signature: String::new(),
            deletion: DeletionChoice::Leave,
            delete_after_days: "14".into(),
            size_limit_mb: String::new(),
            check_minutes: "10".into(),
            base: None,
            trusted_certificates: Vec::new(),
            test: None,
            report: None,
            reveal_report: false,
            saving: None,
            problem: None,
            closed: false,
        }
    }

    /// The form filled with `account`'s settings (the password field empty:
    /// left empty, the stored password is kept).
    pub fn edit(account: &Account) -> AccountSetup {
        let mut form = AccountSetup::add();
        form.mode = SetupMode::Edit(account.name.clone());
        form.name = account.name.clone();
        form.display_name = account.display_name.clone().unwrap_or_default();
        form.email = account.email_addr.clone();
        form.username = account.username.clone().unwrap_or_default();
        form.pop3_host = account.pop3.host.clone();
        form.pop3_port = account.pop3.port.to_string();
        form.pop3_security = account.pop3.security;
        form.smtp_host = account.smtp.host.clone();
        form.smtp_port = account.smtp.port.to_string();
        form.smtp_security = account.smtp.security;
        form.manual = true;
        form.signature = account.signature.clone().unwrap_or_default();
        form.deletion = match account.deletion_policy {
            DeletionPolicy::LeaveOnServer => DeletionChoice::Leave,
            DeletionPolicy::DeleteAfterDays { days } => {
                form.delete_after_days = days.to_string();
                DeletionChoice::AfterDays
            }
            DeletionPolicy::DeleteWhenDeletedLocally => DeletionChoice::WhenDeletedHere,
            DeletionPolicy::DeleteAfterDownload => DeletionChoice::AfterDownload,
        };
        form.size_limit_mb = account
            .max_message_size_bytes
            .map(|bytes| (bytes / (1024 * 1024)).to_string())
            .unwrap_or_default();
        form.check_minutes = account
            .check_interval_minutes
            .map(|minutes| minutes.to_string())
            .unwrap_or_default();
        form.trusted_certificates = account.trusted_certificates.clone();
        form.base = Some(account.clone());
        form
    }

    /// The mode of the form.
    pub fn mode(&self) -> &SetupMode {
        &self.mode
    }

    fn fill_from_provider(&mut self) {
        let provider = providers::lookup(self.email.trim());
        if provider.is_some() && provider.map(|p| p.name) == self.provider.map(|p| p.name) {
            // Same provider as before: keep any port or security the user changed.
            return;
        }
        self.provider = provider;
        if let Some(provider) = provider {
            if let Some(pop3) = &provider.pop3 {
                self.pop3_host = pop3.0.to_owned();
                self.pop3_port = pop3.1.to_string();
                self.pop3_security = pop3.2;
            }
            self.smtp_host = provider.smtp.0.to_owned();
            self.smtp_port = provider.smtp.1.to_string();
            self.smtp_security = provider.smtp.2;
        } else if !self.manual {
            // Guess the usual names for a domain we do not know.
            if let Some((_, domain)) = self.email.trim().rsplit_once('@')
                && !domain.is_empty()
            {
                self.pop3_host = format!("pop.{domain}");
                self.smtp_host = format!("smtp.{domain}");
            }
        }
    }

    /// The account the form describes, or why it is not valid yet.
    fn account(&self) -> Result<Account, String> {
        let email = self.email.trim();
        if !email.contains('@') {
            return Err("Enter your email address.".into());
        }
        let port = |text: &str, what: &str| -> Result<u16, String> {
            text.trim()
                .parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| format!("The {what} port must be a number from 1 to 65535."))
        };
        if self.pop3_host.trim().is_empty() || self.smtp_host.trim().is_empty() {
            return Err("Enter both server names (open \"Servers\").".into());
        }
        let name = if self.name.trim().is_empty() {
            email.to_owned()
        } else {
            self.name.trim().to_owned()
        };
        let optional = |text: &str| {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        };
        let deletion_policy = match self.deletion {
            DeletionChoice::Leave => DeletionPolicy::LeaveOnServer,
            DeletionChoice::AfterDays => DeletionPolicy::DeleteAfterDays {
                days: self
                    .delete_after_days
                    .trim()
                    .parse()
                    .ok()
                    .filter(|days| *days > 0)
                    .ok_or("The number of days must be a whole number above 0.")?,
            },
            DeletionChoice::WhenDeletedHere => DeletionPolicy::DeleteWhenDeletedLocally,
            DeletionChoice::AfterDownload => DeletionPolicy::DeleteAfterDownload,
        };
        let max_message_size_bytes = match self.size_limit_mb.trim() {
            "" => None,
            text => Some(
                text.parse::<u64>()
                    .ok()
                    .filter(|mb| *mb > 0)
                    .ok_or("The size limit must be a whole number of MB (or empty).")?
                    * 1024
                    * 1024,
            ),
        };
        let check_interval_minutes = match self.check_minutes.trim() {
            "" | "0" => None,
            text => Some(
                text.parse::<u32>()
                    .ok()
                    .ok_or("The check interval must be a whole number of minutes.")?,
            ),
        };
        let base = self.base.clone();
        let account = Account {
            name,
            email_addr: email.to_owned(),
            display_name: optional(&self.display_name),
            username: optional(&self.username),
            smtp: SmtpServer::new(
                HostPort {
                    host: self.smtp_host.trim().to_owned(),
                    port: Some(port(&self.smtp_port, "outgoing")?),
                },
                self.smtp_security,
            ),
            pop3: Pop3Server::new(
                HostPort {
                    host: self.pop3_host.trim().to_owned(),
                    port: Some(port(&self.pop3_port, "incoming")?),
                },
                self.pop3_security,
            ),
            extra_ca_file: base
                .as_ref()
                .and_then(|account| account.extra_ca_file.clone()),
            deletion_policy,
            max_message_size_bytes,
            password_command: base
                .as_ref()
                .and_then(|account| account.password_command.clone()),
            trusted_certificates: self.trusted_certificates.clone(),
            signature: optional(&self.signature),
            check_interval_minutes,
        };
        account
            .validate()
            .map_err(|error| herald_core::error::describe(&error))?;
        Ok(account)
    }

    fn start_test(&mut self, passwords: &Arc<PasswordStore>, waker: &Waker) {
        self.problem = None;
        self.report = None;
        let account = match self.account() {
            Ok(account) => account,
            Err(problem) => {
                self.problem = Some(problem);
                return;
            }
        };
        // The typed password, or (editing, left empty) the stored one.
        let store = if self.password.is_empty() {
            Arc::clone(passwords)
        } else {
            let store = PasswordStore::session_only("herald-connection-test", "testing");
            if let Err(error) = store.set(&account.name, &Password::new(self.password.clone())) {
                self.problem = Some(herald_core::error::describe(&error));
                return;
            }
            Arc::new(store)
        };
        let mailbox = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(error) => {
                self.problem = Some(format!("cannot create a temporary folder: {error}"));
                return;
            }
        };
        let (sender, events) = mpsc::channel();
        let context = AccountContext {
            account,
            mailbox_dir: mailbox.path().join("mail"),
            passwords: store,
            limits: Limits::default(),
        };
        let worker = AccountWorker::spawn(context, sender, Arc::clone(waker));
        worker.submit(Command::TestConnection);
        self.test = Some(ConnectionTest {
            _worker: worker,
            events,
            _mailbox: mailbox,
        });
    }

    fn start_save(&mut self, profile: &Profile, passwords: &Arc<PasswordStore>, waker: &Waker) {
        self.problem = None;
        let account = match self.account() {
            Ok(account) => account,
            Err(problem) => {
                self.problem = Some(problem);
                return;
            }
        };
        if self.mode == SetupMode::Add
            && self.password.is_empty()
            && account.password_command.is_none()
        {
            self.problem = Some("Enter the password (or app password) for this account.".into());
            return;
        }
        let password = (!self.password.is_empty()).then(|| Password::new(self.password.clone()));
        let previous_name = match &self.mode {
            SetupMode::Add => None,
            SetupMode::Edit(name) => Some(name.clone()),
        };
        let smtp_limits = self
            .report
            .as_ref()
            .filter(|report| {
                report.smtp.host == account.smtp.host && report.smtp.port == account.smtp.port
            })
            .and_then(|report| report.smtp.smtp_limits);
        let profile = profile.clone();
        let passwords = Arc::clone(passwords);
        self.saving = Some(Job::spawn("account-save", waker, move || {
            save_account(&profile, &passwords, account, previous_name, password).map(|saved| {
                Saved {
                    smtp_limits,
                    ..saved
                }
            })
        }));
    }

    /// Draws the form in a window; returns the saved account once saved.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        profile: &Profile,
        passwords: Option<&Arc<PasswordStore>>,
        waker: &Waker,
    ) -> Option<Saved> {
        let mut saved = None;
        if let Some(test) = &self.test {
            while let Ok(event) = test.events.try_recv() {
                if let EventKind::ConnectionTested(report) = event.kind {
                    self.report = Some(*report);
                    self.reveal_report = true;
                }
            }
            if self.report.is_some() {
                self.test = None;
            }
        }
        if let Some(job) = &mut self.saving
            && let Some(result) = job.try_take()
        {
            self.saving = None;
            match result {
                Ok(Ok(done)) => {
                    saved = Some(done);
                    self.closed = true;
                }
                Ok(Err(problem)) => self.problem = Some(problem),
                Err(_) => self.problem = Some("saving the account failed".into()),
            }
        }
        let title = match &self.mode {
            SetupMode::Add => "Add account".to_owned(),
            SetupMode::Edit(name) => format!("Account settings — {name}"),
        };
        let mut open = true;
        egui::Window::new(title)
            .id(egui::Id::unique("account_setup"))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(520.0)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(ctx.content_rect().height() - 120.0)
                    .show(ui, |ui| self.form_ui(ui, profile, passwords, waker));
            });
        if !open {
            self.closed = true;
        }
        saved
    }

    fn form_ui(
        &mut self,
        ui: &mut egui::Ui,
        profile: &Profile,
        passwords: Option<&Arc<PasswordStore>>,
        waker: &Waker,
    ) {
        let editing = matches!(self.mode, SetupMode::Edit(_));
        egui::Grid::new("account_basics")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                let label = ui.label("Email address");
                let email = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.email)
                            .hint_text("you@example.com")
                            .desired_width(300.0),
                    )
                    .labelled_by(label.id);
                if email.changed() {
                    self.fill_from_provider();
                }
                ui.end_row();
                let label = ui.label("Password");
                let hint = if editing {
                    "leave empty to keep the saved one"
                } else {
                    "password or app password"
                };
                ui.add(
                    egui::TextEdit::singleline(&mut self.password)
                        .password(true)
                        .hint_text(hint)
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Your name");
                ui.add(
                    egui::TextEdit::singleline(&mut self.display_name)
                        .hint_text("shown to recipients")
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Account name");
                ui.add_enabled(
                    !editing,
                    egui::TextEdit::singleline(&mut self.name)
                        .hint_text("defaults to the email address")
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        if let Some(provider) = self.provider {
            ui.add_space(4.0);
            ui.label(format!("Provider: {}", provider.name));
            if let Some(reason) = provider.no_pop3_reason {
                ui.colored_label(ui.visuals().warn_fg_color, reason);
            }
            if let Some(hint) = provider.hint {
                ui.label(egui::RichText::new(format!("ℹ {hint}")).weak());
            }
        }
        ui.add_space(6.0);
        egui::CollapsingHeader::new("Servers")
            .id_salt("servers")
            .open(self.manual.then_some(true))
            .show(ui, |ui| self.servers_ui(ui));
        egui::CollapsingHeader::new("Options")
            .id_salt("options")
            .default_open(editing)
            .show(ui, |ui| self.options_ui(ui));
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let busy = self.test.is_some() || self.saving.is_some();
            if let Some(passwords) = passwords {
                if ui
                    .add_enabled(!busy, egui::Button::new("Test connection"))
                    .clicked()
                {
                    self.start_test(passwords, waker);
                }
                let save_label = if editing { "Save" } else { "Add account" };
                if ui
                    .add_enabled(!busy, egui::Button::new(save_label))
                    .clicked()
                {
                    self.start_save(profile, passwords, waker);
                }
            } else {
                ui.label("Opening the credential store…");
            }
            if ui.button("Cancel").clicked() {
                self.closed = true;
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(problem) = &self.problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        if let Some(report) = self.report.clone() {
            ui.separator();
            let top = ui.cursor().top();
            self.report_ui(ui, &report, passwords, waker);
            if std::mem::take(&mut self.reveal_report) {
                let rect =
                    egui::Rect::from_x_y_ranges(ui.max_rect().x_range(), top..=ui.cursor().top());
                ui.scroll_to_rect(rect, Some(egui::Align::BOTTOM));
            }
        }
    }

    fn servers_ui(&mut self, ui: &mut egui::Ui) {
        egui::Grid::new("account_servers")
            .num_columns(4)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                let label = ui.label("Incoming (POP3)");
                ui.add(egui::TextEdit::singleline(&mut self.pop3_host).desired_width(200.0))
                    .labelled_by(label.id)
                    .changed()
                    .then(|| self.manual = true);
                let port = ui.label("port");
                ui.add(egui::TextEdit::singleline(&mut self.pop3_port).desired_width(50.0))
                    .labelled_by(port.id);
                egui::ComboBox::from_id_salt("pop3_security")
                    .selected_text(match self.pop3_security {
                        Pop3Security::ImplicitTls => "TLS",
                        Pop3Security::Stls => "STLS",
                    })
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_value(
                                &mut self.pop3_security,
                                Pop3Security::ImplicitTls,
                                "TLS (port 995)",
                            )
                            .clicked()
                        {
                            self.pop3_port = "995".into();
                        }
                        if ui
                            .selectable_value(
                                &mut self.pop3_security,
                                Pop3Security::Stls,
                                "STLS (port 110)",
                            )
                            .clicked()
                        {
                            self.pop3_port = "110".into();
                        }
                    });
                ui.end_row();
                let label = ui.label("Outgoing (SMTP)");
                ui.add(egui::TextEdit::singleline(&mut self.smtp_host).desired_width(200.0))
                    .labelled_by(label.id)
                    .changed()
                    .then(|| self.manual = true);
                let port = ui.label("port");
                ui.add(egui::TextEdit::singleline(&mut self.smtp_port).desired_width(50.0))
                    .labelled_by(port.id);
                egui::ComboBox::from_id_salt("smtp_security")
                    .selected_text(match self.smtp_security {
                        SmtpSecurity::ImplicitTls => "TLS",
                        SmtpSecurity::StartTls => "STARTTLS",
                    })
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_value(
                                &mut self.smtp_security,
                                SmtpSecurity::ImplicitTls,
                                "TLS (port 465)",
                            )
                            .clicked()
                        {
                            self.smtp_port = "465".into();
                        }
                        if ui
                            .selectable_value(
                                &mut self.smtp_security,
                                SmtpSecurity::StartTls,
                                "STARTTLS (port 587)",
                            )
                            .clicked()
                        {
                            self.smtp_port = "587".into();
                        }
                    });
                ui.end_row();
                let label = ui.label("User name");
                ui.add(
                    egui::TextEdit::singleline(&mut self.username)
                        .hint_text("if not the email address")
                        .desired_width(200.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        ui.label(
            egui::RichText::new(
                "Herald always encrypts and always checks the server's certificate.",
            )
            .weak(),
        );
    }

    fn options_ui(&mut self, ui: &mut egui::Ui) {
        ui.label("After downloading, messages on the server are:");
        ui.radio_value(
            &mut self.deletion,
            DeletionChoice::Leave,
            "left on the server",
        );
        ui.horizontal(|ui| {
            ui.radio_value(
                &mut self.deletion,
                DeletionChoice::AfterDays,
                "deleted after",
            );
            let days = ui.label("days");
            ui.add(egui::TextEdit::singleline(&mut self.delete_after_days).desired_width(40.0))
                .labelled_by(days.id);
        });
        ui.radio_value(
            &mut self.deletion,
            DeletionChoice::WhenDeletedHere,
            "deleted when I delete them here",
        );
        ui.radio_value(
            &mut self.deletion,
            DeletionChoice::AfterDownload,
            "deleted once safely downloaded",
        );
        egui::Grid::new("account_options")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                let label = ui.label("Download messages up to (MB)");
                ui.add(
                    egui::TextEdit::singleline(&mut self.size_limit_mb)
                        .hint_text("no limit")
                        .desired_width(60.0),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Check for mail every (minutes)");
                ui.add(
                    egui::TextEdit::singleline(&mut self.check_minutes)
                        .hint_text("only when asked")
                        .desired_width(60.0),
                )
                .labelled_by(label.id);
                ui.end_row();
            });
        let label = ui.label("Signature");
        ui.add(
            egui::TextEdit::multiline(&mut self.signature)
                .desired_rows(3)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    }

    fn report_ui(
        &mut self,
        ui: &mut egui::Ui,
        report: &ConnectionReport,
        passwords: Option<&Arc<PasswordStore>>,
        waker: &Waker,
    ) {
        let mut trust = None;
        for (what, check) in [
            ("Incoming (POP3)", &report.pop3),
            ("Outgoing (SMTP)", &report.smtp),
        ] {
            if let Some(fingerprint) = server_check_ui(ui, what, check) {
                trust = Some(fingerprint);
            }
        }
        if report.ok() {
            ui.colored_label(
                egui::Color32::from_rgb(60, 170, 90),
                "✔ Both servers accepted the login.",
            );
        }
        if let Some(fingerprint) = trust
            && let Some(passwords) = passwords
        {
            if !self.trusted_certificates.contains(&fingerprint) {
                self.trusted_certificates.push(fingerprint);
            }
            self.start_test(passwords, waker);
        }
    }
}

/// One server's result; returns a fingerprint when the user chose to trust
/// the refused certificate.
fn server_check_ui(ui: &mut egui::Ui, what: &str, check: &ServerCheck) -> Option<String> {
    let mut trust = None;
    ui.strong(format!("{what}: {}:{}", check.host, check.port));
    match &check.failure {
        None => {
            let tls = check
                .tls_version
                .map(|version| format!("{version:?}"))
                .unwrap_or_default();
            ui.label(format!("✔ Logged in over {tls}"));
        }
        Some(failure) => {
            words::advice_ui(ui, &words::advise(failure));
            if let Some(problem) = &failure.certificate {
                let certificate = &problem.certificate;
                egui::Grid::new(format!("certificate_{what}"))
                    .num_columns(2)
                    .show(ui, |ui| {
                        ui.label("Fingerprint (SHA-256)");
                        ui.label(
                            egui::RichText::new(fingerprint_text(&certificate.sha256_hex))
                                .monospace(),
                        );
                        ui.end_row();
                        ui.label("Issued to");
                        ui.label(&certificate.subject);
                        ui.end_row();
                        ui.label("Issued by");
                        ui.label(&certificate.issuer);
                        ui.end_row();
                        ui.label("Valid until");
                        ui.label(&certificate.not_after);
                        ui.end_row();
                    });
                if ui
                    .button("Trust this certificate for this account")
                    .on_hover_text("Only this exact certificate is accepted; any other is still checked normally.")
                    .clicked()
                {
                    trust = Some(certificate.sha256_hex.clone());
                }
            }
        }
    }
    trust
}

/// `AB:CD:…` in groups, easier to compare by eye.
fn fingerprint_text(hex: &str) -> String {
    let pairs: Vec<String> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect();
    pairs
        .chunks(16)
        .map(|line| line.join(":"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the password to the store and the account to the settings file
/// (in a job).
///
/// The settings file is checked first and written last. A name that is
/// taken is refused before the store is touched (so another account's
/// password is never replaced), and the file never gains an account whose
/// password is nowhere: if the OS store refuses the password, it is kept for
/// this session ([`Saved::password_refused`] says why), and if the file
/// cannot be written, a new account's password is taken back out, so trying
/// again starts from the same state instead of "already exists".
fn save_account(
    profile: &Profile,
    passwords: &PasswordStore,
    account: Account,
    previous_name: Option<String>,
    password: Option<Password>,
) -> Result<Saved, String> {
    let describe = |error: &dyn std::error::Error| herald_core::error::describe(error);
    let mut list = AccountList::load(profile).map_err(|e| describe(&e))?;
    if let Some(name) = &previous_name {
        list.remove(name).map_err(|e| describe(&e))?;
    }
    list.add(account.clone()).map_err(|e| match e {
        AccountError::Duplicate(name) => format!(
            "An account named \"{name}\" already exists. Choose another account name, or change that account in Settings."
        ),
        other => describe(&other),
    })?;
    let mut password_refused = None;
    let password_location = match &password {
        Some(password) => Some(match passwords.set(&account.name, password) {
            Ok(location) => location,
            // The store works but would not take this password: go on with
            // it in memory, and say so.
            Err(refused @ CredentialError::Store { .. }) => {
                passwords
                    .set_for_session(&account.name, password)
                    .map_err(|e| describe(&e))?;
                password_refused = Some(
                    std::error::Error::source(&refused)
                        .map_or_else(|| refused.to_string(), ToString::to_string),
                );
                PasswordLocation::SessionOnly
            }
            Err(other) => return Err(describe(&other)),
        }),
        None => None,
    };
    if let Err(error) = list.save(profile) {
        if previous_name.is_none() && password.is_some() {
            let _ = passwords.delete(&account.name);
        }
        return Err(describe(&error));
    }
    Ok(Saved {
        account,
        previous_name,
        password_location,
        password_refused,
        smtp_limits: None,
    })
}

/// Removes an account from the settings file and its password from the
/// store (in a job). Its downloaded mail stays on disk.
pub fn remove_account(
    profile: &Profile,
    passwords: &PasswordStore,
    name: &str,
) -> Result<PathBuf, String> {
    let describe = |error: &dyn std::error::Error| herald_core::error::describe(error);
    let mut list = AccountList::load(profile).map_err(|e| describe(&e))?;
    list.remove(name).map_err(|e| describe(&e))?;
    list.save(profile).map_err(|e| describe(&e))?;
    let _ = passwords.delete(name);
    Ok(profile.mailbox_dir(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_provider_fills_in_its_servers_and_hint() {
        let mut form = AccountSetup::add();
        form.email = "zhang@qq.com".into();
        form.fill_from_provider();
        assert_eq!(form.pop3_host, "pop.qq.com");
        assert_eq!(form.smtp_host, "smtp.qq.com");
        assert!(form.provider.and_then(|p| p.hint).is_some());
        let account = {
            form.password = "x".into();
            form.account().expect("valid")
        };
        assert_eq!(account.name, "zhang@qq.com");
        assert_eq!(account.pop3.port, 995);
    }

    #[test]
    fn an_unknown_domain_gets_guessed_names_and_bad_ports_are_refused() {
        let mut form = AccountSetup::add();
        form.email = "me@mail.example.net".into();
        form.fill_from_provider();
        assert_eq!(form.pop3_host, "pop.mail.example.net");
        form.smtp_port = "70000".into();
        assert!(form.account().unwrap_err().contains("port"));
    }

    #[test]
    fn a_taken_name_is_refused_before_the_password_store_is_touched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = Profile::at(dir.path());
        let passwords = PasswordStore::with_store(
            keyring_core::mock::Store::new().expect("mock store"),
            "herald-test",
        );
        let mut form = AccountSetup::add();
        form.email = "ann@example.org".into();
        form.fill_from_provider();
        let account = form.account().expect("valid");
        let first = Password::new("first".into());
        save_account(&profile, &passwords, account.clone(), None, Some(first)).expect("first save");
        let problem = save_account(
            &profile,
            &passwords,
            account.clone(),
            None,
            Some(Password::new("second".into())),
        )
        .expect_err("the name is taken");
        assert!(
            problem.contains("already exists") && problem.contains("Settings"),
            "{problem}"
        );
        // The first account's password was not replaced.
        assert_eq!(passwords.get(&account).expect("stored").expose(), "first");
    }

    #[test]
    fn fingerprints_are_grouped_for_reading() {
        let hex = "ab".repeat(32);
        let text = fingerprint_text(&hex);
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("AB:AB:"));
    }
}
