//! The lesson checker behind `residual-explorer lesson check [DIR]`: parses every lesson,
//! loads each lesson's model, and checks every step against it (views, stages, layers, heads,
//! token positions within the prompt's tokens, interventions, the additions editor), and the
//! English and Portuguese versions of each lesson against each other. A step's `expect` line
//! (the numbers its text states) is checked by running the step's set-up
//! ([`super::expect`]).
//!
//! Every problem is a [`Problem`] with file and line; no input makes the checker panic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::expect::{StepScreen, contradictions};
use super::parse::{MAX_LESSON_BYTES, parse_lesson_partial};
use super::state::{Editor, LessonIntervention, StepState, TrainingRun};
use super::{Language, Lesson, ModelRef, Problem};
use crate::interp::interventions::Interventions;
use crate::interp::stage::stages;
use crate::model::TokenId;
use crate::model::io::embedded::try_default_model;
use crate::model::io::{LoadedModel, load_any};
use crate::train::PRESETS;
use crate::train::tasks::TASKS;

/// What a check found: the lessons that could be read and every problem.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Lessons whose name and front matter could be read (they may still have problems).
    pub lessons: Vec<Lesson>,
    /// Every problem, sorted by file and line.
    pub problems: Vec<Problem>,
}

/// The file of a lesson model, relative to the project root (the lessons folder's parent);
/// `None` for the model embedded in the binary.
pub fn model_path(root: &Path, model: &ModelRef) -> Option<PathBuf> {
    match model {
        ModelRef::Default => None,
        ModelRef::File(path) => Some(root.join(path)),
    }
}

/// Loads a lesson's model: the embedded default, or a file through the regular loaders.
pub fn load_lesson_model(root: &Path, model: &ModelRef) -> Result<LoadedModel, String> {
    let Some(path) = model_path(root, model) else {
        return try_default_model().map_err(|e| e.to_string());
    };
    if !path.exists() {
        return Err(format!("the model file {} does not exist", path.display()));
    }
    load_any(&path).map_err(|e| e.to_string())
}

/// Checks every lesson file (`*.md` except README.md) in `dir`; models are found under the
/// folder's parent (`lessons/../models/`).
pub fn check_dir(dir: &Path) -> CheckReport {
    let root = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut report = CheckReport::default();
    let mut files = Vec::new();
    match std::fs::read_dir(dir) {
        Err(error) => {
            report.problems.push(Problem::new(
                dir.display().to_string(),
                0,
                format!("cannot read the lessons folder: {error}"),
            ));
            return report;
        }
        Ok(entries) => {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                let is_lesson = path.is_file()
                    && name.ends_with(".md")
                    && !name.starts_with('.')
                    && !name.eq_ignore_ascii_case("README.md");
                if is_lesson {
                    files.push((path.display().to_string(), read_bounded(&path)));
                }
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut loaded = Vec::new();
    for (file, bytes) in files {
        match bytes {
            Ok(bytes) => loaded.push((file, bytes)),
            Err(message) => report.problems.push(Problem::new(file, 1, message)),
        }
    }
    let mut load = |model: &ModelRef| load_lesson_model(&root, model);
    let mut checked = check_lessons(loaded, &mut load);
    checked.problems.append(&mut report.problems);
    checked.problems.sort();
    checked
}

/// Reads a file of at most [`MAX_LESSON_BYTES`] (one byte more, so the parser sees it is too
/// big without reading a huge file).
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_LESSON_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    Ok(bytes)
}

/// Checks lessons given as (file label, bytes), loading models through `load` (called once
/// per distinct model).
pub fn check_lessons(
    files: Vec<(String, Vec<u8>)>,
    load: &mut dyn FnMut(&ModelRef) -> Result<LoadedModel, String>,
) -> CheckReport {
    let mut report = CheckReport::default();
    let mut labels = HashMap::new();
    for (file, bytes) in files {
        let (lesson, mut problems) = parse_lesson_partial(&file, &bytes);
        report.problems.append(&mut problems);
        if let Some(lesson) = lesson {
            if lesson.language == Language::Pt {
                report.problems.extend(decimal_commas(&file, &bytes));
            }
            labels.insert(lesson.file_name.clone(), file);
            report.lessons.push(lesson);
        }
    }
    let label = |lesson: &Lesson| labels[&lesson.file_name].clone();
    let mut models: HashMap<ModelRef, Result<LoadedModel, String>> = HashMap::new();
    for lesson in &report.lessons {
        let file = label(lesson);
        let model = models
            .entry(lesson.model.clone())
            .or_insert_with(|| load(&lesson.model));
        match model {
            Ok(model) => report
                .problems
                .extend(check_against_model(&file, lesson, model)),
            Err(message) => report.problems.push(Problem::new(
                &file,
                lesson.front_lines.get("model").copied().unwrap_or(1),
                format!("model {} cannot be loaded: {message}", lesson.model),
            )),
        }
    }
    report
        .problems
        .extend(check_translations(&report.lessons, &label));
    report.problems.sort();
    report.problems.dedup();
    report
}

/// A comma between two digits, which a Portuguese reader takes for a decimal comma, while
/// the screen prints decimals with a point: the lessons write numbers as the screen does.
fn decimal_commas(file: &str, bytes: &[u8]) -> Vec<Problem> {
    let text = String::from_utf8_lossy(bytes);
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let found = chars
            .windows(3)
            .find(|w| w[0].is_ascii_digit() && w[1] == ',' && w[2].is_ascii_digit());
        if let Some(w) = found {
            problems.push(Problem::new(
                file,
                index + 1,
                format!(
                    "\"{}{}{}\": write numbers as the screen shows them, with a decimal point \
                     (and a space between groups of thousands)",
                    w[0], w[1], w[2]
                ),
            ));
        }
    }
    problems
}

