//! CPU time to build and tessellate one frame of each view with the embedded default model
//! and a 64-token prompt (the attention view's layers × heads grid is the busiest). Target:
//! ≤ 8 ms per frame. Run: `cargo bench --bench frame`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use residual_explorer::app::{AppOptions, ExplorerApp};
use residual_explorer::state::{Command, Settings, ViewKind};

/// 64 characters of the lesson vocabulary: 64 tokens for the character model.
const PROMPT: &str = "To be, or not to be, that is the question: Whether tis nobler in";

fn raw_input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        ..Default::default()
    }
}

/// One frame: run the UI, then tessellate its shapes into meshes.
fn frame(ctx: &egui::Context, app: &mut ExplorerApp) -> usize {
    let output = ctx.run_ui(raw_input(), |ui| app.draw_ui(ui));
    let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
    primitives.len()
}

fn bench_views(c: &mut Criterion) {
    let ctx = egui::Context::default();
    let settings = Settings {
        prompt: PROMPT.into(),
        ..Settings::default()
    };
    let mut app = ExplorerApp::with_context(
        &ctx,
        AppOptions {
            settings: Some(settings),
            ..AppOptions::default()
        },
    );
    assert!(app.state.wait_until_idle(Duration::from_secs(30)));
    assert_eq!(app.state.prompt.ids.len(), 64, "64 tokens");
    let mut group = c.benchmark_group("frame");
    for view in ViewKind::ALL {
        app.state.apply(Command::ShowView(view));
        app.state.apply(Command::SelectToken(40));
        assert!(app.state.wait_until_idle(Duration::from_secs(30)));
        for _ in 0..5 {
            frame(&ctx, &mut app); // fonts, layout caches, sizing passes
        }
        group.bench_function(view.slug(), |b| b.iter(|| frame(&ctx, &mut app)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(4));
    targets = bench_views
}
criterion_main!(benches);
