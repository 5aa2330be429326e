//! `bench matmul --size N [--iters K] [--json]`: the machine's matrix-multiply ceiling as the
//! engine reaches it, an N×N by N×N f32 product through the same path every model product
//! takes (`parallel::affine`, split over the two threads), in GFLOP/s (median of `--iters`
//! after one warm-up). The README's speed tables quote it beside each figure measured the same
//! day, so a reader sees how close to the hardware each one is.

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
    /// Timed products.
    #[arg(long, default_value_t = 9)]
    pub iters: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `bench matmul`.
pub fn run_matmul(args: &BenchMatmulArgs) -> Result<(), CliError> {
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
