"""Every operator and function of the expression language against numpy: bit for bit
where numpy is exact, within ulps for the transcendental functions, on special values
(NaN, infinities, signed zeros, subnormals, domain edges) and dense grids."""

import itertools

import numpy as np
import pytest
from _expr_helpers import (
    ARITHMETIC,
    COMPARISONS,
    EXACT_UNARY,
    INF,
    INTEGER_VALUED,
    MAXULP,
    NAN,
    TRANSCENDENTAL,
    assert_same,
    assert_ulp,
    binary_grid,
    ieee_maximum,
    ieee_minimum,
    unary_grid,
)

import oxbridge


@pytest.mark.parametrize("name", sorted(EXACT_UNARY))
def test_exact_unary_functions_match_numpy_bit_for_bit(name):
    u = unary_grid()
    with np.errstate(all="ignore"):
        want = EXACT_UNARY[name](u)
    assert_same(oxbridge.evaluate(f"{name}(u)", u=u), want)


@pytest.mark.parametrize("name", sorted(TRANSCENDENTAL))
def test_transcendental_functions_match_numpy_within_ulps(name):
    u = unary_grid()
    with np.errstate(all="ignore"):
        want = TRANSCENDENTAL[name](u)
    got = oxbridge.evaluate(f"{name}(u)", u=u)
    assert got.dtype == np.float64
    assert_ulp(got, want, MAXULP.get(name, 2))


# Dense grids over the ranges where a kernel changes case, both signs (NaN outside a
# function's domain compared as such).
DENSE = {
    "arcsinh": np.concatenate([np.linspace(0, 4, 400_001), np.geomspace(1e-20, 1e308, 200_000)]),
    "arccosh": np.concatenate(
        [1 + np.geomspace(1e-16, 0.1, 100_000), np.linspace(0, 4, 400_001), np.geomspace(4, 1e308, 100_000)]
    ),
    "arctanh": np.concatenate(
        [1 - np.geomspace(1.1e-16, 0.5, 100_000), np.linspace(0, 1.5, 400_001), np.geomspace(1e-20, 0.5, 100_000)]
    ),
}


@pytest.mark.parametrize("name", sorted(DENSE))
def test_functions_on_dense_grids_match_numpy_within_2_ulps(name):
    x = np.concatenate([DENSE[name], -DENSE[name]])
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    assert_ulp(oxbridge.evaluate(f"{name}(x)", x=x), want, 2)


NUMPY_NAMES = {name: getattr(np, name) for name in list(EXACT_UNARY) + list(TRANSCENDENTAL) + ["arctan2"]}


DOMAIN = [
    # (expression in v, v, value): domain errors give NaN, poles infinities, as numpy.
    ("sqrt(v)", -1.0, NAN),
    ("sqrt(v)", -INF, NAN),
    ("log(v)", -1.0, NAN),
    ("log(v)", -INF, NAN),
    ("log10(v)", -2.0, NAN),
    ("log1p(v)", -2.0, NAN),
    ("arcsin(v)", 2.0, NAN),
    ("arccos(v)", -1.5, NAN),
    ("sin(v)", INF, NAN),
    ("cos(v)", -INF, NAN),
    ("tan(v)", INF, NAN),
    ("arccos(v)", NAN, NAN),
    ("log(v)", 0.0, -INF),
    ("log10(v)", -0.0, -INF),
    ("log1p(v)", -1.0, -INF),
    ("1 / v", 0.0, INF),
    ("-1 / v", 0.0, -INF),
    ("1 / v", -0.0, -INF),
    ("v / v", 0.0, NAN),
    ("v - v", INF, NAN),
    ("0 * v", INF, NAN),
    ("exp(v)", 1000.0, INF),
    ("exp(v)", -1000.0, 0.0),
    ("7 % v", 0.0, NAN),
    ("v % 2", INF, NAN),
    ("v ** (1/3)", -8.0, NAN),
    ("v ** -1", 0.0, INF),
    ("v ** -1", -0.0, -INF),
    ("arctan2(v, v)", -0.0, -np.pi),
    ("cosh(v)", -INF, INF),
    ("tanh(v)", -INF, -1.0),
    ("sign(v)", NAN, NAN),
    ("sign(v)", -0.0, 0.0),
    ("sign(v)", -INF, -1.0),
    ("arcsinh(v)", -INF, -INF),
    ("arcsinh(v)", NAN, NAN),
    ("arccosh(v)", 0.999, NAN),
    ("arccosh(v)", -INF, NAN),
    ("arccosh(v)", 1.0, 0.0),
    ("arccosh(v)", INF, INF),
    ("arctanh(v)", 1.0, INF),
    ("arctanh(v)", -1.0, -INF),
    ("arctanh(v)", 1.5, NAN),
    ("arctanh(v)", -INF, NAN),
]


