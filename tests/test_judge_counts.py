"""The sequential judge on counts (monotui.judge.counts.CountJudge), through samples as the
sources make them: what PASS, FAIL, NO DATA and an incident mean (the module's docstring), the
guards relative to the baseline, where a run of canary traffic starts, and the incremental cache
that must give the verdict judging from scratch gives."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from monotui.config import JudgeConfig
from monotui.judge.counts import RUN_BREAK_POLLS, CountJudge, run_start
from monotui.metrics import metrics_for
from monotui.model import MetricLabel, Sample, Side, Verdict, VerdictResult

T = 1_800_000_000.0  # an epoch-scale clock, as the sources stamp samples
SPAN = 10.0
NO_LATENCY = JudgeConfig(latency=False)


def side(requests: float | None, errors: float | None = 0.0) -> Side:
    """One version in one poll: its requests and 5xx (None: no series)."""
    if requests is None:
        return Side()
    value = errors / requests if errors is not None and requests > 0 else None
    return Side(requests, (errors,), (value,))


def poll(k: int, baseline: Side, canary: Side) -> Sample:
    """Poll `k`, covering the SPAN seconds before T + k * SPAN."""
    return Sample(T + k * SPAN, SPAN, baseline, canary)


def polls(
    n: int,
    baseline: tuple[float, float],
    canary: tuple[float, float],
    *,
    first: int = 1,
    seed: int | None = None,
) -> list[Sample]:
    """`n` polls of (requests, error share) per version: exact expected counts, or drawn
    (Poisson requests, binomial 5xx) from `seed`."""
    rng = random.Random(seed)
    out = []
    for k in range(first, first + n):
        sides = []
        for rate, share in (baseline, canary):
            if seed is None:
                sides.append(side(rate, rate * share))
                continue
            requests = _poisson(rng, rate)
            errors = sum(rng.random() < share for _ in range(int(requests)))
            sides.append(side(requests, float(errors)))
        out.append(poll(k, sides[0], sides[1]))
    return out


def _poisson(rng: random.Random, mean: float) -> float:
    if mean > 50:
        return float(max(0, round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return float(k)
        k += 1


def judge(
    samples: Sequence[Sample],
    cfg: JudgeConfig = NO_LATENCY,
    *,
    run_since: float | None = T,
    step_since: float | None = None,
    canary_expected: bool | None = True,
    judge_: CountJudge | None = None,
) -> Verdict:
    j = judge_ or CountJudge(metrics_for(cfg), cfg)
    return j.judge(
        samples, run_since=run_since, step_since=step_since, canary_expected=canary_expected
    )


# --- PASS: no evidence of harm, and what it rests on -----------------------------------------


def test_little_canary_traffic_is_a_pass_that_says_what_it_rests_on_never_no_data() -> None:
    quiet = polls(3, (200, 0.005), (2, 0.0))
    verdict = judge(quiet)
    assert verdict.result == VerdictResult.PASS
    assert verdict.canary_requests == 6
    assert verdict.reason.startswith("no evidence of harm (5xx evidence ")
    assert "of the 100x that rolls back); rests on 6 canary requests in this step" in verdict.reason
    assert "5xx: evidence" in verdict.metrics[0].sentence
    idle = judge(polls(3, (200, 0.005), (0, 0.0)))  # the series are there, the requests are not
    assert idle.result == VerdictResult.PASS and idle.canary_requests == 0
    assert "rests on 0 canary requests in this step" in idle.reason


def test_a_healthy_canary_passes_however_long_it_is_watched() -> None:
    samples = polls(360, (2000, 0.005), (200, 0.005), seed=7)  # an hour of 10 s polls
    cfg = NO_LATENCY
    j = CountJudge(metrics_for(cfg), cfg)
    results = {judge(samples[: k + 1], judge_=j).result for k in range(len(samples))}
    assert results == {VerdictResult.PASS}
    evidence = judge(samples, judge_=j).metrics[0].evidence
    assert evidence is not None and evidence.e_value < evidence.limit
    assert evidence.run_canary_requests == sum(s.canary.requests or 0 for s in samples)


# --- FAIL: the evidence reaches 1/alpha ------------------------------------------------------


def test_a_5x_canary_fails_on_evidence_and_says_so() -> None:
    samples = polls(60, (2000, 0.005), (200, 0.025), seed=3)
    cfg = NO_LATENCY
    j = CountJudge(metrics_for(cfg), cfg)
    verdicts = [judge(samples[: k + 1], judge_=j) for k in range(len(samples))]
    failed = next(v for v in verdicts if v.result == VerdictResult.FAIL)
    assert failed.score == 0.0
    (metric,) = failed.metrics
    assert metric.label == MetricLabel.HIGH
    assert metric.evidence is not None
    assert metric.evidence.e_value >= metric.evidence.limit == 1 / cfg.alpha
    assert metric.evidence.ci_low is not None and metric.evidence.ci_low >= cfg.allowed_increase
    assert failed.reason.startswith("5xx: evidence ")
    assert "reaches the 100x that rolls back" in failed.reason
    assert metric.canary is not None and metric.canary < cfg.max_error_rate  # not the guard
    before = verdicts[: verdicts.index(failed)]
    assert before and all(v.result == VerdictResult.PASS for v in before)
    assert before[-1].score is not None and before[-1].score < 100  # evidence was growing


# --- NO DATA: a canary without data while the route sends it traffic --------------------------


def test_no_canary_series_while_the_route_sends_it_traffic_is_no_data() -> None:
    samples = [*polls(5, (200, 0.005), (20, 0.0)), poll(6, side(200, 1), Side())]
    verdict = judge(samples)
    assert verdict.result == VerdictResult.NODATA and verdict.score is None
    assert verdict.reason == (
        "no canary data in the newest poll (no series, NaN or +Inf) while the route sends it "
        "traffic"
    )
    (metric,) = verdict.metrics
    assert metric.label == MetricLabel.NODATA
    assert metric.sentence.startswith("canary 5xx: no canary data in the newest poll")
    assert verdict.canary_requests == 100  # what the step had before it vanished
    # The same poll while the route sends the canary nothing: not NO DATA for the canary.
    assert judge(samples, canary_expected=False).result == VerdictResult.PASS


def test_an_empty_poll_is_no_data_and_a_gap_before_the_newest_costs_nothing() -> None:
    healthy = polls(5, (200, 0.005), (20, 0.0))
    empty = [*healthy, Sample(T + 6 * SPAN)]
    assert judge(empty).result == VerdictResult.NODATA
    assert judge(empty).reason == "the newest poll returned no metric values"
    gap_then_data = [*empty, *polls(1, (400, 0.005), (40, 0.0), first=7)]  # covers the gap
    verdict = judge(gap_then_data)
    assert verdict.result == VerdictResult.PASS
    assert verdict.canary_requests == 140


def test_a_canary_that_vanishes_while_the_route_is_unread_is_no_data_not_a_pass() -> None:
    # The router has failed since start-up: its weights are unknown (canary_expected None).
    healthy = polls(5, (200, 0.005), (20, 0.0))
    assert judge(healthy, canary_expected=None).result == VerdictResult.PASS  # data: judged
    vanished = [*healthy, poll(6, side(200, 1), Side())]
    verdict = judge(vanished, canary_expected=None)
    assert verdict.result == VerdictResult.NODATA, verdict.reason
    assert verdict.reason == (
        "no canary data in the newest poll (no series, NaN or +Inf), and the route's weights "
        "are unknown (not read yet)"
    )
    idle = judge(polls(5, (200, 0.005), (0, 0.0)), canary_expected=None)
    assert idle.result == VerdictResult.NODATA  # no traffic, weight unknown: never a PASS
    assert "the route's weights are unknown" in idle.reason


def test_a_failing_canary_that_then_vanishes_stays_failed() -> None:
    failing = polls(12, (2000, 0.005), (200, 0.2))  # 40x the baseline's 5xx
    assert judge(failing).result == VerdictResult.FAIL
    vanished = [*failing, poll(13, side(2000, 10), Side())]
    verdict = judge(vanished)
    assert verdict.result == VerdictResult.FAIL, verdict.reason  # the harm found stands
    assert verdict.metrics[0].label == MetricLabel.HIGH


def test_the_mann_whitney_judge_never_passes_a_canary_that_vanished() -> None:
    from monotui.judge import Judge

    cfg = JudgeConfig(method="mann-whitney", latency=False, min_requests=0, min_samples=3)
    healthy = polls(30, (200, 0.005), (20, 0.005), seed=3)
    j = Judge(metrics_for(cfg), cfg, SPAN)

    def verdict(samples: Sequence[Sample], expected: bool | None) -> Verdict:
        return j.judge(samples, run_since=T, step_since=None, canary_expected=expected)

    assert verdict(healthy, True).result == VerdictResult.PASS
    vanished = [*healthy, poll(31, side(200, 1), Side())]
    gone = verdict(vanished, True)
    assert gone.result == VerdictResult.NODATA, gone.reason
    assert "no canary data in the newest poll" in gone.reason
    assert all(m.label == MetricLabel.NODATA for m in gone.metrics)
    assert verdict(vanished, None).result == VerdictResult.NODATA
    assert verdict(vanished, False).result == VerdictResult.PASS  # the route sends it nothing


def test_a_canary_at_weight_zero_without_traffic_is_no_data_and_nothing_read_is_no_data() -> None:
    samples = polls(5, (200, 0.005), (0, 0.0))
    verdict = judge(samples, canary_expected=False)
    assert verdict.result == VerdictResult.NODATA
    assert verdict.reason == "the canary takes no traffic (weight 0)"
    assert judge([]).reason == "no metrics read yet"
    assert judge([Sample(T), Sample(T + SPAN)]).result == VerdictResult.NODATA


# --- the absolute guards, relative to the baseline ---------------------------------------------


def test_both_versions_above_the_limit_is_an_incident_not_the_canary() -> None:
    verdict = judge(polls(6, (2000, 0.08), (200, 0.08)))
    assert verdict.result == VerdictResult.MARGINAL and verdict.incident
    assert verdict.reason == (
        "both versions failing: not the canary (canary 5xx 8.00 % now, above the "
        "5.00 % limit, baseline 8.00 % too)"
    )
    assert verdict.metrics[0].both_failing and verdict.metrics[0].label == MetricLabel.PASS


def test_the_guard_fires_when_the_canary_is_above_the_limit_and_worse_than_the_baseline() -> None:
    cfg = JudgeConfig(latency=False, allowed_increase=20.0)  # the evidence alone would not fire
    worse = judge(polls(6, (2000, 0.01), (200, 0.06)), cfg)
    assert worse.result == VerdictResult.FAIL
    assert worse.reason.startswith(
        "canary 5xx 6.00 % now, above the 5.00 % limit and worse than the baseline "
        "(1.00 %; canary/baseline at least "
    )
    assert worse.reason.endswith("): HIGH")
    assert "reaches" not in worse.reason


def test_above_the_limit_but_not_worse_than_the_baseline_is_no_rollback() -> None:
    # Baseline 4.5 %, canary 5.5 % on a few hundred requests: above the limit, but no evidence
    # that the canary is worse (the baseline is close to the limit itself).
    verdict = judge(polls(3, (2000, 0.045), (100, 0.055)))
    assert verdict.result == VerdictResult.PASS
    (metric,) = verdict.metrics
    assert metric.canary is not None and metric.canary > 0.05
    assert metric.baseline is not None and metric.baseline < 0.05
    assert metric.label == MetricLabel.PASS and not metric.both_failing


def test_without_baseline_traffic_the_limit_alone_decides() -> None:
    """Promoted (or a canary-only route): nothing to compare with, so the limit decides."""
    bad = judge(polls(3, (0, 0.0), (200, 0.08)))
    assert bad.result == VerdictResult.FAIL
    assert bad.reason == (
        "canary 5xx 8.00 % now, above the 5.00 % limit, and no baseline traffic to "
        "compare with: HIGH"
    )
    assert judge(polls(3, (0, 0.0), (200, 0.01))).result == VerdictResult.PASS


def test_the_latency_guard_names_the_p99() -> None:
    """p99 900 ms against the baseline's 100 ms, above max_latency_ms, with more slow requests
    (the evidence alone would tolerate 50x): the guard reads in the p99's words and unit."""
    cfg = JudgeConfig(max_latency_ms=500, latency_allowed_increase=50.0)
    samples = [
        poll(k, Side(2000, (10.0, 20.0), (0.005, 100.0)), Side(200, (1.0, 60.0), (0.005, 900.0)))
        for k in range(1, 7)
    ]
    verdict = judge(samples, cfg)
    assert verdict.result == VerdictResult.FAIL
    assert verdict.reason.startswith(
        "canary p99 900 ms now, above the 500 ms limit and worse than the baseline "
        "(100 ms; canary/baseline at least "
    )


