//! The rich-text body: Markdown → HTML, and the toolbar's edits on a selection.
//!
//! The HTML made here is exactly what is sent (and what the preview shows).
//! Raw HTML written in the Markdown is shown as text, never passed through;
//! links keep only `http`, `https` and `mailto` targets; images only `cid:`
//! (our inline images), `http` and `https`. A line break in the editor is a
//! line break in the mail (people write mail line by line).

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

/// Renders the Markdown body to the HTML fragment that is sent.
pub fn markdown_to_html(markdown: &str) -> String {
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    // For each open link/image: was its start kept?
    let mut kept = Vec::new();
    let events = Parser::new_ext(markdown, options).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::SoftBreak => Some(Event::HardBreak),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = link_type == LinkType::Email || link_allowed(&dest_url);
            kept.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = image_allowed(&dest_url);
            kept.push(keep);
            keep.then_some(Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(end @ (TagEnd::Link | TagEnd::Image)) => {
            kept.pop().unwrap_or(false).then_some(Event::End(end))
        }
        other => Some(other),
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2 + 16);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

fn scheme_is(url: &str, schemes: &[&str]) -> bool {
    let url = url.trim().to_ascii_lowercase();
    schemes.iter().any(|scheme| url.starts_with(scheme))
}

fn link_allowed(url: &CowStr<'_>) -> bool {
    scheme_is(url, &["http://", "https://", "mailto:"])
}

fn image_allowed(url: &CowStr<'_>) -> bool {
    scheme_is(url, &["cid:", "http://", "https://"])
}

/// A toolbar action on the Markdown editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `**text**`
    Bold,
    /// `*text*`
    Italic,
    /// `## ` before each line
    Heading,
    /// `- ` before each line
    Bullets,
    /// `1. `, `2. `… before each line
    Numbers,
    /// `> ` before each line
    Quote,
    /// `[text](https://)`
    Link,
    /// `` `text` `` or a fenced block for several lines
    Code,
}

impl Format {
    /// Every action, in toolbar order.
    pub const ALL: [Format; 8] = [
        Format::Bold,
        Format::Italic,
        Format::Heading,
        Format::Bullets,
        Format::Numbers,
        Format::Quote,
        Format::Link,
        Format::Code,
    ];

    /// What the button writes, for its tooltip.
    pub fn hint(self) -> &'static str {
        match self {
            Format::Bold => "**bold**",
            Format::Italic => "*italic*",
            Format::Heading => "## Heading",
            Format::Bullets => "- item",
            Format::Numbers => "1. item",
            Format::Quote => "> quoted",
            Format::Link => "[text](https://…)",
            Format::Code => "`code`",
        }
    }

    /// The button's text and accessible name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Bold => "Bold",
            Format::Italic => "Italic",
            Format::Heading => "Heading",
            Format::Bullets => "Bulleted list",
            Format::Numbers => "Numbered list",
            Format::Quote => "Quote",
            Format::Link => "Link",
            Format::Code => "Code",
        }
    }
}

/// Applies `format` to the characters `selection` (char indices, sorted) of
/// `text`; returns the new selection (char indices) to show.
pub fn apply_format(
    text: &mut String,
    selection: std::ops::Range<usize>,
    format: Format,
) -> std::ops::Range<usize> {
    let total = text.chars().count();
    let start = selection.start.min(total);
    let end = selection.end.clamp(start, total);
    match format {
        Format::Bold => wrap(text, start, end, "**", "**", "bold text"),
        Format::Italic => wrap(text, start, end, "*", "*", "italic text"),
        Format::Code => {
            let selected = slice_chars(text, start, end);
            if selected.contains('\n') {
                let (before, after) = if start > 0 && char_at(text, start - 1) != Some('\n') {
                    ("\n```\n", "\n```\n")
                } else {
                    ("```\n", "\n```\n")
                };
                wrap(text, start, end, before, after, "code")
            } else {
                wrap(text, start, end, "`", "`", "code")
            }
        }
        Format::Link => {
            let label = slice_chars(text, start, end);
            let label_is_url = label.starts_with("http://") || label.starts_with("https://");
            let (label, url) = if label.is_empty() {
                ("link text".to_owned(), "https://".to_owned())
            } else if label_is_url {
                (label.clone(), label)
            } else {
                (label, "https://".to_owned())
            };
            let inserted = format!("[{label}]({url})");
            replace_chars(text, start, end, &inserted);
            // Select the address, ready to be typed over.
            let url_start = start + label.chars().count() + 3;
            url_start..url_start + url.chars().count()
        }
        Format::Heading => prefix_lines(text, start, end, |_| "## ".to_owned()),
        Format::Bullets => prefix_lines(text, start, end, |_| "- ".to_owned()),
        Format::Numbers => prefix_lines(text, start, end, |n| format!("{}. ", n + 1)),
        Format::Quote => prefix_lines(text, start, end, |_| "> ".to_owned()),
    }
}

