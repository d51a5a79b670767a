"""The expression engine against numexpr: numexpr's benchmark expressions and more, on the
parallel and the serial path, with and without out=, and on random arrays."""

import numpy as np
import pytest
from _expr_helpers import BENCHMARK, FLOAT_ELEMENTS, assert_numexpr_close, assert_same, numexpr_evaluate, operands
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import oxbridge

NUMEXPR_EXPRESSIONS = BENCHMARK + [
    "a*b + c",
    "(a - b) / (abs(c) + 1)",
    "exp(-a*a) * cos(b)",
    "arctan2(a, b) + arctan(c)",
    "where((a > 0) & (b < 0), a, -b)",
    "sinh(a) - cosh(b) + tanh(c)",
    "log(abs(a) + 1e-3) * log10(abs(b) + 2)",
    "a**3 - 2*a**2 + a",
    "a ** b",
    "sin(a) ** 2 + cos(a) ** 2",
    "expm1(a) / (1 + abs(b))",
    "floor(a) + ceil(b) - round(c)",
    "minimum(a, b) * maximum(b, c)",
    "arcsin(a / (abs(a) + 1)) - arccos(b / (abs(b) + 1))",
    "tan(a) * 0.5 + sqrt(abs(c))",
    "a / b",
    "-a",
    "a",
]


NUMEXPR_BOOL = ["(a > b) | (c <= 0)", "~(a < 0.5) & (b != c)", "isnan(a) | isfinite(b)", "a == b", "a >= c"]


@pytest.mark.parametrize("expression", NUMEXPR_EXPRESSIONS + NUMEXPR_BOOL)
def test_numexpr_agreement_parallel_with_and_without_out(expression):
    # 100_003 values: several parallel tasks, full blocks, and a ragged last block.
    ops = operands(100_003)
    want = numexpr_evaluate(expression, **ops)
    got = oxbridge.evaluate(expression, **ops)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert_numexpr_close(got, want, expression)
    # Small arrays take the serial path.
    small = {k: v[:777] for k, v in ops.items()}
    assert_numexpr_close(oxbridge.evaluate(expression, **small), numexpr_evaluate(expression, **small), expression)
    if want.dtype != np.bool_:
        out = np.empty(100_003)
        r = oxbridge.evaluate(expression, out=out, **ops)
        assert r is out
        assert_same(out, got)
        # out is one of the inputs: the result is as if computed aside.
        a = ops["a"].copy()
        r = oxbridge.evaluate(expression, out=a, a=a, b=ops["b"], c=ops["c"])
        assert r is a
        assert_same(a, got)


NUMEXPR_FIXED = BENCHMARK + [
    "a*b + c",
    "exp(-a*a) * cos(b)",
    "arctan2(a, b)",
    "where((a > 0) & (b < 0), a, -b)",
    "sinh(a) - cosh(b) + tanh(c)",
    "a**3 - 2*a**2 + a",
    "a ** b",
    "floor(a) + ceil(b) - round(c)",
    "minimum(a, b) * maximum(b, c)",
    "(a > b) | ~(c <= 0)",
    "isnan(a) | isfinite(b)",
    "a / b - c",
    "log(a) + log10(b) + log1p(c)",
    "sqrt(a) * expm1(b)",
]


@settings(max_examples=120, deadline=None)
@given(
    st.integers(0, 300).flatmap(
        lambda n: st.tuples(*(hnp.arrays(np.float64, n, elements=FLOAT_ELEMENTS) for _ in range(3)))
    )
)
def test_random_arrays_matchnumexpr_evaluate(arrays):
    a, b, c = arrays
    for expression in NUMEXPR_FIXED:
        assert_numexpr_close(
            oxbridge.evaluate(expression, a=a, b=b, c=c), numexpr_evaluate(expression, a=a, b=b, c=c), expression
        )
