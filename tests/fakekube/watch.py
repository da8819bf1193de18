"""Watches: the chunked stream of ADDED/MODIFIED/DELETED events a ``?watch=true`` GET answers.

From ``resourceVersion=0`` (or none) the stream starts with the current objects as ADDED, then
follows the store's history; from an RV older than the last compaction it is one 410 ERROR event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from tests.fakekube.apis import Target
from tests.fakekube.selectors import object_filter
from tests.fakekube.status import ApiError, JsonObj, status_body
from tests.fakekube.store import ObjectStore, render

__all__ = ["open_watch"]

# How often a quiet watch checks that its client and the server are still there.
_POLL_S = 0.05


def open_watch(
    store: ObjectStore,
    t: Target,
    query: Mapping[str, str],
    *,
    default_timeout_s: float,
    max_s: float | None,
    closing: threading.Event,
) -> Iterator[bytes]:
    """Called under the store's lock: validate and snapshot now, stream from history later.

    A bad parameter is an :class:`ApiError` here, before the handler has sent its 200.
    """
    try:
        timeout = float(query.get("timeoutSeconds") or default_timeout_s)
    except ValueError:
        raise ApiError(400, "invalid timeoutSeconds") from None
    if max_s is not None:
        timeout = min(timeout, max_s)
    selected = object_filter(query)
    rv_param = query.get("resourceVersion") or "0"
    if not rv_param.isdigit():
        raise ApiError(400, f"invalid resourceVersion {rv_param!r}")
    since = int(rv_param)
    initial: list[JsonObj] = []
    if since == 0:
        initial, since = store.matching(t, query), store.resource_version
    return _lines(store, t, selected, initial, since, time.monotonic() + timeout, closing)


def _line(event_type: str, obj: JsonObj) -> bytes:
    return json.dumps({"type": event_type, "object": obj}).encode() + b"\n"


def _lines(
    store: ObjectStore,
    t: Target,
    selected: Callable[[JsonObj], bool],
    initial: list[JsonObj],
    since: int,
    deadline: float,
    closing: threading.Event,
) -> Iterator[bytes]:
    for obj in initial:
        yield _line("ADDED", render(obj, t.version))
    group, plural = t.resource.group, t.resource.plural
    while not closing.is_set():
        wait_s = min(_POLL_S, max(0.0, deadline - time.monotonic()))
        expired, pending = store.events_after(since, wait_s)
        if expired is not None:
            message = f"too old resource version: {since} ({expired})"
            yield _line("ERROR", status_body(410, message, "Expired"))
            return
        for ev in pending:
            since = ev.rv
            g, p, ns, name = ev.key
            if (
                (g, p) == (group, plural)
                and t.namespace in (None, ns)
                and t.name in (None, name)
                and selected(ev.obj)
            ):
                yield _line(ev.type, render(ev.obj, t.version))
        if time.monotonic() >= deadline:
            return
        yield b""  # lets the handler check that the client is still there
