//! One block of a program's values (at most `BLOCK`, so the inputs, the registers and
//! the output block stay in L1 together): the inputs converted, then each instruction as
//! one loop over the block, with one loop per shape of its operands (block or constant).

use super::eval::Input;
use super::lazy;
use super::program::{Arm, Inst, Operand, Program};
use super::vmath::{self, Op};
use crate::array::View;

/// Values per block (larger blocks measured slower).
pub(super) const BLOCK: usize = 512;

/// A block operand: a slice of the block's values, or one value for all.
pub(super) enum Src<'a> {
    /// One value per element.
    Slice(&'a [f64]),
    /// The same value for every element.
    Scalar(f64),
}

/// Applies `f` elementwise from sources to `dst`, one loop per shape of the operands so
/// each compiles to straight vector code.
#[inline(always)]
pub(super) fn binary_loop(dst: &mut [f64], a: Src<'_>, b: Src<'_>, f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Src::Slice(x), Src::Slice(y)) => {
            for ((d, &x), &y) in dst.iter_mut().zip(x).zip(y) {
                *d = f(x, y);
            }
        }
        (Src::Slice(x), Src::Scalar(y)) => {
            for (d, &x) in dst.iter_mut().zip(x) {
                *d = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Slice(y)) => {
            for (d, &y) in dst.iter_mut().zip(y) {
                *d = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Scalar(y)) => dst.fill(f(x, y)),
    }
}

/// Applies `f` elementwise from a source to `dst`.
#[inline(always)]
pub(super) fn unary_loop(dst: &mut [f64], a: Src<'_>, f: impl Fn(f64) -> f64) {
    match a {
        Src::Slice(x) => {
            for (d, &x) in dst.iter_mut().zip(x) {
                *d = f(x);
            }
        }
        Src::Scalar(x) => dst.fill(f(x)),
    }
}

/// A function with a vector kernel (which picks AVX2 by itself, so a lazy `where` side,
/// run outside the AVX2-compiled task loop, gets it too).
#[inline(always)]
pub(super) fn vector_loop(dst: &mut [f64], a: Src<'_>, op: Op) {
    match a {
        Src::Slice(x) => vmath::map(op, dst, x),
        Src::Scalar(x) => dst.fill(vmath::apply(op, x)),
    }
}

/// Per-task scratch: the registers and converted variables of one block.
pub(super) struct Scratch {
    /// The program's registers, then a spare for a bare-variable result.
    pub(super) registers: Vec<Vec<f64>>,
    /// One buffer per input, for the values that are not read in place.
    pub(super) vars: Vec<Vec<f64>>,
}

/// The block of values an operand stands for.
pub(super) fn resolve<'a>(
    op: Operand,
    registers: &'a [Vec<f64>],
    vars: &'a [&'a [f64]],
    len: usize,
) -> Src<'a> {
    match op {
        Operand::Reg(r) => Src::Slice(&registers[r][..len]),
        Operand::Var(v) => Src::Slice(&vars[v][..len]),
        Operand::Scalar(x) => Src::Scalar(x),
    }
}

/// Converts the block's values of every input that is not contiguous float64 into its
/// scratch buffer (contiguous float64 inputs are read in place).
#[inline(always)]
fn load_inputs(inputs: &[Input<'_>], start: usize, len: usize, vars: &mut [Vec<f64>]) {
    for (input, buffer) in inputs.iter().zip(vars) {
        let Input::Array(column) = input else {
            continue;
        };
        let buffer = &mut buffer[..len];
        match column {
            View::F64(v) => {
                let part = v.slice(start, len);
                if part.as_slice().is_none() {
                    for (k, b) in buffer.iter_mut().enumerate() {
                        *b = part.get(k);
                    }
                }
            }
            View::F32(v) => {
                let part = v.slice(start, len);
                for (k, b) in buffer.iter_mut().enumerate() {
                    *b = part.get(k) as f64;
                }
            }
            View::I64(v) => {
                let part = v.slice(start, len);
                for (k, b) in buffer.iter_mut().enumerate() {
                    *b = part.get(k) as f64;
                }
            }
            View::I32(v) => {
                let part = v.slice(start, len);
                for (k, b) in buffer.iter_mut().enumerate() {
                    *b = part.get(k) as f64;
                }
            }
        }
    }
}

/// Asks for the next block of every contiguous float64 input ahead of its use. A block is
/// one 4 KiB page of each input, and the hardware prefetchers stop at page boundaries:
/// without this every block began with a demand miss on each input.
#[inline(always)]
fn prefetch_next_block(inputs: &[Input<'_>], next: usize) {
    for input in inputs {
        if let Input::Array(View::F64(v)) = input {
            if next < v.len() {
                if let Some(values) = v.slice(next, BLOCK.min(v.len() - next)).as_slice() {
                    prefetch(values);
                }
            }
        }
    }
}

/// Asks the CPU to bring `values` into cache (a hint: it never faults).
#[inline(always)]
fn prefetch(values: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    for line in values.chunks(8) {
        // SAFETY: a prefetch reads nothing the program sees and never faults; SSE is part
        // of the x86-64 baseline.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr() as *const i8
            )
        };
    }
}

