"""Reliability: the library stays usable after fork().

Every scenario runs in a child interpreter under a 20 s watchdog (its whole process
group is killed), so a deadlock fails the test instead of hanging it; forked children
have their own 15 s (3 s in the churn tests) watchdog inside it. A forked child does
parallel work (evaluate, stats, parallel_map over 10^6 elements, and for some a describe
of a multi-chunk CSV) and checks it against numpy and the CSV generator's numbers.

- os.fork() and multiprocessing's fork, spawn and forkserver contexts, after the parent
  built its pool;
- fork while other threads of the parent are inside long native calls (a describe, a
  long evaluate): 5 forks by default, 50 in long mode;
- fork while other threads keep rebuilding the pool (set_num_threads + parallel work):
  the pool's slot used to be a parking_lot mutex held while the pool was built, and a
  child forked meanwhile deadlocked in its first parallel call (1% to 12% of forks);
  it is now a ForkLock, taken around fork() by pthread_atfork handlers
  (src/runtime/fork_lock.rs): 0 of 2000. 150 forks by default, 2000 in long mode;
- fork while other threads create and destroy handles: the handle table (src/ffi/
  handles.rs) was a parking_lot RwLock, and a child forked while another thread held it
  hung on its first handle creation (18 of 2000 forks); it is a ForkLock now too.
"""

from __future__ import annotations

import json

import numpy  # noqa: F401  (the suite needs numpy; skipped without it)
import pytest

import _reliability as R
from _helpers import run_child

WATCHDOG = 20.0


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    R.flush(request.config, "fork")


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fork") / "data.csv"
    facts = R.write_csv(path, 24)  # six 4 MiB scan chunks
    yield str(path), json.dumps(facts)
    path.unlink()


def test_os_fork_after_parallel_work(csv_file):
    child = run_child(R.command("child_fork_plain", *csv_file), timeout=WATCHDOG)
    assert child.returncode == 0 and not child.timed_out, child.describe()
    (r,) = child.json_lines()
    R.record("default", "fork", "fork.os_fork.child_seconds", round(r["seconds"], 3), "s", outcome=r["outcome"])
    assert r["outcome"] == 0 and r["parent_ok"], child.describe()


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_contexts_after_parallel_work(method):
    child = run_child(R.command("child_fork_multiprocessing", method), timeout=WATCHDOG)
    assert child.returncode == 0 and not child.timed_out, child.describe()
    (r,) = child.json_lines()
    R.record(
        "default",
        "fork",
        f"fork.multiprocessing_{method}.seconds",
        round(r["seconds"], 3),
        "s",
        processes=r["children"],
        problems=len(r["problems"]),
    )
    assert r["problems"] == [], r


@pytest.mark.parametrize("mode", R.modes())
def test_fork_while_other_threads_are_inside_long_native_calls(request, mode, csv_file):
    R.check_mode(request, mode)
    forks = R.pick(mode, 5, 50)
    child = run_child(R.command("child_fork_during_call", *csv_file, forks, 9), timeout=WATCHDOG + 4 * forks)
    assert child.returncode == 0 and not child.timed_out, child.describe()
    (r,) = child.json_lines()
    R.record(
        mode, "fork", "fork.during_native_calls.forks", forks, outcomes=r["outcomes"], parent_calls_during=r["busy"]
    )
    assert r["outcomes"] == {"0": forks}, child.describe()
    assert r["busy"]["describe"] >= 1 and r["busy"]["evaluate"] >= 1, r  # the calls really ran


@pytest.mark.parametrize("mode", R.modes())
def test_fork_while_other_threads_rebuild_the_pool(request, mode):
    R.check_mode(request, mode)
    forks = R.pick(mode, 150, 2000)
    child = run_child(R.command("child_fork_churn", "pool", forks), timeout=WATCHDOG + 0.1 * forks)
    assert child.returncode == 0 and not child.timed_out, child.describe()
    (r,) = child.json_lines()
    R.record(mode, "fork", "fork.pool_churn.forks", forks, outcomes=r["outcomes"], backtraces=r["backtraces"])
    # Every child ends well: no hang, no wrong result, no death by a signal. Until the
    # library held forks off while it creates threads (fork_lock::spawning), about one
    # child in a few hundred aborted with "double free or corruption": glibc's
    # pthread_create frees a reused stack's TLS blocks outside its lock, and a child
    # forked in that window frees them again. A child that dies by a signal leaves a core,
    # and the native backtraces of the first three are in the failure message.
    assert r["outcomes"] == {"0": forks}, child.describe() + "\n" + "\n\n".join(r["backtraces"])


@pytest.mark.parametrize("mode", R.modes())
def test_fork_while_other_threads_churn_handles(request, mode):
    R.check_mode(request, mode)
    forks = R.pick(mode, 150, 2000)
    child = run_child(R.command("child_fork_churn", "handles", forks), timeout=WATCHDOG + 3.5 * forks)
    assert child.returncode == 0 and not child.timed_out, child.describe()
    (r,) = child.json_lines()
    R.record(mode, "fork", "fork.handle_churn.forks", forks, outcomes=r["outcomes"])
    assert r["outcomes"] == {"0": forks}, child.describe()
