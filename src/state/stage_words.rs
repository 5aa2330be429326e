//! Stages in plain words, for the stage slider's label and the views' headings.

use crate::interp::Stage;
use crate::model::ModelConfig;
use crate::model::NormPlacement;
use crate::model::config::{NormKind, Positions};

/// One sentence saying what the vector at `stage` is, for a student.
pub fn describe_stage(stage: Stage, config: &ModelConfig) -> String {
    let post = config.norm == NormPlacement::Post;
    let parallel = config.norm == NormPlacement::Parallel;
    let sandwich = config.norm == NormPlacement::Sandwich;
    let norm = match config.norm_kind {
        NormKind::LayerNorm => "LayerNorm",
        NormKind::RmsNorm if config.norm_weight_offset != 0.0 => "RMSNorm with scale 1+w",
        NormKind::RmsNorm => "RMSNorm",
    };
    let attention = attention_words(config, stage.layer().unwrap_or(0));
    let mlp = if config.gated_mlp {
        "the gated MLP"
    } else {
        "the MLP"
    };
    let skip = if config.residual {
        "x"
    } else {
        "0 (no residual connection)"
    };
    match stage {
        Stage::Embed if config.learned_positions() => {
            "Token embedding + position embedding: the stream entering block 0".into()
        }
        Stage::Embed => format!(
            "Token embedding{}: the stream entering block 0 (positions enter later, {})",
            if config.embed_scale != 1.0 {
                " × √d_model"
            } else {
                ""
            },
            if config.learned_positions() {
                ""
            } else {
                "by rotating each head's queries and keys"
            }
        ),
        Stage::Ln1 { layer } if post => {
            format!("Block {layer}: {norm} 1 applied to the sum, the stream after attention")
        }
        Stage::Ln1 { layer } => format!(
            "Block {layer}: {norm} 1, the normalised copy {attention} reads (the stream itself is unchanged)"
        ),
        Stage::Attn { layer } if sandwich => format!(
            "Block {layer}: what {attention} writes, normalised by its post-norm, about to be added"
        ),
        Stage::Attn { layer } => {
            format!("Block {layer}: what {attention} writes (attn_out), about to be added")
        }
        Stage::AttnAdded { layer } => {
            format!("Block {layer}: the stream after adding attention, x′ = {skip} + attn_out")
        }
        Stage::Ln2 { layer } if post => {
            format!("Block {layer}: {norm} 2 applied to the sum, the stream leaving the block")
        }
        Stage::Ln2 { layer } if parallel => format!(
            "Block {layer}: {norm} 2 on the block's input x, the copy {mlp} reads beside attention (parallel block)"
        ),
        Stage::Ln2 { layer } => format!(
            "Block {layer}: {norm} 2, the normalised copy {mlp} reads (the stream itself is unchanged)"
        ),
        Stage::Mlp { layer } if sandwich => format!(
            "Block {layer}: what {mlp} writes, normalised by its post-norm, about to be added"
        ),
        Stage::Mlp { layer } => {
            format!("Block {layer}: what {mlp} writes (mlp_out), about to be added")
        }
        Stage::MlpAdded { layer } if parallel => format!(
            "Block {layer}: the stream after the parallel block, x″ = {skip} + attn_out + mlp_out"
        ),
        Stage::MlpAdded { layer } => {
            let skip = if config.residual {
                "x′"
            } else {
                "0 (no residual connection)"
            };
            format!("Block {layer}: the stream after adding the MLP, x″ = {skip} + mlp_out")
        }
        Stage::LnFinal => format!("Final {norm}: the input of the unembedding"),
        Stage::Logits => format!(
            "Logits: one score per vocabulary token ({} numbers, not d_model)",
            config.d_vocab
        ),
    }
}

/// "attention", with what is particular about layer `layer`'s: grouped-query heads, rotary
/// positions, a local window.
fn attention_words(config: &ModelConfig, layer: usize) -> String {
    let mut words = String::from("attention");
    let mut traits = Vec::new();
    if let Some(window) = config.window(layer) {
        traits.push(format!("local, the last {window} tokens"));
    }
    if !config.learned_positions() && config.positions != Positions::None {
        traits.push("rotary".to_string());
    }
    if config.kv_heads() != config.n_heads {
        traits.push(format!(
            "{} query heads sharing {} key/value heads",
            config.n_heads,
            config.kv_heads()
        ));
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
        let mut config = ModelConfig::lesson(10);
        assert!(describe_stage(Stage::AttnAdded { layer: 2 }, &config).contains("x′ = x"));
        config.norm = NormPlacement::Post;
        assert!(describe_stage(Stage::Ln2 { layer: 0 }, &config).contains("applied to the sum"));
        config.residual = false;
        assert!(describe_stage(Stage::AttnAdded { layer: 0 }, &config).contains("no residual"));
        assert!(describe_stage(Stage::Logits, &config).contains("10 numbers"));
    }
}
