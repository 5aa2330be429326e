//! The training loss of an SAE on a batch and its gradient, for the two kinds SAELens trains
//! most (as `sae_lens/saes/{topk,standard}_sae.py` define them, with `normalize_activations`
//! none and `b_dec` subtracted from the input):
//!
//! ```text
//! x̃ = x − b_dec,  pre = x̃ · W_enc + b_enc                         x [B, d_in], pre [B, d_sae]
//! topk     : f = ReLU(top-k of pre),  L = mse + aux
//! standard : f = ReLU(pre),           L = mse + l1 · mean_rows Σ_j f_j ‖W_dec[j]‖
//! x̂ = f · W_dec + b_dec,  mse = mean_rows ‖x̂ − x‖²
//! aux (AuxK, on dead features) = c · s · mean_rows ‖a · W_dec + b_dec − (x − x̂)‖²
//! ```
//!
//! where `a` keeps, per row, the `k_aux = min(d_in / 2, #dead)` largest pre-activations of
//! dead features (no ReLU), `(x − x̂)` carries no gradient, and `s = min(#dead / (d_in/2), 1)`
//! (SAELens's `calculate_topk_aux_loss`, `b_dec` inside the auxiliary decode included).
//!
//! How each kind is made fast:
//! - **TopK**: the encoder is one dense product per block of rows, whose pre-activations
//!   never leave the cache: the top k are chosen from them at once. Everything after touches
//!   only the k (+ k_aux) chosen features of a row: the decoder sums k rows of W_dec, and the
//!   backward pass reads k rows of W_dec and W_enc per token; the entries are then grouped
//!   by feature, so each feature's two gradient rows are written by one thread without locks.
//! - **Standard (ReLU)**: the six products are dense (at the early densities of training a
//!   sparse product of 128-wide rows is slower than gemm), but every elementwise step between
//!   them — bias, ReLU, L1, the masked gradient of the ReLU — is fused into the pass that
//!   reads the product while it is in cache, and the backward products skip features that
//!   no row of the batch activated.

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use super::model::{Architecture, Sae, row_norms};
use super::select::top_k_into;
use crate::model::Scalar;
use crate::model::linalg::mat_mul;
use crate::model::scalar::c;
use crate::model::simd::with_widest;

/// Rows encoded together: their pre-activations ([ROWS, d_sae]) stay in the core's cache.
const ROWS: usize = 64;
/// Features per job in the per-feature gradient passes.
const FEATURES: usize = 64;

/// What the loss weighs besides reconstruction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossWeights {
    /// Standard kind: the L1 coefficient on `f · ‖W_dec row‖`.
    pub l1: f64,
    /// AuxK coefficient (SAELens's `aux_loss_coefficient`); 0 turns AuxK off.
    pub aux: f64,
}

/// The gradient of the loss with respect to every weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads<F> {
    /// [d_sae, d_in]
    pub w_enc_t: Array2<F>,
    /// [d_sae]
    pub b_enc: Array1<F>,
    /// [d_sae, d_in]
    pub w_dec: Array2<F>,
    /// [d_in]
    pub b_dec: Array1<F>,
}

impl<F: Scalar> Grads<F> {
    /// Zeros shaped like `sae`'s weights.
    pub fn zeros(d_sae: usize, d_in: usize) -> Self {
        Self {
            w_enc_t: Array2::zeros((d_sae, d_in)),
            b_enc: Array1::zeros(d_sae),
            w_dec: Array2::zeros((d_sae, d_in)),
            b_dec: Array1::zeros(d_in),
        }
    }
}

/// The loss's parts on one batch (before the update), as f64.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchLoss {
    /// mean over rows of ‖x̂ − x‖².
    pub mse: f64,
    /// The L1 term (standard kind; 0 for TopK).
    pub l1: f64,
    /// The AuxK term (0 when no feature is dead).
    pub aux: f64,
    /// Mean number of active features per row.
    pub l0: f64,
    /// Which features were active in at least one row. [d_sae]
    pub fired: Vec<bool>,
}

