"""Dataset.describe's sketches: quantiles, distinct counts, top values, text extremes and
histograms, and how descriptions merge, travel as bytes, print and export.

Oracles: numpy (`quantile(method="linear")`, `histogram`) over the very values written,
bit for bit where the figures are promised exact; the rank of a sketch's answer in the
sorted data where they are not; `collections.Counter` and Python's `min`/`max`/`set` for
text and distinct counts; pandas for booleans, dates and timestamps; the description of
the concatenated file for merges. Data are generated under tmp_path at test time (seeded):
the big cases have 300,000 rows, written once per module.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import html.parser
import json
import math
import pickle
import random
import struct
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import oxbridge

from _helpers import child_env, json_form, python, run_child

ROOT = Path(__file__).resolve().parents[2]

N_BIG = 300_000
PROBS = (0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0)
RANK_TOL = 0.015  # the KLL bound: 0.0133 * 1.05, rounded up
BIN_TOL = 0.017  # a sketched histogram bin, as a fraction of the values
EXACT_LIMIT = 200  # at most this many values: quantiles and histograms are exact
NULLS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A")
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_RAMP = ".:-=+*#"


# ---------------------------------------------------------------------------------------
# data and oracles
# ---------------------------------------------------------------------------------------


def adversarial(n: int, seed: int) -> dict[str, np.ndarray]:
    """Columns of `n` values that are hard for quantile sketches, by name."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=n)
    with_nan = rng.normal(size=n)
    with_nan[rng.random(n) < 0.2] = np.nan
    with_inf = rng.normal(size=n)
    r = rng.random(n)
    with_inf[r < 0.02] = np.inf
    with_inf[r > 0.98] = -np.inf
    with_inf[0] = np.inf
    if n > 1:
        with_inf[1] = -np.inf
    zeros = np.where(rng.random(n) < 0.5, -0.0, 0.0)
    some = rng.random(n) < 0.1
    zeros[some] = rng.normal(size=int(some.sum())) * 1e-300
    big = rng.integers(2**53, 2**63 - 1, n, dtype=np.int64, endpoint=True)
    big[0] = 2**63 - 1
    return {
        "sorted": np.sort(normal),
        "reversed": np.sort(normal)[::-1].copy(),
        "pareto": rng.pareto(0.7, n),  # no finite mean: a very heavy tail
        "constant": np.full(n, 3.25),
        "duplicates": rng.integers(0, 6, n) * 0.5,
        "nan": with_nan,
        "inf": with_inf,
        "int64_big": big,  # past 2**53, up to the int64 maximum
        "int64_near_2_53": (2**53 + rng.integers(-1500, 1500, n)).astype(np.int64),  # odd ones round in float64
        "int64_signed": rng.integers(-(2**62), 2**62, n, dtype=np.int64),
        "zeros": zeros,  # -0.0 and 0.0 mixed, and a few tiny values
    }


CASES = list(adversarial(4, 0))
FORMATS = ("csv", "npy")


def present(a: np.ndarray) -> np.ndarray:
    """The values a description counts: all of an int array, the non-NaN of a float one."""
    a = np.asarray(a)
    return a if a.dtype.kind in "iu" else a[~np.isnan(a)]


def numpy_quantiles(values: np.ndarray, probs) -> list[float]:
    """numpy.quantile(method="linear"), with the one documented difference: where its
    interpolation makes NaN of an infinity (inf - inf), the endpoint the weight leans to
    (so q=0 and q=1 are the min and the max, and a quantile between -inf and 1.5 is -inf)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = [float(v) for v in np.quantile(values, list(probs), method="linear")]
    if values.size == 0:
        return got
    xs = np.sort(values.astype(np.float64))
    out = []
    for q, v in zip(probs, got):
        if math.isnan(v):
            index = (xs.size - 1) * q
            below = math.floor(index)
            a, b = xs[below], xs[min(below + 1, xs.size - 1)]
            assert math.isinf(a) or math.isinf(b), f"numpy gave NaN at q={q} without an infinity"
            v = float(a if index - below < 0.5 else b)
        out.append(v)
    return out


def same_float(a: float, b: float) -> bool:
    """Bit for bit (any NaN equals any NaN); 0.0 equals -0.0, because the sign of a zero
    quantile depends on where numpy's introselect leaves its signed zeros."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b == 0.0:
        return True
    return struct.pack("<d", float(a)) == struct.pack("<d", float(b))


def within_an_ulp(a: float, b: float) -> bool:
    """For int64 columns past 2**53, whose values the sketch and the exact passes hold as
    float64: numpy interpolates with the exact integer difference, we with the
    difference of the rounded values, which can differ in the last bit."""
    return same_float(a, b) or abs(a - b) <= np.spacing(max(abs(a), abs(b)))


def quantile_mismatches(got: dict, values: np.ndarray, probs) -> list[str]:
    want = numpy_quantiles(values, probs)
    assert set(got) == set(probs), f"probabilities {sorted(got)} != {sorted(probs)}"
    big_ints = values.dtype.kind in "iu" and values.size and int(np.abs(values.astype(object)).max()) > 2**53
    same = within_an_ulp if big_ints else same_float
    return [f"q={q}: got {got[q]!r}, numpy {w!r}" for q, w in zip(probs, want) if not same(got[q], w)]


def rank_violations(got: dict, values: np.ndarray, probs, tol: float = RANK_TOL) -> list[str]:
    """Where the sketch's value for q has no rank within tol of q (q=0 and 1: not min/max)."""
    xs = np.sort(values.astype(np.float64))
    n = xs.size
    bad = []
    for q in probs:
        v = got[q]
        if q in (0.0, 1.0):
            want = float(xs[0] if q == 0.0 else xs[-1])
            if not same_float(v, want) and not (v == want == 0.0):
                bad.append(f"q={q}: got {v!r}, the exact {'min' if q == 0 else 'max'} is {want!r}")
            continue
        if math.isnan(v):
            bad.append(f"q={q}: got NaN")
            continue
        lo = np.searchsorted(xs, v, "left") / n
        hi = np.searchsorted(xs, v, "right") / n
        if not lo - tol <= q <= hi + tol:
            bad.append(f"q={q}: got {v!r} whose rank is [{lo:.5f}, {hi:.5f}]")
    return bad


