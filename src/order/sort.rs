//! A parallel MSD radix sort of order-preserving keys (`Element::key`).

use crate::array::{Element, StridedMut};
use crate::error::Result;
use crate::runtime::pool::pool;
use crate::runtime::scratch::Scratch;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Below this many keys a bucket is sorted by one thread, in cache.
const PARALLEL_KEYS: usize = 1 << 17;
/// Digit width of the parallel splits: 2048 buckets, so that after two splits of even a
/// billion keys the buckets fit in cache.
const PARALLEL_BITS: u32 = 11;
/// Widest digit of the in-cache splits (their counts stay in L1).
const CACHE_BITS: u32 = 11;
/// Buckets this small are finished by insertion.
const LEAF_KEYS: usize = 12;
/// A bucket whose keys vary in at most this many bits is finished by LSD passes.
const LSD_VARYING_BITS: u32 = 16;

/// Raw destination pointer shared by the scatter tasks. Each task writes only the
/// positions its prefix sums assign to it, so the writes never overlap.
#[derive(Clone, Copy)]
struct Scatter(*mut u64);
// SAFETY: see above: disjoint writes, and the buffer outlives the scope.
unsafe impl Send for Scatter {}
// SAFETY: as for `Send`.
unsafe impl Sync for Scatter {}

impl Scatter {
    /// # Safety
    /// `at` is inside the buffer and no other task writes it.
    #[inline(always)]
    unsafe fn write(self, at: usize, key: u64) {
        // SAFETY: the contract of this function.
        unsafe { *self.0.add(at) = key };
    }
}

/// The OR and the AND of keys: their XOR has the bits in which the keys differ.
fn or_and(keys: &[u64]) -> (u64, u64) {
    // Four lanes so the loop vectorises.
    let (mut or, mut and) = ([0u64; 4], [u64::MAX; 4]);
    let mut quads = keys.chunks_exact(4);
    for q in &mut quads {
        for i in 0..4 {
            or[i] |= q[i];
            and[i] &= q[i];
        }
    }
    for &k in quads.remainder() {
        or[0] |= k;
        and[0] &= k;
    }
    (
        or[0] | or[1] | or[2] | or[3],
        and[0] & and[1] & and[2] & and[3],
    )
}

/// The bits in which keys differ.
fn varying(keys: &[u64]) -> u64 {
    let (or, and) = if keys.len() >= PARALLEL_KEYS {
        keys.par_chunks(1 << 14)
            .map(or_and)
            .reduce(|| (0, u64::MAX), |(o1, a1), (o2, a2)| (o1 | o2, a1 & a2))
    } else {
        or_and(keys)
    };
    or ^ and
}

/// Sorts keys in place; `room` is as long as `keys`.
fn radix_sort(keys: &mut [u64], room: &mut [u64]) {
    let differ = varying(keys);
    sort_keys(keys, room, differ, true);
}

/// Sorts `src` by MSD radix, the result left in `src` when `in_src`, else in `dst`; the
/// other slice (as long) is the room. `differ` holds exactly the bits in which `src`'s
/// keys differ: each split takes its digit from the top ones, so the exponent of floats
/// (nearly constant) or the sign of small integers never wastes a pass. Large inputs
/// split in parallel; buckets that fit in cache are split by one thread down to a few
/// keys (finished by insertion), or LSD-sorted when they differ in few bits.
fn sort_keys(src: &mut [u64], dst: &mut [u64], differ: u64, in_src: bool) {
    let n = src.len();
    if differ == 0 || n <= LEAF_KEYS {
        if differ != 0 {
            insertion_sort(src);
        }
        if !in_src {
            dst.copy_from_slice(src);
        }
        return;
    }
    if n < PARALLEL_KEYS && differ.count_ones() <= LSD_VARYING_BITS {
        lsd_sort(src, dst, differ, in_src);
        return;
    }
    let high = 64 - differ.leading_zeros();
    let bits = if n >= PARALLEL_KEYS {
        PARALLEL_BITS
    } else {
        // About four keys a bucket: the next split or insertion finishes them.
        (usize::BITS - n.leading_zeros())
            .saturating_sub(2)
            .clamp(3, CACHE_BITS)
    }
    .min(high);
    let shift = high - bits;
    if n >= PARALLEL_KEYS {
        let lens = split_parallel(src, dst, shift, bits);
        let pairs = bucket_pairs(dst, src, &lens);
        pairs
            .into_par_iter()
            .with_max_len(1)
            .for_each(|(bucket, room)| {
                let differ = varying(bucket);
                sort_keys(bucket, room, differ, !in_src);
            });
    } else {
        split_in_cache(src, dst, shift, bits, in_src);
    }
}

