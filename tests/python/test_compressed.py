"""Compressed CSV files, detected by their first bytes: gzip (one member, many, BGZF-like),
zstd, bzip2 and xz stream through the parallel scan; the description equals the plain
file's.
Truncated and corrupt streams are errors naming the compressed offset.

Oracle: the description of the same text, uncompressed (itself checked against pandas
and the csv module elsewhere).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import shutil
import subprocess

import pytest

import oxbridge
from oxbridge import DataFormatError


def text_rows(rows: int) -> bytes:
    lines = ["id,note,price,day,flag"]
    for i in range(rows):
        price = "" if i % 17 == 0 else f"{(i * 7919) % 100003 / 100:.2f}"
        lines.append(
            f'{i},"line {i % 101}\nsecond, ""q""",{price},2024-02-{1 + i % 28:02d},{"true" if i % 3 else "false"}'
        )
    return ("\n".join(lines) + "\n").encode()


def members(data: bytes, n: int) -> bytes:
    """`data` gzip-compressed as `n` concatenated members (as BGZF and `cat a.gz b.gz`)."""
    step = -(-len(data) // n)
    return b"".join(gzip.compress(data[i : i + step], compresslevel=1) for i in range(0, len(data), step))


def zstd_of(data: bytes, tmp_path) -> bytes:
    if shutil.which("zstd") is None:
        pytest.skip("the zstd tool is not installed")
    plain = tmp_path / "for_zstd.csv"
    plain.write_bytes(data)
    subprocess.run(["zstd", "-q", "-f", "-3", str(plain), "-o", str(plain) + ".zst"], check=True)
    return (tmp_path / "for_zstd.csv.zst").read_bytes()


def same(got, want):
    assert list(got) == list(want) and got.num_rows == want.num_rows
    for name in want:
        g, w = got[name], want[name]
        assert (g.count, g.nan_count) == (w.count, w.nan_count), name
        if isinstance(w, oxbridge.Stats):
            assert (g.min, g.max, g.distinct) == (w.min, w.max, w.distinct), name
            assert g.sum == w.sum or math.isclose(g.sum, w.sum, rel_tol=1e-12), name
            assert math.isclose(g.std, w.std, rel_tol=1e-12), name
        elif isinstance(w, oxbridge.TextStats):
            assert (g.distinct, g.top, g.top_count, g.min, g.max, g.max_len) == (
                w.distinct,
                w.top,
                w.top_count,
                w.min,
                w.max,
                w.max_len,
            ), name


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    path = tmp_path_factory.mktemp("compressed") / "plain.csv"
    path.write_bytes(text_rows(60_000))
    with oxbridge.Dataset.open(str(path)) as ds:
        return path, ds.describe()


@pytest.mark.parametrize("kind", ["gzip", "gzip members", "zstd", "bzip2", "xz"])
def test_a_compressed_file_describes_as_its_text(plain, tmp_path, kind):
    path, want = plain
    data = path.read_bytes()
    packed = {
        "gzip": lambda: gzip.compress(data),
        "gzip members": lambda: members(data, 9),
        "bzip2": lambda: bz2.compress(data, 1),
        "xz": lambda: lzma.compress(data, preset=0),
    }.get(kind, lambda: zstd_of(data, tmp_path))()
    name = tmp_path / {"zstd": "t.csv.zst", "bzip2": "t.csv.bz2", "xz": "t.csv.xz"}.get(kind, "t.csv.gz")
    name.write_bytes(packed)
    calls = []
    with oxbridge.Dataset.open(str(name)) as ds:
        assert ds.columns == ["id", "note", "price", "day", "flag"]
        assert ds.dtypes["price"] == "float64"
        got = ds.describe(progress=lambda done, total: calls.append((done, total)))
        assert ds.num_rows == 60_000
        (part,) = ds.partitions(n=4)  # one stream: the whole file
        assert part.nbytes == len(packed)
        assert part.describe()["id"].sum == want["id"].sum
        exact = ds.describe(["price"], exact_quantiles=True)
    same(got, want)
    assert calls and calls[-1][0] == calls[-1][1] == len(packed)
    with oxbridge.Dataset.open(str(path)) as ds:
        assert exact["price"].quantiles == ds.describe(["price"], exact_quantiles=True)["price"].quantiles


def test_a_truncated_gzip_is_an_error_never_a_partial_result(plain, tmp_path):
    path, _ = plain
    packed = gzip.compress(path.read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    with (
        oxbridge.Dataset.open(str(cut)) as ds,
        pytest.raises(DataFormatError, match=r"gzip stream .*near compressed byte \d+"),
    ):
        ds.describe()


def test_a_bad_zstd_checksum_is_an_error(plain, tmp_path):
    path, _ = plain
    packed = bytearray(zstd_of(path.read_bytes(), tmp_path))
    packed[-2] ^= 0xFF  # the frame's checksum (the tool writes one)
    bad = tmp_path / "bad.csv.zst"
    bad.write_bytes(bytes(packed))
    with oxbridge.Dataset.open(str(bad)) as ds, pytest.raises(DataFormatError, match="zstd stream is corrupt"):
        ds.describe()


def test_gzip_magic_with_garbage_after_it_is_an_error(tmp_path):
    bad = tmp_path / "fake.csv.gz"
    bad.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(DataFormatError, match="gzip stream is corrupt"):
        oxbridge.Dataset.open(str(bad))


def test_a_compressed_file_is_not_read_as_an_array(plain, tmp_path):
    path, _ = plain
    name = tmp_path / "t.csv.gz"
    name.write_bytes(gzip.compress(path.read_bytes()[:100_000].rsplit(b"\n", 1)[0] + b"\n"))
    with pytest.raises(oxbridge.UnsupportedError, match="decompress it first"):
        oxbridge.Dataset.open(str(name), format="npy")


def test_a_progress_callable_that_raises_stops_a_compressed_scan(plain, tmp_path):
    path, want = plain
    name = tmp_path / "stop.csv.gz"
    header, body = path.read_bytes().split(b"\n", 1)
    name.write_bytes(gzip.compress(header + b"\n" + body * 20, compresslevel=1))
    calls = []
    boom = KeyboardInterrupt()

    def progress(done, total):
        calls.append((done, total))
        if done > 0:
            raise boom

    with oxbridge.Dataset.open(str(name)) as ds:
        with pytest.raises(KeyboardInterrupt) as info:
            ds.describe(progress=progress)
        assert info.value is boom and calls[-1][0] < calls[-1][1]  # stopped mid-stream
        # The dataset still works, and nothing of the stopped scan stayed behind.
        assert ds.describe(["id"])["id"].count == 20 * want["id"].count
