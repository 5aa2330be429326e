//! Where models come from: the embedded default, the models shipped in `models/`, and
//! saving.

use std::path::{Path, PathBuf};

use crate::model::io::LoadedModel;

/// The model the explorer opens with: the one embedded in the binary.
pub fn default_model() -> LoadedModel {
    crate::model::io::embedded::default_model()
}

/// Writes `model` to `path` in the native format (atomically).
pub fn save_model(model: &LoadedModel, path: &Path) -> Result<(), String> {
    crate::model::io::native::save_native(path, model).map_err(|e| e.to_string())
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
