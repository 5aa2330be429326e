//! Products of a few rows against a large matrix: a prompt of a handful of tokens through a
//! real checkpoint's weights, or one token's stacked lens stages against the unembedding.
//!
//! `a` [m, k] · `b` [k, n] with m small and `b` a weight matrix of megabytes. Such a product
//! is bound by reading `b`, not by arithmetic, and the general kernel (gemm) reads it badly:
//! its 16-row tiles are mostly empty and it walks `b` down its columns, one 64-byte piece per
//! row, which defeats the hardware prefetcher. Measured on Qwen2.5-0.5B's MLP matrix
//! (896 × 4864) on one core, gemm took 8–16 ms for 9 rows where a plain read of the matrix
//! takes 1.7–2.3 ms; this kernel takes 3.7 ms (`bench matmul --shape 9x896x4864`, with
//! `RESIDUAL_EXPLORER_FEW_ROWS=off` for gemm, compares them). On other CPUs gemm reads such
//! matrices well and is the faster from a handful of rows, so how many rows the kernel takes
//! is measured once per process ([`max_rows`], `few_rows_calibration`).
//!
//! The kernel reads `b` row by row, eight rows at a time, each over a block of columns
//! whose results for all m rows of `a` stay in a scratch buffer of at most 128 KB (the core's
//! L2): `out[t, block] += Σ_{i<8} a[t, k+i] · b[k+i, block]`, a plain slice loop the compiler
//! vectorizes ([`with_widest`]). Sums are grouped pairwise within each group of eight and
//! added to the running sum in order of k, so results differ from gemm's in the last bits
//! only.

use ndarray::{ArrayView2, Axis};

use super::few_rows_calibration;
use super::scalar::Scalar;
use super::simd::with_widest;

/// At most this many rows of `a` go to the few-rows kernel (or to the swapped route of
/// [`suits_swapped`]): on the machine where the kernel was written it still matched gemm at
/// 49 rows against 896 × 4864 (12 against 14 ms); at 64 gemm's tiles pay off everywhere.
/// [`max_rows`] is the limit measured on this CPU, at most this.
pub(crate) const MAX_ROWS: usize = 48;

/// Weight matrices of fewer elements (4 MB of f32) stay with gemm: they sit in cache, where
/// the way the kernel reads them buys nothing (and the calibration is not worth its time).
const LARGE_WEIGHTS: usize = 1 << 20;

/// Whether the few-rows routes are on: `RESIDUAL_EXPLORER_FEW_ROWS=off` sends every product
/// to gemm as it is (to time one against the other with `bench matmul --shape`); read once.
pub fn enabled() -> bool {
    env_setting() != Some("off")
}

/// The most rows of `a` the kernel takes on this CPU: measured once, at the first product
/// that could use it (see [`super::few_rows_calibration`]), unless
/// `RESIDUAL_EXPLORER_FEW_ROWS` sets it.
pub fn max_rows() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        few_rows_calibration::limit_from_env(env_setting())
            .unwrap_or_else(few_rows_calibration::measure_limit)
    })
}

/// `RESIDUAL_EXPLORER_FEW_ROWS`, read once (every product asks).
fn env_setting() -> Option<&'static str> {
    static SETTING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SETTING
        .get_or_init(|| std::env::var("RESIDUAL_EXPLORER_FEW_ROWS").ok())
        .as_deref()
}

/// Rows of `b` taken together: each output element is loaded and stored once per group.
const GROUP: usize = 8;

/// Bytes of the scratch block of results (all rows of `a` × a block of columns).
const BLOCK_BYTES: usize = 128 * 1024;

/// Whether [`for_each_block`] takes a [m, k] · b [k, n]: few rows, both operands with
/// contiguous rows, and enough work for the layout to matter.
pub(crate) fn suits<F: Scalar>(a: &ArrayView2<'_, F>, b: &ArrayView2<'_, F>) -> bool {
    let k = a.ncols();
    // The measured limit last: the first call that gets that far measures it.
    fits_the_kernel(a, b) && k * b.ncols() >= LARGE_WEIGHTS && a.nrows() <= max_rows()
}

