//! `residual-explorer bench <what>`: throughput measurements (medians, never asserted by tests).
//!
//! `bench train` times `train_step` (forward, backward, AdamW) on random tokens and prints
//! the median tokens per second over the steps after warm-up. Other engineers add their own
//! `bench` subcommands to [`BenchCommand`].

mod circuits;
mod hf_shape;
mod matmul;
mod open;
pub mod sae;
pub mod shapes;
pub mod trace;

use std::time::Instant;

use clap::{Args, Subcommand};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::CliError;
use crate::model::{InitOptions, Params};
use crate::train::adamw::{AdamW, AdamWConfig};
use crate::train::data::Batch;
use crate::train::presets::preset_config;
use crate::train::step::train_step;

/// `bench` options.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub what: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Training throughput of one preset on random tokens.
    Train(BenchTrainArgs),
    /// Latency of a full trace plus the logit lens at every stage (see `bench/trace.rs`).
    Trace(trace::BenchTraceArgs),
    /// Opening a checkpoint: load, first picture, lens grid, memory (see `bench/open.rs`).
    Open(open::BenchOpenArgs),
    /// The matrix-multiply ceiling through the engine's product (see `bench/matmul.rs`).
    Matmul(matmul::BenchMatmulArgs),
    /// Time the Circuits view's weight parts on random weights of a real model's shape.
    Circuits(circuits::BenchCircuitsArgs),
    /// Training a sparse autoencoder on synthetic activations (see `bench/sae.rs`).
    Sae(sae::BenchSaeArgs),
}

/// `bench train` options.
#[derive(Debug, Args)]
pub struct BenchTrainArgs {
    /// Model shape (see `train --help`).
    #[arg(long, default_value = "lesson")]
    pub preset: String,
    /// Vocabulary size.
    #[arg(long, default_value_t = 65)]
    pub vocab: usize,
    /// Sequences per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 64)]
    pub seq: usize,
    /// Timed steps (after the warm-up).
    #[arg(long, default_value_t = 30)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs a benchmark.
pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    match &args.what {
        BenchCommand::Train(train) => run_train(train),
        BenchCommand::Trace(trace) => trace::run_trace(trace),
        BenchCommand::Open(open) => open::run_open(open),
        BenchCommand::Matmul(matmul) => matmul::run_matmul(matmul),
        BenchCommand::Circuits(circuits) => circuits::run_circuits(circuits),
        BenchCommand::Sae(sae) => sae::run_sae(sae),
    }
}

/// Prints a benchmark's figures: one JSON line with `--json`, indented JSON otherwise.
fn print_figures(figures: &serde_json::Value, json: bool) {
    if json {
        println!("{figures}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(figures).unwrap_or_default()
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn run_train(args: &BenchTrainArgs) -> Result<(), CliError> {
    let config = preset_config(&args.preset, args.vocab).map_err(CliError::usage)?;
    if args.seq == 0 || args.seq > config.n_ctx {
        return Err(CliError::usage(format!(
            "--seq {} must be in 1..={} (the preset's context)",
            args.seq, config.n_ctx
        )));
    }
    if args.batch == 0 || args.batch > 4096 || args.steps == 0 || args.steps > 100_000 {
        return Err(CliError::usage(
            "--batch must be in 1..=4096 and --steps in 1..=100000",
        ));
    }
    let mut params =
        Params::<f32>::init(&config, InitOptions::default()).map_err(CliError::usage)?;
    let mut optimizer = AdamW::new(&params, AdamWConfig::default());
    let mut rng = StdRng::seed_from_u64(0);
    let vocab = args.vocab as u32;
    let mut step_seconds = Vec::with_capacity(args.steps);
    for step in 0..args.warmup + args.steps {
        let inputs: Vec<u32> = (0..args.batch * args.seq)
            .map(|_| rng.random_range(0..vocab))
            .collect();
        let targets = inputs
            .iter()
            .map(|_| Some(rng.random_range(0..vocab)))
            .collect();
        let batch = Batch {
            batch: args.batch,
            seq: args.seq,
            inputs,
            targets,
        };
        let start = Instant::now();
        train_step(&mut params, &mut optimizer, &batch, 1e-4).map_err(CliError::input)?;
        if step >= args.warmup {
            step_seconds.push(start.elapsed().as_secs_f64());
        }
    }
    let tokens = (args.batch * args.seq) as f64;
    let median_step = median(&mut step_seconds);
    let tokens_per_s = tokens / median_step;
    let threads = rayon::current_num_threads();
    if args.json {
        let out = serde_json::json!({
            "tokens_per_s": tokens_per_s,
            "median_step_ms": median_step * 1e3,
            "steps": args.steps,
            "preset": args.preset,
            "batch": args.batch,
            "seq": args.seq,
            "vocab": args.vocab,
            "threads": threads,
        });
        println!("{out}");
    } else {
        println!(
            "{}: {:.0} tokens/s (median step {:.2} ms over {} steps, {} threads)",
            args.preset,
            tokens_per_s,
            median_step * 1e3,
            args.steps,
            threads
        );
    }
    Ok(())
}
