//! Lessons: Markdown files that walk a student through the chapter on the residual stream,
//! step by step, each step setting the explorer's state (view, stage, token, layer, head,
//! interventions, a training run). The format is described for teachers in
//! `lessons/README.md`.
//!
//! - [`parse`] turns a file's text into a [`Lesson`], or a list of [`Problem`]s with lines;
//! - [`state`] is the small `state` block of a step and how steps accumulate;
//! - [`expect`] is a step's `expect` line, the numbers its text states about the screen;
//! - [`check`] validates lessons against their models and against each other (every lesson in
//!   English and in Portuguese, setting the same states) — `residual-explorer lesson check`;
//! - [`embedded`] holds the shipped lessons, compiled into the binary for the GUI;
//! - [`player`] walks through lessons (open, Next, Back, language) and resolves a step against
//!   a model into a [`player::StepPlan`];
//! - [`toy`] builds lesson 1's hand-set d = 3 model.
//!
//! Nothing here imports egui: the lesson panel (`views/lesson_panel.rs`) only reads these types.

pub mod check;
pub mod embedded;
pub mod expect;
pub mod parse;
pub mod player;
pub mod state;
pub mod toy;

use std::fmt;

pub use check::{CheckReport, check_dir, check_lessons};
pub use parse::parse_lesson;
pub use state::{Editor, LessonIntervention, StepState, TokenPos, TrainingRun};

/// The language a lesson is written in (the interface's too: see [`crate::i18n`]).
pub use crate::i18n::Language;

/// Which model a lesson runs on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModelRef {
    /// The model embedded in the binary (`model: default`).
    Default,
    /// A file under `models/`, relative to the project root (the lessons folder's parent),
    /// written with forward slashes: `models/seed-residual-toy.safetensors`.
    File(String),
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Default => f.write_str("default"),
            ModelRef::File(path) => f.write_str(path),
        }
    }
}

/// A piece of a step's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Markdown prose: paragraphs, lists, `###` headings, **bold**, *italic*, `code`.
    Text(String),
    /// A "Try it" prompt (a `>` blockquote in the file): what to do and what to look for.
    TryIt(String),
    /// A fenced code block other than `state`, shown as monospace text.
    Code(String),
}

/// One step of a lesson: a title, text, and the app state it sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The heading after `## Step:` (or `## Passo:`).
    pub title: String,
    /// Line of the heading (1-based).
    pub line: usize,
    /// The text, in order.
    pub blocks: Vec<Block>,
    /// What this step changes; keys it does not name keep their earlier value.
    pub state: StepState,
    /// Line of each key in the `state` block, for error messages.
    pub state_lines: state::KeyLines,
}

/// A parsed lesson file.
#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    /// The file name, `01-residual-stream.en.md`.
    pub file_name: String,
    /// The lesson number from the file name (`01` → 1): the order in the lesson list.
    pub number: u32,
    /// The name shared by both languages: `01-residual-stream`.
    pub slug: String,
    /// `title:` from the front matter.
    pub title: String,
    /// `summary:` from the front matter, one line for the lesson list (may be empty).
    pub summary: String,
    /// `language:` from the front matter (it must agree with the file name).
    pub language: Language,
    /// `model:` from the front matter.
    pub model: ModelRef,
    /// `prompt:` from the front matter: the text typed into the prompt editor at the start.
    pub prompt: String,
    /// Line of each front-matter key.
    pub front_lines: state::KeyLines,
    /// Text between the front matter and the first step, shown above the first step.
    pub intro: Vec<Block>,
    /// The steps, at least one.
    pub steps: Vec<Step>,
}

impl Lesson {
    /// The state in force at step `index` (0-based): the front matter's prompt, then every
    /// step's keys up to and including this one, later steps overriding earlier ones. Going
    /// Back or jumping to a step therefore gives the same screen as walking to it.
    pub fn state_at(&self, index: usize) -> StepState {
        let mut effective = StepState {
            prompt: Some(self.prompt.clone()),
            ..StepState::default()
        };
        for step in self.steps.iter().take(index + 1) {
            effective.merge(&step.state);
        }
        effective
    }
}

/// Something wrong with a lesson file, at a line (1-based; 0 when it concerns no line, such as
/// a missing translation).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The file, as given to the checker.
    pub file: String,
    /// The line, 1-based.
    pub line: usize,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl Problem {
    /// A problem at `file:line`.
    pub fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line.max(1), self.message)
    }
}
