"""The HTTP side: the threading server, the request handler, and what a request becomes.

HTTP/1.1 with keep-alive and Nagle off, as the real client's urllib3 pool expects. An answer is
a JSON :class:`Response`, a :class:`RawResponse` streamed as it is produced (the service proxy,
plain-text errors), a :class:`WatchStream` (chunked, ends when the watch ends, the client goes
away or the server stops; a :class:`Cut` in it drops the connection), or :class:`Drop`.
:class:`Paced` sends any of them a few bytes at a time (the ``trickle`` fault).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakekube.status import JsonObj

__all__ = [
    "Cut",
    "Drop",
    "HttpServer",
    "Incoming",
    "Outcome",
    "Paced",
    "RawResponse",
    "Response",
    "WatchStream",
    "header",
]


@dataclass
class Incoming:
    """A request as the handler read it."""

    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str]
    body: bytes
    token: str | None


@dataclass
class Response:
    """A JSON answer."""

    code: int
    body: JsonObj
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class RawResponse:
    """Bytes streamed as they come: chunked unless ``length`` is known."""

    code: int
    headers: list[tuple[str, str]]
    chunks: Iterable[bytes]
    length: int | None = None


class Cut:
    """In a watch stream: drop the connection now, without the terminating chunk."""


@dataclass
class WatchStream:
    """A 200 whose body is these lines, chunked; an empty line asks "is the client still there?"."""

    lines: Iterator[bytes | Cut]


class Drop:
    """Close the connection without answering."""


@dataclass
class Paced:
    """Send ``outcome`` ``chunk_bytes`` at a time, one chunk every ``interval_s``."""

    outcome: Response | RawResponse | WatchStream
    interval_s: float
    chunk_bytes: int
    stop: threading.Event  # set when the server stops: give up


Outcome = Response | RawResponse | WatchStream | Drop | Paced
HandleFn = Callable[[Incoming], Outcome]


class HttpServer(ThreadingHTTPServer):
    """Serves ``handle`` on 127.0.0.1 and can cut every open connection (to end watches)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, handle: HandleFn, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.handle_request_fn = handle
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    def track(self, sock: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(sock)

    def close_connections(self) -> None:
        with self._conn_lock:
            for sock in self._connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client gone mid-answer is fine
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: HttpServer
    _pace: Paced | None = None

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        raw = self._read_body()
        auth = self.headers.get("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        headers = {k: v for k, v in self.headers.items()}
        outcome = self.server.handle_request_fn(
            Incoming(self.command, self.path, headers, raw, token)
        )
        self._pace = None
        if isinstance(outcome, Paced):
            self._pace, outcome = outcome, outcome.outcome
        try:
            if isinstance(outcome, Drop):
                self._cut()
            elif isinstance(outcome, WatchStream):
                self._stream(outcome.lines)
            elif isinstance(outcome, RawResponse):
                self._send_raw(outcome)
            else:
                data = json.dumps(outcome.body, separators=(",", ":")).encode() + b"\n"
                headers_out = [("Content-Type", outcome.content_type), *outcome.headers.items()]
                self._send_raw(RawResponse(outcome.code, headers_out, [data], len(data)))
        except OSError:
            self.close_connection = True

    def _cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, data: bytes, *, chunked: bool) -> None:
        pace = self._pace
        pieces = [data] if pace is None else _split(data, pace.chunk_bytes)
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if pace is not None and pace.stop.wait(pace.interval_s):
                raise OSError("fakekube stopping")

    def _send_raw(self, answer: RawResponse) -> None:
        self.send_response(answer.code)
        for k, v in answer.headers:
            self.send_header(k, v)
        chunked = answer.length is None and self.command != "HEAD"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif answer.length is not None:
            self.send_header("Content-Length", str(answer.length))
        self.end_headers()
        if self.command == "HEAD":
            close = getattr(answer.chunks, "close", None)
            if close is not None:  # a proxied body nobody will read: let its connection go
                close()
            return
        for data in answer.chunks:
            if data:
                self._write(data, chunked=chunked)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _stream(self, lines: Iterator[bytes | Cut]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for data in lines:
                if isinstance(data, Cut):
                    self._cut()
                    return
                if data:
                    self._write(data, chunked=True)
                elif self._peer_closed():
                    self.close_connection = True
                    return
            self.wfile.write(b"0\r\n\r\n")
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


def _split(data: bytes, size: int) -> list[bytes]:
    size = max(1, size)
    return [data[i : i + size] for i in range(0, len(data), size)]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by case-insensitive name."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
