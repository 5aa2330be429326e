//! `trace` refuses bad input through the built binary: exit 1 with a message naming the
//! problem for a bad model or bad tokens/text, exit 2 for bad usage, and nothing on stdout.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::fixture_dir;
use residual_explorer::model::io::embedded::seeded_lesson_model;
use residual_explorer::model::io::native::save_native;
use residual_explorer::model::tokenizer::CharTokenizer;

fn trace(model: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .arg("trace")
        .arg("--model")
        .arg(model)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Asserts the exit code, an empty stdout, and a message on stderr containing `needle`.
fn assert_refused(output: &Output, code: i32, needle: &str, case: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{case}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{case}: printed something on stdout"
    );
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "{case}: message {stderr:?} lacks {needle:?}"
    );
}

#[test]
fn bad_token_lists_exit_1_with_a_message() {
    let model = fixture_dir();
    let too_long: Vec<String> = (0..65).map(|i| (i % 96).to_string()).collect();
    let too_long = too_long.join(",");
    let cases: [(&str, &str); 8] = [
        ("96", "outside the vocabulary"),
        ("1,2,4294967295", "outside the vocabulary"),
        ("", "empty"),
        (" , ", "empty"),
        (
            "1,two,3",
            "\"two\" (item 2 of the token list) is not a token id",
        ),
        ("-1", "\"-1\" (item 1"),
        ("99999999999", "is not a token id"),
        (
            &too_long,
            "65 tokens is more than this model's context of 64",
        ),
    ];
    for (tokens, needle) in cases {
        let output = trace(&model, &["--tokens", tokens, "--json"]);
        assert_refused(&output, 1, needle, tokens);
    }
    // Exactly n_ctx tokens is fine.
    let full: Vec<String> = (0..64).map(|i| (i % 96).to_string()).collect();
    let output = trace(&model, &["--tokens", &full.join(",")]);
    assert!(output.status.success());
}

#[test]
fn text_the_tokenizer_does_not_know_exits_1() {
    // A model without a tokenizer reads --text as ids, and refuses words.
    let output = trace(&fixture_dir(), &["--text", "hello"]);
    assert_refused(&output, 1, "\"hello\"", "text for an id-only model");
    let output = trace(&fixture_dir(), &["--text", "3 4 5", "--json"]);
    assert!(output.status.success(), "ids as text");

    // A character model refuses a character it has never seen, naming it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chars.safetensors");
    let model = seeded_lesson_model(CharTokenizer::from_text("abc d"));
    save_native(&path, &model).unwrap();
    let output = trace(&path, &["--text", "ab zd"]);
    assert_refused(&output, 1, "\"z\" at character 3", "unknown character");
    let output = trace(&path, &["--text", "", "--json"]);
    assert_refused(&output, 1, "no tokens", "empty text");
    let output = trace(&path, &["--text", "a bad", "--json"]);
    assert!(output.status.success());
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["token_texts"][1], " ");
}

#[test]
fn bad_models_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    assert_refused(
        &trace(&missing, &["--tokens", "1"]),
        1,
        "nothing-here",
        "missing",
    );
    assert_refused(
        &trace(dir.path(), &["--tokens", "1"]),
        1,
        "",
        "empty folder",
    );
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"not a model at all").unwrap();
    assert_refused(
        &trace(&garbage, &["--tokens", "1"]),
        1,
        "garbage",
        "garbage file",
    );
}

#[test]
fn bad_usage_exits_2() {
    let model = fixture_dir();
    let cases: [(&[&str], &str); 5] = [
        (&[], "--text"),
        (&["--tokens", "1", "--text", "1"], "cannot be used with"),
        (&["--tokens", "1", "--top-k", "0"], "--top-k"),
        (&["--tokens", "1", "--top-k", "many"], "--top-k"),
        (&["--tokens", "1", "--frobnicate"], "--frobnicate"),
    ];
    for (args, needle) in cases {
        assert_refused(&trace(&model, args), 2, needle, &args.join(" "));
    }
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--tokens", "1"])
        .output()
        .unwrap();
    assert_refused(&output, 2, "--model", "no model");
}
