//! Fonts for every script, and a bold face.
//!
//! egui's default fonts have no CJK, Arabic or Hebrew glyphs: such text would
//! render as boxes. At start-up we look for system fonts that have them and
//! add them as fallbacks after the defaults (so Latin text keeps egui's
//! look). egui has no bold variant either; a bold system face (DejaVu Sans
//! Bold, Noto Sans Bold…) becomes the `bold` family, used for unread
//! messages, the reader's subject and sender, and bold text and headings in
//! HTML mail, with the same fallbacks (other scripts, emoji) behind it.
//!
//! A context without that family (no bold face on the system, or a test
//! harness that skipped [`install_fallback_fonts`]) must not be asked for it:
//! egui would draw boxes, and kittest panics. [`bold`] and [`bold_family`]
//! look at the context's own fonts, so they are always safe.

use std::path::Path;
use std::sync::Arc;

/// System fonts with CJK (and usually Cyrillic) coverage, most common first.
const CJK_FONTS: &[&str] = &[
    // Debian/Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    // fonts-wqy-microhei / zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    // fonts-droid-fallback
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    // macOS
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    // Windows
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\YuGothM.ttc",
    "C:\\Windows\\Fonts\\malgun.ttf",
];

/// Broad-coverage fonts for Arabic, Hebrew, Greek, Armenian, Georgian and
/// symbols. egui shapes each run (Arabic letters join); `app::bidi` puts
/// right-to-left lines in visual order, which egui does not.
const WIDE_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Bold faces for the `bold` family.
const BOLD_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    "C:\\Windows\\Fonts\\arialbd.ttf",
];

/// The name of the bold family.
const BOLD_FAMILY: &str = "bold";

fn first_readable(candidates: &[&'static str]) -> Option<(&'static str, Vec<u8>)> {
    candidates.iter().find_map(|path| {
        std::fs::read(Path::new(path))
            .ok()
            .map(|bytes| (*path, bytes))
    })
}

/// Adds the system fonts found as fallbacks (and the bold family); returns
/// the CJK font's path, or `None` when no CJK font was found.
pub fn install_fallback_fonts(ctx: &egui::Context) -> Option<&'static str> {
    let mut fonts = egui::FontDefinitions::default();
    let mut fallbacks = Vec::new();
    let cjk = first_readable(CJK_FONTS);
    let cjk_path = cjk.as_ref().map(|(path, _)| *path);
    for (name, found) in [
        ("system-cjk", cjk),
        ("system-wide", first_readable(WIDE_FONTS)),
    ] {
        if let Some((_, bytes)) = found {
            fonts
                .font_data
                .insert(name.to_owned(), Arc::new(egui::FontData::from_owned(bytes)));
            fallbacks.push(name.to_owned());
        }
    }
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .extend(fallbacks.iter().cloned());
    }
    if let Some((_, bytes)) = first_readable(BOLD_FONTS) {
        fonts.font_data.insert(
            "system-bold".to_owned(),
            Arc::new(egui::FontData::from_owned(bytes)),
        );
        let mut bold = vec!["system-bold".to_owned()];
        bold.extend(
            fonts
                .families
                .get(&egui::FontFamily::Proportional)
                .cloned()
                .unwrap_or_default(),
        );
        fonts
            .families
            .insert(egui::FontFamily::Name(BOLD_FAMILY.into()), bold);
    }
    ctx.set_fonts(fonts);
    cjk_path
}

/// The `bold` family, when this context's fonts have it.
pub fn bold_family(ctx: &egui::Context) -> Option<egui::FontFamily> {
    let family = egui::FontFamily::Name(BOLD_FAMILY.into());
    ctx.fonts(|fonts| fonts.definitions().families.contains_key(&family))
        .then_some(family)
}

/// `font` in the bold face when this context has one, else `font` itself.
pub fn bold(ctx: &egui::Context, font: egui::FontId) -> egui::FontId {
    match bold_family(ctx) {
        Some(family) => egui::FontId::new(font.size, family),
        None => font,
    }
}

/// egui's own fonts plus a `bold` family (the regular face standing in),
/// for tests that must not depend on the machine's fonts.
#[cfg(test)]
pub fn definitions_with_bold_family() -> egui::FontDefinitions {
    let mut fonts = egui::FontDefinitions::default();
    let regular = fonts
        .families
        .get(&egui::FontFamily::Proportional)
        .cloned()
        .unwrap_or_default();
    fonts
        .families
        .insert(egui::FontFamily::Name(BOLD_FAMILY.into()), regular);
    fonts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_is_used_only_where_the_context_has_the_family() {
        let ctx = egui::Context::default();
        let body = egui::FontId::proportional(14.0);
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
        assert_eq!(bold_family(&ctx), None);
        assert_eq!(bold(&ctx, body.clone()), body);

        ctx.set_fonts(definitions_with_bold_family());
        ctx.run_ui(egui::RawInput::default(), |_| {})
            .textures_delta
            .clear();
        let family = egui::FontFamily::Name(BOLD_FAMILY.into());
        assert_eq!(bold_family(&ctx), Some(family.clone()));
        assert_eq!(bold(&ctx, body), egui::FontId::new(14.0, family));
    }
}
