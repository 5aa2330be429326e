//! [`Team`]: one helper thread that runs the second half of a split step, handed to it as a
//! pointer to a closure on the caller's stack (see `model::parallel` for why and when).
//!
//! The invariant that makes the pointer safe: [`Team::join`] does not return, and so the
//! closure stays alive and untouched, until the helper has either not taken the job (the
//! caller took it back and ran it itself) or reported it done. The tests below run thousands
//! of joins, panics in either half, and joins nested in a job.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Job states of a [`Team`].
const IDLE: u8 = 0;
const POSTED: u8 = 1;
const TAKEN: u8 = 2;
const DONE: u8 = 3;
const EXIT: u8 = 4;

/// A helper thread that spins waiting for one job at a time (see the module header).
pub struct Team {
    state: AtomicU8,
    /// Whether a pass is running: between passes the helper parks after [`LINGER`].
    in_pass: AtomicBool,
    /// Whether a [`Team::join`] is under way: a join called meanwhile (from inside one of its
    /// jobs, or from another thread) runs both jobs inline instead of posting over it.
    joining: AtomicBool,
    /// The posted job, as a type-erased pointer to a closure on the poster's stack.
    job: Mutex<Option<ErasedJob>>,
    /// A panic of the helper's job, handed back to the poster.
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    /// Jobs the helper thread has run (a test reads it to know the split really happened).
    helper_jobs: AtomicUsize,
    /// The poster waits for the helper to take every job instead of taking it back when it
    /// finishes first (tests: so that two threads run even on one core).
    hand_over: bool,
}

/// A `&mut Option<B>` closure slot on the posting thread's stack, and the function that
/// takes the closure out and calls it.
struct ErasedJob {
    slot: *mut (),
    call: unsafe fn(*mut ()),
}

// SAFETY: the pointer is only dereferenced by `Team::serve` while the posting thread is
// blocked in `Team::join` waiting for it (see there), and `B: Send` is required of the job.
unsafe impl Send for ErasedJob {}

/// Calls the `Option<B>` closure behind `slot` once.
///
/// # Safety
/// `slot` must point to a live `Option<B>` that no other thread touches during the call.
unsafe fn call_erased<B: FnOnce()>(slot: *mut ()) {
    // SAFETY: guaranteed by the caller (`Team::join` keeps the slot alive and untouched).
    let job = unsafe { &mut *slot.cast::<Option<B>>() };
    if let Some(job) = job.take() {
        job();
    }
}

/// How long an idle helper keeps spinning after a pass, so that the next pass (the lens
/// right after the forward pass, a slider's next position) finds it awake.
const LINGER: Duration = Duration::from_millis(2);

/// Spins this many times before yielding the core while waiting.
const SPINS_BEFORE_YIELD: u32 = 1 << 12;

