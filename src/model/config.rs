//! `ModelConfig`: the shape and the architectural variant of a model, and its validation.
//!
//! Names follow TransformerLens (`d_model`, `d_head`, `n_heads`, `n_layers`, `d_mlp`,
//! `d_vocab`, `n_ctx`). The variants cover GPT-2 (pre-LN, gelu_new, tied unembedding) and the
//! textbook's block (post-LN, ReLU), plus switches the lessons need (residual connections off,
//! attention-only blocks, an unembedding bias `b_U`).

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
}

fn default_eps() -> f64 {
    1e-5
}
fn yes() -> bool {
    true
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
        }
    }

    /// Checks the config before anything is allocated: positive sizes,
    /// `d_model = n_heads * d_head`, bounded sizes, at most [`MAX_PARAMETERS`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |msg: String| Err(ConfigError(msg));
        let limits: [(&str, usize, usize); 7] = [
            ("d_model", self.d_model, 1 << 15),
            ("n_heads", self.n_heads, 1024),
            ("d_head", self.d_head, 1 << 14),
            ("n_layers", self.n_layers, 512),
            ("d_vocab", self.d_vocab, 1 << 22),
            ("n_ctx", self.n_ctx, 1 << 16),
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
        if self.n_heads * self.d_head != self.d_model {
            return err(format!(
                "d_model ({}) must equal n_heads ({}) × d_head ({})",
                self.d_model, self.n_heads, self.d_head
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return err(format!(
                "layer_norm_eps must be a positive number, not {}",
                self.layer_norm_eps
            ));
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
    /// any config that passes the size limits.
    pub fn parameter_counts(&self) -> Vec<(&'static str, u64)> {
        let d = self.d_model as u64;
        let h = self.n_heads as u64;
        let dh = self.d_head as u64;
        let m = self.d_mlp as u64;
        let v = self.d_vocab as u64;
        let layers = self.n_layers as u64;
        let ln = 2 * d;
        let attn = 3 * (h * d * dh + h * dh) + h * dh * d + d;
        let mlp = if self.attn_only {
            0
        } else {
            d * m + m + m * d + d + ln
        };
        let mut counts = vec![
            ("embed", v * d),
            ("pos_embed", self.n_ctx as u64 * d),
            ("attention", layers * (attn + ln)),
            ("mlp", layers * mlp),
        ];
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
