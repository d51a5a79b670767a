"""Dataset.describe side by side with polars and pandas, in one run, on files it writes.

1. A CSV of 11 numeric columns (7 float columns with up to 6 significant digits, one of
   full-precision floats as pandas `to_csv` and polars `write_csv` write them, 17 significant
   digits at most, and 3 int columns), 10 million rows by default (about 1.1 GB;
   `--rows 1000000` for a quick run).
2. The file is read once so the page cache is warm for every tool.
3. Each tool runs in a fresh subprocess per run (best of 3): `oxbridge.Dataset.open(path)
   .describe()`, polars `scan_csv(...).select(count, mean, std, min, max of every column)
   .collect(engine="streaming")`, and `pandas.read_csv(path).describe()`. Their results
   must agree (rtol 1e-9). Prints times, peak RSS and the ratios against the targets.
   Then the full summaries people compare describe with: polars `read_csv(path).describe()`
   (percentiles included) and DuckDB `SUMMARIZE SELECT * FROM read_csv(path)` (approximate
   distinct counts and quartiles), against oxbridge's full describe (quantiles, distinct
   counts, top values, histograms): at least 3x and 5x its time, in at most 64 MiB (duckdb
   is optional). `--baseline DIR` also times the describe of an older built checkout
   (at most 1.25x its time).
4. A ~2 GB float64 .npy (26,843,545 x 10 by default, in proportion to `--rows`): the
   page-cache read bandwidth of the file (16 MiB `readinto` calls into a page-aligned
   buffer, one thread) and describe's effective bandwidth as a fraction of it.
   `--skip-npy` skips this part.

Every run also reports how many cores other processes used meanwhile (from /proc/stat),
so a run disturbed by another job on the machine shows as such.

Peak RSS is the child's VmHWM (/proc/self/status), read by the child when its work is
done. `os.wait4`'s ru_maxrss is not used: on Linux it also counts the parent's peak RSS,
because the child's memory before exec is the parent's (vfork), and the parent here holds
the data blocks it generates. Everything lives in a temporary directory removed at the
end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import json
import math
import mmap
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

from _results import cpu, record

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

DEFAULT_ROWS = 10_000_000
NPY_ROWS_AT_DEFAULT = 26_843_545  # x 10 float64 = 2 GiB (+ the 128-byte header)
NPY_COLUMNS = 10
BLOCK_ROWS = 500_000
READ_CHUNK = 16 << 20  # bytes per readinto call
READ_PASSES = 3  # read passes per subprocess, the best counts
RTOL = 1e-9
STATS = ("count", "mean", "std", "min", "max")
# The full summaries compared for time and memory only (each prints more than describe does).
BASELINE: dict[str, str] = {}  # --baseline: {"path", "library"} of an older build to time
FULL_SUMMARIES = ("polars-describe", "duckdb")

# The ratios the project aims for; a run that misses one prints BELOW TARGET.
TARGET_VS_POLARS = 2.0  # polars time / oxbridge time, at least
TARGET_VS_PANDAS = 5.0  # pandas time / oxbridge time, at least
TARGET_RSS_VS_POLARS = 0.25  # oxbridge peak RSS / polars peak RSS, at most
TARGET_NPY_FRACTION = 0.80  # describe bandwidth / page-cache read bandwidth, at least
# The full describe (quantiles, distinct counts, top values, histograms) against the full
# summaries people compare it with: their time / ours, at least.
TARGET_VS_FULL = {"polars-describe": 3.0, "duckdb": 5.0}
TARGET_FULL_PEAK_MIB = 64  # the full describe's peak RSS, at most
TARGET_VS_BASELINE = 1.25  # describe time / an older build's (--baseline) describe time, at most

PANDAS_SLOW = 15.0  # seconds: a pandas run slower than this is not repeated
BUSY = 0.2  # cores used by other processes during a run above which the run is flagged
LIBRARY: dict[str, str] = {}  # "path" and "start": the native library and its fingerprint
REBUILT: list[str] = []  # runs that loaded a library other than the one at the start
OTHERS: list[tuple[str, float]] = []  # (tool, cores used by other processes) of each run


# ----------------------------------------------------------------------------- helpers


def mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:,.0f} MiB"


def gbs(nbytes: float, seconds: float) -> str:
    return f"{nbytes / seconds / 1e9:.2f} GB/s" if seconds > 0 else "n/a"


def loadavg() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"
    except OSError:
        return "load average n/a"


def busy() -> bool:
    try:
        return os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1)
    except OSError:
        return False


def proc_status() -> dict[str, int]:
    """The kB fields of /proc/self/status (VmHWM, VmRSS, RssAnon, RssFile, ...); {} if absent."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    out[key] = int(parts[0])
    except OSError:
        pass
    return out


