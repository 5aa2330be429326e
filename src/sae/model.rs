//! The sparse autoencoder itself, in SAELens's parameterisation and with SAELens's encode and
//! decode for its three inference architectures (read from `sae_lens/saes/*.py`, v6):
//!
//! ```text
//! x̃        = norm_in(x) − b_dec · apply_b_dec_to_input      [rows, d_in]
//! pre      = x̃ · W_enc + b_enc                              [rows, d_sae]
//! standard : f = ReLU(pre)
//! topk     : f = ReLU(v) at the k largest pre of each row (v their values), 0 elsewhere
//!            (the top k are chosen *before* the ReLU, as SAELens's `TopK` module does)
//! jumprelu : f = ReLU(pre) · [pre > threshold]               threshold [d_sae]
//! x̂        = norm_out(f · W_dec + b_dec)                     [rows, d_in]
//! ```
//!
//! `norm_in`/`norm_out` follow `normalize_activations`: `none` and
//! `expected_average_only_in` change nothing at run time (the latter's factor is folded into
//! the weights by SAELens when it loads), `constant_norm_rescale` scales each row to norm
//! √d_in and back, `layer_norm` centres each row and divides it by its (unbiased, as
//! `torch.std`) standard deviation + 1e-5, and undoes both after decoding. A TopK SAE saved
//! with `rescale_acts_by_decoder_norm` multiplies `pre` by ‖W_dec row‖ before choosing and
//! divides the codes by it before decoding.
//!
//! The encoder is stored transposed, `w_enc_t` [d_sae, d_in], so that one feature's encoder
//! direction is one contiguous row, as its decoder direction is: training touches a few
//! features per token and reads and writes both rows of each. Files hold `W_enc` [d_in,
//! d_sae] as SAELens does ([`super::files`]).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

use super::select::top_k_into;
use crate::model::Scalar;
use crate::model::linalg::product;
use crate::model::scalar::c;

/// How codes are made from pre-activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// `standard`: ReLU (trained with an L1 penalty weighted by decoder norms).
    Standard,
    /// `topk`: the k largest pre-activations of each row, through a ReLU.
    TopK {
        /// Active features per row.
        k: usize,
    },
    /// `jumprelu`: ReLU, zero unless the pre-activation exceeds the feature's threshold
    /// (load and encode only; not trained here).
    JumpRelu,
}

impl Architecture {
    /// The name SAELens writes in `cfg.json`.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Standard => "standard",
            Architecture::TopK { .. } => "topk",
            Architecture::JumpRelu => "jumprelu",
        }
    }
}

/// `normalize_activations` of `cfg.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// `none`.
    None,
    /// `expected_average_only_in`: nothing at run time (the factor is folded at load).
    ExpectedAverageOnlyIn,
    /// `constant_norm_rescale`: each row scaled to norm √d_in, and back after decoding.
    ConstantNormRescale,
    /// `layer_norm`: each row centred and divided by its std + 1e-5, undone after decoding.
    LayerNorm,
}

impl Normalization {
    /// Every value with its `cfg.json` spelling.
    pub const ALL: [(Normalization, &'static str); 4] = [
        (Normalization::None, "none"),
        (
            Normalization::ExpectedAverageOnlyIn,
            "expected_average_only_in",
        ),
        (Normalization::ConstantNormRescale, "constant_norm_rescale"),
        (Normalization::LayerNorm, "layer_norm"),
    ];

    /// The `cfg.json` spelling.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == self)
            .map_or("none", |(_, name)| name)
    }
}

/// What an SAE is, beside its weights (the fields of SAELens's `cfg.json` that change its
/// maths, and the metadata that says where it belongs).
#[derive(Clone, Debug, PartialEq)]
pub struct SaeConfig {
    /// Width of the activations it reads.
    pub d_in: usize,
    /// Number of features.
    pub d_sae: usize,
    /// How codes are made.
    pub architecture: Architecture,
    /// Subtract `b_dec` from the input before encoding.
    pub apply_b_dec_to_input: bool,
    /// Run-time normalisation of the input.
    pub normalize_activations: Normalization,
    /// TopK only: choose by `pre · ‖W_dec row‖` (see the module comment).
    pub rescale_acts_by_decoder_norm: bool,
    /// `metadata` of `cfg.json` (`hook_name`, `model_name`, …), kept as read so that a
    /// file read and written again keeps what it had.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl SaeConfig {
    /// A config for training: no normalisation, `b_dec` subtracted from the input.
    pub fn new(d_in: usize, d_sae: usize, architecture: Architecture) -> Self {
        Self {
            d_in,
            d_sae,
            architecture,
            apply_b_dec_to_input: true,
            normalize_activations: Normalization::None,
            rescale_acts_by_decoder_norm: false,
            metadata: serde_json::Map::new(),
        }
    }

