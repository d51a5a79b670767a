//! Fuzzing facade (issue 7, item 14). Not API: hidden from the docs, and compiled only
//! for the crate's own tests and with the cargo feature `fuzzing`, which the fuzz/ crate
//! turns on. Nothing else in the library uses it.
//!
//! Each public function is the body of one cargo-fuzz target in `fuzz/fuzz_targets/`: it
//! feeds arbitrary bytes to one reader through the same entry points the C ABI uses and
//! panics only when the library misbehaves: a panic of its own, a broken invariant, or
//! two ways of computing one answer that disagree. A refused input (an `Err`) is fine.
//! The tests at the bottom run the same bodies over the seed corpus (`fuzz/seeds/`,
//! `tests/data/csv`) and random mutations of it, so plain `cargo test` on stable runs
//! them without libFuzzer, nightly or sanitizers.

use crate::array::{Column, Strided, StridedMut};
use crate::dataset::csv::CsvOptions;
use crate::dataset::{npy, Dataset, Format, OpenOptions};
use crate::expr::{evaluate, Input, Output, Program};
use crate::runtime::progress::Progress;
use crate::stats::Summary;

// ---- files from bytes ----------------------------------------------------------------

/// `data` as a file that `Dataset::open` can map: an anonymous memory file on Linux
/// (`/proc/self/fd/N`: nothing on disk, nothing left behind by a crash), a temporary
/// file elsewhere. The file lives as long as this value.
struct MemFile {
    path: String,
    _file: std::fs::File,
    #[cfg(not(target_os = "linux"))]
    remove: std::path::PathBuf,
}

