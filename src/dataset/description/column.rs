//! One column's description: its kind, statistics, counts and sketches; how two
//! descriptions of the same column (parts of a file, files of a set) merge; the figures
//! read from the sketches; and the versioned bytes a partial description travels as.
//!
//! **Bytes**, little-endian: magic `OXCD`, serial version 1, the kind (the `Kind` order:
//! 0 empty, 1 int, 2 float, 3 bool, 4 date, 5 datetime, 6 zoned datetime, 7 text), a flags
//! byte (bit 0: mixed, bit 1: exact integer statistics follow), the element type of a
//! binary file's column (0: none, as for CSV; else 1 + its place in `ELEMENTS`);
//! present, missing, min_len, max_len (u64); the statistics: count, nan_count (u64), sum,
//! sum error, mean, m2, min, max (f64), and when flagged the exact sum (i128) and the
//! exact min and max (i64); then the column sketch's bytes, u32-length-prefixed; then
//! the number of exact quantiles (u32) and each as its probability and value (f64).

use crate::dataset::npy::Scalar;
use crate::dataset::Kind;
use crate::error::{Error, Result};
use crate::stats::sketch::bytes::Reader;
use crate::stats::sketch::ColumnSketch;
use crate::stats::{ExactInts, Stats, StatsParts};

const MAGIC: &[u8; 4] = b"OXCD";
const SERIAL_VERSION: u8 = 1;
const WHAT: &str = "column description";
const MIXED: u8 = 1;
const EXACT: u8 = 2;
const KINDS: [Kind; 8] = [
    Kind::Empty,
    Kind::Int,
    Kind::Float,
    Kind::Bool,
    Kind::Date,
    Kind::DateTime,
    Kind::ZonedDateTime,
    Kind::Text,
];

/// The element types a binary column may have, in their serial order.
const ELEMENTS: [Scalar; 10] = [
    Scalar::F64,
    Scalar::F32,
    Scalar::I64,
    Scalar::I32,
    Scalar::I16,
    Scalar::I8,
    Scalar::U32,
    Scalar::U16,
    Scalar::U8,
    Scalar::Bool,
];

/// One column's statistics, sketches and inferred type.
#[derive(Debug, Clone)]
pub struct ColumnDescription {
    /// What the column holds: the file's type for binary data, inferred for CSV.
    pub kind: Kind,
    /// A binary file's element type (float32, uint8, ...), which `kind` only tells as int
    /// or float; `None` for CSV, and after merging parts of different element types.
    pub element: Option<Scalar>,
    /// The numeric statistics, missing values counted as NaN (for text columns: only the
    /// counts mean something).
    pub summary: Stats,
    /// Text columns: the fewest characters of a value (0 when there is none).
    pub min_len: u64,
    /// Text columns: the most characters of a value (0 when there is none).
    pub max_len: u64,
    /// Values present (for every kind; text columns have no other counts).
    pub present: u64,
    /// Values missing: empty or a null marker (always 0 for binary data).
    pub missing: u64,
    /// Quantiles, distinct count, top values and the text extremes.
    pub sketch: ColumnSketch,
    /// A text column merged from parts that read it as another kind: its distinct count,
    /// top values and text extremes cover only the parts that read it as text (a scan of
    /// one file reads such a column again, so only merged parts can be mixed).
    pub mixed: bool,
    /// Exact quantiles made by extra passes: (probability, value), numpy's `linear`.
    pub exact_quantiles: Vec<(f64, f64)>,
}

impl ColumnDescription {
    /// Merges the description of the same column elsewhere in the data.
    pub fn merge(&mut self, other: &ColumnDescription) -> Result<()> {
        let kind = self.kind.join(other.kind);
        let read_otherwise = |k: Kind| k != Kind::Empty && k != Kind::Text;
        let mixed = self.mixed
            || other.mixed
            || (kind == Kind::Text && (read_otherwise(self.kind) || read_otherwise(other.kind)));
        self.sketch.merge(&other.sketch)?;
        // Exact quantiles of parts are not those of the whole.
        self.exact_quantiles.clear();
        self.kind = kind;
        self.mixed = mixed;
        if self.element != other.element {
            self.element = None;
        }
        self.summary.merge(&other.summary);
        self.present += other.present;
        self.missing += other.missing;
        if other.present > 0 {
            self.min_len = if self.present == other.present {
                other.min_len
            } else {
                self.min_len.min(other.min_len)
            };
        }
        self.max_len = self.max_len.max(other.max_len);
        Ok(())
    }

