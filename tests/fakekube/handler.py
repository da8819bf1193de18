"""The HTTP side: the threading server, the request handler, and what a request becomes.

HTTP/1.1 with keep-alive and Nagle off, as the real client's urllib3 pool expects; watches are
chunked streams that end when the watch ends, the client goes away, or the server stops.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakekube.status import JsonObj

__all__ = ["Drop", "HttpServer", "Outcome", "Request", "Response", "WatchStream"]


@dataclass(eq=False)
class Request:
    """One request as received: unpacks as, and equals, ``(method, path, content_type, body)``."""

    method: str
    path: str  # without the query string
    content_type: str | None
    body: Any  # parsed JSON, the raw text if it is not JSON, or None
    query: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.method, self.path, self.content_type, self.body))

    def __getitem__(self, index: int) -> Any:
        return tuple(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Request):
            other = (*other, other.query, other.token)
            return (*self, self.query, self.token) == other
        return isinstance(other, tuple) and tuple(self) == other

    __hash__ = None  # type: ignore[assignment]  # bodies are dicts


@dataclass
class Response:
    """A JSON answer."""

    code: int
    body: JsonObj
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class WatchStream:
    """A 200 whose body is these lines, chunked; an empty line asks "is the client still there?"."""

    lines: Iterator[bytes]


class Drop:
    """Close the connection without answering."""


Outcome = Response | WatchStream | Drop
# (method, target with query, content type, raw body, bearer token) -> what to send back
HandleFn = Callable[[str, str, str | None, bytes, str | None], Outcome]


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
        outcome = self.server.handle_request_fn(
            self.command, self.path, self.headers.get("Content-Type"), raw, token
        )
        if isinstance(outcome, Drop):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        elif isinstance(outcome, WatchStream):
            self._stream(outcome.lines)
        else:
            data = json.dumps(outcome.body, separators=(",", ":")).encode() + b"\n"
            self.send_response(outcome.code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in outcome.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

    def _stream(self, lines: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for data in lines:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                elif self._peer_closed():
                    self.close_connection = True
                    return
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
