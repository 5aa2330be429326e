//! The Features view: a sparse autoencoder at one hook of the model. Left: the SAE (train one
//! here with live curves, open or save a SAELens folder), the stream at the hook for the
//! selected token as reconstruction + error, and the features active there. Right: the
//! chosen feature's label, its edits (ablate, steer), the tokens its decoder direction
//! promotes and suppresses, its activation histogram and its top contexts.

use egui::{RichText, Ui, vec2};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::{ViewContext, heading_ui};
use crate::i18n::{FeatureText, Language, TrainText};
use crate::interp::vocab_rows::{RowSummary, summarize_row};
use crate::sae::contexts::HISTOGRAM_BINS;
use crate::sae::{FeatureEdit, HookKind};
use crate::state::features::{OpenSae, SaeCommand, SaeStatus};
use crate::state::{AppState, Command, FilePurpose, ViewKind};
use crate::widgets::{Bar, bar_list_ui, busy_spinner_ui, set_accessible_name};

/// Active features listed for the selected token.
const ACTIVE_SHOWN: usize = 12;

/// Tokens listed as promoted and as suppressed by a feature.
const EFFECT_SHOWN: usize = 8;

/// Steering strengths offered, in units of the decoder direction.
const STEER: [f32; 4] = [-8.0, -4.0, 4.0, 8.0];

/// Draws the Features view.
pub fn features_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    state: &AppState,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let features = &state.features;
    let subtitle = features
        .open
        .as_ref()
        .map(|open| {
            FeatureText::Subtitle.fill(
                language,
                &[
                    &open.hook.name(),
                    &open.sae.config.d_sae,
                    &open.sae.config.architecture.name(),
                ],
            )
        })
        .unwrap_or_default();
    heading_ui(ui, language, ViewKind::Features, &subtitle);
    // An SAE opened for another model (the model changed since): its features cannot be read
    // off this one's stream.
    let misfit = features.open.as_ref().and_then(|open| {
        crate::sae::check_fit(&open.sae.config, view.config())
            .err()
            .map(|e| e.to_string())
            .or_else(|| open.hook.check(view.config()).err().map(|e| e.to_string()))
    });
    if let Some(message) = &misfit {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            FeatureText::DoesNotFit.fill(language, &[message]),
        );
    }
    let open = features.open.as_ref().filter(|_| misfit.is_none());
    let width = ui.available_width();
    let left_w = (width * 0.5).floor();
    // Between the columns: a separator and the spacing on either side of it.
    let right_w = width - left_w - 3.0 * ui.spacing().item_spacing.x - 6.0;
    let height = ui.available_height();
    let column = egui::Layout::top_down(egui::Align::Min);
    ui.horizontal_top(|ui| {
        ui.allocate_ui_with_layout(vec2(left_w, height), column, |ui| {
            ui.set_min_width(left_w);
            egui::ScrollArea::vertical()
                .id_salt("features left")
                .show(ui, |ui| {
                    training_ui(ui, view, state, commands);
                    if let Some(open) = open {
                        ui.separator();
                        token_ui(ui, view, open, features.selected, commands);
                    }
                });
        });
        ui.separator();
        ui.allocate_ui_with_layout(vec2(right_w, height), column, |ui| {
            ui.set_min_width(right_w);
            egui::ScrollArea::vertical()
                .id_salt("features right")
                .show(ui, |ui| {
                    // A lesson may select a feature before its SAE has opened (or while
                    // another, smaller SAE is open): only a feature this SAE has.
                    let selected = features.selected.filter(|&feature| {
                        open.is_some_and(|open| feature < open.sae.config.d_sae)
                    });
                    if let (Some(open), Some(feature)) = (open, selected) {
                        feature_ui(ui, view, state, open, feature, commands);
                    } else if open.is_some() {
                        ui.weak(FeatureText::PickFeature.text(language));
                    } else if features.open.is_none() {
                        ui.weak(FeatureText::NoSae.text(language));
                    }
                });
        });
    });
}

