"""Dataset.describe() on a corpus of hand-written tricky CSV files (tests/data/csv/).

Three oracles for every file:
  * a hand-written table (SPEC below): the column names, row count and types a reader
    should find, worked out by hand from the bytes of the file;
  * Python's csv module plus exact arithmetic (`expected_description`): the reference for
    counts, missing values, text lengths and the statistics (Fractions and math.fsum);
  * pandas.read_csv, told to use oxbridge's missing-value markers, for types and stats.
Where oxbridge and pandas legitimately read a value differently, the column is listed in
`Spec.pandas_differs` with the reason, and only the csv/exact oracle applies to it.

Files that must be refused live in tests/data/csv/bad/, with the line (1-based, header
counted) and column the error must name in BAD.

`expected_description` and `assert_matches_expected` are shared with test_dataset.py.
"""

from __future__ import annotations

import collections
import csv
import datetime
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oxbridge
from oxbridge._cli import main as cli_main

from _helpers import json_form

DATA = Path(__file__).resolve().parents[1] / "data" / "csv"
BAD_DIR = DATA / "bad"

# oxbridge's default missing-value markers (documented in Dataset.open / the C header).
DEFAULT_NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A"]


# ---------------------------------------------------------------------------------------
# The oracle: Python's csv module and exact arithmetic.
# ---------------------------------------------------------------------------------------

_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)",
    re.ASCII | re.IGNORECASE,
)


def _as_int(text: str) -> int | None:
    t = text.strip(" ")  # oxbridge, like pandas, ignores spaces around numbers
    if _INT.fullmatch(t):
        v = int(t)
        if -(2**63) <= v < 2**63:
            return v
    return None


def _as_float(text: str) -> float | None:
    t = text.strip(" ")
    return float(t) if _FLOAT.fullmatch(t) else None


def read_records(path: Path, delimiter: str, header: bool) -> tuple[list[str], list[list[str]]]:
    """Header (or [] without one) and data records, as Python's csv module reads them;
    blank lines (which csv returns as []) are skipped, a UTF-8 BOM is dropped."""
    text = path.read_bytes().decode("utf-8")
    text = text.removeprefix("\ufeff")
    records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    if header:
        return records[0], records[1:]
    return [], records


@dataclass
class Expected:
    """What describe() must report for one column."""

    dtype: str  # "int64", "float64", "bool", "date" or "text"
    count: int
    nan_count: int
    values: list = field(default_factory=list)  # the numbers (NaN included) or the texts

    # Numeric columns: exact reference statistics (None when not applicable).
    def numbers(self) -> list:
        return [v for v in self.values if not (isinstance(v, float) and math.isnan(v))]


_BOOLS = {"true": 1, "True": 1, "TRUE": 1, "false": 0, "False": 0, "FALSE": 0}


def _as_date(text: str) -> datetime.date | None:
    t = text.strip(" ")
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", t):
        return None
    try:
        return datetime.date.fromisoformat(t)
    except ValueError:
        return None


def expected_column(
    fields: Sequence[str], nulls: Sequence[str] = DEFAULT_NULLS, quoted_text: Sequence[bool] = ()
) -> Expected:
    """The reading of one column's fields (as the csv module returns them): missing values
    are the exact null markers; the column is int64 if every other value is an int64
    literal, float64 if every value is a number (inf/infinity/nan in any case included),
    else text; a column with no values at all is float64, as in pandas.
    `quoted_text[i]` marks fields that held doubled quotes: text whatever they look like."""
    nulls = set(nulls)
    present = [f for f in fields if f not in nulls]
    missing = len(fields) - len(present)
    forced_text = any(quoted_text[i] for i, f in enumerate(fields) if f not in nulls) if quoted_text else False
    if not present:
        return Expected("float64", 0, missing, [])
    if not forced_text and all(f.strip(" ") in _BOOLS for f in present):
        return Expected("bool", len(present), missing, [_BOOLS[f.strip(" ")] for f in present])
    if not forced_text and all(_as_date(f) is not None for f in present):
        return Expected("date", len(present), missing, [_as_date(f) for f in present])
    if not forced_text and all(_as_int(f) is not None for f in present):
        return Expected("int64", len(present), missing, [_as_int(f) for f in present])
    if not forced_text and all(_as_int(f) is not None or _as_float(f) is not None for f in present):
        values = [float(f.strip(" ")) for f in present]
        nans = sum(1 for v in values if math.isnan(v))
        return Expected("float64", len(present) - nans, missing + nans, values)
    return Expected("text", len(present), missing, list(present))


