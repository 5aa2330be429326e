//! The training view: the setup form (preset, data, steps, learning rate, batch), Start /
//! Pause / Resume / Stop, the progress bar with tokens/s and time left, `Save checkpoint…`,
//! and the plots (loss, per-layer gradient norms, head scores over training, the residual
//! on/off comparison) from `training_plots.rs`.

use egui::{DragValue, RichText, Ui};

use super::heading_ui;
use super::training_plots::{
    comparison_plots_ui, grad_norm_plot_ui, head_scores_plot_ui, loss_plot_ui,
};
use crate::i18n::{Language, TrainText};
use crate::state::training::{DataChoice, TrainingSetup, TrainingStatus};
use crate::state::training_run::TrainingCommand;
use crate::state::{AppState, Command, FilePurpose, ViewKind};
use crate::train::PRESETS;
use crate::train::tasks::TASKS;

/// Draws the training view.
pub fn training_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let training = &state.training;
    let language = state.lesson.player.language;
    heading_ui(
        ui,
        language,
        ViewKind::Training,
        &status_text(&training.status, language),
    );
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(300.0);
            setup_ui(
                ui,
                language,
                &training.setup,
                !training.status.is_active(),
                commands,
            );
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
    let language = state.lesson.player.language;
    let width = ui.available_width();
    if width < 240.0 {
        ui.label(TrainText::WidenWindow.text(language));
        return;
    }
    if let Some(comparison) = &training.comparison {
        comparison_plots_ui(ui, language, comparison, width);
        return;
    }
    let Some(history) = &training.history else {
        ui.label(TrainText::PressStart.text(language));
        return;
    };
    let marked = training.view_step;
    ui.columns(2, |columns| {
        loss_plot_ui(&mut columns[0], language, history, marked);
        grad_norm_plot_ui(&mut columns[1], language, history, marked);
    });
    ui.add_space(6.0);
    head_scores_plot_ui(ui, language, &training.timeline, training.shown_step);
}

