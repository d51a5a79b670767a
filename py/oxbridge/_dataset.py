"""`Dataset`: files far larger than RAM, memory-mapped and described in parallel."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from . import _bindings as b
from ._description import Description
from ._errors import check, remember_path
from ._handle import Handle
from ._loader import lib
from ._partition import FileIdentity, Partition, changed_error
from ._progress import ProgressArg, Reporter

if TYPE_CHECKING:  # numpy and polars are optional at run time (pandas and pyarrow too, untyped)
    import polars
    from numpy.typing import NDArray

    from ._arrow import ArrowBatch


def _encode_path(path: str | bytes | os.PathLike[str]) -> bytes:
    """The path as the library takes it: the file system's bytes, without NUL (ctypes
    would cut the path at a NUL and open another file)."""
    encoded = os.fsencode(os.fspath(path))
    if b"\0" in encoded:
        raise ValueError(f"embedded null byte in the path {path!r}")
    remember_path(encoded)
    return encoded


def _c_text(name: str, text: str) -> bytes:
    """`text` as a C string; a NUL would end it early (ctypes passes the bytes as they are)."""
    if "\0" in text:
        raise ValueError(f"{name} must not contain a NUL character, got {text!r}")
    return text.encode()


class Dataset(Handle):
    """A data file (`.npy`, raw binary or CSV/TSV), memory-mapped, never read into RAM.

    Made by `Dataset.open` (which documents the arguments); `path` is the file's path. A
    context manager: `close()` releases the mapping, and use after it raises
    `ClosedError`. Safe to use from several threads.

    Examples
    --------
    >>> import oxbridge, tempfile, os
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "prices.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("item,price\\napple,1.5\\npear,2.5\\n")
    >>> with oxbridge.Dataset.open(path) as ds:
    ...     desc = ds.describe()
    >>> desc["price"].mean, ds.columns
    (2.0, ['item', 'price'])
    >>> tmp.cleanup()
    """

    _kind = "dataset"

    def __init__(
        self,
        path: Any,
        format: str | None = None,
        *,
        delimiter: str | None = None,
        header: bool | None = None,
        null_values: Sequence[str] | None = None,
        dtype: str | None = None,
        columns: int | None = None,
        decimal: str | None = None,
        comment: str | None = None,
        skip_rows: int = 0,
        encoding: str | None = None,
    ) -> None:
        options = b.oxb_open_options()
        csv = b.oxb_csv_options()
        if decimal is not None:
            if decimal not in (".", ","):
                raise ValueError(f'decimal must be "." or ",", got {decimal!r}')
            csv.decimal = ord(decimal)
        if comment is not None:
            if len(comment) != 1 or not comment.isascii():
                raise ValueError(f"comment must be one ASCII character, got {comment!r}")
            csv.comment = ord(comment)
        if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or not 0 <= skip_rows < 2**63:
            raise ValueError(f"skip_rows must be a non-negative integer, got {skip_rows!r}")
        csv.skip_rows = skip_rows
        if encoding is not None:
            encoded_name = _c_text("encoding", str(encoding))
            csv.encoding = encoded_name
        keep: list[Any] = []
        if format is not None:
            options.format = _c_text("format", format)
        if delimiter is not None:
            if len(delimiter) != 1 or not delimiter.isascii():
                raise ValueError(f"delimiter must be one ASCII character, got {delimiter!r}")
            options.delimiter = ord(delimiter)
        options.has_header = -1 if header is None else int(bool(header))
        if null_values is not None:
            if isinstance(null_values, str):
                raise TypeError("null_values must be a sequence of strings, not one string")
            encoded = [_c_text("null_values entry", str(v)) for v in null_values]
            array = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
            keep.append(array)
            options.null_values = ctypes.cast(array, ctypes.POINTER(ctypes.c_char_p))
            options.null_values_len = len(encoded)
        if dtype is not None:
            options.dtype = _c_text("dtype", str(dtype))
        if columns is not None:
            if columns < 1:
                raise ValueError(f"columns must be at least 1, got {columns}")
            if columns >= 1 << 64:  # a uint64 field: ctypes would wrap it around
                raise ValueError(f"columns must be less than 2**64, got {columns}")
            options.columns = columns
        self.path = os.fspath(path)
        # What reopens the file elsewhere (pickle, partitions).
        self._format = format
        self._options: dict[str, Any] = {
            name: value
            for name, value in (
                ("delimiter", delimiter),
                ("header", header),
                ("null_values", None if null_values is None else tuple(str(v) for v in null_values)),
                ("dtype", None if dtype is None else str(dtype)),
                ("columns", columns),
                ("decimal", decimal),
                ("comment", comment),
                ("skip_rows", skip_rows or None),
                ("encoding", encoding),
            )
            if value is not None
        }
        encoded_path = _encode_path(path)
        super().__init__(
            lambda out: lib.oxb_dataset_open_csv(
                encoded_path, ctypes.byref(options), ctypes.byref(csv), ctypes.byref(out)
            ),
            lib.oxb_dataset_close,
        )
        self._identity = FileIdentity._of(self._h())
        count = ctypes.c_size_t()
        self._call(lib.oxb_dataset_num_columns, ctypes.byref(count))
        info = b.oxb_column_info()
        names, dtypes = [], []
        for i in range(count.value):
            self._call(lib.oxb_dataset_column_info, i, ctypes.byref(info))
            names.append(info.name.decode("utf-8", "replace"))
            dtypes.append(info.dtype.decode())
        self._names: list[str] = names
        self._dtypes: dict[str, str] = dict(zip(names, dtypes))
        self._rows: int | None = None
        # CSV types are inferred (describe() updates them); binary files name theirs.
        self._csv = lib.oxb_dataset_array(self._h(), ctypes.byref(b.oxb_array_info())) == b.OXB_UNSUPPORTED

    def close(self) -> None:
        """Closes the dataset; calling it again does nothing. The file is unmapped at once,
        or, while zero-copy chunks from `iter_chunks` are still alive, when the last goes.

        Examples
        --------
        >>> import numpy as np, oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "data.npy")
        >>> np.save(path, np.arange(3.0))
        >>> ds = oxbridge.Dataset.open(path)
        >>> chunk = next(ds.iter_chunks())
        >>> ds.close()
        >>> ds.closed, chunk.tolist()  # the chunk still reads the mapping
        (True, [0.0, 1.0, 2.0])
        >>> del chunk
        >>> tmp.cleanup()
        """
        super().close()

    # ------------------------------------------------------------ travel

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as what reopens the file (path, format, options) and the file's
        identity; the copy opens the file on first use, and raises `FileChangedError`
        if it is another version by then."""
        pending = self.__dict__.get("_pending")
        if pending is not None:
            return (_reopen, pending)
        return (_reopen, (self.path, self._format, self._options, tuple(self._identity)))

    def __getattr__(self, name: str) -> Any:
        # Only for attributes not set yet: those of an unpickled Dataset, opened now.
        if name.startswith("__") or self.__dict__.get("_pending") is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _reopen_lock:
            # Taken out first: attributes read while opening must not reopen.
            pending = self.__dict__.pop("_pending", None)
            if pending is not None:
                path, format, options, identity = pending
                try:
                    Dataset.__init__(self, path, format, **options)
                except BaseException:
                    self.__dict__["_pending"] = pending
                    raise
                if self._identity != identity:
                    self.close()
                    raise changed_error(self.path, FileIdentity(*identity), self._identity)
        return getattr(self, name)

    def __dask_tokenize__(self) -> object:
        """The same for the same file version and options in any process."""
        path, format, options, identity = self.__reduce__()[1]
        return ("oxbridge.Dataset", path, format, sorted(options.items()), tuple(identity))

    @property
    def identity(self) -> FileIdentity:
        """The file's size, modification time (ns), inode and device when it was opened."""
        return self._identity

    def partitions(
        self, n: int | None = None, target_bytes: int = 256 << 20, *, types: dict[str, str] | None = None
    ) -> list[Partition]:
        """Cuts the file into parts for other processes or machines: `n` of them, or
        (`n` None) as many as make parts of about `target_bytes`; fewer when the data is
        small or a CSV record spans a cut, at least one. CSV parts are byte ranges cut at
        record boundaries (found from the bytes near each cut: planning reads a few KiB
        per part, never the file), array parts are row ranges. Each `Partition` pickles in
        a few hundred bytes and reads its part anywhere the path leads to the same file.

        CSV columns are read into Arrow by every partition with one type: `describe`'s if
        it has seen the file, else that of the first records; `types` sets a column's
        ("int64", "float64", "bool", "date", "datetime" or "text"). Raises
        `FileChangedError` if the file changed since it was opened.

        Examples
        --------
        >>> import numpy as np, oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "m.npy")
        >>> np.save(path, np.arange(10.0))
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     [(p.start, p.stop) for p in ds.partitions(n=3)]
        [(0, 3), (3, 6), (6, 10)]
        >>> tmp.cleanup()
        """
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if not isinstance(target_bytes, int) or isinstance(target_bytes, bool) or target_bytes < 1:
            raise ValueError(f"target_bytes must be a positive integer, got {target_bytes!r}")
        handle = self._h()
        now = FileIdentity._of(handle)
        if now != self._identity:
            raise changed_error(self.path, self._identity, now)
        count = ctypes.c_size_t()
        n_wanted = 0 if n is None else min(n, 2**64 - 1)
        check(lib.oxb_dataset_partitions(handle, target_bytes, n_wanted, None, 0, ctypes.byref(count)))
        ranges = (b.oxb_partition * max(count.value, 1))()
        check(lib.oxb_dataset_partitions(handle, target_bytes, n_wanted, ranges, count.value, ctypes.byref(count)))
        kinds: tuple[int, ...] | None = None
        row_bytes: int | None = None
        if self._csv:
            every = list(range(len(self._names)))
            planned = (ctypes.c_uint32 * max(len(every), 1))()
            wanted = (ctypes.c_size_t * max(len(every), 1))(*every)
            check(lib.oxb_dataset_partition_kinds(handle, wanted, len(every), planned))
            kinds = tuple(planned[: len(every)])
            if types:
                given = list(kinds)
                for column, name in types.items():
                    given[self._column_indexes([column])[0]] = _kind_code(name)
                kinds = tuple(given)
        else:
            info = b.oxb_array_info()
            check(lib.oxb_dataset_array(handle, ctypes.byref(info)))
            row_bytes = info.cols * int(info.typestr.decode()[2:])
        return [
            Partition(
                self.path,
                self._format,
                self._options,
                self._identity,
                r.start,
                r.stop,
                i,
                count.value,
                kinds,
                row_bytes,
            )
            for i, r in enumerate(ranges[: count.value])
        ]

    @classmethod
    def open(cls, path: Any, format: str | None = None, **options: Any) -> Dataset:
        """Opens and maps `path`, reads the column names and guesses their types.

        Parameters
        ----------
        path
            A `str` or path-like object.
        format
            "npy", "raw" or "csv"; detected from the extension and content when None.
        **options
            CSV: `delimiter` (one ASCII character; detected when None), `header`
            (True/False; detected when None), `null_values` (a sequence of texts read as
            missing; default: empty, NA, N/A, NaN, nan, null, NULL, None, #N/A),
            `decimal` ("." or ","; detected when None: "," when the delimiter is ";" and
            the first rows' numbers all have a comma; with ",", a number written with a
            point is a `DataFormatError` naming its line), `comment` (lines starting with
            this character are skipped, as pandas' `comment`), `skip_rows` (lines skipped
            at the start, before the header), `encoding` ("utf-8", "utf-16", "latin-1" or
            "cp1252"; default UTF-8, or UTF-16 when the text starts with its byte-order
            mark). Thousands separators are not read. Raw
            binary: `dtype` (required, e.g. "float64" or "<i4") and `columns` (values
            per row, default 1).

        Raises
        ------
        FileNotFoundError, PermissionError...
            Also `oxbridge.IoError`s, when the file cannot be opened.
        DataFormatError
            When the file is not in the format (e.g. a malformed `.npy` header).
        InvalidArgumentError, UnsupportedError, ValueError, TypeError
            For bad or unsupported options.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "data.txt")
        >>> with open(path, "w") as f:
        ...     _ = f.write("1;2.5\\n3;-\\n")
        >>> with oxbridge.Dataset.open(path, "csv", delimiter=";", header=False,
        ...                            null_values=["-"]) as ds:
        ...     print(ds.columns, ds.describe()["1"].nan_count)
        ['0', '1'] 1
        >>> tmp.cleanup()
        """
        return cls(path, format, **options)

    @property
    def columns(self) -> list[str]:
        """The column names (for files without a header: "0", "1", ...).

        Examples
        --------
        >>> import numpy as np, oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "m.npy")
        >>> np.save(path, np.zeros((4, 2)))
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     ds.columns
        ['0', '1']
        >>> tmp.cleanup()
        """
        return list(self._names)

    @property
    def dtypes(self) -> dict[str, str]:
        """Each column's type: from the file for binary data; for CSV guessed from the
        first records ("int64", "float64", "bool", "date", "datetime" or "text"); `describe()` has the final word.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "mixed.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("id,name,score\\n1,Ada,9.5\\n")
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     ds.dtypes
        {'id': 'int64', 'name': 'text', 'score': 'float64'}
        >>> tmp.cleanup()
        """
        return dict(self._dtypes)

    def count_rows(self, progress: ProgressArg = False) -> int:
        """The number of data rows, header excluded (a parallel scan for CSV, done once).
        `progress` is as for `describe`.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "rows.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("x\\n" + "1\\n" * 1000)
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     ds.count_rows(progress=lambda done, total: None)
        1000
        >>> tmp.cleanup()
        """
        if self._rows is None:
            out = ctypes.c_uint64()
            with Reporter(progress, f"counting rows of {os.path.basename(self.path)}") as reporter:
                status = lib.oxb_dataset_num_rows(self._h(), reporter.native, None, ctypes.byref(out))
                reporter.finish(status)
            self._rows = out.value
        return self._rows

    @property
    def num_rows(self) -> int:
        """The number of data rows, header excluded (`count_rows()`; also `len(ds)`).

        Examples
        --------
        >>> import numpy as np, oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "m.npy")
        >>> np.save(path, np.zeros((4, 2)))
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     ds.num_rows, len(ds)
        (4, 4)
        >>> tmp.cleanup()
        """
        return self.count_rows()

    def __len__(self) -> int:
        return self.num_rows

    def describe(
        self,
        columns: Sequence[str | int] | None = None,
        progress: ProgressArg = False,
        ddof: int = 1,
        *,
        percentiles: Sequence[float] = (0.25, 0.5, 0.75),
        exact_quantiles: bool = False,
        bins: int = 10,
    ) -> Description:
        """Statistics of every column (or of `columns`, by name or position) in one
        parallel pass over the file, in constant memory: count, missing values, distinct
        values, sum, mean, std, min, max, the `percentiles` and a histogram of `bins`
        equal bins for numeric, bool, date and datetime columns (std with `ddof=1`, as
        pandas and polars); for text, distinct values, the most frequent value and its
        count, the smallest and largest value and the lengths. `progress=True` shows a
        bar on stderr; a callable gets `(bytes_done, bytes_total)`. Ctrl-C stops the
        native work promptly.

        Quantiles and histograms come from a KLL sketch: exact while a column holds at
        most 200 values, else the value given for `q` has a true rank within about 1.3%
        of `q` (and each histogram bin's count is within about 1.7% of the values).
        `exact_quantiles=True` makes the percentiles exact (numpy's `quantile`, method
        `linear`) through one or two more passes over the file, never a copy of it in
        memory. Distinct counts are exact up to 4096 distinct values, then a HyperLogLog
        estimate within about 2%.

        Returns a `Description`. Raises `KeyError` for an unknown column name,
        `IndexError` for a position out of range, `ValueError` for percentiles outside 0
        to 1 or bins outside 1 to 2^20, `DataFormatError` for malformed data, and
        whatever a `progress` callable raises.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "trades.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("sym,price,qty\\nA,1.5,10\\nB,2.5,\\nA,4.0,30\\n")
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     desc = ds.describe(["price", 2, "sym"])
        >>> desc["price"].std, desc["qty"].count, desc["qty"].nan_count
        (1.2583057392117916, 2, 1)
        >>> desc["price"].quantiles, desc["sym"].top, desc["sym"].distinct
        ({0.25: 2.0, 0.5: 2.5, 0.75: 3.25}, 'A', 2)
        >>> tmp.cleanup()
        """
        from . import _native_description as native

        settings = native.Settings(ddof, _checked_percentiles(percentiles), _checked_bins(bins))
        indexes = self._column_indexes(columns)
        wanted = (ctypes.c_size_t * max(len(indexes), 1))(*indexes)
        options = b.oxb_describe_options()
        exact = (ctypes.c_double * max(len(settings.percentiles), 1))(*settings.percentiles)
        if exact_quantiles:
            options.exact_quantiles = ctypes.cast(exact, ctypes.c_void_p)
            options.exact_quantiles_len = len(settings.percentiles)
        handle = ctypes.c_uint64()
        with Reporter(progress, f"describe {os.path.basename(self.path)}") as reporter:
            status = lib.oxb_dataset_description(
                self._h(), wanted, len(indexes), ctypes.byref(options), reporter.native, None, ctypes.byref(handle)
            )
            reporter.finish(status)
        try:
            description = native.read(handle.value, settings)
        finally:
            lib.oxb_description_close(handle.value)
        self.count_rows()  # counted by the scan just done: no second pass
        self._dtypes.update(description.dtypes)
        return description

    # ------------------------------------------------------------------ Arrow

    def _arrow_stream(
        self, columns: Sequence[str | int] | None, rows: int | None, progress: ProgressArg, flags: int = 0
    ) -> Callable[[int], None]:
        """What fills a `struct ArrowArrayStream` (at an address) with these rows (`rows`
        None: the library's choice, 0 in the C ABI)."""
        from . import _arrow

        rows = 0 if rows is None else _checked_rows(rows)
        indexes = self._column_indexes(columns)
        wanted = (ctypes.c_size_t * max(len(indexes), 1))(*indexes)

        def fill(address: int) -> None:
            out = _arrow.pointer(_arrow.STREAM, address)
            with Reporter(progress, f"column types of {os.path.basename(self.path)}") as reporter:
                status = lib.oxb_dataset_arrow_stream(
                    self._h(), wanted, len(indexes), rows, flags, reporter.native, None, out
                )
                reporter.finish(status)

        return fill

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        """The rows as an "arrow_array_stream" PyCapsule (the Arrow PyCapsule protocol):
        `pyarrow.table(ds)`, `polars.DataFrame(ds)` and DuckDB's `FROM ds` read the
        Dataset through it, in batches of 65,536 rows. `requested_schema` is not used.
        The stream stays valid after the Dataset is closed."""
        from . import _arrow

        return _arrow.capsule(_arrow.STREAM, self._arrow_stream(None, None, None))

    def __arrow_c_schema__(self) -> object:
        """The columns' Arrow schema as an "arrow_schema" PyCapsule: names and types
        (CSV: the types of the whole file, found by one scan unless `describe` saw them)."""
        from . import _arrow

        indexes = self._column_indexes(None)
        wanted = (ctypes.c_size_t * max(len(indexes), 1))(*indexes)

        def fill(address: int) -> None:
            out = _arrow.pointer(_arrow.SCHEMA, address)
            check(lib.oxb_dataset_arrow_schema(self._h(), wanted, len(indexes), b.oxb_progress_fn(), None, out))

        return _arrow.capsule(_arrow.SCHEMA, fill)

    def _export_to_c(
        self, out_stream: int, columns: Sequence[str | int] | None = None, rows: int | None = None
    ) -> None:
        """Fills the `struct ArrowArrayStream` at address `out_stream` with the rows
        (pyarrow's convention; for interpreters without capsules, such as PyPy)."""
        self._arrow_stream(columns, rows, None)(out_stream)

    def iter_batches(
        self, rows: int = 65536, columns: Sequence[str | int] | None = None, *, progress: ProgressArg = None
    ) -> Iterator[ArrowBatch]:
        """Yields the rows in file order as Arrow record batches of up to `rows` rows, each
        an object with `__arrow_c_array__` (`pyarrow.record_batch(b)` takes it without a
        copy). CSV chunks are parsed in parallel ahead of the consumer; binary columns
        that are contiguous in the file are not copied at all. CSV column types are those
        of the whole file, so no batch meets a value its type cannot hold (`progress`
        reports the scan that finds them when `describe` has not).

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "t.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("n,name\\n1,a\\n2,b\\n3,c\\n")
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     print([b.num_rows for b in ds.iter_batches(rows=2)])
        [2, 1]
        >>> tmp.cleanup()
        """
        from . import _arrow

        return _arrow.iter_stream(self._arrow_stream(columns, rows, progress))

    def to_arrow(
        self, columns: Sequence[str | int] | None = None, *, rows: int | None = None, progress: ProgressArg = None
    ) -> Any:
        """The rows as a `pyarrow.Table` (pyarrow must be installed), made of batches of up
        to `rows` rows (default 65,536; binary columns that are contiguous in the file come
        as one chunk that is a view of the file, made in microseconds). Types: numbers as
        int64/float64 (a binary file's own types), booleans, dates as date32, timestamps as
        timestamp[us] (UTC when the file wrote offsets), text as string; missing values
        are nulls. CSV is read in one pass with the types of the first records, and read
        again with the whole file's types in the rare file where a later value does not
        fit them, so the types are always those of `describe`."""
        import pyarrow as pa  # type: ignore[import-untyped]

        from . import _arrow

        # One pass with the types of the first records (unless describe saw the whole
        # file), then, in the rare file whose later values do not fit them, two.
        sampled = self._arrow_stream(columns, rows, progress, b.OXB_ARROW_SAMPLED_TYPES)
        try:
            return _arrow.to_table(pa, sampled)
        except _arrow.TypesDidNotFit:
            return _arrow.to_table(pa, self._arrow_stream(columns, rows, progress))

    def to_polars(
        self, columns: Sequence[str | int] | None = None, *, rows: int | None = None, progress: ProgressArg = None
    ) -> polars.DataFrame:
        """The rows as a `polars.DataFrame` (polars and pyarrow must be installed), through
        `to_arrow` without another copy of the data."""
        import polars as pl

        frame = pl.from_arrow(self.to_arrow(columns, rows=rows, progress=progress), rechunk=False)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def to_pandas(
        self, columns: Sequence[str | int] | None = None, *, rows: int | None = None, progress: ProgressArg = None
    ) -> Any:
        """The rows as a `pandas.DataFrame` (pandas and pyarrow must be installed), through
        `to_arrow` (`pyarrow.Table.to_pandas`: integer columns with nulls become float64)."""
        return self.to_arrow(columns, rows=rows, progress=progress).to_pandas()

    def iter_chunks(self, rows: int = 65536, columns: Sequence[str | int] | None = None) -> Iterator[NDArray[Any]]:
        """Yields the data in order as numpy arrays of up to `rows` rows: `(rows, columns)`
        arrays, or 1-D arrays for single-column files. For `.npy` and raw files the chunks
        are read-only views of the file's mapping (zero-copy; with `columns` they are
        copies); they stay valid even after `close()`. For CSV they are float64 arrays
        parsed in order (missing values are NaN; text raises DataFormatError naming the
        line and column). Needs numpy. `columns` selects columns by name or position.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "xy.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write("x,y\\n1,2\\n3,4\\n5,\\n")
        >>> with oxbridge.Dataset.open(path) as ds:
        ...     [chunk.tolist() for chunk in ds.iter_chunks(rows=2)]
        [[[1.0, 2.0], [3.0, 4.0]], [[5.0, nan]]]
        >>> tmp.cleanup()
        """
        import numpy

        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            raise ValueError(f"rows must be a positive integer, got {rows!r}")
        indexes = None if columns is None else self._column_indexes(columns)
        info = b.oxb_array_info()
        status = lib.oxb_dataset_array(self._h(), ctypes.byref(info))
        if status == 0:
            yield from self._array_chunks(numpy, info, rows, indexes)
        elif status == b.OXB_UNSUPPORTED:
            yield from self._csv_chunks(numpy, rows, indexes)
        else:
            check(status)

    def _array_chunks(
        self, numpy: Any, info: Any, rows: int, indexes: list[int] | None, start: int = 0, stop: int | None = None
    ) -> Iterator[Any]:
        dtype = numpy.dtype(info.typestr.decode())
        shape = (info.rows, info.cols)
        nbytes: int = info.rows * info.cols * dtype.itemsize
        memory: ctypes.Array[ctypes.c_char] | bytearray = bytearray()
        if nbytes:
            # Every chunk is a view of this buffer: it keeps the file mapped after close().
            memory = self._share_with((ctypes.c_char * nbytes).from_address(info.data or 0))
        # Read-only all the way down: the mapping itself is read-only memory.
        whole = numpy.frombuffer(memoryview(memory).toreadonly(), dtype=dtype)
        whole = whole.reshape(shape, order="F" if info.fortran_order else "C")
        stop = info.rows if stop is None else stop
        for first in range(start, stop, rows):
            self._h()
            chunk = whole[first : min(first + rows, stop)]
            if indexes is not None:
                chunk = chunk[:, indexes]
            yield chunk[:, 0] if info.cols == 1 and indexes is None else chunk

    def _csv_chunks(
        self, numpy: Any, rows: int, indexes: list[int] | None, start: int = 0, stop: int = 2**64 - 1
    ) -> Iterator[Any]:
        wanted = indexes if indexes is not None else list(range(len(self._names)))
        columns = (ctypes.c_size_t * len(wanted))(*wanted)
        cursor = ctypes.c_uint64(start)
        read = ctypes.c_uint64()
        while True:
            out = numpy.empty((rows, len(wanted)), dtype=numpy.float64)
            self._call(
                lib.oxb_dataset_read_rows_until,
                ctypes.byref(cursor),
                stop,
                rows,
                columns,
                len(wanted),
                out.ctypes.data,
                ctypes.byref(read),
            )
            if read.value == 0:
                return
            chunk = out if read.value == rows else out[: read.value].copy()
            yield chunk[:, 0] if len(wanted) == 1 and len(self._names) == 1 and indexes is None else chunk

    def _column_indexes(self, columns: Sequence[str | int] | None) -> list[int]:
        if columns is None:
            return list(range(len(self._names)))
        if isinstance(columns, (str, int)):
            columns = [columns]
        indexes = []
        for c in columns:
            if isinstance(c, str):
                try:
                    indexes.append(self._names.index(c))
                except ValueError:
                    raise KeyError(f"no column {c!r}; the columns are {self._names}") from None
            elif isinstance(c, int) and not isinstance(c, bool):
                if not -len(self._names) <= c < len(self._names):
                    raise IndexError(f"column {c} is out of range for {len(self._names)} columns")
                indexes.append(c % len(self._names))
            else:
                raise TypeError(f"columns are names or positions, got {type(c).__name__}")
        return indexes

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._names)} columns"
        return f"<oxbridge.Dataset {self.path!r} ({state})>"


