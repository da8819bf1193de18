"""Samples for tests in the shape the sources make: per version, the requests and, per metric
(error rate, p99 latency), the bad requests and the value over the poll."""

from __future__ import annotations

from monotui.config import JudgeConfig
from monotui.metrics import metrics_for, specs
from monotui.model import MetricSpec, Sample, Side

SPECS: tuple[MetricSpec, ...] = specs(metrics_for(JudgeConfig()))
"""The default metrics (error rate, p99 latency) with the default limits."""


def side(
    error: float | None, latency: float | None = None, rps: float | None = None, span: float = 1.0
) -> Side:
    """One version: `error` a fraction, `latency` a p99 in ms, `rps` requests per second (None:
    no series). Bad requests follow the error rate; slow ones are not counted."""
    requests = None if rps is None else rps * span
    errors = None if error is None or requests is None else error * requests
    slow = None if latency is None or requests is None else 0.0
    return Side(requests, (errors, slow), (error, latency))


def sample(
    t: float,
    error: tuple[float | None, float | None] = (None, None),
    latency: tuple[float | None, float | None] = (None, None),
    rps: tuple[float | None, float | None] = (None, None),
    span: float = 1.0,
) -> Sample:
    """A sample at `t` covering `span` seconds; each pair is (baseline, canary)."""
    return Sample(
        t=t,
        span_s=span,
        baseline=side(error[0], latency[0], rps[0], span),
        canary=side(error[1], latency[1], rps[1], span),
    )
