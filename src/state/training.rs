//! The training panel's state as plain data: the setup form ([`TrainingSetup`]), the run's
//! status and history (losses, validation, per-layer gradient norms), the checkpoint
//! timeline with head scores per snapshot, the residual on/off comparison, and the UI frame
//! times measured while it all runs. What the commands do is in `training_run.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use super::analysis::Analysis;
use super::export::{Cell, Table};
use super::jobs::Waker;
use super::snapshots::SnapshotWorker;
use crate::i18n::{Language, Message, TrainText};
use crate::interp::head_scores::{HeadScores, ScoreProbe};
use crate::lesson::state::TrainingRun;
use crate::model::io::LoadedModel;
use crate::model::tokenizer::Tokenizer;
use crate::model::{ModelConfig, Params};
use crate::train::compare::{ComparePoint, CompareWorker};
use crate::train::data::{BatchSource, TextCorpus, TextLevel};
use crate::train::defaults;
use crate::train::tasks::task_source;
use crate::train::timeline::Timeline;
use crate::train::worker::{Evaluation, StepPoint};
use crate::train::{TrainOptions, TrainWorker, preset_config};

/// The shipped corpus (`data/shakespeare.txt`), compiled in so it is always there.
pub const SHAKESPEARE: &str = include_str!("../../data/shakespeare.txt");

/// Memory the checkpoint timeline may hold in parameter snapshots.
pub const TIMELINE_BUDGET_BYTES: usize = 256 << 20;

/// Where the training text comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum DataChoice {
    /// The shipped Shakespeare corpus.
    Shakespeare,
    /// A built-in task by name (`induction`, `copy`, `reverse`, `sentences`).
    Task(String),
    /// A UTF-8 text file chosen by the user.
    File(PathBuf),
}

impl DataChoice {
    /// A label for the data menu, in `language` (task names and file names as they are).
    pub fn label(&self, language: Language) -> String {
        match self {
            DataChoice::Shakespeare => TrainText::Shakespeare.text(language).into(),
            DataChoice::Task(name) => TrainText::TaskNamed.fill(language, &[name]),
            DataChoice::File(path) => {
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                TrainText::FileNamed.fill(language, &[&name])
            }
        }
    }

    /// Reads the lesson syntax: `shakespeare`, `task:NAME` or `file:PATH`.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "shakespeare" {
            return Some(DataChoice::Shakespeare);
        }
        if let Some(name) = text.strip_prefix("task:").filter(|n| !n.is_empty()) {
            return Some(DataChoice::Task(name.to_string()));
        }
        text.strip_prefix("file:")
            .filter(|p| !p.is_empty())
            .map(|p| DataChoice::File(PathBuf::from(p)))
    }
}

/// The training form.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSetup {
    /// A preset name (see [`crate::train::PRESETS`]).
    pub preset: String,
    /// The data.
    pub data: DataChoice,
    /// Number of updates.
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Sequences per batch.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq: usize,
    /// Seed of the weights and the batches.
    pub seed: u64,
    /// Residual connections on/off (`None`: the preset's own).
    pub residual: Option<bool>,
    /// Train twice, with and without residual connections (Lemma 2.2).
    pub compare_residual: bool,
}

impl Default for TrainingSetup {
    /// The induction task on the attention-only preset, with the settings of the shipped
    /// `models/induction.safetensors` (see models/README.md): the induction heads form
    /// between steps 3,000 and 4,000, visibly, in the attention view and the head scores.
    /// That recipe's length, learning rate and batch differ from the shared [`defaults`].
    fn default() -> Self {
        Self {
            preset: "induction".into(),
            data: DataChoice::Task("induction".into()),
            steps: 5000,
            lr: 3e-3,
            batch: 32,
            seq: defaults::SEQ,
            seed: defaults::SEED,
            residual: None,
            compare_residual: false,
        }
    }
}

impl TrainingSetup {
    /// The initial weights' options: the setup's seed with the default scale.
    pub fn init_options(&self) -> crate::model::InitOptions {
        crate::model::InitOptions {
            seed: self.seed,
            ..crate::model::InitOptions::default()
        }
    }

