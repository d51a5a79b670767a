"""Partitions (`Dataset.partitions`, `Partition`) and handles that travel (pickle, dask
tokens), without dask: the merged describe of a file's partitions is the file's, their
rows are the file's, and a file changed since planning is refused.

Oracles: the single-process `Dataset.describe`, `numpy.load`, `pyarrow.csv.read_csv`.
numpy is imported by the tests that need it: the others also run under PyPy.
"""

from __future__ import annotations

import math
import os
import pickle

import pytest

import oxbridge
from oxbridge import Description, FileChangedError


def write(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)
    return str(path)


def assert_same_description(got: Description, want: Description) -> None:
    """Equal where a merge is exact; to 1e-12 where it rounds; sketches within bounds."""
    assert list(got) == list(want)
    assert got.num_rows == want.num_rows
    for name in want:
        g, w = got[name], want[name]
        assert type(g) is type(w), name
        assert (g.count, g.nan_count) == (w.count, w.nan_count), name
        if isinstance(w, oxbridge.TextStats):
            assert (g.min_len, g.max_len, g.min, g.max, g.mixed) == (w.min_len, w.max_len, w.min, w.max, w.mixed)
            if w.distinct is not None and w.distinct <= 4096:
                assert g.distinct == w.distinct
                assert (g.top_count, g.top_error) == (w.top_count, 0) or g.top_error > 0
            continue
        if isinstance(w, oxbridge.BoolStats):
            assert g.true_count == w.true_count
            continue
        if isinstance(w, oxbridge.TemporalStats):
            assert (g.min, g.max) == (w.min, w.max)
            continue
        assert (g.min, g.max) == (w.min, w.max) or (math.isnan(g.min) and math.isnan(w.min)), name
        if isinstance(w.sum, int):
            assert g.sum == w.sum, name
        else:
            assert g.sum == pytest.approx(w.sum, rel=1e-12, abs=1e-300), name
        if w.count > 1:
            assert g.mean == pytest.approx(w.mean, rel=1e-12, abs=1e-12), name
            assert g.std == pytest.approx(w.std, rel=1e-12, abs=1e-12), name
        if w.distinct <= 4096:
            assert g.distinct == w.distinct, name


# ------------------------------------------------------------------ CSV


def quoted_csv(path, rows=20_000):
    lines = ["id,note,price,flag,day"]
    for i in range(rows):
        note = f'"line {i}\nsecond, ""quoted"" {i % 97}"'
        price = "" if i % 13 == 0 else f"{(i * 7919) % 10007 / 100:.2f}"
        lines.append(f"{i},{note},{price},{'true' if i % 3 else 'false'},2024-01-{1 + i % 28:02d}")
    return write(path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 61])
def test_merged_csv_partitions_equal_the_files_describe(tmp_path, n):
    path = quoted_csv(tmp_path / "quoted.csv")
    with oxbridge.Dataset.open(path) as ds:
        whole = ds.describe()
        parts = ds.partitions(n=n)
    assert len(parts) == n
    assert [p.index for p in parts] == list(range(n))
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
    merged = Description.combine([p.describe() for p in reversed(parts)])  # any order
    assert_same_description(merged, whole)
    assert merged["id"].sum == sum(range(20_000))


def test_a_cut_inside_a_long_quoted_field_is_read_again_from_the_true_boundary(tmp_path):
    # Fields longer than the 64 KiB a guess looks at: cuts inside them are guessed wrong.
    long = "text,\n" * 15_000
    rows = "".join(f'{i},"{long}"\n{i + 100},short\n' for i in range(12))
    path = write(tmp_path / "long.csv", "id,note\n" + rows)
    with oxbridge.Dataset.open(path) as ds:
        whole = ds.describe()
        parts = ds.partitions(n=40)
    described = [p.describe() for p in parts]  # a failing guess is read from the other quote state
    assert any(d._span.first != p.start for d, p in zip(described, parts))
    merged = Description.combine(described)
    assert merged.num_rows == 24
    assert merged["id"].sum == whole["id"].sum == sum(range(12)) + sum(range(100, 112))
    assert_same_description(merged, whole)


