//! A parallel radix sort of order-preserving keys (`Element::key`).

use crate::array::{Element, StridedMut};
use crate::error::Result;
use crate::runtime::pool::{pool, MIN_PARALLEL_LEN};
use rayon::prelude::*;

const RADIX_BITS: u32 = 8;
const BUCKETS: usize = 1 << RADIX_BITS;

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

/// Keys per bucket that are sorted in cache (half of a 1 MiB L2 for keys plus room).
const CACHE_KEYS: usize = 1 << 15;

/// Sorts keys in place by MSD radix: a parallel pass splits them by their top varying
/// byte into 256 buckets (one read and one scattered write over memory); buckets small
/// enough for cache are then LSD-sorted there, larger ones split again, all in parallel.
/// Choosing the digit from the keys' own varying bits keeps buckets balanced for floats,
/// whose top bits are mostly a nearly constant exponent. `room` is as long as `keys`.
fn radix_sort(keys: &mut [u64], room: &mut [u64], tasks: usize) {
    let n = keys.len();
    let (or, and) = if n >= MIN_PARALLEL_LEN {
        keys.par_iter()
            .fold(|| (0u64, u64::MAX), |(o, a), &k| (o | k, a & k))
            .reduce(|| (0u64, u64::MAX), |(o1, a1), (o2, a2)| (o1 | o2, a1 & a2))
    } else {
        keys.iter()
            .fold((0u64, u64::MAX), |(o, a), &k| (o | k, a & k))
    };
    let varying = or ^ and;
    if varying == 0 {
        return; // all keys equal
    }
    if n <= CACHE_KEYS {
        sort_in_cache(keys, room, varying);
        return;
    }
    let top_bit = 63 - varying.leading_zeros();
    let shift = top_bit.saturating_sub(RADIX_BITS - 1);
    let digit = |k: u64| ((k >> shift) as usize) & (BUCKETS - 1);
    let chunk = n.div_ceil(tasks);
    let counts: Vec<[usize; BUCKETS]> = keys
        .par_chunks(chunk)
        .map(|c| {
            let mut h = [0usize; BUCKETS];
            for &k in c {
                h[digit(k)] += 1;
            }
            h
        })
        .collect();
    // offsets[t][b]: where task t writes its first key with digit b.
    let mut offsets = vec![[0usize; BUCKETS]; counts.len()];
    let mut bucket_len = [0usize; BUCKETS];
    let mut next = 0;
    for b in 0..BUCKETS {
        for (t, h) in counts.iter().enumerate() {
            offsets[t][b] = next;
            next += h[b];
            bucket_len[b] += h[b];
        }
    }
    let dst = Scatter(room.as_mut_ptr());
    keys.par_chunks(chunk)
        .zip(offsets.into_par_iter())
        .for_each(|(c, mut at)| {
            for &k in c {
                let d = digit(k);
                // SAFETY: `at[d]` stays inside this task's reserved range of `room`.
                unsafe { dst.write(at[d], k) };
                at[d] += 1;
            }
        });
    // Each bucket now sits in `room`; sort it back into the same range of `keys`.
    let mut pairs = Vec::with_capacity(BUCKETS);
    let (mut rest_keys, mut rest_room) = (keys, room);
    for len in bucket_len {
        let (k, kr) = rest_keys.split_at_mut(len);
        let (r, rr) = rest_room.split_at_mut(len);
        (rest_keys, rest_room) = (kr, rr);
        if len > 0 {
            pairs.push((k, r));
        }
    }
    let low_bits = varying & ((1u64 << shift) - 1);
    pairs.into_par_iter().for_each(|(target, bucket)| {
        if bucket.len() <= CACHE_KEYS {
            sort_bucket(bucket, target, low_bits);
        } else {
            radix_sort(bucket, target, tasks);
            target.copy_from_slice(bucket);
        }
    });
}

/// Sorts keys that fit in cache in place (LSD over the bits in `mask`).
fn sort_in_cache(keys: &mut [u64], room: &mut [u64], mask: u64) {
    sort_bucket(keys, room, mask);
    keys.copy_from_slice(room);
}

