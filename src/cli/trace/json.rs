//! The JSON object `trace --json` prints, a contract that scripts read:
//!
//! - `tokens`: [pos] ids; `token_texts`: [pos] the tokenizer's text of each token (the id as
//!   text when the model has no tokenizer);
//! - `logits`: [pos][d_vocab];
//! - `loss`: mean next-token cross-entropy over positions 0..T-2 with targets tokens[1..]
//!   (`null` for a single token);
//! - `hooks`: hook name → nested arrays, in forward order: `hook_embed`, `hook_pos_embed`
//!   [pos][d_model]; for every layer l `blocks.{l}.hook_resid_pre`,
//!   `blocks.{l}.attn.hook_pattern` [head][query_pos][key_pos], `blocks.{l}.hook_attn_out`,
//!   `blocks.{l}.hook_resid_mid`, `blocks.{l}.hook_mlp_out`, `blocks.{l}.hook_resid_post`
//!   [pos][d_model]; `ln_final.hook_normalized` [pos][d_model] (LayerNorm output after its
//!   scale and shift, as TransformerLens). Hooks a model does not have are omitted: no
//!   `hook_pos_embed` without learned positions (rotary models), no `hook_resid_mid` in a
//!   parallel block (GPT-NeoX), no `hook_mlp_out` in attention-only blocks, no
//!   `ln_final.hook_normalized` without a final LayerNorm. Post-LN models also get the sums each LayerNorm normalises,
//!   `blocks.{l}.hook_resid_mid_pre_norm` and `blocks.{l}.hook_resid_post_pre_norm`;
//! - `logit_lens`: residual hook name (every `blocks.{l}.hook_resid_pre`, every
//!   `blocks.{l}.hook_resid_mid`, and `blocks.{L-1}.hook_resid_post`) → [pos][k] of
//!   `{"token": id, "text": str, "prob": p}`, most probable first; the final LayerNorm is
//!   applied with each stream's own statistics (k = `--top-k`, at most d_vocab);
//! - `analysis` (only with `--analysis`): see [`super::analysis`].
//!
//! Floats are the f32 values written as the shortest decimal that parses back to the same
//! f32; a non-finite value would print as `null`.

use std::io::Write;

use ndarray::{ArrayViewD, Axis};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::analysis::AnalysisJson;
use crate::interp::{LensOptions, LogitLens, Stage, resid_hooks};
use crate::model::io::LoadedModel;
use crate::model::{ModelConfig, NormPlacement, TokenId, Trace};

/// An n-dimensional f32 array as nested JSON lists.
struct Nested<'a>(ArrayViewD<'a, f32>);

impl Serialize for Nested<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.ndim() {
            0 => serializer.serialize_f32(self.0.iter().copied().next().unwrap_or(f32::NAN)),
            1 => serializer.collect_seq(self.0.iter()),
            _ => {
                let mut seq = serializer.serialize_seq(Some(self.0.len_of(Axis(0))))?;
                for inner in self.0.outer_iter() {
                    seq.serialize_element(&Nested(inner))?;
                }
                seq.end()
            }
        }
    }
}

/// Named arrays, serialized as one JSON object in list order.
pub(super) struct Hooks<'a>(pub(super) Vec<(String, ArrayViewD<'a, f32>)>);

impl Serialize for Hooks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, array) in &self.0 {
            map.serialize_entry(name, &Nested(array.view()))?;
        }
        map.end()
    }
}

/// One prediction of the lens.
#[derive(Serialize)]
struct Prediction {
    token: TokenId,
    text: String,
    prob: f32,
}

/// The lens: hook name → [pos][k], in forward order.
struct Lens(Vec<(String, Vec<Vec<Prediction>>)>);

impl Serialize for Lens {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, rows) in &self.0 {
            map.serialize_entry(name, rows)?;
        }
        map.end()
    }
}

/// The whole object, fields in contract order.
#[derive(Serialize)]
struct TraceJson<'a> {
    tokens: &'a [TokenId],
    token_texts: Vec<String>,
    logits: Nested<'a>,
    loss: Option<f32>,
    hooks: Hooks<'a>,
    logit_lens: Lens,
    #[serde(skip_serializing_if = "Option::is_none")]
    analysis: Option<AnalysisJson<'a>>,
}

