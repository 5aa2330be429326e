//! The logit lens view: every token × every stream stage (mid-block included), each cell the
//! prediction read from the stream there (top token and its probability), coloured by that
//! probability or by the rank of the token that actually comes next; top-k on hover; how the
//! final LayerNorm is applied is stated and switchable.

use egui::{RichText, Ui, vec2};

use super::{ViewContext, heading_ui};
use crate::i18n::{Noun, ViewText, count};
use crate::interp::LensNorm;
use crate::state::{Command, LensColour, Table, ViewKind};
use crate::widgets::{
    ColourScale, Heatmap, cell_text_width, colour_legend_ui, colour_legend_with_ends_ui, heatmap_ui,
};

/// Draws the logit lens view.
pub fn logit_lens_ui(ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    let analysis = view.analysis;
    let guard = analysis.lens();
    let lens = &*guard;
    let language = view.language;
    let words = |key: ViewText| key.text(language);
    heading_ui(
        ui,
        language,
        ViewKind::LogitLens,
        &ViewText::LensSubtitle.fill(
            language,
            &[
                &count(language, analysis.n_pos(), Noun::Token),
                &count(language, lens.stages.len(), Noun::Stage),
            ],
        ),
    );
    if !lens.is_complete() {
        let (done, all) = (lens.n_computed(), lens.n_pos());
        ui.add(
            egui::ProgressBar::new(done as f32 / all.max(1) as f32)
                .desired_width(260.0)
                .text(
                    ViewText::LensProgress
                        .fill(language, &[&done, &count(language, all, Noun::Token)]),
                ),
        );
    }
    ui.horizontal(|ui| {
        ui.label("LayerNorm");
        let current = analysis.options.lens.norm;
        for (norm, text) in [
            (LensNorm::OwnStatistics, words(ViewText::OwnStatistics)),
            (
                LensNorm::CachedFinalScale,
                words(ViewText::FrozenFinalScale),
            ),
        ] {
            let enabled = lens.final_norm;
            let response = ui.add_enabled(enabled, egui::RadioButton::new(current == norm, text));
            if response.clicked() {
                commands.push(Command::SetLensNorm(norm));
            }
        }
        ui.separator();
        ui.label(words(ViewText::ColourBy));
        let colour = view.settings.lens_colour;
        for (choice, text) in [
            (LensColour::TopProbability, words(ViewText::TopProbability)),
            (LensColour::NextTokenRank, words(ViewText::NextTokenRank)),
        ] {
            if ui.radio(colour == choice, text).clicked() {
                commands.push(Command::SetLensColour(choice));
            }
        }
    });
    ui.label(RichText::new(lens.describe_norm(language)).italics());

    let n_pos = analysis.n_pos();
    let n_stages = lens.stages.len();
    let by_rank = view.settings.lens_colour == LensColour::NextTokenRank;
    let d_vocab = view.config().d_vocab as f32;
    // [pos, lens stage], row-major
    let values: Vec<f32> = (0..n_pos)
        .flat_map(|pos| {
            (0..n_stages).map(move |stage| {
                let Some(cell) = lens.cell(stage, pos) else {
                    return f32::NAN; // not computed yet
                };
                if by_rank {
                    cell.next_rank
                        .map_or(f32::NAN, |rank| -(rank as f32).log10())
                } else {
                    cell.top_probs[0]
                }
            })
        })
        .collect();
    let scale = if by_rank {
        ColourScale::Sequential {
            min: -d_vocab.log10(),
            max: 0.0,
        }
    } else {
        ColourScale::Sequential { min: 0.0, max: 1.0 }
    };
    ui.horizontal(|ui| {
        if by_rank {
            // The colours follow −log₁₀ rank; the reader counts in ranks.
            let ends = [d_vocab as usize, 1].map(|rank| ViewText::RankN.fill(language, &[&rank]));
            let caption = words(ViewText::RankLegend);
            colour_legend_with_ends_ui(ui, language, &scale, ends, caption, 160.0);
        } else {
            let caption = words(ViewText::TopProbabilityLegend);
            colour_legend_ui(ui, language, &scale, caption, 160.0);
        }
    });

    let row_labels = view.token_labels();
    let col_labels: Vec<String> = lens.stages.iter().map(|s| s.short_label()).collect();
    let cell_text = |pos: usize, stage: usize| {
        let (id, prob) = lens.cell(stage, pos)?.top().next()?;
        Some(format!("{} {:.2}", analysis.vocab_text(id), prob))
    };
    let hover = |pos: usize, stage: usize| {
        let mut text = ViewText::LensCellHeading.fill(
            language,
            &[&pos, &analysis.token_text(pos), &col_labels[stage]],
        ) + "\n";
        let Some(cell) = lens.cell(stage, pos) else {
            return text + words(ViewText::LensCellPending);
        };
        for (id, prob) in cell.top() {
            text += &format!("  ‘{}’  {:.4}\n", analysis.vocab_text(id), prob);
        }
        match cell.next_rank {
            None => text += words(ViewText::NoNextToken),
            Some(rank) => {
                let next = analysis.vocab_text(analysis.tokens[pos + 1]);
                let prob = format!("{:.4}", cell.next_prob);
                text += &ViewText::ActualNextRank.fill(language, &[&next, &rank, &prob]);
            }
        }
        text
    };
    let selected_stage = lens.stage_index(view.stage());
    // Bring the selected token's row into view when the selection (or the prompt) changes,
    // e.g. a lesson step that points at the last token; not every frame, so the student can
    // scroll away.
    // The request is repeated on the next frame too: a scroll area shown for the first time
    // (the lens tab just opened) does not know its content's size yet and clamps the first
    // request to the top.
    let wanted = (view.selection.token, selected_stage, n_pos);
    let memory = ui.make_persistent_id("lens scrolled to");
    let last = ui.data(|d| d.get_temp::<((usize, Option<usize>, usize), u8)>(memory));
    let frames_left = match last {
        Some((done, left)) if done == wanted => left,
        _ => 2,
    };
    let scroll = frames_left > 0;
    ui.data_mut(|d| d.insert_temp(memory, (wanted, frames_left.saturating_sub(1))));
    // Wide enough for every cell's text (a six-digit token id of a 151,936-token vocabulary
    // and its probability), at most 160 points; the grid scrolls sideways when it is wider.
    // Each row's texts are measured once, when it is computed (per analysis and zoom), not
    // every frame: laying out every cell's text took 13 % of the UI thread at 69 tokens × 49
    // stages.
    let cell_h = 20.0;
    let width_key = (analysis.serial(), ui.ctx().pixels_per_point().to_bits());
    let width_memory = ui.make_persistent_id("lens cell width");
    type Measured = ((u64, u32), f32, Vec<bool>);
    let (mut width, mut measured) = match ui.data(|d| d.get_temp::<Measured>(width_memory)) {
        Some((key, width, measured)) if key == width_key => (width, measured),
        _ => (0.0, vec![false; n_pos]),
    };
    let new_rows: Vec<usize> = (0..n_pos)
        .filter(|&pos| !measured[pos] && lens.is_computed(pos))
        .collect();
    if !new_rows.is_empty() {
        let texts = new_rows
            .iter()
            .flat_map(|&pos| (0..n_stages).filter_map(move |stage| cell_text(pos, stage)));
        width = width.max(cell_text_width(ui, cell_h, texts));
        for pos in new_rows {
            measured[pos] = true;
        }
        ui.data_mut(|d| d.insert_temp(width_memory, (width_key, width, measured)));
    }
    let fitting = width.min(160.0);
    let cell_w = ((ui.available_width() - 120.0) / n_stages as f32)
        .clamp(52.0, 90.0)
        .max(fitting);
    egui::ScrollArea::both()
        .id_salt("lens scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let heatmap = Heatmap::new(words(ViewText::LensName), n_pos, n_stages, &values, scale)
                .cell_size(vec2(cell_w, cell_h))
                .row_labels(&row_labels)
                .col_labels(&col_labels)
                .cell_text(&cell_text)
                .hover_text(&hover)
                .highlight(Some(view.selection.token), selected_stage, None)
                .scroll_to_highlight(scroll);
            let response = heatmap_ui(ui, &heatmap);
            if !lens.is_complete() {
                commands.push(Command::ShowLensRows(response.visible_rows.clone()));
            }
            if let Some((pos, stage)) = response.clicked {
                commands.push(Command::SelectToken(pos));
                if let Some(index) = analysis
                    .stages
                    .iter()
                    .position(|s| *s == lens.stages[stage])
                {
                    commands.push(Command::SetStage(index));
                }
            }
        });
}

/// The top-k predictions at every token and lens stage, with the next token's rank (the
/// rows computed so far; the whole grid once the lens is complete).
pub fn table(view: &ViewContext<'_>) -> Table {
    let analysis = view.analysis;
    let guard = analysis.lens();
    let lens = &*guard;
    let mut table = Table::new(&[
        "pos",
        "token",
        "stage",
        "rank_in_top_k",
        "predicted_id",
        "predicted_token",
        "probability",
        "next_token_rank",
    ]);
    for pos in 0..analysis.n_pos() {
        for (stage_index, stage) in lens.stages.iter().enumerate() {
            let Some(cell) = lens.cell(stage_index, pos) else {
                continue;
            };
            for (k, (id, prob)) in cell.top().enumerate() {
                table.push(vec![
                    pos.into(),
                    analysis.token_text(pos).into(),
                    stage.short_label().into(),
                    (k + 1).into(),
                    id.into(),
                    analysis.vocab_text(id).into(),
                    prob.into(),
                    cell.next_rank.map_or(f64::NAN.into(), Into::into),
                ]);
            }
        }
    }
    table
}
