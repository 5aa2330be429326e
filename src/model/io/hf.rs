//! Hugging Face GPT-2 checkpoints: `config.json` + `model.safetensors` (+ a tokenizer).
//!
//! GPT-2 stores `c_attn`, `c_proj` and `c_fc` as Conv1D weights laid out [in, out]
//! (`y = x·W + b`); `c_attn`'s output is `[q | k | v]`, head h using columns
//! `h·d_head..(h+1)·d_head` of each. Keys come as `transformer.h.0.…` or bare `h.0.…` (the
//! original OpenAI checkpoints, which also carry `h.N.attn.bias` causal-mask buffers that are
//! ignored). The unembedding is tied to `wte` unless `tie_word_embeddings` is false, in which
//! case `lm_head.weight` [d_vocab, d_model] (nn.Linear layout) is read and transposed.
//! Tensors may be F32, F16 or BF16. The config is validated and checked against the file
//! size and every tensor's shape before anything of that size is allocated.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array3};
use serde::Deserialize;

use super::tensors::{MAX_CONFIG_BYTES, TensorFile, check_fits, read_file, read_small_file};
use super::{LoadError, LoadedModel};
use crate::model::config::{Activation, ModelConfig, NormPlacement};
use crate::model::params::{AttentionParams, BlockParams, LayerNormParams, MlpParams, Params};

