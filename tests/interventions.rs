//! Interventions change exactly what they should: zeroing a head removes its term from the
//! decomposition and leaves every upstream term as it was; scaling by 1 changes nothing;
//! zeroing the residual connections equals the config with residuals off; mean ablation
//! writes the mean; patches are listed, replaced and removed.

use std::sync::Arc;

use ndarray::Axis;
use residual_explorer::interp::interventions::{
    Component, Interventions, Patch, PatchAction, forward_with, reference_mean,
};
use residual_explorer::interp::{
    AccumulatedResid, Composition, Decomposition, Stage, SumBreak, Term, stream_stages,
};
use residual_explorer::model::{Params, Trace, forward};

mod common;

/// The shared small model with std 0.2.
fn small_model(seed: u64) -> Params<f32> {
    common::small_model(seed, 0.2)
}

const TOKENS: [u32; 9] = [3, 7, 1, 19, 7, 3, 11, 0, 5];

fn decomposition(params: &Params<f32>, trace: &Trace<f32>) -> Decomposition {
    let resid = AccumulatedResid::at_stages(trace, &stream_stages(&params.config));
    Decomposition::compute(params, trace, &resid)
}

fn term_index(decomposition: &Decomposition, term: Term) -> usize {
    decomposition.terms.iter().position(|&t| t == term).unwrap()
}

#[test]
fn zeroing_a_head_removes_exactly_its_term() {
    let params = small_model(1);
    let plain = forward(&params, &TOKENS).unwrap();
    let mut patches = Interventions::new();
    patches
        .add(
            Patch::zero(Component::Head { layer: 1, head: 2 }),
            &params.config,
        )
        .unwrap();
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    let before = decomposition(&params, &plain);
    let after = decomposition(&params, &patched);
    assert_eq!(before.terms, after.terms);

    let ablated = term_index(&after, Term::Head { layer: 1, head: 2 });
    assert!(
        before
            .values(&plain, ablated)
            .iter()
            .any(|&x| x.abs() > 1e-3),
        "the head wrote something before"
    );
    assert!(after.values(&patched, ablated).iter().all(|&x| x == 0.0));
    // Everything written before or beside it (embeddings, layer 0, layer 1's other heads
    // and its b_O) is bit-for-bit the same.
    let layer1_mlp = term_index(&after, Term::Mlp { layer: 1 });
    for (index, term) in after.terms.iter().enumerate().take(layer1_mlp) {
        if index != ablated {
            assert_eq!(
                before.values(&plain, index),
                after.values(&patched, index),
                "{} changed",
                term.label()
            );
        }
    }
    // Downstream terms see the change.
    assert_ne!(
        before.values(&plain, layer1_mlp),
        after.values(&patched, layer1_mlp)
    );
    assert_ne!(plain.logits, patched.logits);
    // The stream is still the sum of its terms.
    assert!(after.max_reconstruction_error() < 1e-4);
}

#[test]
fn zeroing_an_mlp_zeroes_its_term_and_keeps_its_layer_attention() {
    let params = small_model(2);
    let plain = forward(&params, &TOKENS).unwrap();
    let mut patches = Interventions::new();
    patches
        .add(Patch::zero(Component::Mlp { layer: 0 }), &params.config)
        .unwrap();
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    assert!(
        patched.layers[0]
            .mlp
            .as_ref()
            .unwrap()
            .out
            .iter()
            .all(|&x| x == 0.0)
    );
    assert_eq!(plain.layers[0].head_result, patched.layers[0].head_result);
    assert_eq!(plain.layers[0].resid_mid, patched.layers[0].resid_post);
    assert_ne!(plain.layers[1].head_result, patched.layers[1].head_result);
    assert!(decomposition(&params, &patched).max_reconstruction_error() < 1e-4);
}

#[test]
fn zeroing_an_attention_sublayer_zeroes_every_head_and_keeps_its_bias() {
    let params = small_model(8);
    let mut params = params;
    params.blocks[1].attn.b_o.fill(0.25);
    let mut patches = Interventions::new();
    patches
        .add(Patch::zero(Component::Attn { layer: 1 }), &params.config)
        .unwrap();
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    assert!(patched.layers[1].head_result.iter().all(|&x| x == 0.0));
    assert!(patched.layers[1].attn_out.iter().all(|&x| x == 0.25));
    assert_eq!(
        patched.layers[0],
        forward(&params, &TOKENS).unwrap().layers[0]
    );
    assert!(decomposition(&params, &patched).max_reconstruction_error() < 1e-4);
    assert_eq!(patches.labels(), ["zero L1 attn"]);
    let error = patches
        .add(
            Patch {
                component: Component::Attn { layer: 0 },
                action: PatchAction::ReferenceMean(Arc::new(vec![0.0; 32])),
            },
            &params.config,
        )
        .unwrap_err();
    assert!(error.contains("one head"), "{error}");
}

