//! The `.npy` header (format versions 1.0, 2.0 and 3.0), parsed as the Python literal it
//! is (`literal`), and the dtypes oxbridge reads.

mod literal;

use super::binary::Layout;
use super::MAX_COLUMNS;
use crate::error::{Error, Result};
use literal::Literal;

/// Element types of binary data (npy or raw); the byte order is kept beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// float64
    F64,
    /// float32
    F32,
    /// int64
    I64,
    /// int32
    I32,
    /// int16
    I16,
    /// int8
    I8,
    /// uint32
    U32,
    /// uint16
    U16,
    /// uint8
    U8,
    /// bool, one byte (0 is false)
    Bool,
}

impl Scalar {
    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Scalar::F64 | Scalar::I64 => 8,
            Scalar::F32 | Scalar::I32 | Scalar::U32 => 4,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I8 | Scalar::U8 | Scalar::Bool => 1,
        }
    }

    /// Whether the values are floating point (the others are integers or bools).
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F64 | Scalar::F32)
    }

    /// numpy's name for the type, as users see it.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::F64 => "float64",
            Scalar::F32 => "float32",
            Scalar::I64 => "int64",
            Scalar::I32 => "int32",
            Scalar::I16 => "int16",
            Scalar::I8 => "int8",
            Scalar::U32 => "uint32",
            Scalar::U16 => "uint16",
            Scalar::U8 => "uint8",
            Scalar::Bool => "bool",
        }
    }

    /// Parses a numpy type string such as `<f8`, `>i4`, `|u1`, `float64` or `int32`.
    pub fn parse(text: &str) -> Result<(Scalar, bool)> {
        let unsupported = || {
            Error::unsupported(format!(
                "dtype {text:?} is not supported; use float64, float32, int64, int32, int16, \
                 int8, uint32, uint16, uint8 or bool"
            ))
        };
        let by_name = match text {
            // numpy's names: "float" is float64 (Python's float), "single" float32.
            "float64" | "f8" | "double" | "float" => Some(Scalar::F64),
            "float32" | "f4" | "single" => Some(Scalar::F32),
            "int64" | "i8" => Some(Scalar::I64),
            "int32" | "i4" => Some(Scalar::I32),
            "int16" | "i2" => Some(Scalar::I16),
            "int8" | "i1" => Some(Scalar::I8),
            "uint32" | "u4" => Some(Scalar::U32),
            "uint16" | "u2" => Some(Scalar::U16),
            "uint8" | "u1" => Some(Scalar::U8),
            "bool" | "b1" => Some(Scalar::Bool),
            _ => None,
        };
        if let Some(s) = by_name {
            return Ok((s, cfg!(target_endian = "big")));
        }
        // After the first character, not byte: the text may be any UTF-8 (fuzzing found
        // a v3 header's descr starting with 'م' panicking here; fuzz/seeds/npy).
        let (order, code) = text.split_at(text.chars().next().map_or(0, char::len_utf8));
        let big = match order {
            "<" => false,
            ">" => true,
            "|" | "=" => cfg!(target_endian = "big"),
            _ => return Err(unsupported()),
        };
        let scalar = match code {
            "f8" => Scalar::F64,
            "f4" => Scalar::F32,
            "i8" => Scalar::I64,
            "i4" => Scalar::I32,
            "i2" => Scalar::I16,
            "i1" => Scalar::I8,
            "u4" => Scalar::U32,
            "u2" => Scalar::U16,
            "u1" => Scalar::U8,
            "b1" => Scalar::Bool,
            _ => return Err(unsupported()),
        };
        Ok((scalar, big))
    }
}

/// What an `.npy` header says about the array after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The element type.
    pub scalar: Scalar,
    /// Whether the elements are big-endian.
    pub big_endian: bool,
    /// Whether columns, not rows, are contiguous.
    pub fortran_order: bool,
    /// The array's shape, any number of dimensions.
    pub shape: Vec<u64>,
    /// Offset of the first data byte from the start of the file.
    pub data_offset: usize,
}

/// The first bytes of every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY";

