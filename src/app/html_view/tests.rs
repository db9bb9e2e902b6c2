//! The document model: what untrusted HTML becomes, and what it cannot do.

use std::time::{Duration, Instant};

use super::*;

fn texts(doc: &HtmlDocument) -> Vec<(TextKind, String)> {
    doc.blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(text) => Some((text.kind.clone(), text.text())),
            _ => None,
        })
        .collect()
}

fn runs(doc: &HtmlDocument) -> Vec<Run> {
    doc.blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(text) => Some(text.runs.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn headings_paragraphs_and_inline_styles_are_extracted() {
    let doc = HtmlDocument::parse(
        "<h1>Title</h1><p>Some <b>bold</b>, <i>italic</i>, <u>under</u> and \
         <s>gone</s> and <code>x = 1</code>.</p><h3>Small</h3>",
    );
    let texts = texts(&doc);
    assert_eq!(texts[0], (TextKind::Heading(1), "Title".into()));
    assert_eq!(texts[1].1, "Some bold, italic, under and gone and x = 1.");
    assert_eq!(texts[2], (TextKind::Heading(3), "Small".into()));
    let runs = runs(&doc);
    let style_of = |needle: &str| {
        runs.iter()
            .find(|run| run.text == needle)
            .map(|run| run.style)
            .unwrap_or_else(|| panic!("no run {needle:?} in {runs:?}"))
    };
    assert!(style_of("bold").bold);
    assert!(style_of("italic").italic);
    assert!(style_of("under").underline);
    assert!(style_of("gone").strike);
    assert!(style_of("x = 1").code);
    assert_eq!(style_of("Some "), TextStyle::default());
}

#[test]
fn whitespace_collapses_except_in_pre_and_br_breaks_lines() {
    let doc = HtmlDocument::parse("<p>  a \n\n  b\t c<br>d</p><pre>  keep\n    this</pre>");
    let texts = texts(&doc);
    assert_eq!(texts[0], (TextKind::Paragraph, "a b c\nd".into()));
    assert_eq!(
        texts[1],
        (TextKind::Preformatted, "  keep\n    this".into())
    );
    assert!(
        runs(&doc)
            .iter()
            .any(|run| run.style.code && run.text.contains("keep"))
    );
}

#[test]
fn lists_get_bullets_and_numbers_and_nesting() {
    let doc = HtmlDocument::parse(
        "<ul><li>one<li>two<ul><li>inner</ul></ul><ol start=3><li>three</li><li>four</li></ol>",
    );
    let items: Vec<(String, String, u8)> = doc
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(TextBlock {
                kind: TextKind::ListItem(marker),
                indent,
                ..
            }) => Some((marker.clone(), block_text(block), *indent)),
            _ => None,
        })
        .collect();
    assert_eq!(
        items,
        vec![
            ("•".into(), "one".into(), 1),
            ("•".into(), "two".into(), 1),
            ("–".into(), "inner".into(), 2),
            ("3.".into(), "three".into(), 1),
            ("4.".into(), "four".into(), 1),
        ]
    );
}

fn block_text(block: &Block) -> String {
    match block {
        Block::Text(text) => text.text(),
        _ => String::new(),
    }
}

#[test]
fn blockquotes_are_nested_levels() {
    let doc = HtmlDocument::parse(
        "<p>new</p><blockquote>old<blockquote>older</blockquote></blockquote><p>after</p>",
    );
    let depths: Vec<(String, u8)> = doc
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Text(text) => Some((text.text(), text.quote_depth)),
            _ => None,
        })
        .collect();
    assert_eq!(
        depths,
        vec![
            ("new".into(), 0),
            ("old".into(), 1),
            ("older".into(), 2),
            ("after".into(), 0)
        ]
    );
}

