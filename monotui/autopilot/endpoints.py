"""The autopilot's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process works:
liveness) and `/readyz` (every rollout finished its first cycle: readiness). Plain `http.server`
threads: the endpoints are tiny and must answer while the rollouts' polls are busy."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monotui.errors import ConfigError

Check = Callable[[], str | None]
"""None when healthy (ready), else why not, in one line."""


def parse_listen(text: str) -> tuple[str, int]:
    """`[HOST]:PORT` (`:8080` is every interface, `[::1]:8080` an IPv6 host)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--listen {text!r}: expected [HOST]:PORT, e.g. :8080 or 127.0.0.1:9090")
    return host.strip("[]"), int(port)


class Endpoints:
    """Serves the three endpoints on `address` in a thread of its own."""

    def __init__(
        self, address: tuple[str, int], *, registry: CollectorRegistry, healthy: Check, ready: Check
    ) -> None:
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                endpoints.answer(self)

            def log_message(self, format: str, *args: object) -> None:
                """Probes every few seconds are not news: no access log."""

        self.registry = registry
        self.healthy = healthy
        self.ready = ready
        try:
            self.server = ThreadingHTTPServer(address, Handler)
        except OSError as exc:
            host, port = address
            raise ConfigError(
                f"--listen {host}:{port}: cannot listen there ({exc.strerror}): pick another port"
            ) from None
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="endpoints", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(request, 200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        elif path in ("/healthz", "/readyz"):
            why = (self.healthy if path == "/healthz" else self.ready)()
            body = ("ok" if why is None else why) + "\n"
            self._send(request, 200 if why is None else 503, body.encode("ascii", "replace"))
        else:
            self._send(request, 404, b"not found: /metrics, /healthz or /readyz\n")

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
