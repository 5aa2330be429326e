//! The Circuits view: how heads compose through the stream, from the weights alone
//! (`interp::circuits`). Left, the Q-, K- or V-composition map of earlier heads (rows) into
//! later heads (columns), coloured from the random baseline up, and every head's OV copying
//! score. Right, the selected head: its copying score, the singular values of W_OV and W_QK,
//! its full OV and QK circuits over the prompt's distinct tokens, and the direct path after
//! the selected token. Selecting a head here selects it in the Attention view, and back.
//!
//! The weight-level parts come from the circuits worker (`state::circuits`); the per-head
//! tables are computed here and kept in egui's memory until the head, the prompt or the
//! weights change.

use std::sync::Arc;

use egui::{RichText, Ui, vec2};
use ndarray::Array2;

use super::{ViewContext, heading_ui};
use crate::i18n::{CircuitText, Language, ViewText};
use crate::interp::circuits::tokens::{direct_path_row, full_ov, full_qk, head_singular_values};
use crate::interp::circuits::{CompositionKind, FoldedHeads, Folding, WeightCircuits};
use crate::interp::vocab_rows::summarize_row;
use crate::model::TokenId;
use crate::state::circuits::CircuitsState;
use crate::state::export::Cell;
use crate::state::{Command, Table, ViewKind};
use crate::widgets::{
    Bar, ColourScale, Heatmap, bar_list_ui, busy_spinner_ui, colour_legend_ui, heatmap_ui,
};

/// Most distinct prompt tokens the full-circuit tables show.
pub const MAX_TABLE_TOKENS: usize = 40;

/// Singular values listed per circuit.
const SINGULAR_VALUES_SHOWN: usize = 8;

/// Tokens listed for the direct path.
const DIRECT_PATH_TOP: usize = 8;

/// Largest cell of the composition map and the copying grid (wide enough for `-0.99`).
const MAX_MAP_CELL: f32 = 44.0;

/// Cells at least this wide print their value.
const NUMBERS_FROM: f32 = 36.0;

/// Narrowest width for the two columns side by side; narrower, one under the other.
const TWO_COLUMNS_MIN_WIDTH: f32 = 760.0;

/// Draws the Circuits view of the analysis on screen.
pub fn circuits_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    circuits: &CircuitsState,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let (layer, head) = (view.selection.layer, view.selection.head);
    heading_ui(
        ui,
        language,
        ViewKind::Circuits,
        &ViewText::LayerHead.fill(language, &[&layer, &head]),
    );
    let model = &view.analysis.model;
    if circuits.wanted_for(model) {
        commands.push(Command::ComputeCircuits);
    }
    let config = view.config();
    // A training run's previous snapshot has the same shapes: its maps stay on screen while
    // the newest snapshot's are computed.
    let shown = circuits
        .latest_for(model)
        .filter(|(c, _)| c.config == *config);
    if let Some(message) = circuits.failure_for(model) {
        ui.colored_label(ui.visuals().error_fg_color, message);
        return;
    }
    let Some((weights, current)) = shown else {
        ui.horizontal(|ui| {
            busy_spinner_ui(ui);
            ui.label(CircuitText::Computing.text(language));
        });
        return;
    };
    ui.horizontal_wrapped(|ui| {
        ui.weak(folding_text(weights.heads.folding, language));
        if !current || weights.next_part().is_some() {
            busy_spinner_ui(ui);
            let done = weights.parts_done();
            let total = crate::interp::circuits::CircuitPart::ORDER.len();
            ui.weak(CircuitText::PartsDone.fill(language, &[&done, &total]));
        }
    });
    ui.add_space(4.0);
    let width = ui.available_width();
    let height = ui.available_height();
    let column = egui::Layout::top_down(egui::Align::Min);
    if width < TWO_COLUMNS_MIN_WIDTH {
        egui::ScrollArea::vertical()
            .id_salt("circuits one column")
            .show(ui, |ui| {
                heads_ui(ui, view, weights, width, commands);
                ui.separator();
                selected_head_ui(ui, view, (weights, current), width, commands);
            });
        return;
    }
    // The maps take what their cells need (small models leave room for the head's tables),
    // at most half.
    let n_heads_total = (config.n_layers.max(2) - 1) * config.n_heads;
    let left_w = (70.0 + n_heads_total as f32 * MAX_MAP_CELL)
        .max(config.n_heads as f32 * MAX_MAP_CELL + 60.0)
        .clamp(380.0, width * 0.5)
        .floor();
    let right_w = width - left_w - 3.0 * ui.spacing().item_spacing.x - 6.0;
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(vec2(left_w, height), column, |ui| {
            ui.set_min_width(left_w);
            egui::ScrollArea::vertical()
                .id_salt("circuits heads")
                .show(ui, |ui| heads_ui(ui, view, weights, left_w, commands));
        });
        ui.separator();
        ui.allocate_ui_with_layout(vec2(right_w, height), column, |ui| {
            ui.set_min_width(right_w);
            egui::ScrollArea::vertical()
                .id_salt("circuits selected head")
                .show(ui, |ui| {
                    selected_head_ui(ui, view, (weights, current), right_w, commands)
                });
        });
    });
}

