//! The contributions view: every term written into the selected token's stream (embedding,
//! position, each head, each attention bias, each MLP) measured against the stream at the
//! selected stage (norm, share, projection), its direct logit attribution to a chosen token,
//! and the sum of the terms beside the stream with the reconstruction error.

use std::sync::Arc;

use egui::{RichText, Ui, vec2};
use ndarray::s;

use super::{ViewContext, heading_ui};
use crate::i18n::{Noun, ViewText, count};
use crate::interp::vocab_rows::RowSummary;
use crate::interp::{AttributionError, Composition, LogitAttribution, Stage, TermContributions};
use crate::model::TokenId;
use crate::state::{Command, Table, ViewKind};
use crate::widgets::{
    Bar, ColourScale, StripCells, bar_list_ui, colour_legend_ui, colour_strip_ui, format_value,
    set_accessible_name,
};

/// The latest stage at or before the selected one where the stream exists.
fn stream_stage(view: &ViewContext<'_>) -> Stage {
    let norm = view.config().norm;
    view.analysis.stages[..=view.selection.stage]
        .iter()
        .rev()
        .copied()
        .find(|s| s.is_stream(norm))
        .unwrap_or(Stage::Embed)
}

/// The most likely next token at `pos` (the default attribution target); `None` until the
/// logits at `pos` are computed.
fn top_prediction(view: &ViewContext<'_>, pos: usize) -> Option<TokenId> {
    let logits = view.analysis.logits_row(pos)?;
    (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .map(|id| id as TokenId)
}

/// The attribution for the target, cached in egui's memory per (analysis, target).
fn attribution(
    ui: &Ui,
    view: &ViewContext<'_>,
    target: TokenId,
) -> Arc<Result<LogitAttribution, AttributionError>> {
    // Keyed also by whether every position's logits are in (the reconstruction error of
    // the others is NaN before).
    type Cached = (
        (u64, TokenId, bool),
        Arc<Result<LogitAttribution, AttributionError>>,
    );
    let analysis = view.analysis;
    let key = (analysis.serial(), target, analysis.logits().is_some());
    let id = egui::Id::unique("contributions attribution cache");
    if let Some((k, value)) = ui.data(|d| d.get_temp::<Cached>(id))
        && k == key
    {
        return value;
    }
    let value = Arc::new(analysis.attribution(target));
    ui.data_mut(|d| d.insert_temp(id, (key, value.clone())));
    value
}

/// Draws the contributions view.
pub fn contributions_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let analysis = view.analysis;
    let interp = &analysis.interp;
    let pos = view.selection.token;
    let stage = stream_stage(view);
    let language = view.language;
    heading_ui(
        ui,
        language,
        ViewKind::Contributions,
        &ViewText::TokenStreamAt.fill(
            language,
            &[&pos, &analysis.token_text(pos), &stage.short_label()],
        ),
    );
    if stage != view.stage() {
        ui.weak(ViewText::NotTheStream.fill(
            language,
            &[&view.stage().short_label(), &stage.short_label()],
        ));
    }
    // The attribution's target and its logit wait for the logits at `pos` (the selected
    // token's come with the trace, the others' a moment later); the terms do not.
    let target = view
        .selection
        .target_token
        .or_else(|| top_prediction(view, pos));
    let target = match (target, analysis.top_predictions(pos, 10)) {
        (Some(target), Some(top)) => {
            target_picker_ui(ui, view, (pos, &top), target, commands);
            Some(target)
        }
        _ => {
            crate::widgets::busy::busy_spinner_ui(ui);
            None
        }
    };

    let Some(contributions) = interp.contributions(&view.analysis.trace, stage) else {
        let reason = match interp.decomposition.at(stage).map(|d| &d.composition) {
            Some(Composition::NotASum { reason }) => reason.text(language),
            _ => String::new(),
        };
        let limit = interp.decomposition.describe_limit(language);
        ui.label(ViewText::NotASum.fill(language, &[&limit, &reason]));
        return;
    };
    sum_against_stream_ui(ui, view, &contributions, pos);
    if let Some(note) = crate::interp::terms::granularity_note(view.config(), language) {
        ui.label(ViewText::OneTermPerLayer.fill(language, &[&note]));
    }
    ui.separator();
    let attribution = target.map(|target| (target, attribution(ui, view, target)));
    let width = ui.available_width();
    let height = ui.available_height();
    ui.horizontal_top(|ui| {
        let column = egui::Layout::top_down(egui::Align::Min);
        let dla = attribution.as_ref().map(|(target, a)| (*target, &**a));
        ui.allocate_ui_with_layout(vec2(width * 0.55, height), column, |ui| {
            terms_table_ui(ui, view, &contributions, dla, pos, commands);
        });
        ui.separator();
        ui.allocate_ui_with_layout(vec2(width * 0.43, height), column, |ui| match dla {
            Some((target, attribution)) => {
                attribution_bars_ui(ui, view, attribution, pos, target, commands);
            }
            None => {
                crate::widgets::busy::busy_spinner_ui(ui);
            }
        });
    });
}

