//! Text encodings other than UTF-8, transcoded to UTF-8 as the text streams: UTF-16 (by
//! its byte-order mark, or named), Latin-1 and Windows-1252 (named). Lengths and text
//! statistics then count the characters of the decoded text. An encoding error names
//! the byte where it is.

use crate::error::{Error, Result};
use std::io::Read;

/// The encodings a CSV file may be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (with or without a byte-order mark): read in place.
    Utf8,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// ISO-8859-1: each byte is the code point of the same number.
    Latin1,
    /// Windows-1252: Latin-1 with printable characters at 0x80-0x9F (as the WHATWG
    /// encoding standard maps it; its five unassigned bytes are the C1 controls).
    Cp1252,
}

/// Windows-1252's characters at 0x80-0x9F.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

impl Encoding {
    /// The encoding a caller names ("utf-8", "utf-16", "utf-16le", "utf-16be", "latin-1",
    /// "iso-8859-1", "cp1252", "windows-1252", in any case, with `_` or `-`); "utf-16"
    /// alone is little-endian unless the text's byte-order mark says otherwise.
    pub fn parse(name: &str) -> Result<Encoding> {
        let key = name.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match key.as_str() {
            "utf-8" | "utf8" | "utf-8-sig" => Encoding::Utf8,
            "utf-16" | "utf16" | "utf-16le" | "utf-16-le" => Encoding::Utf16Le,
            "utf-16be" | "utf-16-be" => Encoding::Utf16Be,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => Encoding::Latin1,
            "cp1252" | "windows-1252" | "win-1252" => Encoding::Cp1252,
            _ => {
                return Err(Error::unsupported(format!(
                    "the encoding {name:?} is not one oxbridge reads: utf-8, utf-16 (le or be), \
                     latin-1 or cp1252 (convert the file with iconv -f {name} -t UTF-8)"
                )))
            }
        })
    }

    /// The UTF-16 encoding a byte-order mark at the start of `bytes` names.
    pub fn of_bom(bytes: &[u8]) -> Option<Encoding> {
        if bytes.starts_with(b"\xff\xfe") {
            Some(Encoding::Utf16Le)
        } else if bytes.starts_with(b"\xfe\xff") {
            Some(Encoding::Utf16Be)
        } else {
            None
        }
    }

    /// The name messages use.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Latin1 => "Latin-1",
            Encoding::Cp1252 => "Windows-1252",
        }
    }
}

/// An encoding error, which `Stream` reports as it is (it names the byte).
#[derive(Debug)]
pub(super) struct Undecodable(pub(super) String);

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Undecodable {}

/// Reads `inner`'s text in `encoding` as UTF-8.
pub(super) struct Transcode<R> {
    inner: R,
    encoding: Encoding,
    input: Vec<u8>,
    /// Decoded text not handed out yet, from `out_at`.
    out: Vec<u8>,
    out_at: usize,
    /// Input bytes consumed (for messages), and a byte left over from an odd read.
    at: u64,
    odd: Option<u8>,
    /// A UTF-16 high surrogate waiting for its pair.
    high: Option<u16>,
    started: bool,
}

impl<R: Read> Transcode<R> {
    pub(super) fn new(inner: R, encoding: Encoding) -> Transcode<R> {
        Transcode {
            inner,
            encoding,
            input: vec![0; 64 << 10],
            out: Vec::new(),
            out_at: 0,
            at: 0,
            odd: None,
            high: None,
            started: false,
        }
    }

