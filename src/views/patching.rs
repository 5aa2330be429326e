//! The activation-patching view: two prompts of equal length and two tokens, then a heatmap
//! of how much of the logit difference `logit[answer] − logit[wrong]` comes back when the
//! clean run's residual stream (`resid_pre` of a layer, at one position) is copied into the
//! corrupted run. Recomputed on a helper thread whenever the model or the interventions
//! change (so it follows training live).

use egui::{RichText, Ui, vec2};

use super::heading_ui;
use crate::i18n::ViewText;
use crate::state::experiments::{PatchingCommand, PatchingSetup};
use crate::state::{AppState, Command, ViewKind};
use crate::widgets::{ColourScale, Heatmap, busy_spinner_ui, colour_legend_ui, heatmap_ui};

/// Draws the patching view.
pub fn patching_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let patching = &state.patching;
    let language = state.lesson.player.language;
    heading_ui(
        ui,
        language,
        ViewKind::Patching,
        ViewText::PatchingSubtitle.text(language),
    );
    if patching.setup == PatchingSetup::default() {
        // Start from an experiment that fits the model on screen.
        let example = PatchingSetup::example(&state.model.tokenizer);
        commands.push(Command::Patching(PatchingCommand::SetSetup(example)));
    }
    let mut setup = patching.setup.clone();
    let mut changed = false;
    egui::Grid::new("patching form")
        .num_columns(2)
        .show(ui, |ui| {
            for (label, text, width) in [
                (ViewText::CleanPrompt, &mut setup.clean, 420.0),
                (ViewText::CorruptedPrompt, &mut setup.corrupted, 420.0),
                (ViewText::AnswerToken, &mut setup.answer, 120.0),
                (ViewText::WrongToken, &mut setup.wrong, 120.0),
            ] {
                let label = ui.label(label.text(language));
                changed |= ui
                    .add(egui::TextEdit::singleline(text).desired_width(width))
                    .labelled_by(label.id)
                    .changed();
                ui.end_row();
            }
        });
    if changed {
        commands.push(Command::Patching(PatchingCommand::SetSetup(setup)));
    }
    ui.horizontal(|ui| {
        if ui
            .button(ViewText::ExampleForModel.text(language))
            .on_hover_text(ViewText::ExampleHover.text(language))
            .clicked()
        {
            let example = PatchingSetup::example(&state.model.tokenizer);
            commands.push(Command::Patching(PatchingCommand::SetSetup(example)));
        }
        let ready = !patching.setup.clean.is_empty() && !patching.running;
        if ui
            .add_enabled(
                ready,
                egui::Button::new(ViewText::RunPatching.text(language)),
            )
            .clicked()
        {
            commands.push(Command::Patching(PatchingCommand::Run));
        }
        if patching.running {
            busy_spinner_ui(ui);
            ui.label(ViewText::PatchingRunning.text(language));
        }
    });
    if let Some(error) = &patching.error {
        ui.colored_label(ui.visuals().error_fg_color, error.text(language));
    }
    let Some(outcome) = &patching.outcome else {
        return;
    };
    let result = &outcome.result;
    ui.label(ViewText::LogitDifference.fill(
        language,
        &[
            &outcome.setup.answer,
            &outcome.setup.wrong,
            &format!("{:.3}", result.clean_diff),
            &format!("{:.3}", result.corrupted_diff),
        ],
    ));
    if let Some((layer, pos, value)) = result.strongest() {
        let value = format!("{value:.2}");
        ui.label(ViewText::MostRestored.fill(language, &[&layer, &pos, &value]));
    }
    let (n_layers, n_pos) = result.restored.dim();
    let values: Vec<f32> = result.restored.iter().copied().collect();
    let max_abs = values.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let scale = ColourScale::Diverging { max_abs };
    let caption = ViewText::ShareRestored.text(language);
    colour_legend_ui(ui, language, &scale, caption, 220.0);
    let row_labels: Vec<String> = (0..n_layers).map(|l| format!("L{l} resid_pre")).collect();
    let col_labels: Vec<String> = (0..n_pos)
        .map(|p| {
            let (clean, corrupted) = (&outcome.clean_tokens[p], &outcome.corrupted_tokens[p]);
            if clean == corrupted {
                format!("{p} {clean}")
            } else {
                format!("{p} {clean}→{corrupted}")
            }
        })
        .collect();
    let cell = (ui.available_width() - 160.0) / n_pos.max(1) as f32;
    let cell = vec2(cell.clamp(14.0, 56.0), 28.0);
    let text = |row: usize, col: usize| {
        (cell.x >= 34.0).then(|| format!("{:.2}", result.restored[[row, col]]))
    };
    let hover = |row: usize, col: usize| {
        ViewText::PatchingCellHover.fill(
            language,
            &[
                &row,
                &col,
                &format!("{:.3}", result.restored[[row, col]]),
                &format!("{:.3}", result.logit_diff[[row, col]]),
            ],
        )
    };
    let name = ViewText::PatchingHeatmap.text(language);
    let heatmap = Heatmap::new(name, n_layers, n_pos, &values, scale)
        .cell_size(cell)
        .row_labels(&row_labels)
        .col_labels(&col_labels)
        .cell_text(&text)
        .hover_text(&hover);
    egui::ScrollArea::both()
        .id_salt("patching heatmap")
        .show(ui, |ui| {
            heatmap_ui(ui, &heatmap);
        });
    if !std::sync::Arc::ptr_eq(&outcome.model, &state.model) {
        ui.label(RichText::new(ViewText::ModelChangedRecomputing.text(language)).weak());
    }
}
