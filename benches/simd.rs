//! The elementwise kernels that `model::simd::with_widest` compiles for wider vectors, alone,
//! so that the baseline (SSE2) and AVX2 paths can be compared without the matrix products
//! that dominate a whole trace or training step. The level is chosen once per process, so
//! run the bench once per level and compare the two reports:
//! `RESIDUAL_EXPLORER_SIMD=baseline cargo bench --bench simd` then `=avx2` (criterion prints
//! the change against the previous run). The group name says which level ran.

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::{Array1, Array2};
use residual_explorer::interp::vocab_rows::summarize_row;
use residual_explorer::model::config::{Activation, NormKind};
use residual_explorer::model::ops::{activation_forward, layer_norm_forward};
use residual_explorer::model::parallel::Split;
use residual_explorer::model::simd::detected;
use residual_explorer::model::{InitOptions, ModelConfig, Params};
use residual_explorer::train::adamw::{AdamW, AdamWConfig, flatten};
use std::hint::black_box;

/// Deterministic values in about [-3, 3], no random crate needed.
fn wave(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i as f32) * 0.618).sin() * 3.0).collect()
}

fn kernels(c: &mut Criterion) {
    let mut group = c.benchmark_group(format!("simd_{}", detected().name()));

    // GPT-2 small's MLP at 64 tokens: [64, 3072].
    let pre = Array2::from_shape_vec((64, 3072), wave(64 * 3072)).unwrap();
    group.bench_function("gelu_new_64x3072", |b| {
        b.iter(|| activation_forward(Activation::GeluNew, black_box(&pre), Split::None))
    });

    // LayerNorm of GPT-2 small's stream at 64 tokens: [64, 768].
    let x = Array2::from_shape_vec((64, 768), wave(64 * 768)).unwrap();
    let (w, bias) = (
        Array1::from_elem(768, 1.1f32),
        Array1::from_elem(768, 0.1f32),
    );
    group.bench_function("layer_norm_64x768", |b| {
        b.iter(|| {
            layer_norm_forward(
                black_box(x.view()),
                w.view(),
                bias.view(),
                1e-5,
                NormKind::LayerNorm,
                Split::None,
            )
        })
    });

    // One lens cell's row statistics over Qwen's 151,936-token vocabulary.
    let logits = wave(151_936);
    group.bench_function("lens_row_top10_151936", |b| {
        b.iter(|| summarize_row(black_box(&logits), 10))
    });

    // One AdamW update of the lesson model's 0.8 M parameters.
    let config = ModelConfig::lesson(65);
    let mut params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
    let grads: Vec<Vec<f32>> = flatten(&params)
        .iter()
        .map(|tensor| wave(tensor.len()))
        .collect();
    let mut optimizer = AdamW::new(&params, AdamWConfig::default());
    group.bench_function("adamw_step_lesson", |b| {
        b.iter(|| optimizer.step(&mut params, black_box(&grads), 1e-4))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
