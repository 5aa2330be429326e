//! Causal multi-head attention: `attention_forward` and, beside it, `attention_backward`.
//!
//! Q, K and V of every head come from one fused matrix product over all rows,
//! `x [rows, d_model] · W_qkv [d_model, 3·n_heads·d_head]`, where `W_qkv` lays `W_Q`, `W_K`,
//! `W_V` side by side (head `h` of part `p` owns columns `p·H·dh + h·dh ..`). One large
//! product is several times faster than `3·n_heads` thin ones; the per-head arrays the
//! Trace records are slices of it.

use std::mem::MaybeUninit;

use ndarray::{
    Array1, Array2, Array3, Array4, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3,
    ArrayViewMut4, Axis, Zip, s,
};

use super::linalg::{mat_mul, mat_mul_into, product};
use super::ops::{causal_softmax_backward_in_place, causal_softmax_in_place};
use super::parallel::{Split, affine};
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
/// A new array written once, not zero-filled first.
fn fused_qkv_weight<F: Scalar>(weights: &AttentionParams<F>) -> Array2<F> {
    let (n_heads, d_model, d_head) = weights.w_q.dim();
    let width = n_heads * d_head;
    let parts = [&weights.w_q, &weights.w_k, &weights.w_v].map(|w| w.as_slice());
    let [Some(w_q), Some(w_k), Some(w_v)] = parts else {
        // Not in standard layout (never the case for loaded or trained weights).
        let views: Vec<ArrayView2<'_, F>> = [&weights.w_q, &weights.w_k, &weights.w_v]
            .into_iter()
            .flat_map(|w| w.outer_iter())
            .collect();
        return ndarray::concatenate(Axis(1), &views).expect("the heads have one shape");
    };
    let mut w_qkv = Array2::<F>::uninit((d_model, 3 * width));
    let fused = w_qkv.as_slice_mut().expect("fresh arrays are contiguous");
    // Row `row` of head `head` of a part is `w[(head·d_model + row)·d_head ..][..d_head]`.
    for (row, fused_row) in fused.chunks_exact_mut(3 * width).enumerate() {
        for (part_block, w) in fused_row.chunks_exact_mut(width).zip([w_q, w_k, w_v]) {
            for (head, block) in part_block.chunks_exact_mut(d_head).enumerate() {
                let start = (head * d_model + row) * d_head;
                for (out, &value) in block.iter_mut().zip(&w[start..start + d_head]) {
                    out.write(value);
                }
            }
        }
    }
    #[allow(unsafe_code)]
    // SAFETY: every element was written: the chunks of 3·width tile the d_model rows, each
    // row's chunks of `width` are its three parts, and each part's chunks of d_head are its
    // heads, each written whole from a d_head-long slice of the weights.
    unsafe {
        w_qkv.assume_init()
    }
}