impl BatchLoss {
    /// The whole loss that the gradient is of.
    pub fn total(&self) -> f64 {
        self.mse + self.l1 + self.aux
    }
}

/// Scratch memory reused from step to step (the ReLU kind's codes alone are B × d_sae).
#[derive(Debug, Default)]
pub struct Workspace<F> {
    codes: Vec<F>,
    entries: Vec<Entry<F>>,
    sorted: Vec<Entry<F>>,
}

/// One (row, feature) pair that the backward pass goes through sparsely.
#[derive(Clone, Copy, Debug, Default)]
struct Entry<F> {
    row: u32,
    feature: u32,
    /// The code that multiplied W_dec[feature] (ReLU'd for the main codes).
    code: F,
    /// ∂L/∂pre at this pair.
    d_pre: F,
    /// Whether the pair belongs to the auxiliary decode.
    aux: bool,
}

/// The loss of `sae` on `x` [B, d_in] and its gradient, written into `grads`. `dead` marks
/// the features AuxK may use (`None`: no AuxK term).
///
/// # Panics
/// If `x` does not have `d_in` columns, or the SAE is a JumpReLU one (not trained here).
pub fn loss_and_grads<F: Scalar>(
    sae: &Sae<F>,
    x: ArrayView2<'_, F>,
    weights: LossWeights,
    dead: Option<&[bool]>,
    workspace: &mut Workspace<F>,
    grads: &mut Grads<F>,
) -> BatchLoss {
    let (batch, d_in) = x.dim();
    assert_eq!(d_in, sae.config.d_in, "x has d_in columns");
    let d_sae = sae.config.d_sae;
    let mut sae_in = x.to_owned(); // x̃ [B, d_in]
    if sae.config.apply_b_dec_to_input {
        sae_in -= &sae.b_dec;
    }
    let dead_count = dead.map_or(0, |d| d.iter().filter(|&&x| x).count());
    let k_aux = if weights.aux > 0.0 {
        (d_in / 2).min(dead_count)
    } else {
        0
    };
    let aux_mask = dead.filter(|_| k_aux > 0);
    let k = match sae.config.architecture {
        Architecture::TopK { k } => Some(k.min(d_sae)),
        Architecture::Standard => None,
        Architecture::JumpRelu => panic!("JumpReLU SAEs are loaded, not trained"),
    };
    let width = k.unwrap_or(0) + k_aux; // sparse entries per row
    let workspace_entries = &mut workspace.entries;
    workspace_entries.clear();
    workspace_entries.resize(batch * width, Entry::default());
    let dense = k.is_none();
    if dense {
        workspace.codes.resize(batch * d_sae, F::zero());
    }
    let decoder_norms = row_norms(sae.w_dec.view());

    // Encoder: pre-activations block by block, and the codes chosen from them.
    encode_rows(
        sae,
        sae_in.view(),
        k,
        aux_mask.map(|mask| (mask, k_aux)),
        &mut workspace.codes,
        workspace_entries,
    );
    let codes = ArrayView2::from_shape((if dense { batch } else { 0 }, d_sae), &workspace.codes)
        .expect("codes are B × d_sae");

    // Decoder and the error: x̂ = f · W_dec + b_dec.
    let mut recon = Array2::zeros((batch, d_in)); // x̂ [B, d_in]
    if dense {
        par_row_products(codes, sae.w_dec.view(), F::zero(), recon.view_mut());
    }
    let inv_batch = 1.0 / batch as f64;
    let aux_scale = if k_aux > 0 {
        weights.aux * (dead_count as f64 / (d_in / 2).max(1) as f64).min(1.0)
    } else {
        0.0
    };
    let k_main = k.unwrap_or(0);
    let mut d_recon = Array2::zeros((batch, d_in)); // ∂L/∂x̂ [B, d_in]
    let mut d_aux = Array2::zeros((batch, d_in)); // ∂L/∂(aux decode) [B, d_in]
    let mut d_sae_in = Array2::zeros((batch, d_in)); // ∂L/∂x̃ through the sparse entries
    let per_row: Vec<(f64, f64)> = par_rows(&mut recon)
        .zip(par_rows(&mut d_recon))
        .zip(par_rows(&mut d_aux))
        .zip(par_rows(&mut d_sae_in))
        .zip(entry_rows(workspace_entries, batch, width))
        .zip(x.outer_iter().collect::<Vec<_>>())
        .map(
            |(((((mut recon, mut d_recon), mut d_aux), mut d_in_row), entries), x)| {
                let recon = recon.as_slice_mut().expect("rows are contiguous");
                let d_recon = d_recon.as_slice_mut().expect("rows are contiguous");
                let d_aux = d_aux.as_slice_mut().expect("rows are contiguous");
                let d_in_row = d_in_row.as_slice_mut().expect("rows are contiguous");
                let b_dec = sae.b_dec.as_slice().expect("contiguous");
                let (main, aux) = entries.split_at_mut(k_main.min(entries.len()));
                let w_dec = |j: u32| sae.w_dec.row(j as usize).to_slice().expect("contiguous");
                let w_enc = |j: u32| sae.w_enc_t.row(j as usize).to_slice().expect("contiguous");
                with_widest(
                    #[inline(always)]
                    || {
                        for e in main.iter() {
                            axpy(e.code, w_dec(e.feature), recon);
                        }
                        let mut sq = F::zero();
                        for (((r, d), &b), &xv) in
                            recon.iter_mut().zip(d_recon.iter_mut()).zip(b_dec).zip(x)
                        {
                            *r += b;
                            let err = *r - xv;
                            sq += err * err;
                            *d = c::<F>(2.0 * inv_batch) * err;
                        }
                        let mut aux_sq = F::zero();
                        if !aux.is_empty() {
                            // a · W_dec + b_dec − (x − x̂)
                            d_aux.copy_from_slice(b_dec);
                            for e in aux.iter() {
                                axpy(e.code, w_dec(e.feature), d_aux);
                            }
                            for ((d, &r), &xv) in d_aux.iter_mut().zip(recon.iter()).zip(x) {
                                let err = *d + r - xv;
                                aux_sq += err * err;
                                *d = c::<F>(2.0 * inv_batch * aux_scale) * err;
                            }
                        }
                        for e in main.iter_mut() {
                            e.d_pre = if e.code > F::zero() {
                                dot(d_recon, w_dec(e.feature))
                            } else {
                                F::zero()
                            };
                            axpy(e.d_pre, w_enc(e.feature), d_in_row);
                        }
                        for e in aux.iter_mut() {
                            e.d_pre = dot(d_aux, w_dec(e.feature));
                            axpy(e.d_pre, w_enc(e.feature), d_in_row);
                        }
                        (sq.as_f64(), aux_sq.as_f64())
                    },
                )
            },
        )
        .collect();
    let mse = per_row.iter().map(|p| p.0).sum::<f64>() * inv_batch;
    let aux_loss = per_row.iter().map(|p| p.1).sum::<f64>() * inv_batch * aux_scale;

    // Dense kind: the ReLU's backward and the L1 term, then the dense weight gradients.
    let (l1, l0, fired) = if dense {
        let mut codes = ArrayViewMut2::from_shape((batch, d_sae), &mut workspace.codes)
            .expect("codes are B × d_sae");
        let stats = relu_backward(
            sae,
            codes.view_mut(),
            d_recon.view(),
            &decoder_norms,
            weights.l1 * inv_batch,
            grads,
        );
        // ∂L/∂W_encᵀ = d_preᵀ · x̃ and ∂L/∂x̃ += d_pre · W_encᵀ, over the active features.
        feature_products(
            codes.view(),
            sae_in.view(),
            grads.w_enc_t.view_mut(),
            &stats.active,
        );
        par_row_products(
            codes.view(),
            sae.w_enc_t.view(),
            F::one(),
            d_sae_in.view_mut(),
        );
        grads.b_enc.assign(&codes.sum_axis(Axis(0)));
        (stats.l1, stats.l0, stats.active)
    } else {
        grads.w_enc_t.fill(F::zero());
        grads.w_dec.fill(F::zero());
        grads.b_enc.fill(F::zero());
        let mut fired = vec![false; d_sae];
        let mut active = 0usize;
        for e in workspace_entries
            .iter()
            .filter(|e| !e.aux && e.code > F::zero())
        {
            fired[e.feature as usize] = true;
            active += 1;
        }
        (0.0, active as f64 * inv_batch, fired)
    };
    // The sparse entries (TopK's codes, and AuxK's for both kinds), feature by feature.
    sparse_feature_grads(
        workspace_entries,
        &mut workspace.sorted,
        d_sae,
        sae_in.view(),
        d_recon.view(),
        d_aux.view(),
        grads,
    );
    // b_dec: through x̂, through the auxiliary decode, and through x̃ = x − b_dec.
    let mut g_b_dec = d_recon.sum_axis(Axis(0));
    if k_aux > 0 {
        g_b_dec += &d_aux.sum_axis(Axis(0));
    }
    if sae.config.apply_b_dec_to_input {
        g_b_dec -= &d_sae_in.sum_axis(Axis(0));
    }
    grads.b_dec.assign(&g_b_dec);
    BatchLoss {
        mse,
        l1,
        aux: aux_loss,
        l0,
        fired,
    }
}

