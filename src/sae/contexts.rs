//! What each feature fires on over a corpus pass: its top-activating contexts (the window
//! around the token, the token marked) and a histogram of its non-zero activations. One
//! pass serves every feature: the Features view asks once per SAE and reads any feature's
//! examples from the result.
//!
//! The pass reads `windows` windows of `seq` tokens spread evenly over the token list (the
//! corpus's held-out split in the app), encodes every position at the SAE's hook and keeps,
//! per feature, the [`TOP_CONTEXTS`] largest activations with where they were.

use ndarray::Axis;

use super::hook::HookPoint;
use super::model::Sae;
use super::run::SaeRunError;
use crate::model::TokenId;
use crate::model::forward::forward_for_training;
use crate::model::io::LoadedModel;

/// Contexts kept per feature.
pub const TOP_CONTEXTS: usize = 20;

/// Bins of each feature's activation histogram (from 0 to its largest activation).
pub const HISTOGRAM_BINS: usize = 20;

/// Tokens shown before and after the marked token of a context.
pub const CONTEXT_BEFORE: usize = 12;
/// Tokens shown after it.
pub const CONTEXT_AFTER: usize = 3;

/// One place where a feature fired.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureContext {
    /// The feature's activation at the marked token.
    pub activation: f32,
    /// Up to [`CONTEXT_BEFORE`] tokens before the marked one, it, and up to
    /// [`CONTEXT_AFTER`] after. [tokens]
    pub tokens: Vec<TokenId>,
    /// The marked token's index in `tokens`.
    pub marked: usize,
}

/// The corpus pass's findings for every feature.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureContexts {
    /// [`fingerprint`] of the SAE they were read with (a file beside another SAE's weights
    /// is not taken for this one's).
    #[serde(default)]
    pub sae_fingerprint: u64,
    /// Tokens encoded.
    pub tokens_read: usize,
    /// Per feature, its strongest contexts, strongest first. [d_sae][≤ TOP_CONTEXTS]
    pub top: Vec<Vec<FeatureContext>>,
    /// Per feature, how often it fired (activation > 0) over the pass. [d_sae]
    pub firing: Vec<usize>,
    /// Per feature, counts of its non-zero activations in [`HISTOGRAM_BINS`] equal bins from
    /// 0 to its largest activation. [d_sae][HISTOGRAM_BINS]
    pub histogram: Vec<Vec<usize>>,
}

/// Runs `model` over `windows` windows of `seq` tokens of `tokens` and finds each feature of
/// `sae` (reading at `hook`) its top contexts and histogram.
pub fn feature_contexts(
    model: &LoadedModel,
    sae: &Sae<f32>,
    hook: HookPoint,
    tokens: &[TokenId],
    windows: usize,
    seq: usize,
) -> Result<FeatureContexts, SaeRunError> {
    let seq = seq.min(model.params.config.n_ctx).min(tokens.len());
    if seq == 0 || windows == 0 {
        return Err(SaeRunError::Options("no tokens to read features on".into()));
    }
    let last_start = tokens.len() - seq;
    let starts: Vec<usize> = (0..windows)
        .map(|i| {
            if windows == 1 {
                0
            } else {
                i * last_start / (windows - 1)
            }
        })
        .collect();
    let d_sae = sae.config.d_sae;
    let mut top: Vec<Vec<(f32, usize)>> = vec![Vec::new(); d_sae]; // (activation, corpus index)
    // Each feature's non-zero activations (codes are sparse: a TopK SAE keeps k per token),
    // binned once the largest is known.
    let mut fired: Vec<Vec<f32>> = vec![Vec::new(); d_sae];
    for chunk in starts.chunks(16) {
        let sequences: Vec<&[TokenId]> = chunk.iter().map(|&s| &tokens[s..s + seq]).collect();
        let trace = forward_for_training(&model.params, &sequences)?;
        let activation = hook
            .read(&trace)
            .ok_or_else(|| SaeRunError::Options(format!("the model has no {}", hook.name())))?;
        let codes = sae.encode(activation); // [chunk·seq, d_sae]
        for (window, &start) in chunk.iter().enumerate() {
            let rows = codes.slice(ndarray::s![window * seq..(window + 1) * seq, ..]);
            for (pos, row) in rows.axis_iter(Axis(0)).enumerate() {
                for (feature, &a) in row.iter().enumerate() {
                    if a > 0.0 {
                        fired[feature].push(a);
                        keep_top(&mut top[feature], (a, start + pos));
                    }
                }
            }
        }
    }
    let firing = fired.iter().map(Vec::len).collect();
    let histogram = fired
        .iter()
        .map(|values| {
            let maximum = values.iter().copied().fold(0.0f32, f32::max);
            let mut bins = vec![0usize; HISTOGRAM_BINS];
            for &a in values {
                let bin = ((a / maximum * HISTOGRAM_BINS as f32) as usize).min(HISTOGRAM_BINS - 1);
                bins[bin] += 1;
            }
            bins
        })
        .collect();
    let top = top
        .into_iter()
        .map(|found| {
            found
                .into_iter()
                .map(|(activation, index)| {
                    let first = index.saturating_sub(CONTEXT_BEFORE);
                    let end = (index + 1 + CONTEXT_AFTER).min(tokens.len());
                    FeatureContext {
                        activation,
                        tokens: tokens[first..end].to_vec(),
                        marked: index - first,
                    }
                })
                .collect()
        })
        .collect();
    Ok(FeatureContexts {
        sae_fingerprint: fingerprint(sae),
        tokens_read: starts.len() * seq,
        top,
        firing,
        histogram,
    })
}

