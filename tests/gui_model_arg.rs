//! `--model PATH` opens the explorer on that model: with or without the `gui` subcommand,
//! and over a lesson restored from the saved settings (the lesson is left with a notice).
//! Headless: the app is built on a bare egui context, no window.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use common::fixture_dir;
use residual_explorer::app::{AppOptions, ExplorerApp};
use residual_explorer::cli::{Cli, Command};
use residual_explorer::i18n::Language;
use residual_explorer::lesson::player::LessonSettings;

#[test]
fn model_is_accepted_with_and_without_the_gui_subcommand() {
    let bare = Cli::try_parse_from(["residual-explorer", "--model", "m.safetensors"]).unwrap();
    assert!(bare.command.is_none());
    assert_eq!(bare.gui.model, Some(PathBuf::from("m.safetensors")));
    let gui = Cli::try_parse_from(["residual-explorer", "gui", "--model", "m.safetensors"]);
    match gui.unwrap().command {
        Some(Command::Gui(args)) => assert_eq!(args.model, Some(PathBuf::from("m.safetensors"))),
        other => panic!("expected gui, got {other:?}"),
    }
    // The GUI's options do not mix with another command.
    let mixed = ["residual-explorer", "--model", "m", "info", "--model", "m"];
    assert!(Cli::try_parse_from(mixed).is_err());
}

/// The lesson position the app would store after starting with `model` over settings that
/// had lesson 2, step 1 open.
fn start(model: Option<PathBuf>) -> ExplorerApp {
    let lessons = LessonSettings {
        position: Some((2, 1)),
        welcomed: true,
        ..LessonSettings::default()
    };
    let options = AppOptions {
        model,
        lessons: Some(lessons),
        ..AppOptions::default()
    };
    ExplorerApp::with_context(&egui::Context::default(), options)
}

/// The notice on screen, in English ("" when there is none).
fn notice_text(app: &ExplorerApp) -> String {
    let notice = app.state.notice.as_ref();
    notice.map_or_else(String::new, |n| n.text(Language::En))
}

fn stored_position(app: &ExplorerApp) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&app.lessons.settings_json(&app.state.lesson)).unwrap();
    json["position"].clone()
}

#[test]
fn a_model_on_the_command_line_wins_over_the_restored_lesson() {
    // Without a model the restored lesson stays open (what the fix must not break).
    let restored = start(None);
    assert_eq!(stored_position(&restored), serde_json::json!([2, 1]));

    let mut app = start(Some(fixture_dir()));
    assert_eq!(
        stored_position(&app),
        serde_json::Value::Null,
        "the lesson was left"
    );
    let notice = notice_text(&app);
    assert!(notice.contains("Lesson 2"), "{notice:?}");
    assert!(app.state.wait_until_idle(Duration::from_secs(60)));
    assert_eq!(app.state.settings.last_model, Some(fixture_dir()));
    assert_eq!(
        app.state.model.params.config.d_model, 64,
        "the fixture is open"
    );
    let notice = notice_text(&app);
    assert!(
        notice.starts_with("Opened") && notice.contains("Lesson 2"),
        "{notice:?}"
    );
}
