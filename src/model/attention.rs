//! Causal multi-head attention: `attention_forward` and, beside it, `attention_backward`.
//!
//! Q, K and V of every head come from one fused matrix product over all rows,
//! `x [rows, d_model] · W_qkv [d_model, 3·n_heads·d_head]`, where `W_qkv` lays `W_Q`, `W_K`,
//! `W_V` side by side (head `h` of part `p` owns columns `p·H·dh + h·dh ..`). One large
//! product is several times faster than `3·n_heads` thin ones; the per-head arrays the
//! Trace records are slices of it.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Array3, Array4, ArrayView2, Axis, s};

use super::ops::{causal_softmax_backward_in_place, causal_softmax_in_place};
use super::params::AttentionParams;
use super::scalar::{Scalar, c};

/// What the attention sublayer computed, before `b_O` and the residual addition.
pub(crate) struct AttentionTrace<F> {
    pub q: Array3<F>,           // [head, rows, d_head]
    pub k: Array3<F>,           // [head, rows, d_head]
    pub v: Array3<F>,           // [head, rows, d_head]
    pub scores: Array4<F>,      // [batch, head, query_pos, key_pos]
    pub pattern: Array4<F>,     // [batch, head, query_pos, key_pos]
    pub z: Array3<F>,           // [head, rows, d_head]
    pub head_result: Array3<F>, // [head, rows, d_model]; [head, 0, d_model] when fused
    /// `Σ_h z[h]·W_O[h]` from one fused product, when per-head results were not asked for.
    pub fused_out: Option<Array2<F>>, // [rows, d_model]
}

/// The attention activations backward reads (borrowed from a `LayerTrace`).
pub(crate) struct AttentionCache<'a, F> {
    /// The sublayer's input. [rows, d_model]
    pub x: ArrayView2<'a, F>,
    pub q: &'a Array3<F>,       // [head, rows, d_head]
    pub k: &'a Array3<F>,       // [head, rows, d_head]
    pub v: &'a Array3<F>,       // [head, rows, d_head]
    pub pattern: &'a Array4<F>, // [batch, head, query_pos, key_pos]
    pub z: &'a Array3<F>,       // [head, rows, d_head]
}

/// `W_Q`, `W_K`, `W_V` [head, d_model, d_head] side by side: [d_model, 3·head·d_head].
fn fused_qkv_weight<F: Scalar>(weights: &AttentionParams<F>) -> Array2<F> {
    let (n_heads, d_model, d_head) = weights.w_q.dim();
    let width = n_heads * d_head;
    let mut w_qkv = Array2::zeros((d_model, 3 * width));
    for (part, w) in [&weights.w_q, &weights.w_k, &weights.w_v]
        .into_iter()
        .enumerate()
    {
        for head in 0..n_heads {
            let col = part * width + head * d_head;
            w_qkv
                .slice_mut(s![.., col..col + d_head])
                .assign(&w.index_axis(Axis(0), head));
        }
    }
    w_qkv
}

