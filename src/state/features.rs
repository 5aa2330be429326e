//! The Features view's state: the open sparse autoencoder (trained here or read from a
//! SAELens folder), an SAE training run on a thread of its own (start, pause, resume, stop;
//! live metrics), the selected feature, and each feature's top contexts from a corpus pass
//! computed on another thread once per SAE.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::jobs::{JobEvent, JobSender, reporting_panics};
use super::training::SHAKESPEARE;
use crate::model::io::LoadedModel;
use crate::sae::contexts::{
    CONTEXTS_FILE, FeatureContexts, feature_contexts, load_contexts, save_contexts,
};
use crate::sae::{Architecture, HookKind, HookPoint, Sae, SaeRun, SaeRunOptions, SplicedLoss};
use crate::sae::{StepMetrics, check_fit};
use crate::train::data::{BatchSource, TextCorpus};

/// An SAE the explorer shows.
#[derive(Debug)]
pub struct OpenSae {
    /// The weights (shared with the interventions that edit through it).
    pub sae: Arc<Sae<f32>>,
    /// Where it reads.
    pub hook: HookPoint,
    /// Feature labels the user typed.
    pub labels: BTreeMap<usize, String>,
    /// The folder it was read from or saved to.
    pub folder: Option<PathBuf>,
}

/// What the training form holds.
#[derive(Clone, Debug, PartialEq)]
pub struct SaeForm {
    /// Block of the hook.
    pub layer: usize,
    /// Activation of the block.
    pub kind: HookKind,
    /// Features.
    pub features: usize,
    /// Active features per token (TopK).
    pub k: usize,
    /// `Some(c)`: a standard (ReLU) SAE with L1 coefficient `c` instead of TopK.
    pub l1: Option<f64>,
    /// Activations to train on.
    pub tokens: u64,
    /// Activations per step.
    pub batch: usize,
}

impl Default for SaeForm {
    fn default() -> Self {
        Self {
            layer: 0,
            kind: HookKind::ResidPost,
            features: 1024,
            k: 16,
            l1: None,
            tokens: 1_000_000,
            batch: 1024,
        }
    }
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq)]
pub enum SaeStatus {
    /// No run.
    Idle,
    /// Collecting the first activations.
    Preparing,
    /// Stepping.
    Running,
    /// Paused by the user.
    Paused,
    /// Done (all its tokens, or stopped); the SAE is open.
    Finished,
    /// It could not start or went wrong.
    Failed(String),
}

/// What the run's thread is told.
const RUN: u8 = 0;
const PAUSE: u8 = 1;
const STOP: u8 = 2;

/// Steps between two measurements of the model's loss with the stream spliced (each reads
/// eight held-out batches twice).
pub const SPLICED_EVERY: u64 = 100;

/// How often the run hands the view a copy of the SAE being trained.
const SNAPSHOT_EVERY: Duration = Duration::from_millis(500);

/// A message from an SAE run's thread.
#[derive(Debug)]
pub enum SaeRunEvent {
    /// Steps done since the last message, a copy of the SAE when one is due, and the
    /// spliced loss (with the step it was measured at) every [`SPLICED_EVERY`] steps.
    Progress(
        Vec<StepMetrics>,
        Option<Arc<Sae<f32>>>,
        Option<(u64, SplicedLoss)>,
    ),
    /// The run ended: the final SAE and its spliced loss, or why it stopped.
    Finished(Result<(Arc<Sae<f32>>, SplicedLoss), String>),
}

/// The top contexts of an SAE's features, or why they could not be read.
pub type ContextsResult = Result<Arc<FeatureContexts>, String>;