/// Fills the codes: per block of [`ROWS`] rows, `pre = x̃ · W_enc + b_enc` in scratch memory,
/// then (TopK) the k largest into the sparse entries or (standard) the whole row into
/// `codes` [B, d_sae], ReLU left for [`relu_backward`]'s pass. `aux` = (dead mask, k_aux):
/// the k_aux largest dead pre-activations also go to the entries, after the main ones.
fn encode_rows<F: Scalar>(
    sae: &Sae<F>,
    sae_in: ArrayView2<'_, F>,
    k: Option<usize>,
    aux: Option<(&[bool], usize)>,
    codes: &mut [F],
    entries: &mut [Entry<F>],
) {
    let (batch, _) = sae_in.dim();
    let d_sae = sae.config.d_sae;
    let k_main = k.unwrap_or(0);
    let k_aux = aux.map_or(0, |a| a.1);
    let width = k_main + k_aux;
    let b_enc = sae.b_enc.as_slice().expect("contiguous");
    let blocks = batch.div_ceil(ROWS);
    let dense = k.is_none();
    let mut code_blocks: Vec<&mut [F]> = if dense {
        codes.chunks_mut(ROWS * d_sae).collect()
    } else {
        (0..blocks).map(|_| Default::default()).collect()
    };
    let mut entry_blocks: Vec<&mut [Entry<F>]> = if width > 0 {
        entries.chunks_mut(ROWS * width).collect()
    } else {
        (0..blocks).map(|_| Default::default()).collect()
    };
    code_blocks
        .par_iter_mut()
        .zip(entry_blocks.par_iter_mut())
        .enumerate()
        .for_each_init(
            || (Vec::new(), vec![0u32; width], vec![F::zero(); width]),
            |(scratch, index, value), (block, (code_block, entry_block))| {
                let start = block * ROWS;
                let rows = ROWS.min(batch - start);
                let pre: &mut [F] = if dense {
                    code_block
                } else {
                    scratch.resize(rows * d_sae, F::zero());
                    scratch
                };
                let mut pre_view = ArrayViewMut2::from_shape((rows, d_sae), pre)
                    .expect("a block of pre-activations");
                mat_mul(
                    F::one(),
                    &sae_in.slice(s![start..start + rows, ..]),
                    &sae.w_enc_t.t(),
                    F::zero(),
                    &mut pre_view,
                );
                for (r, row) in pre_view.outer_iter_mut().enumerate() {
                    let row = row.into_slice().expect("rows are contiguous");
                    with_widest(
                        #[inline(always)]
                        || row.iter_mut().zip(b_enc).for_each(|(p, &b)| *p += b),
                    );
                    let out = &mut entry_block[r * width..(r + 1) * width];
                    if k_main > 0 {
                        top_k_into(row, None, &mut index[..k_main], &mut value[..k_main]);
                        for ((e, &j), &v) in
                            out.iter_mut().zip(&index[..k_main]).zip(&value[..k_main])
                        {
                            *e = Entry {
                                row: (start + r) as u32,
                                feature: j,
                                code: v.max(F::zero()),
                                d_pre: F::zero(),
                                aux: false,
                            };
                        }
                    }
                    if let Some((mask, _)) = aux {
                        let found =
                            top_k_into(row, Some(mask), &mut index[k_main..], &mut value[k_main..]);
                        for (slot, e) in out[k_main..].iter_mut().enumerate() {
                            // Fewer dead features than k_aux cannot happen (k_aux ≤ #dead);
                            // an unfilled slot would carry a zero code.
                            let (j, v) = if slot < found {
                                (index[k_main + slot], value[k_main + slot])
                            } else {
                                (0, F::zero())
                            };
                            *e = Entry {
                                row: (start + r) as u32,
                                feature: j,
                                code: v,
                                d_pre: F::zero(),
                                aux: true,
                            };
                        }
                    }
                    if dense {
                        with_widest(
                            #[inline(always)]
                            || row.iter_mut().for_each(|p| *p = p.max(F::zero())),
                        );
                    }
                }
            },
        );
}

