//! Right-to-left text (Arabic, Hebrew, Persian, Urdu…) in read-only views.
//!
//! egui 0.37 shapes text with harfrust, one run at a time. A run is the part
//! of one layout section drawn with one font face, and harfrust guesses its
//! direction from its first letter; there is no bidirectional algorithm. So
//! with our fonts an Arabic word (drawn by the fallback face) comes out
//! joined and right to left, but the words of a sentence stay in the order
//! they were written, from left to right. Worse, a face that has Latin and
//! Arabic letters (DejaVu Sans Bold, our `bold` family: unread rows, the
//! reader's subject) makes the whole line one run: "Re: اجتماع" is then
//! shaped as Latin, its Arabic letters unjoined, and a bold line that starts
//! in Arabic is mirrored whole, English included.
//!
//! For text that has right-to-left characters, [`Shown`] is what egui must
//! be given instead:
//!
//! 1. The Unicode Bidirectional Algorithm (UAX #9, crate `unicode-bidi`)
//!    gives each grapheme its level, and each *line* is put in visual order
//!    (rules L1, L2), with brackets mirrored at odd levels (L4) and the
//!    invisible bidi controls dropped.
//! 2. Every stretch of right-to-left-script graphemes becomes a layout
//!    section of its own, given to egui reversed (that is, in the order it
//!    was written): harfrust sees Arabic or Hebrew first, joins the letters
//!    and reverses the stretch back, in any face. The other sections never
//!    start with a right-to-left letter, so harfrust keeps their order.
//! 3. Wrapped text ([`layout_wrapped`]) is broken into lines in logical
//!    order first (at spaces, measured on a one-row egui layout of the same
//!    sections), then each line is reordered, and the lines are laid out with
//!    explicit breaks, right-aligned when the paragraph is right to left.
//!
//! Text without right-to-left characters is never touched ([`needs_bidi`]
//! is a quick check). Editable text (the composer, the search box) is not
//! transformed: egui's `TextEdit` lays out its own string.
//!
//! Copying from a transformed label copies the string egui was given (words
//! of a right-to-left line in visual order), not the message's text; the
//! accessibility label of each transformed text is the original string.

use std::ops::Range;
use std::sync::Arc;

use egui::text::{ByteIndex, LayoutJob, LayoutSection, TextFormat};
use unicode_bidi::{BidiClass, BidiInfo, Level};
use unicode_segmentation::UnicodeSegmentation;

/// True for a character of a right-to-left script block: Hebrew, Arabic,
/// Syriac, Thaana, NKo, Samaritan, Mandaic, the Arabic presentation forms,
/// and the historic right-to-left scripts of the supplementary planes.
pub fn is_rtl_char(c: char) -> bool {
    matches!(c,
        '\u{0590}'..='\u{08FF}'
        | '\u{FB1D}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFE}'
        | '\u{10800}'..='\u{10FFF}'
        | '\u{1E800}'..='\u{1EFFF}')
}

/// True when harfrust takes `c` (of a right-to-left block) for a letter of
/// its script, rather than a character of no script (punctuation, tatweel,
/// vowel marks), when it guesses a run's direction.
fn has_rtl_script(c: char) -> bool {
    is_rtl_char(c)
        && !matches!(
            c,
            '\u{060C}' | '\u{061B}' | '\u{061C}' | '\u{061F}' | '\u{0640}' | '\u{064B}'
                ..='\u{0655}' | '\u{0670}' | '\u{06DD}' | '\u{08E2}' | '\u{FD3E}' | '\u{FD3F}'
        )
}

/// Quick check: does `text` need [`Shown`]? False for text without
/// right-to-left characters, which is then shown as it is. Bytes below
/// 0xD6 (ASCII, Latin, Greek, Cyrillic) cannot start such a character, so
/// most text is answered by a byte scan.
pub fn needs_bidi(text: &str) -> bool {
    text.bytes().any(|byte| byte >= 0xD6) && text.chars().any(is_rtl_char)
}

