//! Distinct counts: an exact set of hashes up to 4096 values, then HyperLogLog.
//!
//! Values are hashed to 64 bits by [`super::hash_i64`], [`super::hash_f64`] and
//! [`super::hash_bytes`] ("oxbridge hash 1": integers by a bijection, doubles by their
//! bits with `-0.0 == 0.0` and one NaN, text by its bytes). Up to `EXACT_LIMIT` distinct
//! hashes the sketch keeps them all, so the count is exact: always for numbers (their
//! hashes are bijections), and for text unless two of at most 4096 values collide in 64
//! bits (odds about 2^-41). A column must hash all its values one way (a column that is
//! integers in one partition and doubles in another would count 1 and 1.0 twice).
//!
//! The exact set takes up to 64 KiB (8192 slots); past it the sketch keeps 2^p one-byte
//! registers (p = 14 by default: 16 KiB), register `h >> (64 - p)` holding the most
//! leading zeros plus one seen in `h << p`, and estimates with Ertl's improved estimator
//! (Ertl 2017, "New cardinality estimation algorithms for HyperLogLog sketches", the
//! `sigma`/`tau` corrections), which is unbiased from the smallest counts to past 10^18
//! without HLL++'s empirical tables.
//! Its relative standard error is `1.04 / sqrt(2^p)`: 0.81% at p = 14, so 2% is about
//! 2.5 standard errors (measured: mean error within ±0.13% and spread 0.5% to 1.0% from
//! 5000 to 10^7 distinct values).
//!
//! Merging is exact: a union of sets, or register-wise max, so any merge order gives the
//! same sketch. Sketches of different precision do not merge.
//!
//! **Bytes** (our own, little-endian; DataSketches' HLL format would need its MurmurHash3
//! of its own encoding of each value and its list, set and packed 4/6/8-bit modes): magic
//! `OXHL`, serial version 1, p, mode (0 exact, 1 registers), hash (1 = oxbridge hash 1),
//! then for mode 0 a u32 count and that many distinct u64 hashes, ascending; for mode 1
//! the 2^p register bytes.

use super::bytes::Reader;
use crate::error::{Error, Result};

/// How many distinct hashes a sketch keeps exactly before it switches to registers.
pub(crate) const EXACT_LIMIT: usize = 4096;
/// The default precision: 2^14 registers.
pub(crate) const DEFAULT_PRECISION: u8 = 14;
const MIN_P: u8 = 4;
const MAX_P: u8 = 18;
const MAGIC: &[u8; 4] = b"OXHL";
const SERIAL_VERSION: u8 = 1;
const HASH_VERSION: u8 = 1;
const WHAT: &str = "distinct-count sketch";

/// A mergeable distinct count: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinctSketch {
    p: u8,
    state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Exact(HashSet),
    Registers(Vec<u8>),
}

impl Default for DistinctSketch {
    fn default() -> Self {
        DistinctSketch::new(DEFAULT_PRECISION).expect("the default precision is valid")
    }
}

impl DistinctSketch {
    /// An empty sketch with 2^`p` registers once past the exact limit (p from 4 to 18).
    pub fn new(p: u8) -> Result<Self> {
        if !(MIN_P..=MAX_P).contains(&p) {
            return Err(Error::invalid_argument(format!(
                "distinct-count sketch: precision must be from {MIN_P} to {MAX_P}, not {p}"
            )));
        }
        Ok(DistinctSketch {
            p,
            state: State::Exact(HashSet::default()),
        })
    }

    /// The precision p.
    pub fn precision(&self) -> u8 {
        self.p
    }

    /// True while the count is exact (at most `EXACT_LIMIT` distinct hashes).
    pub fn is_exact(&self) -> bool {
        matches!(self.state, State::Exact(_))
    }

    /// The relative standard error of `estimate` (0 while exact).
    pub fn standard_error(&self) -> f64 {
        match self.state {
            State::Exact(_) => 0.0,
            State::Registers(_) => 1.04 / f64::from(1u32 << self.p).sqrt(),
        }
    }