/// What the view says about the norms folded in.
fn folding_text(folding: Folding, language: Language) -> &'static str {
    match folding {
        Folding::ScaledAndCentred => CircuitText::FoldedLayerNorm.text(language),
        Folding::Scaled => CircuitText::FoldedRmsNorm.text(language),
        Folding::None => CircuitText::FoldedNone.text(language),
    }
}

/// `L{layer}H{head}` of head `index` (`layer · n_heads + head`).
fn head_label(index: usize, n_heads: usize) -> String {
    format!("L{}H{}", index / n_heads, index % n_heads)
}

/// The composition map with its switch and legend, then every head's copying score.
fn heads_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    weights: &WeightCircuits,
    width: f32,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let config = view.config();
    let (n_layers, n_heads) = (config.n_layers, config.n_heads);
    let kind = view.settings.composition;
    ui.horizontal(|ui| {
        ui.label(RichText::new(CircuitText::Composition.text(language)).strong());
        for choice in CompositionKind::ALL {
            let text = composition_name(choice, language);
            if ui.selectable_label(choice == kind, text).clicked() && choice != kind {
                commands.push(Command::SetComposition(choice));
            }
        }
    });
    if n_layers < 2 {
        ui.label(CircuitText::OneLayer.text(language));
    } else if let Some(scores) = weights.composition(kind) {
        // Rows: heads of every layer but the last; columns: heads of every layer but the
        // first (the rest of the matrix is zero by definition).
        let rows = (n_layers - 1) * n_heads;
        let cols = rows;
        let values: Vec<f32> = (0..rows)
            .flat_map(|e| (0..cols).map(move |l| (e, l + n_heads)))
            .map(|(e, l)| {
                if l / n_heads > e / n_heads {
                    scores.scores[[e, l]] as f32
                } else {
                    f32::NAN
                }
            })
            .collect();
        let baseline = weights.baseline as f32;
        let max = values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(baseline, f32::max);
        let scale = ColourScale::Sequential {
            min: baseline,
            max: max.max(baseline + 1e-3),
        };
        ui.horizontal_wrapped(|ui| {
            let caption = CircuitText::ScoreCaption.text(language);
            colour_legend_ui(ui, language, &scale, caption, 120.0);
        });
        ui.weak(CircuitText::Baseline.fill(language, &[&format!("{baseline:.3}")]));
        let row_labels: Vec<String> = (0..rows).map(|i| head_label(i, n_heads)).collect();
        let col_labels: Vec<String> = (0..cols)
            .map(|i| head_label(i + n_heads, n_heads))
            .collect();
        let hover = |row: usize, col: usize| {
            let value = values[row * cols + col];
            if value.is_finite() {
                CircuitText::CompositionHover.fill(
                    language,
                    &[
                        &row_labels[row],
                        &col_labels[col],
                        &format!("{value:.3}"),
                        &format!("{baseline:.3}"),
                    ],
                )
            } else {
                CircuitText::NotLater.fill(language, &[&row_labels[row], &col_labels[col]])
            }
        };
        let probe = Heatmap::new(String::new(), rows, cols, &values, scale)
            .row_labels(&row_labels)
            .col_labels(&col_labels);
        let room = width - probe.label_room(ui).x - 12.0;
        let cell = (room / cols as f32).clamp(3.0, MAX_MAP_CELL);
        let text = |row: usize, col: usize| {
            let value = values[row * cols + col];
            (cell >= NUMBERS_FROM && value.is_finite()).then(|| format!("{value:.2}"))
        };
        let selected = layer_head_index(view);
        let highlight_row = (selected < rows).then_some(selected);
        let highlight_col = selected.checked_sub(n_heads);
        let name =
            CircuitText::CompositionName.fill(language, &[&composition_name(kind, language)]);
        let heatmap = Heatmap::new(name, rows, cols, &values, scale)
            .cell_size(vec2(cell, cell))
            .row_labels(&row_labels)
            .col_labels(&col_labels)
            .cell_text(&text)
            .hover_text(&hover)
            .label_font(if cell < 10.0 { 9.0 } else { 12.0 })
            .highlight(highlight_row, highlight_col, None);
        egui::ScrollArea::horizontal()
            .id_salt("composition map")
            .show(ui, |ui| {
                let response = heatmap_ui(ui, &heatmap);
                if let Some((_, col)) = response.clicked {
                    let later = col + n_heads;
                    commands.push(Command::SelectHead {
                        layer: later / n_heads,
                        head: later % n_heads,
                    });
                }
            });
    } else {
        waiting_ui(ui, language);
    }
    ui.add_space(8.0);
    ui.label(RichText::new(CircuitText::CopyingHeading.text(language)).strong());
    let Some(copying) = weights.copying() else {
        waiting_ui(ui, language);
        return;
    };
    let values: Vec<f32> = copying.iter().map(|&s| s as f32).collect();
    let scale = ColourScale::Diverging { max_abs: 1.0 };
    let row_labels: Vec<String> = (0..n_layers).map(|l| format!("L{l}")).collect();
    let col_labels: Vec<String> = (0..n_heads).map(|h| format!("H{h}")).collect();
    let room = width - 60.0;
    let cell = (room / n_heads as f32).clamp(8.0, MAX_MAP_CELL);
    let text = |row: usize, col: usize| {
        let value = values[row * n_heads + col];
        (cell >= NUMBERS_FROM).then(|| format!("{value:.2}"))
    };
    let hover = |row: usize, col: usize| {
        let value = values[row * n_heads + col];
        CircuitText::CopyingHover.fill(language, &[&row, &col, &format!("{value:.3}")])
    };
    let heatmap = Heatmap::new(
        CircuitText::CopyingName.text(language),
        n_layers,
        n_heads,
        &values,
        scale,
    )
    .cell_size(vec2(cell, cell.min(28.0)))
    .row_labels(&row_labels)
    .col_labels(&col_labels)
    .cell_text(&text)
    .hover_text(&hover)
    .highlight(
        None,
        None,
        Some((view.selection.layer, view.selection.head)),
    );
    egui::ScrollArea::horizontal()
        .id_salt("copying map")
        .show(ui, |ui| {
            let response = heatmap_ui(ui, &heatmap);
            if let Some((layer, head)) = response.clicked {
                commands.push(Command::SelectHead { layer, head });
            }
        });
}

