//! Compressed CSV files (gzip, including multi-member and BGZF; zstd; bzip2; xz): they cannot be
//! memory-mapped as text, so they stream. The decompressor fills a window of text; the
//! window's whole records go to the parallel scan (`csv::scan_range`), whose states
//! merge across windows; the record cut by the window's end is carried into the next.
//! Memory stays bounded by the window whatever the file's size. A corrupt or truncated
//! stream is an error naming the compressed byte near which it failed, never the
//! description of the part that was read.

use super::csv::{self, column::Mode, Dialect, Parsed};
use super::encoding::{Encoding, Transcode, Undecodable};
use crate::dataset::exact::Probe;
use crate::error::{Error, Result};
use crate::runtime::progress::Progress;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The compressions oxbridge reads, by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// gzip (RFC 1952), one member or many (BGZF is many).
    Gzip,
    /// Zstandard frames.
    Zstd,
    /// bzip2 streams (one or many).
    Bzip2,
    /// xz streams (one or many).
    Xz,
}

impl Codec {
    /// The compression of `bytes`, by their magic number.
    pub fn of(bytes: &[u8]) -> Option<Codec> {
        if bytes.starts_with(b"\x1f\x8b") {
            Some(Codec::Gzip)
        } else if bytes.starts_with(b"\x28\xb5\x2f\xfd") {
            Some(Codec::Zstd)
        } else if bytes.starts_with(b"BZh")
            && bytes.get(3).is_some_and(|b| (b'1'..=b'9').contains(b))
        {
            Some(Codec::Bzip2)
        } else if bytes.starts_with(b"\xfd7zXZ\x00") {
            Some(Codec::Xz)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }
}

/// Where a streamed file's text comes from: its compression, if any, and its encoding
/// (transcoded to UTF-8 as it streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The compression; `None` for a plain file in another encoding.
    pub codec: Option<Codec>,
    /// The text's encoding.
    pub encoding: Encoding,
}

impl Source {
    /// How messages name such a file ("a gzip-compressed file", "a UTF-16LE file").
    pub fn describe(self) -> String {
        let text = match self.encoding {
            Encoding::Utf8 => String::new(),
            e => format!("{} ", e.name()),
        };
        match self.codec {
            Some(c) => format!("a {}-compressed {text}file", c.name()),
            None => format!("a {text}file"),
        }
    }
}

/// Text per block the decompressing thread hands over; a window is the record cut at the
/// end of the previous block and this block (a chunk for each of two threads).
pub(super) const BLOCK: usize = 4 << 20;
/// The most a window grows to hold one record (a quoted field with newlines that long).
pub(super) const MAX_WINDOW: usize = 256 << 20;
/// Chunk size of the scan inside a window.
pub(super) const CHUNK: usize = 2 << 20;
/// Text decompressed to detect the dialect.
pub(super) const SAMPLE: usize = 1 << 20;

/// The compressed bytes of the mapping, read in order, publishing how far (`consumed`,
/// shared with the `Stream` that reports it).
struct Counted<'a> {
    bytes: &'a [u8],
    consumed: Arc<AtomicUsize>,
}

impl Read for Counted<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let at = self.consumed.load(Ordering::Relaxed);
        let n = out.len().min(self.bytes.len() - at);
        out[..n].copy_from_slice(&self.bytes[at..at + n]);
        self.consumed.store(at + n, Ordering::Relaxed);
        Ok(n)
    }
}

/// The compressed file read through its own descriptor (positioned reads, so descriptors
/// shared with others keep their offsets), for a stream that outlives any borrow: a
/// reader that hands out rows or batches between calls. A file cut short meanwhile
/// reads as a stream that ends early, which the decoder reports as truncated.
struct CountedFile {
    file: std::fs::File,
    consumed: Arc<AtomicUsize>,
}

impl Read for CountedFile {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let at = self.consumed.load(Ordering::Relaxed);
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&self.file, out, at as u64)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&self.file, out, at as u64)?;
        self.consumed.store(at + n, Ordering::Relaxed);
        Ok(n)
    }
}

/// A decompressing reader of a compressed file and how far into it it has read.
pub(super) struct Stream<'a> {
    source: Source,
    path: String,
    inner: Box<dyn Read + Send + 'a>,
    /// Compressed bytes consumed, shared with the counting reader.
    consumed: Arc<AtomicUsize>,
}

