//! The elementary operations of the forward pass, each on row-major 2-D activations
//! `[rows, features]` where a row is one token position.
//!
//! Backward passes live beside their forwards as `<op>_backward` (llm.c's layout): each one
//! says which forward line it reverses and reads what the forward recorded as its cache.
//! `attention.rs` holds the attention pair, `backward.rs` the block-level assembly.

use std::mem::MaybeUninit;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Zip};

use super::config::{Activation, NormKind};
use super::parallel::Split;
use super::raw::uninit::{Fresh, finish_view};
use super::scalar::{Scalar, c};
use super::simd::with_widest;

/// What LayerNorm computed for a batch of rows, kept for views and for backward.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormTrace<F> {
    /// Mean of each row. [rows]
    pub mean: Array1<F>,
    /// 1/√(var + eps) of each row (biased variance). [rows]
    pub rstd: Array1<F>,
    /// (x − mean)·rstd, before scale and shift. [rows, d_model]
    pub normalized: Array2<F>,
    /// normalized·w + b. [rows, d_model]
    pub out: Array2<F>,
}

/// A row's statistics for a norm of `kind`: LayerNorm's mean and `1/√(var + eps)`, or
/// RMSNorm's 0 and `1/√(mean(x²) + eps)`. `x` [d].
#[inline(always)]
pub fn norm_statistics<F: Scalar>(x: ArrayView1<'_, F>, eps: F, kind: NormKind) -> (F, F) {
    match kind {
        NormKind::LayerNorm => mean_and_rstd(x, eps),
        NormKind::RmsNorm => (F::zero(), rms_rstd(x, eps)),
    }
}

/// `1/√(mean(x²) + eps)`, RMSNorm's scale. `x` [d].
#[inline(always)]
pub fn rms_rstd<F: Scalar>(x: ArrayView1<'_, F>, eps: F) -> F {
    let n = c::<F>(x.len() as f64);
    let mean_square = match x.as_slice() {
        Some(values) => lane_sum(values, |v| v * v),
        None => x.iter().map(|&v| v * v).fold(F::zero(), |a, b| a + b),
    } / n;
    F::one() / (mean_square + eps).sqrt()
}

/// A row's mean and `1/√(var + eps)` (biased variance), the statistics LayerNorm uses.
/// Sums run in eight interleaved partial sums, which the compiler turns into vector code
/// (a plain running sum waits on every addition in turn). `x` [d]. Inlined, so that inside
/// [`with_widest`] it is compiled for AVX2 or AVX-512 too.
#[inline(always)]
pub fn mean_and_rstd<F: Scalar>(x: ArrayView1<'_, F>, eps: F) -> (F, F) {
    let n = c::<F>(x.len() as f64);
    let owned;
    let values = match x.as_slice() {
        Some(values) => values,
        None => {
            owned = x.to_vec();
            &owned
        }
    };
    let mean = lane_sum(values, |v| v) / n;
    let var = lane_sum(values, |v| (v - mean) * (v - mean)) / n;
    (mean, F::one() / (var + eps).sqrt())
}

/// `Σ f(v)` over `values`, in eight interleaved partial sums.
#[inline(always)]
fn lane_sum<F: Scalar>(values: &[F], f: impl Fn(F) -> F) -> F {
    let mut lanes = [F::zero(); 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v);
        }
    }
    let mut sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &v in tail {
        sum += f(v);
    }
    sum
}

/// The largest of `values` (−∞ for none; NaNs are skipped, as `F::max` does), in eight
/// interleaved lanes like [`lane_sum`]: the result is the same whatever the order.
fn lane_max<F: Scalar>(values: &[F]) -> F {
    let mut lanes = [F::neg_infinity(); 8];
    let chunks = values.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v);
        }
    }
    let mut max = lanes.into_iter().fold(F::neg_infinity(), F::max);
    for &v in tail {
        max = max.max(v);
    }
    max
}

