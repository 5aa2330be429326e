//! The lesson player as state (no egui): the open lesson and step, the language, and the
//! set-up of a step's screen, which may take several frames: the lesson's model first (a
//! file loads in the background), then the trace that opening it started, then the step's
//! commands (prompt, view, stage, token, layer, head, target, interventions, training run).
//!
//! Commands in ([`LessonCommand`]), state out: [`AppState::advance_lesson`] moves a set-up on
//! once per frame, whatever is drawn, and the load it waits for is recognised by its own
//! result ([`JobEvent::ModelLoaded`](super::JobEvent) for that path), not by whether some load
//! is under way. The lesson panel only draws this and sends commands; tests drive a lesson
//! step through [`AppState`] alone.

use std::path::{Path, PathBuf};

use super::experiments::InterventionCommand;
use super::features::SaeCommand;
use super::training_run::TrainingCommand;
use super::{AppState, Command, LensColour, models};
use crate::i18n::{Message, Notice};
use crate::lesson::embedded::embedded_lessons;
use crate::lesson::player::{LessonPlayer, LessonSettings, StepPlan, plan_step};
use crate::lesson::state::Editor;
use crate::lesson::{Language, ModelRef};
use crate::model::io::LoadedModel;

/// What the lesson player is asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonCommand {
    /// Open lesson `number` at `step` and set its screen up.
    Open {
        /// The lesson's number.
        number: u32,
        /// The step, 0-based (clamped to the lesson's steps).
        step: usize,
    },
    /// Move this many steps in the open lesson (Back is −1, Next +1).
    StepBy(isize),
    /// Close the lesson (back to the list).
    Close,
    /// Show the lessons in this language (the open step stays).
    SetLanguage(Language),
}

/// Where the lesson's model is, while a step waits for it.
#[derive(Clone, Debug, PartialEq)]
enum ModelWait {
    /// Not asked for yet.
    NotRequested,
    /// This file is loading.
    Loading(PathBuf),
    /// The load of the lesson's file finished, yet the model on screen is not it: it failed.
    Finished,
}

/// A step whose screen is being set up.
#[derive(Clone, Debug, PartialEq)]
struct SetUp {
    /// Whether the student arrived with Next (a training run the step sets may start).
    forward: bool,
    model: ModelWait,
}

/// The lessons, the open one, and the set-up of its step.
#[derive(Debug)]
pub struct LessonRun {
    /// The lessons and where the student is.
    pub player: LessonPlayer,
    /// The open step while its screen is being set up.
    set_up: Option<SetUp>,
    /// What the last step could not set up, shown under its text (a missing model, or the
    /// lesson file's own problems, which are for its author and stay in English).
    pub notes: Vec<Message>,
    /// The editor the open step shows.
    pub editor: Option<Editor>,
    /// Name of the embedded default model, to recognise it on screen.
    default_name: Option<String>,
}

impl LessonRun {
    /// The shipped lessons, restored from `settings` (the lesson open last is set up again).
    pub fn new(settings: &LessonSettings) -> Self {
        let language = Language::from_code(&settings.language).unwrap_or_default();
        let (lessons, _problems) = embedded_lessons();
        let mut run = Self {
            player: LessonPlayer::new(lessons, language),
            set_up: None,
            notes: Vec::new(),
            editor: None,
            default_name: None,
        };
        if let Some((number, step)) = settings.position
            && run.player.open(number, step)
        {
            run.start_set_up(false);
        }
        run
    }

    /// Whether a step is still being set up (its model opening, its commands not yet sent).
    pub fn is_setting_up(&self) -> bool {
        self.set_up.is_some()
    }

    /// What to remember between sessions; `welcomed`: the first start's offer was answered.
    pub fn settings(&self, welcomed: bool) -> LessonSettings {
        LessonSettings {
            language: self.player.language.code().to_string(),
            welcomed,
            position: self.player.position(),
        }
    }

    fn start_set_up(&mut self, forward: bool) {
        self.notes.clear();
        self.set_up = Some(SetUp {
            forward,
            model: ModelWait::NotRequested,
        });
    }

