//! `residual-explorer train`: train a preset on a text corpus or a synthetic task.
//!
//! Contract: `train --preset NAME (--corpus FILE | --task NAME) --steps N --out FILE
//! [--seed S] [--lr LR] [--warmup STEPS] [--weight-decay WD] [--batch B] [--seq T] [--json]`.
//! A progress bar goes to stderr; the validation loss (nats per token on the held-out 10 %)
//! is evaluated every `--eval-every` steps and at the end; with `--json` each evaluation is
//! one JSON line on stdout with `step`, `train_loss` (mean batch loss since the previous
//! evaluation) and `val_loss`. Checkpoints are written atomically to `--out` every
//! `--checkpoint-every` steps and at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::CliError;
use crate::i18n::Language;
use crate::model::io::LoadedModel;
use crate::model::io::native::save_native_as;
use crate::model::io::tensors::StorageDtype;
use crate::model::{InitOptions, Params};
use crate::train::adamw::{AdamWConfig, LrSchedule};
use crate::train::data::{BatchSource, TextCorpus, TextLevel};
use crate::train::defaults;
use crate::train::presets::{PRESETS, preset_config};
use crate::train::tasks::task_source;
use crate::train::{TrainOptions, Trainer};

/// Learning-rate shape after warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Schedule {
    /// Cosine decay to a tenth of the peak at the last step (nanoGPT).
    Cosine,
    /// The peak until the end.
    Constant,
}

/// Token granularity of `--corpus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// One token per character.
    Char,
    /// One token per lower-cased word or punctuation mark.
    Word,
}

/// `train` options.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("data").required(true).args(["corpus", "task"]))]
pub struct TrainArgs {
    /// Model shape: lesson, induction, seed-block, deep, deep-no-residual, word.
    #[arg(long)]
    pub preset: String,
    /// A UTF-8 text file; its last 10 % is the validation split.
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// A built-in task: induction, copy, reverse, sentences.
    #[arg(long)]
    pub task: Option<String>,
    /// Number of updates.
    #[arg(long)]
    pub steps: usize,
    /// Where to save the model (native .safetensors), atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the initial weights and of the batch sampler.
    #[arg(long, default_value_t = defaults::SEED)]
    pub seed: u64,
    /// Peak learning rate.
    #[arg(long, default_value_t = defaults::LR)]
    pub lr: f64,
    /// Linear warm-up steps.
    #[arg(long, default_value_t = defaults::WARMUP)]
    pub warmup: usize,
    /// AdamW weight decay on matrices.
    #[arg(long, default_value_t = defaults::WEIGHT_DECAY)]
    pub weight_decay: f64,
    /// Sequences per batch.
    #[arg(long, default_value_t = defaults::BATCH)]
    pub batch: usize,
    /// Tokens per sequence.
    #[arg(long, default_value_t = defaults::SEQ)]
    pub seq: usize,
    /// One JSON line per evaluation on stdout.
    #[arg(long)]
    pub json: bool,
    /// Learning rate after warm-up.
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    pub schedule: Schedule,
    /// Tokens of `--corpus`.
    #[arg(long, value_enum, default_value_t = Level::Char)]
    pub level: Level,
    /// Evaluate every this many steps (0: only at the end).
    #[arg(long, default_value_t = defaults::EVAL_EVERY)]
    pub eval_every: usize,
    /// Save a checkpoint every this many steps (0: only at the end).
    #[arg(long, default_value_t = 1000)]
    pub checkpoint_every: usize,
    /// Clip the global gradient norm (0 disables clipping).
    #[arg(long, default_value_t = defaults::GRAD_CLIP)]
    pub grad_clip: f64,
    /// Store the weights as 16-bit floats (half the file size).
    #[arg(long)]
    pub f16: bool,
}

fn data_source(args: &TrainArgs) -> Result<Arc<dyn BatchSource>, CliError> {
    match (&args.corpus, &args.task) {
        (Some(path), _) => {
            let level = match args.level {
                Level::Char => TextLevel::Char,
                Level::Word => TextLevel::Word,
            };
            Ok(Arc::new(
                TextCorpus::from_file(path, level).map_err(CliError::input)?,
            ))
        }
        (None, Some(task)) => Ok(Arc::from(task_source(task).map_err(CliError::usage)?)),
        (None, None) => Err(CliError::usage("give --corpus FILE or --task NAME")),
    }
}

fn check_args(args: &TrainArgs) -> Result<(), CliError> {
    if args.steps == 0 || args.steps > 10_000_000 {
        return Err(CliError::usage("--steps must be in 1..=10000000"));
    }
    if !(args.weight_decay.is_finite() && args.weight_decay >= 0.0) {
        return Err(CliError::usage("--weight-decay must be a number ≥ 0"));
    }
    if !(args.grad_clip.is_finite() && args.grad_clip >= 0.0) {
        return Err(CliError::usage("--grad-clip must be a number ≥ 0"));
    }
    Ok(())
}

