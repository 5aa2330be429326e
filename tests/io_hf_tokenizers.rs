//! The tokenizer.json of each modern family (tests/data/<family>-tiny: byte-level BPE for
//! Qwen2, Qwen3, GPT-NeoX, GPT-Neo; SentencePiece-style BPE with byte fallback and BOS for
//! Llama and Gemma 3) loaded from its folder as the app does, against the Python library's
//! cases (ids with and without special tokens, decoded text); a hand-made Unigram; chips'
//! display of `▁`, `Ġ`, `Ċ` and byte pieces; refusals (unknown types, too many tokens).

use std::path::{Path, PathBuf};

use residual_explorer::model::io::hf_tokenizer::load_from_folder;
use residual_explorer::model::tokenizer::Tokenizer;
use serde_json::Value;

const FAMILIES: [&str; 6] = ["llama", "qwen2", "qwen3", "gpt_neox", "gpt_neo", "gemma3"];

fn fixture(family: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/{family}-tiny"))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The family's tokenizer, loaded with the model's `vocab_size` as `d_vocab`.
fn load(family: &str) -> Tokenizer {
    let folder = fixture(family);
    let d_vocab = read_json(&folder.join("config.json"))["vocab_size"]
        .as_u64()
        .unwrap() as usize;
    load_from_folder(&folder, d_vocab).unwrap()
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_u64().unwrap() as u32)
        .collect()
}

/// The id of a token string in the family's tokenizer.json.
fn token_id(family: &str, token: &str) -> u32 {
    let json = read_json(&fixture(family).join("tokenizer.json"));
    json["model"]["vocab"][token]
        .as_u64()
        .unwrap_or_else(|| panic!("{token:?} not in {family}'s vocabulary")) as u32
}

#[test]
fn every_family_reproduces_the_python_librarys_cases() {
    for family in FAMILIES {
        let tokenizer = load(family);
        assert!(matches!(tokenizer, Tokenizer::Hf(_)), "{family}");
        let cases = read_json(&fixture(family).join("tokenizer_cases.json"));
        let cases = cases["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 20, "{family}");
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let encoding = tokenizer.encode(text);
            assert!(encoding.unknown.is_empty(), "{family} {text:?}");
            assert_eq!(encoding.ids, ids(&case["ids"]), "{family} {text:?}");
            let piece = tokenizer.encode_piece(text);
            assert_eq!(piece.ids, ids(&case["ids_no_special"]), "{family} {text:?}");
            assert_eq!(
                tokenizer.decode(&encoding.ids),
                case["decoded"].as_str().unwrap(),
                "{family} {text:?}"
            );
        }
    }
}

#[test]
fn bos_is_added_where_the_post_processor_adds_it() {
    for (family, bos) in [("llama", Some("<s>")), ("gemma3", Some("<bos>"))]
        .into_iter()
        .chain(["qwen2", "qwen3", "gpt_neox", "gpt_neo"].map(|f| (f, None)))
    {
        let tokenizer = load(family);
        let first = tokenizer.encode("Hello").ids[0];
        match bos {
            Some(bos) => assert_eq!(tokenizer.decode_token(first), bos, "{family}"),
            None => assert_eq!(tokenizer.encode("").ids, Vec::<u32>::new(), "{family}"),
        }
    }
}