/// Surrounds the selection with `before`/`after`, or removes them when the
/// selection is already wrapped; an empty selection gets `placeholder`.
fn wrap(
    text: &mut String,
    start: usize,
    end: usize,
    before: &str,
    after: &str,
    placeholder: &str,
) -> std::ops::Range<usize> {
    let (b, a) = (before.chars().count(), after.chars().count());
    let selected = slice_chars(text, start, end);
    // Toggle off: `**x**` selected, or `x` selected inside `**…**`.
    if selected.len() >= before.len() + after.len()
        && !selected.is_empty()
        && selected.starts_with(before)
        && selected.ends_with(after)
        && selected.chars().count() >= a + b
    {
        let inner: String = selected
            .chars()
            .skip(b)
            .take(selected.chars().count() - a - b)
            .collect();
        let inner_len = inner.chars().count();
        replace_chars(text, start, end, &inner);
        return start..start + inner_len;
    }
    if start >= b
        && end != start
        && slice_chars(text, start - b, start) == before
        && slice_chars(text, end, end + a) == after
    {
        replace_chars(text, end, end + a, "");
        replace_chars(text, start - b, start, "");
        return start - b..end - b;
    }
    let inner = if selected.is_empty() {
        placeholder.to_owned()
    } else {
        selected
    };
    let inner_len = inner.chars().count();
    replace_chars(text, start, end, &format!("{before}{inner}{after}"));
    start + b..start + b + inner_len
}

/// Puts a prefix before every line the selection touches, or removes it when
/// every one of them already has it (a toggle).
fn prefix_lines(
    text: &mut String,
    start: usize,
    end: usize,
    prefix: impl Fn(usize) -> String,
) -> std::ops::Range<usize> {
    let chars: Vec<char> = text.chars().collect();
    let mut line_start = start;
    while line_start > 0 && chars[line_start - 1] != '\n' {
        line_start -= 1;
    }
    let mut line_end = end;
    while line_end < chars.len() && chars[line_end] != '\n' {
        line_end += 1;
    }
    let block: String = chars[line_start..line_end].iter().collect();
    let lines: Vec<&str> = block.split('\n').collect();
    let all_prefixed = lines
        .iter()
        .enumerate()
        .all(|(n, line)| line.starts_with(&prefix(n)));
    let new_block: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(n, line)| {
            if all_prefixed {
                line[prefix(n).len()..].to_owned()
            } else {
                format!("{}{line}", prefix(n))
            }
        })
        .collect();
    let new_block = new_block.join("\n");
    let new_len = new_block.chars().count();
    replace_chars(text, line_start, line_end, &new_block);
    line_start..line_start + new_len
}

fn byte_index(text: &str, char_index: usize) -> usize {
    text.char_indices()
        .nth(char_index)
        .map_or(text.len(), |(byte, _)| byte)
}

fn slice_chars(text: &str, start: usize, end: usize) -> String {
    text[byte_index(text, start)..byte_index(text, end)].to_owned()
}

fn char_at(text: &str, index: usize) -> Option<char> {
    text.chars().nth(index)
}

