//! The forward pass: tokens in, a [`Trace`] out that records every hook point.
//!
//! Rows are token positions: a batch of `batch` sequences of `n_pos` tokens is laid out as
//! `rows = batch · n_pos` rows, sequence-major, so a single prompt (batch 1) reads `[pos, …]`.
//! The same Trace is what every view reads and what backward uses as its cache.

use super::linalg::{mat_mul, product};
use ndarray::{Array1, Array2, Array3, Array4, ArrayView1, ArrayView2, Axis};

use super::attention::{AttentionSetup, attention_forward};
use super::config::{Activation, ModelConfig, NormPlacement, Positions};
use super::hooks::{HookSite, Intervention, NoIntervention};
use super::ops::{
    LayerNormTrace, activation_backward_in_place, activation_forward, cross_entropy,
    layer_norm_forward,
};
use super::parallel::{Split, affine, with_split};
use super::params::{BlockParams, LayerNormParams, MlpParams, Params};
use super::raw::uninit::Fresh;
use super::rotary::RopeTable;
use super::scalar::Scalar;
use super::scalar::c;

/// A token id: an index into the vocabulary.
pub type TokenId = u32;

/// What the MLP sublayer of one block computed.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpTrace<F> {
    /// `ln2`: on the MLP's input (pre-LN, parallel, sandwich) or on `resid_post_pre_norm`
    /// (post-LN).
    pub ln2: LayerNormTrace<F>,
    /// `hook_pre`: `mlp_in · W_in + b_in`, or the gate `mlp_in · W_gate + b_gate` of a gated
    /// MLP. [rows, d_mlp]
    pub pre: Array2<F>,
    /// `hook_pre_linear`: `mlp_in · W_in + b_in` of a gated MLP. [rows, d_mlp]
    pub pre_linear: Option<Array2<F>>,
    /// `hook_post`: the activation applied to `pre` (times `pre_linear` when gated).
    /// [rows, d_mlp]
    pub post: Array2<F>,
    /// Sandwich blocks: `post · W_out + b_out` before `ln2_post`. [rows, d_model]
    pub out_pre_norm: Option<Array2<F>>,
    /// Sandwich blocks: the norm on the MLP's output.
    pub ln2_post: Option<LayerNormTrace<F>>,
    /// `hook_mlp_out`: what the MLP adds to the stream, `post · W_out + b_out` (normalised by
    /// `ln2_post` in a sandwich block). [rows, d_model]
    pub out: Array2<F>,
}

/// Everything one block computed.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace<F> {
    /// `hook_resid_pre`: the stream entering the block. [rows, d_model]
    pub resid_pre: Array2<F>,
    /// `ln1`: on `resid_pre` (pre-LN) or on `resid_mid_pre_norm` (post-LN).
    pub ln1: LayerNormTrace<F>,
    /// `hook_q`: queries after q_norm and rotary (TransformerLens's `hook_rot_q`).
    /// [head, rows, d_head]
    pub q: Array3<F>,
    /// `hook_k`: keys after k_norm and rotary, one per key/value head.
    /// [kv_head, rows, d_head]
    pub k: Array3<F>,
    /// `hook_v`. [kv_head, rows, d_head]
    pub v: Array3<F>,
    /// `hook_q_pre_rotary`: queries before rotary, when positions are rotary (full traces).
    /// [head, rows, d_head]
    pub q_pre_rotary: Option<Array3<F>>,
    /// `hook_k_pre_rotary`. [kv_head, rows, d_head]
    pub k_pre_rotary: Option<Array3<F>>,
    /// `hook_attn_scores`: `q·kᵀ·scale` (softcapped when the model caps them), before the
    /// causal mask (masked entries are the raw values the mask discards).
    /// [batch, head, query_pos, key_pos];
    /// empty ([batch, head, 0, 0]) in traces from [`forward_for_training`] (backward reads
    /// only the pattern).
    pub scores: Array4<F>,
    /// `hook_pattern`: causal softmax of the scores; rows sum to 1, the upper triangle is 0.
    /// [batch, head, query_pos, key_pos]
    pub pattern: Array4<F>,
    /// `hook_z`: `pattern · v`. [head, rows, d_head]
    pub z: Array3<F>,
    /// `hook_result`: each head's own output `z_h · W_O[h]`, without `b_O`.
    /// [head, rows, d_model]; empty ([head, 0, d_model]) in traces from
    /// [`forward_for_training`], which sums the heads in one fused product instead.
    pub head_result: Array3<F>,
    /// Sandwich blocks: Σ_h head_result[h] + b_O before `ln1_post`. [rows, d_model]
    pub attn_out_pre_norm: Option<Array2<F>>,
    /// Sandwich blocks: the norm on attention's output.
    pub ln1_post: Option<LayerNormTrace<F>>,
    /// `hook_attn_out`: what attention adds to the stream, Σ_h head_result[h] + b_O
    /// (normalised by `ln1_post` in a sandwich block). [rows, d_model]
    pub attn_out: Array2<F>,
    /// Post-LN only: `skip + attn_out`, the sum that `ln1` normalises. [rows, d_model]
    pub resid_mid_pre_norm: Option<Array2<F>>,
    /// `hook_resid_mid`: the stream between the sublayers. In a parallel block, where no such
    /// stream exists, `resid_pre + attn_out` (the partial sum; not a hook). [rows, d_model]
    pub resid_mid: Array2<F>,
    /// `None` for attention-only blocks.
    pub mlp: Option<MlpTrace<F>>,
    /// Post-LN with an MLP only: `skip + mlp_out`, the sum `ln2` normalises. [rows, d_model]
    pub resid_post_pre_norm: Option<Array2<F>>,
    /// `hook_resid_post`: the stream leaving the block. [rows, d_model]
    pub resid_post: Array2<F>,
}