    /// `metadata.hook_name`, when set.
    pub fn hook_name(&self) -> Option<&str> {
        self.metadata.get("hook_name").and_then(|v| v.as_str())
    }

    /// `metadata.model_name`, when set.
    pub fn model_name(&self) -> Option<&str> {
        self.metadata.get("model_name").and_then(|v| v.as_str())
    }
}

/// A sparse autoencoder's weights and config.
#[derive(Clone, Debug, PartialEq)]
pub struct Sae<F = f32> {
    /// Sizes, architecture and metadata.
    pub config: SaeConfig,
    /// `W_enc` transposed: row j is feature j's encoder direction. [d_sae, d_in]
    pub w_enc_t: Array2<F>,
    /// `b_enc`. [d_sae]
    pub b_enc: Array1<F>,
    /// `W_dec`: row j is feature j's decoder direction. [d_sae, d_in]
    pub w_dec: Array2<F>,
    /// `b_dec`. [d_in]
    pub b_dec: Array1<F>,
    /// JumpReLU's per-feature threshold. [d_sae]
    pub threshold: Option<Array1<F>>,
}

/// What the input normalisation did to each row, to undo it after decoding.
#[derive(Clone, Debug, PartialEq)]
pub enum InputScale<F> {
    /// Nothing was done.
    Identity,
    /// Rows were multiplied by these. [rows]
    Scaled(Array1<F>),
    /// Rows were centred by `mean` and divided by `std` (+ 1e-5). [rows] each
    Standardised {
        /// Per-row mean.
        mean: Array1<F>,
        /// Per-row unbiased standard deviation.
        std: Array1<F>,
    },
}

/// SAELens's `layer_norm` epsilon.
const LAYER_NORM_EPS: f64 = 1e-5;

impl<F: Scalar> Sae<F> {
    /// A fresh SAE for training: decoder rows random unit directions (Gaussian, normalised),
    /// the encoder their transpose (SAELens's tied initialisation), biases zero.
    pub fn init(config: SaeConfig, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let (d_sae, d_in) = (config.d_sae, config.d_in);
        let mut w_dec =
            Array2::from_shape_simple_fn((d_sae, d_in), || c::<F>(StandardNormal.sample(&mut rng)));
        normalize_rows(&mut w_dec);
        Self {
            w_enc_t: w_dec.clone(),
            b_enc: Array1::zeros(d_sae),
            b_dec: Array1::zeros(d_in),
            threshold: matches!(config.architecture, Architecture::JumpRelu)
                .then(|| Array1::zeros(d_sae)),
            w_dec,
            config,
        }
    }

