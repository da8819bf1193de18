"""What the Istio and Gateway API routers share: weights in one custom object (a `KubeObject`:
read, patched compare-and-set, watched), matched to stable/canary by name, shown as percentages.

A subclass says where the weights are in its object (`_layout`). A write is ONE JSON patch built
from the object exactly as the caller last saw it (`expected.version`): `test` ops pin every route
list it touches (destinations, their order and count, and the weights), then the weights are
replaced. If anyone changed those since, the API server answers 422 and nothing is applied; the
controller re-reads and shows the route as it now is.

The automation pause is stored on the same object as annotations (`PAUSED_KEY` "true" while
paused, `BY_KEY` who and why; both removed on resume), written as ONE JSON patch pinned by `test`
ops on the annotations' values as read, so moving the weights never makes a pause fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from monotui.config import RolloutConfig
from monotui.errors import ConflictError, MonotuiError, ReadOnlyError, SourceError
from monotui.kinds import RouterSettings
from monotui.model import Weights
from monotui.sources import jsonpatch
from monotui.sources.base import RouteState, StoredPause, WriteResult
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_informers import InformerPool
from monotui.sources.kube_object import KubeObject, Recheck

PAUSED_KEY = "monotui.dev/automation-paused"
BY_KEY = "monotui.dev/paused-by"
_BY_MAX = 240  # who and why, cut: an annotation is a label, not a log


def stored_pause(obj: dict[str, Any]) -> StoredPause:
    """The pause the object's annotations store. Absent, "" or "false" is not paused; any other
    value is (a human's `kubectl annotate ...=yes` means pause: the safe reading)."""
    meta = obj.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    notes = notes if isinstance(notes, dict) else {}
    value = notes.get(PAUSED_KEY)
    paused = value is not None and str(value).strip().lower() not in ("", "false")
    by = notes.get(BY_KEY)
    return StoredPause(paused, str(by) if paused and by is not None else "")


def pause_ops(obj: dict[str, Any], paused: bool, by: str) -> list[jsonpatch.Op]:
    """The JSON patch that stores `paused` (and `by`) in `obj`'s annotations, compare-and-set on
    their values as read in `obj`; [] when there is nothing to change."""
    meta = obj.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    by = by[:_BY_MAX]
    if not isinstance(notes, dict):
        if not paused:
            return []
        # No annotations at all: JSON patch cannot test an absence, so the resourceVersion pins
        # it (the caller re-reads and retries once when that moved).
        version = str(meta.get("resourceVersion", "")) if isinstance(meta, dict) else ""
        value = {PAUSED_KEY: "true", **({BY_KEY: by} if by else {})}
        return [
            jsonpatch.test("/metadata/resourceVersion", version),
            {"op": "add", "path": "/metadata/annotations", "value": value},
        ]
    ops: list[jsonpatch.Op] = []
    wants = ((PAUSED_KEY, "true" if paused else None), (BY_KEY, by if paused and by else None))
    for key, want in wants:
        path = jsonpatch.pointer("metadata", "annotations", key)  # "/" in the key is "~1"
        have = notes.get(key)
        if have == want:
            continue
        if have is None:  # `add` of a missing member; a concurrent add of the same pause wins
            ops.append({"op": "add", "path": path, "value": want})
            continue
        ops.append(jsonpatch.test(path, have))
        if want is None:
            ops.append({"op": "remove", "path": path})
        else:
            ops.append({"op": "replace", "path": path, "value": want})
    return ops


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the weights are in one object: the percentages shown, and the patch ops to move them."""

    weights: Weights
    note: str  # "" or why the shown percentages differ from the raw weights
    build_ops: Callable[[Weights], list[jsonpatch.Op]]
    track_routes: frozenset[str] = frozenset()
    """The header routes of monotui in the object (monotui.sources.track_routes)."""
    track_ops: Callable[[bool], list[jsonpatch.Op]] | None = None
    """The patch that adds (True) or removes them; None: this route cannot have them."""


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


ROLES = ("stable", "canary")


def match_roles(
    names: Iterable[str | None], stable: str, canary: str
) -> tuple[dict[str, int], list[str]]:
    """Which entry is the stable and which the canary, by name: ({role: index}, the other names).

    A second entry with the stable's or the canary's name counts among the others.
    """
    found: dict[str, int] = {}
    others = []
    for j, name in enumerate(names):
        role = "stable" if name == stable else "canary" if name == canary else None
        if role is None or role in found:
            others.append(str(name))
            continue
        found[role] = j
    return found, others


def targeted(matches: Any) -> bool:
    """Whether a route's matches take only requests picked by header or query (testers, an A/B
    test, Flagger's sticky cookie): such a route is not where the general traffic is split."""
    keys = ("headers", "queryParams", "withoutHeaders")
    return (
        isinstance(matches, list)
        and bool(matches)
        and all(isinstance(m, dict) and any(m.get(k) for k in keys) for m in matches)
    )


def whole_weight(entry: dict[str, Any], default: int, what: str) -> int:
    """`entry["weight"]` (`default` if missing); SourceError naming `what` unless a whole number >= 0."""
    weight = entry.get("weight", default)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
        raise SourceError(f"{what} {weight!r} is not a whole number >= 0")
    return weight


class TwoWaySettings(RouterSettings):
    """A route that splits traffic between two named destinations (Istio, Gateway API)."""

    route: str | int | None = None
    """istio: the http route's name (or index); gateway-api: the rule index (or name). Optional
    when there is one."""
    stable: str = "v1"
    """istio: the stable subset (or host); gateway-api: the stable backendRef name."""
    canary: str = "v2"
    """istio: the canary subset (or host); gateway-api: the canary backendRef name."""


class KubeRouter:
    """A Router over one namespaced custom object. Subclasses set the class attributes below."""

    settings: type[TwoWaySettings] = TwoWaySettings
    kind = ""
    group = ""
    versions: tuple[str, ...] = ()
    plural = ""
    singular = ""

    def close(self) -> None:
        """Nothing of its own to release (the connection is shared)."""

    def __init__(
        self,
        kube: KubeConnection,
        rollout: RolloutConfig,
        *,
        can_write: bool = True,
        informers: InformerPool | None = None,
    ) -> None:
        """`informers`: read the object from the session's shared list+watch of its kind."""
        self.kube = kube
        self.rollout = rollout
        self.cfg = self.settings.of(rollout.router, f"rollout {rollout.name} router")
        self.versions, self.plural, self.singular = self._served()
        self.name = rollout.router_name
        self.namespace = rollout.namespace
        self.can_write = can_write
        tried = ", ".join(f"{self.group}/{v}" for v in self.versions)
        product = "Istio" if self.group.endswith("istio.io") else "the Gateway API"
        self.object = KubeObject(
            kube,
            group=self.group,
            versions=self.versions,
            plural=self.plural,
            singular=self.singular,
            name=self.name,
            namespace=self.namespace,
            unserved=f"the cluster serves no {self.plural} API (tried {tried}): is {product} "
            "installed, and is --context the right cluster?",
            recheck=Recheck(
                lambda: str(self.read().weights), f"kubectl get {self.plural}", "the weights"
            ),
            informers=informers,
        )
        self.what = self.object.what
        self.resource = self.object.resource
        self.rbac = self.object.rbac
        self._known: RouteState | None = None  # the state of the newest resourceVersion laid out

    def _served(self) -> tuple[tuple[str, ...], str, str]:
        """The API versions tried (newest first), the plural and the singular of the object
        `self.cfg` names: the class's own, unless the settings choose another kind of object."""
        return self.versions, self.plural, self.singular

    @property
    def api_version(self) -> str | None:
        """The API version chosen on first contact (None before it)."""
        return self.object.api_version

    # --- the Router protocol -------------------------------------------------------------------

    def read(self) -> RouteState:
        """The weights now, as percentages; version is the object's resourceVersion."""
        return self._state(self.object.get())

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Send `target` as one JSON patch that fails if the route moved since `expected`."""
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        obj = self.object.as_read(expected.version)
        ops = self._layout(obj).build_ops(target)
        text = jsonpatch.dumps(ops)
        if dry_run:
            return WriteResult(None, text)
        with self.object.writing():
            state = self._state(self.object.patch(ops))
        return WriteResult(state, text)

    def set_pause(
        self, paused: bool, by: str, expected: RouteState, *, dry_run: bool = False
    ) -> WriteResult:
        """Store the automation pause in the annotations: one JSON patch that tests only the
        annotations as last read (never the weights); ConflictError (422) if they moved."""
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        try:
            obj = self.object.as_read(expected.version)
        except ConflictError:  # not remembered and moved since: only the annotations matter
            obj = self.object.get()
        ops = pause_ops(obj, paused, by if paused else "")
        text = jsonpatch.dumps(ops) if ops else ""
        if dry_run or not ops:
            return WriteResult(None if dry_run else self._state(obj), text)
        with self.object.writing():
            state = self._state(self.object.patch(ops))
        return WriteResult(state, text)

    def set_track_routes(
        self, on: bool, expected: RouteState, *, dry_run: bool = False
    ) -> WriteResult:
        """Add or remove monotui's header routes (x-monotui-track) as ONE JSON patch that tests
        the weighted route's destinations as last read (and every route it removes)."""
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        obj = self.object.as_read(expected.version)
        layout = self._layout(obj)
        if layout.track_ops is None:
            raise SourceError(
                f"{self.resource}: its weighted route is not an http route, so no header route "
                "can go ahead of it: give the probes urls per track instead"
            )
        ops = layout.track_ops(on)
        text = jsonpatch.dumps(ops) if ops else ""
        if dry_run or not ops:
            return WriteResult(None if dry_run else self._state(obj), text)
        with self.object.writing():
            state = self._state(self.object.patch(ops))
        return WriteResult(state, text)

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        """Follow the object; `on_change` gets every new version of the weights."""
        return self.object.watch(self._state, on_change, on_error)

    # --- for subclasses ------------------------------------------------------------------------

    def _layout(self, obj: dict[str, Any]) -> Layout:
        raise NotImplementedError

    # --- internals -----------------------------------------------------------------------------

    def _state(self, obj: dict[str, Any]) -> RouteState:
        version = self.object.remember(obj)
        known = self._known
        if known is not None and version and known.version == version:
            # The same resourceVersion is the same object: a fleet reads hundreds a poll from
            # the informers' cache, nearly all unchanged, and laying one out is the cost.
            return known
        layout = self._layout(obj)
        resource = f"{self.resource} ({layout.note})" if layout.note else self.resource
        state = RouteState(
            layout.weights,
            version,
            resource,
            pause=stored_pause(obj),
            track_routes=layout.track_routes,
        )
        self._known = state
        return state