/// Every activation of one forward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace<F = f32> {
    /// Number of sequences.
    pub batch: usize,
    /// Tokens per sequence.
    pub n_pos: usize,
    /// The input, sequence-major. [rows]
    pub tokens: Vec<TokenId>,
    /// `hook_embed`: W_E[tokens]·embed_scale. [rows, d_model]
    pub embed: Array2<F>,
    /// `hook_pos_embed`: W_pos[pos], when positions are learned. [rows, d_model]
    pub pos_embed: Option<Array2<F>>,
    /// One entry per block.
    pub layers: Vec<LayerTrace<F>>,
    /// `ln_final` on the last `resid_post`, when the model has one.
    pub ln_final: Option<LayerNormTrace<F>>,
    /// Next-token logits. [rows, d_vocab] ([rows, 0] from
    /// [`forward_batch_before_unembedding`], which leaves them to its caller)
    pub logits: Array2<F>,
}

/// Input the model cannot run on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// No tokens at all.
    #[error("the input is empty: give at least one token")]
    Empty,
    /// More tokens than learned positions.
    #[error("{len} tokens is more than this model's context of {n_ctx}")]
    TooLong {
        /// Tokens given.
        len: usize,
        /// The model's limit.
        n_ctx: usize,
    },
    /// A token id outside the vocabulary.
    #[error("token id {token_id} at position {pos} is outside the vocabulary (0..{d_vocab})")]
    OutOfVocabulary {
        /// The bad id.
        token_id: TokenId,
        /// Where it is.
        pos: usize,
        /// Vocabulary size.
        d_vocab: usize,
    },
    /// Sequences of different lengths in one batch.
    #[error("every sequence in a batch must have the same length")]
    Ragged,
    /// The pass was stopped before its end ([`Intervention::still_wanted`]).
    #[error("the pass was stopped: a newer request replaced it")]
    Stopped,
}

impl<F: Scalar> Trace<F> {
    /// The stream that enters the unembedding's LayerNorm: the last block's `resid_post`
    /// (`hook_embed + hook_pos_embed` for a model without blocks). [rows, d_model]
    pub fn final_resid(&self) -> Array2<F> {
        match self.layers.last() {
            Some(layer) => layer.resid_post.clone(),
            None => self.embed_sum(),
        }
    }

    /// `hook_embed + hook_pos_embed`: the stream entering block 0. [rows, d_model]
    pub fn embed_sum(&self) -> Array2<F> {
        match &self.pos_embed {
            Some(pos_embed) => &self.embed + pos_embed,
            None => self.embed.clone(),
        }
    }

    /// Mean next-token cross-entropy over every sequence: position t predicts token t+1.
    /// `None` when sequences have a single token.
    pub fn loss(&self) -> Option<F> {
        if self.n_pos < 2 {
            return None;
        }
        let (logits, targets) = self.next_token_pairs();
        Some(cross_entropy(logits.view(), &targets))
    }

