//! Direct logit attribution: how much each term of the final stream pushes one token's logit
//! (or the difference between two tokens' logits) directly, through the unembedding alone.
//!
//! Convention (TransformerLens's, with the final LayerNorm's scale frozen): the final
//! LayerNorm is made linear by keeping the scale it measured on the final stream of each
//! token. A term `t` at row `r` then contributes
//!
//! ```text
//! attribution[t, r] = (t_r − mean(t_r)) · (w ⊙ u) · rstd_final[r]
//! ```
//!
//! where `u = W_U[:, token]` (or `W_U[:, a] − W_U[:, b]` for a difference), `w` is
//! `ln_final.w` and `rstd_final[r] = 1/σ` of the final stream. Centring each term equals
//! centring the direction, which is what the code does. The parts no term carries, the
//! LayerNorm bias and the unembedding bias (`ln_final.b · u + b_U[token]`), form
//! [`LogitAttribution::constant`]; then Σ attribution + constant = the logit the model
//! computed, and the difference is measured and exposed as the reconstruction error.
//! Without a final LayerNorm the attribution is plainly `t_r · u`. An RMSNorm does not
//! centre, so neither does its attribution. With a final-logit softcap (`cap·tanh(l/cap)`)
//! the terms sum to the logit before the cap, which is what the target is compared with.
//!
//! Only the terms that sum to the final stream can be attributed: all of them in a pre-LN
//! model, the last sublayer's when residual connections are off, none in a post-LN model
//! (its last LayerNorm makes the final stream a rescaled sum; the error says so).

use std::ops::Range;

use ndarray::{Array1, Array2, ArrayView1, Axis};

use super::stage::block_output_stage;
use super::terms::{Decomposition, SumBreak};
use crate::i18n::{AnalysisText, Language, Notice};
use crate::model::config::NormKind;
use crate::model::{Params, TokenId, Trace};

/// Each term's direct effect on one logit (or logit difference), per row.
#[derive(Clone, Debug, PartialEq)]
pub struct LogitAttribution {
    /// The token whose logit is explained.
    pub token: TokenId,
    /// For a logit difference, the token subtracted.
    pub minus: Option<TokenId>,
    /// Indices into [`Decomposition::terms`] of the terms attributed.
    pub terms: Range<usize>,
    /// Each term's direct contribution. [term in `terms`, rows]
    pub values: Array2<f32>,
    /// What no term carries: `ln_final.b · u + b_U` (difference of both for two tokens).
    /// [rows]
    pub constant: Array1<f32>,
    /// The logit (or difference) the model computed; NaN at a row whose logits were not
    /// given (see [`direct_logit_attribution_given_logits`]). [rows]
    pub target: Array1<f32>,
    /// |Σ values + constant − target| (NaN where `target` is). [rows]
    pub reconstruction_error: Array1<f32>,
}

/// Why an attribution could not be computed. Its `Display` is English (the command line's);
/// the interface uses [`AttributionError::text`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.text(Language::En))]
pub enum AttributionError {
    /// The target token is not in the vocabulary.
    OutsideVocabulary {
        /// The token asked for.
        id: TokenId,
        /// The vocabulary's size.
        d_vocab: usize,
    },
    /// The decomposition was computed without the final stream.
    NoFinalStream,
    /// The final stream is not a sum of terms (post-LN, a cut residual connection).
    NotASum(SumBreak),
}

impl AttributionError {
    /// The reason in a sentence, in `language`.
    pub fn text(&self, language: Language) -> String {
        let reason = match self {
            AttributionError::OutsideVocabulary { id, d_vocab } => {
                Notice::TokenOutsideVocabulary.fill(language, &[id, d_vocab])
            }
            AttributionError::NoFinalStream => AnalysisText::NoFinalStream.text(language).into(),
            AttributionError::NotASum(reason) => reason.text(language),
        };
        AnalysisText::NoAttribution.fill(language, &[&reason])
    }
}

/// The direct attribution of `token`'s logit to every term of the final stream.
pub fn direct_logit_attribution(
    params: &Params<f32>,
    trace: &Trace<f32>,
    decomposition: &Decomposition,
    token: TokenId,
) -> Result<LogitAttribution, AttributionError> {
    direct_logit_attribution_given_logits(
        params,
        trace,
        &logits_of_trace(trace),
        decomposition,
        token,
    )
}

/// The trace's own logits by row (none for a trace whose pass left them to its caller).
fn logits_of_trace<'a>(trace: &'a Trace<f32>) -> impl Fn(usize) -> Option<ArrayView1<'a, f32>> {
    |row| (trace.logits.ncols() > 0).then(|| trace.logits.row(row))
}

