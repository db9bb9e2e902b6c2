//! The composer: a window to write, reply to and forward messages.
//!
//! Each [`Composer`] is its own OS window (an egui viewport; several can be
//! open at once), or an [`egui::Window`] inside the main window where
//! viewports are embedded (egui_kittest, a backend without multi-viewport
//! support). It reports what the app must do as [`ComposerAction`]s: send a
//! composed message, store a draft, delete one, forget the composer. It never
//! touches the network or the disk on the UI thread: files, image decoding
//! (thumbnails and preview pictures), parsing the preview's HTML, composing
//! (base64 of big files) and opening drafts run in [`Job`]s. The preview is
//! the reader's `html_view`, so the body looks as recipients will see it.
//!
//! How the app wires it:
//! - build one [`ComposerContext`] (accounts, known addresses for completion,
//!   undo-send delay, waker, file dialogs) and give each composer a clone;
//! - call [`Composer::show`] every frame for every open composer and handle
//!   the actions it returns, in order;
//! - after storing a [`ComposerAction::SaveDraft`], call
//!   [`Composer::draft_saved`] with the new local id (or
//!   [`Composer::draft_save_failed`]): the composer does not save again until
//!   then, so the old draft is always the one replaced;
//! - when the engine reports the outcome of a [`ComposerAction::Send`], call
//!   [`Composer::send_finished`]; on success the next `show` returns
//!   [`ComposerAction::Closed`];
//! - drop the composer when it returns [`ComposerAction::Closed`].

mod address_field;
pub mod checks;
mod files;
pub mod markdown;
mod preview;
pub mod reply;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::text::{CCursor, CCursorRange};
use egui::{Id, Key, Modifiers, RichText};
use herald_core::compose::{ComposedMessage, Draft, DraftBody, DraftFile, InlineImage};
use herald_core::engine::Failure;
use herald_core::message::{Address, Message};

use crate::app::file_dialog::{DialogKind, DialogOutcome, FileDialogs, PathPrompt, PendingDialog};
use crate::app::html_view::HtmlDocument;
use crate::app::html_view::images::has_image_extension;
use crate::app::html_view::url::percent_decode;
use crate::app::jobs::{Job, Waker};
use crate::app::text::format_size;
use address_field::AddressField;
use files::{FileItem, Loaded, Source};
use markdown::Format;
use preview::Preview;
pub use reply::ReplyMode;

/// An account the composer can send from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderAccount {
    /// The account's name (what actions carry back to the app).
    pub name: String,
    /// The `From` address.
    pub sender: Address,
    /// Put under new messages after `-- `.
    pub signature: Option<String>,
    /// The SMTP server's SIZE limit, when known.
    pub max_message_size_bytes: Option<u64>,
}

/// What every composer shares with the app. Cheap to clone.
#[derive(Clone)]
pub struct ComposerContext {
    /// Accounts to send from; the first is the default.
    pub accounts: Vec<SenderAccount>,
    /// Addresses proposed while typing recipients.
    pub known_addresses: Arc<Vec<Address>>,
    /// Seconds during which a sent message can be taken back (0: none).
    pub undo_send_secs: u32,
    /// A draft is saved this long after the last change.
    pub autosave_after: Duration,
    /// Repaints the window when a job is done.
    pub waker: Waker,
    /// File dialogs (or the in-app path prompt).
    pub dialogs: FileDialogs,
}

impl ComposerContext {
    /// A context with the defaults: 5 s undo, autosave 5 s after a change,
    /// no known addresses.
    pub fn new(
        accounts: Vec<SenderAccount>,
        waker: Waker,
        dialogs: FileDialogs,
    ) -> ComposerContext {
        ComposerContext {
            accounts,
            known_addresses: Arc::new(Vec::new()),
            undo_send_secs: 5,
            autosave_after: Duration::from_secs(5),
            waker,
            dialogs,
        }
    }
}

/// What the app must do for a composer.
#[derive(Debug)]
pub enum ComposerAction {
    /// Send this message from `account` (it goes through the Outbox).
    Send {
        /// The account's name.
        account: String,
        /// The composed message.
        message: Box<ComposedMessage>,
        /// A saved draft of this message, to delete once it is in the Outbox.
        replaces_draft: Option<i64>,
        /// Message-ID of an earlier failed attempt of this message still in
        /// the Outbox, to remove now that the edited one replaces it.
        replaces_outbox: Option<String>,
    },
    /// Store this message in the account's Drafts.
    SaveDraft {
        /// The account's name.
        account: String,
        /// The message bytes (with Bcc).
        local_copy: Vec<u8>,
        /// The draft it replaces (delete it after storing this one).
        replaces_draft: Option<i64>,
    },
    /// The user discarded the message: delete its saved draft.
    DeleteDraft {
        /// The account's name.
        account: String,
        /// The draft.
        local_id: i64,
    },
    /// The composer is finished; drop it.
    Closed {
        /// The composer's id.
        id: u64,
    },
}

/// How the body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// Plain text.
    Plain,
    /// Markdown, sent as HTML with the Markdown as plain alternative.
    Rich,
    /// HTML source, sent as is with a derived plain alternative.
    HtmlSource,
}

/// Where a loaded file goes.
#[derive(Debug, Clone)]
enum Place {
    Attachment,
    /// Inline, with a reference inserted at the body cursor.
    InlineAtCursor,
    /// Inline, already referenced by this Content-ID (reopened draft).
    InlineWithCid(String),
}

struct LoadResult {
    result: Result<Loaded, String>,
    place: Place,
}

/// A reopened draft, read in a job.
struct OpenedDraft {
    to: Vec<Address>,
    cc: Vec<Address>,
    bcc: Vec<Address>,
    subject: String,
    mode: BodyMode,
    body: String,
    files: Vec<LoadResult>,
    in_reply_to: Option<String>,
    references: Vec<String>,
}

enum Phase {
    Editing,
    /// Warnings the user must confirm ("Send anyway").
    Confirm(Vec<String>),
    Composing(Job<Result<ComposedMessage, String>>),
    Countdown {
        message: Box<ComposedMessage>,
        until: Instant,
    },
    Sending,
    /// Sent: the next `show` reports `Closed`.
    Sent,
    /// `Closed` was reported; nothing more is drawn.
    Closed,
}

enum DialogState {
    Native(PendingDialog),
    Prompt(PathPrompt),
}

/// What everything the composer sends is built from (cheap to clone: files
/// are shared), turned into a [`Draft`] inside a job.
#[derive(Clone)]
struct DraftSpec {
    from: Address,
    to: Vec<Address>,
    cc: Vec<Address>,
    bcc: Vec<Address>,
    subject: String,
    body: DraftBodySpec,
    inline: Vec<(Arc<DraftFile>, String)>,
    attachments: Vec<Arc<DraftFile>>,
    in_reply_to: Option<String>,
    references: Vec<String>,
}

#[derive(Clone)]
enum DraftBodySpec {
    Plain(String),
    /// HTML and, for Markdown, the Markdown as plain alternative.
    Html(String, Option<String>),
}

impl DraftSpec {
    fn into_draft(self) -> Draft {
        let body = match self.body {
            DraftBodySpec::Plain(text) => DraftBody::Plain(text),
            DraftBodySpec::Html(html, text) => {
                let text =
                    text.unwrap_or_else(|| herald_core::compose::plain_text_from_html(&html));
                DraftBody::Html {
                    html,
                    text: Some(text),
                }
            }
        };
        Draft {
            from: self.from,
            to: self.to,
            cc: self.cc,
            bcc: self.bcc,
            subject: self.subject,
            body,
            inline_images: self
                .inline
                .into_iter()
                .map(|(file, content_id)| InlineImage {
                    file: Arc::unwrap_or_clone(file),
                    content_id: Some(content_id),
                })
                .collect(),
            attachments: self
                .attachments
                .into_iter()
                .map(Arc::unwrap_or_clone)
                .collect(),
            in_reply_to: self.in_reply_to,
            references: self.references,
        }
    }
}

