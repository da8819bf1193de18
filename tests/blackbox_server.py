"""Debian's real blackbox_exporter for tests (`prometheus-blackbox-exporter`): a free 127.0.0.1
port, a temp module config, readiness by polling, and the Prometheus scrape config that sends it
each target as `/probe?target=...&module=...` by relabeling. A missing binary fails the test (it
never skips): CI installs the package, and a developer is told how to."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from tests.prometheus_server import PrometheusServer, free_port, wait_until

MODULES = """modules:
  http_2xx:
    prober: http
    timeout: 2s
    http:
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
"""


def binary() -> str:
    found = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    if found is None:
        where = "CI must install it (.ci/run does)" if os.environ.get("CI") == "true" else "run"
        pytest.fail(
            f"blackbox_exporter is not installed: {where} 'sudo apt-get install "
            "prometheus-blackbox-exporter' (the synthetics tests need it; never skipped)",
            pytrace=False,
        )
    return found


class BlackboxExporter:
    """One blackbox_exporter process with its own module config under `root`."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.config = root / "blackbox.yml"
        self.config.write_text(MODULES, encoding="utf-8")
        self.log = root / "blackbox.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary(), f"--config.file={self.config}", f"--web.listen-address={self.address}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_until(self._ready, 20, f"blackbox_exporter on {self.address}")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"blackbox_exporter exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"http://{self.address}/-/healthy", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def scrape_probes(
    prometheus: PrometheusServer,
    exporter: BlackboxExporter,
    targets: Sequence[str],
    mesh: str | None = None,
) -> None:
    """Prometheus scrapes `targets` through the exporter every second, module http_2xx (and the
    exporter `mesh`, host:port, when given)."""
    quoted = ", ".join(repr(t) for t in targets)
    also = f"  - job_name: mesh\n    static_configs:\n      - targets: [{mesh!r}]\n" if mesh else ""
    prometheus.config.write_text(
        f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: blackbox
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets: [{quoted}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter.address}
{also}""",
        encoding="utf-8",
    )


@pytest.fixture
def blackbox(tmp_path: Path) -> Iterator[BlackboxExporter]:
    exporter = BlackboxExporter(tmp_path / "blackbox")
    try:
        yield exporter
    finally:
        exporter.stop()
