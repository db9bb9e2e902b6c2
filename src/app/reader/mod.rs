//! The message reader: header, sender warnings, the body (HTML, plain text
//! or source), the MIME structure, remote-content consent, inline images
//! and attachments.
//!
//! [`ReaderView`] never blocks the UI thread: parsing the HTML, decoding
//! images, fetching remote images (only after the user asks), saving and
//! opening files all run in [`Job`]s that call the core; the view polls them
//! each frame and the waker repaints when one is done. It returns what the
//! window must do as [`ReaderAction`]s.

pub mod attachments;
pub mod header;
pub mod images;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::text::{LayoutJob, TextFormat};
use egui::{ColorImage, RichText, TextureOptions};
use herald_core::message::{Address, Attachment, Message};

use crate::app::bidi::{self, BidiText};
use crate::app::desktop::Desktop;
use crate::app::file_dialog::{DialogKind, DialogOutcome, FileDialogs, PathPrompt, PendingDialog};
use crate::app::fonts;
use crate::app::html_view::images::decode_mail_image;
use crate::app::html_view::{
    HtmlDocument, HtmlView, ImageSource, InlineImage, InlineImages, RemoteImages, cid_key,
};
use crate::app::jobs::{Job, Waker};
use crate::app::open_folders::OpenFolders;
use crate::app::text::{address_list, format_size, local_date_long};
use attachments::SaveReport;

/// The raw source view shows at most this much of the message.
pub const MAX_SOURCE_BYTES: usize = 4 * 1024 * 1024;
/// Longer source lines are cut on screen (the saved message is untouched).
const MAX_SOURCE_LINE_CHARS: usize = 4000;
/// The plain-text view shows at most this much text.
pub const MAX_PLAIN_BYTES: usize = 2 * 1024 * 1024;
/// At most this many `cid:`/`data:` images are decoded for one message.
const MAX_INLINE_IMAGES: usize = 200;
/// Remote images are fetched by this many jobs at once.
const FETCH_JOBS: usize = 4;

/// What the reader needs from the window.
#[derive(Clone)]
pub struct ReaderContext {
    /// The account the message belongs to (shown nowhere yet; for actions).
    pub account: String,
    /// The message's id in the account's store.
    pub message_id: i64,
    /// The user chose to always load remote content from this sender.
    pub remote_allowed_for_sender: bool,
    /// Repaints the window when background work finishes.
    pub waker: Waker,
    /// File dialogs (or the in-app path prompt when none exists).
    pub dialogs: FileDialogs,
    /// Opens attachments and links with the user's programs.
    pub desktop: Arc<dyn Desktop>,
    /// Where opened attachments are saved first (removed at exit).
    pub open_folders: OpenFolders,
}

impl std::fmt::Debug for ReaderContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderContext")
            .field("account", &self.account)
            .field("message_id", &self.message_id)
            .field("remote_allowed_for_sender", &self.remote_allowed_for_sender)
            .finish_non_exhaustive()
    }
}

/// What the window must do after a frame of the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderAction {
    /// Open the composer with a reply to the sender (or Reply-To).
    Reply,
    /// Open the composer with a reply to everyone.
    ReplyAll,
    /// Open the composer forwarding this message.
    Forward,
    /// Remember that remote content from this sender address may load.
    AlwaysAllowRemoteFrom(String),
    /// A sentence for the status bar.
    Status(String),
}

/// Which form of the body is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// The HTML part, drawn safely.
    Html,
    /// The plain-text body.
    Plain,
    /// The raw message bytes.
    Source,
}

type ImageResults = Vec<(String, Result<ColorImage, String>)>;

