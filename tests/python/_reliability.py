"""Shared pieces of the reliability suite (tests/python/test_reliability_*.py).

- Two sizes: the default one, quick enough for `make test`, and the `long` one (the full
  counts: 10^6 handle cycles, 50 Ctrl-C trials...), selected with `-m long` or
  OXBRIDGE_LONG=1:

      .venv/bin/python -m pytest tests/python -m long -q

  Every scalable test is parametrized with `mode` = "default" or "long"; the long variant
  carries the `long` marker and is skipped unless the long mode is selected (`-m long`
  runs only the long variants; OXBRIDGE_LONG=1 runs them along with everything else).
- Figures: tests `record()` what they measure; each module's teardown merges its figures
  into build/reliability.json ({mode: {figure: {...}}}, so a RELIABILITY.md table can be
  made from the suite's own output) and prints them.
- Child processes: anything that may crash, hang, fork or be interrupted runs in a child
  (`_helpers.run_child`), under a watchdog that kills the child's whole process group. The
  code that runs there is the `child_*` functions below (`command("child_x", ...)` is
  `python -c "import _reliability as R; R.child_x(...)"`).
- `python tests/python/_reliability.py` prints build/reliability.json as a Markdown table.

This module imports only the standard library at the top, so children start fast.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from _helpers import python, run_child

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIGURES_PATH = ROOT / "build" / "reliability.json"
LONG_ENV = "OXBRIDGE_LONG"


# ---------------------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------------------


def modes() -> list[Any]:
    """Parameters for `@pytest.mark.parametrize("mode", modes())`."""
    import pytest

    return [pytest.param("default"), pytest.param("long", marks=pytest.mark.long)]


def long_selected(config: Any) -> bool:
    if os.environ.get(LONG_ENV, "") not in ("", "0"):
        return True
    expression = (config.getoption("markexpr", "") or "").replace("(", " ").replace(")", " ")
    words = expression.split()
    return "long" in words and not any(a == "not" and b == "long" for a, b in zip(words, words[1:]))


def check_mode(request: Any, mode: str) -> None:
    """Skips the long variant unless the long mode was asked for."""
    import pytest

    if mode == "long" and not long_selected(request.config):
        pytest.skip(f"long mode: run with -m long or {LONG_ENV}=1")


def pick(mode: str, default: Any, long: Any) -> Any:
    return long if mode == "long" else default


# ---------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------

_figures: dict[str, dict[str, dict[str, Any]]] = {}
_printed: set = set()


def record(mode: str, topic: str, name: str, value: Any, unit: str = "", **extra: Any) -> None:
    """Keeps one measured figure about `topic` (what it protects: "leaks", "Ctrl-C", "fork"...),
    e.g. record(mode, "Ctrl-C", "ctrl_c.describe.latency_p95", 0.12, "s", trials=8)."""
    entry = {"topic": topic, "value": value, "unit": unit, **extra}
    _figures.setdefault(mode, {})[name] = entry


def flush(config: Any, label: str) -> None:
    """Merges the figures into build/reliability.json and prints the new ones."""
    if not _figures:
        return
    try:
        data = json.loads(FIGURES_PATH.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    for mode, figures in _figures.items():
        section = data.setdefault(mode, {})
        for name, entry in figures.items():
            section[name] = {**entry, "measured": stamp}
    FIGURES_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = FIGURES_PATH.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, FIGURES_PATH)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines = []
    for mode, figures in sorted(_figures.items()):
        for name, entry in sorted(figures.items()):
            if (mode, name) in _printed:
                continue
            _printed.add((mode, name))
            extra = {k: v for k, v in entry.items() if k not in ("topic", "value", "unit")}
            more = "  " + ", ".join(f"{k}={_fmt(v)}" for k, v in extra.items()) if extra else ""
            lines.append(f"  [{mode}] {entry['topic']}: {name} = {_fmt(entry['value'])} {entry['unit']}{more}")
    if reporter is None or not lines:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else _nothing():
        reporter.write_line("")
        reporter.write_line(f"reliability figures ({label}) -> {FIGURES_PATH.relative_to(ROOT)}")
        for line in lines:
            reporter.write_line(line)


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# ---------------------------------------------------------------------------------------
# Children
# ---------------------------------------------------------------------------------------


def command(function: str, *args: Any) -> list[str]:
    """The command line of a child that runs _reliability.<function>(*args), for
    `_helpers.run_child` or `_helpers.started`."""
    return python("-c", f"import _reliability as R; R.{function}(*{tuple(args)!r})")


def emit(**fields: Any) -> None:
    """A child's report: one JSON line on stdout."""
    print(json.dumps(fields), flush=True)


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------------------------------
# Data files with independently known statistics
# ---------------------------------------------------------------------------------------


