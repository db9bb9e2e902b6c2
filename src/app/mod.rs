//! The egui window.
//!
//! [`HeraldApp`] owns the window's state: the accounts and their engine
//! workers, the folder and message list on screen, the reader, composers and
//! dialogs. It never touches sockets, files or the keyring while drawing:
//! network work goes to each account's engine worker (commands in, events
//! out, the waker repaints), and disk work (reading the list, opening a
//! message, saving attachments) runs in [`jobs::Job`]s.

pub mod account_setup;
pub mod accounts;
pub mod bidi;
pub mod composer;
pub mod desktop;
pub mod file_dialog;
mod fonts;
pub mod html_view;
pub mod jobs;
pub mod mailbox;
pub mod open_folders;
pub mod prefs;
pub mod reader;
pub mod server_view;
pub mod settings;
mod status;
pub mod text;
pub mod words;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use herald_core::account::{AccountList, LearntSmtpLimits, Profile};
use herald_core::credentials::PasswordStore;
use herald_core::engine::{Command, Event, EventKind, LocalEdit, LocalEditDone, SmtpLimits};
use herald_core::message::Message;
use herald_core::store::{Folder, MailStore};

use account_setup::AccountSetup;
use accounts::{AccountSlot, EditOrigin, Outcome};
use composer::{Composer, ComposerAction, ComposerContext, ReplyMode, SenderAccount};
use desktop::{Desktop, Notification, SystemDesktop};
use file_dialog::FileDialogs;
use herald_core::credentials::PasswordLocation;
use herald_core::demo::DemoSandbox;
use herald_core::message::Address;
use jobs::{Job, Waker};
use mailbox::list::{ListAction, MessageList, Source};
use mailbox::{MailboxChoice, Selection};
use open_folders::OpenFolders;
use prefs::Preferences;
use reader::{ReaderAction, ReaderContext, ReaderView};
use server_view::ServerView;
use settings::{SettingsAction, SettingsWindow};

/// Opens the window for the profile given on the command line (or the default one).
pub fn run(profile_dir: Option<PathBuf>) -> ExitCode {
    let profile = match Profile::resolve(profile_dir.as_deref()) {
        Ok(profile) => profile,
        Err(err) => {
            eprintln!("herald: {err}");
            return ExitCode::FAILURE;
        }
    };
    run_with(AppSetup::new(profile))
}