impl<'a> Stream<'a> {
    /// The text of `bytes` (the mapped file).
    pub(super) fn new(from: Source, bytes: &'a [u8], path: &str) -> Result<Stream<'a>> {
        let consumed = Arc::new(AtomicUsize::new(0));
        let counted = Counted {
            bytes,
            consumed: consumed.clone(),
        };
        Stream::of_reader(from, counted, consumed, path)
    }

    fn of_reader(
        from: Source,
        source: impl Read + Send + 'a,
        consumed: Arc<AtomicUsize>,
        path: &str,
    ) -> Result<Stream<'a>> {
        let raw: Box<dyn Read + Send + 'a> = match from.codec {
            None => Box::new(source),
            Some(Codec::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(source)),
            Some(Codec::Zstd) => Box::new(
                zstd::stream::read::Decoder::new(source)
                    .map_err(|e| Error::data_format(path, 0, "", format!("zstd: {e}")))?,
            ),
            Some(Codec::Bzip2) => Box::new(bzip2::read::MultiBzDecoder::new(source)),
            Some(Codec::Xz) => Box::new(liblzma::read::XzDecoder::new_multi_decoder(source)),
        };
        let inner: Box<dyn Read + Send + 'a> = match from.encoding {
            Encoding::Utf8 => raw,
            e => Box::new(Transcode::new(raw, e)),
        };
        Ok(Stream {
            source: from,
            path: path.to_owned(),
            inner,
            consumed,
        })
    }
}

impl Stream<'static> {
    /// The text of the compressed `file`, read through its own descriptor.
    pub(super) fn of_file(
        from: Source,
        file: std::fs::File,
        path: &str,
    ) -> Result<Stream<'static>> {
        let consumed = Arc::new(AtomicUsize::new(0));
        let counted = CountedFile {
            file,
            consumed: consumed.clone(),
        };
        Stream::of_reader(from, counted, consumed, path)
    }
}

impl Stream<'_> {
    /// Compressed bytes read so far.
    pub(super) fn consumed(&self) -> usize {
        self.consumed.load(Ordering::Relaxed)
    }

    /// Appends decompressed text to `buf` until it holds `want` bytes or the stream
    /// ends; returns whether it ended.
    pub(super) fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool> {
        let mut filled = buf.len();
        if filled >= want {
            return Ok(false);
        }
        buf.resize(want, 0);
        let ended = loop {
            if filled == want {
                break false;
            }
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(filled);
                    return Err(self.corrupt(&e));
                }
            }
        };
        buf.truncate(filled);
        Ok(ended)
    }

    fn corrupt(&self, e: &std::io::Error) -> Error {
        if let Some(bad) = e.get_ref().and_then(|r| r.downcast_ref::<Undecodable>()) {
            let compressed = match self.source.codec {
                Some(c) => format!(" (of the text decompressed from {})", c.name()),
                None => String::new(),
            };
            return Error::data_format(&self.path, 0, "", format!("{bad}{compressed}"));
        }
        let codec = self.source.codec.map_or("text", Codec::name);
        let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "is cut short (truncated)".to_string()
        } else {
            format!("is corrupt ({e})")
        };
        Error::data_format(
            &self.path,
            0,
            "",
            format!(
                "the {codec} stream {what} near compressed byte {}; no result is given for part of a file",
                self.consumed()
            ),
        )
    }
}

/// The first `SAMPLE` bytes of text (fewer if the file is shorter), for the dialect.
pub(super) fn sample(source: Source, bytes: &[u8], path: &str) -> Result<Vec<u8>> {
    let mut stream = Stream::new(source, bytes, path)?;
    let mut text = Vec::new();
    stream.fill(&mut text, SAMPLE)?;
    Ok(text)
}

/// Where the last record that ends in `buf[start..]` ends, by quote parity from
/// `start` (a record boundary); `None` when no newline there is outside quotes.
pub(super) fn last_boundary(buf: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut in_quotes = false;
    let mut last = None;
    for at in memchr::memchr2_iter(quote, b'\n', &buf[start..]) {
        if buf[start + at] == quote {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            last = Some(start + at + 1);
        }
    }
    last
}

/// `error` with its line counted from the start of the file, not of the window.
pub(super) fn in_file(mut error: Error, lines_before: u64) -> Error {
    if let Some(detail) = error.detail.as_mut() {
        if detail.line > 0 && lines_before > 0 {
            let (old, new) = (detail.line, detail.line + lines_before);
            error.message =
                error
                    .message
                    .replacen(&format!(" line {old}"), &format!(" line {new}"), 1);
            detail.line = new;
        }
    }
    error
}

/// `csv::scan` of a compressed file (`bytes`, the mapped compressed file) with its
/// `dialect` (detected on the first text): the same result as the scan of its text.
#[allow(clippy::too_many_arguments)]
pub(super) fn scan(
    source: Source,
    bytes: &[u8],
    dialect: &Dialect,
    columns: &[(usize, Mode)],
    probes: &[Vec<Probe>],
    path: &str,
    progress: &Progress,
    release: &dyn Fn(usize, usize),
) -> Result<Parsed> {
    let text = (dialect, columns, probes);
    scan_windows(source, bytes, text, path, progress, release, BLOCK)
}

