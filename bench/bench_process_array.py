"""process_array side by side with what users would write instead, in one run.

Doubling an array in place: a pure-Python list comprehension, numpy's `a *= 2`, and
`oxbridge.process_array(a)`, at 1e3, 1e6 and 1e7 elements. Prints times and ratios.
"""

from __future__ import annotations

import array
import ctypes
import os
import platform
import shutil
import subprocess
import tempfile
import timeit

import numpy as np

import oxbridge

from _results import cpu, record

SIZES = [10**3, 10**6, 10**7]

# The bandwidth reference, as STREAM measures it: a plain C loop scaling in place on
# every core, one contiguous range per thread.
C_SCALE = r"""
#include <pthread.h>
#include <stddef.h>
typedef struct { double *a; size_t n; } range;
static void *scale_range(void *p) {
    range *r = p;
    for (size_t i = 0; i < r->n; i++) r->a[i] *= 2.0;
    return NULL;
}
void scale(double *a, size_t n, int threads) {
    pthread_t tid[64];
    range parts[64];
    if (threads > 64) threads = 64;
    for (int t = 0; t < threads; t++) {
        size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        parts[t].a = a + lo;
        parts[t].n = hi - lo;
        pthread_create(&tid[t], NULL, scale_range, &parts[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
}
"""


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
    with np.errstate(over="ignore"):
        per_call_np = best(lambda: small.__imul__(2), number=100_000)
    per_call = best(lambda: oxbridge.process_array(small), number=100_000)
    record("arrays", "process_array, 1e3 (whole call)", "numpy a *= 2", per_call_np / per_call, 1.0)
    print(
        f"\nwhole Python call on 1e3 float64: {per_call * 1e6:.2f} us "
        f"(numpy a *= 2: {per_call_np * 1e6:.2f} us): {per_call_np / per_call:.2f}x (target 1x)"
    )
    bandwidth()


def bandwidth() -> None:
    """process_array at 1e7 against the in-place scale bandwidth a plain C loop reaches on
    all cores (target: 90% of it)."""
    compiler = shutil.which("cc")
    if compiler is None:
        print("bandwidth: no C compiler (cc) found; skipped")
        return
    threads = oxbridge.get_num_threads()
    a = np.random.default_rng(0).random(10**7)
    with tempfile.TemporaryDirectory() as folder:
        source, library = os.path.join(folder, "scale.c"), os.path.join(folder, "libscale.so")
        with open(source, "w") as f:
            f.write(C_SCALE)
        subprocess.run(
            [compiler, "-O3", "-march=native", "-shared", "-fPIC", source, "-o", library, "-lpthread"], check=True
        )
        lib = ctypes.CDLL(library)
        lib.scale.restype, lib.scale.argtypes = None, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        t_c, t_ox = [], []
        with np.errstate(over="ignore"):
            for _ in range(15):  # in turn, so the machine's drift falls on both alike
                t_c.append(timeit.timeit(lambda: lib.scale(a.ctypes.data, a.size, threads), number=1))
                t_ox.append(timeit.timeit(lambda: oxbridge.process_array(a), number=1))
    c, ox = sorted(t_c)[len(t_c) // 2], sorted(t_ox)[len(t_ox) // 2]
    gbs = lambda t: 2 * a.nbytes / t / 1e9  # read and write every byte
    record("arrays", "process_array, 1e7", "C loop bandwidth", c / ox, 0.9)
    print(
        f"in-place scale of 1e7 float64 on {threads} threads: C loop {c * 1e3:.2f} ms ({gbs(c):.1f} GB/s), "
        f"process_array {ox * 1e3:.2f} ms ({gbs(ox):.1f} GB/s): {c / ox:.0%} of the C loop (target 90%)"
    )


if __name__ == "__main__":
    main()