    /// `W_enc` as SAELens shapes it. [d_in, d_sae]
    pub fn w_enc(&self) -> ArrayView2<'_, F> {
        self.w_enc_t.t()
    }

    /// ‖W_dec row‖ of every feature. [d_sae]
    pub fn decoder_norms(&self) -> Array1<F> {
        row_norms(self.w_dec.view())
    }

    /// How `normalize_activations` scales the rows of `x` [rows, d_in].
    pub fn input_scale(&self, x: ArrayView2<'_, F>) -> InputScale<F> {
        match self.config.normalize_activations {
            Normalization::None | Normalization::ExpectedAverageOnlyIn => InputScale::Identity,
            Normalization::ConstantNormRescale => {
                let root_d = c::<F>((self.config.d_in as f64).sqrt());
                InputScale::Scaled(row_norms(x).mapv(|n| root_d / n))
            }
            Normalization::LayerNorm => {
                let n = x.ncols();
                let mean = x
                    .mean_axis(Axis(1))
                    .unwrap_or_else(|| Array1::zeros(x.nrows()));
                let std = Array1::from_iter(x.outer_iter().zip(&mean).map(|(row, &m)| {
                    let sum: F = row.iter().map(|&v| (v - m) * (v - m)).sum();
                    (sum / c::<F>(n.saturating_sub(1).max(1) as f64)).sqrt()
                }));
                InputScale::Standardised { mean, std }
            }
        }
    }

    /// `x̃ = norm_in(x) − b_dec` (when `apply_b_dec_to_input`). [rows, d_in]
    pub fn sae_input(&self, x: ArrayView2<'_, F>, scale: &InputScale<F>) -> Array2<F> {
        let mut out = x.to_owned();
        match scale {
            InputScale::Identity => {}
            InputScale::Scaled(factor) => {
                for (mut row, &f) in out.outer_iter_mut().zip(factor) {
                    row *= f;
                }
            }
            InputScale::Standardised { mean, std } => {
                let eps = c::<F>(LAYER_NORM_EPS);
                for ((mut row, &m), &s) in out.outer_iter_mut().zip(mean).zip(std) {
                    row.mapv_inplace(|v| (v - m) / (s + eps));
                }
            }
        }
        if self.config.apply_b_dec_to_input {
            out -= &self.b_dec;
        }
        out
    }

    /// `pre = x̃ · W_enc + b_enc` from `x̃` [rows, d_in] (scaled by ‖W_dec row‖ when a TopK
    /// SAE says so). [rows, d_sae]
    pub fn pre_activations(&self, sae_in: ArrayView2<'_, F>) -> Array2<F> {
        let mut pre = product(F::one(), &sae_in, &self.w_enc_t.t());
        pre += &self.b_enc;
        if self.config.rescale_acts_by_decoder_norm {
            pre *= &self.decoder_norms();
        }
        pre
    }

    /// The feature activations of `x` [rows, d_in]. [rows, d_sae]
    pub fn encode(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        let scale = self.input_scale(x);
        self.encode_scaled(x, &scale)
    }

    /// [`Sae::encode`] with the input's scale already known.
    fn encode_scaled(&self, x: ArrayView2<'_, F>, scale: &InputScale<F>) -> Array2<F> {
        let sae_in = self.sae_input(x, scale);
        let mut pre = self.pre_activations(sae_in.view());
        let relu = |v: F| v.max(F::zero());
        match self.config.architecture {
            Architecture::Standard => pre.mapv_inplace(relu),
            Architecture::JumpRelu => {
                let zeros = Array1::zeros(self.config.d_sae);
                let threshold = self.threshold.as_ref().unwrap_or(&zeros);
                for mut row in pre.outer_iter_mut() {
                    for (v, &t) in row.iter_mut().zip(threshold) {
                        *v = if *v > t { relu(*v) } else { F::zero() };
                    }
                }
            }
            Architecture::TopK { k } => {
                let k = k.min(self.config.d_sae);
                let (mut index, mut value) = (vec![0u32; k], vec![F::zero(); k]);
                for mut row in pre.outer_iter_mut() {
                    let slice = row.as_slice_mut().expect("a fresh product is contiguous");
                    top_k_into(slice, None, &mut index, &mut value);
                    slice.fill(F::zero());
                    for (&j, &v) in index.iter().zip(&value) {
                        slice[j as usize] = relu(v);
                    }
                }
            }
        }
        pre
    }

    /// `norm_out(f · W_dec + b_dec)` from codes `acts` [rows, d_sae], undoing `scale` (the
    /// input's, from [`Sae::input_scale`]; [`InputScale::Identity`] without normalisation).
    /// [rows, d_in]
    pub fn decode(&self, acts: ArrayView2<'_, F>, scale: &InputScale<F>) -> Array2<F> {
        let mut out = if self.config.rescale_acts_by_decoder_norm {
            let norms = self.decoder_norms();
            product(F::one(), &(&acts / &norms), &self.w_dec)
        } else {
            product(F::one(), &acts, &self.w_dec)
        };
        out += &self.b_dec;
        match scale {
            InputScale::Identity => {}
            InputScale::Scaled(factor) => {
                for (mut row, &f) in out.outer_iter_mut().zip(factor) {
                    row /= f;
                }
            }
            InputScale::Standardised { mean, std } => {
                for ((mut row, &m), &s) in out.outer_iter_mut().zip(mean).zip(std) {
                    row.mapv_inplace(|v| v * s + m);
                }
            }
        }
        out
    }

    /// Codes and reconstruction of `x` [rows, d_in]: ([rows, d_sae], [rows, d_in]).
    pub fn encode_decode(&self, x: ArrayView2<'_, F>) -> (Array2<F>, Array2<F>) {
        let scale = self.input_scale(x);
        let acts = self.encode_scaled(x, &scale);
        let recon = self.decode(acts.view(), &scale);
        (acts, recon)
    }

    /// What feature `feature` with activation `activation` adds to the reconstruction:
    /// `activation · W_dec[feature]` (divided by the row's norm for a TopK SAE that rescales).
    /// [d_in]
    pub fn contribution(&self, feature: usize, activation: F) -> Array1<F> {
        let row = self.w_dec.row(feature);
        let scale = if self.config.rescale_acts_by_decoder_norm {
            activation / norm(row)
        } else {
            activation
        };
        row.mapv(|w| w * scale)
    }
}

/// The L2 norm of a vector.
pub(crate) fn norm<F: Scalar>(v: ArrayView1<'_, F>) -> F {
    v.iter().map(|&x| x * x).sum::<F>().sqrt()
}

/// The L2 norm of every row. [rows]
pub(crate) fn row_norms<F: Scalar>(m: ArrayView2<'_, F>) -> Array1<F> {
    m.outer_iter().map(norm).collect()
}

/// Scales every row of `m` to unit norm (rows of norm 0 stay 0).
pub(crate) fn normalize_rows<F: Scalar>(m: &mut Array2<F>) {
    for mut row in m.outer_iter_mut() {
        let n = norm(row.view());
        if n > F::zero() {
            row /= n;
        }
    }
}
