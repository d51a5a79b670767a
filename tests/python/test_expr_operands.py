"""What `evaluate` takes and gives: out= (aliasing an input, strided, reversed, float32, a
memoryview), operand dtypes and layouts (float32, integers, strides, 2-D in either order),
scalars, zero lengths, names from the caller's frame, other buffers, and the refusals."""

import numpy as np
import pytest
from _expr_helpers import (
    BENCHMARK,
    INF,
    NAN,
    assert_numexpr_close,
    assert_same,
    assert_ulp,
    numexpr_evaluate,
    operands,
)

import oxbridge


def test_out_aliasing_shifted_reversed_and_interleaved_views():
    x = np.random.default_rng(5).standard_normal(200_002)
    y = x.copy()
    oxbridge.evaluate("a + 1", a=y[:-1], out=y[1:])
    assert_same(y[1:], x[:-1] + 1)
    y = x.copy()
    oxbridge.evaluate("2*a + b", a=y, b=y[::-1], out=y)
    assert_same(y, 2 * x + x[::-1])
    y = x.copy()
    oxbridge.evaluate("b - a", a=y[::2], b=y[1::2], out=y[::2])
    assert_same(y[::2], x[1::2] - x[::2])
    assert_same(y[1::2], x[1::2])
    y = x.copy()
    oxbridge.evaluate("a * 3", a=y[::-1], out=y[::-1])  # the same reversed view
    assert_same(y, x * 3)