# --- where the run of canary traffic starts ----------------------------------------------------


def test_run_start_is_read_from_a_stretch_without_canary_traffic() -> None:
    """A canary that was bad, then took no traffic for RUN_BREAK_POLLS polls (rolled back), then
    came back healthy: its evidence starts again; the old run does not count against it."""
    old = polls(30, (2000, 0.005), (200, 0.05))
    pause = polls(RUN_BREAK_POLLS, (2000, 0.005), (0, 0.0), first=31)
    again = polls(20, (2000, 0.005), (200, 0.005), first=31 + RUN_BREAK_POLLS)
    samples = [*old, *pause, *again]
    assert run_start(samples) == pause[-1].t  # just before the canary served again
    inferred = judge(samples, run_since=None)
    assert inferred.result == VerdictResult.PASS
    evidence = inferred.metrics[0].evidence
    assert evidence is not None and evidence.run_canary_requests == 20 * 200
    told = judge(samples, run_since=T)  # told the run started before the bad stretch
    assert told.result == VerdictResult.FAIL
    short = [*old, *pause[:-1], *again]  # one quiet poll short: the same run
    assert run_start(short) == old[0].t - SPAN  # where the first poll's span starts
    assert judge(short, run_since=None).result == VerdictResult.FAIL


def test_an_inferred_run_counts_the_first_poll() -> None:
    """At epoch-scale times: the first poll's canary requests are part of the run and of what a
    PASS rests on (they were left out when the start was t - 1e-9 == t)."""
    samples = polls(3, (200, 0.005), (20, 0.0))
    verdict = judge(samples, run_since=None)
    assert verdict.canary_requests == 60
    assert "rests on 60 canary requests" in verdict.reason
    evidence = verdict.metrics[0].evidence
    assert evidence is not None and evidence.run_canary_requests == 60
    assert judge(samples[:1], run_since=None).canary_requests == 20  # the very first poll


