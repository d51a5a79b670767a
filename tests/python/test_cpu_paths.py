"""Every instruction path this machine has (OXBRIDGE_CPU=scalar, avx2, avx512) gives the
kernels' results the oracle gives: numpy, math.fsum, Python's csv module. Each path runs
in its own process (the path is chosen once per process).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import oxbridge

ORDER = ["scalar", "avx2", "avx512"]
PATHS = ORDER[: ORDER.index(oxbridge.cpu_path()) + 1]

CHILD = r"""
import json, sys, numpy as np, oxbridge
rng = np.random.default_rng(11)
f = rng.standard_normal(100_003) * 1e3 + 7
i = rng.integers(-(2**40), 2**40, 100_003)
g = f.astype(np.float32)
m = np.ascontiguousarray(rng.standard_normal((5001, 7)))
out = {"path": oxbridge.cpu_path()}
for name, a in (("f", f), ("i", i), ("g", g)):
    s = oxbridge.stats(a)
    out[name] = [s.count, float(s.sum), float(s.min), float(s.max), s.var]
out["rows"] = [float(s.sum) for s in oxbridge.stats(m, axis=0)]
out["sorted"] = oxbridge.sort(f.copy())[::997].tolist()
out["sorted_i"] = oxbridge.sort(i.copy())[::997].tolist()
out["quantile"] = [float(v) for v in oxbridge.quantile(f, [0.0, 0.1, 0.5, 0.99, 1.0])]
counts, _ = oxbridge.histogram(f, bins=37)
out["hist"] = [int(c) for c in counts]
out["expr"] = oxbridge.evaluate("where(x > 0, log1p(x), exp(x / 1000)) + sqrt(abs(x))", x=f)[::991].tolist()
desc = oxbridge.Dataset.open(sys.argv[1]).describe()
out["csv"] = {c: [desc[c].count, desc[c].sum, desc[c].min, desc[c].max, desc[c].distinct] for c in desc}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = tmp_path_factory.mktemp("paths") / "t.csv"
    rng = np.random.default_rng(5)
    with open(path, "w") as f:
        f.write("a,b,c\n")
        f.writelines(
            f"{rng.integers(-99999, 99999)},{rng.integers(0, 10**6) / 100:.2f},{rng.standard_normal():.17g}\n"
            for k in range(60_000)
        )
    out = {}
    for p in PATHS:
        env = dict(os.environ, OXBRIDGE_CPU=p)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        out[p] = json.loads(done.stdout)
    return path, out


@pytest.mark.parametrize("path", PATHS)
def test_every_path_gives_the_oracles_results(results, path):
    csv_path, all_results = results
    r = all_results[path]
    assert r["path"] == path
    rng = np.random.default_rng(11)
    f = rng.standard_normal(100_003) * 1e3 + 7
    i = rng.integers(-(2**40), 2**40, 100_003)
    g = f.astype(np.float32)
    m = np.ascontiguousarray(rng.standard_normal((5001, 7)))
    for name, a in (("f", f), ("i", i), ("g", g)):
        count, total, lo, hi, var = r[name]
        assert (count, lo, hi) == (a.size, float(a.min()), float(a.max())), (path, name)
        assert total == pytest.approx(math.fsum(a.astype(np.float64)), rel=1e-13), (path, name)
        assert var == pytest.approx(float(np.var(a.astype(np.float64))), rel=1e-9), (path, name)
    assert r["i"][1] == int(i.sum())  # integer sums are exact on every path
    np.testing.assert_allclose(r["rows"], [math.fsum(col) for col in m.T], rtol=1e-12)
    assert r["sorted"] == np.sort(f)[::997].tolist()
    assert r["sorted_i"] == np.sort(i)[::997].tolist()
    assert r["quantile"] == np.quantile(f, [0.0, 0.1, 0.5, 0.99, 1.0]).tolist()
    assert r["hist"] == np.histogram(f, bins=37)[0].tolist()
    x = f[::991]
    want = np.where(x > 0, np.log1p(np.abs(x)), np.exp(x / 1000)) + np.sqrt(np.abs(x))
    np.testing.assert_allclose(r["expr"], want, rtol=1e-14)
    import csv

    with open(csv_path) as fh:
        rows = list(csv.reader(fh))[1:]
    a = [int(row[0]) for row in rows]
    assert r["csv"]["a"][:4] == [len(a), sum(a), min(a), max(a)]
    assert r["csv"]["a"][4] == pytest.approx(len(set(a)), rel=0.03)
    c = [float(row[2]) for row in rows]
    assert r["csv"]["c"][1] == pytest.approx(math.fsum(c), rel=1e-12)
    assert (r["csv"]["c"][2], r["csv"]["c"][3]) == (min(c), max(c))


def test_the_paths_agree_where_results_are_exact(results):
    _, all_results = results
    first = all_results[PATHS[0]]
    for p in PATHS[1:]:
        other = all_results[p]
        for key in ("sorted", "sorted_i", "quantile", "hist", "csv"):
            assert other[key] == first[key], (p, key)


def test_asking_for_a_path_the_cpu_lacks_is_refused():
    wider = ORDER[ORDER.index(oxbridge.cpu_path()) + 1 :]
    bad = [(w, "asks for more than this CPU has") for w in wider] + [("neon", "must be scalar, avx2 or avx512")]
    for name, message in bad:
        done = subprocess.run(
            [sys.executable, "-c", "import oxbridge"],
            env=dict(os.environ, OXBRIDGE_CPU=name),
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0 and message in done.stderr, done.stderr[-500:]
