"""The base of the two charts: a one-line legend with the source state, and a plotext plot.

The plot is replotted only when what it would draw changed (the downsampled series, the marks, the
threshold or the size), so a quiet screen costs almost nothing. Missing values are gaps, never zero.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import var
from textual.widget import Widget
from textual_plotext import PlotextPlot

from monotui.model import Pair, Sample, Snapshot, VerdictResult
from widgets.text import source_problem

Point = tuple[float, float | None]
"""(minutes relative to now, value or None for a gap)"""

BASELINE_COLOR = "blue+"
CANARY_COLOR = "orange"
THRESHOLD_COLOR = "red"
WEIGHT_MARK_COLOR = "gray"
VERDICT_MARK_COLORS = {
    VerdictResult.FAIL: "red",
    VerdictResult.MARGINAL: "yellow",
    VerdictResult.PASS: "green",
    VerdictResult.NODATA: "gray",
}
_Y_AXIS_COLUMNS = 8  # what plotext's y tick labels take; the rest is data


def downsample(
    samples: Sequence[Sample], pick: str, field: str, buckets: int, now: float
) -> list[Point]:
    """Average `field.pick` of consecutive samples into at most `buckets` points.

    A bucket whose samples are all missing stays missing (a gap), so NO DATA is never drawn as 0.
    """
    if not samples or buckets <= 0:
        return []
    size = -(-len(samples) // buckets)  # ceil
    # Align the buckets to the newest sample so the right edge is always the latest value.
    start = len(samples) % size
    points: list[Point] = []
    for lo in range(start - size if start else 0, len(samples), size):
        chunk = samples[max(lo, 0) : lo + size]
        values = [v for s in chunk if (v := getattr(getattr(s, field), pick)) is not None]
        t = chunk[-1].t
        points.append(((t - now) / 60.0, sum(values) / len(values) if values else None))
    return points


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


class ChartLegend(Widget):
    """One line of text that repaints without a layout pass (Static.update would relayout)."""

    DEFAULT_CSS = "ChartLegend { height: 1; width: 1fr; padding: 0 1; }"

    def __init__(self) -> None:
        super().__init__()
        self.text = Text(end="")

    def show(self, text: Text) -> None:
        """Replace the line; only this widget repaints."""
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return self.text


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

    TITLE = "chart"
    FIELD = "error_rate"
    SCALE = 1.0
    UNIT = ""

    snapshot: var[Snapshot | None] = var(None, always_update=True, init=False)
    """The rollout to draw; set by the screen on every poll."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._drawn: object = None
        self._legend_drawn: object = None

    def compose(self) -> ComposeResult:
        yield ChartLegend()
        yield PlotextPlot()

    def on_mount(self) -> None:
        self.border_title = f"{self.TITLE} (x: minutes)"
        self._redraw()

    def watch_snapshot(self) -> None:
        self._redraw()

    def on_resize(self, event: Resize) -> None:
        self._redraw()

    def threshold(self, snapshot: Snapshot) -> float | None:
        """A horizontal line (in the metric's unit before scaling), or None."""
        return None

    def legend(self, snapshot: Snapshot | None) -> Text:
        """The line above the plot: what each colour is, the latest values, the source state."""
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        latest = snapshot.latest if snapshot else None
        pair: Pair = getattr(latest, self.FIELD) if latest else Pair()
        text.append("━ base ", style="bold blue")
        text.append(self.format(pair.baseline))
        text.append(" ━ canary ", style="bold dark_orange")
        text.append(self.format(pair.canary))
        limit = self.threshold(snapshot) if snapshot else None
        if limit is not None:
            text.append(" ━ limit ", style="bold red")
            text.append(self.format(limit))
        problem = source_problem(snapshot, "metrics")
        if problem is not None:
            text.append("  ")
            text.append_text(problem)
        return text

    def format(self, value: float | None) -> str:
        """One value in the chart's unit."""
        if value is None:
            return "NO DATA"
        return f"{value * self.SCALE:.2f}{self.UNIT}"

    def _redraw(self) -> None:
        if not self.is_mounted:
            return
        snapshot = self.snapshot
        legend = self.legend(snapshot)
        if legend != self._legend_drawn:
            self._legend_drawn = legend
            self.query_one(ChartLegend).show(legend)
        plot = self.query_one(PlotextPlot)
        width = max(plot.size.width - _Y_AXIS_COLUMNS, 1)
        if snapshot is None:
            key: object = ("empty", plot.size)
        else:
            base = downsample(snapshot.samples, "baseline", self.FIELD, width, snapshot.t)
            canary = downsample(snapshot.samples, "canary", self.FIELD, width, snapshot.t)
            span = base[0][0] if base else 0.0
            weights = tuple((t - snapshot.t) / 60.0 for t, _ in snapshot.weight_changes)
            verdicts = tuple(((t - snapshot.t) / 60.0, r) for t, r in snapshot.verdict_changes)
            key = (plot.size, base, canary, self.threshold(snapshot), weights, verdicts, span)
        if key == self._drawn:
            return
        self._drawn = key
        with self.app.batch_update():
            plt = plot.plt
            plt.clear_data()
            if snapshot is not None:
                self._plot(plt, snapshot, base, canary, span, weights, verdicts)
            plot.refresh()

    def _plot(
        self,
        plt: object,
        snapshot: Snapshot,
        base: list[Point],
        canary: list[Point],
        span: float,
        weights: tuple[float, ...],
        verdicts: tuple[tuple[float, VerdictResult], ...],
    ) -> None:
        p = plt  # plotext's Plot is untyped
        ys = [y for _, y in (*base, *canary) if y is not None]
        limit = self.threshold(snapshot)
        top = max([*ys, limit or 0.0, 1e-9]) * self.SCALE * 1.15
        left = min(span, -1.0 / 60)
        p.xlim(left, 0)  # type: ignore[attr-defined]
        p.ylim(0, top)  # type: ignore[attr-defined]
        for x in weights:
            if x >= left:
                p.vline(x, WEIGHT_MARK_COLOR)  # type: ignore[attr-defined]
        for x, result in verdicts:
            if x >= left:
                p.vline(x, VERDICT_MARK_COLORS[result])  # type: ignore[attr-defined]
        if limit is not None:
            p.hline(limit * self.SCALE, THRESHOLD_COLOR)  # type: ignore[attr-defined]
        for points, color in ((base, BASELINE_COLOR), (canary, CANARY_COLOR)):
            for xs, seg in segments(points):
                scaled = [y * self.SCALE for y in seg]
                if len(xs) == 1:
                    p.scatter(xs, scaled, color=color, marker="braille")  # type: ignore[attr-defined]
                else:
                    p.plot(xs, scaled, color=color, marker="braille")  # type: ignore[attr-defined]
