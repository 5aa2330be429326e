//! Head scores: how much each attention head behaves like a previous-token head, a
//! duplicate-token head or an induction head, measured on repeated random sequences.
//!
//! Definitions (those of Anthropic's "In-context learning and induction heads" and of
//! TransformerLens / ARENA's head detectors), for one sequence of tokens `t` and one head's
//! attention pattern `A[query_pos, key_pos]` (rows sum to 1, causal):
//!
//! - **previous-token score**: the mean over queries `q ≥ 1` of `A[q, q−1]`, the attention
//!   paid to the token just before.
//! - **duplicate-token score**: the mean, over queries `q` whose token occurred before, of
//!   `Σ A[q, k]` over the earlier keys `k < q` with `t[k] = t[q]`: the attention paid to
//!   earlier copies of the current token.
//! - **induction (prefix-matching) score**: the mean, over queries `q` whose token occurred
//!   before, of `Σ A[q, k]` over keys `k ≤ q` with `t[k−1] = t[q]`, `k−1 < q`: the attention
//!   paid to the token that came *after* an earlier copy of the current token.
//!
//! The scores are averaged over the sequences of a [`ScoreProbe`]: `[BOS] r r`, a random
//! block `r` of distinct tokens repeated once, scored over the queries of the repeat (as
//! ARENA does). There each repeated token has exactly one earlier copy at distance `|r|`, so
//! the duplicate score is the mean of `A`'s `−|r|` diagonal and the induction score the
//! mean of its `−(|r|−1)` diagonal over the repeat. Each score is in `[0, 1]`; a head that
//! always attends to the key the definition names scores 1.
//!
//! Two more per head come from the weights alone ([`super::circuits`]), so a training run
//! can watch the induction circuit form in the weights too: the head's OV **copying**
//! score (in `[−1, 1]`), and its strongest **K-composition** with any head of an earlier
//! layer (0 in the first layer). They ignore interventions.

use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

use super::circuits::{CompositionKind, CompositionScores, FoldedHeads, copying_scores};
use crate::i18n::{Language, TrainText};
use crate::model::hooks::Intervention;
use crate::model::{InputError, Params, TokenId, forward_batch};

/// Which score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScoreKind {
    /// Attention to the previous token.
    PreviousToken,
    /// Attention to earlier copies of the current token.
    DuplicateToken,
    /// Attention to the token after an earlier copy of the current token.
    Induction,
    /// The OV circuit's copying score, from the weights.
    Copying,
    /// The strongest K-composition with a head of an earlier layer, from the weights.
    KComposition,
}

impl ScoreKind {
    /// All of them, in display order.
    pub const ALL: [ScoreKind; 5] = [
        ScoreKind::PreviousToken,
        ScoreKind::DuplicateToken,
        ScoreKind::Induction,
        ScoreKind::Copying,
        ScoreKind::KComposition,
    ];

    /// The name for plots, in `language`.
    pub fn label(self, language: Language) -> &'static str {
        match self {
            ScoreKind::PreviousToken => TrainText::PreviousToken,
            ScoreKind::DuplicateToken => TrainText::DuplicateToken,
            ScoreKind::Induction => TrainText::Induction,
            ScoreKind::Copying => TrainText::CopyingScore,
            ScoreKind::KComposition => TrainText::KCompositionScore,
        }
        .text(language)
    }
}

/// Previous-token score of one head on one sequence: mean of `A[q, q−1]` over `q` in
/// `queries` (those ≥ 1). `pattern` [query_pos, key_pos]. `None` when no query qualifies.
pub fn previous_token_score(
    pattern: ArrayView2<'_, f32>,
    queries: std::ops::Range<usize>,
) -> Option<f64> {
    mean((queries.start.max(1)..queries.end).map(|q| f64::from(pattern[[q, q - 1]])))
}

/// Duplicate-token score of one head on one sequence (see the module docs), over the queries
/// in `queries` that have an earlier copy. `pattern` [query_pos, key_pos], `tokens` [pos].
pub fn duplicate_token_score(
    pattern: ArrayView2<'_, f32>,
    tokens: &[TokenId],
    queries: std::ops::Range<usize>,
) -> Option<f64> {
    mean(queries.filter_map(|q| {
        let keys: Vec<usize> = (0..q).filter(|&k| tokens[k] == tokens[q]).collect();
        (!keys.is_empty()).then(|| keys.iter().map(|&k| f64::from(pattern[[q, k]])).sum())
    }))
}

