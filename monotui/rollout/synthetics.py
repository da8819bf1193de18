"""The synthetic probes of one rollout as the observer reads them each poll: every source read at
once (each within its own deadline), its results kept per probe and track (the newest, the last
failure, a short history), turned into the judge's tallies and the snapshot's cells.

A track reached through the header route is probed only while the route has it; in a read-only
session (which never adds that route) such tracks are not shown at all, only blackbox results
and probes with their own URLs.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from monotui.daemon_pool import DaemonPool
from monotui.judge.probes import ProbeTally
from monotui.model import MetricVerdict, ProbeCell, ProbeState, Synthetics
from monotui.sources.synthetics.base import ProbeResult, SyntheticSource, TrackReading
from monotui.sources.synthetics.settings import header_value

HISTORY = 24
"""Readings kept per cell for its sparkline."""
MAX_PARALLEL = 8


@dataclass
class _Cell:
    newest: ProbeResult | None = None
    error: str | None = None
    last_failure: str = ""
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))


class SyntheticsReader:
    """Reads one rollout's probes. Thread-safe; one read at a time."""

    def __init__(self, sources: Sequence[SyntheticSource], *, read_only: bool) -> None:
        self.sources = tuple(sources)
        self.read_only = read_only
        self._cells: dict[tuple[str, str], _Cell] = {}
        self._lock = threading.Lock()
        self._pool: DaemonPool | None = None
        self._reachable: frozenset[str] = frozenset()

    def needs_header_route(self) -> bool:
        """Whether some probe reaches a track through the route monotui adds."""
        return any(s.header_tracks() for s in self.sources)

    def read(
        self, now: float, reachable: frozenset[str], flags_off: frozenset[str] = frozenset()
    ) -> tuple[tuple[ProbeTally, ...], str]:
        """Read every source; returns this poll's tallies and the problems in one line ("" when
        every source answered). `flags_off`: flags that are off for users now; a canary+flag
        track forcing one of them is shown, not judged."""
        self._reachable = reachable
        if not self.sources:
            return (), ""
        if self._pool is None:
            workers = min(MAX_PARALLEL, len(self.sources))
            self._pool = DaemonPool(workers, thread_name_prefix="synthetics")
        futures = [(s, self._pool.submit(s.read, now, reachable)) for s in self.sources]
        tallies: list[ProbeTally] = []
        problems: list[str] = []
        for source, future in futures:
            try:
                readings = future.result()
            except Exception as exc:  # a bug in one probe must not take the others down
                readings = tuple(
                    TrackReading(t, error=f"probe failed: {exc}") for t in source.tracks
                )
            key = source.flag_key
            for reading in readings:
                tally = self._take(source, reading, now)
                if reading.track == "canary+flag" and key in flags_off:
                    tally = replace(tally, unjudged=f"flag {key} is off for users")
                tallies.append(tally)
                if reading.error:
                    problems.append(f"{source.name} ({reading.track}): {reading.error}")
        return tuple(tallies), "; ".join(problems)

    def _take(self, source: SyntheticSource, reading: TrackReading, now: float) -> ProbeTally:
        with self._lock:
            cell = self._cells.setdefault((source.name, reading.track), _Cell())
            cell.error = reading.error
            newest = reading.newest
            if newest is not None and (cell.newest is None or newest.t >= cell.newest.t):
                cell.newest = newest
                if not newest.ok:
                    cell.last_failure = newest.reason
            ran = reading.passes + reading.failures
            if ran:
                cell.recent.append(reading.passes / ran)
            fresh = cell.newest is not None and now - cell.newest.t <= 2 * source.interval_s
            failed = None if not fresh or cell.newest is None else not cell.newest.ok
        return ProbeTally(source.name, reading.track, ran, reading.failures, failed)

    def synthetics(
        self, now: float, verdicts: tuple[MetricVerdict, ...] = (), dry_run: bool = False
    ) -> Synthetics:
        """The cells as of `now` (a result older than two intervals is STALE), with the judge's
        calls and the curl lines that reach the canary."""
        cells: list[ProbeCell] = []
        hidden = False
        with self._lock:
            for source in self.sources:
                for track in source.tracks:
                    if not self._shown(source, track):
                        hidden = True
                        continue
                    cells.append(self._cell(source, track, now))
        curl = tuple(
            line
            for source in self.sources
            for track in ("canary", "canary+flag")
            if track in source.tracks and (line := source.curl(track)) is not None
        )
        note = ""
        if hidden:
            note = (
                "read-only: http probes through the header route are not run (monotui adds that "
                "route only when it may write)"
                if self.read_only
                else "waiting for the header route (x-monotui-track) to be in place"
            )
        return Synthetics(tuple(cells), verdicts, curl, note)

    def _shown(self, source: SyntheticSource, track: str) -> bool:
        """Whether the track's cell is shown: a read-only session hides what it cannot reach."""
        return not self.read_only or self._reached(source, track)

    def _reached(self, source: SyntheticSource, track: str) -> bool:
        """Whether the track can be probed now (its own URL, or the header route in place)."""
        return track not in source.header_tracks() or header_value(track) in self._reachable

    def _cell(self, source: SyntheticSource, track: str, now: float) -> ProbeCell:
        cell = self._cells.get((source.name, track)) or _Cell()
        newest = cell.newest
        if cell.error is not None:
            state, reason = ProbeState.ERROR, cell.error
        elif newest is None:
            state, reason = ProbeState.STALE, "no result yet"
            if not self._reached(source, track):
                reason = "waiting for the header route (x-monotui-track)"
        elif now - newest.t > 2 * source.interval_s:
            state, reason = ProbeState.STALE, f"newest result {now - newest.t:.0f}s old"
        else:
            state = ProbeState.PASS if newest.ok else ProbeState.FAIL
            reason = newest.reason
        return ProbeCell(
            source.name,
            track,
            state,
            reason,
            latency_ms=newest.latency_ms if newest else None,
            t=newest.t if newest else None,
            recent=tuple(cell.recent),
            last_failure=cell.last_failure,
            kind=source.kind,
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for source in self.sources:
            source.close()
