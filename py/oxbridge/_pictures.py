"""Small pictures of distributions: text sparklines for terminals, inline SVG and an HTML
table for notebooks.

A column summary reads faster with its histogram next to the numbers, as R's skimr shows
them. Drawing is kept here, apart from the statistics, in the standard library only, so
it works wherever the package does (Python 3.9+, PyPy, no numpy) and can be tested
without the native library. Nothing here computes counts: callers pass the counts (and
edges) of a histogram they already have.

- `sparkline(counts)`: one character per bin, `▁` to `█` (or ASCII, ` .:-=+*#`).
- `can_draw_blocks(stream)`: whether a stream can show those blocks.
- `svg_histogram(counts, edges)`: a small `<svg>` with one bar per non-empty bin.
- `html_table(columns, rows, pictures)`: a table laid out like pandas' HTML repr.
"""

from __future__ import annotations

import html
import numbers
import operator
import os
from collections.abc import Mapping, Sequence
from typing import Any

BLOCKS = "▁▂▃▄▅▆▇█"
"""The glyphs of non-zero counts, lowest first (a zero count is always a space)."""
ASCII_RAMP = ".:-=+*#"
"""The same for `ascii=True`: the ramp ` .:-=+*#` without its space."""
ASCII_ENV = "OXBRIDGE_ASCII"
"""Set to a non-empty value, this environment variable makes `can_draw_blocks` False."""


def _counts(counts: Sequence[int]) -> list[int]:
    """The counts as Python ints; ValueError naming the first negative bin.

    Anything `operator.index` accepts is a count (numpy integers too), so a float count is
    a TypeError.
    """
    values = [operator.index(count) for count in counts]
    for i, count in enumerate(values):
        if count < 0:
            raise ValueError(f"count of bin {i} is negative: {count}")
    return values


