//! `SaeTrainer`: an SAE, Adam's moments and the dead-feature counters, stepped one batch of
//! activations at a time. The CLI, the benchmark and (later) the GUI's training worker call
//! [`SaeTrainer::step`]; where the batches come from is the caller's business
//! ([`super::run::SaeRun`] draws them from a model).
//!
//! - Adam as `torch.optim.Adam` (β = (0.9, 0.999), ε = 1e-8, no weight decay), on every
//!   weight, densely (the moments of a feature that did not fire still decay, as PyTorch's).
//! - The standard kind's decoder rows are scaled back to unit norm after each update (as
//!   SAELens and `torch_sae.py` do), so its L1 term cannot be dodged by shrinking codes and
//!   growing rows. A TopK SAE needs no such constraint (`k` alone bounds its codes) and is
//!   trained as `torch_sae.py` trains it, rows free; its features are chosen on the raw
//!   pre-activations, so it is saved with `rescale_acts_by_decoder_norm: false` and encodes
//!   in SAELens exactly as it trained.
//! - **Dead features** (not active in any of the last `dead_window` tokens) are handled by
//!   **AuxK**, the auxiliary loss SAELens trains TopK SAEs with: the dead features' largest
//!   pre-activations must reconstruct what the live ones missed. Chosen over resampling
//!   because it is a plain term of the loss: every step costs the same and does the same
//!   thing, so a run can be paused, resumed and reproduced step by step on the worker, with
//!   no data pass of its own; and it is sparse (d_in/2 features per token), so it costs little.
//!   It is applied to the standard kind too (SAELens's standard SAE has no dead-feature
//!   term; set `aux` to 0 for exactly its loss).
//! - A loss or gradient that is NaN or infinite leaves the weights as they were and returns
//!   [`SaeTrainError::Diverged`].

use ndarray::{Array1, ArrayView2, Axis};

use super::grad::{BatchLoss, Grads, LossWeights, Workspace, loss_and_grads};
use super::model::{Architecture, Sae, normalize_rows};
use crate::model::Scalar;
use crate::train::adamw::{AdamUpdate, AdamWConfig};

/// How an SAE is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainSettings {
    /// Adam's learning rate.
    pub lr: f64,
    /// L1 and AuxK coefficients.
    pub weights: LossWeights,
    /// A feature not active in this many consecutive tokens is dead.
    pub dead_window: u64,
}

impl TrainSettings {
    /// Defaults: lr 1e-3 (torch_sae.py's), L1 `l1`, AuxK coefficient 1 (SAELens's), a
    /// feature dead after 1 M tokens without firing.
    pub fn new(l1: f64) -> Self {
        Self {
            lr: 1e-3,
            weights: LossWeights { l1, aux: 1.0 },
            dead_window: 1_000_000,
        }
    }
}

/// The figures of one step, measured on its batch before the update.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StepMetrics {
    /// Steps taken, this one included.
    pub step: u64,
    /// Activations (tokens) seen, this batch included.
    pub tokens: u64,
    /// Mean over rows of ‖x̂ − x‖².
    pub mse: f64,
    /// 1 − mse / (mean over rows of ‖x − mean(x)‖²) on the batch.
    pub explained_variance: f64,
    /// Mean number of active features per token.
    pub l0: f64,
    /// Share of features not active in the last `dead_window` tokens.
    pub dead_fraction: f64,
    /// The L1 term (standard kind).
    pub l1_loss: f64,
    /// The AuxK term.
    pub aux_loss: f64,
    /// The whole loss.
    pub loss: f64,
}

/// Why a step did not update the SAE.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SaeTrainError {
    /// NaN or infinity in the loss or the gradient; the weights were left as they were.
    #[error(
        "the SAE's loss became {loss} at step {step}; training stopped with the weights of \
         the step before — try a lower learning rate{hint}"
    )]
    Diverged {
        /// The step that failed.
        step: u64,
        /// Its loss.
        loss: f64,
        /// More advice when it applies.
        hint: String,
    },
    /// The batch or the SAE cannot be trained.
    #[error("{0}")]
    Invalid(String),
}

/// One tensor's Adam moments.
#[derive(Clone, Debug)]
struct Moments<F> {
    first: Vec<F>,
    second: Vec<F>,
}

impl<F: Scalar> Moments<F> {
    fn new(len: usize) -> Self {
        Self {
            first: vec![F::zero(); len],
            second: vec![F::zero(); len],
        }
    }
}

/// An SAE being trained.
#[derive(Debug)]
pub struct SaeTrainer<F: Scalar = f32> {
    /// The weights.
    pub sae: Sae<F>,
    /// The run's settings (the learning rate may change between steps).
    pub settings: TrainSettings,
    /// Steps taken.
    pub steps: u64,
    /// Activations seen.
    pub tokens: u64,
    /// Tokens since each feature was last active. [d_sae]
    since_fired: Vec<u64>,
    moments: [Moments<F>; 4],
    workspace: Workspace<F>,
    grads: Grads<F>,
}

