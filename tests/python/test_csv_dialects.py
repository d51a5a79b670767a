"""CSV dialects of real-world exports: decimal commas (given or detected with `;`),
comment lines, leading rows to skip; compressed and UTF-16 files named as what they are.

Oracle: pandas' `read_csv` with the same options (`decimal`, `comment`, `skiprows`).
"""

from __future__ import annotations

import gzip
import pickle
import subprocess
import sys

import pandas as pd
import pytest

import oxbridge
from oxbridge import DataFormatError


def write(path, text, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        f.write(text)
    return str(path)


def european(path, rows=3000):
    lines = ["Datum;Betrag;Menge;Ort"]
    for i in range(rows):
        amount = "" if i % 11 == 0 else f"{(i * 7919) % 100003 / 100:.2f}".replace(".", ",")
        lines.append(f"2024-01-{1 + i % 28:02d};{amount};{i % 13};Stadt {i % 17}")
    return write(path, "\n".join(lines) + "\n")


def assert_numeric_like_pandas(desc, frame, column):
    want = frame[column]
    got = desc[column]
    assert got.count == want.count() and got.nan_count == want.isna().sum()
    assert got.min == want.min() and got.max == want.max()
    assert got.sum == pytest.approx(want.sum(), rel=1e-12)
    assert got.mean == pytest.approx(want.mean(), rel=1e-12)
    assert got.std == pytest.approx(want.std(), rel=1e-12)


@pytest.mark.parametrize("given", [None, ","])
def test_a_decimal_comma_export_reads_as_pandas_reads_it(tmp_path, given):
    path = european(tmp_path / "export.csv")
    options = {} if given is None else {"decimal": given}
    with oxbridge.Dataset.open(path, **options) as ds:
        assert ds.dtypes["Betrag"] == "float64"
        desc = ds.describe()
        copy = pickle.loads(pickle.dumps(ds))
        assert copy.describe()["Betrag"].sum == desc["Betrag"].sum  # the options travel
        copy.close()
    frame = pd.read_csv(path, sep=";", decimal=",")
    assert desc.dtypes["Betrag"] == "float64" and desc.dtypes["Menge"] == "int64"
    assert_numeric_like_pandas(desc, frame, "Betrag")
    assert desc["Ort"].distinct == 17


def test_decimal_comma_rows_in_arrow_and_chunks(tmp_path):
    pa = pytest.importorskip("pyarrow")
    np = pytest.importorskip("numpy")
    path = european(tmp_path / "rows.csv", rows=500)
    frame = pd.read_csv(path, sep=";", decimal=",")
    with oxbridge.Dataset.open(path) as ds:
        table = ds.to_arrow()
        chunks = np.concatenate(list(ds.iter_chunks(rows=128, columns=["Betrag", "Menge"])))
    assert table.schema.field("Betrag").type == pa.float64()
    got = table["Betrag"].to_pandas()
    assert got.isna().tolist() == frame["Betrag"].isna().tolist()
    assert got.fillna(-1).tolist() == frame["Betrag"].fillna(-1).tolist()
    np.testing.assert_array_equal(chunks[:, 0], frame["Betrag"].to_numpy())


def test_a_stray_dot_in_a_decimal_comma_file_names_its_place(tmp_path):
    path = write(tmp_path / "stray.csv", "a;b\n1,5;x\n2,25;y\n3.5;z\n")
    with oxbridge.Dataset.open(path, decimal=",") as ds:
        with pytest.raises(DataFormatError, match=r'line 4.*"a".*decimal point'):
            ds.describe()
        with pytest.raises(DataFormatError, match="decimal point"):
            list(ds.iter_chunks(columns=["a"]))
    # Undetected (the sample has a point), the column is text, as pandas reads it.
    with oxbridge.Dataset.open(path) as ds:
        assert ds.describe().dtypes["a"] == "text"
    assert not pd.api.types.is_numeric_dtype(pd.read_csv(path, sep=";").dtypes["a"])


def test_comment_lines_and_skipped_rows_as_pandas(tmp_path):
    text = "Report of 2024\nsource: the tool\n# columns follow\nx,y\n1,2.5\n# a note\n3,4.5\n\n5,6.5\n"
    path = write(tmp_path / "notes.csv", text)
    with oxbridge.Dataset.open(path, comment="#", skip_rows=2) as ds:
        desc = ds.describe()
        assert ds.columns == ["x", "y"]
    frame = pd.read_csv(path, comment="#", skiprows=2)
    assert desc.num_rows == len(frame) == 3
    for column in ("x", "y"):
        assert_numeric_like_pandas(desc, frame, column)


def test_bad_dialect_options_are_refused(tmp_path):
    path = write(tmp_path / "t.csv", "a;b\n1;2\n")
    for bad in ({"decimal": ";"}, {"decimal": "x"}, {"comment": "##"}, {"comment": '"'}, {"skip_rows": -1}):
        with pytest.raises((ValueError, oxbridge.InvalidArgumentError)):
            oxbridge.Dataset.open(path, **bad)
    with pytest.raises(oxbridge.InvalidArgumentError, match="delimiter"):
        oxbridge.Dataset.open(path, delimiter=",", decimal=",")


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("w.csv.bz2", b"BZh91AY&SY\x00", "bzip2 stream is cut short"),
        ("w.csv.xz", b"\xfd7zXZ\x00\x00\x04", "xz stream is cut short"),
        ("w.zip", b"PK\x03\x04\x14\x00", "zip"),
        ("zip_named.csv", b"PK\x03\x04\x14\x00", "zip archive"),  # by content, not by name
        ("double.csv.gz", gzip.compress(gzip.compress(b"a\n1\n")), "gzip"),  # text that is gzip again
    ],
)
def test_files_that_are_not_plain_text_are_named(tmp_path, name, data, word):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=word) as info:
        oxbridge.Dataset.open(str(path))
    assert "binary file" not in str(info.value)


