"""The charts' columns stand still: a new column fills the window to the right without moving the
others or the axis's times of day, and a full window jumps a quarter ahead, holding the newest
column. What is drawn depends on the snapshot's clock only (the sim's in tests), never the wall's."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from monotui.model import Snapshot
from tests.samples import sample
from tests.test_widgets import T0, snapshot
from widgets import ErrorRateChart
from widgets.chart_columns import clock_ticks, window_start
from widgets.time_chart import Figure

WIDTH, HEIGHT = 58, 12  # 50 columns of data
COLUMNS = WIDTH - 8


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ")
    else:
        os.environ["TZ"] = before
    time.tzset()


def at(seconds: int, history_s: int = 600, sliding: bool = False) -> Snapshot:
    """A snapshot `seconds` after T0 + history_s, one sample a second (1 % and 2 %) since T0, or
    over the last `history_s` only (`sliding`: a history at its cap, the oldest dropped)."""
    end = T0 + history_s + seconds
    begin = end - history_s if sliding else T0
    samples = tuple(sample(t, (0.01, 0.02), rps=(90.0, 10.0)) for t in range(int(begin), int(end)))
    return snapshot(samples=samples, t=end, newest_data_t=end - 1)


def figure(snap: Snapshot) -> Figure:
    drawn = ErrorRateChart().figure(snap, WIDTH, HEIGHT)
    assert drawn is not None
    return drawn


def test_a_new_column_leaves_the_others_and_the_axis_where_they_are() -> None:
    before = figure(at(0))
    span_s = before.window * 60 / COLUMNS
    after = figure(at(int(span_s)))  # one more column is complete
    assert after.xticks == before.xticks and after.window == before.window
    assert after.base[: len(before.base)] == before.base  # the same places, the same values
    assert len(after.base) == len(before.base) + 1
    assert after.base[-1][0] > before.base[-1][0]


def test_a_full_window_jumps_a_quarter_and_keeps_the_newest_column() -> None:
    quarter = COLUMNS // 4
    start = 100 * quarter
    # The window starts on the quarter grid at or before the oldest column and fills to the right.
    assert window_start(oldest=start + 3, newest=start + 40, columns=COLUMNS) == start
    assert window_start(oldest=start + 3, newest=start + COLUMNS - 1, columns=COLUMNS) == start
    # Full: a quarter ahead, with the newest column in it, and there until that window is full.
    assert window_start(start + 3, start + COLUMNS, COLUMNS) == start + quarter
    assert window_start(start + 3, start + quarter + COLUMNS - 1, COLUMNS) == start + quarter
    assert window_start(start + 3, start + quarter + COLUMNS, COLUMNS) == start + 2 * quarter


def test_a_history_at_its_cap_moves_the_chart_once_a_quarter_window() -> None:
    span_s = figure(at(0, sliding=True)).window * 60 / COLUMNS
    pictures = [figure(at(int(n * span_s), sliding=True)) for n in range(2 * COLUMNS)]
    moves = [n for n in range(1, len(pictures)) if pictures[n].xticks != pictures[n - 1].xticks]
    # One move a quarter window, each keeping the newest column in view.
    assert len(moves) in (7, 8) and all(
        b - a == COLUMNS // 4 for a, b in zip(moves, moves[1:], strict=False)
    )
    for n in moves:
        assert pictures[n].base[-1][0] < pictures[n].window
        assert pictures[n].base[-1][0] > pictures[n].window * 3 / 4 - span_s / 60


def test_the_axis_shows_round_times_of_day() -> None:
    start = 1_700_000_400.0  # 22:20:00 UTC
    labels = [label for _, label in clock_ticks(start, start + 1200, 5)]
    assert labels == ["22:20", "22:25", "22:30", "22:35", "22:40"]
    short = [label for _, label in clock_ticks(start, start + 100, 5)]
    assert short == ["22:20:00", "22:20:30", "22:21:00", "22:21:30"]  # under a minute apart


async def test_charts_side_by_side_share_one_time_axis() -> None:
    """The error-rate chart is wider than the latency chart beside it; at some widths it would
    pick 20 s columns and the other 30 s, and the same moment would sit at different places.
    Both lay out the narrower one's window: the same times of day under both."""
    from textual.app import App, ComposeResult
    from textual.containers import Horizontal

    from widgets import LatencyChart
    from widgets.time_chart import LinePlot, TimeChart

    class Pair(App[None]):
        CSS = "ErrorRateChart { width: 3fr; } LatencyChart { width: 2fr; }"

        def compose(self) -> ComposeResult:
            with Horizontal():
                yield ErrorRateChart()
                yield LatencyChart()

    samples = tuple(
        sample(T0 + 10 * i, (0.01, 0.02), (100.0, 120.0), (90.0, 10.0), span=10.0)
        for i in range(90)
    )
    snap = snapshot(samples=samples, t=T0 + 900, newest_data_t=T0 + 890)
    for width in range(76, 84):  # across the widths where one chart alone would change span
        app = Pair()
        async with app.run_test(size=(width, 16)) as pilot:
            for chart in app.query(TimeChart):
                chart.snapshot = snap
            await pilot.pause()
            axes = [
                [word for word in row.split() if ":" in word]
                for row in (
                    chart.query_one(LinePlot).render().plain.splitlines()[-1]
                    for chart in app.query(TimeChart)
                )
            ]
            assert axes[0] and axes[0] == axes[1], (width, axes)
