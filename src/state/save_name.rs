//! Where the "Save model" dialog starts: a portable file name (ASCII letters, digits and
//! `-` only, so it is valid on FAT-formatted USB sticks and in every shell) with the training
//! step when a checkpoint is shown, in the folder of the last model opened, or the home
//! folder (never the process's current folder, which for a desktop launch is arbitrary).

use std::path::{Path, PathBuf};

/// `name` as a portable file stem: lowercase ASCII letters and digits, every other run of
/// characters one `-`, none at either end; `model` when nothing is left.
pub fn portable_stem(name: &str) -> String {
    let mut stem = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        "model".into()
    } else {
        stem.into()
    }
}

/// The suggested file name: `{stem}-step-{step}.safetensors` for a training checkpoint,
/// `{stem}.safetensors` otherwise.
pub fn save_file_name(model_name: &str, step: Option<usize>) -> String {
    let stem = portable_stem(model_name);
    match step {
        Some(step) => format!("{stem}-step-{step}.safetensors"),
        None => format!("{stem}.safetensors"),
    }
}

/// The folder the dialog opens in: the last opened model's folder when it still exists,
/// else the home folder (`None`: let the dialog choose).
pub fn save_folder(last_model: Option<&Path>) -> Option<PathBuf> {
    // A file's folder, or for a Hugging Face folder the folder holding it (not inside it).
    last_model
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .filter(|folder| folder.is_dir())
        .or_else(std::env::home_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_portable_and_carry_the_step() {
        assert_eq!(
            save_file_name("induction on task: induction", Some(1200)),
            "induction-on-task-induction-step-1200.safetensors"
        );
        assert_eq!(save_file_name("gpt2-tiny", None), "gpt2-tiny.safetensors");
        assert_eq!(save_file_name(" : ", Some(0)), "model-step-0.safetensors");
        assert_eq!(save_file_name("Ünï côdé/x", None), "n-c-d-x.safetensors");
        for name in ["induction on task: induction", "a\\b?c*d", "  x  "] {
            let file = save_file_name(name, Some(3));
            assert!(
                file.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{file}"
            );
        }
    }

    #[test]
    fn the_folder_is_the_last_models_or_home_never_relative() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.safetensors");
        std::fs::write(&model, b"").unwrap();
        assert_eq!(save_folder(Some(&model)), Some(dir.path().to_path_buf()));
        let gone = dir.path().join("gone/m.safetensors");
        assert_eq!(save_folder(Some(&gone)), std::env::home_dir());
        assert_eq!(save_folder(None), std::env::home_dir());
    }
}
