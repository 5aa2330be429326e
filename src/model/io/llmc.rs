//! llm.c checkpoints (`gpt2_124M.bin` and the files `train_gpt2` writes).
//!
//! Layout: a header of 256 little-endian int32 — `[0]` magic 20240326, `[1]` version
//! (3 = fp32, 5 = bf16), `[2]` max_seq_len, `[3]` vocab_size, `[4]` num_layers,
//! `[5]` num_heads, `[6]` channels, `[7]` padded_vocab_size — then every parameter in this
//! order (C = channels, L = layers, Vp = padded vocab, T = max_seq_len):
//!
//! | tensor | shape | ours |
//! | --- | --- | --- |
//! | wte | [Vp, C] | `W_E` = first vocab_size rows (the padding rows are dropped) |
//! | wpe | [T, C] | `W_pos` |
//! | ln1w, ln1b | [L, C] | `ln1.w`, `ln1.b` |
//! | qkvw | [L, 3C, C] | nn.Linear [out, in]: `W_Q[h, i, j] = qkvw[j + h·dh, i]`, K and V at +C, +2C |
//! | qkvb | [L, 3C] | `b_Q`, `b_K`, `b_V` |
//! | attprojw | [L, C, C] | [out, in]: `W_O[h, j, o] = attprojw[o, h·dh + j]` |
//! | attprojb | [L, C] | `b_O` |
//! | ln2w, ln2b | [L, C] | `ln2.w`, `ln2.b` |
//! | fcw | [L, 4C, C] | [out, in]: `W_in = fcwᵀ` |
//! | fcb | [L, 4C] | `b_in` |
//! | fcprojw | [L, C, 4C] | [out, in]: `W_out = fcprojwᵀ` |
//! | fcprojb | [L, C] | `b_out` |
//! | lnfw, lnfb | [C] | `ln_final.w`, `ln_final.b` |
//!
//! The model is GPT-2: pre-LN, gelu (tanh), tied unembedding, LayerNorm eps 1e-5. The file
//! length must equal the header plus exactly the parameters it announces; this is checked
//! before anything is allocated.

use std::path::Path;

use ndarray::{Array1, Array2, Array3};

use super::atomic::write_atomic;
use super::tensors::read_file;
use super::{LoadError, LoadedModel, SaveError, display_name};
use crate::model::config::{Activation, ModelConfig, NormPlacement};
use crate::model::params::{AttentionParams, BlockParams, LayerNormParams, MlpParams, Params};

/// `header[0]` of every llm.c model checkpoint.
pub const MAGIC: i32 = 20240326;
/// Bytes of the header (256 int32).
pub const HEADER_BYTES: usize = 256 * 4;
/// llm.c pads the vocabulary to a multiple of this when writing.
pub const VOCAB_PADDING: usize = 128;

/// Whether a buffer starts with the llm.c checkpoint magic.
pub fn has_magic(bytes: &[u8]) -> bool {
    bytes.get(..4) == Some(&MAGIC.to_le_bytes()[..])
}

/// Loads an llm.c `.bin` checkpoint; a GPT-2 tokenizer beside it (tokenizer.json, or
/// vocab.json + merges.txt) is used when present, else tokens show as ids.
pub fn load_llmc(path: &Path) -> Result<LoadedModel, LoadError> {
    let bytes = read_file(path)?;
    load_llmc_from(path, &bytes)
}

/// Like [`load_llmc`], with the file already read.
pub fn load_llmc_from(path: &Path, bytes: &[u8]) -> Result<LoadedModel, LoadError> {
    let params = load_llmc_bytes(bytes, path)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tokenizer = super::hf_tokenizer::load_from_folder(folder, params.config.d_vocab)?;
    Ok(LoadedModel {
        params,
        tokenizer,
        name: display_name(path),
        source: Some(path.to_path_buf()),
    })
}

/// The header fields that shape the model.
struct Header {
    bytes_per_value: usize,
    max_seq_len: usize,
    vocab_size: usize,
    padded_vocab_size: usize,
    config: ModelConfig,
}

fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    if bytes.len() < HEADER_BYTES {
        return Err(format!(
            "{} bytes is shorter than the {HEADER_BYTES}-byte llm.c header",
            bytes.len()
        ));
    }
    let field = |i: usize| i32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4"));
    if field(0) != MAGIC {
        return Err(format!(
            "bad magic number {} (an llm.c model checkpoint starts with {MAGIC})",
            field(0)
        ));
    }
    let bytes_per_value = match field(1) {
        3 => 4,
        5 => 2,
        other => {
            return Err(format!(
                "unsupported llm.c version {other} (3 = fp32 and 5 = bf16 are read)"
            ));
        }
    };
    let positive = |i: usize, what: &str| -> Result<usize, String> {
        match field(i) {
            v if v > 0 => Ok(v as usize),
            v => Err(format!("header[{i}] ({what}) is {v}; it must be positive")),
        }
    };
    let max_seq_len = positive(2, "max_seq_len")?;
    let vocab_size = positive(3, "vocab_size")?;
    let num_layers = positive(4, "num_layers")?;
    let num_heads = positive(5, "num_heads")?;
    let channels = positive(6, "channels")?;
    let padded_vocab_size = positive(7, "padded_vocab_size")?;
    if padded_vocab_size < vocab_size {
        return Err(format!(
            "padded_vocab_size {padded_vocab_size} is smaller than vocab_size {vocab_size}"
        ));
    }
    if !channels.is_multiple_of(num_heads) {
        return Err(format!(
            "channels ({channels}) is not a multiple of num_heads ({num_heads})"
        ));
    }
    let config = ModelConfig {
        d_model: channels,
        n_heads: num_heads,
        d_head: channels / num_heads,
        n_layers: num_layers,
        d_mlp: 4 * channels,
        d_vocab: vocab_size,
        n_ctx: max_seq_len,
        ..gpt2_shape()
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(Header {
        bytes_per_value,
        max_seq_len,
        vocab_size,
        padded_vocab_size,
        config,
    })
}

/// GPT-2's architecture with placeholder sizes (overwritten by the header).
fn gpt2_shape() -> ModelConfig {
    ModelConfig {
        layer_norm_eps: 1e-5,
        norm: NormPlacement::Pre,
        activation: Activation::GeluNew,
        residual: true,
        tied_unembed: true,
        unembed_bias: false,
        attn_only: false,
        final_norm: true,
        ..ModelConfig::lesson(1)
    }
}

/// Number of values the file stores after the header (computed in u64: the header is
/// untrusted).
fn stored_values(h: &Header) -> u64 {
    let c = h.config.d_model as u64;
    let layers = h.config.n_layers as u64;
    let per_layer =
        2 * c + 3 * c * c + 3 * c + c * c + c + 2 * c + 4 * c * c + 4 * c + 4 * c * c + c;
    h.padded_vocab_size as u64 * c + h.max_seq_len as u64 * c + layers * per_layer + 2 * c
}

/// Reads the values of an llm.c checkpoint one tensor after another.
struct Cursor<'a> {
    bytes: &'a [u8],
    bytes_per_value: usize,
    offset: usize,
}

impl<'a> Cursor<'a> {
    /// The next `n` values as a slice of raw bytes (length checked up front by the caller).
    fn take(&mut self, n: usize) -> Values<'a> {
        let len = n * self.bytes_per_value;
        let raw = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Values {
            raw,
            bytes_per_value: self.bytes_per_value,
        }
    }
}

/// A run of fp32 or bf16 values, read as f32 by index.
#[derive(Clone, Copy)]
struct Values<'a> {
    raw: &'a [u8],
    bytes_per_value: usize,
}

impl Values<'_> {
    fn get(&self, i: usize) -> f32 {
        let at = i * self.bytes_per_value;
        match self.bytes_per_value {
            4 => f32::from_le_bytes(self.raw[at..at + 4].try_into().expect("4 bytes")),
            _ => half::bf16::from_le_bytes([self.raw[at], self.raw[at + 1]]).to_f32(),
        }
    }
}

