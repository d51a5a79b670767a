"""oxbridge on dask: describe and read files across a cluster, reduce dask arrays.

Work is cut into partitions (`Dataset.partitions`) that pickle in a few hundred bytes and
reopen their file where they run (every worker must see the same path: a shared file
system), so only descriptions, a few KiB each, travel back. Their merge is exact where
the statistics are (counts, sums, minima, maxima; means and variances as Chan et al.)
and within the sketches' bounds elsewhere, the same as one process describing the files.

- `describe(paths_or_glob)`: a `Description` of one or many files, from a graph of
  partition describes and a tree of merges.
- `read(paths_or_glob)`: a `dask.dataframe` of Arrow-backed pandas partitions.
- `stats(x)`: `oxbridge.stats` of a `dask.array`, a reduction on `Stats.merge`.
- `evaluate(expr, **arrays)`: `oxbridge.evaluate` blockwise over dask arrays.

dask is optional: ``pip install 'oxbridge[dask]'``. Without a `client`, work runs on
dask's current scheduler (a `distributed.Client` made earlier, else threads).
"""

from __future__ import annotations

import functools
import glob as _glob
import importlib
import os
from collections.abc import Sequence
from typing import Any, Union

try:
    import dask  # noqa: F401  # the check that dask is there
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError("oxbridge.dask needs dask: pip install 'oxbridge[dask]'") from error

# dask is untyped in parts: its functions are used through `Any`.
_dask: Any = importlib.import_module("dask")

from . import _chain
from ._dataset import Dataset, _checked_bins, _checked_percentiles
from ._description import Description, Span
from ._errors import DataFormatError
from ._expr import Expression
from ._partition import FileChangedError, Partition
from ._sizeof import register as _register_sizeof
from ._stats import Stats

# Also without the entry point (a checkout used without installing the package).
_register_sizeof(importlib.import_module("dask.sizeof").sizeof)

__all__ = ["describe", "describe_graph", "evaluate", "partitions", "read", "stats"]

Paths = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]


def _paths(paths_or_glob: Paths) -> list[str]:
    """The files named: a path, a glob pattern or a sequence of paths, in sorted order
    for a pattern; FileNotFoundError when a pattern matches nothing."""
    if isinstance(paths_or_glob, (str, os.PathLike)):
        text = os.fspath(paths_or_glob)
        if any(c in text for c in "*?[") and not os.path.exists(text):
            found = sorted(_glob.glob(text))
            if not found:
                raise FileNotFoundError(f"no file matches {text!r}")
            return found
        return [text]
    paths = [os.fspath(p) for p in paths_or_glob]
    if not paths:
        raise ValueError("no paths given")
    return paths


def partitions(
    paths_or_glob: Paths, *, target_bytes: int = 256 << 20, types: dict[str, str] | None = None, **open_options: Any
) -> list[Partition]:
    """The partitions of every file (`Dataset.partitions` of each, about `target_bytes`
    each), in order. Files are opened here only to plan: a few KiB of each is read."""
    out: list[Partition] = []
    for path in _paths(paths_or_glob):
        with Dataset(path, **open_options) as dataset:
            out += dataset.partitions(target_bytes=target_bytes, types=types)
    return out


# ---------------------------------------------------------------------------- describe


def _describe_leaf(
    partition: Partition, columns: list[str] | None, settings: tuple[int, tuple[float, ...], int], as_text: list[str]
) -> Any:
    """One partition's description; for a CSV partition after the first, a failure to
    read from its guessed start is handed on (`_chain`), to be read again from where the
    previous partition ended, or raised if its start was right."""
    ddof, percentiles, bins = settings
    try:
        return partition.describe(columns, ddof=ddof, percentiles=percentiles, bins=bins, as_text=as_text)
    except FileChangedError:
        raise
    except DataFormatError as error:
        if partition.row_bytes is not None or partition.index == 0:
            raise
        dataset = partition.dataset()
        indexes = tuple(dataset._column_indexes(columns))
        text = tuple(dataset._column_indexes(as_text)) if as_text else ()
        span = Span(partition, partition.start, indexes, text)
        return _chain.PartitionFailure(span, str(error), settings)


def _merge_items(*groups: Any) -> list[Any]:
    """A tree node: the items of its children (each an item or a list), with every
    partition merged into the one before it where they chain up."""
    items: list[Any] = []
    for group in groups:
        items += group if isinstance(group, list) else [group]
    return _chain.collapse(items)


def _finish(items: Any) -> Description:
    return _chain.combine(items if isinstance(items, list) else [items])


