//! The logit lens as the explorer keeps it: per (stage, token) cell only what the views show
//! (the top-k predictions, the rank and probability of the token that actually comes next),
//! filled row by row as rows are computed, so a real vocabulary's full logits
//! (stages × tokens × d_vocab floats, 1.9 GB for Qwen2.5-0.5B at 64 tokens) are never held.
//!
//! A [`LensRows`] is the summary of some rows (token positions) at every lens stage, made from
//! a [`LogitLens`] of those rows; [`LensGrid::insert`] puts it in place. Cells of rows not
//! inserted yet are `None` ("not computed yet" on screen).

use ndarray::{Array2, Array3, Axis, s};

use super::lens::{LensNorm, LogitLens};
use super::stage::Stage;
use crate::model::TokenId;

/// The lens summary of some rows at every lens stage.
#[derive(Clone, Debug, PartialEq)]
pub struct LensRows {
    /// The trace rows summarised, in the order of the arrays' row axis.
    pub rows: Vec<usize>,
    /// Top-k token ids, most probable first. [stage, row, k]
    pub top_ids: Array3<TokenId>,
    /// Their probabilities. [stage, row, k]
    pub top_probs: Array3<f32>,
    /// Rank (1 = most likely) of the next token; 0 for the last position. [stage, row]
    pub next_ranks: Array2<u32>,
    /// Probability of the next token; NaN for the last position. [stage, row]
    pub next_probs: Array2<f32>,
}

impl LensRows {
    /// Summarises `lens`, computed for the trace rows `rows` (its row `i` is trace row
    /// `rows[i]`) of a prompt `tokens`: the next token of row `r` is `tokens[r + 1]`.
    pub fn summarize(lens: &LogitLens, rows: &[usize], tokens: &[TokenId]) -> Self {
        let n_stages = lens.stages.len();
        assert_eq!(lens.n_rows(), rows.len(), "one lens row per summarised row");
        let mut next_ranks = Array2::zeros((n_stages, rows.len()));
        let mut next_probs = Array2::from_elem((n_stages, rows.len()), f32::NAN);
        for stage in 0..n_stages {
            for (i, &row) in rows.iter().enumerate() {
                let Some(&next) = tokens.get(row + 1) else {
                    continue;
                };
                let logits = lens.logits.slice(s![stage, i, ..]);
                let target = logits[next as usize];
                next_ranks[[stage, i]] = 1 + logits.iter().filter(|&&x| x > target).count() as u32;
                next_probs[[stage, i]] = (target - lens.log_sum_exp[[stage, i]]).exp();
            }
        }
        Self {
            rows: rows.to_vec(),
            top_ids: lens.top_ids.clone(),
            top_probs: lens.top_probs.clone(),
            next_ranks,
            next_probs,
        }
    }
}

/// One cell of the lens grid.
#[derive(Clone, Copy, Debug)]
pub struct LensCell<'a> {
    /// Top-k token ids, most probable first. [k]
    pub top_ids: ndarray::ArrayView1<'a, TokenId>,
    /// Their probabilities. [k]
    pub top_probs: ndarray::ArrayView1<'a, f32>,
    /// The next token's rank (1 = top), or `None` at the last position.
    pub next_rank: Option<u32>,
    /// The next token's probability (NaN at the last position).
    pub next_prob: f32,
}

impl LensCell<'_> {
    /// The top-k as (token id, probability), most probable first.
    pub fn top(&self) -> impl Iterator<Item = (TokenId, f32)> + '_ {
        self.top_ids
            .iter()
            .copied()
            .zip(self.top_probs.iter().copied())
    }
}

/// The lens summary of every (stage, token) cell, filled as rows are computed.
#[derive(Clone, Debug, PartialEq)]
pub struct LensGrid {
    /// The lens stages (the grid's columns).
    pub stages: Vec<Stage>,
    /// How the final LayerNorm was applied.
    pub norm: LensNorm,
    /// Whether the model has a final LayerNorm.
    pub final_norm: bool,
    top_ids: Array3<TokenId>, // [stage, pos, k]
    top_probs: Array3<f32>,   // [stage, pos, k]
    next_ranks: Array2<u32>,  // [stage, pos]
    next_probs: Array2<f32>,  // [stage, pos]
    computed: Vec<bool>,      // [pos]
}

impl LensGrid {
    /// A grid of `n_pos` rows with nothing computed yet.
    pub fn empty(
        stages: Vec<Stage>,
        n_pos: usize,
        top_k: usize,
        norm: LensNorm,
        final_norm: bool,
    ) -> Self {
        let n_stages = stages.len();
        Self {
            stages,
            norm,
            final_norm,
            top_ids: Array3::zeros((n_stages, n_pos, top_k)),
            top_probs: Array3::zeros((n_stages, n_pos, top_k)),
            next_ranks: Array2::zeros((n_stages, n_pos)),
            next_probs: Array2::from_elem((n_stages, n_pos), f32::NAN),
            computed: vec![false; n_pos],
        }
    }