def fingerprint(path: str) -> str:
    """Size and modification time of a file: tell whether the native library was rebuilt
    during the run (another job building in the same tree)."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"unreadable ({e.strerror})"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))
    return f"{st.st_size:,} bytes, built {stamp}.{st.st_mtime_ns % 10**9 // 10**6:03d}"


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of all CPUs since boot, from /proc/stat; None if absent."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    steal = fields[7] if len(fields) > 7 else 0
    return user + nice + system + irq + softirq, steal


def total_ram() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024**2:.1f} GiB RAM"
    except OSError:
        pass
    return "RAM n/a"


# ------------------------------------------------------------------------ generation


def round_sig(x: Any, digits: int = 6) -> Any:
    """x rounded to `digits` significant digits, as the double nearest to that decimal
    (so its shortest repr, which polars writes, has at most `digits` digits)."""
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    mag = np.floor(np.log10(np.abs(np.where(x == 0, 1.0, x)))).astype(np.int64)
    k = digits - 1 - mag  # decimals kept; negative for numbers with more integer digits
    p = 10.0 ** np.abs(k)  # exact for |k| <= 22
    m = np.rint(np.where(k >= 0, x * p, x / p))
    return np.where(k >= 0, m / p, m * p)


def csv_block(rng: Any, start: int, n: int) -> Any:
    """n rows of the 11 CSV columns: 7 floats (up to 6 significant digits), one of
    full-precision floats (their shortest repr: 15 to 17 digits), 3 ints."""
    import numpy as np
    import polars as pl

    return pl.DataFrame(
        {
            "id": np.arange(start, start + n, dtype=np.int64),
            "price": rng.integers(1, 1_000_000, n) / 100.0,  # 0.01 .. 9999.99
            "temperature": np.rint(rng.normal(150.0, 40.0, n) * 1000.0) / 1000.0,  # 150.123
            "ratio": rng.integers(0, 1_000_000, n) / 1e6,  # 0.123456
            "delta": np.rint(rng.normal(-2500.0, 1000.0, n) * 100.0) / 100.0,  # -2500.12
            "amount": round_sig(rng.lognormal(3.0, 2.0, n)),  # 0.0123456 .. 123456.0
            "tiny": round_sig(rng.normal(3e-4, 1e-4, n)),  # 0.000312345, 1.23456e-5
            "quantity": rng.integers(0, 1000, n),
            "timestamp": 1_600_000_000 + rng.integers(0, 100_000_000, n),
            "score": round_sig(rng.standard_normal(n) * 10.0 + 3.0),  # -12.3456
            "precise": rng.standard_normal(n) * 1000.0,  # -1234.5678901234567
        }
    )


def write_csv(path: str, rows: int) -> float:
    """Writes the CSV block by block (each block from its own seed); returns the seconds."""
    import numpy as np

    start = time.perf_counter()
    with open(path, "wb") as f:
        for block, first in enumerate(range(0, rows, BLOCK_ROWS)):
            n = min(BLOCK_ROWS, rows - first)
            csv_block(np.random.default_rng([2024, block]), first, n).write_csv(f, include_header=block == 0)
    return time.perf_counter() - start


def write_npy(path: str, rows: int) -> tuple[float, dict[str, dict[str, float]]]:
    """Writes a (rows, 10) float64 C-order .npy in blocks; returns the seconds and each
    column's exact-enough statistics, merged from the blocks (Chan et al.)."""
    import numpy as np

    offsets = np.array([0.5, -3.0, 100.0, 1e6, -250.0, 7.0, 0.001, 42.0, -1e-3, 12345.678])
    scales = np.array([1.0, 2.0, 15.0, 1e5, 50.0, 0.5, 1e-4, 10.0, 3.0, 1000.0])
    count = 0
    mean = np.zeros(NPY_COLUMNS)
    m2 = np.zeros(NPY_COLUMNS)
    low = np.full(NPY_COLUMNS, np.inf)
    high = np.full(NPY_COLUMNS, -np.inf)
    start = time.perf_counter()
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(rows, NPY_COLUMNS))
    try:
        for block, first in enumerate(range(0, rows, 2 * BLOCK_ROWS)):
            n = min(2 * BLOCK_ROWS, rows - first)
            data = np.random.default_rng([2025, block]).standard_normal((n, NPY_COLUMNS)) * scales + offsets
            out[first : first + n] = data
            b_mean = data.mean(axis=0)
            b_m2 = ((data - b_mean) ** 2).sum(axis=0)
            delta = b_mean - mean
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + b_m2 + delta**2 * (count * n / total)
            count = total
            low = np.minimum(low, data.min(axis=0))
            high = np.maximum(high, data.max(axis=0))
        out.flush()
    finally:
        del out
    seconds = time.perf_counter() - start
    std = np.sqrt(m2 / (count - 1)) if count > 1 else np.full(NPY_COLUMNS, np.nan)
    ref = {
        str(c): {
            "count": count,
            "mean": float(mean[c]),
            "std": float(std[c]),
            "min": float(low[c]),
            "max": float(high[c]),
        }
        for c in range(NPY_COLUMNS)
    }
    return seconds, ref


