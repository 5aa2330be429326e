//! Opening models through the function the "Open model…" dialog calls: a Hugging Face GPT-2
//! folder the app has never seen, and a broken file whose error shows in the window while
//! the previous model stays. Also export and settings persistence.

mod gui_support;

use std::collections::HashMap;

use egui_kittest::kittest::Queryable;
use gui_support::{app, gpt2_tiny, settle};
use residual_explorer::app::{AppOptions, ExplorerApp, SETTINGS_KEY};
use residual_explorer::i18n::Language;
use residual_explorer::state::{Command, ExportFormat, Settings, ViewKind};

#[test]
fn opening_a_hugging_face_folder_shows_it_in_every_view() {
    let mut harness = app();
    harness.state_mut().open_model(gpt2_tiny());
    settle(&mut harness);
    let state = &harness.state().state;
    assert!(state.error.is_none(), "{:?}", state.error);
    assert_eq!(state.model.params.config.d_model, 64);
    assert_eq!(state.model.params.config.n_layers, 2);
    assert_eq!(state.settings.recent_models[0], gpt2_tiny());
    let analysis = state.analysis.as_ref().expect("analysis");
    assert!(std::sync::Arc::ptr_eq(&analysis.model, &state.model));
    assert!(
        !state.prompt.ids.is_empty(),
        "a prompt the new tokenizer can read"
    );
    harness.get_by_label(&state.model.name.clone());
    for kind in ViewKind::ALL {
        harness.state_mut().state.apply(Command::ShowView(kind));
        settle(&mut harness);
    }
}

#[test]
fn a_broken_file_shows_its_error_and_keeps_the_previous_model() {
    let mut harness = app();
    let before = harness.state().state.model.clone();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.safetensors");
    std::fs::write(&broken, b"this is not a safetensors file at all").unwrap();
    harness.state_mut().open_model(broken.clone());
    settle(&mut harness);
    let state = &harness.state().state;
    let error = state
        .error
        .as_ref()
        .expect("an error is shown")
        .text(Language::En);
    assert!(error.contains("broken.safetensors"), "{error}");
    assert!(error.contains("previous one stays open"), "{error}");
    assert!(std::sync::Arc::ptr_eq(&state.model, &before), "same model");
    assert!(state.analysis.is_some());
    // The message is in the window, and can be dismissed.
    harness.get_by_label_contains("Could not open the model");
    harness.get_by_label("Dismiss").click();
    harness.run();
    assert!(harness.state().state.error.is_none());

    // A missing path too.
    harness
        .state_mut()
        .open_model(dir.path().join("does-not-exist"));
    settle(&mut harness);
    let error = harness
        .state()
        .state
        .error
        .as_ref()
        .expect("an error")
        .text(Language::En);
    assert!(error.contains("does-not-exist"), "{error}");
}

/// A copy of the Llama fixture whose last stored tensor (in file order) holds a NaN: the load
/// reads and converts every tensor before it, then fails.
fn llama_failing_half_way(dir: &std::path::Path) -> std::path::PathBuf {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/llama-tiny");
    let folder = dir.join("llama-nan");
    std::fs::create_dir(&folder).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
    }
    let weights = folder.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let (_, last_start) = header
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, t)| Some((name, t.get("data_offsets")?[0].as_u64()?)))
        .max_by_key(|&(_, start)| start)
        .unwrap();
    let at = 8 + n + last_start as usize;
    // bf16 NaN (the fixture is stored in bf16), little-endian.
    bytes[at..at + 2].copy_from_slice(&0x7fc0u16.to_le_bytes());
    std::fs::write(&weights, bytes).unwrap();
    folder
}

#[test]
fn a_load_failing_half_way_keeps_the_previous_model_open_and_usable() {
    let mut harness = app();
    let before = harness.state().state.model.clone();
    let analysis_before = harness.state().state.analysis.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = llama_failing_half_way(dir.path());
    harness.state_mut().open_model(folder);
    settle(&mut harness);
    let state = &harness.state().state;
    let error = state
        .error
        .as_ref()
        .expect("an error is shown")
        .text(Language::En);
    assert!(error.contains("non-finite"), "{error}");
    assert!(error.contains("previous one stays open"), "{error}");
    assert!(std::sync::Arc::ptr_eq(&state.model, &before), "same model");
    assert!(state.loading.is_none() && state.load_progress.is_none());
    assert!(std::sync::Arc::ptr_eq(
        state.analysis.as_ref().unwrap(),
        &analysis_before
    ));
    // Still usable: a new prompt runs on the previous model.
    harness
        .state_mut()
        .state
        .apply(Command::SetPrompt("To be or".into()));
    settle(&mut harness);
    let state = &harness.state().state;
    let analysis = state.analysis.as_ref().unwrap();
    assert!(std::sync::Arc::ptr_eq(&analysis.model, &before));
    assert_eq!(analysis.tokens, state.prompt.ids);
}

