//! What the user is looking at: the selected token, stage, layer and head, and the token
//! whose logit the attribution follows. Shared by every view (linked selection).

use serde::{Deserialize, Serialize};

use crate::interp::{Stage, Term};
use crate::model::TokenId;

/// The linked selection that every view follows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Position of the selected token in the prompt (the query token in attention).
    pub token: usize,
    /// Index of the stage in the model's stage list (the stage slider's notch).
    pub stage: usize,
    /// Selected block (follows the stage when the stage belongs to a block).
    pub layer: usize,
    /// Selected attention head within `layer`.
    pub head: usize,
    /// A term written into the stream, picked in the contributions view.
    pub component: Option<Term>,
    /// Token whose logit direct attribution is measured against; `None` follows the top
    /// prediction.
    pub target_token: Option<TokenId>,
}

impl Selection {
    /// This selection kept inside `analysis` (what a view reads: the analysis on screen may
    /// be an older one, of a shorter prompt, while the selection already follows the newer).
    pub fn within(&self, analysis: &super::Analysis) -> Selection {
        let mut selection = self.clone();
        let config = &analysis.model.params.config;
        selection.clamp(
            analysis.n_pos(),
            analysis.stages.len(),
            config.n_layers,
            config.n_heads,
        );
        selection
    }

    /// Keeps every index inside the given sizes (after a new prompt or a new model).
    pub fn clamp(&mut self, n_tokens: usize, n_stages: usize, n_layers: usize, n_heads: usize) {
        self.token = self.token.min(n_tokens.saturating_sub(1));
        self.stage = self.stage.min(n_stages.saturating_sub(1));
        self.layer = self.layer.min(n_layers.saturating_sub(1));
        self.head = self.head.min(n_heads.saturating_sub(1));
    }

    /// Moves to stage `index` of `stages`; the selected layer follows a stage inside a block.
    pub fn set_stage(&mut self, index: usize, stages: &[Stage]) {
        self.stage = index.min(stages.len().saturating_sub(1));
        if let Some(layer) = stages.get(self.stage).and_then(|s| s.layer()) {
            self.layer = layer;
        }
    }

    /// Steps the stage by `delta` notches, stopping at either end.
    pub fn step_stage(&mut self, delta: isize, stages: &[Stage]) {
        let last = stages.len().saturating_sub(1) as isize;
        let index = (self.stage as isize + delta).clamp(0, last.max(0));
        self.set_stage(index as usize, stages);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::stages;
    use crate::model::ModelConfig;

    #[test]
    fn stepping_stops_at_the_ends_and_layer_follows() {
        let list = stages(&ModelConfig::lesson(10));
        let mut selection = Selection::default();
        selection.step_stage(-1, &list);
        assert_eq!(selection.stage, 0);
        selection.step_stage(8, &list); // embed + 6 for L0 → index 8 is L1 attn
        assert_eq!(list[8], Stage::Attn { layer: 1 });
        assert_eq!(selection.layer, 1);
        selection.step_stage(1000, &list);
        assert_eq!(selection.stage, list.len() - 1);
        assert_eq!(
            selection.layer, 1,
            "logits belong to no block: the layer stays"
        );
    }

    #[test]
    fn clamp_keeps_indices_in_range() {
        let mut selection = Selection {
            token: 40,
            stage: 99,
            layer: 7,
            head: 9,
            ..Default::default()
        };
        selection.clamp(5, 10, 2, 4);
        assert_eq!(
            (
                selection.token,
                selection.stage,
                selection.layer,
                selection.head
            ),
            (4, 9, 1, 3)
        );
    }
}