def assert_histogram(h, values: np.ndarray, bins: int, exact: bool, where: str = "") -> None:
    values = np.asarray(values)
    floats = values.astype(np.float64)
    if values.size == 0 or not np.isfinite(floats).all():
        assert h is None, f"{where}: a column with no values or an infinity has no histogram, got {h}"
        return
    try:
        counts, edges = np.histogram(values, bins=bins)
    except ValueError:  # "too many bins for data range": the edges would not increase
        assert h is None, f"{where}: numpy refuses this histogram, got {h}"
        return
    assert isinstance(h, oxbridge._stats.Histogram), f"{where}: {h!r}"
    assert len(h.counts) == bins and len(h.edges) == bins + 1, where
    scale = max(abs(float(edges[0])), abs(float(edges[-1])), 1e-300)
    np.testing.assert_allclose(h.edges, edges, rtol=1e-12, atol=1e-12 * scale, err_msg=f"{where}: edges")
    assert sum(h.counts) == values.size, f"{where}: counts {h.counts} do not add up to {values.size}"
    if exact:
        assert list(h.counts) == counts.tolist(), f"{where}: counts {h.counts} != numpy's {counts.tolist()}"
    else:
        worst = max(abs(a - int(b)) for a, b in zip(h.counts, counts))
        assert worst <= BIN_TOL * values.size, (
            f"{where}: a bin is off by {worst} > {BIN_TOL} * {values.size}: {h.counts} vs numpy {counts.tolist()}"
        )


def exact_distinct(values) -> int:
    """Distinct values as Python sees them: ints exactly, -0.0 == 0.0."""
    return len(set(np.asarray(values).tolist()))


def assert_distinct(got: int, want: int, where: str = "") -> None:
    if want <= 4096:
        assert got == want, f"{where}: distinct {got} != {want} (exact up to 4096)"
    else:
        assert abs(got - want) <= 0.03 * want, f"{where}: distinct {got} not within 3% of {want}"


def text_of(v: Any) -> str:
    return repr(v) if isinstance(v, float) else str(v)


def write_csv(path: Path, columns: dict[str, Any]) -> Path:
    """A CSV with a header; floats as repr (round-trip), ints in full; csv module quoting."""
    cols = [[text_of(v) for v in (c.tolist() if isinstance(c, np.ndarray) else c)] for c in columns.values()]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(columns))
        writer.writerows(zip(*cols))
    return path


def write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def describe(path: Path, **kw: Any) -> oxbridge.Description:
    return oxbridge.process_large_dataset(path, **kw)


def dump(d: oxbridge.Description) -> str:
    """to_dict() as text: equal texts are equal dicts, NaN included."""
    return repr(d.to_dict())


class Described:
    """Writes the adversarial cases once (one CSV with a column per case, one .npy per
    case) and describes each file at most once per setting."""

    def __init__(self, folder: Path, n: int, seed: int) -> None:
        self.folder = folder
        self.data = adversarial(n, seed)
        self.csv = write_csv(folder / "cases.csv", self.data)
        self.npy = {}
        for name, a in self.data.items():
            self.npy[name] = folder / f"{name}.npy"
            np.save(self.npy[name], a)
        self._cache: dict[tuple, Any] = {}

    def column(self, fmt: str, case: str, **kw: Any) -> tuple[Any, str]:
        """(stats, dtype) of the case's column."""
        key = (fmt, case if fmt == "npy" else None, tuple(sorted(kw.items())))
        if key not in self._cache:
            self._cache[key] = describe(self.csv if fmt == "csv" else self.npy[case], **kw)
        d = self._cache[key]
        name = case if fmt == "csv" else "0"
        return d[name], d.dtypes[name]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Described:
    return Described(tmp_path_factory.mktemp("big"), N_BIG, 20240601)


SMALL_SIZES = (1, 2, 5, EXACT_LIMIT)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> dict[int, Described]:
    return {n: Described(tmp_path_factory.mktemp(f"small{n}"), n, 7 + n) for n in SMALL_SIZES}


BIG_IDS = [f"{fmt}-{case}" for fmt in FORMATS for case in CASES]
BIG_PARAMS = [(fmt, case) for fmt in FORMATS for case in CASES]


def expected_dtype(fmt: str, case: str) -> str:
    return "int64" if case.startswith("int64") else "float64"


# ---------------------------------------------------------------------------------------
# quantiles on 300,000 adversarial values
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "case"), BIG_PARAMS, ids=BIG_IDS)
def test_exact_quantiles_equal_numpy_bit_for_bit(big, fmt, case):
    s, dtype = big.column(fmt, case, percentiles=PROBS, exact_quantiles=True)
    values = present(big.data[case])
    assert dtype == expected_dtype(fmt, case)
    assert (s.count, s.nan_count) == (values.size, big.data[case].size - values.size)
    bad = quantile_mismatches(s.quantiles, values, PROBS)
    assert not bad, f"{fmt} {case}: exact quantiles differ from numpy.quantile:\n" + "\n".join(bad)


@pytest.mark.parametrize(("fmt", "case"), BIG_PARAMS, ids=BIG_IDS)
def test_sketched_quantiles_have_the_rank_bound(big, fmt, case):
    s, _ = big.column(fmt, case, percentiles=PROBS)
    values = present(big.data[case])
    assert s.min == values.min() and s.max == values.max()
    bad = rank_violations(s.quantiles, values, PROBS)
    assert not bad, f"{fmt} {case}: sketched quantiles out of the rank bound:\n" + "\n".join(bad)


