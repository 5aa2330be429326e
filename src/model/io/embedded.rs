//! The default model compiled into the binary: `models/default.safetensors` (see
//! models/README.md for how it is made). Any format [`super::load_bytes`] recognises may sit
//! there; replacing the file is enough to ship another model.
//!
//! A damaged embedded file does not stop the program: [`default_model`] falls back to the
//! seeded random model of the lesson shape and prints a warning.

use std::path::Path;

use super::{LoadError, LoadedModel, load_bytes};
use crate::model::config::ModelConfig;
use crate::model::params::{InitOptions, Params};
use crate::model::tokenizer::{CharTokenizer, Tokenizer};

/// The bytes of `models/default.safetensors`.
pub static DEFAULT_MODEL_BYTES: &[u8] = include_bytes!("../../../models/default.safetensors");

/// The characters of data/shakespeare.txt, sorted: the vocabulary of the lesson models
/// (a test checks this against the corpus).
pub const LESSON_CHARS: &str = "\n !&',-.:;?ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwxyz";

/// The name shown for the seeded random model.
pub const RANDOM_MODEL_NAME: &str = "lesson shape, random weights (seed 0)";

/// The embedded default model, or an error saying why it cannot be read.
pub fn try_default_model() -> Result<LoadedModel, LoadError> {
    load_bytes(DEFAULT_MODEL_BYTES, Path::new("<embedded default model>"))
}

/// The embedded default model; if it cannot be read, the seeded random lesson model, with a
/// warning on stderr.
pub fn default_model() -> LoadedModel {
    match try_default_model() {
        Ok(model) => model,
        Err(error) => {
            eprintln!("warning: {error}; using a random model of the lesson shape instead");
            seeded_lesson_model(CharTokenizer {
                chars: LESSON_CHARS.chars().collect(),
            })
        }
    }
}

/// A model of the `lesson` shape with one token per character of `tokenizer`, initialised
/// with seed 0: what models/default.safetensors holds until a trained model replaces it.
pub fn seeded_lesson_model(tokenizer: CharTokenizer) -> LoadedModel {
    let config = ModelConfig::lesson(tokenizer.chars.len().max(1));
    let params = Params::init(&config, InitOptions::default())
        .expect("the lesson shape with a character vocabulary is a valid config");
    LoadedModel {
        params,
        tokenizer: Tokenizer::Char(tokenizer),
        name: RANDOM_MODEL_NAME.to_string(),
        source: None,
    }
}
