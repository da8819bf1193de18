"""Whole-request deadlines and size caps under the `kubernetes` client.

urllib3's timeouts are per socket operation: an API server (or a proxy in front of it) that
sends one byte every half second never trips a 5 s read timeout and holds a request for as long
as it likes. Here every request made inside `bounded(timeout_s, max_bytes)` has one deadline for
the whole of it (the status line, the headers, the body) and a cap on the bytes it may receive:

- the connection classes of the client's pool (installed by `install`) build their
  `http.client` responses over a metered reader: before each read it sets the socket's timeout
  to the time left and refuses to start once it is gone, and it reads at most what one `recv`
  gives, so a trickle cannot stretch one read past the deadline;
- the bytes received are counted, headers included; past `max_bytes` the request ends with a
  SourceError (nothing of the answer is used);
- `Budget.abort()` shuts the request's socket down from another thread (a watch being stopped),
  so a blocked read returns at once.

`call()` runs one API method this way and decodes its JSON with the bounded parser (a deeply
nested answer is a SourceError, not a RecursionError). A deadline that passes surfaces as the
client's own timeout errors, which `kube.translate` words and `kube.is_uncertain` knows.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from monotui.errors import SourceError
from monotui.sources.bounded_parse import DocumentError, load_json

MAX_OBJECT_BYTES = 8 << 20
"""The largest answer about one object we take: the API server stores at most ~1.5 MB each."""
MAX_DEPTH = 128
_CHUNK = 64 * 1024

_local = threading.local()


class ResponseTooLarge(SourceError):
    """The answer passed the request's byte cap; nothing of it was used."""


class _Aborted(ConnectionAbortedError):
    """The request was stopped on purpose (a watch being stopped)."""


@dataclass
class Budget:
    """What one request (or one watch connection) may take: until `deadline`, `max_bytes`."""

    deadline: float  # time.monotonic()
    max_bytes: int
    received: int = 0
    aborted: bool = False
    _sockets: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def left(self) -> float:
        """Seconds until the deadline (0 or less: passed)."""
        return self.deadline - time.monotonic()

    def abort(self) -> None:
        """End the request now, from any thread: its socket is shut down."""
        with self._lock:
            self.aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _add(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            aborted = self.aborted
        if aborted:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def bounded(timeout_s: float, max_bytes: int) -> Iterator[Budget]:
    """Bound every API request this thread makes inside the block (see the module doc)."""
    budget = Budget(time.monotonic() + timeout_s, max_bytes)
    previous = getattr(_local, "budget", None)
    _local.budget = budget
    try:
        yield budget
    finally:
        _local.budget = previous


def call(
    method: Callable[..., Any],
    *args: Any,
    timeout_s: float,
    max_bytes: int = MAX_OBJECT_BYTES,
    what: str = "the API server's answer",
    on_budget: Callable[[Budget | None], None] | None = None,
    **kwargs: Any,
) -> Any:
    """`method(*args, **kwargs)` of a kubernetes API class within `timeout_s` and `max_bytes`,
    its JSON answer decoded within limits. Raises what the client raises (ApiException, urllib3
    errors: translate them), ResponseTooLarge, or SourceError for an answer that is not JSON.
    `on_budget` hears of the request's budget before it is sent and of None once it is over
    (another thread may `abort()` it meanwhile: a list being stopped)."""
    with bounded(timeout_s, max_bytes) as budget:
        if on_budget is not None:
            on_budget(budget)
        try:
            response = method(
                *args,
                _preload_content=False,
                _request_timeout=(timeout_s, timeout_s),
                **kwargs,
            )
            try:
                data = response.read()
            finally:
                response.release_conn()
        finally:
            if on_budget is not None:
                on_budget(None)
        if budget.left() < 0:
            raise TimeoutError("the whole-request deadline passed")
    try:
        return load_json(data, max_bytes=max(len(data), 1), max_depth=MAX_DEPTH, what=what)
    except DocumentError as exc:
        raise SourceError(str(exc)) from None


def install(api_client: Any) -> None:
    """Make the client's pool use the bounded connections (call once, before its first request)."""
    pool_manager = api_client.rest_client.pool_manager
    pool_manager.pool_classes_by_scheme = dict(_pool_classes())
    pool_manager.clear()


class _Metered:
    """The response's file over the socket, read against the current budget."""

    def __init__(self, raw: Any, sock: socket.socket, budget: Budget) -> None:
        self._raw = raw
        self._sock = sock
        self._budget = budget

    # --- what http.client and urllib3 call ---------------------------------------------------

    def read(self, n: int | None = -1) -> bytes:
        parts: list[bytes] = []
        want = -1 if n is None else n
        while want < 0 or want > 0:
            chunk = self.read1(_CHUNK if want < 0 else min(want, _CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            if want > 0:
                want -= len(chunk)
        return b"".join(parts)

    def read1(self, n: int = -1) -> bytes:
        self._before()
        data: bytes = self._raw.read1(n if n and n > 0 else _CHUNK)
        return self._after(data)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readline(self, limit: int = -1) -> bytes:
        parts: list[bytes] = []
        size = 0
        while limit < 0 or size < limit:
            self._before()
            peeked: bytes = self._raw.peek(1)  # at most one recv, nothing consumed
            if not peeked:
                break
            end = peeked.find(b"\n")
            take = len(peeked) if end < 0 else end + 1
            if limit >= 0:
                take = min(take, limit - size)
            data = self._after(self._raw.read(take))  # from the buffer: never blocks
            parts.append(data)
            size += len(data)
            if data.endswith(b"\n"):
                break
        return b"".join(parts)

    def peek(self, n: int = 0) -> bytes:
        self._before()
        data: bytes = self._raw.peek(n)
        return data

    def close(self) -> None:
        self._raw.close()

    def flush(self) -> None:
        self._raw.flush()

    def fileno(self) -> int:
        fileno: int = self._raw.fileno()
        return fileno

    @property
    def closed(self) -> bool:
        closed: bool = self._raw.closed
        return closed

    # --- the budget ----------------------------------------------------------------------------

    def _before(self) -> None:
        budget = self._budget
        if budget.aborted:
            raise _Aborted("the request was stopped")
        left = budget.left()
        if left <= 0:
            raise TimeoutError("the whole-request deadline passed")
        with contextlib.suppress(OSError):
            self._sock.settimeout(left)

    def _after(self, data: bytes) -> bytes:
        budget = self._budget
        budget.received += len(data)
        if budget.received > budget.max_bytes:
            raise ResponseTooLarge(
                f"the kubernetes API sent more than {budget.max_bytes >> 20} MB for one answer; "
                "nothing of it was used"
            )
        return data


class _BoundedResponse(http.client.HTTPResponse):
    """An http.client response whose reads follow the thread's current budget, if any."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        budget: Budget | None = getattr(_local, "budget", None)
        if budget is not None:
            budget._add(sock)
            self.fp = _Metered(self.fp, sock, budget)  # type: ignore[assignment]


@functools.cache
def _pool_classes() -> dict[str, type[Any]]:
    """urllib3's pools with connections that build `_BoundedResponse`s; made on first use, so
    urllib3 is imported only when a Kubernetes backend is."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    class Connection(HTTPConnection):
        response_class = _BoundedResponse

    class TLSConnection(HTTPSConnection):
        response_class = _BoundedResponse

    class Pool(urllib3.HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    return {"http": Pool, "https": TLSPool}
