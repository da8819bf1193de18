"""Baseline vs canary error rate over time, the failure threshold and marks where weights changed."""

from __future__ import annotations

from widgets.time_chart import TimeChart


class ErrorRateChart(TimeChart):
    """The error rate in percent. Grey vertical marks: weight changes; coloured: verdict changes."""

    METRIC = "error_rate"
