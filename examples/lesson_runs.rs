//! The training runs the lessons set up, headless, exactly as the training panel builds them
//! from the lesson's `training:` line (`TrainingSetup::from_lesson`, the same seed, data and
//! initial weights): prints what the lesson's text describes, to keep the text true.
//!
//! - `2`: lesson 2's residual on/off comparison; each run's loss at the end and each layer's
//!   attention gradient norm at the last step, as the comparison's gradient plot draws them,
//!   with the first layer's share of the last layer's.
//! - `8` (and `9`, the same run): lesson 8's run; how long it takes on this machine, and
//!   every 200 steps the loss and the best induction head with the circuit scores the
//!   Training view plots (its OV copying score and strongest K-composition from layer 0).
//!
//! Run: `cargo run --release --example lesson_runs -- 2` (a few minutes on 2 cores).

use std::time::Instant;

use residual_explorer::interp::head_scores::{HeadScores, ScoreKind};
use residual_explorer::lesson::embedded::embedded_lessons;
use residual_explorer::lesson::{Language, TrainingRun};
use residual_explorer::model::Params;
use residual_explorer::model::hooks::NoIntervention;
use residual_explorer::state::training::TrainingSetup;
use residual_explorer::train::Trainer;
use residual_explorer::train::compare::{Residual, ResidualComparison};

/// The first `training:` line of lesson `number`.
fn lesson_run(number: u32) -> Result<TrainingRun, String> {
    let (lessons, _) = embedded_lessons();
    let lesson = lessons
        .iter()
        .find(|l| l.number == number && l.language == Language::En)
        .ok_or(format!("no lesson {number}"))?;
    lesson
        .steps
        .iter()
        .find_map(|step| step.state.training.clone())
        .ok_or(format!("lesson {number} sets no training run"))
}

fn main() -> Result<(), String> {
    let number: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .ok_or("usage: lesson_runs 2|8|9")?;
    let setup = TrainingSetup::from_lesson(&lesson_run(number)?);
    println!("{setup:?}");
    let data = setup.data_source()?;
    let config = setup.config(data.d_vocab())?;
    let init = setup.init_options();
    let started = Instant::now();
    if setup.compare_residual {
        let mut comparison = ResidualComparison::new(&config, data, setup.options(), init)?;
        comparison.run_to_end()?;
        println!("both runs: {:.1} s", started.elapsed().as_secs_f64());
        for residual in Residual::BOTH {
            let points = comparison.points(residual);
            let last = points.last().ok_or("no steps")?;
            println!("{} (step {}):", residual.label(Language::En), last.step);
            println!("  loss {:.3}", last.loss);
            let attn: Vec<f64> = last.layer_grad_norms.iter().map(|n| n.attn).collect();
            for (layer, norm) in attn.iter().enumerate() {
                println!("  layer {layer:2}: attention gradient norm {norm:.3e}");
            }
            let (first, top) = (attn[0], attn[attn.len() - 1]);
            println!("  first / last layer: {:.3e}", first / top);
            let min = points
                .iter()
                .flat_map(|p| p.layer_grad_norms.iter().map(|n| n.attn))
                .filter(|&v| v > 0.0)
                .fold(f64::INFINITY, f64::min);
            println!("  smallest attention gradient norm in the run: {min:.3e}");
        }
        return Ok(());
    }
    let params = Params::<f32>::init(&config, init).map_err(|e| e.to_string())?;
    let probe = setup.score_probe(&config)?;
    let mut trainer = Trainer::new(params, data, setup.options())?;
    while !trainer.finished() {
        let stats = trainer.step().map_err(|e| e.to_string())?;
        if trainer.step.is_multiple_of(200) {
            let scores = HeadScores::compute(&trainer.params, &probe, &NoIntervention)
                .map_err(|e| e.to_string())?;
            let (layer, head, induction) = scores.best(ScoreKind::Induction).ok_or("no heads")?;
            println!(
                "step {:5}  loss {:.3}  at {:.1} s  best induction L{layer}H{head} {induction:.3}  \
                 copying {:.3}  K-composition {:.3}",
                trainer.step,
                stats.loss,
                started.elapsed().as_secs_f64(),
                scores.copying[[layer, head]],
                scores.k_composition[[layer, head]],
            );
        }
    }
    println!(
        "{} steps: {:.1} s",
        trainer.step,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
