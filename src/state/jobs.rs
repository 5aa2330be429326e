//! Work that must not block the UI thread: traces (on one worker that always computes the
//! newest request), model loading and saving, file dialogs and exports (each on its own
//! short-lived thread). Results come back as [`JobEvent`]s; `wake` asks the UI to repaint.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use super::analysis::Analysis;
use crate::interp::AnalysisOptions;
use crate::interp::interventions::Interventions;
use crate::model::TokenId;
use crate::model::io::LoadedModel;

/// Asks the UI for a new frame (eframe's `request_repaint`; a no-op in tests).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

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
    /// A file dialog closed.
    PathChosen {
        /// Why it was opened.
        purpose: FilePurpose,
        /// The chosen path, `None` when cancelled, an error when no dialog could open.
        path: Result<Option<PathBuf>, String>,
    },
}

struct TraceRequest {
    id: u64,
    model: Arc<LoadedModel>,
    tokens: Vec<TokenId>,
    options: AnalysisOptions,
    interventions: Interventions,
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
        // The receiver only disappears when the app closes; the event is moot then.
        let _ = self.events.send(event);
        (self.wake)();
    }
}

/// The job runner owned by the app state.
pub struct Jobs {
    sender: JobSender,
    events: Receiver<JobEvent>,
    traces: Sender<TraceRequest>,
    next_request: u64,
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
        let (trace_tx, trace_rx) = channel::<TraceRequest>();
        let worker_sender = sender.clone();
        std::thread::Builder::new()
            .name("trace worker".into())
            .spawn(move || {
                // Ends when the Jobs (the only trace sender) is dropped.
                while let Ok(mut request) = trace_rx.recv() {
                    // Only the newest request matters: skip any that queued up meanwhile.
                    while let Ok(newer) = trace_rx.try_recv() {
                        request = newer;
                    }
                    let result = Analysis::compute_with(
                        request.model,
                        &request.tokens,
                        request.options,
                        request.interventions,
                    )
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                    worker_sender.send(JobEvent::TraceFinished {
                        request: request.id,
                        result,
                    });
                }
            })
            .expect("a thread can be spawned");
        Self {
            sender,
            events: event_rx,
            traces: trace_tx,
            next_request: 0,
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
        self.request_trace_with(model, tokens, options, Interventions::new())
    }

    /// Queues a trace with `interventions` applied; returns the request id.
    pub fn request_trace_with(
        &mut self,
        model: Arc<LoadedModel>,
        tokens: Vec<TokenId>,
        options: AnalysisOptions,
        interventions: Interventions,
    ) -> u64 {
        self.next_request += 1;
        let id = self.next_request;
        let _ = self.traces.send(TraceRequest {
            id,
            model,
            tokens,
            options,
            interventions,
        });
        id
    }

    /// Reads a model on its own thread.
    pub fn load_model(&mut self, path: PathBuf) {
        self.files_in_flight += 1;
        let sender = self.sender();
        std::thread::spawn(move || {
            let result = crate::model::io::load_any(&path)
                .map(Box::new)
                .map_err(|e| e.to_string());
            sender.send(JobEvent::ModelLoaded { path, result });
        });
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
