//! Each head's OV copying score (Elhage et al., 2021): how much its full OV circuit
//! `W_E W_V W_O W_U` [d_vocab, d_vocab] maps a token to itself, as `Σλ / Σ|λ|` over its
//! eigenvalues: 1 for a head that copies what it attends to, −1 for one that suppresses it.
//!
//! The full circuit is never formed: its non-zero eigenvalues are those of
//! `W_O (W_U W_E) W_V` [d_head, d_head] (the eigenvalues of `X Y` and `Y X` agree but for
//! zeros), which is what TransformerLens's `FactoredMatrix.eigenvalues` computes too.
//! `W_U W_E` [d_model, d_model] is formed once for all heads, with `ln_final` folded into
//! `W_U` and `ln1` into `W_V` ([`super::fold`]).

use nalgebra::DMatrix;
use ndarray::Array2;

use super::fold::{FoldedHeads, unembed_times_embed};
use crate::model::Params;

/// `Σλ / Σ|λ|` over the eigenvalues of the square matrix `m` (0 when all are 0; NaN when
/// `m` holds a non-finite value, as a diverged training run's weights do: nalgebra's Schur
/// iteration, unbounded by default, would never end on one).
pub fn copying_score_of(m: &Array2<f64>) -> f64 {
    if m.iter().any(|x| !x.is_finite()) {
        return f64::NAN;
    }
    let n = m.nrows();
    let matrix = DMatrix::from_fn(n, n, |i, j| m[[i, j]]);
    let eigenvalues = matrix.complex_eigenvalues();
    let sum: f64 = eigenvalues.iter().map(|l| l.re).sum();
    let absolute: f64 = eigenvalues.iter().map(|l| l.norm()).sum();
    if absolute == 0.0 { 0.0 } else { sum / absolute }
}

/// The copying score of every head. [layer, head]
pub fn copying_scores(params: &Params<f32>, heads: &FoldedHeads) -> Array2<f64> {
    let unembed_embed = unembed_times_embed(params); // [d_model, d_model]
    Array2::from_shape_fn((heads.n_layers, heads.n_heads), |(layer, head)| {
        let o = &heads.w_o[layer][head]; // [d_head, d_model]
        let v = &heads.w_v[layer][head]; // [d_model, d_head]
        copying_score_of(&o.dot(&unembed_embed).dot(v))
    })
}