/// The attribution target's picker at `pos`, offering the `top` predictions there.
fn target_picker_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    (pos, top): (usize, &RowSummary),
    target: TokenId,
    commands: &mut Vec<Command>,
) {
    let analysis = view.analysis;
    let next = analysis.tokens.get(pos + 1).copied();
    let language = view.language;
    let words = |key: ViewText| key.text(language);
    ui.horizontal(|ui| {
        ui.label(words(ViewText::AttributeTo));
        let combo = egui::ComboBox::from_id_salt("attribution target")
            .selected_text(format!("‘{}’ (id {target})", analysis.vocab_text(target)))
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(
                        view.selection.target_token.is_none(),
                        words(ViewText::TheTopPrediction),
                    )
                    .clicked()
                {
                    commands.push(Command::SetTarget(None));
                }
                if let Some(next) = next
                    && ui
                        .selectable_label(
                            view.selection.target_token == Some(next),
                            ViewText::TheActualNext.fill(language, &[&analysis.vocab_text(next)]),
                        )
                        .clicked()
                {
                    commands.push(Command::SetTarget(Some(next)));
                }
                ui.separator();
                for (&id, logit) in top.top_ids.iter().zip(&top.top_logits) {
                    let logit = format!("{logit:.2}");
                    let text =
                        ViewText::TokenLogit.fill(language, &[&analysis.vocab_text(id), &logit]);
                    if ui.selectable_label(target == id, text).clicked() {
                        commands.push(Command::SetTarget(Some(id)));
                    }
                }
            });
        set_accessible_name(&combo.response, words(ViewText::AttributeTo));
        match view.selection.target_token {
            None => ui.weak(words(ViewText::ModelsTopPrediction)),
            Some(_) => ui.weak(words(ViewText::Chosen)),
        };
    });
}