/// The training form, the run's controls and curves, and open/save.
fn training_ui(ui: &mut Ui, view: &ViewContext<'_>, state: &AppState, commands: &mut Vec<Command>) {
    let language = view.language;
    let features = &state.features;
    let config = view.config();
    let mut form = features.form.clone();
    let running = features.running();
    let text = |key: FeatureText| key.text(language);
    ui.label(RichText::new(text(FeatureText::TrainHeading)).strong());
    ui.add_enabled_ui(!running, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(text(FeatureText::Hook));
            let layer = egui::ComboBox::from_id_salt("sae hook layer")
                .selected_text(format!("blocks.{}", form.layer))
                .show_ui(ui, |ui| {
                    for layer in 0..config.n_layers {
                        ui.selectable_value(&mut form.layer, layer, format!("blocks.{layer}"));
                    }
                });
            set_accessible_name(&layer.response, text(FeatureText::HookBlock));
            let kind = egui::ComboBox::from_id_salt("sae hook kind")
                .selected_text(hook_suffix(form.kind))
                .show_ui(ui, |ui| {
                    for (kind, suffix) in HookKind::ALL {
                        ui.selectable_value(&mut form.kind, kind, suffix);
                    }
                });
            set_accessible_name(&kind.response, text(FeatureText::HookActivation));
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(text(FeatureText::Features));
            let features = ui.add(egui::DragValue::new(&mut form.features).range(16..=65_536));
            set_accessible_name(&features, text(FeatureText::Features));
            let mut relu = form.l1.is_some();
            let topk = ui.selectable_label(!relu, "TopK");
            let standard = ui.selectable_label(relu, text(FeatureText::ReluL1));
            if topk.clicked() {
                relu = false;
            }
            if standard.clicked() {
                relu = true;
            }
            form.l1 = match (relu, form.l1) {
                (false, _) => None,
                (true, Some(c)) => Some(c),
                (true, None) => Some(5.0),
            };
            match &mut form.l1 {
                None => {
                    ui.label("k");
                    let k = ui.add(egui::DragValue::new(&mut form.k).range(1..=256));
                    set_accessible_name(&k, "k");
                }
                Some(c) => {
                    let l1 = ui.add(egui::DragValue::new(c).range(0.0..=100.0).speed(0.1));
                    set_accessible_name(&l1, text(FeatureText::ReluL1));
                }
            }
            ui.label(text(FeatureText::Tokens));
            let tokens = egui::DragValue::new(&mut form.tokens)
                .range(4_096..=100_000_000)
                .speed(10_000);
            set_accessible_name(&ui.add(tokens), text(FeatureText::Tokens));
        });
    });
    form.k = form.k.min(form.features);
    if form != features.form {
        commands.push(Command::Sae(SaeCommand::SetForm(form)));
    }
    let status = features.status();
    ui.horizontal_wrapped(|ui| {
        let send = |commands: &mut Vec<Command>, c| commands.push(Command::Sae(c));
        if !running && ui.button(text(FeatureText::Train)).clicked() {
            send(commands, SaeCommand::Start);
        }
        if status == SaeStatus::Running && ui.button(TrainText::Pause.text(language)).clicked() {
            send(commands, SaeCommand::Pause(true));
        }
        if status == SaeStatus::Paused && ui.button(TrainText::Resume.text(language)).clicked() {
            send(commands, SaeCommand::Pause(false));
        }
        if running && ui.button(TrainText::Stop.text(language)).clicked() {
            send(commands, SaeCommand::Stop);
        }
        if ui.button(text(FeatureText::OpenSae)).clicked() {
            commands.push(Command::ChooseFile(FilePurpose::OpenSae));
        }
        if features.open.is_some() && !running && ui.button(text(FeatureText::SaveSae)).clicked() {
            commands.push(Command::ChooseFile(FilePurpose::SaveSae));
        }
    });
    match &status {
        SaeStatus::Preparing => {
            ui.horizontal(|ui| {
                busy_spinner_ui(ui);
                ui.label(text(FeatureText::Preparing));
            });
        }
        SaeStatus::Failed(message) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        _ => {}
    }
    if let Some(last) = features.history.last() {
        ui.label(FeatureText::LastStep.fill(
            language,
            &[
                &last.step,
                &last.tokens,
                &format!("{:.4}", last.mse),
                &format!("{:.3}", last.explained_variance),
                &format!("{:.1}", last.l0),
                &format!("{:.1}", 100.0 * last.dead_fraction),
            ],
        ));
        curves_ui(ui, view, state);
    }
    if let Some(spliced) = &features.spliced {
        ui.label(FeatureText::Spliced.fill(
            language,
            &[
                &format!("{:.3}", spliced.clean_loss),
                &format!("{:.3}", spliced.spliced_loss),
            ],
        ));
    }
}

