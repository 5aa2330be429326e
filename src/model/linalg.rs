//! `mat_mul`: every matrix product of the model, `c = alpha·a·b + beta·c`, on the `gemm` crate
//! (the call itself is in `raw/gemm.rs`), and `product`, a new array written once.
//!
//! Same contract as ndarray's `general_mat_mul`, so call sites read the same; any strides,
//! transposed views included. `gemm` rather than matrixmultiply because it packs less, which
//! matters on the small per-head products (the README's benchmarks give the figures). It runs
//! single-threaded here: the callers split work between threads themselves
//! (`model::parallel`, `train::step`). With its `x86-v4` feature it picks AVX-512 kernels at
//! run time on CPUs that have them, AVX2/FMA ones otherwise.

use std::mem::MaybeUninit;

use ndarray::{Array2, ArrayBase, ArrayView2, ArrayViewMut2, Data, DataMut, Ix2, s};

use super::few_rows;
use super::raw::gemm;
use super::raw::uninit::{Fresh, finish_view};
use super::scalar::Scalar;

/// `c = alpha·a·b + beta·c`: a [m, k], b [k, n], c [m, n]. With `beta` = 0, `c` is only
/// written (NaNs in it do not propagate), as in BLAS. A few rows against a large matrix go
/// through [`few_rows`] (as many as it takes on this CPU), a few rows against a matrix stored
/// transposed through gemm as `(bᵀ · aᵀ)ᵀ` ([`few_rows::suits_swapped`]), everything else
/// through gemm as it is.
///
/// # Panics
/// If the shapes do not match (a programming error, as in `general_mat_mul`).
pub(crate) fn mat_mul<F, SA, SB, SC>(
    alpha: F,
    a: &ArrayBase<SA, Ix2>,
    b: &ArrayBase<SB, Ix2>,
    beta: F,
    c: &mut ArrayBase<SC, Ix2>,
) where
    F: Scalar,
    SA: Data<Elem = F>,
    SB: Data<Elem = F>,
    SC: DataMut<Elem = F>,
{
    let (a_view, b_view) = (a.view(), b.view());
    let mut c = c.view_mut();
    if c.dim() != (a.nrows(), b.ncols()) {
        return gemm::mat_mul(alpha, a, b, beta, &mut c); // panics with the shapes
    }
    // beta = 0 overwrites without reading, as gemm does.
    let store = |out: &mut F, product: F| {
        *out = if beta == F::zero() {
            product
        } else {
            product + beta * *out
        };
    };
    if few_rows::suits_swapped(&a_view, &b_view) {
        // cᵀ = bᵀ · aᵀ: the transposed weights become a row-major left operand.
        write_swapped(alpha, &a_view, &b_view, &mut c, store);
    } else if few_rows::suits(&a_view, &b_view) {
        few_rows_into(&a_view, &b_view, &mut c, |out, value| {
            store(out, alpha * value)
        });
    } else {
        gemm::mat_mul(alpha, a, b, beta, &mut c);
    }
}

/// Writes `alpha·a·b` into every element of `c` [m, n], a view of a [`Fresh`] array (not
/// zero-filled: in a trace, zero-filling outputs cost as much memory traffic as writing
/// them), and returns it initialised. Few rows go through [`few_rows`], as in [`mat_mul`].
///
/// # Panics
/// If the shapes do not match.
pub(crate) fn mat_mul_into<'c, F, SA, SB>(
    alpha: F,
    a: &ArrayBase<SA, Ix2>,
    b: &ArrayBase<SB, Ix2>,
    mut c: ArrayViewMut2<'c, MaybeUninit<F>>,
) -> ArrayViewMut2<'c, F>
where
    F: Scalar,
    SA: Data<Elem = F>,
    SB: Data<Elem = F>,
{
    let (a_view, b_view) = (a.view(), b.view());
    if c.dim() == (a.nrows(), b.ncols()) && few_rows::suits_swapped(&a_view, &b_view) {
        // As in `mat_mul`: cᵀ = bᵀ · aᵀ.
        write_swapped(alpha, &a_view, &b_view, &mut c, |out, value| {
            out.write(value);
        });
        // `write_swapped` writes every element once.
        return finish_view(c);
    }
    if !few_rows::suits(&a_view, &b_view) || c.dim() != (a.nrows(), b.ncols()) {
        return gemm::mat_mul_into(alpha, a, b, c);
    }
    few_rows_into(&a_view, &b_view, &mut c, |out, value| {
        out.write(alpha * value);
    });
    // `few_rows_into` writes every element once.
    finish_view(c)
}

