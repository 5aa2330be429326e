//! Training: data and synthetic tasks, presets, AdamW, `train_step`, and a worker thread that
//! the GUI drives through commands and events.
//!
//! Depends only on [`crate::model`]; nothing here knows about egui. The same
//! [`step::train_step`] serves the CLI (`train`, `bench train`), the GUI worker and the tests.

pub mod adamw;
pub mod compare;
pub mod data;
pub mod defaults;
pub mod presets;
pub mod step;
pub mod tasks;
pub mod timeline;
pub mod trainer;
pub mod worker;

pub use adamw::{AdamW, AdamWConfig, LrSchedule};
pub use data::{Batch, BatchSource, TextCorpus, TextLevel};
pub use presets::{PRESETS, preset_config};
pub use step::{StepStats, TrainError, evaluate, train_step};
pub use trainer::{TrainOptions, Trainer};
pub use worker::{TrainCommand, TrainEvent, TrainWorker};
