"""Rollouts judged together in one round (monotui.judge.judge_together, what `monotui status` does
for a fleet's histories) get the verdict each gets judged alone, to the last bit: count judges,
Mann-Whitney judges and judges with other settings side by side, before and after data."""

from __future__ import annotations

import numpy as np

from monotui.config import JudgeConfig
from monotui.judge import Judge, judge_together
from monotui.metrics import metrics_for
from monotui.model import Sample, Side, Verdict

T = 1_800_000_000.0
SPAN = 10.0
CONFIGS = (JudgeConfig(), JudgeConfig(method="mann-whitney"), JudgeConfig(alpha=0.05))


def _stream(seed: int, polls: int) -> list[Sample]:
    """A rollout's polls: its own traffic, a canary 1-10x the baseline's 5xx, the odd gap."""
    rng = np.random.default_rng(seed)
    rate_b, rate_c = rng.choice([200.0, 2000.0]), rng.choice([20.0, 200.0])
    p_b, p_c = 0.005, 0.005 * rng.choice([1.0, 2.0, 10.0])
    out = []
    for k in range(1, polls + 1):
        t = T + SPAN * k
        if rng.random() < 0.05:
            out.append(Sample(t))
            continue
        n_b, n_c = float(rng.poisson(rate_b)), float(rng.poisson(rate_c))
        e_b, e_c = float(rng.binomial(int(n_b), p_b)), float(rng.binomial(int(n_c), p_c))
        base = Side(n_b, (e_b, n_b * 0.01), (e_b / n_b if n_b else None, 180.0))
        canary = Side(n_c, (e_c, n_c * 0.012), (e_c / n_c if n_c else None, 190.0))
        out.append(Sample(t, SPAN, base, canary))
    return out


def _judges(n: int) -> list[Judge]:
    configs = [CONFIGS[i % len(CONFIGS)] for i in range(n)]
    return [Judge(metrics_for(c), c, window_s=60.0) for c in configs]


def _alone(judge: Judge, samples: list[Sample]) -> Verdict:
    return judge.judge(samples, run_since=T, step_since=None, canary_expected=True)


def test_one_round_judges_each_rollout_as_alone() -> None:
    streams = [_stream(seed, 40) for seed in range(9)]
    alone, together = _judges(9), _judges(9)
    for n in range(0, 41, 3):  # n = 0: nothing read yet
        pending = [
            j.prepare(s[:n], run_since=T, step_since=None, canary_expected=True)
            for j, s in zip(together, streams, strict=True)
        ]
        batch = judge_together(pending)
        for j, s, verdict in zip(alone, streams, batch, strict=True):
            assert repr(verdict) == repr(_alone(j, s[:n])), n
