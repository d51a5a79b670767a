"""The main job of `make run`: describe a generated CSV of a few hundred MB, first with the
`oxbridge describe` command (progress bar on a terminal), then through the Python API.

The sample is generated once and cached in build/sample/ (delete it to regenerate).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

import oxbridge

ROWS = 5_000_000
BLOCK = 250_000
CITIES = np.array([b"london", b"berlin", b"madrid", b"vienna", b"prague", b"lisbon", b"dublin", b"warsaw"])
HEADER = b"id,price,quantity,discount,weight,rating,temperature,city\n"


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """The decimal digits of non-negative ints as a (n, width) uint8 array, zero-padded."""
    out = np.empty((values.size, width), dtype=np.uint8)
    v = values.astype(np.int64)
    for i in range(width - 1, -1, -1):
        out[:, i] = 48 + v % 10
        v //= 10
    return out


def fixed(values: np.ndarray, whole: int, frac: int) -> np.ndarray:
    """Signed fixed-point text ("-0123.45") of floats, as a uint8 array per row."""
    scaled = np.rint(np.abs(values) * 10**frac).astype(np.int64)
    body = digits(scaled, whole + frac)
    sign = np.where(values < 0, ord("-"), ord("+")).astype(np.uint8)[:, None]
    point = np.full((values.size, 1), ord("."), dtype=np.uint8)
    return np.hstack([sign, body[:, :whole], point, body[:, whole:]])


def block_text(rng: np.random.Generator, start: int, n: int) -> bytes:
    comma = np.full((n, 1), ord(","), dtype=np.uint8)
    newline = np.full((n, 1), ord("\n"), dtype=np.uint8)
    fields = [
        digits(np.arange(start, start + n), 8),
        fixed(rng.lognormal(3, 1, n).clip(0, 9999), 4, 2),
        digits(rng.integers(0, 1000, n), 4),
        fixed(rng.uniform(0, 0.5, n), 1, 3),
        fixed(rng.normal(50, 15, n).clip(-999, 999), 3, 3),
        fixed(rng.uniform(1, 5, n), 1, 2),
        fixed(rng.normal(12, 8, n).clip(-99, 99), 2, 1),
        CITIES[rng.integers(0, CITIES.size, n)].view(np.uint8).reshape(n, 6),
    ]
    parts = []
    for i, f in enumerate(fields):
        parts.append(f)
        parts.append(newline if i == len(fields) - 1 else comma)
    return np.hstack(parts).tobytes()


def ensure_sample(path: str, rows: int = ROWS) -> None:
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(42)
    partial = path + ".partial"
    with open(partial, "wb") as out:
        out.write(HEADER)
        out.writelines(block_text(rng, start, min(BLOCK, rows - start)) for start in range(0, rows, BLOCK))
    os.replace(partial, path)  # a half-written sample is never mistaken for a whole one
    size = os.path.getsize(path) / 1e6
    print(f"generated {path}: {rows:,} rows, {size:.0f} MB in {time.perf_counter() - started:.1f} s")


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "build", "sample", "sample.csv")
    ensure_sample(path)
    size = os.path.getsize(path)
    print(f"\n$ oxbridge describe {os.path.relpath(path, root)}")
    sys.stdout.flush()
    script = os.path.join(os.path.dirname(sys.executable), "oxbridge")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "oxbridge"]
    subprocess.run(command + ["describe", path], check=True)

    print("\nThe same through the Python API:")
    started = time.perf_counter()
    with oxbridge.Dataset.open(path) as ds:
        desc = ds.describe(progress=sys.stderr.isatty())
    elapsed = time.perf_counter() - started
    price = desc["price"]
    print(
        f"  Dataset.open(...).describe(): {desc.num_rows:,} rows in {elapsed:.2f} s ({size / elapsed / 1e9:.2f} GB/s)"
    )
    print(f"  desc['price'].mean = {price.mean:.4f}, std = {price.std:.4f}, max = {price.max}")
    print(f"  desc.dtypes = {desc.dtypes}")


if __name__ == "__main__":
    main()