/// What a scan reads of the text: its dialect, the columns and how, the probes.
type Text<'a> = (&'a Dialect, &'a [(usize, Mode)], &'a [Vec<Probe>]);

/// A block of text from the decompressing thread: the text, whether the stream ended
/// with it, and the compressed bytes read so far.
type Block = Result<(Vec<u8>, bool, usize)>;

/// `scan` with blocks of `block` bytes of text (small in tests, so that records cross
/// them). A thread decompresses the next block while the pool parses this one.
fn scan_windows(
    source: Source,
    bytes: &[u8],
    text: Text<'_>,
    path: &str,
    progress: &Progress,
    release: &dyn Fn(usize, usize),
    block: usize,
) -> Result<Parsed> {
    progress.set_total(bytes.len() as u64);
    std::thread::scope(|scope| {
        // One block ahead, no more: memory stays a few blocks whatever the file's size.
        let (send, blocks) = std::sync::mpsc::sync_channel::<Block>(1);
        let name = format!("{}inflate", crate::runtime::pool::WORKER_NAME_PREFIX);
        let builder = std::thread::Builder::new().name(name);
        let inflate = move || {
            let mut stream = match Stream::new(source, bytes, path) {
                Ok(stream) => stream,
                Err(e) => return drop(send.send(Err(e))),
            };
            loop {
                let mut text = Vec::with_capacity(block);
                let next = stream.fill(&mut text, block);
                let ended = !matches!(next, Ok(false));
                // A closed channel: the scan stopped (an error, or cancelled).
                if send
                    .send(next.map(|e| (text, e, stream.consumed())))
                    .is_err()
                    || ended
                {
                    return;
                }
            }
        };
        crate::runtime::fork_lock::spawning(|| builder.spawn_scoped(scope, inflate))
            .map_err(|e| Error::io(path, &e))?;
        scan_blocks(&blocks, text, path, progress, release, bytes.len())
    })
}

