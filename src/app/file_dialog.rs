//! File dialogs that never block the window.
//!
//! A native dialog (rfd: the XDG desktop portal, or zenity when there is no
//! portal; the system dialogs on macOS and Windows) runs on its own thread and
//! hands back its answer through a [`PendingDialog`] that the view polls each
//! frame. When no native dialog can be shown at all (a bare X server with no
//! portal and no zenity), [`FileDialogs::native_available`] says so and views
//! show [`PathPrompt`] instead: a path typed into the window, never a button
//! that silently does nothing.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, OnceLock};

/// What to ask the user for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogKind {
    /// A new file name to save one file as.
    SaveFile {
        /// The name offered (already made safe by the core).
        suggested_name: String,
    },
    /// A folder to save several files into.
    PickFolder,
    /// Existing files to attach or embed.
    OpenFiles {
        /// Offer only image files.
        images_only: bool,
    },
}

/// How a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogOutcome {
    /// The user chose these paths (one for save and folder dialogs).
    Chosen(Vec<PathBuf>),
    /// The user closed the dialog without choosing.
    Cancelled,
}

/// A dialog that is open on another thread.
#[derive(Debug)]
pub struct PendingDialog {
    answer: Receiver<DialogOutcome>,
}

impl PendingDialog {
    /// The answer, once the user has given it. A dialog whose thread died
    /// counts as cancelled.
    pub fn try_take(&self) -> Option<DialogOutcome> {
        match self.answer.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(DialogOutcome::Cancelled),
        }
    }
}

/// Opens native file dialogs off the UI thread. Cheap to clone.
#[derive(Clone)]
pub struct FileDialogs {
    waker: Arc<dyn Fn() + Send + Sync>,
    native: Arc<OnceLock<bool>>,
    start_dir: Option<PathBuf>,
}

impl std::fmt::Debug for FileDialogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDialogs")
            .field("native", &self.native.get())
            .finish()
    }
}

impl FileDialogs {
    /// Starts probing (off the UI thread) whether a native dialog can be
    /// shown; `waker` repaints the window when a dialog answers.
    pub fn new(waker: Arc<dyn Fn() + Send + Sync>) -> FileDialogs {
        let native = Arc::new(OnceLock::new());
        let probe = Arc::clone(&native);
        let probe_waker = Arc::clone(&waker);
        let spawned = std::thread::Builder::new()
            .name("herald-dialog-probe".into())
            .spawn(move || {
                let _ = probe.set(native_dialog_exists());
                probe_waker();
            });
        if spawned.is_err() {
            let _ = native.set(false);
        }
        FileDialogs {
            waker,
            native,
            start_dir: dirs_download(),
        }
    }

    /// Never shows a native dialog: every request is answered by the in-app
    /// [`PathPrompt`]. For tests, and for machines where the probe lies.
    pub fn in_app_only(waker: Arc<dyn Fn() + Send + Sync>) -> FileDialogs {
        let native = Arc::new(OnceLock::new());
        let _ = native.set(false);
        FileDialogs {
            waker,
            native,
            start_dir: dirs_download(),
        }
    }

    /// `Some(true)` when native dialogs work, `Some(false)` when views must
    /// use [`PathPrompt`], `None` while still finding out.
    pub fn native_available(&self) -> Option<bool> {
        self.native.get().copied()
    }

    /// The folder dialogs start in, and the in-app prompt suggests.
    pub fn start_dir(&self) -> Option<&Path> {
        self.start_dir.as_deref()
    }

    /// Opens a native dialog on its own thread.
    pub fn open(&self, kind: DialogKind) -> PendingDialog {
        let (sender, answer) = mpsc::sync_channel(1);
        let waker = Arc::clone(&self.waker);
        let start_dir = self.start_dir.clone();
        let spawned = std::thread::Builder::new()
            .name("herald-file-dialog".into())
            .spawn(move || {
                let outcome = run_native_dialog(&kind, start_dir.as_deref());
                let _ = sender.send(outcome);
                waker();
            });
        if let Err(err) = spawned {
            eprintln!("herald: cannot open a file dialog: {err}");
        }
        PendingDialog { answer }
    }
}

fn run_native_dialog(kind: &DialogKind, start_dir: Option<&Path>) -> DialogOutcome {
    let mut dialog = rfd::FileDialog::new();
    if let Some(dir) = start_dir {
        dialog = dialog.set_directory(dir);
    }
    let chosen: Option<Vec<PathBuf>> = match kind {
        DialogKind::SaveFile { suggested_name } => dialog
            .set_file_name(suggested_name)
            .save_file()
            .map(|path| vec![path]),
        DialogKind::PickFolder => dialog.pick_folder().map(|path| vec![path]),
        DialogKind::OpenFiles { images_only } => {
            if *images_only {
                dialog = dialog.add_filter(
                    "Images",
                    &["png", "jpg", "jpeg", "gif", "webp", "bmp", "svg"],
                );
            }
            dialog.pick_files()
        }
    };
    match chosen {
        Some(paths) if !paths.is_empty() => DialogOutcome::Chosen(paths),
        _ => DialogOutcome::Cancelled,
    }
}

/// True when rfd can show something: always on macOS and Windows; on other
/// systems, a desktop portal on the session bus or the zenity program.
fn native_dialog_exists() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    program_on_path("zenity") || portal_on_session_bus()
}

fn program_on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Asks the session bus (with `dbus-send`, if present) whether a portal is
/// running or can be started; no bus means no portal.
fn portal_on_session_bus() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return false;
    }
    let output = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--dest=org.freedesktop.DBus",
            "--type=method_call",
            "--print-reply",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListActivatableNames",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(output) => {
            String::from_utf8_lossy(&output.stdout).contains("org.freedesktop.portal.Desktop")
        }
        Err(_) => false,
    }
}

fn dirs_download() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    let home = PathBuf::from(home);
    let downloads = home.join("Downloads");
    Some(if downloads.is_dir() { downloads } else { home })
}

/// The in-app stand-in for a file dialog: a path field with OK and Cancel.
#[derive(Debug, Clone, Default)]
pub struct PathPrompt {
    /// What the user typed.
    pub text: String,
    /// Why the last answer was not accepted, shown under the field.
    pub problem: Option<String>,
}

impl PathPrompt {
    /// A prompt pre-filled with `initial`.
    pub fn new(initial: &Path) -> PathPrompt {
        PathPrompt {
            text: initial.display().to_string(),
            problem: None,
        }
    }

    /// Draws the prompt; returns the outcome once the user confirms or
    /// cancels. `label` says what the path is for.
    pub fn ui(&mut self, ui: &mut egui::Ui, label: &str) -> Option<DialogOutcome> {
        let mut outcome = None;
        ui.label(label);
        ui.label(
            egui::RichText::new("No file dialog is available here; type a path instead.").weak(),
        );
        ui.horizontal(|ui| {
            let path_label = ui.label("Path");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.text)
                        .desired_width(360.0)
                        .hint_text("/home/you/Downloads"),
                )
                .labelled_by(path_label.id);
            let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("OK").clicked() || entered {
                let path = PathBuf::from(self.text.trim());
                if self.text.trim().is_empty() {
                    self.problem = Some("Type a path first.".into());
                } else {
                    outcome = Some(DialogOutcome::Chosen(vec![path]));
                }
            }
            if ui.button("Cancel").clicked() {
                outcome = Some(DialogOutcome::Cancelled);
            }
        });
        if let Some(problem) = &self.problem {
            ui.colored_label(ui.visuals().error_fg_color, problem);
        }
        outcome
    }
}
