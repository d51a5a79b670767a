//! The npy target: the header parser, then the whole file described and decoded.

use super::csv::exercise;
use super::{assert_same_stats, MemFile};
use crate::dataset::{npy, Dataset, Format, OpenOptions};
use crate::runtime::progress::Progress;
use crate::stats::Stats;

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
        assert_same_stats(&d.summary, &Stats::of_slice(&column), "npy decode");
    }
}
