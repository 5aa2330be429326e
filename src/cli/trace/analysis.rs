//! The `analysis` object `trace --analysis` adds to the `trace --json` object: what the
//! Contributions view shows, for one position and one target token, computed by the same
//! interp functions ([`decompose`], [`TermContributions::at`], [`direct_logit_attribution`]).
//!
//! - `pos`: the position (`--pos`, default the last);
//! - `target`: `{"token": id, "text": str, "chosen": "top" | "given"}` (`--target`, default
//!   `top`: the model's most probable next token at `pos`);
//! - `stage`: the hook of the final stream, `blocks.{L-1}.hook_resid_post`;
//! - `terms`: every term written into the final stream, in the Contributions view's order
//!   and names (`embed`, `pos`, then per layer `L{l}H{h}` for each head, `L{l} b_O`,
//!   `L{l} mlp`): `{"stream": [d_model], "stream_norm", "reconstruction_error" (largest
//!   |Σ terms − stream| over d_model), "items": [{"term", "vector": [d_model], "norm",
//!   "share", "projection"}]}`; `null` when the final stream is not a sum of terms (post-LN),
//!   with the reason in `terms_error`;
//! - `dla`: each term's direct logit attribution to the target through the final LayerNorm's
//!   frozen scale: `{"items": [{"term", "value"}], "constant" (ln_final.b · u + b_U[target]),
//!   "sum" (Σ values + constant), "logit" (the model's), "reconstruction_error"
//!   (|sum − logit|)}`; `null` with `dla_error` when it cannot be computed;
//! - `head_results`: `blocks.{l}.attn.hook_result` → [head][d_model] at `pos`.
//!
//! The README's "Scripting: trace --analysis" section gives the definitions.

use ndarray::{ArrayViewD, Axis};
use serde::Serialize;

use super::json::Hooks;
use crate::i18n::Language;
use crate::interp::analysis::decompose;
use crate::interp::attribution::direct_logit_attribution;
use crate::interp::stage::block_output_stage;
use crate::interp::vocab_rows::summarize_row;
use crate::interp::{Composition, TermContributions};
use crate::model::io::LoadedModel;
use crate::model::{TokenId, Trace};
use crate::state::plural::count;

/// The token whose logit is attributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetChoice {
    /// The model's most probable next token at the position.
    Top,
    /// A given token id.
    Id(TokenId),
}

/// Parses `--target`: `top` or a token id.
pub fn parse_target(text: &str) -> Result<TargetChoice, String> {
    match text.trim() {
        "top" => Ok(TargetChoice::Top),
        other => other.parse::<TokenId>().map(TargetChoice::Id).map_err(|_| {
            format!("{other:?} is neither `top` nor a token id (a whole number from 0)")
        }),
    }
}

/// The target token, as chosen.
#[derive(Serialize)]
struct Target {
    token: TokenId,
    text: String,
    chosen: &'static str,
}

/// One term against the stream.
#[derive(Serialize)]
struct TermJson {
    term: String,
    vector: Vec<f32>,
    norm: f32,
    share: f32,
    projection: f32,
}

/// The final stream as a sum of terms.
#[derive(Serialize)]
struct TermsJson {
    stream: Vec<f32>,
    stream_norm: f32,
    reconstruction_error: f32,
    items: Vec<TermJson>,
}

/// One term's direct logit attribution.
#[derive(Serialize)]
struct DlaItem {
    term: String,
    value: f32,
}

/// The direct logit attribution of the target's logit.
#[derive(Serialize)]
struct DlaJson {
    items: Vec<DlaItem>,
    constant: f32,
    sum: f32,
    logit: f32,
    reconstruction_error: f32,
}

/// The whole `analysis` object, fields in contract order.
#[derive(Serialize)]
pub struct AnalysisJson<'a> {
    pos: usize,
    target: Target,
    stage: String,
    terms: Option<TermsJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    terms_error: Option<String>,
    dla: Option<DlaJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dla_error: Option<String>,
    head_results: Hooks<'a>,
}

/// Why the analysis cannot be computed for these options (bad input, exit 1).
#[derive(Debug, PartialEq, Eq)]
pub struct AnalysisInputError(pub String);

