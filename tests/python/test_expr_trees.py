"""Random expression trees against numpy: hypothesis draws a tree, renders it with only the
parentheses Python needs (checked by Python's own parser), and compares the engine with a
numpy evaluation of the tree; then where() with costly sides, which the engine computes
only for the values that take them."""

import ast

import numpy as np
import pytest
from _expr_helpers import (
    ARITHMETIC,
    COMPARISONS,
    EXACT_UNARY,
    FLOAT_ELEMENTS,
    INF,
    NAN,
    TRANSCENDENTAL,
    as_f64,
    assert_same,
    ieee_maximum,
    ieee_minimum,
    libm_function,
)
from hypothesis import HealthCheck, example, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import oxbridge

# Binding power, as in Python: or < and < not < comparisons < | < & < + - < * / % < unary < ** < atoms.
LEVEL = {
    "or": 1,
    "and": 2,
    "not": 3,
    "cmp": 4,
    "|": 5,
    "&": 6,
    "+": 7,
    "-": 7,
    "*": 8,
    "/": 8,
    "%": 8,
    "unary": 9,
    "**": 10,
    "atom": 11,
}


CMP_OPS = ["<", "<=", ">", ">=", "==", "!="]


BIN_OPS = ["+", "-", "*", "/", "%", "**", "&", "|", "and", "or"] + CMP_OPS


UNARY_FUNCS = sorted(EXACT_UNARY) + sorted(TRANSCENDENTAL) + ["isnan", "isfinite"]


CONSTANTS = [0.0, 0.5, 1.0, 2.0, 3.0, 10.0, 0.001, 2.5, 7.0, 1e300, 100.0]


NAMED = {"pi": np.pi, "inf": INF, "nan": NAN, "True": 1.0, "False": 0.0}


LIBM_NAMES = {
    "exp": "exp",
    "expm1": "expm1",
    "log": "log",
    "log10": "log10",
    "log1p": "log1p",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
}


# numpy's SIMD transcendental functions differ from the C library's by an ulp, and an ulp
# becomes anything after floor, a comparison or a cancellation; the reference computes
# them with the C library's functions (vectorised with numpy) so the comparison can be
# tight. Their agreement with numpy itself is checked above.
_LIBM_VEC = {name: np.frompyfunc(libm_function(c, 1), 1, 1) for name, c in LIBM_NAMES.items()}


_POW = np.frompyfunc(libm_function("pow", 2), 2, 1)


_ATAN2 = np.frompyfunc(libm_function("atan2", 2), 2, 1)


def _trees(names):
    leaves = st.one_of(
        st.sampled_from(names).map(lambda n: ("var", n)),
        st.sampled_from(CONSTANTS).map(lambda v: ("num", v)),
        st.sampled_from(sorted(NAMED)).map(lambda n: ("named", n)),
    )

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(["neg", "pos", "inv", "not"]), children),
            st.tuples(st.just("bin"), st.sampled_from(BIN_OPS), children, children),
            st.tuples(st.just("call"), st.sampled_from(UNARY_FUNCS), children),
            st.tuples(st.just("call"), st.sampled_from(["arctan2", "minimum", "maximum"]), children, children),
            st.tuples(st.just("call"), st.sampled_from(["where", "clip"]), children, children, children),
        )

    return st.recursive(leaves, extend, max_leaves=16).filter(lambda t: _depth(t) <= 5)


def _depth(t):
    if t[0] in ("var", "num", "named"):
        return 1
    children = t[1:] if t[0] in ("neg", "pos", "inv", "not") else t[2:]
    return 1 + max(_depth(c) for c in children)


def _level(t):
    kind = t[0]
    if kind in ("neg", "pos", "inv"):
        return LEVEL["unary"]
    if kind == "not":
        return LEVEL["not"]
    if kind == "bin":
        return LEVEL["cmp"] if t[1] in CMP_OPS else LEVEL[t[1]]
    return LEVEL["atom"]


def _render(t):
    """Python text with only the parentheses that Python's precedence needs."""
    kind = t[0]
    if kind == "var" or kind == "named":
        return t[1]
    if kind == "num":
        return repr(t[1])

    def wrap(child, need):
        text = _render(child)
        return f"({text})" if _level(child) < need else text

    if kind in ("neg", "pos", "inv"):
        return {"neg": "-", "pos": "+", "inv": "~"}[kind] + wrap(t[1], LEVEL["unary"])
    if kind == "not":
        return "not " + wrap(t[1], LEVEL["not"])
    if kind == "bin":
        op, left, right = t[1], t[2], t[3]
        if op == "**":  # right-associative; the left side must be an atom (-a**b is -(a**b))
            return f"{wrap(left, LEVEL['atom'])} ** {wrap(right, LEVEL['unary'])}"
        level = _level(t)
        # Left-associative; comparisons do not chain, so neither side may be one.
        left_need = level + 1 if op in CMP_OPS else level
        return f"{wrap(left, left_need)} {op} {wrap(right, level + 1)}"
    return f"{t[1]}({', '.join(_render(c) for c in t[2:])})"


