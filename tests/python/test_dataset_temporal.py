"""CSV columns of booleans, ISO dates and timestamps: kinds, exact statistics, mixes.

Oracles: Python's `datetime` (`fromisoformat` and the constructors, with exact `Fraction`
means) and pandas (`read_csv(..., parse_dates=...)`).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import oxbridge

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def describe(tmp_path: Path, text: str, name: str = "t.csv") -> oxbridge.Description:
    path = tmp_path / name
    path.write_text(text)
    return oxbridge.process_large_dataset(path)


def exact_mean(values: list[dt.datetime]) -> dt.datetime:
    micros = [(v - EPOCH) // dt.timedelta(microseconds=1) for v in values]
    return EPOCH + dt.timedelta(microseconds=round(Fraction(sum(micros), len(micros))))


def test_the_kinds_and_their_statistics(tmp_path):
    text = (
        "flag,day,at,naive,n\n"
        "true,1969-12-31,2024-01-01T10:00:00.5Z,2024-01-01 10:00,1\n"
        "FALSE,0001-01-01,2024-01-01T12:30+01:00,2024-01-01T23:59:59.999999,NA\n"
        "True,,2024-01-01T00:00:00-1400,1970-01-01T00:00,3\n"
        "NA,9999-12-31,NA,null,4\n"
    )
    desc = describe(tmp_path, text)
    assert desc.dtypes == {"flag": "bool", "day": "date", "at": "datetime", "naive": "datetime", "n": "int64"}
    assert desc["flag"] == oxbridge.BoolStats(count=3, nan_count=1, true_count=2, mean=2 / 3, distinct=2)
    day = desc["day"]
    assert isinstance(day, oxbridge.TemporalStats)
    assert (day.count, day.nan_count, day.min, day.max) == (3, 1, dt.date(1, 1, 1), dt.date(9999, 12, 31))
    days = [
        dt.datetime.combine(dt.date.fromisoformat(d), dt.time(), UTC)
        for d in ("1969-12-31", "0001-01-01", "9999-12-31")
    ]
    assert day.mean == exact_mean(days)
    at = desc["at"]
    values = [
        dt.datetime.fromisoformat(v)
        for v in ("2024-01-01T10:00:00.5+00:00", "2024-01-01T12:30+01:00", "2024-01-01T00:00:00-14:00")
    ]
    assert (at.min, at.max, at.mean) == (min(values), max(values), exact_mean(values))
    assert at.min.tzinfo is not None and at.max == dt.datetime(2024, 1, 1, 14, tzinfo=UTC)
    naive = desc["naive"]
    assert (naive.count, naive.nan_count) == (3, 1)
    assert naive.min == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert naive.max == dt.datetime(2024, 1, 1, 23, 59, 59, 999999, tzinfo=UTC)
    # Serialised: ISO strings in JSON, objects in to_dict, a column each in pandas.
    data = json.loads(desc.to_json())
    # Days -1, -719162 and 2932896 from 1970: the median is the middle one, at midnight UTC.
    assert data["day"]["distinct"] == 3 and data["day"]["quantiles"]["0.5"] == "1969-12-31T00:00:00+00:00"
    assert sum(data["day"]["histogram"]["counts"]) == 3
    assert {k: v for k, v in data["day"].items() if k not in ("distinct", "quantiles", "histogram")} == {
        "dtype": "date",
        "count": 3,
        "nan_count": 1,
        "mean": day.mean.isoformat(),
        "min": "0001-01-01",
        "max": "9999-12-31",
    }
    assert data["flag"]["true_count"] == 2 and data["at"]["max"] == "2024-01-01T14:00:00+00:00"
    assert desc.to_dict()["at"]["min"] == at.min
    assert desc.to_pandas().loc["true_count", "flag"] == 2
    table = str(desc)
    assert "0001-01-01" in table and "2 true" in table and "2024-01-01T14:00:00+00:00" in table


def test_against_pandas_parse_dates(tmp_path):
    rows = ["d,t"] + [
        f"20{y:02d}-0{m}-1{m},20{y:02d}-0{m}-0{m} 0{m}:1{y % 6}:2{m}.{y:03d}" for y in range(24) for m in range(1, 10)
    ]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(rows) + "\n")
    frame = pd.read_csv(path, parse_dates=["d", "t"])
    desc = oxbridge.process_large_dataset(path)
    for col in ("d", "t"):
        s = desc[col]
        lo, hi, mean = frame[col].min(), frame[col].max(), frame[col].mean()
        assert s.count == frame[col].count()
        want_min = lo.date() if col == "d" else lo.tz_localize("UTC").to_pydatetime()
        want_max = hi.date() if col == "d" else hi.tz_localize("UTC").to_pydatetime()
        assert (s.min, s.max) == (want_min, want_max)
        assert abs(s.mean - mean.tz_localize("UTC").to_pydatetime()) <= dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    "values",
    [
        ["true", "1"],
        ["0", "false"],
        ["true", "yes"],
        ["2024-01-01", "2024-01-01T10:00"],
        ["2024-01-01T10:00", "2024-01-01T10:00Z"],
        ["2024-01-01", "2023-02-29"],
        ["2024-01-01T23:59:60"],
        ["2024-01-01t10:00"],
        ["2024-01-01T10:00z"],
        ["2024-01-01T10:00:00.1234567890"],
        ["1.5", "2024-01-01"],
        ["true", "2024-01-01"],
    ],
)
def test_mixed_forms_are_text(tmp_path, values):
    desc = describe(tmp_path, "h\n" + "\n".join(values) + "\n")
    assert desc.dtypes["h"] == "text"
    assert desc["h"].count == len(values)


def test_zero_and_one_and_yes_keep_their_kinds(tmp_path):
    desc = describe(tmp_path, "a,b\n0,yes\n1,no\n")
    assert desc.dtypes == {"a": "int64", "b": "text"}


def test_a_mix_across_parallel_chunks_is_text(tmp_path):
    # Far past one chunk: the last value, in another chunk, changes the kind.
    body = "2024-01-01\n" * 1_200_000
    for last, kind in [("2024-01-02\n", "date"), ("2024-01-02T00:00\n", "text"), ("true\n", "text"), ("1\n", "text")]:
        desc = describe(tmp_path, "d\n" + body + last, f"big{len(last)}{kind}.csv")
        assert desc.dtypes["d"] == kind, last


def test_header_over_dates_and_booleans(tmp_path):
    assert list(describe(tmp_path, "date,flag\n2024-01-01,true\n")) == ["date", "flag"]
    assert list(describe(tmp_path, "2024-01-01,true\n2024-01-02,false\n")) == ["0", "1"]


def test_read_rows_of_a_bool_column_names_it(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("x,flag\n1,true\n")
    with oxbridge.Dataset.open(path) as ds, pytest.raises(oxbridge.DataFormatError, match="flag"):
        next(ds.iter_chunks(1))


def test_cli_json_carries_the_kinds(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("day,flag\n2024-01-01,true\n2024-01-03,false\n")
    out = subprocess.run(
        [sys.executable, "-m", "oxbridge", "describe", str(path), "--json"], capture_output=True, text=True, check=True
    )
    data = json.loads(out.stdout)
    assert data["day"]["mean"] == "2024-01-02T00:00:00+00:00" and data["flag"]["dtype"] == "bool"


@st.composite
def timestamps(draw, zoned: bool):
    day = draw(st.dates(min_value=dt.date(1, 1, 2), max_value=dt.date(9999, 12, 30)))
    t = draw(st.times())
    digits = draw(st.integers(0, 9))
    sep = draw(st.sampled_from(["T", " "]))
    text = f"{day.isoformat()}{sep}{t.hour:02d}:{t.minute:02d}"
    micros = 0
    if digits or draw(st.booleans()):
        text += f":{t.second:02d}"
        micros = t.second * 1_000_000
        if digits:
            frac = draw(st.integers(0, 10**digits - 1))
            text += f".{frac:0{digits}d}"
            micros += int(f"{frac:0{digits}d}".ljust(9, "0")[:6])
    offset = 0
    if zoned:
        offset = draw(st.integers(-14 * 60, 14 * 60))
        if offset == 0 and draw(st.booleans()):
            text += "Z"
        else:
            sign = "-" if offset < 0 else "+"
            h, m = divmod(abs(offset), 60)
            text += f"{sign}{h:02d}:{m:02d}" if draw(st.booleans()) else f"{sign}{h:02d}{m:02d}"
    local = dt.datetime.combine(day, dt.time(t.hour, t.minute), UTC) + dt.timedelta(microseconds=micros)
    return text, local - dt.timedelta(minutes=offset)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), zoned=st.booleans())
def test_generated_timestamps_match_python(tmp_path, data, zoned):
    pairs = data.draw(st.lists(timestamps(zoned), min_size=1, max_size=30))
    texts = [p[0] for p in pairs]
    for text, want in pairs:
        # Python's own reader (3.11+) as a second oracle, on the forms it reads exactly.
        if sys.version_info >= (3, 11) and len(text.partition(".")[2].rstrip("Z+-:0123456789")) == 0:
            fraction = text.partition(".")[2][:9].rstrip("Z").split("+")[0].split("-")[0]
            if len(fraction) <= 6:
                parsed = dt.datetime.fromisoformat(text)
                assert (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)) == want, text
    s = describe(tmp_path, "t\n" + "\n".join(texts) + "\n")["t"]
    values = [p[1] for p in pairs]
    assert isinstance(s, oxbridge.TemporalStats)
    assert (s.count, s.min, s.max, s.mean) == (len(values), min(values), max(values), exact_mean(values))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.dates() | st.none(), min_size=1, max_size=40))
def test_generated_dates_match_python(tmp_path, days):
    text = "d\n" + "\n".join(d.isoformat() if d else "NA" for d in days) + "\n"
    s = describe(tmp_path, text)["d"]
    present = [d for d in days if d]
    if not present:
        return
    assert isinstance(s, oxbridge.TemporalStats)
    as_dt = [dt.datetime.combine(d, dt.time(), UTC) for d in present]
    assert (s.count, s.nan_count, s.min, s.max) == (len(present), len(days) - len(present), min(present), max(present))
    assert s.mean == exact_mean(as_dt)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flags=st.lists(
        st.sampled_from(["true", "false", "True", "False", "TRUE", "FALSE", "NA", ""]), min_size=1, max_size=40
    ),
    intruder=st.sampled_from([None, "1", "0", "yes", "2024-01-01", "t"]),
)
def test_generated_booleans_and_intruders(tmp_path, flags, intruder):
    values = [*flags, intruder] if intruder else flags
    s = describe(tmp_path, "x,f\n" + "\n".join(f"1,{v}" for v in values) + "\n")["f"]
    present = [v for v in flags if v not in ("NA", "")]
    if intruder and present:
        assert isinstance(s, oxbridge.TextStats)
    elif present and not intruder:
        trues = sum(v.lower() == "true" for v in present)
        distinct = len({v.lower() for v in present})
        assert s == oxbridge.BoolStats(len(present), len(flags) - len(present), trues, trues / len(present), distinct)
