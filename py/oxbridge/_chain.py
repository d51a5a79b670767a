"""Merging the descriptions of a file's partitions into the file's: in file order, each
checked to start where the previous one's last record ended.

A CSV partition's start is a record boundary guessed from the bytes near the cut; a
quoted field with newlines longer than the guess looks at can fool it. A partition read
from a wrong start then either fails (a `PartitionFailure` when the caller keeps going,
as `oxbridge.dask` does) or ends somewhere else than the next one starts. Both are seen
here, where the previous partition's true end is known, and the partition is read again
from there: the result is exactly the file's description, never one with a split row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from ._description import Description, Span
from ._errors import DataFormatError


class PartitionFailure:
    """A partition that failed to read from its guessed start: resolved when merged
    after the partition before it (read again from where that one ended, or, if the
    start was right, its error raised)."""

    __slots__ = ("error", "settings", "span")

    def __init__(self, span: Span, error: str, settings: tuple[int, tuple[float, ...], int]) -> None:
        self.span, self.error, self.settings = span, error, settings

    def __reduce__(self) -> tuple[Any, ...]:
        return (PartitionFailure, (self.span, self.error, self.settings))


Item = Union[Description, PartitionFailure]


def _span(item: Item) -> Span | None:
    return item.span if isinstance(item, PartitionFailure) else item._span


def _file(span: Span) -> tuple[Any, ...]:
    p = span.partition
    return (p.path, p.format, sorted(p.options.items()), p.identity, span.columns, span.as_text)


def _chainable(a: Item, b: Item) -> bool:
    sa, sb = _span(a), _span(b)
    return (
        isinstance(a, Description)
        and sa is not None
        and sb is not None
        and _file(sa) == _file(sb)
        and sb.start == sa.planned_stop
    )


def _settings_of(item: Item) -> dict[str, Any]:
    if isinstance(item, PartitionFailure):
        ddof, percentiles, bins = item.settings
        return {"ddof": ddof, "percentiles": percentiles, "bins": bins}
    s = item._settings
    return {} if s is None else {"ddof": s.ddof, "percentiles": s.percentiles, "bins": s.bins}


def _chain(a: Description, b: Item) -> Description:
    """`a` followed by `b`, the partition(s) planned right after it."""
    sa, sb = a._span, _span(b)
    assert sa is not None and sb is not None
    if sa.end >= sb.planned_stop:
        # `a`'s last record ran over all of `b`'s bytes: `b` holds no record of its own.
        merged, end = a, sa.end
    elif sa.end == sb.first:
        if isinstance(b, PartitionFailure):
            raise DataFormatError(b.error)  # its start was right: a real error
        merged, end = Description._merged([a, b]), sb.end
    else:
        # `b` started at a wrong guess: read its bytes again from where `a` ended.
        again = sb.partition._with(sa.end, sb.planned_stop)
        part = again.describe(list(sb.columns), as_text=list(sb.as_text), **_settings_of(b))
        assert part._span is not None
        merged, end = Description._merged([a, part]), part._span.end
    if merged is a:
        merged = Description._merged([a])
    merged._span = Span(sa.partition, end, sa.columns, sa.as_text, sb.planned_stop, sa.read_start)
    return merged


def collapse(items: Sequence[Item]) -> list[Item]:
    """`items` (in file order) with every partition merged into the one before it where
    they chain up: one item per file when all its partitions are there."""
    out: list[Item] = []
    for item in items:
        if out and _chainable(out[-1], item):
            previous = out.pop()
            assert isinstance(previous, Description)
            item = _chain(previous, item)
        out.append(item)
    return out


def combine(items: Sequence[Item]) -> Description:
    """The description of every item: partitions of a file in file order, chained (see
    the module documentation), then files and other descriptions merged as they are."""
    order = sorted(
        range(len(items)),
        key=lambda i: (0, _file_order(_span(items[i])), i) if _span(items[i]) is not None else (1, (), i),
    )
    left = collapse([items[i] for i in order])
    for item in left:
        if isinstance(item, PartitionFailure):
            # No partition before it to say where it starts: its error stands.
            raise DataFormatError(item.error)
    descriptions = [item for item in left if isinstance(item, Description)]
    if len(descriptions) == 1:
        return descriptions[0]
    merged = Description._merged(descriptions)
    return merged


def _file_order(span: Span | None) -> tuple[Any, ...]:
    assert span is not None
    p = span.partition
    return (str(p.path), str(p.format), repr(sorted(p.options.items())), tuple(p.identity), span.start)
