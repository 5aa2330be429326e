//! `mat_mul`: every matrix product of the model, `c = alpha·a·b + beta·c`, on the `gemm` crate.
//!
//! Same contract as ndarray's `general_mat_mul` (which runs matrixmultiply), so call sites
//! read the same; any strides, transposed views included. Why `gemm` rather than
//! matrixmultiply: on the products a training step and a trace make here it is 5–20 % faster
//! on the large ones and 20–55 % on the small per-head ones (`64×32 · 32×64`), mostly because
//! it packs less (`bench train` spent 15 % of its time in matrixmultiply's packing). It runs
//! single-threaded here: the callers split work between threads themselves
//! (`model::parallel`, `train::step`). With its `x86-v4` feature it picks AVX-512 kernels at
//! run time on CPUs that have them (larger register tiles: 101–110 instead of 83–94
//! GFLOP/s per core on the lesson model's products here), AVX2/FMA ones otherwise.

use std::mem::MaybeUninit;

use ndarray::{Array2, ArrayBase, ArrayViewMut2, Data, DataMut, Ix2};

use super::scalar::Scalar;

/// `c = alpha·a·b + beta·c`: a [m, k], b [k, n], c [m, n]. With `beta` = 0, `c` is only
/// written (NaNs in it do not propagate), as in BLAS.
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
    check_shapes(a, b, c.dim());
    let c_strides = (c.strides()[0], c.strides()[1]);
    let c_ptr = c.as_mut_ptr();
    #[allow(unsafe_code)]
    // SAFETY: `c` is a live, mutably borrowed array of the checked shape (see `gemm_raw`).
    unsafe {
        gemm_raw(alpha, a, b, beta, c_ptr, c_strides);
    }
}

/// Writes `alpha·a·b` into every element of `c` [m, n], whose elements need not be
/// initialised (a new array's, which then needs no zero-filling: in a trace, zero-filling
/// outputs cost as much memory traffic as writing them), and returns it initialised.
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
    check_shapes(a, b, c.dim());
    if a.ncols() == 0 {
        c.fill(MaybeUninit::new(F::zero())); // an empty sum
    } else {
        let c_strides = (c.strides()[0], c.strides()[1]);
        let c_ptr = c.as_mut_ptr().cast::<F>(); // MaybeUninit<F> has F's layout
        #[allow(unsafe_code)]
        // SAFETY: as in `mat_mul`; with beta = 0, gemm computes dst := alpha·a·b without
        // reading dst (its `read_dst = false`), so uninitialised elements are never read.
        unsafe {
            gemm_raw(alpha, a, b, F::zero(), c_ptr, c_strides);
        }
    }
    #[allow(unsafe_code)]
    // SAFETY: every element of `c` was written just above: gemm writes all m·n elements of
    // its output (k > 0), and the fill covers the k = 0 case.
    unsafe {
        c.assume_init()
    }
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
    let mut out = Array2::<F>::uninit((a.nrows(), b.ncols()));
    mat_mul_into(alpha, a, b, out.view_mut());
    #[allow(unsafe_code)]
    // SAFETY: `mat_mul_into` wrote every element of the view of the whole array.
    unsafe {
        out.assume_init()
    }
}

/// Panics unless a [m, k] · b [k, n] fits an output of `c_dim` [m, n].
fn check_shapes<F, SA, SB>(a: &ArrayBase<SA, Ix2>, b: &ArrayBase<SB, Ix2>, c_dim: (usize, usize))
where
    SA: Data<Elem = F>,
    SB: Data<Elem = F>,
{
    let (m, k) = a.dim();
    let (k_b, n) = b.dim();
    assert!(
        k == k_b && c_dim == (m, n),
        "mat_mul: shapes {:?} · {:?} into {:?} do not match",
        a.dim(),
        b.dim(),
        c_dim
    );
}

/// `dst = alpha·a·b + beta·dst` through gemm; dst is read only when `beta` ≠ 0.
///
/// # Safety
/// The shapes must have passed [`check_shapes`], and `c_ptr` with `(row, column)` strides
/// `c_strides` must address an [m, n] array that is valid for writes (and, if `beta` ≠ 0,
/// initialised) at every index, overlaps neither `a` nor `b`, and maps no two indices to
/// one element. `F` must be f32 or f64 (the only `Scalar`s), which gemm supports.
#[allow(unsafe_code)]
unsafe fn gemm_raw<F, SA, SB>(
    alpha: F,
    a: &ArrayBase<SA, Ix2>,
    b: &ArrayBase<SB, Ix2>,
    beta: F,
    c_ptr: *mut F,
    (c_rs, c_cs): (isize, isize),
) where
    F: Scalar,
    SA: Data<Elem = F>,
    SB: Data<Elem = F>,
{
    let (m, k) = a.dim();
    let n = b.ncols();
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    // SAFETY: `a` and `b` are live ndarray arrays of the checked shapes, so every element
    // `ptr + i·row_stride + j·col_stride` of their extents is in bounds (ndarray keeps
    // `as_ptr` at element [0, 0] for any strides, negative ones included); the caller
    // vouches for `c`. gemm's arguments: dst := gemm_alpha·dst + gemm_beta·lhs·rhs, with dst
    // read only when `read_dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c_ptr,
            c_cs,
            c_rs,
            beta != F::zero(),
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
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
        for &(m, k, n) in &[(1, 1, 1), (5, 3, 7), (64, 32, 64), (33, 129, 17), (3, 0, 4)] {
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
            let mut out = Array2::<f64>::uninit((m, n + 4));
            let written = mat_mul_into(1.5, &a, &b, out.slice_mut(ndarray::s![.., 2..n + 2]));
            let diff = (&written - &expected).fold(0.0f64, |acc, x| acc.max(x.abs()));
            assert!(diff < 1e-12, "{m}×{k}×{n}: off by {diff:e}");
        }
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
