"""Arrow out of a Dataset: `__arrow_c_stream__`, `__arrow_c_schema__`, `to_arrow`,
`to_polars`, `to_pandas`, `iter_batches` (ArrowBatch) and `_export_to_c`.

Oracles that do not go through oxbridge: Python's csv module plus hand-written conversions
(and the hand-worked table SPEC of test_csv_corpus.py), pyarrow.csv, polars.read_csv,
DuckDB's read_csv, pandas.read_csv, numpy.load, and the values a test wrote itself.
Where pyarrow reads a corpus file differently, the difference is listed in
PYARROW_DIFFERS with the reason, and the values are compared after converting.

The suite also runs under PyPy without numpy or pyarrow (conftest.py, `make test-pypy`):
nothing here imports numpy, pandas, pyarrow, polars or duckdb at module level; the tests
that need one ask `pytest.importorskip` for it. The ctypes tests read the stream through
the C structs with ctypes alone, and `test_this_module_passes_with_numpy_and_pyarrow_hidden`
runs the module again where none of those can be imported.
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import gc
import io
import json
import math
import os
import random
import re
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import oxbridge
from oxbridge import _arrow, _bindings as b
from oxbridge._loader import lib

from _helpers import child_env, python, run_child, run_threads
from _paths import ROOT

DATA = Path(__file__).resolve().parents[1] / "data" / "csv"
CORPUS = sorted(p.name for p in DATA.iterdir() if p.is_file())
BAD_CORPUS = sorted(p.name for p in (DATA / "bad").iterdir() if p.is_file())

# oxbridge's default missing-value markers (Dataset.open, the C header).
NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A"]
BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
UTC = dt.timezone.utc

HIDDEN_ENV = "OXBRIDGE_TEST_ARROW_HIDDEN"
HIDDEN = ("numpy", "pandas", "numexpr", "polars", "pyarrow", "duckdb")


def _pa() -> Any:
    return pytest.importorskip("pyarrow")


def _np() -> Any:
    return pytest.importorskip("numpy")


# ---- oracles and comparisons ----------------------------------------------------------


def _same(a: object, b: object) -> bool:
    """Equal values of the same type; floats bit for bit as far as Python can tell
    (NaN equals NaN, -0.0 differs from 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def _assert_values(got: list, want: list, where: str) -> None:
    assert len(got) == len(want), f"{where}: {len(got)} values, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        assert _same(g, w), f"{where}, row {i}: got {g!r}, expected {w!r}"


def _assert_table(table: Any, names: list[str], types: list[str], columns: list[list], where: str = "") -> None:
    """A pyarrow table against the oracle: names, types (as str(pyarrow type)), values."""
    assert table.column_names == names, where
    assert [str(t) for t in table.schema.types] == types, where
    for j, name in enumerate(names):
        _assert_values(table.column(j).to_pylist(), columns[j], f"{where} column {name!r}")


def _assert_same_table(got: Any, want: Any, where: str = "") -> None:
    """Two pyarrow tables with the same schema and values, however chunked (NaN equal to
    NaN, which Table.equals does not grant)."""
    if got.equals(want):
        return
    assert got.schema.equals(want.schema), where
    for j, name in enumerate(want.column_names):
        _assert_values(got.column(j).to_pylist(), want.column(j).to_pylist(), f"{where} column {name!r}")


def _write_csv(path: Path, header: list[str], rows: list[list], **options: Any) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, **options)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _file_mappings(path: Path) -> list[tuple[int, int]] | None:
    """The address ranges this process maps `path` at (Linux's /proc/self/maps), or None
    where the system does not say."""
    try:
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    ranges = []
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5] in (real, real + " (deleted)"):
            start, end = parts[0].split("-")
            ranges.append((int(start, 16), int(end, 16)))
    return ranges


def _inside(address: int, size: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= address and address + size <= end for start, end in ranges)


def _live() -> int:
    for _ in range(3):  # PyPy's collector may need more than one round for finalizers
        gc.collect()
    return lib.oxb_live_handles()


class _StreamCapsule:
    """An object exporting a capsule it was given (to read a capsule taken earlier)."""

    def __init__(self, capsule: object) -> None:
        self.capsule = capsule

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        capsule, self.capsule = self.capsule, None
        return capsule


# ---- 1. the CSV corpus ----------------------------------------------------------------

ARROW_TYPE = {"int64": "int64", "float64": "double", "text": "string", "bool": "bool", "date": "date32[day]"}


def _corpus() -> Any:
    """test_csv_corpus.py: its hand-worked SPEC (names, delimiter, header, options, null
    markers and types of every file) and its list of files that must be refused."""
    return pytest.importorskip("test_csv_corpus")


def _cell(field: str, dtype: str, nulls: list[str]) -> object:
    """One field as the csv module gives it, read as a value of `dtype` (the oracle)."""
    if field in nulls:
        return None
    value = field.strip(" ")  # spaces around numbers, booleans and dates are ignored
    if dtype == "int64":
        return int(value)
    if dtype == "float64":
        return float(value)
    if dtype == "bool":
        return BOOLS[value]
    if dtype == "date":
        return dt.date.fromisoformat(value)
    return field  # text keeps its spaces


def _corpus_oracle(name: str) -> tuple[Any, list[list]]:
    spec = _corpus().SPEC[name]
    _, records = _corpus().read_records(DATA / name, spec.delimiter, spec.header)
    records = spec.numbers(records)
    columns = [[_cell(r[j], dtype, spec.nulls) for r in records] for j, dtype in enumerate(spec.dtypes)]
    return spec, columns


def test_the_corpus_is_the_one_test_csv_corpus_knows():
    corpus = _corpus()
    assert CORPUS == sorted(corpus.SPEC)
    assert BAD_CORPUS == sorted(corpus.BAD)


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_table_matches_the_csv_module(name):
    pa = _pa()
    spec, columns = _corpus_oracle(name)
    with oxbridge.Dataset.open(DATA / name, **spec.options) as ds:
        table = pa.table(ds)
        schema = pa.schema(ds)
        again = ds.to_arrow(rows=2)
    assert table.num_rows == spec.rows
    _assert_table(table, spec.names, [ARROW_TYPE[t] for t in spec.dtypes], columns, name)
    # Every CSV field may be null; the schema capsule is the stream's schema.
    assert all(field.nullable for field in table.schema)
    assert schema.equals(table.schema)
    _assert_same_table(again, table, name)


# Where pyarrow.csv reads a corpus file differently from oxbridge: (file, column or None
# for the whole file) -> why. The values are compared after converting ours.
PYARROW_DIFFERS: dict[tuple[str, str | None], str] = {
    ("header_only_no_newline.csv", None): "pyarrow refuses a file that is one header line without a newline "
    "('Empty CSV file or block: cannot infer number of columns'); oxbridge reads two empty columns",
    ("signed_ints.csv", "a"): "pyarrow does not read '+1' (a leading plus) as an integer and makes the "
    "column double (and '-0' then -0.0); oxbridge reads int64. Compared as floats",
    ("signed_ints.csv", "b"): "'+42' makes the column double in pyarrow, so int64's limits are rounded "
    "there; compared after rounding ours to float",
}


