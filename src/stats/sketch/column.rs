//! The sketches of one column, kept and merged together: quantiles and distinct count for
//! every column, and for text the most frequent values and the extremes in byte order
//! (which for UTF-8 is code-point order, Python's `str` order).
//!
//! Numbers enter as blocks (the parsers summarise 4096 values at a time), so the per-value
//! work stays in one tight loop per sketch. NaN is not a value here: the caller counts it
//! as missing, and it enters neither the quantiles nor the distinct count (as pandas'
//! `nunique` and `quantile` skip it).
//!
//! **Bytes**, versioned, little-endian: magic `OXCS`, serial version 1, a flags byte (bit
//! 0: a text minimum and maximum follow), two reserved zero bytes; when flagged, each of
//! min and max as a u32 length and its bytes; then the KLL, distinct and heavy-hitters
//! sketches, each as a u32 length and its own bytes.

use super::bytes::Reader;
use super::{blocks, hash_bytes, hash_f64, DistinctSketch, HeavyHitters, KllSketch, Sampler};
use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"OXCS";
const SERIAL_VERSION: u8 = 1;
const WHAT: &str = "column sketch";
const HAS_TEXT_RANGE: u8 = 1;

/// The smallest and largest text value.
type TextRange = (Box<[u8]>, Box<[u8]>);

/// Quantiles, distinct count, top values and text extremes of one column.
#[derive(Debug, Clone, Default)]
pub struct ColumnSketch {
    /// The values' quantiles (numbers, and dates and times as their integer counts).
    pub quantiles: KllSketch,
    /// The number of distinct values.
    pub distinct: DistinctSketch,
    /// Text columns: the most frequent values.
    pub top: HeavyHitters,
    text_range: Option<TextRange>,
    /// Thins the numbers before the quantile sketch (level 0: every value goes in).
    sampler: Sampler,
    /// Scratch for a block's hashes, and for integers as doubles.
    hashes: Vec<u64>,
    floats: Vec<f64>,
}

impl PartialEq for ColumnSketch {
    fn eq(&self, other: &Self) -> bool {
        self.quantiles == other.quantiles
            && self.distinct == other.distinct
            && self.top == other.top
            && self.text_range == other.text_range
            && self.sampler.has_pending() == other.sampler.has_pending()
    }
}

impl ColumnSketch {
    /// An empty sketch for about `expected` values: past a few hundred thousand, the
    /// quantile sketch samples (`sampling_level`), within the bound it documents. Nothing
    /// is allocated ahead: a chunk of a wide file holds few values of each column, and
    /// sizing every column's sketch for the whole file cost tens of KiB per column and
    /// chunk in flight.
    pub fn for_count(expected: u64) -> ColumnSketch {
        ColumnSketch {
            sampler: Sampler::new(super::sampling_level(expected)),
            ..ColumnSketch::default()
        }
    }

    /// Adds a block of doubles (NaN skipped).
    pub fn add_f64s(&mut self, xs: &[f64]) {
        self.add_f64s_of(xs, None);
    }

    /// `add_f64s` when the block's statistics are known (they give its range).
    pub fn add_f64s_of(&mut self, xs: &[f64], block: Option<&crate::stats::Stats>) {
        let range = block.map(|s| (s.min(), s.max(), s.nan_count() > 0));
        self.quantiles.extend_sampled(xs, range, &mut self.sampler);
        self.hashes.clear();
        if range.is_some_and(|(_, _, nan)| !nan) {
            blocks::hash_f64s(xs, &mut self.hashes);
        } else {
            let values = xs.iter().filter(|x| !x.is_nan());
            self.hashes.extend(values.map(|&x| hash_f64(x)));
        }
        self.distinct.insert_hashes(&self.hashes);
    }

    /// Adds a block of integers (quantiles through the nearest double, as numpy's).
    pub fn add_i64s(&mut self, xs: &[i64]) {
        self.add_i64s_of(xs, None);
    }

    /// `add_i64s` when the block's statistics are known (they give its range).
    pub fn add_i64s_of(&mut self, xs: &[i64], block: Option<&crate::stats::Stats>) {
        let range = block.map(|s| (s.min(), s.max(), false));
        let mut floats = std::mem::take(&mut self.floats);
        floats.clear();
        blocks::ints_as_f64(xs, &mut floats);
        self.quantiles
            .extend_sampled(&floats, range, &mut self.sampler);
        self.floats = floats;
        self.hashes.clear();
        blocks::hash_i64s(xs, &mut self.hashes);
        self.distinct.insert_hashes(&self.hashes);
    }

    /// Puts what the sampler holds into the quantile sketch: call when the values end,
    /// before reading or merging.
    pub fn finish(&mut self) {
        self.quantiles.absorb(&mut self.sampler);
        self.hashes = Vec::new();
        self.floats = Vec::new();
    }

    /// Adds one text value (its bytes, unescaped).
    #[inline]
    pub fn add_text(&mut self, value: &[u8]) {
        self.distinct.insert_hash(hash_bytes(value));
        self.top.update(value);
        match &mut self.text_range {
            None => self.text_range = Some((value.into(), value.into())),
            Some((low, high)) => {
                if value < &**low {
                    *low = value.into();
                } else if value > &**high {
                    *high = value.into();
                }
            }
        }
    }

    /// The smallest and largest text value in byte order; `None` without text.
    pub fn text_range(&self) -> Option<(&[u8], &[u8])> {
        self.text_range.as_ref().map(|(a, b)| (&**a, &**b))
    }