def fsync(path: str) -> float:
    """Writes the file's dirty pages to disk now, so no writeback competes with the timed
    runs (the pages stay cached); returns the seconds."""
    start = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - start


def read_buffer() -> memoryview:
    """A page-aligned buffer of READ_CHUNK bytes, its pages already present. Aligned
    matters: a bytearray this large sits 16 bytes into its pages, and the kernel's copy
    into such a buffer was measured at half the speed (5.9 against 11.5 GB/s)."""
    buf = mmap.mmap(-1, READ_CHUNK)
    buf.write(b"\x01" * READ_CHUNK)
    return memoryview(buf)


def read_through(path: str, view: memoryview | None = None) -> tuple[int, float]:
    """Reads the whole file with large readinto calls into one buffer; (bytes, seconds)."""
    if view is None:
        view = read_buffer()
    total = 0
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(view)
            if not n:
                break
            total += n
    return total, time.perf_counter() - start


# ---------------------------------------------------------------------- worker (child)


class RssSampler:
    """Samples RssAnon and RssFile (+RssShmem) of this process every 20 ms in a thread:
    which part of the peak is the tool's own memory and which is mapped file pages
    (approximate: a peak between two samples is missed)."""

    def __init__(self) -> None:
        self.anon = 0
        self.file = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            s = proc_status()
            self.anon = max(self.anon, s.get("RssAnon", 0))
            self.file = max(self.file, s.get("RssFile", 0) + s.get("RssShmem", 0))
            if self._stop.wait(0.02):
                return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def worker(tool: str, path: str, out_path: str, threads: int) -> None:
    """Runs one tool once on `path`, writes {seconds, cpu, memory, stats} as JSON."""
    stats: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {}
    if tool in ("oxbridge", "baseline"):
        import oxbridge  # the baseline's: run_child points PYTHONPATH and OXBRIDGE_LIBRARY at it

        oxbridge.set_num_threads(threads)
        extra["library"] = fingerprint(oxbridge.library_path)

        def work() -> None:
            with oxbridge.Dataset.open(path) as ds:
                desc = ds.describe()
            for name, s in desc.items():
                stats[name] = {"count": s.count, "mean": s.mean, "std": s.std, "min": s.min, "max": s.max}
            extra["rows"] = desc.num_rows
    elif tool == "polars":
        import polars as pl

        def work() -> None:
            lf = pl.scan_csv(path)
            cols = lf.collect_schema().names()
            exprs = [pl.len().alias("\x1flen")]
            for c in cols:
                col = pl.col(c)
                exprs += [
                    col.count().alias(f"{c}\x1fcount"),
                    col.mean().alias(f"{c}\x1fmean"),
                    col.std().alias(f"{c}\x1fstd"),
                    col.min().alias(f"{c}\x1fmin"),
                    col.max().alias(f"{c}\x1fmax"),
                ]
            row = lf.select(exprs).collect(engine="streaming").row(0, named=True)
            for key, value in row.items():
                c, _, stat = key.partition("\x1f")
                if c:
                    stats.setdefault(c, {})[stat] = value
            extra["rows"] = row["\x1flen"]
    elif tool == "polars-describe":
        import polars as pl

        def work() -> None:
            desc = pl.read_csv(path).describe()
            extra["rows"] = int(desc.filter(pl.col("statistic") == "count").row(0)[1])
    elif tool == "duckdb":
        import duckdb

        def work() -> None:
            con = duckdb.connect()
            con.execute(f"SET threads = {threads}")
            quoted = path.replace("'", "''")
            summary = con.sql(f"SUMMARIZE SELECT * FROM read_csv('{quoted}')").fetchall()
            extra["rows"] = int(summary[0][-2])  # the count column of the first row
    elif tool == "pandas":
        import pandas as pd

        def work() -> None:
            desc = pd.read_csv(path).describe()
            for c in desc.columns:
                stats[str(c)] = {s: float(desc.at[s, c]) for s in STATS}
    elif tool == "read":
        buf = read_buffer()

        def work() -> None:
            # A fresh process's first pass is often slower (seen: 1.5-2x): the reference
            # is the best of READ_PASSES passes; the first is reported too.
            passes = [read_through(path, buf) for _ in range(READ_PASSES)]
            extra["bytes"] = passes[0][0]
            extra["passes"] = [t for _, t in passes]
    else:
        raise SystemExit(f"unknown tool {tool!r}")

    before = proc_status()
    with RssSampler() as sampler:
        cpu0, t0 = time.process_time(), time.perf_counter()
        work()
        t1, cpu1 = time.perf_counter(), time.process_time()
    after = proc_status()
    result = {
        "seconds": min(extra["passes"]) if "passes" in extra else t1 - t0,
        "cpu": (cpu1 - cpu0) / len(extra.get("passes", [0])),
        "rss_before_kib": before.get("VmRSS"),
        "hwm_kib": after.get("VmHWM"),
        "peak_anon_kib": sampler.anon or None,
        "peak_file_kib": sampler.file or None,
        "stats": stats,
        **extra,
    }
    with open(out_path, "w") as f:
        json.dump(result, f)


