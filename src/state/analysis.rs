//! One forward pass and everything the views derive from it, computed together (on the
//! trace worker for big models) and then only read.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use ndarray::Array2;

use super::lens_fill::{LENS_CHUNK_BYTES, LensFill};
use super::logits::AnalysisLogits;
use crate::interp::attribution::{AttributionError, LogitAttribution};
use crate::interp::interventions::Interventions;
use crate::interp::lens_grid::LensGrid;
use crate::interp::vocab_rows::{RowSummary, summarize_row};
use crate::interp::{AnalysisOptions, Stage, StreamTerms, stages};
use crate::model::hooks::Stoppable;
use crate::model::io::LoadedModel;
use crate::model::{InputError, TokenId, Trace, forward_batch_before_unembedding};

/// The next [`Analysis::serial`].
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A trace of the prompt through one model, with what the views read from it.
#[derive(Debug)]
pub struct Analysis {
    /// The model that ran (the views label tokens with its tokenizer).
    pub model: Arc<LoadedModel>,
    /// The input ids. [pos]
    pub tokens: Vec<TokenId>,
    /// Every activation.
    pub trace: Trace<f32>,
    /// The stage slider's notches for this model.
    pub stages: Vec<Stage>,
    /// L2 norm of each token's vector at each stage; NaN at the logits stage (no view shows
    /// it, and the logits come later: [`Analysis::logits_row`]). [pos, stage]
    pub norms: Array2<f32>,
    /// The options the analysis was computed with (the lens' LayerNorm convention).
    pub options: AnalysisOptions,
    /// The stream's decomposition into terms, contributions and attribution.
    pub interp: StreamTerms,
    /// The interventions the model ran with (empty: the plain forward).
    pub interventions: Interventions,
    /// The model's logits: the selected token's row with the trace, every row after that
    /// token's lens row. The trace's own `logits` are empty; read these.
    logits: AnalysisLogits,
    /// The logit lens, filled row by row (by the trace worker, see [`LensFill`]); read it
    /// with [`Analysis::lens`].
    lens: RwLock<LensGrid>,
    /// Unique in the process ([`Analysis::serial`]).
    serial: u64,
}

impl Analysis {
    /// Runs the model on `tokens` and derives the views' data, the whole lens included.
    pub fn compute(
        model: Arc<LoadedModel>,
        tokens: &[TokenId],
        options: AnalysisOptions,
    ) -> Result<Self, InputError> {
        Self::compute_with(model, tokens, options, Interventions::new())
    }

    /// Runs the model on `tokens` with `interventions` applied at their hook sites and
    /// derives the views' data, the whole lens included.
    pub fn compute_with(
        model: Arc<LoadedModel>,
        tokens: &[TokenId],
        options: AnalysisOptions,
        interventions: Interventions,
    ) -> Result<Self, InputError> {
        let (analysis, mut fill) = Self::start(model, tokens, options, interventions, 0, &|| true)?;
        while fill.fill_next(&analysis) > 0 {}
        Ok(analysis)
    }

    /// Runs the model and derives everything but the lens; the returned fill computes the
    /// lens, the row `focus` in its first chunk (see [`LensFill`]), so every other view can
    /// be shown before the lens's products against the unembedding. The forward pass asks `still_wanted` before each block and stops with
    /// [`InputError::Stopped`] when it says `false`.
    pub fn start(
        model: Arc<LoadedModel>,
        tokens: &[TokenId],
        options: AnalysisOptions,
        interventions: Interventions,
        focus: usize,
        still_wanted: &(dyn Fn() -> bool + Sync),
    ) -> Result<(Self, LensFill), InputError> {
        Self::start_in_chunks(
            model,
            tokens,
            options,
            interventions,
            (focus, LENS_CHUNK_BYTES),
            still_wanted,
        )
    }

