//! A model's architecture in words, one (name, value) row per choice, for the model view, in
//! the interface's language (the words are in `i18n::ModelText`): the norm and where it
//! sits, positions, attention (heads, groups, scale, local layers, softcap), the MLP and its
//! activation, the embeddings, and the file's dtype.

use super::config::{Activation, ModelConfig, NormKind, NormPlacement, Positions, RotaryStyle};
use crate::i18n::{Language, ModelText, Noun, StageText, count};

/// Every architectural row of `config`, in reading order, in `language` (the names of
/// norms, activations and tensors stay as they are).
pub fn architecture_rows(config: &ModelConfig, language: Language) -> Vec<(&'static str, String)> {
    let words = |key: ModelText| key.text(language);
    let mut rows: Vec<(&'static str, String)> = Vec::new();
    if !config.family.is_empty() {
        rows.push((words(ModelText::Family), config.family.clone()));
    }
    if !config.source_dtype.is_empty() {
        rows.push((
            words(ModelText::WeightsInFile),
            ModelText::RunInF32.fill(language, &[&config.source_dtype]),
        ));
    }
    let kind = match config.norm_kind {
        NormKind::LayerNorm if config.biases.norm => "LayerNorm",
        NormKind::LayerNorm => words(ModelText::LayerNormWithoutBias),
        NormKind::RmsNorm if config.norm_weight_offset != 0.0 => {
            StageText::RmsNormScaled.text(language)
        }
        NormKind::RmsNorm => "RMSNorm",
    };
    let placement = words(match config.norm {
        NormPlacement::Pre => ModelText::PreNorm,
        NormPlacement::Post => ModelText::PostNorm,
        NormPlacement::Parallel => ModelText::ParallelBlock,
        NormPlacement::Sandwich => ModelText::Sandwich,
    });
    rows.push((
        words(ModelText::Norm),
        format!("{kind}, {placement}, eps {}", config.layer_norm_eps),
    ));
    rows.push((words(ModelText::Positions), positions(config, language)));
    rows.push((words(ModelText::Attention), attention(config, language)));
    if !config.attn_only {
        rows.push(("MLP", mlp(config, language)));
    }
    if config.embed_scale != 1.0 {
        rows.push((
            words(ModelText::EmbeddingScale),
            format!("× {:.4} (√d_model)", config.embed_scale),
        ));
    }
    if let Some(cap) = config.final_softcap {
        rows.push((
            words(ModelText::FinalSoftcap),
            format!("{cap}·tanh(logit/{cap})"),
        ));
    }
    rows
}

fn positions(config: &ModelConfig, language: Language) -> String {
    match &config.positions {
        Positions::Learned => ModelText::LearnedPositions.fill(language, &[&config.n_ctx]),
        Positions::None => ModelText::NoPositions.text(language).into(),
        Positions::Rotary(rotary) => {
            let style = match rotary.style {
                RotaryStyle::Half => ModelText::HalfRotation,
                RotaryStyle::Interleaved => ModelText::InterleavedPairs,
            }
            .text(language);
            let share = if rotary.dim == config.d_head {
                String::new()
            } else {
                ModelText::OnDims.fill(language, &[&rotary.dim, &config.d_head])
            };
            let mut thetas: Vec<f64> = Vec::new();
            for &theta in &rotary.thetas {
                if !thetas.contains(&theta) {
                    thetas.push(theta);
                }
            }
            let thetas: Vec<String> = thetas.iter().map(|t| format!("{t}")).collect();
            ModelText::RotaryPositions.fill(language, &[&style, &share, &thetas.join(" / ")])
        }
    }
}

fn attention(config: &ModelConfig, language: Language) -> String {
    let kv = config.kv_heads();
    let mut parts = vec![if kv == config.n_heads {
        count(language, config.n_heads, Noun::Head)
    } else if kv == 1 {
        ModelText::MultiQuery.fill(language, &[&config.n_heads])
    } else {
        ModelText::GroupedQuery.fill(language, &[&config.n_heads, &kv])
    }];
    let scale = config.score_scale();
    let standard = 1.0 / (config.d_head as f64).sqrt();
    if (scale - standard).abs() > 1e-12 {
        parts.push(if scale == 1.0 {
            ModelText::NoScoreScaling.text(language).into()
        } else {
            ModelText::ScoresTimes.fill(language, &[&format!("{scale:.4}")])
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
        parts.push(ModelText::LocalWindows.fill(language, &[&local.join(", ")]));
    }
    if let Some(cap) = config.attn_softcap {
        parts.push(format!("softcap {cap}"));
    }
    parts.join("; ")
}

fn mlp(config: &ModelConfig, language: Language) -> String {
    let activation = match config.activation {
        Activation::GeluNew => ModelText::GeluTanh.text(language),
        Activation::GeluExact => ModelText::GeluExact.text(language),
        Activation::Relu => "ReLU",
        Activation::Silu => "SiLU",
    };
    if config.gated_mlp {
        let name = match config.activation {
            Activation::Silu => "SwiGLU",
            Activation::GeluNew | Activation::GeluExact => "GeGLU",
            Activation::Relu => "ReGLU",
        };
        ModelText::Gated.fill(language, &[&name, &activation])
    } else {
        activation.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lesson_model_reads_as_gpt2_style() {
        let rows = architecture_rows(&ModelConfig::lesson(65), Language::En);
        let text: Vec<String> = rows.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        assert!(text[0].starts_with("norm: LayerNorm, pre-norm"), "{text:?}");
        assert!(text.iter().any(|t| t == "attention: 4 heads"), "{text:?}");
        let pt = architecture_rows(&ModelConfig::lesson(65), Language::Pt);
        let text: Vec<String> = pt.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        assert!(
            text[0].starts_with("normalização: LayerNorm, pré-norma"),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t == "atenção: 4 cabeças"), "{text:?}");
    }
}
