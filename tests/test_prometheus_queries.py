"""The PromQL monotui sends, and the config errors a broken override gives (no server needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monotui.config import PrometheusConfig
from monotui.errors import ConfigError
from monotui.sources.metrics_prometheus import PrometheusMetrics
from tests.configs import parse


def _metrics(**metrics: object) -> dict[str, object]:
    rollout = {"name": "reviews", "namespace": "bookinfo", "metrics": metrics}
    return {"rollouts": [rollout]}


def test_one_count_query_each_selects_both_versions_of_this_service_over_the_poll() -> None:
    rollout = parse(_metrics(selector='source_workload="productpage"')).rollouts[0]
    source = PrometheusMetrics(PrometheusConfig(), rollout)
    assert source.queries_per_poll == 3  # requests, 5xx, the duration buckets
    queries = source.queries(12.5)
    assert queries["requests"] == (
        "sum by (destination_version) (increase(istio_requests_total{"
        'reporter="destination",destination_service_name="reviews",'
        'destination_service_namespace="bookinfo",destination_version=~"v1|v2",'
        'source_workload="productpage"}[12500ms]))'
    )
    assert 'response_code=~"5.."' in queries["errors"] and "[12500ms]" in queries["errors"]
    buckets = queries["latency_buckets"]
    assert buckets.startswith("sum by (le, destination_version) (increase(istio_request_duration")
    no_latency = (
        parse(_metrics() | {})
        .rollouts[0]
        .model_copy(update={"judge": rollout.judge.model_copy(update={"latency": False})})
    )
    assert PrometheusMetrics(PrometheusConfig(), no_latency).queries_per_poll == 2


@pytest.mark.parametrize(
    ("label", "baseline", "canary"),
    [
        ("destination_service_name", "rollouts-demo-stable", "rollouts-demo-canary"),  # host split
        ("destination_workload", "podinfo-primary", "podinfo"),  # Flagger's two Deployments
    ],
)
def test_a_split_by_service_or_workload_pins_no_single_service(
    label: str, baseline: str, canary: str
) -> None:
    metrics = {"service": baseline, "version_label": label, "baseline": baseline, "canary": canary}
    rollout = parse(_metrics(**metrics)).rollouts[0]
    query = PrometheusMetrics(PrometheusConfig(), rollout).queries(10)["requests"]
    assert query == (
        f"sum by ({label}) (increase(istio_requests_total{{"
        f'reporter="destination",destination_service_namespace="bookinfo",'
        f'{label}=~"{baseline}|{canary}"}}[10000ms]))'
    )


def test_label_values_are_escaped_inside_promql_strings() -> None:
    rollout = parse(_metrics(service='we"ird', baseline="1.0", canary="1.1")).rollouts[0]
    query = PrometheusMetrics(PrometheusConfig(), rollout).queries(10)["requests"]
    assert 'destination_service_name="we\\"ird"' in query
    assert 'destination_version=~"1\\\\.0|1\\\\.1"' in query  # a dot matches only a dot


def test_an_override_is_filled_in() -> None:
    rollout = parse(
        _metrics(
            version_label="version",
            window="30s",
            request_rate_query="sum by ($version_label) (rate(http_total{$filter}[$window]))",
        )
    ).rollouts[0]
    query = PrometheusMetrics(PrometheusConfig(), rollout).queries(10)["requests"]
    assert query.startswith("sum by (version) (rate(http_total{destination_service_name=")
    assert 'version=~"v1|v2"}[30s]))' in query


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("sum(rate(x{$filter}[$window]))", "missing placeholder $version_label"),
        ("sum by ($version_label) (rate(x[$window]))", "$filter (or $service, $baseline"),
        ("sum by ($version_label) (rate(x{$filtr}[1m]))", "unknown placeholder $filtr"),
        ("sum by ($version_label) (x{$filter}) * 2$", "stray '$'"),
    ],
)
def test_an_override_that_cannot_work_is_a_config_error(override: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(_metrics(error_rate_query=override), source="monotui.toml")
    message = str(caught.value)
    assert "monotui.toml: rollouts[0] (reviews).metrics.error_rate_query" in message
    assert says in message


def test_explicit_versions_instead_of_filter_are_enough() -> None:
    override = (
        'sum by ($version_label) (rate(x{app="$service",$version_label=~"$baseline|$canary"}[5m]))'
    )
    rollout = parse(_metrics(latency_query=override)).rollouts[0]
    query = PrometheusMetrics(PrometheusConfig(), rollout).queries(10)["latency_buckets:value"]
    assert 'x{app="reviews",destination_version=~"v1|v2"}[5m]' in query


def test_a_bad_version_label_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a Prometheus label name"):
        parse(_metrics(version_label="destination-version"))


def test_a_rate_window_shorter_than_two_scrapes_is_refused_at_start(tmp_path: Path) -> None:
    # rate() over a window that holds one scrape is always empty: NO DATA for ever, unless said.
    config = tmp_path / "monotui.toml"
    config.write_text(
        """
[prometheus]
url = "http://127.0.0.1:9"
scrape_interval_s = 15
[[rollouts]]
name = "reviews"
[rollouts.router]
kind = "none"
[rollouts.metrics]
window = "20s"
error_rate_query = 'sum by ($version_label) (rate(x_errors{$filter}[$window]))'
"""
    )
    out = subprocess.run(
        [sys.executable, "-m", "monotui", "status", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "window '20s' holds fewer than two scrapes" in line and "at least 30s" in line


def test_a_rate_window_of_two_scrapes_is_fine() -> None:
    rollout = parse(
        _metrics(window="30s", error_rate_query="sum by ($version_label) (x{$filter}[$window])")
    ).rollouts[0]
    PrometheusMetrics(PrometheusConfig(scrape_interval_s=15), rollout)  # no error
    with pytest.raises(ConfigError, match="at least 60s"):
        PrometheusMetrics(PrometheusConfig(scrape_interval_s=30), rollout)