# --- the incremental cache ---------------------------------------------------------------------


@pytest.mark.parametrize("run_since", [T, None])
def test_the_incremental_cache_gives_the_verdict_judged_from_scratch(
    run_since: float | None,
) -> None:
    """Poll by poll with gaps, two metrics and a step change half way: the judge that extends
    its cached evidence says exactly what a fresh judge says on the same samples."""
    cfg = JudgeConfig()
    rng = random.Random(11)
    samples = []
    for s in polls(120, (1500, 0.005), (150, 0.008), seed=5):
        if rng.random() < 0.05:
            samples.append(Sample(s.t))  # a failed poll: a gap
            continue
        slow = (s.baseline.requests or 0) * 0.01, (s.canary.requests or 0) * 0.012
        samples.append(
            Sample(s.t, s.span_s, _with_slow(s.baseline, slow[0]), _with_slow(s.canary, slow[1]))
        )
    half = len(samples) // 2
    kept = CountJudge(metrics_for(cfg), cfg)
    for n in range(1, len(samples) + 1):
        step_since = samples[half].t if n > half else None
        incremental = judge(
            samples[:n], cfg, run_since=run_since, step_since=step_since, judge_=kept
        )
        if n % 7 and n not in (half + 1, len(samples)):
            continue  # from scratch costs the whole run each time: look every seventh poll
        scratch = judge(samples[:n], cfg, run_since=run_since, step_since=step_since)
        assert incremental == scratch, n


