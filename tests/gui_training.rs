//! Training, the timeline, interventions and patching driven through the real app by label
//! and role (egui_kittest, no window): start a fresh model from the training tab, see its
//! snapshots reach every view, pause, scrub the timeline, ablate a head, run patching, and
//! run the residual on/off comparison.

mod gui_support;

use std::sync::Arc;
use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use gui_support::{app, run_until, settle};
use ndarray::Axis;
use residual_explorer::app::ExplorerApp;
use residual_explorer::i18n::Language;
use residual_explorer::state::training::{DataChoice, TrainingSetup, TrainingStatus};
use residual_explorer::state::training_run::TrainingCommand;
use residual_explorer::state::{Command, ExportFormat, ViewKind};

fn setup(steps: usize) -> TrainingSetup {
    TrainingSetup {
        steps,
        ..TrainingSetup::default()
    }
}

#[test]
fn training_from_the_gui_updates_every_view_pauses_and_scrubs() {
    let mut harness = app();
    harness.get_by_label("Training").click();
    settle(&mut harness);
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::SetSetup(setup(100_000))));
    harness.get_by_label("Start").click();
    run_until(&mut harness, Duration::from_secs(60), "snapshots", |app| {
        let s = &app.state;
        s.training.snapshots_shown >= 3 && s.analysis_is_current()
    });
    let state = &harness.state().state;
    assert_eq!(state.training.status, TrainingStatus::Running);
    assert_eq!(state.model.name, "induction on task: induction");
    let first_pattern = state.analysis.as_ref().unwrap().trace.layers[1]
        .pattern
        .clone();
    let shown = state.training.shown_step.unwrap();
    assert!(shown > 0, "a trained snapshot is shown");
    // The analysis on screen is the trace of the snapshot the timeline holds for that step.
    let entry = state.training.timeline.at_or_before(shown).unwrap();
    assert_eq!(entry.step, shown);
    assert_eq!(*entry.params, state.model.params);

    // More snapshots arrive and the attention patterns change with them.
    run_until(
        &mut harness,
        Duration::from_secs(60),
        "later snapshots",
        |app| {
            let s = &app.state;
            s.training.shown_step.unwrap_or(0) > shown + 20 && s.analysis_is_current()
        },
    );
    let later = harness.state().state.analysis.as_ref().unwrap();
    assert_ne!(later.trace.layers[1].pattern, first_pattern);

    harness.get_by_label("Pause").click();
    run_until(&mut harness, Duration::from_secs(30), "the pause", |app| {
        app.state.training.status == TrainingStatus::Paused
    });
    let paused_at = steps_done(&harness);
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        harness.step();
    }
    let history = harness.state().state.training.history.as_ref().unwrap();
    assert_eq!(history.steps_done(), paused_at, "no steps while paused");
    assert!(history.points.iter().all(|p| p.train_loss.is_finite()));

    // Scrub the timeline to the initial weights: every view shows step 0.
    let timeline = &harness.state().state.training.timeline;
    assert!(timeline.len() >= 3, "{:?}", timeline.steps());
    let initial = Arc::clone(&timeline.entries()[0].params);
    harness
        .get_by_role_and_label(Role::Slider, "Timeline")
        .set_value_accesskit(0.0);
    run_until(&mut harness, Duration::from_secs(30), "step 0", |app| {
        let s = &app.state;
        s.training.shown_step == Some(0) && s.analysis_is_current()
    });
    let state = &harness.state().state;
    assert_eq!(state.training.view_step, Some(0));
    assert_eq!(state.model.params, *initial);
    harness.get_by_label_contains("The views show step 0 (from the timeline)");

    // Back to live, then stop.
    harness.get_by_label("Live").click();
    harness.get_by_label("Resume").click();
    run_until(&mut harness, Duration::from_secs(30), "live again", |app| {
        let s = &app.state;
        s.training.view_step.is_none() && s.training.shown_step.unwrap_or(0) > paused_at
    });
    harness.get_by_label("Stop").click();
    run_until(&mut harness, Duration::from_secs(30), "the stop", |app| {
        app.state.training.status == TrainingStatus::Finished { stopped: true }
    });
    // Head scores were recorded for the snapshots.
    let timeline = &harness.state().state.training.timeline;
    let scored = timeline
        .entries()
        .iter()
        .filter(|e| e.data.is_some())
        .count();
    assert!(scored >= 2, "{scored} scored snapshots");
    // Their plot's legend names every head (2 layers × 4 heads), above the curves.
    settle(&mut harness);
    for layer in 0..2 {
        for head in 0..4 {
            harness.get_by_label(&format!("L{layer}H{head}"));
        }
    }
}