/// What a button in the file list does.
#[derive(Debug, Clone, Copy)]
enum FileChange {
    MakeAttachment,
    ShowInline,
    Remove,
}

/// The body preview is this many points high.
const PREVIEW_HEIGHT: f32 = 320.0;

/// Composes a draft's bytes (or says why not).
type SaveJob = Job<Result<Vec<u8>, String>>;

/// One message being written, in its own window.
pub struct Composer {
    id: u64,
    ctx: ComposerContext,
    account: usize,
    to: AddressField,
    cc: AddressField,
    bcc: AddressField,
    show_cc: bool,
    show_bcc: bool,
    subject: String,
    mode: BodyMode,
    body: String,
    /// The body's selection (char indices), as last drawn.
    body_cursor: Option<std::ops::Range<usize>>,
    /// A selection to give the body editor on the next frame, and whether
    /// to focus it.
    set_body_cursor: Option<(std::ops::Range<usize>, bool)>,
    /// A field to focus on the first frame.
    focus_first: Option<Id>,
    show_preview: bool,
    preview: Preview,
    files: Vec<FileItem>,
    loading: Vec<Job<Vec<LoadResult>>>,
    opening: Option<Job<Result<OpenedDraft, String>>>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    draft_id: Option<i64>,
    generation: u64,
    saved_generation: u64,
    last_edit: Instant,
    /// A draft being composed, and the edit generation it holds.
    save_job: Option<(u64, SaveJob)>,
    awaiting_draft_id: bool,
    closing: bool,
    confirm_discard: bool,
    phase: Phase,
    problem: Option<String>,
    send_failure: Option<String>,
    failed_message_id: Option<String>,
    notice: Option<String>,
    dialog: Option<(bool, DialogState)>,
    window_rect: Option<egui::Rect>,
    layer: Option<egui::LayerId>,
    /// Drawn in its own OS window last frame: all of that window's input
    /// (keys, drops, pastes) is for this composer.
    own_window: bool,
    /// [`Composer::ask_to_close`] was called.
    close_asked: bool,
    status: Option<String>,
}

impl Composer {
    fn blank(id: u64, ctx: ComposerContext, account: Option<&str>) -> Composer {
        let account = account
            .and_then(|name| ctx.accounts.iter().position(|a| a.name == name))
            .unwrap_or(0);
        Composer {
            id,
            ctx,
            account,
            to: AddressField::default(),
            cc: AddressField::default(),
            bcc: AddressField::default(),
            show_cc: false,
            show_bcc: false,
            subject: String::new(),
            mode: BodyMode::Rich,
            body: String::new(),
            body_cursor: None,
            set_body_cursor: None,
            focus_first: None,
            show_preview: true,
            preview: Preview::new(id),
            files: Vec::new(),
            loading: Vec::new(),
            opening: None,
            in_reply_to: None,
            references: Vec::new(),
            draft_id: None,
            generation: 0,
            saved_generation: 0,
            last_edit: Instant::now(),
            save_job: None,
            awaiting_draft_id: false,
            closing: false,
            confirm_discard: false,
            phase: Phase::Editing,
            problem: None,
            send_failure: None,
            failed_message_id: None,
            notice: None,
            dialog: None,
            window_rect: None,
            layer: None,
            own_window: false,
            close_asked: false,
            status: None,
        }
    }

    /// A new message from `account` (by name; the first account when `None`
    /// or unknown), with the account's signature.
    pub fn new(id: u64, ctx: ComposerContext, account: Option<&str>) -> Composer {
        let mut composer = Composer::blank(id, ctx, account);
        if let Some(signature) = composer.signature_block() {
            composer.body = format!("\n\n{signature}");
        }
        composer.set_body_cursor = Some((0..0, false));
        composer.focus_first = Some(composer.field_id("to"));
        composer
    }

    /// An answer to (or a forward of) `original`. Forwarded attachments are
    /// read in a job.
    pub fn reply(
        id: u64,
        ctx: ComposerContext,
        original: &Message,
        mode: ReplyMode,
        account: Option<&str>,
    ) -> Composer {
        let mut composer = Composer::blank(id, ctx, account);
        let own: Vec<String> = composer
            .ctx
            .accounts
            .iter()
            .map(|a| a.sender.email.clone())
            .collect();
        let (to, cc) = reply::recipients(&original.headers, mode, &own);
        composer.to = AddressField::with_addresses(&to);
        composer.show_cc = !cc.is_empty();
        composer.cc = AddressField::with_addresses(&cc);
        composer.subject = reply::subject(original.headers.subject.as_deref(), mode);
        composer.references = reply::references(&original.headers);
        composer.in_reply_to = match mode {
            ReplyMode::Forward => None,
            ReplyMode::Reply | ReplyMode::ReplyAll => original.headers.message_id.clone(),
        };
        // Plain mail gets a plain answer; HTML mail a rich one (a blockquote).
        composer.mode = if original.html.is_some() {
            BodyMode::Rich
        } else {
            BodyMode::Plain
        };
        let rich = composer.mode == BodyMode::Rich;
        let quoted = match mode {
            ReplyMode::Reply | ReplyMode::ReplyAll => reply::quoted_original(original),
            ReplyMode::Forward => {
                let summary = reply::forward_summary(&original.headers, rich);
                let text = if rich {
                    reply::quote_lines(&original.text)
                } else {
                    original.text.clone()
                };
                format!("{summary}\n\n{text}")
            }
        };
        let signature = composer
            .signature_block()
            .map(|s| format!("{s}\n\n"))
            .unwrap_or_default();
        composer.body = format!("\n\n{signature}{quoted}");
        composer.set_body_cursor = Some((0..0, mode != ReplyMode::Forward));
        if mode == ReplyMode::Forward {
            composer.focus_first = Some(composer.field_id("to"));
        }
        if mode == ReplyMode::Forward && !original.attachments.is_empty() {
            let message = original.clone();
            let job = Job::spawn("forward-attachments", &composer.ctx.waker, move || {
                message
                    .attachments
                    .iter()
                    .map(|attachment| LoadResult {
                        result: Ok(Loaded::new(DraftFile {
                            filename: attachment.filename.clone(),
                            content_type: Some(attachment.content_type.clone()),
                            bytes: message.decoded_body(attachment.part_index),
                        })),
                        place: Place::Attachment,
                    })
                    .collect()
            });
            composer.loading.push(job);
        }
        composer
    }

    /// Reopens a saved draft (its bytes are parsed in a job). Sending or
    /// saving it replaces draft `draft_local_id`.
    pub fn from_draft(
        id: u64,
        ctx: ComposerContext,
        account: Option<&str>,
        draft_local_id: i64,
        original_bytes: Vec<u8>,
    ) -> Composer {
        let mut composer = Composer::blank(id, ctx, account);
        composer.draft_id = Some(draft_local_id);
        composer.opening = Some(Job::spawn("open-draft", &composer.ctx.waker, move || {
            open_draft(original_bytes)
        }));
        composer
    }

    /// The composer's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The body preview's parsed HTML, once ready (what the preview shows).
    pub fn preview_document(&self) -> Option<&HtmlDocument> {
        self.preview.document()
    }

    /// How many images the body preview drew from textures in the last frame.
    pub fn preview_images_drawn(&self) -> usize {
        self.preview.images_drawn()
    }

    /// The id of the saved draft this composer replaces, if any.
    pub fn draft_id(&self) -> Option<i64> {
        self.draft_id
    }

    /// The outcome of the last [`ComposerAction::Send`]: success closes the
    /// composer; a failure is shown and the message can be edited and sent again.
    pub fn send_finished(&mut self, result: Result<(), Failure>) {
        match result {
            Ok(()) => self.phase = Phase::Sent,
            Err(failure) => {
                self.phase = Phase::Editing;
                self.send_failure = Some(failure.message);
            }
        }
    }

