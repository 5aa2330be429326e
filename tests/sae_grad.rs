//! The SAE's training loss and its gradient, checked by central finite differences in f64 on
//! every weight: TopK with AuxK, and the standard kind (L1 weighted by decoder norms, which
//! are deliberately not 1 here so that the norm term is exercised) with and without AuxK.

use ndarray::{Array2, ArrayView2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use residual_explorer::sae::grad::{Grads, LossWeights, Workspace, loss_and_grads};
use residual_explorer::sae::select::top_k_into;
use residual_explorer::sae::{Architecture, InputScale, Sae, SaeConfig};

const D_IN: usize = 6;
const D_SAE: usize = 10;
const ROWS: usize = 7;

fn random_sae(architecture: Architecture, seed: u64) -> Sae<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sae = Sae::<f64>::init(SaeConfig::new(D_IN, D_SAE, architecture), seed);
    let mut jitter = |v: &mut f64, scale: f64| *v += scale * (rng.random::<f64>() - 0.5);
    sae.w_enc_t.iter_mut().for_each(|v| jitter(v, 0.6));
    sae.w_dec.iter_mut().for_each(|v| jitter(v, 0.8));
    sae.b_enc.iter_mut().for_each(|v| jitter(v, 0.4));
    sae.b_dec.iter_mut().for_each(|v| jitter(v, 0.4));
    sae
}

fn inputs(seed: u64) -> Array2<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((ROWS, D_IN), || 2.0 * (rng.random::<f64>() - 0.5))
}

/// The loss as the gradient sees it: the AuxK target `x − x̂` carries no gradient (SAELens
/// detaches it), so it is computed once from the unperturbed SAE (`frozen`) and held fixed.
fn loss(
    sae: &Sae<f64>,
    frozen: &Sae<f64>,
    x: ArrayView2<'_, f64>,
    weights: LossWeights,
    dead: Option<&[bool]>,
) -> f64 {
    let mut grads = Grads::zeros(D_SAE, D_IN);
    let main = LossWeights {
        aux: 0.0,
        ..weights
    };
    let without_aux =
        loss_and_grads(sae, x, main, None, &mut Workspace::default(), &mut grads).total();
    let Some(dead) = dead.filter(|_| weights.aux > 0.0) else {
        return without_aux;
    };
    // SAELens's calculate_topk_aux_loss, written out.
    let residual = &x - &frozen.encode_decode(x).1;
    let dead_count = dead.iter().filter(|&&d| d).count();
    let k_aux = (D_IN / 2).min(dead_count);
    let scale = (dead_count as f64 / (D_IN / 2) as f64).min(1.0);
    let pre = sae.pre_activations(sae.sae_input(x, &InputScale::Identity).view());
    let mut total = 0.0;
    for (row, target) in pre.outer_iter().zip(residual.outer_iter()) {
        let (mut index, mut value) = (vec![0u32; k_aux], vec![0.0; k_aux]);
        top_k_into(row.as_slice().unwrap(), Some(dead), &mut index, &mut value);
        let mut decoded = sae.b_dec.clone();
        for (&j, &v) in index.iter().zip(&value) {
            decoded.scaled_add(v, &sae.w_dec.row(j as usize));
        }
        total += (&decoded - &target).mapv(|e| e * e).sum();
    }
    without_aux + weights.aux * scale * total / ROWS as f64
}

