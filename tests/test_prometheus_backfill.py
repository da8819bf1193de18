"""Known history backfilled into the real Prometheus: monotui reports exactly what was written.

The baseline (v1) serves 10 req/s with 1 % errors and a p99 of 175 ms; the canary (v2) serves 2 req/s
with 10 % errors (30 % after PHASE_S) and a p99 of 450 ms. A neighbour service and a third version
must not leak into the numbers.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from monotui.config import Config, PrometheusConfig, RolloutConfig
from monotui.errors import SourceError
from monotui.model import SourceState
from monotui.rollout import Rollout, assemble
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.prometheus_server import PrometheusServer, prometheus  # noqa: F401

STEP_S = 5
SPAN_S = 600
PHASE_S = 300
# Cumulative bucket rates (requests/s at or under `le` ms); the last one is the total.
BUCKETS = ("10", "25", "50", "100", "250", "500", "+Inf")
BASELINE_LE = (0.0, 5.0, 9.0, 9.8, 10.0, 10.0, 10.0)  # p99: 100 + 150 * (9.9 - 9.8) / 0.2 = 175
CANARY_LE = (0.0, 0.5, 1.0, 1.5, 1.9, 2.0, 2.0)  # p99: 250 + 250 * (1.98 - 1.9) / 0.1 = 450

# Three hours back, on a whole minute: old enough to be history, young enough for retention.
T0 = float(int(time.time() - 3 * 3600) // 60 * 60)


def _labels(service: str, version: str, **extra: str) -> str:
    labels = {
        "reporter": "destination",
        "destination_service_name": service,
        "destination_service_namespace": "bookinfo",
        "destination_version": version,
        **extra,
    }
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def history_openmetrics() -> str:
    """Counters that grow linearly (rate() is then exact), one sample every STEP_S seconds."""
    versions = {
        # (service, version): (req/s, error fraction before PHASE_S, after, bucket rates)
        ("reviews", "v1"): (10.0, 0.01, 0.01, BASELINE_LE),
        ("reviews", "v2"): (2.0, 0.10, 0.30, CANARY_LE),
        ("reviews", "v3"): (50.0, 0.90, 0.90, BASELINE_LE),  # not ours: ignored
        ("ratings", "v2"): (70.0, 0.50, 0.50, CANARY_LE),  # another service: ignored
    }
    times = [T0 + k * STEP_S for k in range(SPAN_S // STEP_S + 1)]
    lines = ["# TYPE istio_requests counter"]
    for (service, version), (rate, before, after, _) in versions.items():
        # The counters start high so extrapolation never clamps at zero.
        for code, share in (("200", None), ("503", 1.0)):
            count = 1000.0
            for i, t in enumerate(times):
                if i:
                    err = before if t <= T0 + PHASE_S else after
                    count += STEP_S * rate * (err if share else 1 - err)
                lines.append(
                    f"istio_requests_total{{{_labels(service, version, response_code=code)}}} "
                    f"{count} {t:.0f}"
                )
    lines.append("# TYPE istio_request_duration_milliseconds histogram")
    for (service, version), (_, _, _, le_rates) in versions.items():
        for le, le_rate in zip(BUCKETS, le_rates, strict=True):
            for i, t in enumerate(times):
                lines.append(
                    "istio_request_duration_milliseconds_bucket"
                    f'{{{_labels(service, version)},le="{le}"}} {5000 + i * STEP_S * le_rate} {t:.0f}'
                )
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture
def backfilled(prometheus: PrometheusServer) -> PrometheusServer:  # noqa: F811
    prometheus.backfill(history_openmetrics())
    prometheus.start()
    return prometheus


def _rollout(**metrics: object) -> RolloutConfig:
    config = parse(
        {
            "rollouts": [
                {
                    "name": "reviews",
                    "namespace": "bookinfo",
                    "router": {"kind": "none"},
                    "metrics": {"kind": "prometheus", **metrics},
                }
            ]
        }
    )
    return config.rollouts[0]


def _controller(url: str, at: float, **metrics: object) -> Rollout:
    rollout = _rollout(**metrics)
    source = PrometheusMetrics(PrometheusConfig(url=url), rollout, clock=lambda: at)
    return assemble(rollout, router=StaticRouter(), metrics=source, clock=lambda: at)


def test_reports_backfilled_error_rates_latency_and_split(backfilled: PrometheusServer) -> None:
    snap = _controller(backfilled.url, T0 + 200).cycle()

    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.OK, status
    latest = snap.latest
    assert latest is not None
    assert latest.error_rate.baseline == pytest.approx(0.01, abs=1e-3)
    assert latest.error_rate.canary == pytest.approx(0.10, abs=1e-3)
    assert latest.latency_p99_ms.baseline == pytest.approx(175.0, abs=1e-3)
    assert latest.latency_p99_ms.canary == pytest.approx(450.0, abs=1e-3)
    assert latest.request_rate.baseline == pytest.approx(10.0, abs=1e-3)
    assert latest.request_rate.canary == pytest.approx(2.0, abs=1e-3)
    split = snap.observed_split
    assert split is not None
    assert split.stable == pytest.approx(100 * 10 / 12, abs=1e-3)
    assert split.canary == pytest.approx(100 * 2 / 12, abs=1e-3)


def test_numbers_follow_the_canary_getting_worse(backfilled: PrometheusServer) -> None:
    later = _controller(backfilled.url, T0 + PHASE_S + 120).cycle().latest
    assert later is not None
    assert later.error_rate.canary == pytest.approx(0.30, abs=1e-3)
    assert later.error_rate.baseline == pytest.approx(0.01, abs=1e-3)


def test_history_fills_the_chart_from_one_range_query_per_metric(
    backfilled: PrometheusServer,
) -> None:
    at = T0 + SPAN_S
    source = PrometheusMetrics(PrometheusConfig(url=backfilled.url), _rollout(), clock=lambda: at)
    samples = source.history(500, 50)  # step 10 s

    assert len(samples) == 50
    assert [s.t for s in samples] == sorted(s.t for s in samples)
    assert samples[-1].t == pytest.approx(at)
    assert samples[1].t - samples[0].t == pytest.approx(10.0)
    early = [s for s in samples if T0 + 60 <= s.t <= T0 + PHASE_S]
    late = [s for s in samples if s.t >= T0 + PHASE_S + 60]
    assert early and late
    assert all(s.error_rate.canary == pytest.approx(0.10, abs=1e-3) for s in early)
    assert all(s.error_rate.canary == pytest.approx(0.30, abs=1e-3) for s in late)
    assert all(s.latency_p99_ms.baseline == pytest.approx(175.0, abs=1e-3) for s in late)
    assert all(s.request_rate.canary == pytest.approx(2.0, abs=1e-3) for s in late)


def test_no_traffic_is_no_data_not_zero(backfilled: PrometheusServer) -> None:
    # An hour after the history ends: the series are gone, so every value is unknown.
    snap = _controller(backfilled.url, T0 + SPAN_S + 3600).cycle()
    latest = snap.latest
    assert latest is not None
    assert latest.error_rate.baseline is None and latest.error_rate.canary is None
    assert latest.latency_p99_ms.canary is None
    assert snap.observed_split is None
    assert snap.verdict.result.value == "NODATA"


def test_a_version_with_no_errors_reads_zero_and_nan_reads_no_data(
    backfilled: PrometheusServer,
) -> None:
    # Errors only of a code nobody returned (zero, not NO DATA); a p99 of an empty histogram (NaN).
    snap = _controller(
        backfilled.url,
        T0 + 200,
        error_rate_query=(
            'sum by ($version_label) (rate(istio_requests_total{$filter,response_code="404"}[$window]))'
            " or sum by ($version_label) (rate(istio_requests_total{$filter}[$window])) * 0"
        ),
        latency_query=(
            "histogram_quantile(0.99, sum by (le, $version_label) (rate("
            'istio_request_duration_milliseconds_bucket{$filter,le="10"}[$window])))'
        ),
    ).cycle()
    latest = snap.latest
    assert latest is not None
    assert latest.error_rate.baseline == 0.0 and latest.error_rate.canary == 0.0
    assert latest.latency_p99_ms.baseline is None and latest.latency_p99_ms.canary is None


def test_status_json_reports_the_backfilled_numbers(
    backfilled: PrometheusServer, tmp_path: Path
) -> None:
    status = pytest.importorskip("monotui.status")
    snap = _controller(backfilled.url, T0 + 200).cycle()
    document = json.loads(json.dumps(status.snapshot_to_dict(snap)))
    assert document["error_rate"]["canary"] == pytest.approx(0.10, abs=1e-3)
    assert document["latency_p99_ms"]["baseline"] == pytest.approx(175.0, abs=1e-3)
    assert document["observed_split"]["canary"] == pytest.approx(100 * 2 / 12, abs=1e-3)


def test_bad_promql_override_shows_the_servers_error(backfilled: PrometheusServer) -> None:
    snap = _controller(
        backfilled.url,
        T0 + 200,
        latency_query="histogram_quantile(0.99, sum by ($version_label) (rate(x{$filter}[$window]))",
    ).cycle()
    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.ERROR
    assert "Prometheus rejected the latency query: bad_data" in status.message
    assert "unclosed left parenthesis" in status.message
    assert snap.latest is not None and snap.latest.error_rate.canary is None  # a gap, not zero

    source = PrometheusMetrics(
        PrometheusConfig(url=backfilled.url),
        _rollout(request_rate_query="sum by ($version_label) (rate(x{$filter}[$window]) +)"),
    )
    with pytest.raises(SourceError, match="rejected the request-rate query"):
        source.fetch()


def test_check_says_which_prometheus_answers(backfilled: PrometheusServer) -> None:
    source = PrometheusMetrics(PrometheusConfig(url=backfilled.url), _rollout())
    assert re.fullmatch(rf"Prometheus \d+\.\d+\.\S+ answers at {backfilled.url}", source.check())


def test_config_parses_a_whole_file_for_prometheus(backfilled: PrometheusServer) -> None:
    config: Config = parse({"prometheus": {"url": backfilled.url, "timeout_s": 2}})
    assert config.prometheus.timeout_s == 2
