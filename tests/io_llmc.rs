//! llm.c checkpoints: the HF fixture converted to llm.c's layout by a writer written here
//! from llm.c's documentation (nn.Linear [out, in] matrices, padded vocabulary), loaded back
//! and run: the logits must be the fixture's. Also bf16 (version 5) and `save_llmc`.

mod io_support;

use io_support::*;
use residual_explorer::model::io::hf::load_gpt2;
use residual_explorer::model::io::llmc::{llmc_bytes, load_llmc_bytes, save_llmc};
use residual_explorer::model::io::load_any;
use residual_explorer::model::{InitOptions, ModelConfig, NormPlacement, Params};
use std::path::Path;

const PADDED_VOCAB: usize = 128;

/// A Conv1D weight [rows, cols] transposed to nn.Linear's [cols, rows].
fn transposed(t: &RawTensor) -> Vec<f32> {
    let (rows, cols) = (t.shape[0], t.shape[1]);
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| (r, c)))
        .map(|(r, c)| t.values[r * cols + c])
        .collect()
}

/// The fixture as an llm.c checkpoint: version 3 writes f32, version 5 bf16; the padding
/// rows of wte hold `padding_value` (llm.c writes zeros; anything must be ignored).
fn fixture_as_llmc(version: i32, padding_value: f32) -> Vec<u8> {
    let get = |name: &str| fixture_tensor(&format!("transformer.{name}"));
    let (c, v, t, layers) = (64usize, 96usize, 64usize, 2usize);
    let mut header = [0i32; 256];
    header[..8].copy_from_slice(&[20240326, version, t as i32, v as i32, 2, 4, c as i32, 128]);
    let mut values: Vec<f32> = get("wte.weight").values;
    values.extend(std::iter::repeat_n(padding_value, (PADDED_VOCAB - v) * c));
    values.extend(get("wpe.weight").values);
    let per_layer = |suffix: &str, transpose: bool| -> Vec<f32> {
        (0..layers)
            .flat_map(|l| {
                let tensor = get(&format!("h.{l}.{suffix}"));
                if transpose {
                    transposed(&tensor)
                } else {
                    tensor.values
                }
            })
            .collect()
    };
    for (suffix, transpose) in [
        ("ln_1.weight", false),
        ("ln_1.bias", false),
        ("attn.c_attn.weight", true),
        ("attn.c_attn.bias", false),
        ("attn.c_proj.weight", true),
        ("attn.c_proj.bias", false),
        ("ln_2.weight", false),
        ("ln_2.bias", false),
        ("mlp.c_fc.weight", true),
        ("mlp.c_fc.bias", false),
        ("mlp.c_proj.weight", true),
        ("mlp.c_proj.bias", false),
    ] {
        values.extend(per_layer(suffix, transpose));
    }
    values.extend(get("ln_f.weight").values);
    values.extend(get("ln_f.bias").values);
    let mut bytes: Vec<u8> = header.iter().flat_map(|x| x.to_le_bytes()).collect();
    match version {
        3 => bytes.extend(values.iter().flat_map(|x| x.to_le_bytes())),
        5 => bytes.extend(
            values
                .iter()
                .flat_map(|&x| half::bf16::from_f32(x).to_le_bytes()),
        ),
        _ => unreachable!(),
    }
    bytes
}

/// The fixture as the Hugging Face loader reads it, without the provenance an llm.c file
/// does not carry (the loader records `family: "gpt2"`).
fn hf_fixture_params() -> residual_explorer::model::Params<f32> {
    let mut params = load_gpt2(&fixture_dir()).unwrap().params;
    params.config.family.clear();
    params
}

#[test]
fn the_fixture_in_llmc_layout_reproduces_the_logits() {
    let bytes = fixture_as_llmc(3, 1000.0);
    let params = load_llmc_bytes(&bytes, Path::new("fixture.bin")).unwrap();
    let diff = logits_max_diff(&params);
    assert!(diff <= 1e-4, "logits differ by {diff:e}");
    // Same weights as the Hugging Face loader reads, bit for bit.
    assert_eq!(params, hf_fixture_params());
}

#[test]
fn bf16_checkpoints_read_rounded_weights() {
    let params = load_llmc_bytes(&fixture_as_llmc(5, 0.0), Path::new("bf16.bin")).unwrap();
    let mut rounded = hf_fixture_params();
    rounded.for_each_tensor_mut(|_, mut t| t.mapv_inplace(|x| half::bf16::from_f32(x).to_f32()));
    assert_eq!(params, rounded);
}

#[test]
fn save_llmc_writes_llmc_layout_byte_for_byte() {
    let hf = load_gpt2(&fixture_dir()).unwrap();
    assert_eq!(llmc_bytes(&hf.params).unwrap(), fixture_as_llmc(3, 0.0));
}

#[test]
fn a_saved_checkpoint_loads_through_load_any_with_the_same_weights() {
    let config = ModelConfig {
        d_model: 16,
        n_heads: 2,
        d_head: 8,
        n_layers: 3,
        d_mlp: 64,
        d_vocab: 200, // padded to 256
        n_ctx: 10,
        ..ModelConfig::lesson(200)
    };
    let params = Params::<f32>::init(&config, InitOptions { seed: 9, std: 0.3 }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    save_llmc(&path, &params).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        1024 + 4 * (params.stored_len() as u64 + 56 * 16)
    );
    let model = load_any(&path).unwrap();
    assert_eq!(model.params, params);
    assert_eq!(model.name, "model");
}

#[test]
fn only_gpt2_shaped_models_can_be_saved_for_llmc() {
    let mut config = ModelConfig::lesson(10);
    config.norm = NormPlacement::Post;
    let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("post.bin");
    let error = save_llmc(&path, &params).unwrap_err();
    assert!(error.to_string().contains("GPT-2"), "{error}");
    assert!(!path.exists());
}
