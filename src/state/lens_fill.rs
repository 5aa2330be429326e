//! Filling an analysis's logit lens chunk by chunk, the rows the student looks at first.
//!
//! A chunk is a few token rows at every lens stage: one product of their stacked, normalised
//! streams against the unembedding (read once per chunk), then each row's top-k, the next
//! token's rank and probability; the chunk's full logits are dropped once summarised. The
//! chunk holds at most [`LENS_CHUNK_BYTES`] of logits (at least one row), so the memory the
//! lens needs does not grow with the prompt: a 64-token Qwen2.5-0.5B lens is one row
//! (49 stages × 151,936 logits, 30 MB) per chunk, a lesson model's whole grid one chunk.
//!
//! The trace worker computes the first chunk, the selected token's row alone (its logits came
//! with the trace), right after the trace; then every position's logits
//! ([`Analysis::complete_logits`]); then the rest of the grid with [`fill_until`], which stops
//! between chunks when a newer trace is requested and reorders when the student selects
//! another token.

use std::collections::VecDeque;
use std::ops::Range;

use super::analysis::Analysis;
use crate::interp::LogitLens;
use crate::interp::lens_grid::LensRows;

/// Most lens logits one chunk holds, in bytes (at least one row is always computed).
pub const LENS_CHUNK_BYTES: usize = 32 << 20;

/// The rows of an analysis's lens still to compute, in the order they will be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LensFill {
    order: VecDeque<usize>,
    rows_per_chunk: usize,
    /// The selected token's row (computed first).
    focus: usize,
    /// The row whose logits came with the trace (the selected token's when it ran).
    first_logits_row: usize,
    /// Whether every position's logits are in (this fill computes them right after the
    /// selected token's row).
    logits_complete: bool,
}

impl LensFill {
    /// Every row of `analysis`'s lens not computed yet, `focus` first, then its neighbours.
    pub fn new(analysis: &Analysis, focus: usize) -> Self {
        Self::with_chunk_bytes(analysis, focus, LENS_CHUNK_BYTES)
    }

    /// [`LensFill::new`] with chunks of at most `chunk_bytes` of logits.
    pub fn with_chunk_bytes(analysis: &Analysis, focus: usize, chunk_bytes: usize) -> Self {
        let lens = analysis.lens();
        let row_bytes = lens.stages.len() * analysis.model.params.config.d_vocab * 4;
        let mut fill = Self {
            order: lens.missing_rows().into(),
            rows_per_chunk: (chunk_bytes / row_bytes.max(1)).max(1),
            focus,
            first_logits_row: focus,
            logits_complete: analysis.logits().is_some(),
        };
        fill.prioritise(focus, focus..focus + 1);
        fill
    }

    /// Puts `focus` first, then the rows of `visible` nearest to it, then the others nearest
    /// to it.
    pub fn prioritise(&mut self, focus: usize, visible: Range<usize>) {
        self.focus = focus;
        self.order.make_contiguous().sort_by_key(|&row| {
            (
                row != focus,
                !visible.contains(&row),
                row.abs_diff(focus),
                row,
            )
        });
    }

    /// Rows still to compute.
    pub fn remaining(&self) -> usize {
        self.order.len()
    }

    /// The rows the next chunk will compute. Until every position's logits are in, the row
    /// whose logits came with the trace goes alone: its chunk needs no others.
    pub fn next_rows(&self) -> Vec<usize> {
        if !self.logits_complete && self.order.front() == Some(&self.first_logits_row) {
            return vec![self.first_logits_row];
        }
        self.order
            .iter()
            .take(self.rows_per_chunk)
            .copied()
            .collect()
    }

    /// Whether the next chunk is one the student waits for: it holds the selected token's
    /// row, it brings every position's logits (other tokens' views and Generate wait for
    /// them), or it is the last.
    pub fn next_is_awaited(&self) -> bool {
        let rows = self.next_rows();
        rows.contains(&self.focus) || !self.logits_complete || rows.len() == self.order.len()
    }

    /// Computes the next chunk into `analysis`'s lens; returns how many rows it computed
    /// (0: the lens is complete).
    pub fn fill_next(&mut self, analysis: &Analysis) -> usize {
        let rows = self.next_rows();
        if rows.is_empty() {
            return 0;
        }
        // Every position's logits come right after the selected token's lens row (the views
        // of other tokens read them, and the lens reuses them at its final stage), and at the
        // latest with the last chunk: a complete lens means complete logits.
        if !rows.contains(&self.focus) || rows.len() == self.order.len() {
            analysis.complete_logits();
        }
        self.order.drain(..rows.len());
        let params = &analysis.model.params;
        let stages = analysis.lens().stages.clone();
        let logits_of_row = |row: usize| {
            analysis
                .logits_row(row)
                .unwrap_or_else(|| analysis.complete_logits().row(row))
        };
        let lens = LogitLens::compute_rows_with_logits(
            params,
            &analysis.trace,
            &stages,
            Some(&rows),
            analysis.options.lens,
            Some(&logits_of_row),
        );
        analysis.insert_lens_rows(&LensRows::summarize(&lens, &rows, &analysis.tokens));
        self.logits_complete = analysis.logits().is_some();
        rows.len()
    }
}

