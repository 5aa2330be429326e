//! A spinner for work in progress that asks for a new frame five times a second.
//!
//! egui's own `Spinner` asks for a new frame every frame, so the window redraws at the
//! screen's rate for as long as it turns. Without a GPU (Mesa's llvmpipe) every redraw of a
//! full window is work for both cores, taken from the trace it is waiting for: with the
//! Qwen2.5-0.5B shape, drawing took a third of the machine while a prompt edit's forward
//! pass ran. This one looks the same but ticks in fifths of a turn, and asks for the next
//! frame only when its next step is due. (At ten steps a second the selected token's lens
//! row of a 64-token prompt came 40–60 ms later than with a still spinner.)

use std::f64::consts::TAU;
use std::time::Duration;

use egui::{Pos2, Response, Role, Sense, Shape, Stroke, Ui, WidgetInfo, emath::lerp, vec2};

/// Steps of the animation per second (frames it asks for while visible).
const STEPS_PER_SECOND: f64 = 5.0;

/// Draws the spinner at the style's interaction height.
pub fn busy_spinner_ui(ui: &mut Ui) -> Response {
    let size = ui.style().spacing.interact_size.y;
    let (rect, response) = ui.allocate_exact_size(vec2(size, size), Sense::hover());
    response.widget_info(|| WidgetInfo::new(Role::ProgressIndicator));
    if ui.is_rect_visible(rect) {
        let now = ui.input(|input| input.time);
        let step = (now * STEPS_PER_SECOND).floor();
        let next_step_in = (step + 1.0) / STEPS_PER_SECOND - now;
        ui.ctx()
            .request_repaint_after(Duration::from_secs_f64(next_step_in.max(0.001)));
        let time = step / STEPS_PER_SECOND;
        let start_angle = time * TAU;
        let end_angle = start_angle + 240f64.to_radians() * time.sin();
        let radius = rect.height().min(rect.width()) * 0.5 - 2.0;
        let n_points = (radius.round() as u32).clamp(8, 128);
        let points: Vec<Pos2> = (0..n_points)
            .map(|i| {
                let angle = lerp(start_angle..=end_angle, f64::from(i) / f64::from(n_points));
                let (sin, cos) = angle.sin_cos();
                rect.center() + radius * vec2(cos as f32, sin as f32)
            })
            .collect();
        let colour = ui.visuals().strong_text_color();
        ui.painter()
            .add(Shape::line(points, Stroke::new(3.0, colour)));
    }
    response
}
