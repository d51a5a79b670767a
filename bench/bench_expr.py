"""The expression engine side by side with numpy and numexpr (same thread count), and the
parallel map of a native C function against a single-threaded C loop calling it.

1e7 float64 per operand; prints times and ratios (above 1: oxbridge is faster).
"""

from __future__ import annotations

import ctypes
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import timeit

import numexpr
import numpy as np

import oxbridge

from _results import cpu, record

N = 10**7
THREADS = 2
EXPRESSIONS = {
    "2*a + b**2 - 1": lambda a, b: 2 * a + b**2 - 1,
    "sqrt(a*a + b*b)": lambda a, b: np.sqrt(a * a + b * b),
    "where(a > 0.5, log1p(a), 0)": lambda a, b: np.where(a > 0.5, np.log1p(a), 0),
}
# Issue 16's targets: every expression, with and without `out`.
NUMPY_TARGET = 3.0
NUMEXPR_TARGET = 1.5
MAP_TARGET = 1.9

C_SOURCE = r"""
#include <math.h>
#include <stddef.h>
double work(double x) { return sin(x) * cos(x) + sqrt(fabs(x)) + log1p(fabs(x)); }
void work_loop(const double *in, double *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = work(in[i]);
}
"""


def interleaved(fns, repeat=7):
    """Median seconds of each function, timed in turn within every round so that the
    machine's load drifts over all of them alike (a shared machine is noisy)."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn in zip(times, fns):
            t.append(timeit.timeit(fn, number=1))
    return [statistics.median(t) for t in times]


def verdict(ratio, target):
    return "ok" if ratio >= target else "BELOW TARGET"


def _expression_times(source, numpy_fn, a, b, out):
    """Seconds of numpy, numexpr and oxbridge for one expression, into `out` unless None."""
    if out is not None:
        return interleaved(
            [
                lambda: np.copyto(out, numpy_fn(a, b)),  # numpy has no fused out
                lambda: numexpr.evaluate(source, local_dict={"a": a, "b": b}, out=out),
                lambda: oxbridge.evaluate(source, out=out, a=a, b=b),
            ]
        )
    return interleaved(
        [
            lambda: numpy_fn(a, b),
            lambda: numexpr.evaluate(source, local_dict={"a": a, "b": b}),
            lambda: oxbridge.evaluate(source, a=a, b=b),
        ]
    )


def bench_expressions(a, b):
    out = np.empty_like(a)
    print(
        f"{'expression':<30} {'out':<4} {'numpy':>9} {'numexpr':>9} {'oxbridge':>9} {'vs numpy':>9} {'vs numexpr':>11}"
    )
    for source, numpy_fn in EXPRESSIONS.items():
        with np.errstate(all="ignore"):
            expected = numpy_fn(a, b)
        got = oxbridge.evaluate(source, a=a, b=b)
        assert np.allclose(got, expected, equal_nan=True), source
        for with_out in (False, True):
            t_np, t_ne, t_ox = _expression_times(source, numpy_fn, a, b, out if with_out else None)
            r_np, r_ne = t_np / t_ox, t_ne / t_ox
            label = f"{source}{', out' if with_out else ''}"
            record("expressions", label, "numpy", r_np, NUMPY_TARGET)
            record("expressions", label, "numexpr", r_ne, NUMEXPR_TARGET)
            print(
                f"{source:<30} {'yes' if with_out else 'no':<4} {t_np * 1e3:>7.1f}ms {t_ne * 1e3:>7.1f}ms "
                f"{t_ox * 1e3:>7.1f}ms {r_np:>8.2f}x {r_ne:>10.2f}x  "
                f"(targets {NUMPY_TARGET}x: {verdict(r_np, NUMPY_TARGET)}, "
                f"{NUMEXPR_TARGET}x: {verdict(r_ne, NUMEXPR_TARGET)})"
            )


def loop_into_new(lib, a):
    fresh = np.empty_like(a)  # named: the array must outlive the call that writes it
    lib.work_loop(a.ctypes.data, fresh.ctypes.data, a.size)
    return fresh


def bench_parallel_map(a):
    compiler = shutil.which("cc")
    if compiler is None:
        print("parallel_map: no C compiler (cc) found; skipped")
        return
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "work.c")
        library = os.path.join(folder, "libwork.so")
        with open(source, "w") as f:
            f.write(C_SOURCE)
        subprocess.run([compiler, "-O2", "-shared", "-fPIC", source, "-o", library, "-lm"], check=True)
        lib = ctypes.CDLL(library)
        work = lib.work
        work.restype, work.argtypes = ctypes.c_double, [ctypes.c_double]
        lib.work_loop.restype = None
        lib.work_loop.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        out = np.empty_like(a)
        lib.work_loop(a.ctypes.data, out.ctypes.data, a.size)
        expected = out.copy()
        got = oxbridge.parallel_map(work, a)
        assert np.array_equal(got, expected)
        for with_out in (False, True):
            # Without `out` both sides make a new array: its first touch costs page faults.
            t_loop, t_map = interleaved(
                [
                    (lambda: lib.work_loop(a.ctypes.data, out.ctypes.data, a.size))
                    if with_out
                    else (lambda: loop_into_new(lib, a)),
                    (lambda: oxbridge.parallel_map(work, a, out=out))
                    if with_out
                    else (lambda: oxbridge.parallel_map(work, a)),
                ],
                repeat=5,
            )
            ratio = t_loop / t_map
            record(
                "expressions", f"parallel_map(C fn){', out' if with_out else ''}", "1-thread C loop", ratio, MAP_TARGET
            )
            print(
                f"parallel_map(C work, 1e7{', out' if with_out else ''}) {t_map * 1e3:.1f} ms vs single-threaded "
                f"C loop into {'out' if with_out else 'a new array'} {t_loop * 1e3:.1f} ms: {ratio:.2f}x (target {MAP_TARGET}x: {verdict(ratio, MAP_TARGET)})"
            )


def main() -> None:
    oxbridge.set_num_threads(THREADS)
    numexpr.set_num_threads(THREADS)
    print(
        f"oxbridge {oxbridge.__version__}, numpy {np.__version__}, numexpr {numexpr.__version__}, "
        f"Python {platform.python_version()}, {cpu()}, {THREADS} threads each, n = {N:,}"
    )
    rng = np.random.default_rng(0)
    a, b = rng.random(N), rng.random(N)
    bench_expressions(a, b)
    bench_parallel_map(a)


if __name__ == "__main__":
    main()
