//! Room for a plot's legend: egui_plot draws its legend inside the plot, in a corner, where
//! it covered the curves (the norm plot's stream line, the loss curves). Each plot leaves an
//! empty band at the top as tall as its legend, so the legend sits above the data.

/// Height of one legend row (egui_plot's body text and its marker), in points.
const ROW_HEIGHT: f32 = 20.0;

/// The legend's frame and margins, in points.
const FRAME: f32 = 14.0;

/// Height of a plot's x axis and its label, in points (the rest shows data).
const AXIS_HEIGHT: f32 = 40.0;

/// The top of the y axis that keeps `entries` legend rows clear of every value up to `max`
/// (the bottom of the axis at `min`) in a plot `plot_height` points tall, x axis included.
pub fn y_top_above_legend(min: f64, max: f64, entries: usize, plot_height: f32) -> f64 {
    let height = (plot_height - AXIS_HEIGHT).max(1.0);
    let legend = (entries as f32 * ROW_HEIGHT + FRAME).min(height * 0.6);
    let data_share = f64::from((height - legend) / height);
    min + (max - min) / data_share
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_stays_below_the_legend() {
        // 3 rows: 74 points of a plot with 200 points above its axis; the data keeps the
        // lower 126.
        let top = y_top_above_legend(0.0, 10.0, 3, 240.0);
        let legend_bottom = top * (1.0 - 74.0 / 200.0);
        assert!((legend_bottom - 10.0).abs() < 1e-3, "{top}");
        // An axis that does not start at zero keeps its bottom.
        let top = y_top_above_legend(2.0, 4.0, 3, 240.0);
        assert!(
            (2.0 + (top - 2.0) * (126.0 / 200.0) - 4.0).abs() < 1e-3,
            "{top}"
        );
        // A tiny plot still shows its data in at least 40 % of its height.
        assert!(y_top_above_legend(0.0, 1.0, 10, 140.0) <= 2.5 + 1e-5);
    }
}