/// `layer · n_heads + head` of the selected head.
fn layer_head_index(view: &ViewContext<'_>) -> usize {
    view.selection.layer * view.config().n_heads + view.selection.head
}

/// The name of a composition kind on its switch.
fn composition_name(kind: CompositionKind, language: Language) -> &'static str {
    match kind {
        CompositionKind::Q => CircuitText::KindQ.text(language),
        CompositionKind::K => CircuitText::KindK.text(language),
        CompositionKind::V => CircuitText::KindV.text(language),
    }
}

/// A part still being computed.
fn waiting_ui(ui: &mut Ui, language: Language) {
    ui.horizontal(|ui| {
        busy_spinner_ui(ui);
        ui.weak(CircuitText::Computing.text(language));
    });
}

/// The selected head's circuits over the prompt's tokens, computed once per head, prompt
/// and weights.
#[derive(Clone)]
struct HeadTables {
    /// The folded heads they were computed from (compared by address).
    heads: Arc<FoldedHeads>,
    /// The analysis they follow.
    serial: u64,
    layer: usize,
    head: usize,
    /// The prompt's distinct tokens, in order of first appearance. [tokens]
    tokens: Vec<TokenId>,
    /// Full OV circuit over `tokens`, row-major. [tokens, tokens]
    ov: Vec<f32>,
    /// Full QK circuit over `tokens`, row-major. [tokens, tokens]
    qk: Vec<f32>,
    /// Singular values of W_OV and W_QK, largest first. [d_head] each
    singular: (Vec<f64>, Vec<f64>),
}

