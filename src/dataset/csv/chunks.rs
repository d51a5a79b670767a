//! Where the parallel scan cuts the file: chunks of `chunk_bytes` that start at record
//! boundaries, even inside quoted newlines, found from local evidence only (the quotes
//! near the cut). A wrong guess costs time, not correctness: the scan re-parses a chunk
//! that does not start where the previous one ended.

/// Bytes per parallel task for a file of `len` bytes: a 64th of it, from 4 MiB to 8 MiB.
/// Small enough for progress and cancellation to be prompt, for many cores to share a
/// file and for the pages in flight to stay few (they count in the resident memory until
/// released); large enough that each chunk's fixed costs (the first KLL levels; the exact
/// phase of a distinct count, which later chunks skip once the file is past it) stay a
/// few percent. A function of the size alone, never of the thread count, so results do
/// not depend on how many threads read.
pub(super) fn chunk_bytes(len: usize) -> usize {
    (len / 64).clamp(4 << 20, 8 << 20)
}

/// How far past a chunk's nominal start to look for evidence of being inside quotes.
const QUOTE_WINDOW: usize = 1 << 16;

/// Whether position `s` is inside a quoted field, judged locally: the first quote after
/// `s` whose neighbours show it opening (after a delimiter or newline) or closing (before
/// one) a field settles it; no quote nearby means outside. A wrong guess costs time, not
/// correctness: `scan` re-parses a chunk that does not start where the previous ended.
fn guess_inside_quotes(bytes: &[u8], s: usize, delimiter: u8, quote: u8) -> bool {
    let end = (s + QUOTE_WINDOW).min(bytes.len());
    let is_break = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
    let mut before = 0usize; // quotes between s and the one being looked at
    for at in memchr::memchr_iter(quote, &bytes[s..end]).map(|i| s + i) {
        let prev = if at == 0 { b'\n' } else { bytes[at - 1] };
        let next = bytes.get(at + 1).copied().unwrap_or(b'\n');
        if next == quote || prev == quote {
            before += 1; // part of a doubled quote or a pair: no evidence either way
            continue;
        }
        let opening = is_break(prev) && !is_break(next);
        let closing = is_break(next) && !is_break(prev);
        if opening != closing {
            // Outside at `at` if it opens; parity back to `s`.
            let outside_here = opening;
            return before.is_multiple_of(2) != outside_here;
        }
        before += 1;
    }
    false
}

/// The first record boundary at or after `s`, found from local evidence only: no pass
/// over the whole file, which would also map all of it into memory at once (page-cache
/// folios can be megabytes, so even touching one byte per chunk maps a lot). `scan`
/// checks that the chunks chain up and re-parses any that do not.
pub(super) fn chunk_start(bytes: &[u8], s: usize, delimiter: u8, quote: u8) -> usize {
    let len = bytes.len();
    let mut in_quotes = guess_inside_quotes(bytes, s, delimiter, quote);
    // A chunk may start right after a newline: that is a boundary already.
    if !in_quotes && bytes[s - 1] == b'\n' {
        return s;
    }
    for (at, &b) in bytes.iter().enumerate().skip(s) {
        if b == quote {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            return at + 1;
        }
    }
    len
}
/// The first record boundary after `s` (itself a boundary guessed by `chunk_start`) if
/// the guess of the quote state there was wrong: the first newline outside quotes when
/// `s` is taken to be inside a quoted field. A partition whose records fail to parse
/// from its guessed start is read from here instead.
/// `None` when no quote closes the field before the end of the file: nothing then
/// supports that state, and the failure stands.
pub fn other_start(bytes: &[u8], s: usize, _delimiter: u8, quote: u8) -> Option<usize> {
    let mut in_quotes = true;
    for (at, &b) in bytes.iter().enumerate().skip(s) {
        if b == quote {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            return Some(at + 1);
        }
    }
    None
}

/// The bounds of `count` partitions of the data after the header: from the data's
/// start to the file's end, cut at equal sizes moved to the next record boundary (found
/// as `chunk_start` finds it); without repeats, so a record longer than a partition
/// leaves fewer of them. Only the bytes near each cut are read.
pub fn partition_bounds(bytes: &[u8], dialect: &super::Dialect, count: usize) -> Vec<usize> {
    let len = bytes.len();
    let first = dialect.data_start.min(len);
    let size = len - first;
    let count = count.clamp(1, size.max(1));
    let mut bounds = vec![first];
    for k in 1..count {
        let cut = first + (size as u128 * k as u128 / count as u128) as usize;
        let last = *bounds.last().expect("bounds start with the data's start");
        if cut <= last {
            continue;
        }
        let at = chunk_start(bytes, cut, dialect.delimiter, dialect.quote);
        if at > last && at < len {
            bounds.push(at);
        }
    }
    bounds.push(len);
    bounds
}

#[cfg(test)]
mod tests {
    use crate::dataset::csv::column::Kind;
    use crate::dataset::csv::tests::scan_text;

    #[test]
    fn a_stray_quote_in_an_unquoted_field_does_not_derail_the_chunks() {
        let mut text = String::from("id,size,note\n0,27\" screen,x\n");
        for i in 1..400_000 {
            text.push_str(&format!("{i},1,\"two\nlines\"\n"));
        }
        let (_, p) = scan_text(&text).unwrap();
        assert_eq!(p.rows, 400_000);
        assert_eq!(
            p.columns[0].summary.exact().unwrap().sum,
            (0..400_000i128).sum::<i128>()
        );
    }

    #[test]
    fn chunks_split_at_record_boundaries_inside_quotes() {
        // Records with quoted newlines spanning many chunk boundaries.
        let mut text = String::from("id,note,value\n");
        for i in 0..200_000 {
            text.push_str(&format!(
                "{i},\"line one\nline, two \"\"{i}\"\"\",{}\n",
                i % 7
            ));
        }
        let (_, p) = scan_text(&text).unwrap();
        assert_eq!(p.rows, 200_000);
        let ids = p.columns[0].summary.exact().unwrap();
        assert_eq!(ids.sum, (0..200_000i128).sum::<i128>());
        assert_eq!(
            p.columns[2].summary.exact().unwrap().sum,
            (0..200_000i128).map(|i| i % 7).sum::<i128>()
        );
        assert_eq!(p.columns[1].kind, Kind::Text);
    }
}
