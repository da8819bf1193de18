"""Metric samples as frozen data: one number per version, the observed split, one poll's sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Pair:
    """One number for the baseline and one for the canary; None is NO DATA, never zero."""

    baseline: float | None = None
    canary: float | None = None


@dataclass(frozen=True, slots=True)
class Split:
    """The observed traffic split in percent, derived from request rates."""

    stable: float
    canary: float

    @classmethod
    def from_rates(cls, request_rate: Pair) -> Split | None:
        """The split of request rates, or None when either side is unknown or there is no traffic."""
        base, can = request_rate.baseline, request_rate.canary
        if base is None or can is None or base + can <= 0:
            return None
        total = base + can
        return cls(stable=100.0 * base / total, canary=100.0 * can / total)


@dataclass(frozen=True, slots=True)
class Sample:
    """One poll's metric values for both versions at time `t`."""

    t: float
    error_rate: Pair = field(default_factory=Pair)
    latency_p99_ms: Pair = field(default_factory=Pair)
    request_rate: Pair = field(default_factory=Pair)


Series: TypeAlias = tuple[Sample, ...]
"""Samples in time order, oldest first."""
