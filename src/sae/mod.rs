//! Sparse autoencoders (SAEs): a wide dictionary of features, few active per token, read off
//! one hook of the model — SAELens's SAEs, trained here on the open model or opened from
//! SAELens's folders.
//!
//! | module | owns |
//! | --- | --- |
//! | [`model`] | [`Sae`]: weights in SAELens's parameterisation, encode/decode of `standard`, `topk`, `jumprelu` |
//! | [`select`] | choosing the k largest pre-activations of a row |
//! | [`grad`] | the training loss of both kinds and its gradient, sparse where the kind allows |
//! | [`trainer`] | [`SaeTrainer`]: Adam, unit decoder rows, dead features (AuxK), one step at a time |
//! | [`hook`] | [`HookPoint`]: hook names, the activation in a trace, the site to patch |
//! | [`run`] | [`SaeRun`]: activations from a model over a corpus, buffered and shuffled; the spliced loss |
//! | [`splice`] | [`SaeSplice`]: reconstruct, ablate or steer at the hook during a forward pass |
//! | [`contexts`] | each feature's top-activating contexts and activation histogram over a corpus pass |
//! | [`files`] | SAELens's folder format (`cfg.json`, `sae_weights.safetensors`) and our side file |
//! | [`synthetic`] | the benchmark's activations (sparse mixtures of random directions) |
//! | [`fit`] | whether an SAE fits a model |
//!
//! Depends on [`crate::model`] and [`crate::train`] (the corpora and Adam's update); nothing
//! here knows about egui.

pub mod contexts;
pub mod files;
pub mod fit;
pub mod grad;
pub mod hook;
pub mod model;
pub mod run;
pub mod select;
pub mod splice;
pub mod synthetic;
pub mod trainer;

pub use files::{SaeFileError, SaeFolder, Sidecar};
pub use fit::{FitError, check_fit};
pub use hook::{HookKind, HookPoint};
pub use model::{Architecture, InputScale, Normalization, Sae, SaeConfig};
pub use run::{SaeRun, SaeRunError, SaeRunOptions, SplicedLoss};
pub use splice::{FeatureEdit, SaeSplice};
pub use trainer::{SaeTrainError, SaeTrainer, StepMetrics, TrainSettings};
