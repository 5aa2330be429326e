//! What the training commands do, and how the run's reports reach the explorer: each
//! progress event's snapshot goes on the timeline and to the snapshot worker, which copies
//! it into a model and scores its heads off the UI thread; the explorer then shows it (while
//! following the run live), and every view redraws from the new trace.

use std::sync::Arc;

use super::AppState;
use super::file_dialog::run_dialog;
use super::snapshots::{SnapshotPurpose, SnapshotReady, SnapshotRequest};
use super::training::{
    ComparisonHistory, RunHistory, RunInfo, StartedRun, TrainingMessage, TrainingSetup,
    TrainingStatus,
};
use crate::i18n::{Message, Msg, Notice};
use crate::lesson::state::TrainingRun;
use crate::model::Params;
use crate::model::io::LoadedModel;
use crate::train::compare::{CompareEvent, CompareWorker, ResidualComparison};
use crate::train::timeline::Timeline;
use crate::train::{TrainEvent, TrainWorker, Trainer};

/// What the training panel asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingCommand {
    /// Replace the form's values.
    SetSetup(TrainingSetup),
    /// Set the form up as a lesson step says (and start when it says `start`).
    FromLesson(TrainingRun),
    /// Open the text-file dialog for the data.
    ChooseCorpus,
    /// Train a fresh model as the form says.
    Start,
    /// Pause the run.
    Pause,
    /// Resume a paused run.
    Resume,
    /// End the run after the current step.
    Stop,
    /// Show the snapshot at or before this step in every view (`None`: follow the run).
    ShowStep(Option<usize>),
    /// Show the snapshot at or before this step beside the current one (`None`: don't).
    CompareStep(Option<usize>),
    /// Forget a run that ended (its curves and timeline) when its model is no longer shown.
    Close,
}

impl AppState {
    /// Applies a training command.
    pub fn apply_training(&mut self, command: TrainingCommand) {
        match command {
            TrainingCommand::SetSetup(setup) => self.training.setup = setup,
            TrainingCommand::FromLesson(run) => {
                self.training.setup = TrainingSetup::from_lesson(&run);
                if run.start {
                    self.start_training();
                }
            }
            TrainingCommand::ChooseCorpus => {
                let sender = self.training.messages.clone();
                let wake = self.training.wake.clone();
                let language = self.lesson.player.language;
                std::thread::spawn(move || {
                    let path = run_dialog(|| {
                        rfd::FileDialog::new()
                            .set_title(Msg::CorpusTitle.text(language))
                            .add_filter(Msg::TextFiles.text(language), &["txt", "md"])
                            .pick_file()
                    });
                    let _ = sender.send(TrainingMessage::CorpusChosen(path));
                    wake.now();
                });
            }
            TrainingCommand::Start => self.start_training(),
            TrainingCommand::Pause => self.set_training_paused(true),
            TrainingCommand::Resume => self.set_training_paused(false),
            TrainingCommand::Stop => {
                if let Some(worker) = &self.training.worker {
                    worker.stop();
                }
                if let Some(worker) = &self.training.compare_worker {
                    worker.stop();
                }
            }
            TrainingCommand::ShowStep(step) => self.show_step(step),
            TrainingCommand::Close => {
                if !self.training.status.is_active() {
                    self.training.close_run();
                }
            }
            TrainingCommand::CompareStep(step) => {
                self.training.compare_analysis = None;
                self.training.compare_step =
                    step.and_then(|s| self.training.timeline.at_or_before(s).map(|e| e.step));
                self.request_compare_analysis();
            }
        }
    }

    /// Builds the data and the model on a helper thread, then starts the worker.
    fn start_training(&mut self) {
        if self.training.status.is_active() {
            self.notice = Some(Notice::RunAlreadyGoing.message());
            return;
        }
        self.training.worker = None; // a finished run's worker, if any
        self.training.compare_worker = None;
        self.training.status = TrainingStatus::Preparing;
        self.training.view_step = None;
        self.training.compare_step = None;
        self.training.compare_analysis = None;
        self.training.start_in_background = false;
        let setup = self.training.setup.clone();
        let sender = self.training.messages.clone();
        let wake = self.training.wake.clone();
        std::thread::spawn(move || {
            let message = prepare_run(&setup, wake.clone()).unwrap_or_else(|message| {
                TrainingMessage::Failed(Notice::CouldNotStartTraining.with(&[&message]))
            });
            let _ = sender.send(message);
            wake.now();
        });
    }

