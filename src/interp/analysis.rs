//! Everything derived from one trace, computed once: the accumulated residual at every
//! stream stage, its decomposition into terms, and the logit lens. Per-stage contributions and
//! direct logit attribution are cheap and computed on demand for the stage and token a view
//! selects.

use super::attribution::{
    AttributionError, LogitAttribution, direct_logit_attribution, logit_difference_attribution,
};
use super::contributions::TermContributions;
use super::lens::{LensOptions, LogitLens};
use super::resid::AccumulatedResid;
use super::stage::{Stage, boundary_stages, stream_stages};
use super::terms::{Decomposition, SkipChange};
use crate::model::{Params, TokenId, Trace};

/// The stream at every stream stage and its decomposition into terms: [`TraceAnalysis`]
/// without the lens (what `trace --analysis` needs).
pub fn decompose(
    params: &Params<f32>,
    trace: &Trace<f32>,
    skips: &[SkipChange],
) -> (AccumulatedResid, Decomposition) {
    let resid = AccumulatedResid::at_stages(trace, &stream_stages(&params.config));
    let decomposition = Decomposition::compute_with_skips(params, trace, &resid, skips);
    (resid, decomposition)
}

/// Which stages the logit lens covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LensStages {
    /// Every stream stage, mid-block included ([`stream_stages`]).
    #[default]
    EveryStreamStage,
    /// The `n_layers + 1` layer boundaries only ([`boundary_stages`]), as PyTorch's usual lens.
    LayerBoundaries,
}

/// Options of [`TraceAnalysis::compute`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnalysisOptions {
    /// How the lens applies the final LayerNorm, and its top-k.
    pub lens: LensOptions,
    /// Which stages the lens covers.
    pub lens_stages: LensStages,
}

/// The analysis of one trace (a pure function of the parameters and the trace).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceAnalysis {
    /// The stream at every stream stage. [stage, rows, d_model]
    pub resid: AccumulatedResid,
    /// The stream split into terms at those stages, with reconstruction errors.
    pub decomposition: Decomposition,
    /// The logit lens. [stage, rows, d_vocab]
    pub lens: LogitLens,
}

impl TraceAnalysis {
    /// Computes the analysis of `trace`, which `params` produced.
    pub fn compute(params: &Params<f32>, trace: &Trace<f32>, options: AnalysisOptions) -> Self {
        Self::compute_with_skips(params, trace, options, &[])
    }

    /// [`TraceAnalysis::compute`] for a trace run with the residual connections `skips`
    /// changed by an intervention (see [`Interventions::skip_changes`]).
    ///
    /// [`Interventions::skip_changes`]: super::interventions::Interventions::skip_changes
    pub fn compute_with_skips(
        params: &Params<f32>,
        trace: &Trace<f32>,
        options: AnalysisOptions,
        skips: &[SkipChange],
    ) -> Self {
        let config = &params.config;
        let (resid, decomposition) = decompose(params, trace, skips);
        let lens_stages = match options.lens_stages {
            LensStages::EveryStreamStage => resid.stages.clone(),
            LensStages::LayerBoundaries => boundary_stages(config),
        };
        let lens = LogitLens::compute(params, trace, &lens_stages, options.lens);
        Self {
            resid,
            decomposition,
            lens,
        }
    }

    /// Norms, projections and shares of the terms at `stage` (`None` where the stream is not
    /// a sum of terms).
    pub fn contributions(&self, stage: Stage) -> Option<TermContributions> {
        TermContributions::at(&self.decomposition, &self.resid, stage)
    }

    /// Direct logit attribution of `token`'s logit (see [`super::attribution`]).
    pub fn attribution(
        &self,
        params: &Params<f32>,
        trace: &Trace<f32>,
        token: TokenId,
    ) -> Result<LogitAttribution, AttributionError> {
        direct_logit_attribution(params, trace, &self.decomposition, token)
    }

    /// Direct logit attribution of `logit[token] − logit[minus]`.
    pub fn logit_difference(
        &self,
        params: &Params<f32>,
        trace: &Trace<f32>,
        token: TokenId,
        minus: TokenId,
    ) -> Result<LogitAttribution, AttributionError> {
        logit_difference_attribution(params, trace, &self.decomposition, token, minus)
    }
}
