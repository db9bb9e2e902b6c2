//! Untrusted HTML mail shown as styled egui text, with no engine that could
//! run scripts or fetch anything. Shared by the reader and the composer's
//! preview.
//!
//! 1. [`HtmlDocument::parse`] (pure, bounded, testable) turns HTML into blocks
//!    of styled runs, images, links and counts of blocked remote references
//!    and tracking pixels. Do it once, off the UI thread for large mail.
//! 2. [`HtmlView`] owns a parsed document and draws it in a scroll area. It
//!    lays every block out once per width/theme (galleys are cached) and
//!    paints only the blocks in view, so long newsletters scroll cheaply.
//!
//! Images come from the caller through [`InlineImages`] (decoded textures
//! keyed by `cid:<content id>`, the remote URL, or `data:#<index>`); the view
//! never decodes or fetches. With [`RemoteImages::Blocked`] a remote image is
//! a placeholder with its alt text. Tracking pixels are not in the model at
//! all, so nothing can load them.
//!
//! Links are never opened here: hovering reports the real target (and a
//! warning when the visible text names another domain); a click returns
//! [`HtmlResponse::link_clicked`] and the caller asks the user first.
//!
//! `data:` images: decoded from base64 at parse time when they are PNG, JPEG,
//! GIF, WebP or BMP and at most [`MAX_DATA_IMAGE_BYTES`] (8 MB per document);
//! the caller decodes their pixels like `cid:` images. Larger or other
//! `data:` images become placeholders.

pub mod images;
mod model;
pub mod url;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use egui::text::{LayoutJob, TextFormat};

use crate::app::bidi;
use egui::{
    Align2, Color32, CursorIcon, FontFamily, FontId, Galley, Id, IdSalt, Pos2, Rect, Role, Sense,
    Stroke, TextureHandle, Vec2, WidgetInfo,
};

pub use model::{
    Block, HtmlDocument, ImageRef, ImageSource, Link, MAX_BLOCKS, MAX_DATA_IMAGE_BYTES, MAX_DEPTH,
    MAX_ELEMENTS, MAX_HTML_BYTES, MAX_TEXT_CHARS, Run, Table, TableRow, TextBlock, TextKind,
    TextStyle, cid_key,
};

/// Whether remote images may be shown (they are fetched by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteImages {
    /// Show placeholders; the default for every message.
    Blocked,
    /// Show remote images the caller has loaded into [`InlineImages`].
    Allowed,
}

/// The state of one image the caller is providing.
#[derive(Clone)]
pub enum InlineImage {
    /// Being decoded or fetched.
    Loading,
    /// Ready to draw.
    Ready(TextureHandle),
    /// Could not be loaded; the sentence says why (shown in the placeholder).
    Failed(String),
}

impl std::fmt::Debug for InlineImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InlineImage::Loading => f.write_str("Loading"),
            InlineImage::Ready(texture) => write!(f, "Ready({:?})", texture.size()),
            InlineImage::Failed(reason) => write!(f, "Failed({reason:?})"),
        }
    }
}

/// Images for a document, keyed as [`ImageRef::key`] says.
#[derive(Debug, Clone, Default)]
pub struct InlineImages {
    map: HashMap<String, InlineImage>,
    generation: u64,
}

impl InlineImages {
    /// Sets the state of one image.
    pub fn insert(&mut self, key: String, image: InlineImage) {
        self.map.insert(key, image);
        self.generation += 1;
    }

    /// Forgets one image (the view re-lays out then).
    pub fn remove(&mut self, key: &str) {
        if self.map.remove(key).is_some() {
            self.generation += 1;
        }
    }

    /// The state of one image.
    pub fn get(&self, key: &str) -> Option<&InlineImage> {
        self.map.get(key)
    }

    /// Changes each time an image is inserted (the view re-lays out then).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How many images are ready to draw.
    pub fn ready_count(&self) -> usize {
        self.map
            .values()
            .filter(|image| matches!(image, InlineImage::Ready(_)))
            .count()
    }
}

