//! GPT-2's byte-level BPE tokenizer (placeholder structure; filled in by the loader work).

use serde::{Deserialize, Serialize};

use super::forward::TokenId;
use super::tokenizer::Encoding;

/// GPT-2's byte-level BPE: a vocabulary of byte strings and the ranked merges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpeTokenizer {
    /// Token strings in GPT-2's byte-to-unicode alphabet, in id order.
    pub vocab: Vec<String>,
    /// Merge rules, highest priority first.
    pub merges: Vec<(String, String)>,
}

impl BpeTokenizer {
    /// Number of tokens.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// Encodes text (to be implemented with the loaders).
    pub fn encode(&self, _text: &str) -> Encoding {
        Encoding::default()
    }

    /// The text of one token.
    pub fn decode_token(&self, id: TokenId) -> Option<String> {
        self.vocab.get(id as usize).cloned()
    }
}
