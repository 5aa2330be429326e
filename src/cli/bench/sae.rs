//! `bench sae --d-in 128 --features 4096 --batch 4096 (--k 32 | --l1 5) [--steps 20]
//! [--warmup 5] [--json]`: SAE training alone (no model), on synthetic activations made as
//! `shared/bench/torch_sae.py` makes them (8 pre-made batches, cycled), timed per step as that
//! script times it (forward, backward, Adam, decoder renormalisation). Prints
//! `tokens_per_s` = rows per second at the median step after the warm-up, and the last
//! step's mse, L0 and explained variance.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::{median, print_figures};
use crate::cli::CliError;
use crate::sae::synthetic::SyntheticActivations;
use crate::sae::{Architecture, Sae, SaeConfig, SaeTrainer, TrainSettings};

/// `bench sae` options.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["k", "l1"]))]
pub struct BenchSaeArgs {
    /// Width of the activations.
    #[arg(long, default_value_t = 128)]
    pub d_in: usize,
    /// Number of features.
    #[arg(long, default_value_t = 4096)]
    pub features: usize,
    /// Rows per step.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// TopK SAE with k active features.
    #[arg(long)]
    pub k: Option<usize>,
    /// Standard (ReLU) SAE with this L1 coefficient.
    #[arg(long)]
    pub l1: Option<f64>,
    /// Timed steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `bench sae`.
pub fn run_sae(args: &BenchSaeArgs) -> Result<(), CliError> {
    let (architecture, l1) = match (args.k, args.l1) {
        (Some(k), _) => (Architecture::TopK { k }, 0.0),
        (None, Some(l1)) => (Architecture::Standard, l1),
        (None, None) => return Err(CliError::usage("give --k K or --l1 C")),
    };
    let sizes_ok = (1..=4096).contains(&args.d_in)
        && (1..=1 << 18).contains(&args.features)
        && (1..=1 << 16).contains(&args.batch)
        && (1..=100_000).contains(&args.steps);
    if !sizes_ok {
        return Err(CliError::usage(
            "--d-in must be in 1..=4096, --features in 1..=262144, --batch in 1..=65536 and \
             --steps in 1..=100000",
        ));
    }
    let mut data = SyntheticActivations::new(args.d_in, args.features, 0);
    let batches: Vec<_> = (0..8).map(|_| data.batch(args.batch)).collect();
    let sae = Sae::<f32>::init(SaeConfig::new(args.d_in, args.features, architecture), 0);
    let mut settings = TrainSettings::new(l1);
    settings.lr = args.lr;
    let mut trainer = SaeTrainer::new(sae, settings).map_err(CliError::usage)?;
    let mut step_seconds = Vec::with_capacity(args.steps);
    let mut last = None;
    for step in 0..args.warmup + args.steps {
        let x = &batches[step % batches.len()];
        let start = Instant::now();
        let metrics = trainer.step(x.view()).map_err(CliError::input)?;
        if step >= args.warmup {
            step_seconds.push(start.elapsed().as_secs_f64());
        }
        last = Some(metrics);
    }
    let median_step = median(&mut step_seconds);
    let last = last.expect("at least one step ran");
    let figures = json!({
        "figure": "sae_train",
        "kind": if args.k.is_some() { "topk" } else { "relu" },
        "d_in": args.d_in,
        "d_sae": args.features,
        "k": args.k,
        "l1": args.l1,
        "batch": args.batch,
        "threads": rayon::current_num_threads(),
        "tokens_per_s": args.batch as f64 / median_step,
        "median_step_ms": median_step * 1e3,
        "steps": args.steps,
        "mse": last.mse,
        "l0": last.l0,
        "explained_variance": last.explained_variance,
    });
    print_figures(&figures, args.json);
    Ok(())
}
