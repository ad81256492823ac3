"""Geometry for the report's inline SVG charts, computed server-side.

The functions here return plain numbers and labels; the templates turn them
into SVG elements (autoescaped like everything else), so no chart needs a
script or a library and the page stays one self-contained file. Sizes are
bounded by design: a bar per province or category, a column per five days
of certificate expiry, a point per sweep of the index trend (the model keeps
the last few), however many endpoints the sweep had.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator import scoring

# SPBE index predicate bands (``orchestrator.scoring`` ids), best first: the colour class a bar gets.
PREDICATE_CLASSES = {
    "memuaskan": "p-memuaskan",
    "sangat_baik": "p-sangat-baik",
    "baik": "p-baik",
    "cukup": "p-cukup",
    "kurang": "p-kurang",
}
NO_PREDICATE_CLASS = "p-none"


def predicate_class(predicate_id: str | None) -> str:
    return PREDICATE_CLASSES.get(predicate_id or "", NO_PREDICATE_CLASS)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # 0..1; None is "no score" and is drawn as a hatched stub
    text: str  # what is written at the end of the bar
    css_class: str
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_area: int
    row_height: int
    bar_height: int
    ticks: list[tuple[float, str]]  # (x, label) for 0, 25, 50, 75, 100 %


def bar_chart(
    rows: Iterable[tuple[str, float | None, str, str]],
    *,
    label_width: int = 190,
    bar_area: int = 430,
    row_height: int = 20,
    tick_labels: dict[int, str] | None = None,
) -> BarChart:
    """Horizontal bars for ``(label, value 0..1 or None, text, css class)`` rows, in the given order."""
    bars = []
    top = 22  # room for the tick labels
    for i, (label, value, text, css_class) in enumerate(rows):
        clipped = None if value is None else min(max(float(value), 0.0), 1.0)
        bars.append(
            Bar(
                label=label,
                value=clipped,
                text=text,
                css_class=css_class,
                y=top + i * row_height,
                width=round((clipped or 0.0) * bar_area, 1),
            )
        )
    tick_labels = tick_labels or {pct: f"{pct}%" for pct in (0, 25, 50, 75, 100)}
    ticks = [(label_width + bar_area * pct / 100, text) for pct, text in sorted(tick_labels.items())]
    return BarChart(
        bars=bars,
        width=label_width + bar_area + 270,  # room for "100% · 5.00 · Satisfactory (Memuaskan)"
        height=top + max(len(bars), 1) * row_height + 6,
        label_width=label_width,
        bar_area=bar_area,
        row_height=row_height,
        bar_height=row_height - 6,
        ticks=ticks,
    )


# -- certificate expiry timeline -------------------------------------------

TIMELINE_FIRST_DAY = -90  # anything expired longer ago is piled into the first column
TIMELINE_LAST_DAY = 400  # anything valid longer is piled into the last column
TIMELINE_BIN_DAYS = 5  # 0 and 30 fall on bin edges, so no column straddles a threshold
SOON_DAYS = 30


def expiry_class(days_left: float | None) -> str:
    if days_left is None:
        return "cert-unknown"
    if days_left < 0:
        return "cert-expired"
    if days_left < SOON_DAYS:
        return "cert-soon"
    return "cert-ok"


@dataclass(frozen=True)
class TimelineColumn:
    first_day: int  # inclusive; the first/last column also hold everything beyond
    last_day: int  # exclusive
    count: int
    css_class: str
    x: float
    width: float
    height: float
    open_start: bool
    open_end: bool


@dataclass(frozen=True)
class Timeline:
    columns: list[TimelineColumn]
    total: int
    width: int
    height: int
    plot_left: int
    plot_top: int
    plot_height: int
    max_count: int
    ticks: list[tuple[float, int]]  # (x, day)
    today_x: float
    soon_x: float


def expiry_timeline(
    days_left: Iterable[float | None], *, plot_width: int = 700, plot_height: int = 120
) -> Timeline:
    """A histogram over days left, in 5-day columns on a linear time axis from -90 to +400 days."""
    bins = (TIMELINE_LAST_DAY - TIMELINE_FIRST_DAY) // TIMELINE_BIN_DAYS
    counts = [0] * bins
    total = 0
    for days in days_left:
        if days is None:
            continue
        total += 1
        index = int((float(days) - TIMELINE_FIRST_DAY) // TIMELINE_BIN_DAYS)
        counts[min(max(index, 0), bins - 1)] += 1
    plot_left, plot_top = 40, 16
    column_width = plot_width / bins
    peak = max(counts) if total else 0

    def x_of(day: float) -> float:
        return round(plot_left + (day - TIMELINE_FIRST_DAY) / TIMELINE_BIN_DAYS * column_width, 1)

    columns = []
    for i, count in enumerate(counts):
        if not count:
            continue
        first = TIMELINE_FIRST_DAY + i * TIMELINE_BIN_DAYS
        # At least 2 px so a single certificate is visible beside a column of thousands.
        height = max(2.0, round(count / peak * plot_height, 1))
        columns.append(
            TimelineColumn(
                first_day=first,
                last_day=first + TIMELINE_BIN_DAYS,
                count=count,
                css_class=expiry_class(first),
                x=x_of(first),
                width=round(column_width - 1, 1),
                height=height,
                open_start=i == 0,
                open_end=i == bins - 1,
            )
        )
    ticks = [(x_of(day), day) for day in (-90, -30, 0, 30, 90, 180, 270, 365)]
    return Timeline(
        columns=columns,
        total=total,
        width=plot_left + plot_width + 20,
        height=plot_top + plot_height + 40,
        plot_left=plot_left,
        plot_top=plot_top,
        plot_height=plot_height,
        max_count=peak,
        ticks=ticks,
        today_x=x_of(0),
        soon_x=x_of(SOON_DAYS),
    )


# -- index over the last sweeps -------------------------------------------------

TREND_MIN_INDEX = 1.0  # the axis is the whole SPBE scale, so a line's slope is never exaggerated
TREND_MAX_INDEX = scoring.MAX_INDEX


@dataclass(frozen=True)
class TrendPoint:
    label: str  # what the point is (a date), for its tooltip and the axis
    index: float | None  # None: the sweep could not measure the scope; no dot, the line breaks
    x: float
    y: float | None
    css_class: str  # the predicate's colour class


@dataclass(frozen=True)
class TrendBand:
    predicate_id: str
    css_class: str
    y: float
    height: float


@dataclass(frozen=True)
class TrendChart:
    points: list[TrendPoint]
    segments: list[str]  # SVG path data "M x y L x y …", one per run of measured sweeps
    bands: list[TrendBand]  # the predicate bands behind the line, best on top
    ticks: list[tuple[float, float]]  # (y, index) at 1, 2, 3, 4, 5
    width: int
    height: int
    plot_left: int
    plot_top: int
    plot_width: int
    plot_height: int


def trend_line(
    rows: Iterable[tuple[str, float | None, str | None]], *, plot_width: int = 420, plot_height: int = 120
) -> TrendChart:
    """A line over ``(label, index 1..5 or None, predicate id)`` rows, oldest first, on a fixed 1–5 axis."""
    rows = list(rows)
    plot_left, plot_top = 34, 10

    def y_of(index: float) -> float:
        clipped = min(max(index, TREND_MIN_INDEX), TREND_MAX_INDEX)
        share = (clipped - TREND_MIN_INDEX) / (TREND_MAX_INDEX - TREND_MIN_INDEX)
        return round(plot_top + plot_height * (1 - share), 1)

    # One sweep sits in the middle; more are spread edge to edge.
    step = plot_width / (len(rows) - 1) if len(rows) > 1 else 0.0
    points = []
    for i, (label, index, predicate_id) in enumerate(rows):
        x = round(plot_left + (i * step if len(rows) > 1 else plot_width / 2), 1)
        y = None if index is None else y_of(float(index))
        points.append(TrendPoint(label, index, x, y, predicate_class(predicate_id)))
    segments, run = [], []
    for point in [*points, None]:  # the sentinel closes the last run
        if point is not None and point.y is not None:
            run.append(point)
            continue
        if run:
            segments.append(" ".join(f"{'M' if j == 0 else 'L'} {p.x} {p.y}" for j, p in enumerate(run)))
        run = []
    bands = []
    upper = TREND_MAX_INDEX
    for predicate in scoring.PREDICATES:  # best first, each from its lower bound up to the band above
        lower = max(predicate.min_index, TREND_MIN_INDEX)
        top = y_of(upper)
        bands.append(TrendBand(predicate.id, predicate_class(predicate.id), top, round(y_of(lower) - top, 1)))
        upper = lower
    return TrendChart(
        points=points,
        segments=segments,
        bands=bands,
        ticks=[(y_of(float(i)), float(i)) for i in range(1, 6)],
        width=plot_left + plot_width + 16,
        height=plot_top + plot_height + 22,
        plot_left=plot_left,
        plot_top=plot_top,
        plot_width=plot_width,
        plot_height=plot_height,
    )
