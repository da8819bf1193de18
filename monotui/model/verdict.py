"""The judge's verdict as frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VerdictResult(StrEnum):
    """The judge's overall call."""

    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"
    NODATA = "NODATA"


class MetricLabel(StrEnum):
    """The judge's call on one metric (Kayenta's classification)."""

    PASS = "PASS"
    HIGH = "HIGH"
    LOW = "LOW"
    NODATA = "NODATA"


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """The judge's numbers for one metric."""

    name: str
    label: MetricLabel
    baseline: float | None = None  # median
    canary: float | None = None  # median
    p_value: float | None = None
    effect: float | None = None  # canary / baseline
    n_baseline: int = 0
    n_canary: int = 0
    critical: bool = False
    sentence: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's overall call with the numbers behind it."""

    result: VerdictResult
    score: float | None
    reason: str
    metrics: tuple[MetricVerdict, ...] = ()

    @classmethod
    def no_data(cls, reason: str) -> Verdict:
        return cls(VerdictResult.NODATA, None, reason)
