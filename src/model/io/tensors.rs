//! Reading tensors out of a `.safetensors` buffer as `f32`, with every size checked, and
//! encoding `f32` tensors (as F32 or F16) for writing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensorError, SafeTensors, View};

use super::LoadError;

/// Largest weight file read into memory (GPT-2 XL in f32 is 6.4 GB).
pub const MAX_FILE_BYTES: u64 = 8 << 30;

/// Reads a whole file after checking its size.
pub fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::new(path, e.to_string()))?;
    if !meta.is_file() {
        return Err(LoadError::new(path, "not a file"));
    }
    if meta.len() == 0 {
        return Err(LoadError::new(path, "the file is empty"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(LoadError::new(
            path,
            format!(
                "the file is {} bytes, more than the limit of {MAX_FILE_BYTES}",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| LoadError::new(path, e.to_string()))
}

/// Largest JSON side file read (`config.json`; tokenizer files are larger, see
/// `hf_tokenizer`).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a side file (config or tokenizer) of at most `limit` bytes.
pub fn read_small_file(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::new(path, e.to_string()))?;
    if !meta.is_file() {
        return Err(LoadError::new(path, "not a file"));
    }
    if meta.len() > limit {
        return Err(LoadError::new(
            path,
            format!(
                "the file is {} bytes, more than the limit of {limit}",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| LoadError::new(path, e.to_string()))
}

/// Whether the buffer starts like a safetensors file: an 8-byte header length that fits in
/// the buffer, followed by `{`.
pub fn looks_like_safetensors(bytes: &[u8]) -> bool {
    let Some(length) = bytes.get(..8) else {
        return false;
    };
    let n = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    n >= 2 && n <= (bytes.len() as u64).saturating_sub(8) && bytes.get(8) == Some(&b'{')
}

/// Refuses a config whose parameters cannot fit in `file_len` bytes at `min_bytes` per value,
/// before anything of that size is allocated.
pub fn check_fits(
    path: &Path,
    parameter_count: u64,
    min_bytes: u64,
    file_len: usize,
    what: &str,
) -> Result<(), LoadError> {
    let needed = parameter_count.saturating_mul(min_bytes);
    if needed > file_len as u64 {
        return Err(LoadError::new(
            path,
            format!(
                "{what} describes {parameter_count} parameters ({needed} bytes at least), \
                 more than this {file_len}-byte file holds"
            ),
        ));
    }
    Ok(())
}

/// How tensors are stored when a model is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StorageDtype {
    /// 32-bit floats: exact.
    #[default]
    F32,
    /// 16-bit IEEE floats: half the size, about 3 significant digits; read back as f32.
    F16,
}

/// One tensor ready to be serialized: dtype, shape and little-endian bytes.
pub struct EncodedTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl EncodedTensor {
    /// Encodes row-major `values` of `shape` as `dtype`.
    pub fn new(values: impl Iterator<Item = f32>, shape: &[usize], dtype: StorageDtype) -> Self {
        let (dtype, bytes) = match dtype {
            StorageDtype::F32 => (
                Dtype::F32,
                values.flat_map(f32::to_le_bytes).collect::<Vec<u8>>(),
            ),
            StorageDtype::F16 => (
                Dtype::F16,
                values
                    .flat_map(|x| half::f16::from_f32(x).to_le_bytes())
                    .collect(),
            ),
        };
        Self {
            dtype,
            shape: shape.to_vec(),
            bytes,
        }
    }
}

impl View for &EncodedTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The safetensors crate's error about `bytes`, said in terms of the file: where it ends
/// against what its first 8 bytes (the header's length) announce.
fn describe(error: &SafeTensorError, bytes: &[u8]) -> String {
    let announced = bytes
        .get(..8)
        .map(|n| u64::from_le_bytes(n.try_into().expect("8 bytes")));
    let after_length = bytes.len().saturating_sub(8);
    match (error, announced) {
        (SafeTensorError::HeaderTooSmall, _) => format!(
            "the file has {} bytes, fewer than the 8 that give its header's length",
            bytes.len()
        ),
        (SafeTensorError::InvalidHeaderLength, Some(n)) => format!(
            "the file ends inside its header: the header is announced as {n} bytes, and \
             {after_length} bytes follow its length (a truncated file?)"
        ),
        (SafeTensorError::HeaderTooLarge, Some(n)) => {
            format!("its header is announced as {n} bytes, more than safetensors allows")
        }
        (SafeTensorError::MetadataIncompleteBuffer, Some(n)) => format!(
            "the file's length does not match its header: the tensors the header lists do \
             not end where the file does ({} bytes of data follow the header; a truncated \
             or padded file?)",
            (after_length as u64).saturating_sub(n)
        ),
        _ => error.to_string(),
    }
}

/// A parsed safetensors buffer: tensor views by name plus the `__metadata__` map.
pub struct TensorFile<'data> {
    tensors: SafeTensors<'data>,
    /// The free-form string map of the header.
    pub metadata: HashMap<String, String>,
}

impl<'data> TensorFile<'data> {
    /// Parses the header; the safetensors crate checks that every tensor lies inside the
    /// buffer and that offsets do not overlap.
    pub fn parse(path: &Path, bytes: &'data [u8]) -> Result<Self, LoadError> {
        let invalid = |e: SafeTensorError| {
            LoadError::new(
                path,
                format!("not a valid safetensors file: {}", describe(&e, bytes)),
            )
        };
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(invalid)?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let tensors = SafeTensors::deserialize(bytes).map_err(invalid)?;
        Ok(Self { tensors, metadata })
    }

    /// Names of every tensor.
    pub fn names(&self) -> Vec<String> {
        self.tensors
            .names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Whether a tensor is present.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.tensor(name).is_ok()
    }

    /// The stored dtype of a float tensor (`F32`, `F16`, `BF16`), if present and a float.
    pub fn dtype_name(&self, name: &str) -> Option<String> {
        let dtype = self.tensors.tensor(name).ok()?.dtype();
        matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16 | Dtype::F64)
            .then(|| format!("{dtype:?}"))
    }

    /// Shape of a tensor, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.tensor(name).ok().map(|t| t.shape().to_vec())
    }

    /// A tensor as `f32` values (row-major), converted from F32, F16 or BF16, after checking
    /// its shape equals `expected`.
    pub fn read_f32(
        &self,
        path: &Path,
        name: &str,
        expected: &[usize],
    ) -> Result<Vec<f32>, LoadError> {
        let view = self
            .tensors
            .tensor(name)
            .map_err(|_| LoadError::new(path, format!("missing tensor {name}")))?;
        if view.shape() != expected {
            return Err(LoadError::new(
                path,
                format!(
                    "tensor {name} has shape {:?}, expected {expected:?}",
                    view.shape()
                ),
            ));
        }
        let data = view.data();
        let values = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(LoadError::new(
                    path,
                    format!("tensor {name} has dtype {other:?}; only F32, F16 and BF16 are read"),
                ));
            }
        };
        Ok(values)
    }
}