/// Copies `source` into every element of `target` (same shape), row by row, and returns
/// `target` initialised.
pub(crate) fn copy_into<'t, F: Scalar>(
    source: ArrayView2<'_, F>,
    mut target: ArrayViewMut2<'t, MaybeUninit<F>>,
) -> ArrayViewMut2<'t, F> {
    assert_eq!(source.dim(), target.dim(), "copy_into: shapes differ");
    for (source_row, mut target_row) in source.outer_iter().zip(target.outer_iter_mut()) {
        match (source_row.as_slice(), target_row.as_slice_mut()) {
            (Some(from), Some(to)) => {
                for (to, &value) in to.iter_mut().zip(from) {
                    to.write(value);
                }
            }
            _ => Zip::from(&mut target_row)
                .and(&source_row)
                .for_each(|to, &value| {
                    to.write(value);
                }),
        }
    }
    // The shapes are equal (asserted), and every row of `target` was written whole from
    // the row of `source` of the same length.
    finish_view(target)
}

/// LayerNorm over the last axis, `(x − mean)/√(var + eps)·w + b` (biased variance), or
/// RMSNorm, `x/√(mean(x²) + eps)·w` (mean recorded as 0). `x` [rows, d], `w` [d], `b` [d]
/// or empty (no shift). Rows are split over the two threads of `split` when large.
/// The trace's arrays are new and written once, row by row, not zero-filled first.
pub fn layer_norm_forward<F: Scalar>(
    x: ArrayView2<'_, F>,
    w: ArrayView1<'_, F>,
    b: ArrayView1<'_, F>,
    eps: f64,
    kind: NormKind,
    split: Split<'_>,
) -> LayerNormTrace<F> {
    let (rows, d) = x.dim();
    let zero_shift;
    let b = if b.is_empty() {
        zero_shift = Array1::zeros(d);
        zero_shift.view()
    } else {
        b
    };
    // `normalize_row` writes as many elements as the shortest of x, w and b: equal lengths
    // make that every element of the uninitialised outputs.
    assert!(
        w.len() == d && b.len() == d,
        "layer_norm_forward: {d} features but {} weights and {} biases",
        w.len(),
        b.len()
    );
    let mut mean = Fresh::new(rows);
    let mut rstd = Fresh::new(rows);
    let mut normalized = Fresh::new((rows, d));
    let mut out = Fresh::new((rows, d));
    let eps = c::<F>(eps);
    let (w, b) = (w.to_vec(), b.to_vec());
    let norm_rows = |x: ArrayView2<'_, F>, mut part: LayerNormRows<'_, F>| {
        with_widest(
            #[inline(always)]
            || {
                for (row, x_row) in x.outer_iter().enumerate() {
                    let (mu, r) = norm_statistics(x_row, eps, kind);
                    part.mean[row].write(mu);
                    part.rstd[row].write(r);
                    normalize_row(
                        x_row,
                        (mu, r),
                        (&w, &b),
                        part.normalized.row_mut(row),
                        part.out.row_mut(row),
                    );
                }
            },
        )
    };
    let whole = LayerNormRows {
        mean: mean.view_mut(),
        rstd: rstd.view_mut(),
        normalized: normalized.view_mut(),
        out: out.view_mut(),
    };
    // A row costs a few passes over its d values.
    if split.worth_it(rows, 8 * rows * d) {
        let mid = rows / 2;
        let (x_a, x_b) = x.split_at(Axis(0), mid);
        let (part_a, part_b) = whole.split_at(mid);
        split.join(|| norm_rows(x_a, part_a), || norm_rows(x_b, part_b));
    } else {
        norm_rows(x, whole);
    }
    // `norm_rows` visited every row of `x` (all of them, or the two bands that tile them)
    // and wrote that row's mean and rstd and, through `normalize_row`, every element of its
    // `normalized` and `out` rows (x, w and b have d elements, asserted above).
    LayerNormTrace {
        mean: mean.finish(),
        rstd: rstd.finish(),
        normalized: normalized.finish(),
        out: out.finish(),
    }
}

