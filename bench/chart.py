"""Draws the ratios recorded by the benchmarks of one `make bench` run into a PNG.

Usage: python bench/chart.py [RESULTS.jsonl] [OUT.png]
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt

from _results import RESULTS, cpu

OUT = Path(__file__).resolve().parent / "results.png"
GROUP_COLOURS = {"arrays": "#4C72B0", "expressions": "#55A868", "files": "#C44E52"}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"{source}: no results; run the benchmarks first")
    labels = [f"{r['job']}  vs {r['versus']}" for r in rows]
    ratios = [r["ratio"] for r in rows]
    height = 0.8 + 0.32 * len(rows)
    fig, ax = plt.subplots(figsize=(10, height))
    y = list(range(len(rows)))[::-1]
    colours = [GROUP_COLOURS.get(r["group"], "#8172B2") for r in rows]
    ax.barh(y, ratios, color=colours, height=0.6)
    for yi, r in zip(y, rows):
        ax.text(max(r["ratio"], r.get("target") or 0) * 1.04, yi, f"{r['ratio']:.2f}x", va="center", fontsize=8)
        if r.get("target"):
            ax.plot([r["target"]] * 2, [yi - 0.35, yi + 0.35], color="black", linewidth=1.5)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel(
        "other tool's time / oxbridge's (memory: polars' peak / ours; .npy: share of read bandwidth)\n"
        "log scale; black tick: the target; dashed: parity"
    )
    measured_on = rows[0].get("cpu", cpu())
    ax.set_title(
        f"oxbridge benchmarks, one run: {measured_on}, Python {platform.python_version()}",
        fontsize=10,
    )
    ax.set_xlim(left=0.2, right=max(ratios) * 1.6)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out} ({len(rows)} results from {source})")


if __name__ == "__main__":
    main()
