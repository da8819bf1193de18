"""The time axis of the charts, pure: samples fall into columns of a round time span aligned to the
clock, only complete columns are drawn, the columns stand still in a window that jumps a quarter of
its width when it is full, the x axis is labelled with times of day, and the y axis ends at a round
value. No Textual here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from monotui.model import MetricSpec, Sample, pooled

Point = tuple[float, float | None]
"""(minutes from the start of the window to the middle of the column, value or None for a gap)"""

SPANS_S = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)
"""Column spans in seconds: round values, so the columns (and the axis) rarely change scale."""
TOPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
"""Mantissas of the y axis top, for the same reason."""
CLOCK_STEPS_S = (
    *(1, 2, 5, 10, 15, 30),
    *(60, 120, 300, 600, 900, 1800),
    *(3600, 7200, 10800, 21600, 43200, 86400),
)
"""Steps between the x axis's times of day: round seconds, minutes and hours."""


def column_span_s(span_s: float, columns: int) -> float:
    """The smallest round column span that fits `span_s` seconds into `columns` columns."""
    need = span_s / max(columns - 1, 1)  # -1: clock-aligned columns may straddle one more
    for value in SPANS_S:
        if value >= need:
            return float(value)
    return float(math.ceil(need / 86400) * 86400)


def nice_top(value: float) -> float:
    """The smallest round number at or above `value` (the y axis top)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for mantissa in TOPS:
        top = mantissa * 10.0**exponent
        if top >= value * (1 - 1e-9):
            return top
    return 10.0 ** (exponent + 1)


def ticks(low: float, high: float, most: int) -> list[float]:
    """Round tick values from `low` to `high` (inclusive where they fall), at most `most` of them."""
    width = high - low
    if width <= 0:
        return [low]
    exponent = math.floor(math.log10(width / most))
    for mantissa in (1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0):
        step = mantissa * 10.0**exponent
        if width / step <= most:
            break
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def tick_label(value: float) -> str:
    """A tick without trailing zeros: 0, 2.5, 100."""
    return f"{value:g}"


def window_start(oldest: int, newest: int, columns: int) -> int:
    """The first column of a window of `columns` columns that holds column `newest` (the newest
    complete one) and starts at or before `oldest` where it can. The start is a multiple of a
    quarter of the window: the columns stand still while new ones fill it to the right, and when
    it is full it jumps a quarter ahead, so the whole picture moves once a quarter window, not
    once a column (over ssh every moved cell is bytes on the link)."""
    quarter = max(1, columns // 4)
    first = math.floor(oldest / quarter) * quarter
    if newest >= first + columns:
        first = math.ceil((newest - columns + 1) / quarter) * quarter
    return first


def columns_of(
    samples: Sequence[Sample], metric: int, spec: MetricSpec, span_s: float, origin: float
) -> tuple[list[Point], list[Point]]:
    """Baseline and canary points of metric `metric`, one per clock-aligned column of `span_s`
    seconds that holds samples: the metric pooled over the column (bad / requests summed for a
    ratio, a request-weighted mean for a quantile), or None (a gap) when no sample in it has a
    value. x is in minutes from `origin` (the start of the window) to the column's middle.
    Columns without samples are skipped."""
    groups: dict[int, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(math.floor(sample.t / span_s), []).append(sample)
    base: list[Point] = []
    canary: list[Point] = []
    for column in sorted(groups):
        group = groups[column]
        x = ((column + 0.5) * span_s - origin) / 60.0
        base.append((x, pooled(group, metric, ratio=spec.ratio, canary=False)))
        canary.append((x, pooled(group, metric, ratio=spec.ratio, canary=True)))
    return base, canary


def clock_ticks(start: float, end: float, most: int) -> list[tuple[float, str]]:
    """Round times of day from `start` to `end` (epoch seconds), at most `most` of them, each with
    its label in local time (HH:MM, or HH:MM:SS when they are less than a minute apart). They
    change only when the window does."""
    width = end - start
    step = next((s for s in CLOCK_STEPS_S if width / s <= max(most, 1)), None)
    if step is None:
        step = math.ceil(width / max(most, 1) / 86400) * 86400
    offset = datetime.fromtimestamp(start, tz=UTC).astimezone().utcoffset()
    shift = offset.total_seconds() if offset is not None else 0.0
    first = math.ceil((start + shift) / step) * step - shift
    form = "%H:%M:%S" if step < 60 else "%H:%M"
    found = []
    t = first
    while t <= end + 1e-6:
        found.append((t, datetime.fromtimestamp(t, tz=UTC).astimezone().strftime(form)))
        t += step
    return found


def complete(samples: Sequence[Sample], edge: float) -> Sequence[Sample]:
    """The samples before `edge` (the start of the column still filling); samples are in time
    order, so this is a prefix."""
    end = len(samples)
    while end and samples[end - 1].t >= edge:
        end -= 1
    return samples[:end]


def segments(points: Sequence[Point]) -> list[tuple[list[float], list[float]]]:
    """Split points at gaps: plotext joins everything it is given with a line."""
    out: list[tuple[list[float], list[float]]] = []
    xs: list[float] = []
    ys: list[float] = []
    for x, y in points:
        if y is None:
            if xs:
                out.append((xs, ys))
            xs, ys = [], []
        else:
            xs.append(x)
            ys.append(y)
    if xs:
        out.append((xs, ys))
    return out