    /// Closes the composer as its close button would (its draft is saved
    /// first); the app is told by [`ComposerAction::Closed`].
    pub fn ask_to_close(&mut self) {
        self.close_asked = true;
    }

    /// True once the composer is closing, or closed.
    pub fn is_closing(&self) -> bool {
        self.close_asked || self.closing || matches!(self.phase, Phase::Sent | Phase::Closed)
    }

    /// The app learnt the SIZE limit of `account`'s SMTP server (`None`: it
    /// set none): the size warning uses it from now on.
    pub fn set_server_size_limit(&mut self, account: &str, max_message_size_bytes: Option<u64>) {
        for sender in &mut self.ctx.accounts {
            if sender.name == account {
                sender.max_message_size_bytes = max_message_size_bytes;
            }
        }
    }

    /// True while one of this composer's text fields has the keyboard in
    /// the main window (when embedded there): the main window's shortcuts
    /// must leave the keys alone. In its own OS window the keys never reach
    /// the main window.
    pub fn has_keyboard_in(&self, ctx: &egui::Context) -> bool {
        !self.own_window
            && ctx
                .memory(|m| m.focused())
                .is_some_and(|id| self.my_text_ids().contains(&id))
    }

    /// The OS window's title (and the embedded window's).
    pub fn title(&self) -> String {
        let subject = self.subject.trim();
        if subject.is_empty() {
            "New message".to_owned()
        } else {
            // One line: a pasted subject may hold a line break.
            subject.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }

    /// The draft from the last [`ComposerAction::SaveDraft`] is stored as `local_id`.
    pub fn draft_saved(&mut self, local_id: i64) {
        self.draft_id = Some(local_id);
        self.awaiting_draft_id = false;
        self.status = Some("Draft saved".to_owned());
    }

    /// The draft from the last [`ComposerAction::SaveDraft`] could not be stored.
    pub fn draft_save_failed(&mut self, message: String) {
        self.awaiting_draft_id = false;
        self.closing = false;
        self.saved_generation = 0;
        self.generation += 1;
        self.problem = Some(format!("The draft could not be saved: {message}"));
    }

    fn sender(&self) -> Option<&SenderAccount> {
        self.ctx.accounts.get(self.account)
    }

    fn signature_block(&self) -> Option<String> {
        let signature = self.sender()?.signature.as_deref()?.trim_end();
        (!signature.is_empty()).then(|| format!("-- \n{signature}"))
    }

    fn window_id(&self) -> Id {
        Id::unique(("herald-composer", self.id))
    }

    /// The composer's OS window.
    pub fn viewport_id(&self) -> egui::ViewportId {
        egui::ViewportId::from_hash_of(("herald-composer-window", self.id))
    }

    fn field_id(&self, name: &str) -> Id {
        self.window_id().with(name)
    }

    fn edited(&mut self) {
        self.generation += 1;
        self.last_edit = Instant::now();
        self.status = None;
    }

    fn is_busy_sending(&self) -> bool {
        matches!(
            self.phase,
            Phase::Composing(_)
                | Phase::Countdown { .. }
                | Phase::Sending
                | Phase::Sent
                | Phase::Closed
        )
    }

    /// Draws the composer; returns what the app must do.
    ///
    /// It is an immediate viewport, not a deferred one: a deferred
    /// viewport's callback must be `Send + Sync + 'static`, which would put
    /// the composer (its jobs, texture handles, dialogs) behind an
    /// `Arc<Mutex>` shared with the app and its actions behind a channel.
    /// Immediate viewports run inside the main window's frame with `&mut
    /// self`; their cost (the main window repaints whenever a composer does)
    /// is small for a few composers. Where viewports are embedded it draws
    /// the `egui::Window` it always drew, with the same close button.
    pub fn show(&mut self, ctx: &egui::Context) -> Vec<ComposerAction> {
        let mut actions = Vec::new();
        match self.phase {
            Phase::Sent => {
                self.phase = Phase::Closed;
                actions.push(ComposerAction::Closed { id: self.id });
                return actions;
            }
            Phase::Closed => return actions,
            _ => {}
        }
        self.poll_jobs(&mut actions);
        if std::mem::take(&mut self.close_asked) {
            self.request_close(&mut actions);
        }
        if ctx.embed_viewports() {
            self.show_embedded(ctx, &mut actions);
        } else {
            let builder = egui::ViewportBuilder::default()
                .with_title(self.title())
                .with_app_id("herald")
                .with_inner_size([760.0, 640.0])
                .with_min_inner_size([420.0, 320.0]);
            ctx.show_viewport_immediate(self.viewport_id(), builder, |ui, class| {
                // Inside, `ui.ctx()` reads this window's input and focus.
                let ctx = ui.ctx().clone();
                // A backend without multi-viewport support falls back to an
                // egui::Window of its own (without a close button).
                self.own_window = class != egui::ViewportClass::EmbeddedWindow;
                self.handle_input(&ctx);
                if ctx.input(|i| i.viewport().close_requested()) {
                    // The OS window stays open until the draft is stored:
                    // the app stops showing it on `Closed`.
                    self.request_close(&mut actions);
                }
                if self.own_window {
                    egui::CentralPanel::default().show(ui, |ui| self.contents_ui(ui, &mut actions));
                } else {
                    self.contents_ui(ui, &mut actions);
                }
            });
        }
        self.countdown_tick(ctx, &mut actions);
        self.autosave_tick(ctx, &mut actions);
        actions
    }

    /// The composer as an `egui::Window` inside the main window.
    fn show_embedded(&mut self, ctx: &egui::Context, actions: &mut Vec<ComposerAction>) {
        self.own_window = false;
        self.handle_input(ctx);
        let mut open = true;
        let response = egui::Window::new(self.title())
            .id(self.window_id())
            .open(&mut open)
            .default_size([760.0, 600.0])
            .min_width(420.0)
            .resizable(true)
            .collapsible(true)
            .show(ctx, |ui| self.contents_ui(ui, actions));
        if let Some(response) = response {
            self.window_rect = Some(response.response.rect);
            self.layer = Some(response.response.layer_id);
        }
        if !open {
            self.request_close(actions);
        }
    }

    // ----- jobs -------------------------------------------------------------

    fn poll_jobs(&mut self, actions: &mut Vec<ComposerAction>) {
        if let Some(job) = &mut self.opening
            && let Some(outcome) = job.try_take()
        {
            self.opening = None;
            match outcome {
                Ok(Ok(opened)) => self.apply_opened(opened),
                Ok(Err(message)) => {
                    self.problem = Some(format!("The draft could not be opened: {message}"))
                }
                Err(_) => self.problem = Some("The draft could not be opened.".to_owned()),
            }
        }
        let mut finished = Vec::new();
        self.loading.retain_mut(|job| match job.try_take() {
            Some(Ok(results)) => {
                finished.extend(results);
                false
            }
            Some(Err(_)) => {
                finished.push(LoadResult {
                    result: Err("a file could not be read".to_owned()),
                    place: Place::Attachment,
                });
                false
            }
            None => true,
        });
        for loaded in finished {
            self.add_loaded(loaded);
        }
        if let Some((generation, job)) = &mut self.save_job
            && let Some(outcome) = job.try_take()
        {
            let generation = *generation;
            self.save_job = None;
            match outcome {
                Ok(Ok(local_copy)) => {
                    self.saved_generation = generation;
                    self.awaiting_draft_id = true;
                    if let Some(account) = self.sender() {
                        actions.push(ComposerAction::SaveDraft {
                            account: account.name.clone(),
                            local_copy,
                            replaces_draft: self.draft_id,
                        });
                    }
                }
                Ok(Err(message)) => {
                    self.closing = false;
                    self.problem = Some(format!("The draft could not be saved: {message}"));
                }
                Err(_) => {
                    self.closing = false;
                    self.problem = Some("The draft could not be saved.".to_owned());
                }
            }
        }
        if let Phase::Composing(job) = &mut self.phase
            && let Some(outcome) = job.try_take()
        {
            match outcome {
                Ok(Ok(message)) => {
                    let secs = self.ctx.undo_send_secs;
                    self.phase = Phase::Countdown {
                        message: Box::new(message),
                        until: Instant::now() + Duration::from_secs(u64::from(secs)),
                    };
                }
                Ok(Err(message)) => {
                    self.phase = Phase::Editing;
                    self.problem = Some(format!("The message could not be prepared: {message}"));
                }
                Err(_) => {
                    self.phase = Phase::Editing;
                    self.problem = Some("The message could not be prepared.".to_owned());
                }
            }
        }
        if self.closing && self.save_job.is_none() {
            if !self.needs_saving() {
                // Everything is saved (or being stored by the app): done.
                actions.push(ComposerAction::Closed { id: self.id });
                self.phase = Phase::Closed;
            } else if !self.awaiting_draft_id {
                self.start_save();
            }
        }
    }

    fn apply_opened(&mut self, opened: OpenedDraft) {
        self.to = AddressField::with_addresses(&opened.to);
        self.cc = AddressField::with_addresses(&opened.cc);
        self.bcc = AddressField::with_addresses(&opened.bcc);
        self.show_cc = !opened.cc.is_empty();
        self.show_bcc = !opened.bcc.is_empty();
        self.subject = opened.subject;
        self.mode = opened.mode;
        self.body = opened.body;
        self.in_reply_to = opened.in_reply_to;
        self.references = opened.references;
        for file in opened.files {
            self.add_loaded(file);
        }
        // What was just opened is what is saved.
        self.saved_generation = self.generation;
    }

    fn add_loaded(&mut self, loaded: LoadResult) {
        let item = match loaded.result {
            Ok(item) => item,
            Err(message) => {
                self.problem = Some(message);
                return;
            }
        };
        let mut file = FileItem::new(item);
        match loaded.place {
            Place::Attachment => {}
            Place::InlineWithCid(cid) => file.content_id = Some(cid),
            Place::InlineAtCursor => {
                let email = self
                    .sender()
                    .map(|a| a.sender.email.clone())
                    .unwrap_or_default();
                let cid = herald_core::compose::new_content_id(&file.file.filename, &email);
                if self.mode == BodyMode::Plain {
                    self.mode = BodyMode::Rich;
                    self.notice = Some(
                        "The body is now rich text, so that the image can be shown in it."
                            .to_owned(),
                    );
                }
                let reference = self.image_reference(&file.file.filename, &cid);
                self.insert_at_cursor(&reference);
                file.content_id = Some(cid);
            }
        }
        self.files.push(file);
        self.edited();
    }

    fn image_reference(&self, filename: &str, cid: &str) -> String {
        match self.mode {
            BodyMode::HtmlSource => format!(
                "<img src=\"cid:{cid}\" alt=\"{}\">",
                html_attribute(filename)
            ),
            _ => format!("![{}](cid:{cid})", reply::escape_markdown(filename)),
        }
    }

    /// Inserts `text` at the body's cursor (its end when it never had one).
    fn insert_at_cursor(&mut self, text: &str) {
        let total = self.body.chars().count();
        let at = self
            .body_cursor
            .as_ref()
            .map_or(total, |range| range.end.min(total));
        markdown::replace_chars(&mut self.body, at, at, text);
        let end = at + text.chars().count();
        self.body_cursor = Some(end..end);
        self.set_body_cursor = Some((end..end, true));
    }
}

// ----- input, sending, saving -------------------------------------------------

impl Composer {
    fn my_text_ids(&self) -> [Id; 5] {
        ["to", "cc", "bcc", "subject", "body"].map(|name| self.field_id(name))
    }

