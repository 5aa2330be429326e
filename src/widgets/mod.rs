//! Data-agnostic UI pieces: colour scales and strips, the heatmap, the token strip, bar
//! lists and the help popover. They know numbers and labels, not models; the few words they
//! add themselves come from the string table in the language they are given.

pub mod bars;
pub mod busy;
pub mod colour;
pub mod fonts;
pub mod heatmap;
pub mod help;
pub mod plot_hover;
pub mod plot_legend;
pub mod token_strip;

pub use bars::{Bar, bar_list_ui};
pub use busy::busy_spinner_ui;
pub use colour::{
    ColourScale, StripCells, colour_legend_ui, colour_legend_with_ends_ui, colour_strip_ui,
    format_value,
};
pub use heatmap::{
    Heatmap, HeatmapResponse, cell_text_width, heatmap_image, heatmap_thumbnail_ui, heatmap_ui,
};
pub use help::help_button_ui;
pub use plot_hover::PlotHover;
pub use plot_legend::y_top_above_legend;
pub use token_strip::{Chip, token_strip_ui};

/// Gives a widget an accessible name other than its visible text (for icon-like buttons
/// such as `◀`, read by screen readers and found by tests).
pub fn set_accessible_name(response: &egui::Response, name: impl Into<String>) {
    let name = name.into();
    response.ctx.accesskit_node_builder(response.id, |node| {
        node.set_label(name);
    });
}
