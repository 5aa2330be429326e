//! `residual-explorer lesson check` through the binary, on lesson folders made on the spot:
//! a good pair passes; garbage, binary bytes, missing front matter, unknown views, layers,
//! heads, stages and tokens out of range, a missing translation, translations that disagree,
//! missing or corrupt models, numbers a step states that its screen contradicts, and decimal
//! commas in Portuguese are each reported as `file:line: message` with exit 1, and
//! never crash the checker.

use std::path::{Path, PathBuf};
use std::process::Command;

use residual_explorer::lesson::toy::seed_residual_toy;
use residual_explorer::model::io::native::save_native;

/// A project folder with `models/toy.safetensors` (lesson 1's toy: 2 layers, 1 head, the
/// words "word red green blue") and an empty `lessons/`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::create_dir(dir.path().join("lessons")).unwrap();
    save_native(
        &dir.path().join("models/toy.safetensors"),
        &seed_residual_toy(),
    )
    .unwrap();
    dir
}

fn lesson_text(language: &str, state: &str) -> String {
    format!(
        "---\ntitle: Toy {language}\nlanguage: {language}\nmodel: models/toy.safetensors\n\
         prompt: word red\n---\n\n## Step: First\n\n```state\n{state}\n```\n\nSome text.\n\n\
         > Try it: look.\n\n## Step: Second\n\n```state\nstage: L1 +mlp\n```\n\nMore text.\n"
    )
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join("lessons").join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A valid English/Portuguese pair with this state in step 1.
fn write_pair(dir: &Path, state: &str) {
    write(dir, "01-toy.en.md", lesson_text("en", state));
    write(dir, "01-toy.pt.md", lesson_text("pt", state));
}

/// Runs `lesson check DIR/lessons`: (exit code, stdout, stderr).
fn check(dir: &Path) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_residual-explorer"))
        .args(["lesson", "check"])
        .arg(dir.join("lessons"))
        .output()
        .unwrap();
    (
        output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts exit 1 and that some stdout line reads `…/FILE:LINE: …NEEDLE…`.
fn assert_problem(dir: &Path, file: &str, line: usize, needle: &str) {
    let (code, stdout, stderr) = check(dir);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let prefix = format!("{file}:{line}: ");
    assert!(
        stdout.lines().any(|l| {
            l.split_once(&prefix)
                .is_some_and(|(path, message)| path.ends_with('/') && message.contains(needle))
        }),
        "expected a line `…/{prefix}…{needle}…` in:\n{stdout}"
    );
}

#[test]
fn a_good_pair_passes() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(
        dir,
        "view: residual\nstage: L0 +attn\ntoken: last\nlayer: 1\nhead: 0",
    );
    let (code, stdout, stderr) = check(dir);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("2 lesson files, 4 steps: no problems"),
        "{stdout}"
    );
}

#[test]
fn garbage_and_binary_files_are_reported() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "view: residual");
    write(dir, "02-garbage.en.md", "just some words\nand more words\n");
    write(
        dir,
        "02-garbage.pt.md",
        [0u8, 159, 146, 150, 255, 0, 1, 2, b'\n', 7],
    );
    write(dir, "03-empty.en.md", "");
    write(dir, "badname.md", "---\n---\n");
    assert_problem(dir, "02-garbage.en.md", 1, "must start with front matter");
    assert_problem(dir, "02-garbage.pt.md", 1, "not UTF-8");
    assert_problem(dir, "03-empty.en.md", 1, "front matter");
    assert_problem(
        dir,
        "badname.md",
        1,
        "should look like 01-residual-stream.en.md",
    );
}

#[test]
fn control_characters_and_unclosed_blocks_are_reported() {
    let tmp = project();
    let dir = tmp.path();
    write(
        dir,
        "01-toy.en.md",
        lesson_text("en", "view: residual").replace("More", "Mo\u{1}re"),
    );
    let unclosed =
        lesson_text("pt", "view: residual").replace("stage: L1 +mlp\n```", "stage: L1 +mlp");
    write(dir, "01-toy.pt.md", unclosed);
    assert_problem(dir, "01-toy.en.md", 24, "control character");
    assert_problem(dir, "01-toy.pt.md", 20, "never closed");
}

#[test]
fn front_matter_problems_name_their_line() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "view: residual");
    let text = lesson_text("pt", "view: residual")
        .replace("language: pt", "language: fr")
        .replace("prompt: word red\n", "colour: blue\n");
    write(dir, "01-toy.pt.md", text);
    assert_problem(dir, "01-toy.pt.md", 3, "language must be en or pt");
    assert_problem(
        dir,
        "01-toy.pt.md",
        5,
        "unknown front-matter key \"colour\"",
    );
    assert_problem(dir, "01-toy.pt.md", 1, "no prompt:");
}

#[test]
fn unknown_view_and_keys_are_reported_on_their_line() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "view: residual");
    write(
        dir,
        "01-toy.en.md",
        lesson_text("en", "view: residuals\ncolour: red"),
    );
    assert_problem(dir, "01-toy.en.md", 11, "unknown view \"residuals\"");
    assert_problem(dir, "01-toy.en.md", 12, "unknown state key \"colour\"");
}

#[test]
fn out_of_range_layer_head_stage_token_are_reported() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "layer: 2\nhead: 1\nstage: L2 +attn\ntoken: 2");
    assert_problem(
        dir,
        "01-toy.en.md",
        11,
        "layer 2 does not exist: the model has 2 layers",
    );
    assert_problem(dir, "01-toy.en.md", 12, "head 1 does not exist");
    assert_problem(dir, "01-toy.en.md", 13, "no stage \"L2 +attn\"");
    assert_problem(
        dir,
        "01-toy.en.md",
        14,
        "token 2 is outside the prompt, which has 2 tokens",
    );
}

