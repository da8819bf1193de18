"""The automation of one rollout: the policy's decision on each new verdict, applied through the
actuator. It counts every verdict (the hold timer shows under manual too) and acts only where it is
enabled (policy auto, not read-only).

It never advances on a source that is not OK: the router, the metrics and the flags must all have
answered with fresh data (NO DATA, STALE or ERROR never counts as healthy).

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
    AutopilotStatus,
    EventLevel,
    Phase,
    Snapshot,
    SourceState,
)
from monotui.rollout.actuator import Actuator

GATING_SOURCES = ("router", "metrics", "flags")
"""The sources whose health gates an advance (the route's watch is not one: reads still work)."""
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

    @property
    def policy_state(self) -> policy.PolicyState:
        """The counters and timers the policy carries (the autopilot stores them in its Lease)."""
        with self._lock:
            return self._policy

    def resume(self, state: policy.PolicyState, canary_pct: int | None) -> bool:
        """Continue from `state`, which another process kept: its step start and PASS time count
        if the route is still at `canary_pct` (None: not the same step), else only its counters.
        Returns whether the hold was resumed. Atomic with respect to a decision."""
        with self._lock:
            rollout_state = self.actuator.state
            resumed = canary_pct is not None and rollout_state.resume_step(
                canary_pct, state.step_since
            )
            if not resumed:
                own = rollout_state.known().step_since
                state = replace(state, step_since=own, pass_since=None)
            self._policy = state
            return resumed

    def hold_elapsed_s(self, now: float) -> float:
        """How long the verdict has been PASS at this step."""
        with self._lock:
            return policy.hold_elapsed(self._policy, now)

    def annotate(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with the automation's own numbers (the hold timer) and the Lease."""
        status = self.status() if self.status is not None else None
        return replace(snapshot, hold_elapsed_s=self.hold_elapsed_s(snapshot.t), autopilot=status)

    def _refused(self, action: Action, why_not: str) -> ActionResult:
        message = f"automatic {action.kind.value} not applied: {why_not}"
        result = ActionResult(action, False, message, exit_code=REFUSED_EXIT)
        if why_not != self._refusal:
            self._refusal = why_not
            self.actuator.told.tell(ActionEvent, message, EventLevel.WARN, result=result)
        return result

    def _decide(self, snapshot: Snapshot) -> policy.Decision | None:
        now = self.clock()
        with self._lock:
            state = self._policy
            known = self.actuator.state.known()
            step_since = known.step_since
            if step_since != state.step_since:
                state = policy.reached_step(state, step_since)
            if snapshot.verdict is not self._judged:
                self._judged = snapshot.verdict
                state = policy.observe(state, snapshot.verdict, now, fresh_after_s=self.window_s)
            self._policy = state
            if not self.enabled:
                return None
            decision = policy.decide(
                state,
                snapshot.verdict,
                snapshot.plan,
                now,
                hold_s=self.config.hold_s,
                cfg=self.config.judge,
            )
        if decision is None or decision.kind != ActionKind.ADVANCE:
            return decision
        route = self.actuator.state.route
        owner_busy = (
            route is not None
            and route.progress is not None
            and route.progress.phase != Phase.PAUSED
        )
        if owner_busy or not _healthy(snapshot):
            # Argo Rollouts mid-step (a timed pause, an analysis), or a source that is not
            # fresh: advancing now would skip the owner's work or act on old data.
            return None
        return decision


def _healthy(snapshot: Snapshot) -> bool:
    states = {s.name: s.state for s in snapshot.sources}
    return all(states.get(name, SourceState.OK) == SourceState.OK for name in GATING_SOURCES)