@pytest.mark.parametrize(("fmt", "case"), BIG_PARAMS, ids=BIG_IDS)
def test_sketched_histogram_is_within_the_bin_bound(big, fmt, case):
    s, _ = big.column(fmt, case, percentiles=PROBS)
    assert_histogram(s.histogram, present(big.data[case]), 10, exact=False, where=f"{fmt} {case}")


@pytest.mark.parametrize(("fmt", "case"), BIG_PARAMS, ids=BIG_IDS)
def test_distinct_of_big_columns(big, fmt, case):
    s, _ = big.column(fmt, case, percentiles=PROBS)
    assert_distinct(s.distinct, exact_distinct(present(big.data[case])), f"{fmt} {case}")


def test_exact_quantiles_of_a_big_column_with_nan_in_the_csv(tmp_path):
    """'nan' and the other missing texts in a CSV are missing values, not values."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=5_000)
    markers = [m for m in NULLS if m]  # an empty field of a one-column file is a blank line: skipped
    texts = [markers[i % len(markers)] if i % 7 == 0 else repr(v) for i, v in enumerate(x.tolist())]
    path = write_text(tmp_path / "n.csv", "x\n" + "\n".join(texts) + "\n")
    s = describe(path, percentiles=PROBS, exact_quantiles=True)["x"]
    values = np.array([float(t) for t in texts if t not in markers])
    assert (s.count, s.nan_count) == (values.size, len(texts) - values.size)
    assert not quantile_mismatches(s.quantiles, values, PROBS)


# ---------------------------------------------------------------------------------------
# small columns: exact without asking
# ---------------------------------------------------------------------------------------

SMALL_PARAMS = [(fmt, n, case) for fmt in FORMATS for n in SMALL_SIZES for case in CASES]
SMALL_IDS = [f"{fmt}-n{n}-{case}" for fmt, n, case in SMALL_PARAMS]


@pytest.mark.parametrize(("fmt", "n", "case"), SMALL_PARAMS, ids=SMALL_IDS)
def test_small_columns_are_exact_without_the_option(small, fmt, n, case):
    s, _ = small[n].column(fmt, case, percentiles=PROBS, bins=7)
    values = present(small[n].data[case])
    where = f"{fmt} n={n} {case}"
    assert s.distinct == exact_distinct(values), where
    assert_histogram(s.histogram, values, 7, exact=True, where=where)
    if values.size:
        bad = quantile_mismatches(s.quantiles, values, PROBS)
        assert not bad, f"{where}: quantiles differ from numpy.quantile:\n" + "\n".join(bad)


@pytest.mark.parametrize("fmt", FORMATS)
def test_200_values_and_nans_are_still_exact(tmp_path, fmt):
    """At most 200 non-NaN values: exact, however many NaN rows there are."""
    rng = np.random.default_rng(11)
    a = rng.pareto(1.0, 500)
    a[rng.permutation(500)[:300]] = np.nan
    path = tmp_path / f"x.{fmt}"
    if fmt == "npy":
        np.save(path, a)
    else:
        write_csv(path, {"0": a})
    s = describe(path, percentiles=PROBS)["0"]
    values = present(a)
    assert (s.count, s.nan_count) == (200, 300)
    assert not quantile_mismatches(s.quantiles, values, PROBS)
    assert_histogram(s.histogram, values, 10, exact=True)


def test_all_missing_column_has_no_histogram_and_no_distinct(tmp_path):
    path = write_text(tmp_path / "m.csv", "x,y\n" + "NA,1\n" * 5)
    s = describe(path)["x"]
    assert (s.count, s.nan_count, s.distinct, s.histogram) == (0, 5, 0, None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.one_of(st.floats(min_value=-1e200, max_value=1e200), st.just(math.nan)), min_size=1, max_size=80
    ),
    bins=st.integers(1, 12),
)
def test_generated_small_columns_equal_numpy(tmp_path, values, bins):
    a = np.array(values, dtype=np.float64)
    np.save(tmp_path / "g.npy", a)
    write_csv(tmp_path / "g.csv", {"0": a})
    kept = present(a)
    for path in (tmp_path / "g.npy", tmp_path / "g.csv"):
        s = describe(path, percentiles=PROBS, bins=bins)["0"]
        assert s.distinct == exact_distinct(kept), path.suffix
        assert_histogram(s.histogram, kept, bins, exact=True, where=path.suffix)
        if kept.size:
            assert not quantile_mismatches(s.quantiles, kept, PROBS), path.suffix


def test_int64_past_2_53_in_a_small_csv(tmp_path):
    """Two ints 2**53+1 and 2**53+2: numpy's int64 quantile is float(a) + float(b-a)*t."""
    ints = np.array([2**53 + 1, 2**53 + 2, 2**63 - 1, 2**63 - 2, -(2**62) - 1], dtype=np.int64)
    path = write_csv(tmp_path / "i.csv", {"i": ints})
    d = describe(path, percentiles=PROBS)
    s = d["i"]
    assert d.dtypes["i"] == "int64"
    assert (s.min, s.max, s.sum) == (int(ints.min()), int(ints.max()), sum(ints.tolist()))
    assert s.distinct == 5
    assert not quantile_mismatches(s.quantiles, ints, PROBS)


@pytest.mark.parametrize(
    ("values", "probs"),
    [([-math.inf, 1.5], (0.25,)), ([-math.inf, -math.inf, 0.0], (0.0,)), ([1.0, math.inf], (1.0,))],
    ids=["interpolated-from--inf", "min-is--inf", "max-is-inf"],
)
def test_infinities_numpy_versus_the_min_max_promise(tmp_path, values, probs):
    """The smallest cases where numpy.quantile gives NaN (inf - inf in its interpolation)
    of data with no NaN: we give the infinity the weight leans to, so q=0 and q=1 are
    the exact min and max, as KllSketch documents."""
    a = np.array(values)
    np.save(tmp_path / "x.npy", a)
    for exact in (False, True):
        s = describe(tmp_path / "x.npy", percentiles=probs, exact_quantiles=exact)["0"]
        with np.errstate(invalid="ignore"):
            assert math.isnan(np.quantile(a, probs[0])), "the case must be one where numpy gives NaN"
        assert not quantile_mismatches(s.quantiles, a, probs)
        assert math.isinf(s.quantiles[probs[0]])


