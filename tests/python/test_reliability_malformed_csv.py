"""Reliability: a corpus of malformed CSV gives correct results or clean errors.

tests/data/csv/ (test_csv_corpus.py) already covers ragged rows, unclosed quotes, an
empty file, a NUL near the start, CRLF/LF mixes, `a,a` and empty header names, 1e400 and
a missing final newline. This corpus (tests/data/csv_malformed/, plus big files made in
tmp_path) adds what those leave out. Every file gives either the correct result, checked
against an oracle, or oxbridge.DataFormatError naming the right line (1-based, the header
counts, a quoted line break counts) and column (the first missing one for a short
record, none for a long one or an unclosed quote); never a PanicError or a crash. Each is
read three ways: describe, count_rows and iter_chunks (the record reader).

The oracle: Python's csv module on the bytes decoded as UTF-8 with errors="replace", a
lone CR (one not followed by LF) taken as an ordinary character; types and statistics
as in test_csv_corpus.expected_column (float() for numbers, exact arithmetic). Choices
documented by these files:

- Invalid UTF-8 (in values and names) reads as bytes.decode("utf-8", "replace"): one
  U+FFFD per invalid sequence, so text lengths match Python's len() and pandas'
  encoding_errors="replace" (a lone continuation byte counted 0 characters before).
- A NUL after the first 4 KiB is an ordinary character (Python's csv reads it so); one in
  the first 4 KiB makes the file binary (tests/data/csv/bad/nul_bytes.csv). A NUL in a
  header name is shown as the two characters \\0, and names stay unique.
- 1e999 is inf and -1e999 is -inf, as float(), pandas and polars read them; 1e-999 is
  0.0 (-1e-999 is -0.0); exponents and integers too long for 64 bits are read by value
  (1e99999999999999999999 is inf, a 400-digit integer is float64 inf: pandas keeps that
  column as Python ints, an object column). Sums of inf and -inf are NaN, as numpy's.
- A lone CR in an unquoted field is part of the value (records end with LF or CRLF, as
  RFC 4180 and polars have it); Python's csv and pandas end the record there instead.
- Repeated header names get .1, .2... skipping names the header already has, exactly as
  pandas names them (`a,a,a.1` -> `a, a.2, a.1`; it used to give `a, a.1, a.1`, two
  columns with one name); an empty name becomes its position (pandas: "Unnamed: i").
- A first record of more than 2^20 fields is refused (oxbridge reads at most 2^20
  columns), instead of allocating per-column state for each.

The corpus size (files, bytes, generated cases) is recorded in build/reliability.json
(figure csv_malformed.cases).
"""

from __future__ import annotations

import csv
import io
import math
import re
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oxbridge

import _reliability as R
from test_csv_corpus import DEFAULT_NULLS, assert_numeric_matches, assert_text_matches, expected_column

DATA = Path(__file__).resolve().parents[1] / "data" / "csv_malformed"
BAD_DIR = DATA / "bad"
CASES: dict[str, str] = {}  # case -> outcome, for the figures


@pytest.fixture(scope="module", autouse=True)
def _figures(request):
    yield
    if CASES:
        files = sorted(p for p in DATA.rglob("*") if p.is_file())
        outcomes: dict[str, int] = {}
        for o in CASES.values():
            outcomes[o] = outcomes.get(o, 0) + 1
        R.record(
            "default",
            "malformed CSV",
            "csv_malformed.cases",
            len(CASES),
            "cases",
            corpus_files=len(files),
            corpus_bytes=sum(p.stat().st_size for p in files),
            outcomes=outcomes,
        )
    R.flush(request.config, "malformed CSV")


# ---------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------

LONE_CR = re.compile(r"\r(?!\n)")
CR_STAND_IN = "\ue000"  # one character, like the CR it stands for


def decoded(data: bytes) -> str:
    text = data.decode("utf-8", "replace")
    return LONE_CR.sub(CR_STAND_IN, text.removeprefix("\ufeff"))