#[test]
fn scaling_by_one_changes_nothing_and_by_two_doubles_the_term() {
    let params = small_model(3);
    let plain = forward(&params, &TOKENS).unwrap();
    let mut patches = Interventions::new();
    for component in [
        Component::Head { layer: 0, head: 1 },
        Component::Attn { layer: 1 },
        Component::Mlp { layer: 2 },
        Component::AttnResidual { layer: 1 },
        Component::MlpResidual { layer: 0 },
    ] {
        patches
            .add(Patch::scale(component, 1.0), &params.config)
            .unwrap();
    }
    assert_eq!(forward_with(&params, &TOKENS, &patches).unwrap(), plain);

    let mut double = Interventions::new();
    let head = Component::Head { layer: 2, head: 3 };
    double.add(Patch::scale(head, 2.0), &params.config).unwrap();
    let doubled = forward_with(&params, &TOKENS, &double).unwrap();
    let expected = plain.layers[2]
        .head_result
        .index_axis(Axis(0), 3)
        .mapv(|x| x * 2.0);
    assert_eq!(
        doubled.layers[2].head_result.index_axis(Axis(0), 3),
        expected
    );
}

#[test]
fn zeroing_every_residual_connection_equals_the_config_without_residuals() {
    let params = small_model(4);
    let mut without = params.clone();
    without.config.residual = false;
    let expected = forward(&without, &TOKENS).unwrap();
    let mut patches = Interventions::new();
    for layer in 0..3 {
        patches
            .add(
                Patch::zero(Component::AttnResidual { layer }),
                &params.config,
            )
            .unwrap();
        patches
            .add(
                Patch::zero(Component::MlpResidual { layer }),
                &params.config,
            )
            .unwrap();
    }
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    assert_eq!(patched, expected);
    assert_ne!(patched.logits, forward(&params, &TOKENS).unwrap().logits);
}

#[test]
fn zeroing_one_residual_connection_leaves_only_that_sublayer_output() {
    let params = small_model(5);
    let plain = forward(&params, &TOKENS).unwrap();
    let mut patches = Interventions::new();
    patches
        .add(
            Patch::zero(Component::AttnResidual { layer: 1 }),
            &params.config,
        )
        .unwrap();
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    // Upstream unchanged, attention of layer 1 unchanged (it reads resid_pre).
    assert_eq!(plain.layers[0], patched.layers[0]);
    assert_eq!(plain.layers[1].attn_out, patched.layers[1].attn_out);
    // x' = attn(x) instead of x + attn(x); the MLP's residual is still there.
    assert_eq!(patched.layers[1].resid_mid, patched.layers[1].attn_out);
    let mlp_out = &patched.layers[1].mlp.as_ref().unwrap().out;
    assert_eq!(
        patched.layers[1].resid_post,
        &patched.layers[1].resid_mid + mlp_out
    );
}

