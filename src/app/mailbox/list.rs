//! The message list: rows loaded off the UI thread, sorted and filtered off
//! the UI thread, drawn virtualised (only the visible rows are laid out), so
//! a 100,000-message folder scrolls like a 100-message one.

use std::path::PathBuf;
use std::sync::Arc;

use herald_core::store::{Folder, ListQuery, MailStore, StoredMessage};

use crate::app::bidi::Shown;
use crate::app::jobs::{Job, Waker};
use crate::app::text::{format_size, local_date_short};

use super::text_search::{HitsByAccount, TextSearch};

/// One message as the list draws it: every string prepared by the loader,
/// so drawing a row formats nothing.
#[derive(Debug, Clone)]
pub struct ListRow {
    /// Index of the account in the window's account list.
    pub account: usize,
    /// The message's local id in that account's store.
    pub id: i64,
    /// Sender name, else address.
    pub from: String,
    /// The sender's address.
    pub from_addr: String,
    /// The subject, or "(no subject)".
    pub subject: String,
    /// Date header (or arrival) as Unix seconds, for sorting.
    pub date: i64,
    /// The date in local time, short.
    pub date_text: String,
    /// Size in bytes.
    pub size: u64,
    /// The size for people ("12 KB").
    pub size_text: String,
    /// Has attachments (paper clip).
    pub has_attachments: bool,
    /// Read already.
    pub seen: bool,
    /// False for a headers-only entry (over the size limit).
    pub downloaded: bool,
    /// The message file, when downloaded.
    pub path: Option<PathBuf>,
    /// The Message-ID header.
    pub message_id: Option<String>,
    /// Lowercase subject, names and addresses: what the search box matches
    /// besides the message text ([`herald_core::search::header_haystack`]).
    pub haystack: String,
    /// To and Cc as stored (`Name <address>`), for address completion.
    pub recipients: Vec<String>,
    /// Sender and subject in visual order, when either has right-to-left
    /// text (`None` for most rows: `from` and `subject` are drawn as they are).
    pub shown: Option<Box<RowShown>>,
}

/// The right-to-left parts of a row, prepared by the loader
/// ([`crate::app::bidi`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowShown {
    /// The sender, when it has right-to-left text.
    pub from: Option<Shown>,
    /// The subject, when it has right-to-left text.
    pub subject: Option<Shown>,
}

impl RowShown {
    /// `None` when neither `from` nor `subject` needs reordering.
    pub fn new(from: &str, subject: &str) -> Option<Box<RowShown>> {
        let shown = RowShown {
            from: Shown::line(from),
            subject: Shown::line(subject),
        };
        (shown.from.is_some() || shown.subject.is_some()).then(|| Box::new(shown))
    }
}

impl ListRow {
    fn from_stored(account: usize, message: StoredMessage) -> ListRow {
        let haystack = herald_core::search::header_haystack(&message.summary);
        let summary = message.summary;
        let from_addr = summary.from_addr.unwrap_or_default();
        let from = summary
            .from_name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| from_addr.clone());
        let subject = summary
            .subject
            .filter(|subject| !subject.trim().is_empty())
            .unwrap_or_else(|| "(no subject)".to_owned());
        let shown = RowShown::new(&from, &subject);
        let date = summary.date.unwrap_or(message.received_at);
        let recipients: Vec<String> = summary
            .to
            .iter()
            .chain(summary.cc.iter())
            .cloned()
            .collect();
        ListRow {
            account,
            id: message.id,
            date_text: local_date_short(date),
            size_text: format_size(message.size),
            from,
            from_addr,
            subject,
            date,
            size: message.size,
            has_attachments: summary.has_attachments,
            seen: message.flags.seen,
            downloaded: message.downloaded,
            path: message.path,
            message_id: summary.message_id,
            haystack,
            recipients,
            shown,
        }
    }
}

/// The column the list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Newest or oldest first.
    Date,
    /// By sender.
    From,
    /// By subject (ignoring `Re:`/`Fwd:`).
    Subject,
    /// By size.
    Size,
}

/// How the list is ordered and filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSpec {
    /// Sort column.
    pub sort: SortKey,
    /// Largest/newest first.
    pub descending: bool,
    /// The search text (empty: everything).
    pub search: String,
}

