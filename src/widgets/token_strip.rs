//! The token strip: every token a chip (whitespace made visible by the caller), the selected
//! one highlighted, flagged ones in the error colour; a click selects, hover shows details.

use egui::{RichText, Ui};

/// One chip.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chip {
    /// What the chip shows.
    pub text: String,
    /// The tooltip (id and text).
    pub tooltip: String,
    /// Drawn in the error colour (e.g. a piece outside the vocabulary).
    pub flagged: bool,
}

/// Draws the chips, wrapping lines; returns the index of a clicked chip. Each chip's
/// accessible name is `"{name_prefix} {index} {text}"`.
pub fn token_strip_ui(
    ui: &mut Ui,
    name_prefix: &str,
    chips: &[Chip],
    selected: Option<usize>,
) -> Option<usize> {
    let mut clicked = None;
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing = egui::vec2(3.0, 3.0);
        for (index, chip) in chips.iter().enumerate() {
            let mut text = RichText::new(&chip.text).monospace();
            if chip.flagged {
                text = text.color(ui.visuals().error_fg_color);
            }
            let is_selected = selected == Some(index);
            let response = ui
                .add(egui::Button::selectable(is_selected, text).min_size(egui::vec2(18.0, 0.0)))
                .on_hover_text(&chip.tooltip);
            super::set_accessible_name(&response, format!("{name_prefix} {index} {}", chip.text));
            if response.clicked() {
                clicked = Some(index);
            }
        }
    });
    clicked
}
