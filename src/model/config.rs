//! `ModelConfig`: the shape and the architectural variant of a model, and its validation.
//!
//! Names follow TransformerLens (`d_model`, `d_head`, `n_heads`, `n_layers`, `d_mlp`,
//! `d_vocab`, `n_ctx`). The variants cover GPT-2 (pre-LN, gelu_new, tied unembedding) and the
//! textbook's block (post-LN, ReLU), switches the lessons need (residual connections off,
//! attention-only blocks, an unembedding bias `b_U`), and every choice the Hugging Face
//! families make (`model/arch.rs`): RMSNorm, parallel and sandwich blocks, rotary positions,
//! grouped-query attention, q/k norms, local layers, softcaps, gated MLPs. Every field added
//! after GPT-2 has a serde default, so files saved before it still open as themselves.

use serde::{Deserialize, Serialize};

/// Where each LayerNorm sits in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NormPlacement {
    /// GPT-2: `x' = x + attn(ln1(x))`, `x'' = x' + mlp(ln2(x'))`, then `ln_final`.
    #[default]
    Pre,
    /// The original transformer and the textbook: `x' = ln1(x + attn(x))`,
    /// `x'' = ln2(x' + mlp(x'))`.
    Post,
    /// GPT-NeoX / Pythia: both sublayers read the same stream,
    /// `x' = x + attn(ln1(x)) + mlp(ln2(x))` (no `resid_mid` hook).
    Parallel,
    /// Gemma's sandwich: a norm before and after each sublayer,
    /// `x' = x + ln1_post(attn(ln1(x)))`, `x'' = x' + ln2_post(mlp(ln2(x')))`.
    Sandwich,
}

impl NormPlacement {
    /// Whether the sublayers read a normalised copy of the stream while the stream itself is
    /// never normalised (pre, parallel, sandwich), as opposed to post-LN.
    pub fn stream_is_unnormalised(self) -> bool {
        self != NormPlacement::Post
    }
}

/// The MLP's non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// GPT-2's tanh approximation of GELU.
    #[default]
    GeluNew,
    /// `max(0, x)`, the textbook's feed-forward network.
    Relu,
    /// Exact GELU, `x·Φ(x)` with the error function (GPT-NeoX's `gelu`).
    GeluExact,
    /// SiLU (swish), `x·σ(x)`: Llama's and Qwen's gate.
    Silu,
}

/// Shape and variant of a decoder-only transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Width of the residual stream.
    pub d_model: usize,
    /// Attention heads per layer.
    pub n_heads: usize,
    /// Width of one head's queries, keys and values; `d_model = n_heads * d_head`.
    pub d_head: usize,
    /// Number of blocks.
    pub n_layers: usize,
    /// Hidden width of the MLP (ignored when `attn_only`).
    pub d_mlp: usize,
    /// Number of tokens in the vocabulary.
    pub d_vocab: usize,
    /// Longest sequence (number of learned positions).
    pub n_ctx: usize,
    /// Epsilon inside LayerNorm's square root.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Pre-LN (GPT-2) or post-LN (textbook).
    #[serde(default)]
    pub norm: NormPlacement,
    /// MLP non-linearity.
    #[serde(default)]
    pub activation: Activation,
    /// Residual connections on (`x' = x + attn`) or off (`x' = attn`).
    #[serde(default = "yes")]
    pub residual: bool,
    /// Unembedding is `W_E^T` (true) or its own matrix `W_U` (false).
    #[serde(default = "yes")]
    pub tied_unembed: bool,
    /// The head adds a bias: `logits = W_U r + b_U`.
    #[serde(default)]
    pub unembed_bias: bool,
    /// Blocks have attention and no MLP.
    #[serde(default)]
    pub attn_only: bool,
    /// A LayerNorm before the unembedding (GPT-2's `ln_f`).
    #[serde(default = "yes")]
    pub final_norm: bool,
    /// LayerNorm (centre and scale) or RMSNorm (scale only).
    #[serde(default)]
    pub norm_kind: NormKind,
    /// What the file's norm weights had added to them to give the scale the engine uses:
    /// 1 for Gemma's `x̂·(1 + w)` (folded at load, as TransformerLens does), else 0.
    #[serde(default)]
    pub norm_weight_offset: f64,
    /// Key/value heads (grouped-query attention); `None` means one per query head.
    #[serde(default)]
    pub n_key_value_heads: Option<usize>,
    /// Learned positions (GPT-2), rotary (applied to q and k), or none.
    #[serde(default)]
    pub positions: Positions,
    /// Which of the optional biases exist.
    #[serde(default)]
    pub biases: Biases,
    /// Per-head RMSNorm on q and k (weights [d_head]) before rotary: Qwen3, Gemma-3.
    #[serde(default)]
    pub qk_norm: bool,
    /// What q·kᵀ is multiplied by; `None` means 1/√d_head.
    #[serde(default)]
    pub attn_scale: Option<f64>,
    /// Per layer, the sliding window of a local layer (a query sees the `window` keys
    /// ending at itself), `None` for a global layer; empty means every layer is global.
    #[serde(default)]
    pub attn_windows: Vec<Option<usize>>,
    /// `cap·tanh(score/cap)` on the attention scores before the mask (Gemma-2).
    #[serde(default)]
    pub attn_softcap: Option<f64>,
    /// `cap·tanh(logit/cap)` on the final logits (Gemma-2).
    #[serde(default)]
    pub final_softcap: Option<f64>,
    /// Gated MLP: `post = act(x·W_gate) ⊙ (x·W_in)` (SwiGLU, GeGLU).
    #[serde(default)]
    pub gated_mlp: bool,
    /// `hook_embed = W_E[token]·embed_scale` (√d_model in Gemma); the unembedding is unscaled.
    #[serde(default = "one")]
    pub embed_scale: f64,
    /// Where the architecture came from (`gpt2`, `llama`, `gemma3_text`, …), for the model
    /// view; empty for the app's own models.
    #[serde(default)]
    pub family: String,
    /// The float type the weights had in the file they were imported from (`BF16`, `F16`,
    /// `F32`), for the model view; empty for the app's own models. The engine runs in f32.
    #[serde(default)]
    pub source_dtype: String,
}

