"""The automation of one rollout: the policy's decision on each new verdict, applied through the
actuator. It counts every verdict and acts only where it is enabled (policy auto, not read-only).

It never advances on a source that is not OK: the router, the metrics and the flags must all have
answered with fresh data (NO DATA, STALE or ERROR never counts as healthy). While both versions
fail (an incident, not the canary) it holds, and says so once when the hold starts and ends.

Where several processes could act on one rollout (autopilot replicas, cockpits on auto), `gate` is
asked right before each automatic action is applied: None lets it through, a sentence refuses it
(told once per reason, not at every poll). `status` puts the autopilot's Lease into the
snapshots, and `resume` continues a hold that another process started (monotui.autopilot).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from monotui import policy
from monotui.config import RolloutConfig
from monotui.model import (
    Action,
    ActionEvent,
    ActionKind,
    ActionResult,
    AutomationPaused,
    AutopilotStatus,
    EventLevel,
    Phase,
    Snapshot,
    SourceState,
)
from monotui.rollout.actuator import Actuator

GATING_SOURCES = ("router", "metrics", "flags", "synthetics")
"""The sources whose health gates an advance (the route's watch is not one: reads still work)."""

INCIDENT_BY = "automation: both versions failing, not the canary"
REFUSED_EXIT = 4
"""The exit code of an automatic action the gate refused (a refusal, like read-only)."""

Gate = Callable[[], str | None]
"""May the automation act now? None: yes; else why not, in one stable sentence."""
StatusOf = Callable[[], AutopilotStatus | None]
"""The autopilot's Lease as last read (no I/O), for the snapshots."""


class Automation:
    """Turns verdicts into actions for one rollout. Thread-safe."""

    def __init__(
        self,
        config: RolloutConfig,
        *,
        actuator: Actuator,
        clock: Callable[[], float],
        enabled: bool,
        window_s: float,
    ) -> None:
        self.config = config
        self.actuator = actuator
        self.clock = clock
        self.enabled = enabled
        self.window_s = window_s
        self._lock = threading.Lock()
        self._policy = policy.PolicyState()
        self._judged: object = None  # the verdict last counted (each is counted once)
        self.gate: Gate | None = None
        self.status: StatusOf | None = None
        self._refusal: str | None = None  # the last refusal told (each is told once)

    def step(self, snapshot: Snapshot) -> ActionResult | None:
        """Count the snapshot's verdict, and apply the policy's decision if there is one (and
        the gate, asked just before, lets it through)."""
        decision = self._decide(snapshot)
        if decision is None:
            return None
        action = Action(
            decision.kind, self.config.name, origin="automation", reason=decision.reason
        )
        why_not = self.gate() if self.gate is not None else None
        if why_not is not None:
            return self._refused(action, why_not)
        self._refusal = None
        return self.actuator.apply(action)

    def hold_elapsed_s(self, now: float) -> float:
        """How long the current step has lasted (its hold so far)."""
        since = self.actuator.state.known().step_since
        return policy.hold_elapsed(since if since is not None else now, now)

    @property
    def policy_state(self) -> policy.PolicyState:
        """The counters the policy carries (the autopilot stores them in its Lease)."""
        with self._lock:
            return self._policy

    def resume(self, state: policy.PolicyState, step_since: float, canary_pct: int | None) -> bool:
        """Continue from `state` and a step that began at `step_since`, which another process
        kept: the step start counts if the route is still at `canary_pct` (None: not the same
        step), else only the counters. Returns whether the hold was resumed. Atomic with respect
        to a decision."""
        with self._lock:
            resumed = canary_pct is not None and self.actuator.state.resume_step(
                canary_pct, step_since
            )
            self._policy = state
            return resumed

    def _refused(self, action: Action, why_not: str) -> ActionResult:
        message = f"automatic {action.kind.value} not applied: {why_not}"
        result = ActionResult(action, False, message, exit_code=REFUSED_EXIT)
        if why_not != self._refusal:
            self._refusal = why_not
            self.actuator.told.tell(ActionEvent, message, EventLevel.WARN, result=result)
        return result

    def annotate(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with the automation's own view: the hold timer and what it waits for."""
        since = snapshot.step_since if snapshot.step_since is not None else snapshot.t
        elapsed = policy.hold_elapsed(since, snapshot.t)
        waiting = policy.waiting_for(
            snapshot.verdict, snapshot.plan, self._situation(snapshot), self.config.judge
        )
        nxt = f"{snapshot.next_action} ({waiting})" if waiting and self.enabled else ""
        status = self.status() if self.status is not None else None
        return replace(
            snapshot,
            hold_elapsed_s=elapsed,
            next_action=nxt or snapshot.next_action,
            autopilot=status,
        )

    def _situation(self, snapshot: Snapshot) -> policy.Situation:
        return policy.Situation(
            now=snapshot.t,
            step_since=snapshot.step_since if snapshot.step_since is not None else snapshot.t,
            hold_s=self.config.hold_s,
            canary_requests=snapshot.verdict.canary_requests,
            healthy=_healthy(snapshot),
        )

    def _decide(self, snapshot: Snapshot) -> policy.Decision | None:
        now = self.clock()
        with self._lock:
            state = self._policy
            was_incident = state.incident
            if snapshot.verdict is not self._judged:
                self._judged = snapshot.verdict
                state = policy.observe(state, snapshot.verdict, now, fresh_after_s=self.window_s)
            self._policy = state
            if not self.enabled:
                return None
            at = self._situation(replace(snapshot, t=now))
            decision = policy.decide(state, snapshot.verdict, snapshot.plan, at, self.config.judge)
        if state.incident != was_incident:
            self._tell_incident(state.incident, snapshot)
        if decision is None or decision.kind != ActionKind.ADVANCE:
            return decision
        route = self.actuator.state.route
        owner_busy = (
            route is not None
            and route.progress is not None
            and route.progress.phase != Phase.PAUSED
        )
        if owner_busy:
            # Argo Rollouts mid-step (a timed pause, an analysis): advancing now would skip its work.
            return None
        return decision

    def _tell_incident(self, incident: bool, snapshot: Snapshot) -> None:
        told = self.actuator.told
        if incident:
            told.tell(
                AutomationPaused,
                f"automation holds: {snapshot.verdict.reason}",
                EventLevel.WARN,
                paused=True,
                by=INCIDENT_BY,
            )
        else:
            told.tell(
                AutomationPaused,
                "automation goes on: the versions stopped failing together",
                paused=False,
            )


def _healthy(snapshot: Snapshot) -> bool:
    states = {s.name: s.state for s in snapshot.sources}
    return all(states.get(name, SourceState.OK) == SourceState.OK for name in GATING_SOURCES)
