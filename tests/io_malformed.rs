//! Malformed weight files, for every loader: each must be refused with an error naming the
//! file and the problem, without panicking and without allocating from untrusted sizes
//! (several cases announce models of many gigabytes in files of a few kilobytes).

mod io_support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use io_support::*;
use residual_explorer::model::io::{LoadError, LoadedModel, load_any};
use residual_explorer::model::tokenizer::Tokenizer;
use residual_explorer::model::{InitOptions, ModelConfig, Params};
use safetensors::Dtype;

/// Loads `path` and checks the error names the file and contains `needle`.
fn refused(path: &Path, needle: &str) {
    let result: Result<LoadedModel, LoadError> = load_any(path);
    let error = match result {
        Ok(_) => panic!(
            "{} loaded, expected an error about {needle:?}",
            path.display()
        ),
        Err(e) => e.to_string(),
    };
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        error.contains(name.as_ref()),
        "{error:?} does not name {name}"
    );
    assert!(
        error.contains(needle),
        "{error:?} does not contain {needle:?}"
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An edit of a native file's metadata, for a table of cases.
type MetaEdit = Box<dyn FnOnce(&mut HashMap<String, String>)>;
/// An edit of a config.json, for a table of cases.
type ConfigEdit = Box<dyn Fn(&mut serde_json::Value)>;

// ---------- native ----------

fn small_config() -> ModelConfig {
    ModelConfig {
        d_model: 8,
        n_heads: 2,
        d_head: 4,
        n_layers: 1,
        d_mlp: 16,
        d_vocab: 5,
        n_ctx: 4,
        ..ModelConfig::lesson(5)
    }
}

fn small_tensors() -> Vec<RawTensor> {
    let params = Params::<f32>::init(&small_config(), InitOptions::default()).unwrap();
    let mut out = Vec::new();
    params.for_each_tensor(|name, t| {
        out.push(RawTensor {
            name,
            shape: t.shape().to_vec(),
            values: t.iter().copied().collect(),
        })
    });
    out
}

fn native_metadata(config: &serde_json::Value) -> HashMap<String, String> {
    HashMap::from([
        ("format".into(), "residual-explorer".into()),
        ("format_version".into(), "1".into()),
        ("config".into(), config.to_string()),
        (
            "tokenizer".into(),
            serde_json::to_string(&Tokenizer::Ids { d_vocab: 5 }).unwrap(),
        ),
        ("name".into(), "small".into()),
    ])
}

/// A native file built from tensors and metadata, both editable.
fn native_file(
    dir: &Path,
    name: &str,
    edit_tensors: impl FnOnce(&mut Vec<RawTensor>),
    edit_meta: impl FnOnce(&mut HashMap<String, String>),
    dtype: Dtype,
) -> PathBuf {
    let mut tensors = small_tensors();
    edit_tensors(&mut tensors);
    let mut meta = native_metadata(&serde_json::to_value(small_config()).unwrap());
    edit_meta(&mut meta);
    write(dir, name, &safetensors_bytes(&tensors, dtype, Some(meta)))
}

fn edit_config(meta: &mut HashMap<String, String>, key: &str, value: serde_json::Value) {
    let mut config: serde_json::Value = serde_json::from_str(&meta["config"]).unwrap();
    config[key] = value;
    meta.insert("config".into(), config.to_string());
}

#[test]
fn native_files_that_are_broken_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keep = |_: &mut Vec<RawTensor>| {};
    let good = native_file(d, "good.safetensors", keep, |_| {}, Dtype::F32);
    assert!(load_any(&good).is_ok(), "the base file is valid");
    let good_bytes = std::fs::read(&good).unwrap();

    refused(&write(d, "empty.safetensors", b""), "empty");
    refused(
        &write(d, "cut.safetensors", &good_bytes[..good_bytes.len() / 2]),
        "not a valid safetensors file: the file's length does not match its header",
    );
    refused(
        &write(d, "cut-in-header.safetensors", &good_bytes[..20]),
        "not a valid safetensors file: the file ends inside its header",
    );
    refused(
        &write(d, "cut-in-length.safetensors", &good_bytes[..5]),
        "fewer than the 8 that give its header's length",
    );
    let mut long_header = good_bytes.clone();
    long_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    refused(&write(d, "hdr.safetensors", &long_header), "safetensors");
    let mut short_header = good_bytes.clone();
    short_header[..8].copy_from_slice(&3u64.to_le_bytes());
    refused(&write(d, "hdr2.safetensors", &short_header), "safetensors");
    // Offsets past the end: the header claims more data than the file holds.
    let header_len = u64::from_le_bytes(good_bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good_bytes[8..8 + header_len]).unwrap();
    let data_len = good_bytes.len() - 8 - header_len;
    let bigger = header.replace(&format!(",{data_len}]"), &format!(",{}]", data_len + 4096));
    assert_ne!(bigger, header, "the last offset was found");
    let mut past_end = (bigger.len() as u64).to_le_bytes().to_vec();
    past_end.extend(bigger.as_bytes());
    past_end.extend(&good_bytes[8 + header_len..]);
    refused(&write(d, "offsets.safetensors", &past_end), "safetensors");

    let shape = |t: &mut Vec<RawTensor>| {
        let w_e = t.iter_mut().find(|t| t.name == "embed.W_E").unwrap();
        w_e.shape = vec![8, 5];
    };
    refused(
        &native_file(d, "shape.safetensors", shape, |_| {}, Dtype::F32),
        "shape [8, 5]",
    );
    refused(
        &native_file(d, "dtype.safetensors", keep, |_| {}, Dtype::I32),
        "dtype I32",
    );
    let missing = |t: &mut Vec<RawTensor>| t.retain(|t| t.name != "blocks.0.mlp.W_out");
    refused(
        &native_file(d, "missing.safetensors", missing, |_| {}, Dtype::F32),
        "missing tensor blocks.0.mlp.W_out",
    );
    let extra = |t: &mut Vec<RawTensor>| {
        let mut copy = t[0].clone();
        copy.name = "blocks.1.attn.W_Q".into();
        t.push(copy);
    };
    refused(
        &native_file(d, "extra.safetensors", extra, |_| {}, Dtype::F32),
        "unexpected tensor blocks.1.attn.W_Q",
    );
    let cases: Vec<(&str, MetaEdit, &str)> = vec![
        (
            "layers.safetensors",
            Box::new(|m| edit_config(m, "n_layers", 1_000_000_000.into())),
            "n_layers",
        ),
        (
            "float.safetensors",
            Box::new(|m| edit_config(m, "n_layers", 1e9.into())),
            "bad config JSON",
        ),
        (
            "vocab0.safetensors",
            Box::new(|m| edit_config(m, "d_vocab", 0.into())),
            "d_vocab must be at least 1",
        ),
        (
            "heads.safetensors",
            Box::new(|m| edit_config(m, "n_heads", 3.into())),
            "n_heads",
        ),
        // Valid config, but far more parameters than the file holds: refused before
        // allocating 6 GB.
        (
            "huge.safetensors",
            Box::new(|m| {
                edit_config(m, "d_model", 4096.into());
                edit_config(m, "n_heads", 32.into());
                edit_config(m, "d_head", 128.into());
                edit_config(m, "n_layers", 8.into());
                edit_config(m, "d_mlp", 16384.into());
            }),
            "more than this",
        ),
        (
            "json.safetensors",
            Box::new(|m| {
                m.insert("config".into(), "{not json".into());
            }),
            "bad config JSON",
        ),
        (
            "tok.safetensors",
            Box::new(|m| {
                m.insert("tokenizer".into(), r#"{"kind": "bpe", "vocab": []}"#.into());
            }),
            "bad tokenizer JSON",
        ),
        (
            "tokbig.safetensors",
            Box::new(|m| {
                m.insert(
                    "tokenizer".into(),
                    r#"{"kind": "ids", "d_vocab": 6}"#.into(),
                );
            }),
            "the tokenizer has 6 tokens",
        ),
        (
            "noconfig.safetensors",
            Box::new(|m| {
                m.remove("config");
            }),
            "no \"config\"",
        ),
        (
            "version.safetensors",
            Box::new(|m| {
                m.insert("format_version".into(), "2".into());
            }),
            "format version 2",
        ),
    ];
    for (name, edit, needle) in cases {
        refused(&native_file(d, name, keep, edit, Dtype::F32), needle);
    }
    // Without our marker a .safetensors file is taken for Hugging Face's.
    let foreign = native_file(
        d,
        "foreign.safetensors",
        keep,
        |m| {
            m.remove("format");
        },
        Dtype::F32,
    );
    refused(&foreign, "no config.json beside");
    refused(
        &write(d, "junk.weights", b"definitely not a model"),
        "unknown format",
    );
    refused(&d.join("absent.safetensors"), "no such file");
}

// ---------- Hugging Face ----------

#[test]
fn hugging_face_checkpoints_that_are_broken_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(&empty, "no model.safetensors");
    let no_config = d.join("noconfig");
    std::fs::create_dir(&no_config).unwrap();
    std::fs::copy(
        fixture_dir().join("model.safetensors"),
        no_config.join("model.safetensors"),
    )
    .unwrap();
    refused(&no_config, "no config.json");

    let folder = |name: &str,
                  edit_tensors: &dyn Fn(&mut Vec<RawTensor>),
                  dtype: Dtype,
                  edit: &dyn Fn(&mut serde_json::Value)| {
        let mut tensors = fixture_tensors();
        edit_tensors(&mut tensors);
        write_hf_folder(&d.join(name), &tensors, dtype, edit)
    };
    let keep = |_: &mut Vec<RawTensor>| {};
    let same = |_: &mut serde_json::Value| {};

    let f = folder("emptyweights", &keep, Dtype::F32, &same);
    std::fs::write(f.join("model.safetensors"), b"").unwrap();
    refused(&f.join("model.safetensors"), "empty");
    let f = folder("cut", &keep, Dtype::F32, &same);
    let bytes = std::fs::read(f.join("model.safetensors")).unwrap();
    std::fs::write(f.join("model.safetensors"), &bytes[..bytes.len() - 10]).unwrap();
    refused(&f, "not a valid safetensors file");

    let config_cases: Vec<(&str, ConfigEdit, &str)> = vec![
        (
            "layers",
            Box::new(|c| c["n_layer"] = 1_000_000_000.into()),
            "n_layers",
        ),
        (
            "float",
            Box::new(|c| c["n_layer"] = 1e9.into()),
            "not a GPT-2 config",
        ),
        (
            "vocab0",
            Box::new(|c| c["vocab_size"] = 0.into()),
            "d_vocab must be at least 1",
        ),
        (
            "heads",
            Box::new(|c| c["n_head"] = 5.into()),
            "not a multiple of n_head",
        ),
        (
            "head0",
            Box::new(|c| c["n_head"] = 0.into()),
            "the head count must be positive",
        ),
        (
            "type",
            Box::new(|c| c["model_type"] = "mamba".into()),
            "model_type \"mamba\" is not supported (gpt2, llama",
        ),
        (
            "act",
            Box::new(|c| c["activation_function"] = "swish".into()),
            "swish",
        ),
        (
            "scale",
            Box::new(|c| c["scale_attn_by_inverse_layer_idx"] = true.into()),
            "scaling",
        ),
        (
            "nofield",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("n_embd");
            }),
            "n_embd",
        ),
        // Consistent-looking but larger than the tensors: refused by size, then by shape.
        (
            "wide",
            Box::new(|c| c["n_embd"] = 4096.into()),
            "more than this",
        ),
        (
            "vocab",
            Box::new(|c| c["vocab_size"] = 100.into()),
            "shape [96, 64], expected [100, 64]",
        ),
        (
            "deeper",
            Box::new(|c| c["n_layer"] = 3.into()),
            "missing tensor transformer.h.2.",
        ),
        (
            "shallower",
            Box::new(|c| c["n_layer"] = 1.into()),
            "layer 1, but config.json says n_layer = 1",
        ),
        (
            "untied",
            Box::new(|c| c["tie_word_embeddings"] = false.into()),
            "missing tensor lm_head.weight",
        ),
    ];
    for (name, edit, needle) in config_cases {
        refused(&folder(name, &keep, Dtype::F32, &*edit), needle);
    }
    let f = folder("badjson", &keep, Dtype::F32, &same);
    std::fs::write(f.join("config.json"), "{\"n_embd\": ").unwrap();
    refused(&f, "config.json: not JSON");

    refused(&folder("i32", &keep, Dtype::I32, &same), "dtype I32");
    let missing = |t: &mut Vec<RawTensor>| t.retain(|t| t.name != "transformer.h.1.ln_2.bias");
    refused(
        &folder("missing", &missing, Dtype::F32, &same),
        "missing tensor transformer.h.1.ln_2.bias",
    );
    let stray = |t: &mut Vec<RawTensor>| {
        let mut x = t[0].clone();
        x.name = "score.weight".into();
        t.push(x);
    };
    refused(
        &folder("stray", &stray, Dtype::F32, &same),
        "unexpected tensor score.weight",
    );
    let reshaped = |t: &mut Vec<RawTensor>| {
        let w = t
            .iter_mut()
            .find(|t| t.name == "transformer.h.0.attn.c_attn.weight")
            .unwrap();
        w.shape = vec![192, 64]; // nn.Linear layout instead of Conv1D
    };
    refused(
        &folder("linear", &reshaped, Dtype::F32, &same),
        "expected [64, 192]",
    );
}

