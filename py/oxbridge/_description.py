"""`Description`: the per-column statistics of a file, and how they print and export."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple, Union

from . import _pictures
from ._stats import Histogram, Stats


@dataclass(frozen=True)
class TextStats:
    """Statistics of a text column: values present, missing values, the fewest and most
    characters in a value, the number of distinct values (`distinct`: exact up to 4096,
    then a HyperLogLog estimate within about 2%), the most frequent value and its count
    (`top`, `top_count`: exact while at most 1024 distinct values were seen, then a
    Misra-Gries count that falls short by at most `top_error`), and the smallest and
    largest value in code-point order (`min`, `max`: Python's `min` and `max` of the
    strings). `Dataset.describe` gives them for text columns.

    `mixed` is True for a column merged from parts of which some read it as numbers,
    dates or booleans (`Description.merge` of files where only some hold text there):
    such parts kept no text sketches, so `distinct`, `top`, `top_count`, `min` and `max`
    are None rather than figures of only some of the data; describe the whole data
    for them.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "names.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("name\\nAda\\nNA\\nGrace\\n")
    ...     oxbridge.process_large_dataset(path)["name"]
    TextStats(count=2, nan_count=1, min_len=3, max_len=5, distinct=2, top='Ada', top_count=1, top_error=0, min='Ada', max='Grace')
    """

    count: int
    nan_count: int
    min_len: int
    max_len: int
    distinct: int | None = None
    top: str | None = None
    top_count: int | None = None
    top_error: int = 0
    min: str | None = None
    max: str | None = None
    mixed: bool = field(default=False, repr=False)


@dataclass(frozen=True)
class BoolStats:
    """Statistics of a boolean column (`true`/`false`, `True`/`False`, `TRUE`/`FALSE`):
    values present, missing values, how many are true, the fraction true (`mean`; NaN
    when no value is present) and how many distinct values there are (0, 1 or 2). `Dataset.describe` gives them for bool columns.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "flags.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("flag\\ntrue\\nFALSE\\nNA\\nTrue\\ntrue\\n")
    ...     oxbridge.process_large_dataset(path)["flag"]
    BoolStats(count=4, nan_count=1, true_count=3, mean=0.75, distinct=2)
    """

    count: int
    nan_count: int
    true_count: int
    mean: float
    distinct: int | None = None


_EPOCH_DATE = datetime.date(1970, 1, 1)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class TemporalStats:
    """Statistics of a date or datetime column: values present, missing values, and the
    earliest, latest and mean value. For a `date` column `min` and `max` are
    `datetime.date`; for a `datetime` column they are timezone-aware UTC
    `datetime.datetime` (values written with an offset are converted to UTC; values
    written without one are read as UTC). `mean` is always a UTC `datetime.datetime`
    (the mean of dates is rarely a whole day, as pandas' mean of dates shows), exact to
    the microsecond (rounded half to even). `quantiles` maps each probability to a UTC
    `datetime.datetime` (numpy's `linear` interpolation between values, to the
    microsecond), `distinct` counts distinct values and `histogram` has `datetime` edges.
    `Dataset.describe` gives them for date and datetime columns.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "days.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("day,at\\n2024-01-01,2024-01-01T10:00Z\\n2024-01-02,2024-01-01T12:30+01:00\\n")
    ...     desc = oxbridge.process_large_dataset(path)
    >>> desc["day"].min, desc["day"].mean.isoformat()
    (datetime.date(2024, 1, 1), '2024-01-01T12:00:00+00:00')
    >>> desc["at"].max.isoformat(), desc.dtypes["at"]
    ('2024-01-01T11:30:00+00:00', 'datetime')
    """

    count: int
    nan_count: int
    min: datetime.date | datetime.datetime
    max: datetime.date | datetime.datetime
    mean: datetime.datetime
    quantiles: dict[float, datetime.datetime] = field(default_factory=dict)
    distinct: int | None = None
    histogram: Histogram | None = None

    @classmethod
    def _from_stats(
        cls,
        s: Stats,
        dates: bool,
        quantiles: Mapping[float, float] | None = None,
        distinct: int | None = None,
        histogram: Histogram | None = None,
    ) -> TemporalStats:
        """From the exact integer statistics of days (`dates`) or microseconds since the
        epoch, as the library reports a temporal column, and the sketches' figures in the
        same unit."""
        unit = 86_400_000_000 if dates else 1

        def instant(v: float) -> datetime.datetime:
            try:
                return _EPOCH + datetime.timedelta(microseconds=round(v * unit))
            except OverflowError:  # a histogram edge half a unit past year 1 or 9999
                end = datetime.datetime.min if v < 0 else datetime.datetime.max
                return end.replace(tzinfo=datetime.timezone.utc)

        when = {q: instant(v) for q, v in (quantiles or {}).items() if math.isfinite(v)}
        if histogram is not None:
            histogram = Histogram(histogram.counts, tuple(instant(e) for e in histogram.edges))
        mean = round(Fraction(int(s.sum) * unit, s.count))
        low: datetime.date | datetime.datetime
        high: datetime.date | datetime.datetime
        if dates:
            low = _EPOCH_DATE + datetime.timedelta(days=int(s.min))
            high = _EPOCH_DATE + datetime.timedelta(days=int(s.max))
        else:
            low = _EPOCH + datetime.timedelta(microseconds=int(s.min))
            high = _EPOCH + datetime.timedelta(microseconds=int(s.max))
        return cls(
            s.count,
            s.nan_count,
            low,
            high,
            _EPOCH + datetime.timedelta(microseconds=mean),
            when,
            distinct,
            histogram,
        )


# Union, not `|`: an alias is evaluated at run time, and Python 3.9 has no `X | Y` of types.
ColumnStats = Union[Stats, TextStats, BoolStats, TemporalStats]


class Description(Mapping[str, ColumnStats]):
    """Per-column statistics of a file: a mapping from column name to `Stats` (numeric
    columns), `TextStats` (text), `BoolStats` (bool) or `TemporalStats` (date, datetime),
    with each column's inferred type in `dtypes`.

    Printing it shows a table like pandas' `describe()`, with a sparkline of each
    column's histogram; in Jupyter it is an HTML table with a small SVG histogram per
    column. `num_rows` is the number of data rows of the file. Descriptions of parts of
    the same data merge (`merge`, `combine`) and travel as bytes (`to_bytes`,
    `from_bytes`; pickling uses them).

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "prices.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("item,price\\napple,1.5\\npear,2.5\\napple,2\\n")
    ...     desc = oxbridge.process_large_dataset(path)
    >>> print(desc)  # doctest: +ELLIPSIS
                item       price
    dtype       text     float64
    count          3           3
    missing        0           0
    distinct       2           3
    mean                       2
    std                      0.5
    min        apple         1.5
    25%                     1.75
    50%                        2
    75%                     2.25
    max         pear         2.5
    top        apple
    freq           2
    histogram  ...
    >>> list(desc), desc.dtypes["price"], desc["price"].quantiles[0.5], desc.num_rows
    (['item', 'price'], 'float64', 2.0, 3)
    """

    def __init__(
        self,
        columns: dict[str, ColumnStats],
        dtypes: dict[str, str],
        rows: int | None,
        *,
        _state: bytes | None = None,
        _settings: Any = None,
    ) -> None:
        self._columns = columns
        self.dtypes = dtypes
        self.num_rows = rows
        self._state = _state
        self._settings = _settings
        # The partition (run of partitions) described, for `combine` to check the chain.
        self._span: Span | None = None

    def __getitem__(self, name: str) -> ColumnStats:
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; the columns are {list(self._columns)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def to_bytes(self) -> bytes:
        """The description's full state (statistics and sketches) as versioned bytes,
        which `Description.from_bytes` reads back on any machine.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "n.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("n\\n1\\n3\\n")
        ...     data = oxbridge.process_large_dataset(path).to_bytes()
        >>> oxbridge.Description.from_bytes(data)["n"].mean
        2.0
        """
        if self._state is None:
            raise ValueError("this Description was built by hand: only described data has a state")
        return self._state

    @classmethod
    def from_bytes(
        cls, data: bytes, *, ddof: int = 1, percentiles: Sequence[float] = (0.25, 0.5, 0.75), bins: int = 10
    ) -> Description:
        """The Description that `to_bytes` serialised; `DataFormatError` when `data` is
        not one (damaged, cut short or of another version). `ddof`, `percentiles` and
        `bins` are as in `Dataset.describe`."""
        from . import _native_description as native

        return native.from_bytes(bytes(data), native.Settings(ddof, _checked(percentiles), _bins(bins)))

    def merge(self, other: Description) -> Description:
        """The description of this data and `other`'s together: the same columns, in the
        same order, described from other parts of the data (other files, other rows).
        Counts, sums, minima and maxima merge exactly, means and variances as Chan et al.,
        distinct counts, quantiles, top values and histograms within their sketches'
        bounds (exact quantiles do not merge: they come from the sketch again). Neither
        description changes.

        Raises `TypeError` for a non-Description and `InvalidArgumentError` for one of
        other columns.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     paths = [os.path.join(tmp, f"{i}.csv") for i in range(2)]
        ...     for path, text in zip(paths, ["n\\n1\\n2\\n", "n\\n3\\n"]):
        ...         with open(path, "w") as f:
        ...             _ = f.write(text)
        ...     a, b = (oxbridge.process_large_dataset(p) for p in paths)
        >>> whole = a.merge(b)
        >>> whole["n"].sum, whole["n"].quantiles[0.5], whole.num_rows
        (6, 2.0, 3)
        """
        return Description.combine([self, other])

    @staticmethod
    def combine(parts: Sequence[Description]) -> Description:
        """The description of the data of every one of `parts` (at least one), merged in
        order: see `merge`. Descriptions of the partitions of a file (`Partition.describe`)
        are put in file order and checked to chain up: a partition whose start was a
        guess that split a record is read again from where the previous one ended, so
        the result is the file's description."""
        parts = list(parts)
        if not parts:
            raise ValueError("combine() needs at least one Description")
        for p in parts:
            if not isinstance(p, Description):
                raise TypeError(f"merge() expects a Description, got {type(p).__name__}")
        if any(p._span is not None for p in parts):
            from . import _chain

            return _chain.combine(parts)
        return Description._merged(parts)

    @staticmethod
    def _merged(parts: Sequence[Description]) -> Description:
        """`combine` as it is, without looking at partitions."""
        from . import _native_description as native

        settings = parts[0]._settings or native.Settings(1, (0.25, 0.5, 0.75), 10)
        return native.merge([p.to_bytes() for p in parts], settings)

    def __reduce__(self) -> tuple[Any, ...]:
        settings = self._settings
        options = (
            {}
            if settings is None
            else {"ddof": settings.ddof, "percentiles": settings.percentiles, "bins": settings.bins}
        )
        return (_from_pickle, (self.to_bytes(), options, self._span))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data, a dict per column with its `dtype` and every field of its stats:
        numbers {"count", "nan_count", "mean", "std", "min", "max", "sum", "distinct",
        "quantiles", "histogram"}, text {"count", "nan_count", "min_len", "max_len",
        "distinct", "top", "top_count", "top_error", "min", "max", "mixed"}, bool {"count",
        "nan_count", "true_count", "mean", "distinct"}, date and datetime {"count",
        "nan_count", "mean", "min", "max", "quantiles", "distinct", "histogram"}
        (`datetime` objects). `quantiles` is a dict from probability to value,
        `histogram` a dict {"counts", "edges"} (None without one).

        Examples
        --------
        >>> import oxbridge, os, pprint, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "counts.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("n\\n1\\n3\\n")
        ...     pprint.pprint(oxbridge.process_large_dataset(path, bins=2).to_dict(), sort_dicts=False)
        {'n': {'dtype': 'int64',
               'count': 2,
               'nan_count': 0,
               'mean': 2.0,
               'std': 1.4142135623730951,
               'min': 1,
               'max': 3,
               'sum': 4,
               'distinct': 2,
               'quantiles': {0.25: 1.5, 0.5: 2.0, 0.75: 2.5},
               'histogram': {'counts': [1, 1], 'edges': [1.0, 2.0, 3.0]}}}
        """
        return {name: {"dtype": self.dtypes[name], **_fields(s)} for name, s in self._columns.items()}

    def to_json(self) -> str:
        """JSON of `to_dict()`, indented; NaN and infinities become null, dates and
        datetimes ISO 8601 strings (`2024-01-01`, `2024-01-01T10:00:00+00:00`), quantile
        probabilities string keys ("0.5").

        Examples
        --------
        >>> import json, oxbridge, os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "one.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("n\\n1\\n")
        ...     text = oxbridge.process_large_dataset(path).to_json()
        >>> json.loads(text)["n"]["std"] is None  # NaN: one value, ddof=1
        True
        """

        def clean(v: Any) -> Any:
            if isinstance(v, datetime.date):
                return v.isoformat()
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return json.dumps({k: clean(d) for k, d in self.to_dict().items()}, indent=2)

    def to_pandas(self) -> Any:
        """A pandas DataFrame shaped like `DataFrame.describe()` (statistics as rows, one
        column per column of the file; quantiles as rows "25%", "50%", ...). Needs pandas.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "prices.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("item,price\\napple,1.5\\npear,2.5\\n")
        ...     frame = oxbridge.process_large_dataset(path).to_pandas()
        >>> float(frame.loc["mean", "price"]), float(frame.loc["50%", "price"]), frame.loc["top", "item"]
        (2.0, 2.0, 'apple')
        """
        import pandas  # type: ignore[import-untyped,unused-ignore]  # stubs are optional

        table: dict[str, dict[str, Any]] = {}
        for name, d in self.to_dict().items():
            flat = {k: v for k, v in d.items() if k not in ("quantiles", "histogram")}
            for q, v in (d.get("quantiles") or {}).items():
                flat[_percent(q)] = v
            flat["histogram"] = d.get("histogram")
            table[name] = flat
        return pandas.DataFrame(table)

    def _table(self, ascii: bool) -> tuple[list[str], list[tuple[str, list[str]]]]:
        """The printed table: its column names and (label, cells) rows."""
        names = list(self._columns)
        percentiles = self._settings.percentiles if self._settings is not None else ()
        labels = ["dtype", "count", "missing", "distinct", "mean", "std", "min"]
        labels += [_percent(q) for q in percentiles] + ["max", "top", "freq", "histogram"]
        rows: dict[str, list[str]] = {label: [] for label in labels}
        for name in names:
            cells = _cells(self._columns[name], self.dtypes[name], percentiles, ascii)
            for label in labels:
                rows[label].append(cells.get(label, ""))
        shown = [(label, rows[label]) for label in labels if any(rows[label]) or label in ("dtype", "count")]
        return names, shown

    def __repr__(self) -> str:
        if not self._columns:
            return "Description(no columns)"
        import sys

        names, rows = self._table(ascii=not _pictures.can_draw_blocks(sys.stdout))
        label = max(len(r) for r, _ in rows)
        widths = [max(len(n), *(len(cells[i]) for _, cells in rows)) for i, n in enumerate(names)]
        lines = [" " * label + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths))]
        for r, cells in rows:
            line = r.ljust(label) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths))
            lines.append(line.rstrip())
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        """Jupyter's view: the table, with an inline SVG histogram per column."""
        names, rows = self._table(ascii=False)
        rows = [(label, cells) for label, cells in rows if label != "histogram"]
        pictures = {}
        for name in names:
            h = getattr(self._columns[name], "histogram", None)
            if h is not None:
                edges: list[Any] = [e.isoformat() if isinstance(e, datetime.date) else e for e in h.edges]
                pictures[name] = _pictures.svg_histogram(h.counts, edges)
        return _pictures.html_table(names, rows, pictures)


def _from_pickle(data: bytes, options: dict[str, Any], span: Span | None = None) -> Description:
    description = Description.from_bytes(data, **options)
    description._span = span
    return description


class Span(NamedTuple):
    """What a description of partitions covers: planned from `partition`'s start (the
    first partition) to `stop` (the planned end of the last; None: the partition's), its
    records read from `read_start` (None: the planned start) up to `end` (where the next
    record starts), of `columns` with `as_text` read as text."""

    partition: Any
    end: int
    columns: tuple[int, ...]
    as_text: tuple[int, ...]
    stop: int | None = None
    read_start: int | None = None

    @property
    def first(self) -> int:
        """Where the first record read starts."""
        return self.start if self.read_start is None else self.read_start

    @property
    def start(self) -> int:
        return int(self.partition.start)

    @property
    def planned_stop(self) -> int:
        return int(self.partition.stop if self.stop is None else self.stop)


def _checked(percentiles: Sequence[float]) -> tuple[float, ...]:
    """The percentiles as floats from 0 to 1, or ValueError."""
    out = tuple(float(q) for q in percentiles)
    for q in out:
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"percentiles must be from 0 to 1, got {q}")
    return out


