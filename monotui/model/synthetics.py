"""Synthetic checks as frozen data: one cell per probe and track, as the cockpit and `status
--json` show them.

A track is what a probe reaches: `baseline`, `canary`, or `canary+flag` (the canary with a flag
variant forced). A cell is PASS or FAIL when the probe's newest result is fresh, STALE when it is
older than two intervals, ERROR when monotui could not get a result at all (Prometheus down, no
series, a secret file missing): an ERROR is never the target's failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from monotui.model.verdict import MetricLabel, MetricVerdict

TRACKS = ("baseline", "canary", "canary+flag")
"""Every track, in the order of the panel's columns."""
CANARY_TRACKS = ("canary", "canary+flag")


class ProbeState(StrEnum):
    """One cell's state."""

    PASS = "PASS"
    FAIL = "FAIL"
    STALE = "STALE"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class ProbeCell:
    """The newest results of one probe on one track."""

    probe: str
    track: str
    state: ProbeState
    reason: str = ""
    """Why the state: the failure ("status 500 (expected 200)", "timeout after 2 s", "connection
    refused", "TLS: ...", "body: ..."), the age of a STALE result, or what an ERROR is."""
    latency_ms: float | None = None
    """The newest result's duration."""
    t: float | None = None
    """When the newest result was taken (None: never)."""
    recent: tuple[float, ...] = ()
    """The share of passing probes in each recent reading, oldest first (a sparkline)."""
    last_failure: str = ""
    """The reason of the newest failure seen, even after it passed again."""
    kind: str = "http"


@dataclass(frozen=True, slots=True)
class Synthetics:
    """Every probe of one rollout on every track it reaches, and the judge's call on each canary
    track. Empty when the rollout has no `[[rollouts.synthetics]]`."""

    cells: tuple[ProbeCell, ...] = ()
    verdicts: tuple[MetricVerdict, ...] = ()
    """One per probe and canary track (its name is "PROBE on TRACK"), HIGH when the probe fails
    there more than on the baseline."""
    curl: tuple[str, ...] = ()
    """Shell lines that reach the canary by hand (the `h` key); no secret in them."""
    note: str = ""
    """What is not shown and why ("read-only: ...")."""

    @property
    def probes(self) -> tuple[str, ...]:
        """The probe names, in configuration order."""
        return tuple(dict.fromkeys(c.probe for c in self.cells))

    @property
    def tracks(self) -> tuple[str, ...]:
        """The tracks some probe reaches, in the order of TRACKS."""
        seen = {c.track for c in self.cells}
        return tuple(t for t in TRACKS if t in seen)

    def cell(self, probe: str, track: str) -> ProbeCell | None:
        return next((c for c in self.cells if c.probe == probe and c.track == track), None)

    def verdict(self, probe: str, track: str) -> MetricVerdict | None:
        return next((v for v in self.verdicts if v.name == f"{probe} on {track}"), None)

    def summary(self) -> str:
        """One line: "synthetics 3/4 pass; checkout-submit FAIL on canary+flag" (the probes
        failing on a canary track first, else the first cell that is not PASS)."""
        if not self.cells:
            return ""
        passing = sum(1 for c in self.cells if c.state == ProbeState.PASS)
        line = f"synthetics {passing}/{len(self.cells)} pass"
        judged = {v.name for v in self.verdicts if v.label == MetricLabel.HIGH}
        failing: dict[str, list[str]] = {}
        for c in self.cells:
            if c.track != "baseline" and (
                c.state == ProbeState.FAIL or f"{c.probe} on {c.track}" in judged
            ):
                failing.setdefault(c.probe, []).append(c.track)
        if failing:
            return (
                line
                + "; "
                + "; ".join(
                    f"{probe} FAIL on {', '.join(tracks)}" for probe, tracks in failing.items()
                )
            )
        worst = next((c for c in self.cells if c.state != ProbeState.PASS), None)
        if worst is not None:
            line += f"; {worst.probe} {worst.state.value} on {worst.track}"
        return line
