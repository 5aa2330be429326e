//! `SaeRun`: training an SAE on a hook of a model over a corpus, one step at a time — what the
//! `sae train` command loops over and what the GUI's worker will step, pause and stop.
//!
//! Activations come from running the model forward (the plain pass, no gradients) on random
//! windows of the corpus's training split ([`BatchSource::train_batch`], so a text file, the
//! shipped Shakespeare or a built-in task all work), every position of every window read at
//! the hook. They are collected into a buffer of `buffer_batches` batches, shuffled row by
//! row (so a batch mixes many windows and positions, as SAELens's activation store does),
//! and handed out a batch at a time; an empty buffer is refilled. `b_dec` starts at the mean
//! of the first buffer. The model's loss with the hook replaced by the reconstruction is
//! measured on the corpus's held-out split, beside the clean loss.

use std::sync::Arc;

use ndarray::{Array2, Axis, s};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::hook::{HookError, HookPoint};
use super::model::{Architecture, Sae, SaeConfig};
use super::splice::{FeatureEdit, SaeSplice};
use super::trainer::{SaeTrainError, SaeTrainer, StepMetrics, TrainSettings};
use crate::model::forward::{forward_batch, forward_for_training};
use crate::model::hooks::{Intervention, NoIntervention};
use crate::model::io::LoadedModel;
use crate::model::ops::cross_entropy;
use crate::model::{InputError, TokenId};
use crate::train::data::{Batch, BatchSource};

/// What to train and for how long.
#[derive(Clone, Debug, PartialEq)]
pub struct SaeRunOptions {
    /// Where the SAE reads.
    pub hook: HookPoint,
    /// Number of features.
    pub features: usize,
    /// `TopK { k }` or `Standard` (with `settings.weights.l1`).
    pub architecture: Architecture,
    /// Optimiser, loss and dead-feature settings.
    pub settings: TrainSettings,
    /// Stop after this many activations.
    pub tokens: u64,
    /// Activations per step.
    pub batch: usize,
    /// Tokens per window of the corpus (at most the model's context).
    pub seq: usize,
    /// Batches held in the shuffled buffer.
    pub buffer_batches: usize,
    /// Seed of the weights, the windows and the shuffling.
    pub seed: u64,
}

impl SaeRunOptions {
    /// Defaults for `features` features at `hook`: batch 4096, windows of 64 tokens, a
    /// buffer of 8 batches, seed 0.
    pub fn new(hook: HookPoint, features: usize, architecture: Architecture, tokens: u64) -> Self {
        let l1 = if matches!(architecture, Architecture::Standard) {
            5.0
        } else {
            0.0
        };
        Self {
            hook,
            features,
            architecture,
            settings: TrainSettings::new(l1),
            tokens,
            batch: 4096,
            seq: 64,
            buffer_batches: 8,
            seed: 0,
        }
    }
}

/// Why a run could not start or go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SaeRunError {
    /// The hook is not in the model.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The model cannot run on the corpus.
    #[error("the model cannot run on this corpus: {0}")]
    Input(#[from] InputError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] SaeTrainError),
    /// Options that cannot work.
    #[error("{0}")]
    Options(String),
}

/// The model's loss on held-out text, clean and with the hook replaced by the SAE's
/// reconstruction (nats per token).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct SplicedLoss {
    /// Without the SAE.
    pub clean_loss: f64,
    /// With the activation at the hook replaced by its reconstruction.
    pub spliced_loss: f64,
}

/// A training run in progress.
pub struct SaeRun {
    /// The model the SAE reads.
    pub model: Arc<LoadedModel>,
    /// The run's settings.
    pub options: SaeRunOptions,
    /// The SAE and its optimiser.
    pub trainer: SaeTrainer<f32>,
    data: Arc<dyn BatchSource>,
    rng: StdRng,
    buffer: Array2<f32>,
    next_row: usize,
}

impl SaeRun {
    /// Checks the options against the model and the data, fills the first buffer and sets
    /// up the SAE.
    pub fn new(
        model: Arc<LoadedModel>,
        data: Arc<dyn BatchSource>,
        options: SaeRunOptions,
    ) -> Result<Self, SaeRunError> {
        let config = &model.params.config;
        options.hook.check(config)?;
        if data.d_vocab() > config.d_vocab {
            return Err(SaeRunError::Options(format!(
                "the corpus has {} token ids but the model's vocabulary is {}: train the SAE \
                 on the model's own corpus",
                data.d_vocab(),
                config.d_vocab
            )));
        }
        if options.seq == 0 || options.seq > config.n_ctx {
            return Err(SaeRunError::Options(format!(
                "windows of {} tokens do not fit the model's context of {}",
                options.seq, config.n_ctx
            )));
        }
        data.check_seq(options.seq).map_err(SaeRunError::Options)?;
        if options.batch == 0 || options.batch > 1 << 16 || options.buffer_batches == 0 {
            return Err(SaeRunError::Options(format!(
                "the batch ({}) must be in 1..=65536 and the buffer hold at least one",
                options.batch
            )));
        }
        if options.features == 0 || options.features > 1 << 20 {
            return Err(SaeRunError::Options(format!(
                "{} features: choose 1..=1048576",
                options.features
            )));
        }
        let mut sae_config = SaeConfig::new(config.d_model, options.features, options.architecture);
        sae_config.metadata = super::files::training_metadata(
            &model.name,
            &options.hook.name(),
            options.seq,
            &data.describe(),
        );
        let sae = Sae::init(sae_config, options.seed);
        let trainer = SaeTrainer::new(sae, options.settings)?;
        let mut run = Self {
            rng: StdRng::seed_from_u64(options.seed ^ 0x5AE_DA7A),
            model,
            options,
            trainer,
            data,
            buffer: Array2::zeros((0, 0)),
            next_row: 0,
        };
        run.refill()?;
        let mean = run.buffer.mean_axis(Axis(0)).unwrap_or_default();
        if mean.len() == run.trainer.sae.b_dec.len() {
            run.trainer.sae.b_dec.assign(&mean);
        }
        Ok(run)
    }

