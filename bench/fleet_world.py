"""The world of bench/fleet_scale.py: N Istio rollouts on the fake API server and a real Prometheus
with N services of history (backfilled with promtool) that goes on live (an exporter whose
counters continue the backfilled ones, scraped every second), and a monotui.toml for them.

Also what the benchmark reads from outside monotui: the queries Prometheus answered (its own
`prometheus_http_requests_total`), a process's threads and its TCP connections to a port.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.fakekube import FakeKube
from tests.fleet_helpers import fleet, rollout_table, virtual_service
from tests.fleet_history import BUCKETS_MS, FAST_SHARE, Traffic, openmetrics
from tests.prometheus_server import PrometheusServer, free_port

HISTORY_S = 1800
INTERVAL_S = 5.0


def traffic_of(n: int, instance: str) -> list[Traffic]:
    """N services: a healthy baseline and canary each, every tenth canary failing."""
    out = []
    for i, (name, ns) in enumerate(fleet(n, namespaces=min(n, 10))):
        canary_errors = 0.2 if i % 10 == 3 else 0.01
        versions = {"v1": (10.0, 0.01), "v2": (1.0, canary_errors)}
        out.append(Traffic(ns, name, versions, {"job": "sim", "instance": instance}))
    return out


class _Exporter(BaseHTTPRequestHandler):
    """The live continuation of the backfilled counters: the same line, at the wall clock."""

    services: list[Traffic] = []
    start = 0.0

    def do_GET(self) -> None:
        now = time.time()
        lines = ["# TYPE istio_requests_total counter"]
        buckets = ["# TYPE istio_request_duration_milliseconds histogram"]
        for t in self.services:
            for version, (rps, errors) in t.versions.items():
                base = (
                    f'reporter="destination",destination_service_name="{t.service}",'
                    f'destination_service_namespace="{t.namespace}",destination_version="{version}"'
                )
                served = (now - self.start) * rps
                for code, share in (("200", 1 - errors), ("503", errors)):
                    count = 1000.0 + served * share
                    lines.append(
                        f'istio_requests_total{{{base},response_code="{code}"}} {count:.3f}'
                    )
                for le, fast in zip(BUCKETS_MS, FAST_SHARE, strict=True):
                    count = 1000.0 + served * fast
                    buckets.append(
                        f'istio_request_duration_milliseconds_bucket{{{base},le="{le}"}} {count:.3f}'
                    )
        body = ("\n".join([*lines, *buckets]) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@dataclass
class FleetWorld:
    """Everything one N runs against; `close()` stops it all."""

    n: int
    root: Path
    fake: FakeKube = field(default_factory=FakeKube)
    prometheus: PrometheusServer | None = None
    exporter: ThreadingHTTPServer | None = None
    config: Path | None = None
    kubeconfig: Path | None = None

    def start(self) -> FleetWorld:
        self.root.mkdir(parents=True, exist_ok=True)
        self.fake.start()
        names = fleet(self.n, namespaces=min(self.n, 10))
        for name, ns in names:
            self.fake.put_object(virtual_service(name, ns, canary=10))
        self.kubeconfig = self.fake.write_kubeconfig(self.root / "kubeconfig")
        port = free_port()
        instance = f"127.0.0.1:{port}"
        services = traffic_of(self.n, instance)
        start = float(int(time.time() - HISTORY_S - 60))
        handler = type("Exporter", (_Exporter,), {"services": services, "start": start})
        self.exporter = ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=self.exporter.serve_forever, daemon=True).start()
        self.prometheus = PrometheusServer(self.root / "prometheus", targets=[instance])
        # History up to a little before now; the scrapes of the same series take over from there.
        self.prometheus.backfill(
            openmetrics(services, start=start, span_s=time.time() - start - 30, step_s=15)
        )
        self.prometheus.start()
        self._wait_for_live()
        self.config = self.root / "monotui.toml"
        self.config.write_text(self._toml(names), encoding="utf-8")
        return self

    def _wait_for_live(self) -> None:
        assert self.prometheus is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(AssertionError, httpx.HTTPError):
                live = self.prometheus.query("count(increase(istio_requests_total[10s]))")
                if live and float(live[0]["value"][1]) >= 4 * self.n:  # type: ignore[index]
                    return
            time.sleep(0.2)  # a benchmark waiting for Prometheus' first scrapes
        raise RuntimeError("Prometheus never scraped the exporter")

    def _toml(self, names: list[tuple[str, str]]) -> str:
        assert self.prometheus is not None
        lines = [
            "[prometheus]",
            f'url = "{self.prometheus.url}"',
            "scrape_interval_s = 1",  # the exporter is scraped every second
            "[kubernetes]",
            f'kubeconfig = "{self.kubeconfig}"',
            "[audit]",
            f'path = "{self.root / "audit.jsonl"}"',
        ]
        for name, ns in names:
            table = rollout_table(name, ns)
            lines += ["[[rollouts]]", f'name = "{name}"', f'namespace = "{ns}"']
            lines += [f"interval_s = {INTERVAL_S}", "[rollouts.router]", 'kind = "istio"']
            lines += [f'name = "{table["router"]["name"]}"', 'route = "primary"']
            lines += ["[rollouts.metrics]", 'kind = "prometheus"', f'service = "{name}"']
        return "\n".join(lines) + "\n"

    def queries_answered(self) -> int:
        """Instant and range queries this Prometheus has answered so far (its own counter)."""
        assert self.prometheus is not None
        text = httpx.get(f"{self.prometheus.url}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith("prometheus_http_requests_total{") and (
                'handler="/api/v1/query"' in line or 'handler="/api/v1/query_range"' in line
            ):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)

    def close(self) -> None:
        if self.exporter is not None:
            self.exporter.shutdown()
            self.exporter.server_close()
        if self.prometheus is not None:
            self.prometheus.kill()
        self.fake.stop()


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def connections_to(pid: int, port: int) -> int:
    """Established TCP connections of process `pid` to 127.0.0.1:`port`."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        remote, state, inode = parts[2], parts[3], parts[9]
        if state == "01" and inode in inodes and int(remote.split(":")[1], 16) == port:
            count += 1
    return count
