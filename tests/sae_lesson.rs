//! What lesson 10 says about the shipped SAE (`models/sae-shakespeare`: 1,024 TopK features,
//! k 16, on the default model's `blocks.2.hook_resid_post`), checked on the model itself:
//! feature 371 fires on capital letters, and steering along it makes greedy generation
//! start words with capitals.

use std::path::Path;
use std::sync::Arc;

use residual_explorer::interp::interventions::Interventions;
use residual_explorer::model::forward_batch;
use residual_explorer::model::io::{LoadedModel, load_any};
use residual_explorer::sae::contexts::feature_contexts;
use residual_explorer::sae::{FeatureEdit, HookPoint, Sae, check_fit};
use residual_explorer::train::data::TextCorpus;

const FEATURE: usize = 371;
const PROMPT: &str = "KING RICHARD III:\nNow is the winter of our discontent\nMade glorious summer by this sun of York;";

fn shipped() -> (LoadedModel, Arc<Sae<f32>>, HookPoint) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = load_any(&root.join("models/default.safetensors")).unwrap();
    let folder = residual_explorer::sae::files::load(&root.join("models/sae-shakespeare")).unwrap();
    let hook = check_fit(&folder.sae.config, &model.params.config).unwrap();
    (model, Arc::new(folder.sae), hook)
}

/// 20 greedy characters after the prompt with `interventions`.
fn generate(model: &LoadedModel, interventions: &Interventions) -> String {
    let mut tokens = model.tokenizer.encode(PROMPT).ids;
    let start = tokens.len();
    for _ in 0..20 {
        let trace = forward_batch(&model.params, &[&tokens], interventions).unwrap();
        let last = trace.logits.row(tokens.len() - 1);
        let best = last
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        tokens.push(best as u32);
    }
    tokens[start..]
        .iter()
        .map(|&t| model.tokenizer.display_token(t))
        .collect()
}

#[test]
fn feature_371_fires_on_capitals_and_steering_along_it_writes_them() {
    let (model, sae, hook) = shipped();
    // Where it fires hardest on the held-out text, as the Features view reads it.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/shakespeare.txt"))
            .unwrap();
    let corpus = TextCorpus::with_tokenizer(&text, model.tokenizer.clone(), "shakespeare").unwrap();
    let contexts = feature_contexts(&model, &sae, hook, &corpus.val, 256, 64).unwrap();
    let top = &contexts.top[FEATURE];
    assert_eq!(top.len(), 20);
    let capitals = top
        .iter()
        .filter(|c| {
            model
                .tokenizer
                .display_token(c.tokens[c.marked])
                .chars()
                .all(|ch| ch.is_uppercase())
        })
        .count();
    assert!(
        capitals >= 18,
        "{capitals} of its 20 top contexts mark a capital"
    );
    // Steering: no capital in 20 greedy characters without it, several with +4.
    let count = |s: &str| s.chars().filter(|c| c.is_uppercase()).count();
    let plain = generate(&model, &Interventions::new());
    assert_eq!(count(&plain), 0, "{plain:?}");
    let mut steered = Interventions::new();
    let edit = FeatureEdit::Steer {
        feature: FEATURE,
        alpha: 4.0,
    };
    steered
        .add_feature_edit(&sae, hook, edit, &model.params.config)
        .unwrap();
    let text = generate(&model, &steered);
    assert!(count(&text) >= 3, "{text:?}");
}
