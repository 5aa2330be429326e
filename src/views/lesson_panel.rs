//! The lesson panel: the lesson list, the open step's text and "Try it" prompts (scrolling
//! between the progress, pinned above, and Back / Next, pinned below), the English /
//! Português switch, the first start's offer of lesson 1, and lesson 1's editor of the four
//! added vectors.
//!
//! Opening a step first opens the lesson's model if another one is on screen (unless the lesson
//! trains a model and the run's snapshot is on screen), then sends the commands that set the
//! step's screen (prompt, view, stage, token, layer, head, target,
//! interventions, training run). The panel only reads the app state and pushes [`Command`]s.
//! Which lesson and step are open, and the language, are kept in [`LessonSettings`], which the
//! app stores with eframe under [`LESSON_SETTINGS_KEY`].

use std::path::PathBuf;

use egui::{RichText, Ui};

use super::lesson_text::{Phrase, blocks_ui, phrase};
use crate::lesson::embedded::embedded_lessons;
use crate::lesson::player::{LessonPlayer, LessonSettings, StepPlan, plan_step};
use crate::lesson::state::{Editor, View};
use crate::lesson::toy::additions;
use crate::lesson::{Language, ModelRef};
use crate::model::io::LoadedModel;
use crate::state::experiments::InterventionCommand;
use crate::state::training_run::TrainingCommand;
use crate::state::{AppState, Command, ViewKind, models};
use crate::widgets::set_accessible_name;

/// Key of the panel's settings in eframe's storage.
pub const LESSON_SETTINGS_KEY: &str = "residual-explorer-lessons";

/// A step to set up once its model is open.
#[derive(Clone, Debug, PartialEq)]
struct PendingStep {
    /// Whether the command opening the model was sent.
    model_requested: bool,
    /// Whether the student moved here with Next (a training run the step sets may start).
    forward: bool,
}

/// The lesson panel and where the student is.
pub struct LessonPanel {
    /// The lessons and the open one.
    pub player: LessonPlayer,
    /// Whether the panel is shown.
    pub visible: bool,
    /// Whether the first start's offer of lesson 1 is shown.
    welcome: bool,
    /// The open step, waiting for its model.
    pending: Option<PendingStep>,
    /// What the last step could not set up, shown under its text.
    notes: Vec<String>,
    /// The editor the open step shows.
    editor: Option<Editor>,
    /// Name of the embedded default model, to recognise it on screen.
    default_name: Option<String>,
}

impl LessonPanel {
    /// The panel over the shipped lessons, restored from `settings`. With `offer_welcome` a
    /// first start (no answered welcome yet) opens the panel with the offer of lesson 1.
    pub fn new(settings: LessonSettings, offer_welcome: bool) -> Self {
        let language = Language::from_code(&settings.language).unwrap_or_default();
        let (lessons, _problems) = embedded_lessons();
        let mut player = LessonPlayer::new(lessons, language);
        let mut pending = None;
        if let Some((number, step)) = settings.position
            && player.open(number, step)
        {
            pending = Some(PendingStep {
                model_requested: false,
                forward: false,
            });
        }
        let welcome = offer_welcome && !settings.welcomed;
        Self {
            visible: welcome || pending.is_some(),
            player,
            welcome,
            pending,
            notes: Vec::new(),
            editor: None,
            default_name: None,
        }
    }

