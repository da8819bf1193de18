"""The base of the two charts: a one-line legend with the source state, and a plotext plot.

The plot is replotted only when what it would draw changed at its own resolution. Samples fall into
columns of a round time span aligned to the clock (not to the newest sample), and only complete
columns are drawn: a column's mean is final once its time is over, so the picture changes when a
column fills (or the scale, the threshold or the marks change), not on every poll. The x axis ends
at the end of the newest complete column, so the plot lags now by less than one column; the legend
above it shows the newest values. Values are rounded to the plot's braille dots. Missing values are
gaps, never zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotext._utility as plotext_utility
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.geometry import Size
from textual.reactive import var
from textual.widget import Widget
from textual_plotext import PlotextPlot

import widgets.look as look
from monotui.model import MetricSpec, Sample, Snapshot, VerdictResult, pooled
from widgets.repaint import changed_regions
from widgets.text import source_problem

Point = tuple[float, float | None]
"""(minutes relative to the end of the newest complete column, value or None for a gap)"""

# plotext drops duplicate points and tick labels through set(), whose order follows the process's
# hash seed: the same data drew a different chart from one run to the next. Keep the first of
# each, in order.
plotext_utility.no_duplicates = lambda data: list(dict.fromkeys(data))

THRESHOLD_COLOR = "red"
WEIGHT_MARK_COLOR = "gray"
VERDICT_MARK_COLORS = {
    VerdictResult.FAIL: "red",
    VerdictResult.MARGINAL: "yellow",
    VerdictResult.PASS: "green",
    VerdictResult.NODATA: "gray",
}
CANARY_NO_COLOR = "•"
"""The canary's mark when NO_COLOR turns both lines the same grey."""
_Y_AXIS_COLUMNS = 8  # what plotext's y tick labels take; the rest is data
_X_AXIS_ROWS = 2  # the x axis line and its tick labels
_SPANS_S = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)
"""Column spans in seconds: round values, so the columns (and the axis) rarely change scale."""
_TOPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
"""Mantissas of the y axis top, for the same reason."""


def column_span_s(span_s: float, columns: int) -> float:
    """The smallest round column span that fits `span_s` seconds into `columns` columns."""
    need = span_s / max(columns - 1, 1)  # -1: clock-aligned columns may straddle one more
    for value in _SPANS_S:
        if value >= need:
            return float(value)
    return float(math.ceil(need / 86400) * 86400)


def nice_top(value: float) -> float:
    """The smallest round number at or above `value` (the y axis top)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for mantissa in _TOPS:
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


def columns_of(
    samples: Sequence[Sample], metric: int, spec: MetricSpec, span_s: float, edge: float
) -> tuple[list[Point], list[Point]]:
    """Baseline and canary points of metric `metric`, one per clock-aligned column of `span_s`
    seconds that holds samples: the metric pooled over the column (bad / requests summed for a
    ratio, a request-weighted mean for a quantile), or None (a gap) when no sample in it has a
    value. x is in minutes relative to `edge` (the end of the newest column). Columns without
    samples are skipped."""
    groups: dict[int, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(math.floor(sample.t / span_s), []).append(sample)
    base: list[Point] = []
    canary: list[Point] = []
    for column in sorted(groups):
        group = groups[column]
        x = ((column + 1) * span_s - edge) / 60.0
        base.append((x, pooled(group, metric, ratio=spec.ratio, canary=False)))
        canary.append((x, pooled(group, metric, ratio=spec.ratio, canary=True)))
    return base, canary


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


@dataclass(frozen=True, slots=True)
class Figure:
    """Everything a chart draws, already at the plot's resolution (comparable: equal = same picture)."""

    left: float
    """The x axis start in minutes (the end, 0, is the end of the newest column)."""
    top: float
    """The y axis top, in the chart's unit."""
    base: tuple[Point, ...]
    canary: tuple[Point, ...]
    limit: float | None
    """The failure threshold in the chart's unit, or None."""
    marks: tuple[tuple[float, str], ...]
    """Vertical marks: (x, colour) for weight and verdict changes."""
    rows: int
    """Rows of the plot area (the y resolution is four dots a row)."""


class ChartLegend(Widget):
    """One line of text that repaints without a layout pass (Static.update would relayout)."""

    DEFAULT_CSS = "ChartLegend { height: 1; width: 1fr; padding: 0 1; }"

    def __init__(self) -> None:
        super().__init__()
        self.text = Text(end="")

    def show(self, text: Text) -> None:
        """Replace the line; only the cells that changed repaint (a value, not the names)."""
        before, self.text = self.text, text
        changed = changed_regions([before], [text], self.size.width)
        if changed is None or not before.plain:
            self.refresh()
        elif changed:
            self.refresh(*changed)

    def render(self) -> Text:
        return self.text


