//! Splitting one forward pass over two threads.
//!
//! The explorer traces one prompt at a time: 64 rows through matrices of 128–512 columns in
//! the lesson model, some 40 products of 5–90 µs each. At that grain, handing work to a
//! sleeping thread costs more than it saves: waking a thread in this VM takes ~100 µs, which
//! is why matrixmultiply's own threading and rayon's `join` made a 64×128×512 product slower
//! (85 µs alone, 230 µs split through rayon). A [`Team`] instead keeps one helper thread
//! spinning for the length of one pass and hands it half of each large step (51 µs split);
//! every product itself runs on one thread ([`super::linalg::mat_mul`]).
//!
//! What is split: a product `x·w (+ bias)` into two bands of rows, or of columns for large
//! weights ([`affine`]), elementwise activations and LayerNorm rows into two halves,
//! attention into two groups of heads. Every band is an ordinary product with the same order
//! of sums along `k`, so results equal the unsplit ones to rounding (the GEMM finishes a
//! partial tile at a band's edge through a buffer, which can round the last bit differently).
//!
//! The caller never waits on a job nobody has started: when it finishes its own half first
//! and the helper has not yet taken the other, it takes that half back and runs it itself. So
//! a busy machine (the helper not scheduled) costs at most the time of the unsplit step.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

use super::linalg::mat_mul_into;
use super::scalar::Scalar;

/// Whether (and with whom) a forward pass splits its work.
#[derive(Clone, Copy)]
pub enum Split<'team> {
    /// Everything on the calling thread.
    None,
    /// Large steps split in two with the team's helper thread.
    Team(&'team Team),
}

impl std::fmt::Debug for Split<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Split::None => "Split::None",
            Split::Team(_) => "Split::Team",
        })
    }
}

/// Below this many multiply-adds a step is not split (a hand-over costs ~1 µs).
const MIN_SPLIT_MULTIPLY_ADDS: usize = 1 << 16;
/// Products split by columns only when `b` has at least this many elements (4 MB of f32).
const COLUMN_SPLIT_MIN_WEIGHTS: usize = 1 << 20;
/// A band has at least this many rows.
const MIN_BAND_ROWS: usize = 4;

impl Split<'_> {
    /// Whether work of `multiply_adds` over `rows` rows is worth splitting.
    pub fn worth_it(self, rows: usize, multiply_adds: usize) -> bool {
        matches!(self, Split::Team(_))
            && rows >= 2 * MIN_BAND_ROWS
            && multiply_adds >= MIN_SPLIT_MULTIPLY_ADDS
    }

    /// Runs `first` and `second`, on two threads when this is a team (see [`Team::join`]).
    pub fn join<A, B>(self, first: A, second: B)
    where
        A: FnOnce() + Send,
        B: FnOnce() + Send,
    {
        match self {
            Split::Team(team) => team.join(first, second),
            Split::None => {
                first();
                second();
            }
        }
    }
}

/// Runs `work` with a [`Team`] when two threads are wanted and would help, otherwise with
/// [`Split::None`]. They would not help on a single core, nor inside rayon's pool (the caller
/// is then already one of several parallel tasks, as when patching runs many passes).
///
/// The team is the process's shared one ([`shared_team`]): its helper thread is started once
/// and parks between passes, so a pass costs a wake-up (the caller does not wait for it: it
/// runs both halves itself until the helper shows up) instead of a thread start (~35 µs
/// here). When another thread is using the shared team, this pass gets a helper of its own
/// for its duration.
pub fn with_split<R>(threads_wanted: bool, work: impl FnOnce(Split<'_>) -> R) -> R {
    if !threads_wanted || cores() < 2 || rayon::current_thread_index().is_some() {
        return work(Split::None);
    }
    if let Some(shared) = shared_team()
        && let Some(_pass) = shared.begin_pass()
    {
        return work(Split::Team(shared.team));
    }
    let team = Team::new(true);
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(HELPER_NAME.into())
            .spawn_scoped(scope, || team.serve())
            .expect("a thread can be started");
        let out = catch_unwind(AssertUnwindSafe(|| work(Split::Team(&team))));
        team.state.store(EXIT, Ordering::Release);
        match out {
            Ok(out) => out,
            Err(panic) => resume_unwind(panic),
        }
    })
}