def expected_description(
    names: Sequence[str], records: Sequence[Sequence[str]], nulls: Sequence[str] = DEFAULT_NULLS
) -> dict[str, Expected]:
    for r in records:
        assert len(r) == len(names), f"the oracle itself found a ragged record: {r!r}"
    return {name: expected_column([r[j] for r in records], nulls) for j, name in enumerate(names)}


def _exact_mean_var(values: Sequence) -> tuple[float, float]:
    exact = [Fraction(v) for v in values]
    n = len(exact)
    mean = sum(exact, Fraction(0)) / n
    var = sum(((x - mean) ** 2 for x in exact), Fraction(0)) / (n - 1) if n > 1 else None
    return float(mean), (math.nan if var is None else float(var))


def assert_numeric_matches(s: oxbridge.Stats, e: Expected, where: str = "") -> None:
    """Stats of a numeric column against exact arithmetic on the oracle's values."""
    assert isinstance(s, oxbridge.Stats), where
    assert (s.count, s.nan_count) == (e.count, e.nan_count), where
    nums = e.numbers()
    if not nums:
        assert s.sum == 0, where
        for v in (s.mean, s.std, s.min, s.max):
            assert math.isnan(v), where
        return
    if e.dtype == "int64":
        # Exact: Python ints, no int64 overflow (signed_ints.csv sums past 2**63).
        assert type(s.sum) is int and s.sum == sum(nums), where
        assert type(s.min) is int and (s.min, s.max) == (min(nums), max(nums)), where
    else:
        assert (s.min, s.max) == (min(nums), max(nums)), where
    infinite = [v for v in nums if math.isinf(v)]
    if infinite:
        signs = {math.copysign(1, v) for v in infinite}
        total = math.nan if len(signs) == 2 else infinite[0]
        np.testing.assert_equal([s.sum, s.mean], [total, total], err_msg=where)
        assert math.isnan(s.std), where  # the spread around an infinite mean is undefined
        return
    mean, var = _exact_mean_var(nums)
    if e.dtype == "float64":
        np.testing.assert_allclose(s.sum, math.fsum(nums), rtol=1e-12, atol=1e-300, err_msg=where)
    np.testing.assert_allclose(s.mean, mean, rtol=1e-12, atol=1e-300, err_msg=where)
    np.testing.assert_allclose(s.var, var, rtol=1e-9, atol=1e-300, equal_nan=True, err_msg=where)
    np.testing.assert_allclose(
        s.std, math.nan if math.isnan(var) else math.sqrt(var), rtol=1e-9, atol=1e-300, equal_nan=True, err_msg=where
    )


def assert_text_matches(s: oxbridge.TextStats, e: Expected, where: str = "") -> None:
    assert isinstance(s, oxbridge.TextStats), where
    assert (s.count, s.nan_count) == (e.count, e.nan_count), where
    lens = [len(v) for v in e.values]  # code points, as Python's len()
    assert (s.min_len, s.max_len) == (min(lens), max(lens)), where
    if any("\ufffd" in v for v in e.values):
        return  # invalid UTF-8: distinct and top count the bytes, which the decoded oracle lost
    counts = collections.Counter(e.values)
    top, freq = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert (s.distinct, s.top, s.top_count, s.top_error) == (len(counts), top, freq, 0), where
    assert (s.min, s.max) == (min(e.values), max(e.values)), where


