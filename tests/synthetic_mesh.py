"""A tiny mesh for the synthetics tests: a front on 127.0.0.1 that routes each request as Istio
would by the VirtualService stored in the fake API server, read at every request: the first http
route whose header matches all hold, else the weighted split (by a seeded draw), to the app of
that destination's subset. So a probe reaches the canary by header only while the route that
monotui added is really there."""

from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from monotui.sim.apps import VersionApp
from tests.fakekube import FakeKube

ISTIO = "networking.istio.io"


class Mesh:
    """Routes to `apps` (subset -> app) by the VirtualService `namespace/name` in `fake`."""

    def __init__(self, fake: FakeKube, namespace: str, name: str, apps: dict[str, VersionApp]):
        self.fake, self.namespace, self.name, self.apps = fake, namespace, name, apps
        self.rng = random.Random(7)
        mesh = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                mesh._forward(self)

            do_POST = do_GET  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        self._thread.daemon = True
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def subset_for(self, headers: dict[str, str]) -> str:
        vs = self.fake.get_object(ISTIO, "v1", "virtualservices", self.namespace, self.name)
        for route in vs["spec"]["http"]:
            matches = route.get("match") or [{}]
            if any(_matches(m, headers) for m in matches):
                entries = route["route"]
                weights = [e.get("weight", 100 if len(entries) == 1 else 0) for e in entries]
                pick = self.rng.choices(entries, weights=weights)[0]
                return str(pick["destination"]["subset"])
        raise LookupError("no route matches")

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        app = self.apps[self.subset_for(headers)]
        answer = httpx.request(
            handler.command,
            app.url + handler.path,
            headers={k: v for k, v in headers.items() if k not in ("host", "content-length")},
            content=body,
        )
        handler.send_response(answer.status_code)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
        handler.end_headers()
        handler.wfile.write(answer.content)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _matches(match: dict[str, Any], headers: dict[str, str]) -> bool:
    for name, rule in (match.get("headers") or {}).items():
        if headers.get(name.lower()) != rule.get("exact"):
            return False
    return True
