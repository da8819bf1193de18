"""What the parts of one rollout know in common: the route and flags as last seen, the plan, when
the current weight was reached, and which route versions are our own writes.

The observer records what it reads here, the actuator what it writes; both read the other's
records through the same methods, under one lock that is only held for bookkeeping, never across
I/O. Each recording method returns what changed, so its caller can tell the world (events).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from monotui import plan as plans
from monotui.model import EventLevel, Plan, Weights
from monotui.sources.base import FlagSet, RouteState, StepStatus

MAX_MARKS = 100
"""Weight changes kept for the charts' marks."""
OWN_VERSIONS = 64
"""Route versions of our own writes remembered, newest kept: a watch may deliver one late."""


@dataclass(frozen=True, slots=True)
class RouteNews:
    """What a route read told us, for the events: the weights before, whether they moved, whether
    the version is one we wrote, and a sentence when the stored pause changed elsewhere."""

    before: Weights | None
    after: Weights
    moved: bool
    ours: bool
    owned: bool  # a StepRouter (Argo Rollouts) moves the weights itself
    pause: str  # "" or "automation paused elsewhere: ..." / "automation resumed elsewhere"
    paused: bool
    by: str

    def lines(self, router_kind: str) -> list[tuple[str, EventLevel, str]]:
        """(text, level, what) for each change worth an event."""
        out: list[tuple[str, EventLevel, str]] = []
        if self.pause:
            out.append((self.pause, EventLevel.WARN, "pause"))
        if not self.moved or self.before is None or self.ours:
            return out
        if self.owned:  # Argo Rollouts moves the weights step by step: expected, not a warning
            text = f"{router_kind} moved the weights: {self.before} -> {self.after}"
            out.append((text, EventLevel.INFO, "weights"))
        else:
            text = f"weights changed outside monotui: {self.before} -> {self.after}"
            out.append((text, EventLevel.WARN, "weights"))
        return out


@dataclass(frozen=True, slots=True)
class Known:
    """A consistent copy of what the rollout knows, for one snapshot or one action."""

    plan: Plan
    route: RouteState | None
    flagset: FlagSet | None
    step_since: float | None
    """When the current weight was reached (or first seen); None before the first route read."""
    run_since: float | None
    """When the canary last started taking traffic (a 0 -> >0 move monotui saw); None when it
    already had traffic when monotui first looked (the judge reads the start from the samples)."""
    step_started: bool
    """Whether monotui saw the current weight being reached (else step_since is when it first
    saw it)."""
    weight_changes: tuple[tuple[float, Weights], ...]


