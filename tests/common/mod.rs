//! Helpers shared by the integration tests: the fixture folder and its JSON arrays.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

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
