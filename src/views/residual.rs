//! The residual stream view: the selected token's vector at the selected stage, how it was
//! made (the addition `x + attn_out = x′` with all three vectors, or a LayerNorm), the norm
//! at every stage, and an overview of every token at every stage.

use egui::{RichText, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points, VLine};
use ndarray::ArrayView1;

use super::{ViewContext, heading_ui};
use crate::i18n::ViewText;
use crate::interp::Stage;
use crate::interp::stage::block_output_stage;
use crate::model::NormPlacement;
use crate::state::{Command, Table, ViewKind};
use crate::widgets::{
    Bar, ColourScale, Heatmap, PlotHover, StripCells, bar_list_ui, colour_legend_ui,
    colour_strip_ui, heatmap_ui, y_top_above_legend,
};

/// Largest d_model whose numbers are printed in the cells.
const NUMBERS_UP_TO: usize = 16;

/// One labelled vector in the "how it was made" rows.
struct Row {
    operator: &'static str,
    label: String,
    values: Vec<f32>,
    is_current: bool,
}

fn owned(view: ArrayView1<'_, f32>) -> Vec<f32> {
    view.to_vec()
}

/// How the vector at `stage` was made, as rows to draw: an addition or a LayerNorm.
fn breakdown(view: &ViewContext<'_>, stage: Stage, pos: usize) -> Vec<Row> {
    let words = |key: ViewText| key.text(view.language);
    let trace = &view.analysis.trace;
    let config = view.config();
    let post = config.norm == NormPlacement::Post;
    let skip = |values: ArrayView1<'_, f32>| {
        if config.residual {
            owned(values)
        } else {
            vec![0.0; values.len()]
        }
    };
    let row = |operator, label: &str, values, is_current| Row {
        operator,
        label: label.to_string(),
        values,
        is_current,
    };
    let at = |s: Stage| s.vector(trace, pos).map(owned).unwrap_or_default();
    match stage {
        Stage::Embed => match &trace.pos_embed {
            Some(pos_embed) => vec![
                row(
                    "",
                    words(ViewText::TokenEmbedding),
                    owned(trace.embed.row(pos)),
                    false,
                ),
                row(
                    "+",
                    words(ViewText::PositionEmbedding),
                    owned(pos_embed.row(pos)),
                    false,
                ),
                row(
                    "=",
                    words(ViewText::StreamIntoBlock0),
                    at(Stage::Embed),
                    true,
                ),
            ],
            // Rotary or no positions: the stream starts as the (scaled) token embedding.
            None => vec![row(
                "=",
                words(ViewText::TokenEmbeddingIntoBlock0),
                at(Stage::Embed),
                true,
            )],
        },
        Stage::Attn { layer } | Stage::AttnAdded { layer } => {
            let lt = &trace.layers[layer];
            let is_added = matches!(stage, Stage::AttnAdded { .. });
            vec![
                row("", "x", skip(lt.resid_pre.row(pos)), false),
                row("+", "attn_out", owned(lt.attn_out.row(pos)), !is_added),
                row("=", "x′", at(Stage::AttnAdded { layer }), is_added),
            ]
        }
        Stage::Mlp { layer } | Stage::MlpAdded { layer } => {
            let lt = &trace.layers[layer];
            let Some(mlp) = &lt.mlp else {
                return Vec::new();
            };
            let is_added = matches!(stage, Stage::MlpAdded { .. });
            vec![
                row("", "x′", skip(lt.resid_mid.row(pos)), false),
                row("+", "mlp_out", owned(mlp.out.row(pos)), !is_added),
                row("=", "x″", at(Stage::MlpAdded { layer }), is_added),
            ]
        }
        Stage::Ln1 { layer } => {
            // Pre-LN normalises the stream entering the block; post-LN the sum x + attn_out.
            let input = if post {
                at(Stage::AttnAdded { layer })
            } else {
                owned(trace.layers[layer].resid_pre.row(pos))
            };
            let label = if post { "x + attn_out" } else { "x" };
            vec![
                row("", label, input, false),
                row("LN", "ln1(x)", at(stage), true),
            ]
        }
        Stage::Ln2 { layer } => vec![
            row(
                "",
                if post { "x + mlp_out" } else { "x′" },
                if post {
                    at(Stage::MlpAdded { layer })
                } else {
                    owned(trace.layers[layer].resid_mid.row(pos))
                },
                false,
            ),
            row("LN", "ln2(x)", at(stage), true),
        ],
        Stage::LnFinal => vec![
            row(
                "",
                words(ViewText::FinalStream),
                owned(trace.final_resid().row(pos)),
                false,
            ),
            row("LN", "ln_final(x)", at(stage), true),
        ],
        Stage::Logits => Vec::new(),
    }
}

