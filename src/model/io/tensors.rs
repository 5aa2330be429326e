//! Reading tensors out of a `.safetensors` buffer as `f32`, with every size checked, and
//! encoding `f32` tensors (as F32 or F16) for writing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError, View};

use super::LoadError;

/// Largest weight file read into memory (GPT-2 XL in f32 is 6.4 GB).
pub const MAX_FILE_BYTES: u64 = 8 << 30;

/// Reads a whole file after checking its size.
pub fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    checked_file_len(path)?;
    std::fs::read(path).map_err(|e| LoadError::new(path, e.to_string()))
}

/// The length of a weight file, refused when it is not a file, empty or over the limit.
pub fn checked_file_len(path: &Path) -> Result<u64, LoadError> {
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
    Ok(meta.len())
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

/// The safetensors crate's error about a file of `file_len` bytes whose first 8 bytes
/// announce a header of `announced` bytes, said in terms of the file.
fn describe(error: &SafeTensorError, file_len: u64, announced: Option<u64>) -> String {
    let after_length = file_len.saturating_sub(8);
    match (error, announced) {
        (SafeTensorError::HeaderTooSmall, _) => {
            format!("the file has {file_len} bytes, fewer than the 8 that give its header's length")
        }
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
            after_length.saturating_sub(n)
        ),
        _ => error.to_string(),
    }
}

/// Largest safetensors header read (the crate's own limit is 100 MB).
const MAX_HEADER_BYTES: u64 = 100 << 20;

/// Where a safetensors file's bytes are: in memory, or in a file read piece by piece (so a
/// checkpoint is never held twice, raw and converted).
enum Bytes<'data> {
    Memory(&'data [u8]),
    File(std::fs::File),
}

