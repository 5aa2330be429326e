//! Circuits from the weights (`interp::circuits`), checked two ways:
//! - against TransformerLens on the shipped induction model: its `composition_scores` (Q, K
//!   and V, as `all_composition_scores` masks them) and its `FactoredMatrix.eigenvalues`
//!   copying scores, after its own `fold_layer_norm` (numbers in
//!   `tests/data/circuits/induction_tl.json`, made by `scripts/tl_circuits.py`);
//! - against plain f64 products from the definitions, with every matrix formed, on a
//!   Llama-shaped fixture (RMSNorm, grouped-query heads: the fold scales without centring and
//!   the key/value heads are shared).

use std::path::Path;

use nalgebra::DMatrix;
use ndarray::{Array2, Axis};
use residual_explorer::interp::circuits::composition::random_baseline;
use residual_explorer::interp::circuits::copying::copying_score_of;
use residual_explorer::interp::circuits::fold::fold_reader;
use residual_explorer::interp::circuits::{
    CompositionKind, CompositionScores, FoldedHeads, Folding, copying_scores,
};
use residual_explorer::model::Params;
use residual_explorer::model::io::load_any;

fn load(relative: &str) -> Params<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    load_any(&path).unwrap().params
}

#[test]
fn composition_and_copying_equal_transformer_lens_on_the_induction_model() {
    let params = load("models/induction.safetensors");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/circuits/induction_tl.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let heads = FoldedHeads::of(&params);
    assert_eq!(heads.folding, Folding::ScaledAndCentred);
    for kind in CompositionKind::ALL {
        let ours = CompositionScores::compute(&heads, kind).scores;
        let theirs = &reference["composition"][kind.key()];
        let n = ours.nrows();
        assert_eq!(theirs.as_array().unwrap().len(), n);
        for earlier in 0..n {
            for later in 0..n {
                let want = theirs[earlier][later].as_f64().unwrap();
                let got = ours[[earlier, later]];
                assert!(
                    (got - want).abs() < 1e-9,
                    "{kind:?} [{earlier}, {later}]: {got} vs TransformerLens {want}"
                );
            }
        }
    }
    let copying = copying_scores(&params, &heads);
    for ((layer, head), &got) in copying.indexed_iter() {
        let want = reference["copying"][layer][head].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9,
            "L{layer}H{head}: {got} vs TransformerLens {want}"
        );
    }
    // The trained induction head copies: the circuit the lesson teaches.
    let (best_layer, _, best) = copying
        .indexed_iter()
        .map(|((l, h), &s)| (l, h, s))
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .unwrap();
    assert!(best_layer == 1 && best > 0.99, "{copying:?}");
}

/// The Frobenius norm of a formed matrix.
fn frobenius(m: &Array2<f64>) -> f64 {
    m.iter().map(|x| x * x).sum::<f64>().sqrt()
}