/// What happened in the view this frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlResponse {
    /// An openable (http/https/mailto) link was clicked: confirm, then open.
    pub link_clicked: Option<String>,
    /// The real target of the link under the pointer.
    pub hovered_link: Option<String>,
    /// The warning for the hovered link, if it looks deceptive.
    pub hovered_warning: Option<String>,
    /// How many images were drawn from textures this frame.
    pub images_drawn: usize,
}

/// A parsed document with its cached layout.
#[derive(Debug)]
pub struct HtmlView {
    doc: Arc<HtmlDocument>,
    layout: Option<Layout>,
    id_salt: IdSalt,
}

impl HtmlView {
    /// A view of `doc`; `id_salt` keeps scroll positions of two views apart.
    pub fn new(doc: Arc<HtmlDocument>, id_salt: impl egui::AsIdSalt) -> HtmlView {
        HtmlView {
            doc,
            layout: None,
            id_salt: IdSalt::new(&id_salt),
        }
    }

    /// The document shown.
    pub fn document(&self) -> &HtmlDocument {
        &self.doc
    }

    /// Draws the document in a vertical scroll area filling the space left.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        images: &InlineImages,
        remote: RemoteImages,
    ) -> HtmlResponse {
        let mut response = HtmlResponse::default();
        egui::ScrollArea::vertical()
            .id_salt(self.id_salt)
            .auto_shrink([false, false])
            .show_viewport(ui, |ui, viewport| {
                let width = ui.available_width().max(80.0);
                let key = LayoutKey::new(ui, width);
                let stale = self.layout.as_ref().is_none_or(|layout| layout.key != key);
                if stale {
                    self.layout = Some(Layout::build(ui, &self.doc, key));
                }
                if let Some(layout) = self.layout.as_mut() {
                    layout.place(&self.doc, images, remote);
                    layout.paint(ui, &self.doc, images, remote, viewport, &mut response);
                }
            });
        if response.hovered_link.is_some() {
            ui.ctx().set_cursor_icon(CursorIcon::PointingHand);
        }
        response
    }
}

/// What a layout depends on.
#[derive(Debug, Clone, PartialEq)]
struct LayoutKey {
    width: f32,
    dark: bool,
    body: FontId,
    mono: FontId,
    /// The family for bold text and headings, when the context has one.
    bold: Option<FontFamily>,
}

/// Layouts are made for widths in steps of this many points, so dragging a
/// window edge re-lays out a long document every few frames, not every frame.
const WIDTH_STEP: f32 = 16.0;

impl LayoutKey {
    fn new(ui: &egui::Ui, width: f32) -> LayoutKey {
        let style = ui.style();
        LayoutKey {
            width: ((width / WIDTH_STEP).floor() * WIDTH_STEP).max(WIDTH_STEP),
            dark: style.visuals.dark_mode,
            body: egui::TextStyle::Body.resolve(style),
            mono: egui::TextStyle::Monospace.resolve(style),
            bold: crate::app::fonts::bold_family(ui.ctx()),
        }
    }
}

const INDENT: f32 = 20.0;
const QUOTE_INDENT: f32 = 14.0;
const CELL_PAD: f32 = 4.0;

#[derive(Debug)]
struct Layout {
    key: LayoutKey,
    items: Vec<Item>,
    tops: Vec<f32>,
    total: f32,
    placed_generation: Option<(u64, RemoteImages)>,
}

#[derive(Debug)]
struct TextItem {
    galley: Arc<Galley>,
    links: Vec<(Range<usize>, usize)>,
    /// Set when the text has right-to-left characters (`crate::app::bidi`).
    bidi: Option<Box<BidiItem>>,
}