/// `hook_resid_post`, … of a kind.
fn hook_suffix(kind: HookKind) -> &'static str {
    HookKind::ALL
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, suffix)| suffix)
}

/// Explained variance, L0 (over k) and the dead fraction over the run's steps.
fn curves_ui(ui: &mut Ui, view: &ViewContext<'_>, state: &AppState) {
    let language = view.language;
    let history = &state.features.history;
    let k = state.features.form.k.max(1) as f64;
    let relu = state.features.form.l1.is_some();
    let points = |f: &dyn Fn(&crate::sae::StepMetrics) -> f64| -> Vec<[f64; 2]> {
        history.iter().map(|m| [m.step as f64, f(m)]).collect()
    };
    let loss_increase: Vec<[f64; 2]> = state
        .features
        .spliced_history
        .iter()
        .map(|(step, loss)| [*step as f64, loss.spliced_loss - loss.clean_loss])
        .collect();
    let curves = [
        (
            FeatureText::ExplainedVariance,
            points(&|m| m.explained_variance.max(-0.2)),
        ),
        (FeatureText::L0OverK, points(&|m| m.l0 / k)),
        (FeatureText::Dead, points(&|m| m.dead_fraction)),
        (FeatureText::LossIncrease, loss_increase),
    ];
    // The legend sits in the top third, above the curves (all between 0 and 1).
    Plot::new("sae curves")
        .height(150.0)
        .legend(Legend::default())
        .x_axis_label(TrainText::StepAxis.text(language))
        .include_y(0.0)
        .include_y(1.6)
        .allow_scroll(false)
        .show(ui, |plot| {
            for (name, line) in curves {
                // A ReLU SAE has no k: its L0 is in the line above the plot.
                if name == FeatureText::L0OverK && relu {
                    continue;
                }
                plot.line(Line::new(name.text(language), PlotPoints::from(line)));
            }
        });
}

/// The stream at the hook for the selected token, split into reconstruction and error, and
/// the features active there.
fn token_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    open: &OpenSae,
    selected: Option<usize>,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let pos = view.selection.token;
    let Some(activation) = open.hook.read(&view.analysis.trace) else {
        return;
    };
    let row = activation.slice(ndarray::s![pos..pos + 1, ..]);
    let (codes, recon) = open.sae.encode_decode(row);
    let norm = |v: ndarray::ArrayView1<'_, f32>| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let error = &row.row(0) - &recon.row(0);
    ui.label(
        RichText::new(FeatureText::AtToken.fill(
            language,
            &[&pos, &view.analysis.token_text(pos), &open.hook.name()],
        ))
        .strong(),
    );
    ui.label(FeatureText::Decomposition.fill(
        language,
        &[
            &format!("{:.3}", norm(row.row(0))),
            &format!("{:.3}", norm(recon.row(0))),
            &format!("{:.3}", norm(error.view())),
        ],
    ));
    let mut active: Vec<(usize, f32)> = codes
        .row(0)
        .iter()
        .enumerate()
        .filter(|&(_, &a)| a > 0.0)
        .map(|(j, &a)| (j, a))
        .collect();
    active.sort_by(|a, b| b.1.total_cmp(&a.1));
    ui.label(FeatureText::Active.fill(language, &[&active.len()]));
    let shown: Vec<(usize, f32)> = active.into_iter().take(ACTIVE_SHOWN).collect();
    let bars: Vec<Bar> = shown
        .iter()
        .map(|&(j, a)| Bar::new(feature_name(open, j), a))
        .collect();
    let highlight = selected.and_then(|s| shown.iter().position(|&(j, _)| j == s));
    let name = FeatureText::ActiveName.text(language);
    if let Some(row) = bar_list_ui(ui, name, &bars, highlight, 160.0, 18.0) {
        commands.push(Command::Sae(SaeCommand::Select(Some(shown[row].0))));
    }
}

/// `F12` or `F12 "its label"`.
fn feature_name(open: &OpenSae, feature: usize) -> String {
    match open.labels.get(&feature) {
        Some(label) => format!("F{feature} “{label}”"),
        None => format!("F{feature}"),
    }
}

