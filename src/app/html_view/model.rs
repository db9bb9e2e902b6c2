//! The document model: untrusted HTML turned into a flat list of styled
//! blocks, with every image and remote reference accounted for.
//!
//! We use html5ever's spec tokenizer (entities, attributes, raw-text
//! elements such as `<script>` and `<style>` are read exactly as a browser
//! would) and build the model ourselves from its tokens with an explicit,
//! bounded stack of open elements. There is no DOM and no recursion, so a
//! 100,000-deep nesting costs linear time and no stack; nothing is executed
//! and nothing is fetched.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use base64::Engine as _;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::url::{self, RefKind};

/// HTML beyond this many bytes is not read (the rest is cut, `truncated` set).
pub const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
/// Elements beyond this many start tags are ignored (`truncated` set).
pub const MAX_ELEMENTS: usize = 50_000;
/// Open elements deeper than this are not tracked (their styling is lost).
pub const MAX_DEPTH: usize = 256;
/// At most this many characters of text are kept.
pub const MAX_TEXT_CHARS: usize = 1_000_000;
/// At most this many blocks are kept.
pub const MAX_BLOCKS: usize = 20_000;
/// A `data:` image larger than this (decoded) is dropped, not decoded.
pub const MAX_DATA_IMAGE_BYTES: usize = 1024 * 1024;
/// All `data:` images of one document together may hold this much.
const MAX_DATA_IMAGES_TOTAL: usize = 8 * 1024 * 1024;
/// A table with more rows or columns than this is shown linearly.
const MAX_GRID_ROWS: usize = 500;
const MAX_GRID_COLUMNS: usize = 16;
/// `<style>` text kept for counting `url()` references.
const MAX_STYLE_BYTES: usize = 512 * 1024;

/// Inline styling of a run of text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TextStyle {
    /// `<b>`, `<strong>`, `<th>`.
    pub bold: bool,
    /// `<i>`, `<em>`, `<cite>`.
    pub italic: bool,
    /// `<u>`, `<ins>`.
    pub underline: bool,
    /// `<s>`, `<strike>`, `<del>`.
    pub strike: bool,
    /// `<code>`, `<tt>`, `<kbd>`, `<samp>`, and everything in `<pre>`.
    pub code: bool,
    /// `<small>`, `<sub>`, `<sup>`.
    pub small: bool,
}

/// A piece of text with one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The text (whitespace already collapsed, except in `<pre>`).
    pub text: String,
    /// How it looks.
    pub style: TextStyle,
    /// Index into [`HtmlDocument::links`] when the run is part of a link.
    pub link: Option<usize>,
}

/// What kind of text block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextKind {
    /// An ordinary paragraph (also a `<div>`, a table cell…).
    Paragraph,
    /// `<h1>`…`<h6>`: the level.
    Heading(u8),
    /// `<pre>`: monospace, whitespace kept.
    Preformatted,
    /// The first paragraph of a list item, with its marker (`•`, `3.`).
    ListItem(String),
}

/// A paragraph-like block of runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextBlock {
    /// What kind of block.
    pub kind: TextKind,
    /// The styled text.
    pub runs: Vec<Run>,
    /// How many `<blockquote>` levels it is in (drawn as bars).
    pub quote_depth: u8,
    /// List nesting level (drawn as indentation).
    pub indent: u8,
}

impl TextBlock {
    /// The plain text of the block.
    pub fn text(&self) -> String {
        self.runs.iter().map(|run| run.text.as_str()).collect()
    }
}

/// One row of a grid table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// Each cell's runs (paragraphs inside a cell are joined by line breaks).
    pub cells: Vec<Vec<Run>>,
    /// True when the row holds `<th>` cells only.
    pub header: bool,
}

/// A table of text only, shown as a grid. Layout tables (with images,
/// nested tables, lists…) are not turned into this: their cells flow as
/// ordinary blocks, which reads better than a squeezed grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The rows, in order.
    pub rows: Vec<TableRow>,
    /// Quote level of the table.
    pub quote_depth: u8,
}

/// A unit of the document, drawn top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph, heading, list item or preformatted text.
    Text(TextBlock),
    /// An image: index into [`HtmlDocument::images`].
    Image(usize),
    /// `<hr>`.
    Rule,
    /// A grid table.
    Table(Table),
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A part of the message, by content id.
    Cid(String),
    /// Bytes from a `data:` URL (at most [`MAX_DATA_IMAGE_BYTES`]).
    Data(Arc<[u8]>),
    /// A remote image: never fetched unless the user allows remote content,
    /// and then only when `fetchable` is set (plain http/https).
    Remote {
        /// The URL as written.
        url: String,
        /// What to GET (http/https only).
        fetchable: Option<String>,
    },
    /// Nothing usable (an unsupported or oversized `data:` URL).
    Unavailable,
}