/// Opens the window with `setup`.
pub fn run_with(setup: AppSetup) -> ExitCode {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Herald")
            .with_app_id("herald")
            .with_inner_size([1100.0, 720.0])
            .with_min_inner_size([560.0, 360.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Herald",
        options,
        Box::new(move |creation| {
            setup_context(&creation.egui_ctx);
            let mut app = HeraldApp::new(setup, &creation.egui_ctx);
            app.restore_preferences(creation.storage, &creation.egui_ctx);
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

/// What the window starts with.
pub struct AppSetup {
    /// Where settings and mail live.
    pub profile: Profile,
    /// The password store to use; `None` opens the OS store (off the UI
    /// thread).
    pub passwords: Option<Arc<PasswordStore>>,
    /// File dialogs (tests use [`FileDialogs::in_app_only`]).
    pub dialogs: Option<FileDialogs>,
    /// Kept alive as long as the window (the demo's servers).
    pub keep_alive: Option<Box<dyn std::any::Any>>,
    /// Get mail for every account as soon as the window opens.
    pub get_mail_on_start: bool,
    /// Opening files and links, notifications; `None`: [`SystemDesktop`].
    pub desktop: Option<Arc<dyn Desktop>>,
    /// Where attachments opened with the system's program are saved first;
    /// `None`: the system's temporary folder.
    pub temp_dir: Option<PathBuf>,
}

impl AppSetup {
    /// The window for `profile`, with the OS credential store.
    pub fn new(profile: Profile) -> AppSetup {
        AppSetup {
            profile,
            passwords: None,
            dialogs: None,
            keep_alive: None,
            get_mail_on_start: false,
            desktop: None,
            temp_dir: None,
        }
    }
}

/// What the window shows about accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsState {
    /// The accounts file was read.
    Loaded,
    /// It could not be read; the sentence says why.
    Failed(String),
}

enum Passwords {
    Opening(Job<PasswordStore>),
    Ready(Arc<PasswordStore>),
}

enum Reader {
    Empty,
    Opening {
        key: (usize, i64),
        job: Job<Result<Arc<Message>, String>>,
    },
    Open {
        /// Which message (account, id) is open.
        key: (usize, i64),
        view: Box<ReaderView>,
    },
    Failed(String),
}

/// The application state and its top-level view.
pub struct HeraldApp {
    profile: Profile,
    accounts_state: AccountsState,
    accounts: Vec<AccountSlot>,
    passwords: Passwords,
    events: Receiver<Event>,
    event_sender: Sender<Event>,
    waker: Waker,
    dialogs: FileDialogs,
    selection: Selection,
    list: MessageList,
    reader: Reader,
    /// Preferences (theme, text size, undo-send…).
    pub preferences: Preferences,
    status_note: Option<String>,
    /// Accounts whose password the OS store refused (kept for this session),
    /// with what to tell the person; shown under the toolbar.
    password_notes: Vec<(String, String)>,
    focus_search: bool,
    help_open: bool,
    account_setup: Option<AccountSetup>,
    settings_open: bool,
    settings: SettingsWindow,
    removing: Option<Job<Result<PathBuf, String>>>,
    demo_starting: Option<Job<Result<(tempfile::TempDir, DemoSandbox), String>>>,
    demo_problem: Option<String>,
    get_mail_when_ready: bool,
    composers: Vec<Composer>,
    next_composer_id: u64,
    /// Composer waiting for each send, by Message-ID.
    pending_sends: std::collections::HashMap<String, u64>,
    known_addresses: Arc<Vec<Address>>,
    server_view: Option<ServerView>,
    opening_draft: Option<Job<Result<DraftBytes, String>>>,
    outbox_cleanups: Vec<Job<Option<(usize, i64)>>>,
    /// What each account's SMTP server advertised, as saved in the profile.
    learnt_limits: LearntSmtpLimits,
    limits_saving: Option<Job<Result<(), String>>>,
    limits_unsaved: bool,
    /// The main window was asked to close while composers were open: it
    /// closes once they have saved their drafts.
    quitting: bool,
    bench_frames: u64,
    desktop: Arc<dyn Desktop>,
    open_folders: OpenFolders,
    _keep_alive: Option<Box<dyn std::any::Any>>,
}

impl HeraldApp {
    /// The window's state for `setup`; `ctx` is the context it will draw
    /// in (its repaint is the workers' waker).
    pub fn new(setup: AppSetup, ctx: &egui::Context) -> HeraldApp {
        // The zoom keys change the text size preference (see
        // `Preferences::zoom_with_keyboard`), not egui's zoom behind its back.
        ctx.options_mut(|options| options.zoom_with_keyboard = false);
        let repaint_ctx = ctx.clone();
        let waker: Waker = Arc::new(move || repaint_ctx.request_repaint());
        let (event_sender, events) = mpsc::channel();
        let (accounts_state, mut accounts) = match AccountList::load(&setup.profile) {
            Ok(list) => (
                AccountsState::Loaded,
                list.iter()
                    .cloned()
                    .map(|account| AccountSlot::new(account, &setup.profile))
                    .collect(),
            ),
            Err(err) => (
                AccountsState::Failed(herald_core::error::describe(&err)),
                Vec::new(),
            ),
        };
        let learnt_limits = load_learnt_limits(&setup.profile, &mut accounts);
        let passwords = match setup.passwords {
            Some(store) => Passwords::Ready(store),
            None => {
                let profile = setup.profile.clone();
                Passwords::Opening(Job::spawn("keyring-open", &waker, move || {
                    PasswordStore::open(&profile)
                }))
            }
        };
        let dialogs = setup
            .dialogs
            .unwrap_or_else(|| FileDialogs::new(Arc::clone(&waker)));
        let mailbox = default_mailbox(accounts.len());
        let open_folders = OpenFolders::new(setup.temp_dir.unwrap_or_else(std::env::temp_dir));
        open_folders.remove_stale_in_background(open_folders::STALE_AFTER);
        let mut app = HeraldApp {
            profile: setup.profile,
            accounts_state,
            accounts,
            passwords,
            events,
            event_sender,
            waker,
            dialogs,
            selection: Selection {
                mailbox,
                folder: Folder::Inbox,
            },
            list: MessageList::default(),
            reader: Reader::Empty,
            preferences: Preferences::default(),
            status_note: None,
            password_notes: Vec::new(),
            focus_search: false,
            help_open: false,
            account_setup: None,
            settings_open: false,
            settings: SettingsWindow::default(),
            removing: None,
            demo_starting: None,
            demo_problem: None,
            get_mail_when_ready: setup.get_mail_on_start,
            composers: Vec::new(),
            next_composer_id: 1,
            pending_sends: std::collections::HashMap::new(),
            known_addresses: Arc::new(Vec::new()),
            server_view: None,
            opening_draft: None,
            outbox_cleanups: Vec::new(),
            learnt_limits,
            limits_saving: None,
            limits_unsaved: false,
            quitting: false,
            bench_frames: 0,
            desktop: setup
                .desktop
                .unwrap_or_else(|| Arc::new(SystemDesktop::new())),
            open_folders,
            _keep_alive: setup.keep_alive,
        };
        app.start_workers_if_ready();
        app.reload_list();
        app
    }

    /// Shows another profile (the demo's): its accounts, with `passwords`.
    fn switch_profile(
        &mut self,
        profile: Profile,
        passwords: Arc<PasswordStore>,
        keep_alive: Box<dyn std::any::Any>,
    ) {
        let old_slots = std::mem::take(&mut self.accounts);
        drop_off_thread(old_slots);
        match AccountList::load(&profile) {
            Ok(list) => {
                self.accounts_state = AccountsState::Loaded;
                self.accounts = list
                    .iter()
                    .cloned()
                    .map(|account| AccountSlot::new(account, &profile))
                    .collect();
            }
            Err(error) => {
                self.accounts_state = AccountsState::Failed(herald_core::error::describe(&error));
            }
        }
        self.learnt_limits = load_learnt_limits(&profile, &mut self.accounts);
        self.limits_unsaved = false;
        self.profile = profile;
        self.passwords = Passwords::Ready(passwords);
        self.password_notes.clear();
        self._keep_alive = Some(keep_alive);
        self.selection = Selection {
            mailbox: MailboxChoice::Account(0),
            folder: Folder::Inbox,
        };
        self.list = MessageList::default();
        self.reader = Reader::Empty;
        self.start_workers_if_ready();
        self.reload_list();
        self.get_mail();
    }

    /// Starts the demo sandbox (off the UI thread); the window switches to
    /// it when it is ready.
    pub fn start_demo(&mut self) {
        if self.demo_starting.is_some() {
            return;
        }
        self.demo_problem = None;
        self.demo_starting = Some(Job::spawn("demo-start", &self.waker, || {
            let dir = tempfile::Builder::new()
                .prefix("herald-demo-")
                .tempdir()
                .map_err(|error| format!("cannot create a folder for the demo: {error}"))?;
            let sandbox = DemoSandbox::start(dir.path())
                .map_err(|error| herald_core::error::describe(&error))?;
            Ok((dir, sandbox))
        }));
    }

    fn account_saved(&mut self, saved: account_setup::Saved) {
        if saved.password_location.is_some() {
            self.password_notes
                .retain(|(account, _)| *account != saved.account.name);
        }
        if let Some(note) = saved.password_refused_note() {
            self.password_notes.push((saved.account.name.clone(), note));
        } else if saved.password_location == Some(PasswordLocation::SessionOnly) {
            self.status_note = Some(format!(
                "The password for {} is kept for this session only: the system credential store is not available.",
                saved.account.name
            ));
        }
        let mut slot = AccountSlot::new(saved.account, &self.profile);
        slot.smtp_limits = self.learnt_limits.get(&slot.account);
        let index = match saved.previous_name.as_deref().and_then(|name| {
            self.accounts
                .iter()
                .position(|slot| slot.account.name == name)
        }) {
            Some(index) => {
                let old = std::mem::replace(&mut self.accounts[index], slot);
                drop_off_thread(vec![old]);
                index
            }
            None => {
                self.accounts.push(slot);
                self.accounts.len() - 1
            }
        };
        // The connection test at setup already read the SMTP server's EHLO.
        if let Some(limits) = saved.smtp_limits {
            self.learn_smtp_limits(index, limits);
        }
        self.start_workers_if_ready();
        self.selection = Selection {
            mailbox: MailboxChoice::Account(index),
            folder: Folder::Inbox,
        };
        self.list.selected = None;
        self.reader = Reader::Empty;
        self.reload_list();
        if saved.previous_name.is_none() {
            self.accounts[index].submit(Command::GetMail);
        }
    }

    /// The profile on screen.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Takes the preferences saved in eframe's `storage` by
    /// [`eframe::App::save`] (defaults without one) and applies them to `ctx`.
    pub fn restore_preferences(
        &mut self,
        storage: Option<&dyn eframe::Storage>,
        ctx: &egui::Context,
    ) {
        self.preferences = storage
            .and_then(|storage| eframe::get_value(storage, prefs::STORAGE_KEY))
            .unwrap_or_default();
        self.preferences.apply(ctx);
    }

    /// `HERALD_BENCH_STARTUP=1` (bench/ui_frames.py): prints `first_frame`
    /// after the first frame and `rows_shown` after the first frame with
    /// list rows, then closes the window.
    fn startup_benchmark(&mut self, ctx: &egui::Context) {
        use std::io::Write;
        static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if !*ENABLED.get_or_init(|| std::env::var_os("HERALD_BENCH_STARTUP").is_some()) {
            return;
        }
        let mut out = std::io::stdout();
        if self.bench_frames == 0 {
            let _ = writeln!(out, "first_frame");
        }
        self.bench_frames += 1;
        if !self.list.order.is_empty() {
            let _ = writeln!(out, "rows_shown {}", self.list.order.len());
            let _ = out.flush();
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else {
            let _ = out.flush();
            ctx.request_repaint();
        }
    }

    /// How many messages the list shows (after search).
    pub fn shown_message_count(&self) -> usize {
        self.list.order.len()
    }

    /// How many images the open message's body drew in the last frame
    /// (`None` when no message is open): lets tests see an inline image.
    pub fn reader_images_drawn(&self) -> Option<usize> {
        match &self.reader {
            Reader::Open { view, .. } => Some(view.images_drawn()),
            _ => None,
        }
    }

    fn start_workers_if_ready(&mut self) {
        if let Passwords::Ready(store) = &self.passwords {
            let store = Arc::clone(store);
            for slot in &mut self.accounts {
                slot.start(&store, &self.event_sender, &self.waker);
            }
        }
    }

    fn sources(&self) -> Vec<Source> {
        let indices: Vec<usize> = match self.selection.mailbox {
            MailboxChoice::Unified => (0..self.accounts.len()).collect(),
            MailboxChoice::Account(index) if index < self.accounts.len() => vec![index],
            MailboxChoice::Account(_) => Vec::new(),
        };
        indices
            .into_iter()
            .map(|account| Source {
                account,
                mailbox_dir: self.accounts[account].mailbox_dir.clone(),
            })
            .collect()
    }

    fn reload_list(&mut self) {
        let sources = self.sources();
        self.list
            .reload(sources, self.selection.folder, &self.waker);
    }

    fn shows_account(&self, account: usize) -> bool {
        match self.selection.mailbox {
            MailboxChoice::Unified => true,
            MailboxChoice::Account(index) => index == account,
        }
    }

    /// Accounts whose commands the toolbar addresses: the one on screen, or
    /// all of them in the unified inbox.
    fn target_accounts(&self) -> Vec<usize> {
        match self.selection.mailbox {
            MailboxChoice::Unified => (0..self.accounts.len()).collect(),
            MailboxChoice::Account(index) if index < self.accounts.len() => vec![index],
            MailboxChoice::Account(_) => Vec::new(),
        }
    }

    /// Get mail for the accounts on screen.
    pub fn get_mail(&mut self) {
        for index in self.target_accounts() {
            let slot = &mut self.accounts[index];
            if !slot.busy() {
                slot.submit(Command::GetMail);
                slot.schedule_next_check();
            }
        }
    }

    fn cancel_all(&mut self) {
        for slot in &self.accounts {
            slot.cancel();
        }
    }

    fn delete_selected(&mut self) {
        let Some((account, id)) = self.list.selected else {
            return;
        };
        let Some(slot) = self.accounts.get_mut(account) else {
            return;
        };
        if slot.edit(LocalEdit::Delete { ids: vec![id] }, EditOrigin::Window) {
            // Select the next message, as mail clients do.
            let next = self
                .list
                .move_selection(1)
                .filter(|next| *next != (account, id))
                .or_else(|| self.list.move_selection(-1));
            self.list.remove(account, &[id]);
            self.list.selected = next.filter(|next| *next != (account, id));
            self.reader = Reader::Empty;
            if let Some((account, id)) = self.list.selected {
                self.open_message(account, id);
            }
            self.status_note = Some(if self.selection.folder == Folder::Trash {
                "Deleted for good.".into()
            } else {
                "Moved to Trash.".into()
            });
        }
    }

    fn open_message(&mut self, account: usize, id: i64) {
        let Some(slot) = self.accounts.get_mut(account) else {
            return;
        };
        let dir = slot.mailbox_dir.clone();
        let key = (account, id);
        let job = Job::spawn("open-message", &self.waker, move || open_message(&dir, id));
        self.reader = Reader::Opening { key, job };
        let unread = self
            .list
            .selected_row()
            .is_some_and(|row| !self.list.is_seen(row) && row.downloaded);
        if unread {
            slot.edit(
                LocalEdit::SetSeen {
                    ids: vec![id],
                    seen: true,
                },
                EditOrigin::Window,
            );
            self.list.set_seen(account, id, true);
            let inbox = &mut self.accounts[account].counts[0];
            if self.selection.folder == Folder::Inbox {
                inbox.0 = inbox.0.saturating_sub(1);
            }
        }
    }

    fn poll_background(&mut self, ctx: &egui::Context) {
        if let Some(job) = &mut self.demo_starting
            && let Some(result) = job.try_take()
        {
            self.demo_starting = None;
            match result {
                Ok(Ok((dir, sandbox))) => {
                    let passwords = PasswordStore::session_only(
                        herald_core::credentials::service_name(sandbox.profile()),
                        "the demo keeps its password in memory",
                    );
                    let _ = passwords.set(&sandbox.account().name, &sandbox.password());
                    let profile = sandbox.profile().clone();
                    // The sandbox (servers) before its folder.
                    self.switch_profile(profile, Arc::new(passwords), Box::new((sandbox, dir)));
                }
                Ok(Err(problem)) => self.demo_problem = Some(problem),
                Err(_) => self.demo_problem = Some("the demo could not start".into()),
            }
        }
        if let Some(job) = &mut self.removing
            && let Some(result) = job.try_take()
        {
            self.removing = None;
            match result {
                Ok(Ok(mailbox)) => {
                    self.status_note = Some(format!(
                        "Account removed. Its downloaded mail is still in {}.",
                        mailbox.display()
                    ))
                }
                Ok(Err(problem)) => self.status_note = Some(problem),
                Err(_) => {}
            }
        }
        if let Passwords::Opening(job) = &mut self.passwords
            && let Some(result) = job.try_take()
        {
            let store = result.unwrap_or_else(|_| {
                PasswordStore::unavailable(
                    herald_core::credentials::service_name(&self.profile),
                    "the credential store could not be opened",
                )
            });
            self.passwords = Passwords::Ready(Arc::new(store));
            self.start_workers_if_ready();
        }
        if self.get_mail_when_ready && self.accounts.iter().any(AccountSlot::started) {
            self.get_mail_when_ready = false;
            self.selection.mailbox = default_mailbox(self.accounts.len());
            self.get_mail();
        }
        if let Some(counts) = self.list.poll(&self.waker) {
            for (account, folder_counts) in counts {
                if let Some(slot) = self.accounts.get_mut(account) {
                    slot.counts = folder_counts;
                }
            }
        }
        if let Reader::Opening { key, job } = &mut self.reader
            && let Some(result) = job.try_take()
        {
            let key = *key;
            self.reader = match result {
                Ok(Ok(message)) => {
                    let sender = message
                        .headers
                        .from
                        .first()
                        .map(|address| address.email.clone())
                        .unwrap_or_default();
                    let context = ReaderContext {
                        account: self
                            .accounts
                            .get(key.0)
                            .map(|slot| slot.account.name.clone())
                            .unwrap_or_default(),
                        message_id: key.1,
                        remote_allowed_for_sender: self.preferences.remote_allowed(&sender),
                        waker: Arc::clone(&self.waker),
                        dialogs: self.dialogs.clone(),
                        desktop: Arc::clone(&self.desktop),
                        open_folders: self.open_folders.clone(),
                    };
                    Reader::Open {
                        key,
                        view: Box::new(ReaderView::new(message, context)),
                    }
                }
                Ok(Err(reason)) => Reader::Failed(reason),
                Err(_) => Reader::Failed("the message could not be opened".into()),
            };
        }
        if let Some(job) = &mut self.opening_draft
            && let Some(result) = job.try_take()
        {
            self.opening_draft = None;
            match result {
                Ok(Ok((account, id, bytes))) => {
                    let name = self
                        .accounts
                        .get(account)
                        .map(|slot| slot.account.name.clone());
                    let composer_id = self.take_composer_id();
                    let context = self.composer_context();
                    self.composers.push(Composer::from_draft(
                        composer_id,
                        context,
                        name.as_deref(),
                        id,
                        bytes,
                    ));
                }
                Ok(Err(problem)) => self.status_note = Some(problem),
                Err(_) => {}
            }
        }
        if let Some(job) = &mut self.limits_saving
            && job.try_take().is_some()
        {
            // A cache: when it cannot be written the window still knows
            // the limits for this session, and learns them again later.
            self.limits_saving = None;
            self.save_learnt_limits();
        }
        let mut cleanups = std::mem::take(&mut self.outbox_cleanups);
        cleanups.retain_mut(|job| match job.try_take() {
            None => true,
            Some(Ok(Some((account, id)))) => {
                if let Some(slot) = self.accounts.get_mut(account) {
                    slot.edit(LocalEdit::Delete { ids: vec![id] }, EditOrigin::Window);
                }
                false
            }
            Some(_) => false,
        });
        self.outbox_cleanups = cleanups;
        if !self.list.addresses.is_empty() {
            self.merge_known_addresses();
        }
        while let Ok(event) = self.events.try_recv() {
            self.apply_event(event, ctx);
        }
        let now = Instant::now();
        let mut next_wake: Option<Duration> = None;
        for slot in &mut self.accounts {
            if slot.started()
                && let Some(wait) = slot.check_if_due(now)
            {
                next_wake = Some(next_wake.map_or(wait, |current| current.min(wait)));
            }
        }
        if let Some(wait) = next_wake {
            ctx.request_repaint_after(wait.max(Duration::from_millis(250)));
        }
    }

    fn apply_event(&mut self, event: Event, ctx: &egui::Context) {
        let Some(index) = self
            .accounts
            .iter()
            .position(|slot| slot.account.name == event.account)
        else {
            return;
        };
        let mut reload = false;
        let slot = &mut self.accounts[index];
        match event.kind {
            EventKind::Started(activity) => {
                slot.activity = Some(activity);
                slot.progress = None;
            }
            EventKind::Progress(progress) => slot.progress = Some(progress),
            EventKind::MailFetched(result) => {
                if let Some(view) = &mut self.server_view
                    && view.account == index
                    && self.accounts[index].activity
                        == Some(herald_core::engine::Activity::Downloading)
                {
                    let note = match &result {
                        Ok(report) => format!("Downloaded {} message(s).", report.downloaded),
                        Err(failure) => words::advise(failure).title.to_owned(),
                    };
                    view.changed(&self.accounts[index], note);
                }
                let slot = &mut self.accounts[index];
                match result {
                    Ok(report) => {
                        let sentence = match report.downloaded {
                            0 => "No new mail.".to_owned(),
                            1 => "1 new message.".to_owned(),
                            n => format!("{n} new messages."),
                        };
                        if report.downloaded > 0 {
                            notify_new_mail(
                                ctx,
                                self.desktop.as_ref(),
                                &self.preferences,
                                &slot.account.name,
                                &report,
                            );
                        }
                        slot.outcome = Some(Outcome::Done(sentence));
                    }
                    Err(failure) => {
                        slot.outcome = Some(Outcome::Failed {
                            what: "Getting mail",
                            failure,
                        })
                    }
                }
                reload = true;
            }
            EventKind::Sent { message_id, result } => {
                let composer_id = self.pending_sends.remove(&message_id);
                let composer = composer_id.and_then(|id| {
                    self.composers
                        .iter_mut()
                        .find(|composer| composer.id() == id)
                });
                // The composer shows its own failure, in the engine's words.
                if let Some(composer) = composer {
                    composer.send_finished(result.clone().map(|_| ()));
                }
                slot.outcome = Some(match result {
                    Ok(_) => Outcome::Done("Message sent.".into()),
                    Err(failure) => Outcome::Failed {
                        what: "Sending (the message is kept in the Outbox)",
                        failure,
                    },
                });
                reload = true;
            }
            EventKind::OutboxFlushed(result) => {
                if let Err(failure) = result {
                    slot.outcome = Some(Outcome::Failed {
                        what: "Sending the Outbox",
                        failure,
                    });
                }
                reload = true;
            }
            EventKind::ConnectionTested(_) => {}
            EventKind::SmtpLimits(limits) => self.learn_smtp_limits(index, limits),
            EventKind::ServerListed(result) => {
                if let Some(view) = &mut self.server_view
                    && view.account == index
                {
                    view.listed(result);
                }
            }
            EventKind::DeletedOnServer(result) => {
                let note = match &result {
                    Ok(report) => format!(
                        "Deleted {} message(s) on the server.",
                        report.deleted_on_server
                    ),
                    Err(failure) => words::advise(failure).title.to_owned(),
                };
                if let Err(failure) = result {
                    slot.outcome = Some(Outcome::Failed {
                        what: "Deleting on the server",
                        failure,
                    });
                }
                if let Some(view) = &mut self.server_view
                    && view.account == index
                {
                    view.changed(&self.accounts[index], note);
                }
            }
            EventKind::Edited(result) => {
                let mut reload_needed = true;
                let origin = slot.pending_edits.pop_front().unwrap_or(EditOrigin::Window);
                match (origin, result) {
                    (EditOrigin::Draft(composer_id), result) => {
                        if let Some(composer) = self
                            .composers
                            .iter_mut()
                            .find(|composer| composer.id() == composer_id)
                        {
                            match result {
                                Ok(LocalEditDone::DraftSaved { id, .. }) => {
                                    composer.draft_saved(id)
                                }
                                Ok(LocalEditDone::Changed { .. }) => {}
                                Err(failure) => composer.draft_save_failed(failure.message),
                            }
                        }
                    }
                    (EditOrigin::Window, Err(failure)) => {
                        slot.outcome = Some(Outcome::Failed {
                            what: "Changing the mailbox",
                            failure,
                        });
                    }
                    // The window already shows the change (read mark,
                    // removed row): no reload of a 100,000-row folder.
                    (EditOrigin::Window, Ok(_)) => reload_needed = false,
                }
                reload = reload_needed;
            }
            EventKind::Idle => {
                slot.activity = None;
                slot.progress = None;
            }
        }
        if reload && self.shows_account(index) {
            self.reload_list();
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let shortcut = |modifiers, key| KeyboardShortcut::new(modifiers, key);
        // Keys typed into a composer are its own (Ctrl+Enter sends there): a
        // composer in its own OS window gets them through that window's
        // input, never this one's. An embedded one shares this input, so
        // while it has the keyboard the shortcuts that act on the selected
        // message or take the focus (reply, forward, delete, search) are
        // left alone; new message, get mail and help still work.
        let in_composer = self
            .composers
            .iter()
            .any(|composer| composer.has_keyboard_in(ctx));
        let (get_mail, help, compose) = ctx.input_mut(|input| {
            (
                input.consume_shortcut(&shortcut(Modifiers::NONE, Key::F5)),
                input.consume_shortcut(&shortcut(Modifiers::NONE, Key::F1)),
                input.consume_shortcut(&shortcut(Modifiers::COMMAND, Key::N)),
            )
        });
        let (search, delete, reply_all, reply, forward) = if in_composer {
            Default::default()
        } else {
            ctx.input_mut(|input| {
                (
                    input.consume_shortcut(&shortcut(Modifiers::COMMAND, Key::F)),
                    input.key_pressed(Key::Delete),
                    input
                        .consume_shortcut(&shortcut(Modifiers::COMMAND | Modifiers::SHIFT, Key::R)),
                    input.consume_shortcut(&shortcut(Modifiers::COMMAND, Key::R)),
                    input.consume_shortcut(&shortcut(Modifiers::COMMAND, Key::L)),
                )
            })
        };
        if compose {
            self.compose_new();
        }
        if reply_all {
            self.compose_reply(ReplyMode::ReplyAll);
        } else if reply {
            self.compose_reply(ReplyMode::Reply);
        }
        if forward {
            self.compose_reply(ReplyMode::Forward);
        }
        if get_mail {
            self.get_mail();
        }
        if search {
            self.focus_search = true;
        }
        if help {
            self.help_open = !self.help_open;
        }
        self.preferences.zoom_with_keyboard(ctx);
        let typing = ctx.memory(|memory| memory.focused().is_some());
        if delete && !typing {
            self.delete_selected();
        }
    }

    fn take_composer_id(&mut self) -> u64 {
        let id = self.next_composer_id;
        self.next_composer_id += 1;
        id
    }

    fn merge_known_addresses(&mut self) {
        let fresh = std::mem::take(&mut self.list.addresses);
        let mut by_email: std::collections::BTreeMap<String, Address> = self
            .known_addresses
            .iter()
            .map(|address| (address.email.to_lowercase(), address.clone()))
            .collect();
        let before = by_email.len();
        for address in fresh {
            by_email
                .entry(address.email.to_lowercase())
                .or_insert(address);
        }
        if by_email.len() != before {
            self.known_addresses = Arc::new(by_email.into_values().collect());
        }
    }

    fn composer_context(&self) -> ComposerContext {
        let accounts = self
            .accounts
            .iter()
            .map(|slot| SenderAccount {
                name: slot.account.name.clone(),
                sender: Address {
                    name: slot.account.display_name.clone(),
                    email: slot.account.email_addr.clone(),
                },
                signature: slot.account.signature.clone(),
                max_message_size_bytes: slot
                    .smtp_limits
                    .and_then(|limits| limits.max_message_size_bytes),
            })
            .collect();
        let mut context =
            ComposerContext::new(accounts, Arc::clone(&self.waker), self.dialogs.clone());
        context.known_addresses = Arc::clone(&self.known_addresses);
        context.undo_send_secs = self.preferences.undo_send_secs;
        context
    }

    /// The account on screen, or in the unified inbox the selected
    /// message's.
    fn current_account_index(&self) -> Option<usize> {
        match self.selection.mailbox {
            MailboxChoice::Account(index) => Some(index),
            MailboxChoice::Unified => self.list.selected.map(|(account, _)| account),
        }
    }

    /// The account new messages come from: the one on screen, else the
    /// selected message's, else the first.
    fn current_account_name(&self) -> Option<String> {
        self.current_account_index()
            .and_then(|index| self.accounts.get(index))
            .or_else(|| self.accounts.first())
            .map(|slot| slot.account.name.clone())
    }

    /// Opens a composer for a new message (Ctrl+N).
    pub fn compose_new(&mut self) {
        if self.accounts.is_empty() {
            return;
        }
        let id = self.take_composer_id();
        let account = self.current_account_name();
        let context = self.composer_context();
        self.composers
            .push(Composer::new(id, context, account.as_deref()));
    }

    /// Opens a composer replying to (or forwarding) the open message.
    pub fn compose_reply(&mut self, mode: ReplyMode) {
        let Reader::Open { key, view } = &self.reader else {
            return;
        };
        let message = Arc::clone(view.message());
        let account = self
            .accounts
            .get(key.0)
            .map(|slot| slot.account.name.clone());
        let id = self.take_composer_id();
        let context = self.composer_context();
        self.composers.push(Composer::reply(
            id,
            context,
            &message,
            mode,
            account.as_deref(),
        ));
    }

    /// Remembers what account `index`'s SMTP server advertised: for the
    /// composers open now and later, and in the profile for the next run.
    fn learn_smtp_limits(&mut self, index: usize, limits: SmtpLimits) {
        let Some(slot) = self.accounts.get_mut(index) else {
            return;
        };
        slot.smtp_limits = Some(limits);
        for composer in &mut self.composers {
            composer.set_server_size_limit(&slot.account.name, limits.max_message_size_bytes);
        }
        if self.learnt_limits.record(&slot.account, limits) {
            self.limits_unsaved = true;
            self.save_learnt_limits();
        }
    }

    /// Writes the learnt limits in a job, one write at a time.
    fn save_learnt_limits(&mut self) {
        if self.limits_saving.is_some() || !self.limits_unsaved {
            return;
        }
        self.limits_unsaved = false;
        let learnt = self.learnt_limits.clone();
        let profile = self.profile.clone();
        self.limits_saving = Some(Job::spawn("smtp-limits-save", &self.waker, move || {
            learnt
                .save(&profile)
                .map_err(|error| herald_core::error::describe(&error))
        }));
    }

    /// Closing the main window closes the composers first, as their own
    /// close buttons would (each saves its draft), then the window.
    fn close_composers_before_quitting(&mut self, ctx: &egui::Context) {
        if ctx.input(|input| input.viewport().close_requested()) && !self.composers.is_empty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.quitting = true;
            for composer in &mut self.composers {
                composer.ask_to_close();
            }
        }
        if !self.quitting {
            return;
        }
        if self.composers.is_empty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            self.quitting = false;
        } else if !self.composers.iter().all(Composer::is_closing) {
            // A draft could not be saved: the composer stays open to say
            // so, and the window with it.
            self.quitting = false;
        }
    }

    fn composers_ui(&mut self, ctx: &egui::Context) {
        let mut actions = Vec::new();
        for composer in &mut self.composers {
            let id = composer.id();
            actions.extend(composer.show(ctx).into_iter().map(|action| (id, action)));
        }
        for (composer_id, action) in actions {
            self.apply_composer_action(composer_id, action);
        }
    }

    fn account_index(&self, name: &str) -> Option<usize> {
        self.accounts
            .iter()
            .position(|slot| slot.account.name == name)
    }

    fn apply_composer_action(&mut self, composer_id: u64, action: ComposerAction) {
        match action {
            ComposerAction::Send {
                account,
                message,
                replaces_draft,
                replaces_outbox,
            } => {
                let Some(index) = self.account_index(&account) else {
                    return;
                };
                let message_id = message.message_id.clone();
                let slot = &mut self.accounts[index];
                if slot.submit(Command::Send(message)) {
                    self.pending_sends.insert(message_id, composer_id);
                    // After the Send: the draft goes once the Outbox holds the message.
                    if let Some(draft) = replaces_draft {
                        slot.edit(LocalEdit::Delete { ids: vec![draft] }, EditOrigin::Window);
                    }
                    if let Some(old_message_id) = replaces_outbox {
                        let dir = slot.mailbox_dir.clone();
                        self.outbox_cleanups.push(Job::spawn(
                            "outbox-find",
                            &self.waker,
                            move || {
                                find_in_folder(&dir, Folder::Outbox, &old_message_id)
                                    .map(|id| (index, id))
                            },
                        ));
                    }
                }
            }
            ComposerAction::SaveDraft {
                account,
                local_copy,
                replaces_draft,
            } => {
                if let Some(index) = self.account_index(&account) {
                    self.accounts[index].edit(
                        LocalEdit::SaveDraft {
                            local_copy,
                            replaces: replaces_draft,
                        },
                        EditOrigin::Draft(composer_id),
                    );
                }
            }
            ComposerAction::DeleteDraft { account, local_id } => {
                if let Some(index) = self.account_index(&account) {
                    self.accounts[index].edit(
                        LocalEdit::Delete {
                            ids: vec![local_id],
                        },
                        EditOrigin::Window,
                    );
                }
            }
            ComposerAction::Closed { id } => self.composers.retain(|composer| composer.id() != id),
        }
    }

    fn open_draft(&mut self, account: usize, id: i64) {
        let Some(slot) = self.accounts.get(account) else {
            return;
        };
        let dir = slot.mailbox_dir.clone();
        self.opening_draft = Some(Job::spawn("draft-read", &self.waker, move || {
            let (_, bytes) = read_stored_file(&dir, id, "This draft")?;
            Ok((account, id, bytes))
        }));
    }

    /// Draws the whole window.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.poll_background(&ctx);
        self.shortcuts(&ctx);
        if let AccountsState::Failed(reason) = &self.accounts_state {
            let reason = reason.clone();
            egui::CentralPanel::default().show(ui, |ui| {
                ui.heading("Your accounts could not be read");
                ui.label(reason);
            });
            return;
        }
        self.dialogs_ui(&ctx);
        self.composers_ui(&ctx);
        self.close_composers_before_quitting(&ctx);
        if let Some(view) = &mut self.server_view {
            if let Some(slot) = self.accounts.get(view.account) {
                view.show(&ctx, slot);
            }
            if !view.open {
                self.server_view = None;
            }
        }
        if self.accounts.is_empty() {
            let mut add = false;
            let mut demo = false;
            egui::CentralPanel::default().show(ui, |ui| {
                self.credential_store_banner_ui(ui);
                (add, demo) = welcome_ui(
                    ui,
                    self.demo_starting.is_some(),
                    self.demo_problem.as_deref(),
                );
            });
            if add && self.account_setup.is_none() {
                self.account_setup = Some(AccountSetup::add());
            }
            if demo {
                self.start_demo();
            }
            return;
        }
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar_ui(ui));
        let cancel = egui::Panel::bottom("status_bar")
            .show(ui, |ui| {
                status::status_bar_ui(ui, &self.accounts, &self.status_note)
            })
            .inner;
        if cancel {
            self.cancel_all();
        }
        egui::Panel::left("folders")
            .resizable(true)
            .default_size(210.0)
            .show(ui, |ui| {
                if let Some(selection) = mailbox::sidebar_ui(ui, &self.accounts, self.selection)
                    && selection != self.selection
                {
                    self.selection = selection;
                    self.list.selected = None;
                    self.reader = Reader::Empty;
                    self.reload_list();
                }
            });
        egui::Panel::right("reader")
            .resizable(true)
            .default_size(ui.available_width() * 0.5)
            .show(ui, |ui| self.reader_ui(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            let names: Vec<String> = self
                .accounts
                .iter()
                .map(|slot| slot.account.name.clone())
                .collect();
            let unified = self.selection.mailbox == MailboxChoice::Unified;
            let empty = match self.selection.folder {
                Folder::Inbox => "No messages yet. Press Get mail (F5).",
                _ => "This folder is empty.",
            };
            for problem in &self.list.problems {
                ui.colored_label(ui.visuals().error_fg_color, problem);
            }
            let drafts = self.selection.folder == Folder::Drafts;
            match self.list.ui(ui, &names, unified, empty) {
                Some(ListAction::Activated(account, id)) if drafts => {
                    self.open_draft(account, id);
                }
                Some(ListAction::Selected(account, id))
                | Some(ListAction::Activated(account, id)) => {
                    let already_open =
                        matches!(&self.reader, Reader::Open { key, .. } if *key == (account, id));
                    if !already_open {
                        self.open_message(account, id);
                    }
                }
                None => {}
            }
        });
        if self.help_open {
            let mut open = true;
            egui::Window::new("Keyboard shortcuts")
                .open(&mut open)
                .collapsible(false)
                .show(&ctx, help_ui);
            self.help_open = open;
        }
    }

    fn dialogs_ui(&mut self, ctx: &egui::Context) {
        let passwords = match &self.passwords {
            Passwords::Ready(store) => Some(Arc::clone(store)),
            Passwords::Opening(_) => None,
        };
        if let Some(setup) = &mut self.account_setup {
            let saved = setup.show(ctx, &self.profile, passwords.as_ref(), &self.waker);
            let closed = setup.closed;
            if closed {
                self.account_setup = None;
            }
            if let Some(saved) = saved {
                self.account_saved(saved);
            }
        }
        if self.settings_open {
            let mut open = true;
            let action = self
                .settings
                .show(ctx, &mut open, &self.accounts, &mut self.preferences);
            self.settings_open = open;
            match action {
                Some(SettingsAction::AddAccount) => self.account_setup = Some(AccountSetup::add()),
                Some(SettingsAction::EditAccount(index)) => {
                    if let Some(slot) = self.accounts.get(index) {
                        self.account_setup = Some(AccountSetup::edit(&slot.account));
                    }
                }
                Some(SettingsAction::RemoveAccount(index)) => {
                    if index < self.accounts.len()
                        && let Some(passwords) = passwords
                    {
                        let slot = self.accounts.remove(index);
                        let name = slot.account.name.clone();
                        self.password_notes.retain(|(account, _)| *account != name);
                        drop_off_thread(vec![slot]);
                        let profile = self.profile.clone();
                        self.removing =
                            Some(Job::spawn("account-remove", &self.waker, move || {
                                account_setup::remove_account(&profile, &passwords, &name)
                            }));
                        self.selection = Selection {
                            mailbox: default_mailbox(self.accounts.len()),
                            folder: Folder::Inbox,
                        };
                        self.list = MessageList::default();
                        self.reader = Reader::Empty;
                        self.reload_list();
                    }
                }
                None => {}
            }
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let ready = self.accounts.iter().any(AccountSlot::started);
            let get = ui
                .add_enabled(ready, egui::Button::new("📥 Get mail"))
                .on_hover_text("Download new mail (F5)");
            if get.clicked() {
                self.get_mail();
            }
            if ui
                .button("✏ Compose")
                .on_hover_text("New message (Ctrl+N)")
                .clicked()
            {
                self.compose_new();
            }
            ui.separator();
            let open = matches!(self.reader, Reader::Open { .. });
            for (label, hint, mode) in [
                ("↩ Reply", "Reply to the sender (Ctrl+R)", ReplyMode::Reply),
                (
                    "↩↩ Reply all",
                    "Reply to everyone (Ctrl+Shift+R)",
                    ReplyMode::ReplyAll,
                ),
                (
                    "➡ Forward",
                    "Forward with attachments (Ctrl+L)",
                    ReplyMode::Forward,
                ),
            ] {
                if ui
                    .add_enabled(open, egui::Button::new(label))
                    .on_hover_text(hint)
                    .clicked()
                {
                    self.compose_reply(mode);
                }
            }
            ui.separator();
            let selected = self.list.selected.is_some();
            if ui
                .add_enabled(selected, egui::Button::new("🗑 Delete"))
                .on_hover_text("Move to Trash (Delete)")
                .clicked()
            {
                self.delete_selected();
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let help = ui.button("❓").on_hover_text("Keyboard shortcuts (F1)");
                // The icon says nothing to a screen reader: name it in words.
                help.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::accesskit::Role::Button,
                        true,
                        "Help: keyboard shortcuts",
                    )
                });
                if help.clicked() {
                    self.help_open = !self.help_open;
                }
                if ui.button("⚙ Settings").clicked() {
                    self.settings_open = !self.settings_open;
                }
                let server_account = self.current_account_index();
                if ui
                    .add_enabled(server_account.is_some(), egui::Button::new("🖧 Server"))
                    .on_hover_text("What is on the POP3 server: download or delete single messages")
                    .clicked()
                    && let Some(index) = server_account
                    && let Some(slot) = self.accounts.get(index)
                {
                    self.server_view = Some(ServerView::open(index, slot));
                }
                // Right to left: the box first, then its label at its left.
                let search = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.list.spec.search)
                            .hint_text("Ctrl+F")
                            .desired_width(220.0),
                    )
                    .on_hover_text(
                        "Shows messages with every word you type in the subject, the people \
                         and addresses, or the text and attachment names",
                    );
                let search_label = ui.label("🔍 Search");
                let search = search.labelled_by(search_label.id);
                if self.focus_search {
                    search.request_focus();
                    self.focus_search = false;
                }
                if let Some(note) = self.list.text_search_note() {
                    ui.label(egui::RichText::new(note).weak().small());
                }
                if (search.has_focus() || search.lost_focus())
                    && ui.input(|input| input.key_pressed(egui::Key::Escape))
                {
                    self.list.spec.search.clear();
                    search.surrender_focus();
                }
            });
        });
        self.credential_store_banner_ui(ui);
    }

    /// Says so when the OS credential store Herald meant to use is not
    /// available (not for the demo's session-only store), or refused an
    /// account's password.
    fn credential_store_banner_ui(&self, ui: &mut egui::Ui) {
        for (_, note) in &self.password_notes {
            ui.colored_label(ui.visuals().warn_fg_color, note);
        }
        if let Passwords::Ready(store) = &self.passwords
            && let Some(reason) = store.os_store_problem()
        {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "The system credential store is not available ({reason}); passwords you enter are kept for this session only."
                ),
            );
        }
    }

    fn reader_ui(&mut self, ui: &mut egui::Ui) {
        match &self.reader {
            Reader::Empty => {
                ui.centered_and_justified(|ui| {
                    ui.label(egui::RichText::new("Select a message to read it.").weak());
                });
            }
            Reader::Opening { .. } => {
                ui.centered_and_justified(|ui| {
                    ui.spinner();
                });
            }
            Reader::Failed(reason) => {
                ui.colored_label(ui.visuals().error_fg_color, reason);
            }
            Reader::Open { .. } => {}
        }
        let actions = match &mut self.reader {
            Reader::Open { view, .. } => view.ui(ui),
            _ => Vec::new(),
        };
        for action in actions {
            match action {
                ReaderAction::Reply => self.compose_reply(ReplyMode::Reply),
                ReaderAction::ReplyAll => self.compose_reply(ReplyMode::ReplyAll),
                ReaderAction::Forward => self.compose_reply(ReplyMode::Forward),
                ReaderAction::AlwaysAllowRemoteFrom(sender) => {
                    self.preferences
                        .remote_content_senders
                        .insert(sender.trim().to_lowercase());
                }
                ReaderAction::Status(sentence) => self.status_note = Some(sentence),
            }
        }
    }
}

