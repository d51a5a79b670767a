//! A streamed CSV file's text (compressed, or in another encoding than UTF-8) read
//! forward for readers that hand out records in order between calls: rows into a
//! caller's buffer (`iter_chunks`) and Arrow batches. Such text cannot be mapped, so a
//! reader keeps the decoder and the text it gave that no record has taken yet; it always
//! starts at a record boundary, and hands out whole records only.

use super::compressed::{in_file, last_boundary, Source, Stream, BLOCK, MAX_WINDOW};
use crate::error::{Error, Result};

/// The text of a streamed file from some record on.
pub(super) struct TextWindow {
    stream: Stream<'static>,
    /// Decoded text; `text[head..boundary]` holds the whole records not taken yet, which
    /// start at byte `start` of the file's text; after `boundary` comes the start of a
    /// record cut by the last block decoded. Taken text is dropped only before decoding
    /// more, so taking records never copies the rest.
    text: Vec<u8>,
    head: usize,
    boundary: usize,
    start: usize,
    /// The decoder gave all its text.
    ended: bool,
    /// Newlines before `start`: messages name lines of the file, not of the window.
    lines_before: u64,
    quote: u8,
    path: String,
}

impl TextWindow {
    /// The text of `file` (the dataset's file, through its own descriptor) from its start.
    pub(super) fn open(source: Source, file: std::fs::File, path: &str, quote: u8) -> Result<Self> {
        Ok(TextWindow {
            stream: Stream::of_file(source, file, path)?,
            text: Vec::new(),
            head: 0,
            boundary: 0,
            start: 0,
            ended: false,
            lines_before: 0,
            quote,
            path: path.to_owned(),
        })
    }

    /// Where the text not taken yet starts in the file's text.
    pub(super) fn start(&self) -> usize {
        self.start
    }

    /// Takes the records before byte `to` of the file's text (a record boundary at or
    /// after `start`), decoding forward to it when it is further.
    pub(super) fn skip_to(&mut self, to: usize) -> Result<()> {
        while self.start < to {
            let whole = self.records(BLOCK)?.len();
            if whole == 0 {
                break;
            }
            self.take((to - self.start).min(whole));
        }
        Ok(())
    }

    /// The whole records decoded and not taken yet; when there are none, `want` more
    /// bytes of text are decoded first (more when one record is longer, up to
    /// `MAX_WINDOW`). Empty at the end of the text.
    pub(super) fn records(&mut self, want: usize) -> Result<&[u8]> {
        loop {
            if self.boundary > self.head {
                return Ok(&self.text[self.head..self.boundary]);
            }
            if self.ended {
                // What follows the last newline is the last record.
                self.boundary = self.text.len();
                return Ok(&self.text[self.head..]);
            }
            self.compact();
            if self.text.len() >= MAX_WINDOW {
                return Err(Error::data_format(
                    &self.path,
                    self.lines_before + 1,
                    "",
                    format!(
                        "a record longer than {} MiB (an unclosed quote?); no result is given for part of a file",
                        MAX_WINDOW >> 20
                    ),
                ));
            }
            let have = self.text.len();
            self.ended = self.stream.fill(&mut self.text, have + want.max(1))?;
            // Quote parity from the last boundary (outside quotes) over the new text only.
            if let Some(end) = last_boundary(&self.text, self.boundary, self.quote) {
                self.boundary = end;
            }
        }
    }

    /// Takes the first `n` bytes of the records `records` gave.
    pub(super) fn take(&mut self, n: usize) {
        let n = n.min(self.boundary - self.head);
        let taken = &self.text[self.head..self.head + n];
        self.lines_before += memchr::memchr_iter(b'\n', taken).count() as u64;
        self.head += n;
        self.start += n;
    }

    /// Drops the taken text (before decoding more).
    fn compact(&mut self) {
        self.text.drain(..self.head);
        self.boundary -= self.head;
        self.head = 0;
    }

    /// `error` (from reading the records `records` gave) with its line counted from the
    /// start of the file.
    pub(super) fn in_file(&self, error: Error) -> Error {
        in_file(error, self.lines_before)
    }

    /// Decodes ahead on a thread of its own, one window of about `want` bytes of whole
    /// records at a time (one waiting, no more), while the caller parses the last one.
    pub(super) fn ahead(self, want: usize) -> Result<Ahead> {
        let (send, windows) = std::sync::mpsc::sync_channel::<Result<Option<Window>>>(1);
        let mut reader = self;
        let path = reader.path.clone();
        let decode = move || loop {
            let next = match reader.records(want) {
                Ok([]) => Ok(None),
                Ok(text) => Ok(Some(Window {
                    text: text.to_vec(),
                    lines_before: reader.lines_before,
                })),
                Err(e) => Err(e),
            };
            if let Ok(Some(window)) = &next {
                let n = window.text.len();
                reader.take(n);
            }
            let last = !matches!(next, Ok(Some(_)));
            // A closed channel: the reader was dropped.
            if send.send(next).is_err() || last {
                return;
            }
        };
        let name = format!("{}inflate", crate::runtime::pool::WORKER_NAME_PREFIX);
        crate::runtime::fork_lock::spawning(|| {
            std::thread::Builder::new().name(name).spawn(decode)
        })
        .map_err(|e| Error::io(&path, &e))?;
        Ok(Ahead {
            windows,
            path,
            pid: std::process::id(),
        })
    }
}

