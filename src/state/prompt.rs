//! The prompt as the model sees it: its token ids, what could not be encoded, and whether
//! it was cut to the model's context.

use crate::model::TokenId;
use crate::model::tokenizer::{Tokenizer, UnknownPiece};

/// The prompt after tokenisation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptTokens {
    /// The ids the model runs on (at most `n_ctx`).
    pub ids: Vec<TokenId>,
    /// Pieces of the text outside the vocabulary; they are not in `ids`.
    pub unknown: Vec<UnknownPiece>,
    /// How many tokens the full prompt had when it was cut to `n_ctx`.
    pub cut_from: Option<usize>,
}

impl PromptTokens {
    /// Encodes `text` and keeps the first `n_ctx` tokens.
    pub fn encode(text: &str, tokenizer: &Tokenizer, n_ctx: usize) -> Self {
        let encoding = tokenizer.encode(text);
        let mut ids = encoding.ids;
        let cut_from = (ids.len() > n_ctx).then_some(ids.len());
        ids.truncate(n_ctx);
        Self {
            ids,
            unknown: encoding.unknown,
            cut_from,
        }
    }
}

/// A prompt that a tokenizer can encode, for a model that was just opened.
pub fn default_prompt(tokenizer: &Tokenizer) -> String {
    match tokenizer {
        Tokenizer::Ids { d_vocab } => {
            let ids: Vec<String> = (0..8).map(|i| (i * 7 % d_vocab).to_string()).collect();
            ids.join(" ")
        }
        Tokenizer::Word(word) => word
            .words
            .iter()
            .filter(|w| w.chars().all(char::is_alphabetic))
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
        Tokenizer::Char(chars) => {
            let wanted = "To be, or not to be: that is the question.";
            let pieces: String = wanted.chars().filter(|c| chars.chars.contains(c)).collect();
            if pieces.is_empty() {
                chars.chars.iter().take(12).collect()
            } else {
                pieces
            }
        }
        Tokenizer::Bpe(_) | Tokenizer::Hf(_) => {
            "The residual stream carries every token through the model".into()
        }
    }
}

/// The text to append to a prompt for one generated token.
pub fn append_token(prompt: &str, tokenizer: &Tokenizer, id: TokenId) -> String {
    let piece = tokenizer.decode_token(id);
    match tokenizer {
        Tokenizer::Word(_) | Tokenizer::Ids { .. } => {
            if prompt.trim_end().is_empty() {
                piece
            } else {
                format!("{} {piece}", prompt.trim_end())
            }
        }
        Tokenizer::Char(_) | Tokenizer::Bpe(_) | Tokenizer::Hf(_) => format!("{prompt}{piece}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tokenizer::CharTokenizer;

    #[test]
    fn long_prompts_are_cut_and_unknowns_kept() {
        let tokenizer = Tokenizer::Char(CharTokenizer::from_text("abc"));
        let prompt = PromptTokens::encode("abcxabca", &tokenizer, 5);
        assert_eq!(prompt.ids, vec![0, 1, 2, 0, 1]);
        assert_eq!(prompt.cut_from, Some(7));
        assert_eq!(prompt.unknown.len(), 1);
        assert_eq!(prompt.unknown[0].char_offset, 3);
        let short = PromptTokens::encode("ab", &tokenizer, 5);
        assert_eq!(short.cut_from, None);
    }

    #[test]
    fn default_prompts_encode_without_unknowns() {
        for tokenizer in [
            Tokenizer::Char(CharTokenizer::from_text("Tobe ")),
            Tokenizer::Ids { d_vocab: 5 },
        ] {
            let prompt = PromptTokens::encode(&default_prompt(&tokenizer), &tokenizer, 64);
            assert!(prompt.unknown.is_empty(), "{tokenizer:?}");
            assert!(!prompt.ids.is_empty());
        }
    }

    #[test]
    fn appending_respects_the_tokenizer() {
        let ids = Tokenizer::Ids { d_vocab: 10 };
        assert_eq!(append_token("1 2", &ids, 7), "1 2 7");
        let chars = Tokenizer::Char(CharTokenizer::from_text("ab "));
        assert_eq!(append_token("a", &chars, 0), "a ");
    }
}
