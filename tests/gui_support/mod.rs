//! Helpers for the GUI tests: the real app in an egui_kittest harness (no window, no GPU),
//! and waiting for its background jobs.
#![allow(dead_code)]

pub mod layout;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use residual_explorer::app::{AppOptions, ExplorerApp};
use residual_explorer::state::Settings;

/// The app at 1280×800 with default settings and `prompt`, settled.
pub fn app_with_prompt(prompt: &str) -> Harness<'static, ExplorerApp> {
    app_sized(prompt, egui::vec2(1280.0, 800.0))
}

/// The app in a window of `size` points with default settings and `prompt`, settled.
pub fn app_sized(prompt: &str, size: egui::Vec2) -> Harness<'static, ExplorerApp> {
    let settings = Settings {
        prompt: prompt.to_string(),
        ..Settings::default()
    };
    let mut harness = Harness::builder().with_size(size).build_eframe(move |cc| {
        ExplorerApp::new(
            cc,
            AppOptions {
                settings: Some(settings),
                ..AppOptions::default()
            },
        )
    });
    settle(&mut harness);
    harness
}

/// The app with the default model's default prompt.
pub fn app() -> Harness<'static, ExplorerApp> {
    app_with_prompt("")
}

/// Runs frames until every background job has finished and the UI is still.
pub fn settle(harness: &mut Harness<'static, ExplorerApp>) {
    for _ in 0..50 {
        // One frame takes the queued input, which may start a job (a trace, a load).
        harness.step();
        let idle = harness
            .state_mut()
            .state
            .wait_until_idle(Duration::from_secs(20));
        assert!(idle, "background jobs did not finish in 20 s");
        if harness.try_run().is_ok() {
            let state = &harness.state().state;
            if !state.busy() && !state.lesson.is_setting_up() {
                return;
            }
        }
    }
    panic!("the app kept starting new jobs");
}

/// Runs frames until `done` holds (panics after `timeout`, saying `what` it waited for and
/// where the training run was).
pub fn run_until(
    harness: &mut Harness<'static, ExplorerApp>,
    timeout: Duration,
    what: &str,
    done: impl Fn(&ExplorerApp) -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !done(harness.state()) {
        if Instant::now() > deadline {
            let training = &harness.state().state.training;
            let steps = training.history.as_ref().map(|h| h.steps_done());
            panic!(
                "timed out waiting for {what}: status {:?}, steps {steps:?}",
                training.status
            );
        }
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.step();
}

/// Switches the language with the tab row's combo box, as a student would.
pub fn switch_to_portuguese(harness: &mut Harness<'static, ExplorerApp>) {
    harness.get_by_label("Language").click();
    harness.run();
    harness.get_by_label("Português").click();
    settle(harness);
}

/// The copied Hugging Face GPT-2 fixture folder.
pub fn gpt2_tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gpt2-tiny")
}

/// The index of the last stage (the logits) of the analysis on screen.
pub fn last_stage(harness: &Harness<'static, ExplorerApp>) -> usize {
    let analysis = harness.state().state.analysis.as_ref();
    analysis.expect("an analysis on screen").stages.len() - 1
}