enum HtmlState {
    None,
    Parsing(Job<HtmlDocument>),
    Ready(Box<HtmlView>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RemoteState {
    Blocked,
    Allowed,
}

#[derive(Debug, Clone)]
enum DialogTarget {
    SaveOne(usize),
    SaveAll,
}

struct FileRequest {
    target: DialogTarget,
    pending: Option<PendingDialog>,
    prompt: Option<PathPrompt>,
}

enum Confirm {
    Link {
        url: String,
        warning: Option<String>,
    },
    OpenAttachment {
        index: usize,
        risk: String,
    },
}

enum Done {
    Saved { report: SaveReport, into: PathBuf },
    OpenedFile(Result<PathBuf, String>),
    OpenedLink(Result<String, String>),
}

struct SourceText {
    text: String,
    lines: Vec<Range<usize>>,
    cut: bool,
}

/// The reader for one message.
pub struct ReaderView {
    message: Arc<Message>,
    ctx: ReaderContext,
    mode: BodyMode,
    html: HtmlState,
    images: InlineImages,
    image_jobs: Vec<Job<ImageResults>>,
    remote: RemoteState,
    remote_failed: usize,
    listed: Vec<Attachment>,
    file_request: Option<FileRequest>,
    work: Vec<Job<Done>>,
    confirm: Option<Confirm>,
    saved_paths: Vec<PathBuf>,
    problems: Vec<String>,
    source: Option<SourceText>,
    hovered: Option<(String, Option<String>)>,
    sender_warnings: Vec<String>,
    images_drawn: usize,
    /// The subject, when it has right-to-left text.
    subject_bidi: Option<BidiText>,
    /// The plain-text body (at most [`MAX_PLAIN_BYTES`]), when it has
    /// right-to-left text.
    plain_bidi: Option<BidiText>,
}

impl std::fmt::Debug for ReaderView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderView")
            .field("ctx", &self.ctx)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl ReaderView {
    /// Opens `message`; its HTML is parsed in the background.
    pub fn new(message: Arc<Message>, ctx: ReaderContext) -> ReaderView {
        let html = match &message.html {
            Some(html) => {
                let html = html.clone();
                HtmlState::Parsing(Job::spawn("parse-html", &ctx.waker, move || {
                    HtmlDocument::parse(&html)
                }))
            }
            None => HtmlState::None,
        };
        let mode = if message.html.is_some() {
            BodyMode::Html
        } else {
            BodyMode::Plain
        };
        let listed = message
            .attachments
            .iter()
            .filter(|attachment| !attachment.inline)
            .cloned()
            .collect();
        let sender_warnings = header::sender_warnings(&message.headers);
        let subject_bidi = message
            .headers
            .subject
            .as_deref()
            .filter(|subject| bidi::needs_bidi(subject))
            .map(|subject| BidiText::new(subject.to_owned()));
        let plain = &message.text[..message.text.floor_char_boundary(MAX_PLAIN_BYTES)];
        let plain_bidi = bidi::needs_bidi(plain).then(|| BidiText::new(plain.to_owned()));
        ReaderView {
            message,
            ctx,
            mode,
            html,
            images: InlineImages::default(),
            image_jobs: Vec::new(),
            remote: RemoteState::Blocked,
            remote_failed: 0,
            listed,
            file_request: None,
            work: Vec::new(),
            confirm: None,
            saved_paths: Vec::new(),
            problems: Vec::new(),
            source: None,
            hovered: None,
            sender_warnings,
            images_drawn: 0,
            subject_bidi,
            plain_bidi,
        }
    }

    /// The message shown.
    pub fn message(&self) -> &Arc<Message> {
        &self.message
    }

    /// The local id given in the context.
    pub fn message_id(&self) -> i64 {
        self.ctx.message_id
    }

    /// Which form of the body is shown.
    pub fn mode(&self) -> BodyMode {
        self.mode
    }

    /// True while anything runs in the background (parse, decode, fetch,
    /// save, open) or a file dialog is open.
    pub fn is_busy(&self) -> bool {
        matches!(self.html, HtmlState::Parsing(_))
            || !self.image_jobs.is_empty()
            || !self.work.is_empty()
            || self
                .file_request
                .as_ref()
                .is_some_and(|request| request.pending.is_some())
    }

    /// How many inline or remote images are decoded and ready to draw.
    pub fn images_ready(&self) -> usize {
        self.images.ready_count()
    }

    /// How many images the body drew from textures in the last frame.
    pub fn images_drawn(&self) -> usize {
        self.images_drawn
    }

    /// The parsed HTML, once ready.
    pub fn html_document(&self) -> Option<&HtmlDocument> {
        match &self.html {
            HtmlState::Ready(view) => Some(view.document()),
            _ => None,
        }
    }

    /// Draws the reader; returns what the window must do.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Vec<ReaderAction> {
        let mut actions = Vec::new();
        self.poll(ui.ctx(), &mut actions);
        self.toolbar_ui(ui, &mut actions);
        ui.separator();
        self.header_ui(ui);
        if self.mode == BodyMode::Html {
            self.remote_bar_ui(ui, &mut actions);
        }
        self.attachments_ui(ui);
        self.file_request_ui(ui);
        self.results_ui(ui);
        self.structure_ui(ui);
        ui.separator();
        self.body_ui(ui);
        self.confirm_ui(ui.ctx());
        actions
    }

    fn poll(&mut self, ctx: &egui::Context, actions: &mut Vec<ReaderAction>) {
        if let HtmlState::Parsing(job) = &mut self.html
            && let Some(result) = job.try_take()
        {
            match result {
                Ok(doc) => {
                    let doc = Arc::new(doc);
                    self.start_inline_images(&doc);
                    let salt = ("reader-html", self.ctx.message_id);
                    self.html = HtmlState::Ready(Box::new(HtmlView::new(Arc::clone(&doc), salt)));
                    if self.ctx.remote_allowed_for_sender {
                        self.load_remote();
                    }
                }
                Err(_) => {
                    self.html = HtmlState::None;
                    self.mode = BodyMode::Plain;
                    self.problems
                        .push("The HTML could not be shown; showing the plain text.".into());
                }
            }
        }
        let mut finished = Vec::new();
        self.image_jobs.retain_mut(|job| match job.try_take() {
            Some(Ok(results)) => {
                finished.extend(results);
                false
            }
            Some(Err(_)) => false,
            None => true,
        });
        for (key, result) in finished {
            let image = match result {
                Ok(pixels) => InlineImage::Ready(ctx.load_texture(
                    format!("herald-mail-image {key}"),
                    pixels,
                    TextureOptions::LINEAR,
                )),
                Err(reason) => {
                    if !key.starts_with("cid:") && !key.starts_with("data:") {
                        self.remote_failed += 1;
                    }
                    InlineImage::Failed(reason)
                }
            };
            self.images.insert(key, image);
        }
        if let Some(request) = &mut self.file_request
            && let Some(pending) = &request.pending
            && let Some(outcome) = pending.try_take()
        {
            request.pending = None;
            let target = request.target.clone();
            self.file_request = None;
            if let DialogOutcome::Chosen(paths) = outcome
                && let Some(path) = paths.into_iter().next()
            {
                self.run_save(target, path);
            }
        }
        let mut done = Vec::new();
        self.work.retain_mut(|job| match job.try_take() {
            Some(result) => {
                done.push(result);
                false
            }
            None => true,
        });
        for result in done {
            match result {
                Ok(done) => self.finish(done, actions),
                Err(_) => self
                    .problems
                    .push("A background task failed unexpectedly.".into()),
            }
        }
    }

    fn finish(&mut self, done: Done, actions: &mut Vec<ReaderAction>) {
        match done {
            Done::Saved { report, into } => {
                let count = report.saved.len();
                if count > 0 {
                    let files = if count == 1 { "file" } else { "files" };
                    let folder = report
                        .saved
                        .first()
                        .and_then(|saved| saved.path.parent())
                        .map_or_else(|| into.display().to_string(), |p| p.display().to_string());
                    actions.push(ReaderAction::Status(format!(
                        "Saved {count} {files} to {folder}"
                    )));
                }
                self.saved_paths = report.saved.into_iter().map(|saved| saved.path).collect();
                if !report.failed.is_empty() {
                    actions.push(ReaderAction::Status(format!(
                        "{} attachment(s) could not be saved",
                        report.failed.len()
                    )));
                }
                self.problems = report.failed;
            }
            Done::OpenedFile(Ok(path)) => {
                actions.push(ReaderAction::Status(format!("Opened {}", path.display())))
            }
            Done::OpenedLink(Ok(url)) => {
                actions.push(ReaderAction::Status(format!("Opened {url} in the browser")));
            }
            Done::OpenedFile(Err(problem)) | Done::OpenedLink(Err(problem)) => {
                actions.push(ReaderAction::Status(problem.clone()));
                self.problems = vec![problem];
            }
        }
    }

    /// Decodes the `cid:` parts and `data:` images the HTML shows.
    fn start_inline_images(&mut self, doc: &HtmlDocument) {
        let mut work: Vec<(String, InlineSource)> = Vec::new();
        for content_id in &doc.cid_refs {
            let part = self
                .message
                .parts
                .iter()
                .position(|part| part.content_id.as_deref() == Some(content_id.as_str()))
                .or_else(|| {
                    self.message.parts.iter().position(|part| {
                        part.content_id
                            .as_deref()
                            .is_some_and(|id| id.eq_ignore_ascii_case(content_id))
                    })
                });
            if let Some(part) = part {
                work.push((cid_key(content_id), InlineSource::Part(part)));
            }
        }
        for (index, image) in doc.images.iter().enumerate() {
            if let ImageSource::Data(bytes) = &image.source {
                work.push((
                    format!("data:#{index}"),
                    InlineSource::Bytes(Arc::clone(bytes)),
                ));
            }
        }
        work.truncate(MAX_INLINE_IMAGES);
        if work.is_empty() {
            return;
        }
        for (key, _) in &work {
            self.images.insert(key.clone(), InlineImage::Loading);
        }
        let message = Arc::clone(&self.message);
        self.image_jobs
            .push(Job::spawn("decode-images", &self.ctx.waker, move || {
                work.into_iter()
                    .map(|(key, source)| {
                        let result = match source {
                            InlineSource::Part(part) => {
                                decode_mail_image(&message.decoded_body(part))
                            }
                            InlineSource::Bytes(bytes) => decode_mail_image(&bytes),
                        };
                        (key, result)
                    })
                    .collect()
            }));
    }

    /// Fetches the document's remote images (never tracking pixels: they
    /// are not in the document).
    fn load_remote(&mut self) {
        self.remote = RemoteState::Allowed;
        let HtmlState::Ready(view) = &self.html else {
            return;
        };
        let mut urls = view.document().fetchable_remote_images();
        urls.truncate(images::MAX_REMOTE_IMAGES);
        urls.retain(|url| self.images.get(url).is_none());
        if urls.is_empty() {
            return;
        }
        for url in &urls {
            self.images.insert(url.clone(), InlineImage::Loading);
        }
        let per_job = urls.len().div_ceil(FETCH_JOBS);
        for chunk in urls.chunks(per_job.max(1)) {
            let chunk = chunk.to_vec();
            self.image_jobs
                .push(Job::spawn("fetch-images", &self.ctx.waker, move || {
                    let agent = images::remote_agent();
                    chunk
                        .into_iter()
                        .map(|url| {
                            let result = images::fetch_image(&agent, &url);
                            (url, result)
                        })
                        .collect()
                }));
        }
    }

    fn toolbar_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<ReaderAction>) {
        ui.horizontal_wrapped(|ui| {
            if ui.button("Reply").clicked() {
                actions.push(ReaderAction::Reply);
            }
            if ui.button("Reply all").clicked() {
                actions.push(ReaderAction::ReplyAll);
            }
            if ui.button("Forward").clicked() {
                actions.push(ReaderAction::Forward);
            }
            ui.separator();
            let has_html = self.message.html.is_some();
            ui.add_enabled_ui(has_html, |ui| {
                ui.selectable_value(&mut self.mode, BodyMode::Html, "HTML")
                    .on_disabled_hover_text("This message has no HTML part");
            });
            ui.selectable_value(&mut self.mode, BodyMode::Plain, "Plain text");
            ui.selectable_value(&mut self.mode, BodyMode::Source, "View source");
        });
    }

