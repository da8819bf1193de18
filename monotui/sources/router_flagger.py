"""Flagger as the router (`[rollouts.router] kind = "flagger"`): one Canary and the VirtualService
Flagger generated for it, side by side (`monotui.sources.flagger_canary` says what they mean).

With a `gatewayapi` provider (`spec.provider: gatewayapi:v1`) Flagger generates an HTTPRoute of
the same name instead, and that is read the same way.

The weights shown are the VirtualService's (what the mesh does); the Canary's phase, weight,
failed checks against the threshold and iterations are the step status. The two can disagree
(Flagger applies its weight a moment later, or someone edited the VirtualService, which Flagger
puts back): the status says so. Without a readable VirtualService (an A/B canary routes by header,
or it is not generated yet) the weights are the Canary's `status.canaryWeight`, and the status
says that too.

Writes: pause/resume set `spec.suspend` compare-and-set; every other action is refused with the
reason and what to do with Flagger instead, because Flagger overwrites direct edits of its
VirtualService.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from monotui.config import RolloutConfig
from monotui.errors import MonotuiError, ReadOnlyError, SourceError
from monotui.kinds import RouterSettings
from monotui.model import ActionKind, Weights
from monotui.sources import jsonpatch
from monotui.sources.base import RouteState, StoredPause, WriteResult
from monotui.sources.flagger_canary import CanaryView
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_object import KubeObject, Recheck
from monotui.sources.router_gateway import GatewayRouter, GatewaySettings
from monotui.sources.router_istio import IstioRouter, IstioSettings, VirtualServiceRoute

GROUP = "flagger.app"
VERSION = "v1beta1"
PLURAL = "canaries"


class FlaggerSettings(RouterSettings):
    """`[rollouts.router] kind = "flagger"`: a Flagger Canary (`name`, default the rollout's)."""

    kind: Literal["flagger"] = "flagger"
    virtual_service: str = ""
    """The VirtualService (HTTPRoute, with a gatewayapi provider) Flagger generated; default: the
    Canary's spec.service.name, else its spec.targetRef.name, as Flagger names it."""


class FlaggerRouter:
    """One Flagger Canary: its weights, phase and checks; pause/resume through spec.suspend."""

    kind = "flagger"

    def close(self) -> None:
        """Nothing of its own to release (the connection is shared)."""

    def __init__(
        self, kube: KubeConnection, rollout: RolloutConfig, *, can_write: bool = True
    ) -> None:
        self.kube = kube
        self.rollout = rollout
        self.cfg = FlaggerSettings.of(rollout.router, f"rollout {rollout.name} router")
        self.name = rollout.router_name
        self.namespace = rollout.namespace
        self.can_write = can_write
        self.object = KubeObject(
            kube,
            group=GROUP,
            versions=(VERSION,),
            plural=PLURAL,
            singular="canary",
            name=self.name,
            namespace=self.namespace,
            unserved=f"the cluster serves no {PLURAL}.{GROUP}/{VERSION} API: is Flagger "
            "installed, and is --context the right cluster?",
            recheck=Recheck(lambda: self.read().resource, "kubectl get canaries", "the canary"),
        )
        self.resource = self.object.resource
        self._routes: dict[str, tuple[KubeObject, VirtualServiceRoute]] = {}
        self._http_routes: dict[str, GatewayRouter] = {}
        self._lock = threading.Lock()

    # --- reading -------------------------------------------------------------------------------

    def read(self) -> RouteState:
        """The Canary now, with its VirtualService's weights; version is the Canary's."""
        return self._state(self.object.get())

    def _state(self, obj: dict[str, Any]) -> RouteState:
        view = CanaryView.parse(obj, self.resource)
        version = self.object.remember(obj)
        weights, note = self._weights(view)
        progress = view.progress()
        progress = replace(progress, message=f"{progress.message}; {note}")
        return RouteState(weights, version, self.resource, progress, StoredPause(progress.paused))

    def _weights(self, view: CanaryView) -> tuple[Weights, str]:
        """The VirtualService's weights, or the Canary's when it cannot be read, and a note."""
        name = self.cfg.virtual_service or view.apex
        what = f"{view.route_kind.lower()} {name}"
        said = view.mesh_weight
        try:
            weights = self._mesh_weights(name, view)
        except MonotuiError as exc:
            canary = said or 0
            source = (
                "the last step (status.canaryWeight is 0 while it waits for promotion)"
                if view.held_for_promotion
                else "status.canaryWeight"
            )
            why = f"{what} unreadable ({exc}); weights from {source}"
            return Weights(100 - canary, canary), why if said is not None else f"{why} (none yet)"
        note = f"{what}: {weights}"
        if said is not None and said != weights.canary:
            kind = view.route_kind
            note += (
                f"; the Canary says {said}, its {kind} {weights.canary}: Flagger has "
                f"not applied it yet, or someone edited the {kind} (Flagger puts it back)"
            )
        return weights, note

    def check(self) -> str:
        """check-config: the Canary reads, and so does its route; a route named in the config
        (`virtual_service`) that cannot be read fails, Flagger's default one only says so (it is
        not generated before Flagger's first run, nor for providers without one)."""
        view = CanaryView.parse(self.object.get(), self.resource)
        name = self.cfg.virtual_service or view.apex
        try:
            self._mesh_weights(name, view)
        except MonotuiError as exc:
            if self.cfg.virtual_service:
                raise
            return (
                f"ok, but {view.route_kind} {name} cannot be read ({exc}): the weights shown "
                "are the Canary's status.canaryWeight"
            )
        return "ok"

    def _mesh_weights(self, name: str, view: CanaryView) -> Weights:
        """The weights of the route Flagger generated (MonotuiError when it cannot be read, at
        once for a provider whose routes monotui does not read: no GET that can only fail)."""
        other = None if self.cfg.virtual_service else view.unread_provider
        if other is not None:
            raise SourceError(
                f"provider {other}: Flagger routes it with objects monotui does not read (it "
                "reads istio and gatewayapi)"
            )
        if view.gateway_api:
            return self._http_route(name, view).read().weights
        obj, route = self._route(name, view)
        return route.layout(obj.get()).weights

    def _http_route(self, name: str, view: CanaryView) -> GatewayRouter:
        """A read-only reader of the HTTPRoute Flagger generated (gatewayapi providers)."""
        key = f"{name} {view.primary_host} {view.canary_host}"
        with self._lock:
            found = self._http_routes.get(key)
            if found is None:
                settings = GatewaySettings(
                    name=name, stable=view.primary_host, canary=view.canary_host
                )
                routed = self.rollout.model_copy(update={"router": settings})
                found = GatewayRouter(self.kube, routed, can_write=False)
                self._http_routes = {key: found}  # one HTTPRoute per Canary: forget others
            return found

    def _route(self, name: str, view: CanaryView) -> tuple[KubeObject, VirtualServiceRoute]:
        key = f"{name} {view.primary_host} {view.canary_host}"
        with self._lock:
            found = self._routes.get(key)
            if found is None:
                settings = IstioSettings(
                    name=name, stable=view.primary_host, canary=view.canary_host, match_by="host"
                )
                resource = f"virtualservice {self.namespace}/{name}"
                obj = KubeObject(
                    self.kube,
                    group=IstioRouter.group,
                    versions=IstioRouter.versions,
                    plural=IstioRouter.plural,
                    singular=IstioRouter.singular,
                    name=name,
                    namespace=self.namespace,
                    unserved="the cluster serves no virtualservices API: is Istio installed?",
                    recheck=Recheck(lambda: "", "kubectl get virtualservices", "the weights"),
                )
                found = (obj, VirtualServiceRoute(settings, self.namespace, resource))
                self._routes = {key: found}  # one VirtualService per Canary: forget others
            return found

    # --- writing -------------------------------------------------------------------------------

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Refused: Flagger sets the weights itself (the reason says how to steer it)."""
        return self.act(ActionKind.SET_WEIGHT, expected, dry_run=dry_run)

    def act(self, kind: ActionKind, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Pause/resume through spec.suspend, compare-and-set; anything else is refused."""
        obj = self.object.as_read(expected.version)
        view = CanaryView.parse(obj, self.resource)
        if kind not in (ActionKind.PAUSE, ActionKind.RESUME):
            raise view.refusal(kind, self.cfg.virtual_service or view.apex)
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        suspend = kind == ActionKind.PAUSE
        ops = view.suspend_ops(suspend)
        if not ops:
            word = "already suspended" if suspend else "not suspended: nothing to resume"
            return WriteResult(None if dry_run else self._state(obj), "", f"{word} (spec.suspend)")
        text = f"{PLURAL}/{self.name} {jsonpatch.dumps(ops)}"
        note = (
            "suspended the canary (spec.suspend): Flagger skips its runs, the weights stay"
            if suspend
            else "resumed the canary (spec.suspend false): Flagger runs its analysis again"
        )
        if dry_run:
            return WriteResult(None, text, note)
        with self.object.writing():
            state = self._state(self.object.patch(ops))
        return WriteResult(state, text, note)

    # --- watching ------------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        """Follow the Canary (Flagger writes its status at every step); the VirtualService is
        read with each change and at every poll."""
        return self.object.watch(self._state, on_change, on_error)
