//! Lesson 1's toy model, `models/seed-residual-toy.safetensors`: the shipped file is exactly
//! what `cargo run --example build_seed_toy` builds, and the real engine run on it reproduces
//! the chapter's d = 3 example (embedding [1, 2, 3], then [1.5, 3.5, 3.5] → [1.7, 4.3, 3.7] →
//! [1.8, 5.2, 3.8] → [1.85, 5.6, 3.85]) to 1e-6.

use std::path::PathBuf;

use residual_explorer::lesson::toy::{
    TOY_ADDITIONS, TOY_EMBEDDING, TOY_MODEL_PATH, TOY_STREAM, seed_residual_toy,
};
use residual_explorer::model::forward;
use residual_explorer::model::io::load_any;

fn shipped_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TOY_MODEL_PATH)
}

/// The chapter's numbers, checked independently of the constants: each stream vector is the
/// previous one plus the addition, summed here by hand.
#[test]
fn the_constants_are_the_chapters_sums() {
    let mut stream = TOY_EMBEDDING.map(f64::from);
    let expected = [
        [1.5, 3.5, 3.5],
        [1.7, 4.3, 3.7],
        [1.8, 5.2, 3.8],
        [1.85, 5.6, 3.85],
    ];
    for (addition, (want, constant)) in TOY_ADDITIONS.iter().zip(expected.iter().zip(TOY_STREAM)) {
        for i in 0..3 {
            stream[i] += f64::from(addition[i]);
            assert!((stream[i] - want[i]).abs() < 1e-6);
            assert!((f64::from(constant[i]) - want[i]).abs() < 1e-6);
        }
    }
}

#[test]
fn the_shipped_file_is_the_builders_output() {
    let shipped = load_any(&shipped_path()).expect("models/seed-residual-toy.safetensors loads");
    let built = seed_residual_toy();
    assert_eq!(shipped.params, built.params);
    assert_eq!(shipped.tokenizer, built.tokenizer);
}

#[test]
fn the_engine_reproduces_the_stream_from_the_shipped_file() {
    let model = load_any(&shipped_path()).unwrap();
    let ids = model.tokenizer.encode("word").ids;
    assert_eq!(ids.len(), 1);
    let trace = forward(&model.params, &ids).unwrap();
    let rows = [
        (trace.layers[0].resid_pre.row(0), TOY_EMBEDDING),
        (trace.layers[0].resid_mid.row(0), TOY_STREAM[0]),
        (trace.layers[0].resid_post.row(0), TOY_STREAM[1]),
        (trace.layers[1].resid_mid.row(0), TOY_STREAM[2]),
        (trace.layers[1].resid_post.row(0), TOY_STREAM[3]),
    ];
    for (index, (got, want)) in rows.iter().enumerate() {
        for i in 0..3 {
            assert!(
                (got[i] - want[i]).abs() <= 1e-6,
                "stream {index}, component {i}: {} vs {}",
                got[i],
                want[i]
            );
        }
    }
}
