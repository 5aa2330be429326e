//! The training view's plots (egui_plot): loss over steps with validation points, per-layer
//! gradient norms on a log scale, head scores over training (one line per head in its own
//! colour, a dash per layer, the legend above the plot where it hides no curve, the shown
//! step marked), and the residual on/off comparison (both losses, both runs' per-layer
//! gradient norms on one log axis).
//!
//! Hovering any plot shows the step under the cursor and each curve's value there.
//!
//! Long runs are thinned to at most [`MAX_POINTS`] points per line (every k-th step), so a
//! frame stays cheap however many steps were taken.

use egui::{Color32, Ui};
use egui_plot::{Corner, Legend, Line, LineStyle, Plot, PlotPoints, Points, VLine};

use crate::i18n::{Language, TrainText};
use crate::interp::head_scores::{HeadScores, ScoreKind};
use crate::state::training::{ComparisonHistory, RunHistory};
use crate::train::compare::{ComparePoint, Residual};
use crate::train::step::LayerGradNorms;
use crate::train::timeline::Timeline;
use crate::train::worker::StepPoint;
use crate::widgets::{PlotHover, y_top_above_legend};

/// Height of the loss plot, in points.
const LOSS_PLOT_HEIGHT: f32 = 180.0;

/// Most points drawn per line.
pub const MAX_POINTS: usize = 600;

/// Every k-th item so that at most [`MAX_POINTS`] remain (always the last one too).
fn thinned<T>(items: &[T]) -> impl Iterator<Item = &T> {
    let stride = items.len().div_ceil(MAX_POINTS).max(1);
    let last = items.len().saturating_sub(1);
    items
        .iter()
        .enumerate()
        .filter(move |(i, _)| i % stride == 0 || *i == last)
        .map(|(_, item)| item)
}

/// A colour per layer, from blue (first) to orange (last).
fn layer_colour(layer: usize, n_layers: usize) -> Color32 {
    let t = layer as f32 / (n_layers.max(2) - 1) as f32;
    let mix = |a: f32, b: f32| (a + (b - a) * t) as u8;
    Color32::from_rgb(mix(60.0, 240.0), mix(120.0, 140.0), mix(230.0, 40.0))
}

/// Labels a log10 axis with the powers of ten they stand for.
fn log_axis_label(value: f64) -> String {
    format!("1e{}", value.round() as i64)
}

/// Hover text over steps, values written by `format_y`.
fn step_hover<'a>(language: Language, format_y: impl Fn(f64) -> String + 'a) -> PlotHover<'a> {
    PlotHover::new(
        language,
        move |x| TrainText::StepN.fill(language, &[&(x.round() as i64)]),
        format_y,
    )
}

/// Hover text over steps for a plain axis (a loss, a score).
fn value_hover<'a>(language: Language) -> PlotHover<'a> {
    step_hover(language, |y| format!("{y:.3}"))
}

/// Hover text over steps for a log10 axis: the value it stands for.
fn log_hover<'a>(language: Language) -> PlotHover<'a> {
    step_hover(language, |y| format!("{:.2e}", 10f64.powf(y)))
}

/// A plot over steps, with its legend at the top right.
fn plot(id: &str, language: Language, height: f32) -> Plot<'_> {
    Plot::new(id)
        .height(height)
        .legend(Legend::default().position(Corner::RightTop))
        .allow_scroll(false)
        .x_axis_label(TrainText::StepAxis.text(language))
}

/// Training loss per step and validation loss at each evaluation; `marked` draws a vertical
/// line at a step (the one picked on the timeline).
pub fn loss_plot_ui(ui: &mut Ui, language: Language, history: &RunHistory, marked: Option<usize>) {
    let text = |key: TrainText| key.text(language);
    let train: Vec<[f64; 2]> = thinned(&history.points)
        .map(|p| [p.step as f64, p.train_loss])
        .collect();
    let validation: Vec<[f64; 2]> = history
        .evaluations
        .iter()
        .map(|e| [e.step as f64, e.val_loss])
        .collect();
    ui.label(text(TrainText::LossHeading));
    // The legend (train, validation and the shown step) sits above the curves.
    let max = train
        .iter()
        .chain(&validation)
        .map(|p| p[1])
        .fold(0.0, f64::max);
    let entries = 2 + usize::from(marked.is_some());
    let y_top = y_top_above_legend(0.0, max, entries, LOSS_PLOT_HEIGHT);
    let (train_name, validation_name) = (text(TrainText::Train), text(TrainText::Validation));
    let mut hover = value_hover(language);
    hover.curve(train_name, &train);
    hover.curve(validation_name, &validation);
    plot("loss plot", language, LOSS_PLOT_HEIGHT)
        .include_y(0.0)
        .include_y(y_top)
        .y_axis_label(text(TrainText::LossAxis))
        .label_formatter(hover.formatter())
        .show(ui, |plot| {
            plot.line(Line::new(train_name, PlotPoints::from(train)).width(1.5));
            // Same name and colour: one legend entry for the line and its points.
            let colour = Color32::from_rgb(90, 170, 250);
            plot.line(
                Line::new(validation_name, PlotPoints::from(validation.clone()))
                    .color(colour)
                    .style(LineStyle::dashed_loose()),
            );
            plot.points(
                Points::new(validation_name, PlotPoints::from(validation))
                    .color(colour)
                    .radius(3.0),
            );
            if let Some(step) = marked {
                plot.vline(VLine::new(text(TrainText::ShownStep), step as f64));
            }
        });
}

