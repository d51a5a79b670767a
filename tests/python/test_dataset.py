"""oxbridge.Dataset: memory-mapped .npy, raw binary and CSV files, described in parallel.

Oracles: numpy (and exact Python-int / Fraction arithmetic) for binary files; Python's csv
module with exact arithmetic, and pandas, for CSV. Big files are generated under tmp_path
at test time; the hand-written CSV corpus is tested in test_csv_corpus.py.
"""

from __future__ import annotations

import csv
import errno
import gc
import io
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import oxbridge
from oxbridge._loader import lib

from _helpers import json_form, python, run_child, run_threads, started
from test_csv_corpus import DEFAULT_NULLS, assert_matches_expected, expected_description

CLI = str(Path(sys.executable).with_name("oxbridge"))


def _live() -> int:
    return lib.oxb_live_handles()


def _nan_to_none(d):
    return json_form(d)


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------------------
# numpy as the oracle for binary data
# ---------------------------------------------------------------------------------------


def assert_stats_like_numpy(s, a, where=""):
    """Stats of one column against numpy (ints: exact Python-int sum, min and max)."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        vals = [int(v) for v in a.tolist()]
        assert (s.count, s.nan_count) == (len(vals), 0), where
        if not vals:
            assert s.sum == 0 and math.isnan(s.mean) and math.isnan(s.min) and math.isnan(s.max), where
            return
        assert type(s.sum) is int and s.sum == sum(vals), where
        assert type(s.min) is int and (s.min, s.max) == (min(vals), max(vals)), where
        np.testing.assert_allclose(s.mean, float(Fraction(sum(vals), len(vals))), rtol=1e-12, err_msg=where)
        values = a.astype(np.float64)
    else:
        f = a.astype(np.float64)
        nan = np.isnan(f)
        values = f[~nan]
        assert (s.count, s.nan_count) == (values.size, int(nan.sum())), where
        if values.size == 0:
            assert s.sum == 0 and math.isnan(s.mean) and math.isnan(s.min) and math.isnan(s.max), where
            return
        assert (s.min, s.max) == (values.min(), values.max()), where
        np.testing.assert_allclose(s.sum, math.fsum(values), rtol=1e-12, err_msg=where)
        np.testing.assert_allclose(s.mean, np.mean(values), rtol=1e-12, err_msg=where)
    if values.size > 1:
        np.testing.assert_allclose(s.std, np.std(values, ddof=1), rtol=1e-9, atol=1e-300, err_msg=where)
        np.testing.assert_allclose(s.var, np.var(values, ddof=1), rtol=1e-9, atol=1e-300, err_msg=where)
    else:
        assert math.isnan(s.std), where


def _sample(dtype, n, seed=0):
    """Values spanning the dtype's range (floats with NaN, and signed zeros)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        a = (rng.standard_normal(n) * 1000).astype(dtype)
        if n > 10:
            a[::97] = np.nan
            a[5] = -0.0
        return a
    if dtype.kind == "b":
        return rng.integers(0, 2, n).astype(bool)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, dtype=dtype.newbyteorder("="), endpoint=True).astype(dtype)
    if n > 2:
        a[0], a[1] = info.min, info.max
    return a


NPY_DTYPES = ["f8", "f4", "i8", "i4", "i2", "i1", "u4", "u2", "u1", "b1"]
NAMES = {
    "f8": "float64",
    "f4": "float32",
    "i8": "int64",
    "i4": "int32",
    "i2": "int16",
    "i1": "int8",
    "u4": "uint32",
    "u2": "uint16",
    "u1": "uint8",
    "b1": "bool",
}


def _dt(code, order):
    return np.dtype(code if code in ("i1", "u1", "b1") else order + code)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("code", NPY_DTYPES)
def test_npy_1d_every_dtype_and_byte_order(tmp_path, code, order):
    # 300_001 float64 values are 2.4 MB: several 1 MB parallel chunks, a ragged last one.
    a = _sample(_dt(code, order), 300_001)
    path = tmp_path / "a.npy"
    np.save(path, a)
    with oxbridge.Dataset.open(path) as ds:
        assert ds.columns == ["0"]
        assert ds.dtypes == {"0": NAMES[code]}
        assert ds.num_rows == len(ds) == a.shape[0]
        desc = ds.describe()
    assert desc.dtypes == {"0": NAMES[code]} and desc.num_rows == a.shape[0]
    assert_stats_like_numpy(desc["0"], a)


@pytest.mark.parametrize("fortran", [False, True], ids=["C", "F"])
@pytest.mark.parametrize("dtype", ["<f8", ">f8", "<f4", "<i8", ">i4", "<i2", "u1", ">u2", "b1"])
def test_npy_2d_c_and_fortran_order_match_numpy_per_column(tmp_path, dtype, fortran):
    base = _sample(dtype, 60_001 * 5, seed=2).reshape(60_001, 5)
    a = np.asfortranarray(base) if fortran else np.ascontiguousarray(base)
    path = tmp_path / "m.npy"
    np.save(path, a)
    assert np.load(path, mmap_mode="r").flags.f_contiguous == fortran  # numpy wrote what we meant
    with oxbridge.Dataset.open(path) as ds:
        assert ds.columns == ["0", "1", "2", "3", "4"] and ds.num_rows == 60_001
        desc = ds.describe()
        picked = ds.describe(columns=[4, "1", -5])
    for j in range(5):
        assert_stats_like_numpy(desc[str(j)], a[:, j], f"column {j}")
    assert list(picked) == ["4", "1", "0"]
    for name in picked:
        assert json.dumps(picked.to_dict()[name]) == json.dumps(desc.to_dict()[name])


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_npy_format_versions(tmp_path, version):
    a = _sample("<f8", 10_000, seed=3).reshape(2_000, 5)
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    assert path.read_bytes()[6:8] == bytes(version)
    desc = oxbridge.process_large_dataset(path)
    for j in range(5):
        assert_stats_like_numpy(desc[str(j)], a[:, j])


def _npy_bytes(descr, shape, fortran=False, data=b"", version=1, align=64, extra=0):
    """A hand-made .npy file (header text as numpy writes it)."""
    header = f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {tuple(shape)!r}, }}"
    prefix = 10 if version == 1 else 12
    pad = (-(prefix + len(header) + 1)) % align + extra
    text = (header + " " * pad + "\n").encode("latin-1")
    size = len(text).to_bytes(2 if version == 1 else 4, "little")
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + data