    fn header_ui(&mut self, ui: &mut egui::Ui) {
        let headers = &self.message.headers;
        let subject = headers
            .subject
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("(no subject)");
        let heading = fonts::bold(ui.ctx(), egui::TextStyle::Heading.resolve(ui.style()));
        match &mut self.subject_bidi {
            Some(bidi) => {
                let color = ui.visuals().strong_text_color();
                bidi.ui(ui, &heading, color, None);
            }
            None => {
                let subject = RichText::new(subject).font(heading).strong();
                ui.add(egui::Label::new(subject).wrap());
            }
        }
        egui::Grid::new(("reader-header", self.ctx.message_id))
            .num_columns(2)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                // The accessible label is the text as written, also where
                // right-to-left names are shown in visual order.
                let row = |ui: &mut egui::Ui, name: &str, value: egui::WidgetText, said: &str| {
                    ui.label(RichText::new(name).weak());
                    ui.add(egui::Label::new(value).wrap().selectable(true))
                        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, said));
                    ui.end_row();
                };
                if headers.from.is_empty() {
                    row(ui, "From", "(no sender)".into(), "(no sender)");
                } else {
                    let said = address_list(&headers.from);
                    row(ui, "From", senders_text(ui, &headers.from).into(), &said);
                }
                for (name, list) in [
                    ("To", &headers.to),
                    ("Cc", &headers.cc),
                    ("Bcc", &headers.bcc),
                    ("Reply-To", &headers.reply_to),
                ] {
                    if !list.is_empty() {
                        let said = address_list(list);
                        row(ui, name, addresses_text(ui, list).into(), &said);
                    }
                }
                let date = headers
                    .date_unix
                    .map(local_date_long)
                    .filter(|date| !date.is_empty())
                    .unwrap_or_else(|| "(no date)".to_owned());
                row(ui, "Date", date.clone().into(), &date);
            });
        let warn = ui.visuals().warn_fg_color;
        for warning in &self.sender_warnings {
            ui.colored_label(warn, format!("Warning: {warning}"));
        }
        for warning in &self.message.warnings {
            ui.label(RichText::new(format!("Note: {}", warning.message)).weak());
        }
    }

    fn remote_bar_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<ReaderAction>) {
        let HtmlState::Ready(view) = &self.html else {
            return;
        };
        let doc = view.document();
        let (remote_refs, tracking_pixels) = (doc.remote_refs, doc.tracking_pixels);
        if remote_refs == 0 {
            return;
        }
        let fetchable = doc.fetchable_remote_images().len();
        let sender = self.message.headers.from.first().map(|a| a.email.clone());
        let mut load = false;
        let frame = egui::Frame::group(ui.style()).fill(ui.visuals().faint_bg_color);
        frame.show(ui, |ui| {
            ui.set_width(ui.available_width());
            match self.remote {
                RemoteState::Blocked => {
                    let noun = if remote_refs == 1 {
                        "remote image/resource"
                    } else {
                        "remote images/resources"
                    };
                    ui.label(format!(
                        "Herald blocked {remote_refs} {noun} to protect your privacy."
                    ));
                    ui.horizontal_wrapped(|ui| {
                        if ui
                            .add_enabled(fetchable > 0, egui::Button::new("Load once"))
                            .clicked()
                        {
                            load = true;
                        }
                        if let Some(sender) = &sender
                            && ui
                                .add_enabled(
                                    fetchable > 0,
                                    egui::Button::new(format!("Always for {sender}")),
                                )
                                .clicked()
                        {
                            actions.push(ReaderAction::AlwaysAllowRemoteFrom(sender.clone()));
                            load = true;
                        }
                    });
                }
                RemoteState::Allowed => {
                    let others = remote_refs.saturating_sub(fetchable);
                    let mut text = format!("Remote images allowed for this message ({fetchable}");
                    text.push_str(if fetchable == 1 { " image" } else { " images" });
                    if self.remote_failed > 0 {
                        text.push_str(&format!(", {} could not be loaded", self.remote_failed));
                    }
                    text.push_str(").");
                    if others > 0 {
                        text.push_str(&format!(
                            " {others} other remote resource(s) (styles, frames) are never loaded."
                        ));
                    }
                    ui.label(text);
                }
            }
            if tracking_pixels > 0 {
                ui.label(
                    RichText::new(format!(
                        "{tracking_pixels} tracking pixel(s) removed; they are never loaded."
                    ))
                    .weak(),
                );
            }
        });
        if load {
            self.load_remote();
        }
    }

    fn attachments_ui(&mut self, ui: &mut egui::Ui) {
        if self.listed.is_empty() {
            return;
        }
        let busy = self.file_request.is_some();
        let mut clicked: Option<(usize, bool)> = None;
        let mut save_all = false;
        let count = self.listed.len();
        let icon_size = ui.text_style_height(&egui::TextStyle::Body) * 1.2;
        egui::CollapsingHeader::new(format!(
            "{count} attachment{}",
            if count == 1 { "" } else { "s" }
        ))
        .id_salt(("reader-attachments", self.ctx.message_id))
        .default_open(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt(("reader-attachment-list", self.ctx.message_id))
                .max_height(160.0)
                .show(ui, |ui| {
                    for (index, attachment) in self.listed.iter().enumerate() {
                        ui.horizontal(|ui| {
                            let (icon, kind) =
                                attachments::icon(&attachment.content_type, &attachment.filename);
                            ui.label(RichText::new(icon).size(icon_size))
                                .on_hover_text(kind);
                            ui.label(RichText::new(&attachment.filename).strong());
                            ui.label(
                                RichText::new(format!(
                                    "{} · {}",
                                    attachment.content_type,
                                    format_size(attachment.size_bytes)
                                ))
                                .weak(),
                            );
                            ui.add_enabled_ui(!busy, |ui| {
                                if ui
                                    .button("Save")
                                    .on_hover_text(format!("Save {}", attachment.filename))
                                    .clicked()
                                {
                                    clicked = Some((index, false));
                                }
                                if ui
                                    .button("Open")
                                    .on_hover_text(format!(
                                        "Open {} with its program",
                                        attachment.filename
                                    ))
                                    .clicked()
                                {
                                    clicked = Some((index, true));
                                }
                            });
                        });
                    }
                });
            ui.add_enabled_ui(!busy, |ui| {
                if ui.button("Save all").clicked() {
                    save_all = true;
                }
            });
        });
        if save_all {
            self.request_file(DialogTarget::SaveAll);
        }
        match clicked {
            Some((index, false)) => self.request_file(DialogTarget::SaveOne(index)),
            Some((index, true)) => self.open_attachment(index, false),
            None => {}
        }
    }

    fn request_file(&mut self, target: DialogTarget) {
        let start = self
            .ctx
            .dialogs
            .start_dir()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let (kind, initial) = match &target {
            DialogTarget::SaveOne(index) => {
                let name = self
                    .listed
                    .get(*index)
                    .map_or_else(|| "attachment".to_owned(), |a| a.filename.clone());
                (
                    DialogKind::SaveFile {
                        suggested_name: name.clone(),
                    },
                    start.join(name),
                )
            }
            DialogTarget::SaveAll => (DialogKind::PickFolder, start),
        };
        let request = if self.ctx.dialogs.native_available() == Some(true) {
            FileRequest {
                target,
                pending: Some(self.ctx.dialogs.open(kind)),
                prompt: None,
            }
        } else {
            FileRequest {
                target,
                pending: None,
                prompt: Some(PathPrompt::new(&initial)),
            }
        };
        self.file_request = Some(request);
    }

    fn file_request_ui(&mut self, ui: &mut egui::Ui) {
        let Some(request) = &mut self.file_request else {
            return;
        };
        let label = match &request.target {
            DialogTarget::SaveOne(index) => format!(
                "Save “{}” as:",
                self.listed
                    .get(*index)
                    .map_or("the attachment", |a| a.filename.as_str())
            ),
            DialogTarget::SaveAll => format!(
                "Save all {} attachments into the folder:",
                self.listed.len()
            ),
        };
        let outcome = if let Some(prompt) = &mut request.prompt {
            let frame = egui::Frame::group(ui.style());
            frame.show(ui, |ui| prompt.ui(ui, &label)).inner
        } else {
            ui.label(RichText::new("Waiting for the file dialog…").weak());
            None
        };
        match outcome {
            Some(DialogOutcome::Chosen(paths)) => {
                let target = request.target.clone();
                self.file_request = None;
                if let Some(path) = paths.into_iter().next() {
                    self.run_save(target, path);
                }
            }
            Some(DialogOutcome::Cancelled) => self.file_request = None,
            None => {}
        }
    }

    fn run_save(&mut self, target: DialogTarget, path: PathBuf) {
        let message = Arc::clone(&self.message);
        let job = match target {
            DialogTarget::SaveOne(index) => {
                let Some(attachment) = self.listed.get(index).cloned() else {
                    return;
                };
                Job::spawn("save-attachment", &self.ctx.waker, move || {
                    // A folder typed into the prompt means "into this folder".
                    let report = if path.is_dir() {
                        attachments::save_all(&message, std::slice::from_ref(&attachment), &path)
                    } else {
                        attachments::save_as(&message, &attachment, &path)
                    };
                    Done::Saved { report, into: path }
                })
            }
            DialogTarget::SaveAll => {
                let list = self.listed.clone();
                Job::spawn("save-attachments", &self.ctx.waker, move || Done::Saved {
                    report: attachments::save_all(&message, &list, &path),
                    into: path,
                })
            }
        };
        self.saved_paths.clear();
        self.problems.clear();
        self.work.push(job);
    }

    fn open_attachment(&mut self, index: usize, confirmed: bool) {
        let Some(attachment) = self.listed.get(index).cloned() else {
            return;
        };
        if !confirmed && let Some(risk) = attachments::open_risk(&attachment) {
            self.confirm = Some(Confirm::OpenAttachment { index, risk });
            return;
        }
        let message = Arc::clone(&self.message);
        let folders = self.ctx.open_folders.clone();
        let desktop = Arc::clone(&self.ctx.desktop);
        self.work
            .push(Job::spawn("open-attachment", &self.ctx.waker, move || {
                Done::OpenedFile(attachments::open_with_system(
                    &message,
                    &attachment,
                    &folders,
                    desktop.as_ref(),
                ))
            }));
    }

    fn results_ui(&mut self, ui: &mut egui::Ui) {
        if !self.work.is_empty() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Working…");
            });
        }
        if !self.saved_paths.is_empty() {
            ui.label("Saved:");
            for path in &self.saved_paths {
                ui.add(
                    egui::Label::new(RichText::new(path.display().to_string()).monospace())
                        .selectable(true),
                );
            }
        }
        let error = ui.visuals().error_fg_color;
        for problem in &self.problems {
            ui.colored_label(error, problem);
        }
    }

    fn structure_ui(&mut self, ui: &mut egui::Ui) {
        let parts = &self.message.parts;
        egui::CollapsingHeader::new(format!("Structure ({} parts)", parts.len()))
            .id_salt(("reader-structure", self.ctx.message_id))
            .default_open(false)
            .show(ui, |ui| {
                egui::ScrollArea::both()
                    .id_salt(("reader-structure-list", self.ctx.message_id))
                    .max_height(200.0)
                    .show(ui, |ui| {
                        egui::Grid::new(("reader-structure-grid", self.ctx.message_id))
                            .striped(true)
                            .num_columns(5)
                            .show(ui, |ui| {
                                for title in ["Part", "Type", "Size", "Name", "Content-ID"] {
                                    ui.label(RichText::new(title).strong());
                                }
                                ui.end_row();
                                for part in parts {
                                    ui.horizontal(|ui| {
                                        ui.add_space(part.depth as f32 * 12.0);
                                        ui.label(RichText::new(&part.path).monospace());
                                    });
                                    let mut kind = part.content_type.clone();
                                    if let Some(charset) = &part.charset {
                                        kind.push_str(&format!("; {charset}"));
                                    }
                                    if part.is_body {
                                        kind.push_str(" (body)");
                                    }
                                    ui.label(kind);
                                    ui.label(format_size(part.size_bytes));
                                    ui.label(part.filename.as_deref().unwrap_or(""));
                                    ui.label(part.content_id.as_deref().unwrap_or(""));
                                    ui.end_row();
                                }
                            });
                    });
            });
    }

    fn body_ui(&mut self, ui: &mut egui::Ui) {
        let status_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        let body_height = (ui.available_height() - status_height).max(80.0);
        let width = ui.available_width();
        self.images_drawn = 0;
        let mut clicked_link = None;
        let mut hovered = None;
        ui.allocate_ui(egui::vec2(width, body_height), |ui| match self.mode {
            BodyMode::Html => match &mut self.html {
                HtmlState::Ready(view) => {
                    let remote = match self.remote {
                        RemoteState::Blocked => RemoteImages::Blocked,
                        RemoteState::Allowed => RemoteImages::Allowed,
                    };
                    let response = view.ui(ui, &self.images, remote);
                    self.images_drawn = response.images_drawn;
                    clicked_link = response.link_clicked;
                    hovered = response
                        .hovered_link
                        .map(|link| (link, response.hovered_warning));
                }
                HtmlState::Parsing(_) => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Preparing the message…");
                    });
                }
                HtmlState::None => {
                    ui.label("This message has no HTML part.");
                }
            },
            BodyMode::Plain => {
                let text = &self.message.text;
                let end = text.floor_char_boundary(MAX_PLAIN_BYTES);
                let cut = |ui: &mut egui::Ui| {
                    if end < text.len() {
                        ui.label(RichText::new("(The rest of the text is not shown.)").weak());
                    }
                };
                let scroll = egui::ScrollArea::vertical()
                    .id_salt(("reader-plain", self.ctx.message_id))
                    .auto_shrink([false, false]);
                match &mut self.plain_bidi {
                    // Right-to-left lines: laid out by `bidi`, only the
                    // blocks in view are drawn.
                    Some(bidi) => {
                        scroll.show_viewport(ui, |ui, viewport| {
                            let font = egui::TextStyle::Body.resolve(ui.style());
                            let color = ui.visuals().text_color();
                            bidi.ui(ui, &font, color, Some(viewport));
                            cut(ui);
                        });
                    }
                    None => {
                        scroll.show(ui, |ui| {
                            if text.trim().is_empty() {
                                ui.label(RichText::new("(This message has no text.)").weak());
                            } else {
                                ui.add(egui::Label::new(&text[..end]).selectable(true).wrap());
                                cut(ui);
                            }
                        });
                    }
                }
            }
            BodyMode::Source => self.source_ui(ui),
        });
        self.hovered = hovered;
        match &self.hovered {
            Some((url, warning)) => {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("Link goes to: {url}")).monospace());
                    if let Some(warning) = warning {
                        ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {warning}"));
                    }
                });
            }
            None => {
                ui.add_space(status_height);
            }
        }
        if let Some(url) = clicked_link {
            let warning = self.html_document().and_then(|doc| {
                doc.links
                    .iter()
                    .find(|link| link.href == url)
                    .and_then(|link| link.warning.clone())
            });
            self.confirm = Some(Confirm::Link { url, warning });
        }
    }

    fn source_ui(&mut self, ui: &mut egui::Ui) {
        let source = self.source.get_or_insert_with(|| {
            let raw = self.message.raw();
            let cut = raw.len() > MAX_SOURCE_BYTES;
            let text =
                String::from_utf8_lossy(&raw[..raw.len().min(MAX_SOURCE_BYTES)]).into_owned();
            let mut lines = Vec::new();
            let mut start = 0;
            for (pos, byte) in text.bytes().enumerate() {
                if byte == b'\n' {
                    lines.push(start..pos);
                    start = pos + 1;
                }
            }
            if start < text.len() {
                lines.push(start..text.len());
            }
            SourceText { text, lines, cut }
        });
        if source.cut {
            ui.label(
                RichText::new(format!(
                    "Showing the first {} MB of {} MB.",
                    MAX_SOURCE_BYTES / (1024 * 1024),
                    self.message.raw().len().div_ceil(1024 * 1024)
                ))
                .weak(),
            );
        }
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        egui::ScrollArea::both()
            .id_salt(("reader-source", self.ctx.message_id))
            .auto_shrink([false, false])
            .show_rows(ui, row_height, source.lines.len(), |ui, rows| {
                for row in rows {
                    let Some(range) = source.lines.get(row) else {
                        continue;
                    };
                    let line = source.text[range.clone()].trim_end_matches('\r');
                    let end = line.floor_char_boundary(MAX_SOURCE_LINE_CHARS);
                    let shown = line[..end].replace('\t', "    ");
                    ui.add(
                        egui::Label::new(RichText::new(shown).monospace())
                            .extend()
                            .selectable(true),
                    );
                }
            });
    }

    fn confirm_ui(&mut self, ctx: &egui::Context) {
        let Some(confirm) = &self.confirm else {
            return;
        };
        let mut decision: Option<bool> = None;
        let modal = egui::Modal::new(egui::Id::unique((
            "herald-reader-confirm",
            self.ctx.message_id,
        )));
        let response = modal.show(ctx, |ui| {
            ui.set_max_width(480.0);
            match confirm {
                Confirm::Link { url, warning } => {
                    ui.heading("Open this link?");
                    ui.label("It will open in your browser:");
                    ui.add(egui::Label::new(RichText::new(url).monospace()).wrap());
                    if let Some(warning) = warning {
                        ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {warning}"));
                    }
                    ui.horizontal(|ui| {
                        if ui.button("Open link").clicked() {
                            decision = Some(true);
                        }
                        if ui.button("Cancel").clicked() {
                            decision = Some(false);
                        }
                    });
                }
                Confirm::OpenAttachment { risk, .. } => {
                    ui.heading("Open a possibly dangerous file?");
                    ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {risk}"));
                    ui.horizontal(|ui| {
                        if ui.button("Open anyway").clicked() {
                            decision = Some(true);
                        }
                        if ui.button("Cancel").clicked() {
                            decision = Some(false);
                        }
                    });
                }
            }
        });
        if response.should_close() && decision.is_none() {
            decision = Some(false);
        }
        let Some(accepted) = decision else {
            return;
        };
        let Some(confirm) = self.confirm.take() else {
            return;
        };
        if !accepted {
            return;
        }
        match confirm {
            Confirm::Link { url, .. } => {
                if crate::app::html_view::url::is_openable(&url) {
                    let desktop = Arc::clone(&self.ctx.desktop);
                    self.work
                        .push(Job::spawn("open-link", &self.ctx.waker, move || {
                            Done::OpenedLink(
                                desktop
                                    .open_url(&url)
                                    .map(|()| url.clone())
                                    .map_err(|err| format!("could not open {url}: {err}")),
                            )
                        }));
                }
            }
            Confirm::OpenAttachment { index, .. } => self.open_attachment(index, true),
        }
    }
}

