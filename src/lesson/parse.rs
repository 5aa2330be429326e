//! Parsing a lesson file: file name, front matter, steps, `state` blocks and "Try it" prompts.
//!
//! ~~~text
//! ---
//! title: The residual stream
//! language: en
//! model: models/seed-residual-toy.safetensors
//! prompt: word
//! ---
//! Optional introduction.
//!
//! ## Step: The word becomes a vector
//! ```state
//! view: residual
//! stage: embed
//! ```
//! Text of the step.
//!
//! > Try it: a blockquote is a prompt for the student.
//! ~~~
//!
//! Every problem found is reported with its line; parsing goes on after a problem so one run
//! lists them all. Any bytes at all may come in (binary, truncated, huge): the result is a
//! lesson or a list of problems, never a panic.

use super::state::{KeyLines, StepState};
use super::{Block, Language, Lesson, ModelRef, Problem, Step};

/// Largest lesson file read, in bytes.
pub const MAX_LESSON_BYTES: usize = 256 * 1024;

/// Front-matter keys; the first four are required.
pub const FRONT_KEYS: [&str; 5] = ["title", "language", "model", "prompt", "summary"];

/// What the file name says: `01-residual-stream.en.md` → (1, "01-residual-stream", en).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName {
    /// The lesson number.
    pub number: u32,
    /// The name without language and extension.
    pub slug: String,
    /// The language code's language.
    pub language: Language,
}

/// Parses a lesson file name (the last path component), or says how it should look.
pub fn parse_file_name(name: &str) -> Result<FileName, String> {
    let expected = || {
        format!(
            "the file name {name:?} should look like 01-residual-stream.en.md: a number, a dash, \
             a name of lower-case letters, digits and dashes, then .en.md or .pt.md"
        )
    };
    let stem = name.strip_suffix(".md").ok_or_else(expected)?;
    let (slug, code) = stem.rsplit_once('.').ok_or_else(expected)?;
    let language = Language::from_code(code).ok_or_else(expected)?;
    let (digits, rest) = slug.split_once('-').ok_or_else(expected)?;
    let number_ok =
        !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !number_ok || !rest_ok {
        return Err(expected());
    }
    Ok(FileName {
        number: digits.parse().map_err(|_| expected())?,
        slug: slug.to_string(),
        language,
    })
}

/// Parses one lesson. `file` is how problems name the file (its path as given); its last
/// component must follow the naming rule of [`parse_file_name`].
pub fn parse_lesson(file: &str, bytes: &[u8]) -> Result<Lesson, Vec<Problem>> {
    match parse_lesson_partial(file, bytes) {
        (Some(lesson), problems) if problems.is_empty() => Ok(lesson),
        (_, problems) => Err(problems),
    }
}

/// Parses one lesson as far as it goes: every problem, plus the lesson whenever its file name
/// and front matter are usable (its steps may still be damaged), so the checker can also
/// check the readable steps against the model in the same run.
pub fn parse_lesson_partial(file: &str, bytes: &[u8]) -> (Option<Lesson>, Vec<Problem>) {
    let problem = |line: usize, message: String| Problem::new(file, line, message);
    if bytes.len() > MAX_LESSON_BYTES {
        return (
            None,
            vec![problem(
                1,
                format!(
                    "the file is {} bytes, more than the limit of {MAX_LESSON_BYTES} for a lesson",
                    bytes.len()
                ),
            )],
        );
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let line = line_of_offset(bytes, error.valid_up_to());
            return (
                None,
                vec![problem(
                    line,
                    "the file is not UTF-8 text (is it a binary file?)".into(),
                )],
            );
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some((offset, ch)) = text
        .char_indices()
        .find(|&(_, ch)| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t'))
    {
        let line = line_of_offset(text.as_bytes(), offset);
        return (
            None,
            vec![problem(
                line,
                format!(
                    "control character U+{:04X} in the text (is it a binary file?)",
                    ch as u32
                ),
            )],
        );
    }

    let mut problems = Vec::new();
    let base_name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let name = parse_file_name(base_name).map_err(|message| problem(1, message));
    let lines: Vec<&str> = text.lines().collect();
    let front = parse_front_matter(&lines, &mut |line, message| {
        problems.push(problem(line, message))
    });
    let Some(front) = front else {
        if let Err(name_problem) = name {
            problems.insert(0, name_problem);
        }
        return (None, problems);
    };
    let body = parse_body(&lines[front.end..], front.end, &mut |line, message| {
        problems.push(problem(line, message))
    });

    let name = match name {
        Ok(name) => Some(name),
        Err(name_problem) => {
            problems.push(name_problem);
            None
        }
    };
    if let (Some(name), Some(language)) = (&name, front.language)
        && name.language != language
    {
        problems.push(problem(
            front.lines.get("language").copied().unwrap_or(1),
            format!(
                "language: {} disagrees with the file name, which ends in .{}.md",
                language.code(),
                name.language.code()
            ),
        ));
    }
    if body.steps.is_empty() {
        problems.push(problem(
            front.end + 1,
            "the lesson has no steps: start each one with a line `## Step: title`".into(),
        ));
    }
    problems.sort();
    problems.dedup();
    let lesson = match (name, front.values) {
        (Some(name), Some(values)) => Some(Lesson {
            file_name: base_name.to_string(),
            number: name.number,
            slug: name.slug,
            title: values.title,
            summary: values.summary,
            language: name.language,
            model: values.model,
            prompt: values.prompt,
            front_lines: front.lines,
            intro: body.intro,
            steps: body.steps,
        }),
        _ => None,
    };
    (lesson, problems)
}

/// 1-based line of a byte offset.
fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// A `key: value` line's value: a JSON string when it starts with `"`, else trimmed text.
pub fn parse_value(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.starts_with('"') {
        serde_json::from_str::<String>(raw)
            .map_err(|_| format!("{raw} is not a well-formed quoted string"))
    } else {
        Ok(raw.to_string())
    }
}

/// Splits `key: value`, or says the line is not one.
fn split_key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let key_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit());
    key_ok.then_some((key, value))
}

