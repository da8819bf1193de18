"""Classic histograms as real services write them, through the real Prometheus: a canary release
that changed its duration buckets (the baseline's `le` set is not the canary's), `le` values
written "100" on one pod and "1e+02" on another, and a pod restart (counter reset) in the middle
of a poll's span, a gRPC service whose failures are HTTP 200. Each is backfilled with exact linear counters, so every count is known.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from monotui.config import PrometheusConfig, RolloutConfig
from monotui.errors import ConfigError
from monotui.model import Snapshot, VerdictResult
from monotui.rollout import assemble
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.prom_history import istio_labels
from tests.prometheus_server import Clock, PrometheusServer, backfilled

STEP_S = 5
SPAN_S = 900
T0 = float(int(time.time() - 3 * 3600) // 60 * 60)
TIMES = [T0 + k * STEP_S for k in range(SPAN_S // STEP_S + 1)]
RPS = 10.0

OLD_LE = ("25", "50", "100", "250", "500", "+Inf")
NEW_LE = ("25", "50", "100", "300", "1000", "+Inf")  # the canary release's own buckets
# Requests/s at or under each bound. The baseline: 90 % within 100 ms, p99 in the 250 bucket.
BASELINE = (2.0, 5.0, 9.0, 9.95, 10.0, 10.0)
SAME = (2.0, 5.0, 9.0, 10.0, 10.0, 10.0)  # as fast: 90 % within 100 ms, all within 300
SLOWER = (1.0, 2.0, 4.0, 8.0, 10.0, 10.0)  # 60 % over 100 ms


def _labels(service: str, version: str, **extra: str) -> str:
    return istio_labels("shop", service, version, **extra)


def _counter(name: str, labels: str, per_s: float, reset_at: float | None = None) -> list[str]:
    """A linear counter from 1000; `reset_at` (seconds after T0): the pod restarted there and
    counts from 0 again."""
    out = []
    for i, t in enumerate(TIMES):
        value = 1000.0 + i * STEP_S * per_s
        if reset_at is not None and t - T0 >= reset_at:
            value = (t - T0 - reset_at) * per_s
        out.append(f"{name}{{{labels}}} {value} {t:.0f}")
    return out


def _version(
    service: str,
    version: str,
    les: Sequence[str],
    rates: Sequence[float],
    **extra: str,
) -> tuple[list[str], list[str]]:
    requests = _counter(
        "istio_requests_total", _labels(service, version, response_code="200", **extra), rates[-1]
    )
    buckets = [
        line
        for le, rate in zip(les, rates, strict=True)
        for line in _counter(
            "istio_request_duration_milliseconds_bucket",
            _labels(service, version, le=le, **extra),
            rate,
        )
    ]
    return requests, buckets


def openmetrics() -> str:
    requests, buckets = ["# TYPE istio_requests counter"], []
    for service, canary in (("rebucketed", SAME), ("rebucketed-slow", SLOWER)):
        for version, les, rates in (("v1", OLD_LE, BASELINE), ("v2", NEW_LE, canary)):
            r, b = _version(service, version, les, rates)
            requests += r
            buckets += b
    # One version on two pods: one writes `le` as "100", the other as Go's %g does, "1e+02".
    for pod, les in (
        ("a", OLD_LE),
        ("b", ("2.5e+01", "5e+01", "1e+02", "2.5e+02", "5e+02", "+Inf")),
    ):
        r, b = _version("spelled", "v1", les, [x / 2 for x in BASELINE], pod=pod)
        requests += r
        buckets += b
    r, b = _version("spelled", "v2", OLD_LE, BASELINE)
    requests += r
    buckets += b
    # The canary's pod restarted 302 s in, between two scrapes: its counters start again at 0.
    requests += _counter(
        "istio_requests_total", _labels("restarted", "v1", response_code="200"), RPS
    )
    requests += _counter(
        "istio_requests_total", _labels("restarted", "v2", response_code="200"), RPS, 302.0
    )
    # gRPC: every answer is HTTP 200; the canary's failures are grpc-status 14 (UNAVAILABLE).
    for version, failing in (("v1", 0.0), ("v2", 0.2)):
        for status, share in (("0", 1 - failing), ("14", failing)):
            if share:
                labels = _labels("grpc", version, response_code="200", grpc_response_status=status)
                requests += _counter("istio_requests_total", labels, RPS * share)
    return "\n".join(
        [*requests, "# TYPE istio_request_duration_milliseconds histogram", *buckets, *app()]
        + ["# EOF"]
    )


# An application's own OpenTelemetry histogram, in seconds: `le` as the Go client writes it on
# the baseline ("0.005", "1") and as the Python client and %g do on the canary ("5e-03", "1.0").
GO_LE = ("0.005", "0.05", "0.1", "0.25", "0.5", "1", "+Inf")
PY_LE = ("5e-03", "0.05", "0.1", "0.25", "0.5", "1.0", "+Inf")
APP_BASELINE = (1.0, 6.0, 9.0, 9.95, 10.0, 10.0, 10.0)  # p99: 100 + 150 * 0.9 / 0.95 ms
APP_CANARY = (0.0, 1.0, 4.0, 9.0, 9.9, 10.0, 10.0)  # p99: 500 ms, the 0.5 s bound


def app() -> list[str]:
    lines = ["# TYPE http_server_request_duration_seconds histogram"]
    for version, les, rates in (("1.4.0", GO_LE, APP_BASELINE), ("1.5.0", PY_LE, APP_CANARY)):
        labels = f'service_name="checkout",service_namespace="shop",service_version="{version}"'
        for le, rate in zip(les, rates, strict=True):
            lines += _counter(
                "http_server_request_duration_seconds_bucket", f'{labels},le="{le}"', rate
            )
        lines += _counter("http_server_request_duration_seconds_count", labels, rates[-1])
    return lines


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    with backfilled(Path(tmp_path_factory.mktemp("prometheus")), openmetrics()) as server:
        yield server


def config(
    service: str, more: dict[str, object] | None = None, /, **judge: object
) -> RolloutConfig:
    """`more`: further `[rollouts.metrics]` keys."""
    data = {
        "name": service,
        "namespace": "shop",
        "interval_s": 10,
        "router": {"kind": "none"},
        "metrics": {"kind": "prometheus", "history_s": 300, **(more or {})},
        "judge": {"latency": True, **judge},
    }
    return parse({"rollouts": [data]}).rollouts[0]


def polls(prom: PrometheusServer, service: str, n: int = 12, **judge: object) -> list[Snapshot]:
    """`n` polls 10 s apart from T0 + 400 s, after the start's history (a user's `watch`)."""
    clock = Clock(T0 + 400)
    cfg = config(service, **judge)
    source = PrometheusMetrics(
        PrometheusConfig(url=prom.url, scrape_interval_s=STEP_S), cfg, clock=clock
    )
    rollout = assemble(cfg, router=StaticRouter(), metrics=source, clock=clock)
    rollout.start()
    out = []
    for _ in range(n):
        clock.now += 10
        out.append(rollout.cycle())
    rollout.close()
    return out


@pytest.mark.parametrize("slow_ms", [None, 250.0])
def test_a_canary_with_other_buckets_is_cut_where_the_baseline_is(
    prom: PrometheusServer, slow_ms: float | None
) -> None:
    # The baseline's p99 bucket (or the configured slow_ms) is 250 ms, a bound the canary's
    # buckets lack: both are counted from 100 ms, the largest bound they share, and the canary,
    # as fast as the baseline, is not rolled back for a change of buckets.
    snaps = polls(prom, "rebucketed", slow_ms=slow_ms)
    for snap in snaps:
        s = snap.latest
        assert s is not None and s.baseline.requests == pytest.approx(100.0)
        assert s.baseline.bad_of(1) == pytest.approx(10.0)  # over 100 ms: 1 req/s of 10
        assert s.canary.bad_of(1) == pytest.approx(s.baseline.bad_of(1))
    assert all(snap.verdict.result == VerdictResult.PASS for snap in snaps), snaps[-1].verdict


def test_a_slower_canary_with_other_buckets_still_fails(prom: PrometheusServer) -> None:
    snaps = polls(prom, "rebucketed-slow")
    s = snaps[-1].latest
    assert s is not None and s.canary.bad_of(1) == pytest.approx(60.0)  # over 100 ms: 6 of 10
    assert snaps[-1].verdict.result == VerdictResult.FAIL
    assert "slow" in snaps[-1].verdict.reason


def test_le_written_two_ways_is_one_bucket(prom: PrometheusServer) -> None:
    snap = polls(prom, "spelled", n=3)[-1]
    s = snap.latest
    assert s is not None and s.baseline.requests == pytest.approx(100.0)
    # 100 + 150 * (9.9 - 9) / (9.95 - 9): the same p99 as the canary's one pod
    assert s.baseline.value(1) == pytest.approx(100 + 150 * 0.9 / 0.95)
    assert s.baseline.value(1) == pytest.approx(s.canary.value(1))
    assert s.baseline.bad_of(1) == pytest.approx(s.canary.bad_of(1))


def test_a_pod_restart_inside_a_span_counts_what_was_served(prom: PrometheusServer) -> None:
    clock = Clock(T0 + 310)  # the span (300, 310] holds the reset at 302
    cfg = config("restarted", latency=False)
    source = PrometheusMetrics(
        PrometheusConfig(url=prom.url, scrape_interval_s=STEP_S), cfg, clock=clock
    )
    sample = source.fetch(T0 + 300)
    history = source.history(200, 20)
    source.close()
    # Prometheus reads the reset as one (increase() adds the count after it), never as a drop:
    # the span counts all it can know, the 2 s the old pod served after its last scrape lost.
    assert sample.baseline.requests == pytest.approx(100.0)
    assert sample.canary.requests == pytest.approx(100.0 - 2 * RPS)
    around = [s for s in history if T0 + 280 < s.t <= T0 + 320]
    assert len(around) == 3  # 290, 300, 310
    assert all(0 < (s.canary.requests or 0) <= (s.baseline.requests or 0) for s in around)


GRPC_ERRORS = (
    'sum by ($version_label) (increase(istio_requests_total{reporter="destination",$filter,'
    'grpc_response_status=~"2|4|12|13|14|15"}[$interval]))'
)
"""The README's errors_query for a gRPC service: the server-side gRPC status codes."""


