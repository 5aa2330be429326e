//! Lesson 1's toy model, `models/seed-residual-toy.safetensors`: the shipped file is exactly
//! what `cargo run --example build_seed_toy` builds, and the real engine run on it reproduces
//! the chapter's d = 3 example (embedding [1, 2, 3], then [1.5, 3.5, 3.5] → [1.7, 4.3, 3.7] →
//! [1.8, 5.2, 3.8] → [1.85, 5.6, 3.85]) to 1e-6, through the library and through
//! `residual-explorer trace --json`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

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

/// The chapter's vectors, typed out here rather than taken from the builder's constants.
const CHAPTER: [(&str, [f64; 3]); 5] = [
    ("blocks.0.hook_resid_pre", [1.0, 2.0, 3.0]),
    ("blocks.0.hook_resid_mid", [1.5, 3.5, 3.5]),
    ("blocks.0.hook_resid_post", [1.7, 4.3, 3.7]),
    ("blocks.1.hook_resid_mid", [1.8, 5.2, 3.8]),
    ("blocks.1.hook_resid_post", [1.85, 5.6, 3.85]),
];

fn trace_json(text: &str) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--model"])
        .arg(shipped_path())
        .args(["--text", text, "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("trace --json prints one JSON object")
}

fn row(json: &Value, hook: &str, pos: usize) -> Vec<f64> {
    json["hooks"][hook][pos]
        .as_array()
        .unwrap_or_else(|| panic!("hook {hook} missing"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn trace_json_shows_the_chapters_stream() {
    let json = trace_json("word");
    assert_eq!(json["tokens"].as_array().unwrap().len(), 1);
    for (hook, want) in CHAPTER {
        let got = row(&json, hook, 0);
        assert_eq!(got.len(), 3, "{hook}");
        for i in 0..3 {
            assert!(
                (got[i] - want[i]).abs() <= 1e-6,
                "{hook}[{i}] = {}, the chapter says {}",
                got[i],
                want[i]
            );
        }
    }
    // Each addition is the sublayer's output.
    let attn = row(&json, "blocks.1.hook_attn_out", 0);
    let mlp = row(&json, "blocks.1.hook_mlp_out", 0);
    for (got, want) in attn
        .iter()
        .chain(&mlp)
        .zip([0.1, 0.9, 0.1, 0.05, 0.4, 0.05])
    {
        assert!((got - want).abs() <= 1e-6);
    }
}

#[test]
fn every_token_gets_the_same_additions_in_its_own_stream() {
    let json = trace_json("red word blue");
    let start = row(&json, "blocks.0.hook_resid_pre", 0);
    let end = row(&json, "blocks.1.hook_resid_post", 0);
    let total_added = [0.85, 3.6, 0.85];
    for i in 0..3 {
        assert!((end[i] - start[i] - total_added[i]).abs() <= 1e-6);
    }
    let word = row(&json, "blocks.1.hook_resid_post", 1);
    for (got, want) in word.iter().zip([1.85, 5.6, 3.85]) {
        assert!((got - want).abs() <= 1e-6);
    }
}
