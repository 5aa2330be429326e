//! Colour scales (diverging for signed values, sequential for probabilities and norms), a
//! colour strip for one vector, and the legend that explains a scale. Their few words of
//! their own (a legend's accessible name, a cell's hover) are in the interface's language.

use egui::{Color32, CornerRadius, Rect, Sense, Stroke, Ui, Vec2, pos2, vec2};

use crate::i18n::{Language, ViewText};

/// Maps numbers to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColourScale {
    /// Blue below zero, neutral at zero, red above; saturates at ±`max_abs`.
    Diverging {
        /// The value shown at full strength.
        max_abs: f32,
    },
    /// A dark-to-bright ramp (viridis) from `min` to `max`.
    Sequential {
        /// Value at the dark end.
        min: f32,
        /// Value at the bright end.
        max: f32,
    },
}

/// Viridis sampled at 9 points (matplotlib's colour map, perceptually uniform).
const VIRIDIS: [[u8; 3]; 9] = [
    [68, 1, 84],
    [71, 45, 123],
    [59, 82, 139],
    [44, 114, 142],
    [33, 145, 140],
    [40, 174, 128],
    [94, 201, 98],
    [173, 220, 48],
    [253, 231, 37],
];

fn lerp_rgb(a: [u8; 3], b: [u8; 3], t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Color32::from_rgb(mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2]))
}

impl ColourScale {
    /// A diverging scale that fits every value of `values` (at least ±1e-6).
    pub fn diverging_for(values: impl IntoIterator<Item = f32>) -> Self {
        let max_abs = values
            .into_iter()
            .filter(|x| x.is_finite())
            .fold(0.0f32, |m, x| m.max(x.abs()));
        ColourScale::Diverging {
            max_abs: max_abs.max(1e-6),
        }
    }

