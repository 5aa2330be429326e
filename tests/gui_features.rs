//! The Features view driven headless: an SAE trained in the app on the default model (its
//! curves fill in and the reconstruction improves), the features active at the selected
//! token listed, one picked, its contexts read from the corpus, and an ablation through the
//! interventions bar that every view follows.

mod gui_support;

use std::time::Duration;

use egui_kittest::kittest::Queryable;
use gui_support::{app, run_until, settle};
use residual_explorer::sae::HookKind;
use residual_explorer::state::features::{SaeCommand, SaeForm, SaeStatus};
use residual_explorer::state::{Command, ViewKind};

/// Runs frames until the SAE run started in the window has ended (panics after 5 minutes).
/// Waits for the SAE run to end and checks that it finished (not failed or stopped).
fn wait_for_the_run_to_finish(
    harness: &mut egui_kittest::Harness<'static, residual_explorer::app::ExplorerApp>,
    what: &str,
) {
    run_until(harness, Duration::from_secs(300), what, |app| {
        !app.state.features.running()
    });
    let status = harness.state().state.features.status();
    assert_eq!(status, SaeStatus::Finished, "{what}: {status:?}");
}

#[test]
fn an_sae_trained_in_the_app_shows_its_features_and_an_ablation_changes_the_model() {
    let mut harness = app();
    let state = &mut harness.state_mut().state;
    state.apply(Command::ShowView(ViewKind::Features));
    let layer = state.model.params.config.n_layers - 1;
    state.apply(Command::Sae(SaeCommand::SetForm(SaeForm {
        layer,
        kind: HookKind::ResidPost,
        features: 256,
        k: 8,
        l1: None,
        tokens: 131_072,
        batch: 1024,
    })));
    settle(&mut harness);
    harness.get_by_label("Train SAE").click();
    harness.step();
    wait_for_the_run_to_finish(&mut harness, "the SAE run");
    settle(&mut harness);
    let features = &harness.state().state.features;
    let history = &features.history;
    assert_eq!(history.last().unwrap().tokens, 131_072);
    let (first, last) = (&history[0], history.last().unwrap());
    assert!(
        last.explained_variance > first.explained_variance + 0.2,
        "the reconstruction improves: {} → {}",
        first.explained_variance,
        last.explained_variance
    );
    assert!(
        (last.l0 - 8.0).abs() < 1e-9,
        "TopK keeps k features: {}",
        last.l0
    );
    let spliced = features.spliced.expect("the spliced loss at the end");
    assert!(spliced.spliced_loss.is_finite() && spliced.clean_loss.is_finite());
    // Measured during the run too (every 100 steps), for the curve.
    let steps: Vec<u64> = features.spliced_history.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, vec![100, 128], "at step 100 and at the end");
    // The features active at the selected token, as a clickable list.
    let list = harness.get_by_label("Active features").rect();
    harness.hover_at(list.left_top() + egui::vec2(20.0, 9.0));
    harness.run();
    harness.drag_at(list.left_top() + egui::vec2(20.0, 9.0));
    harness.drop_at(list.left_top() + egui::vec2(20.0, 9.0));
    // The feature's contexts start computing (a spinner): frames, not `run`.
    harness.step();
    harness.step();
    let feature = harness
        .state()
        .state
        .features
        .selected
        .expect("a click on the list selects a feature");
    // Its contexts come from a pass over the held-out text.
    settle(&mut harness);
    harness.get_by_label("Where it fires hardest");
    let contexts = harness.state().state.features.contexts_of_open().cloned();
    let contexts = contexts.expect("computed").expect("no error");
    assert!(
        contexts.firing[feature] > 0,
        "the feature fired on the held-out text"
    );
    assert!(!contexts.top[feature].is_empty());
    // Ablate it: the interventions bar lists it and the model on screen changes.
    let clean = harness.state().state.analysis.clone().unwrap();
    harness.get_by_label("Ablate").click();
    harness.step();
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(
        state.interventions.labels(),
        vec![format!("ablate F{feature}")]
    );
    let ablated = state.analysis.as_ref().unwrap();
    assert!(!std::sync::Arc::ptr_eq(&clean, ablated));
    let logits = |analysis: &residual_explorer::state::Analysis| {
        analysis
            .logits()
            .expect("every position's logits, with the lens")
            .clone()
    };
    let changed = logits(&clean)
        .iter()
        .zip(logits(ablated).iter())
        .any(|(a, b)| a != b);
    assert!(changed, "the logits follow the ablation");
    harness.get_by_label(&format!("Remove ablate F{feature}"));
}

#[test]
fn lesson_10_opens_the_shipped_sae_and_details_feature_371() {
    let mut harness = app();
    harness.state_mut().open_lesson(10, 1);
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(state.settings.view, ViewKind::Features);
    let open = state
        .features
        .open
        .as_ref()
        .expect("the lesson's SAE is open");
    assert_eq!(open.sae.config.d_sae, 1024);
    assert_eq!(open.hook.name(), "blocks.2.hook_resid_post");
    assert_eq!(state.features.selected, Some(371));
    harness.get_by_label("Where it fires hardest");
    // Steering from the view: the interventions bar lists it.
    harness.get_by_label("+4").click();
    harness.step();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.interventions.labels(),
        vec!["steer F371 +4".to_string()]
    );
}

