//! Every view laid out where space is short: a 1024×700 window, and 1280×800 at 150 % zoom
//! (a projector). The bars above the views (top bar, prompt and stage, tabs) must not draw
//! one labelled widget over another or past the window: the model's path and the
//! "Opened …" notice once did, and the stage's description ran off a narrow window. In
//! English and in Portuguese, whose words are longer.

mod gui_support;

use egui::Rect;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use gui_support::layout::{assert_pairwise_apart, labelled_widgets};
use gui_support::{app_sized, gpt2_tiny, settle};
use residual_explorer::app::ExplorerApp;
use residual_explorer::i18n::Language;
use residual_explorer::state::{Command, LessonCommand, ViewKind};

/// Every labelled widget of the bars above the view (top bar, notice, prompt, stage, tabs),
/// with its label and rectangle. (The interventions bar below is left out: a view's content
/// scrolled under it keeps its rectangle there, which would read as an overlap.)
fn bar_widgets(harness: &Harness<'static, ExplorerApp>, language: Language) -> Vec<(String, Rect)> {
    let tabs_bottom = harness
        .get_by_role_and_label(Role::Button, ViewKind::Residual.title(language))
        .rect()
        .bottom();
    labelled_widgets(harness, |rect| rect.bottom() <= tabs_bottom + 0.5)
}

/// Panics with the first two widgets drawn over each other, and any widget outside `window`.
fn assert_no_overlap(widgets: &[(String, Rect)], window: Rect, what: &str) {
    for (a, ra) in widgets {
        assert!(
            window.expand(0.5).contains_rect(*ra),
            "{what}: {a:?} at {ra:?} is outside the window {window:?}"
        );
    }
    assert_pairwise_apart(widgets, what);
}

/// Opens the Hugging Face fixture (a long path and an "Opened …" notice in the top bar) in a
/// window of `size` points, with the interface in `language`, then checks every view.
fn check_every_view(size: egui::Vec2, language: Language) {
    let mut harness = app_sized("", size);
    let switch = LessonCommand::SetLanguage(language);
    harness.state_mut().state.apply(Command::Lesson(switch));
    harness.state_mut().open_model(gpt2_tiny());
    settle(&mut harness);
    assert!(
        harness.state().state.notice.is_some(),
        "the Opened notice shows"
    );
    let window = Rect::from_min_size(egui::Pos2::ZERO, size);
    for kind in ViewKind::ALL {
        harness.state_mut().state.apply(Command::ShowView(kind));
        settle(&mut harness);
        let what = format!("{} view in {size:?} points", kind.title(language));
        assert_no_overlap(&bar_widgets(&harness, language), window, &what);
    }
}

#[test]
fn the_bars_fit_a_small_window() {
    check_every_view(egui::vec2(1024.0, 700.0), Language::En);
}

/// Portuguese words are longer ("Gerar o próximo token", "Contribuições").
#[test]
fn the_bars_fit_a_small_window_in_portuguese() {
    check_every_view(egui::vec2(1024.0, 700.0), Language::Pt);
}

/// 150 % zoom on 1280×800 pixels leaves 853×533 points: the harness has no pixels, so the
/// window is given in those points (what egui lays out at that zoom).
#[test]
fn the_bars_fit_a_projector_at_150_percent() {
    check_every_view(egui::vec2(1280.0, 800.0) / 1.5, Language::En);
}

#[test]
fn the_bars_fit_a_projector_at_150_percent_in_portuguese() {
    check_every_view(egui::vec2(1280.0, 800.0) / 1.5, Language::Pt);
}