def sparkline(counts: Sequence[int], ascii: bool = False) -> str:
    """One character per bin: the counts of a histogram drawn as skimr draws them.

    With `n` glyphs of non-zero counts (the 8 blocks `▁▂▃▄▅▆▇█`, or the 7 characters
    `.:-=+*#` of the ASCII ramp ` .:-=+*#` when `ascii` is true), a count `c` of a
    histogram whose largest count is `m` gets

        level = ceil(c * n / m), clamped to 1..n (computed exactly, in integers)

    and is drawn as glyph number `level` (1 is the lowest); a zero count is a space, so
    empty bins are visibly empty, while any non-zero count is at least the lowest glyph
    and the largest count is the top one. An empty sequence gives "", all zeros give
    spaces. Raises ValueError for a negative count, naming its bin.

    >>> sparkline([0, 1, 2, 4, 8])
    ' ▁▂▄█'
    >>> sparkline([0, 1, 2, 4, 7], ascii=True)
    ' .:=#'
    >>> sparkline([0, 0])
    '  '
    """
    values = _counts(counts)
    glyphs = ASCII_RAMP if ascii else BLOCKS
    top = max(values, default=0)
    if top == 0:
        return " " * len(values)
    n = len(glyphs)
    line = []
    for count in values:
        if count == 0:
            line.append(" ")
        else:
            level = min(max(-(-count * n // top), 1), n)  # ceil(count * n / top)
            line.append(glyphs[level - 1])
    return "".join(line)


def can_draw_blocks(stream: Any) -> bool:
    """Whether text written to `stream` (e.g. sys.stdout) can show the block characters.

    True when the stream's `encoding` attribute names a text encoding that encodes "▁█"
    (strictly: a stream with `errors="replace"` still shows "?"); False for a missing or
    None encoding, an unknown one, or when the environment variable OXBRIDGE_ASCII is set
    to a non-empty value. `str.encode` looks the encoding up in the `codecs` registry and,
    unlike `codecs.encode`, refuses codecs that are not text encodings (such as rot13).

    >>> import io
    >>> can_draw_blocks(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    False
    """
    if os.environ.get(ASCII_ENV):
        return False
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return False
    try:
        "▁█".encode(encoding)
    except (LookupError, UnicodeError):
        return False
    return True


def _number(x: object) -> str:
    """A compact form of a number (6 significant digits); `str()` of anything else.

    Integers are kept whole, other real numbers (numpy's too) use `format(x, ".6g")`, and
    values that are not numbers, such as dates, use `str()`.

    >>> _number(1.0), _number(0.1 + 0.2), _number(1234567), _number(2.5e-10)
    ('1', '0.3', '1234567', '2.5e-10')
    """
    if isinstance(x, numbers.Integral):
        return str(x)
    if isinstance(x, numbers.Real):
        return format(float(x), ".6g")
    return str(x)


def svg_histogram(counts: Sequence[int], edges: Sequence[Any], width: int = 120, height: int = 32) -> str:
    """A small inline SVG of a histogram: one `<rect>` per non-zero bin.

    Bin `i` of `k` spans `width / k` pixels from `x = i * width / k` (bins are spaced by
    index, not by edge value, so dates work too). A bar's height is proportional to its
    count, the tallest being `height - 1` pixels, with a minimum of 1 pixel so that a small
    non-zero count stays visible; bars stand on the bottom edge and are filled with
    `currentColor`, the text color around them. Each rect has a `<title>` (a tooltip)
    with its bin's range and count, `[lo, hi): count`, the last bin closed: `[lo, hi]`.

    `edges` are the `len(counts) + 1` bin edges (any other length is a ValueError, except
    that empty counts may also have no edges); they may be numbers, shown with 6
    significant digits, or anything with a `str()`, such as dates. Empty counts give an
    empty svg of the size asked. Text is XML-escaped. Raises ValueError for a negative
    count or a size below 1 pixel wide or 2 pixels high.

    >>> svg = svg_histogram([1, 0, 2], [0.0, 0.5, 1.0, 1.5], width=30, height=11)
    >>> print(svg.replace("><", ">\\n<"))
    <svg xmlns="http://www.w3.org/2000/svg" width="30" height="11" viewBox="0 0 30 11" role="img">
    <rect x="0" y="6" width="10" height="5" fill="currentColor">
    <title>[0, 0.5): 1</title>
    </rect>
    <rect x="20" y="1" width="10" height="10" fill="currentColor">
    <title>[1, 1.5]: 2</title>
    </rect>
    </svg>
    """
    values = _counts(counts)
    if len(edges) != len(values) + 1 and not (not values and not edges):
        raise ValueError(f"{len(values)} counts need {len(values) + 1} edges, got {len(edges)}")
    if width < 1 or height < 2:
        raise ValueError(f"an svg histogram needs width >= 1 and height >= 2, got {width}x{height}")
    size = f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" {size} role="img">']
    top = max(values, default=0)
    bar_width = width / len(values) if values else 0.0
    for i, count in enumerate(values):
        if count == 0:
            continue
        bar = max(count * (height - 1) / top, 1.0)
        close = "]" if i == len(values) - 1 else ")"
        title = f"[{_number(edges[i])}, {_number(edges[i + 1])}{close}: {count}"
        parts.append(
            f'<rect x="{_number(i * bar_width)}" y="{_number(height - bar)}" width="{_number(bar_width)}"'
            f' height="{_number(bar)}" fill="currentColor"><title>{html.escape(title)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


_STYLE = (
    "<style>"
    ".oxbridge-description{border-collapse:collapse}"
    ".oxbridge-description th,.oxbridge-description td{padding:0.2em 0.5em}"
    ".oxbridge-description thead th,.oxbridge-description td{text-align:right;font-variant-numeric:tabular-nums}"
    ".oxbridge-description tbody th{text-align:left}"
    ".oxbridge-description svg{display:block;margin-left:auto}"
    "</style>"
)


def html_table(
    columns: Sequence[str],
    rows: Sequence[tuple[str, Sequence[str]]],
    pictures: Mapping[str, str] | None = None,
) -> str:
    """An HTML table of a description, laid out as pandas' `DataFrame._repr_html_`.

    A header row has an empty corner cell then the column names; when `pictures` is given
    (even empty), the first body row, labelled `histogram`, holds for each column its
    picture from `pictures` (an SVG from `svg_histogram`, inserted as it is, unescaped) or
    nothing; then comes one row per `(label, cells)` of `rows`. Column names, labels and
    cells are HTML-escaped. The result is a `<div>` holding a `<style>` that applies only
    to the class `oxbridge-description` (cells and column names right-aligned for
    numbers, row labels left-aligned) and the `<table class="oxbridge-description">`.

    Raises ValueError for a row whose number of cells differs from the number of columns,
    or for a picture of a name that is not a column.

    >>> print(html_table(["a<b"], [("mean", ["1.5"])]).replace(_STYLE, "<style>...</style>"))
    <div><style>...</style><table class="oxbridge-description">
    <thead><tr><th></th><th>a&lt;b</th></tr></thead>
    <tbody>
    <tr><th>mean</th><td>1.5</td></tr>
    </tbody>
    </table></div>
    """
    for label, cells in rows:
        if len(cells) != len(columns):
            raise ValueError(f"row {label!r} has {len(cells)} cells for {len(columns)} columns")
    if pictures is not None:
        unknown = sorted(set(pictures) - set(columns))
        if unknown:
            raise ValueError(f"pictures of names that are not columns: {unknown}")
    head = "".join(f"<th>{html.escape(name)}</th>" for name in columns)
    lines = [
        f'<div>{_STYLE}<table class="oxbridge-description">',
        f"<thead><tr><th></th>{head}</tr></thead>",
        "<tbody>",
    ]
    if pictures is not None:
        cells_html = "".join(f"<td>{pictures.get(name, '')}</td>" for name in columns)
        lines.append(f"<tr><th>histogram</th>{cells_html}</tr>")
    for label, cells in rows:
        cells_html = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        lines.append(f"<tr><th>{html.escape(label)}</th>{cells_html}</tr>")
    lines += ["</tbody>", "</table></div>"]
    return "\n".join(lines)