@pytest.mark.parametrize("dtype", ["<f8", "<f4", "<i8", "<i4", ">f8"])
def test_npy_with_unaligned_data_offset(tmp_path, dtype):
    """Data that does not start on an element boundary (a header padded by hand) is read
    through the copying path, with the same results."""
    a = _sample(dtype, 50_001, seed=4)
    for extra in (1, 3):
        raw = _npy_bytes(a.dtype.str, a.shape, data=a.tobytes(), align=1, extra=extra)
        path = tmp_path / f"u{extra}.npy"
        path.write_bytes(raw)
        np.testing.assert_array_equal(np.load(path), a)  # numpy reads it too
        with oxbridge.Dataset.open(path) as ds:
            assert_stats_like_numpy(ds.describe()["0"], a)


def test_npy_empty_and_scalar_arrays(tmp_path):
    cases = {
        "empty_f8.npy": np.zeros(0),
        "empty_i4.npy": np.zeros(0, np.int32),
        "zero_rows.npy": np.zeros((0, 3)),
        "scalar.npy": np.float64(2.5),
        "one.npy": np.array([7], dtype=np.int16),
    }
    for name, a in cases.items():
        np.save(tmp_path / name, a)
    with oxbridge.Dataset.open(tmp_path / "empty_f8.npy") as ds:
        assert ds.num_rows == 0
        s = ds.describe()["0"]
        assert (s.count, s.nan_count, s.sum) == (0, 0, 0) and math.isnan(s.mean) and math.isnan(s.std)
    s = oxbridge.process_large_dataset(tmp_path / "empty_i4.npy")["0"]
    assert (s.count, s.sum) == (0, 0) and math.isnan(s.min)
    desc = oxbridge.process_large_dataset(tmp_path / "zero_rows.npy")
    assert list(desc) == ["0", "1", "2"] and desc.num_rows == 0
    assert all(desc[c].count == 0 for c in desc)
    desc = oxbridge.process_large_dataset(tmp_path / "scalar.npy")  # shape (): one value
    assert desc.num_rows == 1 and (desc["0"].count, desc["0"].sum) == (1, 2.5)
    desc = oxbridge.process_large_dataset(tmp_path / "one.npy")
    assert (desc["0"].sum, desc["0"].min, desc.dtypes["0"]) == (7, 7, "int16") and math.isnan(desc["0"].std)


def test_npy_infinities_nan_and_signed_zero(tmp_path):
    np.save(tmp_path / "both.npy", np.array([1.0, np.inf, -np.inf, np.nan, -0.0]))
    np.save(tmp_path / "pos.npy", np.array([1.0, np.inf, np.nan, 2.0], dtype=">f4"))
    s = oxbridge.process_large_dataset(tmp_path / "both.npy")["0"]
    assert (s.count, s.nan_count, s.min, s.max) == (4, 1, -np.inf, np.inf)
    assert math.isnan(s.sum) and math.isnan(s.mean) and math.isnan(s.std)  # inf - inf, as numpy's nansum
    with np.errstate(invalid="ignore"):
        assert math.isnan(np.nansum([1.0, np.inf, -np.inf]))
    s = oxbridge.process_large_dataset(tmp_path / "pos.npy")["0"]
    assert (s.count, s.nan_count, s.sum, s.mean, s.min, s.max) == (3, 1, np.inf, np.inf, 1.0, np.inf)
    assert math.isnan(s.std)
    np.save(tmp_path / "zeros.npy", np.array([-0.0, -0.0]))
    s = oxbridge.process_large_dataset(tmp_path / "zeros.npy")["0"]
    assert (s.sum, s.min, s.max, s.std) == (0.0, 0.0, 0.0, 0.0)


def test_npy_with_no_columns(tmp_path):
    np.save(tmp_path / "e.npy", np.zeros((4, 0)))
    with oxbridge.Dataset.open(tmp_path / "e.npy") as ds:
        assert ds.columns == [] and ds.num_rows == 4
        desc = ds.describe()
    assert len(desc) == 0 and desc.to_dict() == {} and "no columns" in repr(desc)


def test_npy_detected_by_content_and_by_extension(tmp_path):
    a = _sample("<i4", 1000)
    np.save(tmp_path / "a.npy", a)
    os.rename(tmp_path / "a.npy", tmp_path / "data.bin")  # no .npy extension: the magic says npy
    assert_stats_like_numpy(oxbridge.process_large_dataset(tmp_path / "data.bin")["0"], a)
    # A CSV named .npy is read as npy unless told otherwise.
    _write(tmp_path / "table.npy", "a,b\n1,2\n")
    with pytest.raises(oxbridge.DataFormatError, match="not a valid .npy file"):
        oxbridge.Dataset.open(tmp_path / "table.npy")
    assert oxbridge.process_large_dataset(tmp_path / "table.npy", format="csv")["b"].sum == 2
    # And an npy file forced to CSV is refused as binary.
    with pytest.raises(oxbridge.DataFormatError, match="binary"):
        oxbridge.Dataset.open(tmp_path / "data.bin", format="csv")


def test_truncated_npy_is_a_data_format_error_naming_the_file(tmp_path):
    a = np.arange(1000.0)
    np.save(tmp_path / "full.npy", a)
    raw = (tmp_path / "full.npy").read_bytes()
    cuts = {
        "cut_data.npy": raw[:-8],
        "cut_half.npy": raw[: len(raw) // 2],
        "cut_header.npy": raw[:40],
        "cut_prefix.npy": raw[:8],
        "empty.npy": b"",
    }
    for name, data in cuts.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
            ds.describe()
        assert str(path) in str(info.value), name
    with pytest.raises(oxbridge.DataFormatError, match="truncated.*1000 x 1 float64"):
        oxbridge.Dataset.open(tmp_path / "cut_data.npy")


def test_malformed_npy_header_error_carries_the_path(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.zeros(100))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(oxbridge.DataFormatError) as info:
        oxbridge.Dataset.open(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize("shape", [(10**12,), (2**40, 2**40), (2**63, 3)])
def test_npy_header_claiming_a_huge_shape(tmp_path, shape):
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_bytes("<f8", shape, data=np.zeros(16).tobytes()))
    with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
        ds.describe()
    assert str(path) in str(info.value) and info.value.path == str(path)


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.zeros(3, dtype=[("a", "<f8"), ("b", "<i4")]),
        lambda: np.zeros(3, np.complex128),
        lambda: np.zeros(3, np.float16),
        lambda: np.zeros(3, np.uint64),
        lambda: np.zeros((2, 2, 2)),
        lambda: np.array(["text"]),
        lambda: np.zeros(3, "datetime64[ns]"),
        lambda: np.array([1, None], dtype=object),
    ],
    ids=["structured", "complex", "float16", "uint64", "3d", "unicode", "datetime", "object"],
)
def test_unsupported_npy_is_a_clear_unsupported_error(tmp_path, make):
    path = tmp_path / "x.npy"
    np.save(path, make(), allow_pickle=True)
    before = _live()
    with pytest.raises(oxbridge.UnsupportedError) as info:
        oxbridge.Dataset.open(path)
    assert isinstance(info.value, NotImplementedError)
    assert str(path) in str(info.value)
    assert _live() == before


