//! `unsafe` lives in one folder, `src/model/raw/`: no other source file may contain an
//! `unsafe` block, function or impl, allow the `unsafe_code` lint, or make uninitialised
//! memory (whose only safe way in is `raw::uninit`, checked in debug builds).

use std::path::{Path, PathBuf};

/// What may appear only under `src/model/raw/` (code, not comments).
const CONFINED: [&str; 7] = [
    "unsafe ",
    "unsafe{",
    "allow(unsafe_code)",
    "::uninit(",
    "assume_init",
    "spare_capacity_mut",
    "set_len(",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn unsafe_code_appears_only_in_model_raw() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let raw = src.join("model").join("raw");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let mut found = Vec::new();
    let mut raw_uses = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file is UTF-8");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for pattern in CONFINED.iter().filter(|p| code.contains(*p)) {
                if file.starts_with(&raw) {
                    raw_uses += 1;
                } else {
                    found.push(format!("{}:{}: {pattern}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "unsafe outside src/model/raw/:\n{}",
        found.join("\n")
    );
    assert!(
        raw_uses > 0,
        "the scan finds the unsafe code that src/model/raw/ does hold"
    );
}