    /// Is this composer where keyboard, paste and drop input should go?
    fn is_input_target(&self, ctx: &egui::Context, pos: Option<egui::Pos2>) -> bool {
        if self.own_window {
            // The input is that of this composer's own OS window.
            return true;
        }
        if let (Some(pos), Some(rect)) = (pos, self.window_rect) {
            return rect.contains(pos);
        }
        let focused = ctx.memory(|m| m.focused());
        focused.is_some_and(|id| self.my_text_ids().contains(&id))
            || (focused.is_none() && self.layer.is_some() && ctx.top_layer_id() == self.layer)
    }

    fn handle_input(&mut self, ctx: &egui::Context) {
        let focused = ctx.memory(|m| m.focused());
        // In its own window Ctrl+Enter sends wherever the focus is (a button,
        // nothing); embedded, only from its own fields.
        let mine = self.own_window || focused.is_some_and(|id| self.my_text_ids().contains(&id));
        if mine
            && matches!(self.phase, Phase::Editing)
            && ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::Enter))
        {
            self.start_send();
        }
        if self.is_busy_sending() || self.closing || self.opening.is_some() {
            return;
        }
        // Pasted images (egui 0.37 with eframe's `clipboard` feature sends
        // `PasteImage` when the clipboard holds an image and no text) and
        // pasted file URIs (what file managers put on the clipboard).
        let body_focused = focused == Some(self.field_id("body"));
        let mut pasted: Vec<Source> = Vec::new();
        if body_focused || (focused.is_none() && self.is_input_target(ctx, None)) {
            ctx.input_mut(|input| {
                input.events.retain(|event| match event {
                    egui::Event::PasteImage(image) => {
                        pasted.push(Source::Pasted(Arc::clone(image)));
                        false
                    }
                    egui::Event::Paste(text) if body_focused => match file_uris(text) {
                        Some(paths) => {
                            pasted.extend(paths.into_iter().map(Source::Path));
                            false
                        }
                        None => true,
                    },
                    _ => true,
                });
            });
        }
        if !pasted.is_empty() {
            let inline = self.mode != BodyMode::Plain;
            self.load_sources(pasted, |source| match source {
                Source::Pasted(_) => Place::InlineAtCursor,
                Source::Path(path) if inline && has_image_extension(&path.to_string_lossy()) => {
                    Place::InlineAtCursor
                }
                _ => Place::Attachment,
            });
        }
        let (dropped, pos) = ctx.input(|i| (i.raw.dropped_files.clone(), i.pointer.latest_pos()));
        if !dropped.is_empty() && self.is_input_target(ctx, pos) {
            let inline = self.mode != BodyMode::Plain;
            let sources = dropped.into_iter().map(Source::Dropped).collect();
            self.load_sources(sources, |source| match source {
                Source::Dropped(file)
                    if inline && has_image_extension(&file.path().to_string_lossy()) =>
                {
                    Place::InlineAtCursor
                }
                _ => Place::Attachment,
            });
        }
    }

    /// Reads files in a job; `place` says where each one goes.
    fn load_sources(&mut self, sources: Vec<Source>, place: impl Fn(&Source) -> Place) {
        let work: Vec<(Source, Place)> = sources
            .into_iter()
            .map(|source| {
                let place = place(&source);
                (source, place)
            })
            .collect();
        let job = Job::spawn("read-files", &self.ctx.waker, move || {
            work.into_iter()
                .map(|(source, place)| LoadResult {
                    result: files::load(source),
                    place,
                })
                .collect()
        });
        self.loading.push(job);
    }

    fn open_dialog(&mut self, images_only: bool) {
        let state = match self.ctx.dialogs.native_available() {
            Some(true) => {
                DialogState::Native(self.ctx.dialogs.open(DialogKind::OpenFiles { images_only }))
            }
            _ => DialogState::Prompt(
                self.ctx
                    .dialogs
                    .start_dir()
                    .map(|dir| PathPrompt::new(&dir.join("")))
                    .unwrap_or_default(),
            ),
        };
        self.dialog = Some((images_only, state));
    }

    fn dialog_answered(&mut self, images_only: bool, outcome: DialogOutcome) {
        self.dialog = None;
        let DialogOutcome::Chosen(paths) = outcome else {
            return;
        };
        let sources = paths.into_iter().map(Source::Path).collect();
        self.load_sources(sources, |_| {
            if images_only {
                Place::InlineAtCursor
            } else {
                Place::Attachment
            }
        });
    }

    /// Why sending cannot start at all.
    fn blocking_problem(&mut self) -> Option<String> {
        if self.sender().is_none() {
            return Some("There is no account to send from.".to_owned());
        }
        if self.opening.is_some() || !self.loading.is_empty() {
            return Some("Wait until the files have been read.".to_owned());
        }
        let mut problems = self.to.problems();
        problems.extend(self.cc.problems());
        problems.extend(self.bcc.problems());
        if !problems.is_empty() {
            return Some(format!("Fix the recipients first: {}", problems.join("; ")));
        }
        if self.to.addresses().is_empty()
            && self.cc.addresses().is_empty()
            && self.bcc.addresses().is_empty()
        {
            return Some("Add at least one recipient (To, Cc or Bcc).".to_owned());
        }
        None
    }

    /// What the user should confirm before sending.
    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.files.is_empty()
            && let Some(word) = checks::mentions_attachment(&self.reminder_text())
        {
            warnings.push(format!(
                "Forgot an attachment? The message mentions “{word}” but no file is attached."
            ));
        }
        if let Some(warning) = self.size_warning() {
            warnings.push(warning);
        }
        if self.subject.trim().is_empty() {
            warnings.push("The subject is empty.".to_owned());
        }
        warnings
    }

    fn reminder_text(&self) -> String {
        match self.mode {
            BodyMode::HtmlSource => herald_core::compose::plain_text_from_html(&self.body),
            BodyMode::Plain | BodyMode::Rich => self.body.clone(),
        }
    }

    fn encoded_size(&self) -> u64 {
        let files: u64 = self
            .files
            .iter()
            .map(|f| checks::base64_size(f.size()))
            .sum();
        // Body: the text and (for rich mail) the HTML, roughly twice the text.
        files + self.body.len() as u64 * 3
    }

    fn size_warning(&self) -> Option<String> {
        let limit = self.sender().and_then(|a| a.max_message_size_bytes);
        checks::size_warning(self.encoded_size(), limit)
    }

    fn start_send(&mut self) {
        if !matches!(self.phase, Phase::Editing | Phase::Confirm(_)) {
            return;
        }
        self.problem = None;
        if let Some(problem) = self.blocking_problem() {
            self.phase = Phase::Editing;
            self.problem = Some(problem);
            return;
        }
        let warnings = self.warnings();
        if warnings.is_empty() {
            self.compose_for_send();
        } else {
            self.phase = Phase::Confirm(warnings);
        }
    }

    fn compose_for_send(&mut self) {
        let Some((spec, _)) = self.spec(false) else {
            return;
        };
        self.send_failure = None;
        self.phase = Phase::Composing(Job::spawn("compose", &self.ctx.waker, move || {
            spec.into_draft()
                .compose()
                .map_err(|err| herald_core::error::describe(&err))
        }));
    }

    /// The HTML that is sent (and previewed): inline images the body does not
    /// reference are appended so that every one is shown.
    fn outgoing_html(&self) -> Option<String> {
        let mut html = match self.mode {
            BodyMode::Plain => return None,
            BodyMode::Rich => markdown::markdown_to_html(&self.body),
            BodyMode::HtmlSource => self.body.clone(),
        };
        for file in &self.files {
            if let Some(cid) = &file.content_id
                && !html.contains(&format!("cid:{cid}"))
            {
                html.push_str(&format!(
                    "<p><img src=\"cid:{cid}\" alt=\"{}\"></p>\n",
                    html_attribute(&file.file.filename)
                ));
            }
        }
        Some(html)
    }

    /// The draft to compose; `lenient` (drafts) keeps only valid addresses
    /// and, with no recipient, uses the sender as a placeholder `To` (the
    /// bool says so, and the saver removes it).
    fn spec(&mut self, lenient: bool) -> Option<(DraftSpec, bool)> {
        let from = self.sender()?.sender.clone();
        let mut to = self.to.addresses();
        let cc = self.cc.addresses();
        let bcc = self.bcc.addresses();
        let placeholder = lenient && to.is_empty() && cc.is_empty() && bcc.is_empty();
        if placeholder {
            to.push(from.clone());
        }
        let body = match self.outgoing_html() {
            None => DraftBodySpec::Plain(self.body.clone()),
            Some(html) => DraftBodySpec::Html(
                html,
                (self.mode == BodyMode::Rich).then(|| self.body.clone()),
            ),
        };
        let inline = self
            .files
            .iter()
            .filter_map(|f| f.content_id.clone().map(|cid| (Arc::clone(&f.file), cid)))
            .collect();
        let attachments = self
            .files
            .iter()
            .filter(|f| f.content_id.is_none())
            .map(|f| Arc::clone(&f.file))
            .collect();
        Some((
            DraftSpec {
                from,
                to,
                cc,
                bcc,
                subject: self.subject.clone(),
                body,
                inline,
                attachments,
                in_reply_to: self.in_reply_to.clone(),
                references: self.references.clone(),
            },
            placeholder,
        ))
    }

    fn has_content(&self) -> bool {
        let signature_only = self
            .signature_block()
            .map_or(String::new(), |s| format!("\n\n{s}"));
        !self.to.text.trim().is_empty()
            || !self.cc.text.trim().is_empty()
            || !self.bcc.text.trim().is_empty()
            || !self.subject.trim().is_empty()
            || (!self.body.trim().is_empty() && self.body.trim() != signature_only.trim())
            || !self.files.is_empty()
    }

    fn needs_saving(&self) -> bool {
        self.generation != self.saved_generation && (self.draft_id.is_some() || self.has_content())
    }

    fn start_save(&mut self) {
        if self.save_job.is_some() || self.awaiting_draft_id {
            return;
        }
        let Some((spec, placeholder)) = self.spec(true) else {
            self.closing = false;
            self.problem = Some("There is no account to keep the draft in.".to_owned());
            return;
        };
        let generation = self.generation;
        let job = Job::spawn("save-draft", &self.ctx.waker, move || {
            let composed = spec
                .into_draft()
                .compose()
                .map_err(|err| herald_core::error::describe(&err))?;
            Ok(if placeholder {
                herald_core::compose::remove_header_field(&composed.local_copy, b"to")
            } else {
                composed.local_copy
            })
        });
        self.save_job = Some((generation, job));
        self.status = Some("Saving draft…".to_owned());
    }

    fn autosave_tick(&mut self, ctx: &egui::Context, _actions: &mut [ComposerAction]) {
        let editing = matches!(self.phase, Phase::Editing | Phase::Confirm(_));
        if !editing || self.closing || self.opening.is_some() || !self.needs_saving() {
            return;
        }
        let elapsed = self.last_edit.elapsed();
        if elapsed >= self.ctx.autosave_after {
            if self.save_job.is_none() && !self.awaiting_draft_id {
                self.start_save();
            }
        } else {
            ctx.request_repaint_after(self.ctx.autosave_after - elapsed);
        }
    }

    fn countdown_tick(&mut self, ctx: &egui::Context, actions: &mut Vec<ComposerAction>) {
        let Phase::Countdown { until, .. } = &self.phase else {
            return;
        };
        let now = Instant::now();
        if now < *until || self.awaiting_draft_id {
            ctx.request_repaint_after(
                (*until - now)
                    .min(Duration::from_millis(250))
                    .max(Duration::from_millis(20)),
            );
            return;
        }
        let Phase::Countdown { message, .. } = std::mem::replace(&mut self.phase, Phase::Sending)
        else {
            return;
        };
        let Some(account) = self.sender().map(|a| a.name.clone()) else {
            self.phase = Phase::Editing;
            return;
        };
        let sent_id = message.message_id.clone();
        actions.push(ComposerAction::Send {
            account,
            message,
            replaces_draft: self.draft_id,
            replaces_outbox: self.failed_message_id.replace(sent_id),
        });
        // The sent message replaces the draft: nothing left to autosave.
        self.saved_generation = self.generation;
    }

    fn request_close(&mut self, actions: &mut Vec<ComposerAction>) {
        match self.phase {
            Phase::Countdown { .. } => {
                // Closing the window sends now rather than silently cancelling.
                if let Phase::Countdown { until, .. } = &mut self.phase {
                    *until = Instant::now();
                }
                self.closing = true;
                return;
            }
            Phase::Sending | Phase::Sent | Phase::Closed => {
                actions.push(ComposerAction::Closed { id: self.id });
                self.phase = Phase::Closed;
                return;
            }
            Phase::Composing(_) | Phase::Confirm(_) => self.phase = Phase::Editing,
            Phase::Editing => {}
        }
        if self.opening.is_some() {
            actions.push(ComposerAction::Closed { id: self.id });
            self.phase = Phase::Closed;
            return;
        }
        self.closing = true;
        if self.save_job.is_none() {
            if !self.needs_saving() {
                actions.push(ComposerAction::Closed { id: self.id });
                self.phase = Phase::Closed;
            } else if !self.awaiting_draft_id {
                self.start_save();
            }
        }
    }

    fn discard(&mut self, actions: &mut Vec<ComposerAction>) {
        if let (Some(local_id), Some(account)) = (self.draft_id, self.sender()) {
            actions.push(ComposerAction::DeleteDraft {
                account: account.name.clone(),
                local_id,
            });
        }
        actions.push(ComposerAction::Closed { id: self.id });
        self.phase = Phase::Closed;
    }

    fn set_mode(&mut self, mode: BodyMode) {
        if mode == self.mode {
            return;
        }
        let old = self.mode;
        self.body = match (old, mode) {
            (BodyMode::Rich, BodyMode::HtmlSource) => self.outgoing_html().unwrap_or_default(),
            (BodyMode::HtmlSource, _) => herald_core::compose::plain_text_from_html(&self.body),
            _ => std::mem::take(&mut self.body),
        };
        self.mode = mode;
        if mode == BodyMode::Plain {
            let mut moved = false;
            for file in &mut self.files {
                moved |= file.content_id.take().is_some();
            }
            if moved {
                self.notice =
                    Some("Plain text cannot show images: they are now attachments.".to_owned());
            }
        }
        self.set_body_cursor = None;
        self.body_cursor = None;
        self.edited();
    }

    fn set_account(&mut self, index: usize) {
        if index == self.account || index >= self.ctx.accounts.len() {
            return;
        }
        let old = self.signature_block();
        self.account = index;
        let new = self.signature_block();
        match (old, new) {
            (Some(old), new) if self.body.contains(&old) => {
                self.body = self.body.replacen(&old, &new.unwrap_or_default(), 1);
            }
            (None, Some(new)) if self.body.trim().is_empty() => self.body = format!("\n\n{new}"),
            _ => {}
        }
        self.edited();
    }

    fn make_attachment(&mut self, index: usize) {
        let Some(cid) = self.files.get_mut(index).and_then(|f| f.content_id.take()) else {
            return;
        };
        remove_image_reference(&mut self.body, self.mode, &cid);
        self.edited();
    }

    fn show_inline(&mut self, index: usize) {
        let email = self
            .sender()
            .map(|a| a.sender.email.clone())
            .unwrap_or_default();
        let Some(name) = self.files.get(index).map(|f| f.file.filename.clone()) else {
            return;
        };
        if self.mode == BodyMode::Plain {
            self.set_mode(BodyMode::Rich);
            self.notice =
                Some("The body is now rich text, so that the image can be shown in it.".to_owned());
        }
        let cid = herald_core::compose::new_content_id(&name, &email);
        let reference = self.image_reference(&name, &cid);
        self.insert_at_cursor(&reference);
        if let Some(file) = self.files.get_mut(index) {
            file.content_id = Some(cid);
        }
        self.edited();
    }

    fn remove_file(&mut self, index: usize) {
        if index >= self.files.len() {
            return;
        }
        let file = self.files.remove(index);
        if let Some(cid) = file.content_id {
            remove_image_reference(&mut self.body, self.mode, &cid);
        }
        self.edited();
    }

    fn apply_format(&mut self, format: Format) {
        let total = self.body.chars().count();
        let selection = self.body_cursor.clone().unwrap_or(total..total);
        let selection = markdown::apply_format(&mut self.body, selection, format);
        self.body_cursor = Some(selection.clone());
        self.set_body_cursor = Some((selection, true));
        self.edited();
    }
}

