//! The lesson panel driven like a student would, in the real app under egui_kittest (no
//! window, no GPU): open lesson 1 from the list, press Next and see the stage slider move to
//! where the step says, switch to Português and keep the step, drag one of the toy's added
//! vectors and see the stream change, and get the first start's offer of lesson 1.

#[path = "gui_support/mod.rs"]
mod gui_support;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use residual_explorer::app::{AppOptions, ExplorerApp};
use residual_explorer::interp::stages;
use residual_explorer::lesson::Language;
use residual_explorer::lesson::player::LessonSettings;

use gui_support::{app, app_sized, settle};

/// The index of the stage labelled `label` in the open model's stage list.
fn stage_index(harness: &Harness<'static, ExplorerApp>, label: &str) -> usize {
    let config = &harness.state().state.model.params.config;
    stages(config)
        .iter()
        .position(|s| s.short_label() == label)
        .unwrap_or_else(|| panic!("no stage {label}"))
}

/// The selected token's stream at the selected stage, as the views read it.
fn selected_stream(harness: &Harness<'static, ExplorerApp>) -> Vec<f32> {
    let state = &harness.state().state;
    let analysis = state.analysis.as_ref().expect("an analysis on screen");
    let stage = analysis.stages[state.selection.stage];
    stage
        .vector(&analysis.trace, state.selection.token)
        .expect("a vector at this stage")
        .to_vec()
}

/// Asserts two vectors agree to 1e-6 (f32 sums such as 3.5 + 0.8 are not exact).
fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-6, "{got:?} vs {want:?}");
    }
}

/// Opens the panel with the tab row's toggle and lesson 1 from the list; settles.
fn open_lesson_1(harness: &mut Harness<'static, ExplorerApp>) {
    harness.get_by_label("Lessons").click();
    harness.run();
    harness.get_by_label("1. The residual stream").click();
    settle(harness);
}

#[test]
fn opening_lesson_1_and_pressing_next_moves_the_stage_as_the_steps_say() {
    let mut harness = app();
    open_lesson_1(&mut harness);
    {
        let state = &harness.state().state;
        assert_eq!(state.model.name, "seed-residual-toy");
        assert_eq!(state.settings.prompt, "word");
        assert_eq!(state.selection.stage, 0, "step 1 says stage: embed");
    }
    assert_close(&selected_stream(&harness), &[1.0, 2.0, 3.0]);

    harness.get_by_label("Next →").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.selection.stage,
        stage_index(&harness, "L0 attn"),
        "step 2 says stage: L0 attn"
    );
    harness.get_by_label("Next →").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.selection.stage,
        stage_index(&harness, "L0 +attn")
    );
    assert_close(&selected_stream(&harness), &[1.5, 3.5, 3.5]);

    harness.get_by_label("← Back").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.selection.stage,
        stage_index(&harness, "L0 attn")
    );
    assert_eq!(harness.state().state.lesson.player.position(), Some((1, 1)));
}

#[test]
fn the_language_switch_keeps_the_step_and_is_remembered() {
    let mut harness = app();
    open_lesson_1(&mut harness);
    harness.get_by_label("Next →").click();
    settle(&mut harness);
    harness.get_by_label("Language").click();
    harness.run();
    harness.get_by_label("Português").click();
    settle(&mut harness);
    let panel = &harness.state().state.lesson;
    assert_eq!(panel.player.language, Language::Pt);
    let (lesson, step) = panel.player.current().unwrap();
    assert_eq!((lesson.title.as_str(), step), ("O fluxo residual", 1));
    harness.get_by_label("Próximo →");
    let saved: LessonSettings =
        serde_json::from_str(&harness.state().lesson_settings_json()).unwrap();
    assert_eq!(saved.language, "pt");
    assert_eq!(saved.position, Some((1, 1)));
}

#[test]
fn dragging_an_added_vector_changes_the_stream_after_it_only() {
    let mut harness = app();
    open_lesson_1(&mut harness);
    // Step 7 shows the editor; stage L1 +mlp, the end of the stream.
    harness.state_mut().open_lesson(1, 6);
    settle(&mut harness);
    assert_close(&selected_stream(&harness), &[1.85, 5.6, 3.85]);
    harness
        .get_by_label("a₁ (L0 attn) component 0")
        .set_value_accesskit(0.0);
    settle(&mut harness);
    let end = selected_stream(&harness);
    assert!((end[0] - 1.35).abs() < 1e-6, "{end:?}");
    // No patch is active, but the model is no longer its file: the interventions bar says so.
    assert!(
        harness
            .query_by_label("none: the plain forward pass")
            .is_none()
    );
    harness.get_by_label("Undo the edits of the model");
    // Earlier stages are untouched: the embedding is still [1, 2, 3].
    let embed = stage_index(&harness, "embed");
    harness
        .state_mut()
        .state
        .apply(residual_explorer::state::Command::SetStage(embed));
    settle(&mut harness);
    assert_close(&selected_stream(&harness), &[1.0, 2.0, 3.0]);
    harness
        .get_by_label("Reset to the chapter's values")
        .click();
    settle(&mut harness);
    let b_o = &harness.state().state.model.params.blocks[0].attn.b_o;
    assert_eq!(b_o.to_vec(), vec![0.5, 1.5, 0.5]);
    assert!(
        harness
            .query_by_label("Undo the edits of the model")
            .is_none()
    );
    harness.get_by_label("none: the plain forward pass");
}

