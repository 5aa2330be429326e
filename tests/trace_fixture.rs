//! `trace --json` through the built binary against the Hugging Face GPT-2 fixture
//! (tests/data/gpt2-tiny, see its README): logits, every hook, attention patterns, the logit
//! lens top-5 and the loss, within the README's tolerances (atol 1e-4 on activations and
//! logits, 1e-5 on probabilities and the loss; lens neighbours closer than 1e-6 may swap).
//! The JSON floats must also be the library's f32 values exactly (shortest round-trip form).

mod common;

use std::process::Command;

use common::{array, fixture_dir, fixture_json, input_ids, max_abs_diff};
use residual_explorer::model::forward;
use residual_explorer::model::io::hf::load_gpt2;
use serde_json::Value;

const ATOL: f64 = 1e-4;
const PROB_TOL: f64 = 1e-5;

/// stdout of `trace --json` on the fixture's input.
fn run_trace_stdout() -> Vec<u8> {
    let ids: Vec<String> = input_ids().iter().map(u32::to_string).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--model"])
        .arg(fixture_dir())
        .args(["--tokens", &ids.join(","), "--json"])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn run_trace_json() -> Value {
    serde_json::from_slice(&run_trace_stdout()).expect("stdout is one JSON object")
}

/// Asserts that `object` has exactly `keys` (serde_json's `Value` sorts them) and that they
/// appear in this order in the printed text.
fn assert_keys_in_order(what: &str, raw: &str, object: &Value, keys: &[&str]) {
    let mut got: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = keys.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{what}: keys");
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| raw.find(&format!("\"{k}\":")).expect("key printed"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{what}: order");
}

/// Nested JSON numbers, flattened row-major.
fn flat(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("unexpected {other}"),
    }
}

/// The shape of a nested JSON array.
fn shape(value: &Value) -> Vec<usize> {
    match value {
        Value::Array(items) => {
            let mut dims = vec![items.len()];
            dims.extend(items.first().map(shape).unwrap_or_default());
            dims
        }
        _ => vec![],
    }
}

/// `reference` [n, ...] → its `index`-th slice, row-major.
fn slice(reference: &Value, index: usize) -> Vec<f64> {
    let (shape, data) = array(reference);
    let size: usize = shape[1..].iter().product();
    data[index * size..(index + 1) * size].to_vec()
}

fn check(what: &str, ours: &Value, want_shape: &[usize], want: &[f64], tol: f64) {
    assert_eq!(shape(ours), want_shape, "{what}: shape");
    let diff = max_abs_diff(flat(ours), want);
    assert!(diff <= tol, "{what}: max abs diff {diff:e} > {tol:e}");
}

#[test]
fn trace_json_matches_the_hugging_face_fixture() {
    let raw = String::from_utf8(run_trace_stdout()).unwrap();
    let json: Value = serde_json::from_str(&raw).unwrap();
    let fwd = fixture_json("forward.json");
    let (t, d, l) = (12, 64, 2);
    let top_level = [
        "tokens",
        "token_texts",
        "logits",
        "loss",
        "hooks",
        "logit_lens",
    ];
    assert_keys_in_order("top level", &raw, &json, &top_level);
    let ids: Vec<u64> = input_ids().iter().map(|&i| u64::from(i)).collect();
    let tokens: Vec<u64> = json["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(tokens, ids);
    let texts: Vec<String> = ids.iter().map(u64::to_string).collect();
    assert_eq!(
        json["token_texts"],
        serde_json::json!(texts),
        "no tokenizer: ids as text"
    );

    let (logit_shape, logits) = array(&fwd["logits"]);
    check("logits", &json["logits"], &logit_shape, &logits, ATOL);
    let loss = json["loss"].as_f64().unwrap();
    let want_loss = fixture_json("loss_grads.json")["loss"].as_f64().unwrap();
    assert!(
        (loss - want_loss).abs() <= PROB_TOL,
        "loss {loss} vs {want_loss}"
    );

    let hooks = &json["hooks"];
    let mut names = vec!["hook_embed".to_string(), "hook_pos_embed".to_string()];
    for layer in 0..l {
        for suffix in [
            "hook_resid_pre",
            "attn.hook_pattern",
            "hook_attn_out",
            "hook_resid_mid",
            "hook_mlp_out",
            "hook_resid_post",
        ] {
            names.push(format!("blocks.{layer}.{suffix}"));
        }
    }
    names.push("ln_final.hook_normalized".into());
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_keys_in_order("hooks", &raw, hooks, &names);

    let (_, embed) = array(&fwd["embed_tok"]);
    check("hook_embed", &hooks["hook_embed"], &[t, d], &embed, ATOL);
    let (_, pos) = array(&fwd["embed_pos"]);
    check(
        "hook_pos_embed",
        &hooks["hook_pos_embed"],
        &[t, d],
        &pos,
        ATOL,
    );
    for layer in 0..l {
        let hook = |suffix: &str| &hooks[format!("blocks.{layer}.{suffix}")];
        let block = &fwd["blocks"][layer];
        let what = |name: &str| format!("layer {layer} {name}");
        check(
            &what("resid_pre"),
            hook("hook_resid_pre"),
            &[t, d],
            &slice(&fwd["resid"], layer),
            ATOL,
        );
        check(
            &what("pattern"),
            hook("attn.hook_pattern"),
            &[4, t, t],
            &slice(&fwd["attn_patterns"], layer),
            PROB_TOL,
        );
        check(
            &what("attn_out"),
            hook("hook_attn_out"),
            &[t, d],
            &slice(&fwd["attn_out"], layer),
            ATOL,
        );
        check(
            &what("resid_mid"),
            hook("hook_resid_mid"),
            &[t, d],
            &array(&block["resid_mid"]).1,
            ATOL,
        );
        check(
            &what("mlp_out"),
            hook("hook_mlp_out"),
            &[t, d],
            &slice(&fwd["mlp_out"], layer),
            ATOL,
        );
        check(
            &what("resid_post"),
            hook("hook_resid_post"),
            &[t, d],
            &slice(&fwd["resid"], layer + 1),
            ATOL,
        );
    }
    check(
        "ln_final.hook_normalized",
        &hooks["ln_final.hook_normalized"],
        &[t, d],
        &slice(&fwd["hidden_states_hf"], l),
        ATOL,
    );
}

/// Our top-5 (ids, probs) against the reference's, allowing neighbours whose reference
/// probabilities differ by less than 1e-6 to come in either order.
fn check_top5(what: &str, ours: &Value, want_ids: &[f64], want_probs: &[f64]) {
    let entries = ours.as_array().unwrap();
    assert_eq!(entries.len(), 5, "{what}: k");
    let ids: Vec<f64> = entries
        .iter()
        .map(|e| e["token"].as_f64().unwrap())
        .collect();
    let probs: Vec<f64> = entries
        .iter()
        .map(|e| e["prob"].as_f64().unwrap())
        .collect();
    for rank in 0..5 {
        let same = ids[rank] == want_ids[rank];
        let swapped_with = |other: usize| {
            ids[rank] == want_ids[other] && (want_probs[rank] - want_probs[other]).abs() < 1e-6
        };
        let ok =
            same || (rank > 0 && swapped_with(rank - 1)) || (rank < 4 && swapped_with(rank + 1));
        assert!(
            ok,
            "{what}: rank {rank} is {} (want {:?})",
            ids[rank], want_ids
        );
        assert!(
            (probs[rank] - want_probs[rank]).abs() <= PROB_TOL,
            "{what}: rank {rank} prob"
        );
        assert_eq!(
            entries[rank]["text"],
            Value::String(format!("{}", ids[rank] as u64)),
            "{what}: text"
        );
    }
}

#[test]
fn logit_lens_matches_the_fixture_at_layer_boundaries_and_mid_block() {
    let raw = String::from_utf8(run_trace_stdout()).unwrap();
    let json: Value = serde_json::from_str(&raw).unwrap();
    let lens = &json["logit_lens"];
    let lens_keys = [
        "blocks.0.hook_resid_pre",
        "blocks.0.hook_resid_mid",
        "blocks.1.hook_resid_pre",
        "blocks.1.hook_resid_mid",
        "blocks.1.hook_resid_post",
    ];
    let lens_text = &raw[raw.find("\"logit_lens\":").unwrap()..];
    assert_keys_in_order("logit_lens", lens_text, lens, &lens_keys);
    let reference = fixture_json("logit_lens.json");
    let (_, top_ids) = array(&reference["top_ids"]); // [L+1, T, 5]
    let (_, top_probs) = array(&reference["top_probs"]);
    let boundaries = [
        "blocks.0.hook_resid_pre",
        "blocks.1.hook_resid_pre",
        "blocks.1.hook_resid_post",
    ];
    for (boundary, name) in boundaries.iter().enumerate() {
        for pos in 0..12 {
            let at = (boundary * 12 + pos) * 5;
            check_top5(
                &format!("{name} pos {pos}"),
                &lens[*name][pos],
                &top_ids[at..at + 5],
                &top_probs[at..at + 5],
            );
        }
    }

    // Mid-block stages have no reference file: compute the lens of the fixture's resid_mid
    // here in f64 (ln_f with the stream's own statistics, tied unembedding, softmax).
    let model = load_gpt2(&fixture_dir()).unwrap();
    let ln = model.params.ln_final.as_ref().unwrap();
    let fwd = fixture_json("forward.json");
    for layer in 0..2 {
        let resid_mid = array(&fwd["blocks"][layer]["resid_mid"]).1; // [T, D]
        for pos in 0..12 {
            let x = &resid_mid[pos * 64..(pos + 1) * 64];
            let mean = x.iter().sum::<f64>() / 64.0;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 64.0;
            let normed: Vec<f64> = (0..64)
                .map(|i| {
                    (x[i] - mean) / (var + 1e-5).sqrt() * f64::from(ln.w[i]) + f64::from(ln.b[i])
                })
                .collect();
            let logits: Vec<f64> = (0..96)
                .map(|v| {
                    (0..64)
                        .map(|i| normed[i] * f64::from(model.params.w_e[[v, i]]))
                        .sum()
                })
                .collect();
            let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = logits.iter().map(|z| (z - max).exp()).sum();
            let mut ranked: Vec<(f64, f64)> = (0..96)
                .map(|v| ((logits[v] - max).exp() / total, v as f64))
                .collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            let want_ids: Vec<f64> = ranked[..5].iter().map(|r| r.1).collect();
            let want_probs: Vec<f64> = ranked[..5].iter().map(|r| r.0).collect();
            let name = format!("blocks.{layer}.hook_resid_mid");
            check_top5(
                &format!("{name} pos {pos}"),
                &lens[&name][pos],
                &want_ids,
                &want_probs,
            );
        }
    }
}

#[test]
fn json_floats_are_the_library_f32_values_exactly() {
    let json = run_trace_json();
    let model = load_gpt2(&fixture_dir()).unwrap();
    let trace = forward(&model.params, &input_ids()).unwrap();
    let printed = flat(&json["logits"]);
    assert_eq!(printed.len(), trace.logits.len());
    for (&text_value, &ours) in printed.iter().zip(trace.logits.iter()) {
        assert_eq!(
            (text_value as f32).to_bits(),
            ours.to_bits(),
            "{text_value} vs {ours}"
        );
    }
    let printed = flat(&json["hooks"]["blocks.1.attn.hook_pattern"]);
    for (&text_value, &ours) in printed.iter().zip(trace.layers[1].pattern.iter()) {
        assert_eq!((text_value as f32).to_bits(), ours.to_bits());
    }
    assert_eq!(json["loss"].as_f64().unwrap() as f32, trace.loss().unwrap());
}

#[test]
fn a_single_token_has_a_null_loss_and_the_table_prints() {
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--model"])
        .arg(fixture_dir())
        .args(["--tokens", "7", "--json", "--top-k", "500"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["loss"], Value::Null);
    // --top-k above the vocabulary shows the whole vocabulary, most probable first.
    let lens = &json["logit_lens"]["blocks.1.hook_resid_post"][0];
    let probs: Vec<f64> = lens
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["prob"].as_f64().unwrap())
        .collect();
    assert_eq!(probs.len(), 96);
    assert!(probs.windows(2).all(|w| w[0] >= w[1]));
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-5);

    let table = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--model"])
        .arg(fixture_dir())
        .args(["--tokens", "78, 78, 13", "--top-k", "2"])
        .output()
        .unwrap();
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("3 tokens"), "{text}");
    assert!(text.contains("loss "), "{text}");
    assert_eq!(text.lines().count(), 1 + 1 + 3 + 1, "{text}");
}
