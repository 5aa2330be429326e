//! The decomposed residual stream: every term written into the stream (token embedding,
//! position embedding, each head of each layer, each layer's attention bias `b_O`, each MLP's
//! output), and, for every stream stage, which terms sum to the stream there.
//!
//! The sum is checked, not assumed: each stage carries its reconstruction error, the largest
//! |Σ terms − stream| (terms summed in f64). Two architectures break the plain sum, and the
//! decomposition says so instead of pretending:
//! - post-LN: each LayerNorm rescales the sum, so from the first LayerNorm on the stream
//!   (layer 0's `ln1`) the stream is no longer a sum of terms ([`Composition::NotASum`]);
//! - residual connections off: after a sublayer the stream is that sublayer's output alone
//!   ([`Composition::LatestSublayerOnly`]), not the sum of everything written so far.
//!
//! An intervention on a residual connection does the same to one model: zeroing the skip
//! around a sublayer leaves the stream the sum of the terms from that sublayer on
//! ([`Composition::SinceCut`]); scaling or replacing it leaves no sum at all. The analysis is
//! told which skips were changed ([`SkipChange`]).

use std::ops::Range;

use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

use super::resid::AccumulatedResid;
use super::stage::Stage;
use crate::i18n::{AnalysisText, Language};
use crate::model::{ModelConfig, NormPlacement, Params, Trace};

/// One term written into the residual stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "term", rename_all = "snake_case")]
pub enum Term {
    /// `hook_embed`: W_E[token].
    Embed,
    /// `hook_pos_embed`: W_pos[pos].
    PosEmbed,
    /// One head's output `z_h · W_O[h]` (`blocks.{layer}.attn.hook_result[head]`).
    Head {
        /// Block index.
        layer: usize,
        /// Head index.
        head: usize,
    },
    /// The attention output bias `b_O` of a block (the same vector at every position).
    AttnBias {
        /// Block index.
        layer: usize,
    },
    /// A whole attention sublayer's output, `blocks.{layer}.hook_attn_out`: the term of a
    /// sandwich block, whose post-norm makes the per-head terms non-additive.
    Attn {
        /// Block index.
        layer: usize,
    },
    /// `blocks.{layer}.hook_mlp_out`.
    Mlp {
        /// Block index.
        layer: usize,
    },
}

impl Term {
    /// Short label: `embed`, `pos`, `L0H3`, `L0 b_O`, `L0 mlp`.
    pub fn label(self) -> String {
        match self {
            Term::Embed => "embed".into(),
            Term::PosEmbed => "pos".into(),
            Term::Head { layer, head } => format!("L{layer}H{head}"),
            Term::AttnBias { layer } => format!("L{layer} b_O"),
            Term::Attn { layer } => format!("L{layer} attn"),
            Term::Mlp { layer } => format!("L{layer} mlp"),
        }
    }
}

/// Why attention is one term per layer rather than one per head, when it is: a norm sits
/// between the heads and the stream (Gemma's `ln1_post`), so the heads' outputs do not add up
/// to what is written. In `language`.
pub fn granularity_note(config: &ModelConfig, language: Language) -> Option<&'static str> {
    (config.norm == NormPlacement::Sandwich).then(|| AnalysisText::PerLayerAttention.text(language))
}

/// Why the stream at a stage is not the sum of every term written so far.
#[derive(Clone, Debug, PartialEq)]
pub enum SumBreak {
    /// Post-LN: this layer's `ln1` or `ln2` (`norm`) divides the sum by its own scale.
    PostLnNorm {
        /// Block index.
        layer: usize,
        /// `ln1` or `ln2`.
        norm: &'static str,
    },
    /// The stage is not a residual stream stage (a sublayer's output, a LayerNorm's).
    NotAStreamStage(Stage),
    /// Post-LN: layer 0's `ln1` rescaled the stream, and every later stream carries it.
    PostLnCarried,
    /// An intervention zeroed the residual connection around this sublayer (its label).
    CutZeroed(String),
    /// An intervention scaled or replaced the residual connection around this sublayer.
    CutChanged(String),
    /// Residual connections are off.
    ResidualOff,
}