/// Induction (prefix-matching) score of one head on one sequence (see the module docs), over
/// the queries in `queries` that have an earlier copy. `pattern` [query_pos, key_pos],
/// `tokens` [pos].
pub fn induction_score(
    pattern: ArrayView2<'_, f32>,
    tokens: &[TokenId],
    queries: std::ops::Range<usize>,
) -> Option<f64> {
    mean(queries.filter_map(|q| {
        let keys: Vec<usize> = (1..=q).filter(|&k| tokens[k - 1] == tokens[q]).collect();
        (!keys.is_empty()).then(|| keys.iter().map(|&k| f64::from(pattern[[q, k]])).sum())
    }))
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (count > 0).then(|| sum / count as f64)
}

/// The sequences the scores are measured on: `[BOS] r r`, `r` random distinct tokens.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreProbe {
    /// The sequences, all of the same length. [sequence][pos]
    pub sequences: Vec<Vec<TokenId>>,
    /// Position of the repeat's first token: queries from here on are scored.
    pub repeat_start: usize,
}

impl ScoreProbe {
    /// `count` sequences `[bos] r r` with `r` of `half` tokens drawn from
    /// `first_id..d_vocab` (distinct when there are enough ids), seeded. `half` is cut so
    /// the sequence fits `n_ctx`.
    pub fn repeated_random(
        d_vocab: usize,
        n_ctx: usize,
        first_id: TokenId,
        bos: Option<TokenId>,
        half: usize,
        count: usize,
        seed: u64,
    ) -> Result<Self, String> {
        let prefix = usize::from(bos.is_some());
        let half = half.min(n_ctx.saturating_sub(prefix) / 2);
        let ids: Vec<TokenId> = (first_id..d_vocab as TokenId).collect();
        if half < 2 || ids.is_empty() || count == 0 {
            return Err(format!(
                "cannot build repeated random sequences: {} ids from {first_id}, context {n_ctx}",
                ids.len()
            ));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let sequences = (0..count)
            .map(|_| {
                let block: Vec<TokenId> = if ids.len() >= half {
                    ids.choose_multiple(&mut rng, half).copied().collect()
                } else {
                    (0..half)
                        .map(|_| *ids.choose(&mut rng).expect("ids"))
                        .collect()
                };
                bos.into_iter()
                    .chain(block.iter().copied())
                    .chain(block.iter().copied())
                    .collect()
            })
            .collect();
        Ok(Self {
            sequences,
            repeat_start: prefix + half,
        })
    }

    /// The default probe of a model: 4 sequences, a block of up to 16 tokens from the whole
    /// vocabulary, no BOS, seed 0.
    pub fn for_model(params: &Params<f32>) -> Result<Self, String> {
        let config = &params.config;
        Self::repeated_random(config.d_vocab, config.n_ctx, 0, None, 16, 4, 0)
    }

    /// The probe for a model trained on `task` (a built-in task's name; `None` or
    /// `sentences` for text) with sequences of `n_ctx` tokens, as the Training view scores
    /// it: a task's sequences start with its BOS `0` and draw from its numbers (ids 2 and
    /// up), 8 of them with a block of up to 12; text gets 4 blocks of 16 from the whole
    /// vocabulary.
    pub fn for_data(d_vocab: usize, n_ctx: usize, task: Option<&str>) -> Result<Self, String> {
        match task {
            Some(name) if name != "sentences" => {
                Self::repeated_random(d_vocab, n_ctx, 2, Some(0), ((n_ctx - 1) / 2).min(12), 8, 1)
            }
            _ => Self::repeated_random(d_vocab, n_ctx, 0, None, 16, 4, 1),
        }
    }
}

/// The three scores of every head. [layer, head] each.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadScores {
    /// Previous-token scores. [layer, head]
    pub previous_token: Array2<f32>,
    /// Duplicate-token scores. [layer, head]
    pub duplicate_token: Array2<f32>,
    /// Induction scores. [layer, head]
    pub induction: Array2<f32>,
    /// OV copying scores, from the weights. [layer, head]
    pub copying: Array2<f32>,
    /// Strongest K-composition with an earlier layer's head, from the weights. [layer, head]
    pub k_composition: Array2<f32>,
}