/// An image in the document (tracking pixels are never listed here).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    /// Where the pixels come from.
    pub source: ImageSource,
    /// The `alt` text (or the `title`), for placeholders and screen readers.
    pub alt: String,
    /// Width asked for by the HTML, in CSS pixels.
    pub width: Option<f32>,
    /// Height asked for by the HTML, in CSS pixels.
    pub height: Option<f32>,
    /// The link around the image, if any (index into [`HtmlDocument::links`]).
    pub link: Option<usize>,
    /// Quote level of the image.
    pub quote_depth: u8,
}

impl ImageRef {
    /// The key of this image in [`super::InlineImages`]: `cid:<id>` for a
    /// message part, the fetch URL for a remote image, `data:#<index>` for
    /// a `data:` image (index in [`HtmlDocument::images`]).
    pub fn key(&self, index: usize) -> Option<String> {
        match &self.source {
            ImageSource::Cid(id) => Some(cid_key(id)),
            ImageSource::Data(_) => Some(format!("data:#{index}")),
            ImageSource::Remote { fetchable, .. } => fetchable.clone(),
            ImageSource::Unavailable => None,
        }
    }
}

/// The [`super::InlineImages`] key of a content id.
pub fn cid_key(content_id: &str) -> String {
    format!("cid:{}", content_id.trim().trim_matches(['<', '>']))
}

/// A link in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The real target, as written (whitespace and controls removed).
    pub href: String,
    /// The visible text (capped).
    pub text: String,
    /// True for http, https and mailto: the only links Herald will open.
    pub openable: bool,
    /// Why this link looks deceptive, if it does (shown on hover and in
    /// the confirmation).
    pub warning: Option<String>,
}

/// Untrusted HTML, parsed into what the view draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HtmlDocument {
    /// The blocks, top to bottom.
    pub blocks: Vec<Block>,
    /// The images that may be shown (tracking pixels excluded).
    pub images: Vec<ImageRef>,
    /// Every link, in order.
    pub links: Vec<Link>,
    /// Remote images and resources that were referenced and not loaded:
    /// remote `<img>`, CSS `url()`/`@import`, `background=`, `<link>`,
    /// `<iframe>`/`<object>`/`<embed>`/media sources, `<script src>`.
    /// Tracking pixels are not included.
    pub remote_refs: usize,
    /// Remote images dropped as tracking pixels (tiny or hidden): never
    /// shown and never loaded, not even when remote content is allowed.
    pub tracking_pixels: usize,
    /// Content ids referenced by `cid:` images, in order, without duplicates.
    pub cid_refs: Vec<String>,
    /// True when a limit was reached and the rest of the document was not read.
    pub truncated: bool,
}

impl HtmlDocument {
    /// Parses untrusted HTML. Pure, bounded (see the `MAX_*` limits) and
    /// never panics: an internal failure yields the text with tags removed.
    pub fn parse(html: &str) -> HtmlDocument {
        let original_len = html.len();
        let html = &html[..html.floor_char_boundary(MAX_HTML_BYTES)];
        let truncated = html.len() < original_len;
        match std::panic::catch_unwind(|| parse_inner(html)) {
            Ok(mut doc) => {
                doc.truncated |= truncated;
                doc
            }
            Err(_) => HtmlDocument {
                blocks: vec![Block::Text(TextBlock {
                    kind: TextKind::Paragraph,
                    runs: vec![Run {
                        text: "(This HTML could not be shown; switch to Plain text.)".into(),
                        style: TextStyle::default(),
                        link: None,
                    }],
                    quote_depth: 0,
                    indent: 0,
                })],
                truncated: true,
                ..HtmlDocument::default()
            },
        }
    }

    /// The number of images that can be fetched once remote content is
    /// allowed (distinct http/https URLs).
    pub fn fetchable_remote_images(&self) -> Vec<String> {
        let mut urls: Vec<String> = Vec::new();
        for image in &self.images {
            if let ImageSource::Remote {
                fetchable: Some(url),
                ..
            } = &image.source
                && !urls.contains(url)
            {
                urls.push(url.clone());
            }
        }
        urls
    }