    fn show_step(&mut self, step: Option<usize>) {
        let entry = match step {
            Some(step) => self.training.timeline.at_or_before(step),
            None => self.training.timeline.latest(),
        };
        let (Some(entry), Some(run)) = (entry, &self.training.run) else {
            return;
        };
        self.training.view_step = step.map(|_| entry.step);
        self.training.show_requested = step.is_none();
        let request = SnapshotRequest {
            step: entry.step,
            params: Arc::clone(&entry.params),
            tokenizer: run.tokenizer.clone(),
            name: run.name.clone(),
            purpose: if step.is_some() {
                SnapshotPurpose::Scrub
            } else {
                SnapshotPurpose::Live
            },
            probe: None,
            analyse: None,
        };
        self.training.snapshots.request(request);
    }

    /// Asks for the analysis of the prompt at the comparison step.
    fn request_compare_analysis(&mut self) {
        let (Some(step), Some(run)) = (self.training.compare_step, &self.training.run) else {
            return;
        };
        let Some(entry) = self.training.timeline.at_or_before(step) else {
            return;
        };
        let request = SnapshotRequest {
            step: entry.step,
            params: Arc::clone(&entry.params),
            tokenizer: run.tokenizer.clone(),
            name: run.name.clone(),
            purpose: SnapshotPurpose::Compare,
            probe: None,
            analyse: Some((
                self.prompt.ids.clone(),
                self.analysis_options(),
                self.interventions.clone(),
            )),
        };
        self.training.snapshots.request(request);
    }

    /// Pauses or resumes whichever run is going (the single run reports its new status
    /// itself; the two-stack comparison's status is set here).
    fn set_training_paused(&mut self, paused: bool) {
        if let Some(worker) = &self.training.worker {
            if paused {
                worker.pause();
            } else {
                worker.resume();
            }
        }
        if let Some(worker) = &self.training.compare_worker {
            worker.set_paused(paused);
            self.training.status = if paused {
                TrainingStatus::Paused
            } else {
                TrainingStatus::Running
            };
        }
    }

