"""Describing a compressed CSV: oxbridge side by side with DuckDB and polars, in one run.

1. The dataset benchmark's CSV (11 numeric columns, one of full-precision floats), 3M
   rows by default (`--rows`), compressed with `gzip -6` and `zstd -3` (the tools'
   defaults).
2. Each tool describes each file in a fresh subprocess, 2 threads each (best of
   `--repeat`): `oxbridge.Dataset.open(p).describe()`, DuckDB
   `SUMMARIZE SELECT * FROM read_csv(p)` and polars `read_csv(p).describe()`. Printed:
   time, peak RSS and the ratios against the targets (gzip: 1.5x DuckDB, 2x polars;
   zstd: 2x both; peak RSS at most 64 MiB).
3. The decompression rate oxbridge reaches (compressed bytes over its describe's time)
   against the tools' own (`gzip -dc`, `zstd -dc` to /dev/null) on the same file.
4. Each file read whole into an Arrow table, in a fresh subprocess per run as
   bench_arrow does: `Dataset.open(p).to_arrow()` against `pyarrow.csv.read_csv(p)`
   and polars `read_csv(p)` (no target: issue 14's are for plain CSV).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench_arrow import best as arrow_best
from bench_dataset import ChildFailed, run_child, write_csv

from _results import cpu, record

TARGETS = {"gzip": {"duckdb": 1.5, "polars-describe": 2.0}, "zstd": {"duckdb": 2.0, "polars-describe": 2.0}}
RSS_TARGET_MIB = 64


def best(tool: str, path: str, workdir: str, repeat: int) -> dict:
    runs = [run_child(tool, path, workdir, 2) for _ in range(repeat)]
    fastest = min(runs, key=lambda r: r["seconds"])
    # The child's own VmHWM: wait4's ru_maxrss also counts this parent's memory (the
    # child is the parent's until exec), which holds the generated file's data blocks.
    fastest["peak_mib"] = max((r.get("hwm_kib") or r["wait4_maxrss_kib"]) for r in runs) / 1024
    return fastest


def tool_rate(command: list[str], path: str) -> float:
    start = time.perf_counter()
    with open(path, "rb") as f, open(os.devnull, "wb") as null:
        subprocess.run(command, stdin=f, stdout=null, check=True)
    return os.path.getsize(path) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_000_000, help="CSV rows (default 3,000,000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per tool, the best counts (default 2)")
    parser.add_argument("--dir", default=None, help="where the files go (kept when given)")
    args = parser.parse_args()
    missing = [t for t in ("gzip", "zstd") if shutil.which(t) is None]
    if missing:
        print(f"bench_compressed: skipped, {' and '.join(missing)} not installed")
        return 0

    directory = args.dir or tempfile.mkdtemp(prefix="oxb-bench-compressed-")
    os.makedirs(directory, exist_ok=True)
    plain = os.path.join(directory, f"bench_{args.rows}.csv")
    if not os.path.exists(plain):
        write_csv(plain, args.rows)
    packed = {"gzip": plain + ".gz", "zstd": plain + ".zst"}
    if not os.path.exists(packed["gzip"]):
        subprocess.run(
            f"gzip -6 -c '{plain}' > '{packed['gzip']}.tmp' && mv '{packed['gzip']}.tmp' '{packed['gzip']}'",
            shell=True,
            check=True,
        )
    if not os.path.exists(packed["zstd"]):
        subprocess.run(["zstd", "-q", "-f", "-3", plain, "-o", packed["zstd"]], check=True)
    print(
        f"CPU: {cpu()}; {args.rows:,} rows, {os.path.getsize(plain) / 1e6:.0f} MB of text; "
        f"gzip {os.path.getsize(packed['gzip']) / 1e6:.0f} MB, zstd {os.path.getsize(packed['zstd']) / 1e6:.0f} MB"
    )

    with tempfile.TemporaryDirectory() as workdir:
        for codec, path in packed.items():
            results = {}
            for tool in ("oxbridge", "duckdb", "polars-describe"):
                try:
                    results[tool] = best(tool, path, workdir, args.repeat)
                except ChildFailed as e:
                    print(f"  {tool} failed: {e}")
            ox = results.get("oxbridge")
            if ox is None:
                return 1
            rss = ox["peak_mib"]
            print(
                f"{codec}: oxbridge describe {ox['seconds']:.2f} s, peak RSS {rss:.0f} MiB "
                f"(target at most {RSS_TARGET_MIB}: {'ok' if rss <= RSS_TARGET_MIB else 'ABOVE'})"
            )
            for tool, target in TARGETS[codec].items():
                other = results.get(tool)
                if other is None:
                    continue
                ratio = other["seconds"] / ox["seconds"]
                print(
                    f"  vs {tool}: {other['seconds']:.2f} s, {other['peak_mib']:.0f} MiB: "
                    f"{ratio:.2f}x (target {target:g}x, {'ok' if ratio >= target else 'BELOW TARGET'})"
                )
                assert other.get("rows") in (None, ox.get("rows")), f"{tool} counts {other.get('rows')} rows"
                record("compressed", f"describe .{'gz' if codec == 'gzip' else 'zst'}", tool, ratio, target)
            reference = tool_rate([codec, "-dc"], path)
            ours = os.path.getsize(path) / ox["seconds"]
            print(
                f"  decompression: oxbridge reads {ours / 1e6:.0f} MB/s of {codec} while describing; "
                f"`{codec} -dc > /dev/null` {reference / 1e6:.0f} MB/s ({ours / reference:.2f}x)"
            )
    for codec, path in packed.items():
        print(f"{codec} to an Arrow table:", flush=True)
        tables = {}
        for tool in ("oxbridge", "pyarrow", "polars"):
            try:
                tables[tool] = arrow_best(tool, path, 2, args.repeat)
            except RuntimeError as e:
                print(f"  {tool} failed: {str(e).splitlines()[0]}")
        if "oxbridge" not in tables:
            return 1
        ox = tables["oxbridge"]
        for tool in ("pyarrow", "polars"):
            if tool in tables:
                ratio = tables[tool]["seconds"] / ox["seconds"]
                print(f"  vs {tool}: {ratio:.2f}x the time")
                record("compressed", f"to_arrow .{'gz' if codec == 'gzip' else 'zst'}", tool, ratio, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
