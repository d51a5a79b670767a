"""Reliability: a file changed while describe scans it never crashes the process.

In a child interpreter (so a SIGBUS or any other signal shows as a negative returncode),
each trial opens a fresh copy of a CSV (24 MiB, six scan chunks) or an .npy file (64
MiB), starts describe, and another thread - after a random delay spread over the scan's
duration - truncates the file (to 0, a random length, or a random page boundary), renames
another file over it, or deletes it. Allowed outcomes: the complete result of the
unchanged file, or a clear oxbridge error (DataFormatError naming the truncation or the
shrinking, FileNotFoundError when the file is gone before the scan starts). A different
result, another exception or death by a signal fails. 15 trials per format by default, 100
in long mode; outcome counts are recorded (and whether the change landed during the scan).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

import _reliability as R
from _helpers import run_child

ALLOWED = {
    "complete",
    "oxbridge._errors.DataFormatError",
    "oxbridge._errors.FileNotFoundError",
}


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    R.flush(request.config, "files")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pristine")
    csv_path = folder / "data.csv"
    R.write_csv(csv_path, 24)
    npy_path = folder / "data.npy"
    np.save(npy_path, np.random.default_rng(10).random((4_000_000, 2)))
    return {"csv": csv_path, "npy": npy_path}


@pytest.mark.parametrize("mode", R.modes())
@pytest.mark.parametrize("fmt", ["csv", "npy"])
def test_file_truncated_replaced_or_deleted_during_a_scan(request, mode, fmt, pristine, tmp_path):
    R.check_mode(request, mode)
    trials = R.pick(mode, 15, 100)
    child = run_child(
        R.command("child_file_changes", fmt, str(pristine[fmt]), str(tmp_path), trials, 10), timeout=60 + 2 * trials
    )
    reports = child.json_lines()
    assert not child.timed_out, child.describe()
    assert child.returncode is not None and child.returncode >= 0, "died by a signal: " + child.describe()
    assert child.returncode == 0 and len(reports) == trials, child.describe()
    counts = collections.Counter((r["kind"], r["outcome"].rsplit(".", 1)[-1]) for r in reports)
    during = collections.Counter(r["kind"] for r in reports if r["when"] == "during")
    messages = collections.Counter()
    for r in reports:
        if r["outcome"] != "complete":
            text = r["message"]
            key = (
                "truncated while it was being read"
                if "truncated by another process" in text
                else "shrank since it was opened"
                if "shrank" in text
                else "no such file"
                if "No such file" in text
                else text[:80]
            )
            messages[key] += 1
    R.record(mode, "files changing", f"files.{fmt}.trials", trials, signal_deaths=0, changed_during_scan=dict(during))
    R.record(mode, "files changing", f"files.{fmt}.outcomes", {f"{k}:{o}": n for (k, o), n in sorted(counts.items())})
    R.record(mode, "files changing", f"files.{fmt}.error_messages", dict(messages))
    bad = [r for r in reports if r["outcome"] not in ALLOWED]
    assert not bad, bad
    # The errors are the clear ones, naming what happened.
    assert set(messages) <= {"truncated while it was being read", "shrank since it was opened", "no such file"}, (
        messages
    )
    # Renaming over the file or deleting it leaves the mapping intact: those scans complete
    # unless the change came before the scan began (then the error says so).
    assert during, "no change landed during a scan: the delays do not cover the scan"
