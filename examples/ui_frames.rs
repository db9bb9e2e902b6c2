//! Frame-time benchmark for the window (run by `bench/ui_frames.py`).
//!
//! `cargo run --release --example ui_frames -- PROFILE_DIR`
//!
//! Drives the real [`HeraldApp`] headless (egui_kittest, no GPU: the time
//! measured is the UI thread's CPU work per frame: layout, list, reader)
//! over a profile made by `make_inbox`, and prints one JSON line per phase
//! with frame-time percentiles, of the UI thread's CPU time per frame and of
//! the wall-clock time (which also counts waiting for a core while
//! background jobs, such as the first indexing of the 100,000 messages for
//! search, share the machine's cores):
//! - `scroll`: Page Down through the 100,000-message list;
//! - `open`: Down arrow through messages, each opened in the reader (the
//!   file is read and parsed in a job; the frame only draws);
//! - `hung_server`: scrolling while Get mail waits on a server that
//!   accepts and never answers (the UI thread must not wait for it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use herald::app::file_dialog::FileDialogs;
use herald::app::{AppSetup, HeraldApp};
use herald_core::account::{AccountList, HostPort, Pop3Security, Pop3Server, Profile};
use herald_core::credentials::{Password, PasswordStore};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// One frame's cost: the UI thread's CPU time, and the wall-clock time
/// (which also counts waiting for a core on a busy machine).
#[derive(Default)]
struct Frames {
    cpu_ms: Vec<f64>,
    wall_ms: Vec<f64>,
}

fn report(phase: &str, mut frames: Frames) {
    frames.cpu_ms.sort_by(f64::total_cmp);
    frames.wall_ms.sort_by(f64::total_cmp);
    let (cpu, wall) = (&frames.cpu_ms, &frames.wall_ms);
    println!(
        "{{\"phase\":\"{phase}\",\"frames\":{},\"p50_ms\":{:.2},\"p95_ms\":{:.2},\"max_ms\":{:.2},\
         \"wall_p50_ms\":{:.2},\"wall_p95_ms\":{:.2},\"wall_max_ms\":{:.2}}}",
        cpu.len(),
        percentile(cpu, 0.5),
        percentile(cpu, 0.95),
        percentile(cpu, 1.0),
        percentile(wall, 0.5),
        percentile(wall, 0.95),
        percentile(wall, 1.0)
    );
}

/// CPU time used by the calling thread so far.
fn thread_cpu_time() -> Duration {
    #[cfg(unix)]
    {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(
            u64::try_from(now.tv_sec).unwrap_or(0),
            u32::try_from(now.tv_nsec).unwrap_or(0),
        )
    }
    #[cfg(not(unix))]
    {
        Duration::ZERO
    }
}

fn timed_step(harness: &mut Harness<'static, Option<HeraldApp>>, frames: &mut Frames) {
    let cpu = thread_cpu_time();
    let started = Instant::now();
    harness.step();
    frames
        .wall_ms
        .push(started.elapsed().as_secs_f64() * 1000.0);
    frames
        .cpu_ms
        .push((thread_cpu_time() - cpu).as_secs_f64() * 1000.0);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: ui_frames PROFILE_DIR")?;
    let profile = Profile::at(&dir);

    // A POP3 "server" that accepts and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let silent_port = silent.local_addr()?.port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let mut list = AccountList::load(&profile)?;
    let mut account = list
        .get("bench")
        .ok_or("no bench account: run make_inbox")?
        .clone();
    account.pop3 = Pop3Server::new(
        HostPort {
            host: "127.0.0.1".into(),
            port: Some(silent_port),
        },
        Pop3Security::ImplicitTls,
    );
    list.remove("bench")?;
    list.add(account.clone())?;
    list.save(&profile)?;

    let passwords = PasswordStore::session_only("herald-bench", "benchmark");
    passwords.set("bench", &Password::new("unused".into()))?;
    let mut setup = AppSetup::new(profile.clone());
    setup.passwords = Some(Arc::new(passwords));
    setup.dialogs = Some(FileDialogs::in_app_only(Arc::new(|| {})));

    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(
            |ui, app: &mut Option<HeraldApp>| {
                if let Some(app) = app {
                    app.ui(ui);
                }
            },
            None,
        );
    herald::app::setup_context(&harness.ctx);
    harness.step();
    let started = Instant::now();
    *harness.state_mut() = Some(HeraldApp::new(setup, &harness.ctx));
    // Until the list shows rows (the load runs in a job).
    let deadline = Instant::now() + Duration::from_secs(120);
    while harness
        .state()
        .as_ref()
        .map_or(0, HeraldApp::shown_message_count)
        == 0
    {
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
        if Instant::now() > deadline {
            return Err("the list never loaded".into());
        }
    }
    println!(
        "{{\"phase\":\"list_loaded\",\"seconds\":{:.3}}}",
        started.elapsed().as_secs_f64()
    );
    // Warm-up: fonts and galleys for the first screens.
    for _ in 0..10 {
        harness.step();
    }

    let mut scroll = Frames::default();
    for _ in 0..300 {
        harness.key_press(egui::Key::ArrowDown);
        harness.key_press(egui::Key::PageDown);
        timed_step(&mut harness, &mut scroll);
    }
    report("scroll", scroll);

    let mut open = Frames::default();
    for _ in 0..200 {
        harness.key_press(egui::Key::ArrowDown);
        timed_step(&mut harness, &mut open);
        // Let the job finish, then time the frame that draws the message.
        std::thread::sleep(Duration::from_millis(3));
        timed_step(&mut harness, &mut open);
    }
    report("open", open);

    harness.key_press(egui::Key::F5);
    harness.step();
    let mut hung = Frames::default();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        harness.key_press(egui::Key::PageUp);
        timed_step(&mut harness, &mut hung);
    }
    report("hung_server", hung);
    Ok(())
}
