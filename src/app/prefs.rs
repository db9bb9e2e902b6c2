//! Window preferences (theme, text size, undo-send delay, senders whose
//! remote content may load), kept in eframe's storage beside the window
//! size. Nothing secret goes here.

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
        let scale = self.text_scale.clamp(0.7, 2.0);
        if (ctx.zoom_factor() - scale).abs() > f32::EPSILON {
            ctx.set_zoom_factor(scale);
        }
    }

    /// True if remote content from `sender` may load.
    pub fn remote_allowed(&self, sender: &str) -> bool {
        self.remote_content_senders
            .contains(&sender.trim().to_lowercase())
    }
}