/// The app showing the Features view of a copy of the shipped SAE's weights (no labels, no
/// contexts) in a temporary folder.
fn shipped_sae_opened_from_a_copy() -> (
    tempfile::TempDir,
    egui_kittest::Harness<'static, residual_explorer::app::ExplorerApp>,
) {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/sae-shakespeare");
    let dir = tempfile::tempdir().unwrap();
    for name in ["cfg.json", "sae_weights.safetensors"] {
        std::fs::copy(shipped.join(name), dir.path().join(name)).unwrap();
    }
    let mut harness = app();
    let state = &mut harness.state_mut().state;
    state.apply(Command::ShowView(ViewKind::Features));
    state.apply(Command::Sae(SaeCommand::Open(dir.path().to_path_buf())));
    settle(&mut harness);
    (dir, harness)
}

#[test]
fn a_label_typed_for_an_sae_from_a_folder_is_saved_in_its_side_file() {
    let (dir, mut harness) = shipped_sae_opened_from_a_copy();
    assert!(harness.state().state.features.open.is_some());
    harness
        .state_mut()
        .state
        .apply(Command::Sae(SaeCommand::Label(
            371,
            "capital letter".into(),
        )));
    settle(&mut harness);
    let reopened = residual_explorer::sae::files::load(dir.path()).unwrap();
    assert_eq!(
        reopened.sidecar.labels.get(&371).map(String::as_str),
        Some("capital letter")
    );
}

#[test]
fn a_standard_relu_sae_trains_in_the_app_too() {
    let mut harness = app();
    let state = &mut harness.state_mut().state;
    state.apply(Command::ShowView(ViewKind::Features));
    state.apply(Command::Sae(SaeCommand::SetForm(SaeForm {
        layer: 0,
        kind: HookKind::ResidPost,
        features: 128,
        k: 8,
        l1: Some(5.0),
        tokens: 32_768,
        batch: 1024,
    })));
    state.apply(Command::Sae(SaeCommand::Start));
    harness.step();
    wait_for_the_run_to_finish(&mut harness, "the ReLU run");
    let features = &harness.state().state.features;
    let open = features.open.as_ref().unwrap();
    assert_eq!(open.sae.config.architecture.name(), "standard");
    let last = features.history.last().unwrap();
    assert!(last.l1_loss > 0.0 && last.l0 > 0.0, "{last:?}");
    // A feature this SAE does not have (lesson 10's 371 of its 1,024), selected by a lesson
    // step: the view draws without it instead of indexing past the decoder.
    harness
        .state_mut()
        .state
        .apply(Command::Sae(SaeCommand::Select(Some(371))));
    settle(&mut harness);
    harness.get_by_label_contains("Click a feature active at the selected token");
}

#[test]
fn contexts_read_once_are_kept_beside_the_sae_and_read_back() {
    let (dir, mut harness) = shipped_sae_opened_from_a_copy();
    harness
        .state_mut()
        .state
        .apply(Command::Sae(SaeCommand::Contexts));
    settle(&mut harness);
    let computed = harness.state().state.features.contexts_of_open().cloned();
    let computed = computed.unwrap().unwrap();
    let sae = residual_explorer::sae::files::load(dir.path()).unwrap().sae;
    let kept = residual_explorer::sae::contexts::load_contexts(dir.path(), &sae)
        .expect("written beside the SAE");
    // Another SAE's weights in that folder do not take these contexts for theirs.
    let mut other = sae.clone();
    other.w_dec[[0, 0]] += 1.0;
    assert!(residual_explorer::sae::contexts::load_contexts(dir.path(), &other).is_none());
    assert_eq!(&kept, computed.as_ref());
    // Opened again: the contexts come from the file, without a corpus pass.
    let mut again = app();
    let state = &mut again.state_mut().state;
    state.apply(Command::Sae(SaeCommand::Open(dir.path().to_path_buf())));
    settle(&mut again);
    let features = &again.state().state.features;
    assert!(!features.computing_contexts());
    assert_eq!(
        features
            .contexts_of_open()
            .cloned()
            .unwrap()
            .unwrap()
            .as_ref(),
        &kept
    );
}

#[test]
fn an_sae_of_another_model_is_said_not_to_fit_and_nothing_breaks() {
    let (_dir, mut harness) = shipped_sae_opened_from_a_copy();
    harness
        .state_mut()
        .state
        .apply(Command::Sae(SaeCommand::Select(Some(371))));
    settle(&mut harness);
    // Another model, with a narrower stream: the SAE stays open but is not read.
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/induction.safetensors");
    harness.state_mut().open_model(model);
    settle(&mut harness);
    assert!(harness.state().state.features.open.is_some());
    let warning = harness
        .query_all_by_label_contains("does not fit the model on screen")
        .count();
    assert_eq!(warning, 1);
    assert!(harness.query_by_label("Where it fires hardest").is_none());
}
