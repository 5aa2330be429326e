//! The published shapes `bench trace --hf-config NAME` builds with random weights, as
//! Hugging Face config.json objects with the values `shared/bench/hf_trace.py` gives
//! transformers (so both sides time the same model), mapped through the loaders' own config
//! mapping. `--hf-config PATH` reads a config.json (or its folder) instead.

use std::path::Path;

use serde_json::{Value, json};

use crate::model::ModelConfig;
use crate::model::io::{hf, hf_arch, hf_families};

/// Names of the built-in shapes.
pub const SHAPE_NAMES: [&str; 6] = [
    "gpt2",
    "tinystories-33m",
    "pythia-160m",
    "smollm2-135m",
    "qwen2.5-0.5b",
    "gemma3-270m",
];

/// The config.json of a built-in shape.
fn shape_json(name: &str) -> Option<Value> {
    Some(match name {
        "gpt2" => json!({"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024,
            "n_embd": 768, "n_layer": 12, "n_head": 12}),
        "tinystories-33m" => json!({"model_type": "gpt_neo", "vocab_size": 50257,
            "max_position_embeddings": 2048, "hidden_size": 768, "num_layers": 4,
            "num_heads": 16, "attention_types": [[["global", "local"], 2]], "window_size": 256,
            "intermediate_size": null}),
        "pythia-160m" => json!({"model_type": "gpt_neox", "vocab_size": 50304,
            "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
            "intermediate_size": 3072, "rotary_pct": 0.25, "rotary_emb_base": 10000,
            "max_position_embeddings": 2048, "use_parallel_residual": true,
            "tie_word_embeddings": false}),
        "smollm2-135m" => json!({"model_type": "llama", "vocab_size": 49152,
            "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
            "num_attention_heads": 9, "num_key_value_heads": 3, "rope_theta": 100000.0,
            "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
            "tie_word_embeddings": true}),
        "qwen2.5-0.5b" => json!({"model_type": "qwen2", "vocab_size": 151936,
            "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
            "num_attention_heads": 14, "num_key_value_heads": 2, "rope_theta": 1000000.0,
            "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
            "tie_word_embeddings": true}),
        "gemma3-270m" => json!({"model_type": "gemma3_text", "vocab_size": 262144,
            "hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18,
            "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 256,
            "query_pre_attn_scalar": 256, "sliding_window": 512, "rope_theta": 1000000.0,
            "rope_local_base_freq": 10000.0, "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6, "tie_word_embeddings": true}),
        _ => return None,
    })
}

/// The model config of a built-in shape name, or of the config.json at `name_or_path`.
pub fn shape_config(name_or_path: &str) -> Result<ModelConfig, String> {
    let json = match shape_json(name_or_path) {
        Some(json) => json,
        None => {
            let path = Path::new(name_or_path);
            if !path.exists() {
                return Err(format!(
                    "--hf-config {name_or_path:?} is neither a shape ({}) nor a file",
                    SHAPE_NAMES.join(", ")
                ));
            }
            let file = if path.is_dir() {
                path.join("config.json")
            } else {
                path.to_path_buf()
            };
            hf_families::read_config_json(&file).map_err(|e| e.to_string())?
        }
    };
    match hf_arch::model_type(&json) {
        Some("gpt2") | None => {
            let bytes = serde_json::to_vec(&json).map_err(|e| e.to_string())?;
            hf::parse_config(&bytes, Path::new("config.json")).map_err(|e| e.to_string())
        }
        Some(_) => hf_arch::to_model_config(&json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_maps_to_its_published_size() {
        // Parameter counts of the published checkpoints (tied embeddings counted once).
        let expected = [
            ("gpt2", 124_439_808u64),
            ("tinystories-33m", 68_514_048),
            ("pythia-160m", 162_322_944),
            ("smollm2-135m", 134_515_008),
            ("qwen2.5-0.5b", 494_032_768),
            ("gemma3-270m", 268_098_176),
        ];
        for (name, count) in expected {
            let config = shape_config(name).unwrap();
            assert_eq!(config.parameter_count(), count, "{name}");
        }
    }
}