// ----- drawing ---------------------------------------------------------------

impl Composer {
    fn contents_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<ComposerAction>) {
        if self.opening.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Opening the draft…");
            });
            return;
        }
        let error = ui.visuals().error_fg_color;
        if let Some(failure) = self.send_failure.clone() {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.colored_label(error, RichText::new("The message was not sent").strong());
                ui.colored_label(error, failure);
                ui.label("It is kept in the Outbox. You can edit it here and send it again.");
            });
        }
        if let Some(problem) = self.problem.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.colored_label(error, problem);
                if ui.small_button("Dismiss").clicked() {
                    self.problem = None;
                }
            });
        }
        if let Some(notice) = self.notice.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(notice).weak());
                if ui.small_button("OK").clicked() {
                    self.notice = None;
                }
            });
        }

        egui::Panel::bottom(self.field_id("actions-panel"))
            .resizable(false)
            .show(ui, |ui| self.actions_ui(ui, actions));

        let editable = !self.is_busy_sending() && !self.closing;
        egui::ScrollArea::vertical()
            .id_salt(self.field_id("scroll"))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.add_enabled_ui(editable, |ui| {
                    self.header_ui(ui);
                    ui.separator();
                    self.body_ui(ui);
                    self.files_ui(ui);
                });
            });
    }

    fn header_ui(&mut self, ui: &mut egui::Ui) {
        const LABEL_WIDTH: f32 = 64.0;
        let row_label = |ui: &mut egui::Ui, text: &str| {
            ui.add_sized([LABEL_WIDTH, 20.0], egui::Label::new(text)).id
        };
        ui.horizontal(|ui| {
            let label = row_label(ui, "From");
            match self.ctx.accounts.len() {
                0 => {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        "No account is set up to send from.",
                    );
                }
                1 => {
                    ui.label(self.ctx.accounts[0].sender.to_string());
                }
                _ => {
                    let mut chosen = self.account;
                    let selected = self
                        .sender()
                        .map(|a| a.sender.to_string())
                        .unwrap_or_default();
                    let combo = egui::ComboBox::from_id_salt(self.field_id("from"))
                        .selected_text(selected)
                        .width(360.0)
                        .show_ui(ui, |ui| {
                            for (index, account) in self.ctx.accounts.iter().enumerate() {
                                ui.selectable_value(
                                    &mut chosen,
                                    index,
                                    format!("{} ({})", account.sender, account.name),
                                );
                            }
                        });
                    let _ = combo.response.labelled_by(label);
                    self.set_account(chosen);
                }
            }
        });
        let known = Arc::clone(&self.ctx.known_addresses);
        let mut changed = false;
        let (show_cc, show_bcc) = (self.show_cc, self.show_bcc);
        let mut reveal = (false, false);
        for (name, title) in [("to", "To"), ("cc", "Cc"), ("bcc", "Bcc")] {
            let shown = match name {
                "cc" => show_cc,
                "bcc" => show_bcc,
                _ => true,
            };
            if !shown {
                continue;
            }
            let id = self.field_id(name);
            ui.horizontal(|ui| {
                let label = row_label(ui, title);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if name == "to" {
                        if !show_bcc
                            && ui
                                .button("Bcc")
                                .on_hover_text("Add blind-copy recipients")
                                .clicked()
                        {
                            reveal.1 = true;
                        }
                        if !show_cc
                            && ui
                                .button("Cc")
                                .on_hover_text("Add copy recipients")
                                .clicked()
                        {
                            reveal.0 = true;
                        }
                    }
                    let field = match name {
                        "cc" => &mut self.cc,
                        "bcc" => &mut self.bcc,
                        _ => &mut self.to,
                    };
                    changed |= field.ui(ui, id, label, &known);
                });
            });
            let field = match name {
                "cc" => &mut self.cc,
                "bcc" => &mut self.bcc,
                _ => &mut self.to,
            };
            let focused = ui.memory(|m| m.has_focus(id));
            for problem in field.visible_problems(focused) {
                ui.horizontal(|ui| {
                    ui.add_space(LABEL_WIDTH + ui.spacing().item_spacing.x);
                    ui.colored_label(ui.visuals().error_fg_color, problem);
                });
            }
        }
        if reveal.0 {
            self.show_cc = true;
            ui.memory_mut(|m| m.request_focus(self.field_id("cc")));
        }
        if reveal.1 {
            self.show_bcc = true;
            ui.memory_mut(|m| m.request_focus(self.field_id("bcc")));
        }
        let subject_id = self.field_id("subject");
        ui.horizontal(|ui| {
            let label = row_label(ui, "Subject");
            let response = ui
                .add(
                    egui::TextEdit::singleline(&mut self.subject)
                        .id(subject_id)
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label);
            changed |= response.changed();
        });
        if changed {
            self.edited();
        }
    }

    fn body_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Format");
            let mut mode = self.mode;
            ui.selectable_value(&mut mode, BodyMode::Plain, "Plain text")
                .on_hover_text("Sent as plain text only");
            ui.selectable_value(&mut mode, BodyMode::Rich, "Rich text")
                .on_hover_text("Markdown-style formatting, sent as HTML with a plain-text copy");
            ui.selectable_value(&mut mode, BodyMode::HtmlSource, "HTML source")
                .on_hover_text("Write or paste HTML; a plain-text copy is made from it");
            self.set_mode(mode);
            if self.mode != BodyMode::Plain {
                ui.separator();
                ui.checkbox(&mut self.show_preview, "Preview");
            }
        });
        if self.mode == BodyMode::Rich {
            ui.horizontal_wrapped(|ui| {
                for format in Format::ALL {
                    if ui
                        .button(format.name())
                        .on_hover_text(format.hint())
                        .clicked()
                    {
                        self.apply_format(format);
                    }
                }
            });
        }
        let preview = self.show_preview && self.mode != BodyMode::Plain;
        if !preview {
            self.editor_ui(ui);
        } else if ui.available_width() >= 640.0 {
            ui.columns(2, |columns| {
                self.editor_ui(&mut columns[0]);
                self.preview_ui(&mut columns[1]);
            });
        } else {
            self.editor_ui(ui);
            self.preview_ui(ui);
        }
    }

    /// The body as recipients will see it. The HTML is made again only
    /// after an edit, and parsed again only when it changed.
    fn preview_ui(&mut self, ui: &mut egui::Ui) {
        if !self.preview.is_current(self.generation) {
            let html = self.outgoing_html().unwrap_or_default();
            self.preview
                .set_html(self.generation, html, &self.ctx.waker);
        }
        let window = self.window_id();
        let pictures = self
            .files
            .iter_mut()
            .enumerate()
            .filter_map(|(index, item)| {
                let content_id = item.content_id.clone()?;
                let name = format!("composer-preview-{window:?}-{index}-{}", item.file.filename);
                let texture = item.preview.texture(ui.ctx(), &name)?.clone();
                Some((content_id, texture))
            })
            .collect();
        self.preview.set_images(pictures);
        ui.label(RichText::new("Preview").strong());
        egui::Frame::group(ui.style()).show(ui, |ui| {
            self.preview.ui(ui, PREVIEW_HEIGHT, &self.ctx.waker);
        });
    }

    fn editor_ui(&mut self, ui: &mut egui::Ui) {
        let id = self.field_id("body");
        if let Some(field) = self.focus_first.take() {
            ui.memory_mut(|m| m.request_focus(field));
        }
        if let Some((range, focus)) = self.set_body_cursor.take() {
            let mut state = egui::TextEdit::load_state(ui.ctx(), id).unwrap_or_default();
            state.cursor.set_char_range(Some(CCursorRange::two(
                CCursor::new(range.start),
                CCursor::new(range.end),
            )));
            state.store(ui.ctx(), id);
            if focus {
                ui.memory_mut(|m| m.request_focus(id));
            }
        }
        let label = ui.label(RichText::new("Message").strong()).id;
        let mut editor = egui::TextEdit::multiline(&mut self.body)
            .id(id)
            .desired_rows(14)
            .desired_width(f32::INFINITY);
        if self.mode == BodyMode::HtmlSource {
            editor = editor.font(egui::TextStyle::Monospace);
        }
        let output = editor.show(ui);
        let response = output.response.response.labelled_by(label);
        if response.has_focus()
            && let Some(range) = output.cursor_range
        {
            let sorted = range.as_sorted_char_range();
            self.body_cursor = Some(sorted.start.0..sorted.end.0);
        }
        if response.changed() {
            self.edited();
        }
    }

    fn files_ui(&mut self, ui: &mut egui::Ui) {
        if !self.loading.is_empty() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading files…");
            });
        }
        let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
        if hovering {
            ui.label(
                RichText::new("Drop files here to attach them (images go into the message).")
                    .strong(),
            );
        }
        if self.files.is_empty() {
            return;
        }
        ui.separator();
        ui.label(RichText::new(format!("Files ({})", self.files.len())).strong());
        let mut todo: Option<(usize, FileChange)> = None;
        let window = self.window_id();
        for (index, item) in self.files.iter_mut().enumerate() {
            ui.horizontal(|ui| {
                let key = format!("composer-thumb-{window:?}-{index}-{}", item.file.filename);
                if let Some(texture) = item.thumbnail.texture(ui.ctx(), &key) {
                    let size = texture.size_vec2();
                    let scale = (files::THUMBNAIL_PX as f32 / size.x.max(size.y)).min(1.0);
                    ui.add(
                        egui::Image::new((texture.id(), size * scale))
                            .alt_text(format!("Thumbnail of {}", item.file.filename)),
                    )
                    .on_hover_text(&item.file.filename);
                }
                let inline = item.content_id.is_some();
                let name = &item.file.filename;
                ui.label(format!(
                    "{name} — {}{}",
                    format_size(item.size()),
                    if inline {
                        " — shown in the message"
                    } else {
                        ""
                    }
                ));
                // Each button's accessible name says which file it acts on.
                let mut button = |text: &str, label: String, change: FileChange| {
                    let button = ui.button(text);
                    button.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, &label)
                    });
                    if button.clicked() {
                        todo = Some((index, change));
                    }
                };
                if item.is_image && inline {
                    button(
                        "Make attachment",
                        format!("Make {name} an attachment"),
                        FileChange::MakeAttachment,
                    );
                } else if item.is_image {
                    button(
                        "Show inline",
                        format!("Show {name} in the message"),
                        FileChange::ShowInline,
                    );
                }
                button("Remove", format!("Remove {name}"), FileChange::Remove);
            });
        }
        match todo {
            Some((index, FileChange::MakeAttachment)) => self.make_attachment(index),
            Some((index, FileChange::ShowInline)) => self.show_inline(index),
            Some((index, FileChange::Remove)) => self.remove_file(index),
            None => {}
        }
        if let Some(warning) = self.size_warning() {
            ui.colored_label(ui.visuals().warn_fg_color, warning);
        }
    }

    fn actions_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<ComposerAction>) {
        ui.add_space(4.0);
        // A file prompt (no native dialog) or a native dialog's answer.
        if let Some((images_only, state)) = &mut self.dialog {
            let images_only = *images_only;
            let outcome = match state {
                DialogState::Native(pending) => pending.try_take(),
                DialogState::Prompt(prompt) => {
                    let what = if images_only {
                        "Image to insert"
                    } else {
                        "File to attach"
                    };
                    prompt.ui(ui, what)
                }
            };
            if let Some(outcome) = outcome {
                self.dialog_answered(images_only, outcome);
            }
        }
        match &self.phase {
            Phase::Confirm(warnings) => {
                let warnings = warnings.clone();
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    for warning in &warnings {
                        ui.colored_label(ui.visuals().warn_fg_color, warning);
                    }
                    ui.horizontal(|ui| {
                        if ui.button("Send anyway").clicked() {
                            self.compose_for_send();
                        }
                        if ui.button("Cancel").clicked() {
                            self.phase = Phase::Editing;
                        }
                    });
                });
            }
            Phase::Composing(_) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Preparing the message…");
                });
            }
            Phase::Countdown { until, .. } => {
                let left = until
                    .saturating_duration_since(Instant::now())
                    .as_secs_f32()
                    .ceil() as u64;
                ui.horizontal(|ui| {
                    ui.label(format!("Sending in {left} s"));
                    if ui.button("Undo").clicked() {
                        self.phase = Phase::Editing;
                        self.closing = false;
                    }
                });
            }
            Phase::Sending | Phase::Sent | Phase::Closed => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Sending…");
                });
            }
            Phase::Editing => {}
        }
        if self.closing {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Saving the draft before closing…");
            });
        }
        if self.confirm_discard {
            ui.horizontal(|ui| {
                ui.label("Discard this message? Its saved draft is deleted too.");
                if ui.button("Discard message").clicked() {
                    self.discard(actions);
                }
                if ui.button("Keep editing").clicked() {
                    self.confirm_discard = false;
                }
            });
        }
        let editing = matches!(self.phase, Phase::Editing) && !self.closing;
        ui.horizontal(|ui| {
            let send = ui
                .add_enabled(editing, egui::Button::new(RichText::new("Send").strong()))
                .on_hover_text("Ctrl+Enter");
            if send.clicked() {
                self.start_send();
            }
            ui.add_enabled_ui(editing, |ui| {
                if ui.button("Attach files…").clicked() {
                    self.open_dialog(false);
                }
                if ui.button("Insert image…").clicked() {
                    self.open_dialog(true);
                }
                if ui.button("Save draft").clicked() {
                    self.generation += 1;
                    self.start_save();
                }
                if ui.button("Discard").clicked() {
                    self.confirm_discard = true;
                }
            });
            if let Some(status) = &self.status {
                ui.label(RichText::new(status).weak());
            }
        });
    }
}

