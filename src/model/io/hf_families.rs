//! Hugging Face checkpoints of the modern families (`llama`, `qwen2`, `qwen3`,
//! `gemma3_text`, `gpt_neox`, `gpt_neo`): a folder with `config.json` and either
//! `model.safetensors` or the shards named by `model.safetensors.index.json`.
//!
//! Tensor names map to the engine's TransformerLens names as each family stores them:
//! nn.Linear weights are [out, in] and are transposed; q/k/v/o projections are split per
//! head; GPT-NeoX's fused `query_key_value` is laid out per head (`[q | k | v]` inside each
//! head's 3·d_head columns); Gemma's norms store `w` for a scale of `1 + w`, folded in here
//! (as TransformerLens does). F32, F16 and BF16 are converted to f32. Every tensor of the
//! file must be understood (buffers such as causal masks and `inv_freq` aside), every
//! expected tensor present with its shape, and every value finite; the config and the file
//! sizes are checked before anything of the config's size is allocated.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::hf_arch;
use super::tensors::{
    LoadProgress, MAX_CONFIG_BYTES, TensorFile, check_fits, checked_file_len, read_small_file,
};
use super::{LoadError, LoadedModel};
use crate::model::config::ModelConfig;
use crate::model::params::Params;

/// The files of a Hugging Face checkpoint folder.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointFiles {
    /// The folder.
    pub folder: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// The weight files: `model.safetensors`, or every shard the index names (in order).
    pub shards: Vec<PathBuf>,
}