fn norm(values: &[f32]) -> f32 {
    values.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Draws the residual stream view.
pub fn residual_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let analysis = view.analysis;
    let pos = view.selection.token;
    let stage = view.stage();
    let config = view.config();
    heading_ui(
        ui,
        view.language,
        ViewKind::Residual,
        &ViewText::TokenAt.fill(
            view.language,
            &[&pos, &analysis.token_text(pos), &stage.short_label()],
        ),
    );
    ui.add_space(4.0);

    let rows = breakdown(view, stage, pos);
    if stage == Stage::Logits {
        predictions_ui(ui, view, pos);
    } else {
        let scale = ColourScale::diverging_for(rows.iter().flat_map(|r| r.values.iter().copied()));
        let d = config.d_model;
        let show_numbers = d <= NUMBERS_UP_TO;
        let label_w = 190.0;
        let per_line = if show_numbers { d } else { d.min(128) };
        let cell_w = ((ui.available_width() - label_w - 90.0) / per_line as f32).clamp(3.0, 56.0);
        let cell = vec2(cell_w, if show_numbers { 26.0 } else { 16.0 });
        egui::Grid::new("residual sum")
            .num_columns(3)
            .spacing(vec2(8.0, 4.0))
            .show(ui, |ui| {
                for row in &rows {
                    ui.label(RichText::new(row.operator).monospace().size(18.0));
                    let text = format!("{}  ‖{:.2}‖", row.label, norm(&row.values));
                    let label = if row.is_current {
                        RichText::new(format!("{text}  ◀")).strong()
                    } else {
                        RichText::new(text)
                    };
                    ui.add_sized(vec2(label_w, cell.y), egui::Label::new(label));
                    colour_strip_ui(
                        ui,
                        view.language,
                        &ViewText::VectorNamed.fill(view.language, &[&row.label]),
                        &row.values,
                        &scale,
                        StripCells {
                            size: cell,
                            per_line,
                            numbers: show_numbers,
                        },
                    );
                    ui.end_row();
                }
            });
        ui.horizontal(|ui| {
            let caption = ViewText::ValueOfDimension.text(view.language);
            colour_legend_ui(ui, view.language, &scale, caption, 220.0);
            if !show_numbers {
                ui.weak(ViewText::HoverForValue.text(view.language));
            }
        });
    }
    ui.separator();

    let bottom_height = ui.available_height();
    ui.columns(2, |columns| {
        columns[0].label(RichText::new(ViewText::NormAtEveryStage.text(view.language)).strong());
        norm_plot_ui(&mut columns[0], view, bottom_height - 30.0);
        columns[1]
            .label(RichText::new(ViewText::EveryTokenEveryStage.text(view.language)).strong());
        overview_ui(&mut columns[1], view, commands);
    });
}

/// The top predictions at the logits stage, as bars of probability.
fn predictions_ui(ui: &mut Ui, view: &ViewContext<'_>, pos: usize) {
    let Some(top) = view.analysis.top_predictions(pos, 10) else {
        crate::widgets::busy::busy_spinner_ui(ui);
        return;
    };
    let bars: Vec<Bar> = top
        .top_ids
        .iter()
        .zip(&top.top_logits)
        .map(|(&id, &logit)| {
            Bar::new(
                format!("‘{}’", view.analysis.vocab_text(id)),
                (logit - top.log_sum_exp).exp(),
            )
        })
        .collect();
    ui.label(ViewText::TenMostLikely.text(view.language));
    bar_list_ui(
        ui,
        ViewText::TopPredictions.text(view.language),
        &bars,
        None,
        320.0,
        20.0,
    );
}

