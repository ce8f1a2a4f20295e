"""Server-side SVG charts: labelled, accessible, escaped, and free of inline styles."""

from __future__ import annotations

from datetime import date, timedelta

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
