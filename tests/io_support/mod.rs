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

/// A GPT-2-shaped model's weights under Hugging Face's names and layouts (Conv1D [in, out],
/// `c_attn` = [q | k | v] with head h in columns h·d_head..), the inverse of the HF loader.
pub fn hf_tensors_from_params(params: &Params<f32>) -> Vec<RawTensor> {
    let c = params.config.d_model;
    let raw = |name: String, shape: Vec<usize>, values: Vec<f32>| RawTensor {
        name: format!("transformer.{name}"),
        shape,
        values,
    };
    let mut out = vec![
        raw(
            "wte.weight".into(),
            vec![params.config.d_vocab, c],
            params.w_e.iter().copied().collect(),
        ),
        raw(
            "wpe.weight".into(),
            vec![params.config.n_ctx, c],
            params.w_pos.iter().copied().collect(),
        ),
    ];
    for (layer, block) in params.blocks.iter().enumerate() {
        let at = |s: &str| format!("h.{layer}.{s}");
        let mlp = block.mlp.as_ref().expect("GPT-2 has MLPs");
        let heads = [&block.attn.w_q, &block.attn.w_k, &block.attn.w_v];
        // c_attn.weight[i, part·C + head·dh + j] = W_part[head, i, j]
        let c_attn: Vec<f32> = (0..c)
            .flat_map(|i| {
                heads.iter().flat_map(move |w| {
                    let (h, _, dh) = w.dim();
                    (0..h).flat_map(move |head| (0..dh).map(move |j| w[[head, i, j]]))
                })
            })
            .collect();
        let biases = [&block.attn.b_q, &block.attn.b_k, &block.attn.b_v];
        let c_attn_b: Vec<f32> = biases.iter().flat_map(|b| b.iter().copied()).collect();
        let m = mlp.w_in.dim().1;
        out.extend([
            raw(at("ln_1.weight"), vec![c], block.ln1.w.to_vec()),
            raw(at("ln_1.bias"), vec![c], block.ln1.b.to_vec()),
            raw(at("attn.c_attn.weight"), vec![c, 3 * c], c_attn),
            raw(at("attn.c_attn.bias"), vec![3 * c], c_attn_b),
            raw(
                at("attn.c_proj.weight"),
                vec![c, c],
                block.attn.w_o.iter().copied().collect(),
            ),
            raw(at("attn.c_proj.bias"), vec![c], block.attn.b_o.to_vec()),
            raw(at("ln_2.weight"), vec![c], mlp.ln2.w.to_vec()),
            raw(at("ln_2.bias"), vec![c], mlp.ln2.b.to_vec()),
            raw(
                at("mlp.c_fc.weight"),
                vec![c, m],
                mlp.w_in.iter().copied().collect(),
            ),
            raw(at("mlp.c_fc.bias"), vec![m], mlp.b_in.to_vec()),
            raw(
                at("mlp.c_proj.weight"),
                vec![m, c],
                mlp.w_out.iter().copied().collect(),
            ),
            raw(at("mlp.c_proj.bias"), vec![c], mlp.b_out.to_vec()),
        ]);
    }
    let ln_f = params.ln_final.as_ref().expect("GPT-2 has ln_f");
    out.push(raw("ln_f.weight".into(), vec![c], ln_f.w.to_vec()));
    out.push(raw("ln_f.bias".into(), vec![c], ln_f.b.to_vec()));
    out
}

/// The HF `config.json` of a GPT-2-shaped config.
pub fn hf_config_json(config: &residual_explorer::model::ModelConfig) -> String {
    serde_json::json!({
        "model_type": "gpt2",
        "n_embd": config.d_model,
        "n_head": config.n_heads,
        "n_layer": config.n_layers,
        "n_positions": config.n_ctx,
        "vocab_size": config.d_vocab,
        "n_inner": config.d_mlp,
        "layer_norm_epsilon": config.layer_norm_eps,
        "activation_function": "gelu_new",
        "tie_word_embeddings": true
    })
    .to_string()
}