/// A text item laid out in visual order.
#[derive(Debug)]
struct BidiItem {
    /// Right-aligned galley: drawn from the right of its `width`.
    right: bool,
    /// The width it was wrapped at.
    width: f32,
    /// The text as written, for the accessible label.
    said: String,
    /// Where the links are: row, left and right x, link index (galley
    /// character positions are no use here: egui adds zero-width glyphs in
    /// right-to-left runs).
    link_boxes: Vec<(usize, f32, f32, usize)>,
}

impl TextItem {
    /// Where the galley is drawn for an item whose box starts at `pos`.
    fn galley_pos(&self, pos: Pos2) -> Pos2 {
        match &self.bidi {
            Some(bidi) if bidi.right => pos + Vec2::new(bidi.width, 0.0),
            _ => pos,
        }
    }
}

#[derive(Debug)]
enum ItemKind {
    Text {
        text: TextItem,
        marker: Option<Arc<Galley>>,
        text_left: f32,
        boxed: bool,
    },
    Image {
        index: usize,
        size: Vec2,
    },
    Rule,
    Table {
        cells: Vec<Vec<TextItem>>,
        columns: Vec<f32>,
        rows: Vec<f32>,
        header: Vec<bool>,
    },
}

#[derive(Debug)]
struct Item {
    kind: ItemKind,
    left: f32,
    quote: u8,
    gap_before: f32,
    height: f32,
}

impl Layout {
    fn build(ui: &egui::Ui, doc: &HtmlDocument, key: LayoutKey) -> Layout {
        let visuals = ui.visuals();
        let row_height = key.body.size * 1.3;
        let mut items = Vec::with_capacity(doc.blocks.len());
        for block in &doc.blocks {
            let item = match block {
                Block::Text(text) => {
                    let left = f32::from(text.quote_depth) * QUOTE_INDENT
                        + f32::from(text.indent.saturating_sub(1)) * INDENT;
                    let (marker, text_left) = match &text.kind {
                        TextKind::ListItem(marker) => {
                            let galley = ui.painter().layout_no_wrap(
                                marker.clone(),
                                key.body.clone(),
                                visuals.text_color(),
                            );
                            (Some(galley), INDENT.max(key.body.size * 1.6))
                        }
                        _ if text.indent > 0 => (None, INDENT.max(key.body.size * 1.6)),
                        _ => (None, 0.0),
                    };
                    let boxed = text.kind == TextKind::Preformatted;
                    let pad = if boxed { 2.0 * CELL_PAD } else { 0.0 };
                    let wrap = (key.width - left - text_left - pad).max(40.0);
                    let text_item = layout_runs(ui, &key, &text.runs, &text.kind, wrap);
                    let height = text_item.galley.size().y + pad;
                    let gap_before = match text.kind {
                        TextKind::Heading(_) => row_height * 0.8,
                        TextKind::ListItem(_) => row_height * 0.15,
                        _ => row_height * 0.5,
                    };
                    Item {
                        kind: ItemKind::Text {
                            text: text_item,
                            marker,
                            text_left,
                            boxed,
                        },
                        left,
                        quote: text.quote_depth,
                        gap_before,
                        height,
                    }
                }
                Block::Image(index) => {
                    let quote = doc.images.get(*index).map_or(0, |image| image.quote_depth);
                    Item {
                        kind: ItemKind::Image {
                            index: *index,
                            size: Vec2::ZERO,
                        },
                        left: f32::from(quote) * QUOTE_INDENT,
                        quote,
                        gap_before: row_height * 0.3,
                        height: 0.0,
                    }
                }
                Block::Rule => Item {
                    kind: ItemKind::Rule,
                    left: 0.0,
                    quote: 0,
                    gap_before: row_height * 0.5,
                    height: 1.0,
                },
                Block::Table(table) => layout_table(ui, &key, table, row_height),
            };
            items.push(item);
        }
        Layout {
            key,
            tops: Vec::new(),
            total: 0.0,
            items,
            placed_generation: None,
        }
    }