#[test]
fn the_edited_chip_reads_the_file_again() {
    let mut harness = app();
    harness.state_mut().open_lesson(1, 6);
    settle(&mut harness);
    harness
        .get_by_label("a₁ (L0 attn) component 0")
        .set_value_accesskit(0.0);
    settle(&mut harness);
    assert!(harness.state().state.model_edited);
    harness.get_by_label("Undo the edits of the model").click();
    settle(&mut harness);
    let state = &harness.state().state;
    assert!(!state.model_edited);
    assert_eq!(
        state.model.params.blocks[0].attn.b_o.to_vec(),
        vec![0.5, 1.5, 0.5]
    );
}

#[test]
fn a_lesson_step_resets_the_lens_colours() {
    use residual_explorer::state::{Command, LensColour};
    let mut harness = app();
    harness
        .state_mut()
        .state
        .apply(Command::SetLensColour(LensColour::NextTokenRank));
    harness.state_mut().open_lesson(6, 0);
    settle(&mut harness);
    assert_eq!(
        harness.state().state.settings.lens_colour,
        LensColour::TopProbability,
        "rank colours left by an earlier visit would make the lesson's rows black"
    );
}

#[test]
fn a_first_start_offers_lesson_1() {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    restore_settings: true,
                    ..AppOptions::default()
                },
            )
        });
    settle(&mut harness);
    harness.get_by_label("Start lesson 1").click();
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(state.model.name, "seed-residual-toy");
    let saved: LessonSettings =
        serde_json::from_str(&harness.state().lesson_settings_json()).unwrap();
    assert!(saved.welcomed);
}

#[test]
fn back_and_next_stay_in_view_beside_the_longest_step() {
    // The longest step of all (by its text), in the smallest window the app allows.
    let (lessons, _) = residual_explorer::lesson::embedded::embedded_lessons();
    let (number, step) = lessons
        .iter()
        .filter(|l| l.language == Language::En)
        .flat_map(|l| {
            let last = l.steps.len() - 1;
            // Not a last step, so that "Next →" is there to look for.
            (0..last).map(move |i| (l.number, i, format!("{:?}", l.steps[i].blocks).len()))
        })
        .max_by_key(|&(_, _, length)| length)
        .map(|(number, step, _)| (number, step))
        .unwrap();
    let size = egui::vec2(900.0, 600.0);
    let mut harness = app_sized("", size);
    harness.state_mut().open_lesson(number, step);
    settle(&mut harness);
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    for label in ["← Back", "Next →", "All lessons"] {
        let rect = harness.get_by_label(label).rect();
        assert!(
            window.contains_rect(rect),
            "{label} of lesson {number} step {} is at {rect:?}, outside the window",
            step + 1
        );
    }
    // Next still works from there.
    harness.get_by_label("Next →").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.lesson.player.position(),
        Some((number, step + 1))
    );
}

#[test]
fn all_lessons_stays_put_when_next_becomes_next_lesson() {
    let mut harness = app();
    open_lesson_1(&mut harness);
    let steps = harness
        .state()
        .state
        .lesson
        .player
        .current()
        .unwrap()
        .0
        .steps
        .len();
    harness.state_mut().open_lesson(1, steps - 2);
    settle(&mut harness);
    let next = harness.get_by_label("Next →").rect();
    let all_before = harness.get_by_label("All lessons").rect();
    harness.get_by_label("Next →").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().state.lesson.player.position(),
        Some((1, steps - 1))
    );
    let next_lesson = harness.get_by_label("Next lesson →").rect();
    let all_after = harness.get_by_label("All lessons").rect();
    assert_eq!(
        all_before, all_after,
        "the way to the list moved under the pointer"
    );
    assert!(
        next_lesson.contains(next.center()) && !all_after.intersects(next),
        "a second click where Next was lands on Next lesson: {next:?} {next_lesson:?} {all_after:?}"
    );
    harness.get_by_label("Next lesson →").click();
    settle(&mut harness);
    assert_eq!(harness.state().state.lesson.player.position(), Some((2, 0)));
}
