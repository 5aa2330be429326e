//! The `gemm` crate's product behind two safe functions (`model::linalg` routes every
//! product of the model here but the few-rows ones): the shapes are checked and the
//! output is a mutably borrowed array, so every pointer gemm receives is in bounds and the
//! output overlaps neither operand.

use std::mem::MaybeUninit;

use ndarray::{ArrayBase, ArrayViewMut2, Data, DataMut, Ix2};

use super::uninit::finish_view;
use crate::model::scalar::Scalar;

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
    // SAFETY: `c` is a live, mutably borrowed (so unaliased) array of the checked shape,
    // initialised, as gemm_raw requires.
    unsafe { gemm_raw(alpha, a, b, beta, c.as_mut_ptr(), c_strides) }
}

/// Writes `alpha·a·b` into every element of `c` [m, n], a view of a
/// [`Fresh`](super::uninit::Fresh) array (not zero-filled: in a trace, zero-filling outputs
/// cost as much memory traffic as writing them), and returns it initialised.
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
    check_shapes(a, b, c.dim());
    if a.ncols() == 0 {
        c.fill(MaybeUninit::new(F::zero())); // an empty sum
    } else {
        let c_strides = (c.strides()[0], c.strides()[1]);
        let c_ptr = c.as_mut_ptr().cast::<F>(); // MaybeUninit<F> has F's layout
        // SAFETY: as in `mat_mul`, except that `c` may be uninitialised: with beta = 0 gemm
        // computes dst := alpha·a·b without reading dst (its `read_dst = false`).
        unsafe { gemm_raw(alpha, a, b, F::zero(), c_ptr, c_strides) }
    }
    // gemm writes all m·n elements of its output when k > 0; the fill covers k = 0.
    finish_view(c)
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
