"""Reliability: handle lifecycles and failing calls leak nothing.

Each run is a fresh interpreter (`_reliability.child_lifecycle/child_failures`), so the
live-handle counter (`oxb_live_handles`) starts at 0 and the resident set (from
/proc/self/statm) is not disturbed by the rest of the suite. The failing calls: an
expression syntax error, a missing file, an invalid handle (raw C call), a truncated
.npy, a CSV with a ragged row (the error comes from the parallel scan).

Bounds: after N create/destroy cycles (a third closed with `with`, a third dropped for
the finalizer, a third dropped in reference cycles for the cyclic GC) the counter is back
at 0 and RSS grew less than 4 MiB + 4 bytes per cycle; after N failing calls, less than
4 MiB + 4 bytes per call. A leaked native object (the smallest is tens of bytes plus
its table entry) would exceed that at these counts. Counts (default / long mode, `-m
long`): 10^5 / 10^6 cycles of Accumulator and of Expression, 10^4 / 2*10^5 of Dataset;
2*10^4 / 10^5 failing calls of each kind (2*10^3 / 2*10^4 failing scans).
"""

from __future__ import annotations

import json

import numpy  # noqa: F401  (the suite needs numpy; skipped without it)
import pytest

import _reliability as R
from _helpers import run_child

# (default, long) counts
KINDS = {"accumulator": (100_000, 1_000_000), "expression": (100_000, 1_000_000), "dataset": (10_000, 200_000)}
FAILURES = {
    "bad_expression": (20_000, 100_000),
    "missing_file": (20_000, 100_000),
    "invalid_handle": (20_000, 100_000),
    "bad_npy": (20_000, 100_000),
    "ragged_csv": (2_000, 20_000),
}  # a failing scan costs ~0.3 ms
SLACK = 4 << 20
PER_CALL = 4


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    R.flush(request.config, "lifecycle")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("lifecycle") / "small.csv"
    path.write_text("a,b\n1,2.5\n3,4.5\n")
    return path


@pytest.mark.parametrize("mode", R.modes())
@pytest.mark.parametrize("kind", list(KINDS))
def test_create_destroy_cycles_leave_no_handle_and_no_memory(request, mode, kind, small_csv):
    R.check_mode(request, mode)
    cycles = R.pick(mode, *KINDS[kind])
    child = run_child(R.command("child_lifecycle", kind, cycles, str(small_csv)), timeout=600)
    assert child.returncode == 0, child.describe()
    (r,) = child.json_lines()
    bound = SLACK + PER_CALL * cycles
    R.record(mode, "leaks", f"lifecycle.{kind}.cycles", cycles)
    R.record(mode, "leaks", f"lifecycle.{kind}.live_handles_after", r["live_end"])
    R.record(
        mode,
        "leaks",
        f"lifecycle.{kind}.rss_growth",
        round(r["rss_growth"] / 2**20, 3),
        "MiB",
        bound_mib=round(bound / 2**20, 2),
    )
    R.record(mode, "leaks", f"lifecycle.{kind}.us_per_cycle", round(r["seconds"] / cycles * 1e6, 2), "us")
    assert r["live_start"] == 0 and r["live_end"] == 0, r
    assert r["rss_growth"] < bound, json.dumps(r)


@pytest.mark.parametrize("mode", R.modes())
@pytest.mark.parametrize("kind", list(FAILURES))
def test_failing_calls_do_not_grow_memory(request, mode, kind, tmp_path):
    R.check_mode(request, mode)
    calls = R.pick(mode, *FAILURES[kind])
    child = run_child(R.command("child_failures", kind, calls, str(tmp_path)), timeout=600)
    assert child.returncode == 0, child.describe()
    (r,) = child.json_lines()
    bound = SLACK + PER_CALL * calls
    R.record(mode, "leaks", f"failures.{kind}.calls", calls)
    R.record(
        mode,
        "leaks",
        f"failures.{kind}.rss_growth",
        round(r["rss_growth"] / 2**20, 3),
        "MiB",
        bound_mib=round(bound / 2**20, 2),
    )
    R.record(mode, "leaks", f"failures.{kind}.us_per_call", round(r["seconds"] / calls * 1e6, 2), "us")
    assert r["live_end"] == r["live_start"], r  # the ragged CSV's dataset stays open: 1 and 1
    assert r["rss_growth"] < bound, json.dumps(r)
