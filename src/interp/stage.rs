//! Stages: the notches of the stage slider, one per step of the forward pass.
//!
//! Pre-LN (GPT-2): `embed → L0 ln1 → L0 attn → L0 +attn → L0 ln2 → L0 mlp → L0 +mlp → … →
//! ln_final → logits`. Post-LN (the textbook): `embed → L0 attn → L0 +attn → L0 ln1 → L0 mlp
//! → L0 +mlp → L0 ln2 → …`. Parallel (GPT-NeoX): `L0 ln1 → L0 attn → L0 ln2 → L0 mlp →
//! L0 +mlp`, where `+mlp` is `x + attn + mlp` (no stream exists between the sublayers). Sandwich
//! (Gemma) is ordered as pre-LN; its `attn`/`mlp` stages are the post-normed outputs that are
//! added. Attention-only blocks have no ln2/mlp/+mlp; a model without a final norm has no
//! ln_final stage.

use ndarray::{Array2, ArrayView1};

use crate::model::{ModelConfig, NormPlacement, Scalar, Trace};

/// One step of the forward pass, as the stage slider shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Token plus position embedding: the stream entering block 0.
    Embed,
    /// The output of ln1.
    Ln1 {
        /// Block index.
        layer: usize,
    },
    /// The attention sublayer's output (what is about to be added).
    Attn {
        /// Block index.
        layer: usize,
    },
    /// The stream after adding attention (`x + attn`; before ln1 in post-LN).
    AttnAdded {
        /// Block index.
        layer: usize,
    },
    /// The output of ln2.
    Ln2 {
        /// Block index.
        layer: usize,
    },
    /// The MLP's output (what is about to be added).
    Mlp {
        /// Block index.
        layer: usize,
    },
    /// The stream after adding the MLP (`x' + mlp`; before ln2 in post-LN).
    MlpAdded {
        /// Block index.
        layer: usize,
    },
    /// The final LayerNorm's output, the input of the unembedding.
    LnFinal,
    /// The logits (a vector of d_vocab, not d_model).
    Logits,
}

/// Every stage of a model, in forward order.
pub fn stages(config: &ModelConfig) -> Vec<Stage> {
    let mut list = vec![Stage::Embed];
    for layer in 0..config.n_layers {
        let attn = [Stage::Attn { layer }, Stage::AttnAdded { layer }];
        let mlp = [Stage::Mlp { layer }, Stage::MlpAdded { layer }];
        match config.norm {
            NormPlacement::Pre | NormPlacement::Sandwich => {
                list.push(Stage::Ln1 { layer });
                list.extend(attn);
                if !config.attn_only {
                    list.push(Stage::Ln2 { layer });
                    list.extend(mlp);
                }
            }
            NormPlacement::Parallel => {
                list.extend([Stage::Ln1 { layer }, Stage::Attn { layer }]);
                if config.attn_only {
                    list.push(Stage::AttnAdded { layer });
                } else {
                    list.extend([Stage::Ln2 { layer }, Stage::Mlp { layer }]);
                    list.push(Stage::MlpAdded { layer });
                }
            }
            NormPlacement::Post => {
                list.extend(attn);
                list.push(Stage::Ln1 { layer });
                if !config.attn_only {
                    list.extend(mlp);
                    list.push(Stage::Ln2 { layer });
                }
            }
        }
    }
    if config.final_norm {
        list.push(Stage::LnFinal);
    }
    list.push(Stage::Logits);
    list
}

impl Stage {
    /// The block the stage belongs to, if any.
    pub fn layer(self) -> Option<usize> {
        match self {
            Stage::Ln1 { layer }
            | Stage::Attn { layer }
            | Stage::AttnAdded { layer }
            | Stage::Ln2 { layer }
            | Stage::Mlp { layer }
            | Stage::MlpAdded { layer } => Some(layer),
            Stage::Embed | Stage::LnFinal | Stage::Logits => None,
        }
    }

    /// Short label for the slider: `L0 +attn`.
    pub fn short_label(self) -> String {
        match self {
            Stage::Embed => "embed".into(),
            Stage::Ln1 { layer } => format!("L{layer} ln1"),
            Stage::Attn { layer } => format!("L{layer} attn"),
            Stage::AttnAdded { layer } => format!("L{layer} +attn"),
            Stage::Ln2 { layer } => format!("L{layer} ln2"),
            Stage::Mlp { layer } => format!("L{layer} mlp"),
            Stage::MlpAdded { layer } => format!("L{layer} +mlp"),
            Stage::LnFinal => "ln_final".into(),
            Stage::Logits => "logits".into(),
        }
    }