def test_npy_unknown_version_and_malformed_headers(tmp_path):
    cases = {
        "v9.npy": (
            b"\x93NUMPY\x09" + _npy_bytes("<f8", (2,), data=bytes(16))[7:],
            oxbridge.DataFormatError,  # numpy writes 1.0, 2.0 and 3.0 only
            "version 9",
        ),
        "nodescr.npy": (
            b"\x93NUMPY\x01\x00" + (30).to_bytes(2, "little") + b"{'shape': (2,), }".ljust(29) + b"\n",
            oxbridge.DataFormatError,
            "descr",
        ),
        "badshape.npy": (_npy_bytes("<f8", (2,)).replace(b"(2,)", b"(x,)"), oxbridge.DataFormatError, "shape"),
    }
    for name, (data, error, words) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(error, match=words):
            oxbridge.Dataset.open(tmp_path / name)


# ---------------------------------------------------------------------------------------
# Raw binary
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["float64", "f8", "double", "float", "float32", "f4", "single", "int64", "i8", "int32", "i4", "int16", "i2"]
    + ["int8", "i1", "uint32", "u4", "uint16", "u2", "uint8", "u1", "bool", "b1"],
)
def test_raw_dtype_names_mean_what_numpy_says(tmp_path, name):
    """Every dtype name a raw file can be opened with is the type numpy gives that name
    ("float" is float64, as Python's float)."""
    a = _sample(np.dtype(name).str, 1_000, seed=3)
    path = tmp_path / "data.raw"
    a.tofile(path)
    with oxbridge.Dataset.open(path, dtype=name, columns=1) as ds:
        assert ds.dtypes == {"0": np.dtype(name).name} and ds.num_rows == 1_000
        desc = ds.describe()
    assert_stats_like_numpy(desc["0"], a, name)


@pytest.mark.parametrize(
    "dtype,columns",
    [
        ("float64", 3),
        ("<f4", 1),
        (">f8", 2),
        ("int64", 4),
        (">i4", 2),
        ("<i2", 5),
        ("uint8", 1),
        ("u2", 3),
        ("bool", 2),
    ],
)
def test_raw_binary_with_dtype_and_columns(tmp_path, dtype, columns):
    a = _sample(dtype, 30_000 * columns, seed=5).reshape(30_000, columns)
    path = tmp_path / "data.raw"
    a.tofile(path)
    with oxbridge.Dataset.open(path, dtype=dtype, columns=columns) as ds:  # dtype alone means raw
        assert ds.columns == [str(j) for j in range(columns)] and ds.num_rows == 30_000
        assert set(ds.dtypes.values()) == {NAMES[np.dtype(dtype).str[1:]]}
        desc = ds.describe()
    for j in range(columns):
        assert_stats_like_numpy(desc[str(j)], a[:, j], f"column {j}")
    again = oxbridge.process_large_dataset(path, format="raw", dtype=dtype, raw_columns=columns)
    assert json.dumps(again.to_dict()) == json.dumps(desc.to_dict())


def test_raw_binary_errors(tmp_path):
    path = tmp_path / "odd.raw"
    path.write_bytes(np.arange(10.0).tobytes() + b"\x00" * 5)
    with pytest.raises(oxbridge.DataFormatError, match="not a whole number of rows") as info:
        oxbridge.Dataset.open(path, dtype="float64")
    assert info.value.path == str(path)
    np.arange(9.0).tofile(path)  # 9 values are not rows of 2
    with pytest.raises(oxbridge.DataFormatError, match="whole number of rows of 2"):
        oxbridge.Dataset.open(path, dtype="float64", columns=2)
    assert oxbridge.process_large_dataset(path, dtype="float64", raw_columns=3).num_rows == 3
    with pytest.raises(oxbridge.InvalidArgumentError, match="dtype"):
        oxbridge.Dataset.open(path, format="raw")
    with pytest.raises(oxbridge.UnsupportedError, match="complex128"):
        oxbridge.Dataset.open(path, dtype="complex128")
    with pytest.raises(ValueError, match="at least 1"):
        oxbridge.Dataset.open(path, dtype="float64", columns=0)
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    desc = oxbridge.process_large_dataset(empty, dtype="int32", raw_columns=2)
    assert desc.num_rows == 0 and desc["1"].count == 0 and desc.dtypes["1"] == "int32"


# ---------------------------------------------------------------------------------------
# CSV: random tables (hypothesis) against the csv module + exact arithmetic, and pandas
# ---------------------------------------------------------------------------------------

_NULLS = st.sampled_from(DEFAULT_NULLS)
_INTS = (
    st.integers(-(2**63), 2**63 - 1).map(str)
    | st.integers(0, 999).map(lambda v: f"+{v}")
    | st.integers(-99, 99).map(lambda v: f" {v} ")
)
# Bounded so that sums and squares stay finite; infinities and NaN come as spellings.
_FLOATS = st.floats(-1e150, 1e150).flatmap(
    lambda v: st.sampled_from([repr(v), f"{v:.6e}", f"{v:.17g}", f"{v:.3f}"])
) | st.sampled_from(["inf", "-inf", "+inf", "Infinity", "-Infinity", "INF", "NAN", "-nan", ".5", "5.", "1E3"])
_TRICKY_TEXT = st.sampled_from(
    [
        ",",
        ";",
        "|",
        "\t",
        '"',
        '""',
        'say "hi"',
        "two\nlines",
        "crlf\r\ninside",
        " ",
        "  padded  ",
        "é",
        "東京",
        "\U0001f468\u200d\U0001f469",
        "n/a",
        "<NA>",
        "True",
        "12a",
    ]
)
# No NUL (a NUL near the start makes a file binary) and no lone CR (Python's csv writer
# leaves it unquoted with a "\n" terminator, and its reader then splits the record there).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=8) | _TRICKY_TEXT
_CELLS = {
    "int": st.one_of(_INTS, _INTS, _INTS, _NULLS),
    "float": st.one_of(_FLOATS, _FLOATS, _INTS, _NULLS),
    "text": st.one_of(_TEXT, _TEXT, _NULLS),
    "mixed": st.one_of(_INTS, _FLOATS, _TEXT, _NULLS),
}