impl MemFile {
    #[cfg(target_os = "linux")]
    fn new(data: &[u8]) -> MemFile {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        // SAFETY: a NUL-terminated name; the new descriptor is owned by the File below.
        let fd =
            unsafe { libc::memfd_create(b"oxbridge-fuzz\0".as_ptr().cast(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all(data).expect("writing the memory file");
        MemFile {
            path: format!("/proc/self/fd/{fd}"),
            _file: file,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn new(data: &[u8]) -> MemFile {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "oxbridge-fuzz-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, data).expect("writing the temporary file");
        MemFile {
            path: path.to_string_lossy().into_owned(),
            _file: std::fs::File::open(&path).expect("opening the temporary file"),
            remove: path,
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl Drop for MemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.remove);
    }
}

/// NaN equals NaN (any payload); everything else bit for bit (so 0.0 is not -0.0).
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Equal as numbers (0.0 == -0.0), NaN equal to NaN: for minima and maxima, where either
/// zero may win.
fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

// ---- (a) CSV: open, describe, read_rows --------------------------------------------------

/// Dialect detection, then a few fixed option sets (every delimiter the C ABI accepts
/// behaves alike, so a handful covers them).
fn csv_option_sets() -> Vec<OpenOptions> {
    let csv = |delimiter: u8, has_header: Option<bool>, nulls: Option<&[&str]>| OpenOptions {
        format: Some(Format::Csv),
        csv: CsvOptions {
            delimiter: Some(delimiter),
            has_header,
            null_values: nulls.map(|n| n.iter().map(|s| s.to_string()).collect()),
        },
        ..OpenOptions::default()
    };
    vec![
        OpenOptions::default(), // format and dialect detected
        csv(b',', Some(true), None),
        csv(b'\t', Some(false), Some(&[])),
        csv(b';', None, Some(&["-", "?", ""])),
        csv(b' ', Some(false), None),
    ]
}

/// Opens `data` as a file with each option set and reads everything there is to read.
pub fn csv(data: &[u8]) {
    let file = MemFile::new(data);
    for options in csv_option_sets() {
        if let Ok(mut dataset) = Dataset::open(&file.path, &options) {
            exercise(&dataset);
            // Again in chunks of a few bytes, so that the parallel scan's chunk
            // boundaries (found from local evidence, re-parsed when wrong) land inside
            // quoted fields, CRLFs and doubled quotes; `exercise` checks the scan against
            // the sequential reader.
            // At most about 32 chunks: each costs per-column state, and a wide header
            // cut into thousands of chunks made one input take seconds under ASan.
            let chunk = (data.len() / 32).max(1 + data.len() % 13);
            dataset.set_csv_chunk_bytes(chunk);
            exercise(&dataset);
        }
    }
}

/// Every read of an open dataset, checked against each other.
fn exercise(dataset: &Dataset) {
    let progress = Progress::default();
    let columns = dataset.names().len();
    assert_eq!(dataset.dtypes().len(), columns);
    let is_csv = dataset.format() == Format::Csv;
    assert_eq!(is_csv, dataset.array().is_none());
    let rows = dataset.num_rows(&progress);
    let all: Vec<usize> = (0..columns).collect();
    let described = dataset.describe(&all, &progress);
    assert!(dataset.describe(&[columns], &progress).is_err());
    if let (Ok(rows), Ok(described)) = (&rows, &described) {
        assert_eq!(described.len(), columns);
        for d in described {
            assert_eq!(d.present + d.missing, *rows, "every row has every column");
        }
    }
    if let Ok(described) = &described {
        // A repeated and reordered selection gives the same answers.
        if columns > 0 {
            let picked = [columns - 1, 0, columns - 1];
            let again = dataset
                .describe(&picked, &progress)
                .expect("a second describe of the same columns");
            for (&c, d) in picked.iter().zip(&again) {
                assert_same_summary(&described[c].summary, &d.summary, "describe again");
                assert_eq!(
                    (described[c].kind, described[c].present),
                    (d.kind, d.present)
                );
            }
        }
    }
    if !is_csv {
        assert!(dataset.read_rows(0, &[], &mut [0.0; 4]).is_err());
        return;
    }
    // read_rows with no columns counts records exactly as the parallel scan does.
    let counted = read_everything(dataset, &[]);
    match (&rows, &counted) {
        (Ok(rows), Ok((read, _))) => assert_eq!(*rows, *read, "num_rows vs read_rows"),
        (Err(_), Err(_)) => {}
        (rows, counted) => panic!(
            "num_rows and read_rows disagree: {:?} vs {:?}",
            rows.as_ref().map_err(|e| &e.message),
            counted.as_ref().map(|c| c.0).map_err(|e| &e.message)
        ),
    }
    // The numeric columns read row by row give the statistics the scan gave.
    let Ok(described) = described else { return };
    let numeric: Vec<usize> = (0..columns)
        .filter(|&c| described[c].kind != crate::dataset::Kind::Text)
        .collect();
    let read = read_everything(dataset, &numeric);
    let (_, values) = match read {
        Ok(read) => read,
        Err(e) => panic!(
            "describe found columns {numeric:?} numeric, read_rows refuses them: {}",
            e.message
        ),
    };
    for (&c, column) in numeric.iter().zip(&values) {
        assert_same_summary(
            &described[c].summary,
            &Summary::of_slice(column),
            "read_rows",
        );
    }
}

/// Reads every record, three rows per call (so the cursor is resumed often): the row
/// count and each column's values.
fn read_everything(dataset: &Dataset, columns: &[usize]) -> crate::Result<(u64, Vec<Vec<f64>>)> {
    let width = columns.len().max(1);
    let mut out = vec![0.0; width * 3];
    let mut values = vec![Vec::new(); columns.len()];
    let (mut cursor, mut rows) = (0usize, 0u64);
    loop {
        let (n, next) = dataset.read_rows(cursor, columns, &mut out)?;
        if n == 0 {
            return Ok((rows, values));
        }
        assert!(n <= 3 && next > cursor, "read_rows must move forward");
        for row in out[..n * width].chunks(width) {
            for (v, &x) in values.iter_mut().zip(row) {
                v.push(x);
            }
        }
        cursor = next;
        rows += n as u64;
    }
}

fn assert_same_summary(a: &Summary, b: &Summary, what: &str) {
    assert_eq!(
        (a.count(), a.nan_count()),
        (b.count(), b.nan_count()),
        "{what}: counts"
    );
    assert!(
        same_value(a.min(), b.min()) && same_value(a.max(), b.max()),
        "{what}: min/max {} {} vs {} {}",
        a.min(),
        a.max(),
        b.min(),
        b.max()
    );
}

// ---- (b) npy: the header, then the whole file --------------------------------------------

/// Parses `data` as an `.npy` header, then opens it as a file and checks the statistics
/// against a plain element-by-element decoding of the array.
pub fn npy(data: &[u8]) {
    match npy::parse_header(data, "fuzz.npy") {
        Ok(h) => assert!(h.data_offset <= data.len() && npy::is_npy(data)),
        Err(e) => assert!(!e.message.is_empty()),
    }
    let file = MemFile::new(data);
    let options = OpenOptions {
        format: Some(Format::Npy),
        ..OpenOptions::default()
    };
    let Ok(dataset) = Dataset::open(&file.path, &options) else {
        return;
    };
    exercise(&dataset);
    let (bytes, layout) = dataset.array().expect("an npy file is an array");
    let (rows, cols) = (layout.rows, layout.cols);
    let size = layout.scalar.size();
    let element = |r: u64, c: u64| -> f64 {
        let index = if layout.fortran_order {
            c * rows + r
        } else {
            r * cols + c
        };
        let at = index as usize * size;
        let mut raw = bytes[at..at + size].to_vec();
        if layout.big_endian {
            raw.reverse();
        }
        let mut le = [0u8; 8];
        le[..size].copy_from_slice(&raw);
        use npy::Scalar::*;
        match layout.scalar {
            F64 => f64::from_le_bytes(le),
            F32 => f32::from_le_bytes(le[..4].try_into().unwrap()) as f64,
            I64 => i64::from_le_bytes(le) as f64,
            I32 => i32::from_le_bytes(le[..4].try_into().unwrap()) as f64,
            I16 => i16::from_le_bytes(le[..2].try_into().unwrap()) as f64,
            I8 => le[0] as i8 as f64,
            U32 => u32::from_le_bytes(le[..4].try_into().unwrap()) as f64,
            U16 => u16::from_le_bytes(le[..2].try_into().unwrap()) as f64,
            U8 => le[0] as f64,
            Bool => (le[0] != 0) as u8 as f64,
        }
    };
    let all: Vec<usize> = (0..cols as usize).collect();
    let described = dataset
        .describe(&all, &Progress::default())
        .expect("describe of a valid npy file");
    for (c, d) in described.iter().enumerate() {
        let column: Vec<f64> = (0..rows).map(|r| element(r, c as u64)).collect();
        assert_same_summary(&d.summary, &Summary::of_slice(&column), "npy decode");
    }
}

// ---- (c) expressions: compile, then evaluate on a fixed input ------------------------------

/// Values every variable cycles through (each from its own starting point): zeros of both
/// signs, infinities, NaN, a subnormal, the extremes and ordinary numbers.
const SPECIAL: [f64; 17] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    1e308,
    -1e-310,
    f64::MIN_POSITIVE,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    2.0,
    10.0,
    -7.0,
    1e-5,
];
/// More than one evaluation block (512), so block edges and a partial block are covered.
const LEN: usize = 520;

fn values(variable: usize) -> Vec<f64> {
    (0..LEN)
        .map(|i| SPECIAL[(i + 5 * variable) % SPECIAL.len()])
        .collect()
}

fn run(program: &Program, inputs: &[Input<'_>], out: Output<'_>) {
    evaluate(program, inputs, out).expect("evaluating with one operand per variable");
}

fn f64_inputs(arrays: &[Vec<f64>]) -> Vec<Input<'_>> {
    arrays
        .iter()
        .map(|v| Input::Array(Column::F64(Strided::from_slice(v))))
        .collect()
}

/// The program's float64 result for these inputs, in a fresh contiguous buffer.
fn run_to_vec(program: &Program, inputs: &[Input<'_>]) -> Vec<f64> {
    let mut out = vec![0.0; LEN];
    run(
        program,
        inputs,
        Output::F64(StridedMut::from_slice(&mut out)),
    );
    out
}

fn assert_same_results(a: &[f64], b: &[f64], source: &str, what: &str) {
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(
            same(x, y),
            "{source:?}, {what}: element {i}: {x:?} vs {y:?}"
        );
    }
}

/// Compiles `data` (as UTF-8, invalid bytes replaced); a program is evaluated over fixed
/// inputs in several layouts and dtypes, which must all give the same bits.
pub fn expr(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let program = match Program::compile(&source) {
        Ok(p) => p,
        Err(e) => {
            assert!(e.at <= source.len(), "error position past the end");
            let _ = e.render(&source);
            return;
        }
    };
    let n = program.variables.len();
    let arrays: Vec<Vec<f64>> = (0..n).map(values).collect();
    // 1. Contiguous float64 everywhere.
    let expected = run_to_vec(&program, &f64_inputs(&arrays));
    // 2. Reversed inputs and a reversed, strided output.
    let reversed: Vec<Vec<f64>> = arrays
        .iter()
        .map(|v| v.iter().rev().copied().collect())
        .collect();
    let inputs: Vec<Input> = reversed
        .iter()
        // SAFETY: LEN elements counted back from the last one of a LEN-element vector.
        .map(|v| unsafe { Strided::from_raw_parts(v.as_ptr().add(LEN - 1), LEN, -1) })
        .map(|s| Input::Array(Column::F64(s)))
        .collect();
    let mut spread = vec![0.0; 2 * LEN];
    // SAFETY: element i at 2 * (LEN - 1 - i): distinct, inside the vector.
    let out = unsafe { StridedMut::from_raw_parts(spread.as_mut_ptr().add(2 * LEN - 2), LEN, -2) };
    run(&program, &inputs, Output::F64(out));
    let got: Vec<f64> = (0..LEN).map(|i| spread[2 * (LEN - 1 - i)]).collect();
    assert_same_results(&expected, &got, &source, "reversed layout");
    // 3. In place: the output is the first operand itself.
    if n > 0 {
        let mut place = arrays[0].clone();
        let ptr = place.as_mut_ptr();
        let mut inputs: Vec<Input> = Vec::with_capacity(n);
        // SAFETY: the engine allows `out` to be exactly one of the inputs; `place` outlives
        // both views and is not touched otherwise until they are gone.
        inputs.push(Input::Array(Column::F64(unsafe {
            Strided::from_raw_parts(ptr, LEN, 1)
        })));
        inputs.extend(
            arrays[1..]
                .iter()
                .map(|v| Input::Array(Column::F64(Strided::from_slice(v)))),
        );
        run(
            &program,
            &inputs,
            Output::F64(unsafe { StridedMut::from_raw_parts(ptr, LEN, 1) }),
        );
        drop(inputs);
        assert_same_results(&expected, &place, &source, "in place");
    }
    // 4. Every operand kind: float64, float32 and int64 arrays and scalars, against the
    // float64 arrays holding the same values; then a float32 output.
    let f32s: Vec<Vec<f32>> = arrays
        .iter()
        .map(|v| v.iter().map(|&x| x as f32).collect())
        .collect();
    let i64s: Vec<Vec<i64>> = (0..n)
        .map(|v| (0..LEN).map(|i| ((i * 7 + v) % 23) as i64 - 11).collect())
        .collect();
    let i32s: Vec<Vec<i32>> = i64s
        .iter()
        .map(|v| v.iter().map(|&x| x as i32 * 3).collect())
        .collect();
    let scalar = |v: usize| SPECIAL[(v * 3) % SPECIAL.len()];
    let mixed: Vec<Input> = (0..n)
        .map(|v| match v % 5 {
            0 => Input::Array(Column::F64(Strided::from_slice(&arrays[v]))),
            1 => Input::Array(Column::F32(Strided::from_slice(&f32s[v]))),
            2 => Input::Array(Column::I64(Strided::from_slice(&i64s[v]))),
            3 => Input::Scalar(scalar(v)),
            _ => Input::Array(Column::I32(Strided::from_slice(&i32s[v]))),
        })
        .collect();
    let widened: Vec<Vec<f64>> = (0..n)
        .map(|v| match v % 5 {
            0 => arrays[v].clone(),
            1 => f32s[v].iter().map(|&x| x as f64).collect(),
            2 => i64s[v].iter().map(|&x| x as f64).collect(),
            3 => vec![scalar(v); LEN],
            _ => i32s[v].iter().map(|&x| x as f64).collect(),
        })
        .collect();
    let expected = run_to_vec(&program, &f64_inputs(&widened));
    let got = run_to_vec(&program, &mixed);
    assert_same_results(&expected, &got, &source, "mixed operand types");
    let mut narrow = vec![0.0f32; LEN];
    run(
        &program,
        &mixed,
        Output::F32(StridedMut::from_slice(&mut narrow)),
    );
    let narrowed: Vec<f64> = narrow.iter().map(|&x| x as f64).collect();
    let wanted: Vec<f64> = expected.iter().map(|&x| x as f32 as f64).collect();
    assert_same_results(&wanted, &narrowed, &source, "float32 output");
}

#[cfg(test)]
mod tests {
    //! The fuzz target bodies on stable, as part of `cargo test`: every seed, then random
    //! mutations of the seeds (proptest, a few seconds in all; failures are shrunk and
    //! saved under proptest-regressions/). A crash found by `make fuzz` belongs in
    //! fuzz/seeds/<target>/ (so it runs here from then on) with a named test below.
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::OnceLock;

    fn files(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(std::fs::read(&path).unwrap());
            }
        }
    }

    /// The seed corpus of a target, read once.
    fn seeds(target: &str) -> &'static [Vec<u8>] {
        static SEEDS: OnceLock<HashMap<&'static str, Vec<Vec<u8>>>> = OnceLock::new();
        &SEEDS.get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let mut all = HashMap::new();
            for name in ["csv", "npy", "expr"] {
                let mut out = Vec::new();
                files(&root.join("fuzz/seeds").join(name), &mut out);
                if name == "csv" {
                    files(&root.join("tests/data/csv"), &mut out);
                }
                assert!(!out.is_empty(), "no seeds for {name}");
                all.insert(name, out);
            }
            all
        })[target]
    }

    /// One edit of a mutation: insert, delete or overwrite a byte, or splice in a piece of
    /// another seed.
    type Edit = (u8, Index, Index, u8);

    fn mutate(seeds: &[Vec<u8>], seed: Index, edits: &[Edit]) -> Vec<u8> {
        let mut data = seed.get(seeds).clone();
        for &(op, at, other, byte) in edits {
            let i = if data.is_empty() {
                0
            } else {
                at.index(data.len() + 1)
            };
            match op % 4 {
                0 => data.insert(i, byte),
                1 if i < data.len() => {
                    data.remove(i);
                }
                2 if i < data.len() => data[i] = byte,
                _ => {
                    let donor = other.get(seeds);
                    let from = other.index(donor.len() + 1);
                    let piece = &donor[from..(from + byte as usize % 24).min(donor.len())];
                    data.splice(i..i, piece.iter().copied());
                }
            }
        }
        data
    }

    fn edits(alphabet: &'static [u8]) -> impl Strategy<Value = Vec<Edit>> {
        proptest::collection::vec(
            (
                any::<u8>(),
                any::<Index>(),
                any::<Index>(),
                select(alphabet),
            ),
            0..10,
        )
    }

    const CSV_BYTES: &[u8] = b",;\t| \"\"\r\n\n0123456789.-+eEnaNAifx\xEF\xBB\xBF\x00\xff";
    const NPY_BYTES: &[u8] = b"0123456789(),' :<>|=fiubcLTrueFalse{}\x00\x01\xff\n";
    const EXPR_TOKENS: &[&str] = &[
        "a", "b", "x", "y2", "1", "2.5", "1e308", "0", "-", "+", "*", "/", "**", "%", "(", ")",
        ",", "<", ">", "==", "!=", "<=", ">=", "&", "|", "~", " not ", " and ", " or ", "where(",
        "sqrt(", "log(", "exp(", "log1p(", "clip(", "arctan2(", "isnan(", "round(", "minimum(",
        "abs(", " ", "é", "∑", "inf", "nan", "1e", ".5", "True", "$", "\"",
    ];

    #[test]
    fn csv_seeds() {
        seeds("csv").iter().for_each(|s| csv(s));
        // The bodies really read files: most seeds open and describe (a facade that
        // quietly failed to open anything would pass every test).
        let described = seeds("csv")
            .iter()
            .filter(|s| {
                let file = MemFile::new(s);
                let dataset = Dataset::open(&file.path, &OpenOptions::default());
                dataset.is_ok_and(|d| d.describe(&[0], &Progress::default()).is_ok())
            })
            .count();
        assert!(described > 30, "only {described} seeds described");
    }

    #[test]
    fn npy_seeds() {
        seeds("npy").iter().for_each(|s| npy(s));
        let opened = seeds("npy")
            .iter()
            .filter(|s| Dataset::open(&MemFile::new(s).path, &OpenOptions::default()).is_ok())
            .count();
        assert!(opened > 12, "only {opened} seeds opened");
    }

    #[test]
    fn expr_seeds() {
        seeds("expr").iter().for_each(|s| expr(s));
        let compiled = seeds("expr")
            .iter()
            .filter(|s| Program::compile(std::str::from_utf8(s).unwrap()).is_ok())
            .count();
        assert!(compiled > 12, "only {compiled} seeds compiled");
    }

    /// Cases per property: 300 in `cargo test` (about a second in all), more with
    /// `OXBRIDGE_FUZZ_CASES` (`make test-fuzz`).
    fn cases() -> u32 {
        std::env::var("OXBRIDGE_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(300)
    }

    // Regressions found by `make fuzz`; each input is also in fuzz/seeds/<target>/.

    #[test]
    fn npy_dtype_starting_with_a_multibyte_character_is_refused() {
        // A v3 header (UTF-8 allowed) whose descr starts with a 2-byte character: the
        // byte order was split off at byte 1, inside the character, and panicked.
        let e = npy::Scalar::parse("\u{645}8").unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Unsupported);
        let header = "{'descr': '\u{645}|', 'fortran_order': False, 'shape': (3,), }\n";
        let mut file = b"\x93NUMPY\x03\x00".to_vec();
        file.extend((header.len() as u32).to_le_bytes());
        file.extend(header.as_bytes());
        assert!(npy::parse_header(&file, "x.npy").is_err());
        npy(&file);
    }

    #[test]
    fn npy_with_zero_columns_and_huge_rows_describes_without_allocating() {
        // Shape (10^18, 0) passes the size check (no element); describe's chunk list for
        // 10^18 rows was a 15 TB allocation that aborted the process.
        let header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000000, 0), }\n";
        let mut file = b"\x93NUMPY\x01\x00".to_vec();
        file.extend((header.len() as u16).to_le_bytes());
        file.extend(header.as_bytes());
        let memory = MemFile::new(&file);
        let dataset = Dataset::open(&memory.path, &OpenOptions::default()).unwrap();
        let progress = Progress::default();
        assert_eq!(
            dataset.num_rows(&progress).unwrap(),
            1_000_000_000_000_000_000
        );
        assert!(dataset.describe(&[], &progress).unwrap().is_empty());
        npy(&file);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        #[test]
        fn csv_mutations(seed in any::<Index>(), edits in edits(CSV_BYTES)) {
            csv(&mutate(seeds("csv"), seed, &edits));
        }

        #[test]
        fn npy_mutations(seed in any::<Index>(), edits in edits(NPY_BYTES)) {
            npy(&mutate(seeds("npy"), seed, &edits));
        }

        #[test]
        fn expr_mutations(seed in any::<Index>(), edits in edits(b"ab1.()*+-,<=~ \xc3\xa9")) {
            expr(&mutate(seeds("expr"), seed, &edits));
        }

        #[test]
        fn expr_token_soup(tokens in proptest::collection::vec(select(EXPR_TOKENS), 0..24)) {
            expr(tokens.concat().as_bytes());
        }
    }
}
