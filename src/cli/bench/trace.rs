//! `residual-explorer bench trace --preset lesson|gpt2-small [--vocab V] [--seq T] [--json]`:
//! the latency of one full trace plus the logit lens at every stream stage for every
//! position, on a seeded random model of the preset's shape and seeded random tokens.
//!
//! `ms_median` is that headline figure (forward + lens at every stream stage). The other
//! fields break it down, each its own median over the same interleaved iterations:
//! `forward_ms_median` (the forward pass alone), `lens_every_stage_ms_median` and
//! `lens_boundaries_ms_median` (the lens alone, given a trace), `trace_lens_boundaries_ms_median`
//! (forward + lens at the `n_layers + 1` layer boundaries only, the work PyTorch's baseline in
//! shared/bench/torch_gpt.py does) and `full_analysis_ms_median` (forward + everything
//! [`TraceAnalysis`] computes: accumulated residual, decomposition, lens at every stage).

use std::time::Instant;

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::CliError;
use super::median;
use crate::interp::{
    AnalysisOptions, LensOptions, LogitLens, TraceAnalysis, boundary_stages, stream_stages,
};
use crate::model::{InitOptions, ModelConfig, Params, TokenId, forward};
use crate::train::presets::preset_config;

/// `bench trace` options.
#[derive(Debug, Args)]
pub struct BenchTraceArgs {
    /// Model shape: `gpt2-small` (12 layers, 12 heads, d_model 768, d_mlp 3072, n_ctx 1024)
    /// or a training preset (`lesson`, ...; see `train --help`).
    #[arg(long, default_value = "lesson")]
    pub preset: String,
    /// Vocabulary size [default: 50257 for gpt2-small, 65 otherwise].
    #[arg(long)]
    pub vocab: Option<usize>,
    /// Tokens in the prompt.
    #[arg(long, default_value_t = 64)]
    pub seq: usize,
    /// Timed iterations [default: 10 for gpt2-small, 200 otherwise].
    #[arg(long)]
    pub iters: Option<usize>,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Predictions kept per position and stage.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A published Hugging Face shape with random weights (gpt2, tinystories-33m,
    /// pythia-160m, smollm2-135m, qwen2.5-0.5b, gemma3-270m) or a config.json path; times
    /// what shared/bench/hf_trace.py times (see `bench/hf_shape.rs`).
    #[arg(long)]
    pub hf_config: Option<String>,
}

/// The GPT-2 small shape with `d_vocab` tokens.
pub fn gpt2_small_config(d_vocab: usize) -> ModelConfig {
    ModelConfig {
        d_model: 768,
        n_heads: 12,
        d_head: 64,
        n_layers: 12,
        d_mlp: 3072,
        n_ctx: 1024,
        ..ModelConfig::lesson(d_vocab)
    }
}

/// Milliseconds of every timed iteration, one list per measurement.
#[derive(Default)]
struct Samples {
    forward: Vec<f64>,
    trace_lens_every: Vec<f64>,
    trace_lens_boundaries: Vec<f64>,
    lens_every: Vec<f64>,
    lens_boundaries: Vec<f64>,
    full_analysis: Vec<f64>,
}

fn time_ms<T>(work: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = std::hint::black_box(work());
    (out, start.elapsed().as_secs_f64() * 1e3)
}

/// Runs `bench trace`.
pub fn run_trace(args: &BenchTraceArgs) -> Result<(), CliError> {
    if let Some(shape) = &args.hf_config {
        return super::hf_shape::run_hf_shape(args, shape);
    }
    let gpt2 = args.preset == "gpt2-small";
    let vocab = args.vocab.unwrap_or(if gpt2 { 50257 } else { 65 });
    let config = if gpt2 {
        gpt2_small_config(vocab)
    } else {
        preset_config(&args.preset, vocab)
            .map_err(|e| CliError::usage(format!("{e}, or gpt2-small")))?
    };
    let iters = args.iters.unwrap_or(if gpt2 { 10 } else { 200 });
    if args.seq == 0 || args.seq > config.n_ctx {
        return Err(CliError::usage(format!(
            "--seq {} must be in 1..={} (the preset's context)",
            args.seq, config.n_ctx
        )));
    }
    if iters == 0 || iters > 1_000_000 || args.top_k == 0 {
        return Err(CliError::usage(
            "--iters must be in 1..=1000000 and --top-k at least 1",
        ));
    }
    let params = Params::<f32>::init(&config, InitOptions::default()).map_err(CliError::usage)?;
    let mut rng = StdRng::seed_from_u64(0);
    let tokens: Vec<TokenId> = (0..args.seq)
        .map(|_| rng.random_range(0..vocab as TokenId))
        .collect();
    let every = stream_stages(&config);
    let boundaries = boundary_stages(&config);
    let lens_options = LensOptions {
        top_k: args.top_k,
        ..LensOptions::default()
    };
    let analysis_options = AnalysisOptions {
        lens: lens_options,
        ..AnalysisOptions::default()
    };
    let run_forward = || forward(&params, &tokens).expect("tokens are in range");

    let mut samples = Samples::default();
    for iteration in 0..args.warmup + iters {
        let (trace, forward_ms) = time_ms(run_forward);
        let (_, lens_every_ms) =
            time_ms(|| LogitLens::compute(&params, &trace, &every, lens_options));
        let (_, lens_boundaries_ms) =
            time_ms(|| LogitLens::compute(&params, &trace, &boundaries, lens_options));
        drop(trace);
        let (_, trace_lens_every_ms) = time_ms(|| {
            let trace = run_forward();
            LogitLens::compute(&params, &trace, &every, lens_options)
        });
        let (_, trace_lens_boundaries_ms) = time_ms(|| {
            let trace = run_forward();
            LogitLens::compute(&params, &trace, &boundaries, lens_options)
        });
        let (_, full_analysis_ms) = time_ms(|| {
            let trace = run_forward();
            TraceAnalysis::compute(&params, &trace, analysis_options)
        });
        if iteration >= args.warmup {
            samples.forward.push(forward_ms);
            samples.lens_every.push(lens_every_ms);
            samples.lens_boundaries.push(lens_boundaries_ms);
            samples.trace_lens_every.push(trace_lens_every_ms);
            samples.trace_lens_boundaries.push(trace_lens_boundaries_ms);
            samples.full_analysis.push(full_analysis_ms);
        }
    }

    let threads = rayon::current_num_threads();
    let figures = serde_json::json!({
        "ms_median": median(&mut samples.trace_lens_every),
        "forward_ms_median": median(&mut samples.forward),
        "lens_every_stage_ms_median": median(&mut samples.lens_every),
        "lens_boundaries_ms_median": median(&mut samples.lens_boundaries),
        "trace_lens_boundaries_ms_median": median(&mut samples.trace_lens_boundaries),
        "full_analysis_ms_median": median(&mut samples.full_analysis),
        "stages_every": every.len(),
        "stages_boundaries": boundaries.len(),
        "preset": args.preset,
        "vocab": vocab,
        "seq": args.seq,
        "top_k": args.top_k,
        "iters": iters,
        "threads": threads,
    });
    if args.json {
        println!("{figures}");
    } else {
        let f = |key: &str| figures[key].as_f64().unwrap_or(f64::NAN);
        println!(
            "{} (vocab {vocab}, {} tokens, {threads} threads), medians over {iters} iterations:",
            args.preset, args.seq
        );
        println!(
            "  trace + lens at every stage ({:>2} stages)  {:>10.3} ms",
            every.len(),
            f("ms_median")
        );
        println!(
            "  trace + lens at boundaries  ({:>2} stages)  {:>10.3} ms",
            boundaries.len(),
            f("trace_lens_boundaries_ms_median")
        );
        println!(
            "  forward alone                          {:>10.3} ms",
            f("forward_ms_median")
        );
        println!(
            "  lens alone, every stage                {:>10.3} ms",
            f("lens_every_stage_ms_median")
        );
        println!(
            "  lens alone, boundaries                 {:>10.3} ms",
            f("lens_boundaries_ms_median")
        );
        println!(
            "  trace + full analysis                  {:>10.3} ms",
            f("full_analysis_ms_median")
        );
    }
    Ok(())
}