/// The run's settings from the command's arguments.
fn options(args: &TrainArgs) -> TrainOptions {
    TrainOptions {
        steps: args.steps,
        batch: args.batch,
        seq: args.seq,
        schedule: LrSchedule {
            lr: args.lr,
            warmup: args.warmup,
            cosine_until: (args.schedule == Schedule::Cosine).then_some(args.steps),
        },
        adamw: AdamWConfig {
            weight_decay: args.weight_decay,
            grad_clip: (args.grad_clip > 0.0).then_some(args.grad_clip),
            ..Default::default()
        },
        seed: args.seed,
        eval_every: args.eval_every,
    }
}

/// Runs the train command.
pub fn run(args: &TrainArgs) -> Result<(), CliError> {
    check_args(args)?;
    let data = data_source(args)?;
    let config = preset_config(&args.preset, data.d_vocab()).map_err(CliError::usage)?;
    let params = Params::<f32>::init(
        &config,
        InitOptions {
            seed: args.seed,
            ..Default::default()
        },
    )
    .map_err(CliError::usage)?;
    let options = options(args);
    let tokenizer = data.tokenizer();
    let description = data.describe();
    let mut trainer = Trainer::new(params, data, options).map_err(CliError::usage)?;
    let name = format!(
        "{} ({})",
        args.preset,
        args.task.clone().unwrap_or_else(|| args
            .corpus
            .as_ref()
            .and_then(|p| p.file_stem())
            .map_or("corpus".into(), |s| s.to_string_lossy().into_owned()))
    );
    let save = |params: &Params<f32>| -> Result<(), CliError> {
        let model = LoadedModel {
            params: params.clone(),
            tokenizer: tokenizer.clone(),
            name: name.clone(),
            source: None,
        };
        let dtype = if args.f16 {
            StorageDtype::F16
        } else {
            StorageDtype::F32
        };
        save_native_as(&args.out, &model, dtype).map_err(CliError::input)
    };

    let bar = ProgressBar::new(args.steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps, ETA {eta} {msg}",
        )
        .expect("valid template"),
    );
    if !args.json {
        bar.println(format!(
            "training {} ({} parameters) on {description}",
            args.preset,
            config.parameter_count()
        ));
    }
    let started = Instant::now();
    let mut losses = Vec::new();
    let mut window_start = Instant::now();
    let mut window_tokens = 0usize;
    while !trainer.finished() {
        let stats = trainer.step().map_err(|e| {
            bar.abandon();
            // Keep the last good weights.
            let _ = save(&trainer.params);
            CliError::input(format!(
                "{e} (the weights before step {} were saved to {})",
                trainer.step + 1,
                args.out.display()
            ))
        })?;
        losses.push(stats.loss);
        window_tokens += stats.tokens;
        bar.inc(1);
        if trainer.step % 10 == 0 {
            let tokens_per_s = window_tokens as f64 / window_start.elapsed().as_secs_f64();
            bar.set_message(format!(
                "loss {:.3}, {tokens_per_s:.0} tokens/s",
                stats.loss
            ));
            window_tokens = 0;
            window_start = Instant::now();
        }
        if trainer.should_evaluate() {
            let val_loss = trainer.validation_loss().map_err(CliError::input)?;
            let train_loss = losses.iter().sum::<f64>() / losses.len().max(1) as f64;
            losses.clear();
            let elapsed = started.elapsed().as_secs_f64();
            if args.json {
                let line = serde_json::json!({
                    "step": trainer.step,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "lr": stats.lr,
                    "elapsed_s": elapsed,
                });
                bar.suspend(|| println!("{line}"));
            } else {
                bar.println(format!(
                    "step {:>6}: train loss {train_loss:.4}, val loss {val_loss:.4} ({elapsed:.0} s)",
                    trainer.step
                ));
            }
        }
        let checkpoint = args.checkpoint_every > 0 && trainer.step % args.checkpoint_every == 0;
        if checkpoint && !trainer.finished() {
            save(&trainer.params)?;
        }
    }
    save(&trainer.params)?;
    bar.finish_and_clear();
    if !args.json {
        eprintln!(
            "saved {} after {} steps in {:.1} s",
            args.out.display(),
            trainer.step,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The preset list for `--help` texts and errors.
pub fn preset_list() -> String {
    PRESETS
        .iter()
        .map(|(name, about)| format!("{name}: {}", about.text(Language::En)))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        train: TrainArgs,
    }

    #[test]
    fn the_command_s_defaults_are_the_shared_ones() {
        let args = [
            "train", "--preset", "lesson", "--task", "copy", "--steps", "300",
        ];
        let parsed = Command::try_parse_from(args.iter().chain(&["--out", "m.safetensors"]))
            .expect("the arguments parse")
            .train;
        assert_eq!(options(&parsed), TrainOptions::new(300));
        assert_eq!(options(&parsed).batch, defaults::BATCH);
    }
}
