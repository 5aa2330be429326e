//! The command line (clap). This is a contract that scripts and checks call exactly:
//! `gui` (the default), `info`, `trace`, `train`, `bench`, `lesson check`, `screenshots`,
//! `circuits`, `sae`.
//!
//! Exit codes: 0 success, 1 a bad model or bad input, 2 bad usage (clap's own code).

pub mod bench;
pub mod circuits;
pub mod gui;
pub mod info;
pub mod lesson;
pub mod sae;
pub mod screenshots;
pub mod trace;
pub mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Look inside a transformer language model while it runs and while it learns.
#[derive(Debug, Parser)]
#[command(
    name = "residual-explorer",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; without a command the explorer window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a command: the `gui` options (`residual-explorer --model PATH`).
    #[command(flatten)]
    pub gui: gui::GuiArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the explorer window.
    Gui(gui::GuiArgs),
    /// Print a model's config, parameter counts and tokenizer.
    Info(ModelArg),
    /// Run a model on a prompt and print every activation (or a table).
    Trace(trace::TraceArgs),
    /// Train a preset on a text corpus or a built-in task.
    Train(train::TrainArgs),
    /// Measure throughput (`bench train`).
    Bench(bench::BenchArgs),
    /// Work with lessons: `lesson check [DIR]` validates every lesson file.
    Lesson(lesson::LessonArgs),
    /// Render every view of the explorer into PNG files (needs a display; Xvfb works).
    Screenshots(screenshots::ScreenshotsArgs),
    /// How the heads compose, from the weights: copying, previous-token and induction scores
    /// per head, and Q/K/V composition between heads.
    Circuits(circuits::CircuitsArgs),
    /// Sparse autoencoders on a hook of a model: `sae train`, `sae features`.
    Sae(sae::SaeArgs),
}

/// A single `--model PATH`.
#[derive(Debug, Args)]
pub struct ModelArg {
    /// A native .safetensors file, a Hugging Face GPT-2 folder (or its .safetensors with
    /// config.json beside it), or an llm.c .bin checkpoint.
    #[arg(long)]
    pub model: PathBuf,
}

/// An error for the user, with the exit code it calls for.
#[derive(Debug)]
pub struct CliError {
    /// 1 for bad models and inputs, 2 for bad usage.
    pub code: u8,
    /// What went wrong, in one or a few lines.
    pub message: String,
}

impl CliError {
    /// A bad model or bad input (exit 1).
    pub fn input(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }

    /// Bad usage (exit 2).
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    crate::train::step::keep_freed_memory();
    crate::model::raw::end_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        None => gui::run(cli.gui),
        Some(Command::Gui(args)) => gui::run(args),
        Some(Command::Info(args)) => info::run(&args),
        Some(Command::Trace(args)) => trace::run(&args),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Lesson(args)) => lesson::run(&args),
        Some(Command::Screenshots(args)) => screenshots::run(&args),
        Some(Command::Circuits(args)) => circuits::run(&args),
        Some(Command::Sae(args)) => sae::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", error.message);
            ExitCode::from(error.code)
        }
    }
}
