//! SAE folders in SAELens's format (`SAE.save_model` / `SAE.load_from_disk`, v6):
//!
//! - `cfg.json`: `d_in`, `d_sae`, `architecture` (`standard`, `topk`, `jumprelu`), `dtype`,
//!   `device`, `apply_b_dec_to_input`, `normalize_activations`, `reshape_activations`,
//!   `k` and `rescale_acts_by_decoder_norm` for TopK, and `metadata` (`hook_name`,
//!   `model_name`, `sae_lens_version`, …). Configs from before SAELens 6 (top-level
//!   `hook_name` or `hook_point`, `activation_fn: "topk"` with `activation_fn_kwargs.k`) are
//!   read too, as SAELens's `handle_pre_6_0_config` reads them.
//! - `sae_weights.safetensors`: `W_enc` [d_in, d_sae], `b_enc` [d_sae], `W_dec` [d_sae,
//!   d_in], `b_dec` [d_in], and `threshold` [d_sae] for JumpReLU; F32, F16 or BF16 (read as
//!   f32; written as F32).
//! - `residual_explorer.json` (optional, ours): what SAELens has no place for — the labels a
//!   user gives features, and how the SAE was trained.
//!
//! Both files are written atomically (temp file, fsync, rename). Every problem with a folder
//! is a [`SaeFileError`] naming the file; nothing here panics on bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use serde_json::{Map, Value, json};

use super::model::{Architecture, Normalization, Sae, SaeConfig};
use crate::model::io::atomic::write_atomic;
use crate::model::io::tensors::{
    EncodedTensor, MAX_CONFIG_BYTES, StorageDtype, TensorFile, read_small_file,
};

/// SAELens's config file name.
pub const CFG_FILE: &str = "cfg.json";
/// SAELens's weights file name.
pub const WEIGHTS_FILE: &str = "sae_weights.safetensors";
/// Our optional side file.
pub const SIDECAR_FILE: &str = "residual_explorer.json";
/// The SAELens version whose format we write (`metadata.sae_lens_version`: SAELens reads
/// configs without one, or older than 6, as the pre-6 format).
pub const SAE_LENS_FORMAT_VERSION: &str = "6.0.0";
/// Largest SAE read: d_in · d_sae at most this (GPT-2-small's 24,576-wide SAEs are 19 M).
pub const MAX_MATRIX_VALUES: usize = 1 << 28;

/// Why an SAE folder could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SaeFileError {
    /// A file is missing or unreadable.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// `cfg.json` is not what SAELens writes.
    #[error("{path}: {message}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The weights do not match the config.
    #[error("{path}: {message}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What SAELens has no place for, kept in `residual_explorer.json`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sidecar {
    /// Feature index → the label a user gave it.
    #[serde(default)]
    pub labels: BTreeMap<usize, String>,
    /// How the SAE was trained (settings and final figures), free-form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<Value>,
}

/// An SAE folder's contents.
#[derive(Clone, Debug)]
pub struct SaeFolder {
    /// The SAE.
    pub sae: Sae<f32>,
    /// The side file, or its default when absent.
    pub sidecar: Sidecar,
}

/// `cfg.json`'s contents for `config`, as SAELens 6 writes them.
pub fn cfg_json(config: &SaeConfig) -> Value {
    let mut metadata = config.metadata.clone();
    metadata
        .entry("sae_lens_version")
        .or_insert_with(|| json!(SAE_LENS_FORMAT_VERSION));
    metadata
        .entry("sae_lens_training_version")
        .or_insert_with(|| json!(SAE_LENS_FORMAT_VERSION));
    let mut cfg = json!({
        "d_in": config.d_in,
        "d_sae": config.d_sae,
        "dtype": "float32",
        "device": "cpu",
        "apply_b_dec_to_input": config.apply_b_dec_to_input,
        "normalize_activations": config.normalize_activations.name(),
        "reshape_activations": "none",
        "metadata": metadata,
        "architecture": config.architecture.name(),
    });
    if let Architecture::TopK { k } = config.architecture {
        cfg["k"] = json!(k);
        cfg["rescale_acts_by_decoder_norm"] = json!(config.rescale_acts_by_decoder_norm);
    }
    cfg
}

