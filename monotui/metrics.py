"""The judged metrics, declared once: what each is called and shown as (MetricSpec, in the model),
which query reads it (a template name in monotui.sources.promql, and how its answer is read), and
how it is judged (its allowed increase, its absolute limit, whether it is critical).

Every other part follows this list: the sources fill a sample's `bad` and `values` in its order,
the judge judges each, the charts, the verdict panel and `status --json` show each. Adding a
metric is one `Metric` here and its query template.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from monotui.config import JudgeConfig
from monotui.model import MetricSpec, Side

Reading = Literal["count", "histogram"]
"""How a metric's query answer is read: `count`, the bad requests per version (a ratio metric:
its value is bad / requests); `histogram`, bucket counts per version, giving the slow requests
(above `slow_ms`) and the quantile shown."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One judged metric."""

    spec: MetricSpec
    query: str
    """The name of its count template in monotui.sources.promql.COUNT_TEMPLATES."""
    reading: Reading
    words: str
    """How a sentence names the canary's metric, before its value or a reason: "canary 5xx"
    (4.80 %), "canary p99" (620 ms)."""
    allowed: Callable[[JudgeConfig], float]
    """The canary/baseline ratio of bad rates still called healthy."""
    limit: Callable[[JudgeConfig], float | None]
    """The absolute limit on the value (a fraction, ms), or None."""
    critical: Callable[[JudgeConfig], bool]
    quantile: float = 0.99
    """`histogram`: the quantile shown."""

    @property
    def name(self) -> str:
        return self.spec.name


ERROR_RATE = Metric(
    spec=MetricSpec("error_rate", "error rate", "5xx", " %", scale=100.0, digits=2),
    query="errors",
    reading="count",
    words="canary 5xx",
    allowed=lambda cfg: cfg.allowed_increase,
    limit=lambda cfg: cfg.max_error_rate,
    critical=lambda cfg: cfg.error_rate_critical,
)
LATENCY = Metric(
    spec=MetricSpec(
        "latency_p99_ms", "p99 latency", "slow", " ms", scale=1.0, digits=0, ratio=False
    ),
    query="latency_buckets",
    reading="histogram",
    words="canary p99",
    allowed=lambda cfg: cfg.latency_allowed_increase,
    limit=lambda cfg: cfg.max_latency_ms,
    critical=lambda cfg: cfg.latency_critical,
)

CATALOGUE: tuple[Metric, ...] = (ERROR_RATE, LATENCY)
"""Every metric monotui knows, in the order a rollout lists them."""


def metrics_for(cfg: JudgeConfig) -> tuple[Metric, ...]:
    """The metrics one rollout judges, in sample order: the error rate, and the p99 latency when
    `[rollouts.judge] latency` is on. Each spec carries its limit, for the charts."""
    chosen = [m for m in CATALOGUE if m is not LATENCY or cfg.latency]
    return tuple(_with_limit(m, m.limit(cfg)) for m in chosen)


def specs(metrics: Sequence[Metric]) -> tuple[MetricSpec, ...]:
    return tuple(m.spec for m in metrics)


def _with_limit(metric: Metric, limit: float | None) -> Metric:
    spec = metric.spec
    shown = MetricSpec(
        spec.name, spec.title, spec.bad, spec.unit, spec.scale, spec.digits, spec.ratio, limit
    )
    return Metric(
        shown,
        metric.query,
        metric.reading,
        metric.words,
        metric.allowed,
        metric.limit,
        metric.critical,
        metric.quantile,
    )


# --- histograms ---------------------------------------------------------------------------------


def quantile(q: float, bounds: Sequence[float], cumulative: Sequence[float]) -> float | None:
    """Prometheus' histogram_quantile over one histogram: `bounds` the finite `le` values in
    order, `cumulative` the counts at each and then at +Inf. Linear inside the bucket; beyond the
    last finite bound, that bound. None without observations."""
    if not cumulative:
        return None
    total = cumulative[-1]
    if not total > 0 or not math.isfinite(total):
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in zip(bounds, cumulative, strict=False):
        if count >= rank:
            inside = count - below
            return lower + (le - lower) * ((rank - below) / inside if inside > 0 else 1.0)
        lower, below = le, count
    return bounds[-1] if bounds else None


def slow_count(bounds: Sequence[float], cumulative: Sequence[float], slow_ms: float) -> float:
    """Requests slower than `slow_ms`: all of them minus those in the bucket at or below it.
    `slow_ms` is taken at the largest bound not above it (a bucket boundary is what Prometheus
    knows)."""
    if not cumulative:
        return 0.0
    total = cumulative[-1]
    fast = 0.0
    for le, count in zip(bounds, cumulative, strict=False):
        if le <= slow_ms + 1e-9:
            fast = count
    return max(0.0, total - fast)


def slow_threshold(bounds: Sequence[float], cumulative: Sequence[float], q: float = 0.99) -> float:
    """Where "slow" starts when `slow_ms` is not configured: the first bucket bound at or above
    the baseline's `q` quantile over its history (its p99 bucket), so about 1 % of the baseline's
    requests are slow or fewer."""
    value = quantile(q, bounds, cumulative)
    if value is None or not bounds:
        return math.inf
    return next((le for le in bounds if le >= value - 1e-9), bounds[-1])


