//! Named model shapes for training (`--preset NAME`): the lesson model, the induction model,
//! the textbook's block, the deep stack for the residual on/off experiment and the small
//! word-level model.

use crate::i18n::TrainText;
use crate::model::{Activation, ModelConfig, NormPlacement};

/// Every preset name (as typed on the command line and in lessons) with a one-line
/// description (in the string table, in both languages), in display order.
pub const PRESETS: &[(&str, TrainText)] = &[
    ("lesson", TrainText::PresetLesson),
    ("induction", TrainText::PresetInduction),
    ("seed-block", TrainText::PresetSeedBlock),
    ("deep", TrainText::PresetDeep),
    ("deep-no-residual", TrainText::PresetDeepNoResidual),
    ("word", TrainText::PresetWord),
];

/// The config of preset `name` for a vocabulary of `d_vocab` tokens, or an error listing the
/// presets.
pub fn preset_config(name: &str, d_vocab: usize) -> Result<ModelConfig, String> {
    let narrow = |n_layers: usize, n_ctx: usize| ModelConfig {
        d_model: 64,
        n_heads: 4,
        d_head: 16,
        n_layers,
        d_mlp: 256,
        n_ctx,
        ..ModelConfig::lesson(d_vocab)
    };
    let config = match name {
        "lesson" => ModelConfig::lesson(d_vocab),
        "induction" => ModelConfig {
            attn_only: true,
            tied_unembed: false,
            ..narrow(2, 64)
        },
        "seed-block" => ModelConfig {
            d_model: 512,
            n_heads: 8,
            d_head: 64,
            n_layers: 1,
            d_mlp: 2048,
            norm: NormPlacement::Post,
            activation: Activation::Relu,
            ..ModelConfig::lesson(d_vocab)
        },
        "deep" => narrow(12, 64),
        "deep-no-residual" => ModelConfig {
            residual: false,
            ..narrow(12, 64)
        },
        "word" => ModelConfig {
            tied_unembed: false,
            unembed_bias: true,
            ..narrow(2, 32)
        },
        other => {
            let names: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown preset '{other}': choose one of {}",
                names.join(", ")
            ));
        }
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_unknown_names_are_refused() {
        for (name, _) in PRESETS {
            preset_config(name, 65).unwrap();
        }
        let lesson = preset_config("lesson", 65).unwrap();
        assert_eq!(
            (lesson.n_layers, lesson.d_model, lesson.d_mlp),
            (4, 128, 512)
        );
        assert!(preset_config("induction", 10).unwrap().attn_only);
        assert!(!preset_config("deep-no-residual", 10).unwrap().residual);
        let error = preset_config("huge", 65).unwrap_err();
        assert!(error.contains("lesson"), "{error}");
    }
}
