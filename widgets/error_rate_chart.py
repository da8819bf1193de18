"""Baseline vs canary error rate over time, the failure threshold and marks where weights changed."""

from __future__ import annotations

from monotui.model import Snapshot
from widgets.time_chart import TimeChart


class ErrorRateChart(TimeChart):
    """Error rate in percent. Grey vertical marks: weight changes; coloured marks: verdict changes."""

    TITLE = "error rate"
    FIELD = "error_rate"
    SCALE = 100.0
    UNIT = " %"

    def threshold(self, snapshot: Snapshot) -> float | None:
        return snapshot.error_threshold