def assert_matches_expected(desc: oxbridge.Description, expected: dict[str, Expected]) -> None:
    assert list(desc) == list(expected)
    for name, e in expected.items():
        where = f"column {name!r}"
        assert desc.dtypes[name] == e.dtype, where
        if e.dtype == "text":
            assert_text_matches(desc[name], e, where)
        elif e.dtype == "bool":
            trues = sum(e.values)
            expected_bool = oxbridge.BoolStats(e.count, e.nan_count, trues, trues / e.count, len(set(e.values)))
            assert desc[name] == expected_bool, where
        elif e.dtype == "date":
            d = desc[name]
            assert isinstance(d, oxbridge.TemporalStats), where
            assert (d.count, d.nan_count, d.min, d.max) == (e.count, e.nan_count, min(e.values), max(e.values)), where
        else:
            assert_numeric_matches(desc[name], e, where)


# ---------------------------------------------------------------------------------------
# The corpus and what a reader must find in each file (worked out by hand).
# ---------------------------------------------------------------------------------------


@dataclass
class Spec:
    names: list[str]
    rows: int
    dtypes: list[str]
    delimiter: str = ","
    header: bool = True
    options: dict = field(default_factory=dict)
    nulls: list[str] = field(default_factory=lambda: list(DEFAULT_NULLS))
    # column -> why pandas reads it differently (the csv/exact oracle still applies)
    pandas_differs: dict[str, str] = field(default_factory=dict)
    # The decimal separator the file writes (oxbridge detects "," with ";" files).
    decimal: str = "."

    def numbers(self, records: list[list[str]]) -> list[list[str]]:
        """The records with decimal commas made points where a number is written with
        one, as the oracles (float(), pandas' decimal=",") read them."""
        if self.decimal == ".":
            return records
        return [[f.replace(",", ".") if _as_float(f.replace(",", ".")) is not None else f for f in r] for r in records]


I, F, T, B = "int64", "float64", "text", "bool"

