"""The world of the discovery tests: the fake API server seeded with the upstream manifests, a
real Prometheus scraping a steady Istio mesh, served behind the fake's service proxy as
istio-system/prometheus:9090, and `monotui` run in-process with no config file anywhere.

Import the fixtures into a test module: `from tests.discovery_world import cluster, mesh, ...`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monotui.cli import main
from tests.discovery_helpers import seed
from tests.fakekube import FakeKube
from tests.istio_exporter import MeshExporter
from tests.prometheus_server import PrometheusServer, binary, wait_until

SERIES = 16  # 8 versions x 2 response codes: every one has a rate once it is scraped twice


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus (started) scraping the mesh every second, with rates to show."""
    binary("prometheus")
    exporter = MeshExporter()
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), targets=[exporter.target])
    try:
        server.start()
        wait_until(
            lambda: len(server.query("rate(istio_requests_total[1m])")) >= SERIES,
            20,
            "Prometheus to have rates for every series",
            0.1,
        )
        yield server
    finally:
        server.kill()
        exporter.close()


@dataclass
class Cluster:
    """The fake cluster, its kubeconfig, and where monotui runs."""

    fake: FakeKube
    kubeconfig: Path
    home: Path

    def prometheus_behind_proxy(self, prometheus: PrometheusServer) -> None:
        """istio-system/prometheus:9090, as Istio's addon installs it, reaching `prometheus`."""
        self.fake.put_service("istio-system", "prometheus", [9090], backend=prometheus.url)

    def object(self, group: str, version: str, plural: str, ns: str, name: str) -> Any:
        return self.fake.get_object(group, version, plural, ns, name)


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    """The seeded fake API server; monotui finds it by KUBECONFIG, and finds no config file."""
    home = tmp_path / "home"
    home.mkdir()
    with FakeKube() as fake:
        seed(fake)
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.chdir(home)  # no ./monotui.toml
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))  # no config.toml there
        monkeypatch.setenv("XDG_STATE_HOME", str(home / ".state"))
        for name in ("MONOTUI_PROMETHEUS__URL", "MONOTUI_KUBERNETES__CONTEXT"):
            monkeypatch.delenv(name, raising=False)
        yield Cluster(fake, kubeconfig, home)


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def rollouts(self) -> dict[str, dict[str, Any]]:
        """`status --json`'s rollouts by name (and fails when a name comes twice)."""
        listed = self.json()["rollouts"]
        names = [r["name"] for r in listed]
        assert len(names) == len(set(names)), names
        return {r["name"]: r for r in listed}


def monotui(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """`monotui ARGV` in this process; its exit code and output."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return Ran(code, out, err)
