"""What one metrics poll costs against a real Prometheus, against the floor of raw HTTP.

Backfills 20 services (each with baseline, canary and four other versions the queries must ignore)
into a fresh Prometheus, then measures in the same run:
  floor   one instant query by plain httpx (keep-alive), the cheapest possible round trip;
  poll    `PrometheusMetrics.fetch(since)` for 1 rollout and for 20 rollouts: the three count
          queries (requests, 5xx, duration buckets) over the 10 s since the last poll, sent at once.
Prints queries per poll (counted as sent) and ms per poll, and the ratio
poll / (floor x queries): the goal is a constant query count and a ratio under 2 (the queries of
one poll run at once, so it can go below 1).

    python -m bench.prom_poll_bench [--repeat 30]      or      python -m bench prom_poll_bench
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from monotui.config import PrometheusConfig
from monotui.sources.metrics_prometheus import PrometheusMetrics
from tests.configs import parse
from tests.lab.__main__ import LocalPrometheus, free_port

SERVICES = 20
VERSIONS = ("v1", "v2", "v3", "v4", "v5", "v6")  # v1 baseline, v2 canary, the rest noise
STEP_S, SPAN_S = 5, 900
BUCKETS = ("25.0", "50.0", "100.0", "250.0", "500.0", "+Inf")
POLL_S = 10.0
"""The span each measured poll counts."""


def openmetrics(t0: float) -> str:
    """Linear counters for every service and version, one sample every STEP_S."""
    times = [t0 + k * STEP_S for k in range(SPAN_S // STEP_S + 1)]
    out = ["# TYPE istio_requests counter"]
    hist = ["# TYPE istio_request_duration_milliseconds histogram"]
    for s in range(SERVICES):
        for v, version in enumerate(VERSIONS):
            labels = (
                f'reporter="destination",destination_service_name="svc{s}",'
                f'destination_service_namespace="bench",destination_version="{version}"'
            )
            rate = 10.0 + v
            for code, share in (("200", 0.98), ("503", 0.02)):
                out += [
                    f'istio_requests_total{{{labels},response_code="{code}"}} '
                    f"{100 + i * STEP_S * rate * share} {t:.0f}"
                    for i, t in enumerate(times)
                ]
            for b, le in enumerate(BUCKETS):
                share = min(1.0, 0.3 + 0.15 * b)
                hist += [
                    f'istio_request_duration_milliseconds_bucket{{{labels},le="{le}"}} '
                    f"{100 + i * STEP_S * rate * share} {t:.0f}"
                    for i, t in enumerate(times)
                ]
    return "\n".join(out + hist) + "\n# EOF\n"


def _median_ms(run: Any, repeat: int) -> float:
    run()  # warm: connection, caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _source(url: str, service: int, at: float) -> PrometheusMetrics:
    config = parse(
        {
            "prometheus": {"url": url, "scrape_interval_s": STEP_S},
            "rollouts": [
                {
                    "name": f"svc{service}",
                    "namespace": "bench",
                    "router": {"kind": "none"},
                    "metrics": {"kind": "prometheus", "window": "1m"},
                }
            ],
        }
    )
    prometheus = PrometheusConfig(url=url, scrape_interval_s=STEP_S)
    return PrometheusMetrics(prometheus, config.rollouts[0], clock=lambda: at)


def _count_requests(source: PrometheusMetrics, counter: list[int]) -> None:
    """Count every request the source sends (on its bounded client)."""
    client = source.api._client
    send = client.get

    def get(*args: Any, **kwargs: Any) -> Any:
        counter[0] += 1
        return send(*args, **kwargs)

    client.get = get  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """Backfill, measure the floor and the polls, print the table (`argv`: the options; none
    when `python -m bench` runs it)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv or [])

    root = Path(tempfile.mkdtemp(prefix="monotui-bench-"))
    t0 = float(int(time.time() - 3 * 3600) // 60 * 60)
    at = t0 + SPAN_S - 60
    prometheus = None
    sources: list[PrometheusMetrics] = []
    try:
        (root / "data").mkdir()
        (root / "in.om").write_text(openmetrics(t0), encoding="utf-8")
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q"]
            + [str(root / "in.om"), str(root / "data")],
            check=True,
            capture_output=True,
        )
        prometheus = LocalPrometheus(root, "scrape_configs: []\n", free_port())
        prometheus.wait_ready()
        sources += [_source(prometheus.url, s, at) for s in range(SERVICES)]
        since = at - POLL_S
        sample = sources[0].fetch(since)
        assert sample.baseline.requests, "backfilled data not visible"

        requests = [0]
        for source in sources:
            _count_requests(source, requests)

        with httpx.Client() as client:
            params = {"query": sources[0].queries(POLL_S)["requests"], "time": f"{at:.3f}"}
            url = f"{prometheus.url}/api/v1/query"
            floor = _median_ms(lambda: client.get(url, params=params).raise_for_status(), 50)

        rows = []
        for n in (1, SERVICES):
            requests[0] = 0
            sources[0].fetch(since)
            per_rollout = requests[0]
            ms = _median_ms(lambda n=n: [s.fetch(since) for s in sources[:n]], args.repeat)
            queries = per_rollout * n
            rows.append((n, queries, ms, ms / (floor * queries)))

        print(f"prometheus {prometheus.url}, {len(VERSIONS)} versions per service in the data")
        print(f"floor: one instant query by httpx   {floor:7.2f} ms")
        print(f"{'rollouts':>8} {'queries/poll':>13} {'ms/poll':>9} {'poll/(floor x q)':>17}")
        for n, queries, ms, ratio in rows:
            print(f"{n:>8} {queries:>13} {ms:>9.2f} {ratio:>17.2f}")
        worst = max(r[3] for r in rows)
        print(
            f"goal: queries independent of versions (3 per rollout), ratio < 2: worst {worst:.2f}"
        )
    finally:
        for source in sources:
            source.close()
        if prometheus is not None:
            prometheus.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
