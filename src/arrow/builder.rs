//! Building a column value by value (the CSV reader's way): a validity bitmap beside the
//! values, text as offsets and bytes.

use super::{Buffer, Column, DataType};

/// A growable bitmap, least significant bit first (Arrow's bit order).
#[derive(Debug, Clone, Default)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    /// Appends one bit.
    #[inline]
    pub fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        if bit {
            let last = self.words.len() - 1;
            self.words[last] |= 1 << (self.len % 64);
        }
        self.len += 1;
    }

    /// The bitmap as an Arrow buffer.
    pub fn into_buffer(self) -> Buffer {
        let len = self.len.div_ceil(8);
        Buffer::Owned {
            words: self.words,
            len,
        }
    }
}

/// The values of a column on their way into a `Column`: 64-bit values straight in the
/// words an Arrow buffer is made of, so finishing moves them instead of copying.
#[derive(Debug)]
enum Values {
    /// int64 and timestamps (their two's-complement bits), float64 (`to_bits`).
    Words(Vec<u64>),
    Int32(Vec<i32>),
    Bool(Bits),
    Text {
        offsets: Vec<i64>,
        data: Vec<u8>,
    },
}

/// A column built value by value; missing values are nulls.
#[derive(Debug)]
pub struct ColumnBuilder {
    data_type: DataType,
    values: Values,
    len: usize,
    /// The validity bitmap, made at the first null (a column without nulls has none).
    validity: Option<Bits>,
    null_count: usize,
}

impl Bits {
    /// `n` set bits.
    fn ones(n: usize) -> Bits {
        let mut words = vec![u64::MAX; n / 64];
        if !n.is_multiple_of(64) {
            words.push((1u64 << (n % 64)) - 1);
        }
        Bits { words, len: n }
    }
}

impl ColumnBuilder {
    /// An empty column of `data_type` (Int64, Float64, Bool, Date32, Timestamp, Utf8 or
    /// LargeUtf8), with room for `rows` values.
    pub fn new(data_type: DataType, rows: usize) -> ColumnBuilder {
        let values = match data_type {
            DataType::Int64 | DataType::Timestamp { .. } | DataType::Float64 => {
                Values::Words(Vec::with_capacity(rows))
            }
            DataType::Date32 => Values::Int32(Vec::with_capacity(rows)),
            DataType::Bool => Values::Bool(Bits::default()),
            DataType::Utf8 | DataType::LargeUtf8 => Values::Text {
                offsets: {
                    let mut o = Vec::with_capacity(rows + 1);
                    o.push(0);
                    o
                },
                data: Vec::new(),
            },
            other => unreachable!("no builder for {other:?}"),
        };
        ColumnBuilder {
            data_type,
            values,
            len: 0,
            validity: None,
            null_count: 0,
        }
    }

    /// The column's type.
    pub fn data_type(&self) -> DataType {
        self.data_type
    }

    #[inline(always)]
    fn present(&mut self) {
        if let Some(v) = &mut self.validity {
            v.push(true);
        }
        self.len += 1;
    }

    /// Appends a null.
    #[inline]
    pub fn push_null(&mut self) {
        let len = self.len;
        self.validity
            .get_or_insert_with(|| Bits::ones(len))
            .push(false);
        self.len += 1;
        self.null_count += 1;
        match &mut self.values {
            Values::Words(v) => v.push(0),
            Values::Int32(v) => v.push(0),
            Values::Bool(b) => b.push(false),
            Values::Text { offsets, data } => offsets.push(data.len() as i64),
        }
    }

    /// Appends an integer (int64 and timestamp columns; date columns take days).
    #[inline]
    pub fn push_i64(&mut self, v: i64) {
        self.present();
        match &mut self.values {
            Values::Words(values) => values.push(v as u64),
            // Dates of years 1 to 9999 are within i32 (the parser keeps to them).
            Values::Int32(values) => values.push(v as i32),
            _ => unreachable!("push_i64 on a {:?} column", self.data_type),
        }
    }

