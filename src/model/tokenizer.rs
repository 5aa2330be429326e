//! Tokenizers: character-level, word-level, raw ids, GPT-2's byte-level BPE, and any
//! Hugging Face `tokenizer.json` (Llama, Qwen, Gemma, Pythia, GPT-Neo, ...).
//!
//! A tokenizer turns text into token ids and back, reports what it could not encode instead
//! of dropping it silently, and gives each token a display form with whitespace made visible
//! (`␣` for a space, `⏎` for a newline, `⇥` for a tab) and stray bytes shown as `⟨E4⟩`.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::forward::TokenId;
use crate::i18n::{Language, ModelText};

/// Text that could not be encoded: the piece and its character offset in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPiece {
    /// Offset of the piece in the input, in characters.
    pub char_offset: usize,
    /// The piece itself.
    pub text: String,
}

/// The result of encoding a text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoding {
    /// Ids of the pieces that could be encoded, in order.
    pub ids: Vec<TokenId>,
    /// Pieces that are not in the vocabulary (left out of `ids`).
    pub unknown: Vec<UnknownPiece>,
}

/// A character-level vocabulary: token id `i` is `chars[i]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharTokenizer {
    /// The characters, in id order.
    pub chars: Vec<char>,
}

/// A word-level vocabulary: text is split into words and punctuation marks, lower-cased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordTokenizer {
    /// The words, in id order.
    pub words: Vec<String>,
}

/// How a model turns text into tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tokenizer {
    /// One token per character.
    Char(CharTokenizer),
    /// One token per word or punctuation mark.
    Word(WordTokenizer),
    /// No text: the input is a list of ids and tokens display as their ids.
    Ids {
        /// Vocabulary size.
        d_vocab: usize,
    },
    /// GPT-2's byte-level BPE (see `bpe.rs`).
    Bpe(super::bpe::BpeTokenizer),
    /// A Hugging Face `tokenizer.json`, run by the `tokenizers` crate (see `hf_tokenizer.rs`).
    Hf(super::hf_tokenizer::HfTokenizer),
}

impl CharTokenizer {
    /// The sorted set of characters in `text`.
    pub fn from_text(text: &str) -> Self {
        let set: BTreeSet<char> = text.chars().collect();
        Self {
            chars: set.into_iter().collect(),
        }
    }

    fn encode(&self, text: &str) -> Encoding {
        let index: HashMap<char, TokenId> = self
            .chars
            .iter()
            .enumerate()
            .map(|(i, &ch)| (ch, i as TokenId))
            .collect();
        let mut encoding = Encoding::default();
        for (char_offset, ch) in text.chars().enumerate() {
            match index.get(&ch) {
                Some(&id) => encoding.ids.push(id),
                None => encoding.unknown.push(UnknownPiece {
                    char_offset,
                    text: ch.to_string(),
                }),
            }
        }
        encoding
    }
}

impl WordTokenizer {
    /// Every distinct word of `text`, sorted, as split by [`WordTokenizer::split`].
    pub fn from_text(text: &str) -> Self {
        let set: BTreeSet<String> = Self::split(text).into_iter().map(|(_, w)| w).collect();
        Self {
            words: set.into_iter().collect(),
        }
    }

    /// Splits text into lower-case words and single punctuation marks, with their character
    /// offsets; whitespace separates and is dropped.
    pub fn split(text: &str) -> Vec<(usize, String)> {
        let mut pieces = Vec::new();
        let mut current = String::new();
        let mut start = 0;
        for (offset, ch) in text.chars().enumerate() {
            if ch.is_alphanumeric() || ch == '\'' {
                if current.is_empty() {
                    start = offset;
                }
                current.extend(ch.to_lowercase());
                continue;
            }
            if !current.is_empty() {
                pieces.push((start, std::mem::take(&mut current)));
            }
            if !ch.is_whitespace() {
                pieces.push((offset, ch.to_string()));
            }
        }
        if !current.is_empty() {
            pieces.push((start, current));
        }
        pieces
    }

    fn encode(&self, text: &str) -> Encoding {
        let index: HashMap<&str, TokenId> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.as_str(), i as TokenId))
            .collect();
        let mut encoding = Encoding::default();
        for (char_offset, word) in Self::split(text) {
            match index.get(word.as_str()) {
                Some(&id) => encoding.ids.push(id),
                None => encoding.unknown.push(UnknownPiece {
                    char_offset,
                    text: word,
                }),
            }
        }
        encoding
    }
}

