//! The modern Hugging Face families against their reference fixtures (tests/data/*-tiny,
//! made by transformers; see tests/data/FIXTURES.md): `trace --json` through the built
//! binary reproduces the logits, every hook of the contract, the attention patterns, the
//! logit lens at the layer boundaries and the loss; the library's trace reproduces what the
//! JSON contract does not carry (q and k before and after rotary, v, scores, z, the norms'
//! outputs, the MLP's inner values, Gemma's pre-norm sublayer outputs) and the rotary tables.
//! Tolerances are gpt2-tiny's: atol 1e-4 on activations and logits, 1e-5 on probabilities and
//! the loss.

use std::path::PathBuf;
use std::process::Command;

use ndarray::Axis;
use residual_explorer::model::io::load_any;
use residual_explorer::model::{Trace, forward};
use serde_json::Value;

const ATOL: f64 = 1e-4;
const PROB_TOL: f64 = 1e-5;

/// Every family fixture: folder name.
const FAMILIES: [&str; 6] = [
    "llama-tiny",
    "qwen2-tiny",
    "qwen3-tiny",
    "gpt_neox-tiny",
    "gpt_neo-tiny",
    "gemma3-tiny",
];

fn folder(family: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(family)
}

fn json(family: &str, file: &str) -> Value {
    let text = std::fs::read_to_string(folder(family).join(file)).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn input_ids(forward: &Value) -> Vec<u32> {
    forward["input_ids"]
        .as_array()
        .expect("input_ids")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

/// Nested JSON numbers, flattened row-major.
fn flat(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().expect("number")],
        Value::Object(_) => flat(&value["data"]),
        other => panic!("unexpected {other}"),
    }
}