#[test]
fn chips_show_spaces_newlines_and_stray_bytes_readably() {
    // SentencePiece style: ▁ is a space; <0xE4> a byte that is not a character by itself;
    // <0x0A> a whole character (a newline).
    for family in ["llama", "gemma3"] {
        let t = load(family);
        assert_eq!(t.display_token(token_id(family, "▁H")), "␣H", "{family}");
        assert_eq!(
            t.display_token(token_id(family, "<0xE4>")),
            "⟨E4⟩",
            "{family}"
        );
        assert_eq!(t.display_token(token_id(family, "<0x0A>")), "⏎", "{family}");
        assert_eq!(t.display_token(token_id(family, "<0x09>")), "⇥", "{family}");
        assert_eq!(t.decode_token(token_id(family, "▁H")), " H", "{family}");
    }
    assert_eq!(load("llama").display_token(1), "<s>");
    // Byte level: Ġ is a space, Ċ a newline, ä the byte 0xE4 (half of a character).
    for family in ["qwen2", "qwen3", "gpt_neox", "gpt_neo"] {
        let t = load(family);
        assert_eq!(t.display_token(token_id(family, "Ġw")), "␣w", "{family}");
        assert_eq!(t.display_token(token_id(family, "Ċ")), "⏎", "{family}");
        assert_eq!(t.display_token(token_id(family, "ä")), "⟨E4⟩", "{family}");
        assert_eq!(t.decode_token(token_id(family, "Ġw")), " w", "{family}");
    }
}

/// A Unigram tokenizer.json (T5/ALBERT style: Metaspace, scored pieces).
fn unigram_json() -> String {
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false,
                          "rstrip": false, "normalized": false, "special": true}],
        "normalizer": null,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                          "split": true},
        "post_processor": null,
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                    "split": true},
        "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false, "vocab": [
            ["<unk>", 0.0], ["▁", -2.0], ["▁hello", -1.0], ["▁world", -1.5], ["▁wor", -3.0],
            ["ld", -3.0], ["h", -4.0], ["e", -4.0], ["l", -4.0], ["o", -4.0], ["w", -4.0],
            ["r", -4.0], ["d", -4.0]
        ]}
    })
    .to_string()
}

fn folder_with(name: &str, tokenizer_json: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(name);
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("tokenizer.json"), tokenizer_json).unwrap();
    (dir, folder)
}

#[test]
fn a_unigram_tokenizer_loads_and_round_trips() {
    let (_dir, folder) = folder_with("unigram", &unigram_json());
    let t = load_from_folder(&folder, 13).unwrap();
    assert_eq!(t.kind(), "Unigram");
    assert_eq!(t.vocab_size(), 13);
    let encoding = t.encode("hello world");
    assert_eq!(encoding.ids, [2, 3]);
    assert_eq!(t.decode(&encoding.ids), "hello world");
    assert_eq!(t.display_token(2), "␣hello");
    // The best-scoring split: ▁world (-1.5), not ▁wor + ld (-6).
    assert_eq!(t.encode("world").ids, [3]);
}

#[test]
fn a_tokenizer_survives_serialisation_and_compares_by_its_json() {
    let t = load("gemma3");
    let json = serde_json::to_string(&t).unwrap();
    let back: Tokenizer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, t);
    assert_eq!(
        back.encode("Hello, world!").ids,
        t.encode("Hello, world!").ids
    );
    assert_ne!(load("llama"), t);
}

#[test]
fn unknown_types_are_refused_by_name() {
    let good = unigram_json();
    for (json, needle) in [
        (
            good.replace("\"Unigram\"", "\"SentencePieceUnigram\""),
            "\"SentencePieceUnigram\"",
        ),
        (
            // json! sorts keys: the decoder's Metaspace comes first.
            good.replacen("\"Metaspace\"", "\"MysterySplit\"", 1),
            "decoder type \"MysterySplit\" is not supported",
        ),
        ("{\"model\": 3}".to_string(), "tokenizers library"),
        ("[]".to_string(), "model"),
    ] {
        let (_dir, folder) = folder_with("odd", &json);
        let error = load_from_folder(&folder, 100).unwrap_err().to_string();
        assert!(
            error.contains(needle) && error.contains("tokenizer.json"),
            "{needle:?} not in {error:?}"
        );
    }
}

#[test]
fn a_tokenizer_larger_than_the_model_is_refused() {
    let error = load_from_folder(&fixture("llama"), 300)
        .unwrap_err()
        .to_string();
    assert!(error.contains("448") && error.contains("300"), "{error}");
}
