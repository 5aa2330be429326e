//! `train_step`: forward, backward and one AdamW update on a batch — the one function the CLI,
//! the GUI worker, the benchmark and the tests all call — and `evaluate`, the validation loss.
//!
//! The batch is cut into one contiguous group of sequences per rayon thread; each group runs
//! its own forward and backward, and the group gradients are summed in group order, weighted
//! by their share of the scored positions. The result is deterministic for a given thread
//! count (the grouping, and so the float rounding, depends on it).

use rayon::prelude::*;

use super::adamw::{AdamW, flatten, squared_norms};
use super::data::Batch;
use crate::model::backward::loss_and_grads;
use crate::model::forward::forward_for_training;
use crate::model::ops::cross_entropy_backward;
use crate::model::{InputError, Params, Scalar};

/// Keeps freed memory in the process (glibc's `mallopt`; see there why).
pub use crate::model::raw::keep_freed_memory;

/// Gradient norms of one block's two sublayers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LayerGradNorms {
    /// `ln1` and the attention weights.
    pub attn: f64,
    /// `ln2` and the MLP weights (0 for attention-only blocks).
    pub mlp: f64,
}

/// What one training step did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepStats {
    /// Mean cross-entropy on the batch before the update (nats per token).
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Input tokens processed.
    pub tokens: usize,
    /// Per-block gradient norms, first block first.
    pub layer_grad_norms: Vec<LayerGradNorms>,
}

/// Why a step did not update the model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The loss or the gradient is NaN or infinite; the weights were left as they were.
    #[error(
        "the loss became {loss} (gradient norm {grad_norm}); training stopped and the last \
         good weights were kept — try a lower learning rate"
    )]
    NonFinite {
        /// The loss of the batch.
        loss: f64,
        /// The gradient norm.
        grad_norm: f64,
    },
    /// The batch does not fit the model.
    #[error("bad batch: {0}")]
    Input(#[from] InputError),
    /// No position of the batch has a target.
    #[error("the batch has no scored positions")]
    NoTargets,
}

/// Contiguous groups of sequences, one per rayon thread (at most one per sequence).
fn groups(batch: usize) -> Vec<std::ops::Range<usize>> {
    let count = rayon::current_num_threads().clamp(1, batch.max(1));
    (0..count)
        .map(|g| g * batch / count..(g + 1) * batch / count)
        .filter(|r| !r.is_empty())
        .collect()
}

/// One group's mean loss, scored positions and flat gradients.
type GroupResult<F> = (f64, usize, Vec<Vec<F>>);

/// Loss and flat gradients ([`flatten`]'s layout) of `batch`, averaged over every scored
/// position, computed in parallel groups.
pub fn batch_loss_and_grads<F: Scalar>(
    params: &Params<F>,
    batch: &Batch,
) -> Result<(f64, Vec<Vec<F>>), TrainError> {
    let total = batch.target_count();
    if total == 0 {
        return Err(TrainError::NoTargets);
    }
    let parts: Vec<Option<GroupResult<F>>> = groups(batch.batch)
        .into_par_iter()
        .map(|range| {
            let part = batch.slice(range);
            let count = part.target_count();
            let out = loss_and_grads(params, &part.sequences(), &part.targets)?;
            Ok(out.map(|o| (o.loss.as_f64(), count, flatten(&o.grads))))
        })
        .collect::<Result<_, InputError>>()?;
    let mut loss = 0.0;
    let mut summed: Option<Vec<Vec<F>>> = None;
    for (part_loss, count, grads) in parts.into_iter().flatten() {
        let weight = count as f64 / total as f64;
        loss += part_loss * weight;
        let w = F::from_f64_lossy(weight);
        match summed.as_mut() {
            None => {
                let mut grads = grads;
                grads
                    .par_iter_mut()
                    .for_each(|t| t.iter_mut().for_each(|g| *g *= w));
                summed = Some(grads);
            }
            Some(acc) => acc.par_iter_mut().zip(&grads).for_each(|(a, g)| {
                a.iter_mut().zip(g).for_each(|(a, &g)| *a += g * w);
            }),
        }
    }
    Ok((loss, summed.ok_or(TrainError::NoTargets)?))
}

/// Per-block gradient norms from flat gradients, using the tensor names of `params`.
pub fn layer_grad_norms<F: Scalar>(params: &Params<F>, grads: &[Vec<F>]) -> Vec<LayerGradNorms> {
    layer_norms_from_squares(params, &squared_norms(grads))
}

/// Per-block gradient norms from each tensor's squared norm ([`squared_norms`]).
fn layer_norms_from_squares<F: Scalar>(params: &Params<F>, squares: &[f64]) -> Vec<LayerGradNorms> {
    let mut norms = vec![LayerGradNorms::default(); params.blocks.len()];
    let mut index = 0;
    params.for_each_tensor(|name, _| {
        let square = squares[index];
        index += 1;
        let Some(rest) = name.strip_prefix("blocks.") else {
            return;
        };
        let Some((layer, part)) = rest.split_once('.') else {
            return;
        };
        let Ok(layer) = layer.parse::<usize>() else {
            return;
        };
        if part.starts_with("attn.") || part.starts_with("ln1.") {
            norms[layer].attn += square;
        } else {
            norms[layer].mlp += square;
        }
    });
    for n in &mut norms {
        n.attn = n.attn.sqrt();
        n.mlp = n.mlp.sqrt();
    }
    norms
}

/// Forward, backward and one AdamW update with learning rate `lr`. On a NaN or infinite
/// loss or gradient the weights and the optimizer are left untouched and
/// [`TrainError::NonFinite`] is returned.
pub fn train_step<F: Scalar>(
    params: &mut Params<F>,
    optimizer: &mut AdamW<F>,
    batch: &Batch,
    lr: f64,
) -> Result<StepStats, TrainError> {
    keep_freed_memory();
    let (loss, grads) = batch_loss_and_grads(params, batch)?;
    let squares = squared_norms(&grads);
    let layer_grad_norms = layer_norms_from_squares(params, &squares);
    let grad_norm = squares.iter().sum::<f64>().sqrt();
    if !loss.is_finite() || !grad_norm.is_finite() {
        return Err(TrainError::NonFinite { loss, grad_norm });
    }
    optimizer.step_with_norm(params, &grads, lr, grad_norm);
    Ok(StepStats {
        loss,
        grad_norm,
        lr,
        tokens: batch.inputs.len(),
        layer_grad_norms,
    })
}

/// Mean cross-entropy (nats per scored token) of `params` over `batches`, in parallel.
pub fn evaluate<F: Scalar>(params: &Params<F>, batches: &[Batch]) -> Result<f64, TrainError> {
    let parts: Vec<(f64, usize)> = batches
        .par_iter()
        .map(|batch| {
            let trace = forward_for_training(params, &batch.sequences())?;
            let count = batch.target_count();
            Ok(cross_entropy_backward(trace.logits.view(), &batch.targets)
                .map_or((0.0, 0), |(loss, _)| (loss.as_f64() * count as f64, count)))
        })
        .collect::<Result<_, InputError>>()?;
    let (sum, count) = parts
        .iter()
        .fold((0.0, 0), |(s, n), &(ps, pn)| (s + ps, n + pn));
    if count == 0 {
        return Err(TrainError::NoTargets);
    }
    Ok(sum / count as f64)
}
