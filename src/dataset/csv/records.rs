//! The record tokenizer: fields of RFC 4180 records (quoted delimiters and newlines,
//! doubled quotes, text after a closing quote as Python's csv module reads it), LF or
//! CRLF line ends, blank lines skipped.

use crate::error::Error;

/// One field of a record: where it is and whether it needs unquoting.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub(super) start: usize,
    pub(super) end: usize,
    /// Quoted with doubled quotes inside, or with text after the closing quote: the bytes
    /// `start..end` are not the value as written.
    pub(super) escaped: bool,
    /// Text after a closing quote (`"ab"cd`) is `end + 1..trailing_end`; else empty.
    pub(super) trailing_end: usize,
}

impl Field {
    /// The value as Python's csv module reads it: a quoted field's doubled quotes made
    /// single, and the text after its closing quote appended. The one reading of a
    /// field's text, for the header as for the data.
    pub(super) fn value(&self, bytes: &[u8], quote: u8) -> Vec<u8> {
        let inside = &bytes[self.start..self.end];
        let mut out = Vec::with_capacity(inside.len());
        if self.escaped {
            let mut i = 0;
            while i < inside.len() {
                out.push(inside[i]);
                i += if inside[i] == quote && inside.get(i + 1) == Some(&quote) {
                    2
                } else {
                    1
                };
            }
        } else {
            out.extend_from_slice(inside);
        }
        if self.trailing_end > self.end + 1 {
            out.extend_from_slice(&bytes[self.end + 1..self.trailing_end]);
        }
        out
    }
}

pub(super) enum Terminator {
    Delimiter,
    EndOfRecord,
}

/// A cursor over records of `bytes[..end]`.
pub(super) struct Records<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) end: usize,
    pub(super) pos: usize,
    pub(super) delimiter: u8,
    pub(super) quote: u8,
    /// Lines starting with this byte are skipped, as blank lines are.
    pub(super) comment: Option<u8>,
}

/// Why a record could not be read: an unterminated quoted field.
pub(super) struct Unterminated {
    at: usize,
}

impl Unterminated {
    pub(super) fn error(&self, bytes: &[u8], path: &str) -> Error {
        Error::data_format(path, line_of(bytes, self.at), "", super::NEVER_CLOSED)
    }
}

impl<'a> Records<'a> {
    /// Reads the next field; `Ok(None)` at the end.
    #[inline]
    pub(super) fn field(&mut self) -> std::result::Result<(Field, Terminator), Unterminated> {
        let bytes = self.bytes;
        let start = self.pos;
        if start < self.end && bytes[start] == self.quote {
            let mut at = start + 1;
            let mut escaped = false;
            loop {
                let Some(offset) = memchr::memchr(self.quote, &bytes[at..self.end]) else {
                    return Err(Unterminated { at: start });
                };
                let close = at + offset;
                if bytes.get(close + 1) == Some(&self.quote) {
                    escaped = true;
                    at = close + 2;
                    continue;
                }
                // Text after the closing quote up to the delimiter belongs to the field,
                // as Python's csv module reads it; such a field is text.
                let mut next = close + 1;
                while next < self.end && bytes[next] != self.delimiter && bytes[next] != b'\n' {
                    next += 1;
                }
                let mut trailing_end = next;
                if trailing_end > close + 1 && bytes[trailing_end - 1] == b'\r' {
                    trailing_end -= 1;
                }
                let field = Field {
                    start: start + 1,
                    end: close,
                    escaped: escaped || trailing_end > close + 1,
                    trailing_end,
                };
                return Ok(self.finish_field(field, next));
            }
        }
        let mut at = start;
        while at < self.end {
            let b = bytes[at];
            if b == self.delimiter || b == b'\n' {
                break;
            }
            at += 1;
        }
        let mut end = at;
        if end > start && bytes[end - 1] == b'\r' && (at == self.end || bytes[at] == b'\n') {
            end -= 1;
        }
        Ok(self.finish_field(
            Field {
                start,
                end,
                escaped: false,
                trailing_end: end,
            },
            at,
        ))
    }

    #[inline]
    pub(super) fn finish_field(&mut self, field: Field, at: usize) -> (Field, Terminator) {
        if at < self.end && self.bytes[at] == self.delimiter {
            self.pos = at + 1;
            (field, Terminator::Delimiter)
        } else {
            self.pos = (at + 1).min(self.end.max(at));
            (field, Terminator::EndOfRecord)
        }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// Skips blank lines (`\n` or `\r\n` alone).
    pub(super) fn skip_blank_lines(&mut self) {
        loop {
            let rest = &self.bytes[self.pos..self.end];
            if rest.first() == Some(&b'\n') {
                self.pos += 1;
            } else if rest.starts_with(b"\r\n") {
                self.pos += 2;
            } else if self.comment.is_some() && rest.first() == self.comment.as_ref() {
                self.pos = memchr::memchr(b'\n', rest).map_or(self.end, |n| self.pos + n + 1);
            } else {
                return;
            }
        }
    }
}

/// The 1-based line of byte `at`.
pub fn line_of(bytes: &[u8], at: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..at.min(bytes.len())]).count() as u64 + 1
}

/// A record at `record_start` with `found` fields where the header has `names.len()`
/// (plus an empty one when every record ends in a trailing delimiter, `trailing`; then
/// `extra_value` says the record's last field was not empty): the error names the line
/// and, for a short record, its first missing column.
#[cold]
pub(super) fn field_count_error(
    bytes: &[u8],
    record_start: usize,
    (names, trailing): (&[String], bool),
    (found, extra_value): (usize, bool),
    path: &str,
) -> Error {
    let expected = names.len();
    let message = match (trailing, extra_value) {
        (false, _) => format!("expected {expected} fields, found {found}"),
        (true, false) => format!(
            "expected {expected} fields and an empty one after them (the other records end \
             in a delimiter), found {found}"
        ),
        (true, true) => format!(
            "expected {expected} fields and an empty one after them (the other records end \
             in a delimiter), found {found} with a value in the last"
        ),
    };
    Error::data_format(
        path,
        line_of(bytes, record_start),
        names.get(found).map_or("", String::as_str),
        message,
    )
}