    /// The setup a lesson step asks for; what it leaves out is the `train` command's
    /// [`defaults`], so a lesson's numbers measured with the command line come out the same
    /// here.
    pub fn from_lesson(run: &TrainingRun) -> Self {
        let data = run
            .data
            .as_deref()
            .and_then(DataChoice::parse)
            .unwrap_or(DataChoice::Shakespeare);
        Self {
            preset: run.preset.clone(),
            seq: run.seq.unwrap_or(defaults::SEQ),
            data,
            steps: run.steps.map_or(defaults::STEPS, |s| s as usize),
            lr: run.lr.unwrap_or(defaults::LR),
            batch: run.batch.unwrap_or(defaults::BATCH),
            seed: run.seed.unwrap_or(defaults::SEED),
            residual: run.residual,
            compare_residual: run.compare_residual,
        }
    }

    /// Word-level tokens for the `word` preset, characters otherwise.
    pub fn text_level(&self) -> TextLevel {
        if self.preset == "word" {
            TextLevel::Word
        } else {
            TextLevel::Char
        }
    }

    /// Builds the data source (reads and tokenizes a file: call it off the UI thread).
    pub fn data_source(&self) -> Result<Arc<dyn BatchSource>, String> {
        Ok(match &self.data {
            DataChoice::Shakespeare => Arc::new(TextCorpus::from_text(
                SHAKESPEARE,
                self.text_level(),
                "shakespeare",
            )?),
            DataChoice::Task(name) => Arc::from(task_source(name)?),
            DataChoice::File(path) => Arc::new(TextCorpus::from_file(path, self.text_level())?),
        })
    }

    /// The model shape for a vocabulary of `d_vocab` tokens.
    pub fn config(&self, d_vocab: usize) -> Result<ModelConfig, String> {
        let mut config = preset_config(&self.preset, d_vocab)?;
        if let Some(residual) = self.residual {
            config.residual = residual;
        }
        Ok(config)
    }

    /// Optimizer and schedule as the `train` command's [`defaults`] (warm-up, cosine decay to
    /// the last step, AdamW's weight decay and clipping); validation about ten times per run
    /// (it does not change the training).
    pub fn options(&self) -> TrainOptions {
        let mut options = TrainOptions::new(self.steps);
        options.batch = self.batch;
        options.seq = self.seq;
        options.seed = self.seed;
        options.schedule.lr = self.lr;
        options.eval_every = (self.steps / 10).clamp(10, 250);
        options
    }

    /// A name for the model being trained: `induction on task: induction`. The same in both
    /// languages: it names the saved file too.
    pub fn model_name(&self) -> String {
        let data = self.data.label(Language::En).to_lowercase();
        format!("{} on {data}", self.preset)
    }

    /// The sequences the heads are scored on during the run: for the symbol tasks
    /// `BOS r r` over the task's symbols, otherwise `r r` over the whole vocabulary; never
    /// longer than the training sequences.
    pub fn score_probe(&self, config: &ModelConfig) -> Result<ScoreProbe, String> {
        let task = match &self.data {
            DataChoice::Task(name) => Some(name.as_str()),
            _ => None,
        };
        ScoreProbe::for_data(config.d_vocab, self.seq.min(config.n_ctx), task)
    }
}

/// Where the run is.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingStatus {
    /// Nothing started yet.
    Idle,
    /// Reading the data and building the model.
    Preparing,
    /// Stepping.
    Running,
    /// Paused by the user.
    Paused,
    /// Ended: every step taken, or stopped.
    Finished {
        /// Stopped before the last step.
        stopped: bool,
    },
    /// Could not start, diverged or failed; the message says why.
    Failed(Message),
}

impl TrainingStatus {
    /// Preparing, running or paused.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            TrainingStatus::Preparing | TrainingStatus::Running | TrainingStatus::Paused
        )
    }
}

/// Everything one run reported.
#[derive(Clone, Debug, Default)]
pub struct RunHistory {
    /// What is trained on what.
    pub description: String,
    /// Steps of the run.
    pub total_steps: usize,
    /// Tokens per step (batch × seq).
    pub tokens_per_step: usize,
    /// Every step, in order.
    pub points: Vec<StepPoint>,
    /// Every validation, in order.
    pub evaluations: Vec<Evaluation>,
    /// Throughput over the latest progress batch.
    pub tokens_per_s: f64,
}

