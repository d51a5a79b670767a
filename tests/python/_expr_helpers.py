"""Shared by the test_expr_*.py files (no tests here): the special values and grids the
expression engine is tested on, the comparisons (bit for bit, within ulps, against
numexpr), the functions with their numpy oracles, and the C library's functions."""

import ctypes
import ctypes.util
import itertools

import numexpr
import numpy as np
from hypothesis import strategies as st

NAN, INF = float("nan"), float("inf")


SPECIAL = [
    NAN,
    INF,
    -INF,
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.5,
    1.5,
    -1.5,
    2.5,
    -2.5,
    2.0,
    -2.0,
    3.0,
    -3.0,
    7.0,
    -7.0,
    0.1,
    -0.1,
    1e-300,
    -1e-300,
    5e-324,
    -5e-324,
    1e300,
    -1e300,
    709.0,
    710.0,
    -745.0,
    1e-8,
    0.999,
    -0.999,
    1.0000001,
    3.7,
    -3.7,
    1e16,
    100.0,
    4503599627370497.0,
    0.49999999999999994,
]


INTEGER_VALUED = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    2.0,
    -2.0,
    3.0,
    -3.0,
    4.0,
    -5.0,
    7.0,
    -7.0,
    10.0,
    -10.0,
    0.5,
    -0.5,
    INF,
    -INF,
    NAN,
]


def case_boundaries():
    """Where kernels change case (fdlibm's 2**-28, 0.5, 1, 2, 2**28 and the same on the
    high word only; the smallest normal and subnormal; the largest finite), each with its
    neighbours, of both signs."""
    points = [
        2.0**-28,
        0.5,
        1.0,
        2.0,
        2.0 * (1 + 2.0**-19),
        2.0**28,
        2.0**28 * (1 + 2.0**-20),
        2.2250738585072014e-308,
        5e-324,
        1.7976931348623157e308,
    ]
    with np.errstate(over="ignore"):  # past the largest finite: inf
        values = np.array([np.nextafter(p, q) for p in points for q in (0.0, p, INF)])
    return np.concatenate([values, -values])


def unary_grid():
    rng = np.random.default_rng(10)
    return np.concatenate(
        [
            np.array(SPECIAL),
            case_boundaries(),
            rng.standard_normal(2000) * 3,
            rng.uniform(-1, 1, 2000),
            np.exp(rng.uniform(-700, 700, 2000)) * rng.choice([-1.0, 1.0], 2000),
        ]
    )


def binary_grid():
    """Every pair of special values, then random pairs."""
    rng = np.random.default_rng(11)
    pairs = np.array(list(itertools.product(SPECIAL, SPECIAL)))
    x = np.concatenate([pairs[:, 0], rng.standard_normal(3000) * 10])
    y = np.concatenate([pairs[:, 1], rng.standard_normal(3000) * 10])
    return x, y


FLOAT_ELEMENTS = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True, width=64))


def assert_same(got, want):
    """Bit-exact up to NaN payloads: equal values, NaN where numpy has NaN, and the
    same sign of every zero."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)  # NaN == NaN here
    zero = (want == 0) & (got == 0)
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]), err_msg="sign of zero")


def assert_ulp(got, want, maxulp):
    """NaN exactly where `want` is NaN, infinities equal, zeros of the same sign, and
    every other value within `maxulp` units in the last place."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg="NaN positions")
    keep = ~np.isnan(want)
    np.testing.assert_array_max_ulp(got[keep], want[keep], maxulp=maxulp)
    zero = (want == 0) & (got == 0)
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]), err_msg="sign of zero")


def source_and_caret(message):
    """(source line, caret column) from an ExpressionError message."""
    lines = message.split("\n")
    assert lines[-1].strip() == "^", message
    assert lines[-2].startswith("    ") and lines[-1].startswith("    ")
    return lines[-2][4:], len(lines[-1]) - 5


LIBM = ctypes.CDLL(ctypes.util.find_library("m"))


