//! Splitting one forward pass over two threads.
//!
//! The explorer traces one prompt at a time: a few dozen products of microseconds each. At
//! that grain, waking a sleeping thread per product costs more than it saves (matrixmultiply's
//! own threading and rayon's `join` both made such products slower), so a [`Team`] keeps one
//! helper thread spinning for the length of one pass and hands it half of each large step;
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
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};

use super::linalg::mat_mul_into;
pub use super::raw::team::Team;
use super::raw::uninit::Fresh;
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
/// runs both halves itself until the helper shows up) instead of a thread start. When
/// another thread is using the shared team, this pass gets a helper of its own
/// for its duration.
pub fn with_split<R>(threads_wanted: bool, work: impl FnOnce(Split<'_>) -> R) -> R {
    #[cfg(test)]
    if threads_wanted && forced::is_on() {
        let (out, helper_jobs) = with_own_team(true, work);
        forced::add(helper_jobs);
        return out;
    }
    if !threads_wanted || cores() < 2 || rayon::current_thread_index().is_some() {
        return work(Split::None);
    }
    if let Some(shared) = shared_team()
        && let Some(_pass) = shared.begin_pass()
    {
        return work(Split::Team(shared.team));
    }
    with_own_team(false, work).0
}

/// Runs `work` with a team whose helper lives for this call (every job handed to the helper
/// when `hand_over`); returns what `work` returned and how many jobs the helper ran.
fn with_own_team<R>(hand_over: bool, work: impl FnOnce(Split<'_>) -> R) -> (R, usize) {
    let team = Team::new(true, hand_over);
    let out = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name(HELPER_NAME.into())
            .spawn_scoped(scope, || team.serve())
            .expect("a thread can be started");
        let out = catch_unwind(AssertUnwindSafe(|| work(Split::Team(&team))));
        team.exit();
        match out {
            Ok(out) => out,
            Err(panic) => resume_unwind(panic),
        }
    });
    (out, team.helper_jobs())
}

/// Tests: every `with_split(true, …)` on this thread gets a team whose helper runs every
/// job, also on one core, and the jobs it ran are counted ([`with_two_threads`]).
#[cfg(test)]
mod forced {
    use std::cell::Cell;

    thread_local! {
        static JOBS: Cell<Option<usize>> = const { Cell::new(None) };
    }

    pub(super) fn is_on() -> bool {
        JOBS.get().is_some()
    }

    pub(super) fn add(jobs: usize) {
        JOBS.set(JOBS.get().map(|total| total + jobs));
    }

    /// Runs `work` with two threads forced; returns its result and the helper's job count.
    pub(crate) fn with_two_threads<R>(work: impl FnOnce() -> R) -> (R, usize) {
        let outer = JOBS.replace(Some(0));
        let out = work();
        let jobs = JOBS.replace(outer).unwrap_or(0);
        (out, jobs)
    }
}
#[cfg(test)]
pub(crate) use forced::with_two_threads;

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
        self.team.set_in_pass(true);
        self.helper.unpark();
        Some(Pass(self))
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.0.team.set_in_pass(false);
        self.0.in_use.store(false, Ordering::Release);
    }
}

/// The shared team, or `None` if its thread could not be started.
fn shared_team() -> Option<&'static SharedTeam> {
    static SHARED: std::sync::OnceLock<Option<SharedTeam>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            // Lives as long as the process, like its thread.
            let team: &'static Team = Box::leak(Box::new(Team::new(false, false)));
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

/// The helper thread's name.
const HELPER_NAME: &str = "forward-helper";

/// `x·w + bias` as a new array: x [m, k], w [k, n], bias [n] (`None`: no bias) → [m, n].
/// Split as [`split_product`] says; each thread adds the bias to its own band right after
/// its product, while the band is in cache, and nothing is zero-filled or pre-filled first.
pub(crate) fn affine<F: Scalar>(
    split: Split<'_>,
    x: &ArrayView2<'_, F>,
    w: &ArrayView2<'_, F>,
    bias: Option<ArrayView1<'_, F>>,
) -> Array2<F> {
    let mut out = Fresh::new((x.nrows(), w.ncols()));
    affine_into(split, x, w, bias, out.view_mut());
    out.finish()
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
        for (rows, depth, columns, splits) in [(9, 256, 4100, 1), (300, 256, 50, 1), (3, 8, 5, 0)] {
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
            let (got, helper_jobs) = with_two_threads(|| {
                with_split(true, |split| {
                    affine(split, &x.view(), &w.view(), Some(bias.view()))
                })
            });
            assert_eq!(
                helper_jobs, splits,
                "{rows}×{depth}×{columns}: bands on the helper"
            );
            let scale = plain.fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = (&plain - &got).fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(
                diff <= 4.0 * f32::EPSILON * scale,
                "{rows}×{depth}×{columns}: {diff:e}"
            );
        }
    }

    #[test]
    fn the_split_forward_pass_equals_the_one_on_one_thread() {
        use crate::model::forward::forward_for_training;
        use crate::model::{InitOptions, ModelConfig, Params, forward};
        // The lesson shape at 64 tokens: every product, the activation and the heads split.
        let config = ModelConfig::lesson(65);
        let params = Params::<f32>::init(&config, InitOptions::default()).unwrap();
        let tokens: Vec<u32> = (0..64).map(|i| (i * 7 + 3) % 65).collect();
        let (split, helper_jobs) = with_two_threads(|| forward(&params, &tokens).unwrap());
        // Per layer at least the two norms, the two attention phases and the MLP's two
        // products and its activation went to the helper.
        assert!(
            helper_jobs >= 7 * config.n_layers,
            "{helper_jobs} jobs ran on the helper"
        );
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