@st.composite
def tables(draw, kinds=tuple(_CELLS)):
    ncols = draw(st.integers(1, 6))
    nrows = draw(st.integers(0, 25))
    cols = [draw(st.sampled_from(kinds)) for _ in range(ncols)]
    rows = [[draw(_CELLS[k]) for k in cols] for _ in range(nrows)]
    delimiter = draw(st.sampled_from([",", "\t", ";", "|"]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    return [f"c{j}" for j in range(ncols)], rows, delimiter, terminator


def _write_table(path, names, rows, delimiter, terminator):
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=terminator)
    writer.writerow(names)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))
    # The file says what we meant (Python's reader gives the table back).
    back = list(csv.reader(io.StringIO(buf.getvalue(), newline=""), delimiter=delimiter))
    assert back == [names] + rows


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(tables())
def test_random_tables_match_exact_computation(tmp_path, table):
    names, rows, delimiter, terminator = table
    path = tmp_path / "random.csv"
    _write_table(path, names, rows, delimiter, terminator)
    with oxbridge.Dataset.open(path, delimiter=delimiter, header=True) as ds:
        assert ds.columns == names
        desc = ds.describe()
    assert desc.num_rows == len(rows)
    expected = expected_description(names, rows)
    assert list(desc) == names
    for n, e in expected.items():
        assert_matches_expected(_only(desc, n), {n: e})
    # pandas parses the same records (read as text: type inference is compared in the
    # corpus and large-file tests). It skips lines of spaces, csv and oxbridge do not.
    if not (len(names) == 1 and any(r[0].strip() == "" and r[0] != "" for r in rows)):
        df = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, na_values=DEFAULT_NULLS)
        assert df.shape == (len(rows), len(names))
        assert [int(df[n].isna().sum()) for n in names] == [
            sum(r[j] in DEFAULT_NULLS for r in rows) for j in range(len(names))
        ]


def _only(desc, name):
    """A Description of one column (to check columns one by one)."""
    return oxbridge.Description({name: desc[name]}, {name: desc.dtypes[name]}, desc.num_rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(kinds=("int", "float")))
def test_random_numeric_tables_detect_delimiter_and_header(tmp_path, table):
    names, rows, delimiter, terminator = table
    path = tmp_path / "detect.csv"
    _write_table(path, names, rows, delimiter, terminator)
    with oxbridge.Dataset.open(path) as ds:
        assert ds.columns == names
        desc = ds.describe()
    assert_matches_expected(desc, expected_description(names, rows))


def test_text_length_of_values_with_doubled_quotes(tmp_path):
    path = _write(tmp_path / "q.csv", 'k,t\n1,"say ""hi"""\n2,""""\n')  # values: say "hi" (8), " (1)
    t = oxbridge.process_large_dataset(path)["t"]
    assert (t.min_len, t.max_len) == (1, 8)


def test_escaped_quotes_make_a_field_text_and_quoted_numbers_stay_numbers(tmp_path):
    path = _write(tmp_path / "q.csv", 'a,b\n"1""",1\n"2","3.5"\n')
    desc = oxbridge.process_large_dataset(path)
    assert desc.dtypes == {"a": "text", "b": "float64"}
    assert (desc["a"].count, desc["b"].sum) == (2, 4.5)


# ---------------------------------------------------------------------------------------
# CSV: files large enough for many parallel chunks
# ---------------------------------------------------------------------------------------

BIG_ROWS = 550_000


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """~30 MB: 7 chunks of 4 MB; quoted newlines and commas in `note`; a column of ints
    whose last rows are floats, one numeric until its last value is text, one mostly
    missing. Returns (path, columns as generated)."""
    rng = np.random.default_rng(7)
    values = (rng.standard_normal(BIG_ROWS) * 1000).tolist()
    n = BIG_ROWS
    maybe_int = []
    lines = ["id,value,note,maybe_int,late_text,sparse"]
    for i in range(n):
        note = "" if i % 11 == 0 else (f'"row {i}\nsecond, line"' if i % 3 else f"plain{i}")
        mi = f"{i % 1000}" if i < n - 100 else f"{i % 1000}.5"
        lt = str(i % 97) if i < n - 1 else "n/a"
        sp = str(i) if i % 50 == 0 else "NA"
        lines.append(f"{i},{values[i]!r},{note},{mi},{lt},{sp}")
        maybe_int.append(float(mi))
    path = tmp_path_factory.mktemp("big") / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 25_000_000
    yield path, {"value": values, "maybe_int": maybe_int}
    path.unlink()


@pytest.fixture(scope="module")
def big_pandas(big_csv):
    return pd.read_csv(big_csv[0], keep_default_na=False, na_values=DEFAULT_NULLS, low_memory=False)


def test_big_csv_matches_pandas_and_exact_sums(big_csv, big_pandas):
    path, generated = big_csv
    df = big_pandas
    with oxbridge.Dataset.open(path) as ds:
        assert ds.dtypes["maybe_int"] == "int64"  # the first 64 KB say int; the scan says float
        desc = ds.describe()
        assert ds.dtypes["maybe_int"] == "float64"
        assert ds.num_rows == BIG_ROWS
    assert desc.num_rows == len(df) == BIG_ROWS
    assert desc.dtypes == {
        "id": "int64",
        "value": "float64",
        "note": "text",
        "maybe_int": "float64",
        "late_text": "text",
        "sparse": "int64",
    }
    assert desc["id"].sum == BIG_ROWS * (BIG_ROWS - 1) // 2 and type(desc["id"].sum) is int
    np.testing.assert_allclose(desc["value"].sum, math.fsum(generated["value"]), rtol=1e-12)
    np.testing.assert_allclose(desc["maybe_int"].sum, math.fsum(generated["maybe_int"]), rtol=1e-15)
    for col in ("id", "value", "maybe_int", "sparse"):
        s, o = df[col], desc[col]
        assert (o.count, o.nan_count) == (int(s.notna().sum()), int(s.isna().sum())), col
        np.testing.assert_allclose([o.mean, o.std], [s.mean(), s.std(ddof=1)], rtol=1e-10, err_msg=col)
        assert (o.min, o.max) == (s.min(), s.max()), col
    assert desc["sparse"].count == BIG_ROWS // 50 and desc["sparse"].sum == sum(range(0, BIG_ROWS, 50))
    for col in ("note", "late_text"):
        s, o = df[col], desc[col]
        assert (o.count, o.nan_count) == (int(s.notna().sum()), int(s.isna().sum())), col
        lens = s.dropna().astype(str).str.len()
        assert (o.min_len, o.max_len) == (lens.min(), lens.max()), col


def test_big_csv_same_results_with_one_thread_and_by_column(big_csv):
    path, _ = big_csv
    with oxbridge.Dataset.open(path) as ds:
        whole = ds.describe().to_dict()
        picked = ds.describe(columns=["sparse", 1]).to_dict()
        oxbridge.set_num_threads(1)
        try:
            serial = ds.describe().to_dict()
        finally:
            oxbridge.set_num_threads(0)
    # Chunks are fixed byte ranges merged in file order: bit-identical whatever the threads.
    assert json.dumps(serial) == json.dumps(whole)
    assert list(picked) == ["sparse", "value"]
    assert json.dumps(picked["value"]) == json.dumps(whole["value"])
    assert json.dumps(picked["sparse"]) == json.dumps(whole["sparse"])


