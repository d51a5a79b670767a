//! The most frequent values of a text column: exact counts while at most `k` distinct
//! values were seen (1024 by default), then a Misra-Gries summary.
//!
//! **Guarantee.** With `n` values in all, every value's reported count `c` satisfies
//! `true - error <= c <= true` where `error = max_error() <= n / (k + 1)`; a value missing
//! from the summary occurred at most `error` times. So the reported top value is a true top
//! value when its count leads the runner-up by more than `error`, and `error == 0` (exact)
//! until a `(k + 1)`-th distinct value arrives. Merging keeps the same bound for the merged
//! `n` (Agarwal et al. 2012, "Mergeable summaries": add the counters, then subtract the
//! `(k + 1)`-th largest from all and drop those at zero).
//!
//! Ties for the top go to the smallest value in byte order, so the answer does not depend
//! on the order of the counters. Values are byte strings (text: its UTF-8 bytes).
//!
//! **Bytes** (our own, little-endian; DataSketches' frequent-items sketch is for its own
//! item serialisers and a purge that is not Misra-Gries'): magic `OXHH`, serial version
//! 1, three reserved zero bytes, `k` u32, `n` u64, `error` u64, the number of counters u32,
//! then each counter in ascending byte order of its value: the length u32, the bytes, the
//! count u64.

use super::bytes::Reader;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The default number of counters.
pub(crate) const DEFAULT_CAPACITY: u32 = 1024;
const MAGIC: &[u8; 4] = b"OXHH";
const SERIAL_VERSION: u8 = 1;
const WHAT: &str = "heavy-hitters sketch";

/// Frequent-value counts: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeavyHitters {
    k: u32,
    n: u64,
    error: u64,
    counts: HashMap<Box<[u8]>, u64, BuildHasherDefault<BytesHasher>>,
}

impl Default for HeavyHitters {
    fn default() -> Self {
        HeavyHitters::new(DEFAULT_CAPACITY).expect("the default capacity is valid")
    }
}

impl HeavyHitters {
    /// An empty summary of at most `k` counters (k from 1 to 2^24).
    pub fn new(k: u32) -> Result<Self> {
        if !(1..=1 << 24).contains(&k) {
            return Err(Error::invalid_argument(format!(
                "heavy-hitters sketch: k must be from 1 to 16777216, not {k}"
            )));
        }
        Ok(HeavyHitters {
            k,
            n: 0,
            error: 0,
            counts: HashMap::default(),
        })
    }

    /// The number of counters `k`.
    pub fn capacity(&self) -> u32 {
        self.k
    }

    /// How many values went in.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The most any reported count falls short of the true count (0 while exact); at most
    /// `count() / (k + 1)`.
    pub fn max_error(&self) -> u64 {
        self.error
    }

    /// True while every count is exact.
    pub fn is_exact(&self) -> bool {
        self.error == 0
    }

    /// Adds one value.
    #[inline]
    pub fn update(&mut self, value: &[u8]) {
        self.n += 1;
        if let Some(c) = self.counts.get_mut(value) {
            *c += 1;
        } else if self.counts.len() < self.k as usize {
            self.counts.insert(value.into(), 1);
        } else {
            // Misra-Gries: the new value and every counter lose one.
            self.error += 1;
            self.counts.retain(|_, c| {
                *c -= 1;
                *c > 0
            });
        }
    }

    /// The reported count of `value` (a lower bound; see `max_error`).
    pub fn count_of(&self, value: &[u8]) -> u64 {
        self.counts.get(value).copied().unwrap_or(0)
    }

