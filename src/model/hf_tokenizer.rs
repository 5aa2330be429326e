//! Tokenizers read from a Hugging Face `tokenizer.json` and run by Hugging Face's own
//! `tokenizers` crate: byte-level BPE with any family's pre-tokenizer (GPT-2, GPT-Neo,
//! GPT-NeoX/Pythia, Qwen, SmolLM2), SentencePiece-style BPE with byte fallback and the `▁`
//! Metaspace (Llama, Gemma), Unigram, WordPiece.
//!
//! Encoding adds the special tokens the file's post-processor adds (BOS for Llama and Gemma),
//! as `tokenizer.encode(text)` does in Python; decoding skips special tokens, as
//! `tokenizer.decode(ids)` does. [`HfTokenizer`] keeps the JSON it was read from: it
//! serialises as that string (`{"tokenizer_json": "..."}`) and compares by it, so a model
//! holding one can still be saved, reloaded and compared. Reading the file from a model folder is in `io/hf_tokenizer.rs`.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::bpe::bytes_to_unicode;
use super::forward::TokenId;
use super::tokenizer::{Encoding, UnknownPiece};
use crate::i18n::{Language, ModelText};

/// The `model.type` values of a tokenizer.json that the `tokenizers` crate reads.
pub const MODEL_TYPES: [&str; 4] = ["BPE", "Unigram", "WordPiece", "WordLevel"];

/// The component types the `tokenizers` crate (0.23) knows, used only to name the culprit
/// when the crate refuses a file.
const COMPONENT_TYPES: [(&str, &[&str]); 4] = [
    (
        "normalizer",
        &[
            "BertNormalizer",
            "Strip",
            "StripAccents",
            "NFC",
            "NFD",
            "NFKC",
            "NFKD",
            "Sequence",
            "Lowercase",
            "Nmt",
            "Precompiled",
            "Replace",
            "Prepend",
            "ByteLevel",
        ],
    ),
    (
        "pre_tokenizer",
        &[
            "BertPreTokenizer",
            "ByteLevel",
            "CharDelimiterSplit",
            "Metaspace",
            "Whitespace",
            "Sequence",
            "Split",
            "Punctuation",
            "WhitespaceSplit",
            "Digits",
            "UnicodeScripts",
            "FixedLength",
        ],
    ),
    (
        "post_processor",
        &[
            "RobertaProcessing",
            "BertProcessing",
            "ByteLevel",
            "TemplateProcessing",
            "Sequence",
        ],
    ),
    (
        "decoder",
        &[
            "BPEDecoder",
            "ByteLevel",
            "WordPiece",
            "Metaspace",
            "CTC",
            "Sequence",
            "Replace",
            "Fuse",
            "Strip",
            "ByteFallback",
        ],
    ),
];

/// A tokenizer run by the `tokenizers` crate, with the JSON it was read from.
#[derive(Clone)]
pub struct HfTokenizer {
    json: Arc<str>,
    inner: Arc<tokenizers::Tokenizer>,
    pieces: Arc<PieceRules>,
}

/// How a token string maps back to the bytes of text it stands for.
struct PieceRules {
    /// `model.type`: BPE, Unigram, ...
    model_type: String,
    /// Tokens are in GPT-2's byte-to-unicode alphabet (a ByteLevel decoder).
    byte_level: bool,
    /// `<0xE4>`-style tokens stand for one byte (the model's `byte_fallback`).
    byte_fallback: bool,
    /// GPT-2's alphabet back to bytes.
    char_to_byte: HashMap<char, u8>,
    /// Added tokens (specials and others): their strings are plain text.
    added: HashSet<TokenId>,
    /// One more than the largest id.
    vocab_size: usize,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("model", &self.pieces.model_type)
            .field("vocab_size", &self.pieces.vocab_size)
            .field("json_bytes", &self.json.len())
            .finish()
    }
}

impl PartialEq for HfTokenizer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.json, &other.json) || self.json == other.json
    }
}
impl Eq for HfTokenizer {}

