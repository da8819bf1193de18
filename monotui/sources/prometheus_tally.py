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
from typing import Literal

from monotui.errors import SourceError
from monotui.metrics import Histogram, Metric, side_of
from monotui.model import Sample, Side
from monotui.outside_text import literal
from monotui.sources.prometheus_api import Series

_ABSENT, _COUNTED, _UNKNOWN = 0, 1, 2  # a count's state at a grid point
_Columns = tuple[tuple[float, ...], list[list[float | None]], list[float | None] | None]
"""A histogram's finite bounds in order, their counts per point, the +Inf counts per point."""

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
    ) -> None:
        self.points = 1 if grid is None else len(grid)
        self._grid = grid
        self._sums: dict[tuple[str, str], list[float]] = {}
        self._states: dict[tuple[str, str], bytearray] = {}
        self._buckets: dict[tuple[str, str], dict[float, list[float | None]]] = {}
        self._columns: dict[tuple[str, str], _Columns] = {}
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
                    le = le_of(s.labels.get("le"))
                    if version in wanted and le is not None:
                        self._add_buckets(name, version, le, s)

    def count_column(self, name: str, version: str) -> _CountColumn | None:
        """A count's sums and states per point (None: no series of `version` at all)."""
        states = self._states.get((name, version))
        return None if states is None else (self._sums[(name, version)], states)

    def histogram(self, name: str, version: str, k: int) -> Histogram | None:
        """`version`'s buckets at point `k` (summed over its series); None without a +Inf one."""
        columns = self._columns.get((name, version))
        if columns is None:
            buckets = self._buckets.get((name, version))
            if buckets is None:
                return None
            bounds = tuple(sorted(le for le in buckets if math.isfinite(le)))
            columns = self._columns[(name, version)] = (
                bounds,
                [buckets[le] for le in bounds],
                buckets.get(math.inf),
            )
        bounds, finite, at_inf = columns
        top = None if at_inf is None else at_inf[k]
        if top is None:
            return None
        counts = [c[k] for c in finite]
        if None in counts:  # a bucket without a series at this point: the others only
            bounds = tuple(le for le, n in zip(bounds, counts, strict=True) if n is not None)
            counts = [n for n in counts if n is not None]
        return bounds, (*counts, top)  # type: ignore[arg-type]

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

    def _add_count(self, name: str, version: str, s: Series, what: str) -> None:
        key = (name, version)
        sums = self._sums.get(key)
        if sums is None:
            sums = self._sums[key] = [0.0] * self.points
            self._states[key] = bytearray([_ABSENT]) * self.points
        states = self._states[key]
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


_CountColumn = tuple[list[float], bytearray]
ReadKind = Literal["count", "histogram", "value"]
_ReadColumn = tuple[ReadKind, str, _CountColumn | None]

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
    columns: list[tuple[str, _CountColumn | None, list[_ReadColumn]]] = []
    for version in versions:
        reading_columns: list[_ReadColumn] = []
        for kind, name in reads:
            if kind == "histogram":
                reading_columns.append((kind, name, None))
            else:
                reading_columns.append((kind, name, tally.count_column(name, version)))
        columns.append((version, tally.count_column("requests", version), reading_columns))
    out = []
    for k, t in enumerate(times):
        sides = []
        for version, requests_column, reading_columns in columns:
            requests = _at(requests_column, k)
            if requests is not None and per_second:
                requests *= span
            readings: list[float | Histogram | None] = []
            fixes = False
            for kind, name, column in reading_columns:
                if kind == "count":
                    readings.append(_at(column, k))
                    fixes = fixes or (column is not None and column[1][k] == _UNKNOWN)
                elif kind == "histogram":
                    readings.append(tally.histogram(name, version, k))
                else:
                    readings.append(None)
                    fixes = True
            side = side_of(metrics, requests, readings, slow_ms)
            if fixes:
                side = _fixed(side, reading_columns, k)
            sides.append(side)
        out.append(Sample(t=t, span_s=span, baseline=sides[0], canary=sides[1]))
    return out


def _fixed(side: Side, reading_columns: Sequence[_ReadColumn], k: int) -> Side:
    """`side` with each value read from its own query, and each NaN count NO DATA."""
    bad, values = list(side.bad), list(side.values)
    for i, (kind, _, column) in enumerate(reading_columns):
        if kind == "value":
            values[i] = _at(column, k)
        elif kind == "count" and column is not None and column[1][k] == _UNKNOWN:
            bad[i] = values[i] = None
    return Side(side.requests, tuple(bad), tuple(values))


def le_of(text: str | None) -> float | None:
    """A bucket's `le` label as a number ("+Inf" is inf); None when it is not one."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def ordered(totals: Mapping[float, float]) -> Histogram | None:
    """(finite bounds, cumulative counts at each then at +Inf); None without a +Inf bucket."""
    if math.inf not in totals:
        return None
    bounds = tuple(sorted(le for le in totals if math.isfinite(le)))
    cumulative = tuple(totals[le] for le in bounds) + (totals[math.inf],)
    return bounds, cumulative