@pytest.mark.parametrize("expression, v, value", DOMAIN)
def test_domain_errors_give_nan_and_poles_give_infinities_like_numpy(expression, v, value):
    array = np.full(3, v)
    with np.errstate(all="ignore"):
        want = eval(expression, {"v": array, **NUMPY_NAMES})
    assert_same(want, np.full(3, value))  # the table agrees with numpy
    assert_same(oxbridge.evaluate(expression, v=array), want)
    # The same folded at compile time (inf and nan are names the language knows).
    folded = oxbridge.evaluate(expression.replace("v", f"({v!r})"))
    assert_same(np.full(1, folded), np.full(1, value))


@pytest.mark.parametrize("op", list(ARITHMETIC))
def test_arithmetic_operators_match_numpy_bit_for_bit(op):
    x, y = binary_grid()
    with np.errstate(all="ignore"):
        want = ARITHMETIC[op](x, y)
    got = oxbridge.evaluate(f"x {op} y", x=x, y=y)
    assert got.dtype == np.float64
    assert_same(got, want)
    # With a constant on either side, which takes the scalar loops.
    for k in (2.0, -3.0, 0.0, 0.5):
        with np.errstate(all="ignore"):
            assert_same(oxbridge.evaluate(f"x {op} {k!r}", x=x), ARITHMETIC[op](x, k))
            assert_same(oxbridge.evaluate(f"{k!r} {op} y", y=y), ARITHMETIC[op](k, y))


def test_multiply_then_add_rounds_twice_like_numpy():
    """No fused multiply-add (the block loops are compiled for FMA CPUs): with c = -(a*b)
    rounded, a*b + c is exactly 0 in numpy, and would be the rounding error if fused."""
    rng = np.random.default_rng(13)
    a, b = rng.standard_normal((2, 100_003))
    c = -(a * b)
    for expression, want in [
        ("a*b + c", a * b + c),
        ("c + a*b", c + a * b),
        ("a*a - a*a", a * a - a * a),
        ("a**2 + c", a * a + c),
        ("2*a + b**2 - 1", 2 * a + b * b - 1),
        ("a*b - c*2", a * b - c * 2),
    ]:
        got = oxbridge.evaluate(expression, a=a, b=b, c=c)
        assert_same(got, want)
    assert not oxbridge.evaluate("a*b + c", a=a, b=b, c=c).any()


@pytest.mark.parametrize("op", list(COMPARISONS))
def test_comparisons_match_numpy_and_give_bool(op):
    x, y = binary_grid()
    got = oxbridge.evaluate(f"x {op} y", x=x, y=y)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, COMPARISONS[op](x, y))


