//! Composition scores between heads: how much a later head reads, through its queries (Q),
//! keys (K) or values (V), what an earlier head wrote into the stream. With `L = W_OV` of the
//! earlier head and `R` the later head's `W_QK` (Q), `W_QKᵀ` (K) or `W_OV` (V), the score is
//! `‖L R‖_F / (‖L‖_F ‖R‖_F)`, as TransformerLens's `composition_scores` computes it; pairs
//! whose later head is not in a later layer score 0, as in its `all_composition_scores`.
//!
//! Never materialised: with `L = A B` and `R = C D` (A, C [d_model, d_head]; B, D [d_head,
//! d_model]), `‖A (B C) D‖_F² = tr(Mᵀ (AᵀA) M (D Dᵀ))` with `M = B C` [d_head, d_head], and
//! `‖A B‖_F² = tr((AᵀA)(B Bᵀ))`: a pair costs d_model·d_head² multiply-adds.
//!
//! The baseline is the mean score of random Gaussian matrices of the same shapes (the score
//! does not depend on their scale), so a reader can tell composition from chance.

use ndarray::{Array2, ArrayView2, Axis, s};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::fold::FoldedHeads;
use crate::model::linalg::product;

/// Which input of the later head reads the earlier head's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CompositionKind {
    /// The later head's queries.
    Q,
    /// The later head's keys (the induction circuit's previous-token → induction link).
    #[default]
    K,
    /// The later head's values.
    V,
}

impl CompositionKind {
    /// Q, K and V.
    pub const ALL: [CompositionKind; 3] = [Self::Q, Self::K, Self::V];

    /// `q`, `k` or `v`, as the CLI's JSON names them.
    pub fn key(self) -> &'static str {
        match self {
            Self::Q => "q",
            Self::K => "k",
            Self::V => "v",
        }
    }
}

/// One head's factors: `L = A B` or `R = C D`, with the Gram matrices the score needs.
struct Factors {
    /// A or C. [d_model, d_head]
    left: Array2<f64>,
    /// B or D. [d_head, d_model]
    right: Array2<f64>,
    /// leftᵀ left. [d_head, d_head]
    left_gram: Array2<f64>,
    /// right rightᵀ. [d_head, d_head]
    right_gram: Array2<f64>,
    /// ‖left · right‖_F
    norm: f64,
}

impl Factors {
    fn new(left: ArrayView2<'_, f64>, right: ArrayView2<'_, f64>) -> Self {
        let left_gram = left.t().dot(&left);
        let right_gram = right.dot(&right.t());
        let norm = trace_of_product(&left_gram, &right_gram).max(0.0).sqrt();
        Self {
            left: left.to_owned(),
            right: right.to_owned(),
            left_gram,
            right_gram,
            norm,
        }
    }
}

/// `tr(X Y)` for square X, Y of one size.
fn trace_of_product(x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    x.iter().zip(y.t().iter()).map(|(a, b)| a * b).sum()
}

/// `‖L R‖_F / (‖L‖_F ‖R‖_F)` for `L = earlier.left · earlier.right`, `R = later.left · later.right`.
fn score(earlier: &Factors, later: &Factors) -> f64 {
    let middle = earlier.right.dot(&later.left); // [d_head, d_head]
    score_with_middle(earlier, later, middle.view())
}

/// [`score`] given `M = earlier.right · later.left` [d_head, d_head].
fn score_with_middle(earlier: &Factors, later: &Factors, middle: ArrayView2<'_, f64>) -> f64 {
    if earlier.norm == 0.0 || later.norm == 0.0 {
        return 0.0;
    }
    let a = earlier.left_gram.dot(&middle); // (AᵀA) M
    let b = middle.dot(&later.right_gram); // M (D Dᵀ)
    // tr(Mᵀ (AᵀA) M (D Dᵀ)) = Σᵢⱼ ((AᵀA) M)ᵢⱼ (M (D Dᵀ))ᵢⱼ, both symmetric Grams
    let squared: f64 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
    squared.max(0.0).sqrt() / (earlier.norm * later.norm)
}

