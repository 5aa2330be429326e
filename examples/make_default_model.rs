//! Writes models/default.safetensors: the seeded random model of the `lesson` shape with a
//! character tokenizer built from data/shakespeare.txt, stored as f16 (see models/README.md).
//!
//!     cargo run --release --example make_default_model [OUT_PATH]

use std::path::PathBuf;

use residual_explorer::model::io::embedded::seeded_lesson_model;
use residual_explorer::model::io::native::save_native_as;
use residual_explorer::model::io::tensors::StorageDtype;
use residual_explorer::model::tokenizer::CharTokenizer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("models/default.safetensors"));
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
