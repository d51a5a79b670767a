//! Little-endian writing and bounds-checked reading of serialised sketches.

use crate::error::{Error, ErrorKind, Result};

/// A `DataFormat` error for a serialised sketch: "`what`: `message`".
pub(crate) fn bad(what: &str, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::DataFormat, format!("{what}: {message}"))
}

/// Reads fields in order from a byte string, each read checked against its end.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, which hold a serialised `what` (named in every error).
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { bytes, at: 0, what }
    }

    /// A `DataFormat` error naming the sketch.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> Error {
        bad(self.what, message)
    }

    /// The next `n` bytes, or an error naming the `field` that is cut short.
    pub(crate) fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.error(format_args!(
                "{} bytes end before its {field} (byte {}, {n} bytes wanted)",
                self.bytes.len(),
                self.at
            )));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// One byte.
    pub(crate) fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.take(1, field)?[0])
    }

    /// A little-endian u16.
    pub(crate) fn u16(&mut self, field: &str) -> Result<u16> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// A little-endian u32.
    pub(crate) fn u32(&mut self, field: &str) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4, field)?);
        Ok(u32::from_le_bytes(a))
    }

    /// A little-endian u64.
    pub(crate) fn u64(&mut self, field: &str) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_le_bytes(a))
    }

    /// A little-endian IEEE-754 double.
    pub(crate) fn f64(&mut self, field: &str) -> Result<f64> {
        Ok(f64::from_bits(self.u64(field)?))
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// An error unless every byte was read.
    pub(crate) fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(self.error(format_args!("{extra} bytes after the end of the sketch"))),
        }
    }
}
