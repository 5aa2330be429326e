//! The training worker: a thread with its own copy of the weights that the GUI drives with
//! [`TrainCommand`]s and that reports back with [`TrainEvent`]s.
//!
//! - Progress (per-step loss, tokens/s, per-layer gradient norms), validation results and a
//!   parameter snapshot (`Arc<Params>`) are batched into one [`TrainEvent::Progress`] at most
//!   every [`PROGRESS_INTERVAL`] (~10 per second).
//! - After every send the worker calls the caller's `wake` closure (the GUI passes one that
//!   calls `request_repaint`); nothing here depends on egui.
//! - A NaN or infinite loss stops the run with [`TrainEvent::Diverged`], carrying the last
//!   good weights.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::step::{LayerGradNorms, TrainError};
use super::trainer::Trainer;
use crate::model::Params;

/// Shortest time between two progress events.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What the GUI asks the worker to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TrainCommand {
    /// Stop stepping until `Resume` (or `Stop`).
    Pause,
    /// Continue after `Pause`.
    Resume,
    /// End the run after the current step.
    Stop,
    /// Use this peak learning rate from now on (the schedule's shape is kept).
    SetLearningRate(f64),
}

/// One training step as the loss curve shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepPoint {
    /// The step number (1 = after the first update).
    pub step: usize,
    /// Loss of the step's batch.
    pub train_loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Gradient norms of each block's attention and MLP sublayers.
    pub layer_grad_norms: Vec<LayerGradNorms>,
}

/// A validation result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// After this many steps.
    pub step: usize,
    /// Mean training loss of the steps since the previous evaluation.
    pub train_loss: f64,
    /// Mean validation loss, nats per token.
    pub val_loss: f64,
}

/// What the worker reports.
#[derive(Clone, Debug)]
pub enum TrainEvent {
    /// Everything since the previous progress event.
    Progress {
        /// Steps taken, in order.
        points: Vec<StepPoint>,
        /// Validation results, in order.
        evaluations: Vec<Evaluation>,
        /// Training throughput over the batch of steps.
        tokens_per_s: f64,
        /// The weights after the last step of the batch.
        snapshot: Arc<Params<f32>>,
        /// Steps of the whole run.
        total_steps: usize,
    },
    /// The worker is paused at this step.
    Paused {
        /// Steps done.
        step: usize,
    },
    /// The worker runs again.
    Resumed {
        /// Steps done.
        step: usize,
    },
    /// The peak learning rate changed.
    LearningRateChanged {
        /// The new peak.
        lr: f64,
    },
    /// The loss became NaN or infinite; the run ended with the last good weights.
    Diverged {
        /// The step that failed (the weights are those after `step − 1`).
        step: usize,
        /// A message for the user.
        message: String,
        /// The last good weights.
        params: Arc<Params<f32>>,
    },
    /// Another error ended the run.
    Failed {
        /// A message for the user.
        message: String,
        /// The weights at that point.
        params: Arc<Params<f32>>,
    },
    /// The run ended: all steps done, or stopped.
    Finished {
        /// Steps done.
        step: usize,
        /// Whether it was stopped before the last step.
        stopped: bool,
        /// The final weights.
        params: Arc<Params<f32>>,
    },
}