    /// A sequential scale from the smallest to the largest finite value of `values`.
    pub fn sequential_for(values: impl IntoIterator<Item = f32>) -> Self {
        let (min, max) = values
            .into_iter()
            .filter(|x| x.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
        if min.is_finite() && max > min {
            ColourScale::Sequential { min, max }
        } else {
            ColourScale::Sequential {
                min: 0.0,
                max: max.max(1.0),
            }
        }
    }

    /// The colour of `value`; `dark` picks the neutral colour of the diverging scale.
    pub fn colour(&self, value: f32, dark: bool) -> Color32 {
        if !value.is_finite() {
            return Color32::TRANSPARENT;
        }
        match *self {
            ColourScale::Diverging { max_abs } => {
                let t = (value / max_abs).clamp(-1.0, 1.0);
                let (neutral, negative, positive) = if dark {
                    ([48, 48, 52], [80, 160, 240], [240, 100, 80])
                } else {
                    ([246, 246, 246], [33, 102, 172], [178, 24, 43])
                };
                if t < 0.0 {
                    lerp_rgb(neutral, negative, -t)
                } else {
                    lerp_rgb(neutral, positive, t)
                }
            }
            ColourScale::Sequential { min, max } => {
                let t = ((value - min) / (max - min)).clamp(0.0, 1.0) * 8.0;
                let i = (t.floor() as usize).min(7);
                lerp_rgb(VIRIDIS[i], VIRIDIS[i + 1], t - i as f32)
            }
        }
    }

    /// The value range shown by the legend.
    pub fn range(&self) -> (f32, f32) {
        match *self {
            ColourScale::Diverging { max_abs } => (-max_abs, max_abs),
            ColourScale::Sequential { min, max } => (min, max),
        }
    }
}

/// A text colour readable on `background`.
pub fn text_on(background: Color32) -> Color32 {
    let [r, g, b, _] = background.to_array();
    let luminance = 0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32;
    if luminance > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

/// Formats a value compactly for cells and legends.
pub fn format_value(value: f32) -> String {
    let a = value.abs();
    if value == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{value:.2e}")
    } else if a >= 100.0 {
        format!("{value:.0}")
    } else if a >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// A horizontal gradient with its end values and a caption, `width` points wide.
pub fn colour_legend_ui(
    ui: &mut Ui,
    language: Language,
    scale: &ColourScale,
    caption: &str,
    width: f32,
) {
    let (low, high) = scale.range();
    let ends = [format_value(low), format_value(high)];
    colour_legend_with_ends_ui(ui, language, scale, ends, caption, width);
}

/// A horizontal gradient with `ends` written at its low and high ends (for a scale whose
/// values are not what the reader counts in, such as −log₁₀ of a rank), and a caption.
pub fn colour_legend_with_ends_ui(
    ui: &mut Ui,
    language: Language,
    scale: &ColourScale,
    ends: [String; 2],
    caption: &str,
    width: f32,
) {
    let dark = ui.visuals().dark_mode;
    let (low, high) = scale.range();
    let [low_text, high_text] = ends;
    ui.horizontal(|ui| {
        ui.label(low_text);
        let (rect, response) = ui.allocate_exact_size(vec2(width, 14.0), Sense::hover());
        let steps = 64;
        let step_w = rect.width() / steps as f32;
        for i in 0..steps {
            let t = (i as f32 + 0.5) / steps as f32;
            let value = low + (high - low) * t;
            let cell = Rect::from_min_size(
                pos2(rect.left() + i as f32 * step_w, rect.top()),
                vec2(step_w + 0.5, rect.height()),
            );
            ui.painter()
                .rect_filled(cell, CornerRadius::ZERO, scale.colour(value, dark));
        }
        ui.painter().rect_stroke(
            rect,
            CornerRadius::ZERO,
            Stroke::new(1.0, ui.visuals().weak_text_color()),
            egui::StrokeKind::Inside,
        );
        response.widget_info(|| {
            let name = ViewText::LegendOf.fill(language, &[&caption]);
            egui::WidgetInfo::labeled(egui::Role::Image, true, name)
        });
        ui.label(high_text);
        ui.weak(caption);
    });
}

/// How a colour strip lays its cells out.
#[derive(Clone, Copy, Debug)]
pub struct StripCells {
    /// The size of one cell.
    pub size: Vec2,
    /// Most cells on one line (the strip wraps after them).
    pub per_line: usize,
    /// Whether each cell also prints its value.
    pub numbers: bool,
}

/// One vector as a row of coloured cells laid out as `cells` says. Hovering a cell shows
/// its index and value. Returns the hovered index.
pub fn colour_strip_ui(
    ui: &mut Ui,
    language: Language,
    name: &str,
    values: &[f32],
    scale: &ColourScale,
    cells: StripCells,
) -> Option<usize> {
    let dark = ui.visuals().dark_mode;
    let StripCells {
        size: cell,
        per_line,
        numbers: show_numbers,
    } = cells;
    let per_line = per_line.max(1);
    let lines = values.len().div_ceil(per_line).max(1);
    let columns = values.len().min(per_line);
    let size = vec2(columns as f32 * cell.x, lines as f32 * cell.y);
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    let mut mesh = egui::Mesh::default();
    let cell_rect = |i: usize| {
        let (line, col) = (i / per_line, i % per_line);
        Rect::from_min_size(
            rect.min + vec2(col as f32 * cell.x, line as f32 * cell.y),
            cell,
        )
    };
    for (i, &value) in values.iter().enumerate() {
        mesh.add_colored_rect(cell_rect(i).shrink(0.5), scale.colour(value, dark));
    }
    painter.add(mesh);
    if show_numbers {
        let font = egui::FontId::proportional((cell.y * 0.42).clamp(9.0, 13.0));
        for (i, &value) in values.iter().enumerate() {
            let background = scale.colour(value, dark);
            painter.text(
                cell_rect(i).center(),
                egui::Align2::CENTER_CENTER,
                format_value(value),
                font.clone(),
                text_on(background),
            );
        }
    }
    let hovered = response.hover_pos().and_then(|pos| {
        let local = pos - rect.min;
        let (col, line) = ((local.x / cell.x) as usize, (local.y / cell.y) as usize);
        let index = line * per_line + col;
        (col < per_line && index < values.len()).then_some(index)
    });
    if let Some(index) = hovered {
        painter.rect_stroke(
            cell_rect(index),
            CornerRadius::ZERO,
            Stroke::new(2.0, ui.visuals().strong_text_color()),
            egui::StrokeKind::Inside,
        );
        response.clone().on_hover_ui_at_pointer(|ui| {
            let value = format!("{:.5}", values[index]);
            ui.label(ViewText::Dimension.fill(language, &[&index, &value]));
        });
    }
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, name));
    hovered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_saturate_and_skip_non_finite() {
        let scale = ColourScale::diverging_for([-2.0, 1.0, f32::NAN]);
        assert_eq!(scale, ColourScale::Diverging { max_abs: 2.0 });
        assert_eq!(scale.colour(-2.0, false), scale.colour(-5.0, false));
        assert_ne!(scale.colour(-2.0, false), scale.colour(2.0, false));
        assert_eq!(scale.colour(f32::NAN, false), Color32::TRANSPARENT);
        let seq = ColourScale::sequential_for([0.5, 0.5]);
        assert_eq!(seq, ColourScale::Sequential { min: 0.0, max: 1.0 });
        assert_eq!(
            ColourScale::Sequential { min: 0.0, max: 1.0 }.colour(1.0, true),
            Color32::from_rgb(253, 231, 37)
        );
    }

    #[test]
    fn values_format_compactly() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(0.12345), "0.123");
        assert_eq!(format_value(-12.34), "-12.3");
        assert_eq!(format_value(1.5e-5), "1.50e-5");
    }
}
