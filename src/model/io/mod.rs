//! Weight files: the native `.safetensors` format, Hugging Face GPT-2 checkpoints, and
//! llm.c checkpoints, plus the embedded default model. Every loader checks sizes against the
//! file before allocating and returns a [`LoadError`] naming the file and the problem; none
//! panics on bad input. Every loader also has a form taking bytes, which the fuzzers call.
//!
//! | module | reads | writes |
//! | --- | --- | --- |
//! | [`native`] | our `.safetensors` (config + tokenizer in `__metadata__`) | yes, atomically, f32 or f16 |
//! | [`hf`] | a Hugging Face GPT-2 folder, or its `.safetensors` + `config.json` | no |
//! | [`hf_arch`], [`hf_families`] | Llama, Qwen2, Qwen3, Gemma-3, GPT-NeoX, GPT-Neo folders (one file or shards) | no |
//! | [`llmc`] | llm.c `.bin` checkpoints (version 3 fp32, version 5 bf16) | version 3 |
//! | [`hf_tokenizer`] | `tokenizer.json`, or `vocab.json` + `merges.txt` | no |
//! | [`embedded`] | the default model compiled into the binary | no |

pub mod atomic;
pub mod embedded;
pub mod fuzzing;
pub mod hf;
pub mod hf_arch;
pub mod hf_families;
pub mod hf_tokenizer;
pub mod llmc;
pub mod native;
pub mod tensors;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::params::Params;
use super::tokenizer::Tokenizer;
pub use tensors::LoadProgress;

/// A model ready to run: its weights, its tokenizer, and where it came from.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    /// The weights (and config).
    pub params: Params<f32>,
    /// How text becomes tokens.
    pub tokenizer: Tokenizer,
    /// A short name for the title bar.
    pub name: String,
    /// The file or folder it came from (`None` for the embedded model).
    pub source: Option<PathBuf>,
}

/// Why a weight file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// The file or folder.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl LoadError {
    /// An error about `path`.
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// Why a weight file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot save {path}: {message}")]
pub struct SaveError {
    /// The file that was to be written.
    pub path: String,
    /// What went wrong; the file at `path` is left as it was.
    pub message: String,
}

impl SaveError {
    /// An error about `path`.
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// Loads any supported weight file or folder, choosing the format from what is there:
/// a folder is a Hugging Face checkpoint; a `.bin` file an llm.c checkpoint; a
/// `.safetensors` file is native when its metadata carries our marker, else Hugging Face
/// (with `config.json` beside it). Other names are recognised by their first bytes.
pub fn load_any(path: &Path) -> Result<LoadedModel, LoadError> {
    load_any_reporting(path, &Arc::new(LoadProgress::default()))
}

/// [`load_any`], counting the weight bytes read in `progress` (for a progress bar).
pub fn load_any_reporting(
    path: &Path,
    progress: &Arc<LoadProgress>,
) -> Result<LoadedModel, LoadError> {
    if !path.exists() {
        return Err(LoadError::new(path, "no such file or folder"));
    }
    if path.is_dir() {
        return load_hf_folder(path, progress);
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file_name == "config.json" || file_name.ends_with(".safetensors.index.json") {
        return load_hf_folder(&hf_families::checkpoint_folder(path), progress);
    }
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if extension.as_deref() == Some("bin") {
        return llmc::load_llmc(path);
    }
    // A modern family's weights are read tensor by tensor, never whole.
    let folder = hf_families::checkpoint_folder(path);
    if extension.as_deref() == Some("safetensors") && hf_family(&folder)?.is_some() {
        return hf_families::load_family_reporting(&folder, progress);
    }
    let bytes = tensors::read_file(path)?;
    progress.expect(bytes.len() as u64);
    progress.advance(bytes.len() as u64);
    if extension.as_deref() != Some("safetensors") && llmc::has_magic(&bytes) {
        return llmc::load_llmc_from(path, &bytes);
    }
    if native::is_native(&bytes) {
        return native::load_native_bytes(&bytes, path);
    }
    if extension.as_deref() == Some("safetensors") || tensors::looks_like_safetensors(&bytes) {
        let folder = hf_families::checkpoint_folder(path);
        if hf_family(&folder)?.is_some() {
            return hf_families::load_family(&folder);
        }
        return hf::load_gpt2_with_weights(path, &bytes);
    }
    Err(LoadError::new(
        path,
        "unknown format: expected a .safetensors file, a Hugging Face GPT-2 folder or an \
         llm.c .bin checkpoint",
    ))
}

/// The modern family (`llama`, `gemma3_text`, …) of the checkpoint in `folder`, or `None`
/// for GPT-2 and for a folder without config.json.
fn hf_family(folder: &Path) -> Result<Option<String>, LoadError> {
    let config = folder.join("config.json");
    if !config.is_file() {
        return Ok(None);
    }
    let json = hf_families::read_config_json(&config)?;
    Ok(hf_arch::model_type(&json)
        .filter(|kind| *kind != "gpt2")
        .map(str::to_string))
}

/// Loads a Hugging Face checkpoint folder of any supported family.
fn load_hf_folder(folder: &Path, progress: &Arc<LoadProgress>) -> Result<LoadedModel, LoadError> {
    match hf_family(folder)? {
        Some(_) => hf_families::load_family_reporting(folder, progress),
        None => hf::load_gpt2(folder),
    }
}

/// Loads a model from bytes alone (no files beside it): a native `.safetensors` buffer or an
/// llm.c checkpoint, recognised by content. `label` names the source in errors.
pub fn load_bytes(bytes: &[u8], label: &Path) -> Result<LoadedModel, LoadError> {
    if llmc::has_magic(bytes) {
        let params = llmc::load_llmc_bytes(bytes, label)?;
        let d_vocab = params.config.d_vocab;
        return Ok(LoadedModel {
            params,
            tokenizer: Tokenizer::Ids { d_vocab },
            name: display_name(label),
            source: None,
        });
    }
    let mut model = native::load_native_bytes(bytes, label)?;
    model.source = None;
    Ok(model)
}

/// The file or folder name without extension, for the title bar.
pub(crate) fn display_name(path: &Path) -> String {
    path.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| path.display().to_string())
}