def records_with_lines(data: bytes, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """(line where the record starts, fields), blank lines skipped, as csv reads them."""
    reader = csv.reader(io.StringIO(decoded(data), newline=""), delimiter=delimiter)
    out = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return out
        if row:
            out.append((start, [f.replace(CR_STAND_IN, "\r") for f in row]))


def expected_names(header: list[str]) -> list[str]:
    """Stripped, NUL shown as \\0, empty -> position, repeats numbered as pandas does."""
    names = [h.strip().replace("\0", "\\0") or str(i) for i, h in enumerate(header)]
    taken = set(names)
    counts: dict[str, int] = {}
    out = []
    for base in names:
        name, count = base, counts.get(base, 0)
        while count > 0:
            counts[base] = count + 1
            candidate = f"{base}.{count}"
            if candidate in taken:
                count += 1
            else:
                name, count = candidate, counts.get(candidate, 0)
        taken.add(name)
        counts[name] = count + 1
        out.append(name)
    return out


def first_ragged(records: list[tuple[int, list[str]]], names: list[str]) -> tuple[int, str | None] | None:
    for line, fields in records:
        if len(fields) != len(names):
            return line, (names[len(fields)] if len(fields) < len(names) else None)
    return None


def _check_describe_against_oracle(path: Path, open_options: dict, header: bool = True) -> oxbridge.Description:
    records = records_with_lines(path.read_bytes())
    if header:
        (_, head), data = records[0], records[1:]
        names = expected_names(head)
    else:
        data = records
        names = [str(i) for i in range(len(records[0][1]))]
    rows = [fields for _, fields in data]
    with oxbridge.Dataset.open(path, **open_options) as ds:
        assert ds.columns == names
        desc = ds.describe()
        assert desc.num_rows == ds.count_rows() == len(rows)
        numeric = []
        for j, name in enumerate(names):
            e = expected_column([r[j] for r in rows], DEFAULT_NULLS)
            where = f"{path.name} column {name!r}"
            assert desc.dtypes[name] == e.dtype, where
            if e.dtype == "text":
                assert_text_matches(desc[name], e, where)
            else:
                assert_numeric_matches(desc[name], e, where)
                numeric.append(j)
        if numeric:  # the record reader gives the same numbers
            got = np.concatenate([c.reshape(-1, len(numeric)) for c in ds.iter_chunks(rows=2, columns=numeric)])
            want = [[float(r[j].strip(" ")) if r[j] not in DEFAULT_NULLS else math.nan for j in numeric] for r in rows]
            np.testing.assert_array_equal(got, np.array(want, dtype=np.float64).reshape(-1, len(numeric)))
    return desc


# ---------------------------------------------------------------------------------------
# The checked-in corpus
# ---------------------------------------------------------------------------------------

# file -> open options (these files have a header; the oracle reads it as one)
GOOD = {
    "nul_in_fields.csv": {},
    "nul_in_header.csv": {},
    "invalid_utf8_text.csv": {},
    "invalid_utf8_header.csv": {},
    "lone_cr_in_fields.csv": {},
    "quoted_line_breaks_mixed.csv": {},
    "quote_after_closing_quote.csv": {},
    "duplicate_name_collisions.csv": {},
    "empty_names_colliding.csv": {"header": True},
    "cut_after_delimiter.csv": {},
}
EXTREME = "infinite_and_extreme_numbers.csv"
# file -> (line, column)
BAD = {
    "unbalanced_quote_swallows_lines.csv": (3, None),
    "cut_mid_record.csv": (3, "c"),
    "cut_inside_quoted_field_crlf.csv": (4, None),
    "ragged_long_quoted_extra.csv": (3, None),
    "ragged_short_then_long.csv": (3, "y"),
    "ragged_after_lone_cr.csv": (3, "b"),
}
# Files pandas (encoding_errors="replace") reads as oxbridge does; why the others differ.
PANDAS_DIFFERS = {
    "lone_cr_in_fields.csv": "pandas ends a record at a lone CR",
    "empty_names_colliding.csv": "pandas names empty headers 'Unnamed: i'",
    "nul_in_header.csv": "a NUL in a name is \\0 in oxbridge",
    "nul_in_fields.csv": "pandas' C parser reads NUL bytes as record ends",
}


def test_every_file_is_listed_and_the_corpus_is_small():
    assert sorted(p.name for p in DATA.iterdir() if p.is_file()) == sorted([*GOOD, EXTREME])
    assert sorted(p.name for p in BAD_DIR.iterdir() if p.is_file()) == sorted(BAD)
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) < 50_000


