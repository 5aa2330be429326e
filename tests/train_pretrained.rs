//! The shipped pretrained models (models/README.md says how each was made) do what the
//! lessons need: the word-level model completes "the quick brown fox" with "jumps", the
//! attention-only model has an induction head, and the default Shakespeare model beats the
//! nanoGPT reference validation loss (1.66 nats/char after 4,000 steps).

use std::path::PathBuf;

use ndarray::s;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use residual_explorer::model::forward;
use residual_explorer::model::io::LoadedModel;
use residual_explorer::model::io::native::load_native;
use residual_explorer::train::data::{TextCorpus, TextLevel};
use residual_explorer::train::{BatchSource, evaluate};

fn model(name: &str) -> LoadedModel {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name);
    load_native(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn word_model_predicts_jumps_after_the_quick_brown_fox() {
    let loaded = model("word.safetensors");
    let encoding = loaded.tokenizer.encode("the quick brown fox");
    assert!(encoding.unknown.is_empty());
    let trace = forward(&loaded.params, &encoding.ids).unwrap();
    let last = trace.logits.row(encoding.ids.len() - 1);
    let top = (0..last.len())
        .max_by(|&a, &b| last[a].total_cmp(&last[b]))
        .unwrap();
    assert_eq!(loaded.tokenizer.decode_token(top as u32), "jumps");
}

#[test]
fn induction_model_has_an_induction_head_in_its_second_layer() {
    let loaded = model("induction.safetensors");
    let params = &loaded.params;
    assert!(params.config.attn_only && params.config.n_layers == 2);
    // BOS then the 30 symbols in a random order, repeated: a query in the repeat should
    // attend to the token after its previous occurrence (key = query − 30 + 1). No symbol
    // occurs twice in a half, so every next token in the repeat is determined.
    let half = 30;
    let mut first: Vec<u32> = (2..32).collect();
    first.shuffle(&mut StdRng::seed_from_u64(42));
    let tokens: Vec<u32> = std::iter::once(0)
        .chain(first.iter().copied())
        .chain(first.iter().copied())
        .collect();
    let trace = forward(params, &tokens).unwrap();
    let pattern = &trace.layers[1].pattern; // [batch, head, query_pos, key_pos]
    let best = (0..params.config.n_heads)
        .map(|head| {
            let queries = half + 1..tokens.len();
            let total: f32 = queries
                .clone()
                .map(|q| pattern[[0, head, q, q - half + 1]])
                .sum();
            total / queries.len() as f32
        })
        .fold(0.0f32, f32::max);
    assert!(best > 0.5, "best induction score {best}");
    // And the repeat is predicted.
    let logits = trace.logits.slice(s![half + 1..tokens.len() - 1, ..]);
    for (row, target) in logits.outer_iter().zip(&tokens[half + 2..]) {
        let top = (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap();
        assert_eq!(top as u32, *target);
    }
}

#[test]
fn default_model_beats_the_reference_validation_loss() {
    let loaded = model("default.safetensors");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/shakespeare.txt");
    let corpus = TextCorpus::from_file(&path, TextLevel::Char).unwrap();
    assert_eq!(
        corpus.tokenizer, loaded.tokenizer,
        "same character vocabulary"
    );
    let val = corpus.validation_batches(16, 64);
    let loss = evaluate(&loaded.params, &val).unwrap();
    assert!(loss < 1.60, "validation loss {loss}");
}