/// The process's shared team: one helper thread, started on first use, that serves one pass
/// at a time.
struct SharedTeam {
    team: &'static Team,
    /// The helper, to wake at the start of a pass.
    helper: std::thread::Thread,
    /// Whether a pass is using the team.
    in_use: AtomicBool,
}

/// A pass holding the shared team; ends it when dropped (also on a panic).
struct Pass<'a>(&'a SharedTeam);

impl SharedTeam {
    /// Takes the team for one pass and wakes its helper, or `None` when another pass has it.
    fn begin_pass(&self) -> Option<Pass<'_>> {
        self.in_use
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        self.team.in_pass.store(true, Ordering::Release);
        self.helper.unpark();
        Some(Pass(self))
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.0.team.in_pass.store(false, Ordering::Release);
        self.0.in_use.store(false, Ordering::Release);
    }
}

/// The shared team, or `None` if its thread could not be started.
fn shared_team() -> Option<&'static SharedTeam> {
    static SHARED: std::sync::OnceLock<Option<SharedTeam>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            // Lives as long as the process, like its thread.
            let team: &'static Team = Box::leak(Box::new(Team::new(false)));
            let helper = std::thread::Builder::new()
                .name(HELPER_NAME.into())
                .spawn(move || team.serve())
                .ok()?;
            Some(SharedTeam {
                team,
                helper: helper.thread().clone(),
                in_use: AtomicBool::new(false),
            })
        })
        .as_ref()
}

/// The cores this process may use, read once (`available_parallelism` reads the cgroup
/// files on every call, which costs tens of µs).
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

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
}

/// A `&mut Option<B>` closure slot on the posting thread's stack, and the function that
/// takes the closure out and calls it.
struct ErasedJob {
    slot: *mut (),
    call: unsafe fn(*mut ()),
}

// SAFETY: the pointer is only dereferenced by `Team::serve` while the posting thread is
// blocked in `Team::join` waiting for it (see there), and `B: Send` is required of the job.
#[allow(unsafe_code)]
unsafe impl Send for ErasedJob {}