#[test]
fn a_later_prompt_that_shortens_the_input_is_caught_at_that_step() {
    let tmp = project();
    let dir = tmp.path();
    let text =
        |language| lesson_text(language, "token: 1").replace("stage: L1 +mlp", "prompt: blue");
    write(dir, "01-toy.en.md", text("en"));
    write(dir, "01-toy.pt.md", text("pt"));
    // Step 2's heading is line 18; the token was set on line 11.
    assert_problem(
        dir,
        "01-toy.en.md",
        18,
        "set on line 11 and carried over to step 2",
    );
}

#[test]
fn words_outside_the_vocabulary_and_bad_interventions_are_reported() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(
        dir,
        "prompt: word cat\ninterventions: zero L0H3, cut L5 mlp\ntarget: cat",
    );
    assert_problem(
        dir,
        "01-toy.en.md",
        11,
        "\"cat\" (character 5) is not in the vocabulary",
    );
    assert_problem(
        dir,
        "01-toy.en.md",
        12,
        "intervention L0H3: the model has 1 heads per layer",
    );
    assert_problem(
        dir,
        "01-toy.en.md",
        12,
        "intervention L5 residual around mlp: the model has 2 layers",
    );
    assert_problem(
        dir,
        "01-toy.en.md",
        13,
        "target \"cat\" is not a single token",
    );
}

#[test]
fn training_runs_need_a_known_preset_and_task() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(
        dir,
        "training: preset=deep data=task:copy steps=10\nview: training",
    );
    assert_eq!(check(dir).0, 0);
    write_pair(dir, "training: preset=huge data=task:copy");
    assert_problem(
        dir,
        "01-toy.en.md",
        11,
        "training preset \"huge\" does not exist",
    );
    write_pair(dir, "training: preset=deep data=task:chess");
    assert_problem(
        dir,
        "01-toy.pt.md",
        11,
        "training task \"chess\" does not exist",
    );
    write_pair(dir, "training: preset=deep steps=lots");
    assert_problem(dir, "01-toy.en.md", 11, "steps=\"lots\" is not a number");
}

#[test]
fn missing_translation_and_disagreeing_translations_are_reported() {
    let tmp = project();
    let dir = tmp.path();
    write(dir, "01-toy.en.md", lesson_text("en", "view: residual"));
    assert_problem(
        dir,
        "01-toy.en.md",
        1,
        "no Português version: add 01-toy.pt.md",
    );
    write(dir, "01-toy.pt.md", lesson_text("pt", "view: attention"));
    assert_problem(dir, "01-toy.pt.md", 8, "step 1 sets a different state");
}

#[test]
fn missing_and_corrupt_models_are_reported_at_the_model_line() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "view: residual");
    let text = lesson_text("en", "view: residual").replace("toy.safetensors", "gone.safetensors");
    write(dir, "01-toy.en.md", text);
    assert_problem(dir, "01-toy.en.md", 4, "does not exist");
    std::fs::write(
        dir.join("models/toy.safetensors"),
        b"\x08\0\0\0\0\0\0\0{}garbage",
    )
    .unwrap();
    assert_problem(dir, "01-toy.pt.md", 4, "cannot be loaded");
    let text = lesson_text("en", "view: residual").replace("models/toy", "../toy");
    write(dir, "01-toy.en.md", text);
    assert_problem(
        dir,
        "01-toy.en.md",
        4,
        "model must be default or a file under models/",
    );
}

#[test]
fn the_additions_editor_needs_a_model_that_adds_its_biases() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "editor: additions");
    assert_eq!(check(dir).0, 0);
    let mut model = seed_residual_toy();
    model.params.blocks[1].attn.w_o[[0, 0, 0]] = 0.5;
    save_native(&dir.join("models/toy.safetensors"), &model).unwrap();
    assert_problem(dir, "01-toy.en.md", 11, "W_O = 0 and W_out = 0");
}

#[test]
fn a_missing_folder_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = check(dir.path());
    assert_eq!(code, 1);
    assert!(stderr.contains("no such lessons folder"), "{stderr}");
}

#[test]
fn numbers_a_step_states_are_checked_against_its_screen() {
    let tmp = project();
    let dir = tmp.path();
    // Lesson 1's toy: `word` enters as [1, 2, 3] (norm √14) and attention adds
    // [0.5, 1.5, 0.5], so the stream after it is [1.5, 3.5, 3.5] (norm 5.172).
    write_pair(
        dir,
        "token: 0\nexpect: norm embed = 3.742; norm L0 +attn = 5.17",
    );
    let (code, stdout, stderr) = check(dir);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A step whose text says another number fails, on its expect line, with what is shown.
    write_pair(dir, "token: 0\nexpect: norm L0 +attn = 5.9");
    assert_problem(
        dir,
        "01-toy.en.md",
        12,
        "the step says the norm at L0 +attn is 5.9, the screen shows 5.1720",
    );
    // The interventions in force are part of the screen: with the residual connection around
    // L0's attention cut, the stream after it is only what attention wrote, [0.5, 1.5, 0.5].
    write_pair(
        dir,
        "token: 0\ninterventions: cut L0 attn\nexpect: norm L0 +attn = 5.172",
    );
    assert_problem(dir, "01-toy.en.md", 13, "the screen shows 1.6583");
}

#[test]
fn a_decimal_comma_in_a_portuguese_lesson_is_reported() {
    let tmp = project();
    let dir = tmp.path();
    write_pair(dir, "token: 0");
    let text = lesson_text("pt", "token: 0").replace("Some text.", "A norma é 3,742.");
    write(dir, "01-toy.pt.md", text);
    assert_problem(dir, "01-toy.pt.md", 14, "with a decimal point");
}