/// `alpha · a · b` computed as `(bᵀ · aᵀ)ᵀ` by gemm ([`few_rows::suits_swapped`]), each
/// result handed to `write(element of c, value)` once. The product goes to a scratch [n, m]
/// array with contiguous rows (given an output with contiguous columns instead, gemm turns
/// the product back into the slow orientation), then row by row into `c` [m, n].
fn write_swapped<F: Scalar, T>(
    alpha: F,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, T>,
    write: impl Fn(&mut T, F),
) {
    let m = a.nrows();
    let mut scratch = Fresh::new((b.ncols(), m));
    gemm::mat_mul_into(alpha, &b.t(), &a.t(), scratch.view_mut());
    let scratch = scratch.finish();
    let values = scratch
        .as_slice()
        .expect("a fresh array is in standard layout");
    for (row_index, mut row) in c.rows_mut().into_iter().enumerate() {
        for (out, chunk) in row.iter_mut().zip(values.chunks_exact(m)) {
            write(out, chunk[row_index]);
        }
    }
}

/// `a · b` by [`few_rows`], each result handed to `write(element of c, value)` once.
/// c [m, n]
fn few_rows_into<F: Scalar, T>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, T>,
    write: impl Fn(&mut T, F),
) {
    few_rows::for_each_block(a, b, |start, block| {
        let width = block.len() / a.nrows();
        let mut band = c.slice_mut(s![.., start..start + width]);
        for (mut row, values) in band.rows_mut().into_iter().zip(block.chunks_exact(width)) {
            for (out, &value) in row.iter_mut().zip(values) {
                write(out, value);
            }
        }
    });
}