/// Parses an llm.c checkpoint from its bytes; `label` names it in errors.
pub fn load_llmc_bytes(bytes: &[u8], label: &Path) -> Result<Params<f32>, LoadError> {
    let err = |message: String| LoadError::new(label, message);
    let h = parse_header(bytes).map_err(err)?;
    let values = stored_values(&h);
    let expected = (values as u128) * h.bytes_per_value as u128 + HEADER_BYTES as u128;
    if expected != bytes.len() as u128 {
        return Err(err(format!(
            "the header announces {values} parameters ({expected} bytes with the header) but \
             the file has {} bytes",
            bytes.len()
        )));
    }
    let config = h.config.clone();
    let (c, heads, dh, v, t) = (
        config.d_model,
        config.n_heads,
        config.d_head,
        h.vocab_size,
        h.max_seq_len,
    );
    let layers = config.n_layers;
    let mut cursor = Cursor {
        bytes,
        bytes_per_value: h.bytes_per_value,
        offset: HEADER_BYTES,
    };
    let wte = cursor.take(h.padded_vocab_size * c); // [Vp, C]
    let wpe = cursor.take(t * c); // [T, C]
    let ln1w = cursor.take(layers * c); // [L, C]
    let ln1b = cursor.take(layers * c);
    let qkvw = cursor.take(layers * 3 * c * c); // [L, 3C, C]
    let qkvb = cursor.take(layers * 3 * c); // [L, 3C]
    let attprojw = cursor.take(layers * c * c); // [L, C, C]
    let attprojb = cursor.take(layers * c); // [L, C]
    let ln2w = cursor.take(layers * c);
    let ln2b = cursor.take(layers * c);
    let fcw = cursor.take(layers * 4 * c * c); // [L, 4C, C]
    let fcb = cursor.take(layers * 4 * c); // [L, 4C]
    let fcprojw = cursor.take(layers * c * 4 * c); // [L, C, 4C]
    let fcprojb = cursor.take(layers * c); // [L, C]
    let lnfw = cursor.take(c); // [C]
    let lnfb = cursor.take(c);
    let vec1 =
        |src: Values<'_>, start: usize, n: usize| Array1::from_shape_fn(n, |i| src.get(start + i));
    let blocks = (0..layers)
        .map(|layer| {
            let qkv_w = |part: usize| {
                // W_Q[head, i, j] = qkvw[layer, part·C + head·dh + j, i]
                Array3::from_shape_fn((heads, c, dh), |(head, i, j)| {
                    qkvw.get(layer * 3 * c * c + (part * c + head * dh + j) * c + i)
                })
            };
            let qkv_b = |part: usize| {
                Array2::from_shape_fn((heads, dh), |(head, j)| {
                    qkvb.get(layer * 3 * c + part * c + head * dh + j)
                })
            };
            BlockParams {
                ln1: LayerNormParams {
                    w: vec1(ln1w, layer * c, c),
                    b: vec1(ln1b, layer * c, c),
                },
                attn: AttentionParams {
                    w_q: qkv_w(0),
                    w_k: qkv_w(1),
                    w_v: qkv_w(2),
                    b_q: qkv_b(0),
                    b_k: qkv_b(1),
                    b_v: qkv_b(2),
                    // W_O[head, j, o] = attprojw[layer, o, head·dh + j]
                    w_o: Array3::from_shape_fn((heads, dh, c), |(head, j, o)| {
                        attprojw.get(layer * c * c + o * c + head * dh + j)
                    }),
                    b_o: vec1(attprojb, layer * c, c),
                    q_norm: Array1::zeros(0),
                    k_norm: Array1::zeros(0),
                },
                ln1_post: None,
                mlp: Some(MlpParams {
                    ln2: LayerNormParams {
                        w: vec1(ln2w, layer * c, c),
                        b: vec1(ln2b, layer * c, c),
                    },
                    // W_in[i, k] = fcw[layer, k, i]
                    w_in: Array2::from_shape_fn((c, 4 * c), |(i, k)| {
                        fcw.get(layer * 4 * c * c + k * c + i)
                    }),
                    b_in: vec1(fcb, layer * 4 * c, 4 * c),
                    // W_out[k, o] = fcprojw[layer, o, k]
                    w_out: Array2::from_shape_fn((4 * c, c), |(k, o)| {
                        fcprojw.get(layer * 4 * c * c + o * 4 * c + k)
                    }),
                    b_out: vec1(fcprojb, layer * c, c),
                    w_gate: Array2::zeros((0, 0)),
                    b_gate: Array1::zeros(0),
                    ln2_post: None,
                }),
            }
        })
        .collect();
    Ok(Params {
        w_e: Array2::from_shape_fn((v, c), |(row, col)| wte.get(row * c + col)),
        w_pos: Array2::from_shape_fn((t, c), |(row, col)| wpe.get(row * c + col)),
        blocks,
        ln_final: Some(LayerNormParams {
            w: vec1(lnfw, 0, c),
            b: vec1(lnfb, 0, c),
        }),
        w_u: None,
        b_u: None,
        config,
    })
}