# ---------------------------------------------------------------------- parent side


class ChildFailed(Exception):
    pass


def run_child(tool: str, path: str, workdir: str, threads: int) -> dict[str, Any]:
    """One fresh subprocess running `tool` once; its JSON result plus wait4's numbers."""
    out_path = os.path.join(workdir, f"{tool}.json")
    err_path = os.path.join(workdir, f"{tool}.stderr")
    if os.path.exists(out_path):
        os.remove(out_path)
    env = dict(os.environ, POLARS_MAX_THREADS=str(threads), OXBRIDGE_NUM_THREADS=str(threads))
    if tool == "baseline":
        env.update(PYTHONPATH=os.path.join(BASELINE["path"], "py"), OXBRIDGE_LIBRARY=BASELINE["library"])
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", tool, path, out_path, "--threads", str(threads)]
    ticks0 = cpu_ticks()
    wall0 = time.perf_counter()
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if proc.returncode is None:  # interrupted while waiting: do not leave it running
            proc.kill()
            proc.wait()
    wall = time.perf_counter() - wall0
    ticks1 = cpu_ticks()
    if proc.returncode == -signal.SIGINT:  # Ctrl-C reached the child first: stop everything
        raise KeyboardInterrupt
    if proc.returncode != 0:
        with open(err_path, "rb") as f:
            tail = f.read().decode("utf-8", "replace").strip().splitlines()[-15:]
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            why = f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
        else:
            why = f"exit status {proc.returncode}"
        raise ChildFailed(f"{tool} {why}" + ("".join("\n      " + line for line in tail) if tail else ""))
    with open(out_path) as f:
        result = json.load(f)
    result["wait4_maxrss_kib"] = usage.ru_maxrss
    result["process_wall"] = wall
    # Cores used on average by everything but this child (the parent sleeps in wait4):
    # another job on the machine shows here, and explains a run that used fewer cores.
    result["others"] = result["steal"] = None
    if ticks0 is not None and ticks1 is not None and wall > 0:
        hz = os.sysconf("SC_CLK_TCK")
        child_cpu = usage.ru_utime + usage.ru_stime
        result["others"] = max(0.0, (ticks1[0] - ticks0[0]) / hz - child_cpu) / wall
        result["steal"] = (ticks1[1] - ticks0[1]) / hz / wall
    return result


