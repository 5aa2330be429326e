//! The native weight format: one `.safetensors` file that any safetensors reader (Python's
//! included) can open.
//!
//! - Tensors are named exactly as [`Params::for_each_tensor`] names them (TransformerLens
//!   names: `embed.W_E` [d_vocab, d_model], `blocks.0.attn.W_Q` [n_heads, d_model, d_head],
//!   …), stored as F32, or F16 to halve the size; loading converts either to f32.
//! - `__metadata__` holds string values: `format` = [`FORMAT_MARKER`], `format_version`,
//!   `config` (the `ModelConfig` JSON), `tokenizer` (the `Tokenizer` JSON) and `name`.
//! - Saving is atomic (see [`super::atomic`]): a crash never leaves a half-written model.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::atomic::write_atomic;
use super::tensors::{EncodedTensor, StorageDtype, TensorFile, check_fits, read_file};
use super::{LoadError, LoadedModel, SaveError, display_name};
use crate::model::config::ModelConfig;
use crate::model::params::{Params, tensor_shapes_of};
use crate::model::tokenizer::Tokenizer;

/// The `format` metadata value that marks a native file.
pub const FORMAT_MARKER: &str = "residual-explorer";
/// The version written; files with a higher version are refused with a message.
pub const FORMAT_VERSION: u32 = 1;

const KEY_FORMAT: &str = "format";
const KEY_VERSION: &str = "format_version";
const KEY_CONFIG: &str = "config";
const KEY_TOKENIZER: &str = "tokenizer";
const KEY_NAME: &str = "name";

/// Serializes a model to the bytes of a native file.
pub fn native_bytes(model: &LoadedModel, dtype: StorageDtype) -> Result<Vec<u8>, String> {
    let params = &model.params;
    params.config.validate().map_err(|e| e.to_string())?;
    let mut tensors = Vec::new();
    params.for_each_tensor(|name, tensor| {
        // `iter` walks a view in logical (row-major) order whatever its memory layout.
        let encoded = EncodedTensor::new(tensor.iter().copied(), tensor.shape(), dtype);
        tensors.push((name, encoded));
    });
    let metadata = HashMap::from([
        (KEY_FORMAT.to_string(), FORMAT_MARKER.to_string()),
        (KEY_VERSION.to_string(), FORMAT_VERSION.to_string()),
        (
            KEY_CONFIG.to_string(),
            serde_json::to_string(&params.config).map_err(|e| e.to_string())?,
        ),
        (
            KEY_TOKENIZER.to_string(),
            serde_json::to_string(&model.tokenizer).map_err(|e| e.to_string())?,
        ),
        (KEY_NAME.to_string(), model.name.clone()),
    ]);
    let views = tensors.iter().map(|(name, t)| (name.as_str(), t));
    safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())
}

/// Saves a model in the native format with f32 tensors, atomically.
pub fn save_native(path: &Path, model: &LoadedModel) -> Result<(), SaveError> {
    save_native_as(path, model, StorageDtype::F32)
}

/// Saves a model in the native format with the given tensor storage, atomically (temp file
/// in the same folder, write, fsync, rename).
pub fn save_native_as(
    path: &Path,
    model: &LoadedModel,
    dtype: StorageDtype,
) -> Result<(), SaveError> {
    let bytes = native_bytes(model, dtype).map_err(|e| SaveError::new(path, e))?;
    write_atomic(path, &bytes).map_err(|e| SaveError::new(path, e.to_string()))
}

/// Loads a native file.
pub fn load_native(path: &Path) -> Result<LoadedModel, LoadError> {
    let bytes = read_file(path)?;
    load_native_bytes(&bytes, path)
}

/// Whether a buffer's safetensors header carries our format marker. Only the header is
/// read, so a file whose data is damaged is still recognised (and then refused by
/// [`load_native_bytes`] with the reason).
pub fn is_native(bytes: &[u8]) -> bool {
    let Some(length) = bytes.get(..8) else {
        return false;
    };
    let n = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    let Some(header) = usize::try_from(n)
        .ok()
        .and_then(|n| bytes.get(8..n.checked_add(8)?))
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(header)
        .ok()
        .and_then(|h| {
            h.get("__metadata__")?
                .get(KEY_FORMAT)?
                .as_str()
                .map(str::to_owned)
        })
        .is_some_and(|marker| marker == FORMAT_MARKER)
}

