//! What the Circuits view reads from the weights alone, computed in parts on a worker thread
//! so a large model shows the first part while the others are still coming: the folded
//! heads and the random baseline at once, then the K-composition scores (the induction
//! circuit's link), the copying scores, and the Q- and V-composition scores.
//!
//! Each part is behind an `Arc`, so handing a copy of the whole to the UI after each part
//! costs nothing (a Qwen2.5-0.5B's folded heads weigh 600 MB in f64).

use std::sync::Arc;

use ndarray::Array2;

use super::composition::{CompositionKind, CompositionScores, random_baseline};
use super::copying::copying_scores;
use super::fold::FoldedHeads;
use crate::model::{ModelConfig, Params};

/// Draws behind the random baseline of the composition scores.
pub const BASELINE_SAMPLES: usize = 64;

/// Seed of the baseline's random matrices (a model always gets the same baseline).
const BASELINE_SEED: u64 = 0;

/// The circuits of one model's weights, as far as they are computed.
#[derive(Clone, Debug)]
pub struct WeightCircuits {
    /// The config of the model they were computed from.
    pub config: ModelConfig,
    /// Every head's matrices with `ln1` folded in.
    pub heads: Arc<FoldedHeads>,
    /// The mean composition score of random matrices of the heads' shapes.
    pub baseline: f64,
    /// Q, K and V composition, in [`CompositionKind::ALL`] order, once computed.
    composition: [Option<Arc<CompositionScores>>; 3],
    /// Each head's OV copying score, once computed. [layer, head]
    copying: Option<Arc<Array2<f64>>>,
}

/// The parts after the first, in the order they are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitPart {
    /// Composition scores of one kind.
    Composition(CompositionKind),
    /// The OV copying scores.
    Copying,
}

impl CircuitPart {
    /// K first (what the induction lesson reads), then copying, then Q and V.
    pub const ORDER: [CircuitPart; 4] = [
        CircuitPart::Composition(CompositionKind::K),
        CircuitPart::Copying,
        CircuitPart::Composition(CompositionKind::Q),
        CircuitPart::Composition(CompositionKind::V),
    ];
}

impl WeightCircuits {
    /// The first part: the folded heads and the baseline (cheap).
    pub fn start(params: &Params<f32>) -> Self {
        let config = &params.config;
        Self {
            config: config.clone(),
            heads: Arc::new(FoldedHeads::of(params)),
            baseline: random_baseline(
                config.d_model,
                config.d_head,
                BASELINE_SAMPLES,
                BASELINE_SEED,
            ),
            composition: [None, None, None],
            copying: None,
        }
    }

    /// Everything at once (the CLI and tests; the app computes part by part).
    pub fn compute(params: &Params<f32>) -> Self {
        let mut circuits = Self::start(params);
        while circuits.compute_next(params).is_some() {}
        circuits
    }

    /// The composition scores of `kind`, once computed.
    pub fn composition(&self, kind: CompositionKind) -> Option<&CompositionScores> {
        self.composition[kind_index(kind)].as_deref()
    }

    /// The copying scores, once computed. [layer, head]
    pub fn copying(&self) -> Option<&Array2<f64>> {
        self.copying.as_deref()
    }

    /// The first part not computed yet.
    pub fn next_part(&self) -> Option<CircuitPart> {
        CircuitPart::ORDER.into_iter().find(|part| match *part {
            CircuitPart::Composition(kind) => self.composition(kind).is_none(),
            CircuitPart::Copying => self.copying.is_none(),
        })
    }

    /// Parts computed, of [`CircuitPart::ORDER`].
    pub fn parts_done(&self) -> usize {
        self.composition.iter().filter(|c| c.is_some()).count()
            + usize::from(self.copying.is_some())
    }

    /// Computes the next part from `params` (the weights the heads were folded from);
    /// returns which, or `None` when everything is computed.
    pub fn compute_next(&mut self, params: &Params<f32>) -> Option<CircuitPart> {
        let part = self.next_part()?;
        match part {
            CircuitPart::Composition(kind) => {
                let scores = CompositionScores::compute(&self.heads, kind);
                self.composition[kind_index(kind)] = Some(Arc::new(scores));
            }
            CircuitPart::Copying => {
                self.copying = Some(Arc::new(copying_scores(params, &self.heads)));
            }
        }
        Some(part)
    }
}

/// The position of `kind` in [`CompositionKind::ALL`].
fn kind_index(kind: CompositionKind) -> usize {
    CompositionKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("ALL lists every kind")
}
