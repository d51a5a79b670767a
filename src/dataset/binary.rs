//! Binary arrays in a file (`.npy` or raw): per-column statistics straight from the
//! mapping, zero-copy for native-endian aligned float64/float32/int64/int32.

use super::exact::Probe;
use super::npy::Scalar;
use super::MAX_COLUMNS;
use crate::array::{Element, Strided};
use crate::error::{Error, Result};
use crate::runtime::pool::pool;
use crate::runtime::progress::Progress;
use crate::stats::sketch::ColumnSketch;
use crate::stats::{self, Stats};
use rayon::prelude::*;

/// Where the array is in the file and how it is laid out.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The element type.
    pub scalar: Scalar,
    /// Whether the elements are big-endian.
    pub big_endian: bool,
    /// Whether columns, not rows, are contiguous (2-D `.npy` files only).
    pub fortran_order: bool,
    /// Rows of the array.
    pub rows: u64,
    /// Columns of the array (1 for a 1-D array).
    pub cols: u64,
    /// Where element (0, 0) is, in bytes from the start of the file.
    pub offset: usize,
}

/// Bytes per parallel task.
const CHUNK_BYTES: usize = 1 << 20;
/// Bytes scanned between releases of the scanned pages (row-major files). A release
/// interrupts the other threads to flush their TLBs, too costly after every chunk.
const RELEASE_BYTES: usize = 16 << 20;

impl Layout {
    /// The layout of a raw binary file of `file_len` bytes: rows of `columns` values
    /// (default 1) of `dtype` (required), from the first byte to the last.
    pub fn raw(
        file_len: usize,
        dtype: Option<&str>,
        columns: Option<u64>,
        path: &str,
    ) -> Result<Layout> {
        let dtype = dtype.ok_or_else(|| {
            Error::invalid_argument(format!(
                "{path}: raw binary needs a dtype (e.g. dtype=\"float64\")"
            ))
        })?;
        let (scalar, big_endian) = Scalar::parse(dtype)?;
        let cols = columns.unwrap_or(1);
        if cols == 0 {
            return Err(Error::invalid_argument("columns must be at least 1"));
        }
        if cols > MAX_COLUMNS {
            return Err(Error::invalid_argument(format!(
                "{path}: columns={cols} is more than oxbridge reads (at most {MAX_COLUMNS} columns)"
            )));
        }
        let row_bytes = cols * scalar.size() as u64; // at most 2^23: no overflow
        if !(file_len as u64).is_multiple_of(row_bytes) {
            return Err(Error::data_format(
                path,
                0,
                "",
                format!(
                    "{file_len} bytes is not a whole number of rows of {cols} {} values ({row_bytes} bytes each)",
                    scalar.name()
                ),
            ));
        }
        Ok(Layout {
            scalar,
            big_endian,
            fortran_order: false,
            rows: file_len as u64 / row_bytes,
            cols,
            offset: 0,
        })
    }

    /// numpy's type string for the elements, e.g. "<f8" or ">i4".
    pub fn typestr(&self) -> String {
        let code = match self.scalar {
            Scalar::F64 => "f8",
            Scalar::F32 => "f4",
            Scalar::I64 => "i8",
            Scalar::I32 => "i4",
            Scalar::I16 => "i2",
            Scalar::I8 => "i1",
            Scalar::U32 => "u4",
            Scalar::U16 => "u2",
            Scalar::U8 => "u1",
            Scalar::Bool => "b1",
        };
        format!("{}{code}", if self.big_endian { '>' } else { '<' })
    }

    /// Checks that the file holds every element the layout claims.
    pub fn check_size(&self, file_len: usize, path: &str) -> Result<()> {
        let needed = self
            .rows
            .checked_mul(self.cols)
            .and_then(|n| n.checked_mul(self.scalar.size() as u64))
            .and_then(|n| n.checked_add(self.offset as u64));
        match needed {
            Some(n) if n <= file_len as u64 => Ok(()),
            Some(n) => Err(Error::data_format(
                path,
                0,
                "",
                format!(
                    "the file is truncated: {} x {} {} values need {n} bytes, the file has {file_len}",
                    self.rows,
                    self.cols,
                    self.scalar.name()
                ),
            )),
            None => Err(Error::data_format(
                path,
                0,
                "",
                format!("{} x {} values is more than any file can hold", self.rows, self.cols),
            )),
        }
    }

    fn native(&self) -> bool {
        self.big_endian == cfg!(target_endian = "big")
    }
}

