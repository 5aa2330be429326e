//! Analysis derived from a [`crate::model::Trace`]: stages, the accumulated and decomposed
//! residual stream, the logit lens, term contributions and direct logit attribution.
//! Computed once per trace ([`TraceAnalysis`]); plain structs, no GUI here.
//!
//! Shapes: `rows` are the trace's token positions (`batch · n_pos` for a batch), `stage`
//! indexes the list of stages a result was computed at, `term` indexes
//! [`Decomposition::terms`].

pub mod analysis;
pub mod attribution;
pub mod circuits;
pub mod contributions;
pub mod head_scores;
pub mod interventions;
pub mod lens;
pub mod lens_grid;
pub mod patching;
pub mod resid;
pub mod stage;
pub mod terms;
pub mod vocab_rows;

pub use analysis::{AnalysisOptions, LensStages, StreamTerms, TraceAnalysis};
pub use attribution::{AttributionError, LogitAttribution};
pub use contributions::TermContributions;
pub use lens::{LensNorm, LensOptions, LogitLens};
pub use resid::AccumulatedResid;
pub use stage::{Stage, boundary_stages, resid_hooks, stages, stream_stages};
pub use terms::{Composition, Decomposition, DecompositionLimit, SkipChange, SumBreak, Term};
