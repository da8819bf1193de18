"""The Mann-Whitney judge's fast path (numpy columns, a vectorised walk) against the straightforward
per-sample judge it replaced: the same verdicts, numbers and sentences on many generated series of
metric values (per version, as the sources make samples: requests over a window's span and the
values)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pytest

from monotui.config import JudgeConfig
from monotui.judge.mann_whitney import (
    MannWhitneyJudge,
    _effect,
    _p,
    _times,
    independent,
    mann_whitney,
    score,
)
from monotui.metrics import metrics_for
from monotui.model import MetricLabel, MetricVerdict, Sample, Side, Verdict, VerdictResult

# ---- the reference: one sample at a time, Python lists, np.median -------------------------------


def ref_has_data(sample: Sample) -> bool:
    values = (*sample.baseline.values, *sample.canary.values)
    return any(v is not None and not math.isnan(v) for v in values)


def ref_independent(samples: Sequence[Sample], window_s: float, count: int) -> list[Sample]:
    picked: list[Sample] = []
    for sample in reversed(samples):
        if len(picked) >= count:
            break
        if picked and picked[-1].t - sample.t < window_s * 0.99:
            continue
        if ref_has_data(sample):
            picked.append(sample)
    return picked[::-1]


def clean(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


@dataclass(frozen=True)
class RefMetric:
    name: str
    words: str
    index: int  # in each side's values
    show: Callable[[float], str]
    critical: bool
    limit: float | None
    allowed: float


def ref_metrics(cfg: JudgeConfig) -> list[RefMetric]:
    out = [
        RefMetric(
            "error_rate",
            "canary 5xx",
            0,
            lambda v: f"{v * 100:.2f} %",
            cfg.error_rate_critical,
            cfg.max_error_rate,
            cfg.allowed_increase,
        )
    ]
    if cfg.latency:
        out.append(
            RefMetric(
                "latency_p99_ms",
                "canary p99",
                1,
                lambda v: f"{v:.0f} ms",
                cfg.latency_critical,
                cfg.max_latency_ms,
                cfg.latency_allowed_increase,
            )
        )
    return out


def judge_of(cfg: JudgeConfig, window_s: float) -> MannWhitneyJudge:
    return MannWhitneyJudge(metrics_for(cfg), cfg, window_s)


def at(t: float, span: float, baseline: Side, canary: Side) -> Sample:
    return Sample(t, span, baseline, canary)


def values(requests: float | None, *vs: float | None) -> Side:
    """One side: requests over the span (None: no series) and the metric values."""
    return Side(requests, (), tuple(vs))


def ref_newest(
    m: RefMetric, recent: list[Sample], cfg: JudgeConfig, window_s: float
) -> float | None:
    total = weighted = 0.0
    for sample in reversed(recent):
        value = sample.canary.value(m.index)
        if value is None or math.isnan(value):
            continue
        rate = sample.request_rate.canary
        requests = 0.0 if rate is None or math.isnan(rate) else rate * window_s
        if total == 0 and requests == 0:
            return float(value)
        total += requests
        weighted += value * requests
        if total >= cfg.min_requests:
            break
    return weighted / total if total > 0 else None


def ref_metric(
    m: RefMetric, recent: list[Sample], cfg: JudgeConfig, window_s: float
) -> MetricVerdict:
    show = m.show
    base = clean([s.baseline.value(m.index) for s in recent])
    can = clean([s.canary.value(m.index) for s in recent])
    b = float(np.median(base)) if base else None
    c = float(np.median(can)) if can else None
    effect = _effect(c, b) if c is not None and b is not None else None
    numbers = MetricVerdict(
        m.name, MetricLabel.NODATA, b, c, None, effect, len(base), len(can), m.critical
    )
    newest = ref_newest(m, recent, cfg, window_s) if m.limit is not None else None
    if m.limit is not None and newest is not None and newest > m.limit:
        shown_b = show(b) if b is not None else "no data"
        sentence = f"{m.words} {show(newest)} now, above the {show(m.limit)} limit (baseline {shown_b}): HIGH"
        return replace(numbers, label=MetricLabel.HIGH, sentence=sentence)
    n = min(len(base), len(can))
    if b is None or c is None or n < cfg.min_samples:
        sentence = f"{m.words}: {n} samples per side, {cfg.min_samples} needed: NODATA"
        return replace(numbers, label=MetricLabel.NODATA, sentence=sentence)
    assert effect is not None
    test = mann_whitney(can, base)  # Python lists in time order, as the old judge passed them
    label, gate = MetricLabel.PASS, ""
    if test.p_value < 1 - cfg.confidence:
        if not test.canary_higher:
            label = MetricLabel.LOW
        elif m.allowed > 1.0 and effect <= m.allowed:
            gate = f" within {m.allowed:g}x allowed"
        else:
            label = MetricLabel.HIGH
    sentence = (
        f"{m.words} {show(c)} vs baseline {show(b)}, "
        f"{_p(test.p_value)}, {_times(effect)}{gate}: {label.value}"
    )
    return replace(numbers, label=label, p_value=test.p_value, sentence=sentence)


def reference_judge(cfg: JudgeConfig, window_s: float, samples: Sequence[Sample]) -> Verdict:
    if samples and not ref_has_data(samples[-1]):
        return Verdict.no_data("the newest poll returned no metric values")
    recent = ref_independent(samples, window_s, cfg.lookback)
    metrics = ref_metrics(cfg)
    judged = tuple(ref_metric(m, recent, cfg, window_s) for m in metrics)
    rates = clean([s.request_rate.canary for s in recent])
    requests = sum(rates) * window_s if rates else None
    if cfg.min_requests > 0 and (requests is None or requests < cfg.min_requests):
        why = (
            "no canary request rate"
            if requests is None
            else f"canary served {requests:.0f} requests in the judged windows, "
            f"{cfg.min_requests:.0f} needed"
        )
        words = {m.name: m.words for m in metrics}
        quiet = tuple(
            replace(m, label=MetricLabel.NODATA, sentence=f"{words[m.name]}: {why}: NODATA")
            for m in judged
        )
        return Verdict(VerdictResult.NODATA, None, why, quiet)
    return score(judged, cfg)


# ---- generated series ----------------------------------------------------------------------------


def value(rng: random.Random, level: float, decimals: int | None, holes: float) -> float | None:
    roll = rng.random()
    if roll < holes:
        return None if rng.random() < 0.5 else math.nan
    if roll < holes + 0.02:
        return rng.choice([0.0, -0.0])
    v = max(0.0, rng.gauss(level, level * 0.2))
    return round(v, decimals) if decimals is not None else v


def generated(seed: int) -> tuple[JudgeConfig, float, list[Sample]]:
    """A random config and series: gaps (None, NaN, empty polls), ties, jittered and odd times."""
    rng = random.Random(seed)
    window_s = rng.choice([10.0, 60.0])
    long = rng.random() < 0.15
    n = rng.randint(600, 1900) if long else rng.randint(0, 90)
    lookback = rng.choice([600, 200]) if long else rng.randint(1, 40)
    cfg = JudgeConfig(
        lookback=lookback,
        min_samples=rng.randint(1, min(lookback, 8)),
        min_requests=rng.choice([0.0, 100.0, 2000.0]),
        latency=rng.random() < 0.7,
        max_latency_ms=rng.choice([None, 250.0]),
        allowed_increase=rng.choice([1.0, 1.2]),
        direction=rng.choice(["increase", "either"]),
        confidence=rng.choice([0.98, 0.9]),
    )
    # Polls slower than, as slow as, or faster than the window; sometimes out of order.
    step = rng.choice([window_s, window_s * 0.99, window_s / 6, window_s / 2.5])
    jitter = rng.choice([0.0, 0.0, step * 0.02])
    decimals = rng.choice([None, 3, 4, 2])
    holes = rng.choice([0.0, 0.0, 0.05, 0.3])
    empty = rng.choice([0.0, 0.0, 0.1, 0.5])
    shift = rng.choice([1.0, 1.0, 1.6, 0.5, 4.0])
    rate_kind = rng.choice(["busy", "busy", "quiet", "none", "gappy"])
    t = 1_700_000_000.0
    samples: list[Sample] = []
    for _ in range(n):
        t += step + rng.uniform(-jitter, jitter)
        if rng.random() < 0.01:
            t -= rng.choice([step, 3 * step])  # a clock step back
        # Requests over a span of one window: the request rate x the window, as a poll counts.
        if rng.random() < empty:
            rps = rng.choice([None, 5.0])
            canary = values(None if rps is None else rps * window_s)
            samples.append(at(t, window_s, values(50.0 * window_s), canary))
            continue
        rate: float | None = {"busy": 5.0, "quiet": 0.01, "none": None}.get(rate_kind)
        if rate_kind == "gappy":
            rate = rng.choice([None, math.nan, 0.0, 0.3, 4.0])
        err_b, err_c = value(rng, 0.01, decimals, holes), value(rng, 0.01 * shift, decimals, holes)
        lat_b, lat_c = value(rng, 180.0, 0, holes), value(rng, 180.0 * shift, 0, holes)
        requests = None if rate is None else rate * window_s
        # A sample carries the values of the rollout's metrics: no p99 when latency is off.
        base = (err_b, lat_b) if cfg.latency else (err_b,)
        can = (err_c, lat_c) if cfg.latency else (err_c,)
        samples.append(at(t, window_s, values(50.0 * window_s, *base), values(requests, *can)))
    return cfg, window_s, samples


def same_float(a: float | None, b: float | None, tol: float = 0.0) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if tol:
        return abs(a - b) <= tol
    return a == b and math.copysign(1, a) == math.copysign(1, b)


SEEDS = range(1000)


def test_fast_judge_gives_the_reference_verdicts() -> None:
    seen: Counter[str] = Counter()
    for seed in SEEDS:
        cfg, window_s, samples = generated(seed)
        got = judge_of(cfg, window_s).judge(samples)
        want = reference_judge(cfg, window_s, samples)
        where = f"seed {seed}"
        assert (got.result, got.reason) == (want.result, want.reason), where
        assert same_float(got.score, want.score), where
        assert len(got.metrics) == len(want.metrics), where
        for g, w in zip(got.metrics, want.metrics, strict=True):
            assert (g.name, g.label, g.sentence, g.critical) == (
                w.name,
                w.label,
                w.sentence,
                w.critical,
            ), where
            assert (g.n_baseline, g.n_canary) == (w.n_baseline, w.n_canary), where
            assert same_float(g.baseline, w.baseline), where  # medians to the bit
            assert same_float(g.canary, w.canary), where
            assert same_float(g.effect, w.effect), where
            assert same_float(g.p_value, w.p_value, tol=1e-12), where
            seen[g.label.value] += 1
        seen[got.result.value] += 1
    # The comparison is only worth something if the generator reaches every outcome.
    for outcome in ("PASS", "HIGH", "LOW", "NODATA", "FAIL"):  # 1 or 2 metrics: no MARGINAL
        assert seen[outcome] > 0, f"no {outcome} among the generated cases: {seen}"


@pytest.mark.parametrize("seed", range(0, 1000, 5))
def test_independent_picks_the_same_samples(seed: int) -> None:
    cfg, window_s, samples = generated(seed)
    for count in (1, 3, cfg.lookback, 2000):
        got = independent(samples, window_s, count)
        want = ref_independent(samples, window_s, count)
        assert [id(s) for s in got] == [id(s) for s in want], (seed, count)


def test_a_long_walk_past_the_first_tail_picks_the_same_samples() -> None:
    """1 s polls with a 60 s window: 600 picks need all 36 000 samples, read in growing tails."""
    samples = [
        at(float(i), 60.0, values(300.0, 0.01), values(300.0, 0.01 if i % 7 else None))
        for i in range(36_000)
    ]
    samples[35_939] = Sample(35_939.0)  # the second pick is a gap: the walk takes the next one
    got = independent(samples, 60.0, 600)
    assert [s.t for s in got] == [s.t for s in ref_independent(samples, 60.0, 600)]
    assert [s.t for s in got[-3:]] == [35_878.0, 35_938.0, 35_999.0]
    assert (len(got), got[0].t) == (600, 58.0)


@pytest.mark.parametrize("window_s", [0.0, -60.0, math.inf, -math.inf, math.nan, 1e-9, 1e9])
@pytest.mark.parametrize("times", ["nan", "inf", "equal", "backwards"])
def test_odd_windows_and_times_pick_the_same_samples(window_s: float, times: str) -> None:
    """Nonsense windows and clocks are not judged sensibly, but the same as before, and they end."""
    clocks: dict[str, Callable[[int], float]] = {
        "nan": lambda i: math.nan if i % 3 else float(i),
        "inf": lambda i: math.inf if i == 20 else float(i),
        "equal": lambda i: 5.0,
        "backwards": lambda i: 100.0 - i,
    }
    t = clocks[times]
    samples = [
        at(t(i), 0.0, values(None, 0.01), values(None, None if i % 4 else 0.02)) for i in range(40)
    ]
    for count in (0, 1, 5, 40):
        got = independent(samples, window_s, count)
        assert [id(s) for s in got] == [id(s) for s in ref_independent(samples, window_s, count)]
