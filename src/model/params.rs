//! `Params`: every weight of a model, named as in TransformerLens, with seeded initialisation.
//!
//! Shapes (d = d_model, H = n_heads, dh = d_head, m = d_mlp, V = d_vocab):
//! `embed.W_E` [V, d], `pos_embed.W_pos` [n_ctx, d], per block `W_Q/W_K/W_V` [H, d, dh],
//! `b_Q/b_K/b_V` [H, dh], `W_O` [H, dh, d], `b_O` [d], `W_in` [d, m], `b_in` [m],
//! `W_out` [m, d], `b_out` [d], LayerNorm `w`/`b` [d], `unembed.W_U` [d, V], `unembed.b_U` [V].
//! The same struct holds gradients (see [`Params::zeros_like`]).

use ndarray::{Array, Array1, Array2, Array3, ArrayViewD, ArrayViewMutD, Dimension};
use ndarray_rand::RandomExt;
use ndarray_rand::rand_distr::Normal;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::config::{ConfigError, ModelConfig};
use super::scalar::Scalar;

/// Scale and shift of one LayerNorm.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormParams<F> {
    /// Scale γ. [d_model]
    pub w: Array1<F>,
    /// Shift β. [d_model]
    pub b: Array1<F>,
}

/// The attention sublayer of one block.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionParams<F> {
    /// [n_heads, d_model, d_head]
    pub w_q: Array3<F>,
    /// [n_heads, d_model, d_head]
    pub w_k: Array3<F>,
    /// [n_heads, d_model, d_head]
    pub w_v: Array3<F>,
    /// [n_heads, d_head]
    pub b_q: Array2<F>,
    /// [n_heads, d_head]
    pub b_k: Array2<F>,
    /// [n_heads, d_head]
    pub b_v: Array2<F>,
    /// [n_heads, d_head, d_model]
    pub w_o: Array3<F>,
    /// [d_model]
    pub b_o: Array1<F>,
}

/// The feed-forward sublayer of one block, with the LayerNorm that goes with it.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpParams<F> {
    /// `ln2`: before the MLP (pre-LN) or after its addition (post-LN).
    pub ln2: LayerNormParams<F>,
    /// [d_model, d_mlp]
    pub w_in: Array2<F>,
    /// [d_mlp]
    pub b_in: Array1<F>,
    /// [d_mlp, d_model]
    pub w_out: Array2<F>,
    /// [d_model]
    pub b_out: Array1<F>,
}

