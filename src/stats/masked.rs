//! Statistics of values under a validity bitmap (Arrow's nulls): the values whose bit is
//! set, the others counted as missing, like NaN. Blocks whose bits are all set are read
//! in place; a block with nulls has its valid values gathered into a small buffer first.

use super::Stats;
use crate::array::{with_dtype, Element, Strided, View};
use crate::error::Result;
use crate::runtime::pool::pool;
use rayon::prelude::*;

/// Values per task, and per gathered buffer.
const BLOCK: usize = 1 << 14;

/// A validity bitmap: bit `offset + i` (least significant bit first) is set when value `i`
/// is present.
#[derive(Debug, Clone, Copy)]
pub struct Validity<'a> {
    /// The bitmap's bytes; at least `(offset + len + 7) / 8` of them (callers check).
    pub bits: &'a [u8],
    /// The bit of value 0.
    pub offset: usize,
}

impl Validity<'_> {
    /// Whether value `i` is present.
    #[inline]
    pub fn get(&self, i: usize) -> bool {
        let bit = self.offset + i;
        self.bits[bit / 8] >> (bit % 8) & 1 == 1
    }

    /// How many of values `start..end` are present.
    pub fn count(&self, start: usize, end: usize) -> usize {
        (start..end).filter(|&i| self.get(i)).count()
    }
}

impl Stats {
    /// The statistics of the values of `view` that `validity` marks present; the others
    /// count as missing (`nan_count`), as NaN values do.
    pub fn of_masked_view(view: View<'_>, validity: Validity<'_>) -> Result<Stats> {
        fn typed<T: Element>(view: Strided<'_, T>, validity: Validity<'_>) -> Result<Stats> {
            let blocks = view.len().div_ceil(BLOCK);
            let block = |b: usize| -> Stats {
                let start = b * BLOCK;
                let len = BLOCK.min(view.len() - start);
                let part = view.slice(start, len);
                let present = validity.count(start, start + len);
                if present == len {
                    return Stats::of_strided(part);
                }
                let kept: Vec<T> = (0..len)
                    .filter(|&i| validity.get(start + i))
                    .map(|i| part.get(i))
                    .collect();
                let mut stats = Stats::of_strided(Strided::from_slice(&kept));
                stats.add_missing((len - present) as u64);
                stats
            };
            let parts: Vec<Stats> =
                pool()?.install(|| (0..blocks).into_par_iter().map(block).collect());
            Ok(super::block::merge_all(&parts))
        }
        with_dtype!(view, View, v => typed(v, validity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_are_missing_values() {
        let xs: Vec<f64> = (0..40_000).map(|i| i as f64).collect();
        // Every third value null, from bit 3 of the first byte.
        let bits: Vec<u8> = (0..(40_003usize).div_ceil(8))
            .map(|byte| {
                (0..8).fold(0u8, |acc, b| {
                    acc | (u8::from((byte * 8 + b).wrapping_sub(3) % 3 != 0) << b)
                })
            })
            .collect();
        let validity = Validity {
            bits: &bits,
            offset: 3,
        };
        let got = Stats::of_masked_view(View::F64(Strided::from_slice(&xs)), validity).unwrap();
        let kept: Vec<f64> = xs
            .iter()
            .copied()
            .filter(|&x| !(x as usize).is_multiple_of(3))
            .collect();
        let want = Stats::of_slice(&kept);
        assert_eq!(
            (got.count(), got.nan_count()),
            (want.count(), 40_000 - want.count())
        );
        assert_eq!((got.min(), got.max()), (want.min(), want.max()));
        assert!((got.mean() - want.mean()).abs() < 1e-9);
        let ints: Vec<i64> = (0..40_000).collect();
        let got = Stats::of_masked_view(View::I64(Strided::from_slice(&ints)), validity).unwrap();
        let sum: i64 = ints.iter().filter(|&&x| x % 3 != 0).sum();
        assert_eq!(got.exact().unwrap().sum, i128::from(sum));
        let all = vec![0xffu8; 5000];
        let full = Validity {
            bits: &all,
            offset: 0,
        };
        let got = Stats::of_masked_view(View::I64(Strided::from_slice(&ints)), full).unwrap();
        assert_eq!((got.count(), got.nan_count()), (40_000, 0));
    }
}
