//! The crate's only `unsafe` code, each piece behind a safe API whose invariant is checked
//! where it is used and tested beside it. Everywhere else `unsafe_code` is denied (Cargo.toml),
//! and `tests/unsafe_confined.rs` fails if `unsafe`, or a way to make uninitialised memory,
//! appears outside this folder.
//!
//! - [`uninit`]: arrays written once without zero-filling first (checked in debug builds).
//! - [`gemm`]: the `gemm` crate's raw-pointer product, with shapes checked.
//! - [`team`]: a closure on the caller's stack handed to a helper thread.
//! - [`cpu`]: functions compiled for AVX2 / AVX-512, called once the CPU is known to have them.
//! - [`keep_freed_memory`]: glibc's `mallopt`.
//! - [`end_quietly_on_closed_pipe`]: the default `SIGPIPE` action for the command line.

#![allow(unsafe_code)]

pub(crate) mod cpu;
pub(crate) mod gemm;
pub(crate) mod team;
pub(crate) mod uninit;

/// Tells glibc's allocator to keep freed memory: no `mmap` for blocks under 32 MB and no
/// trimming of the heap. A training step allocates and frees the same activations every
/// time; returning them to the OS made the kernel fault in and zero fresh pages each step;
/// a trace in the explorer does the same at a smaller scale. Process-wide, once:
/// `train_step` and `cli::main` call it (through `train::step::keep_freed_memory`).
pub fn keep_freed_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `mallopt` only changes allocator parameters; glibc serialises it with its
        // own lock, so calling it while other threads allocate is allowed.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    });
}

/// Restores the default action of `SIGPIPE` (end the process), which Rust's runtime sets to
/// "ignore": otherwise `residual-explorer circuits … | head` panics in `println!` with
/// "failed printing to stdout: Broken pipe" once `head` has read enough, instead of ending
/// as any other command-line tool does. For the command line only (`cli::main`).
pub fn end_quietly_on_closed_pipe() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `signal` with `SIG_DFL` installs no handler of ours; it runs before any other
    // thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