#[test]
fn text_tables_become_grids_and_layout_tables_flow() {
    let doc = HtmlDocument::parse(
        "<table><tr><th>Item</th><th>Price</th></tr>\
         <tr><td>Tea</td><td>3 €</td></tr><tr><td>Cake<td>4 €</table>",
    );
    let [Block::Table(table)] = doc.blocks.as_slice() else {
        panic!("expected one table: {:?}", doc.blocks);
    };
    assert_eq!(table.rows.len(), 3);
    assert!(table.rows[0].header);
    assert!(!table.rows[1].header);
    let cell = |row: usize, column: usize| -> String {
        table.rows[row].cells[column]
            .iter()
            .map(|run| run.text.as_str())
            .collect()
    };
    assert_eq!(cell(0, 1), "Price");
    assert!(table.rows[0].cells[0][0].style.bold);
    assert_eq!(cell(2, 0), "Cake");
    assert_eq!(cell(2, 1), "4 €");

    // A layout table (an image, a nested table) is shown as its cells' blocks.
    let doc = HtmlDocument::parse(
        "<table><tr><td><img src='cid:logo'></td><td>\
         <table><tr><td>a</td><td>b</td></tr></table><p>Hello</p></td></tr></table>",
    );
    assert!(matches!(doc.blocks[0], Block::Image(0)));
    assert!(matches!(doc.blocks[1], Block::Table(_)));
    assert_eq!(block_text(&doc.blocks[2]), "Hello");
}

#[test]
fn links_keep_their_real_target_and_flag_deceptive_text() {
    let doc = HtmlDocument::parse(
        "<p><a href='https://example.org/a'>Read more</a> \
         <a href=' http://evil.example/login '>https://www.mybank.example/</a> \
         <a href='javascript:alert(1)'>run</a> <a name='x'>anchor</a></p>",
    );
    assert_eq!(doc.links.len(), 3);
    assert_eq!(doc.links[0].href, "https://example.org/a");
    assert_eq!(doc.links[0].warning, None);
    assert!(doc.links[0].openable);
    assert_eq!(doc.links[1].href, "http://evil.example/login");
    let warning = doc.links[1].warning.as_deref().unwrap_or_default();
    assert!(
        warning.contains("mybank.example") && warning.contains("evil.example"),
        "{warning}"
    );
    assert!(!doc.links[2].openable);
    let linked: Vec<(String, Option<usize>)> = runs(&doc)
        .into_iter()
        .map(|run| (run.text, run.link))
        .collect();
    assert!(linked.contains(&("Read more".into(), Some(0))));
    assert!(
        linked
            .iter()
            .any(|(text, link)| text.contains("anchor") && link.is_none())
    );
}

#[test]
fn scripts_styles_forms_and_frames_are_ignored() {
    let doc = HtmlDocument::parse(
        "<html><head><title>T</title><style>p { color: red } .x<b>{}</style>\
         <script>document.write('<p>evil</p>')</script></head><body>\
         <p>visible</p><script src='http://127.0.0.1:9/x.js'></script>\
         <iframe src='http://127.0.0.1:9/frame'>frame text</iframe>\
         <object data='http://127.0.0.1:9/o'>obj</object>\
         <form action='http://x'><input name=q value='typed'><button>Go</button>\
         <textarea>area</textarea><select><option>opt</select></form>\
         <div style='display:none'>hidden preheader</div><noscript>ns</noscript></body></html>",
    );
    let all = doc.plain_text();
    assert!(all.contains("visible"));
    for absent in [
        "evil",
        "color",
        "frame text",
        "obj",
        "typed",
        "Go",
        "area",
        "opt",
        "hidden",
        "T\n",
    ] {
        assert!(!all.contains(absent), "{absent:?} leaked into {all:?}");
    }
    // script src, iframe src and object data are remote references.
    assert_eq!(doc.remote_refs, 3);
}

