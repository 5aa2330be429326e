//! Walking through lessons, without any GUI: which lesson and step are open, in which
//! language, and what a step asks of the explorer once resolved against the open model
//! ([`StepPlan`]). `state::lesson_run` turns a plan into the app's commands and the lesson
//! panel draws it; tests drive both headless.
//!
//! Both languages of a lesson have the same steps (the checker sees to it), so switching
//! language keeps the lesson and the step.

use serde::{Deserialize, Serialize};

use super::state::{Editor, LessonIntervention, TrainingRun};
use super::{Language, Lesson, ModelRef};
use crate::interp::stage::stages;
use crate::model::TokenId;
use crate::model::io::LoadedModel;
use crate::view_kind::ViewKind;

/// What the lesson panel remembers between sessions (stored by the app with its settings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LessonSettings {
    /// The language of the lessons: `en` or `pt`.
    pub language: String,
    /// Whether the first start's offer of lesson 1 has been answered.
    pub welcomed: bool,
    /// The lesson open last (its number) and its step (0-based).
    pub position: Option<(u32, usize)>,
}

impl Default for LessonSettings {
    fn default() -> Self {
        Self {
            language: Language::En.code().to_string(),
            welcomed: false,
            position: None,
        }
    }
}

/// A step resolved against a model: indices instead of labels and texts. `None` leaves that
/// part of the app as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepPlan {
    /// The view to show.
    pub view: Option<ViewKind>,
    /// The prompt to type (always set: the lesson's prompt or a step's).
    pub prompt: Option<String>,
    /// Index of the stage in the model's stage list.
    pub stage: Option<usize>,
    /// Token position (resolved `last`).
    pub token: Option<usize>,
    /// Layer.
    pub layer: Option<usize>,
    /// Head.
    pub head: Option<usize>,
    /// Token id of the target.
    pub target: Option<TokenId>,
    /// Interventions to have active (`Some(empty)`: none).
    pub interventions: Option<Vec<LessonIntervention>>,
    /// A training run to set up.
    pub training: Option<TrainingRun>,
    /// The editor to show in the panel (`None`: none).
    pub editor: Option<Editor>,
    /// The composition the Circuits view maps.
    pub composition: Option<crate::interp::circuits::CompositionKind>,
    /// An SAE folder under `models/` to open.
    pub sae: Option<String>,
    /// The feature to detail.
    pub feature: Option<usize>,
    /// What could not be resolved (a lesson that `lesson check` would reject), one sentence
    /// each; the rest of the plan is still applied.
    pub problems: Vec<String>,
}

/// Resolves step `index` of `lesson` (with the keys carried over from earlier steps) against
/// `model`, the model the lesson runs on.
pub fn plan_step(lesson: &Lesson, index: usize, model: &LoadedModel) -> StepPlan {
    let state = lesson.state_at(index);
    let config = &model.params.config;
    let mut plan = StepPlan {
        view: state.view,
        prompt: state.prompt.clone(),
        layer: state.layer.filter(|&l| l < config.n_layers),
        head: state.head.filter(|&h| h < config.n_heads),
        interventions: state.interventions.clone(),
        training: state.training.clone(),
        editor: state.editor.flatten(),
        composition: state.composition,
        sae: state.sae.clone(),
        feature: state.feature,
        ..StepPlan::default()
    };
    let prompt = state.prompt.as_deref().unwrap_or_default();
    let n_tokens = model.tokenizer.encode(prompt).ids.len().min(config.n_ctx);
    if let Some(token) = state.token {
        plan.token = token.resolve(n_tokens);
        if plan.token.is_none() {
            plan.problems
                .push(format!("token {token} is outside the prompt"));
        }
    }
    if let Some(label) = &state.stage {
        plan.stage = stages(config)
            .iter()
            .position(|s| s.short_label() == *label);
        if plan.stage.is_none() {
            plan.problems
                .push(format!("this model has no stage {label:?}"));
        }
    }
    if let Some(target) = &state.target {
        let encoded = model.tokenizer.encode(target);
        plan.target =
            (encoded.unknown.is_empty() && encoded.ids.len() == 1).then(|| encoded.ids[0]);
        if plan.target.is_none() {
            plan.problems
                .push(format!("{target:?} is not one token of this model"));
        }
    }
    if state.layer.is_some() && plan.layer.is_none() {
        plan.problems
            .push("the layer does not exist in this model".into());
    }
    if state.head.is_some() && plan.head.is_none() {
        plan.problems
            .push("the head does not exist in this model".into());
    }
    plan
}

/// The lessons and where the student is in them.
#[derive(Clone, Debug)]
pub struct LessonPlayer {
    /// Every lesson in every language, sorted by number then language.
    lessons: Vec<Lesson>,
    /// The language shown.
    pub language: Language,
    /// The open lesson's number and step, if a lesson is open.
    position: Option<(u32, usize)>,
}

