//! Order statistics: parallel sort and quantiles by selection.
//!
//! Both work on order-preserving unsigned keys (a float's bits, flipped so that integer
//! order is numeric order), which lets a sort be a parallel LSD radix sort and a quantile
//! a radix selection: histogram passes over the data instead of a full sort.

use crate::error::Result;
use crate::parallel::{pool, MIN_PARALLEL_LEN};
use crate::view::{Element, Strided, StridedMut};
use rayon::prelude::*;

/// An element type with an order-preserving key. NaN maps above +inf, so it sorts last,
/// as numpy sorts it.
pub trait Ordered: Element {
    fn key(self) -> u64;
    fn from_key(key: u64) -> Self;
    fn is_nan(self) -> bool;
}

impl Ordered for f64 {
    #[inline(always)]
    fn key(self) -> u64 {
        // Every NaN becomes a positive NaN: above +inf whatever its sign bit.
        let bits = if self.is_nan() {
            self.to_bits() & !(1 << 63)
        } else {
            self.to_bits()
        };
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | 1 << 63
        }
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        f64::from_bits(if key >> 63 == 1 {
            key & !(1 << 63)
        } else {
            !key
        })
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

impl Ordered for f32 {
    #[inline(always)]
    fn key(self) -> u64 {
        let bits = if self.is_nan() {
            self.to_bits() & !(1 << 31)
        } else {
            self.to_bits()
        };
        (if bits >> 31 == 1 {
            !bits
        } else {
            bits | 1 << 31
        }) as u64
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        let key = key as u32;
        f32::from_bits(if key >> 31 == 1 {
            key & !(1 << 31)
        } else {
            !key
        })
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl Ordered for i64 {
    #[inline(always)]
    fn key(self) -> u64 {
        (self as u64) ^ (1 << 63)
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        (key ^ (1 << 63)) as i64
    }
    fn is_nan(self) -> bool {
        false
    }
}

impl Ordered for i32 {
    #[inline(always)]
    fn key(self) -> u64 {
        ((self as u32) ^ (1 << 31)) as u64
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        ((key as u32) ^ (1 << 31)) as i32
    }
    fn is_nan(self) -> bool {
        false
    }
}

const RADIX_BITS: u32 = 8;
const BUCKETS: usize = 1 << RADIX_BITS;

/// Raw destination pointer shared by the scatter tasks. Each task writes only the
/// positions its prefix sums assign to it, so the writes never overlap.
#[derive(Clone, Copy)]
struct Scatter(*mut u64);
// SAFETY: see above: disjoint writes, and the buffer outlives the scope.
unsafe impl Send for Scatter {}
unsafe impl Sync for Scatter {}

impl Scatter {
    /// # Safety
    /// `at` is inside the buffer and no other task writes it.
    #[inline(always)]
    unsafe fn write(self, at: usize, key: u64) {
        unsafe { *self.0.add(at) = key };
    }
}

/// Sorts keys in place with a parallel LSD radix sort, skipping the digits on which all
/// keys agree (the common high bits of most real data).
fn radix_sort(keys: &mut Vec<u64>, tasks: usize) {
    let n = keys.len();
    if n < 2 {
        return;
    }
    if n < MIN_PARALLEL_LEN {
        keys.sort_unstable();
        return;
    }
    let (or, and) = keys
        .par_iter()
        .fold(|| (0u64, u64::MAX), |(o, a), &k| (o | k, a & k))
        .reduce(|| (0u64, u64::MAX), |(o1, a1), (o2, a2)| (o1 | o2, a1 & a2));
    let varying = or ^ and;
    let chunk = n.div_ceil(tasks);
    let mut scratch = vec![0u64; n];
    for pass in 0..(64 / RADIX_BITS) {
        let shift = pass * RADIX_BITS;
        if (varying >> shift) & (BUCKETS as u64 - 1) == 0 {
            continue;
        }
        let digit = |k: u64| ((k >> shift) as usize) & (BUCKETS - 1);
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
        let mut next = 0;
        for b in 0..BUCKETS {
            for (t, h) in counts.iter().enumerate() {
                offsets[t][b] = next;
                next += h[b];
            }
        }
        let dst = Scatter(scratch.as_mut_ptr());
        keys.par_chunks(chunk)
            .zip(offsets.into_par_iter())
            .for_each(|(c, mut at)| {
                for &k in c {
                    let d = digit(k);
                    // SAFETY: `at[d]` stays inside this task's reserved range of `scratch`.
                    unsafe { dst.write(at[d], k) };
                    at[d] += 1;
                }
            });
        std::mem::swap(keys, &mut scratch);
    }
}

/// Sorts a view in place, ascending, NaN last (like `numpy.sort`).
pub fn sort<T: Ordered>(mut view: StridedMut<'_, T>) -> Result<()> {
    let n = view.len();
    if n < 2 {
        return Ok(());
    }
    let pool = pool()?;
    let tasks = pool.current_num_threads() * 4;
    pool.install(|| {
        let mut keys: Vec<u64> = match view.as_mut_slice() {
            Some(xs) => xs.par_iter().map(|&x| x.key()).collect(),
            None => {
                let read = view.as_read();
                (0..n).into_par_iter().map(|i| read.get(i).key()).collect()
            }
        };
        radix_sort(&mut keys, tasks);
        match view.as_mut_slice() {
            Some(xs) => xs
                .par_iter_mut()
                .zip(keys.par_iter())
                .for_each(|(x, &k)| *x = T::from_key(k)),
            None => {
                let mut i = 0;
                view.update(|_| {
                    let x = T::from_key(keys[i]);
                    i += 1;
                    x
                });
            }
        }
    });
    Ok(())
}

const SELECT_BITS: u32 = 16;

/// The keys of the given ranks (0-based positions in sorted order) among `n` keys read
/// through `key_at`, by radix selection: a histogram of the top 16 bits finds the bucket
/// holding each rank; only that bucket's keys are copied out and searched further. The
/// source is never copied or reordered.
fn select_ranks<F>(n: usize, key_at: &F, ranks: &[usize], tasks: usize, shift: u32) -> Vec<u64>
where
    F: Fn(usize) -> u64 + Sync,
{
    if n <= 4096 {
        let mut keys: Vec<u64> = (0..n).map(key_at).collect();
        keys.sort_unstable();
        return ranks.iter().map(|&r| keys[r]).collect();
    }
    let digit = |key: u64| ((key >> shift) & ((1 << SELECT_BITS) - 1)) as usize;
    let per_task = n.div_ceil(tasks);
    let counts = (0..tasks)
        .into_par_iter()
        .map(|t| {
            let mut h = vec![0usize; 1 << SELECT_BITS];
            for i in (t * per_task)..((t + 1) * per_task).min(n) {
                h[digit(key_at(i))] += 1;
            }
            h
        })
        .reduce(
            || vec![0usize; 1 << SELECT_BITS],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let mut starts = Vec::with_capacity(counts.len());
    let mut total = 0;
    for &c in &counts {
        starts.push(total);
        total += c;
    }
    let mut result = vec![0u64; ranks.len()];
    let mut done = vec![false; ranks.len()];
    for i in 0..ranks.len() {
        if done[i] {
            continue;
        }
        let bucket = starts.partition_point(|&s| s <= ranks[i]) - 1;
        // Every rank that falls in the same bucket is answered from one copy of it.
        let same: Vec<usize> = (i..ranks.len())
            .filter(|&j| !done[j] && starts.partition_point(|&s| s <= ranks[j]) - 1 == bucket)
            .collect();
        let sub_ranks: Vec<usize> = same.iter().map(|&j| ranks[j] - starts[bucket]).collect();
        let values = if counts[bucket] == n && shift == 0 {
            vec![key_at(0); same.len()]
        } else if counts[bucket] == n {
            select_ranks(n, key_at, &sub_ranks, tasks, shift - SELECT_BITS)
        } else {
            let members: Vec<u64> = (0..n)
                .into_par_iter()
                .with_min_len(1 << 14)
                .map(key_at)
                .filter(|&key| digit(key) == bucket)
                .collect();
            let next = shift.saturating_sub(SELECT_BITS);
            if shift == 0 {
                vec![members[0]; same.len()]
            } else {
                select_in(&members, &sub_ranks, tasks, next)
            }
        };
        for (&j, v) in same.iter().zip(values) {
            result[j] = v;
            done[j] = true;
        }
    }
    result
}

/// `select_ranks` over keys already copied out (a non-generic step, which keeps the
/// recursion to one instantiation).
fn select_in(keys: &[u64], ranks: &[usize], tasks: usize, shift: u32) -> Vec<u64> {
    select_ranks(keys.len(), &|j: usize| keys[j], ranks, tasks, shift)
}

/// numpy's `_lerp`: `a + (b - a) * t`, computed from `b` when `t >= 0.5`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Quantiles of a view with numpy's default ("linear") method: the same values as
/// `numpy.quantile(a, qs)` computed in float64. Each `q` must lie in [0, 1]; any NaN in
/// the data makes every quantile NaN, and empty data gives NaN.
pub fn quantiles<T: Ordered>(view: Strided<'_, T>, qs: &[f64]) -> Result<Vec<f64>> {
    let n = view.len();
    if let Some(q) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(crate::error::Error::invalid_argument(format!(
            "q must be within [0, 1], got {q}"
        )));
    }
    if n == 0 {
        return Ok(vec![f64::NAN; qs.len()]);
    }
    let pool = pool()?;
    let tasks = pool.current_num_threads() * 2;
    pool.install(|| {
        let key_at = |i: usize| view.get(i).key();
        let has_nan = (0..n)
            .into_par_iter()
            .with_min_len(1 << 14)
            .any(|i| view.get(i).is_nan());
        if has_nan {
            return Ok(vec![f64::NAN; qs.len()]);
        }
        // numpy's linear method: virtual index (n - 1) * q between two neighbouring ranks.
        let mut ranks = Vec::with_capacity(2 * qs.len());
        let mut gammas = Vec::with_capacity(qs.len());
        for &q in qs {
            let virtual_index = (n - 1) as f64 * q;
            if virtual_index >= (n - 1) as f64 {
                // numpy marks these with index -1, which makes gamma = v + 1.
                ranks.extend([n - 1, n - 1]);
                gammas.push(virtual_index + 1.0);
            } else {
                let below = virtual_index.floor();
                ranks.extend([below as usize, below as usize + 1]);
                gammas.push(virtual_index - below);
            }
        }
        let keys = select_ranks(n, &key_at, &ranks, tasks, 64 - SELECT_BITS);
        Ok(keys
            .chunks(2)
            .zip(gammas)
            .map(|(pair, gamma)| lerp_values(T::from_key(pair[0]), T::from_key(pair[1]), gamma))
            .collect())
    })
}

fn lerp_values<T: Ordered>(a: T, b: T, t: f64) -> f64 {
    lerp(a.to_f64(), b.to_f64(), t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_preserve_order_with_nan_last() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
        ];
        let keys: Vec<u64> = xs.iter().map(|x| x.key()).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
        assert!((-f64::NAN).key() > f64::INFINITY.key());
        for x in &xs[..7] {
            assert_eq!(f64::from_key(x.key()).to_bits(), x.to_bits());
        }
        assert!(i64::MIN.key() < (-1i64).key() && (-1i64).key() < 0i64.key());
        assert!(i32::MIN.key() < i32::MAX.key());
        assert_eq!(i32::from_key((-7i32).key()), -7);
        assert_eq!(f32::from_key((-2.5f32).key()), -2.5);
    }

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

    #[test]
    fn quantile_edges_and_nan() {
        let xs = [3.0, 1.0, 2.0, 4.0];
        let q = quantiles(Strided::from_slice(&xs), &[0.0, 0.5, 1.0, 1.0 / 3.0]).unwrap();
        assert_eq!(&q[..3], &[1.0, 2.5, 4.0]);
        assert!((q[3] - 2.0).abs() < 1e-12);
        let with_nan = [1.0, f64::NAN];
        assert!(quantiles(Strided::from_slice(&with_nan), &[0.5]).unwrap()[0].is_nan());
        assert!(quantiles(Strided::from_slice(&xs), &[1.5]).is_err());
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

        #[test]
        fn select_matches_sorting(xs in proptest::collection::vec(-1e6f64..1e6, 1..20_000), q in 0.0f64..=1.0) {
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let v = (xs.len() - 1) as f64 * q;
            let below = v.floor() as usize;
            let above = (below + 1).min(xs.len() - 1);
            let expected = lerp(sorted[below], sorted[above], v - below as f64);
            let got = quantiles(Strided::from_slice(&xs), &[q]).unwrap()[0];
            prop_assert!((got - expected).abs() <= 1e-9 * (1.0 + expected.abs()));
        }
    }
}