impl HeadScores {
    /// Runs `params` on the probe (with `intervention` applied) and scores every head, the
    /// scores from the weights included.
    pub fn compute(
        params: &Params<f32>,
        probe: &ScoreProbe,
        intervention: &dyn Intervention<f32>,
    ) -> Result<Self, InputError> {
        let mut scores = Self::measure(params, probe, intervention)?;
        let heads = FoldedHeads::of(params);
        let copying = copying_scores(params, &heads);
        let k = CompositionScores::compute(&heads, CompositionKind::K);
        scores.set_weight_scores(&copying, &k);
        Ok(scores)
    }

    /// The scores measured on the probe's trace only; those from the weights are left at 0
    /// for [`HeadScores::set_weight_scores`] (when the caller has the circuits already).
    pub fn measure(
        params: &Params<f32>,
        probe: &ScoreProbe,
        intervention: &dyn Intervention<f32>,
    ) -> Result<Self, InputError> {
        let sequences: Vec<&[TokenId]> = probe.sequences.iter().map(Vec::as_slice).collect();
        let trace = forward_batch(params, &sequences, intervention)?;
        let (n_layers, n_heads) = (params.config.n_layers, params.config.n_heads);
        let mut scores = Self {
            previous_token: Array2::zeros((n_layers, n_heads)),
            duplicate_token: Array2::zeros((n_layers, n_heads)),
            induction: Array2::zeros((n_layers, n_heads)),
            copying: Array2::zeros((n_layers, n_heads)),
            k_composition: Array2::zeros((n_layers, n_heads)),
        };
        let queries = probe.repeat_start..trace.n_pos;
        for (layer, layer_trace) in trace.layers.iter().enumerate() {
            for head in 0..n_heads {
                let mut sums = [0.0f64; 3];
                for (seq, tokens) in probe.sequences.iter().enumerate() {
                    // [query_pos, key_pos]
                    let pattern = layer_trace.pattern.index_axis(Axis(0), seq);
                    let pattern = pattern.index_axis(Axis(0), head);
                    let values = [
                        previous_token_score(pattern, queries.clone()),
                        duplicate_token_score(pattern, tokens, queries.clone()),
                        induction_score(pattern, tokens, queries.clone()),
                    ];
                    for (sum, value) in sums.iter_mut().zip(values) {
                        *sum += value.unwrap_or(0.0);
                    }
                }
                let n = probe.sequences.len() as f64;
                scores.previous_token[[layer, head]] = (sums[0] / n) as f32;
                scores.duplicate_token[[layer, head]] = (sums[1] / n) as f32;
                scores.induction[[layer, head]] = (sums[2] / n) as f32;
            }
        }
        Ok(scores)
    }

    /// Fills the scores read from the weights from circuits already computed: `copying`
    /// [layer, head] and the K-composition scores of every pair.
    pub fn set_weight_scores(&mut self, copying: &Array2<f64>, k: &CompositionScores) {
        let n_heads = copying.ncols();
        self.copying = copying.mapv(|s| s as f32);
        for ((layer, head), strongest) in self.k_composition.indexed_iter_mut() {
            let into = k.scores.column(layer * n_heads + head);
            *strongest = into.iter().copied().fold(0.0, f64::max) as f32;
        }
    }

    /// The scores of one kind. [layer, head]
    pub fn of(&self, kind: ScoreKind) -> &Array2<f32> {
        match kind {
            ScoreKind::PreviousToken => &self.previous_token,
            ScoreKind::DuplicateToken => &self.duplicate_token,
            ScoreKind::Induction => &self.induction,
            ScoreKind::Copying => &self.copying,
            ScoreKind::KComposition => &self.k_composition,
        }
    }

