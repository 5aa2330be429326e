//! `trace --analysis` through the built binary against the Hugging Face GPT-2 fixture
//! (tests/data/gpt2-tiny): the terms of the final stream, their norms, shares and
//! projections, their direct logit attribution and every head's output equal a plain
//! computation, written here from the definitions, out of the fixture's hooks (forward.json)
//! and its weights (model.safetensors). Also: bad `--pos` / `--target` are refused.

mod common;

use std::process::{Command, Output};

use common::{array, fixture_dir, fixture_json, input_ids};
use serde_json::Value;

/// forward.json is written at 1e-4 of the f64 reference (its README).
const ATOL: f64 = 1e-4;

fn run(args: &[&str]) -> Output {
    let ids: Vec<String> = input_ids().iter().map(u32::to_string).collect();
    Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["trace", "--model"])
        .arg(fixture_dir())
        .args(["--tokens", &ids.join(",")])
        .args(args)
        .output()
        .expect("the binary runs")
}

fn analysis(args: &[&str]) -> Value {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut object: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    object["analysis"].take()
}

/// A named tensor of the fixture's weights as f64 values.
fn weight(file: &safetensors::SafeTensors<'_>, name: &str) -> Vec<f64> {
    let view = file.tensor(name).expect(name);
    view.data()
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} against {w}");
    }
}

/// Every term of the final stream at `pos`, by name, from the fixture alone:
/// `embed` = W_E[token], `pos` = W_pos[pos], `L{l}H{h}` = z[pos, head h] · W_O[h],
/// `L{l} b_O` = c_proj.bias, `L{l} mlp` = hook_mlp_out; and the final stream.
fn plain_terms(pos: usize) -> (Vec<(String, Vec<f64>)>, Vec<f64>) {
    let forward = fixture_json("forward.json");
    let bytes = std::fs::read(fixture_dir().join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let model = &forward["model"];
    let d = model["n_embd"].as_u64().unwrap() as usize;
    let heads = model["n_head"].as_u64().unwrap() as usize;
    let layers = model["n_layer"].as_u64().unwrap() as usize;
    let d_head = d / heads;
    let at = |name: &str, outer: Option<usize>| -> Vec<f64> {
        let (shape, data) = array(&forward[name]);
        let width = shape[shape.len() - 1];
        let plane = shape[shape.len() - 2] * width;
        let start = outer.unwrap_or(0) * plane + pos * width;
        data[start..start + width].to_vec()
    };
    let mut terms = vec![
        ("embed".to_string(), at("embed_tok", None)),
        ("pos".to_string(), at("embed_pos", None)),
    ];
    for layer in 0..layers {
        let (_, z) = array(&forward["blocks"][layer]["attn_z"]);
        let z = &z[pos * d..(pos + 1) * d];
        let w_o = weight(&file, &format!("transformer.h.{layer}.attn.c_proj.weight"));
        for head in 0..heads {
            let result: Vec<f64> = (0..d)
                .map(|out| {
                    (0..d_head)
                        .map(|k| z[head * d_head + k] * w_o[(head * d_head + k) * d + out])
                        .sum()
                })
                .collect();
            terms.push((format!("L{layer}H{head}"), result));
        }
        let b_o = weight(&file, &format!("transformer.h.{layer}.attn.c_proj.bias"));
        terms.push((format!("L{layer} b_O"), b_o));
        terms.push((format!("L{layer} mlp"), at("mlp_out", Some(layer))));
    }
    let stream = at("resid", Some(layers));
    (terms, stream)
}

/// Checks one `analysis` object against the plain computation at its position.
fn check(analysis: &Value, pos: usize, target: u32) {
    assert_eq!(analysis["pos"], pos);
    assert_eq!(analysis["target"]["token"], target);
    assert_eq!(analysis["stage"], "blocks.1.hook_resid_post");
    let (terms, stream) = plain_terms(pos);

    // The decomposition: names in the Contributions view's order, vectors, measures.
    let got = &analysis["terms"];
    let items = got["items"].as_array().expect("terms.items");
    let names: Vec<&str> = items.iter().map(|t| t["term"].as_str().unwrap()).collect();
    let want_names: Vec<&str> = terms.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, want_names);
    assert_close("stream", &floats(&got["stream"]), &stream, ATOL);
    let stream_norm = dot(&stream, &stream).sqrt();
    assert!((got["stream_norm"].as_f64().unwrap() - stream_norm).abs() <= ATOL);
    let sum: Vec<f64> = (0..stream.len())
        .map(|i| terms.iter().map(|(_, v)| v[i]).sum())
        .collect();
    assert_close("Σ plain terms against the stream", &sum, &stream, ATOL);
    let error = got["reconstruction_error"].as_f64().unwrap();
    assert!(
        (0.0..=1e-5).contains(&error),
        "reconstruction error {error}"
    );
    for (item, (name, vector)) in items.iter().zip(&terms) {
        assert_close(name, &floats(&item["vector"]), vector, ATOL);
        let norm = dot(vector, vector).sqrt();
        let projection = dot(vector, &stream) / stream_norm;
        let share = projection / stream_norm;
        let measures = [("norm", norm), ("projection", projection), ("share", share)];
        for (key, want) in measures {
            let got = item[key].as_f64().unwrap();
            assert!(
                (got - want).abs() <= ATOL,
                "{name} {key}: {got} against {want}"
            );
        }
    }

    // DLA through the frozen final scale: (t − mean t) · (w ⊙ u) / σ(final stream), with
    // ln_f.b · u (and b_U, none in GPT-2) as the constant.
    let bytes = std::fs::read(fixture_dir().join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let d = stream.len();
    let w_e = weight(&file, "transformer.wte.weight");
    let u = &w_e[target as usize * d..(target as usize + 1) * d];
    let w = weight(&file, "transformer.ln_f.weight");
    let b = weight(&file, "transformer.ln_f.bias");
    let eps = fixture_json("config.json")["layer_norm_epsilon"]
        .as_f64()
        .unwrap();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let stream_mean = mean(&stream);
    let variance = mean(
        &stream
            .iter()
            .map(|x| (x - stream_mean).powi(2))
            .collect::<Vec<_>>(),
    );
    let rstd = 1.0 / (variance + eps).sqrt();
    let w_u: Vec<f64> = w.iter().zip(u).map(|(w, u)| w * u).collect();
    let dla = &analysis["dla"];
    let dla_items = dla["items"].as_array().expect("dla.items");
    assert_eq!(dla_items.len(), terms.len());
    let mut total = 0.0;
    for (item, (name, vector)) in dla_items.iter().zip(&terms) {
        assert_eq!(item["term"], name.as_str());
        let term_mean = mean(vector);
        let centred: Vec<f64> = vector.iter().map(|x| x - term_mean).collect();
        let want = dot(&centred, &w_u) * rstd;
        total += want;
        let got = item["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-3,
            "DLA of {name}: {got} against {want}"
        );
    }
    let constant = dot(&b, u);
    let (_, logits) = array(&fixture_json("forward.json")["logits"]);
    let d_vocab = logits.len() / input_ids().len();
    let logit = logits[pos * d_vocab + target as usize];
    assert!(
        (total + constant - logit).abs() <= 1e-3,
        "plain Σ DLA + constant {} against the logit {logit}",
        total + constant
    );
    for (key, want) in [("constant", constant), ("logit", logit), ("sum", logit)] {
        let got = dla[key].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-3,
            "dla.{key}: {got} against {want}"
        );
    }
    assert!(dla["reconstruction_error"].as_f64().unwrap() <= 1e-4);

    // Every head's output at the position.
    let head_results = analysis["head_results"].as_object().expect("head_results");
    assert_eq!(head_results.len(), 2);
    for layer in 0..2 {
        let heads = head_results[&format!("blocks.{layer}.attn.hook_result")]
            .as_array()
            .unwrap();
        assert_eq!(heads.len(), 4);
        for (head, got) in heads.iter().enumerate() {
            let name = format!("L{layer}H{head}");
            let (_, want) = terms.iter().find(|(n, _)| *n == name).unwrap();
            assert_close(&name, &floats(got), want, ATOL);
        }
    }
}

