"""Reliability: 16 Python threads at once on shared and private handles.

In a child interpreter (a deadlock trips its faulthandler watchdog, and the parent's
timeout kills it), 16 threads run a random mix for 3 s by default (60 s in long mode):
evaluate on a shared Expression and on private ones (bit-identical to the serial result),
`stats` (identical to the serial result), push + stats on a shared Accumulator (a push is
all or nothing; the final count and exact integer sum equal the pushes made) and on
private ones, describe on shared and private Datasets (CSV and .npy, equal to the serial
description), and failing calls: a syntax error, a missing file and an invalid handle,
whose exception - and the native last-error message read after other threads failed
meanwhile - must name this thread's own expression, path or handle (the last error is
per thread). Live handles return to where they started.
"""

from __future__ import annotations

import numpy as np
import pytest

import _reliability as R
from _helpers import run_child

THREADS = 16


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    R.flush(request.config, "threads")


@pytest.mark.parametrize("mode", R.modes())
def test_sixteen_threads_mixed_calls_shared_and_private_handles(request, mode, tmp_path):
    R.check_mode(request, mode)
    seconds = R.pick(mode, 3.0, 60.0)
    csv_path = tmp_path / "data.csv"
    R.write_csv(csv_path, 10)  # three scan chunks
    npy_path = tmp_path / "data.npy"
    np.save(npy_path, np.random.default_rng(15).random((200_000, 3)))
    child = run_child(
        R.command("child_threads", str(csv_path), str(npy_path), seconds, THREADS, 15), timeout=seconds + 120
    )
    assert not child.timed_out, "deadlock: " + child.describe()
    assert child.returncode == 0, child.describe()
    (r,) = child.json_lines()
    total = sum(r["counts"].values())
    R.record(
        mode,
        "threads",
        "threads.calls",
        total,
        "calls",
        threads=THREADS,
        seconds=round(r["seconds"], 2),
        per_kind=r["counts"],
    )
    R.record(
        mode,
        "threads",
        "threads.errors",
        r["error_count"],
        stuck_threads=r["stuck"],
        live_handles_start=r["live_start"],
        live_handles_end=r["live_end"],
    )
    assert r["stuck"] == 0, r
    assert r["error_count"] == 0, r["errors"]
    assert r["live_end"] == r["live_start"], r
    assert set(r["counts"]) == {
        "shared_expr",
        "private_expr",
        "stats",
        "shared_acc",
        "private_acc",
        "shared_csv",
        "shared_npy",
        "private_dataset",
        "bad_expression",
        "missing_file",
        "bad_handle",
    }, r
