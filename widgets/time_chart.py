"""The base of the two charts: a one-line legend with the source state, and a plotext plot.

The plot is replotted only when what it would draw changed at its own resolution. Samples fall into
columns of a round time span aligned to the clock (not to the newest sample), and only complete
columns are drawn: a column's mean is final once its time is over, so the picture changes when a
column fills (or the scale, the threshold or the marks change), not on every poll. The columns
stand still: the window's start is a multiple of a quarter of its width, new columns fill it to the
right, and when it is full it jumps a quarter ahead; the x axis is labelled with times of day, which
move only with the window. So a new column repaints that column's cells, and the whole chart moves
once a quarter window (over ssh, every repainted cell is bytes on the link). The newest column
lags now by less than one column; the legend above shows the newest values. Values are rounded to
the plot's braille dots. Missing values are gaps, never zero.
"""

from __future__ import annotations

import math
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
from monotui.model import MetricSpec, Snapshot, VerdictResult
from widgets.chart_columns import (
    Point,
    clock_ticks,
    column_span_s,
    columns_of,
    complete,
    nice_top,
    segments,
    tick_label,
    ticks,
    window_start,
)
from widgets.repaint import changed_regions
from widgets.text import source_problem

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
_CLOCK_LABEL_CELLS = 8  # "14:05" and room on either side; "14:05:30" fits with less
TITLE_X = "(x: local time)"


@dataclass(frozen=True, slots=True)
class Figure:
    """Everything a chart draws, already at the plot's resolution (comparable: equal = same picture)."""

    window: float
    """The x axis's length in minutes (it starts, at 0, at the window's first column)."""
    xticks: tuple[tuple[float, str], ...]
    """The x axis's ticks: (minutes from the window's start, time of day)."""
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
        self.border_title = f"{self.METRIC.replace('_', ' ')} {TITLE_X}"
        self._redraw()

    def _title(self, snapshot: Snapshot | None) -> None:
        found = self.spec(snapshot)
        if found is not None:
            title = f"{found[1].title} {TITLE_X}"
            if self.border_title != title:
                self.border_title = title

    def watch_snapshot(self) -> None:
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        # The charts beside it share its time axis (`_shared_width`): they draw again too.
        for chart in self._row():
            chart._redraw()

    def _row(self) -> list[TimeChart]:
        """This chart and the charts beside it (the same parent)."""
        parent = self.parent
        if parent is None:
            return [self]
        return [c for c in parent.children if isinstance(c, TimeChart)]

    def _shared_width(self, own: int) -> int:
        """The plot width the time axis is laid out for: the narrowest of the charts side by
        side, so that they pick one column span and window and a moment sits at the same place
        in each (a column more or less would make one pick 20 s columns, the other 30 s)."""
        widths = [own]
        for chart in self._row():
            if chart is not self and chart.is_mounted:
                width = chart.query_one(PlotextPlot).size.width
                if width > 0:
                    widths.append(width)
        return min(widths)

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
        # Counted, and none came (weight 0, after a rollback): not a source without data.
        quiet = pair.canary is None and snapshot.request_rate.canary == 0
        text.append("no traffic" if quiet else spec.format(pair.canary))
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
        figure = self.figure(snapshot, self._shared_width(plot.size.width), plot.size.height)
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
        first = window_start(math.floor(samples[0].t / span_s), round(edge / span_s) - 1, columns)
        origin = first * span_s
        shown = [s for s in complete(samples, edge) if s.t >= origin]
        base, canary = columns_of(shown, index, spec, span_s, origin)
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

        def at(t: float) -> float:
            # A change in the column still filling shows at once, at the newest column's end.
            return (min(t, edge) - origin) / 60.0

        marks = tuple(
            (at(t), WEIGHT_MARK_COLOR) for t, _ in snapshot.weight_changes if at(t) >= 0
        ) + tuple(
            (at(t), VERDICT_MARK_COLORS[result])
            for t, result in snapshot.verdict_changes
            if at(t) >= 0
        )
        end = origin + columns * span_s
        xticks = tuple(
            ((t - origin) / 60.0, label)
            for t, label in clock_ticks(origin, end, min(6, columns // _CLOCK_LABEL_CELLS))
        )
        return Figure(
            window=columns * span_s / 60.0,
            xticks=xticks,
            top=top,
            base=rounded(base),
            canary=rounded(canary),
            limit=None if limit is None else limit * spec.scale,
            marks=marks,
            rows=rows,
        )

    def _plot(self, plt: object, figure: Figure) -> None:
        p = plt  # plotext's Plot is untyped
        p.xlim(0, figure.window)  # type: ignore[attr-defined]
        p.ylim(0, figure.top)  # type: ignore[attr-defined]
        # Round ticks (plotext's own split the range in equal parts: -11.5, -8.6, 1.7, 3.3).
        ys = ticks(0.0, figure.top, max(2, min(5, figure.rows)))  # a label a row at most
        if figure.limit is not None:
            # The axis names the limit; a round tick in the limit's row would hide it.
            row = figure.top / figure.rows
            ys = sorted([y for y in ys if abs(y - figure.limit) >= row] + [figure.limit])
        p.xticks([x for x, _ in figure.xticks], [t for _, t in figure.xticks])  # type: ignore[attr-defined]
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
