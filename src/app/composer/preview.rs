//! The body preview: the HTML that will be sent, drawn as styled egui text.
//!
//! A deliberately small stand-in until `app::html_view` can be used: it
//! understands the tags our Markdown produces (and common pasted ones),
//! never fetches anything and never runs anything. Images show as
//! `[image: alt]`. Swap [`preview_ui`]'s body for html_view at the merge.

use egui::text::LayoutJob;
use egui::{Color32, FontId, Stroke, TextFormat};

/// Draws `html` (the exact HTML that is sent) as styled text.
pub fn preview_ui(ui: &mut egui::Ui, html: &str) {
    let job = layout(ui, html);
    ui.add(egui::Label::new(job).wrap());
}

#[derive(Default)]
struct Style {
    bold: u32,
    italic: u32,
    code: u32,
    strike: u32,
    heading: Option<u8>,
    links: Vec<String>,
    quote: u32,
    pre: u32,
    skip: u32,
    lists: Vec<Option<u32>>,
}

fn layout(ui: &egui::Ui, html: &str) -> LayoutJob {
    let visuals = ui.visuals();
    let body = egui::TextStyle::Body.resolve(ui.style());
    let mono = egui::TextStyle::Monospace.resolve(ui.style());
    let mut job = LayoutJob::default();
    job.wrap.max_width = ui.available_width();
    let mut style = Style::default();
    let mut at_line_start = true;
    let mut pending_space = false;
    let mut rest = html;

    let format = |style: &Style| -> TextFormat {
        let size = match style.heading {
            Some(1) => body.size * 1.6,
            Some(2) => body.size * 1.4,
            Some(_) => body.size * 1.2,
            None => body.size,
        };
        let font = if style.code > 0 || style.pre > 0 {
            FontId::new(mono.size, mono.family.clone())
        } else {
            FontId::new(size, body.family.clone())
        };
        let strong = style.bold > 0 || style.heading.is_some();
        let mut color = if strong {
            visuals.strong_text_color()
        } else {
            visuals.text_color()
        };
        let mut underline = Stroke::NONE;
        if !style.links.is_empty() {
            color = visuals.hyperlink_color;
            underline = Stroke::new(1.0, color);
        }
        if style.quote > 0 && style.links.is_empty() {
            color = visuals.weak_text_color();
        }
        TextFormat {
            italics: style.italic > 0,
            underline,
            strikethrough: if style.strike > 0 {
                Stroke::new(1.0, color)
            } else {
                Stroke::NONE
            },
            background: if style.code > 0 || style.pre > 0 {
                visuals.code_bg_color
            } else {
                Color32::TRANSPARENT
            },
            ..TextFormat::simple(font, color)
        }
    };

    let mut push_text = |job: &mut LayoutJob,
                         style: &Style,
                         text: &str,
                         at_line_start: &mut bool,
                         pending_space: &mut bool| {
        if style.skip > 0 || text.is_empty() {
            return;
        }
        if *at_line_start && style.quote > 0 {
            let bar = "▎ ".repeat(style.quote as usize);
            job.append(
                &bar,
                0.0,
                TextFormat::simple(body.clone(), visuals.weak_text_color()),
            );
        }
        if *pending_space && !*at_line_start {
            job.append(" ", 0.0, format(style));
        }
        *pending_space = false;
        job.append(text, 0.0, format(style));
        *at_line_start = text.ends_with('\n');
    };
    let newline = |job: &mut LayoutJob, at_line_start: &mut bool| {
        if !*at_line_start {
            job.append(
                "\n",
                0.0,
                TextFormat::simple(body.clone(), visuals.text_color()),
            );
            *at_line_start = true;
        }
    };

    while !rest.is_empty() {
        if let Some(tag_start) = rest.find('<') {
            let text = &rest[..tag_start];
            add_text(
                text,
                &style,
                &mut job,
                &mut at_line_start,
                &mut pending_space,
                &mut push_text,
            );
            rest = &rest[tag_start..];
            let Some(tag_end) = rest.find('>') else {
                let text = rest;
                add_text(
                    text,
                    &style,
                    &mut job,
                    &mut at_line_start,
                    &mut pending_space,
                    &mut push_text,
                );
                break;
            };
            let tag = &rest[1..tag_end];
            rest = &rest[tag_end + 1..];
            if tag.starts_with("!--") {
                if !tag.ends_with("--") {
                    rest = rest.find("-->").map_or("", |end| &rest[end + 3..]);
                }
                continue;
            }
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            let delta = |n: &mut u32| {
                if closing {
                    *n = n.saturating_sub(1);
                } else {
                    *n += 1;
                }
            };
            match name.as_str() {
                "b" | "strong" => delta(&mut style.bold),
                "i" | "em" => delta(&mut style.italic),
                "code" | "tt" => delta(&mut style.code),
                "s" | "del" | "strike" => delta(&mut style.strike),
                "script" | "style" | "head" | "title" => delta(&mut style.skip),
                "pre" => {
                    newline(&mut job, &mut at_line_start);
                    delta(&mut style.pre);
                }
                "blockquote" => {
                    newline(&mut job, &mut at_line_start);
                    delta(&mut style.quote);
                }
                "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                    newline(&mut job, &mut at_line_start);
                    style.heading = if closing {
                        None
                    } else {
                        name[1..].parse().ok()
                    };
                    if closing {
                        newline(&mut job, &mut at_line_start);
                    }
                }
                "a" => {
                    if closing {
                        if let Some(href) = style.links.pop() {
                            let shown = format!(" ({href})");
                            push_text(
                                &mut job,
                                &Style {
                                    quote: style.quote,
                                    ..Style::default()
                                },
                                &shown,
                                &mut at_line_start,
                                &mut false,
                            );
                        }
                    } else {
                        style
                            .links
                            .push(decode_entities(&attribute(tag, "href").unwrap_or_default()));
                    }
                }
                "img" => {
                    let alt = attribute(tag, "alt").unwrap_or_default();
                    let shown = format!("[image: {}]", decode_entities(&alt));
                    push_text(
                        &mut job,
                        &style,
                        &shown,
                        &mut at_line_start,
                        &mut pending_space,
                    );
                }
                "br" => {
                    job.append("\n", 0.0, format(&style));
                    at_line_start = true;
                }
                "ul" | "ol" => {
                    newline(&mut job, &mut at_line_start);
                    if closing {
                        style.lists.pop();
                    } else {
                        let start = attribute(tag, "start")
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(1);
                        style.lists.push((name == "ol").then_some(start));
                    }
                }
                "li" if !closing => {
                    newline(&mut job, &mut at_line_start);
                    let depth = style.lists.len().max(1);
                    let marker = match style.lists.last_mut() {
                        Some(Some(n)) => {
                            let marker = format!("{n}. ");
                            *n += 1;
                            marker
                        }
                        _ => "• ".to_owned(),
                    };
                    let indent = "    ".repeat(depth - 1);
                    push_text(
                        &mut job,
                        &Style {
                            quote: style.quote,
                            ..Style::default()
                        },
                        &format!("{indent}{marker}"),
                        &mut at_line_start,
                        &mut false,
                    );
                    at_line_start = false;
                }
                "p" | "div" | "tr" | "table" | "hr" | "li" => {
                    newline(&mut job, &mut at_line_start);
                    if name == "p" && closing {
                        job.append(
                            "\n",
                            0.0,
                            TextFormat::simple(body.clone(), visuals.text_color()),
                        );
                    }
                    if name == "hr" {
                        push_text(
                            &mut job,
                            &style,
                            "────────\n",
                            &mut at_line_start,
                            &mut false,
                        );
                    }
                }
                "td" | "th" if !closing => pending_space = true,
                _ => {}
            }
        } else {
            let text = rest;
            add_text(
                text,
                &style,
                &mut job,
                &mut at_line_start,
                &mut pending_space,
                &mut push_text,
            );
            break;
        }
    }
    job
}

