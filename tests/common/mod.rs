//! Helpers shared by the integration tests: the fixture folder and its JSON arrays, and a
//! small seeded model.
#![allow(dead_code)]

use std::path::PathBuf;

use residual_explorer::model::{InitOptions, ModelConfig, Params};
use serde_json::Value;

/// A small pre-LN model with MLPs: 3 layers, 4 heads of 8, d_model 32, vocabulary 20,
/// context 16, initialised with `seed` and standard deviation `std` (larger than GPT-2's
/// 0.02 so that the heads' outputs are far from zero).
pub fn small_model(seed: u64, std: f64) -> Params<f32> {
    let config = ModelConfig {
        d_model: 32,
        n_heads: 4,
        d_head: 8,
        n_layers: 3,
        d_mlp: 64,
        n_ctx: 16,
        ..ModelConfig::lesson(20)
    };
    Params::init(&config, InitOptions { seed, std }).unwrap()
}

/// The copied Hugging Face GPT-2 fixture (see tests/data/gpt2-tiny/README.md).
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gpt2-tiny")
}

/// Parses one of the fixture's JSON files.
pub fn fixture_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join(name)).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// A `{"shape": [...], "data": nested}` array as (shape, row-major values).
pub fn array(value: &Value) -> (Vec<usize>, Vec<f64>) {
    let shape = value["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let mut data = Vec::new();
    flatten(&value["data"], &mut data);
    (shape, data)
}

fn flatten(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        other => panic!("unexpected JSON value {other}"),
    }
}

/// The fixture's input ids.
pub fn input_ids() -> Vec<u32> {
    fixture_json("input.json")["input_ids"]
        .as_array()
        .expect("input_ids")
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

/// Largest |a − b| over two equal-length slices.
pub fn max_abs_diff(a: impl IntoIterator<Item = f64>, b: &[f64]) -> f64 {
    let a: Vec<f64> = a.into_iter().collect();
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Runs the program with `args` and waits for it.
pub fn run_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(args)
        .output()
        .expect("the binary runs")
}
