"""Watches: the chunked stream of ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events of a watch GET.

From ``resourceVersion`` unset or ``0`` the stream starts with the current objects as ADDED, then
follows the store's history; from ``N`` it replays what happened after N; from an N older than
the last compaction it is one ERROR event whose object is a 410 ``Expired`` Status ("too old
resource version"), as the real server sends it (the HTTP status is still 200).
``sendInitialEvents=true`` (with ``resourceVersionMatch=NotOlderThan`` and bookmarks allowed, as
required) sends the current objects and then a BOOKMARK annotated
``k8s.io/initial-events-end``. With ``allowWatchBookmarks=true`` a BOOKMARK carrying the current
resourceVersion is sent every :attr:`WatchControl.bookmark_interval_s`, right before the watch
times out, and on :meth:`WatchControl.send_bookmarks`. :meth:`WatchControl.drop` cuts every
open watch's connection; :meth:`WatchControl.end` ends them cleanly, as a timeout does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from tests.fakekube.apis import Target
from tests.fakekube.handler import Cut
from tests.fakekube.selectors import object_filter
from tests.fakekube.status import ApiError, FieldError, JsonObj, invalid, status_body
from tests.fakekube.store import ObjectStore, in_scope, render

__all__ = ["WatchControl", "open_watch"]

# How often a quiet watch checks that its client, the server and the control are still there.
_POLL_S = 0.05


class WatchControl:
    """What a test does to the open watches of one fake (thread-safe counters, polled)."""

    def __init__(self) -> None:
        self.closing = threading.Event()  # the server is stopping
        self.bookmark_interval_s = 60.0
        self._lock = threading.Lock()
        self._drops = self._ends = self._bookmarks = 0
        self.open_count = 0

    def drop(self) -> None:
        """Cut the connection of every open watch (no terminating chunk), as a restart does."""
        with self._lock:
            self._drops += 1

    def end(self) -> None:
        """End every open watch cleanly, as its timeout would."""
        with self._lock:
            self._ends += 1

    def send_bookmarks(self) -> None:
        """Send a BOOKMARK now on every open watch that allows them."""
        with self._lock:
            self._bookmarks += 1

    def epochs(self) -> tuple[int, int, int]:
        with self._lock:
            return self._drops, self._ends, self._bookmarks

    def opened(self, delta: int) -> None:
        with self._lock:
            self.open_count += delta


def _options(query: Mapping[str, str]) -> tuple[bool, bool | None]:
    """(bookmarks allowed, sendInitialEvents) after the real server's checks (422 if wrong)."""
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    initial_param = query.get("sendInitialEvents")
    initial = None if initial_param is None else initial_param in ("true", "1")
    match = query.get("resourceVersionMatch") or ""
    errors = []
    if initial is not None:
        if match != "NotOlderThan":
            detail = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
            errors.append(FieldError("Forbidden", "resourceVersionMatch", detail=detail))
        if not bookmarks:
            detail = "sendInitialEvents requires setting allowWatchBookmarks to true"
            errors.append(FieldError("Forbidden", "allowWatchBookmarks", detail=detail))
    elif match:
        detail = "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
        errors.append(FieldError("Forbidden", "resourceVersionMatch", detail=detail))
    if match and match != "NotOlderThan":
        errors.append(
            FieldError(
                "NotSupported", "resourceVersionMatch", match, 'supported values: "NotOlderThan"'
            )
        )
    if errors:
        raise invalid("meta.k8s.io", "ListOptions", "", errors)
    return bookmarks, initial


def open_watch(
    store: ObjectStore,
    t: Target,
    query: Mapping[str, str],
    *,
    default_timeout_s: float,
    max_s: float | None,
    control: WatchControl,
) -> Iterator[bytes | Cut]:
    """Called under the store's lock: validate and snapshot now, stream from history later.

    A bad parameter is an :class:`ApiError` here, before the handler has sent its 200.
    """
    try:
        timeout = float(query.get("timeoutSeconds") or default_timeout_s)
    except ValueError:
        raise ApiError(400, "invalid timeoutSeconds") from None
    if max_s is not None:
        timeout = min(timeout, max_s)
    selected = object_filter(query, t.resource)
    bookmarks, initial_events = _options(query)
    rv_param = query.get("resourceVersion") or "0"
    if not rv_param.isdigit():
        raise ApiError(400, f"invalid resourceVersion {rv_param!r}")
    since = int(rv_param)
    initial: list[JsonObj] = []
    if initial_events or (initial_events is None and since == 0):
        initial = [render(o, t) for _, o in store.scoped(t)]
        since = store.resource_version
    elif since == 0:
        since = store.resource_version
    stream = _Stream(store, t, selected, since, time.monotonic() + timeout, control, bookmarks)
    return stream.lines(initial, end_bookmark=bool(initial_events))


def _line(event_type: str, obj: JsonObj) -> bytes:
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


class _Stream:
    def __init__(
        self,
        store: ObjectStore,
        t: Target,
        selected: Callable[[JsonObj], bool],
        since: int,
        deadline: float,
        control: WatchControl,
        bookmarks: bool,
    ) -> None:
        self.store, self.t, self.selected, self.since = store, t, selected, since
        self.deadline, self.control, self.bookmarks = deadline, control, bookmarks

    def bookmark(self, initial_end: bool = False) -> bytes:
        meta: JsonObj = {"resourceVersion": str(self.since)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": self.t.resource.kind, "apiVersion": self.t.group_version, "metadata": meta}
        return _line("BOOKMARK", obj)

    def lines(self, initial: list[JsonObj], *, end_bookmark: bool) -> Iterator[bytes | Cut]:
        control = self.control
        drops, ends, marks = control.epochs()
        control.opened(+1)
        try:
            for obj in initial:
                if self.selected(obj):
                    yield _line("ADDED", obj)
            if end_bookmark:
                yield self.bookmark(initial_end=True)
            next_bookmark = time.monotonic() + control.bookmark_interval_s
            while not control.closing.is_set():
                now_drops, now_ends, now_marks = control.epochs()
                if now_drops != drops:
                    yield Cut()
                    return
                if now_ends != ends:
                    return
                wait_s = min(_POLL_S, max(0.0, self.deadline - time.monotonic()))
                expired, pending, read_rv = self.store.events_after(self.since, wait_s)
                if expired is not None:
                    message = f"too old resource version: {self.since} ({expired})"
                    yield _line("ERROR", status_body(410, message, "Expired"))
                    return
                for ev in pending:
                    self.since = ev.rv
                    if in_scope(self.t, ev.key):
                        obj = render(ev.obj, self.t)
                        if self.selected(obj):
                            yield _line(ev.type, obj)
                self.since = max(self.since, read_rv)  # nothing else happened up to read_rv
                timed_out = time.monotonic() >= self.deadline
                if self.bookmarks and (
                    now_marks != marks or timed_out or time.monotonic() >= next_bookmark
                ):
                    marks = now_marks
                    next_bookmark = time.monotonic() + control.bookmark_interval_s
                    yield self.bookmark()
                if timed_out:
                    return
                yield b""  # lets the handler check that the client is still there
        finally:
            control.opened(-1)