# --- from query answers to a sample ---------------------------------------------------------------

Histogram = tuple[tuple[float, ...], tuple[float, ...]]
"""(the finite `le` bounds, the cumulative counts at each and at +Inf)."""


def side_of(
    metrics: Sequence[Metric],
    requests: float | None,
    readings: Sequence[float | Histogram | None],
    slow_ms: float,
) -> Side:
    """One version's `Side` from its request count and, per metric, its reading: the bad count of
    a `count` metric, the histogram of a `histogram` one (None: no series). A version with
    requests but no bad-request series counted none (5xx that never happened have no series)."""
    return sides_of(metrics, [requests], [[reading] for reading in readings], slow_ms)[0]


def sides_of(
    metrics: Sequence[Metric],
    requests: Sequence[float | None],
    readings: Sequence[Sequence[float | Histogram | None]],
    slow_ms: float,
) -> list[Side]:
    """`side_of` at every point of a history at once: `requests` per point, and per metric its
    readings per point (`readings[i][k]`: metric i at point k). The same numbers, worked out a
    metric at a time: a fleet's history is hundreds of thousands of points."""
    bad_columns: list[list[float | None]] = []
    value_columns: list[list[float | None]] = []
    for metric, column in zip(metrics, readings, strict=True):
        if metric.reading == "count":
            bad = [
                reading if isinstance(reading, float) else (None if n is None else 0.0)
                for reading, n in zip(column, requests, strict=True)
            ]
            bad_columns.append(bad)
            value_columns.append(
                [c / n if c is not None and n else None for c, n in zip(bad, requests, strict=True)]
            )
        else:
            bad, values = _histogram_columns(metric, requests, column, slow_ms)
            bad_columns.append(bad)
            value_columns.append(values)
    if not metrics:
        return [Side(n, (), ()) for n in requests]
    empty = Side(None, (None,) * len(metrics), (None,) * len(metrics))
    out = []
    # Frozen sides are shared where they are equal: most of a quiet fleet's points are empty.
    for n, bad_row, value_row in zip(
        requests, zip(*bad_columns, strict=True), zip(*value_columns, strict=True), strict=True
    ):
        if n is None and bad_row == empty.bad and value_row == empty.values:
            out.append(empty)
        else:
            out.append(Side(n, bad_row, value_row))
    return out


ROWS_FOR_NUMPY = 64
"""Histograms of one bounds from which NumPy works them out (monotui.histogram_rows); fewer (a
poll's one or two) are quicker one by one."""


def _histogram_columns(
    metric: Metric,
    requests: Sequence[float | None],
    column: Sequence[float | Histogram | None],
    slow_ms: float,
) -> tuple[list[float | None], list[float | None]]:
    """A `histogram` metric's bad counts and values per point (see `side_of`)."""
    points = len(column)
    bad: list[float | None] = [None] * points
    values: list[float | None] = [None] * points
    if column.count(None) == points:  # no buckets at all (a quiet fleet's usual history)
        return bad, values
    # Grouped by the bounds object: a history's histograms share one (the tally's).
    by_bounds: dict[int, tuple[tuple[float, ...], list[int]]] = {}
    for k, reading in enumerate(column):
        if isinstance(reading, tuple):
            group = by_bounds.get(id(reading[0]))
            if group is None:
                group = by_bounds[id(reading[0])] = (reading[0], [])
            group[1].append(k)
    for bounds, ks in by_bounds.values():
        rows = [cast(Histogram, column[k])[1] for k in ks]
        if len(ks) >= ROWS_FOR_NUMPY and _many(
            metric, bounds, rows, slow_ms, requests, ks, bad, values
        ):
            continue
        for k, cumulative in zip(ks, rows, strict=True):
            if not cumulative or not cumulative[-1] > 0:  # no observations: none slow, if counted
                bad[k] = 0.0 if requests[k] is not None else None
            else:
                bad[k] = slow_count(bounds, cumulative, slow_ms) if math.isfinite(slow_ms) else 0.0
                values[k] = quantile(metric.quantile, bounds, cumulative)
    return bad, values


def _many(
    metric: Metric,
    bounds: tuple[float, ...],
    rows: list[tuple[float, ...]],
    slow_ms: float,
    requests: Sequence[float | None],
    ks: list[int],
    bad: list[float | None],
    values: list[float | None],
) -> bool:
    """Fill `bad` and `values` at points `ks` with NumPy (monotui.histogram_rows); False, and
    nothing filled, when these histograms are not for it (no bounds, a row of another width,
    a count that is not finite)."""
    if not bounds:
        return False
    from monotui import histogram_rows

    counts = histogram_rows.finite_rows(rows, len(bounds) + 1)
    if counts is None:
        return False
    observed = histogram_rows.observed(counts)
    seen = counts[observed]
    slow = histogram_rows.slow_counts(bounds, seen, slow_ms) if math.isfinite(slow_ms) else None
    shown = histogram_rows.quantiles(metric.quantile, bounds, seen)
    i = 0
    for k, has in zip(ks, observed.tolist(), strict=True):
        if has:
            bad[k] = 0.0 if slow is None else slow[i]
            values[k] = shown[i]
            i += 1
        elif requests[k] is not None:  # no observations: none slow, when requests were counted
            bad[k] = 0.0
    return True
