//! The expression engine: numexpr's language compiled once to a small program that runs
//! over cache-sized blocks on every core, without full-size temporaries.
//!
//! The text goes through `lexer` (tokens) and `parser` (a tree of the program's
//! instructions) to `program` (registers, constants folded, costly `where` sides apart),
//! and runs in `eval` (operands, tasks on the pool), `block` (one block, an instruction a
//! loop) and `lazy` (`where` sides computed only where taken). `language` is the one table
//! of operators and functions; `kernels` and `vmath` are their scalar and vector kernels.

mod block;
mod eval;
mod kernels;
mod language;
mod lazy;
mod lexer;
mod parser;
mod program;
mod vmath;

pub use eval::{evaluate, Input, Output};
pub use program::Program;

use std::fmt;

/// A syntax error: what was expected, and where (byte offset in the source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The byte offset in the source where the error is.
    pub at: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl ParseError {
    fn new(at: usize, message: impl Into<String>) -> Self {
        ParseError {
            at,
            message: message.into(),
        }
    }

    /// The message with the expression and a caret under the position:
    /// `expected an operand ... at position 5:\n    2*a +* b\n         ^`.
    pub fn render(&self, source: &str) -> String {
        // The caret counts characters, not bytes, so it lines up under non-ASCII text.
        let column = source[..self.at.min(source.len())].chars().count();
        format!(
            "{} (at position {column}):\n    {source}\n    {}^",
            self.message,
            " ".repeat(column)
        )
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::vmath::{apply, Op};
    use super::*;
    use crate::array::{Strided, StridedMut, View};

    // exp, expm1, log, log10 and log1p: the engine's own kernels (see vmath's tests for
    // their accuracy), so these tests can compare bit for bit.
    fn log1p(x: f64) -> f64 {
        apply(Op::Log1p, x)
    }

    fn run(source: &str, vars: &[&[f64]]) -> Vec<f64> {
        let p = Program::compile(source).unwrap();
        let n = vars.first().map_or(1, |v| v.len());
        let inputs: Vec<Input> = vars
            .iter()
            .map(|v| Input::Array(View::F64(Strided::from_slice(v))))
            .collect();
        let mut out = vec![0.0; n];
        evaluate(&p, &inputs, Output::F64(StridedMut::from_slice(&mut out))).unwrap();
        out
    }

    #[test]
    fn precedence_follows_python() {
        assert_eq!(run("-2**2", &[])[0], -4.0);
        assert_eq!(run("2**3**2", &[])[0], 512.0);
        assert_eq!(run("2**-1", &[])[0], 0.5);
        assert_eq!(run("1 + 2 * 3 - 4 / 2", &[])[0], 5.0);
        assert_eq!(run("-7 % 3", &[])[0], 2.0);
        assert_eq!(run("7 % -3", &[])[0], -2.0);
        assert_eq!(run("(1 < 2) & (3 > 4) | ~(1 == 1)", &[])[0], 0.0);
        assert_eq!(run("not 1 < 2 or 2 >= 2 and 1 != 1", &[])[0], 0.0);
        assert_eq!(run("where(1 > 2, 5, clip(7, 0, 3))", &[])[0], 3.0);
        assert_eq!(run("round(2.5) + round(-0.5) + round(1.5)", &[])[0], 4.0);
    }

    #[test]
    fn evaluates_blocks_in_parallel_with_every_layout() {
        let n = 300_001;
        let a: Vec<f64> = (0..n).map(|i| i as f64 * 0.001).collect();
        let b: Vec<f64> = (0..n).map(|i| (i % 17) as f64 - 8.0).collect();
        let out = run("2*a + b**2 - 1", &[&a, &b]);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, &v)| v == 2.0 * a[i] + b[i] * b[i] - 1.0));
        let out = run("where(a > 0.5, log1p(a), 0)", &[&a]);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, &v)| v == if a[i] > 0.5 { log1p(a[i]) } else { 0.0 }));
        // Reversed float32 input and a strided float64 output.
        let f: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        // SAFETY: 1000 elements counted back from the last one of a 1000-element vector.
        let reversed = unsafe { Strided::from_raw_parts(f.as_ptr().add(999), 1000, -1) };
        let p = Program::compile("x * 2").unwrap();
        let mut out = vec![0.0; 2000];
        // SAFETY: every other element of a 2000-element vector, not otherwise used.
        let strided = unsafe { StridedMut::from_raw_parts(out.as_mut_ptr(), 1000, 2) };
        evaluate(
            &p,
            &[Input::Array(View::F32(reversed))],
            Output::F64(strided),
        )
        .unwrap();
        assert_eq!(
            (out[0], out[2], out[1], out[1998]),
            (1998.0, 1996.0, 0.0, 0.0)
        );
    }

    #[test]
    fn costly_where_sides_are_computed_only_where_taken() {
        let a: Vec<f64> = (0..5000).map(|i| (i as f64 - 2500.0) / 100.0).collect();
        let b: Vec<f64> = (0..5000).map(|i| (i % 7) as f64).collect();
        let out = run(
            "where(a > 0, log(a) * b, where(b > 3, exp(a) + b, sin(a)))",
            &[&a, &b],
        );
        for i in 0..a.len() {
            let expected = if a[i] > 0.0 {
                apply(Op::Log, a[i]) * b[i]
            } else if b[i] > 3.0 {
                apply(Op::Exp, a[i]) + b[i]
            } else {
                a[i].sin()
            };
            assert_eq!(out[i].to_bits(), expected.to_bits(), "{i}");
        }
        // A scalar operand inside a lazy side.
        let p = Program::compile("where(a > 0, log1p(a) * k, 0)").unwrap();
        let mut out = vec![0.0; a.len()];
        evaluate(
            &p,
            &[
                Input::Array(View::F64(Strided::from_slice(&a))),
                Input::Scalar(2.0),
            ],
            Output::F64(StridedMut::from_slice(&mut out)),
        )
        .unwrap();
        assert!(out
            .iter()
            .zip(&a)
            .all(|(&o, &x)| o == if x > 0.0 { log1p(x) * 2.0 } else { 0.0 }));
    }

    #[test]
    fn out_may_alias_inputs() {
        let mut a: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
        let p = Program::compile("a + 1").unwrap();
        // Shifted by one element: the result must be as if computed aside.
        let expected: Vec<f64> = a[..99_999].iter().map(|x| x + 1.0).collect();
        // SAFETY: both views lie inside `a`, which is not touched otherwise until they are
        // gone; the engine allows `out` to overlap an input (it computes aside then).
        let input = unsafe { Strided::from_raw_parts(a.as_ptr(), 99_999, 1) };
        // SAFETY: as above.
        let out = unsafe { StridedMut::from_raw_parts(a.as_mut_ptr().add(1), 99_999, 1) };
        evaluate(&p, &[Input::Array(View::F64(input))], Output::F64(out)).unwrap();
        assert_eq!(&a[1..], &expected[..]);
        // Exactly the same view: in place.
        // SAFETY: the whole of `a`, as input and as output: the engine allows `out` to be
        // exactly one of the inputs.
        let input = unsafe { Strided::from_raw_parts(a.as_ptr(), 100_000, 1) };
        // SAFETY: as above.
        let out = unsafe { StridedMut::from_raw_parts(a.as_mut_ptr(), 100_000, 1) };
        evaluate(&p, &[Input::Array(View::F64(input))], Output::F64(out)).unwrap();
        assert_eq!((a[0], a[1]), (1.0, 2.0));
    }

    #[test]
    fn scalars_bind_as_constants() {
        let p = Program::compile("a * k + k").unwrap();
        let a = [1.0, 2.0];
        let mut out = [0.0; 2];
        evaluate(
            &p,
            &[
                Input::Array(View::F64(Strided::from_slice(&a))),
                Input::Scalar(10.0),
            ],
            Output::F64(StridedMut::from_slice(&mut out)),
        )
        .unwrap();
        assert_eq!(out, [20.0, 30.0]);
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = Program::compile("2*a +* b").unwrap_err();
        assert_eq!(e.at, 5);
        assert!(e.message.contains("expected a number"), "{}", e.message);
        assert!(
            e.render("2*a +* b").ends_with("    2*a +* b\n         ^"),
            "{}",
            e.render("2*a +* b")
        );
        let e = Program::compile("foo(a)").unwrap_err();
        assert!(e.message.contains("unknown function \"foo\"") && e.message.contains("log1p"));
        let e = Program::compile("where(a, b)").unwrap_err();
        assert!(e.message.contains("where() takes 3 arguments, got 2"));
        let e = Program::compile("(a + b").unwrap_err();
        assert!(e.message.contains("expected \")\""), "{}", e.message);
        assert!(Program::compile("a < b < c")
            .unwrap_err()
            .message
            .contains("chained"));
        assert!(Program::compile("").unwrap_err().message.contains("empty"));
        assert!(Program::compile("a $ b")
            .unwrap_err()
            .message
            .contains("unexpected character"));
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Program::compile(&deep)
            .unwrap_err()
            .message
            .contains("nested too deeply"));
        let long = vec!["a"; 60_000].join("+");
        assert!(Program::compile(&long)
            .unwrap_err()
            .message
            .contains("too long"));
        let chain = vec!["a"; 5_000].join("+");
        assert!(Program::compile(&chain)
            .unwrap_err()
            .message
            .contains("nested too deeply"));
        assert!(Program::compile(&vec!["a"; 900].join("+")).is_ok());
    }

    #[test]
    fn variables_in_order_and_bool_results() {
        let p = Program::compile("b * a + b").unwrap();
        assert_eq!(p.variables, ["b", "a"]);
        assert!(!p.is_bool);
        assert!(Program::compile("(a > 1) & ~isnan(b)").unwrap().is_bool);
        assert!(!Program::compile("where(a > 1, a, 0)").unwrap().is_bool);
    }
}
