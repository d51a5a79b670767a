//! KLL's sampler (Karnin, Lang, Liberty 2016, section 4): for a long stream, the lowest
//! levels are replaced by pairwise sampling, so most values cost a coin flip instead of a
//! place in a sorted compaction.
//!
//! At sampling level `s`, values are paired as they come; one of each pair, chosen by a
//! fair coin, goes on with twice the weight, and so on `s` times: one value in `2^s`
//! reaches the sketch, with weight `2^s`. The leftovers of each level (at most one per
//! level) wait in `pending` and join the sketch at their own weight when the stream ends
//! (`KllSketch::absorb`), so the count stays exact. When nothing waits and a block is
//! whole groups of `2^s` values, one value of each group is picked by `s` coins instead:
//! the same distribution, without `s` passes over the block.
//!
//! **Error.** Each pairing is unbiased for every rank; a pair straddling a query adds a
//! variance of `4^j` at level `j`, so the sampler adds a rank variance of at most
//! `n * 2^s / 4` in all (a standard deviation of `sqrt(2^(s - 2) / n)` of the normalized
//! rank). `sampling_level` chooses `s` so that this is at most 0.3 times the standard
//! deviation behind the sketch's 99% bound: the bound grows by under 5%.
//!
//! **Determinism.** The coins come from a splitmix64 stream seeded with the first value,
//! so the same values give the same sketch.

use super::super::hash::mix;
use super::{key, KllSketch};

/// The sampling level for about `n` values: the largest `s` with
/// `sqrt(2^(s - 2) / n) <= 0.3 * epsilon / 2.576` for k = 200 (0 below about 220,000
/// values, 4 at 2 million, 6 at 10 million).
pub fn sampling_level(n: u64) -> u8 {
    // (0.3 * 0.0133 / 2.576)^2 * 4 = 9.6e-6: 2^s <= 9.6e-6 * n.
    let room = n as f64 * 9.6e-6;
    if room < 2.0 {
        0
    } else {
        (room.log2().floor() as u8).min(40)
    }
}

/// The pairing state of one stream: see the module documentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sampler {
    level: u8,
    /// `pending[j]`: the unpaired value of weight `2^j`, as an order key.
    pending: Vec<Option<u64>>,
    state: u64,
    seeded: bool,
    /// Scratch for the values of a block on their way up.
    scratch: Vec<u64>,
}

impl Sampler {
    /// A sampler that lets one value in `2^level` through.
    pub fn new(level: u8) -> Sampler {
        Sampler {
            level,
            pending: vec![None; usize::from(level)],
            ..Sampler::default()
        }
    }

    /// The sampling level.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Whether values wait to be paired (then `KllSketch::absorb` must run before the
    /// sketch is read).
    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(Option::is_some)
    }

    /// 64 fresh coins.
    #[inline]
    fn coins(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Whether `n` values can go through `pick`: nothing waits at any level and they
    /// make whole groups of `2^level` (a full block of a scan does).
    fn can_pick(&self, n: usize) -> bool {
        self.level > 0
            && self.level < 16
            && n.is_multiple_of(1usize << self.level)
            && !self.has_pending()
    }

    /// The order keys of one value of each group of `2^level` consecutive values of `xs`,
    /// chosen by `level` coins: exactly what `level` rounds of fair pairings keep (each
    /// member of an aligned group survives with probability `2^-level`, one per group),
    /// without converting and moving every value once per level.
    fn pick(&mut self, xs: &[f64], out: &mut Vec<u64>) {
        if !self.seeded && !xs.is_empty() {
            self.state = key(xs[0]);
            self.seeded = true;
        }
        let level = u32::from(self.level);
        let mask = (1u64 << level) - 1;
        let per_word = 64 / level;
        let (mut word, mut left) = (0u64, 0u32);
        for group in xs.chunks_exact(1 << level) {
            if left == 0 {
                (word, left) = (self.coins(), per_word);
            }
            out.push(key(group[(word & mask) as usize]));
            word >>= level;
            left -= 1;
        }
    }

    /// Thins the keys in `items` (weight 1) in place, level by level; returns how many of
    /// weight `2^level` are left at the front.
    fn thin(&mut self, items: &mut [u64]) -> usize {
        if !self.seeded && !items.is_empty() {
            self.state = items[0];
            self.seeded = true;
        }
        let mut len = items.len();
        for j in 0..usize::from(self.level) {
            let (mut read, mut write) = (0, 0);
            if let Some(p) = self.pending[j].take() {
                if len == 0 {
                    self.pending[j] = Some(p);
                    return 0;
                }
                if self.coins() & 1 == 1 {
                    items[0] = p;
                }
                (read, write) = (1, 1);
            }
            // Pairs take one coin each, 64 to a word, chosen without a branch.
            let pairs = (len - read) / 2;
            let mut done = 0;
            while done < pairs {
                let word = self.coins();
                let batch = (pairs - done).min(64);
                for b in 0..batch {
                    let tails = ((word >> b) & 1) as usize;
                    items[write + b] = items[read + 2 * b + tails];
                }
                (read, write, done) = (read + 2 * batch, write + batch, done + batch);
            }
            if read < len {
                self.pending[j] = Some(items[read]);
            }
            len = write;
        }
        len
    }
}