/// The `key: value` lines of a block as (line number, key, raw value), skipping blank lines
/// and `#` comments and reporting any other line.
fn key_value_lines<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    report: &mut dyn FnMut(usize, String),
) -> Vec<(usize, &'a str, &'a str)> {
    let mut pairs = Vec::new();
    for (number, line) in lines {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match split_key_value(trimmed) {
            Some((key, raw)) => pairs.push((number, key, raw)),
            None => report(number, format!("expected `key: value`, found {trimmed:?}")),
        }
    }
    pairs
}

struct FrontValues {
    title: String,
    summary: String,
    model: ModelRef,
    prompt: String,
}

struct FrontMatter {
    /// Index of the first body line.
    end: usize,
    lines: KeyLines,
    language: Option<Language>,
    /// `None` when a required key is missing or bad.
    values: Option<FrontValues>,
}

/// Reads the `---` … `---` block at the top; `None` when there is none at all.
fn parse_front_matter(
    lines: &[&str],
    report: &mut dyn FnMut(usize, String),
) -> Option<FrontMatter> {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        report(
            1,
            "the file must start with front matter: a line `---`, then title:, language:, \
             model: and prompt: lines, then `---`"
                .into(),
        );
        return None;
    }
    let Some(close) = lines.iter().skip(1).position(|l| l.trim_end() == "---") else {
        report(
            1,
            "the front matter is not closed: add a line `---` after it".into(),
        );
        return None;
    };
    let close = close + 1;
    let mut key_lines = KeyLines::new();
    let mut values = std::collections::BTreeMap::new();
    let numbered = lines[1..close].iter().enumerate().map(|(i, l)| (i + 2, *l));
    for (number, key, raw) in key_value_lines(numbered, report) {
        if !FRONT_KEYS.contains(&key) {
            report(
                number,
                format!(
                    "unknown front-matter key {key:?}; the keys are {}",
                    FRONT_KEYS.join(", ")
                ),
            );
            continue;
        }
        if key_lines.insert(key.to_string(), number).is_some() {
            report(number, format!("{key} is given twice"));
            continue;
        }
        match parse_value(raw) {
            Ok(value) if value.is_empty() && key != "summary" => {
                report(number, format!("{key} is empty"))
            }
            Ok(value) => {
                values.insert(key, value);
            }
            Err(message) => report(number, message),
        }
    }
    for key in &FRONT_KEYS[..4] {
        if !key_lines.contains_key(*key) {
            report(1, format!("the front matter has no {key}:"));
        }
    }
    let language = values.get("language").and_then(|code| {
        let language = Language::from_code(code);
        if language.is_none() {
            report(
                key_lines["language"],
                format!("language must be en or pt, not {code:?}"),
            );
        }
        language
    });
    let model = values.get("model").and_then(|model| {
        parse_model_ref(model)
            .map_err(|message| report(key_lines["model"], message))
            .ok()
    });
    let complete = (values.get("title"), values.get("prompt"), model, language);
    let values = match complete {
        (Some(title), Some(prompt), Some(model), Some(_)) => Some(FrontValues {
            title: title.clone(),
            summary: values.get("summary").cloned().unwrap_or_default(),
            model,
            prompt: prompt.clone(),
        }),
        _ => None,
    };
    Some(FrontMatter {
        end: close + 1,
        lines: key_lines,
        language,
        values,
    })
}

