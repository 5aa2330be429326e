//! The explorer's state as plain data (no egui): the open model, the prompt, the linked
//! selection, the current analysis and the settings. Views read it and send [`Command`]s;
//! [`AppState::apply`] changes it, in one place each frame.

pub mod analysis;
pub mod circuits;
pub mod command;
pub mod experiments;
pub mod export;
pub mod features;
pub mod file_dialog;
pub mod generate;
pub mod jobs;
pub mod lens_fill;
pub mod lesson_run;
pub mod logits;
pub mod models;
pub mod plural;
pub mod prompt;
pub mod save_name;
pub mod selection;
pub mod settings;
pub mod snapshots;
pub mod stage_words;
pub mod training;
pub mod training_run;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

pub use analysis::Analysis;
pub use command::Command;
pub use export::{ExportFormat, Table};
pub use features::SaeCommand;
pub use jobs::{FilePurpose, JobEvent, Jobs, Waker};
pub use lesson_run::{LessonCommand, LessonRun};
pub use prompt::PromptTokens;
pub use selection::Selection;
pub use settings::{LensColour, Settings, ViewKind};

use crate::i18n::{Message, Notice};
use crate::interp::interventions::Interventions;
use crate::interp::{AnalysisOptions, LensOptions, LensStages, stages};
use crate::model::io::LoadedModel;

/// Predictions kept per cell of the logit lens (shown on hover).
pub const LENS_TOP_K: usize = 10;

/// Everything the explorer shows and remembers.
#[derive(Debug)]
pub struct AppState {
    /// The open model (the analysis on screen may still belong to the previous one).
    pub model: Arc<LoadedModel>,
    /// Counts model changes, so a result for an older model is recognised.
    pub model_generation: u64,
    /// The prompt as the model sees it.
    pub prompt: PromptTokens,
    /// Persisted settings, including the prompt text and the open view.
    pub settings: Settings,
    /// The linked selection.
    pub selection: Selection,
    /// The newest finished analysis (kept on screen while a newer one is computed).
    pub analysis: Option<Arc<Analysis>>,
    /// Why the current prompt could not run (e.g. it has no token), shown instead of views.
    pub trace_error: Option<Message>,
    /// An error to show in the window until dismissed (a file that failed to load, ...).
    pub error: Option<Message>,
    /// A short message about something that went well ("Saved …").
    pub notice: Option<Message>,
    /// Said after "Opened …" when the model being loaded opens (set by [`Self::note_on_open`]).
    pub open_note: Option<Message>,
    /// The model file being read, if any.
    pub loading: Option<PathBuf>,
    /// How much of it has been read.
    pub load_progress: Option<Arc<crate::model::io::LoadProgress>>,
    /// The trace request whose result is awaited.
    pub pending_trace: Option<u64>,
    /// The trace request the analysis on screen answers (its lens may still be filling).
    pub analysis_request: Option<u64>,
    /// When the newest trace was requested (for the latency log of
    /// `RESIDUAL_EXPLORER_LOG_FRAMES`).
    trace_requested_at: Option<(u64, Instant)>,
    /// Which lens latencies of the analysis on screen were logged.
    lens_logged: LensLatencyLogged,
    /// The token rows the logit lens view shows (their cells are computed first).
    pub lens_rows_on_screen: std::ops::Range<usize>,
    /// A file dialog the app should open.
    pub dialog_request: Option<FilePurpose>,
    /// An export the app should perform (it owns the pixels and the view tables).
    pub export_request: Option<(ExportFormat, PathBuf)>,
    /// Models found in the `models/` folders.
    pub shipped_models: Vec<PathBuf>,
    /// Random numbers for sampled generation (seeded: a session is reproducible).
    pub rng: StdRng,
    /// The active interventions: every trace runs with them.
    pub interventions: Interventions,
    /// Training: the form, the run, its timeline and the residual on/off experiment.
    pub training: training::TrainingState,
    /// Activation patching between a clean and a corrupted prompt.
    pub patching: experiments::PatchingState,
    /// Whether the open model was edited in place (lesson 1's additions editor), so it is no
    /// longer the file or preset it was opened from; the interventions bar says so.
    pub model_edited: bool,
    /// The lessons, the open step and the set-up of its screen.
    pub lesson: LessonRun,
    /// The circuits of the weights on screen (the Circuits view).
    pub circuits: circuits::CircuitsState,
    /// The sparse autoencoder, its training run and its features (the Features view).
    pub features: features::FeaturesState,
    /// Background work.
    pub jobs: Jobs,
}

