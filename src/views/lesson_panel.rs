//! The lesson panel: the lesson list, the open step's text and "Try it" prompts (scrolling
//! between the progress, pinned above, and Back / Next, pinned below), the English /
//! Português switch (drawn in the tab row), the first start's offer of lesson 1, and lesson 1's editor of the four
//! added vectors.
//!
//! The panel only draws: which lesson and step are open, the language, and the set-up of a
//! step's screen over frames are state ([`crate::state::lesson_run`]); the panel reads them
//! and sends [`Command::Lesson`]. What is remembered between sessions is a
//! [`LessonSettings`], which the app stores with eframe under [`LESSON_SETTINGS_KEY`].

use egui::{RichText, Ui};

use super::lesson_text::blocks_ui;
use crate::i18n::Msg;
use crate::lesson::player::LessonSettings;
use crate::lesson::state::Editor;
use crate::lesson::toy::additions;
use crate::lesson::{Language, Lesson};
use crate::state::{AppState, Command, LessonCommand, LessonRun};
use crate::widgets::{busy_spinner_ui, set_accessible_name};

/// Key of the panel's settings in eframe's storage.
pub const LESSON_SETTINGS_KEY: &str = "residual-explorer-lessons";

/// The lesson panel: whether it is shown and whether it offers lesson 1. Which lesson is open
/// is [`AppState::lesson`].
pub struct LessonPanel {
    /// Whether the panel is shown.
    pub visible: bool,
    /// Whether the first start's offer of lesson 1 is shown.
    welcome: bool,
}

impl LessonPanel {
    /// The panel beside `lessons` as restored. With `offer_welcome` a first start (no answered
    /// welcome yet) opens the panel with the offer of lesson 1; an open lesson shows it too.
    pub fn new(settings: &LessonSettings, lessons: &LessonRun, offer_welcome: bool) -> Self {
        let welcome = offer_welcome && !settings.welcomed;
        Self {
            visible: welcome || lessons.player.position().is_some(),
            welcome,
        }
    }

    /// Reads settings stored as JSON (anything unreadable gives the defaults).
    pub fn settings_from_json(text: &str) -> LessonSettings {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// What to store between sessions, as JSON.
    pub fn settings_json(&self, lessons: &LessonRun) -> String {
        serde_json::to_string(&lessons.settings(!self.welcome))
            .expect("lesson settings always serialise")
    }

    /// Opens lesson `number` at `step` (its screen is set up over the next frames).
    pub fn open(&mut self, number: u32, step: usize, commands: &mut Vec<Command>) {
        self.welcome = false;
        self.visible = true;
        commands.push(Command::Lesson(LessonCommand::Open { number, step }));
    }

    /// Draws the panel's contents; what the student does becomes [`Command`]s.
    pub fn ui(&mut self, ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
        let lessons = &state.lesson;
        let language = lessons.player.language;
        ui.horizontal(|ui| {
            ui.heading(Msg::Lessons.text(language));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let close = ui
                    .button("×")
                    .on_hover_text(Msg::CloseLessons.text(language));
                if close.clicked() {
                    self.visible = false;
                }
            });
        });
        ui.separator();
        // The lesson, the progress and Back / Next stay in view; only the text scrolls, and
        // every step starts at its top.
        let position = lessons.player.position();
        let current = lessons.player.current();
        if let Some((lesson, index)) = current {
            progress_ui(ui, lesson, index, language);
            egui::Panel::bottom("lesson navigation")
                .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(0, 6)))
                .show(ui, |ui| self.navigation_ui(ui, lessons, commands));
        }
        egui::ScrollArea::vertical()
            .id_salt(("lesson scroll", position))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if self.welcome {
                    self.welcome_ui(ui, lessons, commands);
                }
                match current {
                    Some((lesson, index)) => step_ui(ui, state, lesson, index, commands),
                    None => self.list_ui(ui, lessons, commands),
                }
            });
    }

    fn welcome_ui(&mut self, ui: &mut Ui, lessons: &LessonRun, commands: &mut Vec<Command>) {
        let language = lessons.player.language;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(Msg::Welcome.text(language));
            ui.horizontal(|ui| {
                if ui.button(Msg::StartFirst.text(language)).clicked()
                    && let Some(first) = lessons.player.first_number()
                {
                    self.open(first, 0, commands);
                }
                if ui.button(Msg::NotNow.text(language)).clicked() {
                    self.welcome = false;
                    self.visible = lessons.player.current().is_some();
                }
            });
        });
        ui.add_space(8.0);
    }

    fn list_ui(&mut self, ui: &mut Ui, lessons: &LessonRun, commands: &mut Vec<Command>) {
        let mut chosen = None;
        for lesson in lessons.player.list() {
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
            self.open(number, 0, commands);
        }
    }

    /// Back, Next (or the next lesson) and the way back to the list.
    fn navigation_ui(&mut self, ui: &mut Ui, lessons: &LessonRun, commands: &mut Vec<Command>) {
        let language = lessons.player.language;
        let Some((lesson, index)) = lessons.player.current() else {
            return;
        };
        let at_end = index + 1 == lesson.steps.len();
        let next_lesson = lessons.player.next_lesson_number();
        let mut send = |command| commands.push(Command::Lesson(command));
        ui.horizontal(|ui| {
            if ui
                .add_enabled(index > 0, egui::Button::new(Msg::BackStep.text(language)))
                .clicked()
            {
                send(LessonCommand::StepBy(-1));
            }
            if !at_end {
                if ui.button(Msg::NextStep.text(language)).clicked() {
                    send(LessonCommand::StepBy(1));
                }
            } else if let Some(number) = next_lesson {
                if ui.button(Msg::NextLesson.text(language)).clicked() {
                    send(LessonCommand::Open { number, step: 0 });
                }
            } else {
                ui.label(Msg::EndOfLesson.text(language));
            }
            // At the far end of the row, so it stays put when "Next →" becomes the wider
            // "Next lesson →": a quick second click on Next never lands on it.
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(Msg::AllLessons.text(language)).clicked() {
                    send(LessonCommand::Close);
                }
            });
        });
    }
}