impl Tokenizer {
    /// Number of token ids.
    pub fn vocab_size(&self) -> usize {
        match self {
            Tokenizer::Char(t) => t.chars.len(),
            Tokenizer::Word(t) => t.words.len(),
            Tokenizer::Ids { d_vocab } => *d_vocab,
            Tokenizer::Bpe(t) => t.vocab_size(),
            Tokenizer::Hf(t) => t.vocab_size(),
        }
    }

    /// A short name for the kind of tokenizer, in English (the command line's language).
    pub fn kind(&self) -> &'static str {
        self.kind_in(Language::En)
    }

    /// A short name for the kind of tokenizer, in `language`.
    pub fn kind_in(&self, language: Language) -> &'static str {
        match self {
            Tokenizer::Char(_) => ModelText::CharacterTokens.text(language),
            Tokenizer::Word(_) => ModelText::WordTokens.text(language),
            Tokenizer::Ids { .. } => ModelText::RawIds.text(language),
            Tokenizer::Bpe(_) => ModelText::Gpt2Bpe.text(language),
            Tokenizer::Hf(t) => t.kind_in(language),
        }
    }

    /// Whether text can be typed for this model (false for raw ids).
    pub fn accepts_text(&self) -> bool {
        !matches!(self, Tokenizer::Ids { .. })
    }

    /// Encodes text; for raw ids, the text is a list of numbers separated by commas or spaces.
    /// A Hugging Face tokenizer adds the special tokens its post-processor adds (BOS for
    /// Llama and Gemma), as a prompt needs.
    pub fn encode(&self, text: &str) -> Encoding {
        match self {
            Tokenizer::Char(t) => t.encode(text),
            Tokenizer::Word(t) => t.encode(text),
            Tokenizer::Ids { d_vocab } => encode_id_list(text, *d_vocab),
            Tokenizer::Bpe(t) => t.encode(text),
            Tokenizer::Hf(t) => t.encode(text),
        }
    }

    /// Encodes a piece of text that continues a prompt (an answer such as `" Mary"`): as
    /// [`Tokenizer::encode`], but without a BOS or other added special tokens.
    pub fn encode_piece(&self, text: &str) -> Encoding {
        match self {
            Tokenizer::Hf(t) => t.encode_piece(text),
            _ => self.encode(text),
        }
    }

    /// The text of one token (`"<id>"` when there is none); ids past the vocabulary show as
    /// `"<?id>"`. A token holding part of a multi-byte character shows U+FFFD.
    pub fn decode_token(&self, id: TokenId) -> String {
        let i = id as usize;
        let text = match self {
            Tokenizer::Char(t) => t.chars.get(i).map(|c| c.to_string()),
            Tokenizer::Word(t) => t.words.get(i).cloned(),
            Tokenizer::Ids { d_vocab } => (i < *d_vocab).then(|| id.to_string()),
            Tokenizer::Bpe(_) | Tokenizer::Hf(_) => self
                .token_bytes(id)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        };
        text.unwrap_or_else(|| format!("<?{id}>"))
    }

    /// The bytes of text one token stands for, for the byte-based tokenizers (GPT-2's BPE and
    /// Hugging Face's); `None` for the others and for ids with no token.
    pub fn token_bytes(&self, id: TokenId) -> Option<Vec<u8>> {
        match self {
            Tokenizer::Bpe(t) => t.bytes_of(id),
            Tokenizer::Hf(t) => t.token_bytes(id),
            _ => None,
        }
    }

    /// The text of a sequence (words joined by spaces for a word tokenizer; a Hugging Face
    /// tokenizer skips special tokens such as BOS, as its Python `decode` does).
    pub fn decode(&self, ids: &[TokenId]) -> String {
        match self {
            // Bytes first, then UTF-8: a character may span several BPE tokens.
            Tokenizer::Bpe(t) => return t.decode(ids),
            Tokenizer::Hf(t) => return t.decode(ids),
            _ => {}
        }
        let pieces: Vec<String> = ids.iter().map(|&id| self.decode_token(id)).collect();
        match self {
            Tokenizer::Word(_) | Tokenizer::Ids { .. } => pieces.join(" "),
            _ => pieces.concat(),
        }
    }

    /// The token as shown on a chip: whitespace made visible (`Ġ`, `▁` and `Ċ` in a token
    /// string are a space and a newline, so they show as `␣` and `⏎`), and bytes that are
    /// not a whole character (`<0xE4>` under byte fallback, or half of `é` in a byte-level
    /// token) as `⟨E4⟩`.
    pub fn display_token(&self, id: TokenId) -> String {
        match self.token_bytes(id) {
            Some(bytes) => visible_bytes(&bytes),
            None => visible_whitespace(&self.decode_token(id)),
        }
    }
}