def _bins(bins: int) -> int:
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= 1 << 20:
        raise ValueError(f"bins must be an int from 1 to 1048576, got {bins!r}")
    return bins


def _percent(q: float) -> str:
    """pandas' label of a percentile: 0.25 -> '25%', 0.125 -> '12.5%'."""
    return f"{q * 100:.10g}%"


def _cells(s: ColumnStats, dtype: str, percentiles: Sequence[float], ascii: bool) -> dict[str, str]:
    """The printed cells of one column, by row label."""
    cells = {"dtype": dtype, "count": str(s.count), "missing": str(s.nan_count)}
    distinct = getattr(s, "distinct", None)
    if distinct is not None:
        cells["distinct"] = str(distinct)
    histogram = getattr(s, "histogram", None)
    if histogram is not None:
        cells["histogram"] = _pictures.sparkline(histogram.counts, ascii=ascii)
    if isinstance(s, BoolStats):
        cells.update(mean=_num(s.mean), top=f"{s.true_count} true")
    elif isinstance(s, TemporalStats):
        cells.update(mean=s.mean.isoformat(), min=s.min.isoformat(), max=s.max.isoformat())
        for q in percentiles:
            if q in s.quantiles:
                cells[_percent(q)] = s.quantiles[q].isoformat()
    elif isinstance(s, TextStats):
        cells.update(min=_short(s.min), max=_short(s.max), top=_short(s.top))
        if s.top_count is not None:
            cells["freq"] = str(s.top_count)
    else:
        cells.update(mean=_num(s.mean), std=_num(s.std), min=_num(s.min), max=_num(s.max))
        for q in percentiles:
            if q in s.quantiles:
                cells[_percent(q)] = _num(s.quantiles[q])
    if s.count == 0:
        for label in ("mean", "std", "min", "max"):
            cells.pop(label, None)
    return cells