/// The buckets (of `lens`) of `filled` paired with the same ranges of `room`.
fn bucket_pairs<'a>(
    filled: &'a mut [u64],
    room: &'a mut [u64],
    lens: &[usize],
) -> Vec<(&'a mut [u64], &'a mut [u64])> {
    let mut pairs = Vec::with_capacity(lens.len());
    let (mut filled, mut room) = (filled, room);
    for &len in lens {
        let (bucket, filled_rest) = filled.split_at_mut(len);
        let (bucket_room, room_rest) = room.split_at_mut(len);
        (filled, room) = (filled_rest, room_rest);
        if len > 0 {
            pairs.push((bucket, bucket_room));
        }
    }
    pairs
}

/// Scatters `from` into `to` by the digit at `shift`, in parallel; returns the buckets'
/// lengths.
fn split_parallel(from: &[u64], to: &mut [u64], shift: u32, bits: u32) -> Vec<usize> {
    let buckets = 1usize << bits;
    let digit_mask = (buckets - 1) as u64;
    let digit = |k: u64| ((k >> shift) & digit_mask) as usize;
    let chunk = from.len().div_ceil(rayon::current_num_threads() * 4);
    let counts: Vec<Vec<usize>> = from
        .par_chunks(chunk)
        .map(|c| {
            let mut h = vec![0usize; buckets];
            for &k in c {
                h[digit(k)] += 1;
            }
            h
        })
        .collect();
    // offsets[t][b]: where task t writes its first key with digit b.
    let mut offsets = vec![vec![0usize; buckets]; counts.len()];
    let mut lens = vec![0usize; buckets];
    let mut next = 0;
    for b in 0..buckets {
        for (t, h) in counts.iter().enumerate() {
            offsets[t][b] = next;
            next += h[b];
            lens[b] += h[b];
        }
    }
    let dst = Scatter(to.as_mut_ptr());
    from.par_chunks(chunk)
        .zip(offsets.into_par_iter())
        .for_each(|(c, mut at)| {
            for &k in c {
                let d = digit(k);
                // SAFETY: `at[d]` stays inside this task's reserved range of `to`.
                unsafe { dst.write(at[d], k) };
                at[d] += 1;
            }
        });
    lens
}

/// One thread's split of a bucket that fits in cache (fewer than `PARALLEL_KEYS`, so
/// `u32` counts), each sub-bucket then finished; the result in `src` when `in_src`.
fn split_in_cache(src: &mut [u64], dst: &mut [u64], shift: u32, bits: u32, in_src: bool) {
    let buckets = 1usize << bits;
    let digit_mask = (buckets - 1) as u64;
    let digit = |k: u64| ((k >> shift) & digit_mask) as usize;
    // Zeroing all 2 x 8 KiB of counts for every small bucket cost more than its sort.
    let mut counts = [MaybeUninit::<u32>::uninit(); 1 << CACHE_BITS];
    let counts = zeroed_prefix(&mut counts, buckets);
    for &k in src.iter() {
        counts[digit(k)] += 1;
    }
    let mut at = [MaybeUninit::<u32>::uninit(); 1 << CACHE_BITS];
    let at = zeroed_prefix(&mut at, buckets);
    let mut next = 0;
    for (a, &c) in at.iter_mut().zip(counts.iter()) {
        *a = next;
        next += c;
    }
    for &k in src.iter() {
        let d = digit(k);
        dst[at[d] as usize] = k;
        at[d] += 1;
    }
    let mut start = 0;
    for &count in counts.iter() {
        let end = start + count as usize;
        let (bucket, room) = (&mut dst[start..end], &mut src[start..end]);
        start = end;
        match bucket.len() {
            0 => {}
            1 => {
                if in_src {
                    room[0] = bucket[0];
                }
            }
            len if len <= LEAF_KEYS => {
                insertion_sort(bucket);
                if in_src {
                    room.copy_from_slice(bucket);
                }
            }
            _ => {
                let (or, and) = or_and(bucket);
                sort_keys(bucket, room, or ^ and, !in_src);
            }
        }
    }
}

