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
class Evidence:
    """The sequential judge's numbers for one count metric: counts and rates in this step, the
    evidence against the canary since it started taking traffic, and what it has cost."""

    e_value: float
    """Evidence that the canary is worse than allowed: a ratio; rolled back at `limit`."""
    limit: float
    """1 / alpha: the evidence that rolls back."""
    ci_low: float | None
    """Anytime-valid bounds of canary / baseline bad rates (None: beyond the grid)."""
    ci_high: float | None
    ratio: float | None
    """The estimate of canary / baseline bad rates."""
    canary_requests: float
    """In this step."""
    canary_bad: float
    baseline_requests: float
    baseline_bad: float
    run_canary_requests: float
    """Since the canary started taking traffic."""
    run_canary_bad: float
    excess_bad: float
    """Bad canary requests beyond what the baseline's rate predicts, since it started."""
    dispersion: float = 1.0
    what: str = ""
    """What the bad requests are: "5xx", "slow"."""


@dataclass(frozen=True, slots=True)
class MetricVerdict:
    """The judge's numbers for one metric."""

    name: str
    label: MetricLabel
    baseline: float | None = None  # the value in this step (rate, or the median for U tests)
    canary: float | None = None
    p_value: float | None = None  # the Mann-Whitney test's
    effect: float | None = None  # canary / baseline
    n_baseline: int = 0  # samples judged (Mann-Whitney) or polls that carried information
    n_canary: int = 0
    critical: bool = False
    sentence: str = ""
    evidence: Evidence | None = None  # the sequential judge's
    both_failing: bool = False  # both versions above the metric's limit: an incident


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judge's overall call with the numbers behind it."""

    result: VerdictResult
    score: float | None
    reason: str
    metrics: tuple[MetricVerdict, ...] = ()
    incident: bool = False
    """Both versions are failing: an incident, not the canary (the automation holds)."""
    canary_requests: float = 0.0
    """The canary requests the verdict rests on (in this step)."""

    @classmethod
    def no_data(cls, reason: str) -> Verdict:
        return cls(VerdictResult.NODATA, None, reason)
