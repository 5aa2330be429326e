//! What each term contributes to the stream at one stage: its norm, its projection on the
//! stream's direction, and its share of the stream's length.
//!
//! With `ŝ = stream / |stream|`, a term's projection is `term · ŝ` and its share is
//! `projection / |stream|`. Projections add up to |stream| exactly when the terms add up to
//! the stream, so the shares add up to 1 (minus the reconstruction error); a share can be
//! negative (the term points against the stream) or above 1.

use std::ops::Range;

use ndarray::{Array1, Array2, Axis};

use super::resid::AccumulatedResid;
use super::stage::Stage;
use super::terms::Decomposition;
use crate::model::Trace;

/// The terms of the stream at one stage, measured against it.
#[derive(Clone, Debug, PartialEq)]
pub struct TermContributions {
    /// The stage.
    pub stage: Stage,
    /// Indices into [`Decomposition::terms`] of the terms that sum to the stream here.
    pub terms: Range<usize>,
    /// L2 norm of each term. [term in `terms`, rows]
    pub norms: Array2<f32>,
    /// `term · stream / |stream|`. [term in `terms`, rows]
    pub projections: Array2<f32>,
    /// `projection / |stream|`; sums to 1 over the terms. [term in `terms`, rows]
    pub shares: Array2<f32>,
    /// `‖term‖ / Σ ‖term‖`, the unsigned alternative. [term in `terms`, rows]
    pub norm_shares: Array2<f32>,
    /// |stream|. [rows]
    pub stream_norms: Array1<f32>,
}

impl TermContributions {
    /// The contributions at `stage`, or `None` when the stream there is not a sum of terms
    /// (see [`super::terms::Composition`]) or the stage was not decomposed.
    pub fn at(
        decomposition: &Decomposition,
        trace: &Trace<f32>,
        resid: &AccumulatedResid,
        stage: Stage,
    ) -> Option<Self> {
        let terms = decomposition.at(stage)?.composition.terms()?;
        let stage_index = resid.stage_index(stage)?;
        let stream = resid.resid.index_axis(Axis(0), stage_index); // [rows, d_model]
        let stream_norms = resid.norms.row(stage_index).to_owned(); // [rows]
        let rows = stream.nrows();
        let mut norms = Array2::zeros((terms.len(), rows));
        let mut projections = Array2::zeros((terms.len(), rows));
        for (term, index) in terms.clone().enumerate() {
            let term_values = decomposition.values(trace, index); // [rows, d_model]
            for (row, vector) in term_values.outer_iter().enumerate() {
                let (mut dot, mut squares) = (0.0f64, 0.0f64);
                for (&x, &y) in vector.iter().zip(stream.row(row)) {
                    dot += f64::from(x) * f64::from(y);
                    squares += f64::from(x) * f64::from(x);
                }
                let length = f64::from(stream_norms[row]);
                norms[[term, row]] = squares.sqrt() as f32;
                projections[[term, row]] = if length > 0.0 {
                    (dot / length) as f32
                } else {
                    0.0
                };
            }
        }
        let mut shares = projections.clone();
        let mut norm_shares = norms.clone();
        for row in 0..rows {
            let length = stream_norms[row];
            let total_norm: f32 = norms.column(row).sum();
            shares
                .column_mut(row)
                .mapv_inplace(|p| if length > 0.0 { p / length } else { 0.0 });
            norm_shares.column_mut(row).mapv_inplace(|n| {
                if total_norm > 0.0 {
                    n / total_norm
                } else {
                    0.0
                }
            });
        }
        Some(Self {
            stage,
            terms,
            norms,
            projections,
            shares,
            norm_shares,
            stream_norms,
        })
    }
}
