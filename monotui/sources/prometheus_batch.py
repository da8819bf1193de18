"""The query batcher of one Prometheus: the rollouts that share a count template (the defaults)
read their counts with one query per count per poll, whatever their number, split back per
rollout by namespace and service.

Rollouts `join` a group (their version label and selector: what the batched query cannot tell
apart). A poll of any member at span (since, now] starts a *tick*: one query per count for every
member of the group, evaluated at that member's `now`. The other members' polls within the same
tick (the same `since`, within `ttl_s` of it starting) wait for its answer instead of asking,
and each takes its own series out: their samples are evaluated at the tick's time, so
consecutive polls still tile time exactly. A member whose span differs (its previous poll
failed, or its interval is another) starts its own tick. A failed tick fails every member that
shared it, once: one broken Prometheus costs three queries a poll, not three per rollout.

History at start is batched the same way (one range query per count for the group).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from monotui.sources.prometheus_api import Series
from monotui.sources.promql import COUNT_TEMPLATES, interval_text
from monotui.sources.promql_batch import (
    RECORDED_VERSION_LABELS,
    Member,
    batched_template,
    recorded,
    render_batch,
    split,
)


class Sender(Protocol):
    """What the batcher sends its queries through (a SharedPrometheus)."""

    def instant(self, query: str, at: float, what: str) -> list[Series]: ...

    def range(
        self, query: str, start: float, end: float, step_s: float, what: str
    ) -> list[Series]: ...

    def all(
        self, ask: Callable[[str, str], list[Series]], queries: Mapping[str, str]
    ) -> dict[str, list[Series]]: ...

    def recording_rules(self, at: float) -> bool: ...


MAX_POINTS = 400_000
"""Points (series x steps) one batched range answer may hold: some 15 MB of JSON, well within
the 32 MB a Prometheus answer may be."""
BUCKETS_ASSUMED = 21
"""Duration buckets per version when sizing chunks: Istio's default histogram has 20 and +Inf."""

Answers = dict[str, list[Series]]
"""Query name (requests, errors, latency_buckets) -> series."""
_Split = dict[str, dict[tuple[str, str], list[Series]]]


@dataclass(frozen=True, slots=True)
class Group:
    """What the rollouts of one batch share besides the template: the label that tells their
    versions apart and the extra matchers of `[rollouts.metrics] selector`."""

    version_label: str
    selector: str = ""


@functools.cache
def batchable(name: str) -> str | None:
    """The batched template of count `name`, None when it cannot be batched (the templates are
    constants: worked out once, not for each of a fleet's rollouts and polls)."""
    template = COUNT_TEMPLATES.get(name)
    return None if template is None else batched_template(template)


@dataclass
class _Tick:
    """One batched evaluation: at `t` over `span`, answered once, taken by each member once."""

    t: float
    span: float
    born: float
    since: float | None = None
    """Where an instant tick's span starts (None: over `span` before `t`)."""
    result: Future[_Split] = field(default_factory=Future)
    taken: set[tuple[str, str]] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Instant:
    """A member's share of a tick: the evaluation time, the span and its own series."""

    t: float
    span: float
    answers: Answers
    earliest: float | None = None
    """The earliest evaluation time among the answers (a bridge's), None: `t`."""


@dataclass(frozen=True, slots=True)
class Range:
    """A member's share of a history tick: the grid and its own series."""

    start: float
    end: float
    step: float
    answers: Answers


