//! A list of labelled horizontal bars (signed values grow left or right of a zero line),
//! with one row optionally highlighted; a click on a row reports it.

use egui::{Align2, Color32, CornerRadius, FontId, Rect, Sense, Stroke, Ui, pos2, vec2};

use super::colour::format_value;

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The label left of the bar.
    pub label: String,
    /// Its value.
    pub value: f32,
    /// The text printed after the bar (the value, compactly, when `None`).
    pub text: Option<String>,
}

impl Bar {
    /// A bar that prints its value.
    pub fn new(label: impl Into<String>, value: f32) -> Self {
        Self {
            label: label.into(),
            value,
            text: None,
        }
    }
}

/// The text printed after a bar.
fn bar_text(bar: &Bar) -> String {
    bar.text.clone().unwrap_or_else(|| format_value(bar.value))
}

/// Draws `bars` one per row, `row_height` points each, the bars `width` points wide in
/// total, with room for the widest label (up to 180 points) and the widest value text;
/// returns the clicked row.
pub fn bar_list_ui(
    ui: &mut Ui,
    name: &str,
    bars: &[Bar],
    highlight: Option<usize>,
    width: f32,
    row_height: f32,
) -> Option<usize> {
    let font = FontId::proportional(12.0);
    let widest = |texts: &mut dyn Iterator<Item = String>| {
        texts
            .map(|text| {
                let galley = ui
                    .painter()
                    .layout_no_wrap(text, font.clone(), Color32::WHITE);
                galley.size().x
            })
            .fold(0.0f32, f32::max)
    };
    let label_w = widest(&mut bars.iter().map(|b| b.label.clone())).min(180.0) + 8.0;
    // Wide enough for the longest value text (`1 051 648`), so none is cut.
    let value_w = (widest(&mut bars.iter().map(bar_text)) + 10.0).max(56.0);
    let size = vec2(label_w + width + value_w, row_height * bars.len() as f32);
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let painter = ui.painter_at(rect);
    let max_abs = bars
        .iter()
        .map(|b| b.value.abs())
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max)
        .max(1e-9);
    let any_negative = bars.iter().any(|b| b.value < 0.0);
    let bars_left = rect.left() + label_w;
    let zero_x = if any_negative {
        bars_left + width / 2.0
    } else {
        bars_left
    };
    let scale = if any_negative { width / 2.0 } else { width } / max_abs;
    let visuals = ui.visuals();
    let (positive, negative) = if visuals.dark_mode {
        (
            Color32::from_rgb(240, 100, 80),
            Color32::from_rgb(80, 160, 240),
        )
    } else {
        (
            Color32::from_rgb(178, 24, 43),
            Color32::from_rgb(33, 102, 172),
        )
    };
    for (row, bar) in bars.iter().enumerate() {
        let top = rect.top() + row as f32 * row_height;
        let row_rect = Rect::from_min_size(pos2(rect.left(), top), vec2(size.x, row_height));
        if highlight == Some(row) {
            painter.rect_filled(row_rect, CornerRadius::ZERO, visuals.selection.bg_fill);
        }
        let mid = top + row_height / 2.0;
        painter.text(
            pos2(bars_left - 6.0, mid),
            Align2::RIGHT_CENTER,
            &bar.label,
            font.clone(),
            visuals.text_color(),
        );
        if bar.value.is_finite() {
            let end = zero_x + bar.value * scale;
            let bar_rect = Rect::from_x_y_ranges(
                zero_x.min(end)..=zero_x.max(end),
                (top + 3.0)..=(top + row_height - 3.0),
            );
            let colour = if bar.value < 0.0 { negative } else { positive };
            painter.rect_filled(bar_rect, CornerRadius::same(2), colour);
        }
        painter.text(
            pos2(bars_left + width + 6.0, mid),
            Align2::LEFT_CENTER,
            bar_text(bar),
            font.clone(),
            visuals.text_color(),
        );
    }
    painter.line_segment(
        [pos2(zero_x, rect.top()), pos2(zero_x, rect.bottom())],
        Stroke::new(1.0, visuals.weak_text_color()),
    );
    let clicked = if response.clicked() {
        response
            .interact_pointer_pos()
            .map(|p| ((p.y - rect.top()) / row_height) as usize)
            .filter(|&row| row < bars.len())
    } else {
        None
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, name));
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The width `bar_list_ui` takes for `bars` with 100-point bars, and the width of `text`.
    fn widths(bars: &[Bar], text: &str) -> (f32, f32) {
        let ctx = egui::Context::default();
        let (mut taken, mut text_w) = (0.0, 0.0);
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            let left = ui.cursor().left();
            bar_list_ui(ui, "bars", bars, None, 100.0, 20.0);
            taken = ui.min_rect().right() - left;
            let font = FontId::proportional(12.0);
            text_w = ui
                .painter()
                .layout_no_wrap(text.into(), font, Color32::WHITE)
                .size()
                .x;
        });
        output.textures_delta.clear(); // the font atlas: nothing paints here
        (taken, text_w)
    }

    #[test]
    fn a_long_value_text_gets_room() {
        let long = "2 100 736 000";
        let bars = [
            Bar::new("a", 1.0),
            Bar {
                text: Some(long.into()),
                ..Bar::new("mlp", 2.0)
            },
        ];
        let (taken, long_w) = widths(&bars, long);
        let (label_w, _) = widths(&[Bar::new("mlp", 2.0)], "mlp");
        assert!(
            long_w > 56.0,
            "the text is longer than the old fixed column"
        );
        // Label column + 100-point bars + the value column hold the whole text.
        assert!(
            taken >= label_w - 56.0 + long_w,
            "{taken} < {label_w} + {long_w}"
        );
        let (short, _) = widths(&[Bar::new("mlp", 2.0)], "");
        assert_eq!(short, label_w, "short values keep the 56-point column");
    }
}
