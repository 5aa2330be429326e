//! The training worker thread: it trains and the loss falls, pause holds it, stop ends it, a
//! diverging run (absurd learning rate) is stopped and reported with finite weights, and the
//! wake closure is called.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use residual_explorer::model::{InitOptions, Params};
use residual_explorer::train::BatchSource;
use residual_explorer::train::tasks::task_source;
use residual_explorer::train::worker::{PROGRESS_INTERVAL, StepPoint};
use residual_explorer::train::{
    LrSchedule, TrainEvent, TrainOptions, TrainWorker, Trainer, preset_config,
};

fn small_trainer(steps: usize, lr: f64, grad_clip: Option<f64>) -> Trainer {
    let data: Arc<dyn BatchSource> = Arc::from(task_source("sentences").unwrap());
    let config = preset_config("word", data.d_vocab()).unwrap();
    let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
    let mut options = TrainOptions::new(steps);
    options.batch = 4;
    options.seq = 16;
    options.eval_every = 10;
    options.schedule = LrSchedule {
        lr,
        warmup: 0,
        cosine_until: None,
    };
    options.adamw.grad_clip = grad_clip;
    Trainer::new(params, data, options).unwrap()
}

/// Collects events until `Finished`, `Diverged` or `Failed` (or the timeout).
fn until_end(worker: &TrainWorker, timeout: Duration) -> Vec<TrainEvent> {
    let deadline = Instant::now() + timeout;
    let mut events = Vec::new();
    while Instant::now() < deadline {
        if let Some(event) = worker.next_event(Duration::from_millis(50)) {
            let last = matches!(
                event,
                TrainEvent::Finished { .. }
                    | TrainEvent::Diverged { .. }
                    | TrainEvent::Failed { .. }
            );
            events.push(event);
            if last {
                return events;
            }
        }
    }
    panic!("the worker did not end within {timeout:?}");
}

fn points(events: &[TrainEvent]) -> Vec<StepPoint> {
    events
        .iter()
        .flat_map(|e| match e {
            TrainEvent::Progress { points, .. } => points.clone(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn trains_twenty_steps_and_the_loss_falls() {
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    let started = Instant::now();
    let worker = TrainWorker::start(
        small_trainer(20, 3e-3, Some(1.0)),
        Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let events = until_end(&worker, Duration::from_secs(120));
    let elapsed = started.elapsed();
    let steps = points(&events);
    assert_eq!(
        steps.iter().map(|p| p.step).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    let first: f64 = steps[..3].iter().map(|p| p.train_loss).sum::<f64>() / 3.0;
    let last: f64 = steps[17..].iter().map(|p| p.train_loss).sum::<f64>() / 3.0;
    assert!(last < first - 0.3, "loss fell from {first} to {last}");
    assert!(steps.iter().all(|p| p.layer_grad_norms.len() == 2));
    assert!(steps.iter().all(|p| p.layer_grad_norms[0].attn > 0.0));
    let TrainEvent::Finished { step, stopped, .. } = events.last().unwrap() else {
        panic!("ends with Finished");
    };
    assert_eq!((*step, *stopped), (20, false));
    // Validation after steps 10 and 20, reported inside progress events.
    let evaluations: Vec<usize> = events
        .iter()
        .flat_map(|e| match e {
            TrainEvent::Progress { evaluations, .. } => {
                evaluations.iter().map(|v| v.step).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(evaluations, vec![10, 20]);
    // Progress is batched: at most one per interval, plus the final flush.
    let progress = events
        .iter()
        .filter(|e| matches!(e, TrainEvent::Progress { .. }))
        .count();
    let allowed = (elapsed.as_secs_f64() / PROGRESS_INTERVAL.as_secs_f64()).ceil() as usize + 1;
    assert!(
        progress <= allowed,
        "{progress} progress events in {elapsed:?}"
    );
    // The wake call follows each send, so count after the thread has ended.
    drop(worker);
    assert_eq!(
        wakes.load(Ordering::SeqCst),
        events.len(),
        "one wake per event"
    );
}

#[test]
fn pause_holds_the_run_and_stop_ends_it() {
    let worker = TrainWorker::start(small_trainer(1_000_000, 1e-3, Some(1.0)), Box::new(|| {}));
    // Wait for some progress.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no progress");
        if let Some(TrainEvent::Progress { .. }) = worker.next_event(Duration::from_millis(50)) {
            break;
        }
    }
    worker.pause();
    let paused_at = loop {
        assert!(Instant::now() < deadline, "no Paused event");
        if let Some(TrainEvent::Paused { step }) = worker.next_event(Duration::from_millis(50)) {
            break step;
        }
    };
    std::thread::sleep(Duration::from_millis(400));
    for event in worker.poll() {
        if let TrainEvent::Progress { points, .. } = event {
            assert!(
                points.iter().all(|p| p.step <= paused_at),
                "stepped while paused"
            );
        }
    }
    worker.set_learning_rate(5e-4);
    worker.resume();
    let mut saw_lr = false;
    let resumed_step = loop {
        assert!(Instant::now() < deadline, "no progress after resume");
        match worker.next_event(Duration::from_millis(50)) {
            Some(TrainEvent::LearningRateChanged { lr }) => saw_lr = lr == 5e-4,
            Some(TrainEvent::Progress { points, .. }) if !points.is_empty() => {
                break points.last().unwrap().step;
            }
            _ => {}
        }
    };
    assert!(saw_lr, "the learning-rate change is acknowledged");
    assert!(resumed_step > paused_at);
    worker.stop();
    let events = until_end(&worker, Duration::from_secs(60));
    match events.last().unwrap() {
        TrainEvent::Finished { stopped, step, .. } => {
            assert!(*stopped);
            assert!(*step < 1_000_000);
        }
        other => panic!("expected Finished, got {other:?}"),
    }
    assert!(worker.is_finished() || worker.next_event(Duration::from_secs(5)).is_none());
}

#[test]
fn an_absurd_learning_rate_diverges_and_keeps_finite_weights() {
    let worker = TrainWorker::start(small_trainer(200, 1e30, None), Box::new(|| {}));
    let events = until_end(&worker, Duration::from_secs(60));
    let TrainEvent::Diverged {
        step,
        message,
        params,
    } = events.last().unwrap()
    else {
        panic!("expected Diverged, got {:?}", events.last());
    };
    assert!(*step < 200, "stopped early, at step {step}");
    assert!(message.contains("learning rate"), "{message}");
    let mut finite = true;
    params.for_each_tensor(|_, t| finite &= t.iter().all(|x| x.is_finite()));
    assert!(finite, "the kept weights are the last good ones");
}