    /// The TransformerLens-style hook name of the vector shown at this stage.
    pub fn hook_name(self, norm: NormPlacement) -> String {
        let post = norm == NormPlacement::Post;
        match self {
            Stage::Embed => "blocks.0.hook_resid_pre".into(),
            Stage::Ln1 { layer } if post => format!("blocks.{layer}.hook_resid_mid"),
            Stage::Ln1 { layer } => format!("blocks.{layer}.ln1.hook_normalized"),
            Stage::Attn { layer } => format!("blocks.{layer}.hook_attn_out"),
            Stage::AttnAdded { layer } if post => format!("blocks.{layer}.hook_resid_mid_pre_norm"),
            Stage::AttnAdded { layer } => format!("blocks.{layer}.hook_resid_mid"),
            Stage::Ln2 { layer } if post => format!("blocks.{layer}.hook_resid_post"),
            Stage::Ln2 { layer } => format!("blocks.{layer}.ln2.hook_normalized"),
            Stage::Mlp { layer } => format!("blocks.{layer}.hook_mlp_out"),
            Stage::MlpAdded { layer } if post => format!("blocks.{layer}.hook_resid_post_pre_norm"),
            Stage::MlpAdded { layer } => format!("blocks.{layer}.hook_resid_post"),
            Stage::LnFinal => "ln_final.hook_normalized".into(),
            Stage::Logits => "logits".into(),
        }
    }

    /// The vector of token `row` at this stage: [d_model], or [d_vocab] for the logits.
    /// `None` when the trace has no such stage (a layer it lacks, an attention-only block).
    pub fn vector<F: Scalar>(self, trace: &Trace<F>, row: usize) -> Option<ArrayView1<'_, F>> {
        let array = self.array(trace)?;
        (row < array.nrows()).then(|| array.row(row))
    }

    /// Every token's vector at this stage: [rows, d_model], or [rows, d_vocab] for the
    /// logits. `None` when the trace has no such stage.
    pub fn array<F: Scalar>(self, trace: &Trace<F>) -> Option<&Array2<F>> {
        let layer = |l: usize| trace.layers.get(l);
        let array = match self {
            Stage::Embed => match trace.layers.first() {
                Some(first) => &first.resid_pre,
                None => return None,
            },
            Stage::Ln1 { layer: l } => &layer(l)?.ln1.out,
            Stage::Attn { layer: l } => &layer(l)?.attn_out,
            Stage::AttnAdded { layer: l } => {
                let lt = layer(l)?;
                lt.resid_mid_pre_norm.as_ref().unwrap_or(&lt.resid_mid)
            }
            Stage::Ln2 { layer: l } => &layer(l)?.mlp.as_ref()?.ln2.out,
            Stage::Mlp { layer: l } => &layer(l)?.mlp.as_ref()?.out,
            Stage::MlpAdded { layer: l } => {
                let lt = layer(l)?;
                lt.mlp.as_ref()?;
                lt.resid_post_pre_norm.as_ref().unwrap_or(&lt.resid_post)
            }
            Stage::LnFinal => &trace.ln_final.as_ref()?.out,
            // Empty when the pass left the logits to its caller.
            Stage::Logits if trace.logits.ncols() == 0 => return None,
            Stage::Logits => &trace.logits,
        };
        Some(array)
    }

    /// Whether the vector at this stage is the residual stream itself (as opposed to a
    /// LayerNorm's output feeding a sublayer, a sublayer's output, or the logits). Pre-LN:
    /// embed, `+attn`, `+mlp`. Post-LN adds `ln1`/`ln2`, whose outputs are the stream.
    pub fn is_stream(self, norm: NormPlacement) -> bool {
        match self {
            Stage::Embed | Stage::AttnAdded { .. } | Stage::MlpAdded { .. } => true,
            Stage::Ln1 { .. } | Stage::Ln2 { .. } => norm == NormPlacement::Post,
            Stage::Attn { .. } | Stage::Mlp { .. } | Stage::LnFinal | Stage::Logits => false,
        }
    }
}

/// The stages at which the residual stream exists, in forward order (see
/// [`Stage::is_stream`]): the stages of the accumulated residual and of the logit lens.
/// Pre-LN: `1 + 2·n_layers` stages (`1 + n_layers` when attention-only).
pub fn stream_stages(config: &ModelConfig) -> Vec<Stage> {
    stages(config)
        .into_iter()
        .filter(|stage| stage.is_stream(config.norm))
        .collect()
}