class RolloutState:
    """Thread-safe shared knowledge of one rollout."""

    def __init__(self, steps: tuple[int, ...], kill_switches: tuple[str, ...] = ()) -> None:
        self.kill_switches = frozenset(kill_switches)
        self._lock = threading.RLock()
        self.router_lock = threading.Lock()
        """Held around every router call, so a key press never races a read."""
        self._plan = plans.start(steps)
        self._route: RouteState | None = None
        self._flagset: FlagSet | None = None
        self._step_since: float | None = None
        self._run_since: float | None = None
        self._step_started = False
        self._weight_changes: tuple[tuple[float, Weights], ...] = ()
        self._ours: OrderedDict[str, None] = OrderedDict()

    def known(self) -> Known:
        with self._lock:
            return Known(
                self._plan,
                self._route,
                self._flagset,
                self._step_since,
                self._run_since,
                self._step_started,
                self._weight_changes,
            )

    @property
    def plan(self) -> Plan:
        with self._lock:
            return self._plan

    @property
    def route(self) -> RouteState | None:
        with self._lock:
            return self._route

    @property
    def flagset(self) -> FlagSet | None:
        with self._lock:
            return self._flagset

    # --- what was read -------------------------------------------------------------------------

    def saw_route(self, state: RouteState, now: float) -> RouteNews:
        """A read or the watch saw the route: follow its weights, steps and stored pause."""
        with self._lock:
            before = self._route.weights if self._route else None
            was = self._route.pause if self._route else None
            self._route = state
            if state.progress is not None:  # a StepRouter owns the steps, phase and pause
                self._plan = _owned_plan(state.progress, state.weights)
            pause, paused, by = self._follow_pause(was, state)
            moved = before != state.weights
            if moved:
                if state.progress is None:
                    self._plan = plans.observe(self._plan, state.weights.canary)
                self._weight_moved(now, before, state.weights)
            ours = state.version in self._ours
        return RouteNews(
            before, state.weights, moved, ours, state.progress is not None, pause, paused, by
        )

    def saw_flags(self, flagset: FlagSet, now: float) -> FlagSet | None:
        """The flags as read; returns the previous read (None the first time). A kill switch
        whose value changed turned the canary's new code path on or off: it is another canary
        now, so its evidence starts again (the run restarts)."""
        with self._lock:
            previous, self._flagset = self._flagset, flagset
            if previous is not None and self.kill_switches:
                before = {f.key: (f.state, f.value) for f in previous.flags}
                for flag in flagset.flags:
                    if flag.key in self.kill_switches and before.get(flag.key) not in (
                        None,
                        (flag.state, flag.value),
                    ):
                        self._run_since = now
            return previous

    # --- what we wrote -------------------------------------------------------------------------

    def wrote_route(self, state: RouteState, now: float, plan: Plan | None = None) -> None:
        """Our own write came back as `state` (its version is ours); `plan` is what the action
        asked for, kept at the weight the router now reports."""
        with self._lock:
            self._remember(state.version)
            before = self._route.weights if self._route else None
            moved = before != state.weights
            self._route = state
            if plan is not None:
                self._plan = Plan(
                    plan.steps, state.weights.canary, phase=plan.phase, paused=plan.paused
                )
                stored = state.pause
                if stored is not None and stored.paused != self._plan.paused:
                    # A stored pause outlives a rollback or promote: only a resume lifts it.
                    self._plan = (
                        plans.pause(self._plan) if stored.paused else plans.resume(self._plan)
                    )
            elif state.progress is not None:
                self._plan = _owned_plan(state.progress, state.weights)
            if moved:
                self._weight_moved(now, before, state.weights)

    def wrote_pause(self, state: RouteState, paused: bool) -> None:
        """Our own pause or resume stored with the route came back as `state`."""
        with self._lock:
            self._remember(state.version)
            self._route = state
            self._plan = plans.pause(self._plan) if paused else plans.resume(self._plan)

    def set_paused(self, paused: bool) -> bool:
        """The automation pause in this process only (a router that cannot store it); returns
        whether it was already so."""
        with self._lock:
            was = self._plan.paused
            self._plan = plans.pause(self._plan) if paused else plans.resume(self._plan)
            return was == paused

    def resume_step(self, canary_pct: int, since: float) -> bool:
        """Another process saw the current step begin at `since` (its autopilot held the Lease
        then): taken if the route is at `canary_pct` now. Returns whether it was."""
        with self._lock:
            if self._route is None or self._route.weights.canary != canary_pct:
                return False
            self._step_since = since
            self._step_started = True
            return True

    def observe_plan(self, canary_pct: int) -> Plan:
        """The plan at `canary_pct` (before the first route read reached us), kept."""
        with self._lock:
            self._plan = plans.observe(self._plan, canary_pct)
            return self._plan

    # --- internals -----------------------------------------------------------------------------

    def _remember(self, version: str) -> None:
        self._ours[version] = None
        self._ours.move_to_end(version)
        while len(self._ours) > OWN_VERSIONS:
            self._ours.popitem(last=False)

    def _weight_moved(self, now: float, before: Weights | None, weights: Weights) -> None:
        self._weight_changes = (*self._weight_changes, (now, weights))[-MAX_MARKS:]
        self._step_since = now
        self._step_started = before is not None
        if before is not None and before.canary == 0 and weights.canary > 0:
            self._run_since = now  # a new run of canary traffic: its evidence starts here

    def _follow_pause(self, was: object, state: RouteState) -> tuple[str, bool, str]:
        """The plan's pause follows the pause stored with the route (when the router stores
        one); returns (the sentence when it changed elsewhere, paused, by)."""
        stored = state.pause
        if stored is None or state.progress is not None:
            return "", False, ""  # in memory only (kind none), or the StepRouter's own (Argo)
        if self._plan.paused != stored.paused:
            self._plan = plans.pause(self._plan) if stored.paused else plans.resume(self._plan)
        before = getattr(was, "paused", False)
        if before == stored.paused:
            return "", stored.paused, stored.by  # unchanged, or our own write (stored first)
        if stored.paused:
            return (
                f"automation paused elsewhere: {stored.by or 'nobody said why'}",
                True,
                stored.by,
            )
        return "automation resumed elsewhere", False, ""


def _owned_plan(progress: StepStatus, weights: Weights) -> Plan:
    """The plan as a StepRouter reports it: its steps, phase and pause, at the weight read."""
    return Plan(progress.steps, weights.canary, phase=progress.phase, paused=progress.paused)