    /// Logits rows that have a next token, with that token: ([batch·(n_pos−1), d_vocab],
    /// [batch·(n_pos−1)]).
    pub fn next_token_pairs(&self) -> (Array2<F>, Vec<TokenId>) {
        let t = self.n_pos;
        let rows: Vec<usize> = (0..self.batch)
            .flat_map(|b| (0..t - 1).map(move |p| b * t + p))
            .collect();
        let logits = self.logits.select(Axis(0), &rows);
        let targets = rows.iter().map(|&r| self.tokens[r + 1]).collect();
        (logits, targets)
    }
}

/// Checks a token sequence against a model before it runs.
pub fn check_tokens<F>(params: &Params<F>, tokens: &[TokenId]) -> Result<(), InputError> {
    let config = &params.config;
    if tokens.is_empty() {
        return Err(InputError::Empty);
    }
    if tokens.len() > config.n_ctx {
        return Err(InputError::TooLong {
            len: tokens.len(),
            n_ctx: config.n_ctx,
        });
    }
    if let Some((pos, &token_id)) = tokens
        .iter()
        .enumerate()
        .find(|(_, id)| **id as usize >= config.d_vocab)
    {
        return Err(InputError::OutOfVocabulary {
            token_id,
            pos,
            d_vocab: config.d_vocab,
        });
    }
    Ok(())
}

/// The plain forward pass of one sequence.
pub fn forward<F: Scalar>(params: &Params<F>, tokens: &[TokenId]) -> Result<Trace<F>, InputError> {
    forward_batch(params, &[tokens], &NoIntervention)
}

/// The forward pass of a batch of equal-length sequences, with an intervention applied at
/// every hook site ([`NoIntervention`] for the plain pass).
pub fn forward_batch<F: Scalar>(
    params: &Params<F>,
    sequences: &[&[TokenId]],
    intervention: &dyn Intervention<F>,
) -> Result<Trace<F>, InputError> {
    forward_impl(params, sequences, intervention, true, true)
}

/// The plain forward pass for training: the same Trace except that `head_result` and
/// `scores` are left empty (the heads' outputs are summed by one fused product, which is
/// faster, and the backward pass reads only the pattern), and the pass
/// runs on the calling thread (training runs one group of sequences per thread).
pub fn forward_for_training<F: Scalar>(
    params: &Params<F>,
    sequences: &[&[TokenId]],
) -> Result<Trace<F>, InputError> {
    forward_impl(params, sequences, &NoIntervention, false, false)
}

/// [`forward_batch`] stopped before the unembedding: every activation but the logits (left
/// empty, [rows, 0]) and the unembedding's input, the final stream after `ln_final` and the
/// `ResidFinal` hook ([rows, d_model]; [`unembed`] of it gives the logits). For a caller that
/// needs the logits of a few rows first: the unembedding of a 64-token prompt against
/// Qwen2.5-0.5B's 151,936 tokens is 17 GFLOP, a third of the pass.
pub fn forward_batch_before_unembedding<F: Scalar>(
    params: &Params<F>,
    sequences: &[&[TokenId]],
    intervention: &dyn Intervention<F>,
) -> Result<(Trace<F>, Array2<F>), InputError> {
    with_split(true, |split| {
        let (trace, final_resid) = forward_checked(params, sequences, intervention, true, split)?;
        let unembed_in = match final_resid {
            Some(resid) => resid,
            None => trace
                .ln_final
                .as_ref()
                .expect("no final stream: ln_final")
                .out
                .clone(),
        };
        Ok((trace, unembed_in))
    })
}

fn forward_impl<F: Scalar>(
    params: &Params<F>,
    sequences: &[&[TokenId]],
    intervention: &dyn Intervention<F>,
    full_trace: bool,
    two_threads: bool,
) -> Result<Trace<F>, InputError> {
    with_split(two_threads, |split| {
        let (mut trace, final_resid) =
            forward_checked(params, sequences, intervention, full_trace, split)?;
        let unembed_in = match (&final_resid, &trace.ln_final) {
            (Some(resid), _) => resid.view(),
            (None, Some(ln)) => ln.out.view(),
            (None, None) => {
                unreachable!("forward_checked returns the final stream without ln_final")
            }
        };
        trace.logits = unembed_split(params, unembed_in, split);
        Ok(trace)
    })
}