/// Runs the program on elements `start..start + len` (at most `BLOCK`). The last
/// instruction writes into `direct` when given (and returns None); otherwise the operand
/// that holds the result is returned.
#[inline(always)]
pub(super) fn run_block<'s>(
    program: &Program,
    inputs: &[Input<'_>],
    start: usize,
    len: usize,
    scratch: &'s mut Scratch,
    mut direct: Option<&mut [f64]>,
) -> Option<Src<'s>> {
    prefetch_next_block(inputs, start + len);
    load_inputs(inputs, start, len, &mut scratch.vars);
    let Scratch { registers, vars } = scratch;
    let var_slices: Vec<&[f64]> = inputs
        .iter()
        .zip(vars.iter())
        .map(|(input, buffer)| match input {
            Input::Array(View::F64(v)) => v.slice(start, len).as_slice().unwrap_or(&buffer[..]),
            Input::Array(_) => &buffer[..],
            // Scalars never appear as Var operands (see `evaluate`), but keep a slice.
            Input::Scalar(_) => &buffer[..],
        })
        .collect();
    let last = program.insts.len().wrapping_sub(1);
    let direct_result = matches!(program.result, Operand::Reg(r) if program.insts.last().is_some_and(|i| i.dst() == r));
    for (index, inst) in program.insts.iter().enumerate() {
        // The last instruction may write straight into the caller's output block.
        if index == last && direct_result {
            if let Some(target) = direct.take() {
                run_inst(inst, &mut target[..len], registers, &var_slices, len);
                return None;
            }
        }
        let dst = inst.dst();
        let mut d = std::mem::take(&mut registers[dst]);
        run_inst(inst, &mut d[..len], registers, &var_slices, len);
        registers[dst] = d;
    }
    Some(match program.result {
        Operand::Reg(r) => Src::Slice(&registers[r][..len]),
        Operand::Scalar(x) => Src::Scalar(x),
        Operand::Var(v) => {
            // The expression is a bare variable: copy its block into a register.
            let block: Vec<f64> = var_slices[v][..len].to_vec();
            let r = registers.len() - 1;
            registers[r][..len].copy_from_slice(&block);
            Src::Slice(&registers[r][..len])
        }
    })
}

/// Runs one instruction into `d` (its destination register, or the output block).
#[inline(always)]
pub(super) fn run_inst(
    inst: &Inst,
    d: &mut [f64],
    registers: &[Vec<f64>],
    var_slices: &[&[f64]],
    len: usize,
) {
    match *inst {
        Inst::Unary { f, a, .. } => {
            let a = resolve(a, registers, var_slices, len);
            f.run(d, a);
        }
        Inst::Binary { f, a, b, .. } => {
            let (a, b) = (
                resolve(a, registers, var_slices, len),
                resolve(b, registers, var_slices, len),
            );
            f.run(d, a, b);
        }
        Inst::Where {
            c, ref a, ref b, ..
        } => {
            let eager = |arm: &Arm| match arm {
                Arm::Eager(o) => resolve(*o, registers, var_slices, len),
                Arm::Lazy(_) => Src::Scalar(0.0), // filled in by `lazy::run_side`
            };
            let c = resolve(c, registers, var_slices, len);
            let d = &mut d[..len];
            select(d, &c, &eager(a), &eager(b));
            for (arm, taken) in [(a, true), (b, false)] {
                if let Arm::Lazy(branch) = arm {
                    lazy::run_side(branch, &c, taken, var_slices, d);
                }
            }
        }
    }
}

/// `d[i] = if c[i] != 0 { x[i] } else { y[i] }`: one select loop per operand shape, free
/// of branches so that a random condition costs no mispredictions (every operand is read:
/// a select, not a jump).
#[inline(always)]
fn select(d: &mut [f64], c: &Src<'_>, x: &Src<'_>, y: &Src<'_>) {
    let len = d.len();
    match (c, x, y) {
        (Src::Slice(c), Src::Slice(x), Src::Slice(y)) => {
            for (((d, &c), &x), &y) in d.iter_mut().zip(&c[..len]).zip(&x[..len]).zip(&y[..len]) {
                *d = if c != 0.0 { x } else { y };
            }
        }
        (Src::Slice(c), Src::Slice(x), Src::Scalar(y)) => {
            for ((d, &c), &x) in d.iter_mut().zip(&c[..len]).zip(&x[..len]) {
                *d = if c != 0.0 { x } else { *y };
            }
        }
        (Src::Slice(c), Src::Scalar(x), Src::Slice(y)) => {
            for ((d, &c), &y) in d.iter_mut().zip(&c[..len]).zip(&y[..len]) {
                *d = if c != 0.0 { *x } else { y };
            }
        }
        (Src::Slice(c), Src::Scalar(x), Src::Scalar(y)) => {
            for (d, &c) in d.iter_mut().zip(&c[..len]) {
                *d = if c != 0.0 { *x } else { *y };
            }
        }
        (Src::Scalar(c), _, _) => match if *c != 0.0 { x } else { y } {
            Src::Slice(x) => d.copy_from_slice(&x[..len]),
            Src::Scalar(x) => d.fill(*x),
        },
    }
}