/// `default`, or a relative path under `models/` with no `..`.
pub fn parse_model_ref(text: &str) -> Result<ModelRef, String> {
    if text == "default" {
        return Ok(ModelRef::Default);
    }
    let inside = text.starts_with("models/")
        && !text.contains('\\')
        && text.split('/').all(|part| !part.is_empty() && part != "..");
    if inside {
        Ok(ModelRef::File(text.to_string()))
    } else {
        Err(format!(
            "model must be default or a file under models/ (models/NAME.safetensors), not {text:?}"
        ))
    }
}

struct Body {
    intro: Vec<Block>,
    steps: Vec<Step>,
}

/// An open fenced block.
struct Fence {
    marker: String,
    is_state: bool,
    line: usize,
    content: Vec<String>,
}

/// Collects text lines into blocks: prose, blockquotes ("Try it"), code.
#[derive(Default)]
struct BlockBuilder {
    blocks: Vec<Block>,
    text: Vec<String>,
    quote: Vec<String>,
}

impl BlockBuilder {
    fn flush_text(&mut self) {
        let joined = self.text.join("\n");
        let trimmed = joined.trim_matches('\n');
        if !trimmed.trim().is_empty() {
            self.blocks.push(Block::Text(trimmed.to_string()));
        }
        self.text.clear();
    }

    fn flush_quote(&mut self) {
        let joined = self.quote.join("\n");
        let trimmed = joined.trim();
        if !trimmed.is_empty() {
            self.blocks.push(Block::TryIt(trimmed.to_string()));
        }
        self.quote.clear();
    }

    fn flush(&mut self) {
        self.flush_text();
        self.flush_quote();
    }

    fn line(&mut self, line: &str) {
        let stripped = line.trim_start();
        if let Some(rest) = stripped.strip_prefix('>') {
            self.flush_text();
            self.quote
                .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        } else if stripped.is_empty() && !self.quote.is_empty() {
            self.flush_quote();
        } else {
            self.flush_quote();
            self.text.push(line.to_string());
        }
    }

    fn code(&mut self, content: String) {
        self.flush();
        self.blocks.push(Block::Code(content));
    }

    fn finish(mut self) -> Vec<Block> {
        self.flush();
        self.blocks
    }
}

struct OpenStep {
    title: String,
    line: usize,
    builder: BlockBuilder,
    state: StepState,
    state_lines: KeyLines,
    state_block_line: Option<usize>,
}

impl OpenStep {
    fn close(self, report: &mut dyn FnMut(usize, String)) -> Step {
        let blocks = self.builder.finish();
        if blocks.is_empty() {
            report(self.line, format!("step {:?} has no text", self.title));
        }
        Step {
            title: self.title,
            line: self.line,
            blocks,
            state: self.state,
            state_lines: self.state_lines,
        }
    }
}

/// Reads the steps. `first_line_index` is the 0-based index of `lines[0]` in the file.
fn parse_body(
    lines: &[&str],
    first_line_index: usize,
    report: &mut dyn FnMut(usize, String),
) -> Body {
    let mut intro = BlockBuilder::default();
    let mut steps = Vec::new();
    let mut current: Option<OpenStep> = None;
    let mut fence: Option<Fence> = None;

    for (index, line) in lines.iter().enumerate() {
        let number = first_line_index + index + 1;
        let trimmed = line.trim();
        if let Some(open) = &mut fence {
            let closes = trimmed.len() >= open.marker.len()
                && trimmed.starts_with(&open.marker)
                && trimmed.chars().all(|c| open.marker.starts_with(c));
            if !closes {
                open.content.push(line.to_string());
                continue;
            }
            let done = fence.take().expect("fence is open");
            match (&mut current, done.is_state) {
                (Some(step), true) => read_state_block(step, &done, report),
                (None, true) => report(
                    done.line,
                    "a state block must be inside a step (after a `## Step:` line)".into(),
                ),
                (Some(step), false) => step.builder.code(done.content.join("\n")),
                (None, false) => intro.code(done.content.join("\n")),
            }
            continue;
        }
        if let Some(marker) = fence_marker(trimmed) {
            let info = trimmed[marker.len()..].trim();
            fence = Some(Fence {
                marker,
                is_state: info == "state",
                line: number,
                content: Vec::new(),
            });
            continue;
        }
        if let Some(title) = step_heading(trimmed) {
            if let Some(step) = current.take() {
                steps.push(step.close(report));
            }
            if title.is_empty() {
                report(number, "the step has no title after `## Step:`".into());
            }
            current = Some(OpenStep {
                title: title.to_string(),
                line: number,
                builder: BlockBuilder::default(),
                state: StepState::default(),
                state_lines: KeyLines::new(),
                state_block_line: None,
            });
            continue;
        }
        if trimmed.starts_with("# ") || trimmed.starts_with("## ") || trimmed == "##" {
            report(
                number,
                format!(
                    "{trimmed:?}: a level-1 or level-2 heading must be `## Step: title` \
                     (use ### for a heading inside a step)"
                ),
            );
            continue;
        }
        match &mut current {
            Some(step) => step.builder.line(line),
            None => intro.line(line),
        }
    }
    if let Some(open) = fence {
        report(
            open.line,
            format!(
                "this fenced block is never closed (add a line {})",
                open.marker
            ),
        );
    }
    if let Some(step) = current.take() {
        steps.push(step.close(report));
    }
    Body {
        intro: intro.finish(),
        steps,
    }
}