    /// [`Analysis::start`] with lens chunks of at most `chunk_bytes` of logits.
    pub fn start_in_chunks(
        model: Arc<LoadedModel>,
        tokens: &[TokenId],
        options: AnalysisOptions,
        interventions: Interventions,
        (focus, chunk_bytes): (usize, usize),
        still_wanted: &(dyn Fn() -> bool + Sync),
    ) -> Result<(Self, LensFill), InputError> {
        let params = &model.params;
        let stoppable = Stoppable {
            inner: &interventions,
            still_wanted,
        };
        let (trace, unembed_in) = forward_batch_before_unembedding(params, &[tokens], &stoppable)?;
        let logits = AnalysisLogits::new(params, unembed_in, focus);
        let interp = StreamTerms::compute(params, &trace, &interventions.skip_changes());
        let stages = stages(&params.config);
        let mut norms = Array2::from_elem((trace.n_pos, stages.len()), f32::NAN);
        for (stage_index, stage) in stages.iter().enumerate() {
            for pos in 0..trace.n_pos {
                if let Some(vector) = stage.vector(&trace, pos) {
                    norms[[pos, stage_index]] = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
                }
            }
        }
        let lens = LensGrid::empty(
            options.lens_stages.of(&params.config),
            trace.n_pos,
            options.lens.top_k.clamp(1, params.config.d_vocab),
            options.lens.norm,
            params.ln_final.is_some(),
        );
        let analysis = Self {
            model,
            tokens: tokens.to_vec(),
            trace,
            stages,
            norms,
            options,
            interp,
            interventions,
            logits,
            lens: RwLock::new(lens),
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        let fill = LensFill::with_chunk_bytes(&analysis, focus, chunk_bytes);
        Ok((analysis, fill))
    }

    /// The logit lens as computed so far. A read lock: the worker only holds the write lock
    /// while it copies a finished chunk in. Hold one guard at a time in a thread (a second
    /// read while the worker waits to write would wait for the first guard).
    pub fn lens(&self) -> RwLockReadGuard<'_, LensGrid> {
        self.lens.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a computed chunk of lens rows in place.
    pub(crate) fn insert_lens_rows(&self, rows: &crate::interp::lens_grid::LensRows) {
        self.lens
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rows);
    }