#[test]
fn ablating_a_head_by_its_label_changes_every_view_and_removing_it_restores_them() {
    let mut harness = app();
    let plain = harness
        .state()
        .state
        .analysis
        .as_ref()
        .unwrap()
        .logits()
        .expect("every position's logits, with the lens")
        .clone();
    harness.get_by_label("Zero L0H0").click();
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(state.interventions.labels(), ["zero L0H0"]);
    let analysis = state.analysis.as_ref().unwrap();
    assert_eq!(analysis.interventions, state.interventions);
    let head = analysis.trace.layers[0].head_result.index_axis(Axis(0), 0);
    assert!(head.iter().all(|&x| x == 0.0), "the head's output is gone");
    assert_ne!(analysis.logits().unwrap(), plain);

    // The add menu: zero layer 1's MLP.
    harness.get_by_label("Add intervention…").click();
    harness.run();
    harness.get_by_label("An MLP's output").click();
    harness.run();
    harness
        .get_by_role_and_label(Role::SpinButton, "Layer")
        .set_value_accesskit(1.0);
    harness.run();
    harness.get_by_label("Add: zero L1 mlp").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.interventions.labels(),
        ["zero L0H0", "zero L1 mlp"]
    );

    harness.get_by_label("Remove zero L0H0").click();
    settle(&mut harness);
    harness.get_by_label("Remove all").click();
    settle(&mut harness);
    let state = &harness.state().state;
    assert!(state.interventions.is_empty());
    assert_eq!(state.analysis.as_ref().unwrap().logits().unwrap(), plain);
}

#[test]
fn patching_runs_from_its_tab() {
    let mut harness = app();
    harness.get_by_label("Patching").click();
    harness.run();
    harness.get_by_label("Example for this model").click();
    harness.run();
    harness.get_by_label("Run patching").click();
    run_until(&mut harness, Duration::from_secs(60), "patching", |app| {
        app.state.patching.outcome.is_some() || app.state.patching.error.is_some()
    });
    let state = &harness.state().state;
    assert_eq!(state.patching.error, None);
    let outcome = state.patching.outcome.as_ref().unwrap();
    let n_layers = state.model.params.config.n_layers;
    assert_eq!(outcome.result.restored.dim(), (n_layers, 18));
    harness.get_by_label_contains("Most restored: layer");
    // Its numbers export: one row per layer and position.
    let csv = export_csv(&mut harness);
    assert!(csv.starts_with("layer,position,clean_token"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + n_layers * 18);
}

#[test]
fn the_residual_comparison_runs_both_stacks() {
    let mut harness = app();
    harness.get_by_label("Training").click();
    settle(&mut harness);
    let comparison = TrainingSetup {
        preset: "deep".into(),
        data: DataChoice::Shakespeare,
        steps: 6,
        batch: 2,
        seq: 16,
        lr: 1e-3,
        compare_residual: true,
        ..TrainingSetup::default()
    };
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::SetSetup(comparison)));
    harness.get_by_label("Start").click();
    run_until(&mut harness, Duration::from_secs(120), "both runs", |app| {
        matches!(app.state.training.status, TrainingStatus::Finished { .. })
    });
    let comparison = harness.state().state.training.comparison.as_ref().unwrap();
    assert_eq!(comparison.points[0].len(), 6);
    assert_eq!(comparison.points[1].len(), 6);
    harness.get_by_label_contains("Loss with and without residual connections");
}

