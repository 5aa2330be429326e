//! The shipped induction model (`models/induction.safetensors`, the `induction` preset
//! trained on the induction task; see models/README.md) has the two-layer induction circuit
//! by the head scores' own measure: a previous-token head in layer 0 and an induction head
//! in layer 1 scoring above 0.5, where the same architecture at initialisation scores near
//! zero. Zeroing the induction heads takes the scores' predictions away.
//!
//! Training it takes minutes; `cargo run --release --example induction_timeline` runs the
//! explorer's default training setup headless and prints the head scores on its timeline.

use std::path::Path;

use residual_explorer::interp::head_scores::{HeadScores, ScoreKind, ScoreProbe};
use residual_explorer::interp::interventions::{Component, Interventions, Patch, forward_with};
use residual_explorer::model::hooks::NoIntervention;
use residual_explorer::model::io::load_any;
use residual_explorer::model::{InitOptions, Params};

/// `BOS r r` with r 12 distinct task symbols (2..32), 8 sequences.
fn probe() -> ScoreProbe {
    ScoreProbe::repeated_random(32, 64, 2, Some(0), 12, 8, 1).unwrap()
}

fn shipped() -> Params<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/induction.safetensors");
    load_any(&path).unwrap().params
}

#[test]
fn the_shipped_model_has_a_previous_token_head_and_an_induction_head() {
    let params = shipped();
    let scores = HeadScores::compute(&params, &probe(), &NoIntervention).unwrap();
    let (layer, head, induction) = scores.best(ScoreKind::Induction).unwrap();
    eprintln!("best induction head L{layer}H{head}: {induction:.3}");
    eprintln!("previous-token scores:\n{:.3}", scores.previous_token);
    eprintln!("induction scores:\n{:.3}", scores.induction);
    assert!(induction > 0.5, "an induction head: {induction}");
    assert_eq!(layer, 1, "it needs a layer below it");
    let previous = scores
        .previous_token
        .row(0)
        .iter()
        .copied()
        .fold(0.0, f32::max);
    assert!(
        previous > 0.5,
        "layer 0 has a previous-token head: {previous}"
    );
    // Layer 0 cannot be an induction head (nothing below it writes the previous token).
    assert!(scores.induction.row(0).iter().all(|&s| s < 0.2));

    // The same shape at initialisation has no such heads.
    let random = Params::<f32>::init(&params.config, InitOptions::default()).unwrap();
    let at_init = HeadScores::compute(&random, &probe(), &NoIntervention).unwrap();
    assert!(at_init.best(ScoreKind::Induction).unwrap().2 < 0.2);
    assert!(at_init.best(ScoreKind::PreviousToken).unwrap().2 < 0.2);

    // In the weights (the scores the training view plots beside these): the induction head
    // copies and reads layer 0 through its keys more than the untrained one does.
    let copying = scores.of(ScoreKind::Copying)[[layer, head]];
    assert!(copying > 0.9, "the induction head copies: {copying}");
    let k = scores.of(ScoreKind::KComposition)[[layer, head]];
    let k_at_init = at_init.of(ScoreKind::KComposition)[[layer, head]];
    assert!(
        k > 1.5 * k_at_init,
        "K-composition {k} against {k_at_init} at init"
    );
    assert!(
        scores.k_composition.row(0).iter().all(|&s| s == 0.0),
        "nothing below layer 0"
    );
}

/// Fraction of repeated tokens (after the first of the repeat) predicted correctly.
fn repeat_accuracy(params: &Params<f32>, interventions: &Interventions) -> f64 {
    let probe = probe();
    let (mut correct, mut total) = (0, 0);
    for sequence in &probe.sequences {
        let trace = forward_with(params, sequence, interventions).unwrap();
        for pos in probe.repeat_start..sequence.len() - 1 {
            let row = trace.logits.row(pos);
            let best = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            correct += usize::from(best as u32 == sequence[pos + 1]);
            total += 1;
        }
    }
    correct as f64 / total as f64
}

#[test]
fn zeroing_layer_one_takes_the_repeats_away() {
    let params = shipped();
    let plain = repeat_accuracy(&params, &Interventions::new());
    let mut ablated = Interventions::new();
    ablated
        .add(Patch::zero(Component::Attn { layer: 1 }), &params.config)
        .unwrap();
    let without = repeat_accuracy(&params, &ablated);
    eprintln!("repeat accuracy {plain:.3}, with layer 1's heads zeroed {without:.3}");
    assert!(plain > 0.9, "{plain}");
    assert!(without < 0.2, "{without}");
}
