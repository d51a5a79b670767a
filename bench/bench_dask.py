"""oxbridge.dask on a LocalCluster, side by side with dask.dataframe, in one run.

1. Eight CSVs of about 128 MB (`--file-mb`) each, of the dataset benchmark's 11 numeric
   columns (one of full-precision floats), and one file that is all eight together
   (about 1 GB).
2. A `distributed.LocalCluster` of 2 worker processes, 1 thread each (oxbridge's native
   pool is set to 1 thread in each worker: 2 threads in all, as many as dask's).
3. `oxbridge.dask.describe(glob)` against `dask.dataframe.read_csv(glob).describe()` on
   the same cluster: target at least 5x.
4. The 1 GB file in 2, 4 and 8 partitions on the cluster against one process's
   `Dataset.describe()` with 2 threads: the same answer (counts, sums, minima, maxima
   exactly, means and std to 1e-12), within 20% of its time (the cost of the graph).

Times are medians of `--repeat` runs (dask's read_csv: one run, it is slow).
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from bench_dataset import csv_block

from _results import cpu, record

TARGET_VS_DASK = 5.0
TARGET_GRAPH_COST = 1.2
ROWS_PER_MB = 1_000_000 / 103.0  # the benchmark CSV's rows per MB, about


def write_files(directory: str, files: int, rows: int) -> list[str]:
    import numpy as np

    paths = []
    for i in range(files):
        path = os.path.join(directory, f"part{i}.csv")
        paths.append(path)
        if os.path.exists(path):
            continue
        with open(path + ".tmp", "wb") as f:
            for block, first in enumerate(range(0, rows, 500_000)):
                n = min(500_000, rows - first)
                frame = csv_block(np.random.default_rng([2026, i, block]), i * rows + first, n)
                frame.write_csv(f, include_header=block == 0)
        os.replace(path + ".tmp", path)
    return paths


def concatenate(paths: list[str], out: str) -> str:
    if not os.path.exists(out):
        with open(out + ".tmp", "wb") as f:
            for i, path in enumerate(paths):
                with open(path, "rb") as part:
                    if i:
                        part.readline()  # the header once
                    while chunk := part.read(16 << 20):
                        f.write(chunk)
        os.replace(out + ".tmp", out)
    return out


def timed(function: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def same(a: Any, b: Any) -> bool:
    """Equal where a merge is exact, to 1e-12 where it rounds."""
    if list(a) != list(b) or a.num_rows != b.num_rows:
        return False
    for name in a:
        x, y = a[name], b[name]
        if (x.count, x.nan_count, x.min, x.max) != (y.count, y.nan_count, y.min, y.max):
            return False
        if isinstance(x.sum, int) and x.sum != y.sum:
            return False
        for field in ("mean", "std"):
            u, v = getattr(x, field), getattr(y, field)
            if not math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-12):
                return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8, help="CSV files (default 8)")
    parser.add_argument("--file-mb", type=int, default=128, help="MB per file (default 128)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each oxbridge job (median)")
    parser.add_argument("--dir", default=None, help="where the files go (kept between runs when given)")
    args = parser.parse_args()

    import dask.dataframe as dd
    import distributed

    import oxbridge
    import oxbridge.dask

    directory = args.dir or tempfile.mkdtemp(prefix="oxb-bench-dask-")
    os.makedirs(directory, exist_ok=True)
    rows = int(args.file_mb * ROWS_PER_MB)
    start = time.perf_counter()
    paths = write_files(directory, args.files, rows)
    whole = concatenate(paths, os.path.join(directory, "whole.csv"))
    size = os.path.getsize(whole)
    print(
        f"CPU: {cpu()}; {args.files} files of {rows:,} rows, {size / 1e9:.2f} GB in all "
        f"(written in {time.perf_counter() - start:.1f} s)"
    )

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.run(oxbridge.set_num_threads, 1)
        pattern = os.path.join(directory, "part*.csv")
        assert len(glob.glob(pattern)) == args.files

        ox_time, ox = timed(lambda: oxbridge.dask.describe(pattern, client=client), args.repeat)
        dask_time, frame = timed(lambda: dd.read_csv(pattern).describe().compute(), 1)
        ratio = dask_time / ox_time
        ok = "ok" if ratio >= TARGET_VS_DASK else "BELOW TARGET"
        print(
            f"describe of {args.files} files on the cluster: oxbridge.dask {ox_time:.2f} s, "
            f"dask.dataframe read_csv().describe() {dask_time:.2f} s: {ratio:.2f}x "
            f"(target {TARGET_VS_DASK:g}x, {ok})"
        )
        assert ox["id"].count == int(frame.loc["count", "id"]), "the two disagree on the row count"
        record("dask", "describe 8 CSVs (cluster)", "dask.dataframe", ratio, TARGET_VS_DASK)

        oxbridge.set_num_threads(2)
        single_time, single = timed(lambda: oxbridge.Dataset.open(whole).describe(), args.repeat)
        print(f"one process, 2 threads: Dataset.describe() of the {size / 1e9:.2f} GB file {single_time:.2f} s")
        for n in (2, 4, 8):
            target = -(-size // n)
            t, got = timed(
                lambda target=target: oxbridge.dask.describe(whole, target_bytes=target, client=client), args.repeat
            )
            cost = t / single_time
            verdict = "ok" if cost <= TARGET_GRAPH_COST and same(got, single) else "BELOW TARGET"
            print(
                f"  {n} partitions on the cluster: {t:.2f} s, {cost:.2f}x the single process "
                f"(target at most {TARGET_GRAPH_COST:g}x), same answer: {same(got, single)} ({verdict})"
            )
            record("dask", f"1 GB file in {n} partitions", "one process", single_time / t, 1 / TARGET_GRAPH_COST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
