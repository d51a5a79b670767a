""".npy headers read as the Python dict literal they are (src/dataset/npy/literal.rs).

Oracles: numpy.lib.format writes the real headers (versions 1.0, 2.0, 3.0) and numpy.load
reads the hand-written ones; ast.literal_eval says what a header's text means. A header
is accepted when it is a dict with exactly the keys descr, fortran_order and shape, a
dtype string, a bool, and a tuple of sizes. Where numpy is laxer on purpose: a key written
twice (literal_eval keeps the last one silently) is refused, since one of the two values
is ignored whichever is read.
"""

import ast
import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from numpy.lib import format as npformat

import oxbridge

DTYPES = ["<f8", "<f4", "<i8", "<i4", "<i2", "|i1", "<u4", "<u2", "|u1", "|b1", ">f8", ">i4"]


def _file(header: str, data: bytes = b"", version=(1, 0), encoding="latin-1") -> bytes:
    text = (header + "\n").encode(encoding)
    size = len(text).to_bytes(2 if version == (1, 0) else 4, "little")
    return b"\x93NUMPY" + bytes(version) + size + text + data


def _open(tmp_path, raw: bytes):
    path = tmp_path / "h.npy"
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("shape", [(5,), (4, 3), (0,), (0, 2), ()])
@pytest.mark.parametrize("fortran", [False, True])
def test_headers_numpy_writes(tmp_path, version, shape, fortran):
    a = np.arange(int(np.prod(shape)), dtype="<f8").reshape(shape, order="F" if fortran else "C")
    buf = io.BytesIO()
    npformat.write_array(buf, a, version=version)
    path = _open(tmp_path, buf.getvalue())
    rows, cols = (shape[0] if shape else 1), (shape[1] if len(shape) == 2 else 1)
    with oxbridge.Dataset.open(path) as ds:
        assert (ds.num_rows, len(ds.columns)) == (rows, cols)
        if a.size:
            assert ds.describe()["0"].sum == a.reshape(rows, cols)[:, 0].sum()


def test_a_string_value_holding_a_shape_is_not_the_shape(tmp_path):
    """The issue's example: text search found 'shape': (9,) inside a value and read 9 rows."""
    data = np.array([1.0, 2.0]).tobytes()
    header = "{'descr': '<f8', 'fortran_order': False, 'note': \"'shape': (9,)\", 'shape': (2,), }"
    path = _open(tmp_path, _file(header, data))
    with pytest.raises(ValueError):
        np.load(path)  # numpy refuses the unknown key too
    with pytest.raises(oxbridge.DataFormatError, match="unknown key 'note'"):
        oxbridge.Dataset.open(path)


# Headers numpy reads (literal_eval accepts every spelling) and so must we: (text, shape).
ACCEPTED = [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", (2,)),
    ('{"shape": (2,), "descr": "<f8", "fortran_order": False}', (2,)),
    ("{ 'descr' : '<f8' ,'fortran_order':False,'shape':( 2 , ) }", (2,)),
    ("{'descr': '<' 'f8', 'fortran_order': False, 'shape': (2,)}", (2,)),
    ("{'descr': u'<f8', 'fortran_order': False, 'shape': ((2),)}", (2,)),
    ("{'descr': '<f8', # a comment\n 'fortran_order': False, 'shape': (1, 2)}", (1, 2)),
    ("{'descr': '\\x3cf8', 'fortran_order': False, 'shape': (2,)}", (2,)),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2_0,)}", (20,)),
]


@pytest.mark.parametrize("header, shape", ACCEPTED)
def test_hand_written_headers_numpy_reads(tmp_path, header, shape):
    n = int(np.prod(shape))
    path = _open(tmp_path, _file(header, np.arange(n, dtype="<f8").tobytes()))
    assert np.load(path).shape == shape
    with oxbridge.Dataset.open(path) as ds:
        assert ds.num_rows == shape[0]
        assert ds.describe()["0"].count == shape[0]


