//! The prompt editor, the generate controls and the token strip under them, with notices
//! when the prompt was cut to the context or has pieces outside the vocabulary.

use egui::{RichText, Ui};

use crate::i18n::{Msg, Noun, count};
use crate::state::{AppState, Command};
use crate::widgets::{Chip, token_strip_ui};

/// Draws the prompt editor (editing `buffer`, a copy of the prompt) and the token strip.
pub fn prompt_bar_ui(
    ui: &mut Ui,
    state: &AppState,
    buffer: &mut String,
    commands: &mut Vec<Command>,
) {
    let tokenizer = &state.model.tokenizer;
    let language = state.lesson.player.language;
    ui.horizontal(|ui| {
        let label = ui.label(RichText::new(Msg::Prompt.text(language)).strong());
        let hint = if tokenizer.accepts_text() {
            Msg::TypePrompt
        } else {
            Msg::TokenIdsHint
        }
        .text(language);
        // The editor takes what the generate controls leave (as wide as they were last
        // frame; "Sample" adds a slider), so they stay on the line instead of running off it.
        let width_id = ui.make_persistent_id("generate controls width");
        let controls_w = ui.data(|d| d.get_temp::<f32>(width_id)).unwrap_or(470.0);
        let spacing = ui.spacing().item_spacing.x;
        let edit = egui::TextEdit::multiline(buffer)
            .desired_rows(1)
            .desired_width((ui.available_width() - controls_w - spacing).max(200.0))
            .font(egui::TextStyle::Monospace)
            .hint_text(hint);
        let response = ui.add(edit).labelled_by(label.id);
        if response.changed() {
            commands.push(Command::SetPrompt(buffer.clone()));
        }
        let controls = ui.scope(|ui| generate_controls_ui(ui, state, commands));
        let width = controls.response.rect.width();
        if (width - controls_w).abs() > 0.5 {
            ui.data_mut(|d| d.insert_temp(width_id, width));
            ui.ctx().request_repaint();
        }
    });

    let chips: Vec<Chip> = state
        .prompt
        .ids
        .iter()
        .map(|&id| {
            let text = tokenizer.display_token(id);
            Chip {
                tooltip: Msg::TokenTooltip.fill(language, &[&id, &tokenizer.decode_token(id)]),
                text,
                flagged: false,
            }
        })
        .collect();
    ui.label(RichText::new(Msg::TokensCount.fill(language, &[&chips.len()])).strong())
        .on_hover_text(Msg::ClickToken.text(language));
    egui::ScrollArea::vertical()
        .id_salt("token strip scroll")
        .max_height(60.0)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            if let Some(pos) = token_strip_ui(ui, "Token", &chips, Some(state.selection.token)) {
                commands.push(Command::SelectToken(pos));
            }
        });
    notices_ui(ui, state);
}

fn generate_controls_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let mut options = state.settings.generate;
    let language = state.lesson.player.language;
    let text = |key: Msg| key.text(language);
    let allowed = state.can_generate();
    let button = ui.add_enabled(allowed.is_ok(), egui::Button::new(text(Msg::GenerateNext)));
    let button = match &allowed {
        Ok(()) => button.on_hover_text(text(Msg::GenerateHover)),
        Err(reason) => button.on_disabled_hover_text(reason.cannot_generate().text(language)),
    };
    if button.clicked() {
        commands.push(Command::GenerateNext);
    }
    let mut changed = ui
        .checkbox(&mut options.sampled, text(Msg::Sample))
        .changed();
    if options.sampled {
        let label = ui.label(text(Msg::Temperature));
        changed |= ui
            .add(egui::Slider::new(&mut options.temperature, 0.1..=2.0).fixed_decimals(1))
            .labelled_by(label.id)
            .changed();
        let label = ui.label(text(Msg::TopK));
        changed |= ui
            .add(egui::DragValue::new(&mut options.top_k).range(0..=1000))
            .on_hover_text(text(Msg::TopKZero))
            .labelled_by(label.id)
            .changed();
    } else {
        ui.weak(text(Msg::Greedy));
    }
    if changed {
        commands.push(Command::SetGenerateOptions(options));
    }
}

/// Notices about the prompt: cut to n_ctx, pieces outside the vocabulary.
fn notices_ui(ui: &mut Ui, state: &AppState) {
    let error = ui.visuals().error_fg_color;
    let warn = ui.visuals().warn_fg_color;
    let language = state.lesson.player.language;
    if let Some(total) = state.prompt.cut_from {
        ui.label(
            RichText::new(Msg::PromptCut.fill(
                language,
                &[
                    &count(language, total, Noun::Token),
                    &state.prompt.ids.len(),
                ],
            ))
            .color(warn),
        );
    }
    if !state.prompt.unknown.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(Msg::NotInVocabulary.fill(
                    language,
                    &[&count(language, state.prompt.unknown.len(), Noun::Piece)],
                ))
                .color(error),
            );
            for piece in state.prompt.unknown.iter().take(20) {
                ui.label(
                    RichText::new(crate::model::tokenizer::visible_whitespace(&piece.text))
                        .monospace()
                        .color(error),
                )
                .on_hover_text(Msg::AtCharacter.fill(language, &[&piece.char_offset]));
            }
        });
    }
    if let Some(message) = &state.trace_error {
        ui.label(RichText::new(message.text(language)).color(error));
    }
}
