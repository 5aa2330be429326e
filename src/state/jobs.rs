//! Work that must not block the UI thread: traces (on one worker that always computes the
//! newest request), model loading and saving, file dialogs and exports (each on its own
//! short-lived thread). Results come back as [`JobEvent`]s; `wake` asks the UI to repaint.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Duration;

use super::analysis::Analysis;
use super::lens_fill::fill_until;
use crate::interp::AnalysisOptions;
use crate::interp::interventions::Interventions;
use crate::model::io::{LoadProgress, LoadedModel};
use crate::model::{InputError, TokenId};

/// Asks the UI for a new frame, now or within a delay (eframe's repaint requests; a no-op in
/// tests). Cheap to clone.
#[derive(Clone)]
pub struct Waker(Arc<dyn Fn(Duration) + Send + Sync>);

impl Waker {
    /// A waker that calls `request_frame_within` with how soon the frame is wanted
    /// (`Duration::ZERO`: now).
    pub fn new(request_frame_within: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        Self(Arc::new(request_frame_within))
    }

    /// A waker that does nothing (tests, where frames are run by hand).
    pub fn none() -> Self {
        Self::new(|_| ())
    }

    /// Asks for a frame now.
    pub fn now(&self) {
        (self.0)(Duration::ZERO);
    }

    /// Asks for a frame within `delay`: requests made meanwhile share that one frame, so a
    /// worker reporting many small steps repaints a few times a second, not once per step.
    pub fn within(&self, delay: Duration) {
        (self.0)(delay);
    }
}

/// How often the UI repaints at most for the progress of the lens grid (chunks come every
/// 50–100 ms on a large model; under a software renderer each frame takes CPU from the fill).
pub const LENS_PROGRESS_FRAME_INTERVAL: Duration = Duration::from_millis(250);

/// What a file dialog was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilePurpose {
    /// Open a model file.
    OpenModel,
    /// Open a Hugging Face model folder.
    OpenModelFolder,
    /// Save the model.
    SaveModel,
    /// Export the current view in a format.
    Export(super::export::ExportFormat),
    /// Open an SAE folder (SAELens's format).
    OpenSae,
    /// Save the open SAE into a folder.
    SaveSae,
}

/// A finished job.
#[derive(Debug)]
pub enum JobEvent {
    /// A trace finished (or the input was refused).
    TraceFinished {
        /// The request it answers.
        request: u64,
        /// The analysis, or why the model could not run.
        result: Result<Arc<Analysis>, String>,
    },
    /// A chunk of the lens of the analysis that answered `request` was computed (the
    /// analysis itself holds it; the event wakes the UI and counts progress).
    LensProgress {
        /// The trace request whose analysis it belongs to.
        request: u64,
    },
    /// A model file was read.
    ModelLoaded {
        /// What was opened.
        path: PathBuf,
        /// The model, or the loader's message (boxed: a model is large).
        result: Result<Box<LoadedModel>, String>,
    },
    /// A file was written (model or export).
    FileWritten {
        /// Where.
        path: PathBuf,
        /// `Err` with the reason when it failed.
        result: Result<(), String>,
    },
    /// The circuits computation of request `request` failed (an internal error).
    CircuitsFailed {
        /// The request.
        request: u64,
        /// Why.
        message: String,
    },
    /// A part of the circuits of a model's weights was computed (`state::circuits`).
    CircuitsPart {
        /// The request it answers.
        request: u64,
        /// The model they were computed from.
        model: std::sync::Weak<LoadedModel>,
        /// Every part computed so far.
        circuits: Arc<crate::interp::circuits::WeightCircuits>,
        /// Whether every part is computed.
        complete: bool,
    },
    /// An SAE training run reported (`state::features`).
    SaeRun {
        /// Which run.
        run: u64,
        /// What it says.
        event: super::features::SaeRunEvent,
    },
    /// The top contexts of an SAE's features were computed.
    FeatureContexts {
        /// The SAE.
        sae: Arc<crate::sae::Sae<f32>>,
        /// Its features' contexts, or why they could not be computed.
        result: Result<Arc<crate::sae::contexts::FeatureContexts>, String>,
    },
    /// An SAE folder was read.
    SaeLoaded {
        /// The folder.
        path: PathBuf,
        /// The SAE, or the reader's message.
        result: Result<Box<crate::sae::SaeFolder>, String>,
    },
    /// A file dialog closed.
    PathChosen {
        /// Why it was opened.
        purpose: FilePurpose,
        /// The chosen path, `None` when cancelled, an error when no dialog could open.
        path: Result<Option<PathBuf>, crate::i18n::Message>,
    },
}

struct TraceRequest {
    id: u64,
    model: Arc<LoadedModel>,
    tokens: Vec<TokenId>,
    options: AnalysisOptions,
    interventions: Interventions,
    /// The lens row to compute with the trace (the selected token).
    focus: usize,
}