/// Checks the pairs: every lesson in every language, one name per number, and the same
/// model, prompt and step states in both languages (so switching language keeps the screen).
fn check_translations(lessons: &[Lesson], label: &dyn Fn(&Lesson) -> String) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut by_slug: BTreeMap<&str, BTreeMap<Language, &Lesson>> = BTreeMap::new();
    for lesson in lessons {
        by_slug
            .entry(&lesson.slug)
            .or_default()
            .insert(lesson.language, lesson);
    }
    let mut by_number: BTreeMap<u32, &str> = BTreeMap::new();
    for (slug, versions) in &by_slug {
        let any = versions.values().next().expect("a slug has a lesson");
        if let Some(other) = by_number.insert(any.number, slug) {
            problems.push(Problem::new(
                label(any),
                1,
                format!("lesson number {} is also used by {other}", any.number),
            ));
        }
        for language in Language::ALL {
            if !versions.contains_key(&language) {
                problems.push(Problem::new(
                    label(any),
                    1,
                    format!(
                        "there is no {} version: add {slug}.{}.md",
                        language.native_name(),
                        language.code()
                    ),
                ));
            }
        }
        if let (Some(en), Some(pt)) = (versions.get(&Language::En), versions.get(&Language::Pt)) {
            problems.extend(compare_versions(en, pt, &label(pt)));
        }
    }
    problems
}

/// Differences between two versions of one lesson, reported in `other`'s file.
fn compare_versions(first: &Lesson, other: &Lesson, file: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let front = |key: &str| other.front_lines.get(key).copied().unwrap_or(1);
    let from = &first.file_name;
    if first.model != other.model {
        problems.push(Problem::new(
            file,
            front("model"),
            format!(
                "model {} differs from {from} ({})",
                other.model, first.model
            ),
        ));
    }
    if first.prompt != other.prompt {
        problems.push(Problem::new(
            file,
            front("prompt"),
            format!("the prompt differs from {from}'s {:?}", first.prompt),
        ));
    }
    if first.steps.len() != other.steps.len() {
        problems.push(Problem::new(
            file,
            1,
            format!(
                "{} steps, but {from} has {}: both languages need the same steps",
                other.steps.len(),
                first.steps.len()
            ),
        ));
        return problems;
    }
    for (index, (a, b)) in first.steps.iter().zip(&other.steps).enumerate() {
        if a.state != b.state {
            problems.push(Problem::new(
                file,
                b.line,
                format!(
                    "step {} sets a different state than step {} of {from} (line {}): both \
                     languages must show the same screen",
                    index + 1,
                    index + 1,
                    a.line
                ),
            ));
        }
    }
    problems
}

