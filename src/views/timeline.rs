//! The checkpoint timeline bar (at the bottom of every view while the views show a run with
//! snapshots): a slider over the kept snapshots that shows any past step in every view, a
//! button back to the live run, and a second step to show beside it; in its place, while
//! another model is shown, a line saying that the run goes on in the background (or ended
//! there) with buttons to show, stop or close it; and the side-by-side drawing of the
//! attention and logit-lens views for the two steps.

use egui::Ui;

use super::ViewContext;
use crate::i18n::{Language, TrainText};
use crate::state::training::TrainingStatus;
use crate::state::training_run::TrainingCommand;
use crate::state::{AppState, Command, ViewKind};

/// Draws the timeline bar; nothing before a run has two snapshots. Only a run whose snapshot
/// the views show gets the slider: another model's views must not be driven by it.
pub fn timeline_bar_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    if !state.shows_training_run() {
        background_run_ui(ui, state, commands);
        return;
    }
    let training = &state.training;
    let steps = training.timeline.steps();
    if steps.len() < 2 {
        return;
    }
    let last = steps.len() - 1;
    let shown = training.view_step.map_or(last, |step| {
        training.timeline.index_at_or_before(step).unwrap_or(last)
    });
    let language = state.lesson.player.language;
    let text = |key: TrainText| key.text(language);
    ui.horizontal(|ui| {
        ui.spacing_mut().slider_width = (ui.available_width() / 3.0).clamp(120.0, 420.0);
        let hover = text(TrainText::TimelineHover);
        let label = text(TrainText::Timeline);
        if let Some(index) = step_slider(ui, language, label, &steps, shown, Some(hover)) {
            commands.push(Command::Training(TrainingCommand::ShowStep(Some(
                steps[index],
            ))));
        }
        let live = training.view_step.is_none();
        if ui
            .add_enabled(!live, egui::Button::new(text(TrainText::LiveButton)))
            .on_hover_text(text(TrainText::LiveHover))
            .clicked()
        {
            commands.push(Command::Training(TrainingCommand::ShowStep(None)));
        }
        ui.separator();
        let mut side_by_side = training.compare_step.is_some();
        if ui
            .checkbox(&mut side_by_side, text(TrainText::SideBySide))
            .on_hover_text(text(TrainText::SideBySideHover))
            .changed()
        {
            let step = side_by_side.then_some(steps[0]);
            commands.push(Command::Training(TrainingCommand::CompareStep(step)));
        }
        if let Some(step) = training.compare_step {
            let current = training.timeline.index_at_or_before(step).unwrap_or(0);
            let label = text(TrainText::OtherStep);
            if let Some(index) = step_slider(ui, language, label, &steps, current, None) {
                commands.push(Command::Training(TrainingCommand::CompareStep(Some(
                    steps[index],
                ))));
            }
        }
    });
}

/// While the views show another model: a run still going (or one that ended since), said
/// in one line with buttons to bring it back, stop it or close it. Nothing for a
/// comparison on the training tab (which shows it) or one that ended (it drives no view).
fn background_run_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let training = &state.training;
    let language = state.lesson.player.language;
    let text = |key: TrainText| key.text(language);
    let active = training.status.is_active();
    let paused = training.status == TrainingStatus::Paused;
    let how = text(match (active, paused) {
        (true, true) => TrainText::PausedInBackground,
        (true, false) => TrainText::GoesOnInBackground,
        (false, _) => TrainText::EndedInBackground,
    });
    if let Some(comparison) = &training.comparison {
        if !active || state.settings.view == ViewKind::Training {
            return;
        }
        let done = comparison.points[0].last().map_or(0, |p| p.step);
        ui.horizontal(|ui| {
            ui.label(
                TrainText::ComparisonInBackground
                    .fill(language, &[&how, &done, &comparison.total_steps]),
            );
            if ui.button(text(TrainText::TrainingTab)).clicked() {
                commands.push(Command::ShowView(ViewKind::Training));
            }
            if ui.button(text(TrainText::StopTheRun)).clicked() {
                commands.push(Command::Training(TrainingCommand::Stop));
            }
        });
        return;
    }
    let (Some(history), Some(name)) = (&training.history, training.run_name()) else {
        return;
    };
    let mut send = |command| commands.push(Command::Training(command));
    ui.horizontal(|ui| {
        ui.label(TrainText::RunInBackground.fill(
            language,
            &[&name, &how, &history.steps_done(), &history.total_steps],
        ));
        if ui
            .button(text(TrainText::ShowTheRun))
            .on_hover_text(text(TrainText::ShowTheRunHover))
            .clicked()
        {
            send(TrainingCommand::ShowStep(None));
        }
        if active {
            if ui.button(text(TrainText::StopTheRun)).clicked() {
                send(TrainingCommand::Stop);
            }
        } else if ui
            .button(text(TrainText::CloseTheRun))
            .on_hover_text(text(TrainText::CloseTheRunHover))
            .clicked()
        {
            send(TrainingCommand::Close);
        }
    });
}

/// Draws view `kind`; the attention and lens views side by side with the comparison step
/// when one is set and its analysis is ready.
pub fn view_or_side_by_side_ui(
    ui: &mut Ui,
    state: &AppState,
    view: &ViewContext<'_>,
    commands: &mut Vec<Command>,
) {
    let kind = state.settings.view;
    let other = state.training.compare_analysis.as_ref().filter(|other| {
        matches!(kind, ViewKind::Attention | ViewKind::LogitLens)
            && other.tokens == view.analysis.tokens
            && other.model.params.config == view.analysis.model.params.config
    });
    let Some(other) = other else {
        super::view_ui(kind, ui, view, commands);
        return;
    };
    let other_view = ViewContext {
        analysis: other,
        selection: view.selection,
        settings: view.settings,
        language: view.language,
    };
    let language = view.language;
    let shown = state.training.shown_step.map_or_else(
        || TrainText::TheOpenModel.text(language).to_string(),
        |s| TrainText::StepN.fill(language, &[&s]),
    );
    let other_step = state.training.compare_step.unwrap_or(0);
    let other_title = TrainText::StepN.fill(language, &[&other_step]);
    ui.columns(2, |columns| {
        let sides = [(view, shown), (&other_view, other_title)];
        for (side, (column, (context, title))) in columns.iter_mut().zip(sides).enumerate() {
            column.push_id(side, |ui| {
                // Each copy stays in its half: whatever does not fit is cut, not drawn over
                // the other copy.
                ui.set_clip_rect(ui.max_rect().intersect(ui.clip_rect()));
                ui.strong(title);
                super::view_ui(kind, ui, context, commands);
            });
        }
    });
}

/// A labelled slider over the timeline's snapshots, showing each one's step; returns the
/// newly chosen index when the user moves it away from `current`.
fn step_slider(
    ui: &mut Ui,
    language: Language,
    label: &str,
    steps: &[usize],
    current: usize,
    hover: Option<&str>,
) -> Option<usize> {
    let label = ui.label(label);
    let mut index = current;
    let format_steps = steps.to_vec();
    let mut response = ui
        .add(
            egui::Slider::new(&mut index, 0..=steps.len() - 1)
                .custom_formatter(move |i, _| {
                    TrainText::StepN.fill(language, &[&format_steps[i as usize]])
                })
                .custom_parser(|_| None),
        )
        .labelled_by(label.id);
    if let Some(hover) = hover {
        response = response.on_hover_text(hover);
    }
    (response.changed() && index != current).then_some(index)
}
