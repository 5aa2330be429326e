//! The logit lens: the residual stream at a stage read as if it were the last one, through
//! the final LayerNorm and the unembedding, `softmax(ln_final(x) · W_U + b_U)`.
//!
//! How the final LayerNorm is applied is a choice, and it is recorded in the result
//! ([`LensNorm`]):
//! - [`LensNorm::OwnStatistics`] (default, as in the usual logit lens and the HF fixture):
//!   each stage's stream is centred and scaled with its own mean and standard deviation;
//! - [`LensNorm::CachedFinalScale`] (TransformerLens's `apply_ln_to_stack` with the cached
//!   scale): each stage's stream is centred with its own mean but divided by the standard
//!   deviation the final LayerNorm measured on the *final* stream of that token; this is the
//!   frozen, linear map that direct logit attribution uses.
//!
//! A model without `ln_final` unembeds the stream directly (the choice then does not apply).
//!
//! Speed: every (stage, row) pair is normalised into one [stages·rows, d_model] matrix and
//! multiplied by the unembedding in one product (for GPT-2 small at 25 stages × 64 tokens
//! that is 1600 × 768 · 768 × 50257, the dominant cost of a trace); then each row's top-k and
//! log-sum-exp are taken, both split over the two threads of [`with_split`]. Probabilities
//! are `exp(logit − lse)`, produced on demand.

use std::mem::MaybeUninit;
use std::sync::Mutex;

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayViewMut2, Axis, Zip, s};

use super::resid::stage_array;
use super::stage::{Stage, boundary_stages};
use super::vocab_rows::summarize_row_into;
use crate::i18n::{AnalysisText, Language};
use crate::model::ops::{copy_into, norm_statistics};
use crate::model::parallel::{Split, affine_into, with_split};
use crate::model::raw::uninit::{Fresh, finish_tail, fresh_tail};
use crate::model::simd::with_widest;
use crate::model::{Params, TokenId, Trace};

/// How the final LayerNorm is applied to a stage's stream.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LensNorm {
    /// Centre and scale with the stage's own statistics (the usual logit lens).
    #[default]
    OwnStatistics,
    /// Centre with the stage's own mean, scale by the final stream's cached 1/σ
    /// (TransformerLens's frozen scale; linear in the stream).
    CachedFinalScale,
}

impl LensNorm {
    /// A sentence for the UI saying how LayerNorm was applied (`final_norm`: whether the
    /// model has one), in `language`.
    pub fn describe(self, final_norm: bool, language: Language) -> &'static str {
        match (final_norm, self) {
            (false, _) => AnalysisText::NoFinalNorm,
            (true, LensNorm::OwnStatistics) => AnalysisText::OwnStatisticsApplied,
            (true, LensNorm::CachedFinalScale) => AnalysisText::FrozenScaleApplied,
        }
        .text(language)
    }
}

/// Options of [`LogitLens::compute`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LensOptions {
    /// How the final LayerNorm is applied.
    pub norm: LensNorm,
    /// Predictions kept per (stage, row); clamped to 1..=d_vocab.
    pub top_k: usize,
}

impl Default for LensOptions {
    fn default() -> Self {
        Self {
            norm: LensNorm::OwnStatistics,
            top_k: 5,
        }
    }
}

/// The logit lens at a list of stages, for every row.
#[derive(Clone, Debug, PartialEq)]
pub struct LogitLens {
    /// The stages, in the order given.
    pub stages: Vec<Stage>,
    /// How the final LayerNorm was applied.
    pub norm: LensNorm,
    /// Whether the model has a final LayerNorm (if not, `norm` did not apply).
    pub final_norm: bool,
    /// Lens logits. [stage, rows, d_vocab]
    pub logits: Array3<f32>,
    /// `ln Σ exp(logits)` of each (stage, row). [stage, rows]
    pub log_sum_exp: Array2<f32>,
    /// The top-k token ids, most probable first. [stage, rows, k]
    pub top_ids: Array3<TokenId>,
    /// Their probabilities. [stage, rows, k]
    pub top_probs: Array3<f32>,
}

