"""A small shop per version for the demo's synthetic probes: a threaded HTTP server on 127.0.0.1
(a free port) whose `/checkout` answers 200 {"status": "ok"} or 500 {"status": "failed"} as the
version's `failing(headers)` says (the demo: the canary fails while `new-checkout` is on, or when
a probe forces it on with `x-flag-new-checkout: on`). Nagle is off: a probe's latency is the
app's, not a 40 ms delayed ACK. Tests use it as the versions behind a route too.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Failing = Callable[[Mapping[str, str]], bool]
"""Whether a request with these headers (names lower-cased) fails."""
MAX_BODY = 64 * 1024


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-answer (a probe that timed out, the demo quitting) is no
    error: socketserver would print its traceback to stderr, over the demo's screen."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class VersionApp:
    """One version's app; `url` is its base URL. `close()` stops it."""

    def __init__(self, version: str, failing: Failing | None = None) -> None:
        self.version = version
        self.failing: Failing = failing or (lambda headers: False)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        """(method, path, headers) of every request, oldest first."""
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                app._answer(self)

            do_POST = do_HEAD = do_PUT = do_GET  # noqa: N815

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), name=f"app {version}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if 0 < length <= MAX_BODY:
            handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        self.requests.append((handler.command, handler.path, headers))
        path = handler.path.split("?", 1)[0]
        if path == "/checkout":
            failed = self.failing(headers)
            status = 500 if failed else 200
            body = {"status": "failed" if failed else "ok", "version": self.version}
        elif path in ("/", "/healthz"):
            status, body = 200, {"status": "ok", "version": self.version}
        else:
            status, body = 404, {"status": "not found"}
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-Version", self.version)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
