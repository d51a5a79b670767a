"""Rows of files that stream (compressed, or in another encoding than UTF-8) read in
order: `iter_chunks`, Arrow batches and tables, a partition's rows. Their text is decoded
a window at a time and handed out in whole records, so records with quoted newlines cross
the windows here (the file is several windows long).

Oracles: the same rows of the plain UTF-8 file (itself checked against numpy, pyarrow and
the csv module elsewhere), and `pyarrow.csv.read_csv` of the compressed file.
"""

from __future__ import annotations

import bz2
import gzip
import itertools
import lzma
import os
import warnings

import pytest

import oxbridge
from oxbridge import DataFormatError

ROWS = 250_000  # about 14 MB of text: more than two windows of batches, three of rows


def text_rows(rows: int) -> bytes:
    lines = ["id,note,price,day,flag"]
    for i in range(rows):
        price = "" if i % 17 == 0 else f"{(i * 7919) % 100003 / 100:.2f}"
        note = f'"line {i % 101}\nsecond, ""q"""' if i % 5 == 0 else f"plain {i % 7}"
        lines.append(f"{i},{note},{price},2024-02-{1 + i % 28:02d},{'true' if i % 3 else 'false'}")
    return ("\n".join(lines) + "\n").encode()


ENCODERS = {
    "gzip": lambda data: gzip.compress(data, compresslevel=1),
    "gzip members": lambda data: b"".join(
        gzip.compress(data[i : i + 3_000_001], compresslevel=1) for i in range(0, len(data), 3_000_001)
    ),
    "bzip2": lambda data: bz2.compress(data, compresslevel=1),
    "xz": lambda data: lzma.compress(data, preset=0),
    "utf-16": lambda data: data.decode().encode("utf-16"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streamed")
    data = text_rows(ROWS)
    plain = folder / "plain.csv"
    plain.write_bytes(data)
    streamed = {}
    for kind, encode in ENCODERS.items():
        path = folder / f"{kind.replace(' ', '_')}.csv.data"
        path.write_bytes(encode(data))
        streamed[kind] = path
    return plain, streamed


@pytest.mark.parametrize("kind", list(ENCODERS))
def test_chunks_of_a_streamed_file_equal_the_plain_files(files, kind):
    np = pytest.importorskip("numpy")
    plain, streamed = files
    with oxbridge.Dataset.open(str(plain)) as ds:
        want = np.concatenate(list(ds.iter_chunks(rows=50_000, columns=["price", "id"])))
    with oxbridge.Dataset.open(str(streamed[kind])) as ds:
        # One row at a time: each call takes one record of the decoded window.
        first = list(itertools.islice(ds.iter_chunks(rows=1, columns=["price", "id"]), 3_000))
        assert all(len(c) == 1 for c in first)
        assert np.array_equal(np.concatenate(first), want[:3_000], equal_nan=True)
        for rows in (7_777, 1_000_000):
            got = np.concatenate(list(ds.iter_chunks(rows=rows, columns=["price", "id"])))
            assert got.shape == want.shape == (ROWS, 2)
            assert np.array_equal(got, want, equal_nan=True)


def test_readers_of_one_streamed_file_in_turn_each_read_every_row(files):
    np = pytest.importorskip("numpy")
    _, streamed = files
    with oxbridge.Dataset.open(str(streamed["gzip"])) as ds:
        # In turn, at different paces: the dataset keeps a few readers where they left
        # off; one more than it keeps makes some decode again from the start. No reader
        # loses or repeats a row.
        readers = [ds.iter_chunks(rows=rows, columns=["id"]) for rows in (40_000, 25_000, 60_000, 33_333)]
        read = [[] for _ in readers]
        busy = True
        while busy:
            busy = False
            for got, reader in zip(read, readers):
                chunk = next(reader, None)
                if chunk is not None:
                    got.append(chunk)
                    busy = True
    for got in read:
        assert np.array_equal(np.concatenate(got).ravel(), np.arange(ROWS, dtype=float))


@pytest.mark.parametrize("kind", ["gzip", "utf-16"])
def test_arrow_of_a_streamed_file_equals_the_plain_files_and_pyarrows(files, kind):
    pa = pytest.importorskip("pyarrow")
    pacsv = pytest.importorskip("pyarrow.csv")
    plain, streamed = files
    with oxbridge.Dataset.open(str(plain)) as ds:
        want = ds.to_arrow()
    with oxbridge.Dataset.open(str(streamed[kind])) as ds:
        got = ds.to_arrow()
        batches = [pa.record_batch(b) for b in ds.iter_batches(rows=30_000)]
    assert got.schema == want.schema
    assert got.equals(want)
    assert sum(b.num_rows for b in batches) == ROWS and max(b.num_rows for b in batches) <= 30_000
    assert pa.Table.from_batches(batches).equals(want)
    # The files' names say nothing of their form (ours goes by their bytes): tell pyarrow.
    quoted_newlines = pacsv.ParseOptions(newlines_in_values=True)
    if kind == "gzip":
        theirs = pacsv.read_csv(pa.input_stream(str(streamed[kind]), compression="gzip"), parse_options=quoted_newlines)
    else:
        theirs = pacsv.read_csv(
            str(streamed[kind]), read_options=pacsv.ReadOptions(encoding="utf-16"), parse_options=quoted_newlines
        )
    for name in ("id", "note", "price", "flag"):
        assert got[name].to_pylist() == theirs[name].to_pylist(), name


def test_the_one_partition_of_a_compressed_file_reads_every_row(files):
    pa = pytest.importorskip("pyarrow")
    np = pytest.importorskip("numpy")
    plain, streamed = files
    with oxbridge.Dataset.open(str(plain)) as ds:
        want = ds.to_arrow(columns=["id", "note"])
    with oxbridge.Dataset.open(str(streamed["xz"])) as ds:
        (part,) = ds.partitions(n=4)
        assert part.to_arrow(columns=["id", "note"]).equals(want)
        ids = np.concatenate(list(part.iter_chunks(rows=100_000, columns=["id"]))).ravel()
        assert np.array_equal(ids, np.arange(ROWS, dtype=float))
        assert pa.table(ds).num_rows == ROWS


def test_a_bad_value_deep_in_a_compressed_file_names_its_line_of_the_file(tmp_path):
    np = pytest.importorskip("numpy")
    lines = ["a,b"] + [f"{i},{i * 0.5}" for i in range(900_000)]
    bad_row = 812_345
    lines[1 + bad_row] = f"{bad_row},oops"
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))
    with oxbridge.Dataset.open(str(path)) as ds:
        read = []
        with pytest.raises(DataFormatError, match=rf"line {bad_row + 2}\b.*oops|oops.*line {bad_row + 2}\b"):
            read.extend(ds.iter_chunks(rows=100_000))  # keeps the chunks before the error
        # The chunks before the one holding the bad value were whole and right.
        got = np.concatenate(read) if read else np.empty((0, 2))
        assert len(got) <= bad_row and np.array_equal(got[:, 0], np.arange(len(got), dtype=float))