/// [`direct_logit_attribution`] for a trace whose logits are held elsewhere:
/// `logits_of_row` gives the model's logits at a row of `trace` ([d_vocab]), or `None` when
/// they are not computed yet (that row's target and reconstruction error are then NaN; the
/// terms' contributions need no logits).
pub fn direct_logit_attribution_given_logits<'a>(
    params: &Params<f32>,
    trace: &Trace<f32>,
    logits_of_row: &dyn Fn(usize) -> Option<ArrayView1<'a, f32>>,
    decomposition: &Decomposition,
    token: TokenId,
) -> Result<LogitAttribution, AttributionError> {
    attribute(params, trace, logits_of_row, decomposition, token, None)
}

/// The direct attribution of `logit[token] − logit[minus]` to every term of the final
/// stream.
pub fn logit_difference_attribution(
    params: &Params<f32>,
    trace: &Trace<f32>,
    decomposition: &Decomposition,
    token: TokenId,
    minus: TokenId,
) -> Result<LogitAttribution, AttributionError> {
    attribute(
        params,
        trace,
        &logits_of_trace(trace),
        decomposition,
        token,
        Some(minus),
    )
}

/// The attribution, its reconstruction measured against the logits `logits_of_row` gives.
fn attribute<'a>(
    params: &Params<f32>,
    trace: &Trace<f32>,
    logits_of_row: &dyn Fn(usize) -> Option<ArrayView1<'a, f32>>,
    decomposition: &Decomposition,
    token: TokenId,
    minus: Option<TokenId>,
) -> Result<LogitAttribution, AttributionError> {
    let config = &params.config;
    for id in std::iter::once(token).chain(minus) {
        if id as usize >= config.d_vocab {
            return Err(AttributionError::OutsideVocabulary {
                id,
                d_vocab: config.d_vocab,
            });
        }
    }
    let final_stage = block_output_stage(config, config.n_layers - 1);
    let at_final = decomposition
        .at(final_stage)
        .ok_or(AttributionError::NoFinalStream)?;
    let terms = at_final
        .composition
        .terms()
        .ok_or_else(|| match &at_final.composition {
            super::terms::Composition::NotASum { reason } => {
                AttributionError::NotASum(reason.clone())
            }
            _ => unreachable!("terms() is None only for NotASum"),
        })?;

    // u: the unembedding direction. [d_model]
    let unembed = params.unembed();
    let mut direction = unembed.column(token as usize).to_owned();
    let mut constant_value = params.b_u.as_ref().map_or(0.0, |b| b[token as usize]);
    if let Some(minus) = minus {
        direction -= &unembed.column(minus as usize);
        constant_value -= params.b_u.as_ref().map_or(0.0, |b| b[minus as usize]);
    }
    let rows = trace.embed.nrows();
    // Per-row scale: the final LayerNorm's frozen 1/σ, or 1 without one.
    let scale: Array1<f32> = match (&params.ln_final, &trace.ln_final) {
        (Some(ln), Some(ln_trace)) => {
            if !ln.b.is_empty() {
                constant_value += ln.b.dot(&direction);
            }
            direction *= &ln.w;
            // LayerNorm centres its input, which the direction absorbs; RMSNorm does not.
            if params.config.norm_kind == NormKind::LayerNorm {
                let mean = direction.mean().unwrap_or(0.0);
                direction -= mean;
            }
            ln_trace.rstd.clone()
        }
        _ => Array1::ones(rows),
    };

    let mut values = Array2::<f32>::zeros((terms.len(), rows)); // [term, rows]
    for (mut along, term) in values.outer_iter_mut().zip(terms.clone()) {
        along.assign(&decomposition.values(trace, term).dot(&direction));
    }
    values *= &scale;

    // The logit before a final softcap, which the (linear) terms sum to.
    let uncapped = |logit: f32| match config.final_softcap {
        Some(cap) => (cap * (f64::from(logit) / cap).atanh()) as f32,
        None => logit,
    };
    let target: Array1<f32> = (0..rows)
        .map(|row| match logits_of_row(row) {
            Some(logits) => {
                let minus_logit = minus.map_or(0.0, |m| uncapped(logits[m as usize]));
                uncapped(logits[token as usize]) - minus_logit
            }
            None => f32::NAN,
        })
        .collect();
    let constant = Array1::from_elem(rows, constant_value);
    let total = values.map_axis(Axis(0), |column| {
        column.iter().map(|&x| f64::from(x)).sum::<f64>()
    });
    let reconstruction_error = ndarray::Zip::from(&total)
        .and(&constant)
        .and(&target)
        .map_collect(|&sum, &c, &t| (sum + f64::from(c) - f64::from(t)).abs() as f32);
    Ok(LogitAttribution {
        token,
        minus,
        terms,
        values,
        constant,
        target,
        reconstruction_error,
    })
}
