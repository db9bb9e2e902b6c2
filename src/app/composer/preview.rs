//! The body preview: the HTML that will be sent, drawn by the reader's
//! [`HtmlView`], so it looks exactly as recipients see it in Herald.
//!
//! The HTML is parsed in a [`Job`] only when it differs from what is shown
//! (the composer asks again only after an edit); the old document stays on
//! screen until the new one is ready, and edits made during a parse are
//! coalesced into one more parse. Inline images are the composer's own
//! preview-size textures, keyed by [`cid_key`]; remote images stay blocked
//! (nothing in the composer fetches).

use std::collections::HashMap;
use std::sync::Arc;

use egui::{TextureHandle, TextureId};

use crate::app::html_view::{
    HtmlDocument, HtmlView, InlineImage, InlineImages, RemoteImages, cid_key,
};
use crate::app::jobs::{Job, Waker};

/// The preview of one composer's body.
pub struct Preview {
    /// The composer's edit generation the HTML was last taken at.
    generation: Option<u64>,
    /// The newest HTML asked for: shown, being parsed, or queued.
    wanted: Option<String>,
    view: Option<HtmlView>,
    parsing: Option<Job<HtmlDocument>>,
    /// `wanted` changed while a parse ran: parse again when it ends.
    queued: bool,
    failed: bool,
    images: InlineImages,
    /// What `images` holds: key → texture.
    textures: HashMap<String, TextureId>,
    parses: u64,
    images_drawn: usize,
    composer_id: u64,
}

impl Preview {
    /// An empty preview for composer `composer_id` (which keeps its scroll
    /// position apart from other composers').
    pub fn new(composer_id: u64) -> Preview {
        Preview {
            generation: None,
            wanted: None,
            view: None,
            parsing: None,
            queued: false,
            failed: false,
            images: InlineImages::default(),
            textures: HashMap::new(),
            parses: 0,
            images_drawn: 0,
            composer_id,
        }
    }

    /// True when the HTML was last given at this edit generation.
    pub fn is_current(&self, generation: u64) -> bool {
        self.generation == Some(generation)
    }

    /// The HTML to show, as of edit `generation`. Starts a parse only when it
    /// differs from the newest HTML already asked for.
    pub fn set_html(&mut self, generation: u64, html: String, waker: &Waker) {
        self.generation = Some(generation);
        if self.wanted.as_ref() == Some(&html) {
            return;
        }
        self.wanted = Some(html);
        if self.parsing.is_some() {
            self.queued = true;
        } else {
            self.start_parse(waker);
        }
    }

    fn start_parse(&mut self, waker: &Waker) {
        let Some(html) = self.wanted.clone() else {
            return;
        };
        self.parses += 1;
        self.parsing = Some(Job::spawn("preview-html", waker, move || {
            HtmlDocument::parse(&html)
        }));
    }

    fn poll(&mut self, waker: &Waker) {
        let Some(result) = self.parsing.as_mut().and_then(Job::try_take) else {
            return;
        };
        self.parsing = None;
        match result {
            Ok(doc) => {
                self.failed = false;
                self.view = Some(HtmlView::new(
                    Arc::new(doc),
                    ("composer-preview", self.composer_id),
                ));
            }
            Err(_) => self.failed = true,
        }
        if std::mem::take(&mut self.queued) {
            self.start_parse(waker);
        }
    }

    /// The inline images the body may reference: `(content id, texture)`.
    /// Only what changed is given to the view (each change re-places it).
    pub fn set_images(&mut self, pictures: Vec<(String, TextureHandle)>) {
        let wanted: HashMap<String, TextureId> = pictures
            .iter()
            .map(|(content_id, texture)| (cid_key(content_id), texture.id()))
            .collect();
        if wanted == self.textures {
            return;
        }
        for key in self.textures.keys() {
            if !wanted.contains_key(key) {
                self.images.remove(key);
            }
        }
        for (content_id, texture) in pictures {
            let key = cid_key(&content_id);
            if self.textures.get(&key) != Some(&texture.id()) {
                self.images.insert(key, InlineImage::Ready(texture));
            }
        }
        self.textures = wanted;
    }

    /// Draws the preview in a box `height` points high.
    pub fn ui(&mut self, ui: &mut egui::Ui, height: f32, waker: &Waker) {
        self.poll(waker);
        self.images_drawn = 0;
        let size = egui::vec2(ui.available_width(), height);
        ui.allocate_ui(size, |ui| match &mut self.view {
            Some(view) => {
                // Links are not followed from the preview: the hover shows
                // where they go, which is what the author needs to check.
                let response = view.ui(ui, &self.images, RemoteImages::Blocked);
                self.images_drawn = response.images_drawn;
            }
            None if self.failed => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    "The preview could not be made.",
                );
            }
            None => {
                ui.spinner();
            }
        });
    }

    /// The document shown, once parsed.
    pub fn document(&self) -> Option<&HtmlDocument> {
        self.view.as_ref().map(HtmlView::document)
    }

    /// How many images the preview drew from textures in the last frame.
    pub fn images_drawn(&self) -> usize {
        self.images_drawn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn settle(preview: &mut Preview, waker: &Waker) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while preview.parsing.is_some() {
            assert!(Instant::now() < deadline, "the parse never ended");
            std::thread::sleep(Duration::from_millis(5));
            preview.poll(waker);
        }
    }

    #[test]
    fn preview_parses_only_when_the_html_changes() {
        let waker: Waker = Arc::new(|| {});
        let mut preview = Preview::new(1);
        preview.set_html(1, "<p>a</p>".into(), &waker);
        preview.set_html(2, "<p>a</p>".into(), &waker);
        assert_eq!(preview.parses, 1);
        assert!(preview.is_current(2));
        settle(&mut preview, &waker);
        // Asked again with the same HTML (an edit that changed nothing shown).
        preview.set_html(3, "<p>a</p>".into(), &waker);
        assert_eq!(preview.parses, 1);
        let text = preview.document().map(HtmlDocument::plain_text);
        assert_eq!(text.as_deref().map(str::trim), Some("a"));

        // Edits during a parse are coalesced: one more parse, of the newest.
        preview.set_html(4, "<p>b</p>".into(), &waker);
        preview.set_html(5, "<p>c</p>".into(), &waker);
        preview.set_html(6, "<p>d</p>".into(), &waker);
        assert_eq!(preview.parses, 2);
        settle(&mut preview, &waker);
        assert_eq!(preview.parses, 3);
        let text = preview.document().map(HtmlDocument::plain_text);
        assert_eq!(text.as_deref().map(str::trim), Some("d"));
    }
}