def process_large_dataset(
    path: Any,
    columns: Sequence[str | int] | None = None,
    progress: ProgressArg = False,
    *,
    ddof: int = 1,
    percentiles: Sequence[float] = (0.25, 0.5, 0.75),
    exact_quantiles: bool = False,
    bins: int = 10,
    **options: Any,
) -> Description:
    """Opens `path`, describes it and closes it: the integration guide's entry point.

    Options are those of `Dataset.open` (format, delimiter, header, null_values, dtype;
    the `columns` of raw files is passed as `raw_columns`); `columns`, `progress`,
    `ddof`, `percentiles`, `exact_quantiles` and `bins` are those of `Dataset.describe`.
    Returns a `Description`.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "values.bin")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(bytes(range(6)))
    ...     desc = oxbridge.process_large_dataset(path, format="raw", dtype="uint8", raw_columns=2)
    >>> desc.num_rows, desc["1"].sum, desc.dtypes["1"]
    (3, 9, 'uint8')
    """
    raw_columns = options.pop("raw_columns", None)
    if raw_columns is not None:
        options["columns"] = raw_columns
    with Dataset.open(path, **options) as ds:
        return ds.describe(columns, progress, ddof, percentiles=percentiles, exact_quantiles=exact_quantiles, bins=bins)


