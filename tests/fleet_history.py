"""Istio-style history of many services for a real Prometheus (backfilled with promtool): each
version's counters grow linearly at its rate, so increase() over any span is exact.

The fleet tests and bench/fleet_scale.py share it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

STEP_S = 5
T0 = float(int(time.time() - 3 * 3600) // 60 * 60)
"""Three hours back, on a whole minute: history, yet well within the retention."""
BUCKETS_MS = ("100", "250", "+Inf")
FAST_SHARE = (0.9, 0.99, 1.0)
"""The share of requests at or under each bucket: the p99 is 250 ms."""


@dataclass(frozen=True)
class Traffic:
    """One service's versions: version -> (requests/s, 5xx fraction)."""

    namespace: str
    service: str
    versions: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {"v1": (10.0, 0.01), "v2": (2.0, 0.05)}
    )
    series: Mapping[str, str] = field(default_factory=dict)
    """Extra labels on every series (e.g. a cluster)."""


def openmetrics(
    services: Iterable[Traffic],
    *,
    start: float = T0,
    span_s: float = 1800.0,
    step_s: int = STEP_S,
    prefix: str = "",
) -> str:
    """The OpenMetrics text of `services` from `start` for `span_s` seconds, one sample every
    `step_s`. `prefix` "workload:" writes the recording rules' series instead of the raw ones."""
    times = [start + k * step_s for k in range(int(span_s // step_s) + 1)]
    requests = [f"# TYPE {prefix}istio_requests counter"]
    buckets = [f"# TYPE {prefix}istio_request_duration_milliseconds histogram"]
    for traffic in services:
        for version, (rps, errors) in traffic.versions.items():
            labels = {
                "reporter": "destination",
                "destination_service_name": traffic.service,
                "destination_service_namespace": traffic.namespace,
                "destination_version": version,
                **traffic.series,
            }
            text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            for code, share in (("200", 1 - errors), ("503", errors)):
                for i, t in enumerate(times):
                    # From 1000 so extrapolation never clamps at zero.
                    count = 1000.0 + i * step_s * rps * share
                    requests.append(
                        f'{prefix}istio_requests_total{{{text},response_code="{code}"}} '
                        f"{count:.3f} {t:.0f}"
                    )
            for le, fast in zip(BUCKETS_MS, FAST_SHARE, strict=True):
                for i, t in enumerate(times):
                    count = 1000.0 + i * step_s * rps * fast
                    buckets.append(
                        f"{prefix}istio_request_duration_milliseconds_bucket"
                        f'{{{text},le="{le}"}} {count:.3f} {t:.0f}'
                    )
    return "\n".join([*requests, *buckets]) + "\n# EOF\n"
