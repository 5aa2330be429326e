//! `residual-explorer info --model PATH` run as a program: a good model prints its config and
//! exits 0; a bad file or folder exits 1 with a message naming it; bad usage exits 2.

mod io_support;

use std::path::Path;
use std::process::{Command, Output};

use io_support::fixture_dir;

fn info(model: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["info", "--model"])
        .arg(model)
        .output()
        .expect("the binary runs")
}

#[test]
fn info_describes_the_hugging_face_fixture() {
    let out = info(&fixture_dir());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("gpt2-tiny"), "{stdout}");
    assert!(stdout.contains("\"d_model\":64"), "{stdout}");
    assert!(stdout.contains("raw ids (96 tokens)"), "{stdout}");
    // 96·64 + 64·64 + 2·(4·64² + 4·64 + 4·64 + 8·64² + 256 + 64) + 2·64
    let total = 96 * 64 + 64 * 64 + 2 * (12 * 64 * 64 + 8 * 64 + 256 + 64) + 2 * 64;
    assert!(
        stdout.contains(&total.to_string()),
        "{total} not in {stdout}"
    );
}

#[test]
fn info_reads_the_native_default_model_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors");
    let out = info(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("character (62 tokens)"), "{stdout}");
}

#[test]
fn bad_models_exit_1_with_a_message_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let empty_file = dir.path().join("broken.safetensors");
    std::fs::write(&empty_file, b"").unwrap();
    let bad_bin = dir.path().join("bad.bin");
    std::fs::write(&bad_bin, vec![7u8; 2048]).unwrap();
    let empty_folder = dir.path().join("nothing-here");
    std::fs::create_dir(&empty_folder).unwrap();
    for (path, problem) in [
        (&empty_file, "empty"),
        (&bad_bin, "bad magic number"),
        (&empty_folder, "no model.safetensors"),
        (&dir.path().join("absent"), "no such file"),
    ] {
        let out = info(path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(
            stderr.contains(name.as_ref()) && stderr.contains(problem),
            "{stderr}"
        );
    }
}

#[test]
fn a_missing_model_argument_is_bad_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .arg("info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_instead_of_panicking() {
    // `residual-explorer info … | head -0`: the reader is gone before anything is written.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["info", "--model"])
        .arg(fixture_dir())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