/// The normalisation every norm of the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// `(x − mean)/√(var + eps)·w + b`.
    #[default]
    LayerNorm,
    /// `x/√(mean(x²) + eps)·w` (no centring, no bias).
    RmsNorm,
}

/// How positions enter the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Positions {
    /// `hook_pos_embed = W_pos[pos]`, added to the stream.
    #[default]
    Learned,
    /// Rotary embeddings on q and k in every layer (nothing is added to the stream).
    Rotary(Rotary),
    /// No positional information besides the causal mask.
    None,
}

/// Rotary position embeddings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rotary {
    /// Which dimensions are paired.
    pub style: RotaryStyle,
    /// How many of each head's dimensions rotate (the first ones); the rest pass through.
    pub dim: usize,
    /// θ of each layer (two values alternate in Gemma-3: local and global layers).
    pub thetas: Vec<f64>,
}

/// How rotary pairs a head's dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotaryStyle {
    /// GPT-NeoX / Llama `rotate_half`: `(x[i], x[i + dim/2])`.
    Half,
    /// GPT-J / Meta's original checkpoints: `(x[2i], x[2i + 1])`.
    Interleaved,
}

/// The biases a model has (GPT-2 has them all; Llama none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Biases {
    /// `b_Q`.
    pub q: bool,
    /// `b_K`.
    pub k: bool,
    /// `b_V`.
    pub v: bool,
    /// `b_O`.
    pub o: bool,
    /// `b_in`, `b_gate` and `b_out` of the MLP.
    pub mlp: bool,
    /// The norms' shift `b` (LayerNorm only).
    pub norm: bool,
}

impl Default for Biases {
    fn default() -> Self {
        Self::all(true)
    }
}

impl Biases {
    /// Every bias present, or none.
    pub fn all(present: bool) -> Self {
        Self {
            q: present,
            k: present,
            v: present,
            o: present,
            mlp: present,
            norm: present,
        }
    }
}

impl Default for ModelConfig {
    /// The lesson shape with a 65-character vocabulary.
    fn default() -> Self {
        Self::lesson(65)
    }
}

fn default_eps() -> f64 {
    1e-5
}
fn yes() -> bool {
    true
}
fn one() -> f64 {
    1.0
}

/// Largest model accepted, in parameters (GPT-2 XL has 1.56 billion).
pub const MAX_PARAMETERS: u64 = 2_000_000_000;

/// A config that cannot describe a model, with the reason.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid model config: {0}")]
pub struct ConfigError(pub String);

impl ModelConfig {
    /// The `lesson` shape: 4 layers, 4 heads of 32, d_model 128, d_mlp 512, n_ctx 128,
    /// pre-LN, gelu_new, tied.
    pub fn lesson(d_vocab: usize) -> Self {
        Self {
            d_model: 128,
            n_heads: 4,
            d_head: 32,
            n_layers: 4,
            d_mlp: 512,
            d_vocab,
            n_ctx: 128,
            layer_norm_eps: 1e-5,
            norm: NormPlacement::Pre,
            activation: Activation::GeluNew,
            residual: true,
            tied_unembed: true,
            unembed_bias: false,
            attn_only: false,
            final_norm: true,
            norm_kind: NormKind::LayerNorm,
            norm_weight_offset: 0.0,
            n_key_value_heads: None,
            positions: Positions::Learned,
            biases: Biases::all(true),
            qk_norm: false,
            attn_scale: None,
            attn_windows: Vec::new(),
            attn_softcap: None,
            final_softcap: None,
            gated_mlp: false,
            embed_scale: 1.0,
            family: String::new(),
            source_dtype: String::new(),
        }
    }