/// Which lens latencies of the analysis on screen were logged (with
/// `RESIDUAL_EXPLORER_LOG_FRAMES`).
#[derive(Debug, Default)]
struct LensLatencyLogged {
    /// The selected token's row.
    selected_row: bool,
    /// The whole grid.
    whole_grid: bool,
}

impl AppState {
    /// A state showing `model`, with `settings` restored, that starts its first trace.
    pub fn new(model: LoadedModel, settings: Settings, wake: Waker) -> Self {
        let mut state = Self {
            model: Arc::new(model),
            model_generation: 0,
            prompt: PromptTokens::default(),
            settings,
            selection: Selection::default(),
            analysis: None,
            trace_error: None,
            error: None,
            notice: None,
            open_note: None,
            loading: None,
            load_progress: None,
            pending_trace: None,
            analysis_request: None,
            trace_requested_at: None,
            lens_logged: LensLatencyLogged::default(),
            lens_rows_on_screen: 0..0,
            dialog_request: None,
            export_request: None,
            shipped_models: models::shipped_models(),
            rng: StdRng::seed_from_u64(0),
            interventions: Interventions::new(),
            training: training::TrainingState::new(wake.clone()),
            patching: experiments::PatchingState::new(wake.clone()),
            model_edited: false,
            lesson: LessonRun::new(&Default::default()),
            circuits: circuits::CircuitsState::default(),
            features: features::FeaturesState::default(),
            jobs: Jobs::new(wake),
        };
        // A saved prompt may have been written for another model (a lesson's, a file's); a
        // few unknown characters in one typed for this model stay, flagged in the prompt bar.
        fit_prompt(&mut state.settings.prompt, &state.model, PromptFit::MostOf);
        state.retokenize();
        state
    }

    /// True while a trace, the lens of the analysis on screen, a model load or a file write
    /// is under way.
    pub fn busy(&self) -> bool {
        self.pending_trace.is_some()
            || self.jobs.files_in_flight > 0
            || self.lens_filling()
            || self.circuits.computing()
            || self.features.computing_contexts()
    }

    /// Whether the worker is still filling the lens of the analysis on screen.
    pub fn lens_filling(&self) -> bool {
        self.analysis_is_current()
            && self
                .analysis
                .as_ref()
                .is_some_and(|a| !a.lens().is_complete())
    }

    /// With `RESIDUAL_EXPLORER_LOG_FRAMES`, prints how long ago trace `request` was asked for
    /// (a prompt edit, an intervention, a model change) and what is ready now.
    fn log_latency(&self, request: u64, what: &str) {
        if let (true, Some((id, at))) = (self.training.frame_times.shown, self.trace_requested_at)
            && id == request
        {
            eprintln!(
                "trace {request}: {what} {:.0} ms after the request",
                at.elapsed().as_secs_f64() * 1e3
            );
        }
    }

    /// Asks the worker to compute the selected token's lens row next, then the rows on
    /// screen (nothing to do once the lens is complete).
    fn refocus_lens(&mut self) {
        if let (Some(request), true) = (self.analysis_request, self.lens_filling()) {
            let focus = self.selection.token;
            self.jobs
                .focus_lens(request, focus, self.lens_rows_on_screen.clone());
        }
    }

    /// The analysis on screen, if it belongs to the current prompt and model (false while a
    /// newer one is being computed).
    pub fn analysis_is_current(&self) -> bool {
        match &self.analysis {
            Some(a) => {
                Arc::ptr_eq(&a.model, &self.model)
                    && a.tokens == self.prompt.ids
                    && a.options == self.analysis_options()
                    && a.interventions == self.interventions
            }
            None => false,
        }
    }

