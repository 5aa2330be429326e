//! The shipped lessons, compiled into the binary so the GUI finds them wherever it runs.
//! A test (`tests/lesson_files.rs`) checks that this list names exactly the files in
//! `lessons/`, so a new lesson file cannot be forgotten here.

use super::parse::parse_lesson;
use super::{Language, Lesson, Problem};

/// `(name, text)` of a file in `lessons/`.
macro_rules! lesson {
    ($name:literal) => {
        ($name, include_str!(concat!("../../lessons/", $name)))
    };
}

/// (file name, text) of every lesson in `lessons/`, sorted by file name.
pub const LESSON_FILES: &[(&str, &str)] = &[
    lesson!("01-residual-stream.en.md"),
    lesson!("01-residual-stream.pt.md"),
    lesson!("02-why-residual.en.md"),
    lesson!("02-why-residual.pt.md"),
    lesson!("03-transformer-block.en.md"),
    lesson!("03-transformer-block.pt.md"),
    lesson!("04-attention-heads.en.md"),
    lesson!("04-attention-heads.pt.md"),
    lesson!("05-language-model-head.en.md"),
    lesson!("05-language-model-head.pt.md"),
    lesson!("06-logit-lens.en.md"),
    lesson!("06-logit-lens.pt.md"),
    lesson!("07-contributions.en.md"),
    lesson!("07-contributions.pt.md"),
    lesson!("08-live-training.en.md"),
    lesson!("08-live-training.pt.md"),
    lesson!("09-circuits.en.md"),
    lesson!("09-circuits.pt.md"),
    lesson!("10-features.en.md"),
    lesson!("10-features.pt.md"),
];

/// Every shipped lesson that parses, sorted by number then language; shipped lessons always
/// parse (the test suite and `lesson check` see to it), but a problem is returned, not
/// panicked on.
pub fn embedded_lessons() -> (Vec<Lesson>, Vec<Problem>) {
    let mut lessons = Vec::new();
    let mut problems = Vec::new();
    for (name, text) in LESSON_FILES {
        match parse_lesson(name, text.as_bytes()) {
            Ok(lesson) => lessons.push(lesson),
            Err(mut found) => problems.append(&mut found),
        }
    }
    lessons.sort_by_key(|lesson| (lesson.number, lesson.language));
    (lessons, problems)
}

/// The shipped lessons in one language, in order.
pub fn lessons_in(language: Language) -> Vec<Lesson> {
    embedded_lessons()
        .0
        .into_iter()
        .filter(|lesson| lesson.language == language)
        .collect()
}