/// What [`for_each_block`] needs: a [`few_rows_shape`], both operands with contiguous rows.
fn fits_the_kernel<F: Scalar>(a: &ArrayView2<'_, F>, b: &ArrayView2<'_, F>) -> bool {
    few_rows_shape(a, b)
        && a.strides()[1] == 1
        && b.strides()[1] == 1
        && a.strides()[0] >= 0
        && b.strides()[0] >= 0
}

/// The shape both few-rows routes take: 1 to [`MAX_ROWS`] rows, matching depths of at least
/// one group, 16 columns or more.
fn few_rows_shape<F: Scalar>(a: &ArrayView2<'_, F>, b: &ArrayView2<'_, F>) -> bool {
    let (m, k) = a.dim();
    (1..=MAX_ROWS).contains(&m) && k == b.nrows() && k >= GROUP && b.ncols() >= 16
}

/// Whether a [m, k] · b [k, n] is a few rows against a weight matrix stored transposed,
/// [n, k] row-major (a tied unembedding, `W_Eᵀ`). gemm walks such a `b` badly from this
/// side (its tiles read `b` across its rows): `bench matmul --shape 5x768x50257
/// --transposed-b` took 36.5 ms on one thread where the same product as `(bᵀ · aᵀ)ᵀ`, the
/// large matrix on the left read row by row, took 12.5 ms (`mat_mul` routes it so).
pub(crate) fn suits_swapped<F: Scalar>(a: &ArrayView2<'_, F>, b: &ArrayView2<'_, F>) -> bool {
    enabled() && few_rows_shape(a, b) && b.strides()[0] == 1 && b.strides()[1] > 1
}

/// Computes `a · b` block of columns by block of columns and hands each finished block to
/// `sink(columns_start, block)`, where `block` holds the m rows' results for those columns,
/// row after row (`block.len() = m · width`). Every column is handed over exactly once.
/// Call only when [`fits_the_kernel`] says so (as [`suits`] does).
pub(crate) fn for_each_block<F: Scalar>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    mut sink: impl FnMut(usize, &[F]),
) {
    let m = a.nrows();
    let n = b.ncols();
    let block_width = (BLOCK_BYTES / std::mem::size_of::<F>() / m / 16 * 16).clamp(16, n);
    let a_rows: Vec<&[F]> = a
        .axis_iter(Axis(0))
        .map(|row| {
            row.to_slice()
                .expect("rows of `a` are contiguous (checked by `suits`)")
        })
        .collect();
    let b_rows: Vec<&[F]> = b
        .axis_iter(Axis(0))
        .map(|row| {
            row.to_slice()
                .expect("rows of `b` are contiguous (checked by `suits`)")
        })
        .collect();
    let mut scratch = vec![F::zero(); m * block_width];
    let mut start = 0;
    while start < n {
        let width = block_width.min(n - start);
        let block = &mut scratch[..m * width];
        block.fill(F::zero());
        with_widest(
            #[inline(always)]
            || accumulate_block(&a_rows, &b_rows, start..start + width, block),
        );
        sink(start, block);
        start += width;
    }
}

/// `block[t] += Σ_k a[t][k] · b[k][columns]` for every row t of `a`; `block` is m rows of
/// `columns.len()` values.
#[inline(always)]
fn accumulate_block<F: Scalar>(
    a_rows: &[&[F]],
    b_rows: &[&[F]],
    columns: std::ops::Range<usize>,
    block: &mut [F],
) {
    let width = columns.len();
    let k = b_rows.len();
    let mut depth = 0;
    while depth + GROUP <= k {
        let group: [&[F]; GROUP] = std::array::from_fn(|i| &b_rows[depth + i][columns.clone()]);
        for (out, a_row) in block.chunks_exact_mut(width).zip(a_rows) {
            let coefficients: [F; GROUP] = std::array::from_fn(|i| a_row[depth + i]);
            add_group(&coefficients, &group, out);
        }
        depth += GROUP;
    }
    for (i, b_row) in b_rows.iter().enumerate().skip(depth) {
        let b_row = &b_row[columns.clone()];
        for (out, a_row) in block.chunks_exact_mut(width).zip(a_rows) {
            let coefficient = a_row[i];
            for (o, &w) in out.iter_mut().zip(b_row) {
                *o += coefficient * w;
            }
        }
    }
}

