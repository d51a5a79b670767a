//! Arrow's columnar format, as far as oxbridge produces it: record batches of columns
//! whose buffers are either our own memory or a byte range of a mapped file (zero-copy).
//! The C Data Interface structs and their release callbacks are `ffi::arrow`'s; this
//! module knows the layouts only (validity bitmaps, offsets, values), as the Arrow
//! columnar format specifies them.

mod builder;

pub use builder::{Bits, ColumnBuilder};

use std::ops::Range;

/// The Arrow types oxbridge writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    /// Booleans, one bit each.
    Bool,
    /// Signed integers of 8 to 64 bits.
    Int8,
    /// 16-bit signed integers.
    Int16,
    /// 32-bit signed integers.
    Int32,
    /// 64-bit signed integers.
    Int64,
    /// 8-bit unsigned integers.
    UInt8,
    /// 16-bit unsigned integers.
    UInt16,
    /// 32-bit unsigned integers.
    UInt32,
    /// IEEE single precision.
    Float32,
    /// IEEE double precision.
    Float64,
    /// UTF-8 text with 32-bit offsets.
    Utf8,
    /// UTF-8 text with 64-bit offsets (a batch's text may pass 2 GiB).
    LargeUtf8,
    /// Days since 1970-01-01, 32 bits.
    Date32,
    /// Microseconds since 1970-01-01T00:00, 64 bits; `zoned`: the instants are UTC.
    Timestamp {
        /// Whether the values were written with a zone (then they are UTC instants).
        zoned: bool,
    },
}

impl DataType {
    /// The type's format string in the C Data Interface.
    pub fn format(self) -> &'static str {
        match self {
            DataType::Bool => "b",
            DataType::Int8 => "c",
            DataType::Int16 => "s",
            DataType::Int32 => "i",
            DataType::Int64 => "l",
            DataType::UInt8 => "C",
            DataType::UInt16 => "S",
            DataType::UInt32 => "I",
            DataType::Float32 => "f",
            DataType::Float64 => "g",
            DataType::Utf8 => "u",
            DataType::LargeUtf8 => "U",
            DataType::Date32 => "tdD",
            DataType::Timestamp { zoned: false } => "tsu:",
            DataType::Timestamp { zoned: true } => "tsu:UTC",
        }
    }
}

/// A column of a schema: its name, type, and whether it may hold nulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The column's name.
    pub name: String,
    /// The column's type.
    pub data_type: DataType,
    /// Whether values may be null (missing).
    pub nullable: bool,
}

/// Bytes of one buffer of a column.
#[derive(Debug, Clone)]
pub enum Buffer {
    /// Our own memory: `len` bytes at the start of `words` (8-byte aligned, as Arrow
    /// recommends).
    Owned {
        /// The storage.
        words: Vec<u64>,
        /// How many of its bytes are the buffer.
        len: usize,
    },
    /// Our own bytes (text data, which needs no alignment beyond a byte).
    Bytes(Vec<u8>),
    /// A byte range of the dataset's mapped file, handed out without a copy.
    Mapped(Range<usize>),
}

impl Buffer {
    /// A buffer holding a copy of `bytes`.
    pub fn copy_of(bytes: &[u8]) -> Buffer {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        Buffer::Owned {
            words,
            len: bytes.len(),
        }
    }

    /// A buffer of the values of `v` (fixed-width numbers), in native byte order.
    pub fn of<T: Copy + Pod>(v: &[T]) -> Buffer {
        let len = std::mem::size_of_val(v);
        let per_word = 8 / std::mem::size_of::<T>();
        let words = v
            .chunks(per_word)
            .map(|values| {
                let mut bytes = [0u8; 8];
                for (k, x) in values.iter().enumerate() {
                    x.write_bytes(&mut bytes, k);
                }
                u64::from_ne_bytes(bytes)
            })
            .collect();
        Buffer::Owned { words, len }
    }

    /// A copy of the bytes of one of our own buffers; `None` for a range of a mapped file
    /// (only its dataset can read it).
    pub fn owned_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Buffer::Owned { words, len } => Some(
                words
                    .iter()
                    .flat_map(|w| w.to_ne_bytes())
                    .take(*len)
                    .collect(),
            ),
            Buffer::Bytes(bytes) => Some(bytes.clone()),
            Buffer::Mapped(_) => None,
        }
    }
}

/// Fixed-width numbers a `Buffer` can hold, 8 bytes to a word.
pub trait Pod: Copy {
    /// Writes the value as the `k`-th of the values that share the 8 bytes of a word.
    fn write_bytes(self, word: &mut [u8; 8], k: usize);
}

macro_rules! pod {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            #[inline(always)]
            fn write_bytes(self, word: &mut [u8; 8], k: usize) {
                const SIZE: usize = std::mem::size_of::<$t>();
                word[k * SIZE..(k + 1) * SIZE].copy_from_slice(&self.to_ne_bytes());
            }
        }
    )*};
}
pod!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// One column of a batch, laid out as the Arrow columnar format says.
#[derive(Debug, Clone)]
pub struct Column {
    /// The type, as in the schema.
    pub data_type: DataType,
    /// Values, nulls included.
    pub len: usize,
    /// How many values are null.
    pub null_count: usize,
    /// The validity bitmap (bit set: a value; least significant bit first); `None` when
    /// no value is null.
    pub validity: Option<Buffer>,
    /// The other buffers: `[values]` for fixed widths and booleans, `[offsets, data]`
    /// for text.
    pub buffers: Vec<Buffer>,
}

/// Rows of a table, a column each.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The number of rows.
    pub rows: usize,
    /// The columns, in the schema's order.
    pub columns: Vec<Column>,
}
