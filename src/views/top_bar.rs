//! The top bar: the model's name and source, the file (models), view and export menus, zoom and
//! theme, a spinner while work runs, and the error banner under it.

use egui::{RichText, Ui};

use crate::i18n::Msg;
use crate::state::{AppState, Command, ExportFormat, FilePurpose};

/// Zoom steps for the buttons and the menu.
const ZOOM_STEP: f32 = 0.1;

/// Draws the menus and the model's name.
pub fn top_bar_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.menu_button(text(state, Msg::MenuFile), |ui| {
            model_menu_ui(ui, state, commands)
        });
        ui.menu_button(text(state, Msg::MenuView), |ui| {
            view_menu_ui(ui, state, commands)
        });
        ui.menu_button(text(state, Msg::MenuExport), |ui| {
            let items = [
                (Msg::ExportPng, ExportFormat::Png),
                (Msg::ExportCsv, ExportFormat::Csv),
                (Msg::ExportJson, ExportFormat::Json),
            ];
            for (label, format) in items {
                if ui.button(text(state, label)).clicked() {
                    commands.push(Command::ChooseFile(FilePurpose::Export(format)));
                    ui.close();
                }
            }
        });
        ui.separator();
        // The right-hand buttons first, so the model's name and source get what is left and
        // are cut short (with "…") instead of running under them.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            zoom_and_theme_ui(ui, state, commands);
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                model_status_ui(ui, state);
            });
        });
    });
    // A notice ("Opened …", "Saved …") on its own line, so it never covers the source.
    if let Some(notice) = &state.notice {
        let notice = notice.text(state.lesson.player.language);
        ui.add(egui::Label::new(RichText::new(notice).weak()).truncate());
    }
}

/// The model's name and where it comes from, and what is loading or running.
fn model_status_ui(ui: &mut Ui, state: &AppState) {
    let model = &state.model;
    let language = state.lesson.player.language;
    ui.label(RichText::new(&model.name).strong());
    let source = match (&model.source, state.training.shown_step) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(step)) if state.shows_training_run() => {
            Msg::TrainedInSession.fill(language, &[&step])
        }
        (None, _) => text(state, Msg::EmbeddedModel).into(),
    };
    // While a model loads, the one on screen stays usable; a bar shows the weights read.
    if let (Some(path), Some(progress)) = (&state.loading, &state.load_progress) {
        let fraction = progress.fraction();
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(140.0)
                .text(Msg::OpeningPath.fill(language, &[&format!("{:.0}%", fraction * 100.0)])),
        )
        .on_hover_text(Msg::OpeningPath.fill(language, &[&path.display()]));
    }
    let busy = match (&state.loading, state.pending_trace) {
        (Some(_), _) => None, // the progress bar says it
        (None, Some(_)) => Some(text(state, Msg::RunningModel).to_string()),
        (None, None) => None,
    };
    if let Some(busy) = busy {
        // The spinner and what it waits for come before the source, which gives way.
        crate::widgets::busy_spinner_ui(ui);
        ui.add(egui::Label::new(busy).truncate());
    }
    ui.add(egui::Label::new(RichText::new(&source).weak()).truncate())
        .on_hover_text(source);
}

/// Theme and zoom, drawn right to left.
fn zoom_and_theme_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let dark = state.settings.dark;
    let theme = if dark {
        Msg::LightTheme
    } else {
        Msg::DarkTheme
    };
    let theme_label = text(state, theme);
    if ui.button(theme_label).clicked() {
        commands.push(Command::SetDark(!dark));
    }
    let zoom = state.settings.zoom;
    if ui
        .button("A+")
        .on_hover_text(text(state, Msg::ZoomInKey))
        .clicked()
    {
        commands.push(Command::SetZoom(zoom + ZOOM_STEP));
    }
    ui.label(format!("{:.0}%", zoom * 100.0));
    if ui
        .button("A−")
        .on_hover_text(text(state, Msg::ZoomOutKey))
        .clicked()
    {
        commands.push(Command::SetZoom(zoom - ZOOM_STEP));
    }
}

fn model_menu_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    if ui.button(text(state, Msg::OpenModel)).clicked() {
        commands.push(Command::ChooseFile(FilePurpose::OpenModel));
        ui.close();
    }
    if ui.button(text(state, Msg::OpenHfFolder)).clicked() {
        commands.push(Command::ChooseFile(FilePurpose::OpenModelFolder));
        ui.close();
    }
    if ui.button(text(state, Msg::SaveModelAs)).clicked() {
        commands.push(Command::ChooseFile(FilePurpose::SaveModel));
        ui.close();
    }
    ui.separator();
    if ui.button(text(state, Msg::DefaultModel)).clicked() {
        commands.push(Command::OpenDefaultModel);
        ui.close();
    }
    ui.menu_button(text(state, Msg::RecentModels), |ui| {
        if state.settings.recent_models.is_empty() {
            ui.weak(text(state, Msg::NoneYet));
        }
        for path in &state.settings.recent_models {
            if ui.button(path.display().to_string()).clicked() {
                commands.push(Command::OpenModel(path.clone()));
                ui.close();
            }
        }
    });
    ui.menu_button(text(state, Msg::ShippedModels), |ui| {
        if state.shipped_models.is_empty() {
            ui.weak(text(state, Msg::NoModelsFolder));
        }
        for path in &state.shipped_models {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            if ui
                .button(name)
                .on_hover_text(path.display().to_string())
                .clicked()
            {
                commands.push(Command::OpenModel(path.clone()));
                ui.close();
            }
        }
    });
}

fn view_menu_ui(ui: &mut Ui, state: &AppState, commands: &mut Vec<Command>) {
    let zoom = state.settings.zoom;
    if ui.button(text(state, Msg::ZoomInKey)).clicked() {
        commands.push(Command::SetZoom(zoom + ZOOM_STEP));
    }
    if ui.button(text(state, Msg::ZoomOutKey)).clicked() {
        commands.push(Command::SetZoom(zoom - ZOOM_STEP));
    }
    if ui.button(text(state, Msg::NormalSizeKey)).clicked() {
        commands.push(Command::SetZoom(1.0));
    }
    ui.separator();
    if ui
        .radio(state.settings.dark, text(state, Msg::DarkTheme))
        .clicked()
    {
        commands.push(Command::SetDark(true));
    }
    if ui
        .radio(!state.settings.dark, text(state, Msg::LightTheme))
        .clicked()
    {
        commands.push(Command::SetDark(false));
    }
}

/// The error banner: the message and a button to dismiss it.
pub fn error_banner_ui(ui: &mut Ui, state: &AppState, message: &str, commands: &mut Vec<Command>) {
    egui::Frame::new()
        .fill(ui.visuals().error_fg_color.gamma_multiply(0.15))
        .stroke(egui::Stroke::new(1.0, ui.visuals().error_fg_color))
        .inner_margin(6.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(message).color(ui.visuals().error_fg_color));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button(text(state, Msg::Dismiss)).clicked() {
                        commands.push(Command::DismissError);
                    }
                });
            });
        });
}

/// `key` in the interface's language.
fn text(state: &AppState, key: Msg) -> &'static str {
    key.text(state.lesson.player.language)
}
