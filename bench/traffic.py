"""A synthetic Istio-like traffic model: per-poll request, 5xx and slow-request counts per version.

For the judge-quality benchmark and the judge's calibration tests. Seeded (numpy Generator),
vectorised over many rollouts that share one model, and driven from outside: `Traffic.poll` takes
each rollout's current canary weight and the poll's end time, so a benchmark can run any policy
loop on top (a rolled-back rollout simply asks for weight 0).

What it models, per poll interval (10 s by default):
- requests: Poisson at `rate_rps` in total, split by the canary weight with an optional bias (the
  real split's odds are `split_bias` x the configured weight's odds, e.g. 1.3);
- 5xx: each request fails with the baseline's probability (0.5 %), the canary's times
  `error_multiplier` from `change_at_s` on (a jump mid-rollout); with `burst_size` > 1 errors come
  in clumps of geometric size with that mean, independently per version, at the same mean rate;
- a shared incident: `incident_error` (+10 percentage points) added to both versions' 5xx
  probability for `incident_s` (60 s) from `incident_at_s`;
- scrapes: with `scrape_sampled`, each count is what `increase()` gives a poll that holds two
  scrapes: the counters' change over half the span, doubled (its extrapolation), so a count's
  variance is about twice a Poisson count's while its mean is right;
- latency: lognormal, counted into Envoy/Istio's default `istio_request_duration_milliseconds`
  buckets; the canary's latency is scaled by `latency_multiplier` (x3 scales its p99 by 3); slow
  requests are those above the bucket bound `slow_ms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    Counts = npt.NDArray[np.float64]

ISTIO_BUCKETS_MS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
    30000, 60000, 300000, 600000, 1800000, 3600000,
)  # fmt: skip
"""Envoy's default histogram bounds (ms), which Istio's request duration uses; +Inf follows."""

INTERVAL_S = 10.0
HOLD_S = 100.0
STEPS = (1, 5, 10, 25, 50, 100)
"""The demo's timing: 10 s polls, a 100 s hold, steps 1-5-10-25-50-100."""


