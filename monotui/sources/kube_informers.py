"""The informers of one Kubernetes connection, shared by every rollout built on it (one pool per
cluster, in the registry's BuildContext): one list+watch per resource kind and namespace, or one
per kind for the whole cluster when the fleet's objects of that kind span more than
`CLUSTER_WIDE_FROM` namespaces (threads and connections then do not grow with the fleet) and the
kube user may list them cluster-wide (a 403 falls back to one per namespace).

A router's `KubeObject` holds a `CachedObject`: its one object's view of the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monotui.errors import PermissionDeniedError
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_informer import Informer, OnError, OnObject

CLUSTER_WIDE_FROM = 4
"""A kind whose objects are in this many namespaces or more is watched cluster-wide."""


@dataclass(frozen=True, slots=True)
class Kind:
    """A resource kind as the informers list it."""

    group: str
    versions: tuple[str, ...]
    plural: str
    unserved: str
    """The whole message when the cluster serves none of `versions`."""
    rbac: str
    """How a 403 names it: virtualservices.networking.istio.io."""
    selector: str | None = None
    """Only the objects with these labels (the server filters: a cluster-wide list of Leases
    does not bring every node's heartbeat). Kinds that differ in it get their own informers."""

    @property
    def key(self) -> KindKey:
        return (self.group, self.plural, self.selector)


KindKey = tuple[str, str, str | None]
"""(group, plural, selector)."""


class InformerPool:
    """The informers of one connection. Thread-safe; `close()` once, at the end."""

    def __init__(self, kube: KubeConnection, *, follow: bool = True) -> None:
        """`follow`: each informer watches after its list (False: lists once, `status`)."""
        self.kube = kube
        self.follow = follow
        self._lock = threading.Lock()
        self._objects: dict[KindKey, set[tuple[str, str]]] = {}
        self._kinds: dict[KindKey, Kind] = {}
        self._cluster_wide: dict[KindKey, bool] = {}  # decided at first use
        self._informers: dict[tuple[KindKey, str | None], Informer] = {}  # (kind, namespace)
        self._retired: dict[KindKey, Informer] = {}  # cluster-wide ones refused a list
        self._closed = False

    def cache(self, kind: Kind, namespace: str, name: str) -> CachedObject:
        """Register object `namespace`/`name` of `kind`: the pool keeps it fresh from now on."""
        key = kind.key
        with self._lock:
            self._objects.setdefault(key, set()).add((namespace, name))
            self._kinds[key] = kind
            decided = self._cluster_wide.get(key)
        if decided is not None:  # registered late: the informer that covers it keeps it too
            self._informer(kind, namespace).want(namespace, name)
        return CachedObject(self, kind, namespace, name)

    def start(self) -> None:
        """Start listing every kind registered so far, now: the lists are then answered while
        the program gets ready (the screen starting), not when the first reads wait for them."""
        with self._lock:
            if self._closed:
                return
            wanted = [(self._kinds[k], {ns for ns, _ in objs}) for k, objs in self._objects.items()]
        for kind, namespaces in wanted:
            for namespace in sorted(namespaces):
                self._informer(kind, namespace).start()

    def informers(self) -> list[Informer]:
        """Every informer started so far (for tests and the benchmarks)."""
        with self._lock:
            return list(self._informers.values())

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop every informer, waiting up to `timeout_s` for each thread (0: not at all)."""
        with self._lock:
            self._closed = True
            informers = list(self._informers.values())
            self._informers.clear()
        for informer in informers:
            informer.stop(timeout_s)

    # --- internals -------------------------------------------------------------------------------

    def _informer(self, kind: Kind, namespace: str) -> Informer:
        """The informer that covers `namespace` for `kind` (made on first use)."""
        key = kind.key
        with self._lock:
            wide = self._cluster_wide.get(key)
            if wide is None:
                namespaces = {ns for ns, _ in self._objects.get(key, ())}
                wide = self._cluster_wide[key] = len(namespaces) >= CLUSTER_WIDE_FROM
            if wide:
                informer = self._informers.get((key, None))
                error = informer.error if informer is not None else None
                if isinstance(error, PermissionDeniedError) and informer is not None:
                    # Not allowed to list them cluster-wide: one per namespace after all.
                    self._cluster_wide[key] = wide = False
                    del self._informers[(key, None)]
                    self._retired[key] = informer
                    informer.stop(timeout_s=0)
            scope = None if wide else namespace
            informer = self._informers.get((key, scope))
            if informer is None:
                informer = Informer(
                    self.kube,
                    group=kind.group,
                    versions=kind.versions,
                    plural=kind.plural,
                    namespace=scope,
                    unserved=kind.unserved,
                    rbac=kind.rbac,
                    selector=kind.selector,
                    follow=self.follow,
                )
                for ns, name in self._objects.get(key, ()):
                    if scope is None or ns == scope:
                        informer.want(ns, name)
                retired = self._retired.get(key)
                for entry in retired.subscriptions(scope) if retired is not None else ():
                    informer.adopt(entry)
                if not self._closed:
                    self._informers[(key, scope)] = informer
            return informer


class CachedObject:
    """One object's view of the pool: read it from the cache, offer it versions seen by hand,
    follow it."""

    def __init__(self, pool: InformerPool, kind: Kind, namespace: str, name: str) -> None:
        self.pool = pool
        self.kind = kind
        self.namespace = namespace
        self.name = name

    @property
    def informer(self) -> Informer:
        return self.pool._informer(self.kind, self.namespace)

    def get(self, what: str) -> dict[str, Any]:
        """The object as the informer has it; typed errors while it is not fresh."""
        informer = self.informer
        try:
            return informer.get(self.namespace, self.name, what)
        except PermissionDeniedError:
            again = self.informer  # a cluster-wide list refused: one per namespace now
            if again is informer:
                raise
            return again.get(self.namespace, self.name, what)

    def find(self) -> dict[str, Any] | None:
        """As `get`, but None when the fresh cache has no such object."""
        informer = self.informer
        try:
            return informer.find(self.namespace, self.name)
        except PermissionDeniedError:
            again = self.informer
            if again is informer:
                raise
            return again.find(self.namespace, self.name)

    def start(self) -> None:
        """Start the informer's list+watch now (a read would, but waits for its answer)."""
        self.informer.start()

    def offer(self, obj: dict[str, Any]) -> None:
        self.informer.offer(obj)

    def version(self) -> str | None:
        return self.informer.version()

    def subscribe(self, on_object: OnObject, on_error: OnError | None) -> Callable[[], None]:
        """Follow the object; returns the stop function (wherever the subscription moved)."""
        entry = self.informer.subscribe(self.namespace, self.name, on_object, on_error)

        def stop() -> None:
            self.informer.unsubscribe(entry)

        return stop
