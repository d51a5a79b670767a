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


def cpu() -> str:
    """The CPU the numbers were measured on and its widest vector instructions, e.g.
    "AMD EPYC (avx2, 2 cores)": machines of one name differ (AVX2-only EPYC, AVX-512 Xeon),
    and ratios are only comparable on the same kind."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        import platform

        model = platform.processor() or platform.machine()
    widest = next((f for f in ("avx512f", "avx2", "sse4_1") if f in flags), "baseline")
    try:  # the path oxbridge's kernels take (OXBRIDGE_CPU may force a narrower one)
        import oxbridge

        path = f", oxbridge path {oxbridge.cpu_path()}"
    except ImportError:
        path = ""
    return f"{model} ({widest.replace('avx512f', 'avx512')}, {os.cpu_count()} cores{path})"


def record(group: str, job: str, versus: str, ratio: float, target: float | None = None) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    line = {"group": group, "job": job, "versus": versus, "ratio": round(ratio, 3), "target": target, "cpu": cpu()}
    with open(RESULTS, "a") as f:
        f.write(json.dumps(line) + "\n")
