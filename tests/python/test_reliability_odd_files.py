"""Reliability: odd files (empty, FIFOs, devices, links, /proc, odd names) give clean errors.

Each case gives the correct result or a clean exception of the right type that names the
path (in the message, and in `.path`/`.filename` where the class has them):

- empty files (CSV, .npy, raw): DataFormatError saying "empty" (an empty raw file is 0
  rows, a correct result);
- a FIFO with no writer: UnsupportedError at once (the library stats before it opens, so
  it never blocks; run in a child with a timeout to prove it), /dev/null likewise;
- a directory: IsADirectoryError; missing files, missing folders, dangling symlinks:
  FileNotFoundError; a file used as a folder: NotADirectoryError; symlink loops and
  over-long names: OSError with their errno;
- an unreadable file (chmod 000): PermissionError. Root reads anything, so as root the
  check runs in a child that drops to uid/gid 65534 after importing oxbridge;
- a 100 GB sparse file (all zeros, no disk used): opening it as raw uint8 is instant,
  `num_rows` is 10^11 without a scan, the first chunk of `iter_chunks` is zeros, a
  describe stopped from its progress callback stops at once, and the resident set stays
  small; read as CSV it is refused at once as binary;
- /proc files (size 0 in stat, content readable) and /sys files (size 4096, not
  mappable): oxbridge memory-maps files, so it cannot read these. The correct behaviour
  chosen: UnsupportedError saying so and suggesting a copy, never "the file is empty" or
  the mmap's "No such device" (what it said before);
- a path that is not UTF-8 (b"\\xff"), given as bytes or as str with surrogate escapes:
  the correct result (POSIX paths are bytes, and the C ABI takes them so); errors carry
  the path as spelled in `path` and `filename`, and show invalid bytes as U+FFFD;
- a path (or a text option) with an embedded NUL: ValueError, as Python's open() (ctypes cut the
  path at the NUL and silently opened another file; "1\\0junk" became the marker "1");
- paths with spaces, unicode, a newline, quotes, a leading dash, given as str, bytes or
  pathlib.Path: the same result as the file under a plain name, and errors name them.

The number of cases is recorded in build/reliability.json (figure odd_files.cases).
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import numpy  # noqa: F401  (iter_chunks needs numpy: the module is skipped without it)
import pytest

import oxbridge

import _reliability as R
from _helpers import python, run_child

CSV_TEXT = "name,value,n\nalpha,1.5,3\nbeta,-2.25,4\ngamma,,5\n"
OUTCOMES: dict = {}  # case -> what happened, for the figures


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    if OUTCOMES:
        kinds: dict = {}
        for outcome in OUTCOMES.values():
            kinds[outcome] = kinds.get(outcome, 0) + 1
        R.record("default", "odd files", "odd_files.cases", len(OUTCOMES), "cases", outcomes=kinds)
    R.flush(request.config, "odd files")


def _plain(desc):
    return R.plain(desc)


def _expected_plain(tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "plain.csv"
    path.write_text(CSV_TEXT)
    return _plain(oxbridge.process_large_dataset(path))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _expected_plain(tmp_path_factory)


def _fails(case, path, cls, *, words=(), os_errno=None, **open_options):
    """Opens and describes `path`; the error must be `cls`, name the path and hold `words`;
    an OSError must be an IoError with the errno `os_errno`."""
    with pytest.raises(cls) as info, oxbridge.Dataset.open(path, **open_options) as ds:
        ds.describe()
    e = info.value
    shown = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    assert shown in str(e) or repr(shown) in str(e), f"{case}: the message does not name the path: {e}"
    assert isinstance(e, oxbridge.OxbridgeError), f"{case}: {type(e)}"
    for w in words:
        assert w in str(e), f"{case}: {w!r} not in {e}"
    if isinstance(e, OSError):
        assert isinstance(e, oxbridge.IoError) and os_errno is not None, f"{case}: {type(e)}"
        assert (e.errno, e.filename) == (os_errno, shown), f"{case}: {e.errno} {e.filename}"
    else:
        assert e.path == shown, f"{case}: path attribute {getattr(e, 'path', None)!r}"
    OUTCOMES[case] = type(e).__name__
    return e


# ---------------------------------------------------------------------------------------
# Empty files, folders, missing files, links
# ---------------------------------------------------------------------------------------


def test_empty_files(tmp_path):
    for name in ("empty.csv", "empty.npy", "empty.tsv", "empty"):
        (tmp_path / name).write_bytes(b"")
        _fails(f"empty {name}", tmp_path / name, oxbridge.DataFormatError, words=["empty"])
    (tmp_path / "empty.raw").write_bytes(b"")
    with oxbridge.Dataset.open(tmp_path / "empty.raw", dtype="float64") as ds:
        assert ds.num_rows == 0 and ds.describe()["0"].count == 0
    OUTCOMES["empty raw"] = "0 rows"


def test_folders_missing_files_and_links(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    _fails("directory", tmp_path / "folder.csv", IsADirectoryError, os_errno=errno.EISDIR)
    _fails("missing file", tmp_path / "missing.csv", FileNotFoundError, os_errno=errno.ENOENT)
    _fails("missing folder", tmp_path / "no" / "such" / "folder.csv", FileNotFoundError, os_errno=errno.ENOENT)
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    _fails("dangling symlink", tmp_path / "dangling.csv", FileNotFoundError, os_errno=errno.ENOENT)
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    _fails("symlink loop", tmp_path / "loop.csv", OSError, os_errno=errno.ELOOP)
    (tmp_path / "file.csv").write_text(CSV_TEXT)
    _fails("file used as a folder", tmp_path / "file.csv" / "x.csv", NotADirectoryError, os_errno=errno.ENOTDIR)
    _fails("name longer than NAME_MAX", tmp_path / ("n" * 300 + ".csv"), OSError, os_errno=errno.ENAMETOOLONG)
    (tmp_path / "link_to_folder").symlink_to(tmp_path / "folder.csv")
    _fails("symlink to a directory", tmp_path / "link_to_folder", IsADirectoryError, os_errno=errno.EISDIR)


def test_a_symlink_to_a_file_reads_the_file(tmp_path, reference):
    (tmp_path / "real.csv").write_text(CSV_TEXT)
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    assert _plain(oxbridge.process_large_dataset(tmp_path / "link.csv")) == reference
    OUTCOMES["symlink to a file"] = "correct result"


# ---------------------------------------------------------------------------------------
# FIFO, devices
# ---------------------------------------------------------------------------------------

_FIFO_CHILD = r"""
import json, sys, oxbridge
try:
    oxbridge.Dataset.open(sys.argv[1])
    print(json.dumps({"outcome": "opened"}))
