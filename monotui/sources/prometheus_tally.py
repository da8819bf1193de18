"""A Prometheus answer tallied per version and per point of a time grid, read once: each count's
sum (or that a series said NaN/Inf), each histogram's buckets. One poll is a grid of one point;
a rollout's history is one point per step, and a fleet's history holds millions of points, so
the answer is walked once, series by series (the labels read once per series, not per point).

The readings are what `PrometheusMetrics` turns into samples: a version without series is
absent (None, NO DATA), never zero; a negative count is a broken query (SourceError).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Literal, cast

from monotui.errors import SourceError
from monotui.metrics import Histogram, Metric, sides_of
from monotui.model import Sample, Side
from monotui.outside_text import literal
from monotui.sources.prometheus_api import Series

_ABSENT, _COUNTED, _UNKNOWN = 0, 1, 2  # a count's state at a grid point

Grid = Mapping[int, int]
"""A time grid: each point's time in whole milliseconds -> its index (Prometheus evaluates a
range at exactly these times; a point at any other time is off the grid)."""


def grid(start_ms: int, step_ms: int, points: int) -> Grid:
    """`points` times `step_ms` apart from `start_ms`."""
    return {start_ms + k * step_ms: k for k in range(points)}


class Tally:
    """Counts and histograms of one answer per (query name, version) and grid point.

    `counts` and `histograms` name the queries read each way; `what` names each count query in
    the message about a negative one ("requests", "error_rate"). A series' point goes to its
    point on `grid`; without a grid there is one point, each series' only one (an instant
    answer)."""

    def __init__(
        self,
        answers: Mapping[str, Iterable[Series]],
        *,
        version_label: str,
        versions: tuple[str, ...],
        counts: Mapping[str, str],
        histograms: Iterable[str],
        grid: Grid | None,
        le_scale: float = 1.0,
    ) -> None:
        self.points = 1 if grid is None else len(grid)
        self._grid = grid
        times: list[float] = [math.nan] * self.points
        for ms, k in (grid or {}).items():
            times[k] = ms / 1000
        self._times = tuple(times)
        """Each grid point's time in seconds, by index."""
        self._sums: dict[tuple[str, str], list[float]] = {}
        self._states: dict[tuple[str, str], bytearray] = {}
        self._buckets: dict[tuple[str, str], dict[float, list[float | None]]] = {}
        wanted = set(versions)
        histogram_names = set(histograms)
        for name, series in answers.items():
            if name in counts:
                for s in series:
                    version = s.labels.get(version_label)
                    if version in wanted:
                        self._add_count(name, version, s, counts[name])
            elif name in histogram_names:
                for s in series:
                    version = s.labels.get(version_label)
                    le = le_of(s.labels.get("le"), le_scale)
                    if version in wanted and le is not None:
                        self._add_buckets(name, version, le, s)

    def count_column(self, name: str, version: str) -> _CountColumn | None:
        """A count's sums and states per point (None: no series of `version` at all)."""
        states = self._states.get((name, version))
        return None if states is None else (self._sums[(name, version)], states)

    def histogram_column(self, name: str, version: str) -> list[Histogram | None] | None:
        """`version`'s buckets (summed over its series) at every point, None at a point without
        a +Inf one; None when it has no bucket series at all."""
        buckets = self._buckets.get((name, version))
        if buckets is None:
            return None
        bounds = tuple(sorted(le for le in buckets if math.isfinite(le)))
        at_inf = buckets.get(math.inf)
        if at_inf is None:
            return [None] * self.points
        finite = [buckets[le] for le in bounds]
        out: list[Histogram | None] = []
        # Point by point: the finite buckets' counts at a point are one row of the columns.
        rows: Iterable[tuple[float | None, ...]] = (
            zip(*finite, strict=True) if finite else [()] * self.points
        )
        for counts, top in zip(rows, at_inf, strict=True):
            if top is None:
                out.append(None)
            elif None in counts:  # a bucket without a series at this point: the others only
                kept = [(le, n) for le, n in zip(bounds, counts, strict=True) if n is not None]
                out.append((tuple(le for le, _ in kept), (*(n for _, n in kept), top)))
            else:
                out.append((bounds, (*counts, top)))  # type: ignore[arg-type]
        return out

    def bounds(self, name: str, version: str) -> frozenset[float]:
        """The finite `le` bounds of `version`'s buckets of `name` (empty: no bucket series)."""
        return frozenset(le for le in self._buckets.get((name, version), ()) if math.isfinite(le))

    def _on_grid(self, s: Series) -> Iterator[tuple[int, float | None]]:
        """The series' points as (grid index, value), those off the grid left out."""
        if self._grid is None:
            yield from ((0, value) for _, value in s.points[-1:])
            return
        at = self._grid.get
        for t, value in s.points:
            k = at(round(t * 1000))
            if k is not None:
                yield k, value

    def _run(self, s: Series) -> tuple[int, tuple[float, ...]] | None:
        """(k, values) when the series' points are numbers on grid points k, k+1, ... in turn
        (what a range answer is, but for its gaps); None otherwise. A whole series at once: a
        fleet's history is millions of points."""
        if self._grid is None or not s.points:
            return None
        stamps, values = zip(*s.points, strict=True)
        if None in values:
            return None
        first = self._grid.get(round(stamps[0] * 1000))
        if first is None:
            return None
        # Each point exactly at its grid time (ms / 1000, as Prometheus' decimal seconds parse)
        # is at the index the point-by-point walk finds for it.
        if stamps != self._times[first : first + len(stamps)]:
            return None
        return first, cast(tuple[float, ...], values)

    def _add_count(self, name: str, version: str, s: Series, what: str) -> None:
        key = (name, version)
        sums = self._sums.get(key)
        if sums is None:
            sums = self._sums[key] = [0.0] * self.points
            self._states[key] = bytearray([_ABSENT]) * self.points
        states = self._states[key]
        run = self._run(s)
        if run is not None:
            k, values = run
            end = k + len(values)
            if min(values) >= 0 and states[k:end] == bytes(end - k):
                # Counted where nothing was yet: the sums are the values (0.0 + each, exactly).
                sums[k:end] = map((0.0).__add__, values)
                states[k:end] = bytes([_COUNTED]) * (end - k)
                return
        for k, value in self._on_grid(s):
            if states[k] == _UNKNOWN:
                continue  # NaN there already, whatever the other series say
            if value is None:
                states[k] = _UNKNOWN
                continue
            if value < 0:
                raise SourceError(
                    f"Prometheus answered a negative {what} ({value:g}) for version "
                    f"{literal(version, max_len=60)}: a count cannot be negative; check the query"
                )
            sums[k] += value
            states[k] = _COUNTED

    def _add_buckets(self, name: str, version: str, le: float, s: Series) -> None:
        buckets = self._buckets.setdefault((name, version), {})
        counts = buckets.get(le)
        if counts is None:
            counts = buckets[le] = [None] * self.points
        run = self._run(s)
        if run is not None:
            k, values = run
            end = k + len(values)
            if min(values) >= 0 and counts[k:end].count(None) == end - k:
                counts[k:end] = values  # where no series had counted yet: the values themselves
                return
        for k, value in self._on_grid(s):
            if value is None:
                continue
            if value < 0:
                raise SourceError(
                    f"Prometheus answered a negative bucket count ({value:g}) for version "
                    f"{literal(version, max_len=60)}: check the latency query"
                )
            was = counts[k]
            counts[k] = value if was is None else was + value


