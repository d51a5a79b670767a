"""`make run`: oxbridge on a generated array, next to pure Python and numpy."""

from __future__ import annotations

import array
import math
import random
import time

import oxbridge

try:
    import numpy as np
except ImportError:  # numpy is optional for users
    np = None

N = 5_000_000


def timed(label: str, fn, repeat: int = 3):
    """Best of `repeat` runs: the first run of anything pays for warming caches and threads."""
    elapsed = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        elapsed = min(elapsed, time.perf_counter() - start)
    print(f"  {label:<38} {elapsed * 1e3:9.2f} ms")
    return result, elapsed


def main() -> None:
    print(f"oxbridge {oxbridge.__version__} ({oxbridge.library_path}), {oxbridge.get_num_threads()} worker threads\n")
    rng = random.Random(42)
    data = array.array("d", (rng.gauss(100.0, 15.0) for _ in range(N)))
    data[123] = math.nan  # a missing value

    print(f"Doubling {N:,} float64 values in place:")
    _, t_py = timed("pure Python loop", lambda: [x * 2 for x in data], repeat=1)
    if np is not None:
        a = np.frombuffer(data, dtype=np.float64).copy()
        _, t_np = timed("numpy  a *= 2", lambda: a.__imul__(2))
    _, t_ox = timed("oxbridge.process_array(data)", lambda: oxbridge.process_array(data))
    print(
        f"  -> oxbridge is {t_py / t_ox:.0f}x the Python loop"
        + (f" and {t_np / t_ox:.1f}x numpy" if np is not None else "")
    )

    print(f"\nStatistics of the (now doubled) {N:,} values, streamed in 10 chunks through an Accumulator:")
    chunk = N // 10
    view = memoryview(data)

    def accumulate():
        with oxbridge.Accumulator() as acc:
            for start in range(0, N, chunk):
                acc.push(view[start : start + chunk])
            return acc.stats()

    stats, t_acc = timed("oxbridge.Accumulator", accumulate)

    def python_stats():
        xs = [x for x in data if not math.isnan(x)]
        mean = math.fsum(xs) / len(xs)
        return mean, math.fsum((x - mean) ** 2 for x in xs) / len(xs), min(xs), max(xs)

    (mean, var, lo, hi), t_pystats = timed("pure Python (fsum, min, max)", python_stats, repeat=1)
    if np is not None:
        a = np.frombuffer(data, dtype=np.float64)
        timed(
            "numpy nanmean, nanvar, nanmin, nanmax", lambda: (np.nanmean(a), np.nanvar(a), np.nanmin(a), np.nanmax(a))
        )
    print(f"  -> {stats}")
    agree = math.isclose(stats.mean, mean, rel_tol=1e-12) and math.isclose(stats.var, var, rel_tol=1e-9)
    print(
        f"  -> agrees with pure Python: {agree and (stats.min, stats.max) == (lo, hi)}; {t_pystats / t_acc:.0f}x faster"
    )


if __name__ == "__main__":
    main()
