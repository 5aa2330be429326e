//! Where models come from: the embedded default and the models shipped in `models/`.

use std::path::{Path, PathBuf};

use crate::model::io::LoadedModel;
use crate::model::tokenizer::{CharTokenizer, Tokenizer};
use crate::model::{InitOptions, ModelConfig, Params};

/// The characters of the fallback model's vocabulary: printable ASCII and a newline.
const FALLBACK_CHARS: &str = "\n !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// An untrained model of the lesson shape over printable ASCII, used while no trained
/// default is embedded in the binary.
pub fn fallback_default_model() -> LoadedModel {
    let tokenizer = Tokenizer::Char(CharTokenizer::from_text(FALLBACK_CHARS));
    let config = ModelConfig::lesson(tokenizer.vocab_size());
    let params = Params::init(&config, InitOptions::default()).expect("the lesson config is valid");
    LoadedModel {
        params,
        tokenizer,
        name: "untrained lesson model".into(),
        source: None,
    }
}

/// The model the explorer opens with.
pub fn default_model() -> LoadedModel {
    fallback_default_model()
}

/// Writes `model` to `path` in the native format.
pub fn save_model(model: &LoadedModel, path: &Path) -> Result<(), String> {
    let _ = (model, path);
    Err("saving needs the native format writer, which is not in this build yet".into())
}

/// Folders searched for shipped models: `models/` in the working directory, beside the
/// executable, and in the source checkout the binary was built from.
pub fn model_folders() -> Vec<PathBuf> {
    let mut folders = vec![PathBuf::from("models")];
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        folders.push(exe_dir.join("models"));
    }
    folders.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    let mut unique: Vec<PathBuf> = Vec::new();
    for folder in folders {
        let canonical = folder.canonicalize().unwrap_or(folder);
        if !unique.contains(&canonical) {
            unique.push(canonical);
        }
    }
    unique
}

/// Model files (`.safetensors`, `.bin`) and Hugging Face folders (with `config.json`) in
/// `folder`, sorted by name.
pub fn list_models(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            if path.is_dir() {
                path.join("config.json").is_file()
            } else {
                matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("safetensors" | "bin")
                ) && !path.with_file_name("config.json").is_file()
            }
        })
        .collect();
    found.sort();
    found
}

/// Every shipped model, from every folder of [`model_folders`].
pub fn shipped_models() -> Vec<PathBuf> {
    model_folders()
        .iter()
        .flat_map(|folder| list_models(folder))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_runs_on_its_own_text() {
        let model = fallback_default_model();
        let encoding = model.tokenizer.encode("To be, or not to be\n");
        assert!(encoding.unknown.is_empty());
        assert_eq!(model.params.config.d_vocab, model.tokenizer.vocab_size());
    }

    #[test]
    fn listing_finds_files_and_hf_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.safetensors"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let hf = dir.path().join("gpt2");
        std::fs::create_dir(&hf).unwrap();
        std::fs::write(hf.join("config.json"), b"{}").unwrap();
        let found = list_models(dir.path());
        assert_eq!(found, vec![dir.path().join("a.safetensors"), hf]);
    }
}