    /// The column's type as users see it: the element type of a binary column, else the
    /// kind's name ("int64", "float64", "bool", "date", "datetime" or "text").
    pub fn dtype(&self) -> &'static str {
        match self.element {
            Some(e) => e.name(),
            None => self.kind.name(),
        }
    }

    /// Whether the column has numbers to take quantiles and histograms of (numbers, bools,
    /// dates and datetimes as their integer counts).
    pub fn is_ordered(&self) -> bool {
        !matches!(self.kind, Kind::Text | Kind::Empty) && self.sketch.quantiles.count() > 0
    }

    /// The value at each probability of `qs`, numpy's `linear` method on the sketch: exact
    /// while the sketch holds every value, else within its rank error. NaN for a text or
    /// empty column.
    pub fn quantiles(&self, qs: &[f64]) -> Result<Vec<f64>> {
        if !self.is_ordered() {
            if let Some(bad) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
                return Err(Error::invalid_argument(format!(
                    "quantile probabilities must be from 0 to 1, not {bad}"
                )));
            }
            return Ok(vec![f64::NAN; qs.len()]);
        }
        let mut values = self.sketch.quantiles.quantiles(qs)?;
        for (v, q) in values.iter_mut().zip(qs) {
            if let Some(&(_, exact)) = self.exact_quantiles.iter().find(|(p, _)| p == q) {
                *v = exact;
            }
        }
        Ok(values)
    }

    /// Whether every quantile is exact: the sketch still holds every value.
    pub fn quantiles_are_exact(&self) -> bool {
        self.sketch.quantiles.is_exact()
    }

    /// A histogram of `bins` equal-width bins from the smallest to the largest value (as
    /// numpy's: half-open bins, the last closed; one unit wide around a constant): the
    /// counts and the `bins + 1` edges, read from the quantile sketch, so exact while it
    /// holds every value and otherwise within its double-sided rank error per bin. Empty
    /// for text, empty columns, columns with an infinite value, and where numpy refuses
    /// because the edges would not increase (a range too narrow for the values' precision,
    /// or wider than f64).
    pub fn histogram(&self, bins: usize) -> Result<(Vec<u64>, Vec<f64>)> {
        if bins == 0 || bins > 1 << 20 {
            return Err(Error::invalid_argument(format!(
                "histogram bins must be from 1 to 1048576, not {bins}"
            )));
        }
        let kll = &self.sketch.quantiles;
        let Some((low, high)) = kll.min_max().filter(|_| self.is_ordered()) else {
            return Ok((Vec::new(), Vec::new()));
        };
        if !low.is_finite() || !high.is_finite() {
            return Ok((Vec::new(), Vec::new()));
        }
        let (low, high) = if low == high {
            (low - 0.5, high + 0.5)
        } else {
            (low, high)
        };
        // numpy's edges: linspace(low, high, bins + 1), i.e. i * step + low.
        let step = (high - low) / bins as f64;
        let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + low).collect();
        edges[bins] = high;
        // Where numpy refuses ("too many bins for data range": the edges collapse at the
        // magnitude of the values, or the range overflows), there is no histogram either.
        if !edges.windows(2).all(|w| w[0] < w[1]) || !step.is_finite() {
            return Ok((Vec::new(), Vec::new()));
        }
        let below = kll.counts_below(&edges[1..bins]);
        let mut counts = Vec::with_capacity(bins);
        let mut previous = 0;
        for b in below.into_iter().chain(std::iter::once(kll.count())) {
            counts.push(b - previous);
            previous = b;
        }
        Ok((counts, edges))
    }

    /// Serialises to the versioned bytes of the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let p = self.summary.to_parts();
        let kind = KINDS.iter().position(|&k| k == self.kind).unwrap_or(0) as u8;
        let flags = (self.mixed as u8 * MIXED) | (p.exact.is_some() as u8 * EXACT);
        let mut out = Vec::from(&MAGIC[..]);
        let element = self
            .element
            .and_then(|e| ELEMENTS.iter().position(|&x| x == e))
            .map_or(0, |i| i as u8 + 1);
        out.extend_from_slice(&[SERIAL_VERSION, kind, flags, element]);
        for v in [
            self.present,
            self.missing,
            self.min_len,
            self.max_len,
            p.count,
            p.nan_count,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [p.sum_hi, p.sum_lo, p.mean, p.m2, p.min, p.max] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        if let Some(e) = p.exact {
            out.extend_from_slice(&e.sum.to_le_bytes());
            out.extend_from_slice(&e.min.to_le_bytes());
            out.extend_from_slice(&e.max.to_le_bytes());
        }
        let sketch = self.sketch.to_bytes();
        out.extend_from_slice(&(sketch.len() as u32).to_le_bytes());
        out.extend_from_slice(&sketch);
        out.extend_from_slice(&(self.exact_quantiles.len() as u32).to_le_bytes());
        for (q, v) in &self.exact_quantiles {
            out.extend_from_slice(&q.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads `to_bytes`' output back; anything wrong is a `DataFormat` error naming it.
    pub fn from_bytes(bytes: &[u8]) -> Result<ColumnDescription> {
        let mut r = Reader::new(bytes, WHAT);
        if r.take(4, "magic")? != MAGIC {
            return Err(r.error("no OXCD magic at the start"));
        }
        let version = r.u8("serial version")?;
        if version != SERIAL_VERSION {
            return Err(r.error(format_args!("serial version {version} (1 is read here)")));
        }
        let kind_byte = r.u8("kind")?;
        let Some(&kind) = KINDS.get(kind_byte as usize) else {
            return Err(r.error(format_args!("unknown kind {kind_byte}")));
        };
        let flags = r.u8("flags")?;
        if flags & !(MIXED | EXACT) != 0 {
            return Err(r.error(format_args!("unknown flags {flags:#x}")));
        }
        let element = match r.u8("element type")? {
            0 => None,
            e => match ELEMENTS.get(e as usize - 1) {
                Some(&x) if matches!(kind, Kind::Int | Kind::Float | Kind::Empty) => Some(x),
                _ => return Err(r.error(format_args!("element type {e} of a {kind:?} column"))),
            },
        };
        let (present, missing) = (r.u64("present")?, r.u64("missing")?);
        let (min_len, max_len) = (r.u64("min_len")?, r.u64("max_len")?);
        let (count, nan_count) = (r.u64("count")?, r.u64("nan_count")?);
        let mut float = |name| r.f64(name);
        let (sum_hi, sum_lo, mean) = (float("sum")?, float("sum error")?, float("mean")?);
        let (m2, min, max) = (float("m2")?, float("min")?, float("max")?);
        let exact = if flags & EXACT != 0 {
            let mut sum = [0u8; 16];
            sum.copy_from_slice(r.take(16, "exact sum")?);
            let sum = i128::from_le_bytes(sum);
            let (min, max) = (r.u64("exact min")? as i64, r.u64("exact max")? as i64);
            Some(ExactInts { sum, min, max })
        } else {
            None
        };
        let len = r.u32("sketch length")? as usize;
        let sketch = ColumnSketch::from_bytes(r.take(len, "sketch")?)?;
        let exact_count = r.u32("number of exact quantiles")? as usize;
        if exact_count > r.remaining() / 16 {
            return Err(r.error(format_args!("{exact_count} exact quantiles")));
        }
        let mut exact_quantiles = Vec::with_capacity(exact_count);
        for _ in 0..exact_count {
            exact_quantiles.push((r.f64("probability")?, r.f64("exact quantile")?));
        }
        r.finish()?;
        if present.checked_add(missing).is_none() || count.checked_add(nan_count).is_none() {
            return Err(r.error("counts past 2^64"));
        }
        let summary = Stats::from_parts(StatsParts {
            count,
            nan_count,
            sum_hi,
            sum_lo,
            mean,
            m2,
            min,
            max,
            exact,
        });
        Ok(ColumnDescription {
            kind,
            element,
            summary,
            min_len,
            max_len,
            present,
            missing,
            sketch,
            mixed: flags & MIXED != 0,
            exact_quantiles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(xs: &[f64]) -> ColumnDescription {
        let mut sketch = ColumnSketch::default();
        sketch.add_f64s(xs);
        ColumnDescription {
            kind: Kind::Float,
            element: None,
            summary: Stats::of_slice(xs),
            min_len: 1,
            max_len: 3,
            present: xs.len() as u64,
            missing: 0,
            sketch,
            mixed: false,
            exact_quantiles: Vec::new(),
        }
    }

    #[test]
    fn histogram_counts_as_numpy_bins() {
        let d = numbers(&[1.0, 2.0, 2.0, 3.0, 4.0]);
        let (counts, edges) = d.histogram(3).unwrap();
        // numpy.histogram([1, 2, 2, 3, 4], 3): edges 1, 2, 3, 4; counts 1, 2, 2.
        assert_eq!(edges, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(counts, [1, 2, 2]);
        let (counts, edges) = numbers(&[5.0, 5.0]).histogram(2).unwrap();
        assert_eq!((counts, edges), (vec![0, 2], vec![4.5, 5.0, 5.5]));
        assert!(numbers(&[1.0, f64::INFINITY])
            .histogram(4)
            .unwrap()
            .0
            .is_empty());
        // 2^53 + 1 is 2^53 in f64, where +-0.5 is no step: numpy refuses; so do we.
        assert!(numbers(&[9007199254740992.0])
            .histogram(7)
            .unwrap()
            .0
            .is_empty());
        assert!(numbers(&[-1.7e308, 1.7e308])
            .histogram(2)
            .unwrap()
            .0
            .is_empty());
        assert!(numbers(&[1.0]).histogram(0).is_err());
    }

    #[test]
    fn bytes_round_trip_and_merge() {
        let mut a = numbers(&[1.0, 2.0, 3.0]);
        let b = ColumnDescription::from_bytes(&numbers(&[10.0]).to_bytes()).unwrap();
        a.merge(&b).unwrap();
        let back = ColumnDescription::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(back.summary.count(), 4);
        assert_eq!(back.summary.sum(), 16.0);
        assert_eq!(back.quantiles(&[0.5]).unwrap(), [2.5]);
        assert_eq!(back.sketch, a.sketch);
        let bytes = a.to_bytes();
        for cut in [0, 5, 40, bytes.len() - 1] {
            let e = ColumnDescription::from_bytes(&bytes[..cut]).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::DataFormat);
        }
    }

    #[test]
    fn text_after_numbers_is_mixed() {
        let mut a = numbers(&[1.0]);
        let mut t = numbers(&[]);
        t.kind = Kind::Text;
        t.sketch.add_text(b"x");
        a.merge(&t).unwrap();
        assert!(a.mixed && a.kind == Kind::Text);
    }
}
