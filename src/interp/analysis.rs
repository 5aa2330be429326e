//! Everything derived from one trace, computed once: the accumulated residual at every
//! stream stage, its decomposition into terms, and the logit lens. Per-stage contributions and
//! direct logit attribution are cheap and computed on demand for the stage and token a view
//! selects.

use super::attribution::{
    AttributionError, LogitAttribution, direct_logit_attribution,
    direct_logit_attribution_given_logits, logit_difference_attribution,
};
use super::contributions::TermContributions;
use super::lens::{LensOptions, LogitLens};
use super::resid::AccumulatedResid;
use super::stage::{Stage, boundary_stages, stream_stages};
use super::terms::{Decomposition, SkipChange};
use crate::model::{ModelConfig, Params, TokenId, Trace};

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

impl LensStages {
    /// The stages themselves for a model of `config`.
    pub fn of(self, config: &ModelConfig) -> Vec<Stage> {
        match self {
            LensStages::EveryStreamStage => stream_stages(config),
            LensStages::LayerBoundaries => boundary_stages(config),
        }
    }
}

/// Options of [`TraceAnalysis::compute`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnalysisOptions {
    /// How the lens applies the final LayerNorm, and its top-k.
    pub lens: LensOptions,
    /// Which stages the lens covers.
    pub lens_stages: LensStages,
}

/// The stream at every stream stage and its decomposition into terms, with what the views
/// derive from them on demand (contributions, direct logit attribution): the analysis of a
/// trace without the lens.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamTerms {
    /// The stream at every stream stage. [stage, rows, d_model]
    pub resid: AccumulatedResid,
    /// The stream split into terms at those stages, with reconstruction errors.
    pub decomposition: Decomposition,
}

impl StreamTerms {
    /// The terms of `trace` (run with the residual connections `skips` changed by an
    /// intervention, see [`Interventions::skip_changes`]).
    ///
    /// [`Interventions::skip_changes`]: super::interventions::Interventions::skip_changes
    pub fn compute(params: &Params<f32>, trace: &Trace<f32>, skips: &[SkipChange]) -> Self {
        let (resid, decomposition) = decompose(params, trace, skips);
        Self {
            resid,
            decomposition,
        }
    }

    /// Norms, projections and shares of the terms at `stage` (`None` where the stream is not
    /// a sum of terms). `trace` is the trace these terms were computed from.
    pub fn contributions(&self, trace: &Trace<f32>, stage: Stage) -> Option<TermContributions> {
        TermContributions::at(&self.decomposition, trace, &self.resid, stage)
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

    /// [`StreamTerms::attribution`] for a trace whose logits are held elsewhere (the
    /// explorer computes them after the trace; see
    /// [`direct_logit_attribution_given_logits`]).
    pub fn attribution_given_logits<'a>(
        &self,
        params: &Params<f32>,
        trace: &Trace<f32>,
        logits_of_row: &dyn Fn(usize) -> Option<ndarray::ArrayView1<'a, f32>>,
        token: TokenId,
    ) -> Result<LogitAttribution, AttributionError> {
        direct_logit_attribution_given_logits(
            params,
            trace,
            logits_of_row,
            &self.decomposition,
            token,
        )
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

/// The analysis of one trace (a pure function of the parameters and the trace): its
/// [`StreamTerms`] (reached through `Deref`) and the whole logit lens, as the CLI and the
/// tests use it. The explorer keeps the lens as a progressively filled
/// [`super::lens_grid::LensGrid`] instead.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceAnalysis {
    /// The stream and its terms.
    pub terms: StreamTerms,
    /// The logit lens. [stage, rows, d_vocab]
    pub lens: LogitLens,
}

impl std::ops::Deref for TraceAnalysis {
    type Target = StreamTerms;

    fn deref(&self) -> &StreamTerms {
        &self.terms
    }
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
        let terms = StreamTerms::compute(params, trace, skips);
        let lens_stages = options.lens_stages.of(&params.config);
        let lens = LogitLens::compute(params, trace, &lens_stages, options.lens);
        Self { terms, lens }
    }
}