    /// Adds a value by its hash (from `hash_f64`, `hash_i64` or `hash_bytes`).
    #[inline]
    pub fn insert_hash(&mut self, h: u64) {
        match &mut self.state {
            State::Exact(set) => {
                if set.insert(h) && set.len() > EXACT_LIMIT {
                    self.switch_to_registers();
                }
            }
            State::Registers(r) => update_register(r, self.p, h),
        }
    }

    /// Makes room for the whole exact set at once, for a stream expected to fill it (the
    /// set would otherwise grow nine times on the way).
    pub fn reserve(&mut self) {
        if let State::Exact(set) = &mut self.state {
            if set.slots.is_empty() {
                set.slots = vec![0; 2 * EXACT_LIMIT];
            }
        }
    }

    /// Goes straight to registers, for a part of data whose whole is known to be past the
    /// exact limit already: the registers of the whole are the same as if this part had
    /// kept its hashes exactly first (they are a function of the set of hashes alone), and
    /// the part skips filling and converting an exact set.
    pub fn skip_exact(&mut self) {
        if self.is_exact() {
            self.switch_to_registers();
        }
    }

    /// Adds values by their hashes.
    pub fn insert_hashes(&mut self, hashes: &[u64]) {
        let mut rest = hashes;
        while let State::Exact(_) = self.state {
            let Some((&h, tail)) = rest.split_first() else {
                return;
            };
            self.insert_hash(h);
            rest = tail;
        }
        if let State::Registers(r) = &mut self.state {
            for &h in rest {
                update_register(r, self.p, h);
            }
        }
    }

    /// Adds a double (`-0.0` is `0.0`; NaN is one value, if the caller passes it).
    #[inline]
    pub fn insert_f64(&mut self, v: f64) {
        self.insert_hash(super::hash_f64(v));
    }

    /// Adds an integer.
    #[inline]
    pub fn insert_i64(&mut self, v: i64) {
        self.insert_hash(super::hash_i64(v));
    }

    /// Adds a byte string (text: its UTF-8 bytes).
    #[inline]
    pub fn insert_bytes(&mut self, v: &[u8]) {
        self.insert_hash(super::hash_bytes(v));
    }

    fn switch_to_registers(&mut self) {
        let mut registers = vec![0u8; 1 << self.p];
        if let State::Exact(set) = &self.state {
            for h in set.iter() {
                update_register(&mut registers, self.p, h);
            }
        }
        self.state = State::Registers(registers);
    }

    /// Merges `other` in (set union / register-wise max). Both must have the same p.
    pub fn merge(&mut self, other: &DistinctSketch) -> Result<()> {
        if other.p != self.p {
            return Err(Error::invalid_argument(format!(
                "cannot merge distinct-count sketches of different precision ({} and {})",
                self.p, other.p
            )));
        }
        match &other.state {
            State::Exact(set) => {
                for h in set.iter() {
                    self.insert_hash(h);
                }
            }
            State::Registers(theirs) => {
                if self.is_exact() {
                    self.switch_to_registers();
                }
                if let State::Registers(ours) = &mut self.state {
                    for (a, &b) in ours.iter_mut().zip(theirs) {
                        *a = (*a).max(b);
                    }
                }
            }
        }
        Ok(())
    }

    /// The number of distinct values: exact while `is_exact`, else the HyperLogLog
    /// estimate.
    pub fn estimate(&self) -> f64 {
        match &self.state {
            State::Exact(set) => set.len() as f64,
            State::Registers(r) => ertl_estimate(r, self.p),
        }
    }

    /// `estimate` rounded to an integer.
    pub fn count(&self) -> u64 {
        self.estimate().round() as u64
    }