    /// Sizes the images (they change as textures arrive) and computes the
    /// top of every item. Cheap: no text layout.
    fn place(&mut self, doc: &HtmlDocument, images: &InlineImages, remote: RemoteImages) {
        let stamp = (images.generation(), remote);
        if self.placed_generation == Some(stamp) {
            return;
        }
        self.placed_generation = Some(stamp);
        let width = self.key.width;
        self.tops.clear();
        let mut y = 0.0;
        for (position, item) in self.items.iter_mut().enumerate() {
            if let ItemKind::Image { index, size } = &mut item.kind {
                *size = image_size(doc, *index, images, remote, width - item.left);
                item.height = size.y;
            }
            if position > 0 {
                y += item.gap_before;
            }
            self.tops.push(y);
            y += item.height;
        }
        self.total = y + 8.0;
    }

    fn paint(
        &self,
        ui: &mut egui::Ui,
        doc: &HtmlDocument,
        images: &InlineImages,
        remote: RemoteImages,
        viewport: Rect,
        response: &mut HtmlResponse,
    ) {
        let origin = ui.max_rect().min;
        ui.set_min_size(Vec2::new(self.key.width, self.total));
        // Only the items that intersect the viewport (with a margin) are drawn.
        let margin = 200.0;
        // Items never overlap, so only the one before the first item starting
        // in view can reach into it.
        let first = self
            .tops
            .partition_point(|top| *top < viewport.min.y - margin)
            .saturating_sub(1);
        let visuals = ui.visuals().clone();
        for (index, item) in self.items.iter().enumerate().skip(first) {
            let Some(top) = self.tops.get(index).copied() else {
                break;
            };
            if top > viewport.max.y + margin {
                break;
            }
            if top + item.height < viewport.min.y - margin {
                continue;
            }
            let min = origin + Vec2::new(item.left, top);
            let id = ui.scope_id().with(("html_block", index));
            // Quote bars for the item's height and the gap above it.
            for level in 0..item.quote {
                let x = origin.x + f32::from(level) * QUOTE_INDENT + 3.0;
                let y0 = origin.y + top - item.gap_before;
                ui.painter().line_segment(
                    [Pos2::new(x, y0), Pos2::new(x, origin.y + top + item.height)],
                    Stroke::new(3.0, visuals.weak_text_color().gamma_multiply(0.6)),
                );
            }
            match &item.kind {
                ItemKind::Text {
                    text,
                    marker,
                    text_left,
                    boxed,
                } => {
                    let pad = if *boxed { CELL_PAD } else { 0.0 };
                    if *boxed {
                        let rect = Rect::from_min_size(
                            min + Vec2::new(*text_left, 0.0),
                            Vec2::new(self.key.width - item.left - text_left, item.height),
                        );
                        ui.painter()
                            .rect_filled(rect, 3.0, visuals.extreme_bg_color);
                    }
                    if let Some(marker) = marker {
                        let x = min.x + text_left - marker.size().x - 6.0;
                        ui.painter().galley(
                            Pos2::new(x, min.y),
                            Arc::clone(marker),
                            visuals.text_color(),
                        );
                    }
                    let pos = min + Vec2::new(text_left + pad, pad);
                    text_ui(ui, id, pos, text, doc, response);
                }
                ItemKind::Image { index, size } => {
                    let rect = Rect::from_min_size(min, *size);
                    image_ui(ui, id, rect, doc, *index, images, remote, response);
                }
                ItemKind::Rule => {
                    let y = min.y;
                    ui.painter().hline(
                        origin.x..=origin.x + self.key.width,
                        y,
                        visuals.widgets.noninteractive.bg_stroke,
                    );
                }
                ItemKind::Table {
                    cells,
                    columns,
                    rows,
                    header,
                } => {
                    let grid = visuals.widgets.noninteractive.bg_stroke;
                    let mut y = min.y;
                    for (row_index, row) in cells.iter().enumerate() {
                        let height = rows.get(row_index).copied().unwrap_or(0.0);
                        if header.get(row_index).copied().unwrap_or(false) {
                            let width: f32 = columns.iter().sum();
                            ui.painter().rect_filled(
                                Rect::from_min_size(Pos2::new(min.x, y), Vec2::new(width, height)),
                                0.0,
                                visuals.faint_bg_color,
                            );
                        }
                        let mut x = min.x;
                        for (column, cell) in row.iter().enumerate() {
                            let width = columns.get(column).copied().unwrap_or(0.0);
                            let cell_rect =
                                Rect::from_min_size(Pos2::new(x, y), Vec2::new(width, height));
                            ui.painter().rect_stroke(
                                cell_rect,
                                0.0,
                                grid,
                                egui::StrokeKind::Inside,
                            );
                            let cell_id = id.with((row_index, column));
                            let pos = Pos2::new(x + CELL_PAD, y + CELL_PAD);
                            text_ui(ui, cell_id, pos, cell, doc, response);
                            x += width;
                        }
                        y += height;
                    }
                }
            }
        }
    }
}