/// Whether `bytes` start as a `.npy` file does.
pub fn is_npy(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn malformed(path: &str, what: impl std::fmt::Display) -> Error {
    Error::data_format(path, 0, "", format!("not a valid .npy file: {what}"))
}

/// The header's length and where its text starts, from the version's fields: only the
/// versions numpy writes (1.0, 2.0 and 3.0), and whether the text is UTF-8 (3.0) or
/// Latin-1.
fn header_span(bytes: &[u8], path: &str) -> Result<(usize, usize, bool)> {
    if !is_npy(bytes) {
        return Err(malformed(path, "it does not start with \\x93NUMPY"));
    }
    if bytes.len() < 10 {
        return Err(malformed(path, "the header is truncated"));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len_bytes, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => {
            return Err(malformed(
                path,
                format!("format version {major}.{minor}; numpy writes 1.0, 2.0 and 3.0"),
            ))
        }
    };
    let start = 8 + len_bytes;
    if bytes.len() < start {
        return Err(malformed(path, "the header is truncated"));
    }
    let len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    Ok((len, start, utf8))
}

/// Parses the header at the start of `bytes` (the whole file): a Python dict literal
/// (`literal`) with exactly the keys `descr`, `fortran_order` and `shape`, as numpy's
/// reader requires.
pub fn parse_header(bytes: &[u8], path: &str) -> Result<NpyHeader> {
    let (len, start, utf8) = header_span(bytes, path)?;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            malformed(
                path,
                format!("the header claims {len} bytes but the file is shorter"),
            )
        })?;
    let raw = &bytes[start..end];
    // numpy decodes versions 1 and 2 as Latin-1 (every byte is a character), 3 as UTF-8.
    let text = if utf8 {
        std::str::from_utf8(raw)
            .map_err(|_| malformed(path, "the header of a version 3.0 file is not UTF-8"))?
            .to_owned()
    } else {
        raw.iter().map(|&b| b as char).collect()
    };
    let dict = literal::parse(&text).map_err(|e| {
        malformed(
            path,
            format!("the header is not a Python literal: {}", e.what),
        )
    })?;
    let [descr, fortran_order, shape] = header_entries(dict, path)?;
    let (scalar, big_endian) = match descr {
        Literal::Str(text) => Scalar::parse(&text)
            .map_err(|e| Error::new(e.kind, format!("{path}: {}", e.message)))?,
        Literal::List(_) => {
            return Err(Error::unsupported(format!(
                "{path}: structured arrays (descr {descr}) are not supported; save one plain numeric array"
            )))
        }
        other => return Err(malformed(path, format!("'descr' is {other}, not a dtype string"))),
    };
    let fortran_order = match fortran_order {
        Literal::Bool(b) => b,
        other => {
            return Err(malformed(
                path,
                format!("'fortran_order' is {other}, not True or False"),
            ))
        }
    };
    let bad_shape = |shape: &Literal| {
        malformed(
            path,
            format!("'shape' is {shape}, not a tuple of sizes (integers from 0)"),
        )
    };
    let Literal::Tuple(sizes) = &shape else {
        return Err(bad_shape(&shape));
    };
    let shape = sizes
        .iter()
        .map(|size| match size {
            Literal::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        })
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| bad_shape(&shape))?;
    Ok(NpyHeader {
        scalar,
        big_endian,
        fortran_order,
        shape,
        data_offset: end,
    })
}

/// The keys a header has, in the order `header_entries` returns their values.
const KEYS: [&str; 3] = ["descr", "fortran_order", "shape"];

/// The values of `descr`, `fortran_order` and `shape` in a header's dict, which must
/// have exactly those keys, once each.
fn header_entries(dict: Literal, path: &str) -> Result<[Literal; 3]> {
    let Literal::Dict(entries) = dict else {
        return Err(malformed(path, format!("the header is {dict}, not a dict")));
    };
    let mut values: [Option<Literal>; 3] = [None, None, None];
    for (key, value) in entries {
        let slot = match &key {
            Literal::Str(k) => KEYS.iter().position(|&name| name == k),
            _ => None,
        };
        let Some(slot) = slot else {
            return Err(malformed(
                path,
                format!(
                    "unknown key {key} in the header (numpy writes exactly 'descr', \
                     'fortran_order' and 'shape')"
                ),
            ));
        };
        if values[slot].replace(value).is_some() {
            return Err(malformed(path, format!("the header has {key} twice")));
        }
    }
    let mut out = values.into_iter().zip(KEYS);
    let mut next = || {
        let (value, key) = out.next().expect("three keys");
        value.ok_or_else(|| malformed(path, format!("no '{key}' in the header")))
    };
    Ok([next()?, next()?, next()?])
}

