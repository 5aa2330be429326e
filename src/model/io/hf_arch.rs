//! Hugging Face `config.json` of the modern families → [`ModelConfig`]: `llama` (SmolLM2),
//! `qwen2` (Qwen2.5), `qwen3`, `gemma3_text`, `gpt_neox` (Pythia) and `gpt_neo`
//! (TinyStories). GPT-2 keeps its own mapping in `hf.rs`.
//!
//! Both the transformers-5 keys (`rope_parameters`, `layer_types`) and the older ones
//! (`rope_theta`, `rope_scaling`, `rope_local_base_freq`, `sliding_window_pattern`,
//! `rotary_pct`, `rotary_emb_base`, `attention_types`) are read. A config the engine cannot
//! run exactly (a rope scaling it does not implement, an unknown activation, experts, a
//! sliding window where the family has none) is refused with the key and its value: the
//! engine never runs a model approximately.

use serde_json::{Map, Value};

use crate::model::config::{
    Activation, Biases, ModelConfig, NormKind, NormPlacement, Positions, Rotary, RotaryStyle,
};

/// The families this module maps (`model_type` values).
pub const FAMILIES: [&str; 6] = [
    "llama",
    "qwen2",
    "qwen3",
    "gemma3_text",
    "gpt_neox",
    "gpt_neo",
];

/// Reads typed keys out of a config object, with errors that name the key.
struct Keys<'a>(&'a Map<String, Value>);

