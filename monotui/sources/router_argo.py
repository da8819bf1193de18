"""Argo Rollouts as the router (`[rollouts.router] kind = "argo"`): one Rollout, read and watched,
steered by its own verbs (promote, promote --full, abort, retry, pause, resume).

Argo Rollouts owns its steps, so this router takes verbs, not weights (`StepRouter.act`); a weight
write is refused. What the weights and the verbs are: `monotui.sources.argo_rollout`. Status fields
(step index, pause conditions, abort, promoteFull) go through the status subresource, spec.paused
through the main resource, as `kubectl argo rollouts` sends them; a cluster whose Rollout CRD has no
status subresource (Argo Rollouts < 0.10) gets the status patch on the main resource instead.

Weights: the Rollout's own status says what Argo set on the mesh. When `[rollouts.router.traffic]`
names the traffic router the Rollout steers (an Istio VirtualService or a Gateway API HTTPRoute),
the weights shown are that route's, read by monotui's router for it (never written: Argo owns
them); if it cannot be read, the status' weights are shown and the step message says why.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import Field

from monotui.config import RolloutConfig
from monotui.errors import ConflictError, MonotuiError, ReadOnlyError, SourceError
from monotui.kinds import RouterSettings
from monotui.model import ActionKind, Weights
from monotui.sources import jsonpatch
from monotui.sources.argo_rollout import Patch, RolloutView
from monotui.sources.base import RouteState, StoredPause, WriteResult
from monotui.sources.kube import KubeConnection
from monotui.sources.kube_informers import InformerPool
from monotui.sources.kube_object import RBAC_GROUP_APART, KubeObject, Recheck
from monotui.sources.router_gateway import GatewayRouter, GatewaySettings
from monotui.sources.router_istio import IstioRouter, IstioSettings

TrafficSettings = Annotated[IstioSettings | GatewaySettings, Field(discriminator="kind")]


class ArgoSettings(RouterSettings):
    """`[rollouts.router] kind = "argo"`: an Argo Rollouts canary Rollout (`name`)."""

    kind: Literal["argo"] = "argo"
    traffic: TrafficSettings | None = None
    """The route the Rollout's traffic router steers (`[rollouts.router.traffic]`, kind istio or
    gateway-api, in the rollout's namespace): its weights are shown; none: the Rollout's status."""


class ArgoRouter:
    """One Argo Rollouts canary Rollout: its weights, steps and phase; its verbs, compare-and-set."""

    kind = "argo"
    group = "argoproj.io"
    version = "v1alpha1"
    plural = "rollouts"

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
        self.name = rollout.router_name
        self.namespace = rollout.namespace
        self.can_write = can_write
        self.object = KubeObject(
            kube,
            group=self.group,
            versions=(self.version,),
            plural=self.plural,
            singular="rollout",
            name=self.name,
            namespace=self.namespace,
            unserved=f"the cluster serves no {self.plural}.{self.group}/{self.version} API: are "
            "Argo Rollouts' CRDs installed, and is --context the right cluster?",
            recheck=Recheck(
                lambda: f"{self.read().weights}, {self.message()}",
                "kubectl argo rollouts get rollout",
                "the rollout",
            ),
            patch_rbac=RBAC_GROUP_APART,
            informers=informers,
        )
        self.what = self.object.what
        self.resource = self.object.resource
        self._last: RolloutView | None = None
        self._lock = threading.Lock()
        self.traffic = _traffic_reader(kube, rollout)

    # --- reading -------------------------------------------------------------------------------

    def read(self) -> RouteState:
        """The weights, steps and phase now; version is the Rollout's resourceVersion."""
        return self._state(self.object.get())

    def check(self) -> str:
        """check-config: the Rollout reads, and so does the route named in
        `[rollouts.router.traffic]`, whose weights are the ones shown (MonotuiError if not: the
        status would otherwise hide a misspelt route behind its own weights)."""
        self.read()
        if self.traffic is None:
            return "ok"
        try:
            self.traffic.read()
        except SourceError as exc:  # what Argo put there now (an experiment's third service)
            return f"ok, but {self.traffic.resource} cannot be read as two weights now ({exc})"
        return f"ok (weights from {self.traffic.resource})"

    def message(self) -> str:
        """The current step and Argo's own phase and message, as last read."""
        with self._lock:
            return self._last.message() if self._last else ""

    # --- writing -------------------------------------------------------------------------------

    def write(self, target: Weights, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Refused: Argo Rollouts moves the weights by its steps."""
        return self.act(ActionKind.SET_WEIGHT, expected, dry_run=dry_run)

    def act(self, kind: ActionKind, expected: RouteState, *, dry_run: bool = False) -> WriteResult:
        """Promote/abort/retry/pause/resume the Rollout as read in `expected`, compare-and-set."""
        if not self.can_write:
            raise ReadOnlyError(f"read-only: {self.resource} cannot be written, nothing was sent")
        obj = self.object.as_read(expected.version)
        verb = RolloutView.parse(obj, self.resource).plan(kind)
        text = "\n".join(self._describe(p) for p in verb.patches)
        if not verb.patches:
            return WriteResult(None if dry_run else self._state(obj), text, verb.note)
        if dry_run:
            return WriteResult(None, text, verb.note)
        answer: dict[str, Any] = obj
        with self.object.writing():
            for i, patch in enumerate(verb.patches):
                try:
                    answer = self.object.patch(patch.ops, status=patch.status)
                except MonotuiError as exc:
                    if i == 0:
                        raise
                    # Half applied: say so. Not a ConflictError, whose handler says "nothing
                    # applied". The rollout stays paused (spec.paused), which is the safe side.
                    cls = MonotuiError if isinstance(exc, ConflictError) else type(exc)
                    raise cls(
                        f"{self.resource}: the status patch was applied, but unpausing "
                        f"spec.paused was not, so the rollout is still paused: {exc}"
                    ) from None
            state = self._state(answer)
        return WriteResult(state, text, verb.note)

    def _describe(self, patch: Patch) -> str:
        """What goes on the wire: the endpoint, then the JSON patch byte for byte."""
        where = f"{self.plural}/{self.name}{'/status' if patch.status else ''}"
        return f"{where} {jsonpatch.dumps(patch.ops)}"

    # --- watching ------------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[RouteState], None],
        on_error: Callable[[MonotuiError], None] | None = None,
    ) -> Callable[[], None] | None:
        """Follow the Rollout; `on_change` gets every version the Argo controller (or anyone) makes."""
        return self.object.watch(self._state, on_change, on_error)

    # --- internals -----------------------------------------------------------------------------

    def _state(self, obj: dict[str, Any]) -> RouteState:
        view = RolloutView.parse(obj, self.resource)
        weights, _ = view.weights()
        progress = view.progress()
        if self.traffic is not None:
            weights, note = self._traffic_weights(weights, view.fully_promoted)
            progress = replace(progress, message=f"{progress.message}; {note}")
        with self._lock:
            self._last = view
        version = self.object.remember(obj)
        # spec.paused is already shared by every instance; it is changed by the pause/resume verbs
        # (`act`), and the controller follows it through `progress`, as before.
        pause = StoredPause(progress.paused) if progress is not None else None
        return RouteState(weights, version, self.resource, progress, pause)

    def _traffic_weights(self, said: Weights, promoted: bool) -> tuple[Weights, str]:
        """The weights of the route Argo steers, or the status' with why."""
        assert self.traffic is not None
        if promoted:
            # Argo points the stable Service at the new revision and puts the route back to
            # stable 100: the route's stable share is the new version now, not the old one.
            return said, (
                f"fully promoted: {self.traffic.resource} sends its traffic to the stable "
                "Service, which runs the new revision now"
            )
        try:
            state = self.traffic.read()
        except MonotuiError as exc:
            return said, f"{self.traffic.resource} unreadable ({exc}); weights from the status"
        note = f"weights from {state.resource}"
        if state.weights != said:
            note += f" (the Rollout's status says {said}: Argo has not applied it yet)"
        return state.weights, note


def _traffic_reader(
    kube: KubeConnection, rollout: RolloutConfig
) -> IstioRouter | GatewayRouter | None:
    """A read-only router for the route named in `[rollouts.router.traffic]`."""
    traffic = ArgoSettings.of(rollout.router, f"rollout {rollout.name} router").traffic
    if traffic is None:
        return None
    routed = rollout.model_copy(update={"router": traffic})
    if isinstance(traffic, IstioSettings):
        return IstioRouter(kube, routed, can_write=False)
    return GatewayRouter(kube, routed, can_write=False)