fn shape(value: &Value) -> Vec<usize> {
    match value {
        Value::Object(_) => value["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .collect(),
        Value::Array(items) => {
            let mut dims = vec![items.len()];
            dims.extend(items.first().map(shape).unwrap_or_default());
            dims
        }
        _ => vec![],
    }
}

/// Asserts equal shapes and max |a − b| ≤ tol.
fn close(what: &str, ours: &Value, reference: &Value, tol: f64) {
    assert_eq!(shape(ours), shape(reference), "{what}: shape");
    let (a, b) = (flat(ours), flat(reference));
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(diff <= tol, "{what}: max abs diff {diff:e} > {tol:e}");
}

/// Compares library values (any iterator, row-major) with a fixture array.
fn close_values(what: &str, ours: impl IntoIterator<Item = f32>, reference: &Value, tol: f64) {
    let ours: Vec<f64> = ours.into_iter().map(f64::from).collect();
    let want = flat(reference);
    assert_eq!(ours.len(), want.len(), "{what}: length");
    let diff = ours
        .iter()
        .zip(&want)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(diff <= tol, "{what}: max abs diff {diff:e} > {tol:e}");
}

fn run_trace(family: &str, ids: &[u32]) -> Value {
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--model"])
        .arg(folder(family))
        .args(["--tokens", &ids.join(","), "--json"])
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{family}: exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

#[test]
fn trace_json_reproduces_hugging_face_for_every_family() {
    for family in FAMILIES {
        let fwd = json(family, "forward.json");
        let ids = input_ids(&fwd);
        let out = run_trace(family, &ids);
        let hooks = &out["hooks"];
        close(
            &format!("{family} logits"),
            &out["logits"],
            &fwd["logits"],
            ATOL,
        );
        close(
            &format!("{family} hook_embed"),
            &hooks["hook_embed"],
            &fwd["hook_embed"],
            ATOL,
        );
        let rotary = fwd["rotary"]
            .as_object()
            .is_some_and(|tables| !tables.is_empty());
        assert_eq!(
            hooks.get("hook_pos_embed").is_none(),
            rotary,
            "{family}: hook_pos_embed only with learned positions"
        );
        let blocks = fwd["blocks"].as_array().expect("blocks");
        for (layer, block) in blocks.iter().enumerate() {
            for key in [
                "hook_resid_pre",
                "hook_attn_out",
                "hook_mlp_out",
                "hook_resid_post",
                "hook_resid_mid",
            ] {
                let name = format!("blocks.{layer}.{key}");
                match block.get(key) {
                    Some(reference) => {
                        close(&format!("{family} {name}"), &hooks[&name], reference, ATOL)
                    }
                    None => assert!(
                        hooks.get(&name).is_none(),
                        "{family}: {name} must not exist (the reference has none)"
                    ),
                }
            }
            let name = format!("blocks.{layer}.attn.hook_pattern");
            close(
                &format!("{family} {name}"),
                &hooks[&name],
                &block["attn.hook_pattern"],
                PROB_TOL,
            );
        }
        close(
            &format!("{family} ln_final"),
            &hooks["ln_final.hook_normalized"],
            &fwd["ln_final.hook_normalized"],
            ATOL,
        );
        let loss = json(family, "loss_grads.json")["loss"]
            .as_f64()
            .expect("loss");
        let ours = out["loss"].as_f64().expect("our loss");
        assert!(
            (ours - loss).abs() <= PROB_TOL,
            "{family} loss {ours} vs {loss}"
        );
        check_lens(family, &out, blocks.len());
    }
}

/// The lens at the layer boundaries (`hook_resid_pre` of every block, then the last
/// `hook_resid_post`) against `logit_lens.json`: top-5 probabilities within 1e-5, ids equal
/// except where neighbouring probabilities are closer than 1e-6 (their order is a coin toss).
fn check_lens(family: &str, out: &Value, n_layers: usize) {
    let reference = json(family, "logit_lens.json");
    let top_ids = &reference["top_ids"]["data"];
    let top_probs = &reference["top_probs"]["data"];
    for boundary in 0..=n_layers {
        let name = if boundary < n_layers {
            format!("blocks.{boundary}.hook_resid_pre")
        } else {
            format!("blocks.{}.hook_resid_post", n_layers - 1)
        };
        let rows = out["logit_lens"][&name]
            .as_array()
            .unwrap_or_else(|| panic!("{family}: lens at {name}"));
        for (pos, row) in rows.iter().enumerate() {
            for k in 0..5 {
                let ours = &row[k];
                let want_prob = top_probs[boundary][pos][k].as_f64().expect("prob");
                let prob = ours["prob"].as_f64().expect("our prob");
                assert!(
                    (prob - want_prob).abs() <= PROB_TOL,
                    "{family} lens {name} pos {pos} rank {k}: {prob} vs {want_prob}"
                );
                let want_id = top_ids[boundary][pos][k].as_u64().expect("id");
                if ours["token"].as_u64() != Some(want_id) {
                    let near = |j: usize| {
                        top_probs[boundary][pos]
                            .get(j)
                            .and_then(Value::as_f64)
                            .is_some_and(|p| (p - want_prob).abs() < 1e-6)
                    };
                    assert!(
                        (k > 0 && near(k - 1)) || near(k + 1),
                        "{family} lens {name} pos {pos} rank {k}: id {} vs {want_id}",
                        ours["token"]
                    );
                }
            }
        }
    }
}

fn library_trace(family: &str) -> (Trace<f32>, Value) {
    let model = load_any(&folder(family)).unwrap_or_else(|e| panic!("{family}: {e}"));
    let fwd = json(family, "forward.json");
    let trace = forward(&model.params, &input_ids(&fwd)).expect("forward runs");
    (trace, fwd)
}

#[test]
fn every_intermediate_matches_in_the_library_trace() {
    for family in FAMILIES {
        let (trace, fwd) = library_trace(family);
        for (layer, (lt, block)) in trace
            .layers
            .iter()
            .zip(fwd["blocks"].as_array().expect("blocks"))
            .enumerate()
        {
            let what = |key: &str| format!("{family} blocks.{layer}.{key}");
            let check = |key: &str, ours: Vec<f32>, tol: f64| {
                close_values(&what(key), ours, &block[key], tol);
            };
            let values = |a: &ndarray::ArrayD<f32>| a.iter().copied().collect::<Vec<_>>();
            check(
                "ln1.hook_normalized",
                values(&lt.ln1.out.clone().into_dyn()),
                ATOL,
            );
            if block.get("attn.hook_q_pre_rotary").is_some() {
                let q = lt
                    .q_pre_rotary
                    .as_ref()
                    .expect("rotary keeps q before rotation");
                let k = lt.k_pre_rotary.as_ref().expect("and k");
                check(
                    "attn.hook_q_pre_rotary",
                    values(&q.clone().into_dyn()),
                    ATOL,
                );
                check(
                    "attn.hook_k_pre_rotary",
                    values(&k.clone().into_dyn()),
                    ATOL,
                );
            }
            check("attn.hook_q", values(&lt.q.clone().into_dyn()), ATOL);
            check("attn.hook_k", values(&lt.k.clone().into_dyn()), ATOL);
            check("attn.hook_v", values(&lt.v.clone().into_dyn()), ATOL);
            let scores = lt.scores.index_axis(Axis(0), 0).to_owned().into_dyn();
            check("attn.hook_attn_scores", values(&scores), ATOL);
            // hook_z is [T, H·dh] with head h in columns h·dh..; ours is [head, T, dh].
            let z =
                lt.z.view()
                    .permuted_axes([1, 0, 2])
                    .as_standard_layout()
                    .to_owned();
            check("attn.hook_z", values(&z.into_dyn()), ATOL);
            if block.get("attn_out_pre_norm").is_some() {
                let pre = lt.attn_out_pre_norm.as_ref().expect("sandwich keeps it");
                check("attn_out_pre_norm", values(&pre.clone().into_dyn()), ATOL);
            }
            let mlp = lt.mlp.as_ref().expect("every family has MLPs");
            check(
                "ln2.hook_normalized",
                values(&mlp.ln2.out.clone().into_dyn()),
                ATOL,
            );
            check("mlp.hook_pre", values(&mlp.pre.clone().into_dyn()), ATOL);
            check("mlp.hook_post", values(&mlp.post.clone().into_dyn()), ATOL);
            if block.get("mlp.hook_pre_linear").is_some() {
                let linear = mlp.pre_linear.as_ref().expect("gated MLPs keep it");
                check(
                    "mlp.hook_pre_linear",
                    values(&linear.clone().into_dyn()),
                    ATOL,
                );
            }
            if block.get("mlp_out_pre_norm").is_some() {
                let pre = mlp.out_pre_norm.as_ref().expect("sandwich keeps it");
                check("mlp_out_pre_norm", values(&pre.clone().into_dyn()), ATOL);
            }
        }
    }
}

#[test]
fn rotary_tables_equal_the_ones_hugging_face_used() {
    use residual_explorer::model::config::Positions;
    use residual_explorer::model::rotary::RopeTable;
    for family in FAMILIES {
        let fwd = json(family, "forward.json");
        let Some(tables) = fwd["rotary"].as_object().filter(|t| !t.is_empty()) else {
            continue;
        };
        let model = load_any(&folder(family)).expect("loads");
        let Positions::Rotary(rotary) = &model.params.config.positions else {
            panic!("{family}: the fixture is rotary")
        };
        let n_pos = input_ids(&fwd).len();
        for (kind, table) in tables {
            let theta = table["rope_theta"].as_f64().expect("theta");
            assert_eq!(
                table["rotary_dim"].as_u64(),
                Some(rotary.dim as u64),
                "{family}"
            );
            let ours = RopeTable::<f32>::new(rotary, theta, n_pos);
            // HF's tables are cat(freqs, freqs) over the rotated width.
            let doubled = |a: &ndarray::Array2<f32>| {
                a.outer_iter()
                    .flat_map(|row| row.iter().chain(row.iter()).copied().collect::<Vec<_>>())
                    .collect::<Vec<f32>>()
            };
            close_values(
                &format!("{family} {kind} cos"),
                doubled(&ours.cos),
                &table["cos"],
                1e-6,
            );
            close_values(
                &format!("{family} {kind} sin"),
                doubled(&ours.sin),
                &table["sin"],
                1e-6,
            );
        }
    }
}

/// `trace --text T --json` prints the ids the family's tokenizer gives T, exactly as the
/// Python `tokenizers` library did for every case of `tokenizer_cases.json` (BOS included
/// where the tokenizer adds it). A text that encodes to nothing is refused with a message.
#[test]
fn trace_text_gives_the_python_tokenizer_s_ids_for_every_case() {
    for family in FAMILIES {
        let cases = json(family, "tokenizer_cases.json");
        for case in cases["cases"].as_array().expect("cases") {
            let text = case["text"].as_str().expect("text");
            let want: Vec<u64> = case["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|id| id.as_u64().expect("id"))
                .collect();
            let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
                .args(["trace", "--model"])
                .arg(folder(family))
                .args(["--text", text, "--json"])
                .output()
                .expect("the binary runs");
            if want.is_empty() {
                assert!(
                    !output.status.success(),
                    "{family} {text:?}: nothing to run"
                );
                let message = String::from_utf8_lossy(&output.stderr);
                assert!(message.contains("empty"), "{family} {text:?}: {message}");
                continue;
            }
            assert!(
                output.status.success(),
                "{family} {text:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let out: Value = serde_json::from_slice(&output.stdout).expect("JSON");
            let got: Vec<u64> = out["tokens"]
                .as_array()
                .expect("tokens")
                .iter()
                .map(|id| id.as_u64().expect("id"))
                .collect();
            assert_eq!(got, want, "{family} {text:?}");
        }
    }
}