def test_grpc_failures_need_the_readmes_errors_query(prom: PrometheusServer) -> None:
    at = T0 + 400
    prometheus = PrometheusConfig(url=prom.url, scrape_interval_s=STEP_S)
    plain = PrometheusMetrics(prometheus, config("grpc", latency=False), clock=lambda: at)
    told = config("grpc", {"errors_query": GRPC_ERRORS}, latency=False)
    grpc = PrometheusMetrics(prometheus, told, clock=lambda: at)
    default, fixed = plain.fetch(at - 10), grpc.fetch(at - 10)
    plain.close()
    grpc.close()
    # As documented: HTTP 200 is no 5xx, so the default reads a failing gRPC canary as clean.
    assert default.canary.requests == pytest.approx(100.0)
    assert default.canary.value(0) == 0.0
    assert fixed.canary.value(0) == pytest.approx(0.2)
    assert fixed.baseline.value(0) == 0.0


APP_METRICS: dict[str, object] = {
    "version_label": "service_version",
    "baseline": "1.4.0",
    "canary": "1.5.0",
    "requests_query": (
        "sum by ($version_label) (increase(http_server_request_duration_seconds_count"
        '{service_name="$service",$version_label=~"$baseline|$canary"}[$interval]))'
    ),
    "latency_buckets_query": (
        "sum by (le, $version_label) (increase(http_server_request_duration_seconds_bucket"
        '{service_name="$service",$version_label=~"$baseline|$canary"}[$interval]))'
    ),
}


