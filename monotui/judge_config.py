"""`[rollouts.judge]`: the canary judge's and the automation's keys, validated (part of
monotui.toml; `monotui.config` loads it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from monotui.kinds import Section


class JudgeConfig(Section):
    """The canary judge and the automation's limits (`[rollouts.judge]`).

    The default judge (`method = "sequential"`) reads, each poll, the increase of each version's
    requests and bad requests (5xx; requests slower than `slow_ms`) and keeps anytime-valid
    evidence that the canary's bad rate is more than `allowed_increase` times the baseline's,
    conditioned on each poll's observed split; it rolls back when the evidence reaches 1/alpha,
    which a healthy canary does with probability at most alpha however long it is watched (see
    the README's judge section for the formulas and the papers).

    `method = "mann-whitney"` is the Kayenta-style judge for metrics that are not counts: the last
    `lookback` independent samples compared with a Mann-Whitney U test at `confidence`; the keys
    marked "mann-whitney" below apply to it only.
    """

    method: Literal["sequential", "mann-whitney"] = "sequential"
    """sequential: evidence on counts (the default); mann-whitney: a U test on sampled values."""
    alpha: float = Field(0.01, gt=0, lt=0.5)
    """The chance of ever rolling back a healthy canary: the evidence that rolls back is 1/alpha."""
    allowed_increase: float = Field(1.0, ge=1.0, le=100.0)
    """A canary 5xx rate up to this times the baseline's is healthy: 1.0 counts any increase,
    1.2 tolerates +20 %."""
    latency_allowed_increase: float = Field(1.5, ge=1.0, le=100.0)
    """The same for the share of slow requests (above slow_ms)."""
    slow_ms: float | None = Field(None, gt=0, lt=1e9)
    """Where a slow request starts, in ms; default: the histogram bucket at or above the
    baseline's p99 over the history (about 1 % of its requests are slower)."""
    min_canary_requests: float = Field(0.0, ge=0, lt=1e15)
    """Requests the canary must have served at a step before the automation advances (at least
    one, always); a step waits out its hold and then this exposure, it never pauses for it."""
    max_error_rate: float = Field(0.05, ge=0, le=1)
    """Absolute guard: a canary 5xx rate above this in the current step rolls back when the
    canary is also worse than the baseline; when both versions are above it, the automation holds
    ("both versions failing: not the canary")."""
    max_latency_ms: float | None = Field(None, gt=0, lt=1e9)
    """The same guard for the canary's p99 latency, in ms; none by default."""
    nodata_limit: int = Field(6, ge=1, le=10_000)
    """Consecutive polls without fresh canary data (while the route sends it traffic) before the
    automation pauses and says why."""
    latency: bool = True
    """Judge the latency (slow requests) as a second metric (off when there is no histogram)."""
    # --- mann-whitney only ---
    confidence: float = Field(0.98, gt=0.5, lt=1)
    """mann-whitney: p < 1 - confidence counts as a difference."""
    direction: Literal["increase", "either"] = "increase"
    """mann-whitney: whether a significantly lower canary (LOW) also counts against the score."""
    min_requests: float = Field(100.0, ge=0, lt=1e15)
    """mann-whitney: fewer canary requests than this behind the judged samples is NO DATA."""
    lookback: int = Field(10, ge=1, le=10_000)
    """mann-whitney: recent independent samples (a metrics window apart) per side compared."""
    min_samples: int = Field(3, ge=1, le=10_000)
    """mann-whitney: fewer samples than this on either side is NO DATA."""
    pass_score: float = Field(90.0, ge=0, le=100)
    """mann-whitney: a score at or above this is PASS."""
    marginal_score: float = Field(75.0, ge=0, le=100)
    """mann-whitney: a score at or above this (and below pass_score) is MARGINAL; below, FAIL."""
    failure_limit: int = Field(2, ge=1, le=10_000)
    """mann-whitney: consecutive FAILs, each on a fresh metrics window, before rolling back."""
    latency_critical: bool = False
    """mann-whitney: whether a HIGH p99 latency fails the whole verdict (score 0)."""
    error_rate_critical: bool = True
    """mann-whitney: whether a HIGH error rate fails the whole verdict (score 0)."""

    @model_validator(mode="after")
    def _scores(self) -> JudgeConfig:
        if self.marginal_score > self.pass_score:
            raise ValueError("marginal_score must not exceed pass_score")
        if self.min_samples > self.lookback:
            raise ValueError(
                f"min_samples ({self.min_samples}) must not exceed lookback ({self.lookback}): "
                "the judge would never have enough samples"
            )
        return self