def test_remainder_and_power_on_integer_valued_floats():
    pairs = np.array(list(itertools.product(INTEGER_VALUED, INTEGER_VALUED)))
    x, y = pairs[:, 0].copy(), pairs[:, 1].copy()
    with np.errstate(all="ignore"):
        assert_same(oxbridge.evaluate("x % y", x=x, y=y), np.remainder(x, y))
        # Exact wherever the power is representable; 10 ** -5 may differ by an ulp (numpy's
        # SIMD pow gives 9.999999999999999e-06, the C library 1e-05).
        assert_ulp(oxbridge.evaluate("x ** y", x=x, y=y), np.power(x, y), 1)
    # Python's sign rules, as numpy's remainder.
    assert oxbridge.evaluate("-7 % 3") == 2.0 and oxbridge.evaluate("7 % -3") == -2.0
    r = oxbridge.evaluate("x % y", x=np.array([-4.0, 4.0, -0.0]), y=np.array([2.0, -2.0, -1.0]))
    assert_same(r, np.array([0.0, -0.0, -0.0]))
    # Exact integer powers, including the x**2 that is compiled to a multiply.
    a = np.arange(-20.0, 21.0)
    for k in range(-3, 8):
        with np.errstate(all="ignore"):
            want = np.power(a, np.full_like(a, k))
        if k >= 0:
            assert_same(oxbridge.evaluate(f"a ** {k}", a=a), want)
        else:
            assert_ulp(oxbridge.evaluate(f"a ** {k}", a=a), want, 1)


def test_general_power_matches_numpy_within_ulps():
    x, y = binary_grid()
    with np.errstate(all="ignore"):
        want = np.power(x, y)  # array exponent: numpy's pow, not its sqrt/reciprocal shortcuts
    assert_ulp(oxbridge.evaluate("x ** y", x=x, y=y), want, 2)
    # A constant exponent: the same C pow semantics as numpy's array power (numpy's
    # scalar `x ** 0.5` and numexpr turn it into sqrt, which differs at -inf and -0.0).
    for k in (0.5, 1.5, -0.5, 3.0, -1.0, 0.0):
        with np.errstate(all="ignore"):
            assert_ulp(oxbridge.evaluate(f"x ** {k!r}", x=x), np.power(x, np.full_like(x, k)), 2)


def test_unary_minus_not_and_logic():
    x, y = binary_grid()
    assert_same(oxbridge.evaluate("-x", x=x), -x)
    np.testing.assert_array_equal(oxbridge.evaluate("~x", x=x), x == 0)
    np.testing.assert_array_equal(oxbridge.evaluate("not x", x=x), x == 0)
    np.testing.assert_array_equal(oxbridge.evaluate("x & y", x=x, y=y), np.logical_and(x, y))
    np.testing.assert_array_equal(oxbridge.evaluate("x and y", x=x, y=y), np.logical_and(x, y))
    np.testing.assert_array_equal(oxbridge.evaluate("x | y", x=x, y=y), np.logical_or(x, y))
    np.testing.assert_array_equal(oxbridge.evaluate("x or y", x=x, y=y), np.logical_or(x, y))
    np.testing.assert_array_equal(
        oxbridge.evaluate("(x > 0) & ~(y > 0) | isnan(x)", x=x, y=y),
        ((x > 0) & ~(y > 0)) | np.isnan(x),
    )
    np.testing.assert_array_equal(
        oxbridge.evaluate("not x > 0 and y > 0 or x == y", x=x, y=y),
        (~(x > 0) & (y > 0)) | (x == y),
    )


