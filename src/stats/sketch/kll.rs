//! KLL quantile sketch (Karnin, Lang, Liberty 2016) on doubles, laid out as Apache
//! DataSketches lays out its `KllDoublesSketch`, so the bytes are that library's.
//!
//! **Domain.** Values are f64. NaN is not a value here: the caller excludes and counts it
//! (`update` ignores NaN). ±inf are values like any other. An integer column goes through
//! f64, so integers past 2^53 are rounded to the nearest double before they get here; that
//! is the caller's concern (the exact integer min and max live in `Stats`).
//!
//! **Exactness.** The sketch keeps every value until it holds `k` (the capacity of its
//! first level), also through merges whose counts add up to at most `k`; while
//! `count() <= k`, `quantile(q)` is numpy's `quantile(x, q)` with the default `linear`
//! method, bit for bit on finite data (up to the sign of a zero: numpy's sort leaves `-0.0`
//! and `0.0` in either order, ours puts `-0.0` first). Where numpy's arithmetic makes NaN
//! of an infinity (it computes `a + (b - a) * t` even for `t = 0` or `a == b`, so every
//! quantile that touches an infinity is NaN in numpy 2.4), we return the interpolation's
//! limit: `a` for `t = 0`, the infinite end otherwise, and between `-inf` and `+inf` the
//! end the weight leans to. `quantile(0)` and `quantile(1)` are always the exact min and
//! max.
//!
//! **Error bound.** Past `k` values, the value returned for `q` has a true normalized rank
//! within `epsilon(k) = 2.296 / k^0.9723` of `q` (DataSketches' single-sided bound, 1.33%
//! at k = 200, fitted to the 99th percentile of the error over many trials; the
//! double-sided bound for differences of two ranks, 1.65% at k = 200, is
//! `2.446 / k^0.9433`). The value's true rank is an interval when it repeats; the distance
//! is to that interval. Merged sketches obey the same bound.
//!
//! **Determinism.** Compaction keeps the odd or the even half of a level. DataSketches
//! flips a random coin; we take the coin from a hash of the count so far, the level and its
//! population, so the same updates and merges in the same order give the same sketch.

use super::hash::mix;
use crate::error::{Error, Result};

mod sampler;
mod serial;

pub use sampler::{sampling_level, Sampler};

/// The default `k`, as DataSketches'.
pub(crate) const DEFAULT_K: u16 = 200;
/// The smallest `k` DataSketches accepts (its `m`, the narrowest level).
const MIN_K: u16 = 8;
const M: u16 = 8;
/// Past the first compaction, level 0 may run this many items over the capacity before
/// the sketch compacts: compacting every ~128 values instead of every ~8 halves the cost
/// of an update, and DataSketches' `general_compress` is proven to restore the capacity
/// whatever level 0 holds. `to_bytes` compacts them first (DataSketches' layout has no
/// room for them).
const SLACK: usize = 128;

/// A mergeable quantile sketch of f64 values: see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct KllSketch {
    k: u16,
    /// DataSketches' smallest k among the sketches merged in, which sets the error; ours
    /// only merge equal k, so it is `k` unless the bytes came from DataSketches.
    min_k: u16,
    n: u64,
    min: f64,
    max: f64,
    /// `levels[h]` holds items of weight 2^h as order keys (see `key`); every level but
    /// 0 is sorted.
    levels: Vec<Vec<u64>>,
    /// Items held, all levels.
    retained: usize,
    /// The total capacity for the current number of levels: compaction starts when the
    /// sketch holds this many items.
    capacity: usize,
    /// Each level's capacity for the current number of levels (a function of k and it).
    caps: Vec<usize>,
}

impl Default for KllSketch {
    fn default() -> Self {
        KllSketch::new(DEFAULT_K).expect("the default k is valid")
    }
}

/// A level's capacity, as DataSketches computes it: `max(m, round(k * (2/3)^depth))`
/// in integer arithmetic, where depth counts the levels above it.
fn level_capacity(k: u16, num_levels: usize, level: usize) -> usize {
    let depth = num_levels - level - 1;
    usize::from(M).max(usize::from(cap_aux(k, depth)))
}

fn cap_aux(k: u16, depth: usize) -> u16 {
    if depth <= 30 {
        return cap_aux_aux(k, depth);
    }
    let half = depth / 2;
    cap_aux_aux(cap_aux_aux(k, half), depth - half)
}

fn cap_aux_aux(k: u16, depth: usize) -> u16 {
    let twok = u64::from(k) << 1;
    let tmp = (twok << depth) / 3u64.pow(depth as u32);
    ((tmp + 1) >> 1) as u16
}

fn total_capacity(k: u16, num_levels: usize) -> usize {
    (0..num_levels)
        .map(|h| level_capacity(k, num_levels, h))
        .sum()
}

/// The normalized rank error bound for `k`: single-sided (a quantile or a rank), or
/// double-sided (the mass between two values), DataSketches' fitted 99% bounds.
pub fn rank_error(k: u16, double_sided: bool) -> f64 {
    let k = f64::from(k);
    if double_sided {
        2.446 / k.powf(0.9433)
    } else {
        2.296 / k.powf(0.9723)
    }
}

