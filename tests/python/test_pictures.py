"""py/oxbridge/_pictures.py: sparklines, the block-character check, SVG histograms and the
HTML table. The module is loaded from its file, so these tests need no native build."""

from __future__ import annotations

import datetime
import importlib.util
import io
import math
import xml.etree.ElementTree as ET
from fractions import Fraction
from html.parser import HTMLParser

import pytest
from hypothesis import given, strategies as st

from _paths import ROOT

_spec = importlib.util.spec_from_file_location("_oxbridge_pictures", ROOT / "py" / "oxbridge" / "_pictures.py")
assert _spec is not None and _spec.loader is not None
pictures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pictures)

SVG = "{http://www.w3.org/2000/svg}"
BLOCKS = "▁▂▃▄▅▆▇█"
RAMP = " .:-=+*#"


def expected_line(counts: list[int], glyphs: str) -> str:
    """The documented rule, computed independently: exact fractions and math.ceil, where the
    module uses integer floor division."""
    top = max(counts, default=0)
    out = ""
    for c in counts:
        if c == 0:
            out += " "
        else:
            level = min(max(math.ceil(Fraction(c, top) * len(glyphs)), 1), len(glyphs))
            out += glyphs[level - 1]
    return out


# ---- sparkline ----------------------------------------------------------------------------


def test_sparkline_scaling() -> None:
    assert pictures.sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert pictures.sparkline([0, 1, 2, 4, 8]) == expected_line([0, 1, 2, 4, 8], BLOCKS)
    assert pictures.sparkline(list(range(9))) == " " + BLOCKS
    # ceil: a count just above a step goes up a level; the smallest non-zero is at least ▁
    assert pictures.sparkline([1, 1000]) == "▁█"
    assert pictures.sparkline([126, 1000]) == "▂█"  # 126/1000*8 = 1.008
    assert pictures.sparkline([125, 1000]) == "▁█"  # exactly 1.0
    assert pictures.sparkline([5, 5, 5]) == "███"


def test_sparkline_edge_cases() -> None:
    assert pictures.sparkline([]) == ""
    assert pictures.sparkline([], ascii=True) == ""
    assert pictures.sparkline([0, 0, 0]) == "   "
    assert pictures.sparkline([0, 0], ascii=True) == "  "
    assert pictures.sparkline([True, 0]) == "█ "  # operator.index accepts bool


def test_sparkline_ascii() -> None:
    assert pictures.sparkline(list(range(8)), ascii=True) == RAMP
    assert pictures.sparkline([0, 1, 2, 4, 7], ascii=True) == " .:=#"
    assert pictures.sparkline([1, 1000], ascii=True) == ".#"
    counts = [0, 3, 9, 27, 81, 40]
    assert pictures.sparkline(counts, ascii=True) == expected_line(counts, RAMP[1:])
    assert pictures.sparkline(counts, ascii=True).isascii()


def test_sparkline_negative_count_names_the_bin() -> None:
    with pytest.raises(ValueError, match="bin 2"):
        pictures.sparkline([3, 0, -1, 4])
    with pytest.raises(ValueError, match="bin 0"):
        pictures.sparkline([-5], ascii=True)


def test_sparkline_rejects_float_counts() -> None:
    with pytest.raises(TypeError):
        pictures.sparkline([1.5, 2])


@given(st.lists(st.integers(min_value=0, max_value=10**12), max_size=60), st.booleans())
def test_sparkline_properties(counts: list[int], ascii: bool) -> None:
    line = pictures.sparkline(counts, ascii=ascii)
    glyphs = RAMP[1:] if ascii else BLOCKS
    assert len(line) == len(counts)
    assert line == expected_line(counts, glyphs)
    top = max(counts, default=0)
    rank = {" ": 0, **{g: i + 1 for i, g in enumerate(glyphs)}}
    for count, char in zip(counts, line):
        assert char in rank
        assert (char == " ") == (count == 0)
        if count == top and top > 0:
            assert char == glyphs[-1]
    by_count = sorted(zip(counts, line))
    for (_, low), (_, high) in zip(by_count, by_count[1:]):
        assert rank[low] <= rank[high]  # a larger count never gets a lower glyph


# ---- can_draw_blocks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8", True), ("UTF-8", True), ("utf-16", True), ("ascii", False), ("latin-1", False)]
)
def test_can_draw_blocks_by_encoding(monkeypatch: pytest.MonkeyPatch, encoding: str, expected: bool) -> None:
    monkeypatch.delenv("OXBRIDGE_ASCII", raising=False)
    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    assert pictures.can_draw_blocks(stream) is expected


def test_can_draw_blocks_without_an_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OXBRIDGE_ASCII", raising=False)

    class Stream:
        encoding: str | None = None

    assert pictures.can_draw_blocks(Stream()) is False
    assert pictures.can_draw_blocks(io.StringIO()) is False  # its encoding is None
    assert pictures.can_draw_blocks(object()) is False  # no encoding attribute
    Stream.encoding = "no-such-encoding"
    assert pictures.can_draw_blocks(Stream()) is False
    Stream.encoding = "rot13"  # a codec, but not a text encoding
    assert pictures.can_draw_blocks(Stream()) is False


def test_can_draw_blocks_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setenv("OXBRIDGE_ASCII", "1")
    assert pictures.can_draw_blocks(stream) is False
    monkeypatch.setenv("OXBRIDGE_ASCII", "")  # empty: not set
    assert pictures.can_draw_blocks(stream) is True


# ---- svg_histogram ------------------------------------------------------------------------