/// What the trace worker is told.
enum WorkerMessage {
    /// Trace this (newer requests replace older ones, finished or not).
    Trace(TraceRequest),
    /// The student now looks at token `focus` with the lens rows `visible` on screen: the
    /// lens of request `request` computes those next.
    Focus {
        request: u64,
        focus: usize,
        visible: std::ops::Range<usize>,
    },
}

/// Drops `value` on a thread of its own. Freeing the last reference to an analysis of a
/// real checkpoint (its trace: tens to hundreds of MB in many arrays) took 12–16 ms on the UI
/// thread at 64 tokens of the Qwen2.5-0.5B shape, a whole frame; a model takes longer.
pub fn drop_off_the_ui_thread<T: Send + 'static>(value: T) {
    // If no thread can be started, the closure, and `value` with it, is dropped here.
    let _ = std::thread::Builder::new()
        .name("dropper".into())
        .spawn(move || drop(value));
}

/// Runs `work`, turning a panic into `Err` with its message: a background job must always
/// report back, or the state would wait for it forever (`AppState::busy`).
pub fn reporting_panics<T>(work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(format!("internal error: {message}"))
    })
}

/// A handle other threads use to report back.
#[derive(Clone)]
pub struct JobSender {
    events: Sender<JobEvent>,
    wake: Waker,
}

impl JobSender {
    /// Delivers an event and wakes the UI.
    pub fn send(&self, event: JobEvent) {
        self.send_within(event, Duration::ZERO);
    }

    /// Delivers an event that the UI shows within `delay` (progress, see [`Waker::within`]).
    pub fn send_within(&self, event: JobEvent, delay: Duration) {
        // The receiver only disappears when the app closes; the event is moot then.
        let _ = self.events.send(event);
        self.wake.within(delay);
    }
}

/// The job runner owned by the app state.
pub struct Jobs {
    sender: JobSender,
    events: Receiver<JobEvent>,
    traces: Sender<WorkerMessage>,
    next_request: u64,
    /// The newest trace request's id, shared with the worker: a pass for an older one stops
    /// at the next block.
    newest_request: Arc<AtomicU64>,
    /// Model loads and saves started and not yet reported.
    pub files_in_flight: usize,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("next_request", &self.next_request)
            .field("files_in_flight", &self.files_in_flight)
            .finish()
    }
}

impl Jobs {
    /// Starts the trace worker.
    pub fn new(wake: Waker) -> Self {
        let (event_tx, event_rx) = channel();
        let sender = JobSender {
            events: event_tx,
            wake,
        };
        let (trace_tx, trace_rx) = channel::<WorkerMessage>();
        let worker_sender = sender.clone();
        let newest_request = Arc::new(AtomicU64::new(0));
        let worker_newest = Arc::clone(&newest_request);
        std::thread::Builder::new()
            .name("trace worker".into())
            .spawn(move || trace_worker(&trace_rx, &worker_sender, &worker_newest))
            .expect("a thread can be spawned");
        Self {
            sender,
            events: event_rx,
            traces: trace_tx,
            next_request: 0,
            newest_request,
            files_in_flight: 0,
        }
    }

    /// A sender for threads started elsewhere (file dialogs).
    pub fn sender(&self) -> JobSender {
        self.sender.clone()
    }

    /// Queues a trace of `tokens` and its analysis; returns the request id its result will
    /// carry.
    pub fn request_trace(
        &mut self,
        model: Arc<LoadedModel>,
        tokens: Vec<TokenId>,
        options: AnalysisOptions,
    ) -> u64 {
        self.request_trace_with(model, tokens, options, Interventions::new(), 0)
    }

    /// Queues a trace with `interventions` applied; returns the request id.
    pub fn request_trace_with(
        &mut self,
        model: Arc<LoadedModel>,
        tokens: Vec<TokenId>,
        options: AnalysisOptions,
        interventions: Interventions,
        focus: usize,
    ) -> u64 {
        self.next_request += 1;
        let id = self.next_request;
        self.newest_request.store(id, Ordering::Release);
        let _ = self.traces.send(WorkerMessage::Trace(TraceRequest {
            id,
            model,
            tokens,
            options,
            interventions,
            focus,
        }));
        id
    }

    /// The id of the newest trace request (0 before the first).
    pub fn last_request(&self) -> u64 {
        self.next_request
    }

    /// Tells the worker filling the lens of `request` which rows to compute next: `focus`
    /// (the selected token), then the rows in `visible`.
    pub fn focus_lens(&self, request: u64, focus: usize, visible: std::ops::Range<usize>) {
        let _ = self.traces.send(WorkerMessage::Focus {
            request,
            focus,
            visible,
        });
    }