impl Default for ViewSpec {
    fn default() -> Self {
        ViewSpec {
            sort: SortKey::Date,
            descending: true,
            search: String::new(),
        }
    }
}

/// Where to read one account's folder from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Index of the account.
    pub account: usize,
    /// Its mailbox folder.
    pub mailbox_dir: PathBuf,
}

/// Unread and total counts of one account's folders (in `Folder::ALL`
/// order), for the sidebar.
pub type FolderCounts = [(u64, u64); 5];

/// A job arranging a set of rows for a spec.
struct Arranging {
    spec: ViewSpec,
    hits: Option<Arc<HitsByAccount>>,
    rows: Arc<Vec<ListRow>>,
    job: Job<Vec<u32>>,
}

/// What the loader read.
#[derive(Debug)]
pub struct Loaded {
    /// Every row of the folder(s), in store order.
    pub rows: Arc<Vec<ListRow>>,
    /// Per source, why it could not be read.
    pub problems: Vec<String>,
    /// Unread/total counts of every folder of every source.
    pub counts: Vec<(usize, FolderCounts)>,
    /// Every address seen in the rows (senders and recipients), once each,
    /// for completion in the composer.
    pub addresses: Vec<herald_core::message::Address>,
}

/// Reads `folder` of every source (read-only, beside the workers). Runs in
/// a [`Job`].
pub fn load(sources: &[Source], folder: Folder) -> Loaded {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut counts = Vec::new();
    for source in sources {
        if !source.mailbox_dir.join("index.sqlite").is_file() {
            // Nothing downloaded yet: an empty mailbox, not an error.
            counts.push((source.account, [(0, 0); 5]));
            continue;
        }
        match MailStore::open_read_only(&source.mailbox_dir) {
            Ok(store) => {
                match store.list(folder, &ListQuery::default()) {
                    Ok(messages) => rows.extend(
                        messages
                            .into_iter()
                            .map(|message| ListRow::from_stored(source.account, message)),
                    ),
                    Err(error) => problems.push(herald_core::error::describe(&error)),
                }
                let mut folder_counts = [(0, 0); 5];
                for (slot, folder) in folder_counts.iter_mut().zip(Folder::ALL) {
                    *slot = (
                        store.unread_count(folder).unwrap_or(0),
                        store.count(folder).unwrap_or(0),
                    );
                }
                counts.push((source.account, folder_counts));
            }
            Err(error) => problems.push(herald_core::error::describe(&error)),
        }
    }
    let addresses = addresses_of(&rows);
    Loaded {
        rows: Arc::new(rows),
        problems,
        counts,
        addresses,
    }
}

/// The distinct addresses in `rows`: senders, and To/Cc recipients as
/// stored (`Name <address>`), keyed by lowercase address.
fn addresses_of(rows: &[ListRow]) -> Vec<herald_core::message::Address> {
    use std::collections::{BTreeMap, HashSet};
    let mut by_email: BTreeMap<String, herald_core::message::Address> = BTreeMap::new();
    let mut seen_text: HashSet<&str> = HashSet::new();
    for row in rows {
        if !row.from_addr.is_empty() {
            by_email
                .entry(row.from_addr.to_lowercase())
                .or_insert_with(|| herald_core::message::Address {
                    name: (row.from != row.from_addr).then(|| row.from.clone()),
                    email: row.from_addr.clone(),
                });
        }
        for text in &row.recipients {
            if !seen_text.insert(text.as_str()) {
                continue;
            }
            if let Ok(list) = herald_core::compose::parse_address_list(text) {
                for address in list {
                    by_email
                        .entry(address.email.to_lowercase())
                        .or_insert(address);
                }
            }
        }
    }
    by_email.into_values().collect()
}