@pytest.mark.parametrize("expression", BENCHMARK + ["a*b + c", "exp(-a*a) * cos(b)", "a**3 - 2*a**2 + a"])
def test_float32_inputs_give_float32(expression):
    ops = operands(50_001, seed=1, specials=False)
    ops = {k: v.astype(np.float32) for k, v in ops.items()}
    for v in ops.values():
        v[:8] = [NAN, INF, -INF, 0.0, -0.0, 1e-40, 3e38, -0.5]
    got = oxbridge.evaluate(expression, **ops)
    assert got.dtype == np.float32
    # Computed in float64 and rounded once: the float64 result of the same values, rounded.
    wide = oxbridge.evaluate(expression, **{k: v.astype(np.float64) for k, v in ops.items()})
    with np.errstate(over="ignore"):
        assert_same(got, wide.astype(np.float32))
        # numexpr's float64 result rounded to float32: at most one float32 ulp away.
        want64 = numexpr_evaluate(expression, **{k: v.astype(np.float64) for k, v in ops.items()}).astype(np.float32)
    assert_ulp(got.astype(np.float64), want64.astype(np.float64), 2**29)  # 1 float32 ulp in float64 ulps
    # numexpr itself works in float32 (less accurate, so an absolute tolerance too, and
    # without the special values, whose float32 intermediates overflow there: a**3 of 3e38).
    narrow = numexpr_evaluate(expression, **ops)
    assert narrow.dtype == np.float32
    np.testing.assert_allclose(got[8:], narrow[8:], rtol=1e-5, atol=1e-5, equal_nan=True)
    # One float64 operand makes the result float64; a float32 out takes any result.
    mixed = dict(ops, a=ops["a"].astype(np.float64))
    assert oxbridge.evaluate(expression, **mixed).dtype == np.float64
    out = np.empty(50_001, np.float32)
    assert oxbridge.evaluate(expression, out=out, **mixed) is out
    with np.errstate(over="ignore"):
        assert_same(out, oxbridge.evaluate(expression, **mixed).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_inputs_compute_in_float64(dtype):
    rng = np.random.default_rng(2)
    a = rng.integers(-1000, 1000, 10_001).astype(dtype)
    b = rng.integers(1, 50, 10_001).astype(dtype)
    for expression in ["2*a + b**2 - 1", "a * b - a", "a % b", "a / b", "where(a > 0, a, b)", "abs(a) + b"]:
        got = oxbridge.evaluate(expression, a=a, b=b)
        assert got.dtype == np.float64
        want = numexpr_evaluate(expression, a=a, b=b)
        np.testing.assert_array_equal(got, want.astype(np.float64))
    # Mixed with float32: still float64 (not every array is float32).
    assert oxbridge.evaluate("a + f", a=a, f=a.astype(np.float32)).dtype == np.float64
    big = np.array([2**62, -(2**62) + 1], dtype=np.int64)
    assert oxbridge.evaluate("a * 1", a=big).tolist() == [float(2**62), float(-(2**62) + 1)]


def test_strided_reversed_and_2d_layouts_agree_withnumexpr_evaluate():
    rng = np.random.default_rng(3)
    base = rng.standard_normal(30_000)
    layouts = {
        "step 3": (base[::3], base[1::3]),
        "reversed": (base[::-1][:29_999], base[1:][::-1]),
        "reversed step 2": (base[::-2], base[1::2]),
        "column of a 2-D array": (base.reshape(-1, 6)[:, 2], base.reshape(-1, 6)[:, 5]),
        "Fortran column": (np.asfortranarray(base.reshape(-1, 4))[:, 1], np.asfortranarray(base.reshape(-1, 4))[:, 3]),
        "2-D C": (base.reshape(100, 300), base[::-1].copy().reshape(100, 300)),
        "transposed Fortran (C)": (np.asfortranarray(base.reshape(300, 100)).T, base.reshape(100, 300)),
    }
    for label, (a, b) in layouts.items():
        for expression in BENCHMARK + ["a - b"]:
            want = numexpr_evaluate(expression, a=a, b=b)
            got = oxbridge.evaluate(expression, a=a, b=b)
            assert got.shape == want.shape, label
            assert_numexpr_close(got, want, expression)
    # Other dtypes at negative strides, and a broadcast (stride 0) operand.
    for dtype in (np.float32, np.int64, np.int32):
        a = (base * 100).astype(dtype)[::-3]
        result = np.float32 if dtype == np.float32 else np.float64
        got = oxbridge.evaluate("a * 2 - 1", a=a)
        assert got.dtype == result
        np.testing.assert_array_equal(got, (a.astype(np.float64) * 2 - 1).astype(result))
        np.testing.assert_array_equal(oxbridge.evaluate("a", a=a), a.astype(result))
    b = np.broadcast_to(np.float64(5.0), base.shape)
    assert_same(oxbridge.evaluate("a + b", a=base, b=b), base + 5.0)
    # A strided out.
    store = np.zeros(20_000)
    oxbridge.evaluate("a * 2", a=base[:10_000], out=store[::2])
    assert_same(store[::2], base[:10_000] * 2)
    assert not store[1::2].any()
    store = np.zeros(10_000)
    oxbridge.evaluate("a * 2", a=base[:10_000], out=store[::-1])
    assert_same(store[::-1], base[:10_000] * 2)


def test_fortran_2d_operands_give_a_fortran_result_and_mixed_orders_are_refused():
    f = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    got = oxbridge.evaluate("a * 2 + b", a=f, b=np.asfortranarray(np.ones((3, 4))))
    want = numexpr_evaluate("a * 2 + 1", a=f)
    np.testing.assert_array_equal(got, want)
    assert got.flags.f_contiguous and not got.flags.c_contiguous  # numexpr's result too
    assert want.flags.f_contiguous
    # Element (i, j) of a C and of a Fortran operand are not at the same offset.
    with pytest.raises(ValueError, match="operand 'b' is in C order but an earlier operand is in F order"):
        oxbridge.evaluate("a * 2 + b", a=f, b=np.ones((3, 4)))


def test_fortran_out_with_c_operand():
    c = np.arange(6.0).reshape(2, 3)
    out = np.zeros((2, 3), order="F")
    oxbridge.evaluate("x * 1", x=c, out=out)
    np.testing.assert_array_equal(out, c)  # numexpr gives c too


@pytest.mark.parametrize("out_order", ["C", "F"])
@pytest.mark.parametrize("operand_order", ["C", "F"])
def test_out_as_a_memoryview_in_either_order(operand_order, out_order):
    # A memoryview cannot copy between memory orders itself ("invalid slice key").
    c = np.asarray(np.arange(12.0).reshape(3, 4), order=operand_order)
    out = np.zeros((3, 4), order=out_order)
    view = memoryview(out)
    assert oxbridge.evaluate("x * 2 - 1", x=c, out=view) is view
    np.testing.assert_array_equal(out, c * 2 - 1)


@pytest.mark.parametrize("case", ["out (3, 2) for operands (2, 3)", "operands (2, 3) and (6,)"])
def test_shape_mismatch_is_refused(case):
    c = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError):  # numexpr: "operands could not be broadcast together"
        if case.startswith("out"):
            oxbridge.evaluate("x * 1", x=c, out=np.empty((3, 2)))
        else:
            oxbridge.evaluate("x + y", x=c, y=np.arange(6.0))


def test_zero_length_arrays():
    e = np.zeros(0)
    r = oxbridge.evaluate("2*a + b**2 - 1", a=e, b=e)
    assert r.shape == (0,) and r.dtype == np.float64
    r = oxbridge.evaluate("a > b", a=e, b=e)
    assert r.shape == (0,) and r.dtype == np.bool_
    assert oxbridge.evaluate("a * 2", a=np.zeros(0, np.float32)).dtype == np.float32
    assert oxbridge.evaluate("a + 1", a=e, out=np.zeros(0)).shape == (0,)
    assert oxbridge.evaluate("a + k", a=e, k=3.0).shape == (0,)