/// Saves `sae` into folder `dir` (created if needed): `cfg.json`, `sae_weights.safetensors`
/// and, when given, `residual_explorer.json`; each file atomically.
pub fn save(dir: &Path, sae: &Sae<f32>, sidecar: Option<&Sidecar>) -> Result<(), SaeFileError> {
    let io = |path: &Path, e: &dyn std::fmt::Display| SaeFileError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let mut tensors: Vec<(&str, EncodedTensor)> = vec![
        (
            "W_enc",
            encode(sae.w_enc().iter(), &[sae.config.d_in, sae.config.d_sae]),
        ),
        ("b_enc", encode(sae.b_enc.iter(), &[sae.config.d_sae])),
        (
            "W_dec",
            encode(sae.w_dec.iter(), &[sae.config.d_sae, sae.config.d_in]),
        ),
        ("b_dec", encode(sae.b_dec.iter(), &[sae.config.d_in])),
    ];
    if let Some(threshold) = &sae.threshold {
        tensors.push(("threshold", encode(threshold.iter(), &[sae.config.d_sae])));
    }
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (*n, t)), None)
        .map_err(|e| io(&weights_path, &e))?;
    write_atomic(&weights_path, &bytes).map_err(|e| io(&weights_path, &e))?;
    let cfg_path = dir.join(CFG_FILE);
    let cfg = serde_json::to_vec_pretty(&cfg_json(&sae.config)).map_err(|e| io(&cfg_path, &e))?;
    write_atomic(&cfg_path, &cfg).map_err(|e| io(&cfg_path, &e))?;
    if let Some(sidecar) = sidecar {
        save_sidecar(dir, sidecar)?;
    }
    Ok(())
}

/// Writes `residual_explorer.json` into `dir` atomically (the labels a user typed).
pub fn save_sidecar(dir: &Path, sidecar: &Sidecar) -> Result<(), SaeFileError> {
    let path = dir.join(SIDECAR_FILE);
    let bytes = serde_json::to_vec_pretty(sidecar).map_err(|e| SaeFileError::Io {
        path: path.clone(),
        message: e.to_string(),
    })?;
    write_atomic(&path, &bytes).map_err(|e| SaeFileError::Io {
        path,
        message: e.to_string(),
    })
}

fn encode<'a>(values: impl Iterator<Item = &'a f32>, shape: &[usize]) -> EncodedTensor {
    EncodedTensor::new(values.copied(), shape, StorageDtype::F32)
}

/// Loads an SAE folder (SAELens's, or ours).
pub fn load(dir: &Path) -> Result<SaeFolder, SaeFileError> {
    let cfg_path = dir.join(CFG_FILE);
    let bytes = read_small_file(&cfg_path, MAX_CONFIG_BYTES).map_err(|e| SaeFileError::Io {
        path: cfg_path.clone(),
        message: e.message,
    })?;
    let config = parse_cfg(&bytes).map_err(|message| SaeFileError::Config {
        path: cfg_path.clone(),
        message,
    })?;
    let sae = read_weights(&dir.join(WEIGHTS_FILE), config)?;
    let sidecar_path = dir.join(SIDECAR_FILE);
    let sidecar = if sidecar_path.exists() {
        let bytes =
            read_small_file(&sidecar_path, MAX_CONFIG_BYTES).map_err(|e| SaeFileError::Io {
                path: sidecar_path.clone(),
                message: e.message,
            })?;
        serde_json::from_slice(&bytes).map_err(|e| SaeFileError::Config {
            path: sidecar_path.clone(),
            message: format!("not a valid {SIDECAR_FILE}: {e}"),
        })?
    } else {
        Sidecar::default()
    };
    Ok(SaeFolder { sae, sidecar })
}