def _at(column: _CountColumn | None, k: int) -> float | None:
    if column is None or column[1][k] != _COUNTED:
        return None
    return column[0][k]


def _counted(column: _CountColumn | None, points: int) -> list[float | None]:
    """A count at every point, None where it was not counted (absent, NaN)."""
    if column is None:
        return [None] * points
    sums, states = column
    return [total if state == _COUNTED else None for total, state in zip(sums, states, strict=True)]


_CountColumn = tuple[list[float], bytearray]
ReadKind = Literal["count", "histogram", "value"]

Read = tuple[ReadKind, str]
"""How a sample reads one metric from a tally: a bad count, buckets or a value (an override's
rate query), and the tally's name for it ("errors", "latency_buckets", "errors:value")."""


def samples(
    tally: Tally,
    *,
    metrics: Sequence[Metric],
    reads: Sequence[Read],
    versions: tuple[str, str],
    times: Sequence[float],
    span: float,
    slow_ms: float,
    per_second: bool = False,
) -> list[Sample]:
    """One sample per point of `tally`, at `times`, each counting `span` seconds (baseline then
    canary from `versions`). `per_second`: the requests are a rate (an override's), counted
    over the span. A NaN or +Inf bad count is NO DATA, not "no 5xx series" (which is 0)."""
    slow_ms = common_cut(tally, reads, versions, slow_ms)
    baseline, canary = (
        _sides(tally, metrics, reads, version, span, slow_ms, per_second, len(times))
        for version in versions
    )
    return [Sample(t, span, b, c) for t, b, c in zip(times, baseline, canary, strict=True)]


