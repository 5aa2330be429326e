//! A model's architecture in words, one (name, value) row per choice, for the model view and
//! `info`: the norm and where it sits, positions, attention (heads, groups, scale, local
//! layers, softcap), the MLP and its activation, the embeddings, and the file's dtype.

use super::config::{Activation, ModelConfig, NormKind, NormPlacement, Positions, RotaryStyle};

/// Every architectural row of `config`, in reading order.
pub fn architecture_rows(config: &ModelConfig) -> Vec<(&'static str, String)> {
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    if !config.family.is_empty() {
        rows.push(("family", config.family.clone()));
    }
    if !config.source_dtype.is_empty() {
        rows.push((
            "weights in file",
            format!("{} (run in f32)", config.source_dtype),
        ));
    }
    let kind = match config.norm_kind {
        NormKind::LayerNorm if config.biases.norm => "LayerNorm",
        NormKind::LayerNorm => "LayerNorm without bias",
        NormKind::RmsNorm if config.norm_weight_offset != 0.0 => "RMSNorm with scale 1+w",
        NormKind::RmsNorm => "RMSNorm",
    };
    let placement = match config.norm {
        NormPlacement::Pre => "pre-norm (GPT-2)",
        NormPlacement::Post => "post-norm (original transformer)",
        NormPlacement::Parallel => "parallel block: attention and MLP read the same stream",
        NormPlacement::Sandwich => "sandwich: a norm before and after each sublayer",
    };
    rows.push((
        "norm",
        format!("{kind}, {placement}, eps {}", config.layer_norm_eps),
    ));
    rows.push(("positions", positions(config)));
    rows.push(("attention", attention(config)));
    if !config.attn_only {
        rows.push(("MLP", mlp(config)));
    }
    if config.embed_scale != 1.0 {
        rows.push((
            "embedding scale",
            format!("× {:.4} (√d_model)", config.embed_scale),
        ));
    }
    if let Some(cap) = config.final_softcap {
        rows.push(("final logit softcap", format!("{cap}·tanh(logit/{cap})")));
    }
    rows
}

fn positions(config: &ModelConfig) -> String {
    match &config.positions {
        Positions::Learned => format!("learned W_pos, {} positions", config.n_ctx),
        Positions::None => "none (only the causal mask)".into(),
        Positions::Rotary(rotary) => {
            let style = match rotary.style {
                RotaryStyle::Half => "half rotation",
                RotaryStyle::Interleaved => "interleaved pairs",
            };
            let share = if rotary.dim == config.d_head {
                String::new()
            } else {
                format!(" on {} of {} dims", rotary.dim, config.d_head)
            };
            let mut thetas: Vec<f64> = Vec::new();
            for &theta in &rotary.thetas {
                if !thetas.contains(&theta) {
                    thetas.push(theta);
                }
            }
            let thetas: Vec<String> = thetas.iter().map(|t| format!("{t}")).collect();
            format!("rotary ({style}{share}), θ {}", thetas.join(" / "))
        }
    }
}

fn attention(config: &ModelConfig) -> String {
    let kv = config.kv_heads();
    let mut parts = vec![if kv == config.n_heads {
        format!("{} heads", config.n_heads)
    } else if kv == 1 {
        format!(
            "{} query heads sharing 1 key/value head (MQA)",
            config.n_heads
        )
    } else {
        format!(
            "{} query heads in {kv} groups sharing key/value heads (GQA)",
            config.n_heads
        )
    }];
    let scale = config.score_scale();
    let standard = 1.0 / (config.d_head as f64).sqrt();
    if (scale - standard).abs() > 1e-12 {
        parts.push(if scale == 1.0 {
            "no 1/√d_head scaling".into()
        } else {
            format!("scores × {scale:.4}")
        });
    }
    if config.qk_norm {
        parts.push("q/k RMSNorm".into());
    }
    let local: Vec<String> = config
        .attn_windows
        .iter()
        .enumerate()
        .filter_map(|(layer, w)| w.map(|w| format!("L{layer}: {w}")))
        .collect();
    if !local.is_empty() {
        parts.push(format!("local windows {}", local.join(", ")));
    }
    if let Some(cap) = config.attn_softcap {
        parts.push(format!("softcap {cap}"));
    }
    parts.join("; ")
}

fn mlp(config: &ModelConfig) -> String {
    let activation = match config.activation {
        Activation::GeluNew => "GELU (tanh approximation)",
        Activation::GeluExact => "GELU (exact, erf)",
        Activation::Relu => "ReLU",
        Activation::Silu => "SiLU",
    };
    if config.gated_mlp {
        let name = match config.activation {
            Activation::Silu => "SwiGLU",
            Activation::GeluNew | Activation::GeluExact => "GeGLU",
            Activation::Relu => "ReGLU",
        };
        format!("gated ({name}): {activation}(x·W_gate) ⊙ x·W_in")
    } else {
        activation.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lesson_model_reads_as_gpt2_style() {
        let rows = architecture_rows(&ModelConfig::lesson(65));
        let text: Vec<String> = rows.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        assert!(text[0].starts_with("norm: LayerNorm, pre-norm"), "{text:?}");
        assert!(text.iter().any(|t| t == "attention: 4 heads"), "{text:?}");
    }
}