    /// All visible text, blocks separated by newlines (tests, search, copy).
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Text(text) => {
                    if let TextKind::ListItem(marker) = &text.kind {
                        out.push_str(marker);
                        out.push(' ');
                    }
                    out.push_str(&text.text());
                }
                Block::Table(table) => {
                    for row in &table.rows {
                        let cells: Vec<String> = row
                            .cells
                            .iter()
                            .map(|cell| cell.iter().map(|r| r.text.as_str()).collect())
                            .collect();
                        out.push_str(&cells.join(" | "));
                        out.push('\n');
                    }
                }
                Block::Image(index) => {
                    if let Some(image) = self.images.get(*index) {
                        out.push_str(&format!("[image: {}]", image.alt));
                    }
                }
                Block::Rule => out.push_str("----"),
            }
            out.push('\n');
        }
        out
    }
}

fn parse_inner(html: &str) -> HtmlDocument {
    let sink = Sink {
        builder: RefCell::new(Builder::default()),
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    // Our sink never asks for script execution or a re-decode, so `feed`
    // returns once the input is used up; the loop bound is a safety net.
    for _ in 0..16 {
        let _ = tokenizer.feed(&queue);
        if queue.is_empty() {
            break;
        }
    }
    tokenizer.end();
    tokenizer.sink.builder.into_inner().finish()
}

struct Sink {
    builder: RefCell<Builder>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        let mut builder = self.builder.borrow_mut();
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => builder.start_tag(&tag),
                TagKind::EndTag => {
                    builder.end_tag(&tag.name);
                    TokenSinkResult::Continue
                }
            },
            Token::CharacterTokens(text) => {
                builder.characters(&text);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

/// What an open element changed, to undo when it closes.
#[derive(Debug, Default, Clone)]
struct Open {
    name: String,
    block: bool,
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    code: bool,
    small: bool,
    pre: bool,
    quote: bool,
    hidden: bool,
    style_text: bool,
    heading: Option<u8>,
    list: bool,
    list_item: bool,
    /// The link that was current before this `<a>` opened.
    link: Option<Option<usize>>,
    /// Set on `<table>`, `<tr>`, `<td>`: the table level it belongs to.
    table: Option<TablePart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TablePart {
    Table(usize),
    Row(usize),
    Cell(usize),
}

#[derive(Debug, Default)]
struct ListState {
    ordered: bool,
    next: u64,
}

#[derive(Debug, Default)]
struct TableState {
    start_block: usize,
    rows: Vec<(Vec<Range<usize>>, bool)>,
    row: Option<(Vec<Range<usize>>, bool)>,
    cell: Option<(usize, bool)>,
    simple: bool,
}

#[derive(Debug, Default)]
struct Counters {
    bold: u32,
    italic: u32,
    underline: u32,
    strike: u32,
    code: u32,
    small: u32,
    pre: u32,
    quote: u32,
    hidden: u32,
    heading: Vec<u8>,
}

#[derive(Debug, Default)]
struct Builder {
    doc: HtmlDocument,
    stack: Vec<Open>,
    counters: Counters,
    lists: Vec<ListState>,
    tables: Vec<TableState>,
    current: Vec<Run>,
    pending_marker: Option<String>,
    pending_space: bool,
    link: Option<usize>,
    elements: usize,
    text_chars: usize,
    style_text: String,
    in_style: bool,
    data_bytes: usize,
    stopped: bool,
    /// A raw-text element opened past [`MAX_DEPTH`]: its text is skipped
    /// until its end tag (raw-text elements cannot nest).
    skip_raw: Option<String>,
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "image",
];

const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "address",
    "center",
    "figure",
    "figcaption",
    "dl",
    "dt",
    "dd",
    "form",
    "fieldset",
    "legend",
    "details",
    "summary",
    "caption",
    "body",
    "html",
    "tbody",
    "thead",
    "tfoot",
];

/// Elements whose content is never shown.
const HIDDEN: &[&str] = &[
    "head", "title", "script", "style", "template", "iframe", "object", "applet", "embed",
    "select", "textarea", "button", "svg", "math", "frameset", "noframes", "noembed", "canvas",
    "audio", "video", "map", "datalist", "option", "dialog",
];

impl Builder {
    fn start_tag(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        // Raw-text elements must switch the tokenizer state even after the
        // limits stop us, or their contents would be read as markup.
        let raw = match name {
            "script" => Some(TokenSinkResult::RawData(RawKind::ScriptData)),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                Some(TokenSinkResult::RawData(RawKind::Rawtext))
            }
            "textarea" | "title" => Some(TokenSinkResult::RawData(RawKind::Rcdata)),
            "plaintext" => Some(TokenSinkResult::Plaintext),
            _ => None,
        };
        if self.stopped {
            return raw.unwrap_or(TokenSinkResult::Continue);
        }
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            self.stop();
            return raw.unwrap_or(TokenSinkResult::Continue);
        }
        self.count_remote_attributes(tag);
        let style = attr(tag, "style")
            .map(|s| parse_style(&s))
            .unwrap_or_default();
        let hidden_by_attr = attr(tag, "hidden").is_some()
            || style.display_none
            || style.invisible
            || (name == "img"
                && attr(tag, "aria-hidden").is_some_and(|v| v.eq_ignore_ascii_case("true")));

        match name {
            "br" => {
                self.line_break();
                return TokenSinkResult::Continue;
            }
            "hr" => {
                self.flush();
                if self.counters.hidden == 0 {
                    self.push_block(Block::Rule);
                }
                return TokenSinkResult::Continue;
            }
            "img" | "image" => {
                self.image(tag, &style, hidden_by_attr);
                return TokenSinkResult::Continue;
            }
            "input" if attr(tag, "type").is_some_and(|t| t.eq_ignore_ascii_case("image")) => {
                self.count_ref(attr(tag, "src").as_deref());
                return TokenSinkResult::Continue;
            }
            "link" => {
                if let Some(href) = attr(tag, "href") {
                    self.count_ref(Some(&href));
                }
                return TokenSinkResult::Continue;
            }
            "script" | "iframe" | "embed" | "frame" | "audio" | "video" | "source" | "track" => {
                self.count_ref(attr(tag, "src").as_deref());
            }
            "object" => self.count_ref(attr(tag, "data").as_deref()),
            _ => {}
        }
        // Implicit closes, the common cases of the HTML tree builder.
        match name {
            "li" => self.close_until("li", &["ul", "ol", "menu", "table"]),
            "dt" | "dd" => {
                self.close_until("dt", &["dl", "table"]);
                self.close_until("dd", &["dl", "table"]);
            }
            "td" | "th" => {
                self.close_until("td", &["tr", "table"]);
                self.close_until("th", &["tr", "table"]);
            }
            "tr" => self.close_until("tr", &["table"]),
            "tbody" | "thead" | "tfoot" => {
                self.close_until("tr", &["table"]);
            }
            "option" => self.close_until("option", &["select"]),
            "a" => self.close_until("a", &["table", "td", "th"]),
            _ => {}
        }
        if is_block(name) && self.stack.last().is_some_and(|open| open.name == "p") {
            self.pop();
        }
        if VOID.contains(&name) || tag.self_closing && !is_known_container(name) {
            return raw.unwrap_or(TokenSinkResult::Continue);
        }
        if self.stack.len() >= MAX_DEPTH {
            // Too deep to track: the element's content is kept, its styling
            // lost; raw text (scripts, styles) is skipped.
            self.doc.truncated = true;
            if raw.is_some() && name != "xmp" && name != "plaintext" {
                self.skip_raw = Some(name.to_owned());
            }
            return raw.unwrap_or(TokenSinkResult::Continue);
        }
        let mut open = Open {
            name: name.to_owned(),
            ..Open::default()
        };
        self.apply_open(name, tag, hidden_by_attr, &mut open);
        self.stack.push(open);
        raw.unwrap_or(TokenSinkResult::Continue)
    }

    fn apply_open(&mut self, name: &str, tag: &Tag, hidden: bool, open: &mut Open) {
        if hidden || HIDDEN.contains(&name) {
            open.hidden = true;
            self.counters.hidden += 1;
        }
        if name == "style" {
            open.style_text = true;
            self.in_style = true;
        }
        let block = is_block(name) || matches!(name, "li" | "ul" | "ol" | "blockquote" | "pre");
        if block || name.len() == 2 && name.starts_with('h') || matches!(name, "table" | "tr") {
            self.flush();
            open.block = true;
        }
        match name {
            "b" | "strong" => open.bold = true,
            "i" | "em" | "cite" | "var" | "dfn" => open.italic = true,
            "u" | "ins" => open.underline = true,
            "s" | "strike" | "del" => open.strike = true,
            "code" | "tt" | "kbd" | "samp" => open.code = true,
            "small" | "sub" | "sup" => open.small = true,
            "pre" | "xmp" | "listing" | "plaintext" => open.pre = true,
            "blockquote" => open.quote = true,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name[1..].parse::<u8>().unwrap_or(6);
                open.heading = Some(level);
            }
            "ul" | "ol" | "menu" => {
                open.list = true;
                let start = attr(tag, "start")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(1);
                self.lists.push(ListState {
                    ordered: name == "ol",
                    next: start,
                });
            }
            "li" => {
                open.list_item = true;
                let depth = self.lists.len();
                let marker = match self.lists.last_mut() {
                    Some(list) if list.ordered => {
                        let marker = format!("{}.", list.next);
                        list.next = list.next.saturating_add(1);
                        marker
                    }
                    // Characters every bundled font has.
                    _ => match depth {
                        2 => "–".to_owned(),
                        _ => "•".to_owned(),
                    },
                };
                self.pending_marker = Some(marker);
            }
            "a" => {
                if let Some(href) = attr(tag, "href") {
                    let href = url::clean(&href);
                    let index = self.doc.links.len();
                    self.doc.links.push(Link {
                        openable: url::is_openable(&href),
                        href,
                        text: String::new(),
                        warning: None,
                    });
                    open.link = Some(self.link);
                    self.link = Some(index);
                }
            }
            "th" => open.bold = true,
            _ => {}
        }
        if open.bold {
            self.counters.bold += 1;
        }
        if open.italic {
            self.counters.italic += 1;
        }
        if open.underline {
            self.counters.underline += 1;
        }
        if open.strike {
            self.counters.strike += 1;
        }
        if open.code {
            self.counters.code += 1;
        }
        if open.small {
            self.counters.small += 1;
        }
        if open.pre {
            self.counters.pre += 1;
        }
        if open.quote {
            self.counters.quote += 1;
        }
        if let Some(level) = open.heading {
            self.counters.heading.push(level);
        }
        match name {
            "table" => {
                self.tables.push(TableState {
                    start_block: self.doc.blocks.len(),
                    simple: true,
                    ..TableState::default()
                });
                open.table = Some(TablePart::Table(self.tables.len()));
            }
            "tr" => {
                if let Some(table) = self.tables.last_mut() {
                    table.row = Some((Vec::new(), true));
                    open.table = Some(TablePart::Row(self.tables.len()));
                }
            }
            "td" | "th" => {
                self.flush();
                open.block = true;
                let start = self.doc.blocks.len();
                if let Some(table) = self.tables.last_mut() {
                    if table.row.is_none() {
                        table.row = Some((Vec::new(), true));
                    }
                    table.cell = Some((start, name == "th"));
                    open.table = Some(TablePart::Cell(self.tables.len()));
                }
            }
            _ => {}
        }
    }

    fn end_tag(&mut self, name: &str) {
        if self.stopped {
            return;
        }
        if self.skip_raw.as_deref() == Some(name) {
            self.skip_raw = None;
            return;
        }
        match name {
            "br" => {
                self.line_break();
                return;
            }
            "p" if !self.stack.iter().any(|open| open.name == "p") => {
                self.flush();
                return;
            }
            _ => {}
        }
        // Pop up to the matching element; stray end tags are ignored.
        let Some(position) = self.stack.iter().rposition(|open| open.name == name) else {
            return;
        };
        while self.stack.len() > position {
            self.pop();
        }
    }

    /// Closes the innermost open `name` unless one of `boundaries` is
    /// opened after it.
    fn close_until(&mut self, name: &str, boundaries: &[&str]) {
        let found = self
            .stack
            .iter()
            .rev()
            .take_while(|open| !boundaries.contains(&open.name.as_str()))
            .position(|open| open.name == name);
        if let Some(from_top) = found {
            for _ in 0..=from_top {
                self.pop();
            }
        }
    }

    fn pop(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        if open.block {
            self.flush();
        }
        if open.style_text {
            self.in_style = false;
            let css = std::mem::take(&mut self.style_text);
            self.doc.remote_refs += count_css_refs(&css);
        }
        let dec = |flag: bool, counter: &mut u32| {
            if flag {
                *counter = counter.saturating_sub(1);
            }
        };
        dec(open.hidden, &mut self.counters.hidden);
        dec(open.bold, &mut self.counters.bold);
        dec(open.italic, &mut self.counters.italic);
        dec(open.underline, &mut self.counters.underline);
        dec(open.strike, &mut self.counters.strike);
        dec(open.code, &mut self.counters.code);
        dec(open.small, &mut self.counters.small);
        dec(open.pre, &mut self.counters.pre);
        dec(open.quote, &mut self.counters.quote);
        if open.heading.is_some() {
            self.counters.heading.pop();
        }
        if open.list {
            self.lists.pop();
        }
        if open.list_item {
            self.pending_marker = None;
        }
        if let Some(previous) = open.link {
            if let Some(index) = self.link
                && let Some(link) = self.doc.links.get_mut(index)
            {
                link.warning = url::link_warning(&link.text, &link.href);
            }
            self.link = previous;
        }
        match open.table {
            Some(TablePart::Cell(level)) if level == self.tables.len() => {
                let end = self.doc.blocks.len();
                if let Some(table) = self.tables.last_mut()
                    && let Some((start, header)) = table.cell.take()
                {
                    let cell_blocks = self.doc.blocks.get(start..end).unwrap_or(&[]);
                    let plain = cell_blocks.len() <= 3
                        && cell_blocks.iter().all(|block| {
                            matches!(block, Block::Text(text) if text.kind == TextKind::Paragraph)
                        });
                    table.simple &= plain;
                    if let Some(row) = table.row.as_mut() {
                        row.0.push(start..end);
                        row.1 &= header;
                    }
                }
            }
            Some(TablePart::Row(level)) if level == self.tables.len() => {
                if let Some(table) = self.tables.last_mut()
                    && let Some(row) = table.row.take()
                    && !row.0.is_empty()
                {
                    table.rows.push(row);
                }
            }
            Some(TablePart::Table(level)) if level == self.tables.len() => self.finish_table(),
            _ => {}
        }
    }

    /// Turns a finished text-only table into a grid block; leaves layout
    /// tables as the blocks of their cells.
    fn finish_table(&mut self) {
        let Some(mut table) = self.tables.pop() else {
            return;
        };
        if let Some(row) = table.row.take()
            && !row.0.is_empty()
        {
            table.rows.push(row);
        }
        let columns = table
            .rows
            .iter()
            .map(|(cells, _)| cells.len())
            .max()
            .unwrap_or(0);
        let grid = table.simple
            && (2..=MAX_GRID_COLUMNS).contains(&columns)
            && table.rows.len() <= MAX_GRID_ROWS
            && table.start_block <= self.doc.blocks.len();
        if !grid {
            return;
        }
        let quote_depth = clamp_u8(self.counters.quote);
        let mut rows = Vec::with_capacity(table.rows.len());
        for (cells, header) in &table.rows {
            let mut row = TableRow {
                cells: Vec::with_capacity(cells.len()),
                header: *header,
            };
            for range in cells {
                let mut runs: Vec<Run> = Vec::new();
                for block in self.doc.blocks.get(range.clone()).unwrap_or(&[]) {
                    if let Block::Text(text) = block {
                        if !runs.is_empty() {
                            runs.push(Run {
                                text: "\n".into(),
                                style: TextStyle::default(),
                                link: None,
                            });
                        }
                        runs.extend(text.runs.iter().cloned());
                    }
                }
                row.cells.push(runs);
            }
            rows.push(row);
        }
        self.doc.blocks.truncate(table.start_block);
        self.doc
            .blocks
            .push(Block::Table(Table { rows, quote_depth }));
    }

    fn count_remote_attributes(&mut self, tag: &Tag) {
        for attribute in &tag.attrs {
            let name: &str = &attribute.name.local;
            match name {
                "background" | "poster" | "lowsrc" | "dynsrc" => {
                    self.count_ref(Some(&attribute.value));
                }
                "srcset" if &*tag.name == "source" => self.count_ref(Some(&attribute.value)),
                "style" => self.doc.remote_refs += count_css_refs(&attribute.value),
                _ => {}
            }
        }
    }

    fn count_ref(&mut self, value: Option<&str>) {
        if let Some(value) = value
            && matches!(url::classify(value), RefKind::Remote { .. })
        {
            self.doc.remote_refs += 1;
        }
    }

    fn image(&mut self, tag: &Tag, style: &InlineStyle, hidden: bool) {
        let Some(src) = attr(tag, "src") else {
            return;
        };
        let kind = url::classify(&src);
        let width = attr(tag, "width")
            .and_then(|v| css_pixels(&v))
            .or(style.width);
        let height = attr(tag, "height")
            .and_then(|v| css_pixels(&v))
            .or(style.height);
        let tiny = width.is_some_and(|w| w <= 2.0) || height.is_some_and(|h| h <= 2.0);
        if tiny || hidden || self.counters.hidden > 0 {
            // A tracking pixel (or a hidden image): dropped, never loaded.
            if matches!(kind, RefKind::Remote { .. }) {
                self.doc.tracking_pixels += 1;
            }
            return;
        }
        let source = match kind {
            RefKind::Local => return,
            RefKind::Cid(id) => {
                if !self.doc.cid_refs.contains(&id) {
                    self.doc.cid_refs.push(id.clone());
                }
                ImageSource::Cid(id)
            }
            RefKind::Data => self.data_image(&src),
            RefKind::Remote { url, fetchable } => {
                self.doc.remote_refs += 1;
                ImageSource::Remote { url, fetchable }
            }
        };
        let alt = attr(tag, "alt")
            .or_else(|| attr(tag, "title"))
            .map(|alt| clean_text(&alt).trim().to_owned())
            .unwrap_or_default();
        self.flush();
        let index = self.doc.images.len();
        self.doc.images.push(ImageRef {
            source,
            alt,
            width,
            height,
            link: self.link,
            quote_depth: clamp_u8(self.counters.quote),
        });
        self.push_block(Block::Image(index));
    }

    /// Decodes a small `data:image/…;base64,` URL; anything else is dropped.
    fn data_image(&mut self, src: &str) -> ImageSource {
        let cleaned = url::clean(src);
        let Some((header, payload)) = cleaned.split_once(',') else {
            return ImageSource::Unavailable;
        };
        let header = header.to_ascii_lowercase();
        let supported = super::images::TYPE_NAMES
            .iter()
            .any(|kind| header.starts_with(&format!("data:image/{kind}")));
        if !supported
            || !header.ends_with(";base64")
            || payload.len() / 4 * 3 > MAX_DATA_IMAGE_BYTES
            || self.data_bytes + payload.len() > MAX_DATA_IMAGES_TOTAL
        {
            return ImageSource::Unavailable;
        }
        match base64::engine::general_purpose::STANDARD.decode(payload) {
            Ok(bytes) => {
                self.data_bytes += bytes.len();
                ImageSource::Data(bytes.into())
            }
            Err(_) => ImageSource::Unavailable,
        }
    }

    fn characters(&mut self, text: &str) {
        if self.stopped || self.skip_raw.is_some() {
            return;
        }
        if self.in_style {
            if self.style_text.len() < MAX_STYLE_BYTES {
                self.style_text.push_str(text);
            }
            return;
        }
        if self.counters.hidden > 0 {
            return;
        }
        if let Some(index) = self.link
            && let Some(link) = self.doc.links.get_mut(index)
            && link.text.len() < 512
        {
            link.text.push_str(text);
        }
        let mut out = String::with_capacity(text.len());
        let pre = self.counters.pre > 0;
        for c in text.chars() {
            if pre {
                if c == '\r' {
                    continue;
                }
                if c == '\n' || c == '\t' || !is_invisible(c) {
                    out.push(if c == '\u{a0}' { ' ' } else { c });
                }
                continue;
            }
            if c.is_whitespace() && c != '\u{a0}' {
                self.pending_space = true;
                continue;
            }
            if is_invisible(c) {
                continue;
            }
            let at_start = self.current.is_empty() && out.is_empty();
            let after_newline = out.ends_with('\n')
                || out.is_empty()
                    && self
                        .current
                        .last()
                        .is_some_and(|run| run.text.ends_with('\n'));
            if self.pending_space && !at_start && !after_newline {
                // Between two differently styled runs the space is plain,
                // so no link or underline starts or ends with a space.
                let style = self.style();
                let same = self
                    .current
                    .last()
                    .is_some_and(|run| run.style == style && run.link == self.link);
                if out.is_empty() && !same {
                    let previous = self.current.last().map_or(style, |run| run.style);
                    let plain = TextStyle {
                        bold: style.bold && previous.bold,
                        italic: style.italic && previous.italic,
                        underline: false,
                        strike: false,
                        code: style.code && previous.code,
                        small: style.small && previous.small,
                    };
                    self.push_run(" ".to_owned(), plain, None);
                } else {
                    out.push(' ');
                }
            }
            self.pending_space = false;
            out.push(if c == '\u{a0}' { ' ' } else { c });
        }
        self.push_text(out);
    }

    fn push_text(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        let chars = text.chars().count();
        if self.text_chars + chars > MAX_TEXT_CHARS {
            self.stop();
            return;
        }
        self.text_chars += chars;
        let style = self.style();
        let link = self.link;
        self.push_run(text, style, link);
    }

    fn push_run(&mut self, text: String, style: TextStyle, link: Option<usize>) {
        match self.current.last_mut() {
            Some(run) if run.style == style && run.link == link => run.text.push_str(&text),
            _ => self.current.push(Run { text, style, link }),
        }
    }

    fn line_break(&mut self) {
        if self.stopped || self.counters.hidden > 0 || self.current.is_empty() {
            return;
        }
        self.pending_space = false;
        self.push_text("\n".to_owned());
    }

    fn style(&self) -> TextStyle {
        TextStyle {
            bold: self.counters.bold > 0,
            italic: self.counters.italic > 0,
            underline: self.counters.underline > 0,
            strike: self.counters.strike > 0,
            code: self.counters.code > 0 || self.counters.pre > 0,
            small: self.counters.small > 0,
        }
    }

    /// Ends the current paragraph (if it has visible text).
    fn flush(&mut self) {
        self.pending_space = false;
        let mut runs = std::mem::take(&mut self.current);
        while let Some(last) = runs.last_mut() {
            let trimmed = last.text.trim_end().len();
            last.text.truncate(trimmed);
            if last.text.is_empty() {
                runs.pop();
            } else {
                break;
            }
        }
        if runs.iter().all(|run| run.text.trim().is_empty()) {
            return;
        }
        let kind = if self.counters.pre > 0 {
            TextKind::Preformatted
        } else if let Some(level) = self.counters.heading.last() {
            TextKind::Heading(*level)
        } else if let Some(marker) = self.pending_marker.take() {
            TextKind::ListItem(marker)
        } else {
            TextKind::Paragraph
        };
        self.push_block(Block::Text(TextBlock {
            kind,
            runs,
            quote_depth: clamp_u8(self.counters.quote),
            indent: clamp_u8(u32::try_from(self.lists.len()).unwrap_or(u32::MAX)),
        }));
    }

    fn push_block(&mut self, block: Block) {
        if self.doc.blocks.len() >= MAX_BLOCKS {
            self.stop();
            return;
        }
        self.doc.blocks.push(block);
    }

    fn stop(&mut self) {
        self.doc.truncated = true;
        self.stopped = true;
    }

    fn finish(mut self) -> HtmlDocument {
        let was_stopped = self.stopped;
        self.stopped = false;
        while !self.stack.is_empty() {
            self.pop();
        }
        self.flush();
        self.doc.truncated |= was_stopped;
        self.doc
    }
}