def describe_graph(
    paths_or_glob: Paths,
    columns: Sequence[str] | None = None,
    *,
    target_bytes: int = 256 << 20,
    ddof: int = 1,
    percentiles: Sequence[float] = (0.25, 0.5, 0.75),
    bins: int = 10,
    split_every: int = 8,
    as_text: Sequence[str] = (),
    **open_options: Any,
) -> Any:
    """The graph `describe` computes, as a `dask.delayed` object (to compute with other
    work, or `.visualize()`): one task per partition, then merges `split_every` at a time."""
    if not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an integer of at least 2, got {split_every!r}")
    settings = (ddof, _checked_percentiles(percentiles), _checked_bins(bins))
    wanted = None if columns is None else list(columns)
    parts = partitions(paths_or_glob, target_bytes=target_bytes, **open_options)
    leaf = _dask.delayed(_describe_leaf, pure=True)
    level = [leaf(p, wanted, settings, list(as_text)) for p in parts]
    merge = _dask.delayed(_merge_items, pure=True)
    while len(level) > 1:
        level = [merge(*level[i : i + split_every]) for i in range(0, len(level), split_every)]
    return _dask.delayed(_finish, pure=True)(level[0])


def describe(
    paths_or_glob: Paths,
    columns: Sequence[str] | None = None,
    *,
    target_bytes: int = 256 << 20,
    client: Any = None,
    ddof: int = 1,
    percentiles: Sequence[float] = (0.25, 0.5, 0.75),
    bins: int = 10,
    split_every: int = 8,
    **open_options: Any,
) -> Description:
    """`Dataset.describe` of one file or many (a path, a glob pattern or a list; the
    files must have the same columns), computed on a dask cluster: each partition of
    about `target_bytes` is described where it runs, and the descriptions merge in a
    tree, `split_every` at a time. `client` is a `distributed.Client` (default: dask's
    current scheduler). `open_options` are those of `Dataset.open`.

    The result equals the single-process describe of the data: counts, missing values,
    minima, maxima and integer sums exactly, means and standard deviations to rounding,
    quantiles, distinct counts and top values within their sketches' bounds. A column
    that some partitions read as numbers and others as text is described again as text
    everywhere (one more round, only in that case), as `Dataset.describe` does.

    Raises `FileChangedError` when a file changes between planning and reading.

    Examples
    --------
    >>> import oxbridge, oxbridge.dask, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for i in range(3):
    ...     with open(os.path.join(tmp.name, f"part{i}.csv"), "w") as f:
    ...         _ = f.write("n\\n" + "".join(f"{i * 100 + j}\\n" for j in range(100)))
    >>> d = oxbridge.dask.describe(os.path.join(tmp.name, "part*.csv"), target_bytes=100)
    >>> d["n"].count, d["n"].sum, d["n"].max
    (300, 44850, 299)
    >>> tmp.cleanup()
    """
    options: dict[str, Any] = {"target_bytes": target_bytes, "ddof": ddof, "percentiles": percentiles, "bins": bins}
    options.update(split_every=split_every, **open_options)

    def run(as_text: Sequence[str]) -> Description:
        graph = describe_graph(paths_or_glob, columns, as_text=as_text, **options)
        if client is not None:
            result: Description = client.compute(graph).result()
            return result
        (computed,) = _dask.compute(graph)
        return computed  # type: ignore[no-any-return]

    description = run(())
    mixed = [name for name in description if getattr(description[name], "mixed", False)]
    if mixed:
        description = run(mixed)
    return description


# ---------------------------------------------------------------------------- read


def _read_partition(partition: Partition, columns: list[str] | None) -> Any:
    return partition.to_pandas(columns)


def read(
    paths_or_glob: Paths,
    columns: Sequence[str] | None = None,
    *,
    target_bytes: int = 256 << 20,
    types: dict[str, str] | None = None,
    **open_options: Any,
) -> Any:
    """The rows of one file or many as a `dask.dataframe.DataFrame` (`dd.from_map` over
    the partitions of about `target_bytes`): pandas partitions of Arrow-backed columns
    (`pandas.ArrowDtype`). CSV column types are planned once, from the first file
    (`describe`'s if one has seen it, else its first records) and used for every
    partition; `types` sets a column's ("int64", "float64", "bool", "date", "datetime",
    "text"). A later value that does not fit fails, naming it and the column.

    Needs pandas and pyarrow besides dask.

    Examples
    --------
    >>> import oxbridge.dask, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "t.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("k,v\\n" + "".join(f"{i % 3},{i}\\n" for i in range(90)))
    >>> df = oxbridge.dask.read(path, target_bytes=200)
    >>> df.npartitions > 1, int(df["v"].sum().compute())
    (True, 4005)
    >>> tmp.cleanup()
    """
    dd: Any = importlib.import_module("dask.dataframe")
    pd: Any = importlib.import_module("pandas")
    import pyarrow as pa  # type: ignore[import-untyped]

    paths = _paths(paths_or_glob)
    with Dataset(paths[0], **open_options) as first:
        planned = first.partitions(target_bytes=target_bytes, types=types)
        names = first.columns
        kinds = planned[0].kinds
    parts = list(planned)
    for path in paths[1:]:
        with Dataset(path, **open_options) as dataset:
            if dataset.columns != names:
                raise ValueError(f"{path} has the columns {dataset.columns}, {paths[0]} has {names}")
            same = None if kinds is None else dict(zip(names, map(_kind_name, kinds)))
            parts += dataset.partitions(target_bytes=target_bytes, types=same)
    wanted = None if columns is None else list(columns)
    schema = pa.RecordBatchReader.from_stream(_Columns(parts[0], wanted)).schema
    meta = schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
    read_one = functools.partial(_read_partition, columns=wanted)
    return dd.from_map(read_one, parts, meta=meta, label="oxbridge-read", enforce_metadata=False)


