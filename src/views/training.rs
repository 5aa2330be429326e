//! The training view: the setup form (preset, data, steps, learning rate, batch), Start /
//! Pause / Resume / Stop, the progress bar with tokens/s and time left, `Save checkpoint…`,
//! and the plots (loss, per-layer gradient norms, head scores over training, the residual
//! on/off comparison) from `training_plots.rs`.

use egui::{DragValue, RichText, Ui};

use super::heading_ui;
use super::training_plots::{
    comparison_plots_ui, grad_norm_plot_ui, head_scores_plot_ui, loss_plot_ui,
};
use crate::state::training::{DataChoice, TrainingSetup, TrainingStatus};
use crate::state::training_run::TrainingCommand;
use crate::state::{AppState, Command, FilePurpose, ViewKind};
use crate::train::PRESETS;
use crate::train::tasks::TASKS;

/// Help popover text.
pub const HELP: &str = "Train a small model from scratch and watch it learn: every other view \
shows the newest weights while it trains (about ten times a second).\n\n\
Pick a preset (the model's shape) and data: the shipped Shakespeare text, a built-in task, or \
any text file. The loss is in nats per token; the gradient norms show how much each layer is \
being changed.\n\n\
The timeline at the bottom of the window keeps snapshots of the run: drag it to look at any \
past step in every view. Opening another model (a file, a lesson's) closes a finished \
run; a run still going carries on in the background, and the bar at the bottom says so and \
brings it back. The head scores plot how much each head behaves like a \
previous-token, duplicate-token or induction head, measured on repeated random sequences.\n\n\
Tick the residual comparison to train the same deep stack twice, with and without residual \
connections (Lemma 2.2), and plot both.";

/// Draws the training view.
pub fn training_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let training = &state.training;
    heading_ui(ui, ViewKind::Training, &status_text(&training.status));
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(300.0);
            setup_ui(ui, &training.setup, !training.status.is_active(), commands);
            ui.separator();
            controls_ui(ui, state, commands);
        });
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("training plots")
            .show(ui, |ui| {
                ui.vertical(|ui| plots_ui(ui, state));
            });
    });
}

/// The curves: the comparison's, or the run's loss, gradient norms and head scores.
fn plots_ui(ui: &mut Ui, state: &AppState) {
    let training = &state.training;
    let width = ui.available_width();
    if width < 240.0 {
        ui.label("Widen the window to see the curves.");
        return;
    }
    if let Some(comparison) = &training.comparison {
        comparison_plots_ui(ui, comparison, width);
        return;
    }
    let Some(history) = &training.history else {
        ui.label("Press Start to train a fresh model; its curves appear here.");
        return;
    };
    let marked = training.view_step;
    ui.columns(2, |columns| {
        loss_plot_ui(&mut columns[0], history, marked);
        grad_norm_plot_ui(&mut columns[1], history, marked);
    });
    ui.add_space(6.0);
    head_scores_plot_ui(ui, &training.timeline, training.shown_step);
}

fn status_text(status: &TrainingStatus) -> String {
    match status {
        TrainingStatus::Idle => "no run yet".into(),
        TrainingStatus::Preparing => "preparing the data and the model…".into(),
        TrainingStatus::Running => "running".into(),
        TrainingStatus::Paused => "paused".into(),
        TrainingStatus::Finished { stopped: false } => "finished".into(),
        TrainingStatus::Finished { stopped: true } => "stopped".into(),
        TrainingStatus::Failed(message) => format!("failed: {message}"),
    }
}

/// A label and a widget named by it.
fn labelled(ui: &mut Ui, label: &str, add: impl FnOnce(&mut Ui) -> egui::Response) -> bool {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        add(ui).labelled_by(label.id).changed()
    })
    .inner
}

