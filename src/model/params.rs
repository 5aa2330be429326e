//! `Params`: every weight of a model, named as in TransformerLens, with seeded initialisation.
//!
//! Shapes (d = d_model, H = n_heads, K = key/value heads, dh = d_head, m = d_mlp,
//! V = d_vocab): `embed.W_E` [V, d], `pos_embed.W_pos` [n_ctx, d], per block `W_Q` [H, d, dh],
//! `W_K/W_V` [K, d, dh], `b_Q` [H, dh], `b_K/b_V` [K, dh], `W_O` [H, dh, d], `b_O` [d],
//! `q_norm.w`/`k_norm.w` [dh], `W_gate`/`W_in` [d, m], `b_gate`/`b_in` [m], `W_out` [m, d],
//! `b_out` [d], norm `w`/`b` [d], `unembed.W_U` [d, V], `unembed.b_U` [V].
//!
//! A tensor the architecture lacks (a bias Llama does not have, `W_pos` under rotary, `W_gate`
//! in a plain MLP, q/k norms) is an **empty** array: the visitor skips it, so files, the
//! optimiser and the parameter count never see it, and the forward pass skips it. Norm weights
//! are the scale the engine multiplies by (Gemma's `1 + w` is folded in at load).
//! The same struct holds gradients (see [`Params::zeros_like`]).

use ndarray::{Array, Array1, Array2, Array3, ArrayViewD, ArrayViewMutD, Dimension};
use ndarray_rand::RandomExt;
use ndarray_rand::rand_distr::Normal;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::config::{ConfigError, ModelConfig, NormKind, NormPlacement};
use super::scalar::Scalar;

/// Scale and shift of one LayerNorm or RMSNorm.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormParams<F> {
    /// Scale γ. [d_model]
    pub w: Array1<F>,
    /// Shift β. [d_model], or empty without one (RMSNorm, bias-free LayerNorm).
    pub b: Array1<F>,
}

/// The attention sublayer of one block.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionParams<F> {
    /// [n_heads, d_model, d_head]
    pub w_q: Array3<F>,
    /// [n_kv_heads, d_model, d_head]
    pub w_k: Array3<F>,
    /// [n_kv_heads, d_model, d_head]
    pub w_v: Array3<F>,
    /// [n_heads, d_head], or empty.
    pub b_q: Array2<F>,
    /// [n_kv_heads, d_head], or empty.
    pub b_k: Array2<F>,
    /// [n_kv_heads, d_head], or empty.
    pub b_v: Array2<F>,
    /// [n_heads, d_head, d_model]
    pub w_o: Array3<F>,
    /// [d_model], or empty.
    pub b_o: Array1<F>,
    /// Per-head RMSNorm scale on q, before rotary. [d_head], or empty.
    pub q_norm: Array1<F>,
    /// Per-head RMSNorm scale on k, before rotary. [d_head], or empty.
    pub k_norm: Array1<F>,
}

/// The feed-forward sublayer of one block, with the LayerNorm that goes with it.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpParams<F> {
    /// `ln2`: before the MLP (pre-LN) or after its addition (post-LN).
    pub ln2: LayerNormParams<F>,
    /// The gate of a gated MLP (`act(x·W_gate)`). [d_model, d_mlp], or empty.
    pub w_gate: Array2<F>,
    /// [d_mlp], or empty.
    pub b_gate: Array1<F>,
    /// [d_model, d_mlp]: the linear half of a gated MLP.
    pub w_in: Array2<F>,
    /// [d_mlp], or empty.
    pub b_in: Array1<F>,
    /// [d_mlp, d_model]
    pub w_out: Array2<F>,
    /// [d_model], or empty.
    pub b_out: Array1<F>,
    /// Sandwich blocks: the norm on the MLP's output before it is added (`ln2_post`).
    pub ln2_post: Option<LayerNormParams<F>>,
}