/// Checks every step's effective state against the model.
pub fn check_against_model(file: &str, lesson: &Lesson, model: &LoadedModel) -> Vec<Problem> {
    let mut problems = Vec::new();
    let config = &model.params.config;
    let stage_labels: Vec<String> = stages(config).iter().map(|s| s.short_label()).collect();
    let mut effective = StepState {
        prompt: Some(lesson.prompt.clone()),
        ..StepState::default()
    };
    // Line that last set each key: the front matter's prompt line to begin with.
    let mut set_at: BTreeMap<String, usize> = BTreeMap::new();
    // (key, line that set it, problem) already reported.
    let mut seen: HashSet<(String, Option<usize>, String)> = HashSet::new();
    if let Some(&line) = lesson.front_lines.get("prompt") {
        set_at.insert("prompt".into(), line);
    }
    for (index, step) in lesson.steps.iter().enumerate() {
        effective.merge(&step.state);
        for (key, &line) in &step.state_lines {
            set_at.insert(key.clone(), line);
        }
        // A value set in this step is reported on its line. One carried over from an earlier
        // step is reported on this step's heading, naming where it was set, unless the same
        // problem was already reported where it was set.
        let mut report = |key: &str, message: String| {
            let origin = set_at.get(key).copied();
            if !seen.insert((key.to_string(), origin, message.clone())) {
                return;
            }
            let (line, note) = match (step.state_lines.get(key), origin) {
                (Some(&line), _) => (line, String::new()),
                (None, Some(line)) => (
                    step.line,
                    format!(
                        " (set on line {line} and carried over to step {})",
                        index + 1
                    ),
                ),
                (None, None) => (step.line, String::new()),
            };
            problems.push(Problem::new(file, line, format!("{message}{note}")));
        };

        let prompt = effective.prompt.as_deref().unwrap_or_default();
        let encoding = model.tokenizer.encode(prompt);
        let n_tokens = encoding.ids.len();
        if let Some(bad) = encoding.unknown.first() {
            report(
                "prompt",
                format!(
                    "the prompt's {:?} (character {}) is not in the vocabulary of {}",
                    bad.text, bad.char_offset, lesson.model
                ),
            );
        } else if n_tokens == 0 {
            report("prompt", "the prompt has no tokens".into());
        } else if n_tokens > config.n_ctx {
            report(
                "prompt",
                format!(
                    "the prompt has {n_tokens} tokens, more than the model's context of {}",
                    config.n_ctx
                ),
            );
        }
        if let Some(stage) = &effective.stage
            && !stage_labels.contains(stage)
        {
            report(
                "stage",
                format!(
                    "this model has no stage {stage:?}; its stages run {} … {}",
                    stage_labels.first().map_or("", String::as_str),
                    stage_labels.last().map_or("", String::as_str)
                ),
            );
        }
        if let Some(token) = effective.token
            && n_tokens > 0
            && token.resolve(n_tokens).is_none()
        {
            report(
                "token",
                format!(
                    "token {token} is outside the prompt, which has {n_tokens} token{} \
                     (positions 0 to {})",
                    if n_tokens == 1 { "" } else { "s" },
                    n_tokens - 1
                ),
            );
        }
        if let Some(layer) = effective.layer
            && layer >= config.n_layers
        {
            report(
                "layer",
                out_of_range("layer", layer, config.n_layers, "layer"),
            );
        }
        if let Some(head) = effective.head
            && head >= config.n_heads
        {
            report("head", out_of_range("head", head, config.n_heads, "head"));
        }
        if let Some(target) = &effective.target {
            let encoded = model.tokenizer.encode(target);
            if !encoded.unknown.is_empty() || encoded.ids.len() != 1 {
                report(
                    "target",
                    format!("target {target:?} is not a single token of this model's vocabulary"),
                );
            }
        }
        for intervention in effective.interventions.iter().flatten() {
            if let Some(message) = check_intervention(intervention, model) {
                report("interventions", message);
            }
        }
        if let Some(run) = &step.state.training
            && let Some(message) = check_training(run)
        {
            report("training", message);
        }
        if effective.editor == Some(Some(Editor::Additions))
            && let Some(message) = check_additions_editor(model)
        {
            report("editor", message);
        }
        if !effective.expect.is_empty() && encoding.unknown.is_empty() && n_tokens > 0 {
            for message in check_expectations(&effective, &encoding.ids, model) {
                report("expect", message);
            }
        }
    }
    problems
}