/// The order in which to show `rows` under `spec`: row indices, sorted,
/// only those matching the search: every word of it is in the row's
/// subject, people or addresses, or (per `text_hits`, from the search
/// index) in the message's text. Runs in a [`Job`].
pub fn arrange(rows: &[ListRow], spec: &ViewSpec, text_hits: Option<&HitsByAccount>) -> Vec<u32> {
    let words = herald_core::search::query_words(&spec.search);
    let mut order: Vec<u32> = rows
        .iter()
        .enumerate()
        .filter(|(_, row)| {
            let hits = text_hits.and_then(|hits| hits.get(&row.account));
            herald_core::search::matches(&words, &row.haystack, hits, row.id)
        })
        .filter_map(|(index, _)| u32::try_from(index).ok())
        .collect();
    let row = |index: &u32| &rows[*index as usize];
    match spec.sort {
        SortKey::Date => order.sort_by_key(|index| (row(index).date, row(index).id)),
        SortKey::Size => order.sort_by_key(|index| (row(index).size, row(index).id)),
        SortKey::From => {
            order.sort_by_cached_key(|index| (row(index).from.to_lowercase(), row(index).id))
        }
        SortKey::Subject => {
            order.sort_by_cached_key(|index| (subject_sort_key(&row(index).subject), row(index).id))
        }
    }
    if spec.descending {
        order.reverse();
    }
    order
}

/// The subject without reply/forward prefixes, lowercase.
fn subject_sort_key(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        let stripped = ["re:", "fwd:", "fw:", "aw:", "wg:", "回复:", "转发:", "sv:"]
            .iter()
            .find(|prefix| lower.starts_with(**prefix))
            .map(|prefix| rest[prefix.len()..].trim_start());
        match stripped {
            Some(next) => rest = next,
            None => return lower,
        }
    }
}

/// The message list of the folder on screen.
pub struct MessageList {
    /// All rows of the folder(s).
    pub rows: Arc<Vec<ListRow>>,
    /// Row indices in display order.
    pub order: Arc<Vec<u32>>,
    /// Sort and search.
    pub spec: ViewSpec,
    /// The spec `order` was computed for.
    arranged_for: ViewSpec,
    /// The text hits `order` was computed with.
    arranged_hits: Option<Arc<HitsByAccount>>,
    /// The mailboxes shown (for searching their text).
    sources: Vec<Source>,
    /// Searching message text.
    text: TextSearch,
    /// The selected row (account, id), kept across reloads.
    pub selected: Option<(usize, i64)>,
    loading: Option<Job<Loaded>>,
    /// Arranging `rows` for a spec; rows and order are swapped in together.
    arranging: Option<Arranging>,
    /// Set once the first load finished.
    pub loaded_once: bool,
    /// Per-account problems from the last load.
    pub problems: Vec<String>,
    /// Addresses seen in the last load.
    pub addresses: Vec<herald_core::message::Address>,
    scroll_to_selected: bool,
    scroll_offset: f32,
    seen_overlay: std::collections::HashMap<(usize, i64), bool>,
    removed: std::collections::HashSet<(usize, i64)>,
}

/// What the user did in the list this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListAction {
    /// Selection moved to this row.
    Selected(usize, i64),
    /// Double-click or Enter on a row: open it (Drafts: edit it).
    Activated(usize, i64),
}

impl Default for MessageList {
    fn default() -> Self {
        MessageList {
            rows: Arc::new(Vec::new()),
            order: Arc::new(Vec::new()),
            spec: ViewSpec::default(),
            arranged_for: ViewSpec::default(),
            arranged_hits: None,
            sources: Vec::new(),
            text: TextSearch::default(),
            selected: None,
            loading: None,
            arranging: None,
            loaded_once: false,
            problems: Vec::new(),
            addresses: Vec::new(),
            scroll_to_selected: false,
            scroll_offset: 0.0,
            seen_overlay: Default::default(),
            removed: Default::default(),
        }
    }
}

impl MessageList {
    /// Starts reading the folder again (the current rows stay on screen
    /// until the new ones arrive).
    /// The mailboxes' search indexes are brought up to date too.
    pub fn reload(&mut self, sources: Vec<Source>, folder: Folder, waker: &Waker) {
        self.text.update_indexes(&sources, waker);
        self.sources = sources.clone();
        self.loading = Some(Job::spawn("list-load", waker, move || {
            load(&sources, folder)
        }));
    }

    /// True while rows are being read or arranged.
    pub fn busy(&self) -> bool {
        self.loading.is_some() || self.arranging.is_some()
    }

    /// True while the message text is being searched for the search box's
    /// words (the list shows header matches meanwhile).
    pub fn searching_text(&self) -> bool {
        let words = herald_core::search::query_words(&self.spec.search);
        self.text.searching(&words)
    }

