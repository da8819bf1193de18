"""Known history backfilled into the real Prometheus: monotui counts exactly what was written.

The baseline (v1) serves 10 req/s with 1 % errors and a p99 of 175 ms; the canary (v2) serves 2 req/s
with 10 % errors (30 % after PHASE_S) and a p99 of 450 ms. A neighbour service and a third version
must not leak into the numbers. Each poll reads the increase of the counters over its span: the
spans of consecutive polls tile time, and history() tiles its span, so the counts add up to the
counters' own increase.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from monotui import status
from monotui.config import Config, PrometheusConfig, RolloutConfig
from monotui.errors import SourceError
from monotui.model import Pair, SourceState
from monotui.rollout import Rollout, assemble
from monotui.sources.metrics_prometheus import PrometheusMetrics
from monotui.sources.router_static import StaticRouter
from tests.configs import parse
from tests.prom_history import istio_labels
from tests.prometheus_server import Clock, PrometheusServer, prometheus  # noqa: F401

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
    return istio_labels("bookinfo", service, version, **extra)


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


def canary_errors_between(start: float, end: float) -> float:
    """The canary's 5xx counter increase from the scrape at `start` to the one at `end` (both on
    the STEP_S grid), as history_openmetrics writes it."""
    total = 0.0
    t = start + STEP_S
    while t <= end + 1e-9:
        total += STEP_S * 2.0 * (0.10 if t <= T0 + PHASE_S else 0.30)
        t += STEP_S
    return total


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


def _controller(url: str, at: float | Clock, **metrics: object) -> Rollout:
    rollout = _rollout(**metrics)
    clock = at if isinstance(at, Clock) else Clock(at)
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=url), rollout, clock=clock
    )
    return assemble(rollout, router=StaticRouter(), metrics=source, clock=clock)


def test_reports_backfilled_counts_rates_latency_and_split(backfilled: PrometheusServer) -> None:
    snap = _controller(backfilled.url, T0 + 200).cycle()

    status = snap.source("metrics")
    assert status is not None and status.state == SourceState.OK, status
    latest = snap.latest
    assert latest is not None
    span = latest.span_s
    assert span == 2 * STEP_S  # the first poll counts two scrapes (increase() needs both)
    # The increases over the poll: 10 and 2 req/s, 1 % and 10 % of them 5xx.
    assert latest.baseline.requests == pytest.approx(10.0 * span, rel=1e-6)
    assert latest.canary.requests == pytest.approx(2.0 * span, rel=1e-6)
    assert latest.baseline.bad_of(0) == pytest.approx(0.1 * span, rel=1e-6)
    assert latest.canary.bad_of(0) == pytest.approx(0.2 * span, rel=1e-6)
    assert snap.current("error_rate").baseline == pytest.approx(0.01, abs=1e-6)
    assert snap.current("error_rate").canary == pytest.approx(0.10, abs=1e-6)
    assert snap.current("latency_p99_ms").baseline == pytest.approx(175.0, abs=1e-3)
    assert snap.current("latency_p99_ms").canary == pytest.approx(450.0, abs=1e-3)
    assert snap.request_rate.baseline == pytest.approx(10.0, abs=1e-6)
    assert snap.request_rate.canary == pytest.approx(2.0, abs=1e-6)
    split = snap.observed_split
    assert split is not None
    assert split.stable == pytest.approx(100 * 10 / 12, abs=1e-3)
    assert split.canary == pytest.approx(100 * 2 / 12, abs=1e-3)


def test_numbers_follow_the_canary_getting_worse(backfilled: PrometheusServer) -> None:
    later = _controller(backfilled.url, T0 + PHASE_S + 120).cycle()
    assert later.current("error_rate").canary == pytest.approx(0.30, abs=1e-6)
    assert later.current("error_rate").baseline == pytest.approx(0.01, abs=1e-6)


def test_consecutive_polls_tile_time_and_their_counts_add_up(
    backfilled: PrometheusServer,
) -> None:
    """Each poll counts (previous poll, now]: the spans join end to end, and their counts add
    up to the counters' increase over the whole stretch, also across the canary's change (where
    only increase()'s extrapolation at a span's ends can differ)."""
    clock = Clock(T0 + 270)
    controller = _controller(backfilled.url, clock)
    for dt in (0, 12, 13, 15, 13.5, 16.5, 12, 14, 14, 10):  # polls late and early, 280 -> 390
        clock.now += dt
        snap = controller.cycle()
        status = snap.source("metrics")
        assert status is not None and status.state == SourceState.OK, status
    samples = snap.samples
    for before, after in zip(samples, samples[1:], strict=False):
        assert after.t - after.span_s == pytest.approx(before.t)  # no overlap, no hole
    counted = samples[1:]  # from the first poll's end, at T0 + 270
    start, end = samples[0].t, samples[-1].t
    baseline = sum(s.baseline.requests or 0.0 for s in counted)
    canary = sum(s.canary.requests or 0.0 for s in counted)
    assert baseline == pytest.approx(10.0 * (end - start), rel=1e-9)  # linear counters: exact
    assert canary == pytest.approx(2.0 * (end - start), rel=1e-9)
    errors = sum(s.canary.bad_of(0) or 0.0 for s in counted)
    truth = canary_errors_between(start, end)
    # Only the span around the change extrapolates a slope it did not see: at most one scrape
    # step of the difference (5 s x 2 req/s x 20 points) either way.
    assert abs(errors - truth) <= STEP_S * 2.0 * 0.2 + 1e-9, (errors, truth)
    assert [round(s.canary.value(0) or 0, 6) for s in counted[:2]] == [0.1, 0.1]
    assert [round(s.canary.value(0) or 0, 6) for s in counted[-2:]] == [0.3, 0.3]


def test_history_tiles_the_span_and_its_counts_match_the_counters(
    backfilled: PrometheusServer,
) -> None:
    at = T0 + SPAN_S
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=backfilled.url), _rollout(), clock=lambda: at
    )
    samples = source.history(500, 50)  # one range query per count, a step of 10 s

    assert len(samples) == 50
    assert samples[-1].t == pytest.approx(at)
    for before, after in zip(samples, samples[1:], strict=False):
        assert after.t - before.t == pytest.approx(10.0)
        assert after.span_s == pytest.approx(10.0)  # each counts its own step, nothing twice
    assert all(s.baseline.requests == pytest.approx(100.0, rel=1e-9) for s in samples)
    assert all(s.canary.requests == pytest.approx(20.0, rel=1e-9) for s in samples)
    start = samples[0].t - samples[0].span_s
    assert sum(s.canary.requests or 0.0 for s in samples) == pytest.approx(2.0 * (at - start))
    errors = sum(s.canary.bad_of(0) or 0.0 for s in samples)
    assert errors == pytest.approx(canary_errors_between(start, at), rel=1e-9)  # on the grid
    early = [s for s in samples if s.t <= T0 + PHASE_S]
    late = [s for s in samples if s.t - s.span_s >= T0 + PHASE_S]
    assert early and late
    assert all(s.canary.value(0) == pytest.approx(0.10, abs=1e-9) for s in early)
    assert all(s.canary.value(0) == pytest.approx(0.30, abs=1e-9) for s in late)
    assert all(s.baseline.value(1) == pytest.approx(175.0, abs=1e-3) for s in late)
    assert all(s.canary.value(1) == pytest.approx(450.0, abs=1e-3) for s in late)


def test_history_before_the_data_is_gaps_not_zeros(backfilled: PrometheusServer) -> None:
    at = T0 + 100
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=backfilled.url), _rollout(), clock=lambda: at
    )
    samples = source.history(300, 30)
    before = [s for s in samples if s.t < T0]
    assert before and all(not s.has_data for s in before)
    assert all(s.baseline.requests is None and s.canary.bad_of(0) is None for s in before)
    assert samples[-1].baseline.requests == pytest.approx(100.0, rel=1e-9)


def test_no_traffic_is_no_data_not_zero(backfilled: PrometheusServer) -> None:
    # An hour after the history ends: the series are gone, so every count is unknown.
    snap = _controller(backfilled.url, T0 + SPAN_S + 3600).cycle()
    latest = snap.latest
    assert latest is not None and not latest.has_data
    assert latest.baseline.requests is None and latest.canary.requests is None
    assert snap.current("error_rate").canary is None
    assert snap.current("latency_p99_ms").canary is None
    assert snap.observed_split is None
    assert snap.verdict.result.value == "NODATA"


def test_a_version_with_no_errors_reads_zero_and_an_empty_histogram_no_data(
    backfilled: PrometheusServer,
) -> None:
    # 5xx of a code nobody returned: no series, so zero where there were requests, not NO DATA.
    # Buckets cut to one bound: no +Inf bucket, so no histogram: NO DATA, not 0 ms.
    snap = _controller(
        backfilled.url,
        T0 + 200,
        errors_query=(
            "sum by ($version_label) (increase(istio_requests_total"
            '{$filter,response_code="404"}[$interval]))'
        ),
        latency_buckets_query=(
            "sum by (le, $version_label) (increase("
            'istio_request_duration_milliseconds_bucket{$filter,le="10"}[$interval]))'
        ),
    ).cycle()
    latest = snap.latest
    assert latest is not None
    assert latest.baseline.bad_of(0) == 0.0 and latest.canary.bad_of(0) == 0.0
    assert snap.current("error_rate") == Pair(0.0, 0.0)
    assert latest.baseline.value(1) is None and latest.canary.value(1) is None
    assert snap.current("latency_p99_ms") == Pair()


def test_a_rate_override_is_read_as_a_value_and_nan_is_no_data(
    backfilled: PrometheusServer,
) -> None:
    """`latency_query` gives a value, not counts: a p99 of an empty histogram is NaN, NO DATA."""
    snap = _controller(
        backfilled.url,
        T0 + 200,
        latency_query=(
            "histogram_quantile(0.99, sum by (le, $version_label) (rate("
            'istio_request_duration_milliseconds_bucket{$filter,le="10"}[$window])))'
        ),
    ).cycle()
    latest = snap.latest
    assert latest is not None
    assert latest.canary.value(0) == pytest.approx(0.10, abs=1e-6)  # the counts still read
    assert latest.baseline.value(1) is None and latest.canary.value(1) is None


def test_status_json_reports_the_backfilled_numbers(backfilled: PrometheusServer) -> None:
    snap = _controller(backfilled.url, T0 + 200).cycle()
    document = json.loads(json.dumps(status.snapshot_to_dict(snap)))
    assert document["error_rate"]["canary"] == pytest.approx(0.10, abs=1e-6)
    assert document["latency_p99_ms"]["baseline"] == pytest.approx(175.0, abs=1e-3)
    assert document["observed_split"]["canary"] == pytest.approx(100 * 2 / 12, abs=1e-3)


def test_bad_promql_override_shows_the_servers_error(backfilled: PrometheusServer) -> None:
    snap = _controller(
        backfilled.url,
        T0 + 200,
        latency_buckets_query=(
            "sum by (le, $version_label) (increase(x{$filter}[$interval])"  # one ")" short
        ),
    ).cycle()
    status_ = snap.source("metrics")
    assert status_ is not None and status_.state == SourceState.ERROR
    assert "Prometheus at" in status_.message
    assert "rejected the latency_buckets query: bad_data" in status_.message
    assert "unclosed left parenthesis" in status_.message
    assert snap.latest is not None and not snap.latest.has_data  # a gap, not zero
    assert snap.current("error_rate") == Pair()

    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=backfilled.url),
        _rollout(requests_query="sum by ($version_label) (increase(x{$filter}[$interval]) +)"),
    )
    with pytest.raises(SourceError, match="rejected the requests query"):
        source.fetch(None)
    source.close()


def test_check_says_which_prometheus_answers(backfilled: PrometheusServer) -> None:
    source = PrometheusMetrics(
        PrometheusConfig(scrape_interval_s=STEP_S, url=backfilled.url), _rollout()
    )
    assert re.fullmatch(rf"Prometheus \d+\.\d+\.\S+ answers at {backfilled.url}", source.check())
    source.close()


def test_config_parses_a_whole_file_for_prometheus(backfilled: PrometheusServer) -> None:
    config: Config = parse({"prometheus": {"url": backfilled.url, "timeout_s": 2}})
    assert config.prometheus.timeout_s == 2