def best_of(
    tool: str, path: str, workdir: str, threads: int, repeat: int, nbytes: int, slow_after: float | None = None
) -> dict[str, Any] | None:
    """Runs `tool` up to `repeat` times, printing each run; the fastest run, with the
    highest peak RSS of all runs. None if a run failed (the error is printed)."""
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        try:
            r = run_child(tool, path, workdir, threads)
        except ChildFailed as e:
            print(f"  {tool:<8} run {i + 1}: FAILED: {e}", flush=True)
            return None
        runs.append(r)
        mem = ""
        if r["hwm_kib"] is not None:
            mem = (
                f", peak RSS {mib(r['hwm_kib'])} (sampled peaks: anon {mib(r['peak_anon_kib'])},"
                f" file-backed+shmem {mib(r['peak_file_kib'])}; {mib(r['rss_before_kib'])} before the work)"
            )
        passes = ""
        if r.get("passes"):
            passes = f" best of {len(r['passes'])} passes (first {gbs(nbytes, r['passes'][0])}),"
        others = ""
        if r["others"] is not None:
            others = f"; other processes {r['others']:.2f} cores" + (f", steal {r['steal']:.2f}" if r["steal"] else "")
            OTHERS.append((tool, r["others"]))
        print(
            f"  {tool:<8} run {i + 1}/{repeat}: {r['seconds']:8.3f} s ({gbs(nbytes, r['seconds'])}),{passes} "
            f"cpu {r['cpu']:.2f} s = {r['cpu'] / r['seconds']:.2f} cores{mem}{others}",
            flush=True,
        )
        if r.get("library") and LIBRARY and tool != "baseline" and r["library"] != LIBRARY["start"]:
            REBUILT.append(f"{tool} run {i + 1}")
            print(
                f"  {tool:<8} run {i + 1}: WARNING: this run loaded a different native library: {r['library']}",
                flush=True,
            )
        if slow_after is not None and r["seconds"] > slow_after and i + 1 < repeat:
            print(f"  {tool:<8} slower than {slow_after:.0f} s: best of {i + 1}", flush=True)
            break
    best = min(runs, key=lambda r: r["seconds"])
    best = dict(best)
    best["runs"] = len(runs)
    hwms = [r["hwm_kib"] for r in runs if r["hwm_kib"] is not None]
    best["peak_kib"] = max(hwms) if hwms else max(r["wait4_maxrss_kib"] for r in runs)
    best["peak_over_start_kib"] = (
        max(r["hwm_kib"] - r["rss_before_kib"] for r in runs)
        if hwms and all(r["rss_before_kib"] is not None for r in runs)
        else None
    )
    return best