    /// The analysis options the settings ask for.
    pub fn analysis_options(&self) -> AnalysisOptions {
        AnalysisOptions {
            lens: LensOptions {
                norm: self.settings.lens_norm,
                top_k: LENS_TOP_K,
            },
            lens_stages: LensStages::EveryStreamStage,
        }
    }

    /// Applies every finished job's result; returns whether anything changed.
    pub fn poll_jobs(&mut self) -> bool {
        let mut changed = false;
        while let Some(event) = self.jobs.try_next() {
            self.on_event(event);
            changed = true;
        }
        changed |= self.poll_training();
        changed |= self.poll_patching();
        changed
    }

    /// Waits (blocking) until no job is pending, or `timeout` passes; returns whether idle.
    /// For tests, benchmarks and the screenshot script, never for the UI thread.
    pub fn wait_until_idle(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.poll_jobs();
        while self.busy() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if let Some(event) = self.jobs.next_within(left) {
                self.on_event(event);
            }
        }
        true
    }

    /// Re-encodes the prompt for the current model and asks for a trace of it.
    pub(crate) fn retokenize(&mut self) {
        let config = &self.model.params.config;
        self.prompt =
            PromptTokens::encode(&self.settings.prompt, &self.model.tokenizer, config.n_ctx);
        if self.prompt.ids.is_empty() {
            self.pending_trace = None;
            self.trace_error = Some(if self.prompt.unknown.is_empty() {
                Notice::EmptyPrompt.message()
            } else {
                Notice::NoKnownCharacter.message()
            });
            return;
        }
        self.trace_error = None;
        // The analysis on screen still fits, and the worker is still on it (not on a newer
        // request that stopped its lens half-way).
        if self.analysis_is_current() && self.analysis_request == Some(self.jobs.last_request()) {
            self.pending_trace = None;
            return;
        }
        let options = self.analysis_options();
        let focus = self.selection.token.min(self.prompt.ids.len() - 1);
        let id = self.jobs.request_trace_with(
            self.model.clone(),
            self.prompt.ids.clone(),
            options,
            self.interventions.clone(),
            focus,
        );
        self.pending_trace = Some(id);
        self.trace_requested_at = Some((id, Instant::now()));
    }

    /// Shows `note` now and again beside "Opened …" when the model being loaded opens (a
    /// load replaces the notice on screen).
    pub fn note_on_open(&mut self, note: Message) {
        self.notice = Some(note.clone());
        self.open_note = Some(note);
    }

    /// Makes `model` the open model; the prompt is kept when the new tokenizer can encode
    /// it, otherwise replaced by a prompt the model can read. A notice about the model on
    /// screen before ("Opened …") is cleared. The stage slider keeps its stage by name
    /// (`logits` stays `logits`), or goes to `embed` when the new model has no such stage.
    pub fn set_model(&mut self, model: LoadedModel) {
        self.fit_prompt_to(&model);
        let stage_label = stages(&self.model.params.config)
            .get(self.selection.stage)
            .map(|stage| stage.short_label());
        let new_stages = stages(&model.params.config);
        let stage = stage_label
            .and_then(|label| new_stages.iter().position(|s| s.short_label() == label))
            .unwrap_or(0);
        self.selection.set_stage(stage, &new_stages);
        let previous = std::mem::replace(&mut self.model, Arc::new(model));
        jobs::drop_off_the_ui_thread(previous);
        self.model_generation += 1;
        self.notice = None;
        let dropped = self.interventions.retain_valid(&self.model.params.config);
        if !dropped.is_empty() {
            self.notice = Some(Notice::InterventionsDropped.with(&[&dropped.join(", ")]));
        }
        self.selection.target_token = None;
        self.selection.component = None;
        self.retokenize();
    }

    /// Replaces the prompt by one `model` can read unless its tokenizer encodes all of it.
    fn fit_prompt_to(&mut self, model: &LoadedModel) {
        fit_prompt(&mut self.settings.prompt, model, PromptFit::Every);
    }

    /// Opens `model` in place of whatever is shown (a file, the default model, a lesson's
    /// model): unlike a training snapshot, it leaves the training run (see
    /// [`AppState::leave_training_run`]).
    pub fn open_other_model(&mut self, model: LoadedModel) {
        self.leave_training_run();
        self.model_edited = false;
        self.set_model(model);
    }

    /// Keeps the selection inside the analysis on screen.
    fn clamp_selection(&mut self) {
        if let Some(analysis) = &self.analysis {
            let config = &analysis.model.params.config;
            self.selection.clamp(
                analysis.n_pos(),
                analysis.stages.len(),
                config.n_layers,
                config.n_heads,
            );
        }
    }

    /// Handles a finished job.
    pub fn on_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::TraceFinished { request, result } => {
                if self.pending_trace == Some(request) {
                    self.pending_trace = None;
                }
                match result {
                    Ok(analysis) => {
                        self.log_latency(request, "every view but the lens is ready");
                        self.lens_logged = LensLatencyLogged::default();
                        // Results arrive in request order; a newer one replaces an older.
                        // Only the current one bounds the selection: an older one (of the
                        // previous prompt or model) would undo a selection made for the
                        // newer; views read the selection kept inside what is on screen.
                        let previous = self.analysis.replace(analysis);
                        jobs::drop_off_the_ui_thread(previous);
                        self.analysis_request = Some(request);
                        if self.analysis_is_current() {
                            self.clamp_selection();
                        }
                    }
                    Err(message) => self.trace_error = Some(Message::Plain(message)),
                }
            }
            JobEvent::LensProgress { request } => {
                // The analysis holds the rows; the event is a repaint (and log lines).
                if self.analysis_request == Some(request) {
                    let selected_row = self
                        .analysis
                        .as_ref()
                        .is_some_and(|analysis| analysis.lens().is_computed(self.selection.token));
                    if selected_row && !self.lens_logged.selected_row {
                        self.lens_logged.selected_row = true;
                        self.log_latency(request, "the selected token's lens row is ready");
                    }
                    // Several progress events can arrive in one frame, each after the last
                    // chunk is in.
                    if !self.lens_filling() && !self.lens_logged.whole_grid {
                        self.lens_logged.whole_grid = true;
                        self.log_latency(request, "the whole lens grid is ready");
                    }
                }
            }
            JobEvent::ModelLoaded { path, result } => {
                self.jobs.files_in_flight = self.jobs.files_in_flight.saturating_sub(1);
                self.lesson_model_loaded(&path);
                if self.loading.as_ref() == Some(&path) {
                    self.loading = None;
                    self.load_progress = None;
                }
                match result {
                    Ok(model) => {
                        self.settings.remember_model(&path);
                        self.error = None;
                        self.open_other_model(*model);
                        // After "Opened …": the note asked for, and what opening it did
                        // (interventions that no longer fit).
                        let opened = Notice::Opened.with(&[&path.display()]);
                        let sentences: Vec<Message> = std::iter::once(opened)
                            .chain(self.open_note.take())
                            .chain(self.notice.take())
                            .collect();
                        self.notice = Some(Message::Sentences(sentences));
                    }
                    Err(message) => {
                        self.open_note = None;
                        self.error = Some(Notice::CouldNotOpen.with(&[&message]));
                    }
                }
            }
            JobEvent::CircuitsPart {
                request,
                model,
                circuits,
                complete,
            } => self.circuits.on_part(request, model, circuits, complete),
            JobEvent::CircuitsFailed { request, message } => {
                self.circuits.on_failure(request, message)
            }
            JobEvent::SaeRun { run, event } => self.features.on_run_event(run, event),
            JobEvent::FeatureContexts { sae, result } => self.features.on_contexts(sae, result),
            JobEvent::SaeLoaded { path, result } => {
                self.jobs.files_in_flight = self.jobs.files_in_flight.saturating_sub(1);
                let opened = result.and_then(|folder| {
                    self.features
                        .open_folder(path.clone(), *folder, &self.model)
                });
                match opened {
                    Ok(()) => self.notice = Some(Notice::Opened.with(&[&path.display()])),
                    Err(message) => self.error = Some(Notice::CouldNotOpen.with(&[&message])),
                }
            }
            JobEvent::FileWritten { path, result } => {
                self.jobs.files_in_flight = self.jobs.files_in_flight.saturating_sub(1);
                match result {
                    Ok(()) => self.notice = Some(Notice::Saved.with(&[&path.display()])),
                    Err(message) => {
                        self.error = Some(Notice::CouldNotWrite.with(&[&path.display(), &message]))
                    }
                }
            }
            JobEvent::PathChosen { purpose, path } => {
                let path = match path {
                    Ok(path) => path,
                    Err(message) => {
                        self.error = Some(message);
                        None
                    }
                };
                if let Some(path) = path {
                    let command = match purpose {
                        FilePurpose::OpenModel | FilePurpose::OpenModelFolder => {
                            Command::OpenModel(path)
                        }
                        FilePurpose::SaveModel => Command::SaveModel(path),
                        FilePurpose::Export(format) => Command::Export { format, path },
                        FilePurpose::OpenSae => Command::Sae(SaeCommand::Open(path)),
                        FilePurpose::SaveSae => Command::Sae(SaeCommand::Save(path)),
                    };
                    self.apply(command);
                }
            }
        }
    }
}