/// Causal multi-head attention on `x` [rows, d_model] (`batch` sequences of `n_pos` rows).
/// With `per_head_results` each head's output `z[h]·W_O[h]` is kept (the views and head
/// interventions need it); without, the heads' sum comes from one fused product
/// `[z₀ … z_H]·W_O` (training, where only the sum matters).
pub(crate) fn attention_forward<F: Scalar>(
    weights: &AttentionParams<F>,
    x: ArrayView2<'_, F>,
    batch: usize,
    n_pos: usize,
    per_head_results: bool,
) -> AttentionTrace<F> {
    let (n_heads, d_model, d_head) = weights.w_q.dim();
    let rows = x.nrows();
    let width = n_heads * d_head;

    // qkv = x · W_qkv + b_qkv, one product for every head of Q, K and V. [rows, 3·width]
    let mut qkv = Array2::zeros((rows, 3 * width));
    for (part, b) in [&weights.b_q, &weights.b_k, &weights.b_v]
        .into_iter()
        .enumerate()
    {
        let bias = b
            .view()
            .into_shape_with_order(width)
            .expect("b is [head, d_head]");
        qkv.slice_mut(s![.., part * width..(part + 1) * width])
            .assign(&bias);
    }
    general_mat_mul(F::one(), &x, &fused_qkv_weight(weights), F::one(), &mut qkv);
    let split = |part: usize| {
        let mut out = Array3::zeros((n_heads, rows, d_head));
        for head in 0..n_heads {
            let col = part * width + head * d_head;
            out.index_axis_mut(Axis(0), head)
                .assign(&qkv.slice(s![.., col..col + d_head]));
        }
        out
    };
    let (q, k, v) = (split(0), split(1), split(2));

    let scale = c::<F>(1.0 / (d_head as f64).sqrt());
    let mut scores = Array4::zeros((batch, n_heads, n_pos, n_pos));
    let mut pattern = Array4::zeros((batch, n_heads, n_pos, n_pos));
    let mut z = Array3::zeros((n_heads, rows, d_head));
    for b in 0..batch {
        let seq = s![b * n_pos..(b + 1) * n_pos, ..];
        for head in 0..n_heads {
            let q_bh = q.slice(s![head, b * n_pos..(b + 1) * n_pos, ..]); // [query_pos, d_head]
            let k_bh = k.slice(s![head, b * n_pos..(b + 1) * n_pos, ..]); // [key_pos, d_head]
            let v_bh = v.slice(s![head, b * n_pos..(b + 1) * n_pos, ..]); // [key_pos, d_head]
            let mut scores_bh = scores.slice_mut(s![b, head, .., ..]); // [query_pos, key_pos]
            general_mat_mul(scale, &q_bh, &k_bh.t(), F::zero(), &mut scores_bh);
            let mut pattern_bh = pattern.slice_mut(s![b, head, .., ..]);
            pattern_bh.assign(&scores_bh);
            causal_softmax_in_place(pattern_bh.view_mut());
            let mut z_bh = z.index_axis_mut(Axis(0), head);
            let mut z_bh = z_bh.slice_mut(seq);
            general_mat_mul(F::one(), &pattern_bh, &v_bh, F::zero(), &mut z_bh);
        }
    }
    if !per_head_results {
        // Σ_h z[h]·W_O[h] = [z₀ … z_H] · W_O, W_O seen as [head·d_head, d_model].
        let mut z_concat = Array2::zeros((rows, width)); // [rows, head·d_head]
        for head in 0..n_heads {
            z_concat
                .slice_mut(s![.., head * d_head..(head + 1) * d_head])
                .assign(&z.index_axis(Axis(0), head));
        }
        let mut out = Array2::zeros((rows, d_model));
        general_mat_mul(F::one(), &z_concat, &w_o_flat(weights), F::zero(), &mut out);
        return AttentionTrace {
            q,
            k,
            v,
            scores,
            pattern,
            z,
            head_result: Array3::zeros((n_heads, 0, d_model)),
            fused_out: Some(out),
        };
    }
    // head_result[h] = z[h] · W_O[h]: each head's own write into the stream.
    let mut head_result = Array3::zeros((n_heads, rows, d_model));
    for head in 0..n_heads {
        let mut out_h = head_result.index_axis_mut(Axis(0), head);
        general_mat_mul(
            F::one(),
            &z.index_axis(Axis(0), head),
            &weights.w_o.index_axis(Axis(0), head),
            F::zero(),
            &mut out_h,
        );
    }
    AttentionTrace {
        q,
        k,
        v,
        scores,
        pattern,
        z,
        head_result,
        fused_out: None,
    }
}

/// `W_O` [head, d_head, d_model] seen as [head·d_head, d_model].
fn w_o_flat<F: Scalar>(weights: &AttentionParams<F>) -> ArrayView2<'_, F> {
    let (n_heads, d_head, d_model) = weights.w_o.dim();
    weights
        .w_o
        .view()
        .into_shape_with_order((n_heads * d_head, d_model))
        .expect("W_O is [head, d_head, d_model]")
}