    /// Carries out `command`.
    fn apply(&mut self, command: LessonCommand) {
        match command {
            LessonCommand::Open { number, step } => {
                if self.player.open(number, step) {
                    self.start_set_up(true);
                }
            }
            LessonCommand::StepBy(delta) => {
                if self.player.step_by(delta) {
                    self.start_set_up(delta > 0);
                }
            }
            LessonCommand::Close => {
                self.player.close();
                self.set_up = None;
                self.editor = None;
                self.notes.clear();
            }
            LessonCommand::SetLanguage(language) => self.player.language = language,
        }
    }

    /// A model file finished loading (or failed to): if it is the one a step waits for, the
    /// step goes on (and says so if the model on screen is still not the lesson's).
    fn model_load_finished(&mut self, path: &Path) {
        if let Some(set_up) = &mut self.set_up
            && set_up.model == ModelWait::Loading(path.to_path_buf())
        {
            set_up.model = ModelWait::Finished;
        }
    }

    /// Whether `open` is the model `model_ref` names (edits of its biases included).
    fn model_is_open(&mut self, model_ref: &ModelRef, open: &LoadedModel) -> bool {
        match model_ref {
            ModelRef::Default => {
                let name = self
                    .default_name
                    .get_or_insert_with(|| models::default_model().name);
                open.source.is_none() && open.name == *name
            }
            ModelRef::File(path) => match (find_model(path), &open.source) {
                (Some(wanted), Some(source)) => same_file(&wanted, source),
                _ => false,
            },
        }
    }
}

impl AppState {
    /// Carries out a lesson command (the set-up of a newly opened step starts at the next
    /// [`AppState::advance_lesson`]).
    pub fn apply_lesson(&mut self, command: LessonCommand) {
        self.lesson.apply(command);
    }

    /// Called when a model file's load has finished, well or not.
    pub(crate) fn lesson_model_loaded(&mut self, path: &Path) {
        self.lesson.model_load_finished(path);
    }

    /// Moves the set-up of the open step on: opens the lesson's model if another one is on
    /// screen (unless the lesson trains a model and the run's snapshot is on screen), then,
    /// once it is, applies the step's commands. Call once per frame after taking finished
    /// jobs.
    pub fn advance_lesson(&mut self) {
        let Some(set_up) = self.lesson.set_up.clone() else {
            return;
        };
        let Some(model_ref) = self.lesson.player.model().cloned() else {
            self.lesson.set_up = None;
            return;
        };
        // A lesson that trains keeps the run's model on screen once the run is going.
        let lesson_trains = self
            .lesson
            .player
            .current()
            .is_some_and(|(lesson, index)| lesson.state_at(index).training.is_some());
        let keep_training_model = lesson_trains && self.shows_training_run();
        if !keep_training_model && !self.lesson.model_is_open(&model_ref, &self.model) {
            match &set_up.model {
                ModelWait::NotRequested => self.request_lesson_model(&model_ref),
                ModelWait::Loading(_) => {}
                ModelWait::Finished => {
                    // The load ended without giving us the model: it failed (the app shows
                    // why in its error banner).
                    self.lesson
                        .notes
                        .push(Notice::LessonModelNotOpened.with(&[&model_ref]));
                    self.lesson.set_up = None;
                }
            }
            return;
        }
        // No waiting for the app to be idle: a trace of the old prompt that lands after the
        // step's commands no longer bounds the selection (only the current trace does), and
        // an app that keeps tracing (a live run's snapshots) would hold the step back.
        let Some((lesson, index)) = self.lesson.player.current() else {
            return;
        };
        let plan = plan_step(lesson, index, &self.model);
        let sets_training = lesson.steps[index].state.training.is_some();
        let commands = plan_commands(&plan, self, set_up.forward && sets_training);
        self.lesson.editor = plan.editor;
        self.lesson.notes = plan.problems.into_iter().map(Message::Plain).collect();
        if let Some(sae) = &plan.sae
            && find_in_models(sae, Path::is_dir).is_none()
        {
            // Said in the panel, as a missing model is.
            self.lesson
                .notes
                .push(Notice::ModelNotInstalled.with(&[sae]));
        }
        self.lesson.set_up = None;
        for command in commands {
            self.apply(command);
        }
    }

    /// Opens the lesson's model: the default one at once, a file in the background.
    fn request_lesson_model(&mut self, model_ref: &ModelRef) {
        match model_ref {
            ModelRef::Default => self.apply(Command::OpenDefaultModel),
            ModelRef::File(path) => match find_model(path) {
                Some(found) => {
                    if let Some(set_up) = &mut self.lesson.set_up {
                        set_up.model = ModelWait::Loading(found.clone());
                    }
                    self.apply(Command::OpenModel(found));
                }
                None => {
                    self.lesson
                        .notes
                        .push(Notice::ModelNotInstalled.with(&[&path]));
                    self.lesson.set_up = None;
                }
            },
        }
    }
}

