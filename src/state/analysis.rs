//! One forward pass and everything the views derive from it, computed together (on the
//! trace worker for big models) and then only read.

use std::sync::Arc;

use ndarray::Array2;

use crate::interp::interventions::{Interventions, forward_with};
use crate::interp::{AnalysisOptions, Stage, TraceAnalysis, stages};
use crate::model::io::LoadedModel;
use crate::model::{InputError, TokenId, Trace};

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
    /// The options the analysis was computed with (the lens' LayerNorm convention).
    pub options: AnalysisOptions,
    /// Decomposition into terms, logit lens, contributions and attribution.
    pub interp: TraceAnalysis,
    /// Rank (1 = most likely) of the token that actually comes next, under the lens at each
    /// lens stage; 0 for the last position, which has no next token. [lens stage, pos]
    pub next_token_ranks: Array2<u32>,
    /// The interventions the model ran with (empty: the plain forward).
    pub interventions: Interventions,
}

impl Analysis {
    /// Runs the model on `tokens` and derives the views' data.
    pub fn compute(
        model: Arc<LoadedModel>,
        tokens: &[TokenId],
        options: AnalysisOptions,
    ) -> Result<Self, InputError> {
        Self::compute_with(model, tokens, options, Interventions::new())
    }

    /// Runs the model on `tokens` with `interventions` applied at their hook sites and
    /// derives the views' data.
    pub fn compute_with(
        model: Arc<LoadedModel>,
        tokens: &[TokenId],
        options: AnalysisOptions,
        interventions: Interventions,
    ) -> Result<Self, InputError> {
        let trace = forward_with(&model.params, tokens, &interventions)?;
        let skips = interventions.skip_changes();
        let interp = TraceAnalysis::compute_with_skips(&model.params, &trace, options, &skips);
        let next_token_ranks = next_token_ranks(&interp, tokens);
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
            options,
            interp,
            next_token_ranks,
            interventions,
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

/// For every lens stage and position, the rank of the next token among the lens logits.
fn next_token_ranks(interp: &TraceAnalysis, tokens: &[TokenId]) -> Array2<u32> {
    let logits = &interp.lens.logits; // [lens stage, pos, d_vocab]
    let (n_stages, n_pos, _) = logits.dim();
    let mut ranks = Array2::zeros((n_stages, n_pos));
    for stage in 0..n_stages {
        for pos in 0..n_pos.saturating_sub(1) {
            let row = logits.slice(ndarray::s![stage, pos, ..]);
            let target = row[tokens[pos + 1] as usize];
            ranks[[stage, pos]] = 1 + row.iter().filter(|&&x| x > target).count() as u32;
        }
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::models::default_model;

    #[test]
    fn norms_match_the_stage_vectors() {
        let model = Arc::new(default_model());
        let ids = model.tokenizer.encode("To be").ids;
        let analysis = Analysis::compute(model, &ids, AnalysisOptions::default()).unwrap();
        assert_eq!(analysis.norms.dim(), (5, analysis.stages.len()));
        let embed = analysis.trace.layers[0].resid_pre.row(2);
        let norm = embed.dot(&embed).sqrt();
        assert!((analysis.norms[[2, 0]] - norm).abs() < 1e-5);
        assert_eq!(analysis.token_text(2), "␣");
        // The rank is where the next token's lens probability sorts among all tokens.
        let lens = &analysis.interp.lens;
        let (stage, pos) = (lens.stages.len() - 1, 1);
        let probs = lens.probs(stage, pos);
        let next = probs[ids[pos + 1] as usize];
        let better = probs.iter().filter(|&&p| p > next).count() as u32;
        assert_eq!(analysis.next_token_ranks[[stage, pos]], better + 1);
        assert_eq!(analysis.next_token_ranks[[stage, ids.len() - 1]], 0);
    }
}