#[test]
fn saving_the_model_writes_a_file_that_opens_again() {
    let mut harness = app();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.safetensors");
    harness
        .state_mut()
        .state
        .apply(Command::SaveModel(path.clone()));
    settle(&mut harness);
    assert!(harness.state().state.error.is_none());
    assert!(path.is_file());
    let original = harness.state().state.model.clone();
    harness.state_mut().open_model(path);
    settle(&mut harness);
    let state = &harness.state().state;
    assert!(state.error.is_none(), "{:?}", state.error);
    assert_eq!(state.model.params.config, original.params.config);
    assert_eq!(state.model.tokenizer, original.tokenizer);
}

#[test]
fn views_export_their_numbers_as_csv_and_json() {
    let mut harness = app();
    let dir = tempfile::tempdir().unwrap();
    let n_pos = harness.state().state.prompt.ids.len();
    let d_model = harness.state().state.model.params.config.d_model;
    for kind in ViewKind::ALL {
        harness.state_mut().state.apply(Command::ShowView(kind));
        // The Circuits view's numbers are computed once it is shown.
        settle(&mut harness);
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            let path = dir
                .path()
                .join(format!("{}.{}", kind.slug(), format.extension()));
            harness.state_mut().state.apply(Command::Export {
                format,
                path: path.clone(),
            });
            settle(&mut harness);
            if matches!(
                kind,
                ViewKind::Training | ViewKind::Patching | ViewKind::Features
            ) {
                // No run, no experiment and no SAE yet: said plainly, and no file
                // (gui_training exports the first two after running them, gui_features the
                // SAE's table).
                let error = harness.state_mut().state.error.take();
                let error = error.map(|e| e.text(Language::En));
                assert!(
                    error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("Nothing to export yet")),
                    "{error:?}"
                );
                assert!(!path.exists());
                continue;
            }
            assert!(harness.state().state.error.is_none());
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.is_empty(), "{}", path.display());
            if format == ExportFormat::Json {
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(json["rows"].is_array());
            }
        }
    }
    // The residual view exports one row per dimension; attention one per unmasked weight.
    let residual = std::fs::read_to_string(dir.path().join("residual.csv")).unwrap();
    assert_eq!(residual.lines().count(), 1 + d_model);
    let attention = std::fs::read_to_string(dir.path().join("attention.csv")).unwrap();
    let config = &harness.state().state.model.params.config;
    let weights = config.n_layers * config.n_heads * n_pos * (n_pos + 1) / 2;
    assert_eq!(attention.lines().count(), 1 + weights);
    // Circuits: one row per (earlier, later) pair of heads in different layers.
    let circuits = std::fs::read_to_string(dir.path().join("circuits.csv")).unwrap();
    let (layers, heads) = (config.n_layers, config.n_heads);
    assert_eq!(
        circuits.lines().count(),
        1 + heads * heads * layers * (layers - 1) / 2
    );
    assert!(circuits.starts_with("earlier,later,q,k,v,baseline"));
}

/// eframe's storage, in memory.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn settings_are_saved_and_restored() {
    let mut harness = app();
    {
        let state = &mut harness.state_mut().state;
        state.apply(Command::SetPrompt("To be or".into()));
        state.apply(Command::SetZoom(1.3));
        state.apply(Command::SetDark(false));
        state.apply(Command::ShowView(ViewKind::Attention));
    }
    settle(&mut harness);
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    // The lesson panel stores its own settings beside these, under another key.
    let json = storage
        .0
        .get(SETTINGS_KEY)
        .expect("settings stored")
        .clone();
    let restored = Settings::from_json(&json);
    assert_eq!(restored.prompt, "To be or");
    assert_eq!(restored.view, ViewKind::Attention);
    assert!(!restored.dark);
    assert!((restored.zoom - 1.3).abs() < 1e-6);

    // A new app started with them shows the same prompt, view, zoom and theme.
    let mut again = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    settings: Some(restored),
                    ..AppOptions::default()
                },
            )
        });
    settle(&mut again);
    assert_eq!(again.state().state.settings.prompt, "To be or");
    assert!((again.ctx.zoom_factor() - 1.3).abs() < 1e-6);
    assert_eq!(again.ctx.theme(), egui::Theme::Light);
    again.get_by_label("Attention pattern of layer 0 head 0");
}

#[test]
fn the_opened_notice_goes_when_another_model_is_shown() {
    let mut harness = app();
    harness.state_mut().open_model(gpt2_tiny());
    settle(&mut harness);
    harness.get_by_label_contains("Opened ");
    harness.get_by_label(&gpt2_tiny().display().to_string());
    harness.state_mut().state.apply(Command::OpenDefaultModel);
    settle(&mut harness);
    assert_eq!(harness.state().state.notice, None);
    assert!(harness.query_by_label_contains("Opened ").is_none());
    harness.get_by_label("embedded in the program");
}
