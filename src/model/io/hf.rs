//! Hugging Face GPT-2 checkpoints: `config.json` + `model.safetensors` (+ a tokenizer).
//!
//! GPT-2 stores `c_attn`, `c_proj` and `c_fc` as Conv1D weights laid out [in, out]
//! (`y = x·W + b`); `c_attn`'s output is `[q | k | v]`, head h using columns
//! `h·d_head..(h+1)·d_head` of each. Keys come as `transformer.h.0.…` or bare `h.0.…`.
//! The unembedding is tied to `wte` unless `tie_word_embeddings` is false.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array3};
use serde::Deserialize;

use super::tensors::{TensorFile, read_file};
use super::{LoadError, LoadedModel};
use crate::model::config::{Activation, ModelConfig, NormPlacement};
use crate::model::params::{AttentionParams, BlockParams, LayerNormParams, MlpParams, Params};

/// The fields of a GPT-2 `config.json` that shape the model.
#[derive(Debug, Deserialize)]
struct HfConfig {
    n_embd: usize,
    n_head: usize,
    n_layer: usize,
    n_positions: usize,
    vocab_size: usize,
    n_inner: Option<usize>,
    #[serde(default = "default_eps")]
    layer_norm_epsilon: f64,
    #[serde(default = "default_activation")]
    activation_function: String,
    #[serde(default = "yes")]
    tie_word_embeddings: bool,
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
    fn to_model_config(&self, path: &Path) -> Result<ModelConfig, LoadError> {
        if let Some(kind) = &self.model_type
            && kind != "gpt2"
        {
            return Err(LoadError::new(
                path,
                format!("model_type is {kind:?}; only \"gpt2\" is read"),
            ));
        }
        let activation = match self.activation_function.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluNew,
            "relu" => Activation::Relu,
            other => {
                return Err(LoadError::new(
                    path,
                    format!("activation_function {other:?} is not supported (gelu_new or relu)"),
                ));
            }
        };
        if self.n_head == 0 || !self.n_embd.is_multiple_of(self.n_head) {
            return Err(LoadError::new(
                path,
                format!(
                    "n_embd ({}) is not a multiple of n_head ({})",
                    self.n_embd, self.n_head
                ),
            ));
        }
        let config = ModelConfig {
            d_model: self.n_embd,
            n_heads: self.n_head,
            d_head: self.n_embd / self.n_head,
            n_layers: self.n_layer,
            d_mlp: self.n_inner.unwrap_or(4 * self.n_embd),
            d_vocab: self.vocab_size,
            n_ctx: self.n_positions,
            layer_norm_eps: self.layer_norm_epsilon,
            norm: NormPlacement::Pre,
            activation,
            residual: true,
            tied_unembed: self.tie_word_embeddings,
            unembed_bias: false,
            attn_only: false,
            final_norm: true,
        };
        config
            .validate()
            .map_err(|e| LoadError::new(path, e.to_string()))?;
        Ok(config)
    }
}

/// Where the config and the weights of a checkpoint are.
fn locate(path: &Path) -> Result<(PathBuf, PathBuf), LoadError> {
    if path.is_dir() {
        let weights = path.join("model.safetensors");
        let config = path.join("config.json");
        if !weights.is_file() {
            return Err(LoadError::new(path, "the folder has no model.safetensors"));
        }
        if !config.is_file() {
            return Err(LoadError::new(path, "the folder has no config.json"));
        }
        Ok((config, weights))
    } else {
        let config = path.with_file_name("config.json");
        if !config.is_file() {
            return Err(LoadError::new(path, "no config.json beside this file"));
        }
        Ok((config, path.to_path_buf()))
    }
}

/// Loads a Hugging Face GPT-2 folder, or its `.safetensors` file with `config.json` beside it.
pub fn load_gpt2(path: &Path) -> Result<LoadedModel, LoadError> {
    let (config_path, weights_path) = locate(path)?;
    let config_text = std::fs::read_to_string(&config_path)
        .map_err(|e| LoadError::new(&config_path, e.to_string()))?;
    let hf: HfConfig = serde_json::from_str(&config_text)
        .map_err(|e| LoadError::new(&config_path, format!("not a GPT-2 config: {e}")))?;
    let config = hf.to_model_config(&config_path)?;
    let bytes = read_file(&weights_path)?;
    let file = TensorFile::parse(&weights_path, &bytes)?;
    let params = gpt2_params(&config, &file, &weights_path)?;
    let folder = if path.is_dir() {
        path
    } else {
        path.parent().unwrap_or(path)
    };
    let tokenizer = super::hf_tokenizer::load_from_folder(folder, config.d_vocab)?;
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "GPT-2".into());
    Ok(LoadedModel {
        params,
        tokenizer,
        name,
        source: Some(path.to_path_buf()),
    })
}

/// The prefix in front of `h.0…`: `transformer.` or nothing.
fn key_prefix(file: &TensorFile<'_>) -> &'static str {
    if file.contains("transformer.wte.weight") {
        "transformer."
    } else {
        ""
    }
}

fn gpt2_params(
    config: &ModelConfig,
    file: &TensorFile<'_>,
    path: &Path,
) -> Result<Params<f32>, LoadError> {
    let (d, h, dh, m, v) = (
        config.d_model,
        config.n_heads,
        config.d_head,
        config.d_mlp,
        config.d_vocab,
    );
    let prefix = key_prefix(file);
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
        let c_attn_b = read1(&at("attn.c_attn.bias"), 3 * d)?;
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
            },
            mlp: Some(MlpParams {
                ln2: ln(&at("ln_2"))?,
                w_in: read2(&at("mlp.c_fc.weight"), d, m)?,
                b_in: read1(&at("mlp.c_fc.bias"), m)?,
                w_out: read2(&at("mlp.c_proj.weight"), m, d)?,
                b_out: read1(&at("mlp.c_proj.bias"), d)?,
            }),
        });
    }
    let w_u = if config.tied_unembed {
        None
    } else {
        let name = "lm_head.weight";
        let values = file.read_f32(path, name, &[v, d])?;
        Some(
            Array2::from_shape_vec((v, d), values)
                .expect("shape checked")
                .reversed_axes()
                .as_standard_layout()
                .to_owned(),
        )
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