// ---------- llm.c ----------

fn llmc_header(fields: [i32; 8]) -> Vec<u8> {
    let mut header = [0i32; 256];
    header[..8].copy_from_slice(&fields);
    header.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A valid tiny llm.c file: T=4, V=5 (padded 8), L=1, H=2, C=4.
fn tiny_llmc() -> Vec<u8> {
    let (c, l, vp, t) = (4usize, 1usize, 8usize, 4usize);
    let per_layer = 2 * c + 3 * c * c + 3 * c + c * c + c + 2 * c + 8 * c * c + 4 * c + c;
    let values = vp * c + t * c + l * per_layer + 2 * c;
    let mut bytes = llmc_header([20240326, 3, t as i32, 5, l as i32, 2, c as i32, vp as i32]);
    bytes.extend((0..values).flat_map(|i| (i as f32 * 0.01).to_le_bytes()));
    bytes
}

#[test]
fn llmc_checkpoints_that_are_broken_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = write(d, "good.bin", &tiny_llmc());
    assert!(load_any(&good).is_ok(), "the base file is valid");
    let good = tiny_llmc();
    let with = |index: usize, value: i32| {
        let mut bytes = good.clone();
        bytes[4 * index..4 * index + 4].copy_from_slice(&value.to_le_bytes());
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.bin", vec![], "empty"),
        (
            "short.bin",
            good[..1000].to_vec(),
            "shorter than the 1024-byte",
        ),
        ("magic.bin", with(0, 20240327), "bad magic number 20240327"),
        ("version.bin", with(1, 4), "unsupported llm.c version 4"),
        ("zero.bin", with(3, 0), "vocab_size) is 0"),
        ("negative.bin", with(4, -1), "num_layers) is -1"),
        ("pad.bin", with(7, 4), "padded_vocab_size 4 is smaller"),
        ("heads.bin", with(5, 3), "not a multiple of num_heads"),
        ("layers.bin", with(4, 1_000_000_000), "n_layers"),
        ("width.bin", with(6, 1 << 30), "d_model"),
        ("padhuge.bin", with(7, i32::MAX), "the header announces"),
        (
            "cut.bin",
            good[..good.len() - 4].to_vec(),
            "the header announces",
        ),
        (
            "long.bin",
            [&good[..], &[0u8; 4]].concat(),
            "the header announces",
        ),
    ];
    for (name, bytes, needle) in cases {
        refused(&write(d, name, &bytes), needle);
    }
}