/// Compares every analytic derivative with a central difference.
fn check(label: &str, architecture: Architecture, weights: LossWeights, dead: Option<&[bool]>) {
    let sae = random_sae(architecture, 3);
    let x = inputs(4);
    let mut grads = Grads::zeros(D_SAE, D_IN);
    let batch = loss_and_grads(
        &sae,
        x.view(),
        weights,
        dead,
        &mut Workspace::default(),
        &mut grads,
    );
    if dead.is_some() && weights.aux > 0.0 {
        assert!(batch.aux > 0.0, "{label}: the AuxK term is active");
    }
    if weights.l1 > 0.0 {
        assert!(batch.l1 > 0.0, "{label}: the L1 term is active");
    }
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    let mut checked = 0;
    let tensors: [(&str, usize); 4] = [
        ("W_enc", D_SAE * D_IN),
        ("b_enc", D_SAE),
        ("W_dec", D_SAE * D_IN),
        ("b_dec", D_IN),
    ];
    for (name, len) in tensors {
        for i in 0..len {
            let analytic = match name {
                "W_enc" => grads.w_enc_t.as_slice().unwrap()[i],
                "b_enc" => grads.b_enc[i],
                "W_dec" => grads.w_dec.as_slice().unwrap()[i],
                _ => grads.b_dec[i],
            };
            let shifted = |delta: f64| {
                let mut moved = sae.clone();
                match name {
                    "W_enc" => moved.w_enc_t.as_slice_mut().unwrap()[i] += delta,
                    "b_enc" => moved.b_enc[i] += delta,
                    "W_dec" => moved.w_dec.as_slice_mut().unwrap()[i] += delta,
                    _ => moved.b_dec[i] += delta,
                }
                loss(&moved, &sae, x.view(), weights, dead)
            };
            let numeric = (shifted(h) - shifted(-h)) / (2.0 * h);
            let gap = (numeric - analytic).abs() / (1.0 + numeric.abs());
            assert!(
                gap < 1e-5,
                "{label}: ∂L/∂{name}[{i}] analytic {analytic:e}, numeric {numeric:e}"
            );
            worst = worst.max(gap);
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * D_SAE * D_IN + D_SAE + D_IN);
    assert!(
        grads.w_enc_t.iter().any(|&g| g != 0.0) && grads.w_dec.iter().any(|&g| g != 0.0),
        "{label}: the gradient is not trivially zero"
    );
    eprintln!("{label}: worst relative gap {worst:e}");
}

fn dead_mask() -> Vec<bool> {
    (0..D_SAE).map(|j| j % 3 == 1).collect()
}

#[test]
fn topk_gradient_matches_finite_differences() {
    let weights = LossWeights { l1: 0.0, aux: 0.0 };
    check("topk", Architecture::TopK { k: 3 }, weights, None);
}

#[test]
fn topk_with_auxk_gradient_matches_finite_differences() {
    let weights = LossWeights { l1: 0.0, aux: 0.7 };
    let dead = dead_mask();
    check(
        "topk + auxk",
        Architecture::TopK { k: 3 },
        weights,
        Some(&dead),
    );
}

#[test]
fn standard_gradient_matches_finite_differences() {
    let weights = LossWeights { l1: 0.3, aux: 0.0 };
    check("standard", Architecture::Standard, weights, None);
}

#[test]
fn standard_with_auxk_gradient_matches_finite_differences() {
    let weights = LossWeights { l1: 0.3, aux: 0.5 };
    let dead = dead_mask();
    check(
        "standard + auxk",
        Architecture::Standard,
        weights,
        Some(&dead),
    );
}

#[test]
fn the_loss_is_the_definition() {
    // mse = mean over rows of ‖f·W_dec + b_dec − x‖² with f from `encode`, and the L1 term
    // l1 · mean_rows Σ f_j ‖W_dec[j]‖ — recomputed here from the public encode/decode.
    let sae = random_sae(Architecture::Standard, 5);
    let x = inputs(6);
    let weights = LossWeights { l1: 0.3, aux: 0.0 };
    let mut grads = Grads::zeros(D_SAE, D_IN);
    let batch = loss_and_grads(
        &sae,
        x.view(),
        weights,
        None,
        &mut Workspace::default(),
        &mut grads,
    );
    let (codes, recon) = sae.encode_decode(x.view());
    let mse = (&recon - &x).mapv(|v| v * v).sum() / ROWS as f64;
    let l1 = 0.3 * (&codes * &sae.decoder_norms()).sum() / ROWS as f64;
    assert!((batch.mse - mse).abs() < 1e-12, "{} vs {mse}", batch.mse);
    assert!((batch.l1 - l1).abs() < 1e-12, "{} vs {l1}", batch.l1);
    let l0 = codes.iter().filter(|&&f| f > 0.0).count() as f64 / ROWS as f64;
    assert!((batch.l0 - l0).abs() < 1e-12);
}
