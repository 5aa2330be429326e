//! The hand-written backward against PyTorch autograd on the Hugging Face GPT-2 fixture
//! (tests/data/gpt2-tiny/loss_grads.json): the full gradients it stores element by element
//! (atol 1e-5 + rtol 1e-3, the README's tolerance), and the L2 norm and the sum of the
//! gradient of every parameter with bounds derived from that same per-element tolerance.
//!
//! HF names map to ours: `c_attn` [D, 3D] is `[W_Q | W_K | W_V]` with head h in columns
//! `h·dh..`, which is exactly our W_Q/W_K/W_V [head, D, dh] read column-wise; `attn.c_proj`
//! [D, D] is W_O [head, dh, D] flattened; `mlp.c_fc`/`mlp.c_proj` are W_in/W_out.

mod common;

use common::{array, fixture_dir, fixture_json, input_ids};
use ndarray::Axis;
use residual_explorer::model::Params;
use residual_explorer::model::backward::{loss_and_grads, next_token_targets};
use residual_explorer::model::io::hf::load_gpt2;

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-3;

/// Our gradient of the HF parameter `name`, flattened in HF's row-major layout.
fn hf_layout(grads: &Params<f32>, name: &str) -> Vec<f64> {
    let name = name.strip_prefix("transformer.").unwrap_or(name);
    let flat = |values: &mut dyn Iterator<Item = &f32>| values.map(|&x| x as f64).collect();
    match name {
        "wte.weight" => return flat(&mut grads.w_e.iter()),
        "wpe.weight" => return flat(&mut grads.w_pos.iter()),
        "ln_f.weight" => return flat(&mut grads.ln_final.as_ref().unwrap().w.iter()),
        "ln_f.bias" => return flat(&mut grads.ln_final.as_ref().unwrap().b.iter()),
        _ => {}
    }
    let rest = name.strip_prefix("h.").expect("block parameter");
    let (layer, suffix) = rest.split_once('.').unwrap();
    let block = &grads.blocks[layer.parse::<usize>().unwrap()];
    let mlp = block.mlp.as_ref().unwrap();
    let attn = &block.attn;
    match suffix {
        "ln_1.weight" => flat(&mut block.ln1.w.iter()),
        "ln_1.bias" => flat(&mut block.ln1.b.iter()),
        "ln_2.weight" => flat(&mut mlp.ln2.w.iter()),
        "ln_2.bias" => flat(&mut mlp.ln2.b.iter()),
        "attn.c_attn.weight" => {
            let (n_heads, d_model, _) = attn.w_q.dim();
            let mut out = Vec::new();
            for row in 0..d_model {
                for w in [&attn.w_q, &attn.w_k, &attn.w_v] {
                    for head in 0..n_heads {
                        out.extend(
                            w.index_axis(Axis(0), head)
                                .row(row)
                                .iter()
                                .map(|&x| x as f64),
                        );
                    }
                }
            }
            out
        }
        "attn.c_attn.bias" => [&attn.b_q, &attn.b_k, &attn.b_v]
            .iter()
            .flat_map(|b| b.iter().map(|&x| x as f64))
            .collect(),
        "attn.c_proj.weight" => flat(&mut attn.w_o.iter()),
        "attn.c_proj.bias" => flat(&mut attn.b_o.iter()),
        "mlp.c_fc.weight" => flat(&mut mlp.w_in.iter()),
        "mlp.c_fc.bias" => flat(&mut mlp.b_in.iter()),
        "mlp.c_proj.weight" => flat(&mut mlp.w_out.iter()),
        "mlp.c_proj.bias" => flat(&mut mlp.b_out.iter()),
        other => panic!("unmapped HF parameter {other}"),
    }
}

fn our_loss_and_grads() -> (f32, Params<f32>) {
    let model = load_gpt2(&fixture_dir()).expect("fixture loads");
    let ids = input_ids();
    let targets = next_token_targets(&ids, ids.len());
    let out = loss_and_grads(&model.params, &[&ids], &targets)
        .expect("valid input")
        .expect("has targets");
    (out.loss, out.grads)
}

#[test]
fn loss_matches_reference() {
    let (loss, _) = our_loss_and_grads();
    let reference = fixture_json("loss_grads.json")["loss"].as_f64().unwrap();
    assert!(
        (loss as f64 - reference).abs() <= 1e-5,
        "{loss} vs {reference}"
    );
}

#[test]
fn stored_full_gradients_match_elementwise() {
    let (_, grads) = our_loss_and_grads();
    let reference = fixture_json("loss_grads.json");
    let stored = reference["grads"].as_object().unwrap();
    assert!(stored.len() >= 10, "the fixture stores full gradients");
    for (name, value) in stored {
        let (shape, want) = array(value);
        let mut ours = hf_layout(&grads, name);
        // wpe's reference is cut to the first T rows (the rest are exactly 0).
        ours.truncate(want.len());
        assert_eq!(ours.len(), shape.iter().product::<usize>(), "{name}");
        for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= ATOL + RTOL * b.abs(),
                "{name}[{i}]: ours {a:e} vs reference {b:e}"
            );
        }
    }
}

#[test]
fn every_parameter_gradient_norm_and_sum_match() {
    let (_, grads) = our_loss_and_grads();
    let reference = fixture_json("loss_grads.json");
    let norms = reference["grad_l2_norms"].as_object().unwrap();
    let sums = &reference["grad_sums"];
    assert_eq!(norms.len(), 28, "every GPT-2 tensor has a reference norm");
    for (name, norm) in norms {
        let ours = hf_layout(&grads, name);
        let n = ours.len() as f64;
        let want_norm = norm.as_f64().unwrap();
        let want_sum = sums[name].as_f64().unwrap();
        let our_norm = ours.iter().map(|x| x * x).sum::<f64>().sqrt();
        let our_sum: f64 = ours.iter().sum();
        let sum_abs: f64 = ours.iter().map(|x| x.abs()).sum();
        // Per-element |Δ| ≤ atol + rtol·|g| bounds the norm's error by atol·√n + rtol·‖g‖
        // and the sum's by atol·n + rtol·Σ|g|.
        let norm_bound = ATOL * n.sqrt() + RTOL * want_norm;
        let sum_bound = ATOL * n + RTOL * sum_abs;
        assert!(
            (our_norm - want_norm).abs() <= norm_bound,
            "{name}: norm {our_norm} vs {want_norm}"
        );
        assert!(
            (our_sum - want_sum).abs() <= sum_bound,
            "{name}: sum {our_sum} vs {want_sum}"
        );
    }
}

#[test]
fn tied_embedding_gradient_splits_into_lm_head_and_lookup_parts() {
    // The lm_head part alone: dlogitsᵀ · ln_f(resid) — our total minus the lookup rows.
    let (_, grads) = our_loss_and_grads();
    let reference = fixture_json("loss_grads.json");
    let (_, from_head) = array(&reference["wte_grad_from_lm_head"]);
    let row_ids: Vec<usize> = reference["wte_grad_from_embedding"]["row_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let d_model = grads.w_e.ncols();
    // Rows never looked up carry only the lm_head part.
    for (token, row) in grads.w_e.outer_iter().enumerate() {
        if row_ids.contains(&token) {
            continue;
        }
        for (j, &g) in row.iter().enumerate() {
            let want = from_head[token * d_model + j];
            assert!((g as f64 - want).abs() <= ATOL + RTOL * want.abs());
        }
    }
}
