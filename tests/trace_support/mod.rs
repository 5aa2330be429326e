//! Helpers for the trace and analysis tests: small random models of every variant, with
//! every parameter drawn at random (biases and LayerNorm weights included, so that no term
//! is trivially zero or one).
#![allow(dead_code)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use residual_explorer::model::config::{Biases, NormKind, Positions, Rotary, RotaryStyle};
use residual_explorer::model::{
    Activation, InitOptions, ModelConfig, NormPlacement, Params, TokenId,
};

/// A small pre-LN GPT-2-style shape: 2 layers, 2 heads of 8, d_model 16, d_mlp 32,
/// vocabulary 23, context 12.
pub fn small_config() -> ModelConfig {
    ModelConfig {
        d_model: 16,
        n_heads: 2,
        d_head: 8,
        n_layers: 2,
        d_mlp: 32,
        d_vocab: 23,
        n_ctx: 12,
        ..ModelConfig::lesson(23)
    }
}

/// The architectural variants, each a change of [`small_config`], with a name.
pub fn variants() -> Vec<(&'static str, ModelConfig)> {
    let base = small_config();
    vec![
        ("pre-LN gelu tied", base.clone()),
        (
            "post-LN",
            ModelConfig {
                norm: NormPlacement::Post,
                ..base.clone()
            },
        ),
        (
            "relu",
            ModelConfig {
                activation: Activation::Relu,
                ..base.clone()
            },
        ),
        (
            "residual off",
            ModelConfig {
                residual: false,
                ..base.clone()
            },
        ),
        (
            "untied with b_U",
            ModelConfig {
                tied_unembed: false,
                unembed_bias: true,
                ..base.clone()
            },
        ),
        (
            "attention-only",
            ModelConfig {
                attn_only: true,
                ..base.clone()
            },
        ),
        (
            "no final norm",
            ModelConfig {
                final_norm: false,
                ..base.clone()
            },
        ),
        (
            "post-LN relu residual off attention-only untied no final norm",
            ModelConfig {
                norm: NormPlacement::Post,
                activation: Activation::Relu,
                residual: false,
                attn_only: true,
                tied_unembed: false,
                unembed_bias: true,
                final_norm: false,
                ..base
            },
        ),
    ]
}

/// The Hugging Face families' architectures at the same small size: Llama (RMSNorm, rotary,
/// grouped-query heads, SwiGLU, no biases), GPT-NeoX (parallel block, partial rotary, exact
/// GELU), Gemma (sandwich norms, q/k norms, one key/value head, local window, interleaved
/// rotary with two θ, a custom score scale, softcaps, scaled embeddings) and GPT-Neo (local
/// layers, no score scaling, no q/k/v biases).
pub fn modern_variants() -> Vec<(&'static str, ModelConfig)> {
    let base = ModelConfig {
        family: "test".into(),
        ..small_config()
    };
    let rotary = |style, dim, thetas: Vec<f64>| Positions::Rotary(Rotary { style, dim, thetas });
    vec![
        (
            "llama-like",
            ModelConfig {
                norm_kind: NormKind::RmsNorm,
                n_key_value_heads: Some(1),
                positions: rotary(RotaryStyle::Half, 8, vec![1e4; 2]),
                biases: Biases::all(false),
                gated_mlp: true,
                activation: Activation::Silu,
                ..base.clone()
            },
        ),
        (
            "neox-like parallel",
            ModelConfig {
                norm: NormPlacement::Parallel,
                positions: rotary(RotaryStyle::Half, 4, vec![1e4; 2]),
                activation: Activation::GeluExact,
                tied_unembed: false,
                ..base.clone()
            },
        ),
        (
            "gemma-like sandwich",
            ModelConfig {
                d_head: 12,
                norm: NormPlacement::Sandwich,
                norm_kind: NormKind::RmsNorm,
                qk_norm: true,
                n_key_value_heads: Some(1),
                attn_windows: vec![Some(3), None],
                positions: rotary(RotaryStyle::Interleaved, 8, vec![1e4, 1e6]),
                attn_scale: Some(0.3),
                attn_softcap: Some(20.0),
                final_softcap: Some(10.0),
                embed_scale: 4.0,
                biases: Biases::all(false),
                gated_mlp: true,
                ..base.clone()
            },
        ),
        (
            "neo-like local",
            ModelConfig {
                attn_windows: vec![None, Some(2)],
                attn_scale: Some(1.0),
                biases: Biases {
                    q: false,
                    k: false,
                    v: false,
                    ..Biases::all(true)
                },
                ..base
            },
        ),
    ]
}

/// Seeded weights with every tensor random: LayerNorm scales 1 + N(0, 0.1²), everything
/// else N(0, 0.3²).
pub fn random_params(config: &ModelConfig, seed: u64) -> Params<f32> {
    let mut params = Params::<f32>::init(config, InitOptions { seed, std: 0.02 }).unwrap();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(1000));
    let weight = Normal::new(0.0f64, 0.3).unwrap();
    let scale = Normal::new(1.0f64, 0.1).unwrap();
    params.for_each_tensor_mut(|name, mut tensor| {
        let is_ln_scale = [
            "ln1.w",
            "ln2.w",
            "ln1_post.w",
            "ln2_post.w",
            "norm.w",
            "ln_final.w",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix));
        for x in tensor.iter_mut() {
            let dist = if is_ln_scale { &scale } else { &weight };
            *x = dist.sample(&mut rng) as f32;
        }
    });
    params
}

/// A seeded prompt of `len` tokens.
pub fn random_tokens(d_vocab: usize, len: usize, seed: u64) -> Vec<TokenId> {
    (0..len as u64)
        .map(|i| ((i * 7 + seed * 13 + (i * i) % 5) % d_vocab as u64) as TokenId)
        .collect()
}
