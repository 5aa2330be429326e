//! Reading tensors out of a `.safetensors` buffer as `f32`, with every size checked.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

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
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| LoadError::new(path, format!("not a valid safetensors file: {e}")))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| LoadError::new(path, format!("not a valid safetensors file: {e}")))?;
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