/// The form; edits go out as one `SetSetup` with the new values. Values set from outside
/// the widgets' ranges (a lesson, a test) are shown as they are, not clamped: the trainer
/// checks them when the run starts.
fn setup_ui(ui: &mut Ui, setup: &TrainingSetup, editable: bool, commands: &mut Vec<Command>) {
    let mut edited = setup.clone();
    let mut changed = false;
    ui.add_enabled_ui(editable, |ui| {
        egui::ComboBox::from_label("Preset")
            .selected_text(&edited.preset)
            .show_ui(ui, |ui| {
                for (name, description) in PRESETS {
                    let selected = edited.preset == *name;
                    let response = ui
                        .selectable_label(selected, *name)
                        .on_hover_text(*description);
                    if response.clicked() && !selected {
                        edited.preset = name.to_string();
                        changed = true;
                    }
                }
            });
        egui::ComboBox::from_label("Data")
            .selected_text(edited.data.label())
            .width(200.0)
            .show_ui(ui, |ui| {
                let mut choices = vec![DataChoice::Shakespeare];
                choices.extend(
                    TASKS
                        .iter()
                        .map(|(name, _)| DataChoice::Task(name.to_string())),
                );
                if let DataChoice::File(_) = &setup.data {
                    choices.push(setup.data.clone());
                }
                for choice in choices {
                    let selected = edited.data == choice;
                    if ui.selectable_label(selected, choice.label()).clicked() && !selected {
                        edited.data = choice;
                        changed = true;
                    }
                }
            });
        if ui
            .button("Text file…")
            .on_hover_text("Train on a UTF-8 text file")
            .clicked()
        {
            commands.push(Command::Training(TrainingCommand::ChooseCorpus));
        }
        changed |= labelled(ui, "Steps", |ui| {
            ui.add(
                DragValue::new(&mut edited.steps)
                    .clamp_existing_to_range(false)
                    .range(1..=1_000_000)
                    .speed(10.0),
            )
        });
        changed |= labelled(ui, "Learning rate", |ui| {
            ui.add(
                DragValue::new(&mut edited.lr)
                    .clamp_existing_to_range(false)
                    .range(1e-6..=1.0)
                    .speed(1e-4)
                    .custom_formatter(|lr, _| format_lr(lr)),
            )
        });
        changed |= labelled(ui, "Sequences per batch", |ui| {
            ui.add(
                DragValue::new(&mut edited.batch)
                    .clamp_existing_to_range(false)
                    .range(1..=512),
            )
        });
        changed |= labelled(ui, "Tokens per sequence", |ui| {
            ui.add(
                DragValue::new(&mut edited.seq)
                    .clamp_existing_to_range(false)
                    .range(5..=1024),
            )
        });
        changed |= labelled(ui, "Seed", |ui| ui.add(DragValue::new(&mut edited.seed)));
        changed |= ui
            .checkbox(
                &mut edited.compare_residual,
                "Train with and without residual connections",
            )
            .on_hover_text("Lemma 2.2: the same stack twice, from the same weights")
            .changed();
    });
    if changed {
        commands.push(Command::Training(TrainingCommand::SetSetup(edited)));
    }
}

