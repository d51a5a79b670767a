"""`Description`: the per-column statistics of a file, and how they print and export."""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

from ._stats import Stats


@dataclass(frozen=True)
class TextStats:
    """Statistics of a text column: values present, missing values, and the fewest and
    most characters in a value. `Dataset.describe` gives them for text columns.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "names.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("name\\nAda\\nNA\\nGrace\\n")
    ...     oxbridge.process_large_dataset(path)["name"]
    TextStats(count=2, nan_count=1, min_len=3, max_len=5)
    """

    count: int
    nan_count: int
    min_len: int
    max_len: int


@dataclass(frozen=True)
class BoolStats:
    """Statistics of a boolean column (`true`/`false`, `True`/`False`, `TRUE`/`FALSE`):
    values present, missing values, how many are true, and the fraction true (`mean`;
    NaN when no value is present). `Dataset.describe` gives them for bool columns.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "flags.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("flag\\ntrue\\nFALSE\\nNA\\nTrue\\ntrue\\n")
    ...     oxbridge.process_large_dataset(path)["flag"]
    BoolStats(count=4, nan_count=1, true_count=3, mean=0.75)
    """

    count: int
    nan_count: int
    true_count: int
    mean: float


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
    the microsecond (rounded half to even). `Dataset.describe` gives them for date and
    datetime columns.

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

    @classmethod
    def _from_stats(cls, s: Stats, dates: bool) -> TemporalStats:
        """From the exact integer statistics of days (`dates`) or microseconds since the
        epoch, as the library reports a temporal column."""
        unit = 86_400_000_000 if dates else 1
        mean = round(Fraction(int(s.sum) * unit, s.count))
        low: datetime.date | datetime.datetime
        high: datetime.date | datetime.datetime
        if dates:
            low = _EPOCH_DATE + datetime.timedelta(days=int(s.min))
            high = _EPOCH_DATE + datetime.timedelta(days=int(s.max))
        else:
            low = _EPOCH + datetime.timedelta(microseconds=int(s.min))
            high = _EPOCH + datetime.timedelta(microseconds=int(s.max))
        return cls(s.count, s.nan_count, low, high, _EPOCH + datetime.timedelta(microseconds=mean))


# Union, not `|`: an alias is evaluated at run time, and Python 3.9 has no `X | Y` of types.
ColumnStats = Union[Stats, TextStats, BoolStats, TemporalStats]