fn clamp_u8(value: u32) -> u8 {
    u8::try_from(value).unwrap_or(u8::MAX)
}

fn is_block(name: &str) -> bool {
    BLOCKS.contains(&name)
        || matches!(
            name,
            "ul" | "ol"
                | "menu"
                | "li"
                | "blockquote"
                | "pre"
                | "table"
                | "tr"
                | "td"
                | "th"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "hr"
                | "xmp"
                | "listing"
                | "plaintext"
        )
}

/// Elements that `<x/>` does not close in HTML (the slash is ignored).
fn is_known_container(name: &str) -> bool {
    is_block(name) || HIDDEN.contains(&name) || matches!(name, "a" | "span" | "b" | "i")
}

fn attr(tag: &Tag, name: &str) -> Option<String> {
    tag.attrs
        .iter()
        .find(|attribute| &*attribute.name.local == name)
        .map(|attribute| attribute.value.to_string())
}

/// Characters that draw nothing (or reorder text) and are used to hide or
/// spoof content: controls, zero-width and bidi formatting characters.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !is_invisible(*c))
        .collect()
}

/// What we read from a `style` attribute.
#[derive(Debug, Default, Clone, Copy)]
struct InlineStyle {
    display_none: bool,
    invisible: bool,
    width: Option<f32>,
    height: Option<f32>,
}

