//! OS windows for headless tests: a stand-in for what eframe does with an
//! immediate viewport (the composer's own window), so the window-per-composer
//! path runs under egui_kittest, which embeds viewports.
//!
//! [`OsWindows::install`] turns embedding off and renders each immediate
//! viewport the way eframe's glow backend does: its own egui pass, inside the
//! main window's, with its own input (keys typed into it, files dropped on
//! it, its close button) and its own accessibility tree, which a test reads
//! here rather than in the harness (which sees the main window only). Like a
//! real window it gets one queued event per frame.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use egui::accesskit::{self, Role};
use egui::{Context, ViewportId};
use egui_kittest::kittest::{self, AccessKitNode};

/// The immediate viewports of one context.
#[derive(Clone)]
pub struct OsWindows {
    inner: Rc<RefCell<Windows>>,
}

#[derive(Default)]
struct Windows {
    /// What each window showed in its last pass.
    trees: BTreeMap<ViewportId, kittest::State>,
    /// Input waiting for each window, delivered one event per pass.
    queued: BTreeMap<ViewportId, VecDeque<Input>>,
    /// Passes each window has had.
    passes: BTreeMap<ViewportId, u64>,
}

enum Input {
    Event(egui::Event),
    Drop(PathBuf),
    Close,
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|error| error.to_string())
    }
}