    /// A note for beside the search box about the text search: searching,
    /// indexing progress, or a problem.
    pub fn text_search_note(&self) -> Option<String> {
        let words = herald_core::search::query_words(&self.spec.search);
        self.text.note(&words, &self.sources)
    }

    /// Takes finished background work; returns fresh counts when a load
    /// finished. Call once per frame before drawing.
    pub fn poll(&mut self, waker: &Waker) -> Option<Vec<(usize, FolderCounts)>> {
        let mut counts = None;
        if let Some(job) = &mut self.loading
            && let Some(result) = job.try_take()
        {
            self.loading = None;
            if let Ok(loaded) = result {
                self.problems = loaded.problems;
                self.addresses = loaded.addresses;
                counts = Some(loaded.counts);
                // The old rows stay on screen until the new ones are arranged.
                self.start_arrange(loaded.rows, waker);
            }
        }
        let words = herald_core::search::query_words(&self.spec.search);
        self.text.poll(&words, &self.sources, waker);
        if let Some(arranging) = &mut self.arranging
            && let Some(result) = arranging.job.try_take()
        {
            let spec = arranging.spec.clone();
            let hits = arranging.hits.take();
            let rows = Arc::clone(&arranging.rows);
            self.arranging = None;
            if let Ok(order) = result {
                self.rows = rows;
                self.order = Arc::new(self.without_removed(&order));
                self.arranged_for = spec;
                self.arranged_hits = hits;
                self.loaded_once = true;
                if self.selected.is_some() {
                    self.scroll_to_selected = true;
                }
            }
        }
        let hits = self.text.hits_for(&words);
        let hits_changed = match (&hits, &self.arranged_hits) {
            (Some(new), Some(old)) => !Arc::ptr_eq(new, old),
            (None, None) => false,
            _ => true,
        };
        if self.arranging.is_none()
            && self.loading.is_none()
            && (self.arranged_for != self.spec || hits_changed)
        {
            self.start_arrange(Arc::clone(&self.rows), waker);
        }
        counts
    }

    fn start_arrange(&mut self, rows: Arc<Vec<ListRow>>, waker: &Waker) {
        let spec = self.spec.clone();
        let hits = self
            .text
            .hits_for(&herald_core::search::query_words(&spec.search));
        let job_spec = spec.clone();
        let job_hits = hits.clone();
        let job_rows = Arc::clone(&rows);
        self.arranging = Some(Arranging {
            spec,
            hits,
            rows,
            job: Job::spawn("list-arrange", waker, move || {
                arrange(&job_rows, &job_spec, job_hits.as_deref())
            }),
        });
    }

    /// The selected row, if it is loaded.
    pub fn selected_row(&self) -> Option<&ListRow> {
        let (account, id) = self.selected?;
        self.rows
            .iter()
            .find(|row| row.account == account && row.id == id)
    }

    /// Marks a row read or unread on screen at once (the store is told
    /// through the worker). An overlay, so the 100,000 rows (shared with
    /// background jobs) are never copied on the UI thread.
    pub fn set_seen(&mut self, account: usize, id: i64, seen: bool) {
        self.seen_overlay.insert((account, id), seen);
    }

    /// Whether a row reads as seen, counting changes not yet reloaded.
    pub fn is_seen(&self, row: &ListRow) -> bool {
        self.seen_overlay
            .get(&(row.account, row.id))
            .copied()
            .unwrap_or(row.seen)
    }

    /// Takes rows off the screen at once (deleted or moved): only the
    /// display order is rebuilt; a later load confirms it.
    pub fn remove(&mut self, account: usize, ids: &[i64]) {
        for id in ids {
            self.removed.insert((account, *id));
        }
        self.order = Arc::new(self.without_removed(&self.order));
    }

    fn without_removed(&self, order: &[u32]) -> Vec<u32> {
        if self.removed.is_empty() {
            return order.to_vec();
        }
        order
            .iter()
            .copied()
            .filter(|index| {
                let row = &self.rows[*index as usize];
                !self.removed.contains(&(row.account, row.id))
            })
            .collect()
    }

    /// The display position of the selected row.
    fn selected_position(&self) -> Option<usize> {
        let (account, id) = self.selected?;
        self.order.iter().position(|index| {
            let row = &self.rows[*index as usize];
            row.account == account && row.id == id
        })
    }

