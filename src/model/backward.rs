//! The backward pass: the gradient of the loss with respect to every parameter, by hand.
//!
//! llm.c's layout: the forward's [`Trace`] is the cache, and the pass walks the forward in
//! reverse, each step naming the forward line it reverses. Per-op backwards sit beside their
//! forwards (`ops.rs`: LayerNorm, activations, softmax, cross-entropy; `attention.rs`;
//! `forward.rs`: the MLP); this file assembles them per block and for the whole model.
//! Gradients land in a [`Params`] of the same shape as the model ([`Params::zeros_like`]).
//!
//! The backward assumes the trace came from the plain forward (no intervention).

use super::linalg::{mat_mul, product};
use ndarray::{Array2, ArrayView2, Axis};

use super::attention::{AttentionCache, attention_backward};
use super::config::{ModelConfig, NormPlacement};
use super::forward::{InputError, LayerTrace, TokenId, Trace, forward_for_training, mlp_backward};
use super::ops::{cross_entropy_backward, layer_norm_backward};
use super::params::{BlockParams, LayerNormParams, Params};
use super::scalar::Scalar;

/// The gradient of every parameter, given `d_logits` [rows, d_vocab] = dLoss/dlogits for the
/// forward pass that produced `trace`.
pub fn backward<F: Scalar>(
    params: &Params<F>,
    trace: &Trace<F>,
    d_logits: ArrayView2<'_, F>,
) -> Params<F> {
    let mut grads = params.zeros_like();
    let owned_resid; // only for a model without blocks
    let final_resid = match trace.layers.last() {
        Some(layer) => layer.resid_post.view(),
        None => {
            owned_resid = trace.final_resid();
            owned_resid.view()
        }
    };
    let unembed_in = trace
        .ln_final
        .as_ref()
        .map_or(final_resid, |ln| ln.out.view()); // [rows, d_model]

    // Reverses `logits = unembed_in · W_U + b_U` (W_U = W_Eᵀ when tied).
    if let Some(d_b_u) = grads.b_u.as_mut() {
        *d_b_u += &d_logits.sum_axis(Axis(0));
    }
    match grads.w_u.as_mut() {
        Some(d_w_u) => mat_mul(F::one(), &unembed_in.t(), &d_logits, F::one(), d_w_u),
        None => mat_mul(
            F::one(),
            &d_logits.t(),
            &unembed_in,
            F::one(),
            &mut grads.w_e,
        ),
    }
    let mut d_resid = product(F::one(), &d_logits, &params.unembed().t()); // [rows, d_model]

    // Reverses `ln_final`.
    if let (Some(ln), Some(ln_trace), Some(d_ln)) = (
        params.ln_final.as_ref(),
        trace.ln_final.as_ref(),
        grads.ln_final.as_mut(),
    ) {
        d_resid = ln_backward(ln, ln_trace, d_resid.view(), d_ln);
    }

    // Reverses the blocks, last to first.
    for ((block, layer_trace), d_block) in params
        .blocks
        .iter()
        .zip(&trace.layers)
        .zip(grads.blocks.iter_mut())
        .rev()
    {
        d_resid = block_backward(&params.config, block, layer_trace, d_resid, d_block);
    }

    // Reverses `resid = W_E[tokens] + W_pos[pos]`.
    for (row, d_row) in d_resid.outer_iter().enumerate() {
        let token = trace.tokens[row] as usize;
        let mut d_embed = grads.w_e.row_mut(token);
        d_embed += &d_row;
        let mut d_pos = grads.w_pos.row_mut(row % trace.n_pos);
        d_pos += &d_row;
    }
    grads
}

fn ln_backward<F: Scalar>(
    ln: &LayerNormParams<F>,
    trace: &super::ops::LayerNormTrace<F>,
    d_out: ArrayView2<'_, F>,
    d_ln: &mut LayerNormParams<F>,
) -> Array2<F> {
    layer_norm_backward(
        d_out,
        trace,
        ln.w.view(),
        d_ln.w.view_mut(),
        d_ln.b.view_mut(),
    )
}