    /// The most frequent value and its reported count; `None` when empty.
    pub fn top(&self) -> Option<(&[u8], u64)> {
        self.counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(v, &c)| (&**v, c))
    }

    /// Every counter, the largest count first (ties in byte order of the value).
    pub fn counters(&self) -> Vec<(&[u8], u64)> {
        let mut all: Vec<(&[u8], u64)> = self.counts.iter().map(|(v, &c)| (&**v, c)).collect();
        all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        all
    }

    /// Merges `other` in. Both must have the same `k`.
    pub fn merge(&mut self, other: &HeavyHitters) -> Result<()> {
        if other.k != self.k {
            return Err(Error::invalid_argument(format!(
                "cannot merge heavy-hitters sketches with different k ({} and {})",
                self.k, other.k
            )));
        }
        // Counts and error are at most n (checked on reading bytes): n bounds them all.
        let Some(n) = self.n.checked_add(other.n) else {
            return Err(Error::invalid_argument(
                "heavy-hitters sketch: merged count past 2^64",
            ));
        };
        self.n = n;
        self.error += other.error;
        for (v, &c) in &other.counts {
            *self.counts.entry(v.clone()).or_insert(0) += c;
        }
        self.prune();
        Ok(())
    }

    /// Back to at most `k` counters: subtract the (k+1)-th largest count from all.
    fn prune(&mut self) {
        let k = self.k as usize;
        if self.counts.len() <= k {
            return;
        }
        let mut values: Vec<u64> = self.counts.values().copied().collect();
        let (_, &mut cut, _) = values.select_nth_unstable_by(k, |a, b| b.cmp(a));
        self.error += cut;
        self.counts.retain(|_, c| {
            *c -= cut.min(*c);
            *c > 0
        });
    }

    /// Serialises to the versioned bytes described in the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::from(&MAGIC[..]);
        out.extend([SERIAL_VERSION, 0, 0, 0]);
        out.extend(self.k.to_le_bytes());
        out.extend(self.n.to_le_bytes());
        out.extend(self.error.to_le_bytes());
        let mut entries: Vec<(&[u8], u64)> = self.counts.iter().map(|(v, &c)| (&**v, c)).collect();
        entries.sort_unstable();
        out.extend((entries.len() as u32).to_le_bytes());
        for (v, c) in entries {
            out.extend((v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
            out.extend(c.to_le_bytes());
        }
        out
    }

    /// Reads bytes written by `to_bytes`; anything else is a `DataFormat` error.
    pub fn from_bytes(bytes: &[u8]) -> Result<HeavyHitters> {
        let mut r = Reader::new(bytes, WHAT);
        if r.take(4, "magic")? != MAGIC {
            return Err(r.error("no OXHH magic at the start"));
        }
        let version = r.u8("serial version")?;
        if version != SERIAL_VERSION || r.take(3, "reserved bytes")? != [0, 0, 0] {
            return Err(r.error(format_args!("serial version {version} (1 is read here)")));
        }
        let k = r.u32("k")?;
        let mut s = HeavyHitters::new(k).map_err(|e| r.error(e.message))?;
        (s.n, s.error) = (r.u64("count")?, r.u64("error")?);
        let entries = r.u32("number of counters")?;
        if entries > k {
            return Err(r.error(format_args!("{entries} counters for k = {k}")));
        }
        let mut total: u128 = u128::from(s.error) * u128::from(k + 1);
        let mut previous: Option<&[u8]> = None;
        for _ in 0..entries {
            let len = r.u32("value length")? as usize;
            let value = r.take(len, "value")?;
            let c = r.u64("value count")?;
            if c == 0 || previous.is_some_and(|p| p >= value) {
                return Err(r.error("counters not positive and in ascending value order"));
            }
            previous = Some(value);
            total += u128::from(c);
            s.counts.insert(value.into(), c);
        }
        // Each unit of error removed k + 1 values (one per counter and the newcomer);
        // merges remove at least as many, so the counted values never exceed n.
        if total > u128::from(s.n) {
            return Err(r.error(format_args!(
                "counts and error account for {total} values, more than the {} counted",
                s.n
            )));
        }
        r.finish()?;
        Ok(s)
    }
}

/// The map's hasher: oxbridge's byte hash, far cheaper than SipHash for short text (the
/// map holds at most `k` keys chosen by the data, so flooding buys an attacker little).
#[derive(Default)]
struct BytesHasher(u64);

impl Hasher for BytesHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 ^= super::hash_bytes(bytes);
    }

    fn write_usize(&mut self, n: usize) {
        self.0 ^= n as u64; // the length prefix: hash_bytes mixes the length in already
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
