//! Causal multi-head attention: `attention_forward` and, beside it, `attention_backward`.
//!
//! Forward, Q, K and V of head `h` are their own products `x · W_Q[h] + b_Q[h]` (and so on),
//! written straight into the trace's [head, rows, d_head] arrays by the thread that runs the
//! head. A fused product `x · W_qkv` ([d_model, 3·n_heads·d_head]) would have to rebuild
//! `W_qkv` on every pass (the parameters can change under us) and copy each head's columns
//! out, which costs more than it saves (README, "Measured design choices"). Backward still
//! uses `W_qkv` once, for the gradient of `x`.

use std::mem::MaybeUninit;

use ndarray::{
    Array1, Array2, Array3, Array4, ArrayView2, ArrayViewMut2, ArrayViewMut3, ArrayViewMut4, Axis,
    s,
};

use super::linalg::{mat_mul, mat_mul_into, product};
use super::ops::{causal_softmax_backward_in_place, copy_into, masked_softmax_in_place, rms_rstd};
use super::parallel::{Split, affine};
use super::params::AttentionParams;
use super::raw::uninit::{Fresh, finish_view};
use super::rotary::RopeTable;
use super::scalar::{Scalar, c};

/// What the attention sublayer computed, before `b_O` and the residual addition.
pub(crate) struct AttentionTrace<F> {
    pub q: Array3<F>, // [head, rows, d_head], after q_norm and rotary
    pub k: Array3<F>, // [kv_head, rows, d_head], after k_norm and rotary
    pub v: Array3<F>, // [kv_head, rows, d_head]
    /// q and k before rotary (after their norms), when the model rotates them.
    pub q_pre_rotary: Option<Array3<F>>, // [head, rows, d_head]
    pub k_pre_rotary: Option<Array3<F>>, // [kv_head, rows, d_head]
    pub scores: Array4<F>, // [batch, head, query_pos, key_pos]
    pub pattern: Array4<F>, // [batch, head, query_pos, key_pos]
    pub z: Array3<F>, // [head, rows, d_head]
    pub head_result: Array3<F>, // [head, rows, d_model]; [head, 0, d_model] when fused
    /// `Σ_h z[h]·W_O[h]` from one fused product, when per-head results were not asked for.
    pub fused_out: Option<Array2<F>>, // [rows, d_model]
}

/// How one layer's attention scores and masks: what the config says for this layer.
pub(crate) struct AttentionSetup<'a, F> {
    /// What q·kᵀ is multiplied by.
    pub scale: F,
    /// Keys visible to a query: the `window` ending at it, or every earlier one.
    pub window: Option<usize>,
    /// `cap·tanh(score/cap)` before the mask.
    pub softcap: Option<F>,
    /// The rotary table of this layer's θ, when positions are rotary.
    pub rope: Option<&'a RopeTable<F>>,
    /// eps of the q/k norms (RMSNorm over d_head), used when the weights have them.
    pub qk_norm_eps: F,
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

/// `W_Q`, `W_K`, `W_V` [head, d_model, d_head] side by side: [d_model, 3·head·d_head], head
/// `h` of part `p` in columns `p·head·d_head + h·d_head ..`. Backward only, once per layer.
fn fused_qkv_weight<F: Scalar>(weights: &AttentionParams<F>) -> Array2<F> {
    let heads: Vec<ArrayView2<'_, F>> = [&weights.w_q, &weights.w_k, &weights.w_v]
        .into_iter()
        .flat_map(|w| w.outer_iter())
        .collect();
    ndarray::concatenate(Axis(1), &heads).expect("the heads have one shape")
}

/// The key/value arrays of a group of kv heads, not yet written.
struct KvOutputs<'a, F> {
    k: ArrayViewMut3<'a, MaybeUninit<F>>, // [kv_head, rows, d_head]
    v: ArrayViewMut3<'a, MaybeUninit<F>>, // [kv_head, rows, d_head]
    k_pre: ArrayViewMut3<'a, MaybeUninit<F>>, // [kv_head, rows, d_head] or [kv_head, 0, d_head]
}

impl<F> KvOutputs<'_, F> {
    /// The first `head` kv heads, and the rest.
    fn split_at(self, head: usize) -> (Self, Self) {
        let (k_a, k_b) = self.k.split_at(Axis(0), head);
        let (v_a, v_b) = self.v.split_at(Axis(0), head);
        let (pre_a, pre_b) = self.k_pre.split_at(Axis(0), head);
        (
            KvOutputs {
                k: k_a,
                v: v_a,
                k_pre: pre_a,
            },
            KvOutputs {
                k: k_b,
                v: v_b,
                k_pre: pre_b,
            },
        )
    }
}

