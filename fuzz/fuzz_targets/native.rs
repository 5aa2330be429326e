//! Fuzz target: a native .safetensors model file.
//! The checks live in residual_explorer::model::io::fuzzing::native (shared with tests/io_fuzz.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    residual_explorer::model::io::fuzzing::native(data);
});