except Exception as e:
    print(json.dumps({"outcome": type(e).__name__, "message": str(e), "path": getattr(e, "path", None)}))
"""


def test_a_fifo_without_a_writer_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    started = time.monotonic()
    child = run_child(python("-c", _FIFO_CHILD, str(fifo)), timeout=60)
    assert child.returncode == 0, child.stderr
    out = json.loads(child.stdout)
    assert out["outcome"] == "UnsupportedError", out
    assert str(fifo) in out["message"] and "not a regular file" in out["message"] and out["path"] == str(fifo)
    assert time.monotonic() - started < 30
    OUTCOMES["fifo"] = out["outcome"]


def test_devices_are_refused():
    _fails("/dev/null", "/dev/null", oxbridge.UnsupportedError, words=["not a regular file"])
    _fails("/dev/zero as raw", "/dev/zero", oxbridge.UnsupportedError, dtype="uint8")


# ---------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------

_DROP_CHILD = r"""
import json, os, sys
import oxbridge  # imported as root; then the privileges go
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
try:
    open(sys.argv[1], "rb")
    direct = "readable"
except PermissionError:
    direct = "PermissionError"
try:
    oxbridge.Dataset.open(sys.argv[1])
    out = {"outcome": "opened"}
except Exception as e:
    out = {"outcome": type(e).__name__, "message": str(e), "errno": getattr(e, "errno", None),
           "filename": getattr(e, "filename", None), "classes": [c.__name__ for c in type(e).__mro__]}