/// The Features view's state.
#[derive(Debug, Default)]
pub struct FeaturesState {
    /// The SAE shown.
    pub open: Option<Arc<OpenSae>>,
    /// The training form.
    pub form: SaeForm,
    /// The run's state.
    pub status: Option<SaeStatus>,
    /// Metrics of every step of the newest run.
    pub history: Vec<StepMetrics>,
    /// The newest run's loss with the hook spliced, once it ended.
    pub spliced: Option<SplicedLoss>,
    /// The spliced loss measured during the newest run, by step.
    pub spliced_history: Vec<(u64, SplicedLoss)>,
    /// The feature the view details.
    pub selected: Option<usize>,
    /// Top contexts of the open SAE's features (computed for that SAE).
    pub contexts: Option<(Arc<Sae<f32>>, ContextsResult)>,
    /// The SAE whose contexts are being computed.
    contexts_for: Option<Arc<Sae<f32>>>,
    /// The run's control word (run, pause, stop), shared with its thread.
    control: Arc<AtomicU8>,
    /// Counts runs, so a stopped run's late messages are dropped.
    run_id: Arc<AtomicU64>,
    /// Where the newest run's SAE reads.
    run_hook: Option<HookPoint>,
}

impl FeaturesState {
    /// The status, [`SaeStatus::Idle`] before any run.
    pub fn status(&self) -> SaeStatus {
        self.status.clone().unwrap_or(SaeStatus::Idle)
    }

    /// Whether a run is preparing, running or paused.
    pub fn running(&self) -> bool {
        matches!(
            self.status(),
            SaeStatus::Preparing | SaeStatus::Running | SaeStatus::Paused
        )
    }

    /// Whether contexts are being computed.
    pub fn computing_contexts(&self) -> bool {
        self.contexts_for.is_some()
    }

    /// Starts training an SAE on `model` with the form's settings over the shipped
    /// Shakespeare text read by the model's own tokenizer (a model that cannot read it fails
    /// with the tokenizer's message).
    pub fn start(&mut self, model: &Arc<LoadedModel>, sender: JobSender) {
        let form = self.form.clone();
        let hook = HookPoint {
            layer: form.layer,
            kind: form.kind,
        };
        let architecture = match form.l1 {
            Some(_) => Architecture::Standard,
            None => Architecture::TopK { k: form.k },
        };
        let mut options = SaeRunOptions::new(hook, form.features, architecture, form.tokens);
        if let Some(l1) = form.l1 {
            options.settings.weights.l1 = l1;
        }
        options.batch = form.batch;
        options.seq = options.seq.min(model.params.config.n_ctx);
        let id = self.run_id.fetch_add(1, Ordering::AcqRel) + 1;
        self.control = Arc::new(AtomicU8::new(RUN));
        self.history.clear();
        self.spliced = None;
        self.spliced_history.clear();
        // The new run's SAE replaces the one shown: its features are other features (their
        // labels and selection would not carry over).
        self.open = None;
        self.selected = None;
        self.status = Some(SaeStatus::Preparing);
        self.run_hook = Some(hook);
        let (control, run_id, model) = (
            Arc::clone(&self.control),
            Arc::clone(&self.run_id),
            Arc::clone(model),
        );
        std::thread::spawn(move || {
            let send = |event| {
                if run_id.load(Ordering::Acquire) == id {
                    sender.send(JobEvent::SaeRun { run: id, event });
                }
            };
            let outcome = reporting_panics(|| {
                train_on_this_thread(model, options, &control, &send);
                Ok(())
            });
            if let Err(message) = outcome {
                send(SaeRunEvent::Finished(Err(message)));
            }
        });
    }

    /// Pauses (`true`) or resumes the run.
    pub fn pause(&mut self, paused: bool) {
        if self.running() {
            self.control
                .store(if paused { PAUSE } else { RUN }, Ordering::Release);
            self.status = Some(if paused {
                SaeStatus::Paused
            } else {
                SaeStatus::Running
            });
        }
    }

    /// Stops the run after its current step; it reports its SAE as it stands.
    pub fn stop(&mut self) {
        self.control.store(STOP, Ordering::Release);
    }

