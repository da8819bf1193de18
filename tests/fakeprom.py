"""A fault-injecting Prometheus HTTP API on loopback, for tests of everything that reads one.

A real threaded HTTP server (keep-alive, Nagle off) that answers the endpoints monotui uses:
`/api/v1/query`, `/api/v1/query_range`, `/api/v1/status/buildinfo` and `/-/ready`. Each query
answers the series configured for the first substring of it that matches (`prom.answer(...)`),
as a vector or, for ranges, a matrix with that value at every step.

`prom.fault` makes the next answers go wrong in one way (see `Fault`): an error status, an HTML
page, a body cut short, NaN / +Inf / negative values, a missing canary series, a trickle, a huge
or endless body, a slow answer, a dropped or silent connection. Waits in the server end as soon as
the server is closed, so no test waits on a trickle after it is done.

    with FakePrometheus() as prom:
        prom.answer("istio_requests_total", {"destination_version": "v1"}, 0.01)
        prom.fault = Fault.TRICKLE

`counts(prom, version, ...)` answers the three count queries a poll sends (requests, 5xx and the
duration buckets over the poll) for one version, as Istio's series would.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

MB = 1 << 20
HTML_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class Fault(enum.Enum):
    """How the next answers go wrong."""

    NONE = "none"
    HTTP_500 = "http-500"  # 500 with a plain-text body, as a proxy in front would send
    HTML = "html"  # 502 with nginx's HTML error page
    TRUNCATED = "truncated"  # Content-Length promises more than is sent, then the socket closes
    NAN = "nan"  # every value is "NaN"
    INF = "inf"  # every value is "+Inf"
    NEGATIVE = "negative"  # every value is negative
    MISSING_CANARY = "missing-canary"  # the canary's series are left out
    TRICKLE = "trickle"  # the body, one byte every `trickle_s`
    TRICKLE_HEADERS = "trickle-headers"  # the status line and headers, one byte every `trickle_s`
    HUGE = "huge"  # `huge_bytes` with a Content-Length that says so
    HUGE_CHUNKED = "huge-chunked"  # `huge_bytes`, chunked: the size is not announced
    ENDLESS = "endless"  # a chunked body that never ends
    SLOW = "slow"  # the right answer after `slow_s`
    DROP = "drop"  # the request is read, then the connection closed without an answer
    SILENT = "silent"  # the connection is accepted and nothing is ever said
    UNAUTHORIZED = "unauthorized"  # 401 echoing Authorization and X-Api-Key, as some servers do
    RAW = "raw"  # `raw_status`, `raw_headers` and `raw_body`, exactly


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class _Series:
    labels: dict[str, str]
    value: float


@dataclass
class FakePrometheus:
    """The server; `url` once started. Configure answers and faults between requests."""

    canary_label: tuple[str, str] = ("destination_version", "v2")
    version: str = "2.53.0-fake"  # what buildinfo says (tests put hostile text here)
    fault: Fault = Fault.NONE
    # A fault only for queries that contain the key (checked before `fault`).
    fault_when: dict[str, Fault] = field(default_factory=dict)
    trickle_s: float = 0.25
    slow_s: float = 30.0
    huge_bytes: int = 60 * MB
    huge_status: int = 200
    html_page: str = HTML_PAGE  # what Fault.HTML serves
    raw_status: int = 200
    raw_headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "application/json"}
    )
    raw_body: bytes = b""
    tls: tuple[Path, Path] | None = None  # (certificate, key): serve HTTPS
    requests: list[Request] = field(default_factory=list)
    _answers: list[tuple[str, list[_Series]]] = field(default_factory=list)
    tls_context: ssl.SSLContext | None = None
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    closing: threading.Event = field(default_factory=threading.Event)

    def answer(self, query_part: str, labels: dict[str, str], value: float) -> None:
        """Add a series to the answer of every query that contains `query_part`."""
        for part, series in self._answers:
            if part == query_part:
                series.append(_Series(dict(labels), value))
                return
        self._answers.append((query_part, [_Series(dict(labels), value)]))

    def series_for(self, query: str, fault: Fault | None = None) -> list[_Series]:
        """The series configured for `query`, without the canary's under MISSING_CANARY."""
        found = next((s for part, s in self._answers if part in query), [])
        key, canary = self.canary_label
        if (fault or self.fault) is Fault.MISSING_CANARY:
            found = [s for s in found if s.labels.get(key) != canary]
        return found

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def start(self) -> FakePrometheus:
        if self.tls is not None:
            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(*self.tls)
        handler = type("Handler", (_Handler,), {"prom": self})
        server = _Server(("127.0.0.1", 0), handler)
        self._server = server
        # A short poll: closing the server (every test's teardown) waits for it.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.02,), name="fakeprom", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self.closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakePrometheus:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up or fails its TLS handshake is what tests do on purpose


