"""p99 latency, baseline vs canary, over time."""

from __future__ import annotations

from widgets.time_chart import TimeChart


class LatencyChart(TimeChart):
    """p99 latency in milliseconds, with the same marks as the error-rate chart."""

    TITLE = "p99 latency"
    FIELD = "latency_p99_ms"
    SCALE = 1.0
    UNIT = " ms"

    def format(self, value: float | None) -> str:
        return "NO DATA" if value is None else f"{value:.0f} ms"
