"""`Partition`: a part of a file that another process or machine reads on its own, and
whose description merges with the others' into the file's (`Dataset.partitions`)."""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _bindings as b
from ._errors import DataFormatError, check
from ._loader import lib
from ._progress import ProgressArg, Reporter

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ._arrow import ArrowBatch
    from ._dataset import Dataset
    from ._description import Description


class FileChangedError(DataFormatError):
    """The file changed (size, modification time or inode) since the `Dataset` or the
    `Partition` was made from it: reading it now would mix two versions of the data.
    Open the file again (and plan new partitions)."""


class FileIdentity(NamedTuple):
    """What identifies a file's version: size, modification time (ns), inode, device."""

    size: int
    mtime_ns: int
    inode: int
    device: int

    @classmethod
    def _of(cls, dataset_handle: int) -> FileIdentity:
        out = b.oxb_file_identity()
        check(lib.oxb_dataset_file_identity(dataset_handle, ctypes.byref(out)))
        return cls(out.size, out.mtime_ns, out.inode, out.device)


def changed_error(path: str, then: FileIdentity, now: FileIdentity) -> FileChangedError:
    what = [f"{name} {a} -> {b_}" for name, a, b_ in zip(("size", "mtime_ns", "inode", "device"), then, now) if a != b_]
    return FileChangedError(
        f"{path}: the file changed since it was opened for these partitions ({', '.join(what)}); "
        "open it again and plan new partitions"
    )


# Partitions of one file in one process share one open Dataset (one mapping), for as
# long as any of them holds it.
_open: weakref.WeakValueDictionary[tuple[Any, ...], Dataset] = weakref.WeakValueDictionary()
_open_lock = threading.Lock()


def open_dataset(path: str, format: str | None, options: dict[str, Any], identity: FileIdentity) -> Dataset:
    """The Dataset of `path` as it was when `identity` was taken, opened once per process;
    `FileChangedError` when the file is another version now."""
    from ._dataset import Dataset

    key = (path, format, tuple(sorted(options.items())), identity)
    with _open_lock:
        dataset = _open.get(key)
        if dataset is None or dataset.closed:
            dataset = Dataset(path, format, **options)
            now = dataset._identity
            if now != identity:
                dataset.close()
                raise changed_error(path, identity, now)
            _open[key] = dataset
        return dataset


def _native_partition(start: int, stop: int) -> b.oxb_partition:
    part = b.oxb_partition()
    part.start, part.stop = start, stop
    return part


