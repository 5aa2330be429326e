//! `residual-explorer circuits --model PATH [--json]`: what the weights say about how the heads
//! compose (`interp::circuits`): per head its OV copying score beside the previous-token and
//! induction scores the explorer measures on repeated random tokens, and the Q-, K- and
//! V-composition scores between every earlier and later head with the random baseline.
//!
//! JSON: `{"folding", "heads": [{layer, head, copying_score, prev_token_score,
//! induction_score}], "composition": {"q"|"k"|"v": [[…]]}, "baseline"}`; composition rows and
//! columns are heads indexed `layer · n_heads + head` (earlier, later).

use clap::Args;
use serde_json::json;

use super::trace::{encode_text, parse_token_list};
use super::{CliError, ModelArg};
use crate::interp::circuits::tokens::{direct_path, full_ov, full_qk, head_singular_values};
use crate::interp::circuits::{
    CompositionKind, CompositionScores, FoldedHeads, Folding, WeightCircuits,
};
use crate::interp::head_scores::{HeadScores, ScoreProbe};
use crate::model::TokenId;
use crate::model::hooks::NoIntervention;
use crate::model::io::{LoadedModel, load_any};

/// `circuits` options.
#[derive(Debug, Args)]
pub struct CircuitsArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// Also one head's circuits, as `LAYER.HEAD` (e.g. `1.0`): its singular values, and its
    /// full OV and QK circuits and the direct path over the tokens of `--text` or `--tokens`
    /// (without either, over the whole vocabulary when it has at most 512 tokens).
    #[arg(long, value_parser = parse_head)]
    pub head: Option<(usize, usize)>,
    /// With `--head`: a text, encoded with the model's tokenizer.
    #[arg(
        long,
        allow_hyphen_values = true,
        requires = "head",
        conflicts_with = "tokens"
    )]
    pub text: Option<String>,
    /// With `--head`: token ids, comma-separated.
    #[arg(long, allow_hyphen_values = true, requires = "head")]
    pub tokens: Option<String>,
    /// The built-in task the model was trained on (`induction`, `copy`, …): its previous-
    /// token and induction scores are then measured on sequences of that task's kind (its
    /// BOS and numbers), as the Training view measures them, not on the whole vocabulary.
    #[arg(long)]
    pub task: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Parses `LAYER.HEAD`.
fn parse_head(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('.')
        .and_then(|(l, h)| Some((l.trim().parse().ok()?, h.trim().parse().ok()?)));
    parsed.ok_or_else(|| format!("{text:?} is not LAYER.HEAD, such as 1.0"))
}

/// The chosen head's circuits over the chosen tokens, as JSON.
fn selected_head(
    model: &LoadedModel,
    heads: &FoldedHeads,
    args: &CircuitsArgs,
    (layer, head): (usize, usize),
) -> Result<serde_json::Value, CliError> {
    let config = &model.params.config;
    if layer >= config.n_layers || head >= config.n_heads {
        return Err(CliError::usage(format!(
            "--head {layer}.{head}: this model has {} layers of {} heads",
            config.n_layers, config.n_heads
        )));
    }
    let tokens = match (&args.text, &args.tokens) {
        (Some(text), _) => encode_text(model, text)?,
        (None, Some(list)) => parse_token_list(list)?,
        // A small vocabulary gets its whole tables (the paper's d_vocab × d_vocab pictures).
        (None, None) if config.d_vocab <= WHOLE_TABLE_VOCAB => {
            (0..config.d_vocab as TokenId).collect()
        }
        (None, None) => Vec::new(),
    };
    if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= config.d_vocab) {
        return Err(CliError::input(format!(
            "token id {bad} is outside the vocabulary (0..{})",
            config.d_vocab
        )));
    }
    let params = &model.params;
    let (ov_values, qk_values) = head_singular_values(heads, (layer, head));
    let rows = |m: ndarray::Array2<f64>| -> Vec<Vec<f64>> {
        m.rows().into_iter().map(|r| r.to_vec()).collect()
    };
    Ok(json!({
        "layer": layer,
        "head": head,
        "ov_singular_values": ov_values.to_vec(),
        "qk_singular_values": qk_values.to_vec(),
        "tokens": tokens,
        "token_texts": tokens.iter().map(|&t| model.tokenizer.display_token(t)).collect::<Vec<_>>(),
        "full_ov": rows(full_ov(params, heads, (layer, head), &tokens)),
        "full_qk": rows(full_qk(params, heads, (layer, head), &tokens)),
        "direct_path": rows(direct_path(params, &tokens, &tokens)),
    }))
}