impl LessonPlayer {
    /// A player over `lessons` (any order), in `language`, with no lesson open.
    pub fn new(mut lessons: Vec<Lesson>, language: Language) -> Self {
        lessons.sort_by_key(|l| (l.number, l.language));
        Self {
            lessons,
            language,
            position: None,
        }
    }

    /// The lessons of the current language, in order.
    pub fn list(&self) -> impl Iterator<Item = &Lesson> {
        self.lessons
            .iter()
            .filter(move |l| l.language == self.language)
    }

    /// The lesson `number` in the current language (or, failing that, in any language).
    pub fn lesson(&self, number: u32) -> Option<&Lesson> {
        let numbered = || self.lessons.iter().filter(move |l| l.number == number);
        numbered()
            .find(|l| l.language == self.language)
            .or_else(|| numbered().next())
    }

    /// The open lesson and step index.
    pub fn current(&self) -> Option<(&Lesson, usize)> {
        let (number, step) = self.position?;
        self.lesson(number).map(|lesson| (lesson, step))
    }

    /// The open lesson's number and step, for saving.
    pub fn position(&self) -> Option<(u32, usize)> {
        self.position
    }

    /// Opens lesson `number` at `step` (clamped to its steps); false if there is no such
    /// lesson.
    pub fn open(&mut self, number: u32, step: usize) -> bool {
        match self.lesson(number) {
            Some(lesson) => {
                let last = lesson.steps.len().saturating_sub(1);
                self.position = Some((number, step.min(last)));
                true
            }
            None => false,
        }
    }

    /// Closes the open lesson.
    pub fn close(&mut self) {
        self.position = None;
    }

    /// Moves `delta` steps within the open lesson, stopping at either end; returns whether the
    /// step changed.
    pub fn step_by(&mut self, delta: isize) -> bool {
        let Some((lesson, step)) = self.current() else {
            return false;
        };
        let last = lesson.steps.len().saturating_sub(1) as isize;
        let next = (step as isize + delta).clamp(0, last) as usize;
        let number = lesson.number;
        if next == step {
            return false;
        }
        self.position = Some((number, next));
        true
    }

    /// The model the open lesson runs on.
    pub fn model(&self) -> Option<&ModelRef> {
        self.current().map(|(lesson, _)| &lesson.model)
    }

    /// The first lesson's number, if there are lessons.
    pub fn first_number(&self) -> Option<u32> {
        self.lessons.first().map(|l| l.number)
    }

    /// The next lesson after the open one, if any.
    pub fn next_lesson_number(&self) -> Option<u32> {
        let (lesson, _) = self.current()?;
        self.list()
            .map(|l| l.number)
            .find(|&number| number > lesson.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::parse_lesson;
    use crate::lesson::toy::seed_residual_toy;

    fn lesson(language: &str, steps: &str) -> Lesson {
        let text = format!(
            "---\ntitle: T\nlanguage: {language}\nmodel: default\nprompt: word red\n---\n{steps}"
        );
        parse_lesson(&format!("01-t.{language}.md"), text.as_bytes()).unwrap()
    }

    #[test]
    fn plans_resolve_labels_and_carry_keys_over() {
        let steps = "## Step: a\n```state\nstage: L0 +attn\ntoken: last\ntarget: red\n```\nA.\n\
                     ## Step: b\n```state\nprompt: word\nlayer: 1\n```\nB.\n";
        let lesson = lesson("en", steps);
        let model = seed_residual_toy();
        let first = plan_step(&lesson, 0, &model);
        assert_eq!(first.stage, Some(3));
        assert_eq!(first.token, Some(1));
        assert_eq!(first.target, Some(1));
        assert_eq!(first.prompt.as_deref(), Some("word red"));
        let second = plan_step(&lesson, 1, &model);
        assert_eq!(
            (second.stage, second.token, second.layer),
            (Some(3), Some(0), Some(1))
        );
        assert!(second.problems.is_empty());
    }

    #[test]
    fn navigation_stops_at_the_ends_and_language_keeps_the_step() {
        let steps = "## Step: a\nA.\n## Step: b\nB.\n## Step: c\nC.\n";
        let mut player =
            LessonPlayer::new(vec![lesson("pt", steps), lesson("en", steps)], Language::En);
        assert!(player.current().is_none());
        assert!(player.open(1, 0));
        assert!(!player.step_by(-1));
        assert!(player.step_by(1) && player.step_by(5));
        assert_eq!(player.current().unwrap().1, 2);
        player.language = Language::Pt;
        let (lesson, step) = player.current().unwrap();
        assert_eq!((lesson.language, step), (Language::Pt, 2));
        assert!(!player.open(7, 0));
        assert_eq!(player.next_lesson_number(), None);
    }
}