impl Keys<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn usize(&self, key: &str) -> Result<usize, String> {
        self.opt_usize(key)?
            .ok_or_else(|| format!("config.json has no {key:?}"))
    }

    fn opt_usize(&self, key: &str) -> Result<Option<usize>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| format!("{key} = {value} is not a non-negative integer")),
        }
    }

    fn f64_or(&self, key: &str, default: f64) -> Result<f64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .as_f64()
                .ok_or_else(|| format!("{key} = {value} is not a number")),
        }
    }

    fn opt_f64(&self, key: &str) -> Result<Option<f64>, String> {
        self.get(key)
            .map(|value| {
                value
                    .as_f64()
                    .ok_or_else(|| format!("{key} = {value} is not a number"))
            })
            .transpose()
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => value
                .as_bool()
                .ok_or_else(|| format!("{key} = {value} is not true or false")),
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

/// The `model_type` of a config.json.
pub fn model_type(json: &Value) -> Option<&str> {
    json.get("model_type").and_then(Value::as_str)
}

/// Maps a parsed config.json of one of [`FAMILIES`] to a validated [`ModelConfig`].
pub fn to_model_config(json: &Value) -> Result<ModelConfig, String> {
    let object = json.as_object().ok_or("config.json is not a JSON object")?;
    let keys = Keys(object);
    let family = model_type(json).ok_or("config.json has no \"model_type\"")?;
    if !FAMILIES.contains(&family) {
        return Err(format!(
            "model_type {family:?} is not supported (gpt2, {})",
            FAMILIES.join(", ")
        ));
    }
    refuse_unsupported(&keys)?;
    let config = match family {
        "gpt_neo" => gpt_neo(&keys)?,
        "gpt_neox" => gpt_neox(&keys)?,
        _ => llama_like(&keys, family)?,
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Keys that change the computation in ways the engine does not implement.
fn refuse_unsupported(keys: &Keys<'_>) -> Result<(), String> {
    for key in ["num_local_experts", "num_experts", "n_routed_experts"] {
        if let Some(n) = keys.opt_usize(key)?
            && n > 0
        {
            return Err(format!(
                "{key} = {n}: mixture-of-experts models are not supported"
            ));
        }
    }
    if keys.bool_or("use_bidirectional_attention", false)? {
        return Err("use_bidirectional_attention = true is not supported (causal only)".into());
    }
    Ok(())
}

/// The activation named by `key`, exactly as transformers' ACT2FN defines it.
fn activation(keys: &Keys<'_>, key: &str, default: &str) -> Result<Activation, String> {
    let name = keys.str(key).unwrap_or(default);
    match name {
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluNew),
        "gelu" => Ok(Activation::GeluExact),
        "silu" | "swish" => Ok(Activation::Silu),
        "relu" => Ok(Activation::Relu),
        other => Err(format!("{key} = {other:?} is not a supported activation")),
    }
}

/// One rope setting: θ and the linear position scaling factor (1 without scaling).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rope {
    theta: f64,
    linear_factor: f64,
}

/// Reads a `rope_scaling` or `rope_parameters` object's type; only none/default and
/// linear are exact here (others change the frequencies in ways not implemented).
fn rope_from_object(
    object: &Map<String, Value>,
    where_: &str,
    theta_default: f64,
) -> Result<Rope, String> {
    let keys = Keys(object);
    let kind = keys
        .str("rope_type")
        .or_else(|| keys.str("type"))
        .unwrap_or("default");
    let theta = keys.f64_or("rope_theta", theta_default)?;
    let linear_factor = match kind {
        "default" => 1.0,
        "linear" => keys.f64_or("factor", 1.0)?,
        other => {
            return Err(format!(
                "{where_}.rope_type = {other:?} is not supported (default or linear)"
            ));
        }
    };
    Ok(Rope {
        theta,
        linear_factor,
    })
}

/// The rope of a family with one θ: `rope_parameters` (transformers 5) or `rope_theta` +
/// `rope_scaling` (older).
fn single_rope(keys: &Keys<'_>, theta_key: &str, theta_default: f64) -> Result<Rope, String> {
    let theta = keys.f64_or(theta_key, theta_default)?;
    if let Some(Value::Object(params)) = keys.get("rope_parameters") {
        return rope_from_object(params, "rope_parameters", theta);
    }
    match keys.get("rope_scaling") {
        Some(Value::Object(scaling)) => {
            let rope = rope_from_object(scaling, "rope_scaling", theta)?;
            Ok(Rope { theta, ..rope })
        }
        Some(other) => Err(format!("rope_scaling = {other} is not an object")),
        None => Ok(Rope {
            theta,
            linear_factor: 1.0,
        }),
    }
}

/// θ of a rope setting. Linear position scaling (Gemma-3 1B and larger, on global layers)
/// is refused until the rotary table implements it.
fn theta_of(rope: Rope, key: &str) -> Result<f64, String> {
    if rope.linear_factor != 1.0 {
        return Err(format!(
            "{key}: linear rope scaling (factor {}) is not supported yet",
            rope.linear_factor
        ));
    }
    Ok(rope.theta)
}

/// Per layer, whether it is a sliding (local) layer, from `layer_types` (transformers 5) or
/// `sliding_window_pattern` (older Gemma-3: layer i is full iff (i + 1) % pattern == 0),
/// with `default_pattern` when neither is given (Gemma-3's config class uses 6).
fn layer_windows(
    keys: &Keys<'_>,
    n_layers: usize,
    default_pattern: Option<usize>,
) -> Result<Vec<bool>, String> {
    if let Some(types) = keys.get("layer_types") {
        let types = types
            .as_array()
            .ok_or_else(|| format!("layer_types = {types} is not a list"))?;
        if types.len() != n_layers {
            return Err(format!(
                "layer_types lists {} layers but num_hidden_layers is {n_layers}",
                types.len()
            ));
        }
        return types
            .iter()
            .map(|t| match t.as_str() {
                Some("full_attention") => Ok(false),
                Some("sliding_attention") => Ok(true),
                _ => Err(format!("layer_types entry {t} is not supported")),
            })
            .collect();
    }
    let pattern = match keys.opt_usize("sliding_window_pattern")? {
        Some(p) => Some(p),
        None => keys
            .opt_usize("_sliding_window_pattern")?
            .or(default_pattern),
    };
    Ok(match pattern {
        Some(0) => return Err("sliding_window_pattern = 0".into()),
        Some(p) => (0..n_layers).map(|i| (i + 1) % p != 0).collect(),
        None => vec![false; n_layers],
    })
}

/// The fields every imported family shares (residual connections, a final norm, no
/// unembedding bias, MLPs) and the app's defaults for the rest, with the family recorded;
/// each family's mapping states what differs.
fn imported(family: &str) -> ModelConfig {
    ModelConfig {
        family: family.to_string(),
        ..ModelConfig::default()
    }
}

/// Llama, Qwen2, Qwen3 and Gemma-3: RMSNorm, rotary (half), gated MLP, grouped-query heads.
fn llama_like(keys: &Keys<'_>, family: &str) -> Result<ModelConfig, String> {
    let gemma = family == "gemma3_text";
    let d_model = keys.usize("hidden_size")?;
    let n_heads = keys.usize("num_attention_heads")?;
    let n_layers = keys.usize("num_hidden_layers")?;
    if n_heads == 0 {
        return Err("num_attention_heads = 0: the head count must be positive".into());
    }
    let kv = keys.opt_usize("num_key_value_heads")?.unwrap_or(n_heads);
    // The config classes' defaults when head_dim is absent: Qwen3 128, Gemma-3 256, else
    // hidden_size / num_attention_heads.
    let d_head = match keys.opt_usize("head_dim")? {
        Some(d) => d,
        None if family == "qwen3" => 128,
        None if gemma => 256,
        None if d_model % n_heads == 0 => d_model / n_heads,
        None => {
            return Err(format!(
                "hidden_size ({d_model}) is not a multiple of num_attention_heads ({n_heads}) \
                 and no head_dim is given"
            ));
        }
    };
    let act_key = if gemma {
        "hidden_activation"
    } else {
        "hidden_act"
    };
    let act_default = if gemma { "gelu_pytorch_tanh" } else { "silu" };
    let activation = activation(keys, act_key, act_default)?;
    let attention_bias = keys.bool_or("attention_bias", false)?;
    let biases = Biases {
        q: attention_bias || family == "qwen2",
        k: attention_bias || family == "qwen2",
        v: attention_bias || family == "qwen2",
        o: attention_bias,
        mlp: keys.bool_or("mlp_bias", false)?,
        norm: false,
    };
    // Local layers.
    let sliding = match family {
        "gemma3_text" => layer_windows(keys, n_layers, Some(6))?,
        "qwen2" | "qwen3" if keys.bool_or("use_sliding_window", false)? => {
            layer_windows(keys, n_layers, None)?
        }
        _ => vec![false; n_layers],
    };
    let window = keys.opt_usize("sliding_window")?;
    let attn_windows: Vec<Option<usize>> = if sliding.iter().any(|&s| s) {
        let window = window.ok_or("sliding layers are listed but sliding_window is not set")?;
        sliding.iter().map(|&s| s.then_some(window)).collect()
    } else {
        Vec::new()
    };
    // Rotary θ per layer.
    let thetas: Vec<f64> = if gemma {
        let (global, local) = gemma_ropes(keys)?;
        sliding
            .iter()
            .map(|&s| if s { local } else { global })
            .collect()
    } else {
        let rope = single_rope(keys, "rope_theta", 10_000.0)?;
        vec![theta_of(rope, "rope")?; n_layers]
    };
    let tie_default = gemma;
    let attn_scale = if gemma {
        let scalar = keys.f64_or("query_pre_attn_scalar", 256.0)?;
        if !(scalar.is_finite() && scalar > 0.0) {
            return Err(format!("query_pre_attn_scalar = {scalar} must be positive"));
        }
        Some(1.0 / scalar.sqrt())
    } else {
        None
    };
    let n_ctx = keys.usize("max_position_embeddings")?;
    Ok(ModelConfig {
        d_model,
        n_heads,
        d_head,
        n_layers,
        d_mlp: keys.usize("intermediate_size")?,
        d_vocab: keys.usize("vocab_size")?,
        n_ctx,
        layer_norm_eps: keys.f64_or("rms_norm_eps", 1e-6)?,
        norm: if gemma {
            NormPlacement::Sandwich
        } else {
            NormPlacement::Pre
        },
        activation,
        tied_unembed: keys.bool_or("tie_word_embeddings", tie_default)?,
        norm_kind: NormKind::RmsNorm,
        norm_weight_offset: if gemma { 1.0 } else { 0.0 },
        n_key_value_heads: Some(kv),
        positions: Positions::Rotary(Rotary {
            style: RotaryStyle::Half,
            dim: d_head,
            thetas,
        }),
        biases,
        qk_norm: gemma || family == "qwen3",
        attn_scale,
        attn_windows,
        attn_softcap: if gemma {
            keys.opt_f64("attn_logit_softcapping")?
        } else {
            None
        },
        final_softcap: if gemma {
            keys.opt_f64("final_logit_softcapping")?
        } else {
            None
        },
        gated_mlp: true,
        embed_scale: if gemma { (d_model as f64).sqrt() } else { 1.0 },
        ..imported(family)
    })
}

/// Gemma-3's (global, local) θ: `rope_parameters.{full,sliding}_attention` (transformers 5)
/// or `rope_theta` + `rope_local_base_freq` (older, with `rope_scaling` on global layers).
fn gemma_ropes(keys: &Keys<'_>) -> Result<(f64, f64), String> {
    if let Some(Value::Object(params)) = keys.get("rope_parameters") {
        let part = |name: &str, default: f64| -> Result<f64, String> {
            match params.get(name) {
                Some(Value::Object(object)) => {
                    let key = format!("rope_parameters.{name}");
                    theta_of(rope_from_object(object, &key, default)?, &key)
                }
                Some(other) => Err(format!("rope_parameters.{name} = {other} is not an object")),
                None => Ok(default),
            }
        };
        if params.contains_key("rope_theta") {
            // One setting for every layer.
            let rope = rope_from_object(params, "rope_parameters", 10_000.0)?;
            let theta = theta_of(rope, "rope_parameters")?;
            return Ok((theta, theta));
        }
        return Ok((
            part("full_attention", 1_000_000.0)?,
            part("sliding_attention", 10_000.0)?,
        ));
    }
    let global = theta_of(
        single_rope(keys, "rope_theta", 1_000_000.0)?,
        "rope_scaling",
    )?;
    let local = keys.f64_or("rope_local_base_freq", 10_000.0)?;
    Ok((global, local))
}

/// GPT-NeoX (Pythia): LayerNorm with bias, parallel residual, partial rotary, exact GELU.
fn gpt_neox(keys: &Keys<'_>) -> Result<ModelConfig, String> {
    let d_model = keys.usize("hidden_size")?;
    let n_heads = keys.usize("num_attention_heads")?;
    let n_layers = keys.usize("num_hidden_layers")?;
    if n_heads == 0 || d_model % n_heads != 0 {
        return Err(format!(
            "hidden_size ({d_model}) must be a positive multiple of num_attention_heads \
             ({n_heads}); the head count must be positive"
        ));
    }
    let d_head = d_model / n_heads;
    let rope_params = match keys.get("rope_parameters") {
        Some(Value::Object(object)) => Some(object),
        _ => None,
    };
    let fraction = match rope_params.and_then(|p| p.get("partial_rotary_factor")) {
        Some(v) => v
            .as_f64()
            .ok_or_else(|| format!("partial_rotary_factor = {v} is not a number"))?,
        None => keys.f64_or("rotary_pct", keys.f64_or("partial_rotary_factor", 0.25)?)?,
    };
    let rope = single_rope(
        keys,
        "rotary_emb_base",
        keys.f64_or("rope_theta", 10_000.0)?,
    )?;
    let theta = theta_of(rope, "rope")?;
    // transformers: rotary_ndims = int(head_size * rotary_pct).
    let rotary_dim = (d_head as f64 * fraction) as usize;
    let parallel = keys.bool_or("use_parallel_residual", true)?;
    let attention_bias = keys.bool_or("attention_bias", true)?;
    Ok(ModelConfig {
        d_model,
        n_heads,
        d_head,
        n_layers,
        d_mlp: keys.usize("intermediate_size")?,
        d_vocab: keys.usize("vocab_size")?,
        n_ctx: keys.usize("max_position_embeddings")?,
        layer_norm_eps: keys.f64_or("layer_norm_eps", 1e-5)?,
        norm: if parallel {
            NormPlacement::Parallel
        } else {
            NormPlacement::Pre
        },
        activation: activation(keys, "hidden_act", "gelu")?,
        tied_unembed: keys.bool_or("tie_word_embeddings", false)?,
        positions: Positions::Rotary(Rotary {
            style: RotaryStyle::Half,
            dim: rotary_dim,
            thetas: vec![theta; n_layers],
        }),
        biases: Biases {
            q: attention_bias,
            k: attention_bias,
            v: attention_bias,
            o: attention_bias,
            mlp: true,
            norm: true,
        },
        ..imported("gpt_neox")
    })
}

/// GPT-Neo (TinyStories): learned positions, global/local layers, no score scaling.
fn gpt_neo(keys: &Keys<'_>) -> Result<ModelConfig, String> {
    let d_model = keys.usize("hidden_size")?;
    let n_heads = keys.usize("num_heads")?;
    let n_layers = keys.usize("num_layers")?;
    if n_heads == 0 || d_model % n_heads != 0 {
        return Err(format!(
            "hidden_size ({d_model}) must be a positive multiple of num_heads ({n_heads}); \
             the head count must be positive"
        ));
    }
    let layers = neo_attention_layers(keys, n_layers)?;
    let window = keys.usize("window_size")?;
    let attn_windows = layers.iter().map(|local| local.then_some(window)).collect();
    Ok(ModelConfig {
        d_model,
        n_heads,
        d_head: d_model / n_heads,
        n_layers,
        d_mlp: keys.opt_usize("intermediate_size")?.unwrap_or(4 * d_model),
        d_vocab: keys.usize("vocab_size")?,
        n_ctx: keys.usize("max_position_embeddings")?,
        layer_norm_eps: keys.f64_or("layer_norm_epsilon", 1e-5)?,
        norm: NormPlacement::Pre,
        activation: activation(keys, "activation_function", "gelu_new")?,
        tied_unembed: keys.bool_or("tie_word_embeddings", true)?,
        positions: Positions::Learned,
        biases: Biases {
            q: false,
            k: false,
            v: false,
            ..Biases::all(true)
        },
        attn_scale: Some(1.0),
        attn_windows,
        ..imported("gpt_neo")
    })
}

/// GPT-Neo's layer kinds (true = local): `attention_layers`, or `attention_types` expanded
/// as transformers does (`[[["global", "local"], 2]]` → global, local, global, local).
fn neo_attention_layers(keys: &Keys<'_>, n_layers: usize) -> Result<Vec<bool>, String> {
    let names: Vec<String> = if let Some(Value::Array(list)) = keys.get("attention_layers") {
        list.iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or("attention_layers holds a non-string")?
    } else if let Some(Value::Array(types)) = keys.get("attention_types") {
        let mut names = Vec::new();
        for item in types {
            let pair = item.as_array().filter(|p| p.len() == 2);
            let (Some(kinds), Some(repeat)) = (
                pair.and_then(|p| p[0].as_array()),
                pair.and_then(|p| p[1].as_u64()),
            ) else {
                return Err(format!("attention_types entry {item} is not [[kinds], n]"));
            };
            for _ in 0..repeat.min(n_layers as u64 + 1) {
                for kind in kinds {
                    names.push(kind.as_str().unwrap_or("?").to_string());
                }
            }
        }
        names
    } else {
        return Err("config.json has neither attention_layers nor attention_types".into());
    };
    if names.len() != n_layers {
        return Err(format!(
            "the attention layer kinds list {} layers but num_layers is {n_layers}",
            names.len()
        ));
    }
    names
        .iter()
        .map(|name| match name.as_str() {
            "global" => Ok(false),
            "local" => Ok(true),
            other => Err(format!("attention layer kind {other:?} is not supported")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Result<ModelConfig, String> {
        to_model_config(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn refuses_what_it_cannot_run_exactly_and_names_the_key() {
        let base = r#""model_type": "llama", "hidden_size": 8, "num_attention_heads": 2,
            "num_hidden_layers": 1, "intermediate_size": 16, "vocab_size": 10,
            "max_position_embeddings": 32"#;
        assert!(config(&format!("{{{base}}}")).is_ok());
        let yarn = format!(r#"{{{base}, "rope_scaling": {{"rope_type": "yarn", "factor": 4}}}}"#);
        assert!(
            config(&yarn)
                .unwrap_err()
                .contains("rope_scaling.rope_type = \"yarn\"")
        );
        let act = format!(r#"{{{base}, "hidden_act": "quick_gelu"}}"#);
        assert!(
            config(&act)
                .unwrap_err()
                .contains("hidden_act = \"quick_gelu\"")
        );
        let moe = format!(r#"{{{base}, "num_local_experts": 8}}"#);
        assert!(config(&moe).unwrap_err().contains("num_local_experts = 8"));
        let gqa = format!(r#"{{{base}, "num_key_value_heads": 3}}"#);
        assert!(
            config(&gqa)
                .unwrap_err()
                .contains("multiple of n_key_value_heads")
        );
        let zero = r#"{"model_type": "llama", "hidden_size": 8, "num_attention_heads": 0,
            "num_hidden_layers": 1, "intermediate_size": 16, "vocab_size": 10,
            "max_position_embeddings": 32}"#;
        assert!(config(zero).unwrap_err().contains("must be positive"));
        let huge = format!(r#"{{{base}, "vocab_size": 100000000000}}"#);
        assert!(config(&huge).is_err());
        assert!(
            config(r#"{"model_type": "mamba"}"#)
                .unwrap_err()
                .contains("mamba")
        );
    }

    #[test]
    fn gemma_layers_from_the_old_pattern_key() {
        let json = r#"{"model_type": "gemma3_text", "hidden_size": 8, "num_attention_heads": 2,
            "num_key_value_heads": 1, "head_dim": 4, "num_hidden_layers": 6,
            "intermediate_size": 16, "vocab_size": 10, "max_position_embeddings": 32,
            "sliding_window": 3, "sliding_window_pattern": 3, "rope_theta": 1000000.0,
            "rope_local_base_freq": 10000.0, "query_pre_attn_scalar": 4}"#;
        let c = config(json).unwrap();
        assert_eq!(
            c.attn_windows,
            [Some(3), Some(3), None, Some(3), Some(3), None]
        );
        let Positions::Rotary(rotary) = &c.positions else {
            panic!("rotary")
        };
        assert_eq!(rotary.thetas[1..3], [10_000.0, 1_000_000.0]);
        assert_eq!(c.attn_scale, Some(0.5));
        assert!(c.tied_unembed);
    }

    #[test]
    fn neo_attention_types_expand_as_transformers_does() {
        let json = r#"{"model_type": "gpt_neo", "hidden_size": 8, "num_heads": 2, "num_layers": 4,
            "vocab_size": 10, "max_position_embeddings": 32, "window_size": 2,
            "attention_types": [[["global", "local"], 2]]}"#;
        let c = config(json).unwrap();
        assert_eq!(c.attn_windows, [None, Some(2), None, Some(2)]);
        assert_eq!(c.attn_scale, Some(1.0));
    }
}