    /// Takes a message of run `run`.
    pub fn on_run_event(&mut self, run: u64, event: SaeRunEvent) {
        let Some(hook_of_run) = self.run_hook else {
            return;
        };
        if run != self.run_id.load(Ordering::Acquire) {
            return;
        }
        match event {
            SaeRunEvent::Progress(steps, snapshot, spliced) => {
                if self.status == Some(SaeStatus::Preparing) {
                    self.status = Some(SaeStatus::Running);
                }
                self.history.extend(steps);
                self.spliced_history.extend(spliced);
                if let Some(sae) = snapshot {
                    self.show(sae, hook_of_run, None);
                }
            }
            SaeRunEvent::Finished(Ok((sae, spliced))) => {
                self.spliced = Some(spliced);
                if let Some(last) = self.history.last() {
                    self.spliced_history.push((last.step, spliced));
                }
                self.status = Some(SaeStatus::Finished);
                self.show(sae, hook_of_run, None);
            }
            SaeRunEvent::Finished(Err(message)) => {
                self.status = Some(SaeStatus::Failed(message));
            }
        }
    }

    /// Shows `sae` (reading at `hook`), keeping the labels when it replaces a snapshot of
    /// the same run.
    pub fn show(&mut self, sae: Arc<Sae<f32>>, hook: HookPoint, folder: Option<PathBuf>) {
        let labels = self
            .open
            .as_ref()
            .map(|open| open.labels.clone())
            .unwrap_or_default();
        self.show_with_labels(sae, hook, folder, labels);
    }

    /// Shows `sae` with `labels`.
    pub fn show_with_labels(
        &mut self,
        sae: Arc<Sae<f32>>,
        hook: HookPoint,
        folder: Option<PathBuf>,
        labels: BTreeMap<usize, String>,
    ) {
        if self
            .selected
            .is_some_and(|feature| feature >= sae.config.d_sae)
        {
            self.selected = None;
        }
        self.open = Some(Arc::new(OpenSae {
            sae,
            hook,
            labels,
            folder,
        }));
    }

    /// Opens an SAE read from `folder` when it fits `model`; the reason when it does not.
    pub fn open_folder(
        &mut self,
        folder: PathBuf,
        loaded: crate::sae::SaeFolder,
        model: &LoadedModel,
    ) -> Result<(), String> {
        let hook =
            check_fit(&loaded.sae.config, &model.params.config).map_err(|e| e.to_string())?;
        // Contexts kept beside it by an earlier session.
        let kept = load_contexts(&folder, &loaded.sae);
        let sae = Arc::new(loaded.sae);
        if let Some(contexts) = kept {
            self.contexts = Some((Arc::clone(&sae), Ok(Arc::new(contexts))));
        }
        self.show_with_labels(sae, hook, Some(folder), loaded.sidecar.labels);
        Ok(())
    }

    /// Sets (or, empty, removes) the label of `feature`.
    pub fn set_label(&mut self, feature: usize, label: String) {
        let Some(open) = &self.open else { return };
        let mut labels = open.labels.clone();
        if label.trim().is_empty() {
            labels.remove(&feature);
        } else {
            labels.insert(feature, label);
        }
        let (sae, hook, folder) = (Arc::clone(&open.sae), open.hook, open.folder.clone());
        self.show_with_labels(sae, hook, folder, labels);
    }

    /// Starts computing the open SAE's top contexts over the held-out tenth of the shipped
    /// Shakespeare text, unless they are computed or under way for it.
    pub fn request_contexts(&mut self, model: &Arc<LoadedModel>, sender: JobSender) {
        let Some(open) = &self.open else { return };
        let done = self
            .contexts
            .as_ref()
            .is_some_and(|(sae, _)| Arc::ptr_eq(sae, &open.sae));
        let under_way = self
            .contexts_for
            .as_ref()
            .is_some_and(|sae| Arc::ptr_eq(sae, &open.sae));
        if done || under_way {
            return;
        }
        let (sae, hook, model) = (Arc::clone(&open.sae), open.hook, Arc::clone(model));
        let folder = open.folder.clone();
        self.contexts_for = Some(Arc::clone(&sae));
        std::thread::spawn(move || {
            let result = reporting_panics(|| {
                let corpus = TextCorpus::with_tokenizer(
                    SHAKESPEARE,
                    model.tokenizer.clone(),
                    "shakespeare",
                )?;
                let seq = 64.min(model.params.config.n_ctx);
                feature_contexts(&model, &sae, hook, &corpus.val, CONTEXT_WINDOWS, seq)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            });
            // Kept beside the SAE, unless its folder already keeps them (a shipped SAE's is
            // never rewritten); a folder that cannot be written only loses the cache.
            if let (Some(folder), Ok(contexts)) = (&folder, &result)
                && load_contexts(folder, &sae).is_none()
            {
                let _ = save_contexts(folder, contexts);
            }
            sender.send(JobEvent::FeatureContexts { sae, result });
        });
    }