/// What [`relu_backward`] measured.
struct ReluStats {
    l1: f64,
    l0: f64,
    /// Features active in some row. [d_sae]
    active: Vec<bool>,
}

/// Standard kind, `codes` [B, d_sae] holding `f = ReLU(pre)`: measures the L1 term and L0,
/// writes W_dec's gradient (`∂/∂W_dec = fᵀ · ∂L/∂x̂ + l1/B · (Σ_rows f_j) W_dec[j]/‖W_dec[j]‖`),
/// and leaves `d_pre = [pre > 0] (∂L/∂x̂ · W_decᵀ + l1/B ‖W_dec[j]‖)` in `codes`.
fn relu_backward<F: Scalar>(
    sae: &Sae<F>,
    mut codes: ArrayViewMut2<'_, F>,
    d_recon: ArrayView2<'_, F>,
    decoder_norms: &Array1<F>,
    l1_over_batch: f64,
    grads: &mut Grads<F>,
) -> ReluStats {
    let (batch, d_sae) = codes.dim();
    let norms = decoder_norms.as_slice().expect("contiguous");
    // `encode_rows` applied the ReLU. Per block of rows: column sums, the L1 sum and counts.
    let partial: Vec<(f64, usize, Vec<F>)> = codes
        .axis_chunks_iter(Axis(0), ROWS)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|block| {
            let mut sums = vec![F::zero(); d_sae];
            let mut l1 = F::zero();
            let mut count = 0usize;
            for row in block.outer_iter() {
                let row = row.to_slice().expect("contiguous");
                with_widest(
                    #[inline(always)]
                    || {
                        for ((s, &f), &n) in sums.iter_mut().zip(row).zip(norms) {
                            *s += f;
                            l1 += f * n;
                        }
                    },
                );
                count += row.iter().filter(|&&f| f > F::zero()).count();
            }
            (l1.as_f64(), count, sums)
        })
        .collect();
    let mut column_sums = vec![F::zero(); d_sae];
    let (mut l1, mut count) = (0.0, 0usize);
    for (block_l1, block_count, sums) in &partial {
        l1 += block_l1;
        count += block_count;
        for (t, &s) in column_sums.iter_mut().zip(sums) {
            *t += s;
        }
    }
    let active: Vec<bool> = column_sums.iter().map(|&s| s > F::zero()).collect();
    // ∂L/∂W_dec = fᵀ · ∂L/∂x̂ (active features only) + the L1 term's pull on the norms.
    feature_products(codes.view(), d_recon, grads.w_dec.view_mut(), &active);
    let scale = c::<F>(l1_over_batch);
    for (((mut g, w), &sum), &n) in grads
        .w_dec
        .outer_iter_mut()
        .zip(sae.w_dec.outer_iter())
        .zip(&column_sums)
        .zip(norms)
    {
        if sum > F::zero() && n > F::zero() {
            g.scaled_add(scale * sum / n, &w);
        }
    }
    // d_pre, in place, block by block: [f > 0] (∂L/∂x̂ · W_decᵀ + l1/B ‖W_dec[j]‖).
    codes
        .axis_chunks_iter_mut(Axis(0), ROWS)
        .collect::<Vec<_>>()
        .into_par_iter()
        .zip(d_recon.axis_chunks_iter(Axis(0), ROWS).collect::<Vec<_>>())
        .for_each_init(Vec::new, |scratch: &mut Vec<F>, (mut block, d_out)| {
            let rows = block.nrows();
            scratch.resize(rows * d_sae, F::zero());
            let mut d_f = ArrayViewMut2::from_shape((rows, d_sae), &mut scratch[..])
                .expect("a block of code gradients");
            mat_mul(F::one(), &d_out, &sae.w_dec.t(), F::zero(), &mut d_f);
            for (mut code_row, d_row) in block.outer_iter_mut().zip(d_f.outer_iter()) {
                let code_row = code_row.as_slice_mut().expect("contiguous");
                let d_row = d_row.to_slice().expect("contiguous");
                with_widest(
                    #[inline(always)]
                    || {
                        for ((f, &d), &n) in code_row.iter_mut().zip(d_row).zip(norms) {
                            *f = if *f > F::zero() {
                                d + scale * n
                            } else {
                                F::zero()
                            };
                        }
                    },
                );
            }
        });
    ReluStats {
        l1: l1 * l1_over_batch,
        l0: count as f64 / batch as f64,
        active,
    }
}

