//! A file's description: every described column by name, and the row count. It merges
//! with the description of another part of the data (the same columns in the same order)
//! and travels as versioned bytes, so partial descriptions made anywhere (threads,
//! processes, machines) combine into the description of the whole.
//!
//! **Bytes**, little-endian: magic `OXDS`, serial version 1, three reserved zero bytes;
//! the row count (u64; `u64::MAX` when unknown), the number of columns (u32), then each
//! column's name (u32 length, UTF-8) and its `ColumnDescription` bytes (u32 length, then
//! the bytes of `column.rs`).

mod column;

pub use column::ColumnDescription;

use crate::error::{Error, Result};
use crate::stats::sketch::bytes::Reader;

const MAGIC: &[u8; 4] = b"OXDS";
const SERIAL_VERSION: u8 = 1;
const WHAT: &str = "description";
const UNKNOWN_ROWS: u64 = u64::MAX;

/// The described columns of a file (or of part of one), by name, with its row count.
#[derive(Debug, Clone)]
pub struct Description {
    /// Column names, in order.
    pub names: Vec<String>,
    /// Each named column's description.
    pub columns: Vec<ColumnDescription>,
    /// Data rows, when known.
    pub rows: Option<u64>,
}

impl Description {
    /// Merges the description of another part of the same data: the same columns, in
    /// the same order.
    pub fn merge(&mut self, other: &Description) -> Result<()> {
        if self.names != other.names {
            return Err(Error::invalid_argument(format!(
                "cannot merge descriptions of different columns: {:?} and {:?}",
                self.names, other.names
            )));
        }
        // All or nothing: merge copies, then keep them.
        let mut merged = self.columns.clone();
        for (ours, theirs) in merged.iter_mut().zip(&other.columns) {
            ours.merge(theirs)?;
        }
        self.columns = merged;
        self.rows = match (self.rows, other.rows) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
        Ok(())
    }