/// The language switch of the lessons and the whole interface (drawn in the tab row, beside
/// the "Lessons" toggle, so it is there with the panel closed too).
pub fn language_ui(ui: &mut Ui, current: Language, commands: &mut Vec<Command>) {
    let combo = egui::ComboBox::from_id_salt("lesson language")
        .selected_text(current.native_name())
        .show_ui(ui, |ui| {
            for language in Language::ALL {
                if ui
                    .selectable_label(language == current, language.native_name())
                    .clicked()
                {
                    commands.push(Command::Lesson(LessonCommand::SetLanguage(language)));
                }
            }
        });
    set_accessible_name(&combo.response, Msg::Language.text(current));
}

/// The open lesson's title and how far the student is in it.
fn progress_ui(ui: &mut Ui, lesson: &Lesson, index: usize, language: Language) {
    let count = lesson.steps.len();
    ui.label(RichText::new(format!("{}. {}", lesson.number, lesson.title)).strong());
    ui.horizontal(|ui| {
        ui.label(Msg::StepOf.fill(language, &[&(index + 1), &count]));
        ui.add(egui::ProgressBar::new((index + 1) as f32 / count as f32).desired_width(140.0));
    });
    ui.separator();
}

/// The open step's text, its editor and what could not be set up.
fn step_ui(
    ui: &mut Ui,
    state: &AppState,
    lesson: &Lesson,
    index: usize,
    commands: &mut Vec<Command>,
) {
    let lessons = &state.lesson;
    let language = lessons.player.language;
    let step = &lesson.steps[index];
    ui.add_space(4.0);
    ui.label(RichText::new(&step.title).heading());
    if index == 0 {
        blocks_ui(ui, &lesson.intro, language);
    }
    blocks_ui(ui, &step.blocks, language);
    if lessons.is_setting_up() {
        ui.horizontal(|ui| {
            busy_spinner_ui(ui);
            ui.label(Msg::OpeningLessonModel.text(language));
        });
    }
    if lessons.editor == Some(Editor::Additions) {
        additions_editor_ui(ui, state, language, commands);
    }
    for note in &lessons.notes {
        ui.label(RichText::new(note.text(language)).weak().italics());
    }
}

/// The "Lessons" toggle for the tab row, highlighted while the panel is shown; returns whether
/// it was clicked.
pub fn toggle_ui(ui: &mut Ui, visible: bool, language: Language) -> bool {
    let text = RichText::new(Msg::Lessons.text(language)).size(15.0);
    ui.selectable_label(visible, text).clicked()
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
        ui.label(RichText::new(Msg::Additions.text(language)).strong());
        egui::Grid::new("additions editor").show(ui, |ui| {
            for (index, vector) in values.iter_mut().enumerate() {
                let name = names.get(index).cloned().unwrap_or_default();
                ui.label(&name);
                for (component, value) in vector.iter_mut().enumerate() {
                    let response = ui.add(egui::DragValue::new(value).speed(0.01).max_decimals(3));
                    let name = Msg::ComponentOf.fill(language, &[&name, &component]);
                    set_accessible_name(&response, name);
                    changed |= response.changed();
                }
                ui.end_row();
            }
        });
        reset = ui.button(Msg::ResetAdditions.text(language)).clicked();
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
