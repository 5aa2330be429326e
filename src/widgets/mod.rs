//! Data-agnostic UI pieces: colour scales and strips, the heatmap, the token strip, bar
//! lists and the help popover. They know numbers and labels, not models.

pub mod bars;
pub mod colour;
pub mod heatmap;
pub mod help;
pub mod token_strip;

pub use bars::{Bar, bar_list_ui};
pub use colour::{ColourScale, colour_legend_ui, colour_strip_ui, format_value};
pub use heatmap::{Heatmap, HeatmapResponse, heatmap_ui};
pub use help::help_button_ui;
pub use token_strip::{Chip, token_strip_ui};