/// The senders with their names in bold, each followed by the real address
/// (like [`address_list`]; an address without a name is bold itself).
fn senders_text(ui: &egui::Ui, senders: &[Address]) -> LayoutJob {
    let body = egui::TextStyle::Body.resolve(ui.style());
    let name_format = TextFormat::simple(
        fonts::bold(ui.ctx(), body.clone()),
        ui.visuals().strong_text_color(),
    );
    let address_format = TextFormat::simple(body, ui.visuals().text_color());
    people_text(senders, &name_format, &address_format)
}

/// Like [`address_list`], with right-to-left names in visual order.
fn addresses_text(ui: &egui::Ui, addresses: &[Address]) -> LayoutJob {
    let format = TextFormat::simple(
        egui::TextStyle::Body.resolve(ui.style()),
        ui.visuals().text_color(),
    );
    people_text(addresses, &format, &format)
}

/// `Name <address>, …`: each name (right-to-left ones in visual order) in
/// `name_format`, its address in `address_format`; an address without a
/// name stands in `name_format`.
fn people_text(
    addresses: &[Address],
    name_format: &TextFormat,
    address_format: &TextFormat,
) -> LayoutJob {
    let mut job = LayoutJob::default();
    for (index, address) in addresses.iter().enumerate() {
        if index > 0 {
            job.append(", ", 0.0, address_format.clone());
        }
        match address.name.as_deref().filter(|name| !name.is_empty()) {
            Some(name) => {
                bidi::append(&mut job, name, name_format);
                job.append(
                    &format!(" <{}>", address.email),
                    0.0,
                    address_format.clone(),
                );
            }
            None => job.append(&address.email, 0.0, name_format.clone()),
        }
    }
    job
}

enum InlineSource {
    Part(usize),
    Bytes(Arc<[u8]>),
}
