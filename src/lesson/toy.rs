//! Lesson 1's toy model: the chapter's d = 3 worked example, built from hand-set weights (not
//! trained) so that the real engine reproduces its numbers exactly.
//!
//! The word's embedding is x = [1, 2, 3]; layer 0's attention adds a₁ = [0.5, 1.5, 0.5] and its
//! feed-forward network adds f₁ = [0.2, 0.8, 0.2]; layer 1 adds a₂ = [0.1, 0.9, 0.1] and
//! f₂ = [0.05, 0.4, 0.05]. The stream then reads [1.5, 3.5, 3.5] → [1.7, 4.3, 3.7] →
//! [1.8, 5.2, 3.8] → [1.85, 5.6, 3.85].
//!
//! How: a pre-LN model with d_model 3 and one head of 3. Every `W_O` and `W_out` is zero, so a
//! sublayer's output is exactly its output bias — `b_O` is the attention addition and `b_out`
//! the feed-forward addition, whatever the input. `W_pos` is zero, so the stream starts at the
//! token's `W_E` row. The other words of the small vocabulary have their own embeddings, and
//! every token receives the same additions in its own stream.
//!
//! Built and saved by `cargo run --example build_seed_toy` (see `examples/build_seed_toy.rs`).

use ndarray::{Array1, arr1};

use crate::model::io::LoadedModel;
use crate::model::tokenizer::{Tokenizer, WordTokenizer};
use crate::model::{Activation, ModelConfig, NormPlacement, Params};

/// Where the toy is shipped, relative to the project root.
pub const TOY_MODEL_PATH: &str = "models/seed-residual-toy.safetensors";

/// The chapter's word: its embedding is [`TOY_EMBEDDING`].
pub const TOY_WORD: &str = "word";

/// The chapter's starting vector x for the word.
pub const TOY_EMBEDDING: [f32; 3] = [1.0, 2.0, 3.0];

/// What each sublayer adds, in forward order: layer 0 attention, layer 0 MLP, layer 1
/// attention, layer 1 MLP (the chapter's a₁, f₁, a₂, f₂).
pub const TOY_ADDITIONS: [[f32; 3]; 4] = [
    [0.5, 1.5, 0.5],
    [0.2, 0.8, 0.2],
    [0.1, 0.9, 0.1],
    [0.05, 0.4, 0.05],
];

/// The stream after each addition, as the chapter computes it (x₁ … x₄).
pub const TOY_STREAM: [[f32; 3]; 4] = [
    [1.5, 3.5, 3.5],
    [1.7, 4.3, 3.7],
    [1.8, 5.2, 3.8],
    [1.85, 5.6, 3.85],
];

/// The vocabulary and each word's embedding: the chapter's word first, then three words
/// pointing along the axes, so a student can type several words and compare their streams.
const VOCABULARY: [(&str, [f32; 3]); 4] = [
    (TOY_WORD, TOY_EMBEDDING),
    ("red", [1.0, 0.0, 0.0]),
    ("green", [0.0, 1.0, 0.0]),
    ("blue", [0.0, 0.0, 1.0]),
];

/// The toy's shape: 2 pre-LN layers, d_model 3, one head of 3, an MLP of width 1 (its
/// `W_out` is zero anyway), 8 positions, tied unembedding with a final LayerNorm.
pub fn toy_config() -> ModelConfig {
    ModelConfig {
        d_model: 3,
        n_heads: 1,
        d_head: 3,
        n_layers: 2,
        d_mlp: 1,
        d_vocab: VOCABULARY.len(),
        n_ctx: 8,
        layer_norm_eps: 1e-5,
        norm: NormPlacement::Pre,
        activation: Activation::Relu,
        residual: true,
        tied_unembed: true,
        unembed_bias: false,
        attn_only: false,
        final_norm: true,
        ..Default::default()
    }
}

/// Builds the toy model. Every weight is set by hand: zeros everywhere except the embedding
/// rows, LayerNorm scales of 1, and the output biases that carry the chapter's additions.
pub fn seed_residual_toy() -> LoadedModel {
    let config = toy_config();
    let mut params = Params::<f32>::zeros(&config);
    for (row, (_, vector)) in VOCABULARY.iter().enumerate() {
        params.w_e.row_mut(row).assign(&arr1(vector));
    }
    for block in &mut params.blocks {
        block.ln1.w.fill(1.0);
        if let Some(mlp) = &mut block.mlp {
            mlp.ln2.w.fill(1.0);
        }
    }
    if let Some(ln) = &mut params.ln_final {
        ln.w.fill(1.0);
    }
    set_additions(&mut params, &TOY_ADDITIONS);
    LoadedModel {
        params,
        tokenizer: Tokenizer::Word(WordTokenizer {
            words: VOCABULARY.iter().map(|(w, _)| w.to_string()).collect(),
        }),
        name: "seed-residual-toy".to_string(),
        source: None,
    }
}

/// The additions of a model whose `W_O` and `W_out` are zero: per layer, `b_O` then `b_out`
/// (`b_out` is absent for attention-only blocks). [2 · n_layers][d_model]
pub fn additions(params: &Params<f32>) -> Vec<Array1<f32>> {
    let mut list = Vec::new();
    for block in &params.blocks {
        list.push(block.attn.b_o.clone());
        if let Some(mlp) = &block.mlp {
            list.push(mlp.b_out.clone());
        }
    }
    list
}

/// Writes additions back in the order [`additions`] reads them; extra entries are ignored.
pub fn set_additions<V: AsRef<[f32]>>(params: &mut Params<f32>, values: &[V]) {
    let mut values = values.iter();
    for block in &mut params.blocks {
        if let Some(value) = values.next() {
            block.attn.b_o.assign(&arr1(value.as_ref()));
        }
        if let Some(mlp) = &mut block.mlp
            && let Some(value) = values.next()
        {
            mlp.b_out.assign(&arr1(value.as_ref()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::forward;

    /// The engine reproduces the chapter's stream for the word, at every token position.
    #[test]
    fn forward_reproduces_the_chapter() {
        let model = seed_residual_toy();
        let ids = model.tokenizer.encode("word red word").ids;
        let trace = forward(&model.params, &ids).unwrap();
        for pos in [0, 2] {
            let close = |a: ndarray::ArrayView1<f32>, b: &[f32; 3]| {
                a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
            };
            assert!(close(trace.layers[0].resid_pre.row(pos), &TOY_EMBEDDING));
            assert!(close(trace.layers[0].resid_mid.row(pos), &TOY_STREAM[0]));
            assert!(close(trace.layers[0].resid_post.row(pos), &TOY_STREAM[1]));
            assert!(close(trace.layers[1].resid_mid.row(pos), &TOY_STREAM[2]));
            assert!(close(trace.layers[1].resid_post.row(pos), &TOY_STREAM[3]));
        }
    }

    #[test]
    fn additions_round_trip() {
        let mut model = seed_residual_toy();
        assert_eq!(additions(&model.params)[3], arr1(&TOY_ADDITIONS[3]));
        set_additions(&mut model.params, &[[0.0f32, 0.0, 1.0]]);
        assert_eq!(additions(&model.params)[0], arr1(&[0.0, 0.0, 1.0]));
        assert_eq!(additions(&model.params)[1], arr1(&TOY_ADDITIONS[1]));
    }
}
