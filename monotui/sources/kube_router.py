"""What the Istio and Gateway API routers share: one custom object read, patched compare-and-set,
watched; API-version fallback; errors a user can act on.

A subclass says where the weights are in its object (`_layout`). A write is ONE JSON patch built
from the object exactly as the caller last saw it (`expected.version`): `test` ops pin every route
list it touches (destinations, their order and count, and the weights), then the weights are
replaced. If anyone changed those since, the API server answers 422 and nothing is applied; the
controller re-reads and shows the route as it now is.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monotui.config import RolloutConfig
from monotui.errors import (
    BackendUnavailableError,
    ConflictError,
    MonotuiError,
    NotFoundError,
    ReadOnlyError,
    SourceError,
)
from monotui.model import Weights
from monotui.sources import jsonpatch
from monotui.sources.base import RouteState, WriteResult
from monotui.sources.kube import JSON_PATCH, KubeConnection, is_uncertain, is_unserved, translate
from monotui.sources.kube_watch import ObjectWatch

_SEEN = 8  # objects remembered by resourceVersion, so a write needs no extra GET
_UNSEEN_S = 5.0  # how long a write of ours may take to come back through the watch


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the weights are in one object: the percentages shown, and the patch ops to move them."""

    weights: Weights
    note: str  # "" or why the shown percentages differ from the raw weights
    build_ops: Callable[[Weights], list[jsonpatch.Op]]


def percentages(raw: list[int]) -> list[int]:
    """Proportional weights as whole percentages summing to 100 (largest remainder).

    [70, 20] -> [78, 22]; [1, 1] -> [50, 50]; [3, 0] -> [100, 0]. The sum must be positive.
    """
    total = sum(raw)
    exact = [100 * w / total for w in raw]
    floors = [int(x) for x in exact]
    order = sorted(range(len(raw)), key=lambda i: (exact[i] - floors[i], -i), reverse=True)
    for i in order[: 100 - sum(floors)]:
        floors[i] += 1
    return floors