/// Up to this many layers each get a legend entry; deeper stacks share one per sublayer
/// (the colour tells the layer).
const NAMED_LAYERS: usize = 4;

/// One line per layer and sublayer: log10 of the gradient norm over steps. `prefix` starts
/// every name; with more than [`NAMED_LAYERS`] layers the lines of a sublayer share a name
/// (in `language`), so the legend stays short.
/// The lines' curves are also added to `hover`, each under its layer's own name.
fn grad_lines<'a>(
    points: &[(usize, &[LayerGradNorms])],
    (language, prefix): (Language, &str),
    style: LineStyle,
    include_mlp: bool,
    hover: &mut PlotHover<'_>,
) -> Vec<Line<'a>> {
    let n_layers = points.first().map_or(0, |(_, norms)| norms.len());
    let mut lines = Vec::new();
    for layer in 0..n_layers {
        let series = |pick: fn(&LayerGradNorms) -> f64| -> Vec<[f64; 2]> {
            points
                .iter()
                .filter_map(|(step, norms)| {
                    let value = pick(&norms[layer]);
                    (value > 0.0).then(|| [*step as f64, value.log10()])
                })
                .collect()
        };
        let name = |sublayer: &str| {
            if n_layers <= NAMED_LAYERS {
                format!("{prefix}L{layer} {sublayer}")
            } else {
                TrainText::EveryLayer.fill(language, &[&prefix, &sublayer])
            }
        };
        let colour = layer_colour(layer, n_layers);
        let attn = series(|n| n.attn);
        hover.curve(format!("{prefix}L{layer} attn"), &attn);
        lines.push(
            Line::new(name("attn"), PlotPoints::from(attn))
                .color(colour)
                .style(style),
        );
        let mlp = if include_mlp {
            series(|n| n.mlp)
        } else {
            Vec::new()
        };
        if !mlp.is_empty() {
            hover.curve(format!("{prefix}L{layer} mlp"), &mlp);
            lines.push(
                Line::new(name("mlp"), PlotPoints::from(mlp))
                    .color(colour)
                    .style(LineStyle::dotted_loose()),
            );
        }
    }
    lines
}

/// Per-layer gradient norms of the run, log scale; `marked` as in [`loss_plot_ui`].
pub fn grad_norm_plot_ui(
    ui: &mut Ui,
    language: Language,
    history: &RunHistory,
    marked: Option<usize>,
) {
    let points: Vec<(usize, &[LayerGradNorms])> = thinned(&history.points)
        .map(|p: &StepPoint| (p.step, p.layer_grad_norms.as_slice()))
        .collect();
    ui.label(TrainText::GradientHeading.text(language));
    let mut hover = log_hover(language);
    let lines = grad_lines(&points, (language, ""), LineStyle::Solid, true, &mut hover);
    plot("gradient plot", language, 180.0)
        .y_axis_label(TrainText::GradientAxis.text(language))
        .y_axis_formatter(|mark, _| log_axis_label(mark.value))
        .label_formatter(hover.formatter())
        .show(ui, |plot| {
            for line in lines {
                plot.line(line);
            }
            if let Some(step) = marked {
                plot.vline(VLine::new(TrainText::ShownStep.text(language), step as f64));
            }
        });
}

