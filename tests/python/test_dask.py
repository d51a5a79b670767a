"""oxbridge.dask on a real `distributed.LocalCluster` (2 worker processes with nannies):
describes and reads that equal the single-process ones, a worker killed mid-graph, a file
changed between planning and reading, 200 small files, quoted newlines at every cut,
`.npy` partitions in C and Fortran order, and dask arrays.

Oracles: `Dataset.describe` in this process, numpy, `pyarrow.csv.read_csv`.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import time

import dask
import dask.array as da
import distributed
import numpy as np
import pytest
from test_partitions import assert_same_description, quoted_csv, write

import oxbridge
import oxbridge.dask
from oxbridge import Description, FileChangedError


@pytest.fixture(scope="module")
def client():
    # Processes, as a real cluster: everything the graph carries crosses a pickle.
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def describe_here(path: str) -> Description:
    with oxbridge.Dataset.open(path) as ds:
        return ds.describe()


def test_describe_on_the_cluster_equals_the_single_process_describe(client, tmp_path):
    path = quoted_csv(tmp_path / "quoted.csv", rows=30_000)  # a quoted newline in every record
    want = describe_here(path)
    for target in (50_000, 300_000, 10**9):
        got = oxbridge.dask.describe(path, target_bytes=target, client=client)
        assert_same_description(got, want)
    # On dask's current scheduler (this client) without naming it, and a subset of columns.
    got = oxbridge.dask.describe(path, ["price", "id"], target_bytes=100_000)
    assert list(got) == ["price", "id"] and got["id"].sum == want["id"].sum


def test_quoted_fields_longer_than_a_guess_at_every_cut(client, tmp_path):
    long = "text,\n" * 15_000  # 90 KB fields: cuts inside them are guessed wrong
    rows = "".join(f'{i},"{long}"\n{i + 100},short\n' for i in range(16))
    path = write(tmp_path / "long.csv", "id,note\n" + rows)
    want = describe_here(path)
    got = oxbridge.dask.describe(path, target_bytes=40_000, client=client)
    assert got.num_rows == 32
    assert_same_description(got, want)


def test_a_worker_killed_mid_graph_still_gives_the_exact_answer(client, tmp_path):
    path = quoted_csv(tmp_path / "kill.csv", rows=20_000)
    want = describe_here(path)
    with oxbridge.Dataset.open(path) as ds:
        parts = ds.partitions(n=12)
    futures = client.map(oxbridge.Partition.describe, parts, pure=True)
    distributed.wait(futures)
    holders = client.who_has(futures)
    victim = next(iter(holders[futures[0].key]))
    before = set(client.scheduler_info()["workers"])
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while victim in client.scheduler_info()["workers"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert victim not in client.scheduler_info()["workers"], "the worker did not die"
    # The descriptions it held are gone: the scheduler computes them again, anywhere.
    got = client.submit(Description.combine, futures).result(timeout=120)
    assert_same_description(got, want)
    client.wait_for_workers(len(before), timeout=60)  # the nanny restarted it


def test_a_file_changed_between_planning_and_reading_fails_cleanly(client, tmp_path):
    path = write(tmp_path / "changing.csv", "x\n" + "1\n" * 50_000)
    graph = oxbridge.dask.describe_graph(path, target_bytes=20_000)
    write(path, "x\n" + "2\n" * 50_000)  # same size, another version
    os.utime(path, ns=(10**9, 10**9))
    with pytest.raises(FileChangedError, match="changed since"):
        client.compute(graph).result(timeout=120)
    # Planned again, it reads the new version.
    assert oxbridge.dask.describe(path, client=client)["x"].sum == 100_000


def test_two_hundred_small_files(client, tmp_path):
    paths = []
    for i in range(200):
        rows = "".join(f"{i * 50 + j},{(i * 31 + j) % 17},{'abc'[j % 3]}\n" for j in range(50))
        paths.append(write(tmp_path / f"part{i:03d}.csv", "id,k,s\n" + rows))
    want = Description.combine([describe_here(p) for p in paths])
    got = oxbridge.dask.describe(str(tmp_path / "part*.csv"), client=client)
    assert_same_description(got, want)
    assert got.num_rows == 10_000 and got["id"].sum == sum(range(10_000))
    assert got["s"].distinct == 3
    with pytest.raises(FileNotFoundError, match="no file matches"):
        oxbridge.dask.describe(str(tmp_path / "nothing*.csv"), client=client)


@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_partitions_on_the_cluster(client, tmp_path, order):
    rng = np.random.default_rng(3)
    a = np.asarray(rng.standard_normal((200_003, 4)) * 1e6, order=order)
    path = str(tmp_path / f"a{order}.npy")
    np.save(path, a)
    want = describe_here(path)
    got = oxbridge.dask.describe(path, target_bytes=1 << 20, client=client)
    assert_same_description(got, want)
    assert got["3"].mean == pytest.approx(a[:, 3].mean(), rel=1e-12, abs=1e-9)
    frame = oxbridge.dask.read(path, target_bytes=1 << 20)
    assert frame.npartitions == 7
    np.testing.assert_array_equal(frame["2"].compute().to_numpy(), a[:, 2])


def test_read_gives_a_dask_dataframe_of_the_rows(client, tmp_path):
    pytest.importorskip("pyarrow")
    from pyarrow import csv as pacsv

    paths = [quoted_csv(tmp_path / f"r{i}.csv", rows=3000) for i in range(3)]
    frame = oxbridge.dask.read(str(tmp_path / "r*.csv"), target_bytes=60_000)
    assert frame.npartitions > 3
    assert str(frame.dtypes["note"]) == "string[pyarrow]"
    got = frame.compute()
    want = [pacsv.read_csv(p).to_pandas() for p in paths]
    assert len(got) == 9000
    assert got["id"].tolist() == [v for w in want for v in w["id"].tolist()]
    assert got["note"].tolist() == [v for w in want for v in w["note"].tolist()]
    prices = [None if math.isnan(v) else v for w in want for v in w["price"].tolist()]
    assert got["price"].astype(object).where(got["price"].notna(), None).tolist() == prices
    assert int(frame["id"].sum().compute()) == 3 * sum(range(3000))
    only = oxbridge.dask.read(paths[0], ["price"], target_bytes=60_000)
    assert list(only.columns) == ["price"]


def test_stats_and_evaluate_of_dask_arrays(client):
    x = da.random.default_rng(5).standard_normal(2_000_000, chunks=250_000) * 1e3 + 1e9
    values = x.compute()
    s = oxbridge.dask.stats(x, ddof=1)
    assert s.count == values.size and s.max == values.max() and s.min == values.min()
    assert s.mean == pytest.approx(values.mean(), rel=1e-15)
    assert s.std == pytest.approx(values.std(ddof=1), rel=1e-9)
    ints = da.arange(10**6, chunks=10**5)
    assert oxbridge.dask.stats(ints).sum == sum(range(10**6))
    y = da.from_array(np.linspace(-1, 1, 1_000_000), chunks=100_000)
    got = oxbridge.dask.evaluate("where(y > 0, log1p(y), 2 * y)", y=y)
    assert isinstance(got, da.Array) and got.chunks == y.chunks
    with np.errstate(divide="ignore"):
        want = np.where(y.compute() > 0, np.log1p(y.compute()), 2 * y.compute())
    np.testing.assert_allclose(got.compute(), want, rtol=1e-15)
    scaled = oxbridge.dask.evaluate(oxbridge.Expression("a * k + b"), a=y, b=y, k=3.0)
    np.testing.assert_allclose(scaled.compute(), 4 * y.compute(), rtol=1e-15)


def test_handles_size_and_tokens_for_dask(tmp_path):
    path = write(tmp_path / "s.csv", "x\n" + "1\n" * 10_000)
    with oxbridge.Dataset.open(path) as ds:
        parts = ds.partitions(n=4)
        assert dask.sizeof.sizeof(ds) == os.path.getsize(path)
        token = dask.base.tokenize(ds)
        assert dask.base.tokenize(pickle.loads(pickle.dumps(ds))) == token
    assert [dask.sizeof.sizeof(p) for p in parts] == [p.nbytes for p in parts]
    assert sum(p.nbytes for p in parts) == os.path.getsize(path) - 2
    again = oxbridge.dask.partitions(path, target_bytes=5000)
    assert dask.base.tokenize(again[0]) == dask.base.tokenize(pickle.loads(pickle.dumps(again[0])))
    assert dask.base.tokenize(again[0]) != dask.base.tokenize(again[1])


def test_a_partition_failing_from_its_guess_is_resolved_by_the_previous_one(tmp_path):
    from oxbridge import _chain
    from oxbridge._description import Span

    path = write(tmp_path / "f.csv", "a,b\n" + "".join(f"{i},{i}\n" for i in range(1000)))
    with oxbridge.Dataset.open(path) as ds:
        first, second = ds.partitions(n=2)
    described = first.describe()
    # As if `second` had failed to read from a start one byte off the true boundary.
    wrong = Span(second, second.start + 1, (0, 1), (), None, second.start + 1)
    failed = _chain.PartitionFailure(wrong, "bad", (1, (0.5,), 10))
    merged = _chain.combine([described, failed])
    assert merged["a"].sum == sum(range(1000)) and merged.num_rows == 1000
    # A failure whose start was right is a real error.
    real = _chain.PartitionFailure(Span(second, second.start, (0, 1), ()), "the real error", (1, (0.5,), 10))
    with pytest.raises(oxbridge.DataFormatError, match="the real error"):
        _chain.combine([described, real])
    with pytest.raises(oxbridge.DataFormatError, match="the real error"):
        _chain.combine([real])