# ---------------------------------------------------------------------------------------
# distinct counts
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 100, 4000, 4096])
def test_distinct_exact_up_to_4096(tmp_path, k):
    rng = np.random.default_rng(k)
    a = rng.permutation(np.repeat(np.append(rng.normal(size=k - 1), 0.0), 3))
    a[a == 0] = [-0.0, 0.0, -0.0]  # one distinct value
    np.save(tmp_path / "d.npy", a)
    texts = [f"v{int(i)}" for i in rng.integers(0, k, 3 * k)]
    write_csv(tmp_path / "t.csv", {"t": texts})
    assert describe(tmp_path / "d.npy")["0"].distinct == exact_distinct(a)
    assert describe(tmp_path / "t.csv")["t"].distinct == len(set(texts))


def test_negative_zero_is_zero_for_distinct(tmp_path):
    path = write_text(tmp_path / "z.csv", "z\n-0.0\n0.0\n0\n-0\n1.5\n")
    s = describe(path)["z"]
    assert s.distinct == 2


def test_distinct_of_300k_texts_within_3_percent(tmp_path):
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 10**9, N_BIG)
    texts = [f"id-{i:x}" for i in ids.tolist()]
    write_csv(tmp_path / "t.csv", {"t": texts})
    s = describe(tmp_path / "t.csv")["t"]
    want = len(set(texts))
    assert abs(s.distinct - want) <= 0.03 * want, (s.distinct, want)
    assert (s.min, s.max) == (min(texts), max(texts))


# ---------------------------------------------------------------------------------------
# text: top value, extremes, lengths
# ---------------------------------------------------------------------------------------


def assert_text_like_counter(s, values: list[str], nulls: int, where: str = "") -> None:
    counter = collections.Counter(values)
    best = max(counter.values())
    top = min(v for v, c in counter.items() if c == best)
    assert (s.count, s.nan_count) == (len(values), nulls), where
    assert (s.min_len, s.max_len) == (min(map(len, values)), max(map(len, values))), where
    assert (s.min, s.max) == (min(values), max(values)), where
    assert_distinct(s.distinct, len(counter), where)
    if len(counter) <= 1024:
        assert (s.top, s.top_count, s.top_error) == (top, best, 0), where


def test_text_against_counter(tmp_path):
    values = ["b", "a", "b", "a", "c", "é", "日本", "a,b", 'say "hi"', "zz z", "Z", "\u00e9t\u00e9", "~"]
    nulls = list(NULLS)
    rows = values + nulls + ["b", "a"]
    random.Random(1).shuffle(rows)
    rows = ["word"] + rows  # a text first: no guessing it is numbers
    write_csv(tmp_path / "t.csv", {"t": rows})
    values = ["word"] + values + ["b", "a"]
    s = describe(tmp_path / "t.csv")["t"]
    assert_text_like_counter(s, values, len(nulls))
    assert s.top == "a" and s.top_count == 3  # tied with "b": the smaller in code-point order


def test_text_ties_go_to_the_smallest(tmp_path):
    write_csv(tmp_path / "t.csv", {"t": ["b", "c", "a", "c", "b", "a", "B"]})
    s = describe(tmp_path / "t.csv")["t"]
    assert (s.top, s.top_count, s.top_error) == ("a", 2, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), min_size=1, max_size=6).filter(
            lambda t: t not in NULLS and t.strip() == t
        ),
        min_size=1,
        max_size=60,
    )
)
def test_generated_text_against_counter(tmp_path, values):
    rows = ["text:"] + values
    write_csv(tmp_path / "t.csv", {"t": rows})
    d = describe(tmp_path / "t.csv")
    assert d.dtypes["t"] == "text"
    assert_text_like_counter(d["t"], rows, 0)


def test_top_value_past_1024_distinct(tmp_path):
    rng = np.random.default_rng(8)
    n = N_BIG
    keys = rng.integers(0, 200_000, n)
    dominant = rng.random(n) < 0.05
    texts = ["dominant" if d else f"k{k}" for d, k in zip(dominant.tolist(), keys.tolist())]
    write_csv(tmp_path / "t.csv", {"t": texts})
    s = describe(tmp_path / "t.csv")["t"]
    counter = collections.Counter(texts)
    assert s.count == n and s.nan_count == 0
    assert s.top == "dominant"
    true = counter["dominant"]
    assert true - s.top_error <= s.top_count <= true, (s.top_count, s.top_error, true)
    assert s.top_error <= n / 1025, s.top_error
    assert (s.min, s.max) == (min(texts), max(texts))
    assert abs(s.distinct - len(counter)) <= 0.03 * len(counter)


# ---------------------------------------------------------------------------------------
# numbers first, text later: a text column of the text of every value
# ---------------------------------------------------------------------------------------


def test_mixed_column_of_the_spec(tmp_path):
    d = describe(write_text(tmp_path / "m.csv", "v\n1\n2\nx\n1\n"))
    s = d["v"]
    assert d.dtypes["v"] == "text"
    assert (s.count, s.distinct, s.top, s.top_count, s.top_error) == (4, 3, "1", 2, 0)
    assert (s.min, s.max, s.min_len, s.max_len) == ("1", "x", 1, 1)