def write_csv(path: Any, megabytes: int) -> dict[str, Any]:
    """A CSV of `megabytes` 1 MiB blocks of records (columns id, value, qty, note; the note
    is quoted and holds a delimiter and a newline). Returns what its description must be,
    computed here from the generator, not by oxbridge: rows, exact sums, min and max."""
    rows, size, i = [], 0, 0
    while size < 1 << 20:
        row = f'{i},{i * 0.25},{(i * 7919) % 100_003},"note {i % 97}, x\ny"\n'
        rows.append(row)
        size += len(row)
        i += 1
    block = "".join(rows).encode()
    with open(path, "wb") as f:
        f.write(b"id,value,qty,note\n")
        f.writelines(block for _ in range(megabytes))
    n = i
    qty = [(k * 7919) % 100_003 for k in range(n)]
    return {
        "rows": megabytes * n,
        "id_sum": megabytes * n * (n - 1) // 2,
        "value_sum": megabytes * 0.25 * (n * (n - 1) // 2),  # multiples of 1/4 below 2**50: exact
        "qty_sum": megabytes * sum(qty),
        "id_max": n - 1,
        "qty_min": min(qty),
        "qty_max": max(qty),
        "bytes": len(b"id,value,qty,note\n") + megabytes * len(block),
    }


def check_csv_description(desc: Any, facts: dict[str, Any]) -> list[str]:
    """Differences between a Description of `write_csv`'s file and the generator's facts."""
    problems = []
    got = {
        "rows": desc.num_rows,
        "id_sum": desc["id"].sum,
        "value_sum": desc["value"].sum,
        "qty_sum": desc["qty"].sum,
        "id_max": desc["id"].max,
        "qty_min": desc["qty"].min,
        "qty_max": desc["qty"].max,
    }
    for key, value in got.items():
        if value != facts[key]:
            problems.append(f"{key}: {value!r} != {facts[key]!r}")
    if desc["note"].count != facts["rows"]:
        problems.append(f"note count {desc['note'].count} != {facts['rows']}")
    return problems


def plain(desc: Any) -> dict[str, Any]:
    """A Description as comparable data (NaN as None)."""
    return {
        c: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
        for c, d in desc.to_dict().items()
    }


# ---------------------------------------------------------------------------------------
# Lifecycle and leaks (run in a fresh interpreter: the counter starts at 0)
# ---------------------------------------------------------------------------------------


def child_lifecycle(kind: str, cycles: int, csv_path: str) -> None:
    import gc

    import oxbridge
    from oxbridge._loader import lib

    def make() -> Any:
        if kind == "accumulator":
            return oxbridge.Accumulator()
        if kind == "expression":
            return oxbridge.Expression("sqrt(x*x + 1) - x")
        if kind == "dataset":
            return oxbridge.Dataset.open(csv_path)
        raise ValueError(kind)

    def use(h: Any) -> None:
        if kind == "accumulator":
            h.push(data)
        elif kind == "expression":
            assert h.variables == ("x",)

    data = __import__("array").array("d", [1.0, 2.0, 3.0])
    live_start = lib.oxb_live_handles()
    for _ in range(min(cycles, 2000)):  # warm-up: allocator pools, caches, the handle table
        with make() as h:
            use(h)
    gc.collect()
    rss0 = rss_bytes()
    started = time.monotonic()
    third = cycles // 3
    # 1. close() (through `with`)
    for _ in range(third):
        with make() as h:
            use(h)
    # 2. GC only: the reference is dropped and the finalizer frees the handle.
    for _ in range(third):
        h = make()
        use(h)
    del h
    # 3. GC only, in reference cycles: freed by the cyclic collector.
    rest = cycles - 2 * third
    peak_live = 0
    for i in range(rest):
        h = make()
        h.cycle = h  # type: ignore[attr-defined]
        del h
        if i % 10_000 == 9_999:
            peak_live = max(peak_live, lib.oxb_live_handles())
            gc.collect()
    gc.collect()
    seconds = time.monotonic() - started
    emit(
        kind=kind,
        cycles=cycles,
        live_start=live_start,
        live_end=lib.oxb_live_handles(),
        peak_live=peak_live,
        rss_growth=rss_bytes() - rss0,
        seconds=seconds,
    )


def child_failures(kind: str, calls: int, workdir: str) -> None:
    import ctypes
    import gc

    import oxbridge
    from oxbridge import _bindings as b
    from oxbridge._loader import lib

    wd = Path(workdir)
    bad_npy = wd / "bad.npy"
    import numpy as np

    np.save(bad_npy, np.arange(100.0))
    os.truncate(bad_npy, 300)  # the header promises 800 bytes of data
    ragged = wd / "ragged.csv"
    ragged.write_text("a,b\n" + "1,2\n" * 1000 + "3\n")
    ragged_ds = oxbridge.Dataset.open(ragged)
    stats = b.oxb_stats()

    def fail(i: int) -> None:
        if kind == "bad_expression":
            try:
                oxbridge.Expression("2 * (x + ")
            except oxbridge.ExpressionError as e:
                if i % 1000 == 0:
                    assert "position" in str(e) or "^" in str(e), str(e)
                return
        elif kind == "missing_file":
            path = f"{wd}/missing-{i % 50}.csv"
            try:
                oxbridge.Dataset.open(path)
            except FileNotFoundError as e:
                assert isinstance(e, oxbridge.IoError) and e.filename == path, (e, path)
                return
        elif kind == "invalid_handle":
            handle = (7 << 32) | (1_000_000 + i % 50)
            status = lib.oxb_accumulator_stats(handle, ctypes.byref(stats))
            assert status == b.OXB_INVALID_HANDLE, status
            if i % 1000 == 0:
                assert b"not live" in lib.oxb_last_error_message()
            return
        elif kind == "bad_npy":
            try:
                oxbridge.Dataset.open(bad_npy)
            except oxbridge.DataFormatError as e:
                assert e.path == str(bad_npy), e
                return
        elif kind == "ragged_csv":
            try:
                ragged_ds.describe()
            except oxbridge.DataFormatError as e:
                assert e.line == 1002, (e, e.line)
                return
        raise AssertionError(f"{kind}: call {i} did not fail")

    live_start = lib.oxb_live_handles()
    for i in range(min(calls, 2000)):
        fail(i)
    gc.collect()
    rss0 = rss_bytes()
    started = time.monotonic()
    for i in range(calls):
        fail(i)
    gc.collect()
    seconds = time.monotonic() - started
    emit(
        kind=kind,
        calls=calls,
        live_start=live_start,
        live_end=lib.oxb_live_handles(),
        rss_growth=rss_bytes() - rss0,
        seconds=seconds,
    )
    ragged_ds.close()


# ---------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------


def child_ctrl_c_describe(path: str, trials: int, facts_json: str) -> None:
    """For each trial: says "ready", then describes `path` over and over until SIGINT;
    reports when KeyboardInterrupt was caught (CLOCK_MONOTONIC, comparable with the
    parent's), whether it came out of describe, and whether the same handle then gives
    the right description again."""
    import traceback

    import oxbridge

    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive session
    facts = json.loads(facts_json)
    with oxbridge.Dataset.open(path) as ds:
        for trial in range(trials):
            print("ready", flush=True)
            scans, problems = 0, []
            try:
                while True:
                    desc = ds.describe()
                    problems += check_csv_description(desc, facts)  # every scan after an interrupt
                    scans += 1
            except KeyboardInterrupt as error:
                caught = time.monotonic()
                frames = [f.name for f in traceback.extract_tb(error.__traceback__)]
            if trial == trials - 1:  # the last interrupt too
                problems += check_csv_description(ds.describe(), facts)
            emit(
                trial=trial,
                caught=caught,
                in_describe="describe" in frames,
                frames=frames[-3:],
                scans=scans,
                reuse_problems=problems,
            )


def child_ctrl_c_call(kinds: Sequence[str], trials: int) -> None:
    """A long evaluate or parallel_map (of a native C function) in a loop until SIGINT,
    `trials` times for each kind. These calls have no progress callback, so the interrupt
    can only be seen when the call returns; reports when KeyboardInterrupt was caught and
    how long one call takes."""
    import ctypes
    import ctypes.util

    import numpy as np

    import oxbridge

    signal.signal(signal.SIGINT, signal.default_int_handler)
    e = oxbridge.Expression("sqrt(x*x + 1) * sin(x) + log1p(x) * cos(x) + arctan(x) * exp(-x)")
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
    small, large = np.linspace(0.0, 1.0, 4_000_000), np.linspace(0.0, 1.0, 10_000_000)
    calls = {"evaluate": lambda: e(small), "parallel_map": lambda: oxbridge.parallel_map(libm.cos, large)}
    for kind in kinds:
        call = calls[kind]
        call()
        started = time.monotonic()
        call()
        call_seconds = time.monotonic() - started
        for trial in range(trials):
            print(json.dumps({"ready": kind, "call_seconds": call_seconds}), flush=True)
            try:
                while True:
                    call()
            except KeyboardInterrupt:
                caught = time.monotonic()
            emit(kind=kind, trial=trial, caught=caught, call_seconds=call_seconds)


# ---------------------------------------------------------------------------------------
# Fork
# ---------------------------------------------------------------------------------------


def _fork_check(a: Any, expected_sum: float, csv_path: str, facts: dict[str, Any]) -> list[str]:
    """Parallel work in a child, checked against values computed by the parent."""
    import numpy as np

    import oxbridge

    problems = []
    doubled = oxbridge.evaluate("2 * a + 1", a=a)
    if not np.array_equal(doubled, 2 * a + 1):
        problems.append("evaluate")
    s = oxbridge.stats(a)
    if (s.count, s.sum) != (a.size, expected_sum):
        problems.append(f"stats {s.count} {s.sum} != {a.size} {expected_sum}")
    mapped = oxbridge.parallel_map("x * 10", a)
    if not np.array_equal(mapped, a * 10):
        problems.append("parallel_map")
    if csv_path:
        with oxbridge.Dataset.open(csv_path) as ds:
            problems += check_csv_description(ds.describe(), facts)
    return problems


def _wait(pid: int, timeout: float) -> Any:
    """waitpid with a watchdog: the child's exit status, or "hang" (it is then killed)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):
                return f"signal {os.WTERMSIG(status)}"
            return os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hang"
        time.sleep(0.002)


def _fork_and_check(a: Any, expected_sum: float, csv_path: str, facts: dict[str, Any], timeout: float) -> Any:
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            problems = _fork_check(a, expected_sum, csv_path, facts)
            if problems:
                print(json.dumps({"child_problems": problems}), flush=True)
            code = 1 if problems else 0
        except BaseException as error:  # noqa: BLE001 - report, never return into the parent's code
            print(json.dumps({"child_error": repr(error)}), flush=True)
        finally:
            os._exit(code)
    return _wait(pid, timeout)


def child_fork_plain(csv_path: str, facts_json: str) -> None:
    """os.fork() after parallel work in the parent: the pool exists and is busy-free."""
    import numpy as np

    facts = json.loads(facts_json)
    a = np.arange(1_000_000, dtype=np.float64)
    expected = float(a.sum())
    assert not _fork_check(a, expected, csv_path, facts)  # the parent's pool is built
    started = time.monotonic()
    outcome = _fork_and_check(a, expected, csv_path, facts, timeout=15)
    emit(outcome=outcome, seconds=time.monotonic() - started, parent_ok=not _fork_check(a, expected, "", facts))


def mp_worker(args: Any) -> Any:
    """multiprocessing worker: parallel work on its chunk (run in the pool's processes)."""
    import numpy as np

    import oxbridge

    start, stop = args
    a = np.arange(start, stop, dtype=np.float64)
    s = oxbridge.stats(a)
    e = oxbridge.evaluate("a * 2 + 1", a=a)
    return os.getpid(), s.count, s.sum, float(e.sum()), oxbridge.get_num_threads()


def child_fork_multiprocessing(method: str) -> None:
    import multiprocessing

    import numpy as np

    import oxbridge

    a = np.arange(2_000_000, dtype=np.float64)
    assert oxbridge.stats(a).sum == float(a.sum())  # parallel work first: the pool exists
    chunks = [(i * 500_000, (i + 1) * 500_000) for i in range(4)]
    started = time.monotonic()
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        results = pool.map(mp_worker, chunks)
    problems = []
    for (start, stop), (pid, count, total, e_sum, threads) in zip(chunks, results):
        b = np.arange(start, stop, dtype=np.float64)
        if pid == os.getpid():
            problems.append("ran in the parent")
        if count != b.size or total != float(b.sum()) or e_sum != float((b * 2 + 1).sum()):
            problems.append(f"chunk {start}: {count} {total} {e_sum}")
        if threads < 1:
            problems.append(f"threads {threads}")
    emit(method=method, problems=problems, seconds=time.monotonic() - started, children=len({r[0] for r in results}))


def child_fork_during_call(csv_path: str, facts_json: str, forks: int, seed: int) -> None:
    """Forks while other threads of the parent are inside long native calls (a describe
    of a large CSV, a long evaluate) or rebuild the pool (set_num_threads + parallel work)
    or create and destroy handles; each child does parallel work and checks it."""
    import random
    import threading

    import numpy as np

    import oxbridge

    facts = json.loads(facts_json)
    rng = random.Random(seed)
    a = np.arange(1_000_000, dtype=np.float64)
    expected = float(a.sum())
    stop = threading.Event()
    busy = {"describe": 0, "evaluate": 0}

    def describing() -> None:
        with oxbridge.Dataset.open(csv_path) as ds:
            while not stop.is_set():
                ds.describe(progress=lambda d, t: None)
                busy["describe"] += 1

    def evaluating() -> None:
        big = np.random.default_rng(1).random(8_000_000)
        e = oxbridge.Expression("sqrt(x*x + 1) * sin(x)")
        while not stop.is_set():
            e(big)
            busy["evaluate"] += 1

    threads = [threading.Thread(target=describing, daemon=True), threading.Thread(target=evaluating, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    outcomes: dict[str, int] = {}
    started = time.monotonic()
    for _ in range(forks):
        time.sleep(rng.uniform(0.0, 0.15))
        outcome = str(_fork_and_check(a, expected, csv_path if rng.random() < 0.3 else "", facts, timeout=15))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    stop.set()
    for t in threads:
        t.join(30)
    emit(outcomes=outcomes, seconds=time.monotonic() - started, busy=busy)


def child_fork_churn(what: str, forks: int) -> None:
    """Forks in a tight loop while two threads churn a lock of the library: "pool"
    (set_num_threads then parallel work: the pool slot) or "handles" (create and destroy
    handles: the handle table). The child then needs the same lock."""
    import threading

    import numpy as np

    import oxbridge

    a = np.arange(100_000, dtype=np.float64)
    expected = float(a.sum())
    oxbridge.stats(a)
    stop = threading.Event()

    def churn(k: int) -> None:
        x = np.ones(40_000)
        i = k
        while not stop.is_set():
            if what == "pool":
                oxbridge.set_num_threads(1 + i % 2)
                oxbridge.stats(x)
            else:
                oxbridge.Accumulator().close()
            i += 1

    threads = [threading.Thread(target=churn, args=(k,), daemon=True) for k in range(2)]
    cores = _enable_core_dumps()
    for t in threads:
        t.start()
    time.sleep(0.05)
    outcomes: dict[str, int] = {}
    backtraces: list[str] = []
    started = time.monotonic()
    for _ in range(forks):
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                with oxbridge.Accumulator() as acc:
                    acc.push(a)
                    ok = acc.stats().sum == expected and oxbridge.stats(a).sum == expected
                code = 0 if ok else 1
            finally:
                os._exit(code)
        outcome = str(_wait(pid, timeout=3))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome.startswith("signal") and cores and len(backtraces) < 3:
            backtraces.append(_backtrace(cores, pid))
    stop.set()
    for t in threads:
        t.join(10)
    oxbridge.set_num_threads(0)
    if cores:
        import shutil

        os.chdir("/")
        shutil.rmtree(cores, ignore_errors=True)
    emit(what=what, outcomes=outcomes, seconds=time.monotonic() - started, backtraces=backtraces)


def _enable_core_dumps() -> str | None:
    """Lets forked children that die by a signal leave a core file, for `_backtrace`:
    returns the folder they go to (this process's working directory is moved there), or
    None where cores go elsewhere (a piped core_pattern) or gdb is missing."""
    import resource
    import shutil
    import tempfile

    try:
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
    except OSError:
        return None
    if pattern.startswith("|") or "/" in pattern or not shutil.which("gdb"):
        return None
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    folder = tempfile.mkdtemp(prefix="oxbridge-cores-")
    os.chdir(folder)
    return folder


def _backtrace(folder: str, pid: int) -> str:
    """The native stack of every thread of a dead child, from its core file (then deleted)."""
    import glob

    cores = sorted(glob.glob(os.path.join(folder, "core*")), key=os.path.getmtime)
    if not cores:
        return f"child {pid}: no core file"
    try:
        out = run_child(
            ["gdb", "-batch", "-nx", "-ex", "thread apply all bt 25", sys.executable, cores[-1]], timeout=120
        ).stdout
    except OSError as e:
        out = f"gdb failed: {e}"
    finally:
        for core in cores:
            os.unlink(core)
    frames = [line for line in out.splitlines() if line.startswith(("#", "Thread", "Program terminated"))]
    return f"child {pid}:\n" + "\n".join(frames[:80])


# ---------------------------------------------------------------------------------------
# Files changing during a scan
# ---------------------------------------------------------------------------------------


def _change_file(kind: str, path: Path, spare: Path, cut: int, delay: float, changed_at: list[float]) -> None:
    """After `delay` seconds, truncates `path` to `cut` bytes, renames `spare` over it or
    deletes it; appends when to `changed_at`."""
    time.sleep(delay)
    if kind == "truncate":
        os.truncate(path, cut)
    elif kind == "replace":
        os.replace(spare, path)
    else:
        os.unlink(path)
    changed_at.append(time.monotonic())


def child_file_changes(fmt: str, pristine: str, workdir: str, trials: int, seed: int) -> None:
    """Per trial: a fresh copy of `pristine` is opened, and while describe scans it another
    thread truncates it, renames another file over it, or deletes it, after a random
    delay spread over the scan's duration. Each trial reports its outcome: "complete"
    (the result equals the unchanged file's), "WRONG" (anything else), or the error."""
    import random
    import shutil
    import threading

    import numpy as np

    import oxbridge

    rng = random.Random(seed)
    wd = Path(workdir)
    with oxbridge.Dataset.open(pristine) as ds:
        expected = plain(ds.describe())
        started = time.monotonic()
        for _ in range(3):
            ds.describe()
        scan_seconds = (time.monotonic() - started) / 3
    size = os.path.getsize(pristine)
    replacement = wd / f"replacement.{fmt}"
    if fmt == "csv":
        replacement.write_text("id,value,qty,note\n1,2,3,x\n")
    else:
        np.save(replacement, np.arange(10.0))
    kinds = ["truncate", "replace", "delete"]
    for trial in range(trials):
        kind = kinds[trial % 3]
        path = wd / f"trial.{fmt}"
        shutil.copyfile(pristine, path)
        spare = wd / f"spare.{fmt}"
        shutil.copyfile(replacement, spare)
        delay = rng.uniform(0.0, 1.2 * scan_seconds)
        cut = rng.choice([0, rng.randrange(size), rng.randrange(size // 4096 + 1) * 4096])
        changed_at: list[float] = []
        ds = oxbridge.Dataset.open(path)
        changer = threading.Thread(target=_change_file, args=(kind, path, spare, cut, delay, changed_at))
        begin = time.monotonic()
        changer.start()
        try:
            outcome = "complete" if plain(ds.describe()) == expected else "WRONG"
            message = ""
        except Exception as error:  # noqa: BLE001 - classified by the parent
            outcome = f"{type(error).__module__}.{type(error).__name__}"
            message = str(error)
        end = time.monotonic()
        changer.join()
        ds.close()
        when = "during" if begin <= changed_at[0] <= end else "after"
        emit(
            trial=trial,
            kind=kind,
            outcome=outcome,
            message=message[:300],
            when=when,
            cut=cut if kind == "truncate" else None,
            size=size,
        )
        for p in (path, spare):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


# ---------------------------------------------------------------------------------------
# Many threads at once
# ---------------------------------------------------------------------------------------


def child_threads(csv_path: str, npy_path: str, seconds: float, threads: int, seed: int) -> None:
    """`threads` Python threads run a random mix of calls on shared and private handles for
    `seconds`, each result compared with the one computed serially before; failing calls
    check that the error (and the native last-error message) is the thread's own."""
    import ctypes
    import faulthandler
    import random
    import threading

    import numpy as np

    import oxbridge
    from oxbridge import _bindings as b
    from oxbridge._loader import lib

    faulthandler.dump_traceback_later(seconds + 60, exit=True)  # a deadlock: stacks, then exit 1
    rng0 = np.random.default_rng(seed)
    x = rng0.random(300_000)
    y = rng0.random(300_000)
    small = rng0.random(1000)
    ints = rng0.integers(-1000, 1000, 100_000).astype(np.float64)  # exact sums in any order
    source = "sqrt(x*x + y*y) + where(x > 0.5, log1p(x), -y)"

    live_start = lib.oxb_live_handles()
    shared_expr = oxbridge.Expression(source)
    shared_csv = oxbridge.Dataset.open(csv_path)
    shared_npy = oxbridge.Dataset.open(npy_path)
    shared_acc = oxbridge.Accumulator()

    # The serial answers.
    want_expr = shared_expr(x, y)
    want_small = shared_expr(small, small)
    want_stats = oxbridge.stats(x)
    want_csv = plain(shared_csv.describe())
    want_npy = plain(shared_npy.describe())
    with oxbridge.Accumulator() as acc:
        for _ in range(3):
            acc.push(ints)
        want_acc = acc.stats()

    def same_stats(s: Any, t: Any) -> bool:
        return (s.count, s.nan_count, s.sum, s.mean, s.var, s.min, s.max) == (
            t.count,
            t.nan_count,
            t.sum,
            t.mean,
            t.var,
            t.min,
            t.max,
        )

    deadline = time.monotonic() + seconds
    counts: dict[str, int] = {}
    errors: list[str] = []
    shared_pushes = [0]
    lock = threading.Lock()

    def run(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        mine: dict[str, int] = {}
        stats_out = b.oxb_stats()
        ops = [
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
        ]
        try:
            while time.monotonic() < deadline:
                op = rng.choice(ops)
                mine[op] = mine.get(op, 0) + 1
                if op == "shared_expr":
                    if not np.array_equal(shared_expr(x, y), want_expr):
                        errors.append(f"{k} shared_expr")
                    if not np.array_equal(shared_expr(small, small), want_small):
                        errors.append(f"{k} shared_expr small")
                elif op == "private_expr":
                    with oxbridge.Expression(source) as e:
                        if not np.array_equal(e(x, y), want_expr):
                            errors.append(f"{k} private_expr")
                elif op == "stats":
                    if not same_stats(oxbridge.stats(x), want_stats):
                        errors.append(f"{k} stats")
                elif op == "shared_acc":
                    shared_acc.push(ints)
                    with lock:
                        shared_pushes[0] += 1
                    s = shared_acc.stats()
                    if s.count % ints.size:  # a push is all or nothing
                        errors.append(f"{k} shared_acc torn count {s.count}")
                elif op == "private_acc":
                    with oxbridge.Accumulator() as acc:
                        for _ in range(3):
                            acc.push(ints)
                        if not same_stats(acc.stats(), want_acc):
                            errors.append(f"{k} private_acc")
                elif op == "shared_csv":
                    if plain(shared_csv.describe()) != want_csv:
                        errors.append(f"{k} shared_csv")
                elif op == "shared_npy":
                    if plain(shared_npy.describe()) != want_npy:
                        errors.append(f"{k} shared_npy")
                elif op == "private_dataset":
                    with oxbridge.Dataset.open(npy_path if rng.random() < 0.5 else csv_path) as ds:
                        got = plain(ds.describe())
                        if got not in (want_npy, want_csv):
                            errors.append(f"{k} private_dataset")
                elif op == "bad_expression":
                    text = f"x + {k} * (y"  # the position names this thread's expression
                    try:
                        oxbridge.Expression(text)
                        errors.append(f"{k} bad expression accepted")
                    except oxbridge.ExpressionError as error:
                        if text not in str(error):
                            errors.append(f"{k} expression error of another thread: {error}")
                elif op == "missing_file":
                    path = f"/nonexistent/thread-{k}/{rng.random()}.csv"
                    try:
                        oxbridge.Dataset.open(path)
                        errors.append(f"{k} missing file opened")
                    except FileNotFoundError as error:
                        if error.filename != path or path not in str(error):
                            errors.append(f"{k} file error of another thread: {error}")
                elif op == "bad_handle":
                    handle = (0x5EED << 32) | (0x100000 + k)
                    status = lib.oxb_accumulator_stats(handle, ctypes.byref(stats_out))
                    time.sleep(0.001)  # other threads fail meanwhile
                    message = (lib.oxb_last_error_message() or b"").decode()
                    if status != b.OXB_INVALID_HANDLE or f"{handle:#x}" not in message:
                        errors.append(f"{k} last error of another thread: {status} {message}")
        except BaseException as error:  # noqa: BLE001 - counted as an error of this thread
            errors.append(f"{k} raised {error!r}")
        with lock:
            for op, n in mine.items():
                counts[op] = counts.get(op, 0) + n

    started = time.monotonic()
    workers = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(seconds + 30)
    stuck = sum(t.is_alive() for t in workers)
    elapsed = time.monotonic() - started
    final = shared_acc.stats()
    want_count = shared_pushes[0] * ints.size
    want_sum = shared_pushes[0] * float(ints.sum())
    if (final.count, final.sum) != (want_count, want_sum):
        errors.append(f"shared accumulator {final.count} {final.sum} != {want_count} {want_sum}")
    for h in (shared_expr, shared_csv, shared_npy, shared_acc):
        h.close()
    emit(
        counts=counts,
        errors=errors[:20],
        error_count=len(errors),
        stuck=stuck,
        seconds=elapsed,
        live_start=live_start,
        live_end=lib.oxb_live_handles(),
        shared_pushes=shared_pushes[0],
    )
    faulthandler.cancel_dump_traceback_later()


# ---------------------------------------------------------------------------------------
# Interpreter exit during a native call
# ---------------------------------------------------------------------------------------


def child_shutdown(kind: str, csv_path: str, npy_path: str, delay: float) -> None:
    """Starts daemon threads inside long native calls, then lets the interpreter exit
    while they are still running; the parent times the exit."""
    import ctypes
    import ctypes.util
    import threading

    import numpy as np

    import oxbridge

    inside = threading.Event()

    def describe(progress: Any) -> None:
        with oxbridge.Dataset.open(csv_path) as ds:
            while True:
                inside.set()
                ds.describe(progress=progress)

    def evaluate() -> None:
        a = np.random.default_rng(0).random(10_000_000)
        e = oxbridge.Expression("sqrt(x*x + 1) * sin(x) + cos(x)")
        while True:
            inside.set()
            e(a)

    def parallel_map() -> None:
        libm = ctypes.CDLL(ctypes.util.find_library("m"))
        libm.cos.restype, libm.cos.argtypes = ctypes.c_double, [ctypes.c_double]
        a = np.random.default_rng(0).random(10_000_000)
        while True:
            inside.set()
            oxbridge.parallel_map(libm.cos, a)

    def npy_chunks() -> None:
        ds = oxbridge.Dataset.open(npy_path)  # never closed: the chunks are zero-copy views of its mapping
        while True:
            for chunk in ds.iter_chunks(rows=500_000):
                inside.set()
                chunk.sum()

    targets = {
        "describe": [lambda: describe(None)],
        "describe_callback": [lambda: describe(lambda done, total: None)],
        "evaluate": [evaluate],
        "parallel_map": [parallel_map],
        "npy_chunks": [npy_chunks],
        "all": [lambda: describe(lambda d, t: None), evaluate, parallel_map, lambda: describe(None), npy_chunks],
    }[kind]
    for target in targets:
        threading.Thread(target=target, daemon=True).start()
    inside.wait(10)
    time.sleep(delay)
    print(json.dumps({"exiting": time.monotonic()}), flush=True)
    # The interpreter exits here with the daemon threads inside native calls.


# ---------------------------------------------------------------------------------------
# The table: `python tests/python/_reliability.py` prints build/reliability.json as Markdown
# ---------------------------------------------------------------------------------------


def markdown_table(data: dict[str, Any] | None = None) -> str:
    if data is None:
        data = json.loads(FIGURES_PATH.read_text())
    topics: dict[str, str] = {}
    for key in ("topic", "item"):  # figures measured before they had topics have item numbers
        for figures in data.values():
            for name, entry in figures.items():
                if key in entry:
                    topics.setdefault(name, str(entry[key]))
    names = sorted(topics, key=lambda n: (topics[n].lower(), n))
    columns = [m for m in ("default", "long") if m in data] + sorted(set(data) - {"default", "long"})
    lines = ["| topic | figure | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for name in names:
        cells = []
        for mode in columns:
            entry = data[mode].get(name)
            if entry is None:
                cells.append("")
                continue
            extra = {k: v for k, v in entry.items() if k not in ("topic", "item", "value", "unit", "measured")}
            text = f"{_fmt(entry['value'])} {entry['unit']}".strip()
            if extra:
                text += " (" + ", ".join(f"{k} {_fmt(v)}" for k, v in extra.items()) + ")"
            cells.append(text.replace("|", "/"))
        lines.append(f"| {topics[name]} | `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