#[test]
fn remote_images_are_counted_and_tracking_pixels_dropped() {
    let doc = HtmlDocument::parse(
        "<img src='http://127.0.0.1:9/photo.png' alt='Photo'>\
         <img src='//cdn.example/a.png'>\
         <img src='https://t.example/p.gif' width=1 height=1>\
         <img src='https://t.example/q.gif' style='width:2px;height:2px'>\
         <img src='https://t.example/r.gif' style='display:none'>\
         <img src='https://t.example/s.gif' style='visibility: hidden'>\
         <div hidden><img src='https://t.example/t.gif'></div>\
         <img src='images/relative.png' alt='rel'>",
    );
    assert_eq!(doc.tracking_pixels, 5);
    assert_eq!(doc.images.len(), 3, "{:?}", doc.images);
    assert_eq!(doc.remote_refs, 3);
    assert_eq!(doc.images[0].alt, "Photo");
    assert_eq!(
        doc.fetchable_remote_images(),
        vec![
            "http://127.0.0.1:9/photo.png".to_owned(),
            "https://cdn.example/a.png".to_owned()
        ]
    );
    // Relative references are remote too, but never fetchable.
    assert!(matches!(
        &doc.images[2].source,
        ImageSource::Remote {
            fetchable: None,
            ..
        }
    ));
    let all_urls = format!("{:?}", doc);
    assert!(!all_urls.contains("t.example"), "a tracking pixel was kept");
}

#[test]
fn css_urls_backgrounds_and_stylesheets_count_as_remote() {
    let doc = HtmlDocument::parse(
        "<head><link rel=stylesheet href='http://127.0.0.1:9/s.css'>\
         <style>@import 'http://x/y.css'; body { background: url(\"http://127.0.0.1:9/bg.png\") }\
         .a { background: url(cid:inline) } .b { fill: url(#grad) }</style></head>\
         <body background='http://127.0.0.1:9/body.png'>\
         <table background='cid:ok'><tr><td style=\"background-image:url('https://x/td.png')\">t</td></tr></table>",
    );
    // link, @import, url(http…), body background, td style url.
    assert_eq!(doc.remote_refs, 5);
    assert!(doc.images.is_empty());
}

#[test]
fn cid_references_are_collected_once_and_data_images_decoded() {
    let doc = HtmlDocument::parse(
        "<p>Hi</p><img src='cid:logo@x' alt='Logo'><img src='CID:logo@x'>\
         <img src='cid:chart%2Fone'>\
         <img src='data:image/png;base64,iVBORw0KGgo='>\
         <img src='data:text/html;base64,PHNjcmlwdD4='>",
    );
    assert_eq!(
        doc.cid_refs,
        vec!["logo@x".to_owned(), "chart/one".to_owned()]
    );
    assert_eq!(doc.images.len(), 5);
    assert_eq!(doc.images[0].key(0).as_deref(), Some("cid:logo@x"));
    assert!(
        matches!(&doc.images[3].source, ImageSource::Data(bytes) if bytes.starts_with(b"\x89PNG"))
    );
    assert_eq!(doc.images[4].source, ImageSource::Unavailable);
    assert_eq!(doc.remote_refs, 0);
}

#[test]
fn invisible_and_bidi_characters_are_removed() {
    let doc = HtmlDocument::parse("<p>pay\u{202e}fdp.exe\u{200b}&zwnj;&nbsp;x\u{7}</p>");
    assert_eq!(texts(&doc)[0].1, "payfdp.exe x");
}

#[test]
fn hostile_nesting_is_bounded_and_does_not_overflow_the_stack() {
    // 100,000 nested divs: past the element cap; what came before is kept.
    let depth = 100_000;
    let html = format!(
        "<p>start</p>{}deep{}",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    );
    let started = Instant::now();
    let doc = HtmlDocument::parse(&html);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(doc.plain_text().contains("start"));
    assert!(doc.truncated);

    // 40,000 nested divs: under the element cap but past the depth cap:
    // the text inside is still shown.
    let depth = 40_000;
    let html = format!(
        "{}deep{}<p>after</p>",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    );
    let started = Instant::now();
    let doc = HtmlDocument::parse(&html);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let text = doc.plain_text();
    assert!(text.contains("deep") && text.contains("after"), "{text:?}");
    assert!(doc.truncated);

    // Unclosed inline and quote nesting too.
    let html = format!(
        "{}x",
        "<blockquote><b><a href='http://e.example'>".repeat(15_000)
    );
    let started = Instant::now();
    let doc = HtmlDocument::parse(&html);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(doc.plain_text().contains('x'));
}