/// One layout section of a [`Shown`] text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Its bytes in [`Shown::text`].
    pub range: Range<usize>,
    /// Which of the caller's pieces (formats) it comes from.
    pub piece: usize,
    /// A right-to-left stretch given in written order: egui reverses it.
    pub reversed: bool,
}

/// Text prepared for egui: visual order, cut into sections (see the module
/// documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    /// The text in the order egui must be given it; lines end with `\n`.
    pub text: String,
    /// Consecutive pieces of `text`, each to be its own layout section.
    pub spans: Vec<Span>,
    /// The first paragraph is right to left (align it to the right).
    pub rtl: bool,
}

/// A grapheme of the logical text with its embedding level.
#[derive(Debug, Clone)]
struct Unit {
    range: Range<usize>,
    level: Level,
    class: BidiClass,
    /// Of a right-to-left block: egui draws it in a run of its own face.
    rtl_block: bool,
    /// Has a letter of a right-to-left script (harfrust reverses its run).
    scripted: bool,
}

impl Shown {
    /// `text` prepared for egui, or `None` when it has no right-to-left
    /// characters (then show `text` itself). Lines are not wrapped: for
    /// labels that are cut, not wrapped (list rows, names).
    pub fn line(text: &str) -> Option<Shown> {
        if !needs_bidi(text) {
            return None;
        }
        Some(build(text, &|_| 0, &mut |_, _| vec![0]))
    }

    /// The text as it appears on screen, left to right (the reversed spans
    /// turned back).
    pub fn visual(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        for span in &self.spans {
            let part = &self.text[span.range.clone()];
            if span.reversed {
                out.extend(part.graphemes(true).rev());
            } else {
                out.push_str(part);
            }
        }
        out
    }

    /// A layout job with one section per span, formatted by `format` (given
    /// the span's piece), right-aligned when the text is right to left.
    pub fn job(&self, format: impl Fn(usize) -> TextFormat) -> LayoutJob {
        let mut job = LayoutJob {
            text: self.text.clone(),
            halign: if self.rtl {
                egui::Align::RIGHT
            } else {
                egui::Align::LEFT
            },
            ..LayoutJob::default()
        };
        for span in &self.spans {
            job.sections.push(LayoutSection {
                leading_space: 0.0,
                byte_range: ByteIndex(span.range.start)..ByteIndex(span.range.end),
                format: format(span.piece),
            });
        }
        job
    }

    /// A single-format job (see [`Shown::job`]).
    pub fn simple_job(&self, font: egui::FontId, color: egui::Color32) -> LayoutJob {
        self.job(|_| TextFormat::simple(font.clone(), color))
    }
}

/// Builds a [`Shown`]: `piece_of` names the caller's piece of a logical byte
/// offset; `rows_of` breaks a paragraph (its units, its text) into rows,
/// returning the index of the first unit of each row (at least `[0]`).
fn build(
    text: &str,
    piece_of: &dyn Fn(usize) -> usize,
    rows_of: &mut dyn FnMut(&[Unit], &str) -> Vec<usize>,
) -> Shown {
    let info = BidiInfo::new(text, None);
    let mut out = Shown {
        rtl: info
            .paragraphs
            .first()
            .is_some_and(|paragraph| paragraph.level.is_rtl()),
        ..Shown::default()
    };
    for (index, paragraph) in info.paragraphs.iter().enumerate() {
        if index > 0 {
            push_newline(&mut out, piece_of(paragraph.range.start));
        }
        let mut end = paragraph.range.end;
        // The paragraph separator (`\n`, `\r\n`, U+2029…) is not shown.
        while end > paragraph.range.start {
            let Some(last) = text[..end].chars().next_back() else {
                break;
            };
            if info.original_classes[end - last.len_utf8()] != BidiClass::B {
                break;
            }
            end -= last.len_utf8();
        }
        let units = units(&info, paragraph.range.start..end);
        if units.is_empty() {
            continue;
        }
        let mut starts = rows_of(&units, text);
        starts.retain(|start| *start < units.len());
        if starts.first() != Some(&0) {
            starts.insert(0, 0);
        }
        for (row, start) in starts.iter().enumerate() {
            let mut stop = starts.get(row + 1).copied().unwrap_or(units.len());
            if row + 1 < starts.len() {
                // The spaces a row was broken at are not shown.
                while stop > *start && units[stop - 1].class == BidiClass::WS {
                    stop -= 1;
                }
            }
            if row > 0 {
                push_newline(&mut out, piece_of(units[*start].range.start));
            }
            push_row(
                text,
                &units[*start..stop],
                paragraph.level,
                piece_of,
                Order::Visual,
                &mut out,
            );
        }
    }
    out
}