def test_describe_from_several_threads_at_once(big_csv):
    path, _ = big_csv
    results = [None] * 4
    with oxbridge.Dataset.open(path) as ds:
        expected = json.dumps(ds.describe(columns=["id", "note"]).to_dict())

        def work(i):
            results[i] = json.dumps(ds.describe(columns=["id", "note"]).to_dict())

        run_threads(4, work)
    assert results == [expected] * 4


def test_ragged_row_deep_in_a_big_file_names_the_first_bad_line(tmp_path):
    good = [f"{i},{i * 0.5},text {i}" for i in range(300_000)]  # ~6.6 MB: two 4 MB chunks
    rows = list(good)
    rows[150_000] = "1,2"  # line 150_002 (the header is line 1), in the first chunk
    rows[290_000] = "1,2,3,4"  # in the second chunk, parsed in parallel
    path = _write(tmp_path / "ragged.csv", "a,b,c\n" + "\n".join(rows) + "\n")
    with oxbridge.Dataset.open(path) as ds, pytest.raises(oxbridge.DataFormatError) as info:
        ds.describe()
    assert (info.value.line, info.value.column, info.value.path) == (150_002, "c", str(path))
    rows[150_000] = good[150_000]
    with pytest.raises(oxbridge.DataFormatError) as info:
        oxbridge.process_large_dataset(_write(tmp_path / "ragged2.csv", "a,b,c\n" + "\n".join(rows) + "\n"))
    assert (info.value.line, info.value.column) == (290_002, None)
    # A quoted field opened on the last line and never closed.
    path = _write(tmp_path / "open.csv", "a,b,c\n" + "\n".join(good[:250_000]) + '\n1,2,"never\n')
    with pytest.raises(oxbridge.DataFormatError, match="never closed") as info:
        oxbridge.process_large_dataset(path)
    assert info.value.line == 250_002


def test_stray_quote_in_an_unquoted_field_of_a_multi_chunk_file(tmp_path):
    n = 200_000
    lines = ["id,size,note", '0,27" screen,plain'] + [f'{i},{i % 13},"multi\nline {i}"' for i in range(1, n)]
    path = _write(tmp_path / "stray.csv", "\n".join(lines) + "\n")
    assert path.stat().st_size > 5_000_000
    desc = oxbridge.process_large_dataset(path)
    assert desc.num_rows == n and desc["id"].sum == n * (n - 1) // 2
    assert desc["size"].count == n and desc.dtypes["size"] == "text"


def test_dtypes_are_guessed_from_the_start_and_settled_by_describe(tmp_path):
    path = _write(tmp_path / "late.csv", "a,b\n" + "".join(f"{i},x\n" for i in range(20_000)) + "0.5,y\n")
    with oxbridge.Dataset.open(path) as ds:
        assert ds.dtypes == {"a": "int64", "b": "text"}
        assert ds.describe().dtypes == {"a": "float64", "b": "text"}
        assert ds.dtypes == {"a": "float64", "b": "text"}


# ---------------------------------------------------------------------------------------
# Options, columns=, Description
# ---------------------------------------------------------------------------------------


@pytest.fixture
def small_csv(tmp_path):
    return _write(tmp_path / "small.csv", "name,price,qty\napple,1.5,3\npear,,4\nplum,2.5,NA\n")


def test_columns_by_name_and_position(small_csv):
    with oxbridge.Dataset.open(small_csv) as ds:
        full = ds.describe()
        for columns, names in [
            (["qty"], ["qty"]),
            ([2, 0], ["qty", "name"]),
            ([-1], ["qty"]),
            (["price", 0, -1], ["price", "name", "qty"]),
            ("price", ["price"]),
            (1, ["price"]),
            ([], []),
        ]:
            desc = ds.describe(columns=columns)
            assert list(desc) == names, columns
            for n in names:
                assert json.dumps(desc.to_dict()[n]) == json.dumps(full.to_dict()[n])
        with pytest.raises(KeyError, match="no column 'nope'; the columns are"):
            ds.describe(columns=["nope"])
        with pytest.raises(IndexError):
            ds.describe(columns=[3])
        with pytest.raises(IndexError):
            ds.describe(columns=[-4])
        with pytest.raises(TypeError):
            ds.describe(columns=[True])
        with pytest.raises(TypeError):
            ds.describe(columns=[1.0])
    with pytest.raises(KeyError):
        oxbridge.process_large_dataset(small_csv, columns=["nope"])
    assert list(oxbridge.process_large_dataset(small_csv, columns=["qty", "name"])) == ["qty", "name"]


def test_the_same_column_twice(small_csv, tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6.0).reshape(3, 2))
    desc = oxbridge.process_large_dataset(tmp_path / "a.npy", columns=[0, 0, -2])
    assert list(desc) == ["0"] and desc["0"].sum == 6.0
    desc = oxbridge.process_large_dataset(small_csv, columns=["qty", "qty"])
    assert list(desc) == ["qty"] and desc["qty"].sum == 7


def test_description_mapping_and_exports(small_csv):
    desc = oxbridge.process_large_dataset(small_csv)
    assert list(desc) == ["name", "price", "qty"] and len(desc) == 3 and "price" in desc
    assert desc.num_rows == 3 and desc.dtypes == {"name": "text", "price": "float64", "qty": "int64"}
    names = desc["name"]
    assert (names.count, names.nan_count, names.min_len, names.max_len) == (3, 0, 4, 5)
    # Three values once each: the top is the first in code-point order.
    assert (names.distinct, names.top, names.top_count, names.top_error) == (3, "apple", 1, 0)
    assert (names.min, names.max) == ("apple", "plum")
    p, q = desc["price"], desc["qty"]
    assert (p.count, p.nan_count, p.sum, p.mean, p.min, p.max) == (2, 1, 4.0, 2.0, 1.5, 2.5)
    assert (q.count, q.nan_count, q.sum, q.min, q.max) == (2, 1, 7, 3, 4) and type(q.sum) is int
    assert math.isclose(p.std, math.sqrt(0.5)) and math.isclose(q.var, 0.5)
    with pytest.raises(KeyError, match="no column 'x'"):
        desc["x"]
    d = desc.to_dict()
    assert d["name"] == {
        "dtype": "text",
        "count": 3,
        "nan_count": 0,
        "min_len": 4,
        "max_len": 5,
        "distinct": 3,
        "top": "apple",
        "top_count": 1,
        "top_error": 0,
        "min": "apple",
        "max": "plum",
        "mixed": False,
    }
    assert d["qty"] == {
        "dtype": "int64",
        "count": 2,
        "nan_count": 1,
        "mean": 3.5,
        "std": q.std,
        "min": 3,
        "max": 4,
        "sum": 7,
        "distinct": 2,
        "quantiles": {0.25: 3.25, 0.5: 3.5, 0.75: 3.75},  # numpy.quantile([3, 4], ...)
        "histogram": {"counts": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1], "edges": d["qty"]["histogram"]["edges"]},
    }
    assert d["qty"]["histogram"]["edges"] == pytest.approx(np.linspace(3, 4, 11).tolist())
    assert json.loads(desc.to_json()) == _nan_to_none(d)
    frame = desc.to_pandas()
    assert list(frame.columns) == ["name", "price", "qty"] and frame.loc["count", "qty"] == 2
    table = str(desc)
    assert table == repr(desc)
    lines = table.splitlines()
    assert lines[0].split() == ["name", "price", "qty"]
    labels = ["dtype", "count", "missing", "distinct", "mean", "std", "min", "25%", "50%", "75%", "max"]
    assert [line.split()[0] for line in lines[1:]] == [*labels, "top", "freq", "histogram"]
    assert lines[1].split() == ["dtype", "text", "float64", "int64"]
    assert lines[2].split() == ["count", "3", "2", "2"] and lines[3].split() == ["missing", "0", "1", "1"]