/// `out[j] = Σ_rows codes[row, j] · rows[row]` for the `active` features, 0 for the others:
/// `codesᵀ · rows` [d_sae, d_in], split over features, skipping inactive features' columns.
fn feature_products<F: Scalar>(
    codes: ArrayView2<'_, F>,
    rows: ArrayView2<'_, F>,
    mut out: ArrayViewMut2<'_, F>,
    active: &[bool],
) {
    out.axis_chunks_iter_mut(Axis(0), FEATURES)
        .collect::<Vec<_>>()
        .into_par_iter()
        .enumerate()
        .for_each(|(chunk, mut out)| {
            let start = chunk * FEATURES;
            let end = start + out.nrows();
            let any = active[start..end].iter().any(|&a| a);
            if !any {
                out.fill(F::zero());
                return;
            }
            mat_mul(
                F::one(),
                &codes.slice(s![.., start..end]).t(),
                &rows,
                F::zero(),
                &mut out,
            );
        });
}

/// `out = codes · weights + beta · out` [B, d_in] (`weights` [d_sae, d_in]), split over
/// blocks of rows.
fn par_row_products<F: Scalar>(
    codes: ArrayView2<'_, F>,
    weights: ArrayView2<'_, F>,
    beta: F,
    mut out: ArrayViewMut2<'_, F>,
) {
    out.axis_chunks_iter_mut(Axis(0), ROWS)
        .collect::<Vec<_>>()
        .into_par_iter()
        .zip(codes.axis_chunks_iter(Axis(0), ROWS).collect::<Vec<_>>())
        .for_each(|(mut out, codes)| mat_mul(F::one(), &codes, &weights, beta, &mut out));
}

