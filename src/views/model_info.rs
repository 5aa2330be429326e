//! The model view: the config, parameter counts per component, and the shape (N, d) of the
//! activations at every stage, drawn as a stack of blocks: the width never changes, so blocks
//! stack.

use egui::{Align2, Color32, CornerRadius, FontId, RichText, Sense, Stroke, Ui, pos2, vec2};

use super::{ViewContext, heading_ui};
use crate::i18n::{ModelText, Noun, count};
use crate::interp::Stage;
use crate::model::describe::architecture_rows;
use crate::state::{Command, Table, ViewKind};
use crate::widgets::{Bar, bar_list_ui};

fn shape_of(view: &ViewContext<'_>, stage: Stage) -> (usize, usize) {
    let n = view.analysis.n_pos();
    match stage {
        Stage::Logits => (n, view.config().d_vocab),
        _ => (n, view.config().d_model),
    }
}

/// Draws the model view.
pub fn model_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let model = &view.analysis.model;
    let config = view.config();
    let language = view.language;
    let words = |key: ModelText| key.text(language);
    heading_ui(ui, language, ViewKind::Model, &model.name);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(380.0);
            ui.label(RichText::new(words(ModelText::Config)).strong());
            egui::Grid::new("config grid")
                .striped(true)
                .num_columns(2)
                .show(ui, |ui| {
                    let d_mlp = if config.attn_only {
                        words(ModelText::NoMlp).into()
                    } else {
                        config.d_mlp.to_string()
                    };
                    let mut rows: Vec<(&str, String)> = vec![
                        (words(ModelText::DModel), config.d_model.to_string()),
                        (words(ModelText::NLayers), config.n_layers.to_string()),
                        (words(ModelText::NHeads), config.n_heads.to_string()),
                        (words(ModelText::DHead), config.d_head.to_string()),
                        (words(ModelText::DMlp), d_mlp),
                        (words(ModelText::DVocab), config.d_vocab.to_string()),
                        (words(ModelText::NCtx), config.n_ctx.to_string()),
                    ];
                    rows.extend(architecture_rows(config, language));
                    let residual = if config.residual {
                        ModelText::On
                    } else {
                        ModelText::Off
                    };
                    let unembedding = if config.tied_unembed {
                        ModelText::TiedToEmbedding
                    } else {
                        ModelText::OwnUnembedding
                    };
                    let vocabulary = count(language, model.tokenizer.vocab_size(), Noun::Token);
                    rows.extend([
                        (
                            words(ModelText::ResidualConnections),
                            words(residual).into(),
                        ),
                        (words(ModelText::Unembedding), words(unembedding).into()),
                        (
                            words(ModelText::Tokenizer),
                            format!("{} ({vocabulary})", model.tokenizer.kind_in(language)),
                        ),
                    ]);
                    for (name, value) in rows {
                        ui.label(name);
                        ui.add(egui::Label::new(value).wrap());
                        ui.end_row();
                    }
                });
            ui.add_space(8.0);
            ui.label(
                RichText::new(
                    ModelText::ParametersTotal
                        .fill(language, &[&group_digits(config.parameter_count())]),
                )
                .strong(),
            );
            let bars: Vec<Bar> = config
                .parameter_counts()
                .into_iter()
                .map(|(name, count)| Bar {
                    label: name.to_string(),
                    value: count as f32,
                    text: Some(group_digits(count)),
                })
                .collect();
            bar_list_ui(
                ui,
                words(ModelText::ParametersPerComponent),
                &bars,
                None,
                150.0,
                20.0,
            );
            if let Some(source) = &model.source {
                ui.add_space(8.0);
                ui.weak(ModelText::FromPath.fill(language, &[&source.display()]));
            }
            ui.add_space(8.0);
            let kept_kb = view.analysis.lens().bytes().div_ceil(1024);
            let chunk_mb = crate::state::lens_fill::LENS_CHUNK_BYTES >> 20;
            ui.weak(ModelText::LensMemory.fill(language, &[&kept_kb, &chunk_mb]));
        });
        ui.separator();
        ui.vertical(|ui| {
            ui.label(RichText::new(words(ModelText::ShapeAtEveryStage)).strong());
            ui.label(ModelText::WidthNeverChanges.fill(
                language,
                &[
                    &count(language, view.analysis.n_pos(), Noun::Token),
                    &config.d_model,
                ],
            ));
            egui::ScrollArea::vertical()
                .id_salt("shapes scroll")
                .show(ui, |ui| {
                    stack_ui(ui, view, commands);
                });
        });
    });
}

/// The stages as a vertical stack of boxes, each with its shape; a click selects the stage.
fn stack_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let stages = &view.analysis.stages;
    let row_h = 22.0;
    let width = ui.available_width().min(520.0);
    let (rect, response) =
        ui.allocate_exact_size(vec2(width, row_h * stages.len() as f32), Sense::click());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let font = FontId::proportional(13.0);
    let mono = FontId::monospace(13.0);
    for (index, &stage) in stages.iter().enumerate() {
        let top = rect.top() + index as f32 * row_h;
        let (n, d) = shape_of(view, stage);
        let indent = if stage.layer().is_some() { 24.0 } else { 0.0 };
        let box_rect = egui::Rect::from_min_size(
            pos2(rect.left() + indent, top + 1.0),
            vec2(width * 0.55 - indent, row_h - 2.0),
        );
        let selected = index == view.selection.stage;
        let fill = if selected {
            visuals.selection.bg_fill
        } else if stage.layer().is_some_and(|l| l % 2 == 0) {
            visuals.faint_bg_color
        } else {
            visuals.extreme_bg_color
        };
        painter.rect(
            box_rect,
            CornerRadius::same(3),
            fill,
            Stroke::new(1.0, visuals.weak_text_color()),
            egui::StrokeKind::Inside,
        );
        painter.text(
            box_rect.left_center() + vec2(8.0, 0.0),
            Align2::LEFT_CENTER,
            stage.short_label(),
            font.clone(),
            visuals.text_color(),
        );
        let shape_colour = if stage == Stage::Logits {
            Color32::from_rgb(230, 140, 40)
        } else {
            visuals.text_color()
        };
        painter.text(
            pos2(rect.left() + width * 0.6, top + row_h / 2.0),
            Align2::LEFT_CENTER,
            format!("({n}, {d})"),
            mono.clone(),
            shape_colour,
        );
    }
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        let index = ((pos.y - rect.top()) / row_h) as usize;
        if index < stages.len() {
            commands.push(Command::SetStage(index));
        }
    }
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            ModelText::ShapeAtEveryStage.text(view.language),
        )
    });
}

/// `1234567` as `1 234 567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// Parameter counts and the shape at every stage, for export.
pub fn table(view: &ViewContext<'_>) -> Table {
    let mut table = Table::new(&["section", "name", "rows", "cols", "parameters"]);
    for (name, count) in view.config().parameter_counts() {
        table.push(vec![
            "parameters".into(),
            name.into(),
            crate::state::export::Cell::Num(f64::NAN),
            crate::state::export::Cell::Num(f64::NAN),
            crate::state::export::Cell::Int(count),
        ]);
    }
    for &stage in &view.analysis.stages {
        let (n, d) = shape_of(view, stage);
        table.push(vec![
            "stage".into(),
            stage.hook_name(view.config().norm).into(),
            n.into(),
            d.into(),
            crate::state::export::Cell::Num(f64::NAN),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(super::group_digits(1234567), "1 234 567");
        assert_eq!(super::group_digits(999), "999");
    }
}