impl LogitLens {
    /// The lens at `stages` (stream stages the trace has, see [`super::stage::stream_stages`]).
    pub fn compute(
        params: &Params<f32>,
        trace: &Trace<f32>,
        stages: &[Stage],
        options: LensOptions,
    ) -> Self {
        Self::compute_rows(params, trace, stages, None, options)
    }

    /// The lens at `stages` for the trace rows `selected` only (all rows when `None`): row
    /// `i` of the result is trace row `selected[i]`. One token's column at every stage is a
    /// single product of its stacked stages against the unembedding, which reads the
    /// unembedding once.
    pub fn compute_rows(
        params: &Params<f32>,
        trace: &Trace<f32>,
        stages: &[Stage],
        selected: Option<&[usize]>,
        options: LensOptions,
    ) -> Self {
        let logits_of_row = |row: usize| trace.logits.row(row);
        let has_logits = trace.logits.ncols() == params.config.d_vocab;
        Self::compute_rows_with_logits(
            params,
            trace,
            stages,
            selected,
            options,
            has_logits.then_some(&logits_of_row),
        )
    }

    /// [`LogitLens::compute_rows`] for a trace whose logits are held elsewhere:
    /// `logits_of_row` gives a trace row's logits ([d_vocab]), reused at the final stage;
    /// without it that stage is computed like the others.
    pub fn compute_rows_with_logits<'a>(
        params: &Params<f32>,
        trace: &Trace<f32>,
        stages: &[Stage],
        selected: Option<&[usize]>,
        options: LensOptions,
        logits_of_row: Option<&dyn Fn(usize) -> ArrayView1<'a, f32>>,
    ) -> Self {
        let all_rows: Vec<usize>;
        let selected = match selected {
            Some(rows) => rows,
            None => {
                all_rows = (0..trace.embed.nrows()).collect();
                &all_rows
            }
        };
        let rows = selected.len();
        let d_model = trace.embed.ncols();
        let every_row =
            rows == trace.embed.nrows() && selected.iter().enumerate().all(|(i, &r)| i == r);
        let frozen_rstd: Option<Array1<f32>> = match (options.norm, &trace.ln_final) {
            (LensNorm::CachedFinalScale, Some(ln)) => Some(ln.rstd.select(Axis(0), selected)),
            _ => None,
        };
        let d_vocab = params.config.d_vocab;
        let k = options.top_k.clamp(1, d_vocab);
        let n = stages.len() * rows;
        // The lens at the final stream stage is the model's own output, `ln_final` with the
        // final stream's statistics (both norms agree there) and the unembedding: the trace's
        // logits are reused for it, which saves one stage of the product (1/13 of a GPT-2
        // lens at the layer boundaries) and makes it equal the logits exactly.
        let final_stage = boundary_stages(&params.config).last().copied();
        let reuse_logits =
            stages.last().copied() == final_stage && logits_of_row.is_some() && !stages.is_empty();
        let computed_rows = if reuse_logits { n - rows } else { n };

        // Written stage by stage below, not zero-filled first. [stage·rows, d_model]
        let mut normalized = Fresh::new((computed_rows, d_model));
        for (stage_index, &stage) in stages.iter().enumerate() {
            if stage_index * rows >= computed_rows {
                break;
            }
            let whole = stage_array(trace, stage); // [trace rows, d_model]
            let picked;
            let stream = if every_row {
                whole
            } else {
                picked = whole.select(Axis(0), selected);
                &picked
            }; // [rows, d_model]
            let block = normalized
                .view_mut()
                .slice_move(s![stage_index * rows..(stage_index + 1) * rows, ..]);
            apply_final_norm(params, stream, frozen_rstd.as_ref(), block);
        }
        // `computed_rows` is `rows` times the number of stages visited above, and
        // `apply_final_norm` wrote every element of each stage's block of `rows` rows.
        let normalized = normalized.finish();

        let len = n * d_vocab;
        let mut buffer = take_logits_buffer(len); // empty, with room for `len`
        let mut log_sum_exp = Array1::<f32>::zeros(n);
        let mut top_ids = Array2::<TokenId>::zeros((n, k));
        let mut top_probs = Array2::<f32>::zeros((n, k)); // holds the top logits at first
        with_split(true, |split| {
            let (computed, reused) =
                fresh_tail(&mut buffer, len).split_at_mut(computed_rows * d_vocab);
            affine_into(
                split,
                &normalized.view(),
                &params.unembed(),
                params.b_u.as_ref().map(|b_u| b_u.view()),
                ArrayViewMut2::from_shape((computed_rows, d_vocab), computed)
                    .expect("computed_rows·d_vocab values"),
            );
            if let (true, Some(logits_of_row)) = (reuse_logits, logits_of_row) {
                let rows_of_logits = selected.iter().flat_map(|&r| {
                    let row = logits_of_row(r);
                    assert_eq!(row.len(), d_vocab, "a row of logits has d_vocab values");
                    row
                });
                for (out, &logit) in reused.iter_mut().zip(rows_of_logits) {
                    out.write(logit);
                }
            }
            // The first `len` values of the buffer's capacity are written:
            // `affine_into` wrote all of the computed rows, and the rest is either empty
            // (no reuse: computed_rows = n) or the last `rows` rows, rows·d_vocab values that
            // the zip with the selected rows of the trace's logits (each d_vocab wide,
            // checked as they are read) wrote.
            finish_tail(&mut buffer, len);
            // The model's own final softcap (the reused logits already have it).
            if let Some(cap) = params.config.final_softcap {
                let cap = cap as f32;
                buffer[..computed_rows * d_vocab]
                    .iter_mut()
                    .for_each(|logit| *logit = cap * (*logit / cap).tanh());
            }
            summarize_rows(
                split,
                &buffer,
                RowSummaries {
                    top_ids: top_ids.as_slice_mut().expect("contiguous"),
                    top_probs: top_probs.as_slice_mut().expect("contiguous"),
                    log_sum_exp: log_sum_exp.as_slice_mut().expect("contiguous"),
                },
            );
        });
        let flat_logits =
            Array2::from_shape_vec((n, d_vocab), buffer).expect("the buffer has n·d_vocab values"); // [stage·rows, d_vocab]
        let shape3 = |width: usize| (stages.len(), rows, width);
        Self {
            stages: stages.to_vec(),
            norm: options.norm,
            final_norm: params.ln_final.is_some(),
            logits: flat_logits
                .into_shape_with_order(shape3(d_vocab))
                .expect("same size"),
            log_sum_exp: log_sum_exp
                .into_shape_with_order((stages.len(), rows))
                .expect("same size"),
            top_ids: top_ids.into_shape_with_order(shape3(k)).expect("same size"),
            top_probs: top_probs
                .into_shape_with_order(shape3(k))
                .expect("same size"),
        }
    }

    /// Number of rows (token positions).
    pub fn n_rows(&self) -> usize {
        self.logits.len_of(Axis(1))
    }

    /// Index of `stage` in [`LogitLens::stages`].
    pub fn stage_index(&self, stage: Stage) -> Option<usize> {
        self.stages.iter().position(|&s| s == stage)
    }

    /// A sentence saying how the final LayerNorm was applied, in `language`.
    pub fn describe_norm(&self, language: Language) -> &'static str {
        self.norm.describe(self.final_norm, language)
    }

    /// The full probability distribution at (stage_index, row). [d_vocab]
    pub fn probs(&self, stage_index: usize, row: usize) -> Array1<f32> {
        let lse = self.log_sum_exp[[stage_index, row]];
        self.logits
            .slice(s![stage_index, row, ..])
            .mapv(|logit| (logit - lse).exp())
    }

    /// Every probability. [stage, rows, d_vocab] (as large as the logits: compute it only
    /// when a view needs the whole distribution).
    pub fn probabilities(&self) -> Array3<f32> {
        let mut probs = self.logits.clone();
        for ((stage_index, row), &lse) in self.log_sum_exp.indexed_iter() {
            probs
                .slice_mut(s![stage_index, row, ..])
                .mapv_inplace(|logit| (logit - lse).exp());
        }
        probs
    }

    /// The top-k at (stage_index, row): (token id, probability), most probable first.
    pub fn top(&self, stage_index: usize, row: usize) -> impl Iterator<Item = (TokenId, f32)> + '_ {
        let ids = self.top_ids.slice(s![stage_index, row, ..]);
        let probs = self.top_probs.slice(s![stage_index, row, ..]);
        ids.into_iter().copied().zip(probs.into_iter().copied())
    }
}

