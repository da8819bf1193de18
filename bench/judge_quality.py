"""How good the judges are as a user meets them: whole rollouts on generated traffic, each judge
with the policy it runs under, the same traffic for every judge.

Judges: the sequential judge (the default), the Mann-Whitney judge (`method = "mann-whitney"`)
and a Flagger-style threshold rule (a check fails when the canary's success rate over the last
minute is below 99 %; `threshold` failed checks roll back). The policy loop is the demo's timing:
10 s polls, a 100 s hold, steps 1-5-10-25-50-100; the sequential and Mann-Whitney judges run under
monotui's policy (monotui.policy), the threshold rule under Flagger's.

Per case it prints, with 95 % Wilson intervals: false rollbacks and false pauses (healthy cases),
detection (bad cases), the median polls to the rollback, the canary share and the bad requests
served at the rollback, and the median time to 100 % (healthy cases).

    python -m bench.judge_quality [--rollouts 300] [--seed 1] [--case NAME ...]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.traffic import HOLD_S, INTERVAL_S, STEPS, Traffic, TrafficModel
from monotui import policy
from monotui.config import JudgeConfig
from monotui.judge import Judge
from monotui.metrics import metrics_for
from monotui.model import ActionKind, Phase, Plan, Sample, Side, Verdict

WINDOW_S = 10.0
MAX_POLLS = 90  # 900 s: the plan needs 500 s; room for holds that wait
HISTORY_POLLS = 60  # baseline polls before the rollout (what a cockpit's history gives)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    model: TrafficModel
    bad: bool
    latency: bool = False  # judged on slow requests (the p99 case)


CASES: tuple[Case, ...] = (
    Case("healthy 20 rps", TrafficModel(rate_rps=20), False),
    Case("healthy 200 rps", TrafficModel(rate_rps=200), False),
    Case("healthy 2000 rps", TrafficModel(rate_rps=2000), False),
    Case("healthy 200 rps, split 1.3x", TrafficModel(rate_rps=200, split_bias=1.3), False),
    Case("healthy 200 rps, shared spike", TrafficModel(rate_rps=200, incident_at_s=300), False),
    Case("healthy 200 rps, bursty", TrafficModel(rate_rps=200, burst_size=5), False),
    Case(
        "healthy 200 rps, two-scrape counts",
        TrafficModel(rate_rps=200, scrape_sampled=True),
        False,
    ),
    Case(
        "healthy 20 rps, two-scrape counts", TrafficModel(rate_rps=20, scrape_sampled=True), False
    ),
    Case("2x at 200 rps", TrafficModel(rate_rps=200, error_multiplier=2), True),
    Case("5x at 20 rps", TrafficModel(rate_rps=20, error_multiplier=5), True),
    Case("10x at 2000 rps", TrafficModel(rate_rps=2000, error_multiplier=10), True),
    Case("p99 x3 at 200 rps", TrafficModel(rate_rps=200, latency_multiplier=3), True, True),
    Case(
        "4x jump at 10 % of 2000 rps",
        TrafficModel(rate_rps=2000, error_multiplier=4, change_at_s=200),
        True,
    ),
)


@dataclass
class Outcome:
    """One rollout's end."""

    rolled_back_at: int | None = None  # poll index
    paused: bool = False
    promoted_at: int | None = None
    share_at_rollback: float | None = None
    bad_served: float = 0.0


def run_case(case: Case, judge_name: str, rollouts: int, seed: int) -> list[Outcome]:
    """Run `rollouts` rollouts of `case` under one judge; the same seed gives the same traffic."""
    traffic = Traffic(case.model, rollouts, seed)
    cfg = JudgeConfig(
        method="mann-whitney" if judge_name == "mann-whitney" else "sequential",
        latency=case.latency,
        latency_allowed_increase=1.5,
    )
    metrics = metrics_for(cfg)
    judges = [Judge(metrics, cfg, WINDOW_S) for _ in range(rollouts)]
    histories: list[list[Sample]] = [[] for _ in range(rollouts)]
    # Baseline-only history before the rollout (canary at 0).
    for k in range(HISTORY_POLLS):
        t = (k - HISTORY_POLLS + 1) * INTERVAL_S
        counts = traffic.poll(np.zeros(rollouts), t)
        _append(histories, counts, t, case.latency)
    weight = np.full(rollouts, STEPS[0], dtype=np.float64)
    step_since = np.zeros(rollouts)
    states = [policy.PolicyState() for _ in range(rollouts)]
    outcomes = [Outcome() for _ in range(rollouts)]
    failed_checks = np.zeros(rollouts)
    done = np.zeros(rollouts, dtype=bool)
    for k in range(1, MAX_POLLS + 1):
        t = k * INTERVAL_S
        counts = traffic.poll(np.where(done, 0.0, weight), t)
        _append(histories, counts, t, case.latency)
        for r in range(rollouts):
            if done[r]:
                continue
            o = outcomes[r]
            o.bad_served += float(
                counts.canary_slow[r] if case.latency else counts.canary_errors[r]
            )
            if judge_name == "threshold":
                decision = _flagger(histories[r], failed_checks, r, case.latency)
                step_requests = 1.0
                verdict: Verdict | None = None
            else:
                verdict = judges[r].judge(
                    histories[r],
                    run_since=0.0,
                    step_since=float(step_since[r]),
                    canary_expected=True,
                )
                states[r] = policy.observe(states[r], verdict, t, fresh_after_s=WINDOW_S)
                plan = Plan(STEPS, int(weight[r]), Phase.PROGRESSING)
                at = policy.Situation(
                    t, float(step_since[r]), HOLD_S, verdict.canary_requests, True
                )
                d = policy.decide(states[r], verdict, plan, at, cfg)
                decision = d.kind if d is not None else None
                step_requests = verdict.canary_requests
            if decision == ActionKind.ROLLBACK:
                o.rolled_back_at = k
                o.share_at_rollback = float(weight[r])
                done[r] = True
            elif decision == ActionKind.PAUSE:
                o.paused = True
                done[r] = True
            elif decision == ActionKind.ADVANCE or (
                judge_name == "threshold" and t - step_since[r] >= HOLD_S and step_requests > 0
            ):
                nxt = next((s for s in STEPS if s > weight[r]), None)
                if nxt is None:
                    continue
                weight[r], step_since[r] = nxt, t
                if nxt == 100:
                    o.promoted_at = k
                    done[r] = True
        if done.all():
            break
    return outcomes