#[test]
fn huge_html_is_cut_in_bounded_time() {
    let paragraph = "<p>Lorem <b>ipsum</b> dolor <a href='https://example.org'>sit</a> amet, \
                     <img src='http://127.0.0.1:9/i.png'> consectetur.</p>\n";
    let html = paragraph.repeat(5 * 1024 * 1024 / paragraph.len() + 1);
    assert!(html.len() > 5 * 1024 * 1024);
    let started = Instant::now();
    let doc = HtmlDocument::parse(&html);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(doc.truncated);
    assert!(doc.blocks.len() <= MAX_BLOCKS);
    assert!(!doc.blocks.is_empty());

    // Many elements, no text: the element cap stops the work.
    let html = "<span>".repeat(400_000);
    let started = Instant::now();
    let doc = HtmlDocument::parse(&html);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(doc.truncated);
}

#[test]
fn broken_markup_never_panics() {
    for html in [
        "",
        "<",
        "</p></p></div></table>",
        "<table><td>cell without row",
        "<tr><td>no table</td></tr>",
        "<li>no list</li>",
        "<a href='x'><a href='y'>nested</a>",
        "<img>",
        "<img src>",
        "<style>unclosed",
        "<script>unclosed",
        "<pre>",
        "<ol start=-5><li>x",
        "<ol start=18446744073709551615><li>a<li>b",
        "&#xD800;&#0;&bogus;",
        "<td><td><td><tr><table></table></td>",
    ] {
        let doc = HtmlDocument::parse(html);
        let _ = doc.plain_text();
    }
}

/// Each text section laid out for `html` in `ctx`, with its font family.
fn laid_out_families(ctx: &egui::Context, html: &str) -> Vec<(String, FontFamily)> {
    let doc = HtmlDocument::parse(html);
    let mut sections = Vec::new();
    let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
        let layout = Layout::build(ui, &doc, LayoutKey::new(ui, 400.0));
        for item in &layout.items {
            if let ItemKind::Text { text, .. } = &item.kind {
                let job = &text.galley.job;
                for section in &job.sections {
                    let range = section.byte_range.start.0..section.byte_range.end.0;
                    let words = job.text[range].trim().to_owned();
                    sections.push((words, section.format.font_id.family.clone()));
                }
            }
        }
    });
    output.textures_delta.clear();
    sections
}

#[test]
fn bold_text_and_headings_use_the_bold_family_only_when_installed() {
    let html = "<h2>Title</h2><p>plain <b>strong</b> <code>code</code></p>";
    let family_of = |sections: &[(String, FontFamily)], words: &str| {
        sections
            .iter()
            .find(|(text, _)| text == words)
            .map(|(_, family)| family.clone())
    };
    // Without Herald's fonts (a bare context, as in some tests): no bold
    // family is asked for, so nothing panics or draws boxes.
    let ctx = egui::Context::default();
    ctx.run_ui(egui::RawInput::default(), |_| {})
        .textures_delta
        .clear();
    let sections = laid_out_families(&ctx, html);
    let bold = FontFamily::Name("bold".into());
    assert!(sections.iter().all(|(_, family)| *family != bold));

    ctx.set_fonts(crate::app::fonts::definitions_with_bold_family());
    ctx.run_ui(egui::RawInput::default(), |_| {})
        .textures_delta
        .clear();
    let sections = laid_out_families(&ctx, html);
    assert_eq!(family_of(&sections, "Title"), Some(bold.clone()));
    assert_eq!(family_of(&sections, "strong"), Some(bold));
    assert_eq!(
        family_of(&sections, "plain"),
        Some(FontFamily::Proportional)
    );
    assert_eq!(family_of(&sections, "code"), Some(FontFamily::Monospace));
}
