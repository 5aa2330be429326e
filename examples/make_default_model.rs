//! Writes the seeded random model of the `lesson` shape, with a character tokenizer built
//! from data/shakespeare.txt, stored as f16: the first models/default.safetensors and the
//! program's fallback (see models/README.md). The path is required, so the trained default
//! model is never overwritten by accident.
//!
//!     cargo run --release --example make_default_model OUT_PATH

use std::path::PathBuf;

use residual_explorer::model::io::embedded::seeded_lesson_model;
use residual_explorer::model::io::native::save_native_as;
use residual_explorer::model::io::tensors::StorageDtype;
use residual_explorer::model::tokenizer::CharTokenizer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(out) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: make_default_model OUT_PATH");
        std::process::exit(2);
    };
    let corpus = std::fs::read_to_string(root.join("data/shakespeare.txt"))?;
    let model = seeded_lesson_model(CharTokenizer::from_text(&corpus));
    save_native_as(&out, &model, StorageDtype::F16)?;
    println!(
        "wrote {} ({} parameters, {} characters, {} bytes)",
        out.display(),
        model.params.config.parameter_count(),
        model.tokenizer.vocab_size(),
        std::fs::metadata(&out)?.len()
    );
    Ok(())
}