/// Shows bytes of text: UTF-8 with whitespace made visible ([`visible_whitespace`]), and each
/// byte that is not part of a whole character as `⟨E4⟩`.
pub fn visible_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&visible_whitespace(chunk.valid()));
        for byte in chunk.invalid() {
            out.push_str(&format!("⟨{byte:02X}⟩"));
        }
    }
    out
}

/// Replaces space, newline, tab and carriage return with visible marks (`␣`, `⏎`, `⇥`, `↵`)
/// and any other control character with its code, `⟨03⟩` (fonts have no glyph for them).
pub fn visible_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            ' ' => out.push('␣'),
            '\n' => out.push('⏎'),
            '\t' => out.push('⇥'),
            '\r' => out.push('↵'),
            control if control.is_control() => out.push_str(&format!("⟨{:02X}⟩", control as u32)),
            other => out.push(other),
        }
    }
    out
}

/// Parses "1, 2 3" into ids; anything that is not a number below `d_vocab` is reported.
pub fn encode_id_list(text: &str, d_vocab: usize) -> Encoding {
    let mut encoding = Encoding::default();
    let mut offset = 0;
    for piece in text.split(|c: char| c == ',' || c.is_whitespace()) {
        if !piece.is_empty() {
            match piece.parse::<TokenId>() {
                Ok(id) if (id as usize) < d_vocab => encoding.ids.push(id),
                _ => encoding.unknown.push(UnknownPiece {
                    char_offset: offset,
                    text: piece.to_string(),
                }),
            }
        }
        offset += piece.chars().count() + 1;
    }
    encoding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_round_trip_and_unknowns() {
        let t = Tokenizer::Char(CharTokenizer::from_text("hello world\n"));
        let e = t.encode("hold é");
        assert_eq!(
            e.unknown,
            vec![UnknownPiece {
                char_offset: 5,
                text: "é".into()
            }]
        );
        assert_eq!(t.decode(&e.ids), "hold ");
        assert_eq!(t.display_token(e.ids[4]), "␣");
    }

    #[test]
    fn word_split_lowercases_and_keeps_punctuation() {
        let t = Tokenizer::Word(WordTokenizer::from_text("The quick brown fox. the dog"));
        let e = t.encode("the fox, the cat");
        assert_eq!(t.decode(&e.ids), "the fox the");
        assert_eq!(
            e.unknown
                .iter()
                .map(|u| u.text.as_str())
                .collect::<Vec<_>>(),
            [",", "cat"]
        );
    }

    #[test]
    fn stray_bytes_show_as_hex_and_whitespace_as_marks() {
        assert_eq!(visible_bytes(b" a\n\t"), "␣a⏎⇥");
        assert_eq!(visible_bytes(&[0xE4]), "⟨E4⟩");
        // "é" is C3 A9: a whole character shows, its halves do not.
        assert_eq!(visible_bytes("é".as_bytes()), "é");
        assert_eq!(visible_bytes(&[b' ', 0xC3]), "␣⟨C3⟩");
        assert_eq!(visible_bytes(&[0xA9, b'x']), "⟨A9⟩x");
        // Control characters have no glyph: shown by their code.
        assert_eq!(visible_bytes(&[0x03, b'\r']), "⟨03⟩↵");
    }

    #[test]
    fn id_lists_reject_garbage() {
        let e = encode_id_list("1, 2 x 99", 10);
        assert_eq!(e.ids, vec![1, 2]);
        assert_eq!(e.unknown.len(), 2);
    }
}
