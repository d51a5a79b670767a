//! Fuzz target: the CSV reader. The bytes as a file, opened with dialect detection and
//! with a few fixed option sets; then num_rows, describe and read_rows, checked against
//! each other. The body is `oxbridge::fuzzing::csv` (src/fuzzing/), which `cargo test`
//! also runs over fuzz/seeds/csv and tests/data/csv.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oxbridge::fuzzing::csv(data));