/// The consuming side of `scan_windows`: the blocks' records, scanned a window at a time.
fn scan_blocks(
    blocks: &std::sync::mpsc::Receiver<Block>,
    (dialect, columns, probes): Text<'_>,
    path: &str,
    progress: &Progress,
    release: &dyn Fn(usize, usize),
    compressed_len: usize,
) -> Result<Parsed> {
    // The whole file's records, about: the first block's records per compressed byte.
    let mut expected_rows = 0u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut total: Option<Parsed> = None;
    let mut start = dialect.data_start;
    let (mut lines_before, mut reported, mut ended) = (0u64, 0usize, false);
    // Inside a window, the scan reports to a progress of its own (its totals are the
    // window's); cancellation is checked here, once a block.
    let quiet = Progress::default();
    // Set when the window holds no whole record yet: it takes another block first.
    let mut more = true;
    loop {
        progress.check()?;
        if more && !ended {
            let (text, end, done) = blocks.recv().map_err(|_| {
                Error::data_format(path, 0, "", "the decompressing thread stopped")
            })??;
            // The carry (a record cut by the block's end) goes before the new block; a
            // new vector of the exact size keeps no spare capacity around.
            buf = if buf.is_empty() {
                text
            } else {
                let mut joined = Vec::with_capacity(buf.len() + text.len());
                joined.extend_from_slice(&buf);
                joined.extend_from_slice(&text);
                joined
            };
            ended = end;
            if expected_rows == 0 {
                let lines = memchr::memchr_iter(b'\n', &buf).count().max(1) as u64;
                let share = compressed_len as f64 / done.max(1) as f64;
                expected_rows = (lines as f64 * share.max(1.0)) as u64;
            }
            progress.advance((done - reported) as u64);
            release(reported, done);
            reported = done;
        }
        if buf.len() > MAX_WINDOW {
            return Err(Error::data_format(
                path,
                0,
                "",
                format!("a record is longer than {} MiB", MAX_WINDOW >> 20),
            ));
        }
        let start_here = start.min(buf.len());
        let cut = if ended {
            Some(buf.len())
        } else {
            last_boundary(&buf, start_here, dialect.quote)
        };
        let Some(cut) = cut.filter(|&c| c > start_here || ended) else {
            more = true; // no whole record yet: one longer than the window
            continue;
        };
        let hints = csv::Hints {
            expected_rows: Some(expected_rows),
            distinct_in_registers: total.as_ref().map_or_else(Vec::new, |t| {
                t.columns
                    .iter()
                    .map(|c| !c.sketch.distinct.is_exact())
                    .collect()
            }),
        };
        let window = (&buf[..], dialect, start_here..cut);
        let part = csv::scan_part(window, columns, probes, path, &quiet, &|_, _| {}, &hints);
        let part = match part {
            Ok(part) => part,
            // A quoted field the window cut: read on with another block.
            Err(e) if !ended && e.message.ends_with(csv::NEVER_CLOSED) => {
                more = true;
                continue;
            }
            Err(e) => return Err(in_file(e, lines_before)),
        };
        let next = part.end.min(buf.len());
        lines_before += memchr::memchr_iter(b'\n', &buf[..next]).count() as u64;
        total = Some(match total {
            None => part,
            Some(mut t) => {
                t.merge(&part)?;
                t
            }
        });
        if ended && next >= buf.len() {
            break;
        }
        buf = buf[next..].to_vec();
        start = 0;
        more = true;
    }
    let mut total = total.expect("the loop scans at least once");
    total.end = 0;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::csv::{detect, CsvOptions};
    use std::io::Write;

    fn gzip(text: &[u8], members: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for part in text.chunks(text.len().div_ceil(members.max(1)).max(1)) {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            out.extend(e.finish().unwrap());
        }
        out
    }

    fn scan_all(codec: Codec, packed: &[u8], text: &[u8], window: usize) -> Result<Parsed> {
        let mut d = detect(text, &CsvOptions::default(), "t.csv.gz").unwrap();
        d.chunk_bytes = 700;
        let all: Vec<(usize, Mode)> = (0..d.names.len()).map(|c| (c, Mode::Infer)).collect();
        let p = Progress::default();
        let source = Source {
            codec: Some(codec),
            encoding: Encoding::Utf8,
        };
        scan_windows(
            source,
            packed,
            (&d, &all, &[]),
            "t.csv.gz",
            &p,
            &|_, _| {},
            window,
        )
    }

    fn quoted_text(rows: usize) -> Vec<u8> {
        let mut text = String::from("id,note,v\n");
        for i in 0..rows {
            text.push_str(&format!("{i},\"a\nb, \"\"{i}\"\"\",{}\n", i % 7));
        }
        text.into_bytes()
    }

    #[test]
    fn windows_cut_anywhere_give_the_scan_of_the_text() {
        let text = quoted_text(3000);
        let (_, whole) = csv::tests::scan_text(std::str::from_utf8(&text).unwrap()).unwrap();
        let zstd = zstd::stream::encode_all(&text[..], 1).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&text).unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&text).unwrap();
        for (codec, packed) in [
            (Codec::Gzip, gzip(&text, 1)),
            (Codec::Gzip, gzip(&text, 7)), // multi-member, as BGZF
            (Codec::Zstd, zstd),
            (Codec::Bzip2, bz.finish().unwrap()),
            (Codec::Xz, xz.finish().unwrap()),
        ] {
            assert_eq!(Codec::of(&packed), Some(codec));
            for window in [64, 1000, 4096, 1 << 20] {
                let p = scan_all(codec, &packed, &text, window).unwrap();
                assert_eq!(p.rows, 3000, "{codec:?} {window}");
                for (a, b) in p.columns.iter().zip(&whole.columns) {
                    assert_eq!(
                        (a.kind, a.present, a.missing),
                        (b.kind, b.present, b.missing)
                    );
                    assert_eq!(a.summary.exact(), b.summary.exact());
                }
            }
        }
    }

    #[test]
    fn a_truncated_or_corrupt_stream_is_an_error_naming_the_offset() {
        let text = quoted_text(20_000);
        let packed = gzip(&text, 1);
        let cut = &packed[..packed.len() / 2];
        let e = scan_all(Codec::Gzip, cut, &text, 4096).err().unwrap();
        assert!(
            e.message.contains("cut short") && e.message.contains("compressed byte"),
            "{}",
            e.message
        );
        // As the zstd tool writes frames: with a checksum, which the flipped byte fails.
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
        e.include_checksum(true).unwrap();
        e.write_all(&text).unwrap();
        let mut bad = e.finish().unwrap();
        let last = bad.len() - 2; // in the checksum itself
        bad[last] ^= 0xff;
        let e = scan_all(Codec::Zstd, &bad, &text, 4096).err().unwrap();
        assert!(e.message.contains("zstd stream"), "{}", e.message);
    }

    #[test]
    fn an_error_in_a_later_window_names_the_files_line() {
        let mut text = quoted_text(500).into_iter().collect::<Vec<u8>>();
        text.extend_from_slice(b"1,2\n");
        let lines = text.iter().filter(|&&b| b == b'\n').count();
        let e = scan_all(Codec::Gzip, &gzip(&text, 1), &text, 1000)
            .err()
            .unwrap();
        assert!(
            e.message.contains(&format!("line {lines}")),
            "{}",
            e.message
        );
    }
}