_reopen_lock = threading.Lock()


def _reopen(path: str, format: str | None, options: dict[str, Any], identity: tuple[int, ...]) -> Dataset:
    """An unpickled Dataset: opened on first use (`Dataset.__getattr__`)."""
    dataset = Dataset.__new__(Dataset)
    dataset.path = path
    dataset.__dict__["_pending"] = (path, format, dict(options), tuple(identity))
    return dataset


_KIND_CODES = {
    "int64": b.OXB_KIND_INT,
    "float64": b.OXB_KIND_FLOAT,
    "bool": b.OXB_KIND_BOOL,
    "date": b.OXB_KIND_DATE,
    "datetime": b.OXB_KIND_DATETIME,
    "datetime_utc": b.OXB_KIND_DATETIME_UTC,
    "text": b.OXB_KIND_TEXT,
}


def _kind_code(name: str) -> int:
    try:
        return _KIND_CODES[name]
    except KeyError:
        raise ValueError(f"a column type is one of {sorted(_KIND_CODES)}, got {name!r}") from None


def _checked_percentiles(percentiles: Sequence[float]) -> tuple[float, ...]:
    from ._description import _checked

    return _checked(percentiles)


def _checked_bins(bins: int) -> int:
    from ._description import _bins

    return _bins(bins)


def _checked_rows(rows: object) -> int:
    """Rows per batch: a positive integer."""
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows!r}")
    return rows
