//! The per-value loops of the sketches over a block of values (hashes, order keys,
//! integers as doubles), compiled for AVX-512 and AVX2 as well as the baseline and chosen
//! at run time: the 64-bit multiplies of the hash vectorise only with AVX-512 DQ, and
//! these loops are most of what the sketches cost.

use super::hash::{hash_f64, hash_i64};
use super::kll::key;
use crate::runtime::cpu;

macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx2")]
                unsafe fn wide($($arg: $ty),*) { body($($arg),*) }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) { body($($arg),*) }
                if cpu::has_avx512dq() {
                    // SAFETY: the CPU has AVX-512 F and DQ and AVX2 (runtime::cpu).
                    return unsafe { wide($($arg),*) };
                }
                if cpu::has_avx2() {
                    // SAFETY: the CPU has AVX2 (runtime::cpu).
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

dispatch!(
    /// Appends the hash of every value of `xs` to `out` (NaN included: the caller
    /// filters when the block has one).
    hash_f64s(xs: &[f64], out: &mut Vec<u64>) {
        // `extend` of a slice's map writes in place: no zeroing pass first.
        out.extend(xs.iter().map(|&x| hash_f64(x)));
    }
);

dispatch!(
    /// Appends the hash of every value of `xs` to `out`.
    hash_i64s(xs: &[i64], out: &mut Vec<u64>) {
        // `extend` of a slice's map writes in place: no zeroing pass first.
        out.extend(xs.iter().map(|&x| hash_i64(x)));
    }
);

dispatch!(
    /// Appends the order key of every value of `xs` to `out`.
    keys_of(xs: &[f64], out: &mut Vec<u64>) {
        // `extend` of a slice's map writes in place: no zeroing pass first.
        out.extend(xs.iter().map(|&x| key(x)));
    }
);

dispatch!(
    /// Appends every integer of `xs` as the nearest double to `out`.
    ints_as_f64(xs: &[i64], out: &mut Vec<f64>) {
        // `extend` of a slice's map writes in place: no zeroing pass first.
        out.extend(xs.iter().map(|&x| x as f64));
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_gives_the_scalar_answers() {
        let xs = [0.0, -0.0, 1.5, f64::NAN, f64::INFINITY, -3.25, 1e300];
        let mut hashes = Vec::new();
        hash_f64s(&xs, &mut hashes);
        let expected: Vec<u64> = xs.iter().map(|&x| hash_f64(x)).collect();
        assert_eq!(hashes, expected);
        let ints = [0i64, -1, 1 << 53, (1 << 53) + 1, i64::MIN, i64::MAX, 7];
        let mut hashes = Vec::new();
        hash_i64s(&ints, &mut hashes);
        let expected: Vec<u64> = ints.iter().map(|&x| hash_i64(x)).collect();
        assert_eq!(hashes, expected);
        let mut keys = Vec::new();
        keys_of(&xs, &mut keys);
        assert_eq!(keys, xs.iter().map(|&x| key(x)).collect::<Vec<_>>());
        let mut floats = Vec::new();
        ints_as_f64(&ints, &mut floats);
        assert_eq!(floats, ints.iter().map(|&x| x as f64).collect::<Vec<_>>());
    }
}
