"""p99 latency, baseline vs canary, over time."""

from __future__ import annotations

from widgets.time_chart import TimeChart


class LatencyChart(TimeChart):
    """The p99 latency in milliseconds, with the same marks as the error-rate chart."""

    METRIC = "latency_p99_ms"