SPEC: dict[str, Spec] = {
    # Delimiters inside quotes, in the header too; "" is an (empty, so missing) value.
    "quoted_delimiters.csv": Spec(["name", "city, country", "amount"], 4, [T, T, I]),
    # Quoted LF and CRLF inside fields; a field that is only newlines then text.
    "quoted_newlines.csv": Spec(["id", "note", "score"], 5, [I, T, F]),
    # RFC 4180 doubled quotes.
    "doubled_quotes.csv": Spec(["id", "quote"], 5, [I, T]),
    "crlf.csv": Spec(["a", "b", "c"], 4, [I, T, F]),
    "mixed_line_endings.csv": Spec(["a", "b"], 4, [I, I]),
    # The BOM is not part of the first name.
    "bom.csv": Spec(["name", "value"], 3, [T, I]),
    "bom_headerless.csv": Spec(["0", "1"], 3, [I, I], header=False),
    "no_trailing_newline.csv": Spec(["x", "y"], 3, [I, T]),
    # Blank lines (LF and CRLF) before the header, between and after rows.
    "blank_lines.csv": Spec(["a", "b"], 3, [I, I]),
    # No header: the first row has numbers; names are positions.
    "headerless_numeric.csv": Spec(["0", "1", "2"], 4, [I, F, I], header=False),
    # .tsv: tab by extension; commas and semicolons in values are just text.
    "tabs.tsv": Spec(["name", "value", "note"], 3, [T, I, T], delimiter="\t"),
    # Tab detected in a .csv although the values contain commas.
    "tab_detected.csv": Spec(["a", "b", "c"], 2, [T, I, T], delimiter="\t"),
    # Semicolons with decimal commas: "1,50" is 1.5 (the decimal comma is detected).
    "semicolon.csv": Spec(["product", "price", "qty"], 3, [T, F, I], delimiter=";", decimal=","),
    "pipe.csv": Spec(["a", "b", "c"], 3, [I, T, F], delimiter="|"),
    # Every default missing-value spelling, quoted and not, in int, float and text columns.
    "missing_values.csv": Spec(["id", "num", "flt", "txt"], 12, [I, I, F, T]),
    # Leading +, -0, leading zeros, int64 limits; the sum of b exceeds int64.
    "signed_ints.csv": Spec(["a", "b"], 5, [I, I]),
    "exponents.csv": Spec(["x", "y"], 5, [F, F]),
    "inf_nan_spellings.csv": Spec(
        ["v", "pos", "neg"],
        6,
        [F, F, F],
        pandas_differs={
            "v": "pandas does not read 'NAN' (upper case) as a number, so the column is text "
            "there; oxbridge parses it as NaN (counted in nan_count)"
        },
    ),
    "int_then_float.csv": Spec(["n", "m"], 5, [F, F]),
    "numeric_then_text.csv": Spec(["code", "val"], 5, [T, T]),
    # Accents, CJK, emoji with skin tone and ZWJ family, a combining accent: lengths in
    # code points, as Python's len().
    "unicode.csv": Spec(["città", "naïve", "emoji"], 4, [T, I, T]),
    # Empty and "" are missing; " " and "  two  " are values (spaces kept in lengths).
    "empty_text_fields.csv": Spec(["k", "t"], 5, [I, T]),
    # A blank line in a one-column file is skipped (as pandas does), not a missing value.
    "single_column.csv": Spec(["value"], 3, [I]),
    "single_row.csv": Spec(["a", "b", "c"], 1, [I, T, F]),
    "header_only.csv": Spec(["a", "b", "c"], 0, [F, F, F]),
    "header_only_no_newline.csv": Spec(["alpha", "beta"], 0, [F, F], delimiter=";"),
    # Repeated names get .1 as in pandas; empty names become their position (pandas says
    # "Unnamed: 2"); the trailing delimiter makes an all-missing fifth column.
    "duplicate_names.csv": Spec(["a", "a.1", "2", "b", "4"], 2, [I, I, I, I, F]),
    "spaces_around_numbers.csv": Spec(["a", "b"], 3, [I, F]),
    # Quoted numbers are numbers.
    "quoted_numbers.csv": Spec(["a", "b"], 3, [I, F]),
    "int64_overflow.csv": Spec(
        ["big", "small"],
        2,
        [F, I],
        pandas_differs={"big": "past int64 pandas reads uint64 exactly; oxbridge reads float64"},
    ),
    # A quote inside an unquoted field is an ordinary character (csv and pandas agree).
    "stray_quote.csv": Spec(["id", "size", "note"], 3, [I, T, T]),
    # Text after a closing quote belongs to the value ("ab"cd is abcd, "x"<space> is "x ").
    "quoted_trailing_text.csv": Spec(["a", "b"], 3, [T, I]),
    "booleans.csv": Spec(["flag", "n"], 3, [B, I]),
    # Custom markers replace the defaults: NA is then an ordinary text value.
    "custom_nulls.csv": Spec(
        ["a", "b"], 4, [I, T], options={"null_values": ["-", "?", "missing"]}, nulls=["-", "?", "missing"]
    ),
    # 200 columns: even ints, odd floats, every 7th text (made by a one-off script).
    "wide_200_columns.csv": Spec(
        [f"c{j}" for j in range(200)], 6, [T if j % 7 == 0 else (I if j % 2 == 0 else F) for j in range(200)]
    ),
}

# bad file -> (line the error names (None: the whole file), column it names (None: none))
BAD: dict[str, tuple] = {
    "ragged_short.csv": (3, "c"),  # the first missing column is named
    "ragged_long.csv": (4, None),
    "ragged_after_quoted_newline.csv": (7, "note"),  # quoted newlines count as lines
    "ragged_crlf.csv": (3, "b"),
    "ragged_after_blank_lines.csv": (6, None),  # blank lines count as lines
    "ragged_headerless.csv": (3, "1"),
    "unclosed_quote.csv": (3, None),  # the line where the quote opens
    "unclosed_quote_last_line.csv": (3, None),
    "unclosed_quote_in_header.csv": (1, None),
    "empty.csv": (None, None),
    "whitespace_only.csv": (None, None),
    "bom_only.csv": (None, None),
    # A line of spaces is a record with one field, as Python's csv module reads it (pandas
    # would skip it as blank): only truly empty lines are blank lines.
    "whitespace_line.csv": (3, "b"),
    "nul_bytes.csv": (None, None),  # a NUL byte near the start: binary, not CSV
}

GOOD = sorted(SPEC)