def test_mixed_column_keeps_the_text_of_numbers_across_chunks(tmp_path):
    """Many numeric rows (several chunks) written in several forms, then text: every
    figure is that of the texts as written ("1.0" and "1" are distinct)."""
    rng = np.random.default_rng(4)
    forms = ["1", "1.0", "01", "1e0", "2.50", "2.5", "-0", "0", "-3", "10"]
    texts = [forms[i] for i in rng.integers(0, len(forms), 200_000)] + ["x", "NA", "abc", "1"]
    write_csv(tmp_path / "m.csv", {"v": texts})
    d = describe(tmp_path / "m.csv")
    assert d.dtypes["v"] == "text"
    assert_text_like_counter(d["v"], [t for t in texts if t != "NA"], 1)


# ---------------------------------------------------------------------------------------
# booleans and temporal columns against pandas
# ---------------------------------------------------------------------------------------


def test_bool_against_pandas(tmp_path):
    rng = np.random.default_rng(6)
    forms = ["true", "false", "True", "False", "TRUE", "FALSE", "NA", ""]
    texts = [forms[i] for i in rng.integers(0, len(forms), 5_000)]
    texts[0] = "true"
    write_csv(tmp_path / "b.csv", {"flag": texts, "all_false": ["false"] * len(texts)})
    d = describe(tmp_path / "b.csv")
    frame = pd.read_csv(tmp_path / "b.csv")
    for name in ("flag", "all_false"):
        s, col = d[name], frame[name].dropna().astype(bool)
        assert d.dtypes[name] == "bool"
        assert isinstance(s, oxbridge.BoolStats)
        assert (s.count, s.nan_count, s.true_count) == (len(col), len(texts) - len(col), int(col.sum()))
        assert s.mean == pytest.approx(col.mean(), rel=1e-12)
        assert s.distinct == col.nunique()


def _micros(x: dt.datetime) -> int:
    return (x - EPOCH) // dt.timedelta(microseconds=1)


def _temporal_texts(n: int, seed: int, dates: bool) -> list[str]:
    rng = np.random.default_rng(seed)
    if dates:
        days = rng.integers(-25_000, 45_000, n)  # 1901 to 2093
        return [(dt.date(1970, 1, 1) + dt.timedelta(days=int(d))).isoformat() for d in days]
    micros = rng.integers(-(2**50), 2**51, n)
    offsets = rng.integers(-12, 13, n)
    return [
        (EPOCH + dt.timedelta(microseconds=int(m))).astimezone(dt.timezone(dt.timedelta(hours=int(h)))).isoformat()
        for m, h in zip(micros, offsets)
    ]


def _pandas_instants(texts: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(texts, utc=True, format="ISO8601"))


def _ns(x: dt.datetime) -> int:
    return _micros(x) * 1000


@pytest.mark.parametrize("kind", ["date", "datetime"])
@pytest.mark.parametrize(("n", "exact"), [(150, False), (50_000, True)], ids=["150-values", "50k-exact"])
def test_temporal_quantiles_against_pandas(tmp_path, kind, n, exact):
    texts = _temporal_texts(n, n, kind == "date")
    rows = list(texts)
    for i in range(0, n, 13):
        rows[i] = "NA"
    kept = [t for t in rows if t != "NA"]
    write_csv(tmp_path / "t.csv", {"t": rows})
    d = describe(tmp_path / "t.csv", percentiles=PROBS, exact_quantiles=exact)
    s = d["t"]
    assert d.dtypes["t"] == kind and isinstance(s, oxbridge.TemporalStats)
    series = _pandas_instants(kept)
    assert (s.count, s.nan_count) == (len(kept), n - len(kept))
    assert_distinct(s.distinct, series.nunique(), kind)
    if kind == "date":
        assert (s.min, s.max) == (
            min(dt.date.fromisoformat(t) for t in kept),
            max(dt.date.fromisoformat(t) for t in kept),
        )
    else:
        assert (_ns(s.min), _ns(s.max)) == (series.min().value, series.max().value)
    assert abs(_ns(s.mean) - series.mean().value) <= 1000  # ours: the exact mean to the nearest µs
    for q in PROBS:
        got = s.quantiles[q]
        assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(0), (q, got)
        want = series.quantile(q).value
        # Ours is rounded to the microsecond, pandas' is truncated to the nanosecond.
        assert abs(_ns(got) - want) <= 1000, f"q={q}: {got.isoformat()} vs pandas {series.quantile(q)}"


