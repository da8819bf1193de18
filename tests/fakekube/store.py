"""The object store: objects by key, the global resourceVersion, and the history behind it.

One global counter as in etcd: every committed write bumps it and is recorded as an event.
The history since the last compaction lets watches replay and lists be served at an exact past
resourceVersion (paginated lists are consistent, as etcd's are); what is older is compacted
away and answers 410. An object is stored once and rendered under whichever served version (and,
for Events, whichever API) a request names.
"""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from tests.fakekube.apis import Resource, Target
from tests.fakekube.kinds import from_storage
from tests.fakekube.status import ApiError, JsonObj

__all__ = ["Event", "ObjKey", "ObjectStore", "now", "object_meta", "render", "without"]

ObjKey = tuple[str, str, str, str]  # (storage group, plural, namespace or "", name)


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


def render(obj: JsonObj, t: Target) -> JsonObj:
    """A deep copy of the stored ``obj`` as the target's resource serves it at its version."""
    return from_storage(t.resource, copy.deepcopy(obj), t.version)


def in_scope(t: Target, key: ObjKey) -> bool:
    """Whether a stored key is under what the target names (resource, namespace, name)."""
    group, plural, ns, name = key
    return (
        (group, plural) == (t.resource.storage_group, t.resource.plural)
        and t.namespace in (None, ns)
        and t.name in (None, name)
    )


class ObjectStore:
    """Objects, resourceVersion and history. Callers hold :attr:`lock` across a request."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every commit
        self._objects: dict[ObjKey, JsonObj] = {}
        self._events: list[Event] = []
        self._base: dict[ObjKey, JsonObj] = {}  # the objects as of the compacted RV
        self._rv = 1000
        self._compacted_rv = 0

    @property
    def resource_version(self) -> int:
        """The resourceVersion of the newest write."""
        return self._rv

    @property
    def compacted_rv(self) -> int:
        """History before this resourceVersion is gone (410 for watches and exact lists)."""
        return self._compacted_rv

    # ------------------------------------------------------------------ reads

    def __contains__(self, key: object) -> bool:
        return key in self._objects

    def key(self, t: Target, name: str | None = None) -> ObjKey:
        res = t.resource
        return (res.storage_group, res.plural, t.namespace or "", name or t.name or "")

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

    def objects_at(self, rv: int | None) -> dict[ObjKey, JsonObj]:
        """The stored objects now (``rv`` None) or as they were at ``rv`` (not copies).

        Raises LookupError when ``rv`` is older than the compacted history.
        """
        if rv is None or rv >= self._rv:
            return self._objects
        if rv < self._compacted_rv:
            raise LookupError(rv)
        state = dict(self._base)
        for ev in self._events:
            if ev.rv > rv:
                break
            if ev.type == "DELETED":
                state.pop(ev.key, None)
            else:
                state[ev.key] = ev.obj
        return state

    def scoped(self, t: Target, rv: int | None = None) -> list[tuple[ObjKey, JsonObj]]:
        """(key, stored object) under the target at ``rv`` (or now), in key order."""
        return sorted((k, o) for k, o in self.objects_at(rv).items() if in_scope(t, k))

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

    def compact(self, rv: int | None = None) -> None:
        """Forget the history up to ``rv`` (default: all of it), as etcd compaction does."""
        with self.lock:
            rv = self._rv if rv is None else min(max(rv, self._compacted_rv), self._rv)
            self._base = copy.deepcopy(self.objects_at(rv))
            self._events = [e for e in self._events if e.rv > rv]
            self._compacted_rv = rv
            self.changed.notify_all()

    def events_after(self, since: int, wait_s: float) -> tuple[int | None, list[Event], int]:
        """(the compacted RV if ``since`` is too old, else None; the events after ``since``;
        the resourceVersion they bring a reader up to).

        Waits up to ``wait_s`` for a commit when there is nothing to report yet.
        """
        with self.lock:
            expired = self._compacted_rv if since < self._compacted_rv else None
            pending = [e for e in self._events if e.rv > since]
            read_rv = self._rv
            if not pending and expired is None and wait_s > 0:
                self.changed.wait(wait_s)
        return expired, pending, read_rv

    # ------------------------------------------------------------------ direct access for tests

    def put(self, obj: JsonObj, res: Resource) -> JsonObj:
        """Store ``obj`` (a copy the caller owns, stored shape) as is; see FakeKube.put_object."""
        with self.lock:
            meta = object_meta(obj)
            if res.namespaced:
                meta.setdefault("namespace", "default")
            key = (res.storage_group, res.plural, meta.get("namespace", ""), meta["name"])
            current = self._objects.get(key)
            if current is None:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now())
                if res.tracks_generation:
                    meta.setdefault("generation", 1)
            else:
                old = current["metadata"]
                for k in ("uid", "creationTimestamp"):
                    meta.setdefault(k, old.get(k))
                ignored = ("metadata", "apiVersion", "kind", "status")
                changed = without(current, *ignored) != without(obj, *ignored)
                if res.tracks_generation:
                    meta.setdefault("generation", old.get("generation", 1) + int(changed))
            self.commit(key, obj, "ADDED" if current is None else "MODIFIED")
            return copy.deepcopy(obj)

    def get(self, key: ObjKey) -> JsonObj:
        """A copy of the stored object at ``key``; KeyError if absent."""
        with self.lock:
            return copy.deepcopy(self._objects[key])

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
