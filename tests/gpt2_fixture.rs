//! The forward pass against the Hugging Face GPT-2 reference (tests/data/gpt2-tiny): every
//! recorded activation within the fixture README's tolerances (atol 1e-4 on activations and
//! logits, 1e-5 on probabilities and the loss).

mod common;

use common::{array, fixture_dir, fixture_json, input_ids, max_abs_diff};
use ndarray::{Axis, s};
use residual_explorer::model::io::hf::load_gpt2;
use residual_explorer::model::{Trace, forward};

const ATOL: f64 = 1e-4;

fn trace() -> Trace<f32> {
    let model = load_gpt2(&fixture_dir()).expect("fixture loads");
    forward(&model.params, &input_ids()).expect("forward runs")
}

fn check(name: &str, ours: impl IntoIterator<Item = f32>, reference: &serde_json::Value, tol: f64) {
    let (_, data) = array(reference);
    let diff = max_abs_diff(ours.into_iter().map(f64::from), &data);
    assert!(diff <= tol, "{name}: max abs diff {diff:e} > {tol:e}");
}

#[test]
fn logits_embeddings_and_residual_stream_match() {
    let t = trace();
    let fwd = fixture_json("forward.json");
    check("logits", t.logits.iter().copied(), &fwd["logits"], ATOL);
    check(
        "embed_tok",
        t.embed.iter().copied(),
        &fwd["embed_tok"],
        ATOL,
    );
    check(
        "embed_pos",
        t.pos_embed
            .as_ref()
            .expect("GPT-2 learns positions")
            .iter()
            .copied(),
        &fwd["embed_pos"],
        ATOL,
    );
    let (shape, resid) = array(&fwd["resid"]);
    let per_layer = shape[1] * shape[2];
    for (layer, lt) in t.layers.iter().enumerate() {
        let want = &resid[layer * per_layer..(layer + 1) * per_layer];
        let diff = max_abs_diff(lt.resid_pre.iter().map(|&x| x as f64), want);
        assert!(diff <= ATOL, "resid_pre {layer}: {diff:e}");
    }
    let last = &resid[t.layers.len() * per_layer..];
    let diff = max_abs_diff(t.final_resid().iter().map(|&x| x as f64), last);
    assert!(diff <= ATOL, "final resid: {diff:e}");
}

#[test]
fn every_block_intermediate_matches() {
    let t = trace();
    let fwd = fixture_json("forward.json");
    for (layer, lt) in t.layers.iter().enumerate() {
        let block = &fwd["blocks"][layer];
        let mlp = lt.mlp.as_ref().expect("GPT-2 has MLPs");
        check(
            "ln_1_out",
            lt.ln1.out.iter().copied(),
            &block["ln_1_out"],
            ATOL,
        );
        check("q", lt.q.iter().copied(), &block["q"], ATOL);
        check("k", lt.k.iter().copied(), &block["k"], ATOL);
        check("v", lt.v.iter().copied(), &block["v"], ATOL);
        check(
            "attn_scores",
            lt.scores.index_axis(Axis(0), 0).iter().copied(),
            &block["attn_scores"],
            ATOL,
        );
        // attn_z is [T, D] with head h in columns h·dh..; ours is [head, T, dh].
        let z =
            lt.z.view()
                .permuted_axes([1, 0, 2])
                .as_standard_layout()
                .to_owned();
        check("attn_z", z.iter().copied(), &block["attn_z"], ATOL);
        check(
            "resid_mid",
            lt.resid_mid.iter().copied(),
            &block["resid_mid"],
            ATOL,
        );
        check(
            "ln_2_out",
            mlp.ln2.out.iter().copied(),
            &block["ln_2_out"],
            ATOL,
        );
        check(
            "mlp_pre_act",
            mlp.pre.iter().copied(),
            &block["mlp_pre_act"],
            ATOL,
        );
        let (_, attn_out) = array(&fwd["attn_out"]);
        let (_, mlp_out) = array(&fwd["mlp_out"]);
        let n = lt.attn_out.len();
        let diff = max_abs_diff(
            lt.attn_out.iter().map(|&x| x as f64),
            &attn_out[layer * n..(layer + 1) * n],
        );
        assert!(diff <= ATOL, "attn_out {layer}: {diff:e}");
        let diff = max_abs_diff(
            mlp.out.iter().map(|&x| x as f64),
            &mlp_out[layer * n..(layer + 1) * n],
        );
        assert!(diff <= ATOL, "mlp_out {layer}: {diff:e}");
    }
}

#[test]
fn attention_patterns_match_to_probability_tolerance() {
    let t = trace();
    let fwd = fixture_json("forward.json");
    let (_, patterns) = array(&fwd["attn_patterns"]);
    let ours: Vec<f64> = t
        .layers
        .iter()
        .flat_map(|lt| {
            lt.pattern
                .slice(s![0, .., .., ..])
                .iter()
                .map(|&x| x as f64)
                .collect::<Vec<_>>()
        })
        .collect();
    let diff = max_abs_diff(ours, &patterns);
    assert!(diff <= 1e-5, "patterns: {diff:e}");
}

#[test]
fn loss_matches() {
    let t = trace();
    let reference = fixture_json("loss_grads.json")["loss"].as_f64().unwrap();
    let loss = t.loss().unwrap() as f64;
    assert!(
        (loss - reference).abs() <= 1e-5,
        "loss {loss} vs {reference}"
    );
}
