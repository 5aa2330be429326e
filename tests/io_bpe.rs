//! GPT-2's byte-level BPE with hand-made vocabularies: known GPT-2 behaviours of the
//! pre-tokenizer, merge order, both tokenizer.json merge forms and vocab.json + merges.txt,
//! added tokens, unknown bytes, lossless decoding, and the tokenizer found beside a model;
//! and with GPT-2's real vocabulary against OpenAI's tiktoken (tests/data/gpt2-bpe).

mod io_support;

use io_support::*;
use residual_explorer::model::bpe::{BpeData, BpeTokenizer};
use residual_explorer::model::io::hf_tokenizer::{
    bpe_from_tokenizer_json, bpe_from_vocab_and_merges,
};
use residual_explorer::model::io::load_any;
use residual_explorer::model::tokenizer::{Tokenizer, UnknownPiece};
use safetensors::Dtype;

fn hello_tokenizer() -> BpeTokenizer {
    bpe_from_tokenizer_json(
        tokenizer_json(&hand_vocab(&HELLO_MERGES), &HELLO_MERGES, false).as_bytes(),
    )
    .unwrap()
}

fn token_strings(t: &BpeTokenizer, text: &str) -> Vec<String> {
    let encoding = t.encode(text);
    assert!(encoding.unknown.is_empty(), "{:?}", encoding.unknown);
    encoding
        .ids
        .iter()
        .map(|&id| t.vocab()[id as usize].clone())
        .collect()
}

#[test]
fn hello_world_becomes_hello_and_space_world() {
    let vocab = hand_vocab(&HELLO_MERGES);
    for pairs in [false, true] {
        let t = bpe_from_tokenizer_json(tokenizer_json(&vocab, &HELLO_MERGES, pairs).as_bytes())
            .unwrap();
        assert_eq!(token_strings(&t, "Hello world"), ["Hello", "Ġworld"]);
        assert_eq!(t.decode(&t.encode("Hello world").ids), "Hello world");
    }
    // The same through vocab.json + merges.txt.
    let vocab_json = serde_json::to_string(
        &vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
    .unwrap();
    let merges_txt: String = std::iter::once("#version: 0.2".to_string())
        .chain(HELLO_MERGES.iter().map(|(a, b)| format!("{a} {b}")))
        .collect::<Vec<_>>()
        .join("\n");
    let t = bpe_from_vocab_and_merges(vocab_json.as_bytes(), merges_txt.as_bytes()).unwrap();
    assert_eq!(token_strings(&t, "Hello world"), ["Hello", "Ġworld"]);
    // "Ġwor" + "d" has no merge: " word" stops at two tokens.
    assert_eq!(token_strings(&t, "Hello word"), ["Hello", "Ġwor", "d"]);
}

#[test]
fn the_pre_tokenizer_splits_as_gpt2_does() {
    let t = hello_tokenizer();
    let cases: [(&str, &[&str]); 12] = [
        ("Hello world", &["Hello", " world"]),
        (
            "I'm here, isn't it?",
            &["I", "'m", " here", ",", " isn", "'t", " it", "?"],
        ),
        // A run of spaces leaves its last space to the next word.
        ("a  b", &["a", " ", " b"]),
        ("  hi", &[" ", " hi"]),
        ("x\n\ny", &["x", "\n", "\n", "y"]),
        // Trailing whitespace stays together.
        ("end   ", &["end", "   "]),
        ("año 2024!!", &["año", " 2024", "!!"]),
        ("3.14", &["3", ".", "14"]),
        // Contractions are case-sensitive and only match at the start of a piece.
        ("HELLO'S", &["HELLO", "'", "S"]),
        ("?'s", &["?'", "s"]),
        ("tab\tx", &["tab", "\t", "x"]),
        ("日本語 ok", &["日本語", " ok"]),
    ];
    for (text, expected) in cases {
        let pieces: Vec<&str> = t.pre_tokenize(text).into_iter().map(|(_, p)| p).collect();
        assert_eq!(pieces, expected, "{text:?}");
    }
}

#[test]
fn lower_ranked_merges_apply_first() {
    let bpe = |merges: &[(&str, &str)]| {
        let vocab = hand_vocab(merges);
        bpe_from_tokenizer_json(tokenizer_json(&vocab, merges, false).as_bytes()).unwrap()
    };
    let ll_first = bpe(&[("l", "l"), ("e", "l")]);
    let el_first = bpe(&[("e", "l"), ("l", "l")]);
    assert_eq!(token_strings(&ll_first, "ell"), ["e", "ll"]);
    assert_eq!(token_strings(&el_first, "ell"), ["el", "l"]);
}

#[test]
fn any_text_round_trips_through_bytes() {
    let t = hello_tokenizer();
    for text in [
        "",
        "Hello world",
        "  leading and trailing  \n",
        "emoji 🦀 and é, ß, 日本",
        "\u{0}\u{7f}\t\r\n",
    ] {
        let encoding = t.encode(text);
        assert!(encoding.unknown.is_empty());
        assert_eq!(t.decode(&encoding.ids), text);
        assert_eq!(Tokenizer::Bpe(t.clone()).decode(&encoding.ids), text);
    }
    // 'é' is two byte tokens: each alone is not valid UTF-8.
    let ids = t.encode("é").ids;
    assert_eq!(ids.len(), 2);
    assert_eq!(t.decode_token(ids[0]).unwrap(), "\u{FFFD}");
    assert_eq!(t.decode(&[9999]), "<?9999>");
}

#[test]
fn added_tokens_are_matched_literally() {
    let t = hello_tokenizer();
    let eot = (t.vocab_size() - 1) as u32;
    assert_eq!(t.special_tokens(), &[eot]);
    let ids = t.encode("Hello<|endoftext|> world").ids;
    assert_eq!(
        ids,
        [
            t.token_id("Hello").unwrap(),
            eot,
            t.token_id("Ġworld").unwrap()
        ]
    );
    assert_eq!(t.decode(&ids), "Hello<|endoftext|> world");
    assert_eq!(t.decode_token(eot).unwrap(), "<|endoftext|>");
}

#[test]
fn bytes_missing_from_a_small_vocabulary_are_reported_by_character() {
    let t = BpeTokenizer::new(BpeData {
        vocab: vec!["a".into(), "b".into(), "ab".into()],
        merges: vec![("a".into(), "b".into())],
        special_tokens: vec![],
    })
    .unwrap();
    let encoding = t.encode("abzab é");
    assert_eq!(encoding.ids, [2, 2]);
    let unknown = |char_offset, text: &str| UnknownPiece {
        char_offset,
        text: text.into(),
    };
    assert_eq!(
        encoding.unknown,
        [unknown(2, "z"), unknown(5, " "), unknown(6, "é")]
    );
}

#[test]
fn invalid_tokenizer_files_are_refused_with_a_reason() {
    let vocab = hand_vocab(&HELLO_MERGES);
    let good = tokenizer_json(&vocab, &HELLO_MERGES, false);
    let mut cases: Vec<(String, &str)> = vec![
        ("{".into(), "not a tokenizer.json"),
        ("{}".into(), "model"),
        (good.replace("\"BPE\"", "\"WordPiece\""), "WordPiece"),
        (
            good.replace("\"add_prefix_space\":false", "\"add_prefix_space\":true"),
            "add_prefix_space",
        ),
        (good.replace("\"He ll\"", "\"He zz\""), "merge 2"),
        (good.replace("\"He ll\"", "\"Hell\""), "merge 2"),
    ];
    // Ids with a gap.
    let gap = r#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}}"#;
    cases.push((gap.into(), "id 2, but there are 2 tokens"));
    for (json, needle) in cases {
        let error = bpe_from_tokenizer_json(json.as_bytes()).unwrap_err();
        assert!(error.contains(needle), "{needle:?} not in {error:?}");
    }
    let error = bpe_from_vocab_and_merges(b"{\"a\": 0, \"b\": 0}", b"").unwrap_err();
    assert!(error.contains("two tokens"), "{error}");
    let error = bpe_from_vocab_and_merges(b"{\"a\": 0}", b"#version: 0.2\nab").unwrap_err();
    assert!(error.contains("line 2"), "{error}");
}

#[test]
fn a_tokenizer_beside_the_model_is_used_and_checked_against_its_vocabulary() {
    // A 4-token vocabulary fits the fixture's 96; the 256+ token one does not.
    let dir = tempfile::tempdir().unwrap();
    let folder = write_hf_folder(
        &dir.path().join("small"),
        &fixture_tensors(),
        Dtype::F32,
        |_| {},
    );
    std::fs::write(
        folder.join("vocab.json"),
        r#"{"H": 0, "i": 1, "Hi": 2, "Ġ": 3}"#,
    )
    .unwrap();
    std::fs::write(folder.join("merges.txt"), "#version: 0.2\nH i\n").unwrap();
    let model = load_any(&folder).unwrap();
    assert_eq!(model.tokenizer.kind(), "GPT-2 byte-level BPE");
    assert_eq!(model.tokenizer.encode("Hi Hi").ids, [2, 3, 2]);
    assert_eq!(model.tokenizer.display_token(3), "␣");

    let big = write_hf_folder(
        &dir.path().join("big"),
        &fixture_tensors(),
        Dtype::F32,
        |_| {},
    );
    // A complete tokenizer.json (the tokenizers crate refuses hand-made minimal ones) of 384
    // tokens.
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/qwen2-tiny/tokenizer.json"),
        big.join("tokenizer.json"),
    )
    .unwrap();
    let error = load_any(&big).unwrap_err().to_string();
    assert!(
        error.contains("tokenizer.json") && error.contains("96"),
        "{error}"
    );
}