def _short(text: str | None, width: int = 24) -> str:
    """Text for a table cell: one line, at most `width` characters."""
    if text is None:
        return ""
    text = text.replace("\n", "\u21b5").replace("\r", "")
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _fields(s: ColumnStats) -> dict[str, Any]:
    if isinstance(s, BoolStats):
        return {
            "count": s.count,
            "nan_count": s.nan_count,
            "true_count": s.true_count,
            "mean": s.mean,
            "distinct": s.distinct,
        }
    if isinstance(s, TextStats):
        names = [
            "count",
            "nan_count",
            "min_len",
            "max_len",
            "distinct",
            "top",
            "top_count",
            "top_error",
            "min",
            "max",
            "mixed",
        ]
        return {n: getattr(s, n) for n in names}
    if isinstance(s, TemporalStats):
        return {
            "count": s.count,
            "nan_count": s.nan_count,
            "mean": s.mean,
            "min": s.min,
            "max": s.max,
            "quantiles": dict(s.quantiles),
            "distinct": s.distinct,
            "histogram": _histogram_dict(s.histogram),
        }
    return {
        "count": s.count,
        "nan_count": s.nan_count,
        "mean": s.mean,
        "std": s.std,
        "min": s.min,
        "max": s.max,
        "sum": s.sum,
        "distinct": s.distinct,
        "quantiles": dict(s.quantiles),
        "histogram": _histogram_dict(s.histogram),
    }


def _histogram_dict(h: Histogram | None) -> dict[str, list[Any]] | None:
    return None if h is None else {"counts": list(h.counts), "edges": list(h.edges)}


def _num(v: Any) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if 1e5 <= abs(v) < 1e15:
        return f"{v:.1f}"  # whole numbers read better than 1.5e+06
    return f"{v:.6g}"