impl OsWindows {
    /// From now on `ctx` opens immediate viewports as windows of their own
    /// (rendered by this, on this thread).
    pub fn install(ctx: &Context) -> OsWindows {
        let windows = OsWindows {
            inner: Rc::new(RefCell::new(Windows::default())),
        };
        ctx.set_embed_viewports(false);
        let inner = Rc::clone(&windows.inner);
        Context::set_immediate_viewport_renderer(move |ctx, viewport| {
            let id = viewport.ids.this;
            let (input, pass) = {
                let mut windows = inner.borrow_mut();
                let pass = windows.passes.entry(id).or_default();
                *pass += 1;
                let pass = *pass;
                let input = windows.queued.get_mut(&id).and_then(VecDeque::pop_front);
                (input, pass)
            };
            let size = viewport
                .builder
                .inner_size
                .unwrap_or(egui::vec2(800.0, 600.0));
            let mut raw = egui::RawInput {
                viewport_id: id,
                screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, size)),
                time: Some(pass as f64 / 60.0),
                focused: true,
                ..Default::default()
            };
            let mut info = egui::ViewportInfo {
                parent: Some(viewport.ids.parent),
                title: viewport.builder.title.clone(),
                focused: Some(true),
                native_pixels_per_point: Some(1.0),
                ..Default::default()
            };
            match input {
                Some(Input::Event(event)) => {
                    // Modifiers held for the key, as a keyboard would.
                    let modifiers = match &event {
                        egui::Event::Key { modifiers, .. } => *modifiers,
                        _ => egui::Modifiers::NONE,
                    };
                    raw.events.push(egui::Event::ModifiersChanged(modifiers));
                    raw.events.push(event);
                    raw.events
                        .push(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
                }
                Some(Input::Drop(path)) => raw.dropped_files.push(Arc::new(DroppedPath(path))),
                Some(Input::Close) => info.events.push(egui::ViewportEvent::Close),
                None => {}
            }
            raw.viewports.insert(id, info);
            let mut ui_cb = viewport.viewport_ui_cb;
            let mut output = ctx.run_ui(raw, |ui| ui_cb(ui));
            // Nothing is painted: the window's new textures go nowhere.
            output.textures_delta.clear();
            if let Some(update) = output.platform_output.accesskit_update {
                let mut windows = inner.borrow_mut();
                match windows.trees.get_mut(&id) {
                    Some(tree) => tree.update(update),
                    None => {
                        windows.trees.insert(id, kittest::State::new(update));
                    }
                }
            }
        });
        windows
    }

    /// The titles of the OS windows the last frame of the main window
    /// showed (`harness.output()` is that frame's output).
    pub fn titles(output: &egui::FullOutput) -> Vec<String> {
        output
            .viewport_output
            .iter()
            .filter(|(id, _)| **id != ViewportId::ROOT)
            .map(|(_, viewport)| viewport.builder.title.clone().unwrap_or_default())
            .collect()
    }

    /// The window titled `title` in `output`.
    pub fn find(output: &egui::FullOutput, title: &str) -> Option<ViewportId> {
        output
            .viewport_output
            .iter()
            .find(|(id, viewport)| {
                **id != ViewportId::ROOT && viewport.builder.title.as_deref() == Some(title)
            })
            .map(|(id, _)| *id)
    }

    /// True while input for `window` waits to be delivered.
    pub fn busy(&self, window: ViewportId) -> bool {
        self.inner
            .borrow()
            .queued
            .get(&window)
            .is_some_and(|queue| !queue.is_empty())
    }

    fn queue(&self, window: ViewportId, input: Input) {
        self.inner
            .borrow_mut()
            .queued
            .entry(window)
            .or_default()
            .push_back(input);
    }

    /// Gives the keyboard to the field labelled `label` in `window`.
    pub fn focus(&self, window: ViewportId, label: &str) {
        let (target_node, target_tree) = self
            .with_node(window, label, |node| node.locate())
            .unwrap_or_else(|| panic!("no {label:?} in the window"));
        self.queue(
            window,
            Input::Event(egui::Event::AccessKitActionRequest(
                accesskit::ActionRequest {
                    action: accesskit::Action::Focus,
                    target_node,
                    target_tree,
                    data: None,
                },
            )),
        );
    }

    /// Clicks the button labelled `label` in `window` (as a screen reader
    /// would).
    pub fn click(&self, window: ViewportId, label: &str) {
        let (target_node, target_tree) = self
            .with_node(window, label, |node| node.locate())
            .unwrap_or_else(|| panic!("no {label:?} in the window"));
        self.queue(
            window,
            Input::Event(egui::Event::AccessKitActionRequest(
                accesskit::ActionRequest {
                    action: accesskit::Action::Click,
                    target_node,
                    target_tree,
                    data: None,
                },
            )),
        );
    }

    /// Types `text` into whatever has the keyboard in `window`.
    pub fn type_text(&self, window: ViewportId, text: &str) {
        self.queue(window, Input::Event(egui::Event::Text(text.to_owned())));
    }

    /// Presses and releases `key` with `modifiers` in `window`.
    pub fn key(&self, window: ViewportId, modifiers: egui::Modifiers, key: egui::Key) {
        for pressed in [true, false] {
            self.queue(
                window,
                Input::Event(egui::Event::Key {
                    key,
                    physical_key: None,
                    pressed,
                    repeat: false,
                    modifiers,
                }),
            );
        }
    }

    /// Pastes `image` into `window`, as eframe does when the clipboard
    /// holds an image and no text.
    pub fn paste_image(&self, window: ViewportId, image: egui::ColorImage) {
        self.queue(
            window,
            Input::Event(egui::Event::PasteImage(Arc::new(image))),
        );
    }

    /// Drops the file at `path` on `window`.
    pub fn drop_file(&self, window: ViewportId, path: &Path) {
        self.queue(window, Input::Drop(path.to_path_buf()));
    }

    /// Clicks `window`'s close button (the window manager's).
    pub fn close(&self, window: ViewportId) {
        self.queue(window, Input::Close);
    }

    /// The value of the text field labelled `label` in `window`.
    pub fn value(&self, window: ViewportId, label: &str) -> Option<String> {
        self.with_node(window, label, |node| node.value()).flatten()
    }

    /// True if `window` last showed a node whose label contains `text`.
    pub fn shows(&self, window: ViewportId, text: &str) -> bool {
        self.labels(window).iter().any(|label| label.contains(text))
    }

    /// Every label and value `window` last showed, for failure messages.
    pub fn labels(&self, window: ViewportId) -> Vec<String> {
        let windows = self.inner.borrow();
        let Some(tree) = windows.trees.get(&window) else {
            return Vec::new();
        };
        let mut labels = Vec::new();
        walk(tree.root(), &mut |node| {
            if let Some(label) = node.label().or_else(|| node.value())
                && !label.is_empty()
            {
                labels.push(label);
            }
            false
        });
        labels
    }

    fn with_node<R>(
        &self,
        window: ViewportId,
        label: &str,
        read: impl FnOnce(&AccessKitNode<'_>) -> R,
    ) -> Option<R> {
        let windows = self.inner.borrow();
        let tree = windows.trees.get(&window)?;
        let mut found = None;
        walk(tree.root(), &mut |node| {
            let matches = node.label().as_deref() == Some(label)
                && node.role() != Role::Label
                && node.role() != Role::Window;
            if matches {
                found = Some(*node);
            }
            matches
        });
        found.map(|node| read(&node))
    }
}

/// Visits `node` and its descendants until `visit` returns true.
fn walk<'tree>(
    node: AccessKitNode<'tree>,
    visit: &mut impl FnMut(&AccessKitNode<'tree>) -> bool,
) -> bool {
    if visit(&node) {
        return true;
    }
    node.children().any(|child| walk(child, visit))
}
