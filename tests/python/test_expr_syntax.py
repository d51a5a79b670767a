"""The expression language's syntax: Python's precedence, constants and names, and the
errors: what was expected and where (a caret under the position), nesting and length
limits, wrong argument types."""

import numpy as np
import pytest
from _expr_helpers import numexpr_evaluate, source_and_caret

import oxbridge
from oxbridge import ExpressionError

# (expression, value): Python's precedence and associativity; & | ~ are logical.
PRECEDENCE = [
    ("-2**2", -4.0),
    ("2**3**2", 512.0),
    ("2**-1", 0.5),
    ("1 + 2 * 3 - 4 / 2", 5.0),
    ("-7 % 3", 2.0),
    ("7 % -3", -2.0),
    ("10 - 4 - 3", 3.0),
    ("2 ** -2 ** -1", 2 ** -(2**-1)),
    ("-(3) ** 2", -9.0),
    ("(-3) ** 2", 9.0),
    ("1 - -1", 2.0),
    ("2 * 3 % 4", 2.0),
    ("2 * (3 % 4)", 6.0),
    ("8 / 4 / 2", 1.0),
    ("(1 < 2) & (3 > 4) | ~(1 == 1)", 0.0),
    ("not 1 < 2 or 2 >= 2 and 1 != 1", 0.0),
    ("5 & 3 | 0", 1.0),
    ("1 + 2 < 4 & 1", 0.0),
    ("1 | 0 == 0", 0.0),
    ("~0 + 1", 2.0),
    ("not 0 + 1", 0.0),
    ("0 and 1 or 1", 1.0),
    ("0 or 1 and 0", 0.0),
    ("+-+2", -2.0),
    ("2 ** 0.5 ** 2", 2**0.25),
]


@pytest.mark.parametrize("expression, value", PRECEDENCE)
def test_precedence_follows_python(expression, value):
    got = oxbridge.evaluate(expression)
    assert float(np.asarray(got).ravel()[0]) == value


def test_chained_comparisons_and_constant_folding():
    with pytest.raises(ExpressionError, match="chained"):
        oxbridge.evaluate("1 < 2 == True")
    assert oxbridge.evaluate("where(1 > 2, 5, clip(7, 0, 3))") == 3.0
    x = np.array([1.0, -2.0])
    assert oxbridge.evaluate("where(1, x, nan)", x=x).tolist() == [1.0, -2.0]
    assert oxbridge.evaluate("x ** (1 + 1)", x=x).tolist() == [1.0, 4.0]


def test_constant_expressions():
    assert oxbridge.evaluate("1 + 2") == 3.0
    assert oxbridge.evaluate("pi") == np.pi
    assert np.isinf(oxbridge.evaluate("inf")) and np.isnan(oxbridge.evaluate("nan"))
    assert oxbridge.evaluate("2 ** 10") == 1024.0
    assert oxbridge.evaluate("1.5e3 + .5 + 5.") == 1505.5


def test_operand_named_like_a_constant_is_used():
    a = np.zeros(3)
    got = oxbridge.evaluate("e + 1", e=a)  # numexpr: [1, 1, 1]
    np.testing.assert_array_equal(got, numexpr_evaluate("e + 1", e=a))
    # inf, nan, NaN and pi are constants of the language (documented), not operands.
    assert oxbridge.Expression("x * pi + inf").variables == ("x",)