#[test]
fn a_diverging_run_is_stopped_and_reported_and_a_finished_run_can_be_saved() {
    let mut harness = app();
    harness.get_by_label("Training").click();
    settle(&mut harness);
    let diverging = TrainingSetup {
        preset: "word".into(),
        data: DataChoice::Task("sentences".into()),
        steps: 200,
        batch: 4,
        seq: 16,
        lr: 1e300, // infinite in f32: the weights become inf, the next loss NaN
        ..TrainingSetup::default()
    };
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::SetSetup(
            diverging.clone(),
        )));
    harness.get_by_label("Start").click();
    run_until(
        &mut harness,
        Duration::from_secs(60),
        "the divergence",
        |app| matches!(app.state.training.status, TrainingStatus::Failed(_)),
    );
    let state = &harness.state().state;
    let TrainingStatus::Failed(message) = &state.training.status else {
        unreachable!()
    };
    let message = message.text(Language::En);
    assert!(message.starts_with("Diverged at step"), "{message}");
    assert!(state.training.history.as_ref().unwrap().steps_done() < 200);
    harness.get_by_label_contains("failed: Diverged at step");

    // A short healthy run, saved through the same command as `Save checkpoint…`.
    let healthy = TrainingSetup {
        steps: 12,
        lr: 1e-3,
        ..diverging
    };
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::SetSetup(healthy)));
    harness.get_by_label("Start").click();
    run_until(
        &mut harness,
        Duration::from_secs(60),
        "the end of the run",
        |app| {
            let s = &app.state;
            s.training.status == TrainingStatus::Finished { stopped: false }
                && s.training.shown_step == Some(12)
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let state = &mut harness.state_mut().state;
    state.apply(Command::SaveModel(path.clone()));
    assert!(state.wait_until_idle(Duration::from_secs(30)));
    assert_eq!(state.error, None);
    let saved = residual_explorer::model::io::load_any(&path).unwrap();
    assert_eq!(saved.params, state.model.params);
    assert_eq!(saved.name, "word on task: sentences");
}

/// A short run of the word preset on the sentences task (a few seconds in a debug build).
fn short_run(steps: usize) -> TrainingSetup {
    TrainingSetup {
        preset: "word".into(),
        data: DataChoice::Task("sentences".into()),
        steps,
        batch: 4,
        seq: 16,
        lr: 1e-3,
        ..TrainingSetup::default()
    }
}

/// Exports the numbers of the view on screen as CSV (File → Export, as the menu does) and
/// returns the file's text.
fn export_csv(harness: &mut Harness<'static, ExplorerApp>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("view.csv");
    harness.state_mut().state.apply(Command::Export {
        format: ExportFormat::Csv,
        path: path.clone(),
    });
    settle(harness);
    assert_eq!(harness.state().state.error, None);
    std::fs::read_to_string(&path).unwrap()
}

/// Steps the current run has done.
fn steps_done(harness: &Harness<'_, ExplorerApp>) -> usize {
    let history = harness.state().state.training.history.as_ref();
    history.expect("a run").steps_done()
}

/// Opens the Training tab, sets the form to `setup` and presses Start.
fn start_from_the_training_tab(harness: &mut Harness<'static, ExplorerApp>, setup: TrainingSetup) {
    harness.get_by_label("Training").click();
    settle(harness);
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::SetSetup(setup)));
    harness.get_by_label("Start").click();
}

#[test]
fn opening_another_model_closes_a_finished_run_and_its_timeline() {
    let mut harness = app();
    let default_name = harness.state().state.model.name.clone();
    start_from_the_training_tab(&mut harness, short_run(12));
    run_until(&mut harness, Duration::from_secs(60), "the end", |app| {
        let s = &app.state;
        s.training.status == TrainingStatus::Finished { stopped: false }
            && s.training.shown_step == Some(12)
    });
    harness.get_by_role_and_label(Role::Slider, "Timeline");
    harness.get_by_label("trained in this session, step 12");
    assert!(!harness.state().state.training.last_snapshot_time.is_zero());
    // The run's numbers export from the Training tab: one row per step.
    let csv = export_csv(&mut harness);
    assert!(
        csv.starts_with("step,train_loss,val_loss,lr,grad_norm"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 12);

    // File → Default model: the run's timeline must not drive the default model's views.
    harness.get_by_label("File").click();
    harness.run();
    harness.get_by_label("Default model").click();
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(state.model.name, default_name);
    assert!(!state.shows_training_run());
    assert_eq!(state.training.status, TrainingStatus::Idle);
    assert!(state.training.history.is_none());
    assert!(state.training.timeline.len() < 2);
    assert!(
        harness
            .query_by_role_and_label(Role::Slider, "Timeline")
            .is_none(),
        "no timeline for a run that is gone"
    );
    harness.get_by_label("embedded in the program");
    harness.get_by_label_contains("Press Start to train a fresh model");
    assert!(
        harness
            .query_by_label_contains("Last snapshot prepared")
            .is_none(),
        "the closed run's timing is not shown beside 'no run yet'"
    );
    // Even a stale command cannot put the run's weights back.
    let before = Arc::clone(&harness.state().state.model);
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::ShowStep(Some(0))));
    settle(&mut harness);
    assert!(Arc::ptr_eq(&harness.state().state.model, &before));
}