/// Loads a native file from its bytes; `label` names it in errors and becomes its source.
pub fn load_native_bytes(bytes: &[u8], label: &Path) -> Result<LoadedModel, LoadError> {
    let err = |message: String| LoadError::new(label, message);
    let file = TensorFile::parse(label, bytes)?;
    let meta = &file.metadata;
    match meta.get(KEY_FORMAT) {
        Some(marker) if marker == FORMAT_MARKER => {}
        found => {
            return Err(err(format!(
                "not a native model file (metadata \"{KEY_FORMAT}\" is {found:?}, not \
                 {FORMAT_MARKER:?}); a Hugging Face checkpoint needs its config.json beside it"
            )));
        }
    }
    let version: u32 = meta
        .get(KEY_VERSION)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| err(format!("missing or unreadable \"{KEY_VERSION}\"")))?;
    if version == 0 || version > FORMAT_VERSION {
        return Err(err(format!(
            "format version {version}; this program reads versions 1 to {FORMAT_VERSION}"
        )));
    }
    let config_json = meta
        .get(KEY_CONFIG)
        .ok_or_else(|| err(format!("no \"{KEY_CONFIG}\" in the metadata")))?;
    let config: ModelConfig = serde_json::from_str(config_json)
        .map_err(|e| err(format!("bad config JSON in the metadata: {e}")))?;
    config.validate().map_err(|e| err(e.to_string()))?;
    let tokenizer_json = meta
        .get(KEY_TOKENIZER)
        .ok_or_else(|| err(format!("no \"{KEY_TOKENIZER}\" in the metadata")))?;
    let tokenizer: Tokenizer = serde_json::from_str(tokenizer_json)
        .map_err(|e| err(format!("bad tokenizer JSON in the metadata: {e}")))?;
    check_tokenizer(&tokenizer, &config).map_err(err)?;
    // F16 is the smallest storage we write: 2 bytes per parameter at least.
    check_fits(
        label,
        config.parameter_count(),
        2,
        bytes.len(),
        "the config",
    )?;
    check_names(&file, &config).map_err(err)?;
    let params = Params::from_named_tensors(&config, |name, shape| {
        file.read_f32(label, name, shape).map_err(|e| e.message)
    })
    .map_err(err)?;
    let name = meta
        .get(KEY_NAME)
        .filter(|n| !n.trim().is_empty())
        .cloned()
        .unwrap_or_else(|| display_name(label));
    Ok(LoadedModel {
        params,
        tokenizer,
        name,
        source: Some(label.to_path_buf()),
    })
}

/// The tokenizer must not produce ids the model does not have.
fn check_tokenizer(tokenizer: &Tokenizer, config: &ModelConfig) -> Result<(), String> {
    let size = tokenizer.vocab_size();
    if size == 0 || size > config.d_vocab {
        return Err(format!(
            "the tokenizer has {size} tokens but the model's d_vocab is {}",
            config.d_vocab
        ));
    }
    Ok(())
}

/// Every tensor in the file must be one the config expects (missing ones are reported
/// while reading, with their names).
fn check_names(file: &TensorFile<'_>, config: &ModelConfig) -> Result<(), String> {
    let expected: HashSet<String> = expected_names(config).into_iter().collect();
    let mut unexpected: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !expected.contains(n))
        .collect();
    unexpected.sort();
    match unexpected.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "unexpected tensor {first} ({} tensor(s) not described by the config)",
            unexpected.len()
        )),
    }
}

/// The names [`Params::for_each_tensor`] gives for a config, without allocating weights.
fn expected_names(config: &ModelConfig) -> Vec<String> {
    tensor_shapes_of(config)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::InitOptions;

    #[test]
    fn expected_names_match_params_for_every_variant() {
        for (attn_only, tied, bias, final_norm) in [
            (false, true, false, true),
            (true, false, true, false),
            (false, false, false, true),
        ] {
            let mut config = ModelConfig::lesson(7);
            config.n_layers = 2;
            config.attn_only = attn_only;
            config.tied_unembed = tied;
            config.unembed_bias = bias;
            config.final_norm = final_norm;
            let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
            let from_params: Vec<String> =
                params.tensor_shapes().into_iter().map(|(n, _)| n).collect();
            assert_eq!(expected_names(&config), from_params);
        }
    }
}