impl SumBreak {
    /// The reason in a sentence, in `language`.
    pub fn text(&self, language: Language) -> String {
        match self {
            SumBreak::PostLnNorm { layer, norm } => {
                AnalysisText::PostLnDivides.fill(language, &[layer, norm])
            }
            SumBreak::NotAStreamStage(stage) => {
                AnalysisText::NotAStreamStage.fill(language, &[&stage.short_label()])
            }
            SumBreak::PostLnCarried => AnalysisText::PostLnCarries.text(language).into(),
            SumBreak::CutZeroed(sublayer) => AnalysisText::CutZeroed.fill(language, &[sublayer]),
            SumBreak::CutChanged(sublayer) => AnalysisText::CutChanged.fill(language, &[sublayer]),
            SumBreak::ResidualOff => AnalysisText::ResidualOff.text(language).into(),
        }
    }
}

/// The reason in English (the command line's and errors' language); the views use
/// [`SumBreak::text`].
impl std::fmt::Display for SumBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Language::En))
    }
}

/// How the stream at one stage is made of terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Composition {
    /// The stream is the sum of every term written so far: `terms[range]`, range from 0.
    AllTermsSoFar(Range<usize>),
    /// Residual connections are off: the stream is the sum of the latest sublayer's terms
    /// only, `terms[range]`; the earlier terms were not carried forward.
    LatestSublayerOnly(Range<usize>),
    /// An intervention zeroed the residual connection around an earlier sublayer: the stream
    /// is the sum of the terms written from that sublayer on, `terms[range]`.
    SinceCut {
        /// The terms that sum to the stream.
        range: Range<usize>,
        /// Which connection was cut.
        reason: SumBreak,
    },
    /// The stream is not a sum of terms (a LayerNorm rescaled it); the reason says which.
    NotASum {
        /// Why.
        reason: SumBreak,
    },
}

impl Composition {
    /// The terms whose sum is the stream, when it is a sum.
    pub fn terms(&self) -> Option<Range<usize>> {
        match self {
            Composition::AllTermsSoFar(range)
            | Composition::LatestSublayerOnly(range)
            | Composition::SinceCut { range, .. } => Some(range.clone()),
            Composition::NotASum { .. } => None,
        }
    }
}

/// The stream at one stage against the sum of its terms.
#[derive(Clone, Debug, PartialEq)]
pub struct StageDecomposition {
    /// The stage.
    pub stage: Stage,
    /// Which terms make it up, if any.
    pub composition: Composition,
    /// Largest |Σ terms − stream| over d_model, per row; `None` when not a sum. [rows]
    pub reconstruction_error: Option<Vec<f32>>,
}

impl StageDecomposition {
    /// The largest reconstruction error over all rows (`None` when not a sum).
    pub fn max_reconstruction_error(&self) -> Option<f32> {
        let errors = self.reconstruction_error.as_ref()?;
        Some(errors.iter().copied().fold(0.0, f32::max))
    }
}

/// Where the exact decomposition into all earlier terms stops, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct DecompositionLimit {
    /// The last stage whose stream is the sum of every term written so far.
    pub exact_until: Stage,
    /// The first stage where that no longer holds.
    pub stops_at: Stage,
    /// Why.
    pub reason: SumBreak,
}

/// Every term written into the stream and how each stream stage is made of them.
///
/// The terms' values are not copied: every term but `b_O` is an activation the trace already
/// holds (a head's output, a sublayer's), so [`Decomposition::values`] reads them from the
/// trace the decomposition was computed from. (Copying them cost a 64-token Qwen2.5-0.5B
/// trace 83 MB and 40 ms.)
#[derive(Clone, Debug, PartialEq)]
pub struct Decomposition {
    /// The terms in forward order: embed, pos, then per layer its heads, `b_O`, its MLP.
    pub terms: Vec<Term>,
    /// `b_O` of each block, for the [`Term::AttnBias`] terms (empty where a block has
    /// none). [layer][d_model]
    attn_biases: Vec<Array1<f32>>,
    /// Rows of the trace it was computed from.
    rows: usize,
    /// One entry per stage of the [`AccumulatedResid`] it was computed from, same order.
    pub stages: Vec<StageDecomposition>,
    /// `None` when every stage is the sum of all earlier terms (pre-LN with residuals).
    pub limit: Option<DecompositionLimit>,
}