/// One feature: label, edits, logit effect, histogram, contexts.
fn feature_ui(
    ui: &mut Ui,
    view: &ViewContext<'_>,
    state: &AppState,
    open: &OpenSae,
    feature: usize,
    commands: &mut Vec<Command>,
) {
    let language = view.language;
    let text = |key: FeatureText| key.text(language);
    ui.label(
        RichText::new(feature_name(open, feature))
            .strong()
            .size(16.0),
    );
    // The label, typed in place and saved with the SAE.
    let id = egui::Id::unique("feature label draft");
    let mut draft = ui
        .data(|d| d.get_temp::<(usize, String)>(id))
        .filter(|(f, _)| *f == feature)
        .map(|(_, t)| t)
        .unwrap_or_else(|| open.labels.get(&feature).cloned().unwrap_or_default());
    ui.horizontal(|ui| {
        ui.label(text(FeatureText::Label));
        // Room left for the Set button beside it.
        let field_w = (ui.available_width() - 80.0).max(60.0);
        let response = ui.add(egui::TextEdit::singleline(&mut draft).desired_width(field_w));
        set_accessible_name(&response, text(FeatureText::Label));
        if response.lost_focus() || ui.button(text(FeatureText::SetLabel)).clicked() {
            commands.push(Command::Sae(SaeCommand::Label(feature, draft.clone())));
        }
    });
    ui.data_mut(|d| d.insert_temp(id, (feature, draft)));
    ui.horizontal_wrapped(|ui| {
        let edit =
            |commands: &mut Vec<Command>, e| commands.push(Command::Sae(SaeCommand::Edit(e)));
        if ui.button(text(FeatureText::Ablate)).clicked() {
            edit(commands, FeatureEdit::Ablate { feature });
        }
        ui.label(text(FeatureText::Steer));
        for alpha in STEER {
            if ui.button(format!("{alpha:+}")).clicked() {
                edit(commands, FeatureEdit::Steer { feature, alpha });
            }
        }
        if ui.button(text(FeatureText::Reconstruct)).clicked() {
            edit(commands, FeatureEdit::Reconstruct);
        }
    });
    ui.add_space(6.0);
    logit_effect_ui(ui, view, open, feature);
    ui.add_space(6.0);
    match state.features.contexts_of_open() {
        // A run hands over a new snapshot twice a second: its contexts wait for its end.
        None if state.features.running() => {
            ui.weak(text(FeatureText::ContextsAfterRun));
        }
        None => {
            commands.push(Command::Sae(SaeCommand::Contexts));
            ui.horizontal(|ui| {
                busy_spinner_ui(ui);
                ui.label(text(FeatureText::ReadingCorpus));
            });
        }
        Some(Err(message)) => {
            ui.colored_label(ui.visuals().error_fg_color, message);
        }
        Some(Ok(contexts)) => {
            let fired = contexts.firing[feature];
            ui.label(FeatureText::Fired.fill(
                language,
                &[
                    &fired,
                    &contexts.tokens_read,
                    &format!(
                        "{:.2}",
                        100.0 * fired as f64 / contexts.tokens_read.max(1) as f64
                    ),
                ],
            ));
            histogram_ui(ui, &contexts.histogram[feature], language);
            ui.label(RichText::new(text(FeatureText::TopContexts)).strong());
            let tokenizer = &view.analysis.model.tokenizer;
            for context in &contexts.top[feature] {
                ui.horizontal_wrapped(|ui| {
                    ui.spacing_mut().item_spacing.x = 0.0;
                    ui.monospace(format!("{:>6.2}  ", context.activation));
                    for (i, &token) in context.tokens.iter().enumerate() {
                        let piece = tokenizer.display_token(token);
                        if i == context.marked {
                            let strong = RichText::new(piece)
                                .monospace()
                                .background_color(ui.visuals().selection.bg_fill)
                                .strong();
                            ui.label(strong);
                        } else {
                            ui.label(RichText::new(piece).monospace().weak());
                        }
                    }
                });
            }
        }
    }
}