def _append(histories: list[list[Sample]], counts: object, t: float, latency: bool) -> None:
    c = counts  # PollCounts
    for r, history in enumerate(histories):
        sides = []
        for requests, errors, slow in (
            (c.baseline_requests[r], c.baseline_errors[r], c.baseline_slow[r]),  # type: ignore[attr-defined]
            (c.canary_requests[r], c.canary_errors[r], c.canary_slow[r]),  # type: ignore[attr-defined]
        ):
            n, e, s = float(requests), float(errors), float(slow)
            rate = e / n if n > 0 else None
            slow_share = s / n if n > 0 else None
            bad = (e, s) if latency else (e,)
            values = (rate, slow_share) if latency else (rate,)
            sides.append(Side(n, bad, values))
        history.append(Sample(t, INTERVAL_S, sides[0], sides[1]))
        if len(history) > 400:
            del history[:100]


def _flagger(
    history: Sequence[Sample], failed: np.ndarray, r: int, latency: bool
) -> ActionKind | None:
    """Flagger's analysis: each interval a check over the last minute; a check fails when the
    success rate is below 99 % (or the slow share above 1 %); 5 failures roll back."""
    recent = [s for s in history[-6:] if s.canary.requests]
    n = sum(s.canary.requests or 0.0 for s in recent)
    i = 1 if latency else 0
    bad = sum(s.canary.bad_of(i) or 0.0 for s in recent)
    if n > 0 and bad / n > 0.01:
        failed[r] += 1
    return ActionKind.ROLLBACK if failed[r] >= 5 else None


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson interval of k successes in n."""
    if n == 0:
        return 0.0, 1.0
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def report(case: Case, judge: str, outcomes: list[Outcome]) -> str:
    n = len(outcomes)
    rolled = [o for o in outcomes if o.rolled_back_at is not None]
    paused = [o for o in outcomes if o.paused]
    lo, hi = wilson(len(rolled), n)
    line = f"{case.name:<30} {judge:<13} "
    if case.bad:
        polls = statistics.median(o.rolled_back_at or 0 for o in rolled) if rolled else math.nan
        share = statistics.median(o.share_at_rollback or 0 for o in rolled) if rolled else math.nan
        served = statistics.median(o.bad_served for o in rolled) if rolled else math.nan
        line += (
            f"detected {len(rolled) / n:6.1%} [{lo:.1%}-{hi:.1%}]  median {polls:4.0f} polls, "
            f"at {share:g} %, {served:,.0f} bad served"
        )
    else:
        plo, phi = wilson(len(paused), n)
        promoted = [o.promoted_at for o in outcomes if o.promoted_at is not None]
        to_100 = statistics.median(promoted) * INTERVAL_S if promoted else math.nan
        line += (
            f"false rollback {len(rolled) / n:5.1%} [{lo:.1%}-{hi:.1%}]  false pause "
            f"{len(paused) / n:5.1%} [{plo:.1%}-{phi:.1%}]  100 % after {to_100:.0f}s"
        )
    return line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench.judge_quality", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rollouts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--case", action="append", help="run only these cases (by name prefix)")
    parser.add_argument(
        "--judge", action="append", choices=("sequential", "mann-whitney", "threshold")
    )
    args = parser.parse_args(argv if argv is not None else [])
    judges = args.judge or ["sequential", "mann-whitney", "threshold"]
    cases = [c for c in CASES if not args.case or any(c.name.startswith(p) for p in args.case)]
    print(
        f"{args.rollouts} rollouts a case, 10 s polls, 100 s holds, steps {STEPS}; "
        "95 % Wilson intervals"
    )
    for case in cases:
        for judge in judges:
            began = time.perf_counter()
            outcomes = run_case(case, judge, args.rollouts, args.seed)
            print(report(case, judge, outcomes) + f"  ({time.perf_counter() - began:.0f}s)")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
