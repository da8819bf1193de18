"""Does the traffic follow the route? The router's canary weight against the observed split.

A route that says 0 % while a quarter of the requests reach the canary (a second VirtualService,
a mesh that ignores the route, a stale Envoy, a Service selecting both versions) makes every key
lie: rolling back changes nothing the users see. Disagreement must be loud, and must not be noise:
only requests counted after the weight was reached and had time to reach the metrics count
(SETTLE_S), and the gap must exceed both MIN_POINTS and SIGMAS binomial standard deviations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from monotui.model.rollout import Weights
from monotui.model.samples import Sample, total_requests

SETTLE_S = 30.0
"""After a weight change, how long requests may still show the old split: Envoy's stats flush and
Prometheus's scrape (two 15 s scrapes)."""
MIN_POINTS = 5.0
"""The smallest gap, in percentage points, worth a warning (weights are whole percents)."""
SIGMAS = 4.0
"""How far beyond the binomial noise of the counted requests the gap must be."""
MIN_REQUESTS = 50.0
"""Fewer requests say nothing about a split."""


@dataclass(frozen=True, slots=True)
class SplitDisagreement:
    """The router's canary weight and the share of requests that reached the canary."""

    configured: int
    observed: float
    requests: float

    @property
    def text(self) -> str:
        """One line for the header, the plan and the events."""
        return (
            f"traffic does not follow the route: router says canary {self.configured} %, "
            f"{self.observed:.1f} % of {self.requests:,.0f} requests reached it"
        )


def split_disagreement(
    weights: Weights | None,
    samples: Sequence[Sample],
    *,
    step_since: float | None,
    window_s: float,
) -> SplitDisagreement | None:
    """The disagreement over the last `window_s` of samples that began SETTLE_S after the weight
    was reached, or None when they agree, or when there is too little to tell."""
    if weights is None or not samples:
        return None
    end = samples[-1].t
    earliest = end - window_s
    if step_since is not None:
        earliest = max(earliest, step_since + SETTLE_S)
    start = len(samples)  # the newest suffix only: samples are in time order
    while start and samples[start - 1].t - samples[start - 1].span_s >= earliest:
        start -= 1
    counted = samples[start:]
    base = total_requests(counted, canary=False)
    can = total_requests(counted, canary=True)
    if base is None or can is None or base + can < MIN_REQUESTS:
        return None
    total = base + can
    share, expected = can / total, weights.canary / 100.0
    # The noise of a binomial share at the configured weight; at 0 % or 100 % there is none, and
    # MIN_POINTS alone decides.
    noise = SIGMAS * math.sqrt(expected * (1.0 - expected) / total)
    gap = abs(share - expected)
    if gap * 100.0 < MIN_POINTS or gap <= noise:
        return None
    return SplitDisagreement(weights.canary, 100.0 * share, total)