    /// Reads settings stored as JSON (anything unreadable gives the defaults).
    pub fn settings_from_json(text: &str) -> LessonSettings {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// What to store between sessions, as JSON.
    pub fn settings_json(&self) -> String {
        let settings = LessonSettings {
            language: self.player.language.code().to_string(),
            welcomed: !self.welcome,
            position: self.player.position(),
        };
        serde_json::to_string(&settings).expect("lesson settings always serialise")
    }

    /// Opens lesson `number` at `step` and sets up its screen over the next frames.
    pub fn open(&mut self, number: u32, step: usize) {
        if self.player.open(number, step) {
            self.welcome = false;
            self.visible = true;
            self.go_to_current(true);
        }
    }

    /// Whether a step is still being set up (its model opening, its commands not yet sent).
    pub fn is_setting_up(&self) -> bool {
        self.pending.is_some()
    }

    /// Moves `delta` steps in the open lesson.
    pub fn step_by(&mut self, delta: isize) {
        if self.player.step_by(delta) {
            self.go_to_current(delta > 0);
        }
    }

    fn go_to_current(&mut self, forward: bool) {
        self.notes.clear();
        self.pending = Some(PendingStep {
            model_requested: false,
            forward,
        });
    }

    /// Draws the panel's contents and pushes the commands of a step being set up.
    pub fn ui(&mut self, ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
        self.set_up_pending(state, commands);
        let language = self.player.language;
        ui.horizontal(|ui| {
            ui.heading(phrase(language, Phrase::Lessons));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let close = ui
                    .button("×")
                    .on_hover_text(phrase(language, Phrase::Close));
                if close.clicked() {
                    self.visible = false;
                }
                self.language_ui(ui);
            });
        });
        ui.separator();
        // The lesson, the progress and Back / Next stay in view; only the text scrolls, and
        // every step starts at its top.
        let position = self.player.position();
        if position.is_some() {
            self.progress_ui(ui);
            egui::Panel::bottom("lesson navigation")
                .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(0, 6)))
                .show(ui, |ui| self.navigation_ui(ui));
        }
        egui::ScrollArea::vertical()
            .id_salt(("lesson scroll", position))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if self.welcome {
                    self.welcome_ui(ui);
                }
                if position.is_some() {
                    self.step_ui(ui, state, commands);
                } else {
                    self.list_ui(ui);
                }
            });
    }

    fn language_ui(&mut self, ui: &mut Ui) {
        let current = self.player.language;
        let combo = egui::ComboBox::from_id_salt("lesson language")
            .selected_text(current.native_name())
            .show_ui(ui, |ui| {
                for language in Language::ALL {
                    if ui
                        .selectable_label(language == current, language.native_name())
                        .clicked()
                    {
                        self.player.language = language;
                    }
                }
            });
        set_accessible_name(&combo.response, phrase(current, Phrase::LanguageLabel));
    }

    fn welcome_ui(&mut self, ui: &mut Ui) {
        let language = self.player.language;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(phrase(language, Phrase::Welcome));
            ui.horizontal(|ui| {
                if ui.button(phrase(language, Phrase::StartFirst)).clicked()
                    && let Some(first) = self.player.first_number()
                {
                    self.open(first, 0);
                }
                if ui.button(phrase(language, Phrase::NotNow)).clicked() {
                    self.welcome = false;
                    self.visible = self.player.current().is_some();
                }
            });
        });
        ui.add_space(8.0);
    }

    fn list_ui(&mut self, ui: &mut Ui) {
        let mut chosen = None;
        for lesson in self.player.list() {
            let title = format!("{}. {}", lesson.number, lesson.title);
            if ui.link(RichText::new(title).strong().size(15.0)).clicked() {
                chosen = Some(lesson.number);
            }
            if !lesson.summary.is_empty() {
                ui.label(RichText::new(&lesson.summary).weak());
            }
            ui.add_space(6.0);
        }
        if let Some(number) = chosen {
            self.open(number, 0);
        }
    }

    /// The open lesson's title and how far the student is in it.
    fn progress_ui(&self, ui: &mut Ui) {
        let language = self.player.language;
        let Some((lesson, index)) = self.player.current() else {
            return;
        };
        let count = lesson.steps.len();
        ui.label(RichText::new(format!("{}. {}", lesson.number, lesson.title)).strong());
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} {} {} {count}",
                phrase(language, Phrase::Step),
                index + 1,
                phrase(language, Phrase::Of)
            ));
            ui.add(egui::ProgressBar::new((index + 1) as f32 / count as f32).desired_width(140.0));
        });
        ui.separator();
    }

    /// The open step's text, its editor and what could not be set up.
    fn step_ui(&mut self, ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
        let language = self.player.language;
        let Some((lesson, index)) = self.player.current() else {
            return;
        };
        let step = &lesson.steps[index];
        ui.add_space(4.0);
        ui.label(RichText::new(&step.title).heading());
        if index == 0 {
            blocks_ui(ui, &lesson.intro, language);
        }
        blocks_ui(ui, &step.blocks, language);
        if self.pending.is_some() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(phrase(language, Phrase::OpeningModel));
            });
        }
        if self.editor == Some(Editor::Additions) {
            additions_editor_ui(ui, state, language, commands);
        }
        for note in &self.notes {
            ui.label(RichText::new(note).weak().italics());
        }
    }

    /// Back, Next (or the next lesson) and the way back to the list.
    fn navigation_ui(&mut self, ui: &mut Ui) {
        let language = self.player.language;
        let Some((lesson, index)) = self.player.current() else {
            return;
        };
        let at_end = index + 1 == lesson.steps.len();
        let next_lesson = self.player.next_lesson_number();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(index > 0, egui::Button::new(phrase(language, Phrase::Back)))
                .clicked()
            {
                self.step_by(-1);
            }
            if !at_end {
                if ui.button(phrase(language, Phrase::Next)).clicked() {
                    self.step_by(1);
                }
            } else if let Some(number) = next_lesson {
                if ui.button(phrase(language, Phrase::NextLesson)).clicked() {
                    self.open(number, 0);
                }
            } else {
                ui.label(phrase(language, Phrase::Finished));
            }
            if ui.button(phrase(language, Phrase::AllLessons)).clicked() {
                self.player.close();
                self.pending = None;
                self.editor = None;
                self.notes.clear();
            }
        });
    }

    /// Opens the lesson's model if needed, then sends the step's commands.
    fn set_up_pending(&mut self, state: &AppState, commands: &mut Vec<Command>) {
        let Some(pending) = self.pending.clone() else {
            return;
        };
        let Some(model_ref) = self.player.model().cloned() else {
            self.pending = None;
            return;
        };
        // A lesson that trains keeps the run's model on screen once the run is going.
        let lesson_trains = self
            .player
            .current()
            .is_some_and(|(lesson, index)| lesson.state_at(index).training.is_some());
        let keep_training_model = lesson_trains && state.shows_training_run();
        if !keep_training_model && !self.model_is_open(&model_ref, &state.model) {
            if !pending.model_requested {
                match &model_ref {
                    ModelRef::Default => commands.push(Command::OpenDefaultModel),
                    ModelRef::File(path) => match find_model(path) {
                        Some(found) => commands.push(Command::OpenModel(found)),
                        None => {
                            self.notes
                                .push(format!("The model {path} is not installed."));
                            self.pending = None;
                            return;
                        }
                    },
                }
                self.pending = Some(PendingStep {
                    model_requested: true,
                    ..pending
                });
            } else if state.loading.is_none() {
                // The load finished without giving us the model: it failed (the app shows
                // why in its error banner).
                self.notes.push(format!(
                    "The lesson's model {model_ref} could not be opened."
                ));
                self.pending = None;
            }
            return;
        }
        // Let the app finish what opening the model started (a trace of the old prompt), so a
        // late result cannot clamp the step's selection to the old prompt's length.
        if state.busy() {
            return;
        }
        let Some((lesson, index)) = self.player.current() else {
            return;
        };
        let plan = plan_step(lesson, index, &state.model);
        let sets_training = lesson.steps[index].state.training.is_some();
        self.editor = plan.editor;
        self.notes = plan.problems.clone();
        push_plan_commands(&plan, state, pending.forward && sets_training, commands);
        self.pending = None;
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

/// The "Lessons" toggle for the tab row, highlighted while the panel is shown; returns whether
/// it was clicked.
pub fn toggle_ui(ui: &mut Ui, visible: bool, language: Language) -> bool {
    let text = RichText::new(phrase(language, Phrase::Lessons)).size(15.0);
    ui.selectable_label(visible, text).clicked()
}

/// Where a lesson's `models/NAME` file is installed: the app's model folders, in order.
pub fn find_model(path: &str) -> Option<PathBuf> {
    let relative = path.strip_prefix("models/").unwrap_or(path);
    models::model_folders()
        .into_iter()
        .map(|folder| folder.join(relative))
        .find(|candidate| candidate.is_file())
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The explorer's view for a lesson view name.
pub fn view_kind(view: View) -> ViewKind {
    match view {
        View::Residual => ViewKind::Residual,
        View::Attention => ViewKind::Attention,
        View::Contributions => ViewKind::Contributions,
        View::LogitLens => ViewKind::LogitLens,
        View::Model => ViewKind::Model,
        View::Training => ViewKind::Training,
    }
}

/// The commands that give the app the screen `plan` describes. `start_training`: a training
/// run the plan carries may start (when the student arrived at its step with Next).
pub fn push_plan_commands(
    plan: &StepPlan,
    state: &AppState,
    start_training: bool,
    commands: &mut Vec<Command>,
) {
    if let Some(prompt) = &plan.prompt
        && *prompt != state.settings.prompt
    {
        commands.push(Command::SetPrompt(prompt.clone()));
    }
    if let Some(view) = plan.view {
        commands.push(Command::ShowView(view_kind(view)));
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
    if let Some(interventions) = &plan.interventions {
        let patches = interventions.iter().map(|i| i.to_patch()).collect();
        commands.push(Command::Intervention(InterventionCommand::Replace(patches)));
    }
    if let Some(run) = &plan.training {
        let mut run = run.clone();
        run.start &= start_training;
        commands.push(Command::Training(TrainingCommand::FromLesson(run)));
    }
}

/// Drag values for the vectors each sublayer adds (`b_O`, `b_out` of a model whose `W_O` and
/// `W_out` are zero), and a reset to the chapter's values.
fn additions_editor_ui(
    ui: &mut Ui,
    state: &AppState,
    language: Language,
    commands: &mut Vec<Command>,
) {
    let mut values: Vec<Vec<f32>> = additions(&state.model.params)
        .iter()
        .map(|v| v.to_vec())
        .collect();
    let config = &state.model.params.config;
    // The chapter's names: a₁, f₁ for layer 0's attention and MLP, a₂, f₂ for layer 1's, ….
    let names: Vec<String> = (0..config.n_layers)
        .flat_map(|layer| {
            let n = subscript(layer + 1);
            let attn = format!("a{n} (L{layer} attn)");
            let mlp = (!config.attn_only).then(|| format!("f{n} (L{layer} mlp)"));
            std::iter::once(attn).chain(mlp)
        })
        .collect();
    let mut changed = false;
    let mut reset = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(RichText::new(phrase(language, Phrase::Additions)).strong());
        egui::Grid::new("additions editor").show(ui, |ui| {
            for (index, vector) in values.iter_mut().enumerate() {
                let name = names.get(index).cloned().unwrap_or_default();
                ui.label(&name);
                for (component, value) in vector.iter_mut().enumerate() {
                    let response = ui.add(egui::DragValue::new(value).speed(0.01).max_decimals(3));
                    set_accessible_name(&response, format!("{name} component {component}"));
                    changed |= response.changed();
                }
                ui.end_row();
            }
        });
        reset = ui
            .button(phrase(language, Phrase::ResetAdditions))
            .clicked();
    });
    match (&state.model.source, reset) {
        // Read the lesson's model file again: its own values, whatever they are.
        (Some(source), true) => commands.push(Command::OpenModel(source.clone())),
        _ if changed => commands.push(Command::SetAdditions(values)),
        _ => {}
    }
}

/// `12` → `₁₂`.
fn subscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|d| char::from_u32('₀' as u32 + d.to_digit(10).unwrap_or(0)).unwrap_or(d))
        .collect()
}
