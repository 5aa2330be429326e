//! `bench open PATH --seq 64 [--json]`: what a teacher waits for when opening a checkpoint
//! in the explorer, measured once in a fresh process (run it several times for a median):
//! `load_ms` (reading and converting the weights), `first_picture_ms` (load, then the trace
//! of a random prompt with every hook, its decomposition and the lens row of the last token,
//! which is what the views show first), `lens_fill_ms` (the rest of the lens grid, in the
//! explorer's chunks), and memory: `weights_mb` (the f32 weights), `rss_loaded_mb` (resident
//! after loading), `rss_first_picture_mb` and `peak_rss_mb` (the high-water mark).

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::CliError;
use super::hf_shape::{peak_rss_mb, proc_status_mb};
use crate::interp::interventions::Interventions;
use crate::interp::{AnalysisOptions, LensOptions, LensStages};
use crate::model::TokenId;
use crate::model::io::{LoadProgress, load_any_reporting};
use crate::state::{Analysis, LENS_TOP_K};

/// `bench open` options.
#[derive(Debug, Args)]
pub struct BenchOpenArgs {
    /// A checkpoint: folder, config.json or weights file (as File → Open accepts).
    pub path: std::path::PathBuf,
    /// Prompt length (random token ids, seeded).
    #[arg(long, default_value_t = 64)]
    pub seq: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The process's resident memory now, in MB.
fn rss_mb() -> f64 {
    proc_status_mb("VmRSS:")
}

/// Runs `bench open`.
pub fn run_open(args: &BenchOpenArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let model = load_any_reporting(&args.path, &Arc::new(LoadProgress::default()))
        .map_err(|e| CliError::usage(e.to_string()))?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let rss_loaded_mb = rss_mb();
    let config = model.params.config.clone();
    if args.seq == 0 || args.seq > config.n_ctx {
        return Err(CliError::usage(format!(
            "--seq must be in 1..={}",
            config.n_ctx
        )));
    }
    let mut rng = StdRng::seed_from_u64(0);
    let tokens: Vec<TokenId> = (0..args.seq)
        .map(|_| rng.random_range(0..config.d_vocab as TokenId))
        .collect();
    // The explorer's own options (see `AppState::analysis_options`).
    let options = AnalysisOptions {
        lens: LensOptions {
            top_k: LENS_TOP_K,
            ..LensOptions::default()
        },
        lens_stages: LensStages::EveryStreamStage,
    };
    let (analysis, mut fill) = Analysis::start(
        Arc::new(model),
        &tokens,
        options,
        Interventions::new(),
        args.seq - 1,
        &|| true,
    )
    .map_err(|e| CliError::usage(e.to_string()))?;
    // The first picture includes the selected token's lens row, the fill's first chunk.
    fill.fill_next(&analysis);
    let first_picture_ms = start.elapsed().as_secs_f64() * 1e3;
    let rss_first_picture_mb = rss_mb();
    let fill_start = Instant::now();
    while fill.fill_next(&analysis) > 0 {}
    let lens_fill_ms = fill_start.elapsed().as_secs_f64() * 1e3;
    let weights_mb = config.parameter_count() as f64 * 4.0 / (1024.0 * 1024.0);
    let peak = peak_rss_mb();
    let figures = serde_json::json!({
        "path": args.path.display().to_string(),
        "model_type": config.family,
        "source_dtype": config.source_dtype,
        "params": config.parameter_count(),
        "T": args.seq,
        "load_ms": load_ms,
        "first_picture_ms": first_picture_ms,
        "lens_fill_ms": lens_fill_ms,
        "weights_mb": weights_mb,
        "rss_loaded_mb": rss_loaded_mb,
        "rss_first_picture_mb": rss_first_picture_mb,
        "peak_rss_mb": peak,
        "peak_over_weights": peak / weights_mb,
        "lens_grid_kb": analysis.lens().bytes() as f64 / 1024.0,
    });
    super::print_figures(&figures, args.json);
    Ok(())
}
