"""Istio-shaped history for backfilling a real Prometheus (promtool, OpenMetrics): per version, a
request rate and a 5xx share that may change over time, series that may end (crashed pods) or go
flat (no traffic), counts that are drawn (Poisson requests, binomial 5xx, a multinomial over the
duration buckets, from the history's seed) or exact (linear counters), written every `step_s`
seconds (or the version's own scrape interval).

    history = History(t0, span_s=900)
    history.add("reviews", "v1", rps=20, error=0.005)
    history.add("reviews", "v2", rps=5, error=lambda t: 0.105 if 500 <= t < 560 else 0.005)
    prometheus.backfill(history.openmetrics())

Times given to a version (its `error` function, `end`, `flat_after`) are seconds after `t0`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LE_MS: tuple[str, ...] = ("25", "50", "100", "250", "500", "1000", "+Inf")
"""The duration buckets written (a subset of Istio's)."""
HEALTHY_LE: tuple[float, ...] = (0.2, 0.6, 0.9, 0.99, 0.999, 1.0, 1.0)
"""Cumulative shares of requests at or under each bucket: a p99 of 250 ms."""

Share = float | Callable[[float], float]


def istio_labels(namespace: str, service: str, version: str, **extra: str) -> str:
    """The label set Istio's destination reporter writes for `service`'s `version`, as
    exposition text (`k="v",...`), with `extra` labels (response_code, le) after them."""
    labels = {
        "reporter": "destination",
        "destination_service_name": service,
        "destination_service_namespace": namespace,
        "destination_version": version,
        **extra,
    }
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


@dataclass(frozen=True)
class Version:
    """One version of one service."""

    service: str
    version: str
    rps: float
    error: Share
    le: tuple[float, ...] = HEALTHY_LE
    end: float | None = None
    """No samples after this (the pods crashed; the series stop)."""
    flat_after: float | None = None
    """The counters stop growing after this (the pods run, but get no requests)."""
    step_s: float | None = None
    """Its own scrape interval (default: the history's)."""
    exact: bool = False
    """Counts of exactly rate x step (linear counters) instead of drawn ones."""
    offset_s: float = 0.0
    """Its scrapes fall at `t0 + offset_s + k * step`: a real scrape is not on the polls' grid."""
    namespace: str = "bookinfo"

    def error_at(self, t: float) -> float:
        return self.error(t) if callable(self.error) else self.error


@dataclass
class History:
    """The versions to write, from `t0` for `span_s` seconds, every `step_s`."""

    t0: float
    span_s: float = 900.0
    step_s: float = 5.0
    seed: int = 1
    """The draws of every version that is not `exact`: the same seed, the same history."""
    versions: list[Version] = field(default_factory=list)

    def add(self, service: str, version: str, rps: float, error: Share, **more: Any) -> Version:
        added = Version(service, version, rps, error, **more)
        self.versions.append(added)
        return added

    def openmetrics(self) -> str:
        """The whole history as OpenMetrics text for `promtool tsdb create-blocks-from`."""
        rng = np.random.default_rng(self.seed)
        requests, buckets = ["# TYPE istio_requests counter"], []
        for v in self.versions:
            r, b = self._series(v, rng)
            requests += r
            buckets += b
        histogram = ["# TYPE istio_request_duration_milliseconds histogram", *buckets]
        return "\n".join(requests + histogram) + "\n# EOF\n"

    def counter(self, v: Version, code: str, t: float) -> float:
        """An exact version's counter of `code` ("200", "503", or "all") at its last sample at
        or before `t` (seconds after t0), less its start."""
        assert v.exact, "drawn counts have no closed form"
        step = v.step_s or self.step_s
        total = 0.0
        k = 1
        while k * step <= t + 1e-9:
            at = k * step
            if v.end is not None and at > v.end:
                break
            if v.flat_after is None or at <= v.flat_after:
                n = v.rps * step
                err = v.error_at(at)
                total += {"200": n * (1 - err), "503": n * err, "all": n}[code]
            k += 1
        return total

    # --- internals -----------------------------------------------------------------------------

    def _series(self, v: Version, rng: np.random.Generator) -> tuple[list[str], list[str]]:
        step = v.step_s or self.step_s
        labels = (
            f'reporter="destination",destination_service_name="{v.service}",'
            f'destination_service_namespace="{v.namespace}",destination_version="{v.version}"'
        )
        ok = bad = 0.0
        cumulative = np.zeros(len(LE_MS))
        shares = np.diff(np.concatenate(([0.0], np.asarray(v.le, dtype=float))))
        lines_ok, lines_bad, lines_le = [], [], [[] for _ in LE_MS]
        k = 0
        while k * step <= self.span_s + 1e-9:
            at = k * step
            if v.end is not None and at > v.end:
                break
            if k and (v.flat_after is None or at <= v.flat_after):
                err = v.error_at(at)
                if v.exact:
                    n, e = v.rps * step, v.rps * step * err
                    per_bucket = n * shares
                else:
                    n = float(rng.poisson(v.rps * step))
                    e = float(rng.binomial(int(n), err))
                    per_bucket = rng.multinomial(int(n), shares / shares.sum())
                ok, bad = ok + n - e, bad + e
                cumulative += np.cumsum(per_bucket)
            stamp = f"{self.t0 + v.offset_s + at:.3f}"
            # The counters start high, as a long-running service's do: increase() then never
            # clamps its extrapolation at zero.
            lines_ok.append(
                f'istio_requests_total{{{labels},response_code="200"}} {1000 + ok} {stamp}'
            )
            lines_bad.append(
                f'istio_requests_total{{{labels},response_code="503"}} {1000 + bad} {stamp}'
            )
            for i, le in enumerate(LE_MS):
                lines_le[i].append(
                    f'istio_request_duration_milliseconds_bucket{{{labels},le="{le}"}} '
                    f"{5000 + cumulative[i]} {stamp}"
                )
            k += 1
        return lines_ok + lines_bad, [line for lines in lines_le for line in lines]
