//! `residual-explorer [gui] [--model PATH]`: opens the explorer window (the app's
//! [`AppOptions`] from the command line) and reports a window that cannot open as exit 1.

use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::app::{self, AppOptions};

/// `gui` options.
#[derive(Debug, Args, Default)]
pub struct GuiArgs {
    /// A model to open instead of the embedded default.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// Opens the explorer window; `RESIDUAL_EXPLORER_LOG_STARTUP` prints the time to the first
/// frame on stderr.
pub fn run(args: GuiArgs) -> Result<(), CliError> {
    let options = AppOptions {
        model: args.model,
        restore_settings: true,
        log_first_frame: std::env::var_os("RESIDUAL_EXPLORER_LOG_STARTUP").is_some(),
        ..Default::default()
    };
    app::run(options).map_err(|e| CliError::input(format!("could not open the window: {e}")))
}
