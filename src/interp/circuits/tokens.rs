//! Circuits between tokens, for the tokens asked for (never d_vocab × d_vocab for a real
//! vocabulary): the direct path `W_E W_U` (what a zero-layer model predicts after each token,
//! a bigram table), and one head's full OV circuit `W_E W_V W_O W_U` (what attending to a
//! token makes the head predict) and full QK circuit `W_E W_Q W_Kᵀ W_Eᵀ` (how much a query
//! token attends to a key token, positions left out). `W_U` has `ln_final` folded in and the
//! head's matrices `ln1` ([`super::fold`]); the embedding is taken as it is.
//!
//! Also each head's singular values of `W_OV` and `W_QK` (both of rank ≤ d_head).

use nalgebra::DMatrix;
use ndarray::{Array1, Array2, ArrayView1, Axis};

use super::fold::{FoldedHeads, Folding, fold_reader, unembed_folding};
use crate::model::linalg::product;
use crate::model::{Params, TokenId};

/// The embedding rows of `tokens`, in f64. [tokens, d_model]
fn embed_rows(params: &Params<f32>, tokens: &[TokenId]) -> Array2<f64> {
    let indices: Vec<usize> = tokens.iter().map(|&t| t as usize).collect();
    params.w_e.select(Axis(0), &indices).mapv(f64::from)
}

/// The unembedding columns of `tokens` with `ln_final` folded in. [d_model, tokens]
fn unembed_columns(params: &Params<f32>, tokens: &[TokenId]) -> Array2<f64> {
    let indices: Vec<usize> = tokens.iter().map(|&t| t as usize).collect();
    let columns = params.unembed().select(Axis(1), &indices);
    let (norm, folding) = unembed_folding(params);
    fold_reader(columns.view(), &norm, folding)
}

/// The direct path from each of `from` to each of `to`: `W_E[from] W_U'[:, to]`.
/// [from, to]
pub fn direct_path(params: &Params<f32>, from: &[TokenId], to: &[TokenId]) -> Array2<f64> {
    embed_rows(params, from).dot(&unembed_columns(params, to))
}

/// The direct path from `token` to every token of the vocabulary, in f32 (the top of a
/// 150k-token row is what a view needs, not f64 digits): `W_E[token] W_U'`. Scaling the rows
/// of `W_U` by γ and centring its columns gives the same as scaling the centred embedding
/// row by γ, so the unembedding is read once as it is. [d_vocab]
pub fn direct_path_row(params: &Params<f32>, token: TokenId) -> Vec<f32> {
    direction_logits(params, params.w_e.row(token as usize))
}

/// What a direction in the stream adds to every logit through the final norm folded into
/// the unembedding (`ln_final`'s centring and γ; its scale by the stream's norm left out, as
/// the direct path and an SAE feature's direct effect take it). `direction` [d_model] →
/// [d_vocab]
pub fn direction_logits(params: &Params<f32>, direction: ArrayView1<'_, f32>) -> Vec<f32> {
    let mut row = direction.to_owned(); // [d_model]
    let (norm, folding) = unembed_folding(params);
    if folding == Folding::ScaledAndCentred {
        let mean = row.mean().unwrap_or(0.0);
        row -= mean;
    }
    if folding != Folding::None {
        row *= &norm.w;
    }
    let row = row.insert_axis(Axis(0)); // [1, d_model]
    product(1.0, &row, &params.unembed())
        .into_raw_vec_and_offset()
        .0
}

/// A head's full OV circuit between `tokens`: row i is what attending to token i adds to
/// the logit of each token j. [tokens, tokens]
pub fn full_ov(
    params: &Params<f32>,
    heads: &FoldedHeads,
    (layer, head): (usize, usize),
    tokens: &[TokenId],
) -> Array2<f64> {
    embed_rows(params, tokens)
        .dot(&heads.w_v[layer][head])
        .dot(&heads.w_o[layer][head])
        .dot(&unembed_columns(params, tokens))
}

/// A head's full QK circuit between `tokens`: entry (i, j) is the attention score of query
/// token i on key token j, before scaling, positions left out. [tokens, tokens]
pub fn full_qk(
    params: &Params<f32>,
    heads: &FoldedHeads,
    (layer, head): (usize, usize),
    tokens: &[TokenId],
) -> Array2<f64> {
    let embed = embed_rows(params, tokens);
    let queries = embed.dot(&heads.w_q[layer][head]); // [tokens, d_head]
    let keys = embed.dot(&heads.w_k[layer][head]); // [tokens, d_head]
    queries.dot(&keys.t())
}

/// The singular values of `A B`, A [d_model, r] and B [r, d_model], largest first: those of
/// `R_A R_Bᵀ` [r, r] with `A = Q_A R_A` and `Bᵀ = Q_B R_B` (the orthonormal factors keep
/// them).
pub fn factored_singular_values(a: &Array2<f64>, b: &Array2<f64>) -> Array1<f64> {
    let to_matrix = |m: &Array2<f64>| DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[[i, j]]);
    let r_a = to_matrix(a).qr().r();
    let r_b = to_matrix(&b.t().to_owned()).qr().r();
    let core = r_a * r_b.transpose();
    let mut values: Vec<f64> = core.singular_values().iter().copied().collect();
    values.sort_by(|x, y| y.total_cmp(x));
    Array1::from(values)
}

/// A head's singular values of `W_OV` and of `W_QK`, largest first. ([d_head], [d_head])
pub fn head_singular_values(
    heads: &FoldedHeads,
    (layer, head): (usize, usize),
) -> (Array1<f64>, Array1<f64>) {
    let ov = factored_singular_values(&heads.w_v[layer][head], &heads.w_o[layer][head]);
    let qk = factored_singular_values(
        &heads.w_q[layer][head],
        &heads.w_k[layer][head].t().to_owned(),
    );
    (ov, qk)
}
