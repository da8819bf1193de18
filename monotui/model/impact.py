"""The live impact meter: the bad requests the canary served beyond what the baseline's rate
predicts, since it started taking traffic (the sequential judge's `Evidence.excess_bad`).

A 5xx that was also slow is counted under each metric it failed: the meter shows each kind of
bad request on its own and never adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass

from monotui.model.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Harm:
    """One kind of bad request (5xx, slow) the canary served since it started."""

    metric: str
    """The metric's name: error_rate, latency_p99_ms."""
    what: str
    """What a bad request is: "5xx", "slow"."""
    served: float
    """Bad canary requests since the canary started taking traffic."""
    excess: float
    """Of those, beyond what the baseline's rate predicts (never below 0)."""
    canary_requests: float
    """Canary requests since it started."""


@dataclass(frozen=True, slots=True)
class Impact:
    """What the canary has cost so far, per kind of bad request; empty without evidence."""

    harms: tuple[Harm, ...] = ()
    since: float | None = None
    """When the canary started taking traffic (None: before monotui looked)."""

    @property
    def worst(self) -> Harm | None:
        """The kind with the most excess bad requests (None without evidence)."""
        return max(self.harms, key=lambda h: h.excess, default=None)


def impact_of(snapshot: Snapshot) -> Impact:
    """The impact the snapshot's verdict carries (the judge's evidence, metric by metric)."""
    harms = []
    for m in snapshot.verdict.metrics:
        e = m.evidence
        if e is None:
            continue
        harms.append(
            Harm(
                metric=m.name,
                what=e.what or m.name,
                served=e.run_canary_bad,
                excess=max(0.0, e.excess_bad),
                canary_requests=e.run_canary_requests,
            )
        )
    return Impact(tuple(harms), snapshot.run_since)


def impact_line(impact: Impact) -> str:
    """One short line: "impact: 5xx +1,204 beyond baseline (1,350 served), slow +3 (40)"."""
    if not impact.harms:
        return ""
    parts = []
    for i, h in enumerate(impact.harms):
        beyond = " beyond baseline" if i == 0 else ""
        parts.append(f"{h.what} +{h.excess:,.0f}{beyond} ({h.served:,.0f} served)")
    return "impact: " + ", ".join(parts)
