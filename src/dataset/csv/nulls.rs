//! The texts read as missing values, and the quick test of a field against them.

/// Read as missing by default, as pandas does.
pub const DEFAULT_NULLS: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A",
];

/// The markers a file is read with: the caller's, or `DEFAULT_NULLS`.
pub(super) fn markers(given: Option<&[String]>) -> Vec<Vec<u8>> {
    match given {
        Some(v) => v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        None => DEFAULT_NULLS
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect(),
    }
}

/// The missing-value markers, with a quick test that rules out most fields (numbers
/// start with a byte no marker starts with).
pub(super) struct NullSet<'a> {
    values: &'a [Vec<u8>],
    first_bytes: [bool; 256],
    longest: usize,
    empty: bool,
}

impl<'a> NullSet<'a> {
    pub(super) fn new(values: &'a [Vec<u8>]) -> Self {
        let mut first_bytes = [false; 256];
        for v in values {
            if let Some(&b) = v.first() {
                first_bytes[b as usize] = true;
            }
        }
        NullSet {
            values,
            first_bytes,
            longest: values.iter().map(Vec::len).max().unwrap_or(0),
            empty: values.iter().any(Vec::is_empty),
        }
    }

    #[inline]
    pub(super) fn contains(&self, field: &[u8]) -> bool {
        match field.first() {
            None => self.empty,
            Some(&b) => {
                self.first_bytes[b as usize]
                    && field.len() <= self.longest
                    && self.values.iter().any(|v| v.as_slice() == field)
            }
        }
    }

    /// Whether a marker could be read as the start of a number (a digit, sign or point
    /// first): then numbers cannot be parsed on the fly, before the marker test.
    pub(super) fn could_be_a_number(&self) -> bool {
        self.values.iter().any(|v| {
            v.first()
                .is_some_and(|b| b.is_ascii_digit() || b"+-.".contains(b))
        })
    }
}