    /// Key/value heads per layer (`n_heads` without grouped-query attention).
    pub fn kv_heads(&self) -> usize {
        self.n_key_value_heads.unwrap_or(self.n_heads)
    }

    /// What q·kᵀ is multiplied by.
    pub fn score_scale(&self) -> f64 {
        self.attn_scale
            .unwrap_or_else(|| 1.0 / (self.d_head as f64).sqrt())
    }

    /// The sliding window of layer `layer`, `None` when it attends to every earlier key.
    pub fn window(&self, layer: usize) -> Option<usize> {
        self.attn_windows.get(layer).copied().flatten()
    }

    /// Whether positions are learned vectors added to the stream (`W_pos`).
    pub fn learned_positions(&self) -> bool {
        self.positions == Positions::Learned
    }

    /// Whether the training code (backward pass) handles this architecture: the app's own
    /// variants (LayerNorm pre/post, learned positions, plain MLP, one K/V per head).
    pub fn trainable(&self) -> Result<(), String> {
        let unsupported = [
            (self.norm_kind != NormKind::LayerNorm, "RMSNorm"),
            (
                matches!(self.norm, NormPlacement::Parallel | NormPlacement::Sandwich),
                "parallel or sandwich blocks",
            ),
            (
                !self.learned_positions(),
                "rotary or no position embeddings",
            ),
            (self.kv_heads() != self.n_heads, "grouped-query attention"),
            (self.biases != Biases::all(true), "missing biases"),
            (self.qk_norm, "q/k norms"),
            (self.attn_scale.is_some(), "a custom attention scale"),
            (
                self.attn_windows.iter().any(Option::is_some),
                "local attention",
            ),
            (
                self.attn_softcap.is_some() || self.final_softcap.is_some(),
                "softcapping",
            ),
            (self.gated_mlp, "a gated MLP"),
            (
                matches!(self.activation, Activation::GeluExact | Activation::Silu),
                "this activation",
            ),
            (self.embed_scale != 1.0, "scaled embeddings"),
        ];
        match unsupported.iter().find(|(yes, _)| *yes) {
            Some((_, what)) => Err(format!(
                "training runs on the app's own architectures (LayerNorm, learned positions); \
                 this model has {what}"
            )),
            None => Ok(()),
        }
    }

