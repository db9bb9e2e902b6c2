//! Window preferences (theme, text size, undo-send delay, senders whose
//! remote content may load), kept in eframe's storage beside the window
//! size. Nothing secret goes here. The text size is the window's zoom,
//! whether set in Settings or with the zoom keys.

use std::collections::BTreeSet;

/// The theme choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ThemeChoice {
    /// Follow the operating system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// What the person chose in Settings that is not an account setting.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Light, dark or follow the system.
    pub theme: ThemeChoice,
    /// Text size as a zoom factor (1.0 = normal).
    pub text_scale: f32,
    /// Seconds during which a sent message can still be taken back.
    pub undo_send_secs: u32,
    /// Show a desktop notification for new mail when the window is not focused.
    pub notify_new_mail: bool,
    /// Lowercase sender addresses whose remote images may load.
    pub remote_content_senders: BTreeSet<String>,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            theme: ThemeChoice::System,
            text_scale: 1.0,
            undo_send_secs: 5,
            notify_new_mail: true,
            remote_content_senders: BTreeSet::new(),
        }
    }
}

/// The storage key.
pub const STORAGE_KEY: &str = "herald-preferences";

/// The text sizes (zoom factors) the window offers, by the Settings slider
/// and the zoom keys alike: a size outside it would be clamped by the slider
/// as soon as Settings opens. Up to three times the normal size, for people
/// who see poorly; down to half, to see more rows on a small screen.
pub const TEXT_SCALES: std::ops::RangeInclusive<f32> = 0.5..=3.0;

/// One press of a zoom key changes the text size by this much (the
/// slider's step).
pub const TEXT_SCALE_STEP: f32 = 0.1;

impl Preferences {
    /// Applies theme and text size to the context.
    pub fn apply(&self, ctx: &egui::Context) {
        self.apply_theme(ctx);
        self.apply_text_scale(ctx);
    }

    /// Applies the theme (light, dark, or the system's) to the context.
    pub fn apply_theme(&self, ctx: &egui::Context) {
        ctx.set_theme(match self.theme {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        });
    }

    /// Applies the text size (a zoom of the whole window) to the context.
    pub fn apply_text_scale(&self, ctx: &egui::Context) {
        let scale = self
            .text_scale
            .clamp(*TEXT_SCALES.start(), *TEXT_SCALES.end());
        if (ctx.zoom_factor() - scale).abs() > f32::EPSILON {
            ctx.set_zoom_factor(scale);
        }
    }

    /// The browser's zoom keys (egui's: Ctrl and +, = or -, and Ctrl 0 to
    /// reset) change the text size, in steps of [`TEXT_SCALE_STEP`] within
    /// [`TEXT_SCALES`], and apply it. The window turns egui's own handling
    /// of these keys off, which would change the zoom behind the
    /// preference's back: the size would not be saved, and Settings would
    /// set it back.
    pub fn zoom_with_keyboard(&mut self, ctx: &egui::Context) {
        use egui::gui_zoom::kb_shortcuts;
        let (reset, bigger, smaller) = ctx.input_mut(|input| {
            (
                input.consume_shortcut(&kb_shortcuts::ZOOM_RESET),
                input.consume_shortcut(&kb_shortcuts::ZOOM_IN)
                    | input.consume_shortcut(&kb_shortcuts::ZOOM_IN_SECONDARY),
                input.consume_shortcut(&kb_shortcuts::ZOOM_OUT),
            )
        });
        let step = match (reset, bigger, smaller) {
            (true, _, _) => None,
            (false, true, false) => Some(TEXT_SCALE_STEP),
            (false, false, true) => Some(-TEXT_SCALE_STEP),
            (false, _, _) => return,
        };
        let scale = match step {
            None => 1.0,
            // In whole steps, so the slider's 10 % steps stay exact.
            Some(step) => (((self.text_scale + step) / TEXT_SCALE_STEP).round() * TEXT_SCALE_STEP)
                .clamp(*TEXT_SCALES.start(), *TEXT_SCALES.end()),
        };
        self.text_scale = scale;
        self.apply_text_scale(ctx);
    }

    /// True if remote content from `sender` may load.
    pub fn remote_allowed(&self, sender: &str) -> bool {
        self.remote_content_senders
            .contains(&sender.trim().to_lowercase())
    }
}
