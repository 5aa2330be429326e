//! Fuzz target: [json length: u16 LE][tokenizer.json][text to encode].
//! The checks live in residual_explorer::model::io::fuzzing::bpe (shared with tests/io_fuzz.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    residual_explorer::model::io::fuzzing::bpe(data);
});
