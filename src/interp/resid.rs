//! The accumulated residual stream: the stream's value at every stage where it exists
//! (embed, after each attention, after each MLP, and in post-LN after each LayerNorm),
//! gathered into one array, with its norm per stage.
//!
//! Rows are the trace's rows: token positions for a single prompt (`batch · n_pos` rows,
//! sequence-major, for a batch).

use ndarray::{Array2, Array3, Axis};

use super::stage::{Stage, stream_stages};
use crate::model::Trace;

/// The residual stream at a list of stages.
#[derive(Clone, Debug, PartialEq)]
pub struct AccumulatedResid {
    /// The stages, in forward order.
    pub stages: Vec<Stage>,
    /// The stream at each stage. [stage, rows, d_model]
    pub resid: Array3<f32>,
    /// Its L2 norm. [stage, rows]
    pub norms: Array2<f32>,
}

impl AccumulatedResid {
    /// The stream at every stage where it exists ([`stream_stages`]).
    pub fn at_every_stage(trace: &Trace<f32>, config: &crate::model::ModelConfig) -> Self {
        Self::at_stages(trace, &stream_stages(config))
    }

    /// The stream at the given stages, which must be stream stages the trace has (see
    /// [`Stage::is_stream`]); a stage the trace lacks is an error in the caller and panics
    /// with its name.
    pub fn at_stages(trace: &Trace<f32>, stages: &[Stage]) -> Self {
        let rows = trace.embed.nrows();
        let d_model = trace.embed.ncols();
        let mut resid = Array3::zeros((stages.len(), rows, d_model));
        for (stage_index, stage) in stages.iter().enumerate() {
            let array = stage_array(trace, *stage);
            resid.index_axis_mut(Axis(0), stage_index).assign(array);
        }
        let norms = row_norms(&resid);
        Self {
            stages: stages.to_vec(),
            resid,
            norms,
        }
    }

    /// Index of `stage` in [`AccumulatedResid::stages`].
    pub fn stage_index(&self, stage: Stage) -> Option<usize> {
        self.stages.iter().position(|&s| s == stage)
    }

    /// Number of rows (token positions).
    pub fn n_rows(&self) -> usize {
        self.resid.dim().1
    }
}

/// The [rows, d_model] array of a stage, panicking with the stage's name when the trace lacks
/// it (callers pass stages built from the same config).
pub(crate) fn stage_array(trace: &Trace<f32>, stage: Stage) -> &Array2<f32> {
    stage
        .array(trace)
        .unwrap_or_else(|| panic!("the trace has no stage {}", stage.short_label()))
}

/// L2 norm of every vector along the last axis. [a, b, d] → [a, b]
pub fn row_norms(values: &Array3<f32>) -> Array2<f32> {
    values.map_axis(Axis(2), |v| {
        v.iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            .sqrt() as f32
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InitOptions, ModelConfig, Params, forward};

    #[test]
    fn stages_hold_the_trace_arrays_and_norms() {
        let config = ModelConfig {
            n_layers: 2,
            ..ModelConfig::lesson(11)
        };
        let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let trace = forward(&params, &[1, 2, 3]).unwrap();
        let acc = AccumulatedResid::at_every_stage(&trace, &config);
        assert_eq!(acc.resid.dim(), (5, 3, 128));
        let mid = acc.stage_index(Stage::AttnAdded { layer: 1 }).unwrap();
        assert_eq!(
            acc.resid.index_axis(Axis(0), mid),
            trace.layers[1].resid_mid
        );
        let row = trace.layers[1].resid_mid.row(2);
        let norm = row.dot(&row).sqrt();
        assert!((acc.norms[[mid, 2]] - norm).abs() < 1e-6);
    }
}