/// `alpha·a·b` as a new [m, n] array, written once (not zero-filled first).
pub(crate) fn product<F, SA, SB>(
    alpha: F,
    a: &ArrayBase<SA, Ix2>,
    b: &ArrayBase<SB, Ix2>,
) -> Array2<F>
where
    F: Scalar,
    SA: Data<Elem = F>,
    SB: Data<Elem = F>,
{
    let mut out = Fresh::new((a.nrows(), b.ncols()));
    mat_mul_into(alpha, a, b, out.view_mut());
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ShapeBuilder;

    /// The product by the definition, in f64.
    fn naive(
        alpha: f64,
        a: &Array2<f64>,
        b: &Array2<f64>,
        beta: f64,
        c: &Array2<f64>,
    ) -> Array2<f64> {
        Array2::from_shape_fn(c.dim(), |(i, j)| {
            let sum: f64 = (0..a.ncols()).map(|l| a[[i, l]] * b[[l, j]]).sum();
            alpha * sum + beta * c[[i, j]]
        })
    }

    fn filled(shape: (usize, usize), seed: usize) -> Array2<f64> {
        Array2::from_shape_fn(shape, |(i, j)| {
            ((i * 31 + j * 17 + seed * 7) % 23) as f64 * 0.1 - 1.1
        })
    }

    #[test]
    fn products_match_the_definition_for_every_layout() {
        // (5, 24, 40) with `b` column-major takes the swapped route, (9, 256, 4100) the
        // few-rows kernel (in debug builds; release builds measure whether it should); the
        // others go to gemm.
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 3, 7),
            (64, 32, 64),
            (33, 129, 17),
            (3, 0, 4),
            (5, 24, 40),
            (9, 256, 4100),
        ] {
            let a = filled((m, k), 1);
            let b = filled((k, n), 2);
            let c0 = filled((m, n), 3);
            for &(alpha, beta) in &[(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                let expected = naive(alpha, &a, &b, beta, &c0);
                // Row-major, and transposed (column-major) copies of each operand.
                let column_major = |x: &Array2<f64>| {
                    let mut f = Array2::zeros(x.dim().f());
                    f.assign(x);
                    f
                };
                let (a_f, b_f) = (column_major(&a), column_major(&b));
                for (a_in, b_in) in [(&a, &b), (&a_f, &b_f), (&a, &b_f), (&a_f, &b)] {
                    let mut c = c0.clone();
                    mat_mul(alpha, a_in, b_in, beta, &mut c);
                    let diff = (&c - &expected).fold(0.0f64, |acc, x| acc.max(x.abs()));
                    assert!(
                        diff < 1e-12,
                        "{m}×{k}×{n} α={alpha} β={beta}: off by {diff:e}"
                    );
                }
                // A column slice with a row stride, and an output slice of a larger array.
                let wide = filled((m, 2 * k + 1), 4);
                let mut wide_a = wide.clone();
                wide_a.slice_mut(ndarray::s![.., 1..2 * k + 1;2]).assign(&a);
                let mut big_c = Array2::from_elem((m + 2, n + 3), 9.0);
                big_c.slice_mut(ndarray::s![1..m + 1, 2..n + 2]).assign(&c0);
                let mut c_view = big_c.slice_mut(ndarray::s![1..m + 1, 2..n + 2]);
                mat_mul(
                    alpha,
                    &wide_a.slice(ndarray::s![.., 1..2 * k + 1;2]),
                    &b,
                    beta,
                    &mut c_view,
                );
                let diff = (&c_view - &expected).fold(0.0f64, |acc, x| acc.max(x.abs()));
                assert!(diff < 1e-12, "strided {m}×{k}×{n}: off by {diff:e}");
                assert_eq!(
                    big_c[[0, 0]],
                    9.0,
                    "nothing outside the output slice is written"
                );
                assert_eq!(big_c[[m + 1, n + 2]], 9.0);
            }
        }
    }

    #[test]
    fn a_product_into_uninitialised_memory_writes_every_element() {
        for &(m, k, n) in &[(64, 32, 64), (7, 5, 3), (4, 0, 3)] {
            let a = filled((m, k), 5);
            let b = filled((k, n), 6);
            let expected = naive(1.5, &a, &b, 0.0, &Array2::zeros((m, n)));
            // A column slice of a larger uninitialised array, as attention writes one head.
            let mut out = Fresh::<f64, _>::new((m, n + 4));
            let written = mat_mul_into(
                1.5,
                &a,
                &b,
                out.view_mut().slice_move(ndarray::s![.., 2..n + 2]),
            );
            let diff = (&written - &expected).fold(0.0f64, |acc, x| acc.max(x.abs()));
            assert!(diff < 1e-12, "{m}×{k}×{n}: off by {diff:e}");
        }
    }

    #[test]
    fn few_rows_against_transposed_weights_take_the_swapped_route() {
        let a = filled((5, 24), 1);
        let b_stored = filled((40, 24), 2); // [n, k], as a tied unembedding
        let b = b_stored.t();
        assert!(few_rows::suits_swapped(&a.view(), &b));
        assert!(!few_rows::suits_swapped(&a.view(), &b_stored.t().t()));
        let expected = naive(1.0, &a, &b.to_owned(), 0.0, &Array2::zeros((5, 40)));
        let mut out = Fresh::<f64, _>::new((5, 40));
        let written = mat_mul_into(1.0, &a, &b, out.view_mut());
        let diff = (&written - &expected).fold(0.0f64, |acc, x| acc.max(x.abs()));
        assert!(diff < 1e-12, "off by {diff:e}");
    }

    #[test]
    fn beta_zero_overwrites_nan() {
        let a = Array2::from_elem((4, 3), 1.0f32);
        let b = Array2::from_elem((3, 2), 2.0f32);
        let mut c = Array2::from_elem((4, 2), f32::NAN);
        mat_mul(1.0, &a, &b, 0.0, &mut c);
        assert!(c.iter().all(|&x| x == 6.0), "{c}");
    }

    #[test]
    #[should_panic(expected = "do not match")]
    fn mismatched_shapes_panic_with_a_message() {
        let a = Array2::<f32>::zeros((4, 3));
        let b = Array2::<f32>::zeros((2, 2));
        let mut c = Array2::<f32>::zeros((4, 2));
        mat_mul(1.0, &a, &b, 0.0, &mut c);
    }
}