/// LSD radix passes over the bytes in which `differ` has bits; the result in `src` when
/// `in_src`. Sequential, so every pass's counts come from one read.
fn lsd_sort(src: &mut [u64], dst: &mut [u64], differ: u64, in_src: bool) {
    let shifts: Vec<u32> = (0..8)
        .map(|byte| byte * 8)
        .filter(|&shift| (differ >> shift) & 0xFF != 0)
        .collect();
    let mut counts = vec![[0usize; 256]; shifts.len()];
    for &k in src.iter() {
        for (h, &shift) in counts.iter_mut().zip(&shifts) {
            h[((k >> shift) & 0xFF) as usize] += 1;
        }
    }
    let (mut from, mut to) = (src, dst);
    let mut sorted_in_src = true;
    for (h, &shift) in counts.iter().zip(&shifts) {
        let mut at = [0usize; 256];
        let mut next = 0;
        for (a, &c) in at.iter_mut().zip(h.iter()) {
            *a = next;
            next += c;
        }
        for &k in from.iter() {
            let d = ((k >> shift) & 0xFF) as usize;
            to[at[d]] = k;
            at[d] += 1;
        }
        std::mem::swap(&mut from, &mut to);
        sorted_in_src = !sorted_in_src;
    }
    if sorted_in_src != in_src {
        // The sorted keys are in `from`; `to` is where they are wanted.
        to.copy_from_slice(from);
    }
}

/// The first `len` counters of `store`, set to zero; the rest stay untouched.
fn zeroed_prefix(store: &mut [MaybeUninit<u32>], len: usize) -> &mut [u32] {
    let prefix = &mut store[..len];
    prefix.fill(MaybeUninit::new(0));
    // SAFETY: every element of `prefix` was just initialised, and `MaybeUninit<u32>` has
    // the layout of `u32`.
    unsafe { std::slice::from_raw_parts_mut(prefix.as_mut_ptr() as *mut u32, len) }
}

fn insertion_sort(keys: &mut [u64]) {
    for i in 1..keys.len() {
        let key = keys[i];
        let mut j = i;
        while j > 0 && keys[j - 1] > key {
            keys[j] = keys[j - 1];
            j -= 1;
        }
        keys[j] = key;
    }
}