    /// Moves the selection by `delta` rows (clamped); returns the new row.
    pub fn move_selection(&mut self, delta: isize) -> Option<(usize, i64)> {
        if self.order.is_empty() {
            return None;
        }
        let last = self.order.len() - 1;
        let target = match self.selected_position() {
            Some(position) => position.saturating_add_signed(delta).min(last),
            None if delta >= 0 => 0,
            None => last,
        };
        self.select_position(target)
    }

    /// Selects the row at display position `position`.
    pub fn select_position(&mut self, position: usize) -> Option<(usize, i64)> {
        let index = *self.order.get(position)? as usize;
        let row = &self.rows[index];
        self.selected = Some((row.account, row.id));
        self.scroll_to_selected = true;
        self.selected
    }

    /// Handles list keys (arrows, Page Up/Down, Home/End, Enter) when no
    /// text field has focus.
    pub fn keyboard(&mut self, ui: &egui::Ui, page_rows: usize) -> Option<ListAction> {
        if ui.ctx().memory(|memory| memory.focused().is_some()) {
            return None;
        }
        let page = isize::try_from(page_rows.max(1)).unwrap_or(10);
        let (down, up, page_down, page_up, home, end, enter) = ui.input_mut(|input| {
            (
                input.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown)
                    || input.consume_key(egui::Modifiers::NONE, egui::Key::J),
                input.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp)
                    || input.consume_key(egui::Modifiers::NONE, egui::Key::K),
                input.consume_key(egui::Modifiers::NONE, egui::Key::PageDown),
                input.consume_key(egui::Modifiers::NONE, egui::Key::PageUp),
                input.consume_key(egui::Modifiers::NONE, egui::Key::Home),
                input.consume_key(egui::Modifiers::NONE, egui::Key::End),
                input.consume_key(egui::Modifiers::NONE, egui::Key::Enter),
            )
        });
        let moved = if down {
            self.move_selection(1)
        } else if up {
            self.move_selection(-1)
        } else if page_down {
            self.move_selection(page)
        } else if page_up {
            self.move_selection(-page)
        } else if home {
            self.select_position(0)
        } else if end {
            self.order
                .len()
                .checked_sub(1)
                .and_then(|last| self.select_position(last))
        } else {
            None
        };
        if let Some((account, id)) = moved {
            return Some(ListAction::Selected(account, id));
        }
        if enter && let Some((account, id)) = self.selected {
            return Some(ListAction::Activated(account, id));
        }
        None
    }

    /// Draws the header and the rows; `show_account` adds the account name
    /// (unified inbox). Returns what the user did.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        account_names: &[String],
        show_account: bool,
        empty_text: &str,
    ) -> Option<ListAction> {
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 8.0;
        let page_rows = (ui.available_height() / row_height) as usize;
        let mut action = self.keyboard(ui, page_rows.saturating_sub(1));
        let columns = Columns::new(ui.available_width(), show_account);
        self.header_ui(ui, &columns);
        if self.order.is_empty() {
            ui.add_space(24.0);
            ui.vertical_centered(|ui| {
                if !self.loaded_once || self.busy() {
                    ui.spinner();
                } else if self.searching_text() {
                    ui.spinner();
                    ui.label(egui::RichText::new("Searching message text…").weak());
                } else if self.rows.is_empty() {
                    ui.label(egui::RichText::new(empty_text).weak());
                } else {
                    ui.label(egui::RichText::new("No message matches the search.").weak());
                }
            });
            return action;
        }
        let mut scroll = egui::ScrollArea::vertical()
            .id_salt("message_list")
            .auto_shrink([false, false]);
        if self.scroll_to_selected {
            self.scroll_to_selected = false;
            if let Some(position) = self.selected_position() {
                let spacing = ui.spacing().item_spacing.y;
                let top = position as f32 * (row_height + spacing);
                let visible = ui.available_height();
                let current = self.scroll_offset;
                let offset = if top < current {
                    Some(top)
                } else if top + row_height > current + visible {
                    Some(top + row_height - visible + spacing)
                } else {
                    None
                };
                if let Some(offset) = offset {
                    scroll = scroll.vertical_scroll_offset(offset.max(0.0));
                }
            }
        }
        let order = Arc::clone(&self.order);
        let rows = Arc::clone(&self.rows);
        let output = scroll.show_rows(ui, row_height, order.len(), |ui, range| {
            for position in range {
                let row = &rows[order[position] as usize];
                let selected = self.selected == Some((row.account, row.id));
                let account_name = account_names.get(row.account).map(String::as_str);
                let seen = self.is_seen(row);
                let response = row_ui(ui, row, seen, selected, &columns, row_height, account_name);
                if response.clicked() {
                    self.selected = Some((row.account, row.id));
                    action = Some(ListAction::Selected(row.account, row.id));
                }
                if response.double_clicked() {
                    action = Some(ListAction::Activated(row.account, row.id));
                }
            }
        });
        self.scroll_offset = output.state.clamped_offset().y;
        action
    }

    fn header_ui(&mut self, ui: &mut egui::Ui, columns: &Columns) {
        let height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(ui.available_width(), height),
            egui::Sense::hover(),
        );
        let mut clicked = None;
        for (key, label, x, width) in [
            (SortKey::From, "From", columns.from.0, columns.from.1),
            (
                SortKey::Subject,
                "Subject",
                columns.subject.0,
                columns.subject.1,
            ),
            (SortKey::Date, "Date", columns.date.0, columns.date.1),
            (SortKey::Size, "Size", columns.size.0, columns.size.1),
        ] {
            let arrow = if self.spec.sort == key {
                if self.spec.descending { " ⏷" } else { " ⏶" }
            } else {
                ""
            };
            let cell = egui::Rect::from_min_size(
                egui::pos2(rect.left() + x, rect.top()),
                egui::vec2(width, height),
            );
            let response = ui
                .put(
                    cell,
                    egui::Button::new(egui::RichText::new(format!("{label}{arrow}")).strong())
                        .frame(false),
                )
                .on_hover_text(format!("Sort by {}", label.to_lowercase()));
            if response.clicked() {
                clicked = Some(key);
            }
        }
        if let Some(key) = clicked {
            if self.spec.sort == key {
                self.spec.descending = !self.spec.descending;
            } else {
                self.spec.sort = key;
                self.spec.descending = matches!(key, SortKey::Date | SortKey::Size);
            }
        }
        ui.separator();
    }
}