/// Lays out one block's runs as a wrapped galley, remembering which byte
/// ranges belong to which link.
fn layout_runs(
    ui: &egui::Ui,
    key: &LayoutKey,
    runs: &[Run],
    kind: &TextKind,
    wrap: f32,
) -> TextItem {
    let visuals = ui.visuals();
    let mut job = LayoutJob::default();
    job.wrap.max_width = wrap;
    let mut links = Vec::new();
    let scale = match kind {
        TextKind::Heading(1) => 1.6,
        TextKind::Heading(2) => 1.4,
        TextKind::Heading(3) => 1.2,
        TextKind::Heading(_) => 1.05,
        _ => 1.0,
    };
    let heading = matches!(kind, TextKind::Heading(_));
    let mut pieces = Vec::with_capacity(runs.len());
    let mut formats = Vec::with_capacity(runs.len());
    for run in runs {
        let style = run.style;
        let mut font = if style.code {
            key.mono.clone()
        } else {
            key.body.clone()
        };
        font.size *= scale;
        if style.small {
            font.size *= 0.85;
        }
        if (style.bold || heading)
            && !style.code
            && let Some(bold) = &key.bold
        {
            font.family = bold.clone();
        }
        let color = if run.link.is_some() {
            visuals.hyperlink_color
        } else if style.bold || heading {
            visuals.strong_text_color()
        } else {
            visuals.text_color()
        };
        let line = Stroke::new(1.0, color);
        let format = TextFormat {
            font_id: font,
            color,
            italics: style.italic,
            underline: if style.underline || run.link.is_some() {
                line
            } else {
                Stroke::NONE
            },
            strikethrough: if style.strike { line } else { Stroke::NONE },
            background: if style.code && *kind != TextKind::Preformatted {
                visuals.code_bg_color
            } else {
                Color32::TRANSPARENT
            },
            ..TextFormat::default()
        };
        let start = job.text.len();
        job.append(&run.text, 0.0, format.clone());
        if let Some(link) = run.link {
            links.push((start..job.text.len(), link));
        }
        pieces.push(start..job.text.len());
        formats.push(format);
    }
    if let Some(wrapped) = bidi::layout_wrapped(ui.ctx(), &job.text, &pieces, &formats, wrap) {
        let piece_links: Vec<Option<usize>> = runs.iter().map(|run| run.link).collect();
        let link_boxes = if piece_links.iter().any(Option::is_some) {
            link_boxes(ui.ctx(), &wrapped, &formats, &piece_links)
        } else {
            Vec::new()
        };
        return TextItem {
            galley: wrapped.galley,
            links: Vec::new(),
            bidi: Some(Box::new(BidiItem {
                right: wrapped.shown.rtl,
                width: wrap,
                said: job.text,
                link_boxes,
            })),
        };
    }
    let galley = ui.painter().layout_job(job);
    TextItem {
        galley,
        links,
        bidi: None,
    }
}

