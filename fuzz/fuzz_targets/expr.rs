//! Fuzz target: the expression parser and compiler. A program that compiles is evaluated
//! on a fixed input in several layouts and operand dtypes, which must agree bit for bit.
//! The body is `oxbridge::fuzzing::expr` (src/fuzzing/), which `cargo test` also runs
//! over fuzz/seeds/expr.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oxbridge::fuzzing::expr(data));