/// Σ terms and the stream as two colour strips, with the reconstruction error.
fn sum_against_stream_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    contributions: &TermContributions,
    pos: usize,
) {
    let interp = &view.analysis.interp;
    let trace = &view.analysis.trace;
    let mut sum = vec![0.0f32; trace.embed.ncols()];
    for term in contributions.terms.clone() {
        let vector = interp.decomposition.values(trace, term).row(pos).to_owned();
        sum.iter_mut().zip(vector).for_each(|(s, x)| *s += x);
    }
    let stage_index = interp
        .resid
        .stage_index(contributions.stage)
        .expect("contributions exist only at resid stages");
    let stream: Vec<f32> = interp.resid.resid.slice(s![stage_index, pos, ..]).to_vec();
    let error = interp
        .decomposition
        .at(contributions.stage)
        .and_then(|d| d.reconstruction_error.as_ref().map(|e| e[pos]));
    let scale = ColourScale::diverging_for(sum.iter().chain(&stream).copied());
    let d = sum.len();
    let per_line = d.min(128);
    let cell_w = ((ui.available_width() - 200.0) / per_line as f32).clamp(3.0, 40.0);
    let cells = StripCells {
        size: vec2(cell_w, 14.0),
        per_line,
        numbers: d <= 16,
    };
    let language = view.language;
    let words = |key: ViewText| key.text(language);
    egui::Grid::new("sum against stream")
        .spacing(vec2(8.0, 4.0))
        .show(ui, |ui| {
            let terms = count(language, contributions.terms.len(), Noun::Term);
            ui.label(ViewText::SumOf.fill(language, &[&terms]));
            let name = words(ViewText::SumOfTheTerms);
            colour_strip_ui(ui, language, name, &sum, &scale, cells);
            ui.end_row();
            let stage = contributions.stage.short_label();
            ui.label(ViewText::StreamAt.fill(language, &[&stage]));
            let name = words(ViewText::TheStream);
            colour_strip_ui(ui, language, name, &stream, &scale, cells);
            ui.end_row();
        });
    ui.horizontal(|ui| {
        let caption = words(ViewText::ValueOfDimension);
        colour_legend_ui(ui, language, &scale, caption, 140.0);
        if let Some(error) = error {
            ui.label(ViewText::LargestError.fill(language, &[&format!("{error:.2e}")]));
        }
    });
}

/// A share as a percentage, without a negative zero.
fn percent(share: f32) -> String {
    let value = 100.0 * share;
    if value.abs() < 0.05 {
        "0.0%".into()
    } else {
        format!("{value:.1}%")
    }
}

fn is_highlighted(view: &ViewContext<'_>, term: crate::interp::Term) -> bool {
    match (view.selection.component, term) {
        (Some(selected), _) => selected == term,
        (None, crate::interp::Term::Head { layer, head }) => {
            (layer, head) == (view.selection.layer, view.selection.head)
        }
        _ => false,
    }
}

/// The terms' norms, shares and projections, with their direct logit attribution to the
/// target when it is known (`dla`: the target and its attribution).
fn terms_table_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    contributions: &TermContributions,
    dla: Option<(TokenId, &Result<LogitAttribution, AttributionError>)>,
    pos: usize,
    commands: &mut Vec<Command>,
) {
    let terms = &view.analysis.interp.decomposition.terms;
    let language = view.language;
    let words = |key: ViewText| key.text(language);
    ui.label(RichText::new(words(ViewText::EveryTermSoFar)).strong());
    egui::ScrollArea::vertical()
        .id_salt("terms scroll")
        .show(ui, |ui| {
            egui::Grid::new("terms table")
                .striped(true)
                .num_columns(5)
                .spacing(vec2(14.0, 3.0))
                .show(ui, |ui| {
                    ui.strong(words(ViewText::TermColumn));
                    ui.strong(words(ViewText::Norm));
                    ui.strong(words(ViewText::ShareColumn));
                    ui.strong(words(ViewText::ProjectionColumn));
                    let target = dla.map_or_else(
                        || "…".to_string(),
                        |(target, _)| view.analysis.vocab_text(target),
                    );
                    ui.strong(ViewText::DlaColumn.fill(language, &[&target]));
                    ui.end_row();
                    for (i, term_index) in contributions.terms.clone().enumerate() {
                        let term = terms[term_index];
                        let selected = is_highlighted(view, term);
                        if ui.selectable_label(selected, term.label()).clicked() {
                            commands.push(Command::SelectComponent(Some(term)));
                        }
                        ui.label(format_value(contributions.norms[[i, pos]]));
                        ui.label(percent(contributions.shares[[i, pos]]));
                        ui.label(format_value(contributions.projections[[i, pos]]));
                        let value = dla.and_then(|(_, a)| a.as_ref().ok()).and_then(|a| {
                            a.terms
                                .clone()
                                .position(|t| t == term_index)
                                .map(|row| a.values[[row, pos]])
                        });
                        ui.label(value.map(format_value).unwrap_or_else(|| "–".into()));
                        ui.end_row();
                    }
                    ui.strong(words(ViewText::StreamRow));
                    ui.label(format_value(contributions.stream_norms[pos]));
                    let total_share: f32 = contributions.shares.column(pos).sum();
                    ui.label(percent(total_share));
                    ui.end_row();
                });
        });
}