/// The composition scores of one kind between every pair of heads.
#[derive(Clone, Debug)]
pub struct CompositionScores {
    /// Which input of the later head.
    pub kind: CompositionKind,
    /// `[earlier, later]`, each head indexed `layer · n_heads + head`; 0 unless the later
    /// head is in a later layer. [n_layers·n_heads, n_layers·n_heads]
    pub scores: Array2<f64>,
}

impl CompositionScores {
    /// Scores every (earlier, later) pair of `heads`. Each earlier head's `B` meets every
    /// later head's `C` in one product ([d_head, d_model] · [d_model, later heads·d_head]),
    /// and the earlier heads are shared between threads.
    pub fn compute(heads: &FoldedHeads, kind: CompositionKind) -> Self {
        let n_heads = heads.n_heads;
        let n = heads.n_layers * n_heads;
        let head_of = |index: usize| (index / n_heads, index % n_heads);
        let writers: Vec<Factors> = (0..n)
            .into_par_iter()
            .map(|index| {
                let (layer, head) = head_of(index);
                Factors::new(heads.w_v[layer][head].view(), heads.w_o[layer][head].view())
            })
            .collect();
        let readers: Vec<Factors> = (0..n)
            .into_par_iter()
            .map(|index| {
                let (layer, head) = head_of(index);
                let (q, k) = (&heads.w_q[layer][head], &heads.w_k[layer][head]);
                let (v, o) = (&heads.w_v[layer][head], &heads.w_o[layer][head]);
                match kind {
                    CompositionKind::Q => Factors::new(q.view(), k.t()),
                    CompositionKind::K => Factors::new(k.view(), q.t()),
                    CompositionKind::V => Factors::new(v.view(), o.view()),
                }
            })
            .collect();
        // Every reader's C side by side: [d_model, n·d_head].
        let d_head = writers.first().map_or(0, |f| f.right.nrows());
        let reader_lefts: Vec<_> = readers.iter().map(|r| r.left.view()).collect();
        let lefts = if n == 0 {
            Array2::zeros((0, 0))
        } else {
            ndarray::concatenate(Axis(1), &reader_lefts).expect("every C is [d_model, d_head]")
        };
        let rows: Vec<Vec<f64>> = (0..n)
            .into_par_iter()
            .map(|earlier| {
                let mut row = vec![0.0; n];
                // Later heads start with the next layer.
                let first_later = (earlier / n_heads + 1) * n_heads;
                if first_later >= n {
                    return row;
                }
                let e = &writers[earlier];
                let later_lefts = lefts.slice(s![.., first_later * d_head..]);
                let middles = product(1.0, &e.right, &later_lefts); // [d_head, later·d_head]
                for (later, out) in row.iter_mut().enumerate().skip(first_later) {
                    let start = (later - first_later) * d_head;
                    let middle = middles.slice(s![.., start..start + d_head]);
                    *out = score_with_middle(e, &readers[later], middle);
                }
                row
            })
            .collect();
        let mut scores = Array2::zeros((n, n));
        for (earlier, row) in rows.into_iter().enumerate() {
            scores.row_mut(earlier).assign(&ndarray::Array1::from(row));
        }
        Self { kind, scores }
    }

    /// The score of `earlier` (layer, head) into `later` (layer, head).
    pub fn between(&self, n_heads: usize, earlier: (usize, usize), later: (usize, usize)) -> f64 {
        self.scores[[earlier.0 * n_heads + earlier.1, later.0 * n_heads + later.1]]
    }
}

/// The mean composition score of random Gaussian factors of the shapes of `d_model` and
/// `d_head` (the same for Q, K and V), over `samples` draws seeded by `seed`.
pub fn random_baseline(d_model: usize, d_head: usize, samples: usize, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw = |rows: usize, cols: usize| {
        Array2::from_shape_simple_fn((rows, cols), || StandardNormal.sample(&mut rng))
    };
    let mut sum = 0.0;
    for _ in 0..samples.max(1) {
        let earlier = Factors::new(draw(d_model, d_head).view(), draw(d_head, d_model).view());
        let later = Factors::new(draw(d_model, d_head).view(), draw(d_head, d_model).view());
        sum += score(&earlier, &later);
    }
    sum / samples.max(1) as f64
}