    /// Takes the contexts computed for `sae`.
    pub fn on_contexts(&mut self, sae: Arc<Sae<f32>>, result: ContextsResult) {
        if self
            .contexts_for
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, &sae))
        {
            self.contexts_for = None;
        }
        self.contexts = Some((sae, result));
    }

    /// The contexts of the open SAE, once computed.
    pub fn contexts_of_open(&self) -> Option<&ContextsResult> {
        let open = self.open.as_ref()?;
        self.contexts
            .as_ref()
            .filter(|(sae, _)| Arc::ptr_eq(sae, &open.sae))
            .map(|(_, result)| result)
    }
}

/// Windows of the held-out text read for the top contexts (64 tokens each: 16,384 tokens).
pub const CONTEXT_WINDOWS: usize = 256;

/// An SAE run from start to end on the calling thread (a thread of its own), obeying
/// `control` (run, pause, stop) and reporting through `send`.
fn train_on_this_thread(
    model: Arc<LoadedModel>,
    options: SaeRunOptions,
    control: &AtomicU8,
    send: &dyn Fn(SaeRunEvent),
) {
    let corpus = TextCorpus::with_tokenizer(SHAKESPEARE, model.tokenizer.clone(), "shakespeare");
    let data: Arc<dyn BatchSource> = match corpus {
        Ok(corpus) => Arc::new(corpus),
        Err(message) => return send(SaeRunEvent::Finished(Err(message))),
    };
    let mut run = match SaeRun::new(model, data, options) {
        Ok(run) => run,
        Err(e) => return send(SaeRunEvent::Finished(Err(e.to_string()))),
    };
    let mut last_snapshot = Instant::now();
    let mut steps = Vec::new();
    while !run.finished() {
        match control.load(Ordering::Acquire) {
            STOP => break,
            PAUSE => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            _ => {}
        }
        let step = match run.step() {
            Ok(metrics) => {
                let step = metrics.step;
                steps.push(metrics);
                step
            }
            Err(e) => return send(SaeRunEvent::Finished(Err(e.to_string()))),
        };
        let spliced = if step % SPLICED_EVERY == 0 {
            match run.spliced_loss() {
                Ok(loss) => Some((step, loss)),
                Err(e) => return send(SaeRunEvent::Finished(Err(e.to_string()))),
            }
        } else {
            None
        };
        let snapshot =
            (last_snapshot.elapsed() >= SNAPSHOT_EVERY).then(|| Arc::new(run.trainer.sae.clone()));
        if snapshot.is_some() {
            last_snapshot = Instant::now();
        }
        if snapshot.is_some() || spliced.is_some() || steps.len() >= 8 {
            let steps = std::mem::take(&mut steps);
            send(SaeRunEvent::Progress(steps, snapshot, spliced));
        }
    }
    if !steps.is_empty() {
        send(SaeRunEvent::Progress(steps, None, None));
    }
    let result = run
        .spliced_loss()
        .map(|loss| (Arc::new(run.trainer.sae.clone()), loss))
        .map_err(|e| e.to_string());
    send(SaeRunEvent::Finished(result));
}