/// The prompt's distinct tokens, in order of first appearance, at most [`MAX_TABLE_TOKENS`].
pub fn distinct_tokens(tokens: &[TokenId]) -> Vec<TokenId> {
    let mut seen = Vec::new();
    for &token in tokens {
        if !seen.contains(&token) {
            seen.push(token);
            if seen.len() == MAX_TABLE_TOKENS {
                break;
            }
        }
    }
    seen
}

fn head_tables(ui: &Ui, view: &ViewContext<'_>, weights: &WeightCircuits) -> Arc<HeadTables> {
    let (layer, head) = (view.selection.layer, view.selection.head);
    let serial = view.analysis.serial();
    let id = egui::Id::unique("circuits head tables");
    if let Some(cached) = ui.data(|d| d.get_temp::<Arc<HeadTables>>(id))
        && Arc::ptr_eq(&cached.heads, &weights.heads)
        && (cached.serial, cached.layer, cached.head) == (serial, layer, head)
    {
        return cached;
    }
    let params = &view.analysis.model.params;
    let tokens = distinct_tokens(&view.analysis.tokens);
    let flat = |m: Array2<f64>| m.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let (ov_values, qk_values) = head_singular_values(&weights.heads, (layer, head));
    let tables = Arc::new(HeadTables {
        heads: Arc::clone(&weights.heads),
        serial,
        layer,
        head,
        ov: flat(full_ov(params, &weights.heads, (layer, head), &tokens)),
        qk: flat(full_qk(params, &weights.heads, (layer, head), &tokens)),
        tokens,
        singular: (ov_values.to_vec(), qk_values.to_vec()),
    });
    ui.data_mut(|d| d.insert_temp(id, Arc::clone(&tables)));
    tables
}

/// The top tokens of the direct path after `token`, kept until the token or the weights
/// change. [(token, logit)]
fn direct_path_top(ui: &Ui, view: &ViewContext<'_>, token: TokenId) -> Arc<Vec<(TokenId, f32)>> {
    type Cached = (u64, TokenId, Arc<Vec<(TokenId, f32)>>);
    let id = egui::Id::unique("circuits direct path");
    let serial = view.analysis.serial();
    if let Some((s, t, top)) = ui.data(|d| d.get_temp::<Cached>(id))
        && (s, t) == (serial, token)
    {
        return top;
    }
    let row = direct_path_row(&view.analysis.model.params, token);
    let summary = summarize_row(&row, DIRECT_PATH_TOP);
    let top: Arc<Vec<(TokenId, f32)>> = Arc::new(
        summary
            .top_ids
            .into_iter()
            .zip(summary.top_logits)
            .collect(),
    );
    ui.data_mut(|d| d.insert_temp(id, (serial, token, Arc::clone(&top))));
    top
}

