//! Lesson 8, step 4, with the lesson panel open and "Side by side with" ticked: the two copies
//! of the attention view share the space left of the panel. Neither may draw a labelled
//! widget over the other's, and none may run under the lesson panel (at the default 1280×800
//! and at 1024×700). The lesson's run is shortened to a few dozen steps: the layout does not
//! depend on how far it trained. And lesson 4's enlarged pattern of 25 tokens beside the
//! panel is big enough to label every row.

mod gui_support;

use std::time::{Duration, Instant};

use egui::Rect;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::layout::{assert_pairwise_apart, labelled_widgets};
use gui_support::{app_sized, settle};
use residual_explorer::app::ExplorerApp;
use residual_explorer::state::training_run::TrainingCommand;
use residual_explorer::state::{Command, ViewKind};

/// Runs frames until `done` holds (panics after a minute).
fn run_until(
    harness: &mut Harness<'static, ExplorerApp>,
    what: &str,
    done: fn(&ExplorerApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(harness.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    settle(harness);
}

/// Labelled widgets (buttons, labels, sliders, …) with their rectangles.
fn widgets(harness: &Harness<'static, ExplorerApp>) -> Vec<(String, Rect)> {
    labelled_widgets(harness, |_| true)
}

fn side_by_side_fits(size: egui::Vec2) {
    let mut harness = app_sized("", size);
    harness.state_mut().open_lesson(8, 0);
    settle(&mut harness);
    // The lesson's run, shortened.
    let mut setup = harness.state().state.training.setup.clone();
    assert_eq!(setup.preset, "induction", "lesson 8 set its run up");
    setup.steps = 60;
    let state = &mut harness.state_mut().state;
    state.apply(Command::Training(TrainingCommand::SetSetup(setup)));
    state.apply(Command::Training(TrainingCommand::Start));
    run_until(&mut harness, "the run to end", |app| {
        let training = &app.state.training;
        !training.status.is_active() && training.history.is_some()
    });
    harness.state_mut().open_lesson(8, 3);
    settle(&mut harness);
    assert_eq!(harness.state().state.settings.view, ViewKind::Attention);
    assert!(harness.state().state.shows_training_run());
    harness.get_by_label("Side by side with").click();
    run_until(&mut harness, "the other step's analysis", |app| {
        app.state.training.compare_analysis.is_some()
    });
    let what = format!("lesson 8 step 4 side by side in {size:?} points");
    let all = widgets(&harness);
    // The panel's left edge: its heading's, less the panel's margin.
    let panel_left = harness
        .get_by_role_and_label(Role::Label, "Lessons")
        .rect()
        .left()
        - 12.0;
    let tabs_bottom = harness
        .get_by_role_and_label(
            Role::Button,
            ViewKind::Residual.title(residual_explorer::i18n::Language::En),
        )
        .rect()
        .bottom();
    let bottom_bar = harness
        .get_by_role_and_label(Role::Label, "Timeline")
        .rect()
        .top();
    let titles: Vec<Rect> = all
        .iter()
        .filter(|(label, _)| label.starts_with("step "))
        .map(|(_, rect)| *rect)
        .collect();
    assert!(
        titles.len() >= 2,
        "{what}: two copies, titled by step: {all:?}"
    );
    let in_view: Vec<&(String, Rect)> = all
        .iter()
        .filter(|(_, r)| r.top() >= tabs_bottom - 0.5 && r.bottom() <= bottom_bar + 0.5)
        .filter(|(_, r)| r.left() < panel_left)
        .collect();
    assert!(in_view.len() > 4, "{what}: the views' widgets: {in_view:?}");
    for (a, ra) in &in_view {
        assert!(
            ra.right() <= panel_left + 0.5,
            "{what}: {a:?} at {ra:?} runs under the lesson panel (left edge {panel_left})"
        );
    }
    let in_view: Vec<(String, Rect)> = in_view.into_iter().cloned().collect();
    assert_pairwise_apart(&in_view, &what);
}

#[test]
fn side_by_side_fits_beside_the_lesson_panel_at_1280_by_800() {
    side_by_side_fits(egui::vec2(1280.0, 800.0));
}

#[test]
fn side_by_side_fits_beside_the_lesson_panel_at_1024_by_700() {
    side_by_side_fits(egui::vec2(1024.0, 700.0));
}

/// Lesson 4's attention step beside the lesson panel: the enlarged pattern of its 25 tokens
/// fills its column enough that every row has a cell as tall as its label (12-point labels,
/// drawn every row from 14 points up; smaller cells labelled every other row).
#[test]
fn lesson_4_pattern_labels_every_row_beside_the_panel() {
    let mut harness = app_sized("", egui::vec2(1280.0, 800.0));
    harness.state_mut().open_lesson(4, 1);
    settle(&mut harness);
    let state = &harness.state().state;
    assert_eq!(state.settings.view, ViewKind::Attention);
    let n = state.prompt.ids.len();
    assert_eq!(n, 25);
    let (layer, head) = (state.selection.layer, state.selection.head);
    let label = format!("Attention pattern of layer {layer} head {head}");
    let rect = harness.get_by_role_and_label(Role::Image, &label).rect();
    // The widget is the grid plus its labels' room: the tokens are numbers of at most two
    // digits, whose labels take well under 40 points.
    let grid = rect.height().min(rect.width()) - 40.0;
    let cell = grid / n as f32;
    assert!(
        cell >= 14.0,
        "{rect:?}: cells of {cell} points for {n} rows"
    );
    // And the pattern is not left small in a big column: it takes most of the height below
    // the tabs.
    assert!(rect.height() > 0.5 * 800.0, "{rect:?}");
}
