//! `bench circuits --shape NAME [--json]`: how long the Circuits view's weight parts take
//! (`interp::circuits::WeightCircuits`, the order the view receives them) on random weights
//! of a real model's shape, and the process's peak memory. One run: each part is seconds of
//! arithmetic on a large model, not a microbenchmark.

use clap::Args;
use serde_json::json;

use super::hf_shape::{peak_rss_mb, time_ms};
use super::shapes::{SHAPE_NAMES, shape_config};
use crate::cli::CliError;
use crate::interp::circuits::{CircuitPart, WeightCircuits};
use crate::model::{InitOptions, Params};

/// `bench circuits` options.
#[derive(Debug, Args)]
pub struct BenchCircuitsArgs {
    /// A built-in shape (`gpt2`, `qwen2.5-0.5b`, …) or a config.json.
    #[arg(long)]
    pub shape: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `bench circuits`.
pub fn run_circuits(args: &BenchCircuitsArgs) -> Result<(), CliError> {
    let config = shape_config(&args.shape)
        .map_err(|e| CliError::usage(format!("{e} (shapes: {})", SHAPE_NAMES.join(", "))))?;
    let params = Params::<f32>::init(&config, InitOptions::default()).map_err(CliError::usage)?;
    let (mut circuits, start_ms) = time_ms(|| WeightCircuits::start(&params));
    let mut parts = vec![("fold and baseline".to_string(), start_ms)];
    loop {
        let (part, ms) = time_ms(|| circuits.compute_next(&params));
        let Some(part) = part else { break };
        let name = match part {
            CircuitPart::Composition(kind) => format!("{}-composition", kind.key()),
            CircuitPart::Copying => "copying".to_string(),
        };
        parts.push((name, ms));
    }
    let total: f64 = parts.iter().map(|(_, ms)| ms).sum();
    let heads = config.n_layers * config.n_heads;
    if args.json {
        let by_part: serde_json::Map<String, serde_json::Value> = parts
            .iter()
            .map(|(name, ms)| (name.clone(), json!(ms)))
            .collect();
        let out = json!({
            "shape": args.shape,
            "heads": heads,
            "parts_ms": by_part,
            "total_ms": total,
            "peak_rss_mb": peak_rss_mb(),
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "{} ({heads} heads, d_model {}):",
        args.shape, config.d_model
    );
    for (name, ms) in &parts {
        println!("  {name:<20} {ms:>10.1} ms");
    }
    println!(
        "  {:<20} {total:>10.1} ms; peak memory {:.0} MB",
        "all",
        peak_rss_mb()
    );
    Ok(())
}