/// Inserts `found` into `top` (largest first), keeping at most [`TOP_CONTEXTS`] and never the
/// same corpus position twice (overlapping windows read some positions more than once).
fn keep_top(top: &mut Vec<(f32, usize)>, found: (f32, usize)) {
    if top.iter().any(|&(_, index)| index == found.1) {
        return;
    }
    if top.len() == TOP_CONTEXTS && top.last().is_some_and(|&(a, _)| a >= found.0) {
        return;
    }
    let at = top.partition_point(|&(a, _)| a >= found.0);
    top.insert(at, found);
    top.truncate(TOP_CONTEXTS);
}

/// The file beside an SAE's `cfg.json` that keeps its contexts, so a folder opened again
/// does not read the corpus again.
pub const CONTEXTS_FILE: &str = "feature_contexts.json";

/// Writes `contexts` into the SAE folder `dir` (atomically).
pub fn save_contexts(dir: &std::path::Path, contexts: &FeatureContexts) -> Result<(), String> {
    let text = serde_json::to_string(contexts).map_err(|e| e.to_string())?;
    crate::model::io::atomic::write_atomic(&dir.join(CONTEXTS_FILE), text.as_bytes())
        .map_err(|e| e.to_string())
}

/// The contexts kept in the SAE folder `dir`, when they were read with `sae` (anything
/// unreadable, or another SAE's, is `None`: they are computed again).
pub fn load_contexts(dir: &std::path::Path, sae: &Sae<f32>) -> Option<FeatureContexts> {
    let text = std::fs::read_to_string(dir.join(CONTEXTS_FILE)).ok()?;
    let contexts: FeatureContexts = serde_json::from_str(&text).ok()?;
    let d_sae = sae.config.d_sae;
    let sizes = contexts.top.len() == d_sae
        && contexts.firing.len() == d_sae
        && contexts.histogram.len() == d_sae;
    (sizes && contexts.sae_fingerprint == fingerprint(sae)).then_some(contexts)
}

/// A 64-bit FNV-1a hash of an SAE's decoder and encoder bias bits: the same weights give
/// the same number on every machine and Rust release.
pub fn fingerprint(sae: &Sae<f32>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &value in sae.w_dec.iter().chain(sae.b_enc.iter()) {
        for byte in value.to_bits().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_list_keeps_the_largest_once_each_in_order() {
        let mut top = Vec::new();
        for i in 0..50 {
            keep_top(&mut top, ((i % 25) as f32, i));
        }
        keep_top(&mut top, (24.0, 24)); // the same position again
        assert_eq!(top.len(), TOP_CONTEXTS);
        assert!(top.windows(2).all(|w| w[0].0 >= w[1].0));
        assert_eq!(top[0].0, 24.0);
        assert_eq!(top.iter().filter(|&&(_, i)| i == 24).count(), 1);
        assert!(top.iter().all(|&(a, _)| a >= 14.0), "{top:?}");
    }
}
