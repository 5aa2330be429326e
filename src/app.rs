//! The eframe application (a plain window until the explorer views land).

use crate::cli::{CliError, GuiArgs};

/// Opens the explorer window.
pub fn run_gui(args: GuiArgs) -> Result<(), CliError> {
    let _ = args;
    Err(CliError::input("the GUI is not built yet"))
}