fn wait_while(mut busy: impl FnMut() -> bool) {
    let mut spins = 0u32;
    while busy() {
        if spins < SPINS_BEFORE_YIELD {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

impl Team {
    /// A team whose helper parks between passes unless `always_in_pass` (a helper that
    /// lives for one pass only). With `hand_over`, every job is run by the helper.
    pub(crate) fn new(always_in_pass: bool, hand_over: bool) -> Self {
        Team {
            helper_jobs: AtomicUsize::new(0),
            hand_over,
            state: AtomicU8::new(IDLE),
            in_pass: AtomicBool::new(always_in_pass),
            joining: AtomicBool::new(false),
            job: Mutex::new(None),
            panic: Mutex::new(None),
        }
    }

    /// The helper thread's loop: take posted jobs until told to exit. Out of a pass, it
    /// parks once it has been idle for [`LINGER`] (a pass wakes it).
    pub(crate) fn serve(&self) {
        loop {
            let mut idle_since: Option<Instant> = None;
            let mut checks = 0u32;
            wait_while(|| {
                let state = self.state.load(Ordering::Acquire);
                if state == POSTED || state == EXIT {
                    return false;
                }
                checks = checks.wrapping_add(1);
                if self.in_pass.load(Ordering::Acquire) {
                    idle_since = None;
                } else if checks.is_multiple_of(1024) // the clock costs more than a check
                    && idle_since.get_or_insert_with(Instant::now).elapsed() > LINGER
                {
                    std::thread::park();
                    idle_since = None;
                }
                true
            });
            if self.state.load(Ordering::Acquire) == EXIT {
                return;
            }
            if self
                .state
                .compare_exchange(POSTED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue; // the poster took its job back
            }
            let job = self.job.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(job) = job {
                // SAFETY: the poster is blocked in `join` until it sees DONE, keeping the
                // slot alive, and it no longer touches the slot once the job is TAKEN.
                let result = catch_unwind(AssertUnwindSafe(|| unsafe { (job.call)(job.slot) }));
                self.helper_jobs.fetch_add(1, Ordering::Relaxed);
                if let Err(panic) = result {
                    *self.panic.lock().unwrap_or_else(|e| e.into_inner()) = Some(panic);
                }
            }
            self.state.store(DONE, Ordering::Release);
        }
    }

    /// Runs `first` here and `second` on the helper thread (or here too, if the helper has
    /// not taken it by the time `first` is done); returns when both have finished. A panic in
    /// either is resumed here after both are finished.
    ///
    /// The team has one job slot, so a join called while another is under way (nested inside
    /// `first` or `second`, or from a second thread) runs both its jobs inline, one after the
    /// other, on the thread that called it.
    pub fn join<A, B>(&self, first: A, second: B)
    where
        A: FnOnce() + Send,
        B: FnOnce() + Send,
    {
        let Some(_joining) = JoinGuard::take(&self.joining) else {
            first();
            second();
            return;
        };
        let mut slot = Some(second);
        *self.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(ErasedJob {
            slot: (&raw mut slot).cast(),
            call: call_erased::<B>,
        });
        self.state.store(POSTED, Ordering::Release);
        let first_result = catch_unwind(AssertUnwindSafe(first));
        if self.hand_over {
            wait_while(|| self.state.load(Ordering::Acquire) == POSTED);
        }
        let taken_back = self
            .state
            .compare_exchange(POSTED, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if taken_back {
            self.job.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(second) = slot.take() {
                second();
            }
        } else {
            // The helper has the job: `slot` must stay alive until it reports DONE.
            wait_while(|| self.state.load(Ordering::Acquire) != DONE);
            self.state.store(IDLE, Ordering::Release);
            if let Some(panic) = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take() {
                resume_unwind(panic);
            }
        }
        if let Err(panic) = first_result {
            resume_unwind(panic);
        }
    }
}

/// Holds a team's `joining` flag for one join; clears it when dropped (also on a panic).
struct JoinGuard<'a>(&'a AtomicBool);

impl<'a> JoinGuard<'a> {
    /// Sets `flag`, or `None` when a join already holds it.
    fn take(flag: &'a AtomicBool) -> Option<Self> {
        flag.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Self(flag))
    }
}

impl Drop for JoinGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Team {
    /// Tells the helper to return from [`Team::serve`].
    pub(crate) fn exit(&self) {
        self.state.store(EXIT, Ordering::Release);
    }

    /// Marks the start or end of a pass (between passes the helper parks).
    pub(crate) fn set_in_pass(&self, in_pass: bool) {
        self.in_pass.store(in_pass, Ordering::Release);
    }

    /// How many jobs the helper thread has run.
    pub(crate) fn helper_jobs(&self) -> usize {
        self.helper_jobs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `work` with a team whose helper runs every job, then returns the helper's count.
    fn with_team(work: impl FnOnce(&Team)) -> usize {
        let team = Team::new(true, true);
        std::thread::scope(|scope| {
            scope.spawn(|| team.serve());
            let out = catch_unwind(AssertUnwindSafe(|| work(&team)));
            team.exit();
            if let Err(panic) = out {
                resume_unwind(panic);
            }
        });
        team.helper_jobs()
    }

    /// Thousands of joins, a panic in the helper's half, and a join after it.
    fn many_joins(team: &Team) {
        for round in 0..2000usize {
            let (mut left, mut right) = (0usize, 0usize);
            team.join(|| left = round, || right = round * 2);
            assert_eq!((left, right), (round, round * 2));
        }
        let caught = catch_unwind(AssertUnwindSafe(|| {
            team.join(|| (), || panic!("the second job fails"))
        }));
        assert!(caught.is_err(), "the helper's panic reaches the caller");
        let (mut left, mut right) = (0, 0);
        team.join(|| left = 1, || right = 2);
        assert_eq!((left, right), (1, 2), "the team still works after a panic");
    }

    #[test]
    fn a_team_runs_both_jobs_many_times_and_hands_back_panics() {
        // The helper runs every second half (2002 of them), even on one core.
        assert_eq!(with_team(many_joins), 2002);
        // And when the caller may take a job back (what a pass does), the same results.
        let team = Team::new(true, false);
        std::thread::scope(|scope| {
            scope.spawn(|| team.serve());
            many_joins(&team);
            team.exit();
        });
    }

    #[test]
    fn a_join_nested_in_either_job_runs_inline_and_returns() {
        // On a deadlock the channel times out.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sums = Vec::new();
            let helper_jobs = with_team(|team| {
                for round in 0..200usize {
                    let (mut a, mut b, mut c, mut d) = (0, 0, 0, 0);
                    team.join(
                        || team.join(|| a = round, || b = round + 1),
                        || team.join(|| c = round + 2, || d = round + 3),
                    );
                    sums.push(a + b + c + d);
                }
            });
            done.send((sums, helper_jobs)).ok();
        });
        let (sums, helper_jobs) = finished
            .recv_timeout(Duration::from_secs(20))
            .expect("nested joins return instead of waiting on each other");
        let expected: Vec<usize> = (0..200).map(|round| 4 * round + 6).collect();
        assert_eq!(sums, expected);
        assert_eq!(
            helper_jobs, 200,
            "the outer second halves ran on the helper"
        );
    }
}
