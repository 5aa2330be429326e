//! The stage slider: one notch per step of the forward pass, ←/→ buttons, and the stage
//! named in plain words.

use egui::{RichText, Ui};

use crate::i18n::{Language, Msg};
use crate::interp::Stage;
use crate::model::ModelConfig;
use crate::state::Command;
use crate::state::stage_words::describe_stage;
use crate::widgets::set_accessible_name;

/// Draws the slider over `stages` at notch `current`.
pub fn stage_bar_ui(
    ui: &mut Ui,
    stages: &[Stage],
    config: &ModelConfig,
    current: usize,
    language: Language,
    commands: &mut Vec<Command>,
) {
    let text = |key: Msg| key.text(language);
    if stages.is_empty() {
        return;
    }
    let last = stages.len() - 1;
    let current = current.min(last);
    ui.horizontal(|ui| {
        let label = ui.label(RichText::new(text(Msg::Stage)).strong());
        let previous = ui
            .add_enabled(current > 0, egui::Button::new("◀"))
            .on_hover_text(text(Msg::PreviousStageKey));
        set_accessible_name(&previous, text(Msg::PreviousStage));
        if previous.clicked() {
            commands.push(Command::StepStage(-1));
        }
        let mut value = current;
        ui.spacing_mut().slider_width = (ui.available_width() * 0.35).clamp(160.0, 420.0);
        let slider = egui::Slider::new(&mut value, 0..=last)
            .show_value(false)
            .step_by(1.0);
        let response = ui.add(slider).labelled_by(label.id);
        if response.changed() && value != current {
            commands.push(Command::SetStage(value));
        }
        let next = ui
            .add_enabled(current < last, egui::Button::new("▶"))
            .on_hover_text(text(Msg::NextStageKey));
        set_accessible_name(&next, text(Msg::NextStage));
        if next.clicked() {
            commands.push(Command::StepStage(1));
        }
        let stage = stages[current];
        ui.label(
            RichText::new(format!(
                "{}/{}  {}",
                current + 1,
                stages.len(),
                stage.short_label()
            ))
            .monospace()
            .strong(),
        );
        // Cut short with "…" where the window is narrow (the whole sentence on hover).
        let description = describe_stage(stage, config, language);
        ui.add(egui::Label::new(&description).truncate())
            .on_hover_text(description);
    });
}