out["direct"] = direct
print(json.dumps(out))
"""


def test_an_unreadable_file_raises_permission_error(tmp_path_factory):
    import tempfile

    # A folder others may enter (pytest's tmp folders are private to their owner).
    folder = Path(tempfile.mkdtemp(prefix="oxbridge-perm-"))
    try:
        folder.chmod(0o755)
        path = folder / "secret.csv"
        path.write_text(CSV_TEXT)
        path.chmod(0o000)
        if os.geteuid() != 0:
            _fails("unreadable file", path, PermissionError, os_errno=errno.EACCES)
            return
        child = run_child(python("-c", _DROP_CHILD, str(path)), timeout=60, cwd="/")
        assert child.returncode == 0, child.stderr
        out = json.loads(child.stdout)
        if out["direct"] != "PermissionError":
            pytest.skip("uid 65534 can read a mode-000 file here (a capability is kept): nothing to check")
        assert out["outcome"] == "PermissionError" and "IoError" in out["classes"], out
        assert out["errno"] == errno.EACCES and out["filename"] == str(path) and str(path) in out["message"]
        OUTCOMES["unreadable file (uid 65534)"] = out["outcome"]
    finally:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


# ---------------------------------------------------------------------------------------
# A 100 GB sparse file
# ---------------------------------------------------------------------------------------

SPARSE_BYTES = 100 * 10**9


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    path = tmp_path_factory.mktemp("sparse") / "zeros.bin"
    with open(path, "wb") as f:
        f.truncate(SPARSE_BYTES)
    yield path
    path.unlink()


def test_a_100_gb_sparse_file_opens_instantly_and_reads_only_what_is_asked(sparse):
    before = R.rss_bytes()
    started = time.monotonic()
    with oxbridge.Dataset.open(sparse, dtype="uint8") as ds:
        assert ds.num_rows == SPARSE_BYTES and ds.columns == ["0"]
        opened = time.monotonic() - started
        chunks = ds.iter_chunks(rows=1 << 20)
        first = next(chunks)
        assert first.shape == (1 << 20,) and not first.any()
        chunks.close()
        del first
        first_chunk = time.monotonic() - started
        # describe would read 100 GB: a progress callable stops it at its second call.
        calls = []

        class Enough(Exception):
            pass

        def progress(done, total):
            calls.append((done, total))
            if len(calls) >= 2:
                raise Enough

        t = time.monotonic()
        with pytest.raises(Enough):
            ds.describe(progress=progress)
        stopped = time.monotonic() - t
    grew = R.rss_bytes() - before
    assert calls[0][1] == SPARSE_BYTES and calls[-1][0] < SPARSE_BYTES // 10
    assert opened < 1.0 and first_chunk < 2.0 and stopped < 10.0, (opened, first_chunk, stopped)
    assert grew < 128 << 20, f"RSS grew {grew >> 20} MiB"
    R.record(
        "default",
        "odd files",
        "odd_files.sparse_100GB",
        round(opened * 1000, 3),
        "ms to open",
        first_chunk_ms=round(first_chunk * 1000, 1),
        describe_stop_s=round(stopped, 3),
        rss_growth_mib=round(grew / 2**20, 1),
    )
    OUTCOMES["100 GB sparse raw"] = "instant open, first chunk, stopped describe"


def test_a_100_gb_sparse_file_is_not_csv_and_not_npy(sparse, tmp_path):
    started = time.monotonic()
    _fails("100 GB sparse as CSV", sparse, oxbridge.DataFormatError, words=["binary"], format="csv")
    _fails("100 GB sparse detected", sparse, oxbridge.DataFormatError, words=["binary"])
    npy = tmp_path / "zeros.npy"
    os.link(sparse, npy)
    try:
        _fails("100 GB sparse named .npy", npy, oxbridge.DataFormatError, words=["not a valid .npy"])
    finally:
        npy.unlink()
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------------------------
# /proc and /sys
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/proc/self/status", "/proc/cpuinfo", "/proc/self/maps"])
def test_proc_files_report_size_0_and_are_refused_clearly(path):
    with open(path, "rb") as f:
        assert os.stat(path).st_size == 0 and f.read(1)
    e = _fails(path, path, oxbridge.UnsupportedError, words=["size of 0 bytes but has content", "copy it"])
    assert "empty" not in str(e) and "No such device" not in str(e)


def test_sys_files_are_refused_clearly():
    candidates = [
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/mm/transparent_hugepage/defrag",
        "/sys/devices/system/cpu/online",
        "/sys/kernel/osrelease",
    ]
    found = [p for p in candidates if os.path.isfile(p) and os.access(p, os.R_OK)]
    if not found:
        pytest.skip("no readable /sys attribute file here")
    e = _fails(found[0], found[0], oxbridge.UnsupportedError, words=["cannot be mapped", "/sys"])
    assert "No such device" not in str(e)


# ---------------------------------------------------------------------------------------
# Path spellings
# ---------------------------------------------------------------------------------------


def test_a_path_that_is_not_utf8(tmp_path, reference):
    folder = os.fsencode(tmp_path)
    raw = folder + b"/caf\xe9 \xff.csv"
    with open(raw, "wb") as f:
        f.write(CSV_TEXT.encode())
    for spelling in (raw, os.fsdecode(raw)):  # bytes, and str with a surrogate escape
        assert _plain(oxbridge.process_large_dataset(spelling)) == reference
    OUTCOMES["non-UTF-8 path"] = "correct result"
    # Errors: the path as spelled in the attributes, readable in the message.
    missing = folder + b"/gone \xff.csv"
    for spelling in (missing, os.fsdecode(missing)):
        with pytest.raises(FileNotFoundError) as info:
            oxbridge.Dataset.open(spelling)
        e = info.value
        assert isinstance(e, oxbridge.IoError)
        assert e.filename == os.fsdecode(missing) and e.path == os.fsdecode(missing), e
        assert "gone \ufffd.csv" in str(e), e
    ragged = folder + b"/ragged \xfe.csv"
    with open(ragged, "wb") as f:
        f.write(b"a,b\n1,2\n3\n")
    with pytest.raises(oxbridge.DataFormatError) as info:
        oxbridge.process_large_dataset(ragged)
    assert (info.value.path, info.value.line) == (os.fsdecode(ragged), 3), info.value
    OUTCOMES["non-UTF-8 path, errors"] = "clean error"


def test_a_path_with_an_embedded_nul_is_refused(tmp_path):
    real = tmp_path / "data.csv"
    real.write_text(CSV_TEXT)
    for path in (str(real) + "\0.npy", os.fsencode(real) + b"\0junk", str(real) + "\0"):
        with pytest.raises(ValueError, match="embedded null byte"):
            oxbridge.Dataset.open(path)
    OUTCOMES["embedded NUL in the path"] = "ValueError"
    # The text options too: "1\0junk" was read as the missing-value marker "1".
    for options in ({"null_values": ["1\0junk"]}, {"format": "csv\0npy"}, {"dtype": "uint8\0", "format": "raw"}):
        with pytest.raises(ValueError, match="NUL"):
            oxbridge.Dataset.open(real, **options)
    OUTCOMES["embedded NUL in the options"] = "ValueError"


NAMES = [
    "with spaces.csv",
    "ünïcødé 数据 😀.csv",
    "new\nline.csv",
    'quote\'s "double".csv',
    "-leading-dash.csv",
    "#hash %percent.csv",
    " leading and trailing space .csv",
    "tab\there.csv",
    "no extension",
    "dots...csv",
    "UPPER.CSV",
]


@pytest.mark.parametrize("name", NAMES)
def test_paths_with_spaces_and_unicode(tmp_path, reference, name):
    folder = tmp_path / "sub folder ✓"
    folder.mkdir()
    path = folder / name
    path.write_text(CSV_TEXT)
    for spelling in (path, str(path), os.fsencode(path)):
        assert _plain(oxbridge.process_large_dataset(spelling)) == reference, spelling
    with oxbridge.Dataset.open(path) as ds:
        assert ds.path == str(path) and len(ds) == 3
        assert [c.tolist() for c in ds.iter_chunks(columns=["n"])] == [[[3.0], [4.0], [5.0]]]
    # Errors name such paths exactly.
    bad = folder / ("bad " + name)
    bad.write_text("a,b\n1,2\n3\n")
    e = _fails(f"ragged CSV at {name!r}", bad, oxbridge.DataFormatError, words=["line 3"])
    assert (e.line, e.column) == (3, "b")
    _fails(f"missing {name!r}", folder / ("missing " + name), FileNotFoundError, os_errno=errno.ENOENT)
    OUTCOMES[f"path {name!r}"] = "correct result"
