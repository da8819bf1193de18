"""Many rollouts judged in one round (monotui.judge.counts.judge_many: their evidence advanced in one
SequentialTest batch per test and poll) against each judged alone: every verdict the same to the
last bit (repr), poll by poll, through gaps, quiet canaries, missing and NaN canary data, step
changes, sliding windows, rollouts with nothing to judge yet and judges that share no test."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monotui.config import JudgeConfig
from monotui.judge.counts import CountJudge, judge_many
from monotui.judge.sequential import SequentialTest
from monotui.metrics import metrics_for
from monotui.model import Sample, Side

T = 1_800_000_000.0
SPAN = 10.0
CONFIGS = (JudgeConfig(), JudgeConfig(latency=False), JudgeConfig(alpha=0.05, allowed_increase=1.2))
KINDS = ("served", "served", "served", "served", "quiet", "gap", "no canary", "nan canary")


def _stream(rng: np.random.Generator, polls: int) -> list[Sample]:
    """One rollout's polls: Poisson traffic at its own rates, a canary 1-10x the baseline's 5xx,
    and the odd poll of each kind."""
    rate_b, rate_c = rng.choice([200.0, 2000.0, 20000.0]), rng.choice([5.0, 20.0, 200.0, 2000.0])
    p_b = 0.005
    p_c = p_b * rng.choice([1.0, 1.0, 2.0, 5.0, 10.0])
    out = []
    for k in range(1, polls + 1):
        kind = KINDS[int(rng.integers(len(KINDS)))] if rng.random() < 0.3 else "served"
        t = T + SPAN * k
        if kind == "gap":
            out.append(Sample(t))
            continue
        n_b = float(rng.poisson(rate_b))
        e_b = float(rng.binomial(int(n_b), p_b * (30 if rng.random() < 0.03 else 1)))
        base = Side(n_b, (e_b, n_b * 0.01), (e_b / n_b if n_b else None, 180.0))
        if kind == "no canary":
            out.append(Sample(t, SPAN, base, Side()))
            continue
        n_c = 0.0 if kind == "quiet" else float(rng.poisson(rate_c))
        e_c = math.nan if kind == "nan canary" else float(rng.binomial(int(n_c), p_c))
        canary = Side(n_c, (e_c, n_c * 0.012), (e_c / n_c if n_c else None, 190.0))
        out.append(Sample(t, SPAN, base, canary))
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), rollouts=st.integers(2, 24), window=st.sampled_from([0, 40]))
def test_a_round_judges_every_rollout_as_it_is_judged_alone(
    seed: int, rollouts: int, window: int
) -> None:
    rng = np.random.default_rng(seed)
    configs = [CONFIGS[int(rng.integers(len(CONFIGS)))] for _ in range(rollouts)]
    streams = [_stream(rng, int(rng.integers(5, 90))) for _ in range(rollouts)]
    known = [T - 5.0 if rng.random() < 0.5 else None for _ in range(rollouts)]
    alone = [CountJudge(metrics_for(c), c) for c in configs]
    together = [CountJudge(metrics_for(c), c) for c in configs]
    for n in range(max(len(s) for s in streams) + 1):
        calls = []
        for r, stream in enumerate(streams):
            samples = stream[: min(n, len(stream))]  # n = 0: nothing read yet
            if window:
                samples = samples[-window:]
            step = samples[len(samples) // 2].t if len(samples) > 20 else None
            calls.append((samples, known[r], step, bool(rng.random() < 0.95)))
        pairs = zip(together, calls, strict=True)
        batch = judge_many([(j, s, run, step, seen) for j, (s, run, step, seen) in pairs])
        for r, (samples, run, step, expected) in enumerate(calls):
            single = alone[r].judge(
                samples, run_since=run, step_since=step, canary_expected=expected
            )
            assert repr(batch[r]) == repr(single), (n, r)


def test_three_hundred_rows_update_as_one_row_each() -> None:
    """A batch the size of a fleet: the same evidence as one update per rollout, to the bit."""
    test = SequentialTest()
    rng = np.random.default_rng(3)
    rows = 300
    alone = [test.start([(1000.0, float(e)) for e in rng.poisson(5.0, 60)]) for _ in range(rows)]
    batch = list(alone)
    for _ in range(40):
        n_b, n_c = rng.poisson(1800, rows), rng.poisson(rng.uniform(1, 400, rows))
        table = np.column_stack(
            [n_b, rng.binomial(n_b, 0.005), n_c, rng.binomial(n_c, 0.005 * rng.uniform(1, 5))]
        ).astype(float)
        batch = test.update_many(batch, table)
        alone = [
            test.update(ev, baseline_total=a, baseline_bad=b, canary_total=c, canary_bad=d)
            for ev, (a, b, c, d) in zip(alone, table.tolist(), strict=True)
        ]
    assert all(a == b and a.numbers == b.numbers for a, b in zip(alone, batch, strict=True))
    assert len({ev.numbers for ev in batch}) == rows  # every rollout has its own evidence