impl KllSketch {
    /// An empty sketch with parameter `k` (8 to 65535; 200 is the default).
    pub fn new(k: u16) -> Result<Self> {
        if k < MIN_K {
            return Err(Error::invalid_argument(format!(
                "KLL sketch: k must be from {MIN_K} to 65535, not {k}"
            )));
        }
        Ok(KllSketch {
            k,
            min_k: k,
            n: 0,
            min: f64::NAN,
            max: f64::NAN,
            levels: vec![Vec::with_capacity(usize::from(k))],
            retained: 0,
            capacity: usize::from(k),
            caps: vec![usize::from(k)],
        })
    }

    /// The parameter `k`.
    pub fn k(&self) -> u16 {
        self.k
    }

    /// How many values went in (NaN excluded).
    pub fn count(&self) -> u64 {
        self.n
    }

    /// True while every value is kept (so quantiles are exact).
    pub fn is_exact(&self) -> bool {
        self.levels.len() == 1
    }

    /// The smallest and largest value, exact; `None` when empty.
    pub fn min_max(&self) -> Option<(f64, f64)> {
        (self.n > 0).then_some((self.min, self.max))
    }

    /// How many items the sketch holds (at most its capacity, about `3k`, plus 128).
    pub fn retained(&self) -> usize {
        self.retained
    }

    /// The normalized rank error bound this sketch guarantees (0 while exact).
    pub fn rank_error(&self) -> f64 {
        if self.is_exact() {
            0.0
        } else {
            rank_error(self.min_k, false)
        }
    }

    /// Adds one value; NaN is ignored (the caller counts it).
    #[inline]
    pub fn update(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        if self.n == 0 {
            (self.min, self.max) = (x, x);
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.push(key(x));
        self.n += 1;
    }

    /// Adds every value of `xs` (NaN ignored).
    pub fn extend(&mut self, xs: &[f64]) {
        for &x in xs {
            self.update(x);
        }
    }

    /// How many items the sketch may hold before it compacts.
    #[inline]
    fn limit(&self) -> usize {
        if self.levels.len() > 1 {
            self.capacity + SLACK
        } else {
            self.capacity
        }
    }

    #[inline]
    fn push(&mut self, x: u64) {
        if self.retained >= self.limit() {
            self.compress();
        }
        self.levels[0].push(x);
        self.retained += 1;
    }

    /// Compacts the items held over the capacity (see `to_bytes`), so this sketch answers
    /// exactly as its bytes do.
    pub fn settle(&mut self) {
        if self.retained > self.capacity {
            self.compress();
        }
    }

    /// Merges `other` into this sketch. Both must have the same `k`.
    pub fn merge(&mut self, other: &KllSketch) -> Result<()> {
        if other.k != self.k {
            return Err(Error::invalid_argument(format!(
                "cannot merge KLL sketches with different k ({} and {})",
                self.k, other.k
            )));
        }
        if other.n == 0 {
            return Ok(());
        }
        let Some(n) = self.n.checked_add(other.n) else {
            return Err(Error::invalid_argument(
                "KLL sketch: merged count past 2^64",
            ));
        };
        let (min, max) = match self.min_max() {
            Some((a, b)) => (a.min(other.min), b.max(other.max)),
            None => (other.min, other.max),
        };
        for &x in &other.levels[0] {
            self.push(x);
        }
        if other.levels.len() > 1 {
            while self.levels.len() < other.levels.len() {
                self.levels.push(Vec::new());
            }
            for (h, theirs) in other.levels.iter().enumerate().skip(1) {
                let ours = std::mem::take(&mut self.levels[h]);
                self.levels[h] = merge_sorted(&ours, theirs);
                self.retained += theirs.len();
            }
            self.set_capacities();
            self.compress();
        }
        (self.n, self.min, self.max) = (n, min, max);
        self.min_k = self.min_k.min(other.min_k);
        Ok(())
    }

    /// DataSketches' `general_compress`: from the bottom up, while the sketch holds at
    /// least its capacity, halve each level that holds at least its own capacity into the
    /// level above, adding a level on top when the top one is halved.
    fn compress(&mut self) {
        let mut level = 0;
        while level < self.levels.len() {
            if self.retained >= self.capacity && self.levels[level].len() >= self.caps[level] {
                if level + 1 == self.levels.len() {
                    self.levels.push(Vec::new());
                    self.set_capacities();
                }
                self.retained -= self.compact(level);
            }
            level += 1;
        }
    }

    fn set_capacities(&mut self) {
        let num_levels = self.levels.len();
        self.caps = (0..num_levels)
            .map(|h| level_capacity(self.k, num_levels, h))
            .collect();
        self.capacity = self.caps.iter().sum();
    }

    /// Halves level `h` into level `h + 1` (an odd item out stays); returns how many items
    /// went away. In place: no allocation once the levels have grown.
    fn compact(&mut self, h: usize) -> usize {
        let coin = self.coin(h);
        let (below, above) = self.levels.split_at_mut(h + 1);
        let items = &mut below[h];
        let odd = items.len() % 2;
        let rest = &mut items[odd..];
        if h == 0 {
            rest.sort_unstable();
        }
        let half = rest.len() / 2;
        for i in 0..half {
            rest[i] = rest[2 * i + coin];
        }
        merge_into(&mut above[0], &rest[..half]);
        items.truncate(odd);
        half
    }

    /// 0 or 1: which half a compaction keeps, a hash of where the sketch is.
    fn coin(&self, h: usize) -> usize {
        let pop = self.levels[h].len() as u64;
        (mix(self.n ^ ((h as u64) << 56) ^ (pop << 24)) >> 63) as usize
    }

    /// The value at probability `q` (0 to 1), numpy's `linear` method over the weighted
    /// items; NaN when empty.
    pub fn quantile(&self, q: f64) -> Result<f64> {
        Ok(self.quantiles(&[q])?[0])
    }

    /// `quantile` for each of `qs`, sorting the items once.
    pub fn quantiles(&self, qs: &[f64]) -> Result<Vec<f64>> {
        if let Some(bad) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(Error::invalid_argument(format!(
                "quantile probabilities must be from 0 to 1, not {bad}"
            )));
        }
        if self.n == 0 {
            return Ok(vec![f64::NAN; qs.len()]);
        }
        let sorted = self.sorted_items();
        Ok(qs.iter().map(|&q| self.quantile_of(&sorted, q)).collect())
    }