/// A draft read from disk: account index, local id, bytes.
type DraftBytes = (usize, i64, Vec<u8>);

/// The local id of the message with `message_id` in `folder` (in a job).
fn find_in_folder(mailbox_dir: &std::path::Path, folder: Folder, message_id: &str) -> Option<i64> {
    let store = MailStore::open_read_only(mailbox_dir).ok()?;
    store
        .list(folder, &Default::default())
        .ok()?
        .into_iter()
        .find(|message| message.summary.message_id.as_deref() == Some(message_id))
        .map(|message| message.id)
}

/// The index row of message `id`, read beside the account's worker (in a
/// job).
fn stored_message(
    mailbox_dir: &std::path::Path,
    id: i64,
) -> Result<Option<herald_core::store::StoredMessage>, String> {
    let describe = |error: herald_core::store::StoreError| herald_core::error::describe(&error);
    MailStore::open_read_only(mailbox_dir)
        .map_err(describe)?
        .get(id)
        .map_err(describe)
}

/// What was learnt about the accounts' SMTP servers in earlier runs, also
/// given to their slots. Read with `accounts.toml`, before the first frame;
/// a damaged file counts as empty (it is only a cache, rewritten as the
/// window learns).
fn load_learnt_limits(profile: &Profile, slots: &mut [AccountSlot]) -> LearntSmtpLimits {
    let learnt = LearntSmtpLimits::load(profile).unwrap_or_default();
    for slot in slots {
        slot.smtp_limits = learnt.get(&slot.account);
    }
    learnt
}

