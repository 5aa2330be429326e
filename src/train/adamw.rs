//! AdamW as PyTorch defines it (decoupled weight decay), global gradient-norm clipping, and
//! the learning-rate schedule (linear warm-up, then constant or cosine decay to a tenth).
//!
//! Weight decay follows nanoGPT: tensors of two or more dimensions (embeddings and every
//! weight matrix) decay; biases and LayerNorm parameters do not.

use rayon::prelude::*;

use crate::model::scalar::c;
use crate::model::simd::with_widest;
use crate::model::{Params, Scalar};

/// AdamW's hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// Added to √v̂.
    pub eps: f64,
    /// Decoupled weight decay for matrices (0 disables it).
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (`None`: no clipping).
    pub grad_clip: Option<f64>,
}

impl Default for AdamWConfig {
    /// nanoGPT's Shakespeare settings: β = (0.9, 0.99), eps 1e-8, and the weight decay and
    /// clipping of [`super::defaults`].
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: super::defaults::WEIGHT_DECAY,
            grad_clip: Some(super::defaults::GRAD_CLIP),
        }
    }
}

/// The learning rate as a function of the step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    /// Peak learning rate.
    pub lr: f64,
    /// Steps of linear warm-up from `lr / warmup` to `lr`.
    pub warmup: usize,
    /// `Some(total_steps)`: cosine decay from `lr` after warm-up to `lr / 10` at `total_steps`;
    /// `None`: constant after warm-up.
    pub cosine_until: Option<usize>,
}

impl LrSchedule {
    /// The learning rate for step `step` (0-based).
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        match self.cosine_until {
            Some(total) if total > self.warmup => {
                let progress =
                    ((step - self.warmup) as f64 / (total - self.warmup) as f64).min(1.0);
                let min_lr = self.lr / 10.0;
                min_lr + 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()) * (self.lr - min_lr)
            }
            _ => self.lr,
        }
    }
}

/// AdamW's moment estimates, one flat vector per tensor (in `for_each_tensor` order).
#[derive(Clone, Debug)]
pub struct AdamW<F = f32> {
    /// Hyper-parameters.
    pub config: AdamWConfig,
    /// Updates taken so far.
    pub steps_taken: u64,
    first_moment: Vec<Vec<F>>,
    second_moment: Vec<Vec<F>>,
    decays: Vec<bool>,
}

/// Every tensor of `params` as a flat row-major vector, in `for_each_tensor` order: the
/// form gradients take between the backward pass and the optimizer.
pub fn flatten<F: Scalar>(params: &Params<F>) -> Vec<Vec<F>> {
    let mut flat = Vec::new();
    params.for_each_tensor(|_, tensor| {
        flat.push(match tensor.as_slice() {
            Some(values) => values.to_vec(),
            None => tensor.iter().copied().collect(),
        })
    });
    flat
}

/// The squared L2 norm of each flat tensor, in f64, computed in parallel.
pub fn squared_norms<F: Scalar>(grads: &[Vec<F>]) -> Vec<f64> {
    grads
        .par_iter()
        .map(|t| t.iter().map(|&g| g.as_f64() * g.as_f64()).sum())
        .collect()
}

/// The L2 norm of every gradient together, in f64.
pub fn global_norm<F: Scalar>(grads: &[Vec<F>]) -> f64 {
    squared_norms(grads).iter().sum::<f64>().sqrt()
}

/// Tensors at least this long are updated in parallel chunks.
const PARALLEL_CHUNK: usize = 1 << 14;

impl<F: Scalar> AdamW<F> {
    /// Zero moments for a model's tensors.
    pub fn new(params: &Params<F>, config: AdamWConfig) -> Self {
        let mut first_moment = Vec::new();
        let mut decays = Vec::new();
        params.for_each_tensor(|_, tensor| {
            first_moment.push(vec![F::zero(); tensor.len()]);
            decays.push(tensor.ndim() >= 2);
        });
        Self {
            config,
            steps_taken: 0,
            second_moment: first_moment.clone(),
            first_moment,
            decays,
        }
    }

    /// One update with learning rate `lr` from flat gradients ([`flatten`]'s layout). Clips
    /// the gradients first when configured; returns their global norm before clipping.
    pub fn step(&mut self, params: &mut Params<F>, grads: &[Vec<F>], lr: f64) -> f64 {
        let norm = global_norm(grads);
        self.step_with_norm(params, grads, lr, norm);
        norm
    }

    /// [`AdamW::step`] when the caller has already computed the gradients' global norm.
    pub fn step_with_norm(&mut self, params: &mut Params<F>, grads: &[Vec<F>], lr: f64, norm: f64) {
        assert_eq!(grads.len(), self.decays.len(), "gradients match the model");
        let clip_scale = match self.config.grad_clip {
            Some(max) if norm > max => max / (norm + 1e-6),
            _ => 1.0,
        };
        self.steps_taken += 1;
        let config = self.config;
        let mut index = 0;
        params.for_each_tensor_mut(|_, mut tensor| {
            let decay = if self.decays[index] {
                config.weight_decay
            } else {
                0.0
            };
            let update = AdamUpdate::new(&config, self.steps_taken, lr, clip_scale, decay);
            let values = tensor.as_slice_mut().expect("parameters are contiguous");
            update.apply(
                values,
                &grads[index],
                &mut self.first_moment[index],
                &mut self.second_moment[index],
            );
            index += 1;
        });
    }
}

