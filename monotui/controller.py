"""One rollout: polls its sources, judges, applies the policy and actions, keeps the audit trail.

The controller is synchronous and thread-safe; the TUI calls it from worker threads and the CLI calls
it directly, so scripts and keys share one code path. Every poll produces a new immutable Snapshot.
Router calls are serialised by one lock (a key press never races a read); state is guarded by another
that is only held for bookkeeping, never across I/O.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from monotui import plan as plans
from monotui import policy, wording
from monotui.actions import MAX_MARKS, ActionsMixin
from monotui.audit import AuditLog
from monotui.config import RolloutConfig, duration_s
from monotui.errors import MonotuiError, StaleDataError
from monotui.judge import Judge
from monotui.model import (
    Action,
    ActionKind,
    Event,
    EventLevel,
    Flag,
    Phase,
    Plan,
    Sample,
    Snapshot,
    SourceState,
    SourceStatus,
    Verdict,
    VerdictResult,
    Weights,
)
from monotui.sources.base import (
    FlagSet,
    FlagSource,
    MetricsSource,
    Router,
    RouteState,
    StepStatus,
    StoredPause,
)

Clock = Callable[[], float]

MAX_SAMPLES = 1800
MAX_EVENTS = 200


@dataclass
class _State:
    """Mutable bookkeeping, only touched under the controller's state lock."""

    plan: Plan
    route: RouteState | None = None
    flagset: FlagSet | None = None
    samples: tuple[Sample, ...] = ()
    events: tuple[Event, ...] = ()
    verdict: Verdict = field(default_factory=lambda: Verdict.no_data("no samples yet"))
    policy: policy.PolicyState = field(default_factory=policy.PolicyState)
    sources: dict[str, SourceStatus] = field(default_factory=dict)
    last_ok: dict[str, float] = field(default_factory=dict)
    weight_changes: tuple[tuple[float, Weights], ...] = ()
    verdict_changes: tuple[tuple[float, VerdictResult], ...] = ()
    our_versions: frozenset[str] = frozenset()


