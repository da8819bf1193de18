"""`monotui backtest`: the judge and the policy replayed over history, poll by poll. Pure.

The history is what Prometheus kept: samples tiling the span at the rollout's `interval_s`. The
weights the route had are not in it, so the replay follows the observed split: the step at each
poll is the configured step nearest the canary's share of requests, and a new step starts when
that changes. At each poll the judge sees only the samples up to it (as it would have live), and
the policy says what it would have done; a rollback ends the replay (the canary would have gone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monotui import policy
from monotui.config import RolloutConfig, duration_s
from monotui.judge import Judge
from monotui.metrics import metrics_for
from monotui.model import ActionKind, Plan, Sample, Verdict, VerdictResult

STEP_POLLS = 2
"""Polls a new share must last before it counts as a new step (one poll of noise is not a step)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One poll at which the verdict changed or the policy would have acted."""

    t: float
    canary_share: float | None  # percent of requests, None without traffic data
    step_pct: int
    verdict: Verdict
    action: str  # "rollback", "advance", "pause", "hold", or "" (the verdict changed)
    reason: str


@dataclass(frozen=True, slots=True)
class Summary:
    """What the replay found."""

    polls: int
    rolled_back_at: float | None
    bad_served: float  # canary bad requests (5xx) before the rollback, or over the whole span
    first_evidence_at: float | None  # first poll whose evidence passed 10x (significant signs)
    decisions: tuple[Decision, ...]


def replay(
    config: RolloutConfig, samples: Sequence[Sample], *, start: float, end: float
) -> Summary:
    """Replay the judge and the policy over `samples` for the polls in [start, end]."""
    cfg = config.judge
    window_s = duration_s(config.metrics.window)
    judge = Judge(metrics_for(cfg), cfg, window_s)
    steps = tuple(config.steps)
    state = policy.PolicyState()
    decisions: list[Decision] = []
    last_result: VerdictResult | None = None
    step_pct, step_since, pending, pending_count = 0, start, 0, 0
    rolled_back: float | None = None
    first_evidence: float | None = None
    bad = 0.0
    polls = 0
    for k, sample in enumerate(samples):
        if sample.t < start or sample.t > end:
            continue
        polls += 1
        share = _share(sample)
        nearest = _nearest_step(share, steps)
        if nearest != step_pct:
            pending_count = pending_count + 1 if nearest == pending else 1
            pending = nearest
            if pending_count >= STEP_POLLS or step_pct == 0:
                step_pct, step_since, pending_count = nearest, sample.t, 0
        else:
            pending_count = 0
        seen = samples[: k + 1]
        verdict = judge.judge(
            seen, run_since=None, step_since=step_since, canary_expected=step_pct > 0
        )
        bad = max(bad, _served_bad(verdict))
        if first_evidence is None and any(
            m.evidence is not None and m.evidence.e_value >= 10 for m in verdict.metrics
        ):
            first_evidence = sample.t
        state = policy.observe(state, verdict, sample.t, fresh_after_s=window_s)
        plan = Plan(steps, step_pct)
        at = policy.Situation(sample.t, step_since, config.hold_s, verdict.canary_requests, True)
        decision = policy.decide(state, verdict, plan, at, cfg) if step_pct > 0 else None
        action = decision.kind.value if decision is not None else ""
        if verdict.incident and last_result != verdict.result:
            action = "hold"
        if action or verdict.result != last_result:
            reason = decision.reason if decision is not None else verdict.reason
            decisions.append(Decision(sample.t, share, step_pct, verdict, action, reason))
        last_result = verdict.result
        if decision is not None and decision.kind == ActionKind.ROLLBACK:
            rolled_back = sample.t
            break
    return Summary(polls, rolled_back, bad, first_evidence, tuple(decisions))


def _share(sample: Sample) -> float | None:
    b, c = sample.baseline.requests, sample.canary.requests
    if b is None or c is None or b + c <= 0:
        return None
    return 100.0 * c / (b + c)


def _nearest_step(share: float | None, steps: tuple[int, ...]) -> int:
    """The configured step the observed share stands for: 0 below half the first step."""
    if share is None or share < steps[0] / 2:
        return 0
    return min(steps, key=lambda s: abs(s - share))


def _served_bad(verdict: Verdict) -> float:
    ev = verdict.metrics[0].evidence if verdict.metrics else None
    return ev.run_canary_bad if ev is not None else 0.0
