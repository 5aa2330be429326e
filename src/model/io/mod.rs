//! Weight files: the native `.safetensors` format, Hugging Face GPT-2 checkpoints, and
//! llm.c checkpoints. Every loader checks sizes against the file before allocating and
//! returns a [`LoadError`] naming the file and the problem; none panics on bad input.

pub mod hf;
pub mod hf_tokenizer;
pub mod tensors;

use std::path::{Path, PathBuf};

use super::params::Params;
use super::tokenizer::Tokenizer;

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

/// Loads any supported weight file or folder, choosing the format from what is there.
pub fn load_any(path: &Path) -> Result<LoadedModel, LoadError> {
    if !path.exists() {
        return Err(LoadError::new(path, "no such file or folder"));
    }
    hf::load_gpt2(path)
}