    /// The head with the highest score of `kind`: (layer, head, score).
    pub fn best(&self, kind: ScoreKind) -> Option<(usize, usize, f32)> {
        self.of(kind)
            .indexed_iter()
            .map(|((layer, head), &score)| (layer, head, score))
            .max_by(|a, b| a.2.total_cmp(&b.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `BOS r r` with r = 5 6 7 8: the repeat starts at position 5.
    const TOKENS: [TokenId; 9] = [0, 5, 6, 7, 8, 5, 6, 7, 8];
    const REPEAT: std::ops::Range<usize> = 5..9;

    /// A causal pattern that puts all of each row on `key(q)` (clamped to 0..=q).
    fn pointing(key: impl Fn(usize) -> isize) -> Array2<f32> {
        let n = TOKENS.len();
        Array2::from_shape_fn((n, n), |(q, k)| {
            let target = key(q).clamp(0, q as isize) as usize;
            if k == target { 1.0 } else { 0.0 }
        })
    }

    fn scores(pattern: &Array2<f32>) -> [f64; 3] {
        [
            previous_token_score(pattern.view(), REPEAT).unwrap(),
            duplicate_token_score(pattern.view(), &TOKENS, REPEAT).unwrap(),
            induction_score(pattern.view(), &TOKENS, REPEAT).unwrap(),
        ]
    }

    #[test]
    fn each_ideal_head_scores_one_on_its_own_score_only() {
        assert_eq!(scores(&pointing(|q| q as isize - 1)), [1.0, 0.0, 0.0]);
        assert_eq!(scores(&pointing(|q| q as isize - 4)), [0.0, 1.0, 0.0]);
        assert_eq!(scores(&pointing(|q| q as isize - 3)), [0.0, 0.0, 1.0]);
        // Attending to itself or to BOS is none of the three.
        assert_eq!(scores(&pointing(|q| q as isize)), [0.0, 0.0, 0.0]);
        assert_eq!(scores(&pointing(|_| 0)), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn mixed_and_uniform_patterns_score_their_share() {
        let half = (pointing(|q| q as isize - 1) + pointing(|q| q as isize - 3)) * 0.5;
        assert_eq!(scores(&half), [0.5, 0.0, 0.5]);
        let n = TOKENS.len();
        let uniform =
            Array2::from_shape_fn(
                (n, n),
                |(q, k)| {
                    if k <= q { 1.0 / (q + 1) as f32 } else { 0.0 }
                },
            );
        let expected: f64 = REPEAT.map(|q| f64::from(1.0 / (q + 1) as f32)).sum::<f64>() / 4.0;
        for score in scores(&uniform) {
            assert!((score - expected).abs() < 1e-12, "{score} vs {expected}");
        }
    }

    #[test]
    fn every_earlier_copy_counts_and_queries_without_one_are_skipped() {
        // 1 2 1 2 1: query 2 has a copy at 0, query 3 at 1, query 4 at 0 and 2.
        let tokens = [1, 2, 1, 2, 1];
        let mut pattern = Array2::<f32>::zeros((5, 5));
        pattern[[0, 0]] = 1.0;
        pattern[[1, 1]] = 1.0;
        pattern[[2, 0]] = 1.0; // its copy
        pattern[[3, 2]] = 1.0; // the token after its copy (1 → 2: key 2 follows token 1 at 1)
        pattern[[4, 0]] = 0.25;
        pattern[[4, 2]] = 0.25; // copies: 0.5 in all
        pattern[[4, 1]] = 0.5; // after the copy at 0
        let duplicate = duplicate_token_score(pattern.view(), &tokens, 0..5).unwrap();
        assert!((duplicate - (1.0 + 0.0 + 0.5) / 3.0).abs() < 1e-12);
        // Induction keys: q=2 → {1} (0); q=3 → {2} (1); q=4 → {1, 3} (0.5).
        let induction = induction_score(pattern.view(), &tokens, 0..5).unwrap();
        assert!((induction - (0.0 + 1.0 + 0.5) / 3.0).abs() < 1e-12);
        // No query with a copy, no score.
        assert_eq!(duplicate_token_score(pattern.view(), &tokens, 0..2), None);
        assert_eq!(previous_token_score(pattern.view(), 0..1), None);
    }

    #[test]
    fn the_probe_repeats_a_block_of_distinct_tokens() {
        let probe = ScoreProbe::repeated_random(32, 64, 2, Some(0), 12, 3, 9).unwrap();
        assert_eq!(probe.repeat_start, 13);
        for sequence in &probe.sequences {
            assert_eq!(sequence.len(), 25);
            assert_eq!(sequence[0], 0);
            assert_eq!(sequence[1..13], sequence[13..]);
            let mut block = sequence[1..13].to_vec();
            block.sort();
            block.dedup();
            assert_eq!(block.len(), 12, "distinct");
            assert!(block.iter().all(|&t| (2..32).contains(&t)));
        }
        assert_ne!(probe.sequences[0], probe.sequences[1]);
        // The block is cut to fit the context.
        let short = ScoreProbe::repeated_random(32, 9, 0, None, 16, 1, 0).unwrap();
        assert_eq!(short.sequences[0].len(), 8);
        assert!(ScoreProbe::repeated_random(32, 3, 0, None, 16, 1, 0).is_err());
        assert!(ScoreProbe::repeated_random(2, 64, 5, None, 16, 1, 0).is_err());
    }
}