    /// For each of `splits`, how many values are below it: exact while `is_exact`, else
    /// within `rank_error(k, true) * count()` of the truth for the mass between two.
    pub fn counts_below(&self, splits: &[f64]) -> Vec<u64> {
        let sorted = self.sorted_items();
        splits
            .iter()
            .map(|&s| match sorted.partition_point(|&(v, _)| v < s) {
                0 => 0,
                i => sorted[i - 1].1,
            })
            .collect()
    }

    /// Every item with the count of the stream's positions before it plus its weight
    /// (cumulative weight), in value order.
    fn sorted_items(&self) -> Vec<(f64, u64)> {
        let mut items: Vec<(u64, u64)> = Vec::with_capacity(self.retained);
        for (h, level) in self.levels.iter().enumerate() {
            items.extend(level.iter().map(|&x| (x, 1u64 << h)));
        }
        items.sort_unstable_by_key(|item| item.0);
        let mut total = 0;
        items
            .into_iter()
            .map(|(x, w)| {
                total += w;
                (value(x), total)
            })
            .collect()
    }

    fn quantile_of(&self, sorted: &[(f64, u64)], q: f64) -> f64 {
        if !self.is_exact() && (q == 0.0 || q == 1.0) {
            // The extremes may have been compacted away; the sketch keeps them apart.
            return if q == 0.0 { self.min } else { self.max };
        }
        // numpy: virtual index (n - 1) * q, its floor and the next position; at or past
        // the last position both are the last and the weight is index + 1.
        let index = (self.n - 1) as f64 * q;
        let below = index.floor();
        let position = below as u64;
        if position >= self.n - 1 {
            let last = value_at(sorted, self.n - 1);
            return lerp(last, last, index + 1.0);
        }
        let a = value_at(sorted, position);
        let b = value_at(sorted, position + 1);
        lerp(a, b, index - below)
    }
}

/// The value at 0-based `position` of the hypothetical sorted stream.
fn value_at(sorted: &[(f64, u64)], position: u64) -> f64 {
    let i = sorted.partition_point(|&(_, cum)| cum <= position);
    sorted[i.min(sorted.len() - 1)].0
}

/// numpy's `_lerp`, except where it makes NaN of an infinity (see the module docs).
pub(crate) fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    let out = if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    };
    match (out.is_nan(), t < 0.5) {
        (false, _) => out,
        // An infinity: the endpoint the weight leans to is the limit.
        (true, true) => a,
        (true, false) => b,
    }
}

/// An order-preserving map of doubles to integers (the order of `f64::total_cmp`), so
/// sorting and merging compare integers.
#[inline]
pub(crate) fn key(x: f64) -> u64 {
    let bits = x.to_bits();
    bits ^ ((((bits as i64) >> 63) as u64) | (1 << 63))
}

/// The inverse of `key`.
#[inline]
fn value(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k ^ (1 << 63) } else { !k })
}

/// Merges sorted `src` into sorted `dst`, from the back, in place.
fn merge_into(dst: &mut Vec<u64>, src: &[u64]) {
    let (mut i, mut j) = (dst.len(), src.len());
    dst.resize(i + j, 0);
    while j > 0 {
        let out = i + j - 1;
        if i > 0 && dst[i - 1] > src[j - 1] {
            dst[out] = dst[i - 1];
            i -= 1;
        } else {
            dst[out] = src[j - 1];
            j -= 1;
        }
    }
}

fn merge_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j] < a[i] {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::{key, value};

    #[test]
    fn keys_keep_the_order_and_the_value() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            2.5,
            f64::INFINITY,
        ];
        for w in xs.windows(2) {
            assert!(key(w[0]) < key(w[1]), "{} {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(value(key(x)).to_bits(), x.to_bits());
        }
    }
}
