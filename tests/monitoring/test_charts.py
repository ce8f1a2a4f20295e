"""Server-side SVG charts: labelled, accessible, escaped, and free of inline styles."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest

from scoring.monitoring import charts


def _days(n):
    return [date(2026, 1, 1) + timedelta(days=i) for i in range(n)]


def test_a_chart_has_a_title_description_axes_and_one_line_per_series():
    svg = charts.line_chart(
        title="Approval rate",
        x=_days(10),
        series=[("Approval", [0.2] * 10), ("Override", [0.05] * 5 + [None] + [0.07] * 4)],
        y_label="Share",
        y_format=charts.percent,
        y_max=1.0,
        thresholds=[charts.Threshold(0.1, "alert 10%")],
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "<title" in svg and "<desc" in svg and "latest 7% on 10 Jan 2026" in svg
    assert ">Share</text>" in svg and ">Date</text>" in svg and ">100%</text>" in svg
    assert svg.count("<polyline") == 3  # one line, and a second broken by the missing day
    assert "alert 10%" in svg
    assert "style" not in svg and "<script" not in svg


def test_text_is_escaped():
    svg = charts.line_chart(title="<script>alert(1)</script>", x=_days(2), series=[("a&b", [1, 2])], y_label='"y"')
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a&amp;b" in svg


def test_an_empty_chart_says_so():
    svg = charts.line_chart(title="Daily volume", x=_days(3), series=[("n", [None] * 3)], y_label="n", bars=True)
    assert "No data in this period" in svg


def _date_label_positions(svg):
    # Date labels are the centred ticks; y-axis ticks are right-aligned.
    return [float(x) for x in re.findall(r'<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">', svg)]


@pytest.mark.parametrize("bars", [True, False])
def test_date_labels_never_crowd_each_other_whatever_the_number_of_days(bars):
    for n in range(1, 400):
        svg = charts.line_chart(
            title="Daily volume", x=_days(n), series=[("n", list(range(n)))], y_label="n", bars=bars
        )
        positions = _date_label_positions(svg)
        assert positions, n
        gaps = [b - a for a, b in itertools.pairwise(positions)]
        # "01 Dec" is about 40 units wide: centres closer than that make "01 Dec02 Dec".
        assert all(gap >= 50 for gap in gaps), (n, gaps)
        assert f">{_days(n)[-1]:%d %b}</text>" in svg  # the latest day is always labelled


def _y_tick_labels(svg):
    return re.findall(r'<text class="tick" x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]+)</text>', svg)


@pytest.mark.parametrize("highest", [0, 1, 2, 3, 5, 7, 13, 37, 47, 50, 99, 101, 333, 1234])
def test_a_count_axis_ticks_on_whole_numbers_and_reaches_the_highest_bar(highest):
    svg = charts.line_chart(
        title="Daily volume", x=_days(3), series=[("Decisions", [0, highest, 1])], y_label="n", bars=True, counts=True
    )
    ticks = [int(label.replace(",", "")) for label in _y_tick_labels(svg)]
    assert ticks[0] == 0 and ticks[-1] >= highest and 2 <= len(ticks) <= 5
    assert len({b - a for a, b in itertools.pairwise(ticks)}) == 1  # evenly spaced


def test_the_monitoring_volume_chart_counts_in_whole_decisions():
    svg = charts.line_chart(
        title="Daily volume", x=_days(3), series=[("Decisions", [10, 47, 12])], y_label="n", bars=True, counts=True
    )
    assert "12.50" not in svg and "37.50" not in svg
