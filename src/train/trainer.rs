//! `Trainer`: a model, its optimizer, a data source and a seeded sampler, stepped one batch at
//! a time. The CLI loop and the GUI worker both drive one, so the schedule, the sampling and
//! the validation set are the same everywhere.

use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::adamw::{AdamW, AdamWConfig, LrSchedule};
use super::data::{Batch, BatchSource};
use super::defaults;
use super::step::{StepStats, TrainError, evaluate, train_step};
use crate::model::Params;

/// How to train: sizes, schedule, optimizer, seed and evaluation cadence.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Number of updates.
    pub steps: usize,
    /// Sequences per batch.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq: usize,
    /// Learning rate over time.
    pub schedule: LrSchedule,
    /// AdamW settings.
    pub adamw: AdamWConfig,
    /// Seed of the batch sampler.
    pub seed: u64,
    /// Evaluate the validation loss every this many steps (and after the last one).
    pub eval_every: usize,
}

impl TrainOptions {
    /// The [`defaults`] for a run of `steps` updates: warm-up then cosine decay to the last
    /// step.
    pub fn new(steps: usize) -> Self {
        Self {
            steps,
            batch: defaults::BATCH,
            seq: defaults::SEQ,
            schedule: LrSchedule {
                lr: defaults::LR,
                warmup: defaults::WARMUP,
                cosine_until: Some(steps),
            },
            adamw: AdamWConfig::default(),
            seed: defaults::SEED,
            eval_every: defaults::EVAL_EVERY,
        }
    }
}

/// A training run in progress.
pub struct Trainer {
    /// The weights being trained.
    pub params: Params<f32>,
    /// The optimizer state.
    pub optimizer: AdamW<f32>,
    /// Where batches come from.
    pub data: Arc<dyn BatchSource>,
    /// The run's settings (the schedule's peak may change while it runs).
    pub options: TrainOptions,
    /// Updates done so far.
    pub step: usize,
    rng: StdRng,
    validation: Vec<Batch>,
}

impl Trainer {
    /// Checks that the data fits the model and the options, and prepares the validation set.
    pub fn new(
        params: Params<f32>,
        data: Arc<dyn BatchSource>,
        options: TrainOptions,
    ) -> Result<Self, String> {
        let config = &params.config;
        config.trainable()?;
        if data.d_vocab() > config.d_vocab {
            return Err(format!(
                "the data has {} token ids but the model's vocabulary is {}",
                data.d_vocab(),
                config.d_vocab
            ));
        }
        if options.seq > config.n_ctx {
            return Err(format!(
                "sequence length {} is longer than the model's context of {}",
                options.seq, config.n_ctx
            ));
        }
        if options.batch == 0 || options.batch > 4096 {
            return Err(format!("batch size {} must be in 1..=4096", options.batch));
        }
        data.check_seq(options.seq)?;
        let lr = options.schedule.lr;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(format!("learning rate {lr} must be a positive number"));
        }
        let validation = data.validation_batches(options.batch, options.seq);
        Ok(Self {
            optimizer: AdamW::new(&params, options.adamw),
            rng: StdRng::seed_from_u64(options.seed),
            params,
            data,
            options,
            step: 0,
            validation,
        })
    }

    /// Whether every step has been taken.
    pub fn finished(&self) -> bool {
        self.step >= self.options.steps
    }

    /// Draws a batch and takes one update. On [`TrainError::NonFinite`] the weights stay as
    /// they were before the step.
    pub fn step(&mut self) -> Result<StepStats, TrainError> {
        let batch = self
            .data
            .train_batch(&mut self.rng, self.options.batch, self.options.seq);
        let lr = self.options.schedule.at(self.step);
        let stats = train_step(&mut self.params, &mut self.optimizer, &batch, lr)?;
        self.step += 1;
        Ok(stats)
    }

    /// Whether the step just taken is one to evaluate after.
    pub fn should_evaluate(&self) -> bool {
        self.finished()
            || (self.options.eval_every > 0 && self.step.is_multiple_of(self.options.eval_every))
    }

    /// Mean validation loss (nats per token) of the current weights.
    pub fn validation_loss(&self) -> Result<f64, TrainError> {
        evaluate(&self.params, &self.validation)
    }
}