#[test]
fn scores_equal_the_definitions_with_every_matrix_formed() {
    let params = load("tests/data/llama-tiny");
    let config = &params.config;
    assert!(
        config.kv_heads() < config.n_heads,
        "the fixture shares key/value heads"
    );
    let heads = FoldedHeads::of(&params);
    assert_eq!(heads.folding, Folding::Scaled);
    let group = config.n_heads / config.kv_heads();
    // Folded by hand: RMSNorm's γ scales the rows of W_Q, W_K and W_V.
    let folded = |w: &ndarray::Array3<f32>, layer: usize, head: usize| -> Array2<f64> {
        let gamma = &params.blocks[layer].ln1.w;
        let w = w.index_axis(Axis(0), head).mapv(f64::from);
        Array2::from_shape_fn(w.dim(), |(i, j)| w[[i, j]] * f64::from(gamma[i]))
    };
    let circuit = |layer: usize, head: usize, kind: Option<CompositionKind>| -> Array2<f64> {
        let attn = &params.blocks[layer].attn;
        let q = folded(&attn.w_q, layer, head);
        let k = folded(&attn.w_k, layer, head / group);
        let v = folded(&attn.w_v, layer, head / group);
        let o = attn.w_o.index_axis(Axis(0), head).mapv(f64::from);
        match kind {
            None | Some(CompositionKind::V) => v.dot(&o),
            Some(CompositionKind::Q) => q.dot(&k.t()),
            Some(CompositionKind::K) => k.dot(&q.t()),
        }
    };
    for kind in CompositionKind::ALL {
        let scores = CompositionScores::compute(&heads, kind);
        for earlier in 0..config.n_heads {
            for later in 0..config.n_heads {
                let left = circuit(0, earlier, None);
                let right = circuit(1, later, Some(kind));
                let want = frobenius(&left.dot(&right)) / (frobenius(&left) * frobenius(&right));
                let got = scores.between(config.n_heads, (0, earlier), (1, later));
                assert!(
                    (got - want).abs() < 1e-9,
                    "{kind:?} L0H{earlier}→L1H{later}: {got} vs {want}"
                );
                // A head in the same layer does not compose with it.
                assert_eq!(
                    scores.between(config.n_heads, (1, earlier), (1, later)),
                    0.0
                );
            }
        }
    }
    // Copying: the eigenvalues of the whole d_vocab × d_vocab circuit W_E W_V W_O W_U'.
    let ln_final = params.ln_final.as_ref().unwrap();
    let unembed = fold_reader(params.unembed(), ln_final, Folding::Scaled); // [d, V]
    let embed = params.w_e.mapv(f64::from); // [V, d]
    let copying = copying_scores(&params, &heads);
    for layer in 0..config.n_layers {
        for head in 0..config.n_heads {
            let full = embed.dot(&circuit(layer, head, None)).dot(&unembed); // [V, V]
            let n = full.nrows();
            let eigenvalues = DMatrix::from_fn(n, n, |i, j| full[[i, j]]).complex_eigenvalues();
            let want = eigenvalues.iter().map(|l| l.re).sum::<f64>()
                / eigenvalues.iter().map(|l| l.norm()).sum::<f64>();
            let got = copying[[layer, head]];
            assert!(
                (got - want).abs() < 1e-7,
                "L{layer}H{head}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn copying_scores_of_known_matrices() {
    assert!(
        (copying_score_of(&Array2::eye(4)) - 1.0).abs() < 1e-12,
        "the identity copies"
    );
    assert!(
        (copying_score_of(&(-Array2::eye(3))) + 1.0).abs() < 1e-12,
        "its negative suppresses"
    );
    // A rotation by 90°: eigenvalues ±i, no copying either way.
    let rotation = ndarray::arr2(&[[0.0, -1.0], [1.0, 0.0]]);
    assert!(copying_score_of(&rotation).abs() < 1e-12);
    assert_eq!(copying_score_of(&Array2::zeros((2, 2))), 0.0);
    // A diverged run's weights: an answer (NaN), not an endless Schur iteration.
    let diverged = ndarray::arr2(&[[1.0, f64::NAN], [0.0, f64::INFINITY]]);
    assert!(copying_score_of(&diverged).is_nan());
}

#[test]
fn the_random_baseline_is_a_chance_level_between_zero_and_one() {
    let baseline = random_baseline(64, 16, 32, 0);
    assert!(baseline > 0.0 && baseline < 1.0, "{baseline}");
    // Seeded: the same draw twice.
    assert_eq!(baseline, random_baseline(64, 16, 32, 0));
    // Wider streams leave more room: random heads overlap less.
    assert!(random_baseline(256, 16, 32, 0) < baseline);
}

/// Runs `residual-explorer circuits --model models/induction.safetensors` with `args`.
fn circuits_cli(args: &[&str]) -> std::process::Output {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/induction.safetensors");
    std::process::Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .arg("circuits")
        .args(args)
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap()
}

/// The JSON a successful `circuits --json` printed.
fn circuits_json(args: &[&str]) -> serde_json::Value {
    let output = circuits_cli(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_cli_prints_every_head_and_the_induction_circuit_composes_above_chance() {
    let out = circuits_json(&["--json"]);
    let heads = out["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 8, "2 layers × 4 heads");
    let best = |key: &str| {
        heads
            .iter()
            .max_by(|a, b| {
                a[key]
                    .as_f64()
                    .unwrap()
                    .total_cmp(&b[key].as_f64().unwrap())
            })
            .map(|h| {
                (
                    h["layer"].as_u64().unwrap() as usize,
                    h["head"].as_u64().unwrap() as usize,
                )
            })
            .unwrap()
    };
    let (prev_layer, prev_head) = best("prev_token_score");
    let (ind_layer, ind_head) = best("induction_score");
    assert!(
        prev_layer < ind_layer,
        "the previous-token head comes first"
    );
    // The induction head reads the previous-token head through its keys, above chance.
    let k = &out["composition"]["k"];
    let score = k[prev_layer * 4 + prev_head][ind_layer * 4 + ind_head]
        .as_f64()
        .unwrap();
    let baseline = out["baseline"].as_f64().unwrap();
    assert!(
        score > 2.0 * baseline,
        "K-composition {score} vs baseline {baseline}"
    );
    // The same numbers as the library's.
    let params = load("models/induction.safetensors");
    let library = CompositionScores::compute(&FoldedHeads::of(&params), CompositionKind::K);
    assert_eq!(
        score,
        library.between(4, (prev_layer, prev_head), (ind_layer, ind_head))
    );
}

#[test]
fn token_circuits_and_singular_values_equal_the_formed_matrices() {
    use residual_explorer::interp::circuits::tokens::{
        direct_path, full_ov, full_qk, head_singular_values,
    };
    let params = load("models/induction.safetensors");
    let heads = FoldedHeads::of(&params);
    let tokens = [3, 17, 5, 30];
    let ln_final = params.ln_final.as_ref().unwrap();
    let unembed = fold_reader(params.unembed(), ln_final, Folding::ScaledAndCentred); // [d, V]
    let embed = params.w_e.mapv(f64::from); // [V, d]
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-9 * (1.0 + want.abs()),
            "{what}: {got} vs {want}"
        );
    };
    let direct = direct_path(&params, &tokens, &tokens);
    let table = embed.dot(&unembed); // the whole bigram table, V × V
    for (i, &from) in tokens.iter().enumerate() {
        for (j, &to) in tokens.iter().enumerate() {
            close(
                direct[[i, j]],
                table[[from as usize, to as usize]],
                "direct path",
            );
        }
    }
    let (layer, head) = (1, 0);
    let ov = heads.w_v[layer][head].dot(&heads.w_o[layer][head]); // [d, d]
    let qk = heads.w_q[layer][head].dot(&heads.w_k[layer][head].t()); // [d, d]
    let full_ov_table = embed.dot(&ov).dot(&unembed);
    let full_qk_table = embed.dot(&qk).dot(&embed.t());
    let ours_ov = full_ov(&params, &heads, (layer, head), &tokens);
    let ours_qk = full_qk(&params, &heads, (layer, head), &tokens);
    for (i, &a) in tokens.iter().enumerate() {
        for (j, &b) in tokens.iter().enumerate() {
            close(
                ours_ov[[i, j]],
                full_ov_table[[a as usize, b as usize]],
                "full OV",
            );
            close(
                ours_qk[[i, j]],
                full_qk_table[[a as usize, b as usize]],
                "full QK",
            );
        }
    }
    // Singular values: the d_model × d_model matrices' own, largest first; the rest are 0.
    let (ov_values, qk_values) = head_singular_values(&heads, (layer, head));
    for (values, formed) in [(ov_values, ov), (qk_values, qk)] {
        let d = formed.nrows();
        let matrix = DMatrix::from_fn(d, d, |i, j| formed[[i, j]]);
        let mut want: Vec<f64> = matrix.singular_values().iter().copied().collect();
        want.sort_by(|x, y| y.total_cmp(x));
        assert_eq!(values.len(), params.config.d_head);
        for (k, &got) in values.iter().enumerate() {
            close(got, want[k], "singular value");
        }
        assert!(want[values.len()] < 1e-9 * want[0], "rank at most d_head");
    }
}

#[test]
fn the_cli_prints_a_chosen_heads_circuits_and_refuses_a_head_that_is_not_there() {
    use residual_explorer::interp::circuits::tokens::full_ov;
    let run = |head: &str| circuits_cli(&["--json", "--head", head, "--tokens", "3,17,5"]);
    let out = circuits_json(&["--json", "--head", "1.0", "--tokens", "3,17,5"]);
    let selected = &out["selected"];
    assert_eq!(selected["ov_singular_values"].as_array().unwrap().len(), 16);
    let params = load("models/induction.safetensors");
    let library = full_ov(&params, &FoldedHeads::of(&params), (1, 0), &[3, 17, 5]);
    for i in 0..3 {
        // JSON text keeps 17 significant digits; serde_json reads the last one back ± 1 ulp.
        let printed = selected["full_ov"][i][i].as_f64().unwrap();
        assert!(
            (printed - library[[i, i]]).abs() < 1e-12,
            "{printed} vs {}",
            library[[i, i]]
        );
        // The induction head copies: each token promotes itself most.
        for j in 0..3 {
            assert!(i == j || library[[i, i]] > library[[i, j]], "{library:?}");
        }
    }
    let refused = run("2.0");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("2 layers of 4 heads"));
}

#[test]
fn without_tokens_a_small_vocabulary_gets_the_whole_tables() {
    let out = circuits_json(&["--json", "--head", "1.0"]);
    let full_ov = out["selected"]["full_ov"].as_array().unwrap();
    assert_eq!(full_ov.len(), 32, "the whole 32-token vocabulary");
    assert_eq!(full_ov[0].as_array().unwrap().len(), 32);
    assert_eq!(out["selected"]["direct_path"].as_array().unwrap().len(), 32);
}

#[test]
fn the_direct_path_row_over_the_vocabulary_equals_the_folded_table() {
    use residual_explorer::interp::circuits::tokens::{direct_path, direct_path_row};
    // LayerNorm (centred and scaled) and RMSNorm (scaled) final norms.
    for model in ["models/induction.safetensors", "tests/data/llama-tiny"] {
        let params = load(model);
        let vocab: Vec<u32> = (0..params.config.d_vocab as u32).collect();
        for token in [0, 7, params.config.d_vocab as u32 - 1] {
            let row = direct_path_row(&params, token);
            let table = direct_path(&params, &[token], &vocab); // f64, W_U folded
            assert_eq!(row.len(), vocab.len());
            let scale = table.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for (j, &got) in row.iter().enumerate() {
                let want = table[[0, j]];
                assert!(
                    (f64::from(got) - want).abs() <= 1e-5 * scale,
                    "{model} token {token} → {j}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn weight_circuits_computed_part_by_part_equal_each_computation_alone() {
    use residual_explorer::interp::circuits::{CircuitPart, WeightCircuits};
    let params = load("models/induction.safetensors");
    let mut circuits = WeightCircuits::start(&params);
    assert_eq!(circuits.parts_done(), 0);
    assert!(circuits.composition(CompositionKind::K).is_none());
    let mut order = Vec::new();
    while let Some(part) = circuits.compute_next(&params) {
        order.push(part);
    }
    assert_eq!(order, CircuitPart::ORDER);
    assert_eq!(circuits.parts_done(), CircuitPart::ORDER.len());
    let heads = FoldedHeads::of(&params);
    for kind in CompositionKind::ALL {
        let alone = CompositionScores::compute(&heads, kind);
        assert_eq!(circuits.composition(kind).unwrap().scores, alone.scores);
    }
    // W_U W_E is summed over vocabulary blocks on several threads, in whatever grouping
    // rayon picks: equal to rounding.
    let alone = copying_scores(&params, &heads);
    for (got, want) in circuits.copying().unwrap().iter().zip(alone.iter()) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    let baseline = random_baseline(params.config.d_model, params.config.d_head, 64, 0);
    assert_eq!(circuits.baseline, baseline);
}

/// A freshly trained induction model, read through the command line: `train` (seeded, the
/// shipped model's recipe cut to 3,000 steps), then `circuits --task induction --json`.
/// Averaged over the layer-1 heads with a high induction score, the layer-0 head with the
/// highest previous-token score has the highest K-composition of all layer-0 heads; and the
/// strongest induction head copies, as do the induction heads on average. (Not every
/// induction head copies: in this run two of them have copying scores of 0.15 and −0.2;
/// the shipped model, trained 5,000 steps, has all four positive.)
#[test]
fn a_freshly_trained_induction_model_composes_through_its_previous_token_head() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("induction.safetensors");
    let trained = std::process::Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["train", "--preset", "induction", "--task", "induction"])
        .args([
            "--steps", "3000", "--batch", "32", "--seq", "64", "--lr", "3e-3",
        ])
        .args(["--seed", "0", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["circuits", "--task", "induction", "--json", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(output.status.success());
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let heads = out["heads"].as_array().unwrap();
    let score =
        |layer: usize, head: usize, key: &str| heads[layer * 4 + head][key].as_f64().unwrap();
    let induction: Vec<usize> = (0..4)
        .filter(|&h| score(1, h, "induction_score") > 0.5)
        .collect();
    assert!(induction.len() >= 2, "induction heads formed: {heads:?}");
    let k = &out["composition"]["k"];
    let mean_k = |earlier: usize| {
        induction
            .iter()
            .map(|&h| k[earlier][4 + h].as_f64().unwrap())
            .sum::<f64>()
            / induction.len() as f64
    };
    let argmax = |f: &dyn Fn(usize) -> f64| (0..4).max_by(|&a, &b| f(a).total_cmp(&f(b))).unwrap();
    let previous_token_head = argmax(&|h| score(0, h, "prev_token_score"));
    assert!(score(0, previous_token_head, "prev_token_score") > 0.5);
    let composes_most = argmax(&mean_k);
    assert_eq!(
        composes_most,
        previous_token_head,
        "mean K-composition into the induction heads {induction:?}: {:?}",
        (0..4).map(mean_k).collect::<Vec<_>>()
    );
    assert!(mean_k(previous_token_head) > 2.0 * out["baseline"].as_f64().unwrap());
    let strongest = argmax(&|h| score(1, h, "induction_score"));
    assert!(score(1, strongest, "copying_score") > 0.0);
    let mean_copying = induction
        .iter()
        .map(|&h| score(1, h, "copying_score"))
        .sum::<f64>()
        / induction.len() as f64;
    assert!(mean_copying > 0.0, "{heads:?}");
}
