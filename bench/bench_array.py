"""The array engine side by side with numpy, in one run: 1e7 float64 (int64 for the sum).

Prints each time and the ratio numpy / oxbridge (above 1: oxbridge is faster).
"""

from __future__ import annotations

import platform
import statistics
import timeit

import numpy as np

import oxbridge

from _results import cpu, record

N = 10**7


def interleaved(numpy_fn, ox_fn, repeat=7, number=1):
    """Median seconds per call of each, timed in turn within every round so that the
    machine's load drifts over both alike (a shared machine is noisy)."""
    t_numpy, t_ox = [], []
    for _ in range(repeat):
        t_numpy.append(timeit.timeit(numpy_fn, number=number) / number)
        t_ox.append(timeit.timeit(ox_fn, number=number) / number)
    return statistics.median(t_numpy), statistics.median(t_ox)


def row(name, times, target=None):
    t_numpy, t_ox = times
    ratio = t_numpy / t_ox
    record("arrays", name, "numpy", ratio, target)
    if target is None:
        verdict = "(no target)"
    else:
        verdict = f"(target {target}x: {'ok' if ratio >= target else 'BELOW TARGET'})"
    print(f"{name:<38} {t_numpy * 1e3:>9.2f} ms {t_ox * 1e3:>9.2f} ms {ratio:>7.2f}x  {verdict}")


def main() -> None:
    print(
        f"oxbridge {oxbridge.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
        f"{cpu()}, {oxbridge.get_num_threads()} oxbridge threads, n = {N:,}"
    )
    print(f"{'operation':<38} {'numpy':>12} {'oxbridge':>12} {'ratio':>8}")
    rng = np.random.default_rng(0)
    a = rng.random(N)
    ints = rng.integers(-(10**6), 10**6, N)

    row(
        "stats vs sum+mean+var+min+max",
        interleaved(lambda: (a.sum(), a.mean(), a.var(), a.min(), a.max()), lambda: oxbridge.stats(a)),
        5,
    )
    row("histogram(100 bins)", interleaved(lambda: np.histogram(a, 100), lambda: oxbridge.histogram(a, 100)), 5)
    row("quantile(0.5) vs numpy.median", interleaved(lambda: np.median(a), lambda: oxbridge.quantile(a, 0.5)), 3)
    row(
        "quantile(0.5) vs numpy.quantile",
        interleaved(lambda: np.quantile(a, 0.5), lambda: oxbridge.quantile(a, 0.5)),
        2,
    )

    def np_sort():
        return np.sort(a)

    def ox_sort():
        b = a.copy()  # same work as np.sort: a sorted copy
        oxbridge.sort(b)
        return b

    row("sort (sorted copy)", interleaved(np_sort, ox_sort, repeat=5), 1.5)
    row("int64 sum", interleaved(lambda: ints.sum(), lambda: oxbridge.stats(ints).sum, number=3), 1)
    # Per-column statistics of a C-ordered table (each row's columns side by side).
    table = rng.standard_normal((N // 10, 10))
    row(
        "stats(axis=0), (1e6, 10) float64",
        interleaved(
            lambda: (table.mean(axis=0), table.var(axis=0), table.min(axis=0), table.max(axis=0)),
            lambda: oxbridge.stats(table, axis=0),
        ),
    )


if __name__ == "__main__":
    main()
