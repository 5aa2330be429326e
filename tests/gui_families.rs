//! The real app (egui_kittest, headless) opens a tiny checkpoint of every modern family and
//! draws every view of it; the attention view names a local window and a shared key/value
//! head where the model has them; a family file that fails half-way keeps the previous model.

mod gui_support;

use std::path::PathBuf;

use egui_kittest::kittest::Queryable;
use gui_support::{app, settle};
use residual_explorer::i18n::Language;
use residual_explorer::state::{Command, ViewKind};

fn family(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn every_family_opens_and_every_view_draws() {
    let mut harness = app();
    for name in [
        "llama-tiny",
        "qwen2-tiny",
        "qwen3-tiny",
        "gpt_neox-tiny",
        "gpt_neo-tiny",
        "gemma3-tiny",
    ] {
        harness
            .state_mut()
            .open_model(family(name).join("config.json"));
        settle(&mut harness);
        let state = &harness.state().state;
        assert!(state.error.is_none(), "{name}: {:?}", state.error);
        assert_eq!(state.model.name, name);
        assert!(!state.prompt.ids.is_empty(), "{name}: a prompt it can read");
        for kind in ViewKind::ALL {
            harness.state_mut().state.apply(Command::ShowView(kind));
            settle(&mut harness);
        }
    }
}

#[test]
fn the_attention_view_shows_the_local_window_and_the_shared_key_value_head() {
    let mut harness = app();
    harness.state_mut().open_model(family("gemma3-tiny"));
    settle(&mut harness);
    harness
        .state_mut()
        .state
        .apply(Command::ShowView(ViewKind::Attention));
    harness
        .state_mut()
        .state
        .apply(Command::SelectHead { layer: 0, head: 2 });
    settle(&mut harness);
    harness.get_by_label_contains("Local layer: each token sees only the last 6 tokens");
    harness.get_by_label_contains("Shares key/value head 0 with heads 0–3");
    harness
        .state_mut()
        .state
        .apply(Command::ShowView(ViewKind::Model));
    settle(&mut harness);
    harness.get_by_label_contains("RMSNorm with scale 1+w, sandwich");
    harness.get_by_label_contains("BF16 (run in f32)");
}

#[test]
fn a_checkpoint_missing_a_shard_keeps_the_previous_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = family("qwen3-tiny");
    for entry in std::fs::read_dir(&source).expect("fixture") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n != "model-00002-of-00002.safetensors")
        {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).expect("copy");
        }
    }
    let mut harness = app();
    let before = harness.state().state.model.clone();
    harness.state_mut().open_model(dir.path().to_path_buf());
    settle(&mut harness);
    let state = &harness.state().state;
    let error = state.error.as_ref().expect("an error is shown");
    let error = error.text(Language::En);
    assert!(
        error.contains("model-00002-of-00002.safetensors"),
        "{error}"
    );
    assert!(std::sync::Arc::ptr_eq(&state.model, &before));
}