/// Where the links of a visual-order text are: each span is measured on its
/// own, left to right along its row.
fn link_boxes(
    ctx: &egui::Context,
    wrapped: &bidi::Wrapped,
    formats: &[TextFormat],
    piece_links: &[Option<usize>],
) -> Vec<(usize, f32, f32, usize)> {
    let galley = &wrapped.galley;
    let row_left = |row: usize| {
        galley.rows.get(row).map_or(0.0, |placed| {
            placed.pos.x + placed.row.glyphs.first().map_or(0.0, |glyph| glyph.pos.x)
        })
    };
    let mut boxes = Vec::new();
    let mut row = 0;
    let mut x = row_left(0);
    for span in &wrapped.shown.spans {
        let Some(format) = formats.get(span.piece) else {
            continue;
        };
        let link = piece_links.get(span.piece).copied().flatten();
        for (index, part) in wrapped.shown.text[span.range.clone()]
            .split('\n')
            .enumerate()
        {
            if index > 0 {
                row += 1;
                x = row_left(row);
            }
            if part.is_empty() {
                continue;
            }
            let job = LayoutJob::single_section(part.to_owned(), format.clone());
            let width = ctx.fonts_mut(|fonts| fonts.layout_job(job)).size().x;
            if let Some(link) = link {
                boxes.push((row, x, x + width, link));
            }
            x += width;
        }
    }
    boxes
}

fn layout_table(ui: &egui::Ui, key: &LayoutKey, table: &Table, row_height: f32) -> Item {
    let left = f32::from(table.quote_depth) * QUOTE_INDENT;
    let columns = table
        .rows
        .iter()
        .map(|row| row.cells.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let available = (key.width - left).max(80.0);
    let pad = 2.0 * CELL_PAD;
    // Natural widths, then shrink the widest columns until the table fits.
    let mut natural = vec![0.0_f32; columns];
    for row in &table.rows {
        for (column, cell) in row.cells.iter().enumerate() {
            let item = layout_runs(ui, key, cell, &TextKind::Paragraph, f32::INFINITY);
            if let Some(width) = natural.get_mut(column) {
                *width = width.max(item.galley.size().x.min(available) + pad);
            }
        }
    }
    let widths = fit_columns(&natural, available, 48.0);
    let mut cells = Vec::with_capacity(table.rows.len());
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut header = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut laid = Vec::with_capacity(row.cells.len());
        let mut height: f32 = row_height;
        for (column, cell) in row.cells.iter().enumerate() {
            let wrap = widths.get(column).copied().unwrap_or(48.0) - pad;
            let item = layout_runs(ui, key, cell, &TextKind::Paragraph, wrap.max(8.0));
            height = height.max(item.galley.size().y + pad);
            laid.push(item);
        }
        cells.push(laid);
        rows.push(height);
        header.push(row.header);
    }
    let height = rows.iter().sum();
    Item {
        kind: ItemKind::Table {
            cells,
            columns: widths,
            rows,
            header,
        },
        left,
        quote: table.quote_depth,
        gap_before: row_height * 0.5,
        height,
    }
}

/// Column widths that fit `available`: narrow columns keep their natural
/// width, the others share the rest in proportion to their natural width.
fn fit_columns(natural: &[f32], available: f32, min: f32) -> Vec<f32> {
    let total: f32 = natural.iter().sum();
    if total <= available {
        return natural.to_vec();
    }
    let fair = available / natural.len().max(1) as f32;
    let narrow: f32 = natural.iter().filter(|w| **w <= fair).sum();
    let wide: f32 = natural.iter().filter(|w| **w > fair).sum();
    let left_over = (available - narrow).max(0.0);
    natural
        .iter()
        .map(|width| {
            if *width <= fair || wide <= 0.0 {
                width.max(min)
            } else {
                (width / wide * left_over).max(min)
            }
        })
        .collect()
}

