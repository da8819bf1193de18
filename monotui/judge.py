"""Canary judgement: samples in, a Verdict with its numbers and a sentence out. Pure.

This is the threshold judge (canary error rate against an absolute limit and against the baseline);
the statistical judge replaces it behind the same `judge()` signature.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

from monotui.config import JudgeConfig
from monotui.model import MetricLabel, MetricVerdict, Sample, Verdict, VerdictResult


class Judge:
    """Judges the latest `lookback` samples of one rollout."""

    def __init__(self, config: JudgeConfig, window_s: float = 60.0) -> None:
        self.config = config
        self.window_s = window_s

    def judge(self, samples: Sequence[Sample]) -> Verdict:
        cfg = self.config
        recent = samples[-cfg.lookback :]
        base = _values([s.error_rate.baseline for s in recent])
        can = _values([s.error_rate.canary for s in recent])
        if len(base) < cfg.min_samples or len(can) < cfg.min_samples:
            return Verdict.no_data(
                f"{min(len(base), len(can))} of {cfg.min_samples} samples needed per side"
            )
        rates = _values([s.request_rate.canary for s in recent])
        canary_requests = fmean(rates) * self.window_s if rates else 0.0
        if canary_requests < cfg.min_requests:
            return Verdict.no_data(
                f"canary had {canary_requests:.0f} requests in the window, {cfg.min_requests:.0f} needed"
            )
        b, c = fmean(base), fmean(can)
        effect = c / b if b > 0 else (math.inf if c > 0 else 1.0)
        too_high = c > cfg.max_error_rate or (c > b * cfg.allowed_increase + 0.005)
        label = MetricLabel.HIGH if too_high else MetricLabel.PASS
        sentence = f"canary 5xx {c:.1%} vs baseline {b:.1%}, {_times(effect)}: {label.value}"
        metric = MetricVerdict(
            "error_rate", label, b, c, None, effect, len(base), len(can), True, sentence
        )
        if too_high:
            return Verdict(VerdictResult.FAIL, 0.0, sentence, (metric,))
        return Verdict(VerdictResult.PASS, 100.0, sentence, (metric,))


def _values(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def _times(effect: float) -> str:
    return "∞x" if math.isinf(effect) else f"{effect:.1f}x"
