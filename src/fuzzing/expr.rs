//! The expression target: compile arbitrary text, then evaluate it on a fixed input in
//! several ways that must agree.

use super::same;
use crate::array::{Strided, StridedMut, View};
use crate::expr::{evaluate, Input, Output, Program};

// ---- (c) expressions: compile, then evaluate on a fixed input ------------------------------

/// Values every variable cycles through (each from its own starting point): zeros of both
/// signs, infinities, NaN, a subnormal, the extremes and ordinary numbers.
const SPECIAL: [f64; 17] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    1e308,
    -1e-310,
    f64::MIN_POSITIVE,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    2.0,
    10.0,
    -7.0,
    1e-5,
];
/// More than one evaluation block (512), so block edges and a partial block are covered.
const LEN: usize = 520;

fn values(variable: usize) -> Vec<f64> {
    (0..LEN)
        .map(|i| SPECIAL[(i + 5 * variable) % SPECIAL.len()])
        .collect()
}

fn run(program: &Program, inputs: &[Input<'_>], out: Output<'_>) {
    evaluate(program, inputs, out).expect("evaluating with one operand per variable");
}

fn f64_inputs(arrays: &[Vec<f64>]) -> Vec<Input<'_>> {
    arrays
        .iter()
        .map(|v| Input::Array(View::F64(Strided::from_slice(v))))
        .collect()
}

/// The program's float64 result for these inputs, in a fresh contiguous buffer.
fn run_to_vec(program: &Program, inputs: &[Input<'_>]) -> Vec<f64> {
    let mut out = vec![0.0; LEN];
    run(
        program,
        inputs,
        Output::F64(StridedMut::from_slice(&mut out)),
    );
    out
}

fn assert_same_results(a: &[f64], b: &[f64], source: &str, what: &str) {
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(
            same(x, y),
            "{source:?}, {what}: element {i}: {x:?} vs {y:?}"
        );
    }
}

/// Compiles `data` (as UTF-8, invalid bytes replaced); a program is evaluated over fixed
/// inputs in several layouts and dtypes, which must all give the same bits.
pub fn expr(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let program = match Program::compile(&source) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.at <= source.len(), "error position past the end");
            let _ = e.render(&source);
            return;
        }
    };
    let arrays: Vec<Vec<f64>> = (0..program.variables.len()).map(values).collect();
    // Contiguous float64 everywhere is the reference for the other ways.
    let expected = run_to_vec(&program, &f64_inputs(&arrays));
    reversed_layout(&program, &arrays, &expected, &source);
    in_place(&program, &arrays, &expected, &source);
    mixed_operands(&program, &arrays, &source);
}

/// Reversed inputs and a reversed, strided output.
fn reversed_layout(program: &Program, arrays: &[Vec<f64>], expected: &[f64], source: &str) {
    let reversed: Vec<Vec<f64>> = arrays
        .iter()
        .map(|v| v.iter().rev().copied().collect())
        .collect();
    let inputs: Vec<Input> = reversed
        .iter()
        // SAFETY: LEN elements counted back from the last one of a LEN-element vector.
        .map(|v| unsafe { Strided::from_raw_parts(v.as_ptr().add(LEN - 1), LEN, -1) })
        .map(|s| Input::Array(View::F64(s)))
        .collect();
    let mut spread = vec![0.0; 2 * LEN];
    // SAFETY: element i at 2 * (LEN - 1 - i): distinct, inside the vector.
    let out = unsafe { StridedMut::from_raw_parts(spread.as_mut_ptr().add(2 * LEN - 2), LEN, -2) };
    run(program, &inputs, Output::F64(out));
    let got: Vec<f64> = (0..LEN).map(|i| spread[2 * (LEN - 1 - i)]).collect();
    assert_same_results(expected, &got, source, "reversed layout");
}

/// In place: the output is the first operand itself.
fn in_place(program: &Program, arrays: &[Vec<f64>], expected: &[f64], source: &str) {
    let Some(first) = arrays.first() else { return };
    let mut place = first.clone();
    let ptr = place.as_mut_ptr();
    let mut inputs: Vec<Input> = Vec::with_capacity(arrays.len());
    // SAFETY: the engine allows `out` to be exactly one of the inputs; `place` outlives
    // both views and is not touched otherwise until they are gone.
    inputs.push(Input::Array(View::F64(unsafe {
        Strided::from_raw_parts(ptr, LEN, 1)
    })));
    inputs.extend(
        arrays[1..]
            .iter()
            .map(|v| Input::Array(View::F64(Strided::from_slice(v)))),
    );
    run(
        program,
        &inputs,
        // SAFETY: `ptr` is the start of a live buffer of `LEN` doubles that only this view uses.
        Output::F64(unsafe { StridedMut::from_raw_parts(ptr, LEN, 1) }),
    );
    drop(inputs);
    assert_same_results(expected, &place, source, "in place");
}

/// Every operand kind: float64, float32 and int64 arrays and scalars, against the
/// float64 arrays holding the same values; then a float32 output.
fn mixed_operands(program: &Program, arrays: &[Vec<f64>], source: &str) {
    let n = arrays.len();
    let f32s: Vec<Vec<f32>> = arrays
        .iter()
        .map(|v| v.iter().map(|&x| x as f32).collect())
        .collect();
    let i64s: Vec<Vec<i64>> = (0..n)
        .map(|v| (0..LEN).map(|i| ((i * 7 + v) % 23) as i64 - 11).collect())
        .collect();
    let i32s: Vec<Vec<i32>> = i64s
        .iter()
        .map(|v| v.iter().map(|&x| x as i32 * 3).collect())
        .collect();
    let scalar = |v: usize| SPECIAL[(v * 3) % SPECIAL.len()];
    let mixed: Vec<Input> = (0..n)
        .map(|v| match v % 5 {
            0 => Input::Array(View::F64(Strided::from_slice(&arrays[v]))),
            1 => Input::Array(View::F32(Strided::from_slice(&f32s[v]))),
            2 => Input::Array(View::I64(Strided::from_slice(&i64s[v]))),
            3 => Input::Scalar(scalar(v)),
            _ => Input::Array(View::I32(Strided::from_slice(&i32s[v]))),
        })
        .collect();
    let widened: Vec<Vec<f64>> = (0..n)
        .map(|v| match v % 5 {
            0 => arrays[v].clone(),
            1 => f32s[v].iter().map(|&x| x as f64).collect(),
            2 => i64s[v].iter().map(|&x| x as f64).collect(),
            3 => vec![scalar(v); LEN],
            _ => i32s[v].iter().map(|&x| x as f64).collect(),
        })
        .collect();
    let expected = run_to_vec(program, &f64_inputs(&widened));
    let got = run_to_vec(program, &mixed);
    assert_same_results(&expected, &got, source, "mixed operand types");
    let mut narrow = vec![0.0f32; LEN];
    run(
        program,
        &mixed,
        Output::F32(StridedMut::from_slice(&mut narrow)),
    );
    let narrowed: Vec<f64> = narrow.iter().map(|&x| x as f64).collect();
    let wanted: Vec<f64> = expected.iter().map(|&x| x as f32 as f64).collect();
    assert_same_results(&wanted, &narrowed, source, "float32 output");
}