_AST_BIN = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}


_AST_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


_AST_UNARY = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "inv", ast.Not: "not"}


def _from_ast(node):
    """The tree Python's own parser sees in the rendered text."""
    if isinstance(node, ast.Expression):
        return _from_ast(node.body)
    if isinstance(node, ast.Name):
        return ("named", node.id) if node.id in NAMED else ("var", node.id)
    if isinstance(node, ast.Constant):
        return ("named", str(node.value)) if isinstance(node.value, bool) else ("num", float(node.value))
    if isinstance(node, ast.UnaryOp):
        return (_AST_UNARY[type(node.op)], _from_ast(node.operand))
    if isinstance(node, ast.BinOp):
        return ("bin", _AST_BIN[type(node.op)], _from_ast(node.left), _from_ast(node.right))
    if isinstance(node, ast.Compare):
        assert len(node.ops) == 1
        return ("bin", _AST_CMP[type(node.ops[0])], _from_ast(node.left), _from_ast(node.comparators[0]))
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        tree = _from_ast(node.values[0])
        for value in node.values[1:]:
            tree = ("bin", op, tree, _from_ast(value))
        return tree
    if isinstance(node, ast.Call):
        return ("call", node.func.id, *(_from_ast(a) for a in node.args))
    raise AssertionError(ast.dump(node))


def _is_bool(t):
    """Whether the engine types the result as a truth value (as numexpr does)."""
    kind = t[0]
    if kind == "named":
        return t[1] in ("True", "False")
    if kind in ("not", "inv"):
        return True
    if kind == "pos":
        return _is_bool(t[1])
    if kind == "bin":
        return t[1] in CMP_OPS or t[1] in ("&", "|", "and", "or")
    if kind == "call":
        if t[1] in ("isnan", "isfinite"):
            return True
        if t[1] == "where":
            return _is_bool(t[3]) and _is_bool(t[4])
    return False


# The engine's own vector kernels are within 0.7 ulp of the correctly rounded result, so
# an ulp from the C library's now and then, which a later function can amplify (tan near
# its pole, a cancellation) or a comparison can flip. The reference is also computed with
# their results moved an ulp down and up: the engine's answer must lie within those.
OWN_KERNELS = {"exp", "expm1", "log", "log10", "log1p"}


def _reference(t, env, nudge=0):
    """(value, constant?) of a tree with numpy; constant subtrees are folded like the
    engine folds them (which matters only for `x ** 2`, compiled to x * x). `nudge` (-1
    or 1) moves the results of the engine's own kernels an ulp down or up."""
    kind = t[0]
    if kind == "var":
        return env[t[1]], False
    if kind == "num":
        return np.float64(t[1]), True
    if kind == "named":
        return np.float64(NAMED[t[1]]), True
    if kind in ("neg", "pos", "inv", "not"):
        x, const = _reference(t[1], env, nudge)
        if kind == "neg":
            return np.negative(x), const
        if kind == "pos":
            return x, const
        return (as_f64(x) == 0).astype(np.float64), const
    if kind == "bin":
        (x, cx), (y, cy) = _reference(t[2], env, nudge), _reference(t[3], env, nudge)
        op, const = t[1], cx and cy
        if op in ARITHMETIC:
            return ARITHMETIC[op](x, y), const
        if op == "**":
            if cy and not cx and float(y) == 2.0:
                return np.multiply(x, x), const
            return as_f64(_POW(x, y)), const
        if op in CMP_OPS:
            return COMPARISONS[op](x, y).astype(np.float64), const
        if op in ("&", "and"):
            return np.logical_and(as_f64(x) != 0, as_f64(y) != 0).astype(np.float64), const
        return np.logical_or(as_f64(x) != 0, as_f64(y) != 0).astype(np.float64), const
    name, args = t[1], [_reference(a, env, nudge) for a in t[2:]]
    values, const = [v for v, _ in args], all(c for _, c in args)
    if name in EXACT_UNARY:
        return EXACT_UNARY[name](values[0]), const
    if name in _LIBM_VEC:
        value = as_f64(_LIBM_VEC[name](values[0]))
        if nudge and name in OWN_KERNELS:
            value = np.nextafter(value, np.inf * nudge)
        return value, const
    if name == "isnan":
        return np.isnan(values[0]).astype(np.float64), const
    if name == "isfinite":
        return np.isfinite(values[0]).astype(np.float64), const
    if name == "arctan2":
        return as_f64(_ATAN2(*values)), const
    if name == "minimum":
        return ieee_minimum(*values), const
    if name == "maximum":
        return ieee_maximum(*values), const
    if name == "clip":
        return ieee_minimum(ieee_maximum(values[0], values[1]), values[2]), const
    assert name == "where"
    c, a, b = values
    return np.where(as_f64(c) != 0, a, b), const


