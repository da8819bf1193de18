"""An Argo Rollouts `Rollout` as monotui sees it, and the JSON patches of its verbs. Pure: no I/O.

What the weights are, in the order Argo Rollouts' own controller decides them:
1. fully promoted (`status.currentPodHash == status.stableRS`): the new revision takes everything,
   shown as canary 100 (phase Promoted);
   no status at all (the controller has not reconciled the Rollout yet): 0, said in the message;
2. with traffic routing, `status.canary.weights.canary.weight` (what was set on the mesh), scaled by
   `trafficRouting.maxTrafficWeight` (default 100);
3. aborted (`status.abort`): 0; a full promotion requested (`status.promoteFull`): 100;
4. else the last `setWeight` at or before `status.currentStepIndex` (0 when there is none), and 100
   past the last step or when the canary has no steps.

The verbs follow `kubectl argo rollouts` (promote, promote --full, abort, retry, pause and resume):
the same fields end up with the same values. Where kubectl sends a merge patch, we send a JSON patch
whose `test` ops pin the fields the verb decided on (the revision, the step index, the pause
conditions, spec.paused), so nothing is applied if the rollout moved since it was read. We do not
pin the resourceVersion: the Argo controller rewrites the status every few seconds (replica counts,
conditions), which would make nearly every key press a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monotui.errors import ConfigError, MonotuiError, SourceError
from monotui.model import ActionKind, Phase, Weights
from monotui.sources import jsonpatch
from monotui.sources.base import StepStatus


@dataclass(frozen=True, slots=True)
class Patch:
    """One JSON patch, to the status subresource or to the main resource."""

    status: bool  # True: .../rollouts/NAME/status (status fields); False: the main resource
    ops: list[jsonpatch.Op]


@dataclass(frozen=True, slots=True)
class Verb:
    """What a verb sends (nothing when there is nothing to do) and what it does, in words."""

    patches: tuple[Patch, ...]
    note: str


@dataclass(frozen=True, slots=True)
class RolloutView:
    """The fields of one Rollout that monotui reads and pins."""

    resource: str
    steps: tuple[dict[str, Any], ...]
    status: dict[str, Any] | None
    spec_paused: bool | None  # None: spec.paused absent
    traffic_routing: bool
    max_weight: int

    @classmethod
    def parse(cls, obj: dict[str, Any], resource: str) -> RolloutView:
        """Read a Rollout object; SourceError when it is not a canary Rollout monotui can steer."""
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            raise SourceError(f"{resource} has no spec: is it an Argo Rollouts Rollout?")
        strategy = spec.get("strategy") or {}
        canary = strategy.get("canary") if isinstance(strategy, dict) else None
        if not isinstance(canary, dict):
            kind = "blueGreen" if isinstance(strategy, dict) and "blueGreen" in strategy else None
            raise SourceError(
                f"{resource} uses the {kind or 'unknown'} strategy: monotui steers canary "
                "Rollouts only (spec.strategy.canary)"
            )
        steps = canary.get("steps") or []
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            raise SourceError(f"{resource}: spec.strategy.canary.steps is not a list of steps")
        routing = canary.get("trafficRouting")
        max_weight = routing.get("maxTrafficWeight", 100) if isinstance(routing, dict) else 100
        if not _whole(max_weight) or max_weight <= 0:
            raise SourceError(f"{resource}: maxTrafficWeight {max_weight!r} is not a whole number")
        status = obj.get("status")
        paused = spec.get("paused")
        return cls(
            resource=resource,
            steps=tuple(steps),
            status=status if isinstance(status, dict) else None,
            spec_paused=bool(paused) if paused is not None else None,
            traffic_routing=isinstance(routing, dict),
            max_weight=int(max_weight),
        )

    # --- what the status says -------------------------------------------------------------------

    def _status(self, key: str) -> Any:
        return self.status.get(key) if self.status is not None else None

    @property
    def index(self) -> int:
        """status.currentStepIndex (0 when absent, as Argo reads it)."""
        value = self._status("currentStepIndex")
        return int(value) if _whole(value) else 0

    @property
    def paused(self) -> bool:
        return bool(self.spec_paused)

    @property
    def aborted(self) -> bool:
        return bool(self._status("abort"))

    @property
    def pause_conditions(self) -> list[Any]:
        value = self._status("pauseConditions")
        return value if isinstance(value, list) else []

    @property
    def fully_promoted(self) -> bool:
        """The new revision is the stable one: nothing is being rolled out."""
        current, stable = self._status("currentPodHash"), self._status("stableRS")
        return bool(current) and current == stable

    def _pct(self, weight: Any) -> int:
        if not _whole(weight):
            raise SourceError(f"{self.resource}: weight {weight!r} is not a whole number")
        return max(0, min(100, round(100 * int(weight) / self.max_weight)))

    def weights(self) -> tuple[Weights, str]:
        """The weights and where they come from (see the module docstring for the order)."""
        if self.fully_promoted:
            return Weights.canary_at(100), "fully promoted"
        if (
            self.status is None
        ):  # not reconciled yet: no canary has been started, whatever step 1 says
            return Weights.canary_at(0), "no status yet"
        traffic = (self._status("canary") or {}).get("weights")
        if isinstance(traffic, dict) and isinstance(traffic.get("canary"), dict):
            return Weights.canary_at(self._pct(traffic["canary"].get("weight", 0))), "traffic"
        if self.aborted:
            return Weights.canary_at(0), "aborted"
        if self._status("promoteFull"):
            return Weights.canary_at(100), "full promotion requested"
        if self.index >= len(self.steps):
            return Weights.canary_at(100), "past the last step"
        for step in reversed(self.steps[: self.index + 1]):
            if "setWeight" in step:
                return Weights.canary_at(self._pct(step["setWeight"])), "setWeight"
        return Weights.canary_at(0), "no setWeight yet"

    def plan_steps(self) -> tuple[int, ...]:
        """The setWeight percentages, kept strictly increasing, with 100 appended."""
        out: list[int] = []
        for step in self.steps:
            if "setWeight" in step:
                pct = self._pct(step["setWeight"])
                if 0 < pct < 100 and (not out or pct > out[-1]):
                    out.append(pct)
        return (*out, 100)

    def phase(self) -> Phase:
        """Argo's phase in monotui's words: an abort is RolledBack, Degraded is Failed."""
        if self.aborted:
            return Phase.ROLLED_BACK
        if self._status("phase") == "Degraded":
            return Phase.FAILED
        if self.fully_promoted:
            return Phase.PROMOTED
        if self._status("phase") == "Paused" or self.pause_conditions or self.paused:
            return Phase.PAUSED
        return Phase.PROGRESSING

    def message(self) -> str:
        """One line: the step and Argo's own phase and message."""
        n = len(self.steps)
        if self.fully_promoted or not n:
            where = "fully promoted" if self.fully_promoted else "no steps"
        elif self.index >= n:
            where = f"past the last of {n} steps"
        else:
            where = f"step {self.index + 1}/{n} ({describe(self.steps[self.index])})"
        if self.status is None:
            where = f"no status yet: is the Argo Rollouts controller running? ({where})"
        argo = " ".join(str(x) for x in (self._status("phase"), self._status("message")) if x)
        paused = "; spec.paused" if self.paused else ""
        extra = self._additional()
        return f"{where}{paused}{extra}; Argo: {argo}" if argo else f"{where}{paused}{extra}"

    def _additional(self) -> str:
        """The share an experiment step's services take (status.canary.weights.additional): it
        comes out of the stable's share, which the two weights cannot show."""
        weights = (self._status("canary") or {}).get("weights")
        extra = weights.get("additional") if isinstance(weights, dict) else None
        taken = [e for e in extra or [] if isinstance(e, dict) and _whole(e.get("weight"))]
        total = sum(self._pct(e["weight"]) for e in taken)
        if not total:
            return ""
        names = ", ".join(str(e.get("serviceName") or "?") for e in taken if e["weight"])
        return f"; {total}% to experiment services ({names}), taken from stable"

    def progress(self) -> StepStatus:
        return StepStatus(
            steps=self.plan_steps(),
            phase=self.phase(),
            paused=self.paused,
            message=self.message(),
            step_index=self.index if self._status("currentStepIndex") is not None else None,
            step_count=len(self.steps),
        )

    # --- the verbs ------------------------------------------------------------------------------

    def plan(self, kind: ActionKind) -> Verb:
        """The patches of `kind` on this Rollout as read."""
        if kind == ActionKind.SET_WEIGHT:
            raise ConfigError(
                "Argo Rollouts moves weights by its steps: use advance, promote or abort "
                "(or change spec.strategy.canary.steps)"
            )
        if self.status is None:
            raise MonotuiError(
                f"{self.resource} has no status yet: is the Argo Rollouts controller running?"
            )
        if kind == ActionKind.ADVANCE:
            return self._retry() if self.aborted else self._promote()
        if kind == ActionKind.PROMOTE:
            return self._promote_full()
        if kind == ActionKind.ROLLBACK:
            return self._abort()
        if kind == ActionKind.PAUSE:
            return self._pause()
        if kind == ActionKind.RESUME:
            return self._resume()
        raise MonotuiError(f"{kind.value} is not something a Rollout does")

    def _pin(self) -> list[jsonpatch.Op]:
        """Every patch pins the revision: a verb meant for one revision never hits the next."""
        current = self._status("currentPodHash")
        return [jsonpatch.test("/status/currentPodHash", current)] if current else []

    def _set_status(self, key: str, value: Any) -> jsonpatch.Op:
        present = self.status is not None and key in self.status
        return jsonpatch.set_value(jsonpatch.pointer("status", key), value, present=present)

    def _promote(self) -> Verb:
        """kubectl argo rollouts promote: clear the pause conditions, else go to the next step;
        and unpause spec.paused. The status patch goes first, as kubectl sends it."""
        n = len(self.steps)
        if self.fully_promoted and not self.paused:
            return Verb((), "already fully promoted: nothing to advance")
        status: list[jsonpatch.Op] = []
        note = ""
        if self.pause_conditions:
            reasons = ", ".join(
                str(c.get("reason")) for c in self.pause_conditions if isinstance(c, dict)
            )
            status += [
                jsonpatch.test("/status/pauseConditions", self._status("pauseConditions")),
                {"op": "remove", "path": "/status/pauseConditions"},
            ]
            note = f"promoted: the pause ({reasons}) at step {self.index + 1}/{n} is over"
        elif n and self.index < n:
            if self._status("currentStepIndex") is not None:
                status.append(jsonpatch.test("/status/currentStepIndex", self.index))
            if "pauseConditions" in (self.status or {}):  # empty: still pinned, a pause may land
                status.append(
                    jsonpatch.test("/status/pauseConditions", self._status("pauseConditions"))
                )
                status.append({"op": "remove", "path": "/status/pauseConditions"})
            status.append(self._set_status("currentStepIndex", self.index + 1))
            skipped = describe(self.steps[self.index])
            note = f"promoted: skipped step {self.index + 1}/{n} ({skipped})"
        patches = [Patch(True, [*self._pin(), *status])] if status else []
        if self.paused:
            spec = [*self._pin(), jsonpatch.test("/spec/paused", True)]
            spec.append(jsonpatch.set_value("/spec/paused", False, present=True))
            patches.append(Patch(False, spec))
            note = f"{note}; unpaused (spec.paused)" if note else "promoted: unpaused (spec.paused)"
        if not patches:
            return Verb((), f"nothing to advance: {self.message()}")
        return Verb(tuple(patches), note)

    def _promote_full(self) -> Verb:
        """kubectl argo rollouts promote --full: status.promoteFull, skipping steps and analysis."""
        if self.fully_promoted:
            return Verb((), "already fully promoted")
        if self.aborted:
            raise MonotuiError(
                f"{self.resource} is aborted: advance (a) retries it first, then promote"
            )
        if self._status("promoteFull"):
            return Verb((), "full promotion already requested: Argo Rollouts is on it")
        ops = self._pin()
        if self._status("stableRS"):
            ops.append(jsonpatch.test("/status/stableRS", self._status("stableRS")))
        ops.append(self._set_status("promoteFull", True))
        return Verb((Patch(True, ops),), "promoted fully: Argo Rollouts skips the remaining steps")

    def _abort(self) -> Verb:
        """kubectl argo rollouts abort: status.abort; Argo sends all traffic back to stable."""
        if self.fully_promoted:
            raise MonotuiError(
                f"{self.resource} is fully promoted, there is no canary to abort: to go back, "
                "roll back its template (kubectl argo rollouts undo)"
            )
        if self.aborted:
            return Verb((), "already aborted: all traffic goes to stable")
        ops = [*self._pin(), self._set_status("abort", True)]
        return Verb((Patch(True, ops),), "aborted: Argo Rollouts sends all traffic to stable")

    def _retry(self) -> Verb:
        """kubectl argo rollouts retry rollout: status.abort false; the canary starts over."""
        ops = [*self._pin(), jsonpatch.test("/status/abort", True)]
        ops.append(jsonpatch.set_value("/status/abort", False, present=True))
        return Verb((Patch(True, ops),), "retried: Argo Rollouts starts the canary steps again")

    def _pause(self) -> Verb:
        """kubectl argo rollouts pause: spec.paused true. It stops the rollout in the cluster."""
        if self.paused:
            return Verb((), "already paused in the cluster (spec.paused)")
        ops = self._pin()
        if self.spec_paused is not None:  # absent cannot be tested; setting true is idempotent
            ops.append(jsonpatch.test("/spec/paused", False))
        ops.append(jsonpatch.set_value("/spec/paused", True, present=self.spec_paused is not None))
        return Verb(
            (Patch(False, ops),),
            "paused the rollout in the cluster (spec.paused): Argo Rollouts holds at this "
            "step, and monotui's automation waits too",
        )

    def _resume(self) -> Verb:
        """kubectl argo rollouts resume: spec.paused false."""
        if not self.paused:
            if self.pause_conditions:
                return Verb(
                    (), "not paused by spec.paused: it waits at a pause step, advance goes on"
                )
            return Verb((), "not paused (spec.paused is false): nothing to resume")
        ops = [*self._pin(), jsonpatch.test("/spec/paused", True)]
        ops.append(jsonpatch.set_value("/spec/paused", False, present=True))
        return Verb((Patch(False, ops),), "resumed the rollout in the cluster (spec.paused false)")


def describe(step: dict[str, Any]) -> str:
    """A canary step in a few words: "setWeight 20", "pause 1h", "pause", "analysis"."""
    if "setWeight" in step:
        return f"setWeight {step['setWeight']}"
    if "pause" in step:
        pause = step.get("pause") or {}
        duration = pause.get("duration") if isinstance(pause, dict) else None
        if duration is None:
            return "pause until promoted"
        # Argo reads a bare number (10, or "10") as seconds: "pause 10" would say no unit.
        seconds = _whole(duration) or (isinstance(duration, str) and duration.isdigit())
        return f"pause {duration}s" if seconds else f"pause {duration}"
    for key in step:
        return str(key)
    return "empty step"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
