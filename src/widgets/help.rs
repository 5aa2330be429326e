//! The "what am I looking at" button: a small `?` that opens a popover with a few
//! sentences of explanation.

use egui::Ui;

use crate::i18n::{Language, Msg};

/// A `?` button named `"What am I looking at ({topic})"` (in `language`) that toggles a
/// popover with `text` (paragraphs separated by blank lines).
pub fn help_button_ui(ui: &mut Ui, language: Language, topic: &str, text: &str) {
    let name = Msg::HelpName.fill(language, &[&topic]);
    let response = ui
        .button(" ? ")
        .on_hover_text(Msg::HelpHover.text(language));
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
