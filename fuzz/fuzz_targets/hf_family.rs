//! Fuzz target: [config length: u16 LE][config.json][index length: u16 LE]
//! [model.safetensors.index.json][model.safetensors] of a Llama, Qwen, Gemma, GPT-NeoX or
//! GPT-Neo checkpoint. The checks live in residual_explorer::model::io::fuzzing::hf_family
//! (shared with tests/io_fuzz.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    residual_explorer::model::io::fuzzing::hf_family(data);
});