impl Decomposition {
    /// Splits the stream at `resid`'s stages into terms and measures how well they sum.
    pub fn compute(params: &Params<f32>, trace: &Trace<f32>, resid: &AccumulatedResid) -> Self {
        Self::compute_with_skips(params, trace, resid, &[])
    }

    /// [`Decomposition::compute`] for a trace whose residual connections `skips` were
    /// changed by an intervention.
    pub fn compute_with_skips(
        params: &Params<f32>,
        trace: &Trace<f32>,
        resid: &AccumulatedResid,
        skips: &[SkipChange],
    ) -> Self {
        let terms = list_terms(params, trace);
        let (rows, d_model) = trace.embed.dim();
        let mut decomposition = Self {
            terms,
            attn_biases: params
                .blocks
                .iter()
                .map(|block| block.attn.b_o.clone())
                .collect(),
            rows,
            stages: Vec::new(),
            limit: None,
        };
        let terms = &decomposition.terms;
        let compositions = resid
            .stages
            .iter()
            .map(|&stage| composition(&params.config, terms, stage, skips));
        let mut running = RunningSum::new(rows, d_model);
        let stages: Vec<StageDecomposition> = resid
            .stages
            .iter()
            .zip(compositions)
            .enumerate()
            .map(|(stage_index, (&stage, composition))| {
                let stream = resid.resid.index_axis(Axis(0), stage_index); // [rows, d_model]
                let reconstruction_error = composition.terms().map(|range| {
                    running.advance_to(|term| decomposition.values(trace, term), range);
                    running.max_error_per_row(stream)
                });
                StageDecomposition {
                    stage,
                    composition,
                    reconstruction_error,
                }
            })
            .collect();
        decomposition.limit = find_limit(&stages);
        decomposition.stages = stages;
        decomposition
    }

    /// Term `index`'s vector at every row. `trace` must be the trace this decomposition was
    /// computed from (its arrays are the terms' values); `b_O` is the same row everywhere.
    /// [rows, d_model]
    pub fn values<'a>(&'a self, trace: &'a Trace<f32>, index: usize) -> ArrayView2<'a, f32> {
        assert_eq!(
            trace.embed.nrows(),
            self.rows,
            "the decomposition of another trace"
        );
        match self.terms[index] {
            Term::Embed => trace.embed.view(),
            Term::PosEmbed => trace.pos_embed.as_ref().expect("listed").view(),
            Term::Head { layer, head } => trace.layers[layer].head_result.index_axis(Axis(0), head),
            Term::AttnBias { layer } => self.attn_biases[layer]
                .broadcast((self.rows, self.attn_biases[layer].len()))
                .expect("a row broadcasts to every row"),
            Term::Attn { layer } => trace.layers[layer].attn_out.view(),
            Term::Mlp { layer } => trace.layers[layer].mlp.as_ref().expect("listed").out.view(),
        }
    }

    /// The decomposition at `stage`, if it was computed.
    pub fn at(&self, stage: Stage) -> Option<&StageDecomposition> {
        self.stages.iter().find(|s| s.stage == stage)
    }

    /// The largest reconstruction error over every stage that is a sum.
    pub fn max_reconstruction_error(&self) -> f32 {
        self.stages
            .iter()
            .filter_map(StageDecomposition::max_reconstruction_error)
            .fold(0.0, f32::max)
    }

    /// A one-line summary of where the decomposition holds, in `language`.
    pub fn describe_limit(&self, language: Language) -> String {
        match &self.limit {
            None => AnalysisText::ExactEverywhere.text(language).into(),
            Some(limit) => AnalysisText::ExactUntil.fill(
                language,
                &[
                    &limit.exact_until.short_label(),
                    &limit.stops_at.short_label(),
                    &limit.reason.text(language),
                ],
            ),
        }
    }
}

