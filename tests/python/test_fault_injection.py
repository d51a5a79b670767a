"""Reliability: fault injection in the file reader (every file operation failing in turn).

The library built with the `test-hooks` feature (`make test-hooks`, named in
$OXBRIDGE_HOOKS_LIBRARY) can fail the N-th file operation it does with EIO
(src/dataset/faults.rs: stat, open, mmap, the re-stat before each scan, each madvise
page release, and the size-0 content probe's open and read). For a small CSV, a small
.npy and a raw binary file, a fresh interpreter on that library runs, for N = 1, 2, ...,
open + describe + every chunk of iter_chunks + close with the fault armed at N, until a
run hits no fault. Every run that hit a fault must either

- raise an `oxbridge.IoError` (an OSError) with errno EIO and the file's name (also
  for the size-0 probe: a failed probe once read as an empty file), or
- (only for a madvise, which is advisory and whose failure the reader ignores) give the
  correct result,

and afterwards no native handle may be left alive and an unarmed run must give the
correct result (numpy and the `csv` module are the oracles). A short read cannot happen:
the reader memory-maps files and has no read() of data (the one read() is the size-0
probe, which the files here never reach); a short mapping is simulated as the mmap
failing with EIO.

The number of fault points exercised per format is recorded in build/reliability.json
(figure fault_injection.<format>.points).
"""

from __future__ import annotations

import json
import textwrap

import numpy  # noqa: F401  (the child compares with numpy: skipped without it)
import pytest

import _reliability as R
from _helpers import HOOKS_ENV, child_env, python, run_child

FORMATS = ["csv", "npy", "raw", "empty"]


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    R.flush(request.config, "fault injection")


