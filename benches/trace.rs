//! Latency of a full trace plus the logit lens at every stream stage for all 64 positions,
//! on a seeded random model of the `lesson` shape (4 layers, 4 heads, d_model 128, d_mlp 512,
//! vocabulary 65). Target from issue 2: ≤ 0.75 ms (PyTorch eager: 1.53 ms on this machine).
//! Also the pieces: the forward pass alone, the lens alone, and the whole analysis.
//! Run: `cargo bench --bench trace`. The CLI twin, which also covers GPT-2 small, is
//! `residual-explorer bench trace --preset lesson|gpt2-small --json`.

use criterion::{Criterion, criterion_group, criterion_main};
use residual_explorer::interp::{
    AnalysisOptions, LensOptions, LogitLens, TraceAnalysis, boundary_stages, stream_stages,
};
use residual_explorer::model::{InitOptions, ModelConfig, Params, TokenId, forward};

fn lesson_trace(c: &mut Criterion) {
    // As the binary does at start-up (cli::main): freed activations stay in the heap.
    residual_explorer::train::step::keep_freed_memory();
    let config = ModelConfig::lesson(65);
    let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
    let tokens: Vec<TokenId> = (0..64u32).map(|i| (i * 37 + 11) % 65).collect();
    let every = stream_stages(&config);
    let boundaries = boundary_stages(&config);
    let lens = LensOptions::default();
    let trace = forward(&params, &tokens).unwrap();

    let mut group = c.benchmark_group("lesson_t64");
    group.bench_function("trace_and_lens_every_stage", |b| {
        b.iter(|| {
            let trace = forward(&params, &tokens).unwrap();
            LogitLens::compute(&params, &trace, &every, lens)
        })
    });
    group.bench_function("trace_and_lens_boundaries", |b| {
        b.iter(|| {
            let trace = forward(&params, &tokens).unwrap();
            LogitLens::compute(&params, &trace, &boundaries, lens)
        })
    });
    group.bench_function("forward", |b| b.iter(|| forward(&params, &tokens).unwrap()));
    group.bench_function("lens_every_stage", |b| {
        b.iter(|| LogitLens::compute(&params, &trace, &every, lens))
    });
    group.bench_function("trace_and_full_analysis", |b| {
        b.iter(|| {
            let trace = forward(&params, &tokens).unwrap();
            TraceAnalysis::compute(&params, &trace, AnalysisOptions::default())
        })
    });
    group.finish();
}

criterion_group!(benches, lesson_trace);
criterion_main!(benches);