fn is_control(class: BidiClass, c: char) -> bool {
    use BidiClass::{FSI, LRE, LRI, LRO, PDF, PDI, RLE, RLI, RLO};
    matches!(class, LRE | RLE | LRO | RLO | PDF | LRI | RLI | FSI | PDI)
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The graphemes of `range` (one paragraph, separator excluded) with their
/// levels, bidi controls left out.
fn units(info: &BidiInfo<'_>, range: Range<usize>) -> Vec<Unit> {
    let text = info.text;
    text[range.clone()]
        .grapheme_indices(true)
        .filter_map(|(offset, grapheme)| {
            let start = range.start + offset;
            let first = grapheme.chars().next()?;
            let class = info.original_classes[start];
            if grapheme.chars().count() == 1 && is_control(class, first) {
                return None;
            }
            Some(Unit {
                range: start..start + grapheme.len(),
                level: info.levels[start],
                class,
                rtl_block: is_rtl_char(first),
                scripted: grapheme.chars().any(has_rtl_script),
            })
        })
        .collect()
}

fn push_newline(out: &mut Shown, piece: usize) {
    let start = out.text.len();
    out.text.push('\n');
    note_plain_text(out, start, piece);
}

/// Records `out.text[start..]`, just pushed, as plain text of `piece`:
/// extends the last span when that one is plain text of the same piece and
/// ends at `start`, else opens a new one.
fn note_plain_text(out: &mut Shown, start: usize, piece: usize) {
    match out.spans.last_mut() {
        Some(last) if !last.reversed && last.piece == piece && last.range.end == start => {
            last.range.end = out.text.len();
        }
        _ => out.spans.push(Span {
            range: start..out.text.len(),
            piece,
            reversed: false,
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// For display: lines in visual order.
    Visual,
    /// For measuring: everything as written (same sections, same widths).
    Written,
}

/// Appends one line in visual (or written) order.
fn push_row(
    text: &str,
    units: &[Unit],
    paragraph_level: Level,
    piece_of: &dyn Fn(usize) -> usize,
    order_kind: Order,
    out: &mut Shown,
) {
    // Rule L1: separators, and whitespace before them or at the end of the
    // line, take the paragraph's level.
    let mut levels: Vec<Level> = units.iter().map(|unit| unit.level).collect();
    let mut trailing = true;
    for (unit, level) in units.iter().zip(levels.iter_mut()).rev() {
        use BidiClass::{B, FSI, LRI, PDI, RLI, S, WS};
        match unit.class {
            S | B => {
                *level = paragraph_level;
                trailing = true;
            }
            WS | FSI | LRI | RLI | PDI if trailing => *level = paragraph_level,
            _ => trailing = false,
        }
    }
    // Rule L2.
    let order = match order_kind {
        Order::Visual => BidiInfo::reorder_visual(&levels),
        Order::Written => (0..units.len()).collect(),
    };
    let mut at = 0;
    while at < order.len() {
        let unit = &units[order[at]];
        let piece = piece_of(unit.range.start);
        let start = out.text.len();
        if unit.rtl_block {
            let mut end = at + 1;
            while end < order.len()
                && units[order[end]].rtl_block
                && piece_of(units[order[end]].range.start) == piece
            {
                end += 1;
            }
            let group = &order[at..end];
            let reversed = group.iter().any(|index| units[*index].scripted);
            if reversed && order_kind == Order::Visual {
                for index in group.iter().rev() {
                    out.text.push_str(&text[units[*index].range.clone()]);
                }
            } else {
                for index in group {
                    out.text.push_str(&text[units[*index].range.clone()]);
                }
            }
            out.spans.push(Span {
                range: start..out.text.len(),
                piece,
                reversed,
            });
            at = end;
            continue;
        }
        let grapheme = &text[unit.range.clone()];
        let odd = order_kind == Order::Visual && levels[order[at]].is_rtl();
        match mirrored(grapheme).filter(|_| odd) {
            Some(mirror) => out.text.push(mirror),
            None => out.text.push_str(grapheme),
        }
        note_plain_text(out, start, piece);
        at += 1;
    }
}

/// Rule L4 for the common paired characters (Bidi_Mirrored).
fn mirrored(grapheme: &str) -> Option<char> {
    let mut chars = grapheme.chars();
    let c = chars.next()?;
    if chars.next().is_some() {
        return None;
    }
    Some(match c {
        '(' => ')',
        ')' => '(',
        '[' => ']',
        ']' => '[',
        '{' => '}',
        '}' => '{',
        '<' => '>',
        '>' => '<',
        '«' => '»',
        '»' => '«',
        '‹' => '›',
        '›' => '‹',
        '≤' => '≥',
        '≥' => '≤',
        '⁅' => '⁆',
        '⁆' => '⁅',
        '⁽' => '⁾',
        '⁾' => '⁽',
        '₍' => '₎',
        '₎' => '₍',
        _ => return None,
    })
}

/// Wrapped text with right-to-left characters, laid out.
#[derive(Debug, Clone)]
pub struct Wrapped {
    /// Right-aligned (its `rect.right()` is 0) when [`Shown::rtl`].
    pub galley: Arc<egui::Galley>,
    /// What the galley was laid out from; a span's piece is an index into
    /// the caller's pieces.
    pub shown: Shown,
}

/// Lays out `text`, whose byte ranges `pieces` have the formats `formats`
/// (same length, in order, covering `text`), wrapped at `wrap_width`, each
/// line in visual order. `None` when `text` has no right-to-left characters
/// (lay it out as usual then).
pub fn layout_wrapped(
    ctx: &egui::Context,
    text: &str,
    pieces: &[Range<usize>],
    formats: &[TextFormat],
    wrap_width: f32,
) -> Option<Wrapped> {
    if !needs_bidi(text) || pieces.is_empty() || pieces.len() != formats.len() {
        return None;
    }
    let piece_of = |byte: usize| {
        pieces
            .partition_point(|piece| piece.end <= byte)
            .min(pieces.len() - 1)
    };
    let format = |piece: usize| formats[piece.min(formats.len() - 1)].clone();
    let mut rows_of = |units: &[Unit], text: &str| {
        if !wrap_width.is_finite() {
            return vec![0];
        }
        break_rows(ctx, units, text, &piece_of, &format, wrap_width)
    };
    let shown = build(text, &piece_of, &mut rows_of);
    let job = shown.job(format);
    let galley = ctx.fonts_mut(|fonts| fonts.layout_job(job));
    Some(Wrapped { galley, shown })
}

/// Breaks one paragraph into rows no wider than `wrap_width` where it can,
/// at spaces: egui lays the paragraph out on one row, in written order and
/// with the same sections as the final text (so with the same widths), and
/// the space glyphs tell where each word ends.
fn break_rows(
    ctx: &egui::Context,
    units: &[Unit],
    text: &str,
    piece_of: &dyn Fn(usize) -> usize,
    format: &dyn Fn(usize) -> TextFormat,
    wrap_width: f32,
) -> Vec<usize> {
    let is_space = |unit: &Unit| &text[unit.range.clone()] == " ";
    if !units.iter().any(is_space) {
        return vec![0];
    }
    // Written order, with the sections cut exactly as for display.
    let mut measure = Shown::default();
    push_row(
        text,
        units,
        Level::ltr(),
        piece_of,
        Order::Written,
        &mut measure,
    );
    let job = measure.job(format);
    let galley = ctx.fonts_mut(|fonts| fonts.layout_job(job));
    // Where each space starts and ends, in order.
    let mut spaces = galley
        .rows
        .iter()
        .flat_map(|row| {
            let x = row.pos.x;
            row.glyphs
                .iter()
                .filter(|glyph| glyph.chr == ' ')
                .map(move |glyph| (x + glyph.pos.x, x + glyph.max_x()))
        })
        .collect::<Vec<(f32, f32)>>()
        .into_iter();
    let total = galley.rect.width();
    // Each word: its first unit, where it starts and where it ends (before
    // the space after it).
    let mut words: Vec<(usize, f32, f32)> = Vec::new();
    let mut word_start = None;
    let mut after_space = 0.0;
    for (index, unit) in units.iter().enumerate() {
        if is_space(unit) {
            let (start, end) = spaces.next().unwrap_or((total, total));
            if let Some((first, start_x)) = word_start.take() {
                words.push((first, start_x, start));
            }
            after_space = end;
        } else if word_start.is_none() {
            word_start = Some((index, after_space));
        }
    }
    if let Some((first, start_x)) = word_start {
        words.push((first, start_x, total));
    }
    let mut starts = vec![0];
    let mut row_x = 0.0;
    for (first, start_x, end_x) in words {
        if first > 0 && end_x - row_x > wrap_width && start_x > row_x {
            starts.push(first);
            row_x = start_x;
        }
    }
    starts
}

/// Appends `text` to `job` in `format`: as it is, or in visual order with
/// its right-to-left stretches as sections of their own (names in a list of
/// addresses: each is a unit of its own, in a left-to-right line).
pub fn append(job: &mut LayoutJob, text: &str, format: &TextFormat) {
    let Some(shown) = Shown::line(text) else {
        job.append(text, 0.0, format.clone());
        return;
    };
    let offset = job.text.len();
    job.text.push_str(&shown.text);
    for span in &shown.spans {
        job.sections.push(LayoutSection {
            leading_space: 0.0,
            byte_range: ByteIndex(offset + span.range.start)..ByteIndex(offset + span.range.end),
            format: format.clone(),
        });
    }
}

/// What a wrapped layout depends on.
#[derive(Debug, Clone, PartialEq)]
struct WrapKey {
    width: f32,
    font: egui::FontId,
    color: egui::Color32,
}

/// Layouts are made for widths in steps of this many points (as in the HTML
/// view), so dragging a window edge does not lay text out every frame.
const WIDTH_STEP: f32 = 16.0;

fn width_step(width: f32) -> f32 {
    ((width / WIDTH_STEP).floor() * WIDTH_STEP).max(WIDTH_STEP)
}

/// A read-only text of one format that may have right-to-left lines: laid
/// out in blocks of lines of one direction (right-to-left ones wrapped by
/// [`layout_wrapped`] and aligned to the right), once per width step, font
/// and colour; drawn selectable, only the blocks in view. The reader's
/// plain-text body and subject.
#[derive(Debug)]
pub struct BidiText {
    text: String,
    /// Consecutive lines of one base direction (lines without a strong
    /// letter join the block before them).
    blocks: Vec<Range<usize>>,
    layout: Option<(WrapKey, Vec<Laid>, f32)>,
}

#[derive(Debug)]
struct Laid {
    galley: Arc<egui::Galley>,
    right: bool,
    top: f32,
}

impl BidiText {
    /// `text` prepared for drawing.
    pub fn new(text: String) -> BidiText {
        let mut blocks: Vec<(Range<usize>, bool)> = Vec::new();
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let end = start + line.len();
            let rtl = match unicode_bidi::get_base_direction(line) {
                unicode_bidi::Direction::Rtl => Some(true),
                unicode_bidi::Direction::Ltr => Some(false),
                unicode_bidi::Direction::Mixed => None,
            };
            match blocks.last_mut() {
                Some((range, block_rtl)) if rtl.is_none_or(|rtl| rtl == *block_rtl) => {
                    range.end = end;
                }
                _ => blocks.push((start..end, rtl.unwrap_or(false))),
            }
            start = end;
        }
        // The newline that ends a block is the break between two galleys.
        let blocks = blocks
            .into_iter()
            .map(|(range, _)| {
                let block = &text[range.clone()];
                range.start..range.start + block.trim_end_matches(['\n', '\r']).len()
            })
            .collect();
        BidiText {
            text,
            blocks,
            layout: None,
        }
    }

    /// The text as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn lay_out(
        &mut self,
        ctx: &egui::Context,
        width: f32,
        font: &egui::FontId,
        color: egui::Color32,
    ) {
        let key = WrapKey {
            width: width_step(width),
            font: font.clone(),
            color,
        };
        if self
            .layout
            .as_ref()
            .is_some_and(|(laid_key, _, _)| *laid_key == key)
        {
            return;
        }
        let format = TextFormat::simple(font.clone(), color);
        let mut laid = Vec::with_capacity(self.blocks.len());
        let mut top = 0.0;
        for block in &self.blocks {
            let text = &self.text[block.clone()];
            let (galley, right) = match layout_wrapped(
                ctx,
                text,
                std::slice::from_ref(&(0..text.len())),
                std::slice::from_ref(&format),
                key.width,
            ) {
                Some(wrapped) => (wrapped.galley, wrapped.shown.rtl),
                None => {
                    let mut job = LayoutJob::single_section(text.to_owned(), format.clone());
                    job.wrap.max_width = key.width;
                    (ctx.fonts_mut(|fonts| fonts.layout_job(job)), false)
                }
            };
            let height = galley.size().y;
            laid.push(Laid { galley, right, top });
            top += height;
        }
        self.layout = Some((key, laid, top));
    }

    /// Draws the text at the cursor, as wide as the space left, selectable;
    /// only the blocks that intersect `viewport` (in the `ui`'s coordinates
    /// relative to its top, as a scroll area's `show_viewport` gives it; or
    /// `None` for all) are painted.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        font: &egui::FontId,
        color: egui::Color32,
        viewport: Option<egui::Rect>,
    ) {
        let width = ui.available_width().max(WIDTH_STEP);
        self.lay_out(ui.ctx(), width, font, color);
        let Some((_, laid, total)) = &self.layout else {
            return;
        };
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width, *total), egui::Sense::hover());
        let base = ui.scope_id().with("bidi-text");
        for (index, item) in laid.iter().enumerate() {
            let height = item.galley.size().y;
            if let Some(viewport) = viewport
                && (item.top > viewport.max.y || item.top + height < viewport.min.y)
            {
                continue;
            }
            let x = if item.right {
                rect.right()
            } else {
                rect.left()
            };
            let pos = egui::pos2(x, rect.top() + item.top);
            let galley_rect =
                egui::Rect::from_min_size(pos + item.galley.rect.min.to_vec2(), item.galley.size());
            let response =
                ui.interact(galley_rect, base.with(index), egui::Sense::click_and_drag());
            let logical = &self.text[self.blocks[index].clone()];
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, logical));
            egui::text_selection::LabelSelectionState::label_text_selection(
                ui,
                &response,
                pos,
                Arc::clone(&item.galley),
                color,
                egui::Stroke::NONE,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reversed(text: &str) -> String {
        text.graphemes(true).rev().collect()
    }

    #[test]
    fn text_without_right_to_left_letters_is_left_alone() {
        for text in [
            "Hello, world",
            "Привет, мир",
            "你好，世界",
            "café 10:00 (ok)",
            "",
        ] {
            assert!(!needs_bidi(text), "{text}");
            assert_eq!(Shown::line(text), None, "{text}");
        }
    }

    #[test]
    fn hebrew_reads_right_to_left_word_by_word() {
        let shown = Shown::line("שלום עולם").expect("hebrew");
        assert!(shown.rtl);
        assert_eq!(shown.visual(), reversed("שלום עולם"));
        // egui gets the words in visual order, each as written (its shaper
        // reverses a Hebrew run itself), each its own section.
        assert_eq!(shown.text, "עולם שלום");
        let reversed_spans: Vec<&str> = shown
            .spans
            .iter()
            .filter(|span| span.reversed)
            .map(|span| &shown.text[span.range.clone()])
            .collect();
        assert_eq!(reversed_spans, ["עולם", "שלום"]);
    }

    #[test]
    fn a_mixed_subject_keeps_english_and_numbers_in_place() {
        let shown = Shown::line("Re: اجتماع الغد at 10:00").expect("arabic");
        assert!(!shown.rtl, "the line starts in English");
        assert_eq!(
            shown.visual(),
            format!("Re: {} at 10:00", reversed("اجتماع الغد"))
        );
        assert_eq!(shown.text, "Re: الغد اجتماع at 10:00");
    }

    #[test]
    fn an_arabic_line_puts_english_and_numbers_on_the_left() {
        let shown = Shown::line("الاجتماع غدا at 10:00").expect("arabic");
        assert!(shown.rtl);
        assert_eq!(
            shown.visual(),
            format!("at 10:00 {} {}", reversed("غدا"), reversed("الاجتماع"))
        );
    }

    #[test]
    fn brackets_are_mirrored_and_arabic_digits_read_left_to_right() {
        let shown = Shown::line("(مرحبا) عام ٢٠٢٤").expect("arabic");
        assert_eq!(
            shown.visual(),
            format!("٢٠٢٤ {} ({})", reversed("عام"), reversed("مرحبا"))
        );
        // The digits are a right-to-left-script run for egui's shaper, so
        // they are handed over reversed too.
        assert!(shown.text.starts_with("٤٢٠٢ "), "{}", shown.text);
    }

    #[test]
    fn bidi_controls_are_dropped_and_paragraphs_keep_their_lines() {
        let shown = Shown::line("\u{200F}שלום\nhello עולם").expect("hebrew");
        assert_eq!(shown.visual(), format!("{}\nhello {}", "םולש", "םלוע"));
    }

    /// A context with Herald's fonts: egui's, then the system's DejaVu Sans
    /// for Arabic and Hebrew, and DejaVu Sans Bold as the `bold` family.
    fn system_fonts() -> egui::Context {
        let dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
        assert!(
            std::path::Path::new(dejavu).exists(),
            "these tests need DejaVu Sans (Debian: fonts-dejavu-core)"
        );
        let ctx = egui::Context::default();
        crate::app::fonts::install_fallback_fonts(&ctx);
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
        ctx
    }

    /// The characters egui draws, left to right, and their advances (the
    /// zero-width glyphs it adds for the letters of a right-to-left run
    /// draw nothing and are left out).
    fn drawn(ctx: &egui::Context, job: LayoutJob) -> (String, Vec<f32>) {
        let galley = ctx.fonts_mut(|fonts| fonts.layout_job(job));
        let glyphs: Vec<_> = galley
            .rows
            .iter()
            .flat_map(|row| row.glyphs.iter())
            .filter(|glyph| glyph.advance_width > 0.0)
            .collect();
        (
            glyphs.iter().map(|glyph| glyph.chr).collect(),
            glyphs.iter().map(|glyph| glyph.advance_width).collect(),
        )
    }

    fn finish(ctx: &egui::Context) {
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
    }

    fn fonts(ctx: &egui::Context) -> [egui::FontId; 2] {
        let regular = egui::FontId::proportional(14.0);
        let bold = crate::app::fonts::bold(ctx, regular.clone());
        assert_ne!(regular, bold, "no bold family");
        [regular, bold]
    }

    #[test]
    fn egui_draws_a_transformed_line_in_visual_order() {
        let ctx = system_fonts();
        let color = egui::Color32::WHITE;
        for text in [
            "Re: اجتماع الغد at 10:00",
            "اجتماع الغد at 10:00",
            "שלום עולם (2)",
        ] {
            let shown = Shown::line(text).expect("right to left");
            for font in fonts(&ctx) {
                let (chars, _) = drawn(&ctx, shown.simple_job(font.clone(), color));
                assert_eq!(chars, shown.visual(), "{text} in {font:?}");
                // Untransformed, egui gets the order wrong.
                let plain = LayoutJob::simple_singleline(text.to_owned(), font.clone(), color);
                assert_ne!(drawn(&ctx, plain).0, shown.visual(), "{text} in {font:?}");
            }
        }
        finish(&ctx);
    }

    #[test]
    fn arabic_letters_join_in_the_regular_and_the_bold_face() {
        let ctx = system_fonts();
        let color = egui::Color32::WHITE;
        // اجتماع in its contextual forms: alef, jeem initial, teh medial,
        // meem medial, alef final, ain isolated.
        let forms = "\u{FE8D}\u{FE9F}\u{FE98}\u{FEE4}\u{FE8E}\u{FEC9}";
        let shown = Shown::line("Re: اجتماع").expect("arabic");
        for font in fonts(&ctx) {
            let joined = drawn(
                &ctx,
                LayoutJob::simple_singleline(forms.to_owned(), font.clone(), color),
            )
            .1;
            let (chars, advances) = drawn(&ctx, shown.simple_job(font.clone(), color));
            let arabic = &advances[chars.chars().position(is_rtl_char).expect("arabic")..];
            assert_eq!(arabic, joined.as_slice(), "{font:?}");
        }
        // Untransformed, the bold face (which has Latin and Arabic) shapes
        // the line as Latin: the letters stay apart.
        let [_, bold] = fonts(&ctx);
        let plain = LayoutJob::simple_singleline("Re: اجتماع".to_owned(), bold.clone(), color);
        let (chars, advances) = drawn(&ctx, plain);
        let arabic = &advances[chars.chars().position(is_rtl_char).expect("arabic")..];
        let joined = drawn(
            &ctx,
            LayoutJob::simple_singleline(forms.to_owned(), bold, color),
        )
        .1;
        assert_ne!(arabic, joined.as_slice());
        finish(&ctx);
    }

    #[test]
    fn a_long_right_to_left_paragraph_wraps_line_by_line_from_the_top() {
        let ctx = system_fonts();
        let text =
            "نلتقي غدا في الساعة العاشرة في مكتب القاهرة ثم نتناول الغداء معا في المطعم المجاور";
        let format = TextFormat::simple(egui::FontId::proportional(14.0), egui::Color32::WHITE);
        let wrap = 160.0;
        let wrapped = layout_wrapped(
            &ctx,
            text,
            std::slice::from_ref(&(0..text.len())),
            &[format],
            wrap,
        )
        .expect("arabic");
        assert!(wrapped.shown.rtl);
        let rows: Vec<&str> = wrapped.shown.text.split('\n').collect();
        assert!(rows.len() >= 3, "{rows:?}");
        assert_eq!(wrapped.galley.rows.len(), rows.len());
        // Read top to bottom, right to left, the rows give back the text.
        let lines = wrapped.shown.visual();
        let read: Vec<String> = lines.split('\n').map(reversed).collect();
        assert_eq!(read.join(" "), text);
        for placed in &wrapped.galley.rows {
            let width = placed.row.size.x;
            assert!(width <= wrap + 1.0, "a row of {width} at {wrap}");
            // Right-aligned: each row ends at the galley's right edge, 0.
            let right = placed.pos.x + placed.row.size.x;
            assert!(right.abs() < 1.0, "a row ends at {right}");
        }
        finish(&ctx);
    }
}
