//! The interface in Portuguese, driven like a student would in the real app under
//! egui_kittest: switch the language in the tab row and find the tabs, buttons, the stage
//! slider's sentence and a help text in Portuguese (and their English words gone); start the
//! app with the language remembered and find it speaking Portuguese from the first frame.

mod gui_support;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, Queryable};
use gui_support::{app, settle, switch_to_portuguese};
use residual_explorer::app::{AppOptions, ExplorerApp};
use residual_explorer::i18n::Language;
use residual_explorer::lesson::player::LessonSettings;
use residual_explorer::state::{Settings, ViewKind};

/// Whether some widget's name or text (a label's text is its value) contains `text`.
fn shows_text_containing(harness: &Harness<'static, ExplorerApp>, text: &str) -> bool {
    harness
        .query_all(By::new().predicate(|node| {
            let name = node.label().or_else(|| node.value());
            name.is_some_and(|name| name.contains(text))
        }))
        .next()
        .is_some()
}

#[test]
fn the_switch_translates_the_tabs_buttons_and_stage_words() {
    let mut harness = app();
    assert!(harness.query_by_label("Gerar o próximo token").is_none());
    switch_to_portuguese(&mut harness);
    assert_eq!(harness.state().state.lesson.player.language, Language::Pt);

    for title in [
        "Fluxo residual",
        "Atenção",
        "Contribuições",
        "Lente dos logits",
        "Treino",
    ] {
        harness.get_by_role_and_label(Role::Button, title);
    }
    harness.get_by_role_and_label(Role::Button, "Lições");
    harness.get_by_role_and_label(Role::Button, "Gerar o próximo token");
    harness.get_by_role_and_label(Role::Button, "Estágio anterior");
    harness.get_by_role_and_label(Role::Button, "Arquivo");
    harness.get_by_label("Idioma");
    assert!(harness.query_by_label("Generate next token").is_none());
    assert!(harness.query_by_label("Residual stream").is_none());

    // The stage slider's sentence: the default prompt's stage is inside a block or the
    // embedding, both in Portuguese.
    assert!(
        shows_text_containing(&harness, "Bloco ")
            || shows_text_containing(&harness, "Embedding do token"),
        "the stage is described in Portuguese"
    );

    // Every view's heading and help button, reached through its Portuguese tab.
    for kind in ViewKind::ALL {
        let title = kind.title(Language::Pt);
        harness.get_by_role_and_label(Role::Button, title).click();
        settle(&mut harness);
        assert_eq!(harness.state().state.settings.view, kind);
        harness.get_by_label(&format!("O que estou vendo ({title})"));
    }
}

#[test]
fn the_help_popover_opens_in_portuguese() {
    let mut harness = app();
    switch_to_portuguese(&mut harness);
    harness
        .get_by_label("O que estou vendo (Fluxo residual)")
        .click();
    harness.run();
    assert!(shows_text_containing(&harness, "a grade à direita"));
    assert!(!shows_text_containing(&harness, "the grid on the right"));
}

#[test]
fn a_remembered_language_speaks_from_the_first_frame() {
    let lessons = LessonSettings {
        language: "pt".into(),
        welcomed: true,
        position: None,
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            ExplorerApp::new(
                cc,
                AppOptions {
                    settings: Some(Settings::default()),
                    lessons: Some(lessons),
                    ..AppOptions::default()
                },
            )
        });
    settle(&mut harness);
    harness.get_by_role_and_label(Role::Button, "Fluxo residual");
    harness.get_by_label("Prompt");
    let saved: LessonSettings =
        serde_json::from_str(&harness.state().lesson_settings_json()).unwrap();
    assert_eq!(
        saved.language, "pt",
        "the language is stored with the settings"
    );
}