def test_a_histogram_in_seconds_is_read_in_ms_when_its_unit_is_given(
    prom: PrometheusServer,
) -> None:
    metrics = APP_METRICS | {"latency_buckets_unit": "s"}
    cfg = config("checkout", metrics, max_latency_ms=300)
    clock = Clock(T0 + 400)
    source = PrometheusMetrics(
        PrometheusConfig(url=prom.url, scrape_interval_s=STEP_S), cfg, clock=clock
    )
    sample = source.fetch(T0 + 390)
    assert sample.baseline.value(1) == pytest.approx(100 + 150 * 0.9 / 0.95)
    assert sample.canary.value(1) == pytest.approx(500.0)
    rollout = assemble(cfg, router=StaticRouter(), metrics=source, clock=clock)
    rollout.start()  # history: slow starts at the baseline's p99 bucket, 250 ms (0.25 s)
    assert source.slow_ms == 250.0
    for _ in range(6):
        clock.now += 10
        snap = rollout.cycle()
    rollout.close()
    # 10 % of the canary over 250 ms against 0.5 % of the baseline
    assert snap.verdict.result == VerdictResult.FAIL, snap.verdict.reason
    assert "360 slow in 3,600 canary requests, 18 in 3,600 baseline" in snap.verdict.reason


def test_a_seconds_histogram_read_as_ms_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match='set latency_buckets_unit = "s"'):
        config("checkout", APP_METRICS)
