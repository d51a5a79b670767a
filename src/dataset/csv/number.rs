//! All number parsing of the CSV reader: whole fields (`parse_int`, `parse_float` with
//! its exact fast path for short decimals), and the hot path of a scan, reading a plain
//! number straight from the bytes: a portable byte loop, and an SSE4.1 version that
//! handles a field of up to 15 bytes with no branch on its length (the byte loop's exit
//! mispredicts about once per field).

/// A number read straight from the bytes: an integer, or `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Decimal(f64, u8),
}

/// Parses a whole field as an int64: optional sign, then only digits.
#[inline]
pub(super) fn parse_int(bytes: &[u8]) -> Option<i64> {
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value * 10 + d as u64;
    }
    if negative {
        if value <= i64::MAX as u64 + 1 {
            Some((value as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a whole field as a float: decimal or exponent notation, inf/infinity/nan in
/// any case, optional sign.
#[inline]
pub(super) fn parse_float(bytes: &[u8]) -> Option<f64> {
    fast_decimal(bytes).or_else(|| fast_float2::parse::<f64, _>(bytes).ok())
}

/// How a field's text reads as a number, as the column inference reads it
/// (`ColumnStats::push`): what the header guess compares a first-row cell with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// An int64 (`12`, `+0`, `-7`).
    Int,
    /// A float with digits (`1.5`, `1e3`, `.5`).
    Decimal,
    /// A float spelled as a word (`inf`, `-Infinity`, `NaN`).
    Special,
    /// Not a number.
    Text,
}

/// The form of a field's text, after the spaces at either end.
pub(super) fn form(bytes: &[u8]) -> Form {
    let t = trim_spaces(bytes);
    if parse_int(t).is_some() {
        Form::Int
    } else if decimal_parts(t).is_some() || fast_float2::parse::<f64, _>(t).is_ok() {
        if t.iter().any(u8::is_ascii_digit) {
            Form::Decimal
        } else {
            Form::Special
        }
    } else {
        Form::Text
    }
}

/// 10^0 to 10^15, each exact in a float64.
pub(super) const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The common case of data files, `[+-]digits.digits` with at most 15 digits, exactly:
/// the digits form an integer below 2^53 and the power of ten is exact, so one IEEE
/// division rounds correctly (Clinger's fast path). Anything else is left to fast_float.
#[inline]
fn fast_decimal(bytes: &[u8]) -> Option<f64> {
    let (signed_mantissa, scale) = decimal_parts(bytes)?;
    Some(signed_mantissa / POWERS_OF_TEN[scale as usize])
}

/// `[+-]digits.digits` (at most 15 digits) as (±mantissa, digits after the point), whose
/// quotient `mantissa / 10^scale` is the correctly rounded value.
#[inline]
pub(super) fn decimal_parts(bytes: &[u8]) -> Option<(f64, u8)> {
    let (negative, rest) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if rest.is_empty() || rest.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut point: Option<usize> = None;
    for (i, &b) in rest.iter().enumerate() {
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa * 10 + d as u64;
        } else if b == b'.' && point.is_none() {
            point = Some(i);
        } else {
            return None;
        }
    }
    let digits = rest.len() - point.is_some() as usize;
    if digits == 0 || digits > 15 {
        return None;
    }
    let scale = point.map_or(0, |p| rest.len() - p - 1);
    let m = mantissa as i64 as f64;
    Some((if negative { -m } else { m }, scale as u8))
}

/// The longest field whose decimal comma is swapped for a point (longer fields are not
/// numbers anyway: 15 to 17 digits make any float64 exactly).
const COMMA_FIELD: usize = 64;

/// How a field of a file with a decimal comma reads for the number parsers.
pub(super) enum CommaField<'a> {
    /// The bytes to parse: the field with its comma made a point when that makes a
    /// number, else the field as it is.
    Read(&'a [u8]),
    /// A number written with a decimal point: in a file whose decimal separator is the
    /// comma, a stray dot (an error naming the place, never a silent guess).
    StrayDot,
}

/// Reads `value` as a file with a decimal comma writes numbers ("1,5" is 1.5), using
/// `buf` for the swapped bytes.
pub(super) fn comma_decimal<'a>(value: &'a [u8], buf: &'a mut [u8; COMMA_FIELD]) -> CommaField<'a> {
    let t = trim_spaces(value);
    let has_digit = t.iter().any(u8::is_ascii_digit);
    match (memchr::memchr(b',', t), memchr::memchr(b'.', t)) {
        (Some(c), None) if t.len() <= COMMA_FIELD && !t[c + 1..].contains(&b',') => {
            buf[..t.len()].copy_from_slice(t);
            buf[c] = b'.';
            let swapped = &buf[..t.len()];
            if has_digit && parse_float(swapped).is_some() {
                CommaField::Read(swapped)
            } else {
                CommaField::Read(value)
            }
        }
        (None, Some(_)) if has_digit && parse_float(t).is_some() => CommaField::StrayDot,
        _ => CommaField::Read(value),
    }
}

/// The error for a stray dot at byte `at` of `bytes`, in column `column`.
#[cold]
pub(super) fn stray_dot(
    bytes: &[u8],
    at: usize,
    column: &str,
    value: &[u8],
    path: &str,
) -> crate::error::Error {
    crate::error::Error::data_format(
        path,
        super::records::line_of(bytes, at),
        column,
        format!(
            "{:?} has a decimal point, but the file's decimal separator is the comma; \
             pass decimal=\".\" if its numbers use points",
            String::from_utf8_lossy(&value[..value.len().min(40)])
        ),
    )
}

/// The field without the spaces (b' ') at either end.
#[inline]
pub(super) fn trim_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// How the CSV reader scans numbers; chosen once per parse, so the whole record loop is
/// compiled for the instruction set it runs on.
pub trait NumberScanner {
    /// See [`scan_number`].
    fn scan(bytes: &[u8], pos: usize, delimiter: u8) -> Option<(Number, usize, usize)>;
}

/// The byte loop, on any CPU.
pub struct Portable;

impl NumberScanner for Portable {
    #[inline(always)]
    fn scan(bytes: &[u8], pos: usize, delimiter: u8) -> Option<(Number, usize, usize)> {
        scan_number(bytes, pos, delimiter)
    }
}

/// A plain number at `bytes[pos..]` ending at a delimiter, a newline (LF or CRLF) or
/// the end: `[+-]digits[.digits]`. Returns it, where its text ends, and where its
/// terminator is (the LF of a CRLF); `None` for anything else (empty fields, exponents,
/// spaces, quotes, text), which the general reader then handles.
#[inline(always)]
pub fn scan_number(bytes: &[u8], pos: usize, delimiter: u8) -> Option<(Number, usize, usize)> {
    let mut at = pos;
    let negative = match bytes.get(at) {
        Some(b'-') => {
            at += 1;
            true
        }
        Some(b'+') => {
            at += 1;
            false
        }
        _ => false,
    };
    let digits_start = at;
    let mut mantissa: u64 = 0;
    let mut point: Option<usize> = None;
    while let Some(&b) = bytes.get(at) {
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(d as u64);
        } else if b == b'.' && point.is_none() {
            point = Some(at);
        } else {
            break;
        }
        at += 1;
    }
    let digits = at - digits_start - point.is_some() as usize;
    let terminator = match bytes.get(at) {
        None => at,
        Some(&b) if b == delimiter || b == b'\n' => at,
        Some(b'\r') => match bytes.get(at + 1) {
            None => at + 1,
            Some(b'\n') => at + 1,
            Some(_) => return None,
        },
        _ => return None,
    };
    if digits == 0 {
        return None;
    }
    let number = match point {
        None if digits <= 18 => {
            let v = mantissa as i64;
            Number::Int(if negative { -v } else { v })
        }
        Some(p) if digits <= 15 => {
            // Below 2^53: a signed conversion is one instruction, an unsigned one is not.
            let m = mantissa as i64 as f64;
            Number::Decimal(if negative { -m } else { m }, (at - p - 1) as u8)
        }
        _ => return None,
    };
    Some((number, at, terminator))
}

#[cfg(target_arch = "x86_64")]
pub use sse::Sse41;

#[cfg(target_arch = "x86_64")]
mod sse {
    use super::{scan_number, Number, NumberScanner};
    use std::arch::x86_64::*;

    /// 16-byte vectors; only valid inside functions compiled with SSE4.1 (callers check
    /// `runtime::cpu::has_sse41()` before choosing it).
    pub struct Sse41;

    impl NumberScanner for Sse41 {
        #[inline(always)]
        fn scan(bytes: &[u8], pos: usize, delimiter: u8) -> Option<(Number, usize, usize)> {
            // SAFETY: this scanner is only instantiated in code that runs after the
            // SSE4.1 check (see `scan::parse_records`).
            unsafe { scan_number_sse41(bytes, pos, delimiter) }
        }
    }

    /// Same contract and results as [`scan_number`]. The field and its terminator must lie
    /// in the 16 bytes at `pos`; longer fields and the file's last 15 bytes take the loop.
    ///
    /// # Safety
    /// The CPU has SSE4.1.
    #[inline]
    #[target_feature(enable = "sse4.1")]
    unsafe fn scan_number_sse41(
        bytes: &[u8],
        pos: usize,
        delimiter: u8,
    ) -> Option<(Number, usize, usize)> {
        if pos + 16 > bytes.len() {
            return scan_number(bytes, pos, delimiter);
        }
        // SAFETY: pos + 16 <= bytes.len(), checked above: the 16 bytes are inside `bytes`
        // (an unaligned load needs no alignment).
        let text = unsafe { _mm_loadu_si128(bytes.as_ptr().add(pos) as *const __m128i) };
        let values = _mm_sub_epi8(text, _mm_set1_epi8(b'0' as i8));
        let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(values, _mm_set1_epi8(9)), values);
        let digit_bits = _mm_movemask_epi8(is_digit) as u32;
        let dot_bits = _mm_movemask_epi8(_mm_cmpeq_epi8(text, _mm_set1_epi8(b'.' as i8))) as u32;
        // SAFETY: pos < pos + 16 <= bytes.len().
        let first = unsafe { *bytes.get_unchecked(pos) };
        let signed = (first == b'-' || first == b'+') as u32;
        // The number's text: a sign at the start, then digits and dots.
        let end = (!(digit_bits | dot_bits | signed)).trailing_zeros() as usize;
        if end >= 16 {
            return scan_number(bytes, pos, delimiter);
        }
        let dots = dot_bits & ((1u32 << end) - 1);
        let digits = end - signed as usize - (dots != 0) as usize;
        if dots & dots.wrapping_sub(1) != 0 || digits == 0 {
            return None;
        }
        let at = pos + end;
        // SAFETY: at = pos + end with end < 16, so at < pos + 16 <= bytes.len().
        let terminator = match unsafe { *bytes.get_unchecked(at) } {
            b if b == delimiter || b == b'\n' => at,
            b'\r' => match bytes.get(at + 1) {
                None | Some(b'\n') => at + 1,
                Some(_) => return None,
            },
            _ => return None,
        };
        // Right-align the digits in 16 lanes, skipping the dot: lane j takes byte
        // end - 16 + j, one further left for lanes left of the dot; negative → 0.
        let fraction = if dots != 0 {
            end - 1 - dots.trailing_zeros() as usize
        } else {
            16
        };
        let lanes = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let left_of_dot = _mm_cmpgt_epi8(_mm_set1_epi8((16 - fraction) as i8), lanes);
        let index = _mm_add_epi8(
            _mm_add_epi8(lanes, _mm_set1_epi8(end as i8 - 16)),
            left_of_dot,
        );
        // The sign and the dot become 0 so that lanes pointing at them add nothing.
        let aligned = _mm_shuffle_epi8(_mm_and_si128(values, is_digit), index);
        // Pairs, quads, octets of digits, then the two octets.
        let pairs = _mm_maddubs_epi16(
            aligned,
            _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1),
        );
        let quads = _mm_madd_epi16(pairs, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
        let quads = _mm_packus_epi32(quads, quads);
        let octets = _mm_madd_epi16(
            quads,
            _mm_setr_epi16(10000, 1, 10000, 1, 10000, 1, 10000, 1),
        );
        let high = _mm_cvtsi128_si32(octets) as u32 as u64;
        let low = _mm_extract_epi32::<1>(octets) as u32 as u64;
        let value = (high * 100_000_000 + low) as i64;
        let negative = first == b'-';
        // At most 15 digits: below 2^53, so the conversion to f64 is exact. The sign goes
        // on after it, so "-0.0" keeps its sign as the loop's result does.
        let number = if dots == 0 {
            Number::Int(if negative { -value } else { value })
        } else {
            let m = value as f64;
            Number::Decimal(if negative { -m } else { m }, fraction as u8)
        };
        Some((number, at, terminator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_same(text: &[u8]) {
        // Padding after the field lets the vector path see it; each start offset is tried.
        let mut padded = text.to_vec();
        padded.extend_from_slice(&[b'x'; 16]);
        for pos in 0..text.len() {
            let portable = Portable::scan(&padded, pos, b',');
            #[cfg(target_arch = "x86_64")]
            if crate::runtime::cpu::has_sse41() {
                let vector = Sse41::scan(&padded, pos, b',');
                assert_eq!(
                    portable.map(|(n, e, t)| (format!("{n:?}"), e, t)),
                    vector.map(|(n, e, t)| (format!("{n:?}"), e, t)),
                    "{:?} at {pos}",
                    String::from_utf8_lossy(&text[pos..])
                );
            }
        }
    }

    #[test]
    fn the_vector_path_reads_what_the_loop_reads() {
        for text in [
            "0,",
            "-0,",
            "+7\n",
            "12.5,",
            ".5,",
            "1.,",
            "-.25\r\n",
            "123456789012345,",
            "1234567890123456,",
            "12345678901234.5,",
            "1234567890123.45\n",
            "1.2.3,",
            "-,",
            "+.,",
            ".,",
            "1e5,",
            "12 ,",
            "\"1\",",
            "7\r",
            "7\rx",
            "99999999999999,",
            "-999999999999999\n",
            "0.000371951,",
            "1691223022,",
            "-3042.28\n",
        ] {
            check_same(text.as_bytes());
        }
        // The terminator may be the file's last byte, a lone CR at the end.
        assert_eq!(
            Portable::scan(b"12\r", 0, b','),
            Some((Number::Int(12), 2, 3))
        );
    }

    #[test]
    fn int_limits() {
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b"12a"), None);
        assert_eq!(parse_int(b"-"), None);
        assert_eq!(parse_float(b"1e999"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"+1.5"), Some(1.5));
        assert_eq!(parse_float(b"1.5x"), None);
        assert_eq!(parse_float(b""), None);
        assert_eq!(parse_float(b"."), None);
        assert_eq!(parse_float(b"-.5"), Some(-0.5));
        assert_eq!(parse_float(b"5."), Some(5.0));
        assert_eq!(parse_float(b"1.2.3"), None);
        assert_eq!(
            parse_float(b"-0.0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
    }

    proptest! {
        #[test]
        fn the_vector_path_agrees_on_any_bytes(text in proptest::collection::vec(
            proptest::sample::select(b"0123456789.-+,\n\re ;".to_vec()), 0..40)) {
            check_same(&text);
        }

        #[test]
        fn numbers_of_every_length_agree(int in 0u64..10_000_000_000_000_000, scale in 0usize..17, negative: bool) {
            let digits = int.to_string();
            let text = if scale == 0 || scale > digits.len() {
                format!("{}{digits},", if negative { "-" } else { "" })
            } else {
                let (a, b) = digits.split_at(digits.len() - scale);
                format!("{}{a}.{b}\n", if negative { "-" } else { "" })
            };
            check_same(text.as_bytes());
        }
    }

    proptest! {
        #[test]
        fn ints_round_trip(v in any::<i64>()) {
            prop_assert_eq!(parse_int(v.to_string().as_bytes()), Some(v));
        }

        /// The fast path agrees with a full parser on every decimal it takes.
        #[test]
        fn fast_decimals_are_correctly_rounded(
            whole in 0u64..10_000_000, frac in 0u64..100_000_000, frac_digits in 0usize..9, negative in any::<bool>()
        ) {
            let text = format!("{}{whole}.{:0width$}", if negative { "-" } else { "" }, frac % 10u64.pow(frac_digits as u32), width = frac_digits);
            let expected: f64 = text.parse().unwrap();
            prop_assert_eq!(parse_float(text.as_bytes()).map(f64::to_bits), Some(expected.to_bits()), "{}", text);
        }

        #[test]
        fn floats_round_trip(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            prop_assert_eq!(parse_float(format!("{v:e}").as_bytes()), Some(v));
            prop_assert_eq!(parse_float(v.to_string().as_bytes()), Some(v));
        }
    }
}