/// Computes the `analysis` object at `pos` (`None`: the last position) for `target`.
pub fn analysis<'a>(
    model: &LoadedModel,
    trace: &'a Trace<f32>,
    pos: Option<usize>,
    target: TargetChoice,
) -> Result<AnalysisJson<'a>, AnalysisInputError> {
    let params = &model.params;
    let config = &params.config;
    let last = trace.n_pos - 1;
    let pos = pos.unwrap_or(last);
    if pos > last {
        return Err(AnalysisInputError(format!(
            "--pos {pos} is past the last position ({last}: the prompt has {})",
            count(trace.n_pos, "token", "tokens")
        )));
    }
    let (token, chosen) = match target {
        TargetChoice::Top => {
            let logits = trace.logits.row(pos);
            let logits = logits.as_slice().expect("logit rows are contiguous");
            (summarize_row(logits, 1).top_ids[0], "top")
        }
        TargetChoice::Id(id) if (id as usize) < config.d_vocab => (id, "given"),
        TargetChoice::Id(id) => {
            return Err(AnalysisInputError(format!(
                "--target {id} is outside the vocabulary (0..{})",
                config.d_vocab
            )));
        }
    };
    let (resid, decomposition) = decompose(params, trace, &[]);
    let stage = block_output_stage(config, config.n_layers - 1);
    let names: Vec<String> = decomposition.terms.iter().map(|t| t.label()).collect();

    let (terms, terms_error) = match TermContributions::at(&decomposition, trace, &resid, stage) {
        Some(c) => {
            let stage_index = resid
                .stage_index(stage)
                .expect("the final stage was decomposed");
            let error = decomposition
                .at(stage)
                .and_then(|d| d.reconstruction_error.as_ref())
                .map_or(f32::NAN, |errors| errors[pos]);
            let items = c
                .terms
                .clone()
                .enumerate()
                .map(|(i, t)| TermJson {
                    term: names[t].clone(),
                    vector: decomposition.values(trace, t).row(pos).to_vec(),
                    norm: c.norms[[i, pos]],
                    share: c.shares[[i, pos]],
                    projection: c.projections[[i, pos]],
                })
                .collect();
            let terms = TermsJson {
                stream: resid
                    .resid
                    .slice(ndarray::s![stage_index, pos, ..])
                    .to_vec(),
                stream_norm: c.stream_norms[pos],
                reconstruction_error: error,
                items,
            };
            (Some(terms), None)
        }
        None => {
            let reason = match decomposition.at(stage).map(|d| &d.composition) {
                Some(Composition::NotASum { reason }) => reason.to_string(),
                _ => decomposition.describe_limit(Language::En),
            };
            (
                None,
                Some(format!("the final stream is not a sum of terms: {reason}")),
            )
        }
    };

    let (dla, dla_error) = match direct_logit_attribution(params, trace, &decomposition, token) {
        Ok(a) => {
            let items: Vec<DlaItem> = a
                .terms
                .clone()
                .enumerate()
                .map(|(row, t)| DlaItem {
                    term: names[t].clone(),
                    value: a.values[[row, pos]],
                })
                .collect();
            let sum: f64 = a.values.column(pos).iter().map(|&v| f64::from(v)).sum();
            let dla = DlaJson {
                items,
                constant: a.constant[pos],
                sum: (sum + f64::from(a.constant[pos])) as f32,
                logit: a.target[pos],
                reconstruction_error: a.reconstruction_error[pos],
            };
            (Some(dla), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };

    let head_results = trace
        .layers
        .iter()
        .enumerate()
        .map(|(layer, lt)| {
            let at_pos: ArrayViewD<'_, f32> = lt.head_result.index_axis(Axis(1), pos).into_dyn();
            (format!("blocks.{layer}.attn.hook_result"), at_pos)
        })
        .collect();
    Ok(AnalysisJson {
        pos,
        target: Target {
            token,
            text: model.tokenizer.decode_token(token),
            chosen,
        },
        stage: stage.hook_name(config.norm),
        terms,
        terms_error,
        dla,
        dla_error,
        head_results: Hooks(head_results),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_refuse_garbage() {
        assert_eq!(parse_target("top"), Ok(TargetChoice::Top));
        assert_eq!(parse_target(" 7 "), Ok(TargetChoice::Id(7)));
        for bad in ["", "-1", "1.5", "first"] {
            assert!(parse_target(bad).is_err(), "{bad:?}");
        }
    }
}