/// Unified when there are several accounts, else the only one.
fn default_mailbox(account_count: usize) -> MailboxChoice {
    if account_count > 1 {
        MailboxChoice::Unified
    } else {
        MailboxChoice::Account(0)
    }
}

/// Reads and parses one message (in a job).
fn open_message(mailbox_dir: &std::path::Path, id: i64) -> Result<Arc<Message>, String> {
    let (path, bytes) = read_stored_file(mailbox_dir, id, "This message")?;
    Message::parse(bytes).map(Arc::new).map_err(|error| {
        format!(
            "cannot read the message in {}: {}",
            path.display(),
            herald_core::error::describe(&error)
        )
    })
}

/// Reads the file of stored message `id` (`what` names it for errors).
///
/// The account's worker may be renaming that file at this very moment (a
/// flag change moves it from `new/` to `cur/` and renames it `:2,S`; opening
/// an unread message triggers exactly that), so a file that vanished between
/// looking up its name and opening it is looked up again, for up to a
/// second, before that counts as an error.
fn read_stored_file(
    mailbox_dir: &std::path::Path,
    id: i64,
    what: &str,
) -> Result<(std::path::PathBuf, Vec<u8>), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let stored = stored_message(mailbox_dir, id)?
            .ok_or_else(|| format!("{what} is no longer in the mailbox."))?;
        let Some(path) = stored.path else {
            return Err(format!(
                "Only the headers of {} were downloaded (it is over the size limit). Download it from the server view.",
                what.to_lowercase()
            ));
        };
        match std::fs::read(&path) {
            Ok(bytes) => return Ok((path, bytes)),
            Err(error)
                if error.kind() == std::io::ErrorKind::NotFound
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
        }
    }
}