/// Where a lesson's `models/NAME` file is installed: the app's model folders, in order.
pub fn find_model(path: &str) -> Option<PathBuf> {
    find_in_models(path, Path::is_file)
}

/// The first of the app's model folders where `models/NAME` is there and passes `kind`
/// (a file, a folder).
fn find_in_models(path: &str, kind: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let relative = path.strip_prefix("models/").unwrap_or(path);
    models::model_folders()
        .into_iter()
        .map(|folder| folder.join(relative))
        .find(|candidate| kind(candidate))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The commands that give the app the screen `plan` describes. `start_training`: a training
/// run the plan carries may start (when the student arrived at its step with Next).
pub fn plan_commands(plan: &StepPlan, state: &AppState, start_training: bool) -> Vec<Command> {
    let mut commands = Vec::new();
    if let Some(prompt) = &plan.prompt
        && *prompt != state.settings.prompt
    {
        commands.push(Command::SetPrompt(prompt.clone()));
    }
    if let Some(view) = plan.view {
        commands.push(Command::ShowView(view));
    }
    if let Some(stage) = plan.stage {
        commands.push(Command::SetStage(stage));
    }
    if let Some(token) = plan.token {
        commands.push(Command::SelectToken(token));
    }
    match (plan.layer, plan.head) {
        (layer, Some(head)) => commands.push(Command::SelectHead {
            layer: layer.unwrap_or(state.selection.layer),
            head,
        }),
        (Some(layer), None) => commands.push(Command::SelectLayer(layer)),
        (None, None) => {}
    }
    commands.push(Command::SetTarget(plan.target));
    if let Some(kind) = plan.composition {
        commands.push(Command::SetComposition(kind));
    }
    // A missing SAE is said in the lesson panel (`advance_lesson`).
    if let Some(folder) = plan
        .sae
        .as_deref()
        .and_then(|sae| find_in_models(sae, Path::is_dir))
    {
        let open = state.features.open.as_ref();
        let same = open
            .and_then(|open| open.folder.as_deref())
            .is_some_and(|f| same_file(f, &folder));
        if !same {
            commands.push(Command::Sae(SaeCommand::Open(folder)));
        }
    }
    if let Some(feature) = plan.feature {
        commands.push(Command::Sae(SaeCommand::Select(Some(feature))));
    }
    // A step's screen does not depend on how an earlier lesson left the lens's colours.
    commands.push(Command::SetLensColour(LensColour::default()));
    if let Some(interventions) = &plan.interventions {
        let patches = interventions.iter().map(|i| i.to_patch()).collect();
        commands.push(Command::Intervention(InterventionCommand::Replace(patches)));
    }
    if let Some(run) = &plan.training {
        let mut run = run.clone();
        run.start &= start_training;
        commands.push(Command::Training(TrainingCommand::FromLesson(run)));
    }
    commands
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::state::Settings;

    /// The hazard the lesson player once waited out: a trace of the previous prompt that
    /// lands after a step selected a token of its new, longer prompt.
    #[test]
    fn a_late_trace_of_the_old_prompt_keeps_the_new_selection() {
        let mut state = AppState::new(
            models::default_model(),
            Settings::default(),
            crate::state::Waker::none(),
        );
        assert!(state.wait_until_idle(Duration::from_secs(20)));
        state.apply(Command::SetPrompt("To be".into()));
        // Its result is held back, as if the frame that takes it came later.
        let late = state
            .jobs
            .next_within(Duration::from_secs(20))
            .expect("the short prompt's trace");
        state.apply(Command::SetPrompt(
            "To be, or not to be, that is the question".into(),
        ));
        let last = state.prompt.ids.len() - 1;
        assert!(last > 10);
        state.apply(Command::SelectToken(last));
        state.on_event(late);
        assert!(state.wait_until_idle(Duration::from_secs(20)));
        assert_eq!(state.analysis.as_ref().map(|a| a.n_pos()), Some(last + 1));
        assert_eq!(
            state.selection.token, last,
            "the late result moved the token"
        );
    }
}