fn read<const N: usize>(bytes: &[u8], at: usize, big: bool) -> [u8; N] {
    let mut raw: [u8; N] = bytes[at..at + N].try_into().expect("N bytes");
    if big != cfg!(target_endian = "big") {
        raw.reverse();
    }
    raw
}

/// The summary of rows `rows` of column `col`.
fn column_part(data: &[u8], layout: &Layout, col: u64, rows: std::ops::Range<u64>) -> Stats {
    let size = layout.scalar.size() as u64;
    let (first, step) = if layout.fortran_order {
        (col * layout.rows + rows.start, 1)
    } else {
        (rows.start * layout.cols + col, layout.cols)
    };
    let n = (rows.end - rows.start) as usize;
    let base = (first * size) as usize;
    let step_bytes = (step * size) as usize;
    let aligned = (data.as_ptr() as usize + base).is_multiple_of(size as usize);
    // Zero-copy: a strided view straight into the mapping.
    fn direct<T: Element>(data: &[u8], base: usize, n: usize, step: u64) -> Stats {
        // SAFETY: `check_size` proved every element is inside `data`; alignment checked.
        let view = unsafe {
            Strided::from_raw_parts(data.as_ptr().add(base) as *const T, n, step as isize)
        };
        Stats::of_strided(view)
    }
    if layout.native() && aligned {
        match layout.scalar {
            Scalar::F64 => return direct::<f64>(data, base, n, step),
            Scalar::F32 => return direct::<f32>(data, base, n, step),
            Scalar::I64 => return direct::<i64>(data, base, n, step),
            Scalar::I32 => return direct::<i32>(data, base, n, step),
            _ => {}
        }
    }
    match read_values(data, layout, base, step_bytes, 0..n) {
        Values::Floats(v) => Stats::of_slice(&v),
        Values::Ints(v) => Stats::of_strided(Strided::from_slice(&v)),
    }
}

/// Elements of a column, widened: doubles for float types, integers for the others.
enum Values {
    Floats(Vec<f64>),
    Ints(Vec<i64>),
}

/// Reads elements `range` of the column whose element 0 is at byte `base` and whose
/// elements are `step_bytes` apart.
fn read_values(
    data: &[u8],
    layout: &Layout,
    base: usize,
    step_bytes: usize,
    range: std::ops::Range<usize>,
) -> Values {
    let big = layout.big_endian;
    let at = |i: usize| base + i * step_bytes;
    if layout.scalar.is_float() {
        return Values::Floats(
            range
                .map(|i| match layout.scalar {
                    Scalar::F64 => f64::from_ne_bytes(read::<8>(data, at(i), big)),
                    _ => f32::from_ne_bytes(read::<4>(data, at(i), big)) as f64,
                })
                .collect(),
        );
    }
    Values::Ints(
        range
            .map(|i| match layout.scalar {
                Scalar::I64 => i64::from_ne_bytes(read::<8>(data, at(i), big)),
                Scalar::I32 => i32::from_ne_bytes(read::<4>(data, at(i), big)) as i64,
                Scalar::U32 => u32::from_ne_bytes(read::<4>(data, at(i), big)) as i64,
                Scalar::I16 => i16::from_ne_bytes(read::<2>(data, at(i), big)) as i64,
                Scalar::U16 => u16::from_ne_bytes(read::<2>(data, at(i), big)) as i64,
                Scalar::I8 => data[at(i)] as i8 as i64,
                Scalar::U8 => data[at(i)] as i64,
                _ => (data[at(i)] != 0) as i64,
            })
            .collect(),
    )
}

/// The sketches of rows `rows` of column `col`, read a block at a time.
fn sketch_part(data: &[u8], layout: &Layout, col: u64, rows: std::ops::Range<u64>) -> ColumnSketch {
    let size = layout.scalar.size() as u64;
    let (first, step) = if layout.fortran_order {
        (col * layout.rows + rows.start, 1)
    } else {
        (rows.start * layout.cols + col, layout.cols)
    };
    let n = (rows.end - rows.start) as usize;
    let mut sketch = ColumnSketch::for_count(layout.rows);
    for start in (0..n).step_by(SKETCH_BLOCK) {
        let range = start..(start + SKETCH_BLOCK).min(n);
        match read_values(
            data,
            layout,
            (first * size) as usize,
            (step * size) as usize,
            range,
        ) {
            Values::Floats(v) => sketch.add_f64s(&v),
            Values::Ints(v) => sketch.add_i64s(&v),
        }
    }
    sketch.finish();
    sketch
}