class Description(Mapping[str, ColumnStats]):
    """Per-column statistics of a file: a mapping from column name to `Stats` (numeric
    columns), `TextStats` (text), `BoolStats` (bool) or `TemporalStats` (date, datetime),
    with each column's inferred type in `dtypes`.

    Printing it shows a table like pandas' `describe()`. `num_rows` is the number of
    data rows of the file.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "prices.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("item,price\\napple,1.5\\npear,2.5\\n")
    ...     desc = oxbridge.process_large_dataset(path)
    >>> print(desc)
              item     price
    dtype     text   float64
    count        2         2
    missing      0         0
    mean                   2
    std             0.707107
    min      len 4       1.5
    max      len 5       2.5
    >>> list(desc), desc.dtypes["price"], desc["price"].max, desc.num_rows
    (['item', 'price'], 'float64', 2.5, 2)
    """

    def __init__(self, columns: dict[str, ColumnStats], dtypes: dict[str, str], rows: int | None) -> None:
        self._columns = columns
        self.dtypes = dtypes
        self.num_rows = rows

    def __getitem__(self, name: str) -> ColumnStats:
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; the columns are {list(self._columns)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data: {column: {"dtype", "count", "nan_count", "mean", "std", "min", "max",
        "sum"} or, for text, {"dtype", "count", "nan_count", "min_len", "max_len"}, for
        bool {"dtype", "count", "nan_count", "true_count", "mean"}, for date and datetime
        {"dtype", "count", "nan_count", "mean", "min", "max"} (`datetime` objects)}.

        Examples
        --------
        >>> import oxbridge, os, pprint, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "counts.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("n\\n1\\n3\\n")
        ...     pprint.pprint(oxbridge.process_large_dataset(path).to_dict(), sort_dicts=False)
        {'n': {'dtype': 'int64',
               'count': 2,
               'nan_count': 0,
               'mean': 2.0,
               'std': 1.4142135623730951,
               'min': 1,
               'max': 3,
               'sum': 4}}
        """
        out: dict[str, dict[str, Any]] = {}
        for name, s in self._columns.items():
            if isinstance(s, (BoolStats, TemporalStats)):
                out[name] = {"dtype": self.dtypes[name], **_fields(s)}
            elif isinstance(s, TextStats):
                out[name] = {
                    "dtype": "text",
                    "count": s.count,
                    "nan_count": s.nan_count,
                    "min_len": s.min_len,
                    "max_len": s.max_len,
                }
            else:
                out[name] = {
                    "dtype": self.dtypes[name],
                    "count": s.count,
                    "nan_count": s.nan_count,
                    "mean": s.mean,
                    "std": s.std,
                    "min": s.min,
                    "max": s.max,
                    "sum": s.sum,
                }
        return out

    def to_json(self) -> str:
        """JSON of `to_dict()`, indented; NaN and infinities become null, dates and
        datetimes ISO 8601 strings (`2024-01-01`, `2024-01-01T10:00:00+00:00`).

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
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return json.dumps({k: {f: clean(v) for f, v in d.items()} for k, d in self.to_dict().items()}, indent=2)

    def to_pandas(self) -> Any:
        """A pandas DataFrame shaped like `DataFrame.describe()` (statistics as rows, one
        column per column of the file). Needs pandas.

        Examples
        --------
        >>> import oxbridge, os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "prices.csv")
        ...     with open(path, "w") as f:
        ...         _ = f.write("item,price\\napple,1.5\\npear,2.5\\n")
        ...     frame = oxbridge.process_large_dataset(path).to_pandas()
        >>> float(frame.loc["mean", "price"])
        2.0
        """
        import pandas  # type: ignore[import-untyped,unused-ignore]  # stubs are optional

        return pandas.DataFrame(self.to_dict())

    def __repr__(self) -> str:
        names = list(self._columns)
        if not names:
            return "Description(no columns)"
        rows = ["dtype", "count", "missing", "mean", "std", "min", "max"]
        cells: dict[str, list[str]] = {}
        for name in names:
            s = self._columns[name]
            if isinstance(s, BoolStats):
                cells[name] = ["bool", str(s.count), str(s.nan_count), _num(s.mean), "", "", f"{s.true_count} true"]
            elif isinstance(s, TemporalStats):
                when = [s.mean.isoformat(), "", s.min.isoformat(), s.max.isoformat()]
                cells[name] = [self.dtypes[name], str(s.count), str(s.nan_count), *when]
            elif isinstance(s, TextStats):
                cells[name] = ["text", str(s.count), str(s.nan_count), "", "", f"len {s.min_len}", f"len {s.max_len}"]
            else:
                cells[name] = [
                    self.dtypes[name],
                    str(s.count),
                    str(s.nan_count),
                    _num(s.mean),
                    _num(s.std),
                    _num(s.min),
                    _num(s.max),
                ]
        label = max(len(r) for r in rows)
        widths = {n: max(len(n), *(len(c) for c in cells[n])) for n in names}
        lines = [" " * label + "  " + "  ".join(n.rjust(widths[n]) for n in names)]
        for i, r in enumerate(rows):
            lines.append(r.ljust(label) + "  " + "  ".join(cells[n][i].rjust(widths[n]) for n in names))
        return "\n".join(lines)

    __str__ = __repr__


def _fields(s: BoolStats | TemporalStats) -> dict[str, Any]:
    if isinstance(s, BoolStats):
        return {"count": s.count, "nan_count": s.nan_count, "true_count": s.true_count, "mean": s.mean}
    return {"count": s.count, "nan_count": s.nan_count, "mean": s.mean, "min": s.min, "max": s.max}


def _num(v: Any) -> str:
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if 1e5 <= abs(v) < 1e15:
        return f"{v:.1f}"  # whole numbers read better than 1.5e+06
    return f"{v:.6g}"