/// The stream at the `n_layers + 1` layer boundaries: entering each block, and leaving the
/// last one (what TransformerLens's `accumulated_resid` and PyTorch's usual logit lens use).
pub fn boundary_stages(config: &ModelConfig) -> Vec<Stage> {
    let mut list = vec![Stage::Embed];
    list.extend((0..config.n_layers).map(|layer| block_output_stage(config, layer)));
    list
}

/// The stream stage at which block `layer` ends (`blocks.{layer}.hook_resid_post`).
pub fn block_output_stage(config: &ModelConfig, layer: usize) -> Stage {
    match (config.norm, config.attn_only) {
        (NormPlacement::Post, false) => Stage::Ln2 { layer },
        (NormPlacement::Post, true) => Stage::Ln1 { layer },
        (_, false) => Stage::MlpAdded { layer },
        (_, true) => Stage::AttnAdded { layer },
    }
}

/// Every TransformerLens residual hook of a model with the stream stage holding it, in
/// forward order: `blocks.{l}.hook_resid_pre`, `blocks.{l}.hook_resid_mid`,
/// `blocks.{l}.hook_resid_post`, and for post-LN also the sums before each LayerNorm,
/// `blocks.{l}.hook_resid_mid_pre_norm` and `blocks.{l}.hook_resid_post_pre_norm`.
/// Several names can share a stage (`resid_post` of a block is `resid_pre` of the next).
pub fn resid_hooks(config: &ModelConfig) -> Vec<(String, Stage)> {
    let post = config.norm == NormPlacement::Post;
    let mut list = Vec::new();
    for layer in 0..config.n_layers {
        let resid_pre = match layer {
            0 => Stage::Embed,
            _ => block_output_stage(config, layer - 1),
        };
        list.push((format!("blocks.{layer}.hook_resid_pre"), resid_pre));
        if post {
            let name = format!("blocks.{layer}.hook_resid_mid_pre_norm");
            list.push((name, Stage::AttnAdded { layer }));
        }
        let resid_mid = match post {
            true => Stage::Ln1 { layer },
            false => Stage::AttnAdded { layer },
        };
        // A parallel block has no stream between its sublayers.
        if config.norm != NormPlacement::Parallel || config.attn_only {
            list.push((format!("blocks.{layer}.hook_resid_mid"), resid_mid));
        }
        if post && !config.attn_only {
            let name = format!("blocks.{layer}.hook_resid_post_pre_norm");
            list.push((name, Stage::MlpAdded { layer }));
        }
        let resid_post = block_output_stage(config, layer);
        list.push((format!("blocks.{layer}.hook_resid_post"), resid_post));
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_ln_lesson_has_six_stages_per_layer() {
        let config = ModelConfig::lesson(65);
        let list = stages(&config);
        assert_eq!(list.len(), 1 + 6 * 4 + 2);
        assert_eq!(list[1].short_label(), "L0 ln1");
        assert_eq!(list[3].short_label(), "L0 +attn");
        assert_eq!(list.last(), Some(&Stage::Logits));
    }

    #[test]
    fn stream_and_boundary_stages() {
        let config = ModelConfig::lesson(65);
        assert_eq!(stream_stages(&config).len(), 1 + 2 * 4);
        assert_eq!(
            boundary_stages(&config),
            [
                Stage::Embed,
                Stage::MlpAdded { layer: 0 },
                Stage::MlpAdded { layer: 1 },
                Stage::MlpAdded { layer: 2 },
                Stage::MlpAdded { layer: 3 },
            ]
        );
        let hooks = resid_hooks(&config);
        assert_eq!(hooks.len(), 3 * 4);
        assert_eq!(
            hooks[3],
            (
                "blocks.1.hook_resid_pre".into(),
                Stage::MlpAdded { layer: 0 }
            )
        );
        let mut post = config.clone();
        post.norm = NormPlacement::Post;
        // embed, then +attn, ln1, +mlp, ln2 per layer.
        assert_eq!(stream_stages(&post).len(), 1 + 4 * 4);
        assert_eq!(boundary_stages(&post)[1], Stage::Ln2 { layer: 0 });
        assert_eq!(resid_hooks(&post).len(), 5 * 4);
    }

    #[test]
    fn post_ln_attn_only_order() {
        let mut config = ModelConfig::lesson(65);
        config.norm = NormPlacement::Post;
        config.attn_only = true;
        config.final_norm = false;
        let labels: Vec<String> = stages(&config).iter().map(|s| s.short_label()).collect();
        assert_eq!(&labels[..4], ["embed", "L0 attn", "L0 +attn", "L0 ln1"]);
        assert_eq!(labels.len(), 1 + 3 * 4 + 1);
    }
}