/// Whole records of a streamed file, and the newlines before them in the file.
pub(super) struct Window {
    pub(super) text: Vec<u8>,
    lines_before: u64,
}

impl Window {
    /// `error` (from reading these records) with its line counted from the file's start.
    pub(super) fn in_file(&self, error: Error) -> Error {
        in_file(error, self.lines_before)
    }
}

/// The windows a decoding thread (`TextWindow::ahead`) hands over, in order.
pub(super) struct Ahead {
    windows: std::sync::mpsc::Receiver<Result<Option<Window>>>,
    path: String,
    /// The process whose thread decodes: a child forked meanwhile has no such thread.
    pid: u32,
}

impl Ahead {
    /// The next window; `None` after the last.
    pub(super) fn next(&self) -> Result<Option<Window>> {
        if std::process::id() != self.pid {
            // Waiting would never end: the decoding thread stayed in the parent.
            return Err(Error::invalid_argument(format!(
                "{}: this stream was opened before the process forked; open it again in this process",
                self.path
            )));
        }
        // The thread ends the stream with `None` or an error: a channel closed before
        // either means it died (a panic), never the end of the text.
        self.windows.recv().unwrap_or_else(|_| {
            Err(Error::new(
                crate::error::ErrorKind::Io,
                format!(
                    "{}: the thread decoding the file stopped before its end",
                    self.path
                ),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::compressed::Codec;
    use crate::dataset::encoding::Encoding;
    use std::io::Write;

    /// Records with quoted newlines (one in three), `n` of them after a header.
    fn text(n: usize) -> Vec<u8> {
        let mut text = b"a,b\n".to_vec();
        for i in 0..n {
            if i % 3 == 0 {
                text.extend_from_slice(format!("{i},\"x\ny,\"\"{i}\"\"\"\n").as_bytes());
            } else {
                text.extend_from_slice(format!("{i},plain\n").as_bytes());
            }
        }
        text
    }

    fn gzip_file(text: &[u8]) -> std::fs::File {
        let path = std::env::temp_dir().join(format!("oxb-streamed-{}.gz", std::process::id()));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    const GZIP: Source = Source {
        codec: Some(Codec::Gzip),
        encoding: Encoding::Utf8,
    };

    #[test]
    fn records_come_whole_and_in_order_whatever_the_block() {
        let text = text(5_000);
        for want in [1, 7, 64, 4096, 1 << 20] {
            let mut window = TextWindow::open(GZIP, gzip_file(&text), "t.gz", b'"').unwrap();
            window.skip_to(4).unwrap();
            let mut read = text[..4].to_vec();
            let mut step = 1;
            loop {
                let records = window.records(want).unwrap();
                if records.is_empty() {
                    break;
                }
                // Whole records: an even number of quotes, ending in a newline.
                assert_eq!(records.iter().filter(|&&b| b == b'"').count() % 2, 0);
                assert_eq!(records.last(), Some(&b'\n'));
                // Take whole records only: up to some record's end.
                let mut in_quotes = false;
                let mut ends = Vec::new();
                for (i, &b) in records.iter().enumerate() {
                    in_quotes ^= b == b'"';
                    if b == b'\n' && !in_quotes {
                        ends.push(i);
                    }
                }
                let n = ends[(step % ends.len()).min(ends.len() - 1)] + 1;
                read.extend_from_slice(&records[..n]);
                window.take(n);
                assert_eq!(window.start(), read.len());
                step += 1;
            }
            assert_eq!(read, text, "blocks of {want} bytes");
        }
    }

    #[test]
    fn skipping_forward_decodes_to_the_cursor() {
        let text = text(3_000);
        let cursor = text.len() / 2;
        let cursor = cursor + text[cursor..].iter().position(|&b| b == b'\n').unwrap() + 1;
        // `cursor` may stand inside a quoted field; that does not matter to skipping.
        let mut window = TextWindow::open(GZIP, gzip_file(&text), "t.gz", b'"').unwrap();
        window.skip_to(cursor).unwrap();
        assert_eq!(window.start(), cursor);
        window.skip_to(text.len() + 10).unwrap();
        assert_eq!(window.start(), text.len());
        assert!(window.records(16).unwrap().is_empty());
    }
}