/// Norm of the stream and of each sublayer output, at every stage.
fn norm_plot_ui(ui: &mut Ui, view: &ViewContext<'_>, height: f32) {
    let analysis = view.analysis;
    let config = view.config();
    let pos = view.selection.token;
    // Labels at the embedding and at each block's end, where the stream leaves the block
    // (after the LayerNorm that follows the last addition, in a post-LN model).
    let labels: Vec<String> = analysis
        .stages
        .iter()
        .map(|&stage| match stage {
            Stage::Embed => "embed".into(),
            _ => (0..config.n_layers)
                .find(|&layer| block_output_stage(config, layer) == stage)
                .map_or_else(String::new, |layer| format!("L{layer}")),
        })
        .collect();
    let marks = labels.clone();
    let block_width = (analysis.stages.len() as f64 / (config.n_layers as f64 + 1.0)).max(1.0);
    let series = |keep: &dyn Fn(Stage) -> bool| -> Vec<[f64; 2]> {
        analysis
            .stages
            .iter()
            .enumerate()
            .filter(|(_, s)| **s != Stage::Logits && keep(**s))
            .map(|(i, _)| [i as f64, analysis.norms[[pos, i]] as f64])
            .collect()
    };
    let stream_points = series(&|s| s.is_stream(config.norm));
    let stream = held_between(&stream_points);
    let attn = series(&|s| matches!(s, Stage::Attn { .. }));
    let mlp = series(&|s| matches!(s, Stage::Mlp { .. }));
    let selected = view.selection.stage as f64;
    let stage_names: Vec<String> = analysis.stages.iter().map(|s| s.short_label()).collect();
    let language = view.language;
    let words = |key: ViewText| key.text(language);
    let mut hover = PlotHover::new(
        language,
        move |x| {
            let name = stage_names.get(x.round().max(0.0) as usize);
            ViewText::StageNamed.fill(language, &[&name.map_or("", String::as_str)])
        },
        |y| format!("{y:.3}"),
    );
    hover.curve(words(ViewText::StreamNorm), &stream_points);
    hover.curve(words(ViewText::AttentionOutput), &attn);
    hover.curve(words(ViewText::MlpOutput), &mlp);
    let height = height.clamp(160.0, 420.0);
    // The legend's four rows (three series and the selected stage) sit above the data.
    let max = [&stream_points, &attn, &mlp]
        .iter()
        .flat_map(|points| points.iter().map(|p| p[1]))
        .fold(0.0, f64::max);
    let y_top = y_top_above_legend(0.0, max, 4, height);
    Plot::new("norm plot")
        .height(height)
        .include_y(y_top)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop))
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .include_y(0.0)
        .x_axis_label(words(ViewText::StageAxis))
        .y_axis_label(words(ViewText::Norm))
        .label_formatter(hover.formatter())
        .x_grid_spacer(move |_| {
            // A thin line at every stage; the embedding and each block's end get a thick,
            // labelled one (a label shows only where its step is wide enough on screen).
            (0..marks.len())
                .map(|i| egui_plot::GridMark {
                    value: i as f64,
                    step_size: if marks[i].is_empty() {
                        1.0
                    } else {
                        block_width
                    },
                })
                .collect()
        })
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if i >= 0.0 && (mark.value - i).abs() < 1e-6 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            // A step line has two points at each jump's x: egui_plot would merge them into a
            // band and fill between bands (a red wedge); draw it as the plain path it is.
            plot.line(
                Line::new(words(ViewText::StreamNorm), PlotPoints::from(stream))
                    .width(2.0)
                    .allow_band(false),
            );
            plot.points(
                Points::new(words(ViewText::AttentionOutput), PlotPoints::from(attn))
                    .radius(4.0)
                    .shape(egui_plot::MarkerShape::Diamond),
            );
            plot.points(
                Points::new(words(ViewText::MlpOutput), PlotPoints::from(mlp))
                    .radius(4.0)
                    .shape(egui_plot::MarkerShape::Square),
            );
            plot.vline(VLine::new(words(ViewText::SelectedStage), selected));
        });
}