def _pyarrow_csv(name: str, spec: Any) -> Any:
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        DATA / name,
        read_options=pacsv.ReadOptions(autogenerate_column_names=not spec.header),
        parse_options=pacsv.ParseOptions(delimiter=spec.delimiter, newlines_in_values=True),
        # oxbridge reads its null markers as missing in every column, text included and
        # quoted or not ("" and "NA" in missing_values.csv): pyarrow's defaults keep ""
        # in a string column as an empty string and quoted markers as text, so both
        # switches are needed for the same reading.
        convert_options=pacsv.ConvertOptions(
            decimal_point=spec.decimal,
            null_values=spec.nulls,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            true_values=[k for k, v in BOOLS.items() if v],
            false_values=[k for k, v in BOOLS.items() if not v],
        ),
    )


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_table_matches_pyarrow_csv(name):
    pa = _pa()
    spec = _corpus().SPEC[name]
    with oxbridge.Dataset.open(DATA / name, **spec.options) as ds:
        table = pa.table(ds)
    if (name, None) in PYARROW_DIFFERS:
        with pytest.raises(pa.ArrowInvalid):
            _pyarrow_csv(name, spec)
        assert table.num_rows == 0 and table.column_names == spec.names
        return
    oracle = _pyarrow_csv(name, spec)
    assert table.num_rows == oracle.num_rows
    assert table.num_columns == oracle.num_columns
    # By position: pyarrow keeps duplicate names as they are and names a headerless
    # file's columns f0, f1...; oxbridge's names are checked against SPEC above.
    for j, col in enumerate(table.column_names):
        where = f"{name} column {col!r}"
        ours, theirs = table.column(j), oracle.column(j)
        if (name, col) in PYARROW_DIFFERS:
            assert str(ours.type) == "int64" and str(theirs.type) == "double", where
            assert [float(v) for v in ours.to_pylist()] == theirs.to_pylist(), where
            continue
        if theirs.type == pa.null():
            # No value at all: pyarrow's type is null, oxbridge's float64 (documented).
            assert str(ours.type) == "double" and ours.null_count == len(ours), where
            continue
        assert ours.type == theirs.type, where
        _assert_values(ours.to_pylist(), theirs.to_pylist(), where)


@pytest.mark.parametrize("name", BAD_CORPUS)
def test_corpus_bad_files_are_refused_naming_the_line(name):
    """A file test_csv_corpus.py says must be refused: refused when opened or when the
    stream is made (the type scan reads every record), naming the same line and column."""
    pa = _pa()
    line, column = _corpus().BAD[name]
    path = DATA / "bad" / name
    for make in (pa.table, lambda ds: list(ds.iter_batches(rows=1)), lambda ds: ds.to_arrow()):
        with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
            make(ds)
        assert (info.value.line, info.value.column) == (line, column), str(info.value)
        assert str(path) in str(info.value)


# ---- 2. polars, DuckDB and pandas ----------------------------------------------------------

GENERATED_NAMES = ["i", "x", "flag", "day", "ts", "tz", "name", "empty"]
GENERATED_TYPES = [
    "int64",
    "double",
    "bool",
    "date32[day]",
    "timestamp[us]",
    "timestamp[us, tz=UTC]",
    "string",
    "double",
]
TEXTS = ["a,b", 'q"r', "ünï", "x\ny", "plain", "  spaced  ", "日本語", "🙂", "r\r\nn"]


def _generated(path: Path, rows: int, seed: int) -> list[list]:
    """A CSV of every column type with missing values in all of them (every default marker
    spelling); returns the oracle's columns."""
    rng = random.Random(seed)
    columns: list[list] = [[] for _ in GENERATED_NAMES]
    records = []
    for _ in range(rows):
        record = []
        for j, name in enumerate(GENERATED_NAMES):
            missing = name == "empty" or rng.random() < 0.1
            if missing:
                record.append(rng.choice(NULLS))
                columns[j].append(None)
                continue
            if name == "i":
                v: Any = rng.randrange(-(10**15), 10**15)
                text = str(v)
            elif name == "x":
                v = rng.choice([rng.uniform(-1e6, 1e6), -0.0, 0.5, 1e300, -1e-300])
                text = repr(v)
            elif name == "flag":
                text = rng.choice(list(BOOLS))
                v = BOOLS[text]
            elif name == "day":
                v = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(100_000))
                text = v.isoformat()
            elif name == "ts":
                v = dt.datetime(1900, 1, 1) + dt.timedelta(microseconds=rng.randrange(10**17))
                text = v.isoformat(sep=rng.choice("T "))
            elif name == "tz":
                local = dt.datetime(1950, 1, 1) + dt.timedelta(microseconds=rng.randrange(10**17))
                minutes = rng.choice([0, 120, -330, 840])
                sign, m = ("-" if minutes < 0 else "+"), abs(minutes)
                zone = rng.choice([f"{sign}{m // 60:02d}:{m % 60:02d}", f"{sign}{m // 60:02d}{m % 60:02d}"])
                text = local.isoformat() + ("Z" if minutes == 0 else zone)
                v = (local - dt.timedelta(minutes=minutes)).replace(tzinfo=UTC)
            else:
                v = text = rng.choice(TEXTS)
            record.append(text)
            columns[j].append(v)
        records.append(record)
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write(",".join(GENERATED_NAMES) + "\n")
        csv.writer(f, lineterminator="\n").writerows(records)
    return columns


@pytest.fixture(scope="module", params=[(200, 1), (70_000, 2)], ids=["small", "two-chunks"])
def generated(request, tmp_path_factory):
    rows, seed = request.param
    path = tmp_path_factory.mktemp("generated") / f"g{rows}.csv"
    return path, _generated(path, rows, seed)


def test_generated_csv_matches_its_oracle(generated):
    pa = _pa()
    path, columns = generated
    with oxbridge.Dataset.open(path) as ds:
        _assert_table(pa.table(ds), GENERATED_NAMES, GENERATED_TYPES, columns, path.name)


def test_polars_reads_the_same_as_polars_read_csv(generated):
    pl = pytest.importorskip("polars")
    _pa()
    from polars.testing import assert_frame_equal

    path, _ = generated
    # polars infers the types from the first 1000 rows (every column of the file keeps one
    # form); all of them (infer_schema_length=None) takes it seconds, not the values.
    oracle = pl.read_csv(path, try_parse_dates=True, null_values=NULLS, infer_schema_length=1000)
    # A column with no value at all: polars reads String, oxbridge float64 (documented).
    assert oracle.schema["empty"] == pl.String and oracle["empty"].null_count() == oracle.height
    oracle = oracle.with_columns(pl.col("empty").cast(pl.Float64))
    with oxbridge.Dataset.open(path) as ds:
        assert_frame_equal(pl.DataFrame(ds), oracle)
        assert_frame_equal(ds.to_polars(), oracle)
        assert_frame_equal(ds.to_polars(["tz", "i"], rows=999), oracle.select("tz", "i"))


def test_duckdb_queries_the_dataset_as_it_queries_read_csv(generated):
    duckdb = pytest.importorskip("duckdb")
    _pa()
    path, _ = generated
    # TIMESTAMPTZ results would need pytz in Python: the zoned column as microseconds.
    select = (
        "SELECT count(*), count(i), sum(i), min(i), max(x), count(x), sum(flag::INT), count(flag), "
        "min(day), max(day), min(ts), max(ts), epoch_us(min(tz)), epoch_us(max(tz)), count(name), "
        "max(length(name)), count(empty), sum(x)"
    )
    with oxbridge.Dataset.open(path) as ds:  # DuckDB finds `ds` by its name (replacement scan)
        ours = duckdb.sql(f"{select} FROM ds").fetchall()[0]
    nulls = ", ".join("'" + n + "'" for n in NULLS)
    theirs = duckdb.sql(f"{select} FROM read_csv('{path}', nullstr=[{nulls}])").fetchall()[0]
    assert ours[:-1] == theirs[:-1]
    assert math.isclose(ours[-1], theirs[-1], rel_tol=1e-9)  # float sums: DuckDB's order may differ
    where = duckdb.sql(f"SELECT count(*) FROM read_csv('{path}', nullstr=[{nulls}]) WHERE i > 0").fetchall()
    with oxbridge.Dataset.open(path) as ds:  # noqa: F841 - DuckDB reads the variable `ds` by its name
        assert duckdb.sql("SELECT count(*) FROM ds WHERE i > 0").fetchall() == where