fn forward_checked<F: Scalar>(
    params: &Params<F>,
    sequences: &[&[TokenId]],
    intervention: &dyn Intervention<F>,
    full_trace: bool,
    split: Split<'_>,
) -> Result<(Trace<F>, Option<Array2<F>>), InputError> {
    let n_pos = sequences.first().map_or(0, |s| s.len());
    for sequence in sequences {
        if sequence.len() != n_pos {
            return Err(InputError::Ragged);
        }
        check_tokens(params, sequence)?;
    }
    if sequences.is_empty() {
        return Err(InputError::Empty);
    }
    let config = &params.config;
    let tokens: Vec<TokenId> = sequences.iter().flat_map(|s| s.iter().copied()).collect();
    let batch = sequences.len();

    let mut embed = params.w_e.select(Axis(0), &as_indices(&tokens)); // [rows, d_model]
    if config.embed_scale != 1.0 {
        // As the reference computes it: the scale rounded to the weights' float type first.
        embed *= c::<F>(config.embed_scale);
    }
    intervention.apply(HookSite::Embed, embed.view_mut().into_dyn());
    let pos_embed = config.learned_positions().then(|| {
        let positions: Vec<usize> = (0..batch).flat_map(|_| 0..n_pos).collect();
        let mut pos_embed = params.w_pos.select(Axis(0), &positions); // [rows, d_model]
        intervention.apply(HookSite::PosEmbed, pos_embed.view_mut().into_dyn());
        pos_embed
    });
    let (rope_tables, rope_of_layer) = rope_tables::<F>(config, n_pos);

    let mut resid = match &pos_embed {
        Some(pos_embed) => &embed + pos_embed,
        None => embed.clone(),
    }; // [rows, d_model]
    let mut layers = Vec::with_capacity(config.n_layers);
    for (layer, block) in params.blocks.iter().enumerate() {
        if !intervention.still_wanted() {
            return Err(InputError::Stopped);
        }
        intervention.apply(HookSite::ResidPre { layer }, resid.view_mut().into_dyn());
        let setup = AttentionSetup {
            scale: c::<F>(config.score_scale()),
            window: config.window(layer),
            softcap: config.attn_softcap.map(c::<F>),
            rope: rope_of_layer.get(layer).map(|&index| &rope_tables[index]),
            qk_norm_eps: c::<F>(config.layer_norm_eps),
        };
        let trace = block_forward(
            params,
            block,
            layer,
            batch,
            n_pos,
            resid,
            &setup,
            intervention,
            full_trace,
            split,
        );
        resid = trace.resid_post.clone();
        layers.push(trace);
    }
    intervention.apply(HookSite::ResidFinal, resid.view_mut().into_dyn());
    let ln_final = params
        .ln_final
        .as_ref()
        .map(|ln| layer_norm(config, ln, resid.view(), split));
    let rows = resid.nrows();
    // The unembedding's input: `ln_final`'s output, or without one the final stream, which
    // the trace does not hold after the `ResidFinal` hook.
    let final_resid = ln_final.is_none().then_some(resid);
    let trace = Trace {
        batch,
        n_pos,
        tokens,
        embed,
        pos_embed,
        layers,
        ln_final,
        logits: Array2::zeros((rows, 0)),
    };
    Ok((trace, final_resid))
}

/// `x · W_U + b_U` (W_U = W_Eᵀ when tied). `x` [rows, d_model] → [rows, d_vocab].
/// Runs on two threads when the product is large enough (see [`with_split`]).
pub fn unembed<F: Scalar>(params: &Params<F>, x: ArrayView2<'_, F>) -> Array2<F> {
    with_split(true, |split| unembed_split(params, x, split))
}

fn unembed_split<F: Scalar>(params: &Params<F>, x: ArrayView2<'_, F>, split: Split) -> Array2<F> {
    let mut logits = affine(
        split,
        &x,
        &params.unembed(),
        params.b_u.as_ref().map(|b_u| b_u.view()),
    ); // [rows, d_vocab]
    if let Some(cap) = params.config.final_softcap {
        let cap = c::<F>(cap);
        logits.mapv_inplace(|logit| cap * (logit / cap).tanh());
    }
    logits
}