/// Replaces the characters `start..end` of `text` with `with`.
pub fn replace_chars(text: &mut String, start: usize, end: usize, with: &str) {
    let (from, to) = (byte_index(text, start), byte_index(text, end));
    text.replace_range(from..to, with);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(text: &str, selection: std::ops::Range<usize>, format: Format) -> String {
        let mut text = text.to_owned();
        apply_format(&mut text, selection, format);
        text
    }

    #[test]
    fn toolbar_wraps_the_selection() {
        assert_eq!(
            formatted("say hello now", 4..9, Format::Bold),
            "say **hello** now"
        );
        assert_eq!(
            formatted("say hello now", 4..9, Format::Italic),
            "say *hello* now"
        );
        assert_eq!(
            formatted("say hello now", 4..9, Format::Code),
            "say `hello` now"
        );
        assert_eq!(
            formatted("see docs", 4..8, Format::Link),
            "see [docs](https://)"
        );
        // Char indices, not bytes.
        assert_eq!(formatted("été chaud", 4..9, Format::Bold), "été **chaud**");
    }

    #[test]
    fn bold_twice_removes_it_again() {
        let mut text = "say hello now".to_owned();
        let selection = apply_format(&mut text, 4..9, Format::Bold);
        assert_eq!(selection, 6..11);
        let selection = apply_format(&mut text, selection, Format::Bold);
        assert_eq!(text, "say hello now");
        assert_eq!(selection, 4..9);
    }

    #[test]
    fn empty_selection_inserts_a_selected_placeholder() {
        let mut text = "ab".to_owned();
        let selection = apply_format(&mut text, 1..1, Format::Bold);
        assert_eq!(text, "a**bold text**b");
        assert_eq!(selection, 3..12);
    }

    #[test]
    fn line_formats_prefix_every_selected_line() {
        let text = "intro\none\ntwo\nend";
        assert_eq!(
            formatted(text, 7..11, Format::Bullets),
            "intro\n- one\n- two\nend"
        );
        assert_eq!(
            formatted(text, 7..11, Format::Numbers),
            "intro\n1. one\n2. two\nend"
        );
        assert_eq!(
            formatted(text, 7..7, Format::Quote),
            "intro\n> one\ntwo\nend"
        );
        assert_eq!(
            formatted(text, 0..0, Format::Heading),
            "## intro\none\ntwo\nend"
        );
        // Again: removed.
        assert_eq!(
            formatted("intro\n- one\n- two\nend", 8..14, Format::Bullets),
            text
        );
    }

    #[test]
    fn multiline_code_becomes_a_fenced_block() {
        assert_eq!(
            formatted("x\na\nb", 2..5, Format::Code),
            "x\n```\na\nb\n```\n"
        );
    }

    #[test]
    fn markdown_renders_the_toolbar_formats() {
        let html = markdown_to_html(
            "## Title\n\n**bold** *it* `code`\n\n- a\n- b\n\n1. one\n\n> quoted\n\n[site](https://example.org)",
        );
        for expected in [
            "<h2>Title</h2>",
            "<strong>bold</strong>",
            "<em>it</em>",
            "<code>code</code>",
            "<ul>",
            "<li>a</li>",
            "<ol>",
            "<blockquote>",
            "<a href=\"https://example.org\">site</a>",
        ] {
            assert!(html.contains(expected), "{expected} missing in {html}");
        }
    }

    #[test]
    fn raw_html_is_escaped_not_passed_through() {
        let html =
            markdown_to_html("hi <script>alert(1)</script> <b onclick=x>b</b>\n\n<div>block</div>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b "), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("&lt;div&gt;"), "{html}");
    }

    #[test]
    fn links_other_than_web_and_mail_are_dropped_keeping_their_text() {
        let html = markdown_to_html(
            "[a](javascript:alert(1)) [b](file:///etc/passwd) [c](mailto:x@example.org) [d](HTTPS://ok.example) [e](relative/path) <https://auto.example> <me@example.org>",
        );
        assert!(!html.contains("javascript"), "{html}");
        assert!(!html.contains("file:"), "{html}");
        assert!(!html.contains("relative/path"), "{html}");
        assert!(html.starts_with("<p>a b "), "{html}");
        assert!(html.contains("href=\"mailto:x@example.org\""), "{html}");
        assert!(html.contains("href=\"HTTPS://ok.example\""), "{html}");
        assert!(html.contains("href=\"https://auto.example\""), "{html}");
        assert!(html.contains("href=\"mailto:me@example.org\""), "{html}");
    }

    #[test]
    fn images_keep_only_cid_and_web_sources() {
        let html = markdown_to_html("![pic](cid:pic.1@example.org) ![bad](file:///x.png)");
        assert!(
            html.contains("<img src=\"cid:pic.1@example.org\" alt=\"pic\""),
            "{html}"
        );
        assert!(!html.contains("file:"), "{html}");
        assert!(html.contains("bad"), "{html}");
    }

    #[test]
    fn line_breaks_are_kept() {
        assert!(markdown_to_html("one\ntwo").contains("one<br />\ntwo"));
    }
}
