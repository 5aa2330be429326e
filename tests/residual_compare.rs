//! Lemma 2.2's experiment, short: the `deep` stack trained with and without residual
//! connections from the same weights on the same batches. Without them the first layer's
//! gradient is orders of magnitude smaller; the worker reports both runs and can be stopped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use residual_explorer::model::InitOptions;
use residual_explorer::train::compare::{
    CompareEvent, CompareWorker, Residual, ResidualComparison, mean_attn_grad,
};
use residual_explorer::train::data::{BatchSource, TextCorpus, TextLevel};
use residual_explorer::train::{LrSchedule, TrainOptions, preset_config};

fn comparison(steps: usize) -> ResidualComparison {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/shakespeare.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let text: String = text.chars().take(100_000).collect();
    let data: Arc<dyn BatchSource> =
        Arc::new(TextCorpus::from_text(&text, TextLevel::Char, "shakespeare").unwrap());
    let config = preset_config("deep", data.d_vocab()).unwrap();
    let mut options = TrainOptions::new(steps);
    options.batch = 4;
    options.seq = 32;
    options.schedule = LrSchedule {
        lr: 1e-3,
        warmup: 0,
        cosine_until: None,
    };
    ResidualComparison::new(&config, data, options, InitOptions::default()).unwrap()
}

#[test]
fn without_residuals_the_first_layer_gradient_vanishes() {
    let mut comparison = comparison(30);
    comparison.run_to_end().unwrap();
    let with = comparison.points(Residual::On);
    let without = comparison.points(Residual::Off);
    assert_eq!(with.len(), 30);
    assert_eq!(without.len(), 30);
    // Same weights, same batch: the first losses agree to the init's noise level.
    assert!((with[0].loss - without[0].loss).abs() < 0.5);
    for (name, points) in [("with", with), ("without", without)] {
        let first = mean_attn_grad(points, 0, 10).unwrap();
        let last = mean_attn_grad(points, 11, 10).unwrap();
        eprintln!(
            "{name}: layer 0 {first:.3e}, layer 11 {last:.3e}, loss {:.3}",
            points[29].loss
        );
    }
    let first_with = mean_attn_grad(with, 0, 10).unwrap();
    let first_without = mean_attn_grad(without, 0, 10).unwrap();
    assert!(first_with > 1e-3, "{first_with}");
    assert!(
        first_without < 1e-6 * first_with,
        "without {first_without:e} vs with {first_with:e}"
    );
}

/// Collects events until `Finished` or `Failed`.
fn until_end(worker: &CompareWorker) -> Vec<CompareEvent> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut events = Vec::new();
    while Instant::now() < deadline {
        if let Some(event) = worker.next_event(Duration::from_millis(50)) {
            let last = matches!(
                event,
                CompareEvent::Finished { .. } | CompareEvent::Failed { .. }
            );
            events.push(event);
            if last {
                return events;
            }
        }
    }
    panic!("the comparison did not end");
}

#[test]
fn the_worker_reports_both_runs_pauses_and_stops() {
    let worker = CompareWorker::start(comparison(1_000_000), Box::new(|| {}));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = [0usize; 2];
    while seen[0] < 3 {
        assert!(Instant::now() < deadline, "no progress");
        if let Some(CompareEvent::Progress {
            points,
            total_steps,
        }) = worker.next_event(Duration::from_millis(50))
        {
            assert_eq!(total_steps, 1_000_000);
            assert_eq!(points[0].len(), points[1].len(), "the runs step in turn");
            for (count, run) in seen.iter_mut().zip(&points) {
                for point in run {
                    *count += 1;
                    assert_eq!(point.step, *count);
                }
            }
        }
    }
    worker.set_paused(true);
    assert!(worker.is_paused());
    std::thread::sleep(Duration::from_millis(600)); // finish the step under way
    let before: usize = worker.poll().iter().map(progress_len).sum();
    std::thread::sleep(Duration::from_millis(500));
    let during: usize = worker.poll().iter().map(progress_len).sum();
    assert_eq!(during, 0, "stepped while paused (after {before} more)");
    worker.set_paused(false);
    worker.stop();
    let events = until_end(&worker);
    match events.last().unwrap() {
        CompareEvent::Finished { stopped, step } => {
            assert!(*stopped);
            assert!(*step >= 3);
        }
        other => panic!("ends with Finished, not {other:?}"),
    }
}

fn progress_len(event: &CompareEvent) -> usize {
    match event {
        CompareEvent::Progress { points, .. } => points[0].len(),
        _ => 0,
    }
}
