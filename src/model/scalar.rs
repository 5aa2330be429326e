//! The floating-point element type of every array in the model.
//!
//! The app runs in `f32`; gradient checks run the same code in `f64` so that finite
//! differences are accurate. Everything numeric is generic over [`Scalar`].

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A float the model can compute in: `f32` (the app) or `f64` (gradient checks).
pub trait Scalar:
    ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + num_traits::Float
    + num_traits::FromPrimitive
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + serde::Serialize
    + 'static
{
    /// Converts from `f64`, rounding to the nearest representable value.
    fn from_f64_lossy(value: f64) -> Self;
    /// Widens to `f64`.
    fn as_f64(self) -> f64;
    /// The error function at the precision of the type (libm's `erff` / `erf`).
    fn erf(self) -> Self;
}

impl Scalar for f32 {
    fn from_f64_lossy(value: f64) -> Self {
        value as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Scalar for f64 {
    fn from_f64_lossy(value: f64) -> Self {
        value
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
}

/// Shorthand for a constant in generic code: `c::<F>(0.5)`.
pub fn c<F: Scalar>(value: f64) -> F {
    F::from_f64_lossy(value)
}