/// Mutable views of a [`LayerNormTrace`]'s arrays, not yet written, over a band of rows.
struct LayerNormRows<'a, F> {
    mean: ArrayViewMut1<'a, MaybeUninit<F>>,
    rstd: ArrayViewMut1<'a, MaybeUninit<F>>,
    normalized: ArrayViewMut2<'a, MaybeUninit<F>>,
    out: ArrayViewMut2<'a, MaybeUninit<F>>,
}

impl<'a, F> LayerNormRows<'a, F> {
    fn split_at(self, row: usize) -> (Self, Self) {
        let (mean_a, mean_b) = self.mean.split_at(Axis(0), row);
        let (rstd_a, rstd_b) = self.rstd.split_at(Axis(0), row);
        let (normalized_a, normalized_b) = self.normalized.split_at(Axis(0), row);
        let (out_a, out_b) = self.out.split_at(Axis(0), row);
        (
            Self {
                mean: mean_a,
                rstd: rstd_a,
                normalized: normalized_a,
                out: out_a,
            },
            Self {
                mean: mean_b,
                rstd: rstd_b,
                normalized: normalized_b,
                out: out_b,
            },
        )
    }
}

/// One row of LayerNorm: writes `normalized = (x − mean)·rstd` and `out = normalized·w + b`
/// into every element of both output rows.
#[inline(always)]
fn normalize_row<F: Scalar>(
    x: ArrayView1<'_, F>,
    (mean, rstd): (F, F),
    (w, b): (&[F], &[F]),
    mut normalized: ArrayViewMut1<'_, MaybeUninit<F>>,
    mut out: ArrayViewMut1<'_, MaybeUninit<F>>,
) {
    let (Some(x), Some(normalized), Some(out)) =
        (x.as_slice(), normalized.as_slice_mut(), out.as_slice_mut())
    else {
        // Strided rows (never in a trace): the same arithmetic, element by element.
        Zip::from(&mut normalized)
            .and(&mut out)
            .and(&x)
            .and(w)
            .and(b)
            .for_each(|n, o, &xv, &wv, &bv| {
                let value = (xv - mean) * rstd;
                n.write(value);
                o.write(value * wv + bv);
            });
        return;
    };
    for ((((n, o), &xv), &wv), &bv) in normalized
        .iter_mut()
        .zip(out.iter_mut())
        .zip(x)
        .zip(w)
        .zip(b)
    {
        let value = (xv - mean) * rstd;
        n.write(value);
        o.write(value * wv + bv);
    }
}

/// Reverses [`layer_norm_forward`]: given `d_out` [rows, d], adds `dL/dw` and `dL/db` into
/// `d_w`, `d_b` [d] and returns `dL/dx` [rows, d], reading `normalized` and `rstd` from the
/// forward's trace.
pub fn layer_norm_backward<F: Scalar>(
    d_out: ArrayView2<'_, F>,
    trace: &LayerNormTrace<F>,
    w: ArrayView1<'_, F>,
    mut d_w: ArrayViewMut1<'_, F>,
    mut d_b: ArrayViewMut1<'_, F>,
) -> Array2<F> {
    let (rows, d) = d_out.dim();
    let inv_d = c::<F>(1.0 / d as f64);
    let mut d_x = Array2::zeros((rows, d));
    for row in 0..rows {
        let d_out_row = d_out.row(row);
        let norm_row = trace.normalized.row(row);
        // Reverses `o = n·w + b`: dw += dout·n, db += dout, dn = dout·w.
        let mut mean_d_norm = F::zero();
        let mut mean_d_norm_norm = F::zero();
        Zip::from(&d_out_row)
            .and(&norm_row)
            .and(w)
            .and(&mut d_w)
            .and(&mut d_b)
            .for_each(|&g, &n, &wv, dw, db| {
                *dw += g * n;
                *db += g;
                let d_norm = g * wv;
                mean_d_norm += d_norm;
                mean_d_norm_norm += d_norm * n;
            });
        mean_d_norm *= inv_d;
        mean_d_norm_norm *= inv_d;
        // Reverses `n = (x − mean)·rstd` through the mean and the variance.
        let r = trace.rstd[row];
        Zip::from(d_x.row_mut(row))
            .and(&d_out_row)
            .and(&norm_row)
            .and(w)
            .for_each(|dx, &g, &n, &wv| {
                *dx = (g * wv - mean_d_norm - n * mean_d_norm_norm) * r;
            });
    }
    d_x
}