def test_ddof(small_csv):
    with oxbridge.Dataset.open(small_csv) as ds:
        assert ds.describe(ddof=0)["price"].var == 0.25
        assert ds.describe(ddof=1)["price"].var == 0.5


def test_csv_options(tmp_path):
    path = _write(tmp_path / "o.csv", "a;b\n1,5;2\n-;NA\n")
    desc = oxbridge.process_large_dataset(path, delimiter=";", null_values=["-"])
    # NA is no longer missing; "1,5" with ";" is a decimal comma (detected)
    assert desc.dtypes == {"a": "float64", "b": "text"}
    assert desc["a"].sum == 1.5
    assert (desc["a"].count, desc["a"].nan_count, desc["b"].count) == (1, 1, 2)
    with oxbridge.Dataset.open(_write(tmp_path / "n.csv", "1,2\n3,4\n"), header=True) as ds:
        assert ds.columns == ["1", "2"] and ds.num_rows == 1
    with oxbridge.Dataset.open(_write(tmp_path / "h.csv", "x,y\n3,4\n"), header=False) as ds:
        assert ds.columns == ["0", "1"] and ds.describe().dtypes == {"0": "text", "1": "text"}
    assert oxbridge.process_large_dataset(tmp_path / "h.csv", null_values=[]).dtypes == {"x": "int64", "y": "int64"}
    # With no markers at all, an empty field is a value: the column is text.
    assert oxbridge.process_large_dataset(_write(tmp_path / "e.csv", 'x\n1\n""\n'), null_values=[]).dtypes == {
        "x": "text"
    }
    with pytest.raises(ValueError, match="one ASCII character"):
        oxbridge.Dataset.open(path, delimiter=";;")
    with pytest.raises(ValueError, match="one ASCII character"):
        oxbridge.Dataset.open(path, delimiter="é")
    with pytest.raises(oxbridge.InvalidArgumentError, match="delimiter"):
        oxbridge.Dataset.open(path, delimiter='"')
    with pytest.raises(TypeError, match="sequence of strings"):
        oxbridge.Dataset.open(path, null_values="NA")
    with pytest.raises(oxbridge.InvalidArgumentError, match="format"):
        oxbridge.Dataset.open(path, format="xlsx")
    assert oxbridge.process_large_dataset(path, format="tsv", delimiter=";")["b"].count == 1


def test_header_detection_heuristic(tmp_path):
    # A first row of numbers that fit the columns below is data (pandas would take it as
    # the header); header=True says otherwise.
    path = _write(tmp_path / "numbers.csv", "19,20\n1,2\n")
    with oxbridge.Dataset.open(path) as ds:
        assert ds.columns == ["0", "1"] and ds.num_rows == 2
    with oxbridge.Dataset.open(path, header=True) as ds:
        assert ds.columns == ["19", "20"] and ds.num_rows == 1
    # A row of years over other integers is a header; header=False reads it as data.
    path = _write(tmp_path / "years.csv", "2019,2020\n1,2\n")
    with oxbridge.Dataset.open(path) as ds:
        assert ds.columns == ["2019", "2020"] and ds.num_rows == 1
    with oxbridge.Dataset.open(path, header=False) as ds:
        assert ds.columns == ["0", "1"] and ds.num_rows == 2
    # A first row of text only is a header, even when the rest is text too.
    with oxbridge.Dataset.open(_write(tmp_path / "words.csv", "x,y\nfoo,bar\n")) as ds:
        assert ds.columns == ["x", "y"] and ds.num_rows == 1