/// A desktop notification for the messages a sync of `account` brought
/// (who sent them and about what, from the report: nothing is read from
/// disk), when the window is not focused and the user wants them.
fn notify_new_mail(
    ctx: &egui::Context,
    desktop: &dyn Desktop,
    preferences: &Preferences,
    account: &str,
    report: &herald_core::sync::SyncReport,
) {
    let focused = ctx.input(|input| input.viewport().focused.unwrap_or(true));
    if focused || !preferences.notify_new_mail {
        return;
    }
    desktop.notify(&Notification::new_mail(
        account,
        report.downloaded,
        &report.arrived,
    ));
}

/// Keyboard shortcuts, as listed in the help window.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Ctrl+N", "New message"),
    ("Ctrl+R", "Reply"),
    ("Ctrl+Shift+R", "Reply all"),
    ("Ctrl+L", "Forward"),
    ("Ctrl+Enter", "Send (in the composer)"),
    ("Delete", "Move to Trash"),
    ("F5", "Get mail"),
    ("Ctrl++ / Ctrl+- / Ctrl+0", "Larger / smaller / normal text"),
    ("Ctrl+F", "Search"),
    ("↑ ↓ / J K", "Previous / next message"),
    ("Page Up / Page Down, Home / End", "Move through the list"),
    ("Enter", "Open the selected message"),
    ("Esc", "Clear the search"),
    ("F1", "This help"),
];