/// The rotary tables of a pass over `n_pos` positions, one per distinct θ, and the index of
/// each layer's table (both empty without rotary positions).
fn rope_tables<F: Scalar>(config: &ModelConfig, n_pos: usize) -> (Vec<RopeTable<F>>, Vec<usize>) {
    let Positions::Rotary(rotary) = &config.positions else {
        return (Vec::new(), Vec::new());
    };
    let mut tables: Vec<RopeTable<F>> = Vec::new();
    let of_layer = rotary
        .thetas
        .iter()
        .map(
            |&theta| match tables.iter().position(|t| t.theta == theta) {
                Some(index) => index,
                None => {
                    tables.push(RopeTable::new(rotary, theta, n_pos));
                    tables.len() - 1
                }
            },
        )
        .collect();
    (tables, of_layer)
}

fn as_indices(tokens: &[TokenId]) -> Vec<usize> {
    tokens.iter().map(|&t| t as usize).collect()
}

/// The model's norm (LayerNorm or RMSNorm, its eps) with these weights on `x` [rows, d_model].
fn layer_norm<F: Scalar>(
    config: &ModelConfig,
    ln: &LayerNormParams<F>,
    x: ArrayView2<'_, F>,
    split: Split<'_>,
) -> LayerNormTrace<F> {
    layer_norm_forward(
        x,
        ln.w.view(),
        ln.b.view(),
        config.layer_norm_eps,
        config.norm_kind,
        split,
    )
}

/// `norm(x)` when a sandwich block has a norm after the sublayer: (the pre-norm output, the
/// norm's trace, its output); otherwise `x` alone.
fn post_norm<F: Scalar>(
    config: &ModelConfig,
    ln: Option<&LayerNormParams<F>>,
    x: Array2<F>,
    split: Split<'_>,
) -> (Option<Array2<F>>, Option<LayerNormTrace<F>>, Array2<F>) {
    match ln {
        Some(ln) => {
            let trace = layer_norm(config, ln, x.view(), split);
            let out = trace.out.clone();
            (Some(x), Some(trace), out)
        }
        None => (None, None, x),
    }
}

