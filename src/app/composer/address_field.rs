//! A recipients field: checked as you type, with completion.
//!
//! Entries are separated by commas (outside quotes and `<…>`). Each entry is
//! checked with the core's `parse_address_list`; an invalid one is drawn in
//! the error colour, underlined, and its reason is shown under the field.
//! The completion popup proposes known addresses whose name, a word of the
//! name, or address starts with the last entry (case-insensitive); ↑/↓ pick,
//! Tab or Enter accepts, Escape closes it.

use std::ops::Range;
use std::sync::Arc;

use egui::text::{CCursor, CCursorRange, LayoutJob};
use egui::{Key, Modifiers, TextFormat};
use herald_core::compose::parse_address_list;
use herald_core::message::Address;

/// At most this many proposals.
const MAX_PROPOSALS: usize = 6;

/// One comma-separated entry of a field and what checking it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Byte range in the field's text (trimmed).
    pub range: Range<usize>,
    /// The address, or why it is not one.
    pub result: Result<Address, String>,
}

/// Splits at commas outside quotes and angle brackets; trimmed, empty
/// entries left out.
pub fn split_entries(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut start = 0;
    let push = |from: usize, to: usize, ranges: &mut Vec<Range<usize>>| {
        let piece = &text[from..to];
        let lead = piece.len() - piece.trim_start().len();
        let trail = piece.len() - piece.trim_end().len();
        if lead + trail < piece.len() {
            ranges.push(from + lead..to - trail);
        }
    };
    for (at, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' | ';' if !quoted && !angle => {
                push(start, at, &mut ranges);
                start = at + 1;
            }
            _ => {}
        }
    }
    push(start, text.len(), &mut ranges);
    ranges
}

/// Checks every entry of a field.
pub fn check_entries(text: &str) -> Vec<Entry> {
    split_entries(text)
        .into_iter()
        .map(|range| {
            let piece = &text[range.clone()];
            let result = match parse_address_list(piece) {
                Ok(mut list) if list.len() == 1 => Ok(list.remove(0)),
                Ok(_) => Err(format!("“{piece}” is not one email address")),
                Err(_) => Err(format!("“{piece}” is not a valid email address")),
            };
            Entry { range, result }
        })
        .collect()
}

/// The byte index where the entry being typed starts (after the last
/// top-level separator and its spaces).
pub fn last_entry_start(text: &str) -> usize {
    let mut start = 0;
    let (mut quoted, mut angle) = (false, false);
    for (at, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' | ';' if !quoted && !angle => start = at + 1,
            _ => {}
        }
    }
    start + (text[start..].len() - text[start..].trim_start().len())
}

/// Known addresses matching `query`: prefix of the address, of the name or
/// of a word of the name, case-insensitive; address matches first.
pub fn proposals<'a>(known: &'a [Address], query: &str, exclude: &[String]) -> Vec<&'a Address> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let mut by_rank: Vec<(u8, &Address)> = known
        .iter()
        .filter(|address| {
            !exclude
                .iter()
                .any(|e| e.eq_ignore_ascii_case(&address.email))
        })
        .filter_map(|address| {
            let email = address.email.to_lowercase();
            let name = address.name.as_deref().unwrap_or("").to_lowercase();
            if email.starts_with(&query) {
                Some((0, address))
            } else if name.starts_with(&query) {
                Some((1, address))
            } else if name.split_whitespace().any(|word| word.starts_with(&query)) {
                Some((2, address))
            } else {
                None
            }
        })
        .collect();
    by_rank.sort_by_key(|(rank, _)| *rank);
    by_rank
        .into_iter()
        .map(|(_, address)| address)
        .take(MAX_PROPOSALS)
        .collect()
}

/// Replaces the entry being typed with `address` and a separator.
pub fn accept_proposal(text: &mut String, address: &Address) {
    let start = last_entry_start(text);
    text.truncate(start);
    text.push_str(&field_text(address));
    text.push_str(", ");
}

/// How an address is written into a field: `Name <a@b>`, with the name
/// quoted when it holds a comma or other special character.
pub fn field_text(address: &Address) -> String {
    match address
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        None => address.email.clone(),
        Some(name)
            if name.contains([
                ',', ';', '"', '<', '>', '(', ')', '@', ':', '\\', '[', ']', '.',
            ]) =>
        {
            let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\" <{}>", address.email)
        }
        Some(name) => format!("{name} <{}>", address.email),
    }
}

