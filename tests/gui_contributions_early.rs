//! The Contributions view in the moment after a trace, before every position's logits are
//! in: the selected token's terms are shown at once, and the attribution to its target
//! waits for that token's logits (a spinner), then appears.

use std::sync::Arc;

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use residual_explorer::i18n::Language;
use residual_explorer::interp::AnalysisOptions;
use residual_explorer::interp::interventions::Interventions;
use residual_explorer::state::selection::Selection;
use residual_explorer::state::{Analysis, Settings, models};
use residual_explorer::views::ViewContext;
use residual_explorer::views::contributions::contributions_ui;
use residual_explorer::widgets::fonts::font_definitions;

/// The Contributions view of `analysis` with token `pos` selected, at the last stage.
fn view_of(analysis: &Analysis, pos: usize) -> Harness<'_> {
    let selection = Selection {
        token: pos,
        stage: analysis.stages.len() - 1,
        ..Selection::default()
    };
    let settings = Settings::default();
    let fonts_set = std::cell::Cell::new(false);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui(move |ui| {
            // The app's fonts (with ␣ and the other marks) from the second frame on.
            if !fonts_set.replace(true) {
                ui.ctx().set_fonts(font_definitions());
                return;
            }
            let view = ViewContext {
                analysis,
                selection: &selection,
                settings: &settings,
                language: Language::En,
            };
            contributions_ui(ui, &view, &mut Vec::new());
        });
    harness.run_steps(3);
    harness
}

#[test]
fn the_terms_show_before_the_logits_and_the_attribution_after() {
    let model = Arc::new(models::default_model());
    let ids = model.tokenizer.encode("To be, or not").ids;
    let (analysis, mut fill) = Analysis::start(
        Arc::clone(&model),
        &ids,
        AnalysisOptions::default(),
        Interventions::new(),
        2,
        &|| true,
    )
    .unwrap();
    assert!(
        analysis.logits_row(5).is_none(),
        "only the selected token's row"
    );

    // Another token, whose logits are not in yet: its terms, no attribution.
    let early = view_of(&analysis, 5);
    early.get_by_label("Every term written into the stream so far");
    early.get_by_label("L0 mlp");
    assert!(
        early
            .query_by_label_contains("Direct logit attribution to")
            .is_none()
    );
    assert!(
        early
            .query_all_by_role(Role::ProgressIndicator)
            .next()
            .is_some(),
        "a spinner says the attribution is coming"
    );
    drop(early);

    // The selected token's logits came with the trace: its attribution is there.
    view_of(&analysis, 2).get_by_label_contains("Direct logit attribution to");

    while fill.fill_next(&analysis) > 0 {}
    let late = view_of(&analysis, 5);
    late.get_by_label_contains("Direct logit attribution to");
    assert!(
        late.query_all_by_role(Role::ProgressIndicator)
            .next()
            .is_none()
    );
}