    /// Whether the explorer shows a snapshot of the training run (not a model opened since):
    /// only then does the timeline drive the views.
    pub fn shows_training_run(&self) -> bool {
        self.training
            .installed
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m, &self.model))
    }

    /// Called before the explorer shows a model that is not one of the run's snapshots (a
    /// file, the default model, a lesson's model). A run that ended is closed, so its
    /// timeline cannot put its weights back into the views of an unrelated model. A run still
    /// going is not killed behind the student's back: it carries on in the background, where
    /// the timeline bar says so and offers to show or stop it; only scrubbing and the
    /// side-by-side comparison end.
    pub(crate) fn leave_training_run(&mut self) {
        let training = &mut self.training;
        if !training.status.is_active() {
            if training.has_run() {
                training.close_run();
            }
            return;
        }
        training.detach_from_views();
        if training.status == TrainingStatus::Preparing {
            training.start_in_background = true;
        }
    }

    /// Handles everything the run's threads reported; returns whether anything changed.
    pub fn poll_training(&mut self) -> bool {
        let mut changed = false;
        while let Ok(message) = self.training.inbox.try_recv() {
            changed = true;
            self.on_training_message(message);
        }
        let events = self.training.worker.as_ref().map(TrainWorker::poll);
        for event in events.into_iter().flatten() {
            changed = true;
            self.on_train_event(event);
        }
        let events = self
            .training
            .compare_worker
            .as_ref()
            .map(CompareWorker::poll);
        for event in events.into_iter().flatten() {
            changed = true;
            self.on_compare_event(event);
        }
        for ready in self.training.snapshots.poll() {
            changed = true;
            self.on_snapshot(ready);
        }
        // The comparison follows the prompt and the interventions.
        if let Some(analysis) = &self.training.compare_analysis
            && (analysis.tokens != self.prompt.ids || analysis.interventions != self.interventions)
        {
            self.training.compare_analysis = None;
            self.request_compare_analysis();
        }
        changed
    }

    fn on_training_message(&mut self, message: TrainingMessage) {
        match message {
            TrainingMessage::Started(started) => {
                let StartedRun {
                    worker,
                    model,
                    initial,
                    probe,
                    prompt,
                    history,
                } = *started;
                let mut timeline =
                    Timeline::with_memory_budget(super::training::TIMELINE_BUDGET_BYTES, &initial);
                timeline.push(0, Arc::clone(&initial), None);
                self.training.timeline = timeline;
                self.training.run = Some(RunInfo {
                    tokenizer: model.tokenizer.clone(),
                    name: model.name.clone(),
                    probe: probe.clone(),
                });
                self.training.history = Some(history);
                self.training.comparison = None;
                self.training.worker = Some(worker);
                self.training.status = TrainingStatus::Running;
                if std::mem::take(&mut self.training.start_in_background) {
                    // Another model was opened meanwhile: it stays on screen.
                    self.training.installed = None;
                    self.training.shown_step = None;
                } else {
                    if let Some(prompt) = prompt {
                        self.settings.prompt = prompt;
                    }
                    self.set_model(model);
                    self.training.installed = Some(Arc::clone(&self.model));
                    self.training.shown_step = Some(0);
                }
                self.request_snapshot(0, initial, false);
            }
            TrainingMessage::ComparisonStarted(worker, total_steps) => {
                self.training.compare_worker = Some(worker);
                self.training.comparison = Some(ComparisonHistory {
                    total_steps,
                    ..Default::default()
                });
                self.training.status = TrainingStatus::Running;
            }
            TrainingMessage::Failed(message) => {
                self.training.status = TrainingStatus::Failed(message.clone());
                self.error = Some(message);
            }
            TrainingMessage::CorpusChosen(Ok(Some(path))) => {
                self.training.setup.data = super::training::DataChoice::File(path);
            }
            TrainingMessage::CorpusChosen(Ok(None)) => {}
            TrainingMessage::CorpusChosen(Err(message)) => self.error = Some(message),
        }
    }

    /// Puts the snapshot on the timeline and asks the worker to prepare it.
    fn request_snapshot(&mut self, step: usize, params: Arc<Params<f32>>, push: bool) {
        if push {
            self.training.timeline.push(step, Arc::clone(&params), None);
        }
        let Some(run) = &self.training.run else {
            return;
        };
        self.training.snapshots.request(SnapshotRequest {
            step,
            params,
            tokenizer: run.tokenizer.clone(),
            name: run.name.clone(),
            purpose: SnapshotPurpose::Live,
            probe: Some(run.probe.clone()),
            analyse: None,
        });
    }

    fn on_train_event(&mut self, event: TrainEvent) {
        let history = self
            .training
            .history
            .get_or_insert_with(RunHistory::default);
        match event {
            TrainEvent::Progress {
                points,
                evaluations,
                tokens_per_s,
                snapshot,
                total_steps,
            } => {
                history.points.extend(points);
                history.evaluations.extend(evaluations);
                history.tokens_per_s = tokens_per_s;
                history.total_steps = total_steps;
                let step = history.steps_done();
                self.request_snapshot(step, snapshot, true);
            }
            TrainEvent::Paused { .. } => self.training.status = TrainingStatus::Paused,
            TrainEvent::Resumed { .. } => self.training.status = TrainingStatus::Running,
            TrainEvent::LearningRateChanged { .. } => {}
            TrainEvent::Diverged {
                step,
                message,
                params,
            } => {
                self.training.status =
                    TrainingStatus::Failed(Notice::Diverged.with(&[&step, &message]));
                self.request_snapshot(step.saturating_sub(1), params, true);
            }
            TrainEvent::Failed { message, params } => {
                let step = history.steps_done();
                self.training.status = TrainingStatus::Failed(Message::Plain(message));
                self.request_snapshot(step, params, true);
            }
            TrainEvent::Finished {
                step,
                stopped,
                params,
            } => {
                self.training.status = TrainingStatus::Finished { stopped };
                self.request_snapshot(step, params, true);
            }
        }
    }

    fn on_compare_event(&mut self, event: CompareEvent) {
        let comparison = self
            .training
            .comparison
            .get_or_insert_with(ComparisonHistory::default);
        match event {
            CompareEvent::Progress {
                points: [with, without],
                total_steps,
            } => {
                comparison.points[0].extend(with);
                comparison.points[1].extend(without);
                comparison.total_steps = total_steps;
            }
            CompareEvent::Failed { message } => {
                self.training.status = TrainingStatus::Failed(Message::Plain(message));
            }
            CompareEvent::Finished { stopped, .. } => {
                self.training.status = TrainingStatus::Finished { stopped };
            }
        }
    }

    fn on_snapshot(&mut self, ready: SnapshotReady) {
        self.training.last_snapshot_time = ready.took;
        if let Some(scores) = ready.scores
            && let Some(entry) = self.training.timeline.entry_mut(ready.step)
        {
            entry.data = Some(scores);
        }
        match ready.purpose {
            SnapshotPurpose::Live => {
                // While following the run live: a newer snapshot; after "show the run": any.
                let newer = self.training.shown_step.is_none_or(|s| ready.step > s);
                let wanted = self.training.show_requested || (self.shows_training_run() && newer);
                if self.training.view_step.is_none() && wanted {
                    self.install_snapshot(ready.step, ready.model);
                }
            }
            SnapshotPurpose::Scrub => {
                if self.training.view_step == Some(ready.step) {
                    self.install_snapshot(ready.step, ready.model);
                }
            }
            SnapshotPurpose::Compare => {
                if self.training.compare_step == Some(ready.step) {
                    self.training.compare_analysis = ready.analysis.and_then(Result::ok);
                }
            }
        }
    }

    /// Shows `model` (a snapshot of the run) in every view, keeping the prompt and the
    /// selection.
    fn install_snapshot(&mut self, step: usize, model: Arc<LoadedModel>) {
        if !self.shows_training_run() {
            // Back from another model ("show the run"): its prompt may not fit the run's.
            self.fit_prompt_to(&model);
        }
        self.model = Arc::clone(&model);
        self.model_generation += 1;
        self.training.installed = Some(model);
        self.training.shown_step = Some(step);
        self.training.show_requested = false;
        self.training.snapshots_shown += 1;
        self.retokenize();
    }
}

