"""The header guess on small real-world-shaped files (tests/data/csv_headers/), against pandas.

The rule (src/dataset/csv/sniff.rs): the first record is a header unless every one of its
cells fits the type its column has in the records that follow, and at least one cell is a
value of a numeric column. A missing-value marker fits any column and a text column takes
any cell, but neither is evidence of data: ties go to "header", as pandas and polars
assume. In a float column, a cell fits when the column shows a value of the same form (an
integer, a decimal, an `inf`). A first record whose cells are all quoted over a column
whose cells never are is a header too.

pandas always takes the first record for the header. Where our rule says "data", the file
is a plain table of values whose first row fits every column: reading it as names would
lose a row and name the columns after values. Those files are listed in DATA with the
reason; for them the oracle is `pandas.read_csv(path, header=None)`.

Header fields are read by the same tokenizer as data fields: checked against Python's csv
module at the end.
"""

import csv
import io
from pathlib import Path

import pandas
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import oxbridge

DIR = Path(__file__).resolve().parents[1] / "data" / "csv_headers"

# The files whose first record is data, and why pandas (which takes it for a header) is
# not followed.
DATA: dict[str, str] = {
    "signed_zeros_unquoted.csv": "+0,-0 are integers over int64 columns (the quoted spelling is a header)",
    "inf_in_the_data.csv": "inf appears in the column below: the first row fits",
    "two_lines_numbers.csv": "two rows of integers: the first is data",
    "empty_first_cells_over_ints.csv": "empty cells are missing values; 3 fits the int64 column",
    "missing_value_in_first_row.csv": "NA is a missing value; 1 and 3 fit their int64 columns",
    "headerless_decimals.csv": "decimals over decimals",
    "headerless_mixed.csv": "1 and 2.5 fit their numeric columns, bob the text one",
    "years_over_years.csv": "years over columns of years: the first row fits as data",
    "exponents_over_decimals.csv": "1e3 is a decimal over a decimal column",
    "quote_all_numbers.csv": "every cell of the file is quoted, so quotes say nothing; the numbers fit",
    "single_column_numbers.csv": "a column of integers",
}

# pandas needs the delimiter of these files (oxbridge detects it). pandas names an empty
# header cell "Unnamed: j"; oxbridge names it j, its position.
DELIMITER = {"decimal_commas.csv": ";", "one_line_no_newline.csv": ";", "years_tab_separated.csv": "\t"}
# Files whose decimal comma oxbridge detects (";" and every number with a comma); pandas
# is told.
DECIMAL_COMMA = {"decimal_commas.csv"}
# pandas reads a record with one field more than the header by making the first column
# the index; index_col=False is its documented switch for trailing delimiters.
TRAILING = {"trailing_delimiter.csv", "trailing_delimiter_crlf.csv"}


def _files() -> list[str]:
    return sorted(p.name for p in DIR.glob("*.csv"))


def test_there_are_enough_files():
    assert len(_files()) >= 30
    assert set(DATA) <= set(_files())


def _pandas_dtype(column: pandas.Series) -> str:
    name = str(column.dtype)
    if name == "float64" and column.isna().any() and (column.dropna() % 1 == 0).all():
        # pandas has no int64 with missing values and reads such a column as float64;
        # oxbridge keeps int64 and counts the missing (as in test_csv_corpus.py).
        return "int64"
    return name if name in ("int64", "float64") else "text"


def _pandas(name: str, header: bool) -> pandas.DataFrame:
    options = {"sep": DELIMITER.get(name, ",")}
    if name in DECIMAL_COMMA:
        options["decimal"] = ","
    if name in TRAILING:
        options["index_col"] = False
    return pandas.read_csv(DIR / name, header=0 if header else None, **options)


@pytest.mark.parametrize("name", _files())
def test_header_guess_against_pandas(name):
    header = name not in DATA
    frame = _pandas(name, header)
    names = [f"{j}" if str(c).startswith("Unnamed: ") or not header else str(c) for j, c in enumerate(frame.columns)]
    with oxbridge.Dataset.open(DIR / name) as ds:
        assert ds.columns == names, name
        assert ds.num_rows == len(frame), name
        dtypes = ds.describe().dtypes
        # Given the answer, the detection agrees with itself.
        with oxbridge.Dataset.open(DIR / name, header=header) as given:
            assert given.columns == names and given.num_rows == ds.num_rows
    if len(frame):  # pandas reads the columns of an empty table as object
        assert list(dtypes.values()) == [_pandas_dtype(frame[c]) for c in frame.columns], name
    if not header:
        # The deliberate difference: pandas names the columns after the first row.
        assert list(pandas.read_csv(DIR / name, sep=DELIMITER.get(name, ",")).columns) != names


