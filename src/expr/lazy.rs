//! The costly sides of a `where`, computed only for the values that take them: the
//! lanes that take a side are compacted without branches, its variables gathered for
//! them, its own small program run, and the results scattered back into the block.

use super::block::{run_inst, Src, BLOCK};
use super::program::{Branch, Operand};

/// Computes the lazy side `branch` of a `where` with condition `c` into the lanes of `d`
/// that take it (`c != 0` for the first side, `taken`, and `c == 0` for the second).
#[inline(always)]
pub(super) fn run_side(
    branch: &Branch,
    c: &Src<'_>,
    taken: bool,
    var_slices: &[&[f64]],
    d: &mut [f64],
) {
    let len = d.len();
    // A block is at most BLOCK long, a lazy side's block shorter still.
    let mut lanes = [0u32; BLOCK];
    let count = match c {
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