def common_cut(
    tally: Tally, reads: Sequence[Read], versions: tuple[str, str], slow_ms: float
) -> float:
    """Where both versions' slow requests are counted: the largest bucket bound at or under
    `slow_ms` that both versions' histograms have. A histogram counts its slow requests from its
    own largest bound under `slow_ms`: a canary whose buckets differ from the baseline's (a new
    release that changed them) would otherwise be cut lower than the baseline, its fast requests
    counted slow, and rolled back for a change of buckets. `slow_ms` when there is no such bound
    (or a version has no buckets)."""
    if not math.isfinite(slow_ms):
        return slow_ms
    for kind, name in reads:
        if kind != "histogram":
            continue
        baseline, canary = (tally.bounds(name, version) for version in versions)
        if baseline and canary and baseline != canary:
            shared = [le for le in baseline & canary if le <= slow_ms + 1e-9]
            if shared:
                return max(shared)
    return slow_ms


def _sides(
    tally: Tally,
    metrics: Sequence[Metric],
    reads: Sequence[Read],
    version: str,
    span: float,
    slow_ms: float,
    per_second: bool,
    points: int,
) -> list[Side]:
    """One version's side at every point, a metric at a time (see `samples`)."""
    requests = _counted(tally.count_column("requests", version), points)
    if per_second:
        requests = [None if n is None else n * span for n in requests]
    readings: list[Sequence[float | Histogram | None]] = []
    fixes: list[tuple[int, ReadKind, _CountColumn | None]] = []
    for i, (kind, name) in enumerate(reads):
        if kind == "histogram":
            readings.append(tally.histogram_column(name, version) or [None] * points)
            continue
        column = tally.count_column(name, version)
        if kind == "value":  # read as a count of nothing, its value then from its own query
            readings.append([None] * points)
            fixes.append((i, kind, column))
        else:
            readings.append(_counted(column, points))
            if column is not None and _UNKNOWN in column[1]:
                fixes.append((i, kind, column))
    sides = sides_of(metrics, requests, readings, slow_ms)
    if fixes:
        for k in range(points):
            sides[k] = _fixed(sides[k], fixes, k)
    return sides


def _fixed(side: Side, fixes: Sequence[tuple[int, ReadKind, _CountColumn | None]], k: int) -> Side:
    """`side` at point `k` with each value read from its own query, and each NaN count NO
    DATA."""
    bad, values = list(side.bad), list(side.values)
    changed = False
    for i, kind, column in fixes:
        if kind == "value":
            values[i] = _at(column, k)
            changed = True
        elif column is not None and column[1][k] == _UNKNOWN:
            bad[i] = values[i] = None
            changed = True
    return Side(side.requests, tuple(bad), tuple(values)) if changed else side


def le_of(text: str | None, scale: float = 1.0) -> float | None:
    """A bucket's `le` label as a number ("+Inf" is inf, "5e-03" is 0.005) times `scale` (1000:
    seconds as ms, to 12 digits so 0.025 s is 25 ms exactly); None when it is not one."""
    if text is None:
        return None
    try:
        le = float(text)
    except ValueError:
        return None
    return le if scale == 1.0 or not math.isfinite(le) else float(f"{le * scale:.12g}")


def ordered(totals: Mapping[float, float]) -> Histogram | None:
    """(finite bounds, cumulative counts at each then at +Inf); None without a +Inf bucket."""
    if math.inf not in totals:
        return None
    bounds = tuple(sorted(le for le in totals if math.isfinite(le)))
    cumulative = tuple(totals[le] for le in bounds) + (totals[math.inf],)
    return bounds, cumulative