def test_the_examples_of_the_rule():
    """The cases the rule is stated with, by name (a change to a file must not hide them)."""
    expected_header = {
        "rownames_year_inf_nan.csv": ["rownames", "year", "inf", "nan"],
        "r_write_csv.csv": ["0", "year", "inf", "nan"],
        "country_years_over_decimals.csv": ["country", "1999", "2000"],
        "country_years_quoted.csv": ["country", "1999", "2000"],
        "country_years_over_ints.csv": ["country", "1999", "2000"],
        "years_over_ints.csv": ["2019", "2020"],
        "world_bank_years.csv": ["Country Name", "Country Code", "1960", "1961", "1962"],
        "signed_zeros_quoted.csv": ["+0", "-0"],
        "null_markers_only.csv": ["nan", "NA"],
        "one_line_numbers.csv": ["1", "2", "3"],
        "trailing_delimiter.csv": ["a", "b"],
    }
    for name, names in expected_header.items():
        with oxbridge.Dataset.open(DIR / name) as ds:
            assert ds.columns == names, name


def test_trailing_delimiter_rows_read_with_the_header_columns(tmp_path):
    with oxbridge.Dataset.open(DIR / "trailing_delimiter_crlf.csv") as ds:
        assert ds.columns == ["a", "b", "c"]
        assert ds.describe()["c"].sum == 7.0
        # The sequential reader (iter_chunks) checks and drops the extra field too.
        assert [c.tolist() for c in ds.iter_chunks(10, columns=["a", "c"])] == [[[1.0, 2.5], [3.0, 4.5]]]
    # Past the sample, a record that breaks the pattern is refused naming its line.
    body = "1,2,\n" * 20_000
    for bad, words in [("3,4\n", "found 2"), ("3,4,5\n", "value in the last"), ("3,4,,\n", "found 4")]:
        path = tmp_path / "t.csv"
        path.write_text("a,b\n" + body + bad)
        with pytest.raises(oxbridge.DataFormatError, match=words) as info:
            oxbridge.process_large_dataset(path)
        assert info.value.line == 20_002
    # Within the sample, a mix of record lengths is the plain ragged error.
    path = tmp_path / "mixed.csv"
    path.write_text("a,b\n1,2,\n3,4\n")
    with pytest.raises(oxbridge.DataFormatError, match="expected 2 fields, found 3") as info:
        oxbridge.process_large_dataset(path)
    assert info.value.line == 2


TRICKY_FIELDS = [
    '"Pedro "the" legend"',
    'a""b',
    '"x""y"',
    '"ab"cd',
    '"a,b"',
    '"multi\nline"',
    '"é ""ü"""',
    '"plain"',
    'q"r',
]


def test_header_fields_are_tokenised_as_data_fields(tmp_path):
    line = ",".join(TRICKY_FIELDS)
    path = tmp_path / "tricky.csv"
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    with open(path, newline="", encoding="utf-8") as f:
        header, row = list(csv.reader(f))
    assert header == row
    with oxbridge.Dataset.open(path, header=True) as ds:
        assert ds.columns == header
        described = ds.describe()
        for name, value in zip(header, row):
            assert (described[name].min_len, described[name].max_len) == (len(value), len(value)), name


_inside = st.lists(st.sampled_from(["a", "é", ",", "\n", '""', '"']), max_size=5).map("".join)


@st.composite
def _lines(draw):
    """A line of fields as people and tools write them: plain (a stray quote inside is
    text), quoted (delimiters, newlines, doubled quotes inside) with or without text after
    the closing quote. Each field ends with its own letter, so the names are distinct."""
    fields = []
    for i in range(draw(st.integers(1, 4))):
        tag = "pqrs"[i]
        kind = draw(st.integers(0, 2))
        if kind == 0:
            fields.append(draw(st.text(st.sampled_from(["a", "é", '"']), max_size=4)).lstrip('"') + tag)
        else:
            inside = draw(_inside).replace('"', '""') if kind == 1 else draw(_inside)
            after = draw(st.text(st.sampled_from(["a", '"']), max_size=3)) if kind == 2 else ""
            fields.append(f'"{inside}{tag}"{after}')
    return ",".join(fields)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=_lines())
def test_generated_header_fields_read_as_csv_reads_them(tmp_path, line):
    """A generated line as the header and as a data row: the names are csv's first row and
    the text lengths its second (when csv reads two equal rows of distinct fields)."""
    text = f"{line}\n{line}\n"
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        assume(False)
    assume(len(rows) == 2 and rows[0] == rows[1])
    header = rows[0]
    # oxbridge trims names and renames empty and repeated ones.
    assume(all(h and h.strip() == h for h in header) and len(set(header)) == len(header))
    path = tmp_path / "g.csv"
    path.write_text(text, encoding="utf-8", newline="")
    with oxbridge.Dataset.open(path, header=True, delimiter=",") as ds:
        assert ds.columns == header
        described = ds.describe()
        for name in header:
            assert (described[name].min_len, described[name].max_len) == (len(name), len(name)), name
