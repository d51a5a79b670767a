//! The KLL sketch's bytes: DataSketches' compact `KllDoublesSketch` layout (little-endian):
//! an 8-byte preamble (preamble ints, serial version, family 15, flags, k, m, reserved);
//! then nothing (empty), the one item (serial version 2), or the count N, min k, the
//! number of levels, the level offsets but the last, min, max and the items, level 0
//! first (serial version 1).

use super::{key, total_capacity, value, KllSketch, M, MIN_K};
use crate::error::Result;
use crate::stats::sketch::bytes::{bad, Reader};

/// DataSketches' bound on the number of levels (a u64 count needs at most 61 halvings).
const MAX_LEVELS: usize = 61;
const FAMILY: u8 = 15;
const FLAG_EMPTY: u8 = 1;
const FLAG_SINGLE_ITEM: u8 = 4;
const WHAT: &str = "KLL sketch";

impl KllSketch {
    /// Serialises to DataSketches' compact `KllDoublesSketch` bytes (serial version 1, or
    /// 2 for a single item; family 15; little-endian). Items held over the capacity are
    /// compacted first, in a copy: the bytes answer as this sketch does after `settle`.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.retained > self.capacity {
            let mut settled = self.clone();
            settled.settle();
            return settled.to_bytes();
        }
        let single = self.n == 1;
        let pre_ints: u8 = if self.n <= 1 { 2 } else { 5 };
        let ser_ver: u8 = if single { 2 } else { 1 };
        let mut flags = 0;
        if self.n == 0 {
            flags |= FLAG_EMPTY;
        }
        if single {
            flags |= FLAG_SINGLE_ITEM;
        }
        let mut out = Vec::with_capacity(36 + 4 * self.levels.len() + 8 * self.retained);
        out.extend([pre_ints, ser_ver, FAMILY, flags]);
        out.extend(self.k.to_le_bytes());
        out.extend([M as u8, 0]);
        if self.n == 0 {
            return out;
        }
        if single {
            out.extend(self.min.to_le_bytes());
            return out;
        }
        out.extend(self.n.to_le_bytes());
        out.extend(self.min_k.to_le_bytes());
        out.extend([self.levels.len() as u8, 0]);
        // Offsets into an array of `capacity` items filled from the top, level 0 lowest;
        // the last offset (the capacity) is implied.
        let mut offset = self.capacity - self.retained;
        for level in &self.levels {
            out.extend((offset as u32).to_le_bytes());
            offset += level.len();
        }
        out.extend(self.min.to_le_bytes());
        out.extend(self.max.to_le_bytes());
        // DataSketches fills level 0 downwards, so its bytes hold it newest first.
        let level0 = self.levels[0].iter().rev();
        for &x in level0.chain(self.levels[1..].iter().flatten()) {
            out.extend(value(x).to_le_bytes());
        }
        out
    }

    /// Reads bytes written by `to_bytes` or by DataSketches (compact doubles sketches of
    /// serial version 1 or 2). Anything else is a `DataFormat` error saying what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<KllSketch> {
        let mut r = Reader::new(bytes, WHAT);
        let pre_ints = r.u8("preamble length")?;
        let ser_ver = r.u8("serial version")?;
        let family = r.u8("family")?;
        let flags = r.u8("flags")?;
        let k = r.u16("k")?;
        let m = r.u8("m")?;
        r.u8("reserved byte")?;
        if family != FAMILY {
            return Err(r.error(format_args!("family {family}, not {FAMILY} (KLL)")));
        }
        if k < MIN_K || u16::from(m) != M {
            return Err(r.error(format_args!("k = {k} and m = {m} (k >= 8, m = 8 wanted)")));
        }
        let mut sketch = KllSketch::new(k)?;
        // Flag 2 (level 0 sorted) does not matter here: level 0 is sorted when compacted.
        match (ser_ver, pre_ints, flags & (FLAG_EMPTY | FLAG_SINGLE_ITEM)) {
            (1, 2, FLAG_EMPTY) => {}
            (2, 2, FLAG_SINGLE_ITEM) => {
                let x = r.f64("item")?;
                if x.is_nan() {
                    return Err(r.error("its single item is NaN"));
                }
                sketch.update(x);
            }
            (1, 5, 0) => sketch.read_full(&mut r)?,
            (3, ..) => return Err(r.error("serial version 3 (updatable) is not read here")),
            _ => {
                return Err(r.error(format_args!(
                    "serial version {ser_ver}, preamble ints {pre_ints}, flags {flags:#x} \
                     do not describe an empty, single-item or compact sketch"
                )))
            }
        }
        r.finish()?;
        Ok(sketch)
    }

    fn read_full(&mut self, r: &mut Reader) -> Result<()> {
        let n = r.u64("count")?;
        let min_k = r.u16("min k")?;
        let num_levels = usize::from(r.u8("number of levels")?);
        r.u8("reserved byte")?;
        if !(MIN_K..=self.k).contains(&min_k) {
            return Err(r.error(format_args!("min k {min_k} (8 to k = {} wanted)", self.k)));
        }
        self.min_k = min_k;
        if !(1..=MAX_LEVELS).contains(&num_levels) {
            return Err(r.error(format_args!("{num_levels} levels (1 to 61 wanted)")));
        }
        let capacity = total_capacity(self.k, num_levels);
        let mut offsets = Vec::with_capacity(num_levels + 1);
        for _ in 0..num_levels {
            offsets.push(r.u32("levels")? as usize);
        }
        offsets.push(capacity);
        if offsets.windows(2).any(|w| w[0] > w[1]) {
            return Err(r.error(format_args!(
                "level offsets {offsets:?} do not rise to the capacity {capacity}"
            )));
        }
        let (min, max) = (r.f64("min")?, r.f64("max")?);
        if min.is_nan() || max.is_nan() || min > max {
            return Err(r.error(format_args!("min {min} and max {max}")));
        }
        let retained = capacity - offsets[0];
        if r.remaining() != 8 * retained {
            return Err(r.error(format_args!(
                "{} bytes of items for {retained} items",
                r.remaining()
            )));
        }
        let mut levels = Vec::with_capacity(num_levels);
        let mut weight: u128 = 0;
        for h in 0..num_levels {
            let size = offsets[h + 1] - offsets[h];
            let mut level = Vec::with_capacity(size);
            for _ in 0..size {
                level.push(r.f64("items")?);
            }
            if h == 0 {
                level.reverse(); // back to oldest first (see to_bytes)
            }
            check_level(&level, h, min, max)?;
            weight += (size as u128) << h;
            let mut keys: Vec<u64> = level.into_iter().map(key).collect();
            if h > 0 {
                keys.sort_unstable(); // sorted already, but -0.0 and 0.0 may be either way
            }
            levels.push(keys);
        }
        if weight != u128::from(n) || n < 2 {
            return Err(r.error(format_args!("count {n}, but the items weigh {weight}")));
        }
        (self.n, self.min, self.max) = (n, min, max);
        (self.levels, self.retained) = (levels, retained);
        self.set_capacities();
        Ok(())
    }
}

fn check_level(level: &[f64], h: usize, min: f64, max: f64) -> Result<()> {
    if let Some(x) = level.iter().find(|x| !(min <= **x && **x <= max)) {
        return Err(bad(
            WHAT,
            format_args!("item {x} of level {h} is outside [{min}, {max}]"),
        ));
    }
    if h > 0 && level.windows(2).any(|w| w[0] > w[1]) {
        return Err(bad(WHAT, format_args!("level {h} is not sorted")));
    }
    Ok(())
}