#[test]
fn with_a_residual_connection_zeroed_the_stream_is_the_sum_of_the_terms_after_the_cut() {
    let params = small_model(5);
    let config = &params.config;
    let stages = stream_stages(config);
    let decompose = |patches: &Interventions| {
        let trace = forward_with(&params, &TOKENS, patches).unwrap();
        let resid = AccumulatedResid::at_stages(&trace, &stages);
        Decomposition::compute_with_skips(&params, &trace, &resid, &patches.skip_changes())
    };
    let mut cut = Interventions::new();
    cut.add(Patch::zero(Component::AttnResidual { layer: 1 }), config)
        .unwrap();
    let decomposition = decompose(&cut);
    // Every stage that is a sum adds up, the ones after the cut included; without being told
    // about the cut, the analysis would have summed the embeddings and layer 0 in too.
    assert!(decomposition.max_reconstruction_error() < 1e-5);
    let first_after = term_index(&decomposition, Term::Head { layer: 1, head: 0 });
    let at_end = decomposition.at(Stage::MlpAdded { layer: 2 }).unwrap();
    match &at_end.composition {
        Composition::SinceCut { range, reason } => {
            assert_eq!(range.start, first_after);
            assert_eq!(range.end, decomposition.terms.len());
            assert_eq!(reason, &SumBreak::CutZeroed("L1 attn".into()));
            assert!(reason.to_string().contains("L1 attn"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Before the cut the stream is still the sum of everything so far.
    let before = decomposition.at(Stage::MlpAdded { layer: 0 }).unwrap();
    assert!(matches!(before.composition, Composition::AllTermsSoFar(_)));
    let limit = decomposition
        .limit
        .as_ref()
        .expect("the cut is where it stops");
    assert_eq!(limit.stops_at, Stage::AttnAdded { layer: 1 });
    // Without the list of cuts the same trace does not add up: the check is real.
    let trace = forward_with(&params, &TOKENS, &cut).unwrap();
    let resid = AccumulatedResid::at_stages(&trace, &stages);
    let blind = Decomposition::compute(&params, &trace, &resid);
    assert!(blind.max_reconstruction_error() > 1e-2);

    // A scaled connection is no sum at all.
    let mut scaled = Interventions::new();
    scaled
        .add(
            Patch::scale(Component::MlpResidual { layer: 0 }, 0.5),
            config,
        )
        .unwrap();
    let decomposition = decompose(&scaled);
    let after = decomposition.at(Stage::MlpAdded { layer: 0 }).unwrap();
    assert!(matches!(after.composition, Composition::NotASum { .. }));
    assert!(decomposition.max_reconstruction_error() < 1e-5);
}

#[test]
fn mean_ablation_writes_the_prompt_mean_or_the_reference_mean() {
    let params = small_model(6);
    let plain = forward(&params, &TOKENS).unwrap();
    let head = Component::Head { layer: 1, head: 0 };
    let mut patches = Interventions::new();
    patches
        .add(Patch::mean_ablate(head), &params.config)
        .unwrap();
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    let original = plain.layers[1].head_result.index_axis(Axis(0), 0); // [pos, d_model]
    let ablated = patched.layers[1].head_result.index_axis(Axis(0), 0);
    for d in 0..params.config.d_model {
        let mean = original
            .column(d)
            .iter()
            .map(|&x| f64::from(x))
            .sum::<f64>()
            / TOKENS.len() as f64;
        for pos in 0..TOKENS.len() {
            assert!((f64::from(ablated[[pos, d]]) - mean).abs() < 1e-6);
        }
    }
    assert_eq!(
        patched.layers[1].head_result.index_axis(Axis(0), 1),
        plain.layers[1].head_result.index_axis(Axis(0), 1)
    );

    let reference: Vec<&[u32]> = vec![&[1, 2, 3, 4, 5, 6], &[9, 8, 7, 6, 5, 4]];
    let mean = reference_mean(&params, &reference, head).unwrap();
    assert_eq!(mean.len(), params.config.d_model);
    let mut patches = Interventions::new();
    let patch = Patch {
        component: head,
        action: PatchAction::ReferenceMean(Arc::new(mean.clone())),
    };
    assert_eq!(patch.label(), "mean-ablate L1H0 (reference mean)");
    patches.add(patch, &params.config).unwrap();
    let patched = forward_with(&params, &TOKENS, &patches).unwrap();
    for row in patched.layers[1]
        .head_result
        .index_axis(Axis(0), 0)
        .outer_iter()
    {
        assert_eq!(row.to_vec(), mean);
    }
}

#[test]
fn patches_are_listed_replaced_removed_and_checked() {
    let params = small_model(7);
    let config = &params.config;
    let mut patches = Interventions::new();
    let head = Component::Head { layer: 0, head: 3 };
    patches.add(Patch::zero(head), config).unwrap();
    patches
        .add(Patch::scale(Component::Mlp { layer: 2 }, 0.5), config)
        .unwrap();
    patches
        .add(Patch::zero(Component::MlpResidual { layer: 1 }), config)
        .unwrap();
    assert_eq!(
        patches.labels(),
        [
            "zero L0H3",
            "scale L2 mlp × 0.5",
            "zero L1 residual around mlp"
        ]
    );
    // One patch per component: a new one replaces the old in place.
    patches.add(Patch::mean_ablate(head), config).unwrap();
    assert_eq!(patches.labels()[0], "mean-ablate L0H3 (prompt mean)");
    assert_eq!(patches.patches().len(), 3);
    assert!(patches.remove(1).is_some());
    assert!(patches.remove(5).is_none());
    assert!(patches.remove_component(head).is_some());
    assert!(
        patches
            .remove_component(Component::MlpResidual { layer: 1 })
            .is_some()
    );
    assert!(patches.is_empty());
    assert_eq!(
        forward_with(&params, &TOKENS, &patches).unwrap(),
        forward(&params, &TOKENS).unwrap()
    );

    // Bad patches are refused with the reason.
    let error = patches
        .add(Patch::zero(Component::Head { layer: 3, head: 0 }), config)
        .unwrap_err();
    assert!(error.contains("3 layers"), "{error}");
    let error = patches
        .add(Patch::zero(Component::Head { layer: 0, head: 4 }), config)
        .unwrap_err();
    assert!(error.contains("4 heads"), "{error}");
    let error = patches
        .add(Patch::scale(head, f32::NAN), config)
        .unwrap_err();
    assert!(error.contains("finite"), "{error}");
    let short = PatchAction::ReferenceMean(Arc::new(vec![0.0; 3]));
    let error = patches
        .add(
            Patch {
                component: head,
                action: short,
            },
            config,
        )
        .unwrap_err();
    assert!(error.contains("d_model"), "{error}");
    let mut attn_only = config.clone();
    attn_only.attn_only = true;
    let error = patches
        .add(Patch::zero(Component::Mlp { layer: 0 }), &attn_only)
        .unwrap_err();
    assert!(error.contains("no MLP"), "{error}");
    assert!(patches.is_empty());

    // After a model change, patches that no longer fit are dropped and named.
    patches
        .add(Patch::zero(Component::Head { layer: 2, head: 1 }), config)
        .unwrap();
    patches.add(Patch::zero(head), config).unwrap();
    let mut smaller = config.clone();
    smaller.n_layers = 2;
    assert_eq!(patches.retain_valid(&smaller), ["zero L2H1"]);
    assert_eq!(patches.labels(), ["zero L0H3"]);
}
