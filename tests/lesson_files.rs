//! The shipped lessons: `lesson check lessons` passes through the binary, and the list
//! compiled into the app (`lesson::embedded::LESSON_FILES`) is exactly the folder's files with
//! the same text, so the GUI shows what the checker checked.

use std::path::PathBuf;
use std::process::Command;

use residual_explorer::lesson::Language;
use residual_explorer::lesson::embedded::{LESSON_FILES, embedded_lessons};

fn lessons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

#[test]
fn lesson_check_passes_on_the_shipped_lessons() {
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["lesson", "check"])
        .arg(lessons_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("no problems"), "{stdout}");
}

#[test]
fn the_embedded_list_is_the_folder() {
    let mut on_disk: Vec<(String, String)> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|entry| entry.unwrap())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "README.md")
        .map(|name| {
            let text = std::fs::read_to_string(lessons_dir().join(&name)).unwrap();
            (name, text)
        })
        .collect();
    on_disk.sort();
    let embedded: Vec<(String, String)> = LESSON_FILES
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    assert_eq!(
        embedded.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        on_disk.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "add every lesson file to LESSON_FILES in src/lesson/embedded.rs"
    );
    assert_eq!(embedded, on_disk);
}

#[test]
fn every_embedded_lesson_parses_and_comes_in_both_languages() {
    let (lessons, problems) = embedded_lessons();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(lessons.len(), LESSON_FILES.len());
    let english = lessons
        .iter()
        .filter(|l| l.language == Language::En)
        .count();
    assert_eq!(english * 2, lessons.len());
    assert_eq!(lessons[0].number, 1);
}
