//! Runs a program over its inputs: checks the operands, binds scalars as constants, and
//! cuts the output into tasks for the thread pool, each a run of blocks (`block.rs`).

use super::block::{run_block, Scratch, Src, BLOCK};
use super::program::{map_operands, Operand, Program};
use super::vmath;
use crate::array::{StridedMut, View};
use crate::error::{Error, Result};
use crate::runtime::pool::{pool, MIN_PARALLEL_LEN};
use rayon::prelude::*;

/// Values per parallel task.
const TASK: usize = 1 << 16;

/// One operand of an evaluation: an array (any dtype and stride) or a scalar.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// An array of the output's length.
    Array(View<'a>),
    /// One value for every element.
    Scalar(f64),
}

/// Where the result goes.
#[derive(Debug)]
pub enum Output<'a> {
    /// Float64 values, any stride.
    F64(StridedMut<'a, f64>),
    /// Float32 values (computed in float64, rounded once at the end), any stride.
    F32(StridedMut<'a, f32>),
}

impl<'a> Output<'a> {
    /// Consecutive pieces of at most `size` elements, each with the index of its first.
    pub fn pieces(self, size: usize) -> Vec<(usize, Output<'a>)> {
        let mut pieces = Vec::with_capacity(self.len().div_ceil(size.max(1)));
        let (mut rest, mut start) = (self, 0);
        while rest.len() > size {
            let (piece, tail) = rest.split_at(size);
            pieces.push((start, piece));
            start += size;
            rest = tail;
        }
        pieces.push((start, rest));
        pieces
    }

    /// The first `at` elements and the rest, as two outputs.
    pub fn split_at(self, at: usize) -> (Output<'a>, Output<'a>) {
        match self {
            Output::F64(v) => {
                let (a, b) = v.split_at_mut(at);
                (Output::F64(a), Output::F64(b))
            }
            Output::F32(v) => {
                let (a, b) = v.split_at_mut(at);
                (Output::F32(a), Output::F32(b))
            }
        }
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Output::F64(v) => v.len(),
            Output::F32(v) => v.len(),
        }
    }
}

#[inline(always)]
fn write_block(out: &mut Output<'_>, offset: usize, values: &Src<'_>, len: usize) {
    let value = |k: usize| match values {
        Src::Slice(x) => x[k],
        Src::Scalar(x) => *x,
    };
    match out {
        Output::F64(o) => {
            if let Some(slice) = o.as_mut_slice() {
                let target = &mut slice[offset..offset + len];
                match values {
                    Src::Slice(x) => target.copy_from_slice(&x[..len]),
                    Src::Scalar(x) => target.fill(*x),
                }
            } else {
                for k in 0..len {
                    o.set(offset + k, value(k));
                }
            }
        }
        Output::F32(o) => {
            if let Some(slice) = o.as_mut_slice() {
                for (k, t) in slice[offset..offset + len].iter_mut().enumerate() {
                    *t = value(k) as f32;
                }
            } else {
                for k in 0..len {
                    o.set(offset + k, value(k) as f32);
                }
            }
        }
    }
}

/// Runs one task's range, with the block loops compiled for AVX2 and FMA when the CPU has
/// them (the library's baseline target is plain x86-64).
fn run_task(
    program: &Program,
    inputs: &[Input<'_>],
    start: usize,
    out: Output<'_>,
    direct_ok: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if vmath::vectorised() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { run_task_avx2(program, inputs, start, out, direct_ok) };
        }
    }
    run_task_inner(program, inputs, start, out, direct_ok)
}