/// What the Features view asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum SaeCommand {
    /// Change the training form.
    SetForm(SaeForm),
    /// Train an SAE with the form's settings on the model on screen.
    Start,
    /// Pause (`true`) or resume the run.
    Pause(bool),
    /// Stop the run; its SAE stays open.
    Stop,
    /// Read an SAE folder.
    Open(PathBuf),
    /// Write the open SAE (and its labels) into a folder.
    Save(PathBuf),
    /// Detail this feature (or none).
    Select(Option<usize>),
    /// Label a feature (empty removes the label).
    Label(usize, String),
    /// Compute the open SAE's top contexts, if not done.
    Contexts,
    /// Edit the stream through the open SAE at its hook: every view, the lens and Generate
    /// follow (listed in the interventions bar).
    Edit(crate::sae::FeatureEdit),
}

impl super::AppState {
    /// Applies a Features view command.
    pub fn apply_sae(&mut self, command: SaeCommand) {
        let model = self
            .analysis
            .as_ref()
            .map_or(&self.model, |a| &a.model)
            .clone();
        match command {
            SaeCommand::SetForm(form) => self.features.form = form,
            SaeCommand::Start => {
                if !self.features.running() {
                    self.features.start(&model, self.jobs.sender());
                }
            }
            SaeCommand::Pause(paused) => self.features.pause(paused),
            SaeCommand::Stop => self.features.stop(),
            SaeCommand::Open(path) => {
                self.jobs.files_in_flight += 1;
                let sender = self.jobs.sender();
                std::thread::spawn(move || {
                    let result = reporting_panics(|| {
                        crate::sae::files::load(&path)
                            .map(Box::new)
                            .map_err(|e| e.to_string())
                    });
                    sender.send(JobEvent::SaeLoaded { path, result });
                });
            }
            SaeCommand::Save(path) => {
                let Some(open) = self.features.open.clone() else {
                    return;
                };
                // The contexts computed for this SAE go with it; a file of another SAE's
                // there is removed.
                let contexts = self
                    .features
                    .contexts_of_open()
                    .and_then(|c| c.clone().ok());
                let (sae, hook, labels) = (Arc::clone(&open.sae), open.hook, open.labels.clone());
                self.features
                    .show_with_labels(sae, hook, Some(path.clone()), labels);
                self.jobs.write_file(path, move |path| {
                    let sidecar = crate::sae::Sidecar {
                        labels: open.labels.clone(),
                        training: None,
                    };
                    crate::sae::files::save(path, &open.sae, Some(&sidecar))
                        .map_err(|e| e.to_string())?;
                    match contexts {
                        Some(contexts) => crate::sae::contexts::save_contexts(path, &contexts),
                        None => match std::fs::remove_file(path.join(CONTEXTS_FILE)) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                Err(e.to_string())
                            }
                            _ => Ok(()),
                        },
                    }
                });
            }
            SaeCommand::Select(feature) => self.features.selected = feature,
            SaeCommand::Label(feature, label) => {
                self.features.set_label(feature, label);
                // An SAE read from (or saved to) a folder keeps its labels there at once.
                if let Some(open) = self.features.open.clone()
                    && let Some(folder) = open.folder.clone()
                {
                    self.jobs.write_file(folder, move |folder| {
                        // The side file alone (not the weights), keeping what else it holds.
                        let side = folder.join(crate::sae::files::SIDECAR_FILE);
                        let mut sidecar: crate::sae::Sidecar = std::fs::read_to_string(&side)
                            .ok()
                            .and_then(|text| serde_json::from_str(&text).ok())
                            .unwrap_or_default();
                        sidecar.labels = open.labels.clone();
                        crate::sae::files::save_sidecar(folder, &sidecar).map_err(|e| e.to_string())
                    });
                }
            }
            SaeCommand::Contexts => self.features.request_contexts(&model, self.jobs.sender()),
            SaeCommand::Edit(edit) => {
                let Some(open) = self.features.open.clone() else {
                    return;
                };
                let config = model.params.config.clone();
                if let Err(message) = self
                    .interventions
                    .add_feature_edit(&open.sae, open.hook, edit, &config)
                {
                    self.error = Some(crate::i18n::Notice::CannotAddIntervention.with(&[&message]));
                }
                self.retokenize();
            }
        }
    }
}