    /// Puts computed rows in place (their k must be the grid's).
    pub fn insert(&mut self, rows: &LensRows) {
        for (i, &row) in rows.rows.iter().enumerate() {
            if row >= self.computed.len() {
                continue;
            }
            let k = self
                .top_ids
                .len_of(Axis(2))
                .min(rows.top_ids.len_of(Axis(2)));
            self.top_ids
                .slice_mut(s![.., row, ..k])
                .assign(&rows.top_ids.slice(s![.., i, ..k]));
            self.top_probs
                .slice_mut(s![.., row, ..k])
                .assign(&rows.top_probs.slice(s![.., i, ..k]));
            self.next_ranks
                .column_mut(row)
                .assign(&rows.next_ranks.column(i));
            self.next_probs
                .column_mut(row)
                .assign(&rows.next_probs.column(i));
            self.computed[row] = true;
        }
    }

    /// Number of token positions (rows).
    pub fn n_pos(&self) -> usize {
        self.computed.len()
    }

    /// Whether row `pos` is computed.
    pub fn is_computed(&self, pos: usize) -> bool {
        self.computed.get(pos).copied().unwrap_or(false)
    }

    /// Rows computed so far.
    pub fn n_computed(&self) -> usize {
        self.computed.iter().filter(|&&done| done).count()
    }

    /// Whether every row is computed.
    pub fn is_complete(&self) -> bool {
        self.computed.iter().all(|&done| done)
    }

    /// The rows not computed yet, in order.
    pub fn missing_rows(&self) -> Vec<usize> {
        (0..self.n_pos())
            .filter(|&pos| !self.computed[pos])
            .collect()
    }

    /// Index of `stage` in [`LensGrid::stages`].
    pub fn stage_index(&self, stage: Stage) -> Option<usize> {
        self.stages.iter().position(|&s| s == stage)
    }

    /// A sentence saying how the final LayerNorm was applied, in `language`.
    pub fn describe_norm(&self, language: crate::i18n::Language) -> &'static str {
        self.norm.describe(self.final_norm, language)
    }

    /// The cell at (stage_index, pos), `None` while its row is not computed.
    pub fn cell(&self, stage_index: usize, pos: usize) -> Option<LensCell<'_>> {
        if !self.is_computed(pos) || stage_index >= self.stages.len() {
            return None;
        }
        let rank = self.next_ranks[[stage_index, pos]];
        Some(LensCell {
            top_ids: self.top_ids.slice(s![stage_index, pos, ..]),
            top_probs: self.top_probs.slice(s![stage_index, pos, ..]),
            next_rank: (rank > 0).then_some(rank),
            next_prob: self.next_probs[[stage_index, pos]],
        })
    }

    /// Bytes the grid holds (its size is fixed by stages × tokens × k, whatever d_vocab is).
    pub fn bytes(&self) -> usize {
        self.top_ids.len() * size_of::<TokenId>()
            + self.top_probs.len() * size_of::<f32>()
            + self.next_ranks.len() * size_of::<u32>()
            + self.next_probs.len() * size_of::<f32>()
            + self.computed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::LensOptions;
    use crate::interp::stage::stream_stages;
    use crate::model::{InitOptions, ModelConfig, Params, forward};

    #[test]
    fn rows_inserted_in_any_order_equal_the_whole_lens() {
        let config = ModelConfig::lesson(40);
        let params = Params::<f32>::init(&config, InitOptions { seed: 3, std: 0.5 }).unwrap();
        let tokens: Vec<TokenId> = (0..9).map(|i| (i * 7 % 40) as TokenId).collect();
        let trace = forward(&params, &tokens).unwrap();
        let stages = stream_stages(&config);
        let options = LensOptions::default();
        let whole = LogitLens::compute(&params, &trace, &stages, options);
        let all: Vec<usize> = (0..tokens.len()).collect();
        let want = LensRows::summarize(&whole, &all, &tokens);
        let mut grid = LensGrid::empty(stages.clone(), tokens.len(), 5, options.norm, true);
        assert!(grid.cell(0, 0).is_none());
        for rows in [vec![4], vec![8, 0], vec![1, 2, 3], vec![5, 6, 7]] {
            let lens = LogitLens::compute_rows(&params, &trace, &stages, Some(&rows), options);
            grid.insert(&LensRows::summarize(&lens, &rows, &tokens));
        }
        assert!(grid.is_complete());
        for stage in 0..stages.len() {
            for pos in 0..tokens.len() {
                let cell = grid.cell(stage, pos).unwrap();
                let ids: Vec<_> = cell.top_ids.to_vec();
                assert_eq!(ids, want.top_ids.slice(s![stage, pos, ..]).to_vec());
                for (got, want) in
                    cell.top_probs
                        .iter()
                        .zip(want.top_probs.slice(s![stage, pos, ..]))
                {
                    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
                }
                let rank = want.next_ranks[[stage, pos]];
                assert_eq!(cell.next_rank, (rank > 0).then_some(rank));
            }
        }
        assert_eq!(
            grid.cell(0, 8).unwrap().next_rank,
            None,
            "the last token has no next"
        );
    }
}