/// Up to this vocabulary `--head` without `--text`/`--tokens` gives the whole tables.
const WHOLE_TABLE_VOCAB: usize = 512;

/// Runs `circuits`.
pub fn run(args: &CircuitsArgs) -> Result<(), CliError> {
    let model = load_any(&args.model.model).map_err(CliError::input)?;
    let params = &model.params;
    let config = &params.config;
    let circuits = WeightCircuits::compute(params);
    let heads = &circuits.heads;
    let copying = circuits.copying().expect("compute computes every part");
    let probe = match &args.task {
        Some(task) => {
            let tasks = crate::train::tasks::TASKS;
            if !tasks.iter().any(|(name, _)| name == task) {
                let names: Vec<&str> = tasks.iter().map(|(name, _)| *name).collect();
                return Err(CliError::usage(format!(
                    "unknown task {task:?}; the tasks are {}",
                    names.join(", ")
                )));
            }
            ScoreProbe::for_data(config.d_vocab, config.n_ctx, Some(task))
        }
        None => ScoreProbe::for_model(params),
    }
    .map_err(CliError::input)?;
    let mut scores =
        HeadScores::measure(params, &probe, &NoIntervention).map_err(CliError::input)?;
    let composition: Vec<&CompositionScores> = CompositionKind::ALL
        .iter()
        .filter_map(|&kind| circuits.composition(kind))
        .collect();
    let k = circuits
        .composition(CompositionKind::K)
        .expect("compute computes every part");
    scores.set_weight_scores(copying, k);
    let baseline = circuits.baseline;
    let selected = match args.head {
        Some(chosen) => Some(selected_head(&model, heads, args, chosen)?),
        None => None,
    };
    let folding = match heads.folding {
        Folding::ScaledAndCentred => "ln1 and ln_final folded in: scaled and centred (LayerNorm)",
        Folding::Scaled => "ln1 and ln_final folded in: scaled (RMSNorm)",
        Folding::None => "no norm before attention (post-norm); ln_final folded into W_U",
    };
    if args.json {
        let heads_json: Vec<_> = copying
            .indexed_iter()
            .map(|((layer, head), &copying_score)| {
                json!({
                    "layer": layer,
                    "head": head,
                    "copying_score": copying_score,
                    "prev_token_score": scores.previous_token[[layer, head]],
                    "induction_score": scores.induction[[layer, head]],
                })
            })
            .collect();
        let mut by_kind = serde_json::Map::new();
        for scores in &composition {
            let rows: Vec<Vec<f64>> = scores
                .scores
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect();
            by_kind.insert(scores.kind.key().to_string(), json!(rows));
        }
        let out = json!({
            "model": model.name,
            "folding": folding,
            "heads": heads_json,
            "composition": by_kind,
            "baseline": baseline,
            "selected": selected,
        });
        println!("{out}");
        return Ok(());
    }
    println!("{} ({folding})", model.name);
    println!("head    copying  prev-token  induction");
    for ((layer, head), &copying_score) in copying.indexed_iter() {
        println!(
            "L{layer}H{head:<4} {copying_score:>8.3}  {:>10.3}  {:>9.3}",
            scores.previous_token[[layer, head]],
            scores.induction[[layer, head]]
        );
    }
    println!("composition (random heads of these shapes score {baseline:.3} on average):");
    for scores in &composition {
        let n_heads = config.n_heads;
        let mut pairs: Vec<(usize, usize, f64)> = scores
            .scores
            .indexed_iter()
            .filter(|(_, s)| **s > 0.0)
            .map(|((e, l), &s)| (e, l, s))
            .collect();
        pairs.sort_by(|a, b| b.2.total_cmp(&a.2));
        let strongest: Vec<String> = pairs
            .iter()
            .take(5)
            .map(|&(e, l, s)| {
                format!(
                    "L{}H{}→L{}H{} {s:.3}",
                    e / n_heads,
                    e % n_heads,
                    l / n_heads,
                    l % n_heads
                )
            })
            .collect();
        println!(
            "  {}: {}",
            scores.kind.key().to_uppercase(),
            strongest.join(", ")
        );
    }
    if let Some(selected) = selected {
        println!("L{}H{}:", selected["layer"], selected["head"]);
        for key in [
            "ov_singular_values",
            "qk_singular_values",
            "token_texts",
            "full_ov",
            "full_qk",
            "direct_path",
        ] {
            println!("  {key}: {}", selected[key]);
        }
    }
    Ok(())
}
