"""Each benchmark's ratios as JSON lines, so `bench/chart.py` draws one chart of one run.

A ratio is the other tool's time over oxbridge's (above 1: oxbridge is faster), or for a
throughput figure the share of a reference bandwidth; `target` is the ratio the project aims for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

RESULTS = Path(
    os.environ.get("OXBRIDGE_BENCH_RESULTS", Path(__file__).resolve().parents[1] / "build" / "bench" / "results.jsonl")
)


def record(group: str, job: str, versus: str, ratio: float, target: float | None = None) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = {"group": group, "job": job, "versus": versus, "ratio": round(ratio, 3), "target": target}
    with open(RESULTS, "a") as f:
        f.write(json.dumps(line) + "\n")