    /// Checks the config before anything is allocated: positive sizes, bounded sizes, head
    /// counts that divide, per-layer lists of the right length, finite scales, at most
    /// [`MAX_PARAMETERS`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |msg: String| Err(ConfigError(msg));
        let limits: [(&str, usize, usize); 8] = [
            ("d_model", self.d_model, 1 << 15),
            ("n_heads", self.n_heads, 1024),
            ("n_key_value_heads", self.kv_heads(), 1024),
            ("d_head", self.d_head, 1 << 14),
            ("n_layers", self.n_layers, 512),
            ("d_vocab", self.d_vocab, 1 << 22),
            ("n_ctx", self.n_ctx, 1 << 20),
            (
                "d_mlp",
                if self.attn_only { 1 } else { self.d_mlp },
                1 << 17,
            ),
        ];
        for (name, value, max) in limits {
            if value == 0 {
                return err(format!("{name} must be at least 1"));
            }
            if value > max {
                return err(format!("{name} = {value} is larger than the limit {max}"));
            }
        }
        if !self.n_heads.is_multiple_of(self.kv_heads()) {
            return err(format!(
                "n_heads ({}) must be a multiple of n_key_value_heads ({})",
                self.n_heads,
                self.kv_heads()
            ));
        }
        if self.family.is_empty() && self.n_heads * self.d_head != self.d_model {
            // The app's own models (and its files from before head_dim was free) keep
            // d_model = n_heads · d_head; imported families state head_dim themselves.
            return err(format!(
                "d_model ({}) must equal n_heads ({}) × d_head ({})",
                self.d_model, self.n_heads, self.d_head
            ));
        }
        let positive = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(ConfigError(format!(
                    "{name} must be a positive number, not {value}"
                )))
            }
        };
        positive("layer_norm_eps", self.layer_norm_eps)?;
        positive("embed_scale", self.embed_scale)?;
        if let Some(scale) = self.attn_scale {
            positive("attn_scale", scale)?;
        }
        if let Some(cap) = self.attn_softcap {
            positive("attn_softcap", cap)?;
        }
        if let Some(cap) = self.final_softcap {
            positive("final_softcap", cap)?;
        }
        if !self.norm_weight_offset.is_finite() {
            return err(format!(
                "norm_weight_offset must be finite, not {}",
                self.norm_weight_offset
            ));
        }
        if !self.attn_windows.is_empty() && self.attn_windows.len() != self.n_layers {
            return err(format!(
                "attn_windows lists {} layers but the model has {}",
                self.attn_windows.len(),
                self.n_layers
            ));
        }
        if self.attn_windows.contains(&Some(0)) {
            return err("a sliding window must hold at least 1 key".into());
        }
        if let Positions::Rotary(rotary) = &self.positions {
            if rotary.dim == 0 || rotary.dim % 2 != 0 || rotary.dim > self.d_head {
                return err(format!(
                    "the rotary dimension ({}) must be even, positive and at most d_head ({})",
                    rotary.dim, self.d_head
                ));
            }
            if rotary.thetas.len() != self.n_layers {
                return err(format!(
                    "rotary lists {} thetas for {} layers",
                    rotary.thetas.len(),
                    self.n_layers
                ));
            }
            for &theta in &rotary.thetas {
                positive("rope theta", theta)?;
            }
        }
        let count = self.parameter_count();
        if count > MAX_PARAMETERS {
            return err(format!(
                "{count} parameters is more than the limit of {MAX_PARAMETERS}"
            ));
        }
        Ok(())
    }

    /// Parameters per component, in a stable order, computed in `u64` without overflow for
    /// any config that passes the size limits. A bias the architecture lacks counts nothing.
    pub fn parameter_counts(&self) -> Vec<(&'static str, u64)> {
        let d = self.d_model as u64;
        let h = self.n_heads as u64;
        let kv = self.kv_heads() as u64;
        let dh = self.d_head as u64;
        let m = self.d_mlp as u64;
        let v = self.d_vocab as u64;
        let layers = self.n_layers as u64;
        let b = self.biases;
        let ln = d + if self.norm_kind == NormKind::LayerNorm && b.norm {
            d
        } else {
            0
        };
        let post_norms = if self.norm == NormPlacement::Sandwich {
            ln
        } else {
            0
        };
        let attn = h * d * dh * 2
            + kv * d * dh * 2
            + u64::from(b.q) * h * dh
            + (u64::from(b.k) + u64::from(b.v)) * kv * dh
            + u64::from(b.o) * d
            + if self.qk_norm { 2 * dh } else { 0 };
        let mlp = if self.attn_only {
            0
        } else {
            let matrices: u64 = if self.gated_mlp { 3 } else { 2 };
            let inner_biases: u64 = if self.gated_mlp { 2 } else { 1 };
            matrices * d * m + u64::from(b.mlp) * (inner_biases * m + d) + ln + post_norms
        };
        let pos = if self.learned_positions() {
            self.n_ctx as u64 * d
        } else {
            0
        };
        let mut counts = vec![("embed", v * d)];
        if pos > 0 {
            counts.push(("pos_embed", pos));
        }
        counts.extend([
            ("attention", layers * (attn + ln + post_norms)),
            ("mlp", layers * mlp),
        ]);
        if self.final_norm {
            counts.push(("ln_final", ln));
        }
        if !self.tied_unembed {
            counts.push(("unembed", d * v));
        }
        if self.unembed_bias {
            counts.push(("unembed bias", v));
        }
        counts
    }

    /// Total number of parameters (a tied unembedding counts once).
    pub fn parameter_count(&self) -> u64 {
        self.parameter_counts().iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lesson_shape_is_valid() {
        let config = ModelConfig::lesson(65);
        assert_eq!(config.validate(), Ok(()));
        // Per block: W_Q/K/V/O 4d², their biases 4d, ln1 2d, W_in/W_out 8d², b_in 512,
        // b_out d, ln2 2d. Plus embeddings and ln_final.
        let d = 128u64;
        let block = 4 * d * d + 4 * d + 2 * d + 8 * d * d + 512 + d + 2 * d;
        assert_eq!(
            config.parameter_count(),
            65 * d + 128 * d + 4 * block + 2 * d
        );
    }

    #[test]
    fn rejects_head_mismatch_and_zero_and_huge() {
        let mut config = ModelConfig::lesson(65);
        config.d_head = 31;
        assert!(config.validate().unwrap_err().0.contains("n_heads"));
        let mut config = ModelConfig::lesson(65);
        config.n_layers = 0;
        assert!(config.validate().is_err());
        let mut config = ModelConfig::lesson(4_000_000);
        config.d_model = 16384;
        config.n_heads = 128;
        config.d_head = 128;
        assert!(config.validate().unwrap_err().0.contains("limit"));
    }
}