impl<F: Scalar> SaeTrainer<F> {
    /// Starts training `sae` (standard or TopK).
    pub fn new(sae: Sae<F>, settings: TrainSettings) -> Result<Self, SaeTrainError> {
        let (d_sae, d_in) = (sae.config.d_sae, sae.config.d_in);
        if matches!(sae.config.architecture, Architecture::JumpRelu) {
            return Err(SaeTrainError::Invalid(
                "JumpReLU SAEs can be opened but not trained here".into(),
            ));
        }
        if d_sae == 0 || d_in == 0 {
            return Err(SaeTrainError::Invalid(format!(
                "an SAE needs d_in ≥ 1 and d_sae ≥ 1 (got {d_in} and {d_sae})"
            )));
        }
        if let Architecture::TopK { k } = sae.config.architecture
            && (k == 0 || k > d_sae)
        {
            return Err(SaeTrainError::Invalid(format!(
                "k = {k} must be in 1..={d_sae} (the number of features)"
            )));
        }
        let lr = settings.lr;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(SaeTrainError::Invalid(format!(
                "learning rate {lr} must be a positive number"
            )));
        }
        let (l1, aux) = (settings.weights.l1, settings.weights.aux);
        if !(l1.is_finite() && l1 >= 0.0 && aux.is_finite() && aux >= 0.0) {
            return Err(SaeTrainError::Invalid(format!(
                "the L1 ({l1}) and AuxK ({aux}) coefficients must be numbers ≥ 0"
            )));
        }
        let matrix = d_sae * d_in;
        Ok(Self {
            since_fired: vec![0; d_sae],
            moments: [
                Moments::new(matrix),
                Moments::new(d_sae),
                Moments::new(matrix),
                Moments::new(d_in),
            ],
            workspace: Workspace::default(),
            grads: Grads::zeros(d_sae, d_in),
            sae,
            settings,
            steps: 0,
            tokens: 0,
        })
    }

    /// Which features are dead now. [d_sae]
    pub fn dead_mask(&self) -> Vec<bool> {
        self.since_fired
            .iter()
            .map(|&t| t >= self.settings.dead_window)
            .collect()
    }

    /// The share of dead features.
    pub fn dead_fraction(&self) -> f64 {
        let dead = self.dead_mask().iter().filter(|&&d| d).count();
        dead as f64 / self.since_fired.len().max(1) as f64
    }

    /// The loss and gradient of the current weights on `x` [rows, d_in], without updating
    /// (what [`SaeTrainer::step`] computes first).
    pub fn evaluate(&mut self, x: ArrayView2<'_, F>) -> Result<BatchLoss, SaeTrainError> {
        self.check_batch(x)?;
        let dead = self.dead_mask();
        let any_dead = dead.iter().any(|&d| d);
        Ok(loss_and_grads(
            &self.sae,
            x,
            self.settings.weights,
            any_dead.then_some(&dead[..]),
            &mut self.workspace,
            &mut self.grads,
        ))
    }

    fn check_batch(&self, x: ArrayView2<'_, F>) -> Result<(), SaeTrainError> {
        let d_in = self.sae.config.d_in;
        if x.ncols() != d_in || x.nrows() == 0 {
            return Err(SaeTrainError::Invalid(format!(
                "a batch of activations must be [rows ≥ 1, {d_in}], not {:?}",
                x.dim()
            )));
        }
        Ok(())
    }

    /// One update on the batch `x` [rows, d_in].
    pub fn step(&mut self, x: ArrayView2<'_, F>) -> Result<StepMetrics, SaeTrainError> {
        let loss = self.evaluate(x)?;
        let total = loss.total();
        let finite = total.is_finite()
            && self.grads.b_dec.iter().all(|g| g.is_finite())
            && self.grads.b_enc.iter().all(|g| g.is_finite());
        if !finite {
            let hint = if self.settings.weights.l1 > 0.0 {
                " or L1 coefficient"
            } else {
                ""
            };
            return Err(SaeTrainError::Diverged {
                step: self.steps + 1,
                loss: total,
                hint: hint.to_string(),
            });
        }
        self.steps += 1;
        let rows = x.nrows() as u64;
        self.tokens += rows;
        for (since, &fired) in self.since_fired.iter_mut().zip(&loss.fired) {
            *since = if fired { 0 } else { since.saturating_add(rows) };
        }
        self.apply_adam();
        if matches!(self.sae.config.architecture, Architecture::Standard) {
            normalize_rows(&mut self.sae.w_dec);
        }
        let variance = batch_variance(x);
        Ok(StepMetrics {
            step: self.steps,
            tokens: self.tokens,
            mse: loss.mse,
            explained_variance: if variance > 0.0 {
                1.0 - loss.mse / variance
            } else {
                0.0
            },
            l0: loss.l0,
            dead_fraction: self.dead_fraction(),
            l1_loss: loss.l1,
            aux_loss: loss.aux,
            loss: total,
        })
    }

    fn apply_adam(&mut self) {
        let config = AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            grad_clip: None,
        };
        let update = AdamUpdate::<F>::new(&config, self.steps, self.settings.lr, 1.0, 0.0);
        let sae = &mut self.sae;
        let grads = &self.grads;
        let tensors = [
            (sae.w_enc_t.as_slice_mut(), grads.w_enc_t.as_slice()),
            (sae.b_enc.as_slice_mut(), grads.b_enc.as_slice()),
            (sae.w_dec.as_slice_mut(), grads.w_dec.as_slice()),
            (sae.b_dec.as_slice_mut(), grads.b_dec.as_slice()),
        ];
        for ((values, grad), moments) in tensors.into_iter().zip(&mut self.moments) {
            let (Some(values), Some(grad)) = (values, grad) else {
                unreachable!("weights and gradients are contiguous arrays");
            };
            update.apply(values, grad, &mut moments.first, &mut moments.second);
        }
    }
}

/// Mean over rows of ‖x − mean(x)‖², in f64.
pub fn batch_variance<F: Scalar>(x: ArrayView2<'_, F>) -> f64 {
    let rows = x.nrows().max(1) as f64;
    let mean: Array1<f64> = x.map(|v| v.as_f64()).sum_axis(Axis(0)) / rows;
    x.outer_iter()
        .map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(&v, &m)| (v.as_f64() - m).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / rows
}