/// Start/Pause/Resume/Stop, the progress bar, saving, and what the explorer shows.
fn controls_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let training = &state.training;
    let status = &training.status;
    let mut send = |command| commands.push(Command::Training(command));
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!status.is_active(), egui::Button::new("Start"))
            .on_hover_text("Train a fresh model as set above")
            .clicked()
        {
            send(TrainingCommand::Start);
        }
        match status {
            TrainingStatus::Paused => {
                if ui.button("Resume").clicked() {
                    send(TrainingCommand::Resume);
                }
            }
            _ => {
                let running = *status == TrainingStatus::Running;
                if ui
                    .add_enabled(running, egui::Button::new("Pause"))
                    .clicked()
                {
                    send(TrainingCommand::Pause);
                }
            }
        }
        let can_stop = matches!(status, TrainingStatus::Running | TrainingStatus::Paused);
        if ui
            .add_enabled(can_stop, egui::Button::new("Stop"))
            .clicked()
        {
            send(TrainingCommand::Stop);
        }
    });
    if let Some(history) = &training.history
        && training.comparison.is_none()
    {
        let text = format!("step {} / {}", history.steps_done(), history.total_steps);
        ui.add(egui::ProgressBar::new(history.fraction()).text(text));
        if *status == TrainingStatus::Running {
            let mut speed = format!("{:.0} tokens/s", history.tokens_per_s);
            if let Some(left) = history.time_left() {
                speed += &format!(", {} left", format_duration(left.as_secs_f64()));
            }
            ui.label(speed);
        }
        if let Some(evaluation) = history.evaluations.last() {
            ui.label(format!(
                "Validation loss {:.3} at step {} (train {:.3})",
                evaluation.val_loss, evaluation.step, evaluation.train_loss
            ));
        }
    }
    if let Some(comparison) = &training.comparison {
        let done = comparison.points[0].last().map_or(0, |p| p.step);
        let fraction = done as f32 / comparison.total_steps.max(1) as f32;
        ui.add(egui::ProgressBar::new(fraction).text(format!(
            "step {done} / {} of each run",
            comparison.total_steps
        )));
    }
    if let TrainingStatus::Failed(message) = status {
        ui.colored_label(ui.visuals().error_fg_color, message);
    }
    ui.separator();
    let shows_run = state.shows_training_run() && training.history.is_some();
    if shows_run {
        let step = training.shown_step.unwrap_or(0);
        let how = if training.view_step.is_some() {
            "from the timeline"
        } else {
            "live"
        };
        ui.label(format!("The views show step {step} ({how})."));
    }
    if ui
        .add_enabled(shows_run, egui::Button::new("Save checkpoint…"))
        .on_hover_text("Save the weights the views show, in the native format")
        .clicked()
    {
        commands.push(Command::ChooseFile(FilePurpose::SaveModel));
    }
    frame_time_ui(ui, state);
}

/// The frame-time measurement, for developers: only with `RESIDUAL_EXPLORER_LOG_FRAMES`.
fn frame_time_ui(ui: &mut Ui, state: &AppState) {
    let training = &state.training;
    if !training.frame_times.shown {
        return;
    }
    let (draw, full) = training.frame_times.medians_ms();
    let snapshot = (!training.last_snapshot_time.is_zero())
        .then_some(training.last_snapshot_time.as_secs_f64() * 1000.0);
    if let Some(text) = frame_time_text(draw, full, snapshot) {
        ui.label(RichText::new(text).small().weak());
    }
}

/// The measurement line: the median draw and whole-frame times and the last snapshot's
/// preparation time (ms), each clause only when measured; `None` when nothing is.
fn frame_time_text(draw: Option<f32>, full: Option<f32>, snapshot: Option<f64>) -> Option<String> {
    let frame: Vec<String> = [
        draw.map(|ms| format!("{ms:.1} ms drawing")),
        full.map(|ms| format!("{ms:.1} ms whole frame")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut sentences = Vec::new();
    if !frame.is_empty() {
        sentences.push(format!(
            "UI frame time, median of recent frames: {}.",
            frame.join(", ")
        ));
    }
    if let Some(ms) = snapshot {
        sentences.push(format!(
            "Last snapshot prepared off the UI thread in {ms:.1} ms."
        ));
    }
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

/// A learning rate as typed: `0.003`, or `1e-7` / `1e30` far from 1.
fn format_lr(lr: f64) -> String {
    if (1e-4..1e3).contains(&lr) {
        let text = format!("{lr:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{lr:e}")
    }
}

/// `75 s`, `3 min 5 s`, `2 h 4 min`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_time_line_says_only_what_was_measured() {
        assert_eq!(frame_time_text(None, None, None), None);
        assert_eq!(
            frame_time_text(None, None, Some(2.04)).as_deref(),
            Some("Last snapshot prepared off the UI thread in 2.0 ms.")
        );
        assert_eq!(
            frame_time_text(Some(1.23), None, None).as_deref(),
            Some("UI frame time, median of recent frames: 1.2 ms drawing.")
        );
        assert_eq!(
            frame_time_text(Some(1.0), Some(4.0), Some(3.0)).as_deref(),
            Some(
                "UI frame time, median of recent frames: 1.0 ms drawing, 4.0 ms whole frame. \
                 Last snapshot prepared off the UI thread in 3.0 ms."
            )
        );
    }
}
