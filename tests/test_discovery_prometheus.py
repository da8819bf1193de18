"""Finding Prometheus without a URL: the usual Services and any Service labelled
app.kubernetes.io/name=prometheus, asked through the fake API server's service proxy; the first
that answers as a real Prometheus wins, and each one that did not says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monotui.config import KubernetesConfig
from monotui.sources.discovery import find_prometheus
from monotui.sources.kube import KubeConnection, connect
from tests.discovery_world import mesh  # noqa: F401
from tests.fakekube import FakeKube
from tests.prometheus_server import PrometheusServer


@pytest.fixture
def kube(fake_kube: FakeKube, tmp_path: Path) -> Iterator[KubeConnection]:
    connection = connect(KubernetesConfig(kubeconfig=fake_kube.write_kubeconfig(tmp_path / "kc")))
    yield connection
    connection.close()


def test_a_labelled_service_anywhere_is_found_after_the_usual_ones(
    fake_kube: FakeKube,
    kube: KubeConnection,
    mesh: PrometheusServer,  # noqa: F811
) -> None:
    fake_kube.put_service("monitoring", "prometheus-k8s", [9090])  # exists, no ready pods
    fake_kube.put_service("istio-system", "prometheus", [9090], backend=mesh.url + "/nothing")
    labels = {"app.kubernetes.io/name": "prometheus"}
    ports = [{"name": "grpc", "port": 10901}, {"name": "web", "port": 9090}]
    fake_kube.put_service("observability", "prom", ports, labels=labels, backend=mesh.url)
    finding = find_prometheus(kube)
    assert finding.service is not None and str(finding.service) == "observability/prom:9090"
    assert finding.version  # the real server's version
    tried = dict(line.split(": ", 1) for line in finding.tried)
    assert tried["istio-system/prometheus:9090"] == "answered 404: not a Prometheus"
    assert "no endpoints" in tried["monitoring/prometheus-k8s:9090"]
    assert tried["monitoring/prometheus-operated:9090"] == "no such Service"
    assert "answered at observability/prom:9090" in finding.line()


def test_nothing_to_find_is_one_clear_line(fake_kube: FakeKube, kube: KubeConnection) -> None:
    fake_kube.deny("list", "services")
    finding = find_prometheus(kube)
    assert finding.service is None
    line = finding.line()
    assert line.startswith("prometheus: none found (")
    assert "no such Service: istio-system/prometheus:9090, monitoring/prometheus-k8s:9090" in line
    assert "forbidden to list: Services labelled app.kubernetes.io/name=prometheus" in line
    assert "pass --prometheus URL" in line