/// Causal multi-head attention on `x` [rows, d_model] (`batch` sequences of `n_pos` rows).
/// With `full_trace` each head's output `z[h]·W_O[h]` is kept (the views and head
/// interventions need it); without, the heads' sum comes from one fused product
/// `[z₀ … z_H]·W_O` (training, where only the sum matters).
pub(crate) fn attention_forward<F: Scalar>(
    weights: &AttentionParams<F>,
    x: ArrayView2<'_, F>,
    batch: usize,
    n_pos: usize,
    full_trace: bool,
    split: Split<'_>,
) -> AttentionTrace<F> {
    let (n_heads, d_model, d_head) = weights.w_q.dim();
    let rows = x.nrows();
    let width = n_heads * d_head;

    // qkv = x · W_qkv + b_qkv, one product for every head of Q, K and V. [rows, 3·width]
    let b_qkv: Vec<F> = [&weights.b_q, &weights.b_k, &weights.b_v]
        .into_iter()
        .flat_map(|b| b.iter().copied())
        .collect(); // [3·width], each b is [head, d_head]
    let w_qkv = fused_qkv_weight(weights);
    let qkv = affine(split, &x, &w_qkv.view(), Some(Array1::from(b_qkv).view()));
    // Part `part` (0 = Q, 1 = K, 2 = V) of every head, copied out of qkv. [head, rows, d_head]
    let part_of_qkv = |part: usize| {
        let heads: Vec<ArrayView2<'_, F>> = (0..n_heads)
            .map(|head| {
                let col = part * width + head * d_head;
                qkv.slice(s![.., col..col + d_head])
            })
            .collect();
        ndarray::stack(Axis(0), &heads).expect("the heads have one shape")
    };
    let (q, k, v) = (part_of_qkv(0), part_of_qkv(1), part_of_qkv(2));

    let scale = c::<F>(1.0 / (d_head as f64).sqrt());
    // New arrays, not zero-filled: every element is written below (see the SAFETY note).
    // Training reads only the pattern, so its traces keep no scores.
    let score_len = if full_trace { n_pos } else { 0 };
    let mut scores = Array4::<F>::uninit((batch, n_heads, score_len, score_len));
    let mut pattern = Array4::<F>::uninit((batch, n_heads, n_pos, n_pos));
    let mut z = Array3::<F>::uninit((n_heads, rows, d_head));
    // One head: its scores, pattern and z for every sequence.
    let one_head = |mut scores_h: ArrayViewMut3<'_, MaybeUninit<F>>, // [batch, query_pos, key_pos]
                    mut pattern_h: ArrayViewMut3<'_, MaybeUninit<F>>, // [batch, query_pos, key_pos]
                    mut z_h: ArrayViewMut2<'_, MaybeUninit<F>>,      // [rows, d_head]
                    q_h: ArrayView2<'_, F>,                          // [rows, d_head]
                    k_h: ArrayView2<'_, F>,                          // [rows, d_head]
                    v_h: ArrayView2<'_, F>| {
        // [rows, d_head]
        for b in 0..batch {
            let seq = s![b * n_pos..(b + 1) * n_pos, ..];
            let mut pattern_bh = mat_mul_into(
                scale,
                &q_h.slice(seq),
                &k_h.slice(seq).t(),
                pattern_h.index_axis_mut(Axis(0), b),
            ); // [query_pos, key_pos], the scores until the softmax
            if full_trace {
                Zip::from(scores_h.index_axis_mut(Axis(0), b))
                    .and(&pattern_bh)
                    .for_each(|score, &value| {
                        score.write(value);
                    });
            }
            causal_softmax_in_place(pattern_bh.view_mut());
            mat_mul_into(F::one(), &pattern_bh, &v_h.slice(seq), z_h.slice_mut(seq));
        }
    };
    let run_heads =
        |mut scores: ArrayViewMut4<'_, MaybeUninit<F>>,
         mut pattern: ArrayViewMut4<'_, MaybeUninit<F>>,
         mut z: ArrayViewMut3<'_, MaybeUninit<F>>,
         (q, k, v): (ArrayView3<'_, F>, ArrayView3<'_, F>, ArrayView3<'_, F>)| {
            Zip::from(scores.axis_iter_mut(Axis(1)))
                .and(pattern.axis_iter_mut(Axis(1)))
                .and(z.axis_iter_mut(Axis(0)))
                .and(q.axis_iter(Axis(0)))
                .and(k.axis_iter(Axis(0)))
                .and(v.axis_iter(Axis(0)))
                .for_each(one_head);
        };
    // Per head: two products of n_pos² · d_head multiply-adds and a softmax.
    if n_heads >= 2 && split.worth_it(rows, 2 * n_heads * rows * n_pos * d_head) {
        let half = n_heads / 2;
        let (scores_a, scores_b) = scores.view_mut().split_at(Axis(1), half);
        let (pattern_a, pattern_b) = pattern.view_mut().split_at(Axis(1), half);
        let (z_a, z_b) = z.view_mut().split_at(Axis(0), half);
        let (q_a, q_b) = q.view().split_at(Axis(0), half);
        let (k_a, k_b) = k.view().split_at(Axis(0), half);
        let (v_a, v_b) = v.view().split_at(Axis(0), half);
        split.join(
            || run_heads(scores_a, pattern_a, z_a, (q_a, k_a, v_a)),
            || run_heads(scores_b, pattern_b, z_b, (q_b, k_b, v_b)),
        );
    } else {
        run_heads(
            scores.view_mut(),
            pattern.view_mut(),
            z.view_mut(),
            (q.view(), k.view(), v.view()),
        );
    }
    #[allow(unsafe_code)]
    // SAFETY: `run_heads` visited every head (a Zip over the whole head axis, or its two
    // halves), and for each head every sequence `b`: `mat_mul_into` wrote all of the
    // pattern block [b, head] and z's rows of sequence b (the sequences tile the rows), and
    // with `full_trace` the Zip wrote all of the scores block [b, head] (without it the
    // scores are empty).
    let (scores, pattern, z) =
        unsafe { (scores.assume_init(), pattern.assume_init(), z.assume_init()) };
    if !full_trace {
        // Σ_h z[h]·W_O[h] = [z₀ … z_H] · W_O, W_O seen as [head·d_head, d_model].
        let z_heads: Vec<ArrayView2<'_, F>> = z.outer_iter().collect();
        let z_concat = ndarray::concatenate(Axis(1), &z_heads).expect("the heads have one shape"); // [rows, head·d_head]
        let out = affine(split, &z_concat.view(), &w_o_flat(weights), None); // [rows, d_model]
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
    let mut head_result = Array3::<F>::uninit((n_heads, rows, d_model));
    let run_results = |mut out: ArrayViewMut3<'_, MaybeUninit<F>>,
                       z: ArrayView3<'_, F>,
                       w_o: ArrayView3<'_, F>| {
        Zip::from(out.axis_iter_mut(Axis(0)))
            .and(z.axis_iter(Axis(0)))
            .and(w_o.axis_iter(Axis(0)))
            .for_each(|out_h, z_h, w_o_h| {
                mat_mul_into(F::one(), &z_h, &w_o_h, out_h);
            });
    };
    if n_heads >= 2 && split.worth_it(rows, n_heads * rows * d_head * d_model) {
        let half = n_heads / 2;
        let (out_a, out_b) = head_result.view_mut().split_at(Axis(0), half);
        let (z_a, z_b) = z.view().split_at(Axis(0), half);
        let (w_a, w_b) = weights.w_o.view().split_at(Axis(0), half);
        split.join(
            || run_results(out_a, z_a, w_a),
            || run_results(out_b, z_b, w_b),
        );
    } else {
        run_results(head_result.view_mut(), z.view(), weights.w_o.view());
    }
    #[allow(unsafe_code)]
    // SAFETY: `run_results` wrote every head's whole [rows, d_model] block (a Zip over the
    // whole head axis, or its two halves).
    let head_result = unsafe { head_result.assume_init() };
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
    let (n_heads, _, d_head) = weights.w_q.dim();
    let (batch, _, n_pos, _) = cache.pattern.dim();
    let rows = cache.x.nrows();
    let width = n_heads * d_head;

    // Reverses `attn_out = Σ_h z[h]·W_O[h] + b_O`.
    grads.b_o += &d_attn_out.sum_axis(Axis(0));
    for head in 0..n_heads {
        let mut d_w_o = grads.w_o.index_axis_mut(Axis(0), head); // [d_head, d_model]
        mat_mul(
            F::one(),
            &cache.z.index_axis(Axis(0), head).t(),
            &d_attn_out,
            F::one(),
            &mut d_w_o,
        );
    }
    // dz for all heads at once: d_attn_out · W_Oᵀ with W_O seen as [head·d_head, d_model].
    let w_o_flat = w_o_flat(weights);
    let d_z = product(F::one(), &d_attn_out, &w_o_flat.t()); // [rows, head·d_head]

    // Per sequence and head: reverses `z = pattern·v`, the softmax and `scores = q·kᵀ·scale`,
    // writing dq, dk, dv into one [rows, 3·width] array laid out like the fused product.
    let scale = c::<F>(1.0 / (d_head as f64).sqrt());
    let mut d_qkv = Array2::<F>::uninit((rows, 3 * width)); // written block by block below
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
            mat_mul(F::one(), &d_z_bh, &v_bh.t(), F::zero(), &mut d_pattern);
            let d_v = d_qkv.slice_mut(s![seq_rows.clone(), cols(2)]);
            mat_mul_into(F::one(), &pattern_bh.t(), &d_z_bh, d_v);
            // P = causal_softmax(S)  →  dS.
            causal_softmax_backward_in_place(pattern_bh, d_pattern.view_mut());
            // S = scale·q·kᵀ  →  dq = scale·dS·k, dk = scale·dSᵀ·q.
            let d_q = d_qkv.slice_mut(s![seq_rows.clone(), cols(0)]);
            mat_mul_into(scale, &d_pattern, &k_bh, d_q);
            let d_k = d_qkv.slice_mut(s![seq_rows.clone(), cols(1)]);
            mat_mul_into(scale, &d_pattern.t(), &q_bh, d_k);
        }
    }
    #[allow(unsafe_code)]
    // SAFETY: every element was written: the sequences `b` tile the rows, and for each
    // head the blocks cols(0), cols(1), cols(2) written by `mat_mul_into` tile that head's
    // columns of Q, K and V, so all heads together tile the 3·width columns.
    let d_qkv = unsafe { d_qkv.assume_init() };

    // Reverses `qkv = x·W_qkv + b_qkv`.
    let d_w_qkv = product(F::one(), &cache.x.t(), &d_qkv); // [d_model, 3·width]
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
    product(F::one(), &d_qkv, &fused_qkv_weight(weights).t()) // d_x [rows, d_model]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, ShapeBuilder};

    /// Weights of `n_heads` heads with distinct values, in standard or column-major layout.
    fn weights(column_major: bool) -> AttentionParams<f32> {
        let (n_heads, d_model, d_head) = (3, 5, 2);
        let part = |offset: f32| {
            let values = |(h, i, j): (usize, usize, usize)| offset + (h * 100 + i * 10 + j) as f32;
            if column_major {
                Array3::from_shape_fn((n_heads, d_model, d_head).f(), values)
            } else {
                Array3::from_shape_fn((n_heads, d_model, d_head), values)
            }
        };
        AttentionParams {
            w_q: part(0.0),
            w_k: part(1000.0),
            w_v: part(2000.0),
            b_q: Array2::zeros((n_heads, d_head)),
            b_k: Array2::zeros((n_heads, d_head)),
            b_v: Array2::zeros((n_heads, d_head)),
            w_o: Array3::zeros((n_heads, d_head, d_model)),
            b_o: Array1::zeros(d_model),
        }
    }

    #[test]
    fn the_fused_weight_lays_the_heads_of_q_k_v_side_by_side_in_any_layout() {
        for column_major in [false, true] {
            let weights = weights(column_major);
            let fused = fused_qkv_weight(&weights);
            assert_eq!(fused.dim(), (5, 3 * 3 * 2));
            for (part, w) in [&weights.w_q, &weights.w_k, &weights.w_v]
                .into_iter()
                .enumerate()
            {
                for ((head, row, j), &value) in w.indexed_iter() {
                    let col = part * 6 + head * 2 + j;
                    assert_eq!(fused[[row, col]], value, "part {part}, head {head}");
                }
            }
        }
    }
}