#[test]
fn a_run_still_going_carries_on_in_the_background_and_can_be_shown_again() {
    let mut harness = app();
    let default_name = harness.state().state.model.name.clone();
    start_from_the_training_tab(&mut harness, setup(100_000));
    run_until(&mut harness, Duration::from_secs(60), "snapshots", |app| {
        app.state.training.snapshots_shown >= 2
    });
    let state = &mut harness.state_mut().state;
    state.apply(Command::ShowView(ViewKind::Residual));
    state.apply(Command::OpenDefaultModel);
    harness.step();
    let steps_then = steps_done(&harness);
    // Later snapshots arrive but leave the default model on screen.
    run_until(&mut harness, Duration::from_secs(60), "more steps", |app| {
        let history = app.state.training.history.as_ref().unwrap();
        history.steps_done() > steps_then + 50 && !app.state.training.busy()
    });
    let state = &harness.state().state;
    assert_eq!(state.training.status, TrainingStatus::Running);
    assert_eq!(state.model.name, default_name);
    assert!(!state.shows_training_run());
    assert!(
        harness
            .query_by_role_and_label(Role::Slider, "Timeline")
            .is_none()
    );
    harness.get_by_label_contains("goes on in the background");

    harness.get_by_label("Show the run").click();
    run_until(&mut harness, Duration::from_secs(30), "the run", |app| {
        app.state.shows_training_run() && app.state.analysis_is_current()
    });
    assert_eq!(
        harness.state().state.model.name,
        "induction on task: induction"
    );
    harness.get_by_role_and_label(Role::Slider, "Timeline");
    harness
        .state_mut()
        .state
        .apply(Command::Training(TrainingCommand::Stop));
    run_until(&mut harness, Duration::from_secs(30), "the stop", |app| {
        app.state.training.status == TrainingStatus::Finished { stopped: true }
    });
}

#[test]
fn hovering_the_loss_plot_reads_the_step_and_the_loss() {
    let mut harness = app();
    start_from_the_training_tab(&mut harness, short_run(40));
    run_until(
        &mut harness,
        Duration::from_secs(120),
        "the run's end",
        |app| matches!(app.state.training.status, TrainingStatus::Finished { .. }),
    );
    settle(&mut harness);
    let title = harness.get_by_label("Loss (nats per token)").rect();
    // The plot is under its title; hover its middle.
    harness.hover_at(title.left_bottom() + egui::vec2(300.0, 90.0));
    harness.run();
    let tooltip = harness
        .get_by_label_contains("\ntrain  ")
        .accesskit_node()
        .value()
        .unwrap_or_default();
    let mut lines = tooltip.lines();
    let step: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("step "))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the tooltip starts with the step: {tooltip:?}"));
    let history = harness.state().state.training.history.as_ref().unwrap();
    let point = history.points.iter().find(|p| p.step == step).unwrap();
    let train = lines.next().unwrap_or_default();
    assert_eq!(
        train,
        format!("train  {:.3}", point.train_loss),
        "{tooltip:?}"
    );
}

#[test]
fn the_frame_time_line_is_for_developers_only() {
    let mut harness = app();
    harness.get_by_label("Training").click();
    settle(&mut harness);
    assert!(!harness.state().state.training.frame_times.draw.is_empty());
    assert!(harness.query_by_label_contains("UI frame time").is_none());
    harness.state_mut().state.training.frame_times.shown = true;
    harness.run();
    harness.get_by_label_contains("UI frame time");
}
