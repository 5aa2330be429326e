//! One forward pass and everything the views derive from it, computed together (on the
//! trace worker for big models) and then only read.

use std::sync::Arc;

use ndarray::Array2;

use crate::interp::{Stage, stages};
use crate::model::io::LoadedModel;
use crate::model::{InputError, TokenId, Trace, forward};

/// A trace of the prompt through one model, with what the views read from it.
#[derive(Debug)]
pub struct Analysis {
    /// The model that ran (the views label tokens with its tokenizer).
    pub model: Arc<LoadedModel>,
    /// The input ids. [pos]
    pub tokens: Vec<TokenId>,
    /// Every activation.
    pub trace: Trace<f32>,
    /// The stage slider's notches for this model.
    pub stages: Vec<Stage>,
    /// L2 norm of each token's vector at each stage. [pos, stage]
    pub norms: Array2<f32>,
}

impl Analysis {
    /// Runs the model on `tokens` and derives the views' data.
    pub fn compute(model: Arc<LoadedModel>, tokens: &[TokenId]) -> Result<Self, InputError> {
        let trace = forward(&model.params, tokens)?;
        let stages = stages(&model.params.config);
        let mut norms = Array2::zeros((trace.n_pos, stages.len()));
        for (stage_index, stage) in stages.iter().enumerate() {
            for pos in 0..trace.n_pos {
                if let Some(vector) = stage.vector(&trace, pos) {
                    norms[[pos, stage_index]] = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
                }
            }
        }
        Ok(Self {
            model,
            tokens: tokens.to_vec(),
            trace,
            stages,
            norms,
        })
    }

    /// Number of token positions.
    pub fn n_pos(&self) -> usize {
        self.trace.n_pos
    }

    /// The chip text of the token at `pos` (whitespace made visible).
    pub fn token_text(&self, pos: usize) -> String {
        self.tokens
            .get(pos)
            .map(|&id| self.model.tokenizer.display_token(id))
            .unwrap_or_default()
    }

    /// The display text of any vocabulary token.
    pub fn vocab_text(&self, id: TokenId) -> String {
        self.model.tokenizer.display_token(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::models::fallback_default_model;

    #[test]
    fn norms_match_the_stage_vectors() {
        let model = Arc::new(fallback_default_model());
        let ids = model.tokenizer.encode("To be").ids;
        let analysis = Analysis::compute(model, &ids).unwrap();
        assert_eq!(analysis.norms.dim(), (5, analysis.stages.len()));
        let embed = analysis.trace.layers[0].resid_pre.row(2);
        let norm = embed.dot(&embed).sqrt();
        assert!((analysis.norms[[2, 0]] - norm).abs() < 1e-5);
        assert_eq!(analysis.token_text(2), "␣");
    }
}
