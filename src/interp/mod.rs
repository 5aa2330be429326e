//! Analysis derived from a [`crate::model::Trace`]: stages, the decomposed residual stream,
//! the logit lens, direct logit attribution. Computed once per trace; no GUI here.

pub mod stage;

pub use stage::{Stage, stages};