#[test]
fn long_runs_of_one_class_still_round_trip() {
    // Long words go through the heap-based merge; long whitespace through the lookahead.
    let t = hello_tokenizer();
    let text = format!(
        "{}{}b{}",
        "l".repeat(50_000),
        " ".repeat(50_000),
        "\n".repeat(1000)
    );
    let encoding = t.encode(&text);
    assert!(encoding.unknown.is_empty());
    assert_eq!(t.decode(&encoding.ids), text);
    // "ll" merges pairwise: 25 000 tokens for the letters.
    let ll = t.token_id("ll").unwrap();
    assert_eq!(encoding.ids.iter().filter(|&&id| id == ll).count(), 25_000);
}

/// GPT-2's real vocabulary (tests/data/gpt2-bpe, built by scripts/make_gpt2_bpe_fixture.py
/// from openai-whisper's gpt2.tiktoken, with reference encodings by OpenAI's tiktoken): ours
/// are the same ids on every text, and decode back to the text.
#[test]
fn the_real_gpt2_vocabulary_encodes_as_tiktoken_does() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gpt2-bpe");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let t = bpe_from_vocab_and_merges(&read("vocab.json"), &read("merges.txt")).unwrap();
    assert_eq!(t.vocab_size(), 50257);
    assert_eq!(t.merges().len(), 50000);
    let reference: serde_json::Value = serde_json::from_slice(&read("encodings.json")).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 16);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_u64().unwrap() as u32)
            .collect();
        let got = t.encode(text);
        assert!(got.unknown.is_empty(), "{text:?}: {:?}", got.unknown);
        assert_eq!(got.ids, want, "{text:?}");
        assert_eq!(t.decode(&got.ids), text);
    }
}