def planned_weight(t_s: float, steps: tuple[int, ...] = STEPS, hold_s: float = HOLD_S) -> int:
    """The canary weight at time t of a rollout that advances after every hold (t=0: the start)."""
    return steps[min(int(t_s // hold_s), len(steps) - 1)]


@dataclass(frozen=True, slots=True)
class TrafficModel:
    """One case of traffic; every rollout of a `Traffic` shares it."""

    rate_rps: float = 200.0
    baseline_error: float = 0.005
    error_multiplier: float = 1.0
    latency_multiplier: float = 1.0
    change_at_s: float = 0.0  # the canary's multipliers apply to polls that start from here on
    split_bias: float = 1.0
    burst_size: float = 1.0
    incident_at_s: float | None = None
    incident_s: float = 60.0
    incident_error: float = 0.10
    latency_median_ms: float = 60.0
    latency_sigma: float = 0.6
    slow_ms: float = 250.0
    scrape_sampled: bool = False

    def bucket_probabilities(self, multiplier: float) -> Counts:
        """P(latency in each bucket), the last one being (largest bound, +Inf)."""
        median = math.log(self.latency_median_ms * multiplier)
        cdf = [
            0.5 * math.erfc(-(math.log(b) - median) / (self.latency_sigma * math.sqrt(2)))
            for b in ISTIO_BUCKETS_MS
        ]
        edges = np.array([0.0, *cdf, 1.0])
        return np.clip(np.diff(edges), 0.0, 1.0)

    def slow_probability(self, multiplier: float) -> float:
        """P(latency > slow_ms): what a slow-request counter would count per request."""
        median = math.log(self.latency_median_ms * multiplier)
        z = (math.log(self.slow_ms) - median) / (self.latency_sigma * math.sqrt(2))
        return 0.5 * math.erfc(z)


@dataclass(frozen=True, slots=True)
class PollCounts:
    """One poll's increases for every rollout (arrays of shape (R,))."""

    baseline_requests: Counts
    baseline_errors: Counts
    baseline_slow: Counts
    canary_requests: Counts
    canary_errors: Counts
    canary_slow: Counts

    def errors(self) -> Counts:
        """(R, 4): baseline requests, baseline 5xx, canary requests, canary 5xx."""
        return np.column_stack(
            [self.baseline_requests, self.baseline_errors, self.canary_requests, self.canary_errors]
        )

    def slow(self) -> Counts:
        """(R, 4): baseline requests, baseline slow, canary requests, canary slow."""
        return np.column_stack(
            [self.baseline_requests, self.baseline_slow, self.canary_requests, self.canary_slow]
        )


class Traffic:
    """Seeded traffic for `rollouts` rollouts under one model."""

    def __init__(self, model: TrafficModel, rollouts: int, seed: int) -> None:
        if not ISTIO_BUCKETS_MS.count(model.slow_ms):
            raise ValueError(f"slow_ms must be a bucket bound, one of {ISTIO_BUCKETS_MS}")
        self.model = model
        self.rollouts = rollouts
        self.rng = np.random.default_rng(seed)
        self._buckets = {m: model.bucket_probabilities(m) for m in {1.0, model.latency_multiplier}}

    def poll(
        self, canary_weight_pct: npt.ArrayLike, t_s: float, interval_s: float = INTERVAL_S
    ) -> PollCounts:
        """The counts of the poll interval (t - interval, t] at each rollout's canary weight."""
        m = self.model
        rng = self.rng
        weight = np.broadcast_to(
            np.asarray(canary_weight_pct, dtype=np.float64) / 100.0, (self.rollouts,)
        )
        odds = m.split_bias * weight
        share = np.divide(odds, odds + 1.0 - weight, out=np.zeros_like(weight), where=weight > 0)
        seen_s = interval_s / 2 if m.scrape_sampled else interval_s  # what the scrapes hold
        scale = interval_s / seen_s
        total = rng.poisson(m.rate_rps * seen_s, self.rollouts)
        canary = rng.binomial(total, np.clip(share, 0.0, 1.0))
        baseline = total - canary

        start = t_s - interval_s
        changed = start >= m.change_at_s
        incident = 0.0
        if m.incident_at_s is not None:
            overlap = min(t_s, m.incident_at_s + m.incident_s) - max(start, m.incident_at_s)
            incident = m.incident_error * max(0.0, overlap) / interval_s
        q_b = min(1.0, m.baseline_error + incident)
        q_c = min(1.0, m.baseline_error * (m.error_multiplier if changed else 1.0) + incident)
        lat_c = m.latency_multiplier if changed else 1.0
        return PollCounts(
            baseline_requests=scale * baseline.astype(np.float64),
            baseline_errors=scale * self._errors(baseline, q_b),
            baseline_slow=scale * self._slow(baseline, 1.0),
            canary_requests=scale * canary.astype(np.float64),
            canary_errors=scale * self._errors(canary, q_c),
            canary_slow=scale * self._slow(canary, lat_c),
        )

    def bucket_counts(self, requests: npt.ArrayLike, multiplier: float = 1.0) -> Counts:
        """Per-bucket (not cumulative) latency counts, shape (R, buckets + 1); +Inf last."""
        probs = self._buckets.get(multiplier)
        if probs is None:
            probs = self._buckets[multiplier] = self.model.bucket_probabilities(multiplier)
        n = np.asarray(requests, dtype=np.int64)
        return self.rng.multinomial(n, probs).astype(np.float64)

    def _slow(self, requests: npt.NDArray[np.int64], multiplier: float) -> Counts:
        # The count above one bound of the multinomial over buckets is binomial: draw it directly.
        p = self.model.slow_probability(multiplier)
        return self.rng.binomial(requests, p).astype(np.float64)

    def _errors(self, requests: npt.NDArray[np.int64], probability: float) -> Counts:
        size = self.model.burst_size
        if size <= 1.0:
            return self.rng.binomial(requests, probability).astype(np.float64)
        # Clumps arrive as a Poisson process; each is 1 + Geometric extra errors, mean `size`.
        clumps = self.rng.poisson(requests * probability / size)
        extra = self.rng.negative_binomial(np.maximum(clumps, 1), 1.0 / size)
        errors = np.where(clumps > 0, clumps + extra, 0)
        return np.minimum(errors, requests).astype(np.float64)