/// The terms of `trace` in forward order.
fn list_terms(params: &Params<f32>, trace: &Trace<f32>) -> Vec<Term> {
    let mut terms = vec![Term::Embed];
    if trace.pos_embed.is_some() {
        terms.push(Term::PosEmbed);
    }
    for (layer, lt) in trace.layers.iter().enumerate() {
        if lt.ln1_post.is_some() {
            terms.push(Term::Attn { layer });
        } else {
            terms.extend((0..lt.head_result.dim().0).map(|head| Term::Head { layer, head }));
            if !params.blocks[layer].attn.b_o.is_empty() {
                terms.push(Term::AttnBias { layer });
            }
        }
        if lt.mlp.is_some() {
            terms.push(Term::Mlp { layer });
        }
    }
    terms
}

/// The terms (index range) that block `layer`'s attention or MLP wrote.
fn sublayer_range(terms: &[Term], layer: usize, mlp: bool) -> Range<usize> {
    let belongs = |t: &Term| match *t {
        Term::Head { layer: l, .. } | Term::AttnBias { layer: l } | Term::Attn { layer: l } => {
            !mlp && l == layer
        }
        Term::Mlp { layer: l } => mlp && l == layer,
        Term::Embed | Term::PosEmbed => false,
    };
    let start = terms.iter().position(belongs).unwrap_or(terms.len());
    let end = terms.iter().rposition(belongs).map_or(start, |i| i + 1);
    start..end
}

/// A residual connection (the skip term around one sublayer) that an intervention changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkipChange {
    /// Block index.
    pub layer: usize,
    /// The skip around the MLP (`x' + mlp`) rather than around attention (`x + attn`).
    pub mlp: bool,
    /// Zeroed (the earlier terms are simply gone), rather than scaled or replaced.
    pub zeroed: bool,
}

/// Position of a sublayer in forward order: layer l's attention, then its MLP.
fn sublayer_order(layer: usize, mlp: bool) -> usize {
    2 * layer + usize::from(mlp)
}

impl SkipChange {
    fn order(self) -> usize {
        sublayer_order(self.layer, self.mlp)
    }

    fn sublayer_label(self) -> String {
        format!("L{} {}", self.layer, if self.mlp { "mlp" } else { "attn" })
    }
}

/// How the stream at `stage` is made of terms, from the architecture and the changed skips
/// alone (so any list of stages, in any order, gets the same answer).
fn composition(
    config: &ModelConfig,
    terms: &[Term],
    stage: Stage,
    skips: &[SkipChange],
) -> Composition {
    let post_norm = config.norm == NormPlacement::Post;
    let (layer, mlp) = match stage {
        Stage::Embed => {
            let embeddings = terms
                .iter()
                .take_while(|t| matches!(t, Term::Embed | Term::PosEmbed))
                .count();
            return Composition::AllTermsSoFar(0..embeddings);
        }
        Stage::AttnAdded { layer } => (layer, false),
        Stage::MlpAdded { layer } => (layer, true),
        Stage::Ln1 { layer } | Stage::Ln2 { layer } if post_norm => {
            let norm = if matches!(stage, Stage::Ln1 { .. }) {
                "ln1"
            } else {
                "ln2"
            };
            return Composition::NotASum {
                reason: SumBreak::PostLnNorm { layer, norm },
            };
        }
        other => {
            return Composition::NotASum {
                reason: SumBreak::NotAStreamStage(other),
            };
        }
    };
    let range = sublayer_range(terms, layer, mlp);
    if !config.residual {
        return Composition::LatestSublayerOnly(range);
    }
    // Post-LN: layer 0's ln1 is the first LayerNorm on the stream; only the sum before it,
    // `x + attn` of layer 0, is still a plain sum.
    if post_norm && (mlp || layer > 0) {
        return Composition::NotASum {
            reason: SumBreak::PostLnCarried,
        };
    }
    let latest_cut = skips
        .iter()
        .filter(|cut| cut.order() <= sublayer_order(layer, mlp))
        .max_by_key(|cut| cut.order());
    match latest_cut {
        None => Composition::AllTermsSoFar(0..range.end),
        Some(cut) if cut.zeroed => Composition::SinceCut {
            range: sublayer_range(terms, cut.layer, cut.mlp).start..range.end,
            reason: SumBreak::CutZeroed(cut.sublayer_label()),
        },
        Some(cut) => Composition::NotASum {
            reason: SumBreak::CutChanged(cut.sublayer_label()),
        },
    }
}

