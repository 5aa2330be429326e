//! Activation patching of `resid_pre`: patching every position at a layer restores the clean
//! logits exactly; positions where the prompts agree restore nothing; the batched heatmap
//! matches one patched run per cell; bad inputs are refused with the reason.

use residual_explorer::interp::interventions::{Component, Interventions, Patch};
use residual_explorer::interp::patching::{PatchingError, patch_resid_pre, resid_pre_patching};
use residual_explorer::model::hooks::NoIntervention;
use residual_explorer::model::{Params, forward, forward_batch};

mod common;

fn small_model() -> Params<f32> {
    common::small_model(11, 0.3)
}

const CLEAN: [u32; 8] = [3, 7, 1, 19, 7, 3, 11, 5];
const CORRUPTED: [u32; 8] = [3, 9, 1, 19, 2, 3, 11, 5];

/// The clean run's top token against the corrupted run's top token (or its runner-up).
fn answer_and_wrong(params: &Params<f32>) -> (u32, u32) {
    let top = |tokens: &[u32], skip: Option<u32>| {
        let trace = forward(params, tokens).unwrap();
        let row = trace.logits.row(tokens.len() - 1);
        (0..row.len() as u32)
            .filter(|&t| Some(t) != skip)
            .max_by(|&a, &b| row[a as usize].total_cmp(&row[b as usize]))
            .unwrap()
    };
    let answer = top(&CLEAN, None);
    (answer, top(&CORRUPTED, Some(answer)))
}

#[test]
fn patching_every_position_at_a_layer_restores_the_clean_logits_exactly() {
    let params = small_model();
    let clean = forward(&params, &CLEAN).unwrap();
    let corrupted = forward(&params, &CORRUPTED).unwrap();
    assert_ne!(clean.logits, corrupted.logits);
    let all: Vec<usize> = (0..CLEAN.len()).collect();
    for layer in 0..3 {
        let patched =
            patch_resid_pre(&params, &CORRUPTED, &clean, layer, &all, &NoIntervention).unwrap();
        assert_eq!(patched.logits, clean.logits, "layer {layer}");
        // Patching nothing leaves the corrupted run.
        let unpatched =
            patch_resid_pre(&params, &CORRUPTED, &clean, layer, &[], &NoIntervention).unwrap();
        assert_eq!(unpatched.logits, corrupted.logits);
    }

    // The same with an intervention active in both runs.
    let mut patches = Interventions::new();
    patches
        .add(
            Patch::zero(Component::Head { layer: 0, head: 1 }),
            &params.config,
        )
        .unwrap();
    let clean_ablated = forward_batch(&params, &[&CLEAN], &patches).unwrap();
    let patched = patch_resid_pre(&params, &CORRUPTED, &clean_ablated, 2, &all, &patches).unwrap();
    assert_eq!(patched.logits, clean_ablated.logits);
    assert_ne!(patched.logits, clean.logits);
}

#[test]
fn the_heatmap_matches_single_patched_runs() {
    let params = small_model();
    let (answer, wrong) = answer_and_wrong(&params);
    let result =
        resid_pre_patching(&params, &CLEAN, &CORRUPTED, answer, wrong, &NoIntervention).unwrap();
    assert_eq!(result.restored.dim(), (3, CLEAN.len()));
    assert!(result.clean_diff > result.corrupted_diff);
    let clean = forward(&params, &CLEAN).unwrap();
    for layer in 0..3 {
        for pos in 0..CLEAN.len() {
            let trace =
                patch_resid_pre(&params, &CORRUPTED, &clean, layer, &[pos], &NoIntervention)
                    .unwrap();
            let row = trace.logits.row(CLEAN.len() - 1);
            let diff = row[answer as usize] - row[wrong as usize];
            let expected =
                (diff - result.corrupted_diff) / (result.clean_diff - result.corrupted_diff);
            let got = result.restored[[layer, pos]];
            assert!(
                (got - expected).abs() < 1e-4,
                "({layer}, {pos}): {got} vs {expected}"
            );
        }
    }
    // Where the prompts agree, layer 0's stream is the same: nothing to restore.
    for pos in [0, 2, 3, 5, 6, 7] {
        assert!(result.restored[[0, pos]].abs() < 1e-4, "pos {pos}");
    }
    // Where they differ, something comes back.
    assert!(result.restored.row(0).iter().any(|&r| r.abs() > 0.05));
    let (_, _, best) = result.strongest().unwrap();
    assert!(best > 0.05);
}

#[test]
fn bad_inputs_are_refused() {
    let params = small_model();
    let err = resid_pre_patching(&params, &CLEAN, &CLEAN[..5], 1, 2, &NoIntervention).unwrap_err();
    assert!(matches!(
        err,
        PatchingError::LengthMismatch {
            clean: 8,
            corrupted: 5
        }
    ));
    assert!(err.to_string().contains("equal length"));
    let err = resid_pre_patching(&params, &CLEAN, &CORRUPTED, 4, 4, &NoIntervention).unwrap_err();
    assert!(err.to_string().contains("differ"), "{err}");
    let err = resid_pre_patching(&params, &CLEAN, &CORRUPTED, 20, 4, &NoIntervention).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
    let err = resid_pre_patching(&params, &CLEAN, &CLEAN, 1, 2, &NoIntervention).unwrap_err();
    assert!(matches!(err, PatchingError::NoDifference(_)), "{err}");
    let bad = [3, 7, 1, 19, 7, 3, 11, 25];
    let err = resid_pre_patching(&params, &CLEAN, &bad, 1, 2, &NoIntervention).unwrap_err();
    assert!(matches!(err, PatchingError::Input(_)), "{err}");
}