def test_a_run_with_nothing_before_it_is_judged_the_same_live_and_from_scratch() -> None:
    """Past the dispersion window's 60 polls: a fresh judge on the whole run (status, backtest)
    must not seed the window with baseline polls the live judge had not seen yet."""
    samples = polls(200, (2000, 0.005), (200, 0.009), seed=9)
    live = CountJudge(metrics_for(NO_LATENCY), NO_LATENCY)
    for n in range(1, len(samples) + 1):
        verdict = judge(samples[:n], judge_=live)
        if n in (61, 100, 200):
            assert verdict == judge(samples[:n]), n


def test_the_cache_keeps_the_run_when_the_oldest_samples_are_dropped() -> None:
    """The observer keeps the newest samples only: the evidence of the run goes on from what the
    dropped samples showed, as if judged over the whole run."""
    samples = polls(200, (2000, 0.005), (200, 0.009), seed=9)
    cfg = NO_LATENCY
    kept = CountJudge(metrics_for(cfg), cfg)
    for n in range(1, len(samples) + 1):
        sliding = judge(samples[max(0, n - 50) : n], run_since=None, judge_=kept)
    whole = judge(samples, run_since=None)
    assert sliding.result == whole.result
    a, b = sliding.metrics[0].evidence, whole.metrics[0].evidence
    assert a is not None and b is not None
    assert a.e_value == pytest.approx(b.e_value, rel=1e-9)
    assert a.run_canary_requests == b.run_canary_requests