/// Head scores of one kind over the timeline's snapshots, one line per head.
pub fn head_scores_plot_ui(
    ui: &mut Ui,
    language: Language,
    timeline: &Timeline<Option<HeadScores>>,
    shown: Option<usize>,
) {
    let text = |key: TrainText| key.text(language);
    let id = ui.scope_id().with("head score kind");
    let mut kind = ui
        .data(|d| d.get_temp::<ScoreKind>(id))
        .unwrap_or(ScoreKind::Induction);
    // Wrapped: five scores do not fit one line beside the lesson panel.
    ui.horizontal_wrapped(|ui| {
        ui.label(text(TrainText::HeadScores));
        for option in ScoreKind::ALL {
            if ui
                .selectable_label(kind == option, option.label(language))
                .clicked()
            {
                kind = option;
            }
        }
    });
    ui.data_mut(|d| d.insert_temp(id, kind));
    let scored: Vec<(usize, &HeadScores)> = timeline
        .entries()
        .iter()
        .filter_map(|e| e.data.as_ref().map(|s| (e.step, s)))
        .collect();
    let Some((_, first)) = scored.first() else {
        ui.weak(text(TrainText::ScoresAppear));
        return;
    };
    let (n_layers, n_heads) = first.of(kind).dim();
    if let Some((layer, head, score)) = scored.last().and_then(|(_, s)| s.best(kind)) {
        ui.label(TrainText::HighestScore.fill(
            language,
            &[
                &kind.label(language),
                &format!("L{layer}H{head}"),
                &format!("{score:.2}"),
            ],
        ));
    }
    let heads: Vec<(usize, usize)> = (0..n_layers)
        .flat_map(|layer| (0..n_heads).map(move |head| (layer, head)))
        .collect();
    let looks: Vec<(Color32, LineStyle)> = heads
        .iter()
        .map(|&(layer, head)| head_look(layer, head, n_layers, n_heads))
        .collect();
    // The legend above the plot, where it covers no curve, with each line's colour and dash.
    if heads.len() <= MAX_LEGEND_HEADS {
        let entries: Vec<(String, Color32, LineStyle)> = heads
            .iter()
            .zip(&looks)
            .map(|(&(layer, head), &(colour, style))| (format!("L{layer}H{head}"), colour, style))
            .collect();
        line_legend_ui(ui, &entries);
    } else {
        ui.weak(text(TrainText::ColourPerHead));
    }
    let series: Vec<Vec<[f64; 2]>> = heads
        .iter()
        .map(|&(layer, head)| {
            scored
                .iter()
                .map(|(step, s)| [*step as f64, f64::from(s.of(kind)[[layer, head]])])
                .collect()
        })
        .collect();
    let mut hover = value_hover(language);
    for (&(layer, head), points) in heads.iter().zip(&series) {
        hover.curve(format!("L{layer}H{head}"), points);
    }
    Plot::new("head score plot")
        .height(200.0)
        .allow_scroll(false)
        .x_axis_label(text(TrainText::StepAxis))
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_label(TrainText::ScoreAxis.fill(language, &[&kind.label(language)]))
        .label_formatter(hover.formatter())
        .show(ui, |plot| {
            for ((&(layer, head), &(colour, style)), series) in heads.iter().zip(&looks).zip(series)
            {
                plot.line(
                    Line::new(format!("L{layer}H{head}"), PlotPoints::from(series))
                        .color(colour)
                        .style(style)
                        .width(1.5),
                );
            }
            if let Some(step) = shown {
                plot.vline(VLine::new(text(TrainText::ShownStep), step as f64));
            }
        });
}

/// Up to this many heads get a legend entry each (a bigger model's legend would hide the plot).
const MAX_LEGEND_HEADS: usize = 24;

/// Ten colours that are told apart easily (Tableau 10).
const CATEGORICAL: [Color32; 10] = [
    Color32::from_rgb(78, 121, 167),
    Color32::from_rgb(242, 142, 43),
    Color32::from_rgb(89, 161, 79),
    Color32::from_rgb(225, 87, 89),
    Color32::from_rgb(176, 122, 161),
    Color32::from_rgb(237, 201, 72),
    Color32::from_rgb(118, 183, 178),
    Color32::from_rgb(255, 157, 167),
    Color32::from_rgb(156, 117, 95),
    Color32::from_rgb(186, 176, 172),
];

/// How the line of head `head` of layer `layer` looks: its own colour (distinct from every
/// other head's when there are at most ten, the most distinct ones going to the last layer,
/// where induction heads form; otherwise a hue per head), and a dash per layer, the last
/// layer solid.
fn head_look(layer: usize, head: usize, n_layers: usize, n_heads: usize) -> (Color32, LineStyle) {
    let index = (n_layers - 1 - layer) * n_heads + head;
    let colour = if n_layers * n_heads <= CATEGORICAL.len() {
        CATEGORICAL[index]
    } else {
        let hue = head as f32 / n_heads.max(1) as f32;
        egui::ecolor::Hsva::new(hue, 0.7, 0.95, 1.0).into()
    };
    let style = match (n_layers - 1 - layer) % 3 {
        0 => LineStyle::Solid,
        1 => LineStyle::dashed_dense(),
        _ => LineStyle::dotted_dense(),
    };
    (colour, style)
}