/// One transformer block.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockParams<F> {
    /// `ln1`: before attention (pre-LN) or after its addition (post-LN).
    pub ln1: LayerNormParams<F>,
    /// Attention weights.
    pub attn: AttentionParams<F>,
    /// Sandwich blocks: the norm on attention's output before it is added (`ln1_post`).
    pub ln1_post: Option<LayerNormParams<F>>,
    /// `None` in attention-only models.
    pub mlp: Option<MlpParams<F>>,
}

/// All weights of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Params<F = f32> {
    /// Shape and variant; always valid.
    pub config: ModelConfig,
    /// Token embedding. [d_vocab, d_model]
    pub w_e: Array2<F>,
    /// Learned positional embedding. [n_ctx, d_model], or empty without learned positions.
    pub w_pos: Array2<F>,
    /// The blocks, first to last.
    pub blocks: Vec<BlockParams<F>>,
    /// `ln_final`, when `config.final_norm`.
    pub ln_final: Option<LayerNormParams<F>>,
    /// Unembedding when not tied. [d_model, d_vocab]
    pub w_u: Option<Array2<F>>,
    /// Unembedding bias when `config.unembed_bias`. [d_vocab]
    pub b_u: Option<Array1<F>>,
}

/// Calls `$visit(name, tensor)` for every tensor of `$params` in a stable order. `$view` is
/// `view` or `view_mut`, `$iter` is `iter` or `iter_mut`: one list serves both borrows.
macro_rules! visit_tensors {
    ($params:expr, $view:ident, $iter:ident, $visit:expr) => {{
        let p = $params;
        let inner = $visit;
        // Tensors the architecture lacks are empty and never visited.
        let mut visit = |name: String, tensor: ndarray::ArrayBase<_, ndarray::IxDyn>| {
            if tensor.len() > 0 {
                inner(name, tensor)
            }
        };
        visit("embed.W_E".to_string(), p.w_e.$view().into_dyn());
        visit("pos_embed.W_pos".to_string(), p.w_pos.$view().into_dyn());
        for (layer, block) in p.blocks.$iter().enumerate() {
            let name = |suffix: &str| format!("blocks.{layer}.{suffix}");
            visit(name("ln1.w"), block.ln1.w.$view().into_dyn());
            visit(name("ln1.b"), block.ln1.b.$view().into_dyn());
            visit(name("attn.W_Q"), block.attn.w_q.$view().into_dyn());
            visit(name("attn.W_K"), block.attn.w_k.$view().into_dyn());
            visit(name("attn.W_V"), block.attn.w_v.$view().into_dyn());
            visit(name("attn.b_Q"), block.attn.b_q.$view().into_dyn());
            visit(name("attn.b_K"), block.attn.b_k.$view().into_dyn());
            visit(name("attn.b_V"), block.attn.b_v.$view().into_dyn());
            visit(name("attn.W_O"), block.attn.w_o.$view().into_dyn());
            visit(name("attn.b_O"), block.attn.b_o.$view().into_dyn());
            visit(name("attn.q_norm.w"), block.attn.q_norm.$view().into_dyn());
            visit(name("attn.k_norm.w"), block.attn.k_norm.$view().into_dyn());
            if let Some(ln) = block.ln1_post.$iter().next() {
                visit(name("ln1_post.w"), ln.w.$view().into_dyn());
                visit(name("ln1_post.b"), ln.b.$view().into_dyn());
            }
            if let Some(mlp) = block.mlp.$iter().next() {
                visit(name("ln2.w"), mlp.ln2.w.$view().into_dyn());
                visit(name("ln2.b"), mlp.ln2.b.$view().into_dyn());
                visit(name("mlp.W_gate"), mlp.w_gate.$view().into_dyn());
                visit(name("mlp.b_gate"), mlp.b_gate.$view().into_dyn());
                visit(name("mlp.W_in"), mlp.w_in.$view().into_dyn());
                visit(name("mlp.b_in"), mlp.b_in.$view().into_dyn());
                visit(name("mlp.W_out"), mlp.w_out.$view().into_dyn());
                visit(name("mlp.b_out"), mlp.b_out.$view().into_dyn());
                if let Some(ln) = mlp.ln2_post.$iter().next() {
                    visit(name("ln2_post.w"), ln.w.$view().into_dyn());
                    visit(name("ln2_post.b"), ln.b.$view().into_dyn());
                }
            }
        }
        if let Some(ln) = p.ln_final.$iter().next() {
            visit("ln_final.w".to_string(), ln.w.$view().into_dyn());
            visit("ln_final.b".to_string(), ln.b.$view().into_dyn());
        }
        if let Some(w_u) = p.w_u.$iter().next() {
            visit("unembed.W_U".to_string(), w_u.$view().into_dyn());
        }
        if let Some(b_u) = p.b_u.$iter().next() {
            visit("unembed.b_U".to_string(), b_u.$view().into_dyn());
        }
    }};
}

