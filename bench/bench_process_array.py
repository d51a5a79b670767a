"""process_array side by side with what users would write instead, in one run.

Doubling an array in place: a pure-Python list comprehension, numpy's `a *= 2`, and
`oxbridge.process_array(a)`, at 1e3, 1e6 and 1e7 elements. Prints times and ratios.
"""

from __future__ import annotations

import array
import platform
import timeit

import numpy as np

import oxbridge

from _results import cpu, record

SIZES = [10**3, 10**6, 10**7]


def best(stmt, number, repeat=5):
    """Best time per call in seconds (the least disturbed run)."""
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def _times(n: int) -> tuple[float, float, float]:
    """Seconds per call of a Python loop, numpy's a *= 2 and process_array on n float64."""
    a = np.random.default_rng(0).random(n)
    data = array.array("d", a.tobytes())
    number = max(1, 10**6 // n)
    t_py = best(lambda: [x * 2 for x in data], number=max(1, number // 100), repeat=3)
    # Repeated doubling reaches inf, which costs the same; numpy's warning is noise here.
    with np.errstate(over="ignore"):
        t_np = best(lambda: a.__imul__(2), number=number)
    t_ox = best(lambda: oxbridge.process_array(a), number=number)
    return t_py, t_np, t_ox


def main() -> None:
    print(
        f"oxbridge {oxbridge.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
        f"{cpu()}, {oxbridge.get_num_threads()} oxbridge threads"
    )
    header = f"{'n':>10} {'python list':>13} {'numpy a*=2':>13} {'oxbridge':>13} {'vs python':>10} {'vs numpy':>9}"
    print(header)
    print("-" * len(header))
    for n in SIZES:
        t_py, t_np, t_ox = _times(n)
        print(
            f"{n:>10} {t_py * 1e3:>10.3f} ms {t_np * 1e3:>10.3f} ms {t_ox * 1e3:>10.3f} ms "
            f"{t_py / t_ox:>9.1f}x {t_np / t_ox:>8.2f}x"
        )
        if n == max(SIZES):
            record("arrays", f"process_array, {n:.0e}", "numpy a *= 2", t_np / t_ox, 1.5)
            record("arrays", f"process_array, {n:.0e}", "a Python loop", t_py / t_ox)
    small = np.ones(1000)
    per_call = best(lambda: oxbridge.process_array(small), number=100_000)
    print(
        f"\nwhole Python call on 1e3 float64: {per_call * 1e6:.2f} us "
        f"(numpy a *= 2: {best(lambda: small.__imul__(2), number=100_000) * 1e6:.2f} us)"
    )


if __name__ == "__main__":
    main()