/// Calls the `Option<B>` closure behind `slot` once.
///
/// # Safety
/// `slot` must point to a live `Option<B>` that no other thread touches during the call.
#[allow(unsafe_code)]
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
    /// lives for one pass only).
    fn new(always_in_pass: bool) -> Self {
        Team {
            state: AtomicU8::new(IDLE),
            in_pass: AtomicBool::new(always_in_pass),
            joining: AtomicBool::new(false),
            job: Mutex::new(None),
            panic: Mutex::new(None),
        }
    }

    /// The helper thread's loop: take posted jobs until told to exit. Out of a pass, it
    /// parks once it has been idle for [`LINGER`] (a pass wakes it).
    fn serve(&self) {
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
                #[allow(unsafe_code)]
                // SAFETY: the poster is blocked in `join` until it sees DONE, keeping the
                // slot alive, and it no longer touches the slot once the job is TAKEN.
                let result = catch_unwind(AssertUnwindSafe(|| unsafe { (job.call)(job.slot) }));
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

/// The helper thread's name.
const HELPER_NAME: &str = "forward-helper";

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

/// `x·w + bias` as a new array: x [m, k], w [k, n], bias [n] (`None`: no bias) → [m, n].
/// Split as [`split_product`] says; each thread adds the bias to its own band right after
/// its product, while the band is in cache, and nothing is zero-filled or pre-filled first.
pub(crate) fn affine<F: Scalar>(
    split: Split<'_>,
    x: &ArrayView2<'_, F>,
    w: &ArrayView2<'_, F>,
    bias: Option<ArrayView1<'_, F>>,
) -> Array2<F> {
    let mut out = Array2::<F>::uninit((x.nrows(), w.ncols()));
    affine_into(split, x, w, bias, out.view_mut());
    #[allow(unsafe_code)]
    // SAFETY: `affine_into` wrote every element of `out`.
    unsafe {
        out.assume_init()
    }
}

/// [`affine`] into `out` [m, n], which need not be initialised: every element is written.
pub(crate) fn affine_into<F: Scalar>(
    split: Split<'_>,
    x: &ArrayView2<'_, F>,
    w: &ArrayView2<'_, F>,
    bias: Option<ArrayView1<'_, F>>,
    out: ArrayViewMut2<'_, MaybeUninit<F>>,
) {
    // `split_product` gives `mat_mul_into` bands that tile the whole of `out` (all of it,
    // or its two halves by rows or by columns), and `mat_mul_into` writes every element of
    // its band.
    split_product(split, x, w, out, |x, w, columns, out| {
        let mut out = mat_mul_into(F::one(), &x, &w, out);
        if let Some(bias) = bias {
            let bias = bias.slice(ndarray::s![columns]);
            for mut row in out.rows_mut() {
                row += &bias;
            }
        }
    });
}

/// Runs the product of a [m, k] and b [k, n] into `out` [m, n] as `band(a_band, b_band,
/// b_band's columns, out_band)`: whole when `split` has no helper or the product is small;
/// otherwise in two bands, of rows of `a` and `out` when `a` is the larger operand or `b`
/// fits in cache, of columns of `b` and `out` when `b` is a large weight matrix (a prompt's
/// 64 rows against GPT-2's weights: each thread then reads half the weights instead of all
/// of them, which is what bounds such products).
fn split_product<F: Scalar, T: Send>(
    split: Split<'_>,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    mut out: ArrayViewMut2<'_, T>,
    band: impl Fn(ArrayView2<'_, F>, ArrayView2<'_, F>, Range<usize>, ArrayViewMut2<'_, T>) + Sync,
) {
    let (rows, depth) = a.dim();
    let columns = b.ncols();
    if !split.worth_it(rows.max(columns), rows * depth * columns) {
        band(a.view(), b.view(), 0..columns, out);
    } else if rows >= columns || depth * columns < COLUMN_SPLIT_MIN_WEIGHTS {
        // Weights that fit in a core's cache are cheap to read twice; then rows split better.
        let mid = rows / 2;
        let (a_top, a_bottom) = a.view().split_at(Axis(0), mid);
        let (out_top, out_bottom) = out.view_mut().split_at(Axis(0), mid);
        split.join(
            || band(a_top, b.view(), 0..columns, out_top),
            || band(a_bottom, b.view(), 0..columns, out_bottom),
        );
    } else {
        let mid = columns / 2;
        let (b_left, b_right) = b.view().split_at(Axis(1), mid);
        let (out_left, out_right) = out.view_mut().split_at(Axis(1), mid);
        split.join(
            || band(a.view(), b_left, 0..mid, out_left),
            || band(a.view(), b_right, mid..columns, out_right),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::linalg::mat_mul;
    use ndarray::Array2;

    #[test]
    fn affine_equals_the_plain_product_plus_bias_for_every_split() {
        // 9 rows against weights of 256 × 4100 (≥ COLUMN_SPLIT_MIN_WEIGHTS): split by columns;
        // 300 rows against 256 × 50: split by rows; 3 rows: not split.
        for (rows, depth, columns) in [(9, 256, 4100), (300, 256, 50), (3, 8, 5)] {
            let x = Array2::from_shape_fn((rows, depth), |(i, j)| {
                ((i * 7 + j * 3) % 17) as f32 * 0.1 - 0.8
            });
            let w = Array2::from_shape_fn((depth, columns), |(i, j)| {
                ((i * 5 + j * 11) % 13) as f32 * 0.05 - 0.3
            });
            let bias = ndarray::Array1::from_shape_fn(columns, |j| (j % 7) as f32 - 3.0);
            let mut plain = Array2::zeros((rows, columns));
            mat_mul(1.0, &x, &w, 0.0, &mut plain);
            plain += &bias;
            let got = with_split(true, |split| {
                affine(split, &x.view(), &w.view(), Some(bias.view()))
            });
            let scale = plain.fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = (&plain - &got).fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(
                diff <= 4.0 * f32::EPSILON * scale,
                "{rows}×{depth}×{columns}: {diff:e}"
            );
        }
    }

    #[test]
    fn a_team_runs_both_jobs_many_times_and_hands_back_panics() {
        with_split(true, |split| {
            for round in 0..2000usize {
                let (mut left, mut right) = (0usize, 0usize);
                split.join(|| left = round, || right = round * 2);
                assert_eq!((left, right), (round, round * 2));
            }
            let caught = catch_unwind(AssertUnwindSafe(|| {
                split.join(|| (), || panic!("the second job fails"))
            }));
            assert!(caught.is_err(), "the helper's panic reaches the caller");
            let (mut left, mut right) = (0, 0);
            split.join(|| left = 1, || right = 2);
            assert_eq!((left, right), (1, 2), "the team still works after a panic");
        });
    }

    #[test]
    fn a_join_nested_in_either_job_runs_inline_and_returns() {
        // A team of its own (not `with_split`, which runs unsplit on one core), so the
        // posting path is the one tested; on a deadlock the channel times out.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let team = Team::new(true);
            let sums = std::thread::scope(|scope| {
                scope.spawn(|| team.serve());
                let mut sums = Vec::new();
                for round in 0..200usize {
                    let (mut a, mut b, mut c, mut d) = (0, 0, 0, 0);
                    team.join(
                        || team.join(|| a = round, || b = round + 1),
                        || team.join(|| c = round + 2, || d = round + 3),
                    );
                    sums.push(a + b + c + d);
                }
                team.state.store(EXIT, Ordering::Release);
                sums
            });
            done.send(sums).ok();
        });
        let sums = finished
            .recv_timeout(Duration::from_secs(20))
            .expect("nested joins return instead of waiting on each other");
        let expected: Vec<usize> = (0..200).map(|round| 4 * round + 6).collect();
        assert_eq!(sums, expected);
    }

    #[test]
    fn the_split_forward_pass_equals_the_one_on_one_thread() {
        use crate::model::forward::forward_for_training;
        use crate::model::{InitOptions, ModelConfig, Params, forward};
        // The lesson shape at 64 tokens: every product, the activation and the heads split.
        let config = ModelConfig::lesson(65);
        let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let tokens: Vec<u32> = (0..64).map(|i| (i * 7 + 3) % 65).collect();
        let split = forward(&params, &tokens).unwrap();
        let single = forward_for_training(&params, &[&tokens]).unwrap();
        let close = |a: ndarray::ArrayViewD<'_, f32>, b: ndarray::ArrayViewD<'_, f32>, what| {
            let scale = a.fold(0.0f32, |m, x| m.max(x.abs())).max(1.0);
            let diff = (&a - &b).fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(diff <= 1e-5 * scale, "{what}: {diff:e}");
        };
        for (a, b) in split.layers.iter().zip(&single.layers) {
            close(
                a.pattern.view().into_dyn(),
                b.pattern.view().into_dyn(),
                "pattern",
            );
            close(a.z.view().into_dyn(), b.z.view().into_dyn(), "z");
            close(
                a.attn_out.view().into_dyn(),
                b.attn_out.view().into_dyn(),
                "attn",
            );
            close(
                a.resid_post.view().into_dyn(),
                b.resid_post.view().into_dyn(),
                "resid",
            );
        }
        close(
            split.logits.view().into_dyn(),
            single.logits.view().into_dyn(),
            "logits",
        );
    }
}