impl RunHistory {
    /// Every step as a row, for export: step, training loss, validation loss (where one was
    /// measured, else empty), learning rate, gradient norm, and each block's attention and MLP
    /// gradient norms.
    pub fn table(&self) -> Table {
        let n_layers = self.points.first().map_or(0, |p| p.layer_grad_norms.len());
        let mut columns = vec![
            "step".to_string(),
            "train_loss".into(),
            "val_loss".into(),
            "lr".into(),
            "grad_norm".into(),
        ];
        for layer in 0..n_layers {
            columns.push(format!("L{layer}_attn_grad_norm"));
            columns.push(format!("L{layer}_mlp_grad_norm"));
        }
        let mut table = Table::new(&columns.iter().map(String::as_str).collect::<Vec<_>>());
        for point in &self.points {
            let val_loss = self
                .evaluations
                .iter()
                .find(|e| e.step == point.step)
                .map_or(Cell::Text(String::new()), |e| e.val_loss.into());
            let mut row = vec![
                point.step.into(),
                point.train_loss.into(),
                val_loss,
                point.lr.into(),
                point.grad_norm.into(),
            ];
            for norms in &point.layer_grad_norms {
                row.push(norms.attn.into());
                row.push(norms.mlp.into());
            }
            table.push(row);
        }
        table
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.points.last().map_or(0, |p| p.step)
    }

    /// Fraction of the run done, 0..=1.
    pub fn fraction(&self) -> f32 {
        (self.steps_done() as f32 / self.total_steps.max(1) as f32).min(1.0)
    }

    /// Time left at the current throughput.
    pub fn time_left(&self) -> Option<Duration> {
        let steps_per_s = self.tokens_per_s / self.tokens_per_step.max(1) as f64;
        let left = self.total_steps.saturating_sub(self.steps_done()) as f64;
        (steps_per_s > 0.0).then(|| Duration::from_secs_f64(left / steps_per_s))
    }
}

/// The two runs of the residual on/off experiment. `[with, without]`.
#[derive(Clone, Debug, Default)]
pub struct ComparisonHistory {
    /// Points of the run with residual connections, then without.
    pub points: [Vec<ComparePoint>; 2],
    /// Steps of each run.
    pub total_steps: usize,
}

/// Recent UI frame times: a measurement for developers, logged on stderr and shown in the
/// training panel only when `RESIDUAL_EXPLORER_LOG_FRAMES` is set.
#[derive(Clone, Debug, Default)]
pub struct FrameTimes {
    /// Whether the times are logged and shown (for developers; students never see them).
    pub shown: bool,
    /// CPU time of `draw_ui` (the app's own work), newest last, at most [`Self::KEEP`].
    pub draw: Vec<f32>,
    /// eframe's whole-frame CPU time (drawing, tessellation, painting), newest last.
    pub full: Vec<f32>,
    logged_frames: std::cell::Cell<usize>,
}

impl FrameTimes {
    /// Frames kept.
    pub const KEEP: usize = 600;

    /// Adds one frame's `draw` time and, when known, the previous frame's `full` time (s).
    pub fn record(&mut self, draw: f32, full: Option<f32>) {
        push_bounded(&mut self.draw, draw);
        if let Some(full) = full {
            push_bounded(&mut self.full, full);
        }
    }

    /// Frame times shown and logged when `RESIDUAL_EXPLORER_LOG_FRAMES` is set.
    pub fn from_env() -> Self {
        Self {
            shown: std::env::var_os("RESIDUAL_EXPLORER_LOG_FRAMES").is_some(),
            ..Self::default()
        }
    }

    /// When [`Self::shown`], prints the medians every `frames` frames on stderr with
    /// `context` (the view, whether training runs): how the frame time under training is
    /// measured.
    pub fn log_every(&self, frames: usize, context: impl FnOnce() -> String) {
        self.logged_frames.set(self.logged_frames.get() + 1);
        if self.shown && self.logged_frames.get().is_multiple_of(frames) {
            let (draw, full) = self.medians_ms();
            eprintln!(
                "{}: frame time over the last {} frames: median draw {:.2} ms, median whole \
                 frame {:.2} ms (95th percentile {:.2} ms)",
                context(),
                self.draw.len(),
                draw.unwrap_or(f32::NAN),
                full.unwrap_or(f32::NAN),
                percentile_ms(&self.full, 0.95).unwrap_or(f32::NAN)
            );
        }
    }