/// One Adam(W) update of one tensor at one step, PyTorch's formula: the constants of the
/// step (bias corrections, decoupled decay, clipping scale) computed once. The optimizer
/// above and the sparse autoencoder's trainer (`sae::trainer`) both apply it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamUpdate<F> {
    beta1: F,
    beta2: F,
    step_size: F,
    inv_bias2: F,
    eps: F,
    clip: F,
    decay: F,
}

impl<F: Scalar> AdamUpdate<F> {
    /// The update of step `t` (1-based) with learning rate `lr`, gradients scaled by `clip`
    /// and decoupled weight decay `weight_decay` (0: plain Adam).
    pub(crate) fn new(config: &AdamWConfig, t: u64, lr: f64, clip: f64, weight_decay: f64) -> Self {
        let t = t.min(i32::MAX as u64) as i32;
        Self {
            beta1: c(config.beta1),
            beta2: c(config.beta2),
            step_size: c(lr / (1.0 - config.beta1.powi(t))),
            inv_bias2: c(1.0 / (1.0 - config.beta2.powi(t))),
            eps: c(config.eps),
            clip: c(clip),
            decay: c(1.0 - lr * weight_decay),
        }
    }

    /// Updates `values` from `grad` and the moments `m`, `v` (all of one length), in parallel
    /// chunks when long.
    pub(crate) fn apply(&self, values: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        if values.len() >= PARALLEL_CHUNK {
            values
                .par_chunks_mut(PARALLEL_CHUNK)
                .zip(grad.par_chunks(PARALLEL_CHUNK))
                .zip(m.par_chunks_mut(PARALLEL_CHUNK))
                .zip(v.par_chunks_mut(PARALLEL_CHUNK))
                .for_each(|(((p, g), m), v)| self.apply_serial(p, g, m, v));
        } else {
            self.apply_serial(values, grad, m, v);
        }
    }

    /// [`AdamUpdate::apply`] on the calling thread.
    pub(crate) fn apply_serial(&self, values: &mut [F], grad: &[F], m: &mut [F], v: &mut [F]) {
        let Self {
            beta1,
            beta2,
            step_size,
            inv_bias2,
            eps,
            clip,
            decay,
        } = *self;
        let one = F::one();
        let update = |(((p, &g), m), v): (((&mut F, &F), &mut F), &mut F)| {
            let g = g * clip;
            *m = beta1 * *m + (one - beta1) * g;
            *v = beta2 * *v + (one - beta2) * g * g;
            *p = *p * decay - step_size * *m / ((*v * inv_bias2).sqrt() + eps);
        };
        with_widest(
            #[inline(always)]
            || values.iter_mut().zip(grad).zip(m).zip(v).for_each(update),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InitOptions, ModelConfig};

    #[test]
    fn schedule_warms_up_then_decays_to_a_tenth() {
        let s = LrSchedule {
            lr: 1e-3,
            warmup: 10,
            cosine_until: Some(110),
        };
        assert!((s.at(0) - 1e-4).abs() < 1e-12);
        assert!((s.at(9) - 1e-3).abs() < 1e-12);
        assert!((s.at(60) - 5.5e-4).abs() < 1e-12);
        assert!((s.at(110) - 1e-4).abs() < 1e-12);
        let constant = LrSchedule {
            cosine_until: None,
            ..s
        };
        assert_eq!(constant.at(1000), 1e-3);
    }

    #[test]
    fn first_step_moves_each_weight_by_lr_and_decays_only_matrices() {
        // With bias correction the first Adam step is lr·sign(g) (for |g| ≫ eps).
        let mut config = ModelConfig::lesson(5);
        config.d_model = 4;
        config.n_heads = 1;
        config.d_head = 4;
        config.n_layers = 1;
        config.d_mlp = 8;
        config.n_ctx = 4;
        let mut params = Params::<f64>::init(&config, InitOptions::default()).unwrap();
        let before = params.clone();
        let mut grads = params.zeros_like();
        grads.for_each_tensor_mut(|_, mut t| t.fill(0.5));
        let grads = flatten(&grads);
        let mut opt = AdamW::new(
            &params,
            AdamWConfig {
                grad_clip: None,
                ..Default::default()
            },
        );
        let lr = 0.01;
        opt.step(&mut params, &grads, lr);
        let (w_after, w_before) = (params.w_e[[0, 0]], before.w_e[[0, 0]]);
        assert!((w_after - (w_before * (1.0 - lr * 0.1) - lr)).abs() < 1e-9);
        let ln_after = params.blocks[0].ln1.w[0];
        assert!(
            (ln_after - (1.0 - lr)).abs() < 1e-9,
            "LayerNorm is not decayed"
        );
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let config = ModelConfig::lesson(5);
        let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let mut grads = params.zeros_like();
        grads.w_e[[0, 0]] = 3.0;
        grads.w_e[[1, 0]] = 4.0;
        let grads = flatten(&grads);
        assert!((global_norm(&grads) - 5.0).abs() < 1e-6);
        let mut moved = params.clone();
        let mut opt = AdamW::new(&params, AdamWConfig::default());
        assert!((opt.step(&mut moved, &grads, 1e-3) - 5.0).abs() < 1e-6);
        // Clipped to norm 1, the first step still moves by lr (Adam is scale-free) but the
        // moments hold the clipped gradient.
        assert!((opt.first_moment[0][0] - 0.1 * 3.0 / 5.0).abs() < 1e-6);
    }
}