fn help_ui(ui: &mut egui::Ui) {
    egui::Grid::new("shortcuts")
        .num_columns(2)
        .spacing([24.0, 6.0])
        .show(ui, |ui| {
            for (keys, what) in SHORTCUTS {
                ui.label(egui::RichText::new(*keys).monospace());
                ui.label(*what);
                ui.end_row();
            }
        });
}

impl eframe::App for HeraldApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        HeraldApp::ui(self, ui);
        self.startup_benchmark(ui.ctx());
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, prefs::STORAGE_KEY, &self.preferences);
    }
}

impl Drop for HeraldApp {
    /// The window is closing: this session's folders of opened attachments
    /// go (on another thread, bounded wait).
    fn drop(&mut self) {
        self.open_folders.remove_at_exit();
    }
}

/// The first screen; returns (add account, try the demo) clicks.
fn welcome_ui(ui: &mut egui::Ui, demo_starting: bool, demo_problem: Option<&str>) -> (bool, bool) {
    let mut clicks = (false, false);
    ui.vertical_centered(|ui| {
        ui.add_space(64.0);
        ui.heading("Welcome to Herald");
        ui.add_space(8.0);
        ui.label("No account is set up yet.");
        ui.add_space(16.0);
        if ui
            .add(egui::Button::new("➕ Add account").min_size(egui::vec2(220.0, 32.0)))
            .clicked()
        {
            clicks.0 = true;
        }
        ui.add_space(8.0);
        let demo = ui
            .add_enabled(
                !demo_starting,
                egui::Button::new("✉ Try the demo mailbox").min_size(egui::vec2(220.0, 32.0)),
            )
            .on_hover_text("A private mail server inside Herald, with sample messages. Nothing leaves this computer.");
        if demo.clicked() {
            clicks.1 = true;
        }
        if demo_starting {
            ui.spinner();
        }
        if let Some(problem) = demo_problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        ui.add_space(16.0);
        ui.label(
            egui::RichText::new(
                "Herald reads mail over POP3 and sends over SMTP, always encrypted. \
                 Passwords go to your system's credential store.",
            )
            .weak(),
        );
    });
    clicks
}