/// Adds the sparse entries' gradients feature by feature: for entry (row, j),
/// `∂W_dec[j] += code · ∂(its decode)[row]`, `∂W_encᵀ[j] += d_pre · x̃[row]`,
/// `∂b_enc[j] += d_pre`. The entries are first sorted by feature (a counting sort), so
/// each thread owns whole features.
fn sparse_feature_grads<F: Scalar>(
    entries: &[Entry<F>],
    sorted: &mut Vec<Entry<F>>,
    d_sae: usize,
    sae_in: ArrayView2<'_, F>,
    d_recon: ArrayView2<'_, F>,
    d_aux: ArrayView2<'_, F>,
    grads: &mut Grads<F>,
) {
    if entries.is_empty() {
        return;
    }
    let mut starts = vec![0usize; d_sae + 1];
    for e in entries {
        starts[e.feature as usize + 1] += 1;
    }
    for j in 0..d_sae {
        starts[j + 1] += starts[j];
    }
    sorted.clear();
    sorted.resize(entries.len(), Entry::default());
    let mut next = starts.clone();
    for e in entries {
        let at = &mut next[e.feature as usize];
        sorted[*at] = *e;
        *at += 1;
    }
    let d_in = sae_in.ncols();
    let (sae_in, d_recon, d_aux) = (
        sae_in.to_slice().expect("x̃ is a fresh [B, d_in] array"),
        d_recon.to_slice().expect("a fresh [B, d_in] array"),
        d_aux.to_slice().expect("a fresh [B, d_in] array"),
    );
    let sorted = &sorted[..];
    let starts = &starts[..];
    grads
        .w_dec
        .as_slice_mut()
        .expect("contiguous")
        .par_chunks_mut(FEATURES * d_in)
        .zip(
            grads
                .w_enc_t
                .as_slice_mut()
                .expect("contiguous")
                .par_chunks_mut(FEATURES * d_in),
        )
        .zip(
            grads
                .b_enc
                .as_slice_mut()
                .expect("contiguous")
                .par_chunks_mut(FEATURES),
        )
        .enumerate()
        .for_each(|(chunk, ((g_dec, g_enc), g_b))| {
            for (local, g_b) in g_b.iter_mut().enumerate() {
                let j = chunk * FEATURES + local;
                let g_dec = &mut g_dec[local * d_in..(local + 1) * d_in];
                let g_enc = &mut g_enc[local * d_in..(local + 1) * d_in];
                with_widest(
                    #[inline(always)]
                    || {
                        for e in &sorted[starts[j]..starts[j + 1]] {
                            let decode_grad = if e.aux { d_aux } else { d_recon };
                            axpy(e.code, row_of(decode_grad, e.row, d_in), g_dec);
                            axpy(e.d_pre, row_of(sae_in, e.row, d_in), g_enc);
                            *g_b += e.d_pre;
                        }
                    },
                );
            }
        });
}