def test_pandas_numeric_columns_match_read_csv(generated):
    pd = pytest.importorskip("pandas")
    _pa()
    path, _ = generated
    oracle = pd.read_csv(path, keep_default_na=False, na_values=NULLS)
    with oxbridge.Dataset.open(path) as ds:
        frame = ds.to_pandas()
        picked = ds.to_pandas(["x", "i"], rows=1000)
    assert list(frame.columns) == GENERATED_NAMES and len(frame) == len(oracle)
    for col in ("i", "x", "empty"):
        # pandas and pyarrow's to_pandas both make an int64 column with missing values float64.
        pd.testing.assert_series_equal(frame[col], oracle[col], check_exact=True)
    pd.testing.assert_frame_equal(picked, oracle[["x", "i"]], check_exact=True)
    assert frame["flag"].dropna().tolist() == oracle["flag"].dropna().tolist()


# ---- 3. .npy files --------------------------------------------------------------------

NPY_DTYPES = ["<f8", "<f4", "<i8", "<i4", "<i2", "|i1", "|u1", "<u2", "<u4", "|b1", ">f8", ">i4", ">u2"]
LAYOUTS = ["1d", "c", "f", "c1"]  # 1-D; (n, 3) C order; (n, 3) Fortran order; (n, 1) C order


def _npy_array(dtype: str, layout: str, rows: int, seed: int = 0) -> Any:
    """Random values of `dtype` with the type's extremes (for floats: -0.0, infinities,
    NaN, subnormals) in the first rows."""
    np = _np()
    t = np.dtype(dtype)
    cols = {"1d": 1, "c": 3, "f": 3, "c1": 1}[layout]
    n = rows * cols
    rng = np.random.default_rng(seed)
    native = t.newbyteorder("=")
    if t.kind == "b":
        flat = rng.random(n) < 0.5
    elif t.kind == "f":
        flat = (rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)).astype(native)
        info = np.finfo(native)
        special = [-0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal, -info.smallest_subnormal, info.max, info.min]
        flat[: len(special)] = special
    else:
        info = np.iinfo(native)
        flat = rng.integers(info.min, info.max, n, endpoint=True, dtype=native)
        flat[:2] = [info.min, info.max]
    shape = (rows,) if layout == "1d" else (rows, cols)
    return np.asarray(flat.astype(t).reshape(shape), order="F" if layout == "f" else "C")


def _npy_columns(a: Any) -> list:
    return [a] if a.ndim == 1 else [a[:, j] for j in range(a.shape[1])]


def _assert_column_is(np: Any, column: Any, expected: Any, where: str) -> None:
    """An Arrow column against a numpy column: same length, no nulls, same bits."""
    # An Array's to_numpy copies booleans (bits) only when told it may; a ChunkedArray's
    # always may.
    got = column.to_numpy() if hasattr(column, "num_chunks") else column.to_numpy(zero_copy_only=False)
    assert column.null_count == 0, where
    assert len(got) == len(expected), where
    expected = expected.astype(expected.dtype.newbyteorder("="))
    assert got.dtype == expected.dtype, where
    if expected.dtype.kind == "f":  # bit for bit: -0.0 and NaN included
        bits = f"u{expected.dtype.itemsize}"
        assert np.array_equal(got.view(bits), expected.view(bits)), where
    else:
        assert np.array_equal(got, expected), where


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NPY_DTYPES)
def test_npy_columns_equal_numpy_load(tmp_path, dtype, layout):
    pa = _pa()
    np = _np()
    path = tmp_path / "a.npy"
    np.save(path, _npy_array(dtype, layout, 1000))
    expected = np.load(path)
    want_type = pa.bool_() if dtype == "|b1" else pa.from_numpy_dtype(np.dtype(dtype).newbyteorder("="))
    with oxbridge.Dataset.open(path) as ds:
        tables = [pa.table(ds), ds.to_arrow(rows=7), ds.to_arrow(columns=list(range(len(ds.columns)))[::-1])]
        schema = pa.schema(ds)
    columns = _npy_columns(expected)
    for table in tables[:2]:
        assert table.column_names == [str(j) for j in range(len(columns))]
        assert schema.equals(table.schema)
        assert all(t == want_type for t in table.schema.types)
        assert not any(field.nullable for field in table.schema)  # binary files have no missing values
        for j, column in enumerate(columns):
            _assert_column_is(np, table.column(j), column, f"{dtype} {layout} column {j}")
    assert tables[1].column(0).num_chunks == math.ceil(1000 / 7)
    assert tables[2].column_names == tables[0].column_names[::-1]
    for j, column in enumerate(columns[::-1]):
        _assert_column_is(np, tables[2].column(j), column, f"{dtype} {layout} reversed column {j}")


@pytest.mark.parametrize("shape", [(0,), (0, 3), (1,), (1, 4)])
def test_npy_empty_and_single_row(tmp_path, shape):
    pa = _pa()
    np = _np()
    path = tmp_path / "e.npy"
    a = np.arange(math.prod(shape), dtype=np.int32).reshape(shape)
    np.save(path, a)
    with oxbridge.Dataset.open(path) as ds:
        table = pa.table(ds)
        batches = list(ds.iter_batches(rows=5))
    assert table.num_rows == shape[0]
    assert table.num_columns == (1 if len(shape) == 1 else shape[1])
    for j, column in enumerate(_npy_columns(a)):
        assert table.column(j).to_pylist() == column.tolist()
    assert sum(batch.num_rows for batch in batches) == shape[0]


# Which layouts are handed out as ranges of the mapped file, and which are copied.
ZERO_COPY = [
    ("<f8", "1d", True),
    ("<f8", "f", True),
    ("<i4", "f", True),
    ("|u1", "1d", True),
    ("<i2", "c1", True),
    ("<f8", "c", False),
    (">f8", "1d", False),
    (">f8", "f", False),
    ("|b1", "1d", False),
]