/// A handle on a running training thread. Dropping it stops the run and joins the thread.
pub struct TrainWorker {
    commands: Sender<TrainCommand>,
    events: Receiver<TrainEvent>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// What `wake` the caller passes: called after every event sent.
pub type WakeFn = Box<dyn Fn() + Send>;

impl TrainWorker {
    /// Starts training `trainer` on a new thread.
    pub fn start(trainer: Trainer, wake: WakeFn) -> Self {
        let (command_tx, command_rx) = channel();
        let (event_tx, event_rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("training".into())
            .spawn(move || run(trainer, command_rx, event_tx, flag, wake))
            .expect("spawn the training thread");
        Self {
            commands: command_tx,
            events: event_rx,
            stop,
            handle: Some(handle),
        }
    }

    /// Sends a command (ignored once the run has ended).
    pub fn send(&self, command: TrainCommand) {
        if command == TrainCommand::Stop {
            self.stop.store(true, Ordering::SeqCst);
        }
        let _ = self.commands.send(command);
    }

    /// Pauses after the current step.
    pub fn pause(&self) {
        self.send(TrainCommand::Pause);
    }

    /// Resumes a paused run.
    pub fn resume(&self) {
        self.send(TrainCommand::Resume);
    }

    /// Stops the run after the current step; a `Finished` event follows.
    pub fn stop(&self) {
        self.send(TrainCommand::Stop);
    }

    /// Changes the peak learning rate.
    pub fn set_learning_rate(&self, lr: f64) {
        self.send(TrainCommand::SetLearningRate(lr));
    }

    /// Every event waiting, without blocking (the GUI calls this each frame).
    pub fn poll(&self) -> Vec<TrainEvent> {
        self.events.try_iter().collect()
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_event(&self, timeout: Duration) -> Option<TrainEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Drop for TrainWorker {
    fn drop(&mut self) {
        self.stop();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Events waiting to be flushed together.
struct Pending {
    points: Vec<StepPoint>,
    evaluations: Vec<Evaluation>,
    tokens: usize,
    since: Instant,
}

fn run(
    mut trainer: Trainer,
    commands: Receiver<TrainCommand>,
    events: Sender<TrainEvent>,
    stop: Arc<AtomicBool>,
    wake: WakeFn,
) {
    let send = |event: TrainEvent| {
        let _ = events.send(event);
        wake();
    };
    let mut pending = Pending {
        points: Vec::new(),
        evaluations: Vec::new(),
        tokens: 0,
        since: Instant::now(),
    };
    let mut losses_since_eval = Vec::new();
    let flush = |pending: &mut Pending, trainer: &Trainer| {
        let elapsed = pending.since.elapsed().as_secs_f64().max(1e-9);
        send(TrainEvent::Progress {
            points: std::mem::take(&mut pending.points),
            evaluations: std::mem::take(&mut pending.evaluations),
            tokens_per_s: pending.tokens as f64 / elapsed,
            snapshot: Arc::new(trainer.params.clone()),
            total_steps: trainer.options.steps,
        });
        pending.tokens = 0;
        pending.since = Instant::now();
    };
    let mut stopped = false;
    while !trainer.finished() {
        // Commands first; a pause blocks here until resumed or stopped.
        let mut paused = false;
        loop {
            let command = if paused {
                match commands.recv_timeout(Duration::from_millis(200)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => Some(TrainCommand::Stop),
                }
            } else {
                commands.try_recv().ok()
            };
            match command {
                Some(TrainCommand::Pause) if !paused => {
                    paused = true;
                    if !pending.points.is_empty() {
                        flush(&mut pending, &trainer);
                    }
                    send(TrainEvent::Paused { step: trainer.step });
                }
                Some(TrainCommand::Resume) if paused => {
                    paused = false;
                    pending.since = Instant::now();
                    send(TrainEvent::Resumed { step: trainer.step });
                }
                Some(TrainCommand::SetLearningRate(lr)) if lr.is_finite() && lr > 0.0 => {
                    trainer.options.schedule.lr = lr;
                    send(TrainEvent::LearningRateChanged { lr });
                }
                Some(_) => {}
                None if paused && !stop.load(Ordering::SeqCst) => {}
                None => break,
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        if stop.load(Ordering::SeqCst) {
            stopped = true;
            break;
        }
        match trainer.step() {
            Ok(stats) => {
                losses_since_eval.push(stats.loss);
                pending.tokens += stats.tokens;
                pending.points.push(StepPoint {
                    step: trainer.step,
                    train_loss: stats.loss,
                    lr: stats.lr,
                    grad_norm: stats.grad_norm,
                    layer_grad_norms: stats.layer_grad_norms,
                });
            }
            Err(error @ TrainError::NonFinite { .. }) => {
                flush(&mut pending, &trainer);
                send(TrainEvent::Diverged {
                    step: trainer.step + 1,
                    message: error.to_string(),
                    params: Arc::new(trainer.params.clone()),
                });
                return;
            }
            Err(error) => {
                send(TrainEvent::Failed {
                    message: error.to_string(),
                    params: Arc::new(trainer.params.clone()),
                });
                return;
            }
        }
        if trainer.should_evaluate() {
            match trainer.validation_loss() {
                Ok(val_loss) => {
                    let train_loss =
                        losses_since_eval.iter().sum::<f64>() / losses_since_eval.len() as f64;
                    losses_since_eval.clear();
                    pending.evaluations.push(Evaluation {
                        step: trainer.step,
                        train_loss,
                        val_loss,
                    });
                }
                Err(error) => {
                    send(TrainEvent::Failed {
                        message: error.to_string(),
                        params: Arc::new(trainer.params.clone()),
                    });
                    return;
                }
            }
        }
        if pending.since.elapsed() >= PROGRESS_INTERVAL {
            flush(&mut pending, &trainer);
        }
    }
    if !pending.points.is_empty() || !pending.evaluations.is_empty() {
        flush(&mut pending, &trainer);
    }
    send(TrainEvent::Finished {
        step: trainer.step,
        stopped,
        params: Arc::new(trainer.params),
    });
}
