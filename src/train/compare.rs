//! Lemma 2.2's experiment: the same deep stack trained twice, with residual connections on
//! and off, from the same initial weights on the same batches, stepped in turn so both
//! curves grow together. Records each run's loss and per-layer gradient norms per step.
//!
//! [`ResidualComparison`] is the headless experiment (tests and the CLI call it directly);
//! [`CompareWorker`] runs one on a thread for the GUI, reporting batched progress like the
//! training worker does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::data::BatchSource;
use super::step::LayerGradNorms;
use super::trainer::{TrainOptions, Trainer};
use super::worker::{PROGRESS_INTERVAL, WakeFn};
use crate::i18n::{Language, TrainText};
use crate::model::{InitOptions, ModelConfig, Params};

/// One step of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct ComparePoint {
    /// The step number (1 = after the first update).
    pub step: usize,
    /// Loss of the step's batch (nats per token).
    pub loss: f64,
    /// Gradient norms of each block's sublayers, first block first.
    pub layer_grad_norms: Vec<LayerGradNorms>,
}

/// Which of the two runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Residual {
    /// Residual connections on: `x' = x + F(x)`.
    On,
    /// Residual connections off: `x' = F(x)`.
    Off,
}

impl Residual {
    /// Both, in display order.
    pub const BOTH: [Residual; 2] = [Residual::On, Residual::Off];

    /// "with residual connections" / "without residual connections", in `language`.
    pub fn label(self, language: Language) -> &'static str {
        match self {
            Residual::On => TrainText::WithResidual,
            Residual::Off => TrainText::WithoutResidual,
        }
        .text(language)
    }

    fn index(self) -> usize {
        match self {
            Residual::On => 0,
            Residual::Off => 1,
        }
    }
}

/// Two trainers that differ only in `config.residual`.
pub struct ResidualComparison {
    trainers: [Trainer; 2],
    records: [Vec<ComparePoint>; 2],
}

impl ResidualComparison {
    /// Builds both runs of `config` (its `residual` flag is overridden) from the same
    /// initial weights (`init`) with the same options and data.
    pub fn new(
        config: &ModelConfig,
        data: Arc<dyn BatchSource>,
        options: TrainOptions,
        init: InitOptions,
    ) -> Result<Self, String> {
        let build = |residual: bool| -> Result<Trainer, String> {
            let config = ModelConfig {
                residual,
                ..config.clone()
            };
            let params = Params::init(&config, init).map_err(|e| e.to_string())?;
            Trainer::new(params, Arc::clone(&data), options.clone())
        };
        Ok(Self {
            trainers: [build(true)?, build(false)?],
            records: [Vec::new(), Vec::new()],
        })
    }

    /// Takes one step of each run (with, then without); returns the two points.
    pub fn step(&mut self) -> Result<[ComparePoint; 2], String> {
        let mut points = Vec::with_capacity(2);
        for residual in Residual::BOTH {
            let trainer = &mut self.trainers[residual.index()];
            let stats = trainer
                .step()
                .map_err(|e| format!("the run {}: {e}", residual.label(Language::En)))?;
            let point = ComparePoint {
                step: trainer.step,
                loss: stats.loss,
                layer_grad_norms: stats.layer_grad_norms,
            };
            self.records[residual.index()].push(point.clone());
            points.push(point);
        }
        let off = points.pop().expect("two points");
        let on = points.pop().expect("two points");
        Ok([on, off])
    }

    /// Whether both runs took every step.
    pub fn finished(&self) -> bool {
        self.trainers.iter().all(Trainer::finished)
    }

    /// Steps both runs to the end.
    pub fn run_to_end(&mut self) -> Result<(), String> {
        while !self.finished() {
            self.step()?;
        }
        Ok(())
    }

    /// Every point of one run so far.
    pub fn points(&self, residual: Residual) -> &[ComparePoint] {
        &self.records[residual.index()]
    }

