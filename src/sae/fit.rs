//! Whether an SAE can be opened on a model: its `metadata.hook_name` must name an activation
//! the model has, and its `d_in` must be that activation's width (`d_model` for every hook
//! an SAE reads here). The model's name is not compared: a student's model is often a file
//! whose name changed since the SAE was trained.

use super::hook::{HookError, HookPoint};
use super::model::SaeConfig;
use crate::model::config::ModelConfig;

/// Why an SAE does not fit a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// The SAE's config names no hook.
    #[error("the SAE does not say which hook it reads (cfg.json has no metadata.hook_name)")]
    NoHook,
    /// The hook is unknown or absent from this model.
    #[error("the SAE reads {0}")]
    Hook(#[from] HookError),
    /// The widths differ.
    #[error(
        "the SAE reads vectors of {d_in} values at {hook}, but this model's are {d_model} wide"
    )]
    Width {
        /// The hook.
        hook: String,
        /// The SAE's `d_in`.
        d_in: usize,
        /// The model's `d_model`.
        d_model: usize,
    },
}

/// The hook an SAE with `config` reads in a model with `model`'s config, or why it cannot.
pub fn check_fit(config: &SaeConfig, model: &ModelConfig) -> Result<HookPoint, FitError> {
    let name = config.hook_name().ok_or(FitError::NoHook)?;
    let hook = HookPoint::parse(name)?;
    hook.check(model)?;
    if config.d_in != model.d_model {
        return Err(FitError::Width {
            hook: hook.name(),
            d_in: config.d_in,
            d_model: model.d_model,
        });
    }
    Ok(hook)
}