def test_a_truncated_stream_fails_its_rows_and_batches_never_ends_early(tmp_path):
    pytest.importorskip("numpy")
    data = "a,b\n" + "".join(f"{i},{i % 13}\n" for i in range(400_000))
    packed = gzip.compress(data.encode(), compresslevel=1)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    with oxbridge.Dataset.open(str(path)) as ds:
        with pytest.raises(DataFormatError, match="truncated"):
            for _ in ds.iter_chunks(rows=50_000):
                pass
        with pytest.raises(DataFormatError, match="truncated"):
            for _ in ds.iter_batches(rows=50_000):
                pass


def test_polars_and_duckdb_read_a_compressed_dataset(files):
    _, streamed = files
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    with oxbridge.Dataset.open(str(streamed["gzip"])) as ds:
        frame = pl.DataFrame(ds)
        assert frame.shape == (ROWS, 5)
        assert frame["id"].to_list() == list(range(ROWS))
        (total,) = duckdb.sql("SELECT count(*), sum(id) FROM ds").fetchall()
    assert total == (ROWS, ROWS * (ROWS - 1) // 2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_batch_stream_read_on_in_a_forked_child_is_an_error_not_a_hang(files):
    _, streamed = files
    with oxbridge.Dataset.open(str(streamed["gzip"])) as ds:
        batches = ds.iter_batches(rows=10_000)
        next(batches)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
            pid = os.fork()
        if pid == 0:  # the child: its decoding thread stayed in the parent
            code = 5  # anything else raised
            try:
                for _ in batches:
                    pass
                code = 3  # read on without an error
            except oxbridge.OxbridgeError as e:
                code = 0 if "forked" in str(e) else 4
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent reads on.
        assert sum(1 for _ in batches) > 0
