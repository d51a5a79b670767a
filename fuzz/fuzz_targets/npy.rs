//! Fuzz target: the .npy header parser, then the whole open path of an .npy file
//! (layout, size check) and describe, checked against a plain decoding of the array.
//! The body is `oxbridge::fuzzing::npy` (src/fuzzing/), which `cargo test` also runs
//! over fuzz/seeds/npy.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oxbridge::fuzzing::npy(data));