/// Drops account slots (joining their workers, which cancels and waits for
/// the thread) on another thread, so the window never waits.
fn drop_off_thread(slots: Vec<AccountSlot>) {
    if slots.is_empty() {
        return;
    }
    for slot in &slots {
        slot.cancel();
    }
    let spawned = std::thread::Builder::new()
        .name("herald-worker-stop".into())
        .spawn(move || drop(slots));
    drop(spawned);
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::store::{Flags, NewMessage};

    #[test]
    fn a_message_renamed_while_it_is_being_opened_is_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = MailStore::open(dir.path()).expect("store");
        let raw = b"From: a@example.org\r\nSubject: moving\r\n\r\nbody\r\n".to_vec();
        let id = store
            .add_message(Folder::Inbox, &raw, NewMessage::default())
            .expect("add");
        // The worker's side: flag changes rename the file again and again
        // until the reader has read it 200 times.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_flipping = Arc::clone(&stop);
        let flipping = std::thread::spawn(move || {
            let mut flips = 0u32;
            while !stop_flipping.load(std::sync::atomic::Ordering::SeqCst) {
                let flags = Flags {
                    seen: flips.is_multiple_of(2),
                    flagged: flips.is_multiple_of(3),
                    ..Flags::default()
                };
                store.set_flags(id, flags).expect("set flags");
                flips += 1;
            }
            flips
        });
        for read in 0..200 {
            let (_, bytes) = read_stored_file(dir.path(), id, "This message")
                .unwrap_or_else(|error| panic!("read {read} failed: {error}"));
            assert_eq!(bytes, raw);
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let flips = flipping.join().expect("flipping thread");
        assert!(flips > 10, "only {flips} renames overlapped the reads");
    }
}
