//! Finding and reading the tokenizer beside a checkpoint: a Hugging Face `tokenizer.json` (any
//! family: run by the `tokenizers` crate, `model/hf_tokenizer.rs`), or GPT-2's older
//! `vocab.json` + `merges.txt` (our own BPE, `model/bpe.rs`). Without either, tokens show as
//! ids.
//!
//! Every `tokenizer.json` goes through the `tokenizers` crate, GPT-2's too: it reads every
//! field of the file (normalizer, pre-tokenizer, model options, added-token flags,
//! post-processor, decoder), so a file is either tokenized as in Python or refused with a
//! reason. Sending GPT-2-shaped files to our BPE instead would need a second reader deciding
//! what "GPT-2-shaped" is, and a field it missed (Pythia's NFC normalizer, say) would give
//! other ids silently. [`bpe_from_tokenizer_json`] still reads GPT-2's BPE out of a
//! tokenizer.json for callers that want our BPE (tests, fuzzing).

use std::path::Path;

use serde_json::Value;

use super::LoadError;
use super::tensors::read_small_file;
use crate::model::bpe::{BpeData, BpeTokenizer, MAX_VOCAB};
use crate::model::forward::TokenId;
use crate::model::hf_tokenizer::HfTokenizer;
use crate::model::tokenizer::Tokenizer;

/// Largest tokenizer file read (GPT-2's tokenizer.json is 1.4 MB).
pub const MAX_TOKENIZER_BYTES: u64 = 64 << 20;

/// The tokenizer stored in `folder`, or raw ids when there is none. A tokenizer with more
/// tokens than the model's `d_vocab` is an error (its ids would not fit the model).
pub fn load_from_folder(folder: &Path, d_vocab: usize) -> Result<Tokenizer, LoadError> {
    let tokenizer_json = folder.join("tokenizer.json");
    let vocab_json = folder.join("vocab.json");
    let merges_txt = folder.join("merges.txt");
    let (tokenizer, label) = if tokenizer_json.is_file() {
        let bytes = read_small_file(&tokenizer_json, MAX_TOKENIZER_BYTES)?;
        let hf = std::str::from_utf8(&bytes)
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(HfTokenizer::from_json)
            .map_err(|e| LoadError::new(&tokenizer_json, e))?;
        (Tokenizer::Hf(hf), tokenizer_json)
    } else if vocab_json.is_file() && merges_txt.is_file() {
        let vocab = read_small_file(&vocab_json, MAX_TOKENIZER_BYTES)?;
        let merges = read_small_file(&merges_txt, MAX_TOKENIZER_BYTES)?;
        let bpe = bpe_from_vocab_and_merges(&vocab, &merges)
            .map_err(|e| LoadError::new(&vocab_json, e))?;
        (Tokenizer::Bpe(bpe), vocab_json)
    } else {
        return Ok(Tokenizer::Ids { d_vocab });
    };
    if tokenizer.vocab_size() > d_vocab {
        return Err(LoadError::new(
            &label,
            format!(
                "the tokenizer has {} tokens but the model's vocabulary has {d_vocab}",
                tokenizer.vocab_size()
            ),
        ));
    }
    Ok(tokenizer)
}

/// Reads a Hugging Face `tokenizer.json` holding a GPT-2 byte-level BPE.
pub fn bpe_from_tokenizer_json(bytes: &[u8]) -> Result<BpeTokenizer, String> {
    let root: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a tokenizer.json: {e}"))?;
    let model = root.get("model").ok_or("no \"model\" object")?;
    if let Some(kind) = model.get("type").and_then(Value::as_str)
        && kind != "BPE"
    {
        return Err(format!("model type is {kind:?}; only GPT-2's BPE is read"));
    }
    check_pre_tokenizer(root.get("pre_tokenizer"))?;
    let vocab_map = model
        .get("vocab")
        .and_then(Value::as_object)
        .ok_or("model.vocab is not an object of token → id")?;
    let mut vocab = dense_vocab(vocab_map.iter().map(|(token, id)| (token, id.as_u64())))?;
    let merges_value = model.get("merges").and_then(Value::as_array);
    let mut merges = Vec::with_capacity(merges_value.map_or(0, Vec::len));
    for (i, merge) in merges_value.into_iter().flatten().enumerate() {
        let pair = match merge {
            Value::String(s) => s
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string())),
            Value::Array(parts) => match parts.as_slice() {
                [Value::String(a), Value::String(b)] => Some((a.clone(), b.clone())),
                _ => None,
            },
            _ => None,
        };
        merges.push(
            pair.ok_or_else(|| {
                format!("merge {i} is neither \"a b\" nor [\"a\", \"b\"]: {merge}")
            })?,
        );
    }
    let mut special_tokens = Vec::new();
    for added in root
        .get("added_tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = added.get("id").and_then(Value::as_u64);
        let content = added.get("content").and_then(Value::as_str);
        let (Some(id), Some(content)) = (id, content) else {
            return Err(format!("added token without id or content: {added}"));
        };
        let id = usize::try_from(id).unwrap_or(usize::MAX);
        match vocab.get(id) {
            Some(existing) if existing == content => {}
            Some(existing) => {
                return Err(format!(
                    "added token {content:?} has id {id}, which the vocabulary gives to \
                     {existing:?}"
                ));
            }
            None if id == vocab.len() && vocab.len() < MAX_VOCAB => vocab.push(content.into()),
            None => {
                return Err(format!(
                    "added token {content:?} has id {id}, past the vocabulary"
                ));
            }
        }
        special_tokens.push(id as TokenId);
    }
    BpeTokenizer::new(BpeData {
        vocab,
        merges,
        special_tokens,
    })
}