/// `tanh` at the precision of `F`: for `f32` a branch-free rational approximation (Eigen's
/// `generic_fast_tanh_float`, within a few f32 ulps) that the compiler vectorizes — libm's
/// `tanhf` was a third of the training time; for `f64` the exact `tanh`, so gradient checks
/// keep full precision.
#[inline(always)]
pub fn tanh_for<F: Scalar>(x: F) -> F {
    if F::epsilon() < c::<F>(1e-10) {
        return x.tanh();
    }
    let x = x
        .max(c::<F>(-7.998_811_721_801_758))
        .min(c::<F>(7.998_811_721_801_758));
    let x2 = x * x;
    let p = c::<F>(-2.760_768_477_423_55e-16);
    let p = x2 * p + c::<F>(2.000_187_904_824_77e-13);
    let p = x2 * p + c::<F>(-8.604_671_522_137_35e-11);
    let p = x2 * p + c::<F>(5.122_297_090_371_14e-8);
    let p = x2 * p + c::<F>(1.485_722_357_179_79e-5);
    let p = x2 * p + c::<F>(6.372_619_288_754_36e-4);
    let p = x2 * p + c::<F>(4.893_524_558_917_86e-3);
    let q = c::<F>(1.198_258_394_667_02e-6);
    let q = x2 * q + c::<F>(1.185_347_056_866_54e-4);
    let q = x2 * q + c::<F>(2.268_434_632_439e-3);
    let q = x2 * q + c::<F>(4.893_525_185_543_85e-3);
    x * p / q
}

/// GPT-2's `gelu_new`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
#[inline(always)]
pub fn gelu_new<F: Scalar>(x: F) -> F {
    let k = c::<F>((2.0 / std::f64::consts::PI).sqrt());
    let inner = k * (x + c::<F>(0.044715) * x * x * x);
    c::<F>(0.5) * x * (F::one() + tanh_for(inner))
}

/// Reverses [`gelu_new`]: its derivative at the pre-activation `x`.
#[inline(always)]
pub fn gelu_new_backward<F: Scalar>(x: F) -> F {
    let k = c::<F>((2.0 / std::f64::consts::PI).sqrt());
    let a = c::<F>(0.044715);
    let tanh_out = tanh_for(k * (x + a * x * x * x));
    let sech2 = F::one() - tanh_out * tanh_out;
    c::<F>(0.5) * (F::one() + tanh_out)
        + c::<F>(0.5) * x * sech2 * k * (F::one() + c::<F>(3.0) * a * x * x)
}

/// Exact GELU, `x·Φ(x) = 0.5·x·(1 + erf(x/√2))` (PyTorch's `gelu`, GPT-NeoX's `gelu`).
#[inline(always)]
pub fn gelu_exact<F: Scalar>(x: F) -> F {
    c::<F>(0.5) * x * (F::one() + (x * c::<F>(std::f64::consts::FRAC_1_SQRT_2)).erf())
}

/// Reverses [`gelu_exact`]: `Φ(x) + x·φ(x)`.
#[inline(always)]
pub fn gelu_exact_backward<F: Scalar>(x: F) -> F {
    let cdf = c::<F>(0.5) * (F::one() + (x * c::<F>(std::f64::consts::FRAC_1_SQRT_2)).erf());
    let pdf = (-(x * x) * c::<F>(0.5)).exp() * c::<F>(1.0 / (2.0 * std::f64::consts::PI).sqrt());
    cdf + x * pdf
}

/// SiLU, `x·σ(x) = x / (1 + e^(−x))`.
#[inline(always)]
pub fn silu<F: Scalar>(x: F) -> F {
    x / (F::one() + (-x).exp())
}

/// Reverses [`silu`]: `σ(x)·(1 + x·(1 − σ(x)))`.
#[inline(always)]
pub fn silu_backward<F: Scalar>(x: F) -> F {
    let sigma = F::one() / (F::one() + (-x).exp());
    sigma * (F::one() + x * (F::one() - sigma))
}