    fn bad(&self, what: String) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, Undecodable(what))
    }

    /// Decodes the next input into `out`; false at the end.
    fn decode_more(&mut self) -> std::io::Result<bool> {
        let n = loop {
            match self.inner.read(&mut self.input) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.out.clear();
        self.out_at = 0;
        if n == 0 {
            if self.odd.is_some() {
                let at = self.at - 1;
                return Err(self.bad(format!(
                    "{} text has an odd number of bytes: byte {at} is half a character",
                    self.encoding.name()
                )));
            }
            if self.high.is_some() {
                return Err(self.bad(format!(
                    "{} text ends in half a surrogate pair (byte {})",
                    self.encoding.name(),
                    self.at - 2
                )));
            }
            return Ok(false);
        }
        let input = std::mem::take(&mut self.input);
        let result = match self.encoding {
            Encoding::Utf8 => {
                self.out.extend_from_slice(&input[..n]);
                Ok(())
            }
            Encoding::Latin1 | Encoding::Cp1252 => {
                self.single_bytes(&input[..n]);
                Ok(())
            }
            Encoding::Utf16Le | Encoding::Utf16Be => self.utf16(&input[..n]),
        };
        self.input = input;
        self.at += n as u64;
        result.map(|()| true)
    }

    fn single_bytes(&mut self, bytes: &[u8]) {
        let mut utf8 = [0u8; 4];
        for &b in bytes {
            if b < 0x80 {
                self.out.push(b);
                continue;
            }
            let c = match (self.encoding, b) {
                (Encoding::Cp1252, 0x80..=0x9f) => CP1252_HIGH[(b - 0x80) as usize],
                _ => char::from(b),
            };
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }

    fn utf16(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let big = self.encoding == Encoding::Utf16Be;
        let mut utf8 = [0u8; 4];
        let mut i = 0;
        let pair = |a: u8, b: u8| {
            if big {
                u16::from_be_bytes([a, b])
            } else {
                u16::from_le_bytes([a, b])
            }
        };
        let mut units = Vec::with_capacity(bytes.len() / 2 + 1);
        // Where unit k starts in the file: a byte carried from the last read starts the
        // first unit one byte before this read.
        let carried = self.odd.is_some() && !bytes.is_empty();
        if let Some(first) = self.odd.take() {
            if let Some(&second) = bytes.first() {
                units.push(pair(first, second));
                i = 1;
            }
        }
        while i + 1 < bytes.len() {
            units.push(pair(bytes[i], bytes[i + 1]));
            i += 2;
        }
        if i < bytes.len() {
            self.odd = Some(bytes[i]);
        }
        let at = self.at;
        let start_of = |k: usize| -> u64 {
            match (carried, k) {
                (true, 0) => at - 1,
                (true, k) => at + 1 + 2 * (k as u64 - 1),
                (false, k) => at + 2 * k as u64,
            }
        };
        for (k, &u) in units.iter().enumerate() {
            if !self.started {
                self.started = true;
                if u == 0xfeff {
                    continue; // the byte-order mark
                }
            }
            let c = match (self.high.take(), u) {
                (None, 0xd800..=0xdbff) => {
                    self.high = Some(u);
                    continue;
                }
                (Some(h), 0xdc00..=0xdfff) => {
                    let code = 0x10000 + ((u32::from(h) - 0xd800) << 10) + (u32::from(u) - 0xdc00);
                    char::from_u32(code).expect("a surrogate pair is a code point")
                }
                (None, u) => match char::from_u32(u32::from(u)) {
                    Some(c) => c,
                    None => {
                        return Err(self.bad(format!(
                            "{} text has an unpaired surrogate at byte {}",
                            self.encoding.name(),
                            start_of(k)
                        )))
                    }
                },
                (Some(_), _) => {
                    return Err(self.bad(format!(
                        "{} text has an unpaired surrogate before byte {}",
                        self.encoding.name(),
                        start_of(k)
                    )))
                }
            };
            self.out
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        Ok(())
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_at == self.out.len() {
            if !self.decode_more()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], encoding: Encoding) -> std::io::Result<String> {
        let mut out = String::new();
        Transcode::new(bytes, encoding).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn decodes_utf16_latin1_and_cp1252() {
        let text = "a,b\nä,€𝄞\n";
        let le: Vec<u8> = "\u{feff}"
            .encode_utf16()
            .chain(text.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&le, Encoding::Utf16Le).unwrap(), text);
        assert_eq!(decode(&be, Encoding::Utf16Be).unwrap(), text);
        assert_eq!(
            decode(b"caf\xe9\x80", Encoding::Latin1).unwrap(),
            "café\u{80}"
        );
        assert_eq!(
            decode(b"caf\xe9\x80\x81", Encoding::Cp1252).unwrap(),
            "café€\u{81}"
        );
        // Odd reads do not split a unit: one byte at a time.
        let mut one = String::new();
        let slow = std::io::Read::chain(&le[..3], &le[3..]);
        Transcode::new(slow, Encoding::Utf16Le)
            .read_to_string(&mut one)
            .unwrap();
        assert_eq!(one, text);
    }

    #[test]
    fn bad_utf16_names_the_byte() {
        let e = decode(b"a\x00b", Encoding::Utf16Le).unwrap_err();
        assert!(e.to_string().contains("odd number of bytes: byte 2"), "{e}");
        let e = decode(b"a\x00\x00\xdcb\x00", Encoding::Utf16Le).unwrap_err();
        assert!(
            e.to_string().contains("unpaired surrogate at byte 2"),
            "{e}"
        );
        assert!(Encoding::parse("ebcdic")
            .unwrap_err()
            .message
            .contains("ebcdic"));
        assert_eq!(Encoding::parse("Windows_1252").unwrap(), Encoding::Cp1252);
    }
}