class Partition:
    """One part of a file (`Dataset.partitions`): bytes `start:stop` of a CSV file's data
    or rows `start:stop` of an array, with what reopens the file anywhere (path, format,
    options) and the file's identity when it was planned. Pickles as that, in about 200
    bytes; the file is opened on first use in the process that uses it (once per
    process for all its partitions), and a file changed since is a `FileChangedError`.

    `describe()` gives a `Description` whose merge with the other partitions'
    (`Description.combine`) is the file's: a CSV cut whose record boundary was guessed
    wrong (inside a quoted field with newlines longer than the guess looks around) is
    read from the boundary of the other quote state when its records do not parse, and
    `combine` reads again any partition that does not start where the previous one
    ended, so no record is ever split or counted twice. `iter_batches()`,
    `__arrow_c_stream__`, `to_arrow()`, `to_pandas()` and `iter_chunks()` read its rows.

    Examples
    --------
    >>> import oxbridge, os, pickle, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "n.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("n\\n" + "".join(f"{i}\\n" for i in range(1000)))
    >>> with oxbridge.Dataset.open(path) as ds:
    ...     parts = ds.partitions(n=4)
    >>> parts = pickle.loads(pickle.dumps(parts))  # as another process gets them
    >>> whole = oxbridge.Description.combine([p.describe() for p in parts])
    >>> len(parts), whole["n"].sum, whole.num_rows
    (4, 499500, 1000)
    >>> tmp.cleanup()
    """

    __slots__ = (
        "_dataset",
        "count",
        "format",
        "identity",
        "index",
        "kinds",
        "options",
        "path",
        "row_bytes",
        "start",
        "stop",
    )

    def __init__(
        self,
        path: str,
        format: str | None,
        options: dict[str, Any],
        identity: FileIdentity,
        start: int,
        stop: int,
        index: int,
        count: int,
        kinds: tuple[int, ...] | None,
        row_bytes: int | None,
    ) -> None:
        self.path, self.format, self.options, self.identity = path, format, dict(options), FileIdentity(*identity)
        self.start, self.stop, self.index, self.count = start, stop, index, count
        # CSV: the planned column kinds (OXB_KIND_*), the same for every partition, so
        # that all give one Arrow schema; None for binary files (rows, not bytes).
        self.kinds = None if kinds is None else tuple(kinds)
        self.row_bytes = row_bytes
        self._dataset: Dataset | None = None

    @property
    def unit(self) -> str:
        """ "bytes" for a CSV partition, "rows" for an array's."""
        return "bytes" if self.row_bytes is None else "rows"

    @property
    def nbytes(self) -> int:
        """The bytes of the file this partition reads (what `dask.sizeof` reports)."""
        size = self.stop - self.start
        return size if self.row_bytes is None else size * self.row_bytes

    def dataset(self) -> Dataset:
        """The open Dataset of the partition's file (opened on first use, shared by the
        process's partitions of the file); `FileChangedError` if it changed."""
        dataset = self._dataset
        if dataset is None or dataset.closed:
            dataset = self._dataset = open_dataset(self.path, self.format, self.options, self.identity)
        return dataset

    def _check_unchanged(self, dataset: Dataset) -> None:
        now = FileIdentity._of(dataset._h())
        if now != self.identity:
            raise changed_error(self.path, self.identity, now)

    def _with(self, start: int, stop: int) -> Partition:
        other = Partition(
            self.path,
            self.format,
            self.options,
            self.identity,
            start,
            stop,
            self.index,
            self.count,
            self.kinds,
            self.row_bytes,
        )
        other._dataset = self._dataset
        return other

    # ---------------------------------------------------------------- describe

    def describe(
        self,
        columns: Sequence[str | int] | None = None,
        progress: ProgressArg = False,
        ddof: int = 1,
        *,
        percentiles: Sequence[float] = (0.25, 0.5, 0.75),
        bins: int = 10,
        as_text: Sequence[str | int] = (),
    ) -> Description:
        """`Dataset.describe` of this partition's rows (not `exact_quantiles`, which
        need the whole file). `as_text` names columns to read as text whatever they
        hold: a column other partitions found to be text, so that the merge is the
        file's (`oxbridge.dask.describe` does this for you). The result remembers the
        partition, so `Description.combine` of the partitions' descriptions checks that
        they chain up and reads again any part whose start was guessed wrong."""
        from . import _native_description as native
        from ._dataset import _checked_bins, _checked_percentiles
        from ._description import Span

        settings = native.Settings(ddof, _checked_percentiles(percentiles), _checked_bins(bins))
        dataset = self.dataset()
        indexes = dataset._column_indexes(columns)
        text = dataset._column_indexes(list(as_text)) if as_text else []
        wanted = (ctypes.c_size_t * max(len(indexes), 1))(*indexes)
        text_array = (ctypes.c_size_t * max(len(text), 1))(*text)
        part = _native_partition(self.start, self.stop)
        handle = ctypes.c_uint64()
        read = b.oxb_partition()
        label = f"describe {os.path.basename(self.path)} [{self.start}:{self.stop}]"
        with Reporter(progress, label) as reporter:
            status = lib.oxb_dataset_partition_description(
                dataset._h(),
                ctypes.byref(part),
                wanted,
                len(indexes),
                text_array,
                len(text),
                reporter.native,
                None,
                ctypes.byref(handle),
                ctypes.byref(read),
            )
            reporter.finish(status)
        try:
            description = native.read(handle.value, settings)
        finally:
            lib.oxb_description_close(handle.value)
        # Rewritten in place while read (same size, new mtime): not this version's data.
        self._check_unchanged(dataset)
        description._span = Span(self, read.stop, tuple(indexes), tuple(text), None, read.start)
        return description

    # ---------------------------------------------------------------- rows

    def _arrow_stream(self, columns: Sequence[str | int] | None, rows: int | None) -> Any:
        from . import _arrow
        from ._dataset import _checked_rows

        dataset = self.dataset()
        rows = 0 if rows is None else _checked_rows(rows)
        indexes = dataset._column_indexes(columns)
        wanted = (ctypes.c_size_t * max(len(indexes), 1))(*indexes)
        kinds = None
        if self.kinds is not None:
            kinds = (ctypes.c_uint32 * max(len(indexes), 1))(*(self.kinds[i] for i in indexes))
        part = _native_partition(self.start, self.stop)

        def fill(address: int) -> None:
            out = _arrow.pointer(_arrow.STREAM, address)
            check(
                lib.oxb_dataset_partition_arrow_stream(
                    dataset._h(), ctypes.byref(part), wanted, len(indexes), kinds, rows, b.oxb_progress_fn(), None, out
                )
            )

        return fill

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        """The partition's rows as an "arrow_array_stream" PyCapsule (`pyarrow.table(p)`,
        `polars.DataFrame(p)`), with the column types planned for every partition alike.
        `requested_schema` is not used."""
        from . import _arrow

        return _arrow.capsule(_arrow.STREAM, self._arrow_stream(None, None))

    def _export_to_c(self, out_stream: int, columns: Sequence[str | int] | None = None) -> None:
        """Fills the `struct ArrowArrayStream` at address `out_stream` (pyarrow's
        convention, for interpreters without capsules)."""
        self._arrow_stream(columns, None)(out_stream)

    def iter_batches(self, rows: int = 65536, columns: Sequence[str | int] | None = None) -> Iterator[ArrowBatch]:
        """The partition's rows as Arrow record batches of up to `rows` rows (see
        `Dataset.iter_batches`), with the column types planned for every partition."""
        from . import _arrow

        return _arrow.iter_stream(self._arrow_stream(columns, rows))

    def to_arrow(self, columns: Sequence[str | int] | None = None, *, rows: int | None = None) -> Any:
        """The partition's rows as a `pyarrow.Table` (pyarrow must be installed)."""
        import pyarrow as pa  # type: ignore[import-untyped]

        from . import _arrow

        return _arrow.to_table(pa, self._arrow_stream(columns, rows))

    def to_pandas(self, columns: Sequence[str | int] | None = None) -> Any:
        """The partition's rows as a pandas DataFrame of Arrow-backed columns
        (`pandas.ArrowDtype`: nullable integers, `string[pyarrow]`), as dask wants them."""
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # stubs are optional

        return self.to_arrow(columns).to_pandas(types_mapper=pd.ArrowDtype)

    def iter_chunks(self, rows: int = 65536, columns: Sequence[str | int] | None = None) -> Iterator[NDArray[Any]]:
        """`Dataset.iter_chunks` of the partition's rows: views of the file's mapping
        for arrays, float64 arrays parsed in order for CSV. Needs numpy."""
        import numpy

        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            raise ValueError(f"rows must be a positive integer, got {rows!r}")
        dataset = self.dataset()
        indexes = None if columns is None else dataset._column_indexes(columns)
        if self.row_bytes is not None:
            info = b.oxb_array_info()
            check(lib.oxb_dataset_array(dataset._h(), ctypes.byref(info)))
            yield from dataset._array_chunks(numpy, info, rows, indexes, self.start, self.stop)
        else:
            yield from dataset._csv_chunks(numpy, rows, indexes, self.start, self.stop)

    # ---------------------------------------------------------------- travel

    def _state(self) -> tuple[Any, ...]:
        return (
            self.path,
            self.format,
            self.options,
            tuple(self.identity),
            self.start,
            self.stop,
            self.index,
            self.count,
            self.kinds,
            self.row_bytes,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Partition, self._state())

    def __dask_tokenize__(self) -> object:
        # What the partition reads: the same file version, options and range.
        return ("oxbridge.Partition", self.path, self.format, sorted(self.options.items()), *self._state()[3:6])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partition):
            return NotImplemented
        return self._state()[:6] == other._state()[:6]

    def __hash__(self) -> int:
        return hash((self.path, self.identity, self.start, self.stop))

    def __repr__(self) -> str:
        return (
            f"<oxbridge.Partition {self.index + 1}/{self.count} of {self.path!r}: {self.unit} {self.start}:{self.stop}>"
        )