/// Sorts one bucket on the bits in `mask` with a sequential LSD radix sort, leaving the
/// result in `room`. Sequential, so every digit's histogram is known from one pass.
fn sort_bucket(bucket: &mut [u64], room: &mut [u64], mask: u64) {
    if bucket.len() <= 64 || mask == 0 {
        bucket.sort_unstable();
        room.copy_from_slice(bucket);
        return;
    }
    let passes: Vec<u32> = (0..64 / RADIX_BITS)
        .map(|p| p * RADIX_BITS)
        .filter(|&shift| (mask >> shift) & (BUCKETS as u64 - 1) != 0)
        .collect();
    let mut histograms = vec![[0usize; BUCKETS]; passes.len()];
    for &k in bucket.iter() {
        for (h, &shift) in histograms.iter_mut().zip(&passes) {
            h[((k >> shift) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let (mut from, mut to) = (bucket, room);
    let mut in_room = false;
    for (h, &shift) in histograms.iter().zip(&passes) {
        let mut at = [0usize; BUCKETS];
        let mut next = 0;
        for b in 0..BUCKETS {
            at[b] = next;
            next += h[b];
        }
        for &k in from.iter() {
            let d = ((k >> shift) as usize) & (BUCKETS - 1);
            to[at[d]] = k;
            at[d] += 1;
        }
        std::mem::swap(&mut from, &mut to);
        in_room = !in_room;
    }
    if !in_room {
        // The sorted keys are in `bucket` (now `from`); `to` is the room.
        to.copy_from_slice(from);
    }
}

/// Sorts a view in place, ascending, NaN last (like `numpy.sort`).
pub fn sort<T: Element>(mut view: StridedMut<'_, T>) -> Result<()> {
    let n = view.len();
    if n < 2 {
        return Ok(());
    }
    let pool = pool()?;
    let tasks = pool.current_num_threads() * 4;
    pool.install(|| {
        if let Some(xs) = view.as_mut_slice() {
            if std::mem::size_of::<T>() == 8 && std::mem::align_of::<T>() == 8 {
                // 8-byte elements: the array itself holds the keys while it is sorted,
                // which saves allocating (and page-faulting) a second n-element buffer.
                xs.par_iter_mut().for_each(|x| {
                    let key = x.key();
                    // SAFETY: T is 8 bytes and 8-aligned, so its storage holds a u64.
                    unsafe { (x as *mut T as *mut u64).write(key) };
                });
                // SAFETY: same memory, same length, u64-compatible (checked above); `xs`
                // is not used while `keys` lives.
                let keys =
                    unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr() as *mut u64, n) };
                let mut room = vec![0u64; n];
                radix_sort(keys, &mut room, tasks);
                keys.par_iter_mut().for_each(|k| {
                    let value = T::from_key(*k);
                    // SAFETY: as above: the slot is written back as a T.
                    unsafe { (k as *mut u64 as *mut T).write(value) };
                });
                return;
            }
            let mut keys: Vec<u64> = xs.par_iter().map(|&x| x.key()).collect();
            let mut scratch = vec![0u64; n];
            radix_sort(&mut keys, &mut scratch, tasks);
            xs.par_iter_mut()
                .zip(keys.par_iter())
                .for_each(|(x, &k)| *x = T::from_key(k));
            return;
        }
        let read = view.as_read();
        let mut keys: Vec<u64> = (0..n).into_par_iter().map(|i| read.get(i).key()).collect();
        let mut scratch = vec![0u64; n];
        radix_sort(&mut keys, &mut scratch, tasks);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn sort_matches_std(mut xs in proptest::collection::vec(any::<i64>(), 0..70_000)) {
            let mut expected = xs.clone();
            expected.sort_unstable();
            sort(StridedMut::from_slice(&mut xs)).unwrap();
            prop_assert_eq!(xs, expected);
        }
    }
}
