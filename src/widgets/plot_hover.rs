//! What a line plot says under the cursor: the x there (a step, a stage) and each curve's
//! value at it, so a student reads numbers off a plot instead of guessing them from the axis.
//! egui_plot calls the plot's label formatter with the cursor's position; [`PlotHover`]
//! answers it from the curves the plot draws.

use egui_plot::HoverPosition;

use crate::i18n::{Language, ViewText};

/// Curves with the most rows a tooltip lists (the highest values first beyond that).
pub const MAX_HOVER_ROWS: usize = 12;

/// The curves of one plot and how to write their numbers.
pub struct PlotHover<'a> {
    /// The language of "… and N more below".
    language: Language,
    /// Writes an x value with its name: `step 120`, `stage L0 +attn`.
    format_x: Box<dyn Fn(f64) -> String + 'a>,
    /// Writes a y value (`2.314`, or `1.2e-5` for a log axis).
    format_y: Box<dyn Fn(f64) -> String + 'a>,
    /// Each curve's name and points, sorted by x.
    curves: Vec<(String, Vec<[f64; 2]>)>,
}

impl<'a> PlotHover<'a> {
    /// Hover text in `language` whose x is written by `format_x` and whose values by
    /// `format_y`.
    pub fn new(
        language: Language,
        format_x: impl Fn(f64) -> String + 'a,
        format_y: impl Fn(f64) -> String + 'a,
    ) -> Self {
        Self {
            language,
            format_x: Box::new(format_x),
            format_y: Box::new(format_y),
            curves: Vec::new(),
        }
    }

    /// Adds a curve (its points sorted by x, as a line plot draws them).
    pub fn curve(&mut self, name: impl Into<String>, points: &[[f64; 2]]) {
        self.curves.push((name.into(), points.to_vec()));
    }

    /// The text at cursor position `x`: the curves' point nearest to it fixes the x shown,
    /// then one row per curve with its value there (or at its own nearest x, said in
    /// brackets, for a curve sampled elsewhere, such as validation every 100 steps).
    /// `None` when no curve has a point.
    pub fn text(&self, x: f64) -> Option<String> {
        let at = self
            .curves
            .iter()
            .filter_map(|(_, points)| nearest(points, x))
            .map(|[px, _]| px)
            .min_by(|a, b| (a - x).abs().total_cmp(&(b - x).abs()))?;
        let mut rows: Vec<(f64, String)> = self
            .curves
            .iter()
            .filter_map(|(name, points)| {
                let [px, py] = nearest(points, at)?;
                let mut row = format!("{name}  {}", (self.format_y)(py));
                if px != at {
                    row += &format!("  ({})", (self.format_x)(px));
                }
                Some((py, row))
            })
            .collect();
        let hidden = rows.len().saturating_sub(MAX_HOVER_ROWS);
        if hidden > 0 {
            rows.sort_by(|a, b| b.0.total_cmp(&a.0));
            rows.truncate(MAX_HOVER_ROWS);
        }
        let mut text = (self.format_x)(at);
        for (_, row) in rows {
            text += "\n";
            text += &row;
        }
        if hidden > 0 {
            text += "\n";
            text += &ViewText::MoreBelow.fill(self.language, &[&hidden]);
        }
        Some(text)
    }

    /// The plot's label formatter: the text at the cursor's x.
    pub fn formatter(self) -> impl Fn(&HoverPosition<'_>) -> Option<String> + 'a {
        move |position: &HoverPosition<'_>| {
            let x = match position {
                HoverPosition::NearDataPoint { position, .. } => position.x,
                HoverPosition::Elsewhere { position } => position.x,
            };
            self.text(x)
        }
    }
}

/// The point of `points` (sorted by x) whose x is nearest to `x`.
fn nearest(points: &[[f64; 2]], x: f64) -> Option<[f64; 2]> {
    let after = points.partition_point(|p| p[0] < x);
    let candidates = [after.checked_sub(1), Some(after)];
    candidates
        .into_iter()
        .flatten()
        .filter_map(|i| points.get(i).copied())
        .min_by(|a, b| (a[0] - x).abs().total_cmp(&(b[0] - x).abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss_hover() -> PlotHover<'static> {
        let mut hover =
            PlotHover::new(Language::En, |x| format!("step {x}"), |y| format!("{y:.2}"));
        hover.curve("train", &[[0.0, 3.5], [10.0, 3.0], [20.0, 2.5]]);
        hover.curve("validation", &[[0.0, 3.6], [20.0, 2.7]]);
        hover
    }

    #[test]
    fn the_text_names_the_step_and_every_curve_there() {
        let hover = loss_hover();
        assert_eq!(
            hover.text(19.2).as_deref(),
            Some("step 20\ntrain  2.50\nvalidation  2.70")
        );
        // Validation was not measured at step 10: its nearest measurement, with its step.
        assert_eq!(
            hover.text(11.0).as_deref(),
            Some("step 10\ntrain  3.00\nvalidation  3.60  (step 0)")
        );
        assert_eq!(
            PlotHover::new(Language::En, |_| String::new(), |_| String::new()).text(1.0),
            None
        );
    }

    #[test]
    fn many_curves_list_the_highest_and_count_the_rest() {
        let mut hover = PlotHover::new(Language::En, |x| format!("step {x}"), |y| format!("{y}"));
        for i in 0..MAX_HOVER_ROWS + 3 {
            hover.curve(format!("h{i}"), &[[0.0, i as f64]]);
        }
        let text = hover.text(0.0).unwrap();
        let top = MAX_HOVER_ROWS + 2;
        assert!(
            text.starts_with(&format!("step 0\nh{top}  {top}\n")),
            "{text}"
        );
        assert!(!text.contains("h0 "), "{text}");
        assert!(text.ends_with("… and 3 more below"), "{text}");
    }

    #[test]
    fn nearest_takes_either_neighbour() {
        let points = [[0.0, 1.0], [4.0, 2.0], [10.0, 3.0]];
        assert_eq!(nearest(&points, 2.1), Some([4.0, 2.0]));
        assert_eq!(nearest(&points, 1.9), Some([0.0, 1.0]));
        assert_eq!(nearest(&points, 99.0), Some([10.0, 3.0]));
        assert_eq!(nearest(&[], 1.0), None);
    }
}