class KubeRouter:
    """A Router over one namespaced custom object. Subclasses set the class attributes below."""

    kind = ""
    group = ""
    versions: tuple[str, ...] = ()
    plural = ""
    singular = ""

    def __init__(
        self, kube: KubeConnection, rollout: RolloutConfig, *, can_write: bool = True
    ) -> None:
        self.kube = kube
        self.rollout = rollout
        self.cfg = rollout.router
        self.name = rollout.router_name
        self.namespace = rollout.namespace
        self.can_write = can_write
        self.what = f"{self.singular} {self.name}"
        self.resource = f"{self.singular} {self.namespace}/{self.name}"
        self.rbac = f"{self.plural}.{self.group}"
        self.api_version: str | None = None  # chosen on first contact: v1, else the fallback
        self._seen: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        # Held while a PATCH is in flight. The watch may deliver our own write before the PATCH
        # answers, or an older version after it: neither is a change made elsewhere, and an
        # older version must not overwrite the newer one the controller got from write().
        self._write_lock = threading.Lock()
        self._unseen: dict[str, float] = {}  # versions we wrote, not yet delivered by the watch

    # --- the Router protocol -------------------------------------------------------------------

    def read(self) -> RouteState:
        """The weights now, as percentages; version is the object's resourceVersion."""
        return self._state(self._get())

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Send `target` as one JSON patch that fails if the route moved since `expected`."""
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        obj = self._seen_object(expected.version)
        if obj is None:  # e.g. a state from another router instance: fetch it
            obj = self._get()
            if _version(obj) != expected.version:
                raise ConflictError(
                    f"{self.resource} changed since it was read (resourceVersion "
                    f"{expected.version} -> {_version(obj)}); nothing was applied",
                    current=self._state(obj),
                )
        ops = self._layout(obj).build_ops(target)
        text = jsonpatch.dumps(ops)
        if dry_run:
            return WriteResult(None, text)
        version = self._api_version()
        with self._write_lock:
            try:
                answer = self.kube.custom.patch_namespaced_custom_object(
                    self.group,
                    version,
                    self.namespace,
                    self.plural,
                    self.name,
                    ops,
                    _content_type=JSON_PATCH,
                    _request_timeout=self.kube.timeout_s,
                )
            except Exception as exc:
                raise self._write_failed(exc) from None
            state = self._state(answer)
            self._unseen[state.version] = time.monotonic()
        return WriteResult(state, text)

    def watch(self, on_change: Callable[[RouteState], None]) -> Callable[[], None] | None:
        """Follow the object; `on_change` gets every new version of the weights."""
        self._api_version()  # choose the version now, in the caller's thread, with its errors

        def changed(obj: dict[str, Any]) -> None:
            if not self._news(_version(obj)):
                return
            try:
                state = self._state(obj)
            except MonotuiError:
                return  # an unreadable object: the next poll shows the error
            on_change(state)

        with self._lock:
            newest = next(reversed(self._seen), None)  # list-then-watch: start after our read
        watcher = ObjectWatch(
            self.kube.custom.list_namespaced_custom_object,
            (self.group, self._api_version(), self.namespace, self.plural),
            self.name,
            changed,
            resource_version=newest,
            thread_name=f"watch {self.resource}",
        )
        return watcher.start()

    def _news(self, version: str) -> bool:
        """Whether a version the watch delivers is news to the controller.

        Watch events come in order: until the watch delivers a write of ours, what it delivers
        is older than that write, which the controller already has from write().
        """
        with self._write_lock:
            if self._unseen.pop(version, None) is not None:
                return False  # our own write
            now = time.monotonic()
            for mine, at in list(self._unseen.items()):
                if now - at > _UNSEEN_S:  # the watch skipped it (restarted past it): forget it
                    del self._unseen[mine]
            return not self._unseen

    # --- for subclasses ------------------------------------------------------------------------

    def _layout(self, obj: dict[str, Any]) -> Layout:
        raise NotImplementedError

    # --- internals -----------------------------------------------------------------------------

    def _state(self, obj: dict[str, Any]) -> RouteState:
        layout = self._layout(obj)
        version = _version(obj)
        with self._lock:
            self._seen[version] = obj
            self._seen.move_to_end(version)
            while len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
        resource = f"{self.resource} ({layout.note})" if layout.note else self.resource
        return RouteState(layout.weights, version, resource)

    def _seen_object(self, version: str) -> dict[str, Any] | None:
        with self._lock:
            return self._seen.get(version)

    def _get(self) -> dict[str, Any]:
        """GET the object; on first contact, try each API version until one is served."""
        from kubernetes.client.exceptions import ApiException

        versions = (self.api_version,) if self.api_version else self.versions
        for version in versions:
            try:
                obj = self.kube.custom.get_namespaced_custom_object(
                    self.group,
                    version,
                    self.namespace,
                    self.plural,
                    self.name,
                    _request_timeout=self.kube.timeout_s,
                )
            except Exception as exc:
                if self.api_version is None and is_unserved(exc):
                    continue  # this cluster lacks that version: try the next one
                if isinstance(exc, ApiException) and exc.status == 404:
                    self.api_version = version  # served; only the object is missing
                raise self._translate(exc, "get") from None
            self.api_version = version
            if not isinstance(obj, dict):
                raise SourceError(
                    f"{self.resource}: the API answered something that is not an object"
                )
            return obj
        tried = ", ".join(f"{self.group}/{v}" for v in self.versions)
        product = "Istio" if self.group.endswith("istio.io") else "the Gateway API"
        raise NotFoundError(
            f"the cluster serves no {self.plural} API (tried {tried}): is {product} installed, "
            "and is --context the right cluster?"
        )

    def _api_version(self) -> str:
        """The API version in use: the first of `versions` the cluster serves."""
        if self.api_version is None:
            self._get()
        return self.api_version or self.versions[0]

    def _translate(self, exc: BaseException, verb: str) -> MonotuiError:
        return translate(
            exc,
            verb=verb,
            what=self.what,
            namespace=self.namespace,
            resource=self.rbac,
            server=self.kube.server,
        )

    def _write_failed(self, exc: BaseException) -> MonotuiError:
        error = self._translate(exc, "patch")
        if isinstance(error, ConflictError):
            return ConflictError(
                f"{self.resource} changed since it was read; nothing was applied", current=None
            )
        if isinstance(error, BackendUnavailableError) and is_uncertain(exc):
            # The request left: the server may have applied it before the answer was lost.
            try:
                now = f"it now reads {self.read().weights}"
            except MonotuiError:
                now = f"re-reading failed too: check with 'kubectl get {self.plural}'"
            return BackendUnavailableError(
                f"the patch of {self.resource} got no answer, so it MAY have been applied; "
                f"{now}. Look at the weights before acting again"
            )
        return error


def _version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