@pytest.mark.parametrize(
    "scalar",
    [2, 2.5, -0.0, True, np.float32(1.5), np.float64(-3.25), np.int8(3), np.int64(-7), np.uint16(9), np.array(4.0)],
)
def test_scalar_operands_broadcast_likenumexpr_evaluate(scalar):
    a = np.linspace(-3, 3, 1001)
    got = oxbridge.evaluate("a * s + s ** 2 - where(a > s, s, a)", a=a, s=scalar)
    want = numexpr_evaluate("a * s + s ** 2 - where(a > s, s, a)", a=a, s=np.float64(scalar))
    assert got.dtype == np.float64
    assert_same(got, want)
    # Every operand a scalar: the result is a float64 scalar, as numexpr's 0-d result.
    only = oxbridge.evaluate("s * 2 + 1", s=scalar)
    assert np.ndim(only) == 0 and float(only) == float(numexpr_evaluate("s * 2 + 1", s=np.float64(scalar)))


def test_scalar_operands_on_the_parallel_path():
    a = np.random.default_rng(4).standard_normal(200_003)
    for expression in ("a * k + k ** 2", "where(a > k, k, a)", "k * 2 + a"):
        want = numexpr_evaluate(expression, a=a, k=np.float64(0.25))
        assert_same(oxbridge.evaluate(expression, a=a, k=0.25), np.broadcast_to(want, a.shape))


def test_scalar_with_float32_array_keeps_float32():
    a = np.arange(5, dtype=np.float32)
    r = oxbridge.evaluate("a * k", a=a, k=2.5)
    assert r.dtype == np.float32  # documented; numexpr would give float64 here
    np.testing.assert_array_equal(r, a * np.float32(2.5))


def test_bool_result_of_scalars_is_a_scalar():
    assert np.ndim(oxbridge.evaluate("a + 1", a=2.0)) == 0
    r = oxbridge.evaluate("a > 1", a=2.0)
    assert np.ndim(r) == 0 and bool(r) is True  # numexpr: array(True), 0-d


GLOBAL_G = np.array([10.0, 20.0, 30.0])


def test_names_from_the_callers_frame_and_local_dict():
    local_a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(oxbridge.evaluate("local_a * 2 + GLOBAL_G"), [12.0, 24.0, 36.0])
    np.testing.assert_array_equal(
        oxbridge.evaluate("local_a * 2 + GLOBAL_G"),
        numexpr_evaluate("local_a * 2 + GLOBAL_G", local_a=local_a, GLOBAL_G=GLOBAL_G),
    )
    # local_dict before the frame; keywords before local_dict.
    np.testing.assert_array_equal(oxbridge.evaluate("local_a + 1", local_dict={"local_a": np.zeros(2)}), [1.0, 1.0])
    np.testing.assert_array_equal(
        oxbridge.evaluate("local_a + GLOBAL_G", local_dict={"local_a": 1.0, "GLOBAL_G": 2.0}, GLOBAL_G=np.ones(2)),
        [2.0, 2.0],
    )

    def inner():
        inner_x = np.array([5.0])  # noqa: F841
        return oxbridge.evaluate("inner_x - 1")

    np.testing.assert_array_equal(inner(), [4.0])


def test_other_buffers_and_iterables_areoperands():
    import array

    np.testing.assert_array_equal(oxbridge.evaluate("x * 2", x=array.array("d", [1, 2])), [2.0, 4.0])
    np.testing.assert_array_equal(oxbridge.evaluate("x * 2", x=[1, 2, 3]), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(oxbridge.evaluate("x * 2", x=memoryview(np.arange(3.0))), [0.0, 2.0, 4.0])
    with pytest.raises(TypeError, match="bool"):
        oxbridge.evaluate("where(m, 1, 2)", m=np.array([True, False]))
    with pytest.raises(TypeError):
        oxbridge.evaluate("x * 2", x=1 + 2j)
    with pytest.raises(TypeError):
        oxbridge.evaluate("x * 2", x="abc")


def test_length_mismatches_name_both_lengths():
    with pytest.raises(ValueError, match=r"operand 'b' has length 4, but an earlier operand has length 5"):
        oxbridge.evaluate("a + b", a=np.ones(5), b=np.ones(4))
    with pytest.raises(ValueError, match=r"length 4.*length 5"):
        oxbridge.Expression("a * b")(np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match=r"out has length 4, but the operands have length 5"):
        oxbridge.evaluate("a * 2", a=np.ones(5), out=np.empty(4))


def test_bad_out_arrays():
    a = np.arange(5.0)
    with pytest.raises(TypeError, match="float64 or float32"):
        oxbridge.evaluate("a * 2", a=a, out=np.empty(5, np.int64))
    with pytest.raises(TypeError, match="bool"):
        oxbridge.evaluate("a > 2", a=a, out=np.empty(5, np.bool_))
    readonly = np.zeros(5)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        oxbridge.evaluate("a * 2", a=a, out=readonly)
    assert not readonly.any()
    with pytest.raises(TypeError):
        oxbridge.evaluate("a * 2", a=a, out=[0.0] * 5)
    # A bool expression into a float out: 1.0 and 0.0.
    out = np.full(5, 7.0)
    oxbridge.evaluate("a > 2", a=a, out=out)
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
