"""The fleet as frozen data for triage: each rollout's severity and row, the summary line, the
view (filter, sort, grouping, namespace and cluster), and each cluster's health.

Severity orders the rows by default: FAIL, both versions failing (an incident), ERROR, NO DATA
(or STALE), paused, progressing, idle; a rollout not polled or not judged yet is "waiting".
Pure: the fleet widgets and the fleet screen share it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal

from monotui.model.fleet_sparks import SparkMemo, error_spark, weight_spark
from monotui.model.rollout import Phase, SourceState
from monotui.model.snapshot import Snapshot
from monotui.model.verdict import VerdictResult


class Severity(IntEnum):
    """How urgently a rollout needs a look; lower is worse."""

    FAIL = 0
    BOTH_FAILING = 1
    ERROR = 2
    NODATA = 3
    PAUSED = 4
    PROGRESSING = 5
    IDLE = 6
    WAITING = 7

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Severity.FAIL: "FAIL",
    Severity.BOTH_FAILING: "both failing",
    Severity.ERROR: "error",
    Severity.NODATA: "no data",
    Severity.PAUSED: "paused",
    Severity.PROGRESSING: "progressing",
    Severity.IDLE: "idle",
    Severity.WAITING: "waiting",
}


def severity(s: Snapshot) -> Severity:
    """Where `s` stands in the triage order."""
    if not s.sources or s.judging:
        return Severity.WAITING
    if s.verdict.incident:
        return Severity.BOTH_FAILING
    if s.verdict.result == VerdictResult.FAIL:
        return Severity.FAIL
    if any(src.state == SourceState.ERROR for src in s.sources):
        return Severity.ERROR
    canary = s.weights.canary if s.weights is not None else None
    stale = any(src.state == SourceState.STALE for src in s.sources)
    if stale or (s.verdict.result == VerdictResult.NODATA and (canary is None or canary > 0)):
        return Severity.NODATA
    if s.plan.paused or s.phase == Phase.PAUSED:
        return Severity.PAUSED
    if canary is not None and 0 < canary < 100 and s.phase == Phase.PROGRESSING:
        return Severity.PROGRESSING
    return Severity.IDLE


Ranking = Callable[[Snapshot], Severity]
"""How a rollout's severity is found: `severity` itself, or a screen's memory of it."""


def summary(snapshots: Iterable[Snapshot], rank: Ranking = severity) -> str:
    """`3 FAIL · 1 both failing · 2 paused · 40 progressing · 250 idle`: FAIL always, the other
    kinds when there are any; each rollout counts once, in its severity (`rank`: `severity`, or
    what remembers it)."""
    counts = Counter(rank(s) for s in snapshots)
    parts = [f"{counts[k]} {k.label}" for k in Severity if k == Severity.FAIL or counts[k]]
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class ClusterBadge:
    """A cluster of the fleet and its badge colour (a Rich colour name)."""

    name: str
    color: str


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One rollout as the fleet table shows it (plain values; the widget styles them)."""

    key: str
    name: str
    namespace: str
    cluster: str
    phase: Phase
    severity: Severity
    canary_pct: int | None
    verdict: VerdictResult
    incident: bool
    baseline_err: float | None
    canary_err: float | None
    problem: str
    """"" when every source is OK; else "STALE (12s) router: ..." or "ERROR metrics: ..."."""
    problem_state: SourceState
    error_spark: str
    weight_spark: str
    paused: bool


def fleet_row(s: Snapshot, sparks: SparkMemo | None = None) -> FleetRow:
    """`s` as the fleet table shows it; `sparks`: the error-rate windows pooled at the previous
    poll (monotui.model.fleet_sparks), so that only the newest is pooled again."""
    err = s.current("error_rate")
    problem, state = "", SourceState.OK
    for name in ("router", "metrics", "flags", "watch"):
        src = s.source(name)
        if src is not None and src.state != SourceState.OK:
            if src.state == SourceState.STALE:
                age = "" if src.age_s is None else f" ({src.age_s:.0f}s)"
                problem = f"STALE{age} {name}: {src.message}"
            else:
                problem = f"ERROR {name}: {src.message}"
            state = src.state
            break
    return FleetRow(
        key=s.rollout,
        name=s.rollout.split("@", 1)[0]
        if s.context and s.rollout.endswith(f"@{s.context}")
        else s.rollout,
        namespace=s.namespace,
        cluster=s.context,
        phase=s.phase,
        severity=severity(s),
        canary_pct=None if s.weights is None else s.weights.canary,
        verdict=s.verdict.result,
        incident=s.verdict.incident,
        baseline_err=err.baseline,
        canary_err=err.canary,
        problem=problem,
        problem_state=state,
        error_spark=error_spark(s, memo=sparks),
        weight_spark=weight_spark(s),
        paused=s.plan.paused,
    )


# --- the view ------------------------------------------------------------------------------------

SortKey = Literal[
    "severity", "name", "namespace", "cluster", "phase", "weight", "verdict", "baseline", "canary"
]
SORT_KEYS: tuple[SortKey, ...] = (
    "severity",
    "name",
    "namespace",
    "cluster",
    "phase",
    "weight",
    "verdict",
    "baseline",
    "canary",
)
Grouping = Literal["none", "namespace", "cluster"]
GROUPINGS: tuple[Grouping, ...] = ("none", "namespace", "cluster")


class FilterError(ValueError):
    """A filter that is not a regular expression; the message says where."""