/// Every hook the contract names that this model has, in forward order.
fn hooks<'t>(trace: &'t Trace<f32>, config: &ModelConfig) -> Hooks<'t> {
    let parallel = config.norm == NormPlacement::Parallel;
    let mut list: Vec<(String, ArrayViewD<'_, f32>)> =
        vec![("hook_embed".into(), trace.embed.view().into_dyn())];
    if let Some(pos_embed) = &trace.pos_embed {
        list.push(("hook_pos_embed".into(), pos_embed.view().into_dyn()));
    }
    for (layer, lt) in trace.layers.iter().enumerate() {
        let name = |suffix: &str| format!("blocks.{layer}.{suffix}");
        list.push((name("hook_resid_pre"), lt.resid_pre.view().into_dyn()));
        // [batch, head, query_pos, key_pos] → the first (only) sequence's [head, q, k].
        let pattern = lt.pattern.index_axis(Axis(0), 0).into_dyn();
        list.push((name("attn.hook_pattern"), pattern));
        list.push((name("hook_attn_out"), lt.attn_out.view().into_dyn()));
        if let Some(sum) = &lt.resid_mid_pre_norm {
            list.push((name("hook_resid_mid_pre_norm"), sum.view().into_dyn()));
        }
        if !parallel || lt.mlp.is_none() {
            list.push((name("hook_resid_mid"), lt.resid_mid.view().into_dyn()));
        }
        if let Some(mlp) = &lt.mlp {
            list.push((name("hook_mlp_out"), mlp.out.view().into_dyn()));
        }
        if let Some(sum) = &lt.resid_post_pre_norm {
            list.push((name("hook_resid_post_pre_norm"), sum.view().into_dyn()));
        }
        list.push((name("hook_resid_post"), lt.resid_post.view().into_dyn()));
    }
    if let Some(ln) = &trace.ln_final {
        list.push(("ln_final.hook_normalized".into(), ln.out.view().into_dyn()));
    }
    Hooks(list)
}

/// The lens at the contract's residual hooks.
fn lens(model: &LoadedModel, trace: &Trace<f32>, top_k: usize) -> Lens {
    let config = &model.params.config;
    let last = config.n_layers - 1;
    let wanted: Vec<(String, Stage)> = resid_hooks(config)
        .into_iter()
        .filter(|(name, _)| {
            name.ends_with(".hook_resid_pre")
                || name.ends_with(".hook_resid_mid")
                || *name == format!("blocks.{last}.hook_resid_post")
        })
        .collect();
    let mut stages: Vec<Stage> = Vec::new();
    for (_, stage) in &wanted {
        if !stages.contains(stage) {
            stages.push(*stage);
        }
    }
    let options = LensOptions {
        top_k,
        ..LensOptions::default()
    };
    let lens = LogitLens::compute(&model.params, trace, &stages, options);
    let entries = wanted
        .into_iter()
        .map(|(name, stage)| {
            let stage_index = lens.stage_index(stage).expect("computed above");
            let rows = (0..lens.n_rows())
                .map(|row| {
                    lens.top(stage_index, row)
                        .map(|(token, prob)| Prediction {
                            token,
                            text: model.tokenizer.decode_token(token),
                            prob,
                        })
                        .collect()
                })
                .collect();
            (name, rows)
        })
        .collect();
    Lens(entries)
}

/// Writes the `trace --json` object for `trace` (one sequence) and a newline; `analysis`
/// (`trace --analysis`) is added as a last key.
pub fn write_trace_json<'a>(
    out: &mut impl Write,
    model: &LoadedModel,
    trace: &'a Trace<f32>,
    top_k: usize,
    analysis: Option<AnalysisJson<'a>>,
) -> std::io::Result<()> {
    let object = TraceJson {
        tokens: &trace.tokens,
        token_texts: trace
            .tokens
            .iter()
            .map(|&id| model.tokenizer.decode_token(id))
            .collect(),
        logits: Nested(trace.logits.view().into_dyn()),
        loss: trace.loss(),
        hooks: hooks(trace, &model.params.config),
        logit_lens: lens(model, trace, top_k),
        analysis,
    };
    serde_json::to_writer(&mut *out, &object)?;
    writeln!(out)
}
