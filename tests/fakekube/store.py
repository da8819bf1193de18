"""The object store: objects by key, the global resourceVersion, and the event history watches read.

One global counter as in etcd: every committed write bumps it and is recorded as a watch event.
An object is stored once and rendered under whichever served version a request names.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from tests.fakekube.apis import Resource, Target, group_version
from tests.fakekube.selectors import object_filter
from tests.fakekube.status import ApiError, JsonObj

__all__ = ["Event", "ObjKey", "ObjectStore", "now", "object_meta", "render", "without"]

ObjKey = tuple[str, str, str, str]  # (group, plural, namespace or "", name)


class Event(NamedTuple):
    """One committed write, as a watch reports it."""

    rv: int
    type: str
    key: ObjKey
    obj: JsonObj


def now() -> str:
    """A timestamp as the apiserver writes it (whole seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def without(obj: JsonObj, *keys: str) -> JsonObj:
    """``obj`` without these top-level keys (to compare what a write really changed)."""
    return {k: v for k, v in obj.items() if k not in keys}


def object_meta(obj: JsonObj) -> JsonObj:
    """``obj["metadata"]``, created empty if missing or not an object."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def render(obj: JsonObj, version: str) -> JsonObj:
    """A deep copy of ``obj`` as served at ``version`` (only ``apiVersion`` differs)."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = group_version(obj["apiVersion"].rpartition("/")[0], version)
    return out


class ObjectStore:
    """Objects, resourceVersion and watch history. Callers hold :attr:`lock` across a request."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every commit
        self._objects: dict[ObjKey, JsonObj] = {}
        self._events: list[Event] = []
        self._rv = 1000
        self._compacted_rv = 0

    @property
    def resource_version(self) -> int:
        """The resourceVersion of the newest write."""
        return self._rv

    # ------------------------------------------------------------------ reads

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def key(self, t: Target, name: str | None = None) -> ObjKey:
        return (t.resource.group, t.resource.plural, t.namespace or "", name or t.name or "")

    def current(self, t: Target) -> JsonObj:
        """The stored object the target names (not a copy); 404 if absent."""
        obj = self._objects.get(self.key(t))
        if obj is None:
            raise ApiError(
                404,
                f'{t.resource.qualified} "{t.name}" not found',
                details=t.resource.details(t.name),
            )
        return obj

    def matching(self, t: Target, query: Mapping[str, str]) -> list[JsonObj]:
        """Stored objects under the target that the query's selectors select, in key order."""
        selected = object_filter(query)
        group, plural = t.resource.group, t.resource.plural
        return [
            obj
            for (g, p, ns, name), obj in sorted(self._objects.items())
            if g == group
            and p == plural
            and t.namespace in (None, ns)
            and t.name in (None, name)
            and selected(obj)
        ]

    def matching_targets(self, t: Target, query: Mapping[str, str]) -> list[Target]:
        """One named target per matching object (for deletecollection)."""
        return [
            Target(
                t.resource, t.version, o["metadata"].get("namespace"), o["metadata"]["name"], None
            )
            for o in self.matching(t, query)
        ]

    def list_body(self, t: Target, items: list[JsonObj]) -> JsonObj:
        return {
            "apiVersion": t.group_version,
            "kind": f"{t.resource.kind}List",
            "metadata": {"continue": "", "resourceVersion": str(self._rv)},
            "items": items,
        }

    def listing(self, t: Target, query: Mapping[str, str]) -> JsonObj:
        """The ``<Kind>List`` a list request for the target answers."""
        items = [render(o, t.version) for o in self.matching(t, query)]
        return self.list_body(t, items)

    # ------------------------------------------------------------------ writes and history

    def commit(self, key: ObjKey, obj: JsonObj, event_type: str) -> None:
        """Store (or, for DELETED, drop) ``obj`` at a new resourceVersion and wake watches."""
        self._rv += 1
        object_meta(obj)["resourceVersion"] = str(self._rv)
        if event_type == "DELETED":
            self._objects.pop(key, None)
        else:
            self._objects[key] = obj
        self._events.append(Event(self._rv, event_type, key, copy.deepcopy(obj)))
        self.changed.notify_all()

    def compact(self) -> None:
        """Forget the history: watches from an older resourceVersion get 410 Expired."""
        with self.lock:
            self._events.clear()
            self._compacted_rv = self._rv

    def events_after(self, since: int, wait_s: float) -> tuple[int | None, list[Event]]:
        """(the compacted RV if ``since`` is too old, else None; the events after ``since``).

        Waits up to ``wait_s`` for a commit when there is nothing to report yet.
        """
        with self.lock:
            expired = self._compacted_rv if since < self._compacted_rv else None
            pending = [e for e in self._events if e.rv > since]
            if not pending and expired is None:
                self.changed.wait(wait_s)
        return expired, pending

    # ------------------------------------------------------------------ direct access for tests

    def put(self, obj: JsonObj, res: Resource) -> JsonObj:
        """Store ``obj`` (a copy the caller owns) as is; see :meth:`FakeKube.put_object`."""
        group, _, version = obj["apiVersion"].rpartition("/")
        with self.lock:
            meta = object_meta(obj)
            if res.namespaced:
                meta.setdefault("namespace", "default")
            key = (group, res.plural, meta.get("namespace", ""), meta["name"])
            current = self._objects.get(key)
            if current is None:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now())
                meta.setdefault("generation", 1)
            else:
                old = current["metadata"]
                for k in ("uid", "creationTimestamp"):
                    meta.setdefault(k, old.get(k))
                changed = without(current, "metadata", "apiVersion", "kind", "status") != without(
                    obj, "metadata", "apiVersion", "kind", "status"
                )
                meta.setdefault("generation", old.get("generation", 1) + int(changed))
            self.commit(key, obj, "ADDED" if current is None else "MODIFIED")
            return render(obj, version)

    def get(self, key: ObjKey, version: str) -> JsonObj:
        """A copy of the object at ``key`` as served at ``version``; KeyError if absent."""
        with self.lock:
            return render(self._objects[key], version)

    def list_copies(self, group: str, plural: str, ns: str | None) -> list[JsonObj]:
        """Copies of the stored objects of one resource (in one namespace, or all)."""
        with self.lock:
            return [
                copy.deepcopy(o)
                for (g, p, n, _), o in sorted(self._objects.items())
                if g == group and p == plural and ns in (None, n)
            ]

    def delete(self, key: ObjKey) -> None:
        """Delete immediately (finalizers ignored); KeyError if absent."""
        with self.lock:
            self.commit(key, copy.deepcopy(self._objects[key]), "DELETED")
