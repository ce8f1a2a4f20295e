"""Small server-side SVG charts for the monitoring page: no JavaScript, no external service, no inline styles.

Colours and strokes come from classes styled in static/css/monitoring.css, so the
markup passes a Content-Security-Policy without 'unsafe-inline'. Every chart has a
<title> and <desc> for screen readers and labelled axes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 60, 30, 48, 46
# A date label ("01 Dec") is 6 characters of 11-unit text: about 40 units wide in Chromium's sans-serif.
# Labels are spaced at least this far apart (centre to centre) so neighbours keep a visible gap at any width:
# the SVG scales text and spacing together, so what is clear in the viewBox is clear on a phone.
DATE_LABEL_SPACING = 56
_ids = itertools.count(1)


@dataclass(frozen=True)
class Threshold:
    value: float
    label: str
    css: str = "threshold"


def percent(value: float) -> str:
    shown = value * 100
    return f"{shown:.0f}%" if abs(shown - round(shown)) < 0.05 else f"{shown:.1f}%"


def number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def line_chart(
    *,
    title: str,
    x: Sequence[date],
    series: Sequence[tuple[str, Sequence[float | None]]],
    y_label: str,
    y_format: Callable[[float], str] = number,
    y_max: float | None = None,
    thresholds: Sequence[Threshold] = (),
    bars: bool = False,
    counts: bool = False,
) -> SafeString:
    """A time chart: one or more named lines (or bars for the first series) over dates; None leaves a gap.

    counts=True puts the y-axis ticks on whole numbers (a count of decisions has no 12.5).
    """
    uid = f"chart{next(_ids)}"
    values = [v for _, ys in series for v in ys if v is not None]
    highest = max([*values, *(t.value for t in thresholds), 0.0])
    if counts:
        y_ticks = _count_ticks(y_max if y_max is not None else highest)
        top = y_ticks[-1]
    else:
        top = y_max if y_max is not None else _nice_max(highest)
        y_ticks = [top * k / 4 for k in range(5)]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(x)

    def px(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n if bars else (plot_w * i / (n - 1) if n > 1 else plot_w / 2))

    def py(v: float) -> float:
        return TOP + plot_h - plot_h * min(max(v, 0.0), top) / top

    described = _describe(title, x, series, y_format)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{uid}-t {uid}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(described)}</desc>',
        f'<text class="chart-title" x="{LEFT}" y="20">{escape(title)}</text>',
    ]
    for v in y_ticks:
        y = py(v)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(y_format(v))}</text>'
        )
    parts.append(
        f'<text class="axis-label" transform="translate(14 {TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    slot = plot_w / n if bars else plot_w / max(n - 1, 1)
    for i in _date_label_indices(n, slot):
        parts.append(
            f'<text class="tick" x="{px(i):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{x[i]:%d %b}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">Date</text>'
    )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
    )
    for t in thresholds:
        y = py(t.value)
        parts.append(f'<line class="{t.css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="{t.css}-label" x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" '
            f'text-anchor="end">{escape(t.label)}</text>'
        )
    for index, (_name, ys) in enumerate(series):
        css = f"series series-{index + 1}"
        if bars and index == 0:
            width = max(1.0, plot_w / max(n, 1) * 0.7)
            for i, v in enumerate(ys):
                if v is None:
                    continue
                y = py(v)
                parts.append(
                    f'<rect class="bar" x="{px(i) - width / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
                    f'height="{TOP + plot_h - y:.1f}"><title>{x[i]:%d %b %Y}: {escape(y_format(v))}</title></rect>'
                )
            continue
        for segment in _segments(ys):
            points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in segment)
            parts.append(f'<polyline class="{css}" points="{points}" fill="none"/>')
            if len(segment) == 1:
                i, v = segment[0]
                parts.append(f'<circle class="{css} dot" cx="{px(i):.1f}" cy="{py(v):.1f}" r="3"/>')
    if len(series) > 1 or (series and not bars):
        lx = LEFT + 4
        for index, (name, _) in enumerate(series):
            if bars and index == 0:
                continue
            parts.append(
                f'<line class="series series-{index + 1}" x1="{lx}" x2="{lx + 18}" y1="{TOP - 14}" y2="{TOP - 14}"/>'
                f'<text class="legend" x="{lx + 22}" y="{TOP - 10}">{escape(name)}</text>'
            )
            lx += 30 + 7 * len(name)
    if not values:
        parts.append(
            f'<text class="empty" x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" text-anchor="middle">'
            f"{escape(gettext('No data in this period'))}</text>"
        )
    parts.append("</svg>")
    # Every text node and attribute value above comes from escape() or our own numbers.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


def _date_label_indices(n: int, slot: float) -> list[int]:
    """Which dates get a label: evenly spaced, counted back from the latest day, never closer than the spacing."""
    if n <= 0:
        return []
    step = max(1, math.ceil(DATE_LABEL_SPACING / slot)) if slot > 0 else 1
    return list(range(n - 1, -1, -step))[::-1]


def _count_ticks(value: float) -> list[float]:
    """At most five whole-number ticks from 0 that reach past value, on a 1-2-5 step."""
    if value <= 0:
        return [0.0, 1.0]
    exponent = math.floor(math.log10(value / 4)) if value >= 4 else 0
    step = 1
    for multiplier in (1, 2, 5, 10):
        step = multiplier * 10**exponent
        if value / step <= 4:
            break
    count = math.ceil(value / step)
    return [float(step * k) for k in range(count + 1)]


def _segments(ys: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    segments: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(ys):
        if v is None:
            if segments[-1]:
                segments.append([])
        else:
            segments[-1].append((i, v))
    return [s for s in segments if s]


def _describe(title: str, x: Sequence[date], series, y_format) -> str:
    if not x:
        return gettext("%(title)s: no data.") % {"title": title}
    pieces = []
    for name, ys in series:
        known = [(d, v) for d, v in zip(x, ys, strict=True) if v is not None]
        if known:
            last_day, last = known[-1]
            pieces.append(
                gettext("%(series)s: latest %(value)s on %(day)s")
                % {"series": name, "value": y_format(last), "day": f"{last_day:%d %b %Y}"}
            )
    span = gettext("%(title)s from %(start)s to %(end)s.") % {
        "title": title,
        "start": f"{x[0]:%d %b %Y}",
        "end": f"{x[-1]:%d %b %Y}",
    }
    return span + " " + ("; ".join(pieces) or gettext("No data."))


def reliability_chart(*, title: str, rows: Sequence[Mapping[str, float]]) -> SafeString:
    """Calibration at a glance: each PD group's mean predicted PD (x) against its observed default rate (y),
    with the diagonal where the two are equal. ``rows`` as from engine.performance.calibration_table."""
    uid = f"chart{next(_ids)}"
    points = [(float(r["mean_pd"]), float(r["default_rate"])) for r in rows]
    top = min(1.0, _nice_max(max([0.0, *(v for point in points for v in point)])))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(v: float) -> float:
        return LEFT + plot_w * min(max(v, 0.0), top) / top

    def py(v: float) -> float:
        return TOP + plot_h - plot_h * min(max(v, 0.0), top) / top

    if points:
        worst = max(points, key=lambda point: point[1] - point[0])
        described = gettext(
            "%(title)s: %(groups)d groups of loans by predicted PD. Where the observed rate most exceeds the "
            "prediction: %(observed)s observed against %(predicted)s predicted."
        ) % {"title": title, "groups": len(points), "observed": percent(worst[1]), "predicted": percent(worst[0])}
    else:
        described = gettext("%(title)s: no loans with an outcome.") % {"title": title}
    ticks = [top * k / 4 for k in range(5)]
    y_label, x_label = gettext("Observed default rate"), gettext("Mean predicted PD")
    empty = gettext("No loans with an outcome yet")
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{uid}-t {uid}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(described)}</desc>',
        f'<text class="chart-title" x="{LEFT}" y="20">{escape(title)}</text>',
    ]
    for v in ticks:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py(v):.1f}" y2="{py(v):.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{escape(percent(v))}</text>'
        )
        parts.append(
            f'<text class="tick" x="{px(v):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{escape(percent(v))}</text>"
        )
    parts.append(
        f'<text class="axis-label" transform="translate(14 {TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
        f'<line class="threshold" x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(top):.1f}" y2="{py(top):.1f}"/>'
    )
    legend = [(gettext("Observed against predicted"), "series series-1"), (gettext("Perfect calibration"), "threshold")]
    lx = LEFT + 4
    for name, css in legend:
        parts.append(
            f'<line class="{css}" x1="{lx}" x2="{lx + 18}" y1="{TOP - 14}" y2="{TOP - 14}"/>'
            f'<text class="legend" x="{lx + 22}" y="{TOP - 10}">{escape(name)}</text>'
        )
        lx += 30 + 7 * len(name)
    if points:
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        parts.append(f'<polyline class="series series-1" points="{line}" fill="none"/>')
        for x, y in points:
            label = gettext("predicted %(predicted)s, observed %(observed)s") % {
                "predicted": percent(x),
                "observed": percent(y),
            }
            parts.append(
                f'<circle class="series series-1 dot" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5">'
                f"<title>{escape(label)}</title></circle>"
            )
    else:
        parts.append(
            f'<text class="empty" x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" text-anchor="middle">'
            f"{escape(empty)}</text>"
        )
    parts.append("</svg>")
    # Every text node and attribute value above comes from escape() or our own numbers.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703


def distribution_chart(
    *,
    title: str,
    bins: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    y_label: str,
    x_label: str,
    y_format: Callable[[float], str] = percent,
) -> SafeString:
    """Grouped bars: for each bin (a range of values, labelled), one bar per series (for example two models'
    shares of decisions in each probability-of-default range)."""
    uid = f"chart{next(_ids)}"
    values = [v for _, ys in series for v in ys]
    top = _nice_max(max([*values, 0.0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(bins), 1)
    slot = plot_w / n
    width = slot * 0.8 / max(len(series), 1)

    def py(v: float) -> float:
        return TOP + plot_h - plot_h * min(max(v, 0.0), top) / top

    pieces = [
        f"{name}: " + ", ".join(f"{label} {y_format(v)}" for label, v in zip(bins, ys, strict=True))
        for name, ys in series
    ]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{uid}-t {uid}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(". ".join(pieces))}</desc>',
        f'<text class="chart-title" x="{LEFT}" y="20">{escape(title)}</text>',
    ]
    for k in range(5):
        v = top * k / 4
        y = py(v)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(y_format(v))}</text>'
        )
    parts.append(
        f'<text class="axis-label" transform="translate(14 {TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    # Bin labels every other bin when they would crowd (a label is about 7 units per character).
    step = max(1, math.ceil(max((len(b) for b in bins), default=1) * 7 / slot))
    for i, label in enumerate(bins):
        x = LEFT + slot * (i + 0.5)
        if i % step == 0:
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{escape(label)}</text>'
            )
        for s, (name, ys) in enumerate(series):
            y = py(ys[i])
            left = LEFT + slot * i + slot * 0.1 + width * s
            parts.append(
                f'<rect class="bar bar-{s + 1}" x="{left:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{TOP + plot_h - y:.1f}"><title>{escape(name)}, {escape(label)}: '
                f"{escape(y_format(ys[i]))}</title></rect>"
            )
    parts.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>'
    )
    lx = LEFT + 4
    for s, (name, _) in enumerate(series):
        parts.append(
            f'<rect class="bar bar-{s + 1}" x="{lx}" y="{TOP - 20}" width="12" height="10"/>'
            f'<text class="legend" x="{lx + 16}" y="{TOP - 11}">{escape(name)}</text>'
        )
        lx += 30 + 7 * len(name)
    if not any(values):
        empty = gettext("No data")
        parts.append(
            f'<text class="empty" x="{LEFT + plot_w / 2:.0f}" y="{TOP + plot_h / 2:.0f}" text-anchor="middle">'
            f"{escape(empty)}</text>"
        )
    parts.append("</svg>")
    # Every text node and attribute value above comes from escape() or our own numbers.
    return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703