@pytest.mark.parametrize(("dtype", "layout", "zero_copy"), ZERO_COPY)
def test_npy_zero_copy_buffers_are_the_file_mapping(tmp_path, dtype, layout, zero_copy):
    """Zero-copy checked two ways. Everywhere: the mapping starts at a page boundary, so
    the value buffer of rows r.. of column j must sit at exactly base + data offset +
    (j * rows + r) * itemsize for one page-aligned base, batch after batch and column
    after column: a copy (Rust heap memory, 8-byte aligned, allocated per batch) cannot
    line up like that. On Linux also: /proc/self/maps says the address is inside a
    mapping of this very file (and for the copied layouts, that it is not)."""
    pa = _pa()
    np = _np()
    rows, per_batch = 10_000, 1000
    path = tmp_path / "z.npy"
    np.save(path, _npy_array(dtype, layout, rows))
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        read_header[version](f)
        data_offset = f.tell()
    expected = np.load(path)
    itemsize = expected.dtype.itemsize
    with oxbridge.Dataset.open(path) as ds:
        batches = [pa.record_batch(batch) for batch in ds.iter_batches(rows=per_batch)]
        mappings = _file_mappings(path)
    assert [batch.num_rows for batch in batches] == [per_batch] * (rows // per_batch)
    addresses = [[batch.column(j).buffers()[1].address for j in range(batch.num_columns)] for batch in batches]
    columns = _npy_columns(expected)
    for k, batch in enumerate(batches):
        for j, column in enumerate(columns):
            _assert_column_is(np, batch.column(j), column[k * per_batch : (k + 1) * per_batch], f"batch {k} col {j}")
    base = addresses[0][0] - data_offset
    laid_out = all(
        addresses[k][j] == base + data_offset + (j * rows + k * per_batch) * itemsize
        for k in range(len(batches))
        for j in range(len(columns))
    )
    if zero_copy:
        assert base % 4096 == 0, hex(base)
        assert laid_out
    elif len(columns) > 1 or len(batches) > 1:
        assert not laid_out
    if mappings is not None:
        assert mappings, "the open Dataset's file mapping is not in /proc/self/maps"
        for k, batch in enumerate(batches):
            for j in range(len(columns)):
                size = batch.column(j).buffers()[1].size
                assert _inside(addresses[k][j], size, mappings) == zero_copy, (k, j)


# ---- 4. lifetimes --------------------------------------------------------------------------


def _small_csv(path: Path, rows: int = 5000) -> tuple[Path, list[list]]:
    records = [[i, f't{i},"{i % 7}"' if i % 11 else "", i / 8] for i in range(rows)]
    _write_csv(path, ["n", "s", "x"], records)
    return path, [[r[0] for r in records], [r[1] or None for r in records], [r[2] for r in records]]


SMALL_TYPES = ["int64", "string", "double"]


def test_a_stream_capsule_outlives_close(tmp_path):
    pa = _pa()
    np = _np()
    path, columns = _small_csv(tmp_path / "s.csv")
    npy = tmp_path / "f.npy"
    array = _npy_array("<f8", "f", 3000)
    np.save(npy, array)
    with oxbridge.Dataset.open(path) as ds:
        capsule = ds.__arrow_c_stream__()
        schema = ds.__arrow_c_schema__()
    with pytest.raises(oxbridge.ClosedError):
        ds.__arrow_c_stream__()
    _assert_table(pa.table(_StreamCapsule(capsule)), ["n", "s", "x"], SMALL_TYPES, columns)
    assert pa.Schema._import_from_c_capsule(schema).names == ["n", "s", "x"]
    ds = oxbridge.Dataset.open(npy)
    capsule = ds.__arrow_c_stream__()
    ds.close()
    del ds
    gc.collect()
    table = pa.table(_StreamCapsule(capsule))
    for j, column in enumerate(_npy_columns(array)):
        _assert_column_is(np, table.column(j), column, f"column {j}")


def test_a_table_outlives_the_dataset_object(tmp_path):
    pa = _pa()
    np = _np()
    path, columns = _small_csv(tmp_path / "s.csv")
    ds = oxbridge.Dataset.open(path)
    table = pa.table(ds)
    del ds
    gc.collect()
    _assert_table(table, ["n", "s", "x"], SMALL_TYPES, columns)
    npy = tmp_path / "f.npy"
    array = _npy_array("<f8", "1d", 100_000)
    np.save(npy, array)
    ds = oxbridge.Dataset.open(npy)
    zero_copy = ds.to_arrow(rows=1000)
    batches = list(ds.iter_batches(rows=4096))
    del ds
    gc.collect()
    _assert_column_is(np, zero_copy.column(0), array, "to_arrow")
    got = pa.Table.from_batches([pa.record_batch(batch) for batch in batches])
    _assert_column_is(np, got.column(0), array, "iter_batches")


class _Unread:
    """A stream of `ds` never read: a capsule where there are capsules (CPython), else a
    struct filled through `_export_to_c` (PyPy); `drop()` lets it go unconsumed."""

    def __init__(self, ds: oxbridge.Dataset) -> None:
        if hasattr(ctypes, "pythonapi"):
            self.capsule: object = ds.__arrow_c_stream__()
            self.address = None
        else:
            self.address = _arrow.new_struct(_arrow.STREAM)
            ds._export_to_c(self.address)

    def drop(self) -> None:
        self.capsule = None
        if self.address is not None:
            _arrow.free_struct(_arrow.STREAM, self.address)
            self.address = None


def test_streams_and_batches_never_consumed_do_not_leak(tmp_path):
    """1000 streams (and schemas, abandoned iterators and batches) dropped unconsumed: the
    handle count is back where it was, and once the Dataset is closed nothing keeps its
    file mapped (/proc/self/maps; a stream kept alive is the control that the check sees
    a leak)."""
    path, _ = _small_csv(tmp_path / "s.csv", 200)
    start = _live()
    ds = oxbridge.Dataset.open(path)
    assert _live() == start + 1
    for _ in range(1000):
        _Unread(ds).drop()
        if hasattr(ctypes, "pythonapi"):
            capsule = ds.__arrow_c_schema__()
            del capsule
    for rows in (1, 7, 1000):
        iterator = ds.iter_batches(rows=rows)
        first = next(iterator)
        del iterator  # an abandoned generator: its stream goes with it
        assert first.num_rows == min(rows, 200)
        del first  # a batch never handed over
    held = _Unread(ds)
    assert _live() == start + 1
    ds.close()
    assert _live() == start
    mapped = _file_mappings(path)
    if mapped is None:
        held.drop()
        return
    assert mapped, "a live stream must keep the file mapped after close"
    held.drop()
    _live()  # collects
    assert _file_mappings(path) == [], "something still holds the closed Dataset's mapping"
    assert _live() == start


def test_an_abandoned_pyarrow_reader_releases_the_dataset(tmp_path):
    pa = _pa()
    np = _np()
    path = tmp_path / "f.npy"
    np.save(path, _npy_array("<i8", "f", 5000))
    with oxbridge.Dataset.open(path) as ds:
        reader = pa.RecordBatchReader._import_from_c_capsule(ds.__arrow_c_stream__())
        first = reader.read_next_batch()
    assert first.num_rows > 0
    if _file_mappings(path) is None:
        pytest.skip("needs /proc/self/maps")
    assert _file_mappings(path)
    del reader
    gc.collect()
    assert _file_mappings(path), "the batch read points into the mapping: it must stay"
    del first
    gc.collect()
    assert _file_mappings(path) == []


def test_batches_released_on_another_thread_after_close(tmp_path):
    pa = _pa()
    np = _np()
    path = tmp_path / "f.npy"
    array = _npy_array("<f4", "f", 20_000)
    np.save(path, array)
    columns = _npy_columns(np.load(path))
    csv_path, csv_columns = _small_csv(tmp_path / "s.csv")
    box: list[Any] = []
    with oxbridge.Dataset.open(path) as ds, oxbridge.Dataset.open(csv_path) as text:
        box.append(list(ds.iter_batches(rows=3000)))  # ArrowBatch objects, not handed over
        box.append(pa.table(ds))  # zero-copy pyarrow columns
        box.append(list(text.iter_batches(rows=999)))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            batches, table, text_batches = box.pop(0), box.pop(0), box.pop(0)
            for j, column in enumerate(columns):
                _assert_column_is(np, table.column(j), column, f"table column {j}")
            got = pa.Table.from_batches([pa.record_batch(batch) for batch in batches[::2]])
            expected = [np.concatenate([c[k * 3000 : (k + 1) * 3000] for k in range(0, 7, 2)]) for c in columns]
            for j, column in enumerate(expected):
                _assert_column_is(np, got.column(j), column, f"batches column {j}")
            text_table = pa.Table.from_batches([pa.record_batch(batch) for batch in text_batches])
            _assert_table(text_table, ["n", "s", "x"], SMALL_TYPES, csv_columns)
            # Everything is released here, on this thread: the odd batches never handed over.
            del batches, table, text_batches, got, text_table
            gc.collect()
        except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
            errors.append(e)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    assert box == []
    mapped = _file_mappings(path)
    assert mapped is None or mapped == []


def test_sixteen_threads_stream_one_dataset_at_once(tmp_path):
    pa = _pa()
    np = _np()
    path, columns = _small_csv(tmp_path / "s.csv", 60_000)
    npy = tmp_path / "f.npy"
    array = _npy_array("<i8", "c", 20_000)
    np.save(npy, array)
    results: list[Any] = [None] * 16
    with oxbridge.Dataset.open(path) as ds, oxbridge.Dataset.open(npy) as binary:

        def work(i: int) -> None:
            if i % 2:
                results[i] = (ds.to_arrow(rows=777 * i), binary.to_arrow(rows=100 * i))
            else:
                results[i] = (pa.table(ds), pa.table(binary))

        run_threads(16, work)
    _assert_table(results[0][0], ["n", "s", "x"], SMALL_TYPES, columns)
    for j, column in enumerate(_npy_columns(array)):
        _assert_column_is(np, results[0][1].column(j), column, f"column {j}")
    for i, (text, binary_table) in enumerate(results):
        assert text.equals(results[0][0]), i
        assert binary_table.equals(results[0][1]), i


# ---- 5. errors -----------------------------------------------------------------------------

_TRUNCATE = textwrap.dedent(r"""
    import json, os, sys

    import oxbridge

    path, size, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, "w") as f:
        f.write("a,b,c\n")
        block = "".join(f"{i},{i * 0.5},name {i}\n" for i in range(10_000))
        while f.tell() < 20_000_000:
            f.write(block)
    total = 10_000 * (os.path.getsize(path) // len(block))

    def error(e):
        return {"type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__], "message": str(e)}

    out = {"total": total}
    with oxbridge.Dataset.open(path) as ds:
        if how == "batches":
            batches = ds.iter_batches(rows=1000)
            first = next(batches)
            rows = first.num_rows
            os.truncate(path, size)
            try:
                for batch in batches:
                    rows += batch.num_rows
            except Exception as e:
                out["error"] = error(e)
        else:
            import pyarrow as pa

            reader = pa.RecordBatchReader._import_from_c_capsule(ds.__arrow_c_stream__())
            first = reader.read_next_batch()
            rows = first.num_rows
            os.truncate(path, size)
            try:
                rows += reader.read_all().num_rows
            except Exception as e:
                out["error"] = error(e)
            out["first"] = first.column(0).to_pylist()[:3]  # still readable after the error
    out["rows"] = rows
    print(json.dumps(out))
""")


@pytest.mark.parametrize("how", ["batches", "pyarrow"])
@pytest.mark.parametrize("keep", [0, 0.5, 0.999])
def test_a_csv_truncated_while_streaming_is_an_error_not_a_crash(tmp_path, how, keep):
    """In a child process, so that a crash (SIGBUS) fails this test instead of pytest."""
    if how == "pyarrow":
        _pa()
    path = tmp_path / "big.csv"
    size = int(keep * 20_000_000)
    child = run_child(python("-c", _TRUNCATE, str(path), str(size), how), timeout=120)
    assert child.returncode == 0, child.describe()
    out = json.loads(child.stdout.splitlines()[-1])
    assert "error" in out, f"no error after truncating to {size} bytes: {out}"
    error = out["error"]
    if how == "batches":
        assert error["type"] == "DataFormatError" or "OSError" in error["mro"], error
    else:
        assert "OSError" in error["mro"], error  # pyarrow's reading of the stream's EIO
        assert out["first"] == [0, 1, 2]
    assert "shrank" in error["message"] or "truncated" in error["message"], error
    assert str(path) in error["message"]
    assert 1000 <= out["rows"] < out["total"]


_TRUNCATE_NPY = textwrap.dedent(r"""
    import gc, json, os, sys

    import numpy as np
    import pyarrow as pa

    import oxbridge

    path = sys.argv[1]
    a = np.arange(4_000_000, dtype=np.float64)
    np.save(path, a)
    with oxbridge.Dataset.open(path) as ds:
        table = ds.to_arrow(rows=100_000)
    gc.collect()
    os.truncate(path, 1_000_000)
    got = table.column(0).to_numpy()  # pages past the end: zeros (sigbus.rs), not a crash
    same = got == a
    print(json.dumps({"same": int(same.sum()), "zeros": int((got[~same] == 0).sum()), "n": len(got)}))
""")


def test_a_zero_copy_table_over_a_truncated_npy_reads_zeros_not_a_crash(tmp_path):
    """sigbus.rs: pages of a mapping past a truncated end read as zeros while the mapping
    is registered, which an exported table keeps it (even after close)."""
    _pa()
    _np()
    child = run_child(python("-c", _TRUNCATE_NPY, str(tmp_path / "t.npy")), timeout=120)
    assert child.returncode == 0, child.describe()
    out = json.loads(child.stdout.splitlines()[-1])
    assert out["n"] == 4_000_000
    assert out["same"] + out["zeros"] == out["n"], out  # each value either intact or zero
    assert out["same"] >= (1_000_000 - 128) // 8 - 1  # the part still in the file is intact


@pytest.mark.parametrize("rows", [0, -1, 1.5, True, "10"])
def test_rows_must_be_a_positive_integer(tmp_path, rows):
    path, _ = _small_csv(tmp_path / "s.csv", 10)
    address = _arrow.new_struct(_arrow.STREAM)
    try:
        with oxbridge.Dataset.open(path) as ds:
            with pytest.raises(ValueError, match="rows"):
                ds.iter_batches(rows=rows)
            with pytest.raises(ValueError, match="rows"):
                ds._export_to_c(address, rows=rows)
            assert not _arrow.pointer(_arrow.STREAM, address).contents.release  # left released
            methods = {"pyarrow": ds.to_arrow, "pandas": ds.to_pandas, "polars": ds.to_polars}
            for needs, method in methods.items():
                if _have("pyarrow") and _have(needs):
                    with pytest.raises(ValueError, match="rows"):
                        method(rows=rows)
    finally:
        _arrow.free_struct(_arrow.STREAM, address)


def _have(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def test_unknown_columns_raise_key_error_and_positions_index_error(tmp_path):
    path, _ = _small_csv(tmp_path / "s.csv", 10)
    address = _arrow.new_struct(_arrow.STREAM)
    try:
        with oxbridge.Dataset.open(path) as ds:
            with pytest.raises(KeyError, match="nope"):
                ds.iter_batches(columns=["n", "nope"])
            with pytest.raises(KeyError, match="nope"):
                ds._export_to_c(address, columns=["nope"])
            with pytest.raises(IndexError):
                ds.iter_batches(columns=[3])
            if _have("pyarrow"):
                with pytest.raises(KeyError, match="nope"):
                    ds.to_arrow(columns=["nope"])
            assert [batch.num_rows for batch in ds.iter_batches(columns=[-1, "n"])] == [10]
    finally:
        _arrow.free_struct(_arrow.STREAM, address)


def test_a_closed_dataset_raises_closed_error_as_other_methods_do(tmp_path):
    path, _ = _small_csv(tmp_path / "s.csv", 10)
    ds = oxbridge.Dataset.open(path)
    ds.close()
    with pytest.raises(oxbridge.ClosedError):
        ds.describe()  # what every other method does after close
    address = _arrow.new_struct(_arrow.STREAM)
    try:
        with pytest.raises(oxbridge.ClosedError):
            ds._export_to_c(address)
        assert not _arrow.pointer(_arrow.STREAM, address).contents.release
    finally:
        _arrow.free_struct(_arrow.STREAM, address)
    with pytest.raises(oxbridge.ClosedError):
        list(ds.iter_batches())
    if hasattr(ctypes, "pythonapi"):
        with pytest.raises(oxbridge.ClosedError):
            ds.__arrow_c_stream__()
        with pytest.raises(oxbridge.ClosedError):
            ds.__arrow_c_schema__()
    if _have("pyarrow"):
        import pyarrow as pa

        for read in (pa.table, lambda d: d.to_arrow(), lambda d: d.to_pandas()):
            with pytest.raises(oxbridge.ClosedError):
                read(ds)


def test_a_batch_is_handed_over_once(tmp_path):
    path, columns = _small_csv(tmp_path / "s.csv", 10)
    with oxbridge.Dataset.open(path) as ds:
        batch, other = ds.iter_batches(rows=5)
    assert "handed over" not in repr(batch)
    array, schema = _arrow.new_struct(_arrow.ARRAY), _arrow.new_struct(_arrow.SCHEMA)
    try:
        batch._export_to_c(array, schema)
        assert "handed over" in repr(batch)
        with pytest.raises(RuntimeError, match="handed over"):
            batch._export_to_c(array)
        if hasattr(ctypes, "pythonapi"):
            with pytest.raises(RuntimeError, match="handed over"):
                batch.__arrow_c_array__()
        assert _arrow.pointer(_arrow.ARRAY, array).contents.length == 5
        assert _arrow.pointer(_arrow.SCHEMA, schema).contents.format == b"+s"
    finally:
        _arrow.free_struct(_arrow.ARRAY, array)
        _arrow.free_struct(_arrow.SCHEMA, schema)
    if _have("pyarrow"):
        import pyarrow as pa

        got = pa.record_batch(other)
        assert got.column(0).to_pylist() == columns[0][5:]
        with pytest.raises(RuntimeError, match="handed over"):
            pa.record_batch(other)
        assert pa.schema(other).names == ["n", "s", "x"]  # the schema can be asked again


def test_columns_in_any_order_and_none_at_all(tmp_path):
    _pa()
    np = _np()
    path, columns = _small_csv(tmp_path / "s.csv", 300)
    npy = tmp_path / "f.npy"
    array = _npy_array("<i2", "f", 300)
    np.save(npy, array)
    with oxbridge.Dataset.open(path) as ds:
        picked = ds.to_arrow(columns=["x", 0], rows=64)
        empty = ds.to_arrow(columns=[])
    _assert_table(picked, ["x", "n"], ["double", "int64"], [columns[2], columns[0]])
    assert (empty.num_rows, empty.num_columns) == (300, 0)
    with oxbridge.Dataset.open(npy) as ds:
        twice = ds.to_arrow(columns=[2, 0, 2], rows=64)  # a column may be asked for twice
    twice.validate(full=True)
    for j, c in enumerate([2, 0, 2]):
        _assert_column_is(np, twice.column(j), array[:, c], f"column {j}")


def test_a_csv_column_asked_for_twice_is_repeated_or_refused(tmp_path):
    pa = _pa()
    path, columns = _small_csv(tmp_path / "s.csv", 300)
    with oxbridge.Dataset.open(path) as ds:
        try:
            table = ds.to_arrow(columns=["s", 0, "s"], rows=64)
        except (ValueError, KeyError) as e:
            assert not isinstance(e, pa.ArrowException), e  # refusing is a fine answer, not invalid data
            return
        table.validate(full=True)  # raises ArrowInvalid: "Column 0 named s expected length 300 but got length 0"
        _assert_table(table, ["s", "n", "s"], ["string", "int64", "string"], [columns[1], columns[0], columns[1]])
        batches = [pa.record_batch(batch) for batch in ds.iter_batches(rows=64, columns=["s", "s"])]
        assert pa.Table.from_batches(batches).column(0).to_pylist() == columns[1]


def test_minus_zero_written_as_an_integer_in_a_float_column_keeps_its_sign(tmp_path):
    pa = _pa()
    path = tmp_path / "z.csv"
    path.write_text("x\n1.5\n-0\n-0.0\n+0\n")
    with oxbridge.Dataset.open(path) as ds:
        table = pa.table(ds)
    want = [1.5, -0.0, -0.0, 0.0]
    assert [float(v) for v in ["1.5", "-0", "-0.0", "+0"]] == want  # the oracle, sign included by _same
    _assert_values(table.column("x").to_pylist(), want, "x")


def _ragged_late(path: Path) -> Path:
    """100,000 good records, then one with a field too many (line 100,002), past the first
    records that `to_arrow` guesses the column types from."""
    with open(path, "w") as f:
        f.write("a,b\n")
        f.writelines(f"{i},{i}\n" for i in range(100_000))
        f.write("1,2,3\n")
        f.writelines(f"{i},{i}\n" for i in range(10))
    return path


def _every_reader() -> list:
    pa = _pa()
    return [
        ("pyarrow.table", pa.table),
        ("iter_batches", lambda ds: list(ds.iter_batches(rows=1000))),
        ("to_arrow", lambda ds: ds.to_arrow()),
        ("to_pandas", lambda ds: ds.to_pandas()),
    ]


def test_a_malformed_record_far_into_the_file_is_a_data_format_error(tmp_path):
    path = _ragged_late(tmp_path / "r.csv")
    for name, read in _every_reader():
        with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
            read(ds)
        assert f"{path}: line 100002: expected 2 fields, found 3" == str(info.value), name


def test_a_malformed_record_far_into_the_file_names_its_line_and_path(tmp_path):
    path = _ragged_late(tmp_path / "r.csv")
    for name, read in _every_reader():
        with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
            read(ds)
        assert (info.value.path, info.value.line, info.value.column) == (str(path), 100_002, None), name


# ---- 6. ctypes only (PyPy) ------------------------------------------------------------------


def _bit(address: int, i: int) -> bool:
    return bool(ctypes.cast(address, ctypes.POINTER(ctypes.c_uint8))[i // 8] >> (i % 8) & 1)


def _read_child(array: Any, schema: Any) -> list:
    """The values of one column of a batch, read with ctypes (int64, double, utf8)."""
    fmt = schema.format
    buffers = array.buffers
    validity = buffers[0]
    assert array.n_buffers == (3 if fmt == b"u" else 2)
    assert validity or array.null_count == 0
    values = []
    for i in range(array.offset, array.offset + array.length):
        if validity and not _bit(validity, i):
            values.append(None)
        elif fmt == b"l":
            values.append(ctypes.cast(buffers[1], ctypes.POINTER(ctypes.c_int64))[i])
        elif fmt == b"g":
            values.append(ctypes.cast(buffers[1], ctypes.POINTER(ctypes.c_double))[i])
        elif fmt == b"u":
            offsets = ctypes.cast(buffers[1], ctypes.POINTER(ctypes.c_int32))
            start, end = offsets[i], offsets[i + 1]
            values.append(ctypes.string_at(buffers[2] + start, end - start).decode("utf-8"))
        else:
            raise AssertionError(f"unexpected format {fmt!r}")
    assert sum(v is None for v in values) == array.null_count
    return values


def _ctypes_read(stream_address: int) -> tuple[list[str], list[bytes], list[list], list[int]]:
    """Reads a whole stream through the C structs, then releases it: names, formats,
    columns and batch sizes."""
    schema_address = _arrow.new_struct(_arrow.SCHEMA)
    try:
        stream = _arrow.pointer(_arrow.STREAM, stream_address)
        assert stream.contents.release
        assert stream.contents.get_schema(stream, _arrow.pointer(_arrow.SCHEMA, schema_address)) == 0
        schema = _arrow.pointer(_arrow.SCHEMA, schema_address).contents
        assert schema.format == b"+s" and schema.n_children >= 1
        children = [schema.children[j].contents for j in range(schema.n_children)]
        names = [c.name.decode("utf-8") for c in children]
        formats = [c.format for c in children]
        assert all(c.flags & b.ARROW_FLAG_NULLABLE for c in children)
        columns: list[list] = [[] for _ in children]
        sizes = []
        while True:
            array_address = _arrow.new_struct(_arrow.ARRAY)
            try:
                array = _arrow.pointer(_arrow.ARRAY, array_address)
                assert stream.contents.get_next(stream, array) == 0
                if not array.contents.release:
                    break  # the end of the stream: a released array
                top = array.contents
                assert top.n_children == len(children) and top.null_count == 0
                sizes.append(top.length)
                for j in range(top.n_children):
                    child = top.children[j].contents
                    assert child.length == top.length
                    columns[j] += _read_child(child, children[j])
                if len(sizes) % 2:  # release half of them by hand, as a consumer does
                    array.contents.release(array)
                    assert not array.contents.release  # the release callback marks it released
            finally:
                _arrow.free_struct(_arrow.ARRAY, array_address)  # releases the other half
        assert stream.contents.get_last_error(stream) is None  # no error happened
        schema_pointer = _arrow.pointer(_arrow.SCHEMA, schema_address)
        schema_pointer.contents.release(schema_pointer)
        assert not schema_pointer.contents.release
        stream.contents.release(stream)
        assert not stream.contents.release
        return names, formats, columns, sizes
    finally:
        _arrow.free_struct(_arrow.SCHEMA, schema_address)


def _ctypes_stream(ds: oxbridge.Dataset, **options: Any) -> tuple[list[str], list[bytes], list[list], list[int]]:
    address = _arrow.new_struct(_arrow.STREAM)
    try:
        ds._export_to_c(address, **options)
        return _ctypes_read(address)
    finally:
        _arrow.free_struct(_arrow.STREAM, address)


def test_the_stream_read_with_ctypes_alone(tmp_path):
    """No numpy, no pyarrow: the C Stream Interface driven through ctypes, values and
    validity bitmaps read from the buffers, against the values written."""
    rng = random.Random(7)
    ints = [None if rng.random() < 0.2 else rng.randrange(-(2**63), 2**63) for _ in range(3000)]
    floats = [None if rng.random() < 0.2 else rng.choice([rng.uniform(-1e9, 1e9), -0.0, 1e-310]) for _ in ints]
    texts = [None if rng.random() < 0.2 else rng.choice(["a,b", 'q"', "ünï\nx", "🙂", " s "]) for _ in ints]
    rows = [
        [rng.choice(NULLS) if v is None else v for v in (n, None if f is None else repr(f), s)]
        for n, f, s in zip(ints, floats, texts)
    ]
    path = _write_csv(tmp_path / "c.csv", ["n", "x", "s"], rows)
    later = _arrow.new_struct(_arrow.STREAM)
    unread = _arrow.new_struct(_arrow.STREAM)
    try:
        with oxbridge.Dataset.open(path) as ds:
            names, formats, columns, sizes = _ctypes_stream(ds, rows=1000)
            assert (names, formats) == (["n", "x", "s"], [b"l", b"g", b"u"])
            _assert_values(columns[0], ints, "n")
            _assert_values(columns[1], floats, "x")
            _assert_values(columns[2], texts, "s")
            assert all(0 < size <= 1000 for size in sizes) and sum(sizes) == 3000
            names, formats, columns, sizes = _ctypes_stream(ds, columns=["s", 0], rows=7)
            assert (names, formats) == (["s", "n"], [b"u", b"l"])
            _assert_values(columns[0], texts, "s")
            _assert_values(columns[1], ints, "n")
            assert all(0 < size <= 7 for size in sizes) and sum(sizes) == 3000
            ds._export_to_c(later, columns=["n"], rows=512)
            ds._export_to_c(unread)
        # Read after close: the stream keeps what it needs.
        names, formats, columns, sizes = _ctypes_read(later)
        assert (names, formats) == (["n"], [b"l"])
        _assert_values(columns[0], ints, "n")
        assert sizes[0] == 512
    finally:
        _arrow.free_struct(_arrow.STREAM, later)
        _arrow.free_struct(_arrow.STREAM, unread)  # never read: released by free


def test_capsules_need_cpython_and_say_so(tmp_path):
    path, _ = _small_csv(tmp_path / "s.csv", 10)
    with oxbridge.Dataset.open(path) as ds:
        if hasattr(ctypes, "pythonapi"):
            capsule = ds.__arrow_c_stream__()
            assert type(capsule).__name__ == "PyCapsule"
            assert "arrow_array_stream" in repr(capsule)
            assert "arrow_schema" in repr(ds.__arrow_c_schema__())
        else:
            with pytest.raises(NotImplementedError, match="to_arrow"):
                ds.__arrow_c_stream__()


@pytest.mark.skipif(os.environ.get(HIDDEN_ENV) == "1", reason="this is the run with those modules hidden")
@pytest.mark.skipif(not _have("pyarrow"), reason="pyarrow is not installed: this run is already without it")
def test_this_module_passes_with_numpy_and_pyarrow_hidden():
    """The module imports and its ctypes tests pass where numpy, pyarrow, polars, pandas
    and duckdb cannot be imported (as under PyPy); the rest skip."""
    hide = textwrap.dedent("""
        import sys

        class HideModules:
            names = set(sys.argv.pop(1).split(","))

            @classmethod
            def find_spec(cls, name, path=None, target=None):
                if name.partition(".")[0] in cls.names:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, HideModules)
        import pytest

        sys.exit(pytest.main(sys.argv[1:]))
    """)
    selected = (
        "ctypes or capsules_need or handed_over or rows_must or unknown_columns or closed_dataset or hidden"
        " or never_consumed or (truncated_while_streaming and batches)"
    )
    result = run_child(
        python("-c", hide, ",".join(HIDDEN), __file__, "-q", "-p", "no:cacheprovider", "-rA", "-k", selected),
        env=child_env(**{HIDDEN_ENV: "1"}),
        cwd=str(ROOT),
        timeout=300,
    )
    assert result.returncode == 0, result.describe()
    assert "failed" not in result.stdout, result.stdout
    for test in ("test_the_stream_read_with_ctypes_alone", "test_streams_and_batches_never_consumed_do_not_leak"):
        assert f"PASSED tests/python/test_arrow.py::{test}" in result.stdout, result.stdout


@pytest.mark.skipif(os.environ.get(HIDDEN_ENV) != "1", reason="only in the run with those modules hidden")
def test_the_modules_are_really_hidden():
    for name in HIDDEN:
        assert not _have(name), name


# ---- 7. iteration ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quoted_newlines(tmp_path_factory):
    """A CSV of about 9 MB (three parallel chunks of 4 MiB) whose text fields hold quoted
    newlines, commas, quotes and lines that look like records. The first cut (4 MiB after
    the header) falls right after a newline inside a field of 300 KB whose quotes are all
    doubled: the cut's local look at the quotes (64 KiB) cannot tell it is inside quotes,
    so the chunk after it starts at a wrong guess that must be parsed again."""
    rng = random.Random(3)
    path = tmp_path_factory.mktemp("quoted") / "q.csv"
    ids, notes, xs = [], [], []
    parts = [b"id,note,x\n"]
    cut = len(parts[0]) + (4 << 20)
    pos = len(parts[0])
    i = 0
    placed = False
    while pos < 9_000_000:
        across = cut - 100_000 <= pos < cut - 1000
        if across:
            pad = cut - (pos + len(f'{i},"')) - 1
            note = "x" * pad + "\n" + "".join(f'{k},"{k}",{k}.5\n' for k in range(20_000))
        else:
            note = "".join(
                rng.choice(["line\n", 'a,"b",', "7,8,9\n", "ü", "\r\n", "x" * 40]) for _ in range(rng.randrange(100))
            )
        x = i / 4 if i % 5 else -i / 3
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([i, note, repr(x)])
        row = out.getvalue().encode("utf-8")
        if across:
            assert row[cut - pos - 1 : cut - pos + 1] == b"\n0", "the cut is not where it was meant to be"
            placed = True
        parts.append(row)
        pos += len(row)
        ids.append(i)
        notes.append(note or None)
        xs.append(x)
        i += 1
    assert placed
    path.write_bytes(b"".join(parts))
    return path, [ids, notes, xs]


@pytest.mark.parametrize("k", [1, 7, 65536])
def test_batches_of_a_csv_with_quoted_newlines_are_the_table_in_order(quoted_newlines, k):
    pa = _pa()
    path, columns = quoted_newlines
    with oxbridge.Dataset.open(path) as ds:
        whole = pa.table(ds)
        batches = [(batch.num_rows, pa.record_batch(batch)) for batch in ds.iter_batches(rows=k)]
    assert all(n == batch.num_rows and 0 < n <= k for n, batch in batches)
    _assert_table(whole, ["id", "note", "x"], ["int64", "string", "double"], columns, path.name)
    joined = pa.Table.from_batches([batch for _, batch in batches])
    assert joined.equals(whole)
    if k == 65536:
        assert len(batches) >= 3  # at least one batch per chunk: the cuts were crossed


@pytest.mark.parametrize("k", [1, 7, 65536])
@pytest.mark.parametrize("layout", ["1d", "c", "f"])
def test_batches_of_an_npy_are_the_table_in_order(tmp_path, k, layout):
    pa = _pa()
    np = _np()
    rows = 4001
    path = tmp_path / "b.npy"
    np.save(path, _npy_array("<i4", layout, rows))
    expected = np.load(path)
    with oxbridge.Dataset.open(path) as ds:
        sizes, batches = [], []
        for batch in ds.iter_batches(rows=k):
            sizes.append(batch.num_rows)
            batches.append(pa.record_batch(batch))
    assert sizes == [k] * (rows // k) + ([rows % k] if rows % k else [])
    joined = pa.Table.from_batches(batches)
    for j, column in enumerate(_npy_columns(expected)):
        _assert_column_is(np, joined.column(j), column, f"column {j}")


def test_column_types_are_those_of_the_whole_file(tmp_path):
    """A value in the last parallel chunk changes a column's type: every batch has the
    whole file's type (int64 -> float64, date -> string, bool -> string)."""
    _pa()
    rows = 450_000  # ~10 MB: three chunks
    path = tmp_path / "late.csv"
    with open(path, "w") as f:
        f.write("n,day,flag,keep\n")
        f.writelines(f"{i},2024-01-{i % 28 + 1:02d},{'true' if i % 3 else 'false'},{i}\n" for i in range(rows))
        f.write("1.5,soon,yes,-1\n")
    with oxbridge.Dataset.open(path) as ds:
        table = ds.to_arrow(rows=100_000)
    assert [str(t) for t in table.schema.types] == ["double", "string", "string", "int64"]
    assert table.num_rows == rows + 1
    n = table.column("n").to_pylist()
    assert n[:3] == [0.0, 1.0, 2.0] and n[-2:] == [rows - 1.0, 1.5]
    assert all(type(v) is float for v in n[::9973])
    day = table.column("day").to_pylist()
    assert day[:2] == ["2024-01-01", "2024-01-02"] and day[-1] == "soon"
    assert table.column("flag").to_pylist()[:3] == ["false", "true", "true"]
    assert table.column("keep").to_pylist()[-2:] == [rows - 1, -1]


# ---- 8. generated tables ------------------------------------------------------------------

# Text that cannot be read as a number, boolean, date or timestamp: at least one such
# value keeps a column text.
_TEXT_ALPHABET = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_CLEARLY_TEXT = st.text(_TEXT_ALPHABET, max_size=8).map(lambda s: s + 'q,"\n')


def _float_text(value: float, style: int, digits: int) -> str:
    """`value` written one of several ways; the oracle is Python's correctly rounded
    float() of the text (the same value for every style but the fixed-point one)."""
    if math.isnan(value):
        return ["nan", "NaN"][style % 2]  # both are missing-value markers
    if style == 0 or math.isinf(value):
        return repr(value)
    if style == 1:
        return f"{value:.17e}"
    if style == 2:
        text = format(Decimal(value), "f")  # the exact decimal expansion, hundreds of digits
        return text if "." in text else text + ".0"
    if style == 3 and value.is_integer():
        return "-0" if math.copysign(1.0, value) < 0 and value == 0 else str(int(value))  # an integer literal
    return f"{value:.{digits}f}"  # rounded to 1..17 decimals: a different double


_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _float_column(texts: list[str]) -> tuple[str, list]:
    """The type and values of a column of numbers written by `_float_text`: int64 when
    every value present is an integer literal in int64's range, else float64."""
    present = [t for t in texts if t not in NULLS]
    if present and all(_INTEGER.fullmatch(t) and -(2**63) <= int(t) < 2**63 for t in present):
        return "int64", [None if t in NULLS else int(t) for t in texts]
    return "double", [None if t in NULLS else float(t) for t in texts]


@st.composite
def _tables(draw: Any) -> tuple[list[str], list[list], list[list]]:
    """(types, rows as text, oracle columns) of a small table of every kind of column."""
    n = draw(st.integers(0, 12))
    missing = st.sampled_from(NULLS)
    columns: list[list] = [[] for _ in range(7)]
    texts: list[list] = [[] for _ in range(7)]
    clearly = draw(st.integers(0, max(n - 1, 0)))
    for r in range(n):
        row = [draw(st.none() | st.just(0)) for _ in range(7)]  # None: missing
        if row[0] is not None:
            v = draw(st.integers(-(2**63), 2**63 - 1))
            texts[0].append(draw(st.sampled_from(["{}", " {}", "{} ", "+{}" if v >= 0 else "{}"])).format(v))
            columns[0].append(v)
        if row[1] is not None:
            v = draw(st.floats(allow_nan=True, allow_infinity=True))
            texts[1].append(_float_text(v, draw(st.integers(0, 4)), draw(st.integers(1, 17))))
            columns[1].append(0)  # set below from the texts
        if r == clearly:
            row[2] = 0
        if row[2] is not None:
            v = draw(_CLEARLY_TEXT) if r == clearly else draw(st.text(_TEXT_ALPHABET, max_size=10))
            texts[2].append(v)
            columns[2].append(None if v in NULLS else v)
        if row[3] is not None:
            spelling = draw(st.sampled_from(sorted(BOOLS)))
            texts[3].append(spelling)
            columns[3].append(BOOLS[spelling])
        if row[4] is not None:
            v = draw(st.dates())
            texts[4].append(v.isoformat())
            columns[4].append(v)
        if row[5] is not None:
            v = draw(st.datetimes())
            spec = "minutes" if v.second == v.microsecond == 0 else draw(st.sampled_from(["seconds", "microseconds"]))
            spec = "microseconds" if v.microsecond else spec
            texts[5].append(v.isoformat(sep=draw(st.sampled_from("T ")), timespec=spec))
            columns[5].append(v)
        if row[6] is not None:
            local = draw(st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31)))
            minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
            sign, m = ("-" if minutes < 0 else "+"), abs(minutes)
            zone = draw(st.sampled_from(["Z", f"{sign}{m // 60:02d}:{m % 60:02d}", f"{sign}{m // 60:02d}{m % 60:02d}"]))
            if zone == "Z":
                minutes = 0
            texts[6].append(local.isoformat(timespec="microseconds") + zone)
            columns[6].append((local - dt.timedelta(minutes=minutes)).replace(tzinfo=UTC))
        for j in range(7):
            if row[j] is None:
                texts[j].append(draw(missing))
                columns[j].append(None)
    base = ["int64", "double", "string", "bool", "date32[day]", "timestamp[us]", "timestamp[us, tz=UTC]"]
    base[1], columns[1] = _float_column(texts[1])
    types = [t if any(v is not None for v in columns[j]) else "double" for j, t in enumerate(base)]
    rows = [[texts[j][r] for j in range(7)] for r in range(n)]
    return types, rows, columns


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_tables(), crlf=st.booleans())
def test_generated_tables_read_as_written(tmp_path, data, crlf):
    pa = _pa()
    types, rows, columns = data
    names = ["i", "f", "s", "b", "d", "t", "z"]
    path = tmp_path / "h.csv"
    _write_csv(path, names, rows, lineterminator="\r\n" if crlf else "\n")
    with oxbridge.Dataset.open(path, delimiter=",", header=True) as ds:
        table = pa.table(ds)
    assert table.num_rows == len(rows)
    _assert_table(table, names, types, columns, json.dumps(rows, ensure_ascii=True)[:2000])
    with oxbridge.Dataset.open(path, delimiter=",", header=True) as ds:
        _assert_same_table(ds.to_arrow(), table)  # types guessed from the first records, then checked
    # The same through a stream of one-row batches.
    with oxbridge.Dataset.open(path, delimiter=",", header=True) as ds:
        assert pa.Table.from_batches([pa.record_batch(x) for x in ds.iter_batches(rows=1)], table.schema).equals(table)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