@st.composite
def _tree_case(draw):
    names = draw(st.sampled_from([["a", "b"], ["a", "b", "c"]]))
    tree = draw(_trees(names))
    n = draw(st.integers(1, 24))
    env = {name: draw(hnp.arrays(np.float64, n, elements=FLOAT_ELEMENTS)) for name in names}
    if len(names) == 3 and draw(st.booleans()):
        env["c"] = draw(FLOAT_ELEMENTS)  # a scalar operand, bound as a constant
    return tree, env, n


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_tree_case())
# Found by CI: expm1(1.0) an ulp above the C library's, which tan near its pole makes 16.
@example((("call", "tan", ("call", "expm1", ("num", 1.0))), {"a": np.array([NAN]), "b": np.array([NAN])}, 1))
def test_random_expression_trees_match_numpy(case):
    tree, env, n = case
    text = _render(tree)
    # The rendering means what the tree means, by Python's own parser.
    assert _from_ast(ast.parse(text, mode="eval")) == tree, text
    with np.errstate(all="ignore"):
        want, down, up = (np.broadcast_to(as_f64(_reference(tree, env, k)[0]), (n,)) for k in (0, -1, 1))
    got = oxbridge.evaluate(text, local_dict=env)
    got = np.broadcast_to(np.asarray(got), (n,))
    if _is_bool(tree):
        assert got.dtype == np.bool_, text
        near = (got == (want != 0)) | (got == (down != 0)) | (got == (up != 0))
        assert near.all(), (text, got, want)
    else:
        assert got.dtype == np.float64, text
        with np.errstate(all="ignore"):
            spread = np.fmax(np.abs(down - want), np.abs(up - want))
            close = np.abs(got - want) <= 1e-15 * np.abs(want) + 2 * np.nan_to_num(spread, posinf=0.0)
        same = (got == want) | (np.isnan(got) & np.isnan(want)) | close
        near = same | (got == down) | (got == up) | (np.isnan(got) & (np.isnan(down) | np.isnan(up)))
        assert near.all(), (text, got, want, down, up)


WHERE_COSTLY = [
    "where(a > 0, log(a) * b, where(b > 3, exp(a) + b, sin(a)))",
    "where(a > b, a ** c, b % c)",
    "where(c > 0, where(a > 0, log1p(a), cos(b)), arctan2(a, b) * c)",
    "where(a < 0, sqrt(-a) + tanh(b * c), a) * 2 + where(b > 0, log(b), -1)",
    "where(isnan(a), b, where(isnan(b), a, log(abs(a - b) + 1)))",
    "where(a > 0, log(a) + where(b > 0, log(b), exp(b)), -log(-a))",
]


@pytest.mark.parametrize("expression", WHERE_COSTLY)
def test_where_with_costly_sides_across_blocks_and_tasks(expression):
    """Costly where() sides are computed only for the values that take them (gathered and
    scattered per block): the result must be the same as computing both sides."""
    rng = np.random.default_rng(12)
    n = 70_001  # two parallel tasks, many blocks, a ragged last block
    a, b = rng.standard_normal(n) * 3, rng.standard_normal(n) * 3
    a[::97], b[::89] = NAN, INF
    c = rng.integers(-3, 4, n).astype(np.int32)  # converted, then gathered
    tree = _from_ast(ast.parse(expression, mode="eval"))
    for c_value in (c, 0.5):
        env = {"a": a, "b": b, "c": c_value}
        with np.errstate(all="ignore"):
            want = np.broadcast_to(as_f64(_reference(tree, {k: as_f64(v) for k, v in env.items()})[0]), (n,))
        got = oxbridge.evaluate(expression, **env)
        # The reference's exp and log are the C library's, the engine's its own kernels:
        # an ulp apart, and the sides' sums (of terms below 10 here) may cancel.
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-14, equal_nan=True)
        both_zero = (got == 0) & (want == 0)
        np.testing.assert_array_equal(np.signbit(got[both_zero]), np.signbit(want[both_zero]))
        # Every other layout gives the engine's float64 result exactly.
        out = np.empty(n, np.float32)
        oxbridge.evaluate(expression, out=out, **env)
        with np.errstate(all="ignore"):
            assert_same(out, got.astype(np.float32))
        reversed_env = {k: v[::-1] if isinstance(v, np.ndarray) else v for k, v in env.items()}
        assert_same(oxbridge.evaluate(expression, **reversed_env), got[::-1])
        aliased = a.copy()
        oxbridge.evaluate(expression, out=aliased, **dict(env, a=aliased))
        assert_same(aliased, got)