/// The folder of a checkpoint from what the user chose: the folder, its `config.json`, its
/// `model.safetensors.index.json` or one of its `.safetensors` files.
pub fn checkpoint_folder(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds config.json and the weight files of the checkpoint in `folder`.
pub fn locate(folder: &Path) -> Result<CheckpointFiles, LoadError> {
    let config = folder.join("config.json");
    if !config.is_file() {
        return Err(LoadError::new(folder, "the folder has no config.json"));
    }
    let single = folder.join("model.safetensors");
    let index = folder.join("model.safetensors.index.json");
    let shards = if single.is_file() {
        vec![single]
    } else if index.is_file() {
        shards_of_index(&index, folder)?
    } else if folder.join("pytorch_model.bin").is_file() {
        return Err(LoadError::new(
            folder,
            "only safetensors weights are read, not pytorch_model.bin",
        ));
    } else {
        return Err(LoadError::new(
            folder,
            "the folder has no model.safetensors or model.safetensors.index.json",
        ));
    };
    Ok(CheckpointFiles {
        folder: folder.to_path_buf(),
        config,
        shards,
    })
}

/// The shard files an index names, each once, in the order first named; every one must
/// be a plain file name inside the folder and exist.
fn shards_of_index(index: &Path, folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let bytes = read_small_file(index, MAX_CONFIG_BYTES * 16)?;
    let mut shards = Vec::new();
    for name in parse_index(&bytes, index)? {
        let path = folder.join(&name);
        if !path.is_file() {
            return Err(LoadError::new(
                index,
                format!("the index names the shard {name}, which is missing"),
            ));
        }
        shards.push(path);
    }
    Ok(shards)
}

/// The distinct shard file names of a `model.safetensors.index.json`, in the order first
/// named; each must be a plain file name (no folder, no `..`). `label` names it in errors.
pub fn parse_index(bytes: &[u8], label: &Path) -> Result<Vec<String>, LoadError> {
    let json: Value = serde_json::from_slice(bytes)
        .map_err(|e| LoadError::new(label, format!("not a JSON index: {e}")))?;
    let map = json
        .get("weight_map")
        .and_then(Value::as_object)
        .ok_or_else(|| LoadError::new(label, "no \"weight_map\" object"))?;
    let mut names: Vec<String> = Vec::new();
    for (tensor, file) in map {
        let name = file.as_str().ok_or_else(|| {
            LoadError::new(label, format!("weight_map[{tensor:?}] is not a file name"))
        })?;
        let plain = Path::new(name).file_name().map(|f| f == name) == Some(true);
        if !plain || name == ".." {
            return Err(LoadError::new(
                label,
                format!("weight_map names {name:?}, which is not a file in this folder"),
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err(LoadError::new(label, "the weight_map is empty"));
    }
    Ok(names)
}

/// The parsed config.json of a folder, and its model_type.
pub fn read_config_json(path: &Path) -> Result<Value, LoadError> {
    let bytes = read_small_file(path, MAX_CONFIG_BYTES)?;
    serde_json::from_slice(&bytes).map_err(|e| LoadError::new(path, format!("not JSON: {e}")))
}

/// Loads a checkpoint of one of [`hf_arch::FAMILIES`] from its folder.
pub fn load_family(folder: &Path) -> Result<LoadedModel, LoadError> {
    load_family_reporting(folder, &Arc::new(LoadProgress::default()))
}

/// [`load_family`], counting the weight bytes read in `progress`. The weight files are read
/// tensor by tensor (never whole), each converted to f32 as it is read.
pub fn load_family_reporting(
    folder: &Path,
    progress: &Arc<LoadProgress>,
) -> Result<LoadedModel, LoadError> {
    let files = locate(folder)?;
    let config_json = read_small_file(&files.config, MAX_CONFIG_BYTES)?;
    let mut shards = Vec::with_capacity(files.shards.len());
    let mut total = 0u64;
    for path in &files.shards {
        let mut file = TensorFile::open(path)?;
        total += checked_file_len(path)?;
        file.report_to(Arc::clone(progress));
        shards.push(file);
    }
    progress.expect(total);
    let params = params_from_files(&config_json, &files.config, &files.shards, &shards, total)?;
    let tokenizer = super::hf_tokenizer::load_from_folder(&files.folder, params.config.d_vocab)?;
    let name = std::fs::canonicalize(&files.folder)
        .ok()
        .and_then(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| params.config.family.clone());
    Ok(LoadedModel {
        params,
        tokenizer,
        name,
        source: Some(folder.to_path_buf()),
    })
}

/// The weights of a checkpoint from the bytes of its config.json (`config_label` names it)
/// and of its weight files (path, bytes): the config is mapped and checked against the
/// files' total size before anything of its size is allocated.
pub fn params_from_shards(
    config_json: &[u8],
    config_label: &Path,
    shards: &[(&Path, &[u8])],
) -> Result<Params<f32>, LoadError> {
    let total: usize = shards.iter().map(|(_, bytes)| bytes.len()).sum();
    let paths: Vec<PathBuf> = shards.iter().map(|(path, _)| path.to_path_buf()).collect();
    let parsed: Vec<TensorFile<'_>> = shards
        .iter()
        .map(|(path, bytes)| TensorFile::parse(path, bytes))
        .collect::<Result<_, _>>()?;
    params_from_files(config_json, config_label, &paths, &parsed, total as u64)
}

/// [`params_from_shards`] for parsed files (`paths[i]` is `files[i]`'s) of `total` bytes.
fn params_from_files(
    config_json: &[u8],
    config_label: &Path,
    paths: &[PathBuf],
    files: &[TensorFile<'_>],
    total: u64,
) -> Result<Params<f32>, LoadError> {
    let json: Value = serde_json::from_slice(config_json)
        .map_err(|e| LoadError::new(config_label, format!("not JSON: {e}")))?;
    let mut config =
        hf_arch::to_model_config(&json).map_err(|e| LoadError::new(config_label, e))?;
    // The smallest dtype read (F16/BF16) takes 2 bytes per parameter.
    check_fits(
        config_label,
        config.parameter_count(),
        2,
        usize::try_from(total).unwrap_or(usize::MAX),
        "config.json",
    )?;
    let shards = Shards::new(paths, files)?;
    config.source_dtype = shards.dtypes();
    read_params(&config, &shards)
}

/// Every tensor of a checkpoint's files, by name.
struct Shards<'a, 'data> {
    /// Tensor name → (its file's path, the parsed file).
    by_name: BTreeMap<String, (&'a Path, &'a TensorFile<'data>)>,
}

impl<'a, 'data> Shards<'a, 'data> {
    fn new(paths: &'a [PathBuf], files: &'a [TensorFile<'data>]) -> Result<Self, LoadError> {
        let mut by_name = BTreeMap::new();
        for (path, file) in paths.iter().zip(files) {
            for name in file.names() {
                if by_name
                    .insert(name.clone(), (path.as_path(), file))
                    .is_some()
                {
                    return Err(LoadError::new(
                        path,
                        format!("tensor {name} is stored in two shards"),
                    ));
                }
            }
        }
        Ok(Self { by_name })
    }

    /// The distinct dtypes of the float tensors, as `BF16` or `F32 + BF16`.
    fn dtypes(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for (name, (_, file)) in &self.by_name {
            if let Some(dtype) = file.dtype_name(name)
                && !seen.contains(&dtype)
            {
                seen.push(dtype);
            }
        }
        seen.join(" + ")
    }

    /// A tensor as f32 values after checking its shape; every value must be finite.
    fn read(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let mut values = vec![0.0; shape.iter().product()];
        self.read_into(name, shape, &mut values)?;
        Ok(values)
    }

    /// [`Shards::read`] into `values`.
    fn read_into(&self, name: &str, shape: &[usize], values: &mut [f32]) -> Result<(), String> {
        let (path, file) = self
            .by_name
            .get(name)
            .ok_or_else(|| format!("missing tensor {name}"))?;
        file.read_f32_into(path, name, shape, values)
            .map_err(|e| e.message)?;
        match values.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(format!(
                "tensor {name} holds a non-finite value ({}) at flat index {index}",
                values[index]
            )),
            None => Ok(()),
        }
    }
}

/// How the file stores one of the engine's tensors.
enum Source {
    /// Stored as is (embeddings, norm weights, biases of the engine's shape).
    Plain(String),
    /// Stored flat: a per-head bias [heads·d_head] → [heads, d_head].
    Flat(String),
    /// Norm weights stored as `w` for a scale of `offset + w`.
    Offset(String, f32),
    /// nn.Linear weight [out, in]: transposed to [in, out].
    Linear(String),
    /// nn.Linear q/k/v weight [heads·d_head, d_model] → [heads, d_model, d_head].
    HeadsIn(String),
    /// nn.Linear o weight [d_model, heads·d_head] → [heads, d_head, d_model].
    HeadsOut(String),
    /// GPT-NeoX's fused per-head `query_key_value` weight [heads·3·d_head, d_model], part
    /// 0/1/2 = q/k/v → [heads, d_model, d_head].
    FusedHeadsIn(String, usize),
    /// The bias of the fused projection [heads·3·d_head], part → [heads, d_head].
    FusedBias(String, usize),
}

impl Source {
    fn file_name(&self) -> &str {
        match self {
            Source::Plain(n)
            | Source::Flat(n)
            | Source::Offset(n, _)
            | Source::Linear(n)
            | Source::HeadsIn(n)
            | Source::HeadsOut(n)
            | Source::FusedHeadsIn(n, _)
            | Source::FusedBias(n, _) => n,
        }
    }
}

/// The file's name for each engine tensor of `config`'s family.
fn source_of(config: &ModelConfig, tl_name: &str) -> Option<Source> {
    let family = config.family.as_str();
    let offset = config.norm_weight_offset as f32;
    let norm = |file: String| {
        if offset != 0.0 {
            Source::Offset(file, offset)
        } else {
            Source::Plain(file)
        }
    };
    let (layer, local) = match tl_name.strip_prefix("blocks.") {
        Some(rest) => {
            let (layer, local) = rest.split_once('.')?;
            (Some(layer.parse::<usize>().ok()?), local)
        }
        None => (None, tl_name),
    };
    match family {
        "gpt_neox" => {
            let at = |s: &str| format!("gpt_neox.layers.{}.{s}", layer.unwrap_or(0));
            // Which third of a head's fused columns: q, k or v, from the name's last letter.
            let part = |name: &str| match name.as_bytes().last() {
                Some(b'Q') => 0,
                Some(b'K') => 1,
                _ => 2,
            };
            Some(match (layer, local) {
                (None, "embed.W_E") => Source::Plain("gpt_neox.embed_in.weight".into()),
                (None, "ln_final.w") => Source::Plain("gpt_neox.final_layer_norm.weight".into()),
                (None, "ln_final.b") => Source::Plain("gpt_neox.final_layer_norm.bias".into()),
                (None, "unembed.W_U") => Source::Linear("embed_out.weight".into()),
                (Some(_), "ln1.w") => Source::Plain(at("input_layernorm.weight")),
                (Some(_), "ln1.b") => Source::Plain(at("input_layernorm.bias")),
                (Some(_), "ln2.w") => Source::Plain(at("post_attention_layernorm.weight")),
                (Some(_), "ln2.b") => Source::Plain(at("post_attention_layernorm.bias")),
                (Some(_), w @ ("attn.W_Q" | "attn.W_K" | "attn.W_V")) => {
                    Source::FusedHeadsIn(at("attention.query_key_value.weight"), part(w))
                }
                (Some(_), b @ ("attn.b_Q" | "attn.b_K" | "attn.b_V")) => {
                    Source::FusedBias(at("attention.query_key_value.bias"), part(b))
                }
                (Some(_), "attn.W_O") => Source::HeadsOut(at("attention.dense.weight")),
                (Some(_), "attn.b_O") => Source::Plain(at("attention.dense.bias")),
                (Some(_), "mlp.W_in") => Source::Linear(at("mlp.dense_h_to_4h.weight")),
                (Some(_), "mlp.b_in") => Source::Plain(at("mlp.dense_h_to_4h.bias")),
                (Some(_), "mlp.W_out") => Source::Linear(at("mlp.dense_4h_to_h.weight")),
                (Some(_), "mlp.b_out") => Source::Plain(at("mlp.dense_4h_to_h.bias")),
                _ => return None,
            })
        }
        "gpt_neo" => {
            let at = |s: &str| format!("transformer.h.{}.{s}", layer.unwrap_or(0));
            Some(match (layer, local) {
                (None, "embed.W_E") => Source::Plain("transformer.wte.weight".into()),
                (None, "pos_embed.W_pos") => Source::Plain("transformer.wpe.weight".into()),
                (None, "ln_final.w") => Source::Plain("transformer.ln_f.weight".into()),
                (None, "ln_final.b") => Source::Plain("transformer.ln_f.bias".into()),
                (None, "unembed.W_U") => Source::Linear("lm_head.weight".into()),
                (Some(_), "ln1.w") => Source::Plain(at("ln_1.weight")),
                (Some(_), "ln1.b") => Source::Plain(at("ln_1.bias")),
                (Some(_), "ln2.w") => Source::Plain(at("ln_2.weight")),
                (Some(_), "ln2.b") => Source::Plain(at("ln_2.bias")),
                (Some(_), "attn.W_Q") => Source::HeadsIn(at("attn.attention.q_proj.weight")),
                (Some(_), "attn.W_K") => Source::HeadsIn(at("attn.attention.k_proj.weight")),
                (Some(_), "attn.W_V") => Source::HeadsIn(at("attn.attention.v_proj.weight")),
                (Some(_), "attn.W_O") => Source::HeadsOut(at("attn.attention.out_proj.weight")),
                (Some(_), "attn.b_O") => Source::Plain(at("attn.attention.out_proj.bias")),
                (Some(_), "mlp.W_in") => Source::Linear(at("mlp.c_fc.weight")),
                (Some(_), "mlp.b_in") => Source::Plain(at("mlp.c_fc.bias")),
                (Some(_), "mlp.W_out") => Source::Linear(at("mlp.c_proj.weight")),
                (Some(_), "mlp.b_out") => Source::Plain(at("mlp.c_proj.bias")),
                _ => return None,
            })
        }
        _ => {
            let gemma = family == "gemma3_text";
            let at = |s: &str| format!("model.layers.{}.{s}", layer.unwrap_or(0));
            Some(match (layer, local) {
                (None, "embed.W_E") => Source::Plain("model.embed_tokens.weight".into()),
                (None, "ln_final.w") => norm("model.norm.weight".into()),
                (None, "unembed.W_U") => Source::Linear("lm_head.weight".into()),
                (Some(_), "ln1.w") => norm(at("input_layernorm.weight")),
                (Some(_), "ln1_post.w") => norm(at("post_attention_layernorm.weight")),
                (Some(_), "ln2.w") if gemma => norm(at("pre_feedforward_layernorm.weight")),
                (Some(_), "ln2.w") => norm(at("post_attention_layernorm.weight")),
                (Some(_), "ln2_post.w") => norm(at("post_feedforward_layernorm.weight")),
                (Some(_), "attn.W_Q") => Source::HeadsIn(at("self_attn.q_proj.weight")),
                (Some(_), "attn.W_K") => Source::HeadsIn(at("self_attn.k_proj.weight")),
                (Some(_), "attn.W_V") => Source::HeadsIn(at("self_attn.v_proj.weight")),
                (Some(_), "attn.b_Q") => Source::Flat(at("self_attn.q_proj.bias")),
                (Some(_), "attn.b_K") => Source::Flat(at("self_attn.k_proj.bias")),
                (Some(_), "attn.b_V") => Source::Flat(at("self_attn.v_proj.bias")),
                (Some(_), "attn.W_O") => Source::HeadsOut(at("self_attn.o_proj.weight")),
                (Some(_), "attn.b_O") => Source::Plain(at("self_attn.o_proj.bias")),
                (Some(_), "attn.q_norm.w") => norm(at("self_attn.q_norm.weight")),
                (Some(_), "attn.k_norm.w") => norm(at("self_attn.k_norm.weight")),
                (Some(_), "mlp.W_gate") => Source::Linear(at("mlp.gate_proj.weight")),
                (Some(_), "mlp.b_gate") => Source::Plain(at("mlp.gate_proj.bias")),
                (Some(_), "mlp.W_in") => Source::Linear(at("mlp.up_proj.weight")),
                (Some(_), "mlp.b_in") => Source::Plain(at("mlp.up_proj.bias")),
                (Some(_), "mlp.W_out") => Source::Linear(at("mlp.down_proj.weight")),
                (Some(_), "mlp.b_out") => Source::Plain(at("mlp.down_proj.bias")),
                _ => return None,
            })
        }
    }
}

/// Tensors a checkpoint may carry that are not weights: causal-mask buffers, rotary
/// frequency caches, and a tied `lm_head` copy.
fn is_ignored(config: &ModelConfig, name: &str) -> bool {
    name.ends_with(".attn.bias")
        || name.ends_with(".attn.masked_bias")
        || name.ends_with(".attention.bias")
        || name.ends_with(".attention.masked_bias")
        || name.ends_with(".rotary_emb.inv_freq")
        || (config.tied_unembed && (name == "lm_head.weight" || name == "embed_out.weight"))
}

/// Reads every engine tensor of `config` from the files and refuses tensors it does not
/// understand.
fn read_params(config: &ModelConfig, shards: &Shards<'_, '_>) -> Result<Params<f32>, LoadError> {
    let label = shards
        .by_name
        .values()
        .next()
        .map_or(PathBuf::new(), |(path, _)| path.to_path_buf());
    let mut used: HashSet<String> = HashSet::new();
    let (h, kv, dh, d) = (
        config.n_heads,
        config.kv_heads(),
        config.d_head,
        config.d_model,
    );
    let params = Params::from_tensors_written(config, |tl_name, mut tensor| {
        let shape = tensor.shape().to_vec();
        let shape = shape.as_slice();
        let source = source_of(config, tl_name)
            .ok_or_else(|| format!("no {} tensor maps to {tl_name}", config.family))?;
        let file_name = source.file_name().to_string();
        used.insert(file_name);
        let heads = |w: &str| if w.ends_with("W_Q") { h } else { kv };
        let values = match &source {
            // Straight into the model's memory (the embeddings are the largest tensors).
            Source::Plain(name) => {
                let out = tensor
                    .as_slice_mut()
                    .ok_or("a model tensor is contiguous")?;
                return shards.read_into(name, shape, out);
            }
            Source::Flat(name) => shards.read(name, &[shape.iter().product()])?,
            Source::Offset(name, offset) => {
                let mut values = shards.read(name, shape)?;
                values.iter_mut().for_each(|v| *v += offset);
                values
            }
            Source::Linear(name) => {
                let (rows, cols) = (shape[0], shape[1]);
                let stored = shards.read(name, &[cols, rows])?; // [out, in]
                let out = tensor.as_slice_mut().ok_or("contiguous")?; // [in, out]
                transpose_into(&stored, cols, rows, rows, out);
                return Ok(());
            }
            Source::HeadsIn(name) => {
                let n = heads(tl_name);
                let stored = shards.read(name, &[n * dh, d])?; // [heads·dh, d]
                let out = tensor.as_slice_mut().ok_or("contiguous")?; // [heads, d, dh]
                for (head, out) in out.chunks_exact_mut(d * dh).enumerate() {
                    transpose_into(&stored[head * dh * d..], dh, d, d, out);
                }
                return Ok(());
            }
            Source::HeadsOut(name) => {
                let stored = shards.read(name, &[d, h * dh])?; // [d, heads·dh]
                let out = tensor.as_slice_mut().ok_or("contiguous")?; // [heads, dh, d]
                for (head, out) in out.chunks_exact_mut(dh * d).enumerate() {
                    transpose_into(&stored[head * dh..], d, dh, h * dh, out);
                }
                return Ok(());
            }
            Source::FusedHeadsIn(name, part) => {
                let stored = shards.read(name, &[3 * h * dh, d])?; // [heads·3·dh, d]
                let out = tensor.as_slice_mut().ok_or("contiguous")?; // [heads, d, dh]
                for (head, out) in out.chunks_exact_mut(d * dh).enumerate() {
                    let first = (head * 3 * dh + part * dh) * d;
                    transpose_into(&stored[first..], dh, d, d, out);
                }
                return Ok(());
            }
            Source::FusedBias(name, part) => {
                let stored = shards.read(name, &[3 * h * dh])?;
                (0..h)
                    .flat_map(|head| (0..dh).map(move |j| (head, j)))
                    .map(|(head, j)| stored[head * 3 * dh + part * dh + j])
                    .collect()
            }
        };
        for (dst, src) in tensor.iter_mut().zip(values) {
            *dst = src;
        }
        Ok(())
    })
    .map_err(|message| LoadError::new(&label, message))?;
    if let Some(extra) = shards
        .by_name
        .keys()
        .find(|name| !used.contains(*name) && !is_ignored(config, name))
    {
        let (path, _) = shards.by_name[extra];
        let layer_hint = match extra_layer(extra) {
            Some(layer) if layer >= config.n_layers => format!(
                ", but config.json says the model has {} layers",
                config.n_layers
            ),
            _ => String::new(),
        };
        return Err(LoadError::new(
            path,
            format!(
                "unexpected tensor {extra} (not part of a {} model of this config{layer_hint})",
                config.family
            ),
        ));
    }
    Ok(params)
}

/// Writes the transpose of the `rows × cols` matrix at the start of `src` (row `r` at
/// `src[r·stride..]`) into `dst` [cols, rows], in tiles that stay in cache (a plain strided
/// gather of a 4864 × 896 MLP weight misses the cache on almost every read); a large matrix
/// is split between two threads by halves of `dst`.
fn transpose_into(src: &[f32], rows: usize, cols: usize, stride: usize, dst: &mut [f32]) {
    assert!(dst.len() == rows * cols && (rows == 0 || src.len() >= (rows - 1) * stride + cols));
    if rows * cols >= 1 << 20 && crate::model::parallel::cores() > 1 {
        let half = cols / 2;
        let (first, second) = dst.split_at_mut(half * rows);
        std::thread::scope(|scope| {
            scope.spawn(|| transpose_columns(src, rows, stride, half..cols, second));
            transpose_columns(src, rows, stride, 0..half, first);
        });
    } else {
        transpose_columns(src, rows, stride, 0..cols, dst);
    }
}

/// The columns `columns` of [`transpose_into`]'s transpose: `dst` [columns, rows].
fn transpose_columns(
    src: &[f32],
    rows: usize,
    stride: usize,
    columns: std::ops::Range<usize>,
    dst: &mut [f32],
) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in columns.clone().step_by(TILE) {
            let c1 = (c0 + TILE).min(columns.end);
            for r in r0..(r0 + TILE).min(rows) {
                let row = &src[r * stride + c0..r * stride + c1];
                for (k, &value) in row.iter().enumerate() {
                    dst[(c0 + k - columns.start) * rows + r] = value;
                }
            }
        }
    }
}

/// The layer index in a tensor name such as `model.layers.7.mlp…`.
fn extra_layer(name: &str) -> Option<usize> {
    let mut parts = name.split('.');
    while let Some(part) = parts.next() {
        if matches!(part, "layers" | "h") {
            return parts.next()?.parse().ok();
        }
    }
    None
}