/// Fills `analysis`'s lens chunk by chunk until it is complete or `interrupt` (asked before
/// every chunk, and free to reorder the fill) returns a reason to stop, which is returned.
/// `chunk_done` runs after each chunk, told whether the student waited for it
/// ([`LensFill::next_is_awaited`]).
pub fn fill_until<T>(
    fill: &mut LensFill,
    analysis: &Analysis,
    mut interrupt: impl FnMut(&mut LensFill) -> Option<T>,
    mut chunk_done: impl FnMut(bool),
) -> Option<T> {
    while fill.remaining() > 0 {
        if let Some(reason) = interrupt(fill) {
            return Some(reason);
        }
        let awaited = fill.next_is_awaited();
        fill.fill_next(analysis);
        chunk_done(awaited);
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::interp::interventions::Interventions;
    use crate::interp::lens_grid::LensGrid;
    use crate::interp::{AnalysisOptions, LensOptions};
    use crate::state::models::default_model;

    fn started(chunk_rows: usize) -> (Analysis, LensFill, usize) {
        let model = Arc::new(default_model());
        let ids = model.tokenizer.encode("To be, or not to be").ids;
        let options = AnalysisOptions::default();
        let config = &model.params.config;
        let row_bytes = options.lens_stages.of(config).len() * config.d_vocab * 4;
        let (analysis, fill) = Analysis::start_in_chunks(
            model,
            &ids,
            options,
            Interventions::new(),
            (3, chunk_rows * row_bytes),
            &|| true,
        )
        .unwrap();
        (analysis, fill, ids.len())
    }

    /// The whole lens computed at once, as the CLI does, kept as a grid.
    fn eager_grid(analysis: &Analysis) -> LensGrid {
        let lens = analysis.lens();
        let options = LensOptions {
            ..analysis.options.lens
        };
        let all: Vec<usize> = (0..analysis.n_pos()).collect();
        let whole = LogitLens::compute(
            &analysis.model.params,
            &analysis.trace,
            &lens.stages,
            options,
        );
        let mut grid = LensGrid::empty(
            lens.stages.clone(),
            analysis.n_pos(),
            options.top_k,
            lens.norm,
            lens.final_norm,
        );
        grid.insert(&LensRows::summarize(&whole, &all, &analysis.tokens));
        grid
    }

    #[test]
    fn the_focused_row_comes_first_and_the_fill_equals_the_eager_lens() {
        let (analysis, mut fill, n) = started(2);
        assert_eq!(
            analysis.lens().n_computed(),
            0,
            "no lens row comes with the trace"
        );
        fill.fill_next(&analysis);
        {
            let lens = analysis.lens();
            assert!(lens.is_computed(3), "the focused row is in the first chunk");
            assert_eq!(
                lens.n_computed(),
                1,
                "alone (a chunk holds two rows): it needs no other row's logits"
            );
            assert!(
                analysis.logits().is_none(),
                "the other rows' logits come next"
            );
        }
        fill.prioritise(10, 9..12);
        assert_eq!(
            fill.next_rows(),
            vec![10, 9],
            "the new focus, then what is visible"
        );
        let mut awaited = Vec::new();
        let stopped: Option<()> = fill_until(&mut fill, &analysis, |_| None, |a| awaited.push(a));
        assert_eq!(stopped, None);
        assert!(awaited.len() >= (n - 1) / 2, "two rows per chunk");
        // The selected token's chunk and the last are awaited; the rows between are progress.
        assert!(awaited[0] && awaited[awaited.len() - 1], "{awaited:?}");
        assert!(
            awaited[1..awaited.len() - 1].iter().all(|&a| !a),
            "{awaited:?}"
        );
        let lens = analysis.lens();
        assert!(lens.is_complete());
        let eager = eager_grid(&analysis);
        for stage in 0..lens.stages.len() {
            for pos in 0..n {
                let (got, want) = (
                    lens.cell(stage, pos).unwrap(),
                    eager.cell(stage, pos).unwrap(),
                );
                assert_eq!(got.top_ids, want.top_ids, "stage {stage} pos {pos}");
                assert_eq!(got.next_rank, want.next_rank, "stage {stage} pos {pos}");
                for (a, b) in got.top_probs.iter().zip(want.top_probs.iter()) {
                    assert!((a - b).abs() < 1e-6, "stage {stage} pos {pos}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn an_interruption_stops_the_fill_between_chunks() {
        let (analysis, mut fill, n) = started(1);
        let before = analysis.lens().n_computed();
        let mut asked = 0;
        let stopped = fill_until(
            &mut fill,
            &analysis,
            |_| {
                asked += 1;
                (asked == 3).then_some("a newer prompt")
            },
            |_| {},
        );
        assert_eq!(stopped, Some("a newer prompt"));
        let lens = analysis.lens();
        assert_eq!(
            lens.n_computed(),
            before + 2,
            "two chunks of one row, then stopped"
        );
        assert_eq!(fill.remaining(), n - before - 2);
    }
}