// ----- helpers ---------------------------------------------------------------

/// Reads a saved draft: a Markdown draft (its plain part renders to exactly
/// its HTML part) reopens as rich text, other HTML as HTML source.
fn open_draft(bytes: Vec<u8>) -> Result<OpenedDraft, String> {
    let message = Message::parse(bytes).map_err(|err| herald_core::error::describe(&err))?;
    let unix = |text: &str| text.replace("\r\n", "\n").trim_end().to_owned();
    let (mode, body) = match &message.html {
        Some(html) => {
            let text = unix(&message.text);
            if unix(&markdown::markdown_to_html(&text)) == unix(html) {
                (BodyMode::Rich, text)
            } else {
                (BodyMode::HtmlSource, unix(html))
            }
        }
        None => (BodyMode::Plain, unix(&message.text)),
    };
    let files = message
        .attachments
        .iter()
        .map(|attachment| {
            let cid = attachment
                .content_id
                .as_deref()
                .map(|id| id.trim_start_matches('<').trim_end_matches('>').to_owned())
                .filter(|id| !id.is_empty());
            let place = match cid {
                Some(cid) if attachment.inline && mode != BodyMode::Plain => {
                    Place::InlineWithCid(cid)
                }
                _ => Place::Attachment,
            };
            LoadResult {
                result: Ok(Loaded::new(DraftFile {
                    filename: attachment.filename.clone(),
                    content_type: Some(attachment.content_type.clone()),
                    bytes: message.decoded_body(attachment.part_index),
                })),
                place,
            }
        })
        .collect();
    let headers = message.headers;
    Ok(OpenedDraft {
        to: headers.to,
        cc: headers.cc,
        bcc: headers.bcc,
        subject: headers.subject.unwrap_or_default(),
        mode,
        body,
        files,
        in_reply_to: headers.in_reply_to.into_iter().next(),
        references: headers.references,
    })
}