class QueryBatcher:
    """Batches the count queries of the rollouts on one Prometheus. Thread-safe."""

    def __init__(
        self,
        shared: Sender,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        min_span_s: float = 0.0,
    ):
        """`min_span_s`: the shortest span increase() counts on this Prometheus (two scrapes);
        a member is not bridged over less (a bridge with no series would drop its span)."""
        self.shared = shared
        self.min_span_s = min_span_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._members: dict[Group, dict[tuple[str, str], tuple[Member, frozenset[str]]]] = {}
        self._ticks: dict[tuple[object, ...], _Tick] = {}
        self._newest: dict[Group, _Tick] = {}  # each group's newest instant tick

    def join(self, group: Group, member: Member, names: Sequence[str]) -> None:
        """`member` reads counts `names` (each batchable) in `group` from now on."""
        with self._lock:
            self._members.setdefault(group, {})[member.key] = (member, frozenset(names))

    def leave(self, group: Group, member: Member) -> None:
        with self._lock:
            self._members.get(group, {}).pop(member.key, None)

    def instant(
        self,
        group: Group,
        member: Member,
        *,
        since: float | None,
        now: float,
        span: float,
        ttl_s: float,
    ) -> Instant:
        """`member`'s counts over (since, now] (or over `span` before now when `since` is None),
        from the tick of the group that covers the same span; a member behind the group's
        newest tick catches up with it through a bridge (see `_bridge`). Raises the tick's
        error."""
        key: tuple[object, ...] = (
            "instant",
            group,
            None if since is None else round(since * 1000),
            None if since is not None else round(span * 1000),
        )
        with self._lock:
            own = self._ticks.get(key)
            joins_own = (
                own is not None
                and self._monotonic() - own.born <= ttl_s
                and member.key not in own.taken
            )
            newest = None if joins_own else self._catch_up(group, member, since, ttl_s)
        if newest is not None and since is not None:
            return self._bridge(group, member, since, newest, ttl_s)

        def new() -> _Tick:
            return _Tick(now, span, self._monotonic(), since=since)

        tick, mine = self._tick(key, member, ttl_s, new)
        if mine:
            with self._lock:
                self._newest[group] = tick
            self._answer(
                tick, group, lambda q, what: self.shared.instant(q, tick.t, what), tick.span
            )
        return Instant(tick.t, tick.span, self._share(tick, member))

    def _catch_up(
        self, group: Group, member: Member, since: float | None, ttl_s: float
    ) -> _Tick | None:
        """The group's newest tick when `member` is behind it and may join it through a bridge
        (taken for `member`); None otherwise. Called with the lock held."""
        newest = self._newest.get(group)
        if newest is None or since is None or newest.since is None:
            return None
        if self._monotonic() - newest.born > ttl_s or member.key in newest.taken:
            return None
        if not since < newest.since < newest.t:
            return None
        if newest.since - since < self.min_span_s:
            return None  # too short to count: the member counts its own whole span instead
        newest.taken.add(member.key)
        return newest

    def _bridge(
        self, group: Group, member: Member, since: float, newest: _Tick, ttl_s: float
    ) -> Instant:
        """A member whose last poll ended before the newest tick's span began (it came late
        once, or failed alone) counts (since, newest.since] with the others in the same case,
        then takes its share of the newest tick: its poll covers (since, newest.t] exactly, and
        from then on it polls with the rest of the group (cohorts merge instead of costing
        queries for good)."""
        assert newest.since is not None
        to = newest.since
        key: tuple[object, ...] = ("bridge", group, round(since * 1000), round(to * 1000))
        bridge, mine = self._tick(
            key, member, ttl_s, lambda: _Tick(to, to - since, self._monotonic(), since=since)
        )
        if mine:
            self._answer(
                bridge, group, lambda q, what: self.shared.instant(q, to, what), bridge.span
            )
        before, after = self._share(bridge, member), self._share(newest, member)
        both = {n: [*before.get(n, []), *after.get(n, [])] for n in {*before, *after}}
        return Instant(newest.t, newest.t - since, both, earliest=to)

    def range(
        self, group: Group, member: Member, *, step_ms: int, points: int, end_ms: int, ttl_s: float
    ) -> Range:
        """`member`'s history: `points` counts of `step_ms` each, ending at the group's tick."""
        key: tuple[object, ...] = ("range", group, step_ms, points)
        tick, mine = self._tick(
            key, member, ttl_s, lambda: _Tick(end_ms / 1000, step_ms / 1000, self._monotonic())
        )
        with self._lock:
            if self._ticks.get(key) is tick and tick.taken >= self._members.get(group, {}).keys():
                # Every member has its share: the fleet's history (some 100 MB of points at
                # N=300) goes once the last of them has read it, not a minute later.
                del self._ticks[key]
        if mine:
            self._answer_range(tick, group, step_ms, points)
        end = tick.t
        start = (round(end * 1000) - step_ms * (points - 1)) / 1000
        return Range(start, end, step_ms / 1000, self._share(tick, member))

    def prefetch_range(
        self, group: Group, *, step_ms: int, points: int, end_ms: int, ttl_s: float
    ) -> None:
        """Ask now (in this thread) for the history tick that the members' `range` calls with
        the same grid take their shares of. Call it once every member has joined: one that
        joins later is not in the answer. Nothing when such a tick is fresh already."""
        key: tuple[object, ...] = ("range", group, step_ms, points)
        with self._lock:
            tick = self._ticks.get(key)
            if tick is not None and self._monotonic() - tick.born <= ttl_s:
                return
            tick = self._ticks[key] = _Tick(end_ms / 1000, step_ms / 1000, self._monotonic())
        self._answer_range(tick, group, step_ms, points)

    # --- internals -------------------------------------------------------------------------------

    def _tick(
        self,
        key: tuple[object, ...],
        member: Member,
        ttl_s: float,
        new: Callable[[], _Tick],
    ) -> tuple[_Tick, bool]:
        """The tick `member` takes its share from, and whether this caller must answer it."""
        with self._lock:
            tick = self._ticks.get(key)
            fresh = tick is not None and self._monotonic() - tick.born <= ttl_s
            if tick is not None and fresh and member.key not in tick.taken:
                tick.taken.add(member.key)
                return tick, False
            tick = new()
            tick.taken.add(member.key)
            self._ticks[key] = tick
            # Old ticks of other spans go once nobody can take them any more.
            now = self._monotonic()
            for k in [k for k, t in self._ticks.items() if now - t.born > max(ttl_s, 60.0)]:
                del self._ticks[k]
            return tick, True

    def _answer(
        self,
        tick: _Tick,
        group: Group,
        ask: Callable[[str, str], list[Series]],
        span: float,
        points: int = 1,
    ) -> None:
        """Send the group's batched queries for `tick` and keep the answer (or the error). A
        range of many points is asked for in chunks of members, so no answer nears the size cap."""
        try:
            with self._lock:
                members = dict(self._members.get(group, {}))
            names = sorted({n for _, wanted in members.values() for n in wanted})
            everyone = sorted((m for m, _ in members.values()), key=lambda m: m.key)
            # The rules keep only the labels of the default templates: a selector's are gone.
            use_rules = (
                not group.selector
                and group.version_label in RECORDED_VERSION_LABELS
                and self.shared.recording_rules(tick.t)
            )
            queries = {}
            for name in names:
                template = batchable(name)
                if template is None:
                    continue
                per_member = points * 2 * (BUCKETS_ASSUMED if name == "latency_buckets" else 1)
                size = max(1, MAX_POINTS // per_member)
                for k in range(0, len(everyone), size):
                    queries[f"{name}:{k // size}" if k else name] = render_batch(
                        recorded(template) if use_rules else template,
                        everyone[k : k + size],
                        version_label=group.version_label,
                        selector=group.selector,
                        window="1m",
                        interval=interval_text(span),
                    )
            answers = self.shared.all(ask, queries)
            merged: dict[str, list[Series]] = {}
            for key, series in answers.items():
                merged.setdefault(key.split(":")[0], []).extend(series)
            tick.result.set_result({name: split(series) for name, series in merged.items()})
        except BaseException as exc:
            tick.result.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def _answer_range(self, tick: _Tick, group: Group, step_ms: int, points: int) -> None:
        """`_answer` for a history tick: `points` steps of `step_ms` ending at its time."""
        end, step = tick.t, step_ms / 1000
        start = (round(end * 1000) - step_ms * (points - 1)) / 1000
        self._answer(
            tick, group, lambda q, what: self.shared.range(q, start, end, step, what), step, points
        )

    def _share(self, tick: _Tick, member: Member) -> Answers:
        answers: Mapping[str, dict[tuple[str, str], list[Series]]] = tick.result.result()
        return {name: by_member.get(member.key, []) for name, by_member in answers.items()}