    /// Serialises to the versioned bytes of the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::from(&MAGIC[..]);
        out.extend_from_slice(&[SERIAL_VERSION, 0, 0, 0]);
        out.extend_from_slice(&self.rows.unwrap_or(UNKNOWN_ROWS).to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        for (name, column) in self.names.iter().zip(&self.columns) {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            let bytes = column.to_bytes();
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Reads `to_bytes`' output back; anything wrong is a `DataFormat` error naming it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Description> {
        let mut r = Reader::new(bytes, WHAT);
        if r.take(4, "magic")? != MAGIC {
            return Err(r.error("no OXDS magic at the start"));
        }
        let version = r.u8("serial version")?;
        if version != SERIAL_VERSION {
            return Err(r.error(format_args!("serial version {version} (1 is read here)")));
        }
        if r.take(3, "reserved bytes")? != [0, 0, 0] {
            return Err(r.error("reserved bytes are not zero"));
        }
        let rows = r.u64("row count")?;
        let count = r.u32("number of columns")? as usize;
        // Each column takes at least 8 bytes: a count past that is a damaged header, not
        // an allocation to attempt.
        if count > r.remaining() / 8 {
            return Err(r.error(format_args!("{count} columns in {} bytes", bytes.len())));
        }
        let (mut names, mut columns) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for i in 0..count {
            let len = r.u32("name length")? as usize;
            let name = std::str::from_utf8(r.take(len, "name")?)
                .map_err(|_| r.error(format_args!("column {i}'s name is not UTF-8")))?;
            names.push(name.to_owned());
            let len = r.u32("column length")? as usize;
            let column = ColumnDescription::from_bytes(r.take(len, "column")?)
                .map_err(|e| r.error(format_args!("column {i} ({name:?}): {}", e.message)))?;
            columns.push(column);
        }
        r.finish()?;
        Ok(Description {
            names,
            columns,
            rows: (rows != UNKNOWN_ROWS).then_some(rows),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, DescribeOptions, Kind, OpenOptions};
    use crate::runtime::progress::Progress;

    fn describe(text: &str) -> Description {
        let dir = std::env::temp_dir().join(format!("oxb-desc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "{}.csv",
            crate::stats::sketch::hash_bytes(text.as_bytes())
        ));
        std::fs::write(&path, text).unwrap();
        let ds = Dataset::open(&path, &OpenOptions::default()).unwrap();
        let all: Vec<usize> = (0..ds.names().len()).collect();
        let d = ds
            .description(&all, &DescribeOptions::default(), &Progress::default())
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        d
    }

    #[test]
    fn parts_merge_into_the_whole() {
        let whole = describe("a,b\n1,x\n2,y\n3,x\n4,z\n");
        let mut first = describe("a,b\n1,x\n2,y\n");
        let second = describe("a,b\n3,x\n4,z\n");
        first.merge(&second).unwrap();
        assert_eq!(first.rows, Some(4));
        for (m, w) in first.columns.iter().zip(&whole.columns) {
            assert_eq!(m.kind, w.kind);
            assert_eq!(m.summary.exact(), w.summary.exact());
            assert_eq!(m.sketch.distinct.count(), w.sketch.distinct.count());
            assert_eq!(m.sketch.top.top(), w.sketch.top.top());
            let (a, b) = (
                m.quantiles(&[0.5]).unwrap()[0],
                w.quantiles(&[0.5]).unwrap()[0],
            );
            assert!(a == b || (a.is_nan() && b.is_nan() && m.kind == Kind::Text));
        }
        let back = Description::from_bytes(&first.to_bytes()).unwrap();
        assert_eq!(back.names, ["a", "b"]);
        assert_eq!(
            back.columns[1].sketch.text_range(),
            Some((&b"x"[..], &b"z"[..]))
        );
        let other = describe("a,c\n1,2\n");
        let e = first.merge(&other).unwrap_err();
        assert!(e.message.contains("different columns"), "{}", e.message);
        let bytes = first.to_bytes();
        let e = Description::from_bytes(&bytes[..bytes.len() - 3]).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::DataFormat);
    }

    /// A description with every kind of column, for the byte-level properties below
    /// (made once: the tests run in parallel, and `describe` writes a file named by the text).
    fn every_kind() -> Vec<u8> {
        static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        BYTES.get_or_init(every_kind_once).clone()
    }

    fn every_kind_once() -> Vec<u8> {
        let mut text = String::from("i,f,t,b,d,at,e\n");
        for k in 0..300 {
            text.push_str(&format!(
                "{},{}.25,w{},{},2024-01-{:02},2024-03-01T10:{:02}:00Z,\n",
                k * 7 - 900,
                k % 13,
                k % 17,
                k % 3 == 0,
                1 + k % 28,
                k % 60
            ));
        }
        describe(&text).to_bytes()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Damaged bytes read back as an error of the data's format, or as a description
        /// (a flipped bit inside a number is still a number), never a panic; a description
        /// read back writes the same bytes again.
        #[test]
        fn damaged_bytes_are_an_error_or_read_back_whole(
            at in 0usize..1 << 20,
            xor in 1u8..=255,
            cut in proptest::option::of(0usize..1 << 20),
        ) {
            let mut bytes = every_kind();
            let at = at % bytes.len();
            bytes[at] ^= xor;
            if let Some(cut) = cut {
                bytes.truncate(cut % bytes.len());
            }
            match Description::from_bytes(&bytes) {
                Ok(d) => {
                    let again = d.to_bytes();
                    proptest::prop_assert_eq!(Description::from_bytes(&again).unwrap().to_bytes(), again);
                }
                Err(e) => proptest::prop_assert_eq!(e.kind, crate::error::ErrorKind::DataFormat),
            }
        }

        /// Random bytes, and random bytes after a valid magic, are an error, never a panic.
        #[test]
        fn random_bytes_are_a_format_error(tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let mut bytes = every_kind()[..8].to_vec();
            bytes.extend_from_slice(&tail);
            for candidate in [&tail[..], &bytes[..]] {
                if let Err(e) = Description::from_bytes(candidate) {
                    proptest::prop_assert_eq!(e.kind, crate::error::ErrorKind::DataFormat);
                }
            }
        }
    }

    #[test]
    fn every_kind_round_trips() {
        let bytes = every_kind();
        let d = Description::from_bytes(&bytes).unwrap();
        let kinds: Vec<Kind> = d.columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Int,
                Kind::Float,
                Kind::Text,
                Kind::Bool,
                Kind::Date,
                Kind::ZonedDateTime,
                Kind::Empty
            ]
        );
        assert_eq!(d.to_bytes(), bytes);
    }