/// One block. `resid_pre` [rows, d_model] is moved into the trace.
fn block_forward<F: Scalar>(
    params: &Params<F>,
    block: &BlockParams<F>,
    layer: usize,
    batch: usize,
    n_pos: usize,
    resid_pre: Array2<F>,
    setup: &AttentionSetup<'_, F>,
    intervention: &dyn Intervention<F>,
    full_trace: bool,
    split: Split<'_>,
) -> LayerTrace<F> {
    let config = &params.config;
    let post_ln = config.norm == NormPlacement::Post;
    let parallel = config.norm == NormPlacement::Parallel;
    // `skip + sublayer_out`, where the skip term is `skip_source` (residual connections on)
    // or zeros (off), as the intervention at `site` leaves it.
    let add_skip = |site: HookSite, skip_source: &Array2<F>, sublayer_out: &Array2<F>| {
        if config.residual && !intervention.may_change(site) {
            return skip_source + sublayer_out;
        }
        let mut skip = if config.residual {
            skip_source.clone()
        } else {
            Array2::zeros(skip_source.raw_dim())
        };
        intervention.apply(site, skip.view_mut().into_dyn());
        skip + sublayer_out
    };

    // Attention sublayer. Post-LN: attn(x); every other placement: attn(ln1(x)).
    let ln1_pre = (!post_ln).then(|| layer_norm(config, &block.ln1, resid_pre.view(), split));
    let attn_in = ln1_pre
        .as_ref()
        .map_or(resid_pre.view(), |ln| ln.out.view());
    let mut attn = attention_forward(&block.attn, setup, attn_in, batch, n_pos, full_trace, split);
    let heads_sum = match attn.fused_out.take() {
        Some(sum) => add_bias(sum, &block.attn.b_o),
        None => {
            intervention.apply(
                HookSite::HeadResult { layer },
                attn.head_result.view_mut().into_dyn(),
            );
            sum_heads_plus_bias(&attn.head_result, &block.attn.b_o)
        }
    }; // [rows, d_model]
    let (attn_out_pre_norm, ln1_post, mut attn_out) =
        post_norm(config, block.ln1_post.as_ref(), heads_sum, split);
    intervention.apply(HookSite::AttnOut { layer }, attn_out.view_mut().into_dyn());
    let attn_sum = add_skip(HookSite::AttnSkip { layer }, &resid_pre, &attn_out); // [rows, d_model]
    let (ln1, resid_mid_pre_norm, mut resid_mid) = match ln1_pre {
        Some(ln1) => (ln1, None, attn_sum),
        None => {
            let ln1 = layer_norm(config, &block.ln1, attn_sum.view(), split);
            let out = ln1.out.clone();
            (ln1, Some(attn_sum), out)
        }
    };
    if !parallel {
        intervention.apply(
            HookSite::ResidMid { layer },
            resid_mid.view_mut().into_dyn(),
        );
    }

    // MLP sublayer. Post-LN: mlp(x'); pre-LN and sandwich: mlp(ln2(x')); parallel:
    // mlp(ln2(x)), reading the same stream as attention.
    let (mlp, resid_post_pre_norm, resid_post) = match &block.mlp {
        None => (None, None, resid_mid.clone()),
        Some(weights) => {
            let mlp_reads = if parallel { &resid_pre } else { &resid_mid };
            let ln2_pre =
                (!post_ln).then(|| layer_norm(config, &weights.ln2, mlp_reads.view(), split));
            let mlp_in = ln2_pre
                .as_ref()
                .map_or(resid_mid.view(), |ln| ln.out.view());
            let parts = mlp_forward(weights, config.activation, mlp_in, split);
            let (out_pre_norm, ln2_post, mut out) =
                post_norm(config, weights.ln2_post.as_ref(), parts.out, split);
            intervention.apply(HookSite::MlpOut { layer }, out.view_mut().into_dyn());
            let mlp_sum = add_skip(HookSite::MlpSkip { layer }, &resid_mid, &out); // [rows, d_model]
            let trace = |ln2| MlpTrace {
                ln2,
                pre: parts.pre,
                pre_linear: parts.pre_linear,
                post: parts.post,
                out_pre_norm,
                ln2_post,
                out,
            };
            match ln2_pre {
                Some(ln2) => (Some(trace(ln2)), None, mlp_sum),
                None => {
                    let ln2 = layer_norm(config, &weights.ln2, mlp_sum.view(), split);
                    let resid_post = ln2.out.clone();
                    (Some(trace(ln2)), Some(mlp_sum), resid_post)
                }
            }
        }
    };

    LayerTrace {
        resid_pre,
        ln1,
        q: attn.q,
        k: attn.k,
        v: attn.v,
        q_pre_rotary: attn.q_pre_rotary,
        k_pre_rotary: attn.k_pre_rotary,
        scores: attn.scores,
        pattern: attn.pattern,
        z: attn.z,
        head_result: attn.head_result,
        attn_out_pre_norm,
        ln1_post,
        attn_out,
        resid_mid_pre_norm,
        resid_mid,
        mlp,
        resid_post_pre_norm,
        resid_post,
    }
}

/// `x + b`, or `x` when the bias is absent (empty). `x` [rows, d_model], `b` [d_model].
fn add_bias<F: Scalar>(x: Array2<F>, b: &Array1<F>) -> Array2<F> {
    if b.is_empty() { x } else { x + b }
}

/// `Σ_h head_result[h] + b_O`, summed in head order and then the bias, as
/// `sum_axis(Axis(0)) + b_O` would, into a new array written once. `head_result`
/// [head, rows, d_model], `b_o` [d_model] → [rows, d_model].
fn sum_heads_plus_bias<F: Scalar>(head_result: &Array3<F>, b_o: &Array1<F>) -> Array2<F> {
    let (n_heads, rows, d_model) = head_result.dim();
    let zero_bias;
    let b_o = if b_o.is_empty() {
        zero_bias = Array1::zeros(d_model);
        &zero_bias
    } else {
        b_o
    };
    let (Some(results), Some(bias), true) = (
        head_result.as_slice(),
        b_o.as_slice(),
        n_heads > 0 && b_o.len() == d_model,
    ) else {
        return head_result.sum_axis(Axis(0)) + b_o;
    };
    let block = rows * d_model;
    let mut sum = Fresh::new((rows, d_model));
    let out = sum.as_slice_mut().expect("fresh arrays are contiguous");
    let mut total = vec![F::zero(); d_model]; // one row's running sum
    for (row, out_row) in out.chunks_exact_mut(d_model).enumerate() {
        let offset = row * d_model;
        total.copy_from_slice(&results[offset..offset + d_model]);
        for head in 1..n_heads {
            let start = head * block + offset;
            for (t, &r) in total.iter_mut().zip(&results[start..start + d_model]) {
                *t += r;
            }
        }
        for ((out_value, &t), &b) in out_row.iter_mut().zip(&total).zip(bias) {
            out_value.write(t + b);
        }
    }
    // The loops above wrote every element: `chunks_exact_mut(d_model)` covers the
    // rows·d_model elements, and each chunk is written whole from `total` and `bias` (both
    // d_model long).
    sum.finish()
}

