#!/usr/bin/env bash
# Renders the README's screenshots with the program itself (`residual-explorer screenshots`),
# under a virtual X server when no display is set. Needs: xvfb (and Mesa's software GL:
# libgl1-mesa-dri libegl1 libgl1). Run from the repository root:
#     scripts/screenshots.sh            # writes screenshots/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
# RESIDUAL_EXPLORER_BIN may name an already-built binary; otherwise the release build is used.
bin="${RESIDUAL_EXPLORER_BIN:-target/release/residual-explorer}"
if [ -z "${RESIDUAL_EXPLORER_BIN:-}" ]; then
    cargo build --release --quiet
fi
out=screenshots
mkdir -p "$out"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
if [ -z "${DISPLAY:-}" ]; then
    Xvfb :97 -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb=$!
    trap 'kill $xvfb' EXIT
    export DISPLAY=:97
    sleep 1
fi
# Every view with the embedded default model, at 1280×800 (the size a projector shows).
"$bin" screenshots --out "$out"
# The same in the light theme, at 1600×1000.
"$bin" screenshots --out "$out" --light --width 1600 --height 1000 --views residual,attention
# A model with d_model = 3: the residual view prints every number.
"$bin" screenshots --out "$out/toy" --model models/seed-residual-toy.safetensors --views residual,model
# The induction model: attention heads that copy, and the circuit in the weights.
"$bin" screenshots --out "$out/induction" --model models/induction.safetensors \
    --prompt "4 19 7 25 11 30 2 4 19 7 25 11 30 2" --views attention,logit_lens
lesson4="0 9 11 5 25 14 17 6 4 24 2 27 19 9 11 5 25 14 17 6 4 24 2 27 19"
lesson8_run="preset=induction data=task:induction steps=2000 lr=0.003 batch=16 seq=32"
"$bin" screenshots --out "$out/induction" --model models/induction.safetensors \
    --prompt "$lesson4" --views circuits
"$bin" screenshots --out "$out/induction" --model models/induction.safetensors \
    --prompt "$lesson4" --views circuits --language pt
"$bin" screenshots --out "$out/induction" --model models/induction.safetensors \
    --prompt "$lesson4" --views training --train "$lesson8_run"
# A projector: 200 % zoom in a 1600×1000 window; lesson 8's run, then its circuits.
"$bin" screenshots --out "$out/induction" --model models/induction.safetensors \
    --prompt "$lesson4" --views training,circuits --train "$lesson8_run" \
    --zoom 2 --width 1600 --height 1000
# Real checkpoints' architectures (tiny random models saved by transformers): a Pythia-style
# GPT-NeoX (parallel block, partial rotary) and a Gemma-3 (local window, sandwich norms).
"$bin" screenshots --out "$out/pythia" --model tests/data/gpt_neox-tiny \
    --prompt "Now is the winter of our discontent made glorious summer" \
    --views residual,attention,contributions,model
"$bin" screenshots --out "$out/gemma" --model tests/data/gemma3-tiny \
    --prompt "Now is the winter of our discontent made glorious summer" \
    --views attention,contributions,logit_lens,model