class _Columns:
    """A partition's stream of some columns, for its schema."""

    def __init__(self, partition: Partition, columns: list[str] | None) -> None:
        self.partition, self.columns = partition, columns

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        from . import _arrow

        return _arrow.capsule(_arrow.STREAM, self.partition._arrow_stream(self.columns, None))


def _kind_name(code: int) -> str:
    from ._dataset import _KIND_CODES

    return next(name for name, c in _KIND_CODES.items() if c == code)


# ---------------------------------------------------------------------------- arrays


def _aligned(block: Any) -> Any:
    """`block`, copied if its items are not aligned: distributed hands blocks that
    crossed the network to tasks in place in its receive buffers, at any address."""
    flags = getattr(block, "flags", None)
    if flags is not None and not flags.aligned:
        import numpy as np

        return np.array(block, copy=True)
    return block


def _block_stats(block: Any) -> Stats:
    from ._stats import stats as _stats

    return _stats(_aligned(block))


def _merge_stats(*parts: Stats) -> Stats:
    return Stats.combine(parts)


def stats(x: Any, *, ddof: int = 0, split_every: int = 8, compute: bool = True) -> Any:
    """`oxbridge.stats` of a `dask.array` (every element): each block's statistics where
    it lives, merged in a tree (`Stats.merge`: exact counts, sums, minima and maxima,
    Chan et al.'s variance). `ddof` is as for `oxbridge.stats`; `compute=False` gives
    the `dask.delayed` result instead.

    Examples
    --------
    >>> import dask.array as da, oxbridge.dask
    >>> s = oxbridge.dask.stats(da.arange(1_000_000, chunks=100_000))
    >>> s.count, s.sum, s.max
    (1000000, 499999500000, 999999)
    """
    blocks = [_dask.delayed(_block_stats, pure=True)(b) for b in x.to_delayed().ravel()]
    merge = _dask.delayed(_merge_stats, pure=True)
    while len(blocks) > 1:
        blocks = [merge(*blocks[i : i + split_every]) for i in range(0, len(blocks), split_every)]
    if not blocks:
        blocks = [_dask.delayed(_merge_stats, pure=True)()]
    result = _dask.delayed(_with_ddof, pure=True)(blocks[0], ddof)
    return result.compute() if compute else result


def _with_ddof(s: Stats, ddof: int) -> Stats:
    return Stats.combine([s], ddof=ddof)


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> Expression:
    return Expression(source)


def _evaluate_block(source: str, names: tuple[str, ...], constants: dict[str, Any], *blocks: Any) -> Any:
    from ._expr import evaluate as _evaluate

    return _evaluate(_compiled(source), **{n: _aligned(b) for n, b in zip(names, blocks)}, **constants)


def evaluate(expr: str | Expression, **operands: Any) -> Any:
    """`oxbridge.evaluate(expr, **operands)` blockwise over dask arrays (and numbers): a
    dask array of the result, each block computed where its operands live, in one
    native pass. Arrays are broadcast and their chunks aligned as
    `dask.array.map_blocks` does.

    Examples
    --------
    >>> import dask.array as da, oxbridge.dask
    >>> x = da.arange(10.0, chunks=4)
    >>> oxbridge.dask.evaluate("2*x + y", x=x, y=1.0).compute().tolist()[:4]
    [1.0, 3.0, 5.0, 7.0]
    """
    da: Any = importlib.import_module("dask.array")
    import numpy as np

    source = expr.source if isinstance(expr, Expression) else str(expr)
    arrays = {n: a if isinstance(a, da.Array) else da.asarray(a) for n, a in operands.items() if np.ndim(a) > 0}
    constants = {n: a for n, a in operands.items() if n not in arrays}
    if not arrays:
        raise ValueError("evaluate needs at least one array operand")
    # The result's type, from one element of each operand.
    from ._expr import evaluate as _evaluate

    sample: dict[str, Any] = {n: np.ones(1, dtype=a.dtype) for n, a in arrays.items()}
    dtype = np.asarray(_evaluate(_compiled(source), **sample, **constants)).dtype
    block = functools.partial(_evaluate_block, source, tuple(arrays), constants)
    return da.map_blocks(block, *arrays.values(), dtype=dtype, token="oxbridge-evaluate")