def _with_slow(s: Side, slow: float) -> Side:
    if s.requests is None:
        return s
    return Side(s.requests, (s.bad_of(0), slow), (s.value(0), 100.0))


def test_a_metric_that_counts_nothing_of_the_canarys_requests_is_no_data_not_a_pass() -> None:
    """A canary whose duration histogram lost its +Inf bucket serves requests, but its slow
    requests cannot be counted: the latency metric is NO DATA (and so the verdict), never the
    PASS "no evidence yet" that too little traffic is. A HIGH on another metric still fails."""
    cfg = JudgeConfig(latency=True, slow_ms=250)

    def sample(k: int, canary_5xx: float, canary_slow: float | None) -> Sample:
        baseline = Side(200.0, (1.0, 2.0), (0.005, 100.0))
        canary = Side(50.0, (canary_5xx, canary_slow), (canary_5xx / 50, None))
        return poll(k, baseline, canary)

    blind = [sample(k, 0.0, None) for k in range(1, 6)]
    verdict = judge(blind, cfg)
    assert verdict.result == VerdictResult.NODATA and verdict.score is None
    errors, latency = verdict.metrics
    assert errors.label == MetricLabel.PASS
    assert latency.label == MetricLabel.NODATA
    assert latency.sentence.endswith(
        "in this step's 250 canary requests (no series, NaN or +Inf): NO DATA"
    )
    assert verdict.reason == latency.sentence
    # Once the histogram is whole again the step counts it: a PASS that says what it rests on.
    mended = [*blind, *(sample(k, 0.0, 0.0) for k in range(6, 9))]
    assert judge(mended, cfg).result == VerdictResult.PASS
    # Errors far above the baseline's are evidence whatever the latency says.
    failing = [sample(k, 25.0, None) for k in range(1, 6)]
    assert judge(failing, cfg).result == VerdictResult.FAIL