    /// Median of the recent draw times and full times, in milliseconds.
    pub fn medians_ms(&self) -> (Option<f32>, Option<f32>) {
        (median_ms(&self.draw), median_ms(&self.full))
    }
}

fn push_bounded(values: &mut Vec<f32>, value: f32) {
    if values.len() >= FrameTimes::KEEP {
        values.remove(0);
    }
    values.push(value);
}

fn median_ms(values: &[f32]) -> Option<f32> {
    percentile_ms(values, 0.5)
}

/// The `fraction` quantile (nearest rank) of `values` in seconds, as milliseconds.
fn percentile_ms(values: &[f32], fraction: f32) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let index = ((sorted.len() - 1) as f32 * fraction).round() as usize;
    Some(sorted[index] * 1000.0)
}

/// What the run's helper threads send back to the UI.
pub(crate) enum TrainingMessage {
    /// The model is built and the worker started.
    Started(Box<StartedRun>),
    /// The two comparison runs started.
    ComparisonStarted(CompareWorker, usize),
    /// Preparing failed.
    Failed(Message),
    /// The text-file dialog closed (`Err`: no dialog could open).
    CorpusChosen(Result<Option<PathBuf>, Message>),
}

/// A run that has just started.
pub(crate) struct StartedRun {
    pub worker: TrainWorker,
    pub model: LoadedModel,
    pub initial: Arc<Params<f32>>,
    pub probe: ScoreProbe,
    pub prompt: Option<String>,
    pub history: RunHistory,
}

/// Live state of the current run.
pub(crate) struct RunInfo {
    pub tokenizer: Tokenizer,
    pub name: String,
    pub probe: ScoreProbe,
}

/// Everything the training panel shows and the run it controls.
pub struct TrainingState {
    /// The form.
    pub setup: TrainingSetup,
    /// Where the run is.
    pub status: TrainingStatus,
    /// The run's history (kept after it ends).
    pub history: Option<RunHistory>,
    /// The residual on/off runs, when that experiment ran.
    pub comparison: Option<ComparisonHistory>,
    /// Snapshots of the run with the head scores of each (once computed).
    pub timeline: Timeline<Option<HeadScores>>,
    /// The step the explorer shows (`None`: the newest, live).
    pub view_step: Option<usize>,
    /// The step shown beside it in the attention and lens views, if any.
    pub compare_step: Option<usize>,
    /// The analysis of the prompt at `compare_step`.
    pub compare_analysis: Option<Arc<Analysis>>,
    /// Step of the snapshot the explorer shows now (`None` when it shows another model).
    pub shown_step: Option<usize>,
    /// Live snapshots installed in the explorer so far.
    pub snapshots_shown: usize,
    /// Worker time to prepare the latest snapshot (copy, head scores, analysis).
    pub last_snapshot_time: Duration,
    /// UI frame times.
    pub frame_times: FrameTimes,
    pub(crate) worker: Option<TrainWorker>,
    pub(crate) compare_worker: Option<CompareWorker>,
    pub(crate) run: Option<RunInfo>,
    pub(crate) installed: Option<Arc<LoadedModel>>,
    /// A model was opened while the run was being prepared: it starts in the background
    /// instead of replacing that model.
    pub(crate) start_in_background: bool,
    /// The next live snapshot is shown whatever the explorer shows now ("show the run").
    pub(crate) show_requested: bool,
    pub(crate) snapshots: SnapshotWorker,
    pub(crate) messages: Sender<TrainingMessage>,
    pub(crate) inbox: Receiver<TrainingMessage>,
    pub(crate) wake: Waker,
}

impl std::fmt::Debug for TrainingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingState")
            .field("setup", &self.setup)
            .field("status", &self.status)
            .field("timeline", &self.timeline.steps())
            .field("view_step", &self.view_step)
            .finish()
    }
}