/// Values read at a time for the sketches.
const SKETCH_BLOCK: usize = 4096;

const BLOCK_ROWS: usize = 2048;

/// C-order, native-endian, aligned arrays: reads each row once, all columns together,
/// with the stripe kernels (float64, float32, int32 and int64), or by transposing blocks
/// of rows into one buffer per column when there are too many columns for them. (A
/// strided pass per column would read the chunk once per column.) `None` for other
/// layouts.
fn row_major_part(
    data: &[u8],
    layout: &Layout,
    columns: &[usize],
    rows: std::ops::Range<u64>,
) -> Option<Vec<Stats>> {
    if layout.fortran_order || !layout.native() || columns.is_empty() {
        return None;
    }
    let size = layout.scalar.size();
    let cols = layout.cols as usize;
    let start = rows.start as usize * cols * size;
    let len = (rows.end - rows.start) as usize * cols;
    if !(data.as_ptr() as usize + start).is_multiple_of(size) {
        return None;
    }
    fn typed<T: Element>(
        data: &[u8],
        start: usize,
        len: usize,
        cols: usize,
        columns: &[usize],
    ) -> Vec<Stats> {
        // SAFETY: the caller checked alignment and native byte order, and the layout was
        // validated against the mapping's length, so these `len` elements are inside it.
        let values: &[T] =
            unsafe { std::slice::from_raw_parts(data.as_ptr().add(start) as *const T, len) };
        match stats::row_major_any(values, cols) {
            Some(all) => columns.iter().map(|&c| all[c]).collect(),
            None => transpose_summaries(values, cols, columns),
        }
    }
    Some(match layout.scalar {
        Scalar::F64 => typed::<f64>(data, start, len, cols, columns),
        Scalar::F32 => typed::<f32>(data, start, len, cols, columns),
        Scalar::I64 => typed::<i64>(data, start, len, cols, columns),
        Scalar::I32 => typed::<i32>(data, start, len, cols, columns),
        _ => return None,
    })
}

fn transpose_summaries<T: Element>(values: &[T], cols: usize, columns: &[usize]) -> Vec<Stats> {
    let mut totals = vec![Stats::EMPTY; columns.len()];
    let Some(&first) = values.first() else {
        return totals;
    };
    assert!(columns.iter().all(|&c| c < cols), "columns were checked");
    let mut scratch: Vec<T> = vec![first; BLOCK_ROWS];
    // A block of rows stays in L2 while each column is gathered from it in turn.
    for block in values.chunks(BLOCK_ROWS * cols) {
        let n = block.len() / cols;
        for (&c, total) in columns.iter().zip(&mut totals) {
            for (r, slot) in scratch[..n].iter_mut().enumerate() {
                // SAFETY: r < n and c < cols, so r * cols + c < n * cols <= block.len().
                *slot = unsafe { *block.get_unchecked(r * cols + c) };
            }
            total.merge(&Stats::of_strided(Strided::from_slice(&scratch[..n])));
        }
    }
    totals
}

