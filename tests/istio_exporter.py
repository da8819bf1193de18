"""A steady mesh as a Prometheus exporter: Istio's `istio_requests_total` for the discovery
fixtures' rollouts, each version at a fixed request rate and error fraction, counted from the
exporter's start, so `rate()` over any window gives exactly those numbers.

Labels as Istio's destination reporter writes them: destination_service_name (the Service the
request went to), destination_service_namespace, destination_version (the pods' version label),
destination_workload (the Deployment), response_code.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Version:
    """One version's traffic: its labels, requests per second, error fraction."""

    service: str
    namespace: str
    version: str
    workload: str
    rps: float
    errors: float


MESH = (
    # bookinfo reviews, split by subset (version label v1/v2): 80/20
    Version("reviews", "bookinfo", "v1", "reviews-v1", 8.0, 0.0),
    Version("reviews", "bookinfo", "v2", "reviews-v2", 2.0, 0.1),
    # Argo Rollouts' rollouts-demo, split by host: 95/5
    Version("rollouts-demo-stable", "default", "", "rollouts-demo", 9.5, 0.02),
    Version("rollouts-demo-canary", "default", "", "rollouts-demo", 0.5, 0.0),
    # Flagger's podinfo: Deployments podinfo-primary and podinfo: 80/20
    Version("podinfo-primary", "test", "", "podinfo-primary", 8.0, 0.0),
    Version("podinfo-canary", "test", "", "podinfo", 2.0, 0.05),
    # The Gateway API guide's foo-route: Services foo-v1 and foo-v2: 90/10
    Version("foo-v1", "web", "v1", "foo-v1", 9.0, 0.0),
    Version("foo-v2", "web", "v2", "foo-v2", 1.0, 0.2),
)


class MeshExporter:
    """`/metrics` on 127.0.0.1 (a free port) with the counters of `MESH` at this moment."""

    def __init__(self, mesh: tuple[Version, ...] = MESH) -> None:
        self.mesh = mesh
        self.started = time.monotonic()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                body = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True
        self._thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def exposition(self) -> str:
        elapsed = time.monotonic() - self.started
        lines = ["# TYPE istio_requests_total counter"]
        for v in self.mesh:
            total = v.rps * elapsed
            for code, count in (("200", total * (1 - v.errors)), ("503", total * v.errors)):
                labels = (
                    f'reporter="destination",destination_service_name="{v.service}",'
                    f'destination_service_namespace="{v.namespace}",'
                    f'destination_version="{v.version or "unknown"}",'
                    f'destination_workload="{v.workload}",'
                    f'destination_workload_namespace="{v.namespace}",response_code="{code}"'
                )
                lines.append(f"istio_requests_total{{{labels}}} {count:.6f}")
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