class Controller(ActionsMixin):
    """Drives one rollout. Safe to call from several threads."""

    def __init__(
        self,
        config: RolloutConfig,
        *,
        router: Router,
        metrics: MetricsSource | None = None,
        flags: FlagSource | None = None,
        audit: AuditLog | None = None,
        clock: Clock = time.time,
        judge: Judge | None = None,
        read_only: bool = False,
        dry_run: bool = False,
        context: str = "",
        policy_name: str | None = None,
        kube_user: str = "",
    ) -> None:
        self.config = config
        self.router = router
        self.metrics = metrics
        self.flags = flags
        self.audit = audit or AuditLog(None)
        self.clock = clock
        self.judge = judge or Judge(config.judge, window_s=duration_s(config.metrics.window))
        self.read_only = read_only
        self.dry_run = dry_run
        self.context = context
        self.kube_user = kube_user
        self.policy_name = policy_name or config.policy
        self._state = _State(plan=plans.start(config.steps))
        self._state_lock = threading.RLock()
        self._route_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop_watch: Callable[[], None] | None = None
        self.listeners: list[Callable[[], None]] = []

    @property
    def name(self) -> str:
        return self.config.name

    # --- polling -------------------------------------------------------------------------------

    def start(self, *, history: bool = True) -> Snapshot:
        """First poll: fill the charts from the metrics history, then read everything once."""
        if history and self.metrics is not None:
            try:
                past = self.metrics.history(self.config.metrics.history_s, 300)
            except MonotuiError as exc:
                self._event(f"metrics history unavailable: {exc}", EventLevel.WARN, "source")
            else:
                with self._state_lock:
                    self._state.samples = tuple(past)[-MAX_SAMPLES:]
        snapshot = self.poll()
        if self._stop_watch is None:  # a watch only reads: read-only sessions follow too
            try:
                self._stop_watch = self.router.watch(self._route_changed)
            except MonotuiError as exc:
                self._event(f"cannot watch the route: {exc}", EventLevel.WARN, "source")
        return snapshot

    def close(self) -> None:
        if self._stop_watch is not None:
            self._stop_watch()
            self._stop_watch = None

    def poll(self) -> Snapshot:
        """Read every source, judge, apply the policy; returns the new snapshot."""
        with self._poll_lock:
            self._read_route()
            self._read_metrics()
            self._read_flags()
            self._judge()
            decision = self._decide()
        if decision is not None:
            self.apply(
                Action(decision.kind, self.name, origin="automation", reason=decision.reason)
            )
        return self.snapshot()

    def _read_route(self) -> None:
        try:
            with self._route_lock:
                state = self.router.read()
        except MonotuiError as exc:
            self._source_failed("router", exc)
            return
        self._source_ok("router", state.progress.message if state.progress else "")
        self._route_changed(state)

    def _route_changed(self, state: RouteState) -> None:
        """A read or the watch saw the route; note changes we did not make."""
        now = self.clock()
        with self._state_lock:
            s = self._state
            before = s.route.weights if s.route else None
            was = s.route.pause if s.route else None
            s.route = state
            if state.progress is not None:  # a StepRouter owns the steps, phase and pause
                s.plan = _owned_plan(state.progress, state.weights)
            news = self._follow_pause(was, state)
            moved = before != state.weights
            if moved:
                if state.progress is None:
                    s.plan = plans.observe(s.plan, state.weights.canary)
                s.weight_changes = (*s.weight_changes, (now, state.weights))[-MAX_MARKS:]
                s.policy = policy.reached_step(s.policy, now)
            ours = state.version in s.our_versions
        if news:
            self._event(news, EventLevel.WARN, "outside")
        if not moved:
            return
        if before is not None and not ours and state.progress is not None:
            # Argo Rollouts moves the weights itself, step by step: expected, not a warning.
            self._event(
                f"{self.router.kind} moved the weights: {before} -> {state.weights}",
                EventLevel.INFO,
                "outside",
            )
        elif before is not None and not ours:
            self._event(
                f"weights changed outside monotui: {before} -> {state.weights}",
                EventLevel.WARN,
                "outside",
            )

    def _follow_pause(self, was: StoredPause | None, state: RouteState) -> str:
        """The plan's pause follows the pause stored with the route (when the router stores one);
        returns the event to tell when it changed elsewhere, else "". Holds the state lock."""
        s = self._state
        stored = state.pause
        if stored is None or state.progress is not None:
            return ""  # in memory only (kind none), or owned by the StepRouter (Argo spec.paused)
        if s.plan.paused != stored.paused:
            s.plan = plans.pause(s.plan) if stored.paused else plans.resume(s.plan)
        if (was.paused if was else False) == stored.paused:
            return ""  # unchanged, or our own write (the action stored it before this read)
        if stored.paused:
            return f"automation paused elsewhere: {stored.by or 'nobody said why'}"
        return "automation resumed elsewhere"

    def _read_metrics(self) -> None:
        if self.metrics is None:
            return
        try:
            sample = self.metrics.fetch()
        except MonotuiError as exc:
            self._source_failed("metrics", exc)
            sample = Sample(t=self.clock())  # a gap in the charts, never a zero
        else:
            self._source_ok("metrics")
        with self._state_lock:
            self._state.samples = (*self._state.samples, sample)[-MAX_SAMPLES:]

    def _read_flags(self, *, ours: bool = False) -> None:
        """Read the flags; a change we did not make (`ours` False) becomes an event."""
        if self.flags is None:
            return
        try:
            flagset = self.flags.read()
        except MonotuiError as exc:
            self._source_failed("flags", exc)
            return
        self._source_ok("flags", "; ".join(flagset.errors))
        with self._state_lock:
            previous = self._state.flagset
            self._state.flagset = flagset
        if not ours and previous is not None and previous.version != flagset.version:
            changed = wording.changed_flags(previous.flags, flagset.flags)
            if changed:
                self._event(f"flags changed: {changed}", EventLevel.INFO, "outside")

    def _judge(self) -> None:
        now = self.clock()
        with self._state_lock:
            s = self._state
            metrics_ok = (
                self.metrics is None or s.sources.get("metrics", _OK).state == SourceState.OK
            )
            verdict = (
                self.judge.judge(s.samples, since=s.policy.step_since + self.judge.window_s)
                if metrics_ok
                else Verdict.no_data(
                    f"metrics {s.sources['metrics'].state.value}: {s.sources['metrics'].message}"
                )
            )
            previous = s.verdict
            s.verdict = verdict
            s.policy = policy.observe(s.policy, verdict, now, fresh_after_s=self.judge.window_s)
            if previous.result != verdict.result:
                s.verdict_changes = (*s.verdict_changes, (now, verdict.result))[-MAX_MARKS:]
        if previous.result != verdict.result:
            level = EventLevel.ERROR if verdict.result == VerdictResult.FAIL else EventLevel.INFO
            self._event(f"verdict {verdict.result.value}: {verdict.reason}", level, "verdict")

    def _decide(self) -> policy.Decision | None:
        if self.policy_name != "auto" or self.read_only:
            return None
        with self._state_lock:
            s = self._state
            decision = policy.decide(
                s.policy,
                s.verdict,
                s.plan,
                self.clock(),
                hold_s=self.config.hold_s,
                cfg=self.config.judge,
            )
            owner_busy = (
                s.route is not None
                and s.route.progress is not None
                and s.route.progress.phase != Phase.PAUSED
            )
        if decision is not None and decision.kind == ActionKind.ADVANCE and owner_busy:
            # Argo Rollouts is mid-step (a timed pause, an analysis): promoting now would skip
            # its work. The judge gates only the pauses that wait for a human.
            return None
        return decision

    def _source_ok(self, name: str, message: str = "") -> None:
        with self._state_lock:
            self._state.last_ok[name] = self.clock()
            self._state.sources[name] = SourceStatus(name, SourceState.OK, message, 0.0)

    def _source_failed(self, name: str, exc: MonotuiError) -> None:
        """STALE while the last good answer is younger than two intervals, then ERROR."""
        now = self.clock()
        with self._state_lock:
            previous = self._state.sources.get(name)
            last = self._state.last_ok.get(name)
            age = None if last is None else now - last
            stale = age is not None and age <= 2 * self.config.interval_s
            if isinstance(exc, StaleDataError):  # it answered, with old data: STALE, its age
                stale, age = True, exc.age_s
            state = SourceState.STALE if stale else SourceState.ERROR
            self._state.sources[name] = SourceStatus(name, state, str(exc), age, exc.exit_code)
        if previous is None or previous.state == SourceState.OK or previous.message != str(exc):
            self._event(f"{name}: {exc}", EventLevel.ERROR, "source")

    # --- output --------------------------------------------------------------------------------

    def _event(self, text: str, level: EventLevel, kind: str) -> None:
        event = Event(self.clock(), self.name, text, level, kind)
        with self._state_lock:
            self._state.events = (*self._state.events, event)[-MAX_EVENTS:]
        for listener in list(self.listeners):
            listener()

    def events(self) -> tuple[Event, ...]:
        with self._state_lock:
            return self._state.events

    def snapshot(self) -> Snapshot:
        """An immutable picture of the rollout now."""
        now = self.clock()
        with self._state_lock:
            s = self._state
            flags: tuple[Flag, ...] = s.flagset.flags if s.flagset else ()
            sources = tuple(
                _aged(st, s.last_ok.get(st.name), now, self.config.interval_s)
                for st in s.sources.values()
            )
            newest = next(
                (
                    x.t
                    for x in reversed(s.samples)
                    if x.error_rate.canary is not None or x.error_rate.baseline is not None
                ),
                None,
            )
            snap = Snapshot(
                rollout=self.name,
                namespace=self.config.namespace,
                context=self.context,
                backend=self.router.kind,
                t=now,
                plan=s.plan,
                weights=s.route.weights if s.route else None,
                samples=s.samples,
                verdict=s.verdict,
                flags=flags,
                events=s.events,
                sources=sources,
                policy=self.policy_name,
                read_only=self.read_only,
                dry_run=self.dry_run,
                hold_s=self.config.hold_s,
                hold_elapsed_s=policy.hold_elapsed(s.policy, now),
                error_threshold=self.config.judge.max_error_rate,
                weight_changes=s.weight_changes,
                verdict_changes=s.verdict_changes,
                kill_switches=tuple(self.config.flags.kill_switches),
                next_action=wording.next_action(
                    s.plan, s.verdict, self.policy_name, self.read_only
                ),
                newest_data_t=newest,
            )
        return snap


_OK = SourceStatus("ok", SourceState.OK)


def _owned_plan(progress: StepStatus, weights: Weights) -> Plan:
    """The plan as a StepRouter reports it: its steps, phase and pause, at the weight read."""
    return Plan(progress.steps, weights.canary, phase=progress.phase, paused=progress.paused)


def _aged(
    status: SourceStatus, last_ok: float | None, now: float, interval_s: float
) -> SourceStatus:
    """An OK source whose last answer is older than two intervals is STALE."""
    if status.state != SourceState.OK or last_ok is None:
        return status
    age = now - last_ok
    if age > 2 * interval_s:
        return SourceStatus(status.name, SourceState.STALE, f"no answer for {age:.0f}s", age)
    return replace(status, age_s=age)