/// The fixture's most probable next token at `pos`.
fn top_token(pos: usize) -> u32 {
    let (_, logits) = array(&fixture_json("forward.json")["logits"]);
    let d_vocab = logits.len() / input_ids().len();
    let row = &logits[pos * d_vocab..(pos + 1) * d_vocab];
    (0..d_vocab)
        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
        .unwrap() as u32
}

#[test]
fn the_default_analysis_is_the_last_position_and_the_top_token() {
    let last = input_ids().len() - 1;
    let got = analysis(&["--analysis"]);
    assert_eq!(got["target"]["chosen"], "top");
    check(&got, last, top_token(last));
}

#[test]
fn a_chosen_position_and_target_equal_the_plain_computation() {
    let got = analysis(&["--analysis", "--pos", "3", "--target", "17"]);
    assert_eq!(got["target"]["chosen"], "given");
    check(&got, 3, 17);
}

#[test]
fn json_without_analysis_has_no_analysis_key() {
    let output = run(&["--json"]);
    let object: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(object.get("analysis").is_none());
}

#[test]
fn bad_positions_and_targets_are_refused() {
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["--analysis", "--pos", "12"],
            1,
            "past the last position (11",
        ),
        (
            &["--analysis", "--target", "96"],
            1,
            "outside the vocabulary (0..96)",
        ),
        (
            &["--analysis", "--target", "first"],
            2,
            "neither `top` nor a token id",
        ),
        (&["--json", "--pos", "3"], 2, "--analysis"),
    ];
    for (args, code, needle) in cases {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed on stdout");
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} lacks {needle:?}"
        );
    }
}