/// A legend in rows: a short sample of each line (colour and dash) and its name.
fn line_legend_ui(ui: &mut Ui, entries: &[(String, Color32, LineStyle)]) {
    ui.horizontal_wrapped(|ui| {
        for (name, colour, style) in entries {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(26.0, 12.0), egui::Sense::hover());
            let ends = [rect.left_center(), rect.right_center()];
            let stroke = egui::Stroke::new(2.0, *colour);
            let painter = ui.painter();
            match *style {
                LineStyle::Solid => {
                    painter.line_segment(ends, stroke);
                }
                LineStyle::Dashed { length } => {
                    painter.extend(egui::Shape::dashed_line(
                        &ends,
                        stroke,
                        length,
                        length / 2.0,
                    ));
                }
                LineStyle::Dotted { spacing } => {
                    painter.extend(egui::Shape::dotted_line(&ends, *colour, spacing, 1.2));
                }
            }
            ui.label(name);
            ui.add_space(6.0);
        }
    });
}

fn comparison_grad_points(points: &[ComparePoint]) -> Vec<(usize, &[LayerGradNorms])> {
    thinned(points)
        .map(|p| (p.step, p.layer_grad_norms.as_slice()))
        .collect()
}

/// Lemma 2.2: both runs' losses, and both runs' per-layer gradient norms on one log axis
/// (solid: with residual connections; dashed: without).
pub fn comparison_plots_ui(
    ui: &mut Ui,
    language: Language,
    comparison: &ComparisonHistory,
    width: f32,
) {
    let text = |key: TrainText| key.text(language);
    ui.label(text(TrainText::ComparisonLoss));
    let losses: Vec<(Residual, Vec<[f64; 2]>)> = Residual::BOTH
        .into_iter()
        .map(|residual| {
            let points = &comparison.points[usize::from(residual == Residual::Off)];
            let series = thinned(points).map(|p| [p.step as f64, p.loss]).collect();
            (residual, series)
        })
        .collect();
    let mut hover = value_hover(language);
    for (residual, series) in &losses {
        hover.curve(residual.label(language), series);
    }
    plot("comparison loss plot", language, 220.0)
        .width(width)
        .include_y(0.0)
        .y_axis_label(text(TrainText::LossAxis))
        .label_formatter(hover.formatter())
        .show(ui, |plot| {
            for (residual, series) in losses {
                let name = residual.label(language);
                plot.line(Line::new(name, PlotPoints::from(series)).width(1.5));
            }
        });
    ui.label(text(TrainText::ComparisonGradient));
    let with = comparison_grad_points(&comparison.points[0]);
    let without = comparison_grad_points(&comparison.points[1]);
    let mut hover = log_hover(language);
    let mut lines = grad_lines(
        &with,
        (language, text(TrainText::WithResiduals)),
        LineStyle::Solid,
        false,
        &mut hover,
    );
    let dashed = LineStyle::dashed_loose();
    lines.extend(grad_lines(
        &without,
        (language, text(TrainText::WithoutResiduals)),
        dashed,
        false,
        &mut hover,
    ));
    plot("comparison gradient plot", language, 320.0)
        .width(width)
        .y_axis_label(text(TrainText::GradientAxis))
        .y_axis_formatter(|mark, _| log_axis_label(mark.value))
        .label_formatter(hover.formatter())
        .show(ui, |plot| {
            for line in lines {
                plot.line(line);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The looks as comparable keys: colour and a name for the dash.
    fn looks(n_layers: usize, n_heads: usize) -> Vec<([u8; 4], String)> {
        (0..n_layers)
            .flat_map(|layer| (0..n_heads).map(move |head| (layer, head)))
            .map(|(layer, head)| {
                let (colour, style) = head_look(layer, head, n_layers, n_heads);
                (colour.to_array(), format!("{style:?}"))
            })
            .collect()
    }

    #[test]
    fn every_head_has_a_look_of_its_own() {
        // The induction preset's 2 × 4 heads: eight colours, the last layer solid.
        let small = looks(2, 4);
        let colours: std::collections::HashSet<_> = small.iter().map(|l| l.0).collect();
        assert_eq!(colours.len(), 8, "a colour per head: {small:?}");
        assert!(small[4..].iter().all(|l| l.1 == "Solid"));
        assert!(small[..4].iter().all(|l| l.1 != "Solid"));
        // Bigger models: colour and dash together still tell every head apart.
        let big = looks(3, 12);
        let distinct: std::collections::HashSet<_> = big.iter().collect();
        assert_eq!(distinct.len(), 36);
    }
}