impl Bytes<'_> {
    /// Fills `out` with the bytes at `offset` (the caller checked they exist).
    fn read_at(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        match self {
            Bytes::Memory(bytes) => {
                let start = usize::try_from(offset).map_err(std::io::Error::other)?;
                let piece = bytes
                    .get(start..start + out.len())
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
                out.copy_from_slice(piece);
                Ok(())
            }
            Bytes::File(file) => read_exact_at(file, offset, out),
        }
    }
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, out, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &std::fs::File, mut offset: u64, mut out: &mut [u8]) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !out.is_empty() {
        match file.seek_read(out, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                out = &mut out[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Bytes converted per read: each converting thread holds one such buffer.
const CONVERT_CHUNK_BYTES: usize = 4 << 20;

/// Tensors at least this large are converted by two threads.
const PARALLEL_CONVERT_VALUES: usize = 1 << 20;

/// How far a load has got, in bytes of weights read (shared with the UI's progress bar).
#[derive(Debug, Default)]
pub struct LoadProgress {
    done: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl LoadProgress {
    /// Adds `bytes` to the bytes expected in all.
    pub fn expect(&self, bytes: u64) {
        self.total
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts `bytes` read and converted.
    pub fn advance(&self, bytes: u64) {
        self.done
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The fraction read so far, 0 ..= 1 (0 before the total is known).
    pub fn fraction(&self) -> f32 {
        let total = self.total.load(std::sync::atomic::Ordering::Relaxed);
        let done = self.done.load(std::sync::atomic::Ordering::Relaxed);
        if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).min(1.0) as f32
        }
    }
}

/// A parsed safetensors file: its header (tensor names, dtypes, shapes, offsets, the
/// `__metadata__` map) and the bytes behind it, in memory or in the file.
pub struct TensorFile<'data> {
    bytes: Bytes<'data>,
    header: Metadata,
    /// Offset of the first tensor byte (8 + the header's length).
    data_start: u64,
    /// Counts the bytes [`TensorFile::read_f32`] converts, if anyone watches.
    progress: Option<std::sync::Arc<LoadProgress>>,
    /// The free-form string map of the header.
    pub metadata: HashMap<String, String>,
}

impl<'data> TensorFile<'data> {
    /// Parses the header of a file held in memory; every tensor must lie inside the buffer,
    /// without gaps or overlaps.
    pub fn parse(path: &Path, bytes: &'data [u8]) -> Result<Self, LoadError> {
        Self::from_bytes(path, Bytes::Memory(bytes), bytes.len() as u64)
    }

    fn from_bytes(path: &Path, bytes: Bytes<'data>, file_len: u64) -> Result<Self, LoadError> {
        let mut announced = None;
        let invalid = |e: SafeTensorError, announced: Option<u64>| {
            LoadError::new(
                path,
                format!(
                    "not a valid safetensors file: {}",
                    describe(&e, file_len, announced)
                ),
            )
        };
        let result = (|| {
            let mut length = [0u8; 8];
            if file_len < 8 {
                return Err(SafeTensorError::HeaderTooSmall);
            }
            bytes
                .read_at(0, &mut length)
                .map_err(SafeTensorError::IoError)?;
            let n = u64::from_le_bytes(length);
            announced = Some(n);
            if n > MAX_HEADER_BYTES {
                return Err(SafeTensorError::HeaderTooLarge);
            }
            if n > file_len - 8 {
                return Err(SafeTensorError::InvalidHeaderLength);
            }
            let mut header = vec![0u8; n as usize];
            bytes
                .read_at(8, &mut header)
                .map_err(SafeTensorError::IoError)?;
            let text = std::str::from_utf8(&header).map_err(SafeTensorError::InvalidHeader)?;
            let parsed: Metadata = serde_json::from_str(text)
                .map_err(SafeTensorError::InvalidHeaderDeserialization)?;
            if parsed.data_len() as u64 + 8 + n != file_len {
                return Err(SafeTensorError::MetadataIncompleteBuffer);
            }
            Ok((parsed, 8 + n))
        })();
        let (header, data_start) = result.map_err(|e| invalid(e, announced))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        Ok(Self {
            bytes,
            header,
            data_start,
            progress: None,
            metadata,
        })
    }

    /// Opens a file and parses its header; the tensors are read when asked for, so the
    /// file's bytes are never all in memory at once.
    pub fn open(path: &Path) -> Result<TensorFile<'static>, LoadError> {
        let len = checked_file_len(path)?;
        let file = std::fs::File::open(path).map_err(|e| LoadError::new(path, e.to_string()))?;
        TensorFile::from_bytes(path, Bytes::File(file), len)
    }

    /// Reports the bytes converted by [`TensorFile::read_f32`] to `progress`.
    pub fn report_to(&mut self, progress: std::sync::Arc<LoadProgress>) {
        self.progress = Some(progress);
    }

    /// Names of every tensor.
    pub fn names(&self) -> Vec<String> {
        self.header.offset_keys()
    }

    /// Whether a tensor is present.
    pub fn contains(&self, name: &str) -> bool {
        self.header.info(name).is_some()
    }

    /// The stored dtype of a float tensor (`F32`, `F16`, `BF16`), if present and a float.
    pub fn dtype_name(&self, name: &str) -> Option<String> {
        let dtype = self.header.info(name)?.dtype;
        matches!(dtype, Dtype::F32 | Dtype::F16 | Dtype::BF16 | Dtype::F64)
            .then(|| format!("{dtype:?}"))
    }

    /// Shape of a tensor, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.header.info(name).map(|t| t.shape.clone())
    }

    /// A tensor as `f32` values (row-major), converted from F32, F16 or BF16, after checking
    /// its shape equals `expected`.
    pub fn read_f32(
        &self,
        path: &Path,
        name: &str,
        expected: &[usize],
    ) -> Result<Vec<f32>, LoadError> {
        let mut values = vec![0.0f32; expected.iter().product()];
        self.read_f32_into(path, name, expected, &mut values)?;
        Ok(values)
    }

    /// [`TensorFile::read_f32`] into `values` (row-major, as many as `expected` has). Large
    /// tensors are read and converted by two threads, a few MB at a time.
    pub fn read_f32_into(
        &self,
        path: &Path,
        name: &str,
        expected: &[usize],
        values: &mut [f32],
    ) -> Result<(), LoadError> {
        let info = self
            .header
            .info(name)
            .ok_or_else(|| LoadError::new(path, format!("missing tensor {name}")))?;
        if info.shape != expected {
            return Err(LoadError::new(
                path,
                format!(
                    "tensor {name} has shape {:?}, expected {expected:?}",
                    info.shape
                ),
            ));
        }
        let width = match info.dtype {
            Dtype::F32 => 4,
            Dtype::F16 | Dtype::BF16 => 2,
            other => {
                return Err(LoadError::new(
                    path,
                    format!("tensor {name} has dtype {other:?}; only F32, F16 and BF16 are read"),
                ));
            }
        };
        let start = self.data_start + info.data_offsets.0 as u64;
        let count = (info.data_offsets.1 - info.data_offsets.0) / width;
        if values.len() != count {
            return Err(LoadError::new(
                path,
                format!("tensor {name}: {count} values, room for {}", values.len()),
            ));
        }
        let convert = |out: &mut [f32], first: usize| -> std::io::Result<()> {
            let mut buffer = vec![0u8; CONVERT_CHUNK_BYTES.min(out.len() * width)];
            let mut at = start + (first * width) as u64;
            for piece in out.chunks_mut(CONVERT_CHUNK_BYTES / width) {
                let raw = &mut buffer[..piece.len() * width];
                self.bytes.read_at(at, raw)?;
                decode(info.dtype, raw, piece);
                at += raw.len() as u64;
                if let Some(progress) = &self.progress {
                    progress.advance(raw.len() as u64);
                }
            }
            Ok(())
        };
        let result = if count >= PARALLEL_CONVERT_VALUES && crate::model::parallel::cores() > 1 {
            let (first, second) = values.split_at_mut(count / 2);
            let offset = first.len();
            std::thread::scope(|scope| {
                let helper = scope.spawn(|| convert(second, offset));
                let mine = convert(first, 0);
                mine.and(
                    helper
                        .join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("panicked"))),
                )
            })
        } else {
            convert(values, 0)
        };
        result.map_err(|e| LoadError::new(path, format!("reading tensor {name}: {e}")))
    }
}

/// Little-endian `raw` values of `dtype` (F32, F16 or BF16) into `out`.
fn decode(dtype: Dtype, raw: &[u8], out: &mut [f32]) {
    match dtype {
        Dtype::F32 => {
            for (y, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                *y = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Dtype::F16 => {
            for (y, b) in out.iter_mut().zip(raw.chunks_exact(2)) {
                *y = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        // bf16 is the top half of an f32.
        _ => {
            for (y, b) in out.iter_mut().zip(raw.chunks_exact(2)) {
                *y = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16);
            }
        }
    }
}