def test_partition_rows_equal_the_files(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from pyarrow import csv as pacsv

    path = quoted_csv(tmp_path / "rows.csv", rows=5000)
    want = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    with oxbridge.Dataset.open(path) as ds:
        parts = ds.partitions(n=6)
    tables = [p.to_arrow() for p in parts]
    assert all(t.schema == tables[0].schema for t in tables)
    got = pa.concat_tables(tables)
    assert got.num_rows == 5000
    for name in ["id", "note", "flag"]:
        assert got[name].to_pylist() == want[name].to_pylist()
    assert got["price"].to_pylist() == want["price"].to_pylist()
    # pa.table() reads a partition through its PyCapsule stream.
    assert pa.table(parts[2]).equals(tables[2])
    # float64 chunks of the numeric columns, as Dataset.iter_chunks gives them.
    np = pytest.importorskip("numpy")
    chunks = [c for p in parts for c in p.iter_chunks(rows=700, columns=["id", "price"])]
    stacked = np.concatenate(chunks)
    np.testing.assert_array_equal(stacked[:, 0], np.arange(5000))
    np.testing.assert_array_equal(stacked[:, 1], want["price"].to_numpy(zero_copy_only=False))


def test_a_value_that_does_not_fit_the_planned_type_is_named(tmp_path):
    pytest.importorskip("pyarrow")
    text = "a,b\n" + "".join(f"{i},x\n" for i in range(20_000)) + "oops,y\n"
    path = write(tmp_path / "late.csv", text)
    with oxbridge.Dataset.open(path) as ds:
        parts = ds.partitions(n=4)
        assert ds.dtypes["a"] == "int64"
    with pytest.raises(oxbridge.DataFormatError, match=r"oops.*planned"):
        parts[-1].to_arrow()
    # The type given when planning holds it.
    with oxbridge.Dataset.open(path) as ds:
        parts = ds.partitions(n=4, types={"a": "text"})
    assert parts[-1].to_arrow()["a"].to_pylist()[-1] == "oops"
    with oxbridge.Dataset.open(path) as ds, pytest.raises(ValueError, match="column type"):
        ds.partitions(types={"a": "integer"})


def test_a_column_mixed_across_partitions_is_read_as_text_when_asked(tmp_path):
    text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(30_000)) + "".join(f"w{i},{i}\n" for i in range(30_000))
    path = write(tmp_path / "mixed.csv", text)
    with oxbridge.Dataset.open(path) as ds:
        whole = ds.describe()
        parts = ds.partitions(n=4)
    plain = Description.combine([p.describe() for p in parts])
    assert plain["a"].mixed and plain["a"].distinct is None  # no partial figures
    again = Description.combine([p.describe(as_text=["a"]) for p in parts])
    assert_same_description(again, whole)
    assert again["a"].distinct == whole["a"].distinct == pytest.approx(60_000, rel=0.03)  # HyperLogLog past 4096


def test_bad_partition_arguments_are_refused(tmp_path):
    path = write(tmp_path / "small.csv", "a\n1\n2\n")
    with oxbridge.Dataset.open(path) as ds:
        for bad in (0, -1, 1.5, True):
            with pytest.raises(ValueError, match="n must be"):
                ds.partitions(n=bad)
        with pytest.raises(ValueError, match="target_bytes"):
            ds.partitions(target_bytes=0)
        with pytest.raises(oxbridge.InvalidArgumentError, match="at most"):
            ds.partitions(n=2**40)
        assert len(ds.partitions(n=50)) == 2  # one record per part at most
        assert len(ds.partitions()) == 1
    empty = write(tmp_path / "empty.csv", "a,b\n")
    with oxbridge.Dataset.open(empty) as ds:
        (only,) = ds.partitions(n=3)
        d = only.describe()
    assert d.num_rows == 0 and d["a"].count == 0


# ------------------------------------------------------------------ arrays


@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_partitions_in_either_order(tmp_path, order):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(7)
    a = np.asarray(rng.integers(-(10**12), 10**12, size=(10_001, 3)), order=order)
    path = str(tmp_path / f"m{order}.npy")
    np.save(path, a)
    with oxbridge.Dataset.open(path) as ds:
        whole = ds.describe()
        parts = ds.partitions(target_bytes=24 * 1000)
    assert len(parts) == 11 and parts[-1].stop == 10_001
    assert sum(p.nbytes for p in parts) == a.nbytes
    merged = Description.combine([p.describe() for p in parts])
    assert_same_description(merged, whole)
    assert merged["1"].sum == int(a[:, 1].sum())
    rows = np.concatenate([c for p in parts for c in p.iter_chunks(rows=333)])
    np.testing.assert_array_equal(rows, a)
    pa = pytest.importorskip("pyarrow")
    table = pa.concat_tables([p.to_arrow() for p in parts])
    np.testing.assert_array_equal(table["2"].to_numpy(), a[:, 2])


# ------------------------------------------------------------------ travel


