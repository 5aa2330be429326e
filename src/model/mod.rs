//! The maths of the model: config, parameters, tokenizers, forward (and backward) passes.
//!
//! Nothing here knows about the GUI; everything can be tested headless.

mod attention;
pub mod backward;
pub mod bpe;
pub mod config;
pub mod describe;
pub mod few_rows;
mod few_rows_calibration;
pub mod forward;
pub mod hf_tokenizer;
pub mod hooks;
pub mod io;
pub(crate) mod linalg;
pub mod ops;
pub mod parallel;
pub mod params;
pub(crate) mod raw;
pub mod rotary;
pub mod scalar;
pub mod simd;
pub mod tokenizer;

pub use config::{Activation, ConfigError, ModelConfig, NormPlacement};
pub use forward::{
    InputError, LayerTrace, MlpTrace, TokenId, Trace, forward, forward_batch,
    forward_batch_before_unembedding,
};
pub use params::{InitOptions, Params};
pub use scalar::Scalar;