/// The fields of a GPT-2 `config.json` that shape the model.
#[derive(Debug, Deserialize)]
struct HfConfig {
    n_embd: usize,
    n_head: usize,
    n_layer: usize,
    /// Current name of the context length; old configs also carry `n_ctx`.
    n_positions: Option<usize>,
    n_ctx: Option<usize>,
    vocab_size: usize,
    n_inner: Option<usize>,
    #[serde(default = "default_eps")]
    layer_norm_epsilon: f64,
    #[serde(default = "default_activation")]
    activation_function: String,
    #[serde(default = "yes")]
    tie_word_embeddings: bool,
    #[serde(default = "yes")]
    scale_attn_weights: bool,
    #[serde(default)]
    scale_attn_by_inverse_layer_idx: bool,
    #[serde(default)]
    add_cross_attention: bool,
    model_type: Option<String>,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_activation() -> String {
    "gelu_new".into()
}
fn yes() -> bool {
    true
}

impl HfConfig {
    fn to_model_config(&self) -> Result<ModelConfig, String> {
        if let Some(kind) = &self.model_type
            && kind != "gpt2"
        {
            return Err(format!("model_type is {kind:?}; only \"gpt2\" is read"));
        }
        let activation = match self.activation_function.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluNew,
            "relu" => Activation::Relu,
            other => {
                return Err(format!(
                    "activation_function {other:?} is not supported (gelu_new or relu)"
                ));
            }
        };
        if !self.scale_attn_weights || self.scale_attn_by_inverse_layer_idx {
            return Err(
                "only the standard attention scaling 1/sqrt(d_head) is supported \
                 (scale_attn_weights true, scale_attn_by_inverse_layer_idx false)"
                    .into(),
            );
        }
        if self.add_cross_attention {
            return Err("cross-attention (add_cross_attention) is not supported".into());
        }
        if self.n_head == 0 {
            return Err("n_head = 0: the head count must be positive".into());
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(format!(
                "n_embd ({}) is not a multiple of n_head ({})",
                self.n_embd, self.n_head
            ));
        }
        let n_ctx = self
            .n_positions
            .or(self.n_ctx)
            .ok_or("neither n_positions nor n_ctx is given")?;
        let config = ModelConfig {
            d_model: self.n_embd,
            n_heads: self.n_head,
            d_head: self.n_embd / self.n_head,
            n_layers: self.n_layer,
            d_mlp: self.n_inner.unwrap_or(self.n_embd.saturating_mul(4)),
            d_vocab: self.vocab_size,
            n_ctx,
            layer_norm_eps: self.layer_norm_epsilon,
            norm: NormPlacement::Pre,
            activation,
            residual: true,
            tied_unembed: self.tie_word_embeddings,
            unembed_bias: false,
            attn_only: false,
            final_norm: true,
            family: "gpt2".into(),
            ..Default::default()
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// Parses and validates a GPT-2 `config.json`; `label` names it in errors.
pub fn parse_config(json: &[u8], label: &Path) -> Result<ModelConfig, LoadError> {
    let hf: HfConfig = serde_json::from_slice(json)
        .map_err(|e| LoadError::new(label, format!("not a GPT-2 config: {e}")))?;
    hf.to_model_config().map_err(|e| LoadError::new(label, e))
}

/// Where the config and the weights of a checkpoint are.
fn locate(path: &Path) -> Result<(PathBuf, PathBuf), LoadError> {
    if path.is_dir() {
        let weights = path.join("model.safetensors");
        let config = path.join("config.json");
        if !weights.is_file() {
            let message = if path.join("model.safetensors.index.json").is_file() {
                "sharded checkpoints (model.safetensors.index.json) are not supported"
            } else if path.join("pytorch_model.bin").is_file() {
                "only model.safetensors is read, not pytorch_model.bin"
            } else {
                "the folder has no model.safetensors"
            };
            return Err(LoadError::new(path, message));
        }
        if !config.is_file() {
            return Err(LoadError::new(path, "the folder has no config.json"));
        }
        Ok((config, weights))
    } else {
        let config = path.with_file_name("config.json");
        if !config.is_file() {
            return Err(LoadError::new(
                path,
                "no config.json beside this file (needed for a Hugging Face checkpoint)",
            ));
        }
        Ok((config, path.to_path_buf()))
    }
}

/// Loads a Hugging Face GPT-2 folder, or its `.safetensors` file with `config.json` beside it.
pub fn load_gpt2(path: &Path) -> Result<LoadedModel, LoadError> {
    let (_, weights_path) = locate(path)?;
    let bytes = read_file(&weights_path)?;
    load_gpt2_with_weights(path, &bytes)
}

/// Like [`load_gpt2`], with the weights file already read (`path` is the folder or the
/// weights file; `config.json` and the tokenizer are read from beside it).
pub fn load_gpt2_with_weights(path: &Path, weights: &[u8]) -> Result<LoadedModel, LoadError> {
    if !path.is_dir() {
        // A damaged file is reported as such before looking for its config.
        TensorFile::parse(path, weights)?;
    }
    let (config_path, weights_path) = locate(path)?;
    let config_json = read_small_file(&config_path, MAX_CONFIG_BYTES)?;
    let config = parse_config(&config_json, &config_path)?;
    let params = gpt2_params_from_bytes(&config, weights, &weights_path)?;
    let folder = match weights_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tokenizer = super::hf_tokenizer::load_from_folder(&folder, config.d_vocab)?;
    let folder_name = std::fs::canonicalize(&folder)
        .ok()
        .and_then(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()));
    Ok(LoadedModel {
        params,
        tokenizer,
        name: folder_name.unwrap_or_else(|| "GPT-2".into()),
        source: Some(path.to_path_buf()),
    })
}

/// Reads GPT-2 weights from the bytes of a `.safetensors` file for a validated config;
/// `label` names the file in errors.
pub fn gpt2_params_from_bytes(
    config: &ModelConfig,
    weights: &[u8],
    label: &Path,
) -> Result<Params<f32>, LoadError> {
    // The smallest dtype read (F16/BF16) takes 2 bytes per parameter.
    check_fits(
        label,
        config.parameter_count(),
        2,
        weights.len(),
        "config.json",
    )?;
    let file = TensorFile::parse(label, weights)?;
    let prefix = key_prefix(&file);
    check_names(&file, config, prefix).map_err(|e| LoadError::new(label, e))?;
    gpt2_params(config, &file, prefix, label)
}

/// The prefix in front of `h.0…`: `transformer.` or nothing.
fn key_prefix(file: &TensorFile<'_>) -> &'static str {
    if file.names().iter().any(|n| n.starts_with("transformer.")) {
        "transformer."
    } else {
        ""
    }
}

/// Refuses tensors that a GPT-2 of this config does not have (the causal-mask buffers
/// `h.N.attn.bias` / `h.N.attn.masked_bias` are skipped), with a specific message when the
/// file has more layers than the config.
fn check_names(file: &TensorFile<'_>, config: &ModelConfig, prefix: &str) -> Result<(), String> {
    const BLOCK_TENSORS: [&str; 12] = [
        "ln_1.weight",
        "ln_1.bias",
        "attn.c_attn.weight",
        "attn.c_attn.bias",
        "attn.c_proj.weight",
        "attn.c_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
    ];
    let mut names = file.names();
    names.sort();
    for name in names {
        if name == "lm_head.weight" {
            continue; // read when untied; a tied copy is ignored, as transformers does
        }
        let Some(local) = name.strip_prefix(prefix) else {
            return Err(format!(
                "unexpected tensor {name} (other keys use {prefix:?})"
            ));
        };
        if matches!(
            local,
            "wte.weight" | "wpe.weight" | "ln_f.weight" | "ln_f.bias"
        ) {
            continue;
        }
        let block = local
            .strip_prefix("h.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(layer, suffix)| Some((layer.parse::<usize>().ok()?, suffix)));
        match block {
            Some((_, "attn.bias" | "attn.masked_bias")) => {}
            Some((layer, _)) if layer >= config.n_layers => {
                return Err(format!(
                    "tensor {name} is for layer {layer}, but config.json says n_layer = {}",
                    config.n_layers
                ));
            }
            Some((_, suffix)) if BLOCK_TENSORS.contains(&suffix) => {}
            _ => return Err(format!("unexpected tensor {name} (not part of a GPT-2 LM)")),
        }
    }
    Ok(())
}

fn gpt2_params(
    config: &ModelConfig,
    file: &TensorFile<'_>,
    prefix: &str,
    path: &Path,
) -> Result<Params<f32>, LoadError> {
    let (d, h, dh, m, v) = (
        config.d_model,
        config.n_heads,
        config.d_head,
        config.d_mlp,
        config.d_vocab,
    );
    let read1 = |name: &str, n: usize| -> Result<Array1<f32>, LoadError> {
        Ok(Array1::from(file.read_f32(
            path,
            &format!("{prefix}{name}"),
            &[n],
        )?))
    };
    let read2 = |name: &str, rows: usize, cols: usize| -> Result<Array2<f32>, LoadError> {
        let values = file.read_f32(path, &format!("{prefix}{name}"), &[rows, cols])?;
        Ok(Array2::from_shape_vec((rows, cols), values).expect("shape checked"))
    };
    let ln = |name: &str| -> Result<LayerNormParams<f32>, LoadError> {
        Ok(LayerNormParams {
            w: read1(&format!("{name}.weight"), d)?,
            b: read1(&format!("{name}.bias"), d)?,
        })
    };
    let mut blocks = Vec::with_capacity(config.n_layers);
    for layer in 0..config.n_layers {
        let at = |suffix: &str| format!("h.{layer}.{suffix}");
        let c_attn_w = read2(&at("attn.c_attn.weight"), d, 3 * d)?; // [d, 3d] = [q | k | v]
        let c_attn_b = read1(&at("attn.c_attn.bias"), 3 * d)?; // [3d]
        let c_proj_w = read2(&at("attn.c_proj.weight"), d, d)?; // [h·dh, d]
        let split_w = |part: usize| {
            Array3::from_shape_fn((h, d, dh), |(head, i, j)| {
                c_attn_w[[i, part * d + head * dh + j]]
            })
        };
        let split_b = |part: usize| {
            Array2::from_shape_fn((h, dh), |(head, j)| c_attn_b[part * d + head * dh + j])
        };
        let w_o = c_proj_w
            .into_shape_with_order((h, dh, d))
            .expect("[h·dh, d] is [h, dh, d] row-major");
        blocks.push(BlockParams {
            ln1: ln(&at("ln_1"))?,
            attn: AttentionParams {
                w_q: split_w(0),
                w_k: split_w(1),
                w_v: split_w(2),
                b_q: split_b(0),
                b_k: split_b(1),
                b_v: split_b(2),
                w_o,
                b_o: read1(&at("attn.c_proj.bias"), d)?,
                q_norm: Array1::zeros(0),
                k_norm: Array1::zeros(0),
            },
            ln1_post: None,
            mlp: Some(MlpParams {
                ln2: ln(&at("ln_2"))?,
                w_gate: Array2::zeros((0, 0)),
                b_gate: Array1::zeros(0),
                w_in: read2(&at("mlp.c_fc.weight"), d, m)?,
                b_in: read1(&at("mlp.c_fc.bias"), m)?,
                w_out: read2(&at("mlp.c_proj.weight"), m, d)?,
                b_out: read1(&at("mlp.c_proj.bias"), d)?,
                ln2_post: None,
            }),
        });
    }
    let w_u = if config.tied_unembed {
        None
    } else {
        // nn.Linear layout [d_vocab, d_model]; W_U is [d_model, d_vocab].
        let values = file.read_f32(path, "lm_head.weight", &[v, d])?;
        let lm_head = Array2::from_shape_vec((v, d), values).expect("shape checked");
        Some(lm_head.reversed_axes().as_standard_layout().to_owned())
    };
    Ok(Params {
        config: config.clone(),
        w_e: read2("wte.weight", v, d)?,
        w_pos: read2("wpe.weight", config.n_ctx, d)?,
        blocks,
        ln_final: Some(ln("ln_f")?),
        w_u,
        b_u: None,
    })
}