@pytest.mark.parametrize("name", sorted(GOOD))
def test_malformed_but_readable_files_match_the_oracle(name):
    _check_describe_against_oracle(DATA / name, GOOD[name])
    CASES[name] = "correct result"


@pytest.mark.parametrize("name", sorted(set(GOOD) - set(PANDAS_DIFFERS)))
def test_pandas_reads_them_alike(name):
    path = DATA / name
    df = pd.read_csv(
        path,
        keep_default_na=False,
        na_values=DEFAULT_NULLS,
        encoding_errors="replace",
        **({"header": 0} if GOOD[name].get("header") else {}),
    )
    desc = oxbridge.process_large_dataset(path, **GOOD[name])
    assert list(df.columns) == list(desc)
    for col in desc:
        s, ox = df[col], desc[col]
        assert (ox.count, ox.nan_count) == (int(s.notna().sum()), int(s.isna().sum())), col
        if isinstance(ox, oxbridge.TextStats):
            lens = s.dropna().astype(str).str.len()
            assert (ox.min_len, ox.max_len) == (int(lens.min()), int(lens.max())), col
        else:
            np.testing.assert_equal(
                [float(ox.min), float(ox.max), float(ox.sum)],
                [float(s.min()), float(s.max()), float(s.sum())],
                err_msg=col,
            )


def test_specific_readings():
    """The choices of the docstring, spelled out."""
    d = oxbridge.process_large_dataset(DATA / "invalid_utf8_text.csv")
    assert (d["text"].min_len, d["text"].max_len) == (1, 9)  # "\x80" is 1 character, "\xff\xfe,quoted" 2 + 7
    with oxbridge.Dataset.open(DATA / "invalid_utf8_header.csv") as ds:
        assert ds.columns == ["caf\ufffd", "\ufffd", "\ufffd.1", "ok"]
    with oxbridge.Dataset.open(DATA / "duplicate_name_collisions.csv") as ds:
        assert ds.columns == ["a", "a.2", "a.1", "b", "b.3", "b.1", "b.2"]
        assert [ds.describe()[c].sum for c in ds.columns] == [11, 22, 33, 44, 55, 66, 77]
    with oxbridge.Dataset.open(DATA / "empty_names_colliding.csv", header=True) as ds:
        assert ds.columns == ["0", "x", "2", "1", "2.1"]
    with oxbridge.Dataset.open(DATA / "nul_in_header.csv") as ds:
        assert ds.columns[-2:] == ["x\\0y", "x\\0y.1"]
    d = oxbridge.process_large_dataset(DATA / "nul_in_fields.csv")
    assert d.dtypes["flag"] == "text" and d.dtypes["num"] == "text" and d["text"].min_len == 1
    d = oxbridge.process_large_dataset(DATA / "lone_cr_in_fields.csv")
    assert d.num_rows == 5 and (d["text"].min_len, d["text"].max_len) == (1, 6)  # "x\ry" is one value
    d = oxbridge.process_large_dataset(DATA / "cut_after_delimiter.csv")
    assert (d["c"].count, d["c"].nan_count, d["c"].sum) == (1, 1, 3)


def _exact(values: list[float]) -> tuple[float, float, float]:
    """Sum, mean and variance (ddof=1) of finite values, correctly rounded (inf when the
    exact value overflows)."""

    def rounded(x: Fraction) -> float:
        try:
            return float(x)
        except OverflowError:
            return math.inf if x > 0 else -math.inf

    exact = [Fraction(v) for v in values]
    total = sum(exact, Fraction(0))
    mean = total / len(exact)
    var = sum(((x - mean) ** 2 for x in exact), Fraction(0)) / (len(exact) - 1)
    return rounded(total), rounded(mean), rounded(var)


