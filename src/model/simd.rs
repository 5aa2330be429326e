//! Running an elementwise loop compiled for the CPU's widest vectors, chosen at run time.
//!
//! The crate is built for baseline x86-64 (SSE2, four f32 lanes) so the binary runs on any
//! x86-64 machine. Loops that are pure arithmetic over slices (GELU, AdamW, the lens's row
//! statistics) run faster compiled for AVX2 (8 lanes) or AVX-512 (16 lanes). [`with_widest`]
//! runs a closure inside a function compiled for the widest [`Level`] this CPU has: the
//! closure's body (marked `#[inline(always)]`), and every `#[inline(always)]` function it
//! calls, is inlined there and vectorized that wide. The calls themselves are in
//! `raw/cpu.rs`, after the CPU has been checked.
//!
//! Results are the same bit for bit at every level: Rust never fuses or reorders float
//! operations on its own (enabling FMA does not turn `a·b + c` into one rounding), so only
//! the width of the vectors changes. `RESIDUAL_EXPLORER_SIMD=baseline|avx2|avx512` caps the
//! level (to measure one path against another).

use std::sync::OnceLock;

use super::raw::cpu;

/// How wide the vectors of a [`with_widest`] loop are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The build's baseline: SSE2 on x86-64, whatever the target has elsewhere.
    Baseline,
    /// AVX2 and FMA (x86-64).
    Avx2,
    /// AVX-512F (x86-64).
    Avx512,
}

impl Level {
    /// Every level, narrowest first.
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    /// Whether this CPU can run code compiled for the level.
    pub fn is_supported(self) -> bool {
        match self {
            Level::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The level's name, as `RESIDUAL_EXPLORER_SIMD` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The widest supported level, capped by `RESIDUAL_EXPLORER_SIMD` when set; read once.
pub fn detected() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = std::env::var("RESIDUAL_EXPLORER_SIMD").ok();
        let cap = Level::ALL
            .into_iter()
            .find(|level| cap.as_deref() == Some(level.name()))
            .unwrap_or(Level::Avx512);
        Level::ALL
            .into_iter()
            .rfind(|level| *level <= cap && level.is_supported())
            .unwrap_or(Level::Baseline)
    })
}

/// Runs `work` compiled for the [`detected`] level (see the module comment). Mark the
/// closure `#[inline(always)]`: a large closure is otherwise left out of line, compiled for
/// the baseline. The loops inside `work` must be in the closure itself or in
/// `#[inline(always)]` functions too.
#[inline(always)]
pub fn with_widest<R>(work: impl FnOnce() -> R) -> R {
    run_at(detected(), work)
}

/// Runs `work` compiled for `level`.
///
/// # Panics
/// If this CPU does not support `level`.
#[inline(always)]
pub fn run_at<R>(level: Level, work: impl FnOnce() -> R) -> R {
    #[cfg(test)]
    tests::record(level);
    cpu::run_at(level, work)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static LAST_LEVEL: Cell<Option<Level>> = const { Cell::new(None) };
    }

    pub(super) fn record(level: Level) {
        LAST_LEVEL.set(Some(level));
    }

    /// A loop whose every level must give the same bits.
    #[inline(always)]
    fn loop_body(x: &[f32]) -> Vec<f32> {
        x.iter()
            .map(|&v| (v * v + 1.0).sqrt() / (v.abs() + 0.5) - v * 0.25 + v * v * v)
            .collect()
    }

    #[test]
    fn every_supported_level_gives_the_same_bits() {
        let input: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 5.0).collect();
        let bits = |v: Vec<f32>| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let baseline = bits(loop_body(&input));
        let mut compared = Vec::new();
        for level in Level::ALL.into_iter().filter(|l| l.is_supported()) {
            let wide = run_at(
                level,
                #[inline(always)]
                || loop_body(&input),
            );
            assert_eq!(bits(wide), baseline, "{level:?}");
            compared.push(level);
        }
        // Without a wide level this test would compare the baseline with itself: x86-64
        // machines from 2013 on have AVX2 (this one's `avx2`/`fma` flags in /proc/cpuinfo).
        #[cfg(target_arch = "x86_64")]
        assert!(
            compared.contains(&Level::Avx2),
            "only {compared:?} ran: this CPU lacks AVX2, so the wide path went untested"
        );
    }

    #[test]
    fn with_widest_runs_the_widest_supported_level() {
        let widest = Level::ALL.into_iter().rfind(|l| l.is_supported());
        if std::env::var_os("RESIDUAL_EXPLORER_SIMD").is_none() {
            assert_eq!(Some(detected()), widest);
        }
        LAST_LEVEL.set(None);
        with_widest(|| ());
        assert_eq!(LAST_LEVEL.get(), Some(detected()), "the detected level ran");
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn an_unsupported_level_is_refused() {
        if let Some(level) = Level::ALL.into_iter().find(|l| !l.is_supported()) {
            let refused = std::panic::catch_unwind(|| run_at(level, || ()));
            assert!(refused.is_err(), "{level:?} ran on a CPU without it");
        }
    }
}
