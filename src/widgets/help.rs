//! The "what am I looking at" button: a small `?` that opens a popover with a few
//! sentences of explanation.

use egui::Ui;

/// A `?` button named `"What am I looking at ({topic})"` that toggles a popover with `text`
/// (paragraphs separated by blank lines).
pub fn help_button_ui(ui: &mut Ui, topic: &str, text: &str) {
    let name = format!("What am I looking at ({topic})");
    let response = ui.button(" ? ").on_hover_text("What am I looking at?");
    super::set_accessible_name(&response, name);
    egui::Popup::from_toggle_button_response(&response)
        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside)
        .width(420.0)
        .show(|ui| {
            ui.set_max_width(420.0);
            ui.strong(topic);
            for paragraph in text.split("\n\n") {
                ui.label(paragraph.replace('\n', " "));
            }
        });
}
