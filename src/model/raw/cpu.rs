//! Calling a closure from a function compiled for wider vectors, once the CPU is known to
//! have them (see `model::simd`).

use crate::model::simd::Level;

/// Runs `work` inside a function compiled for `level`.
///
/// # Panics
/// If this CPU does not support `level` (checked before any wide instruction can run).
#[inline(always)]
pub(crate) fn run_at<R>(level: Level, work: impl FnOnce() -> R) -> R {
    assert!(level.is_supported(), "this CPU cannot run {level:?} code");
    match level {
        Level::Baseline => work(),
        // SAFETY: the CPU supports AVX2 and FMA (asserted above).
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { run_avx2(work) },
        // SAFETY: the CPU supports AVX-512F (asserted above).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { run_avx512(work) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the baseline is supported here"),
    }
}

/// Calls `work` from a function compiled with AVX2 and FMA enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<R>(work: impl FnOnce() -> R) -> R {
    work()
}

/// Calls `work` from a function compiled with AVX-512F enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn run_avx512<R>(work: impl FnOnce() -> R) -> R {
    work()
}
