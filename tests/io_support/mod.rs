//! Helpers for the weight-file tests: the fixture's raw tensors, writing safetensors files in
//! any dtype (independently of the library's writer), comparing a model's logits with the
//! fixture's, and a small hand-made GPT-2 byte-level vocabulary.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use residual_explorer::model::{Params, forward};
use safetensors::{Dtype, SafeTensors};

#[path = "../common/mod.rs"]
mod common;
pub use common::*;

/// One tensor as plain data: name, shape, row-major f32 values.
#[derive(Clone, Debug)]
pub struct RawTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every tensor of tests/data/gpt2-tiny/model.safetensors (all F32), sorted by name.
pub fn fixture_tensors() -> Vec<RawTensor> {
    let bytes = std::fs::read(fixture_dir().join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<RawTensor> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), Dtype::F32);
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            RawTensor {
                name,
                shape: view.shape().to_vec(),
                values,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The fixture tensor with this name.
pub fn fixture_tensor(name: &str) -> RawTensor {
    fixture_tensors()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("fixture has {name}"))
}

/// Serializes tensors as a safetensors buffer in `dtype` (F32, F16 or BF16), with the
/// safetensors crate directly.
pub fn safetensors_bytes(
    tensors: &[RawTensor],
    dtype: Dtype,
    metadata: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let encoded: Vec<(String, Vec<u8>)> = tensors
        .iter()
        .map(|t| {
            let bytes = match dtype {
                Dtype::F32 => t.values.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Dtype::F16 => t
                    .values
                    .iter()
                    .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
                    .collect(),
                Dtype::BF16 => t
                    .values
                    .iter()
                    .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())
                    .collect(),
                Dtype::I32 => t
                    .values
                    .iter()
                    .flat_map(|&x| (x as i32).to_le_bytes())
                    .collect(),
                other => panic!("no encoder for {other:?}"),
            };
            (t.name.clone(), bytes)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = encoded
        .iter()
        .zip(tensors)
        .map(|((name, bytes), t)| {
            let view = safetensors::tensor::TensorView::new(dtype, t.shape.clone(), bytes)
                .expect("consistent view");
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, metadata).unwrap()
}

/// Writes a Hugging Face folder at `dir`: the fixture's config.json (optionally edited) and
/// `tensors` as model.safetensors in `dtype`. Returns the folder.
pub fn write_hf_folder(
    dir: &Path,
    tensors: &[RawTensor],
    dtype: Dtype,
    edit_config: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("config.json")).unwrap())
            .unwrap();
    edit_config(&mut config);
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(
        dir.join("model.safetensors"),
        safetensors_bytes(tensors, dtype, None),
    )
    .unwrap();
    dir.to_path_buf()
}

/// Largest |logit − fixture logit| of a model run on the fixture's input ids.
pub fn logits_max_diff(params: &Params<f32>) -> f64 {
    let trace = forward(params, &input_ids()).expect("forward runs");
    let (_, reference) = array(&fixture_json("forward.json")["logits"]);
    max_abs_diff(trace.logits.iter().map(|&x| x as f64), &reference)
}

/// GPT-2's byte-to-unicode alphabet, written out from its definition in encoder.py.
pub fn gpt2_byte_chars() -> Vec<char> {
    let mut printable: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    let mut table = vec!['\0'; 256];
    for (b, c) in printable.into_iter().zip(chars) {
        table[b as usize] = char::from_u32(c).unwrap();
    }
    table
}

/// A hand-made GPT-2-style vocabulary: the 256 byte tokens (ids 0..255 in byte order), then
/// the tokens made by `merges` in order, then `<|endoftext|>`.
pub fn hand_vocab(merges: &[(&str, &str)]) -> Vec<String> {
    let mut vocab: Vec<String> = gpt2_byte_chars().iter().map(|c| c.to_string()).collect();
    for (a, b) in merges {
        let merged = format!("{a}{b}");
        if !vocab.contains(&merged) {
            vocab.push(merged);
        }
    }
    vocab.push("<|endoftext|>".into());
    vocab
}

/// Merges that build "Hello", "Ġworld" and "Ġw" + "orld" pieces.
pub const HELLO_MERGES: [(&str, &str); 9] = [
    ("H", "e"),
    ("l", "l"),
    ("He", "ll"),
    ("Hell", "o"),
    ("Ġ", "w"),
    ("o", "r"),
    ("Ġw", "or"),
    ("Ġwor", "l"),
    ("Ġworl", "d"),
];

/// A tokenizer.json (Hugging Face format) for a vocabulary and merges; merges written as
/// "a b" strings or as [a, b] pairs.
pub fn tokenizer_json(vocab: &[String], merges: &[(&str, &str)], pairs: bool) -> String {
    let vocab_map: serde_json::Map<String, serde_json::Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), serde_json::json!(i)))
        .collect();
    let merges: Vec<serde_json::Value> = merges
        .iter()
        .map(|(a, b)| {
            if pairs {
                serde_json::json!([a, b])
            } else {
                serde_json::json!(format!("{a} {b}"))
            }
        })
        .collect();
    let eot = vocab.len() - 1;
    serde_json::json!({
        "version": "1.0",
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "special": true}],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab_map, "merges": merges}
    })
    .to_string()
}