def test_the_cli_takes_the_dialect_options(tmp_path):
    path = european(tmp_path / "cli.csv", rows=50)
    with open(path) as f:
        text = "junk line\n" + f.read()
    path = write(tmp_path / "cli2.csv", text)
    out = subprocess.run(
        [sys.executable, "-m", "oxbridge", "describe", "--json", "--skip-rows", "1", "--decimal", ",", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import json

    described = json.loads(out)
    frame = pd.read_csv(path, sep=";", decimal=",", skiprows=1)
    assert described["Betrag"]["dtype"] == "float64"
    assert described["Betrag"]["sum"] == pytest.approx(frame["Betrag"].sum(), rel=1e-12)


# ------------------------------------------------------------------ encodings


def people(rows=2000):
    names = ["Zoë", "Ærø", "Łódź", "naïve café", "Ω", "€uro", "plain"]
    lines = ["nom;âge;ville"]
    for i in range(rows):
        lines.append(f"{names[i % len(names)]} {i % 50};{i % 90};{names[(i * 3) % len(names)]}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("encoding", "given"),
    [("utf-16", None), ("utf-16-be", "utf-16be"), ("utf-16", "utf-16"), ("latin-1", "latin-1"), ("cp1252", "cp1252")],
)
def test_text_in_other_encodings_reads_as_its_utf8(tmp_path, encoding, given):
    text = people()
    if encoding in ("latin-1",):
        text = text.replace("Łódź", "Lodz").replace("Ω", "O").replace("€uro", "Euro")
    if encoding == "cp1252":
        text = text.replace("Łódź", "Lodz").replace("Ω", "O")
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + text.encode("utf-16-be")  # with its byte-order mark
    else:
        data = text.encode(encoding)
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    utf8 = write(tmp_path / "people_utf8.csv", text)
    options = {} if given is None else {"encoding": given}
    with oxbridge.Dataset.open(str(path), **options) as ds, oxbridge.Dataset.open(utf8) as plain:
        assert ds.columns == ["nom", "âge", "ville"]
        got, want = ds.describe(), plain.describe()
    for name in ("nom", "ville"):
        g, w = got[name], want[name]
        assert (g.count, g.distinct, g.top, g.top_count, g.min, g.max, g.min_len, g.max_len) == (
            w.count,
            w.distinct,
            w.top,
            w.top_count,
            w.min,
            w.max,
            w.min_len,
            w.max_len,
        )
    assert got["âge"].sum == want["âge"].sum
    frame = pd.read_csv(path, sep=";", encoding=encoding if encoding != "utf-16-be" else "utf-16")
    assert got["ville"].distinct == frame["ville"].nunique()
    assert got["nom"].max_len == frame["nom"].str.len().max()  # characters, not bytes


def test_bad_encodings_name_the_place_or_the_encoding(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_bytes("a,b\n1,2\n".encode("utf-16") + b"x")
    with pytest.raises(DataFormatError, match=r"odd number of bytes: byte \d+"):
        oxbridge.Dataset.open(str(odd)).describe()
    path = write(tmp_path / "plain.csv", "a\n1\n")
    with pytest.raises(oxbridge.UnsupportedError, match="ebcdic"):
        oxbridge.Dataset.open(path, encoding="ebcdic")