impl TrainingState {
    /// No run yet; `wake` repaints the UI when a helper thread reports.
    pub fn new(wake: Waker) -> Self {
        let (messages, inbox) = channel();
        Self {
            setup: TrainingSetup::default(),
            status: TrainingStatus::Idle,
            history: None,
            comparison: None,
            timeline: Timeline::new(8),
            view_step: None,
            compare_step: None,
            compare_analysis: None,
            shown_step: None,
            snapshots_shown: 0,
            last_snapshot_time: Duration::ZERO,
            frame_times: FrameTimes::from_env(),
            worker: None,
            compare_worker: None,
            run: None,
            installed: None,
            start_in_background: false,
            show_requested: false,
            snapshots: SnapshotWorker::new(wake.clone()),
            messages,
            inbox,
            wake,
        }
    }

    /// The name of the model the run trains (none for the residual comparison).
    pub fn run_name(&self) -> Option<&str> {
        self.run.as_ref().map(|run| run.name.as_str())
    }

    /// Whether there is a run (going or ended) whose curves and timeline are kept.
    pub fn has_run(&self) -> bool {
        self.run.is_some() || self.comparison.is_some() || self.status.is_active()
    }

    /// Stops the run from driving the views: no step scrubbed or compared, no snapshot
    /// installed or asked for. The run itself (if any) is untouched.
    pub(crate) fn detach_from_views(&mut self) {
        self.view_step = None;
        self.compare_step = None;
        self.compare_analysis = None;
        self.shown_step = None;
        self.show_requested = false;
        self.installed = None;
    }

    /// Forgets the run that ended (its curves, timeline and snapshots); the form stays.
    /// Results its helper threads still send are dropped with their channel (a fresh
    /// snapshot worker), so none of them reaches the views later.
    pub(crate) fn close_run(&mut self) {
        debug_assert!(!self.status.is_active(), "only an ended run is closed");
        self.status = TrainingStatus::Idle;
        self.history = None;
        self.comparison = None;
        self.timeline = Timeline::new(8);
        self.detach_from_views();
        self.worker = None;
        self.compare_worker = None;
        self.run = None;
        self.start_in_background = false;
        self.last_snapshot_time = Duration::ZERO;
        self.snapshots = SnapshotWorker::new(self.wake.clone());
    }

    /// True while helper threads may still report (tests wait on it).
    pub fn busy(&self) -> bool {
        self.status == TrainingStatus::Preparing || self.snapshots.busy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_keep_the_newest_and_report_median_and_percentile() {
        let mut times = FrameTimes::default();
        assert_eq!(times.medians_ms(), (None, None));
        for i in 0..FrameTimes::KEEP + 100 {
            times.record(i as f32 / 1000.0, (i % 2 == 0).then_some(0.010));
        }
        assert_eq!(times.draw.len(), FrameTimes::KEEP);
        assert_eq!(times.draw[0], 0.1, "the oldest 100 were dropped");
        let (draw, full) = times.medians_ms();
        assert!((draw.unwrap() - 400.0).abs() < 1e-3, "{draw:?}");
        assert!((full.unwrap() - 10.0).abs() < 1e-4);
        let p95 = percentile_ms(&times.draw, 0.95).unwrap();
        assert!((p95 - 669.0).abs() < 1e-3, "{p95}"); // nearest rank: 100 + round(599 × 0.95)
    }

    #[test]
    fn the_lesson_setup_takes_the_command_line_defaults() {
        let run = crate::lesson::state::parse_training(
            "preset=deep data=shakespeare steps=300 compare=residual",
        )
        .unwrap();
        let setup = TrainingSetup::from_lesson(&run);
        assert_eq!(setup.preset, "deep");
        assert_eq!(setup.data, DataChoice::Shakespeare);
        assert_eq!(
            (setup.steps, setup.batch, setup.seq),
            (300, defaults::BATCH, defaults::SEQ)
        );
        assert_eq!(setup.lr, defaults::LR);
        assert!(setup.compare_residual);
        assert_eq!(
            DataChoice::parse("task:copy"),
            Some(DataChoice::Task("copy".into()))
        );
        assert_eq!(DataChoice::parse("nonsense"), None);
        // The same run as `train --steps 300` with every other option left out, but for how
        // often the validation loss is measured.
        let options = setup.options();
        let command = crate::train::TrainOptions {
            eval_every: options.eval_every,
            ..crate::train::TrainOptions::new(300)
        };
        assert_eq!(options, command);
        assert_eq!(options.schedule.warmup, defaults::WARMUP);
        assert_eq!(options.schedule.cosine_until, Some(300));
    }
}