    /// The model's logits at `pos`, once computed (the selected token's come with the
    /// trace, the others after its lens row). [d_vocab]
    pub fn logits_row(&self, pos: usize) -> Option<ndarray::ArrayView1<'_, f32>> {
        self.logits.row(pos)
    }

    /// The `k` most likely next tokens at `pos`, with the log-sum-exp that turns their
    /// logits into probabilities; `None` until the logits at `pos` are computed.
    pub fn top_predictions(&self, pos: usize, k: usize) -> Option<RowSummary> {
        let logits = self.logits_row(pos)?;
        let logits = logits.as_slice().expect("a row of a standard-layout array");
        Some(summarize_row(logits, k))
    }

    /// Every position's logits, once computed. [pos, d_vocab]
    pub fn logits(&self) -> Option<&Array2<f32>> {
        self.logits.all()
    }

    /// Computes every position's logits now if they are not yet (the lens fill does it right
    /// after the selected token's row). [pos, d_vocab]
    pub fn complete_logits(&self) -> &Array2<f32> {
        self.logits.complete(&self.model.params)
    }

    /// Direct logit attribution of `token`'s logit at every position (see
    /// [`crate::interp::attribution`]); the reconstruction error is NaN at positions whose
    /// logits are not computed yet.
    pub fn attribution(&self, token: TokenId) -> Result<LogitAttribution, AttributionError> {
        self.interp.attribution_given_logits(
            &self.model.params,
            &self.trace,
            &|pos| self.logits_row(pos),
            token,
        )
    }

    /// A number no other analysis of this process has: the key of what views cache per
    /// analysis (an address is not: a new analysis may be allocated where a dropped one was).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Number of token positions.
    pub fn n_pos(&self) -> usize {
        self.trace.n_pos
    }

    /// The chip text of the token at `pos` (whitespace made visible).
    pub fn token_text(&self, pos: usize) -> String {
        self.tokens
            .get(pos)
            .map(|&id| self.model.tokenizer.display_token(id))
            .unwrap_or_default()
    }

    /// The display text of any vocabulary token.
    pub fn vocab_text(&self, id: TokenId) -> String {
        self.model.tokenizer.display_token(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::models::default_model;

    #[test]
    fn norms_match_the_stage_vectors() {
        let model = Arc::new(default_model());
        let ids = model.tokenizer.encode("To be").ids;
        let analysis = Analysis::compute(model, &ids, AnalysisOptions::default()).unwrap();
        assert_eq!(analysis.norms.dim(), (5, analysis.stages.len()));
        let embed = analysis.trace.layers[0].resid_pre.row(2);
        let norm = embed.dot(&embed).sqrt();
        assert!((analysis.norms[[2, 0]] - norm).abs() < 1e-5);
        assert_eq!(analysis.token_text(2), "␣");
        // The rank is where the next token's probability sorts among all tokens; at the
        // final stage the lens is the model's own output.
        let lens = analysis.lens();
        assert!(lens.is_complete());
        let (stage, pos) = (lens.stages.len() - 1, 1);
        let probs = crate::model::ops::softmax(analysis.logits_row(pos).unwrap());
        let next = probs[ids[pos + 1] as usize];
        let better = probs.iter().filter(|&&p| p > next).count() as u32;
        let cell = lens.cell(stage, pos).unwrap();
        assert_eq!(cell.next_rank, Some(better + 1));
        assert!((cell.next_prob - next).abs() < 1e-6);
        assert_eq!(lens.cell(stage, ids.len() - 1).unwrap().next_rank, None);
    }

    #[test]
    fn the_logits_come_for_the_selected_token_first_then_for_every_token() {
        let model = Arc::new(default_model());
        let ids = model.tokenizer.encode("To be, or not").ids;
        let n = ids.len();
        let whole = crate::model::forward(&model.params, &ids).unwrap();
        let plain = StreamTerms::compute(&model.params, &whole, &[]);
        let want = plain.attribution(&model.params, &whole, 7).unwrap();
        let (analysis, mut fill) = Analysis::start_in_chunks(
            Arc::clone(&model),
            &ids,
            AnalysisOptions::default(),
            Interventions::new(),
            (2, 1), // one row per chunk
            &|| true,
        )
        .unwrap();
        // With the trace: the selected token's row only.
        assert!(analysis.logits().is_none());
        assert!(analysis.logits_row(2).is_some() && analysis.logits_row(3).is_none());
        assert!(analysis.top_predictions(3, 5).is_none());
        let early = analysis.attribution(7).unwrap();
        assert_eq!(early.values, want.values, "the terms' parts need no logits");
        assert!(early.reconstruction_error[2] < 1e-4);
        assert!(
            early.reconstruction_error[3].is_nan(),
            "no logits there yet"
        );
        // The selected token's lens row, then every token's logits before the next row.
        fill.fill_next(&analysis);
        assert!(analysis.logits().is_none());
        fill.fill_next(&analysis);
        let all = analysis.logits().expect("after the selected token's row");
        for pos in 0..n {
            for (a, b) in all.row(pos).iter().zip(whole.logits.row(pos)) {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "pos {pos}: {a} vs {b}"
                );
            }
        }
        let late = analysis.attribution(7).unwrap();
        assert!(late.reconstruction_error.iter().all(|&e| e < 1e-4));
        let top = analysis.top_predictions(3, 1).unwrap();
        let argmax = (0..all.ncols())
            .max_by(|&a, &b| all[[3, a]].total_cmp(&all[[3, b]]))
            .unwrap();
        assert_eq!(top.top_ids[0] as usize, argmax);
    }

    #[test]
    fn a_one_token_prompt_has_its_logits_and_lens() {
        let model = Arc::new(default_model());
        let ids = model.tokenizer.encode("T").ids;
        assert_eq!(ids.len(), 1);
        let analysis = Analysis::compute(Arc::clone(&model), &ids, AnalysisOptions::default())
            .expect("one token runs");
        let whole = crate::model::forward(&model.params, &ids).unwrap();
        let logits = analysis.logits().expect("complete with the lens");
        assert_eq!(logits.dim(), whole.logits.dim());
        assert!(analysis.lens().is_complete());
        assert!(analysis.attribution(0).unwrap().reconstruction_error[0] < 1e-4);
    }

    #[test]
    fn every_analysis_has_its_own_serial_even_at_a_reused_address() {
        let model = Arc::new(default_model());
        let ids = model.tokenizer.encode("To be").ids;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..4 {
            // Each one is dropped before the next is made, so the allocator may reuse the
            // address; the serial must still differ.
            let analysis =
                Analysis::compute(Arc::clone(&model), &ids, AnalysisOptions::default()).unwrap();
            assert!(
                seen.insert(analysis.serial()),
                "serial {} twice",
                analysis.serial()
            );
        }
    }
}
