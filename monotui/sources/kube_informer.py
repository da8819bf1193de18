"""An informer: one list+watch of one resource in one namespace (or the whole cluster), shared by
every rollout whose object is there. Its cache answers their reads (no API request per poll at
steady state); writes stay per object (`KubeObject.patch`, compare-and-set) and are offered back
to the cache, so a read after our own write never shows the older version.

The thread lists (trying each API version on first contact), then watches from the list's
resourceVersion with bookmarks, re-watching from the newest version after a normal end. A 410
Gone (history compacted) or a dropped connection resyncs: a fresh list, whose differences are
delivered to the subscribers as changes (a change made while we were away is not missed). Until
it has synced again the cache is not fresh: a read raises the failure (typed; the rollout's
router turns STALE, then ERROR) instead of handing out old data as new.

Every request is bounded (`kube_http`): a list has one whole-request deadline and a size cap, a
watch connection ends by the server's `timeout_seconds` plus a margin and after `WATCH_MAX_BYTES`
(then it is resumed from the newest version), and `stop()` shuts its socket down at once.

Only the objects somebody registered are kept (a cluster-wide list of a big cluster costs its
transfer, not its memory).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from monotui.errors import MonotuiError, NotFoundError, StaleDataError
from monotui.sources import kube_http
from monotui.sources.kube import KubeConnection, is_unserved, translate

log = logging.getLogger(__name__)

WATCH_TIMEOUT_S = 300
MARGIN_S = 5
LIST_MAX_BYTES = 256 << 20
"""The largest list taken (10,000 VirtualServices are ~50 MB): past it, one typed error."""
WATCH_MAX_BYTES = 256 << 20
"""What one watch connection may receive before it is resumed on a fresh one."""
BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0

Key = tuple[str, str]
"""(namespace, name)."""
OnObject = Callable[[dict[str, Any]], None]
OnError = Callable[[MonotuiError], None]
Subscription = tuple[Key, OnObject, OnError | None]


def newer(a: dict[str, Any], b: dict[str, Any] | None) -> bool:
    """Whether `a` is a later version than `b` (resourceVersions compared as numbers, as etcd
    makes them; a version that is not a number is taken as newer)."""
    if b is None:
        return True
    va, vb = _rv(a), _rv(b)
    try:
        return int(va) > int(vb)
    except ValueError:
        return va != vb


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Informer:
    """One list+watch of `plural`.`group` in `namespace` (None: every namespace)."""

    def __init__(
        self,
        kube: KubeConnection,
        *,
        group: str,
        versions: tuple[str, ...],
        plural: str,
        namespace: str | None,
        unserved: str,
        rbac: str,
        selector: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        follow: bool = True,
    ) -> None:
        self.kube = kube
        self.follow = follow
        """Watch after the list (False: list once, for a one-shot command such as `status`)."""
        self.group = group
        self.versions = versions
        self.plural = plural
        self.namespace = namespace
        self.rbac = rbac
        self.selector = selector
        """A label selector the server filters the list and the watch by (None: every object)."""
        self._unserved = unserved
        self._monotonic = monotonic
        self.api_version: str | None = None
        self.lists = 0
        """Lists sent (the first, and one per resync)."""
        self.resource_version: str | None = None
        """The newest version heard of (a list, an event or a bookmark)."""
        self._lock = threading.Condition()
        self._wanted: set[Key] = set()
        self._cache: dict[Key, dict[str, Any]] = {}
        self._subscribers: dict[Key, list[Subscription]] = {}
        self._synced = False
        self._ever_synced = False
        self._synced_at: float | None = None  # when the cache was last known fresh
        self._error: MonotuiError | None = None
        self._started_at: float | None = None
        self._stopped = threading.Event()
        self._current: Any = None  # the kubernetes Watch in flight
        self._budget: kube_http.Budget | None = None  # its connection's deadline and cap
        self._thread = threading.Thread(
            target=self._run, name=f"informer {plural} {namespace or '*'}", daemon=True
        )

    # --- what the routers use ------------------------------------------------------------------

    def want(self, namespace: str, name: str) -> None:
        """Keep object `namespace`/`name` in the cache."""
        with self._lock:
            self._wanted.add((namespace, name))

    def get(self, namespace: str, name: str, what: str) -> dict[str, Any]:
        """The object as the cache has it (do not change it). Before the first sync, waits for
        it up to the request timeout; after that, never waits: not synced is the failure."""
        obj = self.find(namespace, name)
        if obj is None:
            raise NotFoundError(
                f"{what} not found in namespace {namespace}: check the name in the config and "
                "the namespace (--namespace)"
            )
        return obj

    def find(self, namespace: str, name: str) -> dict[str, Any] | None:
        """As `get`, but None when the fresh cache has no such object (it does not exist, or
        the selector leaves it out)."""
        self.start()
        with self._lock:
            if not self._ever_synced and self._error is None:
                assert self._started_at is not None
                deadline = self._started_at + self.kube.timeout_s
                while not self._synced and self._error is None:
                    left = deadline - self._monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
            if not self._synced:
                if self._error is not None:
                    raise self._error
                if self._synced_at is None:
                    raise StaleDataError(
                        f"the list of {self.plural}{self._where()} has not answered yet", 0.0
                    )
                raise StaleDataError(
                    f"{self.plural}{self._where()}: resyncing (the watch's history was "
                    "compacted: 410 Gone)",
                    self._monotonic() - self._synced_at,
                )
            return self._cache.get((namespace, name))

    def offer(self, obj: dict[str, Any]) -> None:
        """A version read or written by hand (a PATCH's answer): kept if newer than the cache's."""
        key = _key(obj)
        with self._lock:
            if key in self._wanted and newer(obj, self._cache.get(key)):
                self._cache[key] = obj

    def subscribe(
        self, namespace: str, name: str, on_object: OnObject, on_error: OnError | None = None
    ) -> Subscription:
        """`on_object(obj)` for every version the watch (or a resync) brings of the object,
        `on_error` for every failure, until `unsubscribe` of what it returns."""
        key = (namespace, name)
        entry: Subscription = (key, on_object, on_error)
        with self._lock:
            self._wanted.add(key)
            self._subscribers.setdefault(key, []).append(entry)
        self.start()
        return entry

    def unsubscribe(self, entry: Subscription) -> None:
        with self._lock:
            entries = self._subscribers.get(entry[0], [])
            if entry in entries:
                entries.remove(entry)

    def subscriptions(self, namespace: str | None = None) -> list[Subscription]:
        """Every subscription (in `namespace`): an informer that replaces this one adopts them."""
        with self._lock:
            return [
                e
                for key, entries in self._subscribers.items()
                for e in entries
                if namespace is None or key[0] == namespace
            ]

    def adopt(self, entry: Subscription) -> None:
        """Take over a subscription of the informer this one replaces."""
        with self._lock:
            self._wanted.add(entry[0])
            self._subscribers.setdefault(entry[0], []).append(entry)

    def version(self) -> str | None:
        """The API version the list found served (None before the first list answered)."""
        self.start()
        with self._lock:
            if self.api_version is None and self._error is None and not self._ever_synced:
                assert self._started_at is not None
                left = self._started_at + self.kube.timeout_s - self._monotonic()
                if left > 0:
                    self._lock.wait_for(
                        lambda: self.api_version is not None or self._error is not None, left
                    )
            return self.api_version

    @property
    def synced(self) -> bool:
        with self._lock:
            return self._synced

    @property
    def error(self) -> MonotuiError | None:
        """Why the cache is not fresh now (None while synced)."""
        with self._lock:
            return None if self._synced else self._error

    def start(self) -> None:
        """Start listing and watching (once)."""
        with self._lock:
            if self._started_at is not None:
                return
            self._started_at = self._monotonic()
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the watch promptly and wait for the thread."""
        self._stopped.set()
        # Watch.stream() resets its stop flag when it starts a request: poke until it is gone.
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                current, budget = self._current, self._budget
                self._lock.notify_all()
            if current is not None:
                current.stop()
                response = getattr(current, "_resp", None)
                if response is not None:  # wake a read blocked on a quiet watch now
                    with contextlib.suppress(Exception):
                        response.shutdown()
            if budget is not None:
                budget.abort()  # its socket shut down: a blocked read returns now
            if not self._thread.is_alive() or time.monotonic() >= deadline:
                return
            self._thread.join(0.05)

    # --- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        delay = BACKOFF_START_S
        resource_version: str | None = None
        while not self._stopped.is_set():
            if resource_version is None:
                try:
                    resource_version = self._resync()
                except Exception as exc:
                    self._failed(exc, "list")
                    self._stopped.wait(delay)
                    delay = min(delay * 2, BACKOFF_MAX_S)
                    continue
            if not self.follow:  # listed: nothing to follow for a command that reads once
                self._stopped.wait()
                break
            w = watch.Watch()
            with self._lock:
                self._current = w
            try:
                with kube_http.bounded(WATCH_TIMEOUT_S + MARGIN_S, WATCH_MAX_BYTES) as budget:
                    with self._lock:
                        self._budget = budget
                    if self._stopped.is_set():
                        break
                    for event in w.stream(
                        self._list_fn(),
                        *self._args(),
                        resource_version=resource_version,
                        allow_watch_bookmarks=True,
                        **self._selection(),
                        timeout_seconds=WATCH_TIMEOUT_S,
                        # A read timeout a little past the server's: a half-dead link cannot
                        # hang us (and the budget ends the whole connection by its deadline).
                        _request_timeout=(self.kube.timeout_s, WATCH_TIMEOUT_S + MARGIN_S),
                    ):
                        if self._stopped.is_set():
                            break
                        resource_version = self._event(event) or resource_version
                        self.resource_version = resource_version
                        delay = BACKOFF_START_S
            except kube_http.ResponseTooLarge:  # a busy watch: the cache is right, resume it
                continue
            except ApiException as exc:
                if exc.status == 410:  # compacted away: not fresh until listed afresh, at once
                    with self._lock:
                        self._synced = False
                        self._synced_at = self._monotonic()
                    resource_version = None
                    continue
                self._failed(exc, "watch")
                resource_version = None
                self._stopped.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            except Exception as exc:  # the link broke or the API went away: resync
                if self._stopped.is_set():
                    break
                self._failed(exc, "watch")
                resource_version = None
                self._stopped.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
            finally:
                with self._lock:
                    self._current = None
                    self._budget = None

    def _resync(self) -> str:
        """List, replace the cache, deliver what changed; returns the list's resourceVersion."""
        answer = self._list()
        items = answer.get("items") if isinstance(answer, dict) else None
        meta = answer.get("metadata") if isinstance(answer, dict) else None
        if not isinstance(items, list) or not isinstance(meta, dict):
            raise MonotuiError(f"the list of {self.plural}{self._where()} is not a list")
        fresh = {_key(o): o for o in items if isinstance(o, dict)}
        with self._lock:
            self.lists += 1
            wanted = set(self._wanted)
            changed = [
                fresh[k] for k in wanted if k in fresh and newer(fresh[k], self._cache.get(k))
            ]
            self._cache = {k: fresh[k] for k in wanted if k in fresh}
            self._synced = self._ever_synced = True
            self._synced_at = self._monotonic()
            self._error = None
            self._lock.notify_all()
        for obj in changed:
            self._deliver(obj)
        self.resource_version = str(meta.get("resourceVersion") or "0")
        return self.resource_version

    def _list(self) -> Any:
        custom = self.kube.custom
        single = len(self.versions) == 1
        for version in (self.api_version,) if self.api_version else self.versions:
            where = () if self.namespace is None else (self.namespace,)
            method = (
                custom.list_cluster_custom_object
                if self.namespace is None
                else custom.list_namespaced_custom_object
            )
            try:
                answer = kube_http.call(
                    method,
                    self.group,
                    version,
                    *where,
                    self.plural,
                    timeout_s=self.kube.timeout_s,
                    max_bytes=LIST_MAX_BYTES,
                    what=f"the list of {self.plural}{self._where()}",
                    on_budget=self._follow,  # stop() can end a list in flight
                    **self._selection(),
                )
            except Exception as exc:
                if (self.api_version is None or single) and is_unserved(exc):
                    continue
                raise
            with self._lock:
                self.api_version = version
                self._lock.notify_all()
            return answer
        raise NotFoundError(self._unserved)

    def _selection(self) -> dict[str, str]:
        return {"label_selector": self.selector} if self.selector else {}

    def _follow(self, budget: kube_http.Budget | None) -> None:
        with self._lock:
            self._budget = budget
        if budget is not None and self._stopped.is_set():
            budget.abort()

    def _list_fn(self) -> Callable[..., Any]:
        custom = self.kube.custom
        if self.namespace is None:
            return custom.list_cluster_custom_object  # type: ignore[no-any-return]
        return custom.list_namespaced_custom_object  # type: ignore[no-any-return]

    def _args(self) -> tuple[str, ...]:
        version = self.api_version or self.versions[0]
        if self.namespace is None:
            return (self.group, version, self.plural)
        return (self.group, version, self.namespace, self.plural)

    def _event(self, event: dict[str, Any]) -> str | None:
        obj = event.get("raw_object")
        if not isinstance(obj, dict):
            return None
        version = _rv(obj) or None
        kind = event.get("type")
        if kind in ("ADDED", "MODIFIED"):
            key = _key(obj)
            with self._lock:
                if key not in self._wanted:
                    return version
                if newer(obj, self._cache.get(key)):  # never back behind our own write
                    self._cache[key] = obj
            self._deliver(obj)
        elif kind == "DELETED":
            with self._lock:
                self._cache.pop(_key(obj), None)
        return version  # a BOOKMARK moves the version on, with no object

    def _deliver(self, obj: dict[str, Any]) -> None:
        with self._lock:
            entries = list(self._subscribers.get(_key(obj), []))
        for _, on_object, _ in entries:
            try:
                on_object(obj)
            except Exception:  # a bad object must not kill the informer; the poll reports it
                log.debug("informer subscriber failed", exc_info=True)

    def _failed(self, exc: BaseException, verb: str) -> None:
        error = translate(
            exc,
            verb=verb,
            what=self.plural,
            namespace=self.namespace or "(all namespaces)",
            resource=self.rbac,
            server=self.kube.server,
        )
        with self._lock:
            self._synced = False
            self._error = error
            entries = [e for es in self._subscribers.values() for e in es]
            self._lock.notify_all()
        for _, _, on_error in entries:
            if on_error is not None:
                try:
                    on_error(error)
                except Exception:
                    log.debug("informer error callback failed", exc_info=True)

    def _where(self) -> str:
        return f" in namespace {self.namespace}" if self.namespace else " in all namespaces"