/// A recipients field's state.
#[derive(Debug, Default)]
pub struct AddressField {
    /// What the user typed.
    pub text: String,
    checked: Option<(String, Vec<Entry>)>,
    highlighted: usize,
    dismissed_for: Option<String>,
    popup_rect: Option<egui::Rect>,
}

impl AddressField {
    /// A field holding `addresses`.
    pub fn with_addresses(addresses: &[Address]) -> AddressField {
        let text = addresses
            .iter()
            .map(field_text)
            .collect::<Vec<_>>()
            .join(", ");
        AddressField {
            text,
            ..AddressField::default()
        }
    }

    /// Checked entries of the current text (cached while it is unchanged).
    pub fn entries(&mut self) -> &[Entry] {
        let stale = self
            .checked
            .as_ref()
            .is_none_or(|(text, _)| *text != self.text);
        if stale {
            self.checked = Some((self.text.clone(), check_entries(&self.text)));
        }
        self.checked
            .as_ref()
            .map_or(&[], |(_, entries)| entries.as_slice())
    }

    /// The valid addresses.
    pub fn addresses(&mut self) -> Vec<Address> {
        self.entries()
            .iter()
            .filter_map(|entry| entry.result.as_ref().ok().cloned())
            .collect()
    }

    /// Why entries are invalid, one sentence each.
    pub fn problems(&mut self) -> Vec<String> {
        self.entries()
            .iter()
            .filter_map(|entry| entry.result.as_ref().err().cloned())
            .collect()
    }

    /// The problems to show now: while the field has focus, the entry being
    /// typed (the last one, with no separator after it) is not judged yet.
    pub fn visible_problems(&mut self, focused: bool) -> Vec<String> {
        let typing_from = (focused && !self.text.trim_end().ends_with([',', ';']))
            .then(|| last_entry_start(&self.text));
        self.entries()
            .iter()
            .filter(|entry| typing_from != Some(entry.range.start))
            .filter_map(|entry| entry.result.as_ref().err().cloned())
            .collect()
    }

    /// Draws the field (its label is `label_id`); true when the text changed.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        id: egui::Id,
        label_id: egui::Id,
        known: &Arc<Vec<Address>>,
    ) -> bool {
        let focused = ui.memory(|m| m.has_focus(id));
        let query_start = last_entry_start(&self.text);
        let query = self.text[query_start..].to_owned();
        let already: Vec<String> = self.addresses().into_iter().map(|a| a.email).collect();
        let pointer_on_popup = self
            .popup_rect
            .zip(ui.ctx().pointer_latest_pos())
            .is_some_and(|(rect, pos)| rect.contains(pos));
        let showing =
            (focused || pointer_on_popup) && self.dismissed_for.as_deref() != Some(query.as_str());
        let found: Vec<Address> = if showing {
            proposals(known, &query, &already)
                .into_iter()
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if found.is_empty() {
            self.highlighted = 0;
        } else {
            self.highlighted = self.highlighted.min(found.len() - 1);
        }
        let mut accepted = None;
        if focused && !found.is_empty() {
            ui.input_mut(|input| {
                if input.consume_key(Modifiers::NONE, Key::ArrowDown) {
                    self.highlighted = (self.highlighted + 1) % found.len();
                }
                if input.consume_key(Modifiers::NONE, Key::ArrowUp) {
                    self.highlighted = (self.highlighted + found.len() - 1) % found.len();
                }
                if input.consume_key(Modifiers::NONE, Key::Tab)
                    || input.consume_key(Modifiers::NONE, Key::Enter)
                {
                    accepted = Some(self.highlighted);
                }
                if input.consume_key(Modifiers::NONE, Key::Escape) {
                    self.dismissed_for = Some(query.clone());
                }
            });
        }

        let typing_from =
            (focused && !self.text.trim_end().ends_with([',', ';'])).then_some(query_start);
        let entries: Vec<Entry> = self
            .entries()
            .iter()
            .filter(|entry| typing_from != Some(entry.range.start))
            .cloned()
            .collect();
        let error = ui.visuals().error_fg_color;
        let mut layouter = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap: f32| {
            let job = highlighted_job(ui, text.as_str(), &entries, error, wrap);
            ui.ctx().fonts_mut(|fonts| fonts.layout_job(job))
        };
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut self.text)
                    .id(id)
                    .desired_width(f32::INFINITY)
                    .lock_focus(!found.is_empty())
                    .layouter(&mut layouter),
            )
            .labelled_by(label_id);
        let mut changed = response.changed();

        if found.is_empty() || accepted.is_some() {
            self.popup_rect = None;
        } else {
            let area = egui::Area::new(id.with("proposals"))
                .order(egui::Order::Foreground)
                .fixed_pos(response.rect.left_bottom())
                .show(ui.ctx(), |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_min_width(response.rect.width().min(420.0));
                        for (index, address) in found.iter().enumerate() {
                            let item =
                                ui.selectable_label(index == self.highlighted, address.to_string());
                            if item.clicked() {
                                accepted = Some(index);
                            }
                        }
                    });
                });
            self.popup_rect = Some(area.response.rect);
        }
        if let Some(address) = accepted.and_then(|index| found.get(index)) {
            accept_proposal(&mut self.text, address);
            self.popup_rect = None;
            let end = CCursor::end_of_str(&self.text);
            if let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), id) {
                state.cursor.set_char_range(Some(CCursorRange::one(end)));
                state.store(ui.ctx(), id);
            }
            ui.memory_mut(|m| m.request_focus(id));
            changed = true;
        }
        changed
    }
}