/// The output arrays of a group of query heads, not yet written: views of the trace's arrays
/// over a range of heads.
struct HeadOutputs<'a, F> {
    q: ArrayViewMut3<'a, MaybeUninit<F>>,     // [head, rows, d_head]
    q_pre: ArrayViewMut3<'a, MaybeUninit<F>>, // [head, rows, d_head] or [head, 0, d_head]
    scores: ArrayViewMut4<'a, MaybeUninit<F>>, // [batch, head, query_pos, key_pos] or [.., 0, 0]
    pattern: ArrayViewMut4<'a, MaybeUninit<F>>, // [batch, head, query_pos, key_pos]
    z: ArrayViewMut3<'a, MaybeUninit<F>>,     // [head, rows, d_head]
    head_result: ArrayViewMut3<'a, MaybeUninit<F>>, // [head, rows, d_model] or [head, 0, d_model]
}

impl<F> HeadOutputs<'_, F> {
    /// The first `head` heads, and the rest.
    fn split_at(self, head: usize) -> (Self, Self) {
        let (q_a, q_b) = self.q.split_at(Axis(0), head);
        let (pre_a, pre_b) = self.q_pre.split_at(Axis(0), head);
        let (scores_a, scores_b) = self.scores.split_at(Axis(1), head);
        let (pattern_a, pattern_b) = self.pattern.split_at(Axis(1), head);
        let (z_a, z_b) = self.z.split_at(Axis(0), head);
        let (result_a, result_b) = self.head_result.split_at(Axis(0), head);
        (
            HeadOutputs {
                q: q_a,
                q_pre: pre_a,
                scores: scores_a,
                pattern: pattern_a,
                z: z_a,
                head_result: result_a,
            },
            HeadOutputs {
                q: q_b,
                q_pre: pre_b,
                scores: scores_b,
                pattern: pattern_b,
                z: z_b,
                head_result: result_b,
            },
        )
    }
}

/// `x · W[h] + b[h]` (no bias when `b` is empty) into `target`, then the per-head norm
/// (when `norm` is not empty) and, with a table, the rotation; the rows before rotation are
/// copied into `pre` when it has rows. `x` [rows, d_model], `w` [heads, d_model, d_head].
#[allow(clippy::too_many_arguments)]
fn project_head<'t, F: Scalar>(
    x: &ArrayView2<'_, F>,
    w: &Array3<F>,
    b: &Array2<F>,
    norm: &Array1<F>,
    head: usize,
    setup: &AttentionSetup<'_, F>,
    target: ArrayViewMut2<'t, MaybeUninit<F>>,
    pre: ArrayViewMut2<'_, MaybeUninit<F>>,
    rope: bool,
) -> ArrayViewMut2<'t, F> {
    let mut part = mat_mul_into(F::one(), x, &w.index_axis(Axis(0), head), target);
    if !b.is_empty() {
        part += &b.row(head);
    }
    if !norm.is_empty() {
        for mut row in part.outer_iter_mut() {
            let rstd = rms_rstd(row.view(), setup.qk_norm_eps);
            row.zip_mut_with(norm, |value, &w| *value = *value * rstd * w);
        }
    }
    if let (true, Some(table)) = (rope, setup.rope) {
        if pre.nrows() > 0 {
            copy_into(part.view(), pre);
        }
        table.apply(part.view_mut());
    }
    part
}

/// `cap·tanh(s/cap)` on every score, when a cap is set.
fn softcap_in_place<F: Scalar>(scores: &mut ArrayViewMut2<'_, F>, cap: Option<F>) {
    if let Some(cap) = cap {
        scores.mapv_inplace(|s| cap * (s / cap).tanh());
    }
}