/// The activation's value at `x`.
#[inline(always)]
pub fn activate<F: Scalar>(activation: Activation, x: F) -> F {
    match activation {
        Activation::GeluNew => gelu_new(x),
        Activation::Relu => relu(x),
        Activation::GeluExact => gelu_exact(x),
        Activation::Silu => silu(x),
    }
}

/// The activation's derivative at `x`.
#[inline(always)]
pub fn activate_backward<F: Scalar>(activation: Activation, x: F) -> F {
    match activation {
        Activation::GeluNew => gelu_new_backward(x),
        Activation::Relu => relu_backward(x),
        Activation::GeluExact => gelu_exact_backward(x),
        Activation::Silu => silu_backward(x),
    }
}

/// `max(0, x)`.
#[inline(always)]
pub fn relu<F: Scalar>(x: F) -> F {
    x.max(F::zero())
}

/// Reverses [`relu`]: 1 where `x > 0`, else 0 (the subgradient at 0 is 0).
#[inline(always)]
pub fn relu_backward<F: Scalar>(x: F) -> F {
    if x > F::zero() { F::one() } else { F::zero() }
}

/// Causal softmax of one head's scores, in place: row `query` keeps keys `0..=query` and
/// gives the later keys exactly 0. `scores` [query_pos, key_pos] becomes the pattern.
pub fn causal_softmax_in_place<F: Scalar>(scores: ArrayViewMut2<'_, F>) {
    masked_softmax_in_place(scores, None);
}

/// The first key a query at `query` sees: 0, or the start of its sliding `window` (the
/// `window` keys ending at the query itself, as Hugging Face's `i − window < j ≤ i`).
pub fn first_visible_key(query: usize, window: Option<usize>) -> usize {
    window.map_or(0, |w| (query + 1).saturating_sub(w))
}

/// Causal softmax of one head's scores, in place, with an optional sliding window: row
/// `query` keeps keys `first_visible_key(query, window)..=query` and gives every other key
/// exactly 0. `scores` [query_pos, key_pos] becomes the pattern.
pub fn masked_softmax_in_place<F: Scalar>(mut scores: ArrayViewMut2<'_, F>, window: Option<usize>) {
    for (query, mut row) in scores.axis_iter_mut(Axis(0)).enumerate() {
        let (seen, masked) = row
            .as_slice_mut()
            .expect("score rows are contiguous")
            .split_at_mut(query + 1);
        let (outside_window, visible) = seen.split_at_mut(first_visible_key(query, window));
        outside_window.fill(F::zero());
        let max = lane_max(visible);
        for value in visible.iter_mut() {
            *value = (*value - max).exp();
        }
        let inv_total = F::one() / lane_sum(visible, |v| v);
        for value in visible.iter_mut() {
            *value *= inv_total;
        }
        masked.fill(F::zero());
    }
}

/// `post = act(pre)` elementwise over a contiguous array (plain slice loops, which the
/// compiler vectorizes; ndarray's `mapv` did not), in two halves on two threads when `split`
/// says so and the array is large. `post` is a new array written once, not zero-filled
/// first. `pre` [rows, d_mlp].
pub fn activation_forward<F: Scalar>(
    activation: Activation,
    pre: &Array2<F>,
    split: Split<'_>,
) -> Array2<F> {
    let mut post = Fresh::new(pre.raw_dim());
    let out = post.as_slice_mut().expect("fresh arrays are contiguous");
    let input = pre.as_slice().expect("pre-activations are contiguous");
    let activate = |input: &[F], out: &mut [MaybeUninit<F>]| {
        with_widest(
            #[inline(always)]
            || activate_slice(activation, input, out),
        )
    };
    // A gelu_new costs about as much as a dozen multiply-adds.
    if split.worth_it(pre.nrows(), 12 * input.len()) {
        let mid = input.len() / 2;
        let (in_first, in_second) = input.split_at(mid);
        let (out_first, out_second) = out.split_at_mut(mid);
        split.join(
            || activate(in_first, out_first),
            || activate(in_second, out_second),
        );
    } else {
        activate(input, out);
    }
    // `activate_slice` wrote every element of `post`: it writes all of its output slice
    // (asserted to be as long as its input), and the slices passed to it are all of `post`
    // or its two halves.
    post.finish()
}