def compile_filter(text: str) -> re.Pattern[str] | None:
    """The filter as a case-insensitive regex searched in each row (None: no filter)."""
    if not text:
        return None
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        where = f" at character {exc.pos + 1}" if exc.pos is not None else ""
        raise FilterError(f"not a regular expression{where}: {exc.msg}") from None


@dataclass(frozen=True, slots=True)
class FleetView:
    """What the fleet shows: a regex filter (name, namespace, cluster, phase, verdict), one
    namespace or cluster, the sort column and direction, the grouping."""

    filter: str = ""
    namespace: str | None = None
    cluster: str | None = None
    sort: SortKey = "severity"
    reverse: bool = False
    group: Grouping = "none"
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def with_filter(self, text: str) -> FleetView:
        """This view filtered by `text`; FilterError (and no change) if it is not a regex."""
        pattern = compile_filter(text)
        return FleetView(
            text, self.namespace, self.cluster, self.sort, self.reverse, self.group, pattern
        )

    def shows(self, row: FleetRow) -> bool:
        if self.namespace is not None and row.namespace != self.namespace:
            return False
        if self.cluster is not None and row.cluster != self.cluster:
            return False
        if self.pattern is None:
            return True
        verdict = "NO DATA" if row.verdict == VerdictResult.NODATA else row.verdict.value
        fields = (
            row.name,
            row.namespace,
            row.cluster,
            row.phase.value,
            verdict,
            row.severity.label,
        )
        return any(self.pattern.search(f) for f in fields)


def _sort_value(row: FleetRow, key: SortKey) -> tuple[object, ...]:
    missing = math.inf
    if key == "severity":
        return (row.severity, row.name)
    if key == "weight":
        return (missing if row.canary_pct is None else -row.canary_pct, row.name)
    if key == "baseline":
        return (missing if row.baseline_err is None else -row.baseline_err, row.name)
    if key == "canary":
        return (missing if row.canary_err is None else -row.canary_err, row.name)
    if key == "verdict":
        order = (
            VerdictResult.FAIL,
            VerdictResult.MARGINAL,
            VerdictResult.NODATA,
            VerdictResult.PASS,
        )
        return (order.index(row.verdict), row.name)
    if key == "phase":
        return (row.phase.value, row.name)
    return (getattr(row, key), row.name)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the fleet table: a rollout, a group's title, or a whole cluster down."""

    kind: Literal["row", "group", "down"]
    key: str
    row: FleetRow | None = None
    title: str = ""
    severity: Severity = Severity.IDLE


def lines(
    rows: Iterable[FleetRow], view: FleetView, down: Sequence[ClusterHealth] = ()
) -> list[Line]:
    """The table's lines for `view`: the rollouts it shows, sorted; a group title before each
    group; each unreachable cluster as one line instead of its rows."""
    down_names = {c.name for c in down}
    shown = [r for r in rows if view.shows(r) and r.cluster not in down_names]
    shown.sort(key=lambda r: _sort_value(r, view.sort), reverse=view.reverse)
    out = [
        Line("down", f"down:{c.name}", title=c.message, severity=Severity.ERROR)
        for c in down
        if view.cluster in (None, c.name)
    ]
    if view.group == "none":
        return out + [Line("row", r.key, r, severity=r.severity) for r in shown]
    groups: dict[str, list[FleetRow]] = {}
    for r in shown:
        groups.setdefault(r.namespace if view.group == "namespace" else r.cluster, []).append(r)
    order = sorted(groups, key=lambda g: (min(r.severity for r in groups[g]), g))
    for g in order:
        members = groups[g]
        worst = min(r.severity for r in members)
        title = f"{g or '(none)'} · {len(members)} · {summary_of(members)}"
        out.append(Line("group", f"group:{g}", title=title, severity=worst))
        out += [Line("row", r.key, r, severity=r.severity) for r in members]
    return out


def summary_of(rows: Iterable[FleetRow]) -> str:
    counts = Counter(r.severity for r in rows)
    return " · ".join(f"{counts[k]} {k.label}" for k in Severity if counts[k])


# --- clusters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterHealth:
    """One cluster's rollouts at a glance: how many, how many need a look, or why it is down."""

    name: str
    rollouts: int
    down: bool
    message: str
    worst: Severity
    failing: int = 0
    """Rollouts whose verdict is FAIL (or both versions failing)."""


def cluster_health(snapshots: Iterable[Snapshot], rank: Ranking = severity) -> list[ClusterHealth]:
    """Per cluster (snapshot context): down when every polled rollout's router is in ERROR (the
    cluster cannot be read: one line says why, not one red row per rollout); `rank` as in
    `summary`."""
    by: dict[str, list[Snapshot]] = {}
    for s in snapshots:
        by.setdefault(s.context, []).append(s)
    out = []
    for name, members in by.items():
        polled = [s for s in members if s.sources]
        # Stops at the first router that is not in ERROR: the usual case, read at every flush.
        down = bool(polled) and all(_router_down(s) for s in polled)
        message = ""
        if down:
            routers = [s.source("router") for s in polled]
            said = Counter(r.message for r in routers if r is not None).most_common(1)[0][0]
            message = f"{name}: ERROR, {len(members)} rollouts not shown: {said}"
        severities = [rank(s) for s in members]
        worst = min(severities, default=Severity.WAITING)
        failing = sum(1 for x in severities if x <= Severity.BOTH_FAILING)
        out.append(ClusterHealth(name, len(members), down, message, worst, failing))
    return out


def _router_down(s: Snapshot) -> bool:
    router = s.source("router")
    return router is not None and router.state == SourceState.ERROR
