//! Native file dialogs (rfd), told apart from "no dialog could open".
//!
//! rfd talks to the XDG desktop portal, or to zenity when there is no portal. On a desktop
//! with neither, every dialog returns "nothing chosen" at once, exactly as a cancel does, and
//! File → Open would silently do nothing. A person cannot open and cancel a dialog within a
//! fraction of a second, so a dialog that comes back empty that fast is reported as missing.

use std::time::{Duration, Instant};

use crate::i18n::{Message, Notice};

/// A dialog that returns empty-handed sooner than this did not open.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(250);

/// Runs `show` (an rfd dialog; it blocks, so call this off the UI thread): `Ok(Some(choice))`,
/// `Ok(None)` when the user cancelled, `Err(message)` when no dialog could open.
pub fn run_dialog<T>(show: impl FnOnce() -> Option<T>) -> Result<Option<T>, Message> {
    let started = Instant::now();
    let chosen = show();
    judge(chosen, started.elapsed())
}

/// The verdict on a dialog that returned `chosen` after `open_for`.
fn judge<T>(chosen: Option<T>, open_for: Duration) -> Result<Option<T>, Message> {
    match chosen {
        None if open_for < NO_DIALOG_WITHIN => Err(Notice::NoFileDialog.message()),
        chosen => Ok(chosen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_empty_answer_means_no_dialog_and_a_slow_one_a_cancel() {
        let instant = judge::<u8>(None, Duration::from_millis(3));
        assert_eq!(instant, Err(Notice::NoFileDialog.message()));
        assert_eq!(judge::<u8>(None, Duration::from_secs(2)), Ok(None));
        assert_eq!(judge(Some(7u8), Duration::from_millis(3)), Ok(Some(7)));
    }
}
