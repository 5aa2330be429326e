//! The model's next-token logits of an analysis, computed in two steps: the selected token's
//! row with the trace, every row on the worker right after that token's lens row. The views
//! of the selected token then do not wait for the unembedding of every position (for a
//! 64-token prompt on Qwen2.5-0.5B's 151,936 tokens, 17 GFLOP: about 100 ms here, a third of
//! the forward pass).

use std::sync::OnceLock;

use ndarray::{Array1, Array2, ArrayView1, Axis};

use crate::model::Params;
use crate::model::forward::unembed;

/// The logits of one analysis: one row at first, every row once [`AnalysisLogits::complete`]
/// has run.
#[derive(Debug)]
pub struct AnalysisLogits {
    /// The unembedding's input: the final stream after `ln_final` and any intervention.
    /// [rows, d_model]
    unembed_in: Array2<f32>,
    /// The row computed with the trace, and its logits. [d_vocab]
    first: (usize, Array1<f32>),
    /// Every row, once computed (`first`'s row kept as it was). [rows, d_vocab]
    all: OnceLock<Array2<f32>>,
}

impl AnalysisLogits {
    /// Computes row `first` of `unembed_in` [rows, d_model] (clamped to the last row).
    pub fn new(params: &Params<f32>, unembed_in: Array2<f32>, first: usize) -> Self {
        let first = first.min(unembed_in.nrows().saturating_sub(1));
        let row = unembed(params, unembed_in.slice(ndarray::s![first..first + 1, ..]))
            .index_axis_move(Axis(0), 0);
        Self {
            unembed_in,
            first: (first, row),
            all: OnceLock::new(),
        }
    }

    /// The logits at `row` if they are computed. [d_vocab]
    pub fn row(&self, row: usize) -> Option<ArrayView1<'_, f32>> {
        match self.all.get() {
            Some(all) => (row < all.nrows()).then(|| all.row(row)),
            None => (row == self.first.0).then(|| self.first.1.view()),
        }
    }

    /// Every row's logits, once computed. [rows, d_vocab]
    pub fn all(&self) -> Option<&Array2<f32>> {
        self.all.get()
    }

    /// Computes every row's logits (once; later calls return at once).
    pub fn complete(&self, params: &Params<f32>) -> &Array2<f32> {
        self.all.get_or_init(|| {
            // One product of every row (the first again: one row in `rows` of extra work,
            // against selecting the others and scattering them into a zeroed array), then the
            // first row as the views already showed it.
            let mut all = unembed(params, self.unembed_in.view());
            all.row_mut(self.first.0).assign(&self.first.1);
            all
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::forward_batch_before_unembedding;
    use crate::model::hooks::NoIntervention;
    use crate::state::models::default_model;

    #[test]
    fn the_two_steps_give_the_forward_pass_logits() {
        let model = default_model();
        let params = &model.params;
        let ids = model.tokenizer.encode("To be, or not").ids;
        let whole = crate::model::forward(params, &ids).unwrap();
        let (trace, unembed_in) =
            forward_batch_before_unembedding(params, &[&ids], &NoIntervention).unwrap();
        assert_eq!(trace.logits.ncols(), 0, "left to the caller");
        let logits = AnalysisLogits::new(params, unembed_in, 3);
        assert!(logits.all().is_none());
        assert!(logits.row(2).is_none(), "only the first row so far");
        let close = |a: ArrayView1<'_, f32>, b: ArrayView1<'_, f32>| {
            a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-5 * y.abs().max(1.0))
        };
        assert!(close(logits.row(3).unwrap(), whole.logits.row(3)));
        let first_before = logits.row(3).unwrap().to_owned();
        let all = logits.complete(params);
        assert_eq!(all.dim(), whole.logits.dim());
        for row in 0..ids.len() {
            assert!(close(all.row(row), whole.logits.row(row)), "row {row}");
        }
        assert_eq!(
            logits.row(3).unwrap(),
            first_before,
            "the first row is kept"
        );
    }
}