/// Reverses `block_forward`: from `d_resid_post` [rows, d_model] to `d_resid_pre`, adding the
/// block's weight gradients into `grads`.
fn block_backward<F: Scalar>(
    config: &ModelConfig,
    block: &BlockParams<F>,
    trace: &LayerTrace<F>,
    d_resid_post: Array2<F>,
    grads: &mut BlockParams<F>,
) -> Array2<F> {
    let post_norm = config.norm == NormPlacement::Post;

    // MLP sublayer. Attention-only blocks have `resid_post = resid_mid`.
    let d_resid_mid = match (&block.mlp, &trace.mlp, grads.mlp.as_mut()) {
        (Some(weights), Some(mlp_trace), Some(d_mlp)) => {
            // Post-LN: reverses `resid_post = ln2(mlp_sum)`.
            let d_mlp_sum = if post_norm {
                ln_backward(
                    &weights.ln2,
                    &mlp_trace.ln2,
                    d_resid_post.view(),
                    &mut d_mlp.ln2,
                )
            } else {
                d_resid_post
            };
            // Reverses `out = mlp(mlp_in)`, mlp_in = ln2(resid_mid) (pre-LN) or resid_mid.
            let mlp_in = if post_norm {
                trace.resid_mid.view()
            } else {
                mlp_trace.ln2.out.view()
            };
            let d_mlp_in = mlp_backward(
                weights,
                config.activation,
                mlp_in,
                mlp_trace,
                d_mlp_sum.view(),
                d_mlp,
            );
            // Pre-LN: reverses `mlp_in = ln2(resid_mid)`.
            let d_from_mlp = if post_norm {
                d_mlp_in
            } else {
                ln_backward(
                    &weights.ln2,
                    &mlp_trace.ln2,
                    d_mlp_in.view(),
                    &mut d_mlp.ln2,
                )
            };
            // Reverses `mlp_sum = skip + out`, skip = resid_mid (or 0 without residuals).
            if config.residual {
                d_from_mlp + &d_mlp_sum
            } else {
                d_from_mlp
            }
        }
        _ => d_resid_post,
    };

    // Attention sublayer. Post-LN: reverses `resid_mid = ln1(attn_sum)`.
    let d_attn_sum = if post_norm {
        ln_backward(&block.ln1, &trace.ln1, d_resid_mid.view(), &mut grads.ln1)
    } else {
        d_resid_mid
    };
    // Reverses `attn_out = attn(attn_in)`, attn_in = ln1(resid_pre) (pre-LN) or resid_pre.
    let cache = AttentionCache {
        x: if post_norm {
            trace.resid_pre.view()
        } else {
            trace.ln1.out.view()
        },
        q: &trace.q,
        k: &trace.k,
        v: &trace.v,
        pattern: &trace.pattern,
        z: &trace.z,
    };
    let d_attn_in = attention_backward(&block.attn, &cache, d_attn_sum.view(), &mut grads.attn);
    // Pre-LN: reverses `attn_in = ln1(resid_pre)`.
    let d_from_attn = if post_norm {
        d_attn_in
    } else {
        ln_backward(&block.ln1, &trace.ln1, d_attn_in.view(), &mut grads.ln1)
    };
    // Reverses `attn_sum = skip + attn_out`, skip = resid_pre (or 0).
    if config.residual {
        d_from_attn + &d_attn_sum
    } else {
        d_from_attn
    }
}

/// Next-token targets for a batch laid out as in a [`Trace`]: row `b·n_pos + p` predicts the
/// token at `p + 1`; the last position of each sequence has no target.
pub fn next_token_targets(tokens: &[TokenId], n_pos: usize) -> Vec<Option<TokenId>> {
    tokens
        .chunks(n_pos.max(1))
        .flat_map(|seq| {
            seq.iter()
                .skip(1)
                .map(|&t| Some(t))
                .chain(std::iter::once(None))
        })
        .collect()
}

/// What one forward and backward pass produced.
#[derive(Clone, Debug)]
pub struct LossAndGrads<F> {
    /// Mean cross-entropy over the rows with a target (nats per token).
    pub loss: F,
    /// dLoss/dθ for every parameter.
    pub grads: Params<F>,
    /// The forward pass (its activations are the backward's cache).
    pub trace: Trace<F>,
}

/// Forward, cross-entropy against `targets` (one per row, sequence-major; `None` rows carry no
/// loss) and backward. `None` inside `Ok` when no row has a target.
pub fn loss_and_grads<F: Scalar>(
    params: &Params<F>,
    sequences: &[&[TokenId]],
    targets: &[Option<TokenId>],
) -> Result<Option<LossAndGrads<F>>, InputError> {
    let trace = forward_for_training(params, sequences)?;
    if targets.len() != trace.tokens.len() {
        return Err(InputError::Ragged);
    }
    for (pos, target) in targets.iter().enumerate() {
        if let Some(token_id) = *target
            && token_id as usize >= params.config.d_vocab
        {
            return Err(InputError::OutOfVocabulary {
                token_id,
                pos,
                d_vocab: params.config.d_vocab,
            });
        }
    }
    let Some((loss, d_logits)) = cross_entropy_backward(trace.logits.view(), targets) else {
        return Ok(None);
    };
    let grads = backward(params, &trace, d_logits.view());
    Ok(Some(LossAndGrads { loss, grads, trace }))
}
