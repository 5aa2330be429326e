//! The GUI's default training run (the training view's Start with its default setup),
//! headless: the `induction` preset on the induction task, with the head scores of each
//! snapshot kept on a checkpoint timeline as the explorer keeps them. Prints the timeline and
//! the step where an induction head appears (best induction score above 0.5).
//!
//! Run: `cargo run --release --example induction_timeline [STEPS]` (default 5000; about 5
//! minutes on 2 cores).

use std::sync::Arc;
use std::time::Instant;

use residual_explorer::interp::head_scores::{HeadScores, ScoreKind};
use residual_explorer::model::Params;
use residual_explorer::model::hooks::NoIntervention;
use residual_explorer::state::training::TrainingSetup;
use residual_explorer::train::Trainer;
use residual_explorer::train::timeline::Timeline;

fn main() -> Result<(), String> {
    let mut setup = TrainingSetup::default();
    if let Some(steps) = std::env::args().nth(1) {
        setup.steps = steps
            .parse()
            .map_err(|_| format!("{steps:?} is not a step count"))?;
    }
    println!("{setup:?}");
    let data = setup.data_source()?;
    let config = setup.config(data.d_vocab())?;
    let init = setup.init_options();
    let params = Params::<f32>::init(&config, init).map_err(|e| e.to_string())?;
    let probe = setup.score_probe(&config)?;
    let mut trainer = Trainer::new(params, data, setup.options())?;
    let score = |params: &Params<f32>| {
        HeadScores::compute(params, &probe, &NoIntervention).map_err(|e| e.to_string())
    };
    let mut timeline = Timeline::with_memory_budget(64 << 20, &trainer.params);
    timeline.push(0, Arc::new(trainer.params.clone()), score(&trainer.params)?);
    let started = Instant::now();
    let mut losses = Vec::new();
    while !trainer.finished() {
        losses.push(trainer.step().map_err(|e| e.to_string())?.loss);
        if trainer.step.is_multiple_of(50) || trainer.finished() {
            let scores = score(&trainer.params)?;
            timeline.push(trainer.step, Arc::new(trainer.params.clone()), scores);
        }
    }
    println!(
        "{} steps in {:.0} s; timeline keeps {} snapshots (cap {})",
        trainer.step,
        started.elapsed().as_secs_f64(),
        timeline.len(),
        timeline.cap()
    );
    println!("step  mean loss since previous  best L0 previous-token  best induction (head)");
    let mut previous_step = 0;
    let mut first_above = None;
    for entry in timeline.entries() {
        let window = &losses[previous_step..entry.step.max(previous_step)];
        let mean = if window.is_empty() {
            f64::NAN
        } else {
            window.iter().sum::<f64>() / window.len() as f64
        };
        previous_step = entry.step;
        let previous = entry
            .data
            .previous_token
            .row(0)
            .iter()
            .copied()
            .fold(0.0, f32::max);
        let (layer, head, induction) = entry.data.best(ScoreKind::Induction).expect("heads");
        if induction > 0.5 && first_above.is_none() {
            first_above = Some(entry.step);
        }
        println!(
            "{:5}  {mean:8.3}  {previous:6.3}  {induction:6.3} (L{layer}H{head})",
            entry.step
        );
    }
    match first_above {
        Some(step) => {
            println!("an induction head (score > 0.5) first on the timeline at step {step}")
        }
        None => println!("no head reached an induction score of 0.5"),
    }
    println!(
        "validation loss at the end: {:.3}",
        trainer.validation_loss().map_err(|e| e.to_string())?
    );
    Ok(())
}