/// The selected head: copying score, strongest composition, singular values, full OV and
/// QK circuits over the prompt's tokens, and the direct path after the selected token.
fn selected_head_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    (weights, current): (&WeightCircuits, bool),
    width: f32,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let (layer, head) = (view.selection.layer, view.selection.head);
    let n_heads = view.config().n_heads;
    ui.label(RichText::new(CircuitText::HeadHeading.fill(language, &[&layer, &head])).strong());
    if let Some(copying) = weights.copying() {
        let score = copying[[layer, head]];
        ui.label(CircuitText::CopyingOfHead.fill(language, &[&format!("{score:.3}")]));
    }
    let kind = view.settings.composition;
    if let Some(scores) = weights.composition(kind)
        && layer > 0
    {
        let later = layer * n_heads + head;
        let strongest = (0..layer * n_heads)
            .map(|earlier| (earlier, scores.scores[[earlier, later]]))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((earlier, score)) = strongest {
            ui.label(CircuitText::StrongestFrom.fill(
                language,
                &[
                    &composition_name(kind, language),
                    &head_label(earlier, n_heads),
                    &format!("{score:.3}"),
                ],
            ));
        }
    }
    if !current {
        // The tables mix the heads with the embedding: both must be the snapshot's.
        waiting_ui(ui, language);
        return;
    }
    let tables = head_tables(ui, view, weights);
    ui.add_space(6.0);
    let bars_w = ((width - 40.0) / 2.0 - 90.0).clamp(40.0, 160.0);
    ui.horizontal_top(|ui| {
        for (values, title) in [
            (&tables.singular.0, CircuitText::OvSingularValues),
            (&tables.singular.1, CircuitText::QkSingularValues),
        ] {
            ui.vertical(|ui| {
                ui.label(title.text(language));
                let bars: Vec<Bar> = values
                    .iter()
                    .take(SINGULAR_VALUES_SHOWN)
                    .enumerate()
                    .map(|(i, &v)| Bar::new(format!("σ{}", i + 1), v as f32))
                    .collect();
                bar_list_ui(ui, title.text(language), &bars, None, bars_w, 16.0);
            });
        }
    });
    ui.add_space(6.0);
    let model = &view.analysis.model;
    let labels: Vec<String> = tables
        .tokens
        .iter()
        .map(|&t| format!("‘{}’", model.tokenizer.display_token(t)))
        .collect();
    let selected_token = view.analysis.tokens[view.selection.token];
    let selected_row = tables.tokens.iter().position(|&t| t == selected_token);
    if view.analysis.tokens.len() > tables.tokens.len()
        && distinct_tokens(&view.analysis.tokens).len() == MAX_TABLE_TOKENS
    {
        ui.weak(CircuitText::FirstDistinct.fill(language, &[&MAX_TABLE_TOKENS]));
    }
    let circuit = |is_ov: bool| FullCircuit {
        values: if is_ov { &tables.ov } else { &tables.qk },
        tokens: &tables.tokens,
        labels: &labels,
        selected_row,
        is_ov,
    };
    // Side by side when each gets cells of 14 points or more, else one under the other.
    let label_w = 60.0;
    let half = (width - 16.0) / 2.0;
    if (half - label_w) / tables.tokens.len().max(1) as f32 >= 14.0 {
        ui.horizontal_top(|ui| {
            for is_ov in [true, false] {
                ui.allocate_ui_with_layout(
                    vec2(half, 0.0),
                    egui::Layout::top_down(egui::Align::Min),
                    |ui| {
                        ui.set_width(half);
                        full_circuit_ui(ui, view, &circuit(is_ov), half, commands);
                    },
                );
            }
        });
    } else {
        for is_ov in [true, false] {
            full_circuit_ui(ui, view, &circuit(is_ov), width, commands);
        }
    }
    ui.add_space(6.0);
    let token_text = model.tokenizer.display_token(selected_token);
    ui.label(RichText::new(CircuitText::DirectPathHeading.fill(language, &[&token_text])).strong());
    let top = direct_path_top(ui, view, selected_token);
    let bars: Vec<Bar> = top
        .iter()
        .map(|&(t, logit)| Bar::new(format!("‘{}’", model.tokenizer.display_token(t)), logit))
        .collect();
    let name = CircuitText::DirectPathName.text(language);
    bar_list_ui(
        ui,
        name,
        &bars,
        None,
        (width - 260.0).clamp(60.0, 240.0),
        16.0,
    );
}