/// The stored form: `{"tokenizer_json": "<the file>"}`. An object rather than a bare string
/// because `Tokenizer` is an internally tagged enum, whose newtype variants must hold maps.
#[derive(Deserialize)]
struct Stored {
    tokenizer_json: String,
}

impl Serialize for HfTokenizer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut stored = serializer.serialize_struct("Stored", 1)?;
        stored.serialize_field("tokenizer_json", &*self.json)?;
        stored.end()
    }
}

impl<'de> Deserialize<'de> for HfTokenizer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::deserialize(deserializer)?;
        Self::from_json(&stored.tokenizer_json).map_err(serde::de::Error::custom)
    }
}

impl HfTokenizer {
    /// Reads a `tokenizer.json`. An unknown model or component type is an error naming it.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let root: Value =
            serde_json::from_str(json).map_err(|e| format!("not a tokenizer.json: {e}"))?;
        let model = root.get("model").ok_or("no \"model\" object")?;
        let model_type = model.get("type").and_then(Value::as_str).unwrap_or("BPE");
        if !MODEL_TYPES.contains(&model_type) {
            return Err(format!(
                "model type {model_type:?} is not supported (known: {})",
                MODEL_TYPES.join(", ")
            ));
        }
        let patched = fill_added_token_flags(&root);
        let json = patched.as_deref().unwrap_or(json);
        let inner = tokenizers::Tokenizer::from_str(json).map_err(|e| {
            unknown_component(&root).unwrap_or_else(|| format!("the tokenizers library: {e}"))
        })?;
        let vocab_size = inner
            .get_vocab(true)
            .values()
            .max()
            .map_or(0, |&id| id as usize + 1);
        if vocab_size == 0 {
            return Err("the vocabulary is empty".into());
        }
        let pieces = PieceRules {
            model_type: model_type.to_string(),
            byte_level: has_type(root.get("decoder"), "ByteLevel"),
            byte_fallback: model.get("byte_fallback").and_then(Value::as_bool) == Some(true),
            char_to_byte: bytes_to_unicode()
                .iter()
                .enumerate()
                .map(|(byte, &ch)| (ch, byte as u8))
                .collect(),
            added: inner.get_added_tokens_decoder().keys().copied().collect(),
            vocab_size,
        };
        Ok(Self {
            json: json.into(),
            inner: Arc::new(inner),
            pieces: Arc::new(pieces),
        })
    }

    /// One more than the largest token id.
    pub fn vocab_size(&self) -> usize {
        self.pieces.vocab_size
    }

    /// A short description in English: "byte-level BPE", "BPE with byte fallback", "Unigram",
    /// ...
    pub fn kind(&self) -> &'static str {
        self.kind_in(Language::En)
    }

    /// The kind in `language` (the model types' own names stay as they are).
    pub fn kind_in(&self, language: Language) -> &'static str {
        let p = &self.pieces;
        let words = |key: ModelText| key.text(language);
        match (p.model_type.as_str(), p.byte_level, p.byte_fallback) {
            ("BPE", true, _) => words(ModelText::ByteLevelBpe),
            ("BPE", false, true) => words(ModelText::BpeByteFallback),
            ("BPE", false, false) => "BPE",
            ("Unigram", _, true) => words(ModelText::UnigramByteFallback),
            ("Unigram", _, false) => "Unigram",
            ("WordPiece", ..) => "WordPiece",
            _ => words(ModelText::WordLevel),
        }
    }

    /// The JSON the tokenizer was read from.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Encodes text with the special tokens the post-processor adds (BOS for Llama, Gemma).
    pub fn encode(&self, text: &str) -> Encoding {
        self.encode_with(text, true)
    }

    /// Encodes text alone, without the post-processor's special tokens: a continuation.
    pub fn encode_piece(&self, text: &str) -> Encoding {
        self.encode_with(text, false)
    }

    fn encode_with(&self, text: &str, add_special_tokens: bool) -> Encoding {
        match self.inner.encode(text, add_special_tokens) {
            Ok(encoding) => Encoding {
                ids: encoding.get_ids().to_vec(),
                unknown: Vec::new(),
            },
            // The crate fails only on inputs it cannot split at all: report the whole text.
            Err(_) => Encoding {
                ids: Vec::new(),
                unknown: vec![UnknownPiece {
                    char_offset: 0,
                    text: text.to_string(),
                }],
            },
        }
    }

    /// The text of a sequence, special tokens skipped (Python's `decode(ids)`).
    pub fn decode(&self, ids: &[TokenId]) -> String {
        self.inner
            .decode(ids, true)
            .unwrap_or_else(|e| format!("<decode error: {e}>"))
    }

    /// The bytes of text one token stands for: `Ġ`/`Ċ` back to space/newline in a byte-level
    /// vocabulary, `▁` to a space otherwise, `<0xE4>` to the byte 0xE4 under byte fallback;
    /// added tokens as written. `None` for an id with no token.
    pub fn token_bytes(&self, id: TokenId) -> Option<Vec<u8>> {
        let token = self.inner.id_to_token(id)?;
        let p = &self.pieces;
        if p.added.contains(&id) {
            return Some(token.into_bytes());
        }
        if p.byte_fallback
            && let Some(byte) = fallback_byte(&token)
        {
            return Some(vec![byte]);
        }
        if p.byte_level {
            let mut bytes = Vec::with_capacity(token.len());
            for ch in token.chars() {
                match p.char_to_byte.get(&ch) {
                    Some(&b) => bytes.push(b),
                    None => bytes.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            return Some(bytes);
        }
        Some(token.replace('▁', " ").into_bytes())
    }
}

/// The file with the flags the crate requires of each added token filled in where missing
/// (hand-written files give only `id` and `content`): not single-word, no stripping, not
/// normalised, special (matched literally, as our GPT-2 reader treats added tokens). `None`
/// when nothing was missing.
fn fill_added_token_flags(root: &Value) -> Option<String> {
    let flags = [
        ("single_word", false),
        ("lstrip", false),
        ("rstrip", false),
        ("normalized", false),
        ("special", true),
    ];
    let list = root.get("added_tokens")?.as_array()?;
    let complete = |t: &Value| flags.iter().all(|(k, _)| t.get(*k).is_some());
    if list.iter().all(complete) {
        return None;
    }
    let mut root = root.clone();
    for token in root["added_tokens"].as_array_mut()?.iter_mut() {
        if let Some(map) = token.as_object_mut() {
            for (key, value) in flags {
                map.entry(key).or_insert(Value::Bool(value));
            }
        }
    }
    Some(root.to_string())
}

/// The byte of a byte-fallback token `<0xE4>`.
fn fallback_byte(token: &str) -> Option<u8> {
    let hex = token.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// Whether a component (or one inside a `Sequence`) has this `type`.
fn has_type(component: Option<&Value>, wanted: &str) -> bool {
    let mut found = false;
    visit_types(component, &mut |kind| found |= kind == wanted);
    found
}

/// Calls `f` with the `type` of a component and of every component nested in it.
fn visit_types(component: Option<&Value>, f: &mut impl FnMut(&str)) {
    let Some(Value::Object(map)) = component else {
        return;
    };
    if let Some(kind) = map.get("type").and_then(Value::as_str) {
        f(kind);
    }
    for key in ["normalizers", "pretokenizers", "processors", "decoders"] {
        for nested in map.get(key).and_then(Value::as_array).into_iter().flatten() {
            visit_types(Some(nested), f);
        }
    }
}

/// The first component whose type the crate does not know, as an error message.
fn unknown_component(root: &Value) -> Option<String> {
    COMPONENT_TYPES.iter().find_map(|(field, known)| {
        let mut unknown = None;
        visit_types(root.get(*field), &mut |kind| {
            if unknown.is_none() && !known.contains(&kind) {
                unknown = Some(kind.to_string());
            }
        });
        unknown.map(|kind| format!("{field} type {kind:?} is not supported"))
    })
}