type PushText<'a> = dyn FnMut(&mut LayoutJob, &Style, &str, &mut bool, &mut bool) + 'a;

fn add_text(
    raw: &str,
    style: &Style,
    job: &mut LayoutJob,
    at_line_start: &mut bool,
    pending_space: &mut bool,
    push_text: &mut PushText<'_>,
) {
    let text = decode_entities(raw);
    if style.pre > 0 {
        push_text(job, style, &text, at_line_start, pending_space);
        return;
    }
    // Collapse whitespace like a browser.
    let leading = text.starts_with(char::is_whitespace);
    let trailing = text.ends_with(char::is_whitespace);
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        if !text.is_empty() {
            *pending_space = true;
        }
        return;
    }
    if leading {
        *pending_space = true;
    }
    push_text(job, style, &words.join(" "), at_line_start, pending_space);
    if trailing {
        *pending_space = true;
    }
}

/// The value of `name="…"` (or `'…'`, or unquoted) in a tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let before_ok = lower[..at].ends_with(char::is_whitespace);
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - after.len() + 1;
        let value = tag[value_start..].trim_start();
        return Some(match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next().unwrap_or("").to_owned(),
            _ => value
                .split(char::is_whitespace)
                .next()
                .unwrap_or("")
                .to_owned(),
        });
    }
    None
}

/// Decodes the common named entities and numeric references.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_and_attributes() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt; &#233;&#xe9; &bogus; &"),
            "a & b <c> éé &bogus; &"
        );
        assert_eq!(
            attribute(r#"img src="cid:x@y" alt='A pic'"#, "alt").as_deref(),
            Some("A pic")
        );
        assert_eq!(
            attribute("a href=https://x.example/ title=t", "href").as_deref(),
            Some("https://x.example/")
        );
        assert_eq!(
            attribute(r#"a data-href="no" href="yes""#, "href").as_deref(),
            Some("yes")
        );
    }
}
