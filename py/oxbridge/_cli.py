"""The `oxbridge` command line: `oxbridge describe FILE`."""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oxbridge", description="Fast statistics of data files larger than RAM.")
    commands = parser.add_subparsers(dest="command", required=True)
    describe = commands.add_parser("describe", help="per-column statistics of a .npy, raw binary or CSV/TSV file")
    describe.add_argument("file", help="the file to describe")
    describe.add_argument("--columns", help="comma-separated column names (default: all)")
    describe.add_argument("--format", choices=["npy", "raw", "csv"], help="the file format (default: detected)")
    describe.add_argument("--delimiter", help="CSV delimiter (default: detected); 'tab' for a tab")
    header = describe.add_mutually_exclusive_group()
    header.add_argument(
        "--header", dest="header", action="store_true", default=None, help="the first CSV row is a header"
    )
    header.add_argument("--no-header", dest="header", action="store_false", help="the first CSV row is data")
    describe.add_argument(
        "--null-values",
        metavar="LIST",
        help="comma-separated texts read as missing in CSV (default: empty, NA, N/A, NaN, nan, "
        "null, NULL, None, #N/A); an empty item is the empty field",
    )
    describe.add_argument(
        "--decimal", choices=[".", ","], help="CSV decimal separator (default: detected; ',' only with ';' files)"
    )
    describe.add_argument("--comment", metavar="CHAR", help="skip CSV lines that start with this character")
    describe.add_argument("--skip-rows", type=int, metavar="N", help="skip N lines at the start of a CSV file")
    describe.add_argument(
        "--encoding", help="CSV text encoding: utf-8, utf-16, latin-1 or cp1252 (default: UTF-8, UTF-16 by its BOM)"
    )
    describe.add_argument("--dtype", help="raw binary: element type, e.g. float64 or <i4")
    describe.add_argument("--raw-columns", type=int, help="raw binary: values per row (default 1)")
    describe.add_argument(
        "--percentiles",
        metavar="LIST",
        help="comma-separated probabilities from 0 to 1 whose quantiles to show (default: 0.25,0.5,0.75)",
    )
    describe.add_argument(
        "--exact-quantiles",
        action="store_true",
        help="exact quantiles (numpy's linear method) through extra passes over the file",
    )
    describe.add_argument("--bins", type=int, default=10, help="histogram bins per column (default 10)")
    describe.add_argument(
        "--ascii", action="store_true", help="draw the histograms in ASCII (default: when the terminal needs it)"
    )
    describe.add_argument("--json", action="store_true", help="print JSON (every figure) instead of a table")
    progress = describe.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: only on a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show a progress bar")
    return parser


def describe(args: argparse.Namespace) -> int:
    from . import Dataset
    from ._pictures import ASCII_ENV

    options = {}
    if args.delimiter is not None:
        options["delimiter"] = "\t" if args.delimiter in ("tab", "\\t") else args.delimiter
    if args.header is not None:
        options["header"] = args.header
    if args.null_values is not None:
        options["null_values"] = args.null_values.split(",")
    for name in ("decimal", "comment", "skip_rows", "encoding"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.dtype is not None:
        options["dtype"] = args.dtype
    if args.raw_columns is not None:
        options["columns"] = args.raw_columns
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    percentiles: tuple[float, ...] = (0.25, 0.5, 0.75)
    if args.percentiles:
        try:
            percentiles = tuple(float(p) for p in args.percentiles.split(","))
        except ValueError:
            raise ValueError(f"--percentiles must be numbers from 0 to 1, got {args.percentiles!r}") from None
    if args.ascii:
        os.environ[ASCII_ENV] = "1"
    started = time.perf_counter()
    with Dataset.open(args.file, args.format, **options) as ds:
        desc = ds.describe(
            columns,
            progress=show_progress,
            percentiles=percentiles,
            exact_quantiles=args.exact_quantiles,
            bins=args.bins,
        )
    elapsed = time.perf_counter() - started
    if args.json:
        print(desc.to_json())
    else:
        rows = "" if desc.num_rows is None else f"{desc.num_rows:,} rows, "
        print(f"{args.file}: {rows}{len(desc)} columns, described in {elapsed:.2f} s")
        print(desc)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit code (1 with a one-line message on bad
    input or a missing file)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "describe":
            return describe(args)
    except KeyboardInterrupt:
        print("oxbridge: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, KeyError, IndexError, TypeError, NotImplementedError) as error:
        message = str(error)
        if isinstance(error, OSError) and error.filename and error.strerror:
            message = f"{error.filename}: {error.strerror}" if error.filename not in error.strerror else error.strerror
        print(f"oxbridge: {message}", file=sys.stderr)
        return 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