/// GPT-2 splits with its regex and no prefix space: a ByteLevel pre-tokenizer with
/// `add_prefix_space: false` (or none given). Anything else would tokenize differently.
fn check_pre_tokenizer(pre: Option<&Value>) -> Result<(), String> {
    let Some(pre) = pre.filter(|p| !p.is_null()) else {
        return Ok(());
    };
    let kind = pre.get("type").and_then(Value::as_str).unwrap_or("?");
    if kind != "ByteLevel" {
        return Err(format!(
            "pre_tokenizer is {kind:?}; only GPT-2's ByteLevel pre-tokenizer is supported"
        ));
    }
    if pre.get("add_prefix_space").and_then(Value::as_bool) == Some(true) {
        return Err("add_prefix_space = true is not supported (GPT-2 has false)".into());
    }
    if pre.get("use_regex").and_then(Value::as_bool) == Some(false) {
        return Err("use_regex = false is not supported (GPT-2 splits with its regex)".into());
    }
    Ok(())
}

/// Turns (token, id) pairs into a vocabulary in id order; the ids must be exactly 0..n.
fn dense_vocab<'a>(
    entries: impl ExactSizeIterator<Item = (&'a String, Option<u64>)>,
) -> Result<Vec<String>, String> {
    let n = entries.len();
    if n == 0 || n > MAX_VOCAB {
        return Err(format!(
            "the vocabulary has {n} tokens (1 to {MAX_VOCAB} allowed)"
        ));
    }
    let mut slots: Vec<Option<String>> = vec![None; n];
    for (token, id) in entries {
        let id = id.ok_or_else(|| format!("token {token:?} has no integer id"))?;
        let slot = usize::try_from(id)
            .ok()
            .and_then(|i| slots.get_mut(i))
            .ok_or_else(|| format!("token {token:?} has id {id}, but there are {n} tokens"))?;
        if slot.is_some() {
            return Err(format!("id {id} is given to two tokens"));
        }
        *slot = Some(token.clone());
    }
    Ok(slots
        .into_iter()
        .map(|s| s.expect("n distinct ids below n"))
        .collect())
}

/// Reads the older pair of files: `vocab.json` (token → id) and `merges.txt` (one `a b` per
/// line after an optional `#version` line). `<|endoftext|>`, if present, is a special token.
pub fn bpe_from_vocab_and_merges(
    vocab_json: &[u8],
    merges_txt: &[u8],
) -> Result<BpeTokenizer, String> {
    let map: serde_json::Map<String, Value> = serde_json::from_slice(vocab_json)
        .map_err(|e| format!("vocab.json is not an object of token → id: {e}"))?;
    let vocab = dense_vocab(map.iter().map(|(token, id)| (token, id.as_u64())))?;
    let text = std::str::from_utf8(merges_txt).map_err(|e| format!("merges.txt: {e}"))?;
    let mut merges = Vec::new();
    for (line_number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || (line_number == 0 && line.starts_with("#version")) {
            continue;
        }
        let (a, b) = line
            .split_once(' ')
            .ok_or_else(|| format!("merges.txt line {}: not \"a b\"", line_number + 1))?;
        merges.push((a.to_string(), b.to_string()));
    }
    let special_tokens = vocab
        .iter()
        .position(|t| t == "<|endoftext|>")
        .map(|id| id as TokenId)
        .into_iter()
        .collect();
    BpeTokenizer::new(BpeData {
        vocab,
        merges,
        special_tokens,
    })
}