    /// The current weights of one run.
    pub fn params(&self, residual: Residual) -> &Params<f32> {
        &self.trainers[residual.index()].params
    }

    /// Steps of each run.
    pub fn total_steps(&self) -> usize {
        self.trainers[0].options.steps
    }
}

/// Mean of one block's attention gradient norm over the last `window` points of a run
/// (`None` without points).
pub fn mean_attn_grad(points: &[ComparePoint], layer: usize, window: usize) -> Option<f64> {
    let tail = &points[points.len().saturating_sub(window)..];
    let values: Vec<f64> = tail
        .iter()
        .filter_map(|p| p.layer_grad_norms.get(layer).map(|n| n.attn))
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// What the comparison worker reports.
#[derive(Clone, Debug)]
pub enum CompareEvent {
    /// Points since the previous event: `[with, without]`, each in step order.
    Progress {
        /// New points of the run with residual connections, then without.
        points: [Vec<ComparePoint>; 2],
        /// Steps of each run.
        total_steps: usize,
    },
    /// A run failed (e.g. its loss became NaN); both stopped.
    Failed {
        /// A message for the user.
        message: String,
    },
    /// Both runs ended: every step taken, or stopped.
    Finished {
        /// Steps taken by each run.
        step: usize,
        /// Whether it was stopped early.
        stopped: bool,
    },
}

/// A comparison running on its own thread. Dropping it stops the runs and joins the thread.
pub struct CompareWorker {
    events: Receiver<CompareEvent>,
    stop: Arc<AtomicBool>,
    paused: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl CompareWorker {
    /// Starts stepping `comparison` on a new thread; `wake` is called after every event.
    pub fn start(mut comparison: ResidualComparison, wake: WakeFn) -> Self {
        let (tx, events) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let paused = Arc::new(AtomicBool::new(false));
        let (stop_flag, pause_flag) = (Arc::clone(&stop), Arc::clone(&paused));
        let handle = std::thread::Builder::new()
            .name("residual comparison".into())
            .spawn(move || {
                let send = |event| {
                    let _ = tx.send(event);
                    wake();
                };
                let mut pending: [Vec<ComparePoint>; 2] = [Vec::new(), Vec::new()];
                let mut since = Instant::now();
                let total_steps = comparison.total_steps();
                let flush = |pending: &mut [Vec<ComparePoint>; 2]| CompareEvent::Progress {
                    points: std::mem::take(pending),
                    total_steps,
                };
                while !comparison.finished() && !stop_flag.load(Ordering::SeqCst) {
                    if pause_flag.load(Ordering::SeqCst) {
                        if !pending[0].is_empty() {
                            send(flush(&mut pending));
                        }
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    match comparison.step() {
                        Ok([on, off]) => {
                            pending[0].push(on);
                            pending[1].push(off);
                        }
                        Err(message) => {
                            send(flush(&mut pending));
                            send(CompareEvent::Failed { message });
                            return;
                        }
                    }
                    if since.elapsed() >= PROGRESS_INTERVAL {
                        send(flush(&mut pending));
                        since = Instant::now();
                    }
                }
                if !pending[0].is_empty() {
                    send(flush(&mut pending));
                }
                send(CompareEvent::Finished {
                    step: comparison.points(Residual::On).len(),
                    stopped: !comparison.finished(),
                });
            })
            .expect("spawn the comparison thread");
        Self {
            events,
            stop,
            paused,
            handle: Some(handle),
        }
    }

    /// Pauses (`true`) or resumes (`false`) both runs.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    /// Whether the runs are paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Ends both runs after the current step; a `Finished` event follows.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Every event waiting, without blocking.
    pub fn poll(&self) -> Vec<CompareEvent> {
        self.events.try_iter().collect()
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_event(&self, timeout: Duration) -> Option<CompareEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for CompareWorker {
    fn drop(&mut self) {
        self.stop();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