/// The size an image takes: its texture scaled to fit, or a placeholder.
fn image_size(
    doc: &HtmlDocument,
    index: usize,
    images: &InlineImages,
    remote: RemoteImages,
    available: f32,
) -> Vec2 {
    let available = available.max(40.0);
    let Some(image) = doc.images.get(index) else {
        return Vec2::ZERO;
    };
    if let Some(texture) = ready_texture(image, index, images, remote) {
        let [w, h] = texture.size();
        let (natural_w, natural_h) = (w.max(1) as f32, h.max(1) as f32);
        let mut width = match (image.width, image.height) {
            (Some(width), _) => width,
            (None, Some(height)) => natural_w * height / natural_h,
            (None, None) => natural_w,
        };
        width = width.clamp(1.0, available);
        return Vec2::new(width, width * natural_h / natural_w);
    }
    let width = image.width.unwrap_or(240.0).clamp(120.0, available);
    let height = image.height.unwrap_or(36.0).clamp(36.0, 240.0);
    Vec2::new(width, height)
}

fn ready_texture<'a>(
    image: &ImageRef,
    index: usize,
    images: &'a InlineImages,
    remote: RemoteImages,
) -> Option<&'a TextureHandle> {
    if matches!(image.source, ImageSource::Remote { .. }) && remote == RemoteImages::Blocked {
        return None;
    }
    match images.get(&image.key(index)?) {
        Some(InlineImage::Ready(texture)) => Some(texture),
        _ => None,
    }
}

/// Draws a galley with selection support; reports the link under the
/// pointer and clicks on links.
fn text_ui(
    ui: &mut egui::Ui,
    id: Id,
    pos: Pos2,
    text: &TextItem,
    doc: &HtmlDocument,
    out: &mut HtmlResponse,
) {
    let pos = text.galley_pos(pos);
    let rect = Rect::from_min_size(pos + text.galley.rect.min.to_vec2(), text.galley.size());
    // Click for links, drag for selecting text.
    let mut response = ui.interact(rect, id, Sense::click_and_drag());
    let said = match &text.bidi {
        Some(bidi) => bidi.said.clone(),
        None => text.galley.text().to_owned(),
    };
    response.widget_info(|| WidgetInfo::labeled(Role::Label, true, &said));
    let hovered = response
        .hover_pos()
        .and_then(|pointer| match &text.bidi {
            Some(bidi) => bidi_link_at(&text.galley, &bidi.link_boxes, pointer - pos),
            None => link_at(&text.galley, &text.links, pointer - pos),
        })
        .and_then(|link| doc.links.get(link));
    if let Some(link) = hovered {
        out.hovered_link = Some(link.href.clone());
        out.hovered_warning.clone_from(&link.warning);
        let shown = link.href.clone();
        let warning = link.warning.clone();
        let openable = link.openable;
        response = response.on_hover_ui_at_pointer(|ui| {
            ui.label(format!("Goes to: {shown}"));
            if let Some(warning) = &warning {
                ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {warning}"));
            }
            if !openable {
                ui.label("Herald does not open this kind of link.");
            }
        });
        if response.clicked() && link.openable {
            out.link_clicked = Some(link.href.clone());
        }
    }
    egui::text_selection::LabelSelectionState::label_text_selection(
        ui,
        &response,
        pos,
        Arc::clone(&text.galley),
        ui.visuals().text_color(),
        Stroke::NONE,
    );
}

/// The link under `offset` (relative to where the galley is drawn) in a
/// visual-order text.
fn bidi_link_at(
    galley: &Galley,
    boxes: &[(usize, f32, f32, usize)],
    offset: Vec2,
) -> Option<usize> {
    let row = galley.rows.iter().position(|placed| {
        offset.y >= placed.pos.y && offset.y < placed.pos.y + placed.row.size.y
    })?;
    boxes
        .iter()
        .find(|(box_row, left, right, _)| *box_row == row && offset.x >= *left && offset.x < *right)
        .map(|(_, _, _, link)| *link)
}