/// `out[j] += Σ_{i<8} c[i] · rows[i][j]`, summed pairwise.
#[inline(always)]
fn add_group<F: Scalar>(c: &[F; GROUP], rows: &[&[F]; GROUP], out: &mut [F]) {
    let len = out.len();
    let [r0, r1, r2, r3, r4, r5, r6, r7] = rows.map(|row| &row[..len]);
    for j in 0..len {
        let low = (c[0] * r0[j] + c[1] * r1[j]) + (c[2] * r2[j] + c[3] * r3[j]);
        let high = (c[4] * r4[j] + c[5] * r5[j]) + (c[6] * r6[j] + c[7] * r7[j]);
        out[j] += low + high;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// The product by the definition, in f64.
    fn naive(a: &Array2<f32>, b: &Array2<f32>) -> Array2<f64> {
        let (m, k) = a.dim();
        let n = b.ncols();
        Array2::from_shape_fn((m, n), |(i, j)| {
            (0..k)
                .map(|l| f64::from(a[[i, l]]) * f64::from(b[[l, j]]))
                .sum()
        })
    }

    fn filled(shape: (usize, usize), seed: usize) -> Array2<f32> {
        Array2::from_shape_fn(shape, |(i, j)| {
            (((i * 31 + j * 17 + seed * 7) % 23) as f32 - 11.0) / 7.0
        })
    }

    #[test]
    fn every_column_is_handed_over_once_with_the_product() {
        // Depths with and without a remainder after groups of 8; widths below, at and above
        // one block (16 rows: 2048 columns per block), with a partial last block.
        for (m, k, n) in [
            (1, 8, 16),
            (3, 13, 40),
            (16, 64, 2048),
            (16, 35, 4100),
            (48, 9, 700),
        ] {
            let (a, b) = (filled((m, k), 1), filled((k, n), 2));
            assert!(fits_the_kernel(&a.view(), &b.view()), "{m}×{k}×{n}");
            let mut got = Array2::<f32>::from_elem((m, n), f32::NAN);
            let mut handed = vec![0; n];
            for_each_block(&a.view(), &b.view(), |start, block| {
                let width = block.len() / m;
                for (t, row) in block.chunks_exact(width).enumerate() {
                    for (j, &value) in row.iter().enumerate() {
                        got[[t, start + j]] = value;
                    }
                }
                for count in &mut handed[start..start + width] {
                    *count += 1;
                }
            });
            assert!(handed.iter().all(|&c| c == 1), "{m}×{k}×{n}: {handed:?}");
            let want = naive(&a, &b);
            for ((i, j), &g) in got.indexed_iter() {
                let w = want[[i, j]];
                assert!(
                    (f64::from(g) - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "[{i},{j}] {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn only_few_contiguous_rows_against_large_weights_suit() {
        let (a, b) = (filled((9, 64), 1), filled((64, 100), 2));
        assert!(fits_the_kernel(&a.view(), &b.view()));
        assert!(!suits(&a.view(), &b.view()), "weights that fit in cache");
        let tall = filled((MAX_ROWS + 1, 64), 1);
        assert!(!fits_the_kernel(&tall.view(), &b.view()), "too many rows");
        let large = filled((64, LARGE_WEIGHTS / 64), 2);
        assert!(!suits(&tall.view(), &large.view()), "too many rows");
        let b_t = filled((100, 64), 2);
        assert!(
            !fits_the_kernel(&a.view(), &b_t.t()),
            "columns of b not contiguous"
        );
        let a_t = filled((64, 9), 1);
        assert!(
            !fits_the_kernel(&a_t.t(), &b.view()),
            "columns of a not contiguous"
        );
        assert!(
            !fits_the_kernel(&a.view(), &filled((64, 8), 2).view()),
            "too few columns"
        );
        assert!(
            !fits_the_kernel(&a.view(), &filled((65, 100), 2).view()),
            "depths differ"
        );
    }
}