/// Row `row` of a row-major matrix of `width` columns held in `values`.
#[inline(always)]
fn row_of<F>(values: &[F], row: u32, width: usize) -> &[F] {
    let start = row as usize * width;
    &values[start..start + width]
}

/// The sparse entries row by row (`width` per row; empty slices when there are none).
fn entry_rows<F: Scalar>(
    entries: &mut [Entry<F>],
    batch: usize,
    width: usize,
) -> rayon::vec::IntoIter<&mut [Entry<F>]> {
    let rows: Vec<&mut [Entry<F>]> = if width > 0 {
        entries.chunks_mut(width).collect()
    } else {
        (0..batch).map(|_| Default::default()).collect()
    };
    rows.into_par_iter()
}

/// The rows of `m` as a parallel iterator.
fn par_rows<F: Scalar>(m: &mut Array2<F>) -> rayon::vec::IntoIter<ndarray::ArrayViewMut1<'_, F>> {
    m.outer_iter_mut().collect::<Vec<_>>().into_par_iter()
}

/// `y += alpha · x`.
#[inline(always)]
fn axpy<F: Scalar>(alpha: F, x: &[F], y: &mut [F]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

/// `Σ a_i b_i`, in eight interleaved sums (so the loop vectorizes).
#[inline(always)]
fn dot<F: Scalar>(a: &[F], b: &[F]) -> F {
    let mut sums = [F::zero(); 8];
    let (a_main, a_rest) = a.split_at(a.len() / 8 * 8);
    let (b_main, b_rest) = b.split_at(a_main.len().min(b.len()));
    for (a8, b8) in a_main.chunks_exact(8).zip(b_main.chunks_exact(8)) {
        for i in 0..8 {
            sums[i] += a8[i] * b8[i];
        }
    }
    let mut total =
        ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        total += x * y;
    }
    total
}
