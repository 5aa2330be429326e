//! Fuzz target: an llm.c .bin checkpoint.
//! The checks live in residual_explorer::model::io::fuzzing::llmc (shared with tests/io_fuzz.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    residual_explorer::model::io::fuzzing::llmc(data);
});