/// How to draw initial weights: GPT-2's scheme (normal with std 0.02, residual output
/// projections scaled by 1/√(2·n_layers), LayerNorm at identity, biases zero).
#[derive(Clone, Copy, Debug)]
pub struct InitOptions {
    /// Seed of the generator; the same seed gives the same weights.
    pub seed: u64,
    /// Standard deviation of the weight matrices.
    pub std: f64,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self { seed: 0, std: 0.02 }
    }
}

fn normal<D: Dimension, F: Scalar>(
    shape: impl ndarray::ShapeBuilder<Dim = D>,
    std: f64,
    rng: &mut StdRng,
) -> Array<F, D> {
    let dist = Normal::new(0.0f64, std).expect("std is finite and non-negative");
    Array::<f64, D>::random_using(shape, dist, rng).mapv(F::from_f64_lossy)
}

impl<F: Scalar> LayerNormParams<F> {
    /// γ = 1, β = 0: the identity after normalisation.
    pub fn identity(d_model: usize) -> Self {
        Self {
            w: Array1::ones(d_model),
            b: Array1::zeros(d_model),
        }
    }
}

impl<F: Scalar> Params<F> {
    /// Seeded random weights for a config, after validating it. Norms start at the identity
    /// and biases at zero; the matrices are drawn in a fixed order (per block W_Q, W_K, W_V,
    /// W_O, W_in, W_out, then W_gate; then W_E, W_pos, W_U), so a seed gives the same
    /// weights it gave before gated MLPs existed.
    pub fn init(config: &ModelConfig, options: InitOptions) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut params = Self::zeros(config);
        let mut rng = StdRng::seed_from_u64(options.seed);
        let std = options.std;
        let proj_std = std / (2.0 * config.n_layers as f64).sqrt();
        let rng = &mut rng;
        let fill2 = |a: &mut Array2<F>, std: f64, rng: &mut StdRng| {
            if !a.is_empty() {
                *a = normal(a.raw_dim(), std, rng);
            }
        };
        let fill3 =
            |a: &mut Array3<F>, std: f64, rng: &mut StdRng| *a = normal(a.raw_dim(), std, rng);
        for block in &mut params.blocks {
            fill3(&mut block.attn.w_q, std, rng);
            fill3(&mut block.attn.w_k, std, rng);
            fill3(&mut block.attn.w_v, std, rng);
            fill3(&mut block.attn.w_o, proj_std, rng);
            if let Some(mlp) = &mut block.mlp {
                fill2(&mut mlp.w_in, std, rng);
                fill2(&mut mlp.w_out, proj_std, rng);
                fill2(&mut mlp.w_gate, std, rng);
            }
        }
        fill2(&mut params.w_e, std, rng);
        fill2(&mut params.w_pos, std / 2.0, rng);
        if let Some(w_u) = &mut params.w_u {
            fill2(w_u, std, rng);
        }
        let identity = |ln: &mut LayerNormParams<F>| ln.w.fill(F::one());
        for block in &mut params.blocks {
            identity(&mut block.ln1);
            block.ln1_post.iter_mut().for_each(identity);
            block.attn.q_norm.fill(F::one());
            block.attn.k_norm.fill(F::one());
            if let Some(mlp) = &mut block.mlp {
                identity(&mut mlp.ln2);
                mlp.ln2_post.iter_mut().for_each(identity);
            }
        }
        params.ln_final.iter_mut().for_each(identity);
        Ok(params)
    }

    /// The same structure with every tensor zero: the container for gradients.
    pub fn zeros_like(&self) -> Self {
        let mut zeros = self.clone();
        zeros.for_each_tensor_mut(|_, mut tensor| tensor.fill(F::zero()));
        zeros
    }

    /// Calls `visit(name, tensor)` for every tensor, in a stable order.
    pub fn for_each_tensor(&self, mut visit: impl FnMut(String, ArrayViewD<'_, F>)) {
        visit_tensors!(self, view, iter, &mut visit);
    }

    /// Calls `visit(name, tensor)` for every tensor mutably, in the same order as
    /// [`Params::for_each_tensor`].
    pub fn for_each_tensor_mut(&mut self, mut visit: impl FnMut(String, ArrayViewMutD<'_, F>)) {
        visit_tensors!(self, view_mut, iter_mut, &mut visit);
    }

    /// Every tensor's name and shape, in order.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut shapes = Vec::new();
        self.for_each_tensor(|name, tensor| shapes.push((name, tensor.shape().to_vec())));
        shapes
    }

    /// Number of scalars stored (the tied unembedding is not stored twice).
    pub fn stored_len(&self) -> usize {
        let mut total = 0;
        self.for_each_tensor(|_, tensor| total += tensor.len());
        total
    }

    /// The unembedding as a [d_model, d_vocab] view: `W_U`, or `W_E^T` when tied.
    pub fn unembed(&self) -> ndarray::ArrayView2<'_, F> {
        match &self.w_u {
            Some(w_u) => w_u.view(),
            None => self.w_e.t(),
        }
    }

    /// Converts every tensor to another float type (f32 ↔ f64).
    pub fn cast<G: Scalar>(&self) -> Params<G> {
        let mut cast = Params::<G>::zeros(&self.config);
        let mut values: Vec<Vec<G>> = Vec::new();
        self.for_each_tensor(|_, tensor| {
            values.push(
                tensor
                    .iter()
                    .map(|x| G::from_f64_lossy(x.as_f64()))
                    .collect(),
            );
        });
        let mut values = values.into_iter();
        cast.for_each_tensor_mut(|_, mut tensor| {
            let source = values.next().expect("one structure, one list of tensors");
            for (dst, src) in tensor.iter_mut().zip(source) {
                *dst = src;
            }
        });
        cast
    }

    /// Builds a model from named tensors (as [`Params::for_each_tensor`] names them), after
    /// checking that every tensor is present with the shape the config implies. Unknown
    /// names are an error too, so a file never loads half-understood.
    pub fn from_named_tensors(
        config: &ModelConfig,
        mut take: impl FnMut(&str, &[usize]) -> Result<Vec<F>, String>,
    ) -> Result<Self, String> {
        Self::from_tensors_written(config, |name, mut tensor| {
            let values = take(name, tensor.shape())?;
            if values.len() != tensor.len() {
                return Err(format!(
                    "tensor {name}: {} values for shape {:?}",
                    values.len(),
                    tensor.shape()
                ));
            }
            for (dst, src) in tensor.iter_mut().zip(values) {
                *dst = src;
            }
            Ok(())
        })
    }

    /// Builds a model whose tensors `write` fills in place, each given by name with its
    /// view (standard layout, the shape the config implies); a loader that writes straight
    /// into it holds no second copy of the weights.
    pub fn from_tensors_written(
        config: &ModelConfig,
        mut write: impl FnMut(&str, ArrayViewMutD<'_, F>) -> Result<(), String>,
    ) -> Result<Self, String> {
        config.validate().map_err(|e| e.to_string())?;
        // Zero-filled skeleton of the right shape: allocation is bounded by the validated
        // config, whose parameter count the caller has checked against the file size (the
        // pages are only touched as each tensor is written).
        let mut params = Self::zeros(config);
        let mut failure = None;
        params.for_each_tensor_mut(|name, tensor| {
            if failure.is_none()
                && let Err(message) = write(&name, tensor)
            {
                failure = Some(message);
            }
        });
        match failure {
            Some(message) => Err(message),
            None => Ok(params),
        }
    }

    /// All-zero weights of a validated config's shape; the tensors the architecture lacks
    /// are empty.
    pub fn zeros(config: &ModelConfig) -> Self {
        let (d, h, kv, dh, m, v) = (
            config.d_model,
            config.n_heads,
            config.kv_heads(),
            config.d_head,
            config.d_mlp,
            config.d_vocab,
        );
        let biases = config.biases;
        let if_present = |present: bool, n: usize| if present { n } else { 0 };
        let norm_bias = config.norm_kind == NormKind::LayerNorm && biases.norm;
        let zeros_ln = || LayerNormParams {
            w: Array1::zeros(d),
            b: Array1::zeros(if_present(norm_bias, d)),
        };
        let sandwich = config.norm == NormPlacement::Sandwich;
        let qk_norm = if_present(config.qk_norm, dh);
        let gate = if_present(config.gated_mlp, m);
        let n_pos = if_present(config.learned_positions(), config.n_ctx);
        Self {
            config: config.clone(),
            w_e: Array2::zeros((v, d)),
            w_pos: Array2::zeros((n_pos, d)),
            blocks: (0..config.n_layers)
                .map(|_| BlockParams {
                    ln1: zeros_ln(),
                    attn: AttentionParams {
                        w_q: Array3::zeros((h, d, dh)),
                        w_k: Array3::zeros((kv, d, dh)),
                        w_v: Array3::zeros((kv, d, dh)),
                        b_q: Array2::zeros((if_present(biases.q, h), dh)),
                        b_k: Array2::zeros((if_present(biases.k, kv), dh)),
                        b_v: Array2::zeros((if_present(biases.v, kv), dh)),
                        w_o: Array3::zeros((h, dh, d)),
                        b_o: Array1::zeros(if_present(biases.o, d)),
                        q_norm: Array1::zeros(qk_norm),
                        k_norm: Array1::zeros(qk_norm),
                    },
                    ln1_post: sandwich.then(zeros_ln),
                    mlp: (!config.attn_only).then(|| MlpParams {
                        ln2: zeros_ln(),
                        w_gate: Array2::zeros((if_present(config.gated_mlp, d), gate)),
                        b_gate: Array1::zeros(if_present(biases.mlp, gate)),
                        w_in: Array2::zeros((d, m)),
                        b_in: Array1::zeros(if_present(biases.mlp, m)),
                        w_out: Array2::zeros((m, d)),
                        b_out: Array1::zeros(if_present(biases.mlp, d)),
                        ln2_post: sandwich.then(zeros_ln),
                    }),
                })
                .collect(),
            ln_final: config.final_norm.then(zeros_ln),
            w_u: (!config.tied_unembed).then(|| Array2::zeros((d, v))),
            b_u: config.unembed_bias.then(|| Array1::zeros(v)),
        }
    }
}

