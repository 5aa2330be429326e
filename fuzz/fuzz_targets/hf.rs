//! Fuzz target: [config length: u16 LE][config.json][model.safetensors] of a Hugging Face GPT-2.
//! The checks live in residual_explorer::model::io::fuzzing::hf (shared with tests/io_fuzz.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    residual_explorer::model::io::fuzzing::hf(data);
});
