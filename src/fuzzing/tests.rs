//! The fuzz target bodies on stable, as part of `cargo test`: every seed, then random
//! mutations of the seeds (proptest, a few seconds in all; failures are shrunk and
//! saved under proptest-regressions/). A crash found by `make fuzz` belongs in
//! fuzz/seeds/<target>/ (so it runs here from then on) with a named test below.
use super::*;
use crate::dataset::{npy, Dataset, OpenOptions};
use crate::expr::Program;
use crate::runtime::progress::Progress;
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
    "a", "b", "x", "y2", "1", "2.5", "1e308", "0", "-", "+", "*", "/", "**", "%", "(", ")", ",",
    "<", ">", "==", "!=", "<=", ">=", "&", "|", "~", " not ", " and ", " or ", "where(", "sqrt(",
    "log(", "exp(", "log1p(", "clip(", "arctan2(", "isnan(", "round(", "minimum(", "abs(", "sign(",
    "arctanh(", " ", "é", "∑", "inf", "nan", "1e", ".5", "True", "$", "\"",
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
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000000, 0), }\n";
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
