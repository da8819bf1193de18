"""One absolute deadline under every socket operation of an httpx request.

httpcore hands each network operation a timeout of its own (connect, read, write), so a server
that trickles its status line, its headers or its body a byte at a time never trips any of them.
`DeadlineBackend` is an httpcore network backend (its public extension point) that clamps each
operation's timeout to what is left of the current request's deadline, and refuses to start one
once it has passed. The deadline is per thread (`with backend.deadline(t):`), so one client
serves many threads. Host names are resolved in a helper thread that is waited for only until
the deadline: a stuck resolver cannot hold the request either.

`DeadlineTransport` is the small adapter that lets an `httpx.Client` use a pool on this backend.
"""

from __future__ import annotations

import contextlib
import ipaddress
import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

WRITE_SLICE = 64 * 1024  # a write is sliced so each slice is clamped to the time left


class ResolveError(httpcore.ConnectError):
    """The host name does not resolve; `reason` is the resolver's word (the pool drops causes)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot resolve {host}: {reason}")
        self.reason = reason


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with every operation bounded by the thread's current deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()

    @contextlib.contextmanager
    def deadline(self, at: float) -> Iterator[None]:
        """Bound every operation in this thread, until the block ends, by monotonic time `at`."""
        previous = getattr(self._local, "at", None)
        self._local.at = at
        try:
            yield
        finally:
            self._local.at = previous

    def bound(self, timeout: float | None, expired: type[Exception]) -> float | None:
        """`timeout` clamped to the time left; raises `expired` when none is left."""
        at: float | None = getattr(self._local, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise expired("the whole-request deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        options = list(socket_options or ())
        last: Exception | None = None
        for address in self._resolve(host, port, timeout):
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=self.bound(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=options,
                )
            except httpcore.ConnectError as exc:
                last = exc  # the next address may answer (IPv6 then IPv4)
                continue
            return DeadlineStream(stream, self)
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self.bound(timeout, httpcore.ConnectTimeout)
        inner = self._inner.connect_unix_socket(path, bounded, socket_options)
        return DeadlineStream(inner, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        with contextlib.suppress(ValueError):
            return [str(ipaddress.ip_address(host.strip("[]")))]
        wait = self.bound(timeout, httpcore.ConnectTimeout)
        answers: queue.Queue[list[str] | OSError] = queue.Queue(maxsize=1)

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                answers.put([str(info[4][0]) for info in infos])
            except OSError as exc:
                answers.put(exc)

        # A daemon thread: if the resolver hangs we stop waiting; it ends when the resolver does.
        threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
        try:
            answer = answers.get(timeout=wait)
        except queue.Empty:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        if isinstance(answer, OSError):
            reason = answer.strerror or str(answer) or "no address"
            raise ResolveError(host, reason.lower()) from answer
        return list(dict.fromkeys(answer))


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake end by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, backend: DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        for start in range(0, len(view), WRITE_SLICE):
            piece = bytes(view[start : start + WRITE_SLICE])
            self._inner.write(piece, self._backend.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._backend.bound(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, bounded), self._backend
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool that uses a `DeadlineBackend`.

    httpcore's exceptions are not translated: the client maps them to monotui's errors itself.
    """

    def __init__(self, ssl_context: ssl.SSLContext, backend: DeadlineBackend) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=16,
            max_keepalive_connections=8,
            keepalive_expiry=30.0,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        answer = self._pool.handle_request(core)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),  # type: ignore[arg-type]
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