class LinePlot(PlotextPlot):
    """A plotext plot that repaints only the rows that changed when it is replotted: a new column
    moves the lines, not the axes, the limit or the empty rows, and over ssh every repainted row
    is bytes on the link."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: Text | None = None
        self._shown_size: Size | None = None

    def on_mount(self) -> None:
        super().on_mount()
        # A theme picked from the palette recolours the axes: build the picture again.
        self.app.theme_changed_signal.subscribe(self, lambda _: self._forget())

    def _forget(self) -> None:
        self._shown = None
        self.refresh()

    def _build(self) -> Text:
        built = super().render()
        assert isinstance(built, Text)  # plotext's picture, read from its ANSI
        self._shown, self._shown_size = built, self.size
        return built

    def redraw(self) -> None:
        """The data changed: build the picture now and repaint the rows that differ."""
        before, size = self._shown, self._shown_size
        after = self._build()
        old = list(before.split()) if before is not None else None
        new = list(after.split())
        if old is None or size != self.size or len(old) != len(new):
            self.refresh()
            return
        changed = changed_regions(old, new, self.size.width)
        if changed is None:
            self.refresh()
        elif changed:
            self.refresh(*changed)

    def render(self) -> Text:
        if self._shown is None or self._shown_size != self.size:
            return self._build()
        return self._shown


class TimeChart(Vertical):
    """Baseline vs canary of one metric over time. Subclasses pick the metric and its scale."""

    DEFAULT_CSS = """
    TimeChart {
        height: 1fr;
        min-height: 5;
        border: round $primary 50%;
        padding: 0;
    }
    TimeChart > PlotextPlot { height: 1fr; min-height: 3; }
    """

    METRIC = "error_rate"
    """The name of the metric drawn (a MetricSpec in the snapshot's `metrics`)."""

    snapshot: var[Snapshot | None] = var(None, always_update=True, init=False)
    """The rollout to draw; set by the screen on every poll."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._drawn: tuple[object, Figure | None] | None = None
        self._legend_drawn: object = None

    def compose(self) -> ComposeResult:
        yield ChartLegend()
        plot = LinePlot()
        if look.current().colors16:
            plot.theme = look.PLOT_THEME16
        yield plot

    def on_mount(self) -> None:
        self.border_title = f"{self.METRIC.replace('_', ' ')} (x: minutes)"
        self._redraw()

    def _title(self, snapshot: Snapshot | None) -> None:
        found = self.spec(snapshot)
        if found is not None:
            title = f"{found[1].title} (x: minutes)"
            if self.border_title != title:
                self.border_title = title

    def watch_snapshot(self) -> None:
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        self._redraw()

    def spec(self, snapshot: Snapshot | None) -> tuple[int, MetricSpec] | None:
        """The metric's index and spec in `snapshot` (None: the rollout does not measure it)."""
        return snapshot.metric(self.METRIC) if snapshot is not None else None

    def legend(self, snapshot: Snapshot | None) -> Text:
        """The line above the plot: what each colour is, the current values (pooled over the
        metrics window: what the verdict looks at, not the newest, noisiest poll), the limit, the
        source state."""
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        found = self.spec(snapshot)
        if snapshot is None or found is None:
            text.append("not measured", style="dim")
            return text
        _, spec = found
        pair = snapshot.current(self.METRIC)
        # Without colour (NO_COLOR) the lines differ by their marks, and the legend shows them;
        # in ASCII they always do (plain markers, not braille).
        drawn = look.current()
        base_sign, canary_sign, limit_sign = (
            (drawn.baseline_marker, drawn.canary_marker, drawn.line)
            if drawn.ascii
            else ("⣀", CANARY_NO_COLOR, "─")
            if self._no_color
            else (drawn.line,) * 3
        )
        text.append(f"{base_sign} base ", style=f"bold {drawn.baseline}")
        text.append(spec.format(pair.baseline))
        text.append(f" {canary_sign} canary ", style=f"bold {drawn.canary}")
        text.append(spec.format(pair.canary))
        if spec.limit is not None:
            text.append(f" {limit_sign} limit ", style="bold red")
            text.append(spec.format(spec.limit))
        problem = source_problem(snapshot, "metrics")
        if problem is not None:
            text.append("  ")
            text.append_text(problem)
        return text

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        snapshot = self.snapshot
        self._title(snapshot)
        legend = self.legend(snapshot)
        if legend != self._legend_drawn:
            self._legend_drawn = legend
            self.query_one(ChartLegend).show(legend)
        plot = self.query_one(PlotextPlot)
        figure = self.figure(snapshot, plot.size.width, plot.size.height)
        # What would be drawn, at the plot's resolution: equal means the same picture.
        key = (plot.size, figure)
        if key == self._drawn:
            return
        self._drawn = key
        with self.app.batch_update():
            plt = plot.plt
            plt.clear_data()
            if figure is not None:
                self._plot(plt, figure)
            if isinstance(plot, LinePlot):
                plot.redraw()
            else:
                plot.refresh()

    def figure(self, snapshot: Snapshot | None, width: int, height: int) -> Figure | None:
        """What the plot shows for `snapshot` on `width` x `height` cells, rounded to its dots.

        The y axis fits the data, not the limit: a limit far above the lines (5 % over a 0.5 %
        error rate) would flatten a 3x regression to the floor, so it is drawn only when it is
        within twice the highest value, and always named in the legend."""
        found = self.spec(snapshot)
        if snapshot is None or not snapshot.samples or found is None:
            return None
        index, spec = found
        columns = max(width - _Y_AXIS_COLUMNS, 1)
        rows = max(height - _X_AXIS_ROWS, 1)
        dots = rows * (1 if look.current().ascii else 4)  # braille: four dots a row
        samples = snapshot.samples
        span_s = column_span_s(snapshot.t - samples[0].t, columns)
        edge = math.floor(snapshot.t / span_s) * span_s  # the newest complete column ends here
        base, canary = columns_of(complete(samples, edge), index, spec, span_s, edge)
        if not base:
            return None
        ys = [y for _, y in (*base, *canary) if y is not None]
        highest = max([*ys, 1e-9])
        limit = spec.limit if spec.limit is not None and spec.limit <= 2 * highest else None
        top = nice_top(max(highest, limit or 0.0) * spec.scale * 1.15)
        step = top / dots

        def rounded(points: list[Point]) -> tuple[Point, ...]:
            return tuple(
                (x, None if y is None else round(y * spec.scale / step) * step) for x, y in points
            )

        # The axis starts at a round number of minutes at or before the oldest column: its ticks
        # stay where they are while the lines move left a column at a time (a start that moves
        # with the data shifts every tick a cell per column, repaints the axis rows and reads as
        # jitter), and the data still fills at least 80 % of the width.
        left = -nice_top(max(span_s / 60.0 - base[0][0], 1.0 / 60))

        def at(t: float) -> float:
            # A change in the column still filling shows at once, at the right edge.
            return min((t - edge) / 60.0, 0.0)

        marks = tuple(
            (at(t), WEIGHT_MARK_COLOR) for t, _ in snapshot.weight_changes if at(t) >= left
        ) + tuple(
            (at(t), VERDICT_MARK_COLORS[result])
            for t, result in snapshot.verdict_changes
            if at(t) >= left
        )
        return Figure(
            left=left,
            top=top,
            base=rounded(base),
            canary=rounded(canary),
            limit=None if limit is None else limit * spec.scale,
            marks=marks,
            rows=rows,
        )

    def _plot(self, plt: object, figure: Figure) -> None:
        p = plt  # plotext's Plot is untyped
        p.xlim(figure.left, 0)  # type: ignore[attr-defined]
        p.ylim(0, figure.top)  # type: ignore[attr-defined]
        # Round ticks (plotext's own split the range in equal parts: -11.5, -8.6, 1.7, 3.3).
        xs = ticks(figure.left, 0.0, 5)
        ys = ticks(0.0, figure.top, max(2, min(5, figure.rows)))  # a label a row at most
        if figure.limit is not None:
            # The axis names the limit; a round tick in the limit's row would hide it.
            row = figure.top / figure.rows
            ys = sorted([y for y in ys if abs(y - figure.limit) >= row] + [figure.limit])
        p.xticks(xs, [tick_label(x) for x in xs])  # type: ignore[attr-defined]
        p.yticks(ys, [tick_label(y) for y in ys])  # type: ignore[attr-defined]
        for x, color in figure.marks:
            p.vline(x, color)  # type: ignore[attr-defined]
        if figure.limit is not None:
            p.hline(figure.limit, THRESHOLD_COLOR)  # type: ignore[attr-defined]
        drawn = look.current()
        canary_marker = drawn.canary_marker
        if self._no_color and not drawn.ascii:
            canary_marker = CANARY_NO_COLOR
        for points, color, marker in (
            (figure.base, drawn.baseline_plot, drawn.baseline_marker),
            (figure.canary, drawn.canary_plot, canary_marker),
        ):
            for xs, ys in segments(points):
                if len(xs) == 1:
                    p.scatter(xs, ys, color=color, marker=marker)  # type: ignore[attr-defined]
                else:
                    p.plot(xs, ys, color=color, marker=marker)  # type: ignore[attr-defined]

    @property
    def _no_color(self) -> bool:
        return bool(self.is_attached and self.app.no_color)