def test_cr_only_line_endings_are_refused_at_open_saying_how_to_convert(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b\r1,2\r3,4\r")
    before = _live()
    with pytest.raises(oxbridge.DataFormatError, match="lone CR .*convert the file to LF or CRLF") as info:
        oxbridge.Dataset.open(path)
    assert info.value.path == str(path) and _live() == before


def test_file_changed_after_open(tmp_path):
    """Growing is ignored (the mapping is a snapshot); shrinking is refused instead of
    crashing on pages that no longer exist (run in a child: a crash would be SIGBUS)."""
    script = textwrap.dedent("""
        import os, sys, numpy as np, oxbridge
        csv_path, npy_path = sys.argv[1], sys.argv[2]
        with open(csv_path, "w") as f:
            f.write("a,b\\n" + "".join(f"{i},{i}\\n" for i in range(100_000)))
        np.save(npy_path, np.arange(100_000.0))
        ds, arr = oxbridge.Dataset.open(csv_path), oxbridge.Dataset.open(npy_path)
        with open(csv_path, "a") as f:
            f.write("7,7\\n")
        assert ds.describe()["a"].count == 100_000
        for d, p in ((ds, csv_path), (arr, npy_path)):
            os.truncate(p, 100)
            try:
                d.describe()
            except oxbridge.DataFormatError as e:
                assert "shrank" in str(e) and e.path == p, e
            else:
                raise AssertionError("no error for a file that shrank")
        print("ok")
    """)
    r = run_child(python("-c", script, str(tmp_path / "s.csv"), str(tmp_path / "s.npy")), timeout=60)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.describe()


def test_paths_with_spaces_unicode_and_pathlike(tmp_path):
    path = _write(tmp_path / "données brutes é.csv", "a\n1\n2\n")
    for p in (path, str(path), os.fsencode(path)):
        assert oxbridge.process_large_dataset(p)["a"].sum == 3


# ---------------------------------------------------------------------------------------
# Errors about files
# ---------------------------------------------------------------------------------------


def test_missing_file_is_file_not_found_and_io_error(tmp_path):
    path = tmp_path / "nope.csv"
    before = _live()
    with pytest.raises(FileNotFoundError) as info:
        oxbridge.Dataset.open(path)
    e = info.value
    assert isinstance(e, oxbridge.IoError) and isinstance(e, oxbridge.OxbridgeError)
    assert e.errno == errno.ENOENT and e.filename == str(path)
    with pytest.raises(FileNotFoundError):
        oxbridge.process_large_dataset(path)
    assert _live() == before


def test_directory_is_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        oxbridge.Dataset.open(tmp_path)
    assert isinstance(info.value, oxbridge.IoError)
    assert info.value.errno == errno.EISDIR and info.value.filename == str(tmp_path)


def test_device_is_refused_as_not_a_regular_file():
    with pytest.raises(oxbridge.UnsupportedError, match="not a regular file"):
        oxbridge.Dataset.open("/dev/null")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    child = run_child(python("-c", f"import oxbridge; oxbridge.Dataset.open({str(fifo)!r})"), timeout=3)
    assert not child.timed_out, "Dataset.open on a FIFO still blocked after 3 s"
    assert "not a regular file" in child.stderr, child.describe()


# ---------------------------------------------------------------------------------------
# Handles: close, ClosedError, the finalizer
# ---------------------------------------------------------------------------------------


def test_closed_dataset_raises_closed_error(small_csv):
    ds = oxbridge.Dataset.open(small_csv)
    ds.close()
    ds.close()  # idempotent
    assert ds.closed and "closed" in repr(ds)
    for call in (ds.describe, ds.count_rows, lambda: ds.num_rows, lambda: ds.__enter__()):
        with pytest.raises(oxbridge.ClosedError):
            call()
    assert issubclass(oxbridge.ClosedError, ValueError)
    with oxbridge.Dataset.open(small_csv) as ds:
        pass
    with pytest.raises(oxbridge.ClosedError):
        ds.describe()


def test_finalizer_releases_handles(small_csv, tmp_path):
    np.save(tmp_path / "a.npy", np.arange(10))
    gc.collect()
    start = _live()
    datasets = [oxbridge.Dataset.open(small_csv) for _ in range(5)] + [oxbridge.Dataset.open(tmp_path / "a.npy")]
    assert _live() == start + 6
    datasets[0].close()
    assert _live() == start + 5
    datasets[1].describe()
    del datasets
    gc.collect()
    assert _live() == start
    # Failed opens and errors during describe leave nothing behind.
    for bad in (tmp_path / "missing.csv", tmp_path):
        with pytest.raises(OSError):
            oxbridge.Dataset.open(bad)
    with pytest.raises(oxbridge.DataFormatError):
        oxbridge.process_large_dataset(_write(tmp_path / "r.csv", "a,b\n1\n"))
    oxbridge.process_large_dataset(small_csv)
    gc.collect()
    assert _live() == start


# ---------------------------------------------------------------------------------------
# Progress and cancellation
# ---------------------------------------------------------------------------------------


BLOCKS = 200


@pytest.fixture(scope="module")
def block_csv(tmp_path_factory):
    """~200 MB: a 1 MB block of records (quoted newlines included) written 200 times, so a
    scan takes several progress intervals. Returns (path, header bytes, rows, block rows)."""
    block_rows = []
    size = 0
    i = 0
    while size < 1 << 20:
        row = f'{i},{i * 0.25},"note {i}\nmore, text"\n'
        block_rows.append(row)
        size += len(row)
        i += 1
    block = "".join(block_rows).encode()
    header = b"id,value,note\n"
    path = tmp_path_factory.mktemp("block") / "block.csv"
    with open(path, "wb") as f:
        f.write(header)
        f.writelines(block for _ in range(BLOCKS))
    yield path, len(header), BLOCKS * len(block_rows), len(block_rows)
    path.unlink()


def test_progress_callable_gets_increasing_counts_ending_at_total(block_csv):
    path, header, rows, block_rows = block_csv
    calls = []
    with oxbridge.Dataset.open(path) as ds:
        desc = ds.describe(columns=["id"], progress=lambda done, total: calls.append((done, total)))
    total = path.stat().st_size - header
    assert len(calls) >= 1, calls  # a few per second (a fast scan may see only the last), and one at the end
    assert all(t == total for _, t in calls)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and calls[-1] == (total, total)
    assert desc.num_rows == rows
    assert desc["id"].sum == BLOCKS * sum(range(block_rows))
    assert (desc["id"].min, desc["id"].max) == (0, block_rows - 1)


def test_progress_on_row_count_and_binary_files(tmp_path, small_csv):
    calls = []
    with oxbridge.Dataset.open(small_csv) as ds:
        assert ds.count_rows(progress=lambda d, t: calls.append((d, t))) == 3
    assert calls and calls[-1][0] == calls[-1][1] == small_csv.stat().st_size - len("name,price,qty\n")
    a = np.zeros((1000, 3), np.float32)
    np.save(tmp_path / "a.npy", a)
    calls.clear()
    with oxbridge.Dataset.open(tmp_path / "a.npy") as ds:
        ds.describe(progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (a.nbytes, a.nbytes)
    calls.clear()
    oxbridge.process_large_dataset(_write(tmp_path / "h.csv", "a,b\n"), progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1]  # nothing to scan is still a finished scan


def test_progress_true_draws_a_bar_on_stderr(small_csv, capsys):
    oxbridge.process_large_dataset(small_csv, progress=True)
    err = capsys.readouterr().err
    assert "describe small.csv" in err and "100.0%" in err and err.endswith("\n")
    oxbridge.process_large_dataset(small_csv, progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(TypeError, match="progress"):
        oxbridge.process_large_dataset(small_csv, progress="yes")


def test_progress_callable_that_raises_aborts_the_scan_and_reraises(block_csv):
    path, _, rows, _ = block_csv
    calls = []
    boom = ValueError("stop here")

    def progress(done, total):
        calls.append((done, total))
        raise boom

    with oxbridge.Dataset.open(path) as ds:
        started = time.monotonic()
        with pytest.raises(ValueError) as info:
            ds.describe(progress=progress)
        elapsed = time.monotonic() - started
        assert info.value is boom
        assert len(calls) == 1 and calls[0][0] < calls[0][1], calls  # raised mid-scan, then stopped
        assert elapsed < 2.0
        # The dataset is still usable, and the aborted scan cached nothing wrong.
        assert ds.describe(columns=[0]).num_rows == rows

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # raised by the callable itself (not by a signal)
        oxbridge.process_large_dataset(path, progress=interrupt)


def test_ctrl_c_stops_a_describe_promptly(tmp_path):
    """A child scans a ~300 MB CSV in a loop; SIGINT 1 s after it is ready must end it with
    KeyboardInterrupt (raised inside describe) within 2 s."""
    script = textwrap.dedent("""
        import signal, sys, traceback
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in an interactive session
        import oxbridge
        path = sys.argv[1]
        rows = []
        size, i = 0, 0
        while size < 1 << 20:
            row = f'{i},{i * 0.5},"text {i}\\nsecond, line"\\n'
            rows.append(row)
            size += len(row)
            i += 1
        block = "".join(rows).encode()
        with open(path, "wb") as f:
            f.write(b"id,value,note\\n")
            for _ in range(300):
                f.write(block)
        print("ready", flush=True)
        try:
            while True:
                with oxbridge.Dataset.open(path) as ds:
                    ds.describe(progress=False)
        except KeyboardInterrupt:
            traceback.print_exc()
            sys.exit(42)
    """)
    path = tmp_path / "huge.csv"
    try:
        with started(python("-c", script, str(path))) as child:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
            time.sleep(1.0)
            sent = time.monotonic()
            child.send_signal(signal.SIGINT)
            try:
                _, err = child.communicate(timeout=3)
            except subprocess.TimeoutExpired:
                pytest.fail("the child did not stop within 3 s of SIGINT: the interrupt was lost")
            elapsed = time.monotonic() - sent
    finally:
        path.unlink(missing_ok=True)
    assert child.returncode == 42, err
    assert "KeyboardInterrupt" in err and "in describe" in err, err
    assert elapsed < 2.0, f"stopped {elapsed:.2f} s after SIGINT"


def test_ctrl_c_on_the_command_line(block_csv):
    path = block_csv[0]
    with started([CLI, "describe", str(path), "--progress"], text=False) as child:
        seen = b""
        while b"%" not in seen:  # the bar is drawn: the native scan is under way
            chunk = child.stderr.read1(100)
            assert chunk, "the command ended before its first progress report"
            seen += chunk
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=3)
    last = (seen + err).decode().replace("\r", "\n").strip().splitlines()[-1]
    assert (child.returncode, last, out) == (130, "oxbridge: interrupted", b"")


# ---------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------


def _run(*args, module=False):
    command = python("-m", "oxbridge") if module else [CLI]
    return run_child(command + [str(a) for a in args], timeout=60)


def test_cli_table(small_csv):
    r = _run("describe", small_csv)
    assert r.returncode == 0 and r.stderr == ""  # no bar when stderr is not a terminal
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{small_csv}: 3 rows, 3 columns, described in ")
    assert lines[1].split() == ["name", "price", "qty"]
    assert lines[2].split() == ["dtype", "text", "float64", "int64"]
    assert lines[3].split() == ["count", "3", "2", "2"]
    assert lines[4].split() == ["missing", "0", "1", "1"]
    assert lines[5].split() == ["distinct", "3", "2", "2"]
    assert lines[6].split() == ["mean", "2", "3.5"]


def test_cli_json_equals_to_dict(small_csv, tmp_path):
    expected = _nan_to_none(oxbridge.process_large_dataset(small_csv).to_dict())
    r = _run("describe", small_csv, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == expected
    r = _run("describe", small_csv, "--json", "--columns", "qty, name")
    assert list(json.loads(r.stdout)) == ["qty", "name"]
    r = _run("describe", small_csv, "--json", module=True)
    assert r.returncode == 0 and json.loads(r.stdout) == expected
    # Options: delimiter, header, raw binary, npy.
    tsv = _write(tmp_path / "t.txt", "1\t2\n3\t4\n")
    r = _run("describe", tsv, "--json", "--delimiter", "tab", "--header")
    assert list(json.loads(r.stdout)) == ["1", "2"] and json.loads(r.stdout)["2"]["sum"] == 4
    r = _run("describe", tsv, "--json", "--no-header", "--format", "csv")
    assert json.loads(r.stdout)["0"]["sum"] == 4
    a = np.arange(12, dtype=">i4").reshape(6, 2)
    a.tofile(tmp_path / "a.bin")
    r = _run("describe", tmp_path / "a.bin", "--json", "--format", "raw", "--dtype", ">i4", "--raw-columns", "2")
    out = json.loads(r.stdout)
    assert (out["0"]["sum"], out["1"]["sum"], out["1"]["dtype"]) == (30, 36, "int32")
    np.save(tmp_path / "n.npy", np.array([1.0, np.nan, 3.0]))
    out = json.loads(_run("describe", tmp_path / "n.npy", "--json").stdout)
    assert out["0"] == {
        "dtype": "float64",
        "count": 2,
        "nan_count": 1,
        "mean": 2.0,
        "std": math.sqrt(2),
        "min": 1.0,
        "max": 3.0,
        "sum": 4.0,
        "distinct": 2,
        "quantiles": {"0.25": 1.5, "0.5": 2.0, "0.75": 2.5},  # numpy.nanquantile([1, nan, 3], ...)
        "histogram": {"counts": [1, 0, 0, 0, 0, 0, 0, 0, 0, 1], "edges": np.linspace(1, 3, 11).tolist()},
    }
    out = json.loads(_run("describe", tmp_path / "n.npy", "--json", "--columns", "0").stdout)
    assert list(out) == ["0"]


def test_cli_progress_flag(small_csv):
    r = _run("describe", small_csv, "--progress")
    assert r.returncode == 0 and "100.0%" in r.stderr
    r = _run("describe", small_csv, "--no-progress")
    assert r.returncode == 0 and r.stderr == ""


@pytest.mark.parametrize(
    "case", ["missing", "directory", "ragged", "unknown column", "npy truncated", "raw without dtype"]
)
def test_cli_errors_are_one_line_and_exit_1(tmp_path, case):
    np.save(tmp_path / "t.npy", np.arange(100.0))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:-16])
    args, words = {
        "missing": ([tmp_path / "nope.csv"], [str(tmp_path / "nope.csv"), "No such file"]),
        "directory": ([tmp_path], [str(tmp_path), "Is a directory"]),
        "ragged": ([_write(tmp_path / "r.csv", "a,b\n1,2\n3\n")], ["line 3", "expected 2 fields, found 1"]),
        "unknown column": ([_write(tmp_path / "c.csv", "a,b\n1,2\n"), "--columns", "zz"], ["no column 'zz'"]),
        "npy truncated": ([tmp_path / "t.npy"], ["t.npy", "truncated"]),
        "raw without dtype": ([tmp_path / "t.npy", "--format", "raw"], ["dtype"]),
    }[case]
    for module in (False, True):
        r = _run("describe", *args, module=module)
        assert r.returncode == 1, r
        assert r.stdout == ""
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("oxbridge: "), r.stderr
        for w in words:
            assert w in lines[0], lines[0]


def test_cli_usage_errors():
    r = _run()
    assert r.returncode == 2 and "usage" in r.stderr
    r = _run("describe", "x.csv", "--format", "parquet")
    assert r.returncode == 2 and "invalid choice" in r.stderr
