"""The observer of one rollout: reads its sources, ages their health, notices changes made
elsewhere, judges, and produces the immutable Snapshot. It has no way to write: it holds only the
reading half of the router and of the flag source (`RouteReader`, `FlagReader`).

`monotui status` runs an observer alone; the cockpit and the autopilot run it beside an actuator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from monotui import wording
from monotui.config import RolloutConfig, duration_s
from monotui.errors import MonotuiError, SourceError
from monotui.judge import Judge, judge_alone
from monotui.judge.probes import ProbeTally, with_probes
from monotui.metrics import metrics_for, specs
from monotui.model import (
    Event,
    EventLevel,
    Flag,
    OutsideChange,
    Sample,
    Snapshot,
    SourceState,
    Synthetics,
    Verdict,
    VerdictChanged,
    VerdictResult,
)
from monotui.model.split_check import split_disagreement
from monotui.rollout.health import SourceHealth
from monotui.rollout.readers import Display, FlagReader, RouteReader
from monotui.rollout.reading import NOT_JUDGED, NOT_YET, Reading
from monotui.rollout.state import Known, RolloutState, RouteNews
from monotui.rollout.synthetics import SyntheticsReader
from monotui.rollout.told import Told
from monotui.sources.base import (
    MetricsSource,
    NothingNewYet,
    RouteState,
)

MAX_SAMPLES = 1800
MAX_MARKS = 100
NO_METRICS = 'no metrics to judge: [rollouts.metrics] kind is "none"'
HISTORY_POINTS = 300


def history_points(span_s: float, interval_s: float) -> int:
    """The samples a history over `span_s` is read in: one per poll interval (the judge's counts
    tile time), a few hundred at most for a long span; a range query holds at most 11,000."""
    return int(min(11_000, max(HISTORY_POINTS, span_s / interval_s)))


class Observer:
    """Reads one rollout into Snapshots. Thread-safe; one observation runs at a time."""

    def __init__(
        self,
        config: RolloutConfig,
        *,
        state: RolloutState,
        router: RouteReader,
        metrics: MetricsSource | None,
        flags: FlagReader | None,
        judge: Judge | None,
        clock: Callable[[], float],
        told: Told,
        health: SourceHealth,
        display: Display,
        synthetics: SyntheticsReader | None = None,
    ) -> None:
        self.config = config
        self.state = state
        self.router = router
        self.metrics = metrics
        self.flags = flags
        self._judge_made = judge  # None: judge_for(config), made at the first judgement
        self._specs = specs(judge.metrics if judge is not None else metrics_for(config.judge))
        self._window_s = duration_s(config.metrics.window)
        self.clock = clock
        self.told = told
        self.health = health
        self.display = display
        self.synthetics = synthetics
        self._tallies: tuple[ProbeTally, ...] = ()
        self._lock = threading.RLock()
        self._observing = threading.Lock()
        self._samples: tuple[Sample, ...] = ()
        self._counted_until: float | None = None  # the end of the newest counted span
        self._verdict = Verdict.no_data("no samples yet")
        self._verdict_changes: tuple[tuple[float, VerdictResult], ...] = ()
        self._judged = False  # the judge has spoken at least once
        self._split_off = False  # the traffic did not follow the route at the last observation
        self._stop_watch: Callable[[], None] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def judge(self) -> Judge:
        """The rollout's judge, made when first needed: its tests take a few milliseconds each
        to set up, and a fleet's first frame need not wait for hundreds of them."""
        with self._lock:
            if self._judge_made is None:
                self._judge_made = judge_for(self.config)
            return self._judge_made

    # --- reading -------------------------------------------------------------------------------

    def start(
        self, *, history: bool = True, watch: bool = True, span_s: float | None = None
    ) -> Snapshot:
        """Fill the charts (and the judge's evidence) from the metrics history over `span_s`
        (default `history_s`), read everything once, judge, follow the route (`watch`)."""
        return self.conclude(self.read_start(history=history, watch=watch, span_s=span_s))

    def read_start(
        self, *, history: bool = True, watch: bool = True, span_s: float | None = None
    ) -> Reading:
        """`start` up to its judgement: the history, every source read once, the route
        followed; `conclude` judges it (or `conclude_together` with others).

        A history that was counted up to less than one interval ago is the current reading: the
        metrics are not read again over the few milliseconds since (an increase() that short
        has no samples in it, and would say NO DATA until the next poll)."""
        fresh = False
        if history and self.metrics is not None:
            span = span_s or self.config.metrics.history_s
            points = history_points(span, self.config.interval_s)
            try:
                past = self.metrics.history(span, points)
            except MonotuiError as exc:
                self.told.tell(Event, f"metrics history unavailable: {exc}", EventLevel.WARN)
            else:
                self.health.ok("metrics")  # it answered; its newest sample is as fresh as a poll
                with self._lock:
                    self._samples = tuple(past)[-MAX_SAMPLES:]
                    counted = [s.t for s in self._samples if s.baseline.requests is not None]
                    self._counted_until = counted[-1] if counted else None
                    newest = self._samples[-1] if self._samples else None
                fresh = (
                    newest is not None
                    and newest.baseline.requests is not None
                    and self.clock() - newest.t < self.config.interval_s
                )
                if fresh:
                    self.health.ok("metrics")
        reading = self.read(metrics=not fresh)
        if watch and self._stop_watch is None:
            try:
                self._stop_watch = self.router.watch(self._watched, self.watch_failed)
            except MonotuiError as exc:
                self.watch_failed(exc)
        return reading

    def preview(self) -> Snapshot:
        """A first look before `start`: the route, this poll's counts and the flags, without
        the history, the judge, the probes or the watch, so that a fleet's first frame shows
        every rollout while the histories are read. Its snapshots say they are not judged yet
        (`judging`) until `start`, which follows it, judges as it would have."""
        with self._observing:
            self._read_route()
            self._read_metrics()
            self._read_flags()
            with self._lock:
                if not self._judged:
                    why = NOT_JUDGED + (": reading the metrics history" if self.metrics else "")
                    self._verdict = Verdict.no_data(why)
        return self.snapshot()

    def observe(self, *, metrics: bool = True) -> Snapshot:
        """Read every source (the metrics too unless `metrics` is False) and judge; returns the
        new snapshot."""
        return self.conclude(self.read(metrics=metrics))

    def read(self, *, metrics: bool = True) -> Reading:
        """`observe` up to its judgement, prepared (monotui.judge.Judge.prepare): `conclude`
        must follow before this rollout is read again."""
        with self._observing:
            self._read_route()
            if metrics:
                self._read_metrics()
            self._read_flags()
            self._read_synthetics()
            return self._prepare()

    def conclude(self, reading: Reading, verdict: Verdict | None = None) -> Snapshot:
        """Judge a reading and return the new snapshot. `verdict`: its judgement already
        finished with other rollouts' (`conclude_together`); else it is judged here, alone."""
        if verdict is None:
            pending = reading.pending
            verdict = reading.verdict if pending is None else judge_alone(pending)
        with self._observing:
            self._record(reading.at, verdict)
        snapshot = self.snapshot()
        self._tell_split(snapshot)
        return snapshot

    def _tell_split(self, snapshot: Snapshot) -> None:
        """An event when the traffic stops or starts following the route again (the panels say
        it while it lasts; the event log, notifications and the audit trail keep when)."""
        off = snapshot.split_disagreement
        if (off is not None) == self._split_off:
            return
        self._split_off = off is not None
        if off is not None:
            self.told.tell(OutsideChange, off.text, EventLevel.WARN, what="traffic")
        else:
            self.told.tell(OutsideChange, "traffic follows the route again", what="traffic")

    def route_seen(self, state: RouteState) -> None:
        """A read, the watch or an action's re-read saw the route: record it, tell what changed."""
        self.tell_route_news(self.state.saw_route(state, self.clock()))

    def tell_route_news(self, news: RouteNews) -> None:
        for text, level, what in news.lines(self.router.kind):
            self.told.tell(OutsideChange, text, level, what=what)

    def watch_failed(self, exc: MonotuiError) -> None:
        """Following the route failed (it is retried): a source problem, shown as "watch"."""
        self.health.failed("watch", exc)

    def _watched(self, state: RouteState) -> None:
        self.health.ok("watch")
        self.route_seen(state)

    def _read_route(self) -> None:
        try:
            with self.state.router_lock:
                state = self.router.read()
        except MonotuiError as exc:
            self.health.failed("router", exc)
            return
        self.health.ok("router", state.progress.message if state.progress else "")
        self.route_seen(state)

    def _read_metrics(self) -> None:
        if self.metrics is None:
            return
        with self._lock:
            since = self._counted_until
        if since is not None and self.clock() - since < self.config.interval_s / 2:
            return  # counted moments ago (the history ends now): a sliver would read as a gap
        try:
            sample = self.metrics.fetch(since)
        except NothingNewYet:
            # Fewer than two scrapes since the last count: nothing new is known, which is not
            # "no data". The source proved it answers; the samples and the verdict stand.
            self.health.ok("metrics")
            return
        except MonotuiError as exc:
            self.health.failed("metrics", exc)
            sample = Sample(t=self.clock())  # a gap in the charts, never a zero
        else:
            self.health.ok("metrics")
        with self._lock:
            self._samples = (*self._samples, sample)[-MAX_SAMPLES:]
            if sample.baseline.requests is not None or self._counted_until is None:
                # Counted up to here; a gap keeps the start, so the next increase covers it
                # (and a first poll without data starts the count there).
                self._counted_until = sample.t

    def _read_flags(self) -> None:
        if self.flags is None:
            return
        try:
            flagset = self.flags.read()
        except MonotuiError as exc:
            self.health.failed("flags", exc)
            return
        self.health.ok("flags", "; ".join(flagset.errors))
        previous = self.state.saw_flags(flagset, self.clock())
        if previous is not None and previous.version != flagset.version:
            changed = wording.changed_flags(previous.flags, flagset.flags)
            if changed:
                self.told.tell(OutsideChange, f"flags changed: {changed}", what="flags")

    def _read_synthetics(self) -> None:
        """Run (or read) every probe once; their health is one source, "synthetics"."""
        if self.synthetics is None:
            return
        route, flagset = self.state.route, self.state.flagset
        reachable = route.track_routes if route is not None else frozenset()
        off = frozenset(
            f.key
            for f in (flagset.flags if flagset is not None else ())
            if f.state.upper() != "ENABLED" or f.value in (False, None, "off")
        )
        tallies, problems = self.synthetics.read(self.clock(), reachable, off)
        with self._lock:
            self._tallies = tallies
        if problems:
            self.health.failed("synthetics", SourceError(problems))
        else:
            self.health.ok("synthetics")

    def _prepare(self) -> Reading:
        """The judgement of what was just read, up to the judge's arithmetic (or the verdict
        itself when the metrics failed: no judge needed)."""
        now = self.clock()
        metrics = self.health.get("metrics")
        with self._lock:
            tallies, self._tallies = self._tallies, ()
            why = ""
            if self.metrics is None:
                why = NO_METRICS
            elif metrics is None or metrics.state != SourceState.OK:
                state = f"{metrics.state.value}: {metrics.message}" if metrics else "no answer yet"
                why = f"metrics {state}"
            if why:
                probes = self.judge.probes.judge(tallies, run_since=self.state.known().run_since)
                return Reading(now, with_probes(Verdict.no_data(why), probes))
            known = self.state.known()
            pending = self.judge.prepare(
                self._samples,
                run_since=known.run_since,
                # A step monotui only saw, not saw start, started before it looked: judge
                # the whole run as this step (what status and a fresh cockpit know).
                step_since=known.step_since if known.step_started else None,
                # None: the route was never read, so its weights are unknown.
                canary_expected=None if known.route is None else known.route.weights.canary > 0,
                probes=tallies,
            )
        return Reading(now, NOT_YET, pending)

    def _record(self, now: float, verdict: Verdict) -> None:
        """The new verdict, its change marked and told."""
        with self._lock:
            previous, self._verdict = self._verdict, verdict
            self._judged = True
            if previous.result != verdict.result:
                marks = (*self._verdict_changes, (now, verdict.result))
                self._verdict_changes = marks[-MAX_MARKS:]
        if previous.result != verdict.result:
            level = EventLevel.ERROR if verdict.result == VerdictResult.FAIL else EventLevel.INFO
            self.told.tell(
                VerdictChanged,
                f"verdict {verdict.result.value}: {verdict.reason}",
                level,
                before=previous.result,
                verdict=verdict,
            )

    # --- output --------------------------------------------------------------------------------

    @property
    def verdict(self) -> Verdict:
        with self._lock:
            return self._verdict

    def snapshot(self) -> Snapshot:
        """An immutable picture of the rollout now (no I/O)."""
        now = self.clock()
        known = self.state.known()
        with self._lock:
            samples, verdict, marks = self._samples, self._verdict, self._verdict_changes
            judging = not self._judged
        flags: tuple[Flag, ...] = known.flagset.flags if known.flagset else ()
        newest = next((x.t for x in reversed(samples) if x.has_data), None)
        d = self.display
        weights = known.route.weights if known.route else None
        window_s = self._window_s
        return Snapshot(
            rollout=self.name,
            namespace=self.config.namespace,
            context=d.context,
            backend=self.router.kind,
            t=now,
            plan=known.plan,
            weights=weights,
            samples=samples,
            verdict=verdict,
            flags=flags,
            events=self.told.recent(),
            sources=self.health.all(),
            metrics=self._specs,
            window_s=window_s,
            policy=d.policy,
            read_only=d.read_only,
            dry_run=d.dry_run,
            hold_s=self.config.hold_s,
            step_since=known.step_since,
            run_since=known.run_since,
            weight_changes=known.weight_changes,
            verdict_changes=marks,
            kill_switches=tuple(self.config.flags.kill_switches),
            next_action=self._next_action(known, verdict),
            newest_data_t=newest,
            synthetics=self._synthetics(now),
            judging=judging,
            split_disagreement=split_disagreement(
                weights, samples, step_since=known.step_since, window_s=window_s
            ),
        )

    def _synthetics(self, now: float) -> Synthetics:
        if self.synthetics is None:
            return Synthetics()
        return self.synthetics.synthetics(now, self.judge.probes.last)

    def _next_action(self, known: Known, verdict: Verdict) -> str:
        """What the next key does: the router's word when its owner steps by itself."""
        progress = known.route.progress if known.route else None
        if progress is not None and progress.next_action and not self.display.read_only:
            return progress.next_action
        return wording.next_action(known.plan, verdict, self.display.policy, self.display.read_only)

    def close(self) -> None:
        """Stop following the route and release the sources' connections."""
        if self._stop_watch is not None:
            self._stop_watch()
            self._stop_watch = None
        if self.synthetics is not None:
            self.synthetics.close()


def judge_for(config: RolloutConfig) -> Judge:
    """The judge of one rollout: its metrics, its settings, its metrics window."""
    metrics = metrics_for(config.judge)
    return Judge(metrics, config.judge, window_s=duration_s(config.metrics.window))
