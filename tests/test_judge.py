"""The Mann-Whitney judge (`method = "mann-whitney"`, and metrics read as values, not counts):
agreement with scipy, the effect-size gate, the guards, the score's edges; and the facade that
picks it. The sequential judge on counts is tested in test_judge_counts.py."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from monotui.config import JudgeConfig
from monotui.errors import ConfigError
from monotui.judge import Judge
from monotui.judge.mann_whitney import (
    MannWhitneyJudge,
    conclusive_n,
    independent,
    mann_whitney,
    score,
)
from monotui.metrics import metrics_for
from monotui.model import MetricLabel, MetricVerdict, Sample, Side, VerdictResult
from tests.configs import parse
from tests.samples import sample

NAN = math.nan


def series(
    baseline: Sequence[float | None],
    canary: Sequence[float | None],
    *,
    canary_rps: float | None = 5.0,
    latency: tuple[float, float] | None = None,
) -> list[Sample]:
    """Error-rate samples a 60 s metrics window apart, each over its 60 s; latency equal on both
    sides unless given."""
    lat = latency or (100.0, 100.0)
    return [
        sample(60.0 * i, error=(b, c), latency=lat, rps=(50.0, canary_rps), span=60.0)
        for i, (b, c) in enumerate(zip(baseline, canary, strict=True))
    ]


def u_judge(cfg: JudgeConfig, window_s: float = 60.0) -> MannWhitneyJudge:
    """The Mann-Whitney judge of the metrics `cfg` picks (error rate, and p99 unless off)."""
    return MannWhitneyJudge(metrics_for(cfg), cfg, window_s)


def scipy_label(canary: Sequence[float], baseline: Sequence[float], cfg: JudgeConfig) -> str:
    """The classification computed straight from scipy, as the judge documents it."""
    res = mannwhitneyu(canary, baseline, alternative="two-sided")
    if res.pvalue >= 1 - cfg.confidence:
        return "PASS"
    higher = res.statistic > len(canary) * len(baseline) / 2
    if not higher:
        return "LOW"
    effect = float(np.median(canary) / np.median(baseline))
    if cfg.allowed_increase > 1 and effect <= cfg.allowed_increase:
        return "PASS"
    return "HIGH"


RNG_CASES = [
    # name, n_canary, n_baseline, canary shift (fraction), rounding (decimals, makes ties)
    ("equal", 10, 10, 0.0, None),
    ("shifted-up", 10, 10, 0.004, None),
    ("shifted-down", 10, 10, -0.004, None),
    ("slightly-up", 30, 30, 0.0015, None),
    ("ties", 20, 20, 0.002, 3),
    ("heavy-ties", 40, 40, 0.0, 2),
    ("small-exact", 6, 7, 0.006, None),
    ("large", 600, 600, 0.0002, 4),
]


@pytest.mark.parametrize(("name", "n1", "n2", "shift", "decimals"), RNG_CASES)
@pytest.mark.parametrize("allowed", [1.0, 1.2])
def test_classification_agrees_with_scipy(
    name: str, n1: int, n2: int, shift: float, decimals: int | None, allowed: float
) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    canary = rng.normal(0.02 + shift, 0.002, n1)
    baseline = rng.normal(0.02, 0.002, n2)
    if decimals is not None:
        canary, baseline = canary.round(decimals), baseline.round(decimals)
    mw = mann_whitney(list(canary), list(baseline))
    ref = mannwhitneyu(canary, baseline, alternative="two-sided")
    assert mw.u_canary == pytest.approx(float(ref.statistic))
    assert mw.p_value == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-15)

    cfg = JudgeConfig(
        lookback=max(n1, n2), allowed_increase=allowed, max_error_rate=1.0, latency=False
    )
    n = max(n1, n2)
    padded_c = [*canary, *[None] * (n - n1)]
    padded_b = [*baseline, *[None] * (n - n2)]
    verdict = u_judge(cfg).judge(series(padded_b, padded_c))
    (metric,) = verdict.metrics
    assert metric.label.value == scipy_label(canary, baseline, cfg)
    assert (metric.n_canary, metric.n_baseline) == (n1, n2)


def test_the_cases_cover_every_label() -> None:
    """The agreement test above is only worth something if it sees PASS, HIGH and LOW."""
    seen = set()
    for name, n1, n2, shift, decimals in RNG_CASES:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        c, b = rng.normal(0.02 + shift, 0.002, n1), rng.normal(0.02, 0.002, n2)
        if decimals is not None:
            c, b = c.round(decimals), b.round(decimals)
        seen.add(scipy_label(c, b, JudgeConfig()))
    assert seen == {"PASS", "HIGH", "LOW"}


def test_effect_size_gate_tolerates_a_small_significant_increase() -> None:
    base = [0.010, 0.011, 0.009, 0.010, 0.0105, 0.0095, 0.010, 0.0102, 0.0098, 0.0101]
    up10 = [v * 1.1 + 0.0011 for v in base]  # clearly significant, about +20 %
    strict = u_judge(JudgeConfig(latency=False)).judge(series(base, up10))
    tolerant = u_judge(JudgeConfig(latency=False, allowed_increase=1.5)).judge(series(base, up10))
    assert strict.metrics[0].label == MetricLabel.HIGH
    assert strict.result == VerdictResult.FAIL
    assert tolerant.metrics[0].label == MetricLabel.PASS
    assert "within 1.5x allowed" in tolerant.metrics[0].sentence
    assert tolerant.result == VerdictResult.PASS


def test_identical_constant_series_pass_with_p_1() -> None:
    verdict = u_judge(JudgeConfig()).judge(series([0.01] * 10, [0.01] * 10))
    assert verdict.result == VerdictResult.PASS
    assert verdict.score == 100.0
    assert all(m.p_value == 1.0 for m in verdict.metrics)


def test_all_zero_error_rates_pass() -> None:
    verdict = u_judge(JudgeConfig()).judge(series([0.0] * 10, [0.0] * 10))
    assert verdict.result == VerdictResult.PASS
    assert verdict.metrics[0].effect == 1.0


def test_constant_but_different_series_are_judged_not_crashed() -> None:
    verdict = u_judge(JudgeConfig(latency=False)).judge(series([0.01] * 10, [0.03] * 10))
    ref = mannwhitneyu([0.03] * 10, [0.01] * 10)
    (metric,) = verdict.metrics
    assert metric.p_value == pytest.approx(float(ref.pvalue))
    assert metric.label == MetricLabel.HIGH
    assert metric.effect == pytest.approx(3.0)


def test_nan_and_none_are_dropped_not_zero() -> None:
    base = [0.01, NAN, 0.011, None, 0.009, 0.01, NAN, 0.012, 0.01, 0.011]
    can = [0.01, 0.01, None, NAN, 0.011, 0.009, 0.01, NAN, 0.012, 0.01]
    verdict = u_judge(JudgeConfig(latency=False)).judge(series(base, can))
    (metric,) = verdict.metrics
    assert (metric.n_baseline, metric.n_canary) == (7, 7)
    clean_b = [v for v in base if v is not None and not math.isnan(v)]
    clean_c = [v for v in can if v is not None and not math.isnan(v)]
    ref = mannwhitneyu(clean_c, clean_b)
    assert metric.p_value == pytest.approx(float(ref.pvalue))
    assert metric.baseline == pytest.approx(float(np.median(clean_b)))


def test_sentence_reads_like_the_issue() -> None:
    base = [0.009, 0.0088, 0.0092, 0.009, 0.0091, 0.0089, 0.009, 0.0093, 0.0087, 0.009]
    can = [0.048, 0.047, 0.049, 0.048, 0.0485, 0.0475, 0.048, 0.049, 0.047, 0.048]
    verdict = u_judge(JudgeConfig(latency=False)).judge(series(base, can))
    sentence = verdict.metrics[0].sentence
    assert sentence.startswith("canary 5xx 4.80 % vs baseline 0.90 %, p<0.001, 5.3x: HIGH")
    assert verdict.result == VerdictResult.FAIL
    assert sentence in verdict.reason


def test_max_error_rate_guard_needs_no_statistics() -> None:
    verdict = u_judge(JudgeConfig()).judge(series([0.01], [0.08]))  # one sample: no test possible
    assert verdict.result == VerdictResult.FAIL
    assert verdict.metrics[0].label == MetricLabel.HIGH
    assert verdict.metrics[0].p_value is None
    assert "8.00 % now, above the 5.00 % limit" in verdict.reason


def test_latency_guard_when_configured() -> None:
    samples = series([0.01] * 10, [0.01] * 10, latency=(100.0, 900.0))
    plain = u_judge(JudgeConfig()).judge(samples)
    guarded = u_judge(JudgeConfig(max_latency_ms=500, latency_critical=True)).judge(samples)
    assert plain.result == VerdictResult.FAIL  # 1 of 2 metrics HIGH: score 50
    assert plain.score == 50.0
    assert guarded.score == 0.0
    assert "canary p99 900 ms now, above the 500 ms limit (baseline 100 ms): HIGH" in (
        guarded.reason
    )


def test_too_few_samples_is_nodata() -> None:
    verdict = u_judge(JudgeConfig(min_samples=3)).judge(series([0.01, 0.01], [0.01, 0.01]))
    assert verdict.result == VerdictResult.NODATA
    assert verdict.score is None
    assert "2 samples per side, 3 needed" in verdict.reason


def test_min_requests_counts_canary_requests_over_the_judged_windows() -> None:
    quiet = series([0.01] * 10, [0.01] * 10, canary_rps=0.1)  # 0.1 req/s x 60 s x 10 = 60
    busy = series([0.01] * 10, [0.01] * 10, canary_rps=0.2)  # 120 requests
    unknown = series([0.01] * 10, [0.01] * 10, canary_rps=None)
    judge = u_judge(JudgeConfig(min_requests=100), window_s=60)
    assert judge.judge(quiet).result == VerdictResult.NODATA
    assert (
        "canary served 60 requests in the judged windows, 100 needed" in judge.judge(quiet).reason
    )
    assert judge.judge(busy).result == VerdictResult.PASS
    assert judge.judge(unknown).result == VerdictResult.NODATA
    assert u_judge(JudgeConfig(min_requests=0)).judge(unknown).result == VerdictResult.PASS


def test_low_is_a_pass_for_increase_and_a_failure_for_either() -> None:
    base = [0.02, 0.021, 0.019, 0.02, 0.0205, 0.0195, 0.02, 0.0202, 0.0198, 0.0201]
    fixed = [v / 4 for v in base]
    increase = u_judge(JudgeConfig(latency=False)).judge(series(base, fixed))
    either = u_judge(JudgeConfig(latency=False, direction="either")).judge(series(base, fixed))
    assert increase.metrics[0].label == either.metrics[0].label == MetricLabel.LOW
    assert increase.result == VerdictResult.PASS
    assert either.result == VerdictResult.FAIL


def metric(label: MetricLabel, *, critical: bool = False, name: str = "m") -> MetricVerdict:
    return MetricVerdict(name, label, critical=critical, sentence=f"{name}: {label.value}")


P, H, N = MetricLabel.PASS, MetricLabel.HIGH, MetricLabel.NODATA


def test_score_all_nodata_is_nodata() -> None:
    verdict = score([metric(N), metric(N)], JudgeConfig())
    assert verdict.result == VerdictResult.NODATA
    assert verdict.score is None


def test_score_critical_high_fails_everything() -> None:
    many = [metric(P, name=f"m{i}") for i in range(9)]
    assert score(many + [metric(H)], JudgeConfig()).result == VerdictResult.PASS  # 90
    failed = score(many + [metric(H, critical=True, name="errors")], JudgeConfig())
    assert failed.result == VerdictResult.FAIL
    assert failed.score == 0.0
    assert "errors: HIGH (critical)" in failed.reason


def test_score_exactly_at_the_thresholds() -> None:
    three_of_four = [metric(P), metric(P), metric(P), metric(H)]  # 75
    assert score(three_of_four, JudgeConfig()).result == VerdictResult.MARGINAL
    assert score(three_of_four, JudgeConfig(pass_score=75)).result == VerdictResult.PASS
    assert score(three_of_four, JudgeConfig(marginal_score=75.1)).result == VerdictResult.FAIL
    nine_of_ten = [metric(P)] * 9 + [metric(H)]  # 90
    assert score(nine_of_ten, JudgeConfig()).result == VerdictResult.PASS
    assert score(nine_of_ten, JudgeConfig(pass_score=90.1)).result == VerdictResult.MARGINAL


def test_score_half_without_data_is_nodata_not_pass() -> None:
    verdict = score([metric(P), metric(N)], JudgeConfig())
    assert verdict.result == VerdictResult.NODATA
    assert verdict.score == 0.0
    assert score([metric(P), metric(P), metric(N)], JudgeConfig()).result == VerdictResult.PASS


def test_latency_gap_alone_stops_a_pass() -> None:
    samples = [sample(60.0 * i, error=(0.01, 0.01), rps=(50.0, 5.0), span=60.0) for i in range(10)]
    assert u_judge(JudgeConfig()).judge(samples).result == VerdictResult.NODATA
    assert u_judge(JudgeConfig(latency=False)).judge(samples).result == VerdictResult.PASS


def test_config_rejects_min_samples_above_lookback() -> None:
    data = {"rollouts": [{"name": "r", "judge": {"lookback": 3, "min_samples": 5}}]}
    with pytest.raises(ConfigError, match="min_samples"):
        parse(data)


def test_only_samples_a_window_apart_are_compared() -> None:
    """Polled every 10 s with a 60 s window, one bad minute shows in six samples: one window."""
    samples = series([0.01] * 60, [0.01] * 54 + [0.03] * 6)
    polled = [replace(s, t=10.0 * i) for i, s in enumerate(samples)]
    verdict = u_judge(JudgeConfig(latency=False, max_error_rate=1.0)).judge(polled)
    (metric,) = verdict.metrics
    assert metric.n_canary == 10
    assert verdict.result == VerdictResult.PASS  # six overlapping copies would have been HIGH
    assert [s.t for s in independent(polled, 60.0, 3)] == [470.0, 530.0, 590.0]


def test_a_gap_in_the_newest_poll_is_nodata_not_a_second_look() -> None:
    samples = [*series([0.01] * 10, [0.08] * 10), Sample(t=601.0)]
    verdict = u_judge(JudgeConfig()).judge(samples)
    assert verdict.result == VerdictResult.NODATA
    assert "newest poll returned no metric values" in verdict.reason


def test_error_guard_pools_requests_so_one_error_is_not_a_rollback() -> None:
    """1 error in 19 requests reads 5.3 %; over 100 requests it is the 1 % it is."""
    base = [0.005] * 10
    lucky = [0.0] * 9 + [1 / 19]
    samples = series(base, lucky, canary_rps=19 / 60)
    verdict = u_judge(JudgeConfig(latency=False)).judge(samples)
    assert verdict.metrics[0].label != MetricLabel.HIGH
    assert u_judge(JudgeConfig(latency=False, min_requests=0)).judge(samples).result == (
        VerdictResult.FAIL
    )


def test_conclusive_n_is_where_the_exact_test_can_first_fail() -> None:
    for confidence in (0.9, 0.95, 0.98, 0.99):
        n = conclusive_n(confidence)
        low, high = list(range(n)), list(range(n, 2 * n))  # fully separated: the smallest p
        assert mannwhitneyu(high, low, method="exact").pvalue < 1 - confidence
        low, high = list(range(n - 1)), list(range(n - 1, 2 * n - 2))
        assert mannwhitneyu(high, low, method="exact").pvalue >= 1 - confidence


# --- the facade: which judge judges what -------------------------------------------------------


def test_method_mann_whitney_judges_every_metric_by_its_u_test() -> None:
    cfg = JudgeConfig(method="mann-whitney")
    samples = series([0.01] * 10, [0.05] * 10)
    verdict = Judge(metrics_for(cfg), cfg, 60.0).judge(
        samples, run_since=None, step_since=None, canary_expected=True
    )
    assert verdict == u_judge(cfg).judge(samples)
    assert verdict.result == VerdictResult.FAIL
    assert all(m.evidence is None for m in verdict.metrics)  # no sequential evidence


def test_a_metric_read_as_values_only_is_judged_by_its_u_test() -> None:
    """An `error_rate_query` override gives error rates, not 5xx counts: under the sequential
    default that metric falls back to the U test; the counted latency stays sequential."""
    cfg = JudgeConfig()
    samples = [
        Sample(
            60.0 * i,
            60.0,
            Side(3000.0, (None, 30.0), (0.01, 100.0)),
            Side(300.0, (None, 3.0), (0.05, 100.0)),
        )
        for i in range(10)
    ]
    verdict = Judge(metrics_for(cfg), cfg, 60.0).judge(
        samples, run_since=None, step_since=None, canary_expected=True
    )
    errors, latency = verdict.metrics
    assert errors.p_value is not None and errors.evidence is None
    assert errors.label == MetricLabel.HIGH and verdict.result == VerdictResult.FAIL
    assert latency.evidence is not None and latency.p_value is None
