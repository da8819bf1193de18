"""Follow one custom object with a Kubernetes watch, in a daemon thread, until stopped.

The watch is re-established whenever it ends (the server closes it after `timeout_seconds`) or
fails: at once after a normal end (resuming from the last resourceVersion, so nothing is missed),
with exponential backoff after an error, and from scratch after 410 Gone (history compacted). A
watch started without a resourceVersion first sends the object as it is (ADDED), which is also how
a change made while we were disconnected is noticed.

Each watch connection is bounded (`kube_http`): it ends by its deadline (the server's
`timeout_seconds` plus a margin, so a half-dead or trickling connection cannot hold it) and after
`MAX_BYTES`; `stop()` shuts its socket down, so stopping never waits for the next event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from monotui.sources import kube_http

log = logging.getLogger(__name__)

WATCH_TIMEOUT_S = 60
MARGIN_S = 5
MAX_BYTES = 64 << 20
"""What one watch connection may receive before it is restarted (an object is at most ~1.5 MB)."""
BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0


class ObjectWatch:
    """Calls `on_object(obj)` with every new version of the object `name`.

    `list_fn` is e.g. `CustomObjectsApi.list_namespaced_custom_object`, called with `args` and the
    watch keyword arguments. `on_error(exc)` hears about failures (they are retried regardless).
    `resource_version`: the version last read, so only later changes are delivered.
    """

    def __init__(
        self,
        list_fn: Callable[..., Any],
        args: tuple[Any, ...],
        name: str,
        on_object: Callable[[dict[str, Any]], None],
        *,
        on_error: Callable[[BaseException], None] | None = None,
        resource_version: str | None = None,
        timeout_s: int = WATCH_TIMEOUT_S,
        thread_name: str = "kube-watch",
    ) -> None:
        self._list_fn = list_fn
        self._args = args
        self._name = name
        self._on_object = on_object
        self._on_error = on_error
        self._timeout_s = timeout_s
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._current: Any = None  # the kubernetes Watch in flight
        self._budget: kube_http.Budget | None = None  # its connection's deadline and cap
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self.resource_version = resource_version  # None: start with the object as it is now

    def start(self) -> Callable[[], None]:
        """Start following; returns the stop function."""
        self._thread.start()
        return self.stop

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the watch promptly: shut its socket down and wait for the thread."""
        self._stopped.set()
        # Watch.stream() resets its stop flag when it starts a request, so a stop that lands just
        # before a request would be lost: keep poking until the thread has gone.
        deadline = 0.0
        step = 0.05
        while self._thread.is_alive() and deadline < timeout_s:
            with self._lock:
                current, budget = self._current, self._budget
            if current is not None:
                current.stop()
            if budget is not None:
                budget.abort()  # a read blocked on a quiet watch returns now
            self._thread.join(step)
            deadline += step

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        delay = BACKOFF_START_S
        while not self._stopped.is_set():
            w = watch.Watch()
            with self._lock:
                self._current = w
            kwargs: dict[str, Any] = {
                "field_selector": f"metadata.name={self._name}",
                "timeout_seconds": self._timeout_s,
                # A read timeout a little past the server's: a half-dead connection cannot hang us.
                "_request_timeout": (5, self._timeout_s + 5),
            }
            if self.resource_version:
                kwargs["resource_version"] = self.resource_version
            try:
                with kube_http.bounded(self._timeout_s + MARGIN_S, MAX_BYTES) as budget:
                    with self._lock:
                        self._budget = budget
                    if self._stopped.is_set():
                        break
                    for event in w.stream(self._list_fn, *self._args, **kwargs):
                        if self._stopped.is_set():
                            break
                        self._event(event)
                        delay = BACKOFF_START_S
            except ApiException as exc:
                if exc.status == 410:  # our resourceVersion was compacted away: start afresh
                    self.resource_version = None
                    continue
                self._failed(exc)
                self._stopped.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            except Exception as exc:  # urllib3/socket errors: the API is down or the link broke
                if self._stopped.is_set():
                    break
                self._failed(exc)
                self._stopped.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            finally:
                with self._lock:
                    self._current = None
                    self._budget = None

    def _event(self, event: dict[str, Any]) -> None:
        obj = event.get("raw_object")
        if not isinstance(obj, dict):
            return
        version = obj.get("metadata", {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if event.get("type") in ("ADDED", "MODIFIED"):
            try:
                self._on_object(obj)
            except Exception:  # a bad object must not kill the watch; the poll will report it
                log.debug("watch callback failed", exc_info=True)

    def _failed(self, exc: BaseException) -> None:
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:
                log.debug("watch error callback failed", exc_info=True)