def test_a_dataset_pickles_as_what_reopens_it(tmp_path):
    path = write(tmp_path / "t.tsv", "x;y\n1;NA\n3;4\n")
    with oxbridge.Dataset.open(path, delimiter=";", null_values=["NA"]) as ds:
        data = pickle.dumps(ds)
        token = ds.__dask_tokenize__()
    assert len(data) < 500
    copy = pickle.loads(data)
    assert "_handle" not in copy.__dict__  # not opened yet
    assert copy.__dask_tokenize__() == token
    assert copy.columns == ["x", "y"]
    assert copy.describe()["y"].nan_count == 1
    assert pickle.loads(pickle.dumps(copy)).__dask_tokenize__() == token
    copy.close()


def test_a_file_changed_since_pickling_or_planning_is_refused(tmp_path):
    path = write(tmp_path / "c.csv", "x\n" + "1\n" * 1000)
    with oxbridge.Dataset.open(path) as ds:
        data = pickle.dumps(ds)
        parts = ds.partitions(n=3)
    travelled = pickle.loads(pickle.dumps(parts))
    write(path, "x\n" + "2\n" * 1000)  # same size, another version
    os.utime(path, ns=(1, 1))
    with pytest.raises(FileChangedError, match="changed"):
        _ = pickle.loads(data).columns
    for p in (parts[1], travelled[0]):
        with pytest.raises(FileChangedError, match="mtime_ns"):
            p.describe()
    assert isinstance(FileChangedError("x"), oxbridge.DataFormatError)
    with oxbridge.Dataset.open(path) as ds:
        fresh = Description.combine([p.describe() for p in ds.partitions(n=3)])
    assert fresh["x"].sum == 2000


def test_partitions_and_expressions_pickle_small_and_tokenize_deterministically(tmp_path):
    path = write(tmp_path / "p.csv", "x\n" + "1\n" * 1000)
    with oxbridge.Dataset.open(path) as ds:
        a = ds.partitions(n=2)
        b = ds.partitions(n=2)
    assert a == b and hash(a[0]) == hash(b[0])
    assert [p.__dask_tokenize__() for p in a] == [p.__dask_tokenize__() for p in b]
    assert a[0].__dask_tokenize__() != a[1].__dask_tokenize__()
    assert len(pickle.dumps(a[0])) < 600
    assert pickle.loads(pickle.dumps(a[1])) == a[1]
    e = oxbridge.Expression("where(x > 1, log1p(x), 0)")
    copy = pickle.loads(pickle.dumps(e))
    assert copy.source == e.source and copy.__dask_tokenize__() == e.__dask_tokenize__()
    x = [0.0, 1.0, 2.0, 3.0]
    assert list(oxbridge.evaluate(copy, x=x)) == list(oxbridge.evaluate(e, x=x))


def test_an_accumulator_pickles_its_state():
    acc = oxbridge.Accumulator([1e9 + 1, 1e9 + 2])
    copy = pickle.loads(pickle.dumps(acc))
    copy.push([1e9 + 3])
    s = copy.stats()
    assert s.count == 3 and s.sum == 3 * 10**9 + 6
    assert s.var * 3 / 2 == 1.0  # ddof=1 variance of the three: 1, never the naive formula's noise
    assert acc.stats().count == 2  # the original is unchanged
    ints = oxbridge.Accumulator(list(range(10)))
    assert pickle.loads(pickle.dumps(ints)).stats() == ints.stats()
    with pytest.raises(ValueError, match="state"):
        oxbridge._accumulator._from_state(b"short")


def test_descriptions_of_three_files_merge_with_chan_variance(tmp_path):
    parts = []
    for i, v in enumerate(["1000000001", "1000000002", "1000000003"]):
        with oxbridge.Dataset.open(write(tmp_path / f"{i}.csv", f"v\n{v}\n")) as ds:
            parts.append(ds.describe())
    whole = Description.combine(parts)
    assert whole["v"].std ** 2 == 1.0 and whole["v"].sum == 3000000006
    back = pickle.loads(pickle.dumps(whole))
    assert back["v"].std == whole["v"].std


def test_rows_of_a_partition_cut_inside_a_long_quoted_field(tmp_path):
    pa = pytest.importorskip("pyarrow")
    from pyarrow import csv as pacsv

    long = "text,\n" * 15_000  # inside, lines that parse as records of the right width
    rows = "".join(f'{i},"{long}"\n{i + 100},short\n' for i in range(12))
    path = write(tmp_path / "long_rows.csv", "id,note\n" + rows)
    with oxbridge.Dataset.open(path) as ds:
        parts = ds.partitions(n=40)
    # The planned type (int64) refuses "text": the guess is read from the other quote state.
    got = pa.concat_tables([p.to_arrow() for p in parts])
    want = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    assert got["id"].to_pylist() == want["id"].to_pylist()
    assert got["note"].to_pylist() == want["note"].to_pylist()