def _path(name: str) -> Path:
    return DATA / name


def _oracle(name: str) -> tuple[list[str], list[list[str]], dict[str, Expected]]:
    spec = SPEC[name]
    header, records = read_records(_path(name), spec.delimiter, spec.header)
    names = spec.names
    return header, records, expected_description(names, spec.numbers(records), spec.nulls)


def _describe(name: str, **kwargs) -> oxbridge.Description:
    with oxbridge.Dataset.open(_path(name), **SPEC[name].options) as ds:
        return ds.describe(**kwargs)


# ---------------------------------------------------------------------------------------
# The corpus itself.
# ---------------------------------------------------------------------------------------


def test_every_file_has_a_spec_and_the_corpus_is_small():
    good = sorted(p.name for p in DATA.iterdir() if p.is_file())
    bad = sorted(p.name for p in BAD_DIR.iterdir() if p.is_file())
    assert good == GOOD
    assert bad == sorted(BAD)
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total < 200_000


@pytest.mark.parametrize("name", GOOD)
def test_the_spec_agrees_with_the_csv_module(name):
    """The hand-written table and Python's csv module agree (checks the oracles)."""
    spec = SPEC[name]
    header, records, expected = _oracle(name)
    assert len(records) == spec.rows
    if spec.header:
        assert len(header) == len(spec.names)
    assert [e.dtype for e in expected.values()] == spec.dtypes


# ---------------------------------------------------------------------------------------
# oxbridge against the oracles.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GOOD)
def test_columns_and_row_count(name):
    spec = SPEC[name]
    with oxbridge.Dataset.open(_path(name), **spec.options) as ds:
        assert ds.columns == spec.names
        assert ds.num_rows == spec.rows
        assert len(ds) == spec.rows
        # Before a full scan the types are guessed from the first 64 KB: all of these files.
        assert list(ds.dtypes.values()) == spec.dtypes


@pytest.mark.parametrize("name", GOOD)
def test_detection_agrees_with_explicit_options(name):
    """Detected delimiter and header give the same result as stating them."""
    spec = SPEC[name]
    detected = _describe(name).to_dict()
    with oxbridge.Dataset.open(_path(name), delimiter=spec.delimiter, header=spec.header, **spec.options) as ds:
        stated = ds.describe().to_dict()
    assert json.dumps(detected, sort_keys=True) == json.dumps(stated, sort_keys=True)


@pytest.mark.parametrize("name", GOOD)
def test_types_counts_and_numeric_stats_match_exact_arithmetic(name):
    spec = SPEC[name]
    _, _, expected = _oracle(name)
    desc = _describe(name)
    assert desc.num_rows == spec.rows
    assert list(desc.dtypes.values()) == spec.dtypes
    assert_matches_expected(desc, expected)