/// The names and shapes [`Params::for_each_tensor`] visits for `config`, in the same order,
/// computed without allocating any weights (file checks run before allocation).
pub fn tensor_shapes_of(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (d, h, kv, dh, m, v) = (
        config.d_model,
        config.n_heads,
        config.kv_heads(),
        config.d_head,
        config.d_mlp,
        config.d_vocab,
    );
    let b = config.biases;
    let norm_bias = config.norm_kind == NormKind::LayerNorm && b.norm;
    let sandwich = config.norm == NormPlacement::Sandwich;
    let mut list: Vec<(String, Vec<usize>)> = Vec::new();
    let mut push = |present: bool, name: String, shape: Vec<usize>| {
        if present && shape.iter().all(|&n| n > 0) {
            list.push((name, shape));
        }
    };
    push(true, "embed.W_E".into(), vec![v, d]);
    push(
        config.learned_positions(),
        "pos_embed.W_pos".into(),
        vec![config.n_ctx, d],
    );
    for layer in 0..config.n_layers {
        let name = |suffix: &str| format!("blocks.{layer}.{suffix}");
        push(true, name("ln1.w"), vec![d]);
        push(norm_bias, name("ln1.b"), vec![d]);
        push(true, name("attn.W_Q"), vec![h, d, dh]);
        push(true, name("attn.W_K"), vec![kv, d, dh]);
        push(true, name("attn.W_V"), vec![kv, d, dh]);
        push(b.q, name("attn.b_Q"), vec![h, dh]);
        push(b.k, name("attn.b_K"), vec![kv, dh]);
        push(b.v, name("attn.b_V"), vec![kv, dh]);
        push(true, name("attn.W_O"), vec![h, dh, d]);
        push(b.o, name("attn.b_O"), vec![d]);
        push(config.qk_norm, name("attn.q_norm.w"), vec![dh]);
        push(config.qk_norm, name("attn.k_norm.w"), vec![dh]);
        push(sandwich, name("ln1_post.w"), vec![d]);
        push(sandwich && norm_bias, name("ln1_post.b"), vec![d]);
        if !config.attn_only {
            push(true, name("ln2.w"), vec![d]);
            push(norm_bias, name("ln2.b"), vec![d]);
            push(config.gated_mlp, name("mlp.W_gate"), vec![d, m]);
            push(config.gated_mlp && b.mlp, name("mlp.b_gate"), vec![m]);
            push(true, name("mlp.W_in"), vec![d, m]);
            push(b.mlp, name("mlp.b_in"), vec![m]);
            push(true, name("mlp.W_out"), vec![m, d]);
            push(b.mlp, name("mlp.b_out"), vec![d]);
            push(sandwich, name("ln2_post.w"), vec![d]);
            push(sandwich && norm_bias, name("ln2_post.b"), vec![d]);
        }
    }
    push(config.final_norm, "ln_final.w".into(), vec![d]);
    push(config.final_norm && norm_bias, "ln_final.b".into(), vec![d]);
    push(!config.tied_unembed, "unembed.W_U".into(), vec![d, v]);
    push(config.unembed_bias, "unembed.b_U".into(), vec![v]);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_seeded_and_counts_match_config() {
        let config = ModelConfig::lesson(65);
        let a = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let b = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        assert_eq!(a, b);
        let c = Params::<f32>::init(
            &config,
            InitOptions {
                seed: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_ne!(a, c);
        assert_eq!(a.stored_len() as u64, config.parameter_count());
    }

    #[test]
    fn the_shapes_without_weights_are_the_visitor_s_for_every_architecture() {
        use crate::model::config::{Biases, Positions, Rotary, RotaryStyle};
        let base = ModelConfig {
            d_model: 12,
            n_heads: 4,
            d_head: 3,
            n_layers: 2,
            d_mlp: 8,
            ..ModelConfig::lesson(10)
        };
        let modern = ModelConfig {
            family: "test".into(),
            d_head: 5,
            n_key_value_heads: Some(2),
            norm_kind: NormKind::RmsNorm,
            norm: NormPlacement::Sandwich,
            positions: Positions::Rotary(Rotary {
                style: RotaryStyle::Half,
                dim: 4,
                thetas: vec![1e4; 2],
            }),
            biases: Biases {
                q: true,
                ..Biases::all(false)
            },
            qk_norm: true,
            gated_mlp: true,
            tied_unembed: false,
            ..base.clone()
        };
        let parallel = ModelConfig {
            norm: NormPlacement::Parallel,
            attn_only: true,
            final_norm: false,
            unembed_bias: true,
            ..base.clone()
        };
        for config in [base, modern, parallel] {
            let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
            assert_eq!(tensor_shapes_of(&config), params.tensor_shapes());
            assert_eq!(params.stored_len() as u64, config.parameter_count());
        }
    }

    #[test]
    fn every_variant_counts_match_config() {
        let mut config = ModelConfig::lesson(10);
        config.tied_unembed = false;
        config.unembed_bias = true;
        config.attn_only = true;
        config.final_norm = false;
        let p = Params::<f64>::init(&config, InitOptions::default()).unwrap();
        assert_eq!(p.stored_len() as u64, config.parameter_count());
        assert!(
            p.tensor_shapes()
                .iter()
                .any(|(n, s)| n == "unembed.W_U" && s == &[128, 10])
        );
    }
}