/// The link whose text is under `offset` (relative to the galley).
fn link_at(galley: &Galley, links: &[(Range<usize>, usize)], offset: Vec2) -> Option<usize> {
    if links.is_empty() || offset.x < 0.0 || offset.y < 0.0 {
        return None;
    }
    if offset.x > galley.size().x || offset.y > galley.size().y {
        return None;
    }
    let cursor = galley.cursor_from_pos(offset);
    let at = galley.pos_from_cursor(cursor);
    // The cursor sits between characters: the one under the pointer is
    // before it when the pointer is left of the cursor.
    let char_index = if offset.x < at.min.x {
        cursor.index.saturating_sub(1)
    } else {
        cursor.index
    };
    let text = galley.text();
    let byte = text
        .char_indices()
        .nth(char_index.into())
        .map_or(text.len(), |(byte, _)| byte);
    links
        .iter()
        .find(|(range, _)| range.contains(&byte))
        .map(|(_, link)| *link)
}

#[allow(clippy::too_many_arguments)]
fn image_ui(
    ui: &mut egui::Ui,
    id: Id,
    rect: Rect,
    doc: &HtmlDocument,
    index: usize,
    images: &InlineImages,
    remote: RemoteImages,
    out: &mut HtmlResponse,
) {
    let Some(image) = doc.images.get(index) else {
        return;
    };
    let link = image.link.and_then(|link| doc.links.get(link));
    let sense = if link.is_some() {
        Sense::click()
    } else {
        Sense::hover()
    };
    let mut response = ui.interact(rect, id, sense);
    let visuals = ui.visuals().clone();
    if let Some(texture) = ready_texture(image, index, images, remote) {
        let alt = if image.alt.is_empty() {
            "Image".to_owned()
        } else {
            image.alt.clone()
        };
        response.widget_info(|| WidgetInfo::labeled(Role::Image, true, &alt));
        ui.painter().image(
            texture.id(),
            rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        out.images_drawn += 1;
    } else {
        let state = match (&image.source, image.key(index).and_then(|k| images.get(&k))) {
            (ImageSource::Remote { .. }, _) if remote == RemoteImages::Blocked => {
                "remote image blocked"
            }
            (
                ImageSource::Remote {
                    fetchable: None, ..
                },
                _,
            ) => "not loaded",
            (ImageSource::Unavailable, _) => "not shown",
            (_, Some(InlineImage::Failed(_))) => "could not be shown",
            (_, Some(InlineImage::Loading)) => "loading…",
            (ImageSource::Cid(_), None) => "missing",
            _ => "not loaded",
        };
        let label = if image.alt.is_empty() {
            format!("Image ({state})")
        } else {
            format!("{} ({state})", image.alt)
        };
        ui.painter().rect(
            rect,
            3.0,
            visuals.faint_bg_color,
            visuals.widgets.noninteractive.bg_stroke,
            egui::StrokeKind::Inside,
        );
        let galley = ui.painter().layout(
            label.clone(),
            egui::TextStyle::Small.resolve(ui.style()),
            visuals.weak_text_color(),
            (rect.width() - 8.0).max(10.0),
        );
        let text_rect = Align2::LEFT_CENTER
            .anchor_size(Pos2::new(rect.min.x + 4.0, rect.center().y), galley.size());
        ui.painter()
            .with_clip_rect(rect.intersect(ui.clip_rect()))
            .galley(text_rect.min, galley, visuals.weak_text_color());
        response.widget_info(|| WidgetInfo::labeled(Role::Image, true, &label));
    }
    if let Some(link) = link
        && response.hovered()
    {
        out.hovered_link = Some(link.href.clone());
        out.hovered_warning.clone_from(&link.warning);
        let shown = link.href.clone();
        response = response.on_hover_ui_at_pointer(|ui| {
            ui.label(format!("Goes to: {shown}"));
        });
        if response.clicked() && link.openable {
            out.link_clicked = Some(link.href.clone());
        }
    }
}

#[cfg(test)]
mod tests;