/// What [`mlp_forward`] computed.
pub(crate) struct MlpParts<F> {
    /// `x·W_in + b_in`, or the gate `x·W_gate + b_gate` when gated. [rows, d_mlp]
    pub pre: Array2<F>,
    /// `x·W_in + b_in` of a gated MLP. [rows, d_mlp]
    pub pre_linear: Option<Array2<F>>,
    /// `act(pre)`, times `pre_linear` when gated. [rows, d_mlp]
    pub post: Array2<F>,
    /// `post·W_out + b_out`. [rows, d_model]
    pub out: Array2<F>,
}

/// The MLP on `x` [rows, d_model]: `pre = x·W_in + b_in` [rows, d_mlp], `post = act(pre)`
/// [rows, d_mlp], `out = post·W_out + b_out` [rows, d_model]. A gated MLP (weights with a
/// `W_gate`) has `pre = x·W_gate + b_gate`, `pre_linear = x·W_in + b_in` and
/// `post = act(pre) ⊙ pre_linear`. Absent (empty) biases are skipped.
pub(crate) fn mlp_forward<F: Scalar>(
    weights: &MlpParams<F>,
    activation: Activation,
    x: ArrayView2<'_, F>,
    split: Split<'_>,
) -> MlpParts<F> {
    fn bias<F>(b: &Array1<F>) -> Option<ArrayView1<'_, F>> {
        (!b.is_empty()).then(|| b.view())
    }
    let linear = affine(split, &x, &weights.w_in.view(), bias(&weights.b_in)); // [rows, d_mlp]
    let (pre, pre_linear) = if weights.w_gate.is_empty() {
        (linear, None)
    } else {
        let gate = affine(split, &x, &weights.w_gate.view(), bias(&weights.b_gate));
        (gate, Some(linear))
    };
    let mut post = activation_forward(activation, &pre, split);
    if let Some(linear) = &pre_linear {
        post *= linear;
    }
    let out = affine(
        split,
        &post.view(),
        &weights.w_out.view(),
        bias(&weights.b_out),
    ); // [rows, d_model]
    MlpParts {
        pre,
        pre_linear,
        post,
        out,
    }
}

