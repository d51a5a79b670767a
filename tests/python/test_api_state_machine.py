"""A hypothesis state machine over the Python API: random sequences of
creating, using, merging, resetting and closing accumulators, expressions and datasets,
checked after every step against a plain-Python model (math.fsum, the csv module, Python
math) and against the library's live-handle count. No sequence may crash, leak a handle,
or let a closed handle do work."""

from __future__ import annotations

import gc
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

import oxbridge
from oxbridge._loader import lib

finite = st.floats(-1e6, 1e6, allow_nan=False, width=64)
values = st.lists(st.one_of(finite, st.just(math.nan)), max_size=40)
EXPRESSIONS = {
    "2*x + 1": lambda x: 2 * x + 1,
    "where(x > 0, sqrt(x), -x)": lambda x: math.sqrt(x) if x > 0 else -x,
    "abs(x) - x*x": lambda x: abs(x) - x * x,
    "minimum(x, 3)": lambda x: min(x, 3.0) if not math.isnan(x) else math.nan,
}


def model_stats(xs: list) -> tuple:
    present = [x for x in xs if not math.isnan(x)]
    n = len(present)
    if n == 0:
        return (0, len(xs) - n, None, None, None)
    return (n, len(xs) - n, math.fsum(present) / n, min(present), max(present))


def close_to(got: float, want: float, scale: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9 * max(scale, 1.0))


class ApiMachine(RuleBasedStateMachine):
    accumulators = Bundle("accumulators")
    expressions = Bundle("expressions")
    datasets = Bundle("datasets")

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.created: list = []
        gc.collect()  # finalizers of earlier runs' objects, so the count starts still
        self.live_at_start = lib.oxb_live_handles()
        self.open_handles = 0
        self.files = 0

    # ---- accumulators: the model is the list of values pushed -----------------------

    @rule(target=accumulators, data=values)
    def create_accumulator(self, data):
        acc = oxbridge.Accumulator(data)
        self.created.append(acc)
        self.open_handles += 1
        return [acc, list(data)]

    @rule(entry=accumulators, data=values)
    def push(self, entry, data):
        acc, model = entry
        acc.push(np.array(data, dtype=np.float64))
        model.extend(data)

    @rule(entry=accumulators, other=accumulators)
    def merge(self, entry, other):
        (acc, model), (acc2, model2) = entry, other
        acc.merge(acc2)
        model.extend(list(model2))

    @rule(entry=accumulators)
    def reset(self, entry):
        entry[0].reset()
        entry[1].clear()

    @rule(entry=accumulators)
    def check_accumulator(self, entry):
        acc, model = entry
        s = acc.stats()
        count, nans, mean, low, high = model_stats(model)
        assert (s.count, s.nan_count) == (count, nans)
        if count:
            scale = max(abs(low), abs(high))
            assert close_to(s.mean, mean, scale) and (s.min, s.max) == (low, high)
        else:
            assert math.isnan(s.mean) and math.isnan(s.min) and math.isnan(s.max)

    @rule(entry=consumes(accumulators))
    def close_accumulator(self, entry):
        acc = entry[0]
        acc.close()
        self.open_handles -= 1
        acc.close()  # closing twice is harmless
        with pytest.raises(oxbridge.ClosedError):
            acc.push([1.0])
        with pytest.raises(oxbridge.ClosedError):
            acc.stats()

    # ---- expressions: the model is a Python function -------------------------------

    @rule(target=expressions, source=st.sampled_from(sorted(EXPRESSIONS)))
    def compile_expression(self, source):
        expr = oxbridge.Expression(source)
        self.created.append(expr)
        self.open_handles += 1
        assert expr.variables == ("x",)
        return (expr, EXPRESSIONS[source])

    @rule(entry=expressions, data=st.lists(finite, min_size=1, max_size=40), with_out=st.booleans())
    def evaluate(self, entry, data, with_out):
        expr, model = entry
        x = np.array(data)
        if with_out:
            out = np.empty_like(x)
            got = expr(x, out=out)
            assert got is out
        else:
            got = expr(x)
        assert got.shape == x.shape  # zip() below would stop at the shorter
        for g, v in zip(got.tolist(), data):
            want = float(model(v))
            assert close_to(g, want, abs(want)), (g, want, v)

    @rule(entry=consumes(expressions))
    def close_expression(self, entry):
        expr = entry[0]
        expr.close()
        self.open_handles -= 1
        with pytest.raises(oxbridge.ClosedError):
            expr(np.ones(3))

    # ---- datasets: the model is the CSV's rows ---------------------------------------

    @rule(target=datasets, rows=st.lists(st.tuples(finite, st.integers(-(10**6), 10**6)), min_size=1, max_size=30))
    def open_dataset(self, rows):
        self.files += 1
        path = Path(self.folder.name) / f"t{self.files}.csv"
        path.write_text("a,b\n" + "".join(f"{a!r},{b}\n" for a, b in rows))
        ds = oxbridge.Dataset.open(path)
        self.created.append(ds)
        self.open_handles += 1
        return (ds, rows)

    @rule(entry=datasets)
    def describe(self, entry):
        ds, rows = entry
        d = ds.describe()
        assert ds.num_rows == len(rows) and d["b"].count == len(rows)
        a = [r[0] for r in rows]
        _, _, mean, low, high = model_stats(a)
        assert close_to(d["a"].mean, mean, max(abs(low), abs(high)))
        assert (d["a"].min, d["a"].max) == (low, high)
        assert d["b"].sum == sum(r[1] for r in rows)

    @rule(entry=consumes(datasets))
    def close_dataset(self, entry):
        ds = entry[0]
        ds.close()
        self.open_handles -= 1
        with pytest.raises(oxbridge.ClosedError):
            ds.describe()

    # ---- failures never change anything ------------------------------------------------

    @rule(source=st.sampled_from(["2*", "x +* y", "foo(x)", "(((x", "x $ 1", ""]))
    def bad_expression(self, source):
        with pytest.raises(oxbridge.ExpressionError):
            oxbridge.Expression(source)

    @rule()
    def missing_file(self):
        with pytest.raises(FileNotFoundError):
            oxbridge.Dataset.open(Path(self.folder.name) / "missing.csv")

    @invariant()
    def live_handles_match_the_model(self):
        assert lib.oxb_live_handles() == self.live_at_start + self.open_handles

    def teardown(self):
        for handle in self.created:
            handle.close()
        assert lib.oxb_live_handles() == self.live_at_start
        self.folder.cleanup()


ApiMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_api_state_machine = ApiMachine.TestCase
