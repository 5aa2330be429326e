//! The training settings a run gets when it names none: one definition read by the `train`
//! command's options, [`TrainOptions::new`](super::TrainOptions::new) (the GUI's runs and
//! the tests) and [`AdamWConfig::default`](super::AdamWConfig::default), so a run started
//! from a lesson and one started from the command line are the same run.

/// Updates of a lesson's run that names no length (the command requires `--steps`).
pub const STEPS: usize = 1000;
/// Peak learning rate.
pub const LR: f64 = 1e-3;
/// Linear warm-up steps before the peak.
pub const WARMUP: usize = 100;
/// Sequences per batch.
pub const BATCH: usize = 16;
/// Tokens per sequence.
pub const SEQ: usize = 64;
/// Seed of the weights and of the batch sampler.
pub const SEED: u64 = 0;
/// Decoupled weight decay of the matrices.
pub const WEIGHT_DECAY: f64 = 0.1;
/// Largest global gradient norm (0 on the command line: no clipping).
pub const GRAD_CLIP: f64 = 1.0;
/// Validation every this many steps (the command; the GUI validates about ten times a run).
pub const EVAL_EVERY: usize = 250;