    /// Merges `other` (the same column, elsewhere in the data) in.
    pub fn merge(&mut self, other: &ColumnSketch) -> Result<()> {
        self.check_mergeable(other)?;
        self.finish();
        if other.sampler.has_pending() {
            let mut finished = other.clone();
            finished.finish();
            return self.merge(&finished);
        }
        self.quantiles.merge(&other.quantiles)?;
        self.distinct.merge(&other.distinct)?;
        self.top.merge(&other.top)?;
        if let Some((low, high)) = other.text_range() {
            match &mut self.text_range {
                None => self.text_range = Some((low.into(), high.into())),
                Some((l, h)) => {
                    if low < &**l {
                        *l = low.into();
                    }
                    if high > &**h {
                        *h = high.into();
                    }
                }
            }
        }
        Ok(())
    }

    /// Serialises to the versioned bytes of the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.sampler.has_pending() {
            let mut finished = self.clone();
            finished.finish();
            return finished.to_bytes();
        }
        let mut out = Vec::from(&MAGIC[..]);
        let flags = if self.text_range.is_some() {
            HAS_TEXT_RANGE
        } else {
            0
        };
        out.extend_from_slice(&[SERIAL_VERSION, flags, 0, 0]);
        let mut field = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        };
        if let Some((low, high)) = self.text_range() {
            field(low);
            field(high);
        }
        field(&self.quantiles.to_bytes());
        field(&self.distinct.to_bytes());
        field(&self.top.to_bytes());
        out
    }

    /// Reads `to_bytes`' output back; anything wrong is a `DataFormat` error.
    pub fn from_bytes(bytes: &[u8]) -> Result<ColumnSketch> {
        let mut r = Reader::new(bytes, WHAT);
        if r.take(4, "magic")? != MAGIC {
            return Err(r.error("no OXCS magic at the start"));
        }
        let version = r.u8("serial version")?;
        if version != SERIAL_VERSION {
            return Err(r.error(format_args!("serial version {version} (1 is read here)")));
        }
        let flags = r.u8("flags")?;
        if flags & !HAS_TEXT_RANGE != 0 || r.take(2, "reserved bytes")? != [0, 0] {
            return Err(r.error(format_args!("unknown flags {flags:#x}")));
        }
        let mut field = |name: &str| -> Result<&[u8]> {
            let len = r.u32(name)? as usize;
            r.take(len, name)
        };
        let text_range = if flags & HAS_TEXT_RANGE != 0 {
            let (low, high) = (field("text minimum")?, field("text maximum")?);
            if low > high {
                return Err(super::bytes::bad(WHAT, "text minimum above its maximum"));
            }
            Some((low.into(), high.into()))
        } else {
            None
        };
        let sketch = ColumnSketch {
            quantiles: KllSketch::from_bytes(field("KLL sketch")?)?,
            distinct: DistinctSketch::from_bytes(field("distinct-count sketch")?)?,
            top: HeavyHitters::from_bytes(field("heavy-hitters sketch")?)?,
            text_range,
            sampler: Sampler::default(),
            hashes: Vec::new(),
            floats: Vec::new(),
        };
        r.finish()?;
        Ok(sketch)
    }

    /// An error unless `other` can merge with this one (the same parameters throughout).
    pub fn check_mergeable(&self, other: &ColumnSketch) -> Result<()> {
        let same = self.quantiles.k() == other.quantiles.k()
            && self.distinct.precision() == other.distinct.precision()
            && self.top.capacity() == other.top.capacity();
        if same {
            Ok(())
        } else {
            Err(Error::invalid_argument(format!(
                "cannot merge column sketches of different parameters (KLL k {} and {}, \
                 distinct precision {} and {}, top-value counters {} and {})",
                self.quantiles.k(),
                other.quantiles.k(),
                self.distinct.precision(),
                other.distinct.precision(),
                self.top.capacity(),
                other.top.capacity()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_values_give_distinct_top_and_range() {
        let mut a = ColumnSketch::default();
        for v in ["pear", "apple", "pear", "Zoo", "éclair"] {
            a.add_text(v.as_bytes());
        }
        let mut b = ColumnSketch::default();
        b.add_text(b"pear");
        b.add_text(b"");
        a.merge(&b).unwrap();
        assert_eq!(a.distinct.count(), 5);
        assert_eq!(a.top.top(), Some((&b"pear"[..], 3)));
        assert_eq!(a.text_range(), Some((&b""[..], "éclair".as_bytes())));
        let back = ColumnSketch::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(back.text_range(), a.text_range());
        assert_eq!(back.top.counters(), a.top.counters());
        assert_eq!(back.distinct.count(), 5);
    }

    #[test]
    fn integers_and_equal_doubles_count_once() {
        let mut s = ColumnSketch::default();
        s.add_i64s(&[1, 2, 3]);
        s.add_f64s(&[1.0, 2.5, f64::NAN, -0.0, 0.0]);
        assert_eq!(s.distinct.count(), 5); // 1, 2, 3, 2.5, 0
        assert_eq!(s.quantiles.count(), 7);
        assert_eq!(s.quantiles.quantile(0.5).unwrap(), 1.0);
    }

    #[test]
    fn bad_bytes_are_format_errors() {
        let mut s = ColumnSketch::default();
        s.add_text(b"x");
        let bytes = s.to_bytes();
        for cut in [0, 3, 8, 12, bytes.len() - 1] {
            let e = ColumnSketch::from_bytes(&bytes[..cut]).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::DataFormat, "{cut}");
        }
        let mut wrong = bytes.clone();
        wrong[4] = 9;
        assert!(ColumnSketch::from_bytes(&wrong)
            .unwrap_err()
            .message
            .contains("serial version 9"));
        let mut extra = bytes;
        extra.push(0);
        assert!(ColumnSketch::from_bytes(&extra).is_err());
    }
}
