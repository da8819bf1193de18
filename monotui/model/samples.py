"""Metric samples as frozen data: what one poll counted for each version, and how a metric is shown.

A poll reads the increase, over its span, of each version's requests and, per judged metric, of
its bad requests (5xx, slow), plus the metric's value over the span (an error rate, a p99). The
metrics of a rollout are listed once (`MetricSpec`, in the snapshot's `metrics`); a sample's
`bad` and `values` tuples follow that order. None is NO DATA, never zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Pair:
    """One number for the baseline and one for the canary; None is NO DATA, never zero."""

    baseline: float | None = None
    canary: float | None = None


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """How one metric is named, pooled and shown (the catalogue, monotui.metrics, adds how it is
    queried and judged). Widgets and `status --json` read only this."""

    name: str
    """Its key in `status --json` and the config: error_rate, latency_p99_ms."""
    title: str
    """What a chart's title calls it: "error rate", "p99 latency"."""
    bad: str
    """What a bad request is for it, in a sentence: "5xx", "slow"."""
    unit: str
    """After the number: " %", " ms"."""
    scale: float = 1.0
    """Value x scale is shown (a fraction x 100 is a percentage)."""
    digits: int = 2
    ratio: bool = True
    """True: the value is bad / requests and pools exactly; False: a quantile, pooled as a
    request-weighted mean."""
    limit: float | None = None
    """The absolute limit in the value's unit (a fraction, ms), drawn on its chart; None: none."""

    def format(self, value: float | None) -> str:
        """One value in the metric's unit; None is NO DATA."""
        if value is None or not math.isfinite(value):
            return "NO DATA"
        shown = value * self.scale
        digits = self.digits if abs(shown) < 100 or self.digits == 0 else 0
        return f"{shown:.{digits}f}{self.unit}"


@dataclass(frozen=True, slots=True)
class Side:
    """One version in one poll."""

    requests: float | None = None
    """Requests over the poll's span (the increase); None: no series (NO DATA)."""
    bad: tuple[float | None, ...] = ()
    """Bad requests over the span, per metric (None: not counted, e.g. a value-only metric)."""
    values: tuple[float | None, ...] = ()
    """The metric's value over the span, per metric."""

    def value(self, i: int) -> float | None:
        return self.values[i] if i < len(self.values) else None

    def bad_of(self, i: int) -> float | None:
        return self.bad[i] if i < len(self.bad) else None


NO_SIDE = Side()


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll of both versions at time `t`, covering (t - span_s, t]."""

    t: float
    span_s: float = 0.0
    baseline: Side = NO_SIDE
    canary: Side = NO_SIDE

    def value(self, i: int) -> Pair:
        """Metric `i`'s value for both versions."""
        return Pair(self.baseline.value(i), self.canary.value(i))

    @property
    def request_rate(self) -> Pair:
        """Requests per second over the span."""
        if self.span_s <= 0:
            return Pair()
        b, c = self.baseline.requests, self.canary.requests
        return Pair(None if b is None else b / self.span_s, None if c is None else c / self.span_s)

    @property
    def has_data(self) -> bool:
        """Whether any version answered with a request count or a metric value."""
        for side in (self.baseline, self.canary):
            if side.requests is not None or any(v is not None for v in side.values):
                return True
        return False


Series: TypeAlias = tuple[Sample, ...]
"""Samples in time order, oldest first."""


def pooled(samples: Iterable[Sample], i: int, *, ratio: bool, canary: bool) -> float | None:
    """Metric `i` of one version over `samples`: bad / requests summed (a ratio metric whose bad
    requests were counted), else the request-weighted mean of its values (the plain mean where
    no requests were counted). None when no sample has a value."""
    pool = Pooling(i, ratio)
    pool.add_all(sample.canary if canary else sample.baseline for sample in samples)
    return pool.value


@dataclass(slots=True)
class Pooling:
    """`pooled` of one version and metric, kept up to date as sides come."""

    index: int
    ratio: bool
    bad: float = 0.0
    requests: float = 0.0
    weighted: float = 0.0
    weights: float = 0.0
    plain: float = 0.0
    counted: int = 0
    valued: int = 0

    def add(self, side: Side) -> None:
        """Add one sample's side."""
        self.add_all((side,))

    def add_all(self, sides: Iterable[Side]) -> None:
        """Add each side in turn, the sums held in locals meanwhile (`status` tallies a fleet's
        whole history at once: hundreds of thousands of sides)."""
        i, ratio = self.index, self.ratio
        bad, requests, counted = self.bad, self.requests, self.counted
        weighted, weights, plain, valued = self.weighted, self.weights, self.plain, self.valued
        for side in sides:
            n, all_bad = side.requests, side.bad
            b = all_bad[i] if i < len(all_bad) else None
            if ratio and b is not None and n is not None:
                bad += b
                requests += n
                counted += 1
                continue
            values = side.values
            v = values[i] if i < len(values) else None
            if v is None:
                continue
            valued += 1
            plain += v
            if n is not None and n > 0:
                weighted += v * n
                weights += n
        self.bad, self.requests, self.counted = bad, requests, counted
        self.weighted, self.weights, self.plain, self.valued = weighted, weights, plain, valued

    @property
    def value(self) -> float | None:
        """What `pooled` says of the sides added."""
        if self.counted and self.requests > 0:
            return self.bad / self.requests
        if self.counted and not self.valued:
            return None
        if self.weights > 0:
            return self.weighted / self.weights
        return self.plain / self.valued if self.valued else None


def total_requests(samples: Iterable[Sample], *, canary: bool) -> float | None:
    """Requests of one version summed over `samples` (None when none was counted)."""
    total = 0.0
    seen = False
    for sample in samples:
        n = (sample.canary if canary else sample.baseline).requests
        if n is not None:
            total += n
            seen = True
    return total if seen else None


def since(samples: Sequence[Sample], t: float) -> Sequence[Sample]:
    """The samples after `t` (a suffix: samples are in time order)."""
    start = len(samples)
    while start and samples[start - 1].t > t:
        start -= 1
    return samples[start:]


@dataclass(frozen=True, slots=True)
class Split:
    """The observed traffic split in percent, derived from request counts."""

    stable: float
    canary: float

    @classmethod
    def of(cls, baseline: float | None, canary: float | None) -> Split | None:
        """The split of two request counts (or rates), or None when either side is unknown or
        there is no traffic."""
        if baseline is None or canary is None or baseline + canary <= 0:
            return None
        total = baseline + canary
        return cls(stable=100.0 * baseline / total, canary=100.0 * canary / total)