def test_isnan_isfinite_where_and_two_argument_functions():
    x, y = binary_grid()
    r = oxbridge.evaluate("isnan(x)", x=x)
    assert r.dtype == np.bool_
    np.testing.assert_array_equal(r, np.isnan(x))
    np.testing.assert_array_equal(oxbridge.evaluate("isfinite(x)", x=x), np.isfinite(x))
    # where: a NaN condition is true, as in numpy; -0.0 is kept.
    assert_same(oxbridge.evaluate("where(x, x, y)", x=x, y=y), np.where(x, x, y))
    assert_same(oxbridge.evaluate("where(x > y, x, -0.0)", x=x, y=y), np.where(x > y, x, -0.0))
    assert_ulp(oxbridge.evaluate("arctan2(x, y)", x=x, y=y), np.arctan2(x, y), 2)
    # numpy leaves the sign of minimum(-0.0, 0.0) to the order of its arguments; the
    # engine orders -0.0 below 0.0 (IEEE 754-2019): numpy's values (assert_allclose:
    # -0.0 == 0.0, NaN propagating), and IEEE's zeros exactly.
    for name, ieee, numpy_function in (("minimum", ieee_minimum, np.minimum), ("maximum", ieee_maximum, np.maximum)):
        got = oxbridge.evaluate(f"{name}(x, y)", x=x, y=y)
        np.testing.assert_allclose(got, numpy_function(x, y), rtol=0, atol=0, equal_nan=True)
        assert_same(got, ieee(x, y))
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    got = oxbridge.evaluate("clip(x, lo, hi)", x=y, lo=lo, hi=hi)
    np.testing.assert_allclose(got, np.clip(y, lo, hi), rtol=0, atol=0, equal_nan=True)
    assert_same(got, ieee_minimum(ieee_maximum(y, lo), hi))
    got = oxbridge.evaluate("clip(x, -1, 2.5)", x=x)
    np.testing.assert_allclose(got, np.clip(x, -1, 2.5), rtol=0, atol=0, equal_nan=True)
    assert_same(got, ieee_minimum(ieee_maximum(x, -1.0), 2.5))


def test_round_is_half_to_even_like_numpy():
    a = np.array(
        [
            0.5,
            1.5,
            2.5,
            3.5,
            -0.5,
            -1.5,
            -2.5,
            -3.5,
            0.49999999999999994,
            -0.49999999999999994,
            4503599627370495.5,
            -4503599627370495.5,
            4503599627370497.0,
            2.675,
            -0.3,
            -0.0,
            1e300,
            NAN,
            INF,
            -INF,
            0.5000000000000001,
            1e-320,
        ]
    )
    got = oxbridge.evaluate("round(a)", a=a)
    assert_same(got, np.round(a))
    assert got[:8].tolist() == [0.0, 2.0, 2.0, 4.0, -0.0, -2.0, -2.0, -4.0]
    assert oxbridge.evaluate("round(2.5) + round(-0.5) + round(1.5)") == 4.0


def test_sign_of_zero_follows_numpy():
    z = np.array([0.0, -0.0, 1.0, -1.0, INF, -INF])
    exact = [
        ("z * 2", lambda z: z * 2),
        ("-z", lambda z: -z),
        ("z * -1", lambda z: z * -1),
        ("z + 0.0", lambda z: z + 0.0),
        ("z - 0.0", lambda z: z - 0.0),
        ("0.0 - z", lambda z: 0.0 - z),
        ("abs(z)", np.abs),
        ("sqrt(z)", np.sqrt),
        ("ceil(z * 0.5 - 0.25)", lambda z: np.ceil(z * 0.5 - 0.25)),
        ("round(z * 0.3)", lambda z: np.round(z * 0.3)),
        ("1 / z", lambda z: 1 / z),
        ("z / -inf", lambda z: z / -INF),
        ("z % 1", lambda z: np.remainder(z, 1.0)),
        ("z % -1", lambda z: np.remainder(z, -1.0)),
        ("floor(z)", np.floor),
        ("where(z == 0, z, 5)", lambda z: np.where(z == 0, z, 5.0)),
    ]
    for expression, fn in exact:
        with np.errstate(all="ignore"):
            assert_same(oxbridge.evaluate(expression, z=z), fn(z))
    # Odd functions keep the sign of zero (values within ulps, zeros exactly).
    for name in ("sin", "tan", "arctan", "tanh", "expm1", "log1p", "sinh", "arcsin", "arcsinh", "arctanh"):
        with np.errstate(all="ignore"):
            assert_ulp(oxbridge.evaluate(f"{name}(z)", z=z), getattr(np, name)(z), 2)
    assert np.signbit(oxbridge.evaluate("a * 2", a=np.array([-0.0]))[0])
    assert np.signbit(oxbridge.evaluate("-0.0 * 2"))