    /// Serialises to the versioned bytes described in the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::from(&MAGIC[..]);
        let mode = u8::from(!self.is_exact());
        out.extend([SERIAL_VERSION, self.p, mode, HASH_VERSION]);
        match &self.state {
            State::Exact(set) => {
                let mut hashes: Vec<u64> = set.iter().collect();
                hashes.sort_unstable();
                out.extend((hashes.len() as u32).to_le_bytes());
                for h in hashes {
                    out.extend(h.to_le_bytes());
                }
            }
            State::Registers(r) => out.extend_from_slice(r),
        }
        out
    }

    /// Reads bytes written by `to_bytes`; anything else is a `DataFormat` error.
    pub fn from_bytes(bytes: &[u8]) -> Result<DistinctSketch> {
        let mut r = Reader::new(bytes, WHAT);
        if r.take(4, "magic")? != MAGIC {
            return Err(r.error("no OXHL magic at the start"));
        }
        let version = r.u8("serial version")?;
        let p = r.u8("precision")?;
        let mode = r.u8("mode")?;
        let hash = r.u8("hash version")?;
        if version != SERIAL_VERSION || hash != HASH_VERSION {
            return Err(r.error(format_args!(
                "serial version {version} with hash {hash} (1 and 1 are read here)"
            )));
        }
        if !(MIN_P..=MAX_P).contains(&p) {
            return Err(r.error(format_args!("precision {p} (4 to 18 wanted)")));
        }
        let mut sketch = DistinctSketch::new(p)?;
        match mode {
            0 => {
                let count = r.u32("count")? as usize;
                if count > EXACT_LIMIT {
                    return Err(r.error(format_args!("{count} exact hashes (at most 4096)")));
                }
                let mut previous = None;
                for _ in 0..count {
                    let h = r.u64("hashes")?;
                    if previous.is_some_and(|p| p >= h) {
                        return Err(r.error("hashes not strictly ascending"));
                    }
                    previous = Some(h);
                    sketch.insert_hash(h);
                }
            }
            1 => {
                let registers = r.take(1 << p, "registers")?;
                let top = 65 - p;
                if let Some(bad) = registers.iter().find(|&&v| v > top) {
                    return Err(r.error(format_args!("register value {bad} (at most {top})")));
                }
                sketch.state = State::Registers(registers.to_vec());
            }
            _ => return Err(r.error(format_args!("mode {mode} (0 or 1 wanted)"))),
        }
        r.finish()?;
        Ok(sketch)
    }
}

#[inline]
fn update_register(registers: &mut [u8], p: u8, h: u64) {
    let index = (h >> (64 - p)) as usize;
    // The sentinel bit caps the rank at 65 - p when the low bits are all zero.
    let rank = ((h << p) | (1 << (p - 1))).leading_zeros() as u8 + 1;
    let r = &mut registers[index];
    *r = (*r).max(rank);
}

/// Ertl's improved raw estimator (Algorithm 6 of his paper).
fn ertl_estimate(registers: &[u8], p: u8) -> f64 {
    let q = usize::from(64 - p);
    let m = registers.len() as f64;
    let mut histogram = vec![0u32; q + 2];
    for &r in registers {
        histogram[usize::from(r)] += 1;
    }
    let mut z = m * tau(1.0 - f64::from(histogram[q + 1]) / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + f64::from(histogram[k]));
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    m * m / (2.0 * std::f64::consts::LN_2 * z)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// An open-addressing set of u64 hashes (they are already uniform: the low bits index),
/// at most 5/8 full; 0 marks an empty slot, so the hash 0 has a flag of its own.
#[derive(Debug, Clone, Default)]
struct HashSet {
    slots: Vec<u64>,
    len: usize,
    has_zero: bool,
}

impl PartialEq for HashSet {
    fn eq(&self, other: &Self) -> bool {
        let mut a: Vec<u64> = self.iter().collect();
        let mut b: Vec<u64> = other.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }
}

impl Eq for HashSet {}

impl HashSet {
    fn len(&self) -> usize {
        self.len
    }

    /// Adds `h`; true if it was new.
    #[inline]
    fn insert(&mut self, h: u64) -> bool {
        if h == 0 {
            let new = !self.has_zero;
            self.has_zero = true;
            self.len += usize::from(new);
            return new;
        }
        if self.slots.is_empty() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.slots[i] {
                0 => break,
                v if v == h => return false,
                _ => i = (i + 1) & mask,
            }
        }
        // At most 5/8 full: 4096 hashes fit in 8192 slots.
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.grow();
            return self.insert(h);
        }
        self.slots[i] = h;
        self.len += 1;
        true
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for h in old.into_iter().filter(|&h| h != 0) {
            let mut i = h as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = h;
        }
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let zero = self.has_zero.then_some(0);
        zero.into_iter()
            .chain(self.slots.iter().copied().filter(|&h| h != 0))
    }
}