/// The field's text with invalid entries in the error colour, underlined.
fn highlighted_job(
    ui: &egui::Ui,
    text: &str,
    entries: &[Entry],
    error: egui::Color32,
    wrap: f32,
) -> LayoutJob {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let normal = TextFormat::simple(font.clone(), ui.visuals().text_color());
    let bad = TextFormat {
        underline: egui::Stroke::new(1.0, error),
        ..TextFormat::simple(font, error)
    };
    let mut job = LayoutJob::default();
    job.wrap.max_width = wrap;
    let mut at = 0;
    for entry in entries {
        // The cached entries may lag the text by a frame: stay inside it.
        let (start, end) = (entry.range.start, entry.range.end);
        if entry.result.is_ok()
            || end > text.len()
            || start < at
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            continue;
        }
        job.append(&text[at..start], 0.0, normal.clone());
        job.append(&text[start..end], 0.0, bad.clone());
        at = end;
    }
    job.append(&text[at..], 0.0, normal);
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        }
    }

    #[test]
    fn entries_split_outside_quotes_and_brackets() {
        let text = r#""Doe, John" <j@example.org>, ann@example.org ,, bad entry"#;
        let pieces: Vec<&str> = split_entries(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            pieces,
            [
                r#""Doe, John" <j@example.org>"#,
                "ann@example.org",
                "bad entry"
            ]
        );
        let entries = check_entries(text);
        assert!(entries[0].result.is_ok() && entries[1].result.is_ok());
        let reason = entries[2].result.as_ref().expect_err("invalid");
        assert!(reason.contains("bad entry"), "{reason}");
    }

    #[test]
    fn completion_matches_prefixes_case_insensitively() {
        let known = vec![
            addr(Some("Ann Smith"), "ann@example.org"),
            addr(Some("Bob Annan"), "bob@example.org"),
            addr(None, "carol@example.org"),
        ];
        let emails = |query: &str| -> Vec<String> {
            proposals(&known, query, &[])
                .into_iter()
                .map(|a| a.email.clone())
                .collect()
        };
        assert_eq!(emails("AN"), ["ann@example.org", "bob@example.org"]);
        assert_eq!(emails("smi"), ["ann@example.org"]);
        assert_eq!(emails("car"), ["carol@example.org"]);
        assert!(emails("example").is_empty());
        assert!(emails("").is_empty());
        assert!(
            proposals(&known, "ann", &["ANN@example.org".into()])
                .iter()
                .all(|a| a.email != "ann@example.org")
        );
    }

    #[test]
    fn accepting_replaces_only_the_last_entry() {
        let mut text = "bob@example.org, an".to_owned();
        assert_eq!(&text[last_entry_start(&text)..], "an");
        accept_proposal(&mut text, &addr(Some("Ann Smith"), "ann@example.org"));
        assert_eq!(text, "bob@example.org, Ann Smith <ann@example.org>, ");
        assert_eq!(last_entry_start(&text), text.len());
        let mut text = String::new();
        accept_proposal(&mut text, &addr(Some("Doe, John"), "j@example.org"));
        let entries = check_entries(&text);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            entries[0].result,
            Ok(addr(Some("Doe, John"), "j@example.org"))
        );
    }
}