/// One full circuit over the prompt's distinct tokens, as the view draws it.
struct FullCircuit<'a> {
    /// Row-major. [tokens, tokens]
    values: &'a [f32],
    /// The distinct tokens. [tokens]
    tokens: &'a [TokenId],
    /// Their labels. [tokens]
    labels: &'a [String],
    /// The row of the selected token.
    selected_row: Option<usize>,
    /// OV (true) or QK.
    is_ov: bool,
}

/// Draws one full circuit as a token × token heatmap `width` points wide, its heading above;
/// a click on a row selects that token's first position.
fn full_circuit_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    circuit: &FullCircuit<'_>,
    width: f32,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let (layer, head) = (view.selection.layer, view.selection.head);
    let (heading, name, hover_text) = if circuit.is_ov {
        let h = CircuitText::FullOvHeading;
        (h, CircuitText::FullOvName, CircuitText::FullOvHover)
    } else {
        let h = CircuitText::FullQkHeading;
        (h, CircuitText::FullQkName, CircuitText::FullQkHover)
    };
    ui.label(RichText::new(heading.text(language)).strong());
    let (n, values, labels) = (circuit.tokens.len(), circuit.values, circuit.labels);
    let scale = ColourScale::diverging_for(values.iter().copied());
    let hover = |row: usize, col: usize| {
        let value = format!("{:+.3}", values[row * n + col]);
        hover_text.fill(language, &[&labels[row], &labels[col], &value])
    };
    let probe = Heatmap::new(String::new(), n, n, values, scale)
        .row_labels(labels)
        .col_labels(labels);
    let room = width - probe.label_room(ui).x - 12.0;
    let cell = (room / n as f32).clamp(6.0, 26.0);
    let heatmap = Heatmap::new(name.fill(language, &[&layer, &head]), n, n, values, scale)
        .cell_size(vec2(cell, cell))
        .row_labels(labels)
        .col_labels(labels)
        .hover_text(&hover)
        .highlight(circuit.selected_row, None, None);
    egui::ScrollArea::horizontal()
        .id_salt(("full circuit", circuit.is_ov))
        .show(ui, |ui| {
            let response = heatmap_ui(ui, &heatmap);
            let tokens = &view.analysis.tokens;
            if let Some((row, _)) = response.clicked
                && let Some(pos) = tokens.iter().position(|&t| t == circuit.tokens[row])
            {
                commands.push(Command::SelectToken(pos));
            }
        });
}

/// The numbers behind the view: every (earlier, later) pair's Q, K and V composition and
/// every head's copying score, as far as they are computed.
pub fn table(weights: &WeightCircuits) -> Table {
    let mut table = Table::new(&["earlier", "later", "q", "k", "v", "baseline"]);
    let n_heads = weights.heads.n_heads;
    let n = weights.heads.n_layers * n_heads;
    let score = |kind: CompositionKind, e: usize, l: usize| {
        weights
            .composition(kind)
            .map_or(Cell::Text(String::new()), |s| Cell::Num(s.scores[[e, l]]))
    };
    for earlier in 0..n {
        for later in (earlier / n_heads + 1) * n_heads..n {
            table.push(vec![
                Cell::Text(head_label(earlier, n_heads)),
                Cell::Text(head_label(later, n_heads)),
                score(CompositionKind::Q, earlier, later),
                score(CompositionKind::K, earlier, later),
                score(CompositionKind::V, earlier, later),
                Cell::Num(weights.baseline),
            ]);
        }
    }
    table
}