/// `run_task_inner` compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2", enable = "fma")]
unsafe fn run_task_avx2(
    program: &Program,
    inputs: &[Input<'_>],
    start: usize,
    out: Output<'_>,
    direct_ok: bool,
) {
    run_task_inner(program, inputs, start, out, direct_ok)
}

#[inline(always)]
fn run_task_inner(
    program: &Program,
    inputs: &[Input<'_>],
    start: usize,
    mut out: Output<'_>,
    direct_ok: bool,
) {
    let registers = program.registers + 1; // one spare for a bare-variable result
    let mut scratch = Scratch {
        registers: vec![vec![0.0; BLOCK]; registers],
        vars: vec![vec![0.0; BLOCK]; inputs.len()],
    };
    let n = out.len();
    let mut offset = 0;
    while offset < n {
        let len = BLOCK.min(n - offset);
        let direct = match (&mut out, direct_ok) {
            (Output::F64(o), true) => o.as_mut_slice().map(|s| &mut s[offset..offset + len]),
            _ => None,
        };
        if let Some(values) = run_block(program, inputs, start + offset, len, &mut scratch, direct)
        {
            write_block(&mut out, offset, &values, len);
        }
        offset += len;
    }
}

/// Evaluates `program` with `inputs` (one per variable, in order) into `out`. Arrays
/// must all have `out`'s length. `out` may be one of the inputs (the same view); if it
/// overlaps an input in any other way, the result is computed aside and copied in.
pub fn evaluate(program: &Program, inputs: &[Input<'_>], out: Output<'_>) -> Result<()> {
    if inputs.len() != program.variables.len() {
        return Err(Error::invalid_argument(format!(
            "{:?} has {} variables ({}), got {} operands",
            program.source,
            program.variables.len(),
            program.variables.join(", "),
            inputs.len()
        )));
    }
    let n = out.len();
    for (name, input) in program.variables.iter().zip(inputs) {
        if let Input::Array(column) = input {
            if column.len() != n {
                return Err(Error::invalid_argument(format!(
                    "operand {name:?} has length {}, but the output has length {n}",
                    column.len()
                )));
            }
        }
    }
    // Scalars become constants, so the program never reads a scalar variable as a block.
    let bound = bind_scalars(program, inputs);
    let (program, inputs) = match &bound {
        Some((p, i)) => (p, &i[..]),
        None => (program, inputs),
    };
    let out_place = match &out {
        Output::F64(v) => v.footprint(),
        Output::F32(v) => v.footprint(),
    };
    let overlapping = |exact_ok: bool| {
        inputs.iter().any(|input| match input {
            Input::Array(c) => {
                let f = c.footprint();
                f.overlaps(&out_place) && !(exact_ok && f == out_place)
            }
            Input::Scalar(_) => false,
        })
    };
    let hazard = overlapping(true);
    // Writing the result straight into `out` needs `out` apart from every input.
    let direct_ok = !overlapping(false);
    if hazard {
        let mut aside = vec![0.0f64; n];
        evaluate(
            program,
            inputs,
            Output::F64(StridedMut::from_slice(&mut aside)),
        )?;
        let mut out = out;
        write_block(&mut out, 0, &Src::Slice(&aside), n);
        return Ok(());
    }
    if n < MIN_PARALLEL_LEN {
        run_task(program, inputs, 0, out, direct_ok);
        return Ok(());
    }
    let pieces = out.pieces(TASK);
    pool()?.install(|| {
        pieces
            .into_par_iter()
            .for_each(|(start, piece)| run_task(program, inputs, start, piece, direct_ok))
    });
    Ok(())
}

/// The program with scalar operands folded in as constants (None if there are none).
fn bind_scalars<'a>(program: &Program, inputs: &[Input<'a>]) -> Option<(Program, Vec<Input<'a>>)> {
    if !inputs.iter().any(|i| matches!(i, Input::Scalar(_))) {
        return None;
    }
    let value = |op: Operand| match op {
        Operand::Var(v) => match inputs[v] {
            Input::Scalar(x) => Operand::Scalar(x),
            Input::Array(_) => op,
        },
        other => other,
    };
    let mut p = program.clone();
    let Program { insts, result, .. } = &mut p;
    map_operands(insts, result, &value);
    Some((p, inputs.to_vec()))
}