def parse_svg(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    return root


@pytest.mark.parametrize(
    "counts",
    [[3, 0, 12, 7, 1], [1], [0, 0, 5], [1, 10**9], [4, 4, 4, 4]],
)
def test_svg_histogram_bars(counts: list[int]) -> None:
    width, height = 120, 32
    edges = [1.5 + i for i in range(len(counts) + 1)]
    root = parse_svg(pictures.svg_histogram(counts, edges))
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("120", "32", "0 0 120 32")
    rects = root.findall(f"{SVG}rect")
    nonzero = [(i, c) for i, c in enumerate(counts) if c]
    assert len(rects) == len(nonzero)
    top = max(counts)
    for rect, (i, count) in zip(rects, nonzero):
        x, y, w, h = (float(rect.get(name, "nan")) for name in ("x", "y", "width", "height"))
        assert x == pytest.approx(i * width / len(counts), abs=1e-3)
        assert w == pytest.approx(width / len(counts), abs=1e-3)
        assert abs(h - count / top * (height - 1)) <= 1
        assert h >= 1
        assert y + h == pytest.approx(height, abs=1e-3)  # stands on the bottom edge
        if count == top:
            assert h == pytest.approx(height - 1, abs=1e-3)
        title = rect.find(f"{SVG}title")
        assert title is not None
        close = "]" if i == len(counts) - 1 else ")"
        assert title.text == f"[{edges[i]:.6g}, {edges[i + 1]:.6g}{close}: {count}"


def test_svg_histogram_titles_and_sizes() -> None:
    svg = pictures.svg_histogram([12, 3], [0.1 + 0.2, 1.5, 2.5], width=40, height=10)
    root = parse_svg(svg)
    assert (root.get("width"), root.get("height")) == ("40", "10")
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles == ["[0.3, 1.5): 12", "[1.5, 2.5]: 3"]
    assert "0.30000000000000004" not in svg


def test_svg_histogram_escapes_text_edges() -> None:
    edges = ["<a&b>", '"q"', datetime.date(2024, 1, 2)]
    svg = pictures.svg_histogram([1, 2], edges)
    assert "<a&b>" not in svg and "&lt;a&amp;b&gt;" in svg
    titles = [t.text for t in parse_svg(svg).iter(f"{SVG}title")]
    assert titles == ['[<a&b>, "q"): 1', '["q", 2024-01-02]: 2']


def test_svg_histogram_empty() -> None:
    for edges in ([], [1.0]):
        root = parse_svg(pictures.svg_histogram([], edges, width=50, height=20))
        assert (root.get("width"), root.get("height")) == ("50", "20")
        assert list(root) == []
    root = parse_svg(pictures.svg_histogram([0, 0], [0.0, 1.0, 2.0]))
    assert list(root) == []


def test_svg_histogram_errors() -> None:
    with pytest.raises(ValueError, match="edges"):
        pictures.svg_histogram([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="edges"):
        pictures.svg_histogram([1, 2], [0.0, 1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="edges"):
        pictures.svg_histogram([], [0.0, 1.0])
    with pytest.raises(ValueError, match="bin 1"):
        pictures.svg_histogram([1, -2], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="height"):
        pictures.svg_histogram([1], [0.0, 1.0], height=1)


# ---- html_table ----------------------------------------------------------------------------


class TableParser(HTMLParser):
    """The table's cells as text, row by row, with the tag of each cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, str]]] = []
        self.cell: list[str] | None = None
        self.tag = ""
        self.tables: list[dict[str, str | None]] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(dict(attrs))
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self.cell, self.tag = [], tag
        elif tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.cell is not None:
            self.rows[-1].append((self.tag, "".join(self.cell)))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def parse_table(text: str) -> TableParser:
    parser = TableParser()
    parser.feed(text)
    parser.close()
    return parser


def test_html_table_layout_and_escaping() -> None:
    name = '<b>&"x"'
    text = pictures.html_table([name, "y"], [("mean", ["1.5", "<2>"]), ("a&b", ["3", "4"])])
    assert "<b>" not in text
    assert "&lt;b&gt;&amp;&quot;x&quot;" in text
    assert "&lt;2&gt;" in text and "<th>a&amp;b</th>" in text
    parsed = parse_table(text)
    assert parsed.tables == [{"class": "oxbridge-description"}]
    assert parsed.rows == [
        [("th", ""), ("th", name), ("th", "y")],
        [("th", "mean"), ("td", "1.5"), ("td", "<2>")],
        [("th", "a&b"), ("td", "3"), ("td", "4")],
    ]
    assert "<style>" in text and ".oxbridge-description td" in text and "text-align:right" in text
    assert text.index("<thead>") < text.index("<tbody>")


def test_html_table_pictures_row() -> None:
    svg = pictures.svg_histogram([1, 2], [0.0, 1.0, 2.0])
    text = pictures.html_table(["a", "b"], [("count", ["3", "0"])], pictures={"a": svg})
    assert svg in text  # raw, not escaped
    parsed = parse_table(text)
    assert parsed.svgs == 1
    assert [row[0] for row in parsed.rows] == [("th", ""), ("th", "histogram"), ("th", "count")]
    assert parsed.rows[1][2] == ("td", "")  # no picture for b
    empty = parse_table(pictures.html_table(["a"], [], pictures={}))
    assert empty.rows == [[("th", ""), ("th", "a")], [("th", "histogram"), ("td", "")]]
    without = parse_table(pictures.html_table(["a"], [("n", ["1"])]))
    assert [row[0][1] for row in without.rows] == ["", "n"]


def test_html_table_errors() -> None:
    with pytest.raises(ValueError, match="'mean'"):
        pictures.html_table(["a", "b"], [("count", ["1", "2"]), ("mean", ["1"])])
    with pytest.raises(ValueError, match="cells"):
        pictures.html_table(["a"], [("count", ["1", "2"])])
    with pytest.raises(ValueError, match="not columns"):
        pictures.html_table(["a"], [], pictures={"z": "<svg/>"})