/// The stream's norm as a step line through `points` ([stage index, norm], in stage order):
/// the stream changes only where something is added to it (or, post-LN, normalised), so
/// between two of its stages it keeps the earlier value and jumps at the later one.
fn held_between(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut line = Vec::with_capacity(points.len() * 2);
    for (i, &point) in points.iter().enumerate() {
        if i > 0 {
            line.push([point[0], points[i - 1][1]]);
        }
        line.push(point);
    }
    line
}

/// Tokens × stages heatmap of norms; a click selects the token and the stage.
fn overview_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let analysis = view.analysis;
    let n_pos = analysis.n_pos();
    let cols: Vec<usize> = (0..analysis.stages.len())
        .filter(|&i| analysis.stages[i] != Stage::Logits)
        .collect();
    let norms: Vec<f32> = (0..n_pos)
        .flat_map(|pos| cols.iter().map(move |&i| analysis.norms[[pos, i]]))
        .collect();
    // Colour by log10 of the norm: LayerNorm outputs (≈ √d) and a young stream (≪ 1) differ
    // by orders of magnitude, and a linear scale would hide one of them.
    let values: Vec<f32> = norms.iter().map(|n| n.max(1e-6).log10()).collect();
    let row_labels = view.token_labels();
    let col_labels: Vec<String> = cols
        .iter()
        .map(|&i| analysis.stages[i].short_label())
        .collect();
    let scale = ColourScale::sequential_for(values.iter().copied());
    let cell_w = ((ui.available_width() - 110.0) / cols.len() as f32).clamp(6.0, 28.0);
    let hover = |row: usize, col: usize| {
        ViewText::TokenAtNorm.fill(
            view.language,
            &[
                &row,
                &analysis.token_text(row),
                &col_labels[col],
                &format!("{:.4}", norms[row * cols.len() + col]),
            ],
        )
    };
    let selected_col = cols.iter().position(|&i| i == view.selection.stage);
    egui::ScrollArea::vertical()
        .id_salt("overview scroll")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let heatmap = Heatmap::new(
                ViewText::NormOfEveryToken.text(view.language),
                n_pos,
                cols.len(),
                &values,
                scale,
            )
            .cell_size(vec2(cell_w, 16.0))
            .row_labels(&row_labels)
            .col_labels(&col_labels)
            .hover_text(&hover)
            .highlight(None, None, selected_col.map(|c| (view.selection.token, c)));
            let response = heatmap_ui(ui, &heatmap);
            if let Some((row, col)) = response.clicked {
                commands.push(Command::SelectToken(row));
                commands.push(Command::SetStage(cols[col]));
            }
            let caption = ViewText::LogNorm.text(view.language);
            colour_legend_ui(ui, view.language, &scale, caption, 160.0);
        });
}

/// The selected token's vector at every stage (one column per stage), for export.
pub fn table(view: &ViewContext<'_>) -> Table {
    let analysis = view.analysis;
    let pos = view.selection.token;
    let stages: Vec<Stage> = analysis
        .stages
        .iter()
        .copied()
        .filter(|s| *s != Stage::Logits)
        .collect();
    let names: Vec<String> = stages
        .iter()
        .map(|s| s.hook_name(view.config().norm))
        .collect();
    let mut columns = vec!["dimension"];
    columns.extend(names.iter().map(String::as_str));
    let mut table = Table::new(&columns);
    let vectors: Vec<Vec<f32>> = stages
        .iter()
        .map(|s| {
            s.vector(&analysis.trace, pos)
                .map(owned)
                .unwrap_or_default()
        })
        .collect();
    for dim in 0..view.config().d_model {
        let mut row = vec![dim.into()];
        row.extend(
            vectors
                .iter()
                .map(|v| v.get(dim).copied().unwrap_or(f32::NAN).into()),
        );
        table.push(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::held_between;

    #[test]
    fn the_stream_line_is_flat_until_the_next_addition() {
        // Stream at stages 0 (embed) and 3 (L0 +attn): flat through 1 and 2, then the jump.
        let line = held_between(&[[0.0, 1.0], [3.0, 2.5], [6.0, 4.0]]);
        assert_eq!(
            line,
            [[0.0, 1.0], [3.0, 1.0], [3.0, 2.5], [6.0, 2.5], [6.0, 4.0]]
        );
        assert!(held_between(&[]).is_empty());
    }
}