impl KllSketch {
    /// Adds every value of `xs` (NaN ignored) through `sampler`: see the module
    /// documentation. At level 0 this is `extend`. `block` is what the caller knows of
    /// `xs` already: their smallest and largest value (NaN ignored) and whether one is NaN.
    pub fn extend_sampled(
        &mut self,
        xs: &[f64],
        block: Option<(f64, f64, bool)>,
        sampler: &mut Sampler,
    ) {
        if sampler.level == 0 {
            return self.extend(xs);
        }
        let mut items = std::mem::take(&mut sampler.scratch);
        items.clear();
        let (low, high, any_nan) = block.unwrap_or_else(|| {
            let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
            for &x in xs {
                low = low.min(x);
                high = high.max(x);
            }
            (low, high, xs.iter().any(|x| x.is_nan()))
        });
        let picked = !any_nan && sampler.can_pick(xs.len());
        if picked {
            sampler.pick(xs, &mut items);
        } else if any_nan {
            items.extend(xs.iter().filter(|x| !x.is_nan()).map(|&x| key(x)));
        } else {
            super::super::blocks::keys_of(xs, &mut items);
        }
        if !items.is_empty() {
            if self.min.is_nan() {
                (self.min, self.max) = (low, high);
            } else {
                self.min = self.min.min(low);
                self.max = self.max.max(high);
            }
        }
        let kept = if picked {
            items.len()
        } else {
            sampler.thin(&mut items)
        };
        self.insert_batch(usize::from(sampler.level), &mut items[..kept]);
        sampler.scratch = items;
    }

    /// Puts the values still waiting in `sampler` into the sketch, each at its weight.
    pub fn absorb(&mut self, sampler: &mut Sampler) {
        for j in 0..sampler.pending.len() {
            if let Some(p) = sampler.pending[j].take() {
                self.insert_batch(j, &mut [p]);
            }
        }
    }

    /// Adds `items` (order keys) of weight `2^level` each.
    fn insert_batch(&mut self, level: usize, items: &mut [u64]) {
        if items.is_empty() {
            return;
        }
        if level == 0 {
            for &x in items.iter() {
                self.push(x);
            }
            self.n += items.len() as u64;
            return;
        }
        while self.levels.len() <= level {
            self.levels.push(Vec::new());
            self.set_capacities();
        }
        items.sort_unstable();
        super::merge_into(&mut self.levels[level], items);
        self.retained += items.len();
        self.n += (items.len() as u64) << level;
        if self.retained >= self.limit() {
            self.compress();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_min_and_max_stay_exact() {
        for level in [0u8, 1, 3, 6] {
            let mut sketch = KllSketch::default();
            let mut sampler = Sampler::new(level);
            let xs: Vec<f64> = (0..10_007).map(|i| ((i * 7919) % 10_007) as f64).collect();
            for block in xs.chunks(4096) {
                sketch.extend_sampled(block, None, &mut sampler);
            }
            sketch.absorb(&mut sampler);
            assert!(!sampler.has_pending());
            assert_eq!(sketch.count(), 10_007, "level {level}");
            assert_eq!(sketch.min_max(), Some((0.0, 10_006.0)));
            // The module's bound: the sketch's 1.33% plus 3.5 standard deviations of the
            // sampler's sqrt(2^(s - 2) / n).
            let spread = 0.0133 + 3.5 * (2f64.powi(i32::from(level) - 2) / 10_007.0).sqrt();
            let median = sketch.quantile(0.5).unwrap();
            assert!(
                (median - 5003.0).abs() <= 10_007.0 * spread,
                "{level}: {median}"
            );
        }
    }

    #[test]
    fn levels_grow_with_the_count() {
        assert_eq!(sampling_level(100_000), 0);
        assert_eq!(sampling_level(2_000_000), 4);
        assert_eq!(sampling_level(10_000_000), 6);
    }
}
