//! The norms folded into the matrices that read from them, as TransformerLens's `fold_ln`
//! (`ProcessWeights.fold_layer_norm`): a matrix `W` [d_model, n] that reads `γ ⊙ x̂ + β` becomes
//! `diag(γ) W`; under LayerNorm, whose `x̂` has zero mean, each column of it is then centred
//! over d_model (subtracting its mean changes no output). RMSNorm's `x̂` is not centred, so
//! its matrices are only scaled. The shifts β move into biases, which circuits do not use.
//!
//! What is folded: `ln1` into each head's W_Q, W_K and W_V when the attention reads the stream
//! through it (pre-norm, parallel and sandwich blocks; a post-norm block reads the stream as
//! it is), and `ln_final` into the unembedding. Not foldable, and left out as TransformerLens
//! leaves them: the q/k norms of Qwen3 and Gemma-3 and the post-norms of sandwich blocks.

use ndarray::{Array2, Array3, ArrayView2, Axis, s};

use rayon::prelude::*;

use crate::model::Params;
use crate::model::config::{NormKind, NormPlacement};
use crate::model::linalg::mat_mul;
use crate::model::params::LayerNormParams;

/// How the norm before each attention was folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folding {
    /// LayerNorm: scaled by γ and centred over d_model.
    ScaledAndCentred,
    /// RMSNorm: scaled by γ.
    Scaled,
    /// No norm reads the attention's input (post-norm blocks): the matrices as they are.
    None,
}

/// Every head's matrices with the norm folded in, in f64. Grouped-query heads get their key
/// and value head's matrices.
#[derive(Clone, Debug)]
pub struct FoldedHeads {
    /// Blocks.
    pub n_layers: usize,
    /// Query heads per block.
    pub n_heads: usize,
    /// How `ln1` was folded in.
    pub folding: Folding,
    /// `W_Q` per [layer][head]. [d_model, d_head] each
    pub w_q: Vec<Vec<Array2<f64>>>,
    /// `W_K` per [layer][head]. [d_model, d_head] each
    pub w_k: Vec<Vec<Array2<f64>>>,
    /// `W_V` per [layer][head]. [d_model, d_head] each
    pub w_v: Vec<Vec<Array2<f64>>>,
    /// `W_O` per [layer][head]. [d_head, d_model] each
    pub w_o: Vec<Vec<Array2<f64>>>,
}

impl FoldedHeads {
    /// The heads of `params` with `ln1` folded in.
    pub fn of(params: &Params<f32>) -> Self {
        let config = &params.config;
        let folding = match (config.norm, config.norm_kind) {
            (NormPlacement::Post, _) => Folding::None,
            (_, NormKind::LayerNorm) => Folding::ScaledAndCentred,
            (_, NormKind::RmsNorm) => Folding::Scaled,
        };
        let group = config.n_heads / config.kv_heads();
        let mut heads = Self {
            n_layers: config.n_layers,
            n_heads: config.n_heads,
            folding,
            w_q: Vec::new(),
            w_k: Vec::new(),
            w_v: Vec::new(),
            w_o: Vec::new(),
        };
        for block in &params.blocks {
            let (attn, ln1) = (&block.attn, &block.ln1);
            let reader = |weights: &Array3<f32>, group: usize| -> Vec<Array2<f64>> {
                (0..config.n_heads)
                    .map(|h| fold_reader(weights.index_axis(Axis(0), h / group), ln1, folding))
                    .collect()
            };
            heads.w_q.push(reader(&attn.w_q, 1));
            heads.w_k.push(reader(&attn.w_k, group));
            heads.w_v.push(reader(&attn.w_v, group));
            heads.w_o.push(
                (0..config.n_heads)
                    .map(|h| attn.w_o.index_axis(Axis(0), h).mapv(f64::from))
                    .collect(),
            );
        }
        heads
    }
}

/// `diag(γ) W`, centred over its rows under LayerNorm. `w` [d_model, n] → [d_model, n]
pub fn fold_reader(
    w: ArrayView2<'_, f32>,
    norm: &LayerNormParams<f32>,
    folding: Folding,
) -> Array2<f64> {
    let mut folded = w.mapv(f64::from);
    if folding == Folding::None {
        return folded;
    }
    for (mut row, &gamma) in folded.rows_mut().into_iter().zip(&norm.w) {
        row *= f64::from(gamma);
    }
    if folding == Folding::ScaledAndCentred {
        let mean = folded.mean_axis(Axis(0)).expect("d_model > 0");
        folded -= &mean.insert_axis(Axis(0));
    }
    folded
}

/// The final norm and how it folds into the unembedding (the identity and
/// [`Folding::None`] without one).
pub fn unembed_folding(params: &Params<f32>) -> (LayerNormParams<f32>, Folding) {
    match &params.ln_final {
        None => (
            LayerNormParams::identity(params.config.d_model),
            Folding::None,
        ),
        Some(ln) => match params.config.norm_kind {
            NormKind::LayerNorm => (ln.clone(), Folding::ScaledAndCentred),
            NormKind::RmsNorm => (ln.clone(), Folding::Scaled),
        },
    }
}

/// The unembedding times the embedding, `G = W_U' W_E` [d_model, d_model], where `W_U'`
/// is the unembedding with `ln_final` folded in (scaled by its γ and, under LayerNorm,
/// centred over d_model). Computed over the vocabulary in blocks of rows, so `W_U'` is never
/// held whole (Qwen's would be 1 GB in f64); the blocks are shared between threads, each
/// summing its own [d_model, d_model] part.
pub fn unembed_times_embed(params: &Params<f32>) -> Array2<f64> {
    let config = &params.config;
    let d = config.d_model;
    let (ln_final, folding) = unembed_folding(params);
    let ln_final = &ln_final;
    let unembed = params.unembed(); // [d_model, d_vocab]
    const BLOCK: usize = 4096;
    let starts: Vec<usize> = (0..config.d_vocab).step_by(BLOCK).collect();
    starts
        .into_par_iter()
        .fold(
            || Array2::<f64>::zeros((d, d)),
            |mut sum, start| {
                let end = (start + BLOCK).min(config.d_vocab);
                let u = fold_reader(unembed.slice(s![.., start..end]), ln_final, folding); // [d, block]
                let e = params.w_e.slice(s![start..end, ..]).mapv(f64::from); // [block, d]
                mat_mul(1.0, &u, &e, 1.0, &mut sum);
                sum
            },
        )
        .reduce(|| Array2::<f64>::zeros((d, d)), |a, b| a + b)
}
