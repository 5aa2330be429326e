//! Every architectural variant (post-LN, ReLU, residual off, untied with b_U, attention-only,
//! no final norm, and all of them at once) against a plain f64 forward pass written here
//! with simple loops from the definitions, sharing no code with src/model/forward.rs. Logits
//! and the residual stream at every layer (resid_pre, resid_mid, resid_post, and the sums
//! before each post-LN LayerNorm) must agree to 1e-4.

mod trace_support;

use residual_explorer::model::{
    Activation, ModelConfig, NormPlacement, Params, TokenId, Trace, forward,
};
use trace_support::{random_params, random_tokens, variants};

type Matrix = Vec<Vec<f64>>; // [rows, cols]

const ATOL: f64 = 1e-4;

/// What the reference computes, per layer.
struct Reference {
    resid_pre: Vec<Matrix>,
    resid_mid_pre_norm: Vec<Matrix>,
    resid_mid: Vec<Matrix>,
    resid_post_pre_norm: Vec<Matrix>,
    resid_post: Vec<Matrix>,
    logits: Matrix,
}

fn get1(a: &ndarray::Array1<f32>, i: usize) -> f64 {
    f64::from(a[i])
}

fn zeros(rows: usize, cols: usize) -> Matrix {
    vec![vec![0.0; cols]; rows]
}

fn add(a: &Matrix, b: &Matrix) -> Matrix {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p + q).collect())
        .collect()
}

/// `(x − mean) / sqrt(var + eps) · w + b`, biased variance, row by row.
fn layer_norm(x: &Matrix, w: &ndarray::Array1<f32>, b: &ndarray::Array1<f32>, eps: f64) -> Matrix {
    x.iter()
        .map(|row| {
            let n = row.len() as f64;
            let mean = row.iter().sum::<f64>() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            let inv = 1.0 / (var + eps).sqrt();
            (0..row.len())
                .map(|i| (row[i] - mean) * inv * get1(w, i) + get1(b, i))
                .collect()
        })
        .collect()
}

fn gelu_new(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
}