fn status_text(status: &TrainingStatus, language: Language) -> String {
    let key = match status {
        TrainingStatus::Idle => TrainText::StatusIdle,
        TrainingStatus::Preparing => TrainText::StatusPreparing,
        TrainingStatus::Running => TrainText::StatusRunning,
        TrainingStatus::Paused => TrainText::StatusPaused,
        TrainingStatus::Finished { stopped: false } => TrainText::StatusFinished,
        TrainingStatus::Finished { stopped: true } => TrainText::StatusStopped,
        TrainingStatus::Failed(message) => {
            return TrainText::StatusFailed.fill(language, &[&message.text(language)]);
        }
    };
    key.text(language).to_string()
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
fn setup_ui(
    ui: &mut Ui,
    language: Language,
    setup: &TrainingSetup,
    editable: bool,
    commands: &mut Vec<Command>,
) {
    let text = |key: TrainText| key.text(language);
    let mut edited = setup.clone();
    let mut changed = false;
    ui.add_enabled_ui(editable, |ui| {
        egui::ComboBox::from_label(text(TrainText::Preset))
            .selected_text(&edited.preset)
            .show_ui(ui, |ui| {
                for (name, description) in PRESETS {
                    let selected = edited.preset == *name;
                    let response = ui
                        .selectable_label(selected, *name)
                        .on_hover_text(description.text(language));
                    if response.clicked() && !selected {
                        edited.preset = name.to_string();
                        changed = true;
                    }
                }
            });
        egui::ComboBox::from_label(text(TrainText::Data))
            .selected_text(edited.data.label(language))
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
                    if ui
                        .selectable_label(selected, choice.label(language))
                        .clicked()
                        && !selected
                    {
                        edited.data = choice;
                        changed = true;
                    }
                }
            });
        if ui
            .button(text(TrainText::TextFile))
            .on_hover_text(text(TrainText::TextFileHover))
            .clicked()
        {
            commands.push(Command::Training(TrainingCommand::ChooseCorpus));
        }
        changed |= labelled(ui, text(TrainText::Steps), |ui| {
            ui.add(
                DragValue::new(&mut edited.steps)
                    .clamp_existing_to_range(false)
                    .range(1..=1_000_000)
                    .speed(10.0),
            )
        });
        changed |= labelled(ui, text(TrainText::LearningRate), |ui| {
            ui.add(
                DragValue::new(&mut edited.lr)
                    .clamp_existing_to_range(false)
                    .range(1e-6..=1.0)
                    .speed(1e-4)
                    .custom_formatter(|lr, _| format_lr(lr)),
            )
        });
        changed |= labelled(ui, text(TrainText::SequencesPerBatch), |ui| {
            ui.add(
                DragValue::new(&mut edited.batch)
                    .clamp_existing_to_range(false)
                    .range(1..=512),
            )
        });
        changed |= labelled(ui, text(TrainText::TokensPerSequence), |ui| {
            ui.add(
                DragValue::new(&mut edited.seq)
                    .clamp_existing_to_range(false)
                    .range(5..=1024),
            )
        });
        changed |= labelled(ui, text(TrainText::Seed), |ui| {
            ui.add(DragValue::new(&mut edited.seed))
        });
        changed |= ui
            .checkbox(
                &mut edited.compare_residual,
                text(TrainText::CompareResidual),
            )
            .on_hover_text(text(TrainText::CompareResidualHover))
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
    let language = state.lesson.player.language;
    let text = |key: TrainText| key.text(language);
    let mut send = |command| commands.push(Command::Training(command));
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                !status.is_active(),
                egui::Button::new(text(TrainText::Start)),
            )
            .on_hover_text(text(TrainText::StartHover))
            .clicked()
        {
            send(TrainingCommand::Start);
        }
        match status {
            TrainingStatus::Paused => {
                if ui.button(text(TrainText::Resume)).clicked() {
                    send(TrainingCommand::Resume);
                }
            }
            _ => {
                let running = *status == TrainingStatus::Running;
                if ui
                    .add_enabled(running, egui::Button::new(text(TrainText::Pause)))
                    .clicked()
                {
                    send(TrainingCommand::Pause);
                }
            }
        }
        let can_stop = matches!(status, TrainingStatus::Running | TrainingStatus::Paused);
        if ui
            .add_enabled(can_stop, egui::Button::new(text(TrainText::Stop)))
            .clicked()
        {
            send(TrainingCommand::Stop);
        }
    });
    if let Some(history) = &training.history
        && training.comparison.is_none()
    {
        let progress =
            TrainText::StepOfTotal.fill(language, &[&history.steps_done(), &history.total_steps]);
        ui.add(egui::ProgressBar::new(history.fraction()).text(progress));
        if *status == TrainingStatus::Running {
            let tokens_per_s = format!("{:.0}", history.tokens_per_s);
            let mut speed = TrainText::TokensPerSecond.fill(language, &[&tokens_per_s]);
            if let Some(left) = history.time_left() {
                let left = format_duration(left.as_secs_f64());
                speed += &TrainText::TimeLeft.fill(language, &[&left]);
            }
            ui.label(speed);
        }
        if let Some(evaluation) = history.evaluations.last() {
            ui.label(TrainText::ValidationLoss.fill(
                language,
                &[
                    &format!("{:.3}", evaluation.val_loss),
                    &evaluation.step,
                    &format!("{:.3}", evaluation.train_loss),
                ],
            ));
        }
    }
    if let Some(comparison) = &training.comparison {
        let done = comparison.points[0].last().map_or(0, |p| p.step);
        let fraction = done as f32 / comparison.total_steps.max(1) as f32;
        let progress = TrainText::StepOfEachRun.fill(language, &[&done, &comparison.total_steps]);
        ui.add(egui::ProgressBar::new(fraction).text(progress));
    }
    if let TrainingStatus::Failed(message) = status {
        ui.colored_label(ui.visuals().error_fg_color, message.text(language));
    }
    ui.separator();
    let shows_run = state.shows_training_run() && training.history.is_some();
    if shows_run {
        let step = training.shown_step.unwrap_or(0);
        let how = if training.view_step.is_some() {
            text(TrainText::FromTimeline)
        } else {
            text(TrainText::Live)
        };
        ui.label(TrainText::ViewsShowStep.fill(language, &[&step, &how]));
    }
    if ui
        .add_enabled(
            shows_run,
            egui::Button::new(text(TrainText::SaveCheckpoint)),
        )
        .on_hover_text(text(TrainText::SaveCheckpointHover))
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