/// Where the rows' summaries go: `k` ids and probabilities per row, and a log-sum-exp.
struct RowSummaries<'a> {
    top_ids: &'a mut [TokenId], // [rows·k]
    top_probs: &'a mut [f32],   // [rows·k]
    log_sum_exp: &'a mut [f32], // [rows]
}

/// Summarises every row of `logits` [rows·d_vocab] into `out`, in two halves when `split`
/// has a helper and the work is worth it.
fn summarize_rows(split: Split<'_>, logits: &[f32], out: RowSummaries<'_>) {
    let rows = out.log_sum_exp.len();
    let k = out.top_ids.len() / rows.max(1);
    let d_vocab = logits.len() / rows.max(1);
    // A row's summary costs a few operations per logit.
    if split.worth_it(rows, 4 * logits.len()) {
        let mid = rows / 2;
        let (logits_a, logits_b) = logits.split_at(mid * d_vocab);
        let (ids_a, ids_b) = out.top_ids.split_at_mut(mid * k);
        let (probs_a, probs_b) = out.top_probs.split_at_mut(mid * k);
        let (lse_a, lse_b) = out.log_sum_exp.split_at_mut(mid);
        let half = |top_ids, top_probs, log_sum_exp| RowSummaries {
            top_ids,
            top_probs,
            log_sum_exp,
        };
        split.join(
            || summarize_rows(Split::None, logits_a, half(ids_a, probs_a, lse_a)),
            || summarize_rows(Split::None, logits_b, half(ids_b, probs_b, lse_b)),
        );
        return;
    }
    for (((logits, ids), probs), lse) in logits
        .chunks(d_vocab)
        .zip(out.top_ids.chunks_mut(k))
        .zip(out.top_probs.chunks_mut(k))
        .zip(out.log_sum_exp.iter_mut())
    {
        *lse = summarize_row_into(logits, ids, probs); // probs holds logits here
        probs.iter_mut().for_each(|p| *p = (*p - *lse).exp());
    }
}