/// How much of a prompt a model must read for the prompt to be kept.
#[derive(Clone, Copy)]
enum PromptFit {
    /// Every piece (a model change: the old prompt was written for the old model).
    Every,
    /// More than half of the pieces read (start-up: the prompt may be the user's own).
    MostOf,
}

/// Replaces `text` by `model`'s default prompt unless `model` reads enough of it (`fit`).
fn fit_prompt(text: &mut String, model: &LoadedModel, fit: PromptFit) {
    let encoded = PromptTokens::encode(text, &model.tokenizer, model.params.config.n_ctx);
    let unread = encoded.unknown.len();
    let readable = match fit {
        PromptFit::Every => unread == 0,
        PromptFit::MostOf => 2 * unread <= encoded.ids.len(),
    };
    if encoded.ids.is_empty() || !readable {
        *text = prompt::default_prompt(&model.tokenizer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The short label of the selected stage in `state`'s open model.
    fn stage_label(state: &AppState) -> String {
        stages(&state.model.params.config)[state.selection.stage].short_label()
    }

    #[test]
    fn a_model_change_keeps_the_stage_by_name_or_goes_to_embed() {
        let wake = Waker::none();
        let mut state = AppState::new(models::default_model(), Settings::default(), wake);
        let default_stages = stages(&state.model.params.config);
        let toy = crate::lesson::toy::seed_residual_toy();
        assert!(
            stages(&toy.params.config).len() < default_stages.len(),
            "the toy has fewer stages, so an index kept as it is would name another stage"
        );
        state.apply(Command::SetStage(default_stages.len() - 1));
        assert_eq!(stage_label(&state), "logits");
        state.set_model(toy.clone());
        assert_eq!(stage_label(&state), "logits");
        let l1_attn = stages(&toy.params.config)
            .iter()
            .position(|s| s.short_label() == "L1 attn")
            .unwrap();
        state.apply(Command::SetStage(l1_attn));
        state.set_model(models::default_model());
        assert_eq!(stage_label(&state), "L1 attn");
        assert_eq!(state.selection.layer, 1);
        let last_block = default_stages
            .iter()
            .rposition(|s| s.layer().is_some())
            .unwrap();
        state.apply(Command::SetStage(last_block));
        state.set_model(toy);
        assert_eq!(state.selection.stage, 0, "the toy has no such stage: embed");
    }

    #[test]
    fn a_saved_prompt_the_model_cannot_read_is_replaced_at_start() {
        let settings = |prompt: &str| Settings {
            prompt: prompt.into(),
            ..Settings::default()
        };
        let wake = Waker::none();
        // Token ids typed for an induction model: the character model's vocabulary has
        // no digit but 3.
        let foreign = AppState::new(
            models::default_model(),
            settings("0 26 31 2 23 11 17 13 8 4 16 22"),
            wake.clone(),
        );
        assert_eq!(
            foreign.settings.prompt,
            prompt::default_prompt(&foreign.model.tokenizer)
        );
        let own = AppState::new(models::default_model(), settings("to bé or not"), wake);
        assert_eq!(
            own.settings.prompt, "to bé or not",
            "a mostly readable prompt is kept, its unknown piece flagged"
        );
    }
}
