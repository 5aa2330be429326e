//! Stages in plain words, for the stage slider's label and the views' headings.

use crate::interp::Stage;
use crate::model::ModelConfig;
use crate::model::NormPlacement;

/// One sentence saying what the vector at `stage` is, for a student.
pub fn describe_stage(stage: Stage, config: &ModelConfig) -> String {
    let post = config.norm == NormPlacement::Post;
    let skip = if config.residual {
        "x"
    } else {
        "0 (no residual connection)"
    };
    match stage {
        Stage::Embed => "Token embedding + position embedding: the stream entering block 0".into(),
        Stage::Ln1 { layer } if post => {
            format!("Block {layer}: LayerNorm 1 applied to the sum, the stream after attention")
        }
        Stage::Ln1 { layer } => format!(
            "Block {layer}: LayerNorm 1, the normalised copy attention reads (the stream itself is unchanged)"
        ),
        Stage::Attn { layer } => {
            format!("Block {layer}: what attention writes (attn_out), about to be added")
        }
        Stage::AttnAdded { layer } => {
            format!("Block {layer}: the stream after adding attention, x′ = {skip} + attn_out")
        }
        Stage::Ln2 { layer } if post => {
            format!("Block {layer}: LayerNorm 2 applied to the sum, the stream leaving the block")
        }
        Stage::Ln2 { layer } => format!(
            "Block {layer}: LayerNorm 2, the normalised copy the MLP reads (the stream itself is unchanged)"
        ),
        Stage::Mlp { layer } => {
            format!("Block {layer}: what the MLP writes (mlp_out), about to be added")
        }
        Stage::MlpAdded { layer } => {
            let skip = if config.residual {
                "x′"
            } else {
                "0 (no residual connection)"
            };
            format!("Block {layer}: the stream after adding the MLP, x″ = {skip} + mlp_out")
        }
        Stage::LnFinal => "Final LayerNorm: the input of the unembedding".into(),
        Stage::Logits => format!(
            "Logits: one score per vocabulary token ({} numbers, not d_model)",
            config.d_vocab
        ),
    }
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