/// Σ terms[range] in f64, extended term by term as the stages advance (a prefix range grows
/// from one stage to the next, so every term is added once). [rows, d_model]
struct RunningSum {
    range: Range<usize>,
    sum: Array2<f64>,
}

impl RunningSum {
    fn new(rows: usize, d_model: usize) -> Self {
        Self {
            range: 0..0,
            sum: Array2::zeros((rows, d_model)),
        }
    }

    /// Makes `sum` the sum of the terms in `range` (`values` gives a term's [rows, d_model]),
    /// reusing what is already summed.
    fn advance_to<'a>(
        &mut self,
        values: impl Fn(usize) -> ArrayView2<'a, f32>,
        range: Range<usize>,
    ) {
        if range.start != self.range.start || range.end < self.range.end {
            self.sum.fill(0.0);
            self.range = range.start..range.start;
        }
        for term in self.range.end..range.end {
            Zip::from(&mut self.sum)
                .and(values(term))
                .for_each(|sum, &x| *sum += f64::from(x));
        }
        self.range.end = range.end;
    }

    /// Largest |sum − stream| over d_model, per row. `stream` [rows, d_model] → [rows]
    fn max_error_per_row(&self, stream: ArrayView2<'_, f32>) -> Vec<f32> {
        self.sum
            .outer_iter()
            .zip(stream.outer_iter())
            .map(|(sum, x)| {
                sum.iter()
                    .zip(x)
                    .map(|(&s, &x)| (s - f64::from(x)).abs())
                    .fold(0.0, f64::max) as f32
            })
            .collect()
    }
}

/// The first stage that is not the sum of all earlier terms, with the last one that is.
fn find_limit(stages: &[StageDecomposition]) -> Option<DecompositionLimit> {
    let first_broken = stages
        .iter()
        .position(|s| !matches!(s.composition, Composition::AllTermsSoFar(_)))?;
    let stops_at = &stages[first_broken];
    let reason = match &stops_at.composition {
        Composition::NotASum { reason } | Composition::SinceCut { reason, .. } => reason.clone(),
        _ => SumBreak::ResidualOff,
    };
    Some(DecompositionLimit {
        exact_until: stages[..first_broken]
            .last()
            .map_or(Stage::Embed, |s| s.stage),
        stops_at: stops_at.stage,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InitOptions, ModelConfig, forward};

    #[test]
    fn compositions_follow_the_architecture_whatever_the_stage_list() {
        let config = ModelConfig {
            n_layers: 2,
            norm: NormPlacement::Post,
            ..ModelConfig::lesson(11)
        };
        let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let trace = forward(&params, &[1, 2, 3]).unwrap();
        // Out of order, and without the LayerNorm stages in between.
        let stages = [
            Stage::AttnAdded { layer: 1 },
            Stage::Embed,
            Stage::AttnAdded { layer: 0 },
        ];
        let resid = AccumulatedResid::at_stages(&trace, &stages);
        let decomposition = Decomposition::compute(&params, &trace, &resid);
        let compositions: Vec<_> = decomposition
            .stages
            .iter()
            .map(|s| s.composition.clone())
            .collect();
        assert!(matches!(compositions[0], Composition::NotASum { .. }));
        assert_eq!(compositions[1], Composition::AllTermsSoFar(0..2));
        // embed, pos, 4 heads, b_O.
        assert_eq!(compositions[2], Composition::AllTermsSoFar(0..7));
        let error = decomposition.stages[2].max_reconstruction_error().unwrap();
        assert!(error < 1e-5, "{error:e}");
        assert_eq!(decomposition.stages[0].reconstruction_error, None);
    }
}
