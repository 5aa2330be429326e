//! Stages in plain words, for the stage slider's label and the views' headings, in the
//! interface's language (the sentences are in `i18n::StageText`).

use crate::i18n::{Language, StageText};
use crate::interp::Stage;
use crate::model::ModelConfig;
use crate::model::NormPlacement;
use crate::model::config::{NormKind, Positions};

/// One sentence saying what the vector at `stage` is, for a student, in `language`.
pub fn describe_stage(stage: Stage, config: &ModelConfig, language: Language) -> String {
    use StageText as T;
    let text = |key: T| key.text(language);
    let post = config.norm == NormPlacement::Post;
    let parallel = config.norm == NormPlacement::Parallel;
    let sandwich = config.norm == NormPlacement::Sandwich;
    let norm = match config.norm_kind {
        NormKind::LayerNorm => "LayerNorm",
        NormKind::RmsNorm if config.norm_weight_offset != 0.0 => text(T::RmsNormScaled),
        NormKind::RmsNorm => "RMSNorm",
    };
    let attention = attention_words(config, stage.layer().unwrap_or(0), language);
    let mlp = text(if config.gated_mlp {
        T::GatedMlp
    } else {
        T::Mlp
    });
    let skip = if config.residual {
        "x"
    } else {
        text(T::NoResidual)
    };
    let in_block = |key: T, args: &[&dyn std::fmt::Display]| {
        let layer = stage.layer().unwrap_or(0);
        let mut all: Vec<&dyn std::fmt::Display> = vec![&layer];
        all.extend_from_slice(args);
        key.fill(language, &all)
    };
    match stage {
        Stage::Embed if config.learned_positions() => text(T::EmbedLearned).into(),
        Stage::Embed => {
            let scale = if config.embed_scale != 1.0 {
                " × √d_model"
            } else {
                ""
            };
            let key = if config.positions == Positions::None {
                T::EmbedNoPositions
            } else {
                T::EmbedRotary
            };
            key.fill(language, &[&scale])
        }
        Stage::Ln1 { .. } if post => in_block(T::Ln1Post, &[&norm]),
        Stage::Ln1 { .. } => in_block(T::Ln1, &[&norm, &attention]),
        Stage::Attn { .. } if sandwich => in_block(T::PostNormed, &[&attention]),
        Stage::Attn { .. } => in_block(T::Attn, &[&attention]),
        Stage::AttnAdded { .. } => in_block(T::AttnAdded, &[&skip]),
        Stage::Ln2 { .. } if post => in_block(T::Ln2Post, &[&norm]),
        Stage::Ln2 { .. } if parallel => in_block(T::Ln2Parallel, &[&norm, &mlp]),
        Stage::Ln2 { .. } => in_block(T::Ln2, &[&norm, &mlp]),
        Stage::Mlp { .. } if sandwich => in_block(T::PostNormed, &[&mlp]),
        Stage::Mlp { .. } => in_block(T::MlpOut, &[&mlp]),
        Stage::MlpAdded { .. } if parallel => in_block(T::MlpAddedParallel, &[&skip]),
        Stage::MlpAdded { .. } => {
            let skip = if config.residual { "x′" } else { skip };
            in_block(T::MlpAdded, &[&skip])
        }
        Stage::LnFinal => T::LnFinal.fill(language, &[&norm]),
        Stage::Logits => T::Logits.fill(language, &[&config.d_vocab]),
    }
}

/// "attention", with what is particular about layer `layer`'s: grouped-query heads, rotary
/// positions, a local window.
fn attention_words(config: &ModelConfig, layer: usize, language: Language) -> String {
    let mut words = StageText::Attention.text(language).to_string();
    let mut traits = Vec::new();
    if let Some(window) = config.window(layer) {
        traits.push(StageText::LocalWindow.fill(language, &[&window]));
    }
    if !config.learned_positions() && config.positions != Positions::None {
        traits.push(StageText::Rotary.text(language).to_string());
    }
    if config.kv_heads() != config.n_heads {
        traits.push(StageText::GroupedHeads.fill(language, &[&config.n_heads, &config.kv_heads()]));
    }
    if !traits.is_empty() {
        words.push_str(&format!(" ({})", traits.join(", ")));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_the_norm_placement() {
        let en = Language::En;
        let mut config = ModelConfig::lesson(10);
        assert!(describe_stage(Stage::AttnAdded { layer: 2 }, &config, en).contains("x′ = x"));
        config.norm = NormPlacement::Post;
        let ln2 = describe_stage(Stage::Ln2 { layer: 0 }, &config, en);
        assert!(ln2.contains("applied to the sum"));
        config.residual = false;
        let added = describe_stage(Stage::AttnAdded { layer: 0 }, &config, en);
        assert!(added.contains("no residual"));
        assert!(describe_stage(Stage::Logits, &config, en).contains("10 numbers"));
    }

    #[test]
    fn portuguese_sentences_name_the_block_and_fill_every_value() {
        let config = ModelConfig::lesson(10);
        for stage in crate::interp::stage::stages(&config) {
            let pt = describe_stage(stage, &config, Language::Pt);
            assert!(!pt.contains('{'), "{pt}");
            if let Some(layer) = stage.layer() {
                assert!(pt.starts_with(&format!("Bloco {layer}:")), "{pt}");
            }
        }
        let added = describe_stage(Stage::MlpAdded { layer: 1 }, &config, Language::Pt);
        assert!(added.contains("x″ = x′ + mlp_out"), "{added}");
    }
}