def test_infinite_and_extreme_numbers_as_float_reads_them():
    path = DATA / EXTREME
    (_, head), *data = records_with_lines(path.read_bytes())
    desc = oxbridge.process_large_dataset(path)
    df = pd.read_csv(path)
    for j, name in enumerate(head):
        values = [float(fields[j]) for _, fields in data]  # the oracle: float()
        s = desc[name]
        assert desc.dtypes[name] == "float64" and (s.count, s.nan_count) == (4, 0), name
        assert (s.min, s.max) == (min(values), max(values)), name
        infinite = {math.copysign(1, v) for v in values if math.isinf(v)}
        if infinite:
            total = math.nan if len(infinite) == 2 else math.copysign(math.inf, infinite.pop())
            np.testing.assert_equal([s.sum, s.mean], [total, total], err_msg=name)
            assert math.isnan(s.std), name
        else:
            total, mean, var = _exact(values)
            assert s.sum == total and s.mean == pytest.approx(mean, abs=1e-300), name
            assert s.var == pytest.approx(var, rel=1e-9, abs=1e-300), name  # inf for edge: 2 M^2 / 3 overflows
        # pandas: the same floats, except the 400-digit integer it keeps as a Python int.
        if name != "huge_int":
            np.testing.assert_array_equal(df[name].to_numpy(dtype=np.float64), values, err_msg=name)
        else:
            assert df[name].dtype == object and df[name][0] == 10**399  # float() of that text is inf
        with oxbridge.Dataset.open(path) as ds:
            np.testing.assert_array_equal(np.concatenate(list(ds.iter_chunks(columns=[j]))).ravel(), values)
    CASES[EXTREME] = "correct result"


@pytest.mark.parametrize("name", sorted(BAD))
def test_malformed_files_name_the_line_and_column(name):
    path = BAD_DIR / name
    line, column = BAD[name]
    records = records_with_lines(path.read_bytes())
    names = expected_names(records[0][1])
    if name.startswith(("ragged", "cut_mid", "unbalanced")):  # the oracle agrees where it can tell
        assert first_ragged(records[1:], names) == (line, column)
    for how in ("describe", "count_rows", "iter_chunks"):
        with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
            if how == "describe":
                ds.describe()
            elif how == "count_rows":
                ds.count_rows()
            else:  # the record reader; column 0 is numeric in every file
                for _ in ds.iter_chunks(rows=1, columns=[0]):
                    pass
        e = info.value
        assert (e.path, e.line, e.column) == (str(path), line, column), f"{how}: {e}"
        assert f"line {line}" in str(e) and not isinstance(e, oxbridge.PanicError)
    CASES[f"bad/{name}"] = "DataFormatError"


# ---------------------------------------------------------------------------------------
# Big files, made in tmp_path
# ---------------------------------------------------------------------------------------


@pytest.fixture
def big_field_limit():
    old = csv.field_size_limit(sys.maxsize)
    yield
    csv.field_size_limit(old)