/// Reads the data, builds the model (or the two comparison runs) and starts the worker.
fn prepare_run(setup: &TrainingSetup, wake: super::jobs::Waker) -> Result<TrainingMessage, String> {
    let data = setup.data_source()?;
    let config = setup.config(data.d_vocab())?;
    let init = setup.init_options();
    let wake_fn = move || wake.now();
    if setup.compare_residual {
        let comparison = ResidualComparison::new(&config, data, setup.options(), init)?;
        let worker = CompareWorker::start(comparison, Box::new(wake_fn));
        return Ok(TrainingMessage::ComparisonStarted(worker, setup.steps));
    }
    let params = Params::<f32>::init(&config, init).map_err(|e| e.to_string())?;
    let probe = setup.score_probe(&config)?;
    let tokenizer = data.tokenizer();
    // On the symbol tasks, show the probe's repeated sequence: attention changes visibly.
    let prompt = matches!(tokenizer, crate::model::tokenizer::Tokenizer::Ids { .. })
        .then(|| tokenizer.decode(&probe.sequences[0]));
    let model = LoadedModel {
        params: params.clone(),
        tokenizer,
        name: setup.model_name(),
        source: None,
    };
    let initial = Arc::new(params.clone());
    let trainer = Trainer::new(params, data, setup.options())?;
    let history = RunHistory {
        description: format!("{}, {} steps", setup.model_name(), setup.steps),
        total_steps: setup.steps,
        tokens_per_step: setup.batch * setup.seq,
        ..Default::default()
    };
    let worker = TrainWorker::start(trainer, Box::new(wake_fn));
    Ok(TrainingMessage::Started(Box::new(StartedRun {
        worker,
        model,
        initial,
        probe,
        prompt,
        history,
    })))
}
