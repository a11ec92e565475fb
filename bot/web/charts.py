"""Inline SVG charts drawn on the server (no chart library, nothing from a CDN): the geometry of
horizontal bar charts and of a small week-by-week bar sparkline, for the templates to draw. The SVG
scales to the page width through its viewBox; colours are classes in console.css (the page's CSP
allows no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_WIDTH = 300  # viewBox units; the SVG is drawn at 100% of its box
LABEL_WIDTH = 76
ROW_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as shown
    x: float
    y: float
    width: float
    height: float
    low: bool = False  # drawn in the warning colour


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    label_width: int = LABEL_WIDTH


def bar_chart(title: str, rows: Sequence[tuple[str, float | None, str]], *, maximum: float | None = None,
              low_below: float | None = None) -> Chart:
    """One bar per (label, value, text): value None draws no bar (nothing to count) and says so."""
    values = [v for _, v, _ in rows if v is not None]
    top = maximum if maximum is not None else max(values, default=0) or 1
    span = BAR_WIDTH - LABEL_WIDTH - 44  # room for the value text after the longest bar
    bars = []
    for i, (label, value, text) in enumerate(rows):
        length = 0.0 if value is None else max(span * min(value / top, 1.0), 1.0 if value else 0.0)
        bars.append(Bar(label=label, text=text if value is not None else "—", x=LABEL_WIDTH, y=i * ROW_HEIGHT + 4,
                        width=round(length, 1), height=ROW_HEIGHT - 8,
                        low=low_below is not None and value is not None and value < low_below))
    return Chart(title=title, width=BAR_WIDTH, height=len(rows) * ROW_HEIGHT + 4, bars=bars)


def sparkline(values: Sequence[float | None], *, maximum: float = 100, low_below: float | None = None,
              labels: Sequence[str] = ()) -> Chart:
    """Vertical bars, one per period, oldest first (a score's trend over the weeks)."""
    width, height, gap = 8, 24, 2
    bars = []
    for i, value in enumerate(values):
        h = 0.0 if value is None else max(height * min(value / maximum, 1.0), 1.0)
        bars.append(Bar(label=labels[i] if i < len(labels) else "", text="—" if value is None else f"{value:.0f}",
                        x=i * (width + gap), y=height - h, width=width, height=round(h, 1),
                        low=low_below is not None and value is not None and value < low_below))
    return Chart(title="", width=max(len(values) * (width + gap) - gap, 1), height=height, bars=bars, label_width=0)


def sparkline_svg(chart: Chart, label: str) -> Markup:
    """The sparkline as SVG markup (built here rather than in a Jinja macro: it is drawn once per rep
    on the health page, where a macro's cost per rect added up). Every text is escaped."""
    low = ' class="low"'
    rects = "".join(
        f'<rect{low if b.low else ""} x="{b.x}" y="{b.y}" width="{b.width}" height="{b.height}">'
        f"<title>{escape(b.label)}：{escape(b.text)}</title></rect>"
        for b in chart.bars
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {chart.width} {chart.height}" width="{chart.width * 2}" '
        f'height="{chart.height * 2}" role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"{rects}</svg>"
    )