SYNTAX_ERRORS = [
    # (expression, fragment of the message, caret position)
    ("2*a +* b", 'expected a number, a name or "(", found "*"', 5),
    ("(a + b", 'expected ")" to close the parenthesis, found the end of the expression', 6),
    ("((a)", 'expected ")"', 4),
    ("sin(a", 'expected ")" to close the arguments of sin()', 5),
    ("foo(a)", 'unknown function "foo"; the functions are: abs, sqrt, exp, expm1, log, log10, log1p, sin', 0),
    ("a + bar(1, 2)", 'unknown function "bar"', 4),
    ("where(a, b)", "where() takes 3 arguments, got 2", 0),
    ("1 + sin(a, b)", "sin() takes 1 argument, got 2", 4),
    ("arctan2(a)", "arctan2() takes 2 arguments, got 1", 0),
    ("clip(a, b)", "clip() takes 3 arguments, got 2", 0),
    ("sin()", "sin() takes 1 argument, got 0", 0),
    ("a < b < c", "chained comparisons (a < b < c) are not supported", 6),
    ("a == b != c", "chained comparisons", 7),
    ("", "the expression is empty", 0),
    ("   ", "the expression is empty", 0),
    ("a $ b", "unexpected character '$'", 2),
    ("a + é", "unexpected character 'é'", 4),
    ("a[0]", "unexpected character '['", 1),
    ("a b", 'expected an operator or the end, found "b"', 2),
    ("a)", 'expected an operator or the end, found ")"', 1),
    ("a +", 'expected a number, a name or "(", found the end of the expression', 3),
    ("a // b", 'found "/"', 3),
    ("2x", "a number followed directly by a letter", 1),
    ("1.2.3", '"1.2.3" is not a number', 0),
    ("a and", 'expected a number, a name or "(", found the end', 5),
    ("or b", 'expected an operand, found the keyword "or"', 0),
    ("sin(a,)", 'found ")"', 6),
    ("a if b else c", 'expected an operator or the end, found "if"', 2),
]


@pytest.mark.parametrize("expression, fragment, caret", SYNTAX_ERRORS)
def test_syntax_errors_name_what_and_where(expression, fragment, caret):
    for compile_ in (oxbridge.Expression, lambda s: oxbridge.evaluate(s, a=1.0, b=2.0, c=3.0)):
        with pytest.raises(ExpressionError) as info:
            compile_(expression)
        message = str(info.value)
        assert fragment in message, message
        assert f"(at position {caret})" in message
        source, column = source_and_caret(message)
        assert source == expression and column == caret, message
        assert info.value.expression == expression
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 10_000 + "a" + ")" * 10_000,
        "+".join(["a"] * 5000),
        "**".join(["a"] * 5000),
        "-" * 10_000 + "a",
        "not " * 5000 + "a",
        "sin(" * 5000 + "a" + ")" * 5000,
        "where(a, " * 3000 + "a" + ", b)" * 3000,
    ],
    ids=["parentheses", "sum chain", "power chain", "minus signs", "nots", "calls", "wheres"],
)
def test_deep_nesting_is_refused_not_a_crash(expression):
    with pytest.raises(ExpressionError, match="nested too deeply"):
        oxbridge.Expression(expression)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        oxbridge.evaluate(expression, a=1.0, b=2.0)


def test_long_expressions():
    with pytest.raises(ExpressionError, match="too long"):
        oxbridge.Expression("+".join(["a"] * 60_000))
    # Long but shallow enough is fine, and so is nesting within the limits.
    e = oxbridge.Expression("+".join(["a"] * 900))
    assert e(np.ones(3)).tolist() == [900.0] * 3
    assert oxbridge.evaluate("(" * 150 + "a" + ")" * 150, a=2.0) == 2.0
    assert oxbridge.evaluate("-" * 150 + "a", a=2.0) == 2.0


def test_nul_character_is_an_error():
    with pytest.raises(ValueError):
        oxbridge.Expression("a + 1\x00 * 100")


def test_unknown_names_list_what_was_given():
    with pytest.raises(
        ExpressionError, match=r"name 'zz_missing' in 'zz_missing \+ q' is not defined.*given: q"
    ) as info:
        oxbridge.evaluate("zz_missing + q", q=1.0)
    assert info.value.expression == "zz_missing + q"
    with pytest.raises(ExpressionError, match=r"given: k, q"):
        oxbridge.evaluate("zz_missing + 1", q=1.0, local_dict={"k": 2})
    with pytest.raises(ExpressionError, match=r"given: none"):
        oxbridge.evaluate("zz_missing + 1")


def test_wrong_argument_types():
    with pytest.raises(TypeError):
        oxbridge.Expression(b"a + 1")
    with pytest.raises(TypeError):
        oxbridge.evaluate(42)
