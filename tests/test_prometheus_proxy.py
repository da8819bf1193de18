"""Prometheus through the API server's service proxy with the kubeconfig's credentials: a real
Prometheus behind the fake API server, reached by the bounded HTTP client and by the Prometheus
source; the token goes to the API server with every request (it requires it here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monotui.config import KubernetesConfig, PrometheusConfig
from monotui.errors import ConfigError
from monotui.registry import BuildContext
from monotui.sources.kube import KubeConnection, connect
from monotui.sources.prometheus_proxy import ServiceRef, through_kubernetes
from tests.configs import parse
from tests.discovery_world import mesh  # noqa: F401
from tests.fakekube import FakeKube
from tests.prometheus_server import PrometheusServer

TOKEN = "s3cret-token"
V2 = 'destination_service_name="reviews",destination_version="v2"'
# Ratios of rates: exact from the first two scrapes (rate() over a window not yet full is not).
ERRORS_OF_V2 = (
    f'sum(rate(istio_requests_total{{{V2},response_code="503"}}[1m]))'
    f" / sum(rate(istio_requests_total{{{V2}}}[1m]))"
)


@pytest.fixture
def kube(fake_kube: FakeKube, tmp_path: Path) -> Iterator[KubeConnection]:
    fake_kube.require_token = TOKEN  # any other token (or none) is a 401 at the API server
    path = fake_kube.write_kubeconfig(tmp_path / "kubeconfig", token=TOKEN)
    connection = connect(KubernetesConfig(kubeconfig=path))
    yield connection
    connection.close()


def test_a_bounded_client_queries_prometheus_through_the_proxy(
    fake_kube: FakeKube,
    kube: KubeConnection,
    mesh: PrometheusServer,  # noqa: F811
) -> None:
    fake_kube.put_service("istio-system", "prometheus", [9090], backend=mesh.url)
    prom = PrometheusConfig(kubernetes_service="istio-system/prometheus:9090")
    connection = through_kubernetes(prom, kube)
    assert connection.base_url == (
        f"{fake_kube.url}/api/v1/namespaces/istio-system/services/prometheus:9090/proxy"
    )
    assert connection.request_headers() == {"Authorization": f"Bearer {TOKEN}"}
    client = connection.client(timeout_s=5, max_bytes=1 << 20)
    try:
        answer = client.get(
            "/api/v1/query",
            {"query": ERRORS_OF_V2},
            headers=connection.request_headers(),
        )
        answer.raise_for_status()
        body = answer.json()
    finally:
        client.close()
    assert body["status"] == "success"
    assert float(body["data"]["result"][0]["value"][1]) == pytest.approx(0.1, abs=1e-6)
    proxied = [r for r in fake_kube.requests if "/proxy/" in r.path]
    assert proxied and all(r.token == TOKEN for r in proxied)
    assert "prometheus" in (connection.via or "")


def test_the_prometheus_source_reads_through_the_proxy(
    fake_kube: FakeKube,
    kube: KubeConnection,
    mesh: PrometheusServer,  # noqa: F811
) -> None:
    fake_kube.put_service("istio-system", "prometheus", [9090], backend=mesh.url)
    config = parse(
        {
            "prometheus": {"kubernetes_service": "istio-system/prometheus:9090"},
            "rollouts": [
                {
                    "name": "reviews",
                    "namespace": "bookinfo",
                    "router": {"kind": "none"},
                    "metrics": {"kind": "prometheus", "service": "reviews"},
                }
            ],
        }
    )
    ctx = BuildContext(config, _kube=kube)
    from monotui.sources.metrics_prometheus import PrometheusMetrics

    source = PrometheusMetrics(
        ctx.prometheus(), config.rollouts[0], connection=ctx.prometheus_connection()
    )
    try:
        sample = source.fetch(None)
    finally:
        source.close()
    assert sample.canary.value(0) == pytest.approx(0.1, abs=1e-6)
    baseline, canary = sample.request_rate.baseline, sample.request_rate.canary
    assert baseline and canary and canary / baseline == pytest.approx(0.25, rel=1e-6)


def test_a_url_wins_over_the_service_and_a_bad_service_is_a_config_error() -> None:
    config = parse({"prometheus": {"url": "http://p:9090", "kubernetes_service": "a/b:1"}})
    assert BuildContext(config).prometheus_connection() is None  # no cluster needed
    with pytest.raises(ConfigError, match="is not NAMESPACE/SERVICE:PORT"):
        parse({"prometheus": {"kubernetes_service": "prometheus:9090"}})
    assert ServiceRef.parse("monitoring/prometheus-k8s:web").proxy_path == (
        "/api/v1/namespaces/monitoring/services/prometheus-k8s:web/proxy"
    )
