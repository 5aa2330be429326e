//! Builds lesson 1's toy model from hand-set weights and saves it with the native saver:
//!
//! ```sh
//! cargo run --example build_seed_toy            # writes models/seed-residual-toy.safetensors
//! cargo run --example build_seed_toy -- OUT.safetensors
//! ```
//!
//! The weights are described in `src/lesson/toy.rs`; nothing is trained.

use std::path::PathBuf;
use std::process::ExitCode;

use residual_explorer::lesson::toy::{TOY_MODEL_PATH, seed_residual_toy};
use residual_explorer::model::io::native::save_native;

fn main() -> ExitCode {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(TOY_MODEL_PATH));
    match save_native(&out, &seed_residual_toy()) {
        Ok(()) => {
            println!("wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