/// The statistics of each of `columns` of the array in `bytes` (the whole file), in
/// parallel over chunks of rows; `release` is given the byte ranges already read
/// (row-major arrays; in Fortran order a chunk of rows is spread over the whole file).
pub fn describe(
    bytes: &[u8],
    layout: &Layout,
    columns: &[usize],
    rows: std::ops::Range<u64>,
    progress: &Progress,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<(Stats, ColumnSketch)>> {
    let rows = rows.start.min(layout.rows)..rows.end.min(layout.rows);
    // Shape (n, 0) holds no element however large n is: a 128-byte file may claim 10^18
    // rows, and a list of their chunks would be an allocation that aborts the process.
    if layout.cols == 0 || rows.is_empty() {
        return Ok(vec![(Stats::EMPTY, ColumnSketch::default()); columns.len()]);
    }
    let data = &bytes[layout.offset..];
    let row_bytes = (layout.cols as usize * layout.scalar.size()).max(1);
    let rows_per_chunk = (CHUNK_BYTES / row_bytes).max(1) as u64;
    let chunks: Vec<std::ops::Range<u64>> = rows
        .clone()
        .step_by(rows_per_chunk as usize)
        .map(|r| r..(r + rows_per_chunk).min(rows.end))
        .collect();
    let chunks_per_release = (RELEASE_BYTES / (rows_per_chunk as usize * row_bytes)).max(1);
    progress
        .set_total(((rows.end - rows.start) * layout.cols * layout.scalar.size() as u64).max(1));
    let pool = pool()?;
    pool.install(|| {
        let mut totals = vec![(Stats::EMPTY, ColumnSketch::default()); columns.len()];
        // A few chunks per thread at a time, merged as soon as they are done: partial
        // sketches stay bounded in number whatever the file's size.
        let window = 4 * rayon::current_num_threads().max(1);
        let indexes: Vec<usize> = (0..chunks.len()).collect();
        for group in indexes.chunks(window) {
            let parts: Vec<Result<Vec<(Stats, ColumnSketch)>>> = group
                .par_iter()
                .map(|&i| {
                    let rows = &chunks[i];
                    progress.check()?;
                    let part =
                        row_major_part(data, layout, columns, rows.clone()).unwrap_or_else(|| {
                            columns
                                .iter()
                                .map(|&c| column_part(data, layout, c as u64, rows.clone()))
                                .collect()
                        });
                    let part = part
                        .into_iter()
                        .zip(columns)
                        .map(|(s, &c)| (s, sketch_part(data, layout, c as u64, rows.clone())))
                        .collect();
                    if !layout.fortran_order && (i + 1) % chunks_per_release == 0 {
                        let first = &chunks[i + 1 - chunks_per_release];
                        let start = layout.offset + first.start as usize * row_bytes;
                        release(start, layout.offset + rows.end as usize * row_bytes);
                    }
                    progress.advance((rows.end - rows.start) * row_bytes as u64);
                    Ok(part)
                })
                .collect();
            for part in parts {
                for (t, p) in totals.iter_mut().zip(part?) {
                    t.0.merge(&p.0);
                    t.1.merge(&p.1)?;
                }
            }
        }
        Ok(totals)
    })
}

/// An exact-quantile pass (`dataset::exact`): every value of `columns` goes to that
/// column's probes; returns them filled.
pub fn probe(
    bytes: &[u8],
    layout: &Layout,
    columns: &[usize],
    probes: &[Vec<Probe>],
    progress: &Progress,
) -> Result<Vec<Vec<Probe>>> {
    let fresh = || -> Vec<Vec<Probe>> {
        probes
            .iter()
            .map(|p| p.iter().map(Probe::fresh).collect())
            .collect()
    };
    let mut totals = fresh();
    if layout.cols == 0 {
        return Ok(totals);
    }
    let data = &bytes[layout.offset..];
    let row_bytes = (layout.cols as usize * layout.scalar.size()).max(1);
    let rows_per_chunk = ((CHUNK_BYTES / row_bytes).max(1) as u64).max(SKETCH_BLOCK as u64);
    let chunks: Vec<std::ops::Range<u64>> = (0..layout.rows)
        .step_by(rows_per_chunk as usize)
        .map(|r| r..(r + rows_per_chunk).min(layout.rows))
        .collect();
    progress.set_total((layout.rows * layout.cols * layout.scalar.size() as u64).max(1));
    let size = layout.scalar.size() as u64;
    pool()?.install(|| {
        let window = 4 * rayon::current_num_threads().max(1);
        for group in chunks.chunks(window) {
            let parts: Vec<Result<Vec<Vec<Probe>>>> = group
                .par_iter()
                .map(|rows| {
                    progress.check()?;
                    let mut part = fresh();
                    for (&c, probes) in columns.iter().zip(&mut part) {
                        let c = c as u64;
                        let (first, step) = if layout.fortran_order {
                            (c * layout.rows + rows.start, 1)
                        } else {
                            (rows.start * layout.cols + c, layout.cols)
                        };
                        let n = (rows.end - rows.start) as usize;
                        let (base, step) = ((first * size) as usize, (step * size) as usize);
                        for start in (0..n).step_by(SKETCH_BLOCK) {
                            let range = start..(start + SKETCH_BLOCK).min(n);
                            let mut values = match read_values(data, layout, base, step, range) {
                                Values::Floats(v) => v,
                                Values::Ints(v) => v.into_iter().map(|x| x as f64).collect(),
                            };
                            values.retain(|x| !x.is_nan());
                            probes.iter_mut().for_each(|p| p.add(&values));
                        }
                    }
                    progress.advance((rows.end - rows.start) * row_bytes as u64);
                    Ok(part)
                })
                .collect();
            for part in parts {
                for (total, part) in totals.iter_mut().zip(part?) {
                    total.iter_mut().zip(&part).for_each(|(t, p)| t.merge(p));
                }
            }
        }
        Ok(totals)
    })
}