def test_a_1_mb_field(tmp_path, big_field_limit):
    mb = 1 << 20
    plain = "x" * mb
    quoted = ('ab""c\n,' * (mb // 7))[:mb]  # doubled quotes, newlines and delimiters inside quotes
    path = tmp_path / "big_field.csv"
    path.write_text(f'id,text,n\n1,{plain},10\n2,"{quoted}",20\n3,"é{plain}",30\n4,short,40\n')
    desc = _check_describe_against_oracle(path, {})
    assert desc["text"].max_len == mb + 1 and desc.num_rows == 4
    CASES["1 MB fields"] = "correct result"


def test_100_000_columns(tmp_path):
    n = 100_000
    kinds = ["i", "f", "t", "n"]  # int, float, text, all missing

    def cell(r: int, j: int) -> str:
        k = kinds[j % 4]
        return str(r * j - 7) if k == "i" else f"{r * 0.5 + j}" if k == "f" else f"w{r}{j}" if k == "t" else ""

    lines = [",".join(f"c{j}" for j in range(n))] + [",".join(cell(r, j) for j in range(n)) for r in range(3)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    records = [fields for _, fields in records_with_lines(path.read_bytes())]
    with oxbridge.Dataset.open(path) as ds:
        assert ds.columns == records[0] and ds.count_rows() == 3
        desc = ds.describe()
        got = desc.to_dict()
        for j in range(n):
            e = expected_column([r[j] for r in records[1:]], DEFAULT_NULLS)
            g = got[f"c{j}"]
            assert (g["dtype"], g["count"], g["nan_count"]) == (e.dtype, e.count, e.nan_count), j
            if e.dtype == "int64":
                assert g["sum"] == sum(e.values), j
        for j in (0, 1, 2, 3, n - 4, n - 3, n - 1):
            e = expected_column([r[j] for r in records[1:]], DEFAULT_NULLS)
            (assert_text_matches if e.dtype == "text" else assert_numeric_matches)(desc[f"c{j}"], e, f"c{j}")
        chunk = next(ds.iter_chunks(columns=[n - 4, n - 3]))
        assert chunk.tolist() == [[float(r[n - 4]), float(r[n - 3])] for r in records[1:]]
    CASES["100 000 columns"] = "correct result"


def test_a_first_record_of_more_than_2_20_fields_is_refused(tmp_path):
    path = tmp_path / "commas.csv"
    path.write_bytes(b"\n\n" + b"," * (1 << 20) + b"\n1\n")  # 2^20 + 1 empty names, on line 3
    with pytest.raises(oxbridge.DataFormatError) as info:
        oxbridge.Dataset.open(path)
    assert info.value.line == 3 and "at most" in str(info.value) and str(path) in str(info.value)
    CASES["2^20 + 1 header fields"] = "DataFormatError"


def _big_csv(path: Path, rows: int, bad: dict[int, str], tail: str = "") -> dict[int, int]:
    """Records id,"note with a line break",value; `bad` replaces record i. Returns the line
    each record starts on (every record takes two lines)."""
    out, starts, line = ["id,note,value\n"], {}, 2
    for i in range(rows):
        starts[i] = line
        out.append(bad.get(i, f'{i},"note {i % 13}\nsecond, line",{i % 1000}.25\n'))
        line += out[-1].count("\n")
    path.write_text("".join(out) + tail)
    return starts


def test_errors_deep_in_a_big_file_name_the_first_bad_line(tmp_path):
    path = tmp_path / "ragged.csv"
    rows = 200_000  # 7 MB: the parallel scan splits it (4 MiB chunks), chunk starts fall inside quotes
    starts = _big_csv(path, rows, {130_000: "130000,short\n", 180_000: '180000,"x",1,2\n'})
    assert path.read_bytes().index(b"130000,short") > 4 << 20  # in the second chunk
    with pytest.raises(oxbridge.DataFormatError) as info:
        oxbridge.process_large_dataset(path)
    assert (info.value.line, info.value.column) == (starts[130_000], "value")
    with oxbridge.Dataset.open(path) as ds:
        with pytest.raises(oxbridge.DataFormatError) as again:
            ds.count_rows()
        assert (again.value.line, again.value.column) == (starts[130_000], "value")
        with pytest.raises(oxbridge.DataFormatError) as chunks:
            for _ in ds.iter_chunks(rows=50_000, columns=["id", "value"]):
                pass
        assert (chunks.value.line, chunks.value.column) == (starts[130_000], "value")
    CASES["ragged record deep in a 7 MB file"] = "DataFormatError"


def test_a_big_file_cut_inside_a_quoted_field(tmp_path):
    path = tmp_path / "cut.csv"
    rows = 120_000
    starts = _big_csv(path, rows, {}, tail='120000,"cut inside\nthe quoted, field')
    with pytest.raises(oxbridge.DataFormatError) as info:
        oxbridge.process_large_dataset(path)
    assert info.value.line == starts[rows - 1] + 2 and info.value.column is None
    assert "never closed" in str(info.value)
    CASES["big file cut inside a quoted field"] = "DataFormatError"


def test_nul_and_invalid_utf8_deep_in_a_big_file(tmp_path):
    path = tmp_path / "dirty.csv"
    rows = 120_000
    bad = {70_000: '70000,"nul\0 inside\nand \xff",7.25\n', 110_000: "110000,\0,0.25\n"}
    _big_csv(path, rows, bad)
    data = path.read_bytes().replace("\xff".encode(), b"\xff")  # a raw 0xFF byte, not U+00FF
    path.write_bytes(data)
    desc = oxbridge.process_large_dataset(path)
    assert desc.num_rows == rows and desc["note"].count == rows and desc["note"].min_len == 1
    values = [float(f"{i % 1000}.25") for i in range(rows)]
    values[70_000], values[110_000] = 7.25, 0.25
    assert desc["value"].sum == pytest.approx(math.fsum(values), rel=1e-12)
    assert desc["id"].sum == rows * (rows - 1) // 2
    CASES["NUL and invalid UTF-8 deep in a big file"] = "correct result"
