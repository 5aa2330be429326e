//! The explorer's views, one per file, and the panels around them (top bar, prompt, stage
//! slider). Each is a function of read-only data that draws and pushes [`Command`]s; none
//! changes the state directly.

pub mod attention;
pub mod circuits;
pub mod contributions;
pub mod features;
pub mod interventions;
pub mod lesson_panel;
pub mod lesson_text;
pub mod logit_lens;
pub mod model_info;
pub mod patching;
pub mod prompt_bar;
pub mod residual;
pub mod stage_bar;
pub mod timeline;
pub mod top_bar;
pub mod training;
pub mod training_plots;

use egui::Ui;

use crate::i18n::Language;
use crate::state::{Analysis, Command, Selection, Settings, Table, ViewKind};

/// What a view reads: the analysis on screen, the selection clamped to it, and settings.
pub struct ViewContext<'a> {
    /// The trace and what was derived from it (with its own model).
    pub analysis: &'a Analysis,
    /// The linked selection, inside the analysis' sizes.
    pub selection: &'a Selection,
    /// View options (lens colouring, ...).
    pub settings: &'a Settings,
    /// The interface's language.
    pub language: Language,
}

impl ViewContext<'_> {
    /// The stage the slider points at.
    pub fn stage(&self) -> crate::interp::Stage {
        self.analysis.stages[self.selection.stage]
    }

    /// The model's config.
    pub fn config(&self) -> &crate::model::ModelConfig {
        &self.analysis.model.params.config
    }

    /// Chip texts of every token. [pos]
    pub fn token_labels(&self) -> Vec<String> {
        (0..self.analysis.n_pos())
            .map(|pos| format!("{pos} {}", self.analysis.token_text(pos)))
            .collect()
    }
}

/// Draws the view `kind`.
pub fn view_ui(kind: ViewKind, ui: &mut Ui, view: &ViewContext<'_>, commands: &mut Vec<Command>) {
    match kind {
        ViewKind::Residual => residual::residual_ui(ui, view, commands),
        ViewKind::Attention => attention::attention_ui(ui, view, commands),
        ViewKind::Contributions => contributions::contributions_ui(ui, view, commands),
        ViewKind::LogitLens => logit_lens::logit_lens_ui(ui, view, commands),
        ViewKind::Model => model_info::model_ui(ui, view, commands),
        // They read more than the trace; the app draws them (`training::training_ui`,
        // `circuits::circuits_ui`, ...).
        ViewKind::Training | ViewKind::Patching | ViewKind::Circuits | ViewKind::Features => {}
    }
}

/// The numbers behind the view `kind`, for CSV and JSON export (the Training, Patching and
/// Circuits views export their run's, experiment's and weights' tables instead:
/// `RunHistory::table`, `PatchingOutcome::table`, `circuits::table`).
pub fn view_table(kind: ViewKind, view: &ViewContext<'_>) -> Table {
    match kind {
        ViewKind::Residual => residual::table(view),
        ViewKind::Attention => attention::table(view),
        ViewKind::Contributions => contributions::table(view),
        ViewKind::LogitLens => logit_lens::table(view),
        ViewKind::Model => model_info::table(view),
        ViewKind::Training | ViewKind::Patching | ViewKind::Circuits | ViewKind::Features => {
            Table::new(&["note"])
        }
    }
}

/// A view's heading in `language`: its title, what it shows now, and the help button.
pub fn heading_ui(ui: &mut Ui, language: Language, kind: ViewKind, subtitle: &str) {
    ui.horizontal(|ui| {
        let title = kind.title(language);
        ui.heading(title);
        crate::widgets::help_button_ui(ui, language, title, kind.help(language));
        ui.label(subtitle);
    });
}