    /// Reads a model on its own thread; the returned counter says how much is read (the UI
    /// repaints while it draws a progress bar).
    pub fn load_model(&mut self, path: PathBuf) -> Arc<LoadProgress> {
        self.files_in_flight += 1;
        let sender = self.sender();
        let progress = Arc::new(LoadProgress::default());
        let reported = Arc::clone(&progress);
        std::thread::spawn(move || {
            let result = crate::model::io::load_any_reporting(&path, &reported)
                .map(Box::new)
                .map_err(|e| e.to_string());
            sender.send(JobEvent::ModelLoaded { path, result });
        });
        progress
    }

    /// Runs `write` on its own thread and reports the result as [`JobEvent::FileWritten`].
    pub fn write_file(
        &mut self,
        path: PathBuf,
        write: impl FnOnce(&std::path::Path) -> Result<(), String> + Send + 'static,
    ) {
        self.files_in_flight += 1;
        let sender = self.sender();
        std::thread::spawn(move || {
            let result = write(&path);
            sender.send(JobEvent::FileWritten { path, result });
        });
    }

    /// Counts a write that another thread will report with [`JobEvent::FileWritten`] through
    /// the returned sender (a screenshot saved from eframe's callback).
    pub fn begin_external_write(&mut self) -> JobSender {
        self.files_in_flight += 1;
        self.sender()
    }

    /// The next finished job, if any, without waiting.
    pub fn try_next(&self) -> Option<JobEvent> {
        self.events.try_recv().ok()
    }

    /// The next finished job, waiting at most `timeout`.
    pub fn next_within(&self, timeout: Duration) -> Option<JobEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

/// The trace worker: traces the newest request, hands the analysis over with the focused lens
/// row, then fills the rest of its lens until done or a newer request arrives. A newer
/// request (`newest`) also stops the forward pass of an older one between blocks. Ends when
/// the [`Jobs`] (the only sender) is dropped.
fn trace_worker(messages: &Receiver<WorkerMessage>, events: &JobSender, newest: &AtomicU64) {
    let mut next: Option<TraceRequest> = None;
    loop {
        let request = match next.take() {
            Some(request) => request,
            None => match messages.recv() {
                Ok(WorkerMessage::Trace(request)) => request,
                Ok(WorkerMessage::Focus { .. }) => continue, // for a lens already done
                Err(_) => return,
            },
        };
        // Only the newest request matters: skip any that queued up meanwhile.
        let mut request = request;
        while let Ok(message) = messages.try_recv() {
            match message {
                WorkerMessage::Trace(newer) => request = newer,
                WorkerMessage::Focus {
                    request: id, focus, ..
                } if id == request.id => request.focus = focus,
                WorkerMessage::Focus { .. } => {}
            }
        }
        let id = request.id;
        let started = Analysis::start(
            request.model,
            &request.tokens,
            request.options,
            request.interventions,
            request.focus,
            &|| newest.load(Ordering::Acquire) == id,
        );
        let (analysis, mut fill) = match started {
            Ok((analysis, fill)) => (Arc::new(analysis), fill),
            // Nobody waits for it: the newer request is in the channel.
            Err(InputError::Stopped) => continue,
            Err(e) => {
                events.send(JobEvent::TraceFinished {
                    request: id,
                    result: Err(e.to_string()),
                });
                continue;
            }
        };
        events.send(JobEvent::TraceFinished {
            request: id,
            result: Ok(Arc::clone(&analysis)),
        });
        let stop = fill_until(
            &mut fill,
            &analysis,
            |fill| loop {
                match messages.try_recv() {
                    Ok(WorkerMessage::Trace(newer)) => return Some(Some(newer)),
                    Ok(WorkerMessage::Focus {
                        request,
                        focus,
                        visible,
                    }) if request == id => fill.prioritise(focus, visible),
                    Ok(WorkerMessage::Focus { .. }) => {}
                    Err(TryRecvError::Empty) => return None,
                    Err(TryRecvError::Disconnected) => return Some(None),
                }
            },
            |awaited| {
                // The selected token's row and the end of the grid are shown at once; other
                // rows a few times a second.
                let delay = if awaited {
                    Duration::ZERO
                } else {
                    LENS_PROGRESS_FRAME_INTERVAL
                };
                events.send_within(JobEvent::LensProgress { request: id }, delay)
            },
        );
        match stop {
            Some(Some(newer)) => next = Some(newer),
            Some(None) => return, // the app closed
            None => {}            // the lens is complete
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_reports_an_error_with_its_message() {
        let failed: Result<(), String> = reporting_panics(|| panic!("no such layer"));
        let message = failed.unwrap_err();
        assert!(message.contains("no such layer"), "{message}");
        let formatted: Result<(), String> = reporting_panics(|| panic!("layer {}", 7));
        assert!(formatted.unwrap_err().contains("layer 7"));
        assert_eq!(reporting_panics(|| Ok::<_, String>(3)), Ok(3));
    }
}