/// Causal multi-head attention with biases, then W_O and b_O.
fn attention(x: &Matrix, params: &Params<f32>, layer: usize) -> Matrix {
    let a = &params.blocks[layer].attn;
    let c = &params.config;
    let t = x.len();
    let mut out = zeros(t, c.d_model);
    for h in 0..c.n_heads {
        let project = |w: &ndarray::Array3<f32>, b: &ndarray::Array2<f32>| -> Matrix {
            (0..t)
                .map(|p| {
                    (0..c.d_head)
                        .map(|j| {
                            let mut s = f64::from(b[[h, j]]);
                            for i in 0..c.d_model {
                                s += x[p][i] * f64::from(w[[h, i, j]]);
                            }
                            s
                        })
                        .collect()
                })
                .collect()
        };
        let q = project(&a.w_q, &a.b_q);
        let k = project(&a.w_k, &a.b_k);
        let v = project(&a.w_v, &a.b_v);
        for query in 0..t {
            let scores: Vec<f64> = (0..=query)
                .map(|key| {
                    (0..c.d_head).map(|j| q[query][j] * k[key][j]).sum::<f64>()
                        / (c.d_head as f64).sqrt()
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = exps.iter().sum();
            let z: Vec<f64> = (0..c.d_head)
                .map(|j| (0..=query).map(|key| exps[key] / total * v[key][j]).sum())
                .collect();
            for i in 0..c.d_model {
                out[query][i] += (0..c.d_head)
                    .map(|j| z[j] * f64::from(a.w_o[[h, j, i]]))
                    .sum::<f64>();
            }
        }
    }
    for row in &mut out {
        for (i, value) in row.iter_mut().enumerate() {
            *value += get1(&a.b_o, i);
        }
    }
    out
}

/// `act(x · W_in + b_in) · W_out + b_out`.
fn mlp(x: &Matrix, params: &Params<f32>, layer: usize) -> Matrix {
    let m = params.blocks[layer].mlp.as_ref().unwrap();
    let c = &params.config;
    x.iter()
        .map(|row| {
            let hidden: Vec<f64> = (0..c.d_mlp)
                .map(|j| {
                    let pre = get1(&m.b_in, j)
                        + (0..c.d_model)
                            .map(|i| row[i] * f64::from(m.w_in[[i, j]]))
                            .sum::<f64>();
                    match c.activation {
                        Activation::GeluNew => gelu_new(pre),
                        Activation::Relu => pre.max(0.0),
                        // The Hugging Face fixtures are the reference for the families'
                        // activations (tests/hf_families.rs).
                        other => unimplemented!("{other:?} has no plain reference here"),
                    }
                })
                .collect();
            (0..c.d_model)
                .map(|i| {
                    get1(&m.b_out, i)
                        + (0..c.d_mlp)
                            .map(|j| hidden[j] * f64::from(m.w_out[[j, i]]))
                            .sum::<f64>()
                })
                .collect()
        })
        .collect()
}

fn reference(params: &Params<f32>, tokens: &[TokenId]) -> Reference {
    let c: &ModelConfig = &params.config;
    let eps = c.layer_norm_eps;
    let skip = |x: &Matrix| {
        if c.residual {
            x.clone()
        } else {
            zeros(x.len(), c.d_model)
        }
    };
    let mut x: Matrix = tokens
        .iter()
        .enumerate()
        .map(|(p, &t)| {
            (0..c.d_model)
                .map(|i| f64::from(params.w_e[[t as usize, i]]) + f64::from(params.w_pos[[p, i]]))
                .collect()
        })
        .collect();
    let mut r = Reference {
        resid_pre: vec![],
        resid_mid_pre_norm: vec![],
        resid_mid: vec![],
        resid_post_pre_norm: vec![],
        resid_post: vec![],
        logits: vec![],
    };
    for layer in 0..c.n_layers {
        let block = &params.blocks[layer];
        r.resid_pre.push(x.clone());
        let mid = match c.norm {
            NormPlacement::Pre => {
                let a = attention(
                    &layer_norm(&x, &block.ln1.w, &block.ln1.b, eps),
                    params,
                    layer,
                );
                add(&skip(&x), &a)
            }
            other @ (NormPlacement::Parallel | NormPlacement::Sandwich) => {
                unimplemented!("{other:?}: the Hugging Face fixtures are its reference")
            }
            NormPlacement::Post => {
                let sum = add(&skip(&x), &attention(&x, params, layer));
                r.resid_mid_pre_norm.push(sum.clone());
                layer_norm(&sum, &block.ln1.w, &block.ln1.b, eps)
            }
        };
        r.resid_mid.push(mid.clone());
        x = match &block.mlp {
            None => mid,
            Some(m) => match c.norm {
                NormPlacement::Pre => {
                    let out = mlp(&layer_norm(&mid, &m.ln2.w, &m.ln2.b, eps), params, layer);
                    add(&skip(&mid), &out)
                }
                other @ (NormPlacement::Parallel | NormPlacement::Sandwich) => {
                    unimplemented!("{other:?}: the Hugging Face fixtures are its reference")
                }
                NormPlacement::Post => {
                    let sum = add(&skip(&mid), &mlp(&mid, params, layer));
                    r.resid_post_pre_norm.push(sum.clone());
                    layer_norm(&sum, &m.ln2.w, &m.ln2.b, eps)
                }
            },
        };
        r.resid_post.push(x.clone());
    }
    let final_in = match &params.ln_final {
        Some(ln) => layer_norm(&x, &ln.w, &ln.b, eps),
        None => x,
    };
    r.logits = final_in
        .iter()
        .map(|row| {
            (0..c.d_vocab)
                .map(|v| {
                    let w_u = |i: usize| match &params.w_u {
                        Some(w_u) => f64::from(w_u[[i, v]]),
                        None => f64::from(params.w_e[[v, i]]),
                    };
                    let bias = params.b_u.as_ref().map_or(0.0, |b| get1(b, v));
                    bias + (0..c.d_model).map(|i| row[i] * w_u(i)).sum::<f64>()
                })
                .collect()
        })
        .collect();
    r
}

fn assert_close(what: &str, ours: &ndarray::Array2<f32>, want: &Matrix) {
    assert_eq!(ours.nrows(), want.len(), "{what}: rows");
    let mut worst = 0.0f64;
    for (row, want_row) in ours.outer_iter().zip(want) {
        assert_eq!(row.len(), want_row.len(), "{what}: columns");
        for (&a, &b) in row.iter().zip(want_row) {
            worst = worst.max((f64::from(a) - b).abs());
        }
    }
    assert!(worst <= ATOL, "{what}: max abs diff {worst:e} > {ATOL:e}");
}

fn check_variant(name: &str, config: &ModelConfig, trace: &Trace<f32>, want: &Reference) {
    assert_close(&format!("{name}: logits"), &trace.logits, &want.logits);
    for (layer, lt) in trace.layers.iter().enumerate() {
        let what = |hook: &str| format!("{name}: layer {layer} {hook}");
        assert_close(&what("resid_pre"), &lt.resid_pre, &want.resid_pre[layer]);
        assert_close(&what("resid_mid"), &lt.resid_mid, &want.resid_mid[layer]);
        assert_close(&what("resid_post"), &lt.resid_post, &want.resid_post[layer]);
        let post = config.norm == NormPlacement::Post;
        assert_eq!(lt.resid_mid_pre_norm.is_some(), post, "{}", what("mid sum"));
        if let Some(sum) = &lt.resid_mid_pre_norm {
            assert_close(
                &what("resid_mid_pre_norm"),
                sum,
                &want.resid_mid_pre_norm[layer],
            );
        }
        assert_eq!(lt.mlp.is_none(), config.attn_only, "{}", what("mlp"));
        if let Some(sum) = &lt.resid_post_pre_norm {
            assert_close(
                &what("resid_post_pre_norm"),
                sum,
                &want.resid_post_pre_norm[layer],
            );
        }
    }
    assert_eq!(
        trace.ln_final.is_some(),
        config.final_norm,
        "{name}: ln_final"
    );
}

#[test]
fn every_variant_matches_a_plain_f64_forward() {
    for (index, (name, config)) in variants().into_iter().enumerate() {
        let params = random_params(&config, index as u64);
        let tokens = random_tokens(config.d_vocab, 9, index as u64);
        let trace = forward(&params, &tokens).expect("valid tokens");
        check_variant(name, &config, &trace, &reference(&params, &tokens));
    }
}

#[test]
fn the_reference_is_sensitive_to_each_switch() {
    // Guards against a reference that ignores a switch: flipping any one of them changes
    // the logits by far more than the tolerance.
    let base_config = trace_support::small_config();
    let params = random_params(&base_config, 7);
    let tokens = random_tokens(base_config.d_vocab, 9, 7);
    let base = reference(&params, &tokens).logits;
    for (name, config) in variants().into_iter().skip(1) {
        let mut changed = random_params(&config, 7);
        // Same weights where the shapes agree, so only the switch differs.
        if config.tied_unembed == base_config.tied_unembed && !config.attn_only {
            changed.blocks = params.blocks.clone();
            changed.w_e = params.w_e.clone();
            changed.w_pos = params.w_pos.clone();
        }
        let logits = reference(&changed, &tokens).logits;
        let diff = logits
            .iter()
            .flatten()
            .zip(base.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            diff > 1e-2,
            "{name}: the switch barely changes the logits ({diff:e})"
        );
    }
}
