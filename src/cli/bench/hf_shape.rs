//! `bench trace --hf-config NAME|PATH --seq 64 [--json]`: a random-weight model of a published
//! shape ([`super::shapes`]), timed as `shared/bench/hf_trace.py` times transformers:
//! `forward_trace_ms` (the forward keeping every hook), `lens_column_ms` (one position, the
//! last, at the `n_layers + 1` layer boundaries: final norm, unembedding, softmax and top-5),
//! `lens_grid_ms` (every position at every boundary), `lens_column_every_stage_ms` (the last
//! position at every stream stage, mid-block ones too), `load_ms` (building the random
//! model) and `peak_rss_mb` (the process's high-water mark of resident memory). Medians over
//! `--iters` timed iterations after `--warmup` untimed ones.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::CliError;
use super::median;
use super::shapes::shape_config;
use super::trace::BenchTraceArgs;
use crate::interp::{LensOptions, LogitLens, boundary_stages, stream_stages};
use crate::model::{InitOptions, Params, TokenId, forward};

pub(super) fn time_ms<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = std::hint::black_box(work());
    (out, start.elapsed().as_secs_f64() * 1e3)
}

/// The process's peak resident memory in MB (`VmHWM` of /proc/self/status; 0 where the file
/// does not exist).
pub fn peak_rss_mb() -> f64 {
    proc_status_mb("VmHWM:")
}

/// A memory figure of /proc/self/status (`VmHWM:`, `VmRSS:`, …) in MB; 0 where the file does
/// not exist.
pub fn proc_status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs `bench trace --hf-config`.
pub fn run_hf_shape(args: &BenchTraceArgs, shape: &str) -> Result<(), CliError> {
    let config = shape_config(shape).map_err(CliError::usage)?;
    let iters = args.iters.unwrap_or(5);
    if args.seq == 0 || args.seq > config.n_ctx || iters == 0 || iters > 100_000 {
        return Err(CliError::usage(format!(
            "--seq must be in 1..={} and --iters in 1..=100000",
            config.n_ctx
        )));
    }
    let (params, load_ms) = time_ms(|| Params::<f32>::init(&config, InitOptions::default()));
    let params = params.map_err(CliError::usage)?;
    let mut rng = StdRng::seed_from_u64(0);
    let tokens: Vec<TokenId> = (0..args.seq)
        .map(|_| rng.random_range(0..config.d_vocab as TokenId))
        .collect();
    let boundaries = boundary_stages(&config);
    let every = stream_stages(&config);
    let options = LensOptions {
        top_k: args.top_k,
        ..LensOptions::default()
    };
    let last = [args.seq - 1];
    let (mut fwd, mut column, mut grid, mut column_every) = (vec![], vec![], vec![], vec![]);
    for iteration in 0..args.warmup + iters {
        let (trace, fwd_ms) = time_ms(|| forward(&params, &tokens).expect("tokens in range"));
        let lens = |stages, rows| LogitLens::compute_rows(&params, &trace, stages, rows, options);
        let (_, column_ms) = time_ms(|| lens(&boundaries, Some(&last)));
        let (_, grid_ms) = time_ms(|| lens(&boundaries, None));
        let (_, column_every_ms) = time_ms(|| lens(&every, Some(&last)));
        if iteration >= args.warmup {
            fwd.push(fwd_ms);
            column.push(column_ms);
            grid.push(grid_ms);
            column_every.push(column_every_ms);
        }
    }
    let figures = serde_json::json!({
        "config": shape,
        "model_type": config.family,
        "params": config.parameter_count(),
        "T": args.seq,
        "threads": 2,
        "load_ms": load_ms,
        "forward_trace_ms": median(&mut fwd),
        "lens_column_ms": median(&mut column),
        "lens_grid_ms": median(&mut grid),
        "lens_column_every_stage_ms": median(&mut column_every),
        "peak_rss_mb": peak_rss_mb(),
        "iters": iters,
    });
    super::print_figures(&figures, args.json);
    Ok(())
}