/// Writes the final norm of `stream` [rows, d_model] into `out` [rows, d_model], with each
/// row's own statistics or, when given, the final stream's frozen 1/σ of each row
/// (`frozen_rstd` [rows]); copies the stream when the model has no final norm. The
/// statistics are `ops::layer_norm_forward`'s ([`norm_statistics`]), written into the lens
/// matrix directly.
fn apply_final_norm(
    params: &Params<f32>,
    stream: &Array2<f32>,
    frozen_rstd: Option<&Array1<f32>>,
    mut out: ArrayViewMut2<'_, MaybeUninit<f32>>,
) {
    let Some(ln) = &params.ln_final else {
        copy_into(stream.view(), out);
        return;
    };
    let eps = params.config.layer_norm_eps as f32;
    let kind = params.config.norm_kind;
    let zero_shift;
    let shift = if ln.b.is_empty() {
        zero_shift = Array1::zeros(ln.w.len());
        &zero_shift
    } else {
        &ln.b
    };
    with_widest(
        #[inline(always)]
        || {
            for (row, (x, mut y)) in stream.outer_iter().zip(out.outer_iter_mut()).enumerate() {
                let (mean, own_rstd) = norm_statistics(x, eps, kind);
                let rstd = frozen_rstd.map_or(own_rstd, |rstd| rstd[row]);
                let norm = |y: &mut MaybeUninit<f32>, x: f32, w: f32, b: f32| {
                    y.write((x - mean) * rstd * w + b);
                };
                match (
                    y.as_slice_mut(),
                    x.as_slice(),
                    ln.w.as_slice(),
                    shift.as_slice(),
                ) {
                    // Plain slices: a loop the compiler vectorizes.
                    (Some(y), Some(x), Some(w), Some(b))
                        if [y.len(), w.len(), b.len()] == [x.len(); 3] =>
                    {
                        for (((y, &x), &w), &b) in y.iter_mut().zip(x).zip(w).zip(b) {
                            norm(y, x, w, b);
                        }
                    }
                    _ => Zip::from(&mut y)
                        .and(x)
                        .and(&ln.w)
                        .and(shift)
                        .for_each(|y, &x, &w, &b| norm(y, x, w, b)),
                }
            }
        },
    );
}