fn parse_style(style: &str) -> InlineStyle {
    let mut out = InlineStyle::default();
    for declaration in style.split(';') {
        let Some((property, value)) = declaration.split_once(':') else {
            continue;
        };
        let property = property.trim().to_ascii_lowercase();
        let value = value
            .trim()
            .trim_end_matches("!important")
            .trim()
            .to_ascii_lowercase();
        match property.as_str() {
            "display" if value == "none" => out.display_none = true,
            "visibility" if value == "hidden" || value == "collapse" => out.invisible = true,
            "opacity" if value.parse::<f32>().is_ok_and(|o| o <= 0.01) => out.invisible = true,
            "max-height" | "max-width" if css_pixels(&value).is_some_and(|v| v <= 0.0) => {
                out.invisible = true;
            }
            "width" => out.width = css_pixels(&value),
            "height" => out.height = css_pixels(&value),
            _ => {}
        }
    }
    out
}

/// `12`, `12px`, `12.5px` → pixels; percentages and other units → `None`.
fn css_pixels(value: &str) -> Option<f32> {
    let value = value.trim().to_ascii_lowercase();
    let number = value.strip_suffix("px").unwrap_or(&value).trim();
    number
        .parse::<f32>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

/// Remote references in CSS text: every `url(…)` that is not `cid:`,
/// `data:` or a fragment, and every `@import "…"`.
fn count_css_refs(css: &str) -> usize {
    let lower = css.to_ascii_lowercase();
    let mut count = 0;
    let mut rest = lower.as_str();
    while let Some(pos) = rest.find("url(") {
        let after = &rest[pos + 4..];
        let end = after.find(')').unwrap_or(after.len());
        let value = after[..end].trim().trim_matches(['"', '\'']);
        if matches!(url::classify(value), RefKind::Remote { .. }) {
            count += 1;
        }
        rest = &after[end..];
    }
    let mut rest = lower.as_str();
    while let Some(pos) = rest.find("@import") {
        let after = rest[pos + 7..].trim_start();
        if after.starts_with('"') || after.starts_with('\'') {
            count += 1;
        }
        rest = after;
    }
    count
}