/// Runs the step's set-up (prompt, token, target, interventions) and compares what the
/// screen would show with the step's `expect` line.
fn check_expectations(state: &StepState, ids: &[TokenId], model: &LoadedModel) -> Vec<String> {
    let config = &model.params.config;
    let tokens = &ids[..ids.len().min(config.n_ctx)];
    let position = state
        .token
        .and_then(|token| token.resolve(tokens.len()))
        .unwrap_or(tokens.len() - 1);
    let target = state.target.as_deref().and_then(|text| {
        let encoded = model.tokenizer.encode(text);
        (encoded.unknown.is_empty() && encoded.ids.len() == 1).then(|| encoded.ids[0])
    });
    let mut interventions = Interventions::new();
    for intervention in state.interventions.iter().flatten() {
        if interventions.add(intervention.to_patch(), config).is_err() {
            // Reported by the interventions check.
            return Vec::new();
        }
    }
    let screen = StepScreen {
        model,
        tokens,
        position,
        target,
        interventions: &interventions,
    };
    contradictions(&screen, &state.expect)
}

/// `layer 7 does not exist: the model has 2 layers (0 to 1)`; `unit` is "layer" or "head".
fn out_of_range(what: &str, value: usize, count: usize, unit: &str) -> String {
    let (unit, per) = match unit {
        "head" => ("head", " per layer"),
        other => (other, ""),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!(
        "{what} {value} does not exist: the model has {count} {unit}{plural}{per} (0 to {})",
        count.saturating_sub(1)
    )
}

fn check_intervention(intervention: &LessonIntervention, model: &LoadedModel) -> Option<String> {
    let patch = intervention.to_patch();
    let checked = patch.check(&model.params.config);
    checked
        .err()
        .map(|message| format!("intervention {message}"))
}

/// A training run must name a preset and a task the trainer knows.
fn check_training(run: &TrainingRun) -> Option<String> {
    if !PRESETS.iter().any(|(name, _)| *name == run.preset) {
        return Some(format!(
            "training preset {:?} does not exist; the presets are {}",
            run.preset,
            first_names(PRESETS)
        ));
    }
    let task = run.data.as_deref().and_then(|d| d.strip_prefix("task:"));
    if let Some(task) = task
        && !TASKS.iter().any(|(name, _)| *name == task)
    {
        return Some(format!(
            "training task {task:?} does not exist; the tasks are {}",
            first_names(TASKS)
        ));
    }
    None
}

/// "a, b, c" from the names of a (name, description) list.
fn first_names<T>(list: &[(&'static str, T)]) -> String {
    list.iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The additions editor edits `b_O` and `b_out` as "what each sublayer adds", which is only
/// true when `W_O` and `W_out` are zero; and it draws one drag value per dimension.
fn check_additions_editor(model: &LoadedModel) -> Option<String> {
    let params = &model.params;
    if params.config.d_model > 16 {
        return Some(format!(
            "editor additions needs a small model (d_model ≤ 16); this one has {}",
            params.config.d_model
        ));
    }
    let zero = params.blocks.iter().all(|block| {
        block.attn.w_o.iter().all(|&w| w == 0.0)
            && block
                .mlp
                .as_ref()
                .is_none_or(|mlp| mlp.w_out.iter().all(|&w| w == 0.0))
    });
    (!zero).then(|| {
        "editor additions needs a model whose sublayers add exactly their output biases \
         (W_O = 0 and W_out = 0); this model's do not"
            .to_string()
    })
}