/// Sorts a view in place, ascending, NaN last (like `numpy.sort`).
pub fn sort<T: Element>(mut view: StridedMut<'_, T>) -> Result<()> {
    let n = view.len();
    if n < 2 {
        return Ok(());
    }
    pool()?.install(|| {
        let mut room = Scratch::zeroed(n);
        if let Some(xs) = view.as_mut_slice() {
            if std::mem::size_of::<T>() == 8 && std::mem::align_of::<T>() == 8 {
                // 8-byte elements: the array itself holds the keys while it is sorted,
                // which saves filling a second n-element buffer. The pass that turns
                // values into keys also finds the bits in which they differ.
                let (or, and) = xs
                    .par_chunks_mut(1 << 14)
                    .map(|chunk| {
                        let (mut or, mut and) = (0u64, u64::MAX);
                        for x in chunk {
                            let key = x.key();
                            (or, and) = (or | key, and & key);
                            // SAFETY: T is 8 bytes and 8-aligned, so its storage holds a u64.
                            unsafe { (x as *mut T as *mut u64).write(key) };
                        }
                        (or, and)
                    })
                    .reduce(|| (0, u64::MAX), |(o1, a1), (o2, a2)| (o1 | o2, a1 & a2));
                // SAFETY: same memory, same length, u64-compatible (checked above); `xs`
                // is not used while `keys` lives.
                let keys =
                    unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr() as *mut u64, n) };
                sort_keys(keys, room.as_mut_slice(), or ^ and, true);
                keys.par_iter_mut().for_each(|k| {
                    let value = T::from_key(*k);
                    // SAFETY: as above: the slot is written back as a T.
                    unsafe { (k as *mut u64 as *mut T).write(value) };
                });
                return;
            }
            let mut keys = Scratch::zeroed(n);
            let keys = keys.as_mut_slice();
            keys.par_iter_mut()
                .zip(xs.par_iter())
                .for_each(|(k, &x)| *k = x.key());
            radix_sort(keys, room.as_mut_slice());
            xs.par_iter_mut()
                .zip(keys.par_iter())
                .for_each(|(x, &k)| *x = T::from_key(k));
            return;
        }
        let read = view.as_read();
        let mut keys = Scratch::zeroed(n);
        let keys = keys.as_mut_slice();
        keys.par_iter_mut()
            .enumerate()
            .for_each(|(i, k)| *k = read.get(i).key());
        radix_sort(keys, room.as_mut_slice());
        let mut i = 0;
        view.update(|_| {
            let x = T::from_key(keys[i]);
            i += 1;
            x
        });
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn radix_sort_sorts_large_input() {
        let mut xs: Vec<f64> = (0..200_000)
            .map(|i| ((i as f64) * 0.618_033_988_7).fract() * if i % 3 == 0 { -1e10 } else { 1.0 })
            .collect();
        xs[17] = f64::NAN;
        sort(StridedMut::from_slice(&mut xs)).unwrap();
        assert!(xs[..xs.len() - 1].windows(2).all(|w| w[0] <= w[1]));
        assert!(xs[xs.len() - 1].is_nan());
    }

    /// Keys of a given shape: which bits vary and how often keys repeat decide which of
    /// the sort's paths (parallel split, in-cache split, LSD, insertion) runs.
    fn shaped_keys(shape: u8, len: usize, seed: u64) -> Vec<u64> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..len)
            .map(|i| {
                let r = next();
                match shape % 9 {
                    0 => r,                                                              // every bit varies
                    1 => f64::key((r >> 11) as f64 / (1u64 << 53) as f64), // floats in [0, 1)
                    2 => f64::key(((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e6), // both signs
                    3 => i64::key((r % 2001) as i64 - 1000), // few values, many repeats
                    4 => 42,                                 // all equal
                    5 => i as u64 * 3,                       // sorted
                    6 => u64::MAX - i as u64,                // reversed
                    7 => (r & 1) << 63 | (r >> 50),          // top bit and low bits only
                    _ => i64::key((r >> 40) as i64 - (1 << 23)), // 24 varying bits, both signs
                }
            })
            .collect()
    }

    #[test]
    fn every_shape_and_size_matches_std() {
        let pool = crate::runtime::pool::pool().unwrap();
        for shape in 0..9 {
            for len in [
                0,
                1,
                2,
                12,
                13,
                100,
                5_000,
                PARALLEL_KEYS - 1,
                PARALLEL_KEYS * 3 + 7,
            ] {
                let keys = shaped_keys(shape, len, 7 + len as u64);
                let mut expected = keys.clone();
                expected.sort_unstable();
                for in_src in [true, false] {
                    let (mut src, mut dst) = (keys.clone(), vec![0u64; len]);
                    let differ = varying(&src);
                    pool.install(|| sort_keys(&mut src, &mut dst, differ, in_src));
                    let sorted = if in_src { &src } else { &dst };
                    assert!(
                        *sorted == expected,
                        "shape {shape}, {len} keys, in_src {in_src}"
                    );
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn shaped_keys_match_std(shape in 0u8..9, len in 0usize..40_000, seed in any::<u64>()) {
            let mut keys = shaped_keys(shape, len, seed);
            let mut expected = keys.clone();
            expected.sort_unstable();
            let mut room = vec![0u64; len];
            radix_sort(&mut keys, &mut room);
            prop_assert_eq!(keys, expected);
        }

        #[test]
        fn sort_matches_std(mut xs in proptest::collection::vec(any::<i64>(), 0..70_000)) {
            let mut expected = xs.clone();
            expected.sort_unstable();
            sort(StridedMut::from_slice(&mut xs)).unwrap();
            prop_assert_eq!(xs, expected);
        }
    }
}