/// Paths from pasted `file://` URIs (one per line), or `None` when the text
/// is anything else.
fn file_uris(text: &str) -> Option<Vec<PathBuf>> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() || !lines.iter().all(|line| line.starts_with("file://")) {
        return None;
    }
    lines
        .iter()
        .map(|line| {
            let path = line.trim_start_matches("file://");
            // `file://host/path`: only the local host (empty) is accepted.
            let path = if path.starts_with('/') {
                path
            } else {
                path.strip_prefix("localhost")?
            };
            Some(PathBuf::from(percent_decode(path)))
        })
        .collect()
}

fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Removes every reference to `cid` from the body: the Markdown image or the
/// HTML tag that holds it.
fn remove_image_reference(body: &mut String, mode: BodyMode, cid: &str) {
    let needle = format!("cid:{cid}");
    while let Some(at) = body.find(&needle) {
        let range = match mode {
            BodyMode::HtmlSource => body[..at]
                .rfind('<')
                .zip(body[at..].find('>').map(|end| at + end + 1)),
            BodyMode::Plain | BodyMode::Rich => body[..at]
                .rfind("![")
                .zip(body[at..].find(')').map(|end| at + end + 1)),
        };
        match range {
            Some((start, end)) => body.replace_range(start..end, ""),
            None => body.replace_range(at..at + needle.len(), ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_file_uris_become_paths() {
        assert_eq!(
            file_uris("file:///home/ann/My%20Photo.png\nfile:///tmp/b.txt\n"),
            Some(vec![
                PathBuf::from("/home/ann/My Photo.png"),
                PathBuf::from("/tmp/b.txt")
            ])
        );
        assert_eq!(file_uris("hello file:///x"), None);
        assert_eq!(file_uris("file://otherhost/x"), None);
    }

    #[test]
    fn image_references_are_removed() {
        let mut body = "a ![p\\[1\\]](cid:p.1@x) b ![q](cid:q@x)".to_owned();
        remove_image_reference(&mut body, BodyMode::Rich, "p.1@x");
        assert_eq!(body, "a  b ![q](cid:q@x)");
        let mut html = "<p>a<img src=\"cid:p@x\" alt=\"p\">b</p>".to_owned();
        remove_image_reference(&mut html, BodyMode::HtmlSource, "p@x");
        assert_eq!(html, "<p>ab</p>");
    }

    #[test]
    fn placeholder_to_is_removed_from_drafts() {
        let message = b"From: a@x\r\nTo: a@x,\r\n b@x\r\nSubject: s\r\n\r\nTo: body stays\r\n";
        assert_eq!(
            herald_core::compose::remove_header_field(message, b"to"),
            b"From: a@x\r\nSubject: s\r\n\r\nTo: body stays\r\n"
        );
    }
}
