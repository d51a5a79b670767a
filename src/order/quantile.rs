//! Quantiles by radix selection: histogram passes over the keys instead of a sort, the
//! source never copied or reordered.

use crate::array::{Element, Strided};
use crate::error::Result;
use crate::runtime::pool::pool;
use rayon::prelude::*;

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
pub fn quantiles<T: Element>(view: Strided<'_, T>, qs: &[f64]) -> Result<Vec<f64>> {
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

fn lerp_values<T: Element>(a: T, b: T, t: f64) -> f64 {
    match (a.as_i64(), b.as_i64()) {
        // numpy interpolates integers with their exact difference (past 2^53 the
        // difference of the rounded values can differ in the last bit).
        (Some(x), Some(y)) => {
            let diff = (i128::from(y) - i128::from(x)) as f64;
            if t >= 0.5 {
                y as f64 - diff * (1.0 - t)
            } else {
                x as f64 + diff * t
            }
        }
        _ => lerp(a.to_f64(), b.to_f64(), t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn int64_past_2_53_interpolates_the_exact_difference() {
        // numpy.quantile(np.array([2**53 + 1, 2**53 + 2, 2**63 - 1]), 0.25) is
        // 9007199254740994.0: float(a) + float(b - a) * t, not the rounded values' lerp.
        let xs = [(1i64 << 53) + 1, (1 << 53) + 2, i64::MAX];
        let q = quantiles(Strided::from_slice(&xs), &[0.25, 0.75]).unwrap();
        assert_eq!(q[0], 9007199254740994.0);
        assert_eq!(
            q[1],
            i64::MAX as f64 - ((i64::MAX - (1 << 53) - 2) as f64) * 0.5
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

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