def libm_function(name, arity):
    f = getattr(LIBM, name)
    f.restype = ctypes.c_double
    f.argtypes = [ctypes.c_double] * arity
    return f


EXACT_UNARY = {
    "abs": np.abs,
    "sqrt": np.sqrt,
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,
    "sign": np.sign,
}


TRANSCENDENTAL = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log10": np.log10,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arcsinh": np.arcsinh,
    "arccosh": np.arccosh,
    "arctanh": np.arctanh,
}


# The library calls the C library's functions, numpy its own SIMD ones; they differ by an
# ulp or two. tanh is the exception: glibc's is up to ~1.8 ulp off the true value and
# numpy's ~1.1, so the two can be 3 ulp apart (seen on wide random samples, not on this
# grid, where the largest difference is 2).
MAXULP = {"tanh": 3}


ARITHMETIC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "%": np.remainder}


COMPARISONS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def as_f64(x):
    return np.asarray(x, dtype=np.float64)


def ieee_minimum(x, y):
    """numpy's minimum, with -0.0 < 0.0 (IEEE 754-2019; numpy picks by argument order)."""
    x, y = np.broadcast_arrays(as_f64(x), as_f64(y))
    both_zero = (x == 0) & (y == 0)
    return np.where(both_zero, np.where(np.signbit(x) | np.signbit(y), -0.0, 0.0), np.minimum(x, y))


def ieee_maximum(x, y):
    x, y = np.broadcast_arrays(as_f64(x), as_f64(y))
    both_zero = (x == 0) & (y == 0)
    return np.where(both_zero, np.where(np.signbit(x) & np.signbit(y), -0.0, 0.0), np.maximum(x, y))


BENCHMARK = ["2*a + b**2 - 1", "sqrt(a*a + b*b)", "where(a > 0.5, log1p(a), 0)"]


def operands(n, seed=0, dtype=np.float64, specials=True):
    rng = np.random.default_rng(seed)
    out = {}
    for name in "abc":
        x = rng.standard_normal(n) * 2
        if specials and n:
            idx = rng.choice(n, size=min(n, 40), replace=False)
            x[idx] = rng.choice(SPECIAL, size=idx.size)
        out[name] = x.astype(dtype)
    return out


def numexpr_evaluate(expression, **operands):
    return numexpr.evaluate(expression, local_dict=operands)


# numexpr turns small integer powers into multiplications (a**3 is a*a*a), which
# differs from pow by an ulp; after a cancellation, compare with an absolute tolerance.
CANCELLING = {"a**3 - 2*a**2 + a"}


# exp, expm1, log, log10 and log1p are the engine's own vector kernels (within 0.7 ulp of
# the correctly rounded result), numexpr's are the C library's (log10 up to 2 ulp off, the
# others 1): a product of one with another factor may differ by 3 ulp, of two by 4...
KERNEL_ULPS = {
    "log(abs(a) + 1e-3) * log10(abs(b) + 2)": 4,
    "exp(-a*a) * cos(b)": 3,
    "expm1(a) / (1 + abs(b))": 3,
    "sqrt(a) * expm1(b)": 3,
}


# ... and a sum of them may cancel: within a few ulps of its largest term (|log| <= 745).
KERNEL_SUMS = {"log(a) + log10(b) + log1p(c)"}


def assert_numexpr_close(got, want, expression):
    got, want = np.asarray(got), np.asarray(want)
    if want.dtype == np.bool_:
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, want)
    elif expression in CANCELLING:
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-12, equal_nan=True)
    elif expression in KERNEL_SUMS:
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=5e-13, equal_nan=True)
    elif "minimum" in expression or "maximum" in expression:
        # numexpr, like numpy, returns the second operand of a tie of -0.0 and 0.0; the
        # engine orders -0.0 < 0.0 (IEEE 754-2019). Values only.
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=4e-16, atol=0, equal_nan=True)
    else:
        assert got.dtype == want.dtype
        assert_ulp(got, want, KERNEL_ULPS.get(expression, 2))
