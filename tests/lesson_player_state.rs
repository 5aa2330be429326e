//! The lesson player as state, without egui: a step is set up through `AppState` alone
//! (commands in, state out), and "Next lesson" at the end of lesson 2, right after an
//! intervention chip was removed, opens lesson 3 on its own model; a step is set up even while
//! the app keeps tracing (a live run's snapshots).

use std::time::Duration;

use residual_explorer::interp::interventions::{Component, Patch};
use residual_explorer::state::experiments::InterventionCommand;
use residual_explorer::state::{
    AppState, Command, LessonCommand, Settings, ViewKind, Waker, models,
};

fn state() -> AppState {
    AppState::new(models::default_model(), Settings::default(), Waker::none())
}

/// What the app does each frame for the lesson, until the step is set up.
fn run_frames(state: &mut AppState) {
    for _ in 0..100 {
        assert!(state.wait_until_idle(Duration::from_secs(20)), "jobs hang");
        state.advance_lesson();
        if !state.lesson.is_setting_up() && !state.busy() {
            return;
        }
    }
    panic!("the step was never set up");
}

#[test]
fn a_lesson_step_is_set_up_without_egui() {
    let mut state = state();
    state.apply(Command::Lesson(LessonCommand::Open { number: 1, step: 0 }));
    assert!(state.lesson.is_setting_up());
    run_frames(&mut state);
    assert_eq!(state.model.name, "seed-residual-toy");
    assert_eq!(state.settings.prompt, "word");
    assert_eq!(state.selection.stage, 0, "step 1 says stage: embed");
    state.apply(Command::Lesson(LessonCommand::StepBy(1)));
    run_frames(&mut state);
    assert_eq!(state.lesson.player.position(), Some((1, 1)));
    assert_eq!(state.settings.view, ViewKind::Residual);
}

#[test]
fn next_lesson_after_removing_a_chip_opens_lesson_3_on_its_model() {
    let mut state = state();
    let last = state.lesson.player.lesson(2).unwrap().steps.len() - 1;
    state.apply(Command::Lesson(LessonCommand::Open {
        number: 2,
        step: last,
    }));
    run_frames(&mut state);
    let head = Patch::zero(Component::Head { layer: 0, head: 0 });
    state.apply(Command::Intervention(InterventionCommand::Add(head)));
    // The chip's removal and "Next lesson" in one frame: the removal's trace is still running
    // when the next lesson's set-up begins.
    state.apply(Command::Intervention(InterventionCommand::Remove(0)));
    state.apply(Command::Lesson(LessonCommand::Open { number: 3, step: 0 }));
    state.advance_lesson();
    run_frames(&mut state);
    assert_eq!(state.lesson.player.position(), Some((3, 0)));
    let source = state.model.source.as_ref().expect("lesson 3's model file");
    assert!(source.ends_with("seed-block.safetensors"), "{source:?}");
    assert!(state.lesson.notes.is_empty(), "{:?}", state.lesson.notes);
    assert_eq!(
        state.settings.view,
        ViewKind::Model,
        "step 1 of lesson 3 shows the model"
    );
}

/// A live run's snapshots keep the app tracing; a step must not wait for it to be idle.
#[test]
fn a_step_is_set_up_while_the_app_keeps_tracing() {
    let mut state = state();
    state.apply(Command::Lesson(LessonCommand::Open { number: 2, step: 0 }));
    run_frames(&mut state);
    state.apply(Command::Lesson(LessonCommand::StepBy(4)));
    for frame in 0..10 {
        // Each frame something new asks for a trace, as each snapshot of a live run does.
        let head = Component::Head { layer: 0, head: 0 };
        let patch = Patch::scale(head, 1.0 + frame as f32 / 100.0);
        state.apply(Command::Intervention(InterventionCommand::Replace(vec![
            patch,
        ])));
        assert!(state.busy());
        state.advance_lesson();
        if !state.lesson.is_setting_up() {
            break;
        }
    }
    assert!(
        !state.lesson.is_setting_up(),
        "the step waited for an idle app"
    );
    assert_eq!(state.lesson.player.position(), Some((2, 4)));
    assert_eq!(state.settings.view, ViewKind::LogitLens);
    assert!(state.wait_until_idle(Duration::from_secs(20)));
    let last = state.prompt.ids.len() - 1;
    assert_eq!(state.selection.token, last, "step 5 selects the last token");
    let cut = Patch::zero(Component::AttnResidual { layer: 0 });
    assert_eq!(state.interventions.patches(), &[cut], "step 5 cuts L0 attn");
}

/// Lesson 2 opens on the training panel: its first step already shows the lesson's runs, not
/// whatever the panel held before (here lesson 8's preset).
#[test]
fn lesson_2_step_1_shows_its_own_runs() {
    let mut state = state();
    state.apply(Command::Lesson(LessonCommand::Open { number: 8, step: 0 }));
    run_frames(&mut state);
    assert_eq!(state.training.setup.preset, "induction");
    state.apply(Command::Lesson(LessonCommand::Open { number: 2, step: 0 }));
    run_frames(&mut state);
    assert_eq!(state.settings.view, ViewKind::Training);
    assert_eq!(state.training.setup.preset, "deep");
    assert!(state.training.setup.compare_residual);
    assert!(!state.training.status.is_active(), "the student starts it");
}