/// One transformer block.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockParams<F> {
    /// `ln1`: before attention (pre-LN) or after its addition (post-LN).
    pub ln1: LayerNormParams<F>,
    /// Attention weights.
    pub attn: AttentionParams<F>,
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
    /// Learned positional embedding. [n_ctx, d_model]
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
        let visit = $visit;
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
            if let Some(mlp) = block.mlp.$iter().next() {
                visit(name("ln2.w"), mlp.ln2.w.$view().into_dyn());
                visit(name("ln2.b"), mlp.ln2.b.$view().into_dyn());
                visit(name("mlp.W_in"), mlp.w_in.$view().into_dyn());
                visit(name("mlp.b_in"), mlp.b_in.$view().into_dyn());
                visit(name("mlp.W_out"), mlp.w_out.$view().into_dyn());
                visit(name("mlp.b_out"), mlp.b_out.$view().into_dyn());
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
    /// Seeded random weights for a config, after validating it.
    pub fn init(config: &ModelConfig, options: InitOptions) -> Result<Self, ConfigError> {
        config.validate()?;
        let (d, h, dh, m, v) = (
            config.d_model,
            config.n_heads,
            config.d_head,
            config.d_mlp,
            config.d_vocab,
        );
        let mut rng = StdRng::seed_from_u64(options.seed);
        let std = options.std;
        let proj_std = std / (2.0 * config.n_layers as f64).sqrt();
        let rng = &mut rng;
        let blocks = (0..config.n_layers)
            .map(|_| BlockParams {
                ln1: LayerNormParams::identity(d),
                attn: AttentionParams {
                    w_q: normal((h, d, dh), std, rng),
                    w_k: normal((h, d, dh), std, rng),
                    w_v: normal((h, d, dh), std, rng),
                    b_q: Array2::zeros((h, dh)),
                    b_k: Array2::zeros((h, dh)),
                    b_v: Array2::zeros((h, dh)),
                    w_o: normal((h, dh, d), proj_std, rng),
                    b_o: Array1::zeros(d),
                },
                mlp: (!config.attn_only).then(|| MlpParams {
                    ln2: LayerNormParams::identity(d),
                    w_in: normal((d, m), std, rng),
                    b_in: Array1::zeros(m),
                    w_out: normal((m, d), proj_std, rng),
                    b_out: Array1::zeros(d),
                }),
            })
            .collect();
        Ok(Self {
            config: config.clone(),
            w_e: normal((v, d), std, rng),
            w_pos: normal((config.n_ctx, d), std / 2.0, rng),
            blocks,
            ln_final: config.final_norm.then(|| LayerNormParams::identity(d)),
            w_u: (!config.tied_unembed).then(|| normal((d, v), std, rng)),
            b_u: config.unembed_bias.then(|| Array1::zeros(v)),
        })
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
        let convert1 = |a: &Array1<F>| a.mapv(|x| G::from_f64_lossy(x.as_f64()));
        let convert2 = |a: &Array2<F>| a.mapv(|x| G::from_f64_lossy(x.as_f64()));
        let convert3 = |a: &Array3<F>| a.mapv(|x| G::from_f64_lossy(x.as_f64()));
        let ln = |p: &LayerNormParams<F>| LayerNormParams {
            w: convert1(&p.w),
            b: convert1(&p.b),
        };
        Params {
            config: self.config.clone(),
            w_e: convert2(&self.w_e),
            w_pos: convert2(&self.w_pos),
            blocks: self
                .blocks
                .iter()
                .map(|block| BlockParams {
                    ln1: ln(&block.ln1),
                    attn: AttentionParams {
                        w_q: convert3(&block.attn.w_q),
                        w_k: convert3(&block.attn.w_k),
                        w_v: convert3(&block.attn.w_v),
                        b_q: convert2(&block.attn.b_q),
                        b_k: convert2(&block.attn.b_k),
                        b_v: convert2(&block.attn.b_v),
                        w_o: convert3(&block.attn.w_o),
                        b_o: convert1(&block.attn.b_o),
                    },
                    mlp: block.mlp.as_ref().map(|mlp| MlpParams {
                        ln2: ln(&mlp.ln2),
                        w_in: convert2(&mlp.w_in),
                        b_in: convert1(&mlp.b_in),
                        w_out: convert2(&mlp.w_out),
                        b_out: convert1(&mlp.b_out),
                    }),
                })
                .collect(),
            ln_final: self.ln_final.as_ref().map(ln),
            w_u: self.w_u.as_ref().map(convert2),
            b_u: self.b_u.as_ref().map(convert1),
        }
    }

    /// Builds a model from named tensors (as [`Params::for_each_tensor`] names them), after
    /// checking that every tensor is present with the shape the config implies. Unknown
    /// names are an error too, so a file never loads half-understood.
    pub fn from_named_tensors(
        config: &ModelConfig,
        mut take: impl FnMut(&str, &[usize]) -> Result<Vec<F>, String>,
    ) -> Result<Self, String> {
        config.validate().map_err(|e| e.to_string())?;
        // Zero-filled skeleton of the right shape: allocation is bounded by the validated
        // config, whose parameter count the caller has checked against the file size.
        let mut params = Self::zeros(config);
        let mut failure = None;
        params.for_each_tensor_mut(|name, mut tensor| {
            if failure.is_some() {
                return;
            }
            match take(&name, tensor.shape()) {
                Ok(values) if values.len() == tensor.len() => {
                    for (dst, src) in tensor.iter_mut().zip(values) {
                        *dst = src;
                    }
                }
                Ok(values) => {
                    failure = Some(format!(
                        "tensor {name}: {} values for shape {:?}",
                        values.len(),
                        tensor.shape()
                    ))
                }
                Err(message) => failure = Some(message),
            }
        });
        match failure {
            Some(message) => Err(message),
            None => Ok(params),
        }
    }

    /// All-zero weights of a validated config's shape.
    pub fn zeros(config: &ModelConfig) -> Self {
        let (d, h, dh, m, v) = (
            config.d_model,
            config.n_heads,
            config.d_head,
            config.d_mlp,
            config.d_vocab,
        );
        let zeros_ln = || LayerNormParams {
            w: Array1::zeros(d),
            b: Array1::zeros(d),
        };
        Self {
            config: config.clone(),
            w_e: Array2::zeros((v, d)),
            w_pos: Array2::zeros((config.n_ctx, d)),
            blocks: (0..config.n_layers)
                .map(|_| BlockParams {
                    ln1: zeros_ln(),
                    attn: AttentionParams {
                        w_q: Array3::zeros((h, d, dh)),
                        w_k: Array3::zeros((h, d, dh)),
                        w_v: Array3::zeros((h, d, dh)),
                        b_q: Array2::zeros((h, dh)),
                        b_k: Array2::zeros((h, dh)),
                        b_v: Array2::zeros((h, dh)),
                        w_o: Array3::zeros((h, dh, d)),
                        b_o: Array1::zeros(d),
                    },
                    mlp: (!config.attn_only).then(|| MlpParams {
                        ln2: zeros_ln(),
                        w_in: Array2::zeros((d, m)),
                        b_in: Array1::zeros(m),
                        w_out: Array2::zeros((m, d)),
                        b_out: Array1::zeros(d),
                    }),
                })
                .collect(),
            ln_final: config.final_norm.then(zeros_ln),
            w_u: (!config.tied_unembed).then(|| Array2::zeros((d, v))),
            b_u: config.unembed_bias.then(|| Array1::zeros(v)),
        }
    }
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