/// Reverses [`mlp_forward`]: given `d_out` [rows, d_model], adds the gradients of `W_in`,
/// `b_in`, `W_out`, `b_out` into `grads` and returns the gradient of `x` [rows, d_model].
/// Reads `x`, `pre` and `post` from the forward's trace.
pub(crate) fn mlp_backward<F: Scalar>(
    weights: &MlpParams<F>,
    activation: Activation,
    x: ArrayView2<'_, F>,
    trace: &MlpTrace<F>,
    d_out: ArrayView2<'_, F>,
    grads: &mut MlpParams<F>,
) -> Array2<F> {
    // Reverses `out = post·W_out + b_out`.
    grads.b_out += &d_out.sum_axis(Axis(0));
    mat_mul(
        F::one(),
        &trace.post.t(),
        &d_out,
        F::one(),
        &mut grads.w_out,
    );
    let mut d_pre = product(F::one(), &d_out, &weights.w_out.t()); // [rows, d_mlp]
    // Reverses `post = act(pre)`.
    activation_backward_in_place(activation, &trace.pre, &mut d_pre);
    // Reverses `pre = x·W_in + b_in`.
    grads.b_in += &d_pre.sum_axis(Axis(0));
    mat_mul(F::one(), &x.t(), &d_pre, F::one(), &mut grads.w_in);
    product(F::one(), &d_pre, &weights.w_in.t()) // d_x [rows, d_model]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InitOptions, ModelConfig};

    #[test]
    fn a_pass_no_longer_wanted_stops_before_the_next_block() {
        use crate::model::hooks::Stoppable;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let config = ModelConfig::lesson(65);
        let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let tokens = [1, 2, 3];
        let asked = AtomicUsize::new(0);
        // Wanted for the first two blocks, not from the third on.
        let still_wanted = || asked.fetch_add(1, Ordering::SeqCst) < 2;
        let stoppable = Stoppable {
            inner: &NoIntervention,
            still_wanted: &still_wanted,
        };
        let stopped = forward_batch(&params, &[&tokens], &stoppable);
        assert!(matches!(stopped, Err(InputError::Stopped)), "{stopped:?}");
        assert_eq!(
            asked.load(Ordering::SeqCst),
            3,
            "asked before blocks 0, 1 and 2"
        );
        assert!(config.n_layers > 2, "the pass had blocks left to skip");
        let always = || true;
        let wanted = Stoppable {
            inner: &NoIntervention,
            still_wanted: &always,
        };
        let whole = forward_batch(&params, &[&tokens], &wanted).unwrap();
        assert_eq!(whole.logits, forward(&params, &tokens).unwrap().logits);
    }

    /// Largest |a − b| over two arrays of one shape, relative to the largest |a|.
    fn relative_gap<D: ndarray::Dimension>(
        a: &ndarray::Array<f32, D>,
        b: &ndarray::Array<f32, D>,
    ) -> f32 {
        assert_eq!(a.shape(), b.shape());
        let scale = a.fold(0.0f32, |m, x| m.max(x.abs())).max(1e-30);
        let gap = a
            .iter()
            .zip(b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        gap / scale
    }

    #[test]
    fn a_pass_split_over_two_threads_equals_the_single_thread_pass() {
        // Three heads (an odd split), two sequences, and sizes above the splitting threshold.
        let config = ModelConfig {
            d_model: 48,
            n_heads: 3,
            d_head: 16,
            n_layers: 2,
            d_mlp: 192,
            ..ModelConfig::lesson(40)
        };
        let params = Params::<f32>::init(&config, InitOptions { seed: 7, std: 0.3 })
            .expect("a valid config");
        let first: Vec<TokenId> = (0..32).map(|i| (i * 7 % 40) as TokenId).collect();
        let second: Vec<TokenId> = (0..32).map(|i| (i * 11 % 40) as TokenId).collect();
        let sequences = [first.as_slice(), second.as_slice()];
        let single = forward_impl(&params, &sequences, &NoIntervention, true, false).unwrap();
        let (split, helper_jobs) = crate::model::parallel::with_two_threads(|| {
            forward_impl(&params, &sequences, &NoIntervention, true, true).unwrap()
        });
        assert!(
            helper_jobs > 0,
            "the split pass ran jobs on the helper thread"
        );
        let training = forward_for_training(&params, &sequences).unwrap();
        let tolerance = 1e-5;
        for (layer, (a, b)) in single.layers.iter().zip(&split.layers).enumerate() {
            let pairs = [
                ("q", relative_gap(&a.q, &b.q)),
                ("k", relative_gap(&a.k, &b.k)),
                ("v", relative_gap(&a.v, &b.v)),
                ("scores", relative_gap(&a.scores, &b.scores)),
                ("pattern", relative_gap(&a.pattern, &b.pattern)),
                ("z", relative_gap(&a.z, &b.z)),
                ("head_result", relative_gap(&a.head_result, &b.head_result)),
                ("attn_out", relative_gap(&a.attn_out, &b.attn_out)),
                ("resid_post", relative_gap(&a.resid_post, &b.resid_post)),
            ];
            for (name, gap) in pairs {
                assert!(gap <= tolerance, "layer {layer} {name}: {gap:e}");
            }
            // The training pass keeps no scores or per-head outputs, and the same pattern.
            let trained = &training.layers[layer];
            assert_eq!(trained.scores.dim(), (2, 3, 0, 0));
            assert_eq!(trained.head_result.dim(), (3, 0, 48));
            assert!(relative_gap(&a.pattern, &trained.pattern) <= tolerance);
            assert!(relative_gap(&a.attn_out, &trained.attn_out) <= tolerance);
        }
        assert!(relative_gap(&single.logits, &split.logits) <= tolerance);
        assert!(relative_gap(&single.logits, &training.logits) <= tolerance);
    }
}
