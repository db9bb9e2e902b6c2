//! Fonts for every script.
//!
//! egui's default fonts have no CJK glyphs: Chinese, Japanese and Korean text
//! would render as boxes. At start-up we look for a system font that has them
//! and add it as a fallback after the defaults (so Latin text keeps egui's look).

use std::path::Path;

/// System fonts with CJK (and usually Cyrillic) coverage, most common first.
const CANDIDATE_FONTS: &[&str] = &[
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

/// Adds the first CJK-capable system font found as a fallback; returns its path.
pub fn install_fallback_fonts(ctx: &egui::Context) -> Option<&'static str> {
    let (path, bytes) = CANDIDATE_FONTS.iter().find_map(|path| {
        std::fs::read(Path::new(path))
            .ok()
            .map(|bytes| (*path, bytes))
    })?;
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        "system-cjk".to_owned(),
        std::sync::Arc::new(egui::FontData::from_owned(bytes)),
    );
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("system-cjk".to_owned());
    }
    ctx.set_fonts(fonts);
    Some(path)
}
