//! Activation patching of the residual stream: run a corrupted prompt, but copy the clean
//! prompt's `blocks.{layer}.hook_resid_pre` at one position, and measure how much of the
//! clean logit difference comes back.
//!
//! For two prompts of equal length, an answer token and a wrong token, the metric is the
//! logit difference at the last position, `ld = logit[answer] − logit[wrong]`, normalised as
//! TransformerLens's patching demos do:
//!
//! ```text
//! restored[layer, pos] = (ld_patched − ld_corrupted) / (ld_clean − ld_corrupted)
//! ```
//!
//! so 0 means "as corrupted" and 1 "as clean". The stream at a layer carries everything the
//! later layers read, so patching every position at one layer restores the clean logits
//! exactly (the tests check this bit for bit).
//!
//! One batched forward per layer: sequence `p` of the batch is the corrupted prompt with
//! position `p` patched.

use ndarray::{Array2, ArrayView2, ArrayViewMutD, Axis, Ix2};

use crate::i18n::{Language, Message, Notice};
use crate::model::hooks::{HookSite, Intervention};
use crate::model::{InputError, Params, TokenId, Trace, forward_batch};

/// Copies rows of a source stream into `hook_resid_pre` of one layer, after another
/// intervention (the active patches, applied to both runs).
pub struct ResidPrePatch<'a> {
    /// The block whose incoming stream is patched.
    pub layer: usize,
    /// The clean run's `resid_pre` at that layer. [pos, d_model]
    pub source: ArrayView2<'a, f32>,
    /// `(row of the batch, position in source)` pairs to copy.
    pub rows: Vec<(usize, usize)>,
    /// Applied first, at every site.
    pub base: &'a dyn Intervention<f32>,
}

impl Intervention<f32> for ResidPrePatch<'_> {
    fn apply(&self, site: HookSite, mut values: ArrayViewMutD<'_, f32>) {
        self.base.apply(site, values.view_mut());
        if site != (HookSite::ResidPre { layer: self.layer }) {
            return;
        }
        let Ok(mut values) = values.into_dimensionality::<Ix2>() else {
            return;
        }; // [rows, d_model]
        for &(row, pos) in &self.rows {
            values.row_mut(row).assign(&self.source.row(pos));
        }
    }
}