@pytest.mark.parametrize("name", sorted(n for n in GOOD if T in SPEC[n].dtypes))
def test_text_lengths_match_the_csv_module(name):
    _, _, expected = _oracle(name)
    desc = _describe(name)
    for col, e in expected.items():
        if e.dtype == "text":
            assert_text_matches(desc[col], e, f"column {col!r}")


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # pandas std of inf
@pytest.mark.parametrize("name", GOOD)
def test_matches_pandas(name):
    spec = SPEC[name]
    df = pd.read_csv(
        _path(name),
        sep=spec.delimiter,
        decimal=spec.decimal,
        header=0 if spec.header else None,
        keep_default_na=False,
        na_values=spec.nulls,
        encoding="utf-8-sig",
        skip_blank_lines=True,
    )
    desc = _describe(name)
    assert df.shape == (spec.rows, len(spec.names))
    for j, col in enumerate(spec.names):  # by position: pandas names empty headers "Unnamed: j"
        where = f"column {col!r}"
        if col in spec.pandas_differs:
            continue  # the reason is in SPEC; the exact oracle covers the column
        s = df.iloc[:, j]
        ox = desc[col]
        assert (ox.count, ox.nan_count) == (int(s.notna().sum()), int(s.isna().sum())), where
        if len(s) == 0:
            continue  # pandas gives object columns when there are no values to infer from
        kind = s.dtype.kind
        if kind == "b":
            assert desc.dtypes[col] == "bool", where
            assert (ox.true_count, ox.mean) == (int(s.sum()), float(s.mean())), where
            continue
        if kind in "iuf":
            if kind == "i":
                assert desc.dtypes[col] == "int64", where
                # pandas' int64 sum wraps around past 2**63; the values it read, summed exactly:
                assert ox.sum == sum(int(v) for v in s), where
                assert (ox.min, ox.max) == (int(s.min()), int(s.max())), where
            else:
                # pandas turns int columns with missing values into float64; oxbridge keeps int64.
                if desc.dtypes[col] == "int64":
                    assert s.isna().any() and (s.dropna() == s.dropna().round()).all(), where
                else:
                    assert desc.dtypes[col] == "float64", where
                np.testing.assert_allclose(float(ox.sum), s.sum(), rtol=1e-12, equal_nan=True, err_msg=where)
                np.testing.assert_equal([float(ox.min), float(ox.max)], [s.min(), s.max()], err_msg=where)
            np.testing.assert_allclose(ox.mean, s.mean(), rtol=1e-12, equal_nan=True, err_msg=where)
            np.testing.assert_allclose(
                ox.std, s.astype("float64").std(ddof=1), rtol=1e-9, equal_nan=True, err_msg=where
            )
        else:
            assert pd.api.types.is_string_dtype(s.dtype) or kind == "O", where
            assert desc.dtypes[col] == "text", where
            lens = s.dropna().str.len()
            assert (ox.min_len, ox.max_len) == (int(lens.min()), int(lens.max())), where


@pytest.mark.parametrize("name", GOOD)
def test_describing_columns_one_at_a_time_gives_the_same(name):
    spec = SPEC[name]
    whole = _describe(name).to_dict()
    picked = spec.names[::-1][:12]  # reversed order, and a few columns of the wide file
    with oxbridge.Dataset.open(_path(name), **spec.options) as ds:
        part = ds.describe(columns=picked).to_dict()
        assert list(part) == picked
        for i, col in enumerate(picked):
            single = ds.describe(columns=[spec.names.index(col)]).to_dict()
            assert json.dumps(single[col]) == json.dumps(whole[col]) == json.dumps(part[col])


@pytest.mark.parametrize("name", GOOD)
def test_cli_json_is_to_dict_with_null_for_nan(name, capsys):
    spec = SPEC[name]
    desc = _describe(name)
    argv = ["describe", str(_path(name)), "--json", "--no-progress"]
    if "null_values" in spec.options:
        argv.append("--null-values=" + ",".join(spec.options["null_values"]))  # = : values may start with -
    assert set(spec.options) <= {"null_values"}, spec.options
    assert cli_main(argv) == 0
    out = json.loads(capsys.readouterr().out)

    assert out == json_form(desc.to_dict())


# ---------------------------------------------------------------------------------------
# Files that must be refused.
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_raises_data_format_error_naming_the_line(name):
    line, column = BAD[name]
    path = BAD_DIR / name
    with pytest.raises(oxbridge.DataFormatError) as info, oxbridge.Dataset.open(path) as ds:
        ds.describe()
    e = info.value
    assert isinstance(e, ValueError) and isinstance(e, oxbridge.OxbridgeError)
    assert e.path == str(path)
    assert (e.line, e.column) == (line, column), str(e)
    assert str(path) in str(e)
    if line is not None:
        assert f"line {line}" in str(e)
    # The same error from every way in: the row count, and the one-call entry point.
    with pytest.raises(oxbridge.DataFormatError) as again, oxbridge.Dataset.open(path) as ds:
        ds.count_rows()
    assert (again.value.line, again.value.column) == (line, column)
    with pytest.raises(oxbridge.DataFormatError) as once:
        oxbridge.process_large_dataset(path)
    assert (once.value.line, once.value.column) == (line, column)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_on_the_command_line_is_one_line_and_exit_1(name, capsys):
    assert cli_main(["describe", str(BAD_DIR / name), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("oxbridge: ") and name in lines[0]
