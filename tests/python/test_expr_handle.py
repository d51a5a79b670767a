"""The `Expression` handle: variables, calls and reuse, close() and the context manager
(no handle leaks), one expression shared by threads, and evaluate's cache of compiled
strings under threads."""

import gc
import threading

import numpy as np
import pytest
from _expr_helpers import assert_same

import oxbridge
from oxbridge import ExpressionError


def test_expression_variables_calls_and_reuse():
    e = oxbridge.Expression("b * a + b - pi * c")
    assert e.variables == ("b", "a", "c")
    assert not e.is_bool and oxbridge.Expression("(a > 1) & ~isnan(b)").is_bool
    assert repr(e) == "Expression('b * a + b - pi * c')"
    rng = np.random.default_rng(6)
    for _ in range(5):  # reused
        a, b, c = rng.standard_normal((3, 1000))
        want = b * a + b - np.pi * c
        assert_same(e(b, a, c), want)
        assert_same(e(a=a, b=b, c=c), want)
        assert_same(e(b, c=c, a=a), want)
        out = np.empty(1000)
        assert e(b, a, c, out=out) is out
        assert_same(out, want)
    assert_same(oxbridge.evaluate(e, a=a, b=b, c=c), want)  # an Expression for evaluate
    with pytest.raises(TypeError, match="takes 3 operands, got 4"):
        e(1, 2, 3, 4)
    with pytest.raises(TypeError, match=r"needs operands \['c'\]"):
        e(1, 2)
    with pytest.raises(TypeError, match="given twice"):
        e(1, 2, 3, b=4)
    with pytest.raises(TypeError, match="has no variable 'z'"):
        e(1, 2, 3, z=4)
    assert oxbridge.Expression("2 + 3")() == 5.0
    assert oxbridge.Expression("x")(np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]


def _live():
    gc.collect()
    return oxbridge._loader.lib.oxb_live_handles()


def test_close_context_manager_and_handle_count():
    start = _live()
    e = oxbridge.Expression("a + 1")
    assert _live() == start + 1
    with e as same:
        assert same is e
        assert same(2.0) == 3.0
    assert e.closed and _live() == start
    with pytest.raises(oxbridge.ClosedError):
        e(2.0)
    with pytest.raises(oxbridge.ClosedError), e:
        pass
    with pytest.raises(oxbridge.ClosedError):
        oxbridge.evaluate(e, a=1.0)
    e.close()  # again: nothing
    handles = [oxbridge.Expression(f"a * {k}") for k in range(50)]
    assert _live() == start + 50
    del handles
    assert _live() == start
    # Failed compiles leak nothing.
    for bad in ("a +", "foo(a)", "(" * 500):
        with pytest.raises(ExpressionError):
            oxbridge.Expression(bad)
    assert _live() == start


def test_one_expression_shared_by_eight_threads():
    e = oxbridge.Expression("sqrt(a*a + b*b) + where(a > 0.5, log1p(a), 0) - b**2")
    rng = np.random.default_rng(7)
    data = [rng.standard_normal((2, 70_001)) for _ in range(8)]
    with np.errstate(all="ignore"):
        want = [np.sqrt(a * a + b * b) + np.where(a > 0.5, np.log1p(a), 0) - b * b for a, b in data]
    serial = [e(a, b) for a, b in data]
    for s, w in zip(serial, want):
        np.testing.assert_allclose(s, w, rtol=1e-13, atol=1e-13, equal_nan=True)
    errors, barrier = [], threading.Barrier(8)

    def work(i):
        try:
            barrier.wait()
            for k in range(6):
                a, b = data[(i + k) % 8]
                got = e(a, b) if k % 2 else oxbridge.evaluate(e, a=a, b=b)
                np.testing.assert_array_equal(got, serial[(i + k) % 8])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    e.close()


def test_evaluate_from_threads_with_strings():
    results = {}

    def work(i):
        x = np.full(40_000, float(i))
        results[i] = oxbridge.evaluate(f"x * 2 + {i}", x=x)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(8):
        assert (results[i] == 3.0 * i).all()
