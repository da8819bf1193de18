"""A Flagger `Canary` (flagger.app/v1beta1) as monotui sees it, and what may be sent to it. Pure.

Flagger owns the canary: it moves the weights of the VirtualService it generated (an HTTPRoute
with a `gatewayapi` provider; named after `spec.service.name`, else `spec.targetRef.name`;
destinations `<name>-primary` and `<name>-canary`) at every analysis interval, and puts back any
weight someone else writes there. So monotui reads the Canary and that route, and steers only
through what Flagger itself offers:
`spec.suspend` (Flagger skips every run of a suspended Canary: the weights stay where they are) is
pause/resume; advance, promote, rollback and exact weights are refused with how to do them with
Flagger.

The phases (`status.phase`) in monotui's words: Initialized and Succeeded are Promoted (nothing is
being rolled out: the primary takes the traffic), Failed is RolledBack (Flagger scaled the canary
to zero and routed everything back to the primary), Waiting and WaitingPromotion are Paused (a
gate holds the canary), and a suspended Canary is Paused whatever its phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monotui.errors import ConfigError, SourceError
from monotui.model import ActionKind, Phase
from monotui.sources import jsonpatch
from monotui.sources.base import StepStatus

_PHASES = {
    "Initialized": Phase.PROMOTED,
    "Succeeded": Phase.PROMOTED,
    "Failed": Phase.ROLLED_BACK,
    "Waiting": Phase.PAUSED,
    "WaitingPromotion": Phase.PAUSED,
}


@dataclass(frozen=True, slots=True)
class CanaryView:
    """The fields of one Canary that monotui reads."""

    resource: str
    namespace: str
    name: str
    target: str  # spec.targetRef.name: the Deployment Flagger copies to <target>-primary
    apex: str  # spec.service.name or the target: the VirtualService and its hosts' stem
    status: dict[str, Any]
    analysis: dict[str, Any]
    suspend: bool | None  # None: spec.suspend absent
    provider: str = ""  # spec.provider ("" : the Flagger controller's default mesh)

    @classmethod
    def parse(cls, obj: dict[str, Any], resource: str) -> CanaryView:
        """Read a Canary; SourceError when it has no spec or no targetRef."""
        spec = obj.get("spec")
        meta = obj.get("metadata") or {}
        if not isinstance(spec, dict):
            raise SourceError(f"{resource} has no spec: is it a Flagger Canary?")
        target_ref = spec.get("targetRef")
        target = target_ref.get("name") if isinstance(target_ref, dict) else None
        if not isinstance(target, str) or not target:
            raise SourceError(f"{resource} has no spec.targetRef.name: is it a Flagger Canary?")
        service = spec.get("service")
        apex = service.get("name") if isinstance(service, dict) else None
        analysis = spec.get("analysis") or spec.get("canaryAnalysis")  # the latter: v1alpha3
        status = obj.get("status")
        suspend = spec.get("suspend")
        return cls(
            resource=resource,
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
            target=target,
            apex=apex if isinstance(apex, str) and apex else target,
            status=status if isinstance(status, dict) else {},
            analysis=analysis if isinstance(analysis, dict) else {},
            suspend=bool(suspend) if suspend is not None else None,
            provider=str(spec.get("provider") or ""),
        )

    # --- what it says ---------------------------------------------------------------------------

    @property
    def gateway_api(self) -> bool:
        """Whether Flagger routes it with an HTTPRoute (provider gatewayapi:v1 or :v1beta1)
        rather than an Istio VirtualService; both are named after the apex."""
        return self.provider.startswith("gatewayapi")

    @property
    def route_kind(self) -> str:
        return "HTTPRoute" if self.gateway_api else "VirtualService"

    @property
    def unread_provider(self) -> str | None:
        """The provider when Flagger routes this Canary with objects monotui does not read
        (nginx, linkerd, contour, kubernetes, ...); None for istio, gatewayapi, or none named
        (the controller's default mesh: its VirtualService is tried)."""
        name = self.provider.split(":", 1)[0]
        return None if name in ("", "istio", "gatewayapi") else self.provider

    @property
    def primary_host(self) -> str:
        return f"{self.apex}-primary"

    @property
    def canary_host(self) -> str:
        return f"{self.apex}-canary"

    @property
    def phase_name(self) -> str:
        """Flagger's own phase ("" before Flagger has seen the Canary)."""
        return str(self.status.get("phase") or "")

    def _count(self, key: str, where: dict[str, Any] | None = None) -> int | None:
        value = (self.status if where is None else where).get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def canary_weight(self) -> int | None:
        """status.canaryWeight: the weight Flagger last set (None before its first run)."""
        weight = self._count("canaryWeight")
        return max(0, min(100, weight)) if weight is not None else None

    @property
    def held_for_promotion(self) -> bool:
        """WaitingPromotion: Flagger resets status.canaryWeight to 0 on entering it (every phase
        but Progressing, Waiting and Promoting does), while the mesh stays at the last step."""
        return self.phase_name == "WaitingPromotion"

    @property
    def mesh_weight(self) -> int | None:
        """The canary weight the status means the mesh has: status.canaryWeight, except while
        held for promotion, when it is the last step's weight (0 for an A/B test by iterations,
        whose general traffic stays on the primary)."""
        if not self.held_for_promotion:
            return self.canary_weight
        steps = self.steps()
        return steps[-2] if len(steps) > 1 else 0

    @property
    def threshold(self) -> int | None:
        """The failed checks that roll the canary back: spec.analysis.threshold, 1 when unset
        or not positive (Flagger's default); None without an analysis."""
        if not self.analysis:
            return None
        value = self._count("threshold", self.analysis)
        return value if value is not None and value > 0 else 1

    def steps(self) -> tuple[int, ...]:
        """The weights Flagger steps through, then 100 (the promotion); an analysis by
        iterations only (A/B testing) is just (100,). As Flagger's scheduler walks them
        (nextStepWeight, maxWeight):

        - it adds stepWeight while the weight is below the top, so the last step may pass it:
          maxWeight 50 and stepWeight 20 go 20, 40, 60 (its docs' own example), then promote;
        - stepWeights are walked instead only when stepWeight is unset (or 0);
        - with stepWeights the top is their last entry (at most 100), whatever maxWeight says.
        """
        raw = self.analysis.get("stepWeights")
        listed = (
            [w for w in raw if isinstance(w, int) and not isinstance(w, bool)]
            if isinstance(raw, list)
            else []
        )
        step = self._count("stepWeight", self.analysis)
        weights: list[int] = []
        if step is not None and step > 0:
            top = min(listed[-1] if listed else self._count("maxWeight", self.analysis) or 100, 100)
            weights = list(range(step, top + step, step))  # the last one is >= top
        else:
            weights = listed
        kept: list[int] = []
        for weight in weights:
            if 0 < weight < 100 and (not kept or weight > kept[-1]):
                kept.append(weight)
        return (*kept, 100)

    def phase(self) -> Phase:
        if self.suspend:
            return Phase.PAUSED
        return _PHASES.get(self.phase_name, Phase.PROGRESSING)

    def message(self) -> str:
        """One line: Flagger's phase, weight, failed checks against the threshold, iterations."""
        parts = [f"Flagger: {self.phase_name or 'no status yet (is Flagger running?)'}"]
        if self.held_for_promotion:
            parts.append(f"canary weight {self.mesh_weight}, held until promoted")
        elif self.canary_weight is not None:
            parts.append(f"canary weight {self.canary_weight}")
        failed = self._count("failedChecks")
        if failed is not None:
            limit = self.threshold
            parts.append(f"failed checks {failed}/{limit}" if limit else f"failed checks {failed}")
        iterations = self._count("iterations")
        wanted = self._count("iterations", self.analysis)
        if iterations is not None and (iterations or wanted):
            parts.append(
                f"iteration {iterations}/{wanted}" if wanted else f"iteration {iterations}"
            )
        if self.suspend:
            parts.append("suspended (spec.suspend)")
        return ", ".join(parts)

    def progress(self) -> StepStatus:
        """Flagger's steps, phase and suspension; the step is found from the weight."""
        steps = self.steps()
        if self.suspend:
            upcoming = "suspended in Flagger: p resumes it"
        else:
            upcoming = "Flagger steps by itself: p suspends it"
        return StepStatus(
            steps, self.phase(), bool(self.suspend), self.message(), None, len(steps), upcoming
        )

    # --- what may be sent -------------------------------------------------------------------------

    def suspend_ops(self, suspend: bool) -> list[jsonpatch.Op]:
        """spec.suspend set to `suspend`, compare-and-set on its value as read ([] if it is so).

        An absent spec.suspend cannot be tested; adding `true` there is safe: whoever else wrote
        it meanwhile can only have paused it too or written the default.
        """
        if bool(self.suspend) == suspend:
            return []
        ops: list[jsonpatch.Op] = []
        if self.suspend is not None:
            ops.append(jsonpatch.test("/spec/suspend", self.suspend))
        ops.append(jsonpatch.set_value("/spec/suspend", suspend, present=self.suspend is not None))
        return ops

    def refusal(self, kind: ActionKind, virtual_service: str) -> ConfigError:
        """Why `kind` is not sent, and how to do it with Flagger instead."""
        where = f"kubectl -n {self.namespace} patch canary {self.name} --type merge -p"
        how = {
            ActionKind.ADVANCE: "it advances by itself at every analysis interval while its checks "
            "pass; a confirm-rollout or confirm-promotion webhook gate holds or releases it",
            ActionKind.PROMOTE: "to promote without the analysis, "
            f'{where} \'{{"spec":{{"skipAnalysis":true}}}}\'',
            ActionKind.ROLLBACK: "to roll back, open its rollback webhook gate (a webhook of type "
            f"rollback), or revert Deployment {self.target} to what {self.target}-primary runs; "
            f"Flagger then sends all traffic to {self.primary_host}",
            ActionKind.SET_WEIGHT: "it sets the weights itself from spec.analysis (stepWeight, "
            f"maxWeight, stepWeights): change those with {where} '...'",
        }.get(kind, "it does not offer that")
        return ConfigError(
            f"Flagger overwrites direct edits of its {self.route_kind} {virtual_service}; steer "
            f"{self.resource} with Flagger: {how}. Nothing was sent"
        )