def close(a: Any, b: Any, scale: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    # rtol against the values; a tiny absolute slack against the column's magnitude so a
    # mean that happens to be near 0 does not fail on rounding in the 16th digit.
    return abs(a - b) <= RTOL * max(abs(a), abs(b)) + 1e-13 * scale


def compare(
    reference_name: str, reference: dict[str, dict[str, Any]], others: dict[str, dict[str, dict[str, Any]]]
) -> bool:
    """Checks every tool in `others` against `reference` on count/mean/std/min/max of each
    column; prints one line if all agree, else each difference. True if they agree."""
    problems: list[str] = []
    worst = 0.0
    for name, stats in others.items():
        if set(stats) != set(reference):
            problems.append(f"{name} has columns {sorted(stats)}, {reference_name} {sorted(reference)}")
        for col, ref in reference.items():
            if col not in stats:
                continue
            got = stats[col]
            scale = max(abs(float(ref["min"])), abs(float(ref["max"])), 1e-300)
            for s in STATS:
                a, b = ref.get(s), got.get(s)
                if s == "count":
                    ok = a is not None and b is not None and int(a) == int(b)
                else:
                    ok = close(a, b, scale)
                    if ok and a is not None and b is not None and not math.isnan(float(a)):
                        denom = max(abs(float(a)), abs(float(b)))
                        if denom:
                            worst = max(worst, abs(float(a) - float(b)) / denom)
                if not ok:
                    rel = ""
                    try:
                        diff = abs(float(a) - float(b)) / max(abs(float(a)), abs(float(b)))
                        rel = f" (relative difference {diff:.3g})"
                    except (TypeError, ValueError, ZeroDivisionError):
                        pass
                    problems.append(f"{col}.{s}: {reference_name} {a!r}, {name} {b!r}{rel}")
    tools = ", ".join([reference_name, *others])
    if problems:
        print(f"  RESULTS DISAGREE ({tools}; rtol {RTOL:g}):")
        for p in problems[:40]:
            print(f"    {p}")
        if len(problems) > 40:
            print(f"    ... and {len(problems) - 40} more")
        return False
    print(
        f"  {tools} agree on {'/'.join(STATS)} of all {len(reference)} columns "
        f"(rtol {RTOL:g}; largest relative difference {worst:.2g})"
    )
    return True


def verdict(ok: bool) -> str:
    return "ok" if ok else "BELOW TARGET"


def csv_part(args: argparse.Namespace, workdir: str) -> None:
    path = os.path.join(workdir, "data.csv")
    print(f"\n== CSV: {args.rows:,} rows x 11 numeric columns (8 float, one of them full-precision; 3 int)", flush=True)
    seconds = write_csv(path, args.rows)
    size = os.path.getsize(path)
    print(f"generated {path} ({size / 1e9:.2f} GB) in {seconds:.1f} s ({gbs(size, seconds)})", flush=True)
    print(f"fsync: {fsync(path):.1f} s", flush=True)
    nbytes, seconds = read_through(path)
    print(
        f"page cache warmed: read {nbytes / 1e9:.2f} GB in {seconds:.2f} s ({gbs(nbytes, seconds)}); {loadavg()}",
        flush=True,
    )

    results: dict[str, dict[str, Any] | None] = {}
    print(f"\ndescribe, each run in a fresh subprocess ({args.threads} threads for oxbridge and polars):", flush=True)
    results["oxbridge"] = best_of("oxbridge", path, workdir, args.threads, args.repeat, size)
    results["polars"] = best_of("polars", path, workdir, args.threads, args.repeat, size)
    if args.skip_pandas:
        print("  pandas   skipped (--skip-pandas)")
        results["pandas"] = None
    else:
        results["pandas"] = best_of("pandas", path, workdir, args.threads, args.repeat, size, slow_after=PANDAS_SLOW)

    print("\nagreement:")
    ox = results["oxbridge"]
    others = {k: v["stats"] for k, v in results.items() if k != "oxbridge" and v is not None}
    if ox is None:
        if len(others) == 2:
            compare("polars", others["polars"], {"pandas": others["pandas"]})
        else:
            print("  nothing to compare")
    elif others:
        compare("oxbridge", ox["stats"], others)
        if ox.get("rows") is not None and ox["rows"] != args.rows:
            print(f"  oxbridge counted {ox['rows']:,} rows, the file has {args.rows:,}")
    else:
        print("  nothing to compare: polars and pandas failed or were skipped")

    print(
        f"\n{'tool':<9} {'time':>10} {'runs':>5} {'throughput':>11} {'peak RSS':>11} {'RSS growth':>11}  "
        f"ratio (time: other/oxbridge)"
    )
    for name, r in results.items():
        if r is None:
            print(f"{name:<9} {'skipped' if name == 'pandas' and args.skip_pandas else 'failed':>10}")
            continue
        line = (
            f"{name:<9} {r['seconds']:>8.3f} s {r['runs']:>5} {gbs(size, r['seconds']):>11} "
            f"{mib(r['peak_kib']):>11} {mib(r['peak_over_start_kib']):>11}"
        )
        if name != "oxbridge" and ox is not None:
            ratio = r["seconds"] / ox["seconds"]
            target = TARGET_VS_POLARS if name == "polars" else TARGET_VS_PANDAS
            line += f"  {ratio:6.2f}x (target >= {target:g}x: {verdict(ratio >= target)})"
            record("files", f"describe {size / 1e9:.2f} GB CSV", f"{name} (time)", ratio, target)
        print(line)
    pl_res = results["polars"]
    if ox is not None and pl_res is not None:
        mem = ox["peak_kib"] / pl_res["peak_kib"]
        # Charted as polars' peak over ours, so above 1 means less memory, like the speed ratios.
        record("files", f"describe {size / 1e9:.2f} GB CSV", "polars (peak RSS)", 1 / mem, 1 / TARGET_RSS_VS_POLARS)
        print(
            f"memory: oxbridge peak RSS / polars peak RSS = {mem:.2f} "
            f"(target <= {TARGET_RSS_VS_POLARS:g}: {verdict(mem <= TARGET_RSS_VS_POLARS)})"
        )
        if ox["peak_over_start_kib"] is not None and pl_res["peak_over_start_kib"]:
            growth = ox["peak_over_start_kib"] / pl_res["peak_over_start_kib"]
            print(f"        growth during the work only: {growth:.2f} (for information; the target is on peak RSS)")
    print(
        "(peak RSS: VmHWM of the child process, imports included, highest of its runs; "
        "RSS growth: peak minus RSS just before the work)"
    )
    if ox is not None:
        full_summaries(args, path, workdir, size, ox)
    os.remove(path)


def full_summaries(args: argparse.Namespace, path: str, workdir: str, size: int, ox: dict[str, Any]) -> None:
    """The summaries users compare describe with, timed against oxbridge's describe of the
    same file (ratios recorded for the chart; there are no targets yet)."""
    print("\nfull summaries (time and memory only; each computes more than count/mean/std/min/max):", flush=True)
    for tool in FULL_SUMMARIES:
        if tool == "duckdb":
            try:
                import duckdb  # noqa: F401 - only whether it is installed
            except ImportError:
                print("  duckdb   skipped (not installed)")
                continue
        r = best_of(tool, path, workdir, args.threads, args.repeat, size, slow_after=PANDAS_SLOW)
        if r is None:
            continue
        ratio = r["seconds"] / ox["seconds"]
        target = TARGET_VS_FULL[tool]
        rows = "" if r.get("rows") == args.rows else f"; it counted {r.get('rows')} rows, the file has {args.rows:,}"
        print(
            f"  {tool:<16} {r['seconds']:8.3f} s, peak RSS {mib(r['peak_kib'])}: {ratio:.2f}x oxbridge's describe "
            f"time (target >= {target:g}x: {verdict(ratio >= target)}), {r['peak_kib'] / ox['peak_kib']:.1f}x its "
            f"peak RSS{rows}",
            flush=True,
        )
        record("files", f"describe {size / 1e9:.2f} GB CSV", f"{tool} (time)", ratio, target)
    peak = ox["peak_kib"] / 1024
    print(
        f"  oxbridge's full describe: peak RSS {peak:.0f} MiB (target <= {TARGET_FULL_PEAK_MIB} MiB: "
        f"{verdict(peak <= TARGET_FULL_PEAK_MIB)})"
    )
    if BASELINE:
        r = best_of("baseline", path, workdir, args.threads, args.repeat, size)
        if r is not None:
            slower = ox["seconds"] / r["seconds"]
            print(
                f"  baseline {BASELINE['path']}: {r['seconds']:.3f} s, peak RSS {mib(r['peak_kib'])}; this "
                f"build's describe takes {slower:.2f}x its time (target <= {TARGET_VS_BASELINE:g}x: "
                f"{verdict(slower <= TARGET_VS_BASELINE)})"
            )
            record("files", f"describe {size / 1e9:.2f} GB CSV", "baseline build (time)", 1 / slower)


def npy_part(args: argparse.Namespace, workdir: str) -> None:
    rows = args.npy_rows if args.npy_rows is not None else round(NPY_ROWS_AT_DEFAULT * args.rows / DEFAULT_ROWS)
    path = os.path.join(workdir, "data.npy")
    print(f"\n== NPY: ({rows:,}, {NPY_COLUMNS}) float64, C order", flush=True)
    seconds, reference = write_npy(path, rows)
    size = os.path.getsize(path)
    print(
        f"generated {path} ({size / 1e9:.2f} GB = {size / 2**30:.2f} GiB) in {seconds:.1f} s ({gbs(size, seconds)})",
        flush=True,
    )
    print(f"fsync: {fsync(path):.1f} s", flush=True)
    nbytes, seconds = read_through(path)
    print(
        f"page cache warmed: read {nbytes / 1e9:.2f} GB in {seconds:.2f} s ({gbs(nbytes, seconds)}); {loadavg()}",
        flush=True,
    )

    print(
        f"\npage-cache read bandwidth ({READ_CHUNK >> 20} MiB readinto calls, one thread, best of {READ_PASSES} "
        f"passes per process) and describe, each run in a fresh subprocess:",
        flush=True,
    )
    read = best_of("read", path, workdir, args.threads, args.repeat, size)
    ox = best_of("oxbridge", path, workdir, args.threads, args.repeat, size)
    if ox is not None:
        print("\nagreement:")
        compare("generator", reference, {"oxbridge": ox["stats"]})
    print()
    if read is not None:
        if read.get("bytes") != size:
            print(f"read {read.get('bytes')} bytes of {size}")
        firsts = f"; a fresh process's first pass: {gbs(size, read['passes'][0])}" if read.get("passes") else ""
        print(f"read bandwidth:     {gbs(size, read['seconds']):>10}  ({read['seconds']:.3f} s, best pass{firsts})")
    if ox is not None:
        print(
            f"describe bandwidth: {gbs(size, ox['seconds']):>10}  ({ox['seconds']:.3f} s, "
            f"peak RSS {mib(ox['peak_kib'])}, growth {mib(ox['peak_over_start_kib'])})"
        )
    if read is not None and ox is not None:
        fraction = read["seconds"] / ox["seconds"]
        record("files", f"describe {size / 1e9:.2f} GB .npy", "page-cache read (share)", fraction, TARGET_NPY_FRACTION)
        print(
            f"describe / read bandwidth = {fraction:.0%} (target >= {TARGET_NPY_FRACTION:.0%}: "
            f"{verdict(fraction >= TARGET_NPY_FRACTION)})"
        )
    os.remove(path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"CSV rows (default {DEFAULT_ROWS:,})")
    parser.add_argument(
        "--npy-rows",
        type=int,
        default=None,
        help=f"rows of the (rows, 10) .npy (default {NPY_ROWS_AT_DEFAULT:,} x rows / {DEFAULT_ROWS:,})",
    )
    parser.add_argument("--skip-npy", action="store_true", help="skip the .npy bandwidth part")
    parser.add_argument("--skip-pandas", action="store_true", help="skip pandas (slow)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool, the best counts (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads for oxbridge and polars (default 2)")
    parser.add_argument("--tmpdir", default=None, help="where the temporary directory goes (default: the system's)")
    parser.add_argument(
        "--baseline",
        default=None,
        help="an older checkout, built (target/release/liboxbridge.so): its describe is timed too, for the "
        "'at most 25%% slower than before' target",
    )
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, threads=args.threads)
        return 0
    if args.baseline:
        library = os.path.join(os.path.abspath(args.baseline), "target", "release", "liboxbridge.so")
        if not os.path.exists(library):
            parser.error(f"--baseline: no {library} (build that checkout with `cargo build --release`)")
        BASELINE.update(path=os.path.abspath(args.baseline), library=library)
    if args.rows < 2 or args.repeat < 1 or args.threads < 1 or (args.npy_rows is not None and args.npy_rows < 2):
        parser.error("--rows and --npy-rows must be at least 2, --repeat and --threads at least 1")

    try:
        import numpy as np
        import pandas as pd
        import polars as pl

        import oxbridge
    except ImportError as e:
        print(f"bench_dataset: {e} (run `make build` and use .venv/bin/python)", file=sys.stderr)
        return 1

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # so a `kill` also removes the temporary files

    signal.signal(signal.SIGTERM, terminate)
    LIBRARY.update(path=oxbridge.library_path, start=fingerprint(oxbridge.library_path))
    print(
        f"oxbridge {oxbridge.__version__}, numpy {np.__version__}, pandas {pd.__version__}, polars {pl.__version__}, "
        f"Python {platform.python_version()}, {cpu()}, {total_ram()}, {loadavg()}"
    )
    import hashlib

    with open(LIBRARY["path"], "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    print(f"native library {LIBRARY['path']}: {LIBRARY['start']}, sha256 {digest}")
    started_busy = busy()
    npy_rows = 0 if args.skip_npy else (args.npy_rows or round(NPY_ROWS_AT_DEFAULT * args.rows / DEFAULT_ROWS))
    need = args.rows * 130 + npy_rows * NPY_COLUMNS * 8 + (1 << 28)
    try:
        with tempfile.TemporaryDirectory(prefix="oxbridge-bench-", dir=args.tmpdir) as workdir:
            free = shutil.disk_usage(workdir).free
            if free < need:
                print(
                    f"bench_dataset: {workdir} has {free / 1e9:.1f} GB free, the files need about "
                    f"{need / 1e9:.1f} GB (--rows, --skip-npy or --tmpdir)",
                    file=sys.stderr,
                )
                return 1
            start = time.perf_counter()
            csv_part(args, workdir)
            if args.skip_npy:
                print("\n== NPY: skipped (--skip-npy)")
            else:
                npy_part(args, workdir)
            print(f"\ntotal {time.perf_counter() - start:.0f} s; {loadavg()}")
            flagged = [(tool, o) for tool, o in OTHERS if o > BUSY]
            if flagged:
                print(
                    f"NOTE: other processes used more than {BUSY} cores during {len(flagged)} of {len(OTHERS)} "
                    f"timed runs (up to {max(o for _, o in flagged):.2f} cores, in "
                    f"{', '.join(sorted({t for t, _ in flagged}))}): those times are not clean"
                )
            now = fingerprint(LIBRARY["path"])
            if REBUILT or now != LIBRARY["start"]:
                print(
                    f"WARNING: the native library changed during the run (now {now}); "
                    f"runs that loaded another build: {', '.join(REBUILT) or 'none'}"
                )
            if not flagged and started_busy:
                print("NOTE: the load average was above half the cores at the start")
    except KeyboardInterrupt:
        print("\ninterrupted; the temporary files were removed", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"bench_dataset: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
