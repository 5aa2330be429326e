//! `residual-explorer lesson check [DIR]`: validates every lesson in a folder (default
//! `lessons`) and prints each problem as `file:line: message`; exit 1 when there is any.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CliError;
use crate::lesson::check_dir;

/// `lesson` options.
#[derive(Debug, Args)]
pub struct LessonArgs {
    /// What to do with lessons.
    #[command(subcommand)]
    pub action: LessonAction,
}

/// The `lesson` subcommands.
#[derive(Debug, Subcommand)]
pub enum LessonAction {
    /// Check every lesson file: front matter, models, steps, both languages.
    Check {
        /// The lessons folder; models are looked up in its parent's `models/`.
        #[arg(default_value = "lessons")]
        dir: PathBuf,
    },
}

/// Runs the lesson command.
pub fn run(args: &LessonArgs) -> Result<(), CliError> {
    match &args.action {
        LessonAction::Check { dir } => check(dir),
    }
}

fn check(dir: &std::path::Path) -> Result<(), CliError> {
    if !dir.is_dir() {
        return Err(CliError::input(format!(
            "{}: no such lessons folder",
            dir.display()
        )));
    }
    let report = check_dir(dir);
    for problem in &report.problems {
        println!("{problem}");
    }
    let steps: usize = report.lessons.iter().map(|l| l.steps.len()).sum();
    if report.problems.is_empty() {
        println!(
            "{} lesson files, {steps} steps: no problems",
            report.lessons.len()
        );
        Ok(())
    } else {
        Err(CliError::input(format!(
            "{} problem{} in the lessons of {}",
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" },
            dir.display()
        )))
    }
}
