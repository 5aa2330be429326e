//! Running an elementwise loop compiled for the CPU's widest vectors, chosen at run time.
//!
//! The crate is built for baseline x86-64 (SSE2, four f32 lanes) so the binary runs on any
//! x86-64 machine. Loops that are pure arithmetic over slices (GELU, AdamW, the lens's row
//! statistics) run 2–4× faster compiled for AVX-512. [`with_avx512`] runs a closure inside a
//! function compiled with AVX-512 enabled when the CPU has it: the closure's body (marked
//! `#[inline(always)]`), and every `#[inline(always)]` function it calls, is inlined there and
//! vectorized 16 lanes wide.
//! Results are the same bit for bit: Rust never fuses or reorders float operations on its
//! own, so only the width of the vectors changes.

/// Runs `work`, compiled for AVX-512 when this CPU has it (see the module comment). Mark the
/// closure `#[inline(always)]`: a large closure is otherwise left out of line, compiled for
/// the baseline (the lens's row summaries ran in SSE registers that way). The loops inside
/// `work` must be in the closure itself or in `#[inline(always)]` functions too.
#[inline(always)]
pub fn with_avx512<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        #[allow(unsafe_code)]
        // SAFETY: `run_avx512` only requires the CPU to support AVX-512F, checked just above.
        return unsafe { run_avx512(work) };
    }
    work()
}

/// Calls `work` from a function compiled with AVX-512F enabled.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn run_avx512<R>(work: impl FnOnce() -> R) -> R {
    work()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_build_gives_the_same_bits() {
        let input: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 5.0).collect();
        let loop_body = |x: &[f32]| -> Vec<f32> {
            x.iter()
                .map(|&v| (v * v + 1.0).sqrt() / (v.abs() + 0.5) - v * 0.25)
                .collect()
        };
        let wide = with_avx512(
            #[inline(always)]
            || loop_body(&input),
        );
        let narrow = loop_body(&input);
        assert_eq!(
            wide.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            narrow.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