/// Why a model cannot be written in llm.c's format, if it cannot: llm.c only knows GPT-2.
fn llmc_incompatibility(config: &ModelConfig) -> Option<String> {
    let gpt2 = ModelConfig {
        d_model: config.d_model,
        n_heads: config.n_heads,
        d_head: config.d_head,
        n_layers: config.n_layers,
        d_mlp: 4 * config.d_model,
        d_vocab: config.d_vocab,
        n_ctx: config.n_ctx,
        // Where it came from does not change the shape.
        family: config.family.clone(),
        source_dtype: config.source_dtype.clone(),
        ..gpt2_shape()
    };
    (config != &gpt2 || !matches!(config.family.as_str(), "" | "gpt2")).then(|| {
        "llm.c stores only GPT-2-shaped models (pre-LN, gelu_new, residual, tied unembedding \
         without bias, MLP of 4·d_model, final LayerNorm, eps 1e-5)"
            .to_string()
    })
}

/// Serializes a GPT-2-shaped model as an llm.c version-3 (fp32) checkpoint, the vocabulary
/// padded with zero rows to a multiple of [`VOCAB_PADDING`].
pub fn llmc_bytes(params: &Params<f32>) -> Result<Vec<u8>, String> {
    let config = &params.config;
    config.validate().map_err(|e| e.to_string())?;
    if let Some(reason) = llmc_incompatibility(config) {
        return Err(reason);
    }
    let (c, v) = (config.d_model, config.d_vocab);
    let padded = v.div_ceil(VOCAB_PADDING) * VOCAB_PADDING;
    let mut header = [0i32; 256];
    let as_i32 = |x: usize| i32::try_from(x).map_err(|_| format!("{x} does not fit in int32"));
    header[0] = MAGIC;
    header[1] = 3;
    header[2] = as_i32(config.n_ctx)?;
    header[3] = as_i32(v)?;
    header[4] = as_i32(config.n_layers)?;
    header[5] = as_i32(config.n_heads)?;
    header[6] = as_i32(c)?;
    header[7] = as_i32(padded)?;
    let mut out: Vec<u8> = header.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut put = |values: &mut dyn Iterator<Item = f32>| {
        out.extend(values.flat_map(f32::to_le_bytes));
    };
    put(&mut params.w_e.iter().copied());
    put(&mut std::iter::repeat_n(0.0, (padded - v) * c));
    put(&mut params.w_pos.iter().copied());
    let blocks = &params.blocks;
    fn mlp(block: &BlockParams<f32>) -> &MlpParams<f32> {
        block.mlp.as_ref().expect("checked: not attention-only")
    }
    put(&mut blocks.iter().flat_map(|b| b.ln1.w.iter().copied()));
    put(&mut blocks.iter().flat_map(|b| b.ln1.b.iter().copied()));
    for b in blocks {
        // qkvw [3C, C]: row part·C + head·dh + j, column i.
        for w in [&b.attn.w_q, &b.attn.w_k, &b.attn.w_v] {
            let rows = w.view().permuted_axes([0, 2, 1]); // [head, dh, C]
            put(&mut rows.iter().copied());
        }
    }
    for b in blocks {
        for bias in [&b.attn.b_q, &b.attn.b_k, &b.attn.b_v] {
            put(&mut bias.iter().copied());
        }
    }
    for b in blocks {
        // attprojw [C_out, C_in = head·dh + j]
        let w_o = b
            .attn
            .w_o
            .view()
            .into_shape_with_order((c, c))
            .map_err(|e| e.to_string())?;
        put(&mut w_o.t().iter().copied());
    }
    put(&mut blocks.iter().flat_map(|b| b.attn.b_o.iter().copied()));
    put(&mut blocks.iter().flat_map(|b| mlp(b).ln2.w.iter().copied()));
    put(&mut blocks.iter().flat_map(|b| mlp(b).ln2.b.iter().copied()));
    put(&mut blocks
        .iter()
        .flat_map(|b| mlp(b).w_in.t().iter().copied().collect::<Vec<_>>()));
    put(&mut blocks.iter().flat_map(|b| mlp(b).b_in.iter().copied()));
    put(&mut blocks
        .iter()
        .flat_map(|b| mlp(b).w_out.t().iter().copied().collect::<Vec<_>>()));
    put(&mut blocks.iter().flat_map(|b| mlp(b).b_out.iter().copied()));
    let ln_f = params.ln_final.as_ref().expect("checked: final_norm");
    put(&mut ln_f.w.iter().copied());
    put(&mut ln_f.b.iter().copied());
    Ok(out)
}

/// Saves a GPT-2-shaped model as an llm.c checkpoint (version 3, fp32), atomically.
pub fn save_llmc(path: &Path, params: &Params<f32>) -> Result<(), SaveError> {
    let bytes = llmc_bytes(params).map_err(|e| SaveError::new(path, e))?;
    write_atomic(path, &bytes).map_err(|e| SaveError::new(path, e.to_string()))
}