/// The layout of the array in a whole `.npy` file, checked against the file's size: 1-D
/// and 2-D arrays (a 0-D one is one value), at most `MAX_COLUMNS` columns.
pub fn layout(bytes: &[u8], path: &str) -> Result<Layout> {
    if bytes.is_empty() {
        return Err(Error::data_format(
            path,
            0,
            "",
            "the file is empty, not a .npy file",
        ));
    }
    let h = parse_header(bytes, path)?;
    let (rows, cols) = match h.shape.as_slice() {
        [] => (1, 1),
        [n] => (*n, 1),
        [n, m] => (*n, *m),
        more => {
            return Err(Error::unsupported(format!(
                "{path}: a {}-D array; oxbridge reads 1-D and 2-D .npy files",
                more.len()
            )))
        }
    };
    let layout = Layout {
        scalar: h.scalar,
        big_endian: h.big_endian,
        fortran_order: h.fortran_order && cols > 1,
        rows,
        cols,
        offset: h.data_offset,
    };
    layout.check_size(bytes.len(), path)?;
    if cols > MAX_COLUMNS {
        return Err(Error::data_format(
            path,
            0,
            "",
            format!(
                "the header claims {cols} columns (shape {:?}); oxbridge reads at most {MAX_COLUMNS}",
                h.shape
            ),
        ));
    }
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn file(version: u8, dict: &str) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend([version, 0]);
        let mut header = dict.as_bytes().to_vec();
        header.push(b'\n');
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header);
        out
    }

    #[test]
    fn parses_the_headers_numpy_writes() {
        let f = file(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000, 3), }",
        );
        let h = parse_header(&f, "a.npy").unwrap();
        assert_eq!(
            (h.scalar, h.big_endian, h.fortran_order),
            (Scalar::F64, false, false)
        );
        assert_eq!((h.shape, h.data_offset), (vec![1000, 3], f.len()));
        let f = file(
            3,
            "{'descr': '>i4', 'fortran_order': True, 'shape': (7,), }",
        );
        let h = parse_header(&f, "b.npy").unwrap();
        assert_eq!(
            (h.scalar, h.big_endian, h.fortran_order, h.shape),
            (Scalar::I32, true, true, vec![7])
        );
        let f = file(2, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }");
        assert_eq!(parse_header(&f, "c.npy").unwrap().shape, Vec::<u64>::new());
    }

    #[test]
    fn refuses_malformed_headers_with_a_reason() {
        let f = file(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 3), }",
        );
        let e = parse_header(&f[..20], "a.npy").unwrap_err();
        assert!(
            e.message.contains("a.npy") && e.message.contains("shorter"),
            "{}",
            e.message
        );
        let e = parse_header(
            &file(
                1,
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
            ),
            "s.npy",
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
        let e = parse_header(
            &file(
                1,
                "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }",
            ),
            "c.npy",
        )
        .unwrap_err();
        assert!(e.message.contains("<c16"), "{}", e.message);
        let e = parse_header(&file(9, "{}"), "v.npy").unwrap_err();
        assert!(e.message.contains("version 9"));
        assert!(parse_header(b"hello", "x.npy").is_err());
    }

    #[test]
    fn the_header_is_a_dict_not_text_to_search() {
        // A string value holding another key's text: the real shape is (2,).
        let f = file(1, "{'descr': '<f8', 'note': 0, 'shape': (2,), }");
        let e = parse_header(&f, "k.npy").unwrap_err();
        assert!(e.message.contains("unknown key 'note'"), "{}", e.message);
        let f = file(1, "{'fortran_order': False, 'shape': (2,), 'descr': '<f8'}");
        assert_eq!(parse_header(&f, "o.npy").unwrap().shape, [2]);
        for (dict, words) in [
            ("{'descr': '<f8', 'fortran_order': False}", "no 'shape'"),
            (
                "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
                "'descr' twice",
            ),
            (
                "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}",
                "'fortran_order' is 0",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': [2]}",
                "'shape' is [2]",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                "'shape' is (-1,)",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': 2}",
                "'shape' is 2",
            ),
            (
                "{'descr': 8, 'fortran_order': False, 'shape': (2,)}",
                "'descr' is 8",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x",
                "not a Python literal",
            ),
            ("('descr', '<f8')", "not a dict"),
        ] {
            let e = parse_header(&file(1, dict), "h.npy").unwrap_err();
            assert_eq!(e.kind, ErrorKind::DataFormat, "{dict}");
            assert!(e.message.contains(words), "{dict}: {}", e.message);
        }
        let mut f = file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}");
        f[7] = 5;
        let e = parse_header(&f, "v.npy").unwrap_err();
        assert!(e.message.contains("version 1.5"), "{}", e.message);
    }
}