/// Reverses [`attention_forward`] and the `attn_out = Σ_h head_result[h] + b_O` line of the
/// block: given `d_attn_out` [rows, d_model], adds every weight's gradient into `grads` and
/// returns the gradient of the sublayer's input `x` [rows, d_model].
pub(crate) fn attention_backward<F: Scalar>(
    weights: &AttentionParams<F>,
    cache: &AttentionCache<'_, F>,
    d_attn_out: ArrayView2<'_, F>,
    grads: &mut AttentionParams<F>,
) -> Array2<F> {
    let (n_heads, d_model, d_head) = weights.w_q.dim();
    let (batch, _, n_pos, _) = cache.pattern.dim();
    let rows = cache.x.nrows();
    let width = n_heads * d_head;

    // Reverses `attn_out = Σ_h z[h]·W_O[h] + b_O`.
    grads.b_o += &d_attn_out.sum_axis(Axis(0));
    for head in 0..n_heads {
        let mut d_w_o = grads.w_o.index_axis_mut(Axis(0), head); // [d_head, d_model]
        general_mat_mul(
            F::one(),
            &cache.z.index_axis(Axis(0), head).t(),
            &d_attn_out,
            F::one(),
            &mut d_w_o,
        );
    }
    // dz for all heads at once: d_attn_out · W_Oᵀ with W_O seen as [head·d_head, d_model].
    let w_o_flat = w_o_flat(weights);
    let mut d_z = Array2::zeros((rows, width)); // [rows, head·d_head]
    general_mat_mul(F::one(), &d_attn_out, &w_o_flat.t(), F::zero(), &mut d_z);

    // Per sequence and head: reverses `z = pattern·v`, the softmax and `scores = q·kᵀ·scale`,
    // writing dq, dk, dv into one [rows, 3·width] array laid out like the fused product.
    let scale = c::<F>(1.0 / (d_head as f64).sqrt());
    let mut d_qkv = Array2::zeros((rows, 3 * width));
    let mut d_pattern = Array2::zeros((n_pos, n_pos)); // [query_pos, key_pos]
    for b in 0..batch {
        let seq_rows = b * n_pos..(b + 1) * n_pos;
        for head in 0..n_heads {
            let cols =
                |part: usize| part * width + head * d_head..part * width + (head + 1) * d_head;
            let pattern_bh = cache.pattern.slice(s![b, head, .., ..]);
            let q_bh = cache.q.slice(s![head, seq_rows.clone(), ..]);
            let k_bh = cache.k.slice(s![head, seq_rows.clone(), ..]);
            let v_bh = cache.v.slice(s![head, seq_rows.clone(), ..]);
            let d_z_bh = d_z.slice(s![seq_rows.clone(), cols(0)]); // [query_pos, d_head]
            // z = P·v  →  dP = dz·vᵀ, dv = Pᵀ·dz.
            general_mat_mul(F::one(), &d_z_bh, &v_bh.t(), F::zero(), &mut d_pattern);
            let mut d_v = d_qkv.slice_mut(s![seq_rows.clone(), cols(2)]);
            general_mat_mul(F::one(), &pattern_bh.t(), &d_z_bh, F::zero(), &mut d_v);
            // P = causal_softmax(S)  →  dS.
            causal_softmax_backward_in_place(pattern_bh, d_pattern.view_mut());
            // S = scale·q·kᵀ  →  dq = scale·dS·k, dk = scale·dSᵀ·q.
            let mut d_q = d_qkv.slice_mut(s![seq_rows.clone(), cols(0)]);
            general_mat_mul(scale, &d_pattern, &k_bh, F::zero(), &mut d_q);
            let mut d_k = d_qkv.slice_mut(s![seq_rows.clone(), cols(1)]);
            general_mat_mul(scale, &d_pattern.t(), &q_bh, F::zero(), &mut d_k);
        }
    }

    // Reverses `qkv = x·W_qkv + b_qkv`.
    let mut d_w_qkv = Array2::zeros((d_model, 3 * width));
    general_mat_mul(F::one(), &cache.x.t(), &d_qkv, F::zero(), &mut d_w_qkv);
    let d_b_qkv = d_qkv.sum_axis(Axis(0)); // [3·width]
    for (part, (d_w, d_b)) in [
        (&mut grads.w_q, &mut grads.b_q),
        (&mut grads.w_k, &mut grads.b_k),
        (&mut grads.w_v, &mut grads.b_v),
    ]
    .into_iter()
    .enumerate()
    {
        for head in 0..n_heads {
            let col = part * width + head * d_head;
            let mut d_w_h = d_w.index_axis_mut(Axis(0), head);
            d_w_h += &d_w_qkv.slice(s![.., col..col + d_head]);
            let mut d_b_h = d_b.row_mut(head);
            d_b_h += &d_b_qkv.slice(s![col..col + d_head]);
        }
    }
    let mut d_x = Array2::zeros((rows, d_model));
    general_mat_mul(
        F::one(),
        &d_qkv,
        &fused_qkv_weight(weights).t(),
        F::zero(),
        &mut d_x,
    );
    d_x
}
