"""What the sequential judge can catch of a 5x canary at 20 req/s (issue 10: "every time"), set
against what the counts themselves allow.

Run with `python -m bench.judge_limits [--rollouts 3000] [--seed 100]`. At the demo's timing (10 s
polls; steps 1-5-10-25-50 % of 10 polls each, then 100 %, where no baseline is left to compare
with), 95 % Wilson intervals:

- the sequential judge (SequentialTest, alpha 0.01, as judge_quality runs it): the 5x canaries
  promoted without a rollback, and the healthy canaries rolled back;
- the information limit: the most powerful test of rho = 1 against rho = 5 on the same conditional
  likelihood (Neyman-Pearson: it knows the alternative and looks once, after the last poll; its
  threshold is the 99th percentile over 20,000 healthy rollouts). No test on these counts,
  sequential or not, misses fewer 5x canaries at alpha 0.01;
- the judge with the last step before 100 % held while the evidence is at least sqrt(1/alpha),
  one more hold at most: detection, false rollbacks (Ville's inequality bounds them by alpha
  under any such data-dependent stopping) and the healthy rollouts that reach 100 % later than
  the sum of the holds plus one poll (which issue 10 asks of every healthy rollout).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import numpy as np

from bench.traffic import INTERVAL_S, STEPS, Traffic, TrafficModel
from monotui.judge.sequential import SequentialTest

HISTORY = 60
STEP_POLLS = 10
LAST = len(STEPS) - 2  # the step before 100 %
PLAN_POLLS = STEP_POLLS * (LAST + 1)  # 50: promoted at the end of the 50 % step
FIVE_X = TrafficModel(rate_rps=20, error_multiplier=5)
HEALTHY = TrafficModel(rate_rps=20)
ORACLE_ROLLOUTS = 20_000
"""The information limit is a few numpy passes: a larger sample for its rare misses."""


def _wilson(k: int, n: int) -> str:
    z = 1.959964
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{k}/{n} = {p:.2%} [{max(0.0, centre - half):.2%}-{min(1.0, centre + half):.2%}]"


def rollouts(
    model: TrafficModel, count: int, seed: int, *, settle: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(poll of the rollback or 0, poll of the promotion or 0) per rollout. `settle`: the last
    step before 100 % waits while the evidence is at least sqrt(1/alpha), one more hold at most."""
    test = SequentialTest()
    settle_log = 0.5 * math.log(test.threshold)
    traffic = Traffic(model, count, seed)
    history = [traffic.poll(0, k * INTERVAL_S).errors() for k in range(1 - HISTORY, 1)]
    states = [test.start([(float(h[r, 0]), float(h[r, 1])) for h in history]) for r in range(count)]
    rolled, promoted = np.zeros(count, dtype=int), np.zeros(count, dtype=int)
    step, held = np.zeros(count, dtype=int), np.zeros(count, dtype=int)
    done = np.zeros(count, dtype=bool)
    for poll in range(1, PLAN_POLLS + STEP_POLLS + 1):
        weights = np.where(done, 0.0, np.array(STEPS)[step])
        states = test.update_many(states, traffic.poll(weights, poll * INTERVAL_S).errors())
        held += 1
        for r in np.flatnonzero(~done).tolist():
            ev = states[r]
            if test.rolls_back(ev):
                rolled[r], done[r] = poll, True
            elif held[r] >= STEP_POLLS:
                waits = settle and step[r] == LAST and ev.log_e >= settle_log
                if waits and held[r] < 2 * STEP_POLLS:
                    continue
                step[r], held[r] = step[r] + 1, 0
                if step[r] == LAST + 1:
                    promoted[r], done[r] = poll, True
    return rolled, promoted


def oracle_misses(count: int, seed: int) -> tuple[int, int]:
    """(5x canaries the most powerful fixed-horizon test misses, rollouts) at alpha 0.01."""

    def statistic(model: TrafficModel, salt: int) -> np.ndarray:
        traffic = Traffic(model, count, seed + salt)
        total = np.zeros(count)
        for poll in range(1, PLAN_POLLS + 1):
            n_b, e_b, n_c, e_c = traffic.poll(STEPS[(poll - 1) // 10], poll * INTERVAL_S).errors().T
            split = n_c / np.maximum(n_b + n_c, 1.0)
            worse = 5.0 * split / (5.0 * split + 1.0 - split)  # the canary's share at rho = 5
            with np.errstate(divide="ignore", invalid="ignore"):
                term = e_c * np.log(worse / split) + e_b * np.log((1 - worse) / (1 - split))
            total += np.where((n_b > 0) & (n_c > 0), term, 0.0)
        return total

    bar = np.quantile(statistic(HEALTHY, 1), 0.99)
    return int((statistic(FIVE_X, 2) <= bar).sum()), count


def main(argv: Sequence[str] | None = None) -> int:
    """Print the three comparisons."""
    parser = argparse.ArgumentParser(prog="bench.judge_limits", description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args(argv if argv is not None else [])
    n, seed = args.rollouts, args.seed
    print(f"5x 5xx at 20 req/s, {n} rollouts a row (seed {seed}), 95 % Wilson intervals")
    rolled, _ = rollouts(FIVE_X, n, seed)
    false, promoted = rollouts(HEALTHY, n, seed + 1)
    late = int((promoted > PLAN_POLLS + 1).sum())
    print(
        f"  sequential judge: 5x promoted without a rollback {_wilson(int((rolled == 0).sum()), n)}; "
        f"healthy rolled back {_wilson(int((false > 0).sum()), n)}, later than the holds + one "
        f"poll {late}"
    )
    missed, total = oracle_misses(ORACLE_ROLLOUTS, seed + 2)
    print(
        f"  information limit (most powerful test at the horizon, alpha 0.01): 5x missed "
        f"{_wilson(missed, total)}; 300 of 300 caught with probability "
        f"{(1 - missed / total) ** 300:.0%}"
    )
    rolled, _ = rollouts(FIVE_X, n, seed, settle=True)
    false, promoted = rollouts(HEALTHY, n, seed + 1, settle=True)
    late = int((promoted > PLAN_POLLS + 1).sum())
    print(
        f"  last step held while the evidence >= sqrt(1/alpha), one more hold at most: 5x "
        f"promoted without a rollback {_wilson(int((rolled == 0).sum()), n)}; healthy rolled "
        f"back {_wilson(int((false > 0).sum()), n)}, later than the holds + one poll "
        f"{_wilson(late, n)} (at most {max(0, int(promoted.max()) - PLAN_POLLS)} polls later)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