    /// Whether the run has seen all its tokens.
    pub fn finished(&self) -> bool {
        self.trainer.tokens >= self.options.tokens
    }

    /// One update on the next batch of activations.
    pub fn step(&mut self) -> Result<StepMetrics, SaeRunError> {
        let batch = self.options.batch;
        if self.next_row + batch > self.buffer.nrows() {
            self.refill()?;
        }
        let rows = self.next_row..self.next_row + batch;
        self.next_row += batch;
        let x = self.buffer.slice(s![rows, ..]);
        Ok(self.trainer.step(x)?)
    }

    /// Refills the buffer with fresh activations, shuffled.
    fn refill(&mut self) -> Result<(), SaeRunError> {
        let wanted = self.options.batch * self.options.buffer_batches;
        let seq = self.options.seq;
        let windows = wanted.div_ceil(seq);
        let batch = self.data.train_batch(&mut self.rng, windows, seq);
        let mut rows = activations(&self.model, &batch, self.options.hook)?;
        let mut order: Vec<usize> = (0..rows.nrows()).collect();
        order.shuffle(&mut self.rng);
        order.truncate(wanted);
        rows = rows.select(Axis(0), &order);
        self.buffer = rows;
        self.next_row = 0;
        Ok(())
    }

    /// The model's loss on (up to 8 batches of) the held-out split, clean and with the hook
    /// replaced by the SAE's reconstruction.
    pub fn spliced_loss(&self) -> Result<SplicedLoss, SaeRunError> {
        let batches: Vec<Batch> = self
            .data
            .validation_batches(16, self.options.seq)
            .into_iter()
            .take(8)
            .collect();
        spliced_loss(&self.model, &self.trainer.sae, self.options.hook, &batches)
    }
}

/// The activations at `hook` of every position of `batch`'s windows. [windows·seq, d_model]
pub fn activations(
    model: &LoadedModel,
    batch: &Batch,
    hook: HookPoint,
) -> Result<Array2<f32>, SaeRunError> {
    let sequences = batch.sequences();
    // At least one group per thread, and at most 64 windows per forward pass, so that the
    // traces of a refill (every hook of every window) stay small.
    let groups = rayon::current_num_threads().max(1);
    let per_group = sequences.len().div_ceil(groups).clamp(1, 64);
    let parts: Vec<Result<Array2<f32>, SaeRunError>> = sequences
        .par_chunks(per_group)
        .map(|group| {
            let trace = forward_for_training(&model.params, group)?;
            hook.read(&trace)
                .map(|view| view.to_owned())
                .ok_or_else(|| SaeRunError::Options(format!("the model has no {}", hook.name())))
        })
        .collect();
    let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(0), &views).map_err(|e| SaeRunError::Options(e.to_string()))
}

/// Mean next-token loss over the scored positions of `batches`, with `intervention` in the
/// forward pass.
pub fn model_loss(
    model: &LoadedModel,
    batches: &[Batch],
    intervention: &dyn Intervention<f32>,
) -> Result<f64, SaeRunError> {
    let (mut total, mut count) = (0.0, 0usize);
    for batch in batches {
        let trace = forward_batch(&model.params, &batch.sequences(), intervention)?;
        let (rows, targets): (Vec<usize>, Vec<TokenId>) = batch
            .targets
            .iter()
            .enumerate()
            .filter_map(|(row, t)| t.map(|t| (row, t)))
            .unzip();
        if rows.is_empty() {
            continue;
        }
        let logits = trace.logits.select(Axis(0), &rows);
        total += f64::from(cross_entropy(logits.view(), &targets)) * rows.len() as f64;
        count += rows.len();
    }
    if count == 0 {
        return Err(SaeRunError::Options(
            "the held-out split has no scored tokens".into(),
        ));
    }
    Ok(total / count as f64)
}

/// [`SplicedLoss`] of `sae` at `hook` on `batches`.
pub fn spliced_loss(
    model: &LoadedModel,
    sae: &Sae<f32>,
    hook: HookPoint,
    batches: &[Batch],
) -> Result<SplicedLoss, SaeRunError> {
    let splice = SaeSplice {
        sae,
        site: hook.site(model.params.config.n_layers),
        edits: vec![FeatureEdit::Reconstruct],
    };
    Ok(SplicedLoss {
        clean_loss: model_loss(model, batches, &NoIntervention)?,
        spliced_loss: model_loss(model, batches, &splice)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_can_move_to_a_worker_thread() {
        fn send<T: Send>() {}
        send::<SaeRun>();
        send::<SaeTrainer<f32>>();
    }
}