/// The tokens the feature's decoder direction pushes up and down through the final norm and
/// the unembedding (its direct effect on the logits, the stream's scale left out).
fn logit_effect_ui(ui: &mut Ui, view: &ViewContext<'_>, open: &OpenSae, feature: usize) {
    let language = view.language;
    let (up, down) = &*logit_effect(ui, view, open, feature);
    let tokenizer = &view.analysis.model.tokenizer;
    // Two lists side by side, each with its token labels (~50 points) and values (~60).
    let bars_w = ((ui.available_width() - 2.0 * 130.0) / 2.0).clamp(30.0, 90.0);
    ui.horizontal_top(|ui| {
        for (title, ids, values, sign) in [
            (FeatureText::Promotes, &up.top_ids, &up.top_logits, 1.0),
            (
                FeatureText::Suppresses,
                &down.top_ids,
                &down.top_logits,
                -1.0,
            ),
        ] {
            ui.vertical(|ui| {
                ui.label(title.text(language));
                let bars: Vec<Bar> = ids
                    .iter()
                    .zip(values.iter())
                    .map(|(&t, &v)| Bar::new(format!("‘{}’", tokenizer.display_token(t)), sign * v))
                    .collect();
                bar_list_ui(ui, title.text(language), &bars, None, bars_w, 16.0);
            });
        }
    });
}

/// The tokens a feature's direction pushes up and down: a product over the whole
/// vocabulary, made once per SAE, feature and analysis and kept in egui's memory.
fn logit_effect(
    ui: &Ui,
    view: &ViewContext<'_>,
    open: &OpenSae,
    feature: usize,
) -> std::sync::Arc<(RowSummary, RowSummary)> {
    type Key = (usize, usize, u64);
    type Cached = (Key, std::sync::Arc<(RowSummary, RowSummary)>);
    let id = egui::Id::unique("feature logit effect");
    let key: Key = (
        std::sync::Arc::as_ptr(&open.sae) as usize,
        feature,
        view.analysis.serial(),
    );
    if let Some((k, effect)) = ui.data(|d| d.get_temp::<Cached>(id))
        && k == key
    {
        return effect;
    }
    let params = &view.analysis.model.params;
    let direction = open.sae.w_dec.row(feature);
    let logits = crate::interp::circuits::tokens::direction_logits(params, direction);
    let up = summarize_row(&logits, EFFECT_SHOWN);
    let negated: Vec<f32> = logits.iter().map(|x| -x).collect();
    let down = summarize_row(&negated, EFFECT_SHOWN);
    let effect = std::sync::Arc::new((up, down));
    ui.data_mut(|d| d.insert_temp(id, (key, std::sync::Arc::clone(&effect))));
    effect
}

/// The activation histogram as a row of bars.
fn histogram_ui(ui: &mut Ui, bins: &[usize], language: Language) {
    let max = bins.iter().copied().max().unwrap_or(0).max(1) as f32;
    let (rect, response) = ui.allocate_exact_size(
        vec2(HISTOGRAM_BINS as f32 * 10.0, 40.0),
        egui::Sense::hover(),
    );
    let painter = ui.painter();
    let colour = ui.visuals().selection.bg_fill;
    for (i, &count) in bins.iter().enumerate() {
        let h = rect.height() * count as f32 / max;
        let bar = egui::Rect::from_min_max(
            egui::pos2(rect.left() + i as f32 * 10.0, rect.bottom() - h),
            egui::pos2(rect.left() + i as f32 * 10.0 + 9.0, rect.bottom()),
        );
        painter.rect_filled(bar, 0.0, colour);
    }
    response.on_hover_text(FeatureText::HistogramHover.text(language));
}

/// The numbers behind the view: one row per feature of the open SAE with its label, its
/// decoder norm and, once the corpus pass is done, how often it fired and its strongest
/// activation.
pub fn table(
    open: &OpenSae,
    contexts: Option<&std::sync::Arc<crate::sae::contexts::FeatureContexts>>,
) -> crate::state::Table {
    use crate::state::export::Cell;
    let mut table = crate::state::Table::new(&[
        "feature",
        "label",
        "decoder_norm",
        "fired",
        "max_activation",
    ]);
    let norms = open.sae.decoder_norms();
    for feature in 0..open.sae.config.d_sae {
        let label = open.labels.get(&feature).cloned().unwrap_or_default();
        let (fired, strongest) = match contexts {
            Some(c) => (
                Cell::Int(c.firing[feature] as u64),
                c.top[feature]
                    .first()
                    .map_or(Cell::Text(String::new()), |t| Cell::from(t.activation)),
            ),
            None => (Cell::Text(String::new()), Cell::Text(String::new())),
        };
        table.push(vec![
            Cell::Int(feature as u64),
            Cell::Text(label),
            Cell::from(norms[feature]),
            fired,
            strongest,
        ]);
    }
    table
}
