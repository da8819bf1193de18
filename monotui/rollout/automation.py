"""The automation of one rollout: the policy's decision on each new verdict, applied through the
actuator. It counts every verdict and acts only where it is enabled (policy auto, not read-only).

It never advances on a source that is not OK: the router, the metrics and the flags must all have
answered with fresh data (NO DATA, STALE or ERROR never counts as healthy). While both versions
fail (an incident, not the canary) it holds, and says so once when the hold starts and ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from monotui import policy
from monotui.config import RolloutConfig
from monotui.model import (
    Action,
    ActionKind,
    ActionResult,
    AutomationPaused,
    EventLevel,
    Phase,
    Snapshot,
    SourceState,
)
from monotui.rollout.actuator import Actuator

GATING_SOURCES = ("router", "metrics", "flags")
"""The sources whose health gates an advance (the route's watch is not one: reads still work)."""

INCIDENT_BY = "automation: both versions failing, not the canary"


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

    def step(self, snapshot: Snapshot) -> ActionResult | None:
        """Count the snapshot's verdict, and apply the policy's decision if there is one."""
        decision = self._decide(snapshot)
        if decision is None:
            return None
        action = Action(
            decision.kind, self.config.name, origin="automation", reason=decision.reason
        )
        return self.actuator.apply(action)

    def annotate(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with the automation's own view: the hold timer and what it waits for."""
        since = snapshot.step_since if snapshot.step_since is not None else snapshot.t
        elapsed = policy.hold_elapsed(since, snapshot.t)
        waiting = policy.waiting_for(
            snapshot.verdict, snapshot.plan, self._situation(snapshot), self.config.judge
        )
        nxt = f"{snapshot.next_action} ({waiting})" if waiting and self.enabled else ""
        return replace(snapshot, hold_elapsed_s=elapsed, next_action=nxt or snapshot.next_action)

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
