//! The Circuits view driven by label and role, headless, on the shipped induction model: its
//! numbers are the library's (`interp::circuits`), the Q/K/V switch changes the map, and the
//! selected head is shared with the Attention view both ways.

mod gui_support;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use gui_support::{app_with_prompt, settle};
use residual_explorer::interp::circuits::{
    CompositionKind, CompositionScores, FoldedHeads, copying_scores,
};
use residual_explorer::state::{Command, ViewKind};

const REPEATED: &str = "0 9 11 5 25 14 17 6 4 24 2 27 19 9 11 5 25 14 17 6 4 24 2 27 19";

/// Clicks the point `pos` (press and release).
fn click_at(
    harness: &mut egui_kittest::Harness<'static, residual_explorer::app::ExplorerApp>,
    pos: egui::Pos2,
) {
    harness.hover_at(pos);
    harness.run();
    harness.drag_at(pos);
    harness.drop_at(pos);
    harness.run();
}

fn induction_app() -> egui_kittest::Harness<'static, residual_explorer::app::ExplorerApp> {
    let mut harness = app_with_prompt("");
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/induction.safetensors");
    harness.state_mut().open_model(model);
    settle(&mut harness);
    harness
        .state_mut()
        .state
        .apply(Command::SetPrompt(REPEATED.into()));
    settle(&mut harness);
    harness
}

#[test]
fn the_circuits_view_shows_the_weights_circuits_and_switches_composition() {
    let mut harness = induction_app();
    harness
        .get_by_role_and_label(Role::Button, "Circuits")
        .click();
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(state.settings.view, ViewKind::Circuits);
    let analysis = state.analysis.as_ref().expect("an analysis");
    let (weights, current) = state
        .circuits
        .latest_for(&analysis.model)
        .expect("the view asked for the circuits and they came");
    assert!(current, "computed for the model on screen");
    assert!(weights.next_part().is_none(), "every part is computed");
    // The same numbers as the library computes alone.
    let params = &analysis.model.params;
    let heads = FoldedHeads::of(params);
    for kind in CompositionKind::ALL {
        let alone = CompositionScores::compute(&heads, kind);
        assert_eq!(weights.composition(kind).unwrap().scores, alone.scores);
    }
    let alone = copying_scores(params, &heads);
    for (got, want) in weights.copying().unwrap().iter().zip(alone.iter()) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    // The K map by default; the switch shows the Q map.
    harness.get_by_label("Composition map, K (keys)");
    harness.get_by_label("Copying scores");
    harness.get_by_label("Full OV circuit of L0H0");
    harness.get_by_label("Full QK circuit of L0H0");
    harness.get_by_label("Direct path");
    harness.get_by_label("Q (queries)").click();
    harness.run();
    assert_eq!(
        harness.state().state.settings.composition,
        CompositionKind::Q
    );
    harness.get_by_label("Composition map, Q (queries)");
    assert!(
        harness
            .query_by_label("Composition map, K (keys)")
            .is_none()
    );
}

#[test]
fn a_head_selected_in_the_circuits_view_is_selected_in_the_attention_view_and_back() {
    let mut harness = induction_app();
    harness
        .state_mut()
        .state
        .apply(Command::ShowView(ViewKind::Circuits));
    settle(&mut harness);
    // The copying grid is layers × heads: its bottom-right cell is L1H3.
    let grid = harness.get_by_label("Copying scores").rect();
    click_at(&mut harness, grid.max - egui::vec2(3.0, 3.0));
    let selection = &harness.state().state.selection;
    assert_eq!((selection.layer, selection.head), (1, 3));
    harness.get_by_label("Full OV circuit of L1H3");
    // The attention view enlarges the same head.
    harness
        .get_by_role_and_label(Role::Button, "Attention")
        .click();
    settle(&mut harness);
    harness.get_by_label("Attention pattern of layer 1 head 3");
    // A head picked there is the head the Circuits view shows.
    harness.get_by_label("Layer 0 head 2 pattern").click();
    harness.run();
    harness
        .get_by_role_and_label(Role::Button, "Circuits")
        .click();
    settle(&mut harness);
    harness.get_by_label("Full OV circuit of L0H2");
    // A cell of the composition map selects its later head (the column): the bottom-right
    // cell is L0H3 → L1H3.
    let map = harness.get_by_label("Composition map, K (keys)").rect();
    click_at(&mut harness, map.max - egui::vec2(3.0, 3.0));
    let selection = &harness.state().state.selection;
    assert_eq!((selection.layer, selection.head), (1, 3));
}
