"""A real OFREP HTTP service on 127.0.0.1 for tests: it answers the bulk evaluation with whatever
the test puts in its `Ofrep` state (status, body, ETag), and records what it was asked."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLAGS: dict[str, Any] = {
    "flags": [
        {"key": "new-checkout", "value": True, "reason": "STATIC", "variant": "on", "metadata": {}},
        {"key": "headerColor", "value": "#00FF00", "reason": "SPLIT", "variant": "green"},
        {"key": "limits", "value": {"rps": 10}, "reason": "TARGETING_MATCH", "variant": "small"},
        {"key": "retries", "value": 2.5, "reason": "DEFAULT", "variant": "high"},
        {"key": "gone", "errorCode": "FLAG_NOT_FOUND", "errorDetails": "flag gone was not found"},
    ]
}


@dataclass
class Ofrep:
    """What the OFREP service answers, and what it was asked. `body` may be raw bytes."""

    status: int = 200
    body: Any = field(default_factory=lambda: FLAGS)
    etag: str | None = '"v1"'
    hang: threading.Event | None = None
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    url: str = ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client that gave up (timeout) is fine
            super().handle_error(request, client_address)


@contextmanager
def serve_ofrep(given: Ofrep | None = None) -> Iterator[Ofrep]:
    """Serve `given` (default: FLAGS) on a free port, its `url` set, until the block ends."""
    state = given if given is not None else Ofrep()

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            state.requests.append((self.path, dict(self.headers), body))
            if state.hang is not None:
                state.hang.wait(10)
            if state.etag and self.headers.get("If-None-Match") == state.etag:
                self.send_response(304)
                self.send_header("ETag", state.etag)
                self.end_headers()
                return
            data = (
                json.dumps(state.body).encode() if not isinstance(state.body, bytes) else state.body
            )
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if state.etag and state.status == 200:
                self.send_header("ETag", state.etag)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        if state.hang is not None:
            state.hang.set()
        server.shutdown()
        server.server_close()