/// Why patching could not run. Its `Display` is English; the interface shows
/// [`PatchingError::message`] in its own language.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.message().text(Language::En))]
pub enum PatchingError {
    /// The two prompts differ in length.
    LengthMismatch {
        /// Clean length.
        clean: usize,
        /// Corrupted length.
        corrupted: usize,
    },
    /// A prompt the model cannot run.
    Input(#[from] InputError),
    /// A token outside the vocabulary.
    OutsideVocabulary {
        /// The token.
        token: TokenId,
        /// The vocabulary's size.
        d_vocab: usize,
    },
    /// The answer and the wrong token are the same.
    SameTokens,
    /// Nothing to restore: both prompts give the same logit difference.
    NoDifference(f32),
}

impl PatchingError {
    /// The reason, to be put into words where it is shown (a prompt the model cannot run
    /// keeps the model's own English message).
    pub fn message(&self) -> Message {
        match self {
            PatchingError::LengthMismatch { clean, corrupted } => {
                Notice::PatchingLengths.with(&[clean, corrupted])
            }
            PatchingError::Input(error) => Message::plain(error),
            PatchingError::OutsideVocabulary { token, d_vocab } => {
                Notice::TokenOutsideVocabulary.with(&[token, d_vocab])
            }
            PatchingError::SameTokens => Notice::SameTokens.message(),
            PatchingError::NoDifference(diff) => Notice::NoDifference.with(&[diff]),
        }
    }
}

/// The result of patching `resid_pre` at every layer and position.
#[derive(Clone, Debug, PartialEq)]
pub struct ResidPatching {
    /// Fraction of the logit difference restored: 0 = corrupted, 1 = clean. [layer, pos]
    pub restored: Array2<f32>,
    /// The patched runs' logit differences. [layer, pos]
    pub logit_diff: Array2<f32>,
    /// Logit difference of the clean run.
    pub clean_diff: f32,
    /// Logit difference of the corrupted run.
    pub corrupted_diff: f32,
    /// The answer token.
    pub answer: TokenId,
    /// The wrong token.
    pub wrong: TokenId,
}

/// `logit[answer] − logit[wrong]` at the last position of sequence `seq` of `trace`.
fn logit_diff(trace: &Trace<f32>, seq: usize, answer: TokenId, wrong: TokenId) -> f32 {
    let row = trace.logits.row(seq * trace.n_pos + trace.n_pos - 1);
    row[answer as usize] - row[wrong as usize]
}

/// Runs `corrupted` with the clean stream copied into `resid_pre` of `layer` at
/// `positions`; `clean` is the clean run's trace (both with `base` applied).
pub fn patch_resid_pre(
    params: &Params<f32>,
    corrupted: &[TokenId],
    clean: &Trace<f32>,
    layer: usize,
    positions: &[usize],
    base: &dyn Intervention<f32>,
) -> Result<Trace<f32>, PatchingError> {
    check_lengths(clean.tokens.len(), corrupted.len())?;
    let patch = ResidPrePatch {
        layer,
        source: clean.layers[layer].resid_pre.view(),
        rows: positions.iter().map(|&p| (p, p)).collect(),
        base,
    };
    Ok(forward_batch(params, &[corrupted], &patch)?)
}

fn check_lengths(clean: usize, corrupted: usize) -> Result<(), PatchingError> {
    if clean != corrupted {
        return Err(PatchingError::LengthMismatch { clean, corrupted });
    }
    Ok(())
}

/// Rows of logits (batch · n_pos · d_vocab) allowed in one patched forward.
const MAX_LOGIT_ENTRIES: usize = 1 << 23;

/// Patches `resid_pre` from `clean` into `corrupted` at every layer and position and
/// measures the restored logit difference of `answer` over `wrong` at the last position.
pub fn resid_pre_patching(
    params: &Params<f32>,
    clean: &[TokenId],
    corrupted: &[TokenId],
    answer: TokenId,
    wrong: TokenId,
    base: &dyn Intervention<f32>,
) -> Result<ResidPatching, PatchingError> {
    check_lengths(clean.len(), corrupted.len())?;
    let d_vocab = params.config.d_vocab;
    for token in [answer, wrong] {
        if token as usize >= d_vocab {
            return Err(PatchingError::OutsideVocabulary { token, d_vocab });
        }
    }
    if answer == wrong {
        return Err(PatchingError::SameTokens);
    }
    let clean_trace = forward_batch(params, &[clean], base)?;
    let corrupted_trace = forward_batch(params, &[corrupted], base)?;
    let clean_diff = logit_diff(&clean_trace, 0, answer, wrong);
    let corrupted_diff = logit_diff(&corrupted_trace, 0, answer, wrong);
    let denominator = clean_diff - corrupted_diff;
    if denominator.abs() <= 1e-6 * clean_diff.abs().max(1.0) {
        return Err(PatchingError::NoDifference(clean_diff));
    }

    let (n_layers, n_pos) = (params.config.n_layers, clean.len());
    let chunk = (MAX_LOGIT_ENTRIES / (n_pos * d_vocab).max(1)).clamp(1, n_pos);
    let mut diffs = Array2::zeros((n_layers, n_pos));
    for layer in 0..n_layers {
        let source = clean_trace.layers[layer].resid_pre.view(); // [pos, d_model]
        for start in (0..n_pos).step_by(chunk) {
            let positions: Vec<usize> = (start..(start + chunk).min(n_pos)).collect();
            let sequences = vec![corrupted; positions.len()];
            // Sequence i of the batch has position `positions[i]` patched.
            let patch = ResidPrePatch {
                layer,
                source,
                rows: (positions.iter().enumerate())
                    .map(|(i, &pos)| (i * n_pos + pos, pos))
                    .collect(),
                base,
            };
            let trace = forward_batch(params, &sequences, &patch)?;
            for (i, &pos) in positions.iter().enumerate() {
                diffs[[layer, pos]] = logit_diff(&trace, i, answer, wrong);
            }
        }
    }
    let restored = diffs.mapv(|d: f32| (d - corrupted_diff) / denominator);
    Ok(ResidPatching {
        restored,
        logit_diff: diffs,
        clean_diff,
        corrupted_diff,
        answer,
        wrong,
    })
}

impl ResidPatching {
    /// The (layer, pos) cell that restores the most, with its value.
    pub fn strongest(&self) -> Option<(usize, usize, f32)> {
        self.restored
            .indexed_iter()
            .map(|((layer, pos), &value)| (layer, pos, value))
            .max_by(|a, b| a.2.total_cmp(&b.2))
    }

    /// The restored fraction of one layer, by position. [pos]
    pub fn layer_row(&self, layer: usize) -> Vec<f32> {
        self.restored.index_axis(Axis(0), layer).to_vec()
    }
}
