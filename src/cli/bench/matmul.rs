//! `bench matmul --size N [--iters K] [--json]`: the machine's matrix-multiply ceiling as the
//! engine reaches it, an N×N by N×N f32 product through the same path every model product
//! takes (`parallel::affine`, split over the two threads), in GFLOP/s (median of `--iters`
//! after one warm-up). The README's speed tables quote it beside each figure measured the same
//! day, so a reader sees how close to the hardware each one is.
//!
//! `--shape MxKxN` times one product of that shape instead (a few prompt rows against a
//! weight matrix, say `9x896x4864`), on one thread or two (`--threads`), cycling through
//! enough distinct right-hand matrices (256 MB in all) that none is still in cache: it also
//! prints the GB/s at which the right-hand matrix was read.

use std::time::Instant;

use clap::Args;
use ndarray::Array2;

use super::super::CliError;
use super::median;
use crate::model::parallel::{affine, with_split};

/// `bench matmul` options.
#[derive(Debug, Args)]
pub struct BenchMatmulArgs {
    /// Side of the square matrices.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// One product of shape M×K by K×N instead of the square one, as `MxKxN`.
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<(usize, usize, usize)>,
    /// With `--shape`: the right-hand matrix stored as its transpose, [N, K] row-major, as a
    /// tied unembedding (`W_Eᵀ`) is.
    #[arg(long)]
    pub transposed_b: bool,
    /// Threads for `--shape` (1 or 2).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Timed products.
    #[arg(long, default_value_t = 9)]
    pub iters: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Parses `MxKxN`.
fn parse_shape(text: &str) -> Result<(usize, usize, usize), String> {
    let sides: Vec<usize> = text
        .split('x')
        .map(|side| side.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{text:?} is not MxKxN: {e}"))?;
    match sides[..] {
        [m, k, n] if (1..=1 << 20).contains(&m.max(k).max(n)) && m.min(k).min(n) > 0 => {
            Ok((m, k, n))
        }
        [_, _, _] => Err(format!("{text:?}: each side must be in 1..=1048576")),
        _ => Err(format!(
            "{text:?} is not MxKxN (three sides, such as 9x896x4864)"
        )),
    }
}

/// Runs `bench matmul`.
pub fn run_matmul(args: &BenchMatmulArgs) -> Result<(), CliError> {
    if let Some(shape) = args.shape {
        return run_shape(args, shape);
    }
    let n = args.size;
    if !(16..=8192).contains(&n) || !(1..=1000).contains(&args.iters) {
        return Err(CliError::usage(
            "--size must be in 16..=8192 and --iters in 1..=1000",
        ));
    }
    let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 13) % 17) as f32 / 17.0);
    let b = Array2::from_shape_fn((n, n), |(i, j)| ((i * 5 + j * 3) % 11) as f32 / 11.0);
    let mut seconds = Vec::with_capacity(args.iters);
    for iteration in 0..=args.iters {
        let start = Instant::now();
        let c = with_split(true, |split| affine(split, &a.view(), &b.view(), None));
        std::hint::black_box(c);
        if iteration > 0 {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    let gflops = 2.0 * (n as f64).powi(3) / median(&mut seconds) / 1e9;
    let figures = serde_json::json!({ "size": n, "threads": 2, "gflops": gflops });
    if args.json {
        println!("{figures}");
    } else {
        println!(
            "{n}×{n} · {n}×{n} f32 product: {gflops:.1} GFLOP/s (median of {})",
            args.iters
        );
    }
    Ok(())
}

/// Runs `bench matmul --shape MxKxN`.
fn run_shape(args: &BenchMatmulArgs, (m, k, n): (usize, usize, usize)) -> Result<(), CliError> {
    if !(1..=2).contains(&args.threads) || !(1..=1000).contains(&args.iters) {
        return Err(CliError::usage(
            "--threads must be 1 or 2 and --iters in 1..=1000",
        ));
    }
    let b_bytes = k * n * std::mem::size_of::<f32>();
    if b_bytes > 1 << 30 {
        return Err(CliError::usage("--shape: K×N must be at most 1 GB of f32"));
    }
    let copies = ((256 << 20) / b_bytes).clamp(1, 64);
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 13) % 17) as f32 / 17.0);
    let stored = if args.transposed_b { (n, k) } else { (k, n) };
    let bs: Vec<Array2<f32>> = (0..copies)
        .map(|c| Array2::from_shape_fn(stored, |(i, j)| ((i * 5 + j * 3 + c) % 11) as f32 / 11.0))
        .collect();
    let mut seconds = Vec::with_capacity(args.iters);
    for iteration in 0..=args.iters {
        let b = &bs[iteration % copies];
        let b = if args.transposed_b { b.t() } else { b.view() };
        let start = Instant::now();
        let c = with_split(args.threads == 2, |split| {
            affine(split, &a.view(), &b, None)
        });
        std::hint::black_box(c);
        if iteration > 0 {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    let median_s = median(&mut seconds);
    let gflops = 2.0 * (m * k * n) as f64 / median_s / 1e9;
    let gb_per_s = b_bytes as f64 / median_s / 1e9;
    let figures = serde_json::json!({
        "shape": [m, k, n], "transposed_b": args.transposed_b, "threads": args.threads, "median_ms": median_s * 1e3,
        "gflops": gflops, "b_read_gb_per_s": gb_per_s,
        "few_rows_max_rows": crate::model::few_rows::max_rows(),
    });
    if args.json {
        println!("{figures}");
    } else {
        println!(
            "{m}×{k} · {k}×{n} f32 product on {} thread(s): {:.2} ms, {gflops:.1} GFLOP/s, \
             right-hand matrix read at {gb_per_s:.1} GB/s (median of {})",
            args.threads,
            median_s * 1e3,
            args.iters
        );
    }
    Ok(())
}