/// Causal multi-head attention on `x` [rows, d_model] (`batch` sequences of `n_pos` rows),
/// with grouped-query heads (query head `h` reads kv head `h / (H/K)`), optional q/k norms,
/// rotary, a sliding window and a softcap as `setup` says. With `full_trace` the scores and
/// each head's output `z[h]·W_O[h]` are kept (the views and head interventions need them);
/// without, the heads' sum comes from one fused product `[z₀ … z_H]·W_O` (training, where only
/// the sum matters). With a team, the kv heads are split between the threads, then the
/// query heads, each thread running its query heads from Q to their outputs.
pub(crate) fn attention_forward<F: Scalar>(
    weights: &AttentionParams<F>,
    setup: &AttentionSetup<'_, F>,
    x: ArrayView2<'_, F>,
    batch: usize,
    n_pos: usize,
    full_trace: bool,
    split: Split<'_>,
) -> AttentionTrace<F> {
    let (n_heads, d_model, d_head) = weights.w_q.dim();
    let n_kv = weights.w_k.dim().0;
    let group = n_heads / n_kv;
    let rows = x.nrows();
    let rotated = setup.rope.is_some();

    // New arrays, not zero-filled: every element is written below (see the SAFETY notes).
    // Training reads only the pattern and the heads' sum, so its traces keep no scores and
    // no per-head outputs.
    let score_len = if full_trace { n_pos } else { 0 };
    let result_rows = if full_trace { rows } else { 0 };
    let pre_rows = if rotated && full_trace { rows } else { 0 };
    let mut q = Fresh::new((n_heads, rows, d_head));
    let mut q_pre = Fresh::new((n_heads, pre_rows, d_head));
    let mut k = Fresh::new((n_kv, rows, d_head));
    let mut k_pre = Fresh::new((n_kv, pre_rows, d_head));
    let mut v = Fresh::new((n_kv, rows, d_head));
    let mut scores = Fresh::new((batch, n_heads, score_len, score_len));
    let mut pattern = Fresh::new((batch, n_heads, n_pos, n_pos));
    let mut z = Fresh::new((n_heads, rows, d_head));
    let mut head_result = Fresh::new((n_heads, result_rows, d_model));

    // Phase 1: keys and values of the kv heads `first ..` into `out`.
    let run_kv = |first: usize, mut out: KvOutputs<'_, F>| {
        for local in 0..out.k.len_of(Axis(0)) {
            let head = first + local;
            project_head(
                &x,
                &weights.w_k,
                &weights.b_k,
                &weights.k_norm,
                head,
                setup,
                out.k.index_axis_mut(Axis(0), local),
                out.k_pre.index_axis_mut(Axis(0), local),
                true,
            );
            let no_norm = Array1::zeros(0);
            project_head(
                &x,
                &weights.w_v,
                &weights.b_v,
                &no_norm,
                head,
                setup,
                out.v.index_axis_mut(Axis(0), local),
                out.k_pre
                    .index_axis_mut(Axis(0), local)
                    .slice_move(s![..0, ..]),
                false,
            );
        }
    };
    let kv_outputs = KvOutputs {
        k: k.view_mut(),
        v: v.view_mut(),
        k_pre: k_pre.view_mut(),
    };
    let kv_work = 2 * rows * d_model * d_head;
    if n_kv >= 2 && split.worth_it(rows, n_kv * kv_work) {
        let half = n_kv / 2;
        let (first, second) = kv_outputs.split_at(half);
        split.join(|| run_kv(0, first), || run_kv(half, second));
    } else {
        run_kv(0, kv_outputs);
    }
    // `run_kv` visited every kv head (all of them, or the two groups that tile the
    // head axis) and wrote its whole k and v blocks (`mat_mul_into`), and its k_pre block
    // when that has rows (it has rows only when the keys are rotated, and `project_head`
    // copies them before rotating).
    let (k, v, k_pre) = (k.finish(), v.finish(), k_pre.finish());

    // Phase 2: the query heads `first_head ..` into `out`, every array of each head in turn.
    let run_heads = |first_head: usize, mut out: HeadOutputs<'_, F>| {
        for local in 0..out.q.len_of(Axis(0)) {
            let head = first_head + local;
            let kv_head = head / group;
            let q_h = project_head(
                &x,
                &weights.w_q,
                &weights.b_q,
                &weights.q_norm,
                head,
                setup,
                out.q.index_axis_mut(Axis(0), local),
                out.q_pre.index_axis_mut(Axis(0), local),
                true,
            );
            let (k_h, v_h) = (
                k.index_axis(Axis(0), kv_head),
                v.index_axis(Axis(0), kv_head),
            );
            let mut z_h = out.z.index_axis_mut(Axis(0), local); // [rows, d_head]
            for b in 0..batch {
                let seq = s![b * n_pos..(b + 1) * n_pos, ..];
                let mut pattern_bh = mat_mul_into(
                    setup.scale,
                    &q_h.slice(seq),
                    &k_h.slice(seq).t(),
                    out.pattern.slice_mut(s![b, local, .., ..]),
                ); // [query_pos, key_pos], the scores until the softmax
                softcap_in_place(&mut pattern_bh, setup.softcap);
                if full_trace {
                    copy_into(
                        pattern_bh.view(),
                        out.scores.slice_mut(s![b, local, .., ..]),
                    );
                }
                masked_softmax_in_place(pattern_bh.view_mut(), setup.window);
                mat_mul_into(F::one(), &pattern_bh, &v_h.slice(seq), z_h.slice_mut(seq));
            }
            if full_trace {
                // The loop over sequences wrote every row of z_h (the sequences tile the rows).
                let z_h = finish_view(out.z.index_axis_mut(Axis(0), local));
                // head_result[h] = z[h] · W_O[h]: the head's own write into the stream.
                mat_mul_into(
                    F::one(),
                    &z_h,
                    &weights.w_o.index_axis(Axis(0), head),
                    out.head_result.index_axis_mut(Axis(0), local),
                );
            }
        }
    };
    let outputs = HeadOutputs {
        q: q.view_mut(),
        q_pre: q_pre.view_mut(),
        scores: scores.view_mut(),
        pattern: pattern.view_mut(),
        z: z.view_mut(),
        head_result: head_result.view_mut(),
    };
    // Per head: a product of rows · d_model · d_head multiply-adds (Q), two of
    // n_pos² · d_head and a softmax, and with `full_trace` one of rows · d_head · d_model.
    let head_work =
        rows * d_model * d_head + 2 * rows * n_pos * d_head + result_rows * d_head * d_model;
    if n_heads >= 2 && split.worth_it(rows, n_heads * head_work) {
        let half = n_heads / 2;
        let (first, second) = outputs.split_at(half);
        split.join(|| run_heads(0, first), || run_heads(half, second));
    } else {
        run_heads(0, outputs);
    }
    // `run_heads` visited every query head (all of them, or the two groups that
    // tile the head axis). For each head it wrote q whole (`mat_mul_into`) and q_pre when it
    // has rows (rotated queries, copied before rotating), and for every sequence `b` the
    // pattern block [b, head] (`mat_mul_into`), z's rows of sequence b (the sequences tile
    // the rows) and, with `full_trace`, the scores block [b, head]; with `full_trace` it
    // wrote the head's whole [rows, d_model] result block (without it the scores and results
    // are empty).
    let (q, q_pre, scores, pattern, z, head_result) = (
        q.finish(),
        q_pre.finish(),
        scores.finish(),
        pattern.finish(),
        z.finish(),
        head_result.finish(),
    );
    let fused_out = (!full_trace).then(|| {
        // Σ_h z[h]·W_O[h] = [z₀ … z_H] · W_O, W_O seen as [head·d_head, d_model].
        let z_heads: Vec<ArrayView2<'_, F>> = z.outer_iter().collect();
        let z_concat = ndarray::concatenate(Axis(1), &z_heads).expect("the heads have one shape"); // [rows, head·d_head]
        affine(split, &z_concat.view(), &w_o_flat(weights), None) // [rows, d_model]
    });
    let rotated_trace = rotated && full_trace;
    AttentionTrace {
        q,
        k,
        v,
        q_pre_rotary: rotated_trace.then_some(q_pre),
        k_pre_rotary: rotated_trace.then_some(k_pre),
        scores,
        pattern,
        z,
        head_result,
        fused_out,
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
    let mut d_qkv = Fresh::new((rows, 3 * width)); // written block by block below
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
            let d_v = d_qkv.view_mut().slice_move(s![seq_rows.clone(), cols(2)]);
            mat_mul_into(F::one(), &pattern_bh.t(), &d_z_bh, d_v);
            // P = causal_softmax(S)  →  dS.
            causal_softmax_backward_in_place(pattern_bh, d_pattern.view_mut());
            // S = scale·q·kᵀ  →  dq = scale·dS·k, dk = scale·dSᵀ·q.
            let d_q = d_qkv.view_mut().slice_move(s![seq_rows.clone(), cols(0)]);
            mat_mul_into(scale, &d_pattern, &k_bh, d_q);
            let d_k = d_qkv.view_mut().slice_move(s![seq_rows.clone(), cols(1)]);
            mat_mul_into(scale, &d_pattern.t(), &q_bh, d_k);
        }
    }
    // Every element was written: the sequences `b` tile the rows, and for each
    // head the blocks cols(0), cols(1), cols(2) written by `mat_mul_into` tile that head's
    // columns of Q, K and V, so all heads together tile the 3·width columns.
    let d_qkv = d_qkv.finish();

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
    use ndarray::ShapeBuilder;

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
            q_norm: Array1::zeros(0),
            k_norm: Array1::zeros(0),
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