/// Column positions (x offset, width) for one list width.
struct Columns {
    clip: f32,
    account: Option<(f32, f32)>,
    from: (f32, f32),
    subject: (f32, f32),
    date: (f32, f32),
    size: (f32, f32),
}

impl Columns {
    fn new(width: f32, show_account: bool) -> Columns {
        let clip = 22.0;
        let size_width = 64.0;
        let date_width = 120.0;
        let account_width = if show_account { 90.0 } else { 0.0 };
        let flexible = (width - clip - size_width - date_width - account_width - 16.0).max(120.0);
        let from_width = (flexible * 0.32).clamp(80.0, 260.0);
        let subject_width = flexible - from_width;
        let mut x = clip;
        let account = show_account.then(|| {
            let column = (x, account_width);
            x += account_width;
            column
        });
        let from = (x, from_width);
        x += from_width;
        let subject = (x, subject_width);
        x += subject_width;
        let date = (x, date_width);
        x += date_width;
        let size = (x, size_width);
        Columns {
            clip,
            account,
            from,
            subject,
            date,
            size,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn row_ui(
    ui: &mut egui::Ui,
    row: &ListRow,
    seen: bool,
    selected: bool,
    columns: &Columns,
    row_height: f32,
    account_name: Option<&str>,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), row_height),
        egui::Sense::click(),
    );
    let read_state = if seen { "" } else { ", unread" };
    let clip_state = if row.has_attachments {
        ", has attachments"
    } else {
        ""
    };
    let label = format!(
        "{} — {} — {}{read_state}{clip_state}",
        row.from, row.subject, row.date_text
    );
    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::Row, true, selected, &label));
    if !ui.is_rect_visible(rect) {
        return response;
    }
    let visuals = ui.visuals();
    let painter = ui.painter_at(rect);
    if selected {
        painter.rect_filled(rect, 2.0, visuals.selection.bg_fill);
    } else if response.hovered() {
        painter.rect_filled(rect, 2.0, visuals.widgets.hovered.weak_bg_fill);
    }
    let text_color = if selected {
        visuals.selection.stroke.color
    } else if seen {
        visuals.text_color()
    } else {
        visuals.strong_text_color()
    };
    let font = if seen {
        egui::TextStyle::Body.resolve(ui.style())
    } else {
        crate::app::fonts::bold(ui.ctx(), egui::TextStyle::Body.resolve(ui.style()))
    };
    let weak = if selected {
        text_color
    } else {
        visuals.weak_text_color()
    };
    let cell = |(x, width): (f32, f32)| {
        egui::Rect::from_min_size(
            egui::pos2(rect.left() + x, rect.top()),
            egui::vec2(width - 8.0, row_height),
        )
    };
    let text = |cell_rect: egui::Rect, text: &str, font: egui::FontId, color: egui::Color32| {
        painter.with_clip_rect(cell_rect).text(
            egui::pos2(cell_rect.left(), cell_rect.center().y),
            egui::Align2::LEFT_CENTER,
            text,
            font,
            color,
        );
    };
    if !seen {
        painter.circle_filled(
            egui::pos2(rect.left() + 7.0, rect.center().y),
            3.5,
            visuals.hyperlink_color,
        );
    }
    if row.has_attachments {
        text(cell((12.0, columns.clip)), "📎", font.clone(), weak);
    }
    if let (Some(column), Some(name)) = (columns.account, account_name) {
        text(
            cell(column),
            name,
            egui::TextStyle::Small.resolve(ui.style()),
            weak,
        );
    }
    let shown = row.shown.as_deref();
    match shown.and_then(|shown| shown.from.as_ref()) {
        Some(from) => rtl_text(&painter, cell(columns.from), from, &font, text_color),
        None => text(cell(columns.from), &row.from, font.clone(), text_color),
    }
    const NOT_DOWNLOADED: &str = "(not downloaded)";
    match shown.and_then(|shown| shown.subject.as_ref()) {
        Some(subject) => {
            let mut subject_cell = cell(columns.subject);
            if !row.downloaded {
                // The note goes where the line ends: left of a right-to-left
                // subject, right of a left-to-right one.
                let note = painter.layout_no_wrap(NOT_DOWNLOADED.to_owned(), font.clone(), weak);
                let width = note.size().x + 12.0;
                let (x, rest) = if subject.rtl {
                    (
                        subject_cell.left(),
                        subject_cell.with_min_x(subject_cell.left() + width),
                    )
                } else {
                    let x = (subject_cell.right() - note.size().x).max(subject_cell.left());
                    (x, subject_cell.with_max_x(subject_cell.right() - width))
                };
                painter.with_clip_rect(subject_cell).galley(
                    egui::pos2(x, subject_cell.center().y - note.size().y / 2.0),
                    note,
                    weak,
                );
                subject_cell = rest;
            }
            rtl_text(&painter, subject_cell, subject, &font, text_color);
        }
        None => {
            let subject = if row.downloaded {
                row.subject.clone()
            } else {
                format!("{}  {NOT_DOWNLOADED}", row.subject)
            };
            text(cell(columns.subject), &subject, font, text_color);
        }
    }
    let body_font = egui::TextStyle::Body.resolve(ui.style());
    text(cell(columns.date), &row.date_text, body_font.clone(), weak);
    text(cell(columns.size), &row.size_text, body_font, weak);
    response
}

