//! Threads that compute in the background give way to the window's UI thread.
//!
//! The explorer's window has the UI thread (and, without a GPU, Mesa's rendering threads)
//! on the same cores as the threads that trace, fill the lens, train or compute circuits.
//! With as many busy workers as cores, the scheduler gave the UI thread its turn late: at
//! 64 tokens on the Qwen2.5-0.5B shape, frames whose own work took 2–3 ms took 17–26 ms
//! on the clock. [`give_way_to_the_ui`] (called by the window before it opens) makes every
//! thread that then calls [`enter`] (the workers, the product helpers, rayon's pool) run
//! at nice [`BACKGROUND_NICE`]: it still gets every cycle the UI leaves, but yields when the
//! UI wants one. The command line never calls it, so its threads keep the default priority.

use std::sync::atomic::{AtomicI32, Ordering};

use super::raw::lower_this_threads_priority;

/// The nice value of background threads in the window (0 is the default, 19 the lowest).
pub const BACKGROUND_NICE: i32 = 10;

/// The nice value [`enter`] applies; 0 until [`give_way_to_the_ui`].
static NICE: AtomicI32 = AtomicI32::new(0);

/// From now on, threads that call [`enter`] run at [`BACKGROUND_NICE`]; also builds rayon's
/// global pool so its threads do (if something built it already, they keep theirs).
pub fn give_way_to_the_ui() {
    NICE.store(BACKGROUND_NICE, Ordering::Relaxed);
    // An error means the pool exists already; its threads then keep their priority.
    let _ = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| enter())
        .build_global();
}

/// Lowers the calling thread's priority if [`give_way_to_the_ui`] was called: the first
/// thing a background thread does.
pub fn enter() {
    let nice = NICE.load(Ordering::Relaxed);
    if nice > 0 {
        lower_this_threads_priority(nice);
    }
}