/// Parses `cfg.json`'s bytes into an [`SaeConfig`], or says what is wrong.
pub fn parse_cfg(bytes: &[u8]) -> Result<SaeConfig, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let cfg = value
        .as_object()
        .ok_or("the config must be a JSON object")?;
    let size = |key: &str| -> Result<usize, String> {
        let v = cfg.get(key).ok_or(format!("missing \"{key}\""))?;
        v.as_u64()
            .filter(|&n| n >= 1)
            .map(|n| n as usize)
            .ok_or(format!("\"{key}\" must be a positive integer, not {v}"))
    };
    let (d_in, d_sae) = (size("d_in")?, size("d_sae")?);
    if d_in
        .checked_mul(d_sae)
        .is_none_or(|n| n > MAX_MATRIX_VALUES)
    {
        return Err(format!(
            "d_in {d_in} × d_sae {d_sae} is larger than this program reads ({MAX_MATRIX_VALUES} values)"
        ));
    }
    let text = |key: &str| cfg.get(key).and_then(Value::as_str);
    let pre_6_topk = text("activation_fn") == Some("topk");
    let architecture_name =
        text("architecture").unwrap_or(if pre_6_topk { "topk" } else { "standard" });
    let architecture = match architecture_name {
        "standard" => Architecture::Standard,
        "jumprelu" => Architecture::JumpRelu,
        "topk" => {
            let k = cfg
                .get("k")
                .or_else(|| cfg.get("activation_fn_kwargs").and_then(|kw| kw.get("k")))
                .ok_or("a topk SAE needs \"k\"")?;
            let k = k
                .as_u64()
                .filter(|&k| k >= 1 && k as usize <= d_sae)
                .ok_or(format!("\"k\" must be an integer in 1..={d_sae}, not {k}"))?;
            Architecture::TopK { k: k as usize }
        }
        other => {
            return Err(format!(
                "architecture \"{other}\" is not supported: standard, topk and jumprelu are"
            ));
        }
    };
    let flag = |key: &str, default: bool| -> Result<bool, String> {
        match cfg.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("\"{key}\" must be true or false, not {other}")),
        }
    };
    let normalize_activations = match cfg.get("normalize_activations") {
        None | Some(Value::Null) => Normalization::None,
        // Before SAELens 6 a boolean: true meant expected_average_only_in.
        Some(Value::Bool(false)) => Normalization::None,
        Some(Value::Bool(true)) => Normalization::ExpectedAverageOnlyIn,
        Some(Value::String(name)) => Normalization::ALL
            .iter()
            .find(|(_, n)| n == name)
            .map(|(n, _)| *n)
            .ok_or(format!(
                "normalize_activations \"{name}\" is not one of none, expected_average_only_in, \
                 constant_norm_rescale, layer_norm"
            ))?,
        Some(other) => {
            return Err(format!(
                "normalize_activations must be a string, not {other}"
            ));
        }
    };
    if let Some(reshape) = text("reshape_activations").filter(|r| *r != "none") {
        return Err(format!(
            "reshape_activations \"{reshape}\" (an SAE on hook_z) is not supported"
        ));
    }
    if flag("finetuning_scaling_factor", false)? {
        return Err("finetuning_scaling_factor SAEs are not supported".into());
    }
    let mut metadata = match cfg.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(format!("\"metadata\" must be an object, not {other}")),
    };
    // Before SAELens 6 these sat at the top level (hook_point before hook_name).
    for (old, new) in [
        ("hook_point", "hook_name"),
        ("hook_name", "hook_name"),
        ("model_name", "model_name"),
        ("context_size", "context_size"),
        ("dataset_path", "dataset_path"),
    ] {
        if let Some(v) = cfg.get(old)
            && !metadata.contains_key(new)
        {
            metadata.insert(new.to_string(), v.clone());
        }
    }
    if let Some(hook) = metadata.get("hook_name")
        && !hook.is_string()
        && !hook.is_null()
    {
        return Err(format!("metadata.hook_name must be a string, not {hook}"));
    }
    Ok(SaeConfig {
        d_in,
        d_sae,
        architecture,
        apply_b_dec_to_input: flag("apply_b_dec_to_input", true)?,
        normalize_activations,
        rescale_acts_by_decoder_norm: matches!(architecture, Architecture::TopK { .. })
            && flag("rescale_acts_by_decoder_norm", false)?,
        metadata,
    })
}