/// Draws right-to-left text in a list cell: a right-to-left line starts at
/// the cell's right edge, so what is cut off is its end, as for any line.
fn rtl_text(
    painter: &egui::Painter,
    cell: egui::Rect,
    shown: &Shown,
    font: &egui::FontId,
    color: egui::Color32,
) {
    let galley = painter.layout_job(shown.simple_job(font.clone(), color));
    let top = cell.center().y - galley.size().y / 2.0;
    // A right-aligned galley ends at its position.
    let x = if shown.rtl { cell.right() } else { cell.left() };
    painter
        .with_clip_rect(cell)
        .galley(egui::pos2(x, top), galley, color);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrange_headers(rows: &[ListRow], spec: &ViewSpec) -> Vec<u32> {
        arrange(rows, spec, None)
    }

    fn row(index: i64, from: &str, subject: &str, date: i64, size: u64) -> ListRow {
        ListRow {
            account: 0,
            id: index,
            from: from.to_owned(),
            from_addr: format!("{}@example.org", from.to_lowercase()),
            subject: subject.to_owned(),
            date,
            date_text: String::new(),
            size,
            size_text: String::new(),
            has_attachments: false,
            seen: false,
            downloaded: true,
            path: None,
            message_id: None,
            haystack: format!("{}\n{}\n", subject.to_lowercase(), from.to_lowercase()),
            recipients: Vec::new(),
            shown: RowShown::new(from, subject),
        }
    }

    #[test]
    fn arrange_sorts_by_each_column_and_filters_on_every_word() {
        let rows = vec![
            row(1, "Zoe", "Re: Budget 2025", 30, 500),
            row(2, "adam", "Lunch", 10, 100),
            row(3, "Bob", "budget draft", 20, 900),
        ];
        let spec = |sort, descending, search: &str| ViewSpec {
            sort,
            descending,
            search: search.to_owned(),
        };
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::Date, true, "")),
            vec![0, 2, 1]
        );
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::Date, false, "")),
            vec![1, 2, 0]
        );
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::From, false, "")),
            vec![1, 2, 0]
        );
        // "Re:" is ignored: "budget 2025" < "budget draft" < "lunch".
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::Subject, false, "")),
            vec![0, 2, 1]
        );
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::Size, true, "")),
            vec![2, 0, 1]
        );
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::Date, true, "BUDGET")),
            vec![0, 2]
        );
        assert_eq!(
            arrange_headers(&rows, &spec(SortKey::Date, true, "budget bob")),
            vec![2]
        );
        assert!(arrange_headers(&rows, &spec(SortKey::Date, true, "nothing")).is_empty());
    }

    #[test]
    fn each_word_may_match_the_headers_or_the_message_text() {
        let rows = vec![
            row(1, "Zoe", "Budget", 30, 1),
            row(2, "adam", "Lunch", 20, 1),
            row(3, "Bob", "Trip", 10, 1),
        ];
        let spec = ViewSpec {
            search: "zoe invoice".to_owned(),
            ..ViewSpec::default()
        };
        // "invoice" is in the text of messages 1 and 3; "zoe" in none.
        let mut hits = HitsByAccount::new();
        hits.insert(
            0,
            herald_core::search::TextHits {
                ids: vec![Default::default(), [1, 3].into_iter().collect()],
            },
        );
        assert_eq!(arrange(&rows, &spec, Some(&hits)), vec![0]);
        assert!(arrange(&rows, &spec, None).is_empty());
        let text_only = ViewSpec {
            search: "invoice".to_owned(),
            ..ViewSpec::default()
        };
        let mut invoice = HitsByAccount::new();
        invoice.insert(
            0,
            herald_core::search::TextHits {
                ids: vec![[1, 3].into_iter().collect()],
            },
        );
        assert_eq!(arrange(&rows, &text_only, Some(&invoice)), vec![0, 2]);
        // Hits of another account do not count.
        let mut elsewhere = HitsByAccount::new();
        elsewhere.insert(1, invoice[&0].clone());
        assert!(arrange(&rows, &text_only, Some(&elsewhere)).is_empty());
    }

    #[test]
    fn removing_rows_keeps_the_order_of_the_rest() {
        let mut list = MessageList {
            rows: Arc::new(vec![
                row(1, "a", "one", 1, 1),
                row(2, "b", "two", 2, 1),
                row(3, "c", "three", 3, 1),
            ]),
            order: Arc::new(vec![2, 1, 0]),
            ..Default::default()
        };
        list.remove(0, &[2]);
        let shown: Vec<i64> = list
            .order
            .iter()
            .map(|index| list.rows[*index as usize].id)
            .collect();
        assert_eq!(shown, vec![3, 1]);
    }

    #[test]
    fn keyboard_style_moves_clamp_at_both_ends() {
        let mut list = MessageList {
            rows: Arc::new((1..=5).map(|n| row(n, "a", "s", n, 1)).collect()),
            order: Arc::new(vec![0, 1, 2, 3, 4]),
            ..Default::default()
        };
        assert_eq!(list.move_selection(1), Some((0, 1)));
        assert_eq!(list.move_selection(10), Some((0, 5)));
        assert_eq!(list.move_selection(-2), Some((0, 3)));
        assert_eq!(list.move_selection(-10), Some((0, 1)));
    }
}