    /// Appends a double.
    #[inline]
    pub fn push_f64(&mut self, v: f64) {
        self.present();
        match &mut self.values {
            Values::Words(values) => values.push(v.to_bits()),
            _ => unreachable!("push_f64 on a {:?} column", self.data_type),
        }
    }

    /// Appends a boolean.
    #[inline]
    pub fn push_bool(&mut self, v: bool) {
        self.present();
        match &mut self.values {
            Values::Bool(bits) => bits.push(v),
            _ => unreachable!("push_bool on a {:?} column", self.data_type),
        }
    }

    /// Appends text; invalid UTF-8 becomes U+FFFD per invalid sequence, as Python's
    /// `decode("utf-8", "replace")` reads it (Arrow's text must be UTF-8).
    #[inline]
    pub fn push_text(&mut self, bytes: &[u8]) {
        self.present();
        match &mut self.values {
            Values::Text { offsets, data } => {
                if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
                    data.extend_from_slice(bytes);
                } else {
                    data.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes());
                }
                offsets.push(data.len() as i64);
            }
            _ => unreachable!("push_text on a {:?} column", self.data_type),
        }
    }

    /// The finished column. Text of a `Utf8` column must fit 32-bit offsets (callers
    /// choose `LargeUtf8` when a batch could pass 2 GiB of text).
    pub fn finish(self) -> Column {
        let len = self.len;
        let validity = self.validity.map(Bits::into_buffer);
        let buffers = match self.values {
            Values::Words(words) => {
                let bytes = words.len() * 8;
                vec![Buffer::Owned { words, len: bytes }]
            }
            Values::Int32(v) => vec![Buffer::of(&v)],
            Values::Bool(bits) => vec![bits.into_buffer()],
            Values::Text { offsets, data } => {
                let offsets = if self.data_type == DataType::Utf8 {
                    let narrow: Vec<i32> = offsets.iter().map(|&o| o as i32).collect();
                    Buffer::of(&narrow)
                } else {
                    Buffer::of(&offsets)
                };
                // An empty one still gets a real (aligned) address: some consumers check.
                let data = if data.is_empty() {
                    Buffer::Owned {
                        words: vec![0],
                        len: 0,
                    }
                } else {
                    Buffer::Bytes(data)
                };
                vec![offsets, data]
            }
        };
        Column {
            data_type: self.data_type,
            len,
            null_count: self.null_count,
            validity,
            buffers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &Buffer) -> Vec<u8> {
        b.owned_bytes().expect("a buffer of ours")
    }

    #[test]
    fn columns_have_arrow_layouts() {
        let mut b = ColumnBuilder::new(DataType::Utf8, 4);
        b.push_text(b"ab");
        b.push_null();
        b.push_text(b"\xffc");
        let c = b.finish();
        assert_eq!((c.len, c.null_count), (3, 1));
        assert_eq!(bytes(c.validity.as_ref().unwrap()), [0b101]);
        let offsets: Vec<i32> = bytes(&c.buffers[0])
            .chunks(4)
            .map(|c| i32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(offsets, [0, 2, 2, 6]);
        assert_eq!(bytes(&c.buffers[1]), "ab\u{fffd}c".as_bytes());

        let mut b = ColumnBuilder::new(DataType::Bool, 0);
        for i in 0..70 {
            b.push_bool(i % 3 == 0);
        }
        let c = b.finish();
        assert!(c.validity.is_none());
        let bits = bytes(&c.buffers[0]);
        assert_eq!(bits.len(), 9);
        assert_eq!(bits[0], 0b0100_1001);

        let mut b = ColumnBuilder::new(DataType::Date32, 0);
        b.push_i64(-1);
        b.push_i64(19_000);
        assert_eq!(bytes(&b.finish().buffers[0]).len(), 8);
    }
}