    /// numpy's `quantile(xs, q)` (the `linear` method) of sorted finite values.
    fn numpy_linear(sorted: &[f64], q: f64) -> f64 {
        let at = (sorted.len() - 1) as f64 * q;
        let low = at.floor() as usize;
        let high = (low + 1).min(sorted.len() - 1);
        let t = at - low as f64;
        let (a, b) = (sorted[low], sorted[high]);
        if t >= 0.5 {
            b - (b - a) * (1.0 - t)
        } else {
            a + (b - a) * t
        }
    }

    #[test]
    fn exact_quantiles_are_numpy_linear_through_extra_passes() {
        let qs = [0.0, 0.001, 0.25, 0.5, 0.75, 0.999, 1.0, 1.0 / 3.0];
        let n = 60_000u64;
        let heavy = |i: u64| {
            let u = (crate::stats::sketch::hash_i64(i as i64) >> 11) as f64 / (1u64 << 53) as f64;
            ((1.0 - u).powf(-1.25) * 100.0).round() / 100.0
        };
        type Column = (&'static str, Box<dyn Fn(u64) -> String>);
        let columns: [Column; 4] = [
            ("heavy", Box::new(move |i| format!("{}", heavy(i)))),
            ("dups", Box::new(|i| format!("{}", (i * 7919) % 7))),
            (
                "ints",
                Box::new(move |i| format!("{}", (n - i) as i64 * 3 - 1000)),
            ),
            (
                "gaps",
                Box::new(|i| {
                    if i % 10 == 0 {
                        String::new()
                    } else {
                        format!("{}.5", i % 997)
                    }
                }),
            ),
        ];
        let mut text = String::from("heavy,dups,ints,gaps\n");
        for i in 0..n {
            let row: Vec<String> = columns.iter().map(|(_, f)| f(i)).collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        let dir = std::env::temp_dir().join(format!("oxb-exact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("exact.csv");
        std::fs::write(&path, &text).unwrap();
        let ds = Dataset::open(&path, &OpenOptions::default()).unwrap();
        let options = DescribeOptions {
            exact_quantiles: qs.to_vec(),
        };
        let d = ds
            .description(&[0, 1, 2, 3], &options, &Progress::default())
            .unwrap();
        for (c, (name, f)) in d.columns.iter().zip(&columns) {
            let mut sorted: Vec<f64> = (0..n).filter_map(|i| f(i).parse().ok()).collect();
            sorted.sort_by(f64::total_cmp);
            assert!(
                !c.quantiles_are_exact(),
                "{name}: the sketch must not hold it all"
            );
            let got = c.quantiles(&qs).unwrap();
            for (&q, &v) in qs.iter().zip(&got) {
                assert_eq!(v, numpy_linear(&sorted, q), "{name} at {q}");
            }
        }
        let e = ds.description(
            &[0],
            &DescribeOptions {
                exact_quantiles: vec![1.5],
            },
            &Progress::default(),
        );
        assert!(e.unwrap_err().message.contains("from 0 to 1"));
        std::fs::remove_file(&path).unwrap();
    }
}