/// Writes `act(input[i])` into every `out[i]`.
#[inline(always)]
fn activate_slice<F: Scalar>(activation: Activation, input: &[F], out: &mut [MaybeUninit<F>]) {
    assert_eq!(input.len(), out.len(), "one output per input");
    // One loop per activation, so that each is compiled (and vectorized) on its own.
    macro_rules! each {
        ($f:expr) => {
            out.iter_mut().zip(input).for_each(|(o, &x)| {
                o.write($f(x));
            })
        };
    }
    match activation {
        Activation::GeluNew => each!(gelu_new),
        Activation::Relu => each!(relu),
        Activation::GeluExact => each!(gelu_exact),
        Activation::Silu => each!(silu),
    }
}

/// Reverses [`activation_forward`]: multiplies `d` (dL/dpost, becoming dL/dpre) by the
/// activation's derivative at `pre`, in place. Both [rows, d_mlp], contiguous.
pub fn activation_backward_in_place<F: Scalar>(
    activation: Activation,
    pre: &Array2<F>,
    d: &mut Array2<F>,
) {
    let input = pre.as_slice().expect("pre-activations are contiguous");
    let grad = d.as_slice_mut().expect("fresh arrays are contiguous");
    with_widest(
        #[inline(always)]
        || match activation {
            Activation::GeluNew => grad
                .iter_mut()
                .zip(input)
                .for_each(|(g, &x)| *g *= gelu_new_backward(x)),
            Activation::Relu => grad
                .iter_mut()
                .zip(input)
                .for_each(|(g, &x)| *g *= relu_backward(x)),
            other => grad
                .iter_mut()
                .zip(input)
                .for_each(|(g, &x)| *g *= activate_backward(other, x)),
        },
    )
}

/// Reverses [`causal_softmax_in_place`] for one head: turns `d_pattern` [query_pos, key_pos]
/// into `d_scores` in place, reading the `pattern` the forward produced. Masked entries get 0.
pub fn causal_softmax_backward_in_place<F: Scalar>(
    pattern: ArrayView2<'_, F>,
    mut d_pattern: ArrayViewMut2<'_, F>,
) {
    for (query, (p_row, mut d_row)) in pattern
        .outer_iter()
        .zip(d_pattern.outer_iter_mut())
        .enumerate()
    {
        let visible = query + 1;
        // dS_j = P_j·(dP_j − Σ_k P_k·dP_k) over the visible keys.
        let mut dot = F::zero();
        for key in 0..visible {
            dot += p_row[key] * d_row[key];
        }
        for key in 0..visible {
            d_row[key] = p_row[key] * (d_row[key] - dot);
        }
        for key in visible..d_row.len() {
            d_row[key] = F::zero();
        }
    }
}

/// Softmax of one vector of logits (numerically stable).
pub fn softmax<F: Scalar>(logits: ArrayView1<'_, F>) -> Array1<F> {
    let max = logits.iter().copied().fold(F::neg_infinity(), F::max);
    let mut probs = logits.mapv(|x| (x - max).exp());
    let total = probs.sum();
    probs /= total;
    probs
}

/// Mean next-token cross-entropy of `logits` [rows, d_vocab] against `targets` [rows]
/// (natural log, nats per token).
pub fn cross_entropy<F: Scalar>(logits: ArrayView2<'_, F>, targets: &[u32]) -> F {
    let total: F = logits
        .outer_iter()
        .zip(targets)
        .map(|(row, &target)| {
            let max = row.iter().copied().fold(F::neg_infinity(), F::max);
            let log_sum = row.iter().map(|&x| (x - max).exp()).sum::<F>().ln() + max;
            log_sum - row[target as usize]
        })
        .sum();
    total / c::<F>(targets.len() as f64)
}