/// Reads the weights `config` describes from `path`.
fn read_weights(path: &Path, config: SaeConfig) -> Result<Sae<f32>, SaeFileError> {
    let bad = |message: String| SaeFileError::Weights {
        path: path.to_path_buf(),
        message,
    };
    let file = TensorFile::open(path).map_err(|e| SaeFileError::Io {
        path: path.to_path_buf(),
        message: e.message,
    })?;
    let (d_in, d_sae) = (config.d_in, config.d_sae);
    // Shapes are checked against the header before anything of that size is allocated.
    let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>, SaeFileError> {
        match file.shape(name) {
            None => Err(bad(format!("missing tensor {name}"))),
            Some(found) if found != shape => Err(bad(format!(
                "tensor {name} has shape {found:?}, but cfg.json (d_in {d_in}, d_sae {d_sae}) \
                 calls for {shape:?}"
            ))),
            Some(_) => file.read_f32(path, name, shape).map_err(|e| bad(e.message)),
        }
    };
    let matrix = |name: &str, shape: (usize, usize)| -> Result<Array2<f32>, SaeFileError> {
        let values = read(name, &[shape.0, shape.1])?;
        Array2::from_shape_vec(shape, values).map_err(|e| bad(e.to_string()))
    };
    let vector = |name: &str, len: usize| read(name, &[len]).map(Array1::from);
    if file.contains("scaling_factor") {
        let factor = vector("scaling_factor", d_sae)?;
        if factor.iter().any(|&f| f != 1.0) {
            return Err(bad(
                "a scaling_factor other than 1 (finetuning scaling) is not supported".into(),
            ));
        }
    }
    let w_enc = matrix("W_enc", (d_in, d_sae))?;
    let sae = Sae {
        w_enc_t: w_enc.t().as_standard_layout().into_owned(),
        b_enc: vector("b_enc", d_sae)?,
        w_dec: matrix("W_dec", (d_sae, d_in))?,
        b_dec: vector("b_dec", d_in)?,
        threshold: match config.architecture {
            Architecture::JumpRelu => Some(vector("threshold", d_sae)?),
            _ => None,
        },
        config,
    };
    let finite = [
        ("W_enc", sae.w_enc_t.iter().all(|v| v.is_finite())),
        ("b_enc", sae.b_enc.iter().all(|v| v.is_finite())),
        ("W_dec", sae.w_dec.iter().all(|v| v.is_finite())),
        ("b_dec", sae.b_dec.iter().all(|v| v.is_finite())),
    ];
    if let Some((name, _)) = finite.iter().find(|(_, ok)| !ok) {
        return Err(bad(format!("tensor {name} holds NaN or infinite values")));
    }
    Ok(sae)
}

/// The metadata this program writes for an SAE trained on `hook_name` of `model_name`.
pub fn training_metadata(
    model_name: &str,
    hook_name: &str,
    context_size: usize,
    dataset: &str,
) -> Map<String, Value> {
    let metadata = json!({
        "model_name": model_name,
        "hook_name": hook_name,
        "hook_head_index": null,
        "context_size": context_size,
        "prepend_bos": false,
        "dataset_path": dataset,
    });
    match metadata {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
