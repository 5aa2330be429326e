#!/usr/bin/env bash
# Exactly what CI runs (.ci/run calls this): formatting, lints, the README's test command,
# and the lesson checker.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test
if [ -d lessons ]; then
    cargo run --quiet -- lesson check lessons
fi
