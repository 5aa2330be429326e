//! Entry points for the fuzzers (fuzz/, cargo-fuzz) and for the stable-Rust seed replay in
//! tests/io_fuzz.rs: one function per loader, taking arbitrary bytes. Each must return
//! without panicking whatever the bytes; when the input loads, each also checks an
//! invariant (a save/load round trip, or decode(encode(text)) == text) and panics if it
//! fails, so the fuzzer reports it.

use std::path::Path;

use super::tensors::StorageDtype;
use super::{hf, hf_families, hf_tokenizer, llmc, native};

const LABEL: &str = "fuzz-input";

/// Splits `data` into a length-prefixed head (2-byte little-endian length) and the rest.
fn split_prefixed(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let n = u16::from_le_bytes([data[0], data[1]]) as usize;
    let rest = &data[2..];
    rest.split_at(n.min(rest.len()))
}

/// The native loader; a model that loads must survive a save/load round trip unchanged.
pub fn native(data: &[u8]) {
    let label = Path::new(LABEL);
    if let Ok(model) = native::load_native_bytes(data, label) {
        let bytes = native::native_bytes(&model, StorageDtype::F32).expect("a loaded model saves");
        let again = native::load_native_bytes(&bytes, label).expect("a saved model loads");
        assert!(
            again.params == model.params || has_nan(&model.params),
            "native round trip changed the weights"
        );
        assert_eq!(again.tokenizer, model.tokenizer);
    }
}

/// The Hugging Face loader on `[config length: u16 LE][config.json][model.safetensors]`.
pub fn hf(data: &[u8]) {
    let label = Path::new(LABEL);
    let (config_json, weights) = split_prefixed(data);
    if let Ok(config) = hf::parse_config(config_json, label)
        && let Ok(params) = hf::gpt2_params_from_bytes(&config, weights, label)
    {
        assert_eq!(params.config, config);
        assert_eq!(params.stored_len() as u64, config.parameter_count());
    }
}

/// The modern-family loader on `[config length: u16 LE][config.json][index length: u16
/// LE][model.safetensors.index.json][model.safetensors]`: the index is parsed on its own and
/// the weights as the one shard; a model that loads has the config's parameter count.
pub fn hf_family(data: &[u8]) {
    let label = Path::new(LABEL);
    let (config_json, rest) = split_prefixed(data);
    let (index, weights) = split_prefixed(rest);
    if let Ok(names) = hf_families::parse_index(index, label) {
        assert!(!names.is_empty(), "an accepted index names a shard");
        assert!(names.iter().all(|n| !n.contains('/') && n != ".."));
    }
    if let Ok(params) = hf_families::params_from_shards(config_json, label, &[(label, weights)]) {
        assert_eq!(params.stored_len() as u64, params.config.parameter_count());
    }
}

/// The llm.c loader; a checkpoint that loads must survive a save/load round trip.
pub fn llmc(data: &[u8]) {
    let label = Path::new(LABEL);
    if let Ok(params) = llmc::load_llmc_bytes(data, label) {
        let bytes = llmc::llmc_bytes(&params).expect("a loaded llm.c model saves");
        let again = llmc::load_llmc_bytes(&bytes, label).expect("a saved model loads");
        assert!(
            again == params || has_nan(&params),
            "llm.c round trip changed the weights"
        );
    }
}

/// The tokenizer.json reader on `[json length: u16 LE][tokenizer.json][text]`; text that
/// encodes without unknown pieces must decode back to itself.
pub fn bpe(data: &[u8]) {
    let (json, text) = split_prefixed(data);
    if let Ok(tokenizer) = hf_tokenizer::bpe_from_tokenizer_json(json) {
        let text = String::from_utf8_lossy(text);
        let encoding = tokenizer.encode(&text);
        if encoding.unknown.is_empty() {
            assert_eq!(tokenizer.decode(&encoding.ids), text, "BPE round trip");
        }
        for &id in &encoding.ids {
            assert!((id as usize) < tokenizer.vocab_size());
        }
    }
}

/// NaN ≠ NaN: a model holding NaN cannot compare equal to its own copy.
fn has_nan(params: &crate::model::Params<f32>) -> bool {
    let mut nan = false;
    params.for_each_tensor(|_, t| nan |= t.iter().any(|x| x.is_nan()));
    nan
}