/// "```" or "~~~" (or longer) when the line opens a fence.
fn fence_marker(trimmed: &str) -> Option<String> {
    for ch in ['`', '~'] {
        let run = trimmed.chars().take_while(|&c| c == ch).count();
        if run >= 3 {
            return Some(std::iter::repeat_n(ch, run).collect());
        }
    }
    None
}

/// The title of a `## Step: title` or `## Passo: title` heading.
fn step_heading(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix("## ")?.trim_start();
    ["Step:", "Passo:"]
        .iter()
        .find_map(|word| rest.strip_prefix(word))
        .map(str::trim)
}

/// Reads a closed ```state block into the step.
fn read_state_block(step: &mut OpenStep, fence: &Fence, report: &mut dyn FnMut(usize, String)) {
    if let Some(first) = step.state_block_line {
        report(
            fence.line,
            format!("a step has one state block; this step's first one is at line {first}"),
        );
        return;
    }
    step.state_block_line = Some(fence.line);
    let numbered = fence
        .content
        .iter()
        .enumerate()
        .map(|(offset, l)| (fence.line + offset + 1, l.as_ref()));
    for (number, key, raw) in key_value_lines(numbered, report) {
        if step.state_lines.contains_key(key) {
            report(number, format!("{key} is set twice in this step"));
            continue;
        }
        let result = parse_value(raw).and_then(|value| step.state.set(key, &value));
        match result {
            Ok(()) => {
                step.state_lines.insert(key.to_string(), number);
            }
            Err(message) => report(number, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        let name = parse_file_name("01-residual-stream.en.md").unwrap();
        assert_eq!((name.number, name.slug.as_str()), (1, "01-residual-stream"));
        assert_eq!(name.language, Language::En);
        for bad in [
            "residual.en.md",
            "01-residual.fr.md",
            "01-Residual.en.md",
            "01-x.en.txt",
        ] {
            assert!(parse_file_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_refs() {
        assert_eq!(parse_model_ref("default"), Ok(ModelRef::Default));
        assert!(parse_model_ref("models/a.safetensors").is_ok());
        for bad in ["/etc/passwd", "models/../x", "other/a", "models//a"] {
            assert!(parse_model_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blocks_split_into_text_try_and_code() {
        let text = "---\ntitle: T\nlanguage: en\nmodel: default\nprompt: \"a b\"\n---\nIntro.\n\n\
                    ## Step: One\n```state\nview: model\n```\nHello.\n\n> Try it: move.\n> More.\n\
                    \nAfter.\n```text\ncode\n```\n## Passo: Dois\nText.\n";
        let lesson = parse_lesson("01-x.en.md", text.as_bytes()).unwrap();
        assert_eq!(lesson.prompt, "a b");
        assert_eq!(lesson.intro, vec![Block::Text("Intro.".into())]);
        assert_eq!(lesson.steps.len(), 2);
        assert_eq!(lesson.steps[0].state_lines["view"], 11);
        assert_eq!(
            lesson.steps[0].blocks,
            vec![
                Block::Text("Hello.".into()),
                Block::TryIt("Try it: move.\nMore.".into()),
                Block::Text("After.".into()),
                Block::Code("code".into()),
            ]
        );
        assert_eq!(lesson.steps[1].title, "Dois");
    }
}