CHILD = r'''
import csv, ctypes, errno, gc, json, math, os, sys, tempfile
import numpy as np
import oxbridge
from oxbridge._loader import lib, path as loaded

assert str(loaded) == os.environ["OXBRIDGE_LIBRARY"], loaded
lib.oxb_test_fail_io_at.restype, lib.oxb_test_fail_io_at.argtypes = ctypes.c_uint32, [ctypes.c_uint64]
lib.oxb_test_io_ops.restype, lib.oxb_test_io_ops.argtypes = ctypes.c_uint64, []
lib.oxb_test_io_failed_op.restype = ctypes.c_size_t
lib.oxb_test_io_failed_op.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

def arm(n):
    assert lib.oxb_test_fail_io_at(n) == 0

def failed_op():
    buf = ctypes.create_string_buffer(64)
    lib.oxb_test_io_failed_op(buf, len(buf))
    return buf.value.decode()

FORMAT = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="oxbridge_faults_")
rng = np.random.default_rng(13)
# A few pages each, so that the scans really release pages (madvise).
if FORMAT == "csv":
    path = os.path.join(tmp, "small.csv")
    values = np.round(rng.normal(size=(900, 3)) * 100, 3)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x", "y", "z"])
        w.writerows(values.tolist())
    with open(path, newline="") as f:  # the oracle reads the file back with the csv module
        rows = list(csv.reader(f))
    names, expected = rows[0], np.array([[float(v) for v in r] for r in rows[1:]])
    options = {}
elif FORMAT == "npy":
    path = os.path.join(tmp, "small.npy")
    np.save(path, rng.random((1500, 2)))
    expected, options = np.load(path), {}
    names = ["0", "1"]
elif FORMAT == "empty":
    # Size 0: the reader probes it for content (the /proc case), then refuses it.
    path = os.path.join(tmp, "empty.csv")
    open(path, "w").close()
    expected, options, names = f"{path}: the file is empty (no header and no rows)", {}, []
else:
    path = os.path.join(tmp, "small.bin")
    rng.integers(-1000, 1000, size=4000, dtype="<i4").tofile(path)
    expected, options = np.fromfile(path, dtype="<i4"), {"dtype": "int32"}
    names = ["0"]
assert FORMAT == "empty" or os.path.getsize(path) > 3 * 4096
# Failures the reader ignores by design, when the result is unchanged: a page release is
# advisory. (A failed size-0 probe is the file's error: once it read as "no content".)
IGNORED = {"madvise"}

def run_once():
    """open + describe + every chunk + close."""
    if FORMAT == "empty":
        try:
            oxbridge.Dataset.open(path, **options)
        except oxbridge.DataFormatError as e:
            return str(e), None
        raise AssertionError("an empty file opened")
    with oxbridge.Dataset.open(path, **options) as ds:
        description = ds.describe()
        chunks = [np.array(c, copy=True) for c in ds.iter_chunks(rows=256)]
    return description, np.concatenate(chunks)

def check_result(description, data):
    if FORMAT == "empty":
        assert description == expected, description
        return
    assert data.shape == expected.shape and np.array_equal(data, expected), (data.shape, expected.shape)
    columns = expected.reshape(len(expected), -1)
    for i, name in enumerate(names):
        s, col = description[name], columns[:, i].astype(np.float64)
        assert s.count == len(col) and s.nan_count == 0, (name, s)
        assert s.min == col.min() and s.max == col.max(), (name, s)
        assert math.isclose(s.mean, col.mean(), rel_tol=1e-12, abs_tol=1e-12), (name, s.mean, col.mean())
        assert math.isclose(s.std, col.std(ddof=1), rel_tol=1e-9), (name, s.std)

def no_handles_left(baseline, when):
    gc.collect()
    live = lib.oxb_live_handles()
    assert live == baseline, f"{when}: {live - baseline} native handle(s) left alive"

baseline = lib.oxb_live_handles()
arm(0)
check_result(*run_once())
no_handles_left(baseline, "unarmed run")
unarmed_ops = lib.oxb_test_io_ops()

outcomes = []  # (n, op, "error" | "ignored")
n = 0
while True:
    n += 1
    assert n <= 10 * unarmed_ops + 10, f"no clean run after {n} faults"
    arm(n)
    result = None
    try:
        result = run_once()
    except OSError as e:
        op = failed_op()
        assert op, f"N={n}: {e!r} although no fault was injected"
        assert isinstance(e, oxbridge.IoError), f"N={n} ({op}): {type(e).__mro__}"
        assert e.errno == errno.EIO, f"N={n} ({op}): errno {e.errno}: {e!r}"
        assert e.filename == path and path in str(e), f"N={n} ({op}): {e!r}"
        outcomes.append((n, op, "error"))
    else:
        op = failed_op()
        check_result(*result)
        if not op:  # the run ended before the N-th operation: every point is done
            assert lib.oxb_test_io_ops() == n - 1, (lib.oxb_test_io_ops(), n)
            break
        assert op in IGNORED, f"N={n}: the failed {op} went unnoticed"
        outcomes.append((n, op, "ignored"))
    del result
    no_handles_left(baseline, f"after the fault at N={n} ({op})")
    arm(0)
    check_result(*run_once())
    no_handles_left(baseline, f"the unarmed run after N={n}")

arm(0)
os.remove(path)
os.rmdir(tmp)
print(json.dumps({"format": FORMAT, "points": n - 1, "unarmed_ops": unarmed_ops, "outcomes": outcomes}))
'''


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_file_operation_fails_cleanly(hooks_library, fmt):
    env = child_env(OXBRIDGE_LIBRARY=hooks_library, OXBRIDGE_NUM_THREADS="2", **{HOOKS_ENV: None})
    proc = run_child(python("-c", textwrap.dedent(CHILD), fmt), env=env, timeout=300)
    assert proc.returncode == 0, f"child failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert proc.stderr == "", f"the library (or the child) printed to stderr:\n{proc.stderr}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    outcomes = report["outcomes"]
    ops = sorted({op for _, op, _ in outcomes})
    # Opening does stat, open and mmap; describe re-stats; an empty file is probed instead.
    if fmt == "empty":
        assert {"stat", "open", "probe.open", "probe.read", "mmap"} <= set(ops), ops
    else:
        assert {"stat", "open", "mmap", "restat", "madvise"} <= set(ops), ops
    assert report["points"] == report["unarmed_ops"] == len(outcomes)
    R.record(
        "default",
        "I/O faults",
        f"fault_injection.{fmt}.points",
        report["points"],
        "fault points",
        errors=sum(1 for o in outcomes if o[2] == "error"),
        ignored=sum(1 for o in outcomes if o[2] == "ignored"),
        ops="/".join(ops),
    )
