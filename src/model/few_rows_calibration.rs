//! How many rows of `a` the few-rows kernel ([`super::few_rows`]) should take on this CPU,
//! measured once per process.
//!
//! Which of the kernel and gemm reads a large weight matrix faster for a few rows depends on
//! the processor, not only on the shape. On the machine where the kernel was written, gemm
//! took 8–16 ms for 9 × 896 · 896 × 4864 where the kernel took 3.7 ms, and the kernel still
//! matched gemm at 49 rows. On another (`bench matmul --shape MxKxN --threads 1`, with
//! `RESIDUAL_EXPLORER_FEW_ROWS=off` for gemm), gemm took 0.96 against the kernel's 1.30 ms
//! at 6 rows and 1.54 against 3.13 ms at 16; the two only tied at 2 rows.
//!
//! So the first product that could use the kernel times both routes on one thread, on a
//! ladder of row counts against weights too large for the cache (four 896 × 4096 matrices
//! taken in turn, 59 MB in all), and the kernel keeps the row counts up to the last rung
//! where it was no slower than gemm. It takes 0.1–0.3 s, once; every later product of the
//! process takes the same route for the same shape, so results stay reproducible within a
//! run. Debug builds skip the measurement (unoptimised code times nothing useful) and use
//! the kernel up to [`MAX_ROWS`]; so do `RESIDUAL_EXPLORER_FEW_ROWS=on`, and `=N` sets the
//! limit to N rows.

use std::time::Instant;

use ndarray::Array2;

use super::few_rows::{MAX_ROWS, for_each_block};
use super::raw::gemm;
use super::raw::uninit::Fresh;

/// Rows of `a` tried, fewest first.
const LADDER: [usize; 6] = [2, 4, 8, 16, 32, MAX_ROWS];

/// The calibration weights: depth and width of each matrix, and how many are cycled.
const DEPTH: usize = 896;
const WIDTH: usize = 4096;
const COPIES: usize = 4;

/// Timings per route and rung; the median is kept.
const REPEATS: usize = 3;

/// The row limit `RESIDUAL_EXPLORER_FEW_ROWS` asks for (`off`: 0, `on`: [`MAX_ROWS`], a
/// number: that many, at most [`MAX_ROWS`]), or `None` to measure.
pub(crate) fn limit_from_env(value: Option<&str>) -> Option<usize> {
    match value?.trim() {
        "off" => Some(0),
        "on" => Some(MAX_ROWS),
        number => number.parse::<usize>().ok().map(|n| n.min(MAX_ROWS)),
    }
}

/// Measures the row limit on this CPU (see the module comment).
pub(crate) fn measure_limit() -> usize {
    if cfg!(debug_assertions) {
        return MAX_ROWS;
    }
    let weights: Vec<Array2<f32>> = (0..COPIES)
        .map(|copy| {
            Array2::from_shape_fn((DEPTH, WIDTH), |(i, j)| {
                ((i * 5 + j * 3 + copy) % 11) as f32 / 11.0 - 0.5
            })
        })
        .collect();
    let mut turn = 0;
    let mut next_weights = || {
        turn += 1;
        &weights[turn % COPIES]
    };
    let mut limit = 0;
    for rows in LADDER {
        let a = Array2::from_shape_fn((rows, DEPTH), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
        let mut kernel = Vec::with_capacity(REPEATS);
        let mut general = Vec::with_capacity(REPEATS);
        for _ in 0..REPEATS {
            kernel.push(time_kernel(&a, next_weights()));
            general.push(time_gemm(&a, next_weights()));
        }
        if median(&mut kernel) > median(&mut general) {
            break;
        }
        limit = rows;
    }
    limit
}

/// Seconds of one product through the kernel.
fn time_kernel(a: &Array2<f32>, b: &Array2<f32>) -> f64 {
    let start = Instant::now();
    let mut checksum = 0.0f32;
    for_each_block(&a.view(), &b.view(), |_, block| checksum += block[0]);
    std::hint::black_box(checksum);
    start.elapsed().as_secs_f64()
}

/// Seconds of one product through gemm.
fn time_gemm(a: &Array2<f32>, b: &Array2<f32>) -> f64 {
    let start = Instant::now();
    let mut out = Fresh::new((a.nrows(), b.ncols()));
    gemm::mat_mul_into(1.0, a, b, out.view_mut());
    std::hint::black_box(out.finish());
    start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_sets_or_leaves_the_limit() {
        assert_eq!(limit_from_env(None), None);
        assert_eq!(limit_from_env(Some("off")), Some(0));
        assert_eq!(limit_from_env(Some("on")), Some(MAX_ROWS));
        assert_eq!(limit_from_env(Some("12")), Some(12));
        assert_eq!(limit_from_env(Some("480")), Some(MAX_ROWS));
        assert_eq!(limit_from_env(Some("fast")), None, "anything else measures");
    }
}