class _Handler(BaseHTTPRequestHandler):
    prom: FakePrometheus
    fault: Fault = Fault.NONE  # this request's
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        prom = self.prom
        if prom.fault is Fault.SILENT:
            prom.closing.wait()  # not a byte, not even a TLS handshake
        if prom.tls_context is not None:
            # Per connection, in the handler's thread: a stalled handshake holds only itself.
            self.request = prom.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests say what matters

    def do_GET(self) -> None:
        self._serve(parse_qs(urlsplit(self.path).query), b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        params = parse_qs(urlsplit(self.path).query)
        if "form-urlencoded" in self.headers.get("Content-Type", ""):
            for key, values in parse_qs(body.decode()).items():
                params.setdefault(key, []).extend(values)
        self._serve(params, body)

    # --- answers --------------------------------------------------------------------------------

    def _serve(self, params: dict[str, list[str]], body: bytes) -> None:
        prom = self.prom
        path = urlsplit(self.path).path
        headers = {key: value for key, value in self.headers.items()}
        prom.requests.append(Request(self.command, path, params, headers, body))
        query = (params.get("query") or [""])[0]
        self.fault = next((f for part, f in prom.fault_when.items() if part in query), prom.fault)
        try:
            if self._fault_before_answer():
                return
            status, kind, body = self._answer(path, params)
            self._send(status, kind, body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True  # the client left: nothing more to say

    def _answer(self, path: str, params: dict[str, list[str]]) -> tuple[int, str, bytes]:
        prom = self.prom
        if path == "/-/ready":
            return 200, "text/plain", b"Prometheus Server is Ready.\n"
        if path == "/api/v1/status/buildinfo":
            data = {"version": prom.version, "revision": "fake", "branch": "HEAD"}
            return 200, "application/json", _success(data)
        if path not in ("/api/v1/query", "/api/v1/query_range"):
            return 404, "text/plain", b"404 page not found\n"
        query = (params.get("query") or [""])[0]
        if not query:
            return 400, "application/json", _error("bad_data", 'invalid parameter "query": empty')
        series = prom.series_for(query, self.fault)
        if path == "/api/v1/query":
            at = float((params.get("time") or [str(time.time())])[0])
            result = [{"metric": s.labels, "value": [at, self._value(s.value)]} for s in series]
            return 200, "application/json", _success({"resultType": "vector", "result": result})
        try:
            start, end = float(params["start"][0]), float(params["end"][0])
            step = float(params["step"][0])
        except (KeyError, ValueError, IndexError):
            return 400, "application/json", _error("bad_data", "invalid start, end or step")
        if step <= 0 or (end - start) / step > 11_000:
            return 400, "application/json", _error("bad_data", "exceeded maximum resolution")
        points = int((end - start) // step) + 1
        result = [
            {
                "metric": s.labels,
                "values": [[start + k * step, self._value(s.value)] for k in range(points)],
            }
            for s in series
        ]
        return 200, "application/json", _success({"resultType": "matrix", "result": result})

    def _value(self, value: float) -> str:
        fault = self.fault
        if fault is Fault.NAN:
            return "NaN"
        if fault is Fault.INF:
            return "+Inf"
        if fault is Fault.NEGATIVE:
            return repr(-abs(value) or -0.05)
        return "NaN" if math.isnan(value) else repr(value)

    # --- faults ---------------------------------------------------------------------------------

    def _fault_before_answer(self) -> bool:
        """Serve a transport fault; True when the answer was (not) given by it."""
        prom, fault = self.prom, self.fault
        if fault is Fault.HTTP_500:
            self._send(500, "text/plain", b"internal server error\n")
        elif fault is Fault.HTML:
            self._send(502, "text/html", prom.html_page.encode())
        elif fault is Fault.UNAUTHORIZED:
            echoed = [self.headers[k] for k in ("Authorization", "X-Api-Key") if k in self.headers]
            said = f"bad credentials: {' '.join(echoed)}\n"
            self._send(401, "text/plain", said.encode())
        elif fault is Fault.RAW:
            self._head(
                prom.raw_status, "", {"Content-Length": str(len(prom.raw_body)), **prom.raw_headers}
            )
            self.wfile.write(prom.raw_body)
            self.wfile.flush()
        elif fault is Fault.SLOW:
            return prom.closing.wait(prom.slow_s)  # closed meanwhile: no answer
        elif fault is Fault.DROP:
            self._drop()
        elif fault is Fault.TRUNCATED:
            body = _success({"resultType": "vector", "result": []}) * 4
            self._head(200, "application/json", {"Content-Length": str(len(body))})
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self._drop()
        elif fault is Fault.TRICKLE:
            body = _success({"resultType": "vector", "result": []})
            self._head(200, "application/json", {"Content-Length": str(len(body))})
            self._trickle(body)
        elif fault is Fault.TRICKLE_HEADERS:
            body = _success({"resultType": "vector", "result": []})
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            self._trickle(head.encode() + body)
        elif fault in (Fault.HUGE, Fault.HUGE_CHUNKED, Fault.ENDLESS):
            self._flood(fault)
        else:
            return False
        return True

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self._head(status, kind, {"Content-Length": str(len(body))})
        self.wfile.write(body)
        self.wfile.flush()

    def _head(self, status: int, kind: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        if kind:
            self.send_header("Content-Type", kind)
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()

    def _trickle(self, data: bytes) -> None:
        for i in range(len(data)):
            if self.prom.closing.wait(self.prom.trickle_s):
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()

    def _flood(self, fault: Fault) -> None:
        prom = self.prom
        block = (b'{"status":"error","padding":"' + b"x" * (64 * 1024 - 40) + b'"}\n')[: 64 * 1024]
        kind = "text/html" if prom.huge_status >= 400 else "application/json"
        if fault is Fault.HUGE:
            self._head(prom.huge_status, kind, {"Content-Length": str(prom.huge_bytes)})
        else:
            self._head(prom.huge_status, kind, {"Transfer-Encoding": "chunked"})
        sent = 0
        while not prom.closing.is_set() and (fault is Fault.ENDLESS or sent < prom.huge_bytes):
            piece = (
                block[: min(len(block), prom.huge_bytes - sent)]
                if fault is not Fault.ENDLESS
                else block
            )
            if fault is Fault.HUGE:
                self.wfile.write(piece)
            else:
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
        if fault is Fault.HUGE_CHUNKED:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def counts(
    prom: FakePrometheus,
    version: str,
    *,
    requests: float,
    errors: float,
    buckets: dict[str, float],
    label: str = "destination_version",
) -> None:
    """Answer a poll's count queries for `version`: `requests` and `errors` (5xx) over the poll,
    and the cumulative bucket counts by `le` (include "+Inf"). The 5xx query is matched first:
    it also names istio_requests_total."""
    prom.answer('response_code=~"5.."', {label: version}, errors)
    for le, count in buckets.items():
        prom.answer("istio_request_duration_milliseconds_bucket", {label: version, "le": le}, count)
    prom.answer("istio_requests_total", {label: version}, requests)


def _success(data: object) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()


def _error(kind: str, message: str) -> bytes:
    return json.dumps({"status": "error", "errorType": kind, "error": message}).encode()
