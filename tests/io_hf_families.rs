//! Bad input on the modern-family loaders: each gets a clear error naming the problem, never a
//! panic, and nothing of a config's size is allocated before the files justify it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use residual_explorer::model::io::load_any;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A copy of a fixture folder in a temporary directory.
fn copy_of(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(fixture(name)).expect("fixture") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    dir
}

fn error_of(path: &Path) -> String {
    match load_any(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

/// Rewrites `file` with `change` applied to its tensors (name → (dtype, shape, bytes)).
fn rewrite_tensors(
    file: &Path,
    change: impl FnOnce(&mut HashMap<String, (Dtype, Vec<usize>, Vec<u8>)>),
) {
    let bytes = std::fs::read(file).expect("read");
    let parsed = SafeTensors::deserialize(&bytes).expect("valid file");
    let mut tensors: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = parsed
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                (view.dtype(), view.shape().to_vec(), view.data().to_vec()),
            )
        })
        .collect();
    change(&mut tensors);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (dtype, shape, data))| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).expect("consistent"),
            )
        })
        .collect();
    let out = safetensors::serialize(views, None).expect("serialize");
    std::fs::write(file, out).expect("write");
}

#[test]
fn an_index_naming_a_missing_shard_says_which() {
    let dir = copy_of("qwen3-tiny");
    std::fs::remove_file(dir.path().join("model-00002-of-00002.safetensors")).unwrap();
    let error = error_of(dir.path());
    assert!(
        error.contains("names the shard model-00002-of-00002.safetensors, which is missing"),
        "{error}"
    );
}

#[test]
fn an_index_may_not_point_outside_its_folder() {
    let dir = copy_of("qwen3-tiny");
    let index = dir.path().join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &index,
        text.replacen(
            "model-00001-of-00002.safetensors",
            "../outside.safetensors",
            1,
        ),
    )
    .unwrap();
    let error = error_of(dir.path());
    assert!(error.contains("not a file in this folder"), "{error}");
}

#[test]
fn a_tensor_of_the_wrong_shape_or_dtype_is_named() {
    let dir = copy_of("llama-tiny");
    let weights = dir.path().join("model.safetensors");
    rewrite_tensors(&weights, |tensors| {
        let (dtype, _, _) = tensors.get_mut("model.norm.weight").unwrap();
        *dtype = Dtype::I16; // the same width as bf16
    });
    let error = error_of(dir.path());
    assert!(error.contains("model.norm.weight has dtype I16"), "{error}");

    let dir = copy_of("llama-tiny");
    let weights = dir.path().join("model.safetensors");
    rewrite_tensors(&weights, |tensors| {
        let (_, shape, _) = tensors
            .get_mut("model.layers.1.mlp.up_proj.weight")
            .unwrap();
        // [160, 64] → [80, 128]: the same number of values in the wrong shape.
        *shape = vec![80, 128];
    });
    let error = error_of(dir.path());
    assert!(
        error.contains("model.layers.1.mlp.up_proj.weight has shape [80, 128], expected [160, 64]"),
        "{error}"
    );
}

#[test]
fn nan_in_bf16_weights_is_refused_with_its_tensor() {
    let dir = copy_of("gemma3-tiny");
    let weights = dir.path().join("model.safetensors");
    rewrite_tensors(&weights, |tensors| {
        let (dtype, _, data) = tensors
            .get_mut("model.layers.2.mlp.down_proj.weight")
            .unwrap();
        assert_eq!(*dtype, Dtype::BF16);
        // bf16 NaN: exponent all ones, mantissa non-zero.
        data[6..8].copy_from_slice(&0x7fc0u16.to_le_bytes());
    });
    let error = error_of(dir.path());
    assert!(
        error.contains(
            "model.layers.2.mlp.down_proj.weight holds a non-finite value (NaN) at flat index 3"
        ),
        "{error}"
    );
}

#[test]
fn an_unexpected_tensor_is_refused() {
    let dir = copy_of("gpt_neox-tiny");
    let weights = dir.path().join("model.safetensors");
    rewrite_tensors(&weights, |tensors| {
        let extra = tensors["gpt_neox.final_layer_norm.bias"].clone();
        tensors.insert("gpt_neox.layers.5.extra.bias".into(), extra);
    });
    let error = error_of(dir.path());
    assert!(
        error.contains("unexpected tensor gpt_neox.layers.5.extra.bias")
            && error.contains("config.json says the model has 2 layers"),
        "{error}"
    );
}

#[test]
fn configs_that_cannot_run_exactly_or_at_all_are_refused_before_allocation() {
    let cases: [(&str, &str, &str); 5] = [
        (
            "\"num_key_value_heads\": 2",
            "\"num_key_value_heads\": 3",
            "multiple of n_key_value_heads",
        ),
        (
            "\"num_attention_heads\": 4",
            "\"num_attention_heads\": 0",
            "must be positive",
        ),
        (
            "\"vocab_size\": 448",
            "\"vocab_size\": 4000000",
            "more than this",
        ),
        (
            "\"hidden_act\": \"silu\"",
            "\"hidden_act\": \"quick_gelu\"",
            "hidden_act = \"quick_gelu\"",
        ),
        (
            "\"rope_type\": \"default\"",
            "\"rope_type\": \"yarn\"",
            "rope_parameters.rope_type = \"yarn\"",
        ),
    ];
    for (from, to, expected) in cases {
        let dir = copy_of("llama-tiny");
        let config = dir.path().join("config.json");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(&config, text.replace(from, to)).unwrap();
        let error = error_of(dir.path());
        assert!(error.contains(expected), "{to}: {error}");
    }
}

#[test]
fn a_folder_a_config_json_an_index_and_a_weights_file_all_open_the_checkpoint() {
    let folder = fixture("qwen3-tiny");
    for path in [
        folder.clone(),
        folder.join("config.json"),
        folder.join("model.safetensors.index.json"),
        folder.join("model-00001-of-00002.safetensors"),
    ] {
        let model = load_any(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(model.params.config.family, "qwen3");
        assert_eq!(model.params.config.d_head, 16);
    }
}
