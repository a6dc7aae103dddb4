"""Charts drawn on the server as SVG (no JavaScript, nothing from a CDN): bars and a line.

`bar_chart` and `line_chart` compute the geometry; `svg` writes it as markup, every text escaped. It is
written here rather than in a template: a year by day is some two thousand shapes, and the template engine
took 20 ms to draw them. The numbers are shown beside each chart in a table, so nothing is only in the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 72, 8, 12, 36  # room for the axis labels, at twice their size on a phone
MAX_X_LABELS = 8  # on a phone, every other one (the rest are `wide-only`): its labels are drawn twice as large


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the class that colours it
    values: Sequence[int | None]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css, "x,y x,y …") for a polyline
    points: list[Point] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    x_labels: list[tuple[float, str, bool]] = field(default_factory=list)  # (x, label, shown on a phone too)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css, name)
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.bars and not self.points


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at least `value` (a round top for the axis)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= value:
                return factor * step
        step *= 10


def _frame(labels: Sequence[str], top: int, ticks: Callable[[int], str]) -> tuple[Chart, float, float]:
    chart = Chart()
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    chart.y_ticks = [(TOP + plot_height * (1 - n / 4), ticks(top * n // 4)) for n in range(5)]
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    chart.x_labels = [
        (LEFT + slot * (i + 0.5), label, i % (2 * every) == 0) for i, label in enumerate(labels) if i % every == 0
    ]
    return chart, slot, plot_height


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Callable[[int], str],
    ticks: Callable[[int], str] | None = None,
    counts: bool = False,
) -> Chart:
    """Grouped bars: one group per label, one bar per series. `fmt` writes a bar's value, `ticks` the axis's
    (`fmt` unless given). `counts`: whole numbers, so the axis's four steps are whole too."""
    top = _nice_ceiling(max((v or 0 for s in series for v in s.values), default=0))
    if counts:
        top = -(-max(top, 4) // 4) * 4
    chart, slot, plot_height = _frame(labels, top, ticks or fmt)
    chart.legend = [(s.css, s.name) for s in series]
    inner = slot * 0.8 / max(1, len(series))
    for i, label in enumerate(labels):
        for j, one in enumerate(series):
            value = one.values[i] or 0
            if value <= 0:
                continue
            height = plot_height * value / top
            chart.bars.append(
                Bar(
                    x=LEFT + slot * i + slot * 0.1 + inner * j,
                    y=TOP + plot_height - height,
                    width=max(1.0, inner - 1),
                    height=height,
                    css=one.css,
                    title=f"{label}: {one.name} {fmt(value)}",
                )
            )
    return chart


def line_chart(labels: Sequence[str], series: Series, *, top: int, fmt: Callable[[int], str]) -> Chart:
    """A line over the labels; None values break nothing, they are simply not drawn."""
    chart, slot, plot_height = _frame(labels, top, fmt)
    chart.legend = [(series.css, series.name)]
    for i, value in enumerate(series.values):
        if value is None:
            continue
        chart.points.append(
            Point(
                LEFT + slot * (i + 0.5), TOP + plot_height * (1 - min(value, top) / top), f"{labels[i]}: {fmt(value)}"
            )
        )
    if len(chart.points) > 1:
        chart.lines.append((series.css, " ".join(f"{p.x:.1f},{p.y:.1f}" for p in chart.points)))
    return chart


def svg(chart: Chart, *, html_id: str, title: str) -> SafeString:
    """The chart as a <figure>: the SVG picture, titled for screen readers, and its legend."""
    left, right = chart.plot_left, chart.plot_right
    parts = [
        f'<figure class="chart">\n  <svg viewBox="0 0 {chart.width} {chart.height}" role="img" '
        f'aria-labelledby="{html_id}-title" preserveAspectRatio="xMidYMid meet">\n'
        f'    <title id="{html_id}-title">{escape(title)}</title>\n    '
    ]
    parts += [
        f'<line class="grid-line" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/><text class="axis-label" '
        f'x="{left - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle">{escape(label)}</text>'
        for y, label in chart.y_ticks
    ]
    parts.append("\n    ")
    parts += [
        f'<text class="axis-label{"" if narrow else " wide-only"}" x="{x:.1f}" y="{chart.height - 6}" '
        f'text-anchor="middle">{escape(label)}</text>'
        for x, label, narrow in chart.x_labels
    ]
    parts.append("\n    ")
    parts += [
        f'<rect class="{bar.css}" x="{bar.x:.1f}" y="{bar.y:.1f}" width="{bar.width:.1f}" height="{bar.height:.1f}" '
        f'rx="2"><title>{escape(bar.title)}</title></rect>'
        for bar in chart.bars
    ]
    parts.append("\n    ")
    parts += [f'<polyline class="{css} chart-line" points="{points}" fill="none"/>' for css, points in chart.lines]
    parts.append("\n    ")
    dot = chart.legend[0][0] if chart.legend else ""
    parts += [
        f'<circle class="{dot} chart-dot" cx="{point.x:.1f}" cy="{point.y:.1f}" r="3.5">'
        f"<title>{escape(point.title)}</title></circle>"
        for point in chart.points
    ]
    legend = "".join(f'<li><span class="swatch {css}"></span> {escape(name)}</li>' for css, name in chart.legend)
    parts.append(f'\n  </svg>\n  <figcaption><ul class="legend">{legend}</ul></figcaption>\n</figure>')
    return mark_safe("".join(parts))  # every text above is escaped; the rest is numbers and our own classes