fn attribution_bars_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    attribution: &Result<LogitAttribution, AttributionError>,
    pos: usize,
    target: TokenId,
    commands: &mut Vec<Command>,
) {
    let analysis = view.analysis;
    let language = view.language;
    let heading = ViewText::DlaHeading.fill(language, &[&analysis.vocab_text(target)]);
    ui.label(RichText::new(heading).strong());
    let attribution = match attribution {
        Ok(a) => a,
        Err(error) => {
            ui.label(error.text(language));
            return;
        }
    };
    let terms = &analysis.interp.decomposition.terms;
    let mut bars: Vec<Bar> = attribution
        .terms
        .clone()
        .enumerate()
        .map(|(row, t)| Bar::new(terms[t].label(), attribution.values[[row, pos]]))
        .collect();
    let constant = ViewText::ConstantBiases.text(language);
    bars.push(Bar::new(constant, attribution.constant[pos]));
    let highlight = attribution
        .terms
        .clone()
        .position(|t| is_highlighted(view, terms[t]));
    let sum = attribution.values.column(pos).sum() + attribution.constant[pos];
    ui.label(ViewText::SumIsTheLogit.fill(
        language,
        &[
            &format!("{sum:.3}"),
            &format!("{:.3}", attribution.target[pos]),
            &format!("{:.1e}", attribution.reconstruction_error[pos]),
        ],
    ));
    egui::ScrollArea::vertical()
        .id_salt("attribution scroll")
        .show(ui, |ui| {
            let width = (ui.available_width() - 170.0).max(80.0);
            if let Some(row) = bar_list_ui(
                ui,
                ViewText::DirectLogitAttribution.text(language),
                &bars,
                highlight,
                width,
                18.0,
            ) && row < attribution.terms.len()
            {
                let term = terms[attribution.terms.start + row];
                commands.push(Command::SelectComponent(Some(term)));
            }
        });
}

/// Every term at the stream stage: norm, share, projection and attribution, for export.
pub fn table(view: &ViewContext<'_>) -> Table {
    let analysis = view.analysis;
    let pos = view.selection.token;
    let stage = stream_stage(view);
    // No target before the logits at `pos` are in (a moment after the trace): the
    // attribution column is then empty.
    let target = view
        .selection
        .target_token
        .or_else(|| top_prediction(view, pos));
    let mut table = Table::new(&[
        "stage",
        "pos",
        "term",
        "norm",
        "share",
        "projection",
        "direct_logit_attribution",
        "target_token",
    ]);
    let Some(contributions) = analysis.interp.contributions(&analysis.trace, stage) else {
        return table;
    };
    let attribution = target.and_then(|target| analysis.attribution(target).ok());
    let terms = &analysis.interp.decomposition.terms;
    for (i, term_index) in contributions.terms.clone().enumerate() {
        let dla = attribution.as_ref().and_then(|a| {
            a.terms
                .clone()
                .position(|t| t == term_index)
                .map(|row| a.values[[row, pos]])
        });
        table.push(vec![
            stage.short_label().into(),
            pos.into(),
            terms[term_index].label().into(),
            contributions.norms[[i, pos]].into(),
            contributions.shares[[i, pos]].into(),
            contributions.projections[[i, pos]].into(),
            dla.unwrap_or(f32::NAN).into(),
            target
                .map_or_else(String::new, |id| analysis.vocab_text(id))
                .into(),
        ]);
    }
    table
}