@pytest.mark.parametrize("kind", ["date", "datetime"])
def test_temporal_histogram_and_sketch(tmp_path, kind):
    small_texts = _temporal_texts(120, 1, kind == "date")
    big_texts = _temporal_texts(100_000, 2, kind == "date")
    unit = 86_400_000_000 if kind == "date" else 1
    for texts, exact in ((small_texts, True), (big_texts, False)):
        write_csv(tmp_path / "t.csv", {"t": texts})
        s = describe(tmp_path / "t.csv", percentiles=PROBS, bins=6)["t"]
        micros = np.array([v.value // 1000 for v in _pandas_instants(texts)], dtype=np.int64)
        numbers = micros // unit
        h = s.histogram
        counts, edges = np.histogram(numbers.astype(np.float64), bins=6)
        assert all(isinstance(e, dt.datetime) for e in h.edges)
        got_edges = [_micros(e) for e in h.edges]
        np.testing.assert_allclose(got_edges, edges * unit, rtol=0, atol=1.0)
        assert sum(h.counts) == len(texts)
        if exact:
            assert list(h.counts) == counts.tolist()
        else:
            assert max(abs(a - int(b)) for a, b in zip(h.counts, counts)) <= BIN_TOL * len(texts)
            got = {q: float(_micros(v)) / unit for q, v in s.quantiles.items()}
            assert not rank_violations(got, numbers.astype(np.float64), PROBS, RANK_TOL + 1e-6)


# ---------------------------------------------------------------------------------------
# merge and combine against describing the whole
# ---------------------------------------------------------------------------------------


def _mixed_columns(n: int, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    ints = rng.integers(-(2**40), 2**40, n)
    floats = rng.normal(size=n)
    return {
        "i": [str(v) for v in ints.tolist()],
        "f": ["nan" if j % 9 == 0 else repr(v) for j, v in enumerate(floats.tolist())],
        "t": [f"w{v}" for v in rng.integers(0, 300, n).tolist()],
        "b": [["true", "false", "NA"][v] for v in rng.integers(0, 3, n).tolist()],
        "d": _temporal_texts(n, seed, True),
        "at": _temporal_texts(n, seed + 1, False),
    }


def _split_files(folder: Path, columns: dict[str, list[str]], sizes: list[int]) -> tuple[Path, list[Path]]:
    whole = write_csv(folder / "whole.csv", columns)
    parts, start = [], 0
    for k, size in enumerate(sizes):
        part = {name: values[start : start + size] for name, values in columns.items()}
        parts.append(write_csv(folder / f"part{k}.csv", part))
        start += size
    return whole, parts


def assert_merged_like_whole(merged, whole, exact_quantiles: bool, data: dict[str, np.ndarray] | None = None):
    assert list(merged) == list(whole)
    assert merged.dtypes == whole.dtypes
    assert merged.num_rows == whole.num_rows
    for name in whole:
        m, w = merged[name], whole[name]
        assert type(m) is type(w), name
        assert (m.count, m.nan_count) == (w.count, w.nan_count), name
        if not isinstance(w, oxbridge.BoolStats):
            assert (m.min, m.max) == (w.min, w.max), name
        if isinstance(w, oxbridge.TextStats):
            assert (m.min_len, m.max_len, m.distinct) == (w.min_len, w.max_len, w.distinct), name
            assert (m.top, m.top_count) == (w.top, w.top_count), name
            continue
        assert m.distinct == w.distinct, name
        if isinstance(w, oxbridge.BoolStats):
            assert (m.true_count, m.mean) == (w.true_count, w.mean), name
            continue
        if isinstance(w, oxbridge.TemporalStats):
            assert abs(_micros(m.mean) - _micros(w.mean)) <= 1, name
            if exact_quantiles:
                assert m.quantiles == w.quantiles, name
            continue
        if isinstance(w.sum, int):
            assert m.sum == w.sum, name
        else:
            assert m.sum == pytest.approx(w.sum, rel=1e-12), name
        assert m.mean == pytest.approx(w.mean, rel=1e-12), name
        assert m.std == pytest.approx(w.std, rel=1e-12), name
        if exact_quantiles:
            assert all(same_float(m.quantiles[q], w.quantiles[q]) for q in w.quantiles), (name, m.quantiles)
            assert m.histogram == w.histogram, name
        elif data is not None:
            assert not rank_violations(m.quantiles, data[name], list(m.quantiles)), name


def test_combine_of_small_parts_equals_the_whole(tmp_path):
    columns = _mixed_columns(150, 1)
    whole_path, part_paths = _split_files(tmp_path, columns, [40, 60, 50])
    whole = describe(whole_path, percentiles=PROBS)
    parts = [describe(p, percentiles=PROBS) for p in part_paths]
    assert_merged_like_whole(oxbridge.Description.combine(parts), whole, exact_quantiles=True)
    assert_merged_like_whole(parts[0].merge(parts[1]).merge(parts[2]), whole, exact_quantiles=True)
    assert_merged_like_whole(parts[0].merge(parts[1].merge(parts[2])), whole, exact_quantiles=True)
    assert parts[0].num_rows == 40  # merging changed no part


def test_merge_of_big_parts_equals_the_whole(tmp_path):
    columns = _mixed_columns(90_000, 2)
    whole_path, part_paths = _split_files(tmp_path, columns, [30_000, 45_000, 15_000])
    whole = describe(whole_path)
    merged = oxbridge.Description.combine([describe(p) for p in part_paths])
    data = {
        "i": np.array([int(v) for v in columns["i"]], dtype=np.int64),
        "f": present(np.array([float(v) for v in columns["f"]])),
    }
    assert_merged_like_whole(merged, whole, exact_quantiles=False, data=data)
    for name in ("i", "f"):
        assert_histogram(merged[name].histogram, data[name], 10, exact=False, where=name)


def test_merge_int_part_with_float_part_is_float(tmp_path):
    a = describe(write_text(tmp_path / "a.csv", "v\n1\n2\n"))
    b = describe(write_text(tmp_path / "b.csv", "v\n1.5\n"))
    whole = describe(write_text(tmp_path / "w.csv", "v\n1\n2\n1.5\n"))
    assert_merged_like_whole(a.merge(b), whole, exact_quantiles=True)


def test_merge_numbers_part_with_text_part_is_text_without_partial_figures(tmp_path):
    """A part that read the column as numbers kept no text sketches: the merged column is
    text with the counts and lengths of all, and no distinct/top/min/max of only some."""
    a = describe(write_text(tmp_path / "a.csv", "w\n1\n22\n"))
    b = describe(write_text(tmp_path / "b.csv", "w\nx\n1\nNA\n"))
    whole = describe(write_text(tmp_path / "w.csv", "w\n1\n22\nx\n1\nNA\n"))
    assert (whole["w"].top, whole["w"].min, whole["w"].distinct, whole["w"].mixed) == ("1", "1", 3, False)
    for merged in (a.merge(b), b.merge(a), oxbridge.Description.combine([b, a, b]).merge(a)):
        m = merged["w"]
        assert merged.dtypes["w"] == "text" and isinstance(m, oxbridge.TextStats) and m.mixed
        assert (m.distinct, m.top, m.top_count, m.min, m.max) == (None,) * 5
    m = a.merge(b)["w"]
    assert (m.count, m.nan_count, m.min_len, m.max_len) == (4, 1, 1, 2)
    assert a.merge(b).to_dict()["w"]["mixed"] is True
    assert "mixed" not in repr(whole["w"])  # shown only where it matters: the table


def test_merge_of_different_columns_raises(tmp_path):
    assert "InvalidArgumentError" in oxbridge.__all__
    a = describe(write_text(tmp_path / "a.csv", "v,w\n1,2\n"))
    b = describe(write_text(tmp_path / "b.csv", "v\n1\n"))
    c = describe(write_text(tmp_path / "c.csv", "v,x\n1,2\n"))
    for other in (b, c):
        with pytest.raises(oxbridge.InvalidArgumentError):
            a.merge(other)
        with pytest.raises(oxbridge.InvalidArgumentError):
            oxbridge.Description.combine([a, a, other])


# ---------------------------------------------------------------------------------------
# bytes and pickle
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_description(tmp_path_factory) -> oxbridge.Description:
    folder = tmp_path_factory.mktemp("mixed")
    return describe(write_csv(folder / "m.csv", _mixed_columns(30, 3)), percentiles=PROBS)


def test_bytes_round_trip(mixed_description, big):
    for d in (mixed_description, describe(big.csv, percentiles=PROBS)):
        back = oxbridge.Description.from_bytes(d.to_bytes(), percentiles=d._settings.percentiles)
        assert dump(back) == dump(d)
        assert back.num_rows == d.num_rows
        assert back.to_bytes() == d.to_bytes()


def test_bytes_round_trip_keeps_an_npy_dtype(tmp_path):
    np.save(tmp_path / "f.npy", np.arange(10, dtype=np.float32))
    d = describe(tmp_path / "f.npy")
    assert d.dtypes == {"0": "float32"}
    assert dump(oxbridge.Description.from_bytes(d.to_bytes())) == dump(d)


def test_from_bytes_with_other_percentiles_and_bins(tmp_path):
    a = np.random.default_rng(2).pareto(1.0, 150)
    np.save(tmp_path / "x.npy", a)
    d = oxbridge.Description.from_bytes(describe(tmp_path / "x.npy").to_bytes(), percentiles=(0.1, 0.9), bins=5)
    s = d["0"]
    assert not quantile_mismatches(s.quantiles, a, (0.1, 0.9))
    assert_histogram(s.histogram, a, 5, exact=True)


def test_pickle_round_trip(mixed_description, tmp_path):
    back = pickle.loads(pickle.dumps(mixed_description))
    assert dump(back) == dump(mixed_description) and back.num_rows == mixed_description.num_rows
    np.save(tmp_path / "f.npy", np.arange(10, dtype=np.float32))
    d = describe(tmp_path / "f.npy", percentiles=(0.5,), bins=3)
    back = pickle.loads(pickle.dumps(d))
    assert dump(back) == dump(d)


def test_every_truncation_raises_data_format_error(mixed_description):
    data = mixed_description.to_bytes()
    assert len(data) > 16
    wrong = []
    for length in range(len(data)):
        try:
            oxbridge.Description.from_bytes(data[:length])
        except oxbridge.DataFormatError:
            continue
        except Exception as e:  # noqa: BLE001 - collected for the message
            wrong.append(f"{length}: {type(e).__name__}: {e}")
        else:
            wrong.append(f"{length}: returned a Description")
    assert not wrong, f"{len(wrong)} of {len(data)} truncations did not raise DataFormatError:\n" + "\n".join(
        wrong[:20]
    )


@pytest.mark.parametrize("rows", [30, 3_000], ids=["exact-sketches", "full-sketches"])
def test_single_byte_corruptions_raise_or_read(tmp_path, rows):
    data = describe(write_csv(tmp_path / "m.csv", _mixed_columns(rows, 4))).to_bytes()
    rng = random.Random(rows)
    wrong = []
    positions = list(range(min(len(data), 64))) + [rng.randrange(len(data)) for _ in range(300)]
    for pos in positions:
        corrupt = bytearray(data)
        corrupt[pos] ^= rng.randrange(1, 256)
        try:
            d = oxbridge.Description.from_bytes(bytes(corrupt))
            d.to_dict()
            repr(d)
        except oxbridge.DataFormatError:
            continue
        except Exception as e:  # noqa: BLE001 - collected for the message
            wrong.append(f"byte {pos}: {type(e).__name__}: {e}")
    assert not wrong, f"{len(wrong)} corruptions raised other errors:\n" + "\n".join(wrong[:20])


def test_garbage_bytes_raise_data_format_error():
    for data in (b"", b"\x00", b"oxbridge", bytes(100), bytes(range(256))):
        with pytest.raises(oxbridge.DataFormatError):
            oxbridge.Description.from_bytes(data)


# ---------------------------------------------------------------------------------------
# printing, HTML, JSON, pandas
# ---------------------------------------------------------------------------------------


def expected_sparkline(counts, glyphs: str) -> str:
    top = max(counts)
    return "".join(" " if c == 0 else glyphs[max(1, math.ceil(c * len(glyphs) / top)) - 1] for c in counts)


def _histogram_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith("histogram")]
    assert len(lines) == 1, text
    return lines[0][len("histogram") :]


@pytest.mark.parametrize("ascii_env", [None, "1"], ids=["blocks", "OXBRIDGE_ASCII"])
def test_print_shows_a_sparkline_row(mixed_description, capsys, monkeypatch, ascii_env):
    if ascii_env:
        monkeypatch.setenv("OXBRIDGE_ASCII", ascii_env)
    else:
        monkeypatch.delenv("OXBRIDGE_ASCII", raising=False)
    print(mixed_description)
    line = _histogram_line(capsys.readouterr().out)
    glyphs = ASCII_RAMP if ascii_env else BLOCKS
    assert set(line) <= set(glyphs + " "), line
    for name, s in mixed_description.items():
        h = getattr(s, "histogram", None)
        if h is not None:
            assert expected_sparkline(h.counts, glyphs) in line, (name, h.counts, line)


class _TagChecker(html.parser.HTMLParser):
    VOID: ClassVar[set[str]] = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.starts: collections.Counter[str] = collections.Counter()
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.starts[tag] += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_has_one_svg_per_histogram_and_parses(tmp_path):
    columns = _mixed_columns(40, 5)
    columns["t"] = ["<b>&amp;</b>"] + columns["t"][1:]
    columns["<col>"] = ["1.5"] * 40
    d = describe(write_csv(tmp_path / "h.csv", columns))
    text = d._repr_html_()
    with_histogram = sum(getattr(s, "histogram", None) is not None for s in d.values())
    assert with_histogram == 5  # i, f, d, at, <col>
    assert text.count("<svg") == with_histogram
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.problems and not checker.stack, (checker.problems, checker.stack)
    assert checker.starts["svg"] == with_histogram and "b" not in checker.starts
    assert "<b>&amp;</b>" in "".join(checker.text) and "<col>" in "".join(checker.text)


def test_json_is_strict_and_matches_to_dict(tmp_path):
    path = write_text(tmp_path / "j.csv", "x,one,inf,t\n1.5,7,inf,a\n2.5,NA,1,b\n-1,NA,-inf,a\n")
    d = describe(path, percentiles=(0.1, 0.5))

    def no_constants(name):
        raise ValueError(f"JSON holds {name}")

    out = json.loads(d.to_json(), parse_constant=no_constants)
    assert out == json_form(d.to_dict())
    assert set(out["x"]["quantiles"]) == {"0.1", "0.5"}
    assert out["one"]["std"] is None  # NaN: one value with ddof=1
    assert out["inf"]["min"] is None and out["inf"]["histogram"] is None
    assert out["t"]["top"] == "a" and out["x"]["histogram"]["counts"] == [1, 0, 0, 0, 0, 0, 0, 1, 0, 1]


def test_to_pandas_rows(mixed_description):
    frame = mixed_description.to_pandas()
    for label in ("25%", "50%", "75%", "top", "distinct", "count", "mean"):
        assert label in frame.index, label
    f, t = mixed_description["f"], mixed_description["t"]
    assert frame.loc["25%", "f"] == f.quantiles[0.25] and frame.loc["75%", "f"] == f.quantiles[0.75]
    assert frame.loc["0.1%", "f"] == f.quantiles[0.001]
    assert frame.loc["distinct", "f"] == f.distinct and frame.loc["distinct", "t"] == t.distinct
    assert frame.loc["top", "t"] == t.top and frame.loc["top_count", "t"] == t.top_count
    assert list(frame.columns) == list(mixed_description)


# ---------------------------------------------------------------------------------------
# the command line and bad arguments
# ---------------------------------------------------------------------------------------


def test_cli_json_with_percentiles_exact_quantiles_and_bins(tmp_path):
    rng = np.random.default_rng(12)
    x = rng.pareto(1.0, 1_000)
    path = write_csv(tmp_path / "c.csv", {"x": x, "t": [f"w{i % 7}" for i in range(1_000)]})
    command = python("-m", "oxbridge", "describe", str(path), "--json", "--percentiles", "0.1,0.9")
    command += ["--exact-quantiles", "--bins", "5"]
    child = run_child(command, timeout=60, env=child_env(PYTHONPATH="py"), cwd=ROOT)
    assert child.returncode == 0, child.describe()
    out = json.loads(child.stdout)
    col = out["x"]
    assert set(col["quantiles"]) == {"0.1", "0.9"}
    got = {0.1: col["quantiles"]["0.1"], 0.9: col["quantiles"]["0.9"]}
    assert not quantile_mismatches(got, x, (0.1, 0.9))
    assert len(col["histogram"]["counts"]) == 5 and len(col["histogram"]["edges"]) == 6
    assert sum(col["histogram"]["counts"]) == 1_000
    counts, _ = np.histogram(x, bins=5)
    assert max(abs(a - int(b)) for a, b in zip(col["histogram"]["counts"], counts)) <= BIN_TOL * 1_000
    assert out["t"]["top"] == "w0" and "quantiles" not in out["t"]


@pytest.mark.parametrize("args", [["--percentiles", "1.5"], ["--percentiles", "x"], ["--bins", "0"]])
def test_cli_bad_options_exit_1(tmp_path, args):
    path = write_text(tmp_path / "c.csv", "x\n1\n2\n")
    child = run_child(
        python("-m", "oxbridge", "describe", str(path), *args), timeout=60, env=child_env(PYTHONPATH="py"), cwd=ROOT
    )
    assert child.returncode == 1, child.describe()
    assert child.stderr.startswith("oxbridge: ") and "Traceback" not in child.stderr, child.describe()


BAD_OPTIONS = [
    {"percentiles": (-0.1,)},
    {"percentiles": (0.5, 1.5)},
    {"percentiles": (math.nan,)},
    {"bins": 0},
    {"bins": -3},
]


@pytest.mark.parametrize("options", BAD_OPTIONS, ids=lambda o: repr(o))
def test_bad_percentiles_and_bins_raise_value_error(tmp_path, options):
    path = write_text(tmp_path / "c.csv", "x\n1\n2\n")
    with pytest.raises(ValueError):
        oxbridge.process_large_dataset(path, **options)
    with oxbridge.Dataset.open(path) as ds, pytest.raises(ValueError):
        ds.describe(**options)
    data = describe(path).to_bytes()
    with pytest.raises(ValueError):
        oxbridge.Description.from_bytes(data, **options)


def test_open_options_and_columns_pass_through(tmp_path):
    path = write_text(tmp_path / "c.txt", "a;b\n1;x\n3;y\n-;x\n")
    d = oxbridge.process_large_dataset(path, ["a"], delimiter=";", null_values=["-"], bins=2, percentiles=(0.5,))
    assert list(d) == ["a"] and d.num_rows == 3
    s = d["a"]
    assert (s.count, s.nan_count, s.quantiles, s.histogram.counts) == (2, 1, {0.5: 2.0}, (1, 1))