/// Mean cross-entropy over the rows that have a target, and its gradient with respect to the
/// logits: `(softmax − onehot)/n` on those rows, 0 on rows whose target is `None`.
/// `logits` [rows, d_vocab], `targets` [rows] → (loss in nats per token, [rows, d_vocab]).
/// Reverses [`cross_entropy`] (which is the same mean). Returns `None` when no row has a
/// target.
pub fn cross_entropy_backward<F: Scalar>(
    logits: ArrayView2<'_, F>,
    targets: &[Option<u32>],
) -> Option<(F, Array2<F>)> {
    let count = targets.iter().flatten().count();
    if count == 0 {
        return None;
    }
    let inv_count = c::<F>(1.0 / count as f64);
    let mut d_logits = Array2::zeros(logits.raw_dim());
    let mut total = F::zero();
    for ((row, mut d_row), target) in logits
        .outer_iter()
        .zip(d_logits.outer_iter_mut())
        .zip(targets)
    {
        let Some(target) = *target else { continue };
        let max = row.iter().copied().fold(F::neg_infinity(), F::max);
        let mut sum = F::zero();
        Zip::from(&mut d_row).and(&row).for_each(|d, &x| {
            *d = (x - max).exp();
            sum += *d;
        });
        total += sum.ln() + max - row[target as usize];
        let scale = inv_count / sum;
        d_row.mapv_inplace(|p| p * scale);
        d_row[target as usize] -= inv_count;
    }
    Some((total * inv_count, d_logits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn layer_norm_of_a_known_row() {
        // x = [1, 2, 3]: mean 2, biased var 2/3.
        let x = array![[1.0f64, 2.0, 3.0]];
        let w = array![1.0, 1.0, 2.0];
        let b = array![0.0, 1.0, 0.0];
        let t = layer_norm_forward(
            x.view(),
            w.view(),
            b.view(),
            0.0,
            NormKind::LayerNorm,
            Split::None,
        );
        let s = (2.0f64 / 3.0).sqrt();
        assert!((t.mean[0] - 2.0).abs() < 1e-12);
        assert!((t.out[[0, 0]] + 1.0 / s).abs() < 1e-12);
        assert!((t.out[[0, 1]] - 1.0).abs() < 1e-12);
        assert!((t.out[[0, 2]] - 2.0 / s).abs() < 1e-12);
    }

    #[test]
    fn causal_softmax_masks_and_normalises() {
        let mut s = array![[5.0f64, 7.0, 9.0], [0.0, 0.0, 100.0], [1.0, 2.0, 3.0]];
        causal_softmax_in_place(s.view_mut());
        assert_eq!(s.row(0).to_vec(), vec![1.0, 0.0, 0.0]);
        assert_eq!(s.row(1).to_vec(), vec![0.5, 0.5, 0.0]);
        for row in s.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn gelu_new_known_values() {
        assert_eq!(gelu_new(0.0f64), 0.0);
        // 0.5·1·(1 + tanh(√(2/π)·1.044715)) = 0.8411919906082768
        assert!((gelu_new(1.0f64) - 0.841_191_990_608_276_8).abs() < 1e-12);
        assert_eq!(relu(-2.0f32), 0.0);
    }

    #[test]
    fn f32_tanh_is_within_a_few_ulps_of_the_exact_one() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f64 * 1e-4; // [-20, 20]
            let ours = tanh_for(x as f32) as f64;
            let exact = (x as f32 as f64).tanh();
            worst = worst.max((ours - exact).abs() / exact.abs().max(1e-3));
        }
        assert!(worst < 1e-6, "relative error {worst:e}");
        assert_eq!(tanh_for(0.5f64), 0.5f64.tanh(), "f64 uses the exact tanh");
    }

    #[test]
    fn cross_entropy_of_uniform_logits_is_log_vocab() {
        let logits = Array2::<f64>::zeros((3, 8));
        let loss = cross_entropy(logits.view(), &[0, 3, 7]);
        assert!((loss - 8f64.ln()).abs() < 1e-12);
    }
}