/// Lens buffers at least this large are recycled (see [`take_logits_buffer`]).
const RECYCLE_MIN_LEN: usize = 1 << 22;

/// The logits buffer of the last large lens that was dropped, kept for the next one.
static SPARE_LOGITS: Mutex<Vec<f32>> = Mutex::new(Vec::new());

/// An empty buffer with room for `len` floats of lens logits (the caller writes them all).
///
/// A GPT-2-sized lens at every stage holds 321 MB of logits; faulting in that many fresh
/// pages cost ~170 ms of CPU per trace here (4 KiB pages in a VM), as much as half the
/// product itself. So the buffer of a dropped lens is kept (one at a time) and reused when
/// the next lens is about as large: a new trace in the explorer or a benchmark iteration
/// then pays no page faults. The spare costs its size in memory until the next lens.
fn take_logits_buffer(len: usize) -> Vec<f32> {
    if len >= RECYCLE_MIN_LEN {
        let mut spare =
            std::mem::take(&mut *SPARE_LOGITS.lock().unwrap_or_else(|e| e.into_inner()));
        if (len..=2 * len).contains(&spare.capacity()) {
            spare.clear(); // keeps the capacity: no new pages
            return spare;
        }
    }
    Vec::with_capacity(len)
}

impl Drop for LogitLens {
    fn drop(&mut self) {
        if self.logits.len() >= RECYCLE_MIN_LEN {
            let logits = std::mem::take(&mut self.logits);
            let (buffer, _) = logits.into_raw_vec_and_offset();
            *SPARE_LOGITS.lock().unwrap_or_else(|e| e.into_inner()) = buffer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::stage::stream_stages;
    use crate::model::{InitOptions, ModelConfig, forward, ops::softmax};

    #[test]
    fn a_recycled_buffer_gives_the_same_lens_as_a_fresh_one() {
        // 9 stages × 64 rows × 8192 tokens ≥ RECYCLE_MIN_LEN: the second lens reuses the
        // first one's buffer, full of other logits, and must not see them.
        let config = ModelConfig {
            d_model: 16,
            n_heads: 2,
            d_head: 8,
            d_mlp: 32,
            ..ModelConfig::lesson(8192)
        };
        let stages = stream_stages(&config);
        let tokens: Vec<TokenId> = (0..64).map(|i| i * 101 % 8192).collect();
        let options = LensOptions::default();
        let first = Params::<f32>::init(&config, InitOptions { seed: 1, std: 0.5 }).unwrap();
        let second = Params::<f32>::init(&config, InitOptions { seed: 2, std: 0.5 }).unwrap();
        let first_trace = forward(&first, &tokens).unwrap();
        assert!(stages.len() * 64 * 8192 >= RECYCLE_MIN_LEN);
        drop(LogitLens::compute(&first, &first_trace, &stages, options));
        let trace = forward(&second, &tokens).unwrap();
        let lens = LogitLens::compute(&second, &trace, &stages, options);
        let last = stages.len() - 1;
        for row in [0, 31, 63] {
            let want = softmax(trace.logits.row(row));
            let diff = (&lens.probs(last, row) - &want).fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(diff < 1e-6, "row {row}: {diff:e}");
        }
    }
}