# Headers refused with DataFormatError: (text, words of the message, whether numpy
# refuses it too).
REFUSED = [
    ("{'descr': '<f8', 'fortran_order': False}", "no 'shape'", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unknown key 'x'", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (9,), 'shape': (2,)}", "'shape' twice", False),
    ("{'descr': '<f8', 'fortran_order': 'False', 'shape': (2,)}", "'fortran_order' is 'False'", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': [2]}", "'shape' is [2]", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,)}", "value of 'shape'", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} + 1", "not a Python literal", True),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", "not a Python literal", True),
    ("{'descr': b'<f8', 'fortran_order': False, 'shape': (2,)}", "not a str literal", True),
    ("['descr', 'fortran_order', 'shape']", "not a dict", True),
]


@pytest.mark.parametrize("header, words, numpy_refuses", REFUSED)
def test_malformed_headers_are_refused_naming_what(tmp_path, header, words, numpy_refuses):
    path = _open(tmp_path, _file(header, bytes(16)))
    if numpy_refuses:
        with pytest.raises(Exception):  # noqa: B017 - ValueError, SyntaxError or tokenize's TokenError
            np.load(path)
    else:
        assert np.load(path).shape == (2,)  # numpy silently keeps the last value
    with pytest.raises(oxbridge.DataFormatError, match=re.escape(words)) as info:
        oxbridge.Dataset.open(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("version", [(0, 0), (1, 1), (2, 5), (4, 0), (9, 0)])
def test_format_versions_numpy_does_not_write_are_refused(tmp_path, version):
    path = _open(tmp_path, _file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", bytes(16), version))
    with pytest.raises(ValueError):
        np.load(path)
    with pytest.raises(oxbridge.DataFormatError, match=f"version {version[0]}.{version[1]}"):
        oxbridge.Dataset.open(path)


def test_version_3_headers_are_utf8(tmp_path):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
    # A comment in UTF-8 (version 3 only); version 1 reads the same bytes as Latin-1.
    text = header[:-1] + "# é\n}"
    path = _open(tmp_path, _file(text, bytes(16), (3, 0), "utf-8"))
    assert np.load(path).shape == (2,)
    with oxbridge.Dataset.open(path) as ds:
        assert ds.num_rows == 2
    bad = _file(header, bytes(16), (3, 0)).replace(b"False", b"False#\xff")
    with pytest.raises(oxbridge.DataFormatError, match="UTF-8"):
        oxbridge.Dataset.open(_open(tmp_path, bad))


# ---- the parser against ast.literal_eval, on generated headers ----------------------------

KEYS = ["descr", "fortran_order", "shape"]
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12)
_values = st.one_of(
    st.sampled_from(DTYPES + ["<c16", "<f2", "<f8 "]),
    _text,
    st.booleans(),
    st.none(),
    st.integers(-3, 4),
    st.tuples(st.integers(0, 3)),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.integers(-1, 3), st.booleans()),
    st.lists(st.integers(0, 3), max_size=2),
)


@st.composite
def headers(draw):
    """A dict literal as text: usually numpy's three keys, sometimes one missing, one
    more, or one twice; each value right or of another type; Python's spellings varied."""
    entries = [(k, draw(_good_value(k)) if draw(st.integers(0, 4)) else draw(_values)) for k in KEYS]
    change = draw(st.integers(0, 6))
    if change == 0:
        entries.pop(draw(st.integers(0, 2)))
    elif change == 1:
        entries.append((draw(st.one_of(_text, st.sampled_from(KEYS))), draw(_values)))
    entries = draw(st.permutations(entries))
    space = draw(st.sampled_from(["", " ", "  ", "\n  "]))

    def spell(value) -> str:
        text = repr(value)
        if isinstance(value, str) and draw(st.booleans()):
            text = "u" + text
        return text

    body = ("," + space).join(f"{spell(k)}{space}:{space}{spell(v)}" for k, v in entries)
    trailing = draw(st.sampled_from(["", ",", ", "]))
    return "{" + space + body + trailing + "}" + " " * draw(st.integers(0, 3)), entries


def _good_value(key):
    return {
        "descr": st.sampled_from(DTYPES),
        "fortran_order": st.booleans(),
        "shape": st.one_of(st.just(()), st.tuples(st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))),
    }[key]


# dtype names oxbridge also reads (Scalar::parse) besides type codes: generated headers
# avoid them (numpy writes codes; test_dataset checks the names against numpy).
BY_NAME = {"float64", "f8", "double", "float32", "f4", "float", "single", "int64", "i8", "int32", "i4", "int16", "i2"}
BY_NAME |= {"int8", "i1", "uint32", "u4", "uint16", "u2", "uint8", "u1", "bool", "b1"}
CODES = {"f8", "f4", "i8", "i4", "i2", "i1", "u4", "u2", "u1", "b1"}


def _expected(text: str, entries):
    """What a header means, checked in oxbridge's order (keys, descr, fortran_order,
    shape): ("ok", shape, itemsize) or ("refused", the exception)."""
    value = ast.literal_eval(text)
    keys = [k for k, _ in entries]
    if len(keys) != len(set(keys)) or set(value) != set(KEYS):
        return ("refused", oxbridge.DataFormatError)
    descr, fortran, shape = value["descr"], value["fortran_order"], value["shape"]
    if isinstance(descr, list):
        return ("refused", oxbridge.UnsupportedError)  # a structured array
    if not isinstance(descr, str):
        return ("refused", oxbridge.DataFormatError)
    assume(descr in DTYPES or not (descr in BY_NAME or (descr[:1] in "<>|=" and descr[1:] in CODES)))
    if descr not in DTYPES:
        return ("refused", oxbridge.UnsupportedError)
    if not isinstance(fortran, bool) or not isinstance(shape, tuple):
        return ("refused", oxbridge.DataFormatError)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        return ("refused", oxbridge.DataFormatError)
    return ("ok", shape, np.dtype(descr).itemsize)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers())
def test_generated_headers_against_literal_eval(tmp_path, header):
    text, entries = header
    expected = _expected(text, entries)
    size = int(np.prod(expected[1])) * expected[2] if expected[0] == "ok" else 64
    path = _open(tmp_path, _file(text, bytes(size), (3, 0), "utf-8"))
    if expected[0] == "ok":
        shape = expected[1]
        with oxbridge.Dataset.open(path) as ds:
            assert ds.num_rows == (shape[0] if shape else 1)
            assert len(ds.columns) == (shape[1] if len(shape) == 2 else 1)
    else:
        with pytest.raises(expected[1]):
            oxbridge.Dataset.open(path)
