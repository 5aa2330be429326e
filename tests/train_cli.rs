//! The `train` and `bench train` command lines, as scripts call them: JSON evaluation lines,
//! an atomically written model that loads back, and clear errors with the right exit codes.

mod common;

use common::run_cli;

use residual_explorer::model::io::native::load_native;

#[test]
fn train_writes_json_evaluations_and_a_loadable_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.safetensors");
    let output = run_cli(&[
        "train",
        "--preset",
        "induction",
        "--task",
        "copy",
        "--steps",
        "4",
        "--batch",
        "4",
        "--seq",
        "16",
        "--eval-every",
        "2",
        "--seed",
        "3",
        "--lr",
        "1e-3",
        "--warmup",
        "2",
        "--weight-decay",
        "0.1",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (line, step) in lines.iter().zip([2, 4]) {
        assert_eq!(line["step"], step);
        assert!(line["train_loss"].as_f64().unwrap() > 0.0);
        assert!(line["val_loss"].as_f64().unwrap() > 0.0);
    }
    let model = load_native(&out).expect("the saved model loads");
    assert!(model.params.config.attn_only);
    // No temporary files are left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn bench_train_prints_tokens_per_second() {
    let output = run_cli(&[
        "bench", "train", "--preset", "lesson", "--vocab", "65", "--batch", "2", "--seq", "16",
        "--steps", "2", "--warmup", "1", "--json",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["tokens_per_s"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    let out = out.to_str().unwrap();
    let unknown = run_cli(&[
        "train", "--preset", "huge", "--task", "copy", "--steps", "1", "--out", out,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown preset 'huge'"));
    let missing = run_cli(&[
        "train",
        "--preset",
        "lesson",
        "--corpus",
        "/no/such.txt",
        "--steps",
        "1",
        "--out",
        out,
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such.txt"));
    let both = run_cli(&[
        "train", "--preset", "lesson", "--corpus", "a.txt", "--task", "copy", "--steps", "1",
        "--out", out,
    ]);
    assert_eq!(both.status.code(), Some(2));
    let too_long = run_cli(&[
        "train",
        "--preset",
        "word",
        "--task",
        "sentences",
        "--seq",
        "500",
        "--steps",
        "1",
        "--out",
        out,
    ]);
    assert_eq!(too_long.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_long.stderr).contains("context"));
    assert!(
        !std::path::Path::new(out).exists(),
        "nothing written on errors"
    );
}
