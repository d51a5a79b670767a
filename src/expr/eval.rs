//! Runs a program over its inputs in blocks that stay in L1, on the thread pool.

use super::program::{map_operands, Arm, Branch, Inst, Operand, Program};
use super::vmath::{self, Op};
use crate::array::{Column, StridedMut};
use crate::error::{Error, Result};
use crate::runtime::pool::{pool, MIN_PARALLEL_LEN};
use rayon::prelude::*;

/// Values per block: the inputs, the registers and the output block of one step fit in
/// L1 together (larger blocks measured slower).
const BLOCK: usize = 512;
/// Values per parallel task.
const TASK: usize = 1 << 16;

/// One operand of an evaluation: an array (any dtype and stride) or a scalar.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    Array(Column<'a>),
    Scalar(f64),
}

/// Where the result goes.
#[derive(Debug)]
pub enum Output<'a> {
    F64(StridedMut<'a, f64>),
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

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        match self {
            Output::F64(v) => v.len(),
            Output::F32(v) => v.len(),
        }
    }
}

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
struct Scratch {
    registers: Vec<Vec<f64>>,
    vars: Vec<Vec<f64>>,
}

fn resolve<'a>(
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

/// Runs the program on elements `start..start + len` (at most `BLOCK`), leaving the
/// result in a register or returning the operand that holds it.
#[inline(always)]
fn run_block<'s>(
    program: &Program,
    inputs: &[Input<'_>],
    start: usize,
    len: usize,
    scratch: &'s mut Scratch,
    mut direct: Option<&mut [f64]>,
) -> Option<Src<'s>> {
    // Contiguous float64 inputs are read in place; others are converted into scratch.
    for (i, input) in inputs.iter().enumerate() {
        if let Input::Array(column) = input {
            let buffer = &mut scratch.vars[i];
            match column {
                Column::F64(v) => {
                    let part = v.slice(start, len);
                    if part.as_slice().is_none() {
                        for (k, b) in buffer[..len].iter_mut().enumerate() {
                            *b = part.get(k);
                        }
                    }
                }
                Column::F32(v) => {
                    let part = v.slice(start, len);
                    for (k, b) in buffer[..len].iter_mut().enumerate() {
                        *b = part.get(k) as f64;
                    }
                }
                Column::I64(v) => {
                    let part = v.slice(start, len);
                    for (k, b) in buffer[..len].iter_mut().enumerate() {
                        *b = part.get(k) as f64;
                    }
                }
                Column::I32(v) => {
                    let part = v.slice(start, len);
                    for (k, b) in buffer[..len].iter_mut().enumerate() {
                        *b = part.get(k) as f64;
                    }
                }
            }
        }
    }
    let Scratch { registers, vars } = scratch;
    let var_slices: Vec<&[f64]> = inputs
        .iter()
        .zip(vars.iter())
        .map(|(input, buffer)| match input {
            Input::Array(Column::F64(v)) => v.slice(start, len).as_slice().unwrap_or(&buffer[..]),
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
fn run_inst(inst: &Inst, d: &mut [f64], registers: &[Vec<f64>], var_slices: &[&[f64]], len: usize) {
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
                Arm::Lazy(_) => Src::Scalar(0.0), // filled in below
            };
            let c = resolve(c, registers, var_slices, len);
            // One select loop per operand shape, free of branches so that a random
            // condition costs no mispredictions (every operand is read: a select, not a
            // jump).
            let (ea, eb) = (eager(a), eager(b));
            let d = &mut d[..len];
            match (&c, &ea, &eb) {
                (Src::Slice(c), Src::Slice(x), Src::Slice(y)) => {
                    for (((d, &c), &x), &y) in
                        d.iter_mut().zip(&c[..len]).zip(&x[..len]).zip(&y[..len])
                    {
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
                (Src::Scalar(c), _, _) => {
                    let taken = if *c != 0.0 { &ea } else { &eb };
                    match taken {
                        Src::Slice(x) => d.copy_from_slice(&x[..len]),
                        Src::Scalar(x) => d.fill(*x),
                    }
                }
            }
            for (arm, taken) in [(a, true), (b, false)] {
                if let Arm::Lazy(branch) = arm {
                    // The lanes that take this side, compacted without branches (a block
                    // is at most BLOCK long, a lazy side's block shorter still).
                    let mut lanes = [0u32; BLOCK];
                    let count = match &c {
                        Src::Slice(c) => compact_lanes(&c[..len], taken, &mut lanes),
                        Src::Scalar(c) if (*c != 0.0) == taken => {
                            for (k, lane) in lanes[..len].iter_mut().enumerate() {
                                *lane = k as u32;
                            }
                            len
                        }
                        Src::Scalar(_) => 0,
                    };
                    run_branch(branch, &lanes[..count], var_slices, d);
                }
            }
        }
    }
}

/// For each 4-bit mask, the positions of its set bits in order.
const SET_BITS: [[u32; 4]; 16] = {
    let mut table = [[0u32; 4]; 16];
    let mut mask = 0;
    while mask < 16 {
        let (mut bit, mut n) = (0, 0);
        while bit < 4 {
            if mask & (1 << bit) != 0 {
                table[mask][n] = bit as u32;
                n += 1;
            }
            bit += 1;
        }
        mask += 1;
    }
    table
};

/// Writes to the front of `lanes` the indices `k` where `(c[k] != 0) == taken`, in order,
/// and returns their count; four values a step, without branches.
#[inline(always)]
fn compact_lanes(c: &[f64], taken: bool, lanes: &mut [u32]) -> usize {
    // x != 0.0 (NaN too) on the bits: no moves from float to integer registers.
    let nonzero = |x: f64| (x.to_bits() << 1 != 0) as usize;
    let flip = if taken { 0 } else { 0xf };
    let mut count = 0;
    let mut chunks = c.chunks_exact(4);
    for (step, q) in (&mut chunks).enumerate() {
        let mask =
            (nonzero(q[0]) | nonzero(q[1]) << 1 | nonzero(q[2]) << 2 | nonzero(q[3]) << 3) ^ flip;
        let base = 4 * step as u32;
        // count <= 4 * step, so the four slots fit in `lanes` (as long as `c`).
        for (lane, &bit) in lanes[count..count + 4].iter_mut().zip(&SET_BITS[mask]) {
            *lane = base + bit;
        }
        count += mask.count_ones() as usize;
    }
    let done = c.len() - chunks.remainder().len();
    for (k, &x) in chunks.remainder().iter().enumerate() {
        lanes[count] = (done + k) as u32;
        count += (nonzero(x) == taken as usize) as usize;
    }
    count
}

/// Computes a lazy `where` side for the chosen `lanes` of the block only: gathers its
/// variables, runs its program on them, and scatters the results into `d`.
#[inline(never)]
fn run_branch(branch: &Branch, lanes: &[u32], var_slices: &[&[f64]], d: &mut [f64]) {
    let m = lanes.len();
    if m == 0 {
        return;
    }
    let mut gathered = vec![0.0; branch.vars.len() * m];
    let mut compact: Vec<&[f64]> = vec![&[]; var_slices.len()];
    for (values, &v) in gathered.chunks_exact_mut(m).zip(&branch.vars) {
        let source = var_slices[v];
        for (g, &k) in values.iter_mut().zip(lanes) {
            *g = source[k as usize];
        }
    }
    for (values, &v) in gathered.chunks_exact(m).zip(&branch.vars) {
        compact[v] = values;
    }
    let mut registers = vec![vec![0.0; m]; branch.registers];
    for inst in &branch.insts {
        let dst = inst.dst();
        let mut out = std::mem::take(&mut registers[dst]);
        run_inst(inst, &mut out[..m], &registers, &compact, m);
        registers[dst] = out;
    }
    let result = match branch.result {
        Operand::Reg(r) => Src::Slice(&registers[r][..m]),
        Operand::Var(v) => Src::Slice(&compact[v][..m]),
        Operand::Scalar(x) => Src::Scalar(x),
    };
    match result {
        Src::Slice(x) => {
            for (&lane, &x) in lanes.iter().zip(x) {
                d[lane as usize] = x;
            }
        }
        Src::Scalar(x) => {
            for &lane in lanes {
                d[lane as usize] = x;
            }
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
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { run_task_avx2(program, inputs, start, out, direct_ok) };
        }
    }
    run_task_inner(program, inputs, start, out, direct_ok)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacted_lanes_are_those_taking_the_side() {
        let values = [
            0.0,
            -0.0,
            1.0,
            f64::NAN,
            -2.5,
            f64::INFINITY,
            5e-324,
            -5e-324,
            0.0,
        ];
        for len in 0..=40 {
            let c: Vec<f64> = (0..len)
                .map(|k| values[(k * 7 + k / 3) % values.len()])
                .collect();
            for taken in [true, false] {
                let mut lanes = [0u32; BLOCK];
                let count = compact_lanes(&c, taken, &mut lanes);
                let want: Vec<u32> = (0..len as u32)
                    .filter(|&k| (c[k as usize] != 0.0) == taken)
                    .collect();
                assert_eq!(&lanes[..count], &want[..], "{len} {taken}");
            }
        }
    }
}
